r"""The knapsack problem: 0/1, bounded, multi-dimensional and multiple-choice, as one problem.

Data: n items with values :math:`v_i \ge 0`, weights :math:`w_{ri} \ge 0` in m resources with
capacities :math:`C_r`, copies :math:`c_i` (how many of item i may be taken) and optional group labels.

.. math::

    \max \sum_i v_i x_i \quad\text{s.t.}\quad \sum_i w_{ri} x_i \le C_r \;\; (r = 1..m), \qquad
    x_i \in \{0, 1, \dots, c_i\},

and, when items carry group labels, at most one (``choose: at_most_one``) or exactly one
(``choose: exactly_one``) *distinct* item of each group is taken (:math:`x_i > 0`); the chosen
item may be taken up to :math:`c_i` times. With all :math:`c_i = 1` that is the multiple-choice
knapsack :math:`\sum_{i \in g} x_i \le 1` (or :math:`= 1`).

The MILP (``build_model``) uses the integer :math:`x_i` directly; items with :math:`c_i > 1` in a group
get a binary :math:`y_i` with :math:`y_i \le x_i \le c_i y_i`, and the group row sums the indicators
(:math:`x_i` itself when :math:`c_i = 1`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from allocopt.errors import DataError
from allocopt.registry import Check

#: Relative slack allowed on a capacity row when checking real-valued data.
FEASIBILITY_TOL = 1e-9


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class KnapsackData:
    """Validated knapsack data. Arrays are read-only; ``weights`` is always m x n."""

    values: np.ndarray
    weights: np.ndarray
    capacity: np.ndarray
    copies: np.ndarray
    groups: np.ndarray | None = None
    choose: str = "at_most_one"
    names: tuple[str, ...] | None = None
    one_resource_input: bool = True

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def m(self) -> int:
        return self.weights.shape[0]

    @property
    def bounded(self) -> bool:
        return bool(np.any(self.copies > 1))

    @property
    def exactly_one(self) -> bool:
        return self.groups is not None and self.choose == "exactly_one"

    def dense_groups(self) -> np.ndarray:
        """Group labels renumbered 0..G-1 (in order of first appearance is not guaranteed)."""
        assert self.groups is not None
        return np.unique(self.groups, return_inverse=True)[1].astype(np.int64)

    def kind(self) -> str:
        """A short description such as 'bounded multiple-choice knapsack'."""
        parts = []
        if self.bounded:
            parts.append("bounded")
        if self.m > 1:
            parts.append(f"{self.m}-dimensional")
        if self.groups is not None:
            parts.append("multiple-choice" + (" (exactly one)" if self.exactly_one else ""))
        return (" ".join(parts) or "0/1") + f" knapsack, n={self.n}"


def parse(data: Mapping[str, Any]) -> KnapsackData:
    """Build ``KnapsackData`` from schema-valid ``data``; checks what a schema cannot (lengths, shapes)."""
    values = np.asarray(data["values"], dtype=np.float64)
    n = len(values)
    raw_w = data["weights"]
    rows_given = [isinstance(w, list) for w in raw_w]
    if raw_w and all(rows_given):
        for r, row in enumerate(raw_w):
            if len(row) != n:
                raise DataError(("weights", r), f"expected {n} weights (one per value), got {len(row)}")
        weights = np.asarray(raw_w, dtype=np.float64).reshape(len(raw_w), n)
        one_resource = False
    elif any(rows_given):
        first_kind = rows_given[0]
        bad = next(i for i, g in enumerate(rows_given) if g != first_kind)
        raise DataError(("weights", bad), "expected all numbers (one resource) or all lists (m resources), not a mix")
    else:
        if len(raw_w) != n:
            raise DataError(("weights",), f"expected {n} weights (one per value), got {len(raw_w)}")
        weights = np.asarray(raw_w, dtype=np.float64).reshape(1, n)
        one_resource = True
    m = weights.shape[0]
    cap_raw = data["capacity"]
    if isinstance(cap_raw, list):
        if len(cap_raw) != m:
            raise DataError(
                ("capacity",), f"expected {m} capacities (one per resource row of weights), got {len(cap_raw)}"
            )
        capacity = np.asarray(cap_raw, dtype=np.float64)
    elif m == 1:
        capacity = np.asarray([cap_raw], dtype=np.float64)
    else:
        raise DataError(("capacity",), f"expected a list of {m} capacities (weights has {m} resource rows)")

    def per_item(key: str) -> list[Any] | None:
        seq = data.get(key)
        if seq is not None and len(seq) != n:
            raise DataError((key,), f"expected {n} entries (one per item), got {len(seq)}")
        return seq

    copies_raw = per_item("copies")
    copies = (
        np.ones(n, dtype=np.int64) if copies_raw is None else np.asarray(copies_raw, dtype=np.float64).astype(np.int64)
    )
    groups_raw = per_item("groups")
    groups = None if groups_raw is None else np.asarray(groups_raw, dtype=np.float64).astype(np.int64)
    names_raw = per_item("names")
    return KnapsackData(
        values=_frozen(values),
        weights=_frozen(weights),
        capacity=_frozen(capacity),
        copies=_frozen(copies),
        groups=None if groups is None else _frozen(groups),
        choose=data.get("choose", "at_most_one"),
        names=None if names_raw is None else tuple(names_raw),
        one_resource_input=one_resource,
    )


def _number(x: float) -> int | float:
    """Write integral floats as JSON integers."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def to_data(d: KnapsackData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    out: dict[str, Any] = {"values": [_number(v) for v in d.values]}
    if d.one_resource_input:
        out["weights"] = [_number(w) for w in d.weights[0]]
        out["capacity"] = _number(d.capacity[0])
    else:
        out["weights"] = [[_number(w) for w in row] for row in d.weights]
        out["capacity"] = [_number(c) for c in d.capacity]
    if d.bounded or np.any(d.copies != 1):
        out["copies"] = [int(c) for c in d.copies]
    if d.groups is not None:
        out["groups"] = [int(g) for g in d.groups]
        out["choose"] = d.choose
    if d.names is not None:
        out["names"] = list(d.names)
    return out


