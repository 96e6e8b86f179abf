r"""Tabu search on the critical path for the job shop (TSAB / i-TSAB style), compiled with numba.

Data as in :mod:`allocopt.solvers.jobshop_dispatch` (flat arrays, job-major operation order). A solution is
the disjunctive graph's selection: one sequence of operations per machine. Its semi-active schedule starts
each operation at its **head** :math:`r_o = \max(r_{JP(o)} + p_{JP(o)},\ r_{MP(o)} + p_{MP(o)})` (job and
machine predecessors, 0 when absent), computed in topological order (Kahn's algorithm, which also detects a
cycle); the **tail** :math:`q_o = \max(p_{JS(o)} + q_{JS(o)},\ p_{MS(o)} + q_{MS(o)})` in reverse order. The
makespan is :math:`C = \max_o r_o + p_o`, and o is critical iff :math:`r_o + p_o + q_o = C`.

One iteration:

1. **Critical path and blocks.** Trace one longest path back from an operation ending at C (when both its
   machine and its job predecessor are critical, a random one); a *block* is a maximal run of path operations
   joined by machine arcs.
2. **Neighbourhood.**

   - ``"n5"`` (Nowicki and Smutnicki 1996): swap the first two and the last two operations of every block,
     except the first pair of the first block and the last pair of the last block (those swaps cannot
     shorten the path).
   - ``"n7"`` (Zhang, Li, Guan and Rao 2007): move an operation of a block to the block's front or back,
     and the block's first (last) operation to any inner position; the front of the first block and the back
     of the last block are again excluded. A non-adjacent move is kept only when Balas and Vazacopoulos'
     (1998) sufficient condition proves it creates no cycle: moving u right after v (u before v on the path)
     needs :math:`p_v + q_v \ge p_{JS(u)} + q_{JS(u)}`, moving v right before u needs
     :math:`r_u + p_u \ge r_{JP(v)} + p_{JP(v)}`.

   Swapping two adjacent operations of a critical path never creates a cycle when durations are positive
   (a second path between them would be longer than the critical arc). Zero durations can break these
   proofs, so every applied move is re-evaluated by Kahn's algorithm and undone if it closes a cycle.
3. **Move evaluation** in O(segment), not by a full re-evaluation: the moved segment's new heads forward from
   its machine predecessor and its new tails backward from its machine successor (everything else keeps its
   head and tail), and the estimate :math:`\max_{o \in \text{segment}} r'_o + p_o + q'_o` (Taillard 1994;
   Balas and Vazacopoulos 1998): the longest path through the segment, a lower bound on the new makespan.
4. **Tabu list** of reversed arcs: a move that puts u after x forbids u before x again for a tenure drawn
   uniformly from ``[L, L + L // 2]`` with :math:`L = 5 + \lfloor n / m \rfloor` (randomized in the spirit of
   Zhang et al.'s dynamic tenure; the 5 and the back-jump period below come from a short single-seed sweep on
   ta01-ta05 over bases 2-10 and periods 1000-10000). A tabu move is allowed when its estimate beats the best
   makespan (aspiration). The move of least estimate is taken (random ties); when every move is tabu, the one
   whose tabu expires first.
5. **Back-jump.** After ``max(5000, 10 n_ops)`` iterations without improving the best, restart from an elite
   solution (the best with probability 1/2, else a random one of the last 8 improving solutions) after a
   random walk of 2 to 9 random N7 moves (plus one per back-jump since the last improvement, at most n_ops / 2),
   with an empty tabu list (a simple form of i-TSAB's back-jump tracking; no path relinking).

The search stops at ``iterations``, at ``time_limit`` (checked between compiled chunks of about 20 ms),
or when the makespan reaches the trivial lower bound or the critical path is a single block (optimal).
The compiled code is cached on disk (``cache=True``); :func:`warm_up` loads or compiles it on a tiny instance
before the clock starts and reports how long that took (``TabuResult.compile_seconds``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numba
import numpy as np

from allocopt.solvers.jobshop_dispatch import _arrays, trivial_lower_bound

__all__ = ["NEIGHBOURHOODS", "TabuResult", "sequences_from_start", "tabu_search", "warm_up"]

NEIGHBOURHOODS: tuple[str, ...] = ("n5", "n7")
DEFAULT_ITERATIONS = 20_000  # when neither iterations nor time_limit is given
ELITE = 8
TENURE_BASE = 5  # tenure L = TENURE_BASE + n_jobs // machines, drawn from [L, L + L // 2]
RANDOM_PATH = 1  # trace the critical path through a random critical predecessor when both are critical
WALK_N7 = 1  # the back-jump's random walk takes random N7 moves (1) or N5 swaps (0)
WALK_GROW = 1  # the random walk of a back-jump grows by this many swaps per back-jump without improvement
STALL_MIN, STALL_PER_OP = 5000, 10  # back-jump after max(STALL_MIN, STALL_PER_OP * n_ops) idle iterations

# Slots of the int64 state vector the compiled search keeps between chunks.
S_ITER, S_BEST, S_CUR, S_STALL, S_RNG, S_DONE, S_LB, S_NELITE, S_RESTARTS = range(9)
N_STATE = 9
# Slots of the parameter vector.
P_TMIN, P_TMAX, P_STALL, P_N7, P_GROW, P_RANDPATH, P_WALK7 = range(7)


@dataclass(frozen=True)
class TabuResult:
    """What the tabu search found.

    ``start``: flat int64 start per operation (the semi-active schedule of the best sequences); ``makespan``
    its makespan; ``initial_makespan`` the given start's makespan; ``iterations`` tabu moves made;
    ``seconds`` search time (compilation excluded); ``history``: (seconds since start, best makespan) at the
    start and after each improvement (time read between chunks, so late by at most one chunk, ~20 ms);
    ``compile_seconds``: time :func:`warm_up` took in this call (0 once compiled or loaded from cache).
    """

    start: np.ndarray
    makespan: int
    initial_makespan: int
    iterations: int
    seconds: float
    history: list[tuple[float, int]] = field(default_factory=list)
    compile_seconds: float = 0.0


# ----------------------------------------------------------------------------------------------- compiled core


@numba.njit(cache=True)
def _rand(st: np.ndarray, k: int) -> int:
    """A uniform integer in [0, k) from the 48-bit LCG in st[S_RNG] (java.util.Random's constants)."""
    x = (st[S_RNG] * 0x5DEECE66D + 0xB) & 0xFFFFFFFFFFFF
    st[S_RNG] = x
    return (x >> 17) % k


@numba.njit(cache=True)
def _link(seq, mstart, mp, ms, machines):
    for k in range(machines):
        a, b = mstart[k], mstart[k + 1]
        for i in range(a, b):
            o = seq[i]
            mp[o] = seq[i - 1] if i > a else -1
            ms[o] = seq[i + 1] if i + 1 < b else -1


@numba.njit(cache=True)
def _evaluate(d, jp, js, mp, ms, r, q, order, indeg):
    """Heads r and tails q in topological order; the makespan, or -1 (r, q untouched) on a cycle."""
    n = d.size
    cnt = 0
    for o in range(n):
        k = 0
        if jp[o] >= 0:
            k += 1
        if mp[o] >= 0:
            k += 1
        indeg[o] = k
        if k == 0:
            order[cnt] = o
            cnt += 1
    h = 0
    while h < cnt:
        u = order[h]
        h += 1
        s = js[u]
        if s >= 0:
            indeg[s] -= 1
            if indeg[s] == 0:
                order[cnt] = s
                cnt += 1
        s = ms[u]
        if s >= 0:
            indeg[s] -= 1
            if indeg[s] == 0:
                order[cnt] = s
                cnt += 1
    if cnt < n:
        return -1
    cmax = 0
    for i in range(n):
        u = order[i]
        t = 0
        p = jp[u]
        if p >= 0 and r[p] + d[p] > t:
            t = r[p] + d[p]
        p = mp[u]
        if p >= 0 and r[p] + d[p] > t:
            t = r[p] + d[p]
        r[u] = t
        if t + d[u] > cmax:
            cmax = t + d[u]
    for i in range(n - 1, -1, -1):
        u = order[i]
        t = 0
        s = js[u]
        if s >= 0 and d[s] + q[s] > t:
            t = d[s] + q[s]
        s = ms[u]
        if s >= 0 and d[s] + q[s] > t:
            t = d[s] + q[s]
        q[u] = t
    return cmax


@numba.njit(cache=True)
def _critical_blocks(d, jp, mp, r, cmax, path, bstart, bend, pos, randomize, st):
    """Blocks of one critical path as machine-position ranges [bstart[b], bend[b]] in path order; their count."""
    n = d.size
    cur = -1
    for o in range(n):
        if r[o] + d[o] == cmax:
            cur = o
            break
    length = 0
    while True:
        path[length] = cur
        length += 1
        p = mp[cur]
        x = jp[cur]
        via_m = p >= 0 and r[p] + d[p] == r[cur]
        via_j = x >= 0 and r[x] + d[x] == r[cur]
        if via_m and via_j and randomize and _rand(st, 2) == 0:
            via_m = False
        if via_m:
            cur = p
        elif via_j:
            cur = x
        else:
            break
    # path runs backwards; walk it forwards, cutting where consecutive operations are not machine-adjacent
    nb = 0
    i = length - 1
    while i >= 0:
        first = path[i]
        last = first
        while i - 1 >= 0 and mp[path[i - 1]] == last:
            i -= 1
            last = path[i]
        bstart[nb] = pos[first]
        bend[nb] = pos[last]
        nb += 1
        i -= 1
    return nb


@numba.njit(cache=True)
def _estimate(a, b, seq, mlo, mhi, d, jp, js, r, q, seg, rr):
    """Longest path through the segment after moving the operation at machine position a to position b."""
    lo = min(a, b)
    hi = max(a, b)
    k = 0
    if a < b:
        for i in range(a + 1, b + 1):
            seg[k] = seq[i]
            k += 1
        seg[k] = seq[a]
        k += 1
    else:
        seg[k] = seq[a]
        k += 1
        for i in range(b, a):
            seg[k] = seq[i]
            k += 1
    prev = seq[lo - 1] if lo > mlo else -1
    for i in range(k):
        o = seg[i]
        t = 0
        p = jp[o]
        if p >= 0 and r[p] + d[p] > t:
            t = r[p] + d[p]
        if prev >= 0:
            e = (r[prev] + d[prev]) if i == 0 else (rr[i - 1] + d[prev])
            if e > t:
                t = e
        rr[i] = t
        prev = o
    nxt = seq[hi + 1] if hi + 1 < mhi else -1
    best = 0
    tail_next = 0
    for i in range(k - 1, -1, -1):
        o = seg[i]
        t = 0
        s = js[o]
        if s >= 0 and d[s] + q[s] > t:
            t = d[s] + q[s]
        if nxt >= 0:
            e = (d[nxt] + q[nxt]) if i == k - 1 else (d[nxt] + tail_next)
            if e > t:
                t = e
        tail_next = t
        nxt = o
        v = rr[i] + d[o] + t
        if v > best:
            best = v
    return best


@numba.njit(cache=True)
def _apply(a, b, seq, pos, mp, ms, mlo, mhi):
    """Move the operation at machine position a to position b, shifting the ones between."""
    o = seq[a]
    if a < b:
        for i in range(a, b):
            seq[i] = seq[i + 1]
            pos[seq[i]] = i
    else:
        for i in range(a, b, -1):
            seq[i] = seq[i - 1]
            pos[seq[i]] = i
    seq[b] = o
    pos[o] = b
    lo = min(a, b)
    hi = max(a, b)
    for i in range(max(lo - 1, mlo), min(hi + 2, mhi)):
        u = seq[i]
        mp[u] = seq[i - 1] if i > mlo else -1
        ms[u] = seq[i + 1] if i + 1 < mhi else -1


@numba.njit(cache=True)
def _tabu_expiry(a, b, seq, machine, local, toff, tcnt, tabu):
    """Latest expiry among the arcs a move would re-create (0: not tabu)."""
    u = seq[a]
    m = machine[u]
    c = tcnt[m]
    base = toff[m]
    worst = 0
    if a < b:  # x before u for every x passed over
        for i in range(a + 1, b + 1):
            t = tabu[base + local[seq[i]] * c + local[u]]
            if t > worst:
                worst = t
    else:  # u before x
        for i in range(b, a):
            t = tabu[base + local[u] * c + local[seq[i]]]
            if t > worst:
                worst = t
    return worst


@numba.njit(cache=True)
def _make_tabu(a, b, seq, machine, local, toff, tcnt, tabu, until):
    """After moving u from a to b (seq already updated): forbid the arcs it reversed."""
    u = seq[b]
    m = machine[u]
    c = tcnt[m]
    base = toff[m]
    if a < b:  # u was before the x now in positions a..b-1: forbid u before x
        for i in range(a, b):
            tabu[base + local[u] * c + local[seq[i]]] = until
    else:  # x now in b+1..a was before u: forbid x before u
        for i in range(b + 1, a + 1):
            tabu[base + local[seq[i]] * c + local[u]] = until


@numba.njit(cache=True)
def _moves(nb, bstart, bend, n7, seq, d, jp, js, r, q, mv_a, mv_b):
    """The neighbourhood as (from, to) machine positions; its size."""
    k = 0
    for blk in range(nb):
        s = bstart[blk]
        e = bend[blk]
        if e <= s:
            continue
        first = blk == 0
        last = blk == nb - 1
        if not n7:
            if not first:
                mv_a[k] = s
                mv_b[k] = s + 1
                k += 1
            if not last and (first or e - 1 != s):
                mv_a[k] = e - 1
                mv_b[k] = e
                k += 1
            continue
        # N7: adjacent swaps at both ends (as N5), then the longer moves that are provably acyclic
        if not first:
            mv_a[k] = s
            mv_b[k] = s + 1
            k += 1
        if not last and (first or e - 1 != s):
            mv_a[k] = e - 1
            mv_b[k] = e
            k += 1
        u_s = seq[s]
        u_e = seq[e]
        for i in range(s + 2, e + 1):  # operation at i to the front (before s)
            if first:
                break
            v = seq[i]
            p = jp[v]
            if p < 0 or r[u_s] + d[u_s] >= r[p] + d[p]:
                mv_a[k] = i
                mv_b[k] = s
                k += 1
        for i in range(s, e - 1):  # operation at i to the back (after e)
            if last:
                break
            u = seq[i]
            x = js[u]
            if x < 0 or d[u_e] + q[u_e] >= d[x] + q[x]:
                mv_a[k] = i
                mv_b[k] = e
                k += 1
        for j in range(s + 2, e):  # first operation to an inner position (right after seq[j])
            x = js[u_s]
            v = seq[j]
            if x < 0 or d[v] + q[v] >= d[x] + q[x]:
                mv_a[k] = s
                mv_b[k] = j
                k += 1
        for j in range(s + 1, e - 1):  # last operation to an inner position (right before seq[j])
            p = jp[u_e]
            v = seq[j]
            if p < 0 or r[v] + d[v] >= r[p] + d[p]:
                mv_a[k] = e
                mv_b[k] = j
                k += 1
    return k


@numba.njit(cache=True)
def _store_elite(seq, cmax, elite, elite_c, st):
    """Keep up to ELITE solutions of distinct makespans, the best ones."""
    ne = st[S_NELITE]
    for i in range(ne):
        if elite_c[i] == cmax:
            return
    if ne < elite.shape[0]:
        slot = ne
        st[S_NELITE] = ne + 1
    else:
        slot = 0
        for i in range(1, ne):
            if elite_c[i] > elite_c[slot]:
                slot = i
        if elite_c[slot] <= cmax:
            return
    elite[slot, :] = seq
    elite_c[slot] = cmax


@numba.njit(cache=True)
def _search(
    n_iter,
    machine,
    d,
    jp,
    js,
    mstart,
    local,
    toff,
    tcnt,
    seq,
    pos,
    mp,
    ms,
    r,
    q,
    order,
    indeg,
    tabu,
    best_seq,
    elite,
    elite_c,
    st,
    prm,
    path,
    bstart,
    bend,
    mv_a,
    mv_b,
    mv_e,
    seg,
    rr,
):
    """Run up to n_iter tabu iterations from the state in st (current solution evaluated in r, q)."""
    machines = mstart.size - 1
    n7 = prm[P_N7] == 1
    done = 0
    while done < n_iter and st[S_DONE] == 0:
        cur = st[S_CUR]
        if st[S_BEST] <= st[S_LB]:
            st[S_DONE] = 1
            break
        nb = _critical_blocks(d, jp, mp, r, cur, path, bstart, bend, pos, prm[P_RANDPATH] == 1, st)
        nm = _moves(nb, bstart, bend, n7, seq, d, jp, js, r, q, mv_a, mv_b)
        if nm == 0:  # a single block from time 0 to the makespan: a machine's load, so optimal
            st[S_DONE] = 1
            break
        it = st[S_ITER] + 1
        for i in range(nm):
            m = machine[seq[mv_a[i]]]
            mv_e[i] = _estimate(mv_a[i], mv_b[i], seq, mstart[m], mstart[m + 1], d, jp, js, r, q, seg, rr)
        applied = False
        while not applied:
            pick = -1
            ties = 0
            best_est = 1 << 62
            old_pick = -1
            old_exp = 1 << 62
            for i in range(nm):
                e = mv_e[i]
                if e < 0:
                    continue  # excluded (closed a cycle)
                expiry = _tabu_expiry(mv_a[i], mv_b[i], seq, machine, local, toff, tcnt, tabu)
                if expiry >= it and e >= st[S_BEST]:
                    if expiry < old_exp:
                        old_exp = expiry
                        old_pick = i
                    continue
                if e < best_est:
                    best_est = e
                    pick = i
                    ties = 1
                elif e == best_est:
                    ties += 1
                    if _rand(st, ties) == 0:
                        pick = i
            if pick < 0:
                pick = old_pick
            if pick < 0:
                break
            a = mv_a[pick]
            b = mv_b[pick]
            m = machine[seq[a]]
            _apply(a, b, seq, pos, mp, ms, mstart[m], mstart[m + 1])
            c = _evaluate(d, jp, js, mp, ms, r, q, order, indeg)
            if c < 0:
                _apply(b, a, seq, pos, mp, ms, mstart[m], mstart[m + 1])
                mv_e[pick] = -1
                continue
            applied = True
            tenure = prm[P_TMIN] + _rand(st, prm[P_TMAX] - prm[P_TMIN] + 1)
            _make_tabu(a, b, seq, machine, local, toff, tcnt, tabu, it + tenure)
            st[S_CUR] = c
        st[S_ITER] = it
        done += 1
        if not applied:  # every move closed a cycle (zero durations): nothing left to try from here
            st[S_STALL] = prm[P_STALL] + 1
        elif st[S_CUR] < st[S_BEST]:
            st[S_BEST] = st[S_CUR]
            best_seq[:] = seq
            st[S_STALL] = 0
            st[S_RESTARTS] = 0
            _store_elite(seq, st[S_CUR], elite, elite_c, st)
            continue
        else:
            st[S_STALL] += 1
        if st[S_STALL] > prm[P_STALL]:
            # back-jump: an elite solution, a short random walk of critical swaps, an empty tabu list
            ne = st[S_NELITE]
            if ne == 0 or _rand(st, 2) == 0:
                seq[:] = best_seq
            else:
                seq[:] = elite[_rand(st, ne)]
            for i in range(seq.size):
                pos[seq[i]] = i
            _link(seq, mstart, mp, ms, machines)
            c = _evaluate(d, jp, js, mp, ms, r, q, order, indeg)
            walk = 2 + _rand(st, 8) + min(st[S_RESTARTS] * prm[P_GROW], d.size // 2)
            for _w in range(walk):
                nb = _critical_blocks(d, jp, mp, r, c, path, bstart, bend, pos, True, st)
                k = _moves(nb, bstart, bend, prm[P_WALK7] == 1, seq, d, jp, js, r, q, mv_a, mv_b)
                if k == 0:
                    break
                i = _rand(st, k)
                a = mv_a[i]
                b = mv_b[i]
                m = machine[seq[a]]
                _apply(a, b, seq, pos, mp, ms, mstart[m], mstart[m + 1])
                c2 = _evaluate(d, jp, js, mp, ms, r, q, order, indeg)
                if c2 < 0:
                    _apply(b, a, seq, pos, mp, ms, mstart[m], mstart[m + 1])
                    c = _evaluate(d, jp, js, mp, ms, r, q, order, indeg)
                else:
                    c = c2
            st[S_CUR] = c
            tabu[:] = 0
            st[S_STALL] = 0
            st[S_RESTARTS] += 1
            if c < st[S_BEST]:
                st[S_BEST] = c
                best_seq[:] = seq
                _store_elite(seq, c, elite, elite_c, st)
    return done


# ----------------------------------------------------------------------------------------------- Python side


def sequences_from_start(
    machine: np.ndarray, duration: np.ndarray, job_start: np.ndarray, machines: int, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Machine sequences (flat, machine-major, and their offsets) of a feasible schedule.

    Operations on a machine are ordered by (start, end, index), which keeps every job arc and machine arc
    pointing forward even with zero durations, so the sequences are acyclic. Raises ValueError when ``start``
    is not a feasible schedule.
    """
    m, d, js = _arrays(machine, duration, job_start, machines)
    s = np.ascontiguousarray(start, dtype=np.int64)
    if s.shape != m.shape:
        raise ValueError("initial_start must hold one start per operation")
    if s.size and s.min() < 0:
        raise ValueError("initial_start has a negative start")
    end = s + d
    same_job = np.ones(m.size, dtype=bool)
    same_job[js[:-1][js[:-1] < m.size]] = False
    if m.size and np.any(s[1:][same_job[1:]] < end[:-1][same_job[1:]]):
        raise ValueError("initial_start starts an operation before its job predecessor ends")
    idx = np.arange(m.size)
    order = np.lexsort((idx, end, s, m))
    mstart = np.zeros(machines + 1, dtype=np.int64)
    np.cumsum(np.bincount(m, minlength=machines), out=mstart[1:])
    seq = order.astype(np.int64)
    for k in range(machines):
        a, b = mstart[k], mstart[k + 1]
        ops = seq[a:b]
        if b - a > 1 and np.any(s[ops[1:]] < end[ops[:-1]]):
            raise ValueError(f"initial_start overlaps two operations on machine {k}")
    return seq, mstart


_compiled = False


def warm_up() -> float:
    """Compile (or load from numba's cache) the search on a tiny instance; the seconds it took (0 if done)."""
    global _compiled
    if _compiled:
        return 0.0
    t0 = time.perf_counter()
    machine = np.array([0, 1, 1, 0], dtype=np.int64)
    duration = np.array([2, 3, 2, 4], dtype=np.int64)
    job_start = np.array([0, 2, 4], dtype=np.int64)
    start = np.array([0, 2, 0, 2], dtype=np.int64)
    for hood in NEIGHBOURHOODS:
        _run(machine, duration, job_start, 2, start, hood, 0, 5, None)
    _compiled = True
    return time.perf_counter() - t0


def tabu_search(
    machine: np.ndarray,
    duration: np.ndarray,
    job_start: np.ndarray,
    machines: int,
    initial_start: np.ndarray,
    *,
    neighbourhood: str = "n5",
    seed: int = 0,
    iterations: int | None = None,
    time_limit: float | None = None,
) -> TabuResult:
    """Tabu search from the feasible schedule ``initial_start`` (e.g. a dispatch schedule); see the module doc.

    Stops after ``iterations`` moves or ``time_limit`` seconds, whichever comes first (neither given:
    ``DEFAULT_ITERATIONS``), or when optimality is evident. Deterministic for a ``seed`` when stopped by
    ``iterations``. Raises ValueError for an unknown neighbourhood, bad limits or an infeasible start.
    """
    if neighbourhood not in NEIGHBOURHOODS:
        raise ValueError(f"unknown neighbourhood {neighbourhood!r}; expected one of {', '.join(NEIGHBOURHOODS)}")
    if iterations is not None and iterations < 0:
        raise ValueError("iterations must be >= 0")
    if time_limit is not None and not time_limit >= 0:
        raise ValueError("time_limit must be >= 0")
    if iterations is None and time_limit is None:
        iterations = DEFAULT_ITERATIONS
    compile_seconds = warm_up()
    res = _run(machine, duration, job_start, machines, initial_start, neighbourhood, seed, iterations, time_limit)
    return TabuResult(
        res.start, res.makespan, res.initial_makespan, res.iterations, res.seconds, res.history, compile_seconds
    )


def _run(
    machine: np.ndarray,
    duration: np.ndarray,
    job_start: np.ndarray,
    machines: int,
    initial_start: np.ndarray,
    neighbourhood: str,
    seed: int,
    iterations: int | None,
    time_limit: float | None,
) -> TabuResult:
    t0 = time.perf_counter()
    m, d, jstart = _arrays(machine, duration, job_start, machines)
    seq, mstart = sequences_from_start(m, d, jstart, machines, initial_start)
    s0 = np.asarray(initial_start, dtype=np.int64)
    initial = int((s0 + d).max(initial=0))
    n = m.size
    n_jobs = jstart.size - 1
    if n == 0:
        return TabuResult(np.zeros(0, dtype=np.int64), 0, 0, 0, time.perf_counter() - t0, [(0.0, 0)])
    jp = np.arange(n, dtype=np.int64) - 1
    jp[jstart[:-1][np.diff(jstart) > 0]] = -1
    js = np.arange(n, dtype=np.int64) + 1
    js[jstart[1:][np.diff(jstart) > 0] - 1] = -1
    pos = np.empty(n, dtype=np.int64)
    pos[seq] = np.arange(n)
    tcnt = np.diff(mstart)
    local = pos - mstart[m]  # fixed index of each operation among its machine's operations (initial order)
    toff = np.zeros(machines, dtype=np.int64)
    np.cumsum((tcnt * tcnt)[:-1], out=toff[1:])
    tabu = np.zeros(int((tcnt * tcnt).sum()), dtype=np.int64)
    mp = np.empty(n, dtype=np.int64)
    ms = np.empty(n, dtype=np.int64)
    _link(seq, mstart, mp, ms, machines)
    r = np.zeros(n, dtype=np.int64)
    q = np.zeros(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    indeg = np.empty(n, dtype=np.int64)
    cmax = _evaluate(d, jp, js, mp, ms, r, q, order, indeg)
    if cmax < 0:  # cannot happen for sequences_from_start's order; kept as a guard
        raise ValueError("initial_start gives a cyclic selection")
    lb = trivial_lower_bound(m, d, jstart, machines)
    base = TENURE_BASE + n_jobs // max(machines, 1)
    stall = max(STALL_MIN, STALL_PER_OP * n)
    prm = np.array(
        [base, base + base // 2, stall, 1 if neighbourhood == "n7" else 0, WALK_GROW, RANDOM_PATH, WALK_N7],
        dtype=np.int64,
    )
    st = np.zeros(N_STATE, dtype=np.int64)
    st[S_BEST] = cmax
    st[S_CUR] = cmax
    st[S_LB] = lb
    st[S_RNG] = (int(seed) ^ 0x5DEECE66D) & 0xFFFFFFFFFFFF
    best_seq = seq.copy()
    elite = np.zeros((ELITE, n), dtype=np.int64)
    elite_c = np.zeros(ELITE, dtype=np.int64)
    elite[0] = seq
    elite_c[0] = cmax
    st[S_NELITE] = 1
    path = np.empty(n, dtype=np.int64)
    bstart = np.empty(n, dtype=np.int64)
    bend = np.empty(n, dtype=np.int64)
    mv_a = np.empty(4 * n + 8, dtype=np.int64)
    mv_b = np.empty(4 * n + 8, dtype=np.int64)
    mv_e = np.empty(4 * n + 8, dtype=np.int64)
    seg = np.empty(n, dtype=np.int64)
    rr = np.empty(n, dtype=np.int64)
    history = [(0.0, initial)]
    if cmax < initial:
        history.append((time.perf_counter() - t0, cmax))
    chunk = 64
    target = 0.02  # seconds per compiled chunk between time checks
    while st[S_DONE] == 0:
        if iterations is not None and st[S_ITER] >= iterations:
            break
        elapsed = time.perf_counter() - t0
        if time_limit is not None and elapsed >= time_limit:
            break
        k = chunk if iterations is None else min(chunk, iterations - int(st[S_ITER]))
        before = int(st[S_BEST])
        c0 = time.perf_counter()
        _search(
            k,
            m,
            d,
            jp,
            js,
            mstart,
            local,
            toff,
            tcnt,
            seq,
            pos,
            mp,
            ms,
            r,
            q,
            order,
            indeg,
            tabu,
            best_seq,
            elite,
            elite_c,
            st,
            prm,
            path,
            bstart,
            bend,
            mv_a,
            mv_b,
            mv_e,
            seg,
            rr,
        )
        spent = time.perf_counter() - c0
        if st[S_BEST] < before:
            history.append((time.perf_counter() - t0, int(st[S_BEST])))
        if time_limit is not None:
            left = time_limit - (time.perf_counter() - t0)
            goal = min(target, max(left, 0.0))
        else:
            goal = target
        rate = k / max(spent, 1e-6)
        chunk = int(min(max(rate * goal, 1), 4 * chunk + 64))
    # the semi-active schedule of the best sequences
    _link(best_seq, mstart, mp, ms, machines)
    pos[best_seq] = np.arange(n)
    best = _evaluate(d, jp, js, mp, ms, r, q, order, indeg)
    return TabuResult(r.copy(), int(best), initial, int(st[S_ITER]), time.perf_counter() - t0, history)
