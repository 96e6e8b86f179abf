"""Methods for the ``pod_packing`` problem (lexicographic: placed pods by priority, then the disruption) and ``auto``.

- ``milp``: the MILP of ``allocopt.models.pod_packing`` solved stage by stage (``allocopt.solvers.lexicographic``
  ``solve_stages``: each stage's value kept as a constraint for the next), through HiGHS or any Pyomo solver; exact.
- ``cp``: the same model on CP-SAT in integers, stage by stage (``solve_cp_stages``), stage 1 hinted with the
  greedy's placement and each later stage with the previous stage's solution; exact.
- ``greedy``: what the default kube-scheduler does (``allocopt.solvers.pod_greedy``): running pods stay, pending
  pods by priority then size onto the node with the most room left, with kube's preemption of lower-priority pods
  (option ``preemption``).

Every method reports a bound on each entry of the objective vector: the counting bounds of ``pod_greedy.stage_bounds``
(valid on their own), and for the exact methods the engine's bounds where they hold (see
``allocopt.solvers.lexicographic``), the tighter of the two. The front door calls a result ``optimal`` only when the
bound equals the objective in every entry; a time-limited exact run or the greedy is ``feasible`` with gap null
unless its bounds close.

The exact methods start from the greedy (unless given a model of the user's, whose extra constraints the greedy does
not know; ``cp`` also not with ``hint=False``): when its placement meets the counting bounds in every entry it is
returned, proven; otherwise the leading stages where it meets them are passed to the runner as proven (kept, not
solved), ``cp`` hints the next stage with it and ``milp`` loads it into the variables. A run cut short by the time
limit then sends disrupted pods home where they fit and keeps the greedy's placement when that is lexicographically
better; with no placement at all in time, the greedy's placement stands. (The bounds are on the optimum, so the
choice of the placement returned never touches them.)

``auto``: ``cp`` up to ``AUTO_EXACT_MAX_PAIRS`` allowed (pod, node) pairs (``milp`` when the requests do not scale
to integers), ``greedy`` above. Without a time limit an exact method may run long on a tight cluster (the last,
disruption, stage is the hardest): give one.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from allocopt.errors import UsageError
from allocopt.methods.common import MILP_OPTIONS, cp_options, cp_settings, option_flag, time_left
from allocopt.models import pod_packing as model
from allocopt.models.pod_packing import PodPackingCpModel, PodPackingData
from allocopt.registry import Method, Outcome, ProblemSpec, SolveContext, register
from allocopt.solvers.lexicographic import MIN_STAGE_SECONDS

#: ``auto`` runs ``cp`` (or ``milp``) up to this many allowed (pod, node) pairs, the greedy above.
AUTO_EXACT_MAX_PAIRS = 2_000
#: Seconds per allowed pair below which a staged run skips a stage (the engines' fixed cost per solve: CP-SAT's
#: presolve, Pyomo's translation), and kept aside for decoding and polishing; measured at 10^5 pairs.
CP_STAGE_SECONDS_PER_PAIR = 1.5e-5
MILP_STAGE_SECONDS_PER_PAIR = 4e-5
POST_SECONDS_PER_PAIR = 1e-5


# ------------------------------------------------------------------------------------------------ helpers
def _vector(d: PodPackingData, node: np.ndarray) -> list[float]:
    """The objective vector of a placement (node per pod, -1 pending), computed here from the arrays."""
    placed = node >= 0
    counts = [float(np.count_nonzero(placed & (d.priority >= q))) for q in d.levels]
    running = d.current >= 0
    return [*counts, float(-np.count_nonzero(running & (node != d.current)))]


def _as_array(solution: dict[str, Any]) -> np.ndarray:
    return np.asarray([-1 if v is None else v for v in solution["node"]], dtype=np.int64)


def _solution(node: np.ndarray) -> dict[str, Any]:
    return {"node": [None if v < 0 else int(v) for v in node]}


def _static_bounds(d: PodPackingData) -> list[float]:
    from allocopt.solvers.pod_greedy import stage_bounds

    return stage_bounds(
        d.node_cpu, d.node_memory, d.pod_cpu, d.pod_memory, d.priority, d.current, d.protected, d.levels
    )


def _greedy(d: PodPackingData, preemption: bool = True) -> tuple[np.ndarray, dict[str, Any]]:
    from allocopt.solvers.pod_greedy import kube_greedy

    pod_cpu, node_cpu, pod_mem, node_mem, _, _ = model.integer_units(d)
    run = kube_greedy(node_cpu, node_mem, pod_cpu, pod_mem, d.priority, d.current, d.protected, preemption)
    info = {"shed": run.shed, "preemptions": run.preemptions, "evicted_by_preemption": run.evicted_by_preemption}
    return run.node, info


def _combine(d: PodPackingData, engine: tuple[float | None, ...] | None, static: list[float]) -> list[float]:
    """The tighter of the engine's valid bounds and the static ones, entry by entry, all in the maximized sense.

    The engine's last stage minimizes the disruption: its bound is a lower bound on D, minus it an upper bound.
    """
    out = list(static)
    if engine is None:
        return out
    for k, b in enumerate(engine):
        if b is None:
            continue
        entry = 0.0 - b if k == len(engine) - 1 else b  # 0.0 - b: never a negative zero
        out[k] = min(out[k], entry)
    return out


def _polish(
    d: PodPackingData, node: np.ndarray, proven: bool, details: dict[str, Any], start: np.ndarray | None, user: bool
) -> np.ndarray:
    """An exact run cut short: send disrupted pods home where they fit, and keep the greedy's placement when it is
    lexicographically better (sending home makes no entry worse; the swap is a lexicographic improvement).

    Not for a user's extended model (``user``): its extra constraints are unknown here."""
    if proven or user or model.cp_reason(d) is not None:
        return node
    from allocopt.solvers.pod_greedy import restore_home

    pod_cpu, node_cpu, pod_mem, node_mem, _, _ = model.integer_units(d)
    better, sent = restore_home(node, node_cpu, node_mem, pod_cpu, pod_mem, d.current)
    if sent:
        details["sent_home"] = sent
        node = better
    if start is None:
        start, _ = _greedy(d)
    if _vector(d, start) > _vector(d, node):
        details["kept_greedy"] = "the greedy's placement is lexicographically better than the stages reached"
        node = start
    return node


