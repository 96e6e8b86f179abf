"""combinatorial_auction through the front door, against numbers nobody here computed.

- CATS files (committed instances): the WDP optimum equals the HiGHS-proven value of the benchmark notes (every
  100-goods/100-bids file, HiGHS and CP-SAT, and the one 100/500 file that takes well under a second);
- brute force over every subset of bids of tiny random auctions (xor and or bidding, supply > 1, reserves): the
  milp (HiGHS and CP-SAT engines, and the Pyomo model of build_model) reaches it, the greedy stays below it and
  its LP bound above it;
- VCG payments equal an independent brute-force re-solve per bidder written here, and the hand-derived example
  (instances/combinatorial_auction/examples/three-goods-vcg.json: alice pays 8, bob 4);
- LOS critical payments: a winner bidding just above its payment still wins, just below loses;
- the checker's individual rationality; the CATS importer; bad input and bad usage through the CLI (exit 2).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DATA, INSTANCES, instance_doc, instance_files

import allocopt
import allocopt.methods.combinatorial_auction  # registers the problem
from allocopt.cli import main
from allocopt.errors import UsageError
from allocopt.importers.cats import read_cats
from allocopt.methods.combinatorial_auction import arrays
from allocopt.models.combinatorial_auction import build_cp_model
from allocopt.solvers.cpsat import ScaleError, integer_scale, solve_cp
from allocopt.solvers.vcg import vcg_payments

CATS_DIR = INSTANCES / "combinatorial_auction" / "cats"
EXAMPLE = INSTANCES / "combinatorial_auction" / "examples" / "three-goods-vcg.json"
TOL = 1e-6


def close(a: float, b: float, tol: float = TOL) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


# ------------------------------------------------------------------------------------ independent brute force
def _feasible(data: dict[str, Any], chosen: tuple[int, ...]) -> bool:
    supply = data.get("supply", [1] * data["goods"])
    used = [0] * data["goods"]
    owners: list[str] = []
    for j in chosen:
        for g in data["bids"][j]["goods"]:
            used[g] += 1
        owners.append(data["bids"][j]["bidder"])
    if any(u > s for u, s in zip(used, supply, strict=True)):
        return False
    return data.get("bidding", "xor") == "or" or len(owners) == len(set(owners))


def _welfare(data: dict[str, Any], chosen: tuple[int, ...]) -> float:
    reserve = data.get("reserve", [0] * data["goods"])
    return sum(data["bids"][j]["price"] - sum(reserve[g] for g in data["bids"][j]["goods"]) for j in chosen)


def brute_force(data: dict[str, Any], without: str | None = None) -> float:
    """The optimum over every subset of bids (optionally with one bidder's bids removed)."""
    bids = [j for j, b in enumerate(data["bids"]) if b["bidder"] != without]
    best = 0.0
    for k in range(1, len(bids) + 1):
        for chosen in itertools.combinations(bids, k):
            if _feasible(data, chosen):
                best = max(best, _welfare(data, chosen))
    return best


def brute_force_vcg(data: dict[str, Any], win: list[int]) -> dict[str, float]:
    """Clarke pivot from scratch: t_i = W(-i) - (W* - price of i's winning bids), 0 for losers."""
    chosen = tuple(j for j, w in enumerate(win) if w)
    total = _welfare(data, chosen)
    pay = {b["bidder"]: 0.0 for b in data["bids"]}
    for name in pay:
        price = sum(data["bids"][j]["price"] for j in chosen if data["bids"][j]["bidder"] == name)
        if price or any(data["bids"][j]["bidder"] == name for j in chosen):
            pay[name] = brute_force(data, without=name) - (total - price)
    return pay


def random_auction(
    rng: np.random.Generator, goods: int, bids: int, bidders: int, bidding: str, supply: bool, reserve: bool
) -> dict[str, Any]:
    data: dict[str, Any] = {"goods": goods, "bidding": bidding, "bids": []}
    for _ in range(bids):
        size = int(rng.integers(1, min(3, goods) + 1))
        bundle = sorted(int(g) for g in rng.choice(goods, size, replace=False))
        price = round(float(rng.uniform(0, 10 * size)), int(rng.integers(0, 3)))
        data["bids"].append({"bidder": f"b{int(rng.integers(bidders))}", "goods": bundle, "price": price})
    if supply:
        data["supply"] = [int(s) for s in rng.integers(1, 3, goods)]
    if reserve:
        data["reserve"] = [round(float(r), 1) for r in rng.uniform(0, 4, goods)]
    return data


VARIANTS = [
    pytest.param(bidding, supply, reserve, id=f"{bidding}-supply{int(supply)}-reserve{int(reserve)}")
    for bidding in ("xor", "or")
    for supply in (False, True)
    for reserve in (False, True)
]


# ---------------------------------------------------------------------------------------------- CATS optima
def _cats(pattern: str) -> list[Any]:
    return [pytest.param(p, id=p.stem) for p in instance_files(CATS_DIR) if p.match(pattern)]


def test_all_twelve_cats_files_are_committed_with_references() -> None:
    files = instance_files(CATS_DIR)
    assert len(files) == 12
    assert all(allocopt.load(p).reference_optimum is not None for p in files)


@pytest.mark.parametrize("path", _cats("*-100-100-*.json") + _cats("2atom-100-500-*.json"))
def test_milp_reaches_the_cats_optimum(path: Path) -> None:
    """Every 100-bid file (and the 500-bid 2atom one), on the solver milp picks: CP-SAT for the large bundles of
    the arbitrary distribution, HiGHS for the 2- and 3-good bundles of L3."""
    inst = allocopt.load(path)
    r = allocopt.solve(inst, method="milp")
    assert r.status == "optimal" and r.verified
    assert close(r.objective, inst.reference_optimum)
    assert r.solver == ("cpsat" if path.stem.startswith("arbitrary") else "highs")
    assert r.details["solver_choice"].startswith(r.solver)


@pytest.mark.parametrize(
    ("path", "solver"),
    [pytest.param(p.values[0], "highs", id=f"highs-{p.id}") for p in _cats("arbitrary-100-100-000[04].json")]
    + [pytest.param(p.values[0], "cpsat", id=f"cpsat-{p.id}") for p in _cats("[23]atom-100-100-*.json")],
)
def test_milp_reaches_the_cats_optimum_on_the_other_solver(path: Path, solver: str) -> None:
    inst = allocopt.load(path)
    r = allocopt.solve(inst, method="milp", solver=solver)
    assert r.status == "optimal" and r.verified and r.solver == solver
    assert close(r.objective, inst.reference_optimum)


def test_greedy_brackets_a_cats_optimum() -> None:
    inst = allocopt.load(CATS_DIR / "arbitrary-100-100-0000.json")
    r = allocopt.solve(inst, method="greedy", payments="pay_as_bid")
    assert r.verified and r.status in ("feasible", "optimal")
    assert r.objective <= inst.reference_optimum + TOL <= r.bound + 2 * TOL
    assert r.details["bound_kind"] == "lp"


# ------------------------------------------------------------------------------------------ brute force
@pytest.mark.parametrize(("bidding", "supply", "reserve"), VARIANTS)
def test_milp_and_greedy_against_brute_force(
    rng: np.random.Generator, bidding: str, supply: bool, reserve: bool
) -> None:
    for trial in range(6):
        data = random_auction(rng, goods=4, bids=7, bidders=4, bidding=bidding, supply=supply, reserve=reserve)
        doc = instance_doc("combinatorial_auction", data, name=f"t{trial}")
        best = brute_force(data)
        for solver in ("highs", "cpsat"):
            r = allocopt.solve(doc, method="milp", solver=solver)
            assert r.status == "optimal" and r.verified, (solver, r.message)
            assert close(r.objective, best), (solver, data)
        model = allocopt.build_model(doc)
        r = allocopt.solve(doc, method="milp", model=model)
        assert r.status == "optimal" and close(r.objective, best)
        cp = build_cp_model(allocopt.instance_from_dict(doc).data)
        r = allocopt.solve(doc, method="milp", solver="cpsat", model=cp, payments="pay_as_bid")
        assert r.status == "optimal" and close(r.objective, best) and "payments" in r.solution
        g = allocopt.solve(doc, method="greedy")
        assert g.verified and g.objective <= best + TOL and g.bound >= best - TOL


@pytest.mark.parametrize(("bidding", "supply", "reserve"), VARIANTS)
def test_vcg_payments_equal_an_independent_re_solve_per_bidder(
    rng: np.random.Generator, bidding: str, supply: bool, reserve: bool
) -> None:
    for trial in range(4):
        data = random_auction(rng, goods=4, bids=7, bidders=4, bidding=bidding, supply=supply, reserve=reserve)
        doc = instance_doc("combinatorial_auction", data, name=f"t{trial}")
        for solver in ("highs", "cpsat"):
            r = allocopt.solve(doc, method="milp", solver=solver, payments="vcg")
            assert r.status == "optimal" and r.verified
            expected = brute_force_vcg(data, r.solution["win"])
            assert set(r.solution["payments"]) == set(expected)
            for name, pay in expected.items():
                assert close(r.solution["payments"][name], pay), (solver, name, data)


def test_vcg_in_parallel_processes_matches_one_after_another() -> None:
    inst = allocopt.load(CATS_DIR / "3atom-100-100-0000.json")
    one = allocopt.solve(inst, method="milp", payments="vcg")
    two = allocopt.solve(inst, method="milp", payments="vcg", workers=2)
    assert one.status == two.status == "optimal"
    for name, pay in one.solution["payments"].items():
        assert close(two.solution["payments"][name], pay)
    winners = {inst.data.names[int(inst.data.bidder[j])] for j, w in enumerate(one.solution["win"]) if w}
    assert one.details["vcg_resolves"] == two.details["vcg_resolves"] == len(winners)
    assert sum(one.solution["payments"].values()) > 0


def test_hand_derived_vcg_example() -> None:
    """The example of docs/format.md: alice pays 13 - (15 - 10) = 8, bob 12 - (15 - 7) = 4, the others 0."""
    for solver in ("highs", "cpsat"):
        r = allocopt.solve(EXAMPLE, method="milp", solver=solver, payments="vcg")
        assert r.status == "optimal" and r.objective == pytest.approx(15)
        assert r.solution["win"] == [1, 0, 1, 0, 0, 0]
        assert r.solution["payments"] == pytest.approx({"alice": 8, "bob": 4, "carol": 0, "dave": 0, "erin": 0})
        assert r.details["vcg_resolves"] == 2  # losers pay 0 without a re-solve


def test_pay_as_bid_charges_each_winner_its_prices() -> None:
    data = json.loads(EXAMPLE.read_text())["data"]
    for method in ("milp", "greedy"):
        r = allocopt.solve(instance_doc("combinatorial_auction", data), method=method, payments="pay_as_bid")
        assert r.verified
        expected = {b["bidder"]: 0.0 for b in data["bids"]}
        for j, w in enumerate(r.solution["win"]):
            expected[data["bids"][j]["bidder"]] += w * data["bids"][j]["price"]
        assert r.solution["payments"] == pytest.approx(expected)


def test_vcg_re_solves_out_of_time_leave_payments_unproven() -> None:
    inst = allocopt.load(CATS_DIR / "3atom-100-100-0000.json")
    r = allocopt.solve(inst, method="milp")
    a = arrays(inst.data)
    win = np.array(r.solution["win"], dtype=bool)
    exact = vcg_payments(a, win)
    assert exact.proven.all()
    starved = vcg_payments(a, win, time_limit=1e-9)
    winners = np.unique(a.bidder[win])
    assert not starved.proven[winners].any()
    # the true payment lies in every reported interval
    assert np.all(starved.lower <= exact.payments + TOL) and np.all(exact.payments <= starved.upper + TOL)


# ----------------------------------------------------------------------------------- critical payments
def _single_minded(rng: np.random.Generator, goods: int, bids: int, supply: bool, reserve: bool) -> dict[str, Any]:
    data = random_auction(rng, goods, bids, bids, "xor", supply, reserve)
    for j, bid in enumerate(data["bids"]):
        bid["bidder"] = f"s{j}"
    return data


@pytest.mark.parametrize("supply", [False, True])
@pytest.mark.parametrize("reserve", [False, True])
def test_critical_payment_is_the_threshold_between_winning_and_losing(
    rng: np.random.Generator, supply: bool, reserve: bool
) -> None:
    for _ in range(5):
        data = _single_minded(rng, goods=6, bids=12, supply=supply, reserve=reserve)
        r = allocopt.solve(instance_doc("combinatorial_auction", data), method="greedy", payments="critical")
        assert r.verified
        for j, w in enumerate(r.solution["win"]):
            name = data["bids"][j]["bidder"]
            pay = r.solution["payments"][name]
            if not w:
                assert pay == 0
                continue
            eps = 1e-6 * max(1.0, pay)
            for price, wins in ((pay + eps, 1), (pay - eps, 0)):
                if price < 0:
                    continue
                changed = json.loads(json.dumps(data))
                changed["bids"][j]["price"] = price
                again = allocopt.solve(instance_doc("combinatorial_auction", changed), method="greedy")
                assert again.solution["win"][j] == wins, (j, pay, price, data)


# ------------------------------------------------------------------------------------------------ checker
def test_checker_rejects_payments_that_break_individual_rationality() -> None:
    inst = allocopt.load(EXAMPLE)
    win = [1, 0, 1, 0, 0, 0]
    fair = {"alice": 8, "bob": 4, "carol": 0, "dave": 0, "erin": 0}
    assert allocopt.verify(inst, {"win": win, "payments": fair}).feasible
    too_much = allocopt.verify(inst, {"win": win, "payments": {**fair, "alice": 10.5}})
    assert not too_much.feasible and "alice" in too_much.reason
    loser = allocopt.verify(inst, {"win": win, "payments": {**fair, "carol": 1}})
    assert not loser.feasible and "carol" in loser.reason
    missing = allocopt.verify(inst, {"win": win, "payments": {"alice": 8}})
    assert not missing.feasible
    negative = allocopt.verify(inst, {"win": win, "payments": {**fair, "bob": -1}})
    assert not negative.feasible
    two_for_bob = allocopt.verify(inst, {"win": [0, 1, 1, 0, 0, 0]})
    assert not two_for_bob.feasible and "xor" in two_for_bob.reason


# ----------------------------------------------------------------------------------------------- importer
def test_read_cats_turns_dummy_goods_into_xor_bidders() -> None:
    (doc,) = read_cats(DATA / "cats" / "arbitrary-100-100-0000.txt")
    data = doc["data"]
    assert data["goods"] == 100 and data["bidding"] == "xor" and len(data["bids"]) == 101
    first = data["bids"][0]
    assert first == {
        "bidder": "dummy-100",
        "goods": [16, 23, 29, 32, 33, 38, 60, 67, 68, 69, 71, 72, 93, 95],
        "price": 1186.19,
    }
    assert len({b["bidder"] for b in data["bids"] if b["bidder"].startswith("dummy-")}) == 18
    assert doc["reference"]["optimum"] == 4812.372
    (atom,) = read_cats(DATA / "cats" / "3atom-100-100-0000.txt")
    assert all(b["bidder"].startswith("bid-") for b in atom["data"]["bids"])  # no dummy goods: single-minded
    assert atom["reference"]["optimum"] == 15202.288


def test_read_cats_attaches_no_reference_to_a_different_file_of_the_same_name(tmp_path: Path) -> None:
    text = (DATA / "cats" / "3atom-100-100-0000.txt").read_text()
    changed = text.replace("\t", " ", 3)  # spacing does not change the content digest
    (tmp_path / "3atom-100-100-0000.txt").write_text(changed)
    assert read_cats(tmp_path / "3atom-100-100-0000.txt")[0]["reference"]["optimum"] == 15202.288
    lines = text.splitlines()
    last = next(i for i in range(len(lines) - 1, -1, -1) if lines[i].endswith("#"))
    parts = lines[last].split("\t")
    parts[1] = str(float(parts[1]) + 1)
    lines[last] = "\t".join(parts)
    (tmp_path / "3atom-100-100-0000.txt").write_text("\n".join(lines) + "\n")
    assert "reference" not in read_cats(tmp_path / "3atom-100-100-0000.txt")[0]


def test_cli_import_cats_writes_a_loadable_instance(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["import", "cats", str(DATA / "cats" / "3atom-100-100-0000.txt"), "--out", str(out)]) == 0
    inst = allocopt.load(out / "3atom-100-100-0000.json")
    assert inst.reference_optimum == 15202.288


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda ls: [*ls[:-1]], "bid lines"),  # one bid line missing
        (lambda ls: [ls[0].replace("goods 100", "goods x"), *ls[1:]], "goods"),
        (lambda ls: [*ls[:-1], ls[-1].replace("#", "")], "id price good"),
        (lambda ls: [*ls[:-1], ls[-1].replace("\t#", "\t500\t#")], "out of range"),
    ],
)
def test_cli_import_refuses_a_malformed_cats_file(tmp_path: Path, capsys: pytest.CaptureFixture, edit, words) -> None:
    lines = [ln for ln in (DATA / "cats" / "3atom-100-100-0000.txt").read_text().splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("%")]
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(edit(lines)) + "\n")
    out = tmp_path / "out"
    assert main(["import", "cats", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.txt" in err and words in err
    assert not out.exists() or not any(out.iterdir())


# --------------------------------------------------------------------------------------------- bad input
def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(instance_doc("combinatorial_auction", data, name="bad")))
    return path


BASE = {"goods": 3, "bids": [{"bidder": "a", "goods": [0, 1], "price": 5}, {"bidder": "b", "goods": [2], "price": 3}]}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"bids": [{"bidder": "a", "goods": [0, 3], "price": 5}]}, "data.bids[0].goods[1]"),
        ({"bids": [{"bidder": "a", "goods": [1, 1], "price": 5}]}, "data.bids[0].goods[1]"),
        ({"bids": [{"bidder": "a", "goods": [0], "price": -1}]}, "data.bids[0].price"),
        ({"bids": [{"bidder": "a", "goods": [], "price": 1}]}, "data.bids[0].goods"),
        ({"supply": [1, 1]}, "data.supply"),
        ({"reserve": [0, 1, 2, 3]}, "data.reserve"),
        ({"reserve": [0, -1, 2]}, "data.reserve[1]"),
        ({"bidding": "and"}, "data.bidding"),
    ],
)
def test_cli_refuses_bad_input_with_the_json_path(tmp_path: Path, capsys: pytest.CaptureFixture, change, path) -> None:
    bad = _write(tmp_path, {**BASE, **change})
    assert main(["solve", str(bad)]) == 2
    assert path in capsys.readouterr().err
    assert not (tmp_path / "bad.solution.json").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--method", "greedy", "-o", "payments=vcg"], "exact"),
        (["--method", "milp", "-o", "payments=critical"], "greedy"),
        (["--method", "milp", "-o", "payments=vcg", "-o", "mip_gap=0.01"], "mip_gap"),
        (["--method", "milp", "-o", "payments=second"], "unknown payment rule"),
    ],
)
def test_cli_refuses_payment_rules_a_method_does_not_take(
    tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], words: str
) -> None:
    path = _write(tmp_path, BASE)
    assert main(["solve", str(path), *args]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "bad.solution.json").exists()


