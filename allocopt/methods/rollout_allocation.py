"""Methods for ``rollout_allocation``: the exact marginal-allocation greedy, and the MILP to cross-check it.

``auto`` always picks ``marginal`` (exact, and fast at 10^5 tasks and 10^6 rollouts).
"""

from __future__ import annotations

import numpy as np

from allocopt.methods.common import MILP_OPTIONS, run_milp
from allocopt.models import rollout_allocation as model
from allocopt.models.rollout_allocation import RolloutData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register

#: The MILP has n * (options per task) binaries; beyond this it is refused as a usage error.
MILP_MAX_BINARIES = 2_000_000


def _run_marginal(d: RolloutData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.rollout_greedy import allocate_rollouts

    reason = model.infeasibility(d)
    if reason:
        return Outcome("infeasible", message=reason)
    ks = allocate_rollouts(d.success_rates, d.budget, d.min_rollouts, d.max_rollouts, d.value, d.weights)
    if ks is None:
        return Outcome("infeasible", message="no allocation meets the bounds within the budget")
    value = _objective(d, ks)
    return Outcome("solved", {"rollouts": [int(k) for k in ks]}, value, value)


def _objective(d: RolloutData, ks: np.ndarray) -> float:
    """The method's own (vectorised) value of an allocation; the checker recomputes it separately."""
    p, k = d.success_rates, ks.astype(np.float64)
    f = 1.0 - (1.0 - p) ** k if d.value == "pass_at_k" else np.where(k > 0, 1.0 - p**k - (1.0 - p) ** k, 0.0)
    return float(np.dot(d.weights, f))


def _run_milp(d: RolloutData, ctx: SolveContext) -> Outcome:
    reason = model.infeasibility(d)
    if reason:
        return Outcome("infeasible", message=reason)
    return run_milp(d, ctx, model.build_model, model.decode)


def _milp_fits(d: RolloutData) -> str | None:
    size = d.n * (min(d.max_rollouts, d.budget) - d.min_rollouts + 1)
    return None if size <= MILP_MAX_BINARIES else f"the MILP would have {size} binaries (limit {MILP_MAX_BINARIES})"


METHODS = {
    m.name: m
    for m in (
        Method("marginal", _run_marginal, "exact marginal-allocation greedy on concave hulls, with a heap", True),
        Method(
            "milp",
            _run_milp,
            "multiple-choice knapsack MILP (for cross-checking small instances)",
            True,
            ("*pyomo",),
            MILP_OPTIONS,
            _milp_fits,
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="rollout_allocation",
        sense="max",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        methods=METHODS,
        choose=lambda d: "marginal",
        describe=RolloutData.kind,
    )
)
