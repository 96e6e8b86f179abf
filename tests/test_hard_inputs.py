"""Hard inputs (issue 10): what Python's JSON reader crashes on or lets through silently, and how each is refused.

Deep nesting, repeated keys, text that is not UTF-8 (or not Unicode), integers of thousands of digits and
numbers beyond the float range: each is refused naming the file and the reason (and the JSON path, or the
line and column, where it is); a UTF-8 byte-order mark is accepted. The cheap checks that keep large valid
files fast are compared with plain references on random documents.
"""

from __future__ import annotations

import copy
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import INSTANCES, instance_doc
from hypothesis import given, settings
from hypothesis import strategies as st

import allocopt
from allocopt import cli, envelope
from allocopt.envelope import MAX_DEPTH, dumps, instance_to_dict, save_instance
from allocopt.errors import InstanceError

GOOD = instance_doc("knapsack", {"values": [3, 2, 4], "weights": [2, 2, 3], "capacity": 4})
GOOD_TEXT = json.dumps(GOOD)
BIT = instance_doc(
    "bit_allocation",
    {
        "units": [
            {"name": "a", "size": 10, "options": [{"bits": 2, "error": 1.0}, {"bits": 4, "error": 0.5}]},
            {"name": "b", "size": 20, "options": [{"bits": 2, "error": 2.0}, {"bits": 4, "error": 0.25}]},
        ],
        "budget": {"average_bits": 3},
    },
)


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def refusal(path: Path) -> str:
    """The message ``allocopt.load`` (or ``load_solution``) refuses ``path`` with."""
    with pytest.raises(InstanceError) as info:
        if path.name.endswith(".solution.json"):
            allocopt.load_solution(path)
        else:
            allocopt.load(path)
    return str(info.value)


def nested(depth: int) -> str:
    """``depth`` lists inside one another, as JSON text."""
    return "[" * depth + "]" * depth


def with_extra(value_text: str, doc: dict | None = None) -> str:
    """``doc`` (GOOD) with an ``x-hard`` key whose value is ``value_text``, as JSON text."""
    return json.dumps({**(doc or GOOD), "x-hard": "@"}).replace('"@"', value_text)


def in_deep_stack(frames: int, run: Any) -> Any:
    """``run()`` called below ``frames`` more Python frames: what is accepted must not need the whole stack."""
    return run() if frames == 0 else in_deep_stack(frames - 1, run)


# ------------------------------------------------------------------------------------------ deep nesting
def test_nesting_up_to_the_limit_is_read_written_and_copied_with_stack_to_spare(tmp_path: Path) -> None:
    # the document is level 1, so its x-hard value may nest MAX_DEPTH - 1 levels
    src = write(tmp_path, "deep.json", with_extra(nested(MAX_DEPTH - 1)))

    def round_trip() -> None:
        inst = allocopt.load(src)
        save_instance(inst, tmp_path / "again.json")
        again = allocopt.load(tmp_path / "again.json")
        assert instance_to_dict(again) == instance_to_dict(copy.deepcopy(inst))
        result = allocopt.solve(src, method="milp")
        assert result.status == "optimal"

    in_deep_stack(500, round_trip)
    assert envelope._shape(json.loads(src.read_text(encoding="utf-8"))).depth == MAX_DEPTH


@pytest.mark.parametrize("depth", [MAX_DEPTH, 950, 100_000], ids=["just-over", "python-can-parse", "python-cannot"])
def test_nesting_deeper_than_the_limit_is_refused_with_line_and_column(tmp_path: Path, depth: int) -> None:
    text = with_extra(nested(depth))
    # the document's "{" is level 1, so the MAX_DEPTH-th "[" of x-hard is one level too deep (columns from 1)
    column = text.index('"x-hard": [') + len('"x-hard": ') + MAX_DEPTH
    message = refusal(write(tmp_path, "deep.json", text))
    assert message == (
        f"{tmp_path / 'deep.json'}: (document): arrays and objects nested more than {MAX_DEPTH} levels deep "
        f"(line 1, column {column}); allocopt reads at most {MAX_DEPTH}"
    )


def test_depth_is_found_on_its_line_and_brackets_in_strings_do_not_count(tmp_path: Path) -> None:
    brackets = '"' + "[{" * 300 + '"'  # a string: no nesting at all
    pretty = json.dumps({**GOOD, "x-s": brackets, "x-deep": json.loads(nested(MAX_DEPTH - 1))}, indent=1)
    allocopt.load(write(tmp_path, "ok.json", pretty))
    pretty = json.dumps({**GOOD, "x-s": brackets, "x-deep": json.loads(nested(MAX_DEPTH))}, indent=1)
    line = pretty.splitlines().index(' "x-deep": [') + 1 + MAX_DEPTH - 1  # one bracket a line
    assert f"(line {line}, column " in refusal(write(tmp_path, "deep.json", pretty))


