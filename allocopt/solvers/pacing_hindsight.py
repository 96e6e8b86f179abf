r"""The hindsight side of budget pacing: the LP bound (exact or Lagrangian) and offline greedy allocations.

The hindsight problem gives each auction t to at most one client i, among the *allowed* pairs
:math:`A = \{(t, i): v_{ti} > p_t,\ p_t \le B_i\}` (no optimum takes another), within each client's budget:

.. math::

    z^* = \max \sum_{(t,i) \in A} (v_{ti} - p_t) x_{ti} \quad\text{s.t.}\quad \sum_i x_{ti} \le 1,\quad
    \sum_t p_t x_{ti} \le B_i,\quad x \in \{0, 1\}.

**Bound.** Relaxing the budget rows with :math:`\lambda \ge 0` leaves, per auction, a choice of at most one pair:

.. math::

    L(\lambda) = \sum_i \lambda_i B_i + \sum_t \max\Big(0,\ \max_{i: (t,i) \in A} \big(v_{ti} - (1 + \lambda_i) p_t\big)
    \Big) \;\ge\; z_{LP} \;\ge\; z^*

for every :math:`\lambda \ge 0`, with :math:`\min_\lambda L = z_{LP}` (the auction rows alone are integral).
The bound reported is always :math:`L(\lambda)` evaluated here in plain floating point, so it holds whatever the
accuracy of the :math:`\lambda` used. :math:`\lambda` comes from

- up to ``LP_EXACT_MAX_PAIRS`` allowed pairs, the budget rows' duals of the LP relaxation solved by HiGHS
  (highspy) on every allowed pair, so that :math:`L(\lambda) = z_{LP}` up to the LP's tolerances (``lp``);
- beyond that, the duals of the LP on a random sample of auctions (budgets scaled to the sample), improved by
  exact coordinate descent on :math:`L`: along :math:`\lambda_i` alone, :math:`L` is convex piecewise linear
  with slope :math:`B_i - \sum\{p_t : k_t > \lambda_i\}`, where :math:`k_t = (v_{ti} - c_t) / p_t - 1` and
  :math:`c_t` is the best competing term of auction t, so its minimum is a weighted quantile of the
  :math:`k_t` (a sort). Coordinate descent can stall at a kink (clients tied on the marginal auctions), so
  then the LP is solved on the auctions whose choice is nearest to changing (at most ``ACTIVE_MAX_PAIRS``
  pairs; every other auction keeps its choice at :math:`\lambda`), which moves all multipliers at once. When
  the fixed choices plus that LP's solution are a primal solution worth :math:`L(\lambda)`, the bound is
  proven to be the LP bound (``lp``); otherwise it is ``lagrangian``, :math:`L(\lambda) \ge z_{LP}`. Degenerate
  data (small integers, many exact ties) at 10^6 auctions can end ``lagrangian``.

**Greedy allocations** (feasible by construction): the allowed pairs are taken in a fixed order, each when its
auction is still free and its client's remaining budget covers the price. Two orders are tried and the better
kept: *value per price* :math:`v_{ti} / p_t` (free auctions first, ties by utility), and *reduced profit*
:math:`v_{ti} - (1 + \lambda_i) p_t` for the pairs where it is positive (the Lagrangian solution, cut at the
budgets), then the rest by value per price (filling what budget is left).

Solvers here take numpy arrays; they never see JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

__all__ = [
    "BoundRun",
    "GreedyRun",
    "allowed_pairs",
    "dual_value",
    "greedy_allocation",
    "hindsight_bound",
    "solve_lp",
]

#: The exact LP (HiGHS) is solved on up to this many allowed pairs; beyond, the Lagrangian route.
LP_EXACT_MAX_PAIRS = 50_000
#: Auctions in the sample whose LP duals start the coordinate descent.
SAMPLE_AUCTIONS = 4_000
#: Coordinate-descent sweeps (each: every lambda_i once) at most, and the relative progress that ends them.
MAX_SWEEPS = 30
SWEEP_TOL = 1e-7
#: LPs on the auctions nearest a change of choice (at most ``ACTIVE_MAX_PAIRS`` pairs) after the sweeps.
REFINEMENTS = 4
ACTIVE_MAX_PAIRS = 30_000
#: A primal value this close (relative) to L(lam) proves L(lam) is the LP bound.
LP_CERTIFICATE_TOL = 1e-9


@dataclass(frozen=True)
class BoundRun:
    """A proven upper bound ``bound = L(lam)`` on the hindsight optimum, and how ``lam`` was found.

    ``kind`` is ``"lp"`` when ``bound`` is proven to be the LP bound (``lp_value``: HiGHS's LP optimum, or the
    certified value of the sampled route) or ``"lagrangian"`` (an upper bound on it; ``lp_value`` None);
    ``sample`` and ``sweeps`` describe the sampled route (0 when the full LP was solved).
    """

    bound: float
    lam: np.ndarray
    kind: str
    lp_value: float | None = None
    sweeps: int = 0
    sample: int = 0


@dataclass(frozen=True)
class GreedyRun:
    """A feasible allocation (``winner``: T client indices, -1 for none), its utility and the order that won."""

    winner: np.ndarray
    utility: float
    order: str


def allowed_pairs(values: np.ndarray, prices: np.ndarray, budgets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(auction indices, client indices) of the pairs with value above price and price within the budget."""
    keep = (values > prices[:, None]) & (prices[:, None] <= budgets[None, :])
    return np.nonzero(keep)


