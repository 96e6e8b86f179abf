"""A problem for the batch tests whose method can kill its own process or hang (imported by batch workers too).

Importing the module registers ``crash_test``; tests that use it unregister it afterwards so that the registry
of the rest of the suite holds only the library's problems.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from allocopt.registry import Check, Method, Outcome, ProblemSpec, SolveContext, register


@dataclass(frozen=True)
class CrashData:
    """``behaviour``: ``ok`` (answer ``value``), ``die`` (SIGKILL itself, as an engine segfault would), ``hang``,
    or ``sleep`` (answer ``value`` after ``value`` seconds, a slow but well-behaved solve)."""

    behaviour: str
    value: int


def _parse(data: Mapping[str, Any]) -> CrashData:
    return CrashData(str(data["behaviour"]), int(data["value"]))


def _check(d: CrashData, solution: Mapping[str, Any]) -> Check:
    return Check(solution.get("value") == d.value, float(d.value))


def _run(d: CrashData, ctx: SolveContext) -> Outcome:
    if d.behaviour == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if d.behaviour == "hang":
        time.sleep(3600)
    if d.behaviour == "sleep":
        time.sleep(d.value)
    return Outcome("solved", {"value": d.value}, float(d.value), float(d.value))


SPEC = ProblemSpec(
    name="crash_test",
    sense="max",
    parse=_parse,
    to_data=lambda d: {"behaviour": d.behaviour, "value": d.value},
    check=_check,
    build_model=lambda d: None,
    methods={"run": Method("run", _run, "answer, die, hang or sleep", True)},
    choose=lambda d: "run",
    describe=lambda d: f"crash test ({d.behaviour})",
)
register(SPEC)
