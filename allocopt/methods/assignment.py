"""Methods for the ``assignment`` problem and the rule ``auto`` follows.

- ``exact``: scipy's linear-assignment solvers when every demand and capacity is 1; otherwise the
  transportation LP solved directly by HiGHS (integral by total unimodularity), started from an auction's
  prices and certified by the Lagrangian bound at the LP duals, which it reports as column prices.
- ``milp``: the Pyomo model of ``allocopt.models.assignment`` through the MILP runner (cross-checking, and
  the model to extend with your own constraints).
- ``auction``: Bertsekas' auction with epsilon scaling (similar objects, multi-unit bidders, dummies for
  spare capacity); exact for integer costs, within its reported bound otherwise.
- ``greedy``: capacity-aware greedy over all pairs sorted by cost, augmenting-path repair; LP bound on small
  instances, Lagrangian bound (supergradient ascent from the row-minimum bound) on large ones.
- ``prices``: auxiliary-loss-free load balancing (DeepSeek-V3) seen as sign-supergradient ascent on the
  dual of the capacity rows; repaired to a feasible routing, compared with the LP's exact prices.

Every method first applies the model's counting checks and, when it finds no assignment, a max-flow cut
that names the rows competing for too few columns, so ``infeasible`` always comes with its reason.

``auto``: ``exact`` up to ``AUTO_EXACT_MAX_PAIRS`` cost entries, ``greedy`` beyond.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from allocopt.errors import UsageError
from allocopt.methods.common import MILP_OPTIONS, run_milp
from allocopt.models import assignment as model
from allocopt.models.assignment import AssignmentData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register

#: ``auto`` runs the exact method up to this many cost entries (n x m), the greedy beyond.
AUTO_EXACT_MAX_PAIRS = 50_000_000
#: The MILP (a Pyomo binary per allowed pair) is offered up to this many allowed pairs.
MILP_MAX_PAIRS = 200_000
#: ``greedy`` (bound "auto") bounds with the LP up to this many allowed pairs, with the Lagrangian beyond.
GREEDY_LP_MAX_PAIRS = 200_000
#: ``prices`` compares its biases with the LP's exact prices up to this many cost entries by default.
PRICES_COMPARE_MAX_PAIRS = AUTO_EXACT_MAX_PAIRS
#: Lists in messages are cut after this many indices.
_SHOWN = 10


# --------------------------------------------------------------------------------------------- helpers
def _offsets(d: AssignmentData) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(d.demand)]).astype(np.int64)


def _solution(d: AssignmentData, cols: np.ndarray) -> dict[str, Any]:
    """FORMAT.md's ``assign`` from a flat assignment (row i's columns at offsets[i]:offsets[i+1])."""
    off = _offsets(d)
    flat = [int(j) for j in cols]
    return {"assign": [sorted(flat[off[i] : off[i + 1]]) for i in range(d.n)]}


def _objective(d: AssignmentData, cols: np.ndarray) -> float:
    """The method's own (vectorised) objective; the checker recomputes it separately."""
    rows = np.repeat(np.arange(d.n), d.demand)
    return float(d.cost[rows, cols].sum())


def _integral_costs(d: AssignmentData) -> bool:
    allowed = d.cost[d.allowed]
    return bool(np.all(allowed == np.round(allowed)))


def _bound(d: AssignmentData, lower: float) -> float:
    """A lower bound on the minimisation-form optimum, in the instance's sense, tightened for integer costs:
    an integral optimum of at least 3.2 is at least 4."""
    if math.isfinite(lower) and _integral_costs(d):
        lower = float(math.ceil(lower - 1e-9 * max(1.0, abs(lower))))
    return -lower if d.maximize else lower


def _outcome(
    d: AssignmentData,
    cols: np.ndarray,
    bound: float | None,
    solver: str | None = None,
    details: dict[str, Any] | None = None,
    message: str | None = None,
) -> Outcome:
    """A solved Outcome with the method's bound in the instance's own sense."""
    return Outcome("solved", _solution(d, cols), _objective(d, cols), bound, solver, message, dict(details or {}))


def _indices(idx: np.ndarray) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:_SHOWN])
    return shown if len(idx) <= _SHOWN else f"{shown}, ... ({len(idx)} in all)"


