"""Speed of the exact rollout allocation (``marginal``), side by side with the MILP where the MILP fits.

1. n = 10^5 tasks, budget 10^6 rollouts, p uniform in (0, 1), both value functions (target: about a second);
2. n = 200, budget 2,000, max 40 rollouts: marginal against the MILP (time ratio, objectives agree).
Times are Result.runtime_s after a warm-up call (numba compilation). Run:  python benchmarks/rollout_allocation.py
"""

from __future__ import annotations

import numpy as np

import allocopt
from allocopt.envelope import instance_from_dict


def instance(n: int, budget: int, value: str, seed: int, max_rollouts: int | None = None) -> allocopt.Instance:
    rates = np.random.default_rng(seed).uniform(0.0, 1.0, n)
    data = {"success_rates": rates.tolist(), "budget": budget, "value": value}
    if max_rollouts is not None:
        data["max_rollouts"] = max_rollouts
    return instance_from_dict({"format": "allocopt/1", "problem": "rollout_allocation", "data": data})


def best_of(inst: allocopt.Instance, method: str, repeat: int = 3) -> allocopt.Result:
    runs = [allocopt.solve(inst, method=method) for _ in range(repeat)]
    return min(runs, key=lambda r: r.runtime_s)


def main() -> None:
    allocopt.solve(instance(100, 1000, "nonzero_gradient", 0))  # compile before timing
    allocopt.solve(instance(100, 1000, "pass_at_k", 0))
    print("1. marginal at scale: n = 10^5 tasks, budget 10^6")
    for value in ("nonzero_gradient", "pass_at_k"):
        result = best_of(instance(100_000, 1_000_000, value, 1), "marginal")
        print(f"  {value:<17} {result.status}  objective {result.objective:.6f}  time {result.runtime_s:.3f}s")
    print("2. marginal against the MILP: n = 200, budget 2000, max 40 rollouts")
    for value in ("nonzero_gradient", "pass_at_k"):
        inst = instance(200, 2000, value, 2, max_rollouts=40)
        fast, milp = best_of(inst, "marginal"), best_of(inst, "milp", repeat=1)
        agree = abs(fast.objective - milp.objective) <= 1e-6 * max(1.0, abs(milp.objective))
        print(
            f"  {value:<17} marginal {fast.runtime_s:.4f}s  milp {milp.runtime_s:.3f}s  "
            f"ratio {fast.runtime_s / milp.runtime_s:.5f}  objectives agree: {agree} ({fast.objective:.6f})"
        )


if __name__ == "__main__":
    main()
