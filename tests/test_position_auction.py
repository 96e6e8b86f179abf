"""position_auction through the front door, against numbers nobody here computed.

- hand examples: EOS's 3-bidder, 2-slot example (GSP, VCG, the lowest envy-free bids), the committed
  sponsored-search example (qualities and a reserve) and the AIGC example where the greedy loses;
- brute force over every injective placement (with max_ads and a reserve) on tiny random instances of both
  models: ``exact``, ``rank``, ``milp`` reach it; the greedy lies below it and its LP bound on it;
- VCG three ways: ``rank``'s closed form, ``exact``'s re-solves, and in this file the Clarke pivot by brute force
  (no reserve) or the Myerson threshold integral by brute force (with a reserve);
- the EOS / Varian bids in ``details``: envy-free (symmetric Nash) checked numerically, GSP revenue = VCG's;
- individual rationality, ties, max_ads, the checker's refusals, and bad input through ``allocopt.cli.main``.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import INSTANCES, REPO, instance_doc, instance_files

import allocopt
from allocopt import cli
from allocopt.errors import UsageError

FOLDER = INSTANCES / "position_auction"
TOL = 1e-9


def solve(data: dict[str, Any], method: str = "auto", **options: Any) -> allocopt.Result:
    result = allocopt.solve(instance_doc("position_auction", data), method=method, **options)
    assert result.verified, result.message
    return result


def pays(result: allocopt.Result) -> list[float]:
    return list(result.solution["payments"].values())


def close(a: float, b: float, tol: float = TOL) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


# ------------------------------------------------------------------------------ independent computations
def clicks_of(data: dict[str, Any]) -> list[list[float]]:
    n = len(data["values"])
    if "ctr_matrix" in data:
        return data["ctr_matrix"]
    q = data.get("quality", [1.0] * n)
    return [[q[i] * a for a in data["ctr"]] for i in range(n)]


def placements(data: dict[str, Any], values: list[float] | None = None):
    """Every feasible placement: (slot tuple, welfare) over all injective maps with the cap and the reserve."""
    values = data["values"] if values is None else values
    c = clicks_of(data)
    n, k = len(values), len(c[0])
    cap = data.get("max_ads", k)
    r = data.get("reserve", 0.0)
    for slots in itertools.product(range(-1, k), repeat=n):
        used = [s for s in slots if s >= 0]
        if len(used) != len(set(used)) or len(used) > cap:
            continue
        if any(s >= 0 and data["values"][i] < r for i, s in enumerate(slots)):
            continue
        yield slots, sum(values[i] * c[i][s] for i, s in enumerate(slots) if s >= 0)


def brute_optimum(data: dict[str, Any]) -> float:
    return max(w for _, w in placements(data))


def brute_vcg(data: dict[str, Any], slots: list[int]) -> list[float]:
    """Clarke pivot without a reserve: the others' best welfare without i minus their welfare with i."""
    assert data.get("reserve", 0) == 0
    c = clicks_of(data)
    v = data["values"]
    out = []
    for i, s in enumerate(slots):
        if s < 0:
            out.append(0.0)
            continue
        without = max(w for sl, w in placements(data, [0.0 if j == i else x for j, x in enumerate(v)]) if sl[i] < 0)
        others = sum(v[j] * c[j][t] for j, t in enumerate(slots) if t >= 0 and j != i)
        out.append(without - others)
    return out


def brute_myerson(data: dict[str, Any], slots: list[int]) -> list[float]:
    r"""Truthful price of the rule "welfare-maximize among bidders at or above the reserve", by brute force.

    p_i = v_i x_i(v_i) - \int_r^{v_i} x_i(z) dz, where x_i(z) are i's clicks when it bids z. x_i is a step function
    whose steps lie where two lines z c_ik + B_k (B_k: the others' best welfare when i holds k) or the line
    B_none cross; it is integrated exactly by evaluating it (by brute force) inside each piece.
    """
    c = clicks_of(data)
    v = data["values"]
    r = data.get("reserve", 0.0)
    out = []
    for i, s in enumerate(slots):
        if s < 0:
            out.append(0.0)
            continue
        zero = [0.0 if j == i else x for j, x in enumerate(v)]
        best: dict[int, float] = {}
        for sl, w in placements(data, zero):
            best[sl[i]] = max(best.get(sl[i], -1.0), w)
        lines = [(c[i][k] if k >= 0 else 0.0, b) for k, b in best.items()]
        cuts = {r, v[i]}
        for (a1, b1), (a2, b2) in itertools.combinations(lines, 2):
            if a1 != a2:
                z = (b2 - b1) / (a1 - a2)
                if r < z < v[i]:
                    cuts.add(z)
        cuts_sorted = sorted(cuts)

        integral = 0.0
        for a, b in itertools.pairwise(cuts_sorted):
            mid = (a + b) / 2
            integral += (b - a) * max(lines, key=lambda ab, z=mid: ab[0] * z + ab[1])[0]
        out.append(v[i] * c[i][s] - integral)
    return out


