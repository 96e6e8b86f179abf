"""The command line: outputs, exit statuses, and what bad input is told (without a traceback)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, INSTANCES, instance_doc

from allocopt import cli
from allocopt.result import Result

EXAMPLES = INSTANCES / "knapsack" / "examples"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns("*.solution.json"))
    return folder


def test_solve_writes_solution_next_to_each_file_and_prints_the_table(capsys, examples: Path) -> None:
    code, out, err = run(capsys, "solve", examples, "--method", "milp")
    assert code == 0, err
    for inst in examples.glob("*.json"):
        if inst.name.endswith(".solution.json"):
            continue
        sol = json.loads(inst.with_name(inst.stem + ".solution.json").read_text(encoding="utf-8"))
        assert sol["status"] == "optimal" and sol["verified"] is True and sol["method"] == "milp"
    assert out.splitlines()[0].split() == [
        "instance",
        "method",
        "status",
        "objective",
        "bound",
        "gap",
        "time",
        "reference",
    ]
    assert "budget-01" in out and "130" in out
    assert "4/4" in err  # progress on stderr for several files
    # solving the folder again skips the solution files it wrote and replaces them
    code, out, _ = run(capsys, "solve", examples, "--method", "milp")
    assert code == 0 and len(out.splitlines()) == 5


def test_solve_into_out_dir_and_reference_column(capsys, tmp_path: Path) -> None:
    src = INSTANCES / "knapsack" / "mknap1" / "mknap1-01.json"
    code, out, err = run(capsys, "solve", src, "--out", tmp_path / "sol")
    assert code == 0, err
    sol = json.loads((tmp_path / "sol" / "mknap1-01.solution.json").read_text(encoding="utf-8"))
    assert sol["objective"] == 3800 and sol["instance"] == "mknap1-01"
    row = out.splitlines()[1].split()
    assert row[2] == "optimal" and row[-1] == "3800"
    assert err == ""  # one file: no progress bar


def test_invalid_file_in_a_batch_exits_2_names_the_path_and_writes_nothing(capsys, examples: Path) -> None:
    write(examples / "zz-bad.json", instance_doc("knapsack", {"values": [1, 2], "weights": [1, -3], "capacity": 2}))
    code, _, err = run(capsys, "solve", examples)
    assert code == 2
    assert "zz-bad.json: data.weights[1]: expected a number >= 0, got -3" in err
    assert not list(examples.glob("*.solution.json"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--method", "dp"], "methods that apply: auto, milp, greedy"),
        (["--method", "simplex"], "unknown method 'simplex'"),
        (["--method", "milp", "--solver", "no-such-solver"], "not installed; available: highs"),
        (["--method", "dp", "--solver", "highs"], "methods that apply"),
        (["--method", "milp", "-o", "colour=1"], "has no option 'colour'"),
        (["--method", "milp", "-o", "noequals"], "KEY=VALUE"),
        (["--time-limit", "-1"], "time limit must be positive"),
    ],
)
def test_usage_errors_exit_2_and_say_what_applies(capsys, tmp_path: Path, args: list[str], words: str) -> None:
    src = shutil.copy(INSTANCES / "knapsack" / "mknap1" / "mknap1-01.json", tmp_path)
    code, _, err = run(capsys, "solve", src, *args)
    assert code == 2
    assert words in err
    assert not list(tmp_path.glob("*.solution.json"))


def test_solver_that_a_method_does_not_take_is_a_usage_error(capsys, tmp_path: Path) -> None:
    src = shutil.copy(EXAMPLES / "budget-01.json", tmp_path)
    code, _, err = run(capsys, "solve", src, "--method", "dp", "--solver", "highs")
    assert code == 2 and "does not take solver 'highs'" in err


def test_infeasible_is_an_answer_and_exits_0(capsys, tmp_path: Path) -> None:
    data = {"values": [5, 6], "weights": [4, 5], "capacity": 3, "groups": [0, 0], "choose": "exactly_one"}
    src = write(tmp_path / "nofit.json", instance_doc("knapsack", data))
    for method in ("milp", "dp", "greedy"):
        code, out, _ = run(capsys, "solve", src, "--method", method)
        assert code == 0 and "infeasible" in out
        sol = json.loads((tmp_path / "nofit.solution.json").read_text(encoding="utf-8"))
        assert sol["status"] == "infeasible" and sol["solution"] is None and sol["objective"] is None


def test_a_solve_ending_in_error_exits_1(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(inst, **kwargs) -> Result:  # stands in for an engine crash
        raise RuntimeError("engine crashed")

    monkeypatch.setattr(cli, "solve", broken)
    src = shutil.copy(EXAMPLES / "budget-01.json", tmp_path)
    code, out, err = run(capsys, "solve", src)
    assert code == 1 and "error" in out and "engine crashed" in err
    assert json.loads((tmp_path / "budget-01.solution.json").read_text(encoding="utf-8"))["status"] == "error"


def test_check_verifies_and_rejects(capsys, tmp_path: Path) -> None:
    src = shutil.copy(EXAMPLES / "budget-01.json", tmp_path)
    assert run(capsys, "solve", src, "--method", "milp")[0] == 0
    sol_path = tmp_path / "budget-01.solution.json"
    code, out, _ = run(capsys, "check", src, sol_path)
    assert code == 0 and "verified" in out and "130" in out
    doc = json.loads(sol_path.read_text(encoding="utf-8"))
    doc["solution"]["take"] = [1] * 7  # over capacity
    write(sol_path, doc)
    code, out, _ = run(capsys, "check", src, sol_path)
    assert code == 1 and "capacity" in out
    doc["solution"]["take"] = [0] * 7  # feasible, but not the stated objective
    write(sol_path, doc)
    code, out, _ = run(capsys, "check", src, sol_path)
    assert code == 1 and "stated objective" in out
    doc["status"] = "great"
    write(sol_path, doc)
    code, _, err = run(capsys, "check", src, sol_path)
    assert code == 2 and "status" in err


def test_validate(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "validate", EXAMPLES / "choice-01.json", EXAMPLES / "two-resources-01.json")
    assert code == 0 and "multiple-choice (exactly one) knapsack, n=9" in out and "2-dimensional" in out
    bad = write(tmp_path / "b.json", {"format": "allocopt/1", "problem": "knapsack", "data": {}})
    code, _, err = run(capsys, "validate", bad)
    assert code == 2 and "b.json: data: missing required field 'values'" in err


def test_import_formats_keep_the_reference_optimum(capsys, tmp_path: Path) -> None:
    out_dir = tmp_path / "imported"
    code, out, _ = run(
        capsys,
        "import",
        "pisinger",
        DATA / "pisinger" / "large_scale" / "knapPI_1_100_1000_1",
        DATA / "pisinger" / "f5_l-d_kp_15_375",
        "--out",
        out_dir,
    )
    assert code == 0 and "optimum 9147" in out
    doc = json.loads((out_dir / "knapPI_1_100_1000_1.json").read_text(encoding="utf-8"))
    assert doc["reference"]["optimum"] == 9147 and len(doc["data"]["values"]) == 100
    assert doc["data"]["capacity"] == 995 and doc["data"]["values"][:2] == [94, 506]
    real = json.loads((out_dir / "f5_l-d_kp_15_375.json").read_text(encoding="utf-8"))
    assert "reference" not in real and real["data"]["values"][0] == 0.125126

    code, out, _ = run(
        capsys, "import", "pisinger-csv", DATA / "pisinger" / "knapPI_1_100_1000_first2.csv", "--out", out_dir
    )
    assert code == 0
    second = json.loads((out_dir / "knapPI_1_100_1000_2.json").read_text(encoding="utf-8"))
    assert second["reference"]["optimum"] == 8600

    code, out, _ = run(capsys, "import", "orlib-mknap", DATA / "orlib" / "mknap1.txt", "--out", out_dir)
    assert code == 0 and out.count("wrote") == 7
    two = json.loads((out_dir / "mknap1-02.json").read_text(encoding="utf-8"))
    assert two["reference"]["optimum"] == 8706.1 and len(two["data"]["weights"]) == 10


def test_import_errors(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "import", "netlib", DATA / "orlib" / "mknap1.txt", "--out", tmp_path)
    assert code == 2 and "unknown import format 'netlib'; formats: pisinger" in err
    broken = tmp_path / "broken.txt"
    broken.write_text("3\n10 2 0\n1 2 x\n", encoding="utf-8")
    code, _, err = run(capsys, "import", "orlib-mknap", broken, "--out", tmp_path / "o")
    assert code == 2 and "broken.txt" in err and "'x'" in err
    assert not (tmp_path / "o").exists()


def test_no_traceback_reaches_a_command_line_user(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.json", {"format": "allocopt/1", "problem": "knapsack", "data": {"values": "x"}})
    proc = subprocess.run([sys.executable, "-m", "allocopt", "solve", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "bad.json: data.values" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "allocopt", "solve", str(tmp_path / "nope.json")], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "no such file" in proc.stderr


def test_a_bug_is_an_internal_error_exit_1_not_a_traceback(capsys, tmp_path: Path, monkeypatch) -> None:
    def broken(path):  # stands in for a parser bug that a strange input triggers
        raise OverflowError("int too large to convert to C long")

    monkeypatch.setattr(cli, "load", broken)
    src = shutil.copy(EXAMPLES / "budget-01.json", tmp_path)
    for command in ("validate", "solve"):
        code, _, err = run(capsys, command, src)
        assert code == 1 and "Traceback" not in err
        assert err.startswith("allocopt: internal error: OverflowError: int too large to convert to C long (a bug")
    assert not list(tmp_path.glob("*.solution.json"))
