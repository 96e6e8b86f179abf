"""The CVXPY runner, on the knapsack's LP relaxation (whose optimum is Dantzig's bound)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from allocopt.errors import UsageError
from allocopt.solvers.convex import solve_problem
from allocopt.solvers.knapsack_greedy import greedy_single


def lp_relaxation(values: np.ndarray, weights: np.ndarray, capacity: float) -> cp.Problem:
    x = cp.Variable(len(values))
    return cp.Problem(cp.Maximize(values @ x), [weights @ x <= capacity, x >= 0, x <= 1])


@pytest.mark.parametrize("solver", ["clarabel", "scs"])
def test_lp_relaxation_equals_dantzig_bound(solver: str) -> None:
    rng = np.random.default_rng(8)
    for _ in range(5):
        n = 40
        w = rng.integers(1, 100, n).astype(float)
        v = (w + rng.integers(0, 30, n)).astype(float)
        cap = float(w.sum() / 3)
        run = solve_problem(lp_relaxation(v, w, cap), solver=solver)
        assert run.status == "solved" and run.solver == solver
        dantzig = greedy_single(v, w, cap).bound
        assert run.objective == pytest.approx(dantzig, rel=1e-6 if solver == "clarabel" else 1e-3)


def test_infeasible_and_unknown_solver() -> None:
    x = cp.Variable(2)
    infeasible = cp.Problem(cp.Minimize(cp.sum(x)), [x >= 1, cp.sum(x) <= 1])
    run = solve_problem(infeasible)
    assert run.status == "infeasible" and run.objective is None
    with pytest.raises(UsageError, match="not installed; available: clarabel"):
        solve_problem(infeasible, solver="mosek")
