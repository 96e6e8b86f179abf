"""The objective arithmetic of the front door: numbers and lexicographic values (FORMAT.md's solution envelope)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocopt.result import (
    OPTIMALITY_TOL,
    Result,
    compare_objectives,
    finite_or_none,
    proves_optimal,
    relative_gap,
)

counts = st.lists(st.integers(-50, 50), min_size=1, max_size=5)


def test_numbers_keep_their_relative_gap_rule() -> None:
    assert relative_gap(100.0, 110.0) == pytest.approx(0.1)
    assert relative_gap(0.0, 0.5) == pytest.approx(0.5)  # max(1, |objective|) in the denominator
    assert proves_optimal(1e6, 1e6 + 0.5)  # 5e-7 relative
    assert not proves_optimal(1e6, 1e6 + 2)
    assert relative_gap(None, 1.0) is None and not proves_optimal(3.0, None)


def test_missing_values_are_none_never_infinity() -> None:
    assert finite_or_none(math.inf) is None and finite_or_none(math.nan) is None
    assert finite_or_none([1, 2, -3]) == (1.0, 2.0, -3.0)
    assert finite_or_none([1, math.inf]) is None
    assert finite_or_none((4,)) == (4.0,)


@given(counts, counts)
def test_lexicographic_order_is_pythons_tuple_order(a: list[int], b: list[int]) -> None:
    """Integer entries differ by at least 1, far beyond the tolerance: the order is exactly tuple order."""
    if len(a) != len(b):
        with pytest.raises(ValueError, match="different lengths"):
            compare_objectives(tuple(map(float, a)), tuple(map(float, b)))
        return
    x, y = tuple(map(float, a)), tuple(map(float, b))
    expected = (x > y) - (x < y)
    assert compare_objectives(x, y) == expected
    assert proves_optimal(x, y) == (x == y)
    assert relative_gap(x, y) == (0.0 if x == y else None)


def test_lexicographic_entries_use_the_tolerance_and_the_first_difference_decides() -> None:
    noise = 0.1 * OPTIMALITY_TOL
    assert compare_objectives((5.0, -2.0), (5.0 + noise, -2.0 - noise)) == 0
    assert compare_objectives((5.0, -9.0), (4.0, 0.0)) == 1  # the first entry outranks everything after it
    assert compare_objectives((5.0, -9.0), (5.0, 0.0)) == -1


def test_a_number_and_a_lexicographic_value_do_not_compare() -> None:
    with pytest.raises(ValueError, match="lexicographic"):
        compare_objectives(3.0, (3.0,))


def test_result_writes_lexicographic_values_as_json_lists() -> None:
    r = Result(
        problem="pod_packing",
        instance="x",
        status="feasible",
        objective=(3.0, 5.0, -1.0),
        bound=(3.0, 6.0, 0.0),
        gap=None,
        method="greedy",
        solver=None,
        runtime_s=0.01,
        verified=True,
        solution={"node": [0, 1]},
    )
    doc = json.loads(json.dumps(r.to_dict()))
    assert doc["objective"] == [3.0, 5.0, -1.0] and doc["bound"] == [3.0, 6.0, 0.0] and doc["gap"] is None