def _no_assignment(d: AssignmentData, solver: str | None = None, fallback: str | None = None) -> Outcome:
    """``infeasible`` with the max-flow cut as its reason; ``fallback`` (no_solution) if there is no cut."""
    from allocopt.solvers.assignment_exact import hall_violation

    cut = hall_violation(d.allowed, d.demand, d.capacity)
    if cut is None:
        return Outcome("no_solution", solver=solver, message=fallback or "the method found no assignment")
    who = f"row {int(cut.rows[0])} needs" if len(cut.rows) == 1 else f"rows {_indices(cut.rows)} need"
    if len(cut.cols) == 0:
        reason = f"{who} {cut.need} assignments but no allowed column has room"
    else:
        where = f"column {int(cut.cols[0])}" if len(cut.cols) == 1 else f"columns {_indices(cut.cols)}"
        offer = (
            f"which offer{'s' if len(cut.cols) == 1 else ''} {cut.offer}"
            if cut.offer == cut.capacity
            else f"which can give them at most {cut.offer} (a row takes a column once)"
        )
        reason = f"{who} {cut.need} assignments but can only use {where}, {offer}"
    return Outcome("infeasible", solver=solver, message=reason)


def _early(d: AssignmentData) -> Outcome | None:
    """The answer without solving: infeasible by counting, or nothing to assign."""
    reason = model.infeasibility(d)
    if reason is not None:
        return Outcome("infeasible", message=reason)
    if d.total_demand == 0:
        return _outcome(d, np.zeros(0, dtype=np.int64), 0.0)
    return None


def _pairs(d: AssignmentData) -> int:
    return int(d.allowed.sum())


