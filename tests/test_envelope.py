"""The instance/solution envelope: what is accepted, and what each bad file is told."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import INSTANCES, instance_doc, instance_files

import allocopt
from allocopt.envelope import dumps, instance_to_dict, schema_for, write_json_atomic
from allocopt.errors import InstanceError, UsageError

GOOD = instance_doc("knapsack", {"values": [3, 2, 4], "weights": [2, 2, 3], "capacity": 4})


def _error(doc: object) -> InstanceError:
    with pytest.raises(InstanceError) as info:
        allocopt.instance_from_dict(doc, source="bad.json")
    return info.value


def _with_data(**changes: object) -> dict:
    doc = json.loads(json.dumps(GOOD))
    doc["data"].update(changes)
    return doc


@pytest.mark.parametrize(
    ("doc", "path", "words"),
    [
        ({**GOOD, "format": "allocopt/2"}, "format", "newer"),
        ({**GOOD, "format": "other/1"}, "format", "allocopt/1"),
        ({k: v for k, v in GOOD.items() if k != "format"}, "format", "missing"),
        ({**GOOD, "problem": "sudoku"}, "problem", "unknown problem 'sudoku'; known problems: "),
        ({**GOOD, "colour": "red"}, "colour", "unknown key 'colour'"),
        (_with_data(weight=[1, 2, 3]), "data.weight", "unknown key 'weight'"),
        (_with_data(values=[3, 2]), "data.weights", "expected 2 weights"),
        (_with_data(copies=[1, 1]), "data.copies", "expected 3 entries"),
        (_with_data(groups=[0, 1]), "data.groups", "expected 3 entries"),
        (_with_data(values=[3, -2, 4]), "data.values[1]", ">= 0"),
        (_with_data(weights=[2, float("nan"), 3]), "data.weights[1]", "finite"),
        (_with_data(capacity=float("inf")), "data.capacity", "finite"),
        (_with_data(weights=[[2, 2, 3], [1, -1, 1]], capacity=[4, 4]), "data.weights[1][1]", ">= 0"),
        (_with_data(weights=[[2, 2, 3], [1, 1]], capacity=[4, 4]), "data.weights[1]", "expected 3 weights"),
        (_with_data(weights=[[2, 2, 3], 1, 1]), "data.weights[0]", "expected a number"),
        (_with_data(weights=[[2, 2, 3], [1, 1, 1]], capacity=4), "data.capacity", "list of 2"),
        (_with_data(capacity=[4, 5]), "data.capacity", "expected 1 capacities"),
        (_with_data(copies=[1, 2.5, 1]), "data.copies[1]", "whole number"),
        (_with_data(choose="two"), "data.choose", "at_most_one"),
        (_with_data(values="many"), "data.values", "list"),
        ({**GOOD, "data": {"values": [1], "capacity": 1}}, "data", "missing required field 'weights'"),
        ({**GOOD, "data": [1, 2]}, "data", "object"),
        ([GOOD], "(document)", "JSON object"),
        (
            instance_doc("rollout_allocation", {"success_rates": [0.5, 1.5], "budget": 4}),
            "data.success_rates[1]",
            "<= 1",
        ),
        (
            instance_doc(
                "rollout_allocation", {"success_rates": [0.5], "budget": 4, "min_rollouts": 3, "max_rollouts": 2}
            ),
            "data.max_rollouts",
            ">= min_rollouts",
        ),
        (
            instance_doc("rollout_allocation", {"success_rates": [0.5], "budget": 4, "weights": [1, 2]}),
            "data.weights",
            "expected 1 weights",
        ),
    ],
)
def test_invalid_documents_name_file_path_and_expectation(doc: object, path: str, words: str) -> None:
    err = _error(doc)
    text = str(err)
    assert text.startswith(f"bad.json: {path}:"), text
    assert words in text, text


def test_reference_and_x_keys_are_kept_and_ignored() -> None:
    doc = {**GOOD, "reference": {"optimum": 5, "notes": "anything"}, "x-origin": {"any": 1}}
    doc["data"] = {**GOOD["data"], "x-comment": "ignored"}
    inst = allocopt.instance_from_dict(doc)
    assert inst.reference_optimum == 5
    assert instance_to_dict(inst)["x-origin"] == {"any": 1}


def test_every_committed_instance_round_trips_and_matches_its_schema() -> None:
    files = instance_files(INSTANCES)
    assert len(files) >= 30
    for file in files:
        inst = allocopt.load(file)
        doc = instance_to_dict(inst)
        jsonschema.validate(doc, schema_for(inst.problem))
        again = allocopt.instance_from_dict(json.loads(dumps(doc)))
        assert instance_to_dict(again) == doc


def test_solution_files_match_the_solution_schema(tmp_path: Path) -> None:
    result = allocopt.solve(GOOD, method="milp")
    allocopt.save(result, tmp_path / "t.solution.json")
    doc = allocopt.load_solution(tmp_path / "t.solution.json")
    assert doc["status"] == "optimal" and doc["objective"] == 5 and doc["verified"] is True
    assert doc["solution"] == {"take": [1, 1, 0]}


def test_unreadable_files_are_reported_with_the_file_name(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"format": "allocopt/1", "problem": ', encoding="utf-8")
    with pytest.raises(InstanceError, match=r"broken\.json: \(document\): invalid JSON: .*line 1"):
        allocopt.load(bad)
    with pytest.raises(InstanceError, match="no such file"):
        allocopt.load(tmp_path / "missing.json")
    (tmp_path / "latin1.json").write_bytes(b'{"name": "\xe9"}')
    with pytest.raises(InstanceError, match="not UTF-8"):
        allocopt.load(tmp_path / "latin1.json")


def test_atomic_write_replaces_outputs_and_never_an_input(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old", encoding="utf-8")
    write_json_atomic(target, {"a": [1, 2]})
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left behind
    with pytest.raises(UsageError, match="refusing to overwrite input"):
        write_json_atomic(target, {"b": 1}, protect={target})
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": [1, 2]}
