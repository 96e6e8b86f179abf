"""Methods for the ``combinatorial_auction`` problem and the rule ``auto`` follows.

- ``milp``: exact winner determination (weighted set packing with supply rows and XOR rows), at zero gap. With
  solver ``highs`` or ``cpsat`` (default: chosen per instance by ``default_solver``) it runs the library's array
  formulation (``allocopt.solvers.wdp_exact``: non-positive and dominated bids dropped first; HiGHS in-process,
  or CP-SAT on exactly scaled integers); with a user's ``model`` (from ``build_model``, or ``build_cp_model``
  for cpsat) or another Pyomo solver it solves that model through the library's runners. Payments:
  ``pay_as_bid``, or ``vcg`` (Clarke pivot, one exact re-solve per winning bidder, each started from the chosen
  allocation less that bidder's bids; ``workers`` runs them in parallel processes).
- ``greedy``: Lehmann-O'Callaghan-Shoham (rank by value / sqrt(bundle size), accept what fits), with the LP
  relaxation as the bound. Payments: ``pay_as_bid``, or ``critical`` (the LOS critical values, truthful for
  single-minded bidders; refused when a bidder has several bids).

``auto``: ``milp`` up to ``AUTO_MILP_MAX_BIDS`` bids, ``greedy`` beyond. CATS' 100-goods / 500-bids instances
take HiGHS 0.1 s (2atom) to 45 s (arbitrary) on 2 cores; give larger ones a time limit.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from allocopt.errors import UsageError
from allocopt.methods.common import MILP_OPTIONS, option_count, payment_rule, run_milp
from allocopt.models import combinatorial_auction as model
from allocopt.models.combinatorial_auction import AuctionData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register
from allocopt.result import proves_optimal

#: ``auto`` solves instances exactly up to this many bids.
AUTO_MILP_MAX_BIDS = 500
#: Solvers the array formulation (and VCG's re-solves) run on.
ENGINE_SOLVERS = ("highs", "cpsat")
#: With no solver named, ``milp`` runs CP-SAT on auctions whose bundles hold at least this many goods on average.
CPSAT_MIN_MEAN_BUNDLE = 4.0


def default_solver(d: AuctionData) -> tuple[str, str]:
    """The engine ``milp`` uses when none is named, and why (measured on CATS, benchmarks/auctions_cats.py).

    CP-SAT proved the WDP of CATS' arbitrary distribution (bundles of 5-15 goods, XOR bidders) 2-6 times faster
    than HiGHS, and its VCG auctions 2-5 times faster; HiGHS was as fast or faster on 2- and 3-good bundles
    (L3 "2atom"/"3atom": 2.7 times faster on 3atom with 500 bids).
    """
    sizes = d.bundle_sizes()
    mean = float(sizes.mean()) if sizes.size else 0.0
    if mean < CPSAT_MIN_MEAN_BUNDLE:
        return "highs", f"highs: mean bundle size {mean:.2f} < {CPSAT_MIN_MEAN_BUNDLE:g}"
    try:
        model.scaled_values(d)
    except UsageError:
        return "highs", f"highs: mean bundle size {mean:.2f}, but the prices do not scale to CP-SAT's integers"
    return "cpsat", f"cpsat: mean bundle size {mean:.2f} >= {CPSAT_MIN_MEAN_BUNDLE:g}"


def arrays(d: AuctionData, integer: bool = False) -> Any:
    """The engines' view of ``d`` (``integer``: with the exactly scaled integer values CP-SAT needs)."""
    from allocopt.solvers.wdp_exact import WdpArrays

    int_value, int_scale = None, 1
    if integer:
        values, int_scale = model.scaled_values(d)
        int_value = np.asarray(values, dtype=np.int64)
    return WdpArrays(
        bundle_start=d.bundle_start,
        goods_of=d.goods_of,
        supply=d.supply,
        value=d.value(),
        price=d.price,
        bidder=d.bidder,
        n_bidders=d.n_bidders,
        xor=d.xor,
        int_value=int_value,
        int_scale=int_scale,
    )


def _pay_as_bid(d: AuctionData, win: list[int]) -> dict[str, float]:
    pay = {name: 0.0 for name in d.names}
    for j, w in enumerate(win):
        if w:
            pay[d.names[int(d.bidder[j])]] += float(d.price[j])
    return pay


