"""expert_spill through the front door: LLEP by hand, the MILP against brute force and CP-SAT, the lower bound.

- brute force over every integral plan of tiny instances (hypothesis): ``milp`` (with and without LLEP's start)
  finds the fewest transfers, its ``exact`` balance the least largest load among those; the greedy is verified
  and never below the optimum, and the chunk lower bound never above it;
- a CP-SAT model written here (sharing nothing with the library) agrees with the MILP on larger random
  instances;
- LLEP traced by hand, including a step where least-loaded spilling costs a transfer the MILP saves;
- without a minimum chunk the greedy always finds a plan when the tokens fit;
- the checker rejects wrong sums, overfull devices and pieces below the minimum chunk;
- bad files exit 2 with the JSON path; too many tokens is an ``infeasible`` result with the reason;
- the committed instances are what their seeded generator makes, and ``auto`` solves them.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import INSTANCES, instance_doc, instance_files
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

import allocopt
import allocopt.methods.expert_spill  # registers the problem
from allocopt.cli import main
from allocopt.errors import UsageError
from allocopt.models import expert_spill as spill_model

SPILL_DIR = INSTANCES / "expert_spill"
SPILL_FILES = instance_files(SPILL_DIR)


def doc(data: dict[str, Any]) -> dict[str, Any]:
    return instance_doc("expert_spill", data)


def capacity_of(data: dict[str, Any]) -> int:
    """C recomputed here: ceil(alpha x total / G) with alpha as the decimal written, in integer arithmetic."""
    if "capacity" in data:
        return data["capacity"]
    num, den = str(data["alpha"]), 1
    if "." in num:
        whole, frac = num.split(".")
        num, den = whole + frac, 10 ** len(frac)
    top = int(num) * sum(data["loads"])
    bottom = den * data["devices"]
    return -(-top // bottom)


def home_of(data: dict[str, Any]) -> list[int]:
    E, G = len(data["loads"]), data["devices"]
    return data.get("home", [e * G // E for e in range(E)])


def compositions(total: int, parts: int) -> list[tuple[int, ...]]:
    """Every way to write ``total`` as an ordered sum of ``parts`` non-negative integers."""
    if parts == 1:
        return [(total,)]
    return [(first, *rest) for first in range(total + 1) for rest in compositions(total - first, parts - 1)]


def brute_force(data: dict[str, Any]) -> tuple[int, int] | None:
    """(fewest transfers, least largest device load among plans with that many), or None when no plan exists."""
    loads, G = data["loads"], data["devices"]
    home, C, m = home_of(data), capacity_of(data), data.get("min_chunk", 1)
    rows = []
    for e, load in enumerate(loads):
        least = min(m, load)
        ok = [r for r in compositions(load, G) if all(g == home[e] or y == 0 or y >= least for g, y in enumerate(r))]
        rows.append(ok)
    best: tuple[int, int] | None = None
    for plan in itertools.product(*rows):
        device = [sum(r[g] for r in plan) for g in range(G)]
        if max(device) > C:
            continue
        transfers = sum(1 for e, r in enumerate(plan) for g, y in enumerate(r) if g != home[e] and y > 0)
        value = (transfers, max(device))
        best = value if best is None or value < best else best
    return best


def cp_sat_optimum(data: dict[str, Any]) -> int | None:
    """Fewest transfers by CP-SAT, a formulation of this test's own (Booleans for 'expert e runs on device d')."""
    loads, G = data["loads"], data["devices"]
    home, C, m = home_of(data), capacity_of(data), data.get("min_chunk", 1)
    cp = cp_model.CpModel()
    y = [[cp.NewIntVar(0, load, f"y{e}_{g}") for g in range(G)] for e, load in enumerate(loads)]
    used = []
    for e, load in enumerate(loads):
        cp.Add(sum(y[e]) == load)
        for g in range(G):
            if g == home[e]:
                continue
            b = cp.NewBoolVar(f"b{e}_{g}")
            cp.Add(y[e][g] >= min(m, load)).OnlyEnforceIf(b)
            cp.Add(y[e][g] == 0).OnlyEnforceIf(b.Not())
            used.append(b)
    for g in range(G):
        cp.Add(sum(y[e][g] for e in range(len(loads))) <= C)
    cp.Minimize(sum(used))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = 20
    status = solver.Solve(cp)
    if status == cp_model.INFEASIBLE:
        return None
    assert status == cp_model.OPTIMAL
    return round(solver.ObjectiveValue())


