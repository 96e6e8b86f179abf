"""A max-heap on parallel arrays for numba-compiled greedy loops (heapq does not run in nopython code)."""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def sift_down(keys, ids, size, pos):
    """Restore the max-heap order of ``keys[:size]`` (with ``ids`` alongside) below position ``pos``."""
    key = keys[pos]
    idx = ids[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] > keys[child]:
            child += 1
        if keys[child] <= key:
            break
        keys[pos] = keys[child]
        ids[pos] = ids[child]
        pos = child
    keys[pos] = key
    ids[pos] = idx
