"""Exact Δ-stepping for graphs whose weights span too wide a range for Dial's buckets.

The engine's layered graphs mix road pieces of a few milliseconds with terrain steps of
minutes and cliff crossings of days: Dinitz's buckets (:mod:`.buckets`, width half the
smallest weight) would need millions of buckets, so they fall back to the heap. Δ-stepping
(Meyer and Sanders 2003) instead uses buckets of a width ``delta`` near the typical weight
and lets a node be *scanned again* when a later relaxation improves its label (label
correcting). Each bucket is emptied until no entry of it improves anything; the buckets
are taken in increasing order, so when the last bucket is done every label is final.

Labels are ``(distance, nearest source position)`` compared lexicographically: an equal
distance through a smaller source position is an improvement too, and the node is
rescanned, so the nearest source is the smallest position among all shortest paths. With
positive weights that is exactly the heap's tie rule (every shortest-path predecessor is
settled before its successor there), and distances are the same floating-point sums ``d(u)
+ w`` of the best predecessor: results equal the heap search bit for bit (tested).

A bucket ring of ``NB`` slots holds entries less than ``NB * delta`` ahead of the current
bucket; an entry further ahead waits in an overflow list and is filed into the ring when
the ring reaches it (when the ring runs empty, the search jumps straight to the nearest
overflow entry), so no weight is too large and empty stretches cost nothing.
"""

from __future__ import annotations

import numba as nb
import numpy as np

#: bucket ring size
RING = 1 << 16


@nb.njit(cache=True)
def delta_width(weights: np.ndarray) -> float:
    """A bucket width: a quarter of the median finite weight of a sample (0 when none is
    positive, meaning Δ-stepping does not apply)."""
    m = weights.shape[0]
    step = max(1, m // 20000)
    sample = np.empty((m + step - 1) // step, dtype=np.float64)
    k = 0
    for e in range(0, m, step):
        w = weights[e]
        if w > 0.0 and w < np.inf:
            sample[k] = w
            k += 1
    if k == 0:
        return 0.0
    return float(np.median(sample[:k])) / 4.0


@nb.njit(cache=True, inline="always")
def _file(
    v: int,
    b: int,
    NB: int,
    head: np.ndarray,
    pool: np.ndarray,
    top: int,
    free: int,
) -> tuple[np.ndarray, int, int]:
    """Put node ``v`` in bucket ``b`` of the ring; returns the pool (maybe grown), its top
    and the free-list head. ``pool[2p]`` is the node of entry ``p``, ``pool[2p + 1]`` the
    next entry of its bucket."""
    if free >= 0:
        q = free
        free = pool[2 * q + 1]
    else:
        if 2 * top + 2 > pool.shape[0]:
            grown = np.empty(2 * pool.shape[0], dtype=np.int64)
            grown[: pool.shape[0]] = pool
            pool = grown
        q = top
        top += 1
    s = b % NB
    pool[2 * q] = v
    pool[2 * q + 1] = head[s]
    head[s] = q
    return pool, top, free


@nb.njit(cache=True, inline="always")
def _park(v: int, far: np.ndarray, nfar: int) -> tuple[np.ndarray, int]:
    """Append ``v`` to the overflow list."""
    if nfar == far.shape[0]:
        grown = np.empty(2 * far.shape[0], dtype=np.int64)
        grown[:nfar] = far
        far = grown
    far[nfar] = v
    return far, nfar + 1


@nb.njit(cache=True)
def msd_delta_into(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray,
    cutoff: float,
    dist: np.ndarray,
    nearest: np.ndarray,
    delta: float,
) -> None:
    """Multi-source Δ-stepping writing into ``dist`` (inf on entry) and ``nearest`` (-1).

    Same contract as :func:`ynps_geo._kernels.dijkstra.msd_into`; ``delta > 0`` is the
    bucket width (:func:`delta_width`).
    """
    n = indptr.shape[0] - 1
    NB = RING
    head = np.full(NB, -1, dtype=np.int64)
    pool = np.empty(2 * max(1024, min(n, 1 << 20)), dtype=np.int64)
    top = 0
    free = -1
    pending = 0  # entries in the ring
    far = np.empty(64, dtype=np.int64)  # overflow: entries NB or more buckets ahead
    nfar = 0
    fmin = 2**62  # smallest bucket in the overflow (a lower bound)
    # label at the node's last scan (a node is scanned again only when it improved)
    sd = np.full(n, -1.0, dtype=np.float64)
    sq = np.full(n, -1, dtype=np.int64)
    inv = 1.0 / delta
    for i in range(sources.shape[0]):
        s = sources[i]
        if dist[s] == 0.0:
            continue
        dist[s] = 0.0
        nearest[s] = i
        pool, top, free = _file(s, 0, NB, head, pool, top, free)
        pending += 1
    cur = 0
    while pending > 0 or nfar > 0:
        if pending == 0 and fmin > cur:
            cur = fmin  # the ring ran empty: jump to the overflow
        if nfar > 0 and fmin < cur + NB:
            # file the overflow entries the ring now reaches; keep the others
            keep = 0
            fmin = 2**62
            for i in range(nfar):
                v = far[i]
                b = int(dist[v] * inv)
                if b < cur:
                    b = cur
                if b < cur + NB:
                    pool, top, free = _file(v, b, NB, head, pool, top, free)
                    pending += 1
                else:
                    far[keep] = v
                    keep += 1
                    if b < fmin:
                        fmin = b
            nfar = keep
        slot = cur % NB
        while head[slot] >= 0:
            p = head[slot]
            head[slot] = pool[2 * p + 1]
            u = pool[2 * p]
            pool[2 * p + 1] = free
            free = p
            pending -= 1
            du = dist[u]
            nu = nearest[u]
            if sd[u] == du and sq[u] == nu:
                continue  # an older entry of a label already scanned
            sd[u] = du
            sq[u] = nu
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                nd = du + weights[e]
                if nd > cutoff:
                    continue
                dv = dist[v]
                if nd < dv or (nd == dv and nu < nearest[v]):
                    dist[v] = nd
                    nearest[v] = nu
                    b = int(nd * inv)
                    if b - cur < NB:
                        pool, top, free = _file(v, b, NB, head, pool, top, free)
                        pending += 1
                    else:
                        far, nfar = _park(v, far, nfar)
                        if b < fmin:
                            fmin = b
        cur += 1