def test_critical_payments_refuse_bidders_with_several_bids(capsys: pytest.CaptureFixture) -> None:
    assert main(["solve", str(EXAMPLE), "--method", "greedy", "-o", "payments=critical"]) == 2
    err = capsys.readouterr().err
    assert "single-minded" in err and "'bob' has 2 bids" in err
    with pytest.raises(UsageError, match="bob"):
        allocopt.solve(EXAMPLE, method="greedy", payments="critical")


# ------------------------------------------------------------------------------------------ CP-SAT runner
def test_integer_scale_is_exact_and_refuses_overflow() -> None:
    ints, scale = integer_scale([1186.19, 0.1, 3, 4478.87589])
    assert scale == 10**5 and ints == [118619000, 10000, 300000, 447887589]
    assert integer_scale([2.0, 7.0]) == ([2, 7], 1)
    with pytest.raises(ScaleError):
        integer_scale([1e15, 0.5], total_limit=2**53)
    with pytest.raises(ScaleError):
        integer_scale([1e-13])


def test_cpsat_runner_maps_statuses() -> None:
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    x = m.NewIntVar(0, 10, "x")
    m.Add(x >= 11)
    assert solve_cp(m, time_limit=5, workers=1).status == "infeasible"
    m = cp_model.CpModel()
    x = m.NewIntVar(0, 10, "x")
    m.Maximize(3 * x)
    run = solve_cp(m, workers=1, objective_scale=10.0, hint=[(x, 2)])
    assert run.status == "solved" and run.termination == "OPTIMAL" and run.objective == run.bound == 3.0
    assert run.solver_object.Value(x) == 10
    m = cp_model.CpModel()
    m.NewIntVar(5, 0, "empty")  # lower bound above upper bound: an invalid model
    run = solve_cp(m, workers=1)
    assert run.status == "error" and run.termination == "MODEL_INVALID" and "invalid" in run.message
    with pytest.raises(UsageError):
        solve_cp(m, solver_options={"no_such_parameter": 1})


