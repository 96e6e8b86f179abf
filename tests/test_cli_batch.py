"""The command line at scale: --workers, --summary, --skip-solved, and compare."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from allocopt import cli

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    *sorted((ROOT / "instances/knapsack/examples").glob("*.json")),
    *sorted((ROOT / "instances/parallel_machines").glob("*.json"))[:3],
    *sorted((ROOT / "instances/single_machine").glob("*.json"))[:2],
]


def run(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as stop:  # argparse's own usage errors
        code = int(stop.code)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    batch = tmp_path / "batch"
    batch.mkdir()
    for f in SOURCES:
        shutil.copy(f, batch / f.name)
    return batch


def solutions(folder: Path) -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.solution.json"))}


def essence(doc: dict[str, Any]) -> tuple:
    return tuple(doc[k] for k in ("problem", "instance", "status", "objective", "bound", "method", "verified"))


def test_workers_write_the_files_a_serial_run_writes(capsys, folder: Path, tmp_path: Path) -> None:
    serial_out, parallel_out = tmp_path / "serial", tmp_path / "parallel"
    assert run(capsys, "solve", folder, "--out", serial_out)[0] == 0
    code, out, err = run(capsys, "solve", folder, "--out", parallel_out, "--workers", "2")
    assert code == 0 and "Traceback" not in err
    serial, parallel = solutions(serial_out), solutions(parallel_out)
    assert len(serial) == len(SOURCES) and set(parallel) == set(serial)
    for name in serial:
        assert essence(parallel[name]) == essence(serial[name]), name
    # The table lists every instance in input order, whatever order they finished in.
    listed = [line.split()[0] for line in out.splitlines()[1:]]
    assert listed == [json.loads(f.read_text()).get("name", f.stem) for f in sorted(folder.glob("*.json"))]


def test_the_summary_csv_round_trips(capsys, folder: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.csv"
    assert run(capsys, "solve", folder, "--workers", "2", "--summary", summary)[0] == 0
    with summary.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == cli.SUMMARY_COLUMNS
    files = solutions(folder)
    assert len(rows) == len(files) == len(SOURCES)
    for row in rows:
        doc = files[Path(row["file"]).name.replace(".json", ".solution.json")]
        assert row["problem"] == doc["problem"] and row["instance"] == doc["instance"]
        assert row["status"] == doc["status"] and row["method"] == doc["method"]
        assert float(row["objective"]) == doc["objective"] and float(row["bound"]) == doc["bound"]
        assert float(row["runtime_s"]) == pytest.approx(doc["runtime_s"], abs=1e-6)
        assert row["verified"] == ("true" if doc["verified"] else "false")
        reference = json.loads(Path(row["file"]).read_text()).get("reference", {}).get("optimum")
        assert (row["reference_optimum"] == "") == (reference is None)
        if reference is not None:
            assert float(row["reference_optimum"]) == reference


def test_skip_solved_skips_exactly_the_verified_up_to_date_ones(capsys, folder: Path) -> None:
    assert run(capsys, "solve", folder)[0] == 0
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.solution.json")}
    instances = sorted(p for p in folder.glob("*.json") if not p.name.endswith(".solution.json"))
    edited, unverified = instances[0], instances[1]
    # An instance edited after its solution, and a solution file that is not verified: both solved again.
    later = max(before.values()) + 10**9
    os.utime(edited, ns=(later, later))
    doc_path = folder / unverified.name.replace(".json", ".solution.json")
    doc = json.loads(doc_path.read_text())
    doc["verified"] = False
    doc_path.write_text(json.dumps(doc))
    before[doc_path.name] = doc_path.stat().st_mtime_ns
    code, out, err = run(capsys, "solve", folder, "--skip-solved")
    assert code == 0
    assert f"{len(instances) - 2} instance(s) already solved and verified: skipped" in err
    after = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.solution.json")}
    rewritten = {name for name in after if after[name] != before[name]}
    assert rewritten == {f.name.replace(".json", ".solution.json") for f in (edited, unverified)}
    assert json.loads(doc_path.read_text())["verified"] is True
    assert len(out.splitlines()) == 1 + len(instances)  # skipped instances still have their row


@pytest.mark.parametrize("workers", ["0", "-3", "two"])
def test_bad_worker_counts_exit_2(capsys, folder: Path, workers: str) -> None:
    code, _, err = run(capsys, "solve", folder, "--workers", workers)
    assert code == 2 and "--workers" in err and "whole number >= 1" in err
    assert not list(folder.glob("*.solution.json"))


def test_a_summary_in_a_missing_folder_exits_2_before_solving(capsys, folder: Path, tmp_path: Path) -> None:
    code, _, err = run(capsys, "solve", folder, "--summary", tmp_path / "missing" / "s.csv")
    assert code == 2 and "does not exist" in err and "Traceback" not in err
    assert not list(folder.glob("*.solution.json"))


def test_an_unreachable_ray_address_exits_2_and_writes_nothing(capsys, folder: Path) -> None:
    code, _, err = run(capsys, "solve", folder, "--ray", "127.0.0.1:1")
    assert code == 2 and "cannot reach a Ray cluster at 127.0.0.1:1" in err
    assert not list(folder.glob("*.solution.json"))


def test_compare_prints_every_method_with_the_best_marked(capsys, tmp_path: Path) -> None:
    knapsack = ROOT / "instances/knapsack/examples/budget-01.json"
    chart = tmp_path / "compare.png"
    code, out, err = run(capsys, "compare", knapsack, "--plot", chart)
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.split()}
    assert {"dp", "milp", "greedy"} <= set(lines)
    assert lines["dp"].split()[2] == "optimal" and lines["dp"].count("*") == 2
    assert chart.stat().st_size > 0 and not list(tmp_path.glob(".*.tmp"))


def test_compare_with_an_unknown_method_exits_2(capsys) -> None:
    knapsack = ROOT / "instances/knapsack/examples/budget-01.json"
    code, _, err = run(capsys, "compare", knapsack, "--methods", "dp,nope")
    assert code == 2 and "unknown method 'nope'" in err
