"""Methods for the ``job_shop`` problem and the rule ``auto`` follows.

- ``cp``: the CP-SAT model of ``allocopt.models.job_shop`` (interval variables, one no-overlap per machine),
  its horizon the best dispatch schedule's makespan and that schedule as the search hint; exact, and on a time
  limit it returns its incumbent and CP-SAT's proven bound.
- ``milp``: Manne's disjunctive MILP with a tight big-M per pair (the same horizon), through HiGHS or any Pyomo
  solver; exact, for teaching and small instances.
- ``dispatch``: a priority-rule schedule (``allocopt.solvers.jobshop_dispatch``: active (Giffler-Thompson) or
  non-delay schedule generation), with the trivial lower bound.
- ``tabu``: tabu search over critical-block moves (``allocopt.solvers.jobshop_tabu``: N5 or N7) from the best
  dispatch schedule, with the trivial lower bound. It stops at the time limit, or after ``iterations`` moves;
  given neither, after ``TABU_DEFAULT_TIME_LIMIT`` (10 s).

The trivial lower bound, which every method reports at least: max(largest machine load, longest job).

``auto``: ``cp`` (CP-SAT beats the disjunctive MILP by orders of magnitude on every size).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from allocopt.errors import UsageError
from allocopt.methods.common import (
    CP_DEFAULT_MAX_WORKERS,
    MILP_OPTIONS,
    cp_options,
    option_choice,
    option_count,
    option_flag,
    run_milp,
    time_left,
)
from allocopt.models import job_shop as model
from allocopt.models.job_shop import JobShopCpModel, JobShopData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register

#: The dispatch rules of ``allocopt.solvers.jobshop_dispatch.RULES`` (named here so the table imports no engine).
RULES = ("spt", "lpt", "mwkr", "mopnr", "fifo")
SCHEDULES = ("active", "nondelay")
NEIGHBOURHOODS = ("n5", "n7")
#: Tabu search's time limit when the caller gives neither a time limit nor an iteration count (seconds).
TABU_DEFAULT_TIME_LIMIT = 10.0


# ------------------------------------------------------------------------------------------------ helpers
def _makespan(d: JobShopData, start: np.ndarray) -> int:
    return int((start + d.duration).max())


def _is_schedule(d: JobShopData, start: np.ndarray) -> bool:
    """A quick vectorised feasibility test of an engine's schedule before it becomes a horizon or a hint."""
    if start.shape != (d.n_ops,) or np.any(start < 0):
        return False
    end = start + d.duration
    inner = np.ones(d.n_ops, dtype=bool)
    inner[d.job_start[1:] - 1] = False  # a job's last operation has no successor
    if np.any(end[inner] > start[1:][inner[:-1]]):
        return False
    busy = np.flatnonzero(d.duration > 0)
    order = busy[np.lexsort((start[busy], d.machine[busy]))]
    same = d.machine[order[1:]] == d.machine[order[:-1]]
    return not np.any(same & (start[order[1:]] < end[order[:-1]]))


@dataclass(frozen=True)
class _Dispatched:
    start: np.ndarray
    makespan: int
    rule: str
    schedule: str
    tried: dict[str, int]


def _dispatch(d: JobShopData, rules: tuple[str, ...], schedules: tuple[str, ...]) -> _Dispatched | None:
    """The best of the dispatch schedules of ``rules`` x ``schedules`` (None if the engine gave no valid one)."""
    from allocopt.solvers.jobshop_dispatch import dispatch

    best: _Dispatched | None = None
    tried: dict[str, int] = {}
    for schedule in schedules:
        for rule in rules:
            start = np.asarray(dispatch(d.machine, d.duration, d.job_start, d.machines, rule, schedule), np.int64)
            if not _is_schedule(d, start):
                continue
            value = _makespan(d, start)
            tried[f"{rule}/{schedule}"] = value
            if best is None or value < best.makespan:
                best = _Dispatched(start, value, rule, schedule, tried)
    return best


def _lower_bound(d: JobShopData) -> int:
    from allocopt.solvers.jobshop_dispatch import trivial_lower_bound

    return int(trivial_lower_bound(d.machine, d.duration, d.job_start, d.machines))


