r"""Budgeted maximum coverage: choose components within a budget to cover the most skill weight.

Data: components :math:`i = 0..n-1` (tools, models, agents) with costs :math:`c_i \ge 0`, each providing a set of
skills :math:`S_i \subseteq \{0..k-1\}`; skills :math:`s` carry weights :math:`w_s \ge 0`; a budget :math:`B \ge 0`.
A solution takes a set :math:`T` of components with :math:`\sum_{i \in T} c_i \le B`; its value is the weight of
the skills covered at least once,

.. math::  f(T) = \sum_{s \in \bigcup_{i \in T} S_i} w_s,

maximized. :math:`f` is monotone and submodular, so the problem is a knapsack whose values overlap: with disjoint
skill sets it is exactly the 0/1 knapsack (value :math:`\sum_{s \in S_i} w_s`, weight :math:`c_i`); with unit
costs it is maximum coverage with a cardinality bound. It is NP-hard and, unless NP has slightly
superpolynomial algorithms, no polynomial algorithm beats the factor :math:`1 - 1/e` (Feige 1998; Khuller, Moss
and Naor 1999).

**MILP** (``build_model``): a binary :math:`x_i` per component (taken) and a continuous
:math:`y_s \in [0, 1]` per skill (covered),

.. math::

    \max \sum_s w_s y_s \quad\text{s.t.}\quad y_s \le \sum_{i : s \in S_i} x_i \;\; \forall s, \qquad
    \sum_i c_i x_i \le B, \qquad x_i \in \{0, 1\}, \; 0 \le y_s \le 1.

For integral :math:`x` the optimum sets :math:`y_s = \min(1, \sum_{i \ni s} x_i)`, which is 0 or 1, so
:math:`y` need not be declared binary; a skill that no component provides has :math:`y_s \le 0`. The LP
relaxation (:math:`0 \le x_i \le 1`) is the bound of the ``greedy`` method. When the largest weight is below 1,
the objective is scaled up by a power of two (``model.objective_scale``, divided out by the library), as HiGHS
also stops at an absolute gap of 1e-6.

**CP** (``build_cp_model``, CP-SAT): Booleans :math:`x_i, y_s`, the implication
:math:`y_s \Rightarrow \bigvee_{i \ni s} x_i` (a clause), the budget row with costs and budget made integral by
the least power of ten (``allocopt.scaling.integer_scale``, exact) and the objective with weights made
integral the same way (``model.objective_scale``). When that scaling would leave CP-SAT's exact integers,
``cp_scale`` raises ``ValueError`` with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from ortools.sat.python import cp_model

from allocopt.errors import DataError
from allocopt.registry import Check
from allocopt.scaling import ScaleError, integer_scale

#: Relative slack the checker allows on the budget row (real-valued costs are summed in floating point).
FEASIBILITY_TOL = 1e-9
#: The MILP scales its objective so that the largest skill weight is at least this (when it is below 1).
OBJECTIVE_TOP = 1024.0


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class CoverageData:
    """Validated data. Arrays are read-only.

    ``costs`` (n,) and ``skill_weights`` (k,) are float64; the skills of component i are
    ``cover_idx[cover_ptr[i]:cover_ptr[i + 1]]`` (int64, in file order, no repeats).
    """

    costs: np.ndarray
    cover_ptr: np.ndarray
    cover_idx: np.ndarray
    skill_weights: np.ndarray
    budget: float
    names: tuple[str, ...] | None = None

    @property
    def n(self) -> int:
        return len(self.costs)

    @property
    def k(self) -> int:
        return len(self.skill_weights)

    def skills(self, i: int) -> np.ndarray:
        """The skills component ``i`` provides."""
        return self.cover_idx[self.cover_ptr[i] : self.cover_ptr[i + 1]]

    def providers(self) -> list[list[int]]:
        """For each skill, the components that provide it (in index order)."""
        out: list[list[int]] = [[] for _ in range(self.k)]
        for i in range(self.n):
            for s in self.skills(i).tolist():
                out[s].append(i)
        return out

    def kind_text(self) -> str:
        return (
            f"budgeted coverage, {self.n} components, {self.k} skills, "
            f"{len(self.cover_idx)} (component, skill) pairs, budget {self.budget:g}"
        )


def parse(data: Mapping[str, Any]) -> CoverageData:
    """Build the data from schema-valid ``data``; checks what a schema cannot (lengths, skill indices, repeats)."""
    costs = data["costs"]
    covers = data["covers"]
    weights = data["skill_weights"]
    n, k = len(costs), len(weights)
    if len(covers) != n:
        raise DataError(
            ("covers",), f"expected {n} lists of skill indices (one per component, as costs), got {len(covers)}"
        )
    ptr = np.zeros(n + 1, dtype=np.int64)
    idx: list[int] = []
    for i, row in enumerate(covers):
        seen: set[int] = set()
        for j, s in enumerate(row):
            s = int(s)  # the schema admits integers only (JSON 3.0 is one)
            if not 0 <= s < k:
                raise DataError(
                    ("covers", i, j), f"expected a skill index 0..{k - 1} (skill_weights has {k} entries), got {s}"
                )
            if s in seen:
                raise DataError(("covers", i, j), f"skill {s} is listed twice for component {i}: list it once")
            seen.add(s)
            idx.append(s)
        ptr[i + 1] = len(idx)
    names = data.get("names")
    if names is not None and len(names) != n:
        raise DataError(("names",), f"expected {n} names (one per component), got {len(names)}")
    return CoverageData(
        costs=_frozen(np.asarray(costs, dtype=np.float64).reshape(n)),
        cover_ptr=_frozen(ptr),
        cover_idx=_frozen(np.asarray(idx, dtype=np.int64)),
        skill_weights=_frozen(np.asarray(weights, dtype=np.float64).reshape(k)),
        budget=float(data["budget"]),
        names=None if names is None else tuple(names),
    )


def _number(x: float) -> int | float:
    """Integral floats as JSON integers."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def to_data(d: CoverageData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    out: dict[str, Any] = {
        "costs": [_number(c) for c in d.costs],
        "covers": [[int(s) for s in d.skills(i)] for i in range(d.n)],
        "skill_weights": [_number(w) for w in d.skill_weights],
        "budget": _number(d.budget),
    }
    if d.names is not None:
        out["names"] = list(d.names)
    return out


