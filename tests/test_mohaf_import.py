"""The MOHAF importer: scores against hand computations and an independent per-pair re-implementation,
null exactly for incompatible pairs, exact >= greedy (and = an independent max-weight matching), the
greedy = MOHAF's own greedy, the CLI round trip, and the bad-input matrix."""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from conftest import DATA, INSTANCES

import allocopt
from allocopt import cli
from allocopt.envelope import instance_from_dict, load
from allocopt.errors import InstanceError, UsageError
from allocopt.importers.mohaf import read_mohaf

HAND = DATA / "mohaf"
REQ, RES = HAND / "hand-requests.csv", HAND / "hand-resources.csv"
COMMITTED = INSTANCES / "assignment" / "mohaf"
TYPES = ["compute", "storage", "bandwidth", "energy"]


def run(capsys: pytest.CaptureFixture[str], *argv: Any) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------------------------- independent oracles
def mohaf_score(q: dict[str, Any], r: dict[str, Any], w: tuple[float, ...] = (0.3, 0.3, 0.2, 0.2)) -> float:
    """MOHAF's utility of one bid, pair by pair in plain Python (as in MOHAFAuction's _calculate_* helpers)."""
    price = float(q["max_price"])
    cost = max(0.0, 1 - float(r["cost_per_unit"]) / price) if price > 0 else 0.0
    dist = math.sqrt((float(r["x"]) - float(q["x"])) ** 2 + (float(r["y"]) - float(q["y"])) ** 2)
    qos = (max(0.0, 1 - dist / 100) + (float(r["reliability"]) + float(r["availability"])) / 2) / 2
    return w[0] * cost + w[1] * qos + w[2] * float(r["energy_efficiency"]) + w[3] * float(q["priority"]) / 10


def mohaf_compatible(q: dict[str, Any], r: dict[str, Any]) -> bool:
    if q["type"].strip().lower() != r["type"].strip().lower() or float(r["capacity"]) < float(q["amount"]):
        return False
    dist = math.hypot(float(r["x"]) - float(q["x"]), float(r["y"]) - float(q["y"]))
    for need, have in (("min_reliability", "reliability"), ("min_availability", "availability")):
        if q.get(need) not in (None, "") and float(r[have]) < float(q[need]):
            return False
    return not (q.get("max_distance") not in (None, "") and dist > float(q["max_distance"]))


def mohaf_greedy(scores: dict[tuple[int, int], float]) -> float:
    """MOHAF's allocation: bids by score, best first (stable: request, then resource order), one-to-one."""
    bids = sorted(scores.items(), key=lambda kv: -kv[1])
    taken_q: set[int] = set()
    taken_r: set[int] = set()
    total = 0.0
    for (i, j), s in bids:
        if i not in taken_q and j not in taken_r:
            taken_q.add(i)
            taken_r.add(j)
            total += s
    return total


def max_matching(scores: dict[tuple[int, int], float]) -> float:
    g = nx.Graph()
    for (i, j), s in scores.items():
        if s > 0:
            g.add_edge(("q", i), ("r", j), weight=s)
    return sum(g.edges[e]["weight"] for e in nx.max_weight_matching(g))


def random_scenario(rng: np.random.Generator, n: int, m: int, qos: bool) -> tuple[list[dict], list[dict]]:
    res = [
        {
            "id": f"s{j}",
            "type": TYPES[rng.integers(2)],
            "capacity": rng.uniform(10, 80),
            "cost_per_unit": rng.uniform(0.3, 2.0),
            "x": rng.uniform(-50, 50),
            "y": rng.uniform(-50, 50),
            "availability": rng.uniform(0.6, 1),
            "reliability": rng.uniform(0.5, 1),
            "energy_efficiency": rng.uniform(0.4, 0.9),
        }
        for j in range(m)
    ]
    req = []
    for i in range(n):
        row = {
            "id": f"q{i}",
            "type": TYPES[rng.integers(2)].upper() if i % 3 == 0 else TYPES[rng.integers(2)],
            "amount": rng.uniform(10, 70),
            "max_price": 0.0 if i == 1 else rng.uniform(1, 100),
            "priority": float(rng.integers(1, 11)),
            "x": rng.uniform(-50, 50),
            "y": rng.uniform(-50, 50),
        }
        if qos:
            row["min_reliability"] = rng.uniform(0.5, 0.9) if i % 2 else ""
            row["min_availability"] = rng.uniform(0.6, 0.9) if i % 3 else ""
            row["max_distance"] = rng.uniform(30, 120) if i % 4 else ""
        req.append(row)
    return req, res


