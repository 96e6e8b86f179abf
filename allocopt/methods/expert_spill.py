"""Methods for the ``expert_spill`` problem and the rule ``auto`` follows.

- ``milp``: the splittable-load MILP with transfer indicators of ``allocopt.models.expert_spill`` through HiGHS
  (or any Pyomo solver); exact in the number of transfers. LLEP's plan serves as its incumbent (Pyomo's HiGHS
  interface takes no MIP start, so by hand: no search when it meets the proposition's lower bound, and it is
  kept when the search ends worse). A second stage then lowers the largest device load without adding a
  transfer (``balance``): ``fixed`` (default) over the plan's own pieces, a bipartite flow HiGHS solves at the
  root; ``exact`` over every plan with as few transfers (a second MILP, often several times the first's time);
  ``none``.
- ``greedy``: LLEP's least-loaded assignment and spill (``allocopt.solvers.spill_greedy``), with the chunk
  lower bound on transfers of the model's proposition.

Both return ``infeasible`` with the reason when the tokens exceed devices x capacity. The minimum chunk can make
an instance infeasible beyond that: the MILP proves it; the greedy then reports ``no_solution`` naming the expert
it could not place (it can also fail on feasible instances with little slack).

``auto``: ``milp`` up to ``AUTO_MILP_MAX_PAIRS`` non-home (expert, device) pairs, ``greedy`` beyond. Measured on
lognormal-router loads (alpha 1.1, minimum chunk 64): 64 x 8 and 128 x 8 in under 3 s, 64 x 16 and 128 x 16
(1,920 pairs) in 5 to 13 s; 256 experts on 32 devices (7,936 pairs) are not proven in minutes.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pyomo.environ as pyo

from allocopt.errors import UsageError
from allocopt.methods.common import MILP_OPTIONS, option_choice, option_flag, time_left
from allocopt.models import expert_spill as model
from allocopt.models.expert_spill import SpillData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register
from allocopt.solvers.milp import solve_model

#: ``auto`` runs the MILP up to this many non-home (expert, device) pairs (binaries), the greedy beyond.
AUTO_MILP_MAX_PAIRS = 2_048
#: ``balance`` option of the MILP: what the second stage minimizes the largest device load over.
BALANCE_CHOICES = ("none", "fixed", "exact")
#: A solver's bound on an integer objective is rounded up after removing this much float noise.
BOUND_NOISE = 1e-6


def _summary(d: SpillData, tokens: np.ndarray) -> dict[str, Any]:
    """The method's own account of a plan (the checker recomputes the objective separately)."""
    device_loads = tokens.sum(axis=0)
    nonhome = tokens > 0
    nonhome[np.arange(d.experts), d.home] = False
    lower, per_device = model.transfer_lower_bound(d)
    return {
        "transfers": int(nonhome.sum()),
        "max_load": int(device_loads.max(initial=0)),
        "capacity": d.capacity,
        "home_max_load": int(d.home_loads().max(initial=0)),
        "device_loads": [int(x) for x in device_loads],
        "spilled_experts": int(nonhome.any(axis=1).sum()),
        "lower_bound": lower,
        "overloaded_devices": sum(1 for p in per_device if p > 0),
    }


def _infeasible(d: SpillData) -> Outcome | None:
    reason = model.capacity_shortfall(d)
    if reason is None:
        return None
    return Outcome("infeasible", message=reason, details={"capacity": d.capacity, "total": d.total})


def _integer_bound(bound: float | None) -> int | None:
    return None if bound is None else math.ceil(bound - BOUND_NOISE)


