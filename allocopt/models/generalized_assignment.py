r"""The generalized assignment problem (GAP): each job to exactly one agent, agents have capacities.

Data: m agents and n jobs; agent a doing job j costs :math:`c_{aj}` (or earns it, with ``sense: "max"``)
and uses :math:`r_{aj} \ge 0` of the agent's resource, of which it has :math:`b_a \ge 0`.

.. math::

    \min \text{ (or } \max) \sum_{a,j} c_{aj} x_{aj} \quad\text{s.t.}\quad
    \sum_a x_{aj} = 1 \;\; (j = 1..n), \qquad \sum_j r_{aj} x_{aj} \le b_a \;\; (a = 1..m), \qquad
    x_{aj} \in \{0, 1\}.

The MILP (``build_model``) is this model as written: ``assign[a, j]`` binaries, one ``job[j]`` row per job and
one ``capacity[a]`` row per agent. A pair whose resource use alone exceeds the agent's capacity
(:math:`r_{aj} > b_a`) keeps its variable, fixed to 0, so that a user's extension can still name it.
Costs all below 1 in magnitude are scaled up by a power of two (``model.objective_scale``, divided out by the
library): HiGHS also stops at an absolute gap of 1e-6, which proves nothing about a tiny objective.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from allocopt.errors import DataError
from allocopt.registry import Check

#: Relative slack allowed on a capacity row when checking real-valued data.
FEASIBILITY_TOL = 1e-9
#: Costs all below 1 in magnitude are scaled (by a power of two, exact in binary) to reach at least this.
OBJECTIVE_TOP = 1024.0


@dataclass(frozen=True, eq=False)
class GapData:
    """Validated GAP data. Arrays are read-only; ``cost`` and ``resource`` are m x n (agent, job)."""

    cost: np.ndarray
    resource: np.ndarray
    capacity: np.ndarray
    sense: str = "min"

    @property
    def m(self) -> int:
        return self.cost.shape[0]

    @property
    def n(self) -> int:
        return self.cost.shape[1]

    @property
    def maximize(self) -> bool:
        return self.sense == "max"

    def fits(self) -> np.ndarray:
        """m x n booleans: job j fits agent a on its own (r_aj <= b_a)."""
        return self.resource <= self.capacity[:, None]

    def kind(self) -> str:
        goal = "maximisation" if self.maximize else "minimisation"
        return f"generalized assignment ({goal}), {self.m} agents x {self.n} jobs"


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _matrix(data: Mapping[str, Any], key: str, m: int, n: int) -> np.ndarray:
    rows = data[key]
    if len(rows) != m:
        raise DataError((key,), f"expected {m} rows (one per agent, as in cost), got {len(rows)}")
    for a, row in enumerate(rows):
        if len(row) != n:
            raise DataError((key, a), f"expected {n} numbers (one per job), got {len(row)}")
    return np.asarray(rows, dtype=np.float64).reshape(m, n)


def parse(data: Mapping[str, Any]) -> GapData:
    """Build ``GapData`` from schema-valid ``data``; checks the shapes a schema cannot."""
    m = len(data["cost"])
    n = len(data["cost"][0])
    cost = _matrix(data, "cost", m, n)
    resource = _matrix(data, "resource", m, n)
    if len(data["capacity"]) != m:
        raise DataError(("capacity",), f"expected {m} capacities (one per agent), got {len(data['capacity'])}")
    capacity = np.asarray(data["capacity"], dtype=np.float64)
    return GapData(_frozen(cost), _frozen(resource), _frozen(capacity), data.get("sense", "min"))


def _number(x: float) -> int | float:
    """Write integral floats as JSON integers."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def to_data(d: GapData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    return {
        "cost": [[_number(x) for x in row] for row in d.cost],
        "resource": [[_number(x) for x in row] for row in d.resource],
        "capacity": [_number(x) for x in d.capacity],
        "sense": d.sense,
    }


