"""Side-by-side speed and quality of the ``assignment`` and ``expert_placement`` methods against their peers.

In one run:
1. Linear assignment: the exact method (``allocopt.solve(method="exact")``: scipy's linear_sum_assignment behind
   the library's checks; its ``runtime_s`` and the algorithm alone, ``solve_unit``) against
   ``scipy.optimize.linear_sum_assignment`` called directly on the same cost matrix and against networkx's
   min-cost flow (``networkx.min_cost_flow``, network simplex, on the bipartite network rows -> columns with
   integer costs; in a child process with a time cap), on OR-Library's assign800 (optimum 1552) and a random
   2000 x 2000 instance with integer costs 1..1000. Times are best of 3 (networkx: best of 3 on assign800, one
   run on 2000 x 2000; its graph building is timed apart from the solve). Prints the ratio exact/scipy
   (target: <= 1.2) and whether all optima agree.
2. Top-k routing, T = 16,384 tokens, E = 64 experts, k = 2, capacity 1.0x and 1.25x of T k / E, on uniform
   random costs (minimised) and on skewed scores (maximised; a per-expert popularity term overloads the popular
   experts, so capacities bind): exact, auction, greedy and prices, with time, objective, bound, gap and how much
   worse than the exact optimum. Exact: best of 3 (target < 5 s); the others: one run.
3. Expert placement (EPLB): greedy against the MILP (time limit 30 s) on 32 experts (8 devices x 5 slots) and
   64 experts (8 x 9), Zipf-like and lognormal loads: objective, bound, gap, time.

Run:  python benchmarks/assignment.py [--nx-cap SEC] [--no-networkx] [--milp-limit SEC]
(about 4-5 minutes: networkx on 2000 x 2000 takes over a minute, the four MILPs 30 s each).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

import allocopt
from allocopt.envelope import instance_from_dict
from allocopt.solvers.assignment_exact import solve_unit

ROOT = Path(__file__).resolve().parent.parent
T_TOKENS, EXPERTS, TOP_K = 16_384, 64, 2


def timed(fn, *args, repeat: int = 3, **kwargs):
    """(output of the fastest run, its seconds) over ``repeat`` runs."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        seconds = time.perf_counter() - start
        if seconds < best:
            best, out = seconds, result
    return out, best


def best_solve(inst: allocopt.Instance, method: str, repeat: int = 3, **options) -> allocopt.Result:
    """The run with the smallest ``runtime_s`` of ``repeat`` solves."""
    runs = [allocopt.solve(inst, method=method, **options) for _ in range(repeat)]
    return min(runs, key=lambda r: r.runtime_s)


# ------------------------------------------------------------------------------------------ networkx
def networkx_worker(path: str, repeat: int) -> None:
    """Child process: min-cost flow on the bipartite network of the cost matrix in ``path`` (.npy, integers)."""
    import networkx as nx

    c = np.load(path)
    n, m = c.shape
    start = time.perf_counter()
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n), demand=-1)  # row i supplies one unit
    graph.add_nodes_from(range(n, n + m), demand=1)  # column j takes one (n = m: a perfect matching)
    graph.add_edges_from(
        (i, n + j, {"weight": w, "capacity": 1}) for i, row in enumerate(c.tolist()) for j, w in enumerate(row)
    )
    build_s = time.perf_counter() - start
    flow, solve_s = timed(nx.min_cost_flow, graph, repeat=repeat)
    print(json.dumps({"objective": nx.cost_of_flow(graph, flow), "build_s": build_s, "solve_s": solve_s}))


def networkx(cost: np.ndarray, repeat: int, cap_s: float) -> dict | None:
    """networkx's result in a child process ({objective, build_s, solve_s}), or None when it hit the cap."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cost.npy"
        np.save(path, cost.astype(np.int64))
        command = [sys.executable, __file__, "--networkx-worker", str(path), "--nx-repeat", str(repeat)]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=cap_s, check=True)
        except subprocess.TimeoutExpired:
            return None
    return json.loads(proc.stdout)


# ------------------------------------------------------------------------------------------ instances
def assignment_instance(name: str, data: dict) -> allocopt.Instance:
    return instance_from_dict({"format": "allocopt/1", "problem": "assignment", "name": name, "data": data})


def routing_costs(kind: str, seed: int) -> tuple[np.ndarray, str]:
    """T x E router costs (uniform, minimised) or scores (skewed, maximised) and the sense."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.random((T_TOKENS, EXPERTS)), "min"
    # a per-expert popularity (log-normal spread of expert "attractiveness") plus a per-token affinity
    popularity = rng.normal(0.0, 0.75, EXPERTS)
    return popularity[None, :] + rng.normal(0.0, 1.0, (T_TOKENS, EXPERTS)), "max"