# ----------------------------------------------------------------------------------------------- formula
def test_hand_example_scores_and_nulls() -> None:
    (doc,) = read_mohaf(REQ, RES)
    cost = doc["data"]["cost"]
    # By hand, weights (0.3, 0.3, 0.2, 0.2):
    # r1-A: cost 1-1/10 = 0.9, QoS (1 + (0.8+1)/2)/2 = 0.95, energy 0.9, fairness 10/10 -> 0.27+0.285+0.18+0.2
    # r1-B: cost 1-2/10 = 0.8, distance 50 -> (0.5 + (0.7+0.9)/2)/2 = 0.65, energy 0.5, fairness 1
    # r2-A: cost 1-1/4 = 0.75, QoS 0.95, energy 0.9, fairness 0.5 (type COMPUTE = compute)
    assert cost[0][0] == pytest.approx(0.935, abs=1e-12)
    assert cost[0][1] == pytest.approx(0.735, abs=1e-12)
    assert cost[1][0] == pytest.approx(0.79, abs=1e-12)
    # null exactly where incompatible: r1-C type, r2-B capacity 20 < 40, r2-C type, r3 needs 200 > every capacity
    assert [[c is None for c in row[:3]] for row in cost] == [
        [False, False, True],
        [False, True, True],
        [True, True, True],
    ]
    assert [row[3] for row in cost] == [0, 0, 0]  # the 'unserved' column
    assert doc["data"]["sense"] == "max" and doc["data"]["capacity"] == [1, 1, 1, 3]
    assert doc["x-mohaf"]["resources"] == ["A", "B", "C", "unserved"] and doc["name"] == "hand"


def test_hand_example_weights_and_qos_columns(tmp_path: Path) -> None:
    (doc,) = read_mohaf(REQ, RES, weights=[1, 0, 0, 1])
    assert doc["data"]["cost"][0][1] == pytest.approx(0.8 + 1.0, abs=1e-12)  # cost 0.8 + fairness 1
    assert doc["x-mohaf"]["weights"] == {"cost": 1, "qos": 0, "energy": 0, "fairness": 1}
    rows = read_rows(REQ)
    for row in rows:
        row.update(min_reliability="", min_availability="", max_distance="")
    rows[0]["max_distance"] = "49.9"  # B is 50 away from r1
    rows[1]["min_reliability"] = "0.81"  # A's reliability is 0.8
    (doc,) = read_mohaf(write_csv(tmp_path / "q.csv", rows), RES)
    assert [[c is None for c in row[:3]] for row in doc["data"]["cost"]][:2] == [[False, True, True], [True] * 3]
    rows[0]["max_distance"], rows[1]["min_reliability"] = "50", "0.8"  # bounds are inclusive
    (doc,) = read_mohaf(write_csv(tmp_path / "q.csv", rows), RES)
    # r2-B stays null: B's capacity 20 < 40
    assert [[c is None for c in row[:3]] for row in doc["data"]["cost"]][:2] == [
        [False, False, True],
        [False, True, True],
    ]


def test_hand_example_exact_beats_mohaf_greedy() -> None:
    (doc,) = read_mohaf(REQ, RES)
    inst = instance_from_dict(doc)
    greedy = allocopt.solve(inst, method="greedy")
    exact = allocopt.solve(inst, method="exact")
    # MOHAF's greedy gives A to r1 (0.935, the best bid) and leaves r2 unserved; the best matching is
    # r1-B + r2-A = 0.735 + 0.79.
    assert greedy.verified and greedy.objective == pytest.approx(0.935)
    assert greedy.solution["assign"] == [[0], [3], [3]]
    assert exact.status == "optimal" and exact.objective == pytest.approx(1.525)
    assert exact.solution["assign"] == [[1], [0], [3]]


