r"""Budget pacing: an agency bidding for n clients with budgets in T repeated second-price auctions.

Data: auction t (in arrival order) is worth :math:`v_{ti} \ge 0` to client i; the highest competing bid is
:math:`p_t \ge 0`, which is what a win costs (second price); client i may spend at most :math:`B_i \ge 0` over
the T auctions. The agency enters one bid per auction, for one of its clients.

**Hindsight optimum** (every auction known in advance): a generalized assignment of auctions to clients in
which an auction may also stay unassigned,

.. math::

    \max \sum_{t,i} (v_{ti} - p_t)\, x_{ti} \quad\text{s.t.}\quad
    \sum_i x_{ti} \le 1 \;\; (t = 1..T), \qquad \sum_t p_t\, x_{ti} \le B_i \;\; (i = 1..n), \qquad
    x_{ti} \in \{0, 1\}.

An optimum never takes a pair with :math:`v_{ti} \le p_t` (it adds nothing or loses) nor one with
:math:`p_t > B_i` (it cannot fit), so the MILP (``build_model``) has a variable ``win[t, i]`` only for the
*profitable* pairs :math:`v_{ti} > p_t,\ p_t \le B_i` (``model.pairs``), one ``auction[t]`` row for each
auction with two or more of them, and one ``budget[i]`` row per client over its pairs of positive price
(a free auction, :math:`p_t = 0`, costs no budget). Its LP relaxation is the *hindsight LP bound*; relaxing
the budget rows with multipliers :math:`\lambda_i \ge 0` gives, for every :math:`\lambda \ge 0` (the inner
maximum over the clients i of profitable pairs (t, i)),

.. math::

    L(\lambda) = \sum_i \lambda_i B_i + \sum_t \max\Big(0,\ \max_{i} \big(v_{ti} - (1 + \lambda_i) p_t\big)\Big)
    \;\ge\; \text{LP bound} \;\ge\; \text{hindsight optimum},

with equality to the LP bound at the LP's budget duals (the auction rows alone define an integral polytope).

Utilities below 1 in magnitude are scaled up by a power of two in the MILP (``model.objective_scale``, divided
out by the library), as HiGHS also stops at an absolute gap of 1e-6.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from allocopt.errors import DataError
from allocopt.registry import Check

#: Relative slack allowed on a budget when checking real-valued data.
FEASIBILITY_TOL = 1e-9
#: Utilities all below 1 in magnitude are scaled (by a power of two, exact in binary) to reach at least this.
OBJECTIVE_TOP = 1024.0


@dataclass(frozen=True, eq=False)
class PacingData:
    """Validated budget-pacing data. Read-only arrays: ``values`` is T x n, ``prices`` T, ``budgets`` n."""

    values: np.ndarray
    prices: np.ndarray
    budgets: np.ndarray

    @property
    def T(self) -> int:
        return self.values.shape[0]

    @property
    def n(self) -> int:
        return self.values.shape[1]

    def profitable(self) -> np.ndarray:
        """T x n booleans: the pairs an optimum may take (value above price, price within the budget)."""
        return (self.values > self.prices[:, None]) & (self.prices[:, None] <= self.budgets[None, :])

    def kind(self) -> str:
        return f"budget pacing, {self.T} second-price auctions x {self.n} clients"


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def parse(data: Mapping[str, Any]) -> PacingData:
    """Build ``PacingData`` from schema-valid ``data``; checks the lengths a schema cannot."""
    budgets = data["budgets"]
    n = len(budgets)
    rows = data["values"]
    T = len(rows)
    for t, row in enumerate(rows):
        if len(row) != n:
            raise DataError(("values", t), f"expected {n} numbers (one per client, as in budgets), got {len(row)}")
    if len(data["prices"]) != T:
        raise DataError(("prices",), f"expected {T} prices (one per auction, as in values), got {len(data['prices'])}")
    values = np.asarray(rows, dtype=np.float64).reshape(T, n)
    prices = np.asarray(data["prices"], dtype=np.float64).reshape(T)
    return PacingData(_frozen(values), _frozen(prices), _frozen(np.asarray(budgets, dtype=np.float64).reshape(n)))


def _number(x: float) -> int | float:
    """Write integral floats as JSON integers."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def to_data(d: PacingData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    return {
        "values": [[_number(x) for x in row] for row in d.values.tolist()],
        "prices": [_number(x) for x in d.prices.tolist()],
        "budgets": [_number(x) for x in d.budgets.tolist()],
    }


