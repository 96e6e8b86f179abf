"""Pod packing: auto, greedy, cp and milp side by side on the committed clusters (100 x 1,000 and 20 x 200).

Run: ``.venv/bin/python benchmarks/pod_packing.py`` (``--time-limit`` for cp and milp, default 5 s; ``--repeat`` runs
of the greedy and auto, the fastest kept). Prints, per instance and method, the wall time (the whole
``allocopt.solve``: model building included), its ratio to the greedy's, the status, the objective vector and the
bound vector.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import allocopt

HERE = Path(__file__).resolve().parent.parent / "instances" / "pod_packing"


def _vec(v: tuple[float, ...] | None) -> str:
    return "-" if v is None else "[" + ", ".join(f"{x:g}" for x in v) + "]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for name in ("cluster_100x1000", "medium_cluster"):
        inst = allocopt.load(HERE / f"{name}.json")
        print(f"\n{name}: {inst.spec.describe(inst.data)}")
        print(f"{'method':>8} {'ran':>7} {'seconds':>8} {'x greedy':>9}  {'status':<9} objective / bound")
        base = None
        for method, limit, repeat in (
            ("greedy", None, args.repeat),
            ("auto", args.time_limit, args.repeat),
            ("cp", args.time_limit, 1),
            ("milp", args.time_limit, 1),
        ):
            best = None
            for _ in range(repeat):
                began = time.perf_counter()
                r = allocopt.solve(inst, method=method, time_limit=limit)
                took = time.perf_counter() - began
                best = took if best is None else min(best, took)
            assert best is not None
            base = base or best
            print(
                f"{method:>8} {r.method:>7} {best:8.3f} {best / base:9.1f}  {r.status:<9} "
                f"{_vec(r.objective)} / {_vec(r.bound)}"
            )


if __name__ == "__main__":
    main()
