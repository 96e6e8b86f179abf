r"""Convex-hull greedy for bit allocation (mixed-precision quantization), with its LP lower bound.

Problem
-------
J units (layers, experts); unit j has size :math:`s_j > 0` (number of weights) and options
:math:`k = 0..K_j-1` with bits :math:`b_{jk} > 0` strictly increasing in k and errors
:math:`e_{jk} \ge 0` (neither monotone nor convex in k). Choose one option per unit:

.. math::

    \min_{k(\cdot)} \sum_j e_{j,k(j)} \quad\text{s.t.}\quad \sum_j s_j \, b_{j,k(j)} \le T,
    \qquad b_{j,k(j)} \ge b_{\min} \text{ (if given)}.

A multiple-choice knapsack (MCKP) in minimisation form, with *cost* :math:`c_{jk} = s_j b_{jk}`.
Options are passed flattened: unit j owns ``bits[offsets[j]:offsets[j+1]]`` and the same slice of
``errors``.

Algorithm (Sinha & Zoltners 1979, minimisation)
-----------------------------------------------
1. Options below ``min_bits`` are dropped: since bits increase within a unit, what is left is a
   suffix. A unit with nothing left, or :math:`\sum_j c_{j,\text{first}} > T`, is infeasible.
2. Per unit, keep the lower convex hull of the points :math:`(c_{jk}, e_{jk})` starting at the
   cheapest option: points with more cost and not less error than the previous vertex are dominated,
   points above the segment joining their neighbours are LP-dominated. Consecutive vertices give
   *steps* (cost :math:`\Delta c > 0`, error reduction :math:`\Delta r > 0`) whose slopes
   :math:`\Delta r / \Delta c` strictly decrease within the unit (collinear middle points are dropped:
   they change nothing in the LP, and the polish below can still choose them).
3. Steps are sorted by slope (descending; ties can only join different units, whose order does not
   matter, so an unstable sort is enough) and taken while they fit on top of the starting cost
   :math:`C_0 = \sum_j c_{j,\text{first}}`. With cumulative costs :math:`\Gamma_t` and reductions
   :math:`R_t`, let b be the first step that does not fit. The LP relaxation (:math:`x_{jk} \in [0,1]`,
   :math:`\sum_k x_{jk} = 1`) is solved exactly by taking b fractionally:

   .. math::  L = E_0 - R_{b-1} - (T - C_0 - \Gamma_{b-1}) \, \frac{\Delta r_b}{\Delta c_b},

   with :math:`E_0 = \sum_j e_{j,\text{first}}`; :math:`L` is a valid lower bound on the optimum (it is
   also the Lagrangian dual bound :math:`\max_{\lambda \ge 0} \sum_j \min_k (e_{jk} + \lambda c_{jk})
   - \lambda T`, attained at :math:`\lambda = \Delta r_b / \Delta c_b`). If no step is cut (every step
   fits, or the prefix uses the budget exactly), the prefix is integral and optimal: ``exact``.
4. The integral solution continues past b with every later step that still fits (a unit whose step
   was skipped is frozen: its later steps cost more and the room only shrinks), then polishes each unit
   (break unit first) to its lowest-error option, hull or not, that fits the remaining room. A second
   start takes the break step b and drops the lowest-slope steps of the prefix until it fits (the
   analogue of the best-single-item fix); it gets the same fill and polish, and the better one wins.

O(K log K) for K options in all: the per-unit hulls, the fill and the polish are compiled loops
(numba), the rest is one argsort plus cumsum/searchsorted. Budget arithmetic is floating point;
a last check with the direct sum ``sizes @ bits[choice] <= T`` (see :func:`fit_budget`) downgrades a
unit in the rare case where the running sums rounded the other way, so the returned choice passes
exactly that test (another summation order may differ by an ulp).

Solvers here take numpy arrays; they never see JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from allocopt.errors import DataError
from allocopt.solvers.heap import sift_down

__all__ = ["HullGreedyOutcome", "fit_budget", "hull_greedy"]


@dataclass(frozen=True)
class HullGreedyOutcome:
    """The greedy's choice, its error and the LP lower bound on the optimum.

    ``choice`` holds the local option index per unit (int64; ``None`` when infeasible); ``error`` is
    :math:`\\sum_j e_{j,choice_j}`; ``lower_bound`` is the LP (= Lagrangian) bound, so that
    ``error - lower_bound`` bounds the optimality gap (both ``None`` when infeasible); ``exact`` says
    the greedy provably reached the optimum (then ``lower_bound == error``).
    """

    choice: np.ndarray | None
    error: float | None
    lower_bound: float | None
    exact: bool


# ----------------------------------------------------------------------------------------------------------
# input checking (shared with water_filling)
# ----------------------------------------------------------------------------------------------------------


def _positive_vector(name: str, x: object, n: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise DataError((name,), f"expected a 1-D array, got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise DataError((name,), f"expected {n} entries, got {a.shape[0]}")
    ok = np.isfinite(a) & (a > 0)
    if not np.all(ok):
        bad = int(np.flatnonzero(~ok)[0])
        raise DataError((name, bad), f"expected a finite number > 0, got {a[bad]!r}")
    return np.ascontiguousarray(a)


def _check_options(
    offsets: object, bits: object, errors: object, n_units: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the flattened ragged options; returns (offsets int64, bits, errors) as contiguous arrays."""
    off = np.asarray(offsets)
    if off.ndim != 1 or off.shape[0] < 1:
        raise DataError(("offsets",), f"expected a 1-D array of J + 1 offsets, got shape {off.shape}")
    if off.dtype.kind not in "iu":
        f = off.astype(np.float64)
        if not np.all(np.isfinite(f)) or np.any(f != np.floor(f)):
            raise DataError(("offsets",), "expected integers")
    off = np.ascontiguousarray(off, dtype=np.int64)
    if n_units is not None and off.shape[0] != n_units + 1:
        raise DataError(("offsets",), f"expected {n_units + 1} offsets (one per unit, plus one), got {off.shape[0]}")
    b = _positive_vector("bits", bits)
    k = b.shape[0]
    e = np.ascontiguousarray(np.asarray(errors, dtype=np.float64))
    if e.shape != (k,):
        raise DataError(("errors",), f"expected {k} errors (one per option), got shape {e.shape}")
    ok = np.isfinite(e) & (e >= 0)
    if not np.all(ok):
        bad = int(np.flatnonzero(~ok)[0])
        raise DataError(("errors", bad), f"expected a finite number >= 0, got {e[bad]!r}")
    if off[0] != 0 or off[-1] != k:
        raise DataError(("offsets",), f"expected offsets[0] = 0 and offsets[-1] = {k} (the number of options)")
    counts = np.diff(off)
    if np.any(counts < 1):
        bad = int(np.flatnonzero(counts < 1)[0])
        raise DataError(("offsets", bad + 1), f"unit {bad} needs at least one option (offsets must increase)")
    # bits strictly increasing inside each unit: every adjacent pair not straddling a unit boundary
    inner = np.ones(max(k - 1, 0), dtype=bool)
    inner[off[1:-1] - 1] = False
    bad_pairs = np.flatnonzero(inner & (np.diff(b) <= 0))
    if bad_pairs.size:
        i = int(bad_pairs[0]) + 1
        raise DataError(("bits", i), "expected bits strictly increasing within each unit")
    return off, b, e


