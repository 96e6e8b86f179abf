"""Methods for ``bit_allocation`` and the rule ``auto`` follows.

- ``milp``: the multiple-choice knapsack in Pyomo through HiGHS at zero gap, objective scaled.
- ``greedy``: lower-convex-hull greedy (error against bits) with the LP / Lagrangian lower bound from
  the first step that does not fit; exact when the budget lands on a hull point.
- ``convex``: the continuous relaxation under e_j(b) = a_j 2^(-2b) (a_j fitted to each unit's options):
  closed-form reverse water-filling (or the same problem in CVXPY with ``--solver clarabel``/``scs``),
  fractional bits and the continuous optimum in ``details``, then rounding plus repair to a feasible
  discrete choice. Its ``bound`` is the hull LP bound (always valid); the continuous optimum is a lower
  bound only where the error model holds, so it is reported, not used as the bound.

``auto``: ``milp`` up to ``AUTO_MILP_MAX_OPTIONS`` options, ``greedy`` beyond.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from allocopt.methods.common import MILP_OPTIONS, run_milp
from allocopt.models import bit_allocation as model
from allocopt.models.bit_allocation import BitAllocationData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register

#: ``auto`` solves exactly up to this many (unit, option) pairs.
AUTO_MILP_MAX_OPTIONS = 20_000


def _solution(d: BitAllocationData, local_choice: np.ndarray) -> tuple[dict[str, Any], float]:
    flat = d.offsets[:-1] + np.asarray(local_choice, dtype=np.int64)
    bits = [int(b) if float(b).is_integer() else float(b) for b in d.bits[flat]]
    return {"bits": bits}, float(d.errors[flat].sum())


def _infeasible(d: BitAllocationData) -> Outcome | None:
    reason = model.infeasibility(d)
    return None if reason is None else Outcome("infeasible", message=reason)


def _run_milp(d: BitAllocationData, ctx: SolveContext) -> Outcome:
    return _infeasible(d) or run_milp(d, ctx, model.build_model, model.decode)


def _hull(d: BitAllocationData) -> Any:
    from allocopt.solvers.bit_hull_greedy import hull_greedy

    return hull_greedy(d.sizes, d.offsets, d.bits, d.errors, d.total_bits, d.min_bits)


def _run_greedy(d: BitAllocationData, ctx: SolveContext) -> Outcome:
    blocked = _infeasible(d)
    if blocked:
        return blocked
    out = _hull(d)
    if out.choice is None:
        return Outcome("infeasible", message="the cheapest choice does not fit the budget")
    solution, error = _solution(d, out.choice)
    return Outcome("solved", solution, error, out.lower_bound, details={"bound_kind": "lp", "hull_exact": out.exact})


def _run_convex(d: BitAllocationData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.water_filling import fit_error_model, reverse_water_filling, round_and_repair

    blocked = _infeasible(d)
    if blocked:
        return blocked
    a = fit_error_model(d.offsets, d.bits, d.errors)
    floor = 0.0 if d.min_bits is None else d.min_bits
    top = float(d.bits.max())
    solver = ctx.solver
    if solver is None:
        relaxed = reverse_water_filling(a, d.sizes, d.total_bits, floor, top)
        fractional, continuous = relaxed.bits, relaxed.error
    else:
        from allocopt.solvers.convex import solve_problem

        problem, b = model.build_relaxation(a, d, top)
        run = solve_problem(problem, solver=solver, time_limit=ctx.time_limit)
        if run.status != "solved":
            return Outcome(run.status if run.status != "solved" else "error", solver=solver, message=run.message)
        fractional, continuous = np.asarray(b.value, dtype=np.float64), float(run.objective)
    choice = round_and_repair(fractional, d.sizes, d.offsets, d.bits, d.errors, d.total_bits, d.min_bits)
    if choice is None:
        return Outcome("infeasible", solver=solver, message="no rounding of the continuous bits fits the budget")
    solution, error = _solution(d, choice)
    details = {
        "bound_kind": "lp",
        "continuous_optimum": continuous,
        "fractional_bits": [round(float(x), 6) for x in fractional],
        "error_model": "a_j * 2^(-2b), a_j fitted to each unit's options",
    }
    return Outcome("solved", solution, error, _hull(d).lower_bound, solver, details=details)


def choose(d: BitAllocationData) -> str:
    return "milp" if len(d.bits) <= AUTO_MILP_MAX_OPTIONS else "greedy"


METHODS = {
    m.name: m
    for m in (
        Method(
            "milp",
            _run_milp,
            "multiple-choice knapsack MILP (HiGHS, zero gap, scaled objective)",
            True,
            ("*pyomo",),
            MILP_OPTIONS,
        ),
        Method("greedy", _run_greedy, "lower-convex-hull greedy with the LP / Lagrangian lower bound", False),
        Method(
            "convex",
            _run_convex,
            "continuous reverse water-filling under e = a 2^(-2b), rounded and repaired; --solver clarabel|scs "
            "solves the relaxation in CVXPY instead of the closed form",
            False,
            ("clarabel", "scs"),
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="bit_allocation",
        sense="min",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        methods=METHODS,
        choose=choose,
        describe=BitAllocationData.kind,
    )
)
