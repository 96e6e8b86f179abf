"""Read, validate and write instance and solution files (FORMAT.md's envelope, version 1).

Validation happens once, here at the edge: the JSON is parsed (JSON only, nothing else), every
number is checked to be finite, the envelope and the problem's ``data`` are checked against the JSON
Schemas shipped in ``allocopt/schemas``, and the problem's own parser checks what a schema cannot
(lengths that must agree, group rules). Every error names the file, the JSON path and what was
expected.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

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
    def reference_optimum(self) -> float | None:
        if self.reference and isinstance(self.reference.get("optimum"), int | float):
            return float(self.reference["optimum"])
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
    skeleton = _check_long_number_lists(doc, schema, file, prefix)
    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(skeleton))
    # An unknown key is reported first: a typo in a key name also makes a required key look missing.
    unknown = [e for e in errors if e.validator == "additionalProperties"]
    error = unknown[0] if unknown else _most_specific(errors)
    if error is None:
        return
    path: tuple[str | int, ...] = (*prefix, *error.absolute_path)
    if unknown:
        path = (*path, _unknown_keys(error)[0])
    raise InstanceError(file, path, _expected(error))


#: Lists longer than this are checked with numpy rather than item by item by jsonschema (1e6 items: 40 s).
_FAST_LIST_MIN = 64
_NUMBER_TYPES = (int, float)


def _number_items(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The item schema when ``schema`` (or one of its anyOf branches) is a list of plain numbers."""
    for branch in (schema, *schema.get("anyOf", ())):
        items = branch.get("items")
        plain = isinstance(items, dict) and set(items) <= {"type", "minimum", "maximum"}
        if branch.get("type") == "array" and plain and items.get("type") in ("number", "integer"):
            return items
    return None


def _check_long_number_lists(doc: Any, schema: Mapping[str, Any], file: str | None, prefix: tuple) -> Any:
    """Check long lists of numbers with numpy; return ``doc`` with them emptied for jsonschema's pass.

    Only what numpy has fully checked is emptied, so jsonschema still sees everything else; the first
    offending item, if any, is reported with jsonschema's own message for it.
    """
    if isinstance(doc, dict):
        props = schema.get("properties", {})
        return {
            k: _check_long_number_lists(v, props[k], file, (*prefix, k)) if k in props else v for k, v in doc.items()
        }
    if not isinstance(doc, list):
        return doc
    if len(doc) >= _FAST_LIST_MIN and all(type(x) in _NUMBER_TYPES for x in doc):
        items = _number_items(schema)
        if items is not None:
            values = np.asarray(doc, dtype=np.float64)
            bad = np.zeros(len(values), dtype=bool)
            if "minimum" in items:
                bad |= values < items["minimum"]
            if "maximum" in items:
                bad |= values > items["maximum"]
            if items["type"] == "integer":
                bad |= values != np.floor(values)
            if bad.any():
                k = int(np.argmax(bad))
                _validate(doc[k], items, file, (*prefix, k))
            return []
    for branch in (schema, *schema.get("anyOf", ())):
        items = branch.get("items")
        nested = isinstance(items, dict) and items.get("type") == "array"
        if branch.get("type") == "array" and nested and all(isinstance(x, list) for x in doc):
            return [_check_long_number_lists(x, items, file, (*prefix, i)) for i, x in enumerate(doc)]
    return doc


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
def read_json(path: str | Path) -> Any:
    """Parse a JSON file (JSON only); errors name the file and the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InstanceError(path, (), "no such file") from None
    except IsADirectoryError:
        raise InstanceError(path, (), "is a directory, expected a JSON file") from None
    except UnicodeDecodeError as exc:
        raise InstanceError(path, (), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InstanceError(path, (), f"cannot be read: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstanceError(path, (), f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


def _non_finite(doc: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Paths of NaN and infinite numbers (Python's JSON reader accepts NaN and 1e999)."""
    if isinstance(doc, float):
        if not math.isfinite(doc):
            yield path
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield from _non_finite(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            if type(v) is float:  # the common case, kept cheap for lists of a million numbers
                if v - v != 0.0:  # NaN or infinity
                    yield (*path, i)
            elif isinstance(v, dict | list | float):
                yield from _non_finite(v, (*path, i))


def _check_envelope(doc: Any, file: str | None, kind: str) -> ProblemSpec:
    """Checks shared by instance and solution files: object, finite numbers, format, problem."""
    if not isinstance(doc, dict):
        raise InstanceError(file, (), f"expected a JSON object (an allocopt {kind}), got {_show(doc)}")
    bad = next(_non_finite(doc), None)
    if bad is not None:
        raise InstanceError(file, bad, "expected a finite number, got NaN or infinity")
    fmt = doc.get("format")
    if fmt is None:
        raise InstanceError(file, ("format",), f"missing required field 'format' (expected {FORMAT_TAG!r})")
    if not isinstance(fmt, str) or not fmt.startswith("allocopt/") or not fmt[9:].isdigit():
        raise InstanceError(file, ("format",), f"expected {FORMAT_TAG!r}, got {_show(fmt)}")
    if int(fmt[9:]) > FORMAT_VERSION:
        raise InstanceError(
            file,
            ("format",),
            f"format {fmt!r} is newer than this allocopt understands ({FORMAT_TAG}); upgrade allocopt",
        )
    name = doc.get("problem")
    if not isinstance(name, str):
        raise InstanceError(file, ("problem",), "missing required field 'problem' (a problem name)")
    known = problems()
    if name not in known:
        raise InstanceError(file, ("problem",), f"unknown problem {name!r}; known problems: {', '.join(sorted(known))}")
    return known[name]


def instance_from_dict(doc: Any, source: str | Path | None = None) -> Instance:
    """Validate an instance document (already parsed JSON) and build the ``Instance``."""
    file = None if source is None else str(source)
    spec = _check_envelope(doc, file, "instance")
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
    return instance_from_dict(read_json(path), source=path)


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
    doc = read_json(path)
    spec = _check_envelope(doc, file, "solution")
    _validate(doc, _schema("solution"), file, ())
    if doc["solution"] is not None:
        _validate(doc["solution"], _schema(f"{spec.name}.solution"), file, ("solution",))
    return doc


# --------------------------------------------------------------------------------------------- writing
def write_json_atomic(path: str | Path, doc: Any, protect: set[Path] | frozenset[Path] = frozenset()) -> None:
    """Write JSON so that readers see the old file or the new one, never half of either.

    ``protect`` lists input files that must never be replaced (a UsageError is raised instead).
    """
    path = Path(path)
    if path.resolve() in {p.resolve() for p in protect}:
        raise UsageError(f"refusing to overwrite input file {path}")
    text = dumps(doc) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file 0600; give it the mode a plain open() would (or the replaced file's).
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
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
