"""Methods for the ``assignment`` problem and the rule ``auto`` follows.

- ``exact``: scipy's linear-assignment solvers when every demand and capacity is 1; otherwise the
  transportation LP solved directly by HiGHS (integral by total unimodularity), started from an auction's
  prices and certified by the Lagrangian bound at the LP duals, which it reports as column prices. For
  expert choice it first tries per-column top-k, which is optimal whenever it meets every ``row_capacity``.
- ``topk``: each row's ``demand[i]`` cheapest columns (token choice) or each column's ``column_demand[j]``
  cheapest rows (expert choice) by numpy ``argpartition``; offered only when the capacities on the other side
  cannot bind, where it is exact (the problem separates).
- ``milp``: the Pyomo model of ``allocopt.models.assignment`` through the MILP runner (cross-checking, and
  the model to extend with your own constraints).
- ``auction``: Bertsekas' auction with epsilon scaling (similar objects, multi-unit bidders, dummies for
  spare capacity); exact for integer costs, within its reported bound otherwise.
- ``greedy``: capacity-aware greedy over all pairs sorted by cost, augmenting-path repair; LP bound on small
  instances, Lagrangian bound (supergradient ascent from the row-minimum bound) on large ones.
- ``prices``: auxiliary-loss-free load balancing (DeepSeek-V3) seen as sign-supergradient ascent on the
  dual of the capacity rows; repaired to a feasible routing, compared with the LP's exact prices.

Expert choice (``column_demand``, optional ``row_capacity``) is the same problem on the transposed costs
(``AssignmentData.transposed_view``): every method except ``milp`` (whose model is written for it directly)
runs on that view and its answer is transposed back; prices and biases then belong to the rows, and the
details say so (``row_prices``, ``row_bias``, ...).

Every method first applies the model's counting checks and, when it finds no assignment, a max-flow cut
that names the rows competing for too few columns, so ``infeasible`` always comes with its reason.

``auto``: ``topk`` when it applies (nothing on the other side can bind: always for expert choice without
``row_capacity``), else ``exact`` up to ``AUTO_EXACT_MAX_PAIRS`` cost entries, ``greedy`` beyond.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import replace
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

    if d.column_demand is not None:
        d = d.transposed_view()  # the columns are the ones to serve; the view's words say so
    served, server = d.words
    cut = hall_violation(d.allowed, d.demand, d.capacity)
    if cut is None:
        return Outcome("no_solution", solver=solver, message=fallback or "the method found no assignment")
    who = f"{served} {int(cut.rows[0])} needs" if len(cut.rows) == 1 else f"{served}s {_indices(cut.rows)} need"
    if len(cut.cols) == 0:
        reason = f"{who} {cut.need} assignments but no allowed {server} has room"
    else:
        where = f"{server} {int(cut.cols[0])}" if len(cut.cols) == 1 else f"{server}s {_indices(cut.cols)}"
        offer = (
            f"which offer{'s' if len(cut.cols) == 1 else ''} {cut.offer}"
            if cut.offer == cut.capacity
            else f"which can give them at most {cut.offer} (a {served} takes a {server} once)"
        )
        reason = f"{who} {cut.need} assignments but can only use {where}, {offer}"
    return Outcome("infeasible", solver=solver, message=reason)


def _early(d: AssignmentData) -> Outcome | None:
    """The answer without solving: infeasible by counting, or nothing to assign."""
    reason = model.infeasibility(d)
    if reason is not None:
        return Outcome("infeasible", message=reason)
    need = d.total_demand if d.column_demand is None else int(d.column_demand.sum())
    if need == 0:
        return Outcome("solved", {"assign": [[] for _ in range(d.n)]}, 0.0, 0.0)
    return None


# ------------------------------------------------------------------------------------------- expert choice
#: Details of a method run on the transposed view that name its columns, which are the instance's rows.
_ROW_DETAILS = {
    "column_prices": "row_prices",
    "lp_prices": "lp_row_prices",
    "bias": "row_bias",
    "overloaded_columns": "overloaded_rows",
}


def _transpose_assign(assign: list[list[int]], n: int) -> list[list[int]]:
    """Per-column lists of rows (the view's ``assign``) -> FORMAT.md's per-row lists of columns, ascending."""
    sizes = np.array([len(rows) for rows in assign], dtype=np.int64)
    owner = np.repeat(np.arange(len(assign), dtype=np.int64), sizes)
    rows = np.fromiter((i for r in assign for i in r), dtype=np.int64, count=int(sizes.sum()))
    order = np.lexsort((owner, rows))  # by row, then column
    flat = owner[order].tolist()
    ends = np.cumsum(np.bincount(rows, minlength=n)).tolist()
    starts = [0, *ends[:-1]] if n else []
    return [flat[a:b] for a, b in zip(starts, ends, strict=True)]


def _back(d: AssignmentData, out: Outcome) -> Outcome:
    """An Outcome on ``d.transposed_view()`` in the terms of the expert-choice instance ``d``.

    Objective and bound are unchanged (the same pairs, the same costs); the assignment is transposed, and the
    details that name the view's columns are renamed after the instance's rows.
    """
    solution = out.solution
    if solution is not None:
        solution = {"assign": _transpose_assign(solution["assign"], d.n)}
    details = {_ROW_DETAILS.get(k, k): v for k, v in out.details.items()}
    return replace(out, solution=solution, details=details)


Run = Callable[[AssignmentData, SolveContext], Outcome]


def _on_view(run: Run) -> Run:
    """A token-choice method made to take expert choice too: run on the transposed view, answer transposed back."""

    @functools.wraps(run)
    def wrapped(d: AssignmentData, ctx: SolveContext) -> Outcome:
        if d.column_demand is None:
            return run(d, ctx)
        return _back(d, run(d.transposed_view(), ctx))

    return wrapped


def _top_k_fits(d: AssignmentData) -> str | None:
    """None when no capacity on the non-choosing side can bind (then ``topk`` is exact), else why not.

    A capacity can bind when it is positive (0 only closes a column, which top-k skips) and below the number
    of choosers that may pick it; this is a property of the data, checked without solving.
    """
    if d.column_demand is not None:
        if d.row_capacity is None:
            return None
        allowed, choosers, room = d.allowed, d.column_demand > 0, d.row_capacity  # rows are chosen, by columns
        words = ("row", "row_capacity", "columns", "per-column")
    else:
        allowed, choosers, room = d.allowed.T, d.demand > 0, d.capacity  # columns are chosen, by rows
        words = ("column", "capacity", "rows", "per-row")
    count = int(np.count_nonzero(choosers))
    tight = np.flatnonzero((room > 0) & (room < count))
    if len(tight) == 0:
        return None
    # the first candidate usually settles it; all of them only when it does not bind
    for batch in (tight[:1], tight):
        reach = (allowed[batch] & choosers[None, :]).sum(axis=1)
        binding = np.flatnonzero(room[batch] < reach)
        if len(binding):
            t, r = int(batch[binding[0]]), int(reach[binding[0]])
            what, field, others, scope = words
            return (
                f"{field} can bind ({what} {t}: {int(room[t])} < the {r} {others} that may pick it) and {scope} "
                "top-k ignores it; exact solves it (the transportation LP is exact)"
            )
    return None


def _top_k(d: AssignmentData, view: AssignmentData, proof: str) -> Outcome | None:
    """Per-row top-k on ``view`` (standard orientation) if it meets every capacity, else None.

    The selection is the optimum of the relaxation without capacities, so meeting them proves it optimal: the
    bound is its own value.
    """
    from allocopt.solvers.expert_choice import top_k

    pick = top_k(view.min_cost(), view.demand, view.capacity)
    if pick is None or not pick.fits(view.capacity):
        return None
    scope = "per-column" if view.transposed else "per-row"
    details = {"algorithm": f"{scope} top-k (numpy argpartition)", "optimality": proof}
    out = _outcome(view, pick.cols, _bound(view, pick.value), None, details)
    return _back(d, out) if view is not d else out


def _run_topk(d: AssignmentData, ctx: SolveContext) -> Outcome:
    view = d if d.column_demand is None else d.transposed_view()
    early = _early(view)
    if early is not None:
        return early if view is d else _back(d, early)
    if d.column_demand is not None:
        proof = (
            "exact: no row_capacity can bind, so the problem separates by column and each column's "
            "column_demand cheapest allowed rows (per-expert top-k) is optimal"
        )
    else:
        proof = (
            "exact: no capacity can bind, so the problem separates by row and each row's demand cheapest "
            "allowed columns (per-token top-k) is optimal"
        )
    out = _top_k(d, view, proof)
    if out is None:  # cannot happen when _top_k_fits(d) held; say so rather than guess
        return Outcome("error", message="top-k exceeded a capacity that cannot bind (please report this)")
    return out


def _pairs(d: AssignmentData) -> int:
    return int(d.allowed.sum())


# --------------------------------------------------------------------------------------------- methods
def _run_exact(d: AssignmentData, ctx: SolveContext) -> Outcome:
    """Token choice: ``_exact``. Expert choice: per-column top-k when it meets every row_capacity (always when
    none can bind; proven optimal, see ``allocopt.solvers.expert_choice``), else ``_exact`` on the transposed
    view. Naming a solver skips the top-k attempt (``highs``: always the LP)."""
    if d.column_demand is None:
        return _exact(d, ctx)
    view = d.transposed_view()
    if ctx.solver is None:
        early = _early(view)
        if early is not None:
            return _back(d, early)
        proof = (
            "exact: per-column top-k met every row_capacity; it is optimal without row capacities, "
            "so it is optimal with them"
        )
        fast = _top_k(d, view, proof)
        if fast is not None:
            return fast
    return _back(d, _exact(view, ctx))


def _exact(d: AssignmentData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers import assignment_exact as exact
    from allocopt.solvers.auction import auction

    early = _early(d)
    if early is not None:
        return early
    c = d.min_cost()
    if ctx.solver == "scipy" and not d.unit:
        what = "column demands and row capacities" if d.transposed else "demands and capacities"
        raise UsageError(f"solver 'scipy' takes only instances whose {what} are all 1; use 'highs'")
    if d.unit and ctx.solver != "highs":
        match, algorithm = exact.solve_unit(c)
        if match is None:
            return _no_assignment(d, "scipy")
        value = _objective(d, match)
        return _outcome(d, match, value, "scipy", {"algorithm": algorithm})
    # Prices from a quick auction pick the pairs the LP starts with; its assignment keeps that LP feasible. On
    # the transposed view of expert choice (a few columns, each wanting many rows) the auction crawls (measured:
    # 4096 x 64 with row_capacity 4 runs into its bid limit after 5 s), so the greedy's assignment keeps that LP
    # feasible instead and the first candidates are each row's cheapest columns (0.3 s in all).
    if not d.transposed:
        warm = auction(c, d.demand, d.capacity, max_bids=20 * (d.total_capacity + d.n) + 100_000)
        prices, include, started = warm.prices, warm.cols, "auction" if warm.cols is not None else None
    else:
        from allocopt.solvers.assignment_greedy import greedy

        prices, include = None, greedy(c, d.demand, d.capacity)
        started = "greedy" if include is not None else None
    lp = exact.solve_lp(c, d.demand, d.capacity, prices, include, time_limit=ctx.time_limit)
    details: dict[str, Any] = {"algorithm": "transportation LP (column generation)", "lp_rounds": lp.rounds}
    details["lp_pairs"] = lp.pairs
    details["warm_start"] = started
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


@_on_view
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
    if run.status == "cost_range":
        return Outcome("error", message="the cost range is too wide for the auction's prices in float64; use exact")
    if run.cols is None or run.prices is None:
        return _no_assignment(d, None, f"the auction stopped after {run.bids} bids without an assignment")
    value = float(c[np.repeat(np.arange(d.n), d.demand), run.cols].sum())
    eps_bound = value - run.persons * run.epsilon
    lagrangian = dual_value(c, d.demand, d.capacity, run.prices)
    details["eps_bound"] = -eps_bound if d.maximize else eps_bound
    details["lagrangian_bound"] = -lagrangian if d.maximize else lagrangian
    details["bound_kind"] = "lagrangian" if lagrangian >= eps_bound else "epsilon"
    return _outcome(d, run.cols, _bound(d, max(lagrangian, eps_bound)), None, details)


@_on_view
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


@_on_view
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
    if _top_k_fits(d) is None:
        return "topk"
    return "exact" if d.n * d.m <= AUTO_EXACT_MAX_PAIRS else "greedy"


METHODS = {
    m.name: m
    for m in (
        Method(
            "exact",
            _run_exact,
            "linear_sum_assignment (all ones) or the transportation LP by HiGHS (integral), with column prices; "
            "expert choice: per-expert top-k first, optimal when it meets every row_capacity",
            True,
            ("scipy", "highs"),
        ),
        Method(
            "topk",
            _run_topk,
            "per-expert (column_demand) or per-token (demand) top-k by argpartition; offered only where the "
            "other side's capacities cannot bind, and exact there",
            True,
            (),
            {},
            _top_k_fits,
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
