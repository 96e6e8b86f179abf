"""Greedy knapsack heuristics: feasible solutions, value <= optimum <= bound, against brute force and LPs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import linprog

from allocopt.solvers.knapsack_greedy import (
    GreedyOutcome,
    greedy_multidimensional,
    greedy_multiple_choice,
    greedy_single,
)

TOL = 1e-9


# ----------------------------------------------------------------------------------------------------------
# independent references
# ----------------------------------------------------------------------------------------------------------


def brute_force(v, W, C, c, gid=None, exactly_one=False) -> float:
    """Optimum by enumerating every count vector; -inf when infeasible."""
    W = np.atleast_2d(W)
    grid = np.array(list(itertools.product(*[range(int(k) + 1) for k in c])), dtype=np.int64)
    grid = grid.reshape(-1, len(c))
    ok = np.all(grid @ W.T <= np.asarray(C) + 1e-12, axis=1)
    if gid is not None:
        for g in np.unique(gid):
            distinct = (grid[:, gid == g] > 0).sum(axis=1)
            ok &= (distinct == 1) if exactly_one else (distinct <= 1)
    if not np.any(ok):
        return -math.inf
    return float((grid[ok] @ v).max())


def assert_feasible(take, v, W, C, c, gid=None, exactly_one=False) -> None:
    W = np.atleast_2d(W)
    assert take.dtype == np.int64
    assert take.shape == v.shape
    assert np.all(take >= 0) and np.all(take <= c)
    assert np.all(W @ take <= np.asarray(C) + TOL)
    if gid is not None:
        for g in np.unique(gid):
            distinct = int((take[gid == g] > 0).sum())
            assert distinct == 1 if exactly_one else distinct <= 1


def assert_sandwich(out: GreedyOutcome, v, opt: float) -> None:
    assert math.isfinite(out.bound)
    if out.take is not None:
        value = float(v @ out.take)
        assert out.value == pytest.approx(value)
        assert value <= opt + TOL
    assert opt <= out.bound + TOL * max(1.0, abs(opt))


def small_copies(rng, n: int, max_combos: int = 6000) -> np.ndarray:
    """Copies in 1..3 with at most max_combos count vectors to enumerate."""
    c = rng.integers(1, 4, n)
    while np.prod(c + 1) > max_combos:
        c[np.argmax(c)] -= 1
    return c


def random_numbers(rng, n: int, integral: bool, zero_rate: float = 0.1) -> np.ndarray:
    x = rng.integers(0, 10, n).astype(float) if integral else rng.random(n) * 10
    x[rng.random(n) < zero_rate] = 0.0
    return x


def lp_value(v, W, C, upper, A_eq=None, b_eq=None, A_ub_extra=None, b_ub_extra=None) -> float:
    """max v x s.t. W x <= C (and extras), 0 <= x <= upper, by scipy's HiGHS interface."""
    A_ub, b_ub = np.atleast_2d(W), np.asarray(C, dtype=float)
    if A_ub_extra is not None:
        A_ub, b_ub = np.vstack([A_ub, A_ub_extra]), np.concatenate([b_ub, b_ub_extra])
    res = linprog(
        -np.asarray(v),
        A_ub=A_ub,
        b_ub=b_ub,
        A_eq=A_eq,
        b_eq=b_eq,
        bounds=list(zip(np.zeros(len(v)), upper, strict=True)),
    )
    assert res.status == 0, res.message
    return -res.fun


# ----------------------------------------------------------------------------------------------------------
# greedy_single
# ----------------------------------------------------------------------------------------------------------


def sequential_greedy(v, w, C, c) -> float:
    """Item-by-item density greedy (the semantics the vectorised version must reproduce)."""
    cap = [min(ci, math.floor(C / wi)) if wi > 0 else ci for wi, ci in zip(w, c, strict=True)]
    items = [i for i in range(len(v)) if v[i] > 0 and cap[i] > 0]
    items.sort(key=lambda i: -(v[i] / w[i]) if w[i] > 0 else -math.inf)
    room, value = C, 0.0
    for i in items:
        k = cap[i] if w[i] == 0 else min(cap[i], math.floor(room / w[i]))
        value += k * v[i]
        room -= k * w[i]
    best_single = max([cap[i] * v[i] for i in items if w[i] > 0], default=0.0)
    free = sum(cap[i] * v[i] for i in items if w[i] == 0)
    return max(value, free + best_single)


