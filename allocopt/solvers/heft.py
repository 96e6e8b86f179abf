r"""HEFT (Topcuoglu, Hariri and Wu, IEEE TPDS 13(3), 2002) for a task graph on heterogeneous processors.

Arrays only: ``cost`` (n x q, ``inf`` where a task cannot run), edges ``src``, ``dst``, ``data`` (length e) and
``transfer`` (q x q, time per unit of data from processor a to b; zero diagonal).

Upward rank: :math:`\mathrm{rank}_u(i) = \bar w_i + \max_{(i,j)} (\bar c_{ij} + \mathrm{rank}_u(j))`, with
:math:`\bar w_i` the mean of task i's finite costs and :math:`\bar c_{ij} = \mathrm{data}_{ij} \bar T`, :math:`\bar T`
the mean off-diagonal transfer rate (the paper's average communication cost; with rate 1 it is the data itself).
Tasks are taken by non-increasing rank (ties: topological position, so a zero-cost parent still precedes its
child); each goes to the processor of earliest finish time, inserted into the first idle gap that fits after its
data arrive.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np


@dataclass(frozen=True)
class HeftSchedule:
    processor: np.ndarray
    start: np.ndarray
    finish: np.ndarray
    rank: np.ndarray
    order: np.ndarray
    makespan: float


def _graph(n: int, src: np.ndarray, dst: np.ndarray) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    return g


def mean_transfer(transfer: np.ndarray) -> float:
    """The mean off-diagonal transfer rate (0 with one processor)."""
    q = transfer.shape[0]
    if q < 2:
        return 0.0
    return float((transfer.sum() - np.trace(transfer)) / (q * (q - 1)))


def upward_ranks(
    cost: np.ndarray, src: np.ndarray, dst: np.ndarray, data: np.ndarray, transfer: np.ndarray
) -> np.ndarray:
    """HEFT's upward rank of every task (average costs over allowed processors, average transfer)."""
    n = cost.shape[0]
    finite = np.isfinite(cost)
    w = np.where(finite, cost, 0.0).sum(axis=1) / finite.sum(axis=1)
    comm = data.astype(float) * mean_transfer(transfer)
    g = _graph(n, src, dst)
    best_succ = np.zeros(n)
    rank = np.zeros(n)
    out: dict[int, list[int]] = {i: [] for i in range(n)}
    for e, a in enumerate(src.tolist()):
        out[a].append(e)
    for i in reversed(list(nx.topological_sort(g))):
        best_succ[i] = max((comm[e] + rank[dst[e]] for e in out[i]), default=0.0)
        rank[i] = w[i] + best_succ[i]
    return rank


def heft(
    cost: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    data: np.ndarray,
    transfer: np.ndarray,
    order: np.ndarray | None = None,
) -> HeftSchedule:
    """The HEFT schedule (``order``: a task order to use instead of the rank order; it must be topological)."""
    n, q = cost.shape
    rank = upward_ranks(cost, src, dst, data, transfer)
    g = _graph(n, src, dst)
    if order is None:
        topo = np.empty(n, dtype=np.int64)
        topo[list(nx.lexicographical_topological_sort(g))] = np.arange(n)
        # Ranks are sums of floats: round before comparing so exact ties fall to the topological position.
        order = np.array(sorted(range(n), key=lambda i: (-round(float(rank[i]), 9), int(topo[i]))), dtype=np.int64)
    preds: dict[int, list[int]] = {i: [] for i in range(n)}
    for e, b in enumerate(dst.tolist()):
        preds[b].append(e)
    proc = np.full(n, -1, dtype=np.int64)
    start = np.zeros(n)
    finish = np.zeros(n)
    busy: list[list[tuple[float, float]]] = [[] for _ in range(q)]
    for i in order.tolist():
        best: tuple[float, int, float] | None = None
        for k in range(q):
            c = float(cost[i, k])
            if not np.isfinite(c):
                continue
            ready = max(
                (finish[src[e]] + float(data[e]) * float(transfer[proc[src[e]], k]) for e in preds[i]), default=0.0
            )
            t = ready
            if c > 0:
                for s, f in busy[k]:  # the first idle gap after ``ready`` that holds the task
                    if t + c <= s:
                        break
                    t = max(t, f)
            if best is None or t + c < best[0]:
                best = (t + c, k, t)
        assert best is not None, f"task {i} has no allowed processor"
        f, k, t = best
        proc[i], start[i], finish[i] = k, t, f
        if f > t:
            busy[k].append((t, f))
            busy[k].sort()
    return HeftSchedule(proc, start, finish, rank, order, float(finish.max(initial=0.0)))
