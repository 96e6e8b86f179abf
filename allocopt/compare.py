"""Every method on one instance, side by side: exact, convex and greedy answers with their certified gaps.

``compare`` runs each method that applies to the instance (or those named), each through ``solve`` with its
own independent check, and marks the best verified objective and the tightest proven bound among them. For a
maximization the tightest bound is the smallest upper bound, for a minimization the largest lower bound;
lexicographic values compare entry by entry. ``comparison_figure`` draws objective and bound of each method
against its running time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocopt.api import solve
from allocopt.envelope import Instance, instance_from_dict, load
from allocopt.errors import AllocoptError, UsageError
from allocopt.result import Objective, Result, compare_objectives

__all__ = ["ComparisonRow", "compare", "comparison_figure"]


@dataclass(frozen=True)
class ComparisonRow:
    """One method's run: its result, and whether it holds the best objective / the tightest bound of the table."""

    method: str
    exact: bool
    result: Result
    best_objective: bool = False
    best_bound: bool = False


def compare(
    instance: Instance | Mapping[str, Any] | str | Path,
    methods: Sequence[str] | None = None,
    time_limit: float | None = None,
    solver: str | None = None,
    **options: Any,
) -> list[ComparisonRow]:
    """Run ``methods`` (default: every method that applies) on ``instance``; one row per method, in table order.

    ``options`` go to each method that takes them (a method that does not take an option runs without it).
    Raises ``UsageError`` for a method name the problem does not have or that does not apply to the instance.
    A method that fails on the instance gives an ``error`` row with the reason; the others still run.
    """
    inst = instance if isinstance(instance, Instance) else _load(instance)
    spec = inst.spec
    if methods is None:
        names = [m.name for m in spec.methods.values() if m.applies(inst.data) is None]
    else:
        names = list(dict.fromkeys(methods))
        for name in names:
            spec.method(name, inst.data)  # raises UsageError with the methods that apply
    rows = []
    for name in names:
        method = spec.methods[name]
        own = {k: v for k, v in options.items() if k in method.options}
        engine = solver if solver is not None and (solver in method.solvers or "*pyomo" in method.solvers) else None
        try:
            result = solve(inst, name, engine, time_limit, **own)
        except AllocoptError as exc:
            result = _failed(inst, name, str(exc))
        rows.append(ComparisonRow(name, method.exact, result))
    return _mark_best(rows, spec.sense_of(inst.data))


def _load(x: Mapping[str, Any] | str | Path) -> Instance:
    return load(x) if isinstance(x, str | Path) else instance_from_dict(x)


def _failed(inst: Instance, method: str, message: str) -> Result:
    return Result(inst.problem, inst.name, "error", None, None, None, method, None, 0.0, False, None, message)


def _mark_best(rows: list[ComparisonRow], sense: str) -> list[ComparisonRow]:
    """Flag the best verified objective and the tightest bound (ties: every row that reaches them)."""
    better = 1 if sense == "max" else -1

    def best(values: list[Objective], direction: int) -> Objective | None:
        top: Objective | None = None
        for v in values:
            if top is None or compare_objectives(v, top) == direction:
                top = v
        return top

    objectives = [r.result.objective for r in rows if r.result.verified and r.result.objective is not None]
    bounds = [r.result.bound for r in rows if r.result.verified and r.result.bound is not None]
    top_objective = best(objectives, better)
    top_bound = best(bounds, -better)  # the tightest bound is the least optimistic one
    return [
        ComparisonRow(
            r.method,
            r.exact,
            r.result,
            best_objective=r.result.verified
            and r.result.objective is not None
            and compare_objectives(r.result.objective, top_objective) == 0,
            best_bound=r.result.verified
            and r.result.bound is not None
            and compare_objectives(r.result.bound, top_bound) == 0,
        )
        for r in rows
    ]


def comparison_figure(rows: Sequence[ComparisonRow], title: str | None = None) -> Any:
    """A matplotlib ``Figure``: each method's objective (dot) and bound (bar end) against its running time.

    Needs matplotlib (``pip install "allocopt[plot]"``). Lexicographic objectives have no single axis: refused.
    Save it with ``fig.savefig(path)`` (``allocopt compare --plot`` writes it atomically).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError('drawing needs matplotlib: pip install "allocopt[plot]"') from None
    if any(isinstance(r.result.objective, tuple) or isinstance(r.result.bound, tuple) for r in rows):
        raise UsageError("a lexicographic objective has no single axis to draw; use the table")
    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    for k, row in enumerate(rows):
        r = row.result
        t = max(r.runtime_s, 1e-4)
        color = f"C{k % 10}"
        label = f"{row.method} ({r.status})"
        if r.objective is not None:
            ax.scatter([t], [r.objective], color=color, zorder=3, label=label)
        if r.bound is not None:
            ax.scatter([t], [r.bound], color=color, marker="_", s=300, zorder=3)
            if r.objective is not None:
                ax.plot([t, t], [r.objective, r.bound], color=color, linewidth=1.5)
        if r.objective is None and r.bound is None:
            ax.scatter([], [], color=color, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("objective (dot) and bound (bar)")
    ax.set_title(title or "methods side by side")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig
