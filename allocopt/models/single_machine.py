r"""One machine, n jobs, one at a time: minimize a weighted completion, lateness or tardiness objective.

Data: job j has a duration :math:`p_j \in \mathbb{Z}_{\ge 0}`, a weight :math:`w_j \ge 0` (default 1), a release
:math:`r_j \in \mathbb{Z}_{\ge 0}` (default 0) and optionally a due date :math:`d_j \in \mathbb{Z}`. A schedule gives
every job a start :math:`s_j \ge r_j`; jobs of positive duration may not overlap. With :math:`C_j = s_j + p_j`:

- ``weighted_completion`` (default): :math:`\min \sum_j w_j C_j` (:math:`1|r_j|\sum w_j C_j`);
- ``max_lateness``: :math:`\min \max_j (C_j - d_j)` (:math:`1|r_j|L_{\max}`);
- ``weighted_tardiness``: :math:`\min \sum_j w_j \max(0, C_j - d_j)` (:math:`1|r_j|\sum w_j T_j`).

Some optimal schedule is semi-active (no job can start earlier without reordering): each objective is
non-decreasing in every :math:`C_j`. H = :math:`\max_j r_j + \sum_j p_j` is the end of the semi-active schedule of
any order, so :math:`r_j \le s_j \le H - p_j` loses no optimum.

**MILP** (``build_model``, disjunctive). For each pair i < j of jobs of positive duration a binary
:math:`y_{ij}` = 1 when i runs first:

.. math::

    s_i + p_i \le s_j + M_{ij}(1 - y_{ij}), \qquad s_j + p_j \le s_i + M_{ji}\, y_{ij},
    \qquad r_j \le s_j \le H - p_j,

with the least valid :math:`M_{ij} = \max(s_i + p_i - s_j) = H - r_j` within the bounds (and
:math:`M_{ji} = H - r_i`). The objective: :math:`\sum w_j (s_j + p_j)`; or
:math:`L \ge s_j + p_j - d_j` for all j, minimize L; or :math:`T_j \ge s_j + p_j - d_j`, :math:`T_j \ge 0`,
minimize :math:`\sum w_j T_j`.

**CP** (``build_cp_model``, CP-SAT): an interval per job (start in :math:`[r_j, H - p_j]`, fixed size), one
``AddNoOverlap`` over the jobs of positive duration; the objective as above, with
:math:`T_j = \max(0, C_j - d_j)` and :math:`L = \max_j (C_j - d_j)` by ``AddMaxEquality``. CP-SAT needs integer
coefficients: decimal weights are scaled by the least power of ten making them integral (``model.objective_scale``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from ortools.sat.python import cp_model

from allocopt.errors import DataError
from allocopt.registry import Check
from allocopt.scaling import EXACT_INT, integer_scale

OBJECTIVES = ("weighted_completion", "max_lateness", "weighted_tardiness")
NEEDS_DUE = ("max_lateness", "weighted_tardiness")


@dataclass(frozen=True, eq=False)
class SingleMachineData:
    """Validated data: read-only arrays, one entry per job (``due`` None when the file has no due dates)."""

    duration: np.ndarray
    weight: np.ndarray
    release: np.ndarray
    due: np.ndarray | None
    objective: str
    weights_given: bool = False

    @property
    def n(self) -> int:
        return len(self.duration)

    def has_release(self) -> bool:
        return bool(np.any(self.release > 0))

    def horizon(self) -> int:
        """max release + total duration: every semi-active schedule ends by then."""
        return int(self.release.max() + self.duration.sum())

    def kind(self) -> str:
        extra = ", release dates" if self.has_release() else ""
        return f"single machine, {self.n} jobs, {self.objective}{extra}"


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def parse(data: Mapping[str, Any]) -> SingleMachineData:
    """Build ``SingleMachineData`` from schema-valid ``data``; checks lengths and the due dates an objective needs."""
    p = data["durations"]
    n = len(p)
    for key in ("weights", "release", "due"):
        if key in data and len(data[key]) != n:
            raise DataError((key,), f"expected {n} entries (one per job, as durations), got {len(data[key])}")
    objective = data.get("objective", "weighted_completion")
    if objective in NEEDS_DUE and "due" not in data:
        raise DataError(("due",), f"objective {objective} needs due dates ({n} integers, one per job)")
    weight = np.asarray(data.get("weights", [1] * n), dtype=np.float64)
    due = _frozen(np.asarray(data["due"], dtype=np.int64)) if "due" in data else None
    return SingleMachineData(
        _frozen(np.asarray(p, dtype=np.int64)),
        _frozen(weight),
        _frozen(np.asarray(data.get("release", [0] * n), dtype=np.int64)),
        due,
        objective,
        "weights" in data,
    )


def to_data(d: SingleMachineData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    out: dict[str, Any] = {"durations": d.duration.tolist()}
    if d.weights_given or np.any(d.weight != 1):
        out["weights"] = [int(x) if float(x).is_integer() else float(x) for x in d.weight]
    if d.has_release():
        out["release"] = d.release.tolist()
    if d.due is not None:
        out["due"] = d.due.tolist()
    out["objective"] = d.objective
    return out


def check(d: SingleMachineData, solution: Mapping[str, Any]) -> Check:
    """Independent checker in plain Python: starts are whole, not before release, and never overlap."""
    starts = solution.get("start")
    n = d.n
    if not isinstance(starts, list) or len(starts) != n:
        return Check(False, None, f"solution.start must be a list of {n} start times (one per job)")
    p = [int(x) for x in d.duration]
    r = [int(x) for x in d.release]
    s: list[int] = []
    for j, x in enumerate(starts):
        if isinstance(x, bool) or not isinstance(x, int | float) or x != x or x in (float("inf"), -float("inf")):
            return Check(False, None, f"solution.start[{j}] = {x!r} is not a number")
        if x != int(x) or x < 0:
            return Check(False, None, f"solution.start[{j}] = {x!r} is not a whole number >= 0")
        if x < r[j]:
            return Check(False, None, f"job {j} starts at {int(x)}, before its release {r[j]}")
        s.append(int(x))
    busy = sorted((s[j], s[j] + p[j], j) for j in range(n) if p[j] > 0)  # a job of no length occupies nothing
    for (s1, e1, j1), (s2, e2, j2) in itertools.pairwise(busy):
        if s2 < e1:
            return Check(False, None, f"jobs {j1} and {j2} overlap ([{s1}, {e1}) and [{s2}, {e2}))")
    w = [float(x) for x in d.weight]
    c = [s[j] + p[j] for j in range(n)]
    if d.objective == "weighted_completion":
        value = sum(w[j] * c[j] for j in range(n))
    else:
        due = [int(x) for x in d.due] if d.due is not None else []
        if d.objective == "max_lateness":
            value = max(c[j] - due[j] for j in range(n))
        else:
            value = sum(w[j] * max(0, c[j] - due[j]) for j in range(n))
    return Check(True, float(value))


def _pairs(d: SingleMachineData) -> list[tuple[int, int]]:
    jobs = [int(j) for j in np.flatnonzero(d.duration > 0)]
    return [(a, b) for i, a in enumerate(jobs) for b in jobs[i + 1 :]]


def build_model(d: SingleMachineData) -> pyo.ConcreteModel:
    """The disjunctive MILP of the module docstring.

    Components: ``start[j]``, ``before[i, j]`` (1 when i runs first; pairs i < j of positive duration), rows
    ``first_then``, ``second_then``; for max_lateness ``lateness`` and rows ``late``; for weighted_tardiness
    ``tardiness[j]`` and rows ``late``; ``model.horizon``. Extend it and solve it with
    ``allocopt.solve(instance, method="milp", model=model)``.
    """
    H = d.horizon()
    p, r, w = d.duration, d.release, d.weight
    jobs = range(d.n)
    model = pyo.ConcreteModel(name="single_machine")
    model.horizon = H
    model.start = pyo.Var(jobs, domain=pyo.NonNegativeIntegers, bounds=lambda _, j: (int(r[j]), H - int(p[j])))
    pairs = _pairs(d)
    model.before = pyo.Var(pairs, domain=pyo.Binary)
    model.first_then = pyo.Constraint(
        pairs,
        rule=lambda m, a, b: m.start[a] + int(p[a]) <= m.start[b] + (H - int(r[b])) * (1 - m.before[a, b]),
    )
    model.second_then = pyo.Constraint(
        pairs, rule=lambda m, a, b: m.start[b] + int(p[b]) <= m.start[a] + (H - int(r[a])) * m.before[a, b]
    )
    if d.objective == "weighted_completion":
        expr = sum(float(w[j]) * (model.start[j] + int(p[j])) for j in jobs)
    elif d.objective == "max_lateness":
        assert d.due is not None
        model.lateness = pyo.Var(domain=pyo.Reals)
        model.late = pyo.Constraint(jobs, rule=lambda m, j: m.lateness >= m.start[j] + int(p[j]) - int(d.due[j]))
        expr = model.lateness
    else:
        assert d.due is not None
        model.tardiness = pyo.Var(jobs, domain=pyo.NonNegativeReals)
        model.late = pyo.Constraint(jobs, rule=lambda m, j: m.tardiness[j] >= m.start[j] + int(p[j]) - int(d.due[j]))
        expr = sum(float(w[j]) * model.tardiness[j] for j in jobs)
    model.objective = pyo.Objective(expr=expr, sense=pyo.minimize)
    return model


def decode(model: pyo.ConcreteModel, d: SingleMachineData) -> dict[str, Any]:
    """Each job's start, read back from a solved ``build_model`` (rounded: starts are integers)."""
    return {"start": [round(pyo.value(model.start[j], exception=False) or 0.0) for j in range(d.n)]}


