"""Regenerate ``synthetic_inventory_60.json``: a seeded inventory of 60 components over 150 skills.

Run from the repository root: ``.venv/bin/python instances/budgeted_coverage/make_synthetic.py``. The reference
optimum is then proven with ``allocopt solve ... --method milp`` (HiGHS at zero gap) and confirmed with
``--method cp`` (CP-SAT); see README.md beside this file.

The model: skills belong to 10 domains of 15; a skill's weight (how many of the task's queries need it) falls off
with its rank as in a Zipf law; each component serves one home domain (2 to 8 of its skills, and with probability
0.3 one skill of another domain); its cost is its standalone weight times a lognormal price noise (sigma 0.5),
rounded up to whole dollars, so that value per cost varies about fivefold. The budget is 15% of the total cost.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

SEED = 20251018
N_COMPONENTS, DOMAINS, PER_DOMAIN = 60, 10, 15


def make() -> dict:
    rng = np.random.default_rng(SEED)
    k = DOMAINS * PER_DOMAIN
    ranks = rng.permutation(k) + 1
    weights = [math.ceil(40 / r**0.8) for r in ranks]
    covers, costs = [], []
    for _ in range(N_COMPONENTS):
        home = int(rng.integers(DOMAINS))
        size = int(rng.integers(2, 9))
        skills = (home * PER_DOMAIN + rng.choice(PER_DOMAIN, size, replace=False)).tolist()
        if rng.random() < 0.3:
            other = int(rng.integers(k))
            if other not in skills:
                skills.append(other)
        skills = sorted(int(s) for s in skills)
        covers.append(skills)
        value = sum(weights[s] for s in skills)
        costs.append(math.ceil(value * rng.lognormal(0.0, 0.5)))
    return {
        "format": "allocopt/1",
        "problem": "budgeted_coverage",
        "name": "synthetic_inventory_60",
        "description": (
            "60 agentic components over 150 skills in 10 domains, Zipf-like skill weights, costs proportional "
            "to standalone weight with lognormal noise, budget 15% of the total cost "
            "(instances/budgeted_coverage/make_synthetic.py, seed 20251018)"
        ),
        "data": {
            "costs": costs,
            "covers": covers,
            "skill_weights": weights,
            "budget": int(0.15 * sum(costs)),
            "names": [f"component-{i:02d}" for i in range(N_COMPONENTS)],
        },
        # proven once, as README.md says; re-checked by tests/test_budgeted_coverage.py (milp, every run)
        "reference": {
            "optimum": 215,
            "source": (
                "proven by allocopt's milp (HiGHS 1.16, mip_gap 0: bound = objective = 215, 0.15 s) and confirmed "
                "by its cp method (CP-SAT 9.15, 8 workers: OPTIMAL 215 in 6.7 s)"
            ),
        },
    }


if __name__ == "__main__":
    out = Path(__file__).resolve().parent / "synthetic_inventory_60.json"
    out.write_text(json.dumps(make(), indent=1) + "\n")
    print(f"wrote {out}")
