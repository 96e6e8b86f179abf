"""fisher_market through the front door, against numbers nobody here computed.

- hand-derived equilibria (the committed 2x2 linear and Leontief instances), closed forms for one good and for
  identical buyers;
- the EG program written again here and solved by scipy.optimize (SLSQP) on tiny random markets;
- the EG dual written again here in CVXPY (prices and betas as variables): its optimum equals the primal value;
  and any prices give a bound above the optimum (weak duality);
- the equilibrium conditions checked directly on random markets (clearing, budgets, best bang-per-buck);
- proportional response against the conic solver (prices within 1e-4 at tol 1e-8), sparse against dense;
- the checker (over-supply, a buyer with nothing, shapes) and bad input through the command line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import INSTANCES, instance_doc, instance_files
from scipy.optimize import minimize

import allocopt
import allocopt.methods.fisher_market  # registers the problem
from allocopt import cli
from allocopt.errors import UsageError
from allocopt.solvers.fisher_duals import leontief_bound, linear_bound
from allocopt.solvers.fisher_proportional_response import proportional_response

FOLDER = INSTANCES / "fisher_market"
EQ_TOL = 1e-6


def doc(data: dict[str, Any]) -> dict[str, Any]:
    return instance_doc("fisher_market", data)


def random_market(rng: np.random.Generator, n: int, m: int, density: float = 1.0) -> dict[str, Any]:
    util = np.round(rng.uniform(0, 5, (n, m)), 3) * (rng.random((n, m)) < density)
    for i in range(n):
        if util[i].max() <= 0:
            util[i, rng.integers(m)] = 1.0
    return {
        "budgets": np.round(rng.uniform(0.5, 5, n), 3).tolist(),
        "utilities": util.tolist(),
        "supply": np.round(rng.uniform(0.5, 3, m), 3).tolist(),
    }


def arrays(result: allocopt.Result) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(result.solution["allocation"]), np.asarray(result.solution["prices"])


def assert_equilibrium(data: dict[str, Any], x: np.ndarray, p: np.ndarray, tol: float = EQ_TOL) -> None:
    """The equilibrium conditions, written here from their definitions."""
    budgets = np.asarray(data["budgets"], dtype=float)
    util = np.asarray(data["utilities"], dtype=float)
    supply = np.asarray(data.get("supply", [1.0] * util.shape[1]), dtype=float)
    assert np.all(x >= 0) and np.all(p >= 0)
    sold = x.sum(axis=0)
    assert np.all(sold <= supply * (1 + 1e-7))
    for j in range(len(p)):  # clearing: every good with a (clearly) positive price is sold out
        if p[j] > tol * p.max():
            assert sold[j] == pytest.approx(supply[j], rel=tol)
    spent = x @ p
    np.testing.assert_allclose(spent, budgets, rtol=tol)  # every budget spent
    if data.get("utility", "linear") == "linear":
        for i in range(len(budgets)):
            best = max(util[i, j] / p[j] for j in range(len(p)) if util[i, j] > 0)
            for j in range(len(p)):
                if x[i, j] > tol * supply[j]:  # buys only best bang-per-buck goods
                    assert util[i, j] / p[j] >= best * (1 - tol), (i, j)


# --------------------------------------------------------------------------------------------- hand-derived
def test_linear_2x2_hand_equilibrium_by_both_methods() -> None:
    inst = allocopt.load(FOLDER / "linear-2x2.json")
    for method, opts in (("convex", {}), ("proportional_response", {"tol": 1e-12})):
        r = allocopt.solve(inst, method=method, **opts)
        assert r.status == "optimal" and r.verified
        x, p = arrays(r)
        assert r.objective == pytest.approx(3 * math.log(4 / 3), abs=1e-9)
        np.testing.assert_allclose(p, [1.5, 1.5], rtol=1e-6)
        np.testing.assert_allclose(x, [[1, 1 / 3], [0, 2 / 3]], atol=1e-6)


def test_leontief_2x2_hand_equilibrium() -> None:
    inst = allocopt.load(FOLDER / "leontief-2x2.json")
    r = allocopt.solve(inst)
    assert r.method == "convex" and r.status == "optimal"
    x, p = arrays(r)
    assert r.objective == pytest.approx(3 * math.log(0.5), abs=1e-9)
    np.testing.assert_allclose(p, [2, 2], rtol=1e-6)
    np.testing.assert_allclose(x, [[0.5, 0.5], [0.5, 0]], atol=1e-7)
    assert_equilibrium(inst.spec.to_data(inst.data), x, p)


def test_leontief_bound_is_the_hand_dual() -> None:
    # D-Leontief at p = (2, 2): s.p - sum B log(a.p) + sum(B log B - B) = 3 - 2 log 4 - log 2 + 2 log 2 - 3.
    value = leontief_bound(np.array([[1.0, 1], [1, 0]]), np.array([2.0, 1]), np.array([1, 0.5]), np.array([2.0, 2]))
    assert value == pytest.approx(3 - 2 * math.log(4) - math.log(2) + 2 * math.log(2) - 3, abs=1e-12)
    assert value == pytest.approx(3 * math.log(0.5), abs=1e-12)


@pytest.mark.parametrize("method", ["convex", "proportional_response"])
def test_one_good_closed_form(rng: np.random.Generator, method: str) -> None:
    # One good: everyone buys it, the price is total budget / supply, shares follow the budgets.
    budgets = rng.uniform(0.5, 3, 6)
    util = rng.uniform(0.5, 2, 6)
    s = 2.5
    r = allocopt.solve(doc({"budgets": budgets.tolist(), "utilities": [[u] for u in util], "supply": [s]}), method)
    x, p = arrays(r)
    assert r.status == "optimal"
    assert p[0] == pytest.approx(budgets.sum() / s, rel=1e-7)
    np.testing.assert_allclose(x[:, 0], s * budgets / budgets.sum(), rtol=1e-7)
    assert r.objective == pytest.approx(float(budgets @ np.log(util * s * budgets / budgets.sum())), abs=1e-7)


@pytest.mark.parametrize("method", ["convex", "proportional_response"])
def test_identical_buyers_closed_form(rng: np.random.Generator, method: str) -> None:
    # n identical buyers, budget b: prices proportional to utility, p_j = u_j n b / (u.s), EG = n b log(u.s / n).
    n, b = 5, 1.7
    u = rng.uniform(0.5, 2, 4)
    s = rng.uniform(0.5, 2, 4)
    data = {"budgets": [b] * n, "utilities": [u.tolist()] * n, "supply": s.tolist()}
    r = allocopt.solve(doc(data), method, **({"tol": 1e-10} if method != "convex" else {}))
    _, p = arrays(r)
    assert r.status == "optimal"
    np.testing.assert_allclose(p, u * n * b / (u @ s), rtol=1e-6)
    assert r.objective == pytest.approx(n * b * math.log(u @ s / n), abs=1e-7)


# --------------------------------------------------------------------------------------------- scipy and dual
def scipy_eg(data: dict[str, Any]) -> tuple[float, np.ndarray]:
    """max sum B log(U x) s.t. column sums <= supply, x >= 0, by SLSQP (the EG program written again)."""
    budgets = np.asarray(data["budgets"], dtype=float)
    util = np.asarray(data["utilities"], dtype=float)
    supply = np.asarray(data["supply"], dtype=float)
    n, m = util.shape

    def neg(z: np.ndarray) -> float:
        return -float(budgets @ np.log(np.maximum((util * z.reshape(n, m)).sum(axis=1), 1e-300)))

    def grad(z: np.ndarray) -> np.ndarray:
        u = (util * z.reshape(n, m)).sum(axis=1)
        return -(util * (budgets / u)[:, None]).ravel()

    cons = [{"type": "ineq", "fun": lambda z, j=j: supply[j] - z.reshape(n, m)[:, j].sum()} for j in range(m)]
    start = np.tile(supply / n, (n, 1)).ravel()
    res = minimize(
        neg,
        start,
        jac=grad,
        bounds=[(0, None)] * (n * m),
        constraints=cons,
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    z = res.x.reshape(n, m)
    return -res.fun, (util * z).sum(axis=1)


@pytest.mark.parametrize("seed", range(6))
def test_convex_matches_scipy_on_tiny_markets(seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = random_market(rng, int(rng.integers(2, 5)), int(rng.integers(1, 4)), density=0.8)
    value, utilities = scipy_eg(data)
    r = allocopt.solve(doc(data), "convex")
    assert r.status == "optimal"
    assert r.objective == pytest.approx(value, abs=1e-6 * max(1, abs(value)))
    x, _ = arrays(r)
    # EG utilities are unique (strictly concave in u)
    np.testing.assert_allclose((np.asarray(data["utilities"]) * x).sum(axis=1), utilities, rtol=1e-4)


def cvxpy_dual(data: dict[str, Any]) -> float:
    """The linear EG dual written again: min s.p - sum B log beta + sum(B log B - B) s.t. U_ij beta_i <= p_j."""
    budgets = np.asarray(data["budgets"], dtype=float)
    util = np.asarray(data["utilities"], dtype=float)
    supply = np.asarray(data["supply"], dtype=float)
    n, m = util.shape
    p = cp.Variable(m, nonneg=True)
    beta = cp.Variable(n, pos=True)
    cons = [util[i, j] * beta[i] <= p[j] for i in range(n) for j in range(m) if util[i, j] > 0]
    const = float(budgets @ np.log(budgets) - budgets.sum())
    prob = cp.Problem(cp.Minimize(supply @ p - budgets @ cp.log(beta) + const), cons)
    prob.solve(solver=cp.CLARABEL)
    return float(prob.value)


def cvxpy_leontief_dual(data: dict[str, Any]) -> float:
    """D-Leontief written again: min s.p - sum B log(A p) + sum(B log B - B), p >= 0."""
    budgets = np.asarray(data["budgets"], dtype=float)
    need = np.asarray(data["utilities"], dtype=float)
    supply = np.asarray(data["supply"], dtype=float)
    p = cp.Variable(need.shape[1], nonneg=True)
    const = float(budgets @ np.log(budgets) - budgets.sum())
    prob = cp.Problem(cp.Minimize(supply @ p - budgets @ cp.log(need @ p) + const))
    prob.solve(solver=cp.CLARABEL)
    return float(prob.value)


@pytest.mark.parametrize("seed", range(4))
def test_primal_value_equals_dual_value_at_the_optimum(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    data = random_market(rng, 7, 4, density=0.7)
    r = allocopt.solve(doc(data), "convex")
    assert r.objective == pytest.approx(cvxpy_dual(data), abs=1e-6 * max(1, abs(r.objective)))
    leo = dict(random_market(rng, 6, 3), utility="leontief")
    r = allocopt.solve(doc(leo), "convex")
    assert r.status == "optimal"
    assert r.objective == pytest.approx(cvxpy_leontief_dual(leo), abs=1e-6 * max(1, abs(r.objective)))


def test_any_prices_bound_the_optimum_from_above(rng: np.random.Generator) -> None:
    data = random_market(rng, 8, 5, density=0.6)
    opt = allocopt.solve(doc(data), "convex").objective
    util, budgets, supply = (np.asarray(data[k], dtype=float) for k in ("utilities", "budgets", "supply"))
    leo = allocopt.solve(doc(dict(data, utility="leontief")), "convex").objective
    for _ in range(50):
        p = rng.uniform(0.01, 10, 5)
        assert linear_bound(util, budgets, supply, p) >= opt - 1e-9
        assert leontief_bound(util, budgets, supply, p) >= leo - 1e-9


# --------------------------------------------------------------------------------------------- equilibrium
@pytest.mark.parametrize("seed", range(5))
def test_convex_satisfies_the_equilibrium_conditions(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    data = random_market(rng, int(rng.integers(3, 25)), int(rng.integers(2, 10)), density=float(rng.uniform(0.3, 1)))
    r = allocopt.solve(doc(data), "convex")
    assert r.status == "optimal" and r.verified
    assert_equilibrium(data, *arrays(r))
    assert max(v for k, v in r.details.items() if k.startswith("residual_")) <= EQ_TOL
    leo = dict(data, utility="leontief")
    r = allocopt.solve(doc(leo), "convex")
    assert r.status == "optimal"
    assert_equilibrium(leo, *arrays(r))


@pytest.mark.parametrize("seed", range(4))
def test_proportional_response_matches_convex(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    data = random_market(rng, 12, 6, density=0.7)
    exact = allocopt.solve(doc(data), "convex")
    pr = allocopt.solve(doc(data), "proportional_response", tol=1e-8)
    assert pr.status == "optimal" and pr.gap <= 1e-8 and pr.details["stop"] == "tol"
    assert pr.objective == pytest.approx(exact.objective, abs=1e-7 * max(1, abs(exact.objective)))
    np.testing.assert_allclose(arrays(pr)[1], arrays(exact)[1], rtol=1e-4)
    assert pr.details["residual_budget"] <= 1e-9 and pr.details["residual_clearing"] <= 1e-9


def test_sparse_and_dense_sweeps_follow_the_same_iterates(rng: np.random.Generator) -> None:
    data = random_market(rng, 30, 12, density=0.3)
    util = np.asarray(data["utilities"])
    budgets, supply = np.asarray(data["budgets"]), np.asarray(data["supply"])
    dense = proportional_response(util, budgets, supply, tol=0.0, max_iter=40)
    sparse = proportional_response(sp.csr_array(util), budgets, supply, tol=0.0, max_iter=40)
    assert sparse.representation == "sparse" and sparse.iterations == dense.iterations == 40
    np.testing.assert_allclose(sparse.prices, dense.prices, rtol=1e-12)
    np.testing.assert_allclose(sparse.allocation, dense.allocation, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("seed", range(3))
def test_active_set_reaches_the_conic_equilibrium(seed: int) -> None:
    # The active-set path (forced on a small market, with rounds short enough to re-admit pairs several times).
    rng = np.random.default_rng(400 + seed)
    data = random_market(rng, 60, 15)
    exact = allocopt.solve(doc(data), "convex")
    util, budgets, supply = (np.asarray(data[k], dtype=float) for k in ("utilities", "budgets", "supply"))
    r = proportional_response(util, budgets, supply, tol=1e-8, active_set=True)
    assert r.representation == "active set" and r.stop == "tol" and r.gap <= 1e-8
    assert r.bound >= exact.objective - 1e-9 * abs(exact.objective)  # a valid bound over every pair
    assert r.objective == pytest.approx(exact.objective, abs=1e-8 * max(1, abs(exact.objective)))
    np.testing.assert_allclose(r.prices, arrays(exact)[1], rtol=1e-4)
    verdict = allocopt.verify(doc(data), {"allocation": r.allocation.tolist(), "prices": r.prices.tolist()})
    assert verdict.feasible and verdict.objective == pytest.approx(r.objective, abs=1e-9 * abs(r.objective))


def test_pr_stops_at_max_iter_with_an_honest_gap(rng: np.random.Generator) -> None:
    r = allocopt.solve(doc(random_market(rng, 20, 8)), "proportional_response", max_iter=3)
    assert r.status == "feasible" and r.verified and r.details["stop"] == "max_iter"
    assert r.bound > r.objective and "max_iter" in r.message


def test_extended_model_is_solved_and_bounded_by_the_original_dual() -> None:
    inst = allocopt.load(FOLDER / "linear-2x2.json")
    problem = allocopt.build_model(inst)
    x = problem.variables()[0]
    extended = cp.Problem(problem.objective, [*problem.constraints, x[1, 1] <= 0.5])
    r = allocopt.solve(inst, method="convex", model=extended)
    assert r.verified and r.objective < 3 * math.log(4 / 3) - 1e-3
    assert r.solution["allocation"][1][1] <= 0.5 + 1e-7
    assert r.bound >= 3 * math.log(4 / 3) - 1e-9  # still a valid bound, so not "optimal" for the extension
    assert r.status == "feasible"


def test_every_instance_solves_to_its_reference() -> None:
    files = instance_files(FOLDER)
    assert len(files) >= 3
    for path in files:
        inst = allocopt.load(path)
        r = allocopt.solve(inst, time_limit=5)
        assert r.status == "optimal" and r.verified, path
        ref = inst.reference_optimum
        if ref is not None:
            assert r.objective == pytest.approx(ref, abs=1e-6 * max(1, abs(ref))), path


def test_medium_instance_by_both_methods_and_solvers() -> None:
    inst = allocopt.load(FOLDER / "linear-200x50.json")
    clarabel = allocopt.solve(inst, method="convex")
    scs = allocopt.solve(inst, method="convex", solver="scs")
    pr = allocopt.solve(inst, method="proportional_response")
    assert clarabel.status == "optimal"
    assert scs.objective == pytest.approx(clarabel.objective, abs=1e-5)
    assert pr.objective == pytest.approx(clarabel.objective, rel=1e-6) and pr.status == "optimal"
    np.testing.assert_allclose(arrays(pr)[1], arrays(clarabel)[1], rtol=1e-2)
    assert_equilibrium(inst.spec.to_data(inst.data), *arrays(clarabel))


# --------------------------------------------------------------------------------------------- checker
def test_checker_rejects_over_supply_and_reports_the_eg_value() -> None:
    inst = allocopt.load(FOLDER / "linear-2x2.json")
    ok = allocopt.verify(inst, {"allocation": [[1, 1 / 3], [0, 2 / 3]], "prices": [1.5, 1.5]})
    assert ok.feasible and ok.objective == pytest.approx(3 * math.log(4 / 3), abs=1e-12)
    bad = allocopt.verify(inst, {"allocation": [[1, 0.5], [0, 0.5 + 1e-6]], "prices": [1.5, 1.5]})
    assert not bad.feasible and "good 1" in bad.reason and "supply" in bad.reason
    within = allocopt.verify(inst, {"allocation": [[1, 0.5], [0, 0.5 + 1e-8]], "prices": [1, 1]})
    assert within.feasible  # 1e-7 relative tolerance


@pytest.mark.parametrize(
    ("solution", "words"),
    [
        ({"allocation": [[1, 0], [0, 0]], "prices": [1, 1]}, "buyer 1 gets utility 0"),
        ({"allocation": [[1, 0]], "prices": [1, 1]}, "list of 2 lists"),
        ({"allocation": [[1, 0], [0, -0.1]], "prices": [1, 1]}, "allocation[1][1]"),
        ({"allocation": [[1, 0], [0, 1]], "prices": [1]}, "prices"),
        ({"allocation": [[1, 0], [0, 1]], "prices": [1, -1]}, "prices[1]"),
    ],
)
def test_checker_rejections(solution: dict[str, Any], words: str) -> None:
    verdict = allocopt.verify(allocopt.load(FOLDER / "linear-2x2.json"), solution)
    assert not verdict.feasible and verdict.objective is None and words in verdict.reason


def test_leontief_checker_uses_the_scarcest_good() -> None:
    inst = allocopt.load(FOLDER / "leontief-2x2.json")
    v = allocopt.verify(inst, {"allocation": [[0.5, 0.25], [0.5, 0.25]], "prices": [0, 0]})
    assert v.feasible and v.objective == pytest.approx(2 * math.log(0.25) + math.log(0.5))


# --------------------------------------------------------------------------------------------- bad input
GOOD = {"budgets": [1, 2], "utilities": [[1, 0], [1, 1]], "supply": [1, 2]}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"budgets": [1, 0]}, "data.budgets[1]"),
        ({"budgets": [-1, 2]}, "data.budgets[0]"),
        ({"utilities": [[1, 0], [0, 0]]}, "data.utilities[1]"),
        ({"utilities": [[1, 0], [1]]}, "data.utilities[1]"),
        ({"utilities": [[1, 0], [1, -2]]}, "data.utilities[1][1]"),
        ({"utilities": [[1, 0]]}, "data.utilities"),
        ({"supply": [0, 2]}, "data.supply[0]"),
        ({"supply": [1, -2]}, "data.supply[1]"),
        ({"supply": [1, 2, 3]}, "data.supply"),
        ({"utility": "cobb-douglas"}, "data.utility"),
        ({"utilities": [[1, 0], [0, 0]], "utility": "leontief"}, "data.utilities[1]"),
    ],
)
def test_bad_input_exits_2_with_the_json_path(capsys, tmp_path: Path, change: dict[str, Any], path: str) -> None:
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(doc({**GOOD, **change})), encoding="utf-8")
    code = cli.main(["solve", str(src)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"bad.json: {path}" in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.solution.json"))


def test_usage_errors() -> None:
    inst = allocopt.load(FOLDER / "leontief-2x2.json")
    with pytest.raises(UsageError, match="linear utilities"):
        allocopt.solve(inst, method="proportional_response")
    lin = allocopt.load(FOLDER / "linear-2x2.json")
    with pytest.raises(UsageError, match="'tol'"):
        allocopt.solve(lin, method="proportional_response", tol=-1)
    with pytest.raises(UsageError, match="'max_iter'"):
        allocopt.solve(lin, method="proportional_response", max_iter=0)
    with pytest.raises(UsageError, match="'active_set'"):
        allocopt.solve(lin, method="proportional_response", active_set="yes")
    with pytest.raises(UsageError, match="'prices'"):
        allocopt.solve(lin, method="convex", prices="shadow")
    with pytest.raises(UsageError, match="does not take solver"):
        allocopt.solve(lin, method="proportional_response", solver="scs")
