"""Exact bucketed multi-source shortest paths (graphs and grids), replacing the heap.

Dinitz's variant of Dial's algorithm for real weights: with every finite edge weight
``>= w_min > 0`` and buckets of width ``delta = w_min / 2``, a relaxation from a node in
bucket ``b`` always lands in a bucket ``> b``. So every node of the lowest non-empty bucket
already has its final distance: a whole bucket is settled at once, in any order, with no
priority queue. Buckets live in a ring of ``w_max / delta + 3`` slots (every pending entry
is less than ``w_max`` beyond the current bucket); when the weights have a zero or too wide
a range (:data:`MAX_RING`) the callers fall back to the heap.

Graphs (:func:`msd_buckets_into`): per bucket, an *expand* pass gathers the bucket's
unsettled nodes, marks them settled and writes one candidate ``(v, d(u) + w, nearest(u))``
per out-edge into a buffer, then an *apply* pass improves ``dist[v]`` and pushes ``v``.
Each pass has independent iterations, so the CPU overlaps their cache misses, which the
heap's chain of dependent pops cannot do: on a 1M-node graph in random node order this
is ~2.5x faster than the heap. Distance and nearest source sit side by side in one array
during the search (one cache line per visit). Nodes are split into ``T`` owner
partitions (``owner(v) = (v >> OWNER_SHIFT) % T``) processed in turn, a layout meant for
running the partitions on threads; the callers use ``T = 1`` because a two-thread
version (one barrier per bucket) was 6-12x *slower* on the shared 2-core machine.

Ties (an equal distance through another predecessor) keep the smaller source position,
the rule of :func:`ynps_geo._kernels.dijkstra.msd_into` too, which makes ``nearest``
canonical. Distances equal the heap Dijkstra's bit for bit: each is ``d(u) + w`` of its
best settled predecessor, computed with the same floating-point operations.
"""

from __future__ import annotations

import numba as nb
import numpy as np

OWNER_SHIFT = 10
#: largest bucket ring (``w_max / delta``) before falling back to the heap
MAX_RING = 1 << 22
#: most edges the bucketed search handles (int32 links in its entry pool)
MAX_EDGES = 2**31 - 2**24
#: minimum candidate buffer per thread
MIN_CHUNK = 1 << 15


@nb.njit(cache=True, inline="always")
def owner(v: int, T: int) -> int:
    return (v >> OWNER_SHIFT) % T


@nb.njit(cache=True)
def bucket_plan(indptr: np.ndarray, weights: np.ndarray) -> tuple[float, int, int]:
    """``(1 / delta, ring size, max out-degree)``, ring size 0 when buckets do not apply.

    Buckets need every finite weight to be > 0 and a moderate ratio of the largest to the
    smallest finite weight; otherwise the heap search is used.
    """
    n = indptr.shape[0] - 1
    wmin = np.inf
    wmax = 0.0
    for e in range(weights.shape[0]):
        w = weights[e]
        if w < np.inf:
            if w < wmin:
                wmin = w
            if w > wmax:
                wmax = w
    maxdeg = 0
    for u in range(n):
        d = indptr[u + 1] - indptr[u]
        if d > maxdeg:
            maxdeg = d
    if not (wmin > 0.0 and wmin < np.inf):
        return 0.0, 0, maxdeg
    invd = 2.0 / wmin
    span = wmax * invd
    # keep bucket indices exact (all distances < n * wmax, so d / delta < 2**50), the
    # ring small and the bucket-entry pool (int32 links, one entry per edge) addressable
    if span > MAX_RING or span * (n + 1.0) > 2.0**50 or weights.shape[0] + n > MAX_EDGES:
        return 0.0, 0, maxdeg
    return invd, int(span) + 3, maxdeg


@nb.njit(cache=True, inline="always")
def _push(
    t: int,
    v: int,
    nd: float,
    invd: float,
    NB: int,
    pnode: np.ndarray,
    pnext: np.ndarray,
    ptop: np.ndarray,
    head: np.ndarray,
    cnt: np.ndarray,
) -> None:
    s = np.int64(nd * invd) % NB
    p = ptop[t]
    ptop[t] = p + 1
    pnode[p] = v
    pnext[p] = head[t, s]
    head[t, s] = p
    cnt[t, s] += 1


