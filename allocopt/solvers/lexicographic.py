r"""Lexicographic optimisation in stages: objectives solved one after another, each kept at the value it reached.

Given objectives :math:`f_1, \dots, f_S` (each maximized or minimized) over one feasible set X, the lexicographic
optimum is reached in stages: stage s solves

.. math::

    \operatorname{opt}_s\ f_s(x) \quad\text{s.t.}\quad x \in X, \qquad f_j(x) \trianglerighteq v_j \;\; (j < s),

where :math:`v_j` is the value stage j reached and :math:`\trianglerighteq` keeps it (:math:`\ge` for a maximized
stage, :math:`\le` for a minimized one). A stage whose objective takes integer values only (``integral``; the default)
keeps :math:`f_j \ge v_j - 1/2` (or :math:`\le v_j + 1/2`), which is :math:`f_j \ge v_j` for integer values and
immune to the engine's feasibility tolerance; any other stage keeps :math:`f_j \ge v_j - 10^{-6} \max(1, |v_j|)`.

**Bounds.** When stages 1..s-1 were proven optimal, stage s's feasible set holds every lexicographic optimum, so the
engine's bound on stage s bounds the optimum's s-th entry. Once a stage stops unproven (a time limit, a relative
gap), the later stages run on with the values found, for a feasible answer, but their engine bounds only hold given
those values (a solution worse in an earlier entry may be better in a later one): ``LexRun.bounds`` then holds None
for them (``StageRun.bound`` still has the engine's conditional number) and the caller substitutes a bound it knows
holds unconditionally (e.g. from a relaxation of the problem without the earlier stages). The value of stage s
comes back rounded for integral stages, and its bound rounded inwards (floor of a max bound, ceiling of a min bound,
after a 1e-6 allowance for the engine's float noise).

**Time.** An overall ``time_limit`` covers every stage: each gets what is left. Once a solution is known, a stage
with no more than ``min_stage_seconds`` left is skipped (an engine has a fixed cost per solve that a sliver of time
cannot pay: CP-SAT's presolve of 10^5 Booleans takes about 1.4 s, Pyomo's translation for HiGHS longer); a stage that
ends without a solution of its own (time out) or is skipped leaves the previous stage's solution in place, which
satisfies every kept value, so the later stages still run and the answer stays feasible.

**Starts.** ``solve_stages`` (Pyomo, through ``allocopt.solvers.milp.solve_model``: HiGHS by default, any Pyomo MILP
solver) gives the engine no starting solution: Pyomo's contrib HiGHS interface takes none, and the classic
interface's ``warmstart`` is not reached through ``solve_model``. (Measured on pod packing: a start given through
highspy's ``Highs.setSolution`` on a persistent model changed the stage times by noise, 31.7 s against 36.7 s and
0.63 s against 0.89 s on the hardest stages, for a private-API dependency; not worth it.) The previous stage's
solution stays loaded in the variables. ``solve_cp_stages`` (CP-SAT, through ``allocopt.solvers.cpsat.solve_cp``)
hints every stage after the first with the previous stage's full solution, and the first with the caller's hint.

**Tie-breaks** (``solve_cp_stages``, optional). A stage may carry an integer expression t with
:math:`lo \le t \le hi`, blended into the engine's objective as :math:`W f + t` (a max stage; :math:`W f - t` for a
min stage) with :math:`W = hi - lo + 1`: W exceeds t's range, so the blend's optimum optimizes f first, and the
solution carried to the later stages is good in t as well. The stage's bound comes back as
:math:`\lfloor (B - lo) / W \rfloor` (max: :math:`B \ge W f^* + t(x^*) \ge W f^* + lo`) or
:math:`\lceil (B + lo) / W \rceil` (min). Proving the blend optimal costs more than proving f alone (on pod packing,
with t = all pods placed minus the disruption: 1.3 s and 11 s for stages that close in 0.07 s and 0.3 s alone), so
it is a tool for anytime answers, not a default.

**Known stages** (``proven``): a caller that already holds a solution reaching the optimum of the first stages
(its own bound meets the solution's value there, e.g. a heuristic meeting a counting bound) passes those values: the
runners keep them as constraints and start at the next stage (for CP-SAT, from the caller's hint).

Both runners know nothing of any problem.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyomo.environ as pyo
from ortools.sat.python import cp_model

from allocopt.errors import UsageError
from allocopt.solvers.cpsat import solve_cp
from allocopt.solvers.milp import MilpRun, RunStatus, solve_model

Sense = Literal["max", "min"]

#: A stage that runs gets at least this many seconds; the default ``min_stage_seconds`` below which a stage is skipped.
MIN_STAGE_SECONDS = 0.05
#: Float noise allowed on an engine's objective and bound before rounding an integral stage.
INTEGRAL_TOL = 1e-6
#: Relative slack of a kept value for a stage that is not integral.
KEEP_TOL = 1e-6


@dataclass(frozen=True)
class StageRun:
    """One stage: the engine's status, the value kept for the later stages, the engine's own bound, its seconds.

    ``value`` is None only when no solution was known at that stage. ``bound`` is the engine's bound on this stage
    given the values kept before (None when it gave none). ``own_solution`` is false when the engine found nothing
    and the previous stage's solution stood. ``hinted``: a starting solution was given to the engine.
    """

    sense: Sense
    status: RunStatus
    value: float | None
    bound: float | None
    termination: str
    seconds: float
    own_solution: bool
    hinted: bool = False

    @property
    def proven(self) -> bool:
        return self.value is not None and self.bound is not None and _close(self.value, self.bound)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sense": self.sense,
            "status": self.status,
            "value": self.value,
            "bound": self.bound,
            "proven": self.proven,
            "termination": self.termination,
            "seconds": round(self.seconds, 6),
            "own_solution": self.own_solution,
            "hinted": self.hinted,
        }


@dataclass(frozen=True)
class LexRun:
    """A staged solve: the status, each objective's value at the final solution, and the valid bounds.

    ``status`` is ``solved`` when a solution is known (loaded in the Pyomo model's variables, or in
    ``solver_object`` for CP-SAT); otherwise the first stage's status (``infeasible``, ``no_solution``, ...).
    ``bounds[s]`` is a valid bound on the lexicographic optimum's entry s (see the module docstring), or None.
    """

    status: RunStatus
    values: tuple[float | None, ...] | None
    bounds: tuple[float | None, ...]
    stages: tuple[StageRun, ...]
    solver: str
    message: str | None = None
    solver_object: cp_model.CpSolver | None = field(default=None, repr=False)

    @property
    def proven(self) -> bool:
        """Every stage ran and was proven optimal: the values are the lexicographic optimum."""
        return self.status == "solved" and all(s.proven for s in self.stages)

    def details(self) -> dict[str, Any]:
        return {"stages": [s.as_dict() for s in self.stages]}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= KEEP_TOL * max(1.0, abs(a))


def _check_objectives(objectives: Sequence[tuple[Any, str]]) -> None:
    if not objectives:
        raise UsageError("a lexicographic solve needs at least one objective")
    for k, (_, sense) in enumerate(objectives):
        if sense not in ("max", "min"):
            raise UsageError(f"objective {k}: sense must be 'max' or 'min', got {sense!r}")


def _integrality(integral: bool | Sequence[bool], count: int) -> list[bool]:
    flags = [bool(integral)] * count if isinstance(integral, bool) else [bool(f) for f in integral]
    if len(flags) != count:
        raise UsageError(f"integral: expected {count} flags (one per objective), got {len(flags)}")
    return flags


def _rounded(value: float | None, integral: bool) -> float | None:
    if value is None or not integral:
        return value
    return float(round(value))


def _inward(bound: float | None, sense: Sense, integral: bool) -> float | None:
    """An integral stage's bound rounded towards the feasible side (float noise allowed first)."""
    if bound is None or not integral:
        return bound
    return float(math.floor(bound + INTEGRAL_TOL) if sense == "max" else math.ceil(bound - INTEGRAL_TOL))


