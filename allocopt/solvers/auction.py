r"""Bertsekas' auction algorithm with epsilon scaling, for assignment with demands and capacities.

Costs in minimisation form: an n x m float array ``c`` with ``+inf`` on forbidden pairs, demands ``d``,
capacities ``u``. The auction works on values :math:`a_{ij} = -c_{ij}` (bidders maximize).

**Objects.** Column j is :math:`u_j` identical *slots*, each with its own price (the similar-objects
auction of Bertsekas and Castanon): a bidder for column j always bids for its cheapest slot, found at the
root of a per-column heap. If :math:`U = \sum_j u_j` exceeds :math:`N = \sum_i d_i`, U - N *dummy
persons* of value 0 for every slot take the spare slots, so every slot is assigned when the auction ends
(that keeps complementary slackness exact between scaling phases, when prices carried over are positive).

**Bidders.** Row i bids as one bidder for :math:`d_i` slots in *distinct* columns. With :math:`\pi_j` the
price of column j's cheapest slot, a row values a column it does not hold at :math:`a_{ij} - \pi_j`. A row
that is short (at the start of a phase, or after being outbid) keeps the columns it holds and bids for its
``need`` best other columns, each at :math:`a_{ij} - v_{\text{next}} + \epsilon`, where
:math:`v_{\text{next}}` is the best value it leaves out. Afterwards every held column is worth (at its own
slot's price) at least every other column minus :math:`\epsilon`: the row is in
:math:`\epsilon`-complementary slackness, and stays so while it holds them, since prices only rise. A row
never holds a column twice because it never bids for a column it holds.

**Bound.** When every row and dummy is in :math:`\epsilon`-CS, the assignment is within :math:`U\epsilon`
of optimal (each of the U persons gives up at most :math:`\epsilon`). The column prices
:math:`p_j = \pi_j - \min_k \pi_k \ge 0` also certify the Lagrangian bound :math:`L(p)`
(``balancing_prices.dual_value``), which is never weaker than objective - :math:`U\epsilon`; the method
reports the better of the two. With integer costs and :math:`\epsilon < 1/U` the auction is exact.

**Scaling.** :math:`\epsilon` starts at a fifth of the cost range and is divided by ``scaling`` each
phase; each phase restarts the assignment from scratch and keeps the column prices, which is what makes
the final small-:math:`\epsilon` phase short. A phase starts every slot of a column at the column's price
(its cheapest slot's): a slot left expensive by an earlier phase would otherwise have to be outbid up to,
:math:`\epsilon` by :math:`\epsilon`, by the dummies and rows that must fill it (a price war).

A column never takes more rows than allow it, so its slots are capped at that number (capacities in a
file may be far larger than anything that can be used).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

OK, TOO_MANY_BIDS, ROW_CANNOT_BID = 0, 1, 2


@njit(cache=True)
def _before(s: int, t: int, price: np.ndarray, owner: np.ndarray) -> bool:
    """Heap order: cheaper first; at equal price a free slot first (taking it displaces nobody)."""
    return price[s] < price[t] or (price[s] == price[t] and owner[s] < 0 <= owner[t])


@njit(cache=True)
def _sift(
    heap: np.ndarray, where: np.ndarray, lo: int, size: int, pos: int, price: np.ndarray, owner: np.ndarray
) -> None:
    """Restore the min-heap heap[lo : lo + size] of slot ids after the slot at position ``pos`` changed."""
    s = heap[lo + pos]
    while pos > 0:  # up, if it became cheaper
        parent = (pos - 1) // 2
        if not _before(s, heap[lo + parent], price, owner):
            break
        heap[lo + pos] = heap[lo + parent]
        where[heap[lo + pos]] = pos
        pos = parent
    while True:  # down, if it became dearer
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and _before(heap[lo + child + 1], heap[lo + child], price, owner):
            child += 1
        if not _before(heap[lo + child], s, price, owner):
            break
        heap[lo + pos] = heap[lo + child]
        where[heap[lo + pos]] = pos
        pos = child
    heap[lo + pos] = s
    where[s] = pos


@njit(cache=True)
def _enqueue(b: int, queue: np.ndarray, tail: int, in_queue: np.ndarray) -> int:
    if not in_queue[b]:
        queue[tail] = b
        tail = (tail + 1) % len(queue)
        in_queue[b] = True
    return tail


@njit(cache=True)
def _auction(
    a: np.ndarray,
    demand: np.ndarray,
    cap: np.ndarray,
    epsilons: np.ndarray,
    big: float,
    max_bids: int,
    cols: np.ndarray,
    slot_price: np.ndarray,
) -> tuple[int, int]:
    """Run the phases; on success write each row's columns into ``cols`` (flat by row). Returns (code, bids)."""
    n, m = a.shape
    gs = np.zeros(m + 1, dtype=np.int64)  # column j's slots are gs[j] .. gs[j+1]-1
    for j in range(m):
        gs[j + 1] = gs[j] + cap[j]
    n_slots = gs[m]
    group_of = np.empty(n_slots, dtype=np.int64)
    for j in range(m):
        group_of[gs[j] : gs[j + 1]] = j
    heap = np.arange(n_slots)  # per column, a min-heap of its slot ids (see _before)
    where = np.empty(n_slots, dtype=np.int64)  # a slot's position in its column's heap
    owner = np.full(n_slots, -1, dtype=np.int64)  # -1 free, 0..n-1 a row, n + k dummy k
    rs = np.zeros(n + 1, dtype=np.int64)  # row i holds slots held[rs[i] .. rs[i+1]-1] (-1: none)
    for i in range(n):
        rs[i + 1] = rs[i] + demand[i]
    held = np.full(rs[n], -1, dtype=np.int64)
    n_dummies = n_slots - rs[n]
    queue = np.empty(n + n_dummies + 1, dtype=np.int64)
    in_queue = np.zeros(n + n_dummies, dtype=np.bool_)
    kmax = 1
    for i in range(n):
        kmax = max(kmax, demand[i])
    top_v = np.empty(kmax + 1)
    top_j = np.empty(kmax + 1, dtype=np.int64)
    mark = np.full(m, -1, dtype=np.int64)  # >= 0: a column the bidding row holds
    bids = 0

    for eps in epsilons:
        # A new phase: everybody unassigned; each column's slots restart at its cheapest slot's price (slots
        # of a column are identical, and a column is worth what its cheapest slot costs), shifted so that
        # the cheapest column costs 0.
        owner[:] = -1
        held[:] = -1
        low = np.inf
        for j in range(m):
            if cap[j] > 0:
                pj = slot_price[gs[j] : gs[j + 1]].min()
                slot_price[gs[j] : gs[j + 1]] = pj
                low = min(low, pj)
        for s in range(n_slots):
            slot_price[s] -= low
            heap[s] = s
            where[s] = s - gs[group_of[s]]
        tail = 0
        for b in range(n + n_dummies):
            if b >= n or demand[b] > 0:
                tail = _enqueue(b, queue, tail, in_queue)
        head = 0
        while head != tail:
            b = queue[head]
            head = (head + 1) % len(queue)
            in_queue[b] = False
            bids += 1
            if bids > max_bids:
                return TOO_MANY_BIDS, bids
            if b >= n:
                # a dummy (value 0 everywhere) takes the cheapest slot, bidding up to the second cheapest + eps
                g1, p1, p2 = -1, np.inf, np.inf
                for j in range(m):
                    if cap[j] > 0:
                        p = slot_price[heap[gs[j]]]
                        if p < p1:
                            g1, p1, p2 = j, p, p1
                        elif p < p2:
                            p2 = p
                for child in range(1, min(3, cap[g1])):
                    p2 = min(p2, slot_price[heap[gs[g1] + child]])
                if p2 == np.inf:
                    p2 = p1 + big
                s = heap[gs[g1]]
                old = owner[s]
                owner[s] = b
                slot_price[s] = p2 + eps
                _sift(heap, where, gs[g1], cap[g1], 0, slot_price, owner)
            else:
                i = b
                need = 0
                for t in range(rs[i], rs[i + 1]):
                    if held[t] >= 0:
                        mark[group_of[held[t]]] = 1
                    else:
                        need += 1
                # The row keeps what it holds (each held column is still worth at least every other column
                # minus eps: prices only rose since it bid) and bids for its ``need`` best other columns.
                cnt = 0
                for j in range(m):
                    if cap[j] == 0 or a[i, j] == -np.inf or mark[j] >= 0:
                        continue
                    v = a[i, j] - slot_price[heap[gs[j]]]
                    if cnt <= need:
                        t = cnt
                        cnt += 1
                    elif v > top_v[need]:
                        t = need
                    else:
                        continue
                    while t > 0 and top_v[t - 1] < v:
                        top_v[t] = top_v[t - 1]
                        top_j[t] = top_j[t - 1]
                        t -= 1
                    top_v[t] = v
                    top_j[t] = j
                for t in range(rs[i], rs[i + 1]):
                    if held[t] >= 0:
                        mark[group_of[held[t]]] = -1
                if cnt < need:
                    return ROW_CANNOT_BID, bids  # excluded by the counting checks before the auction
                # with no column left out any price keeps eps-CS: bid high to end a price war at once
                v_next = top_v[need] if cnt > need else top_v[need - 1] - big
                old = -1
                for r in range(need):
                    j = top_j[r]
                    s = heap[gs[j]]
                    old = owner[s]
                    owner[s] = i
                    slot_price[s] = a[i, j] - v_next + eps
                    _sift(heap, where, gs[j], cap[j], 0, slot_price, owner)
                    for t in range(rs[i], rs[i + 1]):
                        if held[t] < 0:
                            held[t] = s
                            break
                    if 0 <= old < n:
                        for t in range(rs[old], rs[old + 1]):
                            if held[t] == s:
                                held[t] = -1
                    if old >= 0:
                        tail = _enqueue(old, queue, tail, in_queue)
                continue
            if 0 <= old < n:
                for t in range(rs[old], rs[old + 1]):
                    if held[t] == s:
                        held[t] = -1
            if old >= 0:
                tail = _enqueue(old, queue, tail, in_queue)
    for t in range(len(held)):
        cols[t] = group_of[held[t]]
    return OK, bids


