"""Pieces every method table uses: running a problem's Pyomo formulation through the MILP runner."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from allocopt.errors import UsageError
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
    gap = ctx.options.get("mip_gap", 0.0)
    if isinstance(gap, bool) or not isinstance(gap, int | float):
        raise UsageError(f"option 'mip_gap' must be a number in [0, 1), got {gap!r}")
    model = ctx.options.get("model") or build(data)
    run = solve_model(
        model,
        solver=ctx.solver or "highs",
        time_limit=ctx.time_limit,
        mip_gap=float(gap),
        solver_options=ctx.options.get("solver_options"),
    )
    solution = decode(model, data) if run.status == "solved" else None
    details = {"termination": run.termination}
    # Formulations that scale their objective (tiny coefficients defeat the solver's gap tests) say so.
    scale = float(getattr(model, "objective_scale", 1.0))
    objective = None if run.objective is None else run.objective / scale
    bound = None if run.bound is None else run.bound / scale
    return Outcome(run.status, solution, objective, bound, run.solver, run.message, details)


#: The payment rules of the auction problems (``payments`` option); each method accepts a subset.
PAYMENT_RULES = {
    "none": "no payments (the default): the allocation only",
    "pay_as_bid": "first price: every winner pays what it bid for what it won",
    "vcg": "Vickrey-Clarke-Groves (Clarke pivot): the welfare a winner's presence costs the others",
    "critical": "critical value: the least bid with which a winner would still have won (truthful for the greedy)",
    "gsp": "generalized second price: each shown ad pays per click what it needs to keep its slot",
}


def payment_rule(ctx: SolveContext, method: str, accepted: tuple[str, ...], why_not: str = "") -> str:
    """The ``payments`` option, checked against the rules ``method`` implements (a UsageError otherwise).

    ``why_not`` explains the refusal of a known rule the method does not take (e.g. that VCG needs exact solves).
    """
    rule = ctx.options.get("payments", "none")
    if rule not in PAYMENT_RULES:
        raise UsageError(f"unknown payment rule {rule!r}; payment rules: {', '.join(PAYMENT_RULES)}")
    if rule != "none" and rule not in accepted:
        takes = ", ".join(r for r in accepted) or "none"
        raise UsageError(
            f"method {method!r} does not compute payments={rule}{'; ' + why_not if why_not else ''}; "
            f"payment rules it takes: none, {takes}"
        )
    return rule


# ----------------------------------------------------------------------------------- reading method options
def option_choice(ctx: SolveContext, name: str, allowed: tuple[str, ...], default: str) -> str:
    """Option ``name``, one of ``allowed`` (a UsageError naming them otherwise)."""
    value = ctx.options.get(name, default)
    if value not in allowed:
        raise UsageError(f"option {name!r} must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)


def option_count(ctx: SolveContext, name: str, default: int | None, least: int = 1) -> int | None:
    """Option ``name``, a whole number >= ``least`` (or the default, which may be None)."""
    value = ctx.options.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise UsageError(f"option {name!r} must be a whole number >= {least}, got {value!r}")
    return value


def option_flag(ctx: SolveContext, name: str, default: bool) -> bool:
    """Option ``name``, true or false."""
    value = ctx.options.get(name, default)
    if not isinstance(value, bool):
        raise UsageError(f"option {name!r} must be true or false, got {value!r}")
    return value


def time_left(ctx: SolveContext, began: float) -> float | None:
    """What is left of the caller's time limit (never below a sliver, so that a solver still returns)."""
    if ctx.time_limit is None:
        return None
    return max(0.05, ctx.time_limit - (time.perf_counter() - began))


# ----------------------------------------------------------------------------------- CP-SAT methods' options
#: CP-SAT search workers by default: the machine's cores, at most this many.
CP_DEFAULT_MAX_WORKERS = 8


def cp_options(hint: str) -> dict[str, str]:
    """The options every CP-SAT method takes; ``hint`` says what its starting solution is."""
    return {
        "workers": f"CP-SAT search workers (default: the machine's cores, at most {CP_DEFAULT_MAX_WORKERS})",
        "hint": f"start CP-SAT from {hint} (default true)",
        "model": "a CP-SAT model from allocopt.build_cp_model(instance), possibly extended with your own constraints",
        "solver_options": 'dict of CP-SAT parameters by name, e.g. {"random_seed": 3}',
    }


def cp_settings(ctx: SolveContext, model_type: type, problem: str) -> tuple[int, bool, Any | None]:
    """The CP-SAT options in ``ctx``: workers, whether to hint, and the user's model (None: build one).

    A user's model must be a ``model_type`` (from ``allocopt.build_cp_model`` of a ``problem`` instance).
    """
    workers = option_count(ctx, "workers", min(CP_DEFAULT_MAX_WORKERS, os.cpu_count() or 1), 1)
    use_hint = option_flag(ctx, "hint", True)
    user = ctx.options.get("model")
    if user is not None and not isinstance(user, model_type):
        raise UsageError(f"option model must come from allocopt.build_cp_model(instance) (a {problem} model)")
    return workers, use_hint, user