class SingleMachineCpModel(cp_model.CpModel):
    """A CP-SAT ``CpModel`` with the single machine's variables reachable (see ``build_cp_model``)."""

    start: list[cp_model.IntVar]
    end: list[cp_model.IntVar]
    interval: list[cp_model.IntervalVar]
    horizon: int
    objective_scale: int


def build_cp_model(d: SingleMachineData) -> SingleMachineCpModel:
    """The CP-SAT model of the module docstring.

    Carries ``model.start[j]``, ``model.end[j]``, ``model.interval[j]``, ``model.horizon`` and
    ``model.objective_scale`` (the power of ten the weights were multiplied by; the objective is scaled by it).
    Raises ``ValueError`` (a ``ScaleError``) when the weights need more decimals than CP-SAT can hold exactly.
    Add constraints with the CP-SAT API and solve it with ``allocopt.solve(instance, method="cp", model=model)``.
    """
    H = d.horizon()
    model = SingleMachineCpModel()
    model.horizon = H
    model.start, model.end, model.interval = [], [], []
    for j in range(d.n):
        lo, size = int(d.release[j]), int(d.duration[j])
        s = model.NewIntVar(lo, H - size, f"start[{j}]")
        e = model.NewIntVar(lo + size, H, f"end[{j}]")
        model.start.append(s)
        model.end.append(e)
        model.interval.append(model.NewIntervalVar(s, size, e, f"job[{j}]"))
    busy = [model.interval[int(j)] for j in np.flatnonzero(d.duration > 0)]
    if len(busy) > 1:
        model.AddNoOverlap(busy)
    model.objective_scale = 1
    if d.objective == "max_lateness":
        assert d.due is not None
        late = [model.end[j] - int(d.due[j]) for j in range(d.n)]
        lo = int((d.release + d.duration - d.due).max())
        lmax = model.NewIntVar(lo, H - int(d.due.min()), "lateness")
        model.AddMaxEquality(lmax, late)
        model.Minimize(lmax)
        return model
    # The objective is at most (sum of scaled weights) * H: keep it exact in CP-SAT and in a float64.
    weights, scale = integer_scale([float(x) for x in d.weight], EXACT_INT // max(H, 1))
    model.objective_scale = scale
    if d.objective == "weighted_completion":
        model.Minimize(sum(wj * model.end[j] for j, wj in enumerate(weights)))
        return model
    assert d.due is not None
    tard = []
    for j in range(d.n):
        t = model.NewIntVar(0, max(0, H - int(d.due[j])), f"tardiness[{j}]")
        model.AddMaxEquality(t, [model.end[j] - int(d.due[j]), 0])
        tard.append(t)
    model.Minimize(sum(wj * tard[j] for j, wj in enumerate(weights)))
    return model


def decode_cp(solver: cp_model.CpSolver, model: SingleMachineCpModel, d: SingleMachineData) -> dict[str, Any]:
    """Each job's start, read back from a CP-SAT solve of ``build_cp_model``."""
    return {"start": [int(solver.Value(s)) for s in model.start]}
