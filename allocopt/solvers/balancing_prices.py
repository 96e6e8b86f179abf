r"""Column prices for assignment: the Lagrangian dual, and auxiliary-loss-free load balancing as its ascent.

All functions take the costs in minimisation form: an n x m float array ``c`` with ``+inf`` on forbidden
pairs, row demands ``d`` and column capacities ``u`` (a column of capacity 0 is never used).

**The dual.** Relaxing the column constraints :math:`\sum_i x_{ij} \le u_j` with prices :math:`p_j \ge 0`
leaves one tiny problem per row, *take the* :math:`d_i` *columns of smallest* :math:`c_{ij} + p_j`:

.. math::

    L(p) = \sum_i \min_{|S| = d_i} \sum_{j \in S} (c_{ij} + p_j) \;-\; \sum_j u_j p_j \;\le\; \mathrm{OPT}
    \quad\text{for every } p \ge 0.

:math:`L` is concave and piecewise linear, with supergradient :math:`\mathrm{load}_j(p) - u_j`. Because the
constraint matrix is totally unimodular, :math:`\max_{p \ge 0} L(p)` equals the optimum, and the maximizers
are exactly the LP duals of the column rows. So any price vector certifies a lower bound, and the exact
prices certify optimality: that is how every assignment method here reports its bound.

**Auxiliary-loss-free balancing** (DeepSeek-V3) routes each token (row) to its top-k experts (columns) by
score plus a per-expert bias :math:`b_j`, and after each step moves :math:`b_j` by a fixed step
:math:`\gamma` against the overload: :math:`b_j \leftarrow b_j + \gamma\,\mathrm{sign}(u_j - \mathrm{load}_j)`.
In minimisation form the token picks its k smallest :math:`c_{ij} - b_j`, which is the row subproblem of
:math:`L(p)` with :math:`p = -b`; and :math:`\mathrm{sign}(u_j - \mathrm{load}_j)` is minus the sign of the
supergradient. The bias update is therefore sign-supergradient *ascent on the dual* :math:`L`, and the
biases are (minus) the capacity prices. At the optimal prices the routing is balanced and optimal
(complementary slackness: a column with a positive price is full, every token takes its cheapest columns
at those prices), up to ties between equally priced alternatives, which a repair pass resolves.
Here the update is projected onto :math:`p \ge 0`, i.e. :math:`b_j \le 0`: a column with room left has
price zero. With balanced capacities (:math:`\sum_j u_j = \sum_i d_i`) the projection only fixes the
common shift that :math:`L` does not see.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

#: Up to this demand a row's smallest entries are kept by insertion; beyond it the row is sorted.
_INSERTION_MAX = 16


@njit(cache=True)
def _smallest(
    c: np.ndarray, i: int, shift: np.ndarray, cap: np.ndarray, k: int, val: np.ndarray, idx: np.ndarray
) -> int:
    """The k smallest c[i, j] + shift[j] over usable columns, ascending, into val/idx; returns how many exist."""
    m = c.shape[1]
    if k > _INSERTION_MAX:
        vals = np.empty(m)
        cols = np.empty(m, dtype=np.int64)
        cnt = 0
        for j in range(m):
            if cap[j] > 0 and c[i, j] < np.inf:
                vals[cnt] = c[i, j] + shift[j]
                cols[cnt] = j
                cnt += 1
        order = np.argsort(vals[:cnt], kind="mergesort")
        for t in range(min(k, cnt)):
            val[t] = vals[order[t]]
            idx[t] = cols[order[t]]
        return cnt
    cnt = 0
    for j in range(m):
        if cap[j] <= 0 or c[i, j] == np.inf:
            continue
        v = c[i, j] + shift[j]
        if cnt < k:
            t = cnt
            cnt += 1
        elif v < val[k - 1]:
            t = k - 1
        else:
            cnt += 1
            continue
        while t > 0 and val[t - 1] > v:
            val[t] = val[t - 1]
            idx[t] = idx[t - 1]
            t -= 1
        val[t] = v
        idx[t] = j
    return cnt


@njit(cache=True)
def _route(
    c: np.ndarray, demand: np.ndarray, cap: np.ndarray, p: np.ndarray, cols: np.ndarray, load: np.ndarray
) -> float:
    """Every row takes its d_i columns of smallest c + p (into ``cols``, flat by row); returns L(p).

    L(p) is +inf when some row has fewer usable columns than its demand (then the problem is infeasible).
    """
    n = c.shape[0]
    kmax = 1
    for i in range(n):
        kmax = max(kmax, demand[i])
    val = np.empty(kmax)
    idx = np.empty(kmax, dtype=np.int64)
    load[:] = 0
    total = 0.0
    pos = 0
    for i in range(n):
        k = demand[i]
        if k == 0:
            continue
        if _smallest(c, i, p, cap, k, val, idx) < k:
            return np.inf
        for t in range(k):
            total += val[t]
            cols[pos + t] = idx[t]
            load[idx[t]] += 1
        pos += k
    for j in range(c.shape[1]):
        total -= cap[j] * p[j]
    return total


def route(c: np.ndarray, demand: np.ndarray, cap: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Each row's cheapest columns at prices p (flat by row), the column loads, and L(p)."""
    cols = np.empty(int(demand.sum()), dtype=np.int64)
    load = np.zeros(c.shape[1], dtype=np.int64)
    value = _route(c, demand.astype(np.int64), cap.astype(np.int64), p.astype(np.float64), cols, load)
    return cols, load, float(value)


def dual_value(c: np.ndarray, demand: np.ndarray, cap: np.ndarray, p: np.ndarray) -> float:
    """L(p) of the module docstring: a lower bound on the optimum for any p >= 0 (+inf if infeasible)."""
    return route(c, demand, cap, np.maximum(np.asarray(p, dtype=np.float64), 0.0))[2]


