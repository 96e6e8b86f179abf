"""Methods for the ``knapsack`` problem and the rule ``auto`` follows.

- ``milp``: the Pyomo formulation of ``allocopt.models.knapsack`` through HiGHS (or any Pyomo solver);
  every variant.
- ``dp``: exact special-purpose algorithms for one resource: an expanding-core dynamic program in the
  spirit of Pisinger's minknap with combo's bounds (0/1; bounded by binary splitting) that hands over
  to a feasible-states DP and a branch and bound over a DP table when its state list grows too long
  (``allocopt.solvers.knapsack_hard``); it honours the time limit with its incumbent and a proven
  bound. Multiple-choice: a bounded Pareto-list dynamic program over groups, with the MILP in the time
  left when that list outgrows its memory budget.
- ``greedy``: density greedy with the best-single-item fix (Dantzig bound), the convex-hull greedy for
  multiple-choice (LP bound), an LP-dual surrogate greedy for several resources (LP bound).
- ``online_zcl`` / ``online_fair``: online threshold policies that see the items in file order.

``auto``: ``dp`` for one resource (the exact method, fast at any size we have met; it always ends with
a verified solution, and without a time limit with a proof of optimality), ``milp`` for
several resources up to ``AUTO_MILP_MAX_ENTRIES`` weight entries, ``greedy`` beyond that.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from allocopt.methods.common import MILP_OPTIONS, run_milp, time_left
from allocopt.models import knapsack as model
from allocopt.models.knapsack import KnapsackData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register

if TYPE_CHECKING:
    from allocopt.solvers.knapsack_exact import KnapsackRun

#: ``auto`` solves multi-dimensional instances exactly up to this many weight entries (n x m).
AUTO_MILP_MAX_ENTRIES = 20_000
#: ``auto`` uses the exact multiple-choice DP up to this many (item, count) options.
AUTO_MCKP_MAX_OPTIONS = 50_000
#: The online methods compute the offline optimum (for the competitive ratio) up to this many items.
ONLINE_RATIO_MAX_ITEMS = 200_000


def _take(x: np.ndarray) -> dict[str, Any]:
    return {"take": [int(t) for t in x]}


def _value(d: KnapsackData, x: np.ndarray) -> float:
    return float(np.dot(d.values, x))


def _one_resource(d: KnapsackData) -> str | None:
    return None if d.m == 1 else f"it has {d.m} resources; this method needs exactly one"


def _online_applies(d: KnapsackData) -> str | None:
    if d.m != 1 or d.groups is not None or d.bounded:
        return "online policies take a 0/1 knapsack with one resource and no groups"
    return None


def _options_count(d: KnapsackData) -> int:
    return int(np.sum(np.maximum(d.copies, 1)))


def _run_milp(d: KnapsackData, ctx: SolveContext) -> Outcome:
    return run_milp(d, ctx, model.build_model, model.decode)


def _infeasible_groups(d: KnapsackData) -> str:
    return "no choice of exactly one item per group fits the capacity"


def exact_run(d: KnapsackData, time_limit: float | None = None) -> KnapsackRun | None:
    """The exact one-resource method's answer (None when exactly-one groups cannot all fit).

    0/1 and bounded: with ``time_limit`` the incumbent and a proven bound when the time is up, else
    always a proven optimum. Multiple-choice: the optimum, or StateLimitError past the DP's budget.
    """
    from allocopt.solvers import knapsack_exact as exact

    w, cap = d.weights[0], float(d.capacity[0])
    if d.groups is not None:
        counts = exact.solve_multiple_choice(d.values, w, d.dense_groups(), cap, d.exactly_one, d.copies)
        if counts is None:
            return None
        value = _value(d, counts)
        return exact.KnapsackRun(counts, value, value, True, "groups", 0)
    if d.bounded or np.any(d.copies == 0):
        return exact.knapsack_bounded(d.values, w, d.copies, cap, time_limit)
    return exact.knapsack_01(d.values, w, cap, time_limit)


def exact_take(d: KnapsackData) -> np.ndarray | None:
    """The exact one-resource optimum (None when exactly-one groups cannot all fit)."""
    run = exact_run(d)
    return None if run is None else run.x


def _run_dp(d: KnapsackData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.knapsack_exact import StateLimitError

    began = time.perf_counter()
    try:
        run = exact_run(d, ctx.time_limit)
    except StateLimitError as exc:
        # Only the multiple-choice DP has a memory budget it cannot work beyond: the MILP answers instead,
        # in the time that is left.
        out = _run_milp(d, SolveContext(ctx.solver, time_left(ctx, began), {}))
        return replace(out, details={**out.details, "fallback": f"milp ({exc})"})
    if run is None:
        return Outcome("infeasible", message=_infeasible_groups(d))
    details: dict[str, Any] = {"phase": run.phase}
    if run.phase != "groups":
        details["states"] = run.states
    if not run.optimal:
        details["stopped"] = "time limit"
    return Outcome("solved", _take(run.x), run.value, run.bound, details=details)


def _run_greedy(d: KnapsackData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers import knapsack_greedy as greedy

    solver = None
    if d.m == 1 and d.groups is None:
        out = greedy.greedy_single(d.values, d.weights[0], float(d.capacity[0]), d.copies)
    elif d.m == 1:
        out = greedy.greedy_multiple_choice(
            d.values, d.weights[0], float(d.capacity[0]), d.dense_groups(), d.exactly_one, d.copies
        )
    else:
        solver = "highs"
        groups = None if d.groups is None else d.dense_groups()
        out = greedy.greedy_multidimensional(d.values, d.weights, d.capacity, d.copies, groups, d.exactly_one)
    details = {"bound_kind": out.bound_kind}
    if out.take is None:
        status = "infeasible" if out.bound_kind == "infeasible" else "no_solution"
        message = _infeasible_groups(d) if status == "infeasible" else "the greedy found no feasible solution"
        return Outcome(
            status, bound=None if status == "infeasible" else out.bound, solver=solver, message=message, details=details
        )
    return Outcome("solved", _take(out.take), _value(d, out.take), out.bound, solver, details=details)


def _density_range(d: KnapsackData) -> tuple[float, float]:
    """Default [L, U]: the instance's own range of value densities (an online policy's prior)."""
    w = d.weights[0]
    mask = (w > 0) & (d.values > 0)
    if not np.any(mask):
        return 1.0, 1.0
    dens = d.values[mask] / w[mask]
    return float(dens.min()), float(dens.max())


def _run_online(d: KnapsackData, ctx: SolveContext, policy: str) -> Outcome:
    from allocopt.solvers import online_knapsack as online

    lo, hi = _density_range(d)
    L = float(ctx.options.get("L", lo))
    U = float(ctx.options.get("U", hi))
    w, cap = d.weights[0], float(d.capacity[0])
    details: dict[str, Any] = {"L": L, "U": U}
    if policy == "zcl":
        x = online.zcl_threshold(d.values, w, cap, L, U)
    else:
        alpha = float(ctx.options.get("alpha", 0.5))
        details["alpha"] = alpha
        x = online.time_fair_threshold(d.values, w, cap, L, U, alpha)
    value = _value(d, x)
    bound = None
    if d.n <= ONLINE_RATIO_MAX_ITEMS:
        best = exact_take(d)
        assert best is not None  # no groups: taking nothing is always feasible
        bound = _value(d, best)
        details["offline_optimum"] = bound
        details["competitive_ratio"] = bound / value if value > 0 else (1.0 if bound == 0 else None)
    return Outcome("solved", _take(x), value, bound, details=details)


def choose(d: KnapsackData) -> str:
    if d.m == 1:
        if d.groups is None or _options_count(d) <= AUTO_MCKP_MAX_OPTIONS:
            return "dp"
        return "greedy"
    return "milp" if d.n * d.m <= AUTO_MILP_MAX_ENTRIES else "greedy"


_ONLINE_OPTIONS = {
    "L": "lower bound on value density v/w (default: the instance's smallest)",
    "U": "upper bound on value density v/w (default: the instance's largest)",
}

METHODS = {
    m.name: m
    for m in (
        Method(
            "milp", _run_milp, "MILP through Pyomo (HiGHS by default); every variant", True, ("*pyomo",), MILP_OPTIONS
        ),
        Method(
            "dp",
            _run_dp,
            "exact: expanding-core DP, then feasible-states DP / table branch and bound (0/1, bounded), "
            "Pareto DP over groups (one resource); incumbent + proven bound at the time limit",
            True,
            (),
            {},
            _one_resource,
        ),
        Method(
            "greedy",
            lambda d, c: _run_greedy(d, c),
            "density / convex-hull / LP-dual greedy with a Dantzig or LP upper bound",
            False,
            ("highs",),
        ),
        Method(
            "online_zcl",
            lambda d, c: _run_online(d, c, "zcl"),
            "online threshold policy psi(z) = (Ue/L)^z (L/e) (Zhou-Chakrabarty-Lukose), items in file order",
            False,
            (),
            _ONLINE_OPTIONS,
            _online_applies,
        ),
        Method(
            "online_fair",
            lambda d, c: _run_online(d, c, "fair"),
            "time-fair online threshold: flat price L until utilization alpha (Lechowicz et al.)",
            False,
            (),
            {**_ONLINE_OPTIONS, "alpha": "utilization up to which the price stays at L (default 0.5)"},
            _online_applies,
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="knapsack",
        sense="max",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        methods=METHODS,
        choose=choose,
        describe=KnapsackData.kind,
    )
)
