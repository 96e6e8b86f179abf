r"""A workflow: a task graph on heterogeneous processors (HEFT's problem); minimize the makespan.

Data: tasks :math:`i = 0..n-1`, processors :math:`k = 0..q-1`, :math:`c_{ik} \ge 0` the time of task i on k
(:math:`K_i` the processors it may use), edges :math:`(a, b, d_{ab})` (b needs :math:`d_{ab}` units of a's
output; the graph is acyclic), :math:`T_{kl} \ge 0` the time per unit of data from k to l (:math:`T_{kk} = 0`).
A schedule gives every task a processor :math:`\pi_i \in K_i` and a start :math:`s_i \ge 0`, with
:math:`e_i = s_i + c_{i\pi_i}`; it is feasible when no two tasks of one processor overlap (a task of zero time
occupies none) and every edge has :math:`s_b \ge e_a + d_{ab} T_{\pi_a \pi_b}`. The objective is
:math:`C_{\max} = \max_i e_i`, minimized.

**MILP** (``build_model``). :math:`x_{ik} \in \{0,1\}` for :math:`k \in K_i`, :math:`\sum_k x_{ik} = 1`,
:math:`e_i = s_i + \sum_k c_{ik} x_{ik}`, :math:`C \ge e_i`. Each edge: :math:`s_b \ge e_a` and, for every
pair (k, l) with :math:`\delta = d_{ab} T_{kl} > 0`, :math:`s_b \ge e_a + \delta (x_{ak} + x_{bl} - 1)`: the
product :math:`x_{ak} x_{bl}` linearized without a big-M (when not both are 1 the row is implied by
:math:`s_b \ge e_a`). Each pair i < j with no path between them (a path already orders them) and a common
processor k on which both take time: :math:`y_{ij} = 1` when i goes first, and

.. math::

    s_j \ge e_i - H (1 - y_{ij}) - H (2 - x_{ik} - x_{jk}), \qquad
    s_i \ge e_j - H y_{ij} - H (2 - x_{ik} - x_{jk}),

H a horizon (the makespan of any feasible schedule; the library passes HEFT's); :math:`0 \le s_i`,
:math:`e_i \le H`, :math:`LB \le C \le H`.

**CP** (``build_cp_model``, CP-SAT, integer times): start and end per task, an optional interval per allowed
processor (presence :math:`x_{ik}`, exactly one present), one ``AddNoOverlap`` per processor over its intervals
of positive size, each edge ``s_b >= e_a`` and ``s_b >= e_a + delta`` enforced if :math:`x_{ak} \wedge x_{bl}`.
Transfer rates that are decimals are scaled by the least power of ten that makes them integral (``scale``); times
in the model are in units of 1/scale.

**Lower bound** (every method reports it at least): max(the longest path with each task at its fastest time and
free transfers, the total fastest work / q).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pyomo.environ as pyo
from ortools.sat.python import cp_model

from allocopt.errors import DataError
from allocopt.registry import Check


@dataclass(frozen=True, eq=False)
class WorkflowData:
    """Validated workflow data: ``cost`` (n x q float, ``inf`` where a task cannot run), edges as three arrays
    ``src``, ``dst``, ``data`` (int64) and ``transfer`` (q x q float, zero diagonal); all read-only."""

    cost: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    data: np.ndarray
    transfer: np.ndarray
    transfer_given: bool = True

    @property
    def n_tasks(self) -> int:
        return self.cost.shape[0]

    @property
    def processors(self) -> int:
        return self.cost.shape[1]

    def allowed(self, i: int) -> list[int]:
        return [k for k in range(self.processors) if math.isfinite(self.cost[i, k])]

    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(range(self.n_tasks))
        g.add_edges_from(zip(self.src.tolist(), self.dst.tolist(), strict=True))
        return g

    def lower_bound(self) -> float:
        """max(longest path at each task's fastest time with free transfers, total fastest work / q)."""
        fastest = self.cost.min(axis=1)
        g = self.graph()
        finish = np.zeros(self.n_tasks)
        for i in nx.topological_sort(g):
            finish[i] = fastest[i] + max((finish[p] for p in g.predecessors(i)), default=0.0)
        return float(max(finish.max(initial=0.0), fastest.sum() / self.processors))

    def kind(self) -> str:
        return f"workflow, {self.n_tasks} tasks, {len(self.src)} edges on {self.processors} processors"


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _whole(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x) and x == int(x) and x >= 0


def parse(data: Mapping[str, Any]) -> WorkflowData:
    """Build ``WorkflowData`` from schema-valid ``data``; checks what a schema cannot (shapes, indices, cycles)."""
    costs = data["costs"]
    n = len(costs)
    q = len(costs[0])
    cost = np.full((n, q), np.inf)
    for i, row in enumerate(costs):
        if len(row) != q:
            raise DataError(("costs", i), f"expected {q} entries (one per processor, as costs[0]), got {len(row)}")
        for k, c in enumerate(row):
            if c is None:
                continue
            if not _whole(c):
                raise DataError(("costs", i, k), f"expected a time (a whole number >= 0) or null, got {c!r}")
            cost[i, k] = float(c)
        if not np.isfinite(cost[i]).any():
            raise DataError(("costs", i), f"task {i} has no allowed processor (every entry is null)")
    src, dst, amount = [], [], []
    for e, edge in enumerate(data.get("edges", [])):
        if len(edge) != 3:
            raise DataError(("edges", e), f"expected [from, to, data], got {len(edge)} numbers")
        for pos in (0, 1):
            t = edge[pos]
            if not _whole(t) or t >= n:
                raise DataError(("edges", e, pos), f"expected a task index 0..{n - 1}, got {t!r}")
        if not _whole(edge[2]):
            raise DataError(("edges", e, 2), f"expected a data amount (a whole number >= 0), got {edge[2]!r}")
        src.append(int(edge[0]))
        dst.append(int(edge[1]))
        amount.append(int(edge[2]))
    given = data.get("transfer")
    if given is None:
        transfer = np.ones((q, q)) - np.eye(q)
    else:
        if len(given) != q:
            raise DataError(("transfer",), f"expected {q} rows (one per processor), got {len(given)}")
        transfer = np.zeros((q, q))
        for a, row in enumerate(given):
            if len(row) != q:
                raise DataError(("transfer", a), f"expected {q} rates (one per processor), got {len(row)}")
            for b, t in enumerate(row):
                if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
                    raise DataError(("transfer", a, b), f"expected a rate >= 0, got {t!r}")
                if a == b and t != 0:
                    raise DataError(
                        ("transfer", a, b), f"the diagonal must be 0 (no transfer on one processor), got {t!r}"
                    )
                transfer[a, b] = float(t)
    d = WorkflowData(
        _frozen(cost),
        _frozen(np.asarray(src, dtype=np.int64)),
        _frozen(np.asarray(dst, dtype=np.int64)),
        _frozen(np.asarray(amount, dtype=np.int64)),
        _frozen(transfer),
        given is not None,
    )
    try:
        cycle = nx.find_cycle(d.graph())
    except nx.NetworkXNoCycle:
        return d
    tasks = [int(a) for a, _ in cycle]
    raise DataError(("edges",), f"the graph must be acyclic; it has a cycle through tasks {tasks}")


def to_data(d: WorkflowData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    out: dict[str, Any] = {
        "costs": [[int(c) if math.isfinite(c) else None for c in row] for row in d.cost.tolist()],
        "edges": [[a, b, x] for a, b, x in zip(d.src.tolist(), d.dst.tolist(), d.data.tolist(), strict=True)],
    }
    if d.transfer_given:
        out["transfer"] = [[int(t) if t == int(t) else t for t in row] for row in d.transfer.tolist()]
    return out


def solution_from_arrays(processor: Any, start: Any) -> dict[str, Any]:
    """``{"processor": [...], "start": [...]}`` (starts that are whole numbers written as integers)."""
    starts = [float(s) for s in np.asarray(start).ravel()]
    return {
        "processor": [int(k) for k in np.asarray(processor).ravel()],
        "start": [round(s) if abs(s - round(s)) < 1e-9 else s for s in starts],
    }


def check(d: WorkflowData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the instance data, sharing nothing with any method.

    Names the task whose processor is forbidden, the edge whose delay is broken, or the two overlapping tasks.
    Times are compared with a tolerance of 1e-6 (decimal transfer rates give decimal starts).
    """
    tol = 1e-6
    n, q = d.n_tasks, d.processors
    procs, starts = solution.get("processor"), solution.get("start")
    if not isinstance(procs, list) or len(procs) != n:
        return Check(False, None, f"solution.processor must list {n} processor indices (one per task)")
    if not isinstance(starts, list) or len(starts) != n:
        return Check(False, None, f"solution.start must list {n} start times (one per task)")
    cost = d.cost.tolist()
    end: list[float] = []
    for i in range(n):
        k, s = procs[i], starts[i]
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < q:
            return Check(False, None, f"solution.processor[{i}] = {k!r} is not a processor index 0..{q - 1}")
        if cost[i][k] == math.inf:
            return Check(False, None, f"task {i} cannot run on processor {k} (its cost there is null)")
        if isinstance(s, bool) or not isinstance(s, int | float) or not math.isfinite(s) or s < 0:
            return Check(False, None, f"solution.start[{i}] = {s!r} is not a time >= 0")
        end.append(s + cost[i][k])
    rate = d.transfer.tolist()
    for a, b, x in zip(d.src.tolist(), d.dst.tolist(), d.data.tolist(), strict=True):
        ready = end[a] + x * rate[procs[a]][procs[b]]
        if starts[b] < ready - tol:
            return Check(
                False,
                None,
                f"task {b} starts at {starts[b]}, before task {a}'s data arrive at {ready} "
                f"(ends {end[a]} + {x} data x rate {rate[procs[a]][procs[b]]})",
            )
    for k in range(q):
        busy = sorted((starts[i], end[i], i) for i in range(n) if procs[i] == k and end[i] > starts[i])
        for (s1, e1, i1), (s2, e2, i2) in itertools.pairwise(busy):
            if s2 < e1 - tol:
                return Check(
                    False, None, f"tasks {i1} and {i2} overlap on processor {k} ([{s1}, {e1}) and [{s2}, {e2}))"
                )
    return Check(True, float(max(end, default=0.0)))


def _pairs(d: WorkflowData) -> list[tuple[int, int, list[int]]]:
    """Pairs i < j with no path between them, and the processors on which both take time."""
    g = d.graph()
    closure = {i: nx.descendants(g, i) for i in range(d.n_tasks)}
    out = []
    for i, j in itertools.combinations(range(d.n_tasks), 2):
        if j in closure[i] or i in closure[j]:
            continue
        common = [k for k in range(d.processors) if 0 < d.cost[i, k] < math.inf and 0 < d.cost[j, k] < math.inf]
        if common:
            out.append((i, j, common))
    return out


def _horizon(d: WorkflowData, horizon: float | None) -> float:
    """A makespan any optimal schedule meets: ``horizon``, or running the tasks one by one in topological order
    at their slowest allowed times with the largest transfer on every edge."""
    if horizon is not None:
        return float(horizon)
    slow = np.where(np.isfinite(d.cost), d.cost, 0.0).max(axis=1)
    return float(slow.sum() + d.data.sum() * d.transfer.max(initial=0.0))


def build_model(d: WorkflowData, horizon: float | None = None) -> pyo.ConcreteModel:
    """The MILP of the module docstring (HEFT's makespan as ``horizon`` when the library builds it).

    Components: ``start[i]``, ``end[i]``, ``makespan``, ``assign[i, k]`` (allowed pairs), ``first[i, j]``;
    rows ``one``, ``finish``, ``last``, ``edge``, ``transfer``, ``first_then``, ``second_then``; ``model.horizon``.
    Extend it and solve it with ``allocopt.solve(instance, method="milp", model=model)``.
    """
    H = _horizon(d, horizon)
    n = d.n_tasks
    model = pyo.ConcreteModel(name="workflow")
    model.horizon = H
    allowed = [(i, k) for i in range(n) for k in d.allowed(i)]
    model.assign = pyo.Var(allowed, domain=pyo.Binary)
    model.start = pyo.Var(range(n), domain=pyo.NonNegativeReals, bounds=(0, H))
    model.end = pyo.Var(range(n), domain=pyo.NonNegativeReals, bounds=(0, H))
    model.makespan = pyo.Var(domain=pyo.NonNegativeReals, bounds=(d.lower_bound(), H))
    model.one = pyo.Constraint(range(n), rule=lambda m, i: sum(m.assign[i, k] for k in d.allowed(i)) == 1)
    model.finish = pyo.Constraint(
        range(n),
        rule=lambda m, i: m.end[i] == m.start[i] + sum(float(d.cost[i, k]) * m.assign[i, k] for k in d.allowed(i)),
    )
    model.last = pyo.Constraint(range(n), rule=lambda m, i: m.makespan >= m.end[i])
    edges = list(zip(d.src.tolist(), d.dst.tolist(), d.data.tolist(), strict=True))
    model.edge = pyo.Constraint(range(len(edges)), rule=lambda m, e: m.start[edges[e][1]] >= m.end[edges[e][0]])
    delays = [
        (e, k, kb)
        for e, (a, b, x) in enumerate(edges)
        for k in d.allowed(a)
        for kb in d.allowed(b)
        if x * d.transfer[k, kb] > 0
    ]

    def transfer(m: pyo.ConcreteModel, e: int, k: int, kb: int) -> Any:
        a, b, x = edges[e]
        delta = float(x * d.transfer[k, kb])
        return m.start[b] >= m.end[a] + delta * (m.assign[a, k] + m.assign[b, kb] - 1)

    model.transfer = pyo.Constraint(delays, rule=transfer)
    pairs = _pairs(d)
    model.first = pyo.Var([(i, j) for i, j, _ in pairs], domain=pyo.Binary)
    rows = [(i, j, k) for i, j, common in pairs for k in common]

    def first_then(m: pyo.ConcreteModel, i: int, j: int, k: int) -> Any:
        return m.start[j] >= m.end[i] - H * (1 - m.first[i, j]) - H * (2 - m.assign[i, k] - m.assign[j, k])

    def second_then(m: pyo.ConcreteModel, i: int, j: int, k: int) -> Any:
        return m.start[i] >= m.end[j] - H * m.first[i, j] - H * (2 - m.assign[i, k] - m.assign[j, k])

    model.first_then = pyo.Constraint(rows, rule=first_then)
    model.second_then = pyo.Constraint(rows, rule=second_then)
    model.objective = pyo.Objective(expr=model.makespan, sense=pyo.minimize)
    return model


def decode(model: pyo.ConcreteModel, d: WorkflowData) -> dict[str, Any]:
    """Processor and start of every task, read back from a solved ``build_model``.

    A solver's starts carry its tolerance: each start becomes the larger of the solver's value and the earliest time
    the chosen processors, the solver's per-processor order and the delays allow (never earlier than the solver said,
    so constraints a user added stay met).
    """
    n = d.n_tasks
    proc = [max(d.allowed(i), key=lambda k: pyo.value(model.assign[i, k], exception=False) or 0.0) for i in range(n)]
    raw = [round(max(0.0, pyo.value(model.start[i], exception=False) or 0.0), 9) for i in range(n)]
    return solution_from_arrays(proc, repaired_starts(d, proc, raw))


def repaired_starts(d: WorkflowData, proc: list[int], raw: list[float]) -> list[float]:
    """Per task max(``raw``, the earliest start given the processors and, per processor, the order of ``raw``)."""
    g = d.graph()
    for k in range(d.processors):
        # Tasks of zero time occupy no processor: they join no chain.
        on = sorted((i for i in range(d.n_tasks) if proc[i] == k and d.cost[i, k] > 0), key=lambda i: (raw[i], i))
        g.add_edges_from(itertools.pairwise(on))
    if not nx.is_directed_acyclic_graph(g):  # ties at equal starts ordered against the graph: keep the raw ones
        return list(raw)
    start = [0.0] * d.n_tasks
    end = [0.0] * d.n_tasks
    delay = {(a, b): 0.0 for a, b in g.edges}
    for a, b, x in zip(d.src.tolist(), d.dst.tolist(), d.data.tolist(), strict=True):
        delay[a, b] = max(delay[a, b], x * float(d.transfer[proc[a], proc[b]]))
    for i in nx.topological_sort(g):
        start[i] = max([raw[i]] + [end[p] + delay[p, i] for p in g.predecessors(i)])
        end[i] = start[i] + float(d.cost[i, proc[i]])
    return start


class WorkflowCpModel(cp_model.CpModel):
    """A CP-SAT ``CpModel`` with the workflow's variables reachable (see ``build_cp_model``)."""

    start: list[cp_model.IntVar]
    end: list[cp_model.IntVar]
    present: dict[tuple[int, int], cp_model.IntVar]
    makespan: cp_model.IntVar
    horizon: int
    scale: int


def build_cp_model(d: WorkflowData, horizon: float | None = None, scale: int = 1) -> WorkflowCpModel:
    """The CP-SAT model of the module docstring, every time multiplied by ``scale`` (an integer making every
    ``data x transfer`` integral; ``allocopt.solvers.cpsat.integer_scale`` finds the least one).

    Variables: ``model.start[i]``, ``model.end[i]``, ``model.present[i, k]`` (task i on processor k),
    ``model.makespan``; ``model.horizon`` (scaled) and ``model.scale``. Extend it with the CP-SAT API and solve it
    with ``allocopt.solve(instance, method="cp", model=model)``.
    """
    H = math.ceil(_horizon(d, horizon) * scale - 1e-9)
    model = WorkflowCpModel()
    model.horizon, model.scale = H, scale
    model.start, model.end, model.present = [], [], {}
    by_proc: dict[int, list[cp_model.IntervalVar]] = {}
    for i in range(d.n_tasks):
        ks = d.allowed(i)
        sizes = [round(float(d.cost[i, k]) * scale) for k in ks]
        s = model.NewIntVar(0, H, f"start[{i}]")
        e = model.NewIntVar(0, H, f"end[{i}]")
        model.start.append(s)
        model.end.append(e)
        for k, size in zip(ks, sizes, strict=True):
            x = model.NewBoolVar(f"on[{i},{k}]")
            model.present[i, k] = x
            if size > 0:
                by_proc.setdefault(k, []).append(model.NewOptionalIntervalVar(s, size, e, x, f"task[{i},{k}]"))
            else:
                model.Add(e == s).OnlyEnforceIf(x)
        model.AddExactlyOne(model.present[i, k] for k in ks)
    for ivs in by_proc.values():
        if len(ivs) > 1:
            model.AddNoOverlap(ivs)
    for a, b, x in zip(d.src.tolist(), d.dst.tolist(), d.data.tolist(), strict=True):
        model.Add(model.start[b] >= model.end[a])
        for k in d.allowed(a):
            for kb in d.allowed(b):
                delta = x * float(d.transfer[k, kb]) * scale
                if delta > 0:
                    model.Add(model.start[b] >= model.end[a] + round(delta)).OnlyEnforceIf(
                        [model.present[a, k], model.present[b, kb]]
                    )
    model.makespan = model.NewIntVar(math.ceil(d.lower_bound() * scale - 1e-9), max(H, 0), "makespan")
    model.AddMaxEquality(model.makespan, model.end)
    model.Minimize(model.makespan)
    return model


def decode_cp(solver: cp_model.CpSolver, model: WorkflowCpModel, d: WorkflowData) -> dict[str, Any]:
    """Processor and start of every task, read back from a CP-SAT solve of ``build_cp_model`` (times unscaled)."""
    proc = [next(k for k in d.allowed(i) if solver.Value(model.present[i, k])) for i in range(d.n_tasks)]
    raw = [solver.Value(s) / model.scale for s in model.start]
    return solution_from_arrays(proc, repaired_starts(d, proc, raw))
