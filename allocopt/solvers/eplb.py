r"""DeepSeek's expert-parallel load balancer (EPLB), plus a local search, with a lower bound.

Problem: E experts with loads :math:`l_e \ge 0`, G devices with S slots each (:math:`N = GS \ge E`); choose
replica counts :math:`r_e \ge 1` with :math:`\sum_e r_e = N` and fill every slot with a replica so that the
largest device load :math:`\max_g \sum_{\text{replicas on } g} l_e / r_e` is as small as possible.

1. **Replicate** (D'Hondt's rule, EPLB's ``replicate_experts``): start from one replica each and give the
   :math:`N - E` further replicas one at a time to the expert with the largest per-replica load
   :math:`l_e / r_e` (ties: lowest index). This minimises the largest per-replica load
   :math:`\max_e l_e / r_e` over all replications: if t is the optimum, every replication reaching t needs
   :math:`r_e \ge \lceil l_e / t \rceil`, and the greedy never gives an expert a replica beyond that count
   while another expert's per-replica load is still above t. Large indivisible pieces are what makes
   packing hard, so this is the replication to pack.
2. **Pack** (EPLB's ``balanced_packing``): replicas by per-replica load, largest first (ties: lower expert
   index), each onto the lightest device that still has a free slot (ties: lowest device index).
3. **Local search** (ours, optional): (a) swap a replica on the most loaded device with a lighter replica
   elsewhere when both devices end below the current maximum; (a') split the 2S replicas of the most loaded
   device and another device anew, the best of all C(2S, S) ways (for S <= 7); (b) when neither helps,
   turn one replica of an expert with :math:`r_e \ge 2` into a replica of an expert on the most loaded
   device (moving a replica count between experts), followed by swaps, when the two together lower the
   maximum. Only strict improvements (of the sorted device-load vector), so it terminates.
4. **Replication variants** (ours, with the local search): D'Hondt's replication is best for the largest
   replica, not always for the packing (three replicas of a heavy expert on four devices can beat four when
   two light experts pair up). So each of the ``VARIANT_EXPERTS`` heaviest experts is also pinned at every
   smaller count, the rest replicated by D'Hondt, packed and improved as above; the best placement wins.

**Lower bound**: :math:`\max(\sum_e l_e / G,\; \min_r \max_e l_e / r_e)`: the average device load, and the
D'Hondt value of step 1 (whatever the replication, the device holding a replica of e carries at least
:math:`l_e / r_e`, and step 1 minimises the largest of these). ``bound_kind`` names the one that binds.

Solvers here take numpy arrays; they never see JSON.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = ["EplbOutcome", "eplb", "pack", "replicate"]

#: Local-search improvements at most (each strictly lowers the sorted device-load vector).
MAX_LOCAL_SEARCH_MOVES = 10_000
#: Replication variants: each of this many heaviest experts pinned at every smaller count (see the docstring).
VARIANT_EXPERTS = 4
#: The pair re-partition move is used while C(2S, S) stays below this (S <= 7).
MAX_REPARTITIONS = 5_000
#: Relabellings (moving a replica between experts) tried per round, each followed by a swap descent.
RECOUNT_CANDIDATES = 8


@dataclass(frozen=True)
class EplbOutcome:
    """A placement (G x S expert indices), its replica counts, its largest device load, and a lower bound."""

    placement: np.ndarray
    counts: np.ndarray
    value: float
    bound: float
    bound_kind: str  # "average_load" or "replica_load"
    greedy_value: float  # before the local search
    swaps: int = 0
    recounts: int = 0
    pinned: tuple[int, int] | None = None  # (expert, count) of the replication variant that won, if not D'Hondt's


def replicate(loads: np.ndarray, slots: int, fixed: dict[int, int] | None = None) -> np.ndarray:
    """D'Hondt replica counts: r_e >= 1, sum r_e = slots, minimising max_e l_e / r_e (ties to the lowest index).

    ``fixed`` pins some experts' counts; the other replicas go by the same rule to the remaining experts.
    """
    fixed = fixed or {}
    counts = np.ones(len(loads), dtype=np.int64)
    for e, k in fixed.items():
        counts[e] = k
    heap = [(-float(x), e) for e, x in enumerate(loads) if e not in fixed]
    heapq.heapify(heap)
    for _ in range(slots - int(counts.sum())):
        _, e = heapq.heappop(heap)
        counts[e] += 1
        heapq.heappush(heap, (-float(loads[e]) / counts[e], e))
    return counts


def pack(loads: np.ndarray, counts: np.ndarray, devices: int, slots_per_device: int) -> np.ndarray:
    """Largest replica first onto the lightest device with a free slot; returns G x S expert indices."""
    experts = np.repeat(np.arange(len(loads)), counts)
    per_replica = (loads / counts)[experts]
    order = np.lexsort((experts, -per_replica))  # by load descending, then expert index
    placement = np.empty((devices, slots_per_device), dtype=np.int64)
    filled = np.zeros(devices, dtype=np.int64)
    weight = np.zeros(devices)
    for p in order.tolist():
        open_devices = np.flatnonzero(filled < slots_per_device)
        g = int(open_devices[np.argmin(weight[open_devices])])  # argmin: the lowest index among ties
        placement[g, filled[g]] = experts[p]
        filled[g] += 1
        weight[g] += per_replica[p]
    return placement


def lower_bound(loads: np.ndarray, devices: int, slots: int) -> tuple[float, str]:
    average = float(loads.sum()) / devices
    counts = replicate(loads, slots)
    replica = float((loads / counts).max()) if len(loads) else 0.0
    return (replica, "replica_load") if replica > average else (average, "average_load")


def device_loads(loads: np.ndarray, counts: np.ndarray, placement: np.ndarray) -> np.ndarray:
    return (loads / counts)[placement].sum(axis=1)


def eplb(
    loads: np.ndarray,
    devices: int,
    slots_per_device: int,
    local_search: bool = True,
    variants: int = VARIANT_EXPERTS,
    time_limit: float | None = None,
) -> EplbOutcome:
    """Replicate, pack, and (optionally) improve; see the module docstring.

    ``time_limit`` (seconds) stops the replication variants early; EPLB's placement is always improved.
    """
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    loads = np.asarray(loads, dtype=np.float64)
    slots = devices * slots_per_device
    counts = replicate(loads, slots)
    placement = pack(loads, counts, devices, slots_per_device)
    greedy_value = float(device_loads(loads, counts, placement).max())
    bound, kind = lower_bound(loads, devices, slots)
    if not local_search:
        return EplbOutcome(placement, counts, greedy_value, bound, kind, greedy_value)
    swaps, recounts = _improve(loads, counts, placement)
    best = (float(device_loads(loads, counts, placement).max()), counts, placement, swaps, recounts, None)
    base = counts.copy()
    for e in np.argsort(-loads, kind="stable")[:variants].tolist():
        for k in range(1, int(base[e])):
            if best[0] <= bound * (1 + 1e-12) or (deadline is not None and time.perf_counter() > deadline):
                break  # proven optimal, or out of time
            c = replicate(loads, slots, {e: k})
            p = pack(loads, c, devices, slots_per_device)
            s, r = _improve(loads, c, p)
            value = float(device_loads(loads, c, p).max())
            if value < best[0] * (1 - 1e-12):
                best = (value, c, p, s, r, (e, k))
    value, counts, placement, swaps, recounts, pinned = best
    return EplbOutcome(placement, counts, value, bound, kind, greedy_value, swaps, recounts, pinned)


def _improve(loads: np.ndarray, counts: np.ndarray, placement: np.ndarray) -> tuple[int, int]:
    """The local search of the module docstring, in place on ``counts`` and ``placement``."""
    tol = 1e-12 * max(1.0, float(loads.sum()))
    swaps = recounts = 0
    while swaps + recounts < MAX_LOCAL_SEARCH_MOVES:
        if _best_swap(loads, counts, placement, tol) or _best_repartition(loads, counts, placement, tol):
            swaps += 1
            continue
        made = _recount_then_swap(loads, counts, placement, tol)
        if made is None:
            break
        recounts += 1
        swaps += made
    return swaps, recounts


def _swap_descent(loads: np.ndarray, counts: np.ndarray, placement: np.ndarray, tol: float) -> int:
    made = 0
    while made < MAX_LOCAL_SEARCH_MOVES and (
        _best_swap(loads, counts, placement, tol) or _best_repartition(loads, counts, placement, tol)
    ):
        made += 1
    return made


def _best_swap(loads: np.ndarray, counts: np.ndarray, placement: np.ndarray, tol: float) -> bool:
    """Swap the replica pair (most loaded device, other device) that leaves the larger of the two smallest."""
    per = (loads / counts)[placement]  # G x S per-replica loads
    weight = per.sum(axis=1)
    top = int(np.argmax(weight))
    # new loads after swapping slot i of `top` with slot (h, k): top - a + b and h - b + a
    a = per[top][:, None, None]
    b = per[None, :, :]
    new_top = weight[top] - a + b
    new_other = weight[None, :, None] - b + a
    worst = np.maximum(new_top, new_other)
    worst[:, top, :] = np.inf
    i, h, k = np.unravel_index(int(np.argmin(worst)), worst.shape)
    if worst[i, h, k] >= weight[top] - tol:
        return False
    placement[top, i], placement[h, k] = placement[h, k], placement[top, i]
    return True


@cache
def _halves(slots_per_device: int) -> np.ndarray | None:
    """0/1 rows: every way to choose which S of 2S replicas go to the first device (None when too many)."""
    if math.comb(2 * slots_per_device, slots_per_device) > MAX_REPARTITIONS:
        return None
    rows = itertools.combinations(range(2 * slots_per_device), slots_per_device)
    mask = np.zeros((math.comb(2 * slots_per_device, slots_per_device), 2 * slots_per_device))
    for i, chosen in enumerate(rows):
        mask[i, list(chosen)] = 1.0
    return mask


def _best_repartition(loads: np.ndarray, counts: np.ndarray, placement: np.ndarray, tol: float) -> bool:
    """Split the replicas of the most loaded device and one other device anew, the best way (exhaustively)."""
    G, S = placement.shape
    mask = _halves(S)
    if mask is None or G < 2:
        return False
    per = (loads / counts)[placement]
    weight = per.sum(axis=1)
    top = int(np.argmax(weight))
    pooled = np.concatenate([np.broadcast_to(per[top], (G, S)), per], axis=1)  # G x 2S: top's replicas, then h's
    first = pooled @ mask.T  # G x C: the first device's new load for each split
    worst = np.maximum(first, (weight[top] + weight)[:, None] - first)
    worst[top] = np.inf
    h, k = np.unravel_index(int(np.argmin(worst)), worst.shape)
    if worst[h, k] >= weight[top] - tol:
        return False
    both = np.concatenate([placement[top], placement[h]])
    chosen = mask[k] > 0
    placement[top], placement[h] = both[chosen], both[~chosen]
    return True


def _recount_then_swap(loads: np.ndarray, counts: np.ndarray, placement: np.ndarray, tol: float) -> int | None:
    """Relabel one replica of an expert e (r_e >= 2) as a replica of an expert f on the most loaded device.

    A relabelling rarely helps on its own (the new replica of f lands where e's was), so the most promising
    ``RECOUNT_CANDIDATES`` relabellings are each followed by a swap descent; the first that ends below the
    current maximum is kept. Returns the number of swaps made after it, or None when none helps.
    """
    G, E = placement.shape[0], len(loads)
    held = np.zeros((G, E), dtype=np.int64)
    np.add.at(held, (np.repeat(np.arange(G), placement.shape[1]), placement.ravel()), 1)
    per = loads / counts
    weight = held @ per
    top = int(np.argmax(weight))
    current = float(weight[top])
    candidates: list[tuple[float, int, int, int]] = []
    for f in np.unique(placement[top]).tolist():
        gain_f = loads[f] / (counts[f] + 1)
        base_f = weight + held[:, f] * (gain_f - per[f])  # every replica of f gets lighter
        for e in np.flatnonzero(counts >= 2).tolist():
            if e == f:
                continue
            lose_e = loads[e] / (counts[e] - 1)
            base = base_f + held[:, e] * (lose_e - per[e])  # every replica of e gets heavier
            for g in np.flatnonzero(held[:, e]).tolist():  # the relabelled replica sits on device g
                new = base.copy()
                new[g] += gain_f - lose_e
                candidates.append((float(new.max()), e, f, g))
    candidates.sort()
    for _, e, f, g in candidates[:RECOUNT_CANDIDATES]:
        trial_counts, trial = counts.copy(), placement.copy()
        trial[g, int(np.flatnonzero(trial[g] == e)[0])] = f
        trial_counts[e] -= 1
        trial_counts[f] += 1
        made = _swap_descent(loads, trial_counts, trial, tol)
        if float(device_loads(loads, trial_counts, trial).max()) < current - tol:
            counts[:], placement[:] = trial_counts, trial
            return made
    return None
