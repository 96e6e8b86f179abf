r"""Rollout allocation (Knapsack RL, test-time scaling): spread a sampling budget over tasks.

Task i has success rate :math:`p_i`, weight :math:`w_i \ge 0` and receives :math:`k_i` rollouts:

.. math::

    \max \sum_i w_i\, f(k_i, p_i) \quad\text{s.t.}\quad \sum_i k_i \le B, \qquad
    \ell \le k_i \le u, \; k_i \in \mathbb{Z},

with either ``nonzero_gradient``: :math:`f(k, p) = 1 - p^k - (1-p)^k`, the probability that k rollouts
of a task give a non-zero policy gradient (not all successes, not all failures), with :math:`f(0, p) = 0`
by definition (the formula would give -1: with no rollouts there is no gradient at all); or
``pass_at_k``: :math:`f(k, p) = 1 - (1-p)^k`. ``pass_at_k`` is concave in k; ``nonzero_gradient`` is
concave for :math:`k \ge 1` but not from 0 (:math:`f(0) = f(1) = 0 < f(2) = 2p(1-p)`).

The MILP (``build_model``) is a multiple-choice knapsack: a binary :math:`y_{ik}` per task and count,
:math:`\sum_k y_{ik} = 1`, :math:`\sum_{i,k} k\, y_{ik} \le B`; it is for cross-checking small
instances (it has :math:`n (u - \ell + 1)` binaries).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from allocopt.errors import DataError
from allocopt.registry import Check


@dataclass(frozen=True, eq=False)
class RolloutData:
    success_rates: np.ndarray
    budget: int
    min_rollouts: int
    max_rollouts: int
    value: str
    weights: np.ndarray
    weights_given: bool = False

    @property
    def n(self) -> int:
        return len(self.success_rates)

    def kind(self) -> str:
        return f"rollout allocation ({self.value}), n={self.n}, budget={self.budget}"


def task_value(k: int, p: float, value: str) -> float:
    """f(k, p) of the module docstring, written out on its own for the checker and the MILP."""
    if value == "pass_at_k":
        return 1.0 - (1.0 - p) ** k
    if k == 0:
        return 0.0
    return 1.0 - p**k - (1.0 - p) ** k


def parse(data: Mapping[str, Any]) -> RolloutData:
    rates = np.asarray(data["success_rates"], dtype=np.float64)
    n = len(rates)
    budget = int(data["budget"])
    lo = int(data.get("min_rollouts", 0))
    hi = int(data.get("max_rollouts", budget))
    if hi < lo:
        raise DataError(("max_rollouts",), f"expected max_rollouts >= min_rollouts = {lo}, got {hi}")
    weights_raw = data.get("weights")
    if weights_raw is not None and len(weights_raw) != n:
        raise DataError(("weights",), f"expected {n} weights (one per task), got {len(weights_raw)}")
    weights = np.ones(n) if weights_raw is None else np.asarray(weights_raw, dtype=np.float64)
    rates.setflags(write=False)
    weights.setflags(write=False)
    return RolloutData(rates, budget, lo, hi, data.get("value", "nonzero_gradient"), weights, weights_raw is not None)


def to_data(d: RolloutData) -> dict[str, Any]:
    out: dict[str, Any] = {"success_rates": d.success_rates.tolist(), "budget": d.budget}
    if d.min_rollouts:
        out["min_rollouts"] = d.min_rollouts
    if d.max_rollouts != d.budget:
        out["max_rollouts"] = d.max_rollouts
    out["value"] = d.value
    if d.weights_given:
        out["weights"] = d.weights.tolist()
    return out


def infeasibility(d: RolloutData) -> str | None:
    """Why no allocation exists, or None."""
    if d.n * d.min_rollouts > d.budget:
        return f"{d.n} tasks x min_rollouts {d.min_rollouts} = {d.n * d.min_rollouts} exceeds the budget {d.budget}"
    return None


def check(d: RolloutData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: bounds, budget, and the objective recomputed task by task."""
    ks = solution.get("rollouts")
    if not isinstance(ks, list) or len(ks) != d.n:
        return Check(False, None, f"solution.rollouts must be a list of {d.n} counts")
    total = 0
    objective = 0.0
    for i, k in enumerate(ks):
        if isinstance(k, bool) or not isinstance(k, int | float) or k != int(k):
            return Check(False, None, f"solution.rollouts[{i}] = {k!r} is not a whole number")
        k = int(k)
        if not d.min_rollouts <= k <= d.max_rollouts:
            return Check(False, None, f"solution.rollouts[{i}] = {k} is outside {d.min_rollouts}..{d.max_rollouts}")
        total += k
        objective += float(d.weights[i]) * task_value(k, float(d.success_rates[i]), d.value)
    if total > d.budget:
        return Check(False, None, f"{total} rollouts handed out, budget is {d.budget}")
    return Check(True, objective)


def build_model(d: RolloutData) -> pyo.ConcreteModel:
    """The multiple-choice knapsack of the module docstring: ``pick[i, k]``, ``one[i]``, ``budget``."""
    model = pyo.ConcreteModel(name="rollout_allocation")
    counts = range(d.min_rollouts, max(d.min_rollouts, min(d.max_rollouts, d.budget)) + 1)
    pairs = [(i, k) for i in range(d.n) for k in counts]
    model.pick = pyo.Var(pairs, domain=pyo.Binary)
    model.value = pyo.Objective(
        expr=sum(
            float(d.weights[i]) * task_value(k, float(d.success_rates[i]), d.value) * model.pick[i, k] for i, k in pairs
        ),
        sense=pyo.maximize,
    )
    model.one = pyo.Constraint(range(d.n), rule=lambda mdl, i: sum(mdl.pick[i, k] for k in counts) == 1)
    if pairs:
        model.budget = pyo.Constraint(expr=sum(k * model.pick[i, k] for i, k in pairs) <= d.budget)
    return model


def decode(model: pyo.ConcreteModel, d: RolloutData) -> dict[str, Any]:
    counts = range(d.min_rollouts, max(d.min_rollouts, min(d.max_rollouts, d.budget)) + 1)
    out = []
    for i in range(d.n):
        picked = [k for k in counts if (pyo.value(model.pick[i, k], exception=False) or 0.0) > 0.5]
        out.append(picked[0] if picked else d.min_rollouts)
    return {"rollouts": out}
