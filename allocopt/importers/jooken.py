r"""Jooken, Leyman and De Causmaecker's hard 0/1 knapsack instances (EJOR 301(3), 2022), and their generator.

``read_jooken``: one instance from the repository's layout ``problemInstances/<name>/``:

- ``test.in``: ``n``, then n lines ``id profit weight``, then the capacity ``c``;
- ``outp.out`` (optional): combo's answer, the optimal profit on the first line, then one line
  ``profit weight`` per selected item (or combo's error message when it failed);
- ``time.out`` (optional): combo's running time in seconds (-1 when it failed).

The optimum comes from ``outp.out`` when its selected items are checked to be a feasible selection of
the instance's items with exactly that profit, else from ``optima.csv`` (``name,optimum``, -1 when
unknown) in the folder above ``problemInstances``; combo's time goes into ``reference.combo_seconds``.

``generate``: the class itself, reimplemented from the paper's description (seeded with numpy instead
of the authors' unseeded C++ generator, so instances match in distribution, not bit for bit). With
parameters n, c, g, f, :math:`\epsilon`, s: g - 1 groups of :math:`\lfloor (n - \lfloor n f \rfloor) / (g - 1) \rfloor`
items each, group j = 1..g-1 with profit and weight drawn independently as
:math:`\lfloor (2^{-j} + \epsilon) c + U\{1..s\} \rfloor`, and the remaining items small, profit and
weight :math:`U\{1..s\}`. Every group item is worth about its weight, and combinations that would fill
c exactly overshoot it by the noise, which is what makes the LP bound useless.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from allocopt.errors import InstanceError
from allocopt.importers.tokens import TokenReader, as_json_number
from allocopt.result import FORMAT_TAG

SOURCE = "Jooken, Leyman, De Causmaecker, EJOR 301(3) 2022, github.com/JorikJooken/knapsackProblemInstances"


def _doc(name: str, values: list[int], weights: list[int], capacity: int, description: str) -> dict[str, Any]:
    return {
        "format": FORMAT_TAG,
        "problem": "knapsack",
        "name": name,
        "description": description,
        "data": {
            "values": [as_json_number(v) for v in values],
            "weights": [as_json_number(w) for w in weights],
            "capacity": as_json_number(capacity),
        },
    }


def _combo_optimum(path: Path, values: list[int], weights: list[int], capacity: int) -> int | None:
    """The optimum of combo's ``outp.out``, after checking its items; None when combo failed."""
    lines = [ln.split() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines or len(lines[0]) != 1 or not lines[0][0].lstrip("-").isdigit():
        return None  # combo's error message instead of an answer
    optimum = int(lines[0][0])
    available = Counter(zip(values, weights, strict=True))
    total_p = total_w = 0
    for k, parts in enumerate(lines[1:], start=2):
        try:
            p, w = (int(t) for t in parts)
        except ValueError:
            raise InstanceError(path, (), f"line {k}: expected 'profit weight' of a selected item") from None
        if available[(p, w)] == 0:
            raise InstanceError(path, (), f"line {k}: no (more) item with profit {p} and weight {w} in test.in")
        available[(p, w)] -= 1
        total_p += p
        total_w += w
    if total_p != optimum or total_w > capacity:
        raise InstanceError(
            path,
            (),
            f"the selected items are worth {total_p} (stated {optimum}) and weigh {total_w} (capacity {capacity})",
        )
    return optimum


def _table_optimum(folder: Path, name: str) -> int | None:
    """The optimum of ``name`` in the optima.csv above ``problemInstances`` (None: absent or -1)."""
    for table in (folder.parent.parent / "optima.csv", folder.parent / "optima.csv"):
        if table.is_file():
            with table.open(encoding="utf-8") as fh:
                for row in csv.reader(fh):
                    if len(row) == 2 and row[0] == name:
                        try:
                            value = int(row[1])
                        except ValueError:
                            raise InstanceError(table, (), f"row {name!r}: expected an integer optimum") from None
                        return value if value >= 0 else None
    return None


def read_jooken(path: Path) -> list[dict[str, Any]]:
    """One instance: ``path`` is an instance folder or its ``test.in`` (module docstring)."""
    folder = path if path.is_dir() else path.parent
    test_in = folder / "test.in" if path.is_dir() else path
    tokens = TokenReader(test_in)
    n = tokens.integer("the number of items n")
    values, weights = [], []
    for i in range(n):
        tokens.integer(f"the id of item {i + 1}")
        values.append(tokens.integer(f"the profit of item {i + 1}"))
        weights.append(tokens.integer(f"the weight of item {i + 1}"))
    capacity = tokens.integer("the capacity c (last line)")
    if tokens.remaining():
        raise InstanceError(test_in, (), f"{tokens.remaining()} tokens after the capacity; expected none")
    name = folder.name
    doc = _doc(name, values, weights, capacity, f"0/1 knapsack, n={n}, Jooken et al. 2022 hard class ({name})")
    reference: dict[str, Any] = {}
    outp = folder / "outp.out"
    optimum = _combo_optimum(outp, values, weights, capacity) if outp.is_file() else None
    if optimum is not None:
        reference["source"] = f"{SOURCE}: combo's optimum in {name}/outp.out (selected items checked)"
    else:
        optimum = _table_optimum(folder, name)
        if optimum is not None:
            reference["source"] = f"{SOURCE}: optima.csv"
    if optimum is not None:
        reference["optimum"] = optimum
    time_out = folder / "time.out"
    if time_out.is_file():
        text = time_out.read_text(encoding="utf-8").strip()
        try:
            seconds = float(text)
        except ValueError:
            raise InstanceError(time_out, (), f"expected combo's time in seconds, got {text[:40]!r}") from None
        if seconds >= 0:
            reference["combo_seconds"] = seconds
    if reference:
        reference.setdefault("source", SOURCE)
        doc["reference"] = reference
    return [doc]


def generate(n: int, c: int, g: int, f: float, eps: float, s: int, seed: int) -> dict[str, Any]:
    """An instance of the class (module docstring) as an allocopt document, named like the paper's
    (``n_400_c_1000000_g_10_f_0.1_eps_0_s_200``) with the seed appended."""
    if n < 1 or c < 1 or g < 2 or not 0 <= f <= 1 or eps < 0 or s < 1:
        raise ValueError("expected n >= 1, c >= 1, g >= 2, 0 <= f <= 1, eps >= 0, s >= 1")
    rng = np.random.default_rng(seed)
    small = int(n * f)
    per_group = (n - small) // (g - 1)
    values: list[int] = []
    weights: list[int] = []
    for j in range(1, g):
        base = (2.0**-j + eps) * c
        for _ in range(per_group):
            values.append(int(base + int(rng.integers(1, s + 1))))
            weights.append(int(base + int(rng.integers(1, s + 1))))
    for _ in range(n - len(values)):
        values.append(int(rng.integers(1, s + 1)))
        weights.append(int(rng.integers(1, s + 1)))
    name = f"n_{n}_c_{c}_g_{g}_f_{f:g}_eps_{eps:g}_s_{s}_seed_{seed}"
    return _doc(name, values, weights, c, f"0/1 knapsack, n={n}, Jooken et al. 2022 class, generated (seed {seed})")
