r"""The job shop: jobs visit machines in a fixed order, one operation at a time per machine; minimize the makespan.

Data: jobs :math:`j = 0..n-1`, job j a sequence of operations :math:`o = (j, k)`, each on machine
:math:`\mu_o` for :math:`p_o \ge 0` time units (integers). A schedule gives every operation a start
:math:`s_o \ge 0`; it is feasible when each job's operations run in order and no two operations of one
machine overlap. The objective is the makespan :math:`C_{\max} = \max_o (s_o + p_o)`, minimized.

The library numbers operations job-major (job 0's, then job 1's, ...); ``JobShopData`` holds them as flat
arrays, the interface every engine works on. A job may visit a machine more than once (the format does not
forbid it; its own order already keeps those operations apart). An operation of zero duration occupies no
machine time: it overlaps nothing (it only keeps its place in its job's order).

Write :math:`r_o` for the head of o (the durations of its job's predecessors: its earliest start),
:math:`q_o` for its tail *including* :math:`p_o` (the durations of o and its job's successors), and H for
a horizon, any makespan of a feasible schedule (the sum of all durations, or a dispatch schedule's
makespan, which is tighter and valid). Any schedule of makespan at most H has
:math:`r_o \le s_o \le H - q_o`.

**MILP** (``build_model``, Manne's disjunctive formulation). For each pair o < o' of operations of
different jobs on one machine, both of positive duration, a binary :math:`y_{oo'}` = 1 when o comes first:

.. math::

    \min C \quad\text{s.t.}\quad
    s_{(j,k+1)} \ge s_{(j,k)} + p_{(j,k)}, \qquad C \ge s_{(j,\text{last})} + p_{(j,\text{last})},

    s_o + p_o \le s_{o'} + M_{oo'} (1 - y_{oo'}), \qquad s_{o'} + p_{o'} \le s_o + M_{o'o}\, y_{oo'},

    r_o \le s_o \le H - q_o, \qquad LB \le C \le H, \qquad y_{oo'} \in \{0, 1\}.

**Tight big-M.** The first disjunction must be slack whenever :math:`y_{oo'} = 0`, i.e. for every pair of
starts the bounds allow: :math:`M_{oo'} \ge \max (s_o + p_o - s_{o'}) = (H - q_o) + p_o - r_{o'}`. That is
the M used (the least valid one given the bounds), and symmetrically
:math:`M_{o'o} = (H - q_{o'}) + p_{o'} - r_o`. When one of them is :math:`\le 0` that order can never be
violated within the bounds and the row is dropped (it would be redundant); the other order's row stays.
:math:`LB = \max(\text{largest machine load}, \text{longest job})` is a valid lower bound on the makespan,
given to C as its lower bound (it tightens the LP relaxation; it removes no schedule).

**CP** (``build_cp_model``, CP-SAT): an interval variable per operation (start, fixed size p, end), one
``AddNoOverlap`` per machine over its operations of positive duration, the job precedences
``end[o] <= start[o+1]``, and ``makespan = max(ends of the jobs' last operations)`` (``AddMaxEquality``),
minimized; every start lies in :math:`[r_o, H - q_o]`.
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


@dataclass(frozen=True, eq=False)
class JobShopData:
    """Validated job-shop data: flat, read-only int64 arrays over the operations in job-major order.

    Job j's operations are ``job_start[j]:job_start[j + 1]``, in the job's order; ``machines`` is the machine count.
    """

    machine: np.ndarray
    duration: np.ndarray
    job_start: np.ndarray
    machines: int

    @property
    def n_jobs(self) -> int:
        return len(self.job_start) - 1

    @property
    def n_ops(self) -> int:
        return len(self.machine)

    def job_of(self) -> np.ndarray:
        """The job of each operation (int64, one per operation)."""
        return np.repeat(np.arange(self.n_jobs, dtype=np.int64), np.diff(self.job_start))

    def op_index(self) -> np.ndarray:
        """Each operation's position within its job (0 for a job's first operation)."""
        return np.arange(self.n_ops, dtype=np.int64) - np.repeat(self.job_start[:-1], np.diff(self.job_start))

    def heads(self) -> np.ndarray:
        """r_o: the total duration of o's job predecessors (its earliest start)."""
        csum = np.concatenate(([0], np.cumsum(self.duration)))
        return csum[:-1] - np.repeat(csum[self.job_start[:-1]], np.diff(self.job_start))

    def tails(self) -> np.ndarray:
        """q_o: the total duration of o and its job successors."""
        csum = np.concatenate(([0], np.cumsum(self.duration)))
        return np.repeat(csum[self.job_start[1:]], np.diff(self.job_start)) - csum[:-1]

    def trivial_lower_bound(self) -> int:
        """max(largest machine load, longest job): no schedule is shorter."""
        load = np.bincount(self.machine, weights=self.duration, minlength=self.machines)
        jobs = np.add.reduceat(self.duration, self.job_start[:-1]) if self.n_ops else np.zeros(0)
        return int(max(load.max(initial=0), jobs.max(initial=0)))

    def horizon(self) -> int:
        """The sum of all durations: the makespan of running the operations one after another."""
        return int(self.duration.sum())

    def kind(self) -> str:
        return f"job shop, {self.n_jobs} jobs x {self.machines} machines, {self.n_ops} operations"


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def from_arrays(machine: Any, duration: Any, job_start: Any, machines: int | None = None) -> JobShopData:
    """``JobShopData`` from flat arrays (checked: lengths, offsets, indices, non-negative durations)."""
    m = np.array(machine, dtype=np.int64).ravel()
    p = np.array(duration, dtype=np.int64).ravel()
    js = np.array(job_start, dtype=np.int64).ravel()
    if len(m) != len(p) or len(js) < 2 or js[0] != 0 or js[-1] != len(m) or np.any(np.diff(js) < 1):
        raise ValueError("job_start must rise strictly from 0 to the number of operations (every job non-empty)")
    if np.any(m < 0) or np.any(p < 0):
        raise ValueError("machine indices and durations must be >= 0")
    count = int(m.max()) + 1 if machines is None else int(machines)
    if count <= int(m.max()):
        raise ValueError(f"machine index {int(m.max())} out of range for {count} machines")
    return JobShopData(_frozen(m), _frozen(p), _frozen(js), count)