@pytest.mark.parametrize("seed", range(12))
def test_random_scores_greedy_and_exact_against_independent_code(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 12)), int(rng.integers(2, 10))
    req, res = random_scenario(rng, n, m, qos=seed % 2 == 1)
    w = tuple(float(x) for x in rng.dirichlet(np.ones(4))) if seed % 3 else (0.3, 0.3, 0.2, 0.2)
    (doc,) = read_mohaf(
        write_csv(tmp_path / "r-requests.csv", req), write_csv(tmp_path / "r-resources.csv", res), weights=w
    )
    assert doc["name"] == "r"
    cost = doc["data"]["cost"]
    # read back what was written, as the importer sees it (full float text round-trips exactly)
    req_rows, res_rows = read_rows(tmp_path / "r-requests.csv"), read_rows(tmp_path / "r-resources.csv")
    scores: dict[tuple[int, int], float] = {}
    for i, j in itertools.product(range(n), range(m)):
        if mohaf_compatible(req_rows[i], res_rows[j]):
            scores[i, j] = mohaf_score(req_rows[i], res_rows[j], w)
            assert cost[i][j] == pytest.approx(scores[i, j], rel=1e-12, abs=1e-12)
        else:
            assert cost[i][j] is None
    inst = instance_from_dict(doc)
    greedy = allocopt.solve(inst, method="greedy")
    exact = allocopt.solve(inst, method="exact")
    assert greedy.verified and exact.verified and exact.status == "optimal"
    assert exact.objective >= greedy.objective - 1e-9
    assert greedy.objective == pytest.approx(mohaf_greedy(scores), abs=1e-9)  # continuous scores: no ties
    assert exact.objective == pytest.approx(max_matching(scores), abs=1e-9)


# ------------------------------------------------------------------------------------ committed instances
@pytest.mark.parametrize("name", ["balanced", "high-demand"])
def test_committed_instances_are_the_import_of_their_sources(name: str) -> None:
    src = COMMITTED / "source"
    (doc,) = read_mohaf(src / f"{name}-requests.csv", src / f"{name}-resources.csv")
    committed = json.loads((COMMITTED / f"{name}.json").read_text(encoding="utf-8"))
    assert committed["data"] == doc["data"] and committed["x-mohaf"] == doc["x-mohaf"]
    scores = {(i, j): s for i, row in enumerate(doc["data"]["cost"]) for j, s in enumerate(row[:-1]) if s is not None}
    assert committed["reference"]["optimum"] == pytest.approx(max_matching(scores), abs=1e-9)
    inst = load(COMMITTED / f"{name}.json")
    exact, greedy = allocopt.solve(inst, method="exact"), allocopt.solve(inst, method="greedy")
    assert exact.status == "optimal" and exact.objective == pytest.approx(inst.reference_optimum, abs=1e-9)
    assert greedy.verified and greedy.objective <= exact.objective + 1e-9


# -------------------------------------------------------------------------------------------------- CLI
def test_cli_round_trip(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "hand.json"
    code, text, err = run(capsys, "import", "mohaf", REQ, RES, "--weights", "0.3,0.3,0.2,0.2", "--out", out)
    assert code == 0, err
    assert f"wrote {out}" in text
    assert json.loads(out.read_text(encoding="utf-8")) == read_mohaf(REQ, RES)[0]
    code, text, _ = run(capsys, "import", "mohaf", REQ, RES, "--out", tmp_path / "dir")
    assert code == 0 and (tmp_path / "dir" / "hand.json").is_file()
    code, text, _ = run(capsys, "import", "mohaf", REQ, RES, "--weights", "1,0,0,0", "--out", tmp_path / "w.json")
    assert code == 0
    assert json.loads((tmp_path / "w.json").read_text())["data"]["cost"][0][0] == pytest.approx(0.9)
    code, text, _ = run(capsys, "solve", out, "--method", "exact", "--out", tmp_path / "sol")
    assert code == 0 and "optimal" in text
    sol = tmp_path / "sol" / "hand.solution.json"
    assert json.loads(sol.read_text())["objective"] == pytest.approx(1.525)
    code, text, _ = run(capsys, "check", out, sol)
    assert code == 0 and "verified" in text


def _bad(rows: list[dict[str, Any]], **change: Any) -> list[dict[str, Any]]:
    out = [dict(r) for r in rows]
    line = change.pop("line", 0)
    out[line].update(change)
    return out


@pytest.mark.parametrize(
    ("which", "edit", "expect"),
    [
        ("req", lambda rows: [{k: v for k, v in r.items() if k != "priority"} for r in rows], ["line 1", "'priority'"]),
        ("req", lambda rows: _bad(rows, amount="ten"), ["line 2", "'amount'", "'ten'"]),
        ("req", lambda rows: _bad(rows, line=1, amount="-1"), ["line 3", "'amount'", ">= 0"]),
        ("req", lambda rows: _bad(rows, priority="11"), ["line 2", "'priority'", "[0, 10]"]),
        ("req", lambda rows: _bad(rows, max_price="nan"), ["line 2", "'max_price'", "finite"]),
        ("req", lambda rows: _bad(rows, line=2, id="r1"), ["line 4", "'id'", "duplicate id 'r1' (first on line 2)"]),
        ("req", lambda rows: _bad(rows, id=""), ["line 2", "'id'"]),
        ("req", lambda rows: _bad(rows, x=""), ["line 2", "'x'", "empty"]),
        ("req", lambda rows: [{**r, "min_reliabilty": "0.5"} for r in rows], ["line 1", "'min_reliabilty'", "unknown"]),
        ("res", lambda rows: _bad(rows, line=1, availability="1.5"), ["line 3", "'availability'", "[0, 1]"]),
        ("res", lambda rows: _bad(rows, cost_per_unit="-0.1"), ["line 2", "'cost_per_unit'"]),
        ("res", lambda rows: _bad(rows, line=2, id="A"), ["line 4", "duplicate id 'A'"]),
        ("res", lambda rows: [{k: v for k, v in r.items() if k != "energy_efficiency"} for r in rows], ["line 1"]),
    ],
)
def test_bad_csv_exits_2_naming_file_line_and_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, which: str, edit: Any, expect: list[str]
) -> None:
    req, res = tmp_path / "bad-requests.csv", tmp_path / "bad-resources.csv"
    write_csv(req, edit(read_rows(REQ)) if which == "req" else read_rows(REQ))
    write_csv(res, edit(read_rows(RES)) if which == "res" else read_rows(RES))
    out = tmp_path / "out"
    code, _, err = run(capsys, "import", "mohaf", req, res, "--out", out)
    bad_file = req if which == "req" else res
    assert code == 2 and str(bad_file) in err, err
    for text in expect:
        assert text in err, err
    assert "Traceback" not in err and not out.exists()
    with pytest.raises(InstanceError):
        read_mohaf(req, res)


