r"""Gantt charts of schedules: ``gantt(instance, result)`` returns a matplotlib Figure.

Drawing goes through a small neutral layer, a ``Chart``: row labels and a list of ``Bar`` (row, start,
end, colour key, label, and the bars that must end before it starts). Each drawable problem has an
*adapter*, keyed by the problem's name, that turns its data (in the JSON form of FORMAT.md) and a
solution into a ``Chart``; ``gantt`` only ever sees charts. Adding a problem is adding an adapter::

    @adapter("parallel_machines")
    def _parallel_machines(data: Mapping[str, Any], solution: Mapping[str, Any]) -> Chart: ...

The **critical path** is computed from the bars alone (``critical_path``): a chain of bars
$b_1, \dots, b_r$ with $\mathrm{start}(b_1) = 0$, $\mathrm{end}(b_r) = C_{\max}$ (the makespan), and
each $\mathrm{start}(b_{i+1}) = \mathrm{end}(b_i)$ where $b_i$ is a predecessor of $b_{i+1}$: a
precedence predecessor (``Bar.after``; in a job shop, the previous operation of the same job) or the bar
before it on the same row (the machine predecessor). Its durations add up to the makespan, so shortening
the schedule means shortening or reordering something on it. Every semi-active schedule (no bar can
start earlier without moving another) has one, and so does every optimal schedule; a schedule with
needless idle time may have none, and then none is marked.

matplotlib is optional (``pip install 'allocopt[plot]'``) and imported only when a chart is drawn. The
figure is built with ``matplotlib.figure.Figure``, outside pyplot: no window opens, no global state
changes, nothing accumulates in pyplot's figure list. In Jupyter it shows when it is a cell's value; in a
script, ``fig.savefig("chart.png")``.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allocopt.envelope import Instance, instance_from_dict, instance_to_dict, load, load_solution
from allocopt.errors import UsageError
from allocopt.registry import Check
from allocopt.result import Result

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Bar", "Chart", "adapter", "chart", "critical_path", "drawable", "gantt", "prepare", "render"]

MATPLOTLIB_MISSING = "allocopt plot needs matplotlib: pip install 'allocopt[plot]'"
#: Relative tolerance for "starts exactly when its predecessor ends" (times are integers in every
#: scheduling problem so far; the tolerance only absorbs float noise of computed times).
TIME_TOL = 1e-9


@dataclass(frozen=True)
class Bar:
    """One bar of a Gantt chart: an operation (job shop), a job (parallel machines), a task (workflow)...

    ``row`` indexes ``Chart.rows``; ``key`` picks the colour (bars with equal keys share one, e.g. the
    job); ``label`` is drawn inside the bar when it is wide enough; ``after`` lists the indices (in
    ``Chart.bars``) of the bars that must end before this one starts besides its row predecessor, and
    ``lags`` the delay after each of them ends (a workflow's data transfer; missing entries are 0).
    """

    row: int
    start: float
    end: float
    key: int
    label: str
    after: tuple[int, ...] = ()
    lags: tuple[float, ...] = ()

    def lag(self, k: int) -> float:
        """The delay between the end of ``after[k]`` and the earliest start of this bar."""
        return self.lags[k] if k < len(self.lags) else 0.0

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Chart:
    """What a Gantt chart shows, in no problem's terms: row labels (top to bottom) and bars.

    ``key_name`` names what the colours stand for ("job"), ``row_name`` what a row is ("machine"),
    ``bar_name`` what a bar is ("operation"), ``objective_name`` what the solution's objective measures
    (the title's words for it).
    """

    rows: tuple[str, ...]
    bars: tuple[Bar, ...]
    key_name: str = "job"
    row_name: str = "machine"
    bar_name: str = "operation"
    objective_name: str = "makespan"

    @property
    def makespan(self) -> float:
        return max((b.end for b in self.bars), default=0.0)


Adapter = Callable[[Mapping[str, Any], Mapping[str, Any]], Chart]
_ADAPTERS: dict[str, Adapter] = {}


def adapter(problem: str) -> Callable[[Adapter], Adapter]:
    """Register ``fn(data, solution) -> Chart`` as the way to draw ``problem``.

    ``data`` is the instance's data in its JSON form (``ProblemSpec.to_data``), ``solution`` the
    ``solution`` object of a solution envelope. An adapter raises ``UsageError`` when the solution does
    not have the shape the data asks for (it does not judge feasibility: the problem's checker does).
    """

    def register(fn: Adapter) -> Adapter:
        _ADAPTERS[problem] = fn
        return fn

    return register


def drawable() -> list[str]:
    """The problems ``gantt`` can draw."""
    return sorted(_ADAPTERS)


# ------------------------------------------------------------------------------------------ critical path
def _same_time(a: float, b: float) -> bool:
    return abs(a - b) <= TIME_TOL * max(1.0, abs(a), abs(b))


def critical_path(bars: Sequence[Bar]) -> list[int]:
    """Indices of one critical path through ``bars``, in time order; ``[]`` when there is none.

    A chain from time 0 to the makespan in which every bar starts exactly when one of its predecessors
    allows: a bar listed in its ``after`` (when it ends, plus the lag of that arc), or a bar on the same row
    that ends when it starts (its machine predecessor). None exists when the schedule has idle time that
    no bar is waiting on (a schedule that is not semi-active), or when there are no bars. When several
    paths exist, the one returned prefers precedence predecessors over row predecessors, then lower indices.
    """
    n = len(bars)
    if n == 0:
        return []
    # A strict order among bars that end and start at the same instant on one row (zero-length bars)
    # keeps the row-predecessor relation acyclic.
    order = sorted(range(n), key=lambda i: (bars[i].start, bars[i].end, i))
    rank = {i: r for r, i in enumerate(order)}
    by_end: dict[int, list[tuple[float, int]]] = {}
    for i in range(n):
        by_end.setdefault(bars[i].row, []).append((bars[i].end, i))
    for row in by_end.values():
        row.sort()

    def tight_predecessors(i: int) -> list[int]:
        b = bars[i]
        job = [p for k, p in enumerate(b.after) if p != i and _same_time(bars[p].end + b.lag(k), b.start)]
        row = by_end[b.row]
        tol = TIME_TOL * max(1.0, abs(b.start))
        lo = bisect_left(row, (b.start - 2 * tol, -1))
        hi = bisect_right(row, (b.start + 2 * tol, n))
        same_row = [
            p for e, p in row[lo:hi] if p != i and rank[p] < rank[i] and _same_time(e, b.start) and p not in job
        ]
        return job + same_row

    preds = [tight_predecessors(i) for i in range(n)]
    parent: dict[int, int | None] = {}
    # Reachability from time 0 along tight arcs; in time order one sweep settles almost everything, the
    # loop only repeats for precedence arcs that point forward in that order (zero-length bars).
    changed = True
    while changed:
        changed = False
        for i in order:
            if i in parent:
                continue
            if _same_time(bars[i].start, 0.0):
                parent[i] = None
                changed = True
                continue
            reached = next((p for p in preds[i] if p in parent), None)
            if reached is not None:
                parent[i] = reached
                changed = True
    makespan = max(b.end for b in bars)
    last = next((i for i in range(n) if i in parent and _same_time(bars[i].end, makespan)), None)
    if last is None:
        return []
    path: list[int] = []
    node: int | None = last
    while node is not None:
        path.append(node)
        node = parent[node]
    return path[::-1]


# ------------------------------------------------------------------------------------------------ adapters
def _int_list(value: Any, path: str, length: int) -> list[float]:
    if not isinstance(value, list) or len(value) != length:
        got = f"a list of {len(value)}" if isinstance(value, list) else type(value).__name__
        raise UsageError(f"solution.{path}: expected a list of {length} start times, got {got}")
    for k, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise UsageError(f"solution.{path}[{k}]: expected a number, got {x!r}")
    return [float(x) for x in value]


@adapter("job_shop")
def _job_shop(data: Mapping[str, Any], solution: Mapping[str, Any]) -> Chart:
    """Rows: machines M0..; one bar per operation, coloured by job; ``after``: the job's previous operation."""
    jobs = data["jobs"]
    machines = int(data.get("machines") or 1 + max(m for job in jobs for m, _ in job))
    starts = solution.get("start") if isinstance(solution, Mapping) else None
    if not isinstance(starts, list) or len(starts) != len(jobs):
        got = f"{len(starts)} jobs" if isinstance(starts, list) else "no 'start' list"
        raise UsageError(
            f"solution.start: expected one list of start times per job ({len(jobs)} jobs), got {got}: "
            "is this a solution for another instance?"
        )
    bars: list[Bar] = []
    for j, (job, job_starts) in enumerate(zip(jobs, starts, strict=True)):
        times = _int_list(job_starts, f"start[{j}]", len(job))
        for k, ((machine, duration), s) in enumerate(zip(job, times, strict=True)):
            after = (len(bars) - 1,) if k > 0 else ()
            bars.append(Bar(row=int(machine), start=s, end=s + duration, key=j, label=str(j), after=after))
    return Chart(rows=tuple(f"M{i}" for i in range(machines)), bars=tuple(bars))


def _index_list(value: Any, path: str, length: int, count: int, what: str) -> list[int]:
    if not isinstance(value, list) or len(value) != length:
        got = f"a list of {len(value)}" if isinstance(value, list) else type(value).__name__
        raise UsageError(f"solution.{path}: expected a list of {length} {what} indices, got {got}")
    out: list[int] = []
    for k, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, int | float) or x != int(x) or not 0 <= int(x) < count:
            raise UsageError(f"solution.{path}[{k}]: expected a {what} index in 0..{count - 1}, got {x!r}")
        out.append(int(x))
    return out


@adapter("parallel_machines")
def _parallel_machines(data: Mapping[str, Any], solution: Mapping[str, Any]) -> Chart:
    """Rows: machines M0..; each machine's jobs back to back from 0 in job order; ``after``: the previous one."""
    durations = data["durations"]
    unrelated = bool(durations) and isinstance(durations[0], list)
    machines = len(durations) if unrelated else int(data["machines"])
    n = len(durations[0]) if unrelated else len(durations)
    speeds = data.get("speeds") or [1] * machines
    assigned = _index_list(
        solution.get("machine") if isinstance(solution, Mapping) else None, "machine", n, machines, "machine"
    )
    bars: list[Bar] = []
    ready = [0.0] * machines
    last: list[int | None] = [None] * machines
    for j, i in enumerate(assigned):
        if unrelated:
            t = durations[i][j]
            if t is None:
                raise UsageError(f"solution.machine[{j}]: job {j} cannot run on machine {i}")
            time = float(t)
        else:
            time = durations[j] / speeds[i]
        prev = last[i]
        after = (prev,) if prev is not None else ()
        bars.append(Bar(row=i, start=ready[i], end=ready[i] + time, key=j, label=str(j), after=after))
        ready[i] += time
        last[i] = len(bars) - 1
    return Chart(rows=tuple(f"M{i}" for i in range(machines)), bars=tuple(bars), bar_name="job")


@adapter("single_machine")
def _single_machine(data: Mapping[str, Any], solution: Mapping[str, Any]) -> Chart:
    """One row; one bar per job; ``after``: the job that ran before it on the machine."""
    durations = data["durations"]
    starts = _int_list(solution.get("start") if isinstance(solution, Mapping) else None, "start", len(durations))
    bars = [
        Bar(row=0, start=s, end=s + d, key=j, label=str(j))
        for j, (s, d) in enumerate(zip(starts, durations, strict=True))
    ]
    order = sorted(range(len(bars)), key=lambda j: (bars[j].start, bars[j].end, j))
    for prev, j in pairwise(order):
        b = bars[j]
        bars[j] = Bar(row=0, start=b.start, end=b.end, key=b.key, label=b.label, after=(prev,))
    objective = {"weighted_completion": "weighted completion", "max_lateness": "max lateness"}.get(
        str(data.get("objective", "weighted_completion")), "weighted tardiness"
    )
    return Chart(rows=("machine",), bars=tuple(bars), bar_name="job", objective_name=objective)


@adapter("workflow")
def _workflow(data: Mapping[str, Any], solution: Mapping[str, Any]) -> Chart:
    """Rows: processors P0..; one bar per task; ``after``: its predecessors in ``edges`` and on its processor."""
    costs = data["costs"]
    n = len(costs)
    q = max((len(row) for row in costs), default=0)
    sol = solution if isinstance(solution, Mapping) else {}
    proc = _index_list(sol.get("processor"), "processor", n, q, "processor")
    starts = _int_list(sol.get("start"), "start", n)
    transfer = data.get("transfer")
    preds: list[list[int]] = [[] for _ in range(n)]
    lags: list[list[float]] = [[] for _ in range(n)]
    for a, b, amount in data.get("edges") or []:
        a, b = int(a), int(b)
        same = proc[a] == proc[b]
        rate = 0.0 if same else 1.0 if transfer is None else float(transfer[proc[a]][proc[b]])
        preds[b].append(a)
        lags[b].append(float(amount) * rate)  # the data must arrive before the task can start
    ends: list[float] = []
    for i, (k, s) in enumerate(zip(proc, starts, strict=True)):
        c = costs[i][k]
        if c is None:
            raise UsageError(f"solution.processor[{i}]: task {i} cannot run on processor {k}")
        ends.append(s + float(c))
    order = sorted(range(n), key=lambda i: (starts[i], ends[i], i))
    last: dict[int, int] = {}
    for i in order:
        prev = last.get(proc[i])
        if prev is not None and prev not in preds[i]:
            preds[i].append(prev)
            lags[i].append(0.0)
        last[proc[i]] = i
    bars = [
        Bar(row=proc[i], start=starts[i], end=ends[i], key=i, label=str(i), after=tuple(preds[i]), lags=tuple(lags[i]))
        for i in range(n)
    ]
    return Chart(
        rows=tuple(f"P{k}" for k in range(q)), bars=tuple(bars), key_name="task", row_name="processor", bar_name="task"
    )


@adapter("pod_packing")
def _pod_packing(data: Mapping[str, Any], solution: Mapping[str, Any]) -> Chart:
    """Rows: nodes (by name); one bar per placed pod, its cpu request laid end to end from 0 on its node in pod
    order; ``key``: the pod's priority (colour by priority class). ``_render_pods`` draws it (not as a schedule)."""
    nodes, pods = data["nodes"], data["pods"]
    value = solution.get("node") if isinstance(solution, Mapping) else None
    if not isinstance(value, list) or len(value) != len(pods):
        got = f"a list of {len(value)}" if isinstance(value, list) else type(value).__name__
        raise UsageError(
            f"solution.node: expected a list of {len(pods)} node indices or null (one per pod), got {got}: "
            "is this a solution for another instance?"
        )
    used = [0.0] * len(nodes)
    bars: list[Bar] = []
    for p, n in enumerate(value):
        if n is None:
            continue
        if isinstance(n, bool) or not isinstance(n, int | float) or n != int(n) or not 0 <= int(n) < len(nodes):
            raise UsageError(f"solution.node[{p}]: expected a node index in 0..{len(nodes) - 1} or null, got {n!r}")
        n = int(n)
        cpu = float(pods[p]["cpu"])
        bars.append(Bar(row=n, start=used[n], end=used[n] + cpu, key=int(pods[p]["priority"]), label=pods[p]["name"]))
        used[n] += cpu
    return Chart(
        rows=tuple(str(v["name"]) for v in nodes),
        bars=tuple(bars),
        key_name="priority",
        row_name="node",
        bar_name="pod",
    )


# ------------------------------------------------------------------------------------------- the front
def _as_instance(instance: Instance | Mapping[str, Any] | str | Path) -> Instance:
    if isinstance(instance, Instance):
        return instance
    if isinstance(instance, str | Path):
        return load(instance)
    if isinstance(instance, Mapping):
        return instance_from_dict(dict(instance))
    raise UsageError(f"expected an Instance, an instance file path or document, got {type(instance).__name__}")


def _as_solution_doc(result: Result | Mapping[str, Any] | str | Path) -> dict[str, Any]:
    if isinstance(result, Result):
        return result.to_dict()
    if isinstance(result, str | Path):
        return load_solution(result)
    if isinstance(result, Mapping):
        if "solution" not in result or "problem" not in result:
            raise UsageError("expected a solution envelope (with 'problem' and 'solution'), e.g. Result.to_dict()")
        return dict(result)
    raise UsageError(f"expected a Result, a solution envelope or a solution file path, got {type(result).__name__}")


def chart(
    instance: Instance | Mapping[str, Any] | str | Path, result: Result | Mapping[str, Any] | str | Path
) -> Chart:
    """The ``Chart`` (rows and bars) of a schedule, the neutral form ``gantt`` draws; also for your own plots.

    Takes the same arguments as ``gantt``. Refuses (``UsageError``) a problem no adapter draws, a solution
    for another problem, a solution holding none, and a solution whose shape does not fit the instance.
    Feasibility is not judged here (``gantt`` runs the checker). For the job shop, ``bars`` are the
    operations job by job (job 0's in route order, then job 1's, ...), ``key`` the job; for parallel machines and the
    single machine, one bar per job in job order (``key`` the job); for a workflow, one bar per task in
    task order (``key`` the task).
    """
    return prepare(instance, result)[2]


def prepare(
    instance: Instance | Mapping[str, Any] | str | Path, result: Result | Mapping[str, Any] | str | Path
) -> tuple[Instance, dict[str, Any], Chart]:
    """``chart``, with the loaded ``Instance`` and the solution envelope (a dict) it was made from."""
    inst = _as_instance(instance)
    doc = _as_solution_doc(result)
    draw = _ADAPTERS.get(inst.problem)
    if draw is None:
        raise UsageError(
            f"cannot draw problem {inst.problem!r}: no Gantt chart for it; problems that can be drawn: "
            f"{', '.join(drawable())}"
        )
    if doc.get("problem") != inst.problem:
        raise UsageError(f"the solution is for problem {doc.get('problem')!r} but the instance is {inst.problem!r}")
    if doc.get("solution") is None:
        raise UsageError(f"the solution file holds no solution (status {doc.get('status')!r}): nothing to draw")
    data = instance_to_dict(inst)["data"]
    return inst, doc, draw(data, doc["solution"])


def _verdict(inst: Instance, doc: Mapping[str, Any]) -> Check:
    from allocopt.api import check

    return check(inst, doc)


def gantt(
    instance: Instance | Mapping[str, Any] | str | Path,
    result: Result | Mapping[str, Any] | str | Path,
    *,
    force: bool = False,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Draw the schedule of ``result`` for ``instance`` as a Gantt chart; returns the matplotlib Figure.

    ``instance``: an ``Instance``, an instance file path or an instance document. ``result``: a
    ``Result``, a solution envelope (dict) or a solution file path. Rows are the machines ("M0" at the
    top), the horizontal axis is time, colours are jobs (a qualitative colormap, cycling beyond its
    colours), each bar is labelled with its job when it is wide enough, and one critical path is outlined
    thick and hatched. The title gives the instance, the makespan, the method and the status.

    The problem's independent checker runs first: a schedule it rejects is not drawn (``UsageError``
    with its reason) unless ``force=True``, which draws it titled "NOT VERIFIED". ``ax``: draw into this
    Axes (its figure is returned) instead of a new figure.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(MATPLOTLIB_MISSING) from None
    inst, doc, ch = prepare(instance, result)
    verdict = _verdict(inst, doc)
    if not verdict.feasible and not force:
        raise UsageError(f"not drawn: the checker rejects this schedule: {verdict.reason} (force=True draws it)")
    return render(inst, doc, ch, verdict, ax=ax, title=title)


def number(x: float) -> str:
    """A time as text: whole numbers without a decimal point or an exponent."""
    return str(int(x)) if float(x).is_integer() else f"{x:.6g}"


def _figure_size(ch: Chart) -> tuple[float, float]:
    return 11.0, min(40.0, 1.6 + 0.42 * max(1, len(ch.rows)))


def render(
    inst: Instance,
    doc: Mapping[str, Any],
    ch: Chart,
    verdict: Check,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Draw a prepared chart (``prepare``) whose solution ``doc`` the checker has judged (``verdict``).

    ``gantt`` is ``prepare``, the checker, then this; the command line calls the steps itself to report a
    rejected schedule with its own exit status.
    """
    special = _RENDERERS.get(inst.problem)
    if special is not None:  # a problem whose chart is no schedule (pod packing) draws itself
        return special(inst, doc, ch, verdict, ax=ax, title=title)
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if ax is None:
        fig = Figure(figsize=_figure_size(ch), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    keys = sorted({b.key for b in ch.bars})
    position = {k: i for i, k in enumerate(keys)}
    # tab10 up to 10 keys; beyond, tab20 with its dark shades first and the light ones after, so that
    # neighbouring jobs differ in hue, cycling after 20.
    cmap = colormaps["tab10" if len(keys) <= 10 else "tab20"]
    shades = list(range(cmap.N)) if cmap.N == 10 else [*range(0, 20, 2), *range(1, 20, 2)]

    def colour(key: int) -> Any:
        return cmap(shades[position[key] % len(shades)])

    makespan = ch.makespan
    span = makespan if makespan > 0 else 1.0
    critical = set(critical_path(ch.bars))
    # Text fits when the bar is wider than the label: estimate the bar's width in points from the axes'
    # width (a figure of our own size; an inch is 72 points, a digit about 0.6 em).
    fig_w = fig.get_size_inches()[0] * ax.get_position().width
    fontsize = 8.0 if len(ch.rows) <= 20 else 6.0
    # One barh call for all bars (thousands of separate calls take seconds); the critical ones restyled after.
    rects = ax.barh(
        [b.row for b in ch.bars],
        [b.duration for b in ch.bars],
        left=[b.start for b in ch.bars],
        height=0.72,
        color=[colour(b.key) for b in ch.bars],
        edgecolor="white",
        linewidth=0.6,
    )
    for i, rect in enumerate(rects.patches):
        rect.set_gid(f"bar{i}")
        if i in critical:
            rect.set(edgecolor="black", linewidth=2.2, hatch="///", zorder=rect.get_zorder() + 0.5)
    label_box = {"boxstyle": "round,pad=0.12", "facecolor": "white", "alpha": 0.7, "linewidth": 0}
    for i, b in enumerate(ch.bars):
        width_pt = b.duration / span * fig_w * 72.0 * 0.95
        if width_pt >= 0.6 * fontsize * len(b.label) + 4:
            ax.text(
                b.start + b.duration / 2,
                b.row,
                b.label,
                ha="center",
                va="center",
                fontsize=fontsize,
                color="black",
                bbox=label_box if i in critical else None,
                zorder=3,
            )
    ax.axvline(makespan, color="black", linestyle="--", linewidth=1.0)
    ax.set_yticks(range(len(ch.rows)), ch.rows)
    ax.set_ylim(len(ch.rows) - 0.5, -0.5)  # the first row at the top
    ax.set_xlim(0, span * 1.01)
    ax.set_xlabel("time")
    ax.set_ylabel(ch.row_name)
    ax.grid(axis="x", color="0.85", linewidth=0.6)
    ax.set_axisbelow(True)

    path_label = (
        f"critical path ({len(critical)} {ch.bar_name}{'' if len(critical) == 1 else 's'})"
        if critical
        else f"critical path: none (the schedule has idle time no {ch.bar_name} waits on)"
    )
    handles: list[Any] = [
        Patch(facecolor="white", edgecolor="black", linewidth=2.2, hatch="///", label=path_label),
        Line2D([], [], color="black", linestyle="--", linewidth=1.0, label=f"makespan {number(makespan)}"),
    ]
    if len(keys) <= 20:
        handles += [Patch(facecolor=colour(k), label=f"{ch.key_name} {k}") for k in keys]
    else:
        handles.append(Patch(facecolor="0.8", label=f"colour: {ch.key_name} (labels in the bars)"))
    # Beside the axes; two columns when one would run past a short figure's height.
    ncol = 1 if len(handles) <= 4 + 2.2 * len(ch.rows) else 2
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, ncol=ncol)

    if title is None:
        if verdict.feasible and verdict.objective is not None:
            measure = f"{ch.objective_name} {number(verdict.objective)}"
        else:
            measure = f"makespan {number(makespan)}"
        how = ", ".join(str(doc[k]) for k in ("method", "status") if doc.get(k))
        title = f"{inst.name}: {measure}" + (f" ({how})" if how else "")
        if not verdict.feasible:
            title += f"\nNOT VERIFIED: {verdict.reason}"
    ax.set_title(title, color="black" if verdict.feasible else "red")
    return fig


# ------------------------------------------------------------------------------------------- pod packing
def _names(items: list[str], most: int = 12) -> str:
    return ", ".join(items[:most]) + (f", ... ({len(items)} in all)" if len(items) > most else "")


def _render_pods(
    inst: Instance,
    doc: Mapping[str, Any],
    ch: Chart,
    verdict: Check,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """A pod packing solution: per node, the pods' cpu as segments coloured by priority class (the solution), over a
    thin strip of the current state; each node's cpu capacity as a black tick; an arrow from each moved pod's old
    place to its new one; evicted pods hatched in the strip; evicted and still pending pods listed under the axes.

    Bars carry gids ``bar<i>`` (the chart's bars), ``before<p>`` (pod p in the current state) and arrows
    ``move<p>``.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, Patch

    data = instance_to_dict(inst)["data"]
    nodes, pods = data["nodes"], data["pods"]
    after = doc["solution"]["node"]
    if ax is None:
        fig = Figure(figsize=(11.0, min(40.0, 2.2 + 0.5 * max(1, len(ch.rows)))), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    levels = sorted({int(q["priority"]) for q in pods}, reverse=True)
    cmap = colormaps["tab10"]

    def colour(priority: int) -> Any:
        return cmap(levels.index(priority) % 10)

    # The solution: one segment per placed pod (the chart's bars), in one call.
    rects = ax.barh(
        [b.row for b in ch.bars],
        [b.duration for b in ch.bars],
        left=[b.start for b in ch.bars],
        height=0.5,
        color=[colour(b.key) for b in ch.bars],
        edgecolor="white",
        linewidth=0.6,
    )
    placed_at: dict[int, tuple[float, float]] = {}
    k = 0
    for p, n in enumerate(after):
        if n is not None:
            rects.patches[k].set_gid(f"bar{k}")
            placed_at[p] = (ch.bars[k].start + ch.bars[k].duration / 2, float(n))
            k += 1
    # The current state: a thin strip under each row, the pods stacked in pod order.
    before_used = [0.0] * len(nodes)
    moved: list[int] = []
    evicted: list[str] = []
    strip = 0.36
    for p, q in enumerate(pods):
        n = q["node"]
        if n is None:
            continue
        cpu = float(q["cpu"])
        gone = after[p] != n
        (patch,) = ax.barh(
            n + strip,
            cpu,
            left=before_used[n],
            height=0.16,
            color=colour(int(q["priority"])),
            alpha=0.35 if not gone else 0.2,
            edgecolor="red" if gone else "white",
            linewidth=1.0 if gone else 0.4,
            hatch="xxx" if gone and after[p] is None else None,
        ).patches
        patch.set_gid(f"before{p}")
        if gone and after[p] is not None:
            moved.append(p)
            arrow = FancyArrowPatch(
                (before_used[n] + cpu / 2, n + strip),
                placed_at[p],
                arrowstyle="-|>",
                mutation_scale=10,
                color="red",
                linewidth=1.0,
                connectionstyle="arc3,rad=0.25",
                zorder=4,
            )
            arrow.set_gid(f"move{p}")
            ax.add_patch(arrow)
        elif gone:
            evicted.append(q["name"])
        before_used[n] += cpu
    span = max([float(v["cpu"]) for v in nodes] + before_used + [ch.makespan, 1e-9])
    fontsize = 8.0 if len(ch.rows) <= 20 else 6.0
    fig_w = fig.get_size_inches()[0] * ax.get_position().width
    for b in ch.bars:
        if b.duration / span * fig_w * 72.0 * 0.95 >= 0.6 * fontsize * len(b.label) + 4:
            ax.text(b.start + b.duration / 2, b.row, b.label, ha="center", va="center", fontsize=fontsize, zorder=3)
    for n, v in enumerate(nodes):
        ax.plot([float(v["cpu"])] * 2, [n - 0.3, n + 0.45], color="black", linewidth=1.6, zorder=5)
    ax.set_yticks(range(len(ch.rows)), ch.rows)
    ax.set_ylim(len(ch.rows) - 0.4, -0.6)
    ax.set_xlim(0, span * 1.03)
    ax.set_xlabel("cpu")
    ax.set_ylabel("node")
    ax.grid(axis="x", color="0.85", linewidth=0.6)
    ax.set_axisbelow(True)
    pending = [q["name"] for p, q in enumerate(pods) if q["node"] is None and after[p] is None]
    handles: list[Any] = [Patch(facecolor=colour(q), label=f"priority {q}") for q in levels]
    handles += [
        Patch(facecolor="0.8", alpha=0.4, label="thin strip: the current state"),
        Patch(facecolor="white", edgecolor="black", label="black tick: cpu capacity"),
        Line2D([], [], color="red", marker=">", markersize=6, label=f"moved ({len(moved)}): arrow from the old place"),
        Patch(facecolor="white", edgecolor="red", hatch="xxx", label=f"evicted ({len(evicted)})"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    lines = []
    if evicted:
        lines.append(f"evicted: {_names(evicted)}")
    if pending:
        lines.append(f"pending: {_names(pending)}")
    if lines:
        ax.text(0.0, -0.12, "\n".join(lines), transform=ax.transAxes, va="top", fontsize=8, gid="unplaced")
    if title is None:
        how = ", ".join(str(doc[k]) for k in ("method", "status") if doc.get(k))
        if verdict.feasible and verdict.objective is not None:
            *counts, minus = verdict.objective  # type: ignore[misc]
            value = f"placed by priority {[int(c) for c in counts]}, disruption {int(-minus)}"
        else:
            value = f"{len(ch.bars)} pods placed"
        title = f"{inst.name}: {value}" + (f" ({how})" if how else "")
        if not verdict.feasible:
            title += f"\nNOT VERIFIED: {verdict.reason}"
    ax.set_title(title, color="black" if verdict.feasible else "red")
    return fig


#: Problems whose chart is not a schedule draw themselves (``render`` hands them over).
_RENDERERS: dict[str, Callable[..., Figure]] = {"pod_packing": _render_pods}
