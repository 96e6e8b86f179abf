"""bit_allocation through the front door: MILP against brute force and an independent DP, the greedy's
bound, the convex relaxation, and what bad files are told."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import instance_doc

import allocopt
from allocopt.errors import InstanceError


def random_units(
    rng: np.random.Generator, units: int, widths=(2, 3, 4, 8), scale: float = 1.0, every_width: bool = False
) -> list[dict]:
    out = []
    for j in range(units):
        k = len(widths) if every_width else int(rng.integers(1, len(widths) + 1))
        bits = sorted(rng.choice(widths, size=k, replace=False).tolist())
        # errors roughly a 4^-b law with noise, so hulls are neither trivial nor always convex
        a = float(rng.uniform(0.5, 5.0))
        errors = [scale * a * 4.0 ** (-b) * float(rng.uniform(0.5, 1.5)) for b in bits]
        out.append({"name": f"u{j}", "size": int(rng.integers(1, 6)),
                    "options": [{"bits": int(b), "error": e} for b, e in zip(bits, errors, strict=True)]})
    return out


def brute_force(data: dict) -> float | None:
    units = data["units"]
    total = data["budget"].get("total_bits")
    if total is None:
        total = data["budget"]["average_bits"] * sum(u["size"] for u in units)
    floor = data.get("min_bits", -math.inf)
    best = None
    for pick in itertools.product(*(u["options"] for u in units)):
        if any(o["bits"] < floor for o in pick):
            continue
        if sum(u["size"] * o["bits"] for u, o in zip(units, pick, strict=True)) <= total + 1e-9:
            err = sum(o["error"] for o in pick)
            best = err if best is None else min(best, err)
    return best


def dp_optimum(data: dict) -> float | None:
    """Exact DP over the integer budget (integer bits and sizes): an independent second method."""
    units = data["units"]
    total = int(data["budget"]["total_bits"])
    inf = math.inf
    best = np.full(total + 1, inf)
    best[0] = 0.0
    for u in units:
        nxt = np.full(total + 1, inf)
        for o in u["options"]:
            cost = u["size"] * int(o["bits"])
            if cost <= total:
                nxt[cost:] = np.minimum(nxt[cost:], best[: total + 1 - cost] + o["error"])
        best = nxt
    value = float(best.min())
    return None if value == inf else value


def test_milp_greedy_convex_against_brute_force() -> None:
    rng = np.random.default_rng(42)
    for trial in range(60):
        data = {"units": random_units(rng, int(rng.integers(1, 5)))}
        sizes = sum(u["size"] for u in data["units"])
        data["budget"] = {"total_bits": int(sizes * rng.uniform(1.5, 7.0))}
        if trial % 4 == 0:
            data["min_bits"] = 3
        doc = instance_doc("bit_allocation", data)
        optimum = brute_force(data)
        for method in ("milp", "greedy", "convex"):
            result = allocopt.solve(doc, method=method)
            if optimum is None:
                assert result.status == "infeasible" and result.message, (method, data)
                continue
            assert result.verified, (method, data, result)
            if method == "milp":
                assert result.status == "optimal"
                assert result.objective == pytest.approx(optimum, rel=1e-9)
            else:
                assert result.objective >= optimum * (1 - 1e-9)
                assert result.bound <= optimum * (1 + 1e-9) + 1e-15, (method, data, result)


def test_milp_equals_independent_dp_on_random_instances() -> None:
    rng = np.random.default_rng(7)
    for _ in range(6):
        units = random_units(rng, 30, every_width=True)
        total = int(sum(u["size"] for u in units) * 4)
        data = {"units": units, "budget": {"total_bits": total}}
        expected = dp_optimum(data)
        result = allocopt.solve(instance_doc("bit_allocation", data), method="milp")
        assert result.status == "optimal"
        assert result.objective == pytest.approx(expected, rel=1e-9)
        greedy = allocopt.solve(instance_doc("bit_allocation", data), method="greedy")
        assert greedy.bound <= expected * (1 + 1e-9) <= greedy.objective * (1 + 2e-9)


def test_tiny_errors_are_still_solved_to_the_true_optimum() -> None:
    """Errors of 1e-9 would pass HiGHS's absolute gap unscaled; the scaled model finds the optimum."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        units = random_units(rng, 12, scale=1e-9, every_width=True)
        total = int(sum(u["size"] for u in units) * 3.5)
        data = {"units": units, "budget": {"total_bits": total}}
        result = allocopt.solve(instance_doc("bit_allocation", data), method="milp")
        assert result.objective == pytest.approx(dp_optimum(data), rel=1e-9)


