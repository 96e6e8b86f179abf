"""Importers: public benchmark formats -> allocopt instance documents (with their reference optima).

Each importer takes one file and returns a list of instance documents (one file may hold many
instances); ``allocopt import FORMAT FILE... --out DIR`` writes each as ``DIR/<name>.json``. An importer
with ``files`` set reads that many files together as one input (``mohaf``: requests and resources).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allocopt.errors import UsageError
from allocopt.importers import orlib, orlib_assignment, pisinger


def _read_cats(path: Path, **options: Any) -> list[dict[str, Any]]:
    from allocopt.importers.cats import read_cats

    return read_cats(path, **options)


def _read_jooken(path: Path, **options: Any) -> list[dict[str, Any]]:
    from allocopt.importers.jooken import read_jooken

    return read_jooken(path, **options)


def _read_mohaf(requests: Path, resources: Path, **options: Any) -> list[dict[str, Any]]:
    from allocopt.importers.mohaf import read_mohaf

    return read_mohaf(requests, resources, **options)


def _read_jobshop(path: Path, **options: Any) -> list[dict[str, Any]]:
    from allocopt.importers.jobshop import read_jobshop

    return read_jobshop(path, **options)


def _read_taillard(path: Path, **options: Any) -> list[dict[str, Any]]:
    from allocopt.importers.jobshop import read_taillard

    return read_taillard(path, **options)


def _read_safetensors(path: Path, **options: Any) -> list[dict[str, Any]]:
    from allocopt.importers.safetensors_model import read_safetensors  # numpy-heavy; only when asked

    return [read_safetensors(path, **options)]


@dataclass(frozen=True)
class Importer:
    """A named reader; ``options`` lists the keyword settings it accepts (command-line flags).

    ``files``: None when each file is read on its own (``read(file)``); else the roles of the files that
    together form the input, in order (``read(*files)``), e.g. ``("REQUESTS.csv", "RESOURCES.csv")``.
    """

    name: str
    read: Callable[..., list[dict[str, Any]]]
    summary: str
    options: frozenset[str] = field(default_factory=frozenset)
    files: tuple[str, ...] | None = None


IMPORTERS: dict[str, Importer] = {
    imp.name: imp
    for imp in (
        Importer(
            "pisinger",
            pisinger.read_plain,
            "Pisinger large-scale / artemisa 0/1 knapsack file: 'n C', n lines 'v w', optional optimal x line; "
            "optimum from the sibling '<dir>-optimum/<name>' file when present",
        ),
        Importer(
            "pisinger-csv",
            pisinger.read_csv,
            "Pisinger's original CSV files (many instances each, with z and the optimal x)",
        ),
        Importer(
            "jooken",
            _read_jooken,
            "Jooken et al. (2022) hard 0/1 knapsack instance: <name>/test.in ('n', n lines 'id profit weight', "
            "capacity); the optimum from combo's outp.out beside it (checked) or ../../optima.csv, combo's time "
            "from time.out",
        ),
        Importer(
            "orlib-mknap",
            orlib.read_mknap,
            "OR-Library mknap1 / mknapcb multi-dimensional knapsack files (K problems, 'n m opt' each)",
        ),
        Importer(
            "orlib-gap",
            orlib_assignment.read_gap,
            "OR-Library gap1..gap12 (maximise) and gapa..gapd (minimise) generalized assignment files, with optima",
        ),
        Importer(
            "orlib-assign",
            orlib_assignment.read_assign,
            "OR-Library assign100..assign800 (dense) and assignp800 (sparse) linear assignment files, with optima",
        ),
        Importer(
            "cats",
            _read_cats,
            "CATS combinatorial-auction files (goods, bids, dummy goods): each dummy good's bids become one "
            "XOR bidder; the optimum from a sibling table when known",
        ),
        Importer(
            "mohaf",
            _read_mohaf,
            "MOHAF requests and resources CSV files -> an assignment instance (sense max) of MOHAF's "
            "multi-criteria scores, null for incompatible pairs",
            frozenset({"weights"}),
            files=("REQUESTS.csv", "RESOURCES.csv"),
        ),
        Importer(
            "jobshop",
            _read_jobshop,
            "OR-Library / JSPLIB job-shop file ('#' comments, 'n m', one line of 'machine duration' pairs per job, "
            "0-based); the optimum from a sibling or parent-directory JSPLIB instances.json when present",
        ),
        Importer(
            "taillard",
            _read_taillard,
            "Taillard job-shop file ('n m' header, times matrix, machines matrix 1-based; bare or with Taillard's "
            "labels and seeds/bounds header; several instances per file), header bounds as the reference",
        ),
        Importer(
            "safetensors",
            _read_safetensors,
            "a model's .safetensors weights -> a bit_allocation instance: every 2-D float tensor quantized for real "
            "(round-to-nearest, min-max per group) at each --bits width; needs the safetensors package",
            frozenset({"bits", "group_size", "sensitivity", "exclude", "average_bits"}),
        ),
    )
}


def importer(name: str) -> Importer:
    if name not in IMPORTERS:
        raise UsageError(f"unknown import format {name!r}; formats: {', '.join(IMPORTERS)}")
    return IMPORTERS[name]
