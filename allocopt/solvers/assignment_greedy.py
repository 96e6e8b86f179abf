"""Capacity-aware greedy assignment, and the augmenting-path repair that completes a partial assignment.

Costs in minimisation form: an n x m float array ``c`` with ``+inf`` on forbidden pairs, demands ``d``,
capacities ``u``. An assignment is held flat by row: row i's columns are ``cols[start[i] : start[i] + cnt[i]]``
with ``start`` the running sum of the demands.

``greedy``: walk all allowed pairs from cheapest to dearest and take a pair when its row still needs a
column and its column has room (the row-and-column-capacitated version of the sorted-scores greedy that
token routers use). Rows left short at the end are completed by ``repair``.

``repair``: a short row first takes its cheapest allowed column with room; if every such column is full,
a breadth-first search finds an augmenting path row -> full column -> a row holding it -> another column
... -> a column with room, and shifts each row on it by one column. That is one augmentation of the max
flow source -> rows -> columns -> sink, so repair completes the assignment whenever the partial one can be
completed at all; it fails only on a (Hall-type) infeasible instance.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _greedy(
    order: np.ndarray, m: int, demand: np.ndarray, cap: np.ndarray, start: np.ndarray, cols: np.ndarray, cnt: np.ndarray
) -> None:
    load = np.zeros(m, dtype=np.int64)
    for q in order:
        i = q // m
        j = q - i * m
        if cnt[i] < demand[i] and load[j] < cap[j]:
            cols[start[i] + cnt[i]] = j
            cnt[i] += 1
            load[j] += 1


@njit(cache=True)
def _holds(cols: np.ndarray, start: np.ndarray, cnt: np.ndarray, i: int, j: int) -> int:
    """Position of column j in row i's list, or -1."""
    for t in range(start[i], start[i] + cnt[i]):
        if cols[t] == j:
            return t
    return -1


@njit(cache=True)
def _repair(
    c: np.ndarray, demand: np.ndarray, cap: np.ndarray, start: np.ndarray, cols: np.ndarray, cnt: np.ndarray
) -> bool:
    n, m = c.shape
    # holders of each column, in slots cstart[j] .. cstart[j] + load[j]
    cstart = np.zeros(m + 1, dtype=np.int64)
    for j in range(m):
        cstart[j + 1] = cstart[j] + cap[j]
    holder = np.empty(cstart[m], dtype=np.int64)
    load = np.zeros(m, dtype=np.int64)
    for i in range(n):
        for t in range(start[i], start[i] + cnt[i]):
            j = cols[t]
            holder[cstart[j] + load[j]] = i
            load[j] += 1
    seen_col = np.zeros(m, dtype=np.int64)  # stamp of the search that reached the column
    seen_row = np.zeros(n, dtype=np.int64)
    via_row = np.empty(m, dtype=np.int64)  # the row that would take the column
    via_col = np.empty(m, dtype=np.int64)  # the column that row gives up (-1: the short row itself)
    queue = np.empty(m, dtype=np.int64)
    stamp = 0
    for i in range(n):
        while cnt[i] < demand[i]:
            # cheapest allowed column with room that row i does not hold yet
            best, best_j = np.inf, -1
            for j in range(m):
                if c[i, j] < best and load[j] < cap[j] and _holds(cols, start, cnt, i, j) < 0:
                    best, best_j = c[i, j], j
            if best_j >= 0:
                cols[start[i] + cnt[i]] = best_j
                cnt[i] += 1
                holder[cstart[best_j] + load[best_j]] = i
                load[best_j] += 1
                continue
            # breadth-first search for an augmenting path over full columns
            stamp += 1
            seen_row[i] = stamp
            head, tail, found = 0, 0, -1
            for j in range(m):
                if c[i, j] < np.inf and cap[j] > 0 and _holds(cols, start, cnt, i, j) < 0:
                    seen_col[j] = stamp
                    via_row[j] = i
                    via_col[j] = -1
                    queue[tail] = j
                    tail += 1
            while head < tail and found < 0:
                j = queue[head]
                head += 1
                for s in range(cstart[j], cstart[j] + load[j]):
                    r = holder[s]
                    if seen_row[r] == stamp:
                        continue
                    seen_row[r] = stamp
                    for j2 in range(m):
                        if seen_col[j2] == stamp or c[r, j2] == np.inf or cap[j2] == 0:
                            continue
                        if _holds(cols, start, cnt, r, j2) >= 0:
                            continue
                        seen_col[j2] = stamp
                        via_row[j2] = r
                        via_col[j2] = j
                        if load[j2] < cap[j2]:
                            found = j2
                            break
                        queue[tail] = j2
                        tail += 1
                    if found >= 0:
                        break
            if found < 0:
                return False
            # shift along the path: each row takes the column after it and gives up the one before
            j = found
            while True:
                r = via_row[j]
                jp = via_col[j]
                holder[cstart[j] + load[j]] = r
                load[j] += 1
                if jp < 0:
                    cols[start[r] + cnt[r]] = j
                    cnt[r] += 1
                    break
                cols[_holds(cols, start, cnt, r, jp)] = j
                for s in range(cstart[jp], cstart[jp] + load[jp]):
                    if holder[s] == r:
                        holder[s] = holder[cstart[jp] + load[jp] - 1]
                        break
                load[jp] -= 1
                j = jp
    return True


def offsets(demand: np.ndarray) -> np.ndarray:
    """Where each row's columns start in a flat assignment."""
    return np.concatenate([[0], np.cumsum(demand, dtype=np.int64)[:-1]]).astype(np.int64)


def _room(c: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Capacities cut to the number of rows allowing each column (the holder lists are that long at most)."""
    return np.minimum(cap.astype(np.int64), np.isfinite(c).sum(axis=0))


def repair(c: np.ndarray, demand: np.ndarray, cap: np.ndarray, cols: np.ndarray, cnt: np.ndarray) -> bool:
    """Complete a partial flat assignment in place (``cnt[i]`` columns held by row i); False if impossible."""
    d = demand.astype(np.int64)
    return bool(_repair(c, d, _room(c, cap), offsets(d), cols, cnt))


def greedy(c: np.ndarray, demand: np.ndarray, cap: np.ndarray) -> np.ndarray | None:
    """The greedy assignment of the module docstring (flat by row), or None when repair fails."""
    n, m = c.shape
    d = demand.astype(np.int64)
    u = _room(c, cap)
    flat = c.ravel()
    allowed = np.flatnonzero(np.isfinite(flat))
    # A stable sort: ties go in file order (row, then column), as MOHAF's greedy breaks them.
    order = allowed[np.argsort(flat[allowed], kind="stable")]
    start = offsets(d)
    cols = np.full(int(d.sum()), -1, dtype=np.int64)
    cnt = np.zeros(n, dtype=np.int64)
    _greedy(order, m, d, u, start, cols, cnt)
    if np.any(cnt < d) and not _repair(c, d, u, start, cols, cnt):
        return None
    return cols
