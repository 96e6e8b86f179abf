"""Position auctions: ``rank`` against ``exact`` at scale, the AIGC greedy's loss, and VCG by re-solving.

In one run:
1. Separable sponsored search (K = 10 slots, lognormal values and qualities, a reserve): ``rank`` against
   ``exact`` at n = 10^3, 10^4 and 10^5 bidders, without payments and with ``payments=vcg`` (closed form for
   rank, one re-solve per shown bidder for exact). Times are the front door's ``runtime_s`` (best of 3; the
   independent check is outside it, building the n-entry payments map inside) and the engines alone on numpy
   arrays, with the ratios exact / rank and whether the welfare and the VCG revenues agree.
2. The naive AIGC greedy against ``exact`` on random non-separable instances (``aigc_instance``, reserve 0.2):
   mean, median and max loss in % of the optimum, how often it is optimal, and whether its LP bound equals the
   optimum, at n = 20 x K = 5 and n = 200 x K = 10 with max_ads 6 (``--seeds`` instances each, default 100).
3. VCG by re-solving on non-separable instances, n = 10^3 and 10^4, K = 10 and 20: time of ``exact`` with
   and without ``payments=vcg``.

Run:  python benchmarks/auctions_positions.py [--seeds N]     (about 10 seconds)
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

import allocopt
from allocopt.envelope import instance_from_dict
from allocopt.solvers import position_matching as pm
from allocopt.solvers import position_rank as pr


def aigc_instance(
    n: int, k: int, seed: int, max_ads: int | None = None, reserve: float | None = None, topics: int = 4
) -> dict[str, Any]:
    """A random instance of ads inside generated content (the recipe of instances/position_auction/aigc-200x10).

    ``numpy.random.default_rng(seed)``, in this order: values per click lognormal(0, 0.8) rounded to cents;
    each ad's topic (integers below ``topics``) and base appeal uniform(0.3, 1); each position's topic; a
    lognormal(0, 0.3) noise per (ad, position). Click rate = 0.12 / (1 + k)^0.6 (the position effect) x appeal x
    (1 if the ad's topic is the position's, else 0.3) x noise, capped at 1 and rounded to 4 decimals.
    """
    rng = np.random.default_rng(seed)
    values = np.round(rng.lognormal(0.0, 0.8, n), 2)
    ad_topic = rng.integers(0, topics, n)
    appeal = rng.uniform(0.3, 1.0, n)
    pos_topic = rng.integers(0, topics, k)
    noise = rng.lognormal(0.0, 0.3, (n, k))
    position = 0.12 / (1.0 + np.arange(k)) ** 0.6
    fit = np.where(ad_topic[:, None] == pos_topic[None, :], 1.0, 0.3)
    ctr = np.round(np.minimum(1.0, position[None, :] * appeal[:, None] * fit * noise), 4)
    data: dict[str, Any] = {"values": values.tolist(), "ctr_matrix": ctr.tolist()}
    if max_ads is not None:
        data["max_ads"] = max_ads
    if reserve is not None:
        data["reserve"] = reserve
    return data


def separable_instance(n: int, k: int, seed: int) -> dict[str, Any]:
    """Sponsored search: lognormal values and qualities, click rates 0.1 / (1 + slot)^0.7, reserve 0.1."""
    rng = np.random.default_rng(seed)
    return {
        "values": np.round(rng.lognormal(0.0, 1.0, n), 3).tolist(),
        "ctr": np.round(0.1 / (1.0 + np.arange(k)) ** 0.7, 5).tolist(),
        "quality": np.round(rng.lognormal(0.0, 0.3, n), 3).tolist(),
        "reserve": 0.1,
    }


def inst(data: dict[str, Any], name: str) -> allocopt.Instance:
    return instance_from_dict({"format": "allocopt/1", "problem": "position_auction", "name": name, "data": data})


def best(instance: allocopt.Instance, method: str, repeat: int = 3, **options: Any) -> allocopt.Result:
    runs = [allocopt.solve(instance, method=method, **options) for _ in range(repeat)]
    return min(runs, key=lambda r: r.runtime_s)


def table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[c]) for r in rows)) for c, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        print("  ".join(x.rjust(w) for x, w in zip(r, widths, strict=True)))


def timed(fn, *args, repeat: int = 3) -> float:
    """Seconds of the fastest of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def engines(instance: allocopt.Instance, payments: str) -> tuple[float, float]:
    """Seconds of the rank and the matching engines alone (numpy in, numpy out), VCG included when asked."""
    d = instance.data
    q, r = d.qualities(), d.reserve_price
    scores, weights, eligible = q * d.values, d.values[:, None] * d.clicks(), d.eligible()
    at_reserve = r * d.clicks()

    def rank() -> None:
        ranking = pr.rank(scores, eligible, d.cap)
        if payments == "vcg":
            pr.vcg(scores, q, d.ctr, d.cap, r, ranking)

    def exact() -> None:
        slot, welfare, cand = pm.solve_positions(weights, eligible, d.cap, d.slots + (payments == "vcg"))
        if payments == "vcg":
            pm.vcg_by_resolving(weights, slot, welfare, cand, d.cap, at_reserve)

    return timed(rank), timed(exact)


