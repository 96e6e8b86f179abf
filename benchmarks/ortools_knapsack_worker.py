"""Child process for benchmarks/knapsack.py: solve one 0/1 knapsack with OR-Tools' knapsack solver.

Runs in its own process so that the parent can stop it at a time cap (the solver takes no limit). Reads
``{"values", "weights", "capacity", "solver"}`` as JSON on stdin, prints ``{"value", "seconds"}``.
"""

from __future__ import annotations

import json
import sys
import time

from ortools.algorithms.python import knapsack_solver


def main() -> None:
    job = json.load(sys.stdin)
    kind = getattr(knapsack_solver.SolverType, job.get("solver", "KNAPSACK_MULTIDIMENSION_BRANCH_AND_BOUND_SOLVER"))
    start = time.perf_counter()
    solver = knapsack_solver.KnapsackSolver(kind, "bench")
    solver.init(job["values"], [job["weights"]], [job["capacity"]])
    value = solver.solve()
    seconds = time.perf_counter() - start
    print(json.dumps({"value": value, "seconds": seconds}))


if __name__ == "__main__":
    main()
