r"""Position auctions: ads into ranked slots (sponsored search) or into positions of generated content (AIGC).

Data: n bidders with values (bids) per click :math:`v_i \ge 0`, K positions, and click rates. In the
**separable** model (``ctr``) bidder i in slot k gets :math:`c_{ik} = \alpha_k q_i` clicks, where
:math:`\alpha_1 \ge \dots \ge \alpha_K` are the slots' click rates and :math:`q_i > 0` the bidder's quality
(default 1). In the **non-separable** model (``ctr_matrix``) :math:`c_{ik}` is given for every pair: in content
written by a model, how often an ad is clicked depends on where it lands *and* on how well it fits there. At
most :math:`L` ads are shown (``max_ads``; default K); a bidder whose value is below the per-click reserve
:math:`r` is not shown. Welfare maximization is a bipartite matching with a cardinality cap:

.. math::

    \max \sum_{i,k} v_i c_{ik} x_{ik} \quad\text{s.t.}\quad \sum_k x_{ik} \le 1 \;(i), \qquad
    \sum_i x_{ik} \le 1 \;(k), \qquad \sum_{i,k} x_{ik} \le L, \qquad x_{ik} = 0 \text{ if } v_i < r,
    \qquad x_{ik} \in \{0, 1\}.

It is a min-cost flow (source -> one node that passes at most L units -> each bidder, capacity 1 -> each
position, capacity 1 -> sink), so the LP relaxation has an integral optimum and its value is the optimum.
In the separable model the optimum sorts the bidders by :math:`q_i v_i` and fills the best slots in that
order (rearrangement inequality); nothing is gained from a matching.

``build_model`` is the program above in Pyomo: ``show[i, k]`` binaries (pairs of bidders below the reserve are
fixed to 0), rows ``bidder[i]``, ``position[k]`` and ``max_ads``, objective ``welfare``. Welfares all below 1
are scaled up by a power of two (``model.objective_scale``, divided out by the library), because HiGHS also
stops on an absolute gap of 1e-6.

Payments are *expected payments per impression* (per showing of the page): a per-click price times the
bidder's clicks. The checker verifies individual rationality only (a bidder not shown pays 0; a shown bidder
pays between 0 and :math:`v_i c_{ik}`); the rules themselves are tested against independent computations.
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

#: Relative tolerance of the checker on payments (individual rationality).
PAYMENT_TOL = 1e-9
#: Welfares all below 1 are scaled (by a power of two, exact in binary) to reach at least this in the MILP.
OBJECTIVE_TOP = 1024.0


@dataclass(frozen=True, eq=False)
class PositionData:
    """Validated position-auction data. Arrays are read-only.

    Exactly one of ``ctr`` (K,) and ``ctr_matrix`` (n, K) is set; ``quality`` (n,) only with ``ctr``.
    ``reserve`` and ``max_ads`` are None when the file leaves them out.
    """

    values: np.ndarray
    ctr: np.ndarray | None = None
    ctr_matrix: np.ndarray | None = None
    quality: np.ndarray | None = None
    max_ads: int | None = None
    reserve: float | None = None
    names: tuple[str, ...] | None = None

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def slots(self) -> int:
        """K, the number of positions."""
        return len(self.ctr) if self.ctr is not None else self.ctr_matrix.shape[1]

    @property
    def separable(self) -> bool:
        return self.ctr is not None

    @property
    def cap(self) -> int:
        """L = min(K, max_ads): how many ads can be shown at once."""
        return self.slots if self.max_ads is None else min(self.slots, self.max_ads)

    @property
    def reserve_price(self) -> float:
        return 0.0 if self.reserve is None else float(self.reserve)

    def bidder_names(self) -> list[str]:
        return list(self.names) if self.names is not None else [str(i) for i in range(self.n)]

    def qualities(self) -> np.ndarray:
        return np.ones(self.n) if self.quality is None else self.quality

    def clicks(self) -> np.ndarray:
        """n x K expected clicks per impression of bidder i in position k."""
        if self.ctr_matrix is not None:
            return self.ctr_matrix
        return self.qualities()[:, None] * self.ctr[None, :]

    def eligible(self) -> np.ndarray:
        """Bidders whose value is at least the reserve (the others are never shown)."""
        return self.values >= self.reserve_price

    def kind(self) -> str:
        model = "separable ctr" if self.separable else "ctr_matrix"
        extra = f", max_ads {self.max_ads}" if self.max_ads is not None else ""
        extra += f", reserve {self.reserve:g}" if self.reserve else ""
        return f"position auction ({model}), {self.n} bidders x {self.slots} positions{extra}"


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def parse(data: Mapping[str, Any]) -> PositionData:
    """Build ``PositionData`` from schema-valid ``data``; checks what a schema cannot, naming the path."""
    values = np.asarray(data["values"], dtype=np.float64)
    n = len(values)
    has_ctr, has_matrix = "ctr" in data, "ctr_matrix" in data
    if has_ctr == has_matrix:
        where = ("ctr_matrix",) if has_ctr else ()
        raise DataError(where, "give exactly one of ctr (separable slots) and ctr_matrix (one row per bidder)")
    ctr = ctr_matrix = quality = None
    if has_ctr:
        ctr = np.asarray(data["ctr"], dtype=np.float64)
        rising = np.flatnonzero(np.diff(ctr) > 0)
        if rising.size:
            k = int(rising[0]) + 1
            raise DataError(
                ("ctr", k),
                f"ctr must be non-increasing (slot 0 is the best): {ctr[k]:g} > ctr[{k - 1}] = {ctr[k - 1]:g}",
            )
        if "quality" in data:
            if len(data["quality"]) != n:
                raise DataError(
                    ("quality",), f"expected {n} numbers (one per bidder, as in values), got {len(data['quality'])}"
                )
            quality = _frozen(np.asarray(data["quality"], dtype=np.float64))
        ctr = _frozen(ctr)
    else:
        if "quality" in data:
            raise DataError(
                ("quality",), "quality goes with ctr only; fold it into ctr_matrix (clicks per bidder and position)"
            )
        rows = data["ctr_matrix"]
        if len(rows) != n:
            raise DataError(("ctr_matrix",), f"expected {n} rows (one per bidder, as in values), got {len(rows)}")
        width = len(rows[0])
        for i, row in enumerate(rows):
            if len(row) != width:
                raise DataError(
                    ("ctr_matrix", i), f"expected {width} numbers (one per position, as in row 0), got {len(row)}"
                )
        ctr_matrix = _frozen(np.asarray(rows, dtype=np.float64).reshape(n, width))
    names = None
    if "names" in data:
        raw = data["names"]
        if len(raw) != n:
            raise DataError(("names",), f"expected {n} names (one per bidder, as in values), got {len(raw)}")
        seen: dict[str, int] = {}
        for i, name in enumerate(raw):
            if name in seen:
                raise DataError(("names", i), f"names must be distinct: {name!r} is also bidder {seen[name]}'s name")
            seen[name] = i
        names = tuple(raw)
    max_ads = int(data["max_ads"]) if "max_ads" in data else None
    reserve = float(data["reserve"]) if "reserve" in data else None
    return PositionData(_frozen(values), ctr, ctr_matrix, quality, max_ads, reserve, names)


def _number(x: float) -> int | float:
    """Write integral floats as JSON integers."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def to_data(d: PositionData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    out: dict[str, Any] = {"values": [_number(x) for x in d.values]}
    if d.ctr is not None:
        out["ctr"] = [_number(x) for x in d.ctr]
    else:
        out["ctr_matrix"] = [[_number(x) for x in row] for row in d.ctr_matrix]
    if d.quality is not None:
        out["quality"] = [_number(x) for x in d.quality]
    if d.max_ads is not None:
        out["max_ads"] = d.max_ads
    if d.reserve is not None:
        out["reserve"] = _number(d.reserve)
    if d.names is not None:
        out["names"] = list(d.names)
    return out


