r"""Proportional response dynamics for linear Fisher markets (Wu-Zhang 2007; Zhang 2011; Birnbaum-Devanur-Xiao 2011).

Each buyer splits its budget into bids :math:`b_{ij} \ge 0` (:math:`\sum_j b_{ij} = B_i`); a good's bids add up to
its revenue :math:`q_j = \sum_i b_{ij}` (unit price :math:`p_j = q_j / s_j`) and it is shared in proportion to
them, :math:`x_{ij} = s_j b_{ij} / q_j`; then every buyer re-bids in proportion to the utility each good gave it,

.. math::  b'_{ij} = B_i \, U_{ij} x_{ij} / u_i, \qquad u_i = \sum_j U_{ij} x_{ij}.

Birnbaum, Devanur and Xiao showed this is mirror descent (KL divergence, step 1) on Shmyrev's convex program,
so it converges to the Eisenberg-Gale optimum at rate O(1/T) in the objective. Every iterate clears the market
and spends every budget exactly; only the bang-per-buck condition is approached. The EG value of the iterate's
allocation is a lower bound on the optimum and, from the iterate's prices, the rescaled EG dual
(``fisher_duals``) an upper bound: the loop stops when the best of these bounds is within ``tol`` of the current
value, relatively, :math:`(\text{bound} - \text{value}) / \max(1, |\text{value}|)`.

One step is one pass over the bids (compiled with numba, rows in parallel): for each buyer, a first sweep over
its row forms :math:`U_{ij} x_{ij}`, its utility and its best bang-per-buck :math:`\max_j U_{ij} / p_j` (for the
bound), and a second sweep, on the row still in cache, rescales the row to the new bids and adds them into the
next revenues. Numpy would need five passes over n x m arrays per step, and the step is memory-bound. Dense
utilities are swept as n x m arrays; sparse ones (scipy.sparse, or dense with few positive entries) as CSR rows,
touching only the pairs with :math:`U_{ij} > 0` (the others never receive a bid). Large dense markets switch to
an active set after a few full sweeps (see ``proportional_response``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from allocopt.solvers.fisher_duals import bound_from_unit_prices

#: Below this share of positive utilities a dense matrix is swept as CSR.
SPARSE_DENSITY = 0.25
#: Bids below this share of their buyer's budget are set to 0 (no effect on any printed digit, and it keeps
#: decaying bids from becoming subnormal numbers, which are slow).
FLUSH = 1e-250


@dataclass(frozen=True)
class PRResult:
    allocation: np.ndarray  # n x m, dense
    prices: np.ndarray  # m unit prices of the last iterate
    objective: float  # EG value of the allocation
    bound: float | None  # best dual bound seen (from some iterate's prices)
    gap: float | None  # (bound - objective) / max(1, |objective|)
    iterations: int
    stop: str  # "tol", "max_iter" or "time_limit"
    representation: str  # "dense", "sparse" or "active set"


@njit(parallel=True, cache=True, fastmath=True)
def _dense_step(
    bids: np.ndarray,
    util: np.ndarray,
    ratio: np.ndarray,
    budgets: np.ndarray,
    utility: np.ndarray,
    best_bpb: np.ndarray,
    parts: np.ndarray,
) -> None:
    n, m = bids.shape
    chunks = parts.shape[0]
    for ch in prange(chunks):
        acc = parts[ch]
        acc[:] = 0.0
        for i in range(ch * n // chunks, (ch + 1) * n // chunks):
            row = bids[i]
            ui = util[i]
            total = 0.0
            top = 0.0
            for j in range(m):
                bpb = ui[j] * ratio[j]  # U_ij / p_j, since ratio_j = s_j / q_j = 1 / p_j
                g = row[j] * bpb
                row[j] = g
                total += g
                top = max(top, bpb)
            utility[i] = total
            best_bpb[i] = top
            scale = budgets[i] / total
            floor = budgets[i] * FLUSH
            for j in range(m):
                v = row[j] * scale
                v = v if v >= floor else 0.0
                row[j] = v
                acc[j] += v


@njit(parallel=True, cache=True, fastmath=True)
def _sparse_step(
    bids: np.ndarray,
    util: np.ndarray,
    indptr: np.ndarray,
    cols: np.ndarray,
    ratio: np.ndarray,
    budgets: np.ndarray,
    utility: np.ndarray,
    best_bpb: np.ndarray,
    parts: np.ndarray,
) -> None:
    n = indptr.shape[0] - 1
    chunks = parts.shape[0]
    for ch in prange(chunks):
        acc = parts[ch]
        acc[:] = 0.0
        for i in range(ch * n // chunks, (ch + 1) * n // chunks):
            total = 0.0
            top = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                bpb = util[k] * ratio[cols[k]]
                g = bids[k] * bpb
                bids[k] = g
                total += g
                top = max(top, bpb)
            utility[i] = total
            best_bpb[i] = top
            scale = budgets[i] / total
            floor = budgets[i] * FLUSH
            for k in range(indptr[i], indptr[i + 1]):
                v = bids[k] * scale
                v = v if v >= floor else 0.0
                bids[k] = v
                acc[cols[k]] += v


#: Markets with fewer stored pairs than this are swept by one thread: a parallel sweep pays a fork-join per step,
#: ruinous on small markets (and on a busy machine, where one descheduled thread stalls the barrier).
PARALLEL_MIN_PAIRS = 2_000_000
#: Dense markets with at least this many pairs switch to the active set after ``ACTIVE_DENSE_STEPS`` full sweeps.
ACTIVE_MIN_PAIRS = 50_000
ACTIVE_DENSE_STEPS = 60
#: Active set: pairs bid at least this share of the buyer's budget, or within this relative distance of the
#: buyer's best bang-per-buck; sparse rounds between full passes start at ACTIVE_ROUND steps and double up to
#: ACTIVE_ROUND_MAX (the support shrinks fast at first; a full pass costs about as much as a dense step).
ACTIVE_BID = 1e-4
ACTIVE_BPB = 1e-3
ACTIVE_ROUND = 100
ACTIVE_ROUND_MAX = 1600
_BLOCK = 2048


@dataclass
class _State:
    bids: np.ndarray  # dense n x m, or the CSR data of the bids
    revenue: np.ndarray  # q_j = sum_i b_ij, for ``bids``
    bound: float | None
    steps: int
    stop: str


def proportional_response(
    util: np.ndarray | sp.spmatrix | sp.sparray,
    budgets: np.ndarray,
    supply: np.ndarray,
    tol: float = 1e-6,
    max_iter: int = 100_000,
    time_limit: float | None = None,
    active_set: bool | None = None,
) -> PRResult:
    """Run proportional response until the relative duality gap is at most ``tol`` (or a limit is hit).

    ``util`` is n x m (buyers x goods), dense or scipy.sparse, >= 0 with a positive entry in every row;
    ``budgets`` > 0 (n), ``supply`` > 0 (m). The gap is known at every step, at no extra pass.

    ``active_set`` (default: dense markets of ``ACTIVE_MIN_PAIRS`` pairs or more): after ``ACTIVE_DENSE_STEPS``
    full sweeps most bids have decayed to almost nothing; the dynamics go on over the pairs that still matter
    (bids of at least ``ACTIVE_BID`` of the budget, or bang-per-buck within ``ACTIVE_BPB`` of the buyer's best),
    a sparse sweep tens of times cheaper: proportional response from the same bids with the negligible ones set
    to 0. After each round of sparse steps (``ACTIVE_ROUND``, doubling up to ``ACTIVE_ROUND_MAX``) a full pass
    bounds the optimum from the current prices over all pairs and re-admits every pair that has become (nearly)
    best for its buyer, so the bound stays valid and the bids converge to the full market's equilibrium.
    """
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    budgets = np.ascontiguousarray(budgets, dtype=np.float64)
    supply = np.ascontiguousarray(supply, dtype=np.float64)
    if not sp.issparse(util):
        util = np.ascontiguousarray(util, dtype=np.float64)
        if np.count_nonzero(util) >= SPARSE_DENSITY * util.size:
            if active_set is None:
                active_set = util.size >= ACTIVE_MIN_PAIRS
            if active_set:
                return _active(util, budgets, supply, tol, max_iter, deadline)
            state = _run(util, True, budgets, supply, tol, max_iter, deadline)
            return _result(util, state, budgets, supply, "dense")
    csr = _csr(util)
    state = _run(csr, False, budgets, supply, tol, max_iter, deadline)
    return _result(csr, state, budgets, supply, "sparse")


def _csr(util: np.ndarray | sp.spmatrix | sp.sparray) -> sp.csr_array:
    csr = sp.csr_array(util, dtype=np.float64)
    csr.eliminate_zeros()
    csr.sort_indices()
    return csr


def _result(
    util: np.ndarray | sp.csr_array, state: _State, budgets: np.ndarray, supply: np.ndarray, kind: str
) -> PRResult:
    """The allocation of the final bids, x_ij = s_j b_ij / q_j (each column scaled down to its supply if
    rounding put it above), its EG value measured from scratch, and the gap to the best bound."""
    n, m = util.shape
    bids = state.bids if isinstance(util, np.ndarray) else sp.csr_array((state.bids, util.indices, util.indptr), (n, m))
    rate = np.divide(supply, state.revenue, out=np.zeros(m), where=state.revenue > 0)
    x = bids * rate[None, :] if isinstance(util, np.ndarray) else (bids @ sp.diags_array(rate)).toarray()
    sold = x.sum(axis=0)
    over = sold > supply
    x[:, over] *= supply[over] / sold[over]
    u = (util * x).sum(axis=1) if isinstance(util, np.ndarray) else np.asarray(util.multiply(x).sum(axis=1)).ravel()
    value = float(budgets @ np.log(u)) if np.all(u > 0) else -math.inf
    gap = None if state.bound is None else max(0.0, state.bound - value) / max(1.0, abs(value))
    return PRResult(x, state.revenue / supply, value, state.bound, gap, state.steps, state.stop, kind)


def _scan(util: np.ndarray, prices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass over every pair at ``prices``: each buyer's best bang-per-buck and the (row, col) of the pairs
    within ``ACTIVE_BPB`` of it."""
    with np.errstate(divide="ignore"):
        inv = np.where(prices > 0, 1.0 / prices, np.inf)
    best = np.empty(util.shape[0])
    rows, cols = [], []
    for lo in range(0, util.shape[0], _BLOCK):
        bpb = util[lo : lo + _BLOCK] * inv
        top = bpb.max(axis=1)
        best[lo : lo + _BLOCK] = top
        r, c = np.nonzero((bpb >= (1 - ACTIVE_BPB) * top[:, None]) & (bpb > 0))
        rows.append(r + lo)
        cols.append(c)
    return best, np.concatenate(rows), np.concatenate(cols)


def _active(
    util: np.ndarray, budgets: np.ndarray, supply: np.ndarray, tol: float, max_iter: int, deadline: float | None
) -> PRResult:
    n, m = util.shape
    state = _run(util, True, budgets, supply, tol, min(max_iter, ACTIVE_DENSE_STEPS), deadline)
    if state.stop != "max_iter" or state.steps >= max_iter:
        return _result(util, state, budgets, supply, "dense")
    # The current bids that may matter, as COO triples (the dense phase's are all positive; keep the big ones).
    rows, cols = np.nonzero(state.bids >= ACTIVE_BID * budgets[:, None])
    bids = state.bids[rows, cols]
    dense_bids: np.ndarray | None = state.bids
    best = state.bound
    last: _State | None = None  # the latest sparse round, over the pattern ``last_active``
    last_active = sp.csr_array((n, m))
    stop = "max_iter"
    rounds = 0
    while True:
        prices = state.revenue / supply
        top, near_r, near_c = _scan(util, prices)
        # Weak duality over every pair (None if a wanted good has no bids: it is free, the bound infinite).
        bound = bound_from_unit_prices(budgets, supply, prices, 1.0 / top)
        if bound is not None:
            best = bound if best is None else min(best, bound)
        if last is not None:  # the sparse round's own bound only covered the active pairs
            rate = np.divide(supply, last.revenue, out=np.zeros(m), where=last.revenue > 0)
            u = np.add.reduceat(last_active.data * last.bids * rate[last_active.indices], last_active.indptr[:-1])
            value = float((budgets * np.log(u)).sum())
            gap = None if best is None else max(0.0, best - value) / max(1.0, abs(value))
            stop = "tol" if gap is not None and gap <= tol else state.stop
            if stop != "max_iter" or state.steps >= max_iter:
                break
        # New active set: current pairs with a big bid or near the best bang-per-buck keep their bids; near-best
        # pairs not yet active join with at least ACTIVE_BID of the budget (PR never grows a bid of exactly 0).
        floor = ACTIVE_BID * budgets
        keys = rows * m + cols
        near_keys = near_r * m + near_c
        keep = (bids >= floor[rows]) | np.isin(keys, near_keys)
        fresh = np.setdiff1d(near_keys, keys[keep], assume_unique=True)
        fresh_r, fresh_c = fresh // m, fresh % m
        fresh_b = floor[fresh_r] if dense_bids is None else np.maximum(dense_bids[fresh_r, fresh_c], floor[fresh_r])
        coo_r = np.concatenate([rows[keep], fresh_r])
        coo_c = np.concatenate([cols[keep], fresh_c])
        start = sp.csr_array((np.concatenate([bids[keep], fresh_b]), (coo_r, coo_c)), shape=(n, m))
        start.sort_indices()
        start_rows = np.repeat(np.arange(n), np.diff(start.indptr))
        vals = util[start_rows, start.indices]
        init = start.data * (budgets / np.add.reduceat(start.data, start.indptr[:-1]))[start_rows]
        active = sp.csr_array((vals, start.indices, start.indptr), shape=(n, m))
        length = min(ACTIVE_ROUND_MAX, ACTIVE_ROUND * 2**rounds, max_iter - state.steps)
        rounds += 1
        rnd = _run(active, False, budgets, supply, tol / 4, length, deadline, init, certificate=(best, tol))
        rows, cols, bids, dense_bids = start_rows, start.indices.astype(np.int64), rnd.bids.copy(), None
        last = _State(rnd.bids, rnd.revenue, None, state.steps + rnd.steps, rnd.stop)
        last_active = active
        state = _State(bids, rnd.revenue, None, last.steps, "time_limit" if rnd.stop == "time_limit" else "max_iter")
    assert last is not None  # the first pass through the loop always runs a round
    return _result(last_active, _State(last.bids, last.revenue, best, last.steps, stop), budgets, supply, "active set")


def _run(
    util: np.ndarray | sp.csr_array,
    dense: bool,
    budgets: np.ndarray,
    supply: np.ndarray,
    tol: float,
    max_iter: int,
    deadline: float | None,
    init: np.ndarray | None = None,
    certificate: tuple[float | None, float] | None = None,
) -> _State:
    """Proportional response on a dense or CSR market from bids ``init`` (default: in proportion to utility).

    ``certificate``: (bound, tol') with a bound known valid for a larger market this one is part of (the active
    set's full bound); the run also stops, with ``stop == "certified"``, once its value is within tol' of it.
    """
    n, m = util.shape
    if dense:
        bids = util * (budgets / util.sum(axis=1))[:, None] if init is None else init
        wanted = util.max(axis=0) > 0
        pairs = util.size
    else:
        indptr, cols, vals = util.indptr.astype(np.int64), util.indices.astype(np.int64), util.data
        rows = np.repeat(np.arange(n), np.diff(indptr))
        bids = vals * (budgets / np.add.reduceat(vals, indptr[:-1]))[rows] if init is None else init
        wanted = np.bincount(cols, minlength=m) > 0
        pairs = len(vals)
    threads = numba.get_num_threads()
    workers = threads if pairs >= PARALLEL_MIN_PAIRS else 1
    parts = np.zeros((max(1, min(n, workers)), m))
    utility = np.empty(n)
    bpb = np.empty(n)
    revenue = bids.sum(axis=0) if dense else np.bincount(cols, weights=bids, minlength=m)
    best_bound: float | None = None
    cert, cert_tol = certificate if certificate is not None else (None, 0.0)
    steps = 0
    stop = "max_iter"
    numba.set_num_threads(workers)
    try:
        while steps < max_iter:
            prices = revenue / supply
            ratio = np.divide(1.0, prices, out=np.zeros(m), where=revenue > 0)
            last_revenue = revenue
            # bids become the next ones; utility and bpb are the current iterate's
            if dense:
                _dense_step(bids, util, ratio, budgets, utility, bpb, parts)
            else:
                _sparse_step(bids, vals, indptr, cols, ratio, budgets, utility, bpb, parts)
            revenue = parts.sum(axis=0)
            steps += 1
            value = float((budgets * np.log(utility)).sum())  # not a BLAS dot: see fisher_duals
            # A wanted good with no bids is free: its bang-per-buck is infinite and the dual gives no bound.
            if np.all(last_revenue[wanted] > 0):
                bnd = bound_from_unit_prices(budgets, supply, prices, 1.0 / bpb)
                if bnd is not None and (best_bound is None or bnd < best_bound):
                    best_bound = bnd
            if best_bound is not None and max(0.0, best_bound - value) <= tol * max(1.0, abs(value)):
                stop = "tol"
                break
            if cert is not None and cert - value <= cert_tol * max(1.0, abs(value)):
                stop = "certified"
                break
            if deadline is not None and time.perf_counter() >= deadline:
                stop = "time_limit"
                break
    finally:
        numba.set_num_threads(threads)
    # ``bids`` are one step past the iterate whose gap was measured: the answer is that next iterate (its
    # allocation clears the market at its own prices), measured again from scratch by ``_result``.
    return _State(bids, revenue, best_bound, steps, stop)
