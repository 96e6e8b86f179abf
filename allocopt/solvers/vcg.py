r"""VCG payments (Clarke pivot) of a combinatorial auction, by one exact re-solve per winning bidder.

With :math:`W^*` the optimal objective (welfare above the seller's value), :math:`W^*_{-i}` the optimum without
bidder i's bids and :math:`p_i` the price of i's winning bid(s), bidder i pays

.. math::

    t_i = W^*_{-i} - (W^* - p_i),

the welfare the others (the seller included, who keeps the reserve value of unsold units) lose by i's presence;
the seller's constant value of everything cancels. A loser pays 0 with no re-solve (:math:`W^*_{-i} = W^*`).
Since the chosen allocation less i's bids stays feasible, :math:`W^*_{-i} \ge W^* - (p_i - r(S_i))`, so a winner
pays at least its bundle's reserve :math:`r(S_i)` and at most :math:`p_i`.

Each re-solve starts from that allocation (a strong incumbent: often optimal already, and then only the bound
has to come down). Re-solves are independent: :func:`resolve_without` is a pure function of (arrays, bidder,
start, time limit), run one after another, or in worker processes (``workers``: an
``allocopt.workers.WorkerPool``, solve_many's workers), or on any executor with a ``submit`` method. VCG is
only truthful when every solve is exact: a re-solve that ends without proof leaves the payment within an
interval, reported as such.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field

import numpy as np

from allocopt.solvers.wdp_exact import WdpArrays, solve_wdp

#: A re-solve counts as proven when the solver says optimal and its bound is within this of its value.
PROOF_TOL = 1e-9


@dataclass(frozen=True)
class Resolve:
    """One re-solve without ``bidder``: the best value found, the solver's bound, whether they meet."""

    bidder: int
    value: float
    bound: float
    proven: bool
    termination: str
    runtime: float


@dataclass(frozen=True)
class VcgPayments:
    """Payments per bidder (index), with the interval each lies in (equal ends when proven)."""

    payments: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    proven: np.ndarray
    resolves: list[Resolve] = field(default_factory=list)
    wall_time: float = 0.0


def resolve_without(
    a: WdpArrays,
    bidder: int,
    start: np.ndarray,
    time_limit: float | None,
    solver: str = "highs",
    threads: int | None = None,
) -> Resolve:
    """The optimum without ``bidder``'s bids, started from ``start`` (feasible without them). Pure: ship it anywhere."""
    scale = a.int_scale if solver == "cpsat" else 1
    value = a.int_value if solver == "cpsat" else a.value
    start_value = float(value[start].sum()) / scale
    if time_limit is not None and time_limit <= 0:
        return Resolve(bidder, start_value, float("inf"), False, "not run (no time left)", 0.0)
    run = solve_wdp(a, solver, time_limit, exclude_bidder=bidder, start=start, threads=threads)
    best = start_value if run.objective is None else max(run.objective, start_value)
    bound = float("inf") if run.bound is None else max(run.bound, best)
    proven = run.termination in ("Optimal", "OPTIMAL", "empty") and bound - best <= PROOF_TOL * max(1.0, abs(best))
    if proven:
        bound = best
    return Resolve(bidder, best, bound, proven, run.termination, run.runtime)


def vcg_payments(
    a: WdpArrays,
    win: np.ndarray,
    solver: str = "highs",
    time_limit: float | None = None,
    workers: int = 1,
    threads: int | None = None,
    executor: Executor | None = None,
    progress: Callable[[Resolve], None] | None = None,
) -> VcgPayments:
    """Clarke-pivot payments of every bidder for the optimal allocation ``win``.

    ``time_limit`` bounds all re-solves together: each starts with what remains. ``workers`` > 1 runs that many
    re-solves at once in a process pool, unless an ``executor`` is given (then it is used as it is).
    """
    began = time.perf_counter()
    deadline = None if time_limit is None else began + time_limit
    win = np.asarray(win, dtype=bool)
    scale = a.int_scale if solver == "cpsat" else 1
    value = (a.int_value if solver == "cpsat" else a.value).astype(np.float64) / scale
    welfare = float(value[win].sum())
    paid = np.bincount(a.bidder[win], weights=a.price[win], minlength=a.n_bidders)
    own = np.bincount(a.bidder[win], weights=value[win], minlength=a.n_bidders)
    winners = np.unique(a.bidder[win])
    lower = np.zeros(a.n_bidders)
    upper = np.zeros(a.n_bidders)
    proven = np.ones(a.n_bidders, dtype=bool)
    results: list[Resolve] = []

    def remaining() -> float | None:
        return None if deadline is None else deadline - time.perf_counter()

    def starts(i: int) -> np.ndarray:
        return win & (a.bidder != i)

    if executor is None and workers > 1 and winners.size > 1:
        from allocopt.workers import WorkerPool

        # Fresh interpreters (not fork, which copies solver threads unsafely; not spawn, which re-runs the
        # caller's script), the same workers as solve_many's.
        with WorkerPool(min(workers, winners.size)) as pool:
            results = _run_pooled(pool, a, winners, starts, remaining, solver, threads, workers, progress)
    elif executor is not None:
        results = _run_pooled(executor, a, winners, starts, remaining, solver, threads, workers, progress)
    else:
        for i in winners:
            r = resolve_without(a, int(i), starts(int(i)), remaining(), solver, threads)
            results.append(r)
            if progress:
                progress(r)
    for r in results:
        i = r.bidder
        # t = W_-i - (W - p_i), kept inside [p_i - v_i, p_i] (the interval it provably lies in) against float noise
        floor, ceil = paid[i] - own[i], paid[i]
        lower[i] = min(max(r.value - welfare + paid[i], floor), ceil)
        upper[i] = min(max(r.bound - welfare + paid[i], floor), ceil)
        proven[i] = r.proven
    return VcgPayments(lower.copy(), lower, upper, proven, results, time.perf_counter() - began)


def _run_pooled(
    pool: Executor,
    a: WdpArrays,
    winners: np.ndarray,
    starts: Callable[[int], np.ndarray],
    remaining: Callable[[], float | None],
    solver: str,
    threads: int | None,
    in_flight: int,
    progress: Callable[[Resolve], None] | None,
) -> list[Resolve]:
    """Keep ``in_flight`` re-solves running; each is submitted with the time that remains when it starts."""
    todo = [int(i) for i in winners]
    running: set[Future] = set()
    done: list[Resolve] = []
    while todo or running:
        while todo and len(running) < max(1, in_flight):
            i = todo.pop(0)
            running.add(pool.submit(resolve_without, a, i, starts(i), remaining(), solver, threads))
        finished, running = wait(running, return_when=FIRST_COMPLETED)
        for f in finished:
            r = f.result()
            done.append(r)
            if progress:
                progress(r)
    return sorted(done, key=lambda r: r.bidder)