def check(d: PositionData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the instance data, sharing nothing with any method.

    Feasible: one slot index (or -1) per bidder, no slot used twice, at most ``max_ads`` shown, nobody shown
    whose value is below the reserve; with ``payments``: every bidder named, a bidder not shown pays 0 and a
    shown one between 0 and its value for its clicks (relative tolerance 1e-9). Objective: the welfare.
    """
    slots = solution.get("slot")
    n, k_count = d.n, d.slots
    if not isinstance(slots, list) or len(slots) != n:
        return Check(False, None, f"solution.slot must be a list of {n} slot indices (-1: not shown)")
    values = [float(v) for v in d.values]
    reserve = 0.0 if d.reserve is None else float(d.reserve)
    used: dict[int, int] = {}
    gains = [0.0] * n
    for i, k in enumerate(slots):
        if isinstance(k, bool) or not isinstance(k, int | float) or k != int(k) or not -1 <= k < k_count:
            return Check(False, None, f"solution.slot[{i}] = {k!r} is not a slot index in -1..{k_count - 1}")
        k = int(k)
        if k < 0:
            continue
        if k in used:
            return Check(False, None, f"slot {k} holds two ads: bidders {used[k]} and {i}")
        used[k] = i
        if values[i] < reserve:
            return Check(
                False, None, f"bidder {i} is shown but its value {values[i]:g} is below the reserve {reserve:g}"
            )
        if d.ctr_matrix is not None:
            clicks = float(d.ctr_matrix[i][k])
        else:
            clicks = float(d.ctr[k]) * (1.0 if d.quality is None else float(d.quality[i]))
        gains[i] = values[i] * clicks
    if d.max_ads is not None and len(used) > d.max_ads:
        return Check(False, None, f"{len(used)} ads shown, more than max_ads = {d.max_ads}")
    objective = math.fsum(gains)
    payments = solution.get("payments")
    if payments is not None:
        names = list(d.names) if d.names is not None else [str(i) for i in range(n)]
        if not isinstance(payments, Mapping) or set(payments) != set(names):
            return Check(False, None, "solution.payments must map every bidder's name (and nothing else) to a number")
        for i, name in enumerate(names):
            p = payments[name]
            if isinstance(p, bool) or not isinstance(p, int | float) or not math.isfinite(p):
                return Check(False, None, f"solution.payments[{name!r}] = {p!r} is not a finite number")
            slack = PAYMENT_TOL * max(1.0, gains[i])
            if slots[i] < 0 and abs(p) > slack:
                return Check(False, None, f"bidder {name!r} is not shown but pays {p:g}")
            if p < -slack:
                return Check(False, None, f"bidder {name!r} is paid {-p:g} (a negative payment)")
            if p > gains[i] + slack:
                return Check(
                    False, None, f"bidder {name!r} pays {p:g}, more than its value {gains[i]:g} for its clicks (not IR)"
                )
    return Check(True, objective)


def build_model(d: PositionData) -> pyo.ConcreteModel:
    """The matching MILP of the module docstring: ``show[i, k]``, rows ``bidder``, ``position``, ``max_ads``.

    ``model.objective_scale`` records the scaling of the objective; the library divides it out. Extend it
    with your own constraints and solve it with ``allocopt.solve(instance, method="milp", model=model)``.
    """
    model = pyo.ConcreteModel(name="position_auction")
    weight = d.values[:, None] * d.clicks()
    top = float(weight.max()) if weight.size else 0.0
    scale = 2.0 ** math.ceil(math.log2(OBJECTIVE_TOP / top)) if 0 < top < 1 else 1.0
    model.objective_scale = scale
    eligible = d.eligible()
    pairs = [(i, k) for i in range(d.n) for k in range(d.slots)]
    model.show = pyo.Var(pairs, domain=pyo.Binary, bounds=lambda _, i, k: (0, 1 if eligible[i] else 0))
    model.welfare = pyo.Objective(
        expr=sum(scale * float(weight[i, k]) * model.show[i, k] for i, k in pairs if weight[i, k]),
        sense=pyo.maximize,
    )
    model.bidder = pyo.Constraint(range(d.n), rule=lambda m, i: sum(m.show[i, k] for k in range(d.slots)) <= 1)
    model.position = pyo.Constraint(range(d.slots), rule=lambda m, k: sum(m.show[i, k] for i in range(d.n)) <= 1)
    if d.max_ads is not None and d.max_ads < d.slots:
        model.max_ads = pyo.Constraint(expr=sum(model.show[p] for p in pairs) <= d.max_ads)
    return model


def decode(model: pyo.ConcreteModel, d: PositionData) -> dict[str, Any]:
    """Read each bidder's slot back from a solved model (-1 when no ``show`` value exceeds 1/2)."""
    slots = []
    for i in range(d.n):
        vals = [pyo.value(model.show[i, k], exception=False) or 0.0 for k in range(d.slots)]
        best = int(np.argmax(vals))
        slots.append(best if vals[best] > 0.5 else -1)
    return {"slot": slots}
