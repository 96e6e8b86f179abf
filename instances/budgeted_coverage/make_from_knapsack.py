"""Regenerate the ``knapsack_*`` coverage instances from committed 0/1 knapsack instances (Pisinger's).

Run from the repository root: ``.venv/bin/python instances/budgeted_coverage/make_from_knapsack.py``.

Component i provides skill i alone, with weight ``values[i]`` and cost ``weights[i]``; the budget is the capacity.
With disjoint skill sets the coverage of a set is the sum of its values, so the instance *is* the knapsack
instance and its optimum is Pisinger's stated one (copied into ``reference``).
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["knapPI_1_100_1000_1", "knapPI_3_100_1000_1"]


def convert(name: str) -> dict:
    src = json.loads((ROOT / "instances" / "knapsack" / "pisinger" / f"{name}.json").read_text())
    data = src["data"]
    n = len(data["values"])
    return {
        "format": "allocopt/1",
        "problem": "budgeted_coverage",
        "name": f"knapsack_{name}",
        "description": (
            f"Pisinger's 0/1 knapsack {name} as a coverage instance: component i alone provides skill i "
            "(weight = value, cost = weight, budget = capacity), so the optimum is the knapsack's "
            "(instances/budgeted_coverage/make_from_knapsack.py)"
        ),
        "data": {
            "costs": data["weights"],
            "covers": [[i] for i in range(n)],
            "skill_weights": data["values"],
            "budget": data["capacity"],
        },
        "reference": {
            "optimum": src["reference"]["optimum"],
            "source": f"{src['reference']['source']}; disjoint skills make the coverage the knapsack value",
        },
    }


if __name__ == "__main__":
    for name in SOURCES:
        out = Path(__file__).resolve().parent / f"knapsack_{name}.json"
        out.write_text(json.dumps(convert(name), indent=1) + "\n")
        print(f"wrote {out}")
