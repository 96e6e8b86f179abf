"""Regenerate the MOHAF example CSVs of this folder (run from the repository root).

The distributions are those of MOHAF's synthetic scenarios (``mohaf/scenarios.py`` of
github.com/afrilab/MOHAF-Resource-Allocation: "balanced" and "high_demand"), drawn with numpy's
``default_rng`` and rounded; the instances beside this folder are their import:

    python instances/assignment/mohaf/source/generate.py
    allocopt import mohaf instances/assignment/mohaf/source/balanced-requests.csv \
        instances/assignment/mohaf/source/balanced-resources.csv --out instances/assignment/mohaf/

(the committed instances then carry a ``reference`` added from networkx's max_weight_matching).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

TYPES = ["compute", "storage", "bandwidth", "energy"]
SCENARIOS = {"balanced": (2025, 16, 24, "balanced"), "high-demand": (2026, 40, 60, "high_demand")}


def scenario(seed: int, n_res: int, n_req: int, kind: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    res = []
    for i in range(n_res):
        if kind == "high_demand":
            cap, cost = rng.uniform(10, 50), rng.uniform(0.5, 2.0)
        else:
            cap, cost = rng.uniform(20, 100), rng.uniform(0.3, 1.5)
        res.append(
            {
                "id": f"res{i}",
                "type": TYPES[rng.integers(4)],
                "capacity": round(cap, 1),
                "cost_per_unit": round(cost, 3),
                "x": round(rng.uniform(-50, 50), 1),
                "y": round(rng.uniform(-50, 50), 1),
                "availability": round(rng.uniform(0.7, 1.0), 3),
                "reliability": round(rng.uniform(0.6, 0.95), 3),
                "energy_efficiency": round(rng.uniform(0.5, 0.9), 3),
                "owner_id": f"owner{i % max(1, n_res // 3)}",
            }
        )
    req = []
    for i in range(n_req):
        if kind == "high_demand":
            amount, price = rng.uniform(30, 80), rng.uniform(50, 150)
        else:
            amount, price = rng.uniform(15, 60), rng.uniform(30, 100)
        req.append(
            {
                "id": f"req{i}",
                "requester_id": f"requester{i}",
                "type": TYPES[rng.integers(4)],
                "amount": round(amount, 1),
                "max_price": round(price, 1),
                "priority": int(rng.integers(1, 11)),
                "x": round(rng.uniform(-50, 50), 1),
                "y": round(rng.uniform(-50, 50), 1),
            }
        )
    return req, res


def write(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def main() -> None:
    here = Path(__file__).resolve().parent
    for name, args in SCENARIOS.items():
        req, res = scenario(*args)
        write(here / f"{name}-requests.csv", req)
        write(here / f"{name}-resources.csv", res)


if __name__ == "__main__":
    main()
