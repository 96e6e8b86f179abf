"""rollout_allocation through the front door: the exact greedy against the MILP and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import INSTANCES, instance_doc

import allocopt
from allocopt.models.rollout_allocation import task_value


def brute_force(data: dict) -> float | None:
    p = data["success_rates"]
    budget = data["budget"]
    lo = data.get("min_rollouts", 0)
    hi = data.get("max_rollouts", budget)
    w = data.get("weights", [1.0] * len(p))
    kind = data.get("value", "nonzero_gradient")
    best = None
    for ks in itertools.product(range(lo, hi + 1), repeat=len(p)):
        if sum(ks) <= budget:
            v = sum(w[i] * task_value(k, p[i], kind) for i, k in enumerate(ks))
            best = v if best is None else max(best, v)
    return best


@pytest.mark.parametrize("kind", ["nonzero_gradient", "pass_at_k"])
def test_marginal_equals_milp_and_brute_force(kind: str) -> None:
    rng = np.random.default_rng(11)
    rates = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
    for _ in range(25):
        n = int(rng.integers(1, 4))
        data = {
            "success_rates": [float(x) for x in rng.choice(rates, n)],
            "budget": int(rng.integers(0, 9)),
            "value": kind,
        }
        if rng.random() < 0.4:
            data["min_rollouts"] = int(rng.integers(0, 3))
        data["max_rollouts"] = int(rng.integers(data.get("min_rollouts", 0), 6))
        if rng.random() < 0.5:
            data["weights"] = [round(float(x), 2) for x in rng.uniform(0, 2, n)]
        doc = instance_doc("rollout_allocation", data)
        expected = brute_force(data)
        greedy = allocopt.solve(doc, method="marginal")
        milp = allocopt.solve(doc, method="milp")
        if expected is None:
            assert greedy.status == milp.status == "infeasible"
            assert "exceeds the budget" in greedy.message
            continue
        assert greedy.status == "optimal" and greedy.verified
        assert greedy.objective == pytest.approx(expected, abs=1e-9)
        assert milp.objective == pytest.approx(expected, abs=1e-6)


def test_marginal_equals_milp_on_the_example_and_on_larger_random_instances() -> None:
    inst = allocopt.load(INSTANCES / "rollout_allocation" / "prompts-64.json")
    assert allocopt.solve(inst).method == "marginal"
    assert allocopt.solve(inst).objective == pytest.approx(allocopt.solve(inst, method="milp").objective, abs=1e-6)
    rng = np.random.default_rng(3)
    for kind in ("nonzero_gradient", "pass_at_k"):
        data = {
            "success_rates": rng.uniform(0, 1, 40).round(3).tolist(),
            "budget": 150,
            "max_rollouts": 12,
            "value": kind,
        }
        doc = instance_doc("rollout_allocation", data)
        a, b = allocopt.solve(doc, method="marginal"), allocopt.solve(doc, method="milp")
        assert a.objective == pytest.approx(b.objective, abs=1e-6) and b.status == "optimal"


def test_milp_refuses_sizes_it_cannot_hold() -> None:
    doc = instance_doc("rollout_allocation", {"success_rates": [0.5] * 10_000, "budget": 1_000_000})
    with pytest.raises(allocopt.UsageError, match="binaries"):
        allocopt.solve(doc, method="milp")
    assert allocopt.solve(doc).status == "optimal"
