r"""Parallel machines: each job runs whole on one machine; minimize the makespan (the largest machine load).

Data: jobs :math:`j = 0..n-1`, machines :math:`i = 0..m-1`, and :math:`t_{ij}`, the time of job j on machine i:

- identical machines (``durations`` n counts, ``machines`` m): :math:`t_{ij} = p_j`;
- uniform machines (and ``speeds`` :math:`s_i > 0`): :math:`t_{ij} = p_j / s_i`;
- unrelated machines (``durations`` an m x n matrix): :math:`t_{ij}` as given, ``null`` forbidding the pair
  (the set A of allowed pairs).

A solution assigns each job one allowed machine; machine i's load is :math:`L_i = \sum_{j \to i} t_{ij}` and the
objective is :math:`C_{\max} = \max_i L_i`, minimized. A job that no machine may run makes the instance
infeasible (the file is well-formed, so this is an ``infeasible`` result, not a file error).

**MILP** (``build_model``): binaries :math:`x_{ij}` over the allowed pairs and the makespan C,

.. math::

    \min C \quad\text{s.t.}\quad \sum_{i : (i,j) \in A} x_{ij} = 1 \;\; \forall j, \qquad
    \sum_{j : (i,j) \in A} t_{ij} x_{ij} \le C \;\; \forall i, \qquad C \ge LB, \qquad x_{ij} \in \{0, 1\},

with :math:`LB = \max(\max_j \min_i t_{ij},\ \sum_j \min_i t_{ij} / m)` (identical:
:math:`\max(p_{\max}, \sum_j p_j / m)`; uniform: :math:`\max(p_{\max} / s_{\max}, \sum_j p_j / \sum_i s_i)`), a
valid lower bound that tightens the LP relaxation and removes no assignment.

**CP** (``build_cp_model``, CP-SAT, integer data): the same Booleans, ``AddExactlyOne`` per job and
:math:`\sum_j w_{ij} x_{ij} \le C'` per machine with integer weights. Identical and unrelated machines use
:math:`w_{ij} = t_{ij}` and :math:`C' = C_{\max}`. Uniform machines: write the speeds exactly as integers
:math:`s_i = S_i / 10^k` (their shortest decimal form) and :math:`L = \operatorname{lcm}(S_i)`; then
:math:`w_{ij} = p_j \, L / S_i` are integers and :math:`C' = C_{\max} \cdot L / 10^k` (``model.objective_scale``).
When that scale overflows CP-SAT's exact integers, ``cp_scale`` raises ``ValueError`` with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyomo.environ as pyo
from ortools.sat.python import cp_model

from allocopt.errors import DataError
from allocopt.registry import Check

#: Largest integer CP-SAT's scaled model may reach (machine loads, the makespan variable's upper bound).
CP_INT_LIMIT = 2**53
#: Most decimal places of a speed the CP scaling accepts.
CP_MAX_DECIMALS = 9


@dataclass(frozen=True, eq=False)
class ParallelMachinesData:
    """Validated data. ``kind`` is ``identical``, ``uniform`` or ``unrelated``.

    Identical / uniform: ``durations`` is an (n,) int64 array and ``speeds`` an (m,) float64 array (all 1 for
    identical). Unrelated: ``times`` is an (m, n) int64 matrix and ``allowed`` its (m, n) bool mask of the allowed
    pairs (a forbidden pair holds 0 in ``times``).
    """

    kind: str
    machines: int
    durations: np.ndarray | None = None
    speeds: np.ndarray | None = None
    times: np.ndarray | None = None
    allowed: np.ndarray | None = None

    @property
    def n_jobs(self) -> int:
        return int(len(self.durations) if self.times is None else self.times.shape[1])

    def time_matrix(self) -> np.ndarray:
        """The (m, n) float64 matrix of t_ij, ``inf`` where forbidden (dense: small and medium instances)."""
        if self.times is None:
            return self.durations[None, :] / self.speeds[:, None]
        return np.where(self.allowed, self.times.astype(np.float64), np.inf)

    def impossible_jobs(self) -> np.ndarray:
        """Jobs no machine may run (only unrelated machines can have them)."""
        if self.allowed is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(~self.allowed.any(axis=0))

    def lower_bound(self) -> float:
        """The simple bound LB of the module docstring (0 for an instance without jobs)."""
        if self.times is None:
            p, s = self.durations, self.speeds
            return float(max(p.max(initial=0) / s.max(), p.sum() / s.sum()))
        best = self.time_matrix().min(axis=0)
        return float(max(best.max(initial=0.0), best.sum() / self.machines))

    def kind_text(self) -> str:
        return f"parallel machines ({self.kind}), {self.n_jobs} jobs x {self.machines} machines"


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _whole(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x) and x == int(x) and x >= 0


def parse(data: Mapping[str, Any]) -> ParallelMachinesData:
    """Build the data from schema-valid ``data``; checks what a schema cannot (lengths, the machine count)."""
    durations = data["durations"]
    count = data.get("machines")
    speeds = data.get("speeds")
    if durations and isinstance(durations[0], list):
        if speeds is not None:
            raise DataError(("speeds",), "no speeds with unrelated machines (a matrix of durations): leave it out")
        m, n = len(durations), len(durations[0])
        if count is not None and count != m:
            raise DataError(("machines",), f"expected {m} (the number of rows of durations), got {count}")
        times = np.zeros((m, n), dtype=np.int64)
        allowed = np.zeros((m, n), dtype=bool)
        for i, row in enumerate(durations):
            if not isinstance(row, list) or len(row) != n:
                got = len(row) if isinstance(row, list) else type(row).__name__
                raise DataError(("durations", i), f"expected a list of {n} durations or null (as row 0), got {got}")
            for j, t in enumerate(row):
                if t is None:
                    continue
                if not _whole(t):
                    raise DataError(("durations", i, j), f"expected a whole number >= 0 or null, got {t!r}")
                times[i, j] = int(t)
                allowed[i, j] = True
        return ParallelMachinesData("unrelated", m, times=_frozen(times), allowed=_frozen(allowed))
    for j, t in enumerate(durations):
        if not _whole(t):
            raise DataError(("durations", j), f"expected a whole number >= 0, got {t!r}")
    if count is None:
        raise DataError(("machines",), "expected the number of machines (required with a list of n durations)")
    if speeds is None:
        s = np.ones(count)
        kind = "identical"
    else:
        if len(speeds) != count:
            raise DataError(("speeds",), f"expected {count} speeds (one per machine), got {len(speeds)}")
        for i, v in enumerate(speeds):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
                raise DataError(("speeds", i), f"expected a number > 0, got {v!r}")
        s = np.asarray(speeds, dtype=np.float64)
        kind = "uniform"
    p = np.asarray([int(t) for t in durations], dtype=np.int64)
    return ParallelMachinesData(kind, int(count), durations=_frozen(p), speeds=_frozen(s))


def to_data(d: ParallelMachinesData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    if d.times is not None:
        rows = [[int(d.times[i, j]) if d.allowed[i, j] else None for j in range(d.n_jobs)] for i in range(d.machines)]
        return {"durations": rows}
    out: dict[str, Any] = {"durations": [int(x) for x in d.durations], "machines": d.machines}
    if d.kind == "uniform":
        out["speeds"] = [int(v) if float(v).is_integer() else float(v) for v in d.speeds]
    return out


def check(d: ParallelMachinesData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the data; names an out-of-range machine or a forbidden pair."""
    machine = solution.get("machine")
    n, m = d.n_jobs, d.machines
    if not isinstance(machine, list) or len(machine) != n:
        return Check(False, None, f"solution.machine must be a list of {n} machine indices (one per job)")
    load = [0.0] * m
    whole = [0] * m
    for j, i in enumerate(machine):
        if isinstance(i, bool) or not isinstance(i, int | float) or i != int(i):
            return Check(False, None, f"solution.machine[{j}] = {i!r} is not a machine index")
        i = int(i)
        if not 0 <= i < m:
            return Check(False, None, f"job {j} is on machine {i}, out of range (machines 0..{m - 1})")
        if d.times is not None:
            if not bool(d.allowed[i, j]):
                return Check(False, None, f"job {j} may not run on machine {i} (its duration there is null)")
            whole[i] += int(d.times[i, j])
        else:
            whole[i] += int(d.durations[j])
    # Sum whole durations first, divide once: the exact load of a uniform machine.
    for i in range(m):
        load[i] = whole[i] / float(d.speeds[i]) if d.times is None else float(whole[i])
    return Check(True, max(load, default=0.0))


