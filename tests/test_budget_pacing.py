"""budget_pacing through the front door and its engines, against numbers nobody here computed.

- brute force over every winner vector of tiny random instances (free auctions, zero budgets, values below the
  price): the MILP equals it; greedy and pacing are feasible, at most it, and their bounds at least it;
- adaptive pacing's update rule on a 4-auction example derived by hand (below), through the engine and the CLI;
- hypothesis: pacing never exceeds a budget, whatever the data (tight, zero and huge budgets) and options;
- milp >= greedy, milp >= pacing, LP bound >= milp, Lagrangian route >= LP bound on larger random instances;
- the committed instances reach their references (hand enumeration; SCIP's proven optimum);
- bad input through ``allocopt.cli.main``: exit 2, the JSON path named, no output written.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import INSTANCES, instance_doc, instance_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import allocopt
import allocopt.methods.budget_pacing  # registers the problem
from allocopt import cli
from allocopt.errors import UsageError
from allocopt.solvers.pacing_hindsight import dual_value, hindsight_bound, solve_lp
from allocopt.solvers.pacing_online import adaptive_pacing, cumulative_spend

PROBLEM = "budget_pacing"
TOL = 1e-6
FILES = instance_files(INSTANCES / PROBLEM)


def brute_force(data: dict[str, Any]) -> float:
    """Best total utility over every winner vector ((n + 1)^T of them) that keeps each spend within budget."""
    values, prices, budgets = data["values"], data["prices"], data["budgets"]
    n = len(budgets)
    best = 0.0  # nobody wins anything
    for winner in itertools.product(range(-1, n), repeat=len(prices)):
        spend = [0.0] * n
        utility = 0.0
        for t, w in enumerate(winner):
            if w >= 0:
                spend[w] += prices[t]
                utility += values[t][w] - prices[t]
        if all(spend[i] <= budgets[i] + 1e-9 for i in range(n)):
            best = max(best, utility)
    return best


def random_data(rng: np.random.Generator, T: int, n: int) -> dict[str, Any]:
    """Integer data with free auctions, values below prices and budgets from none to loose."""
    values = rng.integers(0, 10, (T, n))
    prices = rng.integers(0, 8, T) * (rng.random(T) > 0.15)
    budgets = rng.integers(0, 12, n)
    return {"values": values.tolist(), "prices": prices.tolist(), "budgets": budgets.tolist()}


def spends(data: dict[str, Any], winner: list[int]) -> list[float]:
    out = [0.0] * len(data["budgets"])
    for t, w in enumerate(winner):
        if w >= 0:
            out[w] += data["prices"][t]
    return out


# ------------------------------------------------------------------------------------------- brute force
def test_methods_against_brute_force_on_tiny_instances() -> None:
    rng = np.random.default_rng(41)
    for _ in range(30):
        T, n = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        data = random_data(rng, T, n)
        optimum = brute_force(data)
        doc = instance_doc(PROBLEM, data)
        exact = allocopt.solve(doc, method="milp")
        assert exact.status == "optimal" and exact.verified, (data, exact)
        assert exact.objective == pytest.approx(optimum, abs=TOL), data
        assert exact.details["lp_bound"] >= optimum - TOL
        for method in ("greedy", "pacing"):
            result = allocopt.solve(doc, method=method)
            assert result.verified, (method, data, result.message)
            assert result.objective <= optimum + TOL, (method, data)
            assert result.bound >= optimum - TOL, (method, data)
        assert allocopt.solve(doc).method == "milp"


def test_the_hindsight_optimum_never_takes_an_auction_below_its_value() -> None:
    rng = np.random.default_rng(3)
    for _ in range(10):
        data = random_data(rng, 8, 3)
        winner = allocopt.solve(instance_doc(PROBLEM, data), method="milp").solution["winner"]
        for t, w in enumerate(winner):
            assert w == -1 or data["values"][t][w] > data["prices"][t], (data, t)


# ------------------------------------------------------------------------------------------- the pacing rule
# Hand example: 2 clients, budgets B = (4, 8), T = 4, so the budget rates are rho = B / T = (1, 2). Through the
# front door with step = 0.5 each client's step is eps_i = step / rho_i = (0.5, 0.25); mu_max = 1; mu starts at 0.
# A paced bid is min(v / (1 + mu), budget left); the highest positive one wins iff it is >= the price and pays the
# price; then mu_i <- clip(mu_i - eps_i (rho_i - spend_i), 0, 1) for both clients.
#
# t = 0: v = (6, 5), p = 3.  Bids min(6/1, 4) = 4 (capped by client 0's budget) and min(5/1, 8) = 5: client 1
#        wins (uncapped, client 0 would have won), pays 3; left (4, 5).
#        mu0 = clip(0 - 0.5 (1 - 0)) = 0 (clipped at 0); mu1 = 0 - 0.25 (2 - 3) = 0.25.
# t = 1: v = (3, 5), p = 2.  Bids min(3/1, 4) = 3 and min(5/1.25, 5) = 4: client 1 wins, pays 2; left (4, 3).
#        mu0 = clip(0 - 0.5) = 0; mu1 = 0.25 - 0.25 (2 - 2) = 0.25.
# t = 2: v = (8, 2), p = 4.  Bids min(8/1, 4) = 4 and min(2/1.25, 3) = 1.6: client 0 bids exactly the price and
#        wins (a tie with the price wins), pays 4; left (0, 3).
#        mu0 = 0 - 0.5 (1 - 4) = 1.5, clipped to mu_max = 1; mu1 = clip(0.25 - 0.25 (2 - 0)) = 0.
# t = 3: v = (9, 3.5), p = 3.  Bids min(9/2, 0) = 0 (no budget left: not entered) and min(3.5/1, 3) = 3: client 1
#        wins, pays 3; left (0, 0).  mu0 = 1 - 0.5 (1 - 0) = 0.5; mu1 = 0 - 0.25 (2 - 3) = 0.25.
# Winners (1, 1, 0, 1); spend (4, 8), both budgets exactly; utility 2 + 3 + 4 + 0.5 = 9.5; final mu (0.5, 0.25).
HAND = {"values": [[6, 5], [3, 5], [8, 2], [9, 3.5]], "prices": [3, 2, 4, 3], "budgets": [4, 8]}
HAND_WINNER = [1, 1, 0, 1]
HAND_SPEND_AT = [[0, 3], [0, 5], [4, 5], [4, 8]]  # cumulative spend after 1, 2, 3, 4 auctions
HAND_MU_AT = [[0, 0.25], [0, 0.25], [1, 0], [0.5, 0.25]]


def test_pacing_engine_reproduces_the_hand_example() -> None:
    v, p, b = (np.asarray(HAND[k], dtype=float) for k in ("values", "prices", "budgets"))
    run = adaptive_pacing(v, p, b, step=np.array([0.5, 0.25]), mu_max=1.0, checkpoints=np.arange(1, 5))
    assert run.winner.tolist() == HAND_WINNER
    assert run.spend.tolist() == [4, 8]
    assert run.spend_at.tolist() == HAND_SPEND_AT
    assert run.multipliers_at.tolist() == HAND_MU_AT
    assert run.multipliers.tolist() == [0.5, 0.25]
    assert cumulative_spend(p, run.winner, 2, np.arange(1, 5)).tolist() == HAND_SPEND_AT


def test_pacing_method_reproduces_the_hand_example() -> None:
    result = allocopt.solve(instance_doc(PROBLEM, HAND), method="pacing", step=0.5, mu_max=1)
    assert result.solution == {"winner": HAND_WINNER} and result.objective == 9.5 and result.verified
    d = result.details
    assert d["online_utility"] == 9.5 and d["multipliers"] == [0.5, 0.25] and d["spend"] == [4, 8]
    assert d["checkpoints"] == [1, 2, 3, 4] and d["cumulative_spend"] == HAND_SPEND_AT
    assert d["multipliers_at"] == HAND_MU_AT and d["budget_used"] == [1, 1]
    # the hindsight optimum (brute force) bounds the online utility; the ratio is bound / utility
    optimum = brute_force(HAND)
    assert result.bound >= optimum - TOL and d["competitive_ratio"] == pytest.approx(result.bound / 9.5)


def test_pacing_defaults() -> None:
    # step 1 / sqrt(T) = 0.5; mu_max = largest value / smallest positive budget rate = 9 / 1 (client 2 has none)
    data = {**HAND, "values": [[*row, 1] for row in HAND["values"]], "budgets": [4, 8, 0]}
    result = allocopt.solve(instance_doc(PROBLEM, data), method="pacing", bound=False)
    assert result.details["step"] == 0.5 and result.details["mu_max"] == 9 and result.details["mu_init"] == 0
    assert result.bound is None and "competitive_ratio" not in result.details
    assert 2 not in result.solution["winner"]  # a client without budget never wins a priced auction


def test_free_auctions_go_to_the_highest_positive_paced_bid() -> None:
    data = {"values": [[0, 2], [3, 1], [0, 0]], "prices": [0, 0, 0], "budgets": [0, 1]}
    pacing = allocopt.solve(instance_doc(PROBLEM, data), method="pacing")
    # t = 0: client 1 bids min(2, 1) = 1 > 0 and wins for free; t = 1: client 0 has no budget left (none at all),
    # so its bid min(3, 0) = 0 is not entered, client 1 wins; t = 2: every bid is 0, nobody wins.
    assert pacing.solution["winner"] == [1, 1, -1]
    exact = allocopt.solve(instance_doc(PROBLEM, data), method="milp")
    assert exact.solution["winner"] == [1, 0, -1] and exact.objective == 5  # free auctions need no budget


# ------------------------------------------------------------------------------------------- property tests
@st.composite
def pacing_cases(draw: st.DrawFn) -> tuple[dict[str, Any], float, float]:
    T = draw(st.integers(1, 25))
    n = draw(st.integers(1, 4))
    money = st.floats(0, 50, allow_nan=False, allow_infinity=False)
    values = draw(st.lists(st.lists(money, min_size=n, max_size=n), min_size=T, max_size=T))
    prices = draw(st.lists(st.one_of(st.just(0.0), money), min_size=T, max_size=T))
    # tight: a budget of zero, of about one price, or huge
    budgets = draw(st.lists(st.one_of(st.just(0.0), st.floats(0, 20), st.floats(0, 1e4)), min_size=n, max_size=n))
    step = draw(st.floats(1e-3, 10))
    mu_max = draw(st.floats(0, 100))
    return {"values": values, "prices": prices, "budgets": budgets}, step, mu_max


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pacing_cases())
def test_pacing_never_exceeds_a_budget(case: tuple[dict[str, Any], float, float]) -> None:
    data, step, mu_max = case
    result = allocopt.solve(instance_doc(PROBLEM, data), method="pacing", step=step, mu_max=mu_max, bound=False)
    assert result.verified, result.message
    winner = result.solution["winner"]
    spent = spends(data, winner)
    assert all(s <= b * (1 + 1e-12) for s, b in zip(spent, data["budgets"], strict=True)), (spent, data)
    # a client wins only with enough budget left, and only an auction whose price its bid reaches
    left = list(data["budgets"])
    for t, w in enumerate(winner):
        if w >= 0:
            assert data["prices"][t] <= left[w] and data["values"][t][w] > 0
            left[w] -= data["prices"][t]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_bounds_and_orderings_on_random_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = random_data(rng, int(rng.integers(5, 40)), int(rng.integers(1, 5)))
    doc = instance_doc(PROBLEM, data)
    exact = allocopt.solve(doc, method="milp")
    assert exact.status == "optimal"
    greedy = allocopt.solve(doc, method="greedy")
    pacing = allocopt.solve(doc, method="pacing")
    assert exact.objective >= greedy.objective - TOL and exact.objective >= pacing.objective - TOL
    assert exact.details["lp_bound"] >= exact.objective - TOL
    assert greedy.bound == pytest.approx(exact.details["lp_bound"], abs=1e-6 * max(1, exact.objective))


# ------------------------------------------------------------------------------------------- larger instances
def generated(seed: int, T: int, n: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    q = rng.lognormal(0, 0.5, T)
    values = np.round(10 * q[:, None] * rng.uniform(0.3, 1.5, (T, n)))
    prices = np.round(10 * q * rng.uniform(0.2, 1.2, T))
    budgets = np.round(((values > prices[:, None]) * prices[:, None]).sum(axis=0) * 0.1)
    return {"values": values.tolist(), "prices": prices.tolist(), "budgets": budgets.tolist()}


def test_milp_greedy_and_pacing_on_a_larger_instance() -> None:
    doc = instance_doc(PROBLEM, generated(5, 300, 4))
    exact = allocopt.solve(doc, method="milp")
    greedy = allocopt.solve(doc, method="greedy")
    pacing = allocopt.solve(doc, method="pacing")
    assert exact.status == "optimal"
    assert exact.details["lp_bound"] >= exact.objective - TOL
    assert greedy.objective <= exact.objective + TOL and greedy.gap < 0.01  # the LP leaves <= n fractional auctions
    assert pacing.objective <= exact.objective + TOL
    assert 1 <= pacing.details["competitive_ratio"] < 1.5
    for result in (exact, greedy, pacing):
        assert len(result.details["checkpoints"]) == 20 and result.details["checkpoints"][-1] == 300
        assert result.details["cumulative_spend"][-1] == pytest.approx(spends(doc["data"], result.solution["winner"]))


def test_lagrangian_route_bounds_the_lp_from_above_and_comes_close() -> None:
    data = generated(8, 3000, 4)
    v, p, b = (np.asarray(data[k], dtype=float) for k in ("values", "prices", "budgets"))
    lp_value, lam, *_ = solve_lp(v, p, b)
    assert dual_value(v, p, b, lam) == pytest.approx(lp_value, rel=1e-9)  # strong duality at the LP's duals
    # a 300-auction sample, then coordinate sweeps (they stall here: 4 interchangeable clients), then LPs on at
    # most 1500 pairs near a change of choice, until a primal value proves the bound
    lagrangian = hindsight_bound(v, p, b, exact_max_pairs=0, sample_auctions=300, active_max_pairs=1500)
    assert lagrangian.sample == 300 and lagrangian.sweeps >= 1
    assert lagrangian.bound >= lp_value - 1e-9 * lp_value
    assert lagrangian.bound <= lp_value * (1 + 1e-6)
    assert lagrangian.kind == "lp" and lagrangian.lp_value == lagrangian.bound
    # any multipliers give a bound (weak duality): the hindsight optimum of a smaller instance checks it
    small = generated(9, 5, 2)
    sv, sp, sb = (np.asarray(small[k], dtype=float) for k in ("values", "prices", "budgets"))
    for lam_try in ([0, 0], [0.3, 2.0], [5, 5]):
        assert dual_value(sv, sp, sb, np.array(lam_try)) >= brute_force(small) - TOL


def test_auto_goes_greedy_when_the_milp_is_too_large() -> None:
    T, n = 2400, 5
    data = {"values": np.full((T, n), 3).tolist(), "prices": [1] * T, "budgets": [300] * n}  # 12,000 pairs
    result = allocopt.solve(instance_doc(PROBLEM, data))
    # each client affords 300 auctions of utility 3 - 1: 1500 of the 2400 are won, and the LP bound is the same
    assert result.method == "greedy" and result.status == "optimal" and result.objective == 2 * 1500


# ------------------------------------------------------------------------------------------- files and options
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_committed_instances_reach_their_reference(path: Path) -> None:
    inst = allocopt.load(path)
    result = allocopt.solve(inst, method="milp")
    assert result.status == "optimal" and result.verified
    assert result.objective == inst.reference_optimum
    if inst.data.T <= 8:
        assert brute_force(json.loads(path.read_text())["data"]) == inst.reference_optimum


def test_payments_options_and_the_extensible_model() -> None:
    doc = instance_doc(PROBLEM, HAND)
    for method in ("milp", "greedy", "pacing"):
        assert allocopt.solve(doc, method=method, payments="none").verified
        with pytest.raises(UsageError, match="second price"):
            allocopt.solve(doc, method=method, payments="vcg")
    with pytest.raises(UsageError, match="step"):
        allocopt.solve(doc, method="pacing", step=0)
    with pytest.raises(UsageError, match="mu_max"):
        allocopt.solve(doc, method="pacing", mu_max=-1)
    with pytest.raises(UsageError, match="bound"):
        allocopt.solve(doc, method="pacing", bound="no")
    best = allocopt.solve(doc, method="milp")
    model = allocopt.build_model(doc)
    t = next(t for t, w in enumerate(best.solution["winner"]) if w >= 0)
    model.win[t, best.solution["winner"][t]].fix(0)
    assert allocopt.solve(doc, method="milp", model=model).objective <= best.objective


def test_checker_rejects_overspending_and_bad_indices() -> None:
    doc = instance_doc(PROBLEM, HAND)
    assert not allocopt.verify(doc, {"winner": [0, 0, 0, 0]}).feasible  # client 0 spends 12 > 4
    assert not allocopt.verify(doc, {"winner": [0, 2, -1, -1]}).feasible
    assert not allocopt.verify(doc, {"winner": [0, 1]}).feasible
    verdict = allocopt.verify(doc, {"winner": [-1, 1, 0, -1]})
    assert verdict.feasible and verdict.objective == (5 - 2) + (8 - 4)


# ------------------------------------------------------------------------------------------- bad input (CLI)
@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        ({"values": [[6, 5], [3], [8, 2], [9, 3.5]]}, "data.values[1]", "expected 2 numbers"),
        ({"prices": [3, 2, -4, 3]}, "data.prices[2]", ">= 0"),
        ({"prices": [3, 2, 4]}, "data.prices", "expected 4 prices"),
        ({"budgets": [4, 8, 1]}, "data.values[0]", "expected 3 numbers"),
        ({"budgets": [4, -8]}, "data.budgets[1]", ">= 0"),
        ({"values": [[6, 5], [3, "x"], [8, 2], [9, 3.5]]}, "data.values[1][1]", "number"),
    ],
    ids=["ragged-values", "negative-price", "short-prices", "long-budgets", "negative-budget", "not-a-number"],
)
def test_bad_input_exits_2_with_the_json_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, change: dict[str, Any], where: str, words: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(instance_doc(PROBLEM, {**HAND, **change})), encoding="utf-8")
    assert cli.main(["solve", str(path), "--method", "pacing"]) == 2
    err = capsys.readouterr().err
    assert where + ":" in err and words in err, err
    assert not (tmp_path / "bad.solution.json").exists()
    assert cli.main(["validate", str(path)]) == 2


def test_cli_solves_with_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(instance_doc(PROBLEM, HAND)), encoding="utf-8")
    assert cli.main(["solve", str(path), "--method", "pacing", "-o", "step=0.5", "-o", "mu_max=1"]) == 0
    sol = json.loads((tmp_path / "hand.solution.json").read_text(encoding="utf-8"))
    assert sol["solution"]["winner"] == HAND_WINNER and sol["verified"] and sol["status"] == "feasible"
