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


def finite_or_none(x: float | None) -> float | None:
    """Missing values are ``None``, never infinity or NaN."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """|bound - objective| / max(1, |objective|), or None when either is missing."""
    if objective is None or bound is None:
        return None
    return abs(bound - objective) / max(1.0, abs(objective))


def proves_optimal(objective: float | None, bound: float | None) -> bool:
    gap = relative_gap(objective, bound)
    return gap is not None and gap <= OPTIMALITY_TOL


@dataclass(frozen=True)
class Result:
    """What a solve produced, in the fields of FORMAT.md's solution envelope.

    ``objective`` is recomputed from the instance by the problem's independent checker; ``bound``
    is the method's proven bound on the optimum (an upper bound when maximizing, a lower bound when
    minimizing); ``verified`` is true only when that checker accepted the solution.
    """

    problem: str
    instance: str | None
    status: Status
    objective: float | None
    bound: float | None
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
            "objective": self.objective,
            "bound": self.bound,
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