@st.composite
def tiny(draw: st.DrawFn) -> dict[str, Any]:
    E = draw(st.integers(1, 3))
    G = draw(st.integers(1, 3))
    loads = draw(st.lists(st.integers(0, 6), min_size=E, max_size=E))
    data: dict[str, Any] = {"loads": loads, "devices": G}
    if draw(st.booleans()):
        data["home"] = draw(st.lists(st.integers(0, G - 1), min_size=E, max_size=E))
    if draw(st.booleans()):
        data["alpha"] = draw(st.sampled_from([0.9, 1, 1.1, 1.25, 1.5, 2]))
    else:
        data["capacity"] = draw(st.integers(0, 8))
    data["min_chunk"] = draw(st.integers(1, 4))
    return data


# ------------------------------------------------------------------------------------------ brute force
@settings(max_examples=60, deadline=None)
@given(tiny())
def test_milp_matches_brute_force_and_greedy_brackets_it(data: dict[str, Any]) -> None:
    best = brute_force(data)
    inst = doc(data)
    lower, _ = spill_model.transfer_lower_bound(allocopt.instance_from_dict(inst).data)
    for opts in ({"balance": "exact"}, {"start": False, "balance": "none"}):
        r = allocopt.solve(inst, method="milp", **opts)
        if best is None:
            assert r.status == "infeasible" and r.message, (data, opts)
            continue
        assert r.status == "optimal" and r.objective == best[0], (data, opts, best)
        assert r.details["transfers"] == best[0] and r.details["max_load"] <= capacity_of(data)
        if opts["balance"] == "exact":
            assert r.details["max_load"] == best[1] and r.details["max_load_optimal"], (data, best)
    g = allocopt.solve(inst, method="greedy")
    if best is None:
        assert g.status in ("infeasible", "no_solution")
        return
    assert lower <= best[0], (data, lower, best)  # the proposition
    if g.status == "no_solution":  # the minimum chunk can defeat LLEP's spill
        assert g.bound <= best[0] and "expert" in g.message
        return
    assert g.verified and g.objective >= best[0] and g.bound <= best[0], (data, best)
    assert g.details["max_load"] <= capacity_of(data)


def test_exact_balance_finds_the_lexicographic_optimum_by_hand() -> None:
    # Loads 4 4 on device 0 and 0 on device 1, capacity 8: no transfer is needed (largest load 8), and balancing
    # cannot change that without a transfer. With capacity 6 one transfer is needed; then the best split is 4/4.
    inst = doc({"loads": [4, 4, 0], "devices": 2, "home": [0, 0, 1], "capacity": 8})
    r = allocopt.solve(inst, method="milp", balance="exact")
    assert (r.objective, r.details["max_load"], r.details["home_max_load"]) == (0, 8, 8)
    inst = doc({"loads": [4, 4, 0], "devices": 2, "home": [0, 0, 1], "capacity": 6})
    r = allocopt.solve(inst, method="milp", balance="exact")
    assert (r.objective, r.details["max_load"]) == (1, 4) and r.details["max_load_optimal"]
    assert brute_force({"loads": [4, 4, 0], "devices": 2, "home": [0, 0, 1], "capacity": 6}) == (1, 4)


# ------------------------------------------------------------------------------------------ CP-SAT
def test_milp_matches_an_independent_cp_sat_model_on_random_instances() -> None:
    rng = np.random.default_rng(11)
    for _ in range(12):
        E, G = int(rng.integers(3, 9)), int(rng.integers(2, 5))
        loads = np.round(rng.lognormal(2.5, 1.0, E)).astype(int).tolist()
        data = {
            "loads": loads,
            "devices": G,
            "alpha": float(rng.choice([1.0, 1.1, 1.25])),
            "min_chunk": int(rng.integers(1, 6)),
        }
        expected = cp_sat_optimum(data)
        r = allocopt.solve(doc(data), method="milp", balance="none")
        if expected is None:
            assert r.status == "infeasible", data
        else:
            assert r.status == "optimal" and r.objective == expected, (data, expected)


