"""budgeted_coverage through the front door, against numbers nobody here computed.

- brute force over every subset of tiny random instances (integral and decimal data, free components, skills of
  weight 0, components over budget): milp and cp reach it; the greedy is verified, within (1 - 1/e) of it at
  depth 3 (Khuller-Moss-Naor) and within (1 - 1/e) / 2 at every depth, and its LP bound is above it; the online
  composer is verified and its bound and competitive ratio are the offline optimum's;
- milp against CP-SAT on random instances too large to enumerate (hypothesis);
- disjoint skill sets make the problem a 0/1 knapsack: milp equals the knapsack's exact dp, and the online composer
  takes exactly the knapsack's online_zcl decisions; Pisinger's stated optima on the converted instances;
- the LP bound equals the LP relaxation's optimum (solved here through the relaxed Pyomo model);
- the online composer's decisions traced by hand; the greedy's partial enumeration on the KMN example;
- the checker, bad input (exit 2 with the JSON path), bad options, user extensions of both models;
- every committed instance reaches its reference with auto.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyomo.environ as pyo
import pytest
from conftest import INSTANCES, instance_doc, instance_files
from hypothesis import given, settings
from hypothesis import strategies as st

import allocopt
import allocopt.methods.budgeted_coverage  # registers the problem
from allocopt.cli import main
from allocopt.errors import UsageError
from allocopt.models import budgeted_coverage as model
from allocopt.solvers.coverage_greedy import kmn_greedy, lp_bound
from allocopt.solvers.milp import solve_model

BC_DIR = INSTANCES / "budgeted_coverage"
BC_FILES = instance_files(BC_DIR)
KMN = 1 - 1 / math.e
FAST = {"workers": 1}


def doc(data: dict[str, Any]) -> dict[str, Any]:
    return instance_doc("budgeted_coverage", data)


def close(a: float, b: float, tol: float = 1e-6) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


def brute_force(data: dict[str, Any]) -> tuple[float, int]:
    """Best coverage over every subset within budget, and how many subsets reach it."""
    n = len(data["costs"])
    best, count = -1.0, 0
    for mask in range(1 << n):
        chosen = [i for i in range(n) if mask >> i & 1]
        if sum(data["costs"][i] for i in chosen) > data["budget"] + 1e-9:
            continue
        covered = {s for i in chosen for s in data["covers"][i]}
        value = sum(data["skill_weights"][s] for s in covered)
        if value > best + 1e-9:
            best, count = value, 1
        elif abs(value - best) <= 1e-9:
            count += 1
    return best, count


def random_instance(rng: np.random.Generator, n: int, k: int, integral: bool) -> dict[str, Any]:
    if integral:
        costs = [int(c) for c in rng.integers(0, 10, n)]
        weights = [int(w) for w in rng.integers(0, 10, k)]
    else:
        costs = [round(float(c), 2) for c in rng.uniform(0, 10, n)]
        weights = [round(float(w), 3) for w in rng.uniform(0, 1, k)]
    covers = [
        sorted(int(s) for s in rng.choice(k, int(rng.integers(0, min(k, 4) + 1)), replace=False)) for _ in range(n)
    ]
    budget = round(float(sum(costs) * rng.uniform(0.1, 0.6)), 2)
    return {"costs": costs, "covers": covers, "skill_weights": weights, "budget": budget}


# ---------------------------------------------------------------------------------- brute force and guarantees
@pytest.mark.parametrize("integral", [True, False], ids=["integral", "decimal"])
def test_every_method_against_brute_force(integral: bool) -> None:
    rng = np.random.default_rng(11 if integral else 12)
    for _ in range(25):
        data = random_instance(rng, int(rng.integers(1, 10)), int(rng.integers(1, 9)), integral)
        best, _ = brute_force(data)
        inst = doc(data)
        for method, opts in (("milp", {}), ("cp", FAST)):
            r = allocopt.solve(inst, method=method, **opts)
            assert r.status == "optimal" and close(r.objective, best), (method, data)
        g = allocopt.solve(inst, method="greedy")
        assert g.verified and g.details["depth"] == 3 and g.details["guarantee"] == pytest.approx(KMN)
        assert g.objective >= KMN * best - 1e-9 and g.bound >= best - 1e-6, data
        for depth in (0, 1, 2):
            h = allocopt.solve(inst, method="greedy", depth=depth)
            assert h.verified and h.objective >= KMN / 2 * best - 1e-9 and h.bound >= best - 1e-6, (depth, data)
        o = allocopt.solve(inst, method="online")
        assert o.verified and close(o.bound, best) and close(o.details["offline_optimum"], best)
        ratio = o.details["competitive_ratio"]
        assert (ratio is None and o.objective == 0 < best) or close(ratio * o.objective, best), data


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(10, 22), k=st.integers(5, 25), integral=st.booleans())
def test_milp_matches_cp_sat_on_random_instances(seed: int, n: int, k: int, integral: bool) -> None:
    data = random_instance(np.random.default_rng(seed), n, k, integral)
    inst = doc(data)
    a = allocopt.solve(inst, method="milp")
    b = allocopt.solve(inst, method="cp", **FAST)
    assert a.status == b.status == "optimal"
    assert close(a.objective, b.objective), data
    g = allocopt.solve(inst, method="greedy", depth=2)
    assert g.verified and g.objective <= a.objective + 1e-9 and g.bound >= a.objective - 1e-6


def test_disjoint_skills_are_a_knapsack() -> None:
    """One skill per component: coverage = knapsack value; the knapsack's dp is an independent exact method."""
    rng = np.random.default_rng(5)
    for _ in range(12):
        n = int(rng.integers(1, 25))
        values, weights = rng.integers(0, 60, n).tolist(), rng.integers(0, 40, n).tolist()
        capacity = int(sum(weights) * rng.uniform(0.1, 0.7))
        cov = doc({"costs": weights, "covers": [[i] for i in range(n)], "skill_weights": values, "budget": capacity})
        kp = instance_doc("knapsack", {"values": values, "weights": weights, "capacity": capacity})
        assert allocopt.solve(cov, method="milp").objective == allocopt.solve(kp, method="dp").objective
        on, zcl = allocopt.solve(cov, method="online"), allocopt.solve(kp, method="online_zcl")
        assert on.solution["take"] == zcl.solution["take"], (values, weights, capacity)
        assert (on.details["L"], on.details["U"]) == (zcl.details["L"], zcl.details["U"])


