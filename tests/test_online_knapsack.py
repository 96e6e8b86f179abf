"""Online knapsack threshold policies: hand-computed decisions, threshold shapes, capacity safety."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocopt.solvers.online_knapsack import (
    time_fair_psi,
    time_fair_threshold,
    zcl_psi,
    zcl_threshold,
)

# A small sequence, capacity 10, L = 1, U = e^2 (so ln(U/L) = 2 and ZCL is flat up to beta* = 1/3).
L, U, CAP = 1.0, math.e**2, 10.0
VALUES = np.array([3.0, 4.0, 3.0, 4.0, 9.0, 7.0, 20.0, 6.0, 1.0])
WEIGHTS = np.array([3.0, 2.0, 2.0, 2.0, 3.0, 2.0, 2.0, 1.0, 0.0])
# densities:        1    2    1.5  2    3    3.5  10   6    (free)


def test_zcl_hand_computed():
    # psi(z) = max(1, (e^3)^z / e) = max(1, e^(3z - 1)).
    # item 0: z=0.0, psi=1       density 1   -> take (ties admitted), used 3
    # item 1: z=0.3, psi=1       density 2   -> take, used 5
    # item 2: z=0.5, psi=e^0.5 = 1.6487, density 1.5 -> reject
    # item 3: z=0.5, psi=1.6487, density 2   -> take, used 7
    # item 4: z=0.7, psi=e^1.1 = 3.0042, density 3 -> reject
    # item 5: z=0.7, psi=3.0042, density 3.5 -> take, used 9
    # item 6: w=2 does not fit (9 + 2 > 10) -> reject although density 10
    # item 7: z=0.9, psi=e^1.7 = 5.4739, density 6 -> take, used 10
    # item 8: zero weight, positive value -> take
    take = zcl_threshold(VALUES, WEIGHTS, CAP, L, U)
    assert take.dtype == np.int64
    assert take.tolist() == [1, 1, 0, 1, 0, 1, 0, 1, 1]
    assert zcl_psi(0.5, L, U) == pytest.approx(1.6487, abs=1e-4)
    assert zcl_psi(0.7, L, U) == pytest.approx(3.0042, abs=1e-4)
    assert zcl_psi(0.9, L, U) == pytest.approx(5.4739, abs=1e-4)


def test_time_fair_hand_computed():
    # alpha = 0.6: beta = W(U (1 - alpha) / (L alpha)) / (1 - alpha) = W(4.92604) / 0.4
    #                   = 1.31824 / 0.4 = 3.29560
    # psi(z) = 1 for z < 0.6, e^2 * exp(3.29560 (z - 1)) for z >= 0.6 (psi(0.6) = alpha beta L = 1.9774).
    # item 0: z=0.0, psi=1, density 1   -> take, used 3
    # item 1: z=0.3, psi=1, density 2   -> take, used 5
    # item 2: z=0.5, psi=1, density 1.5 -> take, used 7  (ZCL rejected it: time fairness below alpha)
    # item 3: z=0.7, psi=e^(2 - 0.98868) = 2.7492, density 2 -> reject
    # item 4: z=0.7, psi=2.7492, density 3 -> take, used 10
    # items 5, 6, 7: do not fit; item 8: zero weight -> take
    take = time_fair_threshold(VALUES, WEIGHTS, CAP, L, U, alpha=0.6)
    assert take.tolist() == [1, 1, 1, 0, 1, 0, 0, 0, 1]
    assert time_fair_psi(0.7, L, U, 0.6) == pytest.approx(2.7492, abs=1e-4)
    assert time_fair_psi(0.6, L, U, 0.6) == pytest.approx(1.9774, abs=1e-4)
    assert time_fair_psi(0.5999, L, U, 0.6) == L


def test_zcl_psi_shape():
    beta_star = 1.0 / (1.0 + math.log(U / L))
    assert zcl_psi(0.0, L, U) == L
    assert zcl_psi(1.0, L, U) == U
    assert zcl_psi(beta_star, L, U) == pytest.approx(L)
    assert zcl_psi(beta_star / 2, L, U) == L
    # the exponential part is the paper's (Ue/L)^z (L/e)
    for z in (0.4, 0.55, 0.8, 0.99):
        assert zcl_psi(z, L, U) == pytest.approx((U * math.e / L) ** z * (L / math.e))
    zs = np.linspace(0, 1, 201)
    vals = [zcl_psi(z, 2.0, 50.0) for z in zs]
    assert np.all(np.diff(vals) >= 0) and vals[-1] == pytest.approx(50.0)
    assert zcl_psi(0.7, 3.0, 3.0) == 3.0  # L = U: constant


def test_time_fair_psi_shape():
    for alpha in (0.4, 0.6, 0.9, 1.0):
        for z in np.linspace(0, alpha, 20, endpoint=False):
            assert time_fair_psi(z, L, U, alpha) == L
        assert time_fair_psi(1.0, L, U, alpha) == U
        vals = [time_fair_psi(z, L, U, alpha) for z in np.linspace(0, 1, 101)]
        assert np.all(np.diff(vals) >= 0)
    # alpha = beta* reproduces ZCL exactly; below it, ZCL is used (already time-fair up to beta*)
    beta_star = 1.0 / (1.0 + math.log(U / L))
    for alpha in (0.0, 0.2, beta_star, beta_star + 1e-12):
        for z in np.linspace(0, 1, 41):
            assert time_fair_psi(z, L, U, alpha) == pytest.approx(zcl_psi(z, L, U), rel=1e-9)
    assert time_fair_psi(0.999, L, U, 1.0) == L  # alpha = 1: flat until full


def test_extreme_density_ratio():
    # U / L overflows a float: thresholds are computed in logs and stay finite and monotone
    lo, hi = 1e-300, 1e300
    assert zcl_psi(0.0, lo, hi) == lo and zcl_psi(1.0, lo, hi) == hi
    assert lo <= zcl_psi(0.5, lo, hi) <= hi
    for alpha in (0.01, 0.5):
        vals = [time_fair_psi(z, lo, hi, alpha) for z in np.linspace(0, 1, 51)]
        assert all(math.isfinite(x) for x in vals) and np.all(np.diff(vals) >= 0)
        assert vals[-1] == hi and vals[0] == lo


def test_validation():
    with pytest.raises(ValueError, match="0 < L <= U"):
        zcl_threshold(VALUES, WEIGHTS, CAP, 0.0, 1.0)
    with pytest.raises(ValueError, match="0 < L <= U"):
        zcl_psi(0.5, 2.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        zcl_psi(0.5, 1.0, math.inf)
    with pytest.raises(ValueError, match="alpha"):
        time_fair_threshold(VALUES, WEIGHTS, CAP, L, U, 1.5)
    with pytest.raises(ValueError, match="alpha"):
        time_fair_psi(0.5, L, U, math.nan)
    with pytest.raises(ValueError, match="utilisation"):
        zcl_psi(1.2, L, U)
    with pytest.raises(ValueError, match="capacity"):
        zcl_threshold(VALUES, WEIGHTS, -1.0, L, U)
    with pytest.raises(ValueError, match="non-negative"):
        zcl_threshold([1.0], [-1.0], 1.0, L, U)
    with pytest.raises(ValueError, match="equal length"):
        zcl_threshold([1.0, 2.0], [1.0], 1.0, L, U)


items = st.lists(
    st.tuples(
        st.floats(0, 100, allow_nan=False, allow_infinity=False),
        st.floats(0, 5, allow_nan=False, allow_infinity=False),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(
    items=items,
    capacity=st.floats(0, 50, allow_nan=False),
    L=st.floats(0.01, 10),
    ratio=st.floats(1, 1000),
    alpha=st.floats(0, 1),
)
def test_policies_never_exceed_capacity(items, capacity, L, ratio, alpha):
    v = np.array([x[0] for x in items], dtype=float)
    w = np.array([x[1] for x in items], dtype=float)
    U = L * ratio
    for take, psi in (
        (zcl_threshold(v, w, capacity, L, U), lambda z: zcl_psi(z, L, U)),
        (time_fair_threshold(v, w, capacity, L, U, alpha), lambda z: time_fair_psi(z, L, U, alpha)),
    ):
        assert take.dtype == np.int64 and set(take.tolist()) <= {0, 1}
        assert float(w @ take) <= capacity
        # replay: each decision is "fits and density >= psi(utilisation before it)", free items always
        used = 0.0
        for vi, wi, ti in zip(v.tolist(), w.tolist(), take.tolist(), strict=True):
            if wi == 0:
                assert ti == (1 if vi > 0 else 0)
                continue
            expected = used + wi <= capacity and vi / wi >= psi(min(used / capacity, 1.0))
            assert ti == int(expected)
            used += wi * ti