def _pairs(d: ParallelMachinesData) -> list[tuple[int, int]]:
    if d.allowed is None:
        return [(i, j) for i in range(d.machines) for j in range(d.n_jobs)]
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(d.allowed), strict=True)]


def build_model(d: ParallelMachinesData) -> pyo.ConcreteModel:
    """The assignment MILP of the module docstring.

    Components: ``assign[i, j]`` (allowed pairs only), ``makespan``, rows ``one_machine[j]`` and ``machine_load[i]``.
    Extend it and solve it with ``allocopt.solve(instance, method="milp", model=model)`` or any Pyomo solver.
    """
    t = d.time_matrix()
    pairs = _pairs(d)
    model = pyo.ConcreteModel(name="parallel_machines")
    model.assign = pyo.Var(pairs, domain=pyo.Binary)
    model.makespan = pyo.Var(domain=pyo.NonNegativeReals, bounds=(d.lower_bound(), None))
    by_job: dict[int, list[int]] = {j: [] for j in range(d.n_jobs)}
    by_machine: dict[int, list[int]] = {i: [] for i in range(d.machines)}
    for i, j in pairs:
        by_job[j].append(i)
        by_machine[i].append(j)
    model.one_machine = pyo.Constraint(
        range(d.n_jobs), rule=lambda mdl, j: sum(mdl.assign[i, j] for i in by_job[j]) == 1
    )
    model.machine_load = pyo.Constraint(
        range(d.machines),
        rule=lambda mdl, i: sum(float(t[i, j]) * mdl.assign[i, j] for j in by_machine[i]) <= mdl.makespan,
    )
    model.objective = pyo.Objective(expr=model.makespan, sense=pyo.minimize)
    return model