def check(d: PacingData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the instance data, sharing nothing with any method."""
    winner = solution.get("winner")
    T, n = d.T, d.n
    if not isinstance(winner, list) or len(winner) != T:
        return Check(False, None, f"solution.winner must be a list of {T} client indices (-1 for no win)")
    values = d.values.tolist()
    prices = d.prices.tolist()
    spend = [0.0] * n
    utility = 0.0
    for t, w in enumerate(winner):
        if isinstance(w, bool) or not isinstance(w, int | float) or w != int(w) or not -1 <= w < n:
            return Check(False, None, f"solution.winner[{t}] = {w!r} is not -1 or a client index in 0..{n - 1}")
        w = int(w)
        if w >= 0:
            spend[w] += prices[t]
            utility += values[t][w] - prices[t]
    for i in range(n):
        budget = float(d.budgets[i])
        if spend[i] > budget + FEASIBILITY_TOL * max(1.0, abs(budget)):
            return Check(False, None, f"client {i}: spend {spend[i]:g} > budget {budget:g}")
    return Check(True, utility)


def build_model(d: PacingData) -> pyo.ConcreteModel:
    """The hindsight MILP of the module docstring: ``win[t, i]`` over ``model.pairs``, rows ``auction[t]`` and
    ``budget[i]``, objective ``utility``.

    ``model.objective_scale`` records the scaling of the objective; the library divides it out. Extend it with
    your own constraints and solve it with ``allocopt.solve(instance, method="milp", model=model)``.
    """
    model = pyo.ConcreteModel(name="budget_pacing")
    keep = d.profitable()
    tt, ii = np.nonzero(keep)
    utility = d.values[tt, ii] - d.prices[tt]
    top = float(utility.max()) if utility.size else 0.0
    scale = 2.0 ** math.ceil(math.log2(OBJECTIVE_TOP / top)) if 0 < top < 1 else 1.0
    model.objective_scale = scale
    pairs = list(zip(tt.tolist(), ii.tolist(), strict=True))
    model.pairs = pyo.Set(initialize=pairs, dimen=2, ordered=True)
    model.win = pyo.Var(model.pairs, domain=pyo.Binary)
    model.utility = pyo.Objective(
        expr=sum(scale * u * model.win[p] for p, u in zip(pairs, utility.tolist(), strict=True)), sense=pyo.maximize
    )
    by_auction: dict[int, list[int]] = {}
    by_client: dict[int, list[int]] = {i: [] for i in range(d.n)}
    for t, i in pairs:
        by_auction.setdefault(t, []).append(i)
        if d.prices[t] > 0:
            by_client[i].append(t)
    shared = [t for t, clients in by_auction.items() if len(clients) > 1]
    model.auction = pyo.Constraint(shared, rule=lambda mdl, t: sum(mdl.win[t, i] for i in by_auction[t]) <= 1)
    prices = d.prices.tolist()

    def budget_row(mdl: pyo.ConcreteModel, i: int) -> Any:
        auctions = by_client[i]
        if not auctions:
            return pyo.Constraint.Skip
        return sum(prices[t] * mdl.win[t, i] for t in auctions) <= float(d.budgets[i])

    model.budget = pyo.Constraint(range(d.n), rule=budget_row)
    return model


def decode(model: pyo.ConcreteModel, d: PacingData) -> dict[str, Any]:
    """Read each auction's winner back from a solved model (-1 where no ``win`` variable is set)."""
    winner = [-1] * d.T
    best = [0.5] * d.T
    for t, i in model.pairs:
        x = pyo.value(model.win[t, i], exception=False) or 0.0
        if x > best[t]:
            best[t], winner[t] = x, i
    return {"winner": winner}