def random_data(rng: np.random.Generator, separable: bool, n: int, k: int, reserve: bool, cap: bool) -> dict[str, Any]:
    values = np.round(rng.uniform(0, 10, n), 3).tolist()
    if separable:
        data: dict[str, Any] = {
            "values": values,
            "ctr": sorted(np.round(rng.uniform(0, 1, k), 3).tolist(), reverse=True),
        }
        if rng.random() < 0.7:
            data["quality"] = np.round(rng.uniform(0.2, 2, n), 3).tolist()
    else:
        data = {"values": values, "ctr_matrix": np.round(rng.uniform(0, 1, (n, k)), 3).tolist()}
    if reserve:
        data["reserve"] = float(np.round(rng.uniform(0, 6), 2))
    if cap:
        data["max_ads"] = int(rng.integers(0, k + 1))
    return data


# ------------------------------------------------------------------------------------------ hand examples
# EOS (2007), section IV: two slots with 200 and 100 clicks an hour, values 10, 4, 2 per click. Per impression
# (1000 searches an hour) ctr = 0.2, 0.1.
#   truthful GSP: the top ad pays the next bid, 0.2 * 4 = 0.8; the second 0.1 * 2 = 0.2.
#   VCG: the second ad's externality: the third would get slot 2, 0.1 * 2 = 0.2; the top ad's: the second would
#        move up (0.2 - 0.1) * 4 = 0.4 and the third into slot 2, 0.1 * 2 = 0.2: 0.6 (EOS's $600 and $200 an hour).
#   Lowest envy-free equilibrium: the second ad bids 0.6 / 0.2 = 3, the third 0.2 / 0.1 = 2: revenue 0.6 + 0.2.
EOS = {"values": [10, 4, 2], "ctr": [0.2, 0.1], "names": ["a", "b", "c"]}


def test_eos_example_gsp_vcg_and_lowest_envy_free_bids() -> None:
    g = solve(EOS, "rank", payments="gsp")
    assert g.status == "optimal" and close(g.objective, 2.4)  # 0.2 * 10 + 0.1 * 4
    assert g.solution["slot"] == [0, 1, -1]
    assert np.allclose(pays(g), [0.8, 0.2, 0.0])
    v = solve(EOS, "rank", payments="vcg")
    assert np.allclose(pays(v), [0.6, 0.2, 0.0])
    assert v.details["eos_bids"] == pytest.approx({"a": 10, "b": 3, "c": 2})
    assert close(v.details["eos_revenue"], 0.8) and close(v.details["vcg_revenue"], 0.8)
    assert v.details["price_per_click"] == pytest.approx({"a": 3.0, "b": 2.0})
    e = solve(EOS, "exact", payments="vcg")
    assert np.allclose(pays(e), [0.6, 0.2, 0.0])


