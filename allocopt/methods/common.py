"""Pieces every method table uses: running a problem's Pyomo formulation through the MILP runner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allocopt.registry import Outcome, SolveContext
from allocopt.solvers.milp import solve_model

#: Options every MILP method takes.
MILP_OPTIONS = {
    "mip_gap": "relative gap at which the solver may stop (default 0: prove optimality)",
    "model": "a Pyomo model from build_model(instance), possibly extended with your own constraints",
    "solver_options": "dict of options passed to the solver as they are",
}


def run_milp(data: Any, ctx: SolveContext, build: Callable[[Any], Any], decode: Callable[[Any, Any], dict]) -> Outcome:
    """Build (or take the user's) Pyomo model, solve it, and decode the solution back into FORMAT.md's terms."""
    model = ctx.options.get("model") or build(data)
    run = solve_model(
        model,
        solver=ctx.solver or "highs",
        time_limit=ctx.time_limit,
        mip_gap=float(ctx.options.get("mip_gap", 0.0)),
        solver_options=ctx.options.get("solver_options"),
    )
    solution = decode(model, data) if run.status == "solved" else None
    details = {"termination": run.termination}
    # Formulations that scale their objective (tiny coefficients defeat the solver's gap tests) say so.
    scale = float(getattr(model, "objective_scale", 1.0))
    objective = None if run.objective is None else run.objective / scale
    bound = None if run.bound is None else run.bound / scale
    return Outcome(run.status, solution, objective, bound, run.solver, run.message, details)
