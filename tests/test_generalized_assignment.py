"""generalized_assignment through the front door, against numbers nobody here computed.

- OR-Library gap1 (committed excerpt) and, once imported, every gap1..gap12 / gapa..gapc problem: the MILP
  reaches the stated optimum (gapinfo's for gap1..12; HiGHS-proven values of the benchmark notes for gapa..c);
- brute force over every assignment of tiny random instances, both senses, feasible and infeasible;
- greedy: feasible, on the right side of the optimum, and its bound on the other side;
- the OR-Library readers (gap and assign files).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DATA, INSTANCES, instance_doc, instance_files

import allocopt
import allocopt.methods.generalized_assignment  # registers the problem
from allocopt.errors import InstanceError, UsageError
from allocopt.importers.orlib_assignment import read_assign, read_gap

GAP1 = DATA / "orlib" / "gap1.txt"
GAP_DIR = INSTANCES / "assignment" / "gap"
GAP_FILES = instance_files(GAP_DIR)
TOL = 1e-6


def _with_optimum(paths: list[Path]) -> list[Any]:
    return [pytest.param(p, id=p.stem) for p in paths]


def brute_force(data: dict[str, Any]) -> float | None:
    """Optimum by enumerating every assignment (tiny instances only); None when none fits."""
    cost, res, cap = data["cost"], data["resource"], data["capacity"]
    m, n = len(cost), len(cost[0])
    best = None
    for agents in itertools.product(range(m), repeat=n):
        if all(sum(res[a][j] for j in range(n) if agents[j] == a) <= cap[a] + 1e-9 for a in range(m)):
            value = sum(cost[agents[j]][j] for j in range(n))
            better = best is None or (value > best if data.get("sense") == "max" else value < best)
            best = value if better else best
    return best


def random_gap(rng: np.random.Generator, m: int, n: int, sense: str, integral: bool = True) -> dict[str, Any]:
    cost = rng.integers(-5, 30, (m, n)).astype(float)
    res = rng.integers(0, 11, (m, n)).astype(float)
    if not integral:
        cost, res = cost + rng.random((m, n)).round(3), res + rng.random((m, n)).round(3)
    cap = (res.sum(axis=1) / m * rng.uniform(0.4, 1.6, m)).round(0 if integral else 3)
    return {"cost": cost.tolist(), "resource": res.tolist(), "capacity": cap.tolist(), "sense": sense}


def assert_brackets(result: allocopt.Result, optimum: float, sense: str) -> None:
    """Feasible solution on the right side of the optimum, bound on the other side."""
    slack = TOL * max(1.0, abs(optimum))
    if result.solution is not None:
        assert result.verified
        assert result.objective >= optimum - slack if sense == "min" else result.objective <= optimum + slack
    assert result.bound is not None
    assert result.bound <= optimum + slack if sense == "min" else result.bound >= optimum - slack


# --------------------------------------------------------------------------------------------- benchmarks
def test_read_gap_reads_gap1_with_its_optima() -> None:
    docs = read_gap(GAP1)
    assert [d["name"] for d in docs] == [f"gap1-{k}" for k in range(1, 6)]
    assert [d["reference"]["optimum"] for d in docs] == [336, 327, 339, 341, 326]
    first = docs[0]["data"]
    assert first["sense"] == "max" and len(first["cost"]) == 5 and len(first["cost"][0]) == 15
    assert first["cost"][0][:3] == [17, 21, 22] and first["resource"][0][:3] == [8, 15, 14]
    assert first["capacity"] == [36, 34, 38, 27, 33]
    assert "gapinfo" in docs[0]["reference"]["source"]


@pytest.mark.parametrize("k", range(5))
def test_milp_reaches_the_gapinfo_optimum_on_gap1(k: int) -> None:
    doc = read_gap(GAP1)[k]
    inst = allocopt.instance_from_dict(doc)
    result = allocopt.solve(inst, method="milp")
    assert result.status == "optimal" and result.verified
    assert result.objective == inst.reference_optimum
    assert allocopt.solve(inst).method == "milp"


@pytest.mark.parametrize("k", range(5))
def test_greedy_brackets_the_gapinfo_optimum_on_gap1(k: int) -> None:
    inst = allocopt.instance_from_dict(read_gap(GAP1)[k])
    result = allocopt.solve(inst, method="greedy")
    assert result.status in ("optimal", "feasible")
    assert_brackets(result, inst.reference_optimum, "max")
    assert result.details["bound_kind"] == "lagrangian"


def test_the_imported_gap_set_is_complete() -> None:
    assert len(GAP_FILES) == 84  # gap1..gap12 (5 each), gapa..gapd (6 each)
    with_optimum = [p.stem for p in GAP_FILES if allocopt.load(p).reference_optimum is not None]
    assert len(with_optimum) == 78  # gapd's optima are not proven: only an interval


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", _with_optimum([p for p in GAP_FILES if allocopt.load(p).reference_optimum is not None])
)
def test_milp_reaches_every_reference_optimum(path: Path) -> None:
    inst = allocopt.load(path)
    result = allocopt.solve(inst, method="milp")
    assert result.status == "optimal" and result.verified
    assert result.objective == pytest.approx(inst.reference_optimum, abs=TOL)


@pytest.mark.parametrize("path", _with_optimum(GAP_FILES))
def test_greedy_brackets_every_reference(path: Path) -> None:
    inst = allocopt.load(path)
    result = allocopt.solve(inst, method="greedy")
    sense = inst.data.sense
    assert result.verified, result.message
    if inst.reference_optimum is not None:
        assert_brackets(result, inst.reference_optimum, sense)
    else:  # gapd: only an interval [lower, upper] around the unknown optimum is known (minimisation)
        assert result.objective >= inst.reference["lower"] - TOL
        assert result.bound <= inst.reference["upper"] + TOL


# --------------------------------------------------------------------------------------------- brute force
@pytest.mark.parametrize("sense", ["min", "max"])
@pytest.mark.parametrize("integral", [True, False], ids=["integral", "real"])
def test_milp_and_greedy_against_brute_force(sense: str, integral: bool) -> None:
    rng = np.random.default_rng(17 + (sense == "max") + 2 * integral)
    infeasible = 0
    for _ in range(40):
        m, n = int(rng.integers(1, 4)), int(rng.integers(1, 7))
        data = random_gap(rng, m, n, sense, integral)
        optimum = brute_force(data)
        doc = instance_doc("generalized_assignment", data)
        exact = allocopt.solve(doc, method="milp")
        greedy = allocopt.solve(doc, method="greedy")
        if optimum is None:
            infeasible += 1
            assert exact.status == "infeasible" and exact.message, data
            assert greedy.status in ("infeasible", "no_solution"), data
            continue
        assert exact.status == "optimal" and exact.verified, (data, exact)
        assert exact.objective == pytest.approx(optimum, abs=TOL), data
        assert_brackets(greedy, optimum, sense)
        assert greedy.details["bound_kind"] == ("lagrangian" if integral else "lp")
    assert 0 < infeasible < 40  # the generator produced both kinds


def test_greedy_against_the_milp_on_larger_random_instances() -> None:
    rng = np.random.default_rng(5)
    for sense in ("min", "max"):
        for m, n in ((4, 30), (6, 40), (3, 60)):
            data = random_gap(rng, m, n, sense)
            data["capacity"] = [c * 1.3 for c in data["capacity"]]  # loose enough to be feasible
            doc = instance_doc("generalized_assignment", data)
            exact = allocopt.solve(doc, method="milp")
            assert exact.status == "optimal"
            greedy = allocopt.solve(doc, method="greedy")
            assert greedy.status in ("optimal", "feasible")
            assert_brackets(greedy, exact.objective, sense)
            assert greedy.gap < 0.05


# --------------------------------------------------------------------------------------------- infeasible, data
def test_infeasible_instances_say_why() -> None:
    no_agent = {"cost": [[1, 1, 1], [1, 1, 1]], "resource": [[1, 1, 30], [1, 1, 31]], "capacity": [25, 20]}
    for method in ("milp", "greedy"):
        result = allocopt.solve(instance_doc("generalized_assignment", no_agent), method=method)
        assert result.status == "infeasible" and result.solution is None
        assert result.message.startswith("job 2 fits no agent"), result.message
    too_much = {"cost": [[1, 1, 1], [1, 1, 1]], "resource": [[4, 4, 4], [5, 5, 5]], "capacity": [5, 5]}
    result = allocopt.solve(instance_doc("generalized_assignment", too_much), method="milp")
    assert result.status == "infeasible" and "more than the total capacity 10" in result.message
    # every job fits and the totals fit, but each agent holds one job only: the MILP has to prove it
    hidden = {"cost": [[1, 1, 1], [1, 1, 1]], "resource": [[3, 3, 3], [3, 3, 3]], "capacity": [5, 5]}
    result = allocopt.solve(instance_doc("generalized_assignment", hidden), method="milp")
    assert result.status == "infeasible" and result.message
    greedy = allocopt.solve(instance_doc("generalized_assignment", hidden), method="greedy")
    assert greedy.status == "no_solution" and "milp" in greedy.message


def test_bad_shapes_name_the_json_path() -> None:
    data = {"cost": [[1, 2], [3, 4]], "resource": [[1, 1], [1]], "capacity": [1, 1]}
    with pytest.raises(InstanceError, match=r"data\.resource\[1\]: expected 2 numbers"):
        allocopt.instance_from_dict(instance_doc("generalized_assignment", data))
    data = {"cost": [[1, 2], [3, 4]], "resource": [[1, 1], [1, 1]], "capacity": [1]}
    with pytest.raises(InstanceError, match=r"data\.capacity: expected 2 capacities"):
        allocopt.instance_from_dict(instance_doc("generalized_assignment", data))
    data = {"cost": [[1]], "resource": [[-1]], "capacity": [1]}
    with pytest.raises(InstanceError, match=r"data\.resource\[0\]\[0\]"):
        allocopt.instance_from_dict(instance_doc("generalized_assignment", data))


def test_checker_rejects_overloaded_agents_and_bad_indices() -> None:
    doc = instance_doc(
        "generalized_assignment", {"cost": [[1, 2], [3, 4]], "resource": [[2, 2], [1, 1]], "capacity": [3, 3]}
    )
    assert not allocopt.verify(doc, {"agent": [0, 0]}).feasible
    assert not allocopt.verify(doc, {"agent": [0, 2]}).feasible
    verdict = allocopt.verify(doc, {"agent": [0, 1]})
    assert verdict.feasible and verdict.objective == 5


def test_auto_options_and_the_extensible_model() -> None:
    rng = np.random.default_rng(2)
    big = instance_doc("generalized_assignment", random_gap(rng, 10, 401, "min"))
    big["data"]["capacity"] = [c * 1.3 for c in big["data"]["capacity"]]
    assert allocopt.solve(big).method == "greedy"
    doc = instance_doc("generalized_assignment", read_gap(GAP1)[0]["data"])
    plain = allocopt.solve(doc, method="greedy", local_search=False, subgradient_steps=0)
    assert plain.verified and plain.details["subgradient_steps"] == 0
    with pytest.raises(UsageError, match="local_search"):
        allocopt.solve(doc, method="greedy", local_search="yes")
    # the Pyomo model is reusable: forbid job 0 on its optimal agent and the optimum cannot improve
    model = allocopt.build_model(doc)
    best = allocopt.solve(doc, method="milp")
    model.assign[best.solution["agent"][0], 0].fix(0)
    assert allocopt.solve(doc, method="milp", model=model).objective <= best.objective


def test_tiny_real_costs_are_solved_to_a_proof() -> None:
    """Costs below HiGHS's absolute gap (1e-6) would end the search early without the model's scaling."""
    data = random_gap(np.random.default_rng(9), 3, 6, "min")
    data["capacity"] = [c * 1.5 for c in data["capacity"]]
    optimum = brute_force(data)
    data["cost"] = [[c * 1e-7 for c in row] for row in data["cost"]]
    result = allocopt.solve(instance_doc("generalized_assignment", data), method="milp")
    assert result.status == "optimal" and result.objective == pytest.approx(optimum * 1e-7, rel=1e-9)


# --------------------------------------------------------------------------------------------- readers
def test_read_gap_takes_the_sense_from_the_name_and_checks_the_size(tmp_path: Path) -> None:
    text = GAP1.read_text()
    odd = tmp_path / "mygap.txt"
    odd.write_text(text)
    with pytest.raises(InstanceError, match="cannot tell whether to minimise or maximise"):
        read_gap(odd)
    wrong = tmp_path / "gap2.txt"  # gap2's problems are 5 x 20, these are 5 x 15
    wrong.write_text(text)
    with pytest.raises(InstanceError, match="not the file its name says"):
        read_gap(wrong)
    small = tmp_path / "gapa.txt"  # type A: minimisation, 5 x 100 first; a 1 x 2 problem is not it
    small.write_text("1\n1 2\n3 4\n1 1\n5\n")
    with pytest.raises(InstanceError, match="not the file its name says"):
        read_gap(small)


def test_read_assign_dense() -> None:
    (doc,) = read_assign(DATA / "orlib" / "assign_small.txt")
    expected = [[9, 2, 7, 8], [6, 4, 3, 7], [5, 8, 1, 8], [7, 6, 9, 4]]  # the file's 16 costs, 4 per row
    assert doc["problem"] == "assignment" and doc["name"] == "assign_small"
    assert doc["data"] == {"cost": expected, "sense": "min"}
    assert "reference" not in doc  # not an OR-Library file name
    # Hand check: rows 0..3 -> columns 1, 0, 2, 3 cost 2 + 6 + 1 + 4 = 13; brute force agrees it is the least.
    best = min(sum(expected[i][p[i]] for i in range(4)) for p in itertools.permutations(range(4)))
    assert best == 13 == 2 + 6 + 1 + 4


def test_read_assign_sparse(tmp_path: Path) -> None:
    path = tmp_path / "assignp3.txt"
    path.write_text("3\n1 1 4\n1 2 7\n2 2 1\n3 1 2 3 3 9\n")
    (doc,) = read_assign(path)
    assert doc["data"]["cost"] == [[4, 7, None], [None, 1, None], [2, None, 9]]
    assert "sparse, 5 allowed pairs" in doc["description"]
    path.write_text("3\n1 1 4\n1 1 5\n")
    with pytest.raises(InstanceError, match=r"pair \(1, 1\) is listed twice"):
        read_assign(path)
    path.write_text("3\n1 4 4\n")
    with pytest.raises(InstanceError, match=r"pair \(1, 4\) is outside 1..3"):
        read_assign(path)
    named = tmp_path / "assign100.txt"  # an OR-Library name gets its stated optimum, so the size must match
    named.write_text("2\n1 2 3 4\n")
    with pytest.raises(InstanceError, match="n = 2, but OR-Library's assign100 has n = 100"):
        read_assign(named)


def test_instance_and_solution_files_round_trip(tmp_path: Path) -> None:
    from allocopt.envelope import instance_to_dict, load_solution

    original = read_gap(GAP1)[2]
    inst = allocopt.instance_from_dict(original)
    assert instance_to_dict(inst)["data"] == original["data"]
    result = allocopt.solve(inst, method="milp")
    allocopt.save(result, tmp_path / "gap1-3.solution.json")
    assert allocopt.check(inst, load_solution(tmp_path / "gap1-3.solution.json")).feasible