@nb.njit(cache=True)
def _expand(
    t: int,
    s: int,
    first: bool,
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    cutoff: float,
    dn: np.ndarray,
    settled: np.ndarray,
    pnode: np.ndarray,
    pnext: np.ndarray,
    head: np.ndarray,
    cnt: np.ndarray,
    cur: np.ndarray,
    curoff: np.ndarray,
    ncur: np.ndarray,
    pos: np.ndarray,
    cv: np.ndarray,
    cd: np.ndarray,
    cn: np.ndarray,
    ccount: np.ndarray,
) -> None:
    base = curoff[t]
    if first:
        # gather this thread's unsettled nodes of the bucket (stale entries are settled)
        nc = 0
        p = head[t, s]
        while p >= 0:
            u = pnode[p]
            if settled[u] == 0:
                settled[u] = 1
                cur[base + nc] = u
                nc += 1
            p = pnext[p]
        head[t, s] = -1
        cnt[t, s] = 0
        ncur[t] = nc
        pos[t] = 0
    C = cv.shape[1]
    cc = 0
    i = pos[t]
    nc = ncur[t]
    while i < nc:
        u = cur[base + i]
        a = indptr[u]
        b = indptr[u + 1]
        if cc + (b - a) > C:
            break
        du = dn[2 * u]
        nu = np.int64(dn[2 * u + 1])
        for e in range(a, b):
            nd = du + weights[e]
            if nd <= cutoff:
                cv[t, cc] = indices[e]
                cd[t, cc] = nd
                cn[t, cc] = nu
                cc += 1
        i += 1
    pos[t] = i
    ccount[t] = cc


@nb.njit(cache=True)
def _apply(
    t: int,
    T: int,
    invd: float,
    NB: int,
    dn: np.ndarray,
    pnode: np.ndarray,
    pnext: np.ndarray,
    ptop: np.ndarray,
    head: np.ndarray,
    cnt: np.ndarray,
    cv: np.ndarray,
    cd: np.ndarray,
    cn: np.ndarray,
    ccount: np.ndarray,
) -> None:
    for src in range(T):
        for j in range(ccount[src]):
            v = cv[src, j]
            if owner(v, T) != t:
                continue
            nd = cd[src, j]
            dv = dn[2 * v]
            if nd < dv:
                dn[2 * v] = nd
                dn[2 * v + 1] = cn[src, j]
                _push(t, v, nd, invd, NB, pnode, pnext, ptop, head, cnt)
            elif nd == dv and cn[src, j] < dn[2 * v + 1]:
                dn[2 * v + 1] = cn[src, j]


@nb.njit(cache=True)
def msd_buckets_into(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray,
    cutoff: float,
    dist: np.ndarray,
    nearest: np.ndarray,
    invd: float,
    NB: int,
    maxdeg: int,
    T: int,
    order: np.ndarray,
    dn: np.ndarray,
    pnode: np.ndarray,
    pnext: np.ndarray,
) -> None:
    """Bucketed multi-source search writing ``dist`` and ``nearest`` (every entry is set).

    ``invd, NB, maxdeg`` from :func:`bucket_plan` (``NB > 0``); ``T`` owner partitions,
    processed in turn. With a non-empty ``order`` the results of node ``v`` go to
    ``dist[order[v]]``: the search runs on a renumbered graph (:func:`.dijkstra.bfs_order`)
    and answers in the original ids without a separate gather pass.

    ``dn`` (float64, ``2 n``), ``pnode`` and ``pnext`` (int32, ``m + len(sources)``) are
    scratch arrays; pass smaller (empty) ones to have them allocated here. Allocated by
    numpy they live on transparent huge pages (numpy asks for them, numba does not), which
    makes the random accesses of the search ~7 % faster.
    """
    n = dist.shape[0]
    m = indices.shape[0]
    k = sources.shape[0]
    # bucket-entry pool: thread t owns [start[t], start[t + 1]); a node is pushed at most
    # once per in-edge (each edge is relaxed once) plus once as a source
    start = np.zeros(T + 1, dtype=np.int64)
    for e in range(m):
        start[owner(indices[e], T) + 1] += 1
    for i in range(k):
        start[owner(sources[i], T) + 1] += 1
    curoff = np.zeros(T + 1, dtype=np.int64)
    for v in range(0, n, 1 << OWNER_SHIFT):
        curoff[owner(v, T) + 1] += min(1 << OWNER_SHIFT, n - v)
    for t in range(T):
        start[t + 1] += start[t]
        curoff[t + 1] += curoff[t]
    if pnode.shape[0] < m + k:
        pnode = np.empty(m + k, dtype=np.int32)
    if pnext.shape[0] < m + k:
        pnext = np.empty(m + k, dtype=np.int32)
    ptop = start[:T].copy()
    head = np.full((T, NB), -1, dtype=np.int32)
    cnt = np.zeros((T, NB), dtype=np.int64)
    settled = np.zeros(n, dtype=np.uint8)
    cur = np.empty(n, dtype=np.int32)
    ncur = np.zeros(T, dtype=np.int64)
    pos = np.zeros(T, dtype=np.int64)
    C = max(MIN_CHUNK, maxdeg)
    cv = np.empty((T, C), dtype=np.int32)
    cd = np.empty((T, C), dtype=np.float64)
    cn = np.empty((T, C), dtype=np.float64)
    # distance and nearest source side by side: one cache line per node visit
    if dn.shape[0] < 2 * n:
        dn = np.empty(2 * n, dtype=np.float64)
    for v in range(n):
        dn[2 * v] = np.inf
        dn[2 * v + 1] = -1.0
    ccount = np.zeros(T, dtype=np.int64)

    for i in range(k):
        s = sources[i]
        if dn[2 * s] == 0.0:
            continue
        dn[2 * s] = 0.0
        dn[2 * s + 1] = i
        _push(owner(s, T), s, 0.0, invd, NB, pnode, pnext, ptop, head, cnt)

    consumed = 0
    b = 0
    while True:
        pushed = 0
        for t in range(T):
            pushed += ptop[t] - start[t]
        if pushed == consumed:
            break
        s = b % NB
        tot = 0
        for t in range(T):
            tot += cnt[t, s]
        if tot == 0:
            b += 1
            continue
        consumed += tot
        first = True
        while True:
            for t in range(T):
                _expand(
                    t,
                    s,
                    first,
                    indptr,
                    indices,
                    weights,
                    cutoff,
                    dn,
                    settled,
                    pnode,
                    pnext,
                    head,
                    cnt,
                    cur,
                    curoff,
                    ncur,
                    pos,
                    cv,
                    cd,
                    cn,
                    ccount,
                )
            first = False
            produced = 0
            left = 0
            for t in range(T):
                produced += ccount[t]
                left += ncur[t] - pos[t]
            if produced > 0:
                for t in range(T):
                    _apply(t, T, invd, NB, dn, pnode, pnext, ptop, head, cnt, cv, cd, cn, ccount)
            if left == 0:
                break
        b += 1
    if order.shape[0] == 0:
        for v in range(n):
            dist[v] = dn[2 * v]
            nearest[v] = np.int64(dn[2 * v + 1])
    else:
        for v in range(n):
            w = order[v]
            dist[w] = dn[2 * v]
            nearest[w] = np.int64(dn[2 * v + 1])