def test_solution_files_are_held_to_the_same_depth(tmp_path: Path) -> None:
    result = allocopt.solve(GOOD, method="milp")
    doc = result.to_dict()
    sol = write(tmp_path, "t.solution.json", json.dumps({**doc, "x-deep": "@"}).replace('"@"', nested(MAX_DEPTH)))
    assert "nested more than 100 levels deep" in refusal(sol)
    sol = write(tmp_path, "u.solution.json", json.dumps({**doc, "x-deep": "@"}).replace('"@"', nested(99)))
    assert allocopt.load_solution(sol)["objective"] == 5


# ------------------------------------------------------------------------------------------ repeated keys
@pytest.mark.parametrize(
    ("doc", "old", "new", "path"),
    [
        (GOOD, '"name": "t"', '"name": "t", "name": "u"', "name"),
        (GOOD, '"capacity": 4', '"capacity": 4, "capacity": 5', "data.capacity"),
        (GOOD, '"capacity": 4', '"capacity" : 4, "capacity"\n:\t5', "data.capacity"),  # space before the colons
        (BIT, '"bits": 4, "error": 0.5', '"bits": 4, "error": 0.5, "bits": 8', "data.units[0].options[1].bits"),
        ({**GOOD, "reference": {"optimum": 5}}, '"optimum": 5', '"optimum": 5, "optimum": 6', "reference.optimum"),
        ({**GOOD, "x-a": {"b": [1, {"c": 2}]}}, '"c": 2', '"c": 2, "c": 2', "x-a.b[1].c"),
        # colons, escaped quotes and backslashes in strings: the cheap count of the text's colons is then too
        # high, and the exact count is taken
        ({**GOOD, "description": 'a:"b":\\'}, '"capacity": 4', '"capacity": 4, "capacity": 5', "data.capacity"),
        # an object dropped by a repeated key above it: the repeat above is the one reported
        ({**GOOD, "x-a": 1}, '"x-a": 1', '"x-a": {"b": 1, "b": 2}, "x-a": 1', "x-a"),
    ],
)
def test_a_repeated_key_is_refused_naming_it_and_its_path(
    tmp_path: Path, doc: dict, old: str, new: str, path: str
) -> None:
    text = json.dumps(doc)
    assert text.count(old) == 1
    message = refusal(write(tmp_path, "dup.json", text.replace(old, new)))
    key = path.rsplit(".", 1)[-1].split("[")[0]
    assert message == f"{tmp_path / 'dup.json'}: {path}: key {key!r} appears more than once in its object (keep one)"


def test_a_repeated_key_in_a_solution_file_is_refused(tmp_path: Path) -> None:
    text = dumps(allocopt.solve(GOOD, method="milp").to_dict())
    sol = write(tmp_path, "t.solution.json", text.replace('"take": [', '"take": [1, 1, 0], "take": ['))
    assert "solution.take: key 'take' appears more than once" in refusal(sol)


@pytest.mark.parametrize(
    "extra",
    [
        {"description": "colons: a:b, c: d", "x-url": "https://example.org:8080/a"},
        {"description": 'quotes \\" and "quoted: text"', "x-k:ey": {"a:": 1, ":b": 2}},
        {"description": "a backslash at the end \\", "x-\\": ["\\\\:", '\\":']},
        {"description": "\u00e9\u4e2d\U0001f600 : \\u0041"},
    ],
)
def test_colons_quotes_and_backslashes_in_strings_are_no_repeated_keys(tmp_path: Path, extra: dict) -> None:
    doc = {**GOOD, **extra}
    for text in (
        json.dumps(doc),
        json.dumps(doc, ensure_ascii=False, indent=2),
        json.dumps(doc, separators=(",", ":")),
    ):
        assert allocopt.load(write(tmp_path, "ok.json", text)).description == doc["description"]
        assert envelope.read_json(tmp_path / "ok.json") == doc


KEYS = st.text(alphabet=st.sampled_from('ab:"\\ {}[]\u00e9'), max_size=4)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**400), 10**400),
    st.sampled_from([0, 1.5, -0.0, 2**1024 - 2**970 - 1, 2**1024 - 2**970, math.nan, math.inf, -math.inf, 1e308]),
    st.text(alphabet=st.sampled_from('x:"\\[]{},'), max_size=5),
)
DOCS = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=25
)


