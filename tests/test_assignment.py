"""The assignment problem through the front door, against numbers nobody here computed.

- exact: scipy's ``linear_sum_assignment`` on random square instances (both senses), brute force on tiny
  instances with forbidden pairs, demands and capacities, and the transportation LP solved independently by
  ``scipy.optimize.linprog`` for top-k routing with capacities; milp equals exact;
- auction, greedy, prices: verified, and optimum within [bound, objective] (min) / [objective, bound] (max);
- prices: its learned biases follow the LP's capacity duals on a balanced instance;
- infeasible instances give ``infeasible`` with the reason, for every method; bad files name the JSON path.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from conftest import instance_doc
from scipy.optimize import linear_sum_assignment, linprog

import allocopt
import allocopt.methods.assignment  # registers the problem (until allocopt.methods imports it)
from allocopt.errors import InstanceError, UsageError

METHODS = ("exact", "milp", "auction", "greedy", "prices")
TOL = 1e-6


def doc(data: dict[str, Any]) -> dict[str, Any]:
    return instance_doc("assignment", data)


def brute_force(data: dict[str, Any]) -> float | None:
    """Optimum by enumerating every choice of distinct allowed columns per row; None when infeasible."""
    cost = data["cost"]
    n, m = len(cost), len(cost[0]) if cost else 0
    demand = data.get("demand", [1] * n)
    capacity = data.get("capacity", [1] * m)
    sign = -1 if data.get("sense") == "max" else 1
    choices = [
        list(itertools.combinations([j for j in range(m) if cost[i][j] is not None], demand[i])) for i in range(n)
    ]
    best = None
    for pick in itertools.product(*choices):
        load = [0] * m
        for cols in pick:
            for j in cols:
                load[j] += 1
        if any(load[j] > capacity[j] for j in range(m)):
            continue
        value = sum(cost[i][j] for i, cols in enumerate(pick) for j in cols)
        if best is None or sign * value < sign * best:
            best = value
    return best


def interval(result: allocopt.Result, sense: str) -> tuple[float, float]:
    """[lower, upper] that the result puts around the optimum.

    A max instance's open upper bound is in ``details["upper_bound"]`` (the front door takes the side of a
    bound from the problem, which is registered as min).
    """
    if sense == "min":
        return result.bound, result.objective
    upper = result.details.get("upper_bound", result.bound)
    return result.objective, upper


def assert_brackets(result: allocopt.Result, optimum: float, sense: str) -> None:
    assert result.verified and result.status in ("optimal", "feasible"), result
    lower, upper = interval(result, sense)
    slack = TOL * max(1.0, abs(optimum))
    assert lower is not None and upper is not None, result
    assert lower - slack <= optimum <= upper + slack, (result.method, lower, optimum, upper)


def random_tiny(rng: np.random.Generator, integral: bool) -> dict[str, Any]:
    n, m = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    values = rng.integers(-9, 20, (n, m)) if integral else rng.uniform(-5, 10, (n, m)).round(3)
    cost: list[list[Any]] = values.tolist()
    for i in range(n):
        for j in range(m):
            if rng.random() < 0.2:
                cost[i][j] = None
    data: dict[str, Any] = {"cost": cost, "sense": str(rng.choice(["min", "max"]))}
    if rng.random() < 0.7:
        data["demand"] = [int(x) for x in rng.integers(0, 3, n)]
    if rng.random() < 0.7:
        data["capacity"] = [int(x) for x in rng.integers(0, 4, m)]
    return data


def routing(rng: np.random.Generator, tokens: int, experts: int, k: int, factor: float) -> dict[str, Any]:
    """Top-k routing scores with unequally popular experts (so capacities bind), maximized."""
    scores = rng.normal(size=(tokens, experts)) + rng.normal(scale=0.7, size=experts)[None, :]
    capacity = int(factor * tokens * k / experts)
    return {"cost": scores.round(4).tolist(), "sense": "max", "demand": [k] * tokens, "capacity": [capacity] * experts}


def lp_optimum(data: dict[str, Any]) -> float:
    """The transportation LP, built here from the file's data and solved by scipy's linprog (HiGHS)."""
    cost = np.array(data["cost"], dtype=float)
    n, m = cost.shape
    sign = -1.0 if data.get("sense") == "max" else 1.0
    rows = np.repeat(np.arange(n), m)
    cols = np.tile(np.arange(m), n)
    a_eq = np.zeros((n, n * m))
    a_eq[rows, np.arange(n * m)] = 1
    a_ub = np.zeros((m, n * m))
    a_ub[cols, np.arange(n * m)] = 1
    res = linprog(
        sign * cost.ravel(),
        A_ub=a_ub,
        b_ub=data["capacity"],
        A_eq=a_eq,
        b_eq=data["demand"],
        bounds=(0, 1),
        method="highs",
    )
    assert res.status == 0
    return sign * res.fun


# ------------------------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("sense", ["min", "max"])
def test_exact_equals_linear_sum_assignment(sense: str) -> None:
    rng = np.random.default_rng(1 if sense == "min" else 2)
    for trial in range(20):
        n = int(rng.integers(1, 40))
        m = n if trial % 2 else n + int(rng.integers(0, 5))  # square, and rectangular with n <= m
        cost = rng.integers(0, 100, (n, m)) if trial % 3 else rng.uniform(-1, 1, (n, m))
        r, c = linear_sum_assignment(cost, maximize=sense == "max")
        result = allocopt.solve(doc({"cost": cost.tolist(), "sense": sense}), method="exact")
        assert result.status == "optimal" and result.verified and result.solver == "scipy"
        assert result.objective == pytest.approx(cost[r, c].sum(), abs=1e-9)


def test_every_method_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    seen = {"feasible": 0, "infeasible": 0}
    for trial in range(60):
        data = random_tiny(rng, integral=trial % 2 == 0)
        optimum = brute_force(data)
        seen["infeasible" if optimum is None else "feasible"] += 1
        for method in METHODS:
            result = allocopt.solve(doc(data), method=method)
            if optimum is None:
                assert result.status == "infeasible" and result.message, (method, data, result)
                continue
            if method in ("exact", "milp"):
                assert result.status == "optimal" and result.verified, (method, data, result)
                assert result.objective == pytest.approx(optimum, abs=1e-9), (method, data)
            else:
                assert_brackets(result, optimum, data["sense"])
    assert seen["feasible"] > 20 and seen["infeasible"] > 5


def test_auction_is_exact_on_integer_costs() -> None:
    rng = np.random.default_rng(11)
    for _ in range(20):
        n, m = int(rng.integers(2, 30)), int(rng.integers(2, 8))
        k = int(rng.integers(1, m + 1))
        cost = rng.integers(0, 50, (n, m))
        cap = [int(np.ceil(n * k / m)) + int(rng.integers(0, 3))] * m
        data = {"cost": cost.tolist(), "demand": [k] * n, "capacity": cap}
        exact = allocopt.solve(doc(data), method="exact")
        auction = allocopt.solve(doc(data), method="auction")
        assert auction.status == "optimal" and auction.objective == exact.objective


@pytest.mark.parametrize("factor", [1.0, 1.25])
def test_top_k_routing_with_capacities_equals_the_lp(factor: float) -> None:
    rng = np.random.default_rng(int(factor * 100))
    data = routing(rng, 200, 8, 2, factor)
    optimum = lp_optimum(data)
    exact = allocopt.solve(doc(data), method="exact")
    assert exact.status == "optimal" and exact.verified and exact.solver == "highs"
    assert exact.objective == pytest.approx(optimum, rel=1e-9)
    prices = exact.details["column_prices"]
    assert len(prices) == 8 and min(prices) >= 0
    milp = allocopt.solve(doc(data), method="milp")
    assert milp.status == "optimal" and milp.objective == pytest.approx(optimum, rel=1e-9)
    auto = allocopt.solve(doc(data))
    assert auto.method == "exact" and auto.objective == exact.objective
    for method in ("auction", "greedy", "prices"):
        assert_brackets(allocopt.solve(doc(data), method=method), optimum, "max")


def test_milp_equals_exact_on_random_transportation_instances() -> None:
    rng = np.random.default_rng(3)
    for _ in range(10):
        n, m = int(rng.integers(5, 25)), int(rng.integers(2, 7))
        demand = rng.integers(0, min(m, 3) + 1, n)
        cap = rng.integers(0, n, m)
        cap[0] += max(0, int(demand.sum() - cap.sum()))
        cost = rng.uniform(0, 10, (n, m)).round(2).tolist()
        data = {"cost": cost, "demand": demand.tolist(), "capacity": cap.tolist()}
        exact = allocopt.solve(doc(data), method="exact")
        milp = allocopt.solve(doc(data), method="milp")
        assert exact.status == milp.status
        if exact.status == "optimal":
            assert exact.objective == pytest.approx(milp.objective, rel=1e-9, abs=1e-9)
        else:
            assert exact.status == "infeasible" and exact.message and milp.message


def test_exact_solves_800_x_800_well_under_a_second() -> None:
    rng = np.random.default_rng(800)
    cost = rng.integers(0, 1000, (800, 800))
    inst = allocopt.instance_from_dict(doc({"cost": cost.tolist()}))
    result = allocopt.solve(inst, method="exact")
    r, c = linear_sum_assignment(cost)
    assert result.status == "optimal" and result.objective == cost[r, c].sum()
    assert result.runtime_s < 0.5


def test_exact_takes_highs_for_a_unit_instance_too() -> None:
    rng = np.random.default_rng(4)
    cost = rng.uniform(0, 1, (30, 30))
    r, c = linear_sum_assignment(cost)
    result = allocopt.solve(doc({"cost": cost.tolist()}), method="exact", solver="highs")
    assert result.solver == "highs" and result.objective == pytest.approx(cost[r, c].sum(), rel=1e-12)
    with pytest.raises(UsageError, match="all 1"):
        allocopt.solve(doc({"cost": cost.tolist(), "demand": [2] * 30, "capacity": [2] * 30}), solver="scipy")


# ------------------------------------------------------------------------------------------- prices
def test_prices_learns_the_lp_duals_on_a_balanced_instance() -> None:
    rng = np.random.default_rng(5)
    data = routing(rng, 2000, 16, 2, 1.0)
    result = allocopt.solve(doc(data), method="prices", iterations=400)
    assert result.verified
    det = result.details
    assert det["overflow_before_repair"] > 0 and det["moved_by_repair"] >= det["overflow_before_repair"] // 2
    assert det["bias_correlation"] > 0.95
    assert det["bias_max_abs_error_relative"] < 0.05
    assert_brackets(result, det["lp_optimum"], "max")
    # the biases are (minus) prices: a popular expert, with a high LP price, gets a low bias
    assert np.argmin(det["bias"]) == np.argmax(det["lp_prices"])


def test_prices_without_room_to_spare_routes_everyone_to_their_top_k() -> None:
    rng = np.random.default_rng(6)
    scores = rng.normal(size=(300, 6))
    result = allocopt.solve(doc({"cost": scores.tolist(), "sense": "max", "demand": [2] * 300}), method="prices")
    assert result.status == "infeasible"  # 600 assignments, 6 columns of capacity 1
    data = {"cost": scores.tolist(), "sense": "max", "demand": [2] * 300, "capacity": [300] * 6}
    result = allocopt.solve(doc(data), method="prices")
    top2 = np.sort(scores, axis=1)[:, -2:].sum()
    assert result.status == "optimal" and result.objective == pytest.approx(top2)
    assert result.details["overflow_before_repair"] == 0 and result.details["bias_correlation"] is None


# ------------------------------------------------------------------------------------------- infeasible
INFEASIBLE = {
    "capacity below total demand": (
        {"cost": [[1, 2, 3, 4]] * 20, "demand": [2] * 20, "capacity": [8] * 4},
        "rows need 40 assignments, columns offer 32",
    ),
    "a row with too few allowed columns": (
        {"cost": [[1, 2, 3], [1, 2, 3], [4, 5, 6], [None, 1, None]], "demand": [1, 1, 1, 2], "capacity": [3, 3, 3]},
        "row 3 needs 2 distinct columns but only 1 is allowed",
    ),
    "a capacity of zero counts as not allowed": (
        {"cost": [[1, 2], [3, 4]], "demand": [2, 1], "capacity": [0, 5]},
        "row 0 needs 2 distinct columns but only 1 is allowed",
    ),
    "Hall: three rows share two columns": (
        {"cost": [[1, 2, None, None], [3, None, 4, None], [5, 6, None, None], [7, 8, None, None]], "capacity": [1] * 4},
        "rows 0, 2, 3 need 3 assignments but can only use columns 0, 1, which offer 2",
    ),
    "Hall with demands": (
        {"cost": [[1, 2, 3], [4, 5, None], [6, 7, None]], "demand": [1, 2, 2], "capacity": [2, 1, 5]},
        "rows 1, 2 need 4 assignments but can only use columns 0, 1, which offer 3",
    ),
}


@pytest.mark.parametrize("case", INFEASIBLE)
@pytest.mark.parametrize("method", METHODS)
def test_infeasible_says_why_for_every_method(case: str, method: str) -> None:
    data, reason = INFEASIBLE[case]
    result = allocopt.solve(doc(data), method=method)
    assert result.status == "infeasible" and result.solution is None
    assert result.message == reason


# ------------------------------------------------------------------------------------------- files
BAD = {
    "null as a whole row": ({"cost": [[1, 2], None]}, ("data", "cost", 1)),
    "null in demand": ({"cost": [[1, 2], [3, 4]], "demand": [1, None]}, ("data", "demand", 1)),
    "cost rows of different length": ({"cost": [[1, 2], [3, 4], [5]]}, ("data", "cost", 2)),
    "demand length mismatch": ({"cost": [[1, 2], [3, 4]], "demand": [1, 1, 1]}, ("data", "demand")),
    "capacity length mismatch": ({"cost": [[1, 2], [3, 4]], "capacity": [1]}, ("data", "capacity")),
    "negative demand": ({"cost": [[1, 2], [3, 4]], "demand": [-1, 1]}, ("data", "demand", 0)),
    "fractional capacity": ({"cost": [[1, 2], [3, 4]], "capacity": [1.5, 1]}, ("data", "capacity", 0)),
    "text cost": ({"cost": [[1, "2"], [3, 4]]}, ("data", "cost", 0, 1)),
    "unknown sense": ({"cost": [[1]], "sense": "maximize"}, ("data", "sense")),
    "typo in a key": ({"cost": [[1]], "demands": [1]}, ("data", "demands")),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_files_name_the_json_path(case: str) -> None:
    data, path = BAD[case]
    with pytest.raises(InstanceError) as err:
        allocopt.instance_from_dict(doc(data))
    assert err.value.path == path, str(err.value)


def test_long_rows_with_nulls_are_checked_item_by_item() -> None:
    cost: list[list[Any]] = [[float(j) for j in range(100)] for _ in range(3)]
    cost[1][50] = None
    allocopt.instance_from_dict(doc({"cost": cost}))
    cost[2][70] = "7"
    with pytest.raises(InstanceError) as err:
        allocopt.instance_from_dict(doc({"cost": cost}))
    assert err.value.path == ("data", "cost", 2, 70)


# ------------------------------------------------------------------------------------------- the rest
def test_checker_rejects_what_it_must() -> None:
    inst = allocopt.instance_from_dict(
        doc({"cost": [[1, 2, None], [3, 4, 5]], "demand": [2, 1], "capacity": [1, 2, 1]})
    )
    assert allocopt.verify(inst, {"assign": [[0, 1], [2]]}).objective == 8
    for bad, words in (
        ({"assign": [[0, 0], [2]]}, "twice"),
        ({"assign": [[0, 2], [1]]}, "forbidden"),
        ({"assign": [[0, 1], [0]]}, "capacity"),
        ({"assign": [[0], [2]]}, "demand"),
        ({"assign": [[0, 1], [3]]}, "not a column index"),
        ({"assign": [[0, 1], [True]]}, "not a column index"),
        ({"assign": [[0, 1]]}, "list of 2"),
    ):
        verdict = allocopt.verify(inst, bad)
        assert not verdict.feasible and words in verdict.reason, (bad, verdict)


def test_round_trip_solution_file_and_extended_model(tmp_path) -> None:
    data = {"cost": [[4, 1, None], [2, 3, 1], [3, 2, 2]], "sense": "min", "demand": [1, 2, 1], "capacity": [1, 2, 2]}
    inst = allocopt.instance_from_dict(doc(data))
    again = allocopt.instance_from_dict(allocopt.envelope.instance_to_dict(inst))
    assert allocopt.envelope.instance_to_dict(again)["data"] == data
    result = allocopt.solve(inst)
    assert result.method == "exact" and result.objective == brute_force(data)
    path = tmp_path / "t.solution.json"
    allocopt.save(result, path)
    assert allocopt.check(inst, allocopt.envelope.load_solution(path)).feasible
    # the Pyomo model is the user's to extend: forbid row 2 from column 2
    model = allocopt.build_model(inst)
    model.x[2, 2].fix(0)
    extended = allocopt.solve(inst, method="milp", model=model)
    assert extended.status == "optimal" and 2 not in extended.solution["assign"][2]
    assert extended.objective == brute_force({**data, "cost": [[4, 1, None], [2, 3, 1], [3, 2, None]]})


def test_nothing_to_assign_and_no_rows() -> None:
    for data in ({"cost": [[1, 2], [3, 4]], "demand": [0, 0]}, {"cost": [], "capacity": [1, 2]}):
        for method in METHODS:
            result = allocopt.solve(doc(data), method=method)
            assert result.status == "optimal" and result.objective == 0, (method, data, result)


def test_equal_costs_do_not_start_a_price_war() -> None:
    n, m, k = 3000, 30, 3
    data = {"cost": [[5] * m] * n, "demand": [k] * n, "capacity": [n * k // m] * m}
    for method in ("exact", "auction", "greedy", "prices"):
        result = allocopt.solve(doc(data), method=method)
        assert result.status == "optimal" and result.objective == 5 * n * k, method


def test_milp_is_refused_beyond_its_size_with_the_reason() -> None:
    data = {"cost": np.zeros((1000, 201)).tolist()}
    with pytest.raises(UsageError, match="binaries"):
        allocopt.solve(doc(data), method="milp")


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("auction", {"scaling": 1}),
        ("auction", {"eps_final": 0}),
        ("greedy", {"bound": "dantzig"}),
        ("prices", {"step": 0}),
        ("prices", {"iterations": -1}),
        ("exact", {"iterations": 5}),
    ],
)
def test_bad_options_are_usage_errors(method: str, options: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        allocopt.solve(doc({"cost": [[1, 2], [3, 4]]}), method=method, **options)


def test_sparse_instances_take_the_sparse_matching(monkeypatch: pytest.MonkeyPatch) -> None:
    from allocopt.solvers import assignment_exact

    monkeypatch.setattr(assignment_exact, "SPARSE_MIN_PAIRS", 10)
    rng = np.random.default_rng(9)
    n, m = 60, 70
    cost = np.where(rng.random((n, m)) < 0.03, rng.uniform(-5, 5, (n, m)), np.inf)
    cost[np.arange(n), rng.permutation(m)[:n]] = rng.uniform(-5, 5, n)  # a full matching exists
    r, c = linear_sum_assignment(cost)
    data = {"cost": [[None if np.isinf(v) else float(v) for v in row] for row in cost]}
    result = allocopt.solve(doc(data), method="exact")
    assert result.details["algorithm"] == "min_weight_full_bipartite_matching"
    assert result.status == "optimal" and result.objective == pytest.approx(cost[r, c].sum(), rel=1e-12)
    data["cost"][0] = [None] * m
    data["cost"][0][0] = 1.0
    data["cost"][1] = list(data["cost"][0])
    assert allocopt.solve(doc(data), method="exact").message == (
        "rows 0, 1 need 2 assignments but can only use column 0, which offers 1"
    )


def test_greedy_breaks_ties_in_file_order(rng: np.random.Generator) -> None:
    # Scores with many ties, taken in file order (row, then column) among equals: MOHAF's greedy breaks ties
    # this way, so the greedy of an imported MOHAF instance is MOHAF's allocation. Checked against a plain loop.
    n = 60  # large enough that an unstable sort would shuffle the ties
    score = rng.integers(1, 4, size=(n, n)).astype(float)
    taken_rows, taken_cols, expected = set(), set(), [None] * n
    for _, i, j in sorted((-score[i, j], i, j) for i in range(n) for j in range(n)):
        if i not in taken_rows and j not in taken_cols:
            taken_rows.add(i)
            taken_cols.add(j)
            expected[i] = [j]
    doc = instance_doc("assignment", {"cost": score.tolist(), "sense": "max"})
    assert allocopt.solve(doc, method="greedy").solution["assign"] == expected
