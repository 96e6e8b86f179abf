r"""Online 0/1 knapsack: threshold policies that decide each arriving item irrevocably.

Items arrive in the given order; item ``i`` has value ``v_i >= 0`` and weight ``w_i >= 0`` and the
knapsack has capacity ``C``. Both policies assume every value density ``v_i / w_i`` lies in a known
interval ``[L, U]`` (``0 < L <= U``) and admit item ``i`` iff it fits and

.. math::  v_i / w_i \;\ge\; \psi(z_i), \qquad z_i = (\text{weight admitted before } i) / C \in [0, 1],

where the threshold ``psi`` is a non-decreasing function of the utilisation ``z``. Ties are admitted
(``>=``), as in the reference implementation below. An item of zero weight and positive value costs
nothing and is always admitted; an item of zero weight and zero value is never admitted.

ZCL (Zhou, Chakrabarty, Lukose, "Budget constrained bidding in keyword auctions and online knapsack
problems", WINE 2008, LNCS 5385) uses

.. math::  \psi_{ZCL}(z) = (U e / L)^z \, (L / e)

(the same formula as ``phi`` in the reference code of Lechowicz et al. cited below; the paper's own
text was not available here to quote its equation number). It is ``L/e`` at ``z = 0``, equals ``L``
at ``z = beta* = 1 / (1 + ln(U/L))`` and ``U`` at ``z = 1``; with infinitesimal weights it is
``(1 + ln(U/L))``-competitive, the best possible. Later papers (e.g. Lechowicz et al. 2024, below)
write it piecewise, ``L`` on ``[0, beta*]`` and the exponential on ``[beta*, 1]``; this module
implements that form, ``max(L, (Ue/L)^z L/e)``. The two make identical decisions whenever densities
lie in ``[L, U]`` (the assumption of both papers); they differ only on items of density below ``L``,
which the piecewise form rejects.

Time-fair ECT (Lechowicz, Sengupta, Sun, Kamali, Hajiesmaili, "Time Fairness in Online Knapsack
Problems", ICLR 2024, algorithm ECT, which achieves alpha-conditional time-independent fairness)
keeps the threshold flat at ``L`` until utilisation
``alpha`` and is exponential afterwards:

.. math::

    \psi_\alpha(z) = \begin{cases} L & z < \alpha \\ U e^{\beta (z - 1)} & z \ge \alpha \end{cases},
    \qquad \beta = \frac{W\!\left(\frac{U (1 - \alpha)}{L \alpha}\right)}{1 - \alpha},

with ``W`` the principal branch of the Lambert W function; ``beta`` is ECT's competitive ratio
(``1 + ln(U/L)`` at ``alpha = beta*``, tending to ``U/L`` as ``alpha -> 1``). The
formula is the one of the authors' reference code (github.com/adamlechowicz/fair-knapsack,
``knapsack.py``, ``alphaFair``); the equation number of the paper could not be checked here. At
``z = alpha`` the exponential part equals ``alpha * beta * L >= L`` (a jump up from ``L`` unless
``alpha = beta*``). For ``alpha = beta*`` it reduces exactly to ZCL (``beta = 1 + ln(U/L)``). For
``alpha < beta*`` the formula would dip below ``L`` and be less competitive than ZCL, while ZCL's own
threshold is already flat on ``[0, beta*]`` (so ZCL is alpha-time-fair for every ``alpha <= beta*``);
this module therefore uses ZCL there. ``alpha = 1`` is the limit ``beta -> U/L``: a flat threshold
``L`` until the knapsack is full (``psi(1) = U``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import lambertw

__all__ = ["time_fair_psi", "time_fair_threshold", "zcl_beta", "zcl_psi", "zcl_threshold"]


def _check_bounds(L: float, U: float) -> tuple[float, float]:
    L, U = float(L), float(U)
    if not (math.isfinite(L) and math.isfinite(U)):
        raise ValueError(f"density bounds must be finite, got L={L}, U={U}")
    if not 0.0 < L <= U:
        raise ValueError(f"density bounds must satisfy 0 < L <= U, got L={L}, U={U}")
    return L, U


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:  # also rejects NaN
        raise ValueError(f"fairness parameter alpha must lie in [0, 1], got {alpha}")
    return alpha


def _check_z(z: float) -> float:
    z = float(z)
    if not 0.0 <= z <= 1.0:
        raise ValueError(f"utilisation z must lie in [0, 1], got {z}")
    return z


def zcl_beta(L: float, U: float) -> float:
    """Utilisation ``1 / (1 + ln(U/L))`` up to which ZCL's threshold is flat at ``L``."""
    L, U = _check_bounds(L, U)
    return 1.0 / (1.0 + math.log(U) - math.log(L))


def zcl_psi(z: float, L: float, U: float) -> float:
    """ZCL threshold ``max(L, (U e / L)^z L / e)`` at utilisation ``z`` in ``[0, 1]``.

    ``psi(0) = L``, ``psi(1) = U``; flat at ``L`` up to ``z = 1 / (1 + ln(U/L))``.
    """
    L, U = _check_bounds(L, U)
    z = _check_z(z)
    if z >= 1.0:
        return U  # exact endpoint, free of rounding in exp/log
    return _zcl_exp(z, L, U)


