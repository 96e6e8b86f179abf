"""Worker processes: fresh interpreters that run jobs sent over a socket, and an ``Executor`` built on them.

A worker is ``python -m allocopt._worker FD``: a fresh interpreter rather than multiprocessing's fork (which
copies the parent's engine threads, a deadlock risk) or spawn (which re-runs the caller's main script, breaking
scripts without a ``__main__`` guard). It runs in its own session, so Ctrl-C at the terminal reaches the parent
only, and the parent decides; it exits when the parent closes the socket or goes away.

Protocol: the parent sends a job (any picklable callable without arguments) or None (stop); the worker answers
``("started", None)`` when it begins, then ``("done", value)`` or ``("raised", exception)``.

- ``solve_many`` (``allocopt.batch``) drives workers itself, with kill deadlines per instance.
- :class:`WorkerPool` is a ``concurrent.futures.Executor`` on the same workers, for methods that split one
  instance into independent solves (the VCG re-solves of ``combinatorial_auction``).
"""

from __future__ import annotations

import atexit
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["WorkerDied", "WorkerPool"]


class WorkerDied(RuntimeError):
    """The worker process running a job died (a segfault in an engine, the OOM killer): that job's exception."""


@dataclass(frozen=True)
class Call:
    """A function call to run in a worker: ``fn(*args, **kwargs)``."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


def worker_main(conn: Connection) -> None:
    """A worker process: run jobs from the parent until it sends None or goes away."""
    import allocopt.methods  # noqa: F401  (every problem registered before the first job's clock starts)

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        conn.send(("started", None))  # the parent's kill clock starts now, not while this interpreter started
        try:
            reply = ("done", job())
        except Exception as exc:  # the job's own failure: the parent re-raises it
            reply = ("raised", exc)
        try:
            conn.send(reply)
        except Exception as exc:  # the value or the exception does not pickle
            conn.send(("raised", RuntimeError(f"the worker could not send its answer back: {exc}")))


class Worker:
    """One worker process, the socket to it, and the job it runs (if any, with when it was given and started)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "allocopt._worker", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # engines that print would garble the parent's output
            start_new_session=True,
            # The parent's import path: problems registered by the caller's own modules unpickle in the worker.
            env={**os.environ, "PYTHONPATH": import_path()},
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.job: Any = None
        self.started: float | None = None  # when the worker began the job (None: not yet)
        self.given = 0.0

    def give(self, job: Any) -> None:
        self.job, self.started, self.given = job, None, time.perf_counter()
        self.conn.send(job)

    def run(self, job: Any) -> tuple[str, Any]:
        """Run ``job`` and wait for it: ``("done", value)``, ``("raised", exception)`` or ``("died", why)``."""
        try:
            self.give(job)
        except (EOFError, OSError):
            return "died", death(self.process.wait())
        except Exception as exc:  # the job does not pickle: nothing was sent
            self.job = None
            return "raised", exc
        try:
            while True:
                kind, payload = self.conn.recv()
                if kind != "started":
                    return kind, payload
        except (EOFError, OSError):  # the socket closed: the process died
            return "died", death(self.process.wait())
        finally:
            self.job = None

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.conn.close()


def import_path() -> str:
    return os.pathsep.join(p for p in sys.path if p)


def death(code: int | None) -> str:
    """How a worker process ended, in words."""
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


# ------------------------------------------------------------------ workers started ahead of their batch
_warm: list[Worker] = []


def start_warm(n: int) -> None:
    """Have ``n`` workers starting up (they import the library meanwhile) for the next ``take_warm``."""
    while len(_warm) < n:
        _warm.append(Worker())


def take_warm(n: int) -> list[Worker]:
    """Up to ``n`` live workers started by ``start_warm``; the rest are stopped."""
    taken: list[Worker] = []
    while _warm and len(taken) < n:
        worker = _warm.pop()
        if worker.alive():
            taken.append(worker)
        else:
            worker.kill()
    stop_warm()
    return taken


def stop_warm() -> None:
    while _warm:
        _warm.pop().kill()


atexit.register(stop_warm)


# ---------------------------------------------------------------------------------------- the executor
class WorkerPool(Executor):
    """A ``concurrent.futures.Executor`` on ``workers`` worker processes.

    ``submit(fn, *args, **kwargs)`` runs ``fn`` (a module-level function; it and its arguments must pickle) in
    one of the workers. Unlike ``ProcessPoolExecutor``, no ``if __name__ == "__main__"`` guard is needed in the
    caller's script, and a worker that dies fails only its own future (:class:`WorkerDied`); a fresh worker
    takes its place. ``shutdown`` (or leaving the ``with`` block) stops the workers.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._jobs: queue.SimpleQueue[tuple[Future, Call] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [threading.Thread(target=self._serve, daemon=True) for _ in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a WorkerPool after shutdown")
            future: Future = Future()
            self._jobs.put((future, Call(fn, args, kwargs)))
            return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if cancel_futures:
                while True:
                    try:
                        item = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if item is not None:
                        item[0].cancel()
            for _ in self._threads:
                self._jobs.put(None)
        if wait:
            for thread in self._threads:
                thread.join()

    def _serve(self) -> None:
        """One thread per worker: take a job, run it there, settle its future."""
        worker = Worker()  # started now: it imports the library while the caller prepares its jobs
        try:
            while (item := self._jobs.get()) is not None:
                future, call = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    kind, payload = worker.run(call)
                except Exception as exc:  # the answer did not unpickle here: the stream's state is unknown
                    kind, payload = "lost", exc
                if kind == "done":
                    future.set_result(payload)
                elif kind == "died":
                    future.set_exception(WorkerDied(f"the worker process running {_name(call.fn)} {payload}"))
                else:
                    future.set_exception(payload)
                if kind in ("died", "lost"):  # a fresh worker for the next job
                    worker.kill()
                    worker = Worker()
        finally:
            worker.kill()


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", repr(fn))
