r"""The 0/1 knapsack beyond the expanding core: a feasible-states DP, then a branch and bound over a DP table.

:func:`allocopt.solvers.knapsack_exact.solve_01` runs the expanding-core DP first (Pisinger's minknap
with combo's bounds). Its list holds states on *both* sides of the capacity (states above C may still
drop items of the break solution), and on instances whose LP bound is useless it grows without limit.
The typical case is Jooken, Leyman and De Causmaecker's class (EJOR 2022): items come in groups of
weight and profit about :math:`C/2, C/4, \dots` plus a little noise, so :math:`p_j \approx w_j`, every
state's LP bound :math:`P + (C - W) e \approx P + C - W` is above the optimum (which cannot fill C:
every exact fill overshoots by the noise), and nothing is pruned but dominated states. When the core
list outgrows its budget, the search goes on here, still exact:

Phase 2: forward DP over feasible states
----------------------------------------
The items not fixed by the core phase are added one at a time, heaviest first, to a Pareto list of
states :math:`(W, P)` with :math:`W \le C` only (adding never frees capacity, so a state above C is
dead). A state is dropped when another has no more weight and at least as much profit, or when its
bound cannot beat the incumbent z,

.. math::

    u(W, P) = P + \mathrm{LP}_R(C - W),

the Dantzig bound of the set R of items still to come (kept sorted by efficiency with prefix sums; the
list is sorted by weight, so R's break item moves monotonically along it and the bound costs O(1) per
state). Every state is a feasible solution, so the incumbent is the best profit seen. Heaviest first
matters twice: few heavy items fit together, so the lists stay short until the light items come, and
once the heavy items are placed, :math:`\mathrm{LP}_R` is capped by what the light items can add at
all, which prunes every state far below C. On Jooken's ``n_400_c_1e8_g_10`` instance, which the core
list cannot hold (over 40 million states on both sides of C), the longest list has 71,667 states.

Phase 3: branch and bound with the DP list as a table
-----------------------------------------------------
If that list outgrows its budget too, the list T over the (heaviest) q items added so far is kept as
a table and the remaining items :math:`R = (r_q, \dots, r_{m-1})` are enumerated depth first (take
before leave, in efficiency order). At a node that fixed :math:`r_q..r_{d-1}` with weight :math:`\Delta W` and profit
:math:`\Delta P`, with residual :math:`\rho = C - \Delta W`:

* leaf value: :math:`\Delta P + \max\{P_t : W_t \le \rho\}` (binary search: P grows with W in T);
* bound: :math:`\Delta P + \min\big(G(\rho, e_d),\; \max\{P_t : W_t \le \rho\} + \mathrm{LP}_{R_d}(\rho)\big)`
  with :math:`e_d` the largest efficiency left in R and
  :math:`G(\rho, e) = \max_{W_t \le \rho} P_t + e (\rho - W_t) \ge \max_t P_t + \mathrm{LP}_{R_d}(\rho - W_t)`,
  evaluated on the upper convex hull of T by two binary searches.

Memory stays at the table; time may be exponential, but the search is exact and can stop at any time
with its incumbent and a proven bound (the largest bound of a node still open).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from allocopt.solvers.knapsack_exact import _CLOCK_WORK, _now, _reserve_nodes, _safe_bound, _threshold

# --------------------------------------------------------------------------------------------------
# Phase 2: forward DP over feasible states
# --------------------------------------------------------------------------------------------------


@njit(cache=True)
def _suffix_sums(vf, wf, items):
    """Prefix sums of weight and profit over ``items`` and each one's efficiency (0 past the end)."""
    m = items.shape[0]
    SW = np.zeros(m + 1)
    SP = np.zeros(m + 1)
    ek = np.zeros(m + 1)
    for q in range(m):
        it = items[q]
        SW[q + 1] = SW[q] + wf[it]
        SP[q + 1] = SP[q] + vf[it]
        ek[q] = vf[it] / wf[it]
    return SW, SP, ek


@njit(cache=True)
def _remaining_sums(vf, wf, eorder, done):
    """Prefix sums of weight and profit over the items of ``eorder`` (efficiency order) not ``done``,
    and each one's efficiency (0 past the end): the data of their Dantzig bound."""
    m = 0
    for it in eorder:
        if not done[it]:
            m += 1
    SW = np.zeros(m + 1)
    SP = np.zeros(m + 1)
    ek = np.zeros(m + 1)
    q = 0
    for it in eorder:
        if not done[it]:
            SW[q + 1] = SW[q] + wf[it]
            SP[q + 1] = SP[q] + vf[it]
            ek[q] = vf[it] / wf[it]
            q += 1
    return SW, SP, ek


