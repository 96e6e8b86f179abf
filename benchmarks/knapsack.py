"""Side-by-side speed of the exact one-resource knapsack method (``dp``) against its peers.

Peers, in one run on the same instances:
- OR-Tools' knapsack solver (branch and bound, the solver of OR-Tools' knapsack guide), each instance in
  a separate process so that a per-instance time cap can stop it (its solve takes no time limit);
- the MILP (Pyomo + HiGHS at zero gap) through ``allocopt.solve(method="milp")``.
Instances: Pisinger's large-scale types 1-3 at n = 1,000 to 10,000 (instances/knapsack/pisinger) and random
uncorrelated / weakly / strongly correlated instances with coefficients up to 10^6. Then Jooken, Leyman and
De Causmaecker's hard class (instances/knapsack/jooken-2022, EJOR 2022): ``dp`` beside the time Pisinger's
combo took in the authors' runs (``reference.combo_seconds``, from their time.out files; another machine,
so the ratio is indicative; target: every instance within 10x), with OR-Tools and the MILP capped as above.
Then the greedy on 10^6 items, with its gap.

Times are of the algorithms on in-memory arrays (``dp``: the numpy/numba solve, warmed up once; OR-Tools:
init + solve inside the child). Run:  python benchmarks/knapsack.py [--cap SEC] [--no-milp] [--only jooken]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import allocopt
from allocopt.envelope import instance_from_dict
from allocopt.methods.knapsack import exact_take
from allocopt.result import OPTIMALITY_TOL
from allocopt.solvers.knapsack_exact import knapsack_01

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "ortools_knapsack_worker.py"


def ortools(values: np.ndarray, weights: np.ndarray, capacity: float, cap_s: float) -> tuple[float | None, float]:
    """(value, seconds) from OR-Tools in a child process; value None when it hit the cap."""
    job = json.dumps(
        {"values": [int(v) for v in values], "weights": [int(w) for w in weights], "capacity": int(capacity)}
    )
    try:
        proc = subprocess.run(
            [sys.executable, str(WORKER)], input=job, capture_output=True, text=True, timeout=cap_s, check=True
        )
    except subprocess.TimeoutExpired:
        return None, cap_s
    out = json.loads(proc.stdout)
    return float(out["value"]), float(out["seconds"])


def random_instance(kind: str, n: int, r: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    w = rng.integers(1, r + 1, n)
    if kind == "uncorrelated":
        v = rng.integers(1, r + 1, n)
    elif kind == "weakly":
        v = np.maximum(1, w + rng.integers(-r // 10, r // 10 + 1, n))
    else:
        v = w + r // 10
    return {
        "format": "allocopt/1",
        "problem": "knapsack",
        "name": f"random-{kind}-{n}-R{r:.0e}-s{seed}",
        "data": {"values": v.tolist(), "weights": w.tolist(), "capacity": int(w.sum() // 2)},
    }


def instances() -> list[allocopt.Instance]:
    found = []
    for path in sorted((ROOT / "instances" / "knapsack" / "pisinger").glob("knapPI_*[0-9].json")):
        inst = allocopt.load(path)
        if inst.data.n >= 1000:
            found.append(inst)
    found.sort(key=lambda i: (i.name.split("_")[1], i.data.n))
    for kind in ("uncorrelated", "weakly", "strongly"):
        for n in (1000, 10_000):
            for seed in (1, 2):
                found.append(instance_from_dict(random_instance(kind, n, 1_000_000, seed)))
    return found


def milp_agrees(milp: float, dp: float) -> bool:
    """A MILP 'optimum' may fall short of the true one within the solver's tolerances (HiGHS proves
    322230639 on random-strongly-1000-R1e+06-s2, whose optimum 322230640 dp finds, with exactly full
    capacity): equal, or below dp's verified value by at most OPTIMALITY_TOL relative. Never above it."""
    return milp == dp or 0 <= dp - milp <= OPTIMALITY_TOL * max(1.0, abs(dp))


def jooken_instances() -> list[allocopt.Instance]:
    return [allocopt.load(p) for p in sorted((ROOT / "instances" / "knapsack" / "jooken-2022").glob("*.json"))]


def timed(fn, *args, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - start)
    return out, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=30.0, help="per-instance time cap for OR-Tools and the MILP (s)")
    parser.add_argument("--no-milp", action="store_true", help="skip the MILP column")
    parser.add_argument("--only", choices=("pisinger", "jooken", "greedy"), help="run one part only")
    args = parser.parse_args()

    warm = instance_from_dict(random_instance("strongly", 200, 1000, 0))
    exact_take(warm.data)  # numba compilation happens once, before any timing
    if args.only in (None, "pisinger"):
        pisinger_part(args)
    if args.only in (None, "jooken"):
        jooken_part(args)
    if args.only in (None, "greedy"):
        greedy_part()


