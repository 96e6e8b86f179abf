r"""LPT (longest processing time first) for identical and uniform parallel machines.

Jobs are taken in decreasing duration (one stable argsort), each placed on the machine where it *finishes*
earliest, :math:`\arg\min_i (F_i + p_j / s_i)`. On identical machines that is the machine of least finish
time, kept in a binary min-heap (ties to the lower index): :math:`O(n \log n + n \log m)`. On uniform machines
machines of one speed form a group with its own heap, and each job scans the groups' least finish times:
:math:`O(n \log n + n g)` for g distinct speeds. Graham (1969): LPT is within :math:`4/3 - 1/(3m)` of the
optimum on identical machines; Gonzalez, Ibarra and Sahni (1977): within 2 on uniform ones.

Loads are accumulated in whole durations per machine (exact integers) and divided by the speed only to compare.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _sift_down(keys, ids, size, pos):  # min-heap on (keys, ids), ties broken by the lower id
    key = keys[pos]
    idx = ids[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and (
            keys[child + 1] < keys[child] or (keys[child + 1] == keys[child] and ids[child + 1] < ids[child])
        ):
            child += 1
        if keys[child] > key or (keys[child] == key and ids[child] > idx):
            break
        keys[pos] = keys[child]
        ids[pos] = ids[child]
        pos = child
    keys[pos] = key
    ids[pos] = idx


@njit(cache=True)
def _lpt(order, p, inv_speed, group_start, group_machines):
    """Assign jobs in ``order``; machines ``group_machines[group_start[g]:group_start[g+1]]`` share one speed."""
    n = order.shape[0]
    g_count = group_start.shape[0] - 1
    m = group_machines.shape[0]
    # One min-heap of finish times per group, stored in slices of flat arrays (all finish times start at 0).
    keys = np.zeros(m)
    ids = group_machines.copy()
    whole = np.zeros(m, dtype=np.int64)
    assign = np.empty(p.shape[0], dtype=np.int64)
    g_inv = np.empty(g_count)
    for g in range(g_count):
        g_inv[g] = inv_speed[group_machines[group_start[g]]]
    for k in range(n):
        j = order[k]
        pj = p[j]
        best_g = 0
        best = np.inf
        best_id = m
        for g in range(g_count):
            top = group_start[g]
            f = keys[top] + pj * g_inv[g]
            if f < best or (f == best and ids[top] < best_id):
                best = f
                best_g = g
                best_id = ids[top]
        top = group_start[best_g]
        i = ids[top]
        assign[j] = i
        whole[i] += pj
        keys[top] = whole[i] * g_inv[best_g]
        size = group_start[best_g + 1] - top
        # Sift within the group's slice: positions are relative to ``top``.
        _sift_down(keys[top : top + size], ids[top : top + size], size, 0)
    return assign, whole


def lpt(durations: np.ndarray, speeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LPT assignment: (machine of each job, whole durations per machine). ``speeds`` all 1 for identical."""
    p = np.ascontiguousarray(durations, dtype=np.int64)
    s = np.asarray(speeds, dtype=np.float64)
    order = np.argsort(-p, kind="stable")
    # Group machines by speed, fastest first (ties among groups then favour the faster machine).
    by_speed = np.lexsort((np.arange(len(s)), -s))
    sorted_s = s[by_speed]
    cuts = np.flatnonzero(np.diff(sorted_s) != 0) + 1
    group_start = np.concatenate(([0], cuts, [len(s)])).astype(np.int64)
    return _lpt(order, p, 1.0 / s, group_start, by_speed.astype(np.int64))


def lpt_bound(durations: np.ndarray, speeds: np.ndarray) -> float:
    r"""max(largest job / fastest speed, total work / total speed); identical machines also
    :math:`p_{(m)} + p_{(m+1)}` (two of the m+1 longest jobs share a machine)."""
    p = np.asarray(durations, dtype=np.int64)
    s = np.asarray(speeds, dtype=np.float64)
    if len(p) == 0:
        return 0.0
    bound = max(float(p.max()) / float(s.max()), float(p.sum()) / float(s.sum()))
    m = len(s)
    if np.all(s == s[0]) and len(p) > m:
        top = -np.partition(-p, m)[: m + 1]
        top.sort()
        bound = max(bound, float(top[0] + top[1]) / float(s[0]))
    return bound