# ------------------------------------------------------------------------------------------ LLEP by hand
def test_llep_by_hand_meets_the_lower_bound() -> None:
    # Loads 6 5 | 1 1 on 2 devices (contiguous homes: experts 0, 1 on device 0), capacity 7.
    # e0 (6): pending of device 0 drops to 5, room 7 - 5 = 2: home keeps 2, spills 4 to device 1 (the only other;
    # effective load 2, room 5). e1 (5): room 7 - 2 = 5, stays home. e2, e3 (1 each) stay on device 1.
    # Device 0's excess is 11 - 7 = 4 and e0's single chunk is 6 >= 4: the bound is 1, so the plan is optimal.
    inst = doc({"loads": [6, 5, 1, 1], "devices": 2, "capacity": 7})
    r = allocopt.solve(inst, method="greedy")
    assert r.solution == {"tokens": [[2, 4], [5, 0], [0, 1], [0, 1]]}
    assert r.status == "optimal" and r.objective == r.bound == 1
    assert r.details["max_load"] == 7 and r.details["home_max_load"] == 11 and r.details["device_loads"] == [7, 6]


def test_least_loaded_spill_can_cost_a_transfer() -> None:
    # Capacity 10 on 4 devices; device 0 holds experts of 9 and 4 (excess 3), device 1 experts of 8 and 7 (excess
    # 5), device 2 one of 5 (room 5), device 3 one of 7 (room 3).
    # LLEP, largest first: e0 (9): home keeps 10 - 4 = 6, spills 3 to the least loaded, device 2 (5 < 7), which
    # keeps room 2. e2 (8): home keeps 10 - 7 = 3, spills 5: 3 to device 3 (effective 7), then 2 to device 2.
    # Three transfers. Better: device 0's 3 tokens to device 3, device 1's 5 to device 2: two, the lower bound.
    data = {"loads": [9, 4, 8, 7, 5, 7], "devices": 4, "home": [0, 0, 1, 1, 2, 3], "capacity": 10}
    g = allocopt.solve(doc(data), method="greedy")
    assert g.solution["tokens"][0] == [6, 0, 3, 0] and g.solution["tokens"][2] == [0, 3, 2, 3]
    assert (g.objective, g.bound, g.status) == (3, 2, "feasible")
    r = allocopt.solve(doc(data), method="milp")
    assert r.status == "optimal" and r.objective == 2 and r.details["start_transfers"] == 3
    assert cp_sat_optimum(data) == 2


def test_receivers_with_little_room_defeat_the_chunk_bound() -> None:
    # Device 0 must move 3 tokens (experts 10 and 2, capacity 9) but the others have room 2 each: two pieces.
    # The proposition only knows pieces of at most C = 9, so it says 1: a valid bound, not a tight one.
    data = {"loads": [10, 2, 7, 7], "devices": 3, "home": [0, 0, 1, 2], "capacity": 9}
    g = allocopt.solve(doc(data), method="greedy")
    assert g.verified and (g.objective, g.bound) == (2, 1)
    r = allocopt.solve(doc(data), method="milp")
    assert r.status == "optimal" and r.objective == 2 == cp_sat_optimum(data)


def test_proposition_counts_chunks_of_capacity() -> None:
    # One expert of 25 tokens on device 0 of 3, capacity 10: excess 15, chunks 10, 10, 5 -> two pieces; the
    # other devices are empty, so two transfers suffice (10 + 10 + 5 at home).
    inst = allocopt.instance_from_dict(doc({"loads": [25, 0, 0], "devices": 3, "capacity": 10}))
    assert spill_model.transfer_lower_bound(inst.data) == (2, [2, 0, 0])
    r = allocopt.solve(inst, method="greedy")
    assert r.status == "optimal" and r.objective == 2


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 400), min_size=1, max_size=40),
    st.integers(1, 8),
    st.sampled_from([1, 1.05, 1.1, 1.5]),
)
def test_without_a_minimum_chunk_llep_always_finds_a_plan(loads: list[int], G: int, alpha: float) -> None:
    r = allocopt.solve(doc({"loads": loads, "devices": G, "alpha": alpha}), method="greedy")
    assert r.verified and r.bound <= r.objective and r.details["max_load"] <= r.details["capacity"]


