"""Methods for the ``fisher_market`` problem and the rule ``auto`` follows.

- ``convex``: the Eisenberg-Gale program of ``allocopt.models.fisher_market`` in CVXPY (Clarabel by default,
  ``solver="scs"`` too), linear and Leontief utilities. Prices are the supply rows' duals. The bound is not the
  solver's number: it is the EG dual value recomputed here from those prices (``allocopt.solvers.fisher_duals``),
  valid even when the solver is inaccurate, so ``optimal`` means primal and dual agree to 1e-6.
- ``proportional_response``: the proportional-response dynamics (linear utilities only), one compiled pass over
  the bids per step, dense or sparse, and on large dense markets an active set of the pairs that still carry
  bids or are nearly best (re-checked against every pair); stops at the relative duality gap ``tol`` (bound
  from the iterate's prices over every pair), at ``max_iter`` steps or at the time limit. For markets too large
  for the conic solver.

Both report in ``details`` how far the answer is from an equilibrium (``equilibrium_residuals``).

``auto``: ``convex`` for Leontief utilities and for linear markets up to ``AUTO_CONVEX_MAX_PAIRS`` buyer-good
pairs, ``proportional_response`` beyond.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from allocopt.errors import UsageError
from allocopt.models import fisher_market as model
from allocopt.models.fisher_market import FisherData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register

#: ``auto`` solves linear markets with the conic solver up to this many buyer-good pairs (n x m).
AUTO_CONVEX_MAX_PAIRS = 20_000
#: Leontief prices are polished by NNLS up to this many buyer-good pairs.
KKT_NNLS_MAX_PAIRS = 1_000_000
#: Default conic tolerances: tighter than the solvers' own (1e-8 for Clarabel, 1e-4 for SCS), since the status
#: test is a relative gap of 1e-6 between the EG value and the dual bound recomputed from the prices.
SOLVER_DEFAULTS = {
    "clarabel": {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "tol_ktratio": 1e-10},
    "scs": {"eps_abs": 1e-9, "eps_rel": 1e-9},
}
#: Default relative duality gap at which proportional response stops (the front door's "optimal" test).
PR_TOL = 1e-6
#: Default cap on proportional-response steps.
PR_MAX_ITER = 100_000


def _details(d: FisherData, allocation: np.ndarray, prices: np.ndarray, objective: float, bound: float | None) -> dict:
    res = model.equilibrium_residuals(d, allocation, prices)
    out: dict[str, Any] = {f"residual_{k}": v for k, v in res.items()}
    # The relative gap depends on the utilities' units (log u shifts with them); per unit of budget it does not:
    # it is the log of the ratio of the bound's and the allocation's budget-weighted geometric mean utilities.
    if bound is not None:
        out["gap_per_budget"] = max(0.0, bound - objective) / float(d.budgets.sum())
    return out


def _objective(d: FisherData, x: np.ndarray) -> float:
    """The method's own EG value of ``x`` (vectorised; the checker recomputes it separately)."""
    if d.linear:
        u = (d.utilities * x).sum(axis=1)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(d.utilities > 0, x / np.where(d.utilities > 0, d.utilities, 1.0), np.inf).min(axis=1)
    return float(d.budgets @ np.log(u)) if np.all(u > 0) else -math.inf


def _bound(d: FisherData, prices: np.ndarray) -> float | None:
    from allocopt.solvers.fisher_duals import leontief_bound, linear_bound

    f = linear_bound if d.linear else leontief_bound
    return f(d.utilities, d.budgets, d.supply, prices)


def _kkt_prices(d: FisherData, x: np.ndarray) -> np.ndarray | None:
    r"""Prices recomputed from the allocation's utilities by the KKT conditions, or None.

    Linear: :math:`p_j = \max_i B_i U_{ij} / u_i` (a buyer's price of utility is :math:`B_i / u_i`, no good is
    cheaper per unit of utility for anyone, and a sold good is bought by someone at equality). Leontief:
    :math:`\sum_j a_{ij} p_j = B_i / u_i` over the goods sold out, :math:`p \ge 0`, by non-negative least squares
    (markets up to ``KKT_NNLS_MAX_PAIRS`` pairs). The utilities of an interior-point solution are far more
    accurate than its duals; the method keeps whichever prices are nearer equilibrium.
    """
    util, budgets = d.utilities, d.budgets
    if d.linear:
        u = (util * x).sum(axis=1)
        return (util * (budgets / u)[:, None]).max(axis=0)
    if d.n * d.m > KKT_NNLS_MAX_PAIRS:
        return None
    from scipy.optimize import nnls

    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(util > 0, x / np.where(util > 0, util, 1.0), np.inf).min(axis=1)
    tight = util.T @ u >= d.supply * (1 - 1e-6)
    prices = np.zeros(d.m)
    if tight.any():
        prices[tight] = nnls(util[:, tight], budgets / u)[0]
    return prices


