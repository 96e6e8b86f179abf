r"""Pod packing (Kubernetes): place pods on nodes by priority, then disturb the running pods least.

The lexicographic model of Christensen, Giallorenzo and Mauro, *Priority Matters: Optimising Kubernetes Clusters
Usage with Constraint-Based Pod Packing* (arXiv 2511.08373), with cpu and memory requests.

Data: nodes :math:`n = 0..m-1` with capacities :math:`C_n` (cpu) and :math:`M_n` (memory); pods :math:`p = 0..P-1`
with requests :math:`c_p, m_p`, an integer priority :math:`\pi_p`, the node :math:`a_p` they run on now (or none:
pending) and a flag ``protected`` (the set :math:`F` of pods that stay where they are). :math:`R` is the set of
running pods (:math:`a_p` given). The distinct priorities, highest first, are :math:`q_1 > q_2 > \dots > q_K`, and
:math:`P_k = \{p : \pi_p \ge q_k\}`.

A solution gives each pod one node or none (pending). It is feasible when every node's pods fit its cpu and
memory, and every protected pod is on its current node. Its value is the vector

.. math::

    \big(f_1, \dots, f_K, -D\big), \qquad f_k = |\{p \in P_k : p \text{ placed}\}|, \qquad
    D = |\{p \in R : p \text{ not on } a_p\}|,

compared lexicographically and maximized (FORMAT.md): first as many pods of the highest priority as possible, then,
among those placements, as many of at least the next priority, and so on; last, the fewest running pods moved or
evicted (a move and an eviction both count 1). Maximizing the cumulative counts :math:`f_k` in order is the same as
maximizing the per-class counts in order, since :math:`f_k = f_{k-1} + |\{p \text{ placed} : \pi_p = q_k\}|`.

Decisions about the data (``parse`` enforces them, naming the JSON path):

- a protected pod must be running (``node`` given): "stay where it is" has no meaning for a pending pod, and a pod
  that must stay pending is better left out of the instance;
- the protected pods of a node must fit it together: they cannot move, so otherwise no solution exists;
- a running pod that is not protected may sit on a node that is over capacity now (the current state is what it
  is), but every solution respects the capacities: some of those pods move or are evicted;
- a pod may request 0 cpu or 0 memory; a node may have 0 of either (only pods requesting none of it fit there).

Feasibility is checked exactly: requests and capacities are read by their shortest decimal representation
(``Decimal``), so that 0.1 + 0.2 fits in 0.3 as a user means it.

**MILP** (``build_model``): a binary :math:`x_{pn}` for each allowed pair :math:`(p, n) \in A`: a pod that is not
protected and a node it fits alone when empty (:math:`c_p \le C_n, m_p \le M_n`). A protected pod has no variable:
it is a constant of its node, whose capacities :math:`C'_n = C_n - \sum_{p \in F, a_p = n} c_p` and :math:`M'_n`
(likewise) are what the others may use:

.. math::

    \sum_{n} x_{pn} \le 1 \;\; \forall p \notin F, \qquad \sum_{p} c_p x_{pn} \le C'_n, \quad
    \sum_{p} m_p x_{pn} \le M'_n \;\; \forall n,

with the stage expressions :math:`f_k = |F \cap P_k| + \sum_{p \in P_k \setminus F} \sum_n x_{pn}`
(``model.placed[k]``) and :math:`D = \sum_{p \in R \setminus F} (1 - x_{p a_p})` (``model.disruption``;
:math:`x_{p a_p} = 0` when the pod does not fit its own node alone). The model holds no objective: the lexicographic
runner (``allocopt.solvers.lexicographic``) solves stage k = 1..K as :math:`\max f_k` subject to
:math:`f_j \ge v_j` for the values :math:`v_j` found before, then :math:`\min D` subject to all of them.

**CP** (``build_cp_model``, CP-SAT): the same Booleans, ``AddAtMostOne`` per pod and the two capacity rows per node
in integers: cpu and memory are each scaled by the least power of ten that makes every request and capacity
integral (``allocopt.scaling.integer_scale``, exact), ``model.cpu_scale`` and ``model.memory_scale``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyomo.environ as pyo
from ortools.sat.python import cp_model

from allocopt.errors import DataError
from allocopt.registry import Check
from allocopt.scaling import ScaleError, integer_scale

#: Scaled integers (sums of requests) must stay below this for CP-SAT and the greedy's int64 arithmetic.
INT_LIMIT = 2**53


@dataclass(frozen=True)
class Node:
    """A node and its allocatable capacities (as given in the file: int or float)."""

    name: str
    cpu: int | float
    memory: int | float


@dataclass(frozen=True)
class Pod:
    """A pod: its requests, priority, current node (None: pending) and whether it must stay where it is."""

    name: str
    cpu: int | float
    memory: int | float
    priority: int
    node: int | None
    protected: bool = False


@dataclass(frozen=True, eq=False)
class PodPackingData:
    """Validated data, with read-only float64 / int64 arrays of the same numbers for the methods.

    ``current[p]`` is the pod's node now, -1 when pending. ``levels`` are the distinct priorities, highest first
    (:math:`q_1 > \\dots > q_K`). ``given_protected`` remembers which pods had a ``protected`` key, so that
    ``to_data`` writes back what was read.
    """

    nodes: tuple[Node, ...]
    pods: tuple[Pod, ...]
    node_cpu: np.ndarray
    node_memory: np.ndarray
    pod_cpu: np.ndarray
    pod_memory: np.ndarray
    priority: np.ndarray
    current: np.ndarray
    protected: np.ndarray
    levels: tuple[int, ...]
    given_protected: frozenset[int] = frozenset()

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_pods(self) -> int:
        return len(self.pods)

    @property
    def n_stages(self) -> int:
        """K + 1: one stage per distinct priority, then the disruption."""
        return len(self.levels) + 1

    def fits_alone(self) -> np.ndarray:
        """(P, m) bool: pod p is not protected and fits node n when the node is otherwise empty (the pairs A)."""
        fits = (self.pod_cpu[:, None] <= self.node_cpu[None, :]) & (
            self.pod_memory[:, None] <= self.node_memory[None, :]
        )
        fits[self.protected, :] = False  # a protected pod has no choice to make: a constant of its node
        return fits

    def pairs(self) -> list[tuple[int, int]]:
        """The allowed (pod, node) pairs A of the module docstring, pod by pod."""
        return [(int(p), int(n)) for p, n in zip(*np.nonzero(self.fits_alone()), strict=True)]

    def protected_use(self) -> tuple[np.ndarray, np.ndarray]:
        """(m,) float64 cpu and memory the protected pods take on each node."""
        on = self.current[self.protected]
        cpu = np.bincount(on, weights=self.pod_cpu[self.protected], minlength=self.n_nodes)
        memory = np.bincount(on, weights=self.pod_memory[self.protected], minlength=self.n_nodes)
        return cpu.astype(np.float64), memory.astype(np.float64)

    def protected_count(self, k: int) -> int:
        """How many protected pods stage k counts (always placed)."""
        return int(np.count_nonzero(self.protected & (self.priority >= self.levels[k])))

    def kind_text(self) -> str:
        running = int((self.current >= 0).sum())
        return (
            f"pod packing, {self.n_pods} pods ({running} running, {self.n_pods - running} pending, "
            f"{int(self.protected.sum())} protected) on {self.n_nodes} nodes, {len(self.levels)} priorities"
        )


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _exact(x: int | float) -> Decimal:
    """A JSON number by its shortest decimal representation (exact: 0.1 is one tenth)."""
    return Decimal(x) if isinstance(x, int) else Decimal(repr(float(x)))


def parse(data: Mapping[str, Any]) -> PodPackingData:
    """Build the data from schema-valid ``data``; checks what a schema cannot (indices, names, protected pods)."""
    nodes: list[Node] = []
    names: dict[str, int] = {}
    for n, node in enumerate(data["nodes"]):
        if node["name"] in names:
            raise DataError(
                ("nodes", n, "name"), f"expected a unique name; {node['name']!r} is node {names[node['name']]}"
            )
        names[node["name"]] = n
        nodes.append(Node(node["name"], node["cpu"], node["memory"]))
    m = len(nodes)
    pods: list[Pod] = []
    pod_names: dict[str, int] = {}
    given: set[int] = set()
    for p, pod in enumerate(data["pods"]):
        if pod["name"] in pod_names:
            raise DataError(
                ("pods", p, "name"), f"expected a unique name; {pod['name']!r} is pod {pod_names[pod['name']]}"
            )
        pod_names[pod["name"]] = p
        node = pod["node"]
        if node is not None and not 0 <= node < m:
            where = f"0..{m - 1}" if m else "none (there are no nodes)"
            raise DataError(("pods", p, "node"), f"expected a node index in {where} or null (pending), got {node}")
        priority = pod["priority"]
        if isinstance(priority, float):  # 5.0 is an integer to JSON Schema; keep it an int
            priority = int(priority)
        if "protected" in pod:
            given.add(p)
        protected = bool(pod.get("protected", False))
        if protected and node is None:
            raise DataError(
                ("pods", p, "protected"),
                "a protected pod stays where it runs, so it must be running: give its node, or set protected false",
            )
        pods.append(
            Pod(pod["name"], pod["cpu"], pod["memory"], priority, None if node is None else int(node), protected)
        )
    _check_protected_fit(nodes, pods)
    current = np.asarray([-1 if q.node is None else q.node for q in pods], dtype=np.int64)
    return PodPackingData(
        nodes=tuple(nodes),
        pods=tuple(pods),
        node_cpu=_frozen(np.asarray([float(v.cpu) for v in nodes], dtype=np.float64)),
        node_memory=_frozen(np.asarray([float(v.memory) for v in nodes], dtype=np.float64)),
        pod_cpu=_frozen(np.asarray([float(q.cpu) for q in pods], dtype=np.float64)),
        pod_memory=_frozen(np.asarray([float(q.memory) for q in pods], dtype=np.float64)),
        priority=_frozen(np.asarray([q.priority for q in pods], dtype=np.int64)),
        current=_frozen(current),
        protected=_frozen(np.asarray([q.protected for q in pods], dtype=bool)),
        levels=tuple(sorted({q.priority for q in pods}, reverse=True)),
        given_protected=frozenset(given),
    )


def _check_protected_fit(nodes: list[Node], pods: list[Pod]) -> None:
    """The protected pods of each node must fit it together (exact decimal sums); names the pod that overflows."""
    used: dict[int, list[Decimal]] = {}
    for p, pod in enumerate(pods):
        if not pod.protected:
            continue
        n = pod.node
        assert n is not None
        total = used.setdefault(n, [Decimal(0), Decimal(0)])
        total[0] += _exact(pod.cpu)
        total[1] += _exact(pod.memory)
        node = nodes[n]
        for what, value, cap in (("cpu", total[0], node.cpu), ("memory", total[1], node.memory)):
            if value > _exact(cap):
                raise DataError(
                    ("pods", p),
                    f"protected pods stay put, but the protected pods on node {n} ({node.name!r}) up to this one "
                    f"request {what} {value}, above the node's {cap}: they must fit together",
                )


def to_data(d: PodPackingData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    pods = []
    for p, q in enumerate(d.pods):
        item: dict[str, Any] = {
            "name": q.name,
            "cpu": q.cpu,
            "memory": q.memory,
            "priority": q.priority,
            "node": q.node,
        }
        if q.protected or p in d.given_protected:
            item["protected"] = q.protected
        pods.append(item)
    return {"nodes": [{"name": v.name, "cpu": v.cpu, "memory": v.memory} for v in d.nodes], "pods": pods}


# ------------------------------------------------------------------------------------------------- checker
def check(d: PodPackingData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: exact decimal sums per node, protected pods in place; recomputes the objective vector."""
    node = solution.get("node")
    n_pods, m = len(d.pods), len(d.nodes)
    if not isinstance(node, list) or len(node) != n_pods:
        got = f"a list of {len(node)}" if isinstance(node, list) else type(node).__name__
        return Check(
            False, None, f"solution.node must be a list of {n_pods} node indices or null (one per pod), got {got}"
        )
    cpu = [Decimal(0)] * m
    memory = [Decimal(0)] * m
    where: list[int | None] = []
    for p, v in enumerate(node):
        if v is None:
            where.append(None)
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or v != int(v):
            return Check(False, None, f"solution.node[{p}] = {v!r} is not a node index or null")
        v = int(v)
        if not 0 <= v < m:
            return Check(False, None, f"pod {p} is on node {v}, out of range (nodes 0..{m - 1})")
        where.append(v)
        cpu[v] += _exact(d.pods[p].cpu)
        memory[v] += _exact(d.pods[p].memory)
    for p, pod in enumerate(d.pods):
        if pod.protected and where[p] != pod.node:
            return Check(False, None, f"pod {p} ({pod.name!r}) is protected: it must stay on node {pod.node}")
    for n, nd in enumerate(d.nodes):
        if cpu[n] > _exact(nd.cpu):
            return Check(False, None, f"node {n} ({nd.name!r}) is over its cpu: {cpu[n]} > {nd.cpu}")
        if memory[n] > _exact(nd.memory):
            return Check(False, None, f"node {n} ({nd.name!r}) is over its memory: {memory[n]} > {nd.memory}")
    levels = sorted({pod.priority for pod in d.pods}, reverse=True)
    counts = [sum(1 for p, pod in enumerate(d.pods) if where[p] is not None and pod.priority >= q) for q in levels]
    disruption = sum(1 for p, pod in enumerate(d.pods) if pod.node is not None and where[p] != pod.node)
    return Check(True, (*(float(c) for c in counts), float(-disruption)))


