r"""Upper bounds on the Eisenberg-Gale optimum from any price vector (weak duality), for both utility kinds.

For prices :math:`p \ge 0` let :math:`g_i(p)` be buyer i's price of one unit of utility: linear,
:math:`\beta_i(p) = \min_{j: U_{ij} > 0} p_j / U_{ij}`; Leontief, :math:`c_i(p) = \sum_j a_{ij} p_j`. The EG dual
value at p is :math:`s^\top p - \sum_i B_i \log g_i(p) + \sum_i (B_i \log B_i - B_i)` (see
``allocopt.models.fisher_market``). Both :math:`g_i` are homogeneous of degree 1, so the dual along the ray
:math:`t p` is smallest at :math:`t = \sum_i B_i / s^\top p`, where it equals

.. math::

    \sum_i B_i \log \frac{B_i \, s^\top p}{(\sum_k B_k)\, g_i(p)},

the EG value of the utilities the buyers could afford if prices were scaled until revenue equals the total
budget. That is the bound returned here: valid for every :math:`p` with every :math:`g_i(p) > 0`.
"""

from __future__ import annotations

import math

import numpy as np


def bound_from_unit_prices(budgets: np.ndarray, supply: np.ndarray, prices: np.ndarray, g: np.ndarray) -> float | None:
    """The rescaled dual value above, given each buyer's price of utility ``g``; None when it is +infinity."""
    # Sums rather than BLAS dot products: OpenBLAS threads a long dot, and a stalled thread costs milliseconds
    # per call on a busy machine (this runs once per proportional-response step).
    revenue = float((supply * prices).sum())
    if not revenue > 0 or not np.all(g > 0) or not np.all(np.isfinite(g)):
        return None
    total = float(budgets.sum())
    value = float((budgets * (np.log(budgets) - np.log(g))).sum()) + total * math.log(revenue / total)
    return value if math.isfinite(value) else None


def linear_price_of_utility(util: np.ndarray, prices: np.ndarray) -> np.ndarray:
    r""":math:`\beta_i = \min_{j: U_{ij} > 0} p_j / U_{ij}` for a dense n x m utility matrix."""
    best = np.zeros(util.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        # max bang-per-buck U_ij / p_j (a free good someone wants makes it +inf, and beta 0)
        for lo in range(0, util.shape[0], 4096):
            block = util[lo : lo + 4096]
            best[lo : lo + 4096] = np.where(block > 0, block / prices, 0.0).max(axis=1)
        return 1.0 / best


def linear_bound(util: np.ndarray, budgets: np.ndarray, supply: np.ndarray, prices: np.ndarray) -> float | None:
    """Upper bound on EG for linear utilities from unit prices ``prices`` (None if a wanted good is free)."""
    prices = np.clip(np.asarray(prices, dtype=np.float64), 0.0, None)
    return bound_from_unit_prices(budgets, supply, prices, linear_price_of_utility(util, prices))


def leontief_bound(need: np.ndarray, budgets: np.ndarray, supply: np.ndarray, prices: np.ndarray) -> float | None:
    """Upper bound on EG for Leontief utilities (``need[i, j]`` = a_ij) from unit prices ``prices``."""
    prices = np.clip(np.asarray(prices, dtype=np.float64), 0.0, None)
    return bound_from_unit_prices(budgets, supply, prices, need @ prices)
