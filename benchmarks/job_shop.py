"""Side-by-side quality and speed of the ``job_shop`` methods on the committed benchmark instances.

Instances: ``instances/job_shop/*.json`` (ft06, ft10, ft20, la01-la10, abz5, abz6, orb01, orb02, ta01-ta05), each
with its published optimum in ``reference.optimum``. Every run goes through ``allocopt.solve`` (so every schedule
is checked by the problem's independent checker and the status is derived from objective and bound).

Parts (``--parts``, comma separated; default all):

- ``compile``: the tabu search's numba compile time in a fresh cache (child process) and its load time from
  the cache afterwards.
- ``main``: per instance the optimum, the best dispatch rule (all 5 rules x active/non-delay) and its makespan,
  ``cp`` (CP-SAT, 2 workers) value / bound / status / time, ``tabu`` value / time / the time its final value was
  first reached, and the gaps to the optimum; then the issue's targets: cp proves ft06 and la01-la10 optimal
  within 5 s each and finds ft10's 930; tabu within 2% of 930 on ft10 and a mean gap <= 2% over the instances.
- ``ta``: ta01-ta05 (15 x 15), tabu (N5 and N7) against CP-SAT at equal time limits (``--ta-times``, default 5
  and 30 s).

Run:  python benchmarks/job_shop.py [--time SEC] [--cp-time SEC] [--instances a,b] [--parts compile,main,ta]
          [--neighbourhood n5|n7] [--ta-times 5,30] [--ta-neighbourhoods n5,n7] [--seed S]
The full run takes about 30 minutes (22 instances x (30 s tabu + up to 30 s CP-SAT), then 5 x 3 x 35 s);
quick look: ``--time 5 --instances ft06,ft10,la01 --parts main``. The machine has 2 cores: run nothing else
CPU-heavy meanwhile (CP-SAT uses both).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import allocopt
from allocopt.envelope import load
from allocopt.solvers.jobshop_dispatch import RULES, dispatch, trivial_lower_bound

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "instances" / "job_shop"
ALL = (
    *("ft06", "ft10", "ft20", "la01", "la02", "la03", "la04", "la05", "la06", "la07", "la08", "la09", "la10"),
    *("abz5", "abz6", "orb01", "orb02", "ta01", "ta02", "ta03", "ta04", "ta05"),
)
TAILLARD = ("ta01", "ta02", "ta03", "ta04", "ta05")
CP_PROVE = ("ft06", "la01", "la02", "la03", "la04", "la05", "la06", "la07", "la08", "la09", "la10")


def arrays(doc: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    jobs = doc["data"]["jobs"]
    machine = np.array([m for job in jobs for m, _ in job], dtype=np.int64)
    duration = np.array([p for job in jobs for _, p in job], dtype=np.int64)
    job_start = np.cumsum([0] + [len(job) for job in jobs]).astype(np.int64)
    machines = int(doc["data"].get("machines", int(machine.max()) + 1))
    return machine, duration, job_start, machines


def gap(value: float | None, optimum: int | None) -> float | None:
    if value is None or optimum is None:
        return None
    return 100.0 * (value - optimum) / optimum


def fmt(x: float | None, spec: str = ".0f") -> str:
    return "-" if x is None else format(x, spec)


# ------------------------------------------------------------------------------------------------ compile
def compile_worker() -> None:
    """Child: import the engine and warm it up; print the seconds (the cache dir comes from the environment)."""
    from allocopt.solvers.jobshop_tabu import warm_up

    print(json.dumps({"seconds": warm_up()}))


def part_compile() -> None:
    print("\n== numba compile of the tabu search (child processes, fresh cache dir) ==")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=tmp)
        for label in ("fresh compile", "load from cache"):
            proc = subprocess.run(
                [sys.executable, __file__, "--compile-worker"], env=env, capture_output=True, text=True, check=True
            )
            print(f"{label:16s} {json.loads(proc.stdout.strip().splitlines()[-1])['seconds']:.2f} s")


# ------------------------------------------------------------------------------------------------ main
def best_dispatch(doc: dict) -> tuple[int, str]:
    data = arrays(doc)
    runs = []
    for rule in RULES:
        for schedule in ("active", "nondelay"):
            start = dispatch(*data, rule=rule, schedule=schedule)
            runs.append((int((start + data[1]).max()), f"{rule}/{schedule}"))
    return min(runs)


def first_reached(result: allocopt.Result) -> float | None:
    """Seconds at which tabu first reached its final makespan (from its history)."""
    hist = result.details.get("history") or []
    final = result.objective
    for t, v in hist:
        if final is not None and v <= final:
            return float(t)
    return None


def part_main(names: list[str], tabu_time: float, cp_time: float, neighbourhood: str, seed: int) -> None:
    print(
        f"\n== all instances: cp (CP-SAT, 2 workers, limit {cp_time:g} s) "
        f"and tabu ({neighbourhood}, {tabu_time:g} s) =="
    )
    head = (
        f"{'instance':8s} {'size':>6s} {'opt':>5s} {'LB':>5s} | {'dispatch':>8s} {'best rule':>15s} | "
        f"{'cp':>5s} {'bound':>5s} {'status':>9s} {'time':>6s} {'gap%':>5s} | {'tabu':>5s} {'time':>5s} "
        f"{'hit@':>6s} {'gap%':>5s} {'iters':>9s}"
    )
    print(head)
    print("-" * len(head))
    rows = []
    for name in names:
        inst = load(FOLDER / f"{name}.json")
        doc = json.loads((FOLDER / f"{name}.json").read_text())
        optimum = (doc.get("reference") or {}).get("optimum")
        data = arrays(doc)
        lb = trivial_lower_bound(*data)
        dval, drule = best_dispatch(doc)
        cp = allocopt.solve(inst, method="cp", time_limit=cp_time, workers=2)
        tabu = allocopt.solve(inst, method="tabu", time_limit=tabu_time, neighbourhood=neighbourhood, seed=seed)
        assert cp.verified and tabu.verified, (name, cp.message, tabu.message)
        row = {
            "name": name,
            "optimum": optimum,
            "cp": cp.objective,
            "cp_bound": cp.bound,
            "cp_status": cp.status,
            "cp_time": cp.runtime_s,
            "tabu": tabu.objective,
            "tabu_time": tabu.runtime_s,
            "hit": first_reached(tabu),
        }
        rows.append(row)
        size = f"{len(data[2]) - 1}x{data[3]}"
        print(
            f"{name:8s} {size:>6s} {fmt(optimum, 'd'):>5s} {lb:5d} | {dval:8d} {drule:>15s} | "
            f"{fmt(cp.objective):>5s} {fmt(cp.bound):>5s} {cp.status:>9s} {cp.runtime_s:6.2f} "
            f"{fmt(gap(cp.objective, optimum), '.2f'):>5s} | {fmt(tabu.objective):>5s} {tabu.runtime_s:5.1f} "
            f"{fmt(row['hit'], '.2f'):>6s} {fmt(gap(tabu.objective, optimum), '.2f'):>5s} "
            f"{tabu.details.get('iterations', 0):9d}",
            flush=True,
        )
    gaps_tabu = [gap(r["tabu"], r["optimum"]) for r in rows if r["optimum"] is not None]
    gaps_cp = [gap(r["cp"], r["optimum"]) for r in rows if r["optimum"] is not None]
    if gaps_tabu:
        print(
            f"mean gap to the optimum: tabu {np.mean(gaps_tabu):.2f}%   cp {np.mean(gaps_cp):.2f}%   "
            f"({len(gaps_tabu)} instances)"
        )
    print("targets:")
    proved = [r for r in rows if r["name"] in CP_PROVE]
    if proved:
        ok = all(r["cp_status"] == "optimal" and r["cp_time"] <= 5.0 for r in proved)
        print(f"  cp proves {', '.join(r['name'] for r in proved)} optimal within 5 s each: {'yes' if ok else 'NO'}")
    for r in rows:
        if r["name"] == "ft10":
            print(f"  cp finds ft10's 930: {'yes' if r['cp'] == 930 else 'NO'} ({fmt(r['cp'])})")
            g = gap(r["tabu"], 930)
            print(f"  tabu within 2% of 930 on ft10: {'yes' if g is not None and g <= 2 else 'NO'} ({fmt(r['tabu'])})")
    if gaps_tabu:
        print(f"  tabu mean gap <= 2%: {'yes' if np.mean(gaps_tabu) <= 2 else 'NO'} ({np.mean(gaps_tabu):.2f}%)")


# ------------------------------------------------------------------------------------------------ taillard
def part_ta(names: list[str], times: list[float], hoods: list[str], seed: int) -> None:
    print(f"\n== Taillard 15x15: tabu ({', '.join(hoods)}) against CP-SAT (2 workers) at equal time limits ==")
    head = f"{'instance':8s} {'opt':>5s} {'limit':>5s} | " + " | ".join(
        f"{'tabu ' + h:>8s} {'gap%':>5s}" for h in hoods
    )
    head += f" | {'cp':>5s} {'bound':>5s} {'gap%':>5s} | winner (tabu {hoods[0]} vs cp)"
    print(head)
    print("-" * len(head))
    wins = {t: [0, 0, 0] for t in times}
    gaps: dict[tuple[str, float], list[float]] = {}
    for name in names:
        inst = load(FOLDER / f"{name}.json")
        optimum = (json.loads((FOLDER / f"{name}.json").read_text()).get("reference") or {}).get("optimum")
        for limit in times:
            tabus = [allocopt.solve(inst, method="tabu", time_limit=limit, neighbourhood=h, seed=seed) for h in hoods]
            cp = allocopt.solve(inst, method="cp", time_limit=limit, workers=2)
            assert cp.verified and all(t.verified for t in tabus)
            for label, res in [*zip(hoods, tabus, strict=True), ("cp", cp)]:
                gaps.setdefault((label, limit), []).append(gap(res.objective, optimum) or 0.0)
            tabu = tabus[0]
            if tabu.objective < cp.objective:
                winner, wins[limit][0] = "tabu", wins[limit][0] + 1
            elif cp.objective < tabu.objective:
                winner, wins[limit][1] = "cp", wins[limit][1] + 1
            else:
                winner, wins[limit][2] = "tie", wins[limit][2] + 1
            cols = " | ".join(f"{t.objective:8.0f} {fmt(gap(t.objective, optimum), '.2f'):>5s}" for t in tabus)
            print(
                f"{name:8s} {fmt(optimum, 'd'):>5s} {limit:5g} | {cols} | {fmt(cp.objective):>5s} "
                f"{fmt(cp.bound):>5s} {fmt(gap(cp.objective, optimum), '.2f'):>5s} | {winner}",
                flush=True,
            )
    for limit, (t, c, e) in wins.items():
        means = ", ".join(f"{label} {np.mean(g):.2f}%" for (label, lim), g in gaps.items() if lim == limit)
        print(f"at {limit:g} s: tabu {hoods[0]} better on {t}, cp better on {c}, equal on {e}; mean gaps {means}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time", type=float, default=30.0, help="tabu time limit per instance (s), part main")
    parser.add_argument("--cp-time", type=float, default=30.0, help="CP-SAT time limit per instance (s), part main")
    parser.add_argument("--instances", default=",".join(ALL), help="comma-separated names (default: all 22)")
    parser.add_argument("--parts", default="compile,main,ta", help="comma-separated: compile, main, ta")
    parser.add_argument("--neighbourhood", default="n5", choices=("n5", "n7"))
    parser.add_argument("--ta-times", default="5,30", help="time limits of part ta (s)")
    parser.add_argument("--ta-neighbourhoods", default="n5,n7", help="tabu neighbourhoods of part ta")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compile_worker:
        compile_worker()
        return
    names = [n for n in args.instances.split(",") if n]
    missing = [n for n in names if not (FOLDER / f"{n}.json").exists()]
    if missing:
        sys.exit(f"missing instance files: {', '.join(missing)} (in {FOLDER})")
    parts = set(args.parts.split(","))
    print(
        f"job shop benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    if "compile" in parts:
        part_compile()
    from allocopt.solvers.jobshop_tabu import warm_up

    warm_up()
    if "main" in parts:
        part_main(names, args.time, args.cp_time, args.neighbourhood, args.seed)
    if "ta" in parts:
        ta = [n for n in names if n in TAILLARD] or list(TAILLARD)
        hoods = [h for h in args.ta_neighbourhoods.split(",") if h]
        part_ta(ta, [float(t) for t in args.ta_times.split(",")], hoods, args.seed)


if __name__ == "__main__":
    main()
