"""Read, validate and write instance and solution files (FORMAT.md's envelope, version 1).

Validation happens once, here at the edge: the JSON is parsed (JSON only, nothing else), every
number is checked to be finite, the envelope and the problem's ``data`` are checked against the JSON
Schemas shipped in ``allocopt/schemas``, and the problem's own parser checks what a schema cannot
(lengths that must agree, group rules). Every error names the file, the JSON path and what was
expected.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import chain, compress, repeat
from operator import is_, itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import numpy as np
from jsonschema.exceptions import ValidationError

from allocopt.errors import DataError, InstanceError, UsageError
from allocopt.registry import ProblemSpec, problem, problems
from allocopt.result import FORMAT_TAG

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Instance:
    """A validated instance: the problem's name, its immutable data, and the envelope around it."""

    problem: str
    name: str
    data: Any
    description: str | None = None
    reference: Mapping[str, Any] | None = None
    source: Path | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> ProblemSpec:
        return problem(self.problem)

    @property
    def reference_optimum(self) -> float | tuple[float, ...] | None:
        """The reference's proven optimum: a number, or a tuple for a lexicographic problem (FORMAT.md)."""
        optimum = self.reference.get("optimum") if self.reference else None
        if isinstance(optimum, int | float) and not isinstance(optimum, bool):
            return float(optimum)
        if isinstance(optimum, list) and optimum and all(isinstance(v, int | float) for v in optimum):
            return tuple(float(v) for v in optimum)
        return None


