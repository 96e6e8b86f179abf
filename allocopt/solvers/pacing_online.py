r"""Adaptive pacing (Balseiro and Gur) for an agency bidding for n budgeted clients in repeated second-price auctions.

Balseiro, S. R. and Gur, Y., "Learning in Repeated Auctions with Budgets: Regret Minimization and Equilibrium",
Management Science 65(9), 2019: each budget-constrained bidder keeps a multiplier :math:`\mu \in [0, \bar\mu]`,
bids its value shaded by :math:`1 + \mu` (never more than the budget it has left), and moves :math:`\mu` by a
subgradient step on the budget constraint. Here one agency runs that rule for every client at once:

for each auction t in arrival order, with :math:`\rho_i = B_i / T` (client i's budget per auction),

1. client i's paced bid is :math:`b_{ti} = \min\big(v_{ti} / (1 + \mu_i),\ R_i\big)`, with :math:`R_i` the
   budget it has left (the cap of Balseiro and Gur: a client whose remaining budget is below the price
   cannot reach the price, so it cannot win, and it never blocks another client that could);
2. the agency enters its highest paced bid (lowest client index on ties; a bid of 0 is not entered); it wins
   iff that bid is :math:`\ge p_t`, and then the client pays :math:`p_t` (second price);
3. every client updates :math:`\mu_i \leftarrow \min\big(\max(\mu_i - \varepsilon_i (\rho_i - z_{ti}),\ 0),\
   \bar\mu\big)`, with :math:`z_{ti}` its spend in auction t (:math:`p_t` for the winner, else 0).

The loop is compiled (numba): 10^6 auctions x 10 clients take well under a second. Solvers here take numpy
arrays; they never see JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

__all__ = ["PacingRun", "adaptive_pacing", "checkpoint_times", "cumulative_spend"]


@dataclass(frozen=True)
class PacingRun:
    r"""What adaptive pacing did.

    ``winner``: T client indices (-1: no win); ``spend``: each client's total spend; ``multipliers``: each
    client's final :math:`\mu_i`; ``checkpoints``: auction counts k (after the first k auctions) at which
    ``spend_at`` (K x n cumulative spend) and ``multipliers_at`` (K x n) were recorded.
    """

    winner: np.ndarray
    spend: np.ndarray
    multipliers: np.ndarray
    checkpoints: np.ndarray
    spend_at: np.ndarray
    multipliers_at: np.ndarray


def checkpoint_times(T: int, count: int = 20) -> np.ndarray:
    """``count`` evenly spaced auction counts 1..T (always ending at T), distinct and increasing."""
    if T <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.ceil(np.linspace(T / count, T, count)).astype(np.int64).clip(1, T))


def adaptive_pacing(
    values: np.ndarray,
    prices: np.ndarray,
    budgets: np.ndarray,
    step: np.ndarray | float,
    mu_max: float,
    mu_init: np.ndarray | float = 0.0,
    checkpoints: np.ndarray | None = None,
) -> PacingRun:
    r"""Run the pacing rule of the module docstring over the auctions in order.

    ``step`` (:math:`\varepsilon`, per client or one for all) and ``mu_init`` (the starting multipliers) are
    clipped like the multipliers, to :math:`[0, \bar\mu]` with :math:`\bar\mu` = ``mu_max``.
    """
    v = np.ascontiguousarray(values, dtype=np.float64)
    p = np.ascontiguousarray(prices, dtype=np.float64)
    b = np.ascontiguousarray(budgets, dtype=np.float64)
    T, n = v.shape
    eps = np.broadcast_to(np.asarray(step, dtype=np.float64), (n,)).copy()
    mu0 = np.clip(np.broadcast_to(np.asarray(mu_init, dtype=np.float64), (n,)), 0.0, mu_max).copy()
    marks = checkpoint_times(T) if checkpoints is None else np.asarray(checkpoints, dtype=np.int64)
    winner, spend, mu, spend_at, mu_at = _pace(v, p, b, eps, float(mu_max), mu0, marks)
    return PacingRun(winner, spend, mu, marks, spend_at, mu_at)


@numba.njit(cache=True)
def _pace(
    v: np.ndarray,
    p: np.ndarray,
    b: np.ndarray,
    eps: np.ndarray,
    mu_max: float,
    mu0: np.ndarray,
    marks: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    T, n = v.shape
    winner = np.full(T, -1, dtype=np.int64)
    left = b.copy()
    spend = np.zeros(n)
    rho = b / T
    mu = mu0.copy()
    K = marks.shape[0]
    spend_at = np.zeros((K, n))
    mu_at = np.zeros((K, n))
    k = 0
    for t in range(T):
        price = p[t]
        best = -1
        best_bid = 0.0
        for i in range(n):
            bid = v[t, i] / (1.0 + mu[i])
            if bid > left[i]:
                bid = left[i]
            if bid > best_bid:
                best_bid = bid
                best = i
        if best >= 0 and best_bid >= price:
            winner[t] = best
            # best_bid <= left[best] and price <= best_bid, so left stays >= 0 in floating point too
            left[best] -= price
            spend[best] += price
        else:
            best = -1
        for i in range(n):
            z = price if i == best else 0.0
            m = mu[i] - eps[i] * (rho[i] - z)
            mu[i] = min(max(m, 0.0), mu_max) if m == m else 0.0  # an infinite step times a zero gap is NaN
        while k < K and marks[k] == t + 1:
            spend_at[k, :] = spend
            mu_at[k, :] = mu
            k += 1
    return winner, spend, mu, spend_at, mu_at


def cumulative_spend(prices: np.ndarray, winner: np.ndarray, n: int, checkpoints: np.ndarray) -> np.ndarray:
    """K x n: each client's total spend over the first k auctions, for each k in ``checkpoints``.

    Works for any winner vector (the hindsight optimum's too), so that pacing's spend can be plotted against it.
    """
    p = np.asarray(prices, dtype=np.float64)
    w = np.asarray(winner, dtype=np.int64)
    marks = np.asarray(checkpoints, dtype=np.int64)
    out = np.zeros((len(marks), n))
    for i in range(n):
        c = np.concatenate([[0.0], np.cumsum(np.where(w == i, p, 0.0))])
        out[:, i] = c[marks]
    return out
