"""job_shop through the front door, against numbers nobody here computed.

- brute force over every machine sequence (semi-active schedules, cyclic ones skipped) of tiny random shops: cp,
  milp agree with it; dispatch and tabu are feasible and never below it, their bound never above it;
- published optima (JSPLIB): cp proves ft06 and la01-la05; every committed instance's reference lies between its
  trivial lower bound and a dispatch schedule's makespan;
- the independent checker names the overlapping pair and the broken job order;
- the readers of the JSPLIB and Taillard formats (excerpts under tests/data/jobshop), bad files and bad instances
  (exit 2 with the JSON path, nothing written);
- time limits, build_cp_model / build_model extended by a user.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DATA, INSTANCES, instance_doc, instance_files

import allocopt
import allocopt.methods.job_shop  # registers the problem
from allocopt.cli import main
from allocopt.errors import InstanceError, UsageError
from allocopt.importers.jobshop import read_jobshop, read_taillard

JS_DATA = DATA / "jobshop"
JS_DIR = INSTANCES / "job_shop"
JS_FILES = instance_files(JS_DIR)
FAST = {"workers": 2}


def brute_force(jobs: list[list[list[int]]]) -> int:
    """Least makespan over every choice of one sequence per machine (semi-active schedules; cycles skipped).

    Operations of zero duration occupy no machine (they only keep their place in their job), as FORMAT.md's
    checker says; they are in no machine sequence.
    """
    ops = [(j, k) for j, job in enumerate(jobs) for k in range(len(job))]
    dur = {(j, k): jobs[j][k][1] for j, k in ops}
    by_machine: dict[int, list[tuple[int, int]]] = {}
    for j, k in ops:
        if dur[j, k] > 0:
            by_machine.setdefault(jobs[j][k][0], []).append((j, k))
    machines = sorted(by_machine)
    best = None
    for seqs in itertools.product(*(itertools.permutations(by_machine[m]) for m in machines)):
        preds: dict[tuple[int, int], list[tuple[int, int]]] = {o: [] for o in ops}
        for j, k in ops:
            if k > 0:
                preds[j, k].append((j, k - 1))
        for seq in seqs:
            for a, b in itertools.pairwise(seq):
                preds[b].append(a)
        # Longest path by repeated relaxation; a cycle shows as no fixed point within |ops| rounds.
        start = dict.fromkeys(ops, 0)
        for _ in range(len(ops) + 1):
            changed = False
            for o in ops:
                s = max((start[p] + dur[p] for p in preds[o]), default=0)
                if s != start[o]:
                    start[o], changed = s, True
            if not changed:
                break
        else:
            continue  # cyclic: no schedule has these sequences
        if changed:
            continue
        makespan = max(start[o] + dur[o] for o in ops)
        best = makespan if best is None else min(best, makespan)
    assert best is not None
    return best


def random_shop(rng: np.random.Generator, n: int, m: int, twists: bool = False) -> dict[str, Any]:
    """n jobs visiting m machines each once in random order; ``twists``: varied lengths, repeats, zero durations."""
    jobs = []
    for _ in range(n):
        order = [int(x) for x in rng.permutation(m)]
        if twists:
            order = order[: int(rng.integers(1, m + 1))]
            if rng.random() < 0.5:
                order.append(int(rng.integers(0, m)))  # may visit a machine twice
        jobs.append([[mk, int(rng.integers(0 if twists else 1, 10))] for mk in order])
    return {"jobs": jobs}


def solve(data: dict[str, Any], method: str, **kw: Any) -> allocopt.Result:
    return allocopt.solve(instance_doc("job_shop", data), method=method, **kw)


# ---------------------------------------------------------------------------------- exact vs brute force
@pytest.mark.parametrize("seed", range(8))
def test_cp_and_milp_match_brute_force_on_tiny_shops(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    data = random_shop(rng, 3, 3, twists=seed >= 5)
    if seed == 7:
        data["machines"] = 4  # an idle machine is allowed
    optimum = brute_force(data["jobs"])
    for method, kw in (("cp", FAST), ("milp", {})):
        r = solve(data, method, **kw)
        assert r.status == "optimal" and r.verified, (method, r.message)
        assert r.objective == optimum and r.bound == optimum, method
    for method in ("dispatch", "tabu"):
        r = solve(data, method, **({"iterations": 50} if method == "tabu" else {}))
        assert r.verified and r.status in ("optimal", "feasible"), r.message
        assert r.objective >= optimum and r.bound <= optimum


def test_brute_force_on_a_hand_example() -> None:
    # Two jobs crossing two machines: A = (m0:3, m1:2), B = (m1:4, m0:1). B first on machine 1: A [0,3) on m0,
    # B [0,4) on m1, A [4,6) on m1, B [4,5) on m0: makespan 6, machine 1's load. A first on machine 1: 3+2+4+1 = 10.
    jobs = [[[0, 3], [1, 2]], [[1, 4], [0, 1]]]
    assert brute_force(jobs) == 6
    assert solve({"jobs": jobs}, "cp", **FAST).objective == 6


# ---------------------------------------------------------------------------------- published optima
@pytest.mark.parametrize("name", ["ft06", "la01", "la02", "la03", "la04", "la05"])
def test_cp_proves_the_jsplib_optimum(name: str) -> None:
    inst = allocopt.load(JS_DIR / f"{name}.json")
    r = allocopt.solve(inst, method="cp", time_limit=30, **FAST)
    assert r.status == "optimal" and r.verified
    assert r.objective == inst.reference_optimum


def test_milp_proves_the_ft06_optimum() -> None:
    inst = allocopt.load(JS_DIR / "ft06.json")
    r = allocopt.solve(inst, method="milp", time_limit=60)
    assert r.status == "optimal" and r.objective == 55 == inst.reference_optimum


def test_every_committed_instance_brackets_its_reference() -> None:
    """Trivial bound <= published optimum <= a dispatch schedule's makespan (checked by the checker)."""
    assert len(JS_FILES) == 22
    for path in JS_FILES:
        inst = allocopt.load(path)
        assert "JSPLIB" in inst.reference["source"]
        r = allocopt.solve(inst, method="dispatch", rule="best", schedule="best")
        assert r.verified and r.bound <= inst.reference_optimum <= r.objective, path.name