# ------------------------------------------------------------------------------------------ capacity and checker
def test_alpha_capacity_is_exact_decimal_arithmetic() -> None:
    # 1.1 x 30 / 3 is 11.000000000000002 in floating point; the capacity is 11, not 12.
    inst = allocopt.instance_from_dict(doc({"loads": [10, 10, 10], "devices": 3, "alpha": 1.1}))
    assert inst.data.capacity == 11 == capacity_of({"loads": [10, 10, 10], "devices": 3, "alpha": 1.1})
    inst = allocopt.instance_from_dict(doc({"loads": [10, 10, 11], "devices": 3, "alpha": 1}))
    assert inst.data.capacity == 11  # rounded up: alpha = 1 always fits


def test_checker_rejects_bad_plans() -> None:
    inst = doc({"loads": [5, 2], "devices": 2, "home": [0, 0], "capacity": 5, "min_chunk": 3})
    assert allocopt.verify(inst, {"tokens": [[2, 3], [2, 0]]}).objective == 1
    assert allocopt.verify(inst, {"tokens": [[3, 0], [0, 2]]}).feasible is False  # row 0 sums to 3, not 5
    over = allocopt.verify(inst, {"tokens": [[5, 0], [2, 0]]})
    assert not over.feasible and "above the capacity 5" in over.reason
    small = allocopt.verify(inst, {"tokens": [[4, 1], [1, 1]]})
    assert not small.feasible and "below the minimum chunk" in small.reason
    # Expert 1 has 2 tokens < min_chunk 3: moving it whole is one valid piece.
    assert allocopt.verify(inst, {"tokens": [[5, 0], [0, 2]]}).objective == 1
    assert not allocopt.verify(inst, {"tokens": [[5, 0]]}).feasible
    assert not allocopt.verify(inst, {"tokens": [[5, 0], [2, -0.5]]}).feasible
    assert not allocopt.verify(inst, {"tokens": [[5, 0], [2]]}).feasible


def test_too_many_tokens_is_an_infeasible_result_with_the_reason() -> None:
    inst = doc({"loads": [10, 10, 10], "devices": 3, "alpha": 0.9})
    for method in ("auto", "milp", "greedy"):
        r = allocopt.solve(inst, method=method)
        assert r.status == "infeasible" and "exceed the devices' room, 3 devices x capacity 9" in r.message


def test_minimum_chunk_infeasibility_is_proven_by_the_milp() -> None:
    # Capacity 4, experts of 5 and 3 on device 0, device 1 empty, min chunk 5: expert 0 may only move whole
    # (5 > 4), expert 1 only whole (3 tokens < 5), and keeping either at home leaves device 0 over 4.
    inst = doc({"loads": [5, 3], "devices": 2, "home": [0, 0], "capacity": 4, "min_chunk": 5})
    assert brute_force(inst["data"]) is None
    r = allocopt.solve(inst, method="milp")
    assert r.status == "infeasible" and "minimum chunk" in r.message
    g = allocopt.solve(inst, method="greedy")
    assert g.status == "no_solution" and "expert 0" in g.message


# ------------------------------------------------------------------------------------------ models and options
def test_user_extended_model() -> None:
    data = {"loads": [9, 4, 8, 7, 5, 7], "devices": 4, "home": [0, 0, 1, 1, 2, 3], "capacity": 10}
    inst = allocopt.instance_from_dict(doc(data))
    mdl = allocopt.build_model(inst)
    mdl.transfer[0, 3].fix(0)  # device 0's experts may not go to device 3: the 2-transfer plan is gone
    mdl.transfer[1, 3].fix(0)
    r = allocopt.solve(inst, method="milp", model=mdl, start=False)
    assert r.status == "optimal" and r.objective == 3 and r.verified
    assert r.solution["tokens"][0][3] == r.solution["tokens"][1][3] == 0
    assert mdl.transfers.active and not mdl.largest_load.active and not hasattr(mdl, "transfer_limit")
    with pytest.raises(UsageError, match="option start needs the library's own model"):
        allocopt.solve(inst, method="milp", model=mdl, start=True)
    with pytest.raises(UsageError, match="balance"):
        allocopt.solve(inst, method="milp", balance="yes")