@njit(cache=True)
def _fmerge(W, P, N, L, dw, dp, item, W2, P2, N2, out_cap, par, itm, nn, cap, SW, SP, ek, z, best, integral, lowest):
    """Merge the feasible list with its copy shifted by (dw, dp) (states that still fit) into
    (W2, P2, N2), dropping dominated states and states whose bound (P plus the Dantzig bound of the
    items still to come, given by their prefix sums SW, SP and efficiencies ek) cannot beat z. Every
    state fits, so a better one becomes the incumbent at once.

    Returns (new length, node count, z, incumbent node, overflow); on overflow (more than ``out_cap``
    states) the output is incomplete and the caller keeps the input list."""
    m = SW.shape[0] - 1
    thr = _threshold(z, integral)
    Ls = L  # shifted states that fit: a prefix of the weight-sorted list
    while Ls > 0 and W[Ls - 1] + dw > cap:
        Ls -= 1
    kk = m  # largest position with SW[kk] <= cap - W: non-increasing as W grows
    i = 0
    j = 0
    k = 0
    best_p = lowest
    while i < L or j < Ls:
        take_old = False
        if j >= Ls:
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
            node = -1 - N[j]  # encoded parent: a node is only allocated if the state is kept
            j += 1
        if cp <= best_p:
            continue  # dominated: a lighter (or equal) state has at least this profit
        best_p = cp
        if cp > z:
            if node < 0:
                par[nn] = -1 - node
                itm[nn] = item
                node = nn
                nn += 1
            z = cp
            best = node
            thr = _threshold(z, integral)
        r = float(cap - cw)
        while kk > 0 and SW[kk] > r:
            kk -= 1
        u = float(cp) + SP[kk]
        if kk < m:
            u += (r - SW[kk]) * ek[kk]
        if u <= thr:
            continue
        if k >= out_cap:
            return k, nn, z, best, True
        if node < 0:
            par[nn] = -1 - node
            itm[nn] = item
            node = nn
            nn += 1
        W2[k] = cw
        P2[k] = cp
        N2[k] = node
        k += 1
    return k, nn, z, best, False


@njit(cache=True)
def _forward_bound(W, P, L, cap, SW, SP, ek):
    """max over the states of P + the Dantzig bound of the items still to come in capacity C - W."""
    m = SW.shape[0] - 1
    kk = m
    top = -np.inf
    for i in range(L):
        r = float(cap - W[i])
        while kk > 0 and SW[kk] > r:
            kk -= 1
        u = float(P[i]) + SP[kk]
        if kk < m:
            u += (r - SW[kk]) * ek[kk]
        top = max(top, u)
    return top