def _first_allowed(offsets: np.ndarray, bits: np.ndarray, min_bits: float | None) -> np.ndarray:
    """Global index of each unit's first option with ``bits >= min_bits`` (== offsets[j+1] if none)."""
    n = offsets.shape[0] - 1
    if min_bits is None:
        return offsets[:-1].copy()
    unit = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    # the allowed options form a suffix of each unit, so the first one sits after the disallowed count
    return offsets[:-1] + np.bincount(unit[bits < min_bits], minlength=n).astype(np.int64)


def _finite_scalar(name: str, x: object) -> float:
    v = float(x)  # type: ignore[arg-type]
    if not math.isfinite(v):
        raise DataError((name,), f"expected a finite number, got {v}")
    return v


# ----------------------------------------------------------------------------------------------------------
# compiled kernels
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _lower_hulls(offsets, first, sizes, bits, errors):
    """Per-unit lower convex hulls and their steps.

    Returns ``(hv, hs, step_unit, step_h, step_cost, step_red, step_slope)``: unit j's hull vertices
    are the global option indices ``hv[hs[j]:hs[j+1]]`` (the first is ``first[j]``); steps are laid out
    unit-major, step h of unit j moving from vertex h to h + 1. Slopes are computed by the same
    expression in the hull test and in the output, so they strictly decrease within a unit *in
    floating point*: any sort by slope keeps every unit's steps in order.
    """
    n = offsets.shape[0] - 1
    hv = np.empty(offsets[n], dtype=np.int64)
    hs = np.empty(n + 1, dtype=np.int64)
    m = 0
    for j in range(n):
        hs[j] = m
        start = m
        s = sizes[j]
        for k in range(first[j], offsets[j + 1]):
            e = errors[k]
            if m > start and e >= errors[hv[m - 1]]:
                continue  # more bits, not less error than the current last vertex
            while m - start >= 2:
                a = hv[m - 2]
                b = hv[m - 1]
                s_ab = (errors[a] - errors[b]) / (s * (bits[b] - bits[a]))
                s_bc = (errors[b] - e) / (s * (bits[k] - bits[b]))
                if s_ab <= s_bc:  # b lies on or above the segment a-k: LP-dominated
                    m -= 1
                else:
                    break
            hv[m] = k
            m += 1
    hs[n] = m
    n_steps = m - n
    step_unit = np.empty(n_steps, dtype=np.int64)
    step_h = np.empty(n_steps, dtype=np.int64)
    step_cost = np.empty(n_steps, dtype=np.float64)
    step_red = np.empty(n_steps, dtype=np.float64)
    step_slope = np.empty(n_steps, dtype=np.float64)
    t = 0
    for j in range(n):
        s = sizes[j]
        for i in range(hs[j] + 1, hs[j + 1]):
            a = hv[i - 1]
            b = hv[i]
            step_unit[t] = j
            step_h[t] = i - 1 - hs[j]
            step_cost[t] = s * (bits[b] - bits[a])
            step_red[t] = errors[a] - errors[b]
            step_slope[t] = step_red[t] / step_cost[t]
            t += 1
    return hv, hs, step_unit, step_h, step_cost, step_red, step_slope


