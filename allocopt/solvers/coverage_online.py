r"""Online budgeted coverage: the ZCL threshold composer, components decided one at a time in arrival order.

The online knapsack composer of Yuan et al. ("Automated Composition of Agents: A Knapsack Approach for Agentic
Component Selection", arXiv:2510.16499, 2025) meets candidate components one after another, tests each, and
admits it irrevocably when its value per price clears the threshold of Zhou, Chakrabarty and Lukose (WINE 2008)
at the fraction of the budget already spent. Here a component's value is what it would add: its *marginal
coverage*, the weight of its skills that the components admitted so far do not cover,

.. math::

    g_i = \sum_{s \in S_i \setminus \bigcup_{j \text{ admitted}} S_j} w_s, \qquad
    \text{admit } i \iff \text{spent} + c_i \le B \;\text{ and }\; g_i / c_i \;\ge\; \psi(z),
    \quad z = \text{spent} / B,

with :math:`\psi(z) = \max(L, (U e / L)^z (L / e))`, the same threshold (the same function,
``allocopt.solvers.online_knapsack.zcl_psi``) as the knapsack's ``online_zcl``: flat at L up to
:math:`z = 1 / (1 + \ln(U/L))`, U at a full budget. L and U bound the value per cost of the components the
composer expects. A component of cost 0 is admitted when it adds weight (it costs nothing); one that adds no
weight never is. Ties are admitted (``>=``).

With disjoint skill sets (a plain 0/1 knapsack) this is exactly the knapsack's ``online_zcl`` on values
:math:`\sum_{s \in S_i} w_s`. ZCL's competitive ratio :math:`1 + \ln(U/L)` is proven for the knapsack with items
small against the budget; overlapping skills make values shrink as components are admitted, for which no such
guarantee is claimed here: the competitive ratio is measured against the offline optimum.
"""

from __future__ import annotations

import math

import numpy as np

from allocopt.solvers.online_knapsack import zcl_psi


def zcl_cover(
    costs: np.ndarray, ptr: np.ndarray, idx: np.ndarray, weights: np.ndarray, budget: float, L: float, U: float
) -> tuple[np.ndarray, np.ndarray]:
    """The ZCL composer on components in arrival order: (0/1 decisions as int64, the marginal weight each had).

    Never exceeds ``budget``; ``0 < L <= U`` (``zcl_psi`` raises ``ValueError`` otherwise).
    """
    zcl_psi(0.0, L, U)  # validates L and U once, before any decision
    costs = np.asarray(costs, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    n = len(costs)
    covered = np.zeros(len(weights), dtype=bool)
    take = np.zeros(n, dtype=np.int64)
    marginal = np.zeros(n)
    spent = 0.0
    budget = float(budget)
    for i in range(n):  # inherently sequential: each decision changes the next component's marginal weight
        mine = idx[ptr[i] : ptr[i + 1]]
        new = mine[~covered[mine]]
        g = math.fsum(weights[new].tolist())
        marginal[i] = g
        c = float(costs[i])
        if g <= 0.0:
            continue
        if c > 0.0:
            if spent + c > budget:
                continue  # does not fit: never exceed the budget
            if g / c < zcl_psi(min(spent / budget, 1.0), L, U):
                continue
        take[i] = 1
        spent += c
        covered[new] = True
    return take, marginal
