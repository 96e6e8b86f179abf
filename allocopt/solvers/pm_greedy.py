r"""Earliest completion, then local search, for unrelated parallel machines (times t_ij, ``inf`` forbids).

**Construction.** Jobs in decreasing order of their least time :math:`\min_i t_{ij}` (long jobs first, as in
LPT), each to the machine where it finishes earliest, :math:`\arg\min_i (L_i + t_{ij})`.

**LP start.** When the assignment LP relaxation is solved for the bound, its rounding (each job to the machine of
its largest :math:`x_{ij}`) is improved the same way, and the better of the two results is kept.

**Improvement.** Repeatedly take the most loaded machine a and try, for each of its jobs j:

- a *move* to another machine b: accepted when :math:`L_b + t_{bj} < L_a` (both machines end below the old
  :math:`L_a`); the move giving the least :math:`\max(L_a - t_{aj}, L_b + t_{bj})` is taken;
- failing every move, a *swap* of j with a job k of machine b, machines b tried from the least loaded up:
  accepted when both :math:`L_a - t_{aj} + t_{ak}` and :math:`L_b - t_{bk} + t_{bj}` are below :math:`L_a`.

Every accepted step lowers :math:`L_a` and leaves the other machine below the old :math:`L_a`, so the sorted
load vector decreases lexicographically and the search ends (or stops at ``max_steps``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _construct(t):
    m, n = t.shape
    best = np.empty(n)
    for j in range(n):
        v = np.inf
        for i in range(m):
            if t[i, j] < v:
                v = t[i, j]
        best[j] = v
    order = np.argsort(-best, kind="mergesort")
    load = np.zeros(m)
    assign = np.empty(n, dtype=np.int64)
    for k in range(n):
        j = order[k]
        bi = -1
        bv = np.inf
        for i in range(m):
            f = load[i] + t[i, j]
            if f < bv:
                bv = f
                bi = i
        assign[j] = bi
        load[bi] = bv
    return assign


@njit(cache=True)
def _improve(t, assign, max_steps):
    m, n = t.shape
    load = np.zeros(m)
    for j in range(n):
        load[assign[j]] += t[assign[j], j]
    steps = 0
    while steps < max_steps:
        a = np.argmax(load)
        la = load[a]
        # Best move off machine a.
        bj = -1
        bb = -1
        bval = la
        for j in range(n):
            if assign[j] != a:
                continue
            for b in range(m):
                if b == a:
                    continue
                nb = load[b] + t[b, j]
                if nb < la:
                    val = max(la - t[a, j], nb)
                    if val < bval:
                        bval = val
                        bj = j
                        bb = b
        if bj >= 0:
            load[a] -= t[a, bj]
            load[bb] += t[bb, bj]
            assign[bj] = bb
            steps += 1
            continue
        # Swaps, machines from the least loaded up.
        done = False
        on_a = np.flatnonzero(assign == a)
        for b in np.argsort(load):
            if b == a:
                continue
            on_b = np.flatnonzero(assign == b)
            for j in on_a:
                if not np.isfinite(t[b, j]):
                    continue
                for k in on_b:
                    if not np.isfinite(t[a, k]):
                        continue
                    na = la - t[a, j] + t[a, k]
                    nb = load[b] - t[b, k] + t[b, j]
                    if na < la and nb < la:
                        load[a] = na
                        load[b] = nb
                        assign[j] = b
                        assign[k] = a
                        done = True
                        break
                if done:
                    break
            if done:
                break
        if not done:
            break
        steps += 1
    return assign, steps


def greedy(times: np.ndarray, max_steps: int = 1_000_000, start: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """(machine of each job, improvement steps taken) for the (m, n) float time matrix (``inf`` forbids).

    Every job must have a finite time on some machine. ``start``: improve this (allowed) assignment instead of
    the earliest-completion one.
    """
    t = np.ascontiguousarray(times, dtype=np.float64)
    assign = _construct(t) if start is None else np.array(start, dtype=np.int64)
    return _improve(t, assign, int(max_steps))


def lp_bound(times: np.ndarray, time_limit: float | None = None) -> tuple[float, np.ndarray] | None:
    r"""The assignment LP relaxation's optimum (HiGHS): :math:`\min C` s.t. :math:`\sum_i x_{ij} = 1`,
    :math:`\sum_j t_{ij} x_{ij} \le C`, :math:`0 \le x_{ij} \le 1` over the allowed pairs, and its rounding
    (each job to its machine of largest :math:`x_{ij}`, a start for ``greedy``). None if HiGHS did not reach an
    optimum (e.g. the time limit)."""
    import highspy
    from scipy import sparse

    from allocopt.solvers.highs_lp import solve_lp

    t = np.asarray(times, dtype=np.float64)
    m, n = t.shape
    ii, jj = np.nonzero(np.isfinite(t))
    k = len(ii)
    col = np.arange(k)
    # Columns: the k pair variables, then C. Rows: n assignment rows, then m load rows.
    rows = np.concatenate((jj, n + ii, n + np.arange(m)))
    cols = np.concatenate((col, col, np.full(m, k)))
    vals = np.concatenate((np.ones(k), t[ii, jj], -np.ones(m)))
    a = sparse.coo_matrix((vals, (rows, cols)), shape=(n + m, k + 1))
    cost = np.zeros(k + 1)
    cost[k] = 1.0
    lower = np.concatenate((np.ones(n), np.full(m, -np.inf)))
    upper = np.concatenate((np.ones(n), np.zeros(m)))
    col_upper = np.concatenate((np.ones(k), [np.inf]))
    h = solve_lp(cost, a, lower, upper, col_upper=col_upper, time_limit=time_limit)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    # HiGHS's optimum is exact to its tolerances only: shrink it a hair so that it stays a valid lower bound.
    value = float(h.getInfo().objective_function_value)
    x = np.asarray(h.getSolution().col_value)[:k]
    # Round: per job the pair of largest x (pairs are sorted by machine; order them by job, then value).
    by_job = np.lexsort((-x, jj))
    first = np.ones(k, dtype=bool)
    first[1:] = jj[by_job][1:] != jj[by_job][:-1]
    rounded = np.empty(n, dtype=np.int64)
    rounded[jj[by_job][first]] = ii[by_job][first]
    return value - 1e-9 * max(1.0, abs(value)), rounded