# --------------------------------------------------------------------------------------------- schemas
@cache
def _schema(name: str) -> dict[str, Any]:
    text = resources.files("allocopt.schemas").joinpath(f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


def schema_for(problem_name: str) -> dict[str, Any]:
    """The complete JSON Schema of an instance file of ``problem_name`` (envelope with its data)."""
    problem(problem_name)
    full = json.loads(json.dumps(_schema("instance")))
    full["$id"] = f"allocopt/1/{problem_name}/instance"
    full["properties"]["problem"] = {"const": problem_name}
    full["properties"]["data"] = _schema(problem_name)
    return full


def _validate(doc: Any, schema: Mapping[str, Any], file: str | None, prefix: tuple[str | int, ...]) -> None:
    skeleton = _skeleton(doc, [schema])
    validator = _Validator(schema)
    errors = list(validator.iter_errors(skeleton))
    # An unknown key is reported first: a typo in a key name also makes a required key look missing.
    unknown = [e for e in errors if e.validator == "additionalProperties"]
    error = unknown[0] if unknown else _most_specific(errors)
    if error is None:
        return
    path: tuple[str | int, ...] = (*prefix, *_document_path(skeleton, error.absolute_path))
    if unknown:
        path = (*path, _unknown_keys(error)[0])
    raise InstanceError(file, path, _expected(error))


# ------------------------------------------------------------------------------ long lists, checked fast
# jsonschema needs ~30-40 s for a list of 10^6 numbers or of 10^5 units of 8 options, so it is shown a
# *skeleton* of the document instead, in which every long list is shortened to its first
# max(_KEEP, minItems) items and the items that a columnar pass (numpy, and C-speed loops over columns of
# values) could not prove valid. jsonschema's errors for the skeleton are its errors for the document
# (item numbers mapped back by _document_path) less some that can never be the one _validate reports:
#   - an item proven valid has none;
#   - an item whose JSON type its item schema does not admit has exactly one, a 'type' error. Only the
#     first such item of a list is kept (per item schema): a later one's error comes after an equal
#     one, and _most_specific takes the first of the most specific errors.
# The leading items keep minItems as it is for the whole list and make whatever part of a shortened list
# _show prints (its first 37 characters) read as in the document. Only lists and objects under schemas
# built from the keywords below are shortened or copied; under any other (enum, $ref, allOf...) they are
# passed on whole, and jsonschema checks them item by item as before.

#: Lists at least this long are checked column by column rather than item by item by jsonschema.
_FAST_LIST_MIN = 64
#: How many leading items a shortened list always keeps (at least 38 characters of JSON).
_KEEP = 20

_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples", "default"})
#: Keywords that constrain instances of one JSON type only and ignore all others.
_TYPED = frozenset(
    {
        *("properties", "required", "additionalProperties", "patternProperties", "minProperties", "maxProperties"),
        *("items", "minItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"),
        *("pattern", "minLength", "maxLength"),
    }
)
_KNOWN = _ANNOTATIONS | _TYPED | {"type"}
_JSON_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
#: The JSON type of each Python type that json.loads produces ("number" also admits "integer").
_KIND = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
_BOUNDS = (
    ("minimum", np.greater_equal),
    ("maximum", np.less_equal),
    ("exclusiveMinimum", np.greater),
    ("exclusiveMaximum", np.less),
)
#: Numbers are only proven valid below this size, where float64 holds every integer exactly.
_EXACT = 2.0**53


def _is_integer(checker: Any, instance: Any) -> bool:
    """JSON Schema's "integer", limited to the whole numbers a float holds exactly (|n| <= 2**53).

    Counts, indices, durations and priorities beyond that have lost their meaning in any solver (all work
    in floats), and numpy's int64, which the problems' parsers use, fails at 2**63 (and at 1e308 written
    as a float). jsonschema's own check admits any whole number.
    """
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return -_EXACT <= instance <= _EXACT
    return isinstance(instance, float) and instance.is_integer() and abs(instance) <= _EXACT


#: The validator of every schema: JSON Schema 2020-12, with "integer" as above.
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


class _Kept(list):
    """A shortened list in a skeleton: its item i is the document's item ``index[i]``."""

    __slots__ = ("index",)


def _trivial(schema: Any) -> bool:
    return schema is True or schema == {}


def _understood(schema: Any) -> bool:
    """Whether ``schema`` uses only keywords the fast path knows the effect of."""
    if schema is True:
        return True
    if not isinstance(schema, dict) or not set(schema) <= _KNOWN:
        return False
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or not all(isinstance(t, str) and t in _JSON_TYPES for t in types):
        return False
    patterns = schema.get("patternProperties", {})
    if not isinstance(patterns, dict) or not all(_trivial(s) for s in patterns.values()):
        return False
    extra = schema.get("additionalProperties", True)
    return extra is False or _trivial(extra)


def _types(schema: Any) -> frozenset[str] | None:
    """The JSON types ``schema`` admits; None for all."""
    t = schema.get("type") if isinstance(schema, dict) else None
    if t is None:
        return None
    return frozenset([t] if isinstance(t, str) else t)


def _admits(schema: Any, kind: str | None) -> bool:
    """Whether ``schema``'s type keyword lets through some values of ``kind`` (a float may not be an integer)."""
    types = _types(schema)
    if types is None:
        return True
    return kind in types or (kind == "number" and "integer" in types)


def _by_kind(values: list) -> list[tuple[str | None, Any, list]]:
    """``values`` grouped by JSON type: (kind, where in values, the values); kind None for other Python types."""
    kinds = set(map(type, values))
    groups: dict[str | None, list[type]] = {}
    for t in kinds:
        groups.setdefault(_KIND.get(t), []).append(t)
    if len(groups) == 1:
        return [(next(iter(groups)), slice(None), values)]
    types = list(map(type, values))
    out = []
    for kind, members in groups.items():
        if len(members) == 1:
            chosen = list(map(is_, types, repeat(members[0])))
        else:
            chosen = list(map(frozenset(members).__contains__, types))
        where = np.flatnonzero(np.fromiter(chosen, dtype=bool, count=len(types)))
        out.append((kind, where, list(compress(values, chosen))))
    return out


def _skeleton(doc: Any, schemas: list[Any]) -> Any:
    """``doc`` as jsonschema is shown it when ``doc`` is validated against each of ``schemas``.

    The branches of an anyOf count as schemas of their own. Objects are copied with their values'
    skeletons; long lists are shortened (``_shorten``); anything else is ``doc`` itself.
    """
    flat: list[Any] = []
    for s in schemas:
        if isinstance(s, dict) and "anyOf" in s and set(s) <= _ANNOTATIONS | {"anyOf"}:
            flat.extend(s["anyOf"] if isinstance(s["anyOf"], list) else [False])
        else:
            flat.append(s)
    flat = [{} if s is True else s for s in flat]
    t = type(doc)
    if (t is not dict and t is not list) or not all(map(_understood, flat)):
        return doc
    mine = [s for s in flat if _admits(s, _KIND[t])]
    if t is list:
        return _shorten(doc, mine) if mine else doc
    if len(mine) != 1 or not isinstance(mine[0].get("properties", {}), dict):
        return doc
    props = mine[0].get("properties", {})
    return {k: _skeleton(v, [props[k]]) if k in props else v for k, v in doc.items()}


def _shorten(doc: list, arrays: list[dict[str, Any]]) -> list:
    """The skeleton of a list validated against the array schemas ``arrays`` (see the comment above)."""
    items = [s["items"] for s in arrays if "items" in s]
    lows = [s.get("minItems", 0) for s in arrays]
    if len(doc) < _FAST_LIST_MIN or not all(type(low) is int for low in lows):
        return [_skeleton(x, items) for x in doc]
    keep = np.zeros(len(doc), dtype=bool)
    keep[: max(_KEEP, *lows)] = True
    for schema in items:
        valid = _valid(doc, schema)
        if valid.all():
            continue
        wrong = _wrong_type(doc, schema)
        keep |= ~valid & ~wrong
        if wrong.any():
            keep[int(np.argmax(wrong))] = True
    if keep.all():
        return [_skeleton(x, items) for x in doc]
    index = np.flatnonzero(keep).tolist()
    out = _Kept(_skeleton(doc[i], items) for i in index)
    out.index = index
    return out


def _document_path(skeleton: Any, path: Iterable[str | int]) -> list[str | int]:
    """The document's JSON path of a path in ``skeleton`` (items of shortened lists numbered back)."""
    out: list[str | int] = []
    node = skeleton
    for part in path:
        out.append(node.index[part] if type(node) is _Kept else part)
        node = node[part]
    return out


def _wrong_type(values: list, schema: Any) -> np.ndarray:
    """Which values get exactly one error from ``schema``: a 'type' error."""
    wrong = np.zeros(len(values), dtype=bool)
    if _types(schema) is None or not _understood(schema):
        return wrong
    for kind, where, _ in _by_kind(values):
        if kind is not None and not _admits(schema, kind):
            wrong[where] = True
    return wrong


def _valid(values: list, schema: Any) -> np.ndarray:
    """Which values are proven valid against ``schema`` (False: invalid, or not known)."""
    valid = np.zeros(len(values), dtype=bool)
    if not values or not _understood(schema):
        return valid
    if schema is True:
        schema = {}
    for kind, where, group in _by_kind(values):
        if kind is None or not _admits(schema, kind):
            continue
        if kind == "number":
            valid[where] = _valid_numbers(group, schema)
        elif kind == "array":
            valid[where] = _valid_lists(group, schema)
        elif kind == "object":
            valid[where] = _valid_objects(group, schema)
        elif kind == "string":
            valid[where] = not {"pattern", "minLength", "maxLength"} & set(schema)
        else:
            valid[where] = True
    return valid


def _valid_numbers(group: list, schema: dict[str, Any]) -> np.ndarray | bool:
    try:
        values = np.array(group, dtype=np.float64)
    except (OverflowError, TypeError, ValueError):
        return False
    valid = np.abs(values) < _EXACT  # also False for NaN and infinities
    for key, compare in _BOUNDS:
        if key in schema:
            bound = schema[key]
            if type(bound) not in (int, float) or not abs(bound) < _EXACT:
                return False
            valid &= compare(values, bound)
    types = _types(schema)
    if types is not None and "number" not in types:  # integers only
        valid &= values == np.floor(values)
    return valid


def _valid_lists(group: list, schema: dict[str, Any]) -> np.ndarray | bool:
    lengths = np.fromiter(map(len, group), dtype=np.intp, count=len(group))
    low = schema.get("minItems", 0)
    if type(low) is not int:
        return False
    valid = lengths >= low
    if "items" in schema:
        invalid = ~_valid(list(chain.from_iterable(group)), schema["items"])
        seen = np.concatenate(([0], np.cumsum(invalid)))  # invalid items up to each position
        ends = np.cumsum(lengths)
        valid &= seen[ends] == seen[ends - lengths]
    return valid


def _valid_objects(rows: list[dict], schema: dict[str, Any]) -> np.ndarray | bool:
    n = len(rows)
    props, required = schema.get("properties", {}), schema.get("required", [])
    if not isinstance(props, dict) or not isinstance(required, list):
        return False
    valid = np.ones(n, dtype=bool)
    known: np.ndarray | int = 0  # how many of a row's keys are properties
    for key, sub in props.items():
        try:
            column = list(map(itemgetter(key), rows))
        except KeyError:  # not in every row
            has = np.fromiter(map(dict.__contains__, rows, repeat(key)), dtype=bool, count=n)
            where = np.flatnonzero(has)
            valid[where] &= _valid([rows[i][key] for i in where.tolist()], sub)
            known = known + has
            if key in required:
                valid &= has
        else:
            valid &= _valid(column, sub)
            known = known + 1
    for key in required:
        if key not in props:
            valid &= np.fromiter(map(dict.__contains__, rows, repeat(key)), dtype=bool, count=n)
    bounds = [(k, c) for k, c in (("minProperties", np.greater_equal), ("maxProperties", np.less_equal)) if k in schema]
    closed = schema.get("additionalProperties", True) is False
    # Rows have no other keys than properties when their sizes add up to the count of properties found.
    found = int(known.sum()) if isinstance(known, np.ndarray) else known * n
    if bounds or (closed and sum(map(len, rows)) != found):
        sizes = np.fromiter(map(len, rows), dtype=np.intp, count=n)
        for key, compare in bounds:
            if type(schema[key]) is not int:
                return False
            valid &= compare(sizes, schema[key])
        if closed:
            patterns = list(schema.get("patternProperties", {}))
            for i in np.flatnonzero(valid & (sizes > known)).tolist():
                valid[i] = all(
                    k in props or (isinstance(k, str) and any(re.search(p, k) for p in patterns)) for k in rows[i]
                )
    return valid


def _most_specific(errors: list[ValidationError]) -> ValidationError | None:
    """The error that says most about what to fix: inside anyOf, the branch that got furthest.

    Deeper errors win; at equal depth a wrong value beats a wrong type (a type mismatch usually means
    that branch was not the one meant).
    """
    leaves: list[ValidationError] = []
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            inner = _most_specific(list(error.context))
            leaves.append(inner if inner is not None and len(inner.absolute_path) > len(error.absolute_path) else error)
        else:
            leaves.append(error)
    if not leaves:
        return None
    return max(leaves, key=lambda e: (len(e.absolute_path), e.validator != "type"))


def _unknown_keys(error: ValidationError) -> list[str]:
    known = error.schema.get("properties", {})
    return sorted(k for k in error.instance if k not in known and not k.startswith("x-"))


def _expected(error: ValidationError) -> str:
    """Turn a jsonschema error into 'what was expected' in a user's words."""
    kind, value, inst = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [k for k in value if isinstance(inst, dict) and k not in inst]
        return f"missing required field {missing[0]!r}" if missing else error.message
    if kind == "additionalProperties":
        extra = _unknown_keys(error)
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown key {extra[0]!r} (allowed: {allowed}; keys starting with 'x-' are ignored)"
    if kind == "type":
        types = value if isinstance(value, list) else [value]
        whole = isinstance(inst, int | float) and not isinstance(inst, bool) and float(inst).is_integer()
        if "integer" in types and "number" not in types and whole:  # a whole number, but too large
            return f"expected a whole number within ±2**53 (9007199254740992), got {_show(inst)}"
        return f"expected {_type_words(value)}, got {_show(inst)}"
    if kind == "minimum":
        return f"expected a number >= {value}, got {_show(inst)}"
    if kind == "exclusiveMinimum":
        return f"expected a number > {value}, got {_show(inst)}"
    if kind in ("minProperties", "maxProperties"):
        keys = ", ".join(sorted(error.schema.get("properties", {})))
        return f"expected exactly one of: {keys}"
    if kind == "maximum":
        return f"expected a number <= {value}, got {_show(inst)}"
    if kind in ("enum", "const"):
        options = value if kind == "enum" else [value]
        return f"expected one of {', '.join(json.dumps(v) for v in options)}, got {_show(inst)}"
    if kind == "minItems":
        return f"expected at least {value} item(s)"
    if kind == "pattern":
        return f"expected a string matching {value!r}, got {_show(inst)}"
    if kind == "anyOf":
        return "expected " + " or ".join(_type_words(s.get("type", "value")) for s in value) + f", got {_show(inst)}"
    return error.message


def _type_words(t: str | list[str]) -> str:
    words = {
        "number": "a number",
        "integer": "a whole number",
        "array": "a list",
        "object": "an object",
        "string": "a string",
        "boolean": "true or false",
        "null": "null",
    }
    ts = t if isinstance(t, list) else [t]
    return " or ".join(words.get(x, x) for x in ts)


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------------------------- reading
# A file is read in four steps, each cheap on a valid file of millions of numbers:
#   1. bytes -> text: UTF-8, with or without a byte-order mark (editors write one);
#   2. text -> document: json.loads, and nothing else;
#   3. one pass over the document, level by level at C speed (_shape): how deep its arrays and objects
#      nest, how many keys its objects hold together, and whether it surely holds only finite numbers;
#   4. checks of what json.loads lets through silently: nesting deeper than MAX_DEPTH, a key repeated
#      in one object (json.loads keeps its last value), a string that is not Unicode text (a lone
#      surrogate, written as a \u escape).
# Finding *where* a problem is (a second parse, a walk in document order) is done only once one is known
# to be there.

#: Arrays and objects nest at most this deep in a file (instances use about 6 levels). Python's JSON reader
#: gives up at about 1000 levels, and the library's recursive code (error messages, writing, a user's
#: copy.deepcopy) must never come near the interpreter's recursion limit with a document that was accepted.
MAX_DEPTH = 100
#: The smallest integer that has no float64 value (2**1024 rounded down to 53 bits, plus half a unit):
#: numbers must have one, as every solver works in floats.
_INT_LIMIT = 2**1024 - 2**970
_FLOAT_RANGE = "the float range (about ±1.8e308)"
#: The byte-order marks of the encodings a JSON file is most often mistakenly saved in.
_FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
#: Every byte but '"' and ':' (deleted to count keys: a key is the only thing followed by a colon).
_NOT_QUOTE_OR_COLON = bytes(b for b in range(256) if b not in b'":')
#: A string (escapes included) or a bracket: enough of JSON's grammar to follow the nesting.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
#: A \u escape of half a UTF-16 surrogate pair without its other half: such a string is not Unicode text.
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F]"
)


