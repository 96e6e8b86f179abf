r"""Generalized assignment: regret greedy + local search, with a Lagrangian (or LP) lower bound.

Everything here works in minimisation form (a maximisation caller passes ``maximize=True`` and the costs are
negated on the way in and the value and bound on the way out):

.. math::

    z^* = \min \sum_{a,j} c_{aj} x_{aj} \quad\text{s.t.}\quad \sum_a x_{aj} = 1 \;(j), \qquad
    \sum_j r_{aj} x_{aj} \le b_a \;(a), \qquad x_{aj} \in \{0, 1\}.

**Construction** (Martello and Toth's MTHG). For a desirability :math:`f_{aj}` (larger is better), each
unassigned job j has a best and a second-best agent among those whose remaining capacity still takes it;
its *regret* is :math:`f_{a_1 j} - f_{a_2 j}` (infinite when only one agent takes it). The job with the
largest regret goes to its best agent: the jobs that would lose most by waiting are placed first. It is
run with several desirabilities (:math:`-c`, a cost-per-resource ratio, :math:`-r`, :math:`-r/b`, the LP
relaxation's values, and :math:`-(c_{aj} - v_a r_{aj})` with the LP's capacity prices :math:`v_a \le 0`).

**Local search** on each construction: *shift* a job to another agent that has room, *swap* the agents of
two jobs when both capacities allow; only strictly improving moves, until none is left.

**Lagrangian heuristic**: whenever a subgradient step (below) improves the bound, the agents' knapsack
choices become one more desirability (chosen by agent a: 1, else 0; cheaper first on ties) for a regret
construction and local search. These are what close most of the gap on the harder instances.

**Bound** (valid for every :math:`u`, so the duals' accuracy does not matter). Relaxing the job rows with
multipliers :math:`u_j` leaves one 0/1 knapsack per agent:

.. math::

    L(u) = \sum_j u_j - \sum_a \max\Big\{ \sum_j (u_j - c_{aj}) x_{aj} :
    \sum_j r_{aj} x_{aj} \le b_a,\; x_{aj} \in \{0,1\} \Big\} \;\le\; z^*.

``u`` starts at the job rows' duals of the LP relaxation (solved with highspy). With integral resources
and capacities small enough, each knapsack is solved exactly by dynamic programming and ``u`` is improved
by subgradient steps: ``bound_kind = "lagrangian"`` (never weaker than the LP bound, often stronger, as
the knapsacks do not have the integrality property). Otherwise each knapsack is bounded by its LP
(Dantzig) value, which gives the LP relaxation's bound: ``bound_kind = "lp"``. When every cost is an
integer, so is :math:`z^*`, and the bound is rounded up to the next integer.

Solvers here take numpy arrays; they never see JSON.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numba
import numpy as np

__all__ = ["GapHeuristicOutcome", "gap_heuristic"]

#: Exact knapsack DPs are used while the DP tables (sum over agents of n x capacity) stay below this.
DP_CELL_BUDGET = 30_000_000
#: Local-search passes (each: every shift, then every swap) per construction.
MAX_LOCAL_SEARCH_PASSES = 100
#: Lagrangian-heuristic constructions during the subgradient steps.
LAGRANGIAN_HEURISTIC_RUNS = 30


@dataclass(frozen=True)
class GapHeuristicOutcome:
    """The heuristic's assignment and a proven bound on the optimum, both in the caller's sense.

    ``agent`` holds each job's agent (None when no feasible assignment was found); ``bound`` is a lower
    bound on the optimum when minimising, an upper bound when maximising (None for a proven infeasible
    instance); ``bound_kind`` is ``"lagrangian"``, ``"lp"`` or ``"infeasible"``; ``start`` names the
    desirability whose construction gave the best assignment; ``moves`` counts its local-search moves;
    ``subgradient_steps`` counts the Lagrangian iterations run.
    """

    agent: np.ndarray | None
    value: float | None
    bound: float | None
    bound_kind: str
    start: str | None = None
    moves: int = 0
    subgradient_steps: int = 0


def gap_heuristic(
    cost: np.ndarray,
    resource: np.ndarray,
    capacity: np.ndarray,
    maximize: bool = False,
    local_search: bool = True,
    subgradient_steps: int = 200,
    time_limit: float | None = None,
) -> GapHeuristicOutcome:
    """Best of the regret constructions (each improved by local search) and the bound of the module docstring."""
    start_time = time.perf_counter()
    sign = -1.0 if maximize else 1.0
    c = sign * np.ascontiguousarray(cost, dtype=np.float64)
    r = np.ascontiguousarray(resource, dtype=np.float64)
    b = np.ascontiguousarray(capacity, dtype=np.float64)
    n = c.shape[1]
    if n == 0:
        return GapHeuristicOutcome(np.zeros(0, dtype=np.int64), 0.0, 0.0, "lagrangian")
    fits = r <= b[:, None]

    lp = _solve_lp(c, r, b, fits, time_limit)
    if lp.status == "infeasible":
        return GapHeuristicOutcome(None, None, None, "infeasible")

    best = _Incumbent(c, r, b, local_search)
    for name, f in _desirabilities(c, r, b, lp).items():
        best.try_desirability(name, f)

    integral_costs = bool(np.all(c == np.round(c)))
    remaining = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - start_time))
    bound, kind, steps = _lagrangian_bound(c, r, b, fits, lp.u, best, subgradient_steps, integral_costs, remaining)
    if integral_costs:
        bound = math.ceil(bound - 1e-9 * max(1.0, abs(bound)))
    best_agent, best_value = best.agent, best.value
    value = None if best_agent is None else sign * best_value
    return GapHeuristicOutcome(best_agent, value, sign * bound, kind, best.start, best.moves, steps)


# ----------------------------------------------------------------------------------------------------------
# the LP relaxation (highspy): multipliers for the bound and guidance for two constructions
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LP:
    status: str  # "optimal", "infeasible" or "failed"
    x: np.ndarray | None  # m x n relaxed assignment
    u: np.ndarray  # job-row duals (cheapest cost of each job when the LP failed)
    v: np.ndarray  # capacity-row duals, <= 0


def _solve_lp(c: np.ndarray, r: np.ndarray, b: np.ndarray, fits: np.ndarray, time_limit: float | None) -> _LP:
    import highspy
    from scipy import sparse

    from allocopt.solvers.highs_lp import solve_lp

    m, n = c.shape
    # Fallback multipliers: each job's cheapest fitting cost (L(u) = sum_j u_j, every knapsack empty).
    fallback = np.where(fits, c, np.inf).min(axis=0) if n else np.zeros(0)
    fallback = np.where(np.isfinite(fallback), fallback, 0.0)
    if n == 0:
        return _LP("optimal", np.zeros((m, 0)), np.zeros(0), np.zeros(m))
    ai, jj = np.nonzero(fits)
    k = len(ai)
    cols = np.arange(k)
    # rows 0..n-1: job rows (= 1); rows n..n+m-1: capacity rows (<= b)
    A = sparse.csc_matrix(
        (np.concatenate([np.ones(k), r[ai, jj]]), (np.concatenate([jj, n + ai]), np.concatenate([cols, cols]))),
        shape=(n + m, k),
    )
    h = solve_lp(
        c[ai, jj],
        A,
        np.concatenate([np.ones(n), np.full(m, -np.inf)]),
        np.concatenate([np.ones(n), b]),
        time_limit=time_limit,
    )
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return _LP("infeasible", None, fallback, np.zeros(m))
    if status != highspy.HighsModelStatus.kOptimal:
        return _LP("failed", None, fallback, np.zeros(m))
    sol = h.getSolution()
    x = np.zeros((m, n))
    x[ai, jj] = np.asarray(sol.col_value, dtype=np.float64)
    duals = np.asarray(sol.row_dual, dtype=np.float64)
    return _LP("optimal", x, duals[:n].copy(), np.minimum(duals[n:], 0.0))


class _Incumbent:
    """The best assignment found so far; each candidate is a regret construction under one desirability."""

    def __init__(self, c: np.ndarray, r: np.ndarray, b: np.ndarray, local_search: bool) -> None:
        self.c, self.r, self.b, self.local_search = c, r, b, local_search
        self.agent: np.ndarray | None = None
        self.value = math.inf
        self.start: str | None = None
        self.moves = 0

    def try_desirability(self, name: str, f: np.ndarray) -> bool:
        """Construct, improve, keep if better; True when the incumbent improved."""
        agent, ok = _regret_construct(np.ascontiguousarray(f, dtype=np.float64), self.r, self.b)
        if not ok:
            return False
        moves = _local_search(self.c, self.r, self.b, agent, MAX_LOCAL_SEARCH_PASSES) if self.local_search else 0
        value = float(self.c[agent, np.arange(len(agent))].sum())
        if value >= self.value - 1e-12 * max(1.0, abs(value)):
            return False
        self.agent, self.value, self.start, self.moves = agent, value, name, moves
        return True


# ----------------------------------------------------------------------------------------------------------
# construction
# ----------------------------------------------------------------------------------------------------------


def _desirabilities(c: np.ndarray, r: np.ndarray, b: np.ndarray, lp: _LP) -> dict[str, np.ndarray]:
    """Larger is better. Ratios use a per-job shifted 'profit' (shifting a job's costs changes no decision)."""
    n = c.shape[1]
    spread = float(c.max() - c.min()) if c.size else 0.0
    delta = 1e-3 * spread if spread > 0 else 1.0
    profit = c.max(axis=0, initial=-np.inf)[None, :] - c + delta if n else c
    tiny = 1e-9 * (1.0 + float(r.max(initial=0.0)))
    out = {
        "cost": -c,
        "cost_per_resource": profit / (r + tiny),
        "resource": -r,
        "relative_resource": -r / np.maximum(b, tiny)[:, None],
    }
    if lp.x is not None:
        normalised = (c - c.min()) / spread if spread > 0 else np.zeros_like(c)
        out["lp"] = lp.x - 1e-3 * normalised  # follow the LP, cheaper agent on ties
        out["lp_prices"] = -(c - lp.v[:, None] * r)  # cost plus the LP's price of the capacity used
    return out


@numba.njit(cache=True)
def _top_two(f: np.ndarray, r: np.ndarray, residual: np.ndarray, j: int) -> tuple[float, int, float, int]:
    f1, a1, f2, a2 = -np.inf, -1, -np.inf, -1
    for a in range(f.shape[0]):
        if r[a, j] <= residual[a]:
            v = f[a, j]
            if a1 < 0 or v > f1:
                f2, a2 = f1, a1
                f1, a1 = v, a
            elif a2 < 0 or v > f2:
                f2, a2 = v, a
    return f1, a1, f2, a2


@numba.njit(cache=True)
def _regret_construct(f: np.ndarray, r: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, bool]:
    """MTHG: repeatedly place the job of largest regret on its best agent. Returns (agent, succeeded)."""
    n = f.shape[1]
    residual = b.copy()
    agent = np.full(n, -1, dtype=np.int64)
    f1 = np.empty(n)
    f2 = np.empty(n)
    a1 = np.empty(n, dtype=np.int64)
    a2 = np.empty(n, dtype=np.int64)
    for j in range(n):
        f1[j], a1[j], f2[j], a2[j] = _top_two(f, r, residual, j)
    for _ in range(n):
        pick, pick_regret, pick_f = -1, -np.inf, -np.inf
        for j in range(n):
            if agent[j] >= 0:
                continue
            if a1[j] < 0:
                return agent, False
            regret = np.inf if a2[j] < 0 else f1[j] - f2[j]
            if regret > pick_regret or (regret == pick_regret and f1[j] > pick_f):
                pick, pick_regret, pick_f = j, regret, f1[j]
        a = a1[pick]
        agent[pick] = a
        residual[a] -= r[a, pick]
        # Only jobs whose best two agents include a, and that no longer fit a, change their regret.
        for j in range(n):
            if agent[j] < 0 and (a1[j] == a or a2[j] == a) and r[a, j] > residual[a]:
                f1[j], a1[j], f2[j], a2[j] = _top_two(f, r, residual, j)
    return agent, True


# ----------------------------------------------------------------------------------------------------------
# local search
# ----------------------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _local_search(c: np.ndarray, r: np.ndarray, b: np.ndarray, agent: np.ndarray, max_passes: int) -> int:
    """Improving shifts and swaps, in place, until none is left; returns the number of moves made."""
    m, n = c.shape
    tol = 1e-9 * (1.0 + np.abs(c).max()) if c.size else 0.0
    moves = 0
    for _ in range(max_passes):
        residual = b.copy()  # recomputed each pass so that float drift cannot accumulate
        for j in range(n):
            residual[agent[j]] -= r[agent[j], j]
        improved = False
        for j in range(n):  # shift: the best improving move of each job
            i = agent[j]
            best_k, best_d = -1, -tol
            for k in range(m):
                if k != i and r[k, j] <= residual[k]:
                    d = c[k, j] - c[i, j]
                    if d < best_d:
                        best_k, best_d = k, d
            if best_k >= 0:
                agent[j] = best_k
                residual[i] += r[i, j]
                residual[best_k] -= r[best_k, j]
                moves += 1
                improved = True
        for j in range(n):  # swap: first improvement
            for q in range(j + 1, n):
                i, k = agent[j], agent[q]
                if i == k:
                    continue
                d = c[k, j] + c[i, q] - c[i, j] - c[k, q]
                if d < -tol and r[k, j] - r[k, q] <= residual[k] and r[i, q] - r[i, j] <= residual[i]:
                    agent[j], agent[q] = k, i
                    residual[k] -= r[k, j] - r[k, q]
                    residual[i] -= r[i, q] - r[i, j]
                    moves += 1
                    improved = True
        if not improved:
            break
    return moves


# ----------------------------------------------------------------------------------------------------------
# the bound
# ----------------------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _knapsack_dp(profit: np.ndarray, weight: np.ndarray, capacity: int, take: np.ndarray) -> float:
    """Exact 0/1 knapsack over integral weights (items with profit <= 0 are skipped); fills ``take``."""
    n = profit.shape[0]
    best = np.zeros(capacity + 1)
    keep = np.zeros((n, capacity + 1), dtype=np.bool_)
    for j in range(n):
        p, w = profit[j], int(weight[j])
        if p <= 0.0 or w > capacity:
            continue
        for cap in range(capacity, w - 1, -1):
            cand = best[cap - w] + p
            if cand > best[cap]:
                best[cap] = cand
                keep[j, cap] = True
    take[:] = False
    cap = capacity
    for j in range(n - 1, -1, -1):
        if keep[j, cap]:
            take[j] = True
            cap -= int(weight[j])
    return best[capacity]


def _knapsack_lp(profit: np.ndarray, weight: np.ndarray, capacity: float) -> float:
    """Dantzig's bound: the LP optimum of a 0/1 knapsack (items by profit/weight, the last one fractional)."""
    keep = profit > 0
    p, w = profit[keep], weight[keep]
    free = w <= 0
    total = float(p[free].sum())
    p, w = p[~free], w[~free]
    order = np.argsort(-p / w, kind="stable")
    p, w = p[order], w[order]
    filled = np.cumsum(w)
    whole = int(np.searchsorted(filled, capacity, side="right"))
    total += float(p[:whole].sum())
    if whole < len(p):
        room = capacity - (filled[whole - 1] if whole else 0.0)
        total += float(p[whole]) * room / float(w[whole])
    return total


def _lagrangian_bound(
    c: np.ndarray,
    r: np.ndarray,
    b: np.ndarray,
    fits: np.ndarray,
    u0: np.ndarray,
    best_solution: _Incumbent,
    max_steps: int,
    integral_costs: bool,
    time_left: float | None,
) -> tuple[float, str, int]:
    """L(u) at the LP duals, then subgradient steps when the knapsacks can be solved exactly.

    Each time the bound improves (at most ``LAGRANGIAN_HEURISTIC_RUNS`` times), the knapsacks' choices guide a
    regret construction (a Lagrangian heuristic), which may improve the incumbent and so the step size.
    """
    m, n = c.shape
    caps = np.floor(b + 1e-9)
    exact = bool(np.all(r == np.round(r))) and float(n * caps.sum()) <= DP_CELL_BUDGET
    if not exact:
        profit = u0[None, :] - c
        value = float(u0.sum()) - sum(_knapsack_lp(profit[a, fits[a]], r[a, fits[a]], float(b[a])) for a in range(m))
        return value, "lp", 0

    take = np.zeros((m, n), dtype=np.bool_)
    caps_int = caps.astype(np.int64)

    def evaluate(u: np.ndarray) -> float:
        profit = np.where(fits, u[None, :] - c, 0.0)
        total = float(u.sum())
        for a in range(m):
            total -= _knapsack_dp(profit[a], r[a], int(caps_int[a]), take[a])
        return total

    u = u0.copy()
    best = evaluate(u)
    steps, theta, stale, heuristic_runs = 0, 0.5, 0, 0
    deadline = None if time_left is None else time.perf_counter() + time_left
    spread = float(c.max() - c.min())
    tie_break = 1e-3 * (c - c.min()) / spread if spread > 0 else np.zeros_like(c)
    while best_solution.agent is not None and steps < max_steps and theta > 1e-4:
        target = best_solution.value
        if integral_costs and math.ceil(best - 1e-9 * max(1.0, abs(best))) >= target - 1e-9:
            break  # the bound already proves the target optimal
        if deadline is not None and time.perf_counter() > deadline:
            break
        g = 1.0 - take.sum(axis=0)  # subgradient: how far each job row is from being met
        norm = float(g @ g)
        if norm == 0:
            break  # the knapsack solutions form an assignment: L(u) is the optimum
        u = u + theta * max(target - best, 1e-9 * max(1.0, abs(target))) / norm * g
        value = evaluate(u)
        steps += 1
        if value > best + 1e-12 * max(1.0, abs(best)):
            best, stale = value, 0
            if heuristic_runs < LAGRANGIAN_HEURISTIC_RUNS:
                heuristic_runs += 1
                best_solution.try_desirability("lagrangian", take - tie_break)
        else:
            stale += 1
            if stale >= 10:
                theta, stale = theta / 2, 0
    return best, "lagrangian", steps