def test_bad_files_and_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "out"

    def fails(*argv: Any, expect: str) -> None:
        code, _, err = run(capsys, "import", *argv, "--out", out)
        assert code == 2 and expect in err, err
        assert not out.exists()

    fails("mohaf", REQ, expect="takes exactly 2 files, REQUESTS.csv RESOURCES.csv; got 1")
    fails("mohaf", REQ, RES, RES, expect="takes exactly 2 files")
    fails("mohaf", REQ, tmp_path / "missing.csv", expect="missing.csv: no such file")
    fails("mohaf", RES, REQ, expect="this looks like the resources file; give REQUESTS.csv first")
    for weights in ("0.5,0.5,0", "0.3,0.3,0.2,0.2,0", "0.5,-0.1,0.3,0.3", "a,b,c,d", "0,0,0,0", "1,1,inf,1"):
        fails("mohaf", REQ, RES, "--weights", weights, expect="--weights expects 4 comma-separated numbers >= 0")
    fails("mohaf", REQ, RES, "--bits", "2,4", expect="import format 'mohaf' takes no --bits")
    fails("orlib-mknap", DATA / "orlib" / "mknap1.txt", "--weights", "1,1,1,1", expect="takes no --weights")
    empty = tmp_path / "empty.csv"
    empty.write_text("\n", encoding="utf-8")
    fails("mohaf", empty, RES, expect="empty.csv: line 1: empty file")
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,type,amount,max_price,priority,x,y\n", encoding="utf-8")
    fails("mohaf", header_only, RES, expect="header.csv: line 2: no requests")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("id,type,amount,max_price,priority,x,y\nr1,compute,1,2,3,4\n", encoding="utf-8")
    fails("mohaf", ragged, RES, expect="ragged.csv: line 2: expected 7 cells")
    twice = tmp_path / "twice.csv"
    twice.write_text("id,type,amount,max_price,priority,x,y,x\n", encoding="utf-8")
    fails("mohaf", twice, RES, expect="column 'x': the column appears twice")


def test_api_weights_validation() -> None:
    for bad in ([1, 2, 3], [1, -1, 1, 1], [0, 0, 0, 0], "abcd"):
        with pytest.raises(UsageError):
            read_mohaf(REQ, RES, weights=bad)
    with pytest.raises(UsageError, match="no option 'bits'"):
        read_mohaf(REQ, RES, bits=[2])


def test_ignored_and_extension_columns(tmp_path: Path) -> None:
    rows = [{**r, "deadline": "100", "x-note": "anything"} for r in read_rows(REQ)]
    (doc,) = read_mohaf(write_csv(tmp_path / "q.csv", rows), RES)
    assert doc["data"] == read_mohaf(REQ, RES)[0]["data"]