def _zcl_exp(z: float, L: float, U: float) -> float:
    # (Ue/L)^z (L/e) = exp(ln L + z (1 + ln U - ln L) - 1): logs, so that a huge U/L cannot overflow
    log_l = math.log(L)
    return max(L, math.exp(log_l + z * (1.0 + math.log(U) - log_l) - 1.0))


def time_fair_psi(z: float, L: float, U: float, alpha: float) -> float:
    """ECT threshold of Lechowicz et al. (ICLR 2024) at utilisation ``z`` (see the module docstring).

    ``L`` for ``z < alpha``; ``U exp(beta (z - 1))`` for ``z >= alpha`` with
    ``beta = W(U (1 - alpha) / (L alpha)) / (1 - alpha)``; ZCL when ``alpha <= 1 / (1 + ln(U/L))``.
    """
    L, U = _check_bounds(L, U)
    alpha = _check_alpha(alpha)
    z = _check_z(z)
    beta = _ect_beta(L, U, alpha)
    if beta is None:
        return zcl_psi(z, L, U)
    if z < alpha:
        return L
    if z >= 1.0:
        return U
    return _ect_exp(z, L, U, beta)


def _ect_exp(z: float, L: float, U: float, beta: float) -> float:
    # U e^{beta (z - 1)} in logs (no underflow for huge U/L); >= alpha beta L >= L for z >= alpha > beta*,
    # the max only absorbs rounding
    return max(L, math.exp(math.log(U) + beta * (z - 1.0)))


def _ect_beta(L: float, U: float, alpha: float) -> float | None:
    """ECT's exponent (its competitive ratio), or None when ZCL is used instead (alpha <= beta*)."""
    log_ratio = math.log(U) - math.log(L)
    if alpha <= 1.0 / (1.0 + log_ratio):
        return None
    if alpha >= 1.0:
        return U / L  # limit of W(x)/(1-alpha) as alpha -> 1, where W(x) ~ x = U(1-alpha)/(L alpha)
    log_x = log_ratio + math.log1p(-alpha) - math.log(alpha)
    if log_x < 700.0:
        w = float(lambertw(math.exp(log_x), k=0).real)
    else:  # x overflows a float: solve w + ln w = ln x by Newton from w = ln x (converges in a few steps)
        w = log_x
        for _ in range(50):
            step = (w + math.log(w) - log_x) / (1.0 + 1.0 / w)
            w -= step
            if abs(step) <= 1e-15 * w:
                break
    return w / (1.0 - alpha)


def _as_items(values: np.ndarray, weights: np.ndarray, capacity: float) -> tuple[np.ndarray, np.ndarray, float]:
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if v.ndim != 1 or w.shape != v.shape:
        raise ValueError(f"values and weights must be 1-D of equal length, got shapes {v.shape} and {w.shape}")
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(w))):
        raise ValueError("values and weights must be finite")
    if np.any(v < 0) or np.any(w < 0):
        raise ValueError("values and weights must be non-negative")
    capacity = float(capacity)
    if not (math.isfinite(capacity) and capacity >= 0.0):
        raise ValueError(f"capacity must be finite and non-negative, got {capacity}")
    return v, w, capacity


def _run_threshold(v: np.ndarray, w: np.ndarray, capacity: float, psi: Callable[[float], float]) -> np.ndarray:
    """Simulate the online policy: one pass in arrival order (inherently sequential)."""
    take = np.zeros(v.shape[0], dtype=np.int64)
    used = 0.0
    for i, (vi, wi) in enumerate(zip(v.tolist(), w.tolist(), strict=True)):
        if wi == 0.0:
            if vi > 0.0:
                take[i] = 1  # free value: admitting it cannot hurt any later decision
            continue
        if used + wi > capacity:
            continue  # does not fit: never exceed the capacity
        z = min(used / capacity, 1.0)  # capacity > 0 here, else nothing of positive weight fits
        if vi / wi >= psi(z):
            take[i] = 1
            used += wi
    return take


def zcl_threshold(values: np.ndarray, weights: np.ndarray, capacity: float, L: float, U: float) -> np.ndarray:
    """ZCL online threshold policy; returns the 0/1 decisions (int64) in arrival order.

    Admits item ``i`` iff it fits and ``v_i / w_i >= zcl_psi(z_i, L, U)`` where ``z_i`` is the
    utilisation before it. Never exceeds ``capacity``.
    """
    L, U = _check_bounds(L, U)
    v, w, capacity = _as_items(values, weights, capacity)
    # zcl_psi without per-item validation; z < 1 whenever an item of positive weight still fits
    return _run_threshold(v, w, capacity, lambda z: _zcl_exp(z, L, U))


def time_fair_threshold(
    values: np.ndarray, weights: np.ndarray, capacity: float, L: float, U: float, alpha: float
) -> np.ndarray:
    """Time-fair ECT online threshold policy (Lechowicz et al., ICLR 2024); 0/1 decisions (int64).

    Admits item ``i`` iff it fits and ``v_i / w_i >= time_fair_psi(z_i, L, U, alpha)``. The threshold
    is the same (``L``) for every item arriving while utilisation is below ``alpha``.
    """
    L, U = _check_bounds(L, U)
    alpha = _check_alpha(alpha)
    v, w, capacity = _as_items(values, weights, capacity)
    beta = _ect_beta(L, U, alpha)
    if beta is None:
        return zcl_threshold(v, w, capacity, L, U)

    def psi(z: float) -> float:
        return L if z < alpha else _ect_exp(z, L, U, beta)

    return _run_threshold(v, w, capacity, psi)
