r"""The default Kubernetes scheduler's behaviour on a pod packing instance, and cheap bounds on every stage.

``kube_greedy`` (integer requests and capacities: exact arithmetic):

1. Running pods stay where they are. A node that is over capacity now first sheds non-protected pods, lowest
   priority first and the largest first within a priority, until it fits (what the kubelet's node-pressure eviction
   does); the shed pods join the queue.
2. The queue: pending pods by decreasing priority, then by decreasing size (the larger of the pod's cpu and memory
   shares of the largest node's), then by index.
3. Each pod goes to the node where it fits with the most room left, kube-scheduler's ``LeastAllocated`` score: the
   mean over cpu and memory of free / capacity after placing it (a resource of capacity 0 scores 0); ties to the
   lowest node index.
4. Preemption (``DefaultPreemption``; optional): a pod that fits nowhere may evict pods of strictly lower priority
   (never a protected pod). On each node where removing all of them would make room, the victims are those left
   after reprieving the candidates one by one from the highest priority down (largest first on ties) while the pod
   still fits; the node chosen has the lowest highest-victim priority, then the fewest victims, then the least sum
   of victim priorities, then the lowest index. The victims rejoin the queue at their priority: they may land
   elsewhere (a move) or stay pending (an eviction).

``stage_bounds``: an upper bound on every entry of the lexicographic optimum (FORMAT.md: counts of placed pods of at
least each priority, then minus the disruption), each valid on its own. For the stage of priorities
:math:`\ge q_k`: the protected pods among them (always placed), plus at most, for each resource r, the largest number
of the other pods of :math:`P_k` that fit some node alone whose smallest requests of r add up to no more than the
cluster's capacity of r less what all protected pods use (the pods of every node pooled: a relaxation). For the
disruption: every node whose running pods exceed its capacity in a resource by :math:`e` must lose at least as many
non-protected running pods as the fewest of its largest requests that cover :math:`e`; the sum over nodes bounds the
disruption from below, so minus it bounds the last entry from above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GreedyRun:
    """The greedy's placement (node per pod, -1 pending) and what happened on the way."""

    node: np.ndarray
    shed: int
    preemptions: int
    evicted_by_preemption: int


def _order(pods: list[int], priority: np.ndarray, size: np.ndarray) -> list[int]:
    return sorted(pods, key=lambda p: (-int(priority[p]), -float(size[p]), p))


