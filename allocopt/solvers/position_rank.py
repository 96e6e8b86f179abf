r"""The separable position auction: rank by score, GSP and VCG prices in closed form, EOS equilibrium bids.

Bidder i has score :math:`s_i = q_i v_i` (quality times value per click); slot k has click rate
:math:`\alpha_k` (non-increasing); the top :math:`L` slots are usable. Eligible bidders (value at least the
per-click reserve r) are ranked by score, ties to the lower index, and the j-th takes slot j. Write
:math:`t_j` for the j-th ranked eligible score (0 past the last one) and :math:`\alpha_L = 0`. Every formula
below is per impression.

- **GSP**: the ad in slot k pays per click the next ad's score over its own quality, at least r:
  :math:`P_k = \alpha_k \max(q_{(k)} r, t_{k+1})`.
- **VCG** (the welfare the ad's presence costs the others; with a reserve, the truthful price of the
  allocation rule "rank those at or above r"):
  :math:`P_k = \sum_{j=k}^{L-1} (\alpha_j - \alpha_{j+1}) \max(q_{(k)} r, t_{j+1})`, i.e. the recursion
  :math:`P_k = (\alpha_k - \alpha_{k+1}) t_{k+1} + P_{k+1}` with every competing score floored at
  :math:`q_{(k)} r`: the reserve acts as phantom bids of r per click in every position below the ad. (Treating
  the reserve as the bid of the first excluded ad only would let the last ad pay less than r per click when
  slots stay empty.) Computed for all k at once from suffix sums of the plain recursion.
- **EOS / Varian lowest envy-free equilibrium** of GSP: the ad ranked k+1 bids
  :math:`b_{(k+1)} = P_k / (\alpha_k q_{(k+1)})` (so GSP charges the ad above it exactly its VCG price), the
  top ad and everyone below the first excluded ad bid their values. Its GSP revenue equals VCG's whenever
  those bids keep the ranking and are envy-free (``eos_consistent``, which checks Varian's conditions
  numerically): always without a reserve or with equal qualities. With a reserve and unequal qualities the
  reserve floors each payer's price in its own quality units, VCG's prices need not come from any GSP
  equilibrium, and the method then reports no bids rather than bids that are not an equilibrium.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ranking:
    """``order``: eligible bidders, best first; ``slot``: each bidder's slot (-1: not shown); ``shown`` = m."""

    order: np.ndarray
    slot: np.ndarray
    shown: int


def rank(scores: np.ndarray, eligible: np.ndarray, cap: int) -> Ranking:
    """Rank the eligible bidders by score (ties: lower index first) and give the first ``cap`` the top slots."""
    idx = np.flatnonzero(eligible)
    order = idx[np.lexsort((idx, -scores[idx]))]
    shown = min(cap, len(order))
    slot = np.full(len(scores), -1, dtype=np.int64)
    slot[order[:shown]] = np.arange(shown)
    return Ranking(order, slot, shown)


def _next_scores(scores: np.ndarray, r: Ranking, count: int) -> np.ndarray:
    """t_1..t_count: the scores ranked 1..count (0-based rank), 0 past the last eligible bidder."""
    t = np.zeros(count)
    ranked = scores[r.order[1 : count + 1]]
    t[: len(ranked)] = ranked
    return t


def gsp(scores: np.ndarray, quality: np.ndarray, ctr: np.ndarray, reserve: float, r: Ranking) -> np.ndarray:
    """Per-impression GSP payment of every bidder (0 when not shown)."""
    m = r.shown
    pay = np.zeros(len(scores))
    if m == 0:
        return pay
    who = r.order[:m]
    nxt = _next_scores(scores, r, m)  # nxt[k] = t_{k+1}
    pay[who] = ctr[:m] * np.maximum(quality[who] * reserve, nxt)
    return pay


