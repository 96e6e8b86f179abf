"""Solving many instances at once: worker processes on this machine, or Ray tasks on a cluster.

``solve_many`` is ``solve`` over a batch. The driver (the calling process) validates every instance first,
then hands each worker the instance itself (its validated data, pickled), never its path: a cluster's
workers need not share the driver's disk. Results come back as they finish, and are the same as a serial
run's (same status, objective, bound and verification; only ``runtime_s`` differs).

Isolation. One instance cannot take the batch down:

- an exception inside a method becomes that instance's ``error`` result, with the exception's words;
- a worker that dies (a segfault in an engine, the kernel's OOM killer) ends its instance as ``error`` naming
  the signal or exit code, and a fresh worker takes its place;
- with a time limit, an instance still running ``KILL_AFTER_FACTOR`` x the limit + ``KILL_AFTER_GRACE_S``
  seconds after it started is killed and ends as ``error`` (engines honour their limits; this catches the
  ones that hang);
- stopping the iteration (Ctrl-C in the driver, or closing the generator) kills every worker at once.

The process backend drives ``allocopt.workers``' processes itself (for the kill deadlines) rather than
``concurrent.futures``' process pool: there, one dead worker breaks the whole pool and every pending instance
with it.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Literal

from allocopt.api import solve
from allocopt.envelope import Instance, instance_from_dict, load
from allocopt.errors import AllocoptError, UsageError
from allocopt.result import Result
from allocopt.workers import Worker, death, import_path, start_warm, take_warm

__all__ = ["BACKENDS", "KILL_AFTER_FACTOR", "KILL_AFTER_GRACE_S", "solve_many", "warm_up"]

Backend = Literal["process", "ray"]
BACKENDS: tuple[str, ...] = ("process", "ray")
#: An instance still running this many times its time limit ...
KILL_AFTER_FACTOR = 2.0
#: ... plus this many seconds after it started is killed (its result: ``error``).
KILL_AFTER_GRACE_S = 30.0
#: Ray colours its tracebacks; a solution file's message is plain text.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
#: Ray started by ``warm_up``: the next Ray batch shuts it down when it ends.
_ray_started_by_warm_up = False
#: How long the driver tries to reach a Ray cluster's address before it gives up.
RAY_CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class _Task:
    """What a worker needs to solve one instance."""

    key: int
    instance: Instance
    method: str
    solver: str | None
    time_limit: float | None
    options: Mapping[str, Any]

    def __call__(self) -> Result:  # what a worker process runs
        return solve_task(self)


def solve_many(
    instances: Iterable[Instance | Mapping[str, Any] | str | Path],
    method: str = "auto",
    solver: str | None = None,
    time_limit: float | None = None,
    workers: int | None = None,
    backend: Backend = "process",
    address: str | None = None,
    **options: Any,
) -> Iterator[tuple[Instance, Result]]:
    """Solve every instance in parallel; yields ``(instance, result)`` as each finishes.

    ``instances``: ``Instance`` objects, paths or instance documents (all validated before anything runs; an
    invalid one raises ``InstanceError`` and nothing is solved). ``workers``: worker processes (default: the
    machine's cores) for ``backend="process"``; for ``backend="ray"``, the CPUs of the local Ray started when
    there is none (``address`` None), and on a cluster the most tasks handed to it at once (default: the
    cluster's CPUs; a task's kill deadline runs from its hand-over). ``address``: a running Ray cluster
    (``"host:port"``, ``"ray://host:port"`` or ``"auto"``). ``method``, ``solver``, ``time_limit`` and the
    ``options`` are ``solve``'s, the same for every instance.

    Raises ``UsageError`` for bad settings (``workers`` < 1, an unknown backend, a method that does not apply
    to some instance, an unreachable Ray address, Ray not installed) before any instance runs.
    """
    _check_settings(workers, backend, address)
    if time_limit is not None and time_limit <= 0:
        raise UsageError(f"time limit must be positive, got {time_limit}")
    batch = [_as_instance(x) for x in instances]
    if method != "auto":
        for inst in batch:
            try:
                inst.spec.method(method, inst.data)
            except UsageError as exc:
                raise UsageError(f"{inst.source or inst.name}: {exc}") from None
    tasks = [_Task(k, inst, method, solver, time_limit, dict(options)) for k, inst in enumerate(batch)]
    if not tasks:
        return iter(())
    if backend == "ray":
        return _run_ray(tasks, workers, address)
    return _run_processes(tasks, min(workers or os.cpu_count() or 1, len(tasks)))


def warm_up(workers: int | None = None, backend: Backend = "process", address: str | None = None) -> None:
    """Start the next ``solve_many``'s workers now, so that their start-up overlaps the caller's own work.

    Worker processes (or Ray, and its workers' imports of the library) take a few seconds to start; the
    command line calls this before it reads and validates the instance files. Same settings as
    ``solve_many``'s (and the same ``UsageError`` for bad ones). The next process batch takes the workers it
    needs and stops the rest; workers no batch took stop when the interpreter exits.
    """
    global _ray_started_by_warm_up
    _check_settings(workers, backend, address)
    if backend == "ray":
        ray, _ = _import_ray()
        if _start_ray(ray, workers, address):
            _ray_started_by_warm_up = True
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            importer = ray.remote(num_cpus=1)(_import_problems)
            for _ in range(min(workers or cpus, cpus)):
                importer.remote()
        return
    start_warm(workers or os.cpu_count() or 1)


def _check_settings(workers: int | None, backend: str, address: str | None) -> None:
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; backends: {', '.join(BACKENDS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UsageError(f"workers must be a whole number >= 1, got {workers!r}")
    if address is not None and backend != "ray":
        raise UsageError("an address is for the ray backend (backend='ray')")


def _import_problems() -> None:
    import allocopt.methods  # noqa: F401  (a Ray worker's first task pays for this import otherwise)


def _as_instance(x: Instance | Mapping[str, Any] | str | Path) -> Instance:
    if isinstance(x, Instance):
        return x
    if isinstance(x, str | Path):
        return load(x)
    return instance_from_dict(x)


def solve_task(task: _Task) -> Result:
    """Solve one task; any failure becomes the instance's ``error`` result (what every backend runs)."""
    try:
        return solve(task.instance, task.method, task.solver, task.time_limit, **task.options)
    except AllocoptError as exc:
        return _error(task, str(exc))
    except Exception as exc:  # a bug or an engine failure: this instance's error, not the batch's
        return _error(task, f"{type(exc).__name__}: {exc}")


def _error(task: _Task, message: str, runtime: float = 0.0) -> Result:
    inst = task.instance
    return Result(
        problem=inst.problem,
        instance=inst.name,
        status="error",
        objective=None,
        bound=None,
        gap=None,
        method=task.method,
        solver=task.solver,
        runtime_s=runtime,
        verified=False,
        solution=None,
        message=message,
    )


def _kill_deadline(task: _Task, started: float) -> float | None:
    if task.time_limit is None:
        return None
    return started + KILL_AFTER_FACTOR * task.time_limit + KILL_AFTER_GRACE_S


# ------------------------------------------------------------------------------------ process backend
def _run_processes(tasks: list[_Task], n_workers: int) -> Iterator[tuple[Instance, Result]]:
    pending = deque(tasks)
    pool: list[Worker] = []
    try:
        pool = take_warm(n_workers)
        pool += [Worker() for _ in range(n_workers - len(pool))]
        for worker in pool:
            if pending:
                worker.give(pending.popleft())
        while any(w.job is not None for w in pool):
            busy = [w for w in pool if w.job is not None]
            ready = set(wait([w.conn for w in busy], timeout=_wait_time(busy)))
            for k, worker in enumerate(pool):
                task = worker.job
                if task is None:
                    continue
                outcome = _collect(worker, task, ready)
                if outcome is None:
                    continue
                result, lost = outcome
                worker.job = None
                if lost:  # dead or killed: a fresh worker takes its place while there is work left
                    worker.kill()
                    if pending:
                        worker = pool[k] = Worker()
                if pending and worker.alive():
                    worker.give(pending.popleft())
                yield task.instance, result
    finally:
        for worker in pool:  # idle or not: nothing a worker holds outlives the batch
            worker.kill()


def _collect(worker: Worker, task: _Task, ready: set[Any]) -> tuple[Result, bool] | None:
    """The finished task's result and whether its worker is lost (dead, or killed past the deadline), or None."""
    if worker.conn in ready:
        try:
            while worker.conn.poll():
                kind, payload = worker.conn.recv()
                if kind == "done":
                    return payload, False
                if kind == "raised":  # solve_task answers every failure with a result; this is a worker fault
                    return _error(task, f"{type(payload).__name__}: {payload}"), False
                worker.started = time.perf_counter()
        except (EOFError, OSError):  # the socket closed: the process died
            why = f"the worker process solving it {death(worker.process.wait())}"
            return _error(task, why, time.perf_counter() - (worker.started or worker.given)), True
    now = time.perf_counter()
    deadline = None if worker.started is None else _kill_deadline(task, worker.started)
    if deadline is None or now < deadline:
        return None
    why = f"still running {now - worker.started:.0f}s after it started, far past its time limit of {task.time_limit}s"
    return _error(task, f"{why}: killed", now - worker.started), True


def _wait_time(busy: list[Worker]) -> float | None:
    deadlines = [
        d
        for w in busy
        if w.job is not None and w.started is not None and (d := _kill_deadline(w.job, w.started)) is not None
    ]
    return None if not deadlines else max(0.0, min(deadlines) - time.perf_counter())


# ---------------------------------------------------------------------------------------- Ray backend
def _check_reachable(address: str) -> None:
    """Fail fast, naming the address, when nothing listens there (Ray itself retries for a long while)."""
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise UsageError(f"Ray address {address!r}: expected host:port, ray://host:port or auto")
    try:
        with socket.create_connection((host, int(port)), timeout=RAY_CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise UsageError(f"cannot reach a Ray cluster at {address}: {exc}") from None


def _run_ray(tasks: list[_Task], workers: int | None, address: str | None) -> Iterator[tuple[Instance, Result]]:
    global _ray_started_by_warm_up
    ray, ray_error = _import_ray()
    started_here = _start_ray(ray, workers, address) or _ray_started_by_warm_up
    _ray_started_by_warm_up = False
    return _ray_results(ray, ray_error, tasks, workers, started_here)


def _import_ray() -> tuple[Any, type]:
    try:
        import ray
        from ray.exceptions import RayError
    except ImportError:
        raise UsageError('the ray backend needs Ray: pip install "allocopt[ray]"') from None
    return ray, RayError


def _start_ray(ray: Any, workers: int | None, address: str | None) -> bool:
    """Connect to the cluster at ``address`` or start a local Ray, unless Ray is running; True if started."""
    if address is not None:
        _check_reachable(address)
    if ray.is_initialized():
        return False
    try:
        if address is None:
            ray.init(
                num_cpus=workers,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                # Same machine, so the driver's import path is valid: the caller's own problems unpickle.
                runtime_env={"env_vars": {"PYTHONPATH": import_path()}},
            )
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UsageError(f"cannot start or reach Ray at {address or 'a new local cluster'}: {exc}") from None
    return True


def _ray_results(
    ray: Any, ray_error: type, tasks: list[_Task], window: int | None, started_here: bool
) -> Iterator[tuple[Instance, Result]]:
    """Ray tasks, at most ``window`` in flight (default: the cluster's CPUs when tasks have a time limit).

    Ray queues whatever it cannot run yet, so a task handed over too early would spend its kill deadline in
    the queue; handing over one task per free CPU keeps "handed over" close to "started". Without a time
    limit there is no deadline, and handing over everything at once saves a driver round trip per task.
    """
    remote = ray.remote(num_cpus=1, max_retries=0)(solve_task)
    if window is None:
        has_deadline = any(t.time_limit is not None for t in tasks)
        window = max(1, int(ray.cluster_resources().get("CPU", 1))) if has_deadline else len(tasks)
    pending = deque(tasks)
    refs: dict[Any, tuple[_Task, float]] = {}

    def hand_over() -> None:  # before each yield: the CPUs stay busy while the caller handles a result
        while pending and len(refs) < window:
            task = pending.popleft()
            refs[remote.remote(task)] = (task, time.perf_counter())

    try:
        hand_over()
        while refs:
            deadlines = [d for t, s in refs.values() if (d := _kill_deadline(t, s)) is not None]
            timeout = None if not deadlines else max(0.0, min(deadlines) - time.perf_counter())
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=timeout)
            now = time.perf_counter()
            finished: list[tuple[Instance, Result]] = []
            if ready:
                task, began = refs.pop(ready[0])
                try:
                    result = ray.get(ready[0])
                except ray_error as exc:  # the worker died, or Ray could not run the task
                    words = _ANSI_ESCAPE.sub("", f"{type(exc).__name__}: {exc}").strip()
                    result = _error(task, f"the Ray task failed: {words}", now - began)
                finished.append((task.instance, result))
            # Every round, not only when the wait times out: results of others may keep arriving meanwhile.
            for ref, (task, began) in list(refs.items()):
                deadline = _kill_deadline(task, began)
                if deadline is not None and now >= deadline:
                    ray.cancel(ref, force=True)
                    del refs[ref]
                    message = f"still running {now - began:.0f}s after it was handed to Ray: cancelled"
                    finished.append((task.instance, _error(task, message, now - began)))
            hand_over()
            yield from finished
    finally:
        for ref in refs:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()