def kube_greedy(
    node_cpu: np.ndarray,
    node_mem: np.ndarray,
    pod_cpu: np.ndarray,
    pod_mem: np.ndarray,
    priority: np.ndarray,
    current: np.ndarray,
    protected: np.ndarray,
    preemption: bool = True,
) -> GreedyRun:
    """The placement of the module docstring. All resource arrays are int64 (exact units); ``current`` is -1 for a
    pending pod."""
    m = len(node_cpu)
    n_pods = len(pod_cpu)
    node = np.asarray(current, dtype=np.int64).copy()
    free_cpu = np.asarray(node_cpu, dtype=np.int64).copy()
    free_mem = np.asarray(node_mem, dtype=np.int64).copy()
    on_node: list[list[int]] = [[] for _ in range(m)]
    for p in range(n_pods):
        if node[p] >= 0:
            free_cpu[node[p]] -= pod_cpu[p]
            free_mem[node[p]] -= pod_mem[p]
            on_node[node[p]].append(p)
    big_cpu = float(max(node_cpu.max(initial=0), 1))
    big_mem = float(max(node_mem.max(initial=0), 1))
    size = np.maximum(pod_cpu / big_cpu, pod_mem / big_mem)

    # 1. Over-capacity nodes shed their lowest-priority, largest pods first (never a protected one).
    queue: list[int] = [p for p in range(n_pods) if node[p] < 0]
    shed = 0
    for n in range(m):
        if free_cpu[n] >= 0 and free_mem[n] >= 0:
            continue
        for p in sorted(on_node[n], key=lambda q: (int(priority[q]), -float(size[q]), q)):
            if free_cpu[n] >= 0 and free_mem[n] >= 0:
                break
            if protected[p]:
                continue
            on_node[n].remove(p)
            free_cpu[n] += pod_cpu[p]
            free_mem[n] += pod_mem[p]
            node[p] = -1
            queue.append(p)
            shed += 1

    cap_cpu = np.where(node_cpu > 0, node_cpu, 1).astype(np.float64)
    cap_mem = np.where(node_mem > 0, node_mem, 1).astype(np.float64)
    has_cpu = node_cpu > 0
    has_mem = node_mem > 0
    queue = _order(queue, priority, size)
    preemptions = evicted = 0
    while queue:
        p = queue.pop(0)
        fits = (free_cpu >= pod_cpu[p]) & (free_mem >= pod_mem[p])
        if fits.any():
            score = np.where(has_cpu, (free_cpu - pod_cpu[p]) / cap_cpu, 0.0) + np.where(
                has_mem, (free_mem - pod_mem[p]) / cap_mem, 0.0
            )
            score = np.where(fits, score, -np.inf)
            n = int(np.argmax(score))  # the first of the best: ties to the lowest index
        elif preemption:
            choice = _preempt(p, on_node, free_cpu, free_mem, pod_cpu, pod_mem, priority, protected, size)
            if choice is None:
                continue
            n, victims = choice
            preemptions += 1
            evicted += len(victims)
            for v in victims:
                on_node[n].remove(v)
                free_cpu[n] += pod_cpu[v]
                free_mem[n] += pod_mem[v]
                node[v] = -1
            queue = _order(queue + victims, priority, size)
        else:
            continue
        node[p] = n
        on_node[n].append(p)
        free_cpu[n] -= pod_cpu[p]
        free_mem[n] -= pod_mem[p]
    return GreedyRun(node, shed, preemptions, evicted)


def _preempt(
    p: int,
    on_node: list[list[int]],
    free_cpu: np.ndarray,
    free_mem: np.ndarray,
    pod_cpu: np.ndarray,
    pod_mem: np.ndarray,
    priority: np.ndarray,
    protected: np.ndarray,
    size: np.ndarray,
) -> tuple[int, list[int]] | None:
    """The node and the victims for pod p (kube-scheduler's DefaultPreemption), or None when no node would do."""
    best: tuple[tuple[int, int, int, int], int, list[int]] | None = None
    need_cpu, need_mem = int(pod_cpu[p]), int(pod_mem[p])
    for n, pods in enumerate(on_node):
        lower = [q for q in pods if priority[q] < priority[p] and not protected[q]]
        if not lower:
            continue
        room_cpu = int(free_cpu[n]) + sum(int(pod_cpu[q]) for q in lower)
        room_mem = int(free_mem[n]) + sum(int(pod_mem[q]) for q in lower)
        if room_cpu < need_cpu or room_mem < need_mem:
            continue
        victims: list[int] = []
        # Reprieve from the highest priority down: put a candidate back when the pod still fits with it.
        for q in sorted(lower, key=lambda v: (-int(priority[v]), -float(size[v]), v)):
            if room_cpu - int(pod_cpu[q]) >= need_cpu and room_mem - int(pod_mem[q]) >= need_mem:
                room_cpu -= int(pod_cpu[q])
                room_mem -= int(pod_mem[q])
            else:
                victims.append(q)
        if not victims:  # cannot happen: the pod did not fit the node's free room
            continue
        key = (max(int(priority[v]) for v in victims), len(victims), sum(int(priority[v]) for v in victims), n)
        if best is None or key < best[0]:
            best = (key, n, victims)
    return None if best is None else (best[1], best[2])