def pisinger_part(args: argparse.Namespace) -> None:
    header = f"{'instance':<34} {'n':>6} {'optimum':>12} {'dp s':>8} {'ortools s':>10} {'dp/ort':>7}"
    header += "" if args.no_milp else f" {'milp s':>8} {'dp/milp':>8}"
    print(header + "  agree")
    ratios, dp_times, all_exact = [], [], True
    for inst in instances():
        d = inst.data
        take, dp_s = timed(exact_take, d)
        dp_value = float(np.dot(d.values, take))
        or_value, or_s = ortools(d.values, d.weights[0], float(d.capacity[0]), args.cap)
        agree = or_value is None or or_value == dp_value
        ref = inst.reference_optimum
        if ref is not None:
            agree &= ref == dp_value
        line = f"{inst.name:<34} {d.n:>6} {dp_value:>12.0f} {dp_s:>8.4f} "
        line += f"{'>' if or_value is None else ' '}{or_s:>9.4f} {dp_s / or_s:>7.3f}"
        if not args.no_milp:
            result = allocopt.solve(inst, method="milp", time_limit=args.cap)
            proved = result.status == "optimal"
            agree &= not proved or milp_agrees(result.objective, dp_value)
            line += f" {'>' if not proved else ' '}{result.runtime_s:>7.3f} {dp_s / result.runtime_s:>8.4f}"
        print(line + f"  {'yes' if agree else 'NO'}", flush=True)
        ratios.append(dp_s / or_s)
        dp_times.append(dp_s)
        all_exact &= agree
    print()
    print(f"instances: {len(ratios)}; all optima agree: {all_exact}")
    print(
        f"median dp/ortools time ratio: {statistics.median(ratios):.3f} (target <= 1); "
        f"max dp time: {max(dp_times):.4f} s (target < 1 s)"
    )
    print()


def jooken_part(args: argparse.Namespace) -> None:
    """The hard class: dp against combo's published time (and OR-Tools, the MILP, capped)."""
    header = f"{'instance':<46} {'n':>5} {'optimum':>11} {'dp s':>8} {'phase':>8} {'combo s':>8} {'dp/combo':>9}"
    header += f" {'ortools s':>10}" + ("" if args.no_milp else f" {'milp s':>8} {'milp gap':>9}")
    print(header + "  agree")
    ratios, all_exact = [], True
    for inst in jooken_instances():
        d = inst.data
        run, dp_s = timed(knapsack_01, d.values, d.weights[0], float(d.capacity[0]))
        combo_s = float(inst.reference["combo_seconds"])
        agree = run.optimal and run.value == inst.reference_optimum
        or_value, or_s = ortools(d.values, d.weights[0], float(d.capacity[0]), args.cap)
        agree &= or_value is None or or_value == run.value
        line = f"{inst.name:<46} {d.n:>5} {run.value:>11.0f} {dp_s:>8.3f} {run.phase:>8} {combo_s:>8.3f} "
        line += f"{dp_s / combo_s:>9.3f} {'>' if or_value is None else ' '}{or_s:>9.3f}"
        if not args.no_milp:
            result = allocopt.solve(inst, method="milp", time_limit=args.cap)
            proved = result.status == "optimal"
            agree &= not proved or milp_agrees(result.objective, run.value)
            gap = "-" if result.gap is None else f"{result.gap:.1e}"
            line += f" {'>' if not proved else ' '}{result.runtime_s:>7.2f} {gap:>9}"
        print(line + f"  {'yes' if agree else 'NO'}", flush=True)
        ratios.append(dp_s / combo_s)
        all_exact &= agree
    print()
    print(f"Jooken instances: {len(ratios)}; all optima proved and equal to the published ones: {all_exact}")
    print(
        f"dp/combo time ratios: {', '.join(f'{r:.2f}' for r in ratios)}; worst {max(ratios):.2f} (target <= 10; "
        "combo's times are the authors', on their machine)"
    )
    print()


def greedy_part() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    w = rng.integers(1, 1_000_001, n)
    v = rng.integers(1, 1_000_001, n)
    big = instance_from_dict(
        {
            "format": "allocopt/1",
            "problem": "knapsack",
            "name": "random-1e6",
            "data": {"values": v.tolist(), "weights": w.tolist(), "capacity": int(w.sum() // 2)},
        }
    )
    from allocopt.solvers.knapsack_greedy import greedy_single

    out, greedy_s = timed(
        greedy_single, big.data.values, big.data.weights[0], float(big.data.capacity[0]), big.data.copies
    )
    value = float(np.dot(big.data.values, out.take))
    result = allocopt.solve(big, method="greedy")
    print(
        f"greedy on 10^6 items: {greedy_s:.3f} s (algorithm), {result.runtime_s:.3f} s via allocopt.solve; "
        f"value {value:.0f}, Dantzig bound {out.bound:.1f}, gap {result.gap:.2e}"
    )


if __name__ == "__main__":
    main()