def check(d: CoverageData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the instance data, sharing nothing with any method.

    Feasible when ``take`` has n entries 0/1 and the taken costs sum to at most the budget (relative slack
    ``FEASIBILITY_TOL``); the objective is the weight of the union of the taken components' skills.
    """
    take = solution.get("take")
    n = d.n
    if not isinstance(take, list) or len(take) != n:
        return Check(False, None, f"solution.take must be a list of {n} values 0/1 (one per component)")
    chosen: list[int] = []
    for i, t in enumerate(take):
        if isinstance(t, bool) or not isinstance(t, int | float) or t not in (0, 1):
            return Check(False, None, f"solution.take[{i}] = {t!r} is not 0 or 1")
        if t == 1:
            chosen.append(i)
    spent = math.fsum(float(d.costs[i]) for i in chosen)
    if spent > d.budget + FEASIBILITY_TOL * max(1.0, abs(d.budget)):
        return Check(False, None, f"the taken components cost {spent:g} > budget {d.budget:g}")
    covered: set[int] = set()
    for i in chosen:
        covered.update(int(s) for s in d.cover_idx[int(d.cover_ptr[i]) : int(d.cover_ptr[i + 1])])
    return Check(True, math.fsum(float(d.skill_weights[s]) for s in covered))


# ---------------------------------------------------------------------------------------------------- MILP
def build_model(d: CoverageData) -> pyo.ConcreteModel:
    """The MILP of the module docstring as a Pyomo model.

    Components: ``take[i]`` (binary), ``covered[s]`` (in [0, 1]), rows ``coverage[s]`` (skills some component
    provides) and ``budget``, objective ``weight``; ``model.objective_scale`` is divided out by the library.
    Extend it (e.g. ``model.covered[3].fix(1)`` to require skill 3) and solve it with
    ``allocopt.solve(instance, method="milp", model=model)`` or any Pyomo solver.
    """
    providers = d.providers()
    top = float(d.skill_weights.max(initial=0.0))
    scale = 2.0 ** math.ceil(math.log2(OBJECTIVE_TOP / top)) if 0 < top < 1 else 1.0
    model = pyo.ConcreteModel(name="budgeted_coverage")
    model.objective_scale = scale
    model.take = pyo.Var(range(d.n), domain=pyo.Binary)
    model.covered = pyo.Var(range(d.k), bounds=lambda _, s: (0.0, 1.0 if providers[s] else 0.0))
    model.coverage = pyo.Constraint(
        [s for s in range(d.k) if providers[s]],
        rule=lambda mdl, s: mdl.covered[s] <= sum(mdl.take[i] for i in providers[s]),
    )
    paid = [(float(d.costs[i]), i) for i in range(d.n) if d.costs[i] > 0]
    if paid:
        model.budget = pyo.Constraint(expr=sum(c * model.take[i] for c, i in paid) <= d.budget)
    model.weight = pyo.Objective(
        expr=sum(scale * float(d.skill_weights[s]) * model.covered[s] for s in range(d.k) if d.skill_weights[s] > 0),
        sense=pyo.maximize,
    )
    return model


def decode(model: pyo.ConcreteModel, d: CoverageData) -> dict[str, Any]:
    """``take`` read back from a solved ``build_model`` (rounded: MILP solvers return 0.9999999 for 1)."""
    return {"take": [round(pyo.value(model.take[i], exception=False) or 0.0) for i in range(d.n)]}


# ------------------------------------------------------------------------------------------------------ CP
def cp_scale(d: CoverageData) -> tuple[list[int], int, list[int], int]:
    """Integer costs and budget with their scale, integer weights with theirs (exact; see the module docstring).

    Raises ``ValueError`` with the reason when the data cannot be made integral within CP-SAT's exact integers.
    """
    try:
        money, _ = integer_scale([*d.costs.tolist(), d.budget])
        weights, weight_scale = integer_scale(d.skill_weights.tolist())
    except ScaleError as exc:
        raise ValueError(str(exc)) from exc
    return money[: d.n], money[d.n] if money else 0, weights, weight_scale


class CoverageCpModel(cp_model.CpModel):
    """A CP-SAT ``CpModel`` with the variables reachable (see ``build_cp_model``)."""

    take: list[cp_model.IntVar]
    covered: dict[int, cp_model.IntVar]
    objective_scale: float


def build_cp_model(d: CoverageData) -> CoverageCpModel:
    """The CP-SAT model of the module docstring.

    ``model.take[i]`` (Booleans), ``model.covered[s]`` (a Boolean per skill of positive weight that some
    component provides), ``model.objective_scale`` (the weights' integer scale). Raises ``ValueError`` when
    ``cp_scale`` does.
    """
    costs, budget, weights, weight_scale = cp_scale(d)
    providers = d.providers()
    model = CoverageCpModel()
    model.objective_scale = float(weight_scale)
    model.take = [model.NewBoolVar(f"take_{i}") for i in range(d.n)]
    model.covered = {}
    for s in range(d.k):
        if weights[s] > 0 and providers[s]:
            y = model.NewBoolVar(f"covered_{s}")
            model.AddBoolOr([model.take[i] for i in providers[s]]).OnlyEnforceIf(y)
            model.covered[s] = y
    paid = [(c, model.take[i]) for i, c in enumerate(costs) if c > 0]
    if paid:
        model.Add(sum(c * x for c, x in paid) <= budget)
    model.Maximize(sum(weights[s] * y for s, y in model.covered.items()))
    return model


def decode_cp(solver: cp_model.CpSolver, model: CoverageCpModel, d: CoverageData) -> dict[str, Any]:
    """``take`` read back from a CP-SAT solve of ``build_cp_model``."""
    return {"take": [int(solver.Value(x)) for x in model.take]}
