"""Method table of the single_machine problem (one machine, n jobs, one at a time).

- ``wspt``: Smith's rule (jobs by non-increasing w_j / p_j), exact for 1||sum w_j C_j; refuses release dates.
- ``edd``: Jackson's rule (jobs by due date), exact for 1||L_max; refuses release dates and other objectives.
- ``milp``: the disjunctive MILP (``build_model``) through Pyomo (HiGHS by default); every objective, small n.
- ``cp``: CP-SAT, one interval per job on one no-overlap (``build_cp_model``), hinted with the greedy schedule;
  every objective; refuses weights that no power of ten up to 10**12 makes integral within CP-SAT's range.
- ``greedy``: the best non-delay dispatch rule (WSPT; with due dates also EDD and late-first WSPT), then
  adjacent swaps of the sequence while they help, with a valid lower bound:
  sum w_j C_j: max(the WSPT optimum without release dates, sum w_j (r_j + p_j)) (releases can only delay jobs);
  L_max: the preemptive EDD schedule's L_max (exact for 1|r_j,pmtn|L_max); sum w_j T_j: sum w_j max(0, r_j + p_j - d_j).

``auto``: ``wspt`` or ``edd`` where exact; else ``cp`` up to ``AUTO_EXACT_MAX_JOBS`` jobs; else ``greedy``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from allocopt.errors import UsageError
from allocopt.methods.common import MILP_OPTIONS, cp_options, cp_settings, option_count, run_milp
from allocopt.models import single_machine as model
from allocopt.models.single_machine import SingleMachineCpModel, SingleMachineData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register
from allocopt.scaling import EXACT_INT, ScaleError, integer_scale

#: ``auto`` runs an exact method (cp) up to this many jobs and ``greedy`` beyond.
AUTO_EXACT_MAX_JOBS = 20
#: Adjacent-swap passes of ``greedy`` by default.
GREEDY_DEFAULT_PASSES = 100
#: Seconds of adjacent swaps when the caller gives no time limit (checked after each pass).
GREEDY_DEFAULT_TIME_LIMIT = 10.0


def _value(d: SingleMachineData, start: np.ndarray) -> float:
    from allocopt.solvers.sm_rules import objective_value

    return objective_value(d.objective, start + d.duration, d.weight, d.due)


def _solution(start: np.ndarray) -> dict[str, Any]:
    return {"start": [int(x) for x in start]}


def lower_bound(d: SingleMachineData) -> tuple[float, str]:
    """A valid lower bound on the optimum, and what it is (see the module docstring)."""
    from allocopt.solvers import sm_rules

    p, w, r = d.duration, d.weight, d.release
    if d.objective == "weighted_completion":
        relaxed = sm_rules.starts_of(sm_rules.wspt_order(p, w), p, np.zeros_like(r)) + p
        return max(float(np.dot(w, relaxed)), float(np.dot(w, r + p))), "wspt_without_release"
    assert d.due is not None
    if d.objective == "max_lateness":
        return float(sm_rules.preemptive_edd_lmax(p, r, d.due)), "preemptive_edd"
    return float(np.dot(w, np.maximum(r + p - d.due, 0))), "each_job_alone"


def _greedy_order(
    d: SingleMachineData, passes: int, time_limit: float | None
) -> tuple[np.ndarray, str, float, float, int]:
    """The best dispatch order (over the rules that apply) improved by adjacent swaps.

    Returns the order, its dispatch rule, the dispatch objective, the final objective and the passes made.
    """
    from allocopt.solvers import sm_rules

    rules = ("wspt",) if d.due is None else sm_rules.RULES
    best: tuple[np.ndarray, str, float] | None = None
    for rule in rules:
        order = sm_rules.dispatch(rule, d.duration, d.weight, d.release, d.due)
        value = _value(d, sm_rules.starts_of(order, d.duration, d.release))
        if best is None or value < best[2]:
            best = (order, rule, value)
    assert best is not None
    order, value, made = sm_rules.adjacent_swaps(
        best[0], d.objective, d.duration, d.weight, d.release, d.due, passes, time_limit
    )
    return order, best[1], best[2], value, made


# ------------------------------------------------------------------------------------------------ applies
def _wspt_applies(d: SingleMachineData) -> str | None:
    if d.objective != "weighted_completion":
        return f"Smith's rule is exact for weighted_completion only, not {d.objective}"
    if d.has_release():
        return "Smith's rule is not exact with release dates (1|r_j|sum w_j C_j is NP-hard): use cp, milp or greedy"
    return None


def _edd_applies(d: SingleMachineData) -> str | None:
    if d.objective != "max_lateness":
        return f"the EDD rule is exact for max_lateness only, not {d.objective}"
    if d.due is None:
        return "the EDD rule needs due dates"
    if d.has_release():
        return "the EDD rule is not exact with release dates (1|r_j|L_max is NP-hard): use cp, milp or greedy"
    return None


def _cp_applies(d: SingleMachineData) -> str | None:
    if d.objective == "max_lateness":
        return None
    try:
        integer_scale([float(x) for x in d.weight], EXACT_INT // max(d.horizon(), 1))
    except ScaleError as exc:
        return f"CP-SAT needs integral weights and these cannot be scaled exactly ({exc})"
    return None


# ------------------------------------------------------------------------------------------------ methods
def _run_rule(d: SingleMachineData, rule: str) -> Outcome:
    from allocopt.solvers import sm_rules

    order = sm_rules.wspt_order(d.duration, d.weight) if rule == "wspt" else sm_rules.edd_order(d.due)
    start = sm_rules.starts_of(order, d.duration, d.release)
    value = _value(d, start)
    # Exact here (applies() ensured it): the bound is the value itself.
    return Outcome("solved", _solution(start), value, value, None, details={"rule": rule})


def _run_greedy(d: SingleMachineData, ctx: SolveContext) -> Outcome:
    passes = option_count(ctx, "passes", GREEDY_DEFAULT_PASSES, 0)
    from allocopt.solvers import sm_rules

    limit = GREEDY_DEFAULT_TIME_LIMIT if ctx.time_limit is None else ctx.time_limit
    order, rule, first_value, _, made = _greedy_order(d, passes, limit)
    start = sm_rules.starts_of(order, d.duration, d.release)
    bound, kind = lower_bound(d)
    details = {"dispatch_rule": rule, "dispatch_objective": first_value, "passes": made, "bound_kind": kind}
    return Outcome("solved", _solution(start), _value(d, start), bound, None, details=details)


def _run_cp(d: SingleMachineData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers import sm_rules
    from allocopt.solvers.cpsat import solve_cp

    began = time.perf_counter()
    workers, use_hint, user = cp_settings(ctx, SingleMachineCpModel, "single_machine")
    if user is not None and len(user.start) != d.n:
        raise UsageError(f"option model has {len(user.start)} jobs, this instance {d.n}")
    cp = user if user is not None else model.build_cp_model(d)
    bound, kind = lower_bound(d)
    details: dict[str, Any] = {"workers": workers, "objective_scale": cp.objective_scale, "bound_kind": kind}
    hint = None
    if use_hint and user is None:
        order, _, _, value, _ = _greedy_order(d, GREEDY_DEFAULT_PASSES, GREEDY_DEFAULT_TIME_LIMIT)
        start = sm_rules.starts_of(order, d.duration, d.release)
        hint = [*zip(cp.start, start.tolist(), strict=True), *zip(cp.end, (start + d.duration).tolist(), strict=True)]
        details["hint_objective"] = value
    details["hinted"] = hint is not None
    limit = None if ctx.time_limit is None else max(0.05, ctx.time_limit - (time.perf_counter() - began))
    run = solve_cp(cp, limit, workers, hint, float(cp.objective_scale), ctx.options.get("solver_options"))
    details["termination"] = run.termination
    details["cp_wall_s"] = run.wall_time
    if run.status != "solved":
        message = run.message
        if run.status == "infeasible":
            message = "CP-SAT proved the (user's) model infeasible: no schedule meets its constraints"
        best = None if run.bound is None else max(run.bound, bound) if user is None else run.bound
        return Outcome(run.status, None, None, best, "cpsat", message, details)
    # The library's bound holds for the instance, not for a user's extended model (it can only be tighter).
    best = run.bound if user is not None or run.bound is None else max(run.bound, bound)
    return Outcome(
        "solved", model.decode_cp(run.solver_object, cp, d), run.objective, best, "cpsat", run.message, details
    )


def _run_milp(d: SingleMachineData, ctx: SolveContext) -> Outcome:
    return run_milp(d, ctx, model.build_model, model.decode)


def choose(d: SingleMachineData) -> str:
    for name in ("wspt", "edd"):
        if METHODS[name].applies(d) is None:
            return name
    if d.n <= AUTO_EXACT_MAX_JOBS:
        return "cp" if _cp_applies(d) is None else "milp"
    return "greedy"


CP_OPTIONS = cp_options("the greedy schedule")

METHODS = {
    m.name: m
    for m in (
        Method(
            "wspt",
            lambda d, ctx: _run_rule(d, "wspt"),
            "Smith's rule (non-increasing w/p): exact for weighted_completion without release dates",
            True,
            applies=_wspt_applies,
        ),
        Method(
            "edd",
            lambda d, ctx: _run_rule(d, "edd"),
            "Jackson's rule (earliest due date first): exact for max_lateness without release dates",
            True,
            applies=_edd_applies,
        ),
        Method(
            "cp",
            _run_cp,
            "CP-SAT: one interval per job on one no-overlap, hinted with the greedy schedule; every objective",
            True,
            ("cpsat",),
            CP_OPTIONS,
            _cp_applies,
        ),
        Method(
            "milp",
            _run_milp,
            "disjunctive MILP with the least big-M per pair, through Pyomo (HiGHS by default); small instances",
            True,
            ("*pyomo",),
            MILP_OPTIONS,
        ),
        Method(
            "greedy",
            _run_greedy,
            "non-delay dispatch (WSPT / EDD / late-first WSPT) then adjacent swaps, with a valid lower bound",
            False,
            (),
            {
                "passes": f"adjacent-swap passes at most (default {GREEDY_DEFAULT_PASSES}; 0: the dispatch order); "
                f"they stop after the pass that reaches the time limit ({GREEDY_DEFAULT_TIME_LIMIT:g} s if none)"
            },
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="single_machine",
        sense="min",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        build_cp_model=model.build_cp_model,
        methods=METHODS,
        choose=choose,
        describe=SingleMachineData.kind,
    )
)