def test_greedy_single_against_brute_force():
    rng = np.random.default_rng(1)
    for trial in range(400):
        n = int(rng.integers(1, 9))
        integral = trial % 2 == 0
        v, w = random_numbers(rng, n, integral), random_numbers(rng, n, integral)
        c = small_copies(rng, n) if trial % 3 else np.ones(n, dtype=np.int64)
        C = float(rng.integers(0, 25)) if integral else float(rng.random() * 20)
        out = greedy_single(v, w, C, c)
        opt = brute_force(v, w, [C], c)
        assert out.bound_kind == "dantzig"
        assert_feasible(out.take, v, w, [C], c)
        assert_sandwich(out, v, opt)
        assert out.value >= opt / 2 - TOL  # the best-single-item fix makes it a 1/2-approximation
        assert out.value == pytest.approx(sequential_greedy(v, w, C, c), abs=1e-9)


def test_dantzig_bound_is_the_lp_relaxation():
    rng = np.random.default_rng(2)
    for trial in range(60):
        n = int(rng.integers(1, 60))
        v, w = rng.random(n) * 10, rng.random(n) * 10
        w[rng.random(n) < 0.05] = 0.0
        c = rng.integers(0, 5, n)
        C = float(rng.random() * w.sum() * 0.6)
        out = greedy_single(v, w, C, c)
        # the bound is the LP with copies capped at what fits alone: valid, and never above the plain LP
        capped = np.array([min(ci, math.floor(C / wi)) if wi > 0 else ci for wi, ci in zip(w, c, strict=True)])
        assert out.bound == pytest.approx(lp_value(v, w[None, :], [C], capped), rel=1e-9, abs=1e-9)
        assert out.bound <= lp_value(v, w[None, :], [C], c) + 1e-7
        if trial % 10 == 0 and np.all(w > 0):
            # without capping the two LPs coincide when every copy fits on its own
            c1 = np.minimum(c, np.floor(C / w)).astype(np.int64)
            assert greedy_single(v, w, C, c1).bound == pytest.approx(lp_value(v, w[None, :], [C], c1), rel=1e-9)


def test_greedy_single_edge_cases():
    out = greedy_single([5.0, 3.0], [0.0, 4.0], 0.0, [2, 1])  # zero capacity: only the free item
    assert list(out.take) == [2, 0] and out.value == 10.0 and out.bound == 10.0
    out = greedy_single([1.0, 10.0], [1.0, 10.0], 10.0)  # best-single-item fix is needed
    assert out.value == 10.0
    out = greedy_single([1.0, 9.0], [1.0, 10.0], 10.0)  # density order: take 1, then 9 does not fit
    assert out.value == 9.0  # single item 9 beats greedy 1
    out = greedy_single([], [], 3.0)
    assert out.take.shape == (0,) and out.bound == 0.0
    with pytest.raises(ValueError):
        greedy_single([1.0], [-1.0], 1.0)
    with pytest.raises(ValueError):
        greedy_single([1.0], [1.0], -1.0)
    with pytest.raises(ValueError):
        greedy_single([1.0], [1.0], 1.0, copies=[1.5])
    with pytest.raises(ValueError):
        greedy_single([1.0, 2.0], [1.0], 1.0)


def test_greedy_single_million_items():
    rng = np.random.default_rng(3)
    n = 1_000_000
    v, w = rng.random(n), rng.random(n)
    c = rng.integers(1, 4, n)
    C = float(w.sum() / 5)
    out = greedy_single(v, w, C, c)
    assert float(w @ out.take) <= C
    assert np.all(out.take <= c)
    assert math.isfinite(out.bound) and out.value <= out.bound
    assert (out.bound - out.value) / out.bound < 1e-4  # many small items: greedy is near the LP


# ----------------------------------------------------------------------------------------------------------
# greedy_multiple_choice
# ----------------------------------------------------------------------------------------------------------


def option_lp(v, w, C, c, gid, exactly_one) -> float:
    """LP over explicit options (item i, k copies), one convex combination per group; -inf if infeasible."""
    opts = [(i, k) for i in range(len(v)) for k in range(1, int(c[i]) + 1) if k * w[i] <= C]
    groups = np.unique(gid)
    if not opts:
        return -math.inf if exactly_one and len(groups) else 0.0
    ov = np.array([k * v[i] for i, k in opts])
    ow = np.array([[k * w[i] for i, k in opts]])
    rows = np.array([[1.0 if gid[i] == g else 0.0 for i, _ in opts] for g in groups])
    if exactly_one:
        if np.any(rows.sum(axis=1) == 0):
            return -math.inf
        res = linprog(-ov, A_ub=ow, b_ub=[C], A_eq=rows, b_eq=np.ones(len(groups)), bounds=(0, 1))
    else:
        res = linprog(-ov, A_ub=np.vstack([ow, rows]), b_ub=np.r_[C, np.ones(len(groups))], bounds=(0, 1))
    return -res.fun if res.status == 0 else -math.inf


