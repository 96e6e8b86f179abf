r"""Bit allocation: choose one bit-width option per unit (layer, expert, block) under a memory budget.

Unit j has :math:`s_j` weights and options :math:`k = 1..K_j` with bits :math:`b_{jk}` (increasing) and
the error :math:`e_{jk}` that quantizing it at that width adds (measured, e.g. by quantizing the real
weights). With a binary :math:`x_{jk}` per option, the multiple-choice knapsack

.. math::

    \min \sum_{j,k} e_{jk} x_{jk} \quad\text{s.t.}\quad \sum_k x_{jk} = 1 \;\forall j, \qquad
    \sum_{j,k} s_j b_{jk} x_{jk} \le T, \qquad x_{jk} = 0 \text{ when } b_{jk} < b_{\min},

where T is ``budget.total_bits`` or ``budget.average_bits`` :math:`\times \sum_j s_j`. This is the ILP
of HAWQ-V3, Q-Palette's memory-constrained mixed-scheme ILP, AlphaQ's budgeted MILP and BitsMoE.

Its continuous relaxation under the error model :math:`e_j(b) = a_j 2^{-2b}` (each extra bit divides
the squared error by four) is solved in closed form by weighted reverse water-filling (BAQ,
Q-Palette): every unit above the floor ends at the same marginal error per bit
(``build_relaxation`` writes it in CVXPY).

The MILP's objective is scaled so that the largest error is ``OBJECTIVE_SCALE``: errors of 1e-6 to
1e-9 would otherwise fall under HiGHS's absolute gap tolerance and stop it on a worse solution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import pyomo.environ as pyo

from allocopt.errors import DataError
from allocopt.registry import Check

#: The largest error coefficient in the MILP's objective after scaling.
OBJECTIVE_SCALE = 1e6
#: Relative slack on the budget when checking (bit widths like 4.25 are not exact in binary).
BUDGET_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class BitAllocationData:
    """Validated data; options are flattened: unit j owns ``bits[offsets[j]:offsets[j+1]]``."""

    names: tuple[str, ...]
    sizes: np.ndarray
    offsets: np.ndarray
    bits: np.ndarray
    errors: np.ndarray
    total_bits: float
    budget: Mapping[str, float]
    min_bits: float | None = None

    @property
    def n(self) -> int:
        return len(self.sizes)

    def options(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.offsets[j], self.offsets[j + 1]
        return self.bits[lo:hi], self.errors[lo:hi]

    def kind(self) -> str:
        average = self.total_bits / max(1, int(self.sizes.sum()))
        return f"bit allocation, {self.n} units, {len(self.bits)} options, budget {average:.4g} average bits"


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def parse(data: Mapping[str, Any]) -> BitAllocationData:
    units = data["units"]
    sizes, offsets, bits, errors, names = [], [0], [], [], []
    for j, unit in enumerate(units):
        previous = -math.inf
        for k, option in enumerate(unit["options"]):
            if option["bits"] <= previous:
                raise DataError(
                    ("units", j, "options", k, "bits"),
                    f"expected options in increasing bits: {option['bits']} follows {previous}",
                )
            previous = option["bits"]
            bits.append(float(option["bits"]))
            errors.append(float(option["error"]))
        offsets.append(len(bits))
        sizes.append(int(unit["size"]))
        names.append(unit["name"])
    budget = dict(data["budget"])
    total = float(budget["total_bits"]) if "total_bits" in budget else float(budget["average_bits"]) * sum(sizes)
    return BitAllocationData(
        names=tuple(names),
        sizes=_frozen(np.asarray(sizes, dtype=np.int64)),
        offsets=_frozen(np.asarray(offsets, dtype=np.int64)),
        bits=_frozen(np.asarray(bits, dtype=np.float64)),
        errors=_frozen(np.asarray(errors, dtype=np.float64)),
        total_bits=total,
        budget=budget,
        min_bits=None if data.get("min_bits") is None else float(data["min_bits"]),
    )


def to_data(d: BitAllocationData) -> dict[str, Any]:
    units = []
    for j in range(d.n):
        b, e = d.options(j)
        units.append(
            {
                "name": d.names[j],
                "size": int(d.sizes[j]),
                "options": [{"bits": _num(x), "error": float(y)} for x, y in zip(b, e, strict=True)],
            }
        )
    out: dict[str, Any] = {"units": units, "budget": dict(d.budget)}
    if d.min_bits is not None:
        out["min_bits"] = d.min_bits
    return out


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def infeasibility(d: BitAllocationData) -> str | None:
    """Why no choice fits (budget below the cheapest choice, or a unit with no option >= min_bits)."""
    floor = -math.inf if d.min_bits is None else d.min_bits
    cheapest = 0.0
    for j in range(d.n):
        b, _ = d.options(j)
        allowed = b[b >= floor]
        if len(allowed) == 0:
            return f"unit {d.names[j]!r} has no option with at least min_bits = {d.min_bits} bits"
        cheapest += float(d.sizes[j]) * float(allowed[0])
    if cheapest > d.total_bits * (1 + BUDGET_TOL):
        return f"the cheapest choice needs {cheapest:.6g} bits, the budget is {d.total_bits:.6g}"
    return None


def check(d: BitAllocationData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: each unit's bits is one of its options (>= min_bits), the budget holds."""
    chosen = solution.get("bits")
    if not isinstance(chosen, list) or len(chosen) != d.n:
        return Check(False, None, f"solution.bits must be a list of {d.n} bit-widths")
    used, error = 0.0, 0.0
    for j, b in enumerate(chosen):
        if isinstance(b, bool) or not isinstance(b, int | float):
            return Check(False, None, f"solution.bits[{j}] = {b!r} is not a number")
        lo, hi = int(d.offsets[j]), int(d.offsets[j + 1])
        match = [k for k in range(lo, hi) if abs(float(d.bits[k]) - b) <= 1e-9 * max(1.0, abs(b))]
        if not match:
            return Check(False, None, f"solution.bits[{j}] = {b} is not an option of unit {d.names[j]!r}")
        if d.min_bits is not None and b < d.min_bits:
            return Check(False, None, f"solution.bits[{j}] = {b} is below min_bits {d.min_bits}")
        used += int(d.sizes[j]) * float(d.bits[match[0]])
        error += float(d.errors[match[0]])
    if used > d.total_bits * (1 + BUDGET_TOL):
        return Check(False, None, f"uses {used:.10g} bits, budget {d.total_bits:.10g}")
    return Check(True, error)


