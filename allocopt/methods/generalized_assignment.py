"""Methods for the ``generalized_assignment`` problem and the rule ``auto`` follows.

- ``milp``: the Pyomo formulation of ``allocopt.models.generalized_assignment`` through HiGHS (or any Pyomo
  solver); exact.
- ``greedy``: Martello-Toth regret constructions with several desirabilities, each improved by shift and swap
  local search, with a Lagrangian bound (exact knapsack per agent, subgradient from the LP duals) or the LP
  bound when the resources are not integral (``details["bound_kind"]`` says which).

``auto``: ``milp`` up to ``AUTO_MILP_MAX_PAIRS`` agent-job pairs, ``greedy`` beyond. Some small instances
are still hard for a MILP (OR-Library's type D); give them a time limit.
"""

from __future__ import annotations

from typing import Any

from allocopt.errors import UsageError
from allocopt.methods.common import MILP_OPTIONS, run_milp
from allocopt.models import generalized_assignment as model
from allocopt.models.generalized_assignment import GapData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register

#: ``auto`` solves instances exactly up to this many agent-job pairs (m x n).
AUTO_MILP_MAX_PAIRS = 4000


def _run_milp(d: GapData, ctx: SolveContext) -> Outcome:
    reason = model.infeasibility(d)
    if reason:
        return Outcome("infeasible", message=reason)
    out = run_milp(d, ctx, model.build_model, model.decode)
    if out.status == "infeasible" and out.message is None:
        return Outcome("infeasible", solver=out.solver, message="no assignment of the jobs respects every capacity")
    return out


def _option(ctx: SolveContext, name: str, kind: type, default: Any) -> Any:
    value = ctx.options.get(name, default)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise UsageError(f"option {name!r} must be a count (a whole number >= 0), got {value!r}")
    if kind is bool and not isinstance(value, bool):
        raise UsageError(f"option {name!r} must be true or false, got {value!r}")
    return value


def _run_greedy(d: GapData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.gap_heuristic import gap_heuristic

    reason = model.infeasibility(d)
    if reason:
        return Outcome("infeasible", message=reason)
    out = gap_heuristic(
        d.cost,
        d.resource,
        d.capacity,
        maximize=d.maximize,
        local_search=_option(ctx, "local_search", bool, True),
        subgradient_steps=_option(ctx, "subgradient_steps", int, 200),
        time_limit=ctx.time_limit,
    )
    if out.bound_kind == "infeasible":
        return Outcome(
            "infeasible",
            solver="highs",
            message="the LP relaxation is infeasible: no assignment of the jobs respects every capacity",
            details={"bound_kind": "infeasible"},
        )
    details = {
        "bound_kind": out.bound_kind,
        "start": out.start,
        "local_search_moves": out.moves,
        "subgradient_steps": out.subgradient_steps,
    }
    if out.agent is None:
        return Outcome(
            "no_solution",
            bound=out.bound,
            solver="highs",
            message="no regret construction found a feasible assignment; try method='milp'",
            details=details,
        )
    solution = {"agent": [int(a) for a in out.agent]}
    return Outcome("solved", solution, out.value, out.bound, "highs", details=details)


def choose(d: GapData) -> str:
    return "milp" if d.m * d.n <= AUTO_MILP_MAX_PAIRS else "greedy"


METHODS = {
    m.name: m
    for m in (
        Method("milp", _run_milp, "MILP through Pyomo (HiGHS by default)", True, ("*pyomo",), MILP_OPTIONS),
        Method(
            "greedy",
            _run_greedy,
            "Martello-Toth regret greedy + shift/swap local search, Lagrangian (or LP) bound",
            False,
            ("highs",),
            {
                "local_search": "improve each construction by shift and swap moves (default true)",
                "subgradient_steps": "Lagrangian subgradient steps after the LP duals (default 200)",
            },
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="generalized_assignment",
        sense="min",
        instance_sense=lambda d: d.sense,
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        methods=METHODS,
        choose=choose,
        describe=GapData.kind,
    )
)