# ---------------------------------------------------------------------------------- every method, checked
@pytest.mark.parametrize("method", ["cp", "milp", "dispatch", "tabu"])
def test_every_method_passes_the_checker_through_the_cli(method: str, tmp_path: Path) -> None:
    src = JS_DIR / "la01.json"
    args = ["solve", str(src), "--method", method, "--out", str(tmp_path), "--time-limit", "20"]
    if method == "cp":
        args += ["-o", "workers=2"]
    if method == "tabu":
        args += ["-o", "iterations=300", "-o", "seed=3"]
    assert main(args) == 0
    sol = tmp_path / "la01.solution.json"
    doc = json.loads(sol.read_text())
    assert doc["verified"] and doc["objective"] >= 666 and doc["bound"] <= 666
    assert doc["bound"] >= 666  # la01's trivial bound (its largest machine load) is its optimum
    assert main(["check", str(src), str(sol)]) == 0


@pytest.mark.parametrize("neighbourhood", ["n5", "n7"])
def test_tabu_is_never_worse_than_its_dispatch_start(neighbourhood: str) -> None:
    for name in ("ft06", "ft10", "la06"):
        inst = allocopt.load(JS_DIR / f"{name}.json")
        best = allocopt.solve(inst, method="dispatch", rule="best", schedule="best")
        r = allocopt.solve(inst, method="tabu", iterations=500, neighbourhood=neighbourhood)
        assert r.verified and r.details["initial_makespan"] == best.objective
        assert r.objective <= best.objective
        assert r.objective >= inst.reference_optimum and r.bound <= inst.reference_optimum
        assert r.details["iterations"] <= 500 and r.details["history"]