def _allowed(d: BitAllocationData) -> list[tuple[int, int]]:
    floor = -math.inf if d.min_bits is None else d.min_bits
    return [(j, k) for j in range(d.n) for k in range(int(d.offsets[j]), int(d.offsets[j + 1])) if d.bits[k] >= floor]


def build_model(d: BitAllocationData) -> pyo.ConcreteModel:
    """The MILP of the module docstring: ``pick[j, k]`` (k indexes the flat option list), ``one[j]``, ``budget``.

    ``model.objective_scale`` records the scaling of the objective; the library divides it out.
    """
    model = pyo.ConcreteModel(name="bit_allocation")
    pairs = _allowed(d)
    top = float(d.errors.max()) if len(d.errors) else 0.0
    scale = OBJECTIVE_SCALE / top if top > 0 else 1.0
    model.objective_scale = scale
    model.pick = pyo.Var(pairs, domain=pyo.Binary)
    model.error = pyo.Objective(expr=sum(scale * float(d.errors[k]) * model.pick[j, k] for j, k in pairs))
    by_unit: dict[int, list[int]] = {}
    for j, k in pairs:
        by_unit.setdefault(j, []).append(k)
    model.one = pyo.Constraint(
        range(d.n),
        rule=lambda mdl, j: (
            sum(mdl.pick[j, k] for k in by_unit.get(j, [])) == 1 if by_unit.get(j) else pyo.Constraint.Infeasible
        ),
    )
    if pairs:
        model.budget = pyo.Constraint(
            expr=sum(float(d.sizes[j]) * float(d.bits[k]) * model.pick[j, k] for j, k in pairs) <= d.total_bits
        )
    return model


def decode(model: pyo.ConcreteModel, d: BitAllocationData) -> dict[str, Any]:
    chosen = [0.0] * d.n
    for j, k in _allowed(d):
        if (pyo.value(model.pick[j, k], exception=False) or 0.0) > 0.5:
            chosen[j] = _num(d.bits[k])
    return {"bits": chosen}


def build_relaxation(
    a: np.ndarray, d: BitAllocationData, max_bits: float | None = None
) -> tuple[cp.Problem, cp.Variable]:
    """The continuous relaxation under e_j(b) = a_j 2^(-2b), as a CVXPY problem, and its bit variable."""
    b = cp.Variable(d.n)
    floor = 0.0 if d.min_bits is None else d.min_bits
    constraints = [d.sizes.astype(np.float64) @ b <= d.total_bits, b >= floor]
    if max_bits is not None:
        constraints.append(b <= max_bits)
    objective = cp.Minimize(cp.sum(cp.multiply(a, cp.exp(-2.0 * math.log(2.0) * b))))
    return cp.Problem(objective, constraints), b
