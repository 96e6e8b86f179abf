"""OR-Library formats (J.E. Beasley), for the problems allocopt knows.

``read_mknap``: mknap1 and mknapcb1..9: ``K`` problems, each ``n m opt`` (opt = 0 when unknown), the n
profits, m rows of n constraint coefficients, the m capacities.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from allocopt.importers.tokens import TokenReader, as_json_number
from allocopt.result import FORMAT_TAG


def read_mknap(path: Path) -> list[dict[str, Any]]:
    tokens = TokenReader(path)
    count = tokens.integer("the number of problems K")
    docs = []
    for k in range(1, count + 1):
        n = tokens.integer(f"n (variables) of problem {k}")
        m = tokens.integer(f"m (constraints) of problem {k}")
        opt = tokens.number(f"the optimal value of problem {k}")
        profits = tokens.numbers(n, f"a profit of problem {k}")
        rows = [tokens.numbers(n, f"a coefficient of constraint {r + 1} of problem {k}") for r in range(m)]
        capacities = tokens.numbers(m, f"a right-hand side of problem {k}")
        name = f"{path.stem}-{k:02d}"
        doc: dict[str, Any] = {
            "format": FORMAT_TAG,
            "problem": "knapsack",
            "name": name,
            "description": f"{m}-dimensional 0/1 knapsack, n={n}, OR-Library {path.name} problem {k}",
            "data": {
                "values": [as_json_number(p) for p in profits],
                "weights": [[as_json_number(a) for a in row] for row in rows],
                "capacity": [as_json_number(b) for b in capacities],
            },
        }
        if opt > 0:  # 0 means "unknown" in this format
            doc["reference"] = {"optimum": as_json_number(opt), "source": f"OR-Library {path.name}, problem {k}"}
        docs.append(doc)
    return docs
