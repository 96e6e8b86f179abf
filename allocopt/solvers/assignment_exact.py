r"""Exact assignment: linear assignment by scipy, the transportation LP by HiGHS, and Hall's condition by max flow.

Every function takes the costs in minimisation form: an n x m float array ``c`` with ``+inf`` on forbidden
pairs, row demands ``d`` and column capacities ``u``.

- ``solve_unit`` (all :math:`d_i = u_j = 1`, n <= m): scipy's shortest-augmenting-path solver
  (``linear_sum_assignment``, which takes +inf for a forbidden pair), or, when few pairs are allowed,
  the sparse LAPJVsp of ``min_weight_full_bipartite_matching``.
- ``solve_lp`` (any demands and capacities): the LP relaxation :math:`0 \le x_{ij} \le 1` is integral
  (the constraint matrix is totally unimodular), so HiGHS's simplex vertex *is* the integral optimum.
  The full LP has n m columns (10^6 for 16,384 tokens x 64 experts) and simplex on it takes several
  seconds, but almost all of those columns are useless: a row ends up on a column far down its own
  ranking only when capacities push it there. So the LP starts from each row's :math:`d_i + 1` cheapest
  columns at estimated column prices (an auction's, when the caller has them) plus the pairs of a known
  assignment (which keeps it feasible), and *prices* the rest with the duals (column generation): with
  row duals :math:`\alpha_i` and column prices :math:`p_j = -y_j \ge 0`, a left-out pair can improve the
  LP iff its reduced cost :math:`c_{ij} + p_j - \alpha_i < 0`; those are added and HiGHS re-solves from
  its basis. When none is left, the restricted optimum is optimal for the full LP, and the Lagrangian
  value :math:`L(p)` over *all* pairs (``balancing_prices.dual_value``) certifies it independently of
  HiGHS's own bookkeeping (should HiGHS's duals be too inexact for that, its own optimal value is the bound).
- ``hall_violation``: when no assignment exists, a maximum flow's minimum cut names the rows that
  compete for too few columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import highspy
import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import breadth_first_order, maximum_flow, min_weight_full_bipartite_matching

from allocopt.solvers.balancing_prices import dual_value

#: ``solve_unit`` switches to the sparse matching below this fraction of allowed pairs (and above SPARSE_MIN_PAIRS).
SPARSE_DENSITY = 0.05
SPARSE_MIN_PAIRS = 100_000
#: Column generation stops adding columns after this many rounds and solves the full LP instead.
MAX_ROUNDS = 50


def solve_unit(c: np.ndarray) -> tuple[np.ndarray | None, str]:
    """The optimal column of each row when every demand and capacity is 1 (n <= m), or None if there is no
    assignment; and which algorithm ran ("linear_sum_assignment" or "min_weight_full_bipartite_matching")."""
    n, m = c.shape
    finite = np.isfinite(c)
    pairs = int(finite.sum())
    if n > 0 and SPARSE_MIN_PAIRS <= pairs < SPARSE_DENSITY * n * m:
        rows, cols = np.nonzero(finite)
        # Shift costs to >= 1: a sparse matrix must not hold an allowed pair as a zero entry. Every row is
        # matched once, so the shift changes every full matching's cost by the same n * shift.
        w = c[rows, cols] - c[rows, cols].min() + 1.0
        graph = sparse.csr_matrix((w, (rows, cols)), shape=(n, m))
        algorithm = "min_weight_full_bipartite_matching"
        try:
            r, col = min_weight_full_bipartite_matching(graph)
        except ValueError:  # "no full matching exists"
            return None, algorithm
    else:
        algorithm = "linear_sum_assignment"
        try:
            r, col = linear_sum_assignment(c)  # +inf marks a forbidden pair
        except ValueError:  # "cost matrix is infeasible"
            return None, algorithm
    out = np.empty(n, dtype=np.int64)
    out[r] = col
    return out, algorithm


@dataclass(frozen=True)
class LPResult:
    r"""The transportation LP's answer.

    ``cols`` holds each row's columns, flat by row (row i's are ``cols[start_i : start_i + d_i]``);
    ``bound`` is L(prices) over all pairs; ``prices`` are the column-capacity duals :math:`p_j \ge 0`
    (in objective units of the minimisation form); ``pairs`` is how many pairs the final LP held.
    """

    status: Literal["optimal", "infeasible", "time_limit", "error"]
    cols: np.ndarray | None = None
    objective: float | None = None
    bound: float | None = None
    prices: np.ndarray | None = None
    rounds: int = 0
    pairs: int = 0
    message: str | None = None


def _candidates(c: np.ndarray, usable: np.ndarray, demand: np.ndarray, extra: int) -> np.ndarray:
    """Mask of each row's d_i + extra cheapest usable pairs (all of them when a row has fewer)."""
    n, m = c.shape
    r = int(min(m, demand.max(initial=0) + extra))
    if r >= m:
        return usable.copy()
    masked = np.where(usable, c, np.inf)
    part = np.argpartition(masked, r - 1, axis=1)[:, :r]
    order = np.argsort(np.take_along_axis(masked, part, axis=1), axis=1, kind="stable")
    part = np.take_along_axis(part, order, axis=1)
    keep = np.arange(r)[None, :] < (demand + extra)[:, None]
    mask = np.zeros((n, m), dtype=bool)
    np.put_along_axis(mask, part, keep, axis=1)
    return mask & usable


