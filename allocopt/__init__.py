"""allocopt: solver-backed allocation formulations.

Knapsack budgeting, bit allocation, expert assignment, auctions and scheduling, all sharing one instance
format (docs/format.md)::

    import allocopt
    instance = allocopt.load("instances/knapsack/small-01.json")
    result = allocopt.solve(instance)            # method="auto": the fastest exact method that fits
    print(result.status, result.objective, result.method)
    allocopt.save(result, "small-01.solution.json")
"""

from allocopt.api import build_cp_model, build_model, check, save, solve, verify
from allocopt.batch import solve_many
from allocopt.compare import compare
from allocopt.envelope import Instance, instance_from_dict, instance_to_dict, load, load_solution, schema_for
from allocopt.errors import AllocoptError, DataError, InstanceError, UsageError
from allocopt.registry import problems
from allocopt.result import Result

__version__ = "0.1.0"

__all__ = [
    "AllocoptError",
    "DataError",
    "Instance",
    "InstanceError",
    "Result",
    "UsageError",
    "build_cp_model",
    "build_model",
    "check",
    "compare",
    "instance_from_dict",
    "instance_to_dict",
    "load",
    "load_solution",
    "problems",
    "save",
    "schema_for",
    "solve",
    "solve_many",
    "verify",
]
