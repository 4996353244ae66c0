"""Lazy-deletion 4-ary min-heap used by every search kernel.

The heap is one float64 array ``h`` of interleaved pairs: ``h[2 * i]`` is the key (a
tentative distance) and ``h[2 * i + 1]`` the node id (stored exactly as a float up to
2**53). Keeping key and node in one cache line and choosing the smallest child without
branches (the comparisons are unpredictable) is what makes it fast. There is no
decrease-key: an improved node is pushed again and the stale entry is skipped when popped
(its key is larger than the node's distance).

Invariant: every slot from ``size`` to the end of ``h`` holds ``inf``, so the four-child
scan may read past the last entry. :func:`ensure_capacity` keeps room for that.
"""

from __future__ import annotations

import numba as nb
import numpy as np

INITIAL_CAPACITY = 4096


@nb.njit(cache=True)
def new_heap() -> np.ndarray:
    """An empty heap."""
    return np.full(2 * INITIAL_CAPACITY + 8, np.inf, dtype=np.float64)


@nb.njit(cache=True)
def _grown(h: np.ndarray) -> np.ndarray:
    out = np.full(2 * h.shape[0], np.inf, dtype=np.float64)
    out[: h.shape[0]] = h
    return out


@nb.njit(cache=True, inline="always")
def ensure_capacity(h: np.ndarray, size: int) -> np.ndarray:
    """``h``, or a copy with twice the room when one more entry would not fit."""
    if 2 * size + 10 >= h.shape[0]:
        return _grown(h)
    return h


@nb.njit(cache=True, inline="always")
def ensure_room(h: np.ndarray, size: int, extra: int) -> np.ndarray:
    """``h``, or a grown copy, with room for ``extra`` more entries."""
    while 2 * (size + extra) + 10 >= h.shape[0]:
        h = _grown(h)
    return h


@nb.njit(cache=True, inline="always")
def push(h: np.ndarray, size: int, key: float, node: int) -> None:
    """Insert ``(key, node)`` at slot ``size`` and sift it up (the caller then adds 1)."""
    j = size
    while j > 0:
        p = (j - 1) >> 2
        if h[2 * p] <= key:
            break
        h[2 * j] = h[2 * p]
        h[2 * j + 1] = h[2 * p + 1]
        j = p
    h[2 * j] = key
    h[2 * j + 1] = node


@nb.njit(cache=True, inline="always")
def pop_fix(h: np.ndarray, size: int) -> None:
    """Restore the heap after its root was read; ``size`` is the new, decremented size.

    The hole left at the root walks down to a leaf along the smallest children
    (branch-free), then the former last entry is sifted up from there (Floyd's method).
    """
    key = h[2 * size]
    node = h[2 * size + 1]
    h[2 * size] = np.inf
    if size == 0:
        return
    j = 0
    while True:
        c = 4 * j + 1
        if c >= size:
            break
        a = c + (h[2 * c + 2] < h[2 * c])
        b = c + 2 + (h[2 * c + 6] < h[2 * c + 4])
        m = b if h[2 * b] < h[2 * a] else a
        h[2 * j] = h[2 * m]
        h[2 * j + 1] = h[2 * m + 1]
        j = m
    while j > 0:
        p = (j - 1) >> 2
        if h[2 * p] <= key:
            break
        h[2 * j] = h[2 * p]
        h[2 * j + 1] = h[2 * p + 1]
        j = p
    h[2 * j] = key
    h[2 * j + 1] = node
