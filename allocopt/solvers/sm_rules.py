r"""Single-machine sequencing engines on numpy arrays: priority orders, semi-active schedules, objectives, bounds.

A sequence :math:`\pi` becomes its semi-active schedule (each job starts as soon as its release and the previous
job allow; a job of zero duration occupies no machine time and starts at its release). Its completions have a
closed form, vectorised here:
:math:`C_{\pi_k} = P_k + \max_{i \le k} (r_{\pi_i} - P_{i-1})` with :math:`P_k = \sum_{l \le k} p_{\pi_l}`.

Objectives by code: ``"weighted_completion"`` :math:`\sum w_j C_j`, ``"max_lateness"`` :math:`\max_j (C_j - d_j)`,
``"weighted_tardiness"`` :math:`\sum w_j \max(0, C_j - d_j)`.
"""

from __future__ import annotations

import heapq
import time

import numpy as np

OBJECTIVES = ("weighted_completion", "max_lateness", "weighted_tardiness")


def wspt_order(p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Smith's rule: jobs by non-increasing w_j / p_j (compared as w_j p_i > w_i p_j, so p_j = 0 comes first)."""
    # Sort key -w/p with p = 0 mapped to -inf (a job of no length and weight > 0 goes first); ties by index.
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p > 0, w / np.where(p > 0, p, 1), np.where(w > 0, np.inf, 0.0))
    return np.lexsort((np.arange(len(p)), -ratio))


def edd_order(d: np.ndarray) -> np.ndarray:
    """Jackson's rule: jobs by non-decreasing due date (ties by index)."""
    return np.argsort(d, kind="stable")


def starts_of(order: np.ndarray, p: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The semi-active schedule of ``order``: start of each job (indexed by job).

    A job of zero duration occupies no machine time: it starts at its release and delays no other job.
    """
    order = np.asarray(order, dtype=np.int64)
    seq = order[p[order] > 0]
    pp = p[seq]
    before = np.concatenate(([0], np.cumsum(pp)[:-1]))
    start = np.array(r, dtype=np.int64, copy=True)
    if len(seq):
        start[seq] = before + np.maximum.accumulate(r[seq] - before)
    return start


def objective_value(objective: str, completion: np.ndarray, w: np.ndarray, d: np.ndarray | None) -> float:
    """The objective of completion times (indexed by job)."""
    if objective == "weighted_completion":
        return float(np.dot(w, completion))
    assert d is not None
    late = completion - d
    if objective == "max_lateness":
        return float(late.max())
    return float(np.dot(w, np.maximum(late, 0)))


def preemptive_edd_lmax(p: np.ndarray, r: np.ndarray, d: np.ndarray) -> int:
    """Least max lateness with preemption allowed (preemptive EDD, exact for 1|r_j,pmtn|L_max).

    Every non-preemptive schedule is a preemptive one, so this bounds 1|r_j|L_max from below.
    """
    n = len(p)
    order = np.lexsort((np.arange(n), r))
    heap: list[tuple[int, int, int]] = []  # (due, job, remaining)
    t, k, worst = 0, 0, None
    while k < n or heap:
        if not heap:
            t = max(t, int(r[order[k]]))
        while k < n and r[order[k]] <= t:
            j = int(order[k])
            heapq.heappush(heap, (int(d[j]), j, int(p[j])))
            k += 1
        due, j, rem = heapq.heappop(heap)
        nxt = int(r[order[k]]) if k < n else None
        run = rem if nxt is None else min(rem, nxt - t)
        t += run
        if run < rem:
            heapq.heappush(heap, (due, j, rem - run))
        else:
            worst = t - due if worst is None else max(worst, t - due)
    return int(worst)


#: Dispatch rules: w/p first, earliest due date first, and w/p among the jobs that would finish late else EDD.
RULES = ("wspt", "edd", "late_wspt")


def dispatch(rule: str, p: np.ndarray, w: np.ndarray, r: np.ndarray, d: np.ndarray | None) -> np.ndarray:
    """A non-delay dispatch order: whenever the machine frees, the released job of best priority runs next.

    ``rule`` is one of ``RULES``; ``edd`` and ``late_wspt`` need due dates ``d``. With no release dates, ``wspt``
    is Smith's order and ``edd`` Jackson's; with them, ``edd`` is Schrage's rule.
    """
    n = len(p)
    by_release = np.lexsort((np.arange(n), r))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p > 0, w / np.where(p > 0, p, 1), np.where(w > 0, np.inf, 0.0))
    order: list[int] = []
    ready: list[int] = []
    t, k = 0, 0
    while len(order) < n:
        if not ready:
            t = max(t, int(r[by_release[k]]))
        while k < n and r[by_release[k]] <= t:
            ready.append(int(by_release[k]))
            k += 1
        if rule == "wspt":
            j = max(ready, key=lambda i: (ratio[i], -i))
        elif rule == "edd":
            j = min(ready, key=lambda i: (d[i], i))
        else:
            late = [i for i in ready if t + p[i] > d[i]]
            j = max(late, key=lambda i: (ratio[i], -i)) if late else min(ready, key=lambda i: (d[i], i))
        ready.remove(j)
        order.append(j)
        t += int(p[j])
    return np.asarray(order, dtype=np.int64)


def adjacent_swaps(
    order: np.ndarray,
    objective: str,
    p: np.ndarray,
    w: np.ndarray,
    r: np.ndarray,
    d: np.ndarray | None,
    max_passes: int = 100,
    time_limit: float | None = None,
) -> tuple[np.ndarray, float, int]:
    """Improve ``order`` by swapping adjacent jobs while a swap lowers the objective (first improvement).

    Returns the order, its objective and the number of passes made. Stops after ``max_passes`` passes or at
    ``time_limit`` seconds.
    """
    began = time.perf_counter()
    order = np.array(order, dtype=np.int64)

    def value(seq: np.ndarray) -> float:
        return objective_value(objective, starts_of(seq, p, r) + p, w, d)

    best = value(order)
    passes = 0
    while passes < max_passes:
        passes += 1
        improved = False
        for k in range(len(order) - 1):
            order[k], order[k + 1] = order[k + 1], order[k]
            v = value(order)
            if v < best - 1e-9:
                best, improved = v, True
            else:
                order[k], order[k + 1] = order[k + 1], order[k]
        if not improved or (time_limit is not None and time.perf_counter() - began > time_limit):
            break
    return order, best, passes
