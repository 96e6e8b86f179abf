r"""LLEP's least-loaded assignment (Nguyen et al., Salesforce 2026): spill overloaded experts' tokens.

Problem (``allocopt.models.expert_spill``): expert e has :math:`L_e` tokens and a home device :math:`h_e`; each
device processes at most C tokens; a non-home device takes either none of e's tokens or at least
:math:`m_e = \min(m, L_e)`; use as few non-home pieces (weight transfers) as possible.

The least-loaded assignment (LLA), as LLEP's reference planner does it:

1. Every device starts with its **pending** load, the tokens of its own experts (:math:`H_d`), and nothing
   assigned. A device's **effective** load is assigned + pending: its own experts still to come reserve
   their room.
2. Experts in order of load, largest first (ties: lower index). Take expert e off its home's pending load;
   the home keeps :math:`\min(L_e, C - \text{effective}_{h_e})` tokens (none when that is negative).
3. The rest is spilled: repeatedly, the other devices by effective load, least first (ties: lower index), and
   the first whose free room :math:`C - \text{effective}` admits a piece takes
   :math:`\min(\text{rest}, \text{room})` tokens (one weight transfer).

LLEP treats C and m as soft: a piece below m is allowed when it ends the expert, and when no device has room
it forces the rest onto one over capacity. Here both are constraints of the problem, so the planner differs in
exactly these places: (a) a piece is never below :math:`m_e`: when the home's share would leave a spill
smaller than :math:`m_e` the home keeps :math:`L_e - m_e` instead, and a piece that would leave a remainder
below :math:`m_e` is shortened to leave exactly :math:`m_e`; (b) when no other device admits a piece the
planner stops and reports the expert (``failed``) rather than break the capacity. Without a minimum chunk
(m = 1) step (b) never happens when :math:`\sum_e L_e \le G C`: when expert e spills r tokens the devices'
effective loads add up to :math:`\sum_e L_e - r \le GC - r`, the home has no room left, so the other
devices' free room adds up to at least r.

Runs in :math:`O(E \log E + P\, G \log G)` for P pieces. Solvers here take numpy arrays; they never see JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SpillPlan", "llep"]


@dataclass(frozen=True)
class SpillPlan:
    """The planner's result: ``tokens`` (E x G, tokens of e on d), or None with the expert it could not place."""

    tokens: np.ndarray | None
    transfers: int
    failed: int | None = None
    rest: int = 0


def llep(loads: np.ndarray, home: np.ndarray, devices: int, capacity: int, min_chunk: int) -> SpillPlan:
    """LLEP's least-loaded assignment with the hard capacity and minimum chunk of the module docstring."""
    loads = np.asarray(loads, dtype=np.int64)
    home = np.asarray(home, dtype=np.int64)
    E, G, C = len(loads), devices, int(capacity)
    tokens = np.zeros((E, G), dtype=np.int64)
    pending = np.bincount(home, weights=loads, minlength=G).astype(np.int64)
    assigned = np.zeros(G, dtype=np.int64)
    transfers = 0
    order = sorted(range(E), key=lambda e: (-int(loads[e]), e))
    for e in order:
        load, h = int(loads[e]), int(home[e])
        if load == 0:
            continue
        least = min(min_chunk, load)
        pending[h] -= load
        room = C - int(assigned[h] + pending[h])
        keep = max(0, min(load, room))
        if 0 < load - keep < least:
            keep = load - least  # leave a spill the size of one valid piece (>= 0 as load >= least)
        tokens[e, h] += keep
        assigned[h] += keep
        rest = load - keep
        while rest > 0:
            effective = assigned + pending
            placed = False
            # Least effective load first; a stable sort keeps the lower index first among ties.
            for g in np.argsort(effective, kind="stable"):
                g = int(g)
                if g == h or tokens[e, g] > 0:
                    continue
                piece = min(rest, C - int(effective[g]))
                if 0 < rest - piece < least:
                    piece = rest - least  # leave exactly one valid piece for the next device
                if piece < least or piece <= 0:
                    continue
                tokens[e, g] += piece
                assigned[g] += piece
                rest -= piece
                transfers += 1
                placed = True
                break
            if not placed:
                return SpillPlan(None, transfers, failed=e, rest=rest)
    return SpillPlan(tokens, transfers)
