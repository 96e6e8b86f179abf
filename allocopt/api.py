"""The front door: ``load``, ``solve``, ``save``, ``check``, ``build_model``, ``build_cp_model``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from allocopt.envelope import Instance, instance_from_dict, load, write_json_atomic
from allocopt.errors import UsageError
from allocopt.registry import Check, Outcome, SolveContext, problems
from allocopt.result import Result, compare_objectives, finite_or_none, proves_optimal, relative_gap

__all__ = ["build_cp_model", "build_model", "check", "load", "save", "solve", "verify"]


def _as_instance(instance: Instance | Mapping[str, Any] | str | Path) -> Instance:
    if isinstance(instance, Instance):
        return instance
    if isinstance(instance, str | Path):
        return load(instance)
    return instance_from_dict(instance)


def build_model(instance: Instance | Mapping[str, Any] | str | Path) -> Any:
    """The problem's Pyomo model (or CVXPY problem) for ``instance``, ready to extend and solve."""
    inst = _as_instance(instance)
    return inst.spec.build_model(inst.data)


def build_cp_model(instance: Instance | Mapping[str, Any] | str | Path) -> Any:
    """The problem's CP-SAT model (an OR-Tools ``CpModel``) for ``instance``, ready to extend and solve.

    Raises ``UsageError`` for a problem without one, naming the problems that have one.
    """
    inst = _as_instance(instance)
    if inst.spec.build_cp_model is None:
        having = sorted(name for name, spec in problems().items() if spec.build_cp_model is not None)
        raise UsageError(
            f"problem {inst.problem!r} has no CP-SAT model; problems that have one: {', '.join(having) or 'none'}"
        )
    return inst.spec.build_cp_model(inst.data)


def solve(
    instance: Instance | Mapping[str, Any] | str | Path,
    method: str = "auto",
    solver: str | None = None,
    time_limit: float | None = None,
    **options: Any,
) -> Result:
    """Solve an instance (an ``Instance``, a path, or an instance document) and check the answer.

    ``method="auto"`` picks the fastest exact method the instance allows, or a greedy with a bound
    when the instance is too large for it; ``Result.method`` says which ran. ``solver`` names the
    engine for methods that use one (e.g. ``"highs"``, ``"cbc"``). Method-specific ``options`` are
    listed by ``allocopt methods PROBLEM``. Raises ``UsageError`` for a method, solver or option that
    does not apply; never raises on a non-optimal finish.
    """
    inst = _as_instance(instance)
    spec = inst.spec
    chosen = spec.choose(inst.data) if method == "auto" else method
    meth = spec.method(chosen, inst.data)
    if solver is not None and solver not in meth.solvers and "*pyomo" not in meth.solvers:
        engines = ", ".join(meth.solvers) if meth.solvers else "none (it is the library's own algorithm)"
        raise UsageError(f"method {meth.name!r} does not take solver {solver!r}; solvers it takes: {engines}")
    unknown = sorted(set(options) - set(meth.options))
    if unknown:
        accepted = ", ".join(f"{k} ({v})" for k, v in meth.options.items()) or "none"
        raise UsageError(f"method {meth.name!r} has no option {unknown[0]!r}; options it takes: {accepted}")
    if time_limit is not None and not time_limit > 0:  # also refuses NaN
        raise UsageError(f"time limit must be positive, got {time_limit}")
    ctx = SolveContext(solver=solver, time_limit=time_limit, options=options)
    start = time.perf_counter()
    outcome = meth.run(inst.data, ctx)
    runtime = time.perf_counter() - start
    return _finish(inst, meth.name, outcome, runtime)


def _finish(inst: Instance, method: str, out: Outcome, runtime: float) -> Result:
    """Check the method's solution independently and derive the status from objective and bound."""
    spec = inst.spec
    bound = finite_or_none(out.bound)
    base = {
        "problem": inst.problem,
        "instance": inst.name,
        "method": method,
        "solver": out.solver,
        "runtime_s": runtime,
        "details": dict(out.details),
    }
    if out.solution is None:
        status = "error" if out.status == "solved" else out.status
        return Result(
            status=status,
            objective=None,
            bound=bound,
            gap=None,
            verified=False,
            solution=None,
            message=out.message or (None if status != "error" else "method returned no solution"),
            **base,
        )
    verdict = spec.check(inst.data, out.solution)
    claimed = finite_or_none(out.objective)

    def rejected(objective: float | None, verified: bool, why: str) -> Result:
        return Result(
            status="error",
            objective=objective,
            bound=bound,
            gap=None,
            verified=verified,
            solution=out.solution,
            message=why,
            **base,
        )

    if not verdict.feasible or verdict.objective is None:
        return rejected(claimed, False, f"the checker rejected the solution: {verdict.reason}")
    objective = finite_or_none(verdict.objective)
    sense = spec.sense_of(inst.data)
    if claimed is not None and not proves_optimal(objective, claimed):
        return rejected(
            objective, False, f"the method claimed objective {claimed} but the checker recomputed {objective}"
        )
    if bound is not None:
        # A bound on the wrong side of a verified objective (beyond float noise) means the bound is wrong; within
        # the noise, the objective itself is the bound. Lexicographic values (tuples) compare entry by entry.
        order = compare_objectives(bound, objective)
        if order == (-1 if sense == "max" else 1):
            return rejected(
                objective, True, f"the method's bound {bound} is on the wrong side of objective {objective}"
            )
        if bound < objective if sense == "max" else bound > objective:  # type: ignore[operator]
            bound = objective
    status = "optimal" if proves_optimal(objective, bound) else "feasible"
    return Result(
        status=status,
        objective=objective,
        bound=bound,
        gap=relative_gap(objective, bound),
        verified=True,
        solution=out.solution,
        message=out.message,
        **base,
    )


def verify(instance: Instance | Mapping[str, Any] | str | Path, solution: Mapping[str, Any]) -> Check:
    """Run the problem's independent checker on a solution (the ``solution`` object of a solution file)."""
    inst = _as_instance(instance)
    return inst.spec.check(inst.data, solution)


def check(instance: Instance | Mapping[str, Any] | str | Path, solution_doc: Mapping[str, Any]) -> Check:
    """Re-verify a solution envelope against its instance: feasible, and the stated objective holds."""
    inst = _as_instance(instance)
    if solution_doc.get("problem") != inst.problem:
        return Check(
            False, None, f"solution is for problem {solution_doc.get('problem')!r}, instance is {inst.problem!r}"
        )
    if solution_doc.get("solution") is None:
        return Check(False, None, f"solution file holds no solution (status {solution_doc.get('status')!r})")
    verdict = verify(inst, solution_doc["solution"])
    stated = finite_or_none(solution_doc.get("objective"))
    if verdict.feasible and stated is not None and not proves_optimal(finite_or_none(verdict.objective), stated):
        return Check(
            False, verdict.objective, f"stated objective {stated} but the solution's objective is {verdict.objective}"
        )
    return verdict


def save(result: Result, path: str | Path) -> None:
    """Write ``result`` as a solution file, atomically."""
    write_json_atomic(path, result.to_dict())