def test_lp_bound_is_the_lp_relaxation_optimum() -> None:
    rng = np.random.default_rng(8)
    for t in range(20):
        d = model.parse(random_instance(rng, int(rng.integers(4, 30)), int(rng.integers(3, 30)), bool(t % 2)))
        relaxed = model.build_model(d)
        pyo.TransformationFactory("core.relax_integer_vars").apply_to(relaxed)
        for i in range(d.n):  # the bound's LP drops components that cannot fit alone (valid for every solution)
            if d.costs[i] > d.budget:
                relaxed.take[i].fix(0)
        lp = solve_model(relaxed).objective / relaxed.objective_scale
        b = lp_bound(d.costs, d.cover_ptr, d.cover_idx, d.skill_weights, d.budget)
        assert close(b.bound, lp, 1e-7), (b, lp)


# ---------------------------------------------------------------------------------- hand-worked examples
def test_online_composer_traced_by_hand() -> None:
    # L = 1, U = e^2: psi(z) = max(1, e^(3z - 1)); budget 10.
    # 0: cost 3, skill 0 (w 3): gain 3, ratio 1 >= psi(0) = 1 (tie admitted) -> take, spent 3
    # 1: cost 2, skills 0, 1 (w 4): gain 4 (skill 0 covered), ratio 2 >= psi(.3) = 1 -> take, spent 5
    # 2: cost 2, skills 1, 2 (w 2): gain 2 (standalone 6), ratio 1 < psi(.5) = 1.6487 -> reject
    # 3: cost 2, skill 3 (w 4): ratio 2 >= 1.6487 -> take, spent 7
    # 4: cost 1, skills 0, 3: gain 0 -> reject
    # 5: cost 1, skill 4 (w 3): ratio 3 < psi(.7) = e^1.1 = 3.0042 -> reject
    # 6: cost 0, skill 5 (w 1): free and adds weight -> take
    # 7: cost 3, skill 6 (w 30): fits exactly, ratio 10 >= 3.0042 -> take, spent 10
    # 8: cost 1, skill 7 (w 100): does not fit -> reject.            value 3 + 4 + 4 + 1 + 30 = 42
    data = {
        "costs": [3, 2, 2, 2, 1, 1, 0, 3, 1],
        "covers": [[0], [0, 1], [1, 2], [3], [0, 3], [4], [5], [6], [7]],
        "skill_weights": [3, 4, 2, 4, 3, 1, 30, 100],
        "budget": 10,
    }
    r = allocopt.solve(doc(data), method="online", L=1, U=math.e**2)
    assert r.solution["take"] == [1, 1, 0, 1, 0, 0, 1, 1, 0]
    assert r.objective == 42 and r.verified
    assert r.details["marginal_weights"] == [3, 4, 2, 4, 0, 3, 1, 30, 100]
    best, _ = brute_force(data)
    assert r.bound == best and r.details["competitive_ratio"] == pytest.approx(best / 42)


