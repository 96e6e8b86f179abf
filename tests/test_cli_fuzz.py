"""Random documents and random mutations of valid files thrown at the command line (issue 10).

Whatever the input, ``allocopt solve``, ``validate`` and ``check`` exit with 0, 1 or 2, never with a traceback,
and write no solution for an input they refuse. The command line runs in-process (``cli.main`` with argv,
stdout and stderr captured): fast, and an exception escaping ``main`` fails the test with its traceback.
``main`` itself turns any exception into an "internal error" message (a user never sees a traceback); here
that message is a failure too, as it is a bug that a random input found.

Mutations are made on the document (replace a value, drop or add a key, empty a list or object) and on the
text (repeat a key, a byte-order mark, bytes that are not UTF-8, UTF-16, a cut, a wrong byte, nesting far
too deep, integers of thousands of digits, NaN, lone surrogates).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import INSTANCES, instance_files
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import allocopt
from allocopt import cli
from allocopt.envelope import dumps

#: ALLOCOPT_FUZZ_EXAMPLES=2000 runs a longer hunt than the suite's few seconds.
EXAMPLES = int(os.environ.get("ALLOCOPT_FUZZ_EXAMPLES", "50"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TIME_LIMIT = "0.3"  # seconds per solve: a mutated instance is solved, not necessarily well


def _seeds() -> list[Path]:
    """The smallest committed instance of each problem (up to 32 KB): the valid files that are mutated."""
    smallest: dict[str, Path] = {}
    for file in instance_files(INSTANCES):
        size = file.stat().st_size
        if size > 32_000:
            continue
        name = json.loads(file.read_text(encoding="utf-8")).get("problem")
        if name not in smallest or size < smallest[name].stat().st_size:
            smallest[name] = file
    return [smallest[k] for k in sorted(smallest)]


SEEDS = _seeds()

# ------------------------------------------------------------------------------------------ running the CLI
UNREADABLE = "allocopt: internal error"


def run(*argv: object) -> tuple[int, str]:
    """``allocopt *argv`` in-process: (exit status, stderr). An exception escaping main fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
    text = err.getvalue()
    assert "Traceback" not in text and UNREADABLE not in text, text
    return code, text


def solutions(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.solution.json"))


def solve_and_validate(folder: Path, content: bytes, record: bool = False) -> tuple[int, int]:
    """Write ``content`` as an instance file, validate it and solve it; check what the issue asks."""
    src = folder / "in" / "x.json"
    src.parent.mkdir()
    src.write_bytes(content)
    valid, why = run("validate", src)
    assert valid in (0, 2), why
    solved, why_not = run("solve", src, "--out", folder / "out", "--time-limit", TIME_LIMIT)
    assert solved in (0, 1, 2), why_not
    if valid == 2:  # an invalid input: refused by solve too, and nothing written
        assert solved == 2, why_not
        assert "x.json" in why and "x.json" in why_not
    if solved == 2:
        assert not solutions(folder), why_not
    else:
        assert valid == 0 and [p.name for p in solutions(folder)] == ["x.solution.json"]
    if record:  # how far the inputs got (pytest --hypothesis-show-statistics)
        event(f"validate {valid}, solve {solved}")
    return valid, solved


# ------------------------------------------------------------------------------------------ mutations
KEYS = ["format", "problem", "name", "data", "reference", "optimum", "x-a", "values", "weights", "capacity"]
ODD_NUMBERS = [0, 1, -1, 2, 0.5, -0.0, 1e-320, 1e308, -1e308, 2**53 + 1, 2**63, -(2**64), 10**30, 3.25, 1e16]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10),
    st.sampled_from(ODD_NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=4),
    st.sampled_from(["", "a", "x-y", "4", "allocopt/1", "allocopt/2", "knapsack", "é"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=3), inner),
    max_leaves=8,
)
#: Placeholders of texts that json.dumps cannot write, put in the document and replaced in the text.
HARD_TEXTS = {
    "@deep-99@": "[" * 99 + "]" * 99,
    "@deep-101@": "[" * 101 + "]" * 101,
    "@deep-5000@": "[" * 5000 + "]" * 5000,
    "@digits-309@": "1" + "0" * 308,  # 1e308: within the float range
    "@digits-309-beyond@": "-" + "9" * 309,  # -9.99...e308: beyond it
    "@digits-4301@": "1" + "0" * 4300,
    "@digits-20000@": "7" * 20000,
    "@nan@": "NaN",
    "@infinity@": "-Infinity",
    "@overflow@": "1e400",
    "@surrogate@": '"\\ud800x"',
    "@pair@": '"\\ud83d\\ude00"',
}
VALUES = st.one_of(JSON, JSON, st.sampled_from(sorted(HARD_TEXTS)))


def _paths(doc: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*path, i))
    return out


def mutate_document(doc: Any, data: st.DataObject) -> Any:
    """One random edit anywhere: replace a value, drop a key or item, add one, or empty a list or object."""
    paths = _paths(doc)
    path = data.draw(st.sampled_from(paths[1:] or paths), label="path")
    if not path:
        return data.draw(VALUES)
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    target, last = parent[path[-1]], path[-1]
    action = data.draw(st.sampled_from(["replace", "replace", "drop", "add", "empty"]), label="action")
    if action == "drop":
        del parent[last]
    elif action == "add" and isinstance(target, dict):
        target[data.draw(st.sampled_from(KEYS), label="key")] = data.draw(VALUES)
    elif action == "add" and isinstance(target, list):
        target.insert(data.draw(st.integers(0, len(target))), data.draw(VALUES))
    elif action == "empty" and isinstance(target, dict | list):
        target.clear()
    else:
        parent[last] = data.draw(VALUES, label="value")
    return doc