def _keep_rhs(value: float, sense: Sense, integral: bool) -> float:
    if integral:
        return value - 0.5 if sense == "max" else value + 0.5
    slack = KEEP_TOL * max(1.0, abs(value))
    return value - slack if sense == "max" else value + slack


#: A tie-break blended into a stage: (expression, least value, largest value), integer valued, always maximized.
Tiebreak = tuple[Any, int, int]


def _tiebreaks(tiebreaks: Sequence[Tiebreak | None] | None, count: int) -> list[Tiebreak | None]:
    if tiebreaks is None:
        return [None] * count
    if len(tiebreaks) != count:
        raise UsageError(f"tiebreaks: expected {count} entries (one per objective, or None), got {len(tiebreaks)}")
    for k, t in enumerate(tiebreaks):
        if t is not None and not (int(t[1]) == t[1] and int(t[2]) == t[2] and t[1] <= t[2]):
            raise UsageError(f"tiebreak {k}: expected integer bounds lo <= hi, got {t[1]!r}, {t[2]!r}")
    return list(tiebreaks)


def _blended(expr: Any, sense: Sense, tiebreak: Tiebreak | None) -> tuple[Any, int, int, int]:
    """The stage's engine objective: ``expr``, or W expr + t (max) / W expr - t (min) with W = hi - lo + 1."""
    if tiebreak is None:
        return expr, 1, 0, 0
    t, lo, hi = tiebreak
    weight = int(hi) - int(lo) + 1
    return (weight * expr + t if sense == "max" else weight * expr - t), weight, int(lo), int(hi)


