"""The job shop's heuristic engines: Giffler-Thompson dispatching and the critical-path tabu search.

Checked against numbers nobody here computed: schedules derived by hand (comments), an independent feasibility
check in plain Python, the activeness and non-delay definitions checked directly on the schedule, optima by
brute force over every machine sequence on tiny shops, and the published optima of ft06 (55) and la01 (666).
"""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest

from allocopt.solvers.jobshop_dispatch import RULES, dispatch, trivial_lower_bound
from allocopt.solvers.jobshop_tabu import tabu_search, warm_up
from tests.conftest import INSTANCES

SCHEDULES = ("active", "nondelay")


def flat(jobs: list[list[tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Jobs as lists of (machine, duration) -> the engines' flat arrays."""
    machine = np.array([m for job in jobs for m, _ in job], dtype=np.int64)
    duration = np.array([p for job in jobs for _, p in job], dtype=np.int64)
    job_start = np.cumsum([0] + [len(job) for job in jobs]).astype(np.int64)
    return machine, duration, job_start, int(machine.max()) + 1 if machine.size else 0


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    doc = json.loads((INSTANCES / "job_shop" / f"{name}.json").read_text())
    return flat([[tuple(op) for op in job] for job in doc["data"]["jobs"]])


def feasible(machine, duration, job_start, start) -> bool:
    """Each job in order, one operation at a time per machine, no negative start (independent of the engines)."""
    m, d, s = machine.tolist(), duration.tolist(), start.tolist()
    if any(t < 0 for t in s):
        return False
    for j in range(len(job_start) - 1):
        for o in range(job_start[j] + 1, job_start[j + 1]):
            if s[o] < s[o - 1] + d[o - 1]:
                return False
    for k in set(m):
        ops = [o for o in range(len(m)) if m[o] == k]
        for a, b in itertools.combinations(ops, 2):
            # two intervals overlap iff each starts before the other ends (zero-length ones never block)
            if d[a] > 0 and d[b] > 0 and s[a] < s[b] + d[b] and s[b] < s[a] + d[a]:
                return False
            if (d[a] == 0 and s[b] < s[a] < s[b] + d[b]) or (d[b] == 0 and s[a] < s[b] < s[a] + d[a]):
                return False
    return True


def span(start, duration) -> int:
    return int(max((int(s) + int(p) for s, p in zip(start, duration, strict=True)), default=0))


def job_ready(job_start, duration, start, o: int) -> int:
    """When operation o's job predecessor ends (0 for a job's first operation)."""
    first = set(job_start[:-1].tolist())
    return 0 if o in first else int(start[o - 1] + duration[o - 1])


def idle_intervals(machine, duration, start, k: int, skip: int) -> list[tuple[int, int]]:
    """Idle intervals of machine k when operation ``skip`` is taken off it (the last one is unbounded)."""
    busy = sorted(
        (int(start[o]), int(start[o] + duration[o])) for o in range(len(machine)) if machine[o] == k and o != skip
    )
    gaps, t = [], 0
    for a, b in busy:
        if a > t:
            gaps.append((t, a))
        t = max(t, b)
    gaps.append((t, 10**12))
    return gaps


def is_active(machine, duration, job_start, start) -> bool:
    """No operation fits into an idle interval of its machine earlier than it starts (a global left shift)."""
    for o in range(len(machine)):
        ready = job_ready(job_start, duration, start, o)
        for a, b in idle_intervals(machine, duration, start, machine[o], o):
            t = max(a, ready)
            if t < start[o] and t + duration[o] <= b:
                return False
    return True


def is_nondelay(machine, duration, job_start, start) -> bool:
    """No machine is idle at any instant while an operation for it is ready and waiting."""
    for o in range(len(machine)):
        ready = job_ready(job_start, duration, start, o)
        for a, b in idle_intervals(machine, duration, start, machine[o], o):
            if max(a, ready) < min(b, start[o]):
                return False
    return True


def random_shop(rng: np.random.Generator, jobs: int, machines: int, *, repeats: bool, zeros: bool):
    out = []
    for _ in range(jobs):
        length = int(rng.integers(1, machines + 2)) if repeats else machines
        route = rng.integers(0, machines, length) if repeats else rng.permutation(machines)
        low = 0 if zeros else 1
        out.append([(int(k), int(rng.integers(low, 10))) for k in route])
    return out


def brute_force(machine, duration, job_start, machines) -> int:
    """Optimal makespan: the best semi-active schedule over every combination of machine sequences."""
    ops = [[o for o in range(len(machine)) if machine[o] == k] for k in range(machines)]
    first = set(job_start[:-1].tolist())
    best = None
    for perms in itertools.product(*(itertools.permutations(x) for x in ops)):
        mpred = {}
        for seq in perms:
            for a, b in itertools.pairwise(seq):
                mpred[b] = a
        start: dict[int, int] = {}
        changed, cyclic = True, False
        pending = set(range(len(machine)))
        while pending and changed:  # schedule every operation whose predecessors are scheduled
            changed = False
            for o in sorted(pending):
                preds = ([] if o in first else [o - 1]) + ([mpred[o]] if o in mpred else [])
                if all(p in start for p in preds):
                    start[o] = max([start[p] + int(duration[p]) for p in preds], default=0)
                    pending.discard(o)
                    changed = True
        cyclic = bool(pending)
        if not cyclic:
            c = max(start[o] + int(duration[o]) for o in start)
            best = c if best is None else min(best, c)
    assert best is not None
    return best


# ------------------------------------------------------------------------------------------ dispatch by hand

# Example E: J0 = (m0, 3), (m1, 2); J1 = (m0, 2), (m1, 4); J2 = (m1, 3), (m0, 1); operations 0..5 job-major.
EXAMPLE_E = [[(0, 3), (1, 2)], [(0, 2), (1, 4)], [(1, 3), (0, 1)]]
# Example F: J0 = (m0, 2); J1 = (m1, 1), (m0, 2), (m1, 1); J2 = (m0, 3), (m1, 1); operations 0..5 job-major.
EXAMPLE_F = [[(0, 2)], [(1, 1), (0, 2), (1, 1)], [(0, 3), (1, 1)]]

HAND = [
    # E, SPT, active. Step 1: candidates J0o0 (m0, s0, c3), J1o0 (m0, s0, c2), J2o0 (m1, s0, c3); least completion
    # 2 on m0, conflict {J0o0, J1o0}: SPT takes J1o0 [0,2). Step 2: J0o0 (s2, c5), J1o1 (m1, s2, c6), J2o0 (s0,
    # c3): c* = 3 on m1, conflict {J1o1, J2o0}: J2o0 (3 < 4) [0,3). Step 3: J0o0 (s2, c5), J1o1 (s3, c7), J2o1
    # (m0, s3, c4): c* = 4 on m0, conflict {J0o0, J2o1}: J2o1 (1) [3,4). Step 4: J0o0 (s4, c7), J1o1 (s3, c7): tie,
    # J0o0 first, conflict {J0o0}: [4,7). Step 5: J0o1 (m1, s7, c9), J1o1 (s3, c7): conflict {J1o1} [3,7).
    # Step 6: J0o1 [7,9).
    (EXAMPLE_E, "spt", "active", [4, 7, 0, 3, 0, 3]),
    # E, LPT, active. Step 1: conflict {J0o0, J1o0} on m0: J0o0 (3) [0,3). Step 2: J0o1 (m1, s3, c5), J1o0 (s3,
    # c5), J2o0 (s0, c3): c* = 3 on m1, conflict {J2o0} [0,3). Step 3: J0o1 (s3, c5), J1o0 (s3, c5), J2o1 (m0, s3,
    # c4): c* = 4 on m0, conflict {J1o0, J2o1}: J1o0 (2 > 1) [3,5). Step 4: J0o1 (s3, c5), J1o1 (m1, s5, c9),
    # J2o1 (s5, c6): c* = 5 on m1, conflict {J0o1} [3,5). Step 5: J2o1 [5,6). Step 6: J1o1 [5,9).
    (EXAMPLE_E, "lpt", "active", [0, 3, 3, 5, 0, 5]),
    # E, MWKR, active (work left: J0 5 then 2, J1 6 then 4, J2 4 then 1). Step 1: {J0o0 (5), J1o0 (6)}: J1o0
    # [0,2). Step 2: c* = 3 (J2o0) on m1, conflict {J1o1 (s2, W4), J2o0 (s0, W4)}: tie, lower job J1o1 [2,6).
    # Step 3: J0o0 (s2, c5), J2o0 (s6, c9): J0o0 [2,5). Step 4: J0o1 (m1, s6, c8), J2o0 (s6, c9): c* = 8,
    # conflict {J0o1 (W2), J2o0 (W4)}: J2o0 [6,9). Step 5: J0o1 (s9, c11), J2o1 (m0, s9, c10): J2o1 [9,10).
    # Step 6: J0o1 [9,11).
    (EXAMPLE_E, "mwkr", "active", [2, 9, 0, 2, 6, 9]),
    # E, SPT, non-delay. Step 1: all three can start at 0: SPT J1o0 [0,2) on m0. Step 2: earliest start 0 only for
    # J2o0 [0,3) on m1. Step 3: J0o0 (s2), J1o1 (s3), J2o1 (s3): J0o0 [2,5). Step 4: J0o1 (s5), J1o1 (s3), J2o1
    # (s5): J1o1 [3,7). Step 5: J0o1 (s7), J2o1 (s5): J2o1 [5,6). Step 6: J0o1 [7,9).
    (EXAMPLE_E, "spt", "nondelay", [2, 7, 0, 3, 0, 5]),
    # E, MWKR, non-delay: step 1 all start at 0, most work J1 (6): J1o0 [0,2); then every step has a single
    # candidate at the earliest start, as in the SPT non-delay derivation.
    (EXAMPLE_E, "mwkr", "nondelay", [2, 7, 0, 3, 0, 5]),
    # F, step 1 (every rule): J0o0 (m0, s0, c2), J1o0 (m1, s0, c1), J2o0 (m0, s0, c3): c* = 1 on m1, conflict
    # {J1o0} [0,1). Step 2: J0o0 (s0, c2), J1o1 (m0, s1, c3), J2o0 (s0, c3): c* = 2 on m0, conflict all three.
    # MOPNR (ops left J0 1, J1 2, J2 2): tie, lower job J1o1 [1,3). Step 3: J0o0 (s3, c5), J1o2 (m1, s3, c4),
    # J2o0 (s3, c6): c* = 4, conflict {J1o2} [3,4). Step 4: J0o0 (s3, c5), J2o0 (s3, c6): c* = 5 on m0, conflict
    # both, J2o0 (2 ops > 1) [3,6). Step 5: J0o0 (s6, c8), J2o1 (m1, s6, c7): J2o1 [6,7). Step 6: J0o0 [6,8).
    (EXAMPLE_F, "mopnr", "active", [6, 0, 1, 3, 3, 6]),
    # F, FIFO: step 2 ready times J0 0, J1 1, J2 0: tie, lower job J0o0 [0,2). Step 3: J1o1 (s2, c4), J2o0 (s2,
    # c5): c* = 4 on m0, conflict both, J2o0 (ready 0 < 1) [2,5). Step 4: J1o1 (s5, c7), J2o1 (m1, s5, c6):
    # c* = 6, conflict {J2o1} [5,6). Step 5: J1o1 [5,7). Step 6: J1o2 (m1, s7) [7,8).
    (EXAMPLE_F, "fifo", "active", [0, 0, 5, 7, 2, 5]),
    # F, LPT: step 2 durations 2, 2, 3: J2o0 [0,3). Step 3: J0o0 (s3, c5), J1o1 (s3, c5), J2o1 (m1, s3, c4):
    # c* = 4, conflict {J2o1} [3,4). Step 4: J0o0, J1o1 both (s3, c5): J0o0 the first of least completion,
    # conflict both, durations tie, lower job J0o0 [3,5). Step 5: J1o1 [5,7). Step 6: J1o2 (s7) [7,8).
    (EXAMPLE_F, "lpt", "active", [3, 0, 5, 7, 0, 3]),
    # F, SPT: step 2 durations 2, 2, 3: tie, lower job J0o0 [0,2); then as FIFO's steps 3-6 (SPT: J1o1 (2) before
    # J2o0 (3) in step 3: c* = 4 on m0, conflict {J1o1 (s2), J2o0 (s2)}: J1o1 [2,4). Step 4: J1o2 (m1, s4, c5),
    # J2o0 (s4, c7): J1o2 [4,5). Step 5: J2o0 [4,7). Step 6: J2o1 (m1, s7) [7,8).
    (EXAMPLE_F, "spt", "active", [0, 0, 2, 4, 4, 7]),
]


@pytest.mark.parametrize(("jobs", "rule", "schedule", "expected"), HAND)
def test_dispatch_by_hand(jobs, rule, schedule, expected):
    start = dispatch(*flat(jobs), rule=rule, schedule=schedule)
    assert start.dtype == np.int64
    assert start.tolist() == expected


def test_rules_and_errors():
    assert RULES == ("spt", "lpt", "mwkr", "mopnr", "fifo")
    data = flat(EXAMPLE_E)
    with pytest.raises(ValueError, match="rule"):
        dispatch(*data, rule="edd")
    with pytest.raises(ValueError, match="schedule"):
        dispatch(*data, schedule="semiactive")
    with pytest.raises(ValueError, match="neighbourhood"):
        tabu_search(*data, dispatch(*data), neighbourhood="n6")
    with pytest.raises(ValueError, match=r"job predecessor|overlaps"):
        tabu_search(*data, np.zeros(6, dtype=np.int64), iterations=10)


def test_lower_bound_by_hand():
    # E: machine loads m0 3 + 2 + 1 = 6, m1 2 + 4 + 3 = 9; job lengths 5, 6, 4: the bound is 9 (and E's SPT
    # schedule above reaches it, so it is the optimum)
    assert trivial_lower_bound(*flat(EXAMPLE_E)) == 9
    # F: loads m0 2 + 2 + 3 = 7, m1 1 + 1 + 1 = 3; jobs 2, 4, 4
    assert trivial_lower_bound(*flat(EXAMPLE_F)) == 7


@pytest.mark.parametrize("seed", range(12))
def test_dispatch_feasible_on_random_shops(seed):
    rng = np.random.default_rng(seed)
    jobs = random_shop(
        rng, int(rng.integers(2, 7)), int(rng.integers(1, 5)), repeats=seed % 2 == 0, zeros=seed % 3 != 2
    )
    data = flat(jobs)
    lb = trivial_lower_bound(*data)
    for rule in RULES:
        for schedule in SCHEDULES:
            start = dispatch(*data, rule=rule, schedule=schedule)
            assert feasible(data[0], data[1], data[2], start), (rule, schedule)
            assert lb <= span(start, data[1])


@pytest.mark.parametrize("seed", range(12))
def test_active_and_nondelay(seed):
    rng = np.random.default_rng(100 + seed)
    jobs = random_shop(rng, int(rng.integers(2, 6)), int(rng.integers(2, 5)), repeats=seed % 2 == 1, zeros=False)
    m, d, js, k = flat(jobs)
    for rule in RULES:
        active = dispatch(m, d, js, k, rule=rule, schedule="active")
        assert is_active(m, d, js, active), rule
        nondelay = dispatch(m, d, js, k, rule=rule, schedule="nondelay")
        assert is_nondelay(m, d, js, nondelay), rule
        assert is_active(m, d, js, nondelay), rule  # every non-delay schedule is active


def test_checks_can_fail():
    # the activeness and non-delay checks reject a schedule with an avoidable gap, the feasibility check overlaps
    m, d, js, _ = flat(EXAMPLE_E)
    late = np.array([5, 8, 0, 3, 0, 3])  # J0o0 could start at 2 on m0 (idle [2,3) and beyond)
    assert feasible(m, d, js, late) and not is_active(m, d, js, late) and not is_nondelay(m, d, js, late)
    assert not feasible(m, d, js, np.array([0, 3, 1, 5, 0, 3]))


# ------------------------------------------------------------------------------------------------ tabu search


def test_warm_up_is_cheap_once_compiled():
    warm_up()
    assert warm_up() == 0.0


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("neighbourhood", ["n5", "n7"])
def test_tabu_finds_brute_force_optimum(seed, neighbourhood):
    rng = np.random.default_rng(200 + seed)
    jobs = random_shop(rng, 3, 3, repeats=False, zeros=seed % 4 == 3)
    m, d, js, k = flat(jobs)
    optimum = brute_force(m, d, js, k)
    lb = trivial_lower_bound(m, d, js, k)
    start0 = dispatch(m, d, js, k, rule="spt")
    res = tabu_search(m, d, js, k, start0, neighbourhood=neighbourhood, seed=seed, iterations=3000)
    assert lb <= optimum <= res.makespan <= res.initial_makespan == span(start0, d)
    assert feasible(m, d, js, res.start) and span(res.start, d) == res.makespan
    assert res.makespan == optimum


@pytest.mark.parametrize("seed", range(8))
def test_tabu_feasible_with_repeats_and_zero_durations(seed):
    rng = np.random.default_rng(300 + seed)
    jobs = random_shop(rng, 6, 3, repeats=True, zeros=True)
    m, d, js, k = flat(jobs)
    start0 = dispatch(m, d, js, k, rule="lpt")
    for neighbourhood in ("n5", "n7"):
        res = tabu_search(m, d, js, k, start0, neighbourhood=neighbourhood, seed=seed, iterations=500)
        assert feasible(m, d, js, res.start)
        assert trivial_lower_bound(m, d, js, k) <= res.makespan == span(res.start, d) <= span(start0, d)
        assert res.history[0] == (0.0, span(start0, d))


def test_tabu_deterministic_and_honours_iterations():
    data = load("ft06")  # bound 47 < optimum 55: the search never stops early on its own
    start0 = dispatch(*data, rule="spt")
    runs = [tabu_search(*data, start0, neighbourhood="n7", seed=3, iterations=700) for _ in range(2)]
    assert runs[0].iterations == runs[1].iterations == 700
    assert runs[0].start.tolist() == runs[1].start.tolist()
    assert [h[1] for h in runs[0].history] == [h[1] for h in runs[1].history]
    other = tabu_search(*data, start0, neighbourhood="n5", seed=3, iterations=0)
    assert other.iterations == 0 and other.makespan <= other.initial_makespan == span(start0, data[1])
    assert feasible(data[0], data[1], data[2], runs[0].start)


def test_tabu_honours_time_limit():
    data = load("ft06")
    start0 = dispatch(*data)
    for a in data[:3]:  # read-only data (as the model's frozen arrays) must not trigger a compile in the clock
        a.setflags(write=False)
    warm_up()
    t0 = time.perf_counter()
    res = tabu_search(*data, start0, time_limit=0.3)
    wall = time.perf_counter() - t0
    assert 0.3 <= res.seconds <= 0.45 and wall <= 0.6
    assert res.iterations > 100
    times = [h[0] for h in res.history]
    assert times == sorted(times) and times[-1] <= res.seconds
    assert [h[1] for h in res.history] == sorted((h[1] for h in res.history), reverse=True)


@pytest.mark.parametrize(("name", "optimum"), [("ft06", 55), ("la01", 666)])
@pytest.mark.parametrize("neighbourhood", ["n5", "n7"])
def test_tabu_reaches_published_optimum(name, optimum, neighbourhood):
    data = load(name)
    start0 = dispatch(*data, rule="mwkr")
    lb = trivial_lower_bound(*data)
    res = tabu_search(*data, start0, neighbourhood=neighbourhood, seed=1, iterations=200_000, time_limit=2.0)
    assert lb <= res.makespan
    assert feasible(data[0], data[1], data[2], res.start)
    assert res.makespan == optimum
    assert res.history[-1][1] == optimum and res.history[-1][0] < 2.0