def read_json(path: str | Path) -> Any:
    """Parse a JSON file (JSON only); errors name the file and the line, or the JSON path.

    Besides invalid JSON, refused are (docs/format.md, "Hard inputs"): text that is not UTF-8 (a UTF-8
    byte-order mark is skipped), arrays and objects nested more than ``MAX_DEPTH`` levels deep, a key
    repeated in one object, a string holding a lone surrogate, and an integer with more digits than Python
    converts. NaN, infinities and numbers beyond the float range are refused by the envelope's checks.
    """
    return _read(Path(path))[0]


def _read(path: Path) -> tuple[Any, bool]:
    """The document in ``path``, and whether it surely holds only finite numbers (saves a second pass)."""
    text = _read_text(path)
    doc = _parse(text, path)
    shape = _shape(doc)
    if shape.depth > MAX_DEPTH:
        raise _too_deep(text, path)
    # Objects hold fewer keys than the text names exactly when a key was repeated (json.loads keeps one).
    # The text's colons are a cheap upper bound of its keys (colons inside strings count too).
    if shape.keys != text.count(":") and shape.keys != _keys_in_text(text):
        _refuse_repeated_key(text, path)
    if "\\" in text and _LONE_SURROGATE.search(text):  # a backslash first: a fast search
        _refuse_lone_surrogate(doc, path)
    return doc, shape.finite


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InstanceError(path, (), "no such file") from None
    except IsADirectoryError:
        raise InstanceError(path, (), "is a directory, expected a JSON file") from None
    except OSError as exc:
        raise InstanceError(path, (), f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        for bom, name in _FOREIGN_BOMS:
            if raw.startswith(bom):
                raise InstanceError(path, (), f"not UTF-8 text: it starts with a {name} byte-order mark") from None
        raise InstanceError(path, (), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return text[1:] if text.startswith("\ufeff") else text  # a UTF-8 byte-order mark, as some editors write


def _parse(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # NUL is never valid in JSON text, and UTF-16 or UTF-32 without a byte-order mark is full of them.
        hint = "; it holds NUL characters: UTF-16 or UTF-32 rather than UTF-8?" if "\x00" in text else ""
        raise InstanceError(
            path, (), f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}){hint}"
        ) from None
    except RecursionError:  # the C parser recurses once per level, and gives up near the recursion limit
        raise _too_deep(text, path) from None
    except ValueError as exc:  # an integer of more digits than Python converts (4300 by default)
        raise _long_integer(text, path, exc) from None


def _too_deep(text: str, path: Path) -> InstanceError:
    """The error of a document nested more than MAX_DEPTH levels deep, with the line and column where."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        char = text[match.start()]
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                at = match.start()
                line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
                return InstanceError(
                    path,
                    (),
                    f"arrays and objects nested more than {MAX_DEPTH} levels deep (line {line}, column {column}); "
                    f"allocopt reads at most {MAX_DEPTH}",
                )
        elif char in "]}":
            depth -= 1
    return InstanceError(path, (), "nested too deeply for Python's JSON reader")


class _LongInteger:
    """Stands for an integer literal of ``digits`` digits, more than Python converts."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _int_or_long(literal: str) -> int | _LongInteger:
    try:
        return int(literal)
    except ValueError:
        return _LongInteger(len(literal.lstrip("-")))


def _long_integer(text: str, path: Path, exc: ValueError) -> InstanceError:
    """The error of a too long integer literal, at its JSON path (the text parsed again, marking it)."""
    try:
        doc = json.loads(text, parse_int=_int_or_long)
    except (ValueError, RecursionError):  # something else is wrong after it
        doc = None
    found = _first(doc, lambda v: type(v) is _LongInteger)
    if found is None:
        return InstanceError(path, (), f"invalid JSON: {exc}")
    where, marker = found
    return InstanceError(
        path, where, f"expected a number within {_FLOAT_RANGE}, got an integer of {marker.digits} digits"
    )


def _first(doc: Any, test: Callable[[Any], bool]) -> tuple[tuple[str | int, ...], Any] | None:
    """The JSON path and value of the first value (in document order) that passes ``test``, or whose key does.

    Iterative: any depth of nesting is fine.
    """
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), doc)]
    while stack:
        path, value = stack.pop()
        if test(value) or (path and type(path[-1]) is str and test(path[-1])):
            return path, value
        if type(value) is dict:
            stack.extend(((*path, k), v) for k, v in reversed(value.items()))
        elif type(value) is list:
            stack.extend(((*path, i), value[i]) for i in range(len(value) - 1, -1, -1))
    return None


