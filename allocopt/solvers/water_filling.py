r"""Continuous bit allocation by reverse water-filling, and its rounding to the available options.

Error model
-----------
High-resolution quantization theory gives a unit's error as :math:`e_j(b) = a_j 2^{-2b}` (6 dB per
bit). :func:`fit_error_model` fits :math:`a_j \ge 0` to a unit's measured options with the slope
fixed: least squares on :math:`\log e_{jk} = \log a_j - 2 b_{jk} \ln 2` over the options with
:math:`e_{jk} > 0` is the mean

.. math::  \log a_j = \operatorname{mean}_k \big(\log e_{jk} + 2 b_{jk} \ln 2\big),

and :math:`a_j = 0` when every error of the unit is 0.

Continuous relaxation
---------------------
.. math::

    \min_b \sum_j a_j 2^{-2 b_j} \quad\text{s.t.}\quad \sum_j s_j b_j \le T,
    \qquad b_{\min} \le b_j \le b_{\max}.

The objective is convex and separable. With multiplier :math:`\lambda \ge 0` for the budget, the
KKT conditions say every unit strictly inside its bounds has the same marginal error per budget bit
("equal loss slope"),

.. math::  -\frac{1}{s_j} \frac{\partial e_j}{\partial b_j} = \frac{2 \ln 2 \, a_j 2^{-2 b_j}}{s_j} = \lambda,

units at :math:`b_{\min}` have marginal :math:`\le \lambda` and units at :math:`b_{\max}` have
marginal :math:`\ge \lambda`. Solving for :math:`b_j`,

.. math::

    b_j(\lambda) = \operatorname{clip}\big(\beta_j - \nu, \, b_{\min}, \, b_{\max}\big), \qquad
    \beta_j = \tfrac12 \log_2 \frac{2 \ln 2 \, a_j}{s_j}, \qquad \nu = \tfrac12 \log_2 \lambda:

a *reverse water-filling* in the log domain (BAQ; Q-Palette's closed form): the "water level"
:math:`\nu` is common, each unit gets its own height :math:`\beta_j` above it, clipped. The budget
:math:`g(\nu) = \sum_j s_j b_j(\nu)` is continuous, non-increasing and piecewise linear in
:math:`\nu` with breakpoints :math:`\beta_j - b_{\max}` and :math:`\beta_j - b_{\min}`, so the
level where it equals T is found exactly: sort the breakpoints, evaluate g at all of them with
cumulative sums, and solve the one linear piece that brackets T. O(J log J).

Units with :math:`a_j = 0` have zero error at any bits and get :math:`b_{\min}`. If
:math:`\sum_j s_j b_{\min} > T` the problem is infeasible (:class:`BudgetInfeasible`, a
``ValueError``); if :math:`b_{\max}` everywhere (on the units with :math:`a_j > 0`) fits, that is the
optimum and the multiplier is 0.

Rounding
--------
:func:`round_and_repair` maps the fractional bits to real options (the largest with bits <= b_j)
and repairs with the real option errors: downgrades by least error increase per budget bit until
the budget holds, then upgrades by most error reduction per budget bit among moves that fit.

Solvers here take numpy arrays; they never see JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from allocopt.errors import DataError
from allocopt.solvers.bit_hull_greedy import (
    _check_options,
    _finite_scalar,
    _first_allowed,
    _positive_vector,
    fit_budget,
)
from allocopt.solvers.heap import sift_down

__all__ = ["BudgetInfeasible", "WaterFillingOutcome", "fit_error_model", "reverse_water_filling", "round_and_repair"]

_LN2 = math.log(2.0)
# fractional bits within this of an option's bits count as reaching it (b = 3.9999999999 means 4)
_ROUND_TOL = 1e-9


class BudgetInfeasible(ValueError):
    """Even ``min_bits`` everywhere exceeds the budget."""


@dataclass(frozen=True)
class WaterFillingOutcome:
    """Optimal fractional bits per unit, their model error and the budget's Lagrange multiplier.

    ``multiplier`` is :math:`\\lambda`, the common marginal error per budget bit of the units strictly
    inside their bounds (0 when the budget does not bind).
    """

    bits: np.ndarray
    error: float
    multiplier: float


# ----------------------------------------------------------------------------------------------------------
# error model
# ----------------------------------------------------------------------------------------------------------


def fit_error_model(offsets: np.ndarray, bits: np.ndarray, errors: np.ndarray) -> np.ndarray:
    r"""Per-unit :math:`a_j` of :math:`e = a_j 2^{-2b}`: :math:`\log a_j = \operatorname{mean}_{k: e_{jk} > 0}
    (\log e_{jk} + 2 b_{jk} \ln 2)`, :math:`a_j = 0` when all the unit's errors are 0.

    Exact (up to rounding) when the errors follow the model.
    """
    off, b, e = _check_options(offsets, bits, errors)
    n = off.shape[0] - 1
    unit = np.repeat(np.arange(n, dtype=np.int64), np.diff(off))
    pos = e > 0
    with np.errstate(divide="ignore"):
        logs = np.where(pos, np.log(np.where(pos, e, 1.0)) + 2.0 * _LN2 * b, 0.0)
    total = np.bincount(unit, weights=logs, minlength=n)
    count = np.bincount(unit[pos], minlength=n)
    a = np.zeros(n, dtype=np.float64)
    has = count > 0
    a[has] = np.exp(total[has] / count[has])
    return a


# ----------------------------------------------------------------------------------------------------------
# reverse water-filling
# ----------------------------------------------------------------------------------------------------------


def reverse_water_filling(
    a: np.ndarray,
    sizes: np.ndarray,
    total_bits: float,
    min_bits: float = 0.0,
    max_bits: float | None = None,
) -> WaterFillingOutcome:
    r"""Exact optimum of :math:`\min \sum_j a_j 2^{-2 b_j}` s.t. :math:`\sum_j s_j b_j \le T`,
    ``min_bits <= b_j <= max_bits`` (see the module docstring for the derivation).

    Raises :class:`BudgetInfeasible` (a ``ValueError``) when :math:`\sum_j s_j b_{\min} > T`, and
    ``DataError`` on invalid input (negative ``a``, non-positive sizes, ``max_bits < min_bits``).
    """
    s = _positive_vector("sizes", sizes)
    n = s.shape[0]
    av = np.asarray(a, dtype=np.float64)
    if av.shape != (n,):
        raise DataError(("a",), f"expected {n} coefficients (one per unit), got shape {av.shape}")
    ok = np.isfinite(av) & (av >= 0)
    if not np.all(ok):
        bad = int(np.flatnonzero(~ok)[0])
        raise DataError(("a", bad), f"expected a finite number >= 0, got {av[bad]!r}")
    budget = _finite_scalar("total_bits", total_bits)
    lo = _finite_scalar("min_bits", min_bits)
    hi = None if max_bits is None else _finite_scalar("max_bits", max_bits)
    if hi is not None and hi < lo:
        raise DataError(("max_bits",), f"expected max_bits >= min_bits = {lo}, got {hi}")

    if lo * float(s.sum()) > budget:
        raise BudgetInfeasible(f"min_bits = {lo} on every unit needs {lo * float(s.sum())} > total_bits = {budget}")
    out = np.full(n, lo, dtype=np.float64)
    live = av > 0  # a_j = 0: no error at any bits, so the floor
    if not np.any(live):
        return WaterFillingOutcome(out, 0.0, 0.0)
    sl, al = s[live], av[live]
    room = budget - lo * float(s[~live].sum())  # what the live units may use
    if hi is not None and hi * float(sl.sum()) <= room:
        out[live] = hi
        return WaterFillingOutcome(out, float(al @ np.exp2(-2.0 * out[live])), 0.0)

    beta = 0.5 * (np.log2(2.0 * _LN2 * al) - np.log2(sl))  # split logs: no overflow for huge a / tiny s
    nu = _water_level(beta, sl, room, lo, hi)
    top = math.inf if hi is None else hi
    b = np.clip(beta - nu, lo, top)
    # The piece's closed form subtracts sums of s_j beta_j, which cancel badly when the beta_j are large;
    # Newton steps on the elementwise budget recover the precision the bits can represent.
    for _ in range(2):
        inside = (b > lo) & (b < top)
        slope = float(sl[inside].sum())
        if slope <= 0.0:
            break
        nu += (float(sl @ b) - room) / slope
        b = np.clip(beta - nu, lo, top)
    out[live] = b
    return WaterFillingOutcome(out, float(al @ np.exp2(-2.0 * b)), float(np.exp2(2.0 * nu)))


def _water_level(beta: np.ndarray, s: np.ndarray, room: float, lo: float, hi: float | None) -> float:
    """The level nu with :math:`\\sum_j s_j \\operatorname{clip}(\\beta_j - \\nu, lo, hi) = room`.

    The caller guarantees a binding budget: ``lo * sum(s) <= room < hi * sum(s)`` (any room if hi is None).
    """
    up = beta - hi if hi is not None else None  # nu <= up_j: unit at hi
    dn = beta - lo  # nu >= dn_j: unit at lo
    o_dn = np.argsort(dn)
    dn_sorted = dn[o_dn]
    # suffix sums over the units with dn_j > nu (those at hi or interior)
    suf_s_dn = np.concatenate([np.cumsum(s[o_dn][::-1])[::-1], [0.0]])
    suf_sb_dn = np.concatenate([np.cumsum((s * beta)[o_dn][::-1])[::-1], [0.0]])
    total_s = float(suf_s_dn[0])
    if up is not None:
        o_up = np.argsort(up)
        up_sorted = up[o_up]
        suf_s_up = np.concatenate([np.cumsum(s[o_up][::-1])[::-1], [0.0]])
        suf_sb_up = np.concatenate([np.cumsum((s * beta)[o_up][::-1])[::-1], [0.0]])

    def pieces(nu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """g(nu) = const - nu * slope on the linear piece containing nu: returns (const, slope)."""
        i_dn = np.searchsorted(dn_sorted, nu, side="right")  # units [i_dn, n) have dn_j > nu
        s_above, sb_above = suf_s_dn[i_dn], suf_sb_dn[i_dn]
        const = lo * (total_s - s_above)
        if up is None:
            return const + sb_above, s_above
        i_up = np.searchsorted(up_sorted, nu, side="left")  # units [i_up, n) have up_j >= nu: at hi
        s_hi, sb_hi = suf_s_up[i_up], suf_sb_up[i_up]
        # up_j >= nu implies dn_j > nu (hi > lo here), so the interior is the difference
        return const + hi * s_hi + (sb_above - sb_hi), s_above - s_hi

    knots = np.sort(dn if up is None else np.concatenate([up, dn]))
    const, slope = pieces(knots)
    g = const - knots * slope
    k = int(np.searchsorted(-g, -room, side="left"))  # first knot with g <= room (g is non-increasing)
    k = min(k, knots.shape[0] - 1)  # g(last knot) = lo * sum(s) <= room; guards rounding
    # the piece (knots[k-1], knots[k]] (or (-inf, knots[0]]) brackets room; g is linear on it
    probe = knots[k] - 1.0 if k == 0 else 0.5 * (knots[k - 1] + knots[k])
    c1, s1 = pieces(np.array([probe]))
    if s1[0] <= 0.0:  # a flat piece can only come from rounding: the knot itself solves it
        return float(knots[k])
    nu = float((c1[0] - room) / s1[0])
    lo_knot = -math.inf if k == 0 else float(knots[k - 1])
    return min(max(nu, lo_knot), float(knots[k]))


# ----------------------------------------------------------------------------------------------------------
# rounding to options and repair
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _round_down(frac, first, offsets, bits, tol):
    """Largest allowed option with bits <= b_j (+ tol), else the unit's smallest allowed option."""
    n = frac.shape[0]
    choice = np.empty(n, dtype=np.int64)
    for j in range(n):
        c = first[j]
        for k in range(first[j] + 1, offsets[j + 1]):
            if bits[k] <= frac[j] + tol:
                c = k
            else:
                break
        choice[j] = c
    return choice


