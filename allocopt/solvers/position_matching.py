r"""Max-weight bipartite matching of bidders to positions with at most L edges, and re-solves for VCG.

Input: an n x K matrix of weights :math:`w_{ik} \ge 0` (value per impression of bidder i in position k) and a
mask of the bidders allowed at all.

**Pruning (exact).** Some optimal matching puts in every position k one of the K bidders with the largest
:math:`w_{ik}`: if position k held another bidder i, at most K-1 of those K are matched elsewhere, so one of
them, j, is free and :math:`w_{jk} \ge w_{ik}`; moving k to j loses nothing and keeps the count. So only the
union of the per-column top K (at most :math:`K^2` bidders) takes part. For re-solves that change one bidder
(VCG), the top K+1 of each column are kept, which contain the top K without any one bidder.

**The cap (exact).** Positions are rows, and the columns are the candidates plus :math:`K - L` "empty"
columns of weight :math:`M > \max w` each. Every position is assigned (all weights are >= 0, so a full
assignment loses nothing), and an optimal assignment uses every empty column (otherwise moving a position
from a bidder to an unused empty column gains :math:`M - w > 0`), so at most L bidders are matched; among
assignments that do, the objective is the welfare minus a constant. scipy's ``linear_sum_assignment`` (a
shortest augmenting path method, exact) solves the K x (c + K - L) problem.

**LP bound.** ``lp_value`` solves the LP relaxation with HiGHS (scipy's ``linprog``) on the candidates:
its value equals the optimum (the problem is a min-cost flow, so the LP has an integral optimum), an upper
bound independent of the combinatorial solve for the greedy heuristic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment, linprog


def top_edges(weights: np.ndarray, allowed: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """(bidder, position) pairs: each position's ``depth`` largest positive weights among allowed bidders.

    Ties at the boundary go to the lower index (stable sort), so the set is deterministic.
    """
    n, k_count = weights.shape
    if n == 0 or k_count == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    usable = np.where(allowed[:, None] & (weights > 0), weights, -1.0)
    depth = min(depth, n)
    if depth < n:
        # argpartition narrows each column to a superset of its top `depth` (ties at the cut included by value)
        # before the stable sort, which keeps large n cheap.
        cut = -np.partition(-usable, depth - 1, axis=0)[depth - 1]
        rows = np.flatnonzero((usable >= cut[None, :]).any(axis=1))
        sub = usable[rows]
    else:
        rows, sub = np.arange(n), usable
    order = np.argsort(-sub, axis=0, kind="stable")[:depth]
    top = np.take_along_axis(sub, order, axis=0) > 0
    cols = np.broadcast_to(np.arange(k_count), order.shape)
    return rows[order[top]], cols[top]


def candidates(weights: np.ndarray, allowed: np.ndarray, depth: int) -> np.ndarray:
    """Sorted indices of the bidders among the ``depth`` largest positive weights of some position."""
    return np.unique(top_edges(weights, allowed, depth)[0])


@dataclass(frozen=True)
class Matching:
    """``slot[i]`` for each candidate row of the weights given (-1: unmatched), and the matched weight."""

    slot: np.ndarray
    value: float


def max_weight_capped(weights: np.ndarray, cap: int) -> Matching:
    """Exact max-weight matching of the rows of ``weights`` (c x K, >= 0) to columns with at most ``cap`` edges.

    Zero-weight edges are dropped from the answer (they add nothing and would only use up the cap).
    """
    c, k_count = weights.shape
    slot = np.full(c, -1, dtype=np.int64)
    cap = min(cap, k_count, c)
    if c == 0 or cap == 0:
        return Matching(slot, 0.0)
    empties = k_count - cap
    cost = np.empty((k_count, c + empties))
    cost[:, :c] = -weights.T
    if empties:
        big = 2.0 * float(weights.max()) + 1.0
        cost[:, c:] = -big
    rows, cols = linear_sum_assignment(cost)
    real = cols < c
    pos, who = rows[real], cols[real]
    keep = weights[who, pos] > 0
    slot[who[keep]] = pos[keep]
    return Matching(slot, float(weights[who[keep], pos[keep]].sum()))


def solve_positions(
    weights: np.ndarray, allowed: np.ndarray, cap: int, depth: int | None = None
) -> tuple[np.ndarray, float, np.ndarray]:
    """Optimal slot per bidder (-1: not shown) of the full n x K problem, its welfare, and the candidates used.

    ``depth`` (default K) is how many per column are kept; pass K + 1 to reuse the candidates for VCG re-solves.
    """
    n, k_count = weights.shape
    cand = candidates(weights, allowed, k_count if depth is None else depth)
    match = max_weight_capped(weights[cand], cap)
    slot = np.full(n, -1, dtype=np.int64)
    slot[cand] = match.slot
    return slot, match.value, cand


def vcg_by_resolving(
    weights: np.ndarray,
    slot: np.ndarray,
    welfare: float,
    cand: np.ndarray,
    cap: int,
    reserve_weights: np.ndarray | None,
) -> tuple[np.ndarray, int]:
    r"""Per-impression VCG payment of every bidder by re-solving once per shown bidder, and the number of re-solves.

    ``cand`` must hold each column's top K+1 (``solve_positions(..., depth=K + 1)``). Shown bidder i pays
    :math:`F_i - (W - w_i)`, where W is the optimal welfare, :math:`w_i` i's part of it, and :math:`F_i` the optimal
    welfare with i's row replaced by ``reserve_weights[i]`` (i bidding exactly the reserve: the truthful price of
    the rule "welfare-maximize among bidders at or above the reserve"), or with i removed when
    ``reserve_weights`` is None (plain Clarke pivot). The result is clamped to
    :math:`[r c_i, w_i]`, where both ends hold exactly and only rounding can cross them.
    """
    n = weights.shape[0]
    pay = np.zeros(n)
    sub = weights[cand].copy()
    local = {int(b): j for j, b in enumerate(cand)}
    resolves = 0
    for i in np.flatnonzero(slot >= 0):
        j = local[int(i)]
        saved = sub[j].copy()
        sub[j] = 0.0 if reserve_weights is None else reserve_weights[i]
        other = max_weight_capped(sub, cap).value
        sub[j] = saved
        resolves += 1
        own = float(weights[i, slot[i]])
        floor = 0.0 if reserve_weights is None else float(reserve_weights[i, slot[i]])
        pay[i] = min(max(other - (welfare - own), floor), own)
    return pay, resolves


def lp_value(weights: np.ndarray, allowed: np.ndarray, cap: int) -> float | None:
    """Optimal value of the matching LP (max weight, each row and column at most once, at most ``cap`` edges).

    Solved by HiGHS on the edges from each position to its top K bidders: by the pruning argument some optimal
    matching uses only those, and the LP is integral, so its value there is its value on the whole instance.
    None when HiGHS does not report an optimum.
    """
    k_count = weights.shape[1]
    ii, kk = top_edges(weights, allowed, k_count)
    if len(ii) == 0:
        return 0.0
    bidders, ii = np.unique(ii, return_inverse=True)
    e = len(ii)
    cols = np.arange(e)
    a_rows = sparse.coo_matrix((np.ones(e), (ii, cols)), shape=(len(bidders), e))
    a_cols = sparse.coo_matrix((np.ones(e), (kk, cols)), shape=(k_count, e))
    a_cap = sparse.coo_matrix(np.ones((1, e)))
    a = sparse.vstack([a_rows, a_cols, a_cap]).tocsr()
    b = np.concatenate([np.ones(len(bidders)), np.ones(k_count), [float(cap)]])
    res = linprog(-weights[bidders[ii], kk], A_ub=a, b_ub=b, bounds=(0, 1), method="highs")
    if res.status != 0:
        return None
    return float(-res.fun)
