r"""Exact special-purpose algorithms for the one-resource knapsack family.

Problems
--------
All three maximise :math:`\sum_i v_i x_i` subject to :math:`\sum_i w_i x_i \le C` with non-negative
finite values :math:`v_i`, weights :math:`w_i` and capacity :math:`C`:

* :func:`knapsack_01` (:func:`solve_01`): :math:`x \in \{0, 1\}^n`;
* :func:`knapsack_bounded` (:func:`solve_bounded`): :math:`x_i \in \{0, \dots, c_i\}`;
* :func:`solve_multiple_choice`: items carry a group label; per group at most one (or exactly one)
  *distinct* item :math:`i` has :math:`x_i > 0`, and then :math:`1 \le x_i \le c_i`.

Data may be integral or real-valued. With integral values the optimum is exact: a state is discarded
only when :math:`\lfloor u \rfloor \le z` for an upper bound u on everything it can still become and
the incumbent value z (with a safety margin for the rounding of u). With real values a state is
discarded when :math:`u \le z (1 + 10^{-10})`, so the result is optimal up to that relative tolerance
(without it, near-ties of real-valued subset-sum-like instances keep exponentially many states alive).

Integral 0/1 (and bounded) data runs in int64: weights and profits of states are exact sums (data up to
:math:`2^{53}` and beyond, as long as the sums stay below :math:`2^{61}`); only bounds are computed in
floating point, with safety margins. Every weight sum is a multiple of :math:`g_w = \gcd(w)`, so C is
rounded down to one; every profit sum is a multiple of :math:`g_v = \gcd(v)`, so the profits are divided
by it and every bound floors to a multiple of :math:`g_v`.

0/1 and bounded take a time limit: each search reads the clock every few milliseconds of work and,
when the time is up, returns its incumbent with a proven bound (the largest bound of anything still
open); without a limit they always end with a proof of optimality.

0/1: expanding-core dynamic programming (Pisinger's *minknap*, with *combo*'s strong bounds)
-------------------------------------------------------------------------------------------
Sort the items by efficiency :math:`e_i = v_i / w_i` (non-increasing). The *break item* b is the first
item that no longer fits when packing greedily; the *break solution* takes items :math:`0..b-1`.
An optimal solution usually differs from it only near b, so we keep a Pareto list of states
:math:`(W, P)` (weight, profit) describing all relevant ways to toggle the items of a *core*
:math:`[s+1, t-1]` around b, and grow the core one item at a time, alternately on each side:

* item :math:`t` after the core may be *added*:  new states :math:`(W + w_t, P + v_t)`;
* item :math:`s` before the core may be *removed*: new states :math:`(W - w_s, P - v_s)`.

The new states are merged with the old ones (both lists are sorted by weight, so this is a linear
merge) and a state is dropped when another has no more weight and at least as much profit
(dominance), or when its upper bound cannot beat the incumbent :math:`z`. Items outside the core have
efficiency at most :math:`e_t` (after) or at least :math:`e_s` (before), so the LP relaxation gives

.. math::

    u(W, P) = \begin{cases} P + (C - W)\, e_t & W \le C \\ P - (W - C)\, e_s & W > C \end{cases}

(:math:`e_t = 0` when no item is left after the core, :math:`e_s = \infty` when none is left before).
An item whose toggling gives no state a chance is fixed to its break-solution value without touching
the list (this reduction is what keeps the core small). The search stops when the list is empty, all
items have been considered, or z reaches a global upper bound U; the best state seen (or the greedy
solution) is then optimal.

U starts as Dantzig's bound. On hard instances (more than ``_RELAX_STATES`` states; typically strongly
correlated ones, :math:`v_i = w_i + K`, where u is weak because every optimum fills the knapsack with
as many items as possible) it is tightened with the cardinality constraints of Martello, Pisinger and
Toth: no solution has more than :math:`k_{max}` items (the lightest ones that fit) and none better than
z has fewer than :math:`k_{min}`; each is dualised, :math:`U = \min_{\mu \ge 0} \mu k_{max} +
\mathrm{LP}(v - \mu)` (resp. :math:`-\nu k_{min} + \mathrm{LP}(v + \nu)`), by bisection on the
subgradient. Good solutions are found by *pairing* each state with one item outside the core. With
integral weights the capacity is first rounded down to a multiple of their gcd.

Solutions are recovered from a log of nodes ``(parent, toggled item)``: a state created by toggling
item j on a state with node k gets the node ``(k, j)``. The log is garbage-collected (only the nodes
reachable from live states and the incumbent are kept) when it fills up.

When the list outgrows ``_CORE_STATES`` (hard classes, e.g. Jooken et al.'s, where the LP bound prunes
nothing), the items the core phase fixed keep their break-solution values and the search goes on in
:mod:`allocopt.solvers.knapsack_hard`: a DP over feasible states only (heaviest items first, Dantzig
bound of the items still to come), then, past ``_MAX_STATES``, a depth-first branch and bound over the
remaining items with that DP list as a lookup table. The global bound of the core phase (Dantzig /
cardinality) goes along as the level at which they stop.

Bounded: binary splitting of the copies into 0/1 items (1, 2, 4, ..., rest), solved as 0/1, the
cardinality bound counting each piece as its number of copies.

Multiple choice: expanding core over groups (Pisinger's *mcknap* idea)
----------------------------------------------------------------------
Each (item, count k) is an option :math:`(k w_i, k v_i)`; dominated options in a group are dropped.
Each group's lightest remaining option (or "nothing" for at-most-one) is its *default*; subtracting
the defaults' weights and values turns exactly-one into at-most-one with (0, 0) as the default, and
capacity :math:`C' = C - \sum_g w_{g,\mathrm{default}}` (infeasible when negative).

The LP relaxation takes the segments of the groups' upper convex hulls by non-increasing slope; the
first one that does not fit has the critical slope :math:`\alpha`, and every group's LP choice
:math:`\ell_g` maximises :math:`v - \alpha w` in the group. Changing group g to option j thus has the
*reduced profit* :math:`r_{gj} = \Delta v - \alpha \Delta w \le 0`. Starting from the LP choices, a
Pareto list of states :math:`(W, P)` is expanded one group at a time, by non-increasing
:math:`\max_j r_{gj}`. For the groups still outside the core, at their LP choices,

.. math::

    u(W, P) = \max\big(P \;[W \le C'],\; P + \alpha (C' - W) + r_{next}\big),

where :math:`r_{next}` is the best reduced profit of the next group (any completion that changes some
outer group gains at most :math:`\alpha` per unit of weight plus one reduced profit). The expansion
stops as soon as :math:`\max_X P + \alpha (C' - W) + r_{next} \le z`: no later group can help any
state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numba import njit, objmode

__all__ = [
    "KnapsackRun",
    "StateLimitError",
    "knapsack_01",
    "knapsack_bounded",
    "solve_01",
    "solve_bounded",
    "solve_multiple_choice",
]

# Sums of integral values below this are exact in float64, so integral profits can use floor(u) <= z.
_EXACT_INT = 2.0**52
# Counts are capped here before int64 conversion (a count that large never fits anyway).
_MAX_COUNT = 2.0**62
# The multiple-choice DP enumerates (item, count) options; refuse absurd expansions instead of
# exhausting memory.
_MAX_OPTIONS = 5_000_000
# Real-valued data: the search may stop when the incumbent is within this relative gap of a global
# upper bound (exact rational data stops only at the bound itself).
_REAL_RTOL = 1e-10
# State-list sizes at which the 0/1 DP computes the cardinality bound / pairs states with items.
_RELAX_STATES = 1000
_PAIR_STATES = 1000
# Memory budget of the DPs (states in one list; about 100 bytes each with buffers and the node log).
_MAX_STATES = 5_000_000
# The 0/1 expanding-core DP hands over to the feasible-states DP (knapsack_hard) beyond this many
# states: its list holds states on both sides of the capacity and grows fastest on hard instances.
_CORE_STATES = 1_000_000
# The searches read the clock (for the time limit) after this many state operations (a few ms).
_CLOCK_WORK = 1 << 18
# Integral data runs in int64 while every sum of profits or weights stays below this.
_INT_SUM_LIMIT = 2**62
# LP evaluations per side of the cardinality bound (each is O(n)).
_DUAL_EVALS = 64


class StateLimitError(RuntimeError):
    """An exact DP outgrew its state budget (``_MAX_STATES``): use a general MILP solver instead."""


# --------------------------------------------------------------------------------------------------
# Shared numba helpers
# --------------------------------------------------------------------------------------------------


@njit(cache=True)
def _threshold(z, integral: bool) -> float:
    """A state with upper bound u is pruned iff u <= threshold.

    Integral profits: prune iff floor(u) <= z, i.e. u < z + 1; u carries rounding errors (a few ulps of
    the magnitudes involved), so we keep a 1e-9 absolute + 1e-12 relative safety margin (pruning less
    is always safe; beyond |z| ~ 1e12 the threshold drops below z). Real-valued profits: prune iff
    u <= z (1 + _REAL_RTOL), so the result is optimal up to that relative tolerance (without it,
    near-ties of real-valued subset-sum-like instances keep exponentially many states).
    """
    zf = float(z)
    if integral:
        return zf + 1.0 - 1e-9 - 1e-12 * abs(zf)
    return zf + _REAL_RTOL * max(1.0, abs(zf))


@njit(cache=True)
def _safe_bound(u: float, integral: bool) -> float:
    """A proven bound from a computed bound u (rounding errors included): floor(u + margin) when the
    profits are integral, else u plus a relative margin."""
    margin = 1e-9 + 1e-12 * abs(u)
    if integral:
        return np.floor(u + margin)
    return u + margin


@njit(cache=True)
def _proven(ub: float, exact: bool, integral: bool) -> float:
    """The global bound ub as a proven bound: as is when it was floored exactly, else with margins."""
    return ub if exact else _safe_bound(ub, integral)


@njit(cache=True)
def _now() -> float:
    """Wall-clock seconds (time.perf_counter) from inside compiled code, for deadlines."""
    with objmode(t="float64"):
        t = time.perf_counter()
    return t


@njit(cache=True)
def _stop_level(ub: float, exact: bool, integral: bool) -> float:
    """The search stops once the incumbent reaches this level of the global upper bound ub: ub itself
    when it was floored exactly (all sums below 2**52), the safe floor of ub for other integral
    profits (int64 data with larger sums: float bounds carry rounding errors), else ub less a
    _REAL_RTOL relative tolerance (real-valued data)."""
    if exact:
        return ub
    if integral:
        return _safe_bound(ub, True)
    return ub - _REAL_RTOL * max(1.0, abs(ub))


@njit(cache=True)
def _gc_nodes(par, itm, nn, nodes, count, extra):
    """Compact the node log to the nodes reachable from ``nodes[:count]`` and ``extra``.

    Parents always precede children, so one forward pass renumbers. Returns (new size, new extra).
    """
    mark = np.zeros(nn, np.bool_)
    mark[0] = True
    for i in range(count):
        k = nodes[i]
        while not mark[k]:
            mark[k] = True
            k = par[k]
    k = extra
    if k >= 0:
        while not mark[k]:
            mark[k] = True
            k = par[k]
    remap = np.empty(nn, np.int64)
    cnt = 0
    for k in range(nn):
        if mark[k]:
            remap[k] = cnt
            p = par[k]
            par[cnt] = remap[p] if p >= 0 else -1
            itm[cnt] = itm[k]
            cnt += 1
    for i in range(count):
        nodes[i] = remap[nodes[i]]
    if extra >= 0:
        extra = remap[extra]
    return cnt, extra


@njit(cache=True)
def _reserve_nodes(par, itm, nn, need, nodes, count, extra):
    """Make room for ``need`` more nodes: garbage-collect first, grow if the log stays over half full."""
    if nn + need <= par.shape[0]:
        return par, itm, nn, extra
    nn, extra = _gc_nodes(par, itm, nn, nodes, count, extra)
    if nn + need > par.shape[0] // 2:
        size = max(2 * par.shape[0], 2 * (nn + need))
        par2 = np.empty(size, np.int64)
        itm2 = np.empty(size, np.int64)
        for k in range(nn):  # explicit loops: slice assignment costs seconds of numba compile time
            par2[k] = par[k]
            itm2[k] = itm[k]
        par, itm = par2, itm2
    return par, itm, nn, extra


# --------------------------------------------------------------------------------------------------
# 0/1 knapsack: expanding-core DP
# --------------------------------------------------------------------------------------------------


@njit(cache=True)
def _merge01(W, P, N, L, dw, dp, item, W2, P2, N2, par, itm, nn, cap, es, et, z, best, integral, lowest):
    """Merge the list with its copy shifted by (dw, dp) into (W2, P2, N2), dropping dominated states
    and states whose bound u <= threshold(z). Both inputs are sorted by weight, so is the output.
    ``lowest`` is below every profit, of the profits' type (int64 data stays exact: no float mixing).
    Returns (new length, node count, incumbent value, incumbent node)."""
    thr = _threshold(z, integral)
    i = 0
    j = 0
    k = 0
    best_p = lowest
    while i < L or j < L:
        take_old = False
        if j >= L:
            take_old = True
        elif i < L:
            wb = W[j] + dw
            take_old = W[i] < wb or (W[i] == wb and P[i] >= P[j] + dp)
        if take_old:
            cw = W[i]
            cp = P[i]
            node = N[i]
            i += 1
        else:
            cw = W[j] + dw
            cp = P[j] + dp
            node = -1 - N[j]  # encoded parent: a node is only allocated if the state survives
            j += 1
        # Lists are visited by non-decreasing weight (ties: larger profit first), so "profit not above
        # the best so far" means dominated. Pruned states still count as dominators: u is monotone.
        if cp <= best_p:
            continue
        best_p = cp
        ub = cp + (cap - cw) * et if cw <= cap else cp - (cw - cap) * es
        if ub <= thr:
            continue
        if node < 0:
            par[nn] = -1 - node
            itm[nn] = item
            node = nn
            nn += 1
        W2[k] = cw
        P2[k] = cp
        N2[k] = node
        k += 1
        if cw <= cap and cp > z:
            z = cp
            best = node
            thr = _threshold(z, integral)
    return k, nn, z, best


@njit(cache=True)
def _greedy_fill(key, wt, gain, cnt, cap):
    """Dantzig's greedy fill by non-increasing key without sorting: quickselect-style 3-way partitions
    around a median-of-three pivot, expected O(n). Returns (sum of gain and of cnt over the whole items
    taken, residual capacity, gain, weight and cnt of the first item that does not fit; its weight is
    0.0 when everything fits). Items of equal key may be taken in any order: the LP value is the same."""
    m = key.shape[0]
    idx = np.arange(m)
    lo = 0
    hi = m
    full = 0.0
    csum = 0.0
    r = cap
    while lo < hi:
        a = key[idx[lo]]
        b = key[idx[(lo + hi) >> 1]]
        c = key[idx[hi - 1]]
        piv = max(min(a, b), min(max(a, b), c))
        gt = lo  # [lo, gt): key > piv, [gt, i): key == piv, [lt, hi): key < piv
        i = lo
        lt = hi
        while i < lt:
            kk = key[idx[i]]
            if kk > piv:
                idx[gt], idx[i] = idx[i], idx[gt]
                gt += 1
                i += 1
            elif kk < piv:
                lt -= 1
                idx[lt], idx[i] = idx[i], idx[lt]
            else:
                i += 1
        wsum = 0.0
        gsum = 0.0
        nsum = 0.0
        for q in range(lo, gt):
            wsum += wt[idx[q]]
            gsum += gain[idx[q]]
            nsum += cnt[idx[q]]
        if wsum > r:
            hi = gt  # the first item that does not fit has a key above the pivot
            continue
        r -= wsum
        full += gsum
        csum += nsum
        for q in range(gt, lt):
            j = idx[q]
            if wt[j] <= r:
                r -= wt[j]
                full += gain[j]
                csum += cnt[j]
            else:
                return full, csum, r, gain[j], wt[j], cnt[j]
        lo = lt
    return full, csum, r, 0.0, 0.0, 0.0


@njit(cache=True)
def _shifted_lp(v, w, mult, cap, mu):
    """Dantzig LP of max sum (v_j - mu m_j) x_j s.t. w x <= cap, 0 <= x <= 1 (items with
    v_j <= mu m_j unused); m_j is the number of copies item j stands for (1 for 0/1 items).

    Returns (LP value, cardinality sum m x of the LP solution, whole-item part of the value, residual
    capacity, profit and weight of the fractional item; weight 0.0 if there is none)."""
    n = v.shape[0]
    m = 0
    for j in range(n):
        if v[j] > mu * mult[j]:
            m += 1
    key = np.empty(m)
    wt = np.empty(m)
    gain = np.empty(m)
    cnt = np.empty(m)
    m = 0
    for j in range(n):
        if v[j] > mu * mult[j]:
            gain[m] = v[j] - mu * mult[j]
            wt[m] = w[j]
            cnt[m] = mult[j]
            key[m] = gain[m] / w[j]
            m += 1
    full, csum, r, fg, fw, fc = _greedy_fill(key, wt, gain, cnt, cap)
    if fw > 0.0:
        return full + r * fg / fw, csum + r * fc / fw, full, r, fg, fw
    return full, csum, full, r, 0.0, 0.0


@njit(cache=True)
def _floor_frac(q: float) -> float:
    """floor(q) for a rounded q (e.g. r * p / w of non-negative integers), never below the true floor:
    the product may exceed 2**53 and be rounded, so allow a 1e-9 relative slack (this only costs
    tightness when q is that close below an integer)."""
    return np.floor(q + 1e-9 * (1.0 + abs(q)))


@njit(cache=True)
def _lagrangian(v, w, mult, cap, mu, k, exact):
    """(mu * k + LP(v - mu m), cardinality m x of the LP solution). The value bounds every solution
    with m x <= k if mu >= 0, or with m x >= k if mu <= 0. In exact mode (all data integral, mu
    integral) it is floored, with margins covering the rounding of the sums (exact below 2**53, but
    mu * k and sum (v - mu m) may be larger when |mu| is) and of the fractional part (as _floor_frac)."""
    val, card, full, r, pf, wf = _shifted_lp(v, w, mult, cap, mu)
    if exact:
        q = r * pf / wf if wf > 0.0 else 0.0
        margin = 1e-12 * (abs(mu) * (k + card) + abs(full) + 1.0)
        return np.floor(mu * k + full + q + 1e-9 * (1.0 + q) + margin), card
    return mu * k + val, card


@njit(cache=True)
def _dual_bound(v, w, mult, cap, k, lo, hi, exact, enough):
    """min over mu in [lo, hi] of the convex piecewise-linear phi(mu) = mu k + LP(v - mu m), whose
    subgradient is k - card(mu), card(mu) non-increasing.

    The bracket around the minimum is narrowed with probes rotating between Kelley's point (where
    the supporting lines at the two ends cross: exact when phi has two pieces, as for strongly
    correlated data), regula falsi on card(mu) - k (Illinois variant: fast when the minimum is near
    an end, as for uncorrelated data) and bisection (the safeguard), at most _DUAL_EVALS of them; mu
    stays integral in exact mode.
    The crossing value of the supporting lines is a lower bound on phi, so the search stops once no mu
    can improve the bound by more than 1 (exact) or 1e-12 relative, or once the bound is at most
    ``enough`` (the caller's incumbent). Any mu gives a valid bound: stopping early only costs
    tightness."""
    f_lo, c_lo = _lagrangian(v, w, mult, cap, lo, k, exact)
    if k - c_lo >= 0.0:
        return f_lo
    f_hi, c_hi = _lagrangian(v, w, mult, cap, hi, k, exact)
    if k - c_hi <= 0.0:
        return f_hi
    best = min(f_lo, f_hi)
    if best <= enough:
        return best
    g_lo = c_lo - k  # > 0; Illinois halves it when the same end is kept twice
    g_hi = c_hi - k  # < 0
    side = 0
    for it in range(_DUAL_EVALS):
        if hi - lo <= (1.0 if exact else 1e-9 * max(1.0, abs(hi))):
            break
        s_lo = k - c_lo
        s_hi = k - c_hi
        cross = (f_hi - f_lo + s_lo * lo - s_hi * hi) / (s_lo - s_hi)
        if best - (f_lo + s_lo * (cross - lo)) <= (1.0 if exact else 1e-12 * max(1.0, abs(best))):
            break
        if it % 3 == 0:
            mu = cross
        elif it % 3 == 1:
            mu = lo + g_lo / (g_lo - g_hi) * (hi - lo)
        else:
            mu = 0.5 * (lo + hi)
        if exact:
            mu = np.floor(mu)
        if not (lo < mu < hi):
            mu = np.floor(0.5 * (lo + hi)) if exact else 0.5 * (lo + hi)
        f, c = _lagrangian(v, w, mult, cap, mu, k, exact)
        best = min(best, f)
        if best <= enough:
            break
        if c > k:
            lo, f_lo, c_lo, g_lo = mu, f, c, c - k
            if side == 1:
                g_hi *= 0.5
            side = 1
        elif c < k:
            hi, f_hi, c_hi, g_hi = mu, f, c, c - k
            if side == -1:
                g_lo *= 0.5
            side = -1
        else:
            break
    return best


@njit(cache=True)
def _cardinality_bound(v, w, mult, cap, z, exact):
    """Upper bound on any solution better than z from cardinality constraints (Martello-Pisinger-Toth),
    counting item j as m_j copies. Every solution has m x <= kmax (LP bound on the copies that fit:
    the lightest ones), every solution better than z has m x >= kmin (copies needed to beat z: the most
    profitable ones). Dantzig's LP solution has card0 copies, between f = floor(card0) and f + 1, so
    either m x <= f (bound: dualise it with mu >= 0) or m x >= max(f + 1, kmin) (dualise with mu <= 0):
    the bound is the larger of the two (a side is -inf when [kmin, kmax] excludes it)."""
    n = v.shape[0]
    key = np.empty(n)
    for j in range(n):
        key[j] = mult[j] / w[j]
    full, _, r, fg, fw, _ = _greedy_fill(key, w, mult, mult, cap)  # copies, lightest first
    kmax = np.floor(full + (r * fg / fw if fw > 0.0 else 0.0) + 1e-9)
    for j in range(n):
        key[j] = v[j] / mult[j]
    full, _, r, fg, fw, _ = _greedy_fill(key, v, mult, mult, z)  # copies, most profitable first
    if fw == 0.0:
        return -np.inf  # even everything together is worth at most z
    kmin = np.ceil(full + r * fg / fw - 1e-9)
    if kmin > kmax:
        return -np.inf
    card0 = _shifted_lp(v, w, mult, cap, 0.0)[1]
    f = np.floor(card0)
    vmax = 0.0
    wmax = 0.0
    wmin = np.inf
    mmin = np.inf
    for j in range(n):
        vmax = max(vmax, v[j] / mult[j])
        wmax = max(wmax, w[j])
        wmin = min(wmin, w[j])
        mmin = min(mmin, mult[j])
    ub = -np.inf
    if kmin <= f:
        hi = np.ceil(vmax) if exact else vmax
        ub = max(ub, _dual_bound(v, w, mult, cap, min(f, kmax), 0.0, hi, exact, z))
    kb = max(f + 1.0, kmin)
    if kb <= kmax:
        lo = -(vmax * (wmax / wmin + 1.0) / mmin + 1.0)
        if exact:
            lo = np.floor(lo)
        ub = max(ub, _dual_bound(v, w, mult, cap, kb, lo, 0.0, exact, z))
    return ub


@njit(cache=True)
def _pair_items(W, P, L, v, w, b, in_core, cap, z):
    """Heuristic: combine each state with one item outside the core (added if after the break, removed
    if before) and keep the best feasible combination. Returns (value, state index, item)."""
    bi = -1
    bj = -1
    for j in range(v.shape[0]):
        if in_core[j]:
            continue
        if j >= b:
            lim = cap - w[j]
            dp = v[j]
        else:
            lim = cap + w[j]
            dp = -v[j]
        if L == 0 or W[0] > lim:
            continue
        lo = 0
        hi = L  # W[lo] <= lim < W[hi]
        while hi - lo > 1:
            mid = (lo + hi) >> 1
            if W[mid] <= lim:
                lo = mid
            else:
                hi = mid
        if P[lo] + dp > z:
            z = P[lo] + dp
            bi = lo
            bj = j
    return z, bi, bj


@njit(cache=True)
def _core_x(n, b, best, best_extra, par, itm, xg):
    """The incumbent as a 0/1 vector: the greedy one (best < 0) or the break solution toggled along
    the node path of ``best`` (and ``best_extra`` from the pairing heuristic)."""
    if best < 0:
        return xg.copy()
    x = np.zeros(n, np.int64)
    for j in range(b):
        x[j] = 1
    if best_extra >= 0:
        x[best_extra] ^= 1
    node = best
    while node > 0:
        x[itm[node]] ^= 1
        node = par[node]
    return x


@njit(cache=True)
def _core_bound(W, P, L, cap, es, et):
    """max over the states of u(W, P) (the LP bound of the module docstring); -inf for no state."""
    top = -np.inf
    for i in range(L):
        u = P[i] + float(cap - W[i]) * et if W[i] <= cap else P[i] - float(W[i] - cap) * es
        top = max(top, u)
    return top


@njit(cache=True)
def _minknap(v, w, vf, wf, mult, cap, integral, exact, relax_states, pair_states, max_states, deadline, lowest):
    """Exact 0/1 knapsack on items sorted by non-increasing efficiency with 0 < w_i <= cap,
    v_i > 0 and sum(w) > cap. v, w and cap are int64 (exact sums) or float64; vf, wf are their float
    copies (bounds). ``integral``: values are integers; ``exact``: global bounds can be floored
    exactly; ``mult``: copies each item stands for (cardinality bound). The cardinality bound is
    computed once the list exceeds ``relax_states`` states, pairing runs when it exceeds
    ``pair_states`` (then 2x that). ``lowest``: a profit below every state's, of the profits' type.

    Returns (x, status, z, bound, free, states): the incumbent x in the sorted order and its value z;
    status 0 = optimal (bound = z), 1 = the list outgrew ``max_states``, 2 = ``deadline``
    (time.perf_counter) passed; bound: a proven upper bound on the optimum (the global Dantzig /
    cardinality bound, or at the deadline the largest bound of a live state); free: False for the
    items fixed at their break-solution value (no solution better than z changes them); states: the
    largest list length seen."""
    n = v.shape[0]
    eff = vf / wf
    b = 0
    wsum = w[0] - w[0]
    psum = v[0] - v[0]
    while b < n and wsum + w[b] <= cap:
        wsum += w[b]
        psum += v[b]
        b += 1

    # Greedy incumbent: break solution, then every later item that still fits.
    xg = np.zeros(n, np.int64)
    for j in range(b):
        xg[j] = 1
    res = cap - wsum
    z = psum
    for j in range(b + 1, n):
        if w[j] <= res:
            xg[j] = 1
            res -= w[j]
            z += v[j]
    best = -1  # node of the incumbent state; -1: the greedy solution
    best_extra = -1  # item toggled on top of the incumbent node (pairing heuristic), -1: none

    # Global upper bound: stop as soon as z reaches it. Start with Dantzig's bound (in floating
    # point: products of two int64 coefficients may overflow).
    frac = float(cap - wsum) * vf[b] / wf[b]
    ub = float(psum) + (_floor_frac(frac) if exact else frac)
    stop = _stop_level(ub, exact, integral)

    size = 256
    W = np.empty(size, w.dtype)
    P = np.empty(size, v.dtype)
    N = np.empty(size, np.int64)
    W2 = np.empty(size, w.dtype)
    P2 = np.empty(size, v.dtype)
    N2 = np.empty(size, np.int64)
    W[0] = wsum
    P[0] = psum
    N[0] = 0
    L = 1
    par = np.empty(1 << 14, np.int64)
    itm = np.empty(1 << 14, np.int64)
    par[0] = -1
    itm[0] = -1
    nn = 1
    in_core = np.zeros(n, np.bool_)
    relaxed = False
    pair_at = pair_states
    most = 1

    s = b - 1
    t = b
    add_turn = True
    work = 0
    while L > 0 and (s >= 0 or t < n) and z < stop:
        # The clock (~1 us to read) is read after every _CLOCK_WORK state operations (a few ms).
        work += L + 64
        if work >= _CLOCK_WORK:
            work = 0
            clock = _now() > deadline
        else:
            clock = False
        if clock:
            es = eff[s] if s >= 0 else np.inf
            et = eff[t] if t < n else 0.0
            bound = min(
                _proven(ub, exact, integral), max(float(z), _safe_bound(_core_bound(W, P, L, cap, es, et), integral))
            )
            free = in_core.copy()
            free[: s + 1] = True
            free[t:] = True
            return _core_x(n, b, best, best_extra, par, itm, xg), 2, z, bound, free, most
        if (add_turn and t < n) or s < 0:
            item = t
            dw = w[t]
            dp = v[t]
            t += 1
        else:
            item = s
            dw = -w[s]
            dp = -v[s]
            s -= 1
        add_turn = not add_turn
        # Bound parameters once `item` is decided: next candidates are t (after) and s (before).
        es = eff[s] if s >= 0 else np.inf
        et = eff[t] if t < n else 0.0
        thr = _threshold(z, integral)

        # Reduction: does toggling `item` give any state a chance to beat z?
        needed = False
        for i in range(L):
            nw = W[i] + dw
            npr = P[i] + dp
            u = npr + float(cap - nw) * et if nw <= cap else npr - float(nw - cap) * es
            if u > thr:
                needed = True
                break
        if not needed:
            # Item fixed; re-prune the list in place with the tightened bounds.
            k = 0
            for i in range(L):
                u = P[i] + float(cap - W[i]) * et if W[i] <= cap else P[i] - float(W[i] - cap) * es
                if u > thr:
                    W[k] = W[i]
                    P[k] = P[i]
                    N[k] = N[i]
                    k += 1
            L = k
            continue

        in_core[item] = True
        if W2.shape[0] < 2 * L:
            size = 4 * L
            W2 = np.empty(size, w.dtype)
            P2 = np.empty(size, v.dtype)
            N2 = np.empty(size, np.int64)
        par, itm, nn, best = _reserve_nodes(par, itm, nn, L, N, L, best)
        L, nn, z2, best2 = _merge01(
            W, P, N, L, dw, dp, item, W2, P2, N2, par, itm, nn, cap, es, et, z, best, integral, lowest
        )
        if z2 > z:
            z = z2
            best = best2
            best_extra = -1
        W, W2 = W2, W
        P, P2 = P2, P
        N, N2 = N2, N
        most = max(most, L)
        if max_states < L:
            free = in_core.copy()
            free[: s + 1] = True
            free[t:] = True
            return _core_x(n, b, best, best_extra, par, itm, xg), 1, z, _proven(ub, exact, integral), free, most

        # Hard instances (many states; typically strongly correlated): tighten the global bound with
        # cardinality constraints once, and look for better solutions by pairing states with items.
        if not relaxed and relax_states < L:
            relaxed = True
            ub = min(ub, _cardinality_bound(vf, wf, mult, float(cap), float(z), exact))
            stop = _stop_level(ub, exact, integral)
        if pair_at < L:
            pair_at = 2 * L
            z2, bi, bj = _pair_items(W, P, L, v, w, b, in_core, cap, z)
            if z2 > z:
                z = z2
                best = N[bi]
                best_extra = bj

    free = np.zeros(n, np.bool_)
    return _core_x(n, b, best, best_extra, par, itm, xg), 0, z, float(z), free, most


# --------------------------------------------------------------------------------------------------
# Multiple-choice knapsack: expanding core over groups around the LP solution
# --------------------------------------------------------------------------------------------------


@njit(cache=True)
def _pareto_keep(gs, ov):
    """Within each group (options sorted by weight, ties by value descending) keep the options whose
    value beats every lighter one: the others are dominated."""
    keep = np.zeros(ov.shape[0], np.bool_)
    for g in range(gs.shape[0] - 1):
        best = -np.inf
        for o in range(gs[g], gs[g + 1]):
            if ov[o] > best:
                best = ov[o]
                keep[o] = True
    return keep


@njit(cache=True)
def _hull_segments(gs, ow, ov):
    """Upper concave hull of each group's options (sorted by weight, strictly increasing values, the
    first one at the origin). Returns the hull segments (dw, dv, group, end option index)."""
    m = ow.shape[0]
    G = gs.shape[0] - 1
    sdw = np.empty(m)
    sdv = np.empty(m)
    sg = np.empty(m, np.int64)
    se = np.empty(m, np.int64)
    hull = np.empty(m, np.int64)
    S = 0
    for g in range(G):
        h = 0
        for o in range(gs[g], gs[g + 1]):
            while h >= 2:
                a = hull[h - 2]
                bb = hull[h - 1]
                # Drop bb when it is on or below the chord a -> o.
                if (ov[bb] - ov[a]) * (ow[o] - ow[bb]) <= (ov[o] - ov[bb]) * (ow[bb] - ow[a]):
                    h -= 1
                else:
                    break
            hull[h] = o
            h += 1
        for q in range(1, h):
            sdw[S] = ow[hull[q]] - ow[hull[q - 1]]
            sdv[S] = ov[hull[q]] - ov[hull[q - 1]]
            sg[S] = g
            se[S] = hull[q]
            S += 1
    return sdw[:S], sdv[:S], sg[:S], se[:S]


@njit(cache=True)
def _mc_lp_greedy(gs, sdw, sdv, sg, se, cap):
    """LP relaxation and a greedy solution from the hull segments sorted by non-increasing slope.

    The LP takes segments in that order until one does not fit: its slope is the critical slope alpha
    and every group's current hull point (``lp``; the lower end in the fractional group) maximises
    v - alpha * w within the group. The greedy solution continues past the break, upgrading a group
    while its next segment fits (a group is frozen the first time it does not). Returns (lp, alpha,
    whether the LP is integral, greedy choice, greedy value)."""
    G = gs.shape[0] - 1
    lp = np.empty(G, np.int64)
    for g in range(G):
        lp[g] = gs[g]
    greedy = lp.copy()
    frozen = np.zeros(G, np.bool_)
    res = cap
    z = 0.0
    alpha = 0.0
    integral_lp = True
    for q in range(sdw.shape[0]):
        g = sg[q]
        if frozen[g]:
            continue
        if sdw[q] <= res:
            res -= sdw[q]
            z += sdv[q]
            greedy[g] = se[q]
            if integral_lp:
                lp[g] = se[q]
        else:
            frozen[g] = True
            if integral_lp:
                integral_lp = False
                alpha = sdv[q] / sdw[q]
    return lp, alpha, integral_lp, greedy, z


@njit(cache=True)
def _mc_bound(p, w, cap, alpha, r_next):
    """Bound on every completion of a state (w, p) when the groups outside the core sit at their LP
    choices: each group change has reduced profit r = dv - alpha * dw <= r_next, so a completion
    changing at least one group is worth at most p + alpha * (C - w) + r_next; one changing none is
    worth p if w <= C."""
    u = p + alpha * (cap - w) + r_next
    if w <= cap and p > u:
        return p
    return u


@njit(cache=True)
def _mc_merge(
    RW, RP, RN, RO, RL, BW, BP, BN, BL, dw, dp, opt, TW, TP, TN, TO, cap, alpha, r_next, z, inc_node, inc_opt, integral
):
    """Merge the current list R with the group's base list B shifted by option (dw, dp) into T,
    dropping dominated states and shifted states whose bound cannot beat z (R states were bounded
    already). Returns (new length, z, incumbent parent node, incumbent option)."""
    thr = _threshold(z, integral)
    i = 0
    j = 0
    k = 0
    best_p = -np.inf
    while i < RL or j < BL:
        take_r = False
        if j >= BL:
            take_r = True
        elif i < RL:
            wb = BW[j] + dw
            take_r = RW[i] < wb or (RW[i] == wb and RP[i] >= BP[j] + dp)
        if take_r:
            cp = RP[i]
            if cp > best_p:
                best_p = cp
                TW[k] = RW[i]
                TP[k] = cp
                TN[k] = RN[i]
                TO[k] = RO[i]
                k += 1
            i += 1
        else:
            nw = BW[j] + dw
            cp = BP[j] + dp
            parent = BN[j]
            j += 1
            if cp <= best_p:
                continue
            best_p = cp
            if _mc_bound(cp, nw, cap, alpha, r_next) <= thr:
                continue
            TW[k] = nw
            TP[k] = cp
            TN[k] = parent
            TO[k] = opt
            k += 1
            if nw <= cap and cp > z:
                z = cp
                inc_node = parent
                inc_opt = opt
                thr = _threshold(z, integral)
    return k, z, inc_node, inc_opt


@njit(cache=True)
def _mc_core(gs, ow, ov, lp, alpha, order, rmax, cap, integral, z0, max_states):
    """Exact at-most-one MCKP by expanding a core of groups around the LP solution (the idea of
    Pisinger's mcknap). Options are offset so that each group's first option is (0, 0); groups outside
    the core sit at their LP choice ``lp``. Groups enter the core in ``order`` (non-increasing best
    reduced profit ``rmax``); the expansion stops as soon as no state can gain from the next group.

    Returns (options chosen differently from lp along the incumbent's path, at most one per group;
    use_greedy: the initial incumbent z0 was never beaten; ok: False if the list outgrew max_states)."""
    G = gs.shape[0] - 1
    W0 = 0.0
    P0 = 0.0
    for g in range(G):
        W0 += ow[lp[g]]
        P0 += ov[lp[g]]

    size = 256
    BW = np.empty(size)
    BP = np.empty(size)
    BN = np.empty(size, np.int64)
    RW = np.empty(size)
    RP = np.empty(size)
    RN = np.empty(size, np.int64)
    RO = np.empty(size, np.int64)
    TW = np.empty(size)
    TP = np.empty(size)
    TN = np.empty(size, np.int64)
    TO = np.empty(size, np.int64)
    BW[0] = W0
    BP[0] = P0
    BN[0] = 0
    BL = 1
    par = np.empty(1 << 12, np.int64)
    itm = np.empty(1 << 12, np.int64)
    par[0] = -1
    itm[0] = -1
    nn = 1

    z = z0
    use_greedy = True
    inc_node = 0
    inc_opt = -1  # z0 >= P0: the greedy solution extends the LP's integral part
    K = order.shape[0]
    for q in range(K):
        g = order[q]
        r_next = rmax[order[q + 1]] if q + 1 < K else -np.inf
        thr = _threshold(z, integral)
        # No state can gain from group g or any later one (their reduced profits are <= rmax[g]).
        top = -np.inf
        for i in range(BL):
            top = max(top, BP[i] + alpha * (cap - BW[i]))
        if top + rmax[g] <= thr:
            break

        if RW.shape[0] < BL:
            RW = np.empty(2 * BL)
            RP = np.empty(2 * BL)
            RN = np.empty(2 * BL, np.int64)
            RO = np.empty(2 * BL, np.int64)
        # Group g at its LP choice: the base states, re-bounded with the next group's rmax.
        RL = 0
        for i in range(BL):
            if _mc_bound(BP[i], BW[i], cap, alpha, r_next) > thr:
                RW[RL] = BW[i]
                RP[RL] = BP[i]
                RN[RL] = BN[i]
                RO[RL] = -1
                RL += 1
        base = lp[g]
        for o in range(gs[g], gs[g + 1]):
            if o == base:
                continue
            dw = ow[o] - ow[base]
            dp = ov[o] - ov[base]
            if top + dp - alpha * dw <= thr:  # reduced profit too low for every state
                continue
            if TW.shape[0] < RL + BL:  # the merge output; R is the previous output, large enough
                TW = np.empty(2 * (RL + BL))
                TP = np.empty(2 * (RL + BL))
                TN = np.empty(2 * (RL + BL), np.int64)
                TO = np.empty(2 * (RL + BL), np.int64)
            RL, z2, inc_node, inc_opt = _mc_merge(
                RW,
                RP,
                RN,
                RO,
                RL,
                BW,
                BP,
                BN,
                BL,
                dw,
                dp,
                o,
                TW,
                TP,
                TN,
                TO,
                cap,
                alpha,
                r_next,
                z,
                inc_node,
                inc_opt,
                integral,
            )
            if z2 > z:
                z = z2
                use_greedy = False
            RW, TW = TW, RW
            RP, TP = TP, RP
            RN, TN = TN, RN
            RO, TO = TO, RO

        # Commit: states that changed group g get a node.
        par, itm, nn, inc_node = _reserve_nodes(par, itm, nn, RL, RN, RL, inc_node)
        for i in range(RL):
            if RO[i] >= 0:
                par[nn] = RN[i]
                itm[nn] = RO[i]
                RN[i] = nn
                nn += 1
        if BW.shape[0] < RL:
            BW = np.empty(2 * RL)
            BP = np.empty(2 * RL)
            BN = np.empty(2 * RL, np.int64)
        for i in range(RL):
            BW[i] = RW[i]
            BP[i] = RP[i]
            BN[i] = RN[i]
        BL = RL
        if BL == 0:
            break
        if max_states < BL:
            return np.empty(0, np.int64), True, False

    picked = np.empty(G + 1, np.int64)
    k = 0
    if use_greedy:
        return picked[:0], True, True
    if inc_opt >= 0:
        picked[k] = inc_opt
        k += 1
    node = inc_node
    while node > 0:
        picked[k] = itm[node]
        k += 1
        node = par[node]
    return picked[:k], False, True


# --------------------------------------------------------------------------------------------------
# Python wrappers
# --------------------------------------------------------------------------------------------------


def _check_data(values: np.ndarray, weights: np.ndarray, capacity: float) -> tuple[np.ndarray, np.ndarray, float]:
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if v.ndim != 1 or w.shape != v.shape:
        raise ValueError(f"values and weights must be 1-D of equal length, got {v.shape} and {w.shape}")
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(w))) or np.any(v < 0) or np.any(w < 0):
        raise ValueError("values and weights must be finite and non-negative")
    cap = float(capacity)
    if not np.isfinite(cap) or cap < 0:
        raise ValueError(f"capacity must be finite and non-negative, got {capacity!r}")
    return v, w, cap


def _check_counts(name: str, a: np.ndarray | None, n: int) -> np.ndarray:
    if a is None:
        return np.ones(n, np.int64)
    arr = np.asarray(a)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr))):
        raise ValueError(f"{name} must be integers")
    out = arr.astype(np.int64)
    if np.any(out < 0):
        raise ValueError(f"{name} must be non-negative")
    return out


def _is_integral(v: np.ndarray) -> bool:
    """Integral profits with exactly representable sums allow the floor(u) <= z prune."""
    return bool(np.all(v == np.floor(v)) and float(v.sum()) < _EXACT_INT)


@njit(cache=True)
def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


@njit(cache=True)
def _int_data(v, w, limit):
    """One pass over profits and weights (float64 or int64): (ok, v and w as int64, gcd of v, gcd of w).
    ok is False unless every entry is integral and both sums stay below ``limit``; the gcds stop
    early once they reach 1."""
    n = v.shape[0]
    vi = np.empty(n, np.int64)
    wi = np.empty(n, np.int64)
    sv = 0.0
    sw = 0.0
    for j in range(n):
        if v[j] != np.floor(v[j]) or w[j] != np.floor(w[j]):
            return False, vi, wi, 1, 1
        sv += v[j]
        sw += w[j]
        vi[j] = np.int64(v[j])
        wi[j] = np.int64(w[j])
    if sv >= limit or sw >= limit:
        return False, vi, wi, 1, 1
    gv = 0
    for j in range(n):
        gv = _gcd(vi[j], gv)
        if gv == 1:
            break
    gw = 0
    for j in range(n):
        gw = _gcd(wi[j], gw)
        if gw == 1:
            break
    return True, vi, wi, gv, gw


def _max_multiples(w: np.ndarray, cap: float) -> np.ndarray:
    """floor(cap / w) for w > 0, corrected so that k * w <= cap holds in floating point."""
    k = np.floor(cap / w)
    k = np.where(k * w > cap, k - 1, k)
    k = np.where((k + 1) * w <= cap, k + 1, k)
    return np.clip(k, 0, _MAX_COUNT).astype(np.int64)


@dataclass(frozen=True)
class KnapsackRun:
    """What the exact 0/1 (or bounded) knapsack found.

    ``x``: the best solution found (0/1, or counts); ``value``: its value; ``bound``: a proven upper
    bound on the optimum (``bound == value`` when ``optimal``); ``phase``: the search that decided it
    ("core": the expanding-core DP, "forward": the feasible-states DP, "table": the branch and bound
    over the DP table; see allocopt.solvers.knapsack_hard); ``states``: the largest state list."""

    x: np.ndarray
    value: float
    bound: float
    optimal: bool
    phase: str
    states: int


def _run_01(v: np.ndarray, w: np.ndarray, cap: float, mult: np.ndarray, deadline: float) -> KnapsackRun:
    """The 0/1 knapsack on validated data (v, w float64 or exact int64); item j stands for mult[j]
    copies (cardinality bound only). Stops at ``deadline`` (time.perf_counter) with the incumbent."""
    n = v.size
    x = np.zeros(n, np.int64)
    x[(w == 0) & (v > 0)] = 1
    idx = np.flatnonzero((w > 0) & (v > 0) & (w <= cap))
    if idx.size and float(w[idx].sum()) <= cap:
        x[idx] = 1
        idx = idx[:0]
    if idx.size == 0:
        value = _total(v, x)
        return KnapsackRun(x, value, value, True, "core", 0)
    # Stable sort keeps runs of equal efficiency (e.g. from binary splitting) in input order.
    order = idx[np.argsort(-(v[idx].astype(np.float64) / w[idx].astype(np.float64)), kind="stable")]
    vs, ws = v[order], w[order]
    ok, vi, wi, gv, gw = _int_data(vs, ws, float(_INT_SUM_LIMIT) / 2)  # the float sums: within 1e-10 relative
    if ok:
        # Exact int64 arithmetic on weights and profits; bounds in floating point with margins.
        # Every weight sum is a multiple of gw = gcd(w): round the capacity down to one (this is what
        # lets the cardinality bound be reached on e.g. even weights with an odd capacity). Likewise every
        # profit sum is a multiple of gv = gcd(v): dividing the profits by it makes every bound floor to
        # a multiple of gv (e.g. Pisinger's pceil class, profits 3 ceil(w / 3)).
        capx: int | float = gw * (int(cap) // gw)
        scale = gv
        vs, ws = (vi // scale if scale > 1 else vi), wi
        integral = True
        exact = float(vs.sum()) < _EXACT_INT
        lowest: int | float = np.int64(-(2**62))
    else:
        vs, ws = vs.astype(np.float64), ws.astype(np.float64)
        capx = float(cap)
        scale = 1
        integral = _is_integral(vs)
        exact = False
        lowest = -np.inf
        if _is_integral(ws):
            g = int(np.gcd.reduce(ws.astype(np.int64)))
            capx = float(g * (int(cap) // g))
            exact = integral
    vf, wf = vs.astype(np.float64), ws.astype(np.float64)
    base_value = _total(v, x)
    xs, status, z, bound, free, most = _minknap(
        vs, ws, vf, wf, mult[order], capx, integral, exact, _RELAX_STATES, _PAIR_STATES, _CORE_STATES, deadline, lowest
    )
    phase = "core"
    if status == 1:
        from allocopt.solvers.knapsack_hard import forward_dp, table_bb  # (imports this module)

        # Items the core phase fixed keep their break-solution value in every better solution.
        b = int(np.searchsorted(np.cumsum(ws), capx, side="right"))
        fixed_in = ~free & (np.arange(xs.size) < b)
        items = np.flatnonzero(free).astype(np.int64)
        cap2 = capx - ws[fixed_in].sum()
        p0 = vs[fixed_in].sum()
        stop = bound - float(p0)
        # Heaviest first (few heavy items fit together: the lists stay short until the light items come).
        proc = items[np.argsort(-wf[items], kind="stable")]
        st, z2, bound2, best, W, P, N, L, par, itm, q, most2 = forward_dp(
            vs, ws, vf, wf, proc, items, cap2, z - p0, integral, stop, _MAX_STATES, deadline, lowest
        )
        phase, most = "forward", max(most, most2)
        if best >= 0:
            z = z2 + p0
            xs = fixed_in.astype(np.int64)
            xs[_node_items(par, itm, best)] = 1
        if st == 1:
            rest = np.sort(proc[q:])  # efficiency order
            st, z3, bound2, best_t, taken, _ = table_bb(
                vs, ws, vf, wf, rest, W[:L], P[:L], L, cap2, z - p0, integral, stop, deadline
            )
            phase = "table"
            if best_t >= 0:
                z = z3 + p0
                xs = fixed_in.astype(np.int64)
                xs[_node_items(par, itm, int(N[best_t]))] = 1
                xs[rest[taken]] = 1
        status = 0 if st == 0 else 2
        bound = min(bound, max(float(z), float(p0) + bound2))
    x[order] = xs
    value = _total(v, x)
    optimal = status == 0
    # The bound of the sorted sub-problem plus the items taken outside it (zero weight).
    proved = value if optimal else max(value, float(bound) * scale + base_value)
    return KnapsackRun(x, value, proved, optimal, phase, int(most))


def _node_items(par: np.ndarray, itm: np.ndarray, node: int) -> np.ndarray:
    """The items on the node path from ``node`` back to the root of the log."""
    out = []
    while node > 0:
        out.append(int(itm[node]))
        node = int(par[node])
    return np.asarray(out, np.int64)


def _total(v: np.ndarray, x: np.ndarray) -> float:
    """sum v x, exactly for integral data (int64, or Python integers past its range), as a float."""
    if v.dtype.kind in "iu":
        if float(np.abs(v).astype(np.float64) @ x) < 2.0**62:
            return float(int(v @ x))
        return float(sum(int(a) * int(b) for a, b in zip(v.tolist(), x.tolist(), strict=True) if b))
    return float(np.dot(v, x))


def _deadline(time_limit: float | None) -> float:
    if time_limit is None:
        return np.inf
    return time.perf_counter() + float(time_limit)


def knapsack_01(
    values: np.ndarray, weights: np.ndarray, capacity: float, time_limit: float | None = None
) -> KnapsackRun:
    r"""Exact 0/1 knapsack: :math:`\max \sum_i v_i x_i` s.t. :math:`\sum_i w_i x_i \le C`, :math:`x \in \{0,1\}^n`.

    Expanding-core dynamic programming (module docstring); when its state list outgrows
    ``_CORE_STATES``, the feasible-states DP and then the branch and bound over a DP table of
    allocopt.solvers.knapsack_hard. Zero-weight items with positive value are always taken; items
    heavier than C or with zero value are never taken. Integral data up to 2**53 is solved exactly
    in int64 arithmetic.

    With ``time_limit`` (seconds) the search stops when it is over and returns its incumbent with a
    proven bound (``optimal`` False); without one it always ends with a proof of optimality.

    Raises:
        ValueError: invalid data (negative, non-finite, mismatched shapes).
    """
    deadline = _deadline(time_limit)
    v, w, cap = _check_data(values, weights, capacity)
    return _run_01(v, w, cap, np.ones(v.size), deadline)


def solve_01(values: np.ndarray, weights: np.ndarray, capacity: float) -> np.ndarray:
    """The optimal x of :func:`knapsack_01` (no time limit) as an int64 array of 0/1."""
    return knapsack_01(values, weights, capacity).x


def knapsack_bounded(
    values: np.ndarray, weights: np.ndarray, copies: np.ndarray, capacity: float, time_limit: float | None = None
) -> KnapsackRun:
    r"""Exact bounded knapsack: :math:`\max \sum_i v_i x_i` s.t. :math:`\sum_i w_i x_i \le C`,
    :math:`x_i \in \{0, \dots, c_i\}`; ``x`` of the result holds the counts.

    Copies are split into 0/1 items of sizes 1, 2, 4, ..., :math:`2^{k-1}`, rest (every count in
    :math:`[0, c_i]` is a subset sum of them), after capping :math:`c_i` at :math:`\lfloor C/w_i \rfloor`;
    the cardinality bound counts each piece as its number of copies. Time limit: as :func:`knapsack_01`.

    Raises:
        ValueError: as :func:`knapsack_01`.
    """
    deadline = _deadline(time_limit)
    v, w, cap = _check_data(values, weights, capacity)
    c = _check_counts("copies", copies, v.size)
    counts = np.zeros(v.size, np.int64)
    free = (w == 0) & (v > 0)
    counts[free] = c[free]
    use = (w > 0) & (v > 0) & (c > 0) & (w <= cap)
    idx = np.flatnonzero(use)
    if idx.size == 0:
        value = float(np.dot(v, counts))
        return KnapsackRun(counts, value, value, True, "core", 0)
    cc = np.minimum(c[idx], _max_multiples(w[idx], cap))
    # Binary splitting: pieces 1, 2, 4, ... while they fit in the remaining copies, then the rest.
    owner, mult = [], []
    for i, ci in zip(idx.tolist(), cc.tolist(), strict=True):
        piece = 1
        while ci > 0:
            take = min(piece, ci)
            owner.append(i)
            mult.append(take)
            ci -= take
            piece <<= 1
    owner_a = np.asarray(owner, np.int64)
    mult_a = np.asarray(mult, np.int64)
    vp, wp = v[owner_a] * mult_a, w[owner_a] * mult_a
    ok, vi, wi, _, _ = _int_data(v[owner_a], w[owner_a], float(_INT_SUM_LIMIT) / 2)
    if ok and float(vp.max()) < 2.0**62 and float(wp.max()) < 2.0**62:
        vp, wp = vi * mult_a, wi * mult_a  # exact products
    run = _run_01(vp, wp, cap, mult_a.astype(np.float64), deadline)
    np.add.at(counts, owner_a, run.x * mult_a)
    value = float(np.dot(v, counts))
    extra = float(np.dot(v[free], counts[free]))
    bound = value if run.optimal else max(value, run.bound + extra)
    return KnapsackRun(counts, value, bound, run.optimal, run.phase, run.states)


def solve_bounded(values: np.ndarray, weights: np.ndarray, copies: np.ndarray, capacity: float) -> np.ndarray:
    """The optimal counts of :func:`knapsack_bounded` (no time limit) as an int64 array."""
    return knapsack_bounded(values, weights, copies, capacity).x


def solve_multiple_choice(
    values: np.ndarray,
    weights: np.ndarray,
    groups: np.ndarray,
    capacity: float,
    exactly_one: bool,
    copies: np.ndarray | None = None,
) -> np.ndarray | None:
    r"""Exact multiple-choice knapsack with copies.

    .. math::

        \max \sum_i v_i x_i \quad\text{s.t.}\quad \sum_i w_i x_i \le C,\quad
        0 \le x_i \le c_i \text{ integer},\quad |\{i \in g : x_i > 0\}| \le 1 \;(= 1 \text{ if exactly\_one})

    for every group g (``groups`` holds one integer label per item; ``copies`` defaults to all 1).

    Returns:
        counts as an int64 array, or None when exactly_one is infeasible (no combination fits).

    Raises:
        ValueError: invalid data, or copies expanding to more than ``_MAX_OPTIONS`` options.
        StateLimitError: the DP outgrew its memory budget; the caller should use a MILP solver.
    """
    v, w, cap = _check_data(values, weights, capacity)
    n = v.size
    c = _check_counts("copies", copies, n)
    grp = np.asarray(groups)
    if grp.shape != (n,):
        raise ValueError(f"groups must have shape ({n},), got {grp.shape}")
    counts = np.zeros(n, np.int64)
    if n == 0:
        return counts
    _, ginv = np.unique(grp, return_inverse=True)
    ginv = ginv.reshape(-1).astype(np.int64)
    G = int(ginv.max()) + 1

    # Options (item, k): k = 1..kmax with k * w <= C; zero weight -> only k = c (it dominates);
    # zero value -> only k = 1 (the lightest). Dominated ones are filtered below anyway.
    kmax = c.copy()
    pos = w > 0
    kmax[pos] = np.minimum(kmax[pos], _max_multiples(w[pos], cap))
    kmin = np.ones(n, np.int64)
    kmin[~pos] = kmax[~pos]
    zero_v = pos & (v == 0)
    kmax[zero_v] = np.minimum(kmax[zero_v], 1)
    nk = np.where(kmax >= 1, kmax - kmin + 1, 0)
    if int(nk.sum()) > _MAX_OPTIONS:
        raise ValueError(
            f"multiple-choice with copies expands to {int(nk.sum())} (item, count) options "
            f"(limit {_MAX_OPTIONS}); reduce copies or use a MILP solver"
        )
    rep = np.repeat(np.arange(n), nk)
    starts = np.cumsum(nk) - nk
    o_item = rep
    o_k = kmin[rep] + (np.arange(rep.size) - starts[rep])
    o_w = o_k * w[rep]
    o_v = o_k * v[rep]
    o_g = ginv[rep]
    if exactly_one:
        if np.any(np.bincount(o_g, minlength=G) == 0):
            return None
    else:
        # "Nothing" is an option of every group (item -1).
        o_item = np.concatenate([o_item, np.full(G, -1, np.int64)])
        o_k = np.concatenate([o_k, np.zeros(G, np.int64)])
        o_w = np.concatenate([o_w, np.zeros(G)])
        o_v = np.concatenate([o_v, np.zeros(G)])
        o_g = np.concatenate([o_g, np.arange(G, dtype=np.int64)])

    # Per group: by weight, ties by value descending; keep strictly increasing values (Pareto).
    order = np.lexsort((-o_v, o_w, o_g))
    o_item, o_k, o_w, o_v, o_g = o_item[order], o_k[order], o_w[order], o_v[order], o_g[order]
    gs = np.searchsorted(o_g, np.arange(G + 1))
    keep = _pareto_keep(gs, o_v)
    o_item, o_k, o_w, o_v, o_g = o_item[keep], o_k[keep], o_w[keep], o_v[keep], o_g[keep]
    gs = np.searchsorted(o_g, np.arange(G + 1))

    # Defaults (first = lightest option per group) are subtracted: exactly-one becomes at-most-one.
    d = gs[:-1]
    base_w = float(o_w[d].sum())
    if base_w > cap:
        return None
    capr = cap - base_w
    off_w = o_w - o_w[d][o_g]
    off_v = o_v - o_v[d][o_g]
    fit = off_w <= capr  # defaults have off_w = 0
    o_item, o_k, o_g, off_w, off_v = o_item[fit], o_k[fit], o_g[fit], off_w[fit], off_v[fit]
    gs = np.searchsorted(o_g, np.arange(G + 1))

    sdw, sdv, sg, se = _hull_segments(gs, off_w, off_v)
    so = np.argsort(-(sdv / sdw), kind="stable")
    lp, alpha, lp_integral, greedy, zg = _mc_lp_greedy(gs, sdw[so], sdv[so], sg[so], se[so], capr)
    if lp_integral:
        choice = lp  # every group at its best option fits: optimal
    else:
        # Reduced profits w.r.t. the critical slope; <= 0 since lp maximises v - alpha w per group.
        red = off_v - off_v[lp][o_g] - alpha * (off_w - off_w[lp][o_g])
        red[lp] = -np.inf
        rmax = np.maximum.reduceat(red, gs[:-1])
        order = np.argsort(-rmax, kind="stable")
        order = order[rmax[order] > -np.inf]  # single-option groups never change
        picked, use_greedy, ok = _mc_core(
            gs, off_w, off_v, lp, alpha, order, rmax, capr, _is_integral(o_v), zg, _MAX_STATES
        )
        if not ok:
            raise StateLimitError(
                f"the exact multiple-choice DP exceeded {_MAX_STATES} states ({G} groups); this instance "
                "is too hard for it, use a MILP solver instead"
            )
        if use_greedy:
            choice = greedy
        else:
            choice = lp.copy()
            choice[o_g[picked]] = picked

    items = o_item[choice]
    taken = items >= 0
    counts[items[taken]] = o_k[choice][taken]
    return counts