def _keys_in_text(text: str) -> int:
    """How many keys the objects of the (valid) JSON ``text`` hold together: its colons outside strings."""
    data = text.encode("utf-8")
    if b"\\" in data:  # escaped backslashes, then escaped quotes, out: the quotes left delimit strings
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = np.frombuffer(data.translate(None, _NOT_QUOTE_OR_COLON), dtype=np.uint8)
    outside = np.cumsum(marks == ord('"')) % 2 == 0  # an even number of quotes up to here
    return int(np.count_nonzero((marks == ord(":")) & outside))


class _RepeatedKey:
    """Stands for an object in which ``key`` appears more than once."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


def _object_or_repeated(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _RepeatedKey:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return _RepeatedKey(key)
        seen.add(key)
    raise AssertionError("unreachable: fewer keys than pairs means a repeated key")


def _refuse_repeated_key(text: str, path: Path) -> None:
    """Raise the error of the first repeated key (the text parsed again, marking the objects that have one)."""
    found = _first(json.loads(text, object_pairs_hook=_object_or_repeated), lambda v: type(v) is _RepeatedKey)
    if found is not None:
        where, marker = found
        raise InstanceError(
            path, (*where, marker.key), f"key {marker.key!r} appears more than once in its object (keep one)"
        )


def _refuse_lone_surrogate(doc: Any, path: Path) -> None:
    found = _first(doc, lambda v: type(v) is str and not _is_text(v))
    if found is not None:
        raise InstanceError(
            path,
            found[0],
            "expected Unicode text, got a string with a lone surrogate (a \\uD800-\\uDFFF escape without its pair)",
        )


def _is_text(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _non_finite(doc: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Paths of NaN, infinite numbers (Python's JSON reader accepts NaN and 1e999) and integers beyond the
    float range (it keeps integers exact, of any size)."""
    if isinstance(doc, float):
        if not math.isfinite(doc):
            yield path
    elif type(doc) is int:
        if not -_INT_LIMIT < doc < _INT_LIMIT:
            yield path
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield from _non_finite(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            t = type(v)
            if t is float:  # the common case, kept cheap for lists of a million numbers
                if v - v != 0.0:  # NaN or infinity
                    yield (*path, i)
            elif t is int:
                if not -_INT_LIMIT < v < _INT_LIMIT:
                    yield (*path, i)
            elif isinstance(v, dict | list | float):
                yield from _non_finite(v, (*path, i))


def is_finite_json(value: Any) -> bool:
    """Whether every number in ``value`` (parsed JSON, nested to any depth) is finite and within the float range."""
    return _first(value, _non_finite_number) is None


def _non_finite_number(value: Any) -> bool:
    t = type(value)
    return (t is float and not math.isfinite(value)) or (t is int and not -_INT_LIMIT < value < _INT_LIMIT)


#: The Python types json.loads produces.
_PLAIN = frozenset({dict, list, str, int, float, bool, type(None)})
_NUMBERS_AND_CONTAINERS = frozenset({float, int, dict, list})


class _Shape(NamedTuple):
    depth: int  # how deep arrays and objects nest (0: a number or a string); limit + 1 when deeper
    keys: int  # how many keys its objects hold together (down to the limit)
    finite: bool  # surely no NaN, infinity or integer beyond the float range (False: there may be one)


def _shape(doc: Any, limit: int = MAX_DEPTH) -> _Shape:
    """Depth, key count and finiteness of ``doc`` in one pass, level by level, at C speed.

    The numbers of a level, and the contents of its lists and objects, are added up with ``sum(..., 0.0)``:
    when that works they are all numbers (nothing nests below them), and the total is finite only if each of
    them is (adding an integer beyond the float range to a float raises OverflowError; a total that merely
    overflows is a false alarm, which ``_non_finite`` then clears). When it does not (a string, null, list
    or object among them), all of them go to the next level. A level's types other than json.loads' ones
    make ``finite`` False too.
    """
    depth = keys = 0
    finite = True
    level = [doc]
    while level:
        kinds = set(map(type, level))
        if not kinds <= _PLAIN:
            finite = False
        if dict in kinds or list in kinds:
            depth += 1
            if depth > limit:
                return _Shape(depth, keys, False)
        types = list(map(type, level)) if len(kinds) > 1 else []
        inner: list[Any] = []
        for kind in kinds & _NUMBERS_AND_CONTAINERS:
            group = list(compress(level, map(is_, types, repeat(kind)))) if types else level
            if kind is dict:
                keys += sum(map(len, group))
            nested = kind is dict or kind is list
            contents = map(dict.values, group) if kind is dict else group
            try:
                total = sum(chain.from_iterable(contents) if nested else group, 0.0)
            except (TypeError, OverflowError) as exc:  # not all numbers, or an integer beyond the float range
                finite &= not isinstance(exc, OverflowError)
                if nested:  # look one level down
                    inner.extend(chain.from_iterable(map(dict.values, group) if kind is dict else group))
                continue
            if total - total != 0:  # NaN or infinity
                finite = False
        level = inner
    return _Shape(depth, keys, finite)


def _may_hold_non_finite(doc: Any) -> bool:
    """False when ``doc`` certainly holds no NaN, infinity or integer beyond the float range (a quick pass);
    True when it may, and ``_non_finite`` then finds where."""
    return not _shape(doc).finite


def _check_envelope(doc: Any, file: str | None, kind: str, finite: bool | None = None) -> ProblemSpec:
    """Checks shared by instance and solution files: object, finite numbers, format, problem.

    ``finite`` is True when the reader already knows that ``doc`` holds only finite numbers.
    """
    if not isinstance(doc, dict):
        raise InstanceError(file, (), f"expected a JSON object (an allocopt {kind}), got {_show(doc)}")
    maybe = _may_hold_non_finite(doc) if finite is None else not finite
    bad = next(_non_finite(doc), None) if maybe else None
    if bad is not None:
        value = _at(doc, bad)
        if type(value) is int:
            digits = math.floor(math.log10(abs(value))) + 1
            raise InstanceError(
                file, bad, f"expected a number within {_FLOAT_RANGE}, got an integer of {digits} digits"
            )
        raise InstanceError(file, bad, "expected a finite number, got NaN or infinity")
    fmt = doc.get("format")
    if fmt is None:
        raise InstanceError(file, ("format",), f"missing required field 'format' (expected {FORMAT_TAG!r})")
    version = fmt[9:] if isinstance(fmt, str) and fmt.startswith("allocopt/") else ""
    if not (version.isascii() and version.isdigit()):  # isdigit alone lets '²' through, which int() refuses
        raise InstanceError(file, ("format",), f"expected {FORMAT_TAG!r}, got {_show(fmt)}")
    version = version.lstrip("0") or "0"  # and at most 9 digits before int(): 4301 digits raise ValueError
    if len(version) > 9 or int(version) > FORMAT_VERSION:
        raise InstanceError(
            file,
            ("format",),
            f"format {_show(fmt)} is newer than this allocopt understands ({FORMAT_TAG}); upgrade allocopt",
        )
    name = doc.get("problem")
    if not isinstance(name, str):
        raise InstanceError(file, ("problem",), "missing required field 'problem' (a problem name)")
    known = problems()
    if name not in known:
        raise InstanceError(file, ("problem",), f"unknown problem {name!r}; known problems: {', '.join(sorted(known))}")
    return known[name]


def _at(doc: Any, path: Iterable[str | int]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def instance_from_dict(doc: Any, source: str | Path | None = None) -> Instance:
    """Validate an instance document (already parsed JSON) and build the ``Instance``."""
    return _instance(doc, source, None)


def _instance(doc: Any, source: str | Path | None, finite: bool | None) -> Instance:
    file = None if source is None else str(source)
    spec = _check_envelope(doc, file, "instance", finite)
    _validate(doc, _schema("instance"), file, ())
    _validate(doc["data"], _schema(spec.name), file, ("data",))
    try:
        data = spec.parse(doc["data"])
    except DataError as exc:
        raise InstanceError(file, ("data", *exc.path), exc.expected) from None
    default_name = Path(source).stem if source is not None else spec.name
    return Instance(
        problem=spec.name,
        name=doc.get("name", default_name),
        data=data,
        description=doc.get("description"),
        reference=doc.get("reference"),
        source=None if source is None else Path(source),
        extras={k: v for k, v in doc.items() if k.startswith("x-")},
    )


def load(path: str | Path) -> Instance:
    """Read and validate an instance file."""
    doc, finite = _read(Path(path))
    return _instance(doc, path, finite)


def instance_to_dict(instance: Instance) -> dict[str, Any]:
    """The instance envelope of FORMAT.md."""
    doc: dict[str, Any] = {"format": FORMAT_TAG, "problem": instance.problem, "name": instance.name}
    if instance.description:
        doc["description"] = instance.description
    doc["data"] = problem(instance.problem).to_data(instance.data)
    if instance.reference:
        doc["reference"] = dict(instance.reference)
    doc.update(instance.extras)
    return doc


def load_solution(path: str | Path) -> dict[str, Any]:
    """Read and validate a solution file; returns the envelope as a dict."""
    file = str(path)
    doc, finite = _read(Path(path))
    spec = _check_envelope(doc, file, "solution", finite)
    _validate(doc, _schema("solution"), file, ())
    if doc["solution"] is not None:
        _validate(doc["solution"], _schema(f"{spec.name}.solution"), file, ("solution",))
    return doc


# --------------------------------------------------------------------------------------------- writing
def write_json_atomic(path: str | Path, doc: Any, protect: set[Path] | frozenset[Path] = frozenset()) -> None:
    """Write JSON so that readers see the old file or the new one, never half of either.

    ``protect`` lists input files that must never be replaced (a UsageError is raised instead).
    """
    write_text_atomic(path, dumps(doc) + "\n", protect)


def write_text_atomic(path: str | Path, text: str, protect: set[Path] | frozenset[Path] = frozenset()) -> None:
    """Write UTF-8 text atomically (a temporary file beside it, then a rename); ``protect`` as above."""
    path = Path(path)
    if path.resolve() in {p.resolve() for p in protect}:
        raise UsageError(f"refusing to overwrite input file {path}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file 0600; give it the mode a plain open() would (or the replaced file's).
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def dumps(doc: Any, indent: int = 0) -> str:
    """JSON with one key per line but lists of numbers on one line (instances hold long arrays)."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(doc, dict) and doc and not any(isinstance(v, dict | list) for v in doc.values()):
        flat = json.dumps(doc, allow_nan=False)
        if len(flat) <= 100:
            return flat
    if isinstance(doc, dict) and doc:
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 2)}" for k, v in doc.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(doc, list) and any(isinstance(v, dict | list) for v in doc):
        return "[\n" + ",\n".join(inner + dumps(v, indent + 2) for v in doc) + f"\n{pad}]"
    return json.dumps(doc, allow_nan=False)


def save_instance(instance: Instance, path: str | Path) -> None:
    write_json_atomic(path, instance_to_dict(instance))