def parse(data: Mapping[str, Any]) -> JobShopData:
    """Build ``JobShopData`` from schema-valid ``data``; checks what a schema cannot (machine indices vs count)."""
    jobs = data["jobs"]
    machine: list[int] = []
    duration: list[int] = []
    job_start = [0]
    for j, ops in enumerate(jobs):
        if not ops:
            raise DataError(("jobs", j), "expected a non-empty list of [machine, duration] operations")
        for k, op in enumerate(ops):
            if len(op) != 2:
                raise DataError(("jobs", j, k), f"expected [machine, duration], got {len(op)} numbers")
            mk, pk = op
            for pos, (x, what) in enumerate(((mk, "machine index"), (pk, "duration"))):
                if isinstance(x, bool) or not isinstance(x, int | float) or x != int(x) or x < 0:
                    raise DataError(("jobs", j, k, pos), f"expected a {what} (a whole number >= 0), got {x!r}")
            machine.append(int(mk))
            duration.append(int(pk))
        job_start.append(len(machine))
    largest = max(machine)
    count = data.get("machines")
    if count is None:
        count = largest + 1
    elif count <= largest:
        o = machine.index(largest)
        j = int(np.searchsorted(job_start, o, side="right")) - 1
        raise DataError(
            ("jobs", j, o - job_start[j], 0),
            f"machine index {largest} is out of range: machines is {count} (indices 0..{count - 1})",
        )
    return JobShopData(
        _frozen(np.asarray(machine, dtype=np.int64)),
        _frozen(np.asarray(duration, dtype=np.int64)),
        _frozen(np.asarray(job_start, dtype=np.int64)),
        int(count),
    )


def to_data(d: JobShopData) -> dict[str, Any]:
    """The ``data`` object of FORMAT.md for ``d``."""
    jobs = [
        [[int(d.machine[o]), int(d.duration[o])] for o in range(d.job_start[j], d.job_start[j + 1])]
        for j in range(d.n_jobs)
    ]
    return {"jobs": jobs, "machines": d.machines}


def solution_from_flat(d: JobShopData, start: Any) -> dict[str, Any]:
    """``{"start": [per job, one start per operation]}`` from a flat job-major array of starts."""
    flat = [int(x) for x in np.asarray(start).ravel()]
    return {"start": [flat[d.job_start[j] : d.job_start[j + 1]] for j in range(d.n_jobs)]}