def _unblend(bound: float | None, sense: Sense, weight: int, lo: int, hi: int) -> float | None:
    """A bound on the stage's own (integral) objective from the engine's bound on the blended one.

    Max: B >= W f(x*) + t(x*) >= W f* + lo, so f* <= (B - lo) / W. Min: B <= W f* - t(x*) <= W f* - lo, so
    f* >= (B + lo) / W. Without a tie-break (W = 1, lo = 0) this is the engine's bound rounded inwards.
    """
    if bound is None:
        return None
    if sense == "max":
        return _inward((bound - lo) / weight, sense, True)
    return _inward((bound + lo) / weight, sense, True)


def _time_left(time_limit: float | None, began: float) -> float | None:
    if time_limit is None:
        return None
    return max(MIN_STAGE_SECONDS, time_limit - (time.perf_counter() - began))


def _check_proven(proven: Sequence[float], count: int) -> None:
    if len(proven) >= count:
        raise UsageError(
            f"proven: {len(proven)} values for {count} objectives; at least the last stage must be left to solve "
            "(the caller already holds the optimum otherwise)"
        )


def _known_stage(value: float, sense: Sense, hinted: bool = False) -> StageRun:
    """A stage the caller proved optimal (a solution reaching ``value`` exists and a bound meets it)."""
    v = float(value)
    return StageRun(sense, "solved", v, v, "proven by the caller", 0.0, False, hinted)


def _valid_bounds(stages: Sequence[StageRun]) -> tuple[float | None, ...]:
    """Engine bounds up to and including the first unproven stage; None after it (they are conditional)."""
    out: list[float | None] = []
    all_proven = True
    for s in stages:
        out.append(s.bound if all_proven else None)
        all_proven = all_proven and s.proven
    return tuple(out)


def _message(stages: Sequence[StageRun], total: int) -> str | None:
    open_stages = [k for k, s in enumerate(stages) if not s.proven]
    if not open_stages:
        return None
    k = open_stages[0]
    s = stages[k]
    why = "found no solution of its own" if not s.own_solution else "stopped unproven"
    return (
        f"stage {k + 1} of {total} {why} ({s.termination}); the later stages ran on for a feasible answer and their "
        "bounds are the caller's unconditional ones"
    )


