r"""Combinatorial auctions: winner determination (WDP) and the data the payment rules need.

Data: G goods, good g has :math:`s_g \ge 1` units for sale (supply) and the seller values one unit at
:math:`r_g \ge 0` (reserve); B bids, bid j offers :math:`p_j \ge 0` for the bundle :math:`S_j \subseteq \{0..G-1\}`
(one unit of each good in it) and belongs to bidder :math:`b(j)`. With ``bidding: "xor"`` (the default) a bidder
wins at most one of its bids; with ``"or"`` any of its bids that fit together. Winner determination is the
weighted set packing problem with supply rows

.. math::

    \max \sum_j \Big(p_j - \sum_{g \in S_j} r_g\Big) x_j \quad\text{s.t.}\quad
    \sum_{j:\, g \in S_j} x_j \le s_g \;\; (g = 0..G-1), \qquad
    \sum_{j:\, b(j) = i} x_j \le 1 \;\; (\text{bidder } i, \text{ xor only}), \qquad x_j \in \{0, 1\}.

The objective is the welfare above the seller's value: with :math:`R = \sum_g s_g r_g` the seller's value for
everything, the total welfare of an allocation (winners' bids plus the seller's value of the unsold units) is the
objective plus :math:`R`. A bid priced below its bundle's reserve is never in an optimal allocation.

The MILP (``build_model``) is this model as written: a binary ``win[j]`` per bid, a ``supply[g]`` row per good that
some bid asks for, an ``xor[i]`` row per bidder with at least two bids under xor bidding. ``build_cp_model`` is the
same model for CP-SAT, with prices and reserves scaled exactly to integers by the least power of ten
(``model.objective_scale``).

Payments (``solution["payments"]``, bidder name -> amount) are checked for individual rationality only: a loser
pays 0 and a winner pays between 0 and the sum of the prices of its winning bids (relative tolerance 1e-9).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from ortools.sat.python import cp_model

from allocopt.errors import DataError, UsageError
from allocopt.registry import Check
from allocopt.scaling import ScaleError, integer_scale

#: Relative tolerance of the checker on payments (individual rationality).
PAYMENT_TOL = 1e-9
#: Prices all below 1 in magnitude are scaled (by a power of two) to reach at least this in the Pyomo model.
OBJECTIVE_TOP = 1024.0


@dataclass(frozen=True, eq=False)
class AuctionData:
    """Validated combinatorial-auction data; arrays are read-only.

    Bundles are stored compressed by bid: bid j's goods are ``goods_of[bundle_start[j]:bundle_start[j + 1]]``.
    ``bidder[j]`` indexes ``names`` (bidders in order of first appearance). ``given`` lists the optional keys the
    file had, so that ``to_data`` writes back what was read.
    """

    goods: int
    supply: np.ndarray
    reserve: np.ndarray
    price: np.ndarray
    bundle_start: np.ndarray
    goods_of: np.ndarray
    bidder: np.ndarray
    names: tuple[str, ...]
    bidding: str = "xor"
    given: frozenset[str] = frozenset()

    @property
    def n_bids(self) -> int:
        return int(self.price.shape[0])

    @property
    def n_bidders(self) -> int:
        return len(self.names)

    @property
    def xor(self) -> bool:
        return self.bidding == "xor"

    def bundle(self, j: int) -> np.ndarray:
        return self.goods_of[self.bundle_start[j] : self.bundle_start[j + 1]]

    def bundle_sizes(self) -> np.ndarray:
        return np.diff(self.bundle_start)

    def bundle_reserve(self) -> np.ndarray:
        """B numbers: the seller's value of each bid's bundle, sum of ``reserve`` over its goods."""
        return np.add.reduceat(self.reserve[self.goods_of], self.bundle_start[:-1]) if self.n_bids else np.zeros(0)

    def value(self) -> np.ndarray:
        """B numbers: each bid's objective coefficient, its price less its bundle's reserve."""
        return self.price - self.bundle_reserve()

    def bids_per_bidder(self) -> np.ndarray:
        return np.bincount(self.bidder, minlength=self.n_bidders)

    def single_minded(self) -> bool:
        """Every bidder has exactly one bid."""
        return bool(np.all(self.bids_per_bidder() == 1))

    def kind(self) -> str:
        extra = []
        if np.any(self.supply != 1):
            extra.append(f"supply up to {int(self.supply.max())}")
        if np.any(self.reserve != 0):
            extra.append("reserves")
        more = f", {', '.join(extra)}" if extra else ""
        return (
            f"combinatorial auction ({self.bidding} bidding), {self.goods} goods, {self.n_bids} bids, "
            f"{self.n_bidders} bidders{more}"
        )


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def parse(data: Mapping[str, Any]) -> AuctionData:
    """Build ``AuctionData`` from schema-valid ``data``; checks what a schema cannot (indices, lengths, repeats)."""
    goods = int(data["goods"])
    supply = np.ones(goods, dtype=np.int64)
    reserve = np.zeros(goods, dtype=np.float64)
    if "supply" in data:
        if len(data["supply"]) != goods:
            raise DataError(("supply",), f"expected {goods} counts (one per good), got {len(data['supply'])}")
        supply = np.asarray(data["supply"], dtype=np.int64).reshape(goods)
    if "reserve" in data:
        if len(data["reserve"]) != goods:
            raise DataError(("reserve",), f"expected {goods} numbers (one per good), got {len(data['reserve'])}")
        reserve = np.asarray(data["reserve"], dtype=np.float64).reshape(goods)
    bids = data["bids"]
    starts = [0]
    flat: list[int] = []
    prices: list[float] = []
    owner: list[int] = []
    index: dict[str, int] = {}
    for j, bid in enumerate(bids):
        bundle = bid["goods"]
        if not bundle:
            raise DataError(("bids", j, "goods"), "expected at least one good index, got an empty bundle")
        seen: dict[int, int] = {}
        for k, g in enumerate(bundle):
            if not 0 <= g < goods:
                raise DataError(("bids", j, "goods", k), f"expected a good index in 0..{goods - 1}, got {g}")
            if g in seen:
                raise DataError(("bids", j, "goods", k), f"good {g} is repeated (also at position {seen[g]})")
            seen[g] = k
        price = float(bid["price"])
        if price < 0:
            raise DataError(("bids", j, "price"), f"expected a number >= 0, got {bid['price']}")
        flat.extend(int(g) for g in bundle)
        starts.append(len(flat))
        prices.append(price)
        owner.append(index.setdefault(bid["bidder"], len(index)))
    return AuctionData(
        goods=goods,
        supply=_frozen(supply),
        reserve=_frozen(reserve),
        price=_frozen(np.asarray(prices, dtype=np.float64)),
        bundle_start=_frozen(np.asarray(starts, dtype=np.int64)),
        goods_of=_frozen(np.asarray(flat, dtype=np.int64)),
        bidder=_frozen(np.asarray(owner, dtype=np.int64)),
        names=tuple(index),
        bidding=data.get("bidding", "xor"),
        given=frozenset(k for k in ("supply", "reserve", "bidding") if k in data),
    )


def _number(x: float) -> int | float:
    """Write integral floats as JSON integers."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def to_data(d: AuctionData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    out: dict[str, Any] = {
        "goods": d.goods,
        "bids": [
            {"bidder": d.names[int(d.bidder[j])], "goods": [int(g) for g in d.bundle(j)], "price": _number(d.price[j])}
            for j in range(d.n_bids)
        ],
    }
    if "supply" in d.given:
        out["supply"] = [int(s) for s in d.supply]
    if "reserve" in d.given:
        out["reserve"] = [_number(r) for r in d.reserve]
    if "bidding" in d.given:
        out["bidding"] = d.bidding
    return out