def _run_milp(d: SpillData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.spill_greedy import llep

    out = _infeasible(d)
    if out is not None:
        return out
    began = time.perf_counter()
    balance = option_choice(ctx, "balance", BALANCE_CHOICES, "fixed")
    mdl = ctx.options.get("model")
    user_model = mdl is not None
    if user_model and (not isinstance(mdl, pyo.ConcreteModel) or not hasattr(mdl, "transfer")):
        raise UsageError("option model must come from allocopt.build_model(instance) (an expert_spill model)")
    start = option_flag(ctx, "start", not user_model)
    if start and user_model:
        # LLEP's plan knows nothing of the user's constraints, so it cannot stand in for the model's incumbent.
        raise UsageError("option start needs the library's own model: leave it out (or false) with option model")
    if mdl is None:
        mdl = model.build_model(d)
    solver = ctx.solver or "highs"
    mip_gap = float(ctx.options.get("mip_gap", 0.0))
    solver_options = ctx.options.get("solver_options")
    lower, _ = model.transfer_lower_bound(d)
    details: dict[str, Any] = {}
    start_plan = llep(d.loads, d.home, d.devices, d.capacity, d.min_chunk).tokens if start else None
    start_transfers = None if start_plan is None else _summary(d, start_plan)["transfers"]
    if start:
        details["start_transfers"] = start_transfers
    plan: dict[str, Any] | None = None
    solver_used: str | None = solver
    message = None
    if start_plan is not None and start_transfers <= lower:
        # LLEP's plan meets the proposition's bound: it is optimal, no search needed.
        plan, bound = {"tokens": start_plan.tolist()}, lower
        details["termination"] = "start_meets_lower_bound"
    else:
        run = solve_model(mdl, solver, time_left(ctx, began), mip_gap, solver_options)
        details["termination"] = run.termination
        solver_used, message = run.solver, run.message
        bound = _integer_bound(run.bound)
        bound = lower if bound is None else max(bound, lower)
        if run.status == "solved":
            plan = model.decode(mdl, d)
        # The MIP start by hand (Pyomo's HiGHS interface takes none): LLEP's plan when the search ended worse.
        worse = plan is None or _summary(d, np.asarray(plan["tokens"]))["transfers"] > (start_transfers or 0)
        # (A proof of infeasibility next to LLEP's plan would be the solver's numerical slip: the checker decides.)
        if start_plan is not None and run.status in ("solved", "no_solution", "infeasible") and worse:
            plan, message = {"tokens": start_plan.tolist()}, None
            details["incumbent"] = "start"
        if plan is None:
            if run.status == "infeasible":
                message = (
                    f"{run.solver} proved that no plan meets the minimum chunk (and any constraints added to the "
                    f"model): the {d.total} tokens fit the devices' room {d.devices} x {d.capacity}, but not in "
                    f"pieces of at least min(min_chunk, load) = min({d.min_chunk}, load) tokens"
                )
                return Outcome("infeasible", None, None, None, run.solver, message, details)
            kept = float(bound) if run.status == "no_solution" else None
            return Outcome(run.status, None, None, kept, run.solver, run.message, details)
    details.update(_summary(d, np.asarray(plan["tokens"], dtype=np.int64)))
    details["balance"] = balance
    if details["transfers"] == 0:
        details["max_load_optimal"] = True  # every expert at home: the only plan without a transfer
    elif balance != "none":
        plan = _balance(d, ctx, mdl, began, solver, solver_options, plan, balance == "exact", details)
        details.update(_summary(d, np.asarray(plan["tokens"], dtype=np.int64)))
    return Outcome("solved", plan, float(details["transfers"]), float(bound), solver_used, message, details)


def _balance(
    d: SpillData,
    ctx: SolveContext,
    mdl: pyo.ConcreteModel,
    began: float,
    solver: str,
    solver_options: Any,
    plan: dict[str, Any],
    exact: bool,
    details: dict[str, Any],
) -> dict[str, Any]:
    """Second stage: the least largest device load, over the plan's own transfers or over all as few.

    ``fixed``: every ``transfer`` binary fixed at the plan's pieces (a bipartite flow with lower bounds, solved
    at the root). ``exact``: a temporary row ``sum z <= transfers``. Either way on the same (possibly
    user-extended) model with the ``largest_load`` objective, restored afterwards; the plan is kept when the
    stage finds nothing better.
    """
    tokens = np.asarray(plan["tokens"], dtype=np.int64)
    transfers = int(details["transfers"])
    if exact:
        mdl.transfer_limit = pyo.Constraint(expr=sum(mdl.transfer[p] for p in mdl.transfer) <= transfers)
    else:
        for e, g in mdl.transfer:
            mdl.transfer[e, g].fix(int(tokens[e, g] > 0))
    mdl.transfers.deactivate()
    mdl.largest_load.activate()
    try:
        run = solve_model(mdl, solver, time_left(ctx, began), 0.0, solver_options)
        details["balance_termination"] = run.termination
        if run.status != "solved":
            details["max_load_optimal"] = False
            return plan
        second = model.decode(mdl, d)
        load_bound = _integer_bound(run.bound)
        achieved = int(np.asarray(second["tokens"], dtype=np.int64).sum(axis=0).max(initial=0))
        if achieved > int(tokens.sum(axis=0).max(initial=0)):
            return plan
        details["max_load_bound"] = load_bound
        details["max_load_optimal"] = load_bound is not None and load_bound >= achieved
        return second
    finally:
        mdl.largest_load.deactivate()
        mdl.transfers.activate()
        if exact:
            mdl.del_component(mdl.transfer_limit)
        else:
            for e, g in mdl.transfer:
                mdl.transfer[e, g].unfix()


def _run_greedy(d: SpillData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.spill_greedy import llep

    out = _infeasible(d)
    if out is not None:
        return out
    began = time.perf_counter()
    plan = llep(d.loads, d.home, d.devices, d.capacity, d.min_chunk)
    lower, _ = model.transfer_lower_bound(d)
    details: dict[str, Any] = {"bound_kind": "spill_pieces", "seconds": time.perf_counter() - began}
    if plan.tokens is None:
        message = (
            f"LLEP's least-loaded spill found no device with room for a piece of at least "
            f"{d.chunk(plan.failed)} tokens of expert {plan.failed} ({plan.rest} of its {int(d.loads[plan.failed])} "
            "tokens left); the minimum chunk may make the instance infeasible: try method milp"
        )
        details["failed_expert"] = plan.failed
        return Outcome("no_solution", None, None, float(lower), None, message, details)
    details.update(_summary(d, plan.tokens))
    solution = {"tokens": plan.tokens.tolist()}
    return Outcome("solved", solution, float(plan.transfers), float(lower), None, details=details)


def choose(d: SpillData) -> str:
    pairs = int((d.loads > 0).sum()) * (d.devices - 1)
    return "milp" if pairs <= AUTO_MILP_MAX_PAIRS else "greedy"


METHODS = {
    m.name: m
    for m in (
        Method(
            "milp",
            _run_milp,
            "splittable-load MILP with transfer indicators (fewest weight transfers), then the least largest "
            "device load at that count; through Pyomo (HiGHS by default)",
            True,
            ("*pyomo",),
            {
                **MILP_OPTIONS,
                "balance": "then the least largest device load: 'fixed' over the plan's own transfers (default), "
                "'exact' over every plan with as few transfers (a second MILP), or 'none'",
                "start": "LLEP's plan as the incumbent: kept when the search ends worse, no search when it meets "
                "the lower bound (default true; not with option model)",
            },
        ),
        Method(
            "greedy",
            _run_greedy,
            "LLEP's least-loaded assignment: largest experts first, home keeps what fits, the rest spills to the "
            "least-loaded devices; chunk lower bound on transfers",
            False,
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="expert_spill",
        sense="min",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        methods=METHODS,
        choose=choose,
        describe=SpillData.kind,
    )
)
