"""Method tables: for each problem, the named methods and how each calls the engines in ``allocopt.solvers``.

Importing this package registers every problem with ``allocopt.registry``.
"""

from allocopt.methods import (  # noqa: F401
    assignment,
    bit_allocation,
    budget_pacing,
    budgeted_coverage,
    combinatorial_auction,
    expert_placement,
    expert_spill,
    fisher_market,
    generalized_assignment,
    job_shop,
    knapsack,
    parallel_machines,
    pod_packing,
    position_auction,
    rollout_allocation,
    single_machine,
    workflow,
)