def test_dispatch_rules_and_schedules() -> None:
    inst = allocopt.load(JS_DIR / "ft10.json")
    seen = {}
    for rule in ("spt", "lpt", "mwkr", "mopnr", "fifo"):
        for schedule in ("active", "nondelay"):
            r = allocopt.solve(inst, method="dispatch", rule=rule, schedule=schedule)
            assert r.verified and r.details["rule"] == rule and r.details["schedule"] == schedule
            seen[f"{rule}/{schedule}"] = r.objective
    best = allocopt.solve(inst, method="dispatch", rule="best", schedule="best")
    assert best.objective == min(seen.values()) and best.details["makespans"] == seen
    with pytest.raises(UsageError, match="rule"):
        allocopt.solve(inst, method="dispatch", rule="edd")
    with pytest.raises(UsageError, match="neighbourhood"):
        allocopt.solve(inst, method="tabu", neighbourhood="n4")


def test_auto_is_cp() -> None:
    r = allocopt.solve(JS_DIR / "ft06.json", workers=2)
    assert r.method == "cp" and r.status == "optimal"


# ---------------------------------------------------------------------------------- time limits
def test_cp_time_limit_returns_incumbent_and_bound() -> None:
    inst = allocopt.load(JS_DIR / "ta01.json")
    began = time.perf_counter()
    r = allocopt.solve(inst, method="cp", time_limit=1, workers=2)
    wall = time.perf_counter() - began
    assert wall < 1.6
    assert r.status == "feasible" and r.verified
    assert r.bound is not None and r.bound <= 1231 <= r.objective
    assert r.details["termination"] == "FEASIBLE"


def test_milp_time_limit_returns_incumbent_and_bound() -> None:
    inst = allocopt.load(JS_DIR / "ft10.json")
    began = time.perf_counter()
    r = allocopt.solve(inst, method="milp", time_limit=1)
    assert time.perf_counter() - began < 3.0  # Pyomo builds the model before the solver's clock starts
    assert r.status == "feasible" and r.verified and r.bound <= 930 <= r.objective
    assert r.objective <= r.details["horizon"]
    # On a busy machine HiGHS may find no schedule in 1 s: then the dispatch schedule is the incumbent.
    assert r.details["incumbent"] == "milp" or r.details["incumbent"].startswith("dispatch ")
    quick = allocopt.solve(JS_DIR / "ta01.json", method="milp", time_limit=0.01)
    best = allocopt.solve(JS_DIR / "ta01.json", method="dispatch", rule="best", schedule="best")
    assert quick.status == "feasible" and quick.details["incumbent"].startswith("dispatch ")
    assert quick.objective == best.objective and quick.bound >= best.bound


def test_tabu_honours_its_time_limit() -> None:
    inst = allocopt.load(JS_DIR / "ta01.json")
    began = time.perf_counter()
    r = allocopt.solve(inst, method="tabu", time_limit=1)
    # Numba's one-off compilation (or cache load) is start-up overhead, outside the time limit.
    assert time.perf_counter() - began - r.details["compile_seconds"] < 1.6
    assert r.verified and r.status == "feasible" and r.details["time_limit"] == 1


# ---------------------------------------------------------------------------------- user models
def test_build_cp_model_extended_by_a_user() -> None:
    inst = allocopt.load(JS_DIR / "ft06.json")
    cp = allocopt.build_cp_model(inst)
    assert cp.ops[0] == (0, 0) and len(cp.start) == 36
    cp.Add(cp.start[0] >= 60)  # job 0's first operation may not start before 60
    r = allocopt.solve(inst, method="cp", model=cp, workers=2)
    assert r.status == "optimal" and r.solution["start"][0][0] >= 60
    assert r.objective >= 60 + sum(p for _, p in allocopt.instance_to_dict(inst)["data"]["jobs"][0])
    with pytest.raises(UsageError, match="build_cp_model"):
        allocopt.solve(inst, method="cp", model=allocopt.build_model(inst))


