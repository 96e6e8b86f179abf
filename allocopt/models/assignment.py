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

**Expert choice** (Zhou et al. 2022, "Mixture-of-Experts with Expert Choice Routing"). With
``column_demand`` :math:`k_j` (column j takes *exactly* :math:`k_j` rows: each expert picks its tokens) and
optional ``row_capacity`` :math:`r_i` (row i gets *at most* :math:`r_i` columns; a row may get none), used
instead of ``demand`` and ``capacity``:

.. math::

    \min\ (\text{or } \max) \sum_{(i,j) \in A} c_{ij} x_{ij} \quad\text{s.t.}\quad
    \sum_{i:(i,j) \in A} x_{ij} = k_j \;\; (\text{column } j), \qquad
    \sum_{j:(i,j) \in A} x_{ij} \le r_i \;\; (\text{row } i), \qquad x_{ij} \in \{0, 1\}.

It is the problem above on the transposed cost matrix (columns become the rows that must be served, rows the
columns with capacities), so everything said above holds: the LP is integral, and a feasibility failure is
a max-flow cut. Without ``row_capacity`` (or when no :math:`r_i` can bind) the problem separates by column:
column j's :math:`k_j` cheapest allowed rows, per-expert top-k, is optimal. More generally the per-column
top-k solves the relaxation without the row constraints, so whenever it happens to meet every
:math:`r_i` it is optimal for the full problem.
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

    Expert choice (``column_demand`` given, ``expert_choice`` True): ``column_demand`` (m) and
    ``row_capacity`` (n; None when not given, i.e. unlimited) hold the constraints; ``demand`` and
    ``capacity`` then do not apply (they are set to what is true of every solution: no row must get a
    column, column j takes at most ``column_demand[j]`` rows) and methods work on ``transposed()``.
    ``transposed`` marks data that *is* such a transposed view: its rows are the instance's columns, which
    only changes the words of its infeasibility messages.
    """

    cost: np.ndarray
    allowed: np.ndarray
    sense: str
    demand: np.ndarray
    capacity: np.ndarray
    sense_given: bool = False
    demand_given: bool = False
    capacity_given: bool = False
    column_demand: np.ndarray | None = None
    row_capacity: np.ndarray | None = None
    transposed: bool = False

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
    def expert_choice(self) -> bool:
        """Columns choose their rows (``column_demand`` given)."""
        return self.column_demand is not None

    @property
    def total_demand(self) -> int:
        return int(self.demand.sum())

    @property
    def total_capacity(self) -> int:
        return int(self.capacity.sum())

    @property
    def unit(self) -> bool:
        """Every demand and capacity is 1: the (rectangular) linear assignment problem."""
        if self.expert_choice:
            return False
        return bool(np.all(self.demand == 1) and np.all(self.capacity == 1))

    @property
    def words(self) -> tuple[str, str]:
        """What this data's rows and columns are called in the instance ("row", "column"; swapped if transposed)."""
        return ("column", "row") if self.transposed else ("row", "column")

    def transposed_view(self) -> AssignmentData:
        r"""An expert-choice instance as the standard problem on the transposed costs (module docstring).

        Rows of the view are the instance's columns, with demand :math:`k_j`; its columns are the instance's
        rows, with capacity :math:`r_i` (m when not given: a row never takes more than the m columns).
        """
        if self.column_demand is None:
            raise ValueError("transposed_view() is for expert-choice data (column_demand given)")
        cap = np.full(self.n, self.m, dtype=np.int64) if self.row_capacity is None else self.row_capacity.copy()
        return AssignmentData(
            cost=_frozen(np.ascontiguousarray(self.cost.T)),
            allowed=_frozen(np.ascontiguousarray(self.allowed.T)),
            sense=self.sense,
            demand=_frozen(self.column_demand.copy()),
            capacity=_frozen(cap),
            transposed=True,
        )

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
        if self.column_demand is not None:
            r = "unlimited" if self.row_capacity is None else _span(self.row_capacity)
            return (
                f"expert-choice routing {size} (column demand {_span(self.column_demand)}, row capacity {r}, "
                f"{self.sense}{forbidden})"
            )
        if self.unit:
            return f"linear assignment {size} ({self.sense}{forbidden})"
        ks = np.unique(self.demand)
        cap = _span(self.capacity)
        if len(ks) == 1:
            return f"top-{int(ks[0])} routing {size} (capacity {cap}, {self.sense}{forbidden})"
        return f"transportation {size} (demand {_span(self.demand)}, capacity {cap}, {self.sense}{forbidden})"


def _span(a: np.ndarray) -> str:
    """'4' when every entry is 4, '1..3' when they range, 'none' when there are none."""
    if len(a) == 0:
        return "none"
    lo, hi = int(a.min()), int(a.max())
    return str(lo) if lo == hi else f"{lo}..{hi}"