def test_sponsored_search_example_with_qualities_and_reserve() -> None:
    # Derived in the instance's description: scores 4, 3.6, 2.0; 'hostel-pro' (0.4 < 0.5) is not shown.
    inst = allocopt.load(FOLDER / "sponsored-search.json")
    g = allocopt.solve(inst, method="rank", payments="gsp")
    assert g.status == "optimal" and close(g.objective, 0.676) and g.solution["slot"] == [0, 1, 2, -1]
    assert np.allclose(pays(g), [0.36, 0.12, 0.012, 0.0])
    v = allocopt.solve(inst, method="rank", payments="vcg")
    assert np.allclose(pays(v), [0.219, 0.078, 0.012, 0.0])
    e = allocopt.solve(inst, method="exact", payments="vcg")
    assert np.allclose(pays(e), [0.219, 0.078, 0.012, 0.0])
    # The last ad pays exactly the reserve per click; nobody pays less.
    assert v.details["price_per_click"]["rail-deals"] == pytest.approx(0.5)
    assert min(v.details["price_per_click"].values()) >= 0.5 - 1e-12
    # The bids that would make GSP charge VCG's prices are 0.219 / (0.1 * 1.2) = 1.825 for city-breaks and
    # 0.078 / (0.06 * 0.8) = 1.625 for rail-deals, but they are no equilibrium: at them city-breaks gets
    # 0.06 * 1.2 * 3 - 0.078 = 0.138 in slot 1 and would get 0.1 * (3.6 - 1.2 * 1.825) = 0.141 in slot 0, where
    # it pays its own bid score. (The reserve floors its VCG price at 1.2 * 0.5 below slot 2, which GSP cannot
    # mimic.) So no bids are reported, with the reason.
    assert close(v.details["vcg_revenue"], 0.309)
    assert v.details["eos_bids"] is None and "envying" in v.details["eos_note"]
    # Without the reserve hostel-pro (score 0.4) is the first excluded ad and the EOS bids exist, GSP at them
    # collecting VCG's revenue: P_2 = 0.03 * 0.4 = 0.012, P_1 = 0.03 * 2.0 + 0.012 = 0.072,
    # P_0 = 0.04 * 3.6 + 0.072 = 0.216, so city-breaks bids 0.216 / (0.1 * 1.2) = 1.8 and rail-deals
    # 0.072 / (0.06 * 0.8) = 1.5; hostel-pro bids its value.
    doc = allocopt.instance_to_dict(inst)
    del doc["data"]["reserve"]
    free = allocopt.solve(doc, method="rank", payments="vcg")
    assert free.details["eos_bids"] == pytest.approx(
        {"flights-now": 4, "city-breaks": 1.8, "rail-deals": 1.5, "hostel-pro": 0.4}
    )
    assert close(free.details["eos_revenue"], free.details["vcg_revenue"]) and close(free.details["vcg_revenue"], 0.3)


def test_greedy_loses_example() -> None:
    # By hand (instance description): greedy 0.60 + 0.12 = 0.72, optimum 0.54 + 0.50 = 1.04; VCG 0.08 and 0.18.
    inst = allocopt.load(FOLDER / "greedy-loses.json")
    g = allocopt.solve(inst, method="greedy")
    assert g.status == "feasible" and close(g.objective, 0.72) and g.solution["slot"] == [0, 1, -1]
    assert close(g.bound, 1.04, 1e-7)
    e = allocopt.solve(inst, method="exact", payments="vcg")
    assert e.status == "optimal" and close(e.objective, 1.04) and e.solution["slot"] == [1, 0, -1]
    assert np.allclose(pays(e), [0.08, 0.18, 0.0])
    assert close(allocopt.solve(inst, method="milp").objective, 1.04)
    # Critical (Myerson) prices of the greedy by hand. insurance (best rate 0.30): gear-rental's key 0.54 passes it
    # below a bid of 0.54 / 0.30 = 1.8 (it then gets the closing, 0.25), guidebook's 0.10 below 1/3 (then nothing):
    # (0.30 - 0.25) * 1.8 + 0.25 * 1/3 = 0.17333. gear-rental (best 0.18) is always after insurance (0.60 / 0.18 > 3)
    # and gets the closing, 0.04, until guidebook passes it below 0.10 / 0.18: 0.04 * 0.5556 = 0.02222.
    c = allocopt.solve(inst, method="greedy", payments="critical")
    assert np.allclose(pays(c), [0.09 + 0.25 / 3, 0.04 / 1.8, 0.0])
    with pytest.raises(UsageError, match="rank"):
        allocopt.solve(inst, method="rank")


