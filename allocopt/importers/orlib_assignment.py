"""OR-Library assignment formats (J.E. Beasley): generalized assignment (gap) and linear assignment (assign).

``read_gap``: gap1..gap12 and gapa..gapd. Tokens: ``P`` problems; each ``m n``, m rows of n costs (row = agent),
m rows of n resource uses, m capacities. The file does not say whether to minimise or maximise; the set does:
gap1..gap12 are maximisation problems (OR-Library's gapinfo gives their optima "when solved as maximisation
problems"), gapa..gapd are minimisation problems. The sense is therefore taken from the file name, and a file
whose name is none of these is refused rather than guessed. Instances are named ``<stem>-<k>`` (``gap1-1``,
``gapa-3``).

``read_assign``: assign100..assign800 (dense: ``n`` then the n x n costs row by row, as one token stream) and
assignp800.. (sparse: ``n`` then triples ``i j c`` with 1-based indices; pairs not listed are forbidden,
``null`` in the cost matrix). A file is sparse when its name starts with ``assignp`` or its token count is not
1 + n*n. The documents are instances of the ``assignment`` problem (minimise).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from allocopt.errors import InstanceError
from allocopt.importers.tokens import TokenReader, as_json_number
from allocopt.result import FORMAT_TAG

#: Optimal values of gap1..gap12, problems 1..5 of each, as stated in OR-Library's gapinfo (maximisation).
GAP_MAX_OPTIMA: dict[str, list[int]] = {
    "gap1": [336, 327, 339, 341, 326],
    "gap2": [434, 436, 420, 419, 428],
    "gap3": [580, 564, 573, 570, 564],
    "gap4": [656, 644, 673, 647, 664],
    "gap5": [563, 558, 564, 568, 559],
    "gap6": [761, 759, 758, 752, 747],
    "gap7": [942, 949, 968, 945, 951],
    "gap8": [1133, 1134, 1141, 1117, 1127],
    "gap9": [709, 717, 712, 723, 706],
    "gap10": [958, 963, 960, 947, 947],
    "gap11": [1139, 1178, 1195, 1171, 1171],
    "gap12": [1451, 1449, 1433, 1447, 1446],
}
#: Sizes (agents, jobs) of gap1..gap12, from the same table (c515 = 5 agents, 15 jobs).
GAP_MAX_SIZES: dict[str, tuple[int, int]] = {
    "gap1": (5, 15),
    "gap2": (5, 20),
    "gap3": (5, 25),
    "gap4": (5, 30),
    "gap5": (8, 24),
    "gap6": (8, 32),
    "gap7": (8, 40),
    "gap8": (8, 48),
    "gap9": (10, 30),
    "gap10": (10, 40),
    "gap11": (10, 50),
    "gap12": (10, 60),
}
#: Optima of gapa..gapc (minimisation): OR-Library lists none; proven optimal with HiGHS (zero gap).
GAP_MIN_OPTIMA: dict[str, list[int]] = {
    "gapa": [1698, 3235, 1360, 2623, 1158, 2339],
    "gapb": [1843, 3552, 1407, 2827, 1166, 2339],
    "gapc": [1931, 3456, 1402, 2806, 1243, 2391],
}
#: gapd (hard): no proven optimum; [dual bound, incumbent] of 120 s HiGHS runs.
GAP_MIN_INTERVALS: dict[str, list[tuple[int, int]]] = {
    "gapd": [(6350, 6358), (12739, 12752), (6335, 6381), (12423, 12452), (6166, 6292), (12225, 12351)],
}
#: Sizes of the six problems of each of gapa..gapd.
GAP_MIN_SIZES = [(5, 100), (5, 200), (10, 100), (10, 200), (20, 100), (20, 200)]

_HIGHS_SOURCE = "proven optimal with HiGHS by the benchmark collector (OR-Library states no optimum for {name})"


def _gap_sense(path: Path) -> str:
    stem = path.stem.lower()
    if stem in GAP_MAX_SIZES:
        return "max"
    if stem in ("gapa", "gapb", "gapc", "gapd"):
        return "min"
    raise InstanceError(
        path,
        (),
        "cannot tell whether to minimise or maximise: OR-Library gap1..gap12 are maximisation and gapa..gapd "
        "minimisation problems, and the sense is read from the file name (rename the file to one of these)",
    )


def _expected_size(stem: str, k: int) -> tuple[int, int] | None:
    if stem in GAP_MAX_SIZES:
        return GAP_MAX_SIZES[stem]
    return GAP_MIN_SIZES[k - 1] if k <= len(GAP_MIN_SIZES) else None


def _gap_reference(stem: str, k: int) -> dict[str, Any] | None:
    if stem in GAP_MAX_OPTIMA and k <= len(GAP_MAX_OPTIMA[stem]):
        m, n = GAP_MAX_SIZES[stem]
        return {
            "optimum": GAP_MAX_OPTIMA[stem][k - 1],
            "source": f"OR-Library gapinfo, {stem} problem c{m}{n}-{k} (maximisation)",
        }
    if stem in GAP_MIN_OPTIMA and k <= len(GAP_MIN_OPTIMA[stem]):
        return {"optimum": GAP_MIN_OPTIMA[stem][k - 1], "source": _HIGHS_SOURCE.format(name=stem)}
    if stem in GAP_MIN_INTERVALS and k <= len(GAP_MIN_INTERVALS[stem]):
        lower, upper = GAP_MIN_INTERVALS[stem][k - 1]
        return {
            "lower": lower,
            "upper": upper,
            "source": "HiGHS dual bound and incumbent after 120 s, by the benchmark collector (no proven optimum)",
        }
    return None


def read_gap(path: Path) -> list[dict[str, Any]]:
    """Every problem of an OR-Library gap file as a ``generalized_assignment`` document (see the module docstring)."""
    path = Path(path)
    sense = _gap_sense(path)
    stem = path.stem.lower()
    tokens = TokenReader(path)
    count = tokens.integer("the number of problems P")
    docs = []
    for k in range(1, count + 1):
        m = tokens.integer(f"m (agents) of problem {k}")
        n = tokens.integer(f"n (jobs) of problem {k}")
        expected = _expected_size(stem, k)
        if expected is not None and (m, n) != expected:
            raise InstanceError(
                path,
                (),
                f"problem {k} has {m} agents x {n} jobs, but OR-Library's {stem} problem {k} has "
                f"{expected[0]} x {expected[1]}: not the file its name says (its reference optimum would be wrong)",
            )
        cost = [tokens.numbers(n, f"a cost of agent {a + 1} in problem {k}") for a in range(m)]
        resource = [tokens.numbers(n, f"a resource use of agent {a + 1} in problem {k}") for a in range(m)]
        capacity = tokens.numbers(m, f"a capacity in problem {k}")
        goal = "maximisation" if sense == "max" else "minimisation"
        doc: dict[str, Any] = {
            "format": FORMAT_TAG,
            "problem": "generalized_assignment",
            "name": f"{stem}-{k}",
            "description": f"generalized assignment ({goal}), {m} agents x {n} jobs, problem {k} of {path.name} "
            "(OR-Library gap format)",
            "data": {
                "cost": [[as_json_number(x) for x in row] for row in cost],
                "resource": [[as_json_number(x) for x in row] for row in resource],
                "capacity": [as_json_number(x) for x in capacity],
                "sense": sense,
            },
        }
        reference = _gap_reference(stem, k)
        if reference is not None:
            doc["reference"] = reference
        docs.append(doc)
    if tokens.remaining():
        raise InstanceError(path, (), f"{tokens.remaining()} tokens after the {count} problems the file announces")
    return docs


#: Optimal values stated in OR-Library's assignopt.txt, by file stem.
ASSIGN_OPTIMA: dict[str, int] = {
    "assign100": 305,
    "assign200": 475,
    "assign300": 626,
    "assign400": 804,
    "assign500": 991,
    "assign600": 1176,
    "assign700": 1362,
    "assign800": 1552,
    "assignp800": 2239,
    "assignp1500": 5839,
    "assignp3000": 18696,
    "assignp5000": 48533,
}


def read_assign(path: Path) -> list[dict[str, Any]]:
    """One OR-Library assign file (dense or sparse) as an ``assignment`` document (see the module docstring)."""
    path = Path(path)
    tokens = TokenReader(path)
    n = tokens.integer("the size n")
    stem = path.stem.lower()
    size = stem.removeprefix("assignp").removeprefix("assign")  # the OR-Library names carry n
    if stem in ASSIGN_OPTIMA and int(size) != n:
        raise InstanceError(path, (), f"n = {n}, but OR-Library's {stem} has n = {size}: not the file its name says")
    sparse = stem.startswith("assignp") or tokens.remaining() != n * n
    if sparse:
        cost = _sparse_costs(path, tokens, n)
        layout = f"sparse, {sum(c is not None for row in cost for c in row)} allowed pairs"
    else:
        cost = [[as_json_number(c) for c in tokens.numbers(n, f"a cost in row {i + 1}")] for i in range(n)]
        layout = "dense"
    doc: dict[str, Any] = {
        "format": FORMAT_TAG,
        "problem": "assignment",
        "name": path.stem,
        "description": f"linear assignment, {n} x {n} ({layout}), from {path.name} (OR-Library assign format)",
        "data": {"cost": cost, "sense": "min"},
    }
    if stem in ASSIGN_OPTIMA:
        doc["reference"] = {"optimum": ASSIGN_OPTIMA[stem], "source": f"OR-Library assignopt.txt, {stem}"}
    return [doc]


def _sparse_costs(path: Path, tokens: TokenReader, n: int) -> list[list[int | float | None]]:
    if tokens.remaining() % 3:
        raise InstanceError(
            path, (), f"{tokens.remaining()} tokens after n: neither n*n = {n * n} costs nor whole 'i j c' triples"
        )
    cost: list[list[int | float | None]] = [[None] * n for _ in range(n)]
    while tokens.remaining():
        at = tokens.pos + 1
        i = tokens.integer("a row index i (1-based)")
        j = tokens.integer("a column index j (1-based)")
        c = tokens.number(f"the cost of pair ({i}, {j})")
        if not (1 <= i <= n and 1 <= j <= n):
            raise InstanceError(path, (), f"token {at}: pair ({i}, {j}) is outside 1..{n}")
        if cost[i - 1][j - 1] is not None:
            raise InstanceError(path, (), f"token {at}: pair ({i}, {j}) is listed twice")
        cost[i - 1][j - 1] = as_json_number(c)
    return cost