def test_round_trip_of_the_data() -> None:
    for data in (
        {"loads": [3, 0, 7], "devices": 2, "alpha": 1.25, "min_chunk": 2},
        {"loads": [3, 0, 7], "devices": 2, "home": [1, 1, 0], "capacity": 6},
    ):
        d = allocopt.instance_from_dict(doc(data)).data
        assert spill_model.to_data(d) == data
        again = spill_model.parse(spill_model.to_data(d))
        assert again.capacity == d.capacity and again.home.tolist() == d.home.tolist()


# ------------------------------------------------------------------------------------------ files and CLI
def _generator() -> Any:
    path = SPILL_DIR / "source" / "generate.py"
    spec = importlib.util.spec_from_file_location("spill_generate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_loads_are_the_seeded_generators() -> None:
    gen = _generator()
    expected = {
        "moe-64-experts-8-devices": gen.router_loads(16_384, 64, k=2, sigma=1.0, seed=1),
        "moe-256-experts-32-devices": gen.router_loads(65_536, 256, k=2, sigma=1.0, seed=2),
        "hotspot-32-experts-8-devices": gen.hotspot_loads(8_192, 32, k=2, fraction=0.5, hot=4, seed=3),
    }
    for name, loads in expected.items():
        assert json.loads((SPILL_DIR / f"{name}.json").read_text())["data"]["loads"] == loads


@pytest.mark.parametrize("path", SPILL_FILES, ids=lambda p: p.name)
def test_committed_instances_solve_with_auto(path: Path) -> None:
    assert main(["validate", str(path)]) == 0
    inst = allocopt.load(path)
    r = allocopt.solve(inst, time_limit=5)
    assert r.verified and r.details["max_load"] <= r.details["capacity"] < r.details["home_max_load"]
    ref = inst.reference or {}
    if "optimum" in ref:
        assert r.status == "optimal" and r.objective == ref["optimum"]
    else:
        assert ref["lower"] <= r.bound <= r.objective <= ref["upper"]


def test_cli_solve_then_check(tmp_path: Path) -> None:
    src = SPILL_DIR / "moe-64-experts-8-devices.json"
    for method in ("milp", "greedy"):
        out = tmp_path / method
        assert main(["solve", str(src), "--method", method, "--out", str(out)]) == 0
        sol = out / "moe-64-experts-8-devices.solution.json"
        written = json.loads(sol.read_text())
        assert written["verified"] and written["status"] == "optimal" and written["objective"] == 3
        assert main(["check", str(src), str(sol)]) == 0


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"loads": [3, 2.5], "devices": 2, "alpha": 1}, "data.loads"),
        ({"loads": [3, -1], "devices": 2, "alpha": 1}, "data.loads"),
        ({"loads": [3, 2], "devices": 0, "alpha": 1}, "data.devices"),
        ({"loads": [3, 2], "devices": 2, "home": [0], "alpha": 1}, "data.home"),
        ({"loads": [3, 2], "devices": 2, "home": [0, 2], "alpha": 1}, "data.home[1]"),
        ({"loads": [3, 2], "devices": 2, "alpha": 1, "capacity": 4}, "data.capacity"),
        ({"loads": [3, 2], "devices": 2}, "data.alpha"),
        ({"loads": [3, 2], "devices": 2, "alpha": 0}, "data.alpha"),
        ({"loads": [3, 2], "devices": 2, "alpha": 1, "min_chunk": 0}, "data.min_chunk"),
        ({"loads": [3, 2], "devices": 2, "alpha": 1, "chunk": 4}, "chunk"),
    ],
)
def test_bad_instances_exit_2_with_the_json_path(
    data: dict[str, Any], path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(doc(data)))
    assert main(["validate", str(src)]) == 2
    assert path in capsys.readouterr().err
    assert main(["solve", str(src), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