def infeasibility(d: GapData) -> str | None:
    """A reason no assignment exists that is visible without search, or None.

    Two necessary conditions: every job fits some agent on its own, and the jobs' smallest resource uses
    (each over the agents it fits) add up to at most the total capacity.
    """
    fits = d.fits()
    for j in range(d.n):
        if not fits[:, j].any():
            excess = d.resource[:, j] - d.capacity
            a = int(np.argmin(excess))
            return (
                f"job {j} fits no agent: its resource use exceeds every agent's capacity "
                f"(closest: {d.resource[a, j]:g} > {d.capacity[a]:g} on agent {a})"
            )
    least = float(np.where(fits, d.resource, np.inf).min(axis=0).sum()) if d.n else 0.0
    total = float(d.capacity.sum())
    if least > total * (1 + FEASIBILITY_TOL):
        return f"the jobs' smallest resource uses add up to {least:g}, more than the total capacity {total:g}"
    return None


def check(d: GapData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the instance data, sharing nothing with any method."""
    agents = solution.get("agent")
    m, n = d.m, d.n
    if not isinstance(agents, list) or len(agents) != n:
        return Check(False, None, f"solution.agent must be a list of {n} agent indices")
    used = [0.0] * m
    objective = 0.0
    for j, a in enumerate(agents):
        if isinstance(a, bool) or not isinstance(a, int | float) or a != int(a) or not 0 <= a < m:
            return Check(False, None, f"solution.agent[{j}] = {a!r} is not an agent index in 0..{m - 1}")
        a = int(a)
        used[a] += float(d.resource[a][j])
        objective += float(d.cost[a][j])
    for a in range(m):
        cap = float(d.capacity[a])
        if used[a] > cap + FEASIBILITY_TOL * max(1.0, abs(cap)):
            return Check(False, None, f"agent {a}: resource use {used[a]:g} > capacity {cap:g}")
    return Check(True, objective)


def build_model(d: GapData) -> pyo.ConcreteModel:
    """The MILP of the module docstring: ``assign[a, j]``, ``job[j]``, ``capacity[a]``, objective ``cost``.

    ``model.objective_scale`` records the scaling of the objective; the library divides it out.

    Extend it with your own constraints and solve it with ``allocopt.solve(instance, method="milp",
    model=model)`` or any Pyomo solver.
    """
    model = pyo.ConcreteModel(name="generalized_assignment")
    top = float(np.abs(d.cost).max()) if d.cost.size else 0.0
    scale = 2.0 ** math.ceil(math.log2(OBJECTIVE_TOP / top)) if 0 < top < 1 else 1.0
    model.objective_scale = scale
    pairs = [(a, j) for a in range(d.m) for j in range(d.n)]
    fits = d.fits()
    # Pairs that cannot fit are fixed at 0 rather than left out, so every job row has terms (Pyomo refuses
    # a constraint that is trivially infeasible) and the solver's presolve removes them at no cost.
    model.assign = pyo.Var(pairs, domain=pyo.Binary, bounds=lambda _, a, j: (0, 1 if fits[a, j] else 0))
    model.cost = pyo.Objective(
        expr=sum(scale * float(d.cost[a, j]) * model.assign[a, j] for a, j in pairs if d.cost[a, j]),
        sense=pyo.maximize if d.maximize else pyo.minimize,
    )
    model.job = pyo.Constraint(range(d.n), rule=lambda mdl, j: sum(mdl.assign[a, j] for a in range(d.m)) == 1)

    def capacity_row(mdl: pyo.ConcreteModel, a: int) -> Any:
        terms = [float(d.resource[a, j]) * mdl.assign[a, j] for j in range(d.n) if d.resource[a, j]]
        return sum(terms) <= float(d.capacity[a]) if terms else pyo.Constraint.Skip

    model.capacity = pyo.Constraint(range(d.m), rule=capacity_row)
    return model


def decode(model: pyo.ConcreteModel, d: GapData) -> dict[str, Any]:
    """Read each job's agent back from a solved model (the agent with the largest ``assign`` value)."""
    agents = []
    for j in range(d.n):
        values = [pyo.value(model.assign[a, j], exception=False) or 0.0 for a in range(d.m)]
        agents.append(int(np.argmax(values)))
    return {"agent": agents}
