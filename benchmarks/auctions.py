"""The auctions family side by side with its peers, one part after another in one run.

Parts (each also runs on its own as ``python benchmarks/auctions_<part>.py``):

- ``cats``: winner determination and VCG payments on the committed CATS instances, HiGHS beside CP-SAT;
- ``positions``: ``rank`` against ``exact`` at scale, the AIGC greedy's loss, VCG by re-solving;
- ``fisher``: the Eisenberg-Gale program through CVXPY against proportional response, by market size;
- ``pacing``: adaptive pacing at 10^6 auctions, and the hindsight MILP / LP sizes.

Run:  python benchmarks/auctions.py [--parts cats,positions,fisher,pacing] [-- ARGS FOR A SINGLE PART]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

PARTS = ("cats", "positions", "fisher", "pacing")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, from {', '.join(PARTS)}")
    args, rest = parser.parse_known_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part {unknown[0]!r}; parts: {', '.join(PARTS)}")
    if rest and len(parts) != 1:
        parser.error("extra arguments are passed to a part: name exactly one with --parts")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    for part in parts:
        print(f"\n=== auctions: {part} " + "=" * 60, flush=True)
        start = time.perf_counter()
        importlib.import_module(f"auctions_{part}").main(rest)
        print(f"--- {part}: {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
