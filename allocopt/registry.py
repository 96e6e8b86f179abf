"""What the front door needs to know about each problem: its data, checker, formulation and methods.

A problem module under ``allocopt.models`` says WHAT the problem is; a method table under
``allocopt.methods`` says HOW each named method runs it by calling engines in ``allocopt.solvers``.
This module only holds the two together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from allocopt.errors import UsageError
from allocopt.result import Objective


@dataclass(frozen=True)
class Check:
    """An independent checker's verdict on a solution: feasible or not, and the objective it recomputed.

    A lexicographic problem's checker returns the objective as a tuple of numbers (FORMAT.md).
    """

    feasible: bool
    objective: Objective | None
    reason: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a method hands back to the front door before it is checked.

    ``status`` is the method's own claim (the front door re-derives ``optimal`` from the bound):
    ``solved`` when a solution is returned, or one of ``infeasible``, ``unbounded``, ``no_solution``,
    ``error`` when there is none. A lexicographic problem gives ``objective`` and ``bound`` as sequences of
    numbers, one per stage, every entry in the problem's sense (a valid bound: entry by entry, each at least
    what any solution reaches in that stage, or the stage's proven bound).
    """

    status: Literal["solved", "infeasible", "unbounded", "no_solution", "error"]
    solution: dict[str, Any] | None = None
    objective: float | Sequence[float] | None = None
    bound: float | Sequence[float] | None = None
    solver: str | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SolveContext:
    """The caller's settings that every method receives."""

    solver: str | None
    time_limit: float | None
    options: Mapping[str, Any]


@dataclass(frozen=True)
class Method:
    """A named way to solve a problem.

    ``applies(data)`` returns None when the method fits the instance, else the reason it does not.
    ``solvers`` lists the engines it can use (the first is the default); ``("*pyomo",)`` means any
    installed Pyomo MILP solver; an empty tuple means the library's own algorithm (solver ``null``).
    """

    name: str
    run: Callable[[Any, SolveContext], Outcome]
    summary: str
    exact: bool
    solvers: tuple[str, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)
    applies: Callable[[Any], str | None] = lambda data: None


@dataclass(frozen=True)
class ProblemSpec:
    """Everything the envelope, the front door and the command line need about one problem."""

    name: str
    sense: Literal["max", "min"]
    parse: Callable[[Mapping[str, Any]], Any]
    to_data: Callable[[Any], dict[str, Any]]
    check: Callable[[Any, Mapping[str, Any]], Check]
    build_model: Callable[[Any], Any]
    methods: Mapping[str, Method]
    choose: Callable[[Any], str]
    describe: Callable[[Any], str]
    #: For problems whose instances choose min or max (``sense`` in the data): data -> "min" | "max".
    instance_sense: Callable[[Any], Literal["max", "min"]] | None = None
    #: The problem's CP-SAT model (data -> ``CpModel``) for users to extend, when it has one.
    build_cp_model: Callable[[Any], Any] | None = None

    def sense_of(self, data: Any) -> Literal["max", "min"]:
        """The optimisation direction of one instance."""
        return self.instance_sense(data) if self.instance_sense is not None else self.sense

    def method(self, name: str, data: Any) -> Method:
        """The method called ``name`` if it exists and fits ``data``; a UsageError listing what does."""
        fitting = [m for m in self.methods.values() if m.applies(data) is None]
        if name not in self.methods:
            raise UsageError(
                f"unknown method {name!r} for problem {self.name!r}; "
                f"methods that apply to this instance: auto, {', '.join(m.name for m in fitting)}"
            )
        reason = self.methods[name].applies(data)
        if reason is not None:
            raise UsageError(
                f"method {name!r} does not apply to this {self.name} instance ({reason}); "
                f"methods that apply: auto, {', '.join(m.name for m in fitting)}"
            )
        return self.methods[name]


_PROBLEMS: dict[str, ProblemSpec] = {}


def register(spec: ProblemSpec) -> ProblemSpec:
    _PROBLEMS[spec.name] = spec
    return spec


def problems() -> Mapping[str, ProblemSpec]:
    """All known problems, by name (importing the method tables registers them)."""
    import allocopt.methods  # noqa: F401  (registers every problem)

    return _PROBLEMS


def problem(name: str) -> ProblemSpec:
    known = problems()
    if name not in known:
        raise UsageError(f"unknown problem {name!r}; known problems: {', '.join(sorted(known))}")
    return known[name]