def parse(data: Mapping[str, Any]) -> AssignmentData:
    """Build the data from a schema-valid ``data`` object; raise DataError for what a schema cannot check."""
    rows = data["cost"]
    n = len(rows)
    cap_raw = data.get("capacity")
    col_demand_raw = data.get("column_demand")
    row_cap_raw = data.get("row_capacity")
    # A column count decides m when there are no rows to read it from.
    width = cap_raw if cap_raw is not None else col_demand_raw
    m = len(rows[0]) if n else (len(width) if width is not None else 0)
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
    column_demand = row_capacity = None
    if col_demand_raw is not None or row_cap_raw is not None:
        column_demand, row_capacity = _expert_choice(data, n, m)
    if column_demand is not None:
        # FORMAT.md: column_demand and row_capacity are used *instead of* demand and capacity; what is true of
        # every expert-choice solution fills those two (see AssignmentData).
        demand = np.zeros(n, dtype=np.int64)
        capacity = column_demand.copy()
    else:
        demand = np.ones(n, dtype=np.int64) if demand_raw is None else _counts(demand_raw, "demand")
        capacity = np.ones(m, dtype=np.int64) if cap_raw is None else _counts(cap_raw, "capacity")
    return AssignmentData(
        cost=_frozen(cost),
        allowed=_frozen(allowed),
        sense=data.get("sense", "min"),
        demand=_frozen(demand),
        capacity=_frozen(capacity),
        sense_given="sense" in data,
        demand_given=demand_raw is not None,
        capacity_given=cap_raw is not None,
        column_demand=None if column_demand is None else _frozen(column_demand),
        row_capacity=None if row_capacity is None else _frozen(row_capacity),
    )


