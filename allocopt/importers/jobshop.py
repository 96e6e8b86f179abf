"""Job-shop benchmark files: the OR-Library / JSPLIB format and Taillard's format -> ``job_shop`` instances.

**jobshop** (OR-Library ``jobshop1.txt`` instances one per file, as JSPLIB stores them): lines starting with
``#`` are comments (JSPLIB's ``#+++`` header; the last comment line that is not a ``+++`` rule or an
``instance NAME`` line becomes part of the description); the first other line is ``n m`` (jobs, machines);
then one line per job of ``machine duration`` pairs in the job's order, machines 0-based. A job line may
hold fewer than m pairs (at least one); a job may visit a machine twice; the line count must be n.

The optimum: when a JSPLIB ``instances.json`` lies beside the file or in its parent directory (JSPLIB keeps
the files in ``instances/`` and the table at the top), the entry whose ``name`` is the file's name and whose
``jobs`` and ``machines`` agree with the file gives ``reference.optimum`` (or ``reference.lower`` /
``reference.upper`` from its ``bounds`` when the instance was open in that table). No table, no reference.

**taillard** (Taillard's 1993 files, and the bare matrices many repositories store): a header of the counts
``n m``, then the n x m processing-times matrix (row j = job j's durations in its order), then the n x m
machines matrix (row j = job j's machines in its order, **1-based**). Accepted around that:

- the labelled layout of Taillard's own files: a text line (``Nb of jobs, Nb of Machines, Time seed, Machine
  seed, Upper bound, Lower bound``) before the header line ``n m time_seed machine_seed upper lower``, and a
  ``Times`` line and a ``Machines`` line before the two matrices; the stated bounds become ``reference.upper``
  and ``reference.lower`` (``reference.optimum`` when they are equal): they are as of the file's writing;
- the bare layout: a header line of 2 to 6 numbers (only the first two are read), then the two matrices;
- several instances in one file, one after another (Taillard's ``tai15_15.txt`` holds ten): named
  ``<file stem>-<k>`` (k from 1), or the file stem when there is only one; blank lines anywhere; lines starting
  with ``#`` are comments.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from allocopt.envelope import read_json
from allocopt.errors import InstanceError
from allocopt.result import FORMAT_TAG

_RULE = re.compile(r"^\+*$")
_INSTANCE_LINE = re.compile(r"^instance\s+\S+$", re.IGNORECASE)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError(path, (), f"cannot be read: {exc}") from None


def _ints(path: Path, lineno: int, parts: list[str], what: str) -> list[int]:
    out = []
    for tok in parts:
        if not tok.isdigit():
            raise InstanceError(path, (), f"line {lineno}: expected {what} (whole numbers >= 0), got {tok!r}")
        out.append(int(tok))
    return out


def _doc(name: str, description: str, jobs: list[list[list[int]]], machines: int) -> dict[str, Any]:
    return {
        "format": FORMAT_TAG,
        "problem": "job_shop",
        "name": name,
        "description": description,
        "data": {"jobs": jobs, "machines": machines},
    }


def _jsplib_reference(path: Path, n: int, m: int) -> dict[str, Any] | None:
    """The entry of a sibling (or parent directory's) JSPLIB ``instances.json`` for this file, if any."""
    for table in (path.parent / "instances.json", path.parent.parent / "instances.json"):
        if not table.is_file() or table.resolve() == path.resolve():
            continue
        entries = read_json(table)  # refuses repeated keys, deep nesting, huge integers, with the file named
        if not isinstance(entries, list):
            continue
        for e in entries:
            if not isinstance(e, dict) or e.get("name") not in (path.name, path.stem):
                continue
            if e.get("jobs") != n or e.get("machines") != m:
                continue  # a namesake of another size is another instance
            source = f"JSPLIB instances.json (github.com/tamy0612/JSPLIB), entry {e['name']!r}"
            if isinstance(e.get("optimum"), int):
                return {"optimum": e["optimum"], "source": f"{source}: proven optimum"}
            bounds = e.get("bounds")
            if isinstance(bounds, dict):
                ref: dict[str, Any] = {k: bounds[k] for k in ("lower", "upper") if isinstance(bounds.get(k), int)}
                if ref:
                    ref["source"] = f"{source}: bounds as of that table"
                    return ref
    return None


def read_jobshop(path: Path, **options: Any) -> list[dict[str, Any]]:
    """One ``job_shop`` instance from an OR-Library / JSPLIB file (see the module docstring)."""
    if options:
        raise InstanceError(path, (), f"the jobshop importer takes no options, got {', '.join(options)}")
    text = _read_text(path)
    notes: list[str] = []
    lines: list[tuple[int, list[str]]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            note = stripped.lstrip("#").strip()
            if note and not _RULE.match(note) and not _INSTANCE_LINE.match(note):
                notes.append(note)
        elif stripped:
            lines.append((lineno, stripped.split()))
    if not lines:
        raise InstanceError(path, (), "not a job-shop file: expected a line 'n m' (jobs, machines)")
    lineno, head = lines[0]
    counts = _ints(path, lineno, head, "'n m' (jobs, machines)")
    if len(counts) != 2 or counts[0] < 1 or counts[1] < 1:
        raise InstanceError(path, (), f"line {lineno}: expected 'n m' (jobs >= 1, machines >= 1), got {head}")
    n, m = counts
    body = lines[1:]
    if len(body) != n:
        raise InstanceError(path, (), f"the header says {n} jobs, the file has {len(body)} job lines")
    jobs: list[list[list[int]]] = []
    for lineno, parts in body:
        values = _ints(path, lineno, parts, "'machine duration' pairs")
        if not values or len(values) % 2:
            raise InstanceError(
                path, (), f"line {lineno}: expected 'machine duration' pairs, got {len(values)} numbers"
            )
        ops = [[values[i], values[i + 1]] for i in range(0, len(values), 2)]
        bad = next((mk for mk, _ in ops if mk >= m), None)
        if bad is not None:
            raise InstanceError(path, (), f"line {lineno}: machine {bad} out of range 0..{m - 1} (the header says {m})")
        jobs.append(ops)
    note = f"; {notes[-1]}" if notes else ""
    doc = _doc(path.stem, f"job shop {n} jobs x {m} machines, {path.name} (OR-Library / JSPLIB format){note}", jobs, m)
    ref = _jsplib_reference(path, n, m)
    if ref is not None:
        doc["reference"] = ref
    return [doc]


def _taillard_matrix(
    path: Path, rows: list[tuple[int, list[str]]], k: int, n: int, m: int, what: str
) -> list[list[int]]:
    block = rows[k : k + n]
    if len(block) < n:
        raise InstanceError(path, (), f"file ends early: expected {n} lines of the {what} matrix")
    out = []
    for lineno, parts in block:
        values = _ints(path, lineno, parts, f"the {what} matrix")
        if len(values) != m:
            raise InstanceError(
                path, (), f"line {lineno}: expected {m} numbers in a row of the {what} matrix, got {len(values)}"
            )
        out.append(values)
    return out


def read_taillard(path: Path, **options: Any) -> list[dict[str, Any]]:
    """``job_shop`` instances from a Taillard-format file, bare or labelled (see the module docstring)."""
    if options:
        raise InstanceError(path, (), f"the taillard importer takes no options, got {', '.join(options)}")
    text = _read_text(path)
    rows = [
        (lineno, line.split())
        for lineno, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]

    def is_label(parts: list[str]) -> bool:
        return not parts[0].isdigit()

    found: list[tuple[int, int, list[list[int]], list[list[int]], list[int]]] = []
    k = 0
    while k < len(rows):
        while k < len(rows) and is_label(rows[k][1]) and not rows[k][1][0].lower().startswith(("times", "machines")):
            k += 1  # "Nb of jobs, Nb of Machines, ..." and other text before a header
        if k >= len(rows):
            break
        lineno, head = rows[k]
        counts = _ints(path, lineno, head, "a header 'n m [time_seed machine_seed upper lower]'")
        if not 2 <= len(counts) <= 6 or counts[0] < 1 or counts[1] < 1:
            raise InstanceError(path, (), f"line {lineno}: expected a header 'n m ...' (2 to 6 numbers), got {head}")
        n, m = counts[:2]
        k += 1
        if k < len(rows) and rows[k][1][0].lower().startswith("times"):
            k += 1
        times = _taillard_matrix(path, rows, k, n, m, "processing times")
        k += n
        if k < len(rows) and rows[k][1][0].lower().startswith("machines"):
            k += 1
        machines = _taillard_matrix(path, rows, k, n, m, "machines")
        k += n
        for (lineno, _), row in zip(rows[k - n : k], machines, strict=True):
            bad = next((x for x in row if not 1 <= x <= m), None)
            if bad is not None:
                raise InstanceError(
                    path, (), f"line {lineno}: machine {bad} out of range 1..{m} (Taillard's are 1-based)"
                )
        found.append((n, m, times, machines, counts[4:6] if len(counts) == 6 else []))
    if not found:
        raise InstanceError(path, (), "not a Taillard file: expected a header 'n m' and two n x m matrices")
    docs = []
    for i, (n, m, times, machines, bounds) in enumerate(found, start=1):
        name = path.stem if len(found) == 1 else f"{path.stem}-{i}"
        jobs = [
            [[mk - 1, p] for mk, p in zip(mrow, trow, strict=True)] for mrow, trow in zip(machines, times, strict=True)
        ]
        which = "" if len(found) == 1 else f", instance {i} of {len(found)}"
        doc = _doc(name, f"job shop {n} jobs x {m} machines, {path.name}{which} (Taillard format)", jobs, m)
        if bounds:
            upper, lower = bounds
            source = f"bounds stated in the header of {path.name}{which} (as of the file's writing)"
            doc["reference"] = (
                {"optimum": upper, "source": source}
                if upper == lower
                else {"lower": lower, "upper": upper, "source": source}
            )
        docs.append(doc)
    return docs