def test_reserve_as_phantom_bids_not_first_excluded_bid() -> None:
    # One ad above the reserve, three slots: with the reserve only as the bid of the first excluded ad it would
    # pay (0.5 - 0.3) * 2 = 0.1 for 0.5 clicks (0.2 per click < 2); as phantom bids in every empty slot it pays
    # 0.5 * 2 = 1.0, i.e. the reserve per click.
    data = {"values": [5, 1], "ctr": [0.5, 0.3, 0.1], "reserve": 2}
    for method in ("rank", "exact"):
        r = solve(data, method, payments="vcg")
        assert r.solution["slot"] == [0, -1]
        assert np.allclose(pays(r), [1.0, 0.0])
    assert np.allclose(pays(solve(data, "rank", payments="gsp")), [1.0, 0.0])


def test_eos_note_when_qualities_and_reserve_break_the_construction() -> None:
    # Equal slots, reserve 1: the top ad's VCG price is its reserve, 1 per impression; the bid that would charge
    # exactly that, 1 / (1 * 10) = 0.1, is below the reserve, so no EOS bids are reported.
    data = {"values": [20, 1.01], "ctr": [1, 1], "quality": [1, 10], "reserve": 1}
    r = solve(data, "rank", payments="vcg")
    assert np.allclose(pays(r), [1.0, 10.0])
    assert r.details["eos_bids"] is None and "reserve" in r.details["eos_note"]


# ------------------------------------------------------------------------------------ brute force, random
@pytest.mark.parametrize("separable", [True, False], ids=["ctr", "ctr_matrix"])
def test_exact_matches_brute_force_and_greedy_is_bracketed(rng: np.random.Generator, separable: bool) -> None:
    for _ in range(25):
        n, k = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        data = random_data(rng, separable, n, k, reserve=rng.random() < 0.5, cap=rng.random() < 0.5)
        opt = brute_optimum(data)
        e = solve(data, "exact")
        assert e.status == "optimal" and close(e.objective, opt), data
        g = solve(data, "greedy")
        assert g.objective <= opt + 1e-9 and g.bound >= opt - 1e-7 * max(1, opt) and close(g.bound, opt, 1e-7)
        if separable:
            r = solve(data, "rank")
            assert r.status == "optimal" and close(r.objective, opt)
            assert close(g.objective, opt)  # in the separable model the greedy is the rank rule


def test_milp_matches_brute_force(rng: np.random.Generator) -> None:
    for separable in (True, False):
        for _ in range(4):
            data = random_data(rng, separable, 4, 3, reserve=True, cap=True)
            m = solve(data, "milp", payments="pay_as_bid")
            assert m.status == "optimal" and close(m.objective, brute_optimum(data), 1e-7)


def test_vcg_closed_form_equals_resolving_equals_clarke_by_brute_force(rng: np.random.Generator) -> None:
    for _ in range(20):
        n, k = int(rng.integers(2, 6)), int(rng.integers(1, 4))
        data = random_data(rng, True, n, k, reserve=False, cap=rng.random() < 0.5)
        rank = solve(data, "rank", payments="vcg")
        exact = solve(data, "exact", payments="vcg")
        assert close(rank.objective, exact.objective)
        expected = brute_vcg(data, rank.solution["slot"])
        assert np.allclose(pays(rank), expected, atol=1e-9), data
        # exact may pick another optimum only on ties, which random data avoids
        assert exact.solution["slot"] == rank.solution["slot"]
        assert np.allclose(pays(exact), expected, atol=1e-9)


def test_vcg_with_reserve_equals_myerson_threshold_prices_by_brute_force(rng: np.random.Generator) -> None:
    for separable in (True, False):
        for _ in range(12):
            n, k = int(rng.integers(2, 5)), int(rng.integers(1, 4))
            data = random_data(rng, separable, n, k, reserve=True, cap=rng.random() < 0.5)
            exact = solve(data, "exact", payments="vcg")
            expected = brute_myerson(data, exact.solution["slot"])
            assert np.allclose(pays(exact), expected, atol=1e-9), data
            if separable:
                rank = solve(data, "rank", payments="vcg")
                assert rank.solution["slot"] == exact.solution["slot"]
                assert np.allclose(pays(rank), expected, atol=1e-9), data
            # nobody pays less per click than the reserve, nor more than its value
            c = clicks_of(data)
            for i, s in enumerate(exact.solution["slot"]):
                if s >= 0 and c[i][s] > 0:
                    per_click = pays(exact)[i] / c[i][s]
                    assert data["reserve"] - 1e-9 <= per_click <= data["values"][i] + 1e-9


