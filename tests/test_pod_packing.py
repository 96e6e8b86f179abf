"""pod_packing through the front door, against numbers nobody here computed with the library's code.

- brute force over every placement of tiny random clusters (protected pods, over-capacity nodes, zero requests,
  decimals): milp and cp reach its lexicographic optimum, proven; the greedy is verified, never lexicographically
  above it, and its bounds are entry by entry above the greedy's vector and the optimum;
- the hand-derived instances (the 'Priority Matters' situation: the greedy leaves the high-priority pod pending,
  the exact methods place it by moving one pod; preemption; a node over capacity) are re-derived by brute force;
- the independent checker rejects an overfull node, a moved protected pod, a wrong length;
- status and gap of a lexicographic objective: optimal with gap 0, feasible with gap null (greedy, a time limit);
- the generic staged runners (allocopt.solvers.lexicographic) on toy models against enumeration;
- bad instances exit 2 naming the JSON path; a solution file round trips through ``allocopt solve`` and ``check``.
"""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyomo.environ as pyo
import pytest
from conftest import INSTANCES, instance_doc, instance_files
from ortools.sat.python import cp_model

import allocopt
import allocopt.methods.pod_packing  # registers the problem
from allocopt.cli import main
from allocopt.errors import UsageError
from allocopt.models.pod_packing import random_cluster
from allocopt.solvers.lexicographic import StageRun, _valid_bounds, solve_cp_stages, solve_stages

PP_DIR = INSTANCES / "pod_packing"
PP_FILES = instance_files(PP_DIR)
PP_OPTIMA = [p for p in PP_FILES if "optimum" in json.loads(p.read_text()).get("reference", {})]
FAST = {"workers": 2}


def doc(data: dict[str, Any], name: str = "t") -> dict[str, Any]:
    return instance_doc("pod_packing", data, name=name)


def vector(data: dict[str, Any], where: tuple[int | None, ...]) -> tuple[float, ...] | None:
    """The objective vector of a placement, or None when it is infeasible (exact decimal sums)."""
    nodes, pods = data["nodes"], data["pods"]
    cpu = [Decimal(0)] * len(nodes)
    mem = [Decimal(0)] * len(nodes)
    for q, n in zip(pods, where, strict=True):
        if q.get("protected") and n != q["node"]:
            return None
        if n is not None:
            cpu[n] += Decimal(str(q["cpu"]))
            mem[n] += Decimal(str(q["memory"]))
    if any(
        c > Decimal(str(v["cpu"])) or m > Decimal(str(v["memory"])) for c, m, v in zip(cpu, mem, nodes, strict=True)
    ):
        return None
    levels = sorted({q["priority"] for q in pods}, reverse=True)
    counts = [
        sum(1 for q, n in zip(pods, where, strict=True) if n is not None and q["priority"] >= lv) for lv in levels
    ]
    moved = sum(1 for q, n in zip(pods, where, strict=True) if q["node"] is not None and n != q["node"])
    return (*map(float, counts), float(-moved))


def brute_force(data: dict[str, Any]) -> tuple[float, ...]:
    """The lexicographic optimum over every placement (tiny instances only)."""
    choices = [None, *range(len(data["nodes"]))]
    best = None
    for where in itertools.product(choices, repeat=len(data["pods"])):
        v = vector(data, where)
        if v is not None and (best is None or v > best):
            best = v
    assert best is not None  # every pod pending but the protected ones is feasible
    return best


