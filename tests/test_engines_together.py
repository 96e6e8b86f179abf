"""OR-Tools (>= 9.15) and highspy (>= 1.16) import and solve in one process, in either import order.

Older pairs bundled clashing builds and failed at import with an undefined symbol, so this runs each order in a
fresh interpreter (the test process may already have imported one of them) and solves a small MILP with each
engine there: HiGHS directly through highspy and through Pyomo, OR-Tools through CP-SAT and its own MIP wrapper.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

SCRIPT = """
import sys
order = sys.argv[1].split(",")
for name in order:
    __import__({"highs": "highspy", "ortools": "ortools.sat.python.cp_model"}[name])

import highspy
import numpy as np
import pyomo.environ as pyo
from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

# max 5x + 4y + 3z  s.t. 2x + 3y + z <= 5, 4x + y + 2z <= 11, 3x + 4y + 2z <= 8, x, y, z binary
values, rows, caps = [5, 4, 3], [[2, 3, 1], [4, 1, 2], [3, 4, 2]], [5, 11, 8]

h = highspy.Highs()
h.setOptionValue("output_flag", False)
x = [h.addBinary() for _ in values]
for row, cap in zip(rows, caps):
    h.addConstr(sum(a * v for a, v in zip(row, x)) <= cap)
h.maximize(sum(c * v for c, v in zip(values, x)))
print("highspy", h.getInfo().objective_function_value)

m = pyo.ConcreteModel()
m.x = pyo.Var(range(3), domain=pyo.Binary)
m.obj = pyo.Objective(expr=sum(values[i] * m.x[i] for i in range(3)), sense=pyo.maximize)
m.rows = pyo.ConstraintList()
for row, cap in zip(rows, caps):
    m.rows.add(sum(row[i] * m.x[i] for i in range(3)) <= cap)
from pyomo.contrib.solver.common.factory import SolverFactory
res = SolverFactory("highs").solve(m)
print("pyomo-highs", res.incumbent_objective)

cp = cp_model.CpModel()
y = [cp.new_bool_var(f"y{i}") for i in range(3)]
for row, cap in zip(rows, caps):
    cp.add(sum(a * v for a, v in zip(row, y)) <= cap)
cp.maximize(sum(c * v for c, v in zip(values, y)))
solver = cp_model.CpSolver()
solver.parameters.num_workers = 1
assert solver.solve(cp) == cp_model.OPTIMAL
print("cpsat", solver.objective_value)

lp = pywraplp.Solver.CreateSolver("SCIP") or pywraplp.Solver.CreateSolver("CBC")
z = [lp.BoolVar(f"z{i}") for i in range(3)]
for row, cap in zip(rows, caps):
    lp.Add(sum(a * v for a, v in zip(row, z)) <= cap)
lp.Maximize(sum(c * v for c, v in zip(values, z)))
assert lp.Solve() == pywraplp.Solver.OPTIMAL
print("ortools-mip", lp.Objective().Value())
"""


def _brute_force() -> float:
    import itertools

    values, rows, caps = [5, 4, 3], [[2, 3, 1], [4, 1, 2], [3, 4, 2]], [5, 11, 8]
    best = 0.0
    for take in itertools.product((0, 1), repeat=3):
        if all(sum(a * t for a, t in zip(r, take, strict=True)) <= c for r, c in zip(rows, caps, strict=True)):
            best = max(best, float(sum(v * t for v, t in zip(values, take, strict=True))))
    return best


def _major_minor(text: str) -> tuple[int, int]:
    major, minor, *_ = text.split(".")
    return int(major), int(minor)


def test_pinned_minimums_are_installed() -> None:
    assert _major_minor(version("ortools")) >= (9, 15)
    assert _major_minor(version("highspy")) >= (1, 16)


@pytest.mark.parametrize("order", ["highs,ortools", "ortools,highs"])
def test_both_engines_solve_in_one_process(order: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, order], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    engines = {"highspy", "pyomo-highs", "cpsat", "ortools-mip"}
    # HiGHS prints its banner on stdout too: keep only the answer lines.
    answers = dict(p for p in (line.split() for line in proc.stdout.splitlines()) if len(p) == 2 and p[0] in engines)
    assert set(answers) == engines
    optimum = _brute_force()
    for engine, value in answers.items():
        assert float(value) == pytest.approx(optimum), engine
