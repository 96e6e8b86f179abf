r"""Exact winner determination on arrays: weighted set packing with supply rows and one XOR row per bidder.

.. math::

    \max \sum_j v_j x_j \quad\text{s.t.}\quad \sum_{j:\, g \in S_j} x_j \le s_g, \qquad
    \sum_{j \in \text{bidder } i} x_j \le 1 \;(\text{xor}), \qquad x_j \in \{0, 1\}

with :math:`v_j` a bid's price less its bundle's reserve. Solved by HiGHS (highspy, in-process: a start
solution can be handed over, which Pyomo's interface does not do) or by CP-SAT through the library's CP-SAT
runner (exact integer values, scaled by the caller). Before either sees it, the instance is reduced:

- bids with :math:`v_j \le 0` never help and are dropped (a zero-value bid changes nothing);
- a bid j is *dominated* by a bid k when :math:`S_k \subseteq S_j`, :math:`v_k \ge v_j` (ties: the lower index
  wins), j and k cannot both win (they share a good of supply 1, or a bidder under xor), and k has no XOR row
  other than j's: swapping j for k in any solution keeps it feasible and does not lower it, so j is dropped;
- supply rows that cannot bind (no more bids than units) and XOR rows of one bid are left out.

``solve_wdp`` is a pure function of its arguments (arrays in, arrays out), so that VCG's re-solves can run
in other processes or on other machines.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

RunStatus = Literal["solved", "infeasible", "unbounded", "no_solution", "error"]

#: The dominance test compares every pair of bids (dense B x B products): skipped above this many bids.
REDUCE_MAX_BIDS = 4000


@dataclass(frozen=True, eq=False)
class WdpArrays:
    """One auction as arrays: bid j's goods are ``goods_of[bundle_start[j]:bundle_start[j + 1]]``.

    ``value`` is each bid's objective coefficient (price less reserve); ``int_value`` the same times
    ``int_scale``, exactly, as integers (needed by CP-SAT, None when the values cannot be scaled); ``price`` each
    bid's price (what VCG compares payments with). ``bidder`` indexes 0..n_bidders-1.
    """

    bundle_start: np.ndarray
    goods_of: np.ndarray
    supply: np.ndarray
    value: np.ndarray
    price: np.ndarray
    bidder: np.ndarray
    n_bidders: int
    xor: bool
    int_value: np.ndarray | None = None
    int_scale: int = 1

    @property
    def n_bids(self) -> int:
        return int(self.value.shape[0])

    @property
    def n_goods(self) -> int:
        return int(self.supply.shape[0])

    def incidence(self) -> np.ndarray:
        """B x G booleans: bid j asks for good g."""
        a = np.zeros((self.n_bids, self.n_goods), dtype=bool)
        rows = np.repeat(np.arange(self.n_bids), np.diff(self.bundle_start))
        a[rows, self.goods_of] = True
        return a


@dataclass(frozen=True)
class WdpRun:
    """The outcome of one exact solve: ``win`` over all B bids (None without a solution), the objective
    recomputed from ``win``, the solver's bound, and the solver's own words."""

    status: RunStatus
    win: np.ndarray | None
    objective: float | None
    bound: float | None
    solver: str
    termination: str
    message: str | None = None
    runtime: float = 0.0
    reduced_bids: int = 0


def reduce(a: WdpArrays, active: np.ndarray, use_int: bool) -> tuple[np.ndarray, np.ndarray]:
    """Drop dominated bids among ``active`` (see the module docstring).

    Returns the kept mask and, for every bid, an undominated bid that may replace it in a solution (itself
    when kept; -1 for inactive bids).
    """
    value = a.int_value if use_int else a.value
    idx = np.flatnonzero(active)
    dominator = np.full(a.n_bids, -1, dtype=np.int64)
    dominator[idx] = idx
    if idx.size < 2 or idx.size > REDUCE_MAX_BIDS:
        return active.copy(), dominator
    inc = a.incidence()[idx].astype(np.int32)
    sizes = inc.sum(axis=1)
    overlap = inc @ inc.T  # goods two bids share
    subset = overlap == sizes[:, None]  # subset[k, j]: S_k within S_j
    tight = (a.supply == 1).astype(np.int32)
    share_tight = (inc * tight) @ inc.T > 0
    bidder = a.bidder[idx]
    counts = np.bincount(bidder, minlength=a.n_bidders)
    same = bidder[:, None] == bidder[None, :]
    conflict = share_tight | (same & a.xor)
    no_row = ~(a.xor & (counts[bidder] > 1))  # k has no XOR row of its own
    v = value[idx]
    better = (v[:, None] > v[None, :]) | ((v[:, None] == v[None, :]) & (idx[:, None] < idx[None, :]))
    dom = subset & conflict & better & (same | no_row[:, None])
    np.fill_diagonal(dom, False)
    dominated = dom.any(axis=0)
    kept = active.copy()
    kept[idx[dominated]] = False
    # Dominance is transitive: the best-valued dominator of j is itself undominated.
    for pos in np.flatnonzero(dominated):
        cand = np.flatnonzero(dom[:, pos] & ~dominated)
        if cand.size == 0:  # every dominator is dominated in turn: follow the chain
            k = int(np.flatnonzero(dom[:, pos])[0])
            while dominated[k]:
                k = int(np.flatnonzero(dom[:, k])[0])
            cand = np.array([k])
        dominator[idx[pos]] = idx[cand[np.argmax(v[cand])]]
    return kept, dominator


def _start_on(a: WdpArrays, start: np.ndarray, kept: np.ndarray, dominator: np.ndarray) -> np.ndarray:
    """A feasible start over the kept bids: dropped bids of ``start`` swapped for their dominators."""
    out = np.zeros(a.n_bids, dtype=bool)
    for j in np.flatnonzero(start):
        k = dominator[j]
        if k >= 0 and kept[k]:
            out[k] = True
    return out


def solve_wdp(
    a: WdpArrays,
    solver: str = "highs",
    time_limit: float | None = None,
    exclude_bidder: int | None = None,
    start: np.ndarray | None = None,
    threads: int | None = None,
    mip_gap: float = 0.0,
    solver_options: dict | None = None,
    presolve: bool = True,
) -> WdpRun:
    """Solve the WDP of ``a`` exactly (``mip_gap=0``), without the bids of ``exclude_bidder`` if given.

    ``start``: B booleans, a feasible allocation to start from (bids of the excluded bidder are ignored).
    ``threads``: CP-SAT's workers (default 2); ignored by HiGHS, whose threads are fixed per process.
    """
    began = time.perf_counter()
    use_int = solver == "cpsat"
    if use_int and a.int_value is None:
        raise ValueError("CP-SAT needs the integer values (int_value) of the bids")
    value = a.int_value if use_int else a.value
    active = value > 0
    if exclude_bidder is not None:
        active &= a.bidder != exclude_bidder
    if presolve:
        kept, dominator = reduce(a, active, use_int)
    else:
        kept, dominator = active.copy(), np.where(active, np.arange(a.n_bids), -1)
    cols = np.flatnonzero(kept)
    if start is not None:
        s = np.asarray(start, dtype=bool).copy()
        if exclude_bidder is not None:
            s &= a.bidder != exclude_bidder
        first = _start_on(a, s, kept, dominator)[cols]
    else:
        # Without a start, the LOS greedy's allocation (milliseconds): the solver always holds an incumbent.
        first = _greedy_start(a, kept, value)[cols]
    if cols.size == 0:
        return WdpRun("solved", np.zeros(a.n_bids, dtype=bool), 0.0, 0.0, solver, "empty", None, 0.0, 0)
    rows, caps = _rows(a, cols)
    reduced = int(active.sum() - cols.size)
    if solver == "cpsat":
        run = _cpsat(value[cols], rows, caps, a.int_scale, time_limit, threads, first, mip_gap, solver_options)
    else:
        run = _highs(value[cols], rows, caps, time_limit, first, mip_gap, solver_options)
    status, x, bound, termination, message = run
    if x is None and status == "no_solution" and first is not None:
        # The solver stopped before finding anything (HiGHS's presolve can outlast a time limit on 10^4+ bids):
        # the start is a feasible answer.
        status, x = "solved", first.copy()
        message = f"{message}; the start allocation (feasible, unimproved) is returned"
    win = None
    objective = None
    if x is not None:
        win = np.zeros(a.n_bids, dtype=bool)
        win[cols[x]] = True
        objective = float(value[win].sum()) / (a.int_scale if use_int else 1)
    return WdpRun(status, win, objective, bound, solver, termination, message, time.perf_counter() - began, reduced)


def _greedy_start(a: WdpArrays, kept: np.ndarray, value: np.ndarray) -> np.ndarray:
    from allocopt.solvers.los_greedy import los_greedy

    v = np.where(kept, value, 0).astype(np.float64)
    return los_greedy(a.bundle_start, a.goods_of, a.supply, v, a.bidder, a.n_bidders, a.xor).win


def _highs_table() -> dict:
    import highspy

    s = highspy.HighsModelStatus
    # status with a solution / without one
    return {
        s.kOptimal: ("solved", "error"),
        s.kTimeLimit: ("solved", "no_solution"),
        s.kIterationLimit: ("solved", "no_solution"),
        s.kSolutionLimit: ("solved", "no_solution"),
        s.kObjectiveBound: ("solved", "no_solution"),
        s.kObjectiveTarget: ("solved", "no_solution"),
        s.kInterrupt: ("solved", "no_solution"),
        s.kHighsInterrupt: ("solved", "no_solution"),
        s.kMemoryLimit: ("solved", "no_solution"),
        s.kInfeasible: ("infeasible", "infeasible"),
        s.kUnbounded: ("unbounded", "unbounded"),
        s.kUnboundedOrInfeasible: ("infeasible", "infeasible"),
        s.kModelEmpty: ("solved", "solved"),
        s.kNotset: ("error", "error"),
        s.kLoadError: ("error", "error"),
        s.kModelError: ("error", "error"),
        s.kPresolveError: ("error", "error"),
        s.kSolveError: ("error", "error"),
        s.kPostsolveError: ("error", "error"),
        s.kUnknown: ("error", "error"),
    }


def _objective_scale(v: np.ndarray) -> float:
    # HiGHS also stops at an absolute gap of 1e-6, which proves nothing about tiny values.
    top = float(np.abs(v).max()) if v.size else 0.0
    return 2.0 ** math.ceil(math.log2(1024.0 / top)) if 0 < top < 1 else 1.0


def _highs(
    v: np.ndarray,
    rows: list[np.ndarray],
    caps: list[int],
    time_limit: float | None,
    start: np.ndarray | None,
    mip_gap: float,
    options: dict | None,
) -> tuple[RunStatus, np.ndarray | None, float | None, str, str | None]:
    import highspy

    n = v.size
    scale = _objective_scale(v)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    for key, val in (options or {}).items():
        if h.setOptionValue(key, val) != highspy.HighsStatus.kOk:
            from allocopt.errors import UsageError

            raise UsageError(f"HiGHS refuses option {key!r} = {val!r}")
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(rows)
    lp.col_cost_ = v * scale
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.full(len(rows), -highspy.kHighsInf)
    lp.row_upper_ = np.asarray(caps, dtype=np.float64)
    lp.sense_ = highspy.ObjSense.kMaximize
    _set_matrix(lp, rows)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h.passModel(lp)
    if start is not None and start.any():
        sol = highspy.HighsSolution()
        sol.col_value = start.astype(np.float64).tolist()
        h.setSolution(sol)
    h.run()
    ms = h.getModelStatus()
    info = h.getInfo()
    has = info.primal_solution_status == 2  # kSolutionStatusFeasible
    with_sol, without_sol = _highs_table().get(ms, ("error", "error"))
    status: RunStatus = with_sol if has else without_sol
    x = None
    if status == "solved" and has:
        x = np.asarray(h.getSolution().col_value) > 0.5
        claimed = info.objective_function_value
        if start is not None and abs(float(v[x].sum()) * scale - claimed) > 1e-9 * max(1.0, abs(claimed)):
            # HiGHS 1.16 hands back the start, not its better solution, when presolve solves the whole MIP:
            # solve again without the start (cheap: presolve alone solved it).
            return _highs(v, rows, caps, time_limit, None, mip_gap, options)
    bound = info.mip_dual_bound / scale if math.isfinite(info.mip_dual_bound) else None
    message = None if status == "solved" else f"HiGHS stopped with model status {h.modelStatusToString(ms)}"
    return status, x, bound, h.modelStatusToString(ms), message


def _cpsat(
    v: np.ndarray,
    rows: list[np.ndarray],
    caps: list[int],
    int_scale: int,
    time_limit: float | None,
    threads: int | None,
    start: np.ndarray | None,
    mip_gap: float,
    options: dict | None,
) -> tuple[RunStatus, np.ndarray | None, float | None, str, str | None]:
    from ortools.sat.python import cp_model

    from allocopt.solvers.cpsat import solve_cp

    model = cp_model.CpModel()
    x = [model.NewBoolVar(f"x{j}") for j in range(v.size)]
    for r, cap in zip(rows, caps, strict=True):
        if cap == 1:
            model.AddAtMostOne(x[int(j)] for j in r)
        else:
            model.Add(sum(x[int(j)] for j in r) <= cap)
    model.Maximize(sum(int(c) * x[j] for j, c in enumerate(v)))
    hint = None
    if start is not None:
        hint = [(x[j], int(s)) for j, s in enumerate(start)]
    opts = dict(options or {})
    if mip_gap:
        opts.setdefault("relative_gap_limit", float(mip_gap))
    run = solve_cp(model, time_limit, threads or 2, hint, float(int_scale), opts)
    sol = None
    if run.status == "solved" and run.solver_object is not None:
        sol = np.array([run.solver_object.BooleanValue(var) for var in x], dtype=bool)
    return run.status, sol, run.bound, run.termination, run.message


def dual_bound(a: WdpArrays, cols: np.ndarray, rows: list[np.ndarray], caps: list[int], y: np.ndarray) -> float:
    r"""The LP dual's value at any row prices :math:`y \ge 0` (negative entries count as 0): a valid upper bound.

    With row prices y (goods and XOR rows over the bids ``cols``) the LP dual is
    :math:`\sum_r c_r y_r + \sum_j \max(0, v_j - \sum_{r \ni j} y_r)`; weak duality makes it an upper bound on the
    LP, hence on the WDP, whatever y is. Bids outside ``cols`` have :math:`v_j \le 0` and add nothing.
    """
    y = np.maximum(np.asarray(y, dtype=np.float64), 0.0)
    charge = np.zeros(cols.size)
    for r, members in enumerate(rows):
        charge[members] += y[r]
    reduced = np.maximum(a.value[cols] - charge, 0.0)
    return float(np.dot(np.asarray(caps, dtype=np.float64), y) + reduced.sum())


def lp_bound(a: WdpArrays, time_limit: float | None = None) -> tuple[float, str]:
    """An upper bound on the WDP from the LP relaxation, and how it was obtained.

    HiGHS's interior point method (no crossover: set-packing LPs are degenerate and simplex took 45 s on 50,000
    bids) gives row prices; the bound is the LP dual's value at those prices, computed here (:func:`dual_bound`),
    so it is valid however accurate the prices are. Without prices (a time limit) it is the sum of the positive
    values.
    """
    import highspy

    cols = np.flatnonzero(a.value > 0)
    if cols.size == 0:
        return 0.0, "empty"
    rows, caps = _rows(a, cols)
    trivial = float(a.value[cols].sum())
    if not rows:
        return trivial, "no binding rows"
    n = cols.size
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "off")
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(rows)
    lp.col_cost_ = a.value[cols].astype(np.float64)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.full(len(rows), -highspy.kHighsInf)
    lp.row_upper_ = np.asarray(caps, dtype=np.float64)
    lp.sense_ = highspy.ObjSense.kMaximize
    _set_matrix(lp, rows)
    h.passModel(lp)
    h.run()
    words = h.modelStatusToString(h.getModelStatus())
    sol = h.getSolution()
    if not sol.dual_valid:
        return trivial, f"sum of positive values (LP: {words})"
    duals = np.asarray(sol.row_dual, dtype=np.float64)
    # Either sign convention gives a valid bound: take the better.
    return min(dual_bound(a, cols, rows, caps, duals), dual_bound(a, cols, rows, caps, -duals), trivial), "lp"


def _set_matrix(lp: object, rows: list[np.ndarray]) -> None:
    import highspy

    index = (np.concatenate(rows) if rows else np.zeros(0)).astype(np.int32)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum([r.size for r in rows])]).astype(np.int32)
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = np.ones(index.size)


def _rows(a: WdpArrays, cols: np.ndarray) -> tuple[list[np.ndarray], list[int]]:
    """Rows over the columns ``cols`` (as positions in it): goods with more of these bids than units, and
    bidders with several of them (xor)."""
    pos = np.full(a.n_bids, -1, dtype=np.int64)
    pos[cols] = np.arange(cols.size)
    lens = np.diff(a.bundle_start)[cols]
    bid_of_entry = np.repeat(cols, lens)
    take = np.repeat(a.bundle_start[cols], lens) + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))
    good_of_entry = a.goods_of[take]
    order = np.argsort(good_of_entry, kind="stable")
    g_sorted, b_sorted = good_of_entry[order], bid_of_entry[order]
    bounds = np.searchsorted(g_sorted, np.arange(a.n_goods + 1))
    rows: list[np.ndarray] = []
    caps: list[int] = []
    for g in np.flatnonzero(np.diff(bounds) > a.supply):
        rows.append(pos[b_sorted[bounds[g] : bounds[g + 1]]])
        caps.append(int(a.supply[g]))
    if a.xor:
        owners = a.bidder[cols]
        o_order = np.argsort(owners, kind="stable")
        o_bounds = np.searchsorted(owners[o_order], np.arange(a.n_bidders + 1))
        for i in np.flatnonzero(np.diff(o_bounds) > 1):
            rows.append(o_order[o_bounds[i] : o_bounds[i + 1]])
            caps.append(1)
    return rows, caps