def _lp(c: np.ndarray, rows: np.ndarray, cols: np.ndarray, demand: np.ndarray, cap: np.ndarray) -> highspy.HighsLp:
    """min c x over the given pairs; row i: sum_j x_ij = d_i; column j: sum_i x_ij <= u_j; 0 <= x <= 1."""
    n, m = c.shape
    k = len(rows)
    lp = highspy.HighsLp()
    lp.num_col_ = k
    lp.num_row_ = n + m
    lp.col_cost_ = c[rows, cols].astype(np.float64)
    lp.col_lower_ = np.zeros(k)
    lp.col_upper_ = np.ones(k)
    lp.row_lower_ = np.concatenate([demand.astype(np.float64), np.full(m, -np.inf)])
    lp.row_upper_ = np.concatenate([demand.astype(np.float64), cap.astype(np.float64)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, 2 * k + 1, 2, dtype=np.int32)
    lp.a_matrix_.index_ = _entries(rows, cols, n)
    lp.a_matrix_.value_ = np.ones(2 * k)
    return lp


def _entries(rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """Each pair's column of the constraint matrix: a 1 in its row's row and in its column's row."""
    idx = np.empty(2 * len(rows), dtype=np.int32)
    idx[0::2] = rows
    idx[1::2] = n + cols
    return idx


def _highs(time_limit: float | None) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    # Presolve finds little to remove in a matrix with two ones per column, and costs a third of the time.
    h.setOptionValue("presolve", "off")
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    return h


def solve_lp(
    c: np.ndarray,
    demand: np.ndarray,
    cap: np.ndarray,
    prices: np.ndarray | None = None,
    include: np.ndarray | None = None,
    extra: int = 1,
    time_limit: float | None = None,
) -> LPResult:
    """The exact optimum by the transportation LP with column generation (module docstring).

    The first LP holds each row's d_i + ``extra`` cheapest pairs at ``prices`` (estimated column prices,
    e.g. an auction's: the closer to the LP duals, the fewer pairs need adding) and the pairs of the
    assignment ``include`` (flat by row), which keeps it feasible. Neither affects the answer, only speed.
    """
    n, m = c.shape
    demand = demand.astype(np.int64)
    cap = cap.astype(np.int64)
    usable = np.isfinite(c) & (cap > 0)[None, :]
    scale = max(1.0, float(np.abs(c[usable]).max(initial=0.0)))
    tol = 1e-9 * scale
    ranked = c if prices is None else c + np.asarray(prices, dtype=np.float64)[None, :]
    while True:
        mask = _candidates(ranked, usable, demand, extra)
        if include is not None:
            mask[np.repeat(np.arange(n), demand), include] = True
        rows, cols = np.nonzero(mask)
        h = _highs(time_limit)
        h.passModel(_lp(c, rows, cols, demand, cap))
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible and not np.array_equal(mask, usable):
            extra = max(4 * extra, 8)  # the cheapest pairs alone cannot serve every row: widen
            continue
        break
    rounds = 1
    while status == highspy.HighsModelStatus.kOptimal:
        sol = h.getSolution()
        y = np.asarray(sol.row_dual, dtype=np.float64)
        p = np.maximum(-y[n:], 0.0)  # dual of a <= row of a minimisation is <= 0
        reduced = c + p[None, :] - y[:n, None]
        add = usable & ~mask & (reduced < -tol)
        if not add.any():
            break
        if rounds >= MAX_ROUNDS:
            add = usable & ~mask  # slow convergence: finish on the full LP
        new_rows, new_cols = np.nonzero(add)
        k = len(new_rows)
        h.addCols(
            k,
            c[new_rows, new_cols].astype(np.float64),
            np.zeros(k),
            np.ones(k),
            2 * k,
            np.arange(0, 2 * k, 2, dtype=np.int32),
            _entries(new_rows, new_cols, n),
            np.ones(2 * k),
        )
        rows = np.concatenate([rows, new_rows])
        cols = np.concatenate([cols, new_cols])
        mask |= add
        h.run()
        status = h.getModelStatus()
        rounds += 1
    if status == highspy.HighsModelStatus.kInfeasible:
        return LPResult("infeasible", rounds=rounds, pairs=len(rows))
    if status == highspy.HighsModelStatus.kTimeLimit:
        return LPResult("time_limit", rounds=rounds, pairs=len(rows), message="HiGHS reached the time limit")
    if status != highspy.HighsModelStatus.kOptimal:
        return LPResult("error", rounds=rounds, pairs=len(rows), message=f"HiGHS: {h.modelStatusToString(status)}")
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    chosen = _integral(x, rows, cols, demand, cap, n, m)
    if chosen is None:
        # A simplex vertex of this LP is integral; a fractional or inconsistent answer means numerical
        # trouble, so let HiGHS's MIP solve the same (restricted, still optimal) model.
        h.changeColsIntegrality(len(x), np.arange(len(x), dtype=np.int32), np.ones(len(x), dtype=np.uint8))
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            chosen = _integral(np.asarray(h.getSolution().col_value), rows, cols, demand, cap, n, m)
        if chosen is None:
            return LPResult("error", rounds=rounds, pairs=len(rows), message="the LP solution is not integral")
    order = np.lexsort((cols[chosen], rows[chosen]))
    flat = cols[chosen][order].astype(np.int64)
    objective = float(c[rows[chosen], cols[chosen]].sum())
    bound = dual_value(c, demand, cap, p)
    if objective - bound > 1e-9 * max(1.0, abs(objective)):
        bound = min(objective, float(h.getInfo().objective_function_value))
    return LPResult("optimal", flat, objective, bound, p, rounds, len(rows))


def _integral(
    x: np.ndarray, rows: np.ndarray, cols: np.ndarray, demand: np.ndarray, cap: np.ndarray, n: int, m: int
) -> np.ndarray | None:
    """Indices of the pairs with x = 1 if x is 0/1 and meets every demand and capacity, else None."""
    if np.any(np.abs(x - np.round(x)) > 1e-6):
        return None
    chosen = np.flatnonzero(x > 0.5)
    if not np.array_equal(np.bincount(rows[chosen], minlength=n), demand):
        return None
    if np.any(np.bincount(cols[chosen], minlength=m) > cap):
        return None
    return chosen


@dataclass(frozen=True)
class HallViolation:
    """Rows that cannot all be served (Hall's condition fails for them).

    The rows need ``need`` assignments; the columns they may use (``cols``) have ``capacity`` in all, but
    can give them only ``offer`` < ``need``: column j gives at most min(u_j, how many of the rows allow j),
    since a row takes a column once.
    """

    rows: np.ndarray
    cols: np.ndarray
    need: int
    offer: int
    capacity: int


def hall_violation(allowed: np.ndarray, demand: np.ndarray, cap: np.ndarray) -> HallViolation | None:
    """Rows that compete for too few columns, or None when an assignment exists.

    The maximum flow of source -> row i (d_i) -> column j (1 per allowed pair) -> sink (u_j) serves every
    demand iff an assignment exists. Otherwise the rows on the source side of its minimum cut are such a
    group: the cut's capacity, which is less than the total demand, is at least what their columns can give.
    """
    n, m = allowed.shape
    # no row takes more than m columns, no column more than n rows: this keeps capacities within int32
    demand = np.minimum(demand.astype(np.int64), m + 1)
    cap = np.minimum(cap.astype(np.int64), n)
    usable = allowed & (cap > 0)[None, :]
    pr, pc = np.nonzero(usable)
    src_rows = np.flatnonzero(demand > 0)
    sink_cols = np.flatnonzero(cap > 0)
    s, t = 0, n + m + 1
    tail = np.concatenate([np.zeros(len(src_rows), np.int64), 1 + pr, 1 + n + sink_cols])
    head = np.concatenate([1 + src_rows, 1 + n + pc, np.full(len(sink_cols), t)])
    capacity = np.concatenate([demand[src_rows], np.ones(len(pr), np.int64), cap[sink_cols]])
    graph = sparse.csr_matrix((capacity.astype(np.int32), (tail, head)), shape=(t + 1, t + 1))
    flow = maximum_flow(graph, s, t)
    if flow.flow_value >= int(demand.sum()):
        return None
    residual = (graph - flow.flow).tocsr()
    residual.data[residual.data < 0] = 0
    residual.eliminate_zeros()
    reached = np.zeros(t + 1, dtype=bool)
    reached[breadth_first_order(residual, s, directed=True, return_predecessors=False)] = True
    rows = np.flatnonzero(reached[1 : n + 1])
    degree = usable[rows].sum(axis=0)
    cols = np.flatnonzero(degree > 0)
    offer = int(np.minimum(cap[cols], degree[cols]).sum())
    return HallViolation(rows, cols, int(demand[rows].sum()), offer, int(cap[cols].sum()))