@njit(cache=True)
def _fill(unit, h, cost, start, pos, used, limit):
    """Sequential pass over the sorted steps from ``start``, in place on ``pos`` (hull vertex per unit).

    Returns the cost used. ``unit``, ``h``, ``cost`` are already in slope order (contiguous reads). A step
    is taken iff its unit sits at the step's start vertex and ``used + cost <= limit``; a unit
    whose step was skipped never moves again (its later steps are costlier and the room only shrinks).
    Accumulating ``used`` in step order, like ``np.cumsum``, makes the prefix agree bit for bit with the
    cut found by ``searchsorted`` (a running ``room -= cost`` can round differently and drop a step
    that lands exactly on the budget).
    """
    for t in range(start, unit.shape[0]):
        u = unit[t]
        if pos[u] == h[t] and used + cost[t] <= limit:
            pos[u] += 1
            used += cost[t]
    return used


@njit(cache=True)
def _polish(choice, first_unit, first, offsets, sizes, bits, errors, room):
    """Move each unit (``first_unit`` first) to its lowest-error option that fits the room, in place."""
    n = choice.shape[0]
    for t in range(-1, n):
        if t == -1:
            j = first_unit
            if j < 0:
                continue
        else:
            j = t
            if j == first_unit:
                continue
        cur = choice[j]
        best = cur
        best_e = errors[cur]
        for k in range(first[j], offsets[j + 1]):
            if errors[k] < best_e and sizes[j] * (bits[k] - bits[cur]) <= room:
                best = k
                best_e = errors[k]
        if best != cur:
            room -= sizes[j] * (bits[best] - bits[cur])
            choice[j] = best
    return room


