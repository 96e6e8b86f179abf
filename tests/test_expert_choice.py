"""Expert-choice routing in ``assignment`` (``column_demand``, ``row_capacity``), against numbers nobody here computed.

- uncapped (hypothesis): per-expert top-k (``topk``, and ``exact``'s fast path) equals the transportation LP solved
  by scipy's ``linprog`` from the file's data, the library's LP (``exact`` with solver highs) and the MILP;
- capped: brute force on tiny instances equals ``exact`` (fast path or LP) and ``milp``; the heuristics bracket it;
  on random mid-size instances the LP equals linprog and the MILP;
- ``auto`` picks ``topk`` exactly when no row_capacity can bind, and ``topk`` refuses otherwise with the reason;
- infeasible instances (column demands above the room, a column with too few allowed rows, a Hall cut) give
  ``infeasible`` with the reason in the instance's words, for every method;
- bad files: a DataError naming the JSON path, and exit 2 from the command line with that path;
- the committed instances are what their generator makes, and their reference optima hold.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import INSTANCES, instance_doc
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import allocopt
import allocopt.methods.assignment  # registers the problem
from allocopt.cli import main
from allocopt.errors import InstanceError, UsageError
from allocopt.models import assignment as model

ALL = ("exact", "topk", "milp", "auction", "greedy", "prices")
HEURISTICS = ("auction", "greedy", "prices")
TOL = 1e-6


def doc(data: dict[str, Any]) -> dict[str, Any]:
    return instance_doc("assignment", data)


def brute_force(data: dict[str, Any]) -> float | None:
    """Optimum by enumerating, for every column, every set of column_demand[j] allowed rows; None if infeasible."""
    cost = data["cost"]
    n, m = len(cost), len(data["column_demand"])
    k = data["column_demand"]
    cap = data.get("row_capacity", [m] * n)
    sign = -1 if data.get("sense") == "max" else 1
    choices = [list(itertools.combinations([i for i in range(n) if cost[i][j] is not None], k[j])) for j in range(m)]
    best = None
    for pick in itertools.product(*choices):
        load = [0] * n
        for rows in pick:
            for i in rows:
                load[i] += 1
        if any(load[i] > cap[i] for i in range(n)):
            continue
        value = sum(cost[i][j] for j, rows in enumerate(pick) for i in rows)
        if best is None or sign * value < sign * best:
            best = value
    return best


def linprog_optimum(data: dict[str, Any]) -> float | None:
    """The LP relaxation built here from the file's data (columns = k_j, rows <= r_i, 0 <= x <= 1), by linprog."""
    raw = data["cost"]
    n, m = len(raw), len(data["column_demand"])
    cost = np.array([[np.nan if v is None else v for v in row] for row in raw], dtype=float).reshape(n, m)
    pairs = [(i, j) for i in range(n) for j in range(m) if not np.isnan(cost[i, j])]
    sign = -1.0 if data.get("sense") == "max" else 1.0
    a_eq = np.zeros((m, len(pairs)))
    a_ub = np.zeros((n, len(pairs)))
    for q, (i, j) in enumerate(pairs):
        a_eq[j, q] = 1
        a_ub[i, q] = 1
    res = linprog(
        [sign * cost[i, j] for i, j in pairs] or [0.0],
        A_ub=a_ub if pairs else None,
        b_ub=data.get("row_capacity", [m] * n) if pairs else None,
        A_eq=a_eq if pairs else None,
        b_eq=data["column_demand"] if pairs else None,
        bounds=(0, 1),
        method="highs",
    )
    if not pairs:
        return 0.0 if sum(data["column_demand"]) == 0 else None
    assert res.status in (0, 2), res.message
    return None if res.status == 2 else sign * res.fun


def interval(result: allocopt.Result, sense: str) -> tuple[float, float]:
    """[lower, upper] that the result puts around the optimum (a max instance's bound is its upper end)."""
    return (result.bound, result.objective) if sense == "min" else (result.objective, result.bound)


