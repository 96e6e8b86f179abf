r"""Top-k selection per row: expert-choice routing's fast path (and token choice's, when capacities cannot bind).

Costs in minimisation form: an n x m float array ``c`` with ``+inf`` on forbidden pairs, demands ``d`` (row i
takes exactly :math:`d_i` distinct columns) and capacities ``u`` (column j takes at most :math:`u_j` rows; a
column of capacity 0 is never used). An assignment is held flat by row, as in ``assignment_greedy``.

Dropping the column constraints leaves one independent problem per row, *take the* :math:`d_i` *cheapest usable
columns*, whose optimum

.. math::

    R = \sum_i \min_{|S| = d_i,\ S \subseteq U_i} \sum_{j \in S} c_{ij} \;\le\; \mathrm{OPT}

is a lower bound (it is the Lagrangian dual value at zero prices). So when the selection happens to respect
every :math:`u_j` it is feasible with value R, hence optimal; when no :math:`u_j` can bind (it is at least the
number of rows that may pick column j) it always does. Expert choice (Zhou et al. 2022: each expert takes its
k tokens) is this on the transposed cost matrix, where the rows are the experts and the capacities are the
tokens' ``row_capacity``: per-expert top-k is exact for uncapped expert choice.

The selection is numpy's ``argpartition`` (introselect, O(m) per row), followed by a sort of the kept
:math:`\max_i d_i` entries only when the demands differ between rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TopK:
    """Each row's cheapest usable columns (flat by row), their total cost R, and the resulting column loads."""

    cols: np.ndarray
    value: float
    load: np.ndarray

    def fits(self, cap: np.ndarray) -> bool:
        """Whether the selection respects every capacity (then it is optimal: module docstring)."""
        return bool(np.all(self.load <= cap))


def top_k(c: np.ndarray, demand: np.ndarray, cap: np.ndarray) -> TopK | None:
    """Row i's ``demand[i]`` cheapest usable columns for every row, or None when some row has too few."""
    n, m = c.shape
    demand = np.asarray(demand, dtype=np.int64)
    kmax = int(demand.max(initial=0))
    if kmax == 0:
        return TopK(np.zeros(0, dtype=np.int64), 0.0, np.zeros(m, dtype=np.int64))
    if kmax > m:
        return None
    closed = np.asarray(cap) <= 0
    masked = np.where(closed[None, :], np.inf, c) if closed.any() else c
    # introselect: the kmax smallest of each row, in no particular order (all of them when kmax = m)
    part = np.broadcast_to(np.arange(m), (n, m)) if kmax == m else np.argpartition(masked, kmax - 1, axis=1)[:, :kmax]
    picked = np.take_along_axis(masked, part, axis=1)
    if np.any(demand != kmax):
        # rows that take fewer than kmax keep their demand[i] smallest of the kmax
        order = np.argsort(picked, axis=1, kind="stable")
        part = np.take_along_axis(part, order, axis=1)
        picked = np.take_along_axis(picked, order, axis=1)
        keep = np.arange(kmax)[None, :] < demand[:, None]
        cols, values = part[keep], picked[keep]
    else:
        cols, values = part.ravel(), picked.ravel()
    if not np.all(np.isfinite(values)):
        return None  # a row reached a forbidden or closed column: it has fewer usable columns than its demand
    cols = cols.astype(np.int64)
    return TopK(cols, float(values.sum()), np.bincount(cols, minlength=m))
