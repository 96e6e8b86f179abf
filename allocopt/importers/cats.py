"""CATS combinatorial-auction files (Leyton-Brown, Pearson and Shoham's test suite, v2.x).

Format: lines starting with ``%`` are comments (the generator's settings); then ``goods G``, ``bids B``,
``dummy D`` and B bid lines ``id  price  good good ...  #`` (tab separated; goods 0-based). Goods ``G..G+D-1`` are
*dummy goods*: the bids sharing one are the XOR bids of one bidder. The importer turns each dummy good into a
bidder named ``dummy-<index>`` with ``bidding: "xor"``, and every bid without a dummy good into a single-minded
bidder named ``bid-<id>``; the dummy goods themselves are dropped (the XOR rule replaces them). A bid with two
dummy goods would belong to two bidders and is refused.

CATS files carry no optima. The reference comes from a built-in table of the 12 files of
``github.com/georgelok/cs136-finalproject`` (commit fbc48e49, ``code/testfiles``) whose optima were proven with
HiGHS (zero gap) for allocopt's benchmark notes and are re-proven by its tests. A file gets that reference only
when its name *and* its content (a SHA-256 of its non-comment tokens, so line endings and spacing do not matter)
match the table: CATS names every generated file the same way, so a name alone proves nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from allocopt.errors import InstanceError
from allocopt.importers.tokens import as_json_number
from allocopt.result import FORMAT_TAG

_SOURCE = (
    "optimum proven with HiGHS (set-packing MILP at zero gap) for allocopt's benchmark notes; CATS v2.1 file "
    "{name} of github.com/georgelok/cs136-finalproject@fbc48e49c440 code/testfiles/{dist}/"
)

#: file stem -> (SHA-256 of the non-comment tokens joined by single spaces, proven optimum)
KNOWN_OPTIMA: dict[str, tuple[str, float]] = {
    "arbitrary-100-100-0000": ("5397e3176f2b79ada61fbb0a13968d64050de6093bfca144a5c4604d63f45e3c", 4812.372),
    "arbitrary-100-100-0001": ("f10f16d6b5ddf5274de643bb3a15efcb1ed1777cd976d6c797065ff3cb43630b", 4478.87589),
    "arbitrary-100-100-0002": ("6782bf1360b428f21293c509fd936b7285ea7fc8656dbfd76ca4d81fef86bc9d", 4014.1412),
    "arbitrary-100-100-0003": ("84aac6cdf541d8bca62a780bdd441cfb29958ef74dd578eb52a67753dc13c6b3", 3819.2256),
    "arbitrary-100-100-0004": ("6cafe894da172eed644a5e7b7e7c34fa25737c77a4147febb1b1d3febbdaff79", 4222.6743),
    "arbitrary-100-500-0000": ("f1607177c94ef9ab29574ef63fabec25496820a947baf57ea6f3900af6d913b7", 7257.6108),
    "2atom-100-100-0000": ("1725c1fcc495aa1b53d71ae993fe93e424edafb07d8bd4c709600f8f1d0e531e", 25472523),
    "2atom-100-100-0001": ("4bbd90fd89a495bd21166afc51fa22f958331dd40f3692355d90a30bf0e871bf", 23278305),
    "2atom-100-500-0000": ("a7f5b2132d3ed01a81bd8f4c3d33a614db8e9f24bda5ff2d1f572d315ada1b9e", 41878349),
    "3atom-100-100-0000": ("489079cf5e5dae31eff5d07c9d4610a1cff2d80aaa390abd1064e8c9e9ddac31", 15202.288),
    "3atom-100-100-0001": ("57fa3b842d9c68ed2555b73cec2d6083d703db4cf1602c625549e3b2a9cda8be", 16050.504),
    "3atom-100-500-0000": ("1c99f49a3a6a234833ef03c76a4382e5a7aab3c31609c12352785a8f5bf3cd91", 27971.112),
}


def content_digest(text: str) -> str:
    """SHA-256 of a CATS file's non-comment tokens, joined by single spaces."""
    tokens = [tok for line in text.splitlines() if not line.lstrip().startswith("%") for tok in line.split()]
    return hashlib.sha256(" ".join(tokens).encode()).hexdigest()