@pytest.mark.parametrize("exactly_one", [False, True])
def test_multiple_choice_against_brute_force(exactly_one):
    rng = np.random.default_rng(4 + exactly_one)
    infeasible_seen = 0
    for trial in range(300):
        n = int(rng.integers(1, 9))
        integral = trial % 2 == 0
        v, w = random_numbers(rng, n, integral), random_numbers(rng, n, integral)
        c = small_copies(rng, n) if trial % 3 else np.ones(n, dtype=np.int64)
        gid = rng.integers(0, max(1, n // 2), n) * 7 - 3  # arbitrary labels
        C = float(rng.integers(0, 25)) if integral else float(rng.random() * 20)
        out = greedy_multiple_choice(v, w, C, gid, exactly_one, c)
        opt = brute_force(v, w, [C], c, gid, exactly_one)
        if opt == -math.inf:
            infeasible_seen += 1
            assert out.take is None and out.bound_kind == "infeasible" and out.bound == 0.0
            continue
        assert out.take is not None, "single-resource MCKP is infeasible only if the lightest options overflow"
        assert out.bound_kind == "lp"
        assert_feasible(out.take, v, w, [C], c, gid, exactly_one)
        assert_sandwich(out, v, opt)
        assert out.bound == pytest.approx(option_lp(v, w, C, c, gid, exactly_one), rel=1e-7, abs=1e-7)
    if exactly_one:
        assert infeasible_seen > 0


def test_multiple_choice_hull_example():
    # group 0 options (w, v): (1, 2), (3, 5), (4, 5) -- the last is dominated; group 1: (2, 3.2).
    v = np.array([2.0, 5.0, 5.0, 3.2])
    w = np.array([1.0, 3.0, 4.0, 2.0])
    gid = np.array([0, 0, 0, 1])
    out = greedy_multiple_choice(v, w, 4.0, gid, exactly_one=False)
    # increments by slope: (1, 2) slope 2, (2, 3.2) slope 1.6, (1,2)->(3,5) slope 1.5 breaks with room 1:
    # LP = 2 + 3.2 + 1 * 1.5 = 6.7; integral: items 0 and 3 (5.2), which is optimal
    assert out.bound == pytest.approx(6.7)
    assert list(out.take) == [1, 0, 0, 1] and out.value == pytest.approx(5.2)
    out = greedy_multiple_choice(v, w, 4.0, gid, exactly_one=True)
    # both groups must take an item: lightest options (1, 2) + (2, 3.2) weigh 3, the rest does not fit
    assert list(out.take) == [1, 0, 0, 1] and out.bound == pytest.approx(6.7)
    out = greedy_multiple_choice(v, w, 2.0, gid, exactly_one=True)
    assert out.take is None and out.bound_kind == "infeasible"
    # copies: item 0 taken 3 times is the option (3, 6), which beats item 1's (3, 5)
    out = greedy_multiple_choice(v[:3], w[:3], 3.0, gid[:3], exactly_one=True, copies=[3, 1, 1])
    assert list(out.take) == [3, 0, 0] and out.value == 6.0


# ----------------------------------------------------------------------------------------------------------
# greedy_multidimensional
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "at_most_one", "exactly_one"])
def test_multidimensional_against_brute_force(mode):
    rng = np.random.default_rng({"plain": 7, "at_most_one": 8, "exactly_one": 9}[mode])
    solved = 0
    for trial in range(150):
        n = int(rng.integers(1, 8))
        m = int(rng.integers(1, 4))
        integral = trial % 2 == 0
        v = random_numbers(rng, n, integral)
        W = np.vstack([random_numbers(rng, n, integral, zero_rate=0.2) for _ in range(m)])
        c = small_copies(rng, n, 3000) if trial % 3 else np.ones(n, dtype=np.int64)
        C = rng.integers(0, 20, m).astype(float) if integral else rng.random(m) * 15
        gid = None if mode == "plain" else rng.integers(0, max(1, n // 2), n)
        exactly_one = mode == "exactly_one"
        out = greedy_multidimensional(v, W, C, c, gid, exactly_one)
        opt = brute_force(v, W, C, c, gid, exactly_one)
        assert_sandwich(out, v, opt)
        if out.bound_kind == "infeasible":
            assert opt == -math.inf and out.take is None
            continue
        assert out.bound_kind == "lp"
        if out.take is not None:
            solved += 1
            assert_feasible(out.take, v, W, C, c, gid, exactly_one)
        if mode == "plain":
            assert out.take is not None
            capped = c.astype(float).copy()
            for r in range(m):
                pos = W[r] > 0
                capped[pos] = np.minimum(capped[pos], np.floor(C[r] / W[r, pos]))
            capped[v <= 0] = 0
            assert out.bound == pytest.approx(lp_value(v, W, C, capped), rel=1e-6, abs=1e-6)
    assert solved > 50


def test_multidimensional_group_lp_matches_linprog():
    """The bound equals the selector LP (x_i <= c'_i y_i, sum_g y <= 1) built independently."""
    rng = np.random.default_rng(10)
    for _ in range(30):
        n, m = 8, 2
        v, W = rng.random(n) * 10, rng.random((m, n)) * 5
        C = rng.random(m) * 10 + 2
        c = rng.integers(1, 4, n)
        gid = rng.integers(0, 3, n)
        out = greedy_multidimensional(v, W, C, c, gid)
        cap = c.astype(float)
        for r in range(m):
            cap = np.minimum(cap, np.floor(C[r] / W[r]))
        groups = np.unique(gid)
        # variables [x, y]
        A = np.hstack([W, np.zeros((m, n))])
        link = np.hstack([np.eye(n), -np.diag(cap)])
        grp = np.hstack([np.zeros((len(groups), n)), (gid[None, :] == groups[:, None]).astype(float)])
        res = linprog(
            -np.r_[v, np.zeros(n)],
            A_ub=np.vstack([A, link, grp]),
            b_ub=np.r_[C, np.zeros(n), np.ones(len(groups))],
            bounds=[(0, u) for u in cap] + [(0, 1 if u > 0 else 0) for u in cap],
        )
        assert out.bound == pytest.approx(-res.fun, rel=1e-6, abs=1e-6)


def test_multidimensional_edge_cases():
    out = greedy_multidimensional([3.0, 2.0, 4.0], [[1, 2, 3], [2, 1, 1]], [3, 3], groups=[0, 0, 1], exactly_one=True)
    assert out.take is None and out.bound_kind == "infeasible" and out.bound == 0.0
    out = greedy_multidimensional([5.0], [1.0], [0.5])  # a 1-D weight vector is one resource
    assert list(out.take) == [0] and out.bound == 0.0
    with pytest.raises(ValueError):
        greedy_multidimensional([1.0], [[1.0]], [1.0], exactly_one=True)  # exactly_one without groups
    with pytest.raises(ValueError):
        greedy_multidimensional([1.0], [[1.0], [1.0]], [1.0])  # capacities of the wrong length


def _reference_add(take, used, order, Wt, C, cap, gid, chosen, grouped):
    """Item-by-item version of the vectorised add pass."""
    for i in order.tolist():
        if take[i] >= cap[i] or (grouped and chosen[gid[i]] not in (-1, i)):
            continue
        room = C - used
        nz = Wt[i] > 0
        k = int(cap[i] - take[i])
        if np.any(nz):
            k = min(k, int(np.min(np.floor(room[nz] / Wt[i][nz]))))
        if k >= 1:
            take[i] += k
            used = used + k * Wt[i]
            if grouped:
                chosen[gid[i]] = i
    return used


@pytest.mark.parametrize("budget", ["rounds", "item_by_item"])
def test_vectorised_add_pass_is_the_sequential_greedy(monkeypatch, budget):
    import allocopt.solvers.knapsack_greedy as kg

    if budget == "item_by_item":  # exhaust the scan budget at once: the fallback loop does all the work
        monkeypatch.setattr(kg, "_SCAN_BUDGET_MIN", 0)
        monkeypatch.setattr(kg, "_SCAN_BUDGET_PER_ITEM", 0)
    rng = np.random.default_rng(11)
    for trial in range(300):
        n, m = int(rng.integers(1, 30)), int(rng.integers(1, 4))
        Wt = rng.integers(0, 6, (n, m)).astype(float)
        C = rng.integers(0, 40, m).astype(float)
        cap = rng.integers(0, 4, n)
        grouped = trial % 2 == 1
        gid = rng.integers(0, max(1, n // 3), n) if grouped else np.full(n, -1)
        n_groups = int(gid.max()) + 1 if grouped else 0
        take = np.zeros(n, dtype=np.int64)
        chosen = np.full(n_groups, -1, dtype=np.int64)
        if grouped and trial % 4 == 1:  # a partial start, as after LP rounding
            i = int(rng.integers(n))
            if cap[i] > 0 and np.all(Wt[i] <= C):
                take[i], chosen[gid[i]] = 1, i
        order = rng.permutation(n)
        used0 = Wt.T @ take
        t1, c1 = take.copy(), chosen.copy()
        u1 = kg._md_add_in_order(t1, used0.copy(), order, Wt, C, cap, gid, c1, grouped)
        t2, c2 = take.copy(), chosen.copy()
        u2 = _reference_add(t2, used0.copy(), order, Wt, C, cap, gid, c2, grouped)
        assert np.array_equal(t1, t2) and np.array_equal(c1, c2)
        assert np.allclose(u1, u2) and np.all(u1 <= C + 1e-9)
