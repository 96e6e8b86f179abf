"""Method tables: for each problem, the named methods and how each calls the engines in ``allocopt.solvers``.

Importing this package registers every problem with ``allocopt.registry``.
"""

from allocopt.methods import (  # noqa: F401
    assignment,
    bit_allocation,
    expert_placement,
    generalized_assignment,
    knapsack,
    rollout_allocation,
)
