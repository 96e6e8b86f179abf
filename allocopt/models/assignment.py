r"""Assignment: rows (tokens, tasks) to columns (experts, agents), with demands and capacities.

Data: n rows and m columns, a cost (or, with ``sense: "max"``, a score) :math:`c_{ij}` for each allowed
pair :math:`(i, j) \in A` (a ``null`` cost forbids the pair), a demand :math:`d_i` per row (how many
*distinct* columns row i must get; k in top-k routing) and a capacity :math:`u_j` per column:

.. math::

    \min\ (\text{or } \max) \sum_{(i,j) \in A} c_{ij} x_{ij} \quad\text{s.t.}\quad
    \sum_{j:(i,j) \in A} x_{ij} = d_i \;\; (\text{row } i), \qquad
    \sum_{i:(i,j) \in A} x_{ij} \le u_j \;\; (\text{column } j), \qquad x_{ij} \in \{0, 1\}.

With n = m and all :math:`d_i = u_j = 1` it is the linear assignment problem; with :math:`d_i = k` and
:math:`u_j = nk/m` it is balanced top-k token-to-expert routing; in general it is a transportation
problem whose arcs carry at most one unit (a row takes a column at most once).

The constraint matrix is the incidence matrix of a bipartite graph, hence totally unimodular: the LP
relaxation (:math:`0 \le x_{ij} \le 1`) has integral vertices, so a simplex optimum is an integral
optimum, and the LP duals of the column rows are exact prices :math:`p_j \ge 0` on the columns.

Feasibility is a flow question: a solution exists iff the network source -> row i (capacity
:math:`d_i`) -> column j (1 per allowed pair) -> sink (:math:`u_j`) carries :math:`\sum_i d_i`. The
cheap necessary conditions are in ``infeasibility``; the exact (Hall-type) condition needs a max flow
and is checked by the methods.

The MILP (``build_model``) is the formulation above, with a binary ``x[i, j]`` per allowed pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from allocopt.errors import DataError
from allocopt.registry import Check


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class AssignmentData:
    """Validated assignment data. Arrays are read-only.

    ``cost`` is n x m with NaN where the pair is forbidden (``allowed`` is False there); ``demand`` and
    ``capacity`` are int64. The ``*_given`` flags only make ``to_data`` write back what was read.
    """

    cost: np.ndarray
    allowed: np.ndarray
    sense: str
    demand: np.ndarray
    capacity: np.ndarray
    sense_given: bool = False
    demand_given: bool = False
    capacity_given: bool = False

    @property
    def n(self) -> int:
        return self.cost.shape[0]

    @property
    def m(self) -> int:
        return self.cost.shape[1]

    @property
    def maximize(self) -> bool:
        return self.sense == "max"

    @property
    def total_demand(self) -> int:
        return int(self.demand.sum())

    @property
    def total_capacity(self) -> int:
        return int(self.capacity.sum())

    @property
    def unit(self) -> bool:
        """Every demand and capacity is 1: the (rectangular) linear assignment problem."""
        return bool(np.all(self.demand == 1) and np.all(self.capacity == 1))

    def min_cost(self) -> np.ndarray:
        """The costs in minimisation form (scores negated when maximizing), +inf where forbidden.

        This is what the engines take: one sense, and a forbidden pair is simply infinitely expensive.
        """
        c = -self.cost if self.maximize else self.cost.copy()
        c[~self.allowed] = np.inf
        return c

    def kind(self) -> str:
        """A short description such as 'top-2 routing 16384 x 64 (capacity 512)'."""
        size = f"{self.n} x {self.m}"
        forbidden = "" if self.allowed.all() else f", {int((~self.allowed).sum())} forbidden pairs"
        if self.unit:
            return f"linear assignment {size} ({self.sense}{forbidden})"
        ks = np.unique(self.demand)
        caps = np.unique(self.capacity)
        cap = str(int(caps[0])) if len(caps) == 1 else f"{int(caps.min())}..{int(caps.max())}"
        if len(ks) == 1:
            return f"top-{int(ks[0])} routing {size} (capacity {cap}, {self.sense}{forbidden})"
        return (
            f"transportation {size} (demand {int(ks.min())}..{int(ks.max())}, capacity {cap}, {self.sense}{forbidden})"
        )


def parse(data: Mapping[str, Any]) -> AssignmentData:
    """Build the data from a schema-valid ``data`` object; raise DataError for what a schema cannot check."""
    rows = data["cost"]
    n = len(rows)
    cap_raw = data.get("capacity")
    m = len(rows[0]) if n else (len(cap_raw) if cap_raw is not None else 0)
    for i, row in enumerate(rows):
        if len(row) != m:
            raise DataError(("cost", i), f"expected {m} entries (as many as cost[0]), got {len(row)}")
    # numpy turns null (None) into NaN with a float dtype: the forbidden pairs.
    cost = np.array(rows, dtype=np.float64).reshape(n, m)
    allowed = ~np.isnan(cost)
    demand_raw = data.get("demand")
    if demand_raw is not None and len(demand_raw) != n:
        raise DataError(("demand",), f"expected {n} counts (one per row of cost), got {len(demand_raw)}")
    if cap_raw is not None and len(cap_raw) != m:
        raise DataError(("capacity",), f"expected {m} counts (one per column of cost), got {len(cap_raw)}")
    demand = np.ones(n, dtype=np.int64) if demand_raw is None else np.asarray(demand_raw, dtype=np.int64)
    capacity = np.ones(m, dtype=np.int64) if cap_raw is None else np.asarray(cap_raw, dtype=np.int64)
    return AssignmentData(
        cost=_frozen(cost),
        allowed=_frozen(allowed),
        sense=data.get("sense", "min"),
        demand=_frozen(demand),
        capacity=_frozen(capacity),
        sense_given="sense" in data,
        demand_given=demand_raw is not None,
        capacity_given=cap_raw is not None,
    )


def _number(x: float) -> int | float:
    """Write integral floats as JSON integers."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def to_data(d: AssignmentData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    out: dict[str, Any] = {
        "cost": [
            [_number(c) if ok else None for c, ok in zip(row, mask, strict=True)]
            for row, mask in zip(d.cost.tolist(), d.allowed.tolist(), strict=True)
        ]
    }
    if d.sense_given or d.maximize:
        out["sense"] = d.sense
    if d.demand_given:
        out["demand"] = [int(k) for k in d.demand]
    if d.capacity_given:
        out["capacity"] = [int(u) for u in d.capacity]
    return out