def check(d: KnapsackData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the instance data, sharing nothing with any method."""
    take = solution.get("take")
    n = len(d.values)
    if not isinstance(take, list) or len(take) != n:
        return Check(False, None, f"solution.take must be a list of {n} counts")
    counts: list[int] = []
    for i, t in enumerate(take):
        if isinstance(t, bool) or not isinstance(t, int | float) or t != int(t):
            return Check(False, None, f"solution.take[{i}] = {t!r} is not a whole number")
        t = int(t)
        if not 0 <= t <= int(d.copies[i]):
            return Check(False, None, f"solution.take[{i}] = {t} is outside 0..{int(d.copies[i])}")
        counts.append(t)
    for r in range(d.weights.shape[0]):
        used = sum(float(d.weights[r][i]) * counts[i] for i in range(n) if counts[i])
        cap = float(d.capacity[r])
        if used > cap + FEASIBILITY_TOL * max(1.0, abs(cap)):
            return Check(False, None, f"resource {r}: uses {used:g} > capacity {cap:g}")
    if d.groups is not None:
        chosen: dict[int, int] = {int(g): 0 for g in d.groups}
        for i in range(n):
            if counts[i] > 0:
                chosen[int(d.groups[i])] += 1
        for g, k in chosen.items():
            if k > 1:
                return Check(False, None, f"group {g}: {k} distinct items taken, at most one allowed")
            if d.choose == "exactly_one" and k != 1:
                return Check(False, None, f"group {g}: no item taken, exactly one required")
    return Check(True, sum(float(d.values[i]) * counts[i] for i in range(n)))


def build_model(d: KnapsackData) -> pyo.ConcreteModel:
    """The MILP of the module docstring as a Pyomo model: ``take[i]``, ``capacity[r]``, ``group[g]``.

    Extend it with your own constraints and solve it with ``allocopt.solve(instance, method="milp",
    model=model)`` or any Pyomo solver.
    """
    model = pyo.ConcreteModel(name="knapsack")
    items = range(d.n)
    model.take = pyo.Var(items, domain=pyo.NonNegativeIntegers, bounds=lambda _, i: (0, int(d.copies[i])))
    model.value = pyo.Objective(
        expr=sum(float(d.values[i]) * model.take[i] for i in items if d.values[i]), sense=pyo.maximize
    )

    def capacity_row(mdl: pyo.ConcreteModel, r: int) -> Any:
        terms = [float(d.weights[r, i]) * mdl.take[i] for i in items if d.weights[r, i]]
        return sum(terms) <= float(d.capacity[r]) if terms else pyo.Constraint.Skip

    model.capacity = pyo.Constraint(range(d.m), rule=capacity_row)
    if d.groups is not None:
        multi = [i for i in items if d.copies[i] > 1]
        model.use = pyo.Var(multi, domain=pyo.Binary)
        # use[i] = 1 exactly when item i is taken: c_i use_i >= take_i >= use_i.
        model.link = pyo.Constraint(multi, rule=lambda mdl, i: mdl.take[i] <= int(d.copies[i]) * mdl.use[i])
        model.used = pyo.Constraint(multi, rule=lambda mdl, i: mdl.take[i] >= mdl.use[i])
        members: dict[int, list[int]] = {}
        for i in items:
            members.setdefault(int(d.groups[i]), []).append(i)

        def group_row(mdl: pyo.ConcreteModel, g: int) -> Any:
            chosen = sum(mdl.use[i] if d.copies[i] > 1 else mdl.take[i] for i in members[g])
            return chosen == 1 if d.choose == "exactly_one" else chosen <= 1

        model.group = pyo.Constraint(sorted(members), rule=group_row)
    return model


def decode(model: pyo.ConcreteModel, d: KnapsackData) -> dict[str, Any]:
    """Read ``take`` back from a solved model (rounded: MILP solvers return 0.9999999 for 1)."""
    return {"take": [round(pyo.value(model.take[i], exception=False) or 0.0) for i in range(d.n)]}