def decode(model: pyo.ConcreteModel, d: ParallelMachinesData) -> dict[str, Any]:
    """Each job's machine, read back from a solved ``build_model`` (the largest x_ij of the job)."""
    best: dict[int, tuple[float, int]] = {}
    for i, j in model.assign:
        v = pyo.value(model.assign[i, j], exception=False) or 0.0
        if j not in best or v > best[j][0]:
            best[j] = (v, i)
    return {"machine": [best[j][1] for j in range(d.n_jobs)]}


def cp_scale(d: ParallelMachinesData) -> tuple[np.ndarray, float]:
    """Integer weights w (m, n; 0 where forbidden) and the scale C' / C_max of the CP model.

    Raises ``ValueError`` (with the reason) when the uniform speeds cannot be scaled exactly within CP-SAT's
    integers.
    """
    if d.times is not None:
        w, scale = d.times.copy(), 1.0
    elif d.kind == "identical":
        w, scale = np.broadcast_to(d.durations, (d.machines, d.n_jobs)).copy(), 1.0
    else:
        places = 0
        for v in d.speeds:
            exponent = Decimal(repr(float(v))).normalize().as_tuple().exponent
            places = max(places, max(0, -int(exponent)) if isinstance(exponent, int) else 0)
        if places > CP_MAX_DECIMALS:
            raise ValueError(f"a speed has {places} decimal places (the CP scaling takes at most {CP_MAX_DECIMALS})")
        ints = [int(Decimal(repr(float(v))).scaleb(places)) for v in d.speeds]
        lcm = math.lcm(*ints)
        if lcm * int(d.durations.sum()) >= CP_INT_LIMIT:
            raise ValueError(
                f"speeds {list(d.speeds)} need an integer scale of {lcm} (lcm of the speeds x 10^{places}): "
                "the scaled loads would exceed CP-SAT's exact integers"
            )
        w = np.array([[int(p) * (lcm // s) for p in d.durations] for s in ints], dtype=np.int64)
        scale = lcm / 10**places
    if d.allowed is None and int(w.sum(axis=1).max(initial=0)) >= CP_INT_LIMIT:
        raise ValueError("the machine loads exceed CP-SAT's exact integers")
    return w, scale


class ParallelMachinesCpModel(cp_model.CpModel):
    """A CP-SAT ``CpModel`` with the variables reachable (see ``build_cp_model``)."""

    assign: dict[tuple[int, int], cp_model.IntVar]
    makespan: cp_model.IntVar
    weights: np.ndarray
    objective_scale: float


def build_cp_model(d: ParallelMachinesData) -> ParallelMachinesCpModel:
    """The CP-SAT model of the module docstring.

    ``model.assign[i, j]`` (allowed pairs), ``model.makespan`` (the scaled makespan C'), ``model.weights`` (the
    integer w) and ``model.objective_scale`` (C' / C_max). Raises ``ValueError`` when ``cp_scale`` does.
    """
    w, scale = cp_scale(d)
    pairs = _pairs(d)
    model = ParallelMachinesCpModel()
    model.weights = w
    model.objective_scale = scale
    model.assign = {(i, j): model.NewBoolVar(f"x_{i}_{j}") for i, j in pairs}
    by_job: dict[int, list[Any]] = {j: [] for j in range(d.n_jobs)}
    by_machine: dict[int, list[tuple[int, Any]]] = {i: [] for i in range(d.machines)}
    for (i, j), x in model.assign.items():
        by_job[j].append(x)
        by_machine[i].append((int(w[i, j]), x))
    for xs in by_job.values():
        model.AddExactlyOne(xs)
    upper = int(max((sum(c for c, _ in row) for row in by_machine.values()), default=0))
    lb = d.lower_bound()
    # floor of a slightly shrunk value: float noise in LB must never cut off the optimum.
    lower = math.floor(lb * scale * (1 - 1e-9)) if d.n_jobs and np.isfinite(lb) else 0
    model.makespan = model.NewIntVar(min(lower, upper), upper, "makespan")
    for row in by_machine.values():
        if row:
            model.Add(sum(c * x for c, x in row) <= model.makespan)
    model.Minimize(model.makespan)
    return model


def decode_cp(solver: cp_model.CpSolver, model: ParallelMachinesCpModel, d: ParallelMachinesData) -> dict[str, Any]:
    """Each job's machine, read back from a CP-SAT solve of ``build_cp_model``."""
    machine = [0] * d.n_jobs
    for (i, j), x in model.assign.items():
        if solver.Value(x):
            machine[j] = i
    return {"machine": machine}
