"""Fisher markets: the conic EG program (Clarabel, SCS) against proportional response, and how far each scales.

In one run:
1. Side by side on random linear markets (utilities uniform(0, 1), budgets uniform(0.5, 1.5), unit supplies,
   numpy seed 0) from 50 x 20 to 2,000 x 500 buyers x goods: ``convex`` with Clarabel and with SCS and
   ``proportional_response`` (tol 1e-6), each solve in its own child process (so its peak memory is its own;
   the compiled PR sweep is loaded before the clock starts) with a time cap: status, relative gap, time (the
   front door's ``runtime_s``), peak resident memory, the time ratio convex/PR, and the largest relative price
   difference between PR and Clarabel.
2. Proportional response alone (the engine on numpy arrays, no JSON) to a relative gap of 1e-4 on dense
   markets up to 20,000 x 2,000 (from 50,000 pairs on, full sweeps then the active set), on a 10,000 x 1,000
   market with 10% of the utilities positive (CSR sweeps), and 10,000 x 1,000 to 1e-6: steps, time, gap, the
   gap per unit of budget, the representation, and whether it got there within 10 s.

Run:  python benchmarks/auctions_fisher.py [--cap SEC] [--quick]
(about 5 minutes with the default 120 s cap; ``--quick`` stops at 500 x 100 and 2,000 x 200).
Times are wall-clock on a shared machine: other work on it shows up in them.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

SIDE_SIZES = [(50, 20), (200, 50), (500, 100), (1000, 200), (2000, 500)]
PR_SIZES = [(1000, 100), (2000, 200), (5000, 500), (10_000, 1000), (20_000, 2000)]


def market(n: int, m: int, seed: int = 0, density: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    util = rng.uniform(0, 1, (n, m))
    if density < 1:
        util *= rng.random((n, m)) < density
        empty = util.max(axis=1) <= 0
        util[empty, rng.integers(0, m, int(empty.sum()))] = 1.0
    return util, rng.uniform(0.5, 1.5, n), np.ones(m)


def child(method: str, solver: str, n: int, m: int) -> None:
    """Solve one market through the front door and print a JSON line (run in a child process)."""
    import allocopt
    from allocopt.envelope import instance_from_dict

    if method == "proportional_response":  # load the compiled sweeps (as the front door calls them) untimed
        for k, (a, b) in enumerate([(5, 3), (300, 200)]):
            u, bud, sup = market(a, b)
            tiny = {"budgets": bud.tolist(), "utilities": u.tolist(), "supply": sup.tolist()}
            envelope = {"format": "allocopt/1", "problem": "fisher_market", "name": f"w{k}", "data": tiny}
            allocopt.solve(instance_from_dict(envelope), method=method, max_iter=120)
    util, budgets, supply = market(n, m)
    doc = {"budgets": budgets.tolist(), "utilities": util.tolist(), "supply": supply.tolist()}
    inst = instance_from_dict({"format": "allocopt/1", "problem": "fisher_market", "name": "b", "data": doc})
    kwargs = {"solver": solver} if method == "convex" else {"tol": 1e-6}
    r = allocopt.solve(inst, method=method, **kwargs)
    prices = r.solution["prices"] if r.solution else None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux reports KiB)
    print(json.dumps({"status": r.status, "gap": r.gap, "time": r.runtime_s, "rss": rss, "prices": prices}))


def run_child(method: str, solver: str, n: int, m: int, cap: float) -> dict:
    cmd = [sys.executable, __file__, "--child", method, solver, str(n), str(m)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=cap)
    except subprocess.TimeoutExpired:
        return {"status": f">{cap:g}s", "gap": None, "time": None, "rss": None, "prices": None}
    if proc.returncode != 0:
        return {"status": "crashed", "gap": None, "time": None, "rss": None, "prices": None, "err": proc.stderr[-300:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def side_by_side(sizes: list[tuple[int, int]], cap: float) -> None:
    print("1. convex (Clarabel, SCS) and proportional_response (tol 1e-6), each in a child process")
    head = f"{'market':>12} {'method':>22} {'status':>8} {'gap':>9} {'time s':>8} {'peak MiB':>9} {'vs PR':>7}"
    print(head + f" {'max price diff PR/Clarabel':>27}")
    for n, m in sizes:
        pr = run_child("proportional_response", "-", n, m, cap)
        rows = [("convex/clarabel", run_child("convex", "clarabel", n, m, cap))]
        rows.append(("convex/scs", run_child("convex", "scs", n, m, cap)))
        rows.append(("proportional_response", pr))
        clarabel = rows[0][1]
        diff = None
        if clarabel["prices"] and pr["prices"]:
            a, b = np.asarray(clarabel["prices"]), np.asarray(pr["prices"])
            diff = float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-12)))
        for name, r in rows:
            ratio = r["time"] / pr["time"] if r["time"] and pr["time"] else None
            line = f"{f'{n}x{m}':>12} {name:>22} {r['status']:>8} {fmt(r['gap'], '.1e'):>9} {fmt(r['time'], '.3f'):>8}"
            line += f" {fmt(r['rss'], '.0f'):>9} {fmt(ratio, '.1f'):>7}"
            print(line + (f" {fmt(diff, '.1e'):>27}" if name == "proportional_response" else ""), flush=True)


def pr_scaling(sizes: list[tuple[int, int]], sparse_case: tuple[int, int] | None, cap: float) -> None:
    from allocopt.solvers.fisher_proportional_response import proportional_response

    print("\n2. proportional_response engine alone to a relative gap tol (time limit", f"{cap:g} s)")
    head = f"{'market, tol':>28} {'steps':>7} {'time s':>8} {'gap':>9} {'gap/budget':>11} {'stop':>10}"
    print(head + f" {'sweeps':>11} {'<= 10 s':>8}")
    for a, b in [(50, 20), (300, 200)]:  # compile (or load the cache) outside the timings: dense, active set
        proportional_response(*market(a, b), max_iter=120)
    cases = [(n, m, 1.0, 1e-4) for n, m in sizes]
    if sparse_case:
        cases += [(*sparse_case, 0.1, 1e-4), (*sparse_case, 1.0, 1e-6)]
    for n, m, density, tol in cases:
        util, budgets, supply = market(n, m, density=density)
        start = time.perf_counter()
        r = proportional_response(util, budgets, supply, tol=tol, time_limit=cap)
        seconds = time.perf_counter() - start
        per_budget = None if r.bound is None else (r.bound - r.objective) / budgets.sum()
        label = f"{n}x{m}" + (f" ({density:.0%} dense)" if density < 1 else "") + f" {tol:g}"
        ok = "yes" if r.stop == "tol" and seconds <= 10 else "no"
        print(
            f"{label:>28} {r.iterations:>7} {seconds:>8.2f} {fmt(r.gap, '.2e'):>9} {fmt(per_budget, '.2e'):>11}"
            f" {r.stop:>10} {r.representation:>11} {ok:>8}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cap", type=float, default=120.0, help="time cap per solve in seconds (default 120)")
    p.add_argument("--quick", action="store_true", help="smaller sizes only")
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        method, solver, n, m = args.child
        child(method, solver, int(n), int(m))
        return
    side_by_side(SIDE_SIZES[:3] if args.quick else SIDE_SIZES, args.cap)
    pr_scaling(PR_SIZES[:2] if args.quick else PR_SIZES, None if args.quick else (10_000, 1000), args.cap)


if __name__ == "__main__":
    main()
