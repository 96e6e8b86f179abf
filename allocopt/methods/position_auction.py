"""Methods for the ``position_auction`` problem and the rule ``auto`` follows.

- ``rank``: separable model only: sort by quality x value, fill the top min(K, max_ads) slots; exact. Payments
  ``gsp`` and ``vcg`` in closed form; with either, the EOS / Varian lowest envy-free GSP equilibrium bids and
  their revenue (equal to VCG's) go in ``details``.
- ``exact``: max-weight matching of bidders to positions with the ``max_ads`` cap (scipy's
  ``linear_sum_assignment`` on the per-position top candidates); exact for both models. ``payments=vcg`` by
  re-solving once per shown bidder.
- ``greedy``: the naive AIGC rule (rank by value x best click rate, best free position), with the matching LP's
  value (HiGHS) as its bound; ``payments=critical`` gives its truthful (Myerson) prices.
- ``milp``: the Pyomo model of ``build_model`` through HiGHS (or any Pyomo solver), for extending.

Every method also takes ``payments=pay_as_bid`` (each shown ad pays its value for its clicks).
``auto``: ``rank`` on separable instances, ``exact`` otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from allocopt.methods.common import MILP_OPTIONS, payment_rule, run_milp
from allocopt.models import position_auction as model
from allocopt.models.position_auction import PositionData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register


def _payments_option(rules: tuple[str, ...]) -> str:
    return f"payment rule: none (default), {', '.join(rules)} (see allocopt.methods.common.PAYMENT_RULES)"


def _separable_only(d: PositionData) -> str | None:
    return None if d.separable else "it needs the separable model (ctr); this instance has a ctr_matrix"


def _why_not_gsp(d: PositionData) -> str:
    if not d.separable:
        return "GSP prices come from one ranking by quality x value, which only the separable model (ctr) has"
    return "GSP is the rank auction's rule: use method rank"


def _finish(
    d: PositionData,
    slot: np.ndarray,
    rule: str,
    pay: np.ndarray | None,
    bound: float | None,
    solver: str | None,
    details: dict[str, Any],
    exact: bool = False,
) -> Outcome:
    """Solution, objective and the payment details common to every method.

    ``bound``: the method's upper bound (None for none); an ``exact`` method's optimum is its own bound.
    """
    weights = d.values[:, None] * d.clicks()
    shown = np.flatnonzero(slot >= 0)
    objective = float(weights[shown, slot[shown]].sum())
    solution: dict[str, Any] = {"slot": [int(k) for k in slot]}
    details = {"shown": len(shown), **details}
    if rule != "none":
        if rule == "pay_as_bid":
            pay = np.zeros(d.n)
            pay[shown] = weights[shown, slot[shown]]
        names = d.bidder_names()
        solution["payments"] = {name: float(p) for name, p in zip(names, pay, strict=True)}
        details["revenue"] = float(pay.sum())
        clicks = d.clicks()[shown, slot[shown]]
        details["price_per_click"] = {names[i]: float(pay[i] / c) for i, c in zip(shown, clicks, strict=True) if c > 0}
    return Outcome("solved", solution, objective, objective if exact else bound, solver, details=details)


def _run_rank(d: PositionData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers import position_rank as pr

    rule = payment_rule(ctx, "rank", ("pay_as_bid", "gsp", "vcg"))
    quality = d.qualities()
    scores = quality * d.values
    ranking = pr.rank(scores, d.eligible(), d.cap)
    details: dict[str, Any] = {}
    pay = None
    if rule in ("gsp", "vcg"):
        reserve = d.reserve_price
        vcg_pay = pr.vcg(scores, quality, d.ctr, d.cap, reserve, ranking)
        pay = vcg_pay if rule == "vcg" else pr.gsp(scores, quality, d.ctr, reserve, ranking)
        bids = pr.eos_bids(d.values, quality, d.ctr, vcg_pay, ranking)
        names = d.bidder_names()
        listed = ranking.order[: ranking.shown + 1]
        details["vcg_revenue"] = float(vcg_pay.sum())
        if pr.eos_consistent(bids, d.values, quality, d.ctr, reserve, ranking):
            details["eos_bids"] = {names[i]: float(bids[i]) for i in listed}
            details["eos_revenue"] = pr.gsp_revenue_at(bids, quality, d.ctr, reserve, ranking)
        else:
            details["eos_bids"] = None
            details["eos_note"] = (
                "no EOS equilibrium at VCG prices here: with qualities and a reserve together, the bids that would "
                "charge each ad its VCG price break the ranking, fall below the reserve or leave an ad envying "
                "another slot"
            )
        if rule == "gsp":
            details["gsp_revenue"] = float(pay.sum())
    return _finish(d, ranking.slot, rule, pay, None, None, details, exact=True)


def _run_exact(d: PositionData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.position_matching import solve_positions, vcg_by_resolving

    rule = payment_rule(
        ctx, "exact", ("pay_as_bid", "vcg"), _why_not_gsp(d) if ctx.options.get("payments") == "gsp" else ""
    )
    clicks = d.clicks()
    weights = d.values[:, None] * clicks
    depth = d.slots + 1 if rule == "vcg" else d.slots
    slot, welfare, cand = solve_positions(weights, d.eligible(), d.cap, depth)
    details: dict[str, Any] = {"candidates": len(cand)}
    pay = None
    if rule == "vcg":
        at_reserve = d.reserve_price * clicks if d.reserve_price > 0 else None
        pay, resolves = vcg_by_resolving(weights, slot, welfare, cand, d.cap, at_reserve)
        details["resolves"] = resolves
    return _finish(d, slot, rule, pay, None, None, details, exact=True)


def _run_greedy(d: PositionData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.position_greedy import greedy_critical, greedy_positions
    from allocopt.solvers.position_matching import lp_value

    why = "VCG needs the welfare-maximizing allocation (and re-solves): use method exact or rank"
    rule = payment_rule(ctx, "greedy", ("pay_as_bid", "critical"), why if ctx.options.get("payments") == "vcg" else "")
    clicks = d.clicks()
    eligible = d.eligible()
    slot = greedy_positions(d.values, clicks, eligible, d.cap)
    pay = greedy_critical(d.values, clicks, eligible, d.cap, slot, d.reserve_price) if rule == "critical" else None
    bound = lp_value(d.values[:, None] * clicks, eligible, d.cap)
    out = _finish(d, slot, rule, pay, bound, "highs", {"bound_kind": "lp"})
    if bound is None:
        return Outcome(
            out.status, out.solution, out.objective, None, out.solver, "HiGHS did not solve the LP bound", out.details
        )
    return out


def _run_milp(d: PositionData, ctx: SolveContext) -> Outcome:
    rule = payment_rule(ctx, "milp", ("pay_as_bid",), "payments other than pay_as_bid come from methods rank and exact")
    out = run_milp(d, ctx, model.build_model, model.decode)
    if out.solution is None:
        return out
    slot = np.asarray(out.solution["slot"], dtype=np.int64)
    done = _finish(d, slot, rule, None, out.bound, out.solver, dict(out.details))
    return Outcome(done.status, done.solution, out.objective, out.bound, out.solver, out.message, done.details)


def choose(d: PositionData) -> str:
    return "rank" if d.separable else "exact"


METHODS = {
    m.name: m
    for m in (
        Method(
            "rank",
            _run_rank,
            "separable model: sort by quality x value into the top slots; GSP and VCG in closed form, EOS bids",
            True,
            (),
            {"payments": _payments_option(("pay_as_bid", "gsp", "vcg"))},
            applies=_separable_only,
        ),
        Method(
            "exact",
            _run_exact,
            "max-weight matching with the max_ads cap (pruned linear_sum_assignment); VCG by re-solving",
            True,
            (),
            {"payments": _payments_option(("pay_as_bid", "vcg"))},
        ),
        Method(
            "greedy",
            _run_greedy,
            "naive AIGC rule: rank by value x best ctr, best free position; matching LP bound (HiGHS)",
            False,
            ("highs",),
            {"payments": _payments_option(("pay_as_bid", "critical"))},
        ),
        Method(
            "milp",
            _run_milp,
            "the Pyomo matching model through HiGHS (or any Pyomo solver), for cross-checking and extending",
            True,
            ("*pyomo",),
            {**MILP_OPTIONS, "payments": _payments_option(("pay_as_bid",))},
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="position_auction",
        sense="max",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        methods=METHODS,
        choose=choose,
        describe=PositionData.kind,
    )
)
