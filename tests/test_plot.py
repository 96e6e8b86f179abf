"""Gantt charts (allocopt.plot, ``allocopt plot``): the bars drawn, the critical path, the command line.

Schedules come from a tiny semi-active list scheduler written here (every operation starts as soon as its job
and its machine allow, in a given order), not from the library's methods; critical paths are checked on hand
examples and, on random schedules, against the definition (a chain of tight job or machine arcs from 0 to the
makespan).
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import INSTANCES, instance_doc

import allocopt
from allocopt import cli, plot
from allocopt.errors import UsageError
from allocopt.plot import Bar, critical_path, gantt
from allocopt.result import Result

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.patches import Rectangle  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KNAPSACK = INSTANCES / "knapsack" / "examples" / "budget-01.json"

# Two jobs on two machines, the hand example of the critical path:
#   job 0: M0 for 3, then M1 for 2      job 1: M1 for 2, then M0 for 4
# Sequencing job 0 first on M0 gives  J0: [0,3) on M0, [3,5) on M1;  J1: [0,2) on M1, [3,7) on M0.
# Makespan 7; the only chain of tight arcs from 0 to 7 is J0's first operation, then (machine M0) J1's second.
HAND_JOBS = [[[0, 3], [1, 2]], [[1, 2], [0, 4]]]
HAND_START = [[0, 3], [0, 3]]


def semi_active(jobs: list[list[list[int]]], sequence: list[int]) -> list[list[int]]:
    """Start times when operations are placed in the order of ``sequence`` (job indices; the k-th occurrence of j
    is job j's k-th operation), each as early as its job predecessor and the last operation on its machine allow.
    """
    job_ready = [0] * len(jobs)
    next_op = [0] * len(jobs)
    machine_ready: dict[int, int] = {}
    start: list[list[int]] = [[0] * len(job) for job in jobs]
    for j in sequence:
        k = next_op[j]
        machine, duration = jobs[j][k]
        s = max(job_ready[j], machine_ready.get(machine, 0))
        start[j][k] = s
        job_ready[j] = machine_ready[machine] = s + duration
        next_op[j] += 1
    assert next_op == [len(job) for job in jobs]
    return start


def random_job_shop(rng: np.random.Generator, n: int, m: int, high: int = 9) -> list[list[list[int]]]:
    """n jobs, each visiting every one of m machines once in a random order, durations 1..high."""
    return [[[int(mc), int(rng.integers(1, high + 1))] for mc in rng.permutation(m)] for _ in range(n)]


def random_sequence(rng: np.random.Generator, jobs: list[list[list[int]]]) -> list[int]:
    return [int(j) for j in rng.permutation([j for j, job in enumerate(jobs) for _ in job])]


def makespan_of(jobs: list[list[list[int]]], start: list[list[int]]) -> int:
    return max(s + d for job, row in zip(jobs, start, strict=True) for (_, d), s in zip(job, row, strict=True))


def envelope(start: list[list[int]], objective: float | None, name: str = "t", **extra: Any) -> dict[str, Any]:
    return Result(
        problem="job_shop",
        instance=name,
        status=extra.pop("status", "feasible"),
        objective=objective,
        bound=None,
        gap=None,
        method=extra.pop("method", "hand"),
        solver=None,
        runtime_s=0.0,
        verified=True,
        solution={"start": start},
        **extra,
    ).to_dict()


def shop_doc(jobs: list[list[list[int]]], name: str = "t", machines: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"jobs": jobs}
    if machines is not None:
        data["machines"] = machines
    return instance_doc("job_shop", data, name=name)


def bars_of(fig: Any) -> dict[int, Rectangle]:
    """The operation bars of a gantt figure, by their index in the chart (gid 'bar<i>')."""
    ax = fig.axes[0]
    out = {int(p.get_gid()[3:]): p for p in ax.patches if isinstance(p, Rectangle) and (p.get_gid() or "")[:3] == "bar"}
    assert len(out) == len(ax.patches), "every patch of the axes is an operation bar"
    return out


def on_path(rect: Rectangle) -> bool:
    return rect.get_hatch() == "///" and rect.get_linewidth() > 2


# ------------------------------------------------------------------------------------------ critical path
def test_critical_path_of_the_hand_example() -> None:
    chart = plot._ADAPTERS["job_shop"]({"jobs": HAND_JOBS, "machines": 2}, {"start": HAND_START})
    assert chart.makespan == 7 == makespan_of(HAND_JOBS, HAND_START)
    # bars are job-major: 0 = J0 op0, 1 = J0 op1, 2 = J1 op0, 3 = J1 op1
    assert critical_path(chart.bars) == [0, 3]


def test_critical_path_mixes_job_and_machine_arcs() -> None:
    bars = [
        Bar(row=0, start=0, end=2, key=0, label="0"),  # 0
        Bar(row=1, start=2, end=5, key=0, label="0", after=(0,)),  # 1: its job predecessor 0 ends at 2
        Bar(row=1, start=0, end=1, key=1, label="1"),  # 2
        Bar(row=0, start=2, end=4, key=1, label="1", after=(2,)),  # 3: tight on M0 after 0, not on the path
        Bar(row=1, start=5, end=8, key=1, label="1", after=(3,)),  # 4: its job predecessor ends at 4; M1's at 5
        Bar(row=2, start=6, end=7, key=2, label="2"),  # 5: idle before it, nothing waits on it
    ]
    assert critical_path(bars) == [0, 1, 4]


def test_critical_path_prefers_the_job_predecessor_on_a_tie() -> None:
    bars = [
        Bar(row=0, start=0, end=2, key=0, label="0"),
        Bar(row=1, start=0, end=2, key=1, label="1"),
        Bar(row=1, start=2, end=5, key=0, label="0", after=(0,)),  # tight after both: its job's and M1's
    ]
    assert critical_path(bars) == [0, 2]


def test_no_critical_path_when_nothing_waits_on_the_idle_time() -> None:
    assert critical_path([]) == []
    assert critical_path([Bar(row=0, start=1, end=3, key=0, label="0")]) == []
    gap = [Bar(row=0, start=0, end=2, key=0, label="0"), Bar(row=0, start=3, end=5, key=1, label="1")]
    assert critical_path(gap) == []


def test_zero_length_bars_do_not_loop() -> None:
    bars = [
        Bar(row=0, start=0, end=0, key=0, label="0"),
        Bar(row=0, start=0, end=0, key=1, label="1"),
        Bar(row=0, start=0, end=4, key=0, label="0", after=(0,)),
    ]
    path = critical_path(bars)
    assert path[-1] == 2 and bars[path[0]].start == 0


def test_critical_path_on_random_semi_active_schedules(rng: np.random.Generator) -> None:
    # Every semi-active schedule has a critical path; check each found one against the definition.
    for _ in range(150):
        n, m = int(rng.integers(1, 7)), int(rng.integers(1, 5))
        jobs = random_job_shop(rng, n, m, high=int(rng.integers(1, 6)))
        start = semi_active(jobs, random_sequence(rng, jobs))
        chart = plot._ADAPTERS["job_shop"]({"jobs": jobs, "machines": m}, {"start": start})
        bars = chart.bars
        path = critical_path(bars)
        assert path, (jobs, start)
        assert bars[path[0]].start == 0 and bars[path[-1]].end == makespan_of(jobs, start)
        assert sum(bars[i].duration for i in path) == chart.makespan
        for a, b in itertools.pairwise(path):
            assert bars[a].end == bars[b].start
            assert a in bars[b].after or bars[a].row == bars[b].row


# ------------------------------------------------------------------------------------------------- gantt
def test_gantt_draws_one_row_per_machine_and_one_bar_per_operation(rng: np.random.Generator) -> None:
    jobs = random_job_shop(rng, 5, 3)
    jobs[2].append([3, 4])  # a fourth machine, visited once
    start = semi_active(jobs, random_sequence(rng, jobs))
    doc, env = shop_doc(jobs, name="shop", machines=5), envelope(start, None, name="shop", method="cp")
    fig = gantt(doc, env)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["M0", "M1", "M2", "M3", "M4"]  # M4 idle, still a row
    assert ax.get_xlabel() == "time"
    rects = bars_of(fig)
    ops = [(j, k) for j, job in enumerate(jobs) for k in range(len(job))]
    assert sorted(rects) == list(range(len(ops)))
    for i, (j, k) in enumerate(ops):
        machine, duration = jobs[j][k]
        r = rects[i]
        assert r.get_x() == start[j][k] and r.get_width() == duration
        assert r.get_y() + r.get_height() / 2 == pytest.approx(machine)
    # one colour per job, shared by its operations
    colours = {j: {rects[i].get_facecolor() for i, (jj, _) in enumerate(ops) if jj == j} for j in range(len(jobs))}
    assert all(len(c) == 1 for c in colours.values()) and len({next(iter(c)) for c in colours.values()}) == len(jobs)
    # the critical path is outlined, and said so in the legend; the title reads name, makespan, method, status
    chart = plot.chart(doc, env)
    assert chart.rows == ("M0", "M1", "M2", "M3", "M4") and len(chart.bars) == len(ops)
    assert {i for i, r in rects.items() if on_path(r)} == set(critical_path(chart.bars))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("critical path (") for t in legend)
    assert f"job {len(jobs) - 1}" in legend
    title = ax.get_title()
    assert title == f"shop: makespan {makespan_of(jobs, start)} (cp, feasible)"


def test_hand_example_marks_its_critical_path() -> None:
    fig = gantt(shop_doc(HAND_JOBS), envelope(HAND_START, 7))
    assert {i for i, r in bars_of(fig).items() if on_path(r)} == {0, 3}
    assert "critical path (2 operations)" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_a_schedule_with_needless_idle_time_has_no_critical_path_marked() -> None:
    # The hand example with job 0 started one unit late: valid (makespan 8), but nothing waits on that idle unit.
    fig = gantt(shop_doc(HAND_JOBS), envelope([[1, 4], [0, 4]], 8))
    assert not any(on_path(r) for r in bars_of(fig).values())
    assert "critical path: none" in fig.axes[0].get_legend().get_texts()[0].get_text()


def test_gantt_takes_a_result_a_dict_or_files(tmp_path: Path) -> None:
    doc = shop_doc(HAND_JOBS, name="hand")
    inst_file = tmp_path / "hand.json"
    inst_file.write_text(json.dumps(doc))
    env = envelope(HAND_START, 7, name="hand", status="optimal", method="milp")
    sol_file = tmp_path / "hand.solution.json"
    sol_file.write_text(json.dumps(env))
    result = Result(
        **{k: env[k] for k in ("problem", "instance", "status", "objective", "bound", "gap")},
        method="milp",
        solver=None,
        runtime_s=0.0,
        verified=True,
        solution=env["solution"],
    )
    import allocopt

    inputs = [(doc, env), (inst_file, sol_file), (str(inst_file), str(sol_file)), (allocopt.load(inst_file), result)]
    titles = {gantt(i, s).axes[0].get_title() for i, s in inputs}
    assert titles == {"hand: makespan 7 (milp, optimal)"}


def test_a_bare_envelope_is_enough() -> None:
    bare = {"format": "allocopt/1", "problem": "job_shop", "solution": {"start": HAND_START}}
    assert gantt(shop_doc(HAND_JOBS, name="hand"), bare).axes[0].get_title() == "hand: makespan 7"


def test_gantt_draws_into_a_given_axes() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert gantt(shop_doc(HAND_JOBS), envelope(HAND_START, 7), ax=right, title="mine") is fig
    assert len(right.patches) == 4 and not left.patches and right.get_title() == "mine"


def test_narrow_bars_are_not_labelled_and_many_jobs_cycle_colours() -> None:
    # 30 jobs: job 0 runs 300 on M0, the others 1 each on M1, one after another.
    jobs = [[[0, 300]]] + [[[1, 1]] for _ in range(29)]
    start = [[0]] + [[j - 1] for j in range(1, 30)]
    fig = gantt(shop_doc(jobs), envelope(start, 300))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["0"]  # only the wide bar carries its job's number
    rects = bars_of(fig)
    assert rects[0].get_facecolor() == rects[20].get_facecolor()  # tab20 cycles
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any(t.startswith("job ") for t in legend) and any("labels in the bars" in t for t in legend)


def test_refuses_what_it_cannot_draw() -> None:
    knapsack_doc = json.loads(KNAPSACK.read_text())
    knapsack_env = {**envelope(HAND_START, 7), "problem": "knapsack", "solution": {"take": [1]}}
    with pytest.raises(UsageError, match=r"cannot draw problem 'knapsack'.*can be drawn: job_shop"):
        gantt(knapsack_doc, knapsack_env)
    with pytest.raises(UsageError, match=r"solution is for problem 'knapsack' but the instance is 'job_shop'"):
        gantt(shop_doc(HAND_JOBS), knapsack_env)
    with pytest.raises(UsageError, match=r"solution.start: expected one list of start times per job \(2 jobs\)"):
        gantt(shop_doc(HAND_JOBS), envelope([[0, 3]], 5))
    with pytest.raises(UsageError, match=r"solution.start\[1\]: expected a list of 2 start times, got a list of 3"):
        gantt(shop_doc(HAND_JOBS), envelope([[0, 3], [0, 3, 9]], 7))
    with pytest.raises(UsageError, match="holds no solution"):
        gantt(shop_doc(HAND_JOBS), {**envelope(HAND_START, 7), "solution": None, "status": "no_solution"})


def test_refuses_a_schedule_the_checker_rejects_unless_forced() -> None:
    overlap = [[0, 3], [0, 2]]  # J1's second operation starts on M0 at 2, while J0's first runs there until 3
    with pytest.raises(UsageError, match=r"checker rejects this schedule: .*overlap on machine 0"):
        gantt(shop_doc(HAND_JOBS), envelope(overlap, None))
    fig = gantt(shop_doc(HAND_JOBS), envelope(overlap, None), force=True)
    assert "NOT VERIFIED" in fig.axes[0].get_title() and len(bars_of(fig)) == 4
    # a stated makespan the schedule does not have is rejected as well
    with pytest.raises(UsageError, match="stated objective 6"):
        gantt(shop_doc(HAND_JOBS), envelope(HAND_START, 6))


def test_without_matplotlib_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(UsageError, match=r"allocopt plot needs matplotlib: pip install 'allocopt\[plot\]'"):
        gantt(shop_doc(HAND_JOBS), envelope(HAND_START, 7))


# --------------------------------------------------------------------------------------------------- CLI
def run(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    inst = tmp_path / "hand.json"
    inst.write_text(json.dumps(shop_doc(HAND_JOBS, name="hand")))
    sol = tmp_path / "hand.solution.json"
    sol.write_text(json.dumps(envelope(HAND_START, 7, name="hand")))
    return inst, sol


def listing(folder: Path) -> dict[str, Any]:
    """Every file below ``folder`` with its bytes (to tell that nothing was written, or what was)."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def test_cli_writes_a_png_and_nothing_else(capsys, files: tuple[Path, Path]) -> None:
    inst, sol = files
    before = listing(inst.parent)
    code, out, err = run(capsys, "plot", inst, sol, "--out", inst.parent / "hand.png")
    assert code == 0, err
    after = listing(inst.parent)
    assert set(after) - set(before) == {"hand.png"} and all(after[k] == v for k, v in before.items())
    assert after["hand.png"].startswith(PNG_SIGNATURE)
    assert "wrote" in out and "makespan 7" in out
    # again, over the existing image: replaced, still nothing else
    code, _, err = run(capsys, "plot", inst, sol, "--out", inst.parent / "hand.png")
    assert code == 0, err
    assert set(listing(inst.parent)) == set(after)


def test_cli_writes_other_formats_by_suffix(capsys, files: tuple[Path, Path]) -> None:
    inst, sol = files
    code, _, err = run(capsys, "plot", inst, sol, "--out", inst.parent / "sub" / "hand.svg")
    assert code == 0, err
    assert b"<svg" in (inst.parent / "sub" / "hand.svg").read_bytes()[:1000]


@pytest.mark.parametrize("name", ["hand.xyz", "hand"])
def test_cli_refuses_an_unknown_image_format(capsys, files: tuple[Path, Path], name: str) -> None:
    inst, sol = files
    before = listing(inst.parent)
    code, _, err = run(capsys, "plot", inst, sol, "--out", inst.parent / name)
    assert code == 2 and "cannot write" in err and ".png" in err
    assert listing(inst.parent) == before


@pytest.mark.parametrize("which", [0, 1])
def test_cli_refuses_to_overwrite_its_inputs(capsys, files: tuple[Path, Path], which: int) -> None:
    inst, sol = files
    before = listing(inst.parent)
    target = files[which].parent / ".." / files[which].parent.name / files[which].name  # same file, another spelling
    code, _, err = run(capsys, "plot", inst, sol, "--out", target)
    assert code == 2 and "refusing to overwrite input file" in err
    assert listing(inst.parent) == before


def test_cli_bad_inputs_exit_2_and_write_nothing(capsys, tmp_path: Path, files: tuple[Path, Path]) -> None:
    inst, sol = files
    out = tmp_path / "x.png"
    other = tmp_path / "other.solution.json"
    cases: list[tuple[Path, Path, str]] = []
    # a solution for another problem
    other.write_text(json.dumps({**envelope(HAND_START, 7), "problem": "knapsack", "solution": {"take": [1]}}))
    cases.append((inst, other, "solution is for problem 'knapsack'"))
    # a solution for another instance shape (three jobs)
    three = tmp_path / "three.solution.json"
    three.write_text(json.dumps(envelope([[0, 3], [0, 3], [5]], 7)))
    cases.append((inst, three, "expected one list of start times per job (2 jobs), got 3 jobs"))
    # a problem that cannot be drawn
    knap_sol = tmp_path / "knap.solution.json"
    knap_sol.write_text(json.dumps({**envelope(HAND_START, 7), "problem": "knapsack", "solution": {"take": [1]}}))
    cases.append((KNAPSACK, knap_sol, "cannot draw problem 'knapsack'"))
    # an invalid instance file: the JSON path is named
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(shop_doc([[[0, 3], [1, -2]]])))
    cases.append((bad, sol, "data.jobs[0][1][1]"))
    # a solution file that breaks the solution schema
    neg = tmp_path / "neg.solution.json"
    neg.write_text(json.dumps(envelope([[0, -3], [0, 3]], 7)))
    cases.append((inst, neg, "solution.start[0][1]"))
    # files that do not exist
    cases.append((tmp_path / "missing.json", sol, "no such file"))
    for instance, solution, message in cases:
        before = listing(tmp_path)
        code, _, err = run(capsys, "plot", instance, solution, "--out", out)
        assert code == 2, (message, err)
        assert message in err, (message, err)
        assert listing(tmp_path) == before
    # an output folder that cannot be made (a file stands in its way), and a folder as the output
    for target, message in [(inst / "x.png", "cannot write there"), (tmp_path / "dir.png", "is a directory")]:
        (tmp_path / "dir.png").mkdir(exist_ok=True)
        before = listing(tmp_path)
        code, _, err = run(capsys, "plot", inst, sol, "--out", target)
        assert code == 2, (message, err)
        assert message in err, (message, err)
        assert listing(tmp_path) == before


