"""Methods for the ``budgeted_coverage`` problem and the rule ``auto`` follows.

- ``milp``: the Pyomo formulation of ``allocopt.models.budgeted_coverage`` through HiGHS (or any Pyomo solver);
  exact.
- ``cp``: the CP-SAT model (costs, budget and weights made integral exactly; refused when that overflows),
  started from the greedy; exact, and on a time limit it returns its incumbent and proven bound.
- ``greedy``: cost-effectiveness greedy with partial enumeration (Khuller-Moss-Naor; ``allocopt.solvers.
  coverage_greedy``): at depth 3 the best of the greedy from every feasible triple, within 1 - 1/e of the optimum;
  its bound is the LP relaxation's (weak duality from HiGHS's duals).
- ``online``: the ZCL threshold composer of Yuan et al. (``allocopt.solvers.coverage_online``): components in
  file order, admitted irrevocably when their marginal coverage per cost clears psi(z) = (U e / L)^z (L / e); its
  bound is the offline optimum's (the MILP, up to ``ONLINE_OFFLINE_MAX_ENTRIES`` pairs; beyond, the LP bound
  beside the offline greedy's set), and the competitive ratio offline / online is in ``details``.

``auto``: ``milp`` up to ``AUTO_MILP_MAX_ENTRIES`` (component, skill) pairs, ``greedy`` beyond.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import numpy as np

from allocopt.errors import UsageError
from allocopt.methods.common import (
    MILP_OPTIONS,
    cp_options,
    cp_settings,
    option_count,
    option_flag,
    run_milp,
    time_left,
)
from allocopt.models import budgeted_coverage as model
from allocopt.models.budgeted_coverage import CoverageCpModel, CoverageData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register

#: ``auto`` solves the MILP up to this many (component, skill) pairs; the greedy with its LP bound beyond.
AUTO_MILP_MAX_ENTRIES = 20_000
#: ``online`` solves the offline MILP for its competitive ratio up to this many pairs (the LP bound beyond).
ONLINE_OFFLINE_MAX_ENTRIES = 20_000
#: ``greedy`` solves the LP for its bound up to this many pairs (the coverable weight beyond; HiGHS's simplex
#: took 6 s at 130,000 pairs).
LP_BOUND_MAX_ENTRIES = 1_000_000


# ------------------------------------------------------------------------------------------------ helpers
def _coverage(d: CoverageData, take: np.ndarray) -> float:
    """Weight of the skills the taken components cover (the methods' own count; the checker has its own)."""
    rows = np.repeat(np.arange(d.n), np.diff(d.cover_ptr))
    covered = np.zeros(d.k, dtype=bool)
    covered[d.cover_idx[take[rows] > 0]] = True
    return math.fsum(d.skill_weights[covered].tolist())


def _take(take: np.ndarray) -> dict[str, Any]:
    return {"take": [int(t) for t in take]}


def cp_reason(d: CoverageData) -> str | None:
    """Why ``cp`` does not apply (data that CP-SAT's exact integer scaling cannot hold), or None."""
    try:
        model.cp_scale(d)
    except ValueError as exc:
        return f"CP-SAT needs integer costs and weights: {exc}; use milp or greedy"
    return None


def _bound_run(
    d: CoverageData, ctx: SolveContext, began: float, value: float, use_lp: bool = True
) -> tuple[float, dict[str, Any]]:
    """A proven upper bound for a solution of weight ``value``, and how it was obtained.

    The coverable weight (skills some affordable component provides) when ``value`` already reaches it (no LP
    needed: the solution is optimal), when the LP is not wanted or the instance is too large for it; the LP
    bound otherwise.
    """
    from allocopt.solvers.coverage_greedy import lp_bound

    start = time.perf_counter()
    rows = np.repeat(np.arange(d.n), np.diff(d.cover_ptr))
    reach = np.zeros(d.k, dtype=bool)
    reach[d.cover_idx[(d.costs <= d.budget)[rows]]] = True
    coverable = math.fsum(d.skill_weights[reach].tolist())
    if not use_lp or value >= coverable - 1e-9 * max(1.0, coverable) or len(d.cover_idx) > LP_BOUND_MAX_ENTRIES:
        return coverable, {"bound_kind": "coverable"}
    run = lp_bound(d.costs, d.cover_ptr, d.cover_idx, d.skill_weights, d.budget, time_left(ctx, began))
    details = {"bound_kind": run.kind, "lp_status": run.lp_status, "bound_seconds": time.perf_counter() - start}
    return run.bound, details


def _online_bounds(d: CoverageData, ctx: SolveContext) -> tuple[float, float]:
    """Default [L, U]: the instance's own range of standalone weight per cost (as the knapsack's online_zcl)."""
    rows = np.repeat(np.arange(d.n), np.diff(d.cover_ptr))
    standalone = np.bincount(rows, weights=d.skill_weights[d.cover_idx], minlength=d.n)
    mask = (d.costs > 0) & (standalone > 0)
    lo, hi = (
        (1.0, 1.0)
        if not mask.any()
        else (float((standalone[mask] / d.costs[mask]).min()), float((standalone[mask] / d.costs[mask]).max()))
    )
    bounds = []
    for name, default in (("L", lo), ("U", hi)):
        v = ctx.options.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
            raise UsageError(f"option {name!r} must be a finite number > 0, got {v!r}")
        bounds.append(float(v))
    if bounds[0] > bounds[1]:
        raise UsageError(f"options L and U must satisfy L <= U, got L={bounds[0]}, U={bounds[1]}")
    return bounds[0], bounds[1]


# ------------------------------------------------------------------------------------------------ methods
def _run_milp(d: CoverageData, ctx: SolveContext) -> Outcome:
    res = run_milp(d, ctx, model.build_model, model.decode)
    if res.solution is None:
        return res
    # Report the chosen set's own coverage (the continuous y may sit a tolerance away from it).
    return replace(res, objective=_coverage(d, np.asarray(res.solution["take"])))


def _run_cp(d: CoverageData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.coverage_greedy import kmn_greedy
    from allocopt.solvers.cpsat import solve_cp

    began = time.perf_counter()
    workers, use_hint, user = cp_settings(ctx, CoverageCpModel, "budgeted_coverage")
    cp = user if user is not None else model.build_cp_model(d)
    details: dict[str, Any] = {"workers": workers, "objective_scale": cp.objective_scale}
    hint = None
    if use_hint:
        start = kmn_greedy(d.costs, d.cover_ptr, d.cover_idx, d.skill_weights, d.budget, depth=0)
        details["hint_objective"] = start.value
        hint = [(x, int(start.take[i])) for i, x in enumerate(cp.take)]
    details["hinted"] = hint is not None
    run = solve_cp(cp, time_left(ctx, began), workers, hint, cp.objective_scale, ctx.options.get("solver_options"))
    details["termination"] = run.termination
    details["cp_wall_s"] = run.wall_time
    if run.status != "solved":
        bound = run.bound if run.status == "no_solution" else None
        return Outcome(run.status, None, None, bound, "cpsat", run.message, details)
    solution = model.decode_cp(run.solver_object, cp, d)
    objective = _coverage(d, np.asarray(solution["take"]))
    return Outcome("solved", solution, objective, run.bound, "cpsat", run.message, details)


def _run_greedy(d: CoverageData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.coverage_greedy import kmn_greedy

    began = time.perf_counter()
    depth = option_count(ctx, "depth", None, 0)
    if depth is not None and depth > 3:
        raise UsageError(f"option 'depth' must be 0, 1, 2 or 3 (3 already gives 1 - 1/e), got {depth}")
    use_lp = option_flag(ctx, "lp_bound", True)
    # the enumeration gets most of a time limit; the LP bound the rest
    limit = None if ctx.time_limit is None else 0.8 * ctx.time_limit
    run = kmn_greedy(d.costs, d.cover_ptr, d.cover_idx, d.skill_weights, d.budget, depth, limit)
    details: dict[str, Any] = {
        "depth": run.depth,
        "complete": run.complete,
        "guarantee": run.guarantee,
        "greedy_runs": run.seeds,
        "free_components": run.free,
        "candidates": run.candidates,
        "greedy_seconds": time.perf_counter() - began,
        # OPT <= value / guarantee (KMN's theorem): shown beside the LP bound, which is the one reported
        "guarantee_bound": run.value / run.guarantee,
    }
    objective = _coverage(d, run.take)
    bound, more = _bound_run(d, ctx, began, objective, use_lp)
    details.update(more)
    solver = "highs" if details["bound_kind"] == "lp" else None
    return Outcome("solved", _take(run.take), objective, bound, solver, details=details)


def _run_online(d: CoverageData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.coverage_online import zcl_cover

    began = time.perf_counter()
    L, U = _online_bounds(d, ctx)
    with_offline = option_flag(ctx, "offline", True)
    take, marginal = zcl_cover(d.costs, d.cover_ptr, d.cover_idx, d.skill_weights, d.budget, L, U)
    value = _coverage(d, take)
    details: dict[str, Any] = {
        "L": L,
        "U": U,
        "admitted": int(take.sum()),
        "spent": math.fsum(d.costs[take > 0].tolist()),
        "online_seconds": time.perf_counter() - began,
    }
    if d.n <= 100:  # what the composer saw at each arrival (kept short on large instances)
        details["marginal_weights"] = marginal.tolist()
    bound = None
    solver = None
    if with_offline:
        bound, solver = _offline(d, ctx, began, details)
        opt, best = details["offline_optimum"], details["offline_best"]
        details["offline_bound"] = bound
        details["competitive_ratio"] = _ratio(opt, value) if opt is not None else None
        # without a proven optimum the ratio lies between best known / online and bound / online
        details["competitive_ratio_at_least"] = _ratio(best, value) if best is not None else None
        details["competitive_ratio_at_most"] = _ratio(bound, value) if bound is not None else None
    return Outcome("solved", _take(take), value, bound, solver, details=details)


def _offline(d: CoverageData, ctx: SolveContext, began: float, details: dict[str, Any]) -> tuple[Any, str | None]:
    """The offline optimum the online composer is measured against: (its proven bound, the engine).

    The MILP up to ``ONLINE_OFFLINE_MAX_ENTRIES`` pairs; beyond, the greedy (its best set) and the LP bound
    (``_bound_run``, skipped when the greedy reaches every coverable skill). Fills ``offline_*`` in ``details``.
    """
    from allocopt.solvers.coverage_greedy import kmn_greedy

    if len(d.cover_idx) <= ONLINE_OFFLINE_MAX_ENTRIES:
        off = _run_milp(d, SolveContext(solver=ctx.solver, time_limit=time_left(ctx, began), options={}))
        bound = off.bound
        best = off.objective if off.solution is not None else None
        details["offline_status"] = off.status
        details["offline_method"] = "milp"
        solver = off.solver
    else:
        limit = None if ctx.time_limit is None else 0.5 * time_left(ctx, began)
        run = kmn_greedy(d.costs, d.cover_ptr, d.cover_idx, d.skill_weights, d.budget, time_limit=limit)
        best = run.value
        bound, more = _bound_run(d, ctx, began, best)
        details.update({f"offline_{k}": v for k, v in more.items()})
        details["offline_method"] = "greedy"
        solver = "highs" if more["bound_kind"] == "lp" else None
    proven = best is not None and bound is not None and abs(bound - best) <= 1e-6 * max(1.0, abs(best))
    details["offline_optimum"] = best if proven else None
    details["offline_best"] = best
    return bound, solver


def _ratio(offline: float, online: float) -> float | None:
    """Offline / online (>= 1; 1 when both are 0; None when only the online value is 0)."""
    if online > 0:
        return offline / online
    return 1.0 if offline <= 0 else None


def choose(d: CoverageData) -> str:
    return "milp" if len(d.cover_idx) <= AUTO_MILP_MAX_ENTRIES else "greedy"


CP_OPTIONS = cp_options("the modified greedy's set")

METHODS = {
    m.name: m
    for m in (
        Method(
            "milp",
            _run_milp,
            "MILP (take x_i, covered y_s <= sum of its providers, budget row) through Pyomo (HiGHS by default)",
            True,
            ("*pyomo",),
            MILP_OPTIONS,
        ),
        Method(
            "cp",
            _run_cp,
            "CP-SAT: Booleans per component and skill, clause y_s -> OR of providers, integer-scaled budget",
            True,
            ("cpsat",),
            CP_OPTIONS,
            cp_reason,
        ),
        Method(
            "greedy",
            _run_greedy,
            "cost-effectiveness greedy from every feasible triple (Khuller-Moss-Naor, >= (1 - 1/e) OPT), LP bound",
            False,
            ("highs",),
            {
                "depth": "partial enumeration depth 0-3 (default: 3 when affordable; 3 gives 1 - 1/e, less gives "
                "(1 - 1/e) / 2)",
                "lp_bound": "solve the LP relaxation for the bound (default true; false: the coverable weight)",
            },
        ),
        Method(
            "online",
            _run_online,
            "ZCL threshold composer (Yuan et al.): marginal coverage per cost >= (Ue/L)^z (L/e), file order",
            False,
            ("*pyomo",),
            {
                "L": "lower bound on weight per cost (default: the instance's smallest standalone weight / cost)",
                "U": "upper bound on weight per cost (default: the instance's largest standalone weight / cost)",
                "offline": "solve the offline problem for the bound and the competitive ratio (default true)",
            },
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="budgeted_coverage",
        sense="max",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        build_cp_model=model.build_cp_model,
        methods=METHODS,
        choose=choose,
        describe=CoverageData.kind_text,
    )
)
