"""The MILP runner: zero gap by default, time limits with incumbent and bound, the status tables."""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo
import pytest
from conftest import instance_doc
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.opt import TerminationCondition as LegacyTC

import allocopt
from allocopt.errors import UsageError
from allocopt.solvers import milp


def hard_multidimensional(seed: int = 1, n: int = 250, m: int = 10) -> dict:
    """Chu-Beasley style correlated instance: HiGHS cannot prove it optimal within a second."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(1, 1001, size=(m, n))
    capacity = (0.25 * weights.sum(axis=1)).astype(int)
    values = (weights.sum(axis=0) / m + 500 * rng.random(n)).astype(int)
    return instance_doc(
        "knapsack", {"values": values.tolist(), "weights": weights.tolist(), "capacity": capacity.tolist()}
    )


def test_time_limit_returns_incumbent_and_bound() -> None:
    start = time.perf_counter()
    result = allocopt.solve(hard_multidimensional(), method="milp", time_limit=1.0)
    elapsed = time.perf_counter() - start
    assert elapsed < 10
    assert result.details["termination"] == "maxTimeLimit"
    assert result.status == "feasible" and result.verified
    assert result.bound is not None and result.bound > result.objective
    assert result.gap == pytest.approx((result.bound - result.objective) / result.objective)


def test_status_follows_the_gap_not_the_solver() -> None:
    """With a relaxed gap HiGHS stops 'optimal', but the proof is missing, so the status is feasible."""
    result = allocopt.solve(hard_multidimensional(), method="milp", time_limit=5.0, mip_gap=0.05)
    assert result.status == "feasible"
    assert 0 < result.gap <= 0.05 + 1e-9


def test_default_is_a_zero_gap_proof() -> None:
    small = hard_multidimensional(seed=2, n=30, m=5)
    result = allocopt.solve(small, method="milp")
    assert (
        result.status == "optimal"
        and result.gap <= 1e-6
        and result.details["termination"] == ("convergenceCriteriaSatisfied")
    )


def test_infeasible_model() -> None:
    data = {
        "values": [1, 1],
        "weights": [[5, 6], [1, 1]],
        "capacity": [4, 4],
        "groups": [0, 0],
        "choose": "exactly_one",
    }
    result = allocopt.solve(instance_doc("knapsack", data), method="milp")
    assert result.status == "infeasible" and result.solution is None and result.objective is None


def test_missing_solver_is_a_usage_error_listing_what_is_installed() -> None:
    model = pyo.ConcreteModel()
    model.x = pyo.Var(domain=pyo.Binary)
    model.o = pyo.Objective(expr=model.x, sense=pyo.maximize)
    with pytest.raises(UsageError, match=r"solver 'nonexistent-solver' is not installed; available: highs"):
        milp.solve_model(model, solver="nonexistent-solver")
    with pytest.raises(UsageError, match="mip_gap"):
        milp.solve_model(model, mip_gap=2.0)
    run = milp.solve_model(model)
    assert run.status == "solved" and run.objective == 1.0 and run.bound == 1.0


def test_user_extended_model_is_solved_decoded_and_checked() -> None:
    doc = instance_doc("knapsack", {"values": [3, 2, 4], "weights": [2, 2, 3], "capacity": 4})
    model = allocopt.build_model(doc)
    plain = allocopt.solve(doc, method="milp")
    assert plain.solution == {"take": [1, 1, 0]}
    model.not_first = pyo.Constraint(expr=model.take[0] == 0)  # the user's own rule
    result = allocopt.solve(doc, method="milp", model=model)
    assert result.solution == {"take": [0, 0, 1]} and result.objective == 4 and result.verified


def test_status_tables_cover_every_termination_code() -> None:
    assert set(TerminationCondition) <= set(milp._CONTRIB_TABLE)
    assert set(LegacyTC) <= set(milp._LEGACY_TABLE)


def _all_zero_model(rhs: float) -> pyo.ConcreteModel:
    """Variables that appear only with coefficient 0: the solver is handed an empty model."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var([0, 1], domain=pyo.Binary)
    m.y = pyo.Var(bounds=(2.5, 7), domain=pyo.Integers)
    m.objective = pyo.Objective(expr=0 * m.x[0] + 0 * m.y + 4, sense=pyo.maximize)
    m.limit = pyo.Constraint(expr=0 * m.x[1] <= rhs)
    return m


def test_a_model_whose_variables_all_have_zero_coefficients_is_solved_by_evaluation() -> None:
    m = _all_zero_model(0)
    run = milp.solve_model(m, "highs")
    assert (run.status, run.objective, run.bound) == ("solved", 4.0, 4.0)
    assert (m.x[0].value, m.x[1].value, m.y.value) == (0, 0, 3)  # each variable's domain value nearest 0
    assert milp.solve_model(_all_zero_model(-1), "highs").status == "infeasible"
    bad = milp._evaluate_constant_model(_all_zero_model(-1), "highs")  # when a solver answers "unknown" to it
    assert bad is not None and bad.status == "infeasible" and "limit" in bad.message
    counted = pyo.ConcreteModel()
    counted.x = pyo.Var(domain=pyo.Binary)
    counted.o = pyo.Objective(expr=counted.x, sense=pyo.maximize)
    assert milp._evaluate_constant_model(counted, "highs") is None  # a variable that counts: not constant


@pytest.mark.parametrize("problem", ["knapsack", "bounded", "choice"])
def test_items_worth_nothing_and_weighing_nothing_found_by_hypothesis(problem: str) -> None:
    data = {"values": [0], "weights": [0], "capacity": 0}
    if problem == "bounded":
        data["copies"] = [3]
    if problem == "choice":
        data["groups"] = [0]
    r = allocopt.solve(allocopt.instance_from_dict(instance_doc("knapsack", data)), method="milp")
    assert (r.status, r.objective, r.verified) == ("optimal", 0.0, True)