def test_build_model_extended_by_a_user() -> None:
    data = {"jobs": [[[0, 3], [1, 2]], [[1, 4], [0, 1]]]}
    model = allocopt.build_model(instance_doc("job_shop", data))
    model.before[0, 3].fix(1)  # job 0 op 0 before job 1 op 1 on machine 0, and likewise ...
    model.before[1, 2].fix(0)  # ... job 1 op 0 before job 0 op 1 on machine 1: the optimum 6 remains
    r = solve(data, "milp", model=model)
    assert r.status == "optimal" and r.objective == 6
    model.before[1, 2].fix(1)  # job 0 must finish on machine 1 before job 1 starts there: 3 + 2 + 4 + 1
    r = solve(data, "milp", model=model)
    assert r.objective == 10


def test_build_cp_model_names_the_problems_that_have_one() -> None:
    doc = instance_doc("knapsack", {"values": [1], "weights": [1], "capacity": 1})
    with pytest.raises(UsageError, match="job_shop"):
        allocopt.build_cp_model(doc)


# ---------------------------------------------------------------------------------- the checker
def _solution_file(tmp_path: Path, start: list[list[int]], objective: int) -> Path:
    doc = {
        "format": "allocopt/1",
        "problem": "job_shop",
        "instance": "t",
        "status": "feasible",
        "objective": objective,
        "bound": None,
        "gap": None,
        "method": "hand",
        "solver": None,
        "runtime_s": 0.0,
        "verified": False,
        "solution": {"start": start},
    }
    path = tmp_path / "t.solution.json"
    path.write_text(json.dumps(doc))
    return path


