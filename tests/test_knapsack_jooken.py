"""Jooken, Leyman and De Causmaecker's hard 0/1 knapsack class (EJOR 2022), against answers found elsewhere.

- the importer reads an excerpt of the authors' repository (tests/data/jooken): the optimum from combo's
  answer (its items checked against the instance) or from optima.csv, combo's time; a bad file names what is
  wrong, and the command line exits 2 without a traceback;
- ``dp`` (and ``auto``) reach the published optimum of the five committed instances (instances/knapsack/
  jooken-2022), one of which the expanding-core DP alone cannot hold (it hands over to the feasible-states DP);
- instances made with the paper's generator (reimplemented, seeded), small enough for exact references: ``dp``
  equals HiGHS at zero gap and a meet-in-the-middle enumeration, also with the state budgets cut so that the
  feasible-states DP or the table branch and bound decides;
- with a time limit too short to finish, the answer is verified, feasible, and its bound holds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, INSTANCES, instance_files

import allocopt
import allocopt.solvers.knapsack_exact as kx
from allocopt.cli import main
from allocopt.errors import InstanceError
from allocopt.importers.jooken import generate, read_jooken

JOOKEN = instance_files(INSTANCES / "knapsack" / "jooken-2022")
EXCERPT = DATA / "jooken" / "problemInstances" / "n_400_c_1000000_g_14_f_0.3_eps_0_s_100"


def best_by_enumeration(values: list[int], weights: list[int], capacity: int) -> int:
    """Exact optimum by meet in the middle (n <= ~32): every subset of each half, in int64."""
    v = np.asarray(values, np.int64)
    w = np.asarray(weights, np.int64)
    half = len(v) // 2

    def subsets(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sw, sp = np.zeros(1, np.int64), np.zeros(1, np.int64)
        for wi, vi in zip(a, b, strict=True):
            sw, sp = np.concatenate([sw, sw + wi]), np.concatenate([sp, sp + vi])
        return sw, sp

    aw, ap = subsets(w[:half], v[:half])
    bw, bp = subsets(w[half:], v[half:])
    order = np.argsort(bw, kind="stable")
    bw, bp = bw[order], np.maximum.accumulate(bp[order])
    ok = aw <= capacity
    pos = np.searchsorted(bw, capacity - aw[ok], side="right") - 1  # bw[0] = 0 always fits
    return int((ap[ok] + bp[pos]).max())


# --------------------------------------------------------------------------------------------------
# importer
# --------------------------------------------------------------------------------------------------


def test_importer_reads_combos_answer_and_time() -> None:
    (doc,) = read_jooken(EXCERPT / "test.in")
    assert doc["name"] == EXCERPT.name and doc["problem"] == "knapsack"
    data = doc["data"]
    assert len(data["values"]) == len(data["weights"]) == 400 and data["capacity"] == 1_000_000
    assert data["values"][0] == 500019 and data["weights"][0] == 500009  # first line '0 500019 500009'
    assert doc["reference"]["optimum"] == 1005018
    assert doc["reference"]["combo_seconds"] == pytest.approx(0.1342301969)
    assert "outp.out" in doc["reference"]["source"]
    # The folder itself works as well.
    assert read_jooken(EXCERPT) == [doc]


def test_importer_falls_back_to_optima_csv(tmp_path: Path) -> None:
    folder = tmp_path / "problemInstances" / EXCERPT.name
    folder.mkdir(parents=True)
    shutil.copy(EXCERPT / "test.in", folder / "test.in")
    (folder / "outp.out").write_text("combo: out of memory\n")  # what the file holds when combo failed
    shutil.copy(DATA / "jooken" / "optima.csv", tmp_path / "optima.csv")
    (doc,) = read_jooken(folder / "test.in")
    assert doc["reference"]["optimum"] == 1005018 and "optima.csv" in doc["reference"]["source"]
    (tmp_path / "optima.csv").write_text(f"name,optimum\n{EXCERPT.name},-1\n")  # -1: unknown
    (doc,) = read_jooken(folder / "test.in")
    assert "reference" not in doc


def test_importer_rejects_bad_files(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    text = (EXCERPT / "test.in").read_text()
    (folder / "test.in").write_text(text.replace("500019", "5OOO19", 1))
    with pytest.raises(InstanceError, match=r"token 3 '5OOO19': expected the profit of item 1"):
        read_jooken(folder / "test.in")
    (folder / "test.in").write_text(text)
    outp = (EXCERPT / "outp.out").read_text().splitlines()
    (folder / "outp.out").write_text("\n".join([outp[0], "1 2", *outp[2:]]) + "\n")
    with pytest.raises(InstanceError, match="line 2: no \\(more\\) item with profit 1 and weight 2"):
        read_jooken(folder / "test.in")
    (folder / "outp.out").write_text("\n".join([str(int(outp[0]) + 1), *outp[1:]]) + "\n")
    with pytest.raises(InstanceError, match="stated 1005019"):
        read_jooken(folder / "test.in")


def test_command_line_import_and_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["import", "jooken", str(EXCERPT / "test.in"), "--out", str(out)]) == 0
    inst = allocopt.load(out / f"{EXCERPT.name}.json")
    assert inst.reference_optimum == 1005018
    bad = tmp_path / "bad" / "test.in"
    bad.parent.mkdir()
    bad.write_text("3\n0 1 2\n1 3 4\n")
    capsys.readouterr()
    assert main(["import", "jooken", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "file ends early: expected the id of item 3" in err and "Traceback" not in err


# --------------------------------------------------------------------------------------------------
# the five published instances
# --------------------------------------------------------------------------------------------------


def test_the_five_published_instances_are_there() -> None:
    assert len(JOOKEN) == 5


@pytest.mark.parametrize("path", JOOKEN, ids=lambda p: p.stem)
def test_dp_reaches_the_published_optimum(path: Path) -> None:
    inst = allocopt.load(path)
    result = allocopt.solve(inst)
    assert result.method == "dp" and result.status == "optimal" and result.verified
    assert result.objective == inst.reference_optimum == result.bound
    if inst.name == "n_400_c_100000000_g_10_f_0.1_eps_0_s_200":
        # The instance the expanding core alone gave up on: the feasible-states DP decided it.
        assert result.details["phase"] == "forward"


# --------------------------------------------------------------------------------------------------
# generated instances of the class
# --------------------------------------------------------------------------------------------------

# (n, c, g, f, eps, s): every kind of parameter the paper varies, at sizes an exact reference handles.
SMALL = [
    (14, 10**8, 6, 0.1, 0.0, 200),
    (18, 10**6, 6, 0.1, 0.00001, 300),
    (18, 10**8, 6, 0.2, 0.0, 200),
    (18, 10**10, 6, 0.1, 0.001, 100),
    (20, 10**6, 10, 0.3, 0.1, 200),
    (20, 10**4, 4, 0.1, 0.0, 50),
]
BUDGETS = {"core": (10**6, 5 * 10**6), "forward": (1, 5 * 10**6), "table": (1, 3)}


def test_generator_follows_the_paper() -> None:
    doc = generate(40, 10**6, 4, 0.25, 0.01, 100, seed=3)
    assert doc == generate(40, 10**6, 4, 0.25, 0.01, 100, seed=3)  # seeded
    v, w = np.array(doc["data"]["values"]), np.array(doc["data"]["weights"])
    assert doc["data"]["capacity"] == 10**6 and doc["name"] == "n_40_c_1000000_g_4_f_0.25_eps_0.01_s_100_seed_3"
    # 3 groups of (40 - 10) / 3 = 10 items around (2^-j + eps) c, then 10 small items.
    for j in range(3):
        base = int((2.0 ** -(j + 1) + 0.01) * 10**6)
        for a in (v, w):
            assert np.all((a[10 * j : 10 * j + 10] > base) & (a[10 * j : 10 * j + 10] <= base + 100))
    assert np.all((v[30:] >= 1) & (v[30:] <= 100) & (w[30:] >= 1) & (w[30:] <= 100))
    with pytest.raises(ValueError):
        generate(10, 100, 1, 0.1, 0.0, 10, seed=0)


@pytest.mark.parametrize("params", SMALL, ids=lambda p: "n{}-c{:.0e}-g{}-f{}-eps{}-s{}".format(*p))
def test_generated_instances_equal_highs_at_zero_gap(params: tuple) -> None:
    doc = generate(*params, seed=len(str(params)))
    data = doc["data"]
    reference = best_by_enumeration(data["values"], data["weights"], data["capacity"])
    milp = allocopt.solve(doc, method="milp", mip_gap=0.0)
    assert milp.status == "optimal" and milp.objective == reference
    for phase, (core, most) in BUDGETS.items():
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(kx, "_CORE_STATES", core)
            mp.setattr(kx, "_MAX_STATES", most)
            result = allocopt.solve(doc, method="dp")
        assert result.status == "optimal" and result.verified, phase
        assert result.objective == result.bound == reference, phase


def test_larger_generated_instances_every_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    """n = 28..32 (beyond HiGHS in reasonable time): the enumeration is the reference."""
    phases_seen = set()
    for k, params in enumerate(
        [(28, 10**8, 10, 0.1, 0.0, 200), (30, 10**10, 6, 0.2, 0.0001, 300), (32, 10**6, 4, 0.1, 0.0, 100)]
    ):
        doc = generate(*params, seed=k)
        data = doc["data"]
        reference = best_by_enumeration(data["values"], data["weights"], data["capacity"])
        for core, most in BUDGETS.values():
            monkeypatch.setattr(kx, "_CORE_STATES", core)
            monkeypatch.setattr(kx, "_MAX_STATES", most)
            run = kx.knapsack_01(np.array(data["values"], float), np.array(data["weights"], float), data["capacity"])
            phases_seen.add(run.phase)
            assert run.optimal and run.value == run.bound == reference, (params, core, most)
            assert int(np.dot(data["weights"], run.x)) <= data["capacity"]
    assert phases_seen == {"core", "forward", "table"}


def test_time_limit_gives_a_verified_answer_and_a_true_bound() -> None:
    """A class member combo could not solve: far from done after 0.3 s, the answer is still verified."""
    doc = generate(1000, 10**10, 14, 0.1, 0.0001, 300, seed=1)
    result = allocopt.solve(doc, time_limit=0.3)
    assert result.method == "dp" and result.verified and result.status in ("feasible", "optimal")
    assert result.details["phase"] in ("core", "forward", "table")
    data = doc["data"]
    v, w, c = np.array(data["values"], float), np.array(data["weights"], float), data["capacity"]
    order = np.argsort(-v / w)
    fits = np.cumsum(w[order]) <= c
    b = int(fits.sum())
    dantzig = v[order][:b].sum() + (c - w[order][:b].sum()) * v[order][b] / w[order][b]
    assert result.objective <= result.bound <= dantzig + 1e-6
