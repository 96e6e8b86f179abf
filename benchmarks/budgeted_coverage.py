"""budgeted_coverage side by side: milp (HiGHS) against cp (CP-SAT), the KMN greedy and the online ZCL composer.

Run: ``python benchmarks/budgeted_coverage.py``. Random inventories (seeded): costs 1-100, 3-10 skills per
component out of k, weights 1-20, budget 20% of the total cost. For each size, every method's objective, bound,
time, and the ratios to milp (time) and to the optimum (value); then the committed instances.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import allocopt

ROOT = Path(__file__).resolve().parents[1]
SIZES = [(100, 300), (1000, 2000), (5000, 5000)]
CP_MAX_COMPONENTS = 100
TIME_LIMIT = 60.0


def inventory(seed: int, n: int, k: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 101, n).tolist()
    covers = [sorted(rng.choice(k, int(rng.integers(3, 11)), replace=False).tolist()) for _ in range(n)]
    data = {"costs": costs, "covers": covers, "skill_weights": rng.integers(1, 21, k).tolist()}
    data["budget"] = int(0.2 * sum(costs))
    return {"format": "allocopt/1", "problem": "budgeted_coverage", "name": f"random-{n}x{k}", "data": data}


def run(inst: Any, method: str, **options: Any) -> tuple[Any, float]:
    began = time.perf_counter()
    r = allocopt.solve(inst, method=method, time_limit=TIME_LIMIT, **options)
    return r, time.perf_counter() - began


def main() -> None:
    warm = allocopt.load(ROOT / "instances" / "budgeted_coverage" / "agent_tools.json")
    for method in ("milp", "greedy", "online"):  # imports and the numba cache out of the timings
        allocopt.solve(warm, method=method)
    print(
        f"{'instance':30s} {'method':7s} {'status':9s} {'objective':>10s} {'bound':>10s} {'time':>8s} "
        f"{'t/milp':>7s} {'obj/opt':>8s}  notes"
    )
    cases = []
    for path in sorted((ROOT / "instances" / "budgeted_coverage").glob("*.json")):
        inst = allocopt.load(path)
        cases.append((inst.name, inst, inst.data.n))
    for seed, (n, k) in enumerate(SIZES):
        doc = inventory(seed, n, k)
        cases.append((doc["name"], doc, n))
    for name, inst, n in cases:
        exact, t_exact = run(inst, "milp")
        rows = [("milp", exact, t_exact)]
        if n <= CP_MAX_COMPONENTS:
            rows.append(("cp", *run(inst, "cp")))
        rows.append(("greedy", *run(inst, "greedy")))
        rows.append(("online", *run(inst, "online")))
        opt = exact.objective if exact.status == "optimal" else None
        for method, r, t in rows:
            notes = ""
            if method == "greedy":
                d = r.details
                notes = f"depth {d['depth']}, guarantee {d['guarantee']:.3f}, bound {d['bound_kind']}"
            if method == "online":
                ratio = r.details.get("competitive_ratio")
                notes = f"competitive ratio {ratio:.3f}" if ratio is not None else "ratio not proven"
            value = f"{r.objective / opt:.4f}" if opt else "-"
            bound = float("nan") if r.bound is None else r.bound
            print(
                f"{name:30s} {method:7s} {r.status:9s} {r.objective:10.6g} {bound:10.6g} "
                f"{t:7.3f}s {t / t_exact:7.2f} {value:>8s}  {notes}"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