def stage_bounds(
    node_cpu: np.ndarray,
    node_mem: np.ndarray,
    pod_cpu: np.ndarray,
    pod_mem: np.ndarray,
    priority: np.ndarray,
    current: np.ndarray,
    protected: np.ndarray,
    levels: tuple[int, ...],
) -> list[float]:
    """Upper bounds on the K count entries and the last (minus disruption) entry, as in the module docstring.

    Works on floats with a relative allowance of 1e-9 in the capacity sums, which only loosens the bound.
    """
    slack = 1e-9
    node_cpu = np.asarray(node_cpu, dtype=np.float64)
    node_mem = np.asarray(node_mem, dtype=np.float64)
    pod_cpu = np.asarray(pod_cpu, dtype=np.float64)
    pod_mem = np.asarray(pod_mem, dtype=np.float64)
    protected = np.asarray(protected, dtype=bool)
    if len(node_cpu):
        fits_somewhere = (
            (pod_cpu[:, None] <= node_cpu[None, :] * (1 + slack))
            & (pod_mem[:, None] <= node_mem[None, :] * (1 + slack))
        ).any(axis=1)
    else:
        fits_somewhere = np.zeros(len(pod_cpu), dtype=bool)
    room_cpu = (node_cpu.sum() - pod_cpu[protected].sum()) * (1 + slack) + slack
    room_mem = (node_mem.sum() - pod_mem[protected].sum()) * (1 + slack) + slack
    bounds: list[float] = []
    for q in levels:
        members = priority >= q
        fixed = int((members & protected).sum())
        free = members & ~protected & fits_somewhere
        count = int(free.sum())
        by_cpu = int(np.searchsorted(np.cumsum(np.sort(pod_cpu[free])), room_cpu, side="right"))
        by_mem = int(np.searchsorted(np.cumsum(np.sort(pod_mem[free])), room_mem, side="right"))
        bounds.append(float(fixed + min(count, by_cpu, by_mem)))
    bounds.append(float(-least_disruption(node_cpu, node_mem, pod_cpu, pod_mem, current, protected)))
    return bounds


def least_disruption(
    node_cpu: np.ndarray,
    node_mem: np.ndarray,
    pod_cpu: np.ndarray,
    pod_mem: np.ndarray,
    current: np.ndarray,
    protected: np.ndarray,
) -> int:
    """A lower bound on the disruption of every feasible solution: the pods over-capacity nodes must lose."""
    total = 0
    slack = 1e-9
    for n in range(len(node_cpu)):
        on = np.flatnonzero(np.asarray(current) == n)
        if len(on) == 0:
            continue
        need = 0
        for req, cap in ((pod_cpu, node_cpu[n]), (pod_mem, node_mem[n])):
            excess = float(req[on].sum()) - float(cap) * (1 + slack) - slack
            if excess <= 0:
                continue
            movable = np.sort(req[on[~np.asarray(protected)[on]]])[::-1]
            # The fewest of the largest movable requests that cover the excess.
            need = max(need, min(len(movable), int(np.searchsorted(np.cumsum(movable), excess, side="left")) + 1))
        total += need
    return total


def restore_home(
    node: np.ndarray,
    node_cpu: np.ndarray,
    node_mem: np.ndarray,
    pod_cpu: np.ndarray,
    pod_mem: np.ndarray,
    current: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Send disrupted running pods back to their own node where they fit (exact integers), until none can go.

    A pod moved away goes home (the counts stay, the disruption drops by 1); an evicted pod that fits at home is
    placed there (a count rises). No entry of the objective vector gets worse. Returns the placement and the number
    of pods sent home.
    """
    node = np.asarray(node, dtype=np.int64).copy()
    free_cpu = np.asarray(node_cpu, dtype=np.int64).copy()
    free_mem = np.asarray(node_mem, dtype=np.int64).copy()
    placed = node >= 0
    np.subtract.at(free_cpu, node[placed], np.asarray(pod_cpu, dtype=np.int64)[placed])
    np.subtract.at(free_mem, node[placed], np.asarray(pod_mem, dtype=np.int64)[placed])
    sent = 0
    changed = True
    while changed:
        changed = False
        for p in np.flatnonzero((current >= 0) & (node != current)):
            home = int(current[p])
            if pod_cpu[p] <= free_cpu[home] and pod_mem[p] <= free_mem[home]:
                if node[p] >= 0:
                    free_cpu[node[p]] += pod_cpu[p]
                    free_mem[node[p]] += pod_mem[p]
                free_cpu[home] -= pod_cpu[p]
                free_mem[home] -= pod_mem[p]
                node[p] = home
                sent += 1
                changed = True
    return node, sent