def _run_milp(d: AuctionData, ctx: SolveContext) -> Outcome:
    rule = payment_rule(ctx, "milp", ("pay_as_bid", "vcg"), "critical values are the greedy's payments (method greedy)")
    user_model = ctx.options.get("model")
    choice = None
    if ctx.solver is not None:
        solver = ctx.solver
    elif user_model is not None:
        from ortools.sat.python import cp_model

        solver = "cpsat" if isinstance(user_model, cp_model.CpModel) else "highs"
    else:
        solver, choice = default_solver(d)
    mip_gap = ctx.options.get("mip_gap", 0.0)
    if isinstance(mip_gap, bool) or not isinstance(mip_gap, int | float) or not 0 <= mip_gap < 1:
        raise UsageError(f"option 'mip_gap' must be a number in [0, 1), got {mip_gap!r}")
    workers = option_count(ctx, "workers", 1)
    threads = option_count(ctx, "threads", None)
    if rule == "vcg":
        if mip_gap > 0:
            raise UsageError("payments=vcg needs exact solves: leave mip_gap at 0")
        if user_model is not None:
            raise UsageError("payments=vcg re-solves the library's own formulation: it cannot take a user's model")
        if solver not in ENGINE_SOLVERS:
            raise UsageError(f"payments=vcg runs its re-solves on {' or '.join(ENGINE_SOLVERS)}, not {solver!r}")
    began = time.perf_counter()
    if user_model is not None or solver not in ENGINE_SOLVERS:
        out = _run_model(d, ctx, solver, user_model, threads)
        if rule == "pay_as_bid" and out.solution is not None:
            out.solution["payments"] = _pay_as_bid(d, out.solution["win"])
        return out
    from allocopt.solvers.wdp_exact import solve_wdp

    a = arrays(d, integer=solver == "cpsat")
    run = solve_wdp(
        a, solver, ctx.time_limit, threads=threads, mip_gap=mip_gap, solver_options=ctx.options.get("solver_options")
    )
    details: dict[str, Any] = {"termination": run.termination, "bids_dropped_by_presolve": run.reduced_bids}
    if choice:
        details["solver_choice"] = choice
    if run.win is None:
        return Outcome(run.status, None, None, run.bound, solver, run.message, details)
    win = [int(w) for w in run.win]
    solution: dict[str, Any] = {"win": win}
    bound, message = run.bound, run.message
    if rule == "pay_as_bid":
        solution["payments"] = _pay_as_bid(d, win)
    elif rule == "vcg":
        if not proves_optimal(run.objective, run.bound):
            message = "VCG payments not computed: the allocation was not proven optimal" + (
                " within the time limit" if ctx.time_limit else ""
            )
            details["payments"] = "not computed"
        else:
            left = None if ctx.time_limit is None else max(0.0, ctx.time_limit - (time.perf_counter() - began))
            bound, message = _vcg(d, a, run.win, solver, left, workers, threads, solution, details, bound)
    return Outcome("solved", solution, run.objective, bound, solver, message, details)


def _vcg(
    d: AuctionData,
    a: Any,
    win: np.ndarray,
    solver: str,
    time_limit: float | None,
    workers: int,
    threads: int | None,
    solution: dict[str, Any],
    details: dict[str, Any],
    bound: float | None,
) -> tuple[float | None, str | None]:
    """Fill ``solution['payments']`` and the VCG details; return the bound to report and a message."""
    from allocopt.solvers.vcg import vcg_payments

    if time_limit is not None and time_limit <= 0:
        time_limit = 1e-9  # no time left: every re-solve reports "not run"
    vcg = vcg_payments(a, win, solver, time_limit, workers=workers, threads=threads)
    solution["payments"] = {name: float(vcg.payments[i]) for i, name in enumerate(d.names)}
    details["vcg_resolves"] = len(vcg.resolves)
    details["vcg_time_s"] = round(vcg.wall_time, 6)
    details["vcg_resolve_times_s"] = {d.names[r.bidder]: round(r.runtime, 6) for r in vcg.resolves}
    unproven = [d.names[i] for i in np.flatnonzero(~vcg.proven)]
    if not unproven:
        return bound, None
    details["vcg_unproven"] = unproven
    details["vcg_intervals"] = {
        d.names[i]: [float(vcg.lower[i]), float(vcg.upper[i])] for i in np.flatnonzero(~vcg.proven)
    }
    details["wdp_bound"] = bound
    # The allocation is optimal, but the payments are not proven: the result must not read "optimal".
    return None, (
        f"VCG payments of {len(unproven)} winner(s) are not proven (a re-solve stopped at the time limit): each is "
        "reported at the low end of its interval (details['vcg_intervals']); the allocation's bound is "
        "details['wdp_bound']"
    )