def test_cli_refuses_an_infeasible_schedule_with_exit_1_unless_forced(capsys, tmp_path: Path, files) -> None:
    inst, _ = files
    sol = tmp_path / "overlap.solution.json"
    sol.write_text(json.dumps(envelope([[0, 3], [0, 2]], None, name="hand")))
    before = listing(tmp_path)
    code, _, err = run(capsys, "plot", inst, sol, "--out", tmp_path / "o.png")
    assert code == 1 and "overlap on machine 0" in err and "--force" in err
    assert listing(tmp_path) == before
    code, out, err = run(capsys, "plot", inst, sol, "--out", tmp_path / "o.png", "--force")
    assert code == 0, err
    assert "NOT VERIFIED" in out and (tmp_path / "o.png").read_bytes().startswith(PNG_SIGNATURE)


def test_cli_draws_a_committed_instance(capsys, tmp_path: Path) -> None:
    # ft06, when the committed instances are present: a 6 x 6 semi-active schedule drawn end to end.
    ft06 = INSTANCES / "job_shop" / "ft06.json"
    if not ft06.exists():
        pytest.skip("instances/job_shop/ft06.json not committed yet")
    jobs = json.loads(ft06.read_text())["data"]["jobs"]
    start = semi_active(jobs, [j for k in range(6) for j in range(len(jobs))])
    sol = tmp_path / "ft06.solution.json"
    sol.write_text(json.dumps(envelope(start, makespan_of(jobs, start), name="ft06")))
    code, out, err = run(capsys, "plot", ft06, sol, "--out", tmp_path / "ft06.png")
    assert code == 0, err
    assert f"makespan {makespan_of(jobs, start)}" in out
    assert (tmp_path / "ft06.png").read_bytes().startswith(PNG_SIGNATURE)