def infeasibility(d: AssignmentData) -> str | None:
    """The cheap reasons no assignment exists (counting), or None.

    Passing these is necessary, not sufficient: a group of rows can still compete for too few columns
    (a Hall-type shortage), which only a max flow detects.
    """
    need, offer = d.total_demand, d.total_capacity
    if need > offer:
        return f"rows need {need} assignments, columns offer {offer}"
    # A row takes a column at most once, and a column of capacity 0 takes nobody.
    usable = (d.allowed & (d.capacity > 0)[None, :]).sum(axis=1)
    short = np.flatnonzero(usable < d.demand)
    if len(short):
        i = int(short[0])
        k, a = int(d.demand[i]), int(usable[i])
        verb = "is" if a == 1 else "are"
        more = f" ({len(short) - 1} more rows are short too)" if len(short) > 1 else ""
        return f"row {i} needs {k} distinct columns but only {a} {verb} allowed{more}"
    return None


def check(d: AssignmentData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the instance data, sharing nothing with any method."""
    assign = solution.get("assign")
    n, m = d.n, d.m
    if not isinstance(assign, list) or len(assign) != n:
        return Check(False, None, f"solution.assign must be a list of {n} lists of column indices")
    cost = d.cost.tolist()
    allowed = d.allowed.tolist()
    load = [0] * m
    total = 0.0
    for i, cols in enumerate(assign):
        if not isinstance(cols, list):
            return Check(False, None, f"solution.assign[{i}] must be a list of column indices")
        if len(cols) != int(d.demand[i]):
            return Check(False, None, f"row {i} gets {len(cols)} columns, its demand is {int(d.demand[i])}")
        seen: set[int] = set()
        for j in cols:
            if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < m:
                return Check(False, None, f"solution.assign[{i}] holds {j!r}, not a column index in 0..{m - 1}")
            if j in seen:
                return Check(False, None, f"row {i} gets column {j} twice (columns must be distinct)")
            if not allowed[i][j]:
                return Check(False, None, f"row {i} is assigned to column {j}, a forbidden pair")
            seen.add(j)
            load[j] += 1
            total += cost[i][j]
    for j in range(m):
        if load[j] > int(d.capacity[j]):
            return Check(False, None, f"column {j} takes {load[j]} rows, its capacity is {int(d.capacity[j])}")
    return Check(True, total)


def build_model(d: AssignmentData) -> pyo.ConcreteModel:
    """The MILP of the module docstring as a Pyomo model: ``x[i, j]``, ``demand[i]``, ``capacity[j]``.

    Extend it with your own constraints and solve it with ``allocopt.solve(instance, method="milp",
    model=model)`` or any Pyomo solver.
    """
    model = pyo.ConcreteModel(name="assignment")
    rows_i, cols_j = np.nonzero(d.allowed)
    pairs = list(zip(rows_i.tolist(), cols_j.tolist(), strict=True))
    model.x = pyo.Var(pairs, domain=pyo.Binary)
    model.cost = pyo.Objective(
        expr=sum(float(d.cost[i, j]) * model.x[i, j] for i, j in pairs if d.cost[i, j]),
        sense=pyo.maximize if d.maximize else pyo.minimize,
    )
    by_row: list[list[int]] = [[] for _ in range(d.n)]
    by_col: list[list[int]] = [[] for _ in range(d.m)]
    for i, j in pairs:
        by_row[i].append(j)
        by_col[j].append(i)

    def demand_row(mdl: pyo.ConcreteModel, i: int) -> Any:
        # A row with no allowed pair and a positive demand has no terms: the model is infeasible.
        if not by_row[i]:
            return pyo.Constraint.Feasible if d.demand[i] == 0 else pyo.Constraint.Infeasible
        return sum(mdl.x[i, j] for j in by_row[i]) == int(d.demand[i])

    def capacity_row(mdl: pyo.ConcreteModel, j: int) -> Any:
        if not by_col[j] or len(by_col[j]) <= d.capacity[j]:
            return pyo.Constraint.Skip  # cannot bind
        return sum(mdl.x[i, j] for i in by_col[j]) <= int(d.capacity[j])

    model.demand = pyo.Constraint(range(d.n), rule=demand_row)
    model.capacity = pyo.Constraint(range(d.m), rule=capacity_row)
    return model


def decode(model: pyo.ConcreteModel, d: AssignmentData) -> dict[str, Any]:
    """Read ``assign`` back from a solved model (x > 0.5: MILP solvers return 0.9999999 for 1)."""
    assign: list[list[int]] = [[] for _ in range(d.n)]
    for (i, j), var in model.x.items():
        if (pyo.value(var, exception=False) or 0.0) > 0.5:
            assign[i].append(j)
    return {"assign": assign}