def _run_model(d: AuctionData, ctx: SolveContext, solver: str, user_model: Any, threads: int | None) -> Outcome:
    """A user's model, or a Pyomo solver other than the engines: the formulations of the model module."""
    if solver == "cpsat":
        from ortools.sat.python import cp_model

        from allocopt.solvers.cpsat import solve_cp

        cp = user_model
        if not isinstance(cp, cp_model.CpModel) or not hasattr(cp, "win") or not hasattr(cp, "objective_scale"):
            raise UsageError("with solver cpsat, option model must come from build_cp_model(instance)")
        run = solve_cp(
            cp, ctx.time_limit, threads or 2, None, float(cp.objective_scale), ctx.options.get("solver_options")
        )
        solution = model.decode_cp(run.solver_object, cp, d) if run.status == "solved" else None
        return Outcome(
            run.status, solution, run.objective, run.bound, "cpsat", run.message, {"termination": run.termination}
        )
    return run_milp(d, ctx, model.build_model, model.decode)


def _run_greedy(d: AuctionData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.los_greedy import critical_values, los_greedy
    from allocopt.solvers.wdp_exact import lp_bound

    rule = payment_rule(ctx, "greedy", ("pay_as_bid", "critical"), "VCG needs exact solves (method milp)")
    if rule == "critical" and not d.single_minded():
        counts = d.bids_per_bidder()
        i = int(np.argmax(counts))
        raise UsageError(
            f"payments=critical needs single-minded bidders (one bid each); bidder {d.names[i]!r} has {counts[i]} "
            "bids: use payments=vcg with method milp, or pay_as_bid"
        )
    value = d.value()
    run = los_greedy(d.bundle_start, d.goods_of, d.supply, value, d.bidder, d.n_bidders, d.xor)
    bound, lp_status = lp_bound(arrays(d), ctx.time_limit)
    win = [int(w) for w in run.win]
    solution: dict[str, Any] = {"win": win}
    if rule == "pay_as_bid":
        solution["payments"] = _pay_as_bid(d, win)
    elif rule == "critical":
        per_bid = critical_values(
            d.bundle_start, d.goods_of, d.supply, value, d.bundle_reserve(), d.bidder, d.n_bidders, d.xor, run
        )
        pay = {name: 0.0 for name in d.names}
        for j in np.flatnonzero(run.win):
            pay[d.names[int(d.bidder[j])]] = float(min(per_bid[j], d.price[j]))
        solution["payments"] = pay
    details = {"bound_kind": lp_status}
    return Outcome("solved", solution, run.value, bound, "highs", None, details)


def choose(d: AuctionData) -> str:
    return "milp" if d.n_bids <= AUTO_MILP_MAX_BIDS else "greedy"


PAYMENTS_OPTION = "payment rule: none (default), pay_as_bid, "

METHODS = {
    m.name: m
    for m in (
        Method(
            "milp",
            _run_milp,
            "winner determination at zero gap on the presolved set packing: CP-SAT for large bundles, HiGHS for "
            "small ones (or --solver), or any Pyomo solver on build_model; VCG by one warm-started exact re-solve "
            "per winner",
            True,
            ("*pyomo", "cpsat"),
            {
                **MILP_OPTIONS,
                "payments": PAYMENTS_OPTION + "vcg (Clarke pivot; needs solver highs or cpsat)",
                "workers": "VCG re-solves run at once in this many worker processes (default 1: one after "
                "another; starting the workers takes seconds, so it pays when the re-solves take longer)",
                "threads": "CP-SAT workers per solve (default 2); HiGHS ignores it",
            },
        ),
        Method(
            "greedy",
            _run_greedy,
            "Lehmann-O'Callaghan-Shoham greedy (value / sqrt(bundle size)), LP-relaxation bound; critical payments",
            False,
            ("highs",),
            {"payments": PAYMENTS_OPTION + "critical (LOS critical values; single-minded bidders only)"},
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="combinatorial_auction",
        sense="max",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        methods=METHODS,
        choose=choose,
        describe=AuctionData.kind,
    )
)
