r"""Budgeted maximum coverage: the cost-effectiveness greedy with partial enumeration, and the LP bound.

Components ``i`` with costs :math:`c_i \ge 0` and skill sets :math:`S_i`, skill weights :math:`w_s \ge 0`, a budget
:math:`B`; :math:`f(T)` is the weight of the skills covered by the set :math:`T`. The arrays come in CSR form: the
skills of component i are ``idx[ptr[i]:ptr[i + 1]]``.

**Greedy from a seed** (Khuller, Moss and Naor, "The budgeted maximum coverage problem", Information Processing
Letters 70(1), 1999). Starting from a set :math:`G`, repeatedly add the component of largest *cost-effectiveness*
:math:`(f(G \cup \{i\}) - f(G)) / c_i` among those that still fit the budget, until none with a positive marginal
weight fits. (KMN scan every component in that order and skip one that does not fit; since the budget left only
shrinks, a component that does not fit never fits later, so restricting the choice to those that fit picks the
same sets.) Marginal weights are kept exactly per component: when skill s becomes covered, :math:`w_s` is
subtracted from every component providing it, and a component whose last uncovered skill is gone is set to 0
exactly (no float residue makes a useless component look useful).

**Partial enumeration** with depth d: the best of (a) the greedy from the empty set, (b) every single component
that fits, (c) every feasible subset of fewer than d components, and (d) the greedy from every feasible subset of
exactly d components. KMN prove:

- d >= 3 (their algorithm with k = 3): :math:`f \ge (1 - 1/e)\,\mathrm{OPT}`, the best possible factor in
  polynomial time unless NP :math:`\subseteq` DTIME(:math:`n^{O(\log \log n)}`) (Feige 1998);
- their *modified greedy* (the better of (a) and (b)) gives :math:`f \ge \tfrac12 (1 - 1/e)\,\mathrm{OPT}`, so
  every depth, and a depth-3 enumeration stopped early by a time limit, keeps at least that.

The enumeration costs :math:`O(n^d)` greedy runs. Two reductions keep the guarantees: components of cost 0 are
taken up front (the coverage is monotone, so some optimum contains them all, and the rest is the same problem on
the skills they leave uncovered), and components that cannot fit alone or add no weight are dropped (removing
them from any solution loses nothing). Candidates are enumerated in order of cost so that the innermost loop stops
at the first component that no longer fits.

**LP bound.** The LP relaxation of the MILP of ``allocopt.models.budgeted_coverage``: :math:`\max \sum_s w_s y_s`
s.t. :math:`y_s \le \sum_{i \ni s} x_i`, :math:`\sum_i c_i x_i \le B`, :math:`0 \le x, y \le 1` (a component that
cannot fit alone gets :math:`x_i \le 0`, valid for every feasible set). The reported bound is not HiGHS's objective
but the weak-duality value of its row duals :math:`\mu_s \ge 0` (coverage rows) and :math:`\lambda \ge 0` (budget),
sign-clipped to be dual feasible,

.. math::  \lambda B + \sum_s \max(0,\ w_s - \mu_s) + \sum_i u_i \max\Big(0,\ \sum_{s \in S_i} \mu_s - \lambda c_i\Big),

(:math:`u_i` the column upper bound) which bounds the LP, hence every integral solution, for *any* such duals and
equals the LP optimum at optimal duals. It is capped by the total weight of the skills some affordable component
provides.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

#: Guarantee of the enumeration with depth >= 3 (KMN 1999).
FULL_GUARANTEE = 1.0 - 1.0 / math.e
#: Estimated operations of the enumeration between two looks at the clock (about 35 ms at 7 ns each).
BLOCK_WORK = 5e6
#: Guarantee of KMN's modified greedy (the greedy from nothing or the best single component), kept by every run.
BASE_GUARANTEE = 0.5 * (1.0 - 1.0 / math.e)


@dataclass(frozen=True)
class GreedyRun:
    """The best set found and what is proven about it.

    ``take`` holds n values 0/1 (int64); ``value`` its coverage; ``depth`` the enumeration depth run;
    ``complete`` whether every seed of that depth was tried (False when the time limit stopped it);
    ``guarantee`` the proven factor ``value >= guarantee * OPT``; ``seeds`` the greedy runs made;
    ``free`` the components of cost 0 taken up front; ``candidates`` the components left after the reductions.
    """

    take: np.ndarray
    value: float
    depth: int
    complete: bool
    guarantee: float
    seeds: int
    free: int
    candidates: int


# --------------------------------------------------------------------------------------------- numba kernels
@njit(cache=True)
def _run_seed(seed, seed_len, greedy, costs, ptr, idx, sptr, sidx, w, budget, covered, gain, cnt, taken):
    """Cover the seed's skills, then (if ``greedy``) add components by cost-effectiveness; (value, spent).

    ``covered``, ``gain``, ``cnt`` and ``taken`` are scratch arrays (reset here); on return ``taken`` holds
    the set built. The caller only passes seeds that fit the budget.
    """
    m = costs.shape[0]
    k = w.shape[0]
    for s in range(k):
        covered[s] = False
    for i in range(m):
        taken[i] = False
    value = 0.0
    spent = 0.0
    for a in range(seed_len):
        i = seed[a]
        taken[i] = True
        spent += costs[i]
        for p in range(ptr[i], ptr[i + 1]):
            s = idx[p]
            if not covered[s]:
                covered[s] = True
                value += w[s]
    if not greedy:
        return value, spent
    for i in range(m):
        g = 0.0
        c = 0
        if not taken[i]:
            for p in range(ptr[i], ptr[i + 1]):
                s = idx[p]
                if not covered[s]:
                    g += w[s]
                    c += 1
        gain[i] = g
        cnt[i] = c
    while True:
        best = -1
        best_ratio = 0.0
        for i in range(m):
            if taken[i] or cnt[i] == 0 or spent + costs[i] > budget:
                continue
            ratio = gain[i] / costs[i]  # costs > 0: free components were taken before
            if ratio > best_ratio:
                best = i
                best_ratio = ratio
        if best < 0:
            break
        taken[best] = True
        spent += costs[best]
        for p in range(ptr[best], ptr[best + 1]):
            s = idx[p]
            if covered[s]:
                continue
            covered[s] = True
            value += w[s]
            for q in range(sptr[s], sptr[s + 1]):
                j = sidx[q]
                cnt[j] -= 1
                gain[j] = gain[j] - w[s] if cnt[j] > 0 else 0.0
    return value, spent


@njit(cache=True)
def _search(first, depth, j0, l0, max_runs, costs, ptr, idx, sptr, sidx, w, budget, covered, gain, cnt, taken):
    """The seeds whose smallest member is ``first`` (components sorted by cost), from position (j0, l0) on, at
    most ``max_runs`` greedy runs: (best value, its seed, its size, greedy from it?, runs, next j, next l), the
    next position being (-1, -1) when every seed of ``first`` is done. Call first with (first + 1, first + 2).

    Depth 1: the greedy from {first}. Depth 2: from every feasible pair {first, j}. Depth 3: from every feasible
    triple {first, j, l}, and a feasible pair evaluated alone when no third component fits with it (otherwise an
    augmented triple holding it already covers at least as much).
    """
    m = costs.shape[0]
    # Run-time values, not literals: numba would compile one specialisation of _run_seed per literal argument.
    size = np.arange(4)
    yes = depth >= 0
    no = depth < 0
    seed = np.empty(3, dtype=np.int64)
    best_seed = np.full(3, -1, dtype=np.int64)
    best = -1.0
    best_len = 0
    best_greedy = False
    runs = 0
    seed[0] = first
    if depth == 1:
        v, _ = _run_seed(seed, size[1], yes, costs, ptr, idx, sptr, sidx, w, budget, covered, gain, cnt, taken)
        best_seed[0] = first
        return v, best_seed, 1, True, 1, -1, -1
    for j in range(j0, m):
        two = costs[first] + costs[j]
        if two > budget:
            break  # sorted by cost: no later j fits either
        seed[1] = j
        if depth == 2:
            if runs == max_runs:
                return best, best_seed, best_len, best_greedy, runs, j, j + 1
            v, _ = _run_seed(seed, size[2], yes, costs, ptr, idx, sptr, sidx, w, budget, covered, gain, cnt, taken)
            runs += 1
            if v > best:
                best, best_len, best_greedy = v, 2, True
                best_seed[0], best_seed[1] = first, j
            continue
        start = l0 if j == j0 else j + 1
        third = start > j + 1  # resumed inside this pair: a third component fitted before
        for lo in range(start, m):
            if two + costs[lo] > budget:
                break
            if runs == max_runs:
                return best, best_seed, best_len, best_greedy, runs, j, lo
            third = True
            seed[2] = lo
            v, _ = _run_seed(seed, size[3], yes, costs, ptr, idx, sptr, sidx, w, budget, covered, gain, cnt, taken)
            runs += 1
            if v > best:
                best, best_len, best_greedy = v, 3, True
                best_seed[0], best_seed[1], best_seed[2] = first, j, lo
        if not third:
            v, _ = _run_seed(seed, size[2], no, costs, ptr, idx, sptr, sidx, w, budget, covered, gain, cnt, taken)
            if v > best:
                best, best_len, best_greedy = v, 2, False
                best_seed[0], best_seed[1], best_seed[2] = first, j, -1
    return best, best_seed, best_len, best_greedy, runs, -1, -1


# ------------------------------------------------------------------------------------------------- reductions
@dataclass(frozen=True)
class _Reduced:
    """The problem left after taking the free components: candidates sorted by cost, skills renumbered."""

    free_take: np.ndarray  # (n,) bool: components of cost 0 taken up front
    free_value: float
    original: np.ndarray  # candidate -> original component index
    costs: np.ndarray
    ptr: np.ndarray
    idx: np.ndarray
    sptr: np.ndarray
    sidx: np.ndarray
    w: np.ndarray
    budget: float


def _csr_rows(ptr: np.ndarray) -> np.ndarray:
    """The row of every CSR entry."""
    return np.repeat(np.arange(len(ptr) - 1, dtype=np.int64), np.diff(ptr))


def _reduce(costs: np.ndarray, ptr: np.ndarray, idx: np.ndarray, weights: np.ndarray, budget: float) -> _Reduced:
    n, k = len(costs), len(weights)
    rows = _csr_rows(ptr)
    free = costs <= 0
    covered = np.zeros(k, dtype=bool)
    covered[idx[free[rows]]] = True
    useful = ~covered & (weights > 0)  # skills still worth covering
    entry_ok = useful[idx]
    standalone = np.bincount(rows[entry_ok], weights=weights[idx[entry_ok]], minlength=n)
    keep = ~free & (costs <= budget) & (standalone > 0)
    # the free components that add something (a free component covering nothing new is left out)
    free_take = np.zeros(n, dtype=bool)
    seen = np.zeros(k, dtype=bool)
    for i in np.flatnonzero(free):
        mine = idx[ptr[i] : ptr[i + 1]]
        if np.any(~seen[mine] & (weights[mine] > 0)):
            free_take[i] = True
        seen[mine] = True
    order = np.flatnonzero(keep)
    order = order[np.argsort(costs[order], kind="stable")]
    skill_id = np.full(k, -1, dtype=np.int64)
    skill_id[useful] = np.arange(int(useful.sum()))
    new_ptr = np.zeros(len(order) + 1, dtype=np.int64)
    parts = []
    for a, i in enumerate(order):
        mine = skill_id[idx[ptr[i] : ptr[i + 1]]]
        mine = mine[mine >= 0]
        parts.append(mine)
        new_ptr[a + 1] = new_ptr[a] + len(mine)
    new_idx = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    kk = int(useful.sum())
    # skill -> candidates (transpose of the CSR)
    by_skill = np.argsort(new_idx, kind="stable")
    sptr = np.zeros(kk + 1, dtype=np.int64)
    np.cumsum(np.bincount(new_idx, minlength=kk), out=sptr[1:])
    sidx = _csr_rows(new_ptr)[by_skill]
    return _Reduced(
        free_take=free_take,
        free_value=float(weights[covered & (weights > 0)].sum()),
        original=order,
        costs=np.ascontiguousarray(costs[order], dtype=np.float64),
        ptr=new_ptr,
        idx=new_idx.astype(np.int64),
        sptr=sptr,
        sidx=sidx.astype(np.int64),
        w=np.ascontiguousarray(weights[useful], dtype=np.float64),
        budget=float(budget),
    )


def default_depth(candidates: int, entries: int, skills: int, steps: int, work_limit: float) -> int:
    """The deepest enumeration (at most 3) whose estimated work fits ``work_limit``; 0 = the modified greedy only.

    A greedy run costs about ``entries + skills + candidates * steps`` operations (set-up, then one scan of the
    candidates per component added); C(m, d) seeds overestimates the runs (seeds over budget are skipped).
    About 7 ns per operation was measured (n = 100 components, 300 skills: 161,700 runs in 3.5 s).
    """
    per_run = entries + skills + candidates * (steps + 1.0)
    for d in (3, 2, 1):
        if math.comb(candidates, d) * per_run <= work_limit:
            return d
    return 0


def kmn_greedy(
    costs: np.ndarray,
    ptr: np.ndarray,
    idx: np.ndarray,
    weights: np.ndarray,
    budget: float,
    depth: int | None = None,
    time_limit: float | None = None,
    work_limit: float = 3e8,
    block_work: float = BLOCK_WORK,
) -> GreedyRun:
    """The partial-enumeration greedy of the module docstring; ``depth`` None picks ``default_depth``.

    A time limit stops the enumeration between blocks of seeds (the modified greedy is always finished first,
    so the result keeps ``BASE_GUARANTEE``). ``work_limit`` caps the default depth's estimated work (about 2 s);
    ``block_work`` the estimated work between two looks at the clock (the result does not depend on it).
    """
    began = time.perf_counter()
    costs = np.asarray(costs, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    ptr = np.asarray(ptr, dtype=np.int64)
    idx = np.asarray(idx, dtype=np.int64)
    r = _reduce(costs, ptr, idx, weights, budget)
    m = len(r.costs)
    # components a greedy run adds: about the budget over the typical (median) candidate cost
    steps = min(m, math.ceil(r.budget / float(np.median(r.costs)))) if m else 0
    if depth is None:
        depth = default_depth(m, len(r.idx), len(r.w), steps, work_limit)
    scratch = (np.zeros(len(r.w), dtype=np.bool_), np.zeros(m), np.zeros(m, dtype=np.int64), np.zeros(m, np.bool_))
    args = (r.costs, r.ptr, r.idx, r.sptr, r.sidx, r.w, r.budget, *scratch)
    seed = np.full(3, -1, dtype=np.int64)
    # (a) the greedy from nothing and (b) the best single component: KMN's modified greedy.
    best, _ = _run_seed(seed, 0, True, *args)
    best_seed, best_len, best_greedy = seed.copy(), 0, True
    runs = 1
    if m:
        rows = _csr_rows(r.ptr)
        single = np.bincount(rows, weights=r.w[r.idx], minlength=m)
        a = int(np.argmax(single))
        if single[a] > best:
            best, best_len, best_greedy = float(single[a]), 1, False
            best_seed = np.array([a, -1, -1], dtype=np.int64)
    complete = True
    # Greedy runs per call between two looks at the clock: about BLOCK_WORK operations (tens of milliseconds).
    per_run = len(r.idx) + len(r.w) + m * (steps + 1.0) + 1.0
    max_runs = max(1, int(block_work // per_run))
    for first in range(m if depth >= 1 else 0):
        j, lo = first + 1, first + 2
        while j >= 0:
            if time_limit is not None and time.perf_counter() - began > time_limit:
                complete = False
                break
            v, s, length, greedy, count, j, lo = _search(first, min(depth, 3), j, lo, max_runs, *args)
            runs += int(count)
            if v > best:
                best, best_seed, best_len, best_greedy = float(v), s.copy(), int(length), bool(greedy)
        if not complete:
            break
    # plain int / bool arguments: numba compiles one specialisation, not one per numpy scalar type
    again, _ = _run_seed(best_seed, int(best_len), bool(best_greedy), *args)  # rebuilds the best set in taken
    take = r.free_take.astype(np.int64)
    take[r.original[scratch[3]]] = 1
    value = r.free_value + float(again)
    guarantee = FULL_GUARANTEE if depth >= 3 and complete else BASE_GUARANTEE
    return GreedyRun(take, value, depth, complete, guarantee, runs, int(r.free_take.sum()), m)


# ----------------------------------------------------------------------------------------------------- LP bound
@dataclass(frozen=True)
class LpBound:
    """A proven upper bound; ``kind`` is ``lp`` (weak duality from HiGHS's duals) or ``coverable`` (total weight
    of the skills some affordable component provides, when HiGHS did not reach an optimum)."""

    bound: float
    kind: str
    lp_status: str


def lp_bound(
    costs: np.ndarray,
    ptr: np.ndarray,
    idx: np.ndarray,
    weights: np.ndarray,
    budget: float,
    time_limit: float | None = None,
) -> LpBound:
    """The LP bound of the module docstring (never below the optimum, whatever HiGHS returns)."""
    import highspy
    from scipy import sparse

    from allocopt.solvers.highs_lp import solve_lp

    costs = np.asarray(costs, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    n, k = len(costs), len(weights)
    rows_of = _csr_rows(np.asarray(ptr, dtype=np.int64))
    idx = np.asarray(idx, dtype=np.int64)
    affordable = costs <= budget
    reach = np.zeros(k, dtype=bool)
    reach[idx[affordable[rows_of]]] = True
    live = reach & (weights > 0)  # skills worth a y column and a coverage row
    coverable = float(weights[live].sum())
    if not live.any():
        return LpBound(coverable, "coverable", "trivial")
    skill_row = np.full(k, -1, dtype=np.int64)
    skill_row[live] = np.arange(int(live.sum()))
    kk = int(live.sum())
    # Columns: x_0..x_{n-1}, then y per live skill. Rows: coverage rows y_s - sum x_i <= 0, then the budget row.
    ent = skill_row[idx] >= 0
    r_cov = np.concatenate([skill_row[idx][ent], np.arange(kk)])
    c_cov = np.concatenate([rows_of[ent], n + np.arange(kk)])
    v_cov = np.concatenate([-np.ones(int(ent.sum())), np.ones(kk)])
    paid = np.flatnonzero(costs > 0)
    rows = np.concatenate([r_cov, np.full(len(paid), kk)])
    cols = np.concatenate([c_cov, paid])
    vals = np.concatenate([v_cov, costs[paid]])
    a = sparse.csc_matrix((vals, (rows, cols)), shape=(kk + 1, n + kk))
    cost = np.concatenate([np.zeros(n), weights[live]])
    col_upper = np.concatenate([affordable.astype(np.float64), np.ones(kk)])
    row_lower = np.full(kk + 1, -np.inf)
    row_upper = np.concatenate([np.zeros(kk), [budget]])
    h = solve_lp(cost, a, row_lower, row_upper, col_upper, maximize=True, time_limit=time_limit)
    status = h.getModelStatus()
    name = h.modelStatusToString(status)
    sol = h.getSolution()
    if not sol.dual_valid:
        return LpBound(coverable, "coverable", name)
    lam = np.maximum(np.asarray(sol.row_dual, dtype=np.float64), 0.0)  # every row has only an upper bound
    reduced = cost - a.T @ lam
    bound = float(lam @ row_upper) + float(col_upper @ np.maximum(reduced, 0.0))
    if not math.isfinite(bound) or bound > coverable:
        return LpBound(coverable, "coverable", name)
    return LpBound(bound, "lp", name if status != highspy.HighsModelStatus.kOptimal else "optimal")