def text_of(doc: Any) -> str:
    text = dumps(doc) if isinstance(doc, dict | list) else json.dumps(doc)
    for placeholder, hard in HARD_TEXTS.items():
        text = text.replace(json.dumps(placeholder), hard)
    return text


KEY = re.compile(rb'"[^"\\]*"\s*:')


def mutate_text(content: bytes, data: st.DataObject) -> bytes:
    """One random edit of the file's bytes (or none)."""
    action = data.draw(
        st.sampled_from(["none", "none", "repeat key", "bom", "latin-1", "utf-16", "cut", "byte"]), label="text edit"
    )
    where = data.draw(st.integers(0, max(0, len(content) - 1)), label="where")
    if action == "repeat key":
        keys = list(KEY.finditer(content))
        if keys:
            key = keys[where % len(keys)]
            return content[: key.start()] + key.group() + b" null, " + content[key.start() :]
    if action == "bom":
        return b"\xef\xbb\xbf" + content
    if action == "latin-1":
        return content[:where] + b"\xe9" + content[where:]
    if action == "utf-16":
        return content.decode("utf-8").encode(data.draw(st.sampled_from(["utf-16", "utf-16-le"])))
    if action == "cut":
        return content[:where]
    if action == "byte":
        return content[:where] + bytes([data.draw(st.integers(0, 255))]) + content[where + 1 :]
    return content


# ------------------------------------------------------------------------------------------ the tests
@SETTINGS
@given(seed=st.sampled_from(SEEDS), data=st.data(), edits=st.integers(0, 2))
def test_mutated_instances_exit_0_1_or_2_and_write_nothing_when_invalid(
    seed: Path, data: st.DataObject, edits: int
) -> None:
    doc = json.loads(seed.read_text(encoding="utf-8"))
    for _ in range(edits):
        doc = mutate_document(doc, data)
    content = mutate_text(text_of(doc).encode("utf-8"), data)
    with tempfile.TemporaryDirectory() as tmp:
        solve_and_validate(Path(tmp), content, record=True)


ENVELOPES = st.fixed_dictionaries(
    {"format": st.sampled_from(["allocopt/1", "allocopt/1", "allocopt/0", "allocopt/01", "allocopt/2"])},
    optional={
        "problem": st.sampled_from(sorted(allocopt.problems())) | st.text(max_size=3),
        "name": SCALARS,
        "data": st.dictionaries(st.text(max_size=12) | st.sampled_from(KEYS), VALUES, max_size=5) | VALUES,
        "reference": JSON,
        "x-extra": VALUES,
    },
)


@SETTINGS
@given(doc=st.one_of(VALUES, ENVELOPES, ENVELOPES), data=st.data())
def test_random_documents_exit_0_1_or_2_and_write_nothing_when_invalid(doc: Any, data: st.DataObject) -> None:
    content = mutate_text(text_of(doc).encode("utf-8"), data)
    with tempfile.TemporaryDirectory() as tmp:
        solve_and_validate(Path(tmp), content, record=True)


@cache
def _solution_text(seed: Path) -> str:
    result = allocopt.solve(allocopt.load(seed), time_limit=1.0)
    return dumps(result.to_dict())


@SETTINGS
@given(seed=st.sampled_from(SEEDS), data=st.data(), edits=st.integers(0, 2))
def test_mutated_solution_files_are_validated_and_checked_without_a_traceback(
    seed: Path, data: st.DataObject, edits: int
) -> None:
    doc = json.loads(_solution_text(seed))
    for _ in range(edits):
        doc = mutate_document(doc, data)
    content = mutate_text(text_of(doc).encode("utf-8"), data)
    with tempfile.TemporaryDirectory() as tmp:
        sol = Path(tmp) / "x.solution.json"
        sol.write_bytes(content)
        valid, why = run("validate", sol)
        assert valid in (0, 2), why
        checked, why_not = run("check", seed, sol)
        assert checked in (0, 1, 2), why_not
        event(f"validate {valid}, check {checked}")
        if valid == 2:
            assert checked == 2 and "x.solution.json" in why_not, why_not


def test_the_seeds_cover_the_problems_and_are_valid() -> None:
    assert len(SEEDS) >= 10
    for seed in SEEDS:
        with tempfile.TemporaryDirectory() as tmp:
            assert solve_and_validate(Path(tmp), seed.read_bytes())[0] == 0


@pytest.mark.parametrize("placeholder", sorted(HARD_TEXTS))
def test_each_hard_text_is_refused_or_read(placeholder: str) -> None:
    """The texts the mutations use, each in a valid instance's x- key: only the harmless ones pass."""
    doc = json.loads((INSTANCES / "knapsack" / "examples" / "two-resources-01.json").read_text(encoding="utf-8"))
    doc["x-hard"] = placeholder
    with tempfile.TemporaryDirectory() as tmp:
        valid, _ = solve_and_validate(Path(tmp), text_of(doc).encode("utf-8"))
    harmless = placeholder in ("@deep-99@", "@digits-309@", "@pair@")
    assert valid == (0 if harmless else 2)