def _run_convex(d: FisherData, ctx: SolveContext) -> Outcome:
    import cvxpy as cp

    from allocopt.solvers.convex import solve_problem

    problem = ctx.options.get("model")
    if problem is None:
        problem = model.build_model(d)
    elif not isinstance(problem, cp.Problem):
        raise UsageError("option 'model' must be a CVXPY problem from allocopt.build_model(instance)")
    solver = ctx.solver or "clarabel"
    if ctx.options.get("prices", "kkt") not in ("kkt", "duals"):
        raise UsageError(f"option 'prices' must be 'kkt' or 'duals', got {ctx.options['prices']!r}")
    opts = {**SOLVER_DEFAULTS.get(solver, {}), **(ctx.options.get("solver_options") or {})}
    with warnings.catch_warnings():
        # At the tight default tolerances Clarabel may end "optimal_inaccurate"; the bound recomputed from the
        # prices below, not the solver's word, decides whether the answer is optimal.
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        run = solve_problem(problem, solver=solver, time_limit=ctx.time_limit, solver_options=opts)
    if run.status != "solved":
        return Outcome(run.status, solver=solver, message=run.message, details={"solver_status": problem.status})
    try:
        solution = model.decode(problem, d)
    except (TypeError, ValueError) as exc:  # no values (a user's model that lost its variables)
        return Outcome("error", solver=solver, message=f"could not read the solution back: {exc}")
    x = np.asarray(solution["allocation"], dtype=np.float64)
    duals = np.asarray(solution["prices"], dtype=np.float64)
    objective = _objective(d, x)
    if not math.isfinite(objective):
        return Outcome(
            "error", solver=solver, message=f"{solver} returned an allocation that leaves a buyer with nothing"
        )
    details: dict[str, Any] = {"solver_status": problem.status, "solver_objective": run.objective}
    prices, bound, source = duals, _bound(d, duals), "duals"
    if ctx.options.get("prices", "kkt") == "kkt":
        kkt = _kkt_prices(d, x)
        if kkt is not None:
            # Both price vectors give valid bounds: keep the smaller bound, and the prices nearer equilibrium.
            kkt_bound = _bound(d, kkt)
            if kkt_bound is not None:
                bound = kkt_bound if bound is None else min(bound, kkt_bound)
            top = max(float(kkt.max()), 1e-300)
            details["dual_prices_max_diff"] = float(np.abs(kkt - duals).max() / top)
            worst = max(model.equilibrium_residuals(d, x, duals).values())
            if max(model.equilibrium_residuals(d, x, kkt).values()) < worst:
                prices, source = kkt, "kkt"
    solution["prices"] = prices.tolist()
    details["prices_from"] = source
    details.update(_details(d, x, prices, objective, bound))
    message = run.message
    if message is not None and problem.status == cp.OPTIMAL_INACCURATE:
        message += " (the status follows the EG dual bound recomputed from the prices)"
    return Outcome("solved", solution, objective, bound, solver, message, details)


def _positive(ctx: SolveContext, name: str, default: float, integer: bool = False) -> Any:
    value = ctx.options.get(name, default)
    ok = not isinstance(value, bool) and isinstance(value, int if integer else int | float) and value >= 0
    if not ok or (integer and value < 1):
        kind = "a whole number >= 1" if integer else "a number >= 0"
        raise UsageError(f"option {name!r} must be {kind}, got {value!r}")
    return value


def _run_pr(d: FisherData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.fisher_proportional_response import proportional_response

    tol = float(_positive(ctx, "tol", PR_TOL))
    max_iter = int(_positive(ctx, "max_iter", PR_MAX_ITER, integer=True))
    active = ctx.options.get("active_set")
    if active is not None and not isinstance(active, bool):
        raise UsageError(f"option 'active_set' must be true or false, got {active!r}")
    out = proportional_response(
        d.utilities, d.budgets, d.supply, tol=tol, max_iter=max_iter, time_limit=ctx.time_limit, active_set=active
    )
    solution = {"allocation": out.allocation.tolist(), "prices": out.prices.tolist()}
    objective = _objective(d, out.allocation)
    details = {"iterations": out.iterations, "stop": out.stop, "representation": out.representation, "tol": tol}
    details.update(_details(d, out.allocation, out.prices, objective, out.bound))
    message = None
    if out.stop != "tol":
        reached = "no bound yet" if out.gap is None else f"gap {out.gap:.3g}"
        message = f"stopped at {out.stop} after {out.iterations} steps ({reached}, tol {tol:g})"
    return Outcome("solved", solution, objective, out.bound, None, message, details)


def _linear_only(d: FisherData) -> str | None:
    return None if d.linear else "proportional response is for linear utilities; use convex for leontief"


def choose(d: FisherData) -> str:
    return "convex" if not d.linear or d.n * d.m <= AUTO_CONVEX_MAX_PAIRS else "proportional_response"


METHODS = {
    m.name: m
    for m in (
        Method(
            "convex",
            _run_convex,
            "Eisenberg-Gale program in CVXPY (Clarabel; SCS), prices = supply duals, bound = EG dual at those prices",
            True,
            ("clarabel", "scs"),
            {
                "model": "a CVXPY problem from build_model(instance), possibly extended (keep the supply row first)",
                "solver_options": "dict of options passed to the conic solver (defaults: gaps and feasibility 1e-12 "
                "for clarabel, eps 1e-9 for scs)",
                "prices": "'kkt' (default): the supply duals or the prices recomputed from the utilities by the KKT "
                "conditions, whichever is nearer equilibrium; 'duals': the solver's duals as they are",
            },
        ),
        Method(
            "proportional_response",
            _run_pr,
            "proportional-response dynamics (linear utilities), bound from the EG dual at the iterate's prices",
            False,
            (),
            {
                "tol": f"stop at this relative duality gap (default {PR_TOL:g})",
                "max_iter": f"stop after this many steps (default {PR_MAX_ITER})",
                "active_set": "true or false: sweep only the pairs that still matter after 60 full sweeps "
                "(default: dense markets of 50,000 pairs or more)",
            },
            applies=_linear_only,
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="fisher_market",
        sense="max",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        methods=METHODS,
        choose=choose,
        describe=FisherData.kind,
    )
)
