"""The exact assignment method against the OR-Library optima (assign100..800, assignp800)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import INSTANCES, instance_files

import allocopt

ASSIGN = instance_files(INSTANCES / "assignment" / "orlib")


def test_all_orlib_assignment_files_are_there() -> None:
    assert [p.stem for p in ASSIGN] == [f"assign{n}00" for n in range(1, 9)] + ["assignp800"]


@pytest.mark.parametrize("path", ASSIGN, ids=lambda p: p.stem)
def test_exact_equals_orlib_optimum(path: Path) -> None:
    inst = allocopt.load(path)
    result = allocopt.solve(inst, method="exact")
    assert result.status == "optimal" and result.verified
    assert result.objective == inst.reference_optimum
    assert allocopt.solve(inst).method == "exact"
