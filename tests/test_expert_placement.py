"""expert_placement through the front door: EPLB by hand, the MILP against brute force, greedy against the MILP."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import instance_doc

import allocopt
import allocopt.methods.expert_placement  # registers the problem
from allocopt.errors import InstanceError
from allocopt.models.expert_placement import replica_load_bound
from allocopt.solvers import eplb

TOL = 1e-9


def doc(loads: list[float], devices: int, slots: int) -> dict[str, Any]:
    return instance_doc("expert_placement", {"loads": loads, "devices": devices, "slots_per_device": slots})


def brute_force(loads: list[float], devices: int, slots: int) -> float:
    """Every way to fill the G x S slots with experts (each at least once): the least largest device load."""
    E, N = len(loads), devices * slots
    best = np.inf
    for fill in itertools.product(range(E), repeat=N):
        counts = [fill.count(e) for e in range(E)]
        if min(counts) == 0:
            continue
        worst = max(sum(loads[e] / counts[e] for e in fill[g * slots : (g + 1) * slots]) for g in range(devices))
        best = min(best, worst)
    return float(best)


# --------------------------------------------------------------------------------------------- EPLB by hand
def test_eplb_by_hand_balanced() -> None:
    # loads 6 3 2 1 on 2 devices x 3 slots: 2 extra replicas.
    # D'Hondt: per-replica loads 6 3 2 1 -> expert 0 gets one (6/2 = 3); now 3 (e0) ties 3 (e1): the lower
    # index, expert 0, gets the next (6/3 = 2). Replicas [3, 1, 1, 1]; per-replica 2 2 2 | 3 | 2 | 1.
    # Pack, largest first (ties by expert): e1 3 -> dev0 (3, 0); e0 2 -> dev1 (3, 2); e0 2 -> dev1 (3, 4);
    # e0 2 -> dev0 (5, 4); e2 2 -> dev1 (5, 6, full); e3 1 -> dev0 (6, 6). Average load 12 / 2 = 6: optimal.
    result = allocopt.solve(doc([6, 3, 2, 1], 2, 3), method="greedy", local_search=False)
    assert result.solution == {"devices": [[0, 1, 3], [0, 0, 2]]}
    assert result.details["replicas"] == [3, 1, 1, 1]
    assert result.objective == 6 and result.bound == 6 and result.status == "optimal"


def test_eplb_by_hand_then_the_local_search_moves_a_replica() -> None:
    # loads 10 4 4 2 on 3 devices x 2 slots: D'Hondt gives expert 0 the 2 extra (10/2 = 5 > 4, then 5 > 4):
    # replicas [3, 1, 1, 1], per-replica 10/3 x3 | 4 | 4 | 2. Pack: e1 4 -> dev0; e2 4 -> dev1; e0 -> dev2;
    # e0 -> dev2 (3.33 lightest; full at 6.67); e0 -> dev0 (4 ties 4: lowest index; 7.33, full); e3 -> dev1 (6).
    # EPLB: [[0, 1], [2, 3], [0, 0]], largest load 22/3.
    data = doc([10, 4, 4, 2], 3, 2)
    result = allocopt.solve(data, method="greedy", local_search=False)
    assert result.solution == {"devices": [[0, 1], [2, 3], [0, 0]]}
    assert result.objective == pytest.approx(22 / 3, abs=TOL)
    # Better: replicas [2, 2, 1, 1] -> devices {0, 1}, {0, 1}, {2, 3} with loads 5+2, 5+2, 4+2: largest 7.
    # (The other replications are worse: [3,1,1,1] >= 22/3, [2,1,2,1] = 7 by symmetry, [2,1,1,2] >= 8.)
    improved = allocopt.solve(data, method="greedy")
    assert improved.objective == pytest.approx(7, abs=TOL)
    assert improved.details["replicas"] == [2, 2, 1, 1] and improved.details["eplb_objective"] == pytest.approx(22 / 3)
    assert brute_force([10, 4, 4, 2], 3, 2) == pytest.approx(7)


def test_eplb_by_hand_two_replicas_on_one_device() -> None:
    # loads 9 1 on 2 devices x 2 slots: D'Hondt gives expert 0 both extras (9/2 = 4.5 > 1, then 4.5 > 1):
    # per-replica 3 3 3 1. Pack: e0 -> dev0; e0 -> dev1; e0 -> dev0 (3 ties 3: lowest index; 6); e1 -> dev1 (4).
    # Expert 0 sits twice on device 0: [[0, 0], [0, 1]], largest load 6. No swap or replica move helps (device 0
    # holds expert 0 only, and only expert 0 has a replica to give). The replication variants pin expert 0 at
    # fewer replicas; the first (1 replica, expert 1 gets 3) is improved by moving a replica back to expert 0,
    # reaching replicas [2, 2]: (4.5 + 0.5) on both devices = 5 = the average load.
    data = doc([9, 1], 2, 2)
    result = allocopt.solve(data, method="greedy", local_search=False)
    assert result.solution == {"devices": [[0, 0], [0, 1]]} and result.objective == 6
    improved = allocopt.solve(data, method="greedy")
    assert improved.solution == {"devices": [[0, 1], [0, 1]]} and improved.status == "optimal"
    assert improved.details["pinned"]["expert"] == 0 and improved.details["replicas"] == [2, 2]


# --------------------------------------------------------------------------------------------- exact
def test_milp_equals_brute_force_on_tiny_instances() -> None:
    rng = np.random.default_rng(41)
    for trial in range(30):
        E = int(rng.integers(1, 5))
        S = int(rng.integers(1, 3))
        fewest = -(-E // S)  # devices needed for a slot per expert
        G = int(rng.integers(fewest, fewest + 2))
        if G * S > 6:  # at most 4^6 fillings to enumerate
            G = fewest
        loads = [float(x) for x in rng.choice([0, 1, 2, 3, 5, 8, 13, 21, 34], E)]
        if trial % 3 == 0:
            loads = [round(x + float(rng.random()), 3) for x in loads]
        expected = brute_force(loads, G, S)
        exact = allocopt.solve(doc(loads, G, S), method="milp")
        assert exact.status == "optimal" and exact.verified, (loads, G, S, exact)
        assert exact.objective == pytest.approx(expected, abs=1e-6 * max(1, expected)), (loads, G, S)
        greedy = allocopt.solve(doc(loads, G, S), method="greedy")
        assert greedy.objective >= expected - 1e-9 and greedy.bound <= expected + 1e-9, (loads, G, S)


def test_greedy_never_beats_the_milp_nor_its_bound() -> None:
    rng = np.random.default_rng(8)
    for _ in range(12):
        G, S = int(rng.integers(1, 5)), int(rng.integers(1, 4))
        E = int(rng.integers(1, min(8, G * S) + 1))
        loads = np.round(rng.pareto(1.2, E) * 100 + 1, 1).tolist()  # skewed, like real expert loads
        data = doc(loads, G, S)
        exact = allocopt.solve(data, method="milp")
        greedy = allocopt.solve(data, method="greedy")
        assert exact.status == "optimal", (loads, G, S)
        assert greedy.verified and greedy.status in ("optimal", "feasible")
        assert greedy.objective >= exact.objective - 1e-6 * exact.objective, (loads, G, S)
        assert greedy.bound <= exact.objective + 1e-6 * exact.objective, (loads, G, S)
        assert greedy.details["eplb_objective"] >= greedy.objective - 1e-9  # the local search never hurts


def test_both_lower_bounds_agree_and_bind() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        E = int(rng.integers(1, 40))
        G, S = int(rng.integers(1, 9)), int(rng.integers(1, 6))
        if G * S < E:
            continue
        loads = rng.pareto(1.0, E) * 10
        independent = max(float(loads.sum()) / G, replica_load_bound(loads.tolist(), G * S))
        assert eplb.lower_bound(loads, G, G * S)[0] == pytest.approx(independent, rel=1e-12)
    # one dominant expert: the D'Hondt per-replica load binds, not the average
    result = allocopt.solve(doc([100, 1, 1, 1], 4, 1), method="greedy")
    assert result.details["bound_kind"] == "replica_load" and result.bound == 100 and result.status == "optimal"


# --------------------------------------------------------------------------------------------- data, auto
def test_too_few_slots_names_the_field() -> None:
    with pytest.raises(InstanceError) as err:
        allocopt.instance_from_dict(doc([1, 2, 3, 4, 5], 2, 2))
    assert err.value.path == ("data", "slots_per_device")
    assert "data.slots_per_device" in str(err.value) and "2 x 2 = 4" in str(err.value)
    with pytest.raises(InstanceError, match=r"data\.devices"):
        allocopt.instance_from_dict(doc([1], 0, 2))


def test_checker_rejects_wrong_slot_counts_and_missing_experts() -> None:
    data = doc([4, 2, 1], 2, 2)
    assert not allocopt.verify(data, {"devices": [[0, 1], [2]]}).feasible
    assert not allocopt.verify(data, {"devices": [[0, 1], [1, 1]]}).feasible  # expert 2 has no replica
    verdict = allocopt.verify(data, {"devices": [[0, 1], [0, 2]]})
    assert verdict.feasible and verdict.objective == pytest.approx(4)  # max(2 + 2, 2 + 1)


def test_auto_picks_the_milp_only_where_it_proves_fast() -> None:
    assert allocopt.solve(doc([5, 3, 2, 2, 1], 3, 2)).method == "milp"
    big = allocopt.solve(doc(list(range(1, 33)), 8, 5))
    assert big.method == "greedy" and big.verified
    zero = allocopt.solve(doc([0, 0, 0], 2, 2))
    assert zero.status == "optimal" and zero.objective == 0


def test_instance_and_solution_files_round_trip(tmp_path: Path) -> None:
    from allocopt.envelope import instance_to_dict, load_solution

    original = doc([3.5, 1, 2, 0], 3, 2)
    inst = allocopt.instance_from_dict(original)
    assert instance_to_dict(inst)["data"] == original["data"]
    allocopt.save(allocopt.solve(inst, method="milp"), tmp_path / "t.solution.json")
    verdict = allocopt.check(inst, load_solution(tmp_path / "t.solution.json"))
    assert verdict.feasible and verdict.objective == pytest.approx(brute_force([3.5, 1, 2, 0], 3, 2))


def test_committed_moe_instances_are_regenerated_and_solved(tmp_path: Path) -> None:
    # The generator reproduces the committed files exactly; the greedy places every expert within its bound,
    # and the loads are skewed as a router without an auxiliary loss makes them (the busiest expert takes
    # well over twice its share).
    import importlib.util
    import json

    from conftest import INSTANCES

    folder = INSTANCES / "expert_placement"
    spec = importlib.util.spec_from_file_location("generate_moe", folder / "source" / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.HERE = tmp_path
    gen.write("moe-64-experts-8-devices", experts=64, devices=8, slots=9, tokens=16_384, seed=1)
    gen.write("moe-256-experts-32-devices", experts=256, devices=32, slots=9, tokens=65_536, seed=2)
    for name in ("moe-64-experts-8-devices", "moe-256-experts-32-devices"):
        committed = json.loads((folder / f"{name}.json").read_text())
        assert json.loads((tmp_path / f"{name}.json").read_text()) == committed
        loads = np.array(committed["data"]["loads"])
        assert loads.max() > 2 * loads.mean()
        result = allocopt.solve(folder / f"{name}.json")
        assert result.verified and result.method == "greedy"
        assert result.bound <= result.objective <= 1.01 * result.bound
