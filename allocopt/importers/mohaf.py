r"""MOHAF requests and resources (CSV) -> an ``assignment`` instance of MOHAF's multi-criteria scores.

MOHAF (K. Agrawal, P. Goktas, A. Bandopadhyay, D. Ghosh, J.J. Jena, M.K. Gourisaria, "MOHAF: A Multi-Objective
Hierarchical Auction Framework for Scalable and Fair Resource Allocation in IoT Ecosystems", arXiv:2508.14830, 2025)
scores every compatible (request, resource) pair by a weighted sum of four criteria and allocates greedily on
that score. The formula below is the one of the authors' public implementation (github.com/afrilab/
MOHAF-Resource-Allocation, ``mohaf/auction_mechanisms.py``, ``MOHAFAuction._generate_multi_objective_bids`` and
the ``_calculate_*_utility`` helpers, with the data model of ``mohaf/core.py``), written here from scratch.

For request i (``amount`` :math:`a_i`, ``max_price`` :math:`B_i`, ``priority`` :math:`p_i`, location
:math:`\ell_i`) and resource j (``capacity`` :math:`C_j`, ``cost_per_unit`` :math:`c_j`, ``availability``
:math:`v_j`, ``reliability`` :math:`r_j`, ``energy_efficiency`` :math:`e_j`, location :math:`\ell_j`), with
weights :math:`(\alpha, \beta, \gamma, \delta)` (default (0.3, 0.3, 0.2, 0.2), MOHAF's defaults):

.. math::

    s_{ij} = \alpha\, u^{\text{cost}}_{ij} + \beta\, u^{\text{QoS}}_{ij} + \gamma\, u^{\text{energy}}_{j}
             + \delta\, u^{\text{fair}}_{i},

    u^{\text{cost}}_{ij} = \max\!\Big(0,\ 1 - \frac{c_j}{B_i}\Big) \ (0 \text{ if } B_i = 0), \qquad
    u^{\text{QoS}}_{ij} = \tfrac12 \Big( \max\!\big(0,\ 1 - \tfrac{\lVert \ell_i - \ell_j \rVert_2}{100}\big)
                          + \tfrac{r_j + v_j}{2} \Big), \qquad
    u^{\text{energy}}_{j} = e_j, \qquad u^{\text{fair}}_{i} = p_i / 10.

(MOHAF compares the *unit* cost with the request's *total* price cap in :math:`u^{\text{cost}}`; that is what its
code does and what is reproduced.) A pair is compatible, i.e. gets a bid, when the types are equal
(case-insensitive) and :math:`C_j \ge a_i`; additionally, where a request gives the optional QoS columns of the
paper's system model (its QoS constraint), :math:`r_j \ge` ``min_reliability``, :math:`v_j \ge`
``min_availability`` and :math:`\lVert \ell_i - \ell_j \rVert_2 \le` ``max_distance``. Incompatible pairs are
``null``.

MOHAF's greedy (its "distributed consensus allocation") sorts the bids by score, best first, and takes a bid when
neither its request nor its resource is taken yet: a resource serves one request, a request gets at most one
resource, and a request may stay unserved. The instance is therefore an assignment with ``sense: "max"``, one
column per resource (capacity 1) and a last column ``unserved`` of score 0 and capacity n: every request gets
exactly one column, and the objective is the total score of the served requests. The assignment family's
``greedy`` is then MOHAF's greedy (all pairs by score, best first, take when the row and the column have room;
the ``unserved`` column, at score 0, comes last), and ``exact`` is the maximum-score matching.

What is left out, and why it changes nothing here: the k-means clustering only reports cluster counts (bids are
generated over all pairs); the dynamic price is capped at ``max_price``, so its budget test never rejects a bid;
the fairness term's history penalty is zero in a single auction; ``requester_id``, ``deadline`` and ``owner_id``
do not enter the score (accepted as columns and ignored). Equal scores: MOHAF takes tied bids in file order
(request, then resource), and so does the assignment greedy (a stable sort by score, row then column).

Columns (header line first; cells are trimmed; a column starting with ``x-`` is ignored; any other unknown column
is an error, so that a misspelt optional column is not silently dropped):

- requests: ``id`` (unique text), ``type`` (text), ``amount`` (>= 0), ``max_price`` (>= 0), ``priority``
  (0..10), ``x``, ``y`` (numbers); optional ``min_reliability``, ``min_availability`` (0..1), ``max_distance``
  (>= 0), an empty cell meaning no requirement; ignored ``requester_id``, ``deadline``.
- resources: ``id`` (unique text), ``type`` (text), ``capacity`` (>= 0), ``cost_per_unit`` (>= 0), ``x``, ``y``,
  ``availability``, ``reliability``, ``energy_efficiency`` (0..1); ignored ``owner_id``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from allocopt.errors import InstanceError, UsageError
from allocopt.result import FORMAT_TAG

#: MOHAF's default weights (alpha, beta, gamma, delta) for cost, QoS, energy and fairness.
DEFAULT_WEIGHTS: tuple[float, float, float, float] = (0.3, 0.3, 0.2, 0.2)
CRITERIA = ("cost", "qos", "energy", "fairness")
#: The distance at which MOHAF's distance utility reaches 0 (its locations lie in [-50, 50]^2).
DISTANCE_SCALE = 100.0
UNSERVED = "unserved"


@dataclass(frozen=True)
class _Column:
    name: str
    low: float | None = None  # inclusive bounds; None: unbounded
    high: float | None = None
    optional: bool = False  # may be missing, and its cells may be empty (no requirement)


_REQUEST_COLUMNS = (
    _Column("amount", 0.0),
    _Column("max_price", 0.0),
    _Column("priority", 0.0, 10.0),
    _Column("x"),
    _Column("y"),
    _Column("min_reliability", 0.0, 1.0, optional=True),
    _Column("min_availability", 0.0, 1.0, optional=True),
    _Column("max_distance", 0.0, optional=True),
)
_RESOURCE_COLUMNS = (
    _Column("capacity", 0.0),
    _Column("cost_per_unit", 0.0),
    _Column("x"),
    _Column("y"),
    _Column("availability", 0.0, 1.0),
    _Column("reliability", 0.0, 1.0),
    _Column("energy_efficiency", 0.0, 1.0),
)
_IGNORED = {"requests": ("requester_id", "deadline"), "resources": ("owner_id",)}


class CsvError(InstanceError):
    """A bad CSV cell or header: names the file, the line (the header is line 1) and the column."""

    def __init__(self, file: Path, line: int, column: str | None, expected: str) -> None:
        self.line, self.column = line, column
        where = f"line {line}" + ("" if column is None else f", column {column!r}")
        super().__init__(file, (), expected)
        self.args = (f"{file}: {where}: {expected}",)


@dataclass(frozen=True)
class _Table:
    """One CSV file: ids, lower-cased types, and a float array per numeric column (NaN: empty optional cell)."""

    ids: list[str]
    types: list[str]
    values: dict[str, np.ndarray]


def _number(text: str, file: Path, line: int, col: _Column) -> float:
    if text == "":
        if col.optional:
            return math.nan
        raise CsvError(file, line, col.name, "expected a number, got an empty cell")
    try:
        x = float(text)
    except ValueError:
        raise CsvError(file, line, col.name, f"expected a number, got {text!r}") from None
    if not math.isfinite(x):
        raise CsvError(file, line, col.name, f"expected a finite number, got {text!r}")
    low, high = col.low, col.high
    if (low is not None and x < low) or (high is not None and x > high):
        if high is None:
            expected = f"a number >= {low:g}"
        elif low is None:
            expected = f"a number <= {high:g}"
        else:
            expected = f"a number in [{low:g}, {high:g}]"
        raise CsvError(file, line, col.name, f"expected {expected}, got {text!r}")
    return x


def _read_table(path: Path, kind: str, columns: Sequence[_Column], other: str) -> _Table:
    """Read and check one file (``kind`` is 'requests' or 'resources'; ``other`` is the other file's role)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError(path, 1, None, f"not UTF-8 text ({exc.reason})") from None
    rows = [(k + 1, r) for k, r in enumerate(csv.reader(text.splitlines()))]
    rows = [(k, [c.strip() for c in r]) for k, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise CsvError(path, 1, None, f"empty file: expected a header line naming the {kind} columns")
    header_line, header = rows[0]
    required = ["id", "type"] + [c.name for c in columns if not c.optional]
    known = set(required) | {c.name for c in columns} | set(_IGNORED[kind])
    swapped = "capacity" if kind == "requests" else "amount"
    if swapped in header and not any(c.name == swapped for c in columns):
        raise CsvError(
            path,
            header_line,
            swapped,
            f"a {other} column: this looks like the {other} file; give REQUESTS.csv first, then RESOURCES.csv",
        )
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise CsvError(path, header_line, name, "the column appears twice in the header")
        seen.add(name)
        if name not in known and not name.startswith("x-"):
            raise CsvError(
                path,
                header_line,
                name,
                f"unknown {kind} column (known: {', '.join(sorted(known))}; prefix a column with 'x-' to keep it)",
            )
    missing = [c for c in required if c not in seen]
    if missing:
        raise CsvError(path, header_line, missing[0], f"missing {kind} column")
    where = {name: k for k, name in enumerate(header)}
    ids: list[str] = []
    types: list[str] = []
    first_line: dict[str, int] = {}
    values: dict[str, list[float]] = {c.name: [] for c in columns}
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise CsvError(path, line, None, f"expected {len(header)} cells (as in the header), got {len(row)}")
        ident = row[where["id"]]
        if not ident:
            raise CsvError(path, line, "id", "expected a non-empty id")
        if ident in first_line:
            raise CsvError(path, line, "id", f"duplicate id {ident!r} (first on line {first_line[ident]})")
        first_line[ident] = line
        kind_text = row[where["type"]]
        if not kind_text:
            raise CsvError(path, line, "type", "expected a non-empty resource type")
        ids.append(ident)
        types.append(kind_text.lower())
        for col in columns:
            cell = row[where[col.name]] if col.name in where else ""
            values[col.name].append(_number(cell, path, line, col))
    if not ids:
        raise CsvError(path, header_line + 1, None, f"no {kind}: expected at least one line after the header")
    return _Table(ids, types, {k: np.asarray(v, dtype=np.float64) for k, v in values.items()})


def _weights(given: Any) -> tuple[float, float, float, float]:
    if given is None:
        return DEFAULT_WEIGHTS
    try:
        w = tuple(float(x) for x in given)
    except (TypeError, ValueError):
        raise UsageError(f"weights must be 4 numbers (cost, qos, energy, fairness), got {given!r}") from None
    if len(w) != 4:
        raise UsageError(f"weights must be 4 numbers (cost, qos, energy, fairness), got {len(w)}")
    if not all(math.isfinite(x) and x >= 0 for x in w) or not any(x > 0 for x in w):
        raise UsageError(f"weights must be finite, >= 0 and not all 0, got {', '.join(f'{x:g}' for x in w)}")
    return w[0], w[1], w[2], w[3]


def criteria(requests: _Table, resources: _Table) -> dict[str, np.ndarray]:
    """MOHAF's four criterion utilities as n x m arrays (broadcast), and the pairwise distances."""
    q, r = requests.values, resources.values
    dx = q["x"][:, None] - r["x"][None, :]
    dy = q["y"][:, None] - r["y"][None, :]
    distance = np.hypot(dx, dy)
    price = q["max_price"][:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = np.where(price > 0, np.maximum(0.0, 1.0 - r["cost_per_unit"][None, :] / price), 0.0)
    near = np.maximum(0.0, 1.0 - distance / DISTANCE_SCALE)
    qos = (near + ((r["reliability"] + r["availability"]) / 2.0)[None, :]) / 2.0
    n, m = distance.shape
    energy = np.broadcast_to(r["energy_efficiency"][None, :], (n, m))
    fairness = np.broadcast_to((q["priority"] / 10.0)[:, None], (n, m))
    return {"cost": cost, "qos": qos, "energy": energy, "fairness": fairness, "distance": distance}


def compatible(requests: _Table, resources: _Table, distance: np.ndarray) -> np.ndarray:
    """n x m booleans: same type, capacity covers the amount, and the request's optional QoS requirements."""
    q, r = requests.values, resources.values
    ok = np.asarray(requests.types)[:, None] == np.asarray(resources.types)[None, :]
    ok &= r["capacity"][None, :] >= q["amount"][:, None]
    # NaN (no requirement) compares False, hence the explicit isnan.
    for need, have in (("min_reliability", "reliability"), ("min_availability", "availability")):
        ok &= np.isnan(q[need])[:, None] | (r[have][None, :] >= q[need][:, None])
    ok &= np.isnan(q["max_distance"])[:, None] | (distance <= q["max_distance"][:, None])
    return ok


def _json_float(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _name(requests: Path) -> str:
    stem = requests.stem
    for suffix in ("-requests", "_requests", ".requests"):
        if stem.lower().endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def read_mohaf(requests: Path, resources: Path, **options: Any) -> list[dict[str, Any]]:
    """One ``assignment`` instance (sense max) from MOHAF's requests and resources files.

    Option ``weights``: 4 numbers >= 0 (cost, QoS, energy, fairness), default MOHAF's (0.3, 0.3, 0.2, 0.2).
    Raises ``CsvError`` (an InstanceError naming file, line and column) for a bad file, ``UsageError`` for a
    bad option.
    """
    stray = sorted(set(options) - {"weights"})
    if stray:
        raise UsageError(f"the mohaf importer takes no option {stray[0]!r} (it takes: weights)")
    w = _weights(options.get("weights"))
    req = _read_table(Path(requests), "requests", _REQUEST_COLUMNS, "resources")
    res = _read_table(Path(resources), "resources", _RESOURCE_COLUMNS, "requests")
    u = criteria(req, res)
    score = w[0] * u["cost"] + w[1] * u["qos"] + w[2] * u["energy"] + w[3] * u["fairness"]
    ok = compatible(req, res, u["distance"])
    n, m = score.shape
    cost = [
        [_json_float(s) if a else None for s, a in zip(srow, arow, strict=True)] + [0]
        for srow, arow in zip(score.tolist(), ok.tolist(), strict=True)
    ]
    weights = dict(zip(CRITERIA, (_json_float(x) for x in w), strict=True))
    pairs = int(ok.sum())
    return [
        {
            "format": FORMAT_TAG,
            "problem": "assignment",
            "name": _name(Path(requests)),
            "description": (
                f"MOHAF allocation (arXiv:2508.14830): {n} requests x {m} resources, {pairs} compatible pairs, "
                f"score = {' + '.join(f'{weights[c]:g} {c}' for c in CRITERIA)}; the last column "
                f"'{UNSERVED}' (score 0) leaves a request unserved. From {Path(requests).name} and "
                f"{Path(resources).name}."
            ),
            "data": {"cost": cost, "sense": "max", "capacity": [1] * m + [n]},
            "x-mohaf": {
                "requests": req.ids,
                "resources": [*res.ids, UNSERVED],
                "weights": weights,
                "unserved_column": m,
            },
        }
    ]
