"""One sparse LP handed to HiGHS in-process (highspy), for the engines that need an LP's duals or bound.

``min`` (or ``max``) ``cost @ x`` subject to ``row_lower <= A x <= row_upper`` and ``0 <= x <= col_upper``,
with ``A`` a scipy sparse matrix. Building ``HighsLp`` directly (not through Pyomo) keeps large LPs fast and
gives the engines the row duals they turn into Lagrangian multipliers or prices.
"""

from __future__ import annotations

import highspy
import numpy as np
from scipy import sparse


def solve_lp(
    cost: np.ndarray,
    matrix: sparse.spmatrix,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    col_upper: np.ndarray | None = None,
    maximize: bool = False,
    time_limit: float | None = None,
) -> highspy.Highs:
    """Solve the LP and return the ``Highs`` object (read ``getModelStatus()``, ``getSolution()``, ``getInfo()``).

    Infinite row bounds may be given as ``-inf``/``inf``; ``col_upper`` defaults to all ones (the relaxation of
    binaries, which every caller here solves).
    """
    a = sparse.csc_matrix(matrix)
    a.sort_indices()
    n_row, n_col = a.shape
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = np.ones(n_col) if col_upper is None else np.asarray(col_upper, dtype=np.float64)
    inf = highspy.kHighsInf
    lp.row_lower_ = np.maximum(np.asarray(row_lower, dtype=np.float64), -inf)
    lp.row_upper_ = np.minimum(np.asarray(row_upper, dtype=np.float64), inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    h.passModel(lp)
    h.run()
    return h