def test_check_names_the_overlapping_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inst = tmp_path / "t.json"
    inst.write_text(json.dumps(instance_doc("job_shop", {"jobs": [[[0, 3], [1, 2]], [[1, 4], [0, 1]]]})))
    good = _solution_file(tmp_path, [[0, 4], [0, 4]], 6)
    assert main(["check", str(inst), str(good)]) == 0
    bad = _solution_file(tmp_path, [[0, 3], [0, 4]], 5)
    assert main(["check", str(inst), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "job 1 op 0 and job 0 op 1 overlap on machine 1 ([0, 4) and [3, 5))" in out
    late = _solution_file(tmp_path, [[0, 2], [0, 4]], 5)
    assert main(["check", str(inst), str(late)]) == 1
    assert "job 0 op 1 starts at 2, before job 0 op 0 ends at 3" in capsys.readouterr().out


def test_checker_zero_durations_and_repeated_machines() -> None:
    # Job 0 visits machine 0 twice, then machine 1 for no time; job 1 uses machine 1 for 4, then machine 0.
    data = {"jobs": [[[0, 2], [0, 3], [1, 0]], [[1, 4], [0, 4]]]}
    inst = allocopt.instance_from_dict(instance_doc("job_shop", data))
    # The zero-duration operation at time 5 lies inside job 1's [3, 7) on machine 1: it occupies nothing.
    ok = allocopt.verify(inst, {"start": [[0, 2, 5], [3, 7]]})
    assert ok.feasible and ok.objective == 11
    bad = allocopt.verify(inst, {"start": [[0, 1, 5], [3, 7]]})
    assert not bad.feasible and "job 0 op 1 starts at 1, before job 0 op 0 ends at 2" in bad.reason
    clash = allocopt.verify(inst, {"start": [[0, 2, 5], [0, 4]]})
    assert not clash.feasible and "job 0 op 1 and job 1 op 1 overlap on machine 0 ([2, 5) and [4, 8))" in clash.reason
    assert not allocopt.verify(inst, {"start": [[0, 2], [0, 5]]}).feasible
    assert not allocopt.verify(inst, {"start": [[0, 2, 5.5], [0, 5]]}).feasible
    assert not allocopt.verify(inst, {"start": [[0, 2, -1], [0, 5]]}).feasible
    r = solve(data, "cp", **FAST)
    assert r.objective == brute_force(data["jobs"]) == solve(data, "milp").objective


# ---------------------------------------------------------------------------------- importers
def test_jsplib_reader_takes_the_optimum_from_instances_json() -> None:
    (doc,) = read_jobshop(JS_DATA / "instances" / "ft06")
    assert doc["name"] == "ft06" and doc["reference"]["optimum"] == 55
    jobs = doc["data"]["jobs"]
    assert len(jobs) == 6 and jobs[0][:2] == [[2, 1], [0, 3]] and jobs[5][-1] == [2, 1]
    assert "mt06" in doc["description"]
    committed = allocopt.instance_to_dict(allocopt.load(JS_DIR / "ft06.json"))
    assert committed["data"] == doc["data"] and committed["reference"] == doc["reference"]


def test_jsplib_reader_without_a_table_and_with_open_bounds(tmp_path: Path) -> None:
    lone = tmp_path / "ft06"
    lone.write_text((JS_DATA / "instances" / "ft06").read_text())
    assert "reference" not in read_jobshop(lone)[0]
    (tmp_path / "abz8").write_text("2 2\n0 1 1 2\n1 3 0 4\n")  # a namesake of another size: not abz8
    (tmp_path / "instances.json").write_text((JS_DATA / "instances.json").read_text())
    assert "reference" not in read_jobshop(tmp_path / "abz8")[0]
    (tmp_path / "abz8").write_text("20 15\n" + "0 1\n" * 20)
    ref = read_jobshop(tmp_path / "abz8")[0]["reference"]
    assert ref["lower"] == 645 and ref["upper"] == 665 and "optimum" not in ref


def test_taillard_reader_matches_the_jsplib_files() -> None:
    (ta01,) = read_taillard(JS_DATA / "ta01-taillard.txt")
    (orig,) = read_jobshop(JS_DATA / "instances" / "ta01")
    assert ta01["data"] == orig["data"]
    assert ta01["reference"]["upper"] == 1231 and ta01["reference"]["lower"] == 1005
    (ft06,) = read_taillard(JS_DATA / "ft06-taillard-bare.txt")
    assert ft06["data"] == read_jobshop(JS_DATA / "instances" / "ft06")[0]["data"]
    assert "reference" not in ft06


def taillard_generator(time_seed: int, machine_seed: int, n: int, m: int) -> list[list[list[int]]]:
    """Taillard's (1993) generator: durations U[1, 99], each job's machine order a random shuffle.

    His portable generator (Bratley, Fox and Schrage's Lehmer generator, a = 16807, m = 2^31 - 1);
    times row by row from the time seed, then per job the machines 1..m shuffled from the machine seed.
    """
    state = [0]

    def unif(low: int, high: int) -> int:
        k = state[0] // 127773
        state[0] = 16807 * (state[0] % 127773) - k * 2836
        if state[0] < 0:
            state[0] += 2**31 - 1
        return low + int(state[0] / (2**31 - 1) * (high - low + 1))

    state[0] = time_seed
    times = [[unif(1, 99) for _ in range(m)] for _ in range(n)]
    state[0] = machine_seed
    jobs = []
    for j in range(n):
        order = list(range(m))
        for k in range(m):
            swap = unif(k, m - 1)
            order[k], order[swap] = order[swap], order[k]
        jobs.append([[order[k], times[j][k]] for k in range(m)])
    return jobs


def test_taillard_file_is_what_the_seeds_in_its_header_generate() -> None:
    """ta01 as read (both formats) is exactly what Taillard's generator makes of the seeds in the header."""
    header = (JS_DATA / "ta01-taillard.txt").read_text().splitlines()[1].split()
    n, m, time_seed, machine_seed = (int(x) for x in header[:4])
    expected = taillard_generator(time_seed, machine_seed, n, m)
    assert read_taillard(JS_DATA / "ta01-taillard.txt")[0]["data"]["jobs"] == expected
    committed = allocopt.instance_to_dict(allocopt.load(JS_DIR / "ta01.json"))
    assert committed["data"]["jobs"] == expected


def test_taillard_reader_several_instances(tmp_path: Path) -> None:
    text = (JS_DATA / "ta01-taillard.txt").read_text()
    both = tmp_path / "tai.txt"
    both.write_text(text + "\n" + (JS_DATA / "ft06-taillard-bare.txt").read_text())
    docs = read_taillard(both)
    assert [d["name"] for d in docs] == ["tai-1", "tai-2"]
    assert len(docs[0]["data"]["jobs"]) == 15 and len(docs[1]["data"]["jobs"]) == 6


def test_cli_import_writes_loadable_instances(tmp_path: Path) -> None:
    src = JS_DATA / "instances" / "ta01"
    assert main(["import", "jobshop", str(src), "--out", str(tmp_path)]) == 0
    assert allocopt.load(tmp_path / "ta01.json").reference_optimum == 1231
    assert main(["import", "taillard", str(JS_DATA / "ft06-taillard-bare.txt"), "--out", str(tmp_path)]) == 0
    assert allocopt.load(tmp_path / "ft06-taillard-bare.json").spec.name == "job_shop"


@pytest.mark.parametrize(
    ("fmt", "text", "says"),
    [
        ("jobshop", "2 2\n0 1 1 2\n", "2 jobs, the file has 1"),
        ("jobshop", "2 2\n0 1 1 2\n0 1 2 2\n", "machine 2 out of range 0..1"),
        ("jobshop", "2 2\n0 1 1\n0 1 1 2\n", "pairs"),
        ("jobshop", "2 2\n0 1 1 -2\n0 1 1 2\n", "'-2'"),
        ("jobshop", "", "n m"),
        ("taillard", "2 2\n1 2\n3 4\n1 2\n2 0\n", "machine 0 out of range 1..2"),
        ("taillard", "2 2\n1 2\n3 4\n1 2\n", "ends early"),
        ("taillard", "2 2\n1 2 5\n3 4\n1 2\n2 1\n", "expected 2 numbers"),
    ],
)
def test_malformed_files_exit_2(
    fmt: str, text: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(text)
    out = tmp_path / "out"
    assert main(["import", fmt, str(bad), "--out", str(out)]) == 2
    assert says in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
    with pytest.raises(InstanceError):
        (read_jobshop if fmt == "jobshop" else read_taillard)(bad)


# ---------------------------------------------------------------------------------- bad instances
@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"jobs": [[[0, 1], [1, 2]], [[2, 3]]], "machines": 2}, "data.jobs[1][0][0]"),
        ({"jobs": [[[0, 1], [-1, 2]]]}, "data.jobs[0][1][0]"),
        ({"jobs": [[[0, 1], [1, -2]]]}, "data.jobs[0][1][1]"),
        ({"jobs": [[[0, 1], [1, 2.5]]]}, "data.jobs[0][1][1]"),
        ({"jobs": [[[0, 1]], []]}, "data.jobs[1]"),
        ({"jobs": [[[0, 1, 2]]]}, "data.jobs[0][0]"),
        ({"jobs": [[[0, 1]]], "machines": 0}, "data.machines"),
        ({"jobs": []}, "data.jobs"),
    ],
)
def test_bad_instances_exit_2_with_the_json_path(
    data: dict[str, Any], path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(instance_doc("job_shop", data)))
    assert main(["solve", str(src), "--out", str(tmp_path / "out")]) == 2
    assert path in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_job_may_visit_a_machine_twice() -> None:
    data = {"jobs": [[[0, 2], [0, 3]], [[0, 1], [1, 1]]]}
    r = solve(data, "cp", **FAST)
    assert r.status == "optimal" and r.objective == 6 == brute_force(data["jobs"])