def test_cpsat_refuses_prices_it_cannot_scale(tmp_path: Path) -> None:
    data = {
        "goods": 1,
        "bids": [{"bidder": "a", "goods": [0], "price": 1e17}, {"bidder": "b", "goods": [0], "price": 0.5}],
    }
    with pytest.raises(UsageError, match="highs"):
        allocopt.solve(instance_doc("combinatorial_auction", data), method="milp", solver="cpsat")
    assert allocopt.solve(instance_doc("combinatorial_auction", data), method="milp").objective == 1e17


def test_auto_picks_milp_for_small_auctions() -> None:
    assert allocopt.solve(EXAMPLE).method == "milp"


def test_vcg_out_of_time_is_never_reported_optimal() -> None:
    """A time limit that the WDP meets but the 23 re-solves cannot: the payments are unproven, the status says so
    (under heavy load the WDP itself may miss it; then the payments are not computed, and the status says that)."""
    inst = allocopt.load(CATS_DIR / "3atom-100-100-0001.json")
    r = allocopt.solve(inst, method="milp", solver="highs", payments="vcg", time_limit=0.3)
    assert r.status == "feasible" and r.verified and "VCG payments" in r.message
    if "payments" in r.solution:
        assert r.bound is None and r.details["vcg_unproven"] and r.details["wdp_bound"] is not None
        for name, (low, high) in r.details["vcg_intervals"].items():
            assert low == r.solution["payments"][name] <= high