def test_partial_enumeration_beats_the_modified_greedy() -> None:
    inst = allocopt.load(BC_DIR / "kmn_partial_enumeration.json")
    data = json.loads((BC_DIR / "kmn_partial_enumeration.json").read_text())["data"]
    assert brute_force(data) == (inst.reference_optimum, 1)
    modified = allocopt.solve(inst, method="greedy", depth=0)
    assert modified.objective == pytest.approx(6.2) and modified.objective < KMN * 10  # best single: 5
    assert modified.details["guarantee"] == pytest.approx(KMN / 2)
    full = allocopt.solve(inst, method="greedy")
    assert (
        full.objective == 10 and full.solution["take"] == [0, 1, 1] and full.details["guarantee"] == pytest.approx(KMN)
    )


def test_free_components_and_unaffordable_ones() -> None:
    data = {"costs": [0, 0, 5, 1], "covers": [[0], [0, 1], [2], [3]], "skill_weights": [2, 3, 9, 1], "budget": 1}
    for method in ("milp", "cp", "greedy", "online"):
        r = allocopt.solve(doc(data), method=method, **(FAST if method == "cp" else {}))
        assert r.verified and r.objective == 6, method  # both free ones cover 0, 1; the 5 cannot fit; 3 fits
    empty = doc({"costs": [], "covers": [], "skill_weights": [], "budget": 0})
    for method in ("milp", "cp", "greedy", "online"):
        r = allocopt.solve(empty, method=method)
        assert r.status == "optimal" and r.objective == 0 and r.solution == {"take": []}, method


def test_greedy_result_does_not_depend_on_how_often_it_looks_at_the_clock() -> None:
    """block_work=1 resumes the enumeration after every greedy run: the same seeds, the same best set."""
    rng = np.random.default_rng(21)
    for t in range(15):
        d = model.parse(random_instance(rng, int(rng.integers(3, 16)), int(rng.integers(2, 12)), bool(t % 2)))
        for depth in (1, 2, 3):
            args = (d.costs, d.cover_ptr, d.cover_idx, d.skill_weights, d.budget, depth)
            a, b = kmn_greedy(*args), kmn_greedy(*args, block_work=1.0)
            assert a.value == b.value and a.take.tolist() == b.take.tolist() and a.seeds == b.seeds


