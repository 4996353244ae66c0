"""Multi-source Dijkstra on a CSR graph, and a locality-improving node renumbering.

No validation happens here: :mod:`ynps_geo.kernels` checks dtypes, shapes and values
before calling these functions.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._iheap import grown, new_iheap, pop_root, queue
from .buckets import bucket_plan, msd_buckets_into

#: graphs with fewer nodes than this are searched with the heap on one thread
BUCKET_MIN_NODES = 50_000


@nb.njit(cache=True)
def msd_into(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray,
    cutoff: float,
    dist: np.ndarray,
    nearest: np.ndarray,
) -> None:
    """Multi-source Dijkstra writing into preallocated ``dist`` and ``nearest``.

    ``dist`` must hold ``inf`` and ``nearest`` -1 on entry. Nodes are reached when their
    distance is ``<= cutoff``. ``nearest[v]`` is the position in ``sources`` of the source
    whose search reached ``v`` (the first of duplicates); between predecessors giving the
    same distance the smaller source position wins, the rule of the bucketed search.
    The queue is the indexed heap of :mod:`._iheap` (decrease-key: each node popped once).
    """
    hk, hn = new_iheap()
    pos = np.full(dist.shape[0], -1, dtype=np.int64)
    size = 0
    for i in range(sources.shape[0]):
        s = sources[i]
        if dist[s] == 0.0:
            continue
        dist[s] = 0.0
        nearest[s] = i
        size = queue(hk, hn, pos, size, s, 0.0)
        if size + 8 >= hk.shape[0]:
            hk, hn = grown(hk, hn)
    while size > 0:
        du = hk[0]
        u = hn[0]
        size -= 1
        pop_root(hk, hn, pos, size)
        nu = nearest[u]
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            nd = du + weights[e]
            if nd < dist[v] and nd <= cutoff:
                dist[v] = nd
                nearest[v] = nu
                size = queue(hk, hn, pos, size, v, nd)
                if size + 8 >= hk.shape[0]:
                    hk, hn = grown(hk, hn)
            elif nd == dist[v] and nu < nearest[v]:
                nearest[v] = nu


@nb.njit(cache=True)
def plan(indptr: np.ndarray, weights: np.ndarray, method: int) -> tuple[float, int, int]:
    """Bucket parameters ``(1 / delta, ring size, max degree)`` for :func:`search_into`;
    ring size 0 selects the heap.

    ``method``: 0 automatic (buckets on graphs of at least ``BUCKET_MIN_NODES`` nodes whose
    weights allow them), 1 heap, 2 buckets whenever the weights allow them.
    """
    n = indptr.shape[0] - 1
    if method == 1 or (method == 0 and n < BUCKET_MIN_NODES):
        return 0.0, 0, 0
    return bucket_plan(indptr, weights)


@nb.njit(cache=True)
def search_into(
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
    order: np.ndarray,
    dn: np.ndarray,
    pnode: np.ndarray,
    pnext: np.ndarray,
) -> None:
    """The bucketed search when ``NB > 0`` (see :func:`plan`), else :func:`msd_into`.

    Both give the same ``dist`` and ``nearest`` (same arithmetic, same tie rule). ``dist``
    and ``nearest`` must hold inf and -1 for the heap (the bucketed search overwrites
    every entry). A non-empty ``order`` (``order[new] = old``)
    means the graph is renumbered: results are written at the original ids. ``dn``,
    ``pnode``, ``pnext``: scratch for :func:`.buckets.msd_buckets_into` (may be empty).
    """
    if NB > 0:
        msd_buckets_into(
            indptr,
            indices,
            weights,
            sources,
            cutoff,
            dist,
            nearest,
            invd,
            NB,
            maxdeg,
            1,
            order,
            dn,
            pnode,
            pnext,
        )
    elif order.shape[0] == 0:
        msd_into(indptr, indices, weights, sources, cutoff, dist, nearest)
    else:
        d = np.full(dist.shape[0], np.inf, dtype=np.float64)
        q = np.full(dist.shape[0], -1, dtype=np.int64)
        msd_into(indptr, indices, weights, sources, cutoff, d, q)
        for v in range(d.shape[0]):
            dist[order[v]] = d[v]
            nearest[order[v]] = q[v]


@nb.njit(cache=True)
def multi_source_dijkstra(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray,
    cutoff: float,
    method: int = 0,
    order: np.ndarray | None = None,
    dn: np.ndarray | None = None,
    pnode: np.ndarray | None = None,
    pnext: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Allocate the outputs and search; returns ``(dist, nearest)``. ``method`` as for
    :func:`plan`; ``order`` and the scratch arrays as for :func:`search_into` (None: not
    renumbered, allocate the scratch here)."""
    n = indptr.shape[0] - 1
    # if/else, not a conditional expression: numba prunes the None branch of an if
    if order is None:  # noqa: SIM108
        perm = np.empty(0, dtype=np.int64)
    else:
        perm = order
    if dn is None:  # noqa: SIM108
        dn_ = np.empty(0, dtype=np.float64)
    else:
        dn_ = dn
    if pnode is None:  # noqa: SIM108
        pnode_ = np.empty(0, dtype=np.int32)
    else:
        pnode_ = pnode
    if pnext is None:  # noqa: SIM108
        pnext_ = np.empty(0, dtype=np.int32)
    else:
        pnext_ = pnext
    invd, NB, maxdeg = plan(indptr, weights, method)
    # the bucketed search writes every entry; the heap needs inf / -1 to start from
    dist = np.empty(n, dtype=np.float64)
    nearest = np.empty(n, dtype=np.int64)
    if NB == 0:
        dist[:] = np.inf
        nearest[:] = -1
    search_into(
        indptr,
        indices,
        weights,
        sources,
        cutoff,
        dist,
        nearest,
        invd,
        NB,
        maxdeg,
        perm,
        dn_,
        pnode_,
        pnext_,
    )
    return dist, nearest


