"""Expert spill: LLEP's greedy and the MILP side by side on router-like loads, with the time ratio.

Run: ``.venv/bin/python benchmarks/expert_spill.py`` (``--time-limit`` per MILP solve, default 30 s). Loads come
from the committed instances' seeded generator (``instances/expert_spill/source/generate.py``): a top-2 router with
lognormal expert popularity (sigma 1), 256 tokens per expert, alpha 1.1, minimum chunk 64, three seeds per size.
Times are whole ``allocopt.solve`` calls (checker included); the MILP's balance stage is the default ``fixed``.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

import allocopt

ROOT = Path(__file__).resolve().parents[1]


def _generator() -> Any:
    path = ROOT / "instances" / "expert_spill" / "source" / "generate.py"
    spec = importlib.util.spec_from_file_location("spill_generate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=30.0)
    args = ap.parse_args(argv)
    gen = _generator()
    allocopt.solve(  # warm up Pyomo and HiGHS once, outside the timings
        {"format": "allocopt/1", "problem": "expert_spill", "data": {"loads": [5, 1], "devices": 2, "capacity": 3}},
        method="milp",
    )
    print(
        f"{'experts x GPUs':<15} {'seed':>4} {'LB':>3} {'greedy':>7} {'g time':>8} {'milp':>5} {'status':>9} "
        f"{'m time':>8} {'ratio':>8} {'max load g/m':>13}"
    )
    for experts, devices in ((64, 8), (128, 8), (64, 16), (128, 16), (256, 32)):
        for seed in range(3):
            loads = gen.router_loads(256 * experts, experts, 2, 1.0, seed + 10)
            doc = {
                "format": "allocopt/1",
                "problem": "expert_spill",
                "name": f"bench-{experts}x{devices}-{seed}",
                "data": {"loads": loads, "devices": devices, "alpha": 1.1, "min_chunk": 64},
            }
            g = allocopt.solve(doc, method="greedy")
            m = allocopt.solve(doc, method="milp", time_limit=args.time_limit)
            print(
                f"{f'{experts} x {devices}':<15} {seed:>4} {g.details['lower_bound']:>3} {g.objective:>7.0f} "
                f"{g.runtime_s:>7.3f}s {m.objective:>5.0f} {m.status:>9} {m.runtime_s:>7.2f}s "
                f"{m.runtime_s / g.runtime_s:>7.0f}x {g.details['max_load']:>6}/{m.details['max_load']:<6}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