def test_greedy_stopped_by_its_time_limit_keeps_the_weaker_guarantee() -> None:
    data = random_instance(np.random.default_rng(3), 300, 400, True)
    r = allocopt.solve(doc(data), method="greedy", depth=3, time_limit=0.3)
    assert r.verified and not r.details["complete"] and r.details["guarantee"] == pytest.approx(KMN / 2)
    assert r.bound >= r.objective


# ---------------------------------------------------------------------------------- committed instances
@pytest.mark.parametrize("path", BC_FILES, ids=lambda p: p.name)
def test_committed_instances_reach_their_reference_with_auto(path: Path) -> None:
    assert main(["validate", str(path)]) == 0
    inst = allocopt.load(path)
    r = allocopt.solve(inst, time_limit=5)
    assert r.method == "milp" and r.status == "optimal" and r.objective == pytest.approx(inst.reference_optimum)


def test_agent_tools_reference_by_enumeration() -> None:
    raw = json.loads((BC_DIR / "agent_tools.json").read_text())
    assert brute_force(raw["data"])[0] == raw["reference"]["optimum"]
    inst = allocopt.load(BC_DIR / "agent_tools.json")
    g = allocopt.solve(inst, method="greedy")
    assert g.objective == raw["reference"]["optimum"]  # the depth-3 enumeration finds it; depth 0 does not
    assert allocopt.solve(inst, method="greedy", depth=0).objective < g.objective


@pytest.mark.parametrize("name", ["knapPI_1_100_1000_1", "knapPI_3_100_1000_1"])
def test_knapsack_conversions_match_the_committed_knapsack(name: str) -> None:
    cov = json.loads((BC_DIR / f"knapsack_{name}.json").read_text())
    kp = json.loads((INSTANCES / "knapsack" / "pisinger" / f"{name}.json").read_text())
    assert cov["data"]["skill_weights"] == kp["data"]["values"] and cov["data"]["costs"] == kp["data"]["weights"]
    assert cov["data"]["covers"] == [[i] for i in range(len(kp["data"]["values"]))]
    assert cov["data"]["budget"] == kp["data"]["capacity"]
    assert cov["reference"]["optimum"] == kp["reference"]["optimum"]


@pytest.mark.parametrize("method", ["milp", "cp", "greedy", "online"])
def test_every_method_passes_the_checker_through_the_cli(method: str, tmp_path: Path) -> None:
    src = BC_DIR / "agent_tools.json"
    assert main(["solve", str(src), "--method", method, "--out", str(tmp_path)]) == 0
    sol = tmp_path / "agent_tools.solution.json"
    assert json.loads(sol.read_text())["verified"]
    assert main(["check", str(src), str(sol)]) == 0


# ---------------------------------------------------------------------------------- checker and bad input
def test_checker_rejects_over_budget_and_bad_entries() -> None:
    inst = doc({"costs": [2, 3], "covers": [[0], [0, 1]], "skill_weights": [1.5, 2], "budget": 4})
    assert allocopt.verify(inst, {"take": [1, 0]}).objective == 1.5
    assert allocopt.verify(inst, {"take": [0, 1]}).objective == 3.5
    over = allocopt.verify(inst, {"take": [1, 1]})
    assert not over.feasible and "budget" in over.reason
    for take in ([1], [2, 0], [True, 0], [0.5, 0]):
        assert not allocopt.verify(inst, {"take": take}).feasible, take


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"costs": [1, 2], "covers": [[0]], "skill_weights": [1], "budget": 1}, "data.covers"),
        ({"costs": [1, 2], "covers": [[0], [3]], "skill_weights": [1, 1], "budget": 1}, "data.covers[1][0]"),
        ({"costs": [1, 2], "covers": [[0, 1, 0], [1]], "skill_weights": [1, 1], "budget": 1}, "data.covers[0][2]"),
        ({"costs": [1, -2], "covers": [[0], [1]], "skill_weights": [1, 1], "budget": 1}, "data.costs"),
        ({"costs": [1, 2], "covers": [[0], [1.5]], "skill_weights": [1, 1], "budget": 1}, "data.covers"),
        ({"costs": [1, 2], "covers": [[0], [1]], "skill_weights": [1, -1], "budget": 1}, "data.skill_weights"),
        ({"costs": [1, 2], "covers": [[0], [1]], "skill_weights": [1, 1]}, "budget"),
        ({"costs": [1], "covers": [[0]], "skill_weights": [1], "budget": 1, "names": ["a", "b"]}, "data.names"),
        ({"costs": [1], "covers": [[0]], "skill_weights": [1], "budget": 1, "budjet": 2}, "budjet"),
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


