"""Every knapsack method through the front door, against optima nobody here computed.

- published optima: Pisinger's large-scale instances (types 1-3, n = 100..10,000) and OR-Library mknap1;
- brute force on many tiny random instances of each variant;
- greedy: feasible, at most the optimum, and its bound never below the optimum.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import INSTANCES, brute_force_knapsack, instance_doc, instance_files, random_knapsack

import allocopt

PISINGER = instance_files(INSTANCES / "knapsack" / "pisinger")
MKNAP1 = instance_files(INSTANCES / "knapsack" / "mknap1")


def test_the_benchmark_sets_are_all_there() -> None:
    assert len(PISINGER) == 21 and len(MKNAP1) == 7


@pytest.mark.parametrize("path", PISINGER, ids=lambda p: p.stem)
def test_dp_equals_pisinger_optimum(path: Path) -> None:
    inst = allocopt.load(path)
    result = allocopt.solve(inst, method="dp")
    assert result.status == "optimal" and result.verified
    assert result.objective == inst.reference_optimum
    assert allocopt.solve(inst).method == "dp"  # auto picks the exact special-purpose method


@pytest.mark.slow
@pytest.mark.parametrize("path", PISINGER, ids=lambda p: p.stem)
def test_milp_equals_pisinger_optimum(path: Path) -> None:
    inst = allocopt.load(path)
    result = allocopt.solve(inst, method="milp")
    assert result.status == "optimal" and result.verified
    assert result.objective == inst.reference_optimum


@pytest.mark.parametrize("path", PISINGER, ids=lambda p: p.stem)
def test_greedy_brackets_pisinger_optimum(path: Path) -> None:
    inst = allocopt.load(path)
    result = allocopt.solve(inst, method="greedy")
    assert result.verified and result.objective <= inst.reference_optimum <= result.bound + 1e-9
    assert result.details["bound_kind"] == "dantzig"


@pytest.mark.parametrize("path", MKNAP1, ids=lambda p: p.stem)
def test_mknap1_optimum(path: Path) -> None:
    inst = allocopt.load(path)
    exact = allocopt.solve(inst, method="milp")
    assert exact.status == "optimal" and exact.objective == pytest.approx(inst.reference_optimum, abs=1e-6)
    greedy = allocopt.solve(inst, method="greedy")
    assert greedy.verified and greedy.objective <= inst.reference_optimum + 1e-9
    assert greedy.bound >= inst.reference_optimum - 1e-6
    assert allocopt.solve(inst).method == "milp"


VARIANTS = {
    "0/1": {},
    "0/1 real-valued": {"integral": False},
    "bounded": {"bounded": True},
    "2 resources": {"m": 2},
    "3 resources bounded": {"m": 3, "bounded": True},
    "groups at most one": {"groups": "at_most_one"},
    "groups exactly one": {"groups": "exactly_one"},
    "bounded groups exactly one": {"bounded": True, "groups": "exactly_one"},
    "2 resources groups": {"m": 2, "groups": "at_most_one"},
    "real-valued groups": {"integral": False, "groups": "exactly_one"},
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_method_against_brute_force(variant: str) -> None:
    rng = np.random.default_rng(abs(hash(variant)) % 2**32)
    one_resource = VARIANTS[variant].get("m", 1) == 1
    exact_methods = ["milp", "dp"] if one_resource else ["milp"]
    for trial in range(40):
        n = int(rng.integers(0 if trial == 0 else 1, 7))
        data = random_knapsack(rng, n, **VARIANTS[variant])
        optimum = brute_force_knapsack(data)
        doc = instance_doc("knapsack", data)
        for method in exact_methods:
            result = allocopt.solve(doc, method=method)
            if optimum is None:
                assert result.status == "infeasible", (method, data)
                continue
            assert result.status == "optimal" and result.verified, (method, data, result)
            assert result.objective == pytest.approx(optimum, rel=1e-9, abs=1e-9), (method, data)
        greedy = allocopt.solve(doc, method="greedy")
        if optimum is None:
            assert greedy.status in ("infeasible", "no_solution")
            continue
        if greedy.solution is not None:
            assert greedy.verified and greedy.objective <= optimum + 1e-9, (data, greedy)
        assert greedy.bound is not None and greedy.bound >= optimum - 1e-9, (data, greedy)


def test_online_policies_respect_capacity_and_report_their_competitive_ratio() -> None:
    rng = np.random.default_rng(5)
    for _ in range(30):
        n = int(rng.integers(5, 60))
        weights = rng.uniform(0.5, 5, n)
        values = weights * rng.uniform(1, 20, n)
        data = {
            "values": values.round(4).tolist(),
            "weights": weights.round(4).tolist(),
            "capacity": float(rng.uniform(5, 40)),
        }
        doc = instance_doc("knapsack", data)
        for method, opts in (("online_zcl", {}), ("online_fair", {"alpha": 0.3})):
            result = allocopt.solve(doc, method=method, **opts)
            assert result.verified and result.status in ("feasible", "optimal")
            ratio = result.details["competitive_ratio"]
            assert ratio is None or ratio >= 1 - 1e-12
            assert result.bound == pytest.approx(result.details["offline_optimum"])


def test_online_is_only_offered_where_it_applies() -> None:
    doc = instance_doc("knapsack", {"values": [1, 2], "weights": [[1, 1], [1, 1]], "capacity": [1, 1]})
    with pytest.raises(allocopt.UsageError, match="online policies take a 0/1 knapsack"):
        allocopt.solve(doc, method="online_zcl")


def test_multiple_choice_dp_past_its_memory_budget_answers_with_the_milp(monkeypatch: pytest.MonkeyPatch) -> None:
    import allocopt.solvers.knapsack_exact as kx

    monkeypatch.setattr(kx, "_MAX_STATES", 2)
    rng = np.random.default_rng(17)
    for _ in range(5):
        data = random_knapsack(rng, 7, groups="at_most_one")
        optimum = brute_force_knapsack(data)
        result = allocopt.solve(instance_doc("knapsack", data), method="dp")
        assert result.status == "optimal" and result.verified
        assert result.objective == pytest.approx(optimum)
        if "fallback" in result.details:
            assert result.details["fallback"].startswith("milp") and result.solver == "highs"


def test_dp_reports_its_phase_and_a_time_limited_bound() -> None:
    rng = np.random.default_rng(19)
    w = rng.integers(1, 10**6, 2000)
    doc = instance_doc(
        "knapsack", {"values": (w + 10**5).tolist(), "weights": w.tolist(), "capacity": int(w.sum() // 2)}
    )
    result = allocopt.solve(doc, method="dp", time_limit=60)
    assert result.status == "optimal" and result.details["phase"] == "core" and result.details["states"] >= 1
    assert "stopped" not in result.details
