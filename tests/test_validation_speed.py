"""The fast validation of long lists accepts, rejects and reports exactly as plain jsonschema validation.

The reference is the same validation with every fast path switched off: jsonschema is shown the whole
document (no skeleton), and the search for NaN and infinities walks every value.
"""

from __future__ import annotations

import contextlib
import copy
import math
from typing import Any

import numpy as np
import pytest
from conftest import instance_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import allocopt
from allocopt import envelope

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = ["name", "size", "options", "bits", "error", "budget", "values", "weights", "k", "w", "flag", "x-a"]
ODD_NUMBERS = [0, 1, -1, 0.5, 2.5, -0.0, 1e300, 2**53 + 1, 2**70, 10**400, math.nan, math.inf, -math.inf]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.sampled_from(ODD_NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "a", "x-y", "4"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    max_leaves=6,
)


# --------------------------------------------------------------------------------------------- helpers
def _outcome(run: Any) -> tuple:
    """What a validation does: ("ok",) or the exception's type, file, path and message."""
    try:
        run()
    except allocopt.InstanceError as exc:
        return ("InstanceError", exc.file, exc.path, exc.expected)
    except Exception as exc:  # the same crash (of a problem's parser, say) either way is still the same
        return (type(exc).__name__, str(exc))
    return ("ok",)


def _both(run: Any) -> tuple[tuple, tuple]:
    """The outcome with the fast paths, and without them."""
    fast = _outcome(run)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(envelope, "_skeleton", lambda doc, schemas: doc)
        mp.setattr(envelope, "_may_hold_non_finite", lambda doc: True)
        plain = _outcome(run)
    return fast, plain


def _paths(doc: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*path, i))
    return out


def _mutate(doc: Any, data: st.DataObject, times: int) -> Any:
    """``times`` random edits anywhere: replace a value, drop or add a key, add or remove an item."""
    for _ in range(times):
        paths = _paths(doc)
        path = data.draw(st.sampled_from(paths[1:]))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        target, last = parent[path[-1]], path[-1]
        action = data.draw(st.sampled_from(["replace", "replace", "drop", "add", "empty"]))
        if action == "drop":
            del parent[last]
        elif action == "add" and isinstance(target, dict):
            target[data.draw(st.sampled_from(KEYS))] = data.draw(JSON)
        elif action == "add" and isinstance(target, list):
            target.insert(data.draw(st.integers(0, len(target))), data.draw(JSON))
        elif action == "empty" and isinstance(target, dict | list):
            target.clear()
        else:
            parent[last] = data.draw(JSON)
    return doc


