r"""Exact rollout allocation (Knapsack RL, test-time scaling) by marginal-allocation greedy.

Problem
-------
n tasks with success rates :math:`p_i \in [0, 1]`, weights :math:`w_i \ge 0`, an integer budget
:math:`B` and integer bounds :math:`lo \le k_i \le hi` (the same for all tasks):

.. math::

    \max_k \sum_i w_i f(k_i, p_i) \quad\text{s.t.}\quad \sum_i k_i \le B,\qquad lo \le k_i \le hi,
    \; k_i \in \mathbb{Z},

with one of two value functions (both with :math:`f(0, p) = 0`):

* ``"nonzero_gradient"``: :math:`f(k, p) = 1 - p^k - (1-p)^k` for :math:`k \ge 1` (the probability
  that a group of k rollouts has both a success and a failure, i.e. a nonzero GRPO-style gradient).
  Its increments are :math:`g(0) = 0` and, for :math:`k \ge 1`,
  :math:`g(k) = f(k+1) - f(k) = q\,(p^{k-1} + (1-p)^{k-1})` with :math:`q = p(1-p)`: so
  :math:`g(1) = 2q > g(2) = q \ge g(3) \ge \dots`. f is concave from k = 1 on but *not* from k = 0
  (:math:`f(1) = 0`).
* ``"pass_at_k"``: :math:`f(k, p) = 1 - (1-p)^k`, increments :math:`g(k) = p(1-p)^k`, concave.

Algorithm
---------
For a separable objective whose terms are concave in :math:`k_i`, taking the units (one more
rollout for one task) in nonincreasing order of marginal gain while the gain is positive and budget
remains is optimal (marginal allocation; the gains of one task are nonincreasing, so the greedy
prefix is a prefix of every task's own list). A binary max-heap over the tasks' next gains makes
that O((n + B) log n); it is compiled with numba.

The only non-concavity is nonzero_gradient with :math:`lo = 0` and :math:`hi \ge 2`. There we run
the greedy on the upper concave hull :math:`H_i` of :math:`w_i f(\cdot, p_i)` on :math:`[0, hi]`: since
:math:`f(2) = 2q` and :math:`f(3) = 3q`, the hull rises with slope :math:`w_i q_i` over the first
:math:`\min(3, hi)` units (a "block") and then follows f; :math:`H_i = w_i f_i` everywhere except at
:math:`k = 1`, where :math:`H_i(1) = w_i q_i > 0 = w_i f_i(1)` (when :math:`w_i q_i > 0`; tasks with
:math:`w_i q_i = 0` have :math:`f \equiv 0` and never move). A block is one heap item, taken whole
(equal-slope units of one task consecutively), so the hull greedy ends at most one task,
j, inside its block, and only when the budget runs out. If j ends at k = 2 or no task is inside a
block, :math:`\sum f = \sum H = \max \sum H \ge \max \sum f`: exact.

Repair when j ends at :math:`k_j = 1` (then the last unit had slope :math:`\lambda = w_j q_j > 0`).
Let :math:`k'` be the result with :math:`k'_j = 0`: the greedy prefix of :math:`B - 1` units, with no
task inside a block, hence optimal for budget :math:`\le B - 1` (as above). An optimum for budget B
either has total :math:`\le B - 1`, or total B with some constrained task (lo = 0, :math:`w q > 0`)
at 1 (then dropping that unit gives total B - 1 and the same value), or total B and no constrained
task at 1, where :math:`f = H`. For the last kind write :math:`k = k' + \delta`,
:math:`\sum \delta_i = 1`, :math:`k_i \ne 1`. Every :math:`k'_i` maximises the Lagrangian
:math:`L_i(k) = H_i(k) - \lambda k` (units taken have slope :math:`\ge \lambda`, the others
:math:`\le \lambda`), so :math:`\sum H(k) = \sum H(k') + \lambda - \sum_i D_i(\delta_i)` with
:math:`D_i(\delta) = L_i(k'_i) - L_i(k'_i + \delta)` convex, :math:`\ge 0` and 0 at 0: moving any
:math:`\delta_i` toward 0 never increases the deficit. Take an optimal :math:`\delta` with least
:math:`\sum |\delta_i|`. Call :math:`\delta_a = +2` from :math:`k'_a = 0` and
:math:`\delta_b = -k'_b` from :math:`k'_b \ge 2` *sticky* (the only moves whose one-step shrink
toward 0 would land on 1); every other positive (negative) move can shrink by 1 without landing on
1. Shrinking a positive and a negative move together keeps the sum, so: two non-sticky moves of
opposite signs, two sticky ones (shrink both by 2), or a sticky +2 with negative moves of total
:math:`\ge 2`, or a sticky :math:`-k'_b` with positive moves of total :math:`\ge 3` other than a
single :math:`0 \to 3`, all contradict minimality. What is left is exactly three shapes:

(i)   one task a gains 1 (:math:`k'_a + 1 \ne 1` for a constrained task);
(ii)  a constrained task a goes :math:`0 \to 2` and another task b loses 1 (:math:`k'_b - 1 \ne 1`);
(iii) a constrained task a goes :math:`0 \to 3` and a constrained task b goes :math:`2 \to 0`.

Each is a max-gain / min-loss pick over the tasks (the two tasks of (ii) and (iii) differ
automatically since :math:`k'_a = 0 \ne k'_b`), so the repair is O(n): return the best of these if
its gain (computed with the true f) is positive, else :math:`k'`. (With one ``hi`` for all tasks,
(iii) never applies: a task of :math:`k'` sits at 2 only when its block is all of :math:`[0, hi]`,
i.e. hi = 2; it is kept for per-task bounds.) For ``lo >= 1``, or pass_at_k,
plain greedy is exact; so the result is always an exact optimum (up to floating-point ties).

The total is below B only if no single further rollout adds value (all remaining marginal gains
are <= 0: tasks at ``hi``, :math:`p \in \{0, 1\}` for nonzero_gradient, :math:`p = 0` for pass_at_k,
zero weight, or a 0 -> 1 step of nonzero_gradient, which gains nothing).
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
from numba import njit

from allocopt.errors import DataError
from allocopt.solvers.heap import sift_down

VALUES = ("nonzero_gradient", "pass_at_k")

__all__ = ["VALUES", "allocate_rollouts", "rollout_value"]


# --------------------------------------------------------------------------- value functions (numpy)


def rollout_value(k: np.ndarray, success_rates: np.ndarray, value: str = "nonzero_gradient") -> np.ndarray:
    """Elementwise :math:`f(k, p)` (unweighted), with :math:`f(0, p) = 0` for both value functions."""
    k = np.asarray(k, dtype=np.int64)
    p = np.asarray(success_rates, dtype=np.float64)
    kf = k.astype(np.float64)
    if value == "pass_at_k":
        out = 1.0 - np.power(1.0 - p, kf)
    elif value == "nonzero_gradient":
        out = 1.0 - np.power(p, kf) - np.power(1.0 - p, kf)
    else:
        raise DataError(("value",), f"expected one of {', '.join(VALUES)}, got {value!r}")
    return np.where(k <= 0, 0.0, out)


def _marginal_gains(k: np.ndarray, success_rates: np.ndarray, value: str = "nonzero_gradient") -> np.ndarray:
    """Elementwise :math:`f(k+1, p) - f(k, p)` (unweighted), by the cancellation-free formulas."""
    k = np.asarray(k, dtype=np.int64)
    p = np.asarray(success_rates, dtype=np.float64)
    kf = k.astype(np.float64)
    if value == "pass_at_k":
        return p * np.power(1.0 - p, kf)
    if value == "nonzero_gradient":
        out = np.power(p, kf) * (1.0 - p) + np.power(1.0 - p, kf) * p
        return np.where(k <= 0, 0.0, out)
    raise DataError(("value",), f"expected one of {', '.join(VALUES)}, got {value!r}")


# --------------------------------------------------------------------------- compiled greedy


@njit(cache=True, inline="always")
def _gain(k, p, w, kind):
    """w * (f(k+1) - f(k)); kind 0 = nonzero_gradient (0 at k = 0), 1 = pass_at_k."""
    r = 1.0 - p
    if kind == 1:
        return w * p * math.pow(r, float(k))
    if k == 0:
        return 0.0
    return w * (math.pow(p, float(k)) * r + math.pow(r, float(k)) * p)


@njit(cache=True)
def _hull_greedy(p, w, lo, hi, budget, kind):
    """Greedy on the hull from k = lo. Returns (k, j): j is the task ended at k = 1 inside its block, or -1.

    ``budget`` is what is left after giving every task ``lo``. Blocks (slope w q over the first
    min(3, hi) units) exist only for nonzero_gradient with lo == 0 and hi >= 2.
    """
    n = p.shape[0]
    k = np.full(n, lo, dtype=np.int64)
    blocks = kind == 0 and lo == 0 and hi >= 2
    block_len = min(3, hi)
    keys = np.empty(n, dtype=np.float64)
    ids = np.empty(n, dtype=np.int64)
    size = 0
    if lo < hi:
        for i in range(n):
            s = w[i] * p[i] * (1.0 - p[i]) if blocks else _gain(lo, p[i], w[i], kind)
            if s > 0.0:
                keys[size] = s
                ids[size] = i
                size += 1
    # heapify
    for pos in range(size // 2 - 1, -1, -1):
        sift_down(keys, ids, size, pos)

    remaining = budget
    j = -1
    while remaining > 0 and size > 0:
        i = ids[0]
        if blocks and k[i] == 0:
            step = block_len
            if step > remaining:
                step = remaining
                if step == 1:
                    j = i
        else:
            step = 1
        k[i] += step
        remaining -= step
        s = 0.0
        if k[i] < hi:
            s = _gain(k[i], p[i], w[i], kind)
        if s > 0.0:
            keys[0] = s
        else:
            size -= 1
            keys[0] = keys[size]
            ids[0] = ids[size]
        if size > 0:
            sift_down(keys, ids, size, 0)
    return k, j


# --------------------------------------------------------------------------- repair of a k = 1 end


def _repair(k: np.ndarray, j: int, p: np.ndarray, w: np.ndarray, hi: int) -> np.ndarray:
    """Exact fix when the hull greedy left task j at k = 1 (nonzero_gradient, lo = 0); see module doc."""
    k = k.copy()
    k[j] = 0  # k' : the exact optimum for budget B - 1
    q = p * (1.0 - p)
    wq = w * q
    constrained = wq > 0.0
    at0 = k == 0
    best_gain = 0.0
    best: tuple[int, int, int, int] | None = None  # (a, da, b, db)

    # (i) one task gains a unit, not 0 -> 1 of a constrained task
    ok = (k < hi) & ~(constrained & at0)
    if ok.any():
        g = np.where(ok, w * _marginal_gains(k, p), -np.inf)
        a = int(np.argmax(g))
        if g[a] > best_gain:
            best_gain, best = float(g[a]), (a, 1, -1, 0)

    # candidates a: constrained at 0 (hi >= 2 since a block existed)
    cand_a = constrained & at0
    if cand_a.any():
        # (ii) a: 0 -> 2, b: -1 with k_b - 1 != 1 for constrained b
        ok_b = (k >= 1) & ~(constrained & (k == 2))
        if ok_b.any():
            loss = np.where(ok_b, w * _marginal_gains(np.maximum(k - 1, 0), p), np.inf)
            b = int(np.argmin(loss))
            g2 = np.where(cand_a, 2.0 * wq, -np.inf)
            a = int(np.argmax(g2))
            gain = float(g2[a] - loss[b])
            if gain > best_gain:
                best_gain, best = gain, (a, 2, b, -1)
        # (iii) a: 0 -> 3, b: 2 -> 0 (both constrained); vacuous with one common hi, see module doc
        ok_b = constrained & (k == 2)
        if hi >= 3 and ok_b.any():
            loss = np.where(ok_b, 2.0 * wq, np.inf)
            b = int(np.argmin(loss))
            g3 = np.where(cand_a, 3.0 * wq, -np.inf)
            a = int(np.argmax(g3))
            gain = float(g3[a] - loss[b])
            if gain > best_gain:
                best_gain, best = gain, (a, 3, b, -2)

    if best is not None:
        a, da, b, db = best
        k[a] += da
        if b >= 0:
            k[b] += db
    return k


# --------------------------------------------------------------------------- public API


def _as_int(x: Any, name: str, minimum: int = 0) -> int:
    if isinstance(x, bool | np.bool_):
        raise DataError((name,), f"expected an integer, got {x!r}")
    if isinstance(x, float | np.floating) and float(x).is_integer():
        x = int(x)
    try:
        v = operator.index(x)
    except TypeError:
        raise DataError((name,), f"expected an integer, got {x!r}") from None
    if v < minimum:
        raise DataError((name,), f"expected an integer >= {minimum}, got {v}")
    return v


def allocate_rollouts(
    success_rates: np.ndarray,
    budget: int,
    min_rollouts: int = 0,
    max_rollouts: int | None = None,
    value: str = "nonzero_gradient",
    weights: np.ndarray | None = None,
) -> np.ndarray | None:
    r"""Exact optimal rollout counts, or None if infeasible.

    Maximises :math:`\sum_i w_i f(k_i, p_i)` subject to :math:`\sum_i k_i \le B` and
    ``min_rollouts <= k_i <= max_rollouts`` (default ``max_rollouts = budget``), with
    ``value`` = ``"nonzero_gradient"`` (:math:`f = 1 - p^k - (1-p)^k`, :math:`f(0) = 0`) or
    ``"pass_at_k"`` (:math:`f = 1 - (1-p)^k`). See the module docstring for the algorithm (heap
    greedy on the tasks' concave hulls, O((n + B) log n)) and the proof that the O(n) repair of the
    one possible k = 1 end makes it exact.

    Returns an int64 array of counts (any optimum when there are ties), with total below the budget
    only if no further single rollout adds value; None when ``n * min_rollouts > budget``.
    Raises ``DataError`` on invalid input (rates outside [0, 1], negative weights,
    ``max_rollouts < min_rollouts``, an unknown ``value``).
    """
    p = np.asarray(success_rates, dtype=np.float64)
    if p.ndim != 1:
        raise DataError(("success_rates",), f"expected a 1-D array, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0.0) or np.any(p > 1.0):
        bad = int(np.flatnonzero(~(np.isfinite(p) & (p >= 0.0) & (p <= 1.0)))[0])
        raise DataError(("success_rates", bad), f"expected a number in [0, 1], got {p[bad]!r}")
    n = p.shape[0]
    B = _as_int(budget, "budget")
    lo = _as_int(min_rollouts, "min_rollouts")
    hi = max(B, lo) if max_rollouts is None else _as_int(max_rollouts, "max_rollouts")
    if hi < lo:
        raise DataError(("max_rollouts",), f"expected max_rollouts >= min_rollouts = {lo}, got {hi}")
    if value not in VALUES:
        raise DataError(("value",), f"expected one of {', '.join(VALUES)}, got {value!r}")
    if weights is None:
        w = np.ones(n, dtype=np.float64)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            raise DataError(("weights",), f"expected {n} weights (one per success rate), got shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0.0):
            bad = int(np.flatnonzero(~(np.isfinite(w) & (w >= 0.0)))[0])
            raise DataError(("weights", bad), f"expected a finite number >= 0, got {w[bad]!r}")

    if n * lo > B:
        return None
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    hi = min(hi, B)  # >= lo here, since n >= 1 and n * lo <= B
    kind = 0 if value == "nonzero_gradient" else 1
    k, j = _hull_greedy(np.ascontiguousarray(p), np.ascontiguousarray(w), lo, hi, B - n * lo, kind)
    if j >= 0:
        k = _repair(k, int(j), p, w, hi)
    return k
