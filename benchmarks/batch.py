"""Batch solving: the README's main job serially, on worker processes and on a local Ray, side by side.

    .venv/bin/python benchmarks/batch.py                  # main job x 3 backends + overhead on 1,000 tiny files
    .venv/bin/python benchmarks/batch.py --tiny 200       # fewer tiny instances
    .venv/bin/python benchmarks/batch.py --skip-main-job  # the overhead part only

Part 1 runs ``allocopt solve instances/ --time-limit 5`` (the README's main job) as a user would, once serially,
once with ``--workers N`` and once with ``--ray`` (a local Ray with N CPUs), each on its own temporary copy of
``instances/``, and prints wall times and speed-ups over the serial run; it also checks that the
three runs agree (same status and objective per instance, exact methods only: a heuristic or a time-limited
run may legitimately differ).

Part 2 measures the per-task overhead of each backend: 1,000 tiny knapsack instances (3 items, solved in
microseconds) through ``allocopt.solve_many``; overhead per task = (wall time - serial solve time) / tasks,
with worker start-up included (what a user pays).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOCOPT = [sys.executable, "-m", "allocopt"]


def _main_job(extra: list[str], folder: Path) -> float:
    """The main job on a copy of instances/ (solutions are written beside the copies, as the README's job does)."""
    shutil.copytree(ROOT / "instances", folder, ignore=shutil.ignore_patterns("*.solution.json"))
    began = time.perf_counter()
    done = subprocess.run(
        [*ALLOCOPT, "solve", str(folder), "--time-limit", "5", *extra],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds = time.perf_counter() - began
    if done.returncode == 2:
        sys.exit(f"the main job refused to run: {done.stderr.strip()}")
    return seconds


def _answers(folder: Path) -> dict[str, tuple]:
    got = {}
    for f in folder.rglob("*.solution.json"):
        doc = json.loads(f.read_text())
        got[str(f.relative_to(folder))] = (doc["status"], doc["objective"], doc["method"])
    return got


def part_main_job(workers: int) -> None:
    print(f"== the README's main job (allocopt solve instances/ --time-limit 5), {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for label, extra in (
            ("serial", []),
            (f"--workers {workers}", ["--workers", str(workers)]),
            ("--ray", ["--ray", "--workers", str(workers)]),
        ):
            out = Path(tmp) / label.strip("-").replace(" ", "")
            seconds = _main_job(extra, out)
            runs[label] = (seconds, _answers(out))
        base = runs["serial"][0]
        for label, (seconds, answers) in runs.items():
            print(f"{label:>12}: {seconds:7.1f} s   speed-up {base / seconds:4.2f}x   {len(answers)} solution files")
        serial = runs["serial"][1]
        for label, (_, answers) in runs.items():
            differ = [
                name
                for name, (status, objective, _) in serial.items()
                if status == "optimal" and (answers.get(name, (None, None))[:2] != (status, objective))
            ]
            print(f"{label:>12}: {len(differ)} proven optima differ from the serial run")
            for name in differ[:3]:
                print(f"{'':>14}{name}: serial {serial[name][:2]}, here {answers.get(name)}")


def part_overhead(tiny: int, workers: int) -> None:
    import allocopt
    from allocopt.batch import solve_many

    doc = {"format": "allocopt/1", "problem": "knapsack", "data": {"values": [3, 4, 5], "weights": [2, 3, 4]}}
    instances = [
        allocopt.instance_from_dict({**doc, "name": f"tiny-{k}", "data": {**doc["data"], "capacity": 5 + k % 3}})
        for k in range(tiny)
    ]
    print(f"== per-task overhead on {tiny} tiny knapsack instances")
    began = time.perf_counter()
    for inst in instances:
        allocopt.solve(inst)
    serial = time.perf_counter() - began
    print(f"{'serial':>12}: {serial:7.2f} s   {1e3 * serial / tiny:6.3f} ms per instance")
    began = time.perf_counter()
    n = sum(1 for _ in solve_many(instances, workers=workers))
    wall = time.perf_counter() - began
    overhead = (wall - serial / workers) / n
    print(f"{'process':>12}: {wall:7.2f} s   overhead {1e3 * overhead:6.3f} ms per task (worker start-up included)")
    import ray

    began = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    startup = time.perf_counter() - began
    try:
        began = time.perf_counter()
        n = sum(1 for _ in solve_many(instances, workers=workers, backend="ray"))
        wall = time.perf_counter() - began
    finally:
        ray.shutdown()
    overhead = (wall - serial / workers) / n
    print(f"{'ray':>12}: {wall:7.2f} s   overhead {1e3 * overhead:6.3f} ms per task (+ {startup:.1f} s to start Ray)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--tiny", type=int, default=1000)
    parser.add_argument("--skip-main-job", action="store_true")
    args = parser.parse_args()
    if not args.skip_main_job:
        part_main_job(args.workers)
    part_overhead(args.tiny, args.workers)


if __name__ == "__main__":
    main()