def test_tied_data_exact_and_rank_still_optimal_and_vcg_still_the_threshold_price(rng: np.random.Generator) -> None:
    # Small integers make many ties: the pruning's top-K cut, the cap and the re-solves must all survive them.
    for _ in range(30):
        n, k = int(rng.integers(2, 6)), int(rng.integers(1, 4))
        separable = bool(rng.random() < 0.5)
        data: dict[str, Any] = {"values": rng.integers(0, 3, n).tolist()}
        if separable:
            data["ctr"] = sorted((rng.integers(0, 3, k) / 2).tolist(), reverse=True)
        else:
            data["ctr_matrix"] = (rng.integers(0, 3, (n, k)) / 2).tolist()
        if rng.random() < 0.5:
            data["reserve"] = int(rng.integers(0, 3))
        if rng.random() < 0.5:
            data["max_ads"] = int(rng.integers(0, k + 1))
        opt = brute_optimum(data)
        e = solve(data, "exact", payments="vcg")
        assert close(e.objective, opt), data
        assert np.allclose(pays(e), brute_myerson(data, e.solution["slot"]), atol=1e-9), data
        if separable:
            r = solve(data, "rank", payments="vcg")
            assert close(r.objective, opt)
            assert np.allclose(pays(r), brute_myerson(data, r.solution["slot"]), atol=1e-9), data


def test_pruned_exact_equals_the_unpruned_milp_with_vcg_resolves(rng: np.random.Generator) -> None:
    # n much larger than K(K+1), so that exact keeps only each position's top candidates; small integers for ties.
    # VCG checked against the Clarke pivot / reserve price computed with the MILP on the whole instance.
    for case in range(6):
        n, k = 40, 1 + case % 3  # with one position, a re-solve needs the runner-up the pruning must keep
        data: dict[str, Any] = {
            "values": rng.integers(0, 6, n).tolist(),
            "ctr_matrix": (rng.integers(0, 5, (n, k)) / 4).tolist(),
            "max_ads": 2 if case % 2 else 3,
        }
        if case >= 3:
            data["reserve"] = 2
        e = solve(data, "exact", payments="vcg")
        m = solve(data, "milp")
        assert close(e.objective, m.objective, 1e-7)
        assert e.details["candidates"] < n
        r = data.get("reserve", 0)
        for i, s in enumerate(e.solution["slot"]):
            if s < 0:
                continue
            at_reserve = {**data, "values": [r if j == i else v for j, v in enumerate(data["values"])]}
            f_i = solve(at_reserve, "milp").objective
            own = data["values"][i] * data["ctr_matrix"][i][s]
            assert close(pays(e)[i], f_i - (e.objective - own), 1e-7), (data, i)


def _sne_violation(data: dict[str, Any], slots: list[int], bids: dict[str, float]) -> float:
    """Largest gain any bidder gets from any slot at GSP's current prices (Varian's symmetric Nash conditions).

    Prices in quality units: slot j costs alpha_j * max(q_i r, B_{j+1}) to bidder i, B_{j+1} the bid score of the
    ad now ranked j+1 (0 if none). Bidders not listed bid their values.
    """
    n = len(data["values"])
    q = data.get("quality", [1.0] * n)
    r = data.get("reserve", 0.0)
    alpha = data["ctr"]
    names = [str(i) for i in range(n)]
    bid = [bids.get(names[i], data["values"][i]) for i in range(n)]
    ranked = sorted((i for i in range(n) if data["values"][i] >= r), key=lambda i: (-q[i] * bid[i], i))
    big_l = min(len(alpha), data.get("max_ads", len(alpha)))
    worst = 0.0
    for i in ranked:
        s = q[i] * data["values"][i]

        def price(j: int, i: int = i) -> float:
            nxt = q[ranked[j + 1]] * bid[ranked[j + 1]] if j + 1 < len(ranked) else 0.0
            return max(q[i] * r, nxt)

        own = alpha[slots[i]] * (s - price(slots[i])) if slots[i] >= 0 else 0.0
        for j in range(min(big_l, len(ranked))):
            worst = max(worst, alpha[j] * (s - price(j)) - own)
    return worst