# ------------------------------------------------------------------------------------------------------ Pyomo
def solve_stages(
    model: pyo.ConcreteModel,
    objectives: Sequence[tuple[Any, Sense]],
    solver: str = "highs",
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    solver_options: dict[str, Any] | None = None,
    integral: bool | Sequence[bool] = True,
    min_stage_seconds: float = MIN_STAGE_SECONDS,
    proven: Sequence[float] = (),
    loaded: bool = False,
) -> LexRun:
    """Solve ``objectives`` (Pyomo expressions of ``model``, with senses) lexicographically, stage by stage.

    Each stage goes through ``allocopt.solvers.milp.solve_model`` (``solver``, ``mip_gap`` and ``solver_options``
    as there). The model's own active objectives are deactivated for the run and restored after; the stage
    objectives and kept values live in a block that is removed again, so the model comes back as it was, with the
    final solution loaded in its variables. ``min_stage_seconds`` is also taken off each engine's own time limit:
    Pyomo's translation of the model runs outside the engine's clock. ``loaded``: the variables already hold a
    feasible solution (reaching the ``proven`` values), which stands when no stage finds better in time.
    """
    _check_objectives(objectives)
    flags = _integrality(integral, len(objectives))
    began = time.perf_counter()
    own = list(model.component_data_objects(pyo.Objective, active=True))
    for o in own:
        o.deactivate()
    name = "_lexicographic_stages"
    while model.component(name) is not None:
        name += "_"
    block = pyo.Block()
    model.add_component(name, block)
    block.keep = pyo.ConstraintList()
    stages: list[StageRun] = []
    have_solution = loaded
    used = solver
    _check_proven(proven, len(objectives))
    try:
        for k, (expr, sense) in enumerate(objectives):
            if k < len(proven):
                stages.append(_known_stage(proven[k], sense))
                rhs = _keep_rhs(float(proven[k]), sense, flags[k])
                block.keep.add(expr >= rhs if sense == "max" else expr <= rhs)
                continue
            obj = pyo.Objective(expr=expr, sense=pyo.maximize if sense == "max" else pyo.minimize)
            block.add_component(f"stage_{k}", obj)
            start = time.perf_counter()
            left = _time_left(time_limit, began)
            if have_solution and left is not None and left <= min_stage_seconds:
                run = None  # no time left: the previous solution stands
            else:
                engine_time = None if left is None else max(MIN_STAGE_SECONDS, left - min_stage_seconds)
                run = solve_model(model, solver, engine_time, mip_gap, solver_options)
                used = run.solver
                if run.status == "error" and _unconstrained(model):
                    run = _trivial_run(model, expr, solver)
            seconds = time.perf_counter() - start
            got = run is not None and run.status == "solved"
            if run is not None and not got and not have_solution:
                # Nothing is known to be feasible: the first stage's verdict is the run's.
                bound = _inward(run.bound, sense, flags[k])
                stages.append(StageRun(sense, run.status, None, bound, run.termination, seconds, False))
                return LexRun(run.status, None, _valid_bounds(stages), tuple(stages), used, run.message)
            have_solution = True
            # A stage without a solution of its own keeps the previous one (still loaded): its value there.
            value = run.objective if got and run is not None and run.objective is not None else None
            if value is None:
                value = pyo.value(expr, exception=False)
            value = _rounded(None if value is None else float(value), flags[k])
            bound = None if run is None else _inward(run.bound, sense, flags[k])
            if bound is not None and value is not None:
                # The engine's bound never sits on the wrong side of a value it reached (beyond its tolerance).
                bound = max(bound, value) if sense == "max" else min(bound, value)
            status: RunStatus = "solved" if run is None else run.status
            termination = "skipped: no time left" if run is None else run.termination
            stages.append(StageRun(sense, status, value, bound, termination, seconds, got))
            block.del_component(obj)
            if value is not None:
                rhs = _keep_rhs(value, sense, flags[k])
                block.keep.add(expr >= rhs if sense == "max" else expr <= rhs)
        values = tuple(
            _rounded(_float(pyo.value(e, exception=False)), f) for (e, _), f in zip(objectives, flags, strict=True)
        )
        return LexRun("solved", values, _valid_bounds(stages), tuple(stages), used, _message(stages, len(objectives)))
    finally:
        model.del_component(block)
        for o in own:
            o.activate()


def _unconstrained(model: pyo.ConcreteModel) -> bool:
    """No active constraint holds a variable (an engine sees an empty model and may answer 'unknown')."""
    from pyomo.core.expr.visitor import identify_variables

    for con in model.component_data_objects(pyo.Constraint, active=True):
        if next(identify_variables(con.body, include_fixed=False), None) is not None:
            return False
    return True


def _trivial_run(model: pyo.ConcreteModel, expr: Any, solver: str) -> MilpRun:
    """A stage of a model no constraint binds: every variable at a bound is feasible; the objective is optimized
    term by term only when it is constant, else reported as unsolved (the engine's error stands)."""
    from pyomo.core.expr.visitor import identify_variables

    if next(identify_variables(expr, include_fixed=False), None) is not None:
        return MilpRun("error", None, None, solver, "unknown", "the engine could not solve a model without constraints")
    for var in model.component_data_objects(pyo.Var, active=True):
        if var.value is None and not var.fixed:
            lb, ub = var.lb, var.ub
            var.set_value(lb if lb is not None else (0 if ub is None or ub >= 0 else ub), skip_validation=True)
    value = float(pyo.value(expr))
    return MilpRun("solved", value, value, solver, "constant objective, no constraint")