def _bit_data(units: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    out = []
    for j in range(units):
        widths = sorted(rng.choice([2, 2.5, 3, 4, 6, 8], size=int(rng.integers(1, 4)), replace=False).tolist())
        options = [{"bits": w, "error": float(rng.uniform(0, 1))} for w in widths]
        out.append({"name": f"u{j}", "size": int(rng.integers(1, 1000)), "options": options})
    return {"units": out, "budget": {"average_bits": 4}}


BIT = instance_doc("bit_allocation", _bit_data(3 * envelope._FAST_LIST_MIN // 2, 0))
KNAPSACK_1D = instance_doc(
    "knapsack",
    {"values": list(range(100)), "weights": [1.5 * i for i in range(100)], "capacity": 40, "copies": [1] * 100},
)
KNAPSACK_LONG_ROWS = instance_doc(
    "knapsack", {"values": list(range(100)), "weights": [list(range(100)), [2.5] * 100], "capacity": [50, 60]}
)
KNAPSACK_ROWS = instance_doc(
    "knapsack",
    {"values": [1, 2, 3], "weights": [[1, 2, 3.5] for _ in range(70)], "capacity": [4] * 70, "names": ["a", "b", "c"]},
)


# --------------------------------------------------------------------------------------------- equivalence
@pytest.mark.parametrize(
    "base", [BIT, KNAPSACK_1D, KNAPSACK_LONG_ROWS, KNAPSACK_ROWS], ids=["bit_allocation", "knapsack", "2x100", "70x3"]
)
@SETTINGS
@given(data=st.data(), times=st.integers(1, 3))
def test_random_edits_are_reported_as_jsonschema_reports_them(base: dict, data: st.DataObject, times: int) -> None:
    doc = _mutate(copy.deepcopy(base), data, times)
    fast, plain = _both(lambda: allocopt.instance_from_dict(doc, source="m.json"))
    assert fast == plain


def _unit(doc: dict, j: int) -> dict:
    return doc["data"]["units"][j]


MUTATIONS = {
    "unit not an object": lambda d, j, k: d["data"]["units"].__setitem__(j, 4),
    "name a number": lambda d, j, k: _unit(d, j).__setitem__("name", 7),
    "no name": lambda d, j, k: _unit(d, j).pop("name"),
    "zero size": lambda d, j, k: _unit(d, j).__setitem__("size", 0),
    "fractional size": lambda d, j, k: _unit(d, j).__setitem__("size", 2.5),
    "size true": lambda d, j, k: _unit(d, j).__setitem__("size", True),
    "size a string": lambda d, j, k: _unit(d, j).__setitem__("size", "4"),
    "no options": lambda d, j, k: _unit(d, j).__setitem__("options", []),
    "options an object": lambda d, j, k: _unit(d, j).__setitem__("options", {}),
    "unknown unit key": lambda d, j, k: _unit(d, j).__setitem__("note", 1),
    "x- unit key": lambda d, j, k: _unit(d, j).__setitem__("x-note", [1, {"a": None}]),
    "x- option key": lambda d, j, k: _unit(d, j)["options"][k].__setitem__("x-note", 1),
    "unknown option key": lambda d, j, k: _unit(d, j)["options"][k].__setitem__("note", 1),
    "bits zero": lambda d, j, k: _unit(d, j)["options"][k].__setitem__("bits", 0),
    "bits a string": lambda d, j, k: _unit(d, j)["options"][k].__setitem__("bits", "4"),
    "bits null": lambda d, j, k: _unit(d, j)["options"][k].__setitem__("bits", None),
    "bits false": lambda d, j, k: _unit(d, j)["options"][k].__setitem__("bits", False),
    "bits NaN": lambda d, j, k: _unit(d, j)["options"][k].__setitem__("bits", math.nan),
    "bits huge": lambda d, j, k: _unit(d, j)["options"][k].__setitem__("bits", 2**70),
    "no bits": lambda d, j, k: _unit(d, j)["options"][k].pop("bits"),
    "negative error": lambda d, j, k: _unit(d, j)["options"][k].__setitem__("error", -0.5),
    "error a list": lambda d, j, k: _unit(d, j)["options"][k].__setitem__("error", [1]),
    "option a number": lambda d, j, k: _unit(d, j)["options"].__setitem__(k, 3),
    "bits decreasing": lambda d, j, k: _unit(d, j)["options"].insert(0, {"bits": 9, "error": 0}),
    "unknown data key": lambda d, j, k: d["data"].__setitem__("colour", 1),
    "x- data key": lambda d, j, k: d["data"].__setitem__("x-colour", [math.pi] * 100),
    "two budgets": lambda d, j, k: d["data"]["budget"].__setitem__("total_bits", 9),
    "negative min_bits": lambda d, j, k: d["data"].__setitem__("min_bits", -1),
    "unknown envelope key": lambda d, j, k: d.__setitem__("colour", 1),
}


@SETTINGS
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(sorted(MUTATIONS)), st.integers(0, 10**6), st.integers(0, 10**6)),
        min_size=1,
        max_size=3,
    )
)
def test_typical_mistakes_in_long_unit_lists_are_reported_as_jsonschema_reports_them(edits: list) -> None:
    doc = copy.deepcopy(BIT)
    units = doc["data"]["units"]
    for name, j, k in edits:
        j %= len(units)
        options = units[j].get("options") if isinstance(units[j], dict) else None
        # an earlier edit may have taken away what this one edits
        with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
            MUTATIONS[name](doc, j, k % len(options) if isinstance(options, list) and options else 0)
    fast, plain = _both(lambda: allocopt.instance_from_dict(doc, source="m.json"))
    assert fast == plain
    with pytest.MonkeyPatch.context() as mp:  # the fast path switched off the way a user would
        mp.setattr(envelope, "_FAST_LIST_MIN", 10**9)
        assert _outcome(lambda: allocopt.instance_from_dict(doc, source="m.json")) == plain


#: A schema with what the fast path knows and what it does not, to check it outside the shipped schemas.
MIXED = {
    "type": "object",
    "required": ["rows"],
    "additionalProperties": False,
    "patternProperties": {"^x-": {}},
    "properties": {
        "rows": {
            "type": "array",
            "minItems": 70,
            "items": {
                "type": "object",
                "required": ["k"],
                "additionalProperties": False,
                "minProperties": 1,
                "maxProperties": 3,
                "properties": {
                    "k": {"type": "integer", "minimum": 0, "maximum": 9},
                    "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]"}},
                    "flag": {"type": "boolean"},
                    "w": {"type": ["number", "null"], "exclusiveMaximum": 5},
                },
            },
        },
        "mix": {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "array", "minItems": 1, "items": {"type": "number", "minimum": 0}},
                {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
            ]
        },
        "labels": {"type": "array", "items": {"enum": ["a", "b"]}},
        "free": {"type": "array", "items": {}},
        "big": {"type": "array", "items": {"type": "integer", "maximum": 2**53}},
    },
}
MIXED_DOC = {
    "rows": [{"k": i % 10, "tags": ["a"] * (i % 3), "w": None if i % 4 else 0.5} for i in range(80)],
    "mix": [[1, 2] for _ in range(70)],
    "labels": ["a", "b"] * 40,
    "free": [1, "a", None, [2], {"b": 3}] * 14,
    "big": [2**53] * 70,
}


