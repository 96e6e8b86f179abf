"""Pisinger's 0/1 knapsack instances, in the two layouts the public copies use.

- ``read_plain``: the artemisa / large-scale layout: ``n C`` then n lines ``v w`` (profit first), and in
  the large-scale files a last line with an optimal 0/1 vector. The optimum comes from the sibling
  ``<dir>-optimum/<name>`` file when there is one (and must agree with the vector's value), else from
  the vector.
- ``read_csv``: Pisinger's own CSV files: blocks ``name``, ``n``, ``c``, ``z`` (the optimum), ``time``,
  then ``i,p,w,x`` lines, separated by ``-----``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from allocopt.errors import InstanceError
from allocopt.importers.tokens import TokenReader, as_json_number
from allocopt.result import FORMAT_TAG


def _instance(
    name: str,
    values: list[float],
    weights: list[float],
    capacity: float,
    optimum: float | None,
    source: str,
    description: str,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
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
    if optimum is not None:
        doc["reference"] = {"optimum": as_json_number(optimum), "source": source}
    return doc


def read_plain(path: Path) -> list[dict[str, Any]]:
    """One instance from an artemisa-layout file (see the module docstring)."""
    tokens = TokenReader(path)
    n = tokens.integer("the number of items n")
    capacity = tokens.number("the capacity C")
    values, weights = [], []
    for i in range(n):
        values.append(tokens.number(f"the profit of item {i + 1}"))
        weights.append(tokens.number(f"the weight of item {i + 1}"))
    x: list[int] | None = None
    if tokens.remaining() == n:
        x = [tokens.integer(f"x of item {i + 1} in the optimal solution line") for i in range(n)]
    elif tokens.remaining():
        raise InstanceError(
            path, (), f"{tokens.remaining()} tokens after the items; expected none or {n} (an optimal 0/1 vector)"
        )
    optimum, source = None, None
    if x is not None:
        if sum(w * t for w, t in zip(weights, x, strict=True)) > capacity:
            raise InstanceError(path, (), "the solution line exceeds the capacity")
        optimum = sum(v * t for v, t in zip(values, x, strict=True))
        source = f"Pisinger {path.name}: value of the optimal solution vector in the file"
    stated = path.parent.parent / f"{path.parent.name}-optimum" / path.name
    if stated.is_file():
        text = stated.read_text(encoding="utf-8").strip().replace(",", ".")
        try:
            value = float(text)
        except ValueError:
            raise InstanceError(stated, (), f"expected one number (the optimum), got {text[:40]!r}") from None
        if optimum is not None and abs(value - optimum) > 1e-6 * max(1.0, abs(value)):
            raise InstanceError(
                stated, (), f"stated optimum {value} differs from the solution vector's value {optimum}"
            )
        optimum = value
        source = f"Pisinger {path.name} (stated optimum, {stated.parent.name}/{stated.name})"
    description = f"0/1 knapsack, n={n}, from {path.name}"
    return [_instance(path.name, values, weights, capacity, optimum, source or "", description)]


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Every instance of a Pisinger CSV file (see the module docstring)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError(path, (), f"cannot be read: {exc}") from None
    docs: list[dict[str, Any]] = []
    block: list[tuple[int, str]] = []
    for lineno, line in enumerate([*lines, "-----"], start=1):
        if line.strip().startswith("-----"):
            if block:
                docs.append(_csv_block(path, block))
            block = []
        elif line.strip():
            block.append((lineno, line.strip()))
    if not docs:
        raise InstanceError(path, (), "no instance found (expected blocks 'name / n / c / z / time / i,p,w,x')")
    return docs


def _csv_block(path: Path, block: list[tuple[int, str]]) -> dict[str, Any]:
    name = block[0][1]
    header: dict[str, float] = {}
    for lineno, line in block[1:5]:
        key, _, value = line.partition(" ")
        try:
            header[key] = float(value)
        except ValueError:
            raise InstanceError(path, (), f"line {lineno}: expected '{key} <number>', got {line!r}") from None
    for key in ("n", "c", "z"):
        if key not in header:
            raise InstanceError(path, (), f"instance {name!r}: missing the '{key}' line")
    n = int(header["n"])
    rows = block[5:]
    if len(rows) != n:
        raise InstanceError(path, (), f"instance {name!r}: expected {n} item lines, got {len(rows)}")
    values, weights = [], []
    for lineno, line in rows:
        parts = line.split(",")
        try:
            _, p, w, _x = (float(t) for t in parts)
        except ValueError:
            raise InstanceError(path, (), f"line {lineno}: expected 'i,p,w,x', got {line!r}") from None
        values.append(p)
        weights.append(w)
    # One public copy lost the leading 'k' of 'knapPI_...'.
    if name.startswith("napPI_"):
        name = "k" + name
    description = f"0/1 knapsack, n={n}, from {path.name}"
    return _instance(
        name, values, weights, header["c"], header["z"], f"Pisinger {path.name}, instance {name} (z line)", description
    )
