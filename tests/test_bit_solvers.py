"""Bit allocation solvers: hull greedy against brute force and an independent LP; water-filling against CVXPY."""

from __future__ import annotations

import itertools
import math

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import linprog

from allocopt.errors import DataError
from allocopt.solvers.bit_hull_greedy import HullGreedyOutcome, hull_greedy
from allocopt.solvers.water_filling import (
    BudgetInfeasible,
    fit_error_model,
    reverse_water_filling,
    round_and_repair,
)

TOL = 1e-9
LN2 = math.log(2.0)


# ----------------------------------------------------------------------------------------------------------
# instances and independent references
# ----------------------------------------------------------------------------------------------------------


def random_instance(rng: np.random.Generator, j_max: int = 4, k_max: int = 4, model: bool = False):
    """Sizes, offsets, bits and errors of a random instance (non-monotone errors unless ``model``)."""
    n = int(rng.integers(1, j_max + 1))
    counts = rng.integers(1, k_max + 1, size=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    grid = np.array([1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0])
    bits = np.concatenate([np.sort(rng.choice(grid, size=k, replace=False)) for k in counts])
    integral = rng.random() < 0.5
    sizes = rng.integers(1, 6, size=n).astype(np.float64) if integral else rng.uniform(0.5, 5.0, size=n)
    if model:
        a = rng.uniform(0.5, 20.0, size=n) * (rng.random(n) > 0.15)
        errors = np.repeat(a, counts) * np.exp2(-2.0 * bits)
    else:
        kind = rng.integers(3)
        if kind == 0:  # arbitrary, with ties and zeros
            errors = rng.choice([0.0, 0.25, 0.5, 1.0, 2.0], size=bits.shape[0])
        elif kind == 1:
            errors = rng.random(bits.shape[0])
        else:  # decreasing, mostly convex
            errors = np.concatenate([np.sort(rng.random(k))[::-1] ** 2 for k in counts])
    return sizes, offsets, bits, errors


def random_budget(rng: np.random.Generator, sizes, offsets, bits) -> float:
    """Anywhere from infeasible to slack, sometimes exactly a cost sum of some choice."""
    lo = float(sizes @ bits[offsets[:-1]])
    hi = float(sizes @ bits[offsets[1:] - 1])
    u = rng.random()
    if u < 0.1:
        return lo * rng.uniform(0.5, 1.0)
    if u < 0.35:  # the cost of a random choice: budgets landing on vertices
        pick = np.array([rng.integers(offsets[j], offsets[j + 1]) for j in range(sizes.shape[0])])
        return float(sizes @ bits[pick])
    return float(rng.uniform(lo, hi * 1.1))


def brute_force(sizes, offsets, bits, errors, total, min_bits=None):
    """(optimum, global choice) over every option combination; None when infeasible."""
    ranges = [range(offsets[j], offsets[j + 1]) for j in range(sizes.shape[0])]
    combos = np.array(list(itertools.product(*ranges)), dtype=np.int64).reshape(-1, sizes.shape[0])
    ok = (bits[combos] @ sizes) <= total + TOL * max(1.0, abs(total))
    if min_bits is not None:
        ok &= np.all(bits[combos] >= min_bits, axis=1)
    if not np.any(ok):
        return None
    values = errors[combos[ok]].sum(axis=1)
    i = int(np.argmin(values))
    return float(values[i]), combos[ok][i]


def lp_relaxation(sizes, offsets, bits, errors, total, min_bits=None) -> float | None:
    """LP of the MCKP (x_jk in [0, 1], sum_k x_jk = 1, sum s b x <= T) with scipy's HiGHS; None if infeasible."""
    n = sizes.shape[0]
    unit = np.repeat(np.arange(n), np.diff(offsets))
    allowed = np.ones(bits.shape[0], dtype=bool) if min_bits is None else bits >= min_bits
    if not np.all(np.bincount(unit[allowed], minlength=n) > 0):
        return None
    idx = np.flatnonzero(allowed)
    a_eq = (unit[idx][None, :] == np.arange(n)[:, None]).astype(np.float64)
    a_ub = (sizes[unit[idx]] * bits[idx])[None, :]
    res = linprog(errors[idx], A_ub=a_ub, b_ub=[total], A_eq=a_eq, b_eq=np.ones(n), bounds=(0.0, 1.0), method="highs")
    if res.status == 2:
        return None
    assert res.status == 0, res.message
    return float(res.fun)


def assert_choice_valid(choice, sizes, offsets, bits, total, min_bits=None) -> np.ndarray:
    """Local indices in range, budget (as ``sizes @ bits``, no tolerance) and floor respected; global indices."""
    n = sizes.shape[0]
    assert choice is not None
    assert choice.dtype == np.int64 and choice.shape == (n,)
    assert np.all(choice >= 0) and np.all(choice < np.diff(offsets))
    g = offsets[:-1] + choice
    assert float(sizes @ bits[g]) <= total
    if min_bits is not None:
        assert np.all(bits[g] >= min_bits)
    return g


def close(x: float, y: float, rel: float = 1e-9) -> bool:
    return abs(x - y) <= rel * max(1.0, abs(x), abs(y))


# ----------------------------------------------------------------------------------------------------------
# hull greedy
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_hull_greedy_vs_brute_force_and_lp(seed):
    rng = np.random.default_rng(seed)
    n_exact = 0
    for _ in range(300):
        sizes, offsets, bits, errors = random_instance(rng)
        total = random_budget(rng, sizes, offsets, bits)
        min_bits = None if rng.random() < 0.5 else float(rng.choice([1.5, 2.0, 3.0, 5.0, 9.0]))
        out = hull_greedy(sizes, offsets, bits, errors, total, min_bits)
        ref = brute_force(sizes, offsets, bits, errors, total, min_bits)
        lp = lp_relaxation(sizes, offsets, bits, errors, total, min_bits)
        if ref is None:
            assert out.choice is None and out.error is None and out.lower_bound is None and not out.exact
            continue
        opt = ref[0]
        assert out.choice is not None
        g = assert_choice_valid(out.choice, sizes, offsets, bits, total, min_bits)
        assert out.error == pytest.approx(float(errors[g].sum()), rel=1e-12, abs=1e-12)
        assert out.error >= opt - TOL * max(1.0, opt)
        assert opt >= out.lower_bound - TOL * max(1.0, opt)
        assert lp is not None
        assert close(out.lower_bound, lp, 1e-7), (out.lower_bound, lp)
        if out.exact:
            n_exact += 1
            assert close(out.error, opt) and out.lower_bound == out.error
    assert n_exact > 50  # budgets on cost sums and slack budgets make many runs provably optimal


def test_hull_greedy_exact_on_vertices():
    """Budgets equal to the cost of a greedy prefix land on hull points: provably optimal."""
    sizes = np.array([2.0, 1.0, 3.0])
    offsets = np.array([0, 4, 7, 10])
    bits = np.array([2.0, 3.0, 4.0, 8.0, 2.0, 4.0, 8.0, 1.0, 2.0, 4.0])
    errors = np.array([8.0, 4.0, 2.5, 0.5, 5.0, 1.0, 0.2, 9.0, 3.0, 1.5])
    base = float(sizes @ bits[[0, 4, 7]])
    for total in (base, base + 2.0, base + 100.0):  # +2: unit 0's first step (2 -> 3 bits, slope 2 per bit)
        out = hull_greedy(sizes, offsets, bits, errors, total)
        ref = brute_force(sizes, offsets, bits, errors, total)
        assert out.exact and out.error == pytest.approx(ref[0]) and out.lower_bound == out.error
    # slack budget: every unit takes its least error
    out = hull_greedy(sizes, offsets, bits, errors, 1e6)
    np.testing.assert_array_equal(out.choice, [3, 2, 2])
    # a budget cutting a step is not exact, but its LP bound is strictly below
    out = hull_greedy(sizes, offsets, bits, errors, base + 1.0)
    assert not out.exact and out.lower_bound < out.error


def test_hull_greedy_dominated_and_nonconvex_options():
    """Options that cost more without lowering the error, or lie above the hull, still get used when they fit."""
    sizes = np.array([1.0])
    offsets = np.array([0, 4])
    bits = np.array([1.0, 2.0, 3.0, 4.0])
    errors = np.array([10.0, 9.5, 1.0, 2.0])  # option 1 is above the hull, option 3 dominated by option 2
    for total, want in ((1.0, 0), (2.0, 1), (2.9, 1), (3.0, 2), (4.0, 2)):
        out = hull_greedy(sizes, offsets, bits, errors, total)
        assert int(out.choice[0]) == want, (total, out)
        assert out.lower_bound <= out.error


def test_hull_greedy_edge_cases():
    empty = hull_greedy(np.zeros(0), np.array([0]), np.zeros(0), np.zeros(0), 0.0)
    assert empty.choice.shape == (0,) and empty.error == 0.0 and empty.exact
    assert hull_greedy(np.zeros(0), np.array([0]), np.zeros(0), np.zeros(0), -1.0).choice is None
    one = hull_greedy(np.array([3.0]), np.array([0, 1]), np.array([4.0]), np.array([0.7]), 12.0)
    assert one.choice.tolist() == [0] and one.error == pytest.approx(0.7) and one.exact
    assert hull_greedy(np.array([3.0]), np.array([0, 1]), np.array([4.0]), np.array([0.7]), 11.9).choice is None
    # min_bits above every option of a unit
    out = hull_greedy(np.ones(2), np.array([0, 2, 4]), np.array([2.0, 4.0, 2.0, 8.0]), np.ones(4), 100.0, 5.0)
    assert out == HullGreedyOutcome(None, None, None, False)
    # min_bits forces the expensive option even though it is worse
    out = hull_greedy(np.ones(1), np.array([0, 2]), np.array([2.0, 4.0]), np.array([0.1, 0.5]), 100.0, 3.0)
    assert out.choice.tolist() == [1] and out.error == pytest.approx(0.5) and out.exact


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (([1.0, 0.0], [0, 1, 2], [2.0, 2.0], [1.0, 1.0], 10.0), "data.sizes[1]"),
        (([1.0], [0, 2], [4.0, 2.0], [1.0, 1.0], 10.0), "data.bits[1]"),
        (([1.0], [0, 2], [2.0, 4.0], [1.0, -1.0], 10.0), "data.errors[1]"),
        (([1.0], [0, 2], [2.0, 4.0], [1.0], 10.0), "data.errors"),
        (([1.0, 1.0], [0, 2, 2], [2.0, 4.0], [1.0, 1.0], 10.0), "data.offsets[2]"),
        (([1.0], [0, 3], [2.0, 4.0], [1.0, 1.0], 10.0), "data.offsets"),
        (([1.0], [0, 2], [2.0, 4.0], [1.0, 1.0], math.nan), "data.total_bits"),
    ],
)
def test_hull_greedy_rejects_bad_input(args, where):
    with pytest.raises(DataError) as info:
        hull_greedy(*(np.asarray(x) if isinstance(x, list) else x for x in args))
    assert str(info.value).startswith(where)