@njit(cache=True)
def forward_dp(v, w, vf, wf, proc, eorder, cap, z, integral, stop, max_states, deadline, lowest):
    """Phase 2 (module docstring) on the items ``proc`` (positions into v, w), added in that order
    (heaviest first: few heavy items fit together, so the lists stay short until the light items
    come); ``eorder``: the same items in non-increasing efficiency order (for the bounds). ``cap``:
    the capacity, z: the incumbent value, ``stop``: a global bound (the search ends when z reaches
    it), all relative to these items' own contribution.

    Returns (status, z, bound, best, W, P, N, L, par, itm, q, most): status 0 = optimal, 1 = the list
    would outgrow ``max_states`` when adding ``proc[q]`` (W, P, N, L hold the list over proc[:q]),
    2 = the deadline passed before proc[q]; z and its node ``best`` in the log (par, itm) (-1: no
    state beat the z given); bound: proven upper bound; most: the largest list length."""
    m = proc.shape[0]
    done = np.zeros(v.shape[0], np.bool_)
    size = 256
    W = np.empty(size, w.dtype)
    P = np.empty(size, v.dtype)
    N = np.empty(size, np.int64)
    W2 = np.empty(size, w.dtype)
    P2 = np.empty(size, v.dtype)
    N2 = np.empty(size, np.int64)
    W[0] = cap - cap
    P[0] = z - z
    N[0] = 0
    L = 1
    par = np.empty(1 << 14, np.int64)
    itm = np.empty(1 << 14, np.int64)
    par[0] = -1
    itm[0] = -1
    nn = 1
    best = -1
    most = 1
    work = 0
    for q in range(m):
        if L == 0 or z >= stop:
            break
        work += L + m  # a merge and the bound data cost about this many operations
        if work >= _CLOCK_WORK:
            work = 0
            late = _now() > deadline
        else:
            late = False
        if late:
            SW, SP, ek = _remaining_sums(vf, wf, eorder, done)
            top = _safe_bound(_forward_bound(W, P, L, cap, SW, SP, ek), integral)
            return 2, z, max(float(z), top), best, W, P, N, L, par, itm, q, most
        it = proc[q]
        done[it] = True
        SW, SP, ek = _remaining_sums(vf, wf, eorder, done)
        out_cap = min(2 * L, max_states)
        if W2.shape[0] < out_cap:
            size = min(2 * out_cap, max_states)
            W2 = np.empty(size, w.dtype)
            P2 = np.empty(size, v.dtype)
            N2 = np.empty(size, np.int64)
        par, itm, nn, best = _reserve_nodes(par, itm, nn, L, N, L, best)
        L2, nn, z, best, over = _fmerge(
            W, P, N, L, w[it], v[it], it, W2, P2, N2, out_cap, par, itm, nn, cap, SW, SP, ek, z, best, integral, lowest
        )
        if over:
            done[it] = False
            SW, SP, ek = _remaining_sums(vf, wf, eorder, done)
            top = _safe_bound(_forward_bound(W, P, L, cap, SW, SP, ek), integral)
            return 1, z, max(float(z), top), best, W, P, N, L, par, itm, q, most
        W, W2 = W2, W
        P, P2 = P2, P
        N, N2 = N2, N
        L = L2
        most = max(most, L)
    return 0, z, float(z), best, W, P, N, L, par, itm, m, most


# --------------------------------------------------------------------------------------------------
# Phase 3: depth-first branch and bound over the remaining items, the DP list as a table
# --------------------------------------------------------------------------------------------------


@njit(cache=True)
def _upper_hull(TW, TP, L):
    """Vertices of the upper concave hull of the points (TW[t], TP[t]) (TW increasing) and the
    slopes of its edges (decreasing)."""
    H = np.empty(L, np.int64)
    h = 0
    for t in range(L):
        while h >= 2:
            a = H[h - 2]
            b = H[h - 1]
            # b is dropped when it is on or below the chord from a to t.
            if float(TP[b] - TP[a]) * float(TW[t] - TW[b]) <= float(TP[t] - TP[b]) * float(TW[b] - TW[a]):
                h -= 1
            else:
                break
        H[h] = t
        h += 1
    S = np.empty(max(h - 1, 0))
    for q in range(h - 1):
        S[q] = float(TP[H[q + 1]] - TP[H[q]]) / float(TW[H[q + 1]] - TW[H[q]])
    return H[:h], S


@njit(cache=True)
def _last_fit(TW, L, r):
    """The last index t with TW[t] <= r (TW increasing), -1 if none."""
    lo = -1
    hi = L
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if TW[mid] <= r:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def _hull_value(TW, TP, H, S, r, e):
    """G(r, e) = max over table states with W_t <= r of P_t + e (r - W_t), bounded from above on the
    hull: -inf when no state fits."""
    nh = H.shape[0]
    lo = -1
    hi = nh
    while hi - lo > 1:  # h1: last hull vertex with W <= r
        mid = (lo + hi) >> 1
        if TW[H[mid]] <= r:
            lo = mid
        else:
            hi = mid
    h1 = lo
    if h1 < 0:
        # Every state is heavier than r, except possibly non-hull ones lighter than the first vertex:
        # there are none (the first hull vertex is the lightest state).
        return -np.inf
    lo = -1
    hi = nh - 1
    while hi - lo > 1:  # first edge with slope <= e: beyond it P + e (r - W) decreases along the hull
        mid = (lo + hi) >> 1
        if S[mid] <= e:
            hi = mid
        else:
            lo = mid
    hb = min(h1, hi)
    t = H[hb]
    val = float(TP[t]) + e * float(r - TW[t])
    if h1 < nh - 1:
        # States between hull vertex h1 and the next one lie below that edge.
        t = H[h1]
        val = max(val, float(TP[t]) + max(e, S[h1]) * float(r - TW[t]))
    return val