@dataclass(frozen=True)
class AuctionResult:
    """``cols`` each row's columns (flat by row) or None; ``prices`` the column prices p_j >= 0 (minimisation
    units) when it succeeded; ``epsilon`` the last phase's epsilon; ``persons`` the U persons (rows' units
    and dummies) that the U * epsilon bound counts."""

    status: str
    cols: np.ndarray | None
    prices: np.ndarray | None
    epsilon: float
    persons: int
    phases: int
    bids: int


def epsilon_schedule(spread: float, final: float, scaling: float) -> np.ndarray:
    """spread / 5, divided by ``scaling`` each phase, ending exactly at ``final``."""
    eps = [max(spread / 5.0, final)]
    while eps[-1] > final:
        eps.append(max(eps[-1] / scaling, final))
    return np.asarray(eps, dtype=np.float64)


def auction(
    c: np.ndarray,
    demand: np.ndarray,
    cap: np.ndarray,
    eps_final: float | None = None,
    scaling: float = 5.0,
    max_bids: int | None = None,
) -> AuctionResult:
    """Run the auction of the module docstring on minimisation costs ``c`` (+inf forbidden).

    ``eps_final`` defaults to 1 / (U + 1) for integer costs (then the result is optimal) and to
    1e-7 of the cost range otherwise.
    """
    n, m = c.shape
    d = demand.astype(np.int64)
    # a column never takes more rows than allow it: no more slots than that (capacities may be huge)
    u = np.minimum(cap.astype(np.int64), np.isfinite(c).sum(axis=0))
    persons = int(u.sum())
    if persons < d.sum():
        return AuctionResult("infeasible", None, None, 0.0, persons, 0, 0)
    finite = c[np.isfinite(c)]
    spread = float(finite.max() - finite.min()) if finite.size else 0.0
    if not math.isfinite(spread) or spread * (persons + 2) > np.finfo(np.float64).max / 16:
        # Prices climb to about spread x persons: past float64's range the compiled loop would overflow.
        return AuctionResult("cost_range", None, None, 0.0, persons, 0, 0)
    if spread == 0.0:
        spread = 1.0  # all costs equal: any epsilon below 1 / U still proves optimality
    if eps_final is None:
        integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
        eps_final = 1.0 / (persons + 1) if integral else spread * 1e-7
    epsilons = epsilon_schedule(spread, float(eps_final), float(scaling))
    big = spread + epsilons[0]
    if max_bids is None:
        max_bids = 100 * (persons + n) * len(epsilons) + 1_000_000
    a = -c  # values: bidders maximize; -inf stays forbidden
    cols = np.full(int(d.sum()), -1, dtype=np.int64)
    slot_price = np.zeros(persons)
    code, bids = _auction(a, d, u, epsilons, big, int(max_bids), cols, slot_price)
    if code != OK:
        status = "too_many_bids" if code == TOO_MANY_BIDS else "error"
        return AuctionResult(status, None, None, float(epsilons[-1]), persons, len(epsilons), bids)
    # column price = its cheapest slot; shifted so the cheapest column is free (the best shift, see docstring)
    starts = np.concatenate([[0], np.cumsum(u)])
    pi = np.array([slot_price[starts[j] : starts[j + 1]].min() if u[j] > 0 else 0.0 for j in range(m)])
    used = u > 0
    if used.any():
        pi = np.where(used, pi - pi[used].min(), 0.0)
    return AuctionResult("ok", cols, pi, float(epsilons[-1]), persons, len(epsilons), bids)