def random_tiny(rng: np.random.Generator) -> dict[str, Any]:
    m = int(rng.integers(1, 4))
    n = int(rng.integers(1, 7 if m < 3 else 6))
    decimals = rng.random() < 0.25
    nodes = [
        {"name": f"n{i}", "cpu": int(rng.integers(0, 6)) + (0.5 if decimals else 0), "memory": int(rng.integers(1, 8))}
        for i in range(m)
    ]
    pods: list[dict[str, Any]] = []
    for p in range(n):
        cpu = int(rng.integers(0, 4)) + (0.5 if decimals and rng.random() < 0.5 else 0)
        pod = {
            "name": f"p{p}",
            "cpu": cpu,
            "memory": int(rng.integers(0, 5)),
            "priority": int(rng.choice([0, 5, 5, 10])),
            "node": int(rng.integers(m)) if rng.random() < 0.6 else None,
        }
        pods.append(pod)
    # A protected pod now and then, only where the protected pods of its node fit (otherwise the file is invalid).
    for pod in pods:
        if pod["node"] is not None and rng.random() < 0.25:
            node = nodes[pod["node"]]
            same = [q for q in pods if q.get("protected") and q["node"] == pod["node"]]
            cpu_ok = sum(q["cpu"] for q in same) + pod["cpu"] <= node["cpu"]
            if cpu_ok and sum(q["memory"] for q in same) + pod["memory"] <= node["memory"]:
                pod["protected"] = True
    return {"nodes": nodes, "pods": pods}


def entrywise_at_least(bound: tuple[float, ...], value: tuple[float, ...]) -> bool:
    return all(b >= v - 1e-9 for b, v in zip(bound, value, strict=True))


# ---------------------------------------------------------------------------------- brute force
def test_exact_methods_match_brute_force_and_the_greedy_stays_within_its_bounds() -> None:
    rng = np.random.default_rng(11)
    shortcut = 0
    for _ in range(40):
        data = random_tiny(rng)
        best = brute_force(data)
        inst = doc(data)
        # As run by default (the greedy's placement may prove leading stages, or all of them, by the counting
        # bounds), and the engines alone: cp without the greedy's hint, milp on a model passed in (no greedy).
        pure_milp = {"model": allocopt.build_model(inst)}
        for method, opts in (("cp", FAST), ("cp", {**FAST, "hint": False}), ("milp", {}), ("milp", pure_milp)):
            r = allocopt.solve(inst, method=method, **opts)
            assert r.status == "optimal" and r.gap == 0.0, (data, method, opts, r.message)
            assert r.objective == best and r.bound == best, (data, method, opts)
            if "model" in opts or opts.get("hint") is False:
                assert "proven_by" not in r.details and len(r.details["stages"]) == len(best)
            shortcut += "proven_by" in r.details
        g = allocopt.solve(inst, method="greedy")
        assert g.verified and g.objective <= best, data
        assert entrywise_at_least(g.bound, g.objective) and entrywise_at_least(g.bound, best), data
        assert g.status == ("optimal" if g.bound == g.objective else "feasible")
        assert g.gap == (0.0 if g.status == "optimal" else None)
    assert 0 < shortcut < 80  # both paths of the default runs were taken


@pytest.mark.parametrize("seed", [100, 103, 108])
def test_cp_and_milp_agree_on_small_generated_clusters(seed: int) -> None:
    inst = doc(random_cluster(seed, nodes=4, pods=24, protected=0.15))
    runs = [
        allocopt.solve(inst, method="cp", hint=False, **FAST),
        allocopt.solve(inst, method="milp", model=allocopt.build_model(inst)),
        allocopt.solve(inst, method="cp", **FAST),
        allocopt.solve(inst, method="milp"),
    ]
    assert all(r.status == "optimal" for r in runs)
    assert len({r.objective for r in runs}) == 1


@pytest.mark.parametrize("path", PP_OPTIMA, ids=lambda p: p.name)
def test_committed_instances_with_an_optimum_match_brute_force_or_both_exact_methods(path: Path) -> None:
    data = json.loads(path.read_text())
    optimum = tuple(float(v) for v in data["reference"]["optimum"])
    if len(data["data"]["pods"]) <= 6:
        assert brute_force(data["data"]) == optimum
    else:
        for method, opts in (("cp", FAST), ("milp", {})):
            r = allocopt.solve(path, method=method, **opts)
            assert r.status == "optimal" and r.objective == optimum


