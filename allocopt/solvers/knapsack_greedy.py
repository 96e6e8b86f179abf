r"""Greedy knapsack heuristics, each returning a feasible solution and a valid upper bound.

The problem (maximise) over integer counts ``take_i``:

.. math::

    \max \sum_i v_i \, take_i \quad \text{s.t.} \quad \sum_i W_{ri} \, take_i \le C_r \;(r = 1..m),
    \qquad 0 \le take_i \le c_i,

with ``v, W, C >= 0`` and integer copies ``c_i >= 0``; optionally items carry group labels and per
group at most one (``exactly_one=False``) or exactly one (``exactly_one=True``) *distinct* item may
have ``take_i > 0`` (that item may be taken up to ``c_i`` times).

Every function returns a :class:`GreedyOutcome`: the integral solution, an upper bound on the
optimum and the kind of bound, so the caller can report the gap ``bound - value``.

Two reductions are used throughout; both keep every feasible solution, so bounds stay valid:

* copies are capped at what fits on its own, ``c'_i = min(c_i, min_{r: W_ri > 0} floor(C_r / W_ri))``
  (items with ``c'_i = 0`` can never be taken);
* items of value 0 are never taken unless a group must take *something* (``exactly_one``).

The bounds are therefore the LP relaxations of the instance with capped copies, which are never
weaker (usually tighter) than those of the uncapped instance.

Solvers here take numpy arrays; they never see JSON.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["GreedyOutcome", "greedy_multidimensional", "greedy_multiple_choice", "greedy_single"]


@dataclass(frozen=True)
class GreedyOutcome:
    """A heuristic's solution and a proven upper bound on the optimum.

    ``take`` holds int64 counts (``None`` when no feasible solution was found); ``bound`` is always a
    finite upper bound on the optimal value (for a provably infeasible instance, whose optimum is
    ``-inf``, it is ``0.0`` with ``bound_kind == "infeasible"``); ``bound_kind`` names where it came
    from (``"dantzig"``, ``"lp"``, ``"box"``, ``"infeasible"``); ``value`` is ``v @ take`` (``None``
    without a solution).
    """

    take: np.ndarray | None
    bound: float
    bound_kind: str
    value: float | None = None


# Bound on the elements scanned by the vectorised continuation of the single-resource greedy (see
# ``_greedy_fill_sorted``): exact sequential semantics for every small or ordinary instance, linear time
# in the worst case.
_SCAN_BUDGET_PER_ITEM = 20
_SCAN_BUDGET_MIN = 200_000


# ----------------------------------------------------------------------------------------------------------
# input checking
# ----------------------------------------------------------------------------------------------------------


def _vector(name: str, x: object, n: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} must have length {n}, got {a.shape[0]}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    if np.any(a < 0):
        raise ValueError(f"{name} must be non-negative")
    return a


def _copies(copies: object, n: int) -> np.ndarray:
    if copies is None:
        return np.ones(n, dtype=np.int64)
    a = np.asarray(copies)
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"copies must be a 1-D array of length {n}, got shape {a.shape}")
    if a.dtype.kind not in "iu":
        f = a.astype(np.float64)
        if not np.all(np.isfinite(f)) or np.any(f != np.floor(f)):
            raise ValueError("copies must be integers")
        if np.any(np.abs(f) > 2.0**62):
            raise ValueError("copies are too large")
        a = f
    a = a.astype(np.int64)
    if np.any(a < 0):
        raise ValueError("copies must be non-negative")
    return a


def _scalar_capacity(capacity: object) -> float:
    cap = float(capacity)  # type: ignore[arg-type]
    if not (math.isfinite(cap) and cap >= 0.0):
        raise ValueError(f"capacity must be finite and non-negative, got {cap}")
    return cap


def _group_ids(groups: object, n: int) -> tuple[np.ndarray, int]:
    """Dense group ids 0..G-1 for arbitrary labels."""
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != n:
        raise ValueError(f"groups must be a 1-D array of length {n}, got shape {g.shape}")
    labels, gid = np.unique(g, return_inverse=True)
    return gid.astype(np.int64).reshape(-1), int(labels.shape[0])


def _fit_count(room: float | np.ndarray, w: float | np.ndarray) -> np.ndarray:
    """``floor(room / w)`` for ``w > 0``, corrected so that ``count * w <= room`` holds in floating point."""
    q = np.floor(np.asarray(room, dtype=np.float64) / w)
    return q - (q * w > room)


def _cap_copies_single(w: np.ndarray, c: np.ndarray, capacity: float) -> np.ndarray:
    """``min(c_i, floor(C / w_i))`` (``c_i`` where ``w_i = 0``)."""
    cap = c.astype(np.float64)
    pos = w > 0
    cap[pos] = np.minimum(cap[pos], _fit_count(capacity, w[pos]))
    return cap.astype(np.int64)


# ----------------------------------------------------------------------------------------------------------
# 1. one resource, no groups
# ----------------------------------------------------------------------------------------------------------


def greedy_single(
    values: np.ndarray, weights: np.ndarray, capacity: float, copies: np.ndarray | None = None
) -> GreedyOutcome:
    r"""Density greedy with the best-single-item fix, and Dantzig's bound (bounded knapsack, one resource).

    Items are sorted by density ``v_i / w_i`` (zero-weight items first: they are free); whole copies
    are taken while they fit, the first item that does not fit completely (the *break item* ``b``)
    gets as many copies as fit, and the pass continues past it with every later item that still fits
    (exactly the sequential greedy, vectorised). The result is compared with the single most valuable
    item alone at the most copies that fit (``v_i min(c'_i, floor(C / w_i))``) and the better is kept;
    that fix makes the heuristic a 1/2-approximation.

    The bound is Dantzig's: the LP relaxation ``0 <= take_i <= c'_i``, solved exactly by filling in
    density order and taking the break item fractionally,

    .. math::  U = \sum_{j < b} v_j c'_j + \Big(C - \sum_{j < b} w_j c'_j\Big) \frac{v_b}{w_b}.

    It is computed in floating point without a safety margin (its relative rounding error is of
    order ``n * 1e-16``). O(n log n): argsort, cumsum and searchsorted, no Python loop over items.
    """
    v = _vector("values", values)
    n = v.shape[0]
    w = _vector("weights", weights, n)
    c = _copies(copies, n)
    cap_total = _scalar_capacity(capacity)

    cap = _cap_copies_single(w, c, cap_total)
    useful = (cap > 0) & (v > 0)
    take = np.zeros(n, dtype=np.int64)
    free = useful & (w == 0)
    take[free] = cap[free]
    free_value = float(v[free] @ cap[free]) if np.any(free) else 0.0

    idx = np.flatnonzero(useful & (w > 0))
    if idx.size == 0:
        return GreedyOutcome(take, free_value, "dantzig", free_value)
    # stable sort: ties keep input order, so the result is deterministic
    order = idx[np.argsort(-(v[idx] / w[idx]), kind="stable")]
    ws, vs, cs = w[order], v[order], cap[order].astype(np.float64)

    full_w = ws * cs
    cum_w = np.cumsum(full_w)
    b = int(np.searchsorted(cum_w, cap_total, side="right"))  # first item whose full copies overflow
    bound = free_value + float(vs[:b] @ cs[:b])
    if b < order.size:
        room = cap_total - (float(cum_w[b - 1]) if b > 0 else 0.0)
        bound += max(room, 0.0) * float(vs[b] / ws[b])

    counts = _greedy_fill_sorted(ws, cs, full_w, cap_total)
    take[order] = counts.astype(np.int64)
    take = _repair_single(take, v, w, cap_total)
    value = float(v @ take)

    # best-single-item fix: the break item alone may beat everything the greedy packed
    single = vs * cs
    s = int(np.argmax(single))
    if free_value + float(single[s]) > value:
        take = np.zeros(n, dtype=np.int64)
        take[free] = cap[free]
        take[order[s]] = cap[order[s]]
        value = float(v @ take)
    return GreedyOutcome(take, max(bound, value), "dantzig", value)


def _greedy_fill_sorted(ws: np.ndarray, cs: np.ndarray, full_w: np.ndarray, capacity: float) -> np.ndarray:
    """Sequential greedy over items already sorted by density, in rounds of whole vector operations.

    Each round keeps the remaining items that fit the residual room (a later item heavier than the
    room can never fit: the room only shrinks), takes the prefix whose full copies fit (cumsum +
    searchsorted), gives the next item as many copies as fit and resumes after it. This reproduces
    the item-by-item greedy exactly; a scan budget linear in n stops pathological instances (where
    every round resolves one item) early, which leaves the solution feasible, just less full.
    """
    n = ws.shape[0]
    counts = np.zeros(n, dtype=np.float64)
    room = capacity
    pos = 0
    budget = max(_SCAN_BUDGET_PER_ITEM * n, _SCAN_BUDGET_MIN)
    while pos < n and budget > 0:
        rest = np.arange(pos, n)
        budget -= rest.size
        cand = rest[ws[pos:] <= room]
        if cand.size == 0:
            break
        cum = np.cumsum(full_w[cand])
        k = int(np.searchsorted(cum, room, side="right"))
        counts[cand[:k]] = cs[cand[:k]]
        if k > 0:
            room -= float(cum[k - 1])
        if k == cand.size:
            break
        j = int(cand[k])
        q = float(_fit_count(max(room, 0.0), ws[j]))
        q = min(max(q, 0.0), cs[j] - 1.0)  # the whole c'_j did not fit, by choice of k
        counts[j] = q
        room -= q * float(ws[j])
        pos = j + 1
    return counts


def _repair_single(take: np.ndarray, v: np.ndarray, w: np.ndarray, capacity: float) -> np.ndarray:
    """Drop copies of the least dense items while ``w @ take > C`` (only floating-point drift does that)."""
    total = float(w @ take)
    if total <= capacity:
        return take
    take = take.copy()
    taken = np.flatnonzero((take > 0) & (w > 0))
    for i in taken[np.argsort(v[taken] / w[taken], kind="stable")]:
        while take[i] > 0 and total > capacity:
            take[i] -= 1
            total = float(w @ take)
        if total <= capacity:
            break
    return take


# ----------------------------------------------------------------------------------------------------------
# 2. one resource, groups (multiple-choice knapsack)
# ----------------------------------------------------------------------------------------------------------


def greedy_multiple_choice(
    values: np.ndarray,
    weights: np.ndarray,
    capacity: float,
    groups: np.ndarray,
    exactly_one: bool,
    copies: np.ndarray | None = None,
) -> GreedyOutcome:
    r"""Convex-hull greedy (Sinha & Zoltners 1979) for the multiple-choice knapsack, with its LP bound.

    Every option of a group is a pair (item ``i``, count ``k``), ``1 <= k <= c'_i``, of weight
    ``k w_i`` and value ``k v_i``; for ``at_most_one`` the empty option ``(0, 0)`` is added. The LP
    relaxation (a convex combination of options per group) is solved exactly by the greedy on the
    upper convex hulls:

    1. per group, start at the lightest option (the most valuable among the lightest) and keep the
       upper convex hull of the options to its right; LP-dominated options are dropped. The points
       ``k = 2..c'_i - 1`` lie on the segment between ``k = 1`` and ``k = c'_i`` (and, for
       ``at_most_one``, between the origin and ``k = c'_i``), so only ``k in {1, c'_i}`` can be hull
       vertices;
    2. the hull's increments ``(dw, dv)`` have strictly decreasing slopes ``dv / dw`` within a group;
       all increments are taken in decreasing slope order while they fit (on top of the sum ``W_0`` of
       the starting options);
    3. the first increment that does not fit, taken fractionally, gives the LP optimum

    .. math::  U = V_0 + \sum_{t < b} dv_t + (C - W_0 - \sum_{t < b} dw_t) \, \frac{dv_b}{dw_b}.

    The integral solution takes every fully fitting increment, then continues through the remaining
    increments (moving a group to a later hull vertex whenever that still fits), then one pass of
    item-level upgrades (any item of a group at the most copies that fit, if that raises the value).
    A second start, the break increment's vertex alone on top of the starting options (the analogue
    of the best-single-item fix), gets the same upgrades; the better of the two is returned.

    ``exactly_one`` with the lightest options of all groups not fitting together (or a group with no
    item that fits at all) is infeasible: ``take`` is ``None`` and the bound is ``0.0`` with
    ``bound_kind == "infeasible"`` (the optimum of an infeasible maximisation is ``-inf``, so any
    finite number bounds it; 0.0 keeps the bound finite as promised).
    """
    v = _vector("values", values)
    n = v.shape[0]
    w = _vector("weights", weights, n)
    c = _copies(copies, n)
    cap_total = _scalar_capacity(capacity)
    gid, n_groups = _group_ids(groups, n)
    exactly_one = bool(exactly_one)

    cap = _cap_copies_single(w, c, cap_total)
    keep = cap > 0
    if not exactly_one:
        keep &= v > 0  # a worthless item is never better than taking nothing
    infeasible = GreedyOutcome(None, 0.0, "infeasible", None)

    # ---- per-group hulls -------------------------------------------------------------------------------
    members: list[list[int]] = [[] for _ in range(n_groups)]
    for i in np.flatnonzero(keep).tolist():
        members[gid[i]].append(i)

    start_item = np.full(n_groups, -1, dtype=np.int64)
    start_k = np.zeros(n_groups, dtype=np.int64)
    start_w = np.zeros(n_groups)
    start_v = np.zeros(n_groups)
    inc_g: list[int] = []
    inc_dw: list[float] = []
    inc_dv: list[float] = []
    inc_item: list[int] = []
    inc_k: list[int] = []
    inc_tw: list[float] = []  # weight and value of the vertex the increment leads to
    inc_tv: list[float] = []
    for g in range(n_groups):
        pts: list[tuple[float, float, int, int]] = []
        if not exactly_one:
            pts.append((0.0, 0.0, -1, 0))
        elif not members[g]:
            return infeasible  # a group that must take an item has none that fits
        for i in members[g]:
            wi, vi, ci = float(w[i]), float(v[i]), int(cap[i])
            pts.append((wi, vi, i, 1))
            if ci > 1:
                pts.append((wi * ci, vi * ci, i, ci))
        hull = _upper_hull(pts)
        start_w[g], start_v[g], start_item[g], start_k[g] = hull[0]
        for (w0, v0, _, _), (w1, v1, i1, k1) in itertools.pairwise(hull):
            inc_g.append(g)
            inc_dw.append(w1 - w0)
            inc_dv.append(v1 - v0)
            inc_item.append(i1)
            inc_k.append(k1)
            inc_tw.append(w1)
            inc_tv.append(v1)

    base_w = float(start_w.sum())
    base_v = float(start_v.sum())
    if base_w > cap_total:
        return infeasible  # even the lightest option of every group does not fit: LP infeasible too

    dw = np.asarray(inc_dw)
    dv = np.asarray(inc_dv)
    order = np.argsort(-(dv / dw), kind="stable") if dw.size else np.zeros(0, dtype=np.int64)
    cum = base_w + np.cumsum(dw[order])
    b = int(np.searchsorted(cum, cap_total, side="right"))
    bound = base_v + float(dv[order[:b]].sum())
    if b < order.size:
        t = int(order[b])
        room = cap_total - (float(cum[b - 1]) if b > 0 else base_w)
        bound += max(room, 0.0) * float(dv[t] / dw[t])

    # ---- integral solutions ----------------------------------------------------------------------------
    def blank() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return start_item.copy(), start_k.copy(), start_w.copy(), start_v.copy()

    # start A: the LP greedy's fully fitting increments, then the rest of the increments that fit
    item_a, k_a, w_a, v_a = blank()
    for t in order[:b].tolist():
        g = inc_g[t]
        item_a[g], k_a[g], w_a[g], v_a[g] = inc_item[t], inc_k[t], inc_tw[t], inc_tv[t]
    room_a = cap_total - float(w_a.sum())
    for t in order[b:].tolist():
        g = inc_g[t]
        step_w, step_v = inc_tw[t] - w_a[g], inc_tv[t] - v_a[g]
        if step_v > 0 and step_w <= room_a:
            item_a[g], k_a[g], w_a[g], v_a[g] = inc_item[t], inc_k[t], inc_tw[t], inc_tv[t]
            room_a -= step_w
    candidates = [(item_a, k_a, w_a, v_a)]

    # start B: the break increment's vertex alone on top of the starting options
    if b < order.size:
        t = int(order[b])
        g = inc_g[t]
        if base_w - start_w[g] + inc_tw[t] <= cap_total:
            item_b, k_b, w_b, v_b = blank()
            item_b[g], k_b[g], w_b[g], v_b[g] = inc_item[t], inc_k[t], inc_tw[t], inc_tv[t]
            candidates.append((item_b, k_b, w_b, v_b))

    best_take: np.ndarray | None = None
    best_value = -math.inf
    keep_idx = np.flatnonzero(keep)
    for item_s, k_s, w_s, v_s in candidates:
        _upgrade_groups(item_s, k_s, w_s, v_s, keep_idx, gid, v, w, cap, cap_total)
        take = np.zeros(n, dtype=np.int64)
        chosen = item_s >= 0
        take[item_s[chosen]] = k_s[chosen]
        take = _repair_groups(take, v, w, gid, cap_total, exactly_one, start_item, start_k)
        if take is None:
            continue
        value = float(v @ take)
        if value > best_value:
            best_take, best_value = take, value
    if best_take is None:  # only floating-point drift at an exact fit can get here
        return GreedyOutcome(None, bound, "lp", None)
    return GreedyOutcome(best_take, max(bound, best_value), "lp", best_value)


def _upper_hull(pts: list[tuple[float, float, int, int]]) -> list[tuple[float, float, int, int]]:
    """Upper convex hull from the lightest (then most valuable) point, values strictly increasing."""
    pts = sorted(pts, key=lambda p: (p[0], -p[1]))
    hull = [pts[0]]
    for p in pts[1:]:
        if p[1] <= hull[-1][1]:
            continue  # heavier and not more valuable than the best so far: dominated
        while len(hull) >= 2:
            (x0, y0, _, _), (x1, y1, _, _) = hull[-2], hull[-1]
            # hull[-1] on or below the chord hull[-2] -> p: LP-dominated
            if (x1 - x0) * (p[1] - y0) - (y1 - y0) * (p[0] - x0) >= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


def _upgrade_groups(
    item: np.ndarray,
    k: np.ndarray,
    gw: np.ndarray,
    gv: np.ndarray,
    keep_idx: np.ndarray,
    gid: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    cap: np.ndarray,
    capacity: float,
) -> None:
    """One pass of item-level upgrades, in place: switch a group to item ``j`` at the most copies that fit.

    Candidates are ranked by their gain if the whole residual room were theirs (vectorised), then
    applied one by one with the gain recomputed against the current room.
    """
    if keep_idx.size == 0:
        return
    room = capacity - float(gw.sum())
    g = gid[keep_idx]
    budget = room + gw[g]
    wj = w[keep_idx]
    kj = cap[keep_idx].astype(np.float64)
    pos = wj > 0
    kj[pos] = np.minimum(kj[pos], _fit_count(budget[pos], wj[pos]))
    gain = kj * v[keep_idx] - gv[g]
    ok = (kj >= 1) & (gain > 0)
    cand = keep_idx[ok][np.argsort(-gain[ok], kind="stable")]
    for j in cand.tolist():
        gj = int(gid[j])
        wj1, vj1 = float(w[j]), float(v[j])
        avail = room + gw[gj]
        kk = int(cap[j]) if wj1 == 0 else int(min(cap[j], _fit_count(max(avail, 0.0), wj1)))
        if kk < 1 or kk * vj1 <= gv[gj]:
            continue
        new_w = kk * wj1
        room = avail - new_w
        item[gj], k[gj], gw[gj], gv[gj] = j, kk, new_w, kk * vj1


def _repair_groups(
    take: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    gid: np.ndarray,
    capacity: float,
    exactly_one: bool,
    start_item: np.ndarray,
    start_k: np.ndarray,
) -> np.ndarray | None:
    """Guard against floating-point drift: revert groups to their starting option until ``w @ take <= C``."""
    if float(w @ take) <= capacity:
        return take
    take = take.copy()
    chosen = np.flatnonzero(take > 0)
    for i in chosen[np.argsort(v[chosen] * take[chosen], kind="stable")].tolist():
        g = int(gid[i])
        take[i] = 0
        if exactly_one and start_item[g] >= 0:
            take[start_item[g]] = start_k[g]
        if float(w @ take) <= capacity:
            return take
    return None


# ----------------------------------------------------------------------------------------------------------
# 3. m resources (optionally groups): LP relaxation with HiGHS, LP-guided greedy
# ----------------------------------------------------------------------------------------------------------


def greedy_multidimensional(
    values: np.ndarray,
    weights_matrix: np.ndarray,
    capacities: np.ndarray,
    copies: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    exactly_one: bool = False,
) -> GreedyOutcome:
    r"""LP bound plus LP-rounding and surrogate-greedy heuristic for the multidimensional knapsack.

    **Relaxation** (solved with HiGHS). Variables ``0 <= x_i <= c'_i``; with groups also selectors
    ``0 <= y_i <= 1``:

    .. math::

        \max v^\top x \;\text{ s.t. }\; W x \le C,\quad x_i \le c'_i y_i,\quad
        [\,y_i \le x_i \text{ if exactly\_one}\,],\quad
        \sum_{i \in g} y_i \le 1 \;(= 1 \text{ if exactly\_one}).

    Every integral solution satisfies it with ``y_i = [take_i > 0]``, so its optimum bounds the
    integer optimum. The reported bound is not HiGHS's objective but the Lagrangian (weak-duality)
    value of HiGHS's row duals ``lambda`` (sign-clipped to be dual feasible),

    .. math::  B(\lambda) = \lambda^\top b + \sum_j u_j \max\big(0, (c - A^\top \lambda)_j\big),

    which is a valid upper bound for *any* such ``lambda`` and equals the LP optimum at optimal duals.
    So no safety margin is needed although HiGHS solves the LP only to its tolerances (1e-7).

    **Heuristic.** Surrogate weights ``s_i = sum_r lambda_r W_ri`` from the capacity rows' duals
    (``lambda_r = 1 / C_r`` if all are zero); efficiency ``v_i / s_i``. Three starts: the LP solution
    rounded down (one item kept per group, the most valuable), the empty solution, and the most
    valuable item alone at its capped copies ``c'_i`` (it fits on its own by construction; the analogue
    of the best-single-item fix). From each start: for ``exactly_one`` first give every group without
    an item the option of least surrogate weight that fits (the start fails if some group has none);
    then add items in decreasing efficiency at the most copies that fit (respecting copies, groups and
    every capacity); then one improvement pass (switch a group to another item when that raises the
    value) and a last pass adding anything that still fits. The best start wins; ``take`` is ``None``
    if all fail. A provably infeasible LP gives ``take=None``, bound ``0.0``,
    ``bound_kind="infeasible"``; if HiGHS fails, the bound falls back to ``sum_i v_i c'_i`` (``"box"``).
    """
    v = _vector("values", values)
    n = v.shape[0]
    W = np.asarray(weights_matrix, dtype=np.float64)
    if W.ndim == 1:
        W = W.reshape(1, -1)
    if W.ndim != 2 or W.shape[1] != n:
        raise ValueError(f"weights_matrix must have shape (m, {n}), got {W.shape}")
    if not np.all(np.isfinite(W)) or np.any(W < 0):
        raise ValueError("weights_matrix must be finite and non-negative")
    m = W.shape[0]
    if m < 1:
        raise ValueError("weights_matrix needs at least one resource (row)")
    C = _vector("capacities", np.atleast_1d(np.asarray(capacities, dtype=np.float64)), m)
    c = _copies(copies, n)
    exactly_one = bool(exactly_one)
    if groups is None:
        if exactly_one:
            raise ValueError("exactly_one needs groups")
        gid, n_groups = np.full(n, -1, dtype=np.int64), 0
    else:
        gid, n_groups = _group_ids(groups, n)

    # cap copies at what fits on its own in every resource
    cap = c.astype(np.float64)
    for r in range(m):
        pos = W[r] > 0
        cap[pos] = np.minimum(cap[pos], _fit_count(C[r], W[r, pos]))
    cap = cap.astype(np.int64)
    if not exactly_one:
        cap[v <= 0] = 0  # worthless items are never needed
    if exactly_one:
        have = np.zeros(n_groups, dtype=bool)
        have[gid[cap > 0]] = True
        if not np.all(have):
            return GreedyOutcome(None, 0.0, "infeasible", None)

    if n == 0:
        return GreedyOutcome(np.zeros(0, dtype=np.int64), 0.0, "lp", 0.0)
    lp = _solve_lp(v, W, C, cap, gid, n_groups, exactly_one)
    if lp.status == "infeasible":
        return GreedyOutcome(None, 0.0, "infeasible", None)
    if lp.status == "optimal":
        bound, bound_kind = lp.bound, "lp"
        lam = lp.cap_duals
    else:
        bound, bound_kind = float(v @ cap), "box"
        lam = np.zeros(m)

    # surrogate weights; 1/C_r when the duals say nothing (no capacity binds in the LP)
    safe_c = np.where(C > 0, C, 1.0)
    s_fallback = (W / safe_c[:, None]).sum(axis=0)
    s_dual = lam @ W if np.any(lam > 0) else s_fallback
    with np.errstate(divide="ignore", invalid="ignore"):
        eff = np.where(s_dual > 0, v / s_dual, np.where(v > 0, np.inf, 0.0))
        eff2 = np.where(s_fallback > 0, v / s_fallback, np.where(v > 0, np.inf, 0.0))
    order = np.lexsort((-v, -eff2, -eff))  # primary: dual efficiency; ties: 1/C efficiency, then value
    order = order[(cap[order] > 0) & (v[order] > 0)]  # worthless items only ever serve exactly_one repairs
    # exactly_one repair prefers light options: surrogate weight, then the 1/C one
    light = np.lexsort((-v, s_fallback, s_dual))
    light = light[cap[light] > 0]

    starts = [np.zeros(n, dtype=np.int64)]
    if lp.x is not None:
        starts.insert(0, _round_lp(lp.x, v, W, C, cap, gid, n_groups, eff))
    if np.any(cap > 0):
        # the most valuable item alone at its capped copies (the analogue of the best-single-item fix)
        single = np.zeros(n, dtype=np.int64)
        best = int(np.argmax(v * cap))
        single[best] = cap[best]
        starts.append(single)

    best_take: np.ndarray | None = None
    best_value = -math.inf
    for start in starts:
        take = _md_fill(start, v, W, C, cap, gid, n_groups, exactly_one, order, light)
        if take is None:
            continue
        value = float(v @ take)
        if value > best_value:
            best_take, best_value = take, value
    if best_take is None:
        return GreedyOutcome(None, bound, bound_kind, None)
    return GreedyOutcome(best_take, max(bound, best_value), bound_kind, best_value)


@dataclass(frozen=True)
class _LPResult:
    status: str  # "optimal", "infeasible" or "failed"
    bound: float
    x: np.ndarray | None
    cap_duals: np.ndarray


def _solve_lp(
    v: np.ndarray,
    W: np.ndarray,
    C: np.ndarray,
    cap: np.ndarray,
    gid: np.ndarray,
    n_groups: int,
    exactly_one: bool,
) -> _LPResult:
    """Build and solve the LP relaxation with highspy; return a weak-duality bound from its duals."""
    import highspy
    from scipy import sparse

    from allocopt.solvers.highs_lp import solve_lp

    m, n = W.shape
    inf = np.inf
    grouped = n_groups > 0
    n_col = 2 * n if grouped else n
    cost = np.concatenate([v, np.zeros(n)]) if grouped else v.copy()
    col_upper = cap.astype(np.float64)
    if grouped:
        col_upper = np.concatenate([col_upper, (cap > 0).astype(np.float64)])

    rows, cols, vals = [], [], []
    wr, wc = np.nonzero(W)
    rows.append(wr)
    cols.append(wc)
    vals.append(W[wr, wc])
    row_upper = [C]
    row_lower = [np.full(m, -inf)]
    n_row = m
    if grouped:
        ar = np.arange(n)
        # x_i - c'_i y_i <= 0
        rows += [n_row + ar, n_row + ar]
        cols += [ar, n + ar]
        vals += [np.ones(n), -cap.astype(np.float64)]
        row_upper.append(np.zeros(n))
        row_lower.append(np.full(n, -inf))
        n_row += n
        if exactly_one:  # y_i - x_i <= 0: a selected item is taken at least once
            rows += [n_row + ar, n_row + ar]
            cols += [n + ar, ar]
            vals += [np.ones(n), -np.ones(n)]
            row_upper.append(np.zeros(n))
            row_lower.append(np.full(n, -inf))
            n_row += n
        rows.append(n_row + gid)
        cols.append(n + ar)
        vals.append(np.ones(n))
        row_upper.append(np.ones(n_groups))
        row_lower.append(np.ones(n_groups) if exactly_one else np.full(n_groups, -inf))
        n_row += n_groups
    A = sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_row, n_col))
    rl, ru = np.concatenate(row_lower), np.concatenate(row_upper)
    h = solve_lp(cost, A, rl, ru, col_upper, maximize=True)
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return _LPResult("infeasible", 0.0, None, np.zeros(m))
    if status != highspy.HighsModelStatus.kOptimal:
        return _LPResult("failed", math.inf, None, np.zeros(m))
    sol = h.getSolution()
    x = np.asarray(sol.col_value, dtype=np.float64)[:n]
    lam = np.asarray(sol.row_dual, dtype=np.float64)
    # dual feasibility for a maximisation: rows with only an upper bound need lambda >= 0;
    # equality rows may have any sign
    lam = np.where(np.isinf(rl), np.maximum(lam, 0.0), lam)
    reduced = cost - A.T @ lam
    bound = float(lam @ ru) + float(col_upper @ np.maximum(reduced, 0.0))
    return _LPResult("optimal", bound, x, lam[:m].copy())


def _round_lp(
    x: np.ndarray,
    v: np.ndarray,
    W: np.ndarray,
    C: np.ndarray,
    cap: np.ndarray,
    gid: np.ndarray,
    n_groups: int,
    eff: np.ndarray,
) -> np.ndarray:
    """Round the LP solution down; keep one item per group (the most valuable); restore ``W take <= C``."""
    take = np.clip(np.floor(x + 1e-9), 0, cap).astype(np.int64)  # 1e-9: x = 0.9999999996 means 1
    if n_groups > 0:
        worth = v * take
        taken = np.flatnonzero(take > 0)
        best = np.full(n_groups, -1, dtype=np.int64)
        # after sorting by worth, the last write per group is its most valuable item
        for i in taken[np.argsort(worth[taken], kind="stable")].tolist():
            best[gid[i]] = i
        keep = np.zeros(take.shape[0], dtype=bool)
        keep[best[best >= 0]] = True
        take[~keep] = 0
    used = W @ take
    if np.all(used <= C):
        return take
    # the 1e-9 rounding or LP tolerances overshot: drop copies of the least efficient items
    for i in np.flatnonzero(take > 0)[np.argsort(eff[take > 0], kind="stable")].tolist():
        while take[i] > 0 and np.any(used > C):
            take[i] -= 1
            used = W @ take
        if np.all(used <= C):
            break
    return take


def _md_fill(
    start: np.ndarray,
    v: np.ndarray,
    W: np.ndarray,
    C: np.ndarray,
    cap: np.ndarray,
    gid: np.ndarray,
    n_groups: int,
    exactly_one: bool,
    order: np.ndarray,
    light: np.ndarray,
) -> np.ndarray | None:
    """Repair (exactly_one), greedy add by efficiency, one improvement pass; None if a group stays empty."""
    take = start.copy()
    used = W @ take
    Wt = np.ascontiguousarray(W.T)
    grouped = n_groups > 0
    chosen = np.full(n_groups, -1, dtype=np.int64)
    if grouped:
        for i in np.flatnonzero(take > 0).tolist():
            chosen[gid[i]] = i

    if exactly_one:
        for i in light.tolist():
            g = gid[i]
            if chosen[g] >= 0:
                continue
            if _md_fits(i, C - used, Wt, cap) >= 1:
                take[i] = 1
                used = used + Wt[i]
                chosen[g] = i
        if np.any(chosen < 0):
            return None

    used = _md_add_in_order(take, used, order, Wt, C, cap, gid, chosen, grouped)
    if grouped:
        # improvement: switch a group to another item (at the most copies that fit) if it pays. A group's
        # value only grows during the pass, so items worth no more than it at full copies are skipped.
        gval = np.zeros(n_groups)
        sel = chosen[chosen >= 0]
        gval[gid[sel]] = v[sel] * take[sel]
        worth = (cap[order] * v[order] > gval[gid[order]]) & (chosen[gid[order]] != order)
        for i in order[worth].tolist():
            g = gid[i]
            j = chosen[g]
            if j == i:
                continue
            current = take[j] * v[j] if j >= 0 else 0.0
            room = C - used + (take[j] * Wt[j] if j >= 0 else 0.0)
            k = _md_fits(i, room, Wt, cap)
            if k >= 1 and k * v[i] > current:
                if j >= 0:
                    take[j] = 0
                take[i] = k
                used = W @ take
                chosen[g] = i
        # anything that fits now (capacity freed by the switches)
        used = _md_add_in_order(take, used, order, Wt, C, cap, gid, chosen, grouped)

    # floating-point drift guard (exact arithmetic never gets here)
    used = W @ take
    if np.any(used > C):
        floor_k = 1 if exactly_one else 0
        for i in np.flatnonzero(take > 0)[::-1].tolist():
            while take[i] > floor_k and np.any(used > C):
                take[i] -= 1
                used = W @ take
        if np.any(used > C):
            return None
    return take


def _md_fits(i: int, room: np.ndarray, Wt: np.ndarray, cap: np.ndarray) -> int:
    """Most copies of item ``i`` (at most ``c'_i``) that fit into ``room`` in every resource."""
    col = Wt[i]
    nz = col > 0
    if not np.any(nz):
        return int(cap[i])
    return int(min(cap[i], np.min(_fit_count(np.maximum(room[nz], 0.0), col[nz]))))


def _md_add_in_order(
    take: np.ndarray,
    used: np.ndarray,
    order: np.ndarray,
    Wt: np.ndarray,
    C: np.ndarray,
    cap: np.ndarray,
    gid: np.ndarray,
    chosen: np.ndarray,
    grouped: bool,
) -> np.ndarray:
    """Sequential greedy over ``order``, in place: each item gets the most copies that fit.

    An item is skipped while another item of its group is taken.

    Vectorised in rounds as in ``_greedy_fill_sorted``: keep the remaining items of which one copy
    fits (the room only shrinks, so the others never will) and whose group is free or theirs; accept
    the prefix whose full copies fit in every resource and whose groups are distinct; the item that
    ends the prefix either repeats a group just taken (skipped) or overflows (gets the copies that
    fit); resume after it. Same result as the item-by-item loop, which takes over if the rounds'
    scan budget runs out. Returns the new usage vector.
    """
    m = Wt.shape[1]
    pos = 0
    budget = max(_SCAN_BUDGET_PER_ITEM * order.size, _SCAN_BUDGET_MIN)
    while pos < order.size:
        rest = order[pos:]
        room = C - used
        rem = cap[rest] - take[rest]
        ok = rem > 0
        if grouped:
            owner = chosen[gid[rest]]
            ok &= (owner < 0) | (owner == rest)
        ok &= np.all(Wt[rest] <= room, axis=1)
        cpos = np.flatnonzero(ok)
        if cpos.size == 0:
            break
        cand = rest[cpos]
        if budget <= 0:  # item by item from here on
            for i in cand.tolist():
                if grouped and chosen[gid[i]] not in (-1, i):
                    continue
                k = min(_md_fits(i, C - used, Wt, cap), int(cap[i] - take[i]))
                if k >= 1:
                    take[i] += k
                    used = used + k * Wt[i]
                    if grouped:
                        chosen[gid[i]] = i
            break
        budget -= rest.size * m
        full = Wt[cand] * rem[cpos, None]
        cum = np.cumsum(full, axis=0)
        over = np.flatnonzero(np.any(cum > room, axis=1))
        p = int(over[0]) if over.size else cand.size
        repeat = False
        if grouped:
            first = np.zeros(cand.size, dtype=bool)
            first[np.unique(gid[cand], return_index=True)[1]] = True
            dup = np.flatnonzero(~first)
            if dup.size and dup[0] <= p:  # a repeated group is skipped even if it also overflows
                p, repeat = int(dup[0]), True
        if p > 0:
            acc = cand[:p]
            take[acc] += rem[cpos[:p]]
            used = used + cum[p - 1]
            if grouped:
                chosen[gid[acc]] = acc
        if p == cand.size:
            break
        j = int(cand[p])
        if not repeat:  # overflow item: as many copies as fit
            k = min(_md_fits(j, C - used, Wt, cap), int(rem[cpos[p]]))
            if k >= 1:
                take[j] += k
                used = used + k * Wt[j]
                if grouped:
                    chosen[gid[j]] = j
        pos += int(cpos[p]) + 1
    return used
