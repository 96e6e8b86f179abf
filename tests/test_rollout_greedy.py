"""Exactness of the rollout-allocation greedy against brute force and an independent DP."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from allocopt.errors import DataError
from allocopt.solvers.rollout_greedy import VALUES, allocate_rollouts, rollout_value

P_SET = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 1.0])
TOL = 1e-12


def objective(k, p, w, value):
    return float(np.sum(w * rollout_value(k, p, value)))


def value_table(p, w, lo, hi, value):
    """(n, hi - lo + 1) table of w_i f(k, p_i) for k = lo..hi."""
    ks = np.arange(lo, hi + 1)
    rows = [wi * rollout_value(ks, np.full(ks.shape, pi), value) for pi, wi in zip(p, w, strict=True)]
    return np.array(rows)


def brute_force(p, budget, lo, hi, value, w):
    n = len(p)
    if n * lo > budget:
        return None
    if n == 0:
        return 0.0
    hi = min(hi, budget)
    table = value_table(p, w, lo, hi, value)
    m = hi - lo + 1
    grid = np.indices((m,) * n).reshape(n, -1)
    total = grid.sum(axis=0) + n * lo
    vals = table[np.arange(n)[:, None], grid].sum(axis=0)
    return float(vals[total <= budget].max())


def dp_optimum(p, budget, lo, hi, value, w):
    """Independent exact DP over the budget: dp[b] = best value of the tasks so far using <= b rollouts."""
    n = len(p)
    if n * lo > budget:
        return None
    hi = min(hi, budget)
    table = value_table(p, w, lo, hi, value)
    dp = np.zeros(budget + 1)
    for i in range(n):
        new = np.full(budget + 1, -np.inf)
        for k in range(lo, hi + 1):
            new[k:] = np.maximum(new[k:], dp[: budget + 1 - k] + table[i, k - lo])
        dp = new
    return float(dp[budget])


def check_solution(k, p, budget, lo, hi, value, w):
    """Feasibility, integrality and 'no budget given away for nothing'."""
    n = len(p)
    assert k is not None
    assert k.dtype == np.int64 and k.shape == (n,)
    assert k.sum() <= budget
    assert np.all(k >= lo) and np.all(k <= hi)
    if k.sum() < budget:
        room = k < hi
        gains = w * (rollout_value(k + 1, p, value) - rollout_value(k, p, value))
        assert np.all(gains[room] <= TOL), (k, gains)


def run_case(p, budget, lo, hi, value, w, reference):
    k = allocate_rollouts(p, budget, min_rollouts=lo, max_rollouts=hi, value=value, weights=w)
    h = max(budget, lo) if hi is None else hi
    best = reference(p, budget, lo, h, value, w)
    if best is None:
        assert k is None
        return
    check_solution(k, p, budget, lo, h, value, w)
    got = objective(k, p, w, value)
    assert got == pytest.approx(best, abs=1e-9), (p, w, budget, lo, hi, value, k, got, best)


# --------------------------------------------------------------------------- brute force, tiny instances


@pytest.mark.parametrize("value", VALUES)
def test_all_pairs_from_tie_set(value):
    """Every pair of rates from the tie-prone set, every budget <= 8, several bounds."""
    for p0, p1 in itertools.product(P_SET, repeat=2):
        p = np.array([p0, p1])
        w = np.ones(2)
        for budget in range(9):
            for lo in (0, 1, 2):
                for hi in (1, 2, 3, None):
                    if hi is not None and hi < lo:
                        continue
                    run_case(p, budget, lo, hi, value, w, brute_force)


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("seed", range(4))
def test_random_tiny_vs_brute_force(value, seed):
    rng = np.random.default_rng(seed)
    for _ in range(400):
        n = int(rng.integers(0, 5))
        p = rng.choice(P_SET, size=n) if rng.random() < 0.7 else rng.random(n)
        w = rng.choice([0.0, 0.5, 1.0, 2.0], size=n) if rng.random() < 0.5 else np.ones(n)
        budget = int(rng.integers(0, 9))
        lo = int(rng.choice([0, 0, 0, 1, 2]))
        hi = rng.choice([None, 1, 2, 3, 4, 6, 10])
        hi = None if hi is None else max(int(hi), lo)
        run_case(p, budget, lo, hi, value, w, brute_force)


def test_many_equal_rates_ties():
    """All tasks alike: the hull greedy must end one task inside its block for many budgets."""
    for n in (1, 2, 3, 4):
        for pv in (0.1, 0.5, 0.75):
            for wv in (1.0, 3.0):
                p = np.full(n, pv)
                w = np.full(n, wv)
                for budget in range(9):
                    for hi in (2, 3, 4, None):
                        run_case(p, budget, 0, hi, "nonzero_gradient", w, brute_force)


# --------------------------------------------------------------------------- DP, moderate instances


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("seed", range(6))
def test_random_vs_dp(value, seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(15):
        n = int(rng.integers(20, 40))
        kind = rng.integers(3)
        if kind == 0:
            p = rng.random(n)
        elif kind == 1:
            p = rng.choice(P_SET, size=n)
        else:  # many near-equal slopes
            p = rng.choice([0.3, 0.5, 0.7], size=n)
        w = rng.choice([0.0, 1.0, 1.5, 4.0], size=n) if rng.random() < 0.5 else np.ones(n)
        budget = int(rng.integers(0, 130))
        lo = int(rng.choice([0, 0, 0, 1, 2, 3]))
        hi = rng.choice([None, 1, 2, 3, 5, 8, 20])
        hi = None if hi is None else max(int(hi), lo)
        run_case(p, budget, lo, hi, value, w, dp_optimum)


def test_odd_budgets_equal_rates_vs_dp():
    """Budgets that force a block split (B = 3m + 1) with identical tasks, n = 30."""
    for pv in (0.2, 0.5):
        p = np.full(30, pv)
        w = np.ones(30)
        for budget in (1, 4, 7, 31, 61, 88, 91, 94, 100):
            for hi in (2, 3, 4, None):
                run_case(p, budget, 0, hi, "nonzero_gradient", w, dp_optimum)


# --------------------------------------------------------------------------- edge cases and API


def test_edge_cases():
    assert allocate_rollouts(np.array([]), 0).shape == (0,)
    assert allocate_rollouts(np.array([]), 5, min_rollouts=3).shape == (0,)
    assert allocate_rollouts(np.array([0.5, 0.5]), 3, min_rollouts=2) is None
    assert allocate_rollouts(np.array([0.5]), 0, min_rollouts=1) is None
    np.testing.assert_array_equal(allocate_rollouts(np.array([0.5, 0.2]), 0), [0, 0])
    # one rollout for nonzero_gradient is worthless
    np.testing.assert_array_equal(allocate_rollouts(np.array([0.5]), 1), [0])
    np.testing.assert_array_equal(allocate_rollouts(np.array([0.5, 0.3]), 10, max_rollouts=1), [0, 0])
    # lower bounds are honoured even when worthless
    np.testing.assert_array_equal(allocate_rollouts(np.array([0.0, 1.0]), 5, min_rollouts=2), [2, 2])
    # budget larger than n * hi
    np.testing.assert_array_equal(allocate_rollouts(np.array([0.5, 0.4]), 100, max_rollouts=7), [7, 7])
    # pass_at_k: p = 1 gains on its first rollout only; p = 0 never
    np.testing.assert_array_equal(allocate_rollouts(np.array([1.0, 0.0]), 5, value="pass_at_k"), [1, 0])
    # identical tasks, odd budget: 2 + 2 + 3 beats 3 + 3 + 1
    k = allocate_rollouts(np.full(3, 0.5), 7)
    assert sorted(k.tolist()) == [2, 2, 3]
    # numpy integer arguments
    k = allocate_rollouts([0.5, 0.5], np.int64(4), min_rollouts=np.int32(0), max_rollouts=np.int64(3))
    np.testing.assert_array_equal(k, [2, 2])


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"success_rates": [0.5, 1.5], "budget": 3}, "success_rates[1]"),
        ({"success_rates": [np.nan], "budget": 3}, "success_rates[0]"),
        ({"success_rates": [[0.5]], "budget": 3}, "success_rates"),
        ({"success_rates": [0.5], "budget": -1}, "budget"),
        ({"success_rates": [0.5], "budget": 2.5}, "budget"),
        ({"success_rates": [0.5], "budget": True}, "budget"),
        ({"success_rates": [0.5], "budget": 3, "min_rollouts": 2, "max_rollouts": 1}, "max_rollouts"),
        ({"success_rates": [0.5], "budget": 3, "value": "mean"}, "value"),
        ({"success_rates": [0.5], "budget": 3, "weights": [1.0, 2.0]}, "weights"),
        ({"success_rates": [0.5], "budget": 3, "weights": [-1.0]}, "weights[0]"),
    ],
)
def test_validation(kwargs, where):
    with pytest.raises(DataError, match="data." + re.escape(where) + ":"):
        allocate_rollouts(**kwargs)


def test_larger_instance_sane():
    """n = 2000: the whole budget is used, and no single rollout moved between two tasks helps."""
    rng = np.random.default_rng(7)
    n, budget = 2000, 20001
    p = rng.random(n)
    for value in VALUES:
        k = allocate_rollouts(p, budget, value=value)
        assert k.sum() == budget
        f = rollout_value(k, p, value)
        up = rollout_value(k + 1, p, value) - f
        down = np.where(k > 0, f - rollout_value(np.maximum(k - 1, 0), p, value), np.inf)
        if value == "nonzero_gradient":
            up = np.where(k == 0, -np.inf, up)  # 0 -> 1 alone is worthless; 0 -> 2 checked below
            assert 2.0 * (p * (1 - p))[k == 0].max(initial=0.0) <= np.sort(down)[:2].sum() + 1e-12
        assert up.max() <= down.min() + 1e-12
