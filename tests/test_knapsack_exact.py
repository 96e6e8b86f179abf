"""Tests of the exact one-resource knapsack algorithms (allocopt.solvers.knapsack_exact, knapsack_hard).

Every answer is checked for feasibility and for the optimal value, found independently by brute-force
enumeration (tiny instances, integral and real-valued data; Python integers near 2^53) or by a dense numpy
DP over the capacity (medium integral instances, including strongly correlated and Jooken-like ones). The
0/1 searches are checked with state budgets cut so that each one decides (expanding core, feasible-states
DP, table branch and bound), and stopped by the clock in each: the incumbent stays feasible and the bound
at least the optimum (combo's, for Jooken et al.'s instance).
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from conftest import INSTANCES
from hypothesis import given, settings
from hypothesis import strategies as st

import allocopt.solvers.knapsack_exact as kx
from allocopt.solvers.knapsack_exact import solve_01, solve_bounded, solve_multiple_choice

RTOL = 1e-9


def close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * max(1.0, abs(a), abs(b))


def fits(w: np.ndarray, x: np.ndarray, cap: float) -> bool:
    return float(w @ x) <= cap * (1 + 1e-12) + 1e-12


# --------------------------------------------------------------------------------------------------
# Independent reference solvers
# --------------------------------------------------------------------------------------------------


def brute_bounded(v, w, copies, cap) -> float:
    best = 0.0
    for x in itertools.product(*[range(int(c) + 1) for c in copies]):
        x = np.array(x, dtype=float)
        if x @ w <= cap:
            best = max(best, float(x @ v))
    return best


def mc_options(v, w, groups, copies, exactly_one):
    """Per group the list of (weight, value) options; None stands for taking nothing."""
    opts = {}
    for i, g in enumerate(groups.tolist()):
        opts.setdefault(g, [] if exactly_one else [None])
        opts[g].extend((k * w[i], k * v[i]) for k in range(1, int(copies[i]) + 1))
    return list(opts.values())


def brute_mc(v, w, groups, cap, exactly_one, copies) -> float | None:
    best = None
    for combo in itertools.product(*mc_options(v, w, groups, copies, exactly_one)):
        taken = [o for o in combo if o is not None]
        weight = sum(o[0] for o in taken)
        value = sum(o[1] for o in taken)
        if weight <= cap and (best is None or value > best):
            best = value
    return best


def dp_01(v, w, cap) -> int:
    """Dense DP over integer capacities: best[c] = best value with weight <= c."""
    best = np.zeros(int(cap) + 1, dtype=np.int64)
    for vi, wi in zip(v.astype(np.int64), w.astype(np.int64), strict=True):
        if wi <= cap:
            best[wi:] = np.maximum(best[wi:], best[: len(best) - wi] + vi)
    return int(best[-1])


def dp_mc(v, w, groups, cap, exactly_one, copies) -> int | None:
    neg = np.iinfo(np.int64).min // 4
    best = np.zeros(int(cap) + 1, dtype=np.int64)
    for options in mc_options(v, w, groups, copies, exactly_one):
        new = np.full_like(best, neg)
        for o in options:
            if o is None:
                new = np.maximum(new, best)
                continue
            wo, vo = int(o[0]), int(o[1])
            if wo <= cap:
                new[wo:] = np.maximum(new[wo:], best[: len(best) - wo] + vo)
        best = new
    return None if best[-1] < neg // 2 else int(best[-1])


def check_mc(v, w, groups, cap, exactly_one, copies, counts):
    """Feasibility of a multiple-choice answer; returns its value."""
    assert counts.dtype == np.int64
    assert np.all(counts >= 0) and np.all(counts <= copies)
    assert fits(w, counts, cap)
    for g in np.unique(groups):
        nz = np.count_nonzero(counts[groups == g])
        assert nz == 1 if exactly_one else nz <= 1
    return float(v @ counts)


def random_data(rng, n, integral, lo=0, hi=20):
    if integral:
        return rng.integers(lo, hi, n).astype(float), rng.integers(lo, hi, n).astype(float)
    return rng.random(n) * hi, rng.random(n) * hi


# --------------------------------------------------------------------------------------------------
# 0/1
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("integral", [True, False])
def test_01_brute_force(integral):
    rng = np.random.default_rng(1 if integral else 2)
    for _ in range(250):
        n = int(rng.integers(0, 11))
        v, w = random_data(rng, n, integral)
        if rng.random() < 0.2:
            w[rng.random(n) < 0.3] = 0
        cap = float(rng.integers(0, 60)) if integral else float(rng.random() * 50)
        x = solve_01(v, w, cap)
        assert x.dtype == np.int64 and x.shape == (n,) and set(np.unique(x)) <= {0, 1}
        assert fits(w, x, cap)
        assert close(float(v @ x), brute_bounded(v, w, np.ones(n), cap))


@pytest.mark.parametrize("thresholds", [(0, 0), (1, 3)])
def test_01_brute_force_with_relaxation_and_pairing(monkeypatch, thresholds):
    """Force the cardinality bound and the pairing heuristic on from the first state."""
    monkeypatch.setattr(kx, "_RELAX_STATES", thresholds[0])
    monkeypatch.setattr(kx, "_PAIR_STATES", thresholds[1])
    rng = np.random.default_rng(3)
    for it in range(250):
        n = int(rng.integers(1, 12))
        w = rng.integers(1, 30, n).astype(float)
        if it % 3 == 0:
            v = w + 5  # strongly correlated
        elif it % 3 == 1:
            v = np.maximum(1, w + rng.integers(-3, 4, n)).astype(float)
        else:
            w = rng.random(n) * 30 + 0.1
            v = w + 3.0
        cap = float(rng.integers(0, 120)) + (0.5 if it % 5 == 0 else 0.0)
        x = solve_01(v, w, cap)
        assert fits(w, x, cap)
        assert close(float(v @ x), brute_bounded(v, w, np.ones(n), cap))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=0, max_size=9),
    st.integers(0, 120),
)
def test_01_hypothesis(items, cap):
    v = np.array([p for p, _ in items], dtype=float)
    w = np.array([q for _, q in items], dtype=float)
    x = solve_01(v, w, cap)
    assert fits(w, x, cap)
    assert close(float(v @ x), brute_bounded(v, w, np.ones(len(items)), cap))


@pytest.mark.parametrize("kind", ["uncorrelated", "weak", "strong", "inverse_strong", "subset_sum", "even"])
def test_01_against_dense_dp(kind, monkeypatch):
    rng = np.random.default_rng(abs(hash(kind)) % 2**32)
    for rep in range(6):
        # Every other instance exercises the cardinality bound and the pairing heuristic.
        monkeypatch.setattr(kx, "_RELAX_STATES", 0 if rep % 2 else 1000)
        monkeypatch.setattr(kx, "_PAIR_STATES", 0 if rep % 2 else 2000)
        n, r = 200, 100  # capacity about 5,000
        w = rng.integers(1, r + 1, n).astype(float)
        if kind == "uncorrelated":
            v = rng.integers(1, r + 1, n).astype(float)
        elif kind == "weak":
            v = np.maximum(1, w + rng.integers(-r // 10, r // 10 + 1, n)).astype(float)
        elif kind == "strong":
            v = w + r // 10
        elif kind == "inverse_strong":
            v, w = w.copy(), w + r // 10
        elif kind == "subset_sum":
            v = w.copy()
        else:  # even weights, odd capacity: the optimum cannot fill the knapsack
            w = 2 * w
            v = w + r // 10
        cap = float(int(w.sum()) // 2 + (1 if kind == "even" else 0))
        x = solve_01(v, w, cap)
        assert fits(w, x, cap)
        assert float(v @ x) == dp_01(v, w, cap)


def test_01_edge_cases():
    empty = np.zeros(0)
    assert solve_01(empty, empty, 5.0).shape == (0,)
    # capacity 0: only zero-weight items with positive value
    x = solve_01(np.array([3.0, 0.0, 2.0]), np.array([0.0, 0.0, 1.0]), 0.0)
    assert x.tolist() == [1, 0, 0]
    # all too heavy
    assert solve_01(np.array([5.0, 6.0]), np.array([10.0, 11.0]), 9.0).tolist() == [0, 0]
    # everything fits
    assert solve_01(np.array([5.0, 6.0]), np.array([4.0, 5.0]), 9.0).tolist() == [1, 1]
    # a single item exactly at capacity
    assert solve_01(np.array([1.0, 7.0]), np.array([3.0, 9.0]), 9.0).tolist() == [0, 1]
    # ints and lists are accepted
    assert solve_01([3, 4, 5], [2, 3, 4], 5).tolist() == [1, 1, 0]
    with pytest.raises(ValueError):
        solve_01(np.array([1.0, -1.0]), np.array([1.0, 1.0]), 1.0)
    with pytest.raises(ValueError):
        solve_01(np.array([1.0, np.nan]), np.array([1.0, 1.0]), 1.0)
    with pytest.raises(ValueError):
        solve_01(np.array([1.0]), np.array([1.0, 1.0]), 1.0)
    with pytest.raises(ValueError):
        solve_01(np.array([1.0]), np.array([1.0]), -1.0)


def test_01_large_strongly_correlated_is_fast_and_sound():
    """n = 10,000, coefficients up to 10^6: finishes (the cardinality bound is reached) and is
    at least as good as the greedy solution and within the Dantzig bound."""
    rng = np.random.default_rng(7)
    n, r = 10_000, 10**6
    w = rng.integers(1, r + 1, n).astype(float)
    v = w + r // 10
    cap = float(w.sum() // 2)
    x = solve_01(v, w, cap)
    assert fits(w, x, cap)
    order = np.argsort(-(v / w), kind="stable")
    cw = np.cumsum(w[order])
    b = int(np.searchsorted(cw, cap, side="right"))
    dantzig = v[order][:b].sum() + (cap - cw[b - 1]) * v[order][b] / w[order][b]
    # with v = w + K, the best possible is K * (max cardinality) + capacity
    assert float(v @ x) <= dantzig
    assert float(v @ x) == (r // 10) * b + cap


# --------------------------------------------------------------------------------------------------
# bounded
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("integral", [True, False])
def test_bounded_brute_force(integral):
    rng = np.random.default_rng(11 if integral else 12)
    for _ in range(250):
        n = int(rng.integers(0, 6))
        v, w = random_data(rng, n, integral)
        copies = rng.integers(0, 4, n)
        cap = float(rng.integers(0, 60)) if integral else float(rng.random() * 50)
        x = solve_bounded(v, w, copies, cap)
        assert x.dtype == np.int64 and np.all(x >= 0) and np.all(x <= copies)
        assert fits(w, x, cap)
        assert close(float(v @ x), brute_bounded(v, w, copies, cap))


def test_bounded_against_dense_dp():
    rng = np.random.default_rng(13)
    for rep in range(6):
        n = 200
        w = rng.integers(1, 51, n).astype(float)
        v = w + 5 if rep % 2 else rng.integers(1, 51, n).astype(float)
        copies = rng.integers(0, 6, n)
        cap = float(int(w @ copies) // 3)
        x = solve_bounded(v, w, copies, cap)
        assert np.all(x <= copies) and fits(w, x, cap)
        expanded = np.repeat(np.arange(n), copies)
        assert float(v @ x) == dp_01(v[expanded], w[expanded], cap)


def test_bounded_edge_cases():
    empty = np.zeros(0)
    assert solve_bounded(empty, empty, np.zeros(0, np.int64), 3.0).shape == (0,)
    # zero weight: all copies; huge copies are capped by the capacity
    x = solve_bounded(np.array([2.0, 3.0, 1.0]), np.array([0.0, 2.0, 5.0]), np.array([4, 10**12, 3]), 11.0)
    assert x.tolist() == [4, 5, 0]
    # copies 0 and zero values are never taken
    x = solve_bounded(np.array([9.0, 0.0]), np.array([1.0, 1.0]), np.array([0, 5]), 10.0)
    assert x.tolist() == [0, 0]
    with pytest.raises(ValueError):
        solve_bounded(np.array([1.0]), np.array([1.0]), np.array([-1]), 1.0)
    with pytest.raises(ValueError):
        solve_bounded(np.array([1.0]), np.array([1.0]), np.array([1.5]), 1.0)


# --------------------------------------------------------------------------------------------------
# multiple choice
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("exactly_one", [False, True])
@pytest.mark.parametrize("integral", [True, False])
def test_multiple_choice_brute_force(exactly_one, integral):
    rng = np.random.default_rng(21 + 2 * exactly_one + integral)
    infeasible_seen = 0
    for it in range(250):
        n = int(rng.integers(0, 9))
        v, w = random_data(rng, n, integral)
        if rng.random() < 0.2:
            w[rng.random(n) < 0.3] = 0
        groups = rng.integers(0, 4, n) * 7 - 5  # arbitrary, non-contiguous labels
        copies = rng.integers(0, 3, n) if it % 2 else None
        cc = np.ones(n, np.int64) if copies is None else copies
        cap = float(rng.integers(0, 40)) if integral else float(rng.random() * 35)
        counts = solve_multiple_choice(v, w, groups, cap, exactly_one, copies)
        ref = brute_mc(v, w, groups, cap, exactly_one, cc)
        if ref is None:
            infeasible_seen += 1
            assert counts is None
            continue
        assert counts is not None
        assert close(check_mc(v, w, groups, cap, exactly_one, cc, counts), ref)
    if exactly_one:
        assert infeasible_seen > 5


@pytest.mark.parametrize("exactly_one", [False, True])
def test_multiple_choice_against_dense_dp(exactly_one):
    rng = np.random.default_rng(31 + exactly_one)
    for rep in range(4):
        n_groups, per = 40, 5
        n = n_groups * per
        groups = np.repeat(np.arange(n_groups), per)
        w = rng.integers(1, 60, n).astype(float)
        v = w + 6 if rep % 2 else rng.integers(1, 60, n).astype(float)
        copies = rng.integers(1, 4, n) if rep >= 2 else np.ones(n, np.int64)
        cap = float(30 * n_groups)
        counts = solve_multiple_choice(v, w, groups, cap, exactly_one, copies)
        ref = dp_mc(v, w, groups, cap, exactly_one, copies)
        assert ref is not None and counts is not None
        assert check_mc(v, w, groups, cap, exactly_one, copies, counts) == ref


def test_multiple_choice_edge_cases():
    empty = np.zeros(0)
    for exactly_one in (False, True):
        out = solve_multiple_choice(empty, empty, np.zeros(0, np.int64), 4.0, exactly_one)
        assert out is not None and out.shape == (0,)
    v = np.array([5.0, 4.0, 3.0, 1.0])
    w = np.array([10.0, 3.0, 0.0, 20.0])
    g = np.array([0, 0, 1, 2])
    # group 2 only has an item heavier than the capacity
    assert solve_multiple_choice(v, w, g, 9.0, exactly_one=True) is None
    assert solve_multiple_choice(v, w, g, 9.0, exactly_one=False).tolist() == [0, 1, 1, 0]
    # zero weight item with copies: all copies taken
    assert solve_multiple_choice(v, w, g, 9.0, False, copies=np.array([1, 2, 5, 1])).tolist() == [0, 2, 5, 0]
    # capacity 0, exactly one: feasible only through zero-weight items
    assert solve_multiple_choice(v[2:3], w[2:3], g[2:3], 0.0, True).tolist() == [1]
    assert solve_multiple_choice(v[:2], w[:2], g[:2], 0.0, True) is None
    # exactly one forces a zero-value item
    assert solve_multiple_choice(np.array([0.0]), np.array([1.0]), np.array([3]), 1.0, True).tolist() == [1]
    # copies 0 makes an item unusable, so exactly one may become infeasible
    assert solve_multiple_choice(np.array([1.0]), np.array([1.0]), np.array([0]), 5.0, True, np.array([0])) is None
    with pytest.raises(ValueError):
        solve_multiple_choice(v, w, g[:2], 9.0, False)


def test_multiple_choice_medium_is_fast():
    """300 groups x 20 items, real-valued, must finish and be feasible (speed smoke test)."""
    rng = np.random.default_rng(41)
    n_groups, per = 300, 20
    n = n_groups * per
    groups = np.repeat(np.arange(n_groups), per)
    w = rng.random(n) * 100
    v = w + rng.random(n) * 20
    for exactly_one in (False, True):
        counts = solve_multiple_choice(v, w, groups, 40.0 * n_groups, exactly_one)
        assert counts is not None
        check_mc(v, w, groups, 40.0 * n_groups, exactly_one, np.ones(n, np.int64), counts)


# --------------------------------------------------------------------------------------------------
# internals: bounded cardinality bound, LP-integral shortcut, state limit
# --------------------------------------------------------------------------------------------------


def test_bounded_brute_force_with_relaxation_and_pairing(monkeypatch):
    """Strongly correlated bounded data exercise the copies-weighted cardinality bound."""
    monkeypatch.setattr(kx, "_RELAX_STATES", 0)
    monkeypatch.setattr(kx, "_PAIR_STATES", 0)
    rng = np.random.default_rng(51)
    for it in range(200):
        n = int(rng.integers(1, 5))
        w = rng.integers(1, 20, n).astype(float) if it % 2 else rng.random(n) * 20 + 0.5
        v = w + 4.0
        copies = rng.integers(1, 5, n)
        cap = float(rng.integers(0, 80))
        x = solve_bounded(v, w, copies, cap)
        assert np.all(x <= copies) and fits(w, x, cap)
        assert close(float(v @ x), brute_bounded(v, w, copies, cap))


def test_multiple_choice_lp_integral_shortcut():
    """When every group's best option fits together, that is the answer."""
    v = np.array([1.0, 5.0, 2.0, 7.0, 3.0])
    w = np.array([1.0, 4.0, 1.0, 6.0, 2.0])
    g = np.array([0, 0, 1, 1, 2])
    for exactly_one in (False, True):
        assert solve_multiple_choice(v, w, g, 12.0, exactly_one).tolist() == [0, 1, 0, 1, 1]