def _no_placement(
    d: PodPackingData,
    status: str,
    bound: list[float],
    solver: str | None,
    message: str | None,
    details: dict[str, Any],
    user: bool,
    start: np.ndarray | None = None,
) -> Outcome:
    """The engine stopped without any placement (a time limit): the greedy's placement stands in when it applies.

    Not for a user's model (its own constraints may exclude the greedy's placement), nor for a proven infeasible
    one: the problem itself always has a solution (every pod pending but the protected ones, which fit).
    """
    if status == "no_solution" and not user and model.cp_reason(d) is None:
        if start is None:
            start, _ = _greedy(d)
        details["kept_greedy"] = "the engine found no placement in time: the greedy's placement stands"
        return Outcome("solved", _solution(start), _vector(d, start), bound, solver, message, details)
    return Outcome(status, None, None, bound, solver, message, details)  # type: ignore[arg-type]


def _pairs(d: PodPackingData) -> int:
    return int(d.fits_alone().sum())


def _stage_time(ctx: SolveContext, began: float, d: PodPackingData) -> float | None:
    """What the stages may use of the caller's time limit: what is left, less the time decoding will take."""
    left = time_left(ctx, began)
    return None if left is None else max(MIN_STAGE_SECONDS, left - POST_SECONDS_PER_PAIR * _pairs(d))


def _greedy_reason(d: PodPackingData) -> str | None:
    reason = model.cp_reason(d)
    return None if reason is None else f"the greedy works in exact integers: {reason}; use milp"


def _cp_reason(d: PodPackingData) -> str | None:
    reason = model.cp_reason(d)
    return None if reason is None else f"CP-SAT needs integer requests: {reason}; use milp"


def _proven_start(d: PodPackingData, node: np.ndarray, static: list[float]) -> bool:
    """The greedy's placement already meets the counting bounds in every entry (then it is optimal)."""
    return _vector(d, node) == static


def _load(pyomo_model: Any, node: np.ndarray) -> None:
    """Put a placement into a ``build_model`` model's variables (it stands if no stage finds better in time)."""
    for (p, n), var in pyomo_model.assign.items():
        var.set_value(1 if node[p] == n else 0)


def _proven_prefix(d: PodPackingData, node: np.ndarray, static: list[float]) -> list[float]:
    """The leading count stages where the greedy's placement meets the counting bound: their optimum, known.

    Passed to the staged runners as ``proven`` (each such stage is optimal given the earlier ones: the bound holds
    for every placement and the greedy's reaches it). Never the last stage (the runner solves at least one).
    """
    prefix: list[float] = []
    for value, bound in zip(_vector(d, node)[:-1], static[:-1], strict=True):
        if value != bound:
            break
        prefix.append(value)
    return prefix


# ------------------------------------------------------------------------------------------------ methods
def _run_greedy(d: PodPackingData, ctx: SolveContext) -> Outcome:
    began = time.perf_counter()
    preemption = option_flag(ctx, "preemption", True)
    node, info = _greedy(d, preemption)
    info["greedy_seconds"] = time.perf_counter() - began
    info["bound_kind"] = "counting"
    return Outcome("solved", _solution(node), _vector(d, node), _static_bounds(d), None, details=info)