def _header(path: Path, lineno: int, parts: list[str], key: str) -> int:
    if len(parts) != 2 or parts[0] != key or not parts[1].isdigit():
        raise InstanceError(path, (), f"line {lineno}: expected '{key} <count>', got {' '.join(parts)!r}")
    return int(parts[1])


def read_cats(path: Path, **options: Any) -> list[dict[str, Any]]:
    """One instance document from a CATS file (see the module docstring)."""
    if options:
        raise InstanceError(path, (), f"the cats importer takes no options, got {', '.join(options)}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError(path, (), f"cannot be read: {exc}") from None
    lines = [(n, line.split()) for n, line in enumerate(text.splitlines(), start=1)]
    lines = [(n, parts) for n, parts in lines if parts and not parts[0].startswith("%")]
    if len(lines) < 3:
        raise InstanceError(path, (), "not a CATS file: expected the lines 'goods G', 'bids B', 'dummy D'")
    goods = _header(path, lines[0][0], lines[0][1], "goods")
    n_bids = _header(path, lines[1][0], lines[1][1], "bids")
    dummy = _header(path, lines[2][0], lines[2][1], "dummy")
    if goods < 1:
        raise InstanceError(path, (), f"line {lines[0][0]}: expected at least one good, got {goods}")
    body = lines[3:]
    if len(body) != n_bids:
        raise InstanceError(path, (), f"the header says {n_bids} bids, the file has {len(body)} bid lines")
    bids: list[dict[str, Any]] = []
    for lineno, parts in body:
        where = f"line {lineno}"
        if len(parts) < 4 or parts[-1] != "#":
            raise InstanceError(path, (), f"{where}: expected 'id price good ... #', got {' '.join(parts)[:60]!r}")
        try:
            price = float(parts[1])
            items = [int(tok) for tok in parts[2:-1]]
        except ValueError:
            raise InstanceError(
                path, (), f"{where}: expected a price and whole-number goods, got {parts[1:-1]}"
            ) from None
        if not price >= 0 or price == float("inf"):
            raise InstanceError(path, (), f"{where}: expected a finite price >= 0, got {parts[1]}")
        bad = [g for g in items if not 0 <= g < goods + dummy]
        if bad:
            raise InstanceError(path, (), f"{where}: good {bad[0]} out of range 0..{goods + dummy - 1}")
        if len(set(items)) != len(items):
            raise InstanceError(path, (), f"{where}: a good is repeated in the bundle {items}")
        real = [g for g in items if g < goods]
        dummies = [g for g in items if g >= goods]
        if len(dummies) > 1:
            raise InstanceError(path, (), f"{where}: the bid has {len(dummies)} dummy goods (at most one: its bidder)")
        if not real:
            raise InstanceError(path, (), f"{where}: the bid asks for no real good")
        bidder = f"dummy-{dummies[0]}" if dummies else f"bid-{parts[0]}"
        bids.append({"bidder": bidder, "goods": real, "price": as_json_number(price)})
    ids = [parts[0] for _, parts in body]
    if len(set(ids)) != len(ids):
        raise InstanceError(path, (), "bid ids are not distinct")
    xor_sets = len({b["bidder"] for b in bids if b["bidder"].startswith("dummy-")})
    settings = [line.lstrip("% ").strip() for line in text.splitlines() if line.startswith("% ") and ":" in line]
    distribution = next(
        (s.split("Distribution:")[1].split(";")[0].strip() for s in settings if "Distribution:" in s), "?"
    )
    doc: dict[str, Any] = {
        "format": FORMAT_TAG,
        "problem": "combinatorial_auction",
        "name": path.stem,
        "description": (
            f"CATS file {path.name} (distribution {distribution}): {goods} goods, {n_bids} bids, "
            f"{xor_sets} XOR bidders from {dummy} dummy goods, the other bids single-minded bidders"
        ),
        "data": {"goods": goods, "bids": bids, "bidding": "xor"},
    }
    known = KNOWN_OPTIMA.get(path.stem)
    if known is not None and known[0] == content_digest(text):
        dist = path.stem.split("-")[0]
        doc["reference"] = {"optimum": known[1], "source": _SOURCE.format(name=path.name, dist=dist)}
    return [doc]
