"""Shared helpers for the tests. Tests read only what is committed in this repository."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
INSTANCES = REPO / "instances"
DATA = Path(__file__).resolve().parent / "data"


def instance_files(folder: Path) -> list[Path]:
    """The instance files below ``folder`` (solution files written beside them by a solve are not instances)."""
    return sorted(p for p in folder.rglob("*.json") if not p.name.endswith(".solution.json"))


def instance_doc(problem: str, data: dict[str, Any], name: str = "t") -> dict[str, Any]:
    return {"format": "allocopt/1", "problem": problem, "name": name, "data": data}


def brute_force_knapsack(data: dict[str, Any]) -> float | None:
    """Optimum by enumerating every take vector (tiny instances only); None when infeasible."""
    values = data["values"]
    n = len(values)
    weights = data["weights"]
    rows = weights if weights and isinstance(weights[0], list) else [weights]
    caps = data["capacity"] if isinstance(data["capacity"], list) else [data["capacity"]]
    copies = data.get("copies", [1] * n)
    groups = data.get("groups")
    exactly = data.get("choose") == "exactly_one"
    best = None
    for take in itertools.product(*(range(c + 1) for c in copies)):
        if any(sum(r[i] * take[i] for i in range(n)) > cap + 1e-9 for r, cap in zip(rows, caps, strict=True)):
            continue
        if groups is not None:
            count: dict[int, int] = {g: 0 for g in groups}
            for i in range(n):
                count[groups[i]] += take[i] > 0
            if any(c > 1 for c in count.values()) or (exactly and any(c != 1 for c in count.values())):
                continue
        value = sum(values[i] * take[i] for i in range(n))
        best = value if best is None else max(best, value)
    return best


def random_knapsack(
    rng: np.random.Generator,
    n: int,
    m: int = 1,
    bounded: bool = False,
    groups: str | None = None,
    integral: bool = True,
) -> dict[str, Any]:
    """A random tiny knapsack of the requested variant (``groups``: None, 'at_most_one', 'exactly_one')."""

    def nums(size: int, hi: int) -> list[Any]:
        if integral:
            return [int(x) for x in rng.integers(0, hi + 1, size)]
        return [round(float(x), 3) for x in rng.uniform(0, hi, size)]

    values = nums(n, 30)
    rows = [nums(n, 20) for _ in range(m)]
    caps = [max(0, int(sum(r) * rng.uniform(0.2, 0.7))) for r in rows]
    data: dict[str, Any] = {
        "values": values,
        "weights": rows[0] if m == 1 else rows,
        "capacity": caps[0] if m == 1 else caps,
    }
    if bounded:
        data["copies"] = [int(c) for c in rng.integers(0, 4, n)]
    if groups:
        data["groups"] = [int(g) for g in rng.integers(0, max(1, n // 2), n)]
        data["choose"] = groups
    return data


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)