@pytest.mark.parametrize("path", PP_FILES, ids=lambda p: p.name)
def test_committed_instances_are_solved_by_auto_within_their_reference(path: Path) -> None:
    assert main(["validate", str(path)]) == 0
    inst = allocopt.load(path)
    r = allocopt.solve(inst, time_limit=5)
    assert r.verified
    if inst.reference_optimum is not None:
        assert r.status == "optimal" and r.objective == inst.reference_optimum
    else:
        # lower: the best vector known, upper: a bound on every entry; lexicographically
        # objective <= optimum <= upper and lower <= optimum <= bound.
        lower = tuple(float(v) for v in inst.reference["lower"])
        upper = tuple(float(v) for v in inst.reference["upper"])
        assert r.objective <= upper and lower <= r.bound


# ---------------------------------------------------------------------------------- the hand-made instances
def test_the_greedy_leaves_the_high_priority_pod_pending_and_the_exact_methods_move_one_pod() -> None:
    path = PP_DIR / "priority_matters_two_nodes.json"
    inst = allocopt.load(path)
    names = [q.name for q in inst.data.pods]
    g = allocopt.solve(inst, method="greedy")
    assert g.solution["node"][names.index("train")] is None
    assert g.objective == (2.0, 3.0, 0.0) and g.status == "feasible" and g.gap is None
    for method in ("cp", "milp"):
        r = allocopt.solve(inst, method=method)
        assert r.status == "optimal" and r.objective == (3.0, 4.0, -1.0) == inst.reference_optimum
        node = r.solution["node"]
        assert node[names.index("train")] is not None
        running = [p for p, q in enumerate(inst.data.pods) if q.node is not None]
        assert sum(node[p] != inst.data.pods[p].node for p in running) == 1
    assert allocopt.solve(inst).method == "cp"


def test_preemption_evicts_a_lower_priority_pod_that_lands_elsewhere() -> None:
    inst = allocopt.load(PP_DIR / "preemption_two_nodes.json")
    r = allocopt.solve(inst, method="greedy")
    assert r.objective == inst.reference_optimum and r.details["preemptions"] == 1
    assert r.status == "feasible" and r.gap is None  # optimal, but the counting bounds do not prove it
    assert r.solution["node"] == [1, 0, 1, 0]  # batch-1 evicted from node-0, rescheduled on node-1
    off = allocopt.solve(inst, method="greedy", preemption=False)
    assert off.solution["node"][3] is None and off.objective == (0.0, 1.0, 3.0, 0.0)


def test_a_node_over_capacity_now_sheds_its_lowest_priority_pod() -> None:
    inst = allocopt.load(PP_DIR / "overcommitted_node.json")
    r = allocopt.solve(inst, method="greedy")
    assert r.status == "optimal" and r.objective == inst.reference_optimum and r.details["shed"] == 1
    assert r.solution["node"][2] is None  # batch, the lowest priority on node-0
    assert r.bound == r.objective  # the counting bounds and the disruption bound close
    a = allocopt.solve(inst)
    assert a.method == "cp" and a.status == "optimal" and "proven_by" in a.details


def test_the_generated_instances_are_what_the_generator_gives() -> None:
    for path in PP_FILES:
        d = json.loads(path.read_text())
        source = d["reference"].get("source", "") + d.get("description", "")
        if "random_cluster(" not in source:
            continue
        args = source.split("random_cluster(")[1].split(")")[0]
        kwargs = dict(kv.strip().split("=") for kv in args.split(","))
        regenerated = random_cluster(**{k: int(v) for k, v in kwargs.items()})
        assert regenerated == d["data"], path.name


# ---------------------------------------------------------------------------------- status, gap, time limits
def test_a_time_limited_exact_run_is_feasible_with_gap_null_and_never_worse_than_the_greedy() -> None:
    data = random_cluster(1, nodes=20, pods=200)
    greedy = allocopt.solve(doc(data), method="greedy")
    r = allocopt.solve(doc(data), method="cp", time_limit=1.0, **FAST)
    assert r.verified and r.status == "feasible" and r.gap is None
    assert r.objective >= greedy.objective
    assert entrywise_at_least(r.bound, greedy.objective)
    stages = r.details["stages"]
    assert len(stages) <= 5 and not all(s["proven"] for s in stages)
    saved = r.to_dict()
    assert isinstance(saved["objective"], list) and isinstance(saved["bound"], list) and saved["gap"] is None