def test_eos_bids_are_envy_free_and_give_vcg_revenue(rng: np.random.Generator) -> None:
    for case in range(30):
        n, k = int(rng.integers(2, 7)), int(rng.integers(1, 5))
        data = random_data(rng, True, n, k, reserve=case % 2 == 1, cap=rng.random() < 0.4)
        if case % 2 == 1:
            data.pop("quality", None)  # with a reserve: equal qualities (see the EOS note test)
        v = solve(data, "rank", payments="vcg")
        bids = v.details["eos_bids"]
        assert bids is not None
        assert _sne_violation(data, v.solution["slot"], bids) <= 1e-9, data
        assert close(v.details["eos_revenue"], v.details["vcg_revenue"]) and close(
            v.details["vcg_revenue"], sum(pays(v))
        )
        # bids shade values but never exceed them
        assert all(bids[name] <= data["values"][int(name)] + 1e-12 for name in bids)
        # truthful bidding is not an equilibrium floor: truthful GSP revenue is at least VCG's (EOS, remark)
        g = solve(data, "rank", payments="gsp")
        assert sum(pays(g)) >= v.details["vcg_revenue"] - 1e-9


def naive_greedy(data: dict[str, Any], values: list[float]) -> list[int]:
    """The AIGC rule as the docs state it, in plain Python: key value x best rate, best free position."""
    c = clicks_of(data)
    n, k = len(values), len(c[0])
    cap = min(k, data.get("max_ads", k))
    r = data.get("reserve", 0.0)
    keys = [values[i] * max(c[i]) for i in range(n)]
    order = sorted((i for i in range(n) if values[i] >= r and keys[i] > 0), key=lambda i: (-keys[i], i))
    slots, free = [-1] * n, list(range(k))
    for i in order:
        if len(free) == 0 or n - slots.count(-1) >= cap:
            break
        best = max(free, key=lambda t: (c[i][t], -t))
        if c[i][best] > 0:
            slots[i] = best
            free.remove(best)
    return slots


def test_greedy_critical_prices_equal_the_threshold_integral(rng: np.random.Generator) -> None:
    for separable in (False, True):
        for _ in range(15):
            n, k = int(rng.integers(2, 6)), int(rng.integers(1, 4))
            data = random_data(rng, separable, n, k, reserve=rng.random() < 0.6, cap=rng.random() < 0.5)
            g = solve(data, "greedy", payments="critical")
            v = data["values"]
            assert g.solution["slot"] == naive_greedy(data, v)
            c = clicks_of(data)
            r = data.get("reserve", 0.0)
            for i, s in enumerate(g.solution["slot"]):
                if s < 0:
                    assert pays(g)[i] == 0
                    continue
                # x_i(z) only changes where i's key crosses another's; integrate it exactly piece by piece.
                cuts = sorted({r, v[i], *(v[j] * max(c[j]) / max(c[i]) for j in range(n) if j != i)})
                cuts = [z for z in cuts if r <= z <= v[i]]
                integral = 0.0
                for a, b in itertools.pairwise(cuts):
                    slot_at = naive_greedy(data, [(a + b) / 2 if j == i else x for j, x in enumerate(v)])[i]
                    integral += (b - a) * (c[i][slot_at] if slot_at >= 0 else 0.0)
                assert close(pays(g)[i], v[i] * c[i][s] - integral), data
            if separable:
                # the greedy is then the rank rule, and the truthful price of that rule is VCG with the reserve
                assert np.allclose(pays(g), pays(solve(data, "rank", payments="vcg")), atol=1e-9)


# ------------------------------------------------------------------------------- ties, cap, scale, checker
def test_ties_go_to_the_lower_index() -> None:
    data = {"values": [2, 3, 3, 2], "ctr": [0.5, 0.4, 0.3], "names": ["w", "x", "y", "z"]}
    r = solve(data, "rank", payments="gsp")
    assert r.solution["slot"] == [2, 0, 1, -1]
    # x pays y's equal score: 0.5 * 3; y pays w's 0.4 * 2; w pays z's 0.3 * 2
    assert np.allclose(pays(r), [0.6, 1.5, 0.8, 0.0])
    g = solve({"values": [1, 1], "ctr_matrix": [[0.5, 0.5], [0.5, 0.5]]}, "greedy")
    assert g.solution["slot"] == [0, 1]