def test_convex_relaxation_closed_form_equals_cvxpy_and_bounds_the_model() -> None:
    rng = np.random.default_rng(11)
    a = rng.uniform(0.1, 10, 20)
    sizes = rng.integers(10, 100, 20)
    widths = [2, 3, 4, 5, 6, 8]
    units = [{"name": f"l{j}", "size": int(s), "options": [{"bits": b, "error": float(aj * 4.0**-b)} for b in widths]}
             for j, (aj, s) in enumerate(zip(a, sizes, strict=True))]
    doc = instance_doc("bit_allocation", {"units": units, "budget": {"average_bits": 4.3}, "min_bits": 2})
    closed = allocopt.solve(doc, method="convex")
    conic = allocopt.solve(doc, method="convex", solver="clarabel")
    c1, c2 = closed.details["continuous_optimum"], conic.details["continuous_optimum"]
    assert c1 == pytest.approx(c2, rel=1e-6)
    exact = allocopt.solve(doc, method="milp")
    # the errors follow the model exactly, so the continuous optimum is a lower bound on the discrete one
    assert c1 <= exact.objective * (1 + 1e-9)
    assert exact.objective <= closed.objective * (1 + 1e-12)
    frac = np.asarray(closed.details["fractional_bits"])
    assert float(np.dot(sizes, frac)) == pytest.approx(4.3 * sizes.sum(), rel=1e-6)


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"units": [{"name": "a", "size": 4, "options": [{"bits": 4, "error": 1}, {"bits": 2, "error": 3}]}],
          "budget": {"average_bits": 4}}, "data.units[0].options[1].bits", "increasing bits"),
        ({"units": [{"name": "a", "size": 4, "options": [{"bits": 4, "error": -1}]}], "budget": {"average_bits": 4}},
         "data.units[0].options[0].error", ">= 0"),
        ({"units": [{"name": "a", "size": 0, "options": [{"bits": 4, "error": 1}]}], "budget": {"average_bits": 4}},
         "data.units[0].size", ">= 1"),
        ({"units": [{"name": "a", "size": 4, "options": [{"bits": 0, "error": 1}]}], "budget": {"average_bits": 4}},
         "data.units[0].options[0].bits", "> 0"),
        ({"units": [{"name": "a", "size": 4, "options": []}], "budget": {"average_bits": 4}},
         "data.units[0].options", "at least 1"),
        ({"units": [], "budget": {"average_bits": 4, "total_bits": 3}}, "data.budget", "exactly one of"),
        ({"units": [{"name": "a", "size": 4, "options": [{"bits": 4, "error": 1, "note": 2}]}],
          "budget": {"average_bits": 4}}, "data.units[0].options[0].note", "unknown key"),
    ],
)
def test_bad_files(data: dict, path: str, words: str) -> None:
    with pytest.raises(InstanceError) as info:
        allocopt.instance_from_dict(instance_doc("bit_allocation", data), source="b.json")
    assert str(info.value).startswith(f"b.json: {path}:") and words in str(info.value), str(info.value)


def test_budget_below_the_cheapest_choice_is_infeasible_not_an_exception() -> None:
    units = [{"name": "a", "size": 10, "options": [{"bits": 2, "error": 1.0}, {"bits": 4, "error": 0.1}]}]
    doc = instance_doc("bit_allocation", {"units": units, "budget": {"average_bits": 1.5}})
    for method in ("milp", "greedy", "convex", "auto"):
        result = allocopt.solve(doc, method=method)
        assert result.status == "infeasible" and "cheapest choice needs 20 bits" in result.message
    doc["data"] = {"units": units, "budget": {"average_bits": 8}, "min_bits": 5}
    assert "no option with at least min_bits" in allocopt.solve(doc).message
