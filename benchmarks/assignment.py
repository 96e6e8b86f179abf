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
4. Expert-choice routing (Zhou et al. 2022), T = 4096 tokens, E = 64 experts, each expert takes k = 128 tokens
   (capacity factor 2) by softmax gate score (the recipe of instances/assignment/expert-choice-generate.py),
   maximised. Uncapped: ``topk`` (per-expert top-k by argpartition; best of 3) against numpy's argpartition
   alone, the library's transportation LP (``exact`` with solver highs: column generation), scipy's ``linprog``
   on the full LP (HiGHS, 262,144 variables) and the MILP (``build_model`` through the MILP runner, HiGHS; called
   directly since ``milp`` refuses more than 200,000 binaries). Capped at 3 experts per token (``row_capacity``):
   ``exact`` (top-k fails, so the LP) against linprog, the MILP, ``greedy``, ``auction`` and ``prices``. Prints
   time ratios to the fast method and whether the optima agree. linprog and the MILP stop at --ec-peer-limit
   (default 180 s).

Run:  python benchmarks/assignment.py [--nx-cap SEC] [--no-networkx] [--milp-limit SEC] [--ec-peer-limit SEC]
                                       [--only linear,routing,placement,expert-choice]
(about 10 minutes: networkx on 2000 x 2000 takes over a minute, the four MILPs 30 s each, and the expert-choice
peers (linprog, MILP on 262,144 binaries) one to two minutes each).
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