def test_hull_greedy_large_smoke():
    """J = 1e5 units x 8 options: completes (no timing assertion), feasible, bound below the error."""
    rng = np.random.default_rng(7)
    n, k = 100_000, 8
    sizes = rng.integers(1_000, 100_000, size=n).astype(np.float64)
    offsets = np.arange(0, n * k + 1, k, dtype=np.int64)
    bits = np.tile(np.arange(1.0, k + 1.0), n)
    errors = (rng.uniform(0.5, 2.0, size=n)[:, None] * np.exp2(-2.0 * np.arange(1.0, k + 1.0))).ravel()
    errors *= rng.uniform(0.7, 1.3, size=n * k)  # non-monotone noise
    total = 4.25 * float(sizes.sum())
    out = hull_greedy(sizes, offsets, bits, errors, total, min_bits=2.0)
    assert_choice_valid(out.choice, sizes, offsets, bits, total, 2.0)
    assert out.lower_bound <= out.error <= out.lower_bound * (1 + 1e-3)


# ----------------------------------------------------------------------------------------------------------
# error model
# ----------------------------------------------------------------------------------------------------------


def test_fit_error_model_recovers_a():
    rng = np.random.default_rng(3)
    for _ in range(50):
        sizes, offsets, bits, _ = random_instance(rng, j_max=6, k_max=6)
        a = rng.uniform(1e-3, 1e3, size=sizes.shape[0]) * (rng.random(sizes.shape[0]) > 0.2)
        errors = np.repeat(a, np.diff(offsets)) * np.exp2(-2.0 * bits)
        np.testing.assert_allclose(fit_error_model(offsets, bits, errors), a, rtol=1e-12, atol=0.0)
    # zero errors are ignored by the fit (log 0), a unit with only zeros gets a = 0
    offsets = np.array([0, 3, 5])
    bits = np.array([2.0, 3.0, 4.0, 2.0, 4.0])
    errors = np.array([5.0 * 2.0**-4, 0.0, 5.0 * 2.0**-8, 0.0, 0.0])
    np.testing.assert_allclose(fit_error_model(offsets, bits, errors), [5.0, 0.0], rtol=1e-12)
    # the fit is the geometric mean of the per-option estimates e 4^b
    got = fit_error_model(np.array([0, 2]), np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    assert got[0] == pytest.approx(math.sqrt(4.0 * 16.0))


# ----------------------------------------------------------------------------------------------------------
# reverse water-filling
# ----------------------------------------------------------------------------------------------------------


def cvxpy_optimum(a, sizes, total, lo, hi, scale):
    b = cp.Variable(a.shape[0])
    cons = [sizes @ b <= total, b >= lo] + ([b <= hi] if hi is not None else [])
    # scaled so that the objective is O(1): Clarabel's tolerances are absolute as well as relative
    prob = cp.Problem(cp.Minimize(cp.sum(cp.multiply(a / scale, cp.exp(-2.0 * LN2 * b)))), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)  # the objective check below decides
    return float(prob.value) * scale, b.value


def check_kkt(out, a, sizes, total, lo, hi, budget_rel: float = 1e-12) -> None:
    b, lam = out.bits, out.multiplier
    assert np.all(b >= lo - 1e-12) and (hi is None or np.all(b <= hi + 1e-12))
    used = float(sizes @ b)
    assert used <= total * (1 + budget_rel) + 1e-12
    assert out.error == pytest.approx(float(a @ np.exp2(-2.0 * b)), rel=1e-12)
    live = a > 0
    np.testing.assert_array_equal(b[~live], lo)
    with np.errstate(divide="ignore"):  # marginals in the log domain: 2^(-2b) may underflow
        log_marginal = math.log(2.0 * LN2) + np.log(a) - 2.0 * LN2 * b - np.log(sizes)
    if lam == 0.0:  # budget slack: every live unit at its ceiling
        assert hi is not None and np.all(b[live] == hi)
        return
    assert used == pytest.approx(total, rel=budget_rel)  # complementary slackness
    inside = live & (b > lo + 1e-9) & (hi is None or b < hi - 1e-9)
    gap = log_marginal - math.log(lam)  # the equal loss slope: 0 inside, <= 0 on the floor, >= 0 at the ceiling
    np.testing.assert_allclose(gap[inside], 0.0, atol=1e-9)
    assert np.all(gap[live & (b <= lo + 1e-9)] <= 1e-9)
    if hi is not None:
        assert np.all(gap[live & (b >= hi - 1e-9)] >= -1e-9)


@pytest.mark.filterwarnings("ignore:Solution may be inaccurate")
@pytest.mark.parametrize("seed", range(3))
def test_water_filling_vs_cvxpy(seed):
    rng = np.random.default_rng(10 + seed)
    seen_floor = seen_ceiling = 0
    for case in range(16):
        n = int(rng.integers(1, 12))
        # a over several decades so that floors and ceilings bind
        a = np.exp(rng.uniform(-3.0, 6.0, size=n)) * (rng.random(n) > 0.1)
        sizes = rng.uniform(1.0, 50.0, size=n)
        lo = float(rng.choice([0.0, 2.0, 3.0]))
        hi = [None, 6.0, 8.0][case % 3]
        total = float(sizes.sum()) * rng.uniform(lo + 0.05, lo + 3.0)
        out = reverse_water_filling(a, sizes, total, lo, hi)
        check_kkt(out, a, sizes, total, lo, hi)
        ref, ref_b = cvxpy_optimum(a, sizes, total, lo, hi, max(out.error, 1e-12))
        assert out.error == pytest.approx(ref, rel=1e-6)
        live = a > 0
        np.testing.assert_allclose(out.bits[live], ref_b[live], atol=1e-3)  # flat objective: loose bits
        inside = out.bits[live]
        seen_floor += int(np.sum(inside <= lo + 1e-9))
        seen_ceiling += int(hi is not None and np.sum(inside >= hi - 1e-9))
    assert seen_floor > 0 and seen_ceiling > 0


def test_water_filling_closed_form_cases():
    # equal a and sizes: equal split
    out = reverse_water_filling(np.full(4, 3.0), np.full(4, 2.0), 24.0)
    np.testing.assert_allclose(out.bits, 3.0)
    assert out.multiplier == pytest.approx(2.0 * LN2 * 3.0 * 2.0**-6 / 2.0)
    # 4x the error coefficient is worth exactly one more bit (each bit quarters the error)
    out = reverse_water_filling(np.array([4.0, 1.0]), np.ones(2), 7.0)
    np.testing.assert_allclose(out.bits, [4.0, 3.0])
    # max_bits everywhere fits: the ceiling, multiplier 0; a = 0 units stay on the floor
    out = reverse_water_filling(np.array([1.0, 0.0, 2.0]), np.ones(3), 100.0, min_bits=1.0, max_bits=4.0)
    np.testing.assert_allclose(out.bits, [4.0, 1.0, 4.0])
    assert out.multiplier == 0.0
    # floor exactly on budget, all a = 0, no units
    out = reverse_water_filling(np.array([1.0, 5.0]), np.array([1.0, 2.0]), 6.0, min_bits=2.0)
    np.testing.assert_allclose(out.bits, 2.0)
    assert reverse_water_filling(np.zeros(3), np.ones(3), 5.0, 1.0).error == 0.0
    assert reverse_water_filling(np.zeros(0), np.zeros(0), 0.0).bits.shape == (0,)
    with pytest.raises(BudgetInfeasible):
        reverse_water_filling(np.ones(2), np.ones(2), 3.9, min_bits=2.0)
    with pytest.raises(ValueError):  # BudgetInfeasible is a ValueError
        reverse_water_filling(np.ones(1), np.ones(1), -1.0)
    with pytest.raises(DataError):
        reverse_water_filling(np.array([-1.0]), np.ones(1), 3.0)
    with pytest.raises(DataError):
        reverse_water_filling(np.ones(1), np.ones(1), 3.0, min_bits=4.0, max_bits=2.0)


def test_water_filling_extreme_coefficients():
    """a over 600 decades: the log-domain level neither overflows nor loses the budget.

    Bits b_j = beta_j - nu with beta_j near 500 carry an absolute error of ulp(500) ~ 1e-13, times a size
    of 1e6: the budget holds to ~1e-10 relative here, not to 1e-12.
    """
    a = np.array([1e-300, 1e-10, 1.0, 1e10, 1e300])
    sizes = np.array([1e-3, 1.0, 10.0, 1e3, 1e6])
    for total in (1e3, 1e6, 1e8):  # (1e9 would put the multiplier below the smallest normal double)
        out = reverse_water_filling(a, sizes, total)
        check_kkt(out, a, sizes, total, 0.0, None, budget_rel=1e-9)


def test_water_filling_large_smoke():
    rng = np.random.default_rng(5)
    n = 100_000
    a = np.exp(rng.uniform(-5.0, 5.0, size=n))
    sizes = rng.integers(1_000, 100_000, size=n).astype(np.float64)
    total = 4.0 * float(sizes.sum())
    out = reverse_water_filling(a, sizes, total, min_bits=2.0, max_bits=8.0)
    check_kkt(out, a, sizes, total, 2.0, 8.0)


# ----------------------------------------------------------------------------------------------------------
# rounding and repair
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_round_and_repair_vs_brute_force(seed):
    rng = np.random.default_rng(20 + seed)
    for _ in range(200):
        model = rng.random() < 0.5
        sizes, offsets, bits, errors = random_instance(rng, model=model)
        total = random_budget(rng, sizes, offsets, bits)
        min_bits = None if rng.random() < 0.5 else float(rng.choice([1.5, 2.0, 3.0, 9.0]))
        ref = brute_force(sizes, offsets, bits, errors, total, min_bits)
        # fractional bits from anywhere: the continuous optimum when it exists, else random
        frac = rng.uniform(0.0, 9.0, size=sizes.shape[0])
        lo = 0.0 if min_bits is None else min_bits
        a = fit_error_model(offsets, bits, errors)
        if lo * sizes.sum() <= total:
            wf = reverse_water_filling(a, sizes, total, lo)
            if rng.random() < 0.7:
                frac = wf.bits
            if model and ref is not None:  # discrete options lie in the continuous domain
                assert wf.error <= ref[0] * (1 + 1e-9) + 1e-12
        choice = round_and_repair(frac, sizes, offsets, bits, errors, total, min_bits)
        if ref is None:
            assert choice is None
            continue
        assert choice is not None
        g = assert_choice_valid(choice, sizes, offsets, bits, total, min_bits)
        assert float(errors[g].sum()) >= ref[0] - TOL * max(1.0, ref[0])


def test_round_and_repair_steps():
    sizes = np.array([1.0, 2.0])
    offsets = np.array([0, 3, 6])
    bits = np.array([2.0, 4.0, 8.0, 2.0, 4.0, 8.0])
    errors = np.array([16.0, 4.0, 1.0, 8.0, 2.0, 0.5])
    # fractional bits on options, budget exactly used: kept as is (3.9999999999 means 4)
    got = round_and_repair(np.array([4.0, 3.9999999999]), sizes, offsets, bits, errors, 12.0)
    np.testing.assert_array_equal(got, [1, 1])
    # over budget by 4: downgrade by the least error per budget bit saved. Unit 1 (size 2) saves 8 for 1.5
    # (0.19 per bit), unit 0 saves 4 for 3 (0.75 per bit); the 4 bits left buy nothing
    got = round_and_repair(np.array([8.0, 8.0]), sizes, offsets, bits, errors, 20.0)
    np.testing.assert_array_equal(got, [2, 1])
    # below everything: the smallest option, then upgraded with the room left (unit 0 saves 12 per 2 bits)
    got = round_and_repair(np.array([0.0, 0.0]), sizes, offsets, bits, errors, 8.0)
    np.testing.assert_array_equal(got, [1, 0])
    # min_bits: nothing below it, and None when a unit has no option at or above it
    got = round_and_repair(np.array([0.0, 0.0]), sizes, offsets, bits, errors, 100.0, min_bits=3.0)
    assert np.all(bits[offsets[:-1] + got] >= 3.0)
    assert round_and_repair(np.zeros(2), sizes, offsets, bits, errors, 100.0, min_bits=9.0) is None
    assert round_and_repair(np.zeros(2), sizes, offsets, bits, errors, 5.9) is None
    # a cheaper option with lower error (non-monotone errors) is a free improvement
    got = round_and_repair(np.array([8.0]), np.ones(1), np.array([0, 3]), bits[:3], np.array([1.0, 0.5, 2.0]), 8.0)
    np.testing.assert_array_equal(got, [1])
    with pytest.raises(DataError):
        round_and_repair(np.zeros(1), sizes, offsets, bits, errors, 10.0)


def test_round_and_repair_large_smoke():
    rng = np.random.default_rng(9)
    n, k = 100_000, 8
    sizes = rng.integers(1_000, 100_000, size=n).astype(np.float64)
    offsets = np.arange(0, n * k + 1, k, dtype=np.int64)
    bits = np.tile(np.arange(1.0, k + 1.0), n)
    errors = np.repeat(np.exp(rng.uniform(-3.0, 3.0, size=n)), k) * np.exp2(-2.0 * bits)
    errors *= rng.uniform(0.8, 1.2, size=n * k)
    total = 3.6 * float(sizes.sum())
    wf = reverse_water_filling(fit_error_model(offsets, bits, errors), sizes, total, min_bits=2.0)
    choice = round_and_repair(wf.bits, sizes, offsets, bits, errors, total, min_bits=2.0)
    g = assert_choice_valid(choice, sizes, offsets, bits, total, 2.0)
    hull = hull_greedy(sizes, offsets, bits, errors, total, min_bits=2.0)
    assert float(errors[g].sum()) >= hull.lower_bound * (1 - 1e-9)