def _best_bound(bound: float | None, lower: int) -> float:
    return float(lower) if bound is None else max(float(bound), float(lower))


# ------------------------------------------------------------------------------------------------ methods
def _run_cp(d: JobShopData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.cpsat import solve_cp

    began = time.perf_counter()
    cpus = os.cpu_count() or 1
    workers = option_count(ctx, "workers", min(CP_DEFAULT_MAX_WORKERS, cpus), 1)
    use_hint = option_flag(ctx, "hint", True)
    user = ctx.options.get("model")
    if user is not None and not isinstance(user, JobShopCpModel):
        raise UsageError("option model must come from allocopt.build_cp_model(instance) (a job shop CP-SAT model)")
    if user is not None and len(user.start) != d.n_ops:
        raise UsageError(f"option model has {len(user.start)} operations, this instance {d.n_ops}")
    lower = _lower_bound(d)
    best = _dispatch(d, RULES, SCHEDULES) if use_hint or user is None else None
    details: dict[str, Any] = {"workers": workers, "trivial_bound": lower}
    if best is not None:
        details.update(dispatch_makespan=best.makespan, dispatch_rule=f"{best.rule}/{best.schedule}")
    cp = user if user is not None else model.build_cp_model(d, horizon=best.makespan if best else None)
    details["horizon"] = cp.horizon
    hint = None
    if use_hint and best is not None and best.makespan <= cp.horizon:
        end = best.start + d.duration
        hint = [
            *zip(cp.start, best.start.tolist(), strict=True),
            *zip(cp.end, end.tolist(), strict=True),
            (cp.makespan, best.makespan),
        ]
    details["hinted"] = hint is not None
    run = solve_cp(cp, time_left(ctx, began), workers, hint, 1.0, ctx.options.get("solver_options"))
    details["termination"] = run.termination
    details["cp_wall_s"] = run.wall_time
    if run.status != "solved":
        message = run.message
        if run.status == "infeasible":
            message = "CP-SAT proved the (user's) model infeasible: no schedule meets its constraints"
        bound = _best_bound(run.bound, lower) if run.status == "no_solution" else None
        return Outcome(run.status, None, None, bound, "cpsat", message, details)
    solution = model.decode_cp(run.solver_object, cp, d)
    return Outcome("solved", solution, run.objective, _best_bound(run.bound, lower), "cpsat", run.message, details)


def _run_milp(d: JobShopData, ctx: SolveContext) -> Outcome:
    began = time.perf_counter()
    lower = _lower_bound(d)
    best = _dispatch(d, RULES, SCHEDULES) if ctx.options.get("model") is None else None
    horizon = best.makespan if best is not None else None
    run_ctx = replace(ctx, time_limit=time_left(ctx, began))
    out = run_milp(d, run_ctx, lambda data: model.build_model(data, horizon=horizon), model.decode)
    details = dict(out.details)
    details["trivial_bound"] = lower
    details["incumbent"] = "milp"
    used = ctx.options.get("model")
    details["horizon"] = int(used.horizon) if used is not None and hasattr(used, "horizon") else horizon
    if out.solution is None and out.status == "no_solution" and best is not None:
        # Stopped before the solver found a schedule: the dispatch schedule that set the horizon is the incumbent.
        details["incumbent"] = f"dispatch {best.rule}/{best.schedule}"
        solution = model.solution_from_flat(d, best.start)
        bound = _best_bound(out.bound, lower)
        return Outcome("solved", solution, best.makespan, bound, out.solver, out.message, details)
    if out.solution is None:
        message = out.message
        if out.status == "infeasible" and message is None:
            message = "the (user's) model is infeasible: no schedule meets its constraints"
        return Outcome(out.status, None, None, out.bound, out.solver, message, details)
    return Outcome(
        out.status, out.solution, out.objective, _best_bound(out.bound, lower), out.solver, out.message, details
    )


def _run_dispatch(d: JobShopData, ctx: SolveContext) -> Outcome:
    rule = option_choice(ctx, "rule", (*RULES, "best"), "mwkr")
    schedule = option_choice(ctx, "schedule", (*SCHEDULES, "best"), "active")
    rules = RULES if rule == "best" else (rule,)
    schedules = SCHEDULES if schedule == "best" else (schedule,)
    lower = _lower_bound(d)
    best = _dispatch(d, rules, schedules)
    details: dict[str, Any] = {"bound_kind": "trivial"}
    if best is None:
        return Outcome("error", bound=lower, message="the dispatch engine returned no valid schedule", details=details)
    details.update(rule=best.rule, schedule=best.schedule)
    if len(rules) * len(schedules) > 1:
        details["makespans"] = best.tried
    solution = model.solution_from_flat(d, best.start)
    return Outcome("solved", solution, best.makespan, float(lower), None, details=details)


def _run_tabu(d: JobShopData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.jobshop_tabu import tabu_search

    began = time.perf_counter()
    neighbourhood = option_choice(ctx, "neighbourhood", NEIGHBOURHOODS, "n5")
    seed = option_count(ctx, "seed", 0, 0)
    iterations = option_count(ctx, "iterations", None, 0)
    limit = (
        ctx.time_limit if ctx.time_limit is not None else (None if iterations is not None else TABU_DEFAULT_TIME_LIMIT)
    )
    lower = _lower_bound(d)
    best = _dispatch(d, RULES, SCHEDULES)
    if best is None:
        return Outcome("error", bound=lower, message="the dispatch engine returned no valid starting schedule")
    remaining = None if limit is None else max(0.05, limit - (time.perf_counter() - began))
    out = tabu_search(
        d.machine,
        d.duration,
        d.job_start,
        d.machines,
        best.start,
        neighbourhood=neighbourhood,
        seed=seed,
        iterations=iterations,
        time_limit=remaining,
    )
    details = {
        "bound_kind": "trivial",
        "initial_makespan": int(out.initial_makespan),
        "initial_rule": f"{best.rule}/{best.schedule}",
        "iterations": int(out.iterations),
        "seconds": float(out.seconds),
        "compile_seconds": float(getattr(out, "compile_seconds", 0.0)),
        "history": [[float(t), int(v)] for t, v in out.history],
        "neighbourhood": neighbourhood,
        "seed": seed,
        "time_limit": limit,
    }
    start = np.asarray(out.start, dtype=np.int64)
    solution = model.solution_from_flat(d, start)
    return Outcome("solved", solution, _makespan(d, start), float(lower), None, details=details)


def choose(d: JobShopData) -> str:
    return "cp"


CP_OPTIONS = cp_options("the best dispatch schedule")

METHODS = {
    m.name: m
    for m in (
        Method(
            "cp",
            _run_cp,
            "CP-SAT: interval variables, one no-overlap per machine; hint and horizon from the best dispatch rule",
            True,
            ("cpsat",),
            CP_OPTIONS,
        ),
        Method(
            "milp",
            _run_milp,
            "Manne's disjunctive MILP with a tight big-M per pair, through Pyomo (HiGHS by default); small instances",
            True,
            ("*pyomo",),
            MILP_OPTIONS,
        ),
        Method(
            "dispatch",
            _run_dispatch,
            "priority-rule schedule generation (Giffler-Thompson active or non-delay), trivial lower bound",
            False,
            (),
            {
                "rule": f"{', '.join(RULES)}, or best (every rule; default mwkr)",
                "schedule": "active (Giffler-Thompson), nondelay, or best (both; default active)",
            },
        ),
        Method(
            "tabu",
            _run_tabu,
            "tabu search over critical-block swaps (N5 / N7) from the best dispatch schedule, trivial lower bound",
            False,
            (),
            {
                "neighbourhood": "n5 (swap a critical block's first or last pair; default) or n7 (move to its ends)",
                "seed": "random seed (default 0)",
                "iterations": "stop after this many moves (default none: at the time limit, 10 s when none is given)",
            },
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="job_shop",
        sense="min",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        build_cp_model=model.build_cp_model,
        methods=METHODS,
        choose=choose,
        describe=JobShopData.kind,
    )
)
