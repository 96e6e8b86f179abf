"""Method tables: for each problem, the named methods and how each calls the engines in ``allocopt.solvers``.

Importing this package registers every problem with ``allocopt.registry``.
"""

from allocopt.methods import bit_allocation, knapsack, rollout_allocation  # noqa: F401
