"""The one ``Result`` every method returns, and the rule that turns objective and bound into a status."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

FORMAT_TAG = "allocopt/1"

Status = Literal["optimal", "feasible", "infeasible", "unbounded", "no_solution", "error"]
STATUSES: tuple[str, ...] = ("optimal", "feasible", "infeasible", "unbounded", "no_solution", "error")

#: FORMAT.md: optimal means |bound - objective| <= OPTIMALITY_TOL * max(1, |objective|).
OPTIMALITY_TOL = 1e-6


#: An objective value: one number, or for a lexicographic problem a tuple of numbers compared in order (every
#: entry maximized, or every entry minimized, as the problem's sense says).
Objective = float | tuple[float, ...]


def finite_or_none(x: float | list[float] | tuple[float, ...] | None) -> Objective | None:
    """Missing values are ``None``, never infinity or NaN; a list (lexicographic value) becomes a tuple of floats.

    A lexicographic value with any entry missing or not finite is ``None`` as a whole.
    """
    if x is None:
        return None
    if isinstance(x, list | tuple):
        entries = tuple(finite_or_none(v) for v in x)
        return None if any(v is None for v in entries) else entries  # type: ignore[return-value]
    x = float(x)
    return x if math.isfinite(x) else None


def is_lexicographic(x: Objective | None) -> bool:
    return isinstance(x, tuple)


def _entry_close(a: float, b: float) -> bool:
    return abs(b - a) <= OPTIMALITY_TOL * max(1.0, abs(a))


def compare_objectives(a: Objective, b: Objective) -> int:
    """-1, 0 or 1 as ``a`` is below, equal to (within OPTIMALITY_TOL) or above ``b``.

    Numbers compare as numbers; lexicographic values entry by entry, the first entry that differs beyond the
    tolerance deciding. A number and a tuple, or tuples of different lengths, do not compare (``ValueError``).
    """
    if isinstance(a, tuple) != isinstance(b, tuple):
        raise ValueError(f"cannot compare a lexicographic value with a number: {a!r} vs {b!r}")
    if isinstance(a, tuple) and len(a) != len(b):  # type: ignore[arg-type]
        raise ValueError(f"lexicographic values of different lengths: {a!r} vs {b!r}")
    pairs = zip(a, b, strict=True) if isinstance(a, tuple) else [(a, b)]  # type: ignore[arg-type]
    for x, y in pairs:
        if not _entry_close(x, y):
            return -1 if x < y else 1
    return 0


def relative_gap(objective: Objective | None, bound: Objective | None) -> float | None:
    """|bound - objective| / max(1, |objective|), or None when either is missing.

    A lexicographic value has no meaningful relative gap: 0 when bound and objective are equal (within the
    tolerance, entry by entry), else None (FORMAT.md).
    """
    if objective is None or bound is None:
        return None
    if isinstance(objective, tuple) or isinstance(bound, tuple):
        return 0.0 if compare_objectives(objective, bound) == 0 else None
    return abs(bound - objective) / max(1.0, abs(objective))


def proves_optimal(objective: Objective | None, bound: Objective | None) -> bool:
    """True when the bound meets the objective: relative gap <= OPTIMALITY_TOL (entry by entry when lexicographic)."""
    if objective is None or bound is None:
        return False
    if isinstance(objective, tuple) or isinstance(bound, tuple):
        return compare_objectives(objective, bound) == 0
    gap = relative_gap(objective, bound)
    return gap is not None and gap <= OPTIMALITY_TOL


def objective_json(x: Objective | None) -> float | list[float] | None:
    """An objective as it is written into a solution file (a tuple becomes a JSON list)."""
    return list(x) if isinstance(x, tuple) else x


@dataclass(frozen=True)
class Result:
    """What a solve produced, in the fields of FORMAT.md's solution envelope.

    ``objective`` is recomputed from the instance by the problem's independent checker; ``bound``
    is the method's proven bound on the optimum (an upper bound when maximizing, a lower bound when
    minimizing); ``verified`` is true only when that checker accepted the solution. For a lexicographic
    problem both are tuples compared in order (Python's own tuple order), and ``gap`` is 0 or None.
    """

    problem: str
    instance: str | None
    status: Status
    objective: Objective | None
    bound: Objective | None
    gap: float | None
    method: str
    solver: str | None
    runtime_s: float
    verified: bool
    solution: dict[str, Any] | None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The solution envelope of FORMAT.md (``message`` and ``details`` only when present)."""
        doc: dict[str, Any] = {
            "format": FORMAT_TAG,
            "problem": self.problem,
            "instance": self.instance,
            "status": self.status,
            "objective": objective_json(self.objective),
            "bound": objective_json(self.bound),
            "gap": self.gap,
            "method": self.method,
            "solver": self.solver,
            "runtime_s": round(self.runtime_s, 6),
            "verified": self.verified,
            "solution": self.solution,
        }
        if self.message:
            doc["message"] = self.message
        if self.details:
            doc["details"] = self.details
        return doc