def check(d: AuctionData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the instance data, sharing nothing with any method.

    Feasibility (supply, xor rule), the objective recomputed from prices and reserves, and, when the solution
    has ``payments``, individual rationality: every bidder named once, a loser pays 0, a winner pays between 0
    and what it bid for what it won.
    """
    win = solution.get("win")
    n = d.n_bids
    if not isinstance(win, list) or len(win) != n:
        return Check(False, None, f"solution.win must be a list of {n} values 0/1")
    prices = [float(p) for p in d.price]
    reserve = [float(r) for r in d.reserve]
    supply = [int(s) for s in d.supply]
    starts = [int(s) for s in d.bundle_start]
    flat = [int(g) for g in d.goods_of]
    owner = [d.names[int(b)] for b in d.bidder]
    used = [0] * d.goods
    wins_of: dict[str, int] = {}
    paid_for: dict[str, float] = {}
    objective = 0.0
    for j, w in enumerate(win):
        if isinstance(w, bool) or w not in (0, 1):
            return Check(False, None, f"solution.win[{j}] = {w!r} is not 0 or 1")
        if not w:
            continue
        bundle = flat[starts[j] : starts[j + 1]]
        for g in bundle:
            used[g] += 1
        objective += prices[j] - sum(reserve[g] for g in bundle)
        wins_of[owner[j]] = wins_of.get(owner[j], 0) + 1
        paid_for[owner[j]] = paid_for.get(owner[j], 0.0) + prices[j]
    for g in range(d.goods):
        if used[g] > supply[g]:
            return Check(False, None, f"good {g} is sold {used[g]} times, supply {supply[g]}")
    if d.bidding == "xor":
        for name, count in wins_of.items():
            if count > 1:
                return Check(False, None, f"bidder {name!r} wins {count} bids under xor bidding (at most 1)")
    payments = solution.get("payments")
    if payments is None:
        return Check(True, objective)
    if not isinstance(payments, Mapping):
        return Check(False, None, "solution.payments must map every bidder's name to a number")
    names = set(d.names)
    missing = sorted(names - set(payments))
    unknown = sorted(set(payments) - names)
    if missing:
        return Check(False, None, f"solution.payments has no entry for bidder {missing[0]!r}")
    if unknown:
        return Check(False, None, f"solution.payments names {unknown[0]!r}, who is not a bidder")
    for name in d.names:
        pay = payments[name]
        if isinstance(pay, bool) or not isinstance(pay, int | float) or not math.isfinite(pay):
            return Check(False, None, f"payment of bidder {name!r} is not a finite number: {pay!r}")
        bid = paid_for.get(name, 0.0)
        slack = PAYMENT_TOL * max(1.0, abs(bid))
        if name not in wins_of and abs(pay) > slack:
            return Check(False, None, f"bidder {name!r} wins nothing but pays {pay}")
        if pay < -slack:
            return Check(False, None, f"bidder {name!r} pays a negative amount {pay}")
        if pay > bid + slack:
            return Check(False, None, f"bidder {name!r} pays {pay}, more than it bid for what it won ({bid})")
    return Check(True, objective)


def _objective_scale(values: np.ndarray) -> float:
    top = float(np.abs(values).max()) if values.size else 0.0
    return 2.0 ** math.ceil(math.log2(OBJECTIVE_TOP / top)) if 0 < top < 1 else 1.0


def _rows(d: AuctionData) -> tuple[list[list[int]], list[list[int]]]:
    """Bids of each good, and bids of each bidder."""
    of_good: list[list[int]] = [[] for _ in range(d.goods)]
    of_bidder: list[list[int]] = [[] for _ in range(d.n_bidders)]
    for j in range(d.n_bids):
        for g in d.bundle(j):
            of_good[int(g)].append(j)
        of_bidder[int(d.bidder[j])].append(j)
    return of_good, of_bidder


def build_model(d: AuctionData) -> pyo.ConcreteModel:
    """The MILP of the module docstring: ``win[j]``, ``supply[g]``, ``xor[i]``, objective ``welfare``.

    ``model.objective_scale`` records the scaling of the objective (the library divides it out). Extend it with
    your own constraints and solve it with ``allocopt.solve(instance, method="milp", model=model)``.
    """
    model = pyo.ConcreteModel(name="combinatorial_auction")
    value = d.value()
    scale = _objective_scale(value)
    model.objective_scale = scale
    of_good, of_bidder = _rows(d)
    model.win = pyo.Var(range(d.n_bids), domain=pyo.Binary)
    model.welfare = pyo.Objective(
        expr=sum(scale * float(value[j]) * model.win[j] for j in range(d.n_bids) if value[j]), sense=pyo.maximize
    )
    model.supply = pyo.Constraint(
        range(d.goods),
        rule=lambda m, g: sum(m.win[j] for j in of_good[g]) <= int(d.supply[g]) if of_good[g] else pyo.Constraint.Skip,
    )
    model.xor = pyo.Constraint(
        range(d.n_bidders),
        rule=lambda m, i: (
            sum(m.win[j] for j in of_bidder[i]) <= 1 if d.xor and len(of_bidder[i]) > 1 else pyo.Constraint.Skip
        ),
    )
    return model


def decode(model: pyo.ConcreteModel, d: AuctionData) -> dict[str, Any]:
    """Read the winning bids back from a solved Pyomo model."""
    return {"win": [int((pyo.value(model.win[j], exception=False) or 0.0) > 0.5) for j in range(d.n_bids)]}


def scaled_values(d: AuctionData) -> tuple[list[int], int]:
    """Each bid's price less its bundle's reserve as exact integers, times the least power of ten that makes every
    price and reserve integral; and that power. Raises ``UsageError`` when CP-SAT cannot hold them."""
    try:
        both, scale = integer_scale([*d.price, *d.reserve], total_limit=2**62)
    except ScaleError as exc:
        raise UsageError(f"CP-SAT needs integer prices: {exc}; use solver 'highs' for this instance") from None
    prices, reserves = both[: d.n_bids], both[d.n_bids :]
    values = [
        prices[j] - sum(reserves[int(g)] for g in d.bundle(j)) if len(reserves) else prices[j] for j in range(d.n_bids)
    ]
    if sum(v for v in values if v > 0) >= 2**53:
        raise UsageError(
            f"CP-SAT needs integer prices: scaled by {scale} they add up beyond 2^53; use solver 'highs' for this "
            "instance"
        )
    return values, scale


def build_cp_model(d: AuctionData) -> cp_model.CpModel:
    """The same model for CP-SAT: ``model.win`` (the bids' Boolean variables), ``model.objective_scale`` (the power
    of ten by which prices and reserves were scaled to integers; the library divides it out).

    Raises ``UsageError`` when the prices need more than 12 decimal places or overflow once scaled.
    """
    values, scale = scaled_values(d)
    model = cp_model.CpModel()
    win = [model.NewBoolVar(f"win[{j}]") for j in range(d.n_bids)]
    of_good, of_bidder = _rows(d)
    for g, bids in enumerate(of_good):
        if len(bids) > int(d.supply[g]):
            if int(d.supply[g]) == 1:
                model.AddAtMostOne(win[j] for j in bids)
            else:
                model.Add(sum(win[j] for j in bids) <= int(d.supply[g]))
    if d.xor:
        for bids in of_bidder:
            if len(bids) > 1:
                model.AddAtMostOne(win[j] for j in bids)
    model.Maximize(sum(v * win[j] for j, v in enumerate(values) if v))
    model.win = win
    model.objective_scale = scale
    return model


def decode_cp(solver: cp_model.CpSolver, model: cp_model.CpModel, d: AuctionData) -> dict[str, Any]:
    """Read the winning bids back from a CP-SAT solve of ``build_cp_model``."""
    return {"win": [int(solver.BooleanValue(v)) for v in model.win]}