# --------------------------------------------------------------------------------------------- methods
def _run_exact(d: AssignmentData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers import assignment_exact as exact
    from allocopt.solvers.auction import auction

    early = _early(d)
    if early is not None:
        return early
    c = d.min_cost()
    if ctx.solver == "scipy" and not d.unit:
        raise UsageError("solver 'scipy' takes only instances whose demands and capacities are all 1; use 'highs'")
    if d.unit and ctx.solver != "highs":
        match, algorithm = exact.solve_unit(c)
        if match is None:
            return _no_assignment(d, "scipy")
        value = _objective(d, match)
        return _outcome(d, match, value, "scipy", {"algorithm": algorithm})
    # Prices from a quick auction pick the pairs the LP starts with; its assignment keeps that LP feasible.
    warm = auction(c, d.demand, d.capacity, max_bids=20 * (d.total_capacity + d.n) + 100_000)
    lp = exact.solve_lp(c, d.demand, d.capacity, warm.prices, warm.cols, time_limit=ctx.time_limit)
    details: dict[str, Any] = {"algorithm": "transportation LP (column generation)", "lp_rounds": lp.rounds}
    details["lp_pairs"] = lp.pairs
    details["warm_start"] = "auction" if warm.cols is not None else None
    if lp.status == "infeasible":
        return _no_assignment(d, "highs", "HiGHS found the LP infeasible")
    if lp.status == "time_limit":
        return Outcome("no_solution", solver="highs", message=lp.message, details=details)
    if lp.status != "optimal" or lp.cols is None or lp.bound is None or lp.prices is None:
        return Outcome("error", solver="highs", message=lp.message, details=details)
    details["column_prices"] = [float(p) for p in lp.prices]
    return _outcome(d, lp.cols, _bound(d, lp.bound), "highs", details)


def _run_milp(d: AssignmentData, ctx: SolveContext) -> Outcome:
    reason = model.infeasibility(d)
    if reason is not None:
        return Outcome("infeasible", message=reason)
    out = run_milp(d, ctx, model.build_model, model.decode)
    if out.status == "infeasible":
        return _no_assignment(d, out.solver, out.message)
    return out


def _run_auction(d: AssignmentData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.auction import auction
    from allocopt.solvers.balancing_prices import dual_value

    eps = ctx.options.get("eps_final")
    max_bids = ctx.options.get("max_bids")
    scaling = float(ctx.options.get("scaling", 5.0))
    if (eps is not None and float(eps) <= 0) or scaling <= 1 or (max_bids is not None and int(max_bids) < 1):
        raise UsageError("auction needs eps_final > 0, scaling > 1 and max_bids >= 1")
    early = _early(d)
    if early is not None:
        return early
    c = d.min_cost()
    run = auction(
        c,
        d.demand,
        d.capacity,
        eps_final=None if eps is None else float(eps),
        scaling=scaling,
        max_bids=None if max_bids is None else int(max_bids),
    )
    details: dict[str, Any] = {"epsilon": run.epsilon, "persons": run.persons, "phases": run.phases, "bids": run.bids}
    if run.cols is None or run.prices is None:
        return _no_assignment(d, None, f"the auction stopped after {run.bids} bids without an assignment")
    value = float(c[np.repeat(np.arange(d.n), d.demand), run.cols].sum())
    eps_bound = value - run.persons * run.epsilon
    lagrangian = dual_value(c, d.demand, d.capacity, run.prices)
    details["eps_bound"] = -eps_bound if d.maximize else eps_bound
    details["lagrangian_bound"] = -lagrangian if d.maximize else lagrangian
    details["bound_kind"] = "lagrangian" if lagrangian >= eps_bound else "epsilon"
    return _outcome(d, run.cols, _bound(d, max(lagrangian, eps_bound)), None, details)


def _run_greedy(d: AssignmentData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers import assignment_exact as exact
    from allocopt.solvers.assignment_greedy import greedy
    from allocopt.solvers.balancing_prices import dual_value, subgradient_bound

    kind = ctx.options.get("bound", "auto")
    if kind not in ("auto", "lp", "lagrangian", "row_minimum"):
        raise UsageError(f"greedy's bound is one of auto, lp, lagrangian, row_minimum; got {kind!r}")
    early = _early(d)
    if early is not None:
        return early
    if kind == "auto":
        kind = "lp" if _pairs(d) <= GREEDY_LP_MAX_PAIRS else "lagrangian"
    c = d.min_cost()
    cols = greedy(c, d.demand, d.capacity)
    if cols is None:
        return _no_assignment(d, None, "the greedy and its repair found no assignment")
    value = float(c[np.repeat(np.arange(d.n), d.demand), cols].sum())
    solver = None
    if kind == "lp":
        lp = exact.solve_lp(c, d.demand, d.capacity, include=cols, time_limit=ctx.time_limit)
        lower, solver = (lp.bound if lp.bound is not None else -math.inf), "highs"
    elif kind == "lagrangian":
        lower, _, _ = subgradient_bound(c, d.demand, d.capacity, value)
    else:
        lower = dual_value(c, d.demand, d.capacity, np.zeros(d.m))
    bound = _bound(d, lower) if math.isfinite(lower) else None
    return _outcome(d, cols, bound, solver, {"bound_kind": kind})


def _run_prices(d: AssignmentData, ctx: SolveContext) -> Outcome:
    """Auxiliary-loss-free balancing as dual ascent (see ``allocopt.solvers.balancing_prices``).

    The LP dual of the column rows are prices p_j >= 0; a row choosing its d_i cheapest columns at
    c_ij + p_j is the Lagrangian subproblem; the balancing bias is b_j = -p_j, and moving it by a fixed
    step in the sign of (capacity - load) is sign-supergradient ascent on the dual. At optimal prices the
    routing is balanced and optimal (complementary slackness) up to ties, which the repair resolves: it
    empties overloaded columns of the rows that lose least by moving and moves them to their next best
    column with room (augmenting paths if none has room). ``details`` compare b with the LP's prices.
    """
    from allocopt.solvers import assignment_exact as exact
    from allocopt.solvers.assignment_greedy import repair
    from allocopt.solvers.balancing_prices import balance, evict_overflow

    allowed = d.cost[d.allowed]
    spread = float(allowed.max() - allowed.min()) if allowed.size else 0.0
    iterations = int(ctx.options.get("iterations", 200))
    step = float(ctx.options.get("step", (spread or 1.0) / 1000))
    if iterations < 0 or not step > 0:
        raise UsageError(f"prices needs iterations >= 0 and step > 0, got {iterations} and {step}")
    early = _early(d)
    if early is not None:
        return early
    c = d.min_cost()
    run = balance(c, d.demand, d.capacity, iterations, step)
    biased = c - run.bias[None, :]
    cols, cnt = evict_overflow(biased, d.demand, d.capacity, run.cols)
    if not repair(biased, d.demand, d.capacity, cols, cnt):
        return _no_assignment(d, None, "the routing could not be repaired to a feasible assignment")
    rows = np.repeat(np.arange(d.n), d.demand)
    moved = len(np.setdiff1d(rows * d.m + cols, rows * d.m + run.cols))
    sign = -1.0 if d.maximize else 1.0
    details: dict[str, Any] = {
        "iterations": iterations,
        "step": step,
        "overflow_before_repair": run.overflow,
        "overloaded_columns": int(np.sum(run.load > d.capacity)),
        "moved_by_repair": int(moved),
        # in the instance's own terms: added to scores when maximizing, subtracted from costs when minimizing
        "bias": [float(b) for b in run.bias],
        "lagrangian_bound": sign * run.bound,
    }
    compare = ctx.options.get("compare_duals", d.n * d.m <= PRICES_COMPARE_MAX_PAIRS)
    if compare:
        lp = exact.solve_lp(c, d.demand, d.capacity, -run.bias, cols, time_limit=ctx.time_limit)
        if lp.status == "optimal" and lp.prices is not None and lp.objective is not None:
            details.update(_compare_with_duals(run.bias, lp.prices, spread))
            details["lp_optimum"] = sign * lp.objective
    return _outcome(d, cols, _bound(d, run.bound), None, details)


def _compare_with_duals(bias: np.ndarray, prices: np.ndarray, spread: float) -> dict[str, Any]:
    """How close the learned biases b are to the exact prices: b should be -p up to a common shift."""
    target = -prices
    diff = bias - target
    error = float(np.max(np.abs(diff - diff.mean()))) if len(diff) else 0.0
    varies = len(bias) > 1 and np.std(bias) > 0 and np.std(target) > 0
    return {
        "lp_prices": [float(p) for p in prices],
        "bias_correlation": float(np.corrcoef(bias, target)[0, 1]) if varies else None,
        "bias_max_abs_error": error,
        "bias_max_abs_error_relative": error / spread if spread > 0 else None,
    }


def _milp_fits(d: AssignmentData) -> str | None:
    pairs = _pairs(d)
    return None if pairs <= MILP_MAX_PAIRS else f"the MILP would have {pairs} binaries (limit {MILP_MAX_PAIRS})"


def choose(d: AssignmentData) -> str:
    return "exact" if d.n * d.m <= AUTO_EXACT_MAX_PAIRS else "greedy"


METHODS = {
    m.name: m
    for m in (
        Method(
            "exact",
            _run_exact,
            "linear_sum_assignment (all ones) or the transportation LP by HiGHS (integral), with column prices",
            True,
            ("scipy", "highs"),
        ),
        Method(
            "milp",
            _run_milp,
            "the Pyomo model through HiGHS (or any Pyomo solver), for cross-checking and extending",
            True,
            ("*pyomo",),
            MILP_OPTIONS,
            _milp_fits,
        ),
        Method(
            "auction",
            _run_auction,
            "Bertsekas' auction with epsilon scaling; bound: Lagrangian at its prices, or objective -/+ U eps",
            False,
            (),
            {
                "eps_final": "last epsilon (default 1/(U+1) for integer costs, which is exact; else 1e-7 of the "
                "cost range)",
                "scaling": "epsilon is divided by this each phase (default 5)",
                "max_bids": "give up after this many bids (default grows with the instance)",
            },
        ),
        Method(
            "greedy",
            _run_greedy,
            "capacity-aware greedy on sorted costs with augmenting-path repair; LP or Lagrangian bound",
            False,
            ("highs",),
            {"bound": "'lp', 'lagrangian', 'row_minimum' or 'auto' (LP up to 200,000 allowed pairs)"},
        ),
        Method(
            "prices",
            _run_prices,
            "aux-loss-free balancing: sign-supergradient steps on column biases (the dual), then repair",
            False,
            ("highs",),
            {
                "iterations": "bias updates (default 200)",
                "step": "bias step gamma (default 1/1000 of the cost range; biases move at most iterations x step)",
                "compare_duals": "solve the LP and compare the biases with its prices (default: up to 5e7 entries)",
            },
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="assignment",
        sense="min",
        instance_sense=lambda d: "max" if d.maximize else "min",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        methods=METHODS,
        choose=choose,
        describe=AssignmentData.kind,
    )
)
