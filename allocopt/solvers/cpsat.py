"""The CP-SAT runner: an OR-Tools ``CpModel`` -> CP-SAT, beside the MILP runner (``allocopt.solvers.milp``).

Every CP-SAT status maps through a complete table (anything else becomes ``error`` with CP-SAT's own words);
a time-limited run returns its incumbent and CP-SAT's proven bound. CP-SAT works on integers: a formulation
whose data are decimals scales them with :func:`allocopt.scaling.integer_scale` (the least power of ten that
makes every value integral, exact through ``decimal``) and passes that scale here, so objective and bound come
back unscaled.

Used by every formulation that has a ``build_cp_model`` (combinatorial auctions, the job shop, ...). The runner
knows nothing of any problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ortools.sat.python import cp_model

from allocopt.errors import UsageError
from allocopt.scaling import ScaleError, integer_scale  # noqa: F401  (re-exported: formulations scale with it)

RunStatus = Literal["solved", "infeasible", "unbounded", "no_solution", "error"]

#: CP-SAT status name -> our status. ``UNKNOWN`` means the search stopped (time limit, interrupt)
#: before it found a solution or a proof; a feasible solution found before a limit is ``FEASIBLE``.
_STATUS_TABLE: dict[str, RunStatus] = {
    "OPTIMAL": "solved",
    "FEASIBLE": "solved",
    "INFEASIBLE": "infeasible",
    "MODEL_INVALID": "error",
    "UNKNOWN": "no_solution",
}


@dataclass(frozen=True)
class CpRun:
    """What CP-SAT said: our status, incumbent objective and bound (unscaled), and its own words.

    ``solver_object`` is the ``CpSolver`` after the solve (read variable values with ``.Value(var)``); it is
    None when the solve did not run.
    """

    status: RunStatus
    objective: float | None
    bound: float | None
    termination: str
    message: str | None = None
    solver: str = "cpsat"
    wall_time: float = 0.0
    solver_object: cp_model.CpSolver | None = None


def solve_cp(
    model: cp_model.CpModel,
    time_limit: float | None = None,
    workers: int | None = None,
    hint: Sequence[tuple[Any, int]] | Mapping[Any, int] | None = None,
    objective_scale: float = 1.0,
    solver_options: Mapping[str, Any] | None = None,
    log: bool = False,
) -> CpRun:
    """Solve ``model`` with CP-SAT; read variable values from ``run.solver_object``.

    ``workers`` is CP-SAT's ``num_workers`` (None: CP-SAT's default, all cores). ``hint`` gives a starting
    assignment as (variable, value) pairs; the caller's model is not changed (a copy carries the hint).
    ``objective_scale`` divides the objective and bound (a model whose coefficients were scaled by
    :func:`integer_scale`). ``solver_options`` are CP-SAT parameters by name (``{"random_seed": 3}``).
    """
    if time_limit is not None and time_limit <= 0:
        raise UsageError(f"time limit must be positive, got {time_limit}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UsageError(f"CP-SAT workers must be a whole number >= 1, got {workers!r}")
    if hint:
        model = model.Clone()
        pairs = hint.items() if isinstance(hint, Mapping) else hint
        for var, value in pairs:
            # A clone holds its own variables: the caller's are found again by index.
            model.AddHint(model.GetIntVarFromProtoIndex(var.Index()), int(value))
    solver = cp_model.CpSolver()
    params = solver.parameters
    if time_limit is not None:
        params.max_time_in_seconds = float(time_limit)
    if workers is not None:
        params.num_workers = workers
    params.log_search_progress = log
    for name, value in (solver_options or {}).items():
        if not hasattr(params, name):
            raise UsageError(f"CP-SAT has no parameter {name!r} (see ortools' sat_parameters.proto)")
        try:
            setattr(params, name, value)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"CP-SAT parameter {name!r}: cannot set it to {value!r} ({exc})") from None
    code = solver.Solve(model)
    name = solver.StatusName(code)
    status = _STATUS_TABLE.get(name, "error")
    objective = bound = None
    message = None
    if status == "solved" and model.HasObjective():
        objective = solver.ObjectiveValue() / objective_scale
        # CP-SAT's own bound even on OPTIMAL: a user's relative_gap_limit makes CP-SAT stop "optimal" early,
        # and the front door derives the status from objective and bound, not from the engine's word.
        bound = solver.BestObjectiveBound() / objective_scale
    elif status == "solved":
        objective = bound = 0.0  # a satisfaction model: any solution is optimal
    # With UNKNOWN, CP-SAT's bound is 0 whenever its presolve did not finish (seen with ortools 9.15), which is no
    # bound at all for a maximization: no bound is reported then.
    if name == "MODEL_INVALID":
        message = f"CP-SAT says the model is invalid: {model.Validate() or 'no reason given'}"
    elif name == "UNKNOWN":
        message = f"CP-SAT stopped before finding a solution or a proof (after {solver.WallTime():.2f}s)"
    elif name not in _STATUS_TABLE:
        message = f"CP-SAT ended with an unmapped status {name!r}"
    return CpRun(status, objective, bound, name, message, "cpsat", solver.WallTime(), solver)