# ------------------------------------------------------------------------------------------------- MILP
def build_model(d: PodPackingData) -> pyo.ConcreteModel:
    """The MILP of the module docstring, without an objective (the stages are expressions).

    Components: ``assign[p, n]`` (the allowed pairs: protected pods have none), rows ``one_node[p]``, ``cpu[n]``,
    ``memory[n]`` (capacity left by the protected pods); expressions ``placed[k]`` (pods of priority >=
    ``model.levels[k]`` placed, the protected ones included) and ``disruption`` (running pods not on their node).
    ``allocopt.solve(instance, method="milp", model=model)`` solves an extended model stage by stage; any Pyomo
    solver takes it with an objective of your own.
    """
    pairs = d.pairs()
    model = pyo.ConcreteModel(name="pod_packing")
    model.levels = d.levels
    model.assign = pyo.Var(pairs, domain=pyo.Binary)
    x = model.assign
    by_pod: dict[int, list[int]] = {p: [] for p in range(d.n_pods)}
    by_node: dict[int, list[int]] = {n: [] for n in range(d.n_nodes)}
    for p, n in pairs:
        by_pod[p].append(n)
        by_node[n].append(p)
    cpu = d.pod_cpu.tolist()
    memory = d.pod_memory.tolist()
    fixed_cpu, fixed_memory = d.protected_use()
    several = [p for p in range(d.n_pods) if len(by_pod[p]) > 1]
    model.one_node = pyo.Constraint(several, rule=lambda mdl, p: pyo.quicksum(x[p, n] for n in by_pod[p]) <= 1)

    def capacity(request: list[float], caps: np.ndarray) -> Any:
        def rule(mdl: pyo.ConcreteModel, n: int) -> Any:
            terms = [(request[p], x[p, n]) for p in by_node[n] if request[p]]
            if not terms:
                return pyo.Constraint.Skip
            return pyo.quicksum(c * v for c, v in terms) <= float(caps[n])

        return rule

    model.cpu = pyo.Constraint(range(d.n_nodes), rule=capacity(cpu, d.node_cpu - fixed_cpu))
    model.memory = pyo.Constraint(range(d.n_nodes), rule=capacity(memory, d.node_memory - fixed_memory))
    priority = d.priority.tolist()
    model.placed = pyo.Expression(
        range(len(d.levels)),
        rule=lambda mdl, k: (
            d.protected_count(k) + pyo.quicksum(x[p, n] for p, n in pairs if priority[p] >= d.levels[k])
        ),
    )
    movable = [int(p) for p in np.flatnonzero((d.current >= 0) & ~d.protected)]
    own = [p for p in movable if (p, int(d.current[p])) in x]
    # A running pod that does not fit its own node alone is disrupted in every solution: a constant 1.
    model.disruption = pyo.Expression(
        expr=(len(movable) - len(own)) + pyo.quicksum(1 - x[p, int(d.current[p])] for p in own)
    )
    return model