def subgradient_bound(
    c: np.ndarray, demand: np.ndarray, cap: np.ndarray, target: float, iterations: int = 30
) -> tuple[float, np.ndarray, float]:
    """A cheap lower bound: projected supergradient ascent on L from p = 0 with Polyak steps.

    ``target`` is the objective of a known solution (an upper bound on max L). Returns the best L
    found, its prices and L(0), the 'row minimum' bound that ignores capacities.
    """
    d = demand.astype(np.int64)
    u = cap.astype(np.int64)
    p = np.zeros(c.shape[1])
    best, best_p, first = -np.inf, p.copy(), None
    theta = 1.0
    for _ in range(iterations):
        _, load, value = route(c, d, u, p)
        if first is None:
            first = value
        if value > best:
            best, best_p = value, p.copy()
        else:
            theta /= 2  # no progress: shorten the step
        g = (load - u).astype(np.float64)
        g[(p <= 0) & (g < 0)] = 0.0  # the projection onto p >= 0 removes these directions
        norm = float(g @ g)
        if norm == 0.0 or target - best <= 1e-12 * max(1.0, abs(target)):
            break
        p = np.maximum(0.0, p + theta * (target - value) / norm * g)
    return float(best), best_p, float(first if first is not None else best)


@dataclass(frozen=True)
class Balancing:
    """What aux-loss-free balancing ended with.

    ``bias`` is the last bias vector b (routing cost c - b), ``cols`` the routing at ``bias`` (flat by
    row, before any repair), ``overflow`` the rows above capacity summed over columns, ``bound`` the
    best L(-b) seen over the iterations and ``bound_bias`` the biases that gave it.
    """

    bias: np.ndarray
    cols: np.ndarray
    load: np.ndarray
    overflow: int
    bound: float
    bound_bias: np.ndarray


@njit(cache=True)
def _balance(
    c: np.ndarray, demand: np.ndarray, cap: np.ndarray, iterations: int, step: float, b: np.ndarray, best_b: np.ndarray
) -> float:
    m = c.shape[1]
    cols = np.empty(demand.sum(), dtype=np.int64)
    load = np.zeros(m, dtype=np.int64)
    p = np.empty(m)
    best = -np.inf
    for _ in range(iterations):
        for j in range(m):
            p[j] = -b[j]
        value = _route(c, demand, cap, p, cols, load)
        if value > best:
            best = value
            best_b[:] = b
        for j in range(m):
            # sign-supergradient ascent on L(p), written on b = -p, projected onto b <= 0 (p >= 0)
            if load[j] > cap[j]:
                b[j] -= step
            elif load[j] < cap[j]:
                b[j] = min(0.0, b[j] + step)
    return best


def balance(c: np.ndarray, demand: np.ndarray, cap: np.ndarray, iterations: int, step: float) -> Balancing:
    """Run ``iterations`` aux-loss-free bias updates of size ``step`` from b = 0; route at the final b."""
    d = demand.astype(np.int64)
    u = cap.astype(np.int64)
    b = np.zeros(c.shape[1])
    best_b = b.copy()
    best = _balance(c, d, u, int(iterations), float(step), b, best_b) if iterations > 0 else -np.inf
    cols, load, value = route(c, d, u, -b)
    if value > best:
        best, best_b = value, b.copy()
    overflow = int(np.maximum(load - u, 0).sum())
    return Balancing(b, cols, load, overflow, float(best), best_b)


@njit(cache=True)
def _evict(cb: np.ndarray, demand: np.ndarray, cap: np.ndarray, cols: np.ndarray, cnt: np.ndarray) -> None:
    """Empty each column down to its capacity, evicting the rows that lose least by moving.

    A row's loss is the biased cost of its best column it does not hold (room or not) minus that of this
    one. Evicted entries are dropped from the row's list (``cnt`` counts what is left, packed at its front).
    """
    n, m = cb.shape
    start = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        start[i + 1] = start[i] + demand[i]
    load = np.zeros(m, dtype=np.int64)
    for t in range(start[n]):
        load[cols[t]] += 1
    row_of = np.empty(start[n], dtype=np.int64)
    for i in range(n):
        row_of[start[i] : start[i + 1]] = i
    for j in range(m):
        excess = load[j] - cap[j]
        if excess <= 0:
            continue
        where = np.flatnonzero(cols[: start[n]] == j)
        loss = np.empty(len(where))
        for q in range(len(where)):
            i = row_of[where[q]]
            best = np.inf
            for j2 in range(m):
                if cap[j2] == 0 or cb[i, j2] >= best:
                    continue
                mine = False
                for t in range(start[i], start[i + 1]):
                    mine = mine or cols[t] == j2
                if not mine:
                    best = cb[i, j2]
            loss[q] = best - cb[i, j]
        for q in np.argsort(loss, kind="mergesort")[:excess]:
            cols[where[q]] = -1
    for i in range(n):
        k = start[i]
        for t in range(start[i], start[i + 1]):
            if cols[t] >= 0:
                cols[k] = cols[t]
                k += 1
        cnt[i] = k - start[i]
        for t in range(k, start[i + 1]):
            cols[t] = -1


def evict_overflow(
    cb: np.ndarray, demand: np.ndarray, cap: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A copy of the routing ``cols`` (flat by row) with every column within capacity, and each row's count."""
    out = cols.astype(np.int64).copy()
    cnt = np.zeros(cb.shape[0], dtype=np.int64)
    _evict(cb, demand.astype(np.int64), cap.astype(np.int64), out, cnt)
    return out, cnt