def _reference(doc: Any) -> tuple[int, int]:
    """(depth, keys) of ``doc``, recursively: the plain definition."""
    if isinstance(doc, dict):
        inner = [_reference(v) for v in doc.values()]
        return 1 + max((d for d, _ in inner), default=0), len(doc) + sum(k for _, k in inner)
    if isinstance(doc, list):
        inner = [_reference(v) for v in doc]
        return 1 + max((d for d, _ in inner), default=0), sum(k for _, k in inner)
    return 0, 0


@settings(max_examples=300, deadline=None)
@given(doc=DOCS, indent=st.sampled_from([None, 0, 2]), seps=st.sampled_from([(", ", ": "), (",", ":"), (" ,", " : ")]))
def test_the_cheap_shape_and_key_count_agree_with_plain_definitions(doc: Any, indent: int | None, seps: tuple) -> None:
    depth, keys = _reference(doc)
    shape = envelope._shape(doc)
    assert (shape.depth, shape.keys) == (depth, keys)
    if next(envelope._non_finite(doc), None) is not None:
        assert not shape.finite
    text = json.dumps(doc, indent=indent, separators=seps, ensure_ascii=indent is None)
    assert envelope._keys_in_text(text) == keys
    assert text.count(":") >= keys


#: A JSON string (in valid JSON text, scanning from the left finds exactly its strings), and whether it is a key.
STRING = re.compile(r'"(?:[^"\\]|\\.)*"(\s*:)?')


@settings(max_examples=200, deadline=None)
@given(doc=st.dictionaries(KEYS, DOCS, min_size=1, max_size=4), data=st.data())
def test_a_repeated_key_anywhere_is_found(tmp_path_factory: pytest.TempPathFactory, doc: dict, data: Any) -> None:
    text = json.dumps(doc)
    keys = [m for m in STRING.finditer(text) if m.group(1)]
    chosen = data.draw(st.sampled_from(keys))
    repeated = text[: chosen.start()] + chosen.group() + " 0, " + text[chosen.start() :]
    path = write(tmp_path_factory.mktemp("dup"), "d.json", repeated)
    with pytest.raises(InstanceError, match="appears more than once in its object") as info:
        envelope.read_json(path)
    assert info.value.path[-1] == json.loads(text[chosen.start() : chosen.end(1) - 1].rstrip())


# ------------------------------------------------------------------------------------------ encodings
def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    src = write(tmp_path, "bom.json", b"\xef\xbb\xbf" + GOOD_TEXT.encode("utf-8"))
    assert allocopt.load(src).data.n == 3
    code = cli.main(["solve", str(src), "--method", "milp"])
    assert code == 0
    written = (tmp_path / "bom.solution.json").read_bytes()
    assert not written.startswith(b"\xef\xbb\xbf")  # what allocopt writes has none
    sol = write(tmp_path, "c.solution.json", b"\xef\xbb\xbf" + written)
    assert allocopt.load_solution(sol)["objective"] == 5


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            GOOD_TEXT.replace('"t"', '"\xe9"').encode("latin-1"),
            "(document): not UTF-8 text (invalid continuation byte at byte",
        ),
        (
            b"\xef\xbb\xbf" + GOOD_TEXT.replace('"t"', '"\xe9"').encode("latin-1"),
            "not UTF-8 text (invalid continuation",
        ),
        (GOOD_TEXT.encode("utf-16"), "not UTF-8 text: it starts with a UTF-16 byte-order mark"),
        (GOOD_TEXT.encode("utf-32"), "not UTF-8 text: it starts with a UTF-32 byte-order mark"),
        (GOOD_TEXT.encode("utf-16-le"), "it holds NUL characters: UTF-16 or UTF-32 rather than UTF-8?"),
        (b"\xff" * 3, "not UTF-8 text (invalid start byte at byte 0)"),
        (b"", "invalid JSON: Expecting value (line 1, column 1)"),
    ],
    ids=["latin-1", "bom-then-latin-1", "utf-16", "utf-32", "utf-16-no-bom", "binary", "empty"],
)
def test_text_that_is_not_utf8_is_refused_saying_so(tmp_path: Path, content: bytes, words: str) -> None:
    message = refusal(write(tmp_path, "enc.json", content))
    assert message.startswith(f"{tmp_path / 'enc.json'}: (document): ") and words in message, message


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ('"name": "t"', '"name": "t\\ud800"', "name"),
        ('"name": "t"', '"name": "\\udc00t"', "name"),
        ('"name": "t"', '"name": "t", "x-\\ud83d": 1', "x-\ud83d"),  # in a key (a high half without its low half)
        ('"name": "t"', '"name": "t", "x-a": [0, ["\\ud83d\\ud83d\\ude00"]]', "x-a[1][0]"),
    ],
)
def test_a_lone_surrogate_is_refused_with_its_path(tmp_path: Path, old: str, new: str, path: str) -> None:
    message = refusal(write(tmp_path, "s.json", GOOD_TEXT.replace(old, new)))
    assert message.startswith(
        f"{tmp_path / 's.json'}: {path}: expected Unicode text, got a string with a lone surrogate"
    )