# ------------------------------------------------------------------------------- the other scheduling problems
def solved(problem: str, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    import allocopt

    doc = instance_doc(problem, data, name=problem)
    result = allocopt.solve(doc)
    assert result.solution is not None
    return doc, result.to_dict()


def drawn(fig: Any) -> tuple[list[str], dict[int, Rectangle]]:
    ax = fig.axes[0]
    return [t.get_text() for t in ax.get_yticklabels()], bars_of(fig)


def test_drawable_names_the_scheduling_problems() -> None:
    assert plot.drawable() == ["job_shop", "parallel_machines", "pod_packing", "single_machine", "workflow"]


@pytest.mark.parametrize(
    "data",
    [
        {"durations": [4, 3, 2, 2, 5], "machines": 2},
        {"durations": [4, 3, 2, 2, 6], "machines": 2, "speeds": [1, 2]},
        {"durations": [[4, 3, None, 2, 5], [2, 6, 2, 2, 3], [5, 1, 3, None, 4]]},
    ],
    ids=["identical", "uniform", "unrelated"],
)
def test_parallel_machines_lays_each_machines_jobs_back_to_back(data: dict[str, Any]) -> None:
    doc, env = solved("parallel_machines", data)
    rows, rects = drawn(gantt(doc, env))
    durations = data["durations"]
    unrelated = isinstance(durations[0], list)
    m = len(durations) if unrelated else data["machines"]
    n = len(durations[0]) if unrelated else len(durations)
    assert rows == [f"M{i}" for i in range(m)]
    assert sorted(rects) == list(range(n))
    speeds = data.get("speeds", [1] * m)
    ready = [0.0] * m
    for j, i in enumerate(env["solution"]["machine"]):
        time = durations[i][j] if unrelated else durations[j] / speeds[i]
        r = rects[j]
        assert r.get_x() == pytest.approx(ready[i]) and r.get_width() == pytest.approx(time)
        assert r.get_y() + r.get_height() / 2 == pytest.approx(i)
        ready[i] += time
    chart = plot.chart(doc, env)
    path = critical_path(chart.bars)
    assert path and sum(chart.bars[k].duration for k in path) == pytest.approx(max(ready))


def test_single_machine_draws_one_row_of_jobs() -> None:
    data = {"durations": [3, 1, 4, 2], "weights": [1, 3, 2, 1], "release": [0, 2, 0, 5]}
    doc, env = solved("single_machine", data)
    rows, rects = drawn(gantt(doc, env))
    assert rows == ["machine"]
    assert sorted(rects) == [0, 1, 2, 3]
    for j, (s, d) in enumerate(zip(env["solution"]["start"], data["durations"], strict=True)):
        assert rects[j].get_x() == s and rects[j].get_width() == d
    assert gantt(doc, env).axes[0].get_title().startswith(f"single_machine: weighted completion {env['objective']:g}")
    chart = plot.chart(doc, env)
    order = sorted(range(4), key=lambda j: env["solution"]["start"][j])
    assert chart.bars[order[0]].after == ()
    assert all(chart.bars[b].after == (a,) for a, b in itertools.pairwise(order))


def test_workflow_draws_one_row_per_processor() -> None:
    data = {
        "costs": [[2, 3], [3, 2], [4, None], [2, 2]],
        "edges": [[0, 1, 2], [0, 2, 1], [1, 3, 1], [2, 3, 0]],
    }
    doc, env = solved("workflow", data)
    fig = gantt(doc, env)
    rows, rects = drawn(fig)
    assert rows == ["P0", "P1"]
    assert fig.axes[0].get_ylabel() == "processor"
    assert sorted(rects) == [0, 1, 2, 3]
    proc, start = env["solution"]["processor"], env["solution"]["start"]
    for i in range(4):
        r = rects[i]
        assert r.get_x() == start[i] and r.get_width() == data["costs"][i][proc[i]]
        assert r.get_y() + r.get_height() / 2 == pytest.approx(proc[i])
    chart = plot.chart(doc, env)
    for i in range(4):
        edge_preds = {a for a, b, _ in data["edges"] if b == i}
        earlier = [k for k in range(4) if proc[k] == proc[i] and start[k] < start[i]]
        same_row = {max(earlier, key=lambda k: start[k])} if earlier else set()
        assert set(chart.bars[i].after) == edge_preds | same_row
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "task 3" in legend


def test_workflow_critical_paths_run_through_data_transfers() -> None:
    """On an optimal schedule of HEFT's canonical graph every wait is a transfer or a processor queue: a
    critical path exists, and each step on it starts exactly when its predecessor's end plus that arc's
    transfer time allows (the lag recomputed here from the data, not taken from the chart)."""
    inst = allocopt.load(INSTANCES / "workflow" / "heft-canonical.json")
    env = allocopt.solve(inst, method="cp", time_limit=30).to_dict()
    assert env["status"] == "optimal"
    data = allocopt.instance_to_dict(inst)["data"]
    ch = plot.chart(inst, env)
    path = plot.critical_path(ch.bars)
    assert path and ch.bars[path[0]].start == 0 and ch.bars[path[-1]].end == pytest.approx(env["objective"])
    proc = env["solution"]["processor"]
    rate = data.get("transfer")
    amount = {(a, b): d for a, b, d in data["edges"]}
    through_transfer = 0
    for a, b in itertools.pairwise(path):
        if (a, b) in amount and proc[a] != proc[b]:
            lag = amount[a, b] * (1.0 if rate is None else rate[proc[a]][proc[b]])
            through_transfer += lag > 0
        else:
            lag = 0.0
        assert ch.bars[b].start == pytest.approx(ch.bars[a].end + lag)
    assert through_transfer > 0  # the canonical graph's optimum waits on data somewhere on its critical path


# ------------------------------------------------------------------------------------------------- pod packing
POD_DIR = INSTANCES / "pod_packing"


def pod_figure(name: str, method: str, **options: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    import allocopt

    inst = allocopt.load(POD_DIR / f"{name}.json")
    env = allocopt.solve(inst, method=method, **options).to_dict()
    data = json.loads((POD_DIR / f"{name}.json").read_text())["data"]
    return gantt(inst, env), data, env


def by_gid(fig: Any, prefix: str) -> dict[int, Any]:
    ax = fig.axes[0]
    found = {}
    for p in ax.patches:
        gid = p.get_gid() or ""
        if gid.startswith(prefix) and gid[len(prefix) :].isdigit():
            found[int(gid[len(prefix) :])] = p
    return found


def test_pod_packing_draws_nodes_as_rows_and_each_pod_as_a_cpu_segment() -> None:
    fig, data, env = pod_figure("priority_matters_two_nodes", "cp")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["node-a", "node-b"]
    assert ax.get_xlabel() == "cpu" and ax.get_ylabel() == "node"
    node = env["solution"]["node"]
    bars = by_gid(fig, "bar")
    placed = [p for p, n in enumerate(node) if n is not None]
    assert sorted(bars) == list(range(len(placed)))
    used = [0.0, 0.0]
    for k, p in enumerate(placed):
        r = bars[k]
        assert r.get_x() == pytest.approx(used[node[p]]) and r.get_width() == data["pods"][p]["cpu"]
        assert r.get_y() + r.get_height() / 2 == pytest.approx(node[p])
        used[node[p]] += data["pods"][p]["cpu"]
    # the current state under each row, and one arrow: the one running pod that moved
    assert sorted(by_gid(fig, "before")) == [p for p, q in enumerate(data["pods"]) if q["node"] is not None]
    moved = [p for p, q in enumerate(data["pods"]) if q["node"] is not None and node[p] != q["node"]]
    assert len(moved) == 1 and sorted(by_gid(fig, "move")) == moved
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "priority 1000" in legend and "priority 10" in legend
    assert "placed by priority [3, 4], disruption 1" in ax.get_title()
    assert not [t for t in ax.texts if t.get_gid() == "unplaced"]  # nothing pending, nothing evicted


def test_pod_packing_lists_pending_and_evicted_pods() -> None:
    fig, _, _ = pod_figure("priority_matters_two_nodes", "greedy")
    (text,) = [t for t in fig.axes[0].texts if t.get_gid() == "unplaced"]
    assert text.get_text() == "pending: train"
    fig, _, _ = pod_figure("overcommitted_node", "greedy")
    (text,) = [t for t in fig.axes[0].texts if t.get_gid() == "unplaced"]
    assert text.get_text() == "evicted: batch"
    assert by_gid(fig, "before")[2].get_hatch() == "xxx" and not by_gid(fig, "move")


def test_pod_packing_refuses_a_solution_of_the_wrong_shape() -> None:
    bare = {"format": "allocopt/1", "problem": "pod_packing", "solution": {"node": [0]}}
    with pytest.raises(UsageError, match=r"solution.node: expected a list of 4 node indices"):
        plot.chart(POD_DIR / "priority_matters_two_nodes.json", bare)
    bare["solution"] = {"node": [0, 1, 5, None]}
    with pytest.raises(UsageError, match=r"solution.node\[2\]"):
        plot.chart(POD_DIR / "priority_matters_two_nodes.json", bare)


def test_cli_draws_a_pod_packing_solution(capsys, tmp_path: Path) -> None:
    src = POD_DIR / "preemption_two_nodes.json"
    assert cli.main(["solve", str(src), "--method", "greedy", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    code, out, err = run(
        capsys, "plot", src, tmp_path / "preemption_two_nodes.solution.json", "--out", tmp_path / "p.png"
    )
    assert code == 0, err
    assert "wrote" in out
    assert (tmp_path / "p.png").read_bytes().startswith(PNG_SIGNATURE)