def test_auto_takes_the_greedy_on_a_large_cluster() -> None:
    inst = allocopt.load(PP_DIR / "cluster_100x1000.json")
    r = allocopt.solve(inst)
    assert r.method == "greedy" and r.verified and r.status == "feasible" and r.gap is None
    assert r.runtime_s < 5


def test_an_empty_cluster_and_no_pods() -> None:
    nothing = doc({"nodes": [], "pods": [{"name": "a", "cpu": 1, "memory": 1, "priority": 0, "node": None}]})
    for method in ("cp", "milp", "greedy"):
        r = allocopt.solve(nothing, method=method, **(FAST if method == "cp" else {}))
        assert r.status == "optimal" and r.objective == (0.0, 0.0) and r.solution == {"node": [None]}
    idle = doc({"nodes": [{"name": "n", "cpu": 1, "memory": 1}], "pods": []})
    for method in ("cp", "milp", "greedy"):
        r = allocopt.solve(idle, method=method, **(FAST if method == "cp" else {}))
        assert r.status == "optimal" and r.objective == (0.0,) and r.solution == {"node": []}


def test_decimal_requests_fill_a_node_exactly() -> None:
    data = {
        "nodes": [{"name": "n", "cpu": 0.3, "memory": 1}],
        "pods": [
            {"name": n, "cpu": c, "memory": 0.5, "priority": 0, "node": None} for n, c in (("a", 0.1), ("b", 0.2))
        ],
    }
    for method in ("cp", "milp", "greedy"):
        r = allocopt.solve(doc(data), method=method)
        assert r.status == "optimal" and r.solution == {"node": [0, 0]}, method


# ---------------------------------------------------------------------------------- checker and bad input
def test_checker_rejects_overfull_nodes_moved_protected_pods_and_wrong_shapes() -> None:
    inst = allocopt.load(PP_DIR / "overcommitted_node.json")
    good = allocopt.verify(inst, {"node": [0, 0, None, 1, 0]})
    assert good.feasible and good.objective == (1.0, 3.0, 4.0, -1.0)
    full = allocopt.verify(inst, {"node": [0, 0, 0, 1, None]})
    assert not full.feasible and "over its cpu" in full.reason
    tight = doc(
        {
            "nodes": [{"name": "n", "cpu": 4, "memory": 2}],
            "pods": [{"name": k, "cpu": 1, "memory": 1.5, "priority": 0, "node": None} for k in "ab"],
        }
    )
    memory = allocopt.verify(tight, {"node": [0, 0]})
    assert not memory.feasible and "over its memory: 3.0 > 2" in memory.reason
    moved = allocopt.verify(inst, {"node": [1, 0, None, 1, None]})
    assert not moved.feasible and "protected" in moved.reason
    for bad, why in (
        ([0, 0], "list of 5"),
        ([0, 0, None, 1, 2], "out of range"),
        ([0, 0, None, 1, True], "not a node"),
    ):
        v = allocopt.verify(inst, {"node": bad})
        assert not v.feasible and why in v.reason, bad
    assert not allocopt.verify(inst, {"machine": [0]}).feasible


