"""single_machine through the front door, against numbers nobody here computed.

- brute force over every job order (semi-active schedules: each job starts at max(release, previous end)) of tiny
  random instances: wspt and edd equal it where they are exact; cp and milp equal it for 1|r_j|sum w_j C_j,
  1||sum w_j T_j and 1|r_j|L_max; greedy is feasible, never below it, and its bound never above it;
- WSPT's exchange argument checked numerically: swapping two adjacent jobs out of Smith's order raises
  sum w_j C_j by exactly w_j p_i - w_i p_j;
- the independent checker rejects overlaps and starts before a release;
- bad files exit 2 with the JSON path (nothing written); methods that do not apply raise UsageError with the reason;
- every committed instance: valid, solved by auto to its brute-force reference.
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
import allocopt.methods.single_machine  # registers the problem
from allocopt.cli import main
from allocopt.errors import UsageError
from allocopt.models import single_machine as sm_model

SM_FILES = instance_files(INSTANCES / "single_machine")
FAST = {"workers": 2}


def completions(data: dict[str, Any], perm: tuple[int, ...]) -> list[int]:
    p = data["durations"]
    r = data.get("release", [0] * len(p))
    t, c = 0, [0] * len(p)
    for j in perm:
        if p[j] == 0:  # occupies no machine time (as the checker says): done at its release
            c[j] = r[j]
            continue
        t = max(t, r[j]) + p[j]
        c[j] = t
    return c


def objective(data: dict[str, Any], c: list[int]) -> float:
    n = len(c)
    w = data.get("weights", [1] * n)
    d = data.get("due")
    kind = data.get("objective", "weighted_completion")
    if kind == "weighted_completion":
        return sum(w[j] * c[j] for j in range(n))
    if kind == "max_lateness":
        return max(c[j] - d[j] for j in range(n))
    return sum(w[j] * max(0, c[j] - d[j]) for j in range(n))


def brute_force(data: dict[str, Any]) -> float:
    """Least objective over every job order's semi-active schedule (a job of no length ends at its release)."""
    n = len(data["durations"])
    return min(objective(data, completions(data, perm)) for perm in itertools.permutations(range(n)))


def random_data(rng: np.random.Generator, n: int, kind: str, release: bool, decimals: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"durations": rng.integers(0, 8, n).tolist(), "objective": kind}
    if decimals:
        data["weights"] = [round(float(x), 1) for x in rng.uniform(0, 5, n)]
    else:
        data["weights"] = rng.integers(0, 6, n).tolist()
    if release:
        data["release"] = rng.integers(0, 15, n).tolist()
    if kind != "weighted_completion":
        data["due"] = rng.integers(-3, 25, n).tolist()
    return data


def solve(data: dict[str, Any], method: str = "auto", **options: Any) -> allocopt.Result:
    return allocopt.solve(instance_doc("single_machine", data), method=method, **options)


def test_wspt_equals_brute_force_without_release() -> None:
    rng = np.random.default_rng(11)
    for trial in range(40):
        data = random_data(rng, int(rng.integers(1, 7)), "weighted_completion", False, decimals=trial % 2 == 1)
        r = solve(data, "wspt")
        assert r.verified and r.status == "optimal"
        assert r.objective == pytest.approx(brute_force(data))
        assert solve(data).method == "wspt"


def test_edd_equals_brute_force_without_release() -> None:
    rng = np.random.default_rng(12)
    for _ in range(40):
        data = random_data(rng, int(rng.integers(1, 7)), "max_lateness", False)
        r = solve(data, "edd")
        assert r.verified and r.status == "optimal"
        assert r.objective == brute_force(data)
        assert solve(data).method == "edd"


@pytest.mark.parametrize(
    ("kind", "release"),
    [
        ("weighted_completion", True),
        ("weighted_tardiness", False),
        ("weighted_tardiness", True),
        ("max_lateness", True),
    ],
)
def test_cp_and_milp_equal_brute_force(kind: str, release: bool) -> None:
    rng = np.random.default_rng(hash((kind, release)) % 2**32)
    for trial in range(8):
        data = random_data(rng, int(rng.integers(2, 8)), kind, release, decimals=trial == 7)
        best = brute_force(data)
        cp = solve(data, "cp", **FAST)
        milp = solve(data, "milp")
        for r in (cp, milp):
            assert r.verified and r.status == "optimal", (r.method, r.message)
            assert r.objective == pytest.approx(best, abs=1e-6)


def test_greedy_lies_between_its_bound_and_the_optimum() -> None:
    rng = np.random.default_rng(13)
    for kind in ("weighted_completion", "max_lateness", "weighted_tardiness"):
        for _ in range(25):
            data = random_data(rng, int(rng.integers(1, 7)), kind, bool(rng.integers(0, 2)))
            best = brute_force(data)
            r = solve(data, "greedy")
            assert r.verified and r.status in ("optimal", "feasible")
            assert r.objective >= best - 1e-6
            assert r.bound <= best + 1e-6


def test_greedy_is_exact_where_its_rule_is() -> None:
    rng = np.random.default_rng(14)
    data = random_data(rng, 30, "weighted_completion", False)
    assert solve(data, "greedy").status == "optimal"  # its bound (WSPT without release) equals its WSPT order


