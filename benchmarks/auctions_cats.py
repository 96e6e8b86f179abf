"""Winner determination and VCG payments on the 12 committed CATS instances: HiGHS beside CP-SAT.

For every file under instances/combinatorial_auction/cats/ (100 goods; 100 or 500 bids; distributions arbitrary,
2atom = L3 with 2 goods per bid, 3atom = L3 with 3), in one run:

1. the WDP alone: ``allocopt.solve(method="milp")`` with solver highs (HiGHS in-process) and with solver cpsat
   (CP-SAT, 2 workers): seconds, and whether the optimum matches the file's reference;
2. the whole VCG auction: ``payments="vcg"``, the WDP plus one warm-started exact re-solve per winning bidder,
   on each solver, the re-solves one after another (``workers=1``) and, with ``--workers N`` (N > 1), also N at
   once in a process pool. Seconds, number of re-solves, and whether every payment was proven.

Ratios are CP-SAT / HiGHS (below 1: CP-SAT faster). Each solve gets ``--cap SEC`` as its time limit (default: no
limit, every solve runs to its proof); a capped run that did not finish is marked ``*`` (its status is not
optimal). Run on 2 cores.

Run:  python benchmarks/auctions_cats.py [--cap SEC] [--workers N] [--only SUBSTRING]
(uncapped: about 25 minutes on 2 cores, most of it the VCG auctions of arbitrary-100-500-0000;
``--cap 60`` bounds each of the at most 6 solves per instance to a minute).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import allocopt

ROOT = Path(__file__).resolve().parent.parent
CATS = ROOT / "instances" / "combinatorial_auction" / "cats"
SOLVERS = ("highs", "cpsat")


def run(inst: allocopt.Instance, solver: str, cap: float | None, **options) -> tuple[allocopt.Result, float]:
    threads = {"threads": 2} if solver == "cpsat" else {}
    start = time.perf_counter()
    result = allocopt.solve(inst, method="milp", solver=solver, time_limit=cap, **threads, **options)
    return result, time.perf_counter() - start


def cell(result: allocopt.Result, seconds: float) -> str:
    return f"{seconds:8.2f}{'' if result.status == 'optimal' else '*'}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:6.2f}" if b > 0 else "   -"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=None, metavar="SEC", help="time limit of each solve")
    parser.add_argument("--workers", type=int, default=2, help="also run the VCG re-solves N at once (N > 1)")
    parser.add_argument("--only", default="", help="only files whose name contains this")
    args = parser.parse_args(argv)
    files = sorted(p for p in CATS.glob("*.json") if args.only in p.stem)
    warm = allocopt.load(ROOT / "instances" / "combinatorial_auction" / "examples" / "three-goods-vcg.json")
    for solver in SOLVERS:  # imports and compiled code out of the first timing
        allocopt.solve(warm, method="milp", solver=solver, payments="vcg")
        allocopt.solve(warm, method="greedy")
    pools = [1] + ([args.workers] if args.workers > 1 else [])
    head = (
        f"{'instance':<24}{'bids':>5}{'win':>5} | {'WDP highs':>9}{'cpsat':>9}{'ratio':>7} | "
        + " | ".join(f"{'VCG w=' + str(w) + ' highs':>15}{'cpsat':>9}{'ratio':>7}" for w in pools)
        + " | ok"
    )
    print(head)
    print("-" * len(head))
    totals: dict[str, float] = {}
    for path in files:
        inst = allocopt.load(path)
        ref = inst.reference_optimum
        line = f"{path.stem:<24}{inst.data.n_bids:>5}"
        wdp = {s: run(inst, s, args.cap) for s in SOLVERS}
        winners = sum(
            1 for i in set(int(inst.data.bidder[j]) for j, w in enumerate(wdp["highs"][0].solution["win"]) if w)
        )
        ok = all(abs(r.objective - ref) <= 1e-6 * max(1.0, abs(ref)) for r, _ in wdp.values() if r.status == "optimal")
        line += f"{winners:>5} | {cell(*wdp['highs'])}{cell(*wdp['cpsat'])}{ratio(wdp['cpsat'][1], wdp['highs'][1])} |"
        for key, (_r, t) in wdp.items():
            totals[f"WDP {key}"] = totals.get(f"WDP {key}", 0.0) + t
        parts = []
        for w in pools:
            vcg = {s: run(inst, s, args.cap, payments="vcg", workers=w) for s in SOLVERS}
            for key, (_r, t) in vcg.items():
                totals[f"VCG w={w} {key}"] = totals.get(f"VCG w={w} {key}", 0.0) + t
            paid = [r.solution["payments"] for r, _ in vcg.values() if r.status == "optimal"]
            ok &= all(abs(p[k] - paid[0][k]) <= 1e-6 * max(1.0, abs(paid[0][k])) for p in paid for k in p)
            parts.append(f"{'':>6}{cell(*vcg['highs'])}{cell(*vcg['cpsat'])}{ratio(vcg['cpsat'][1], vcg['highs'][1])}")
        print(line + " " + " | ".join(parts) + f" | {'yes' if ok else 'NO'}", flush=True)
    print()
    print("totals (s): " + ", ".join(f"{k} {v:.1f}" for k, v in totals.items()))
    print("* = not proven within --cap (feasible, or VCG payments unproven); ok = optima match the references and")
    print("    the proven VCG payments agree across solvers and pool sizes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