def vcg(scores: np.ndarray, quality: np.ndarray, ctr: np.ndarray, cap: int, reserve: float, r: Ranking) -> np.ndarray:
    """Per-impression VCG payment (reserve as phantom bids, see the module docstring) of every bidder."""
    m, big_l = r.shown, cap
    pay = np.zeros(len(scores))
    if m == 0:
        return pay
    alpha = np.zeros(big_l + 1)
    alpha[:big_l] = ctr[:big_l]
    t = _next_scores(scores, r, big_l)  # t[j] = t_{j+1}, j = 0..L-1
    terms = (alpha[:big_l] - alpha[1:]) * t
    suffix = np.zeros(big_l + 1)
    suffix[:big_l] = np.cumsum(terms[::-1])[::-1]  # suffix[j] = sum_{j' >= j} terms[j']
    who = r.order[:m]
    floor = quality[who] * reserve
    # t is non-increasing: competing scores below the floor start at first[k] (at least k itself).
    first = np.searchsorted(-t, -floor, side="right")
    first = np.maximum(first, np.arange(m))
    pay[who] = suffix[:m] - suffix[first] + floor * alpha[first]
    return pay


def eos_bids(values: np.ndarray, quality: np.ndarray, ctr: np.ndarray, vcg_pay: np.ndarray, r: Ranking) -> np.ndarray:
    """Per-click bids of the EOS lowest envy-free equilibrium: the ad ranked k+1 bids P_k / (alpha_k q).

    The top ad, and every bidder below the first excluded one (and every bidder below the reserve), bids its
    value. Where alpha_k = 0 the next ad's price is immaterial and it bids its value.
    """
    bids = values.astype(np.float64).copy()
    m = r.shown
    below = r.order[1 : m + 1]  # ranks 1..m: each sets the price of the ad above it
    above = r.order[:m][: len(below)]
    a = ctr[: len(below)]
    positive = a > 0
    bids[below[positive]] = vcg_pay[above[positive]] / (a[positive] * quality[below[positive]])
    return bids


def gsp_revenue_at(bids: np.ndarray, quality: np.ndarray, ctr: np.ndarray, reserve: float, r: Ranking) -> float:
    """Revenue GSP collects when the bidders in ``r``'s order bid ``bids`` (ties kept in that order)."""
    m = r.shown
    if m == 0:
        return 0.0
    bid_scores = quality * bids
    nxt = np.zeros(m)
    ranked = bid_scores[r.order[1 : m + 1]]
    nxt[: len(ranked)] = ranked
    who = r.order[:m]
    return float(np.sum(ctr[:m] * np.maximum(quality[who] * reserve, nxt)))


def eos_consistent(
    bids: np.ndarray, values: np.ndarray, quality: np.ndarray, ctr: np.ndarray, reserve: float, r: Ranking
) -> bool:
    r"""Whether the EOS bids are an envy-free equilibrium of GSP in ``r``'s order.

    Every listed bid (the shown ads and the first excluded one) is at least the reserve, the bid scores keep
    the ranking, and no listed ad would rather have another shown slot j at that slot's current price (Varian's
    symmetric Nash conditions): :math:`\alpha_j (q_i v_i - \max(q_i r, S_{j+1}))` with :math:`S_{j+1}` the
    bid score ranked below slot j, against what ad i gets where it is (nothing, for the excluded one).
    """
    m = r.shown
    listed = r.order[: m + 1]
    scores = quality[listed] * bids[listed]
    top = float(np.abs(scores).max(initial=0.0))
    slack = 1e-12 * max(1.0, top, float(np.abs(quality * values).max(initial=0.0)))
    if not (np.all(bids[listed] >= reserve - slack) and np.all(np.diff(scores) <= slack)):
        return False
    below = np.zeros(m)
    below[: len(scores) - 1] = scores[1 : m + 1]
    alpha = ctr[:m]
    # utility[a, j]: listed ad a (rank a) in shown slot j at slot j's current price per impression.
    own = (quality[listed] * values[listed])[:, None]
    floor = (quality[listed] * reserve)[:, None]
    utility = alpha[None, :] * (own - np.maximum(floor, below[None, :]))
    current = np.array([utility[a, a] if a < m else 0.0 for a in range(len(listed))])
    return bool(np.all(utility <= current[:, None] + slack))