def part_rank_vs_exact() -> None:
    print("\n1. separable, K = 10: rank vs exact (front door runtime_s and engines alone, best of 3)")
    rows = []
    for n in (1_000, 10_000, 100_000):
        instance = inst(separable_instance(n, 10, seed=n), f"sep-{n}")
        for payments in ("none", "vcg"):
            r = best(instance, "rank", payments=payments)
            e = best(instance, "exact", payments=payments)
            assert r.status == e.status == "optimal" and r.verified and e.verified
            agree = abs(e.objective - r.objective) <= 1e-9 * max(1.0, r.objective)
            if payments == "vcg":
                agree &= abs(e.details["revenue"] - r.details["revenue"]) <= 1e-9 * max(1.0, r.details["revenue"])
            rank_s, exact_s = engines(instance, payments)
            rows.append(
                [
                    f"{n:,}",
                    payments,
                    f"{r.runtime_s:.4f}",
                    f"{e.runtime_s:.4f}",
                    f"{e.runtime_s / r.runtime_s:.1f}",
                    f"{rank_s:.4f}",
                    f"{exact_s:.4f}",
                    f"{exact_s / rank_s:.1f}",
                    "yes" if agree else "NO",
                ]
            )
    table(
        ["n", "payments", "rank s", "exact s", "exact/rank", "rank engine s", "exact engine s", "ratio", "agree"], rows
    )


def part_greedy_loss(seeds: int) -> None:
    print(f"\n2. AIGC greedy vs exact on {seeds} random instances per size (loss = 1 - greedy/exact)")
    rows = []
    for n, k, max_ads in ((20, 5, None), (200, 10, 6)):
        losses, bound_ok = [], True
        for s in range(seeds):
            instance = inst(aigc_instance(n, k, seed=1000 + s, max_ads=max_ads, reserve=0.2), "aigc")
            e = allocopt.solve(instance, method="exact")
            g = allocopt.solve(instance, method="greedy")
            bound_ok &= g.bound is not None and abs(g.bound - e.objective) <= 1e-6 * max(1.0, e.objective)
            losses.append(100.0 * (1.0 - g.objective / e.objective) if e.objective > 0 else 0.0)
        a = np.asarray(losses)
        rows.append(
            [
                f"{n} x {k}",
                "-" if max_ads is None else str(max_ads),
                f"{a.mean():.2f}",
                f"{np.median(a):.2f}",
                f"{a.max():.2f}",
                f"{np.mean(a <= 1e-9) * 100:.0f}",
                "yes" if bound_ok else "NO",
            ]
        )
    table(["n x K", "max_ads", "mean loss %", "median %", "max loss %", "greedy optimal %", "LP bound = opt"], rows)


def part_vcg_resolve() -> None:
    print("\n3. exact on non-separable instances: VCG by re-solving (runtime_s, best of 3)")
    rows = []
    for n in (1_000, 10_000):
        for k in (10, 20):
            instance = inst(aigc_instance(n, k, seed=7, reserve=0.2), f"aigc-{n}x{k}")
            plain = best(instance, "exact")
            vcg = best(instance, "exact", payments="vcg")
            rows.append(
                [
                    f"{n:,}",
                    str(k),
                    str(vcg.details["candidates"]),
                    str(vcg.details["resolves"]),
                    f"{plain.runtime_s:.4f}",
                    f"{vcg.runtime_s:.4f}",
                    f"{vcg.runtime_s / plain.runtime_s:.1f}",
                ]
            )
    table(["n", "K", "candidates", "re-solves", "exact s", "exact+vcg s", "ratio"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=100, help="random AIGC instances per size in part 2")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    part_rank_vs_exact()
    part_greedy_loss(args.seeds)
    part_vcg_resolve()
    print(f"\ntotal {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