def test_wspt_exchange_argument() -> None:
    """Swap adjacent jobs i (at k) and j (at k+1) of Smith's order: sum w C rises by w_i p_j - w_j p_i >= 0.

    (i now ends p_j later, j ends p_i earlier; nobody else moves.) Naming the job that runs first after the swap
    j instead, this is the textbook's w_j p_i - w_i p_j.
    """
    rng = np.random.default_rng(15)
    for _ in range(20):
        n = int(rng.integers(2, 9))
        data = {"durations": rng.integers(1, 10, n).tolist(), "weights": rng.integers(0, 10, n).tolist()}
        start = solve(data, "wspt").solution["start"]
        order = sorted(range(n), key=lambda j: start[j])
        base = objective(data, completions(data, tuple(order)))
        for k in range(n - 1):
            i, j = order[k], order[k + 1]
            swapped = [*order[:k], j, i, *order[k + 2 :]]
            rise = objective(data, completions(data, tuple(swapped))) - base
            w, p = data["weights"], data["durations"]
            assert rise == w[i] * p[j] - w[j] * p[i]
            assert rise >= 0


def test_auto_picks_an_exact_method_when_the_rules_do_not_apply() -> None:
    rng = np.random.default_rng(16)
    data = random_data(rng, 6, "weighted_completion", True)
    r = solve(data)
    assert r.method == "cp" and r.status == "optimal" and r.objective == brute_force(data)
    big = random_data(rng, 300, "weighted_tardiness", True)
    r = solve(big, time_limit=5)
    assert r.method == "greedy" and r.verified


def test_checker_rejects_overlap_and_early_start() -> None:
    d = sm_model.parse({"durations": [3, 2, 0], "release": [0, 4, 9]})
    good = sm_model.check(d, {"start": [0, 4, 9]})
    assert good.feasible and good.objective == 3 + 6 + 9
    over = sm_model.check(d, {"start": [4, 5, 9]})
    assert not over.feasible and "overlap" in over.reason
    early = sm_model.check(d, {"start": [0, 3, 9]})
    assert not early.feasible and "release" in early.reason
    assert sm_model.check(d, {"start": [0, 4, 10]}).feasible  # a job of no length occupies nothing
    assert not sm_model.check(d, {"start": [0, 4]}).feasible


def test_rules_refuse_with_the_reason() -> None:
    data = {"durations": [2, 3], "release": [0, 1]}
    with pytest.raises(UsageError, match="release dates"):
        solve(data, "wspt")
    with pytest.raises(UsageError, match="max_lateness only"):
        solve(data, "edd")
    with pytest.raises(UsageError, match="release dates"):
        solve({**data, "due": [3, 4], "objective": "max_lateness"}, "edd")


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"durations": [1, 2.5]}, "data.durations[1]"),
        ({"durations": [1, 2], "release": [0, -1]}, "data.release[1]"),
        ({"durations": [1, 2], "objective": "max_lateness"}, "data.due"),
        ({"durations": [1, 2], "objective": "weighted_tardiness"}, "data.due"),
        ({"durations": [1, 2], "weights": [1, 2, 3]}, "data.weights"),
        ({"durations": [1, 2], "due": [4]}, "data.due"),
    ],
)
def test_bad_input_exits_2_with_the_json_path(
    data: dict[str, Any], path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(instance_doc("single_machine", data)))
    assert main(["validate", str(src)]) == 2
    assert path in capsys.readouterr().err
    assert main(["solve", str(src), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_user_models_can_be_extended() -> None:
    data = {"durations": [2, 3, 1], "weights": [1, 1, 1]}
    inst = allocopt.instance_from_dict(instance_doc("single_machine", data))
    cp = allocopt.build_cp_model(inst)
    cp.Add(cp.start[0] >= 4)  # job 0 may not start before 4
    r = allocopt.solve(inst, "cp", model=cp, **FAST)
    assert r.solution["start"][0] >= 4 and r.objective == brute_force({**data, "release": [4, 0, 0]})
    m = allocopt.build_model(inst)
    m.start[0].setlb(4)
    r = allocopt.solve(inst, "milp", model=m)
    assert r.solution["start"][0] >= 4 and r.objective == brute_force({**data, "release": [4, 0, 0]})


@pytest.mark.parametrize("path", SM_FILES, ids=[p.stem for p in SM_FILES])
def test_committed_instances(path: Path) -> None:
    assert main(["validate", str(path)]) == 0
    doc = json.loads(path.read_text())
    assert doc["reference"]["optimum"] == brute_force(doc["data"])
    r = allocopt.solve(path, time_limit=5)
    assert r.status == "optimal" and r.objective == doc["reference"]["optimum"]


def test_cp_refuses_weights_it_cannot_scale_and_auto_falls_back_to_milp() -> None:
    data = {"durations": [2, 3, 1], "weights": [0.1234567890123, 1, 2], "release": [0, 1, 0]}
    with pytest.raises(UsageError, match="CP-SAT needs integral weights"):
        solve(data, "cp")
    r = solve(data)
    assert r.method == "milp" and r.status == "optimal"
    assert r.objective == pytest.approx(brute_force(data))


def test_data_round_trip() -> None:
    data = {"durations": [2, 0, 4], "weights": [1.5, 2, 0], "release": [0, 3, 1], "due": [-1, 4, 9]}
    for kind in ("weighted_completion", "max_lateness", "weighted_tardiness"):
        d = sm_model.parse({**data, "objective": kind})
        again = sm_model.parse(sm_model.to_data(d))
        assert again.objective == kind and again.due is not None
        for a, b in ((d.duration, again.duration), (d.weight, again.weight), (d.release, again.release)):
            assert np.array_equal(a, b)


def test_time_limit_is_kept_and_the_answer_checked() -> None:
    rng = np.random.default_rng(17)
    data = random_data(rng, 60, "weighted_tardiness", True)
    for method in ("cp", "greedy"):
        r = solve(data, method, time_limit=1.0, **(FAST if method == "cp" else {}))
        assert r.verified and r.status in ("optimal", "feasible")
        assert r.runtime_s < 4.0
        assert r.bound <= r.objective + 1e-6