def _expert_choice(data: Mapping[str, Any], n: int, m: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``column_demand`` and ``row_capacity`` (None if not given), checked against the shape and the other fields.

    They replace ``demand`` (exact, per row) and ``capacity`` (at most, per column) by ``row_capacity`` (at most,
    per row) and ``column_demand`` (exact, per column); mixing the two pairs would leave a side with two rules,
    so it is refused, and ``row_capacity`` alone (nobody must be served) is refused too.
    """
    col_demand_raw = data.get("column_demand")
    row_cap_raw = data.get("row_capacity")
    if col_demand_raw is None:
        raise DataError(
            ("row_capacity",),
            "expected only together with column_demand (expert choice: each column takes exactly "
            "column_demand[j] rows); for token choice give demand and capacity",
        )
    if "capacity" in data:
        raise DataError(
            ("capacity",),
            "expected no capacity with column_demand: column j takes exactly column_demand[j] rows (expert "
            "choice); drop capacity",
        )
    if "demand" in data:
        raise DataError(
            ("demand",),
            "expected no demand with column_demand: in expert choice a row gets any number of columns up to "
            "row_capacity[i]; give row_capacity instead",
        )
    if len(col_demand_raw) != m:
        raise DataError(("column_demand",), f"expected {m} counts (one per column of cost), got {len(col_demand_raw)}")
    if row_cap_raw is not None and len(row_cap_raw) != n:
        raise DataError(("row_capacity",), f"expected {n} counts (one per row of cost), got {len(row_cap_raw)}")
    column_demand = _counts(col_demand_raw, "column_demand").reshape(m)
    row_capacity = None if row_cap_raw is None else _counts(row_cap_raw, "row_capacity").reshape(n)
    return column_demand, row_capacity


#: Counts above this are refused: a larger one means nothing more (no row takes more than m columns, no column
#: more than n rows), and below it every sum of counts fits in int64.
MAX_COUNT = 2**31 - 1


def _counts(raw: Any, key: str) -> np.ndarray:
    """A schema-valid list of counts as int64; a count too large for that is a DataError, not an overflow."""
    try:
        out = np.asarray(raw, dtype=np.int64)
    except OverflowError:
        out = None
    if out is None or (len(out) and int(out.max()) > MAX_COUNT):
        i = next(i for i, x in enumerate(raw) if x > MAX_COUNT)
        raise DataError((key, i), f"expected a count of at most {MAX_COUNT}, got {raw[i]}")
    return out


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
    if d.column_demand is not None:
        out["column_demand"] = [int(k) for k in d.column_demand]
    if d.row_capacity is not None:
        out["row_capacity"] = [int(r) for r in d.row_capacity]
    return out


def infeasibility(d: AssignmentData) -> str | None:
    """The cheap reasons no assignment exists (counting), or None.

    Passing these is necessary, not sufficient: a group of rows can still compete for too few columns
    (a Hall-type shortage), which only a max flow detects. In expert choice the columns are the ones that must
    be served and the rows offer the room (a row without ``row_capacity`` offers one place per column).
    """
    if d.column_demand is not None:
        room = np.full(d.n, d.m, dtype=np.int64) if d.row_capacity is None else d.row_capacity
        return _shortage(d.allowed.T, d.column_demand, room, ("column", "row"))
    return _shortage(d.allowed, d.demand, d.capacity, d.words)


def _shortage(allowed: np.ndarray, need: np.ndarray, room: np.ndarray, words: tuple[str, str]) -> str | None:
    """Counting on the standard orientation: side ``words[0]`` needs ``need`` distinct partners of ``words[1]``."""
    served, server = words
    total_need, total_room = int(need.sum()), int(room.sum())
    if total_need > total_room:
        return f"{served}s need {total_need} assignments, {server}s offer {total_room}"
    # A row takes a column at most once, and a column of capacity 0 takes nobody.
    usable = (allowed & (room > 0)[None, :]).sum(axis=1)
    short = np.flatnonzero(usable < need)
    if len(short):
        i = int(short[0])
        k, a = int(need[i]), int(usable[i])
        verb = "is" if a == 1 else "are"
        more = f" ({len(short) - 1} more {served}s are short too)" if len(short) > 1 else ""
        return f"{served} {i} needs {k} distinct {server}s but only {a} {verb} allowed{more}"
    return None


def check(d: AssignmentData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the instance data, sharing nothing with any method.

    Token choice: row i gets exactly ``demand[i]`` columns, column j at most ``capacity[j]`` rows. Expert
    choice: column j gets exactly ``column_demand[j]`` rows, row i at most ``row_capacity[i]`` columns.
    Either way a row's columns are distinct and allowed.
    """
    assign = solution.get("assign")
    n, m = d.n, d.m
    if not isinstance(assign, list) or len(assign) != n:
        return Check(False, None, f"solution.assign must be a list of {n} lists of column indices")
    experts_choose = d.column_demand is not None
    row_limit = None if d.row_capacity is None else [int(r) for r in d.row_capacity]
    cost = d.cost.tolist()
    allowed = d.allowed.tolist()
    load = [0] * m
    total = 0.0
    for i, cols in enumerate(assign):
        if not isinstance(cols, list):
            return Check(False, None, f"solution.assign[{i}] must be a list of column indices")
        if not experts_choose and len(cols) != int(d.demand[i]):
            return Check(False, None, f"row {i} gets {len(cols)} columns, its demand is {int(d.demand[i])}")
        if row_limit is not None and len(cols) > row_limit[i]:
            return Check(False, None, f"row {i} gets {len(cols)} columns, its row_capacity is {row_limit[i]}")
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
    if d.column_demand is not None:
        for j in range(m):
            if load[j] != int(d.column_demand[j]):
                return Check(
                    False, None, f"column {j} takes {load[j]} rows, its column_demand is {int(d.column_demand[j])}"
                )
        return Check(True, total)
    for j in range(m):
        if load[j] > int(d.capacity[j]):
            return Check(False, None, f"column {j} takes {load[j]} rows, its capacity is {int(d.capacity[j])}")
    return Check(True, total)


def build_model(d: AssignmentData) -> pyo.ConcreteModel:
    """The MILP of the module docstring as a Pyomo model: ``x[i, j]`` and, for token choice, ``demand[i]`` and
    ``capacity[j]``; for expert choice ``column_demand[j]`` and ``row_capacity[i]``.

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
    if d.column_demand is not None:
        _expert_choice_rows(model, d.column_demand, d.row_capacity, by_row, by_col)
        return model

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


def _expert_choice_rows(
    model: pyo.ConcreteModel,
    k: np.ndarray,
    r: np.ndarray | None,
    by_row: list[list[int]],
    by_col: list[list[int]],
) -> None:
    """Expert choice: ``column_demand[j]`` (column j takes exactly k_j rows), ``row_capacity[i]`` (at most r_i;
    written only where it can bind, i.e. below the number of columns row i allows)."""

    def column_demand_row(mdl: pyo.ConcreteModel, j: int) -> Any:
        if not by_col[j]:
            return pyo.Constraint.Feasible if k[j] == 0 else pyo.Constraint.Infeasible
        return sum(mdl.x[i, j] for i in by_col[j]) == int(k[j])

    def row_capacity_row(mdl: pyo.ConcreteModel, i: int) -> Any:
        if r is None or len(by_row[i]) <= r[i]:
            return pyo.Constraint.Skip  # cannot bind
        return sum(mdl.x[i, j] for j in by_row[i]) <= int(r[i])

    model.column_demand = pyo.Constraint(range(len(by_col)), rule=column_demand_row)
    model.row_capacity = pyo.Constraint(range(len(by_row)), rule=row_capacity_row)


def decode(model: pyo.ConcreteModel, d: AssignmentData) -> dict[str, Any]:
    """Read ``assign`` back from a solved model (x > 0.5: MILP solvers return 0.9999999 for 1)."""
    assign: list[list[int]] = [[] for _ in range(d.n)]
    for (i, j), var in model.x.items():
        if (pyo.value(var, exception=False) or 0.0) > 0.5:
            assign[i].append(j)
    return {"assign": assign}