def check(d: JobShopData, solution: Mapping[str, Any]) -> Check:
    """Independent checker: plain Python over the instance data, sharing nothing with any method.

    Recomputes every end from the data; names the two operations of a broken job order or of an overlap.
    """
    starts = solution.get("start")
    n = d.n_jobs
    if not isinstance(starts, list) or len(starts) != n:
        return Check(False, None, f"solution.start must be a list of {n} lists (one per job)")
    jobs = [
        [(int(d.machine[o]), int(d.duration[o])) for o in range(int(d.job_start[j]), int(d.job_start[j + 1]))]
        for j in range(n)
    ]
    busy: dict[int, list[tuple[int, int, int, int]]] = {}
    makespan = 0
    for j, (ops, row) in enumerate(zip(jobs, starts, strict=True)):
        if not isinstance(row, list) or len(row) != len(ops):
            return Check(False, None, f"solution.start[{j}] must list {len(ops)} start times (one per operation)")
        prev_end = 0
        for k, ((mach, dur), s) in enumerate(zip(ops, row, strict=True)):
            if isinstance(s, bool) or not isinstance(s, int | float) or s != int(s) or s < 0:
                return Check(False, None, f"solution.start[{j}][{k}] = {s!r} is not a whole number >= 0")
            s = int(s)
            if k > 0 and s < prev_end:
                return Check(
                    False,
                    None,
                    f"job {j} op {k} starts at {s}, before job {j} op {k - 1} ends at {prev_end} (the job's order)",
                )
            end = s + dur
            prev_end = end
            makespan = max(makespan, end)
            if dur > 0:  # an operation of zero duration occupies no machine time
                busy.setdefault(mach, []).append((s, end, j, k))
    for mach in sorted(busy):
        ops = sorted(busy[mach])
        for (s1, e1, j1, k1), (s2, e2, j2, k2) in itertools.pairwise(ops):
            if s2 < e1:
                return Check(
                    False,
                    None,
                    f"job {j1} op {k1} and job {j2} op {k2} overlap on machine {mach} ([{s1}, {e1}) and [{s2}, {e2}))",
                )
    return Check(True, float(makespan))


def _pairs(d: JobShopData) -> list[tuple[int, int]]:
    """Pairs o < o' of operations of different jobs on one machine, both of positive duration."""
    job = d.job_of()
    out: list[tuple[int, int]] = []
    for mach in range(d.machines):
        ops = np.flatnonzero((d.machine == mach) & (d.duration > 0))
        for a in range(len(ops)):
            for b in range(a + 1, len(ops)):
                if job[ops[a]] != job[ops[b]]:
                    out.append((int(ops[a]), int(ops[b])))
    return out


def _horizon(d: JobShopData, horizon: int | None) -> int:
    if horizon is None:
        return d.horizon()
    longest = int(np.add.reduceat(d.duration, d.job_start[:-1]).max())
    if int(horizon) < longest:
        raise ValueError(f"horizon {horizon} is shorter than the longest job ({longest}): no schedule fits")
    return int(horizon)


def build_model(d: JobShopData, horizon: int | None = None) -> pyo.ConcreteModel:
    """The disjunctive MILP of the module docstring, with the tight big-M per pair.

    ``horizon``: the makespan of any feasible schedule (default: the sum of all durations); the library passes
    its best dispatch schedule's makespan. Components: ``start[o]`` (flat operation index, job-major),
    ``makespan``, ``before[o, o']`` (1 when o runs first), rows ``order``, ``last``, ``first_then``,
    ``second_then``; ``model.horizon`` and ``model.ops`` (o -> (job, position)).

    Extend it and solve it with ``allocopt.solve(instance, method="milp", model=model)`` or any Pyomo solver.
    """
    H = _horizon(d, horizon)
    r, q, p = d.heads(), d.tails(), d.duration
    model = pyo.ConcreteModel(name="job_shop")
    model.horizon = H
    job, pos = d.job_of(), d.op_index()
    model.ops = {o: (int(job[o]), int(pos[o])) for o in range(d.n_ops)}
    ops = range(d.n_ops)
    model.start = pyo.Var(ops, domain=pyo.NonNegativeIntegers, bounds=lambda _, o: (int(r[o]), H - int(q[o])))
    model.makespan = pyo.Var(domain=pyo.NonNegativeReals, bounds=(d.trivial_lower_bound(), H))
    model.order = pyo.Constraint(
        [o for o in ops if pos[o] > 0], rule=lambda mdl, o: mdl.start[o] >= mdl.start[o - 1] + int(p[o - 1])
    )
    lasts = [int(e) - 1 for e in d.job_start[1:]]
    model.last = pyo.Constraint(lasts, rule=lambda mdl, o: mdl.makespan >= mdl.start[o] + int(p[o]))
    pairs = _pairs(d)
    model.before = pyo.Var(pairs, domain=pyo.Binary)

    def first_then(mdl: pyo.ConcreteModel, a: int, b: int) -> Any:
        big = H - int(q[a]) + int(p[a]) - int(r[b])
        if big <= 0:
            return pyo.Constraint.Skip
        return mdl.start[a] + int(p[a]) <= mdl.start[b] + big * (1 - mdl.before[a, b])

    def second_then(mdl: pyo.ConcreteModel, a: int, b: int) -> Any:
        big = H - int(q[b]) + int(p[b]) - int(r[a])
        if big <= 0:
            return pyo.Constraint.Skip
        return mdl.start[b] + int(p[b]) <= mdl.start[a] + big * mdl.before[a, b]

    model.first_then = pyo.Constraint(pairs, rule=first_then)
    model.second_then = pyo.Constraint(pairs, rule=second_then)
    model.objective = pyo.Objective(expr=model.makespan, sense=pyo.minimize)
    return model