def test_max_ads_caps_rank_and_exact() -> None:
    data = {"values": [5, 4, 3, 2], "ctr": [0.4, 0.3, 0.2, 0.1], "max_ads": 2}
    r = solve(data, "rank", payments="vcg")
    assert r.solution["slot"] == [0, 1, -1, -1] and close(r.objective, 0.4 * 5 + 0.3 * 4)
    # with the cap, the third ad is the first excluded: P_1 = 0.3 * 3, P_0 = 0.1 * 4 + 0.9
    assert np.allclose(pays(r), [1.3, 0.9, 0, 0])
    e = solve(data, "exact", payments="vcg")
    assert e.solution["slot"] == r.solution["slot"] and np.allclose(pays(e), pays(r))
    assert solve({**data, "max_ads": 0}, "rank", payments="vcg").objective == 0


def test_larger_rank_equals_exact_and_vcg_agrees(rng: np.random.Generator) -> None:
    n, k = 3000, 12
    data = {
        "values": np.round(rng.lognormal(0, 1, n), 4).tolist(),
        "ctr": np.round(0.2 / (1 + np.arange(k)) ** 0.7, 5).tolist(),
        "quality": np.round(rng.lognormal(0, 0.3, n), 4).tolist(),
        "reserve": 0.3,
        "max_ads": 9,
    }
    r = solve(data, "rank", payments="vcg")
    e = solve(data, "exact", payments="vcg")
    assert close(r.objective, e.objective) and r.solution["slot"] == e.solution["slot"]
    assert np.allclose(pays(r), pays(e), atol=1e-9)
    g = solve(data, "greedy")
    assert close(g.objective, r.objective) and g.status == "optimal"


def test_checker_refuses_infeasible_and_non_ir_solutions() -> None:
    inst = allocopt.instance_from_dict(
        instance_doc("position_auction", {"values": [3, 2, 1], "ctr": [0.5, 0.2], "reserve": 1.5, "max_ads": 1})
    )
    assert allocopt.verify(inst, {"slot": [0, -1, -1]}).feasible
    assert allocopt.verify(inst, {"slot": [0, -1, -1]}).objective == pytest.approx(1.5)
    bad = [
        ({"slot": [0, 0, -1]}, "two ads"),
        ({"slot": [0, 1, -1]}, "max_ads"),
        ({"slot": [-1, -1, 0]}, "reserve"),
        ({"slot": [2, -1, -1]}, "slot index"),
        ({"slot": [0, -1]}, "list of 3"),
        ({"slot": [0, -1, -1], "payments": {"0": 1.6, "1": 0, "2": 0}}, "not IR"),
        ({"slot": [0, -1, -1], "payments": {"0": 1, "1": 0.1, "2": 0}}, "not shown"),
        ({"slot": [0, -1, -1], "payments": {"0": -1, "1": 0, "2": 0}}, "negative"),
        ({"slot": [0, -1, -1], "payments": {"0": 1, "1": 0}}, "every bidder"),
    ]
    for solution, why in bad:
        verdict = allocopt.verify(inst, solution)
        assert not verdict.feasible and why in verdict.reason, (solution, verdict.reason)


# ------------------------------------------------------------------------------------ committed instances
@pytest.mark.parametrize("path", instance_files(FOLDER), ids=lambda p: p.stem)
def test_instances_solve_to_their_reference(path: Path) -> None:
    inst = allocopt.load(path)
    r = allocopt.solve(inst, time_limit=5)
    assert r.status == "optimal" and r.verified
    assert close(r.objective, inst.reference_optimum, 1e-9)
    v = allocopt.solve(inst, method="exact", payments="vcg")
    assert v.verified and close(v.objective, inst.reference_optimum, 1e-9)


def test_aigc_instance_is_what_its_description_says() -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from auctions_positions import aigc_instance

    doc = json.loads((FOLDER / "aigc-200x10.json").read_text(encoding="utf-8"))
    data = doc["data"]
    assert "seed=2026" in doc["description"]
    assert data == {**aigc_instance(200, 10, seed=2026, max_ads=6, reserve=0.2), "names": data["names"]}
    assert data["names"] == [f"ad-{i:03d}" for i in range(200)]


