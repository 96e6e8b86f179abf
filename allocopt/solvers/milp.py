"""The MILP runner: a Pyomo model -> HiGHS in-process (highspy), or any other Pyomo solver by name.

Exact means exact: the relative MIP gap is 0 unless the caller relaxes it (HiGHS's default 1e-4
calls solutions "optimal" that are not). Time limits are honoured and a time-limited run returns its
incumbent and bound. Every termination code of both Pyomo interfaces maps through a complete table;
anything unmapped becomes ``error`` carrying the solver's own words.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory as ContribSolverFactory
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.opt import SolverStatus
from pyomo.opt import TerminationCondition as LegacyTC

from allocopt.errors import UsageError

RunStatus = Literal["solved", "infeasible", "unbounded", "no_solution", "error"]

#: Solvers reached through Pyomo's newer interface (pyomo.contrib.solver): in-process, with bounds.
CONTRIB_SOLVERS = {"highs": "highs", "scip": "scip_direct", "gurobi": "gurobi_direct"}

#: Pyomo's newer interface: termination -> our status when a feasible solution is loaded / when not.
_CONTRIB_TABLE: dict[TerminationCondition, tuple[RunStatus, RunStatus]] = {
    TerminationCondition.convergenceCriteriaSatisfied: ("solved", "error"),
    TerminationCondition.maxTimeLimit: ("solved", "no_solution"),
    TerminationCondition.iterationLimit: ("solved", "no_solution"),
    TerminationCondition.objectiveLimit: ("solved", "no_solution"),
    TerminationCondition.minStepLength: ("solved", "no_solution"),
    TerminationCondition.interrupted: ("solved", "no_solution"),
    TerminationCondition.unbounded: ("unbounded", "unbounded"),
    TerminationCondition.provenInfeasible: ("infeasible", "infeasible"),
    TerminationCondition.locallyInfeasible: ("no_solution", "no_solution"),
    # allocopt's formulations have bounded variables, so "infeasible or unbounded" means infeasible;
    # a user's extended model may not, hence the message that goes with it.
    TerminationCondition.infeasibleOrUnbounded: ("infeasible", "infeasible"),
    TerminationCondition.error: ("error", "error"),
    TerminationCondition.licensingProblems: ("error", "error"),
    TerminationCondition.emptyModel: ("solved", "solved"),
    TerminationCondition.unknown: ("error", "error"),
}

#: Pyomo's classic interface (cbc, glpk, ...): termination -> status with / without a solution.
_LEGACY_TABLE: dict[LegacyTC, tuple[RunStatus, RunStatus]] = {
    LegacyTC.optimal: ("solved", "error"),
    LegacyTC.globallyOptimal: ("solved", "error"),
    LegacyTC.locallyOptimal: ("solved", "error"),
    LegacyTC.feasible: ("solved", "no_solution"),
    LegacyTC.maxTimeLimit: ("solved", "no_solution"),
    LegacyTC.maxIterations: ("solved", "no_solution"),
    LegacyTC.maxEvaluations: ("solved", "no_solution"),
    LegacyTC.minFunctionValue: ("solved", "no_solution"),
    LegacyTC.minStepLength: ("solved", "no_solution"),
    LegacyTC.intermediateNonInteger: ("solved", "no_solution"),
    LegacyTC.userInterrupt: ("solved", "no_solution"),
    LegacyTC.resourceInterrupt: ("solved", "no_solution"),
    LegacyTC.noSolution: ("no_solution", "no_solution"),
    LegacyTC.unbounded: ("unbounded", "unbounded"),
    LegacyTC.infeasible: ("infeasible", "infeasible"),
    LegacyTC.infeasibleOrUnbounded: ("infeasible", "infeasible"),
    LegacyTC.invalidProblem: ("error", "error"),
    LegacyTC.solverFailure: ("error", "error"),
    LegacyTC.internalSolverError: ("error", "error"),
    LegacyTC.error: ("error", "error"),
    LegacyTC.licensingProblems: ("error", "error"),
    LegacyTC.other: ("error", "error"),
    LegacyTC.unknown: ("error", "error"),
}

#: How each classic solver spells "relative MIP gap" and "time limit".
_LEGACY_OPTION_NAMES: dict[str, tuple[str, str]] = {
    "cbc": ("ratio", "sec"),
    "glpk": ("mipgap", "tmlim"),
    "cplex": ("mipgap", "timelimit"),
    "gurobi": ("MIPGap", "TimeLimit"),
    "xpress": ("miprelstop", "maxtime"),
}


@dataclass(frozen=True)
class MilpRun:
    """What the solver said: our status, the incumbent objective and bound, and its own words."""

    status: RunStatus
    objective: float | None
    bound: float | None
    solver: str
    termination: str
    message: str | None = None


def available_solvers() -> list[str]:
    """Names of the Pyomo MILP solvers usable on this machine (HiGHS always, through highspy)."""
    found = [name for name in CONTRIB_SOLVERS if _contrib(name).available()]
    for name in ("cbc", "glpk", "cplex", "xpress"):
        if pyo.SolverFactory(name).available(exception_flag=False):
            found.append(name)
    return found


def _contrib(name: str) -> Any:
    return ContribSolverFactory(CONTRIB_SOLVERS[name])


def _finite(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def solve_model(
    model: pyo.ConcreteModel,
    solver: str = "highs",
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    solver_options: dict[str, Any] | None = None,
) -> MilpRun:
    """Solve ``model`` (its solution, if any, is loaded into the variables).

    ``mip_gap`` is the relative gap at which the solver may stop (0 = prove optimality).
    """
    if time_limit is not None and time_limit <= 0:
        raise UsageError(f"time limit must be positive, got {time_limit}")
    if not 0 <= mip_gap < 1:
        raise UsageError(f"mip_gap must be in [0, 1), got {mip_gap}")
    if next(model.component_data_objects(pyo.Var, active=True), None) is None:
        # No variables at all (an instance with no items): no need to ask a solver, which answers "unknown".
        constant = _evaluate_constant_model(model, solver)
        assert constant is not None  # without variables every expression is constant
        return constant
    if solver in CONTRIB_SOLVERS:
        if not _contrib(solver).available():
            raise UsageError(f"solver {solver!r} is not installed; available: {', '.join(available_solvers())}")
        run = _solve_contrib(model, solver, time_limit, mip_gap, solver_options or {})
    else:
        legacy = pyo.SolverFactory(solver)
        if legacy is None or not legacy.available(exception_flag=False):
            raise UsageError(f"solver {solver!r} is not installed; available: {', '.join(available_solvers())}")
        run = _solve_legacy(model, solver, legacy, time_limit, mip_gap, solver_options or {})
    if run.status in ("error", "no_solution") and run.objective is None:
        # Variables whose every coefficient is zero are left out of what the solver sees, and HiGHS answers
        # "unknown" to the empty model that may remain (an instance whose items are all worth 0 and weigh 0).
        # Checked only after a failure: the check reads every expression once more.
        return _evaluate_constant_model(model, solver) or run
    return run


def _evaluate_constant_model(model: pyo.ConcreteModel, solver: str) -> MilpRun | None:
    """Solve by evaluation a model in which no variable has a nonzero coefficient; None for any other model.

    Every variable takes the value of its domain nearest 0 (any value is optimal); the constraints are then
    constants, satisfied or not (infeasible).
    """
    from pyomo.repn import generate_standard_repn

    objectives = list(model.component_data_objects(pyo.Objective, active=True))
    constraints = list(model.component_data_objects(pyo.Constraint, active=True))
    expressions = [o.expr for o in objectives] + [c.body for c in constraints]
    if not all(generate_standard_repn(e, compute_values=True).is_constant() for e in expressions):
        return None
    for var in model.component_data_objects(pyo.Var, active=True):
        if not var.fixed:
            var.set_value(_nearest_zero(var), skip_validation=True)
    for con in constraints:
        body = pyo.value(con.body)
        lower, upper = pyo.value(con.lower), pyo.value(con.upper)
        tol = 1e-9 * max(1.0, abs(body))
        if (lower is not None and body < lower - tol) or (upper is not None and body > upper + tol):
            message = f"constraint {con.name} has no variable left and does not hold ({lower} <= {body} <= {upper})"
            return MilpRun("infeasible", None, None, solver, "emptyModel", message)
    value = _finite(pyo.value(objectives[0].expr)) if objectives else 0.0
    return MilpRun("solved", value, value, solver, "emptyModel")


def _nearest_zero(var: Any) -> float:
    lower, upper = var.bounds
    x = 0.0
    if lower is not None and x < lower:
        x = math.ceil(lower) if var.is_integer() else lower
    if upper is not None and x > upper:
        x = math.floor(upper) if var.is_integer() else upper
    return x


def _solve_contrib(
    model: pyo.ConcreteModel, solver: str, time_limit: float | None, mip_gap: float, options: dict[str, Any]
) -> MilpRun:
    opts = dict(options)
    if solver == "highs":
        opts.setdefault("mip_rel_gap", mip_gap)
    elif solver == "scip":
        opts.setdefault("limits/gap", mip_gap)
    else:
        opts.setdefault("MIPGap", mip_gap)
    results = _contrib(solver).solve(
        model,
        time_limit=time_limit,
        solver_options=opts,
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
    )
    tc = results.termination_condition
    has_solution = results.solution_status in (SolutionStatus.feasible, SolutionStatus.optimal)
    with_sol, without_sol = _CONTRIB_TABLE.get(tc, ("error", "error"))
    status = with_sol if has_solution else without_sol
    if status == "solved" and has_solution:
        results.solution_loader.load_vars()
    message = None
    if tc == TerminationCondition.infeasibleOrUnbounded:
        message = f"{solver} reports the model infeasible or unbounded"
    elif status in ("error", "no_solution"):
        message = f"{solver} stopped with termination {tc.name}, solution status {results.solution_status.name}"
    return MilpRun(
        status=status,
        objective=_finite(results.incumbent_objective) if has_solution else None,
        bound=_finite(results.objective_bound),
        solver=solver,
        termination=tc.name,
        message=message,
    )


def _solve_legacy(
    model: pyo.ConcreteModel,
    solver: str,
    opt: Any,
    time_limit: float | None,
    mip_gap: float,
    options: dict[str, Any],
) -> MilpRun:
    gap_name, time_name = _LEGACY_OPTION_NAMES.get(solver, ("mipgap", "timelimit"))
    opts = dict(options)
    opts.setdefault(gap_name, mip_gap)
    if time_limit is not None:
        opts.setdefault(time_name, time_limit)
    start = time.perf_counter()
    results = opt.solve(model, options=opts, load_solutions=False, tee=False)
    tc = results.solver.termination_condition
    has_solution = len(results.solution) > 0 and results.solver.status != SolverStatus.error
    with_sol, without_sol = _LEGACY_TABLE.get(tc, ("error", "error"))
    status = with_sol if has_solution else without_sol
    objective = bound = None
    if status == "solved" and has_solution:
        model.solutions.load_from(results)
        objective = _finite(pyo.value(next(model.component_data_objects(pyo.Objective, active=True))))
        sense_max = next(model.component_data_objects(pyo.Objective, active=True)).sense == pyo.maximize
        bound = _finite(results.problem.upper_bound if sense_max else results.problem.lower_bound)
    message = (
        None
        if status == "solved"
        else f"{solver} stopped with termination {tc} after {time.perf_counter() - start:.2f}s"
    )
    return MilpRun(status, objective, bound, solver, str(tc), message)