@njit(cache=True)
def _best_up(j, cur, first, offsets, sizes, bits, errors, room):
    """Option of lower error and most error reduction per extra budget bit that fits: (option, ratio).

    Options of lower error that cost nothing extra have ratio +inf (the lowest-error one is chosen);
    (-1, -inf) when no move fits.
    """
    best = -1
    best_r = -np.inf
    best_e = errors[cur]
    for k in range(first[j], offsets[j + 1]):
        if errors[k] >= errors[cur]:
            continue
        dc = sizes[j] * (bits[k] - bits[cur])
        if dc > room:
            continue
        r = np.inf if dc <= 0.0 else (errors[cur] - errors[k]) / dc
        if r > best_r or (r == best_r and errors[k] < best_e):
            best_r = r
            best = k
            best_e = errors[k]
    return best, best_r


@njit(cache=True)
def _upgrade(choice, first, offsets, sizes, bits, errors, room):
    """Apply the best-ratio move that fits until none does, in place; returns the room left.

    A heap greedy over the units keyed by their best move; keys only fall as the room shrinks, so a
    popped key is recomputed and the move applied only if it is still the top (lazy greedy).
    """
    n = choice.shape[0]
    keys = np.empty(n, dtype=np.float64)
    ids = np.empty(n, dtype=np.int64)
    size = 0
    for j in range(n):
        k, r = _best_up(j, choice[j], first, offsets, sizes, bits, errors, room)
        if k >= 0:
            keys[size] = r
            ids[size] = j
            size += 1
    for p in range(size // 2 - 1, -1, -1):
        sift_down(keys, ids, size, p)
    while size > 0:
        j = ids[0]
        k, r = _best_up(j, choice[j], first, offsets, sizes, bits, errors, room)
        if k >= 0 and r >= keys[0]:  # still the best move anywhere: apply it
            room -= sizes[j] * (bits[k] - bits[choice[j]])
            choice[j] = k
            k, r = _best_up(j, k, first, offsets, sizes, bits, errors, room)
        if k >= 0:
            keys[0] = r
        else:
            size -= 1
            keys[0] = keys[size]
            ids[0] = ids[size]
        if size > 0:
            sift_down(keys, ids, size, 0)
    return room


def round_and_repair(
    fractional_bits: np.ndarray,
    sizes: np.ndarray,
    offsets: np.ndarray,
    bits: np.ndarray,
    errors: np.ndarray,
    total_bits: float,
    min_bits: float | None = None,
) -> np.ndarray | None:
    """Round fractional bits to real options and repair them with the real errors; local indices or None.

    1. Each unit takes its largest option with ``min_bits <= bits <= b_j`` (its smallest option
       ``>= min_bits`` if none is below ``b_j``).
    2. While over budget, apply the downgrade (to any cheaper option) of least error increase per
       budget bit saved, :math:`\\Delta e / (s_j \\Delta b)`, over all units.
    3. With the room left, apply the move (to any option of lower error that fits) of most error
       reduction per extra budget bit, until nothing fits.

    Returns int64 local option indices per unit; ``None`` when a unit has no option ``>= min_bits`` or
    the cheapest allowed options already exceed the budget. The choice passes the direct test
    ``sizes @ bits[choice] <= total_bits`` (see ``fit_budget``). Raises ``DataError`` on invalid input.
    """
    s = _positive_vector("sizes", sizes)
    n = s.shape[0]
    off, b, e = _check_options(offsets, bits, errors, n)
    frac = np.ascontiguousarray(np.asarray(fractional_bits, dtype=np.float64))
    if frac.shape != (n,):
        raise DataError(("fractional_bits",), f"expected {n} values (one per unit), got shape {frac.shape}")
    if not np.all(np.isfinite(frac)):
        bad = int(np.flatnonzero(~np.isfinite(frac))[0])
        raise DataError(("fractional_bits", bad), f"expected a finite number, got {frac[bad]!r}")
    budget = _finite_scalar("total_bits", total_bits)
    floor = None if min_bits is None else _finite_scalar("min_bits", min_bits)

    first = _first_allowed(off, b, floor)
    if np.any(first >= off[1:]) or float(s @ b[first]) > budget:
        return None
    choice = _round_down(frac, first, off, b, _ROUND_TOL)
    fit_budget(choice, first, s, b, e, budget)
    # the upgrade tracks the room incrementally; a last fit_budget absorbs its rounding drift
    _upgrade(choice, first, off, s, b, e, budget - float(s @ b[choice]))
    fit_budget(choice, first, s, b, e, budget)
    return choice - off[:-1]