def stages(model: pyo.ConcreteModel) -> list[tuple[Any, str]]:
    """The lexicographic stages of a ``build_model`` model: (expression, sense), highest priority first."""
    return [*((model.placed[k], "max") for k in range(len(model.levels))), (model.disruption, "min")]


def decode(model: pyo.ConcreteModel, d: PodPackingData) -> dict[str, Any]:
    """Each pod's node (the x_pn above one half; a protected pod's own), or null, read back from ``build_model``."""
    node: list[int | None] = [int(d.current[p]) if d.protected[p] else None for p in range(d.n_pods)]
    for p, n in model.assign:
        v = pyo.value(model.assign[p, n], exception=False)
        if v is not None and v > 0.5:
            node[p] = n
    return {"node": node}


# ------------------------------------------------------------------------------------------------- CP-SAT
def integer_units(d: PodPackingData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Exact integer cpu and memory: (pod cpu, node cpu, pod memory, node memory, cpu scale, memory scale).

    Each resource is scaled by the least power of ten making all its requests and capacities integral. Raises
    ``ScaleError`` when that needs more than 12 decimal places or the scaled numbers pass ``INT_LIMIT``.
    """
    k = d.n_pods
    cpu, cpu_scale = integer_scale([*(q.cpu for q in d.pods), *(v.cpu for v in d.nodes)], total_limit=INT_LIMIT)
    mem, mem_scale = integer_scale([*(q.memory for q in d.pods), *(v.memory for v in d.nodes)], total_limit=INT_LIMIT)
    ints = [np.asarray(part, dtype=np.int64) for part in (cpu[:k], cpu[k:], mem[:k], mem[k:])]
    return ints[0], ints[1], ints[2], ints[3], cpu_scale, mem_scale


def cp_reason(d: PodPackingData) -> str | None:
    """Why the integer engines (CP-SAT, the greedy) do not apply, or None."""
    try:
        integer_units(d)
    except ScaleError as exc:
        return f"cpu and memory must scale exactly to integers: {exc}"
    return None


class PodPackingCpModel(cp_model.CpModel):
    """A CP-SAT ``CpModel`` with the variables and stage expressions reachable (see ``build_cp_model``)."""

    assign: dict[tuple[int, int], cp_model.IntVar]
    placed: list[Any]
    disruption: Any
    levels: tuple[int, ...]
    cpu_scale: int
    memory_scale: int


def build_cp_model(d: PodPackingData) -> PodPackingCpModel:
    """The CP-SAT model of the module docstring, without an objective.

    ``model.assign[p, n]`` (the allowed pairs: protected pods have none), ``model.placed[k]`` and
    ``model.disruption`` (linear expressions of the stages), ``model.cpu_scale`` and ``model.memory_scale`` (the
    powers of ten of the integer rows). Raises ``ScaleError`` (a ``ValueError``) when ``integer_units`` does.
    """
    pod_cpu, node_cpu, pod_mem, node_mem, cpu_scale, mem_scale = integer_units(d)
    model = PodPackingCpModel()
    model.levels = d.levels
    model.cpu_scale, model.memory_scale = cpu_scale, mem_scale
    pairs = d.pairs()
    model.assign = {(p, n): model.NewBoolVar(f"x_{p}_{n}") for p, n in pairs}
    by_pod: dict[int, list[Any]] = {p: [] for p in range(d.n_pods)}
    by_node: dict[int, list[int]] = {n: [] for n in range(d.n_nodes)}
    for (p, n), x in model.assign.items():
        by_pod[p].append(x)
        by_node[n].append(p)
    for xs in by_pod.values():
        if len(xs) > 1:
            model.AddAtMostOne(xs)
    fixed_cpu = np.zeros(d.n_nodes, dtype=np.int64)
    fixed_mem = np.zeros(d.n_nodes, dtype=np.int64)
    np.add.at(fixed_cpu, d.current[d.protected], pod_cpu[d.protected])
    np.add.at(fixed_mem, d.current[d.protected], pod_mem[d.protected])
    for n, pods in by_node.items():
        for request, cap in ((pod_cpu, int(node_cpu[n] - fixed_cpu[n])), (pod_mem, int(node_mem[n] - fixed_mem[n]))):
            used = [p for p in pods if request[p]]
            if int(request[used].sum()) > cap:  # a row only where the node could overflow
                coeffs = request[used].tolist()
                model.Add(cp_model.LinearExpr.WeightedSum([model.assign[p, n] for p in used], coeffs) <= cap)
    priority = d.priority.tolist()
    model.placed = [
        d.protected_count(k) + cp_model.LinearExpr.Sum([x for (p, _), x in model.assign.items() if priority[p] >= q])
        for k, q in enumerate(d.levels)
    ]
    movable = [int(p) for p in np.flatnonzero((d.current >= 0) & ~d.protected)]
    own = [model.assign[p, int(d.current[p])] for p in movable if (p, int(d.current[p])) in model.assign]
    model.disruption = len(movable) - cp_model.LinearExpr.Sum(own)
    return model


def decode_cp(solver: cp_model.CpSolver, model: PodPackingCpModel, d: PodPackingData) -> dict[str, Any]:
    """Each pod's node (a protected pod's own), or null, read back from a CP-SAT solve of ``build_cp_model``."""
    node: list[int | None] = [int(d.current[p]) if d.protected[p] else None for p in range(d.n_pods)]
    for (p, n), x in model.assign.items():
        if solver.BooleanValue(x):
            node[p] = n
    return {"node": node}


# ------------------------------------------------------------------------------------------------- generator
#: Node shapes of ``random_cluster``: (cpu cores, memory MiB, share of the nodes).
NODE_SHAPES = ((8, 32768, 0.3), (16, 65536, 0.5), (32, 131072, 0.2))
#: Pod cpu requests (cores) of ``random_cluster`` and their probabilities; memory is cpu x a MiB-per-core ratio.
POD_CPU = ((0.25, 0.2), (0.5, 0.25), (1, 0.25), (2, 0.15), (4, 0.1), (8, 0.05))
POD_MIB_PER_CORE = (1024, 2048, 4096, 8192)
#: Priority classes of ``random_cluster`` (highest first) and their shares of the pods.
PRIORITY_CLASSES = ((1000000, 0.1), (10000, 0.3), (1000, 0.3), (0, 0.3))


def random_cluster(
    seed: int,
    nodes: int = 100,
    pods: int = 1000,
    running: float = 0.8,
    protected: float = 0.05,
    load: float = 1.1,
) -> dict[str, Any]:
    """A seeded random cluster: the ``data`` of a pod_packing instance (``numpy.random.default_rng(seed)``).

    Nodes take the shapes of ``NODE_SHAPES`` (cpu cores, memory MiB); pods draw a cpu request from ``POD_CPU``
    times a uniform factor in [0.75, 1.25], a memory request of that cpu times one of ``POD_MIB_PER_CORE``, and a
    priority from ``PRIORITY_CLASSES``. The requests are then scaled (cpu to a multiple of 0.05 core, memory to whole
    MiB, never below 0.05 / 64) so that all pods together ask for ``load`` times the cluster's cpu. A share
    ``running`` of the pods, in random order, is placed first-fit in a random node order (the current state a
    scheduler left); those that fit nowhere and the rest are pending. A share ``protected`` of the running pods is
    protected.
    """
    rng = np.random.default_rng(seed)
    shapes = rng.choice(len(NODE_SHAPES), size=nodes, p=[s[2] for s in NODE_SHAPES])
    node_list = [
        {"name": f"node-{i:03d}", "cpu": NODE_SHAPES[s][0], "memory": NODE_SHAPES[s][1]} for i, s in enumerate(shapes)
    ]
    total_cpu = sum(NODE_SHAPES[s][0] for s in shapes)
    cpu = rng.choice([c for c, _ in POD_CPU], size=pods, p=[w for _, w in POD_CPU]).astype(float)
    ratio = rng.choice(POD_MIB_PER_CORE, size=pods)
    cpu = cpu * rng.uniform(0.75, 1.25, size=pods)  # requests vary around the menu's sizes
    factor = load * total_cpu / cpu.sum() if pods else 1.0
    # cpu in whole twentieths of a core (0.05), memory in whole MiB: exact integer arithmetic below.
    cpu_units = np.maximum(1, np.round(cpu * factor * 20)).astype(np.int64)
    mem_req = np.maximum(64, np.round(cpu * factor * ratio)).astype(np.int64)
    prio = rng.choice([q for q, _ in PRIORITY_CLASSES], size=pods, p=[w for _, w in PRIORITY_CLASSES])
    free_cpu = np.asarray([n["cpu"] * 20 for n in node_list], dtype=np.int64)
    free_mem = np.asarray([n["memory"] for n in node_list], dtype=np.int64)
    where: list[int | None] = [None] * pods
    for p in rng.permutation(pods)[: round(running * pods)]:
        for n in rng.permutation(nodes):
            if cpu_units[p] <= free_cpu[n] and mem_req[p] <= free_mem[n]:
                where[p] = int(n)
                free_cpu[n] -= cpu_units[p]
                free_mem[n] -= mem_req[p]
                break
    placed = [p for p in range(pods) if where[p] is not None]
    shielded = set(rng.choice(placed, size=round(protected * len(placed)), replace=False).tolist()) if placed else set()
    pod_list = []
    for p in range(pods):
        item: dict[str, Any] = {
            "name": f"pod-{p:04d}",
            "cpu": int(cpu_units[p]) // 20 if cpu_units[p] % 20 == 0 else int(cpu_units[p]) / 20,
            "memory": int(mem_req[p]),
            "priority": int(prio[p]),
            "node": where[p],
        }
        if p in shielded:
            item["protected"] = True
        pod_list.append(item)
    return {"nodes": node_list, "pods": pod_list}