# ----------------------------------------------------------------------------- grids
# The grid searches (cost rasters, Tobler walking) use the same exact buckets on one
# thread, expanding each node as soon as it is taken from its bucket (relaxations never
# land in the current bucket). Entries live in a pool of linked cells with a free list,
# so the pool only holds the pending entries (the frontier), like a heap would.


@nb.njit(cache=True)
def new_pool(capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """``(node, next)`` arrays of a bucket-entry pool with room for ``capacity``."""
    return np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int64)


@nb.njit(cache=True)
def grow_pool(
    pnode: np.ndarray, pnext: np.ndarray, top: int, need: int
) -> tuple[np.ndarray, np.ndarray]:
    """The pool, or a copy twice as large, so that ``need`` more fresh entries fit."""
    cap = pnode.shape[0]
    while top + need > cap:
        cap *= 2
    if cap == pnode.shape[0]:
        return pnode, pnext
    nn = np.empty(cap, dtype=np.int64)
    nx = np.empty(cap, dtype=np.int64)
    nn[:top] = pnode[:top]
    nx[:top] = pnext[:top]
    return nn, nx


@nb.njit(cache=True, inline="always")
def ring_push(
    v: int,
    key: float,
    invd: float,
    NB: int,
    pnode: np.ndarray,
    pnext: np.ndarray,
    head: np.ndarray,
    free: int,
    top: int,
) -> tuple[int, int]:
    """Link ``v`` into the bucket of ``key``; returns the new ``(free, top)``."""
    if free >= 0:
        p = free
        free = pnext[p]
    else:
        p = top
        top += 1
    s = np.int64(key * invd) % NB
    pnode[p] = v
    pnext[p] = head[s]
    head[s] = p
    return free, top


@nb.njit(cache=True)
def ring_plan(wmin: float, wmax: float, n: int) -> tuple[float, int]:
    """``(1 / delta, ring size)`` for edge weights in ``[wmin, wmax]``; size 0: use a heap."""
    if not (wmin > 0.0 and wmin < np.inf and wmax < np.inf):
        return 0.0, 0
    invd = 2.0 / wmin
    span = max(wmax, wmin) * invd
    if span > MAX_RING or span * (n + 1.0) > 2.0**50:
        return 0.0, 0
    return invd, int(span) + 3
