"""Exact integers for engines that work on integers (CP-SAT): the least power of ten that makes decimal data integral.

A JSON number such as ``12.345`` is read by its shortest decimal representation, ``12345 / 10**3``, so the
scaling is exact (``decimal``), never a float product that rounds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal

#: Integers CP-SAT and a float64 both hold exactly: scaled objectives must stay below this in magnitude.
EXACT_INT = 2**53
#: The most decimal places :func:`integer_scale` accepts before it refuses.
MAX_DECIMALS = 12


class ScaleError(ValueError):
    """Decimal data that no power of ten up to ``10**MAX_DECIMALS`` turns into integers CP-SAT can hold."""


def _decimals(x: float) -> int:
    """Decimal places of the shortest representation of ``x`` (``repr`` round-trips a float exactly)."""
    exponent = Decimal(repr(float(x))).normalize().as_tuple().exponent
    return max(0, -int(exponent)) if isinstance(exponent, int) else 0


def integer_scale(values: Iterable[float], total_limit: int = EXACT_INT) -> tuple[list[int], int]:
    """Exact integers ``round(v * 10**k)`` for the least ``k`` making every value integral, and ``10**k``.

    Values are read by their shortest decimal representation (a JSON number ``12.345`` is ``12345 / 10**3``).
    Raises ``ScaleError`` when more than ``MAX_DECIMALS`` places are needed or when the scaled values'
    absolute sum exceeds ``total_limit`` (CP-SAT's objective would overflow or lose exactness).
    """
    vals = [float(v) for v in values]
    for v in vals:
        if not math.isfinite(v):
            raise ScaleError(f"cannot scale the non-finite value {v} to an integer")
    places = max((_decimals(v) for v in vals), default=0)
    if places > MAX_DECIMALS:
        raise ScaleError(f"values with {places} decimal places need more than 10^{MAX_DECIMALS} to become integers")
    scaled = [int(Decimal(repr(v)).scaleb(places)) for v in vals]
    total = sum(abs(s) for s in scaled)
    if total > total_limit:
        raise ScaleError(
            f"scaling by 10^{places} to make every value integral gives a total of {total}, above {total_limit}"
        )
    return scaled, 10**places