def assert_brackets(result: allocopt.Result, optimum: float, sense: str) -> None:
    assert result.verified and result.status in ("optimal", "feasible"), result
    lower, upper = interval(result, sense)
    slack = TOL * max(1.0, abs(optimum))
    assert lower is not None and upper is not None, result
    assert lower - slack <= optimum <= upper + slack, (result.method, lower, optimum, upper)


def assert_expert_choice(result: allocopt.Result, data: dict[str, Any]) -> None:
    """The solution as the issue states it, counted here: column j has k_j rows, row i at most r_i columns."""
    assign = result.solution["assign"]
    m = len(data["column_demand"])
    load = np.bincount([j for cols in assign for j in cols], minlength=m)
    assert load.tolist() == data["column_demand"]
    cap = data.get("row_capacity")
    if cap is not None:
        assert all(len(cols) <= r for cols, r in zip(assign, cap, strict=True))


# ------------------------------------------------------------------------------------------- uncapped
@st.composite
def uncapped(draw: st.DrawFn) -> dict[str, Any]:
    n, m = draw(st.integers(1, 12)), draw(st.integers(1, 5))
    integral = draw(st.booleans())
    value = st.integers(-9, 20) if integral else st.floats(-5, 10, allow_nan=False).map(lambda x: round(x, 3))
    cost = [
        [draw(st.none() | value) if draw(st.integers(0, 5)) == 0 else draw(value) for _ in range(m)] for _ in range(n)
    ]
    allowed = [sum(cost[i][j] is not None for i in range(n)) for j in range(m)]
    # mostly feasible column demands, now and then one more than a column has allowed rows
    k = [draw(st.integers(0, allowed[j] + (1 if draw(st.integers(0, 9)) == 0 else 0))) for j in range(m)]
    data: dict[str, Any] = {"cost": cost, "sense": draw(st.sampled_from(["min", "max"])), "column_demand": k}
    if draw(st.booleans()):
        data["row_capacity"] = [m + draw(st.integers(0, 2))] * n  # given, but it cannot bind
    return data


@settings(max_examples=40, deadline=None)
@given(uncapped())
def test_top_k_equals_the_lp_and_the_milp_without_row_capacities(data: dict[str, Any]) -> None:
    optimum = linprog_optimum(data)
    topk = allocopt.solve(doc(data))
    assert topk.method == "topk"
    lp = allocopt.solve(doc(data), method="exact", solver="highs")
    milp = allocopt.solve(doc(data), method="milp")
    if optimum is None:
        for r in (topk, lp, milp):
            assert r.status == "infeasible" and r.message == topk.message, (r.method, r.message)
        return
    for r in (topk, lp, milp):
        assert r.status == "optimal" and r.verified, (r.method, r)
        assert r.objective == pytest.approx(optimum, rel=1e-9, abs=1e-9), (r.method, r.objective, optimum)
        assert_expert_choice(r, data)
    if sum(data["column_demand"]) > 0:  # (nothing to assign is answered before any algorithm runs)
        assert "exact" in topk.details["optimality"] and lp.solver == "highs"


def test_top_k_on_4096_tokens_x_64_experts_is_the_lp_optimum() -> None:
    rng = np.random.default_rng(4096)
    scores = rng.normal(size=(4096, 64)) + rng.normal(scale=0.7, size=4096)[:, None]
    data = {"cost": scores.round(4).tolist(), "sense": "max", "column_demand": [128] * 64}
    inst = allocopt.instance_from_dict(doc(data))
    topk = allocopt.solve(inst)
    lp = allocopt.solve(inst, method="exact", solver="highs")
    assert topk.method == "topk" and topk.status == lp.status == "optimal" and topk.verified and lp.verified
    assert topk.objective == pytest.approx(lp.objective, rel=1e-12)
    # the per-expert selection itself, by numpy here: expert j's 128 best-scored tokens
    best = -np.sort(-np.array(data["cost"]), axis=0)[:128].sum()
    assert topk.objective == pytest.approx(best, rel=1e-12)
    counts = np.bincount([len(cols) for cols in topk.solution["assign"]])
    assert counts[0] > 0 and len(counts) > 3  # tokens without an expert, tokens with several: expert choice


