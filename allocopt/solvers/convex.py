"""The CVXPY runner: solve a convex ``cvxpy.Problem`` with an open conic solver (Clarabel by default).

CVXPY's statuses map through a complete table; an ``*_inaccurate`` finish is reported as ``solved``
only with the solver's warning attached, since the numbers may be off in the last digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import cvxpy as cp

from allocopt.errors import UsageError

RunStatus = Literal["solved", "infeasible", "unbounded", "no_solution", "error"]

_TABLE: dict[str, RunStatus] = {
    cp.OPTIMAL: "solved",
    cp.OPTIMAL_INACCURATE: "solved",
    cp.INFEASIBLE: "infeasible",
    cp.INFEASIBLE_INACCURATE: "infeasible",
    cp.UNBOUNDED: "unbounded",
    cp.UNBOUNDED_INACCURATE: "unbounded",
    cp.USER_LIMIT: "no_solution",
    cp.SOLVER_ERROR: "error",
}

#: Our solver names -> CVXPY's, and how each takes a time limit.
_SOLVERS = {"clarabel": cp.CLARABEL, "scs": cp.SCS, "highs": "HIGHS", "ecos": "ECOS", "osqp": cp.OSQP}
_TIME_LIMIT_OPTION = {"clarabel": "time_limit", "scs": "time_limit_secs", "highs": "time_limit"}


@dataclass(frozen=True)
class ConvexRun:
    status: RunStatus
    objective: float | None
    solver: str
    message: str | None = None


def available_solvers() -> list[str]:
    installed = set(cp.installed_solvers())
    return [name for name, cvx in _SOLVERS.items() if cvx in installed]


def solve_problem(
    problem: cp.Problem,
    solver: str = "clarabel",
    time_limit: float | None = None,
    solver_options: dict[str, Any] | None = None,
) -> ConvexRun:
    """Solve ``problem`` in place (variables hold the solution afterwards)."""
    if solver not in _SOLVERS or _SOLVERS[solver] not in cp.installed_solvers():
        raise UsageError(f"convex solver {solver!r} is not installed; available: {', '.join(available_solvers())}")
    opts = dict(solver_options or {})
    if time_limit is not None and solver in _TIME_LIMIT_OPTION:
        opts.setdefault(_TIME_LIMIT_OPTION[solver], float(time_limit))
    try:
        problem.solve(solver=_SOLVERS[solver], **opts)
    except cp.error.SolverError as exc:
        return ConvexRun("error", None, solver, f"{solver}: {exc}")
    status = _TABLE.get(problem.status, "error")
    value = problem.value
    objective = float(value) if status == "solved" and value is not None and math.isfinite(value) else None
    message = None
    if problem.status not in (cp.OPTIMAL, cp.INFEASIBLE, cp.UNBOUNDED):
        message = f"{solver} finished with status {problem.status}"
    return ConvexRun(status, objective, solver, message)