@nb.njit(cache=True, parallel=True)
def multi_source_dijkstra_many(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    flat_sources: np.ndarray,
    offsets: np.ndarray,
    cutoff: float,
    method: int = 0,
    order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One search per source set, in parallel over the sets.

    Set ``k`` is ``flat_sources[offsets[k]:offsets[k + 1]]``; returns ``(dist, nearest)``
    of shape ``(k, n)`` with ``nearest`` indexing into each set. ``method`` and ``order``
    as for :func:`multi_source_dijkstra`.
    """
    # if/else, not a conditional expression: numba prunes the None branch of an if
    if order is None:  # noqa: SIM108
        perm = np.empty(0, dtype=np.int64)
    else:
        perm = order
    n = indptr.shape[0] - 1
    k = offsets.shape[0] - 1
    dist = np.full((k, n), np.inf, dtype=np.float64)
    nearest = np.full((k, n), -1, dtype=np.int64)
    invd, NB, maxdeg = plan(indptr, weights, method)
    for j in nb.prange(k):
        search_into(
            indptr,
            indices,
            weights,
            flat_sources[offsets[j] : offsets[j + 1]],
            cutoff,
            dist[j],
            nearest[j],
            invd,
            NB,
            maxdeg,
            perm,
            np.empty(0, dtype=np.float64),
            np.empty(0, dtype=np.int32),
            np.empty(0, dtype=np.int32),
        )
    return dist, nearest


@nb.njit(cache=True, parallel=True)
def multi_source_dijkstra_graphs(
    ptrs: tuple[np.ndarray, ...],
    inds: tuple[np.ndarray, ...],
    ws: tuple[np.ndarray, ...],
    orders: tuple[np.ndarray, ...],
    graph_of: np.ndarray,
    flat_sources: np.ndarray,
    offsets: np.ndarray,
    cutoff: float,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`multi_source_dijkstra_many` over several graphs of the same node count.

    Set ``j`` (``flat_sources[offsets[j]:offsets[j + 1]]``) is searched on graph
    ``graph_of[j]`` (``ptrs[g], inds[g], ws[g]``), every set in one parallel loop, so
    searches on different graphs share the cores instead of running one call after the
    other. Each row equals :func:`multi_source_dijkstra_many` of its graph (same plan,
    same search). A non-empty ``orders[g]`` (``order[new] = old``) says graph ``g`` is
    renumbered: sources are given in its numbering, results come back in the original one.
    """
    n = ptrs[0].shape[0] - 1
    k = offsets.shape[0] - 1
    ng = len(ptrs)
    invds = np.empty(ng, dtype=np.float64)
    nbs = np.empty(ng, dtype=np.int64)
    maxdegs = np.empty(ng, dtype=np.int64)
    for g in range(ng):
        invd, NB, maxdeg = plan(ptrs[g], ws[g], 0)
        invds[g] = invd
        nbs[g] = NB
        maxdegs[g] = maxdeg
    dist = np.full((k, n), np.inf, dtype=np.float64)
    nearest = np.full((k, n), -1, dtype=np.int64)
    for j in nb.prange(k):
        g = graph_of[j]
        search_into(
            ptrs[g],
            inds[g],
            ws[g],
            flat_sources[offsets[j] : offsets[j + 1]],
            cutoff,
            dist[j],
            nearest[j],
            invds[g],
            nbs[g],
            maxdegs[g],
            orders[g],
            np.empty(0, dtype=np.float64),
            np.empty(0, dtype=np.int32),
            np.empty(0, dtype=np.int32),
        )
    return dist, nearest


@nb.njit(cache=True)
def bfs_order(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Breadth-first visiting order of all nodes (restarting in every unvisited part).

    ``order[new] = old``: numbering nodes in this order puts the neighbours of a node
    close to it in memory, which is what a Dijkstra wavefront touches.
    """
    n = indptr.shape[0] - 1
    order = np.empty(n, dtype=np.int64)
    visited = np.zeros(n, dtype=np.bool_)
    head = 0
    tail = 0
    for start in range(n):
        if visited[start]:
            continue
        visited[start] = True
        order[tail] = start
        tail += 1
        while head < tail:
            u = order[head]
            head += 1
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                if not visited[v]:
                    visited[v] = True
                    order[tail] = v
                    tail += 1
    return order


@nb.njit(cache=True)
def permute_csr(
    indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Renumber a CSR graph so that old node ``order[i]`` becomes node ``i``.

    Returns ``(indptr, indices, weights, inverse)`` with ``inverse[old] = new``.
    """
    n = indptr.shape[0] - 1
    inverse = np.empty(n, dtype=np.int64)
    for i in range(n):
        inverse[order[i]] = i
    new_indptr = np.empty(n + 1, dtype=np.int64)
    new_indptr[0] = 0
    for i in range(n):
        u = order[i]
        new_indptr[i + 1] = new_indptr[i] + (indptr[u + 1] - indptr[u])
    m = new_indptr[n]
    new_indices = np.empty(m, dtype=np.int64)
    new_weights = np.empty(m, dtype=np.float64)
    for i in range(n):
        u = order[i]
        j = new_indptr[i]
        for e in range(indptr[u], indptr[u + 1]):
            new_indices[j] = inverse[indices[e]]
            new_weights[j] = weights[e]
            j += 1
    return new_indptr, new_indices, new_weights, inverse