BASE = {
    "nodes": [{"name": "a", "cpu": 4, "memory": 8}, {"name": "b", "cpu": 2, "memory": 2}],
    "pods": [
        {"name": "x", "cpu": 1, "memory": 1, "priority": 5, "node": 0},
        {"name": "y", "cpu": 1, "memory": 1, "priority": 1, "node": None},
    ],
}


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(BASE))
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (_with(("pods", 1, "node"), 2), "data.pods[1].node"),
        (_with(("pods", 1, "node"), -1), "data.pods[1].node"),
        (_with(("nodes", 0, "cpu"), -1), "data.nodes[0].cpu"),
        (_with(("pods", 0, "memory"), -0.5), "data.pods[0].memory"),
        (_with(("pods", 0, "priority"), 2.5), "data.pods[0].priority"),
        (_with(("pods", 0, "priority"), "high"), "data.pods[0].priority"),
        (_with(("pods", 1, "protected"), True), "data.pods[1].protected"),
        (_with(("pods", 0, "node"), KeyError), "data.pods[0]"),
        (_with(("pods", 0, "nodes"), 1), "data.pods[0].nodes"),
        (_with(("nodes", 1, "name"), "a"), "data.nodes[1].name"),
        (_with(("pods", 1, "name"), "x"), "data.pods[1].name"),
        (
            {**BASE, "pods": [{"name": "big", "cpu": 3, "memory": 1, "priority": 0, "node": 1, "protected": True}]},
            "data.pods[0]",
        ),
    ],
)
def test_bad_instances_exit_2_with_the_json_path(
    data: dict[str, Any], path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(doc(data)))
    assert main(["validate", str(src)]) == 2
    assert path in capsys.readouterr().err
    assert main(["solve", str(src), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_a_running_pod_may_sit_on_a_node_over_capacity_but_not_a_protected_set() -> None:
    over = _with(("pods", 0, "cpu"), 5)  # x asks 5 cpu of node a's 4: the current state, not an error
    r = allocopt.solve(doc(over), method="cp", **FAST)
    assert r.status == "optimal" and r.solution["node"][0] is None and r.objective == brute_force(over)


@pytest.mark.parametrize("method", ["cp", "milp", "greedy"])
def test_solution_files_round_trip_through_the_cli(method: str, tmp_path: Path) -> None:
    src = PP_DIR / "priority_matters_two_nodes.json"
    assert main(["solve", str(src), "--method", method, "--out", str(tmp_path)]) == 0
    sol = tmp_path / "priority_matters_two_nodes.solution.json"
    saved = json.loads(sol.read_text())
    assert saved["verified"] and isinstance(saved["objective"], list) and isinstance(saved["bound"], list)
    assert saved["status"] == ("feasible" if method == "greedy" else "optimal")
    assert main(["check", str(src), str(sol)]) == 0
    saved["objective"] = [3, 4, 0]  # a stated objective that the placement does not have
    sol.write_text(json.dumps(saved))
    assert main(["check", str(src), str(sol)]) != 0


def test_options_that_do_not_apply_say_why() -> None:
    inst = PP_DIR / "priority_matters_two_nodes.json"
    with pytest.raises(UsageError, match="preemption"):
        allocopt.solve(inst, method="cp", preemption=True)
    with pytest.raises(UsageError, match="must be true or false"):
        allocopt.solve(inst, method="greedy", preemption="yes")
    many = doc({"nodes": [{"name": "n", "cpu": 0.1234567890123456, "memory": 1}], "pods": []})
    with pytest.raises(UsageError, match="exactly to integers"):
        allocopt.solve(many, method="cp")
    assert allocopt.solve(many).method == "milp"


def test_models_extended_by_a_user() -> None:
    inst = allocopt.load(PP_DIR / "priority_matters_two_nodes.json")
    model = allocopt.build_model(inst)
    for n in (0, 1):
        model.assign[2, n].fix(0)  # keep train pending whatever happens
    r = allocopt.solve(inst, method="milp", model=model)
    assert r.verified and r.solution["node"][2] is None and r.objective == (2.0, 3.0, 0.0)
    assert not any(o.active for o in model.component_data_objects(pyo.Objective))  # left as it came
    cp = allocopt.build_cp_model(inst)
    cp.Add(cp.assign[0, 0] == 1)  # api stays on node-a: db must move instead
    r = allocopt.solve(inst, method="cp", model=cp, **FAST)
    assert r.status == "optimal" and r.solution["node"][:2] == [0, 0] and r.objective == (3.0, 4.0, -1.0)


# ---------------------------------------------------------------------------------- the generic staged runners
def _toy_values() -> list[tuple[int, int, int]]:
    """Three 0/1 variables with a + b + c <= 2 and 2a + b <= 2: every feasible point as (a, b, c)."""
    return [p for p in itertools.product((0, 1), repeat=3) if sum(p) <= 2 and 2 * p[0] + p[1] <= 2]


def test_pyomo_stages_reach_the_lexicographic_optimum_and_restore_the_model() -> None:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(3), domain=pyo.Binary)
    m.cap = pyo.Constraint(expr=sum(m.x[i] for i in range(3)) <= 2)
    m.w = pyo.Constraint(expr=2 * m.x[0] + m.x[1] <= 2)
    m.own = pyo.Objective(expr=m.x[2])
    goals = [(m.x[1] + m.x[2], "max"), (m.x[0], "max"), (m.x[2], "min")]
    run = solve_stages(m, goals)
    best = max(_toy_values(), key=lambda p: (p[1] + p[2], p[0], -p[2]))
    assert run.proven and run.values == (best[1] + best[2], best[0], best[2])
    assert run.bounds == run.values
    assert m.own.active and m.component("_lexicographic_stages") is None
    assert tuple(round(pyo.value(m.x[i])) for i in range(3)) == best


def test_cp_stages_with_a_tiebreak_reach_the_same_optimum() -> None:
    model = cp_model.CpModel()
    x = [model.NewBoolVar(f"x{i}") for i in range(3)]
    model.Add(sum(x) <= 2)
    model.Add(2 * x[0] + x[1] <= 2)
    goals = [(x[1] + x[2], "max"), (x[0], "max"), (x[2], "min")]
    best = max(_toy_values(), key=lambda p: (p[1] + p[2], p[0], -p[2]))
    want = (float(best[1] + best[2]), float(best[0]), float(best[2]))
    for tiebreaks in (None, [(x[0] - x[2], -1, 1), (-x[2], -1, 0), None]):
        run = solve_cp_stages(model, goals, workers=1, tiebreaks=tiebreaks)
        assert run.proven and run.values == want and run.bounds == want
    assert not model.HasObjective()  # the caller's model is untouched


def test_stages_after_an_unproven_one_report_no_engine_bound() -> None:
    # Once a stage is unproven, the later stages' engine bounds hold only given the values found: withheld.
    def stage(value: float, bound: float) -> StageRun:
        return StageRun("max", "solved", value, bound, "t", 0.0, True)

    stages = [stage(3, 3), stage(5, 7), stage(2, 2), stage(1, 4)]
    assert _valid_bounds(stages) == (3, 7, None, None)
    assert _valid_bounds([stage(3, 3), stage(4, 4)]) == (3, 4)


def test_stages_the_caller_proved_are_kept_and_not_solved() -> None:
    model = cp_model.CpModel()
    x = [model.NewBoolVar(f"x{i}") for i in range(3)]
    model.Add(sum(x) <= 2)
    goals = [(x[0] + x[1], "max"), (x[2], "max")]
    run = solve_cp_stages(model, goals, workers=1, hint=[(x[0], 1), (x[1], 1), (x[2], 0)], proven=[2])
    assert run.stages[0].termination == "proven by the caller" and run.values == (2.0, 0.0) and run.proven
    with pytest.raises(UsageError, match="at least the last stage"):
        solve_cp_stages(model, goals, proven=[2, 0])
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(3), domain=pyo.Binary)
    m.cap = pyo.Constraint(expr=sum(m.x[i] for i in range(3)) <= 2)
    run = solve_stages(m, [(m.x[0] + m.x[1], "max"), (m.x[2], "max")], proven=[2])
    assert run.values == (2.0, 0.0) and run.stages[1].own_solution


def test_a_time_limit_skips_the_stages_it_leaves_no_time_for() -> None:
    model = cp_model.CpModel()
    x = [model.NewBoolVar(f"x{i}") for i in range(3)]
    goals = [(x[0], "max"), (x[1], "max"), (x[2], "max")]
    run = solve_cp_stages(model, goals, time_limit=0.01, workers=1, min_stage_seconds=1.0)
    assert run.status == "solved" and run.stages[0].own_solution  # the first stage always runs
    assert [s.termination for s in run.stages[1:]] == ["skipped: no time left"] * 2
    assert run.bounds[1:] == (None, None) and run.values[0] == 1.0