def test_surrogate_pairs_and_escaped_backslashes_are_fine(tmp_path: Path) -> None:
    text = GOOD_TEXT.replace('"name": "t"', '"name": "\\ud83d\\ude00 \\\\ud800 \\\\\\ud83d\\ude00"')
    assert allocopt.load(write(tmp_path, "ok.json", text)).name == "\U0001f600 \\ud800 \\\U0001f600"


# ------------------------------------------------------------------------------------------ big numbers
LIMIT = 2**1024 - 2**970  # the smallest integer without a float64 value
BEYOND = "expected a number within the float range (about ±1.8e308)"


@pytest.mark.parametrize(
    ("literal", "words"),
    [
        ("1" + "0" * 5000, "got an integer of 5001 digits"),  # more digits than Python converts
        ("-" + "9" * 4301, "got an integer of 4301 digits"),
        ("1" + "0" * 400, "got an integer of 401 digits"),
        (str(LIMIT), "got an integer of 309 digits"),
    ],
)
def test_integers_beyond_the_float_range_are_refused_with_their_path(tmp_path: Path, literal: str, words: str) -> None:
    message = refusal(write(tmp_path, "n.json", GOOD_TEXT.replace('"capacity": 4', f'"capacity": {literal}')))
    assert (
        message
        == f"{tmp_path / 'n.json'}: data.capacity: expected a number within the float range (about ±1.8e308), {words}"
    )
    message = refusal(write(tmp_path, "x.json", with_extra(f'[1, {{"a": {literal}}}]')))
    assert f"x.json: x-hard[1].a: expected a number within the float range (about ±1.8e308), {words}" in message


def test_the_largest_integers_with_a_float_value_are_read(tmp_path: Path) -> None:
    text = with_extra(f"[{LIMIT - 1}, {-(LIMIT - 1)}, 1e308, {'9' * 300}]")
    assert allocopt.load(write(tmp_path, "ok.json", text)).extras["x-hard"][0] == LIMIT - 1


def test_more_digits_allowed_by_the_user_are_still_beyond_the_float_range(tmp_path: Path) -> None:
    src = write(tmp_path, "n.json", GOOD_TEXT.replace('"capacity": 4', '"capacity": ' + "7" * 6000))
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # unlimited: json.loads then reads the integer
    try:
        assert "data.capacity: expected a number within the float range (about ±1.8e308), got an integer of 6000" in (
            refusal(src)
        )
    finally:
        sys.set_int_max_str_digits(before)


def test_numbers_beyond_the_float_range_are_refused_in_solution_files_and_from_python(tmp_path: Path) -> None:
    text = dumps({**allocopt.solve(GOOD, method="milp").to_dict(), "objective": "@"})
    sol = write(tmp_path, "t.solution.json", text.replace('"@"', "1" + "0" * 400))
    assert "objective: expected a number within the float range (about ±1.8e308), got an integer of 401" in refusal(sol)
    sol = write(tmp_path, "u.solution.json", text.replace('"@"', "1e400"))
    assert "objective: expected a finite number, got NaN or infinity" in refusal(sol)
    with pytest.raises(InstanceError, match=r"data\.values\[1\]: .* got an integer of 5001 digits"):
        allocopt.instance_from_dict({**GOOD, "data": {**GOOD["data"], "values": [1, 10**5000, 3]}})
    with pytest.raises(InstanceError, match=r"reference\.optimum: .* got an integer of 400 digits"):
        allocopt.instance_from_dict({**GOOD, "reference": {"optimum": 10**399}})


