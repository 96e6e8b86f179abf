"""Methods for the ``budget_pacing`` problem and the rule ``auto`` follows.

- ``milp``: the hindsight optimum, the Pyomo formulation of ``allocopt.models.budget_pacing`` (a generalized
  assignment in which an auction may stay unassigned) through HiGHS or any Pyomo solver; exact. Its hindsight LP
  bound (and the time it took) is in ``details``.
- ``pacing``: Balseiro and Gur's adaptive pacing, online (auctions in file order), one multiplier per client; the
  hindsight bound is its ``bound``, and the competitive ratio bound / utility is in ``details``.
- ``greedy``: offline, the better of a value-per-price greedy and a greedy on the Lagrangian's reduced profits,
  with the hindsight LP bound (exact LP up to ``LP_EXACT_MAX_PAIRS`` allowed pairs, the Lagrangian dual beyond).

Every method reports each client's cumulative spend after the first k auctions at 20 checkpoints
(``details["checkpoints"]`` and ``details["cumulative_spend"]``, one list of n per checkpoint), so that pacing's
spend can be plotted against the hindsight optimum's; ``allocopt.solvers.pacing_online.cumulative_spend``
recomputes it at any resolution from a ``winner`` vector.

``auto``: ``milp`` up to ``AUTO_MILP_MAX_PAIRS`` allowed pairs (value above price, price within the client's
budget), ``greedy`` beyond.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from allocopt.errors import UsageError
from allocopt.methods.common import MILP_OPTIONS, PAYMENT_RULES, payment_rule, run_milp
from allocopt.models import budget_pacing as model
from allocopt.models.budget_pacing import PacingData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register

#: ``auto`` solves the hindsight MILP up to this many allowed pairs, the greedy with its bound beyond.
AUTO_MILP_MAX_PAIRS = 10_000
#: Largest per-client step and default mu_max (a budget rate near 0 would make a quotient overflow).
MAX_STEP = 1e300
#: Checkpoints at which ``details["cumulative_spend"]`` is reported.
CHECKPOINTS = 20

_NO_PAYMENTS = (
    "the clients pay the second price of each auction they win (prices[t]); each client's total is details['spend']"
)
_PAYMENTS_OPTION = {"payments": f"only 'none' (of {', '.join(PAYMENT_RULES)}): {_NO_PAYMENTS}"}


def _payments(ctx: SolveContext, method: str) -> None:
    payment_rule(ctx, method, (), _NO_PAYMENTS)


def _spend_details(d: PacingData, winner: np.ndarray) -> dict[str, Any]:
    from allocopt.solvers.pacing_online import checkpoint_times, cumulative_spend

    marks = checkpoint_times(d.T, CHECKPOINTS)
    at = cumulative_spend(d.prices, winner, d.n, marks)
    return {
        "spend": at[-1].tolist() if len(marks) else [0.0] * d.n,
        "checkpoints": marks.tolist(),
        "cumulative_spend": at.tolist(),
    }


def _bound_details(d: PacingData, ctx: SolveContext) -> tuple[Any, dict[str, Any]]:
    from allocopt.solvers.pacing_hindsight import hindsight_bound

    start = time.perf_counter()
    run = hindsight_bound(d.values, d.prices, d.budgets, time_limit=ctx.time_limit)
    details: dict[str, Any] = {
        "hindsight_bound": run.bound,
        "bound_kind": run.kind,
        "bound_time_s": time.perf_counter() - start,
        "budget_multipliers": run.lam.tolist(),
    }
    if run.sample:
        details["bound_sweeps"] = run.sweeps
        details["bound_sample"] = run.sample
    return run, details


def _run_milp(d: PacingData, ctx: SolveContext) -> Outcome:
    _payments(ctx, "milp")
    out = run_milp(d, ctx, model.build_model, model.decode)
    details = dict(out.details)
    details["pairs"] = int(np.count_nonzero(d.profitable()))
    _, bound_details = _bound_details(d, ctx)
    details["lp_bound"] = bound_details.pop("hindsight_bound")
    details.update(bound_details)
    bound = out.bound
    if ctx.options.get("model") is None and out.status in ("solved", "no_solution"):
        # the LP bound holds for the instance's own model (not for a user's, whose objective may differ); it
        # helps when a time limit stops the MILP before its own bound gets below it
        bound = details["lp_bound"] if bound is None else min(bound, details["lp_bound"])
    if out.solution is not None:
        details.update(_spend_details(d, np.asarray(out.solution["winner"], dtype=np.int64)))
    return Outcome(out.status, out.solution, out.objective, bound, out.solver, out.message, details)


def _run_greedy(d: PacingData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.pacing_hindsight import greedy_allocation

    _payments(ctx, "greedy")
    run, details = _bound_details(d, ctx)
    out = greedy_allocation(d.values, d.prices, d.budgets, run.lam)
    details["order"] = out.order
    details.update(_spend_details(d, out.winner))
    solution = {"winner": out.winner.tolist()}
    return Outcome("solved", solution, out.utility, run.bound, "highs", details=details)


def _number_option(ctx: SolveContext, name: str, default: float, positive: bool = False) -> float:
    value = ctx.options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise UsageError(f"option {name!r} must be a finite number >= 0, got {value!r}")
    if positive and value == 0:
        raise UsageError(f"option {name!r} must be > 0, got {value!r}")
    return float(value)


def default_mu_max(d: PacingData) -> float:
    """Balseiro and Gur's upper bound on the multipliers: the largest value over the smallest positive budget rate.

    With it a client can shade any bid down to its per-auction budget; 0 when no client has a positive budget or
    a positive value (nothing to pace).
    """
    rates = d.budgets / d.T
    rates = rates[rates > 0]
    top = float(d.values.max()) if d.values.size else 0.0
    with np.errstate(over="ignore"):
        return min(top / float(rates.min()), MAX_STEP) if rates.size and top > 0 else 0.0


def _run_pacing(d: PacingData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.pacing_online import adaptive_pacing, checkpoint_times

    _payments(ctx, "pacing")
    step = _number_option(ctx, "step", 1.0 / math.sqrt(d.T), positive=True)
    mu_max = _number_option(ctx, "mu_max", default_mu_max(d))
    mu_init = _number_option(ctx, "mu_init", 0.0)
    with_bound = ctx.options.get("bound", True)
    if not isinstance(with_bound, bool):
        raise UsageError(f"option 'bound' must be true or false, got {with_bound!r}")
    rates = d.budgets / d.T
    # step is per unit of budget rate, so the rule does not depend on the currency: eps_i = step / rho_i.
    # A client without budget never pays anything, so its multiplier never needs to move.
    with np.errstate(over="ignore"):
        eps = np.minimum(np.divide(step, rates, out=np.zeros(d.n), where=rates > 0), MAX_STEP)
    run = adaptive_pacing(
        d.values, d.prices, d.budgets, eps, mu_max, min(mu_init, mu_max), checkpoint_times(d.T, CHECKPOINTS)
    )
    won = np.flatnonzero(run.winner >= 0)
    utility = float(np.sum(d.values[won, run.winner[won]] - d.prices[won]))
    details: dict[str, Any] = {
        "step": step,
        "mu_max": mu_max,
        "mu_init": min(mu_init, mu_max),
        "multipliers": run.multipliers.tolist(),
        "online_utility": utility,
        "spend": run.spend.tolist(),
        "budget_used": np.divide(run.spend, d.budgets, out=np.zeros(d.n), where=d.budgets > 0).tolist(),
        "auctions_won": int(won.size),
        "checkpoints": run.checkpoints.tolist(),
        "cumulative_spend": run.spend_at.tolist(),
        "multipliers_at": run.multipliers_at.tolist(),
    }
    bound = None
    if with_bound:
        bound_run, bound_details = _bound_details(d, ctx)
        bound = bound_run.bound
        details.update(bound_details)
        details["competitive_ratio"] = _ratio(bound, utility)
    return Outcome("solved", {"winner": run.winner.tolist()}, utility, bound, details=details)


def _ratio(bound: float, utility: float) -> float | None:
    """Hindsight bound / online utility (>= 1; 1 when both are 0; None when only the utility is 0)."""
    if utility > 0:
        return bound / utility
    return 1.0 if bound <= 0 else None


def choose(d: PacingData) -> str:
    return "milp" if int(np.count_nonzero(d.profitable())) <= AUTO_MILP_MAX_PAIRS else "greedy"


METHODS = {
    m.name: m
    for m in (
        Method(
            "milp",
            _run_milp,
            "hindsight optimum: MILP through Pyomo (HiGHS by default); LP bound in details",
            True,
            ("*pyomo",),
            {**MILP_OPTIONS, **_PAYMENTS_OPTION},
        ),
        Method(
            "pacing",
            _run_pacing,
            "online adaptive pacing (Balseiro-Gur): bid v/(1+mu_i), capped at the budget left; competitive ratio "
            "against the hindsight bound in details",
            False,
            (),
            {
                "step": "dimensionless step size: client i's multiplier moves by step / rho_i per unit of "
                "spend gap, rho_i = budgets[i] / T (default 1 / sqrt(T))",
                "mu_max": "upper bound on the multipliers (default: largest value / smallest positive budget rate)",
                "mu_init": "starting multiplier of every client (default 0: bid the full value at first)",
                "bound": "compute the hindsight bound and the competitive ratio (default true)",
                **_PAYMENTS_OPTION,
            },
        ),
        Method(
            "greedy",
            _run_greedy,
            "offline value-per-price and reduced-profit greedies, hindsight LP (or Lagrangian) bound",
            False,
            ("highs",),
            _PAYMENTS_OPTION,
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="budget_pacing",
        sense="max",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        methods=METHODS,
        choose=choose,
        describe=PacingData.kind,
    )
)