def test_bad_options_say_what_is_accepted() -> None:
    inst = doc({"costs": [1, 2], "covers": [[0], [1]], "skill_weights": [1, 1], "budget": 2})
    with pytest.raises(UsageError, match="depth"):
        allocopt.solve(inst, method="greedy", depth=4)
    with pytest.raises(UsageError, match="L <= U"):
        allocopt.solve(inst, method="online", L=3, U=2)
    with pytest.raises(UsageError, match="'L' must be a finite number > 0"):
        allocopt.solve(inst, method="online", L=0)
    unscalable = doc({"costs": [1 / 3], "covers": [[0]], "skill_weights": [1], "budget": 1})
    with pytest.raises(UsageError, match="CP-SAT needs integer costs"):
        allocopt.solve(unscalable, method="cp")
    assert allocopt.solve(unscalable).verified  # auto takes milp


def test_build_model_and_cp_model_extended_by_a_user() -> None:
    inst = allocopt.load(BC_DIR / "agent_tools.json")
    m = allocopt.build_model(inst)
    m.covered[3].fix(1)  # the composition must be able to query SQL (skill 3)
    r = allocopt.solve(inst, method="milp", model=m)
    take = r.solution["take"]
    assert r.verified and (take[3] or take[4]) and r.objective < inst.reference_optimum
    cp = allocopt.build_cp_model(inst)
    cp.AddBoolOr([cp.take[3], cp.take[4]])
    c = allocopt.solve(inst, method="cp", model=cp, **FAST)
    assert c.verified and c.objective == r.objective


def test_online_on_a_large_instance_measures_against_the_offline_greedy_and_its_bound() -> None:
    """Beyond ONLINE_OFFLINE_MAX_ENTRIES pairs the offline side is the greedy's set and the LP (or coverable) bound."""
    from allocopt.methods.budgeted_coverage import ONLINE_OFFLINE_MAX_ENTRIES

    rng = np.random.default_rng(4)
    n, k = ONLINE_OFFLINE_MAX_ENTRIES // 8 + 1, 3000
    covers = [sorted(int(s) for s in rng.choice(k, 8, replace=False)) for _ in range(n)]
    costs = [int(c) for c in rng.integers(1, 50, n)]
    data = {"costs": costs, "covers": covers, "skill_weights": [1] * k, "budget": sum(costs) // 5}
    r = allocopt.solve(doc(data), method="online")
    d = r.details
    assert r.verified and d["offline_method"] == "greedy" and d["offline_bound"] == r.bound >= d["offline_best"]
    assert d["competitive_ratio_at_least"] * r.objective == pytest.approx(d["offline_best"])
    assert d["competitive_ratio_at_most"] * r.objective == pytest.approx(r.bound)
    if d["offline_optimum"] is not None:
        assert d["competitive_ratio"] == d["competitive_ratio_at_most"]
    quiet = allocopt.solve(doc(data), method="online", offline=False)
    assert quiet.bound is None and "competitive_ratio" not in quiet.details
    assert quiet.solution == r.solution