def test_token_choice_top_k_where_capacities_cannot_bind() -> None:
    rng = np.random.default_rng(12)
    scores = rng.normal(size=(300, 6))
    data = {"cost": scores.tolist(), "sense": "max", "demand": [2] * 300, "capacity": [300] * 6}
    auto = allocopt.solve(doc(data))
    exact = allocopt.solve(doc(data), method="exact")
    assert auto.method == "topk" and auto.status == exact.status == "optimal"
    assert auto.objective == pytest.approx(np.sort(scores, axis=1)[:, -2:].sum(), rel=1e-12)
    assert auto.objective == pytest.approx(exact.objective, rel=1e-12)
    with pytest.raises(UsageError, match=r"capacity can bind \(column 0: 299 < the 300 rows"):
        allocopt.solve(doc({**data, "capacity": [299] * 6}), method="topk")


# ------------------------------------------------------------------------------------------- capped
def random_capped(rng: np.random.Generator) -> dict[str, Any]:
    """Tiny, with popular rows (a row term in every cost) so that the columns' favourites collide."""
    n, m = int(rng.integers(1, 7)), int(rng.choice([1, 2, 3, 3]))
    integral = rng.random() < 0.5
    values = rng.integers(-9, 20, (n, m)) + rng.integers(-9, 10, (n, 1))
    if not integral:
        values = (rng.uniform(-5, 10, (n, m)) + rng.uniform(-5, 5, (n, 1))).round(3)
    cost: list[list[Any]] = values.tolist()
    for i in range(n):
        for j in range(m):
            if rng.random() < 0.15:
                cost[i][j] = None
    return {
        "cost": cost,
        "sense": str(rng.choice(["min", "max"])),
        "column_demand": [int(x) for x in rng.integers(0, n // 2 + 1, m)],
        "row_capacity": [int(x) for x in rng.choice([0, 1, 1, 1, 2, 3], n)],
    }


def test_capped_against_brute_force_for_every_method() -> None:
    rng = np.random.default_rng(2022)
    seen = {"feasible": 0, "infeasible": 0, "top-k fits": 0, "lp": 0}
    for _ in range(70):
        data = random_capped(rng)
        optimum = brute_force(data)
        seen["infeasible" if optimum is None else "feasible"] += 1
        applies = allocopt.instance_from_dict(doc(data)).spec.methods["topk"].applies
        fits = applies(allocopt.instance_from_dict(doc(data)).data) is None
        for method in ALL:
            if method == "topk" and not fits:
                with pytest.raises(UsageError, match="row_capacity can bind"):
                    allocopt.solve(doc(data), method=method)
                continue
            result = allocopt.solve(doc(data), method=method)
            if optimum is None:
                assert result.status == "infeasible" and result.message, (method, data, result)
                continue
            assert_expert_choice(result, data)
            if method in ("exact", "topk", "milp"):
                assert result.status == "optimal" and result.verified, (method, data, result)
                assert result.objective == pytest.approx(optimum, abs=1e-9), (method, data)
                if method == "exact":
                    seen["top-k fits" if result.solver is None else "lp"] += 1
            else:
                assert_brackets(result, optimum, data["sense"])
    assert min(seen.values()) >= 5, seen  # every branch was exercised


def test_capped_lp_equals_linprog_and_the_milp() -> None:
    rng = np.random.default_rng(3)
    binding = 0
    for _ in range(8):
        n, m = int(rng.integers(20, 60)), int(rng.integers(2, 7))
        scores = rng.normal(size=(n, m)) + rng.normal(scale=1.0, size=n)[:, None]  # popular tokens
        cap = [int(x) for x in rng.integers(1, 3, n)]
        k = [int(x) for x in rng.integers(1, max(2, sum(cap) // m), m)]
        data = {"cost": scores.round(3).tolist(), "sense": "max", "column_demand": k, "row_capacity": cap}
        optimum = linprog_optimum(data)
        exact = allocopt.solve(doc(data), method="exact")
        milp = allocopt.solve(doc(data), method="milp")
        if optimum is None:
            assert exact.status == milp.status == "infeasible"
            continue
        binding += exact.solver == "highs"
        for r in (exact, milp):
            assert r.status == "optimal" and r.verified
            assert r.objective == pytest.approx(optimum, rel=1e-9)
            assert_expert_choice(r, data)
        if exact.solver == "highs":
            prices = exact.details["row_prices"]  # the duals of the row_capacity rows, one per token
            assert len(prices) == n and min(prices) >= 0 and "column_prices" not in exact.details
    assert binding >= 4


def test_exact_takes_the_fast_path_only_when_top_k_meets_the_caps() -> None:
    data = {"cost": [[5, 4], [3, 9], [1, 1]], "sense": "max", "column_demand": [1, 1], "row_capacity": [1, 1, 1]}
    fast = allocopt.solve(doc(data), method="exact")
    assert fast.solver is None and fast.solution["assign"] == [[0], [1], []] and fast.objective == 14
    assert "met every row_capacity" in fast.details["optimality"]
    # both experts want row 0 now: top-k gives it two, its capacity is one
    data["cost"] = [[5, 9], [3, 4], [1, 1]]
    unit = allocopt.solve(doc(data), method="exact")  # every k_j and r_i is 1: linear assignment, transposed
    assert unit.solver == "scipy" and unit.objective == brute_force(data) == 3 + 9
    data["row_capacity"] = [1, 1, 2]
    lp = allocopt.solve(doc(data), method="exact")
    assert lp.solver == "highs" and lp.objective == brute_force(data) == 3 + 9
    assert lp.details["warm_start"] == "greedy" and lp.solution["assign"] == [[1], [0], []]


# ------------------------------------------------------------------------------------------- infeasible
INFEASIBLE = {
    "column demands above the room": (
        {"cost": [[1, 2, 3]] * 4, "column_demand": [2, 2, 2], "row_capacity": [1, 1, 2, 1]},
        "columns need 6 assignments, rows offer 5",
    ),
    "a column with too few allowed rows": (
        {"cost": [[1, None], [2, 3], [4, None]], "column_demand": [1, 2]},
        "column 1 needs 2 distinct rows but only 1 is allowed",
    ),
    "a row capacity of zero counts as not allowed": (
        {"cost": [[1, 2], [3, 4]], "column_demand": [2, 1], "row_capacity": [0, 5]},
        "column 0 needs 2 distinct rows but only 1 is allowed",
    ),
    "Hall: two columns share one row": (
        {"cost": [[1, 2, 3], [4, None, None], [5, None, None]], "column_demand": [1, 1, 1], "row_capacity": [1, 1, 1]},
        "columns 1, 2 need 2 assignments but can only use row 0, which offers 1",
    ),
    "Hall: a column takes a row once": (
        {"cost": [[1, 2, 3], [4, 5, 6], [7, None, None]], "column_demand": [1, 2, 2], "row_capacity": [5, 1, 1]},
        "columns 1, 2 need 4 assignments but can only use rows 0, 1, which can give them at most 3 "
        "(a column takes a row once)",
    ),
}


@pytest.mark.parametrize("case", INFEASIBLE)
@pytest.mark.parametrize("method", ALL)
def test_infeasible_says_why_in_the_instances_words(case: str, method: str) -> None:
    data, reason = INFEASIBLE[case]
    inst = allocopt.instance_from_dict(doc(data))
    if inst.spec.methods[method].applies(inst.data) is not None:
        assert method == "topk"  # only where a row_capacity can bind, and it says so
        with pytest.raises(UsageError, match="row_capacity can bind"):
            allocopt.solve(inst, method=method)
        return
    result = allocopt.solve(inst, method=method)
    assert result.status == "infeasible" and result.solution is None
    assert result.message == reason


def test_nothing_to_assign_and_no_rows() -> None:
    for data in (
        {"cost": [[1, 2], [3, 4]], "column_demand": [0, 0]},
        {"cost": [], "column_demand": [0, 0]},
        {"cost": [[1, 2], [3, 4]], "column_demand": [0, 0], "row_capacity": [0, 0]},
    ):
        for method in ALL:
            result = allocopt.solve(doc(data), method=method)
            assert result.status == "optimal" and result.objective == 0, (method, data, result)
            assert result.solution["assign"] == [[] for _ in data["cost"]]
    result = allocopt.solve(doc({"cost": [], "column_demand": [0, 1]}))
    assert result.status == "infeasible" and result.message == "columns need 1 assignments, rows offer 0"


# ------------------------------------------------------------------------------------------- files
BAD = {
    "column_demand length": ({"cost": [[1, 2], [3, 4]], "column_demand": [1]}, "data.column_demand"),
    "row_capacity length": (
        {"cost": [[1, 2], [3, 4]], "column_demand": [1, 1], "row_capacity": [1]},
        "data.row_capacity",
    ),
    "row_capacity alone": ({"cost": [[1, 2], [3, 4]], "row_capacity": [1, 1]}, "data.row_capacity"),
    "column_demand with capacity": (
        {"cost": [[1, 2], [3, 4]], "column_demand": [1, 1], "capacity": [1, 1]},
        "data.capacity",
    ),
    "column_demand with demand": ({"cost": [[1, 2], [3, 4]], "column_demand": [1, 1], "demand": [1, 1]}, "data.demand"),
    "negative column_demand": ({"cost": [[1, 2], [3, 4]], "column_demand": [1, -1]}, "data.column_demand[1]"),
    "fractional row_capacity": (
        {"cost": [[1, 2], [3, 4]], "column_demand": [1, 1], "row_capacity": [1, 1.5]},
        "data.row_capacity[1]",
    ),
    "null in column_demand": ({"cost": [[1, 2], [3, 4]], "column_demand": [None, 1]}, "data.column_demand[0]"),
    "huge count": ({"cost": [[1, 2], [3, 4]], "column_demand": [1, 10**30]}, "data.column_demand[1]"),
    "huge demand (token choice too)": ({"cost": [[1, 2], [3, 4]], "demand": [2**40, 1]}, "data.demand[0]"),
    "column_demand no list": ({"cost": [[1, 2], [3, 4]], "column_demand": 2}, "data.column_demand"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_files_name_the_json_path(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, path = BAD[case]
    with pytest.raises(InstanceError) as err:
        allocopt.instance_from_dict(doc(data))
    assert err.value.path == tuple(_parts(path)), str(err.value)
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(doc(data)))
    assert main(["validate", str(src)]) == 2
    err_text = capsys.readouterr().err
    assert path in err_text and "Traceback" not in err_text
    assert main(["solve", str(src), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def _parts(path: str) -> list[str | int]:
    """'data.row_capacity[1]' -> ['data', 'row_capacity', 1]."""
    out: list[str | int] = []
    for piece in path.replace("]", "").split("."):
        name, *index = piece.split("[")
        out.append(name)
        out.extend(int(i) for i in index)
    return out


# ------------------------------------------------------------------------------------------- the rest
def test_checker_rejects_what_it_must() -> None:
    inst = allocopt.instance_from_dict(
        doc({"cost": [[1, 2, None], [3, 4, 5]], "column_demand": [2, 1, 1], "row_capacity": [2, 3]})
    )
    assert allocopt.verify(inst, {"assign": [[0, 1], [0, 2]]}).objective == 1 + 2 + 3 + 5
    for bad, words in (
        ({"assign": [[0, 1], [0]]}, "column 2 takes 0 rows, its column_demand is 1"),
        ({"assign": [[1], [0, 2]]}, "column 0 takes 1 rows, its column_demand is 2"),
        ({"assign": [[0, 1], [0, 1, 2]]}, "column 1 takes 2 rows, its column_demand is 1"),
        ({"assign": [[0, 0], [1, 2]]}, "twice"),
        ({"assign": [[0, 2], [0, 1]]}, "forbidden"),
        ({"assign": [[0, 1], [0, 2, 3]]}, "not a column index"),
        ({"assign": [[0, 1]]}, "list of 2"),
    ):
        verdict = allocopt.verify(inst, bad)
        assert not verdict.feasible and words in verdict.reason, (bad, verdict)
    tight = allocopt.instance_from_dict(
        doc({"cost": [[1, 2], [3, 4]], "column_demand": [1, 1], "row_capacity": [1, 2]})
    )
    verdict = allocopt.verify(tight, {"assign": [[0, 1], []]})
    assert not verdict.feasible and "row 0 gets 2 columns, its row_capacity is 1" in verdict.reason


def test_round_trip_solution_file_and_extended_model(tmp_path: Path) -> None:
    data = {"cost": [[4, 1, None], [2, 3, 1], [3, 2, 2]], "sense": "max", "column_demand": [2, 1, 1]}
    inst = allocopt.instance_from_dict(doc(data))
    assert allocopt.envelope.instance_to_dict(inst)["data"] == data
    assert (
        inst.data.kind()
        == "expert-choice routing 3 x 3 (column demand 1..2, row capacity unlimited, max, 1 forbidden pairs)"
    )
    result = allocopt.solve(inst)
    assert result.method == "topk" and result.objective == brute_force(data) == (4 + 3) + 3 + 2
    path = tmp_path / "t.solution.json"
    allocopt.save(result, path)
    assert allocopt.check(inst, allocopt.envelope.load_solution(path)).feasible
    # the Pyomo model, written for expert choice, is the user's to extend: keep row 2 out of column 0
    pyomo_model = allocopt.build_model(inst)
    assert {c.name for c in pyomo_model.component_objects()} >= {"column_demand", "row_capacity", "x"}
    pyomo_model.x[2, 0].fix(0)
    extended = allocopt.solve(inst, method="milp", model=pyomo_model)
    forbidden = {**data, "cost": [[4, 1, None], [2, 3, 1], [None, 2, 2]]}
    assert extended.status == "optimal" and extended.objective == brute_force(forbidden) == (4 + 2) + 3 + 2


def test_other_methods_report_row_terms_in_details() -> None:
    rng = np.random.default_rng(8)
    scores = rng.normal(size=(120, 6)) + rng.normal(scale=1.0, size=120)[:, None]
    data = {"cost": scores.round(3).tolist(), "sense": "max", "column_demand": [30] * 6, "row_capacity": [2] * 120}
    exact = allocopt.solve(doc(data), method="exact")
    prices = allocopt.solve(doc(data), method="prices")
    assert exact.solver == "highs" and len(exact.details["row_prices"]) == 120
    assert len(prices.details["row_bias"]) == 120 and "overloaded_rows" in prices.details
    assert_brackets(prices, exact.objective, "max")
    assert model.infeasibility(allocopt.instance_from_dict(doc(data)).data) is None


# ------------------------------------------------------------------------------------------- committed files
def _generator() -> Any:
    path = INSTANCES / "assignment" / "expert-choice-generate.py"
    spec = importlib.util.spec_from_file_location("expert_choice_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["expert-choice-uncapped", "expert-choice-capped"])
def test_committed_instances_are_generated_and_their_optima_hold(name: str) -> None:
    path = INSTANCES / "assignment" / f"{name}.json"
    committed = json.loads(path.read_text())
    made = _generator().instance_docs()[name]
    assert committed["data"] == made["data"] and committed["description"] == made["description"]
    optimum = committed["reference"]["optimum"]
    assert linprog_optimum(committed["data"]) == pytest.approx(optimum, abs=1e-9)
    result = allocopt.solve(allocopt.load(path))
    assert result.method == ("topk" if name.endswith("uncapped") else "exact")
    assert result.status == "optimal" and result.verified and result.objective == pytest.approx(optimum, abs=1e-9)