def test_multiple_choice_state_limit_raises(monkeypatch):
    monkeypatch.setattr(kx, "_MAX_STATES", 2)
    rng = np.random.default_rng(61)
    w = rng.integers(1, 1000, 300).astype(float)
    groups = np.repeat(np.arange(30), 10)
    with pytest.raises(kx.StateLimitError):
        solve_multiple_choice(w + 100, w, groups, float(w.sum() // 20), exactly_one=True)


# --------------------------------------------------------------------------------------------------
# 0/1 beyond the core: feasible-states DP, table branch and bound, time limits, int64
# --------------------------------------------------------------------------------------------------

# (core budget, feasible-states budget) that make each phase decide.
PHASES = {"core": (10**6, 5 * 10**6), "forward": (1, 5 * 10**6), "table": (1, 4)}


def groups_instance(rng, n, cap, eps=0.0, noise=20):
    """Jooken-like: items of weight and profit about (2^-j + eps) cap plus noise, and small ones."""
    j = rng.integers(1, 6, n)
    base = np.floor((2.0**-j + eps) * cap)
    v = base + rng.integers(1, noise + 1, n)
    w = base + rng.integers(1, noise + 1, n)
    small = rng.random(n) < 0.2
    v[small] = rng.integers(1, noise + 1, small.sum())
    w[small] = rng.integers(1, noise + 1, small.sum())
    return v.astype(float), w.astype(float)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=0, max_size=11),
    st.integers(0, 200),
    st.integers(1, 6),
    st.integers(1, 12),
)
def test_01_any_state_budget_against_brute_force(items, cap, core, most):
    """Whatever the budgets, the phases together are exact: the core hands over to the feasible-states
    DP, which hands over to the table branch and bound."""
    v = np.array([p for p, _ in items], dtype=float)
    w = np.array([q for _, q in items], dtype=float)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kx, "_CORE_STATES", core)
        mp.setattr(kx, "_MAX_STATES", most)
        run = kx.knapsack_01(v, w, cap)
    assert run.optimal and fits(w, run.x, cap)
    best = brute_bounded(v, w, np.ones(len(items)), cap)
    assert run.value == best == run.bound