def _run_milp(d: PodPackingData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.lexicographic import solve_stages

    began = time.perf_counter()
    pyomo_model = ctx.options.get("model") or model.build_model(d)
    if not hasattr(pyomo_model, "placed") or not hasattr(pyomo_model, "disruption"):
        raise UsageError("option model must come from allocopt.build_model(instance) (a pod_packing model)")
    static = _static_bounds(d)
    user = ctx.options.get("model") is not None
    start = None
    prefix: list[float] = []
    if not user and model.cp_reason(d) is None:
        start, _ = _greedy(d)
        if _proven_start(d, start, static):
            details = {"static_bounds": static, "proven_by": "greedy placement meets the counting bounds"}
            return Outcome("solved", _solution(start), _vector(d, start), static, None, None, details)
        prefix = _proven_prefix(d, start, static)
        _load(pyomo_model, start)
    run = solve_stages(
        pyomo_model,
        model.stages(pyomo_model),
        solver=ctx.solver or "highs",
        time_limit=_stage_time(ctx, began, d),
        mip_gap=float(ctx.options.get("mip_gap", 0.0)),
        solver_options=ctx.options.get("solver_options"),
        min_stage_seconds=max(MIN_STAGE_SECONDS, MILP_STAGE_SECONDS_PER_PAIR * _pairs(d)),
        proven=prefix,
        loaded=start is not None,
    )
    details: dict[str, Any] = {**run.details(), "warm_start": False, "static_bounds": static}
    details["proven_by_greedy"] = len(prefix)
    bound = _combine(d, run.bounds, static)
    if run.status != "solved":
        return _no_placement(d, run.status, bound, run.solver, run.message, details, user, start)
    node = _polish(d, _as_array(model.decode(pyomo_model, d)), run.proven, details, start, user)
    return Outcome("solved", _solution(node), _vector(d, node), bound, run.solver, run.message, details)


def _run_cp(d: PodPackingData, ctx: SolveContext) -> Outcome:
    from allocopt.solvers.lexicographic import solve_cp_stages

    began = time.perf_counter()
    workers, use_hint, user = cp_settings(ctx, PodPackingCpModel, "pod_packing")
    cp = user if user is not None else model.build_cp_model(d)
    static = _static_bounds(d)
    details: dict[str, Any] = {"workers": workers, "static_bounds": static}
    hint = None
    start = None
    prefix: list[float] = []
    if use_hint:
        start, _ = _greedy(d)
        details["hint_objective"] = _vector(d, start)
        if user is None and _proven_start(d, start, static):
            # The counting bounds already prove the greedy's placement lexicographically optimal.
            details["proven_by"] = "greedy placement meets the counting bounds"
            return Outcome("solved", _solution(start), _vector(d, start), static, None, None, details)
        hint = [(x, int(start[p] == n)) for (p, n), x in cp.assign.items()]
        if user is None:
            prefix = _proven_prefix(d, start, static)
    details["hinted"] = hint is not None
    details["proven_by_greedy"] = len(prefix)
    objectives = [*((e, "max") for e in cp.placed), (cp.disruption, "min")]
    run = solve_cp_stages(
        cp,
        objectives,
        _stage_time(ctx, began, d),
        workers,
        hint,
        ctx.options.get("solver_options"),
        min_stage_seconds=max(MIN_STAGE_SECONDS, CP_STAGE_SECONDS_PER_PAIR * _pairs(d)),
        proven=prefix,
    )
    details.update(run.details())
    bound = _combine(d, run.bounds, static)
    if run.status != "solved":
        message = run.message
        if run.status == "infeasible":
            message = "CP-SAT proved the (user's) model infeasible: no placement meets its constraints"
        return _no_placement(d, run.status, bound, "cpsat", message, details, user is not None, start)
    node = _polish(
        d, _as_array(model.decode_cp(run.solver_object, cp, d)), run.proven, details, start, user is not None
    )
    return Outcome("solved", _solution(node), _vector(d, node), bound, "cpsat", run.message, details)


def choose(d: PodPackingData) -> str:
    pairs = _pairs(d)
    if pairs <= AUTO_EXACT_MAX_PAIRS or model.cp_reason(d) is not None:
        return "cp" if model.cp_reason(d) is None else "milp"
    return "greedy"


CP_OPTIONS = cp_options("the greedy's placement")

METHODS = {
    m.name: m
    for m in (
        Method(
            "cp",
            _run_cp,
            "CP-SAT stage by stage (most pods of each priority, then fewest disrupted), hinted with the greedy",
            True,
            ("cpsat",),
            CP_OPTIONS,
            _cp_reason,
        ),
        Method(
            "milp",
            _run_milp,
            "the placement MILP stage by stage (each stage's value kept), through Pyomo (HiGHS by default)",
            True,
            ("*pyomo",),
            MILP_OPTIONS,
        ),
        Method(
            "greedy",
            _run_greedy,
            "default kube-scheduler: running pods stay, pending by priority then size to the most free node, "
            "preemption; counting bounds",
            False,
            (),
            {"preemption": "evict lower-priority pods for a pod that fits nowhere, like kube-scheduler (default true)"},
            _greedy_reason,
        ),
    )
}

SPEC = register(
    ProblemSpec(
        name="pod_packing",
        sense="max",
        parse=model.parse,
        to_data=model.to_data,
        check=model.check,
        build_model=model.build_model,
        build_cp_model=model.build_cp_model,
        methods=METHODS,
        choose=choose,
        describe=PodPackingData.kind_text,
    )
)