def _edited(doc: dict, path: tuple, value: Any) -> dict:
    doc = copy.deepcopy(doc)
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "schema"),
    [
        (_edited(KNAPSACK_LONG_ROWS, ("data", "weights", 1), 5), None),  # shows the (shortened) first row
        (_edited(KNAPSACK_LONG_ROWS, ("data", "weights", 1, 90), -1), None),
        (_edited(KNAPSACK_1D, ("data", "weights", 90), [1]), None),
        (_edited(KNAPSACK_1D, ("data", "capacity"), [1.0] * 70), None),
        (_edited(BIT, ("data", "units", 90, "options", 0, "bits"), 1e-300), None),
        (_edited(MIXED_DOC, ("big", 69), 2**53 + 1), MIXED),  # not exact as a float
        (_edited(MIXED_DOC, ("rows", 75, "flag"), True), MIXED),  # a fourth key (the first 70 rows are kept)
        (_edited(MIXED_DOC, ("rows", 76), {"k": 1, "x-a": 1}), MIXED),
        (_edited(MIXED_DOC, ("rows", 77, "tags"), ["a", "4"]), MIXED),
        (_edited(MIXED_DOC, ("mix", 69), 1), MIXED),
    ],
)
def test_chosen_edits_are_reported_as_jsonschema_reports_them(doc: dict, schema: dict | None) -> None:
    if schema is None:
        fast, plain = _both(lambda: allocopt.instance_from_dict(doc, source="m.json"))
    else:
        fast, plain = _both(lambda: envelope._validate(doc, schema, "m.json", ("data",)))
    assert fast == plain


@pytest.mark.parametrize("mix", [[[1, 2] for _ in range(70)], [1.5] * 70, 3], ids=["lists", "numbers", "number"])
@SETTINGS
@given(data=st.data(), times=st.integers(1, 3))
def test_random_edits_under_other_keywords_are_reported_as_jsonschema_reports_them(
    mix: Any, data: st.DataObject, times: int
) -> None:
    doc = _mutate(copy.deepcopy({**MIXED_DOC, "mix": mix}), data, times)
    fast, plain = _both(lambda: envelope._validate(doc, MIXED, "m.json", ("data",)))
    assert fast == plain


# --------------------------------------------------------------------------------------------- the fast path
def test_valid_long_lists_reach_jsonschema_shortened_and_are_accepted() -> None:
    skeleton = envelope._skeleton(BIT["data"], [envelope._schema("bit_allocation")])
    assert len(skeleton["units"]) == envelope._KEEP
    skeleton = envelope._skeleton(KNAPSACK_1D["data"], [envelope._schema("knapsack")])
    assert [len(skeleton[k]) for k in ("values", "weights", "copies")] == [envelope._KEEP] * 3
    skeleton = envelope._skeleton(KNAPSACK_ROWS["data"], [envelope._schema("knapsack")])
    assert [len(skeleton[k]) for k in ("weights", "capacity")] == [envelope._KEEP] * 2
    for doc in (BIT, KNAPSACK_1D, KNAPSACK_ROWS):
        allocopt.instance_from_dict(doc)
    # minItems counts the whole list (it once counted the emptied one)
    long = {"type": "array", "minItems": 1, "items": {"type": "number", "minimum": 0}}
    envelope._validate({"loads": [1.0] * 100}, {"type": "object", "properties": {"loads": long}}, None, ())


def test_only_the_wrong_items_of_a_long_list_are_shown_to_jsonschema() -> None:
    data = copy.deepcopy(BIT["data"])
    data["units"][50]["size"] = 0
    data["units"][70]["options"][0]["note"] = 1
    skeleton = envelope._skeleton(data, [envelope._schema("bit_allocation")])
    assert skeleton["units"].index == [*range(envelope._KEEP), 50, 70]
    with pytest.raises(allocopt.InstanceError, match=r"units\[70\]\.options\[0\]\.note: unknown key 'note'"):
        envelope._validate(data, envelope._schema("bit_allocation"), None, ("data",))


@settings(max_examples=300, deadline=None)
@given(doc=JSON)
def test_the_quick_search_for_nan_misses_none(doc: Any) -> None:
    if next(envelope._non_finite(doc), None) is not None:
        assert envelope._may_hold_non_finite(doc)
    big = {"a": [doc, [1.5] * 100, {"b": [{"c": 1.0, "d": 2}] * 100}]}
    if next(envelope._non_finite(big), None) is not None:
        assert envelope._may_hold_non_finite(big)


def test_a_large_bit_allocation_instance_is_validated() -> None:
    """10^5 units of 8 options (jsonschema alone took ~40 s); no timing asserted."""
    rng = np.random.default_rng(1)
    widths = [2, 2.5, 3, 3.5, 4, 5, 6, 8]
    errors = rng.uniform(0.5, 1.5, (100_000, 8)) * 4.0 ** -np.asarray(widths)
    sizes = rng.integers(10_000, 1_000_000, 100_000).tolist()
    units = [
        {"name": f"u{j}", "size": size, "options": [{"bits": w, "error": e} for w, e in zip(widths, row, strict=True)]}
        for j, (size, row) in enumerate(zip(sizes, errors.tolist(), strict=True))
    ]
    doc = instance_doc("bit_allocation", {"units": units, "budget": {"average_bits": 4}})
    instance = allocopt.instance_from_dict(doc)
    assert instance.data.n == 100_000 and len(instance.data.bits) == 800_000