def solve_lp(
    values: np.ndarray,
    prices: np.ndarray,
    budgets: np.ndarray,
    time_limit: float | None = None,
    pair_budgets: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The LP relaxation by HiGHS: (value, budget duals lam >= 0, x, pair auctions, pair clients); None if it fails.

    ``pair_budgets`` (default ``budgets``) are the budgets that decide which pairs are allowed (price within it).
    """
    import highspy
    from scipy import sparse

    from allocopt.solvers.highs_lp import solve_lp

    T, n = values.shape
    tt, ii = allowed_pairs(values, prices, budgets if pair_budgets is None else pair_budgets)
    k = len(tt)
    if k == 0:
        return 0.0, np.zeros(n), np.zeros(0), tt, ii
    cols = np.arange(k)
    paid = prices[tt] > 0
    # rows 0..T-1: auction rows (<= 1); rows T..T+n-1: budget rows (<= B), only the priced pairs
    rows = np.concatenate([tt, T + ii[paid]])
    A = sparse.csc_matrix(
        (np.concatenate([np.ones(k), prices[tt][paid]]), (rows, np.concatenate([cols, cols[paid]]))),
        shape=(T + n, k),
    )
    # minimise the negated utility: the duals of the <= rows are then <= 0
    h = solve_lp(
        -(values[tt, ii] - prices[tt]),
        A,
        np.full(T + n, -np.inf),
        np.concatenate([np.ones(T), budgets]),
        time_limit=time_limit,
    )
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None  # infeasible only with negative budgets (a refinement's leftovers): the caller falls back
    sol = h.getSolution()
    duals = np.asarray(sol.row_dual, dtype=np.float64)
    lam = np.maximum(-duals[T:], 0.0)
    x = np.asarray(sol.col_value, dtype=np.float64)
    return -float(h.getInfo().objective_function_value), lam, x, tt, ii


@numba.njit(cache=True)
def _dual_value(v: np.ndarray, p: np.ndarray, b: np.ndarray, lam: np.ndarray) -> float:
    T, n = v.shape
    total = 0.0
    for i in range(n):
        total += lam[i] * b[i]
    for t in range(T):
        best = 0.0
        pt = p[t]
        for i in range(n):
            if v[t, i] > pt and pt <= b[i]:
                r = v[t, i] - (1.0 + lam[i]) * pt
                if r > best:
                    best = r
        total += best
    return total


def dual_value(values: np.ndarray, prices: np.ndarray, budgets: np.ndarray, lam: np.ndarray) -> float:
    """:math:`L(\\lambda)` of the module docstring (an upper bound on the hindsight optimum for any lam >= 0)."""
    lam = np.maximum(np.asarray(lam, dtype=np.float64), 0.0)
    return float(_dual_value(_f64(values), _f64(prices), _f64(budgets), lam))


@numba.njit(cache=True)
def _coordinate_step(v: np.ndarray, p: np.ndarray, b: np.ndarray, lam: np.ndarray, i: int, window: float) -> float:
    """The lam_i minimising L with the other multipliers fixed (a weighted quantile of the breakpoints).

    Only the breakpoints within ``window`` of the current lam_i are sorted when the quantile lies among them
    (it usually does, near convergence); otherwise all of them are.
    """
    T, n = v.shape
    keys = np.empty(T)
    weights = np.empty(T)
    m = 0
    total = 0.0
    for t in range(T):
        pt = p[t]
        if pt <= 0.0 or not (v[t, i] > pt and pt <= b[i]):
            continue  # a free auction's term does not depend on lam_i; a pair outside A never counts
        c = 0.0
        for j in range(n):
            if j != i and v[t, j] > pt and pt <= b[j]:
                r = v[t, j] - (1.0 + lam[j]) * pt
                if r > c:
                    c = r
        k = (v[t, i] - c) / pt - 1.0
        if k > 0.0:
            keys[m] = k
            weights[m] = pt
            total += pt
            m += 1
    if total <= b[i]:
        return 0.0
    lo = lam[i] - window
    hi = lam[i] + window
    above = 0.0  # weight of the keys > hi
    inside = 0
    for r in range(m):
        if keys[r] > hi:
            above += weights[r]
        elif keys[r] > lo:
            keys[inside], weights[inside] = keys[r], weights[r]
            inside += 1
    inner = 0.0
    for r in range(inside):
        inner += weights[r]
    if above <= b[i] < above + inner:
        # the slope changes sign inside the window: sort just those keys
        order = np.argsort(-keys[:inside])
        acc = above
        for r in range(inside):
            acc += weights[order[r]]
            if acc > b[i]:
                return keys[order[r]]
    # the quantile is outside the window: recompute every key and sort them all
    m = 0
    for t in range(T):
        pt = p[t]
        if pt <= 0.0 or not (v[t, i] > pt and pt <= b[i]):
            continue
        c = 0.0
        for j in range(n):
            if j != i and v[t, j] > pt and pt <= b[j]:
                r = v[t, j] - (1.0 + lam[j]) * pt
                if r > c:
                    c = r
        k = (v[t, i] - c) / pt - 1.0
        if k > 0.0:
            keys[m] = k
            weights[m] = pt
            m += 1
    order = np.argsort(-keys[:m])
    acc = 0.0
    for r in range(m):
        acc += weights[order[r]]
        if acc > b[i]:
            return keys[order[r]]
    return 0.0


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def hindsight_bound(
    values: np.ndarray,
    prices: np.ndarray,
    budgets: np.ndarray,
    time_limit: float | None = None,
    exact_max_pairs: int = LP_EXACT_MAX_PAIRS,
    sample_auctions: int = SAMPLE_AUCTIONS,
    active_max_pairs: int = ACTIVE_MAX_PAIRS,
    seed: int = 0,
) -> BoundRun:
    """The proven bound of the module docstring: the full LP's duals when small enough, else the Lagrangian route."""
    v, p, b = _f64(values), _f64(prices), _f64(budgets)
    T, n = v.shape
    pairs = int(np.count_nonzero((v > p[:, None]) & (p[:, None] <= b[None, :])))
    if pairs <= exact_max_pairs:
        lp = solve_lp(v, p, b, time_limit)
        if lp is not None:
            lam = lp[1]
            return BoundRun(dual_value(v, p, b, lam), lam, "lp", lp[0])
    # a sample of auctions with the budgets scaled to it: its LP duals approximate the full LP's
    sample = min(T, sample_auctions)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(T, size=sample, replace=False)) if sample < T else np.arange(T)
    lp = solve_lp(v[pick], p[pick], b * (sample / T), time_limit)
    lam = lp[1].copy() if lp is not None else np.zeros(n)
    value = dual_value(v, p, b, lam)
    sweeps = 0
    for sweeps in range(1, MAX_SWEEPS + 1):  # noqa: B007
        before, kept = value, lam.copy()
        for i in range(n):
            lam[i] = _coordinate_step(v, p, b, lam, i, max(0.05 * lam[i], 0.01))
        value = dual_value(v, p, b, lam)
        if value > before:  # each step is exact, so only floating-point noise can get here: keep the better
            lam, value = kept, before
            break
        if before - value <= SWEEP_TOL * max(1.0, abs(value)):
            break
    # Coordinate descent can stall at a kink of L (clients tied on the marginal auctions). The LP on the auctions
    # whose choice could still change near lam, with every other auction's choice fixed, moves all multipliers at
    # once; when the pair (fixed choices + that LP's solution, its duals) has equal values it proves the full LP.
    kind = "lagrangian"
    for _ in range(REFINEMENTS):
        refined = _refine(v, p, b, lam, time_limit, active_max_pairs)
        if refined is None:
            break
        new_lam, new_value, primal = refined
        improved = new_value < value
        if improved:
            lam, value = new_lam, new_value
        if primal is not None and primal >= value - LP_CERTIFICATE_TOL * max(1.0, abs(value)):
            kind = "lp"
            break
        if not improved:
            break  # the same centre would give the same LP again
    return BoundRun(value, lam, kind, value if kind == "lp" else None, sweeps, sample)