def _float(x: Any) -> float | None:
    return None if x is None else float(x)


# ------------------------------------------------------------------------------------------------------ CP-SAT
def _set_hint(model: cp_model.CpModel, pairs: Sequence[tuple[int, int]]) -> None:
    """Replace ``model``'s hint by (variable index, value) pairs, written straight into its proto."""
    model.ClearHints()
    hint = model.Proto().solution_hint
    hint.vars.extend([i for i, _ in pairs])
    hint.values.extend([int(v) for _, v in pairs])


def solve_cp_stages(
    model: cp_model.CpModel,
    objectives: Sequence[tuple[Any, Sense]],
    time_limit: float | None = None,
    workers: int | None = None,
    hint: Sequence[tuple[Any, int]] | Mapping[Any, int] | None = None,
    solver_options: Mapping[str, Any] | None = None,
    tiebreaks: Sequence[Tiebreak | None] | None = None,
    min_stage_seconds: float = MIN_STAGE_SECONDS,
    proven: Sequence[float] = (),
) -> LexRun:
    """Solve integer linear ``objectives`` of a CP-SAT ``model`` lexicographically, stage by stage.

    Works on a clone (the caller's model is not changed; expressions of the caller's variables apply to it, the
    clone holding the same variables by index). Stage 1 is hinted with ``hint``, every later stage with the
    previous stage's full solution. ``tiebreaks`` blends a tie-break into stages (module docstring).
    ``run.solver_object`` is the ``CpSolver`` of the final solution (read values with ``.Value(x)``); ``run.values``
    the objectives there.
    """
    _check_objectives(objectives)
    blends = _tiebreaks(tiebreaks, len(objectives))
    began = time.perf_counter()
    work = model.Clone()
    work.ClearObjective()
    stages: list[StageRun] = []
    best: cp_model.CpSolver | None = None
    _check_proven(proven, len(objectives))
    if hint:
        pairs = hint.items() if isinstance(hint, Mapping) else hint
        _set_hint(work, [(int(var.Index()), int(value)) for var, value in pairs])
    for k, (expr, sense) in enumerate(objectives):
        if k < len(proven):
            stages.append(_known_stage(proven[k], sense, hinted=bool(hint)))
            value = round(proven[k])
            if sense == "max":
                work.Add(expr >= value)
            else:
                work.Add(expr <= value)
            continue
        goal, weight, lo, hi = _blended(expr, sense, blends[k])
        start = time.perf_counter()
        left = _time_left(time_limit, began)
        hinted = len(work.Proto().solution_hint.vars) > 0
        if best is not None and left is not None and left <= min_stage_seconds:
            run = None  # no time left: the previous solution stands
        else:
            # Setting a long objective takes a while (0.3 s for 10^5 terms): the stage's time is counted after it.
            if sense == "max":
                work.Maximize(goal)
            else:
                work.Minimize(goal)
            run = solve_cp(work, _time_left(time_limit, began), workers, None, 1.0, solver_options)
        seconds = time.perf_counter() - start
        got = run is not None and run.status == "solved"
        if not got and best is None:
            assert run is not None
            bound = _unblend(run.bound, sense, weight, lo, hi)
            stages.append(StageRun(sense, run.status, None, bound, run.termination, seconds, False, hinted))
            return LexRun(run.status, None, _valid_bounds(stages), tuple(stages), "cpsat", run.message)
        if got:
            assert run is not None
            best = run.solver_object
        assert best is not None
        value = float(best.Value(expr))
        bound = None if run is None else _unblend(run.bound, sense, weight, lo, hi)
        if bound is not None:
            bound = max(bound, value) if sense == "max" else min(bound, value)
        status: RunStatus = "solved" if run is None else run.status
        termination = "skipped: no time left" if run is None else run.termination
        stages.append(StageRun(sense, status, value, bound, termination, seconds, got, hinted))
        if sense == "max":
            work.Add(expr >= int(value))
        else:
            work.Add(expr <= int(value))
        if got:
            # The next stage starts from this one's full solution (set on the proto: 10^5 AddHint calls take ~1 s).
            _set_hint(work, list(enumerate(best.response_proto.solution)))
    assert best is not None
    values = tuple(float(best.Value(e)) for e, _ in objectives)
    message = _message(stages, len(objectives))
    return LexRun("solved", values, _valid_bounds(stages), tuple(stages), "cpsat", message, best)
