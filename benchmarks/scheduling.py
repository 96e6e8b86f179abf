"""Parallel machines: LPT at scale, and milp vs cp on small instances, side by side.

Run: ``.venv/bin/python benchmarks/scheduling.py`` (``--jobs``/``--machines`` set the LPT size, default 10^6 x 1,000;
``--small`` the number of small instances per kind). Prints one table per part; LPT timings exclude numba's
one-off compilation (a warm-up call runs first).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import allocopt
from allocopt.solvers.pm_lpt import lpt, lpt_bound


def _doc(data: dict) -> dict:
    return {"format": "allocopt/1", "problem": "parallel_machines", "name": "bench", "data": data}


def _small(rng: np.random.Generator, kind: str) -> dict:
    n, m = 14, 4
    if kind == "identical":
        return {"durations": rng.integers(1, 100, n).tolist(), "machines": m}
    if kind == "uniform":
        return {"durations": rng.integers(1, 100, n).tolist(), "machines": m, "speeds": [1, 1, 2, 3]}
    t = rng.integers(1, 100, (m, n)).tolist()
    return {"durations": t}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--machines", type=int, default=1_000)
    ap.add_argument("--small", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    lpt(np.array([3, 2, 1]), np.ones(2))  # compile
    print(f"LPT, {args.jobs} jobs x {args.machines} machines (durations uniform 1..1000)")
    print(f"{'machines':<22} {'seconds':>8} {'makespan':>14} {'bound':>14} {'gap':>9}")
    p = rng.integers(1, 1001, args.jobs)
    speed_sets = {
        "identical": np.ones(args.machines),
        "uniform, 4 speeds": rng.choice([1.0, 1.5, 2.0, 4.0], args.machines),
        f"uniform, {args.machines} speeds": rng.uniform(0.5, 4.0, args.machines),
    }
    for name, s in speed_sets.items():
        began = time.perf_counter()
        _, whole = lpt(p, s)
        secs = time.perf_counter() - began
        obj = float((whole / s).max())
        lb = lpt_bound(p, s)
        print(f"{name:<22} {secs:>8.3f} {obj:>14.3f} {lb:>14.3f} {(obj - lb) / obj:>9.2e}")

    print("\ngreedy (earliest completion + moves/swaps, LP bound) on random unrelated machines (times 1..99, 20% null)")
    print(f"{'size':<12} {'seconds':>8} {'makespan':>10} {'bound':>10} {'gap':>8} {'start':>20}")
    for n, m in ((300, 20), (5000, 50)):
        t = rng.integers(1, 100, (m, n)).tolist()
        mask = rng.random((m, n)) < 0.2
        mask[0, mask.all(axis=0)] = False
        rows = [[None if mask[i, j] else t[i][j] for j in range(n)] for i in range(m)]
        r = allocopt.solve(_doc({"durations": rows}), method="greedy")
        print(
            f"{f'{n} x {m}':<12} {r.runtime_s:>8.3f} {r.objective:>10.1f} {r.bound:>10.2f} {r.gap:>8.3f} "
            f"{r.details['start']:>20}"
        )

    print("\nmilp (HiGHS) vs cp (CP-SAT, 2 workers) on small instances (14 jobs x 4 machines)")
    print(f"{'kind':<10} {'#':>2} {'milp s':>8} {'cp s':>8} {'milp obj':>10} {'cp obj':>10} {'status':>17}")
    for kind in ("identical", "uniform", "unrelated"):
        for k in range(args.small):
            doc = _doc(_small(rng, kind))
            rm = allocopt.solve(doc, method="milp", time_limit=60)
            rc = allocopt.solve(doc, method="cp", time_limit=60, workers=2)
            print(
                f"{kind:<10} {k:>2} {rm.runtime_s:>8.3f} {rc.runtime_s:>8.3f} {rm.objective:>10.3f} "
                f"{rc.objective:>10.3f} {rm.status + '/' + rc.status:>17}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
