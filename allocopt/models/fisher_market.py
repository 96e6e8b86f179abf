r"""Fisher markets: competitive equilibrium by the Eisenberg-Gale convex program.

Data: n buyers with budgets :math:`B_i > 0`, m divisible goods with supplies :math:`s_j > 0` and a
utility matrix :math:`U \in \mathbb{R}_{\ge 0}^{n \times m}`. A *competitive equilibrium* is a price
:math:`p_j \ge 0` per unit of each good and an allocation :math:`x_{ij} \ge 0` such that every buyer spends
its whole budget on a bundle it likes best at those prices and every good with a positive price is sold out.
Eisenberg and Gale (1959) showed the equilibria are the optima of one convex program, and the prices its
duals.

**Linear utilities** (``utility: "linear"``): :math:`u_i = \sum_j U_{ij} x_{ij}`.

.. math::

    \text{(EG)}\quad \max_{x \ge 0} \sum_i B_i \log u_i \quad\text{s.t.}\quad
    u_i = \sum_j U_{ij} x_{ij}, \qquad \sum_i x_{ij} \le s_j \;\; (\text{supply}_j,\ \text{dual } p_j \ge 0).

Its Lagrange dual: for prices :math:`p \ge 0`, buyer i's part of the Lagrangian,
:math:`\sup_{x_i \ge 0} B_i \log(U_i x_i) - p^\top x_i`, buys utility at the cheapest price per unit of
utility, :math:`\beta_i(p) = \min_{j: U_{ij} > 0} p_j / U_{ij}` (the inverse of the best bang-per-buck), so it
equals :math:`\sup_{u > 0} B_i \log u - \beta_i u = B_i \log(B_i / \beta_i) - B_i`. Hence

.. math::

    \text{(D)}\quad \min_{p \ge 0,\ \beta} \sum_j s_j p_j - \sum_i B_i \log \beta_i
    + \sum_i (B_i \log B_i - B_i) \quad\text{s.t.}\quad U_{ij} \beta_i \le p_j,

and **every** price vector gives an upper bound on EG through :math:`\beta_i(p)` (weak duality); Slater's
condition holds, so the two optima are equal. Scaling all prices by :math:`t > 0` changes the dual value by
:math:`t\, s^\top p - (\sum_i B_i) \log t` + const, minimised at :math:`t = \sum_i B_i / s^\top p`: at any
equilibrium the goods' revenue equals the total budget, and the bound of a price vector is taken after this
rescaling. At the optimum :math:`\beta_i = B_i / u_i` and the KKT conditions are the equilibrium conditions:
:math:`p_j > 0 \Rightarrow \sum_i x_{ij} = s_j` (market clearing), :math:`\sum_j p_j x_{ij} = B_i` (budgets
spent) and :math:`x_{ij} > 0 \Rightarrow U_{ij}/p_j = \max_k U_{ik}/p_k` (only best bang-per-buck goods).

**Leontief utilities** (``utility: "leontief"``): ``utilities[i][j]`` is :math:`a_{ij}`, the units of good j
one unit of buyer i's utility needs, :math:`u_i = \min_{j: a_{ij} > 0} x_{ij} / a_{ij}`. Wasting nothing,
:math:`x_{ij} = a_{ij} u_i`, and EG becomes :math:`\max \sum_i B_i \log u_i` s.t.
:math:`\sum_i a_{ij} u_i \le s_j` (dual :math:`p_j`). A buyer facing prices p pays :math:`c_i(p) = \sum_j a_{ij}
p_j` per unit of utility, so its part of the Lagrangian is :math:`B_i \log(B_i / c_i) - B_i` and

.. math::

    \text{(D-Leontief)}\quad \min_{p \ge 0} \sum_j s_j p_j - \sum_i B_i \log c_i(p) + \sum_i (B_i \log B_i - B_i),

again a valid upper bound at every p (with the same rescaling), equal to EG at the optimum, where
:math:`u_i = B_i / c_i(p)`: each buyer spends its budget on its (unique) optimal bundle.

The objective is the EG value :math:`\sum_i B_i \log u_i` of the allocation, maximized. A buyer with
:math:`u_i = 0` makes it :math:`-\infty`: the checker rejects such an allocation (it has no finite objective).
Supply is checked with a relative tolerance of 1e-7. Prices are part of the solution but not of feasibility;
how far the pair is from an equilibrium is what ``equilibrium_residuals`` reports.

``build_model`` returns the EG program as a CVXPY problem whose ``constraints[0]`` is the supply row (its
``dual_value`` holds the prices). Linear: variable ``allocation`` (n x m); Leontief: variable ``utility`` (n),
with the allocation :math:`x_{ij} = a_{ij} u_i` (the :math:`x` of the Leontief program is eliminated).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

from allocopt.errors import DataError
from allocopt.registry import Check

#: FORMAT.md: relative tolerance on each good's supply.
SUPPLY_TOL = 1e-7


@dataclass(frozen=True, eq=False)
class FisherData:
    """Validated Fisher market. Arrays are read-only; ``utilities`` is n x m (buyers x goods)."""

    budgets: np.ndarray
    utilities: np.ndarray
    supply: np.ndarray
    utility: str = "linear"
    supply_given: bool = False

    @property
    def n(self) -> int:
        return self.utilities.shape[0]

    @property
    def m(self) -> int:
        return self.utilities.shape[1]

    @property
    def linear(self) -> bool:
        return self.utility == "linear"

    def kind(self) -> str:
        nnz = int(np.count_nonzero(self.utilities))
        density = "" if nnz == self.n * self.m else f", {nnz / (self.n * self.m):.0%} of utilities positive"
        return f"Fisher market, {self.utility} utilities, {self.n} buyers x {self.m} goods{density}"


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def parse(data: Mapping[str, Any]) -> FisherData:
    """Build ``FisherData`` from schema-valid ``data``; checks the shapes and what a schema cannot."""
    budgets = data["budgets"]
    rows = data["utilities"]
    n = len(budgets)
    if len(rows) != n:
        raise DataError(("utilities",), f"expected {n} rows (one per buyer, as in budgets), got {len(rows)}")
    m = len(rows[0]) if n else 0
    for i, row in enumerate(rows):
        if len(row) != m:
            raise DataError(
                ("utilities", i), f"expected {m} numbers (one per good, as in utilities[0]), got {len(row)}"
            )
    if m == 0:
        raise DataError(("utilities", 0), "expected at least one good")
    util = np.asarray(rows, dtype=np.float64).reshape(n, m)
    kind = data.get("utility", "linear")
    positive = util.max(axis=1) > 0
    if not positive.all():
        i = int(np.argmin(positive))
        what = "wants nothing (no positive utility)" if kind == "linear" else "needs no good (all zero)"
        raise DataError(("utilities", i), f"buyer {i} {what}: every buyer needs at least one positive entry")
    supply_raw = data.get("supply")
    if supply_raw is not None and len(supply_raw) != m:
        raise DataError(("supply",), f"expected {m} numbers (one per good), got {len(supply_raw)}")
    supply = np.ones(m) if supply_raw is None else np.asarray(supply_raw, dtype=np.float64)
    return FisherData(
        budgets=_frozen(np.asarray(budgets, dtype=np.float64)),
        utilities=_frozen(util),
        supply=_frozen(supply),
        utility=kind,
        supply_given=supply_raw is not None,
    )


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def to_data(d: FisherData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    out: dict[str, Any] = {
        "budgets": [_number(x) for x in d.budgets],
        "utilities": [[_number(x) for x in row] for row in d.utilities],
    }
    if d.supply_given:
        out["supply"] = [_number(x) for x in d.supply]
    if d.utility != "linear":
        out["utility"] = d.utility
    return out


def _numbers(value: Any, size: int, name: str) -> list[float] | str:
    """``value`` as ``size`` finite numbers >= 0, or the reason it is not."""
    if not isinstance(value, list) or len(value) != size:
        return f"{name} must be a list of {size} numbers"
    out = []
    for k, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            return f"{name}[{k}] = {v!r} is not a finite number >= 0"
        out.append(float(v))
    return out


def check(d: FisherData, solution: Mapping[str, Any]) -> Check:
    """Independent checker (plain Python): shapes, x >= 0, supply within 1e-7 relative, the EG value.

    Prices must be m finite numbers >= 0; they do not enter feasibility (see ``equilibrium_residuals``).
    """
    n, m = d.n, d.m
    alloc = solution.get("allocation")
    if not isinstance(alloc, list) or len(alloc) != n:
        return Check(False, None, f"solution.allocation must be a list of {n} lists (one per buyer)")
    rows = []
    for i, row in enumerate(alloc):
        got = _numbers(row, m, f"solution.allocation[{i}]")
        if isinstance(got, str):
            return Check(False, None, got)
        rows.append(got)
    prices = _numbers(solution.get("prices"), m, "solution.prices")
    if isinstance(prices, str):
        return Check(False, None, prices)
    util = d.utilities.tolist()
    supply = d.supply.tolist()
    for j, column in enumerate(zip(*rows, strict=True)):
        sold = math.fsum(column)
        if sold > supply[j] * (1 + SUPPLY_TOL):
            return Check(False, None, f"good {j}: allocated {sold:.12g} > supply {supply[j]:.12g}")
    budgets = d.budgets.tolist()
    objective = 0.0
    for i in range(n):
        if d.linear:
            u = math.fsum(map(operator.mul, util[i], rows[i]))
        else:
            u = min(rows[i][j] / util[i][j] for j in range(m) if util[i][j] > 0)
        if not u > 0:
            return Check(
                False,
                None,
                f"buyer {i} gets utility 0, so the Eisenberg-Gale value is -infinity (no finite objective)",
            )
        objective += budgets[i] * math.log(u)
    return Check(True, objective)


def equilibrium_residuals(d: FisherData, allocation: np.ndarray, prices: np.ndarray) -> dict[str, float]:
    r"""How far (allocation, prices) is from a competitive equilibrium; all 0 at an exact one.

    - ``clearing``: the largest value of unsold supply, :math:`\max_j p_j |s_j - \sum_i x_{ij}|`, over the
      total budget (a good with price 0 need not be sold out, and contributes 0);
    - ``budget``: the largest :math:`|\sum_j p_j x_{ij} - B_i| / B_i`;
    - ``bang_per_buck`` (linear): the largest share of a budget spent above the best price per unit of
      utility, :math:`\max_i \sum_j x_{ij} (p_j - \beta_i U_{ij}) / B_i`, :math:`\beta_i = \min_j p_j / U_{ij}`
      (0 iff every buyer buys only best bang-per-buck goods);
    - ``bundle`` (Leontief): the largest :math:`|u_i c_i(p) / B_i - 1|` (0 iff each buyer gets the bundle its
      budget buys) and the wasted value :math:`\max_i \sum_j p_j (x_{ij} - a_{ij} u_i) / B_i`.
    """
    x = np.asarray(allocation, dtype=np.float64)
    p = np.asarray(prices, dtype=np.float64)
    budgets, supply, util = d.budgets, d.supply, d.utilities
    unsold = np.abs(supply - x.sum(axis=0))
    out = {
        "clearing": float((p * unsold).max() / budgets.sum()),
        "budget": float((np.abs(x @ p - budgets) / budgets).max()),
    }
    if d.linear:
        with np.errstate(divide="ignore"):
            ratio = np.where(util > 0, p / np.where(util > 0, util, 1.0), np.inf)
        beta = ratio.min(axis=1)
        over = (x * (p[None, :] - beta[:, None] * util)).sum(axis=1)
        out["bang_per_buck"] = float(max(0.0, (over / budgets).max()))
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(util > 0, x / np.where(util > 0, util, 1.0), np.inf).min(axis=1)
        cost = util @ p
        out["bundle"] = float((np.abs(u * cost / budgets - 1.0)).max())
        out["waste"] = float(max(0.0, ((x - util * u[:, None]) @ p / budgets).max()))
    return out


def build_model(d: FisherData) -> cp.Problem:
    """The EG program of the module docstring as a CVXPY problem; ``constraints[0]`` is the supply row.

    Extend it (``cp.Problem(problem.objective, problem.constraints + [...])``) and solve it with
    ``allocopt.solve(instance, method="convex", model=problem)``, keeping the supply row first.
    """
    budgets, util, supply = d.budgets, d.utilities, d.supply
    if d.linear:
        x = cp.Variable((d.n, d.m), nonneg=True, name="allocation")
        u = cp.sum(cp.multiply(util, x), axis=1)
        return cp.Problem(cp.Maximize(budgets @ cp.log(u)), [cp.sum(x, axis=0) <= supply])
    u = cp.Variable(d.n, nonneg=True, name="utility")
    return cp.Problem(cp.Maximize(budgets @ cp.log(u)), [util.T @ u <= supply])


def _variable(problem: cp.Problem, name: str) -> cp.Variable:
    for v in problem.variables():
        if v.name() == name:
            return v
    raise ValueError(f"the problem has no variable named {name!r} (build it with build_model)")


def decode(problem: cp.Problem, d: FisherData) -> dict[str, Any]:
    """Allocation and prices from a solved ``build_model`` problem, made exactly feasible.

    The solver's allocation is clipped at 0 and each good's column scaled down to its supply (interior-point
    solutions may exceed it in the last digits); linear: a good a buyer values at 0 is not given to it;
    Leontief: :math:`x_{ij} = a_{ij} u_i`. Prices are the supply duals, clipped at 0.
    """
    util, supply = d.utilities, d.supply
    if d.linear:
        x = np.clip(np.asarray(_variable(problem, "allocation").value, dtype=np.float64), 0.0, None)
        x[util <= 0] = 0.0
    else:
        u = np.clip(np.asarray(_variable(problem, "utility").value, dtype=np.float64), 0.0, None)
        sold = util.T @ u
        # A buyer's utility shrinks by its tightest good's overshoot, so that x = a u stays waste-free.
        with np.errstate(divide="ignore", invalid="ignore"):
            shrink = np.where(sold > supply, supply / sold, 1.0)
        u = u * np.where(util > 0, shrink[None, :], 1.0).min(axis=1)
        x = util * u[:, None]
    sold = x.sum(axis=0)
    over = sold > supply
    x[:, over] *= supply[over] / sold[over]
    dual = problem.constraints[0].dual_value
    prices = np.clip(np.asarray(dual, dtype=np.float64).reshape(d.m), 0.0, None)
    return {"allocation": x.tolist(), "prices": prices.tolist()}
