r"""The naive AIGC placement rule: rank ads by value x best click rate, each takes its best free position.

Ads are taken in order of :math:`v_i \max_k c_{ik}` (ties: lower index first); each takes the free position
where it gets the most clicks (ties: lower position first), unless that is worth nothing (then it is skipped
and uses no position), until L ads are shown or no position is free. In the separable model this is exactly
the rank-by-score rule; with creative-specific click rates it can lose: an ad that is best everywhere takes the
position another ad needs most (see ``instances/position_auction/greedy-loses.json``).
"""

from __future__ import annotations

import numpy as np


def greedy_positions(values: np.ndarray, clicks: np.ndarray, allowed: np.ndarray, cap: int) -> np.ndarray:
    """Slot per bidder (-1: not shown) under the rule above; ``clicks`` is n x K."""
    n, k_count = clicks.shape
    slot = np.full(n, -1, dtype=np.int64)
    cap = min(cap, k_count)
    if n == 0 or cap == 0:
        return slot
    key = values * clicks.max(axis=1)
    idx = np.flatnonzero(allowed & (key > 0))
    order = idx[np.lexsort((idx, -key[idx]))]
    free = np.ones(k_count, dtype=bool)
    shown = 0
    for i in order:
        row = np.where(free, clicks[i], -1.0)
        k = int(np.argmax(row))  # first maximum: the lower position on ties
        if row[k] <= 0:
            continue
        slot[i] = k
        free[k] = False
        shown += 1
        if shown == cap:
            break
    return slot


def greedy_critical(
    values: np.ndarray, clicks: np.ndarray, allowed: np.ndarray, cap: int, slot: np.ndarray, reserve: float
) -> np.ndarray:
    r"""Per-impression critical-value (Myerson) payments of the greedy's allocation ``slot``.

    The greedy is monotone in a bidder's own bid: bidding more moves it earlier, where the free positions are a
    superset, so its clicks :math:`x_i(z)` never fall as its bid z rises. The truthful price is
    :math:`p_i = v_i x_i(v_i) - \int_r^{v_i} x_i(z)\,dz`: the sum, over every click level it would lose by
    bidding less, of the bid at which it loses it. With the others in greedy order, bidder i bidding z comes
    after exactly those whose key exceeds :math:`z \max_k c_{ik}`, and then gets the best position they left
    free (nothing once ``cap`` ads are placed); so :math:`x_i` is found by running the greedy on the others once,
    reading i's best free click rate before each of them.
    """
    n, k_count = clicks.shape
    cap = min(cap, k_count)
    pay = np.zeros(n)
    key = values * clicks.max(axis=1) if k_count else np.zeros(n)
    idx = np.flatnonzero(allowed & (key > 0))
    order = idx[np.lexsort((idx, -key[idx]))]
    for i in np.flatnonzero(slot >= 0):
        top = float(clicks[i].max())
        free = np.ones(k_count, dtype=bool)
        placed = 0
        upper = float(values[i])  # the integral over [reserve, upper] is still to do
        integral = 0.0

        def best_free(row: np.ndarray, free: np.ndarray = free) -> tuple[int, float]:
            masked = np.where(free, row, -1.0)
            k = int(np.argmax(masked))
            return k, float(masked[k])

        for j in order:
            if j == i:
                continue
            x = best_free(clicks[i])[1] if placed < cap else 0.0
            if x <= 0:
                upper = reserve  # nothing more to collect below this point
                break
            z = float(key[j]) / top  # below this bid, j is placed before i
            if z < upper:
                low = max(z, reserve)
                integral += x * (upper - low)
                upper = low
                if upper <= reserve:
                    break
            k, c = best_free(clicks[j])
            if c > 0:
                free[k] = False
                placed += 1
        if upper > reserve:  # the others ran out: i keeps its best free position down to the reserve
            x = best_free(clicks[i])[1] if placed < cap else 0.0
            integral += max(x, 0.0) * (upper - reserve)
        own = float(values[i] * clicks[i, slot[i]])
        pay[i] = min(max(own - integral, reserve * float(clicks[i, slot[i]])), own)
    return pay
