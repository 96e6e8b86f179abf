"""compare: every method on one instance, the best objective and the tightest bound marked."""

from __future__ import annotations

from pathlib import Path

import pytest

import allocopt
from allocopt.compare import compare, comparison_figure
from allocopt.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
KNAPSACK = sorted((ROOT / "instances/knapsack/pisinger").glob("*.json"))[0]


@pytest.fixture(scope="module")
def knapsack_rows():
    return compare(KNAPSACK, time_limit=30)


def test_a_knapsack_lists_dp_milp_and_greedy_with_dp_best(knapsack_rows) -> None:
    by_method = {r.method: r for r in knapsack_rows}
    assert {"dp", "milp", "greedy"} <= set(by_method)
    dp = by_method["dp"]
    assert dp.result.status == "optimal" and dp.best_objective and dp.best_bound
    # Every verified objective is at most dp's, every proven bound at least it (a maximization).
    for row in knapsack_rows:
        r = row.result
        assert r.verified
        assert r.objective <= dp.result.objective + 1e-9
        assert r.bound is None or r.bound >= dp.result.objective - 1e-9
        assert row.best_objective == (abs(r.objective - dp.result.objective) <= 1e-6 * dp.result.objective)


def test_the_rows_follow_the_method_table_and_are_independent_solves(knapsack_rows) -> None:
    inst = allocopt.load(KNAPSACK)
    applying = [m.name for m in inst.spec.methods.values() if m.applies(inst.data) is None]
    assert [r.method for r in knapsack_rows] == applying
    for row in knapsack_rows:
        assert row.result.method == row.method
        assert row.exact == inst.spec.methods[row.method].exact


def test_named_methods_only_and_in_the_order_given() -> None:
    rows = compare(KNAPSACK, methods=["greedy", "dp"])
    assert [r.method for r in rows] == ["greedy", "dp"]
    assert rows[1].best_objective and rows[1].best_bound


def test_a_minimization_marks_the_largest_lower_bound() -> None:
    pm = sorted((ROOT / "instances/parallel_machines").glob("*.json"))[0]
    rows = compare(pm, time_limit=20)
    exact = [r for r in rows if r.result.status == "optimal"]
    assert exact, [r.result.status for r in rows]
    best = min(r.result.objective for r in rows if r.result.verified)
    for row in rows:
        assert row.best_objective == (abs(row.result.objective - best) <= 1e-6 * max(1, best))
        if row.result.bound is not None:
            assert row.result.bound <= best + 1e-6 * max(1, best)


def test_an_unknown_method_is_a_usage_error_naming_the_methods() -> None:
    with pytest.raises(UsageError, match=r"unknown method 'nope'.*dp"):
        compare(KNAPSACK, methods=["dp", "nope"])


def test_options_reach_only_the_methods_that_take_them() -> None:
    rows = compare(KNAPSACK, methods=["milp", "dp"], mip_gap=0.5)
    by_method = {r.method: r.result for r in rows}
    assert by_method["dp"].status == "optimal"  # dp takes no mip_gap and ran without it
    assert by_method["milp"].verified


def test_the_figure_draws_one_legend_entry_per_method(knapsack_rows) -> None:
    pytest.importorskip("matplotlib")
    fig = comparison_figure(knapsack_rows, title="knapsack")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert [label.split(" ")[0] for label in labels] == [r.method for r in knapsack_rows]