@njit(cache=True)
def _best_down(j, cur, first, sizes, bits, errors):
    """Cheaper option of least error increase per budget bit saved: (option, ratio) or (-1, inf)."""
    best = -1
    best_r = np.inf
    for k in range(first[j], cur):
        r = (errors[k] - errors[cur]) / (sizes[j] * (bits[cur] - bits[k]))
        if r < best_r:
            best_r = r
            best = k
    return best, best_r


@njit(cache=True)
def _downgrade(choice, first, sizes, bits, errors, room):
    """Apply the downgrade of least error increase per budget bit saved until ``room >= 0``, in place.

    A heap greedy over the units keyed by their best downgrade (keys do not depend on the room).
    Returns the room, tracked incrementally (negative only when every unit is at its cheapest option).
    """
    n = choice.shape[0]
    keys = np.empty(n, dtype=np.float64)
    ids = np.empty(n, dtype=np.int64)
    size = 0
    for j in range(n):
        k, r = _best_down(j, choice[j], first, sizes, bits, errors)
        if k >= 0:
            keys[size] = -r  # max-heap on -ratio
            ids[size] = j
            size += 1
    for p in range(size // 2 - 1, -1, -1):
        sift_down(keys, ids, size, p)
    while room < 0.0 and size > 0:
        j = ids[0]
        k, r = _best_down(j, choice[j], first, sizes, bits, errors)
        room += sizes[j] * (bits[choice[j]] - bits[k])
        choice[j] = k
        k, r = _best_down(j, k, first, sizes, bits, errors)
        if k >= 0:
            keys[0] = -r
        else:
            size -= 1
            keys[0] = keys[size]
            ids[0] = ids[size]
        if size > 0:
            sift_down(keys, ids, size, 0)
    return room


def fit_budget(
    choice: np.ndarray, first: np.ndarray, sizes: np.ndarray, bits: np.ndarray, errors: np.ndarray, budget: float
) -> bool:
    """Downgrade ``choice`` (global option indices, in place) until ``sizes @ bits[choice] <= budget``.

    The test is the direct dot product, not a running room, so the result is feasible as the caller
    will check it; each round downgrades at least one unit, so this ends. Returns whether anything
    changed. Requires ``sizes @ bits[first] <= budget``.
    """
    changed = False
    while True:
        room = budget - float(sizes @ bits[choice])
        if room >= 0.0:
            return changed
        if np.array_equal(choice, first):  # cannot happen when the precondition holds
            raise AssertionError("the cheapest allowed options exceed the budget")
        _downgrade(choice, first, sizes, bits, errors, room)
        changed = True


# ----------------------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------------------


def hull_greedy(
    sizes: np.ndarray,
    offsets: np.ndarray,
    bits: np.ndarray,
    errors: np.ndarray,
    total_bits: float,
    min_bits: float | None = None,
) -> HullGreedyOutcome:
    r"""Convex-hull greedy for the bit-allocation MCKP; see the module docstring for the algorithm.

    ``sizes`` (J, > 0), ``offsets`` (J + 1 int64; unit j's options are ``[offsets[j], offsets[j+1])``),
    ``bits`` (K, > 0, strictly increasing within a unit), ``errors`` (K, >= 0), budget
    :math:`\sum_j s_j b_{j,k(j)} \le` ``total_bits``, and optionally no option below ``min_bits``.

    Returns a :class:`HullGreedyOutcome`: local option indices, their total error, the LP lower bound
    and whether the greedy is provably optimal. Infeasible (a unit without an option ``>= min_bits``,
    or the cheapest options exceeding the budget): every field ``None``, ``exact=False``. Raises
    ``DataError`` on invalid input.
    """
    s = _positive_vector("sizes", sizes)
    n = s.shape[0]
    off, b, e = _check_options(offsets, bits, errors, n)
    budget = _finite_scalar("total_bits", total_bits)
    floor = None if min_bits is None else _finite_scalar("min_bits", min_bits)

    first = _first_allowed(off, b, floor)
    if np.any(first >= off[1:]):
        return HullGreedyOutcome(None, None, None, False)
    base_cost = float(s @ b[first])
    room0 = budget - base_cost
    if room0 < 0:
        return HullGreedyOutcome(None, None, None, False)
    e0 = float(e[first].sum())

    hv, hs, step_unit, step_h, step_cost, step_red, step_slope = _lower_hulls(off, first, s, b, e)
    n_steps = step_cost.shape[0]
    # slopes strictly decrease within a unit, so ties are between units and quicksort (4x faster than a
    # stable sort here) keeps every unit's steps in hull order
    order = np.argsort(-step_slope)
    unit_s, h_s, cost_s = step_unit[order], step_h[order], step_cost[order]
    cum_cost = np.cumsum(cost_s)
    cum_red = np.cumsum(step_red[order])
    brk = int(np.searchsorted(cum_cost, room0, side="right"))  # steps [0, brk) fit; brk is the cut step
    prefix_cost = float(cum_cost[brk - 1]) if brk > 0 else 0.0
    prefix_red = float(cum_red[brk - 1]) if brk > 0 else 0.0
    if brk == n_steps:
        lower, exact = e0 - prefix_red, True
    else:
        cut_room = room0 - prefix_cost
        lower = e0 - prefix_red - cut_room * float(step_slope[order[brk]])
        exact = cut_room <= 0.0  # the prefix used the budget exactly: the LP optimum is integral
    lower = max(lower, 0.0)  # errors are >= 0; guards the rounding of the cumulative sums

    # start A: the greedy prefix (a unit's vertex = its number of prefix steps; the prefix cost is
    # cum_cost[brk - 1], bit for bit what _fill would accumulate), continued with every later step that fits
    starts: list[tuple[np.ndarray, float]] = []  # (hull vertex per unit, cost used above the base)
    pos = np.bincount(unit_s[:brk], minlength=n).astype(np.int64)
    starts.append((pos, _fill(unit_s, h_s, cost_s, brk, pos, prefix_cost, room0)))
    brk_unit = -1
    if brk < n_steps:
        brk_unit = int(unit_s[brk])
        c_brk = float(cost_s[brk])
        # start B: take the cut step, dropping the lowest-slope steps of the prefix until it fits
        keep = int(np.searchsorted(cum_cost[:brk], room0 - c_brk, side="right"))
        if c_brk <= room0:
            pos_b = np.bincount(unit_s[:keep], minlength=n).astype(np.int64)
            if pos_b[brk_unit] == h_s[brk]:  # its predecessor step survived the drop
                pos_b[brk_unit] += 1
                used_b = (float(cum_cost[keep - 1]) if keep > 0 else 0.0) + c_brk
                # the dropped steps [keep, brk) are offered again: one of them may still fit
                starts.append((pos_b, _fill(unit_s, h_s, cost_s, keep, pos_b, used_b, room0)))

    best_choice: np.ndarray | None = None
    best_error = math.inf
    for t, (pos_x, used_x) in enumerate(starts):
        choice = hv[hs[:-1] + pos_x]
        _polish(choice, brk_unit, first, off, s, b, e, room0 - used_x)
        # the running sums above may differ from the direct dot product in the last bit; a start A
        # pushed back under the budget is no longer the provably optimal prefix
        if fit_budget(choice, first, s, b, e, budget) and t == 0:
            exact = False
        err = float(e[choice].sum())
        if err < best_error:
            best_choice, best_error = choice, err
    assert best_choice is not None
    lower = best_error if exact else min(lower, best_error)
    return HullGreedyOutcome(best_choice - off[:-1], best_error, lower, exact)