def gate_scores(tokens: int, experts: int, seed: int) -> np.ndarray:
    """Softmax gates: logits t_i g_ie + a_e, g ~ N(0, 1), t ~ U(0.5, 2), a ~ N(0, 0.5^2) (no rounding here)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(tokens, experts)) * rng.uniform(0.5, 2.0, size=(tokens, 1))
    logits += rng.normal(scale=0.5, size=experts)
    gates = np.exp(logits - logits.max(axis=1, keepdims=True))
    return gates / gates.sum(axis=1, keepdims=True)


def linprog_expert_choice(scores: np.ndarray, k: int, cap: int, limit: float) -> tuple[float | None, float]:
    """scipy's linprog (HiGHS) on the full transportation LP, maximizing: (optimum or None at the limit, seconds)."""
    from scipy import sparse
    from scipy.optimize import linprog

    t, e = scores.shape
    start = time.perf_counter()
    var = np.arange(t * e)
    a_eq = sparse.csr_matrix((np.ones(t * e), (var % e, var)), shape=(e, t * e))  # expert j: k tokens
    a_ub = sparse.csr_matrix((np.ones(t * e), (var // e, var)), shape=(t, t * e))  # token i: at most cap
    res = linprog(
        -scores.ravel(),
        A_ub=a_ub,
        b_ub=np.full(t, cap),
        A_eq=a_eq,
        b_eq=np.full(e, k),
        bounds=(0, 1),
        method="highs",
        options={"time_limit": limit},
    )
    return (-res.fun if res.status == 0 else None), time.perf_counter() - start


def milp_expert_choice(inst: allocopt.Instance, limit: float) -> tuple[str, float | None, float, float]:
    """The Pyomo MILP through the library's MILP runner (HiGHS, zero gap), its solution checked by the
    problem's checker: (status, objective, build seconds, solve seconds). ``milp`` itself refuses this size."""
    from allocopt.methods.common import run_milp
    from allocopt.models import assignment as model
    from allocopt.registry import SolveContext

    start = time.perf_counter()
    pyomo_model = model.build_model(inst.data)
    build_s = time.perf_counter() - start
    ctx = SolveContext(solver=None, time_limit=limit, options={"model": pyomo_model})
    start = time.perf_counter()
    out = run_milp(inst.data, ctx, model.build_model, model.decode)
    solve_s = time.perf_counter() - start
    if out.solution is None:
        return out.status, None, build_s, solve_s
    verdict = allocopt.verify(inst, out.solution)
    proven = out.bound is not None and abs(out.bound - verdict.objective) <= 1e-6 * max(1.0, abs(verdict.objective))
    status = ("optimal" if proven else "feasible") if verdict.feasible else "REJECTED"
    return status, verdict.objective, build_s, solve_s


def agreement(objective: float | None, reference: float) -> str:
    """'yes' within 1e-6 relative, else the difference; '' when there is no objective."""
    if objective is None:
        return ""
    diff = objective - reference
    return "yes" if abs(diff) <= 1e-6 * max(1.0, abs(reference)) else f"{diff:+.3g}"


def expert_choice(args: argparse.Namespace) -> None:
    tokens, experts, factor, cap = 4096, 64, 2, 3
    k = tokens * factor // experts
    print(
        f"\n4. expert-choice routing, {tokens} tokens x {experts} experts, k = {k} tokens per expert (factor {factor})"
    )
    scores = gate_scores(tokens, experts, seed=4096)
    top = np.argpartition(-scores, k - 1, axis=0)[:k]
    load = np.bincount(top.ravel(), minlength=tokens)
    print(
        f"  per-expert top-{k}: {int(np.sum(load == 0))} tokens get no expert, the busiest gets {load.max()}; "
        f"{int(np.sum(load > cap))} tokens get more than {cap}"
    )
    base = {"cost": scores.tolist(), "sense": "max", "column_demand": [k] * experts}
    limit = args.ec_peer_limit
    header = f"   {'method':<26} {'status':<9} {'time s':>9} {'objective':>14} {'x fast':>9}  agrees"
    for label, data in (("uncapped", base), (f"row_capacity {cap}", {**base, "row_capacity": [cap] * tokens})):
        inst = assignment_instance(f"expert-choice-{label}", data)
        capped = "row_capacity" in data
        print(f" {label}:")
        print(header)
        fast = best_solve(inst, "exact" if capped else "topk")
        rows: list[tuple[str, str, float, float | None]] = [
            (f"{fast.method} ({'LP' if fast.solver else 'top-k'})", fast.status, fast.runtime_s, fast.objective)
        ]
        if not capped:
            _, alone_s = timed(np.argpartition, -scores, k - 1, axis=0)
            rows.append(("np.argpartition alone", "-", alone_s, None))
            lp = best_solve(inst, "exact", solver="highs")
            rows.append(("exact, solver highs (LP)", lp.status, lp.runtime_s, lp.objective))
        else:
            for method in ("greedy", "auction", "prices"):
                r = allocopt.solve(inst, method=method)
                rows.append((method, r.status, r.runtime_s, r.objective))
        value, lp_s = linprog_expert_choice(scores, k, cap if capped else experts, limit)
        rows.append(("scipy linprog (full LP)", "optimal" if value is not None else ">limit", lp_s, value))
        if not args.no_ec_milp:
            status, objective, build_s, solve_s = milp_expert_choice(inst, limit)
            rows.append((f"MILP (+{build_s:.1f} s build)", status, solve_s, objective))
        for name, status, seconds, objective in rows:
            obj = "-" if objective is None else f"{objective:.6f}"
            print(
                f"   {name:<26} {status:<9} {seconds:>9.4f} {obj:>14} {seconds / fast.runtime_s:>9.1f}  "
                f"{agreement(objective, fast.objective)}",
                flush=True,
            )
    print(
        "  time = Result.runtime_s (the method, without the independent check); x fast = time / the first row's;\n"
        "  agrees: objective equal to the first row's within 1e-6 (a heuristic's shortfall otherwise)."
    )


SECTIONS = ("linear", "routing", "placement", "expert-choice")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nx-cap", type=float, default=120.0, help="time cap per networkx child process (s)")
    parser.add_argument("--no-networkx", action="store_true", help="skip the networkx column")
    parser.add_argument("--milp-limit", type=float, default=30.0, help="MILP time limit for expert placement (s)")
    parser.add_argument("--ec-peer-limit", type=float, default=180.0, help="expert choice: linprog/MILP limit (s)")
    parser.add_argument("--no-ec-milp", action="store_true", help="expert choice: skip the MILP")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}")
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

    only = set(args.only.split(","))
    if only - set(SECTIONS):
        parser.error(f"--only takes {', '.join(SECTIONS)}; got {args.only}")
    ec = {"cost": rng.random((60, 8)).tolist(), "column_demand": [10] * 8}
    ec_capped = assignment_instance("warm-ec-capped", {**ec, "row_capacity": [2] * 60})
    allocopt.solve(assignment_instance("warm-ec", ec), method="topk")
    allocopt.solve(assignment_instance("warm-ec", ec), method="exact", solver="highs")
    for method in ("exact", "greedy", "auction", "prices"):
        allocopt.solve(ec_capped, method=method)
    for name, section in zip(SECTIONS, (linear_assignment, routing, placement, expert_choice), strict=True):
        if name in only:
            section(args)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