@pytest.mark.parametrize("phase", list(PHASES))
def test_01_each_phase_against_dense_dp(phase, monkeypatch):
    core, most = PHASES[phase]
    monkeypatch.setattr(kx, "_CORE_STATES", core)
    monkeypatch.setattr(kx, "_MAX_STATES", most)
    rng = np.random.default_rng(71)
    seen = set()
    for rep in range(8):
        n = 24 if phase == "table" else 120
        if rep % 2:
            v, w = groups_instance(rng, n, 3000, eps=0.002 * (rep % 3))
            cap = 3000.0
        else:
            w = rng.integers(1, 100, n).astype(float)
            v = w + 10 if rep % 4 == 0 else rng.integers(1, 100, n).astype(float)
            cap = float(w.sum() // 2)
        run = kx.knapsack_01(v, w, cap)
        seen.add(run.phase)
        assert run.optimal and fits(w, run.x, cap)
        assert run.value == run.bound == dp_01(v, w, cap)
    assert phase in seen


# Jooken et al.'s instance that the core alone cannot hold: ~0.6 s in the core (to its budget of 10^6
# states), ~0.1 s in the feasible-states DP, and endless in the table branch and bound with a 50-state
# table. Its optimum, found by Pisinger's combo, is the reference.
HARD = INSTANCES / "knapsack" / "jooken-2022" / "n_400_c_100000000_g_10_f_0.1_eps_0_s_200.json"
HARD_OPTIMUM = 99824544


@pytest.mark.parametrize(
    ("phase", "core", "most", "seconds"),
    [("core", 10**7, 10**7, 0.05), ("forward", 50, 10**7, 0.01), ("table", 50, 50, 0.05)],
)
def test_01_time_limit_in_each_phase(phase, core, most, seconds, monkeypatch):
    """Stopped by the clock in each phase: the incumbent is feasible and the bound at least the optimum."""
    monkeypatch.setattr(kx, "_CORE_STATES", core)
    monkeypatch.setattr(kx, "_MAX_STATES", most)
    data = json.loads(HARD.read_text())["data"]
    v, w, cap = np.array(data["values"], float), np.array(data["weights"], float), float(data["capacity"])
    run = kx.knapsack_01(v, w, cap, time_limit=seconds)
    assert not run.optimal and run.phase == phase
    assert fits(w, run.x, cap) and run.value == float(v @ run.x)
    assert run.value <= HARD_OPTIMUM <= run.bound


def test_01_integral_data_up_to_2_53_is_exact():
    """Coefficients near 2^53: sums overflow float64's integers, the int64 search is still exact
    (checked in Python integers)."""
    rng = np.random.default_rng(91)
    top = 2**53
    for rep in range(30):
        n = int(rng.integers(2, 12))
        w = [int(x) for x in rng.integers(top // 8, top // 2, n)]
        v = [wi + int(x) for wi, x in zip(w, rng.integers(-1000, 1000, n), strict=True)]
        if rep % 3 == 0:
            v = [wi + 7 for wi in w]  # strongly correlated: ties broken only by the last units
        cap = sum(w) // 2 + int(rng.integers(0, 1000))
        cap = min(cap, top)
        best = 0
        for mask in range(1 << n):
            ws = sum(w[i] for i in range(n) if mask >> i & 1)
            if ws <= cap:
                best = max(best, sum(v[i] for i in range(n) if mask >> i & 1))
        x = solve_01(np.array(v, float), np.array(w, float), float(cap)).tolist()
        assert sum(wi * xi for wi, xi in zip(w, x, strict=True)) <= cap
        assert sum(vi * xi for vi, xi in zip(v, x, strict=True)) == best


def test_01_profit_gcd_and_large_gaps():
    """Profits sharing a factor (Pisinger's pceil: 3 ceil(w / 3)) are solved by bounds on multiples of it."""
    rng = np.random.default_rng(93)
    w = rng.integers(1, 10**6, 300).astype(float)
    v = 3 * np.ceil(w / 3)
    cap = float(w.sum() // 3)
    run = kx.knapsack_01(v, w, cap, time_limit=30)
    assert run.optimal and fits(w, run.x, cap) and run.value % 3 == 0
    # Certified independently on a scaled copy small enough for the dense DP.
    ws = np.ceil(w / 1000)
    run2 = kx.knapsack_01(3 * np.ceil(ws / 3), ws, float(ws.sum() // 3))
    assert run2.value == dp_01(3 * np.ceil(ws / 3), ws, float(ws.sum() // 3))


@pytest.mark.parametrize("phase", list(PHASES))
def test_bounded_each_phase_against_dense_dp(phase, monkeypatch):
    core, most = PHASES[phase]
    monkeypatch.setattr(kx, "_CORE_STATES", core)
    monkeypatch.setattr(kx, "_MAX_STATES", most)
    rng = np.random.default_rng(101)
    for rep in range(4):
        n = 8 if phase == "table" else 40
        w = rng.integers(1, 51, n).astype(float)
        v = w + 5 if rep % 2 else rng.integers(1, 51, n).astype(float)
        copies = rng.integers(0, 4, n)
        cap = float(int(w @ copies) // 3)
        run = kx.knapsack_bounded(v, w, copies, cap)
        assert run.optimal and np.all(run.x <= copies) and fits(w, run.x, cap)
        expanded = np.repeat(np.arange(n), copies)
        assert run.value == run.bound == dp_01(v[expanded], w[expanded], cap)
