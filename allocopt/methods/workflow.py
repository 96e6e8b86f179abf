"""Methods for the ``workflow`` problem and the rule ``auto`` follows.

- ``heft``: HEFT (``allocopt.solvers.heft``): upward ranks with average costs and the mean off-diagonal transfer
  rate, insertion-based earliest finish time.
- ``cp``: the CP-SAT model of ``allocopt.models.workflow`` (an optional interval per allowed processor, transfer
  delays enforced on the pair of processors chosen), horizon and hint from HEFT; exact. Decimal transfer rates are
  scaled to integers (the least power of ten); when no such scale fits, it refuses with the reason.
- ``milp``: the assignment / disjunctive MILP (transfer products linearized), HEFT's makespan as its big-M;
  exact, for small graphs.

Every method reports at least the lower bound max(longest path at fastest times with free transfers, total
fastest work / processors).

``auto``: ``cp`` up to ``AUTO_CP_MAX_TASKS`` tasks, ``heft`` beyond.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Any

import numpy as np

from allocopt.errors import UsageError
from allocopt.methods.common import CP_DEFAULT_MAX_WORKERS, MILP_OPTIONS, cp_options, run_milp, time_left
from allocopt.models import workflow as model
from allocopt.models.workflow import WorkflowCpModel, WorkflowData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register

#: ``auto`` picks ``cp`` up to this many tasks and ``heft`` beyond.
AUTO_CP_MAX_TASKS = 200


def _heft(d: WorkflowData) -> Any:
    from allocopt.solvers.heft import heft

    return heft(d.cost, d.src, d.dst, d.data, d.transfer)


def _bound(bound: float | None, lower: float) -> float:
    return lower if bound is None else max(float(bound), lower)


def _run_heft(d: WorkflowData, ctx: SolveContext) -> Outcome:
    out = _heft(d)
    details = {
        "bound_kind": "critical path / work",
        "upward_rank": [round(float(r), 6) for r in out.rank],
        "order": out.order.tolist(),
    }
    solution = model.solution_from_arrays(out.processor, out.start)
    return Outcome("solved", solution, out.makespan, d.lower_bound(), None, details=details)


def _run_cp(d: WorkflowData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.cpsat import ScaleError, integer_scale, solve_cp

    began = time.perf_counter()
    workers = ctx.options.get("workers", min(CP_DEFAULT_MAX_WORKERS, os.cpu_count() or 1))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"option 'workers' must be a whole number >= 1, got {workers!r}")
    use_hint = ctx.options.get("hint", True)
    if not isinstance(use_hint, bool):
        raise UsageError(f"option 'hint' must be true or false, got {use_hint!r}")
    user = ctx.options.get("model")
    if user is not None and not isinstance(user, WorkflowCpModel):
        raise UsageError("option model must come from allocopt.build_cp_model(instance) (a workflow CP-SAT model)")
    lower = d.lower_bound()
    best = _heft(d)
    if user is not None:
        cp = user
    else:
        try:
            _, scale = integer_scale(d.transfer.ravel().tolist())
        except ScaleError as err:
            raise UsageError(f"method cp needs transfer rates it can scale to integers: {err}; use heft") from None
        total = (float(d.cost[np.isfinite(d.cost)].sum()) + float(d.data.sum()) * float(d.transfer.max())) * scale
        if total >= 2**53:
            raise UsageError("method cp: the scaled times exceed what CP-SAT holds exactly; use heft")
        cp = model.build_cp_model(d, horizon=best.makespan, scale=scale)
    details: dict[str, Any] = {
        "workers": workers,
        "scale": cp.scale,
        "horizon": cp.horizon / cp.scale,
        "heft_makespan": best.makespan,
        "lower_bound": lower,
    }
    hint = None
    if use_hint and user is None:
        hint = [(cp.start[i], round(float(best.start[i]) * cp.scale)) for i in range(d.n_tasks)]
        hint += [(x, int(best.processor[i] == k)) for (i, k), x in cp.present.items()]
    details["hinted"] = hint is not None
    run = solve_cp(cp, time_left(ctx, began), workers, hint, float(cp.scale), ctx.options.get("solver_options"))
    details["termination"] = run.termination
    details["cp_wall_s"] = run.wall_time
    if run.status != "solved":
        message = run.message
        if run.status == "infeasible":
            message = "CP-SAT proved the (user's) model infeasible: no schedule meets its constraints"
        bound = _bound(run.bound, lower) if run.status == "no_solution" else None
        return Outcome(run.status, None, None, bound, "cpsat", message, details)
    solution = model.decode_cp(run.solver_object, cp, d)
    return Outcome("solved", solution, run.objective, _bound(run.bound, lower), "cpsat", run.message, details)


def _run_milp(d: WorkflowData, ctx: SolveContext) -> Outcome:
    began = time.perf_counter()
    lower = d.lower_bound()
    best = _heft(d)
    run_ctx = replace(ctx, time_limit=time_left(ctx, began))
    out = run_milp(d, run_ctx, lambda data: model.build_model(data, horizon=best.makespan), model.decode)
    details = dict(out.details, heft_makespan=best.makespan, lower_bound=lower, incumbent="milp")
    if out.solution is None and out.status == "no_solution" and ctx.options.get("model") is None:
        details["incumbent"] = "heft"
        solution = model.solution_from_arrays(best.processor, best.start)
        return Outcome("solved", solution, best.makespan, _bound(out.bound, lower), out.solver, out.message, details)
    if out.solution is None:
        return Outcome(out.status, None, None, out.bound, out.solver, out.message, details)
    return Outcome(out.status, out.solution, out.objective, _bound(out.bound, lower), out.solver, out.message, details)


def choose(d: WorkflowData) -> str:
    return "cp" if d.n_tasks <= AUTO_CP_MAX_TASKS else "heft"


CP_OPTIONS = cp_options("the HEFT schedule")

METHODS = {
    m.name: m
    for m in (
        Method(
            "heft",
            _run_heft,
            "HEFT: upward ranks (average costs and transfer), insertion-based earliest finish; critical-path bound",
            False,
        ),
        Method(
            "cp",
            _run_cp,
            "CP-SAT: optional intervals per processor, transfer delays on the chosen pair; HEFT horizon and hint",
            True,
            ("cpsat",),
            CP_OPTIONS,
        ),
        Method(
            "milp",
            _run_milp,
            "assignment + disjunctive MILP, transfer products linearized, through Pyomo (HiGHS); small graphs",
            True,
            ("*pyomo",),
            MILP_OPTIONS,
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="workflow",
        sense="min",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        build_cp_model=model.build_cp_model,
        methods=METHODS,
        choose=choose,
        describe=WorkflowData.kind,
    )
)
