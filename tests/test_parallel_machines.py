"""parallel_machines through the front door, against numbers nobody here computed.

- Graham's tight family (m machines, jobs 2m-1, 2m-1, ..., m+1, m+1, m, m, m): LPT gives 4m - 1, the optimum is 3m;
- brute force over every assignment of tiny random instances (identical, uniform, unrelated): cp and milp agree
  with it; lpt and greedy are feasible, never below it, and their bound never above it;
- the independent checker rejects a forbidden pair and an out-of-range machine;
- bad instances exit 2 with the JSON path; a job forbidden everywhere is an ``infeasible`` result;
- every committed instance is solved by ``auto`` to its reference.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import INSTANCES, instance_doc, instance_files

import allocopt
import allocopt.methods.parallel_machines  # registers the problem
from allocopt.cli import main
from allocopt.errors import UsageError

PM_DIR = INSTANCES / "parallel_machines"
PM_FILES = instance_files(PM_DIR)
FAST = {"workers": 2}


def doc(data: dict[str, Any]) -> dict[str, Any]:
    return instance_doc("parallel_machines", data)


def brute_force(data: dict[str, Any]) -> float | None:
    """Least makespan over every assignment (None when some job has no allowed machine)."""
    durations = data["durations"]
    if isinstance(durations[0], list):
        rows = durations
    else:
        speeds = data.get("speeds", [1] * data["machines"])
        rows = [[p / s for p in durations] for s in speeds]
    m, n = len(rows), len(rows[0])
    best = None
    for a in itertools.product(range(m), repeat=n):
        if any(rows[i][j] is None for j, i in enumerate(a)):
            continue
        load = [0.0] * m
        for j, i in enumerate(a):
            load[i] += rows[i][j]
        best = max(load) if best is None else min(best, max(load))
    return best


def graham(m: int) -> list[int]:
    p: list[int] = []
    for k in range(2 * m - 1, m, -1):
        p += [k, k]
    return [*p, m, m, m]


def random_instance(rng: np.random.Generator, kind: str) -> dict[str, Any]:
    n, m = int(rng.integers(1, 7)), int(rng.integers(1, 4))
    if kind == "identical":
        return {"durations": rng.integers(0, 20, n).tolist(), "machines": m}
    if kind == "uniform":
        speeds = [float(s) for s in rng.choice([0.5, 1, 1.5, 2, 3], m)]
        return {"durations": rng.integers(0, 20, n).tolist(), "machines": m, "speeds": speeds}
    rows = [[int(x) if rng.random() > 0.25 else None for x in rng.integers(0, 20, n)] for _ in range(m)]
    for j in range(n):  # keep every job runnable somewhere
        if all(r[j] is None for r in rows):
            rows[int(rng.integers(m))][j] = int(rng.integers(0, 20))
    return {"durations": rows}


# ---------------------------------------------------------------------------------- published and brute force
@pytest.mark.parametrize("m", [2, 3, 4, 5, 8])
def test_graham_tight_family(m: int) -> None:
    inst = doc({"durations": graham(m), "machines": m})
    r = allocopt.solve(inst, method="lpt")
    assert r.verified and r.objective == 4 * m - 1
    assert r.bound <= 3 * m
    exact = allocopt.solve(inst, method="cp", **FAST)
    assert exact.status == "optimal" and exact.objective == 3 * m
    if m <= 4:
        assert allocopt.solve(inst, method="milp").objective == pytest.approx(3 * m)
    assert r.objective / (3 * m) == pytest.approx(4 / 3 - 1 / (3 * m))


@pytest.mark.parametrize("kind", ["identical", "uniform", "unrelated"])
def test_exact_methods_match_brute_force_and_heuristics_bracket_it(kind: str) -> None:
    rng = np.random.default_rng({"identical": 1, "uniform": 2, "unrelated": 3}[kind])
    heuristic = "greedy" if kind == "unrelated" else "lpt"
    for _ in range(12):
        data = random_instance(rng, kind)
        best = brute_force(data)
        inst = doc(data)
        for method, opts in (("cp", FAST), ("milp", {})):
            r = allocopt.solve(inst, method=method, **opts)
            assert r.status == "optimal" and r.objective == pytest.approx(best, rel=1e-9, abs=1e-9), (data, method)
        h = allocopt.solve(inst, method=heuristic)
        assert h.verified
        assert h.objective >= best - 1e-9 and h.bound <= best + 1e-9, data


def test_lpt_within_grahams_ratio_on_random_identical() -> None:
    rng = np.random.default_rng(7)
    for _ in range(10):
        m = int(rng.integers(2, 4))
        data = {"durations": rng.integers(1, 30, 7).tolist(), "machines": m}
        best = brute_force(data)
        r = allocopt.solve(doc(data), method="lpt")
        assert best <= r.objective <= (4 / 3 - 1 / (3 * m)) * best + 1e-9


def test_uniform_speeds_cp_refuses_unscalable_speeds() -> None:
    inst = doc({"durations": [10**6] * 5, "machines": 3, "speeds": [1.000000001, 999999937, 999999929]})
    with pytest.raises(UsageError, match="CP-SAT needs integer loads"):
        allocopt.solve(inst, method="cp")
    r = allocopt.solve(inst)  # auto falls back to milp
    assert r.method == "milp" and r.verified


def test_large_instances_take_the_heuristics() -> None:
    rng = np.random.default_rng(5)
    big = doc({"durations": rng.integers(1, 100, 2000).tolist(), "machines": 30, "speeds": [1, 2] * 15})
    r = allocopt.solve(big)
    assert r.method == "lpt" and r.verified and r.gap < 0.01
    t = rng.integers(1, 100, (8, 300)).tolist()
    r = allocopt.solve(doc({"durations": t}))
    assert r.method == "greedy" and r.verified and r.details["bound_kind"] == "lp"
    assert r.bound <= r.objective and r.gap < 0.2


def test_greedy_improves_on_its_construction() -> None:
    # Earliest completion: 4, 4, 3, 3 alternate, the 2 ends on machine 0 (loads 9, 7); swapping a 4 of machine 0
    # with a 3 of machine 1 gives 8, 8 (the optimum: total work 16 on 2 machines).
    data = {"durations": [[4, 4, 3, 3, 2], [4, 4, 3, 3, 2]]}
    r = allocopt.solve(doc(data), method="greedy")
    assert r.objective == brute_force(data) == 8 and r.details["steps"] >= 1


# ---------------------------------------------------------------------------------- committed instances
@pytest.mark.parametrize("path", PM_FILES, ids=lambda p: p.name)
def test_committed_instances_reach_their_reference_with_auto(path: Path, tmp_path: Path) -> None:
    assert main(["validate", str(path)]) == 0
    inst = allocopt.load(path)
    r = allocopt.solve(inst, time_limit=5)
    assert r.status == "optimal" and r.objective == pytest.approx(inst.reference_optimum)


def test_gpu_reference_by_enumeration() -> None:
    data = json.loads((PM_DIR / "gpu_generations.json").read_text())
    assert brute_force(data["data"]) == data["reference"]["optimum"]


@pytest.mark.parametrize("method", ["cp", "milp", "lpt"])
def test_every_method_passes_the_checker_through_the_cli(method: str, tmp_path: Path) -> None:
    src = PM_DIR / "uniform_three_speeds.json"
    args = ["solve", str(src), "--method", method, "--out", str(tmp_path)]
    assert main(args) == 0
    sol = tmp_path / "uniform_three_speeds.solution.json"
    assert json.loads(sol.read_text())["verified"]
    assert main(["check", str(src), str(sol)]) == 0


# ---------------------------------------------------------------------------------- checker and bad input
def test_checker_rejects_forbidden_pair_and_out_of_range_machine() -> None:
    inst = doc({"durations": [[1, None], [2, 3]]})
    assert allocopt.verify(inst, {"machine": [0, 1]}).feasible
    bad = allocopt.verify(inst, {"machine": [0, 0]})
    assert not bad.feasible and "may not run on machine 0" in bad.reason
    out = allocopt.verify(inst, {"machine": [0, 2]})
    assert not out.feasible and "out of range" in out.reason
    short = allocopt.verify(inst, {"machine": [0]})
    assert not short.feasible


def test_checker_uniform_load_is_work_over_speed() -> None:
    inst = doc({"durations": [3, 3, 4], "machines": 2, "speeds": [1, 2]})
    assert allocopt.verify(inst, {"machine": [0, 1, 1]}).objective == pytest.approx(3.5)


def test_job_forbidden_everywhere_is_an_infeasible_result(tmp_path: Path) -> None:
    inst = doc({"durations": [[1, None, 2], [3, None, 1]]})
    src = tmp_path / "nowhere.json"
    src.write_text(json.dumps(inst))
    assert main(["validate", str(src)]) == 0  # a well-formed file: the verdict is the solve's
    for method in ("auto", "cp", "milp", "greedy"):
        r = allocopt.solve(inst, method=method)
        assert r.status == "infeasible" and "job(s) 1" in r.message


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"durations": [3, 2.5, 1], "machines": 2}, "data.durations"),
        ({"durations": [3, -1], "machines": 2}, "data.durations"),
        ({"durations": [3, 2], "machines": 2, "speeds": [1, 0]}, "data.speeds[1]"),
        ({"durations": [3, 2], "machines": 2, "speeds": [1, 2, 3]}, "data.speeds"),
        ({"durations": [[3, 2], [1, 1]], "speeds": [1, 2]}, "data.speeds"),
        ({"durations": [[3, 2], [1]]}, "data.durations[1]"),
        ({"durations": [[3, 2], [1, 1]], "machines": 3}, "data.machines"),
        ({"durations": [3, 2]}, "data.machines"),
        ({"durations": [[3, 2.5], [1, 1]]}, "data.durations"),
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


def test_methods_that_do_not_apply_say_why() -> None:
    with pytest.raises(UsageError, match="lpt"):
        allocopt.solve(doc({"durations": [[1, 2]]}), method="lpt")
    with pytest.raises(UsageError, match="greedy is for unrelated"):
        allocopt.solve(doc({"durations": [1, 2], "machines": 1}), method="greedy")


def test_build_model_and_cp_model_extended_by_a_user() -> None:
    inst = allocopt.load(PM_DIR / "graham_m4.json")
    model = allocopt.build_model(inst)
    model.assign[0, 0].fix(1)
    model.assign[0, 1].fix(1)  # both 7s on machine 0: makespan at least 14
    r = allocopt.solve(inst, method="milp", model=model)
    assert r.verified and r.objective == 14 and r.solution["machine"][:2] == [0, 0]
    cp = allocopt.build_cp_model(inst)
    cp.Add(cp.assign[0, 0] + cp.assign[0, 1] == 2)
    r = allocopt.solve(inst, method="cp", model=cp, **FAST)
    assert r.verified and r.objective == 14
