"""solve_many: the same answers as a serial run on both backends, and one bad instance never takes the batch down."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import allocopt
from allocopt import batch, workers
from allocopt.batch import solve_many
from allocopt.envelope import Instance
from allocopt.errors import UsageError
from allocopt.registry import _PROBLEMS, register

ROOT = Path(__file__).resolve().parents[1]
#: A mixed batch: several problems, exact and heuristic methods, convex and MILP engines.
MIXED = [
    *sorted((ROOT / "instances/knapsack/pisinger").glob("*.json"))[:4],
    *sorted((ROOT / "instances/assignment/orlib").glob("*.json"))[:2],
    *sorted((ROOT / "instances/parallel_machines").glob("*.json"))[:2],
    *sorted((ROOT / "instances/single_machine").glob("*.json"))[:2],
    *sorted((ROOT / "instances/workflow").glob("*.json"))[:1],
    *sorted((ROOT / "instances/fisher_market").glob("*.json"))[:1],
]


def _essence(r: allocopt.Result) -> tuple:
    """What must not depend on where an instance was solved (runtime_s and engine details may)."""
    return (r.problem, r.instance, r.status, r.method, r.objective, r.bound, r.verified)


@pytest.fixture(scope="module")
def serial() -> dict[str, allocopt.Result]:
    return {r.instance: r for r in (allocopt.solve(f, time_limit=20) for f in MIXED)}


@pytest.fixture
def crash_problem():
    import crashing_problem

    register(crashing_problem.SPEC)
    yield crashing_problem
    _PROBLEMS.pop("crash_test", None)


def _crash_instance(module, name: str, behaviour: str, value: int = 1) -> Instance:
    return Instance(problem="crash_test", name=name, data=module.CrashData(behaviour, value))


def test_the_mixed_batch_covers_several_problems() -> None:
    assert len(MIXED) >= 10 and len({allocopt.load(f).problem for f in MIXED}) >= 6


def test_processes_give_the_serial_answers(serial) -> None:
    got = {inst.name: r for inst, r in solve_many(MIXED, time_limit=20, workers=2)}
    assert set(got) == set(serial)
    for name, r in got.items():
        assert _essence(r) == _essence(serial[name]), name


def test_ray_gives_the_serial_answers(serial) -> None:
    pytest.importorskip("ray", reason="Ray is part of the test extra")
    got = {inst.name: r for inst, r in solve_many(MIXED, time_limit=20, workers=2, backend="ray")}
    assert set(got) == set(serial)
    for name, r in got.items():
        assert _essence(r) == _essence(serial[name]), name


def test_ray_tasks_waiting_for_a_cpu_do_not_spend_their_kill_deadline(crash_problem, monkeypatch) -> None:
    """Sixteen 1-second solves on 2 CPUs take 8 s; each may run 1 + 6 s from when it is handed to Ray.

    Handing Ray the whole batch at once would cancel the last ones while they still wait in its queue.
    """
    pytest.importorskip("ray", reason="Ray is part of the test extra")
    monkeypatch.setattr(batch, "KILL_AFTER_FACTOR", 1.0)
    monkeypatch.setattr(batch, "KILL_AFTER_GRACE_S", 6.0)
    slow = [_crash_instance(crash_problem, f"slow-{k}", "sleep", 1) for k in range(16)]
    results = {inst.name: r for inst, r in solve_many(slow, time_limit=1, workers=2, backend="ray")}
    assert sorted(results) == sorted(i.name for i in slow)
    for name, r in results.items():
        assert (r.status, r.objective, r.verified) == ("optimal", 1, True), (name, r.message)


@pytest.mark.parametrize("backend", ["process", "ray"])
def test_a_worker_that_dies_ends_its_instance_as_error_and_the_rest_are_solved(crash_problem, backend) -> None:
    if backend == "ray":
        pytest.importorskip("ray", reason="Ray is part of the test extra")
    batch_ = [_crash_instance(crash_problem, f"ok-{k}", "ok", k) for k in range(3)]
    batch_.insert(1, _crash_instance(crash_problem, "dies", "die"))
    results = {inst.name: r for inst, r in solve_many(batch_, workers=2, backend=backend)}
    died = results["dies"]
    assert died.status == "error" and ("SIGKILL" in died.message or "the Ray task failed" in died.message)
    for k in range(3):
        ok = results[f"ok-{k}"]
        assert ok.status == "optimal" and ok.verified and ok.objective == k


def test_an_instance_far_past_its_time_limit_is_killed(crash_problem, monkeypatch) -> None:
    monkeypatch.setattr(batch, "KILL_AFTER_GRACE_S", 4.0)
    began = time.perf_counter()
    results = {
        inst.name: r
        for inst, r in solve_many(
            [_crash_instance(crash_problem, "hangs", "hang"), _crash_instance(crash_problem, "fine", "ok", 7)],
            time_limit=0.5,
            workers=2,
        )
    }
    assert time.perf_counter() - began < 30
    assert results["hangs"].status == "error" and "time limit" in results["hangs"].message
    assert results["fine"].objective == 7


def test_stopping_the_iteration_stops_the_workers(crash_problem) -> None:
    it = solve_many(
        [_crash_instance(crash_problem, "quick", "ok", 1), _crash_instance(crash_problem, "slow", "hang")], workers=2
    )
    inst, first = next(it)
    assert inst.name == "quick" and first.objective == 1
    began = time.perf_counter()
    it.close()  # what Ctrl-C in the driver does: the generator's cleanup kills the hanging worker
    assert time.perf_counter() - began < 10


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"workers": 0}, "workers must be a whole number >= 1"),
        ({"workers": -2}, "workers must be a whole number >= 1"),
        ({"backend": "threads"}, "unknown backend"),
        ({"backend": "ray", "address": "127.0.0.1:1"}, "cannot reach a Ray cluster at 127.0.0.1:1"),
        ({"backend": "ray", "address": "nowhere"}, "expected host:port"),
        ({"address": "127.0.0.1:6379"}, "address is for the ray backend"),
        ({"method": "no_such_method"}, "unknown method 'no_such_method'"),
    ],
)
def test_bad_settings_are_refused_before_anything_runs(kwargs, words) -> None:
    with pytest.raises(UsageError, match=words):
        list(solve_many(MIXED[:1], **kwargs))


def test_an_invalid_instance_document_is_refused_before_anything_runs() -> None:
    with pytest.raises(allocopt.InstanceError, match="data"):
        list(solve_many([MIXED[0], {"format": "allocopt/1", "problem": "knapsack", "data": {"values": [1]}}]))


def test_an_empty_batch_yields_nothing() -> None:
    assert list(solve_many([])) == []


def test_warmed_up_workers_solve_the_next_batch_and_spares_stop() -> None:
    batch.warm_up(workers=3)
    warmed = [w.process for w in workers._warm]
    assert len(warmed) == 3
    got = {inst.name: r for inst, r in solve_many(MIXED[:2], time_limit=20, workers=2)}
    assert {name: r.objective for name, r in got.items()} == {
        r.instance: r.objective for r in (allocopt.solve(f, time_limit=20) for f in MIXED[:2])
    }
    assert workers._warm == [] and all(p.poll() is not None for p in warmed)  # two used, one spare: all stopped


def test_a_warmed_up_local_ray_is_shut_down_by_the_batch() -> None:
    ray = pytest.importorskip("ray", reason="Ray is part of the test extra")
    batch.warm_up(workers=2, backend="ray")
    assert ray.is_initialized()
    got = [r for _, r in solve_many(MIXED[:2], time_limit=20, workers=2, backend="ray")]
    assert [r.status for r in got] == ["optimal", "optimal"] and all(r.verified for r in got)
    assert not ray.is_initialized()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"workers": 0}, "workers must be a whole number >= 1"),
        ({"backend": "threads"}, "unknown backend"),
        ({"backend": "ray", "address": "127.0.0.1:1"}, "cannot reach a Ray cluster at 127.0.0.1:1"),
        ({"address": "127.0.0.1:6379"}, "address is for the ray backend"),
    ],
)
def test_warm_up_refuses_what_solve_many_refuses(kwargs, words) -> None:
    with pytest.raises(UsageError, match=words):
        batch.warm_up(**kwargs)
    assert workers._warm == []
