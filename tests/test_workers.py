"""WorkerPool: an Executor on allocopt's worker processes (what VCG's parallel re-solves run on)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from allocopt.workers import WorkerDied, WorkerPool

ROOT = Path(__file__).resolve().parents[1]


def test_results_exceptions_and_a_dead_worker_each_reach_their_own_future() -> None:
    with WorkerPool(2) as pool:
        powers = [pool.submit(pow, 3, k) for k in range(6)]
        bad = pool.submit(int, "not a number")
        dies = pool.submit(os.abort)  # SIGABRT in the worker, as a crashing engine would
        unpicklable = pool.submit(lambda: 1)
        assert [f.result(timeout=60) for f in powers] == [3**k for k in range(6)]
        with pytest.raises(ValueError, match="not a number"):
            bad.result(timeout=60)
        with pytest.raises(WorkerDied, match="SIGABRT"):
            dies.result(timeout=60)
        with pytest.raises(Exception, match=r"lambda|pickle"):
            unpicklable.result(timeout=60)
        assert pool.submit(divmod, 17, 5).result(timeout=60) == (3, 2)  # a fresh worker took the dead one's place
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(pow, 2, 2)


def test_shutdown_can_cancel_what_has_not_started() -> None:
    pool = WorkerPool(1)
    first = pool.submit(time.sleep, 0.5)
    while not (first.running() or first.done()):
        time.sleep(0.01)
    queued = [pool.submit(pow, 2, k) for k in range(50)]
    pool.shutdown(wait=True, cancel_futures=True)
    assert first.result() is None and not first.cancelled()
    assert all(f.cancelled() for f in queued)


def test_vcg_workers_in_a_script_without_a_main_guard(tmp_path: Path) -> None:
    """multiprocessing's spawn would re-run this script in every worker; allocopt's workers do not."""
    script = tmp_path / "vcg_script.py"
    instance = ROOT / "instances/combinatorial_auction/cats/3atom-100-100-0000.json"
    script.write_text(
        textwrap.dedent(
            f"""
            import allocopt
            inst = allocopt.load({str(instance)!r})
            one = allocopt.solve(inst, method="milp", payments="vcg")
            two = allocopt.solve(inst, method="milp", payments="vcg", workers=2)
            assert two.status == "optimal" and two.details["vcg_resolves"] == one.details["vcg_resolves"] > 1
            assert all(abs(two.solution["payments"][b] - p) <= 1e-6 * max(1, abs(p))
                       for b, p in one.solution["payments"].items())
            print("payments agree")
            """
        )
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("payments agree") == 1