@numba.njit(cache=True)
def _margins(v: np.ndarray, p: np.ndarray, b: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per auction: its choice at lam (client, or -1), the lam-distance at which that could change, its pairs."""
    T, n = v.shape
    choice = np.full(T, -1, dtype=np.int64)
    margin = np.full(T, np.inf)
    count = np.zeros(T, dtype=np.int64)
    for t in range(T):
        pt = p[t]
        first = 0.0  # "no win" is an option worth 0 at every lam
        second = -np.inf
        for i in range(n):
            if v[t, i] > pt and pt <= b[i]:
                count[t] += 1
                r = v[t, i] - (1.0 + lam[i]) * pt
                if r > first:
                    second = first
                    first = r
                    choice[t] = i
                elif r > second:
                    second = r
        if pt > 0.0 and count[t] > 0:
            # moving every multiplier by at most d moves each option by at most d * pt, a gap by 2 d * pt
            margin[t] = (first - second) / (2.0 * pt)
    return choice, margin, count


def _refine(
    v: np.ndarray, p: np.ndarray, b: np.ndarray, lam: np.ndarray, time_limit: float | None, max_pairs: int
) -> tuple[np.ndarray, float, float | None] | None:
    """(multipliers, L at them, a primal LP value or None) from the LP on the auctions nearest a change of choice.

    The primal value (the fixed choices plus the small LP's optimum) is None when the fixed choices alone overspend
    a budget: the small LP then runs with that client's leftover clipped to 0 and only its duals are used.
    """
    choice, margin, count = _margins(v, p, b, lam)
    order = np.argsort(margin, kind="stable")
    within = np.cumsum(count[order]) <= max_pairs
    active = np.sort(order[within & np.isfinite(margin[order])])
    if active.size == 0:
        return None
    fixed = np.ones(len(p), dtype=bool)
    fixed[active] = False
    won = np.flatnonzero(fixed & (choice >= 0))
    spent = np.bincount(choice[won], weights=p[won], minlength=len(b))
    left = b - spent
    feasible = bool(np.all(left >= 0))
    lp = solve_lp(v[active], p[active], np.maximum(left, 0.0), time_limit, pair_budgets=b)
    if lp is None:
        return None
    new_lam = lp[1]
    primal = float(np.sum(v[won, choice[won]] - p[won])) + lp[0] if feasible else None
    return new_lam, dual_value(v, p, b, new_lam), primal


@numba.njit(cache=True)
def _pair_arrays(v: np.ndarray, p: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The allowed pairs (auction, client) in row-major order, and their utilities."""
    T, n = v.shape
    count = 0
    for t in range(T):
        for i in range(n):
            if v[t, i] > p[t] and p[t] <= b[i]:
                count += 1
    tt = np.empty(count, dtype=np.int64)
    ii = np.empty(count, dtype=np.int64)
    util = np.empty(count)
    k = 0
    for t in range(T):
        for i in range(n):
            if v[t, i] > p[t] and p[t] <= b[i]:
                tt[k] = t
                ii[k] = i
                util[k] = v[t, i] - p[t]
                k += 1
    return tt, ii, util


@numba.njit(cache=True)
def _assign_in_order(
    order: np.ndarray, tt: np.ndarray, ii: np.ndarray, p: np.ndarray, winner: np.ndarray, left: np.ndarray
) -> None:
    """Take pairs ``order[0], order[1], ...`` whose auction is free and whose client can pay (in place)."""
    for k in range(order.shape[0]):
        t = tt[order[k]]
        i = ii[order[k]]
        if winner[t] < 0 and p[t] <= left[i]:
            winner[t] = i
            left[i] -= p[t]


@numba.njit(cache=True)
def _utility_of(v: np.ndarray, p: np.ndarray, winner: np.ndarray) -> float:
    total = 0.0
    for t in range(winner.shape[0]):
        if winner[t] >= 0:
            total += v[t, winner[t]] - p[t]
    return total


def greedy_allocation(
    values: np.ndarray, prices: np.ndarray, budgets: np.ndarray, lam: np.ndarray | None = None
) -> GreedyRun:
    """The better of the value-per-price greedy and (given ``lam``) the reduced-profit greedy of the docstring."""
    v, p, b = _f64(values), _f64(prices), _f64(budgets)
    T = v.shape[0]
    tt, ii, utility = _pair_arrays(v, p, b)
    pt = p[tt]
    # value per price, largest first: the free auctions (infinite ratio) first, by utility; ties keep pair order
    free = np.flatnonzero(pt <= 0)
    priced = np.flatnonzero(pt > 0)
    by_ratio = np.concatenate(
        [
            free[np.argsort(-utility[free], kind="stable")],
            priced[np.argsort(-(utility[priced] / pt[priced]), kind="stable")],  # (v - p) / p: same order as v / p
        ]
    )
    winner = np.full(T, -1, dtype=np.int64)
    _assign_in_order(by_ratio, tt, ii, p, winner, b.copy())
    best = GreedyRun(winner, _utility_of(v, p, winner), "value_per_price")
    if lam is not None:
        reduced = utility - np.asarray(lam, dtype=np.float64)[ii] * pt
        positive = np.flatnonzero(reduced > 0)
        winner = np.full(T, -1, dtype=np.int64)
        left = b.copy()
        # positive reduced profits first (largest first), then every pair in value-per-price order (a pair
        # already placed, or whose auction is taken, is skipped)
        _assign_in_order(positive[np.argsort(-reduced[positive], kind="stable")], tt, ii, p, winner, left)
        _assign_in_order(by_ratio, tt, ii, p, winner, left)
        value = _utility_of(v, p, winner)
        if value > best.utility:
            best = GreedyRun(winner, value, "reduced_profit")
    return best
