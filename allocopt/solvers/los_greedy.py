r"""The Lehmann-O'Callaghan-Shoham greedy for combinatorial auctions, and its critical-value payments.

Bids are ranked by :math:`v_j / \sqrt{|S_j|}` (value per square root of bundle size; :math:`v_j` is the price less
the bundle's reserve), ties by bid index, and accepted in that order when they fit: every good of the bundle has
a unit left and, under xor bidding, the bidder has not won yet. Bids with :math:`v_j \le 0` are never accepted.
For single-minded bidders (one bid each, supply 1) this is a :math:`\sqrt{G}`-approximation (Lehmann, O'Callaghan
and Shoham, JACM 2002), and it is monotone for any supply: moving a bid earlier in the ranking only gives it more
room, so each winner has a *critical value*, the least bid with which it still wins.

Critical value of winner i: run the greedy without i; the first accepted bid j after whose acceptance i no longer
fits sets it: i wins exactly when it ranks before j, i.e. :math:`v_i / \sqrt{|S_i|} > v_j / \sqrt{|S_j|}`, so it
pays :math:`r(S_i) + \sqrt{|S_i|}\, v_j / \sqrt{|S_j|}` (its bundle's reserve when no such j exists). Paying the
critical value makes the greedy truthful for single-minded bidders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit


@njit(cache=True)
def _greedy(order, bundle_start, goods_of, supply, bidder, n_bidders, xor, skip):
    left = supply.copy()
    taken = np.zeros(n_bidders, dtype=np.bool_)
    accepted = np.zeros(bundle_start.shape[0] - 1, dtype=np.bool_)
    for j in order:
        if j == skip or (xor and taken[bidder[j]]):
            continue
        fits = True
        for k in range(bundle_start[j], bundle_start[j + 1]):
            if left[goods_of[k]] < 1:
                fits = False
                break
        if fits:
            for k in range(bundle_start[j], bundle_start[j + 1]):
                left[goods_of[k]] -= 1
            taken[bidder[j]] = True
            accepted[j] = True
    return accepted


@njit(cache=True)
def _blocker(order, bundle_start, goods_of, supply, bidder, n_bidders, xor, i):
    """The first bid accepted by the greedy without bid i after which i no longer fits; -1 if none."""
    left = supply.copy()
    taken = np.zeros(n_bidders, dtype=np.bool_)
    for j in order:
        if j == i or (xor and taken[bidder[j]]):
            continue
        fits = True
        for k in range(bundle_start[j], bundle_start[j + 1]):
            if left[goods_of[k]] < 1:
                fits = False
                break
        if not fits:
            continue
        for k in range(bundle_start[j], bundle_start[j + 1]):
            left[goods_of[k]] -= 1
        taken[bidder[j]] = True
        if xor and bidder[j] == bidder[i]:
            return j
        for k in range(bundle_start[i], bundle_start[i + 1]):
            if left[goods_of[k]] < 1:
                return j
    return -1


@dataclass(frozen=True)
class GreedyRun:
    """Accepted bids, their total value, and the ranking used (bid indices, best first)."""

    win: np.ndarray
    value: float
    order: np.ndarray
    score: np.ndarray


def ranking(value: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bids with positive value ordered by value / sqrt(size), ties by index; and every bid's score."""
    score = value / np.sqrt(np.maximum(sizes, 1))
    positive = np.flatnonzero(value > 0)
    order = positive[np.lexsort((positive, -score[positive]))]
    return order.astype(np.int64), score


def los_greedy(
    bundle_start: np.ndarray,
    goods_of: np.ndarray,
    supply: np.ndarray,
    value: np.ndarray,
    bidder: np.ndarray,
    n_bidders: int,
    xor: bool,
) -> GreedyRun:
    """The greedy of the module docstring."""
    order, score = ranking(value, np.diff(bundle_start))
    win = _greedy(
        order,
        bundle_start.astype(np.int64),
        goods_of.astype(np.int64),
        supply.astype(np.int64),
        bidder.astype(np.int64),
        n_bidders,
        xor,
        -1,
    )
    return GreedyRun(win, float(value[win].sum()), order, score)


def critical_values(
    bundle_start: np.ndarray,
    goods_of: np.ndarray,
    supply: np.ndarray,
    value: np.ndarray,
    bundle_reserve: np.ndarray,
    bidder: np.ndarray,
    n_bidders: int,
    xor: bool,
    run: GreedyRun,
) -> np.ndarray:
    """B numbers: each winning bid's critical price (the least price with which it still wins), 0 for losers."""
    sizes = np.diff(bundle_start)
    pay = np.zeros(value.shape[0])
    args = (
        run.order,
        bundle_start.astype(np.int64),
        goods_of.astype(np.int64),
        supply.astype(np.int64),
        bidder.astype(np.int64),
        n_bidders,
        xor,
    )
    for i in np.flatnonzero(run.win):
        j = _blocker(*args, int(i))
        threshold = 0.0 if j < 0 else float(run.score[j]) * float(np.sqrt(sizes[i]))
        pay[i] = bundle_reserve[i] + threshold
    return pay