def placement_instance(kind: str, experts: int, slots: int, seed: int) -> allocopt.Instance:
    """Loads in tokens (about 2^20 in all): Zipf-like (1 / rank) or lognormal (sigma 1), in random expert order."""
    rng = np.random.default_rng(seed)
    zipf = rng.permutation(1.0 / np.arange(1, experts + 1))
    weights = zipf if kind == "zipf" else rng.lognormal(0.0, 1.0, experts)
    loads = np.round(weights / weights.sum() * 2**20)
    return instance_from_dict(
        {
            "format": "allocopt/1",
            "problem": "expert_placement",
            "name": f"{kind}-{experts}e-8x{slots}",
            "data": {"loads": loads.tolist(), "devices": 8, "slots_per_device": slots},
        }
    )


# ------------------------------------------------------------------------------------------ sections
def linear_assignment(args: argparse.Namespace) -> None:
    print("1. linear assignment: exact against scipy.optimize.linear_sum_assignment and networkx.min_cost_flow")
    rng = np.random.default_rng(2000)
    cases = [
        allocopt.load(ROOT / "instances" / "assignment" / "orlib" / "assign800.json"),
        assignment_instance("random-2000-int1000", {"cost": rng.integers(1, 1001, (2000, 2000)).tolist()}),
    ]
    print(
        f"  {'instance':<20} {'n':>5} {'exact s':>8} {'alone s':>8} {'scipy s':>8} {'ex/scipy':>8} "
        f"{'nx build':>9} {'nx solve':>9} {'ex/nx':>8}  {'optimum':>8}  agree"
    )
    ratios, all_agree = [], True
    for inst in cases:
        d = inst.data
        exact = best_solve(inst, "exact")
        c = d.min_cost()  # what the method hands the algorithm (float, +inf on forbidden pairs: none here)
        (match, _), alone_s = timed(solve_unit, c)
        (rows, cols), scipy_s = timed(linear_sum_assignment, d.cost)
        values = {exact.objective, float(c[np.arange(d.n), match].sum()), float(d.cost[rows, cols].sum())}
        nx_out = None if args.no_networkx else networkx(d.cost, 3 if d.n <= 1000 else 1, args.nx_cap)
        if nx_out is None:
            nx_text = f"{'skipped':>9} {'':>9} {'':>8}" if args.no_networkx else f"{'':>9} {'>cap':>9} {'':>8}"
        else:
            values.add(float(nx_out["objective"]))
            nx_text = f"{nx_out['build_s']:>9.3f} {nx_out['solve_s']:>9.3f} {exact.runtime_s / nx_out['solve_s']:>8.4f}"
        ref = inst.reference_optimum
        agree = len(values) == 1 and exact.status == "optimal" and exact.verified
        agree &= ref is None or values == {float(ref)}
        ratio = exact.runtime_s / scipy_s
        ratios.append(ratio)
        all_agree &= agree
        print(
            f"  {inst.name:<20} {d.n:>5} {exact.runtime_s:>8.4f} {alone_s:>8.4f} {scipy_s:>8.4f} {ratio:>8.3f} "
            f"{nx_text}  {exact.objective:>8.0f}  {'yes' if agree else 'NO ' + str(sorted(values))}"
            + ("" if ref is None else f" (reference optimum {ref:.0f})"),
            flush=True,
        )
        if nx_out is None and not args.no_networkx:
            print(f"    networkx stopped at the {args.nx_cap:.0f} s cap (graph building included)")
    print(
        f"  exact/scipy time ratio: max {max(ratios):.3f} (target <= 1.2); all optima agree: {all_agree}.\n"
        "  exact s = Result.runtime_s (the method, without the independent check); alone s = solve_unit on the\n"
        "  min-cost array; scipy s = linear_sum_assignment on the same matrix; nx: network simplex in a child."
    )