def test_aigc_instance_greedy_loses_and_milp_agrees() -> None:
    inst = allocopt.load(FOLDER / "aigc-200x10.json")
    e = allocopt.solve(inst, method="exact", payments="vcg")
    g = allocopt.solve(inst, method="greedy")
    assert g.objective < e.objective - 1e-6 and close(g.bound, e.objective, 1e-7)
    assert sum(s >= 0 for s in e.solution["slot"]) <= 6


# ------------------------------------------------------------------------------------------- bad input
BAD_INPUT = [
    ({"values": [1, 2], "ctr": [0.5], "ctr_matrix": [[0.5], [0.4]]}, "data.ctr_matrix", "exactly one"),
    ({"values": [1, 2]}, "data", "exactly one"),
    ({"values": [1, 2], "ctr": [0.5, 1.2]}, "data.ctr[1]", "1"),
    ({"values": [1, 2], "ctr": [0.3, 0.5]}, "data.ctr[1]", "non-increasing"),
    ({"values": [1, 2], "ctr_matrix": [[0.5], [0.4]], "quality": [1, 1]}, "data.quality", "ctr only"),
    ({"values": [1, 2], "ctr_matrix": [[0.5, 0.4], [0.4]]}, "data.ctr_matrix[1]", "expected 2"),
    ({"values": [1, 2], "ctr_matrix": [[0.5]]}, "data.ctr_matrix", "expected 2 rows"),
    ({"values": [1, 2], "ctr": [0.5], "names": ["a", "a"]}, "data.names[1]", "distinct"),
    ({"values": [1, 2], "ctr": [0.5], "quality": [1, 0]}, "data.quality[1]", ""),
    ({"values": [1, -2], "ctr": [0.5]}, "data.values[1]", ""),
    ({"values": [1, 2], "ctr": [0.5], "reserve": -1}, "data.reserve", ""),
]


@pytest.mark.parametrize("data,path,words", BAD_INPUT, ids=[f"bad{k}" for k in range(len(BAD_INPUT))])
def test_bad_input_exits_2_naming_the_path(capsys, tmp_path: Path, data: dict, path: str, words: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(instance_doc("position_auction", data)), encoding="utf-8")
    assert cli.main(["solve", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and words in err, err
    assert not (tmp_path / "bad.solution.json").exists()


USAGE = [
    ({"values": [1, 2], "ctr_matrix": [[0.5], [0.4]]}, ["-o", "payments=gsp"], "separable"),
    ({"values": [1, 2], "ctr_matrix": [[0.5], [0.4]]}, ["--method", "exact", "-o", "payments=gsp"], "separable"),
    ({"values": [1, 2], "ctr": [0.5]}, ["--method", "greedy", "-o", "payments=vcg"], "exact"),
    ({"values": [1, 2], "ctr": [0.5]}, ["--method", "exact", "-o", "payments=gsp"], "use method rank"),
    ({"values": [1, 2], "ctr": [0.5]}, ["--method", "rank", "-o", "payments=critical"], "pay_as_bid, gsp, vcg"),
    ({"values": [1, 2], "ctr_matrix": [[0.5], [0.4]]}, ["--method", "rank"], "separable"),
    ({"values": [1, 2], "ctr": [0.5]}, ["-o", "payments=second_price"], "payment rules"),
    ({"values": [1, 2], "ctr": [0.5]}, ["--method", "milp", "-o", "payments=vcg"], "rank and exact"),
]


@pytest.mark.parametrize("data,args,words", USAGE, ids=[f"usage{k}" for k in range(len(USAGE))])
def test_usage_errors_exit_2_and_write_nothing(capsys, tmp_path: Path, data: dict, args: list, words: str) -> None:
    f = tmp_path / "inst.json"
    f.write_text(json.dumps(instance_doc("position_auction", data)), encoding="utf-8")
    assert cli.main(["solve", str(f), *args]) == 2
    err = capsys.readouterr().err
    assert words in err, err
    assert not (tmp_path / "inst.solution.json").exists()
