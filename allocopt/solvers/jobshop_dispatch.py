r"""Priority dispatching for the job shop: Giffler-Thompson active and non-delay schedules, and a lower bound.

Data (shared by every job shop engine): flat arrays in job-major operation order, ``machine[o]`` and
``duration[o]`` (integers, durations may be 0), ``job_start`` (length n + 1; job j's operations are
``job_start[j]:job_start[j+1]``, in their processing order) and the machine count. A job may visit a machine
more than once.

Giffler and Thompson (1960) build a schedule one operation at a time. The candidates are the next unscheduled
operation of every job; candidate o can start at :math:`s_o = \max(\text{end of its job predecessor},
\text{end of the last operation on its machine})`.

- **active** (``schedule="active"``): let :math:`o^*` be the candidate of least completion
  :math:`c^* = s_{o^*} + p_{o^*}` and :math:`M^*` its machine; the conflict set is the candidates on
  :math:`M^*` with :math:`s_o < c^*` (and :math:`o^*` itself, which matters only when :math:`p_{o^*} = 0`).
  Every choice from it gives an active schedule (no operation can start earlier without delaying another),
  and some sequence of choices gives an optimal one.
- **non-delay** (``schedule="nondelay"``): the conflict set is every candidate that can start at the least
  :math:`s^* = \min_o s_o`, on any machine: no machine is left idle while an operation waits for it.

The rule picks from the conflict set the candidate of highest priority (ties: lowest job index). Each rule is a
small pure function of the candidate's duration :math:`p`, its job's remaining work :math:`W` (this operation
included), remaining operation count :math:`K` (this one included) and ready time :math:`a` (when its job
predecessor ended, 0 for a first operation):

========  =====================================  =============
rule      priority (highest first)               name
========  =====================================  =============
``spt``   :math:`-p`                             shortest processing time
``lpt``   :math:`p`                              longest processing time
``mwkr``  :math:`W`                              most work remaining
``mopnr`` :math:`K`                              most operations remaining
``fifo``  :math:`-a`                             first in, first out (earliest ready)
========  =====================================  =============

The bound :func:`trivial_lower_bound` is :math:`\max(\max_k \sum_{o: m_o = k} p_o,\ \max_j \sum_{o \in j} p_o)`:
a machine processes its operations one at a time, a job its operations in sequence.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["RULES", "SCHEDULES", "dispatch", "makespan", "trivial_lower_bound"]

RULES: tuple[str, ...] = ("spt", "lpt", "mwkr", "mopnr", "fifo")
SCHEDULES: tuple[str, ...] = ("active", "nondelay")

Priority = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _spt(duration: np.ndarray, work: np.ndarray, ops: np.ndarray, ready: np.ndarray) -> np.ndarray:
    return -duration


def _lpt(duration: np.ndarray, work: np.ndarray, ops: np.ndarray, ready: np.ndarray) -> np.ndarray:
    return duration


def _mwkr(duration: np.ndarray, work: np.ndarray, ops: np.ndarray, ready: np.ndarray) -> np.ndarray:
    return work


def _mopnr(duration: np.ndarray, work: np.ndarray, ops: np.ndarray, ready: np.ndarray) -> np.ndarray:
    return ops


def _fifo(duration: np.ndarray, work: np.ndarray, ops: np.ndarray, ready: np.ndarray) -> np.ndarray:
    return -ready


_PRIORITY: dict[str, Priority] = {"spt": _spt, "lpt": _lpt, "mwkr": _mwkr, "mopnr": _mopnr, "fifo": _fifo}


def _arrays(
    machine: np.ndarray, duration: np.ndarray, job_start: np.ndarray, machines: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # fresh writable copies: numba compiles read-only arrays (frozen model data) as a separate, uncached-at-warm-up
    # specialization, whose compile time would land inside a time limit
    m = np.array(machine, dtype=np.int64)
    d = np.array(duration, dtype=np.int64)
    js = np.array(job_start, dtype=np.int64)
    if m.ndim != 1 or d.shape != m.shape:
        raise ValueError("machine and duration must be 1-D arrays of the same length")
    if js.ndim != 1 or js.size < 1 or js[0] != 0 or js[-1] != m.size or np.any(np.diff(js) < 0):
        raise ValueError("job_start must run from 0 to the operation count, non-decreasing")
    if m.size and (m.min() < 0 or m.max() >= machines):
        raise ValueError(f"machine indices must lie in 0..{machines - 1}")
    if d.size and d.min() < 0:
        raise ValueError("durations must be >= 0")
    return m, d, js


def trivial_lower_bound(machine: np.ndarray, duration: np.ndarray, job_start: np.ndarray, machines: int) -> int:
    """max(largest machine load, longest job): no schedule is shorter."""
    m, d, js = _arrays(machine, duration, job_start, machines)
    if d.size == 0:
        return 0
    load = np.zeros(machines, dtype=np.int64)
    np.add.at(load, m, d)
    job_len = np.add.reduceat(d, js[:-1][np.diff(js) > 0])
    return int(max(load.max(), job_len.max()))


def makespan(start: np.ndarray, duration: np.ndarray) -> int:
    """The latest end of a flat start vector (0 for no operations)."""
    return int((np.asarray(start, dtype=np.int64) + np.asarray(duration, dtype=np.int64)).max(initial=0))


def dispatch(
    machine: np.ndarray,
    duration: np.ndarray,
    job_start: np.ndarray,
    machines: int,
    rule: str = "mwkr",
    schedule: str = "active",
) -> np.ndarray:
    """One Giffler-Thompson schedule (active or non-delay) by a priority rule; the flat int64 start per operation.

    Raises ValueError for a rule not in :data:`RULES` or a schedule not in :data:`SCHEDULES`.
    """
    if rule not in _PRIORITY:
        raise ValueError(f"unknown dispatch rule {rule!r}; expected one of {', '.join(RULES)}")
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; expected one of {', '.join(SCHEDULES)}")
    m, d, js = _arrays(machine, duration, job_start, machines)
    priority = _PRIORITY[rule]
    n_jobs = js.size - 1
    start = np.zeros(m.size, dtype=np.int64)
    # Work remaining from each operation to its job's end (this operation included).
    suffix = np.zeros(m.size, dtype=np.int64)
    for j in range(n_jobs):
        a, b = js[j], js[j + 1]
        if b > a:
            suffix[a:b] = np.cumsum(d[a:b][::-1])[::-1]
    nxt = js[:-1].copy()  # each job's next unscheduled operation
    job_ready = np.zeros(n_jobs, dtype=np.int64)
    mach_ready = np.zeros(machines, dtype=np.int64)
    open_jobs = np.flatnonzero(nxt < js[1:])
    while open_jobs.size:
        ops = nxt[open_jobs]
        mach = m[ops]
        dur = d[ops]
        es = np.maximum(job_ready[open_jobs], mach_ready[mach])
        if schedule == "active":
            ec = es + dur
            star = int(np.argmin(ec))  # lowest job index among ties
            conflict = (mach == mach[star]) & (es < ec[star])
            conflict[star] = True
        else:
            conflict = es == es.min()
        cand = np.flatnonzero(conflict)
        jobs = open_jobs[cand]
        score = priority(dur[cand], suffix[ops[cand]], js[jobs + 1] - ops[cand], job_ready[jobs])
        pick = int(cand[int(np.argmax(score))])  # candidates are in job order: ties go to the lowest job
        o, j = int(ops[pick]), int(open_jobs[pick])
        s = int(es[pick])
        start[o] = s
        end = s + int(d[o])
        job_ready[j] = end
        mach_ready[m[o]] = end
        nxt[j] += 1
        if nxt[j] == js[j + 1]:
            open_jobs = open_jobs[open_jobs != j]
    return start