@pytest.mark.parametrize(
    ("fmt", "words"),
    [
        ("allocopt/\u00b2", "format: expected 'allocopt/1', got \"allocopt/\\u00b2\""),
        ("allocopt/" + "9" * 5000, "is newer than this allocopt understands"),
        ("allocopt/" + "0" * 5000 + "2", "is newer than this allocopt understands"),
    ],
)
def test_odd_format_versions_are_refused(fmt: str, words: str) -> None:
    with pytest.raises(InstanceError) as info:
        allocopt.instance_from_dict({**GOOD, "format": fmt}, source="v.json")
    assert str(info.value).startswith("v.json: format: ") and words in str(info.value)
    assert allocopt.instance_from_dict({**GOOD, "format": "allocopt/" + "0" * 5000 + "1"}).name == "t"


# ------------------------------------------------------------------------------------------ the command line
def test_the_command_line_refuses_each_hard_input_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    files = {
        "deep.json": with_extra(nested(100_000)),
        "repeated.json": GOOD_TEXT.replace('"capacity": 4', '"capacity": 4, "capacity": 5'),
        "latin1.json": GOOD_TEXT.replace('"t"', '"\xe9"').encode("latin-1"),
        "digits.json": GOOD_TEXT.replace('"capacity": 4', '"capacity": 1' + "0" * 5000),
        "float-range.json": GOOD_TEXT.replace('"capacity": 4', '"capacity": 1' + "0" * 400),
        "surrogate.json": GOOD_TEXT.replace('"name": "t"', '"name": "\\ud800"'),
    }
    reasons = {
        "deep.json": "(document): arrays and objects nested more than 100 levels deep (line 1, column",
        "repeated.json": "data.capacity: key 'capacity' appears more than once",
        "latin1.json": "(document): not UTF-8 text (invalid continuation byte",
        "digits.json": f"data.capacity: {BEYOND}, got an integer of 5001 digits",
        "float-range.json": f"data.capacity: {BEYOND}, got an integer of 401 digits",
        "surrogate.json": "name: expected Unicode text, got a string with a lone surrogate",
    }
    paths = [str(write(tmp_path, name, content)) for name, content in files.items()]
    for command in ("validate", "solve"):
        proc = subprocess.run(
            [sys.executable, "-m", "allocopt", command, *paths], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        for name, reason in reasons.items():
            assert f"{tmp_path / name}: {reason}" in proc.stderr, (name, proc.stderr)
    assert not list(tmp_path.glob("*.solution.json"))


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("NaN", 2, "--option mip_gap: expected finite numbers within the float range, got 'NaN'"),
        ("1e999", 2, "--option mip_gap: expected finite numbers"),
        ("1" + "0" * 400, 2, "--option mip_gap: expected finite numbers within the float range, got '1000000000"),
        ("1" + "0" * 5000, 2, "option 'mip_gap' must be a number in [0, 1)"),  # too long for JSON: read as text
        ("0.5", 0, ""),
    ],
)
def test_hard_option_values_are_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, value: str, code: int, words: str
) -> None:
    src = write(tmp_path, "k.json", GOOD_TEXT)
    assert cli.main(["solve", str(src), "--method", "milp", "-o", f"mip_gap={value}"]) == code
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert (tmp_path / "k.solution.json").exists() == (code == 0)


def test_committed_instances_hold_no_repeated_keys_and_stay_shallow() -> None:
    """Every committed file passes the new checks (they would have been read differently before)."""
    for file in sorted(INSTANCES.rglob("*.json")):
        if file.name.endswith(".solution.json"):
            continue
        doc = envelope.read_json(file)
        assert envelope._shape(doc).depth <= 8, file


def test_a_cost_range_beyond_float64_prices_ends_the_auction_cleanly() -> None:
    """Costs near 1.7e308 once overflowed the auction's compiled price loop and killed the process."""
    doc = {"format": "allocopt/1", "problem": "assignment", "data": {"cost": [[1.7e308, 0.0], [1.0, 2.0]]}}
    result = allocopt.solve(doc, method="auction")
    assert result.status == "error" and "cost range" in result.message
    assert allocopt.solve(doc).status == "optimal"  # exact handles it


def test_a_nan_time_limit_and_a_non_numeric_mip_gap_are_usage_errors() -> None:
    doc = {"format": "allocopt/1", "problem": "knapsack", "data": {"values": [1], "weights": [1], "capacity": 1}}
    with pytest.raises(allocopt.UsageError, match="time limit"):
        allocopt.solve(doc, time_limit=float("nan"))
    with pytest.raises(allocopt.UsageError, match="mip_gap"):
        allocopt.solve(doc, method="milp", mip_gap=[1])