def routing(args: argparse.Namespace) -> None:
    del args
    print(f"\n2. top-{TOP_K} routing, {T_TOKENS} tokens x {EXPERTS} experts")
    balanced = T_TOKENS * TOP_K // EXPERTS
    exact_times = []
    for seed, kind in enumerate(("uniform", "skewed")):
        costs, sense = routing_costs(kind, seed)
        # how far the unconstrained top-k routing is from fitting
        ranked = np.argsort(-costs if sense == "max" else costs, axis=1)[:, :TOP_K]
        free_load = np.bincount(ranked.ravel(), minlength=EXPERTS)
        for factor in (1.0, 1.25):
            cap = int(factor * balanced)
            start = time.perf_counter()
            inst = assignment_instance(
                f"{kind}-{factor}x",
                {"cost": costs.tolist(), "sense": sense, "demand": [TOP_K] * T_TOKENS, "capacity": [cap] * EXPERTS},
            )
            built_s = time.perf_counter() - start
            print(
                f" {kind} ({'costs minimised' if sense == 'min' else 'scores maximised'}), capacity {cap} "
                f"({factor}x balanced): unconstrained top-{TOP_K} puts {free_load.max()} tokens on the busiest "
                f"expert ({free_load.max() / cap:.2f}x capacity) [built in {built_s:.2f}s, not timed]"
            )
            print(
                f"   {'method':<8} {'status':<9} {'time s':>7} {'objective':>14} {'bound':>14} {'gap':>9}"
                "  worse than exact"
            )
            exact = best_solve(inst, "exact")
            exact_times.append(exact.runtime_s)
            for method in ("exact", "auction", "greedy", "prices"):
                r = exact if method == "exact" else allocopt.solve(inst, method=method)
                worse = (r.objective - exact.objective) * (-1 if sense == "max" else 1)
                worse = 0.0 if abs(worse) <= 1e-9 * abs(exact.objective) else worse  # no "-0" on ties
                gap = "-" if r.gap is None else f"{r.gap:.2e}"
                bound = "-" if r.bound is None else f"{r.bound:.6f}"
                print(
                    f"   {method:<8} {r.status:<9} {r.runtime_s:>7.3f} {r.objective:>14.6f} {bound:>14} {gap:>9}"
                    f"  {worse:.6g} ({100 * worse / abs(exact.objective):.4f}%)",
                    flush=True,
                )
    print(
        f"  exact: max {max(exact_times):.3f} s (best of 3; target < 5 s); the others one run each. "
        "time = Result.runtime_s; gap = Result.gap (to the method's own bound)."
    )


def placement(args: argparse.Namespace) -> None:
    print(f"\n3. expert placement (EPLB): greedy against the MILP (time limit {args.milp_limit:.0f} s), 8 devices")
    print(f"   {'instance':<22} {'method':<7} {'status':<9} {'objective':>12} {'bound':>12} {'gap':>9} {'time s':>7}")
    for experts, slots in ((32, 5), (64, 9)):
        for kind in ("zipf", "lognormal"):
            inst = placement_instance(kind, experts, slots, experts)
            greedy = allocopt.solve(inst, method="greedy")
            milp = allocopt.solve(inst, method="milp", time_limit=args.milp_limit)
            for r in (greedy, milp):
                gap = "-" if r.gap is None else f"{r.gap:.2e}"
                objective = "-" if r.objective is None else f"{r.objective:.1f}"
                bound = "-" if r.bound is None else f"{r.bound:.1f}"
                print(
                    f"   {inst.name:<22} {r.method:<7} {r.status:<9} {objective:>12} {bound:>12} {gap:>9} "
                    f"{r.runtime_s:>7.2f}"
                )
            bounds = [r.bound for r in (greedy, milp) if r.bound is not None]
            best_bound = max(bounds)
            line = f"   {'':<22} greedy within {100 * (greedy.objective / best_bound - 1):.3f}% of the best bound"
            if milp.objective is not None:
                line += f"; greedy/milp objective {greedy.objective / milp.objective:.4f}"
            print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nx-cap", type=float, default=120.0, help="time cap per networkx child process (s)")
    parser.add_argument("--no-networkx", action="store_true", help="skip the networkx column")
    parser.add_argument("--milp-limit", type=float, default=30.0, help="MILP time limit for expert placement (s)")
    parser.add_argument("--networkx-worker", help=argparse.SUPPRESS)
    parser.add_argument("--nx-repeat", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.networkx_worker:
        networkx_worker(args.networkx_worker, args.nx_repeat)
        return

    start = time.perf_counter()
    # imports, numba compilation and HiGHS start-up happen once, before any timing
    rng = np.random.default_rng(0)
    warm = assignment_instance("warm", {"cost": rng.random((60, 8)).tolist(), "demand": [2] * 60, "capacity": [16] * 8})
    for method in ("exact", "auction", "greedy", "prices"):
        allocopt.solve(warm, method=method)
    allocopt.solve(assignment_instance("warm-unit", {"cost": rng.random((20, 20)).tolist()}), method="exact")
    allocopt.solve(placement_instance("zipf", 8, 2, 0), method="greedy")

    linear_assignment(args)
    routing(args)
    placement(args)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