def test_hand_derived_critical_payments() -> None:
    """Scores price / sqrt(size): a {0,1} 8 -> 5.657, b {0} 5, e {1,2} 6 -> 4.243, c {1} 4, d {2} 3. The greedy
    takes a, then d (welfare 11; the optimum b + c + d is 12). Without a, b is taken first and a no longer fits:
    a pays 5 * sqrt(2). Without d nothing takes good 2 (e and c lose good 1 to a): d pays 0 (no reserve)."""
    bids = [("a", [0, 1], 8), ("b", [0], 5), ("c", [1], 4), ("d", [2], 3), ("e", [1, 2], 6)]
    data = {"goods": 3, "bids": [{"bidder": n, "goods": g, "price": p} for n, g, p in bids]}
    r = allocopt.solve(instance_doc("combinatorial_auction", data), method="greedy", payments="critical")
    assert r.solution["win"] == [1, 0, 0, 1, 0] and r.objective == pytest.approx(11)
    assert r.bound >= 12 - TOL
    assert r.solution["payments"] == pytest.approx({"a": 5 * 2**0.5, "b": 0, "c": 0, "d": 0, "e": 0})


@pytest.mark.parametrize("bidding", ["xor", "or"])
def test_greedy_bound_is_the_lp_relaxation(rng: np.random.Generator, bidding: str) -> None:
    """The greedy's bound (the LP dual's value at interior-point prices) equals the LP optimum, solved here
    independently with scipy's linprog on the formulation written out from the data."""
    from scipy.optimize import linprog

    for trial in range(5):
        data = random_auction(rng, goods=6, bids=14, bidders=6, bidding=bidding, supply=True, reserve=True)
        reserve, bids = data["reserve"], data["bids"]
        value = [b["price"] - sum(reserve[g] for g in b["goods"]) for b in bids]
        rows = [[int(g in b["goods"]) for b in bids] for g in range(data["goods"])]
        caps = list(data["supply"])
        if bidding == "xor":
            for name in sorted({b["bidder"] for b in bids}):
                rows.append([int(b["bidder"] == name) for b in bids])
                caps.append(1)
        lp = linprog([-v for v in value], A_ub=rows, b_ub=caps, bounds=[(0, 1)] * len(bids), method="highs")
        r = allocopt.solve(instance_doc("combinatorial_auction", data, name=f"t{trial}"), method="greedy")
        assert r.details["bound_kind"] == "lp"
        assert r.bound == pytest.approx(max(-lp.fun, r.objective), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("solver", ["highs", "cpsat"])
def test_a_time_limited_milp_returns_a_feasible_allocation_and_an_honest_bound(solver: str) -> None:
    """Stopped almost at once, the solver still hands back an allocation (at worst the greedy start it was given),
    and whatever bound it reports lies above the proven optimum."""
    inst = allocopt.load(CATS_DIR / "arbitrary-100-500-0000.json")
    r = allocopt.solve(inst, method="milp", solver=solver, time_limit=0.05)
    assert r.verified and r.status in ("feasible", "optimal")
    assert r.objective <= inst.reference_optimum + TOL
    assert r.bound is None or r.bound >= inst.reference_optimum - TOL