@njit(cache=True)
def _rest_lp(SW, SP, ek, d, r):
    """Dantzig bound of the rest items from position d on in capacity r >= 0 (binary search)."""
    m = SW.shape[0] - 1
    target = r + SW[d]
    lo = d
    hi = m + 1  # SW[lo] <= target < SW[hi]
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if SW[mid] <= target:
            lo = mid
        else:
            hi = mid
    u = SP[lo] - SP[d]
    if lo < m:
        u += (target - SW[lo]) * ek[lo]
    return u


@njit(cache=True)
def _node_bound(TW, TP, L, H, S, SW, SP, ek, d, cap, dW, dP):
    """Bound of a branch-and-bound node at depth d with fixed part (dW, dP) (module docstring)."""
    r = cap - dW
    t = _last_fit(TW, L, r)
    if t < 0:
        return -np.inf
    rf = float(r)
    sep = float(TP[t]) + _rest_lp(SW, SP, ek, d, rf)
    hull = _hull_value(TW, TP, H, S, r, ek[d])
    return float(dP) + min(sep, hull)


@njit(cache=True)
def table_bb(v, w, vf, wf, rest, TW, TP, L, cap, z, integral, stop, deadline):
    """Phase 3 (module docstring): depth-first search over the items ``rest`` (positions into v, w in
    non-increasing efficiency order) with the Pareto table (TW, TP)[:L] of the other items; z: the
    incumbent value, ``stop``: a global bound (the search ends when z reaches it).

    Returns (status, z, bound, best_t, taken, nodes): status 0 = optimal, 2 = the deadline passed;
    when z improved, best_t is the table state and ``taken`` flags the rest items of the incumbent
    (best_t = -1: no improvement); bound: proven upper bound (open nodes at the deadline)."""
    mR = rest.shape[0]
    SW, SP, ek = _suffix_sums(vf, wf, rest)
    H, S = _upper_hull(TW, TP, L)
    dW = np.zeros(mR + 1, TW.dtype)
    dP = np.zeros(mR + 1, TP.dtype)
    dec = np.zeros(mR + 1, np.int8)  # 1: took rest[d] (leave pending), 2: left it
    taken = np.zeros(mR, np.bool_)
    best_t = -1
    thr = _threshold(z, integral)
    t = _last_fit(TW, L, cap)
    if t >= 0 and TP[t] > z:
        z = TP[t]
        best_t = t
        thr = _threshold(z, integral)
    d = 0
    nodes = 0
    while z < stop:
        nodes += 1
        if (nodes & 8191) == 0 and _now() > deadline:
            top = _node_bound(TW, TP, L, H, S, SW, SP, ek, d, cap, dW[d], dP[d]) if d < mR else -np.inf
            for q in range(d):
                if dec[q] == 1:  # its "leave" child (depth q + 1, the parent's fixed part) is open
                    top = max(top, _node_bound(TW, TP, L, H, S, SW, SP, ek, q + 1, cap, dW[q], dP[q]))
            return 2, z, max(float(z), _safe_bound(top, integral)), best_t, taken, nodes
        if d < mR and _node_bound(TW, TP, L, H, S, SW, SP, ek, d, cap, dW[d], dP[d]) > thr:
            it = rest[d]
            if dW[d] + w[it] <= cap:
                dec[d] = 1
                dW[d + 1] = dW[d] + w[it]
                dP[d + 1] = dP[d] + v[it]
                d += 1
                t = _last_fit(TW, L, cap - dW[d])
                if t >= 0 and dP[d] + TP[t] > z:
                    z = dP[d] + TP[t]
                    best_t = t
                    for q in range(mR):
                        taken[q] = q < d and dec[q] == 1
                    thr = _threshold(z, integral)
            else:
                dec[d] = 2
                dW[d + 1] = dW[d]
                dP[d + 1] = dP[d]
                d += 1
            continue
        # Backtrack to the deepest "take" whose "leave" branch is still open.
        while d > 0 and dec[d - 1] == 2:
            d -= 1
        if d == 0:
            break
        d -= 1
        dec[d] = 2
        dW[d + 1] = dW[d]
        dP[d + 1] = dP[d]
        d += 1
    return 0, z, float(z), best_t, taken, nodes