def decode(model: pyo.ConcreteModel, d: JobShopData) -> dict[str, Any]:
    """Each operation's start, read back from a solved ``build_model`` (rounded: starts are integers)."""
    start = [round(pyo.value(model.start[o], exception=False) or 0.0) for o in range(d.n_ops)]
    return solution_from_flat(d, start)


class JobShopCpModel(cp_model.CpModel):
    """A CP-SAT ``CpModel`` with the job shop's variables reachable (see ``build_cp_model``)."""

    start: list[cp_model.IntVar]
    end: list[cp_model.IntVar]
    interval: list[cp_model.IntervalVar]
    makespan: cp_model.IntVar
    horizon: int
    ops: dict[int, tuple[int, int]]


def build_cp_model(d: JobShopData, horizon: int | None = None) -> JobShopCpModel:
    """The CP-SAT model of the module docstring.

    ``horizon`` as for ``build_model`` (default: the sum of all durations). The model carries its variables:
    ``model.start[o]``, ``model.end[o]``, ``model.interval[o]`` (flat operation index o, job-major: job j's
    k-th operation is ``o = sum of the earlier jobs' lengths + k``; ``model.ops[o]`` is ``(j, k)``),
    ``model.makespan`` and ``model.horizon``. Add constraints with the ordinary CP-SAT API, e.g.
    ``model.Add(model.start[o] >= 10)``, and solve it with ``allocopt.solve(instance, method="cp", model=model)``.
    """
    H = _horizon(d, horizon)
    r, q, p = d.heads(), d.tails(), d.duration
    job, pos = d.job_of(), d.op_index()
    model = JobShopCpModel()
    model.horizon = H
    model.ops = {o: (int(job[o]), int(pos[o])) for o in range(d.n_ops)}
    model.start, model.end, model.interval = [], [], []
    for o in range(d.n_ops):
        j, k = model.ops[o]
        lo, hi, size = int(r[o]), H - int(q[o]), int(p[o])
        s = model.NewIntVar(lo, hi, f"start[{j},{k}]")
        e = model.NewIntVar(lo + size, hi + size, f"end[{j},{k}]")
        model.start.append(s)
        model.end.append(e)
        model.interval.append(model.NewIntervalVar(s, size, e, f"op[{j},{k}]"))
        if k > 0:
            model.Add(model.end[o - 1] <= s)
    for mach in range(d.machines):
        ops = np.flatnonzero((d.machine == mach) & (d.duration > 0))
        if len(ops) > 1:
            model.AddNoOverlap([model.interval[int(o)] for o in ops])
    model.makespan = model.NewIntVar(d.trivial_lower_bound(), H, "makespan")
    model.AddMaxEquality(model.makespan, [model.end[int(e) - 1] for e in d.job_start[1:]])
    model.Minimize(model.makespan)
    return model


def decode_cp(solver: cp_model.CpSolver, model: JobShopCpModel, d: JobShopData) -> dict[str, Any]:
    """Each operation's start, read back from a CP-SAT solve of ``build_cp_model``."""
    return solution_from_flat(d, [solver.Value(s) for s in model.start])
