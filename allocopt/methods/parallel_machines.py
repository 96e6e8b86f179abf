"""Methods for the ``parallel_machines`` problem and the rule ``auto`` follows.

- ``milp``: the assignment MILP of ``allocopt.models.parallel_machines`` through HiGHS or any Pyomo solver;
  exact, every machine kind.
- ``cp``: the CP-SAT model (integer loads; uniform speeds scaled exactly, refused when that overflows), started
  from the LPT / greedy assignment; exact, and on a time limit it returns its incumbent and proven bound.
- ``lpt``: longest processing time first (identical and uniform machines; ``allocopt.solvers.pm_lpt``), with the
  bound max(largest job / fastest speed, total work / total speed) (identical: also p_(m) + p_(m+1)).
- ``greedy``: earliest completion then moves and swaps off the most loaded machine (unrelated machines;
  ``allocopt.solvers.pm_greedy``), with the assignment LP relaxation's bound (HiGHS) up to
  ``LP_BOUND_MAX_PAIRS`` allowed pairs, the simple bound above that; with the LP, the LP's rounding is improved
  too and the better assignment kept.

A job that no machine may run makes every method return ``infeasible`` with the job named.

``auto``: ``cp`` up to ``AUTO_EXACT_MAX_JOBS`` jobs (``milp`` when the speeds defeat CP's integer scaling),
else ``lpt`` (identical, uniform) or ``greedy`` (unrelated).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from allocopt.methods.common import (
    MILP_OPTIONS,
    cp_options,
    cp_settings,
    option_count,
    option_flag,
    run_milp,
    time_left,
)
from allocopt.models import parallel_machines as model
from allocopt.models.parallel_machines import ParallelMachinesCpModel, ParallelMachinesData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register

#: ``auto`` runs an exact method (cp, else milp) up to this many jobs; LPT or greedy above.
AUTO_EXACT_MAX_JOBS = 20
#: ``greedy`` solves the LP relaxation for its bound up to this many allowed (machine, job) pairs (about 2 s at
#: 250,000 pairs; 36 s at 1.6 million).
LP_BOUND_MAX_PAIRS = 300_000


# ------------------------------------------------------------------------------------------------ helpers
def _impossible(d: ParallelMachinesData) -> Outcome | None:
    """The ``infeasible`` outcome when some job may run on no machine (the file itself is well-formed)."""
    bad = d.impossible_jobs()
    if len(bad) == 0:
        return None
    jobs = ", ".join(str(int(j)) for j in bad[:10]) + (", ..." if len(bad) > 10 else "")
    message = f"job(s) {jobs}: every duration is null, so no machine may run them and no assignment exists"
    return Outcome("infeasible", message=message, details={"impossible_jobs": [int(j) for j in bad]})


def _makespan(d: ParallelMachinesData, assign: np.ndarray) -> float:
    """The makespan of an assignment, loads summed in whole durations (as the checker does)."""
    if d.times is not None:
        whole = np.bincount(assign, weights=d.times[assign, np.arange(d.n_jobs)], minlength=d.machines)
        return float(whole.max(initial=0.0))
    whole = np.bincount(assign, weights=d.durations, minlength=d.machines)
    return float((whole / d.speeds).max(initial=0.0))


def _heuristic(d: ParallelMachinesData) -> np.ndarray:
    """LPT (identical, uniform) or the greedy (unrelated): a good assignment to start exact methods from."""
    if d.times is None:
        from allocopt.solvers.pm_lpt import lpt

        return lpt(d.durations, d.speeds)[0]
    from allocopt.solvers.pm_greedy import greedy

    return greedy(d.time_matrix())[0]


def cp_reason(d: ParallelMachinesData) -> str | None:
    """Why ``cp`` does not apply (speeds CP's exact integer scaling cannot hold), or None."""
    try:
        model.cp_scale(d)
    except ValueError as exc:
        return f"CP-SAT needs integer loads: {exc}; use milp or lpt"
    return None


def _lpt_reason(d: ParallelMachinesData) -> str | None:
    return "LPT is for identical and uniform machines; use greedy for unrelated ones" if d.times is not None else None


def _greedy_reason(d: ParallelMachinesData) -> str | None:
    return "greedy is for unrelated machines (a duration matrix); use lpt" if d.times is None else None


# ------------------------------------------------------------------------------------------------ methods
def _run_milp(d: ParallelMachinesData, ctx: SolveContext) -> Outcome:
    out = _impossible(d)
    if out is not None:
        return out
    res = run_milp(d, ctx, model.build_model, model.decode)
    details = dict(res.details)
    details["simple_bound"] = d.lower_bound()
    if res.solution is None:
        return replace(res, details=details)
    # Report the assignment's own makespan (the makespan variable may sit a tolerance above it).
    objective = _makespan(d, np.asarray(res.solution["machine"], dtype=np.int64))
    bound = d.lower_bound() if res.bound is None else max(res.bound, d.lower_bound())
    return replace(res, objective=objective, bound=bound, details=details)


def _run_cp(d: ParallelMachinesData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.cpsat import solve_cp

    out = _impossible(d)
    if out is not None:
        return out
    began = time.perf_counter()
    workers, use_hint, user = cp_settings(ctx, ParallelMachinesCpModel, "parallel_machines")
    cp = user if user is not None else model.build_cp_model(d)
    details: dict[str, Any] = {"workers": workers, "objective_scale": cp.objective_scale}
    hint = None
    if use_hint:
        start = _heuristic(d)
        details["hint_makespan"] = _makespan(d, start)
        hint = [(x, int(start[j] == i)) for (i, j), x in cp.assign.items()]
        w = cp.weights
        scaled = np.zeros(d.machines, dtype=np.int64)
        np.add.at(scaled, start, w[start, np.arange(d.n_jobs)])
        hint.append((cp.makespan, int(scaled.max(initial=0))))
    details["hinted"] = hint is not None
    run = solve_cp(cp, time_left(ctx, began), workers, hint, cp.objective_scale, ctx.options.get("solver_options"))
    details["termination"] = run.termination
    details["cp_wall_s"] = run.wall_time
    lower = d.lower_bound()
    if run.status != "solved":
        message = run.message
        if run.status == "infeasible":
            message = "CP-SAT proved the (user's) model infeasible: no assignment meets its constraints"
        bound = max(run.bound, lower) if run.status == "no_solution" and run.bound is not None else None
        return Outcome(run.status, None, None, bound, "cpsat", message, details)
    solution = model.decode_cp(run.solver_object, cp, d)
    objective = _makespan(d, np.asarray(solution["machine"], dtype=np.int64))
    bound = lower if run.bound is None else max(float(run.bound), lower)
    return Outcome("solved", solution, objective, bound, "cpsat", run.message, details)


def _run_lpt(d: ParallelMachinesData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.pm_lpt import lpt, lpt_bound

    began = time.perf_counter()
    assign, whole = lpt(d.durations, d.speeds)
    seconds = time.perf_counter() - began
    objective = float((whole / d.speeds).max(initial=0.0))
    details = {"bound_kind": "lpt", "seconds": seconds}
    solution = {"machine": assign.tolist()}
    return Outcome("solved", solution, objective, lpt_bound(d.durations, d.speeds), None, details=details)


def _run_greedy(d: ParallelMachinesData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.pm_greedy import greedy, lp_bound

    out = _impossible(d)
    if out is not None:
        return out
    began = time.perf_counter()
    max_steps = option_count(ctx, "max_steps", 1_000_000, 0)
    use_lp = option_flag(ctx, "lp_bound", int(d.allowed.sum()) <= LP_BOUND_MAX_PAIRS)
    t = d.time_matrix()
    assign, steps = greedy(t, max_steps)
    details: dict[str, Any] = {"steps": int(steps), "greedy_seconds": time.perf_counter() - began}
    bound = d.lower_bound()
    details["bound_kind"] = "simple"
    objective = _makespan(d, assign)
    details["start"] = "earliest_completion"
    if use_lp:
        lp = lp_bound(t, time_left(ctx, began))
        if lp is not None:
            bound = max(bound, lp[0])
            details["bound_kind"] = "lp"
            details["lp_bound"] = lp[0]
            second, more = greedy(t, max_steps, start=lp[1])
            value = _makespan(d, second)
            details["makespans"] = {"earliest_completion": objective, "lp_rounding": value}
            if value < objective:
                assign, objective = second, value
                details.update(start="lp_rounding", steps=int(more))
    solution = {"machine": assign.tolist()}
    return Outcome("solved", solution, objective, bound, None, details=details)


def choose(d: ParallelMachinesData) -> str:
    if d.n_jobs <= AUTO_EXACT_MAX_JOBS or len(d.impossible_jobs()):
        return "cp" if cp_reason(d) is None else "milp"
    return "lpt" if d.times is None else "greedy"


CP_OPTIONS = cp_options("the LPT (identical, uniform) or greedy (unrelated) assignment")

METHODS = {
    m.name: m
    for m in (
        Method(
            "cp",
            _run_cp,
            "CP-SAT: one Boolean per allowed (machine, job), integer loads (uniform speeds scaled exactly)",
            True,
            ("cpsat",),
            CP_OPTIONS,
            cp_reason,
        ),
        Method(
            "milp",
            _run_milp,
            "assignment MILP with a makespan variable, through Pyomo (HiGHS by default)",
            True,
            ("*pyomo",),
            MILP_OPTIONS,
        ),
        Method(
            "lpt",
            _run_lpt,
            "longest processing time first to the earliest-finishing machine (identical, uniform), simple bound",
            False,
            (),
            {},
            _lpt_reason,
        ),
        Method(
            "greedy",
            _run_greedy,
            "earliest completion, then moves and swaps off the most loaded machine (unrelated), LP bound",
            False,
            (),
            {
                "max_steps": "most improving moves / swaps (default 1000000)",
                "lp_bound": f"solve the assignment LP for the bound (default: up to {LP_BOUND_MAX_PAIRS} pairs)",
            },
            _greedy_reason,
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="parallel_machines",
        sense="min",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        build_cp_model=model.build_cp_model,
        methods=METHODS,
        choose=choose,
        describe=ParallelMachinesData.kind_text,
    )
)
