"""Bounded searches whose cost follows what they reach, and shortest-path trace-back.

:func:`local_searches` runs one multi-source Dijkstra per source set with a cutoff, reusing
one distance array across the sets: only the nodes a search touched are reset afterwards,
so a search that reaches a thousand nodes costs a thousand nodes, not the size of the
graph (the dense kernels allocate and fill ``(k, n)`` arrays). It returns the reached nodes
of a node range only (the grid cells for an isochrone, the villages for a travel-time
matrix), as compressed rows. The arithmetic is the heap kernel's
(:func:`ynps_geo._kernels.dijkstra.msd_into`): every distance is ``d(u) + w`` of its best
settled predecessor, so results equal the dense search bit for bit.

:func:`transpose` and :func:`road_cost_at` recover, for a few target nodes, the part of
their shortest trip spent on road edges by walking the shortest-path tree back from each
target, instead of building the whole tree.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._heap import ensure_capacity, new_heap, pop_fix, push


@nb.njit(cache=True, nogil=True, inline="always")
def _append(a: np.ndarray, k: int, x: int) -> np.ndarray:
    """``a`` with ``a[k] = x``, grown twice when full."""
    if k == a.shape[0]:
        grown = np.empty(2 * k, dtype=a.dtype)
        grown[:k] = a
        a = grown
    a[k] = x
    return a


@nb.njit(cache=True, nogil=True)
def _no_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """An empty base graph and no copies of it: with these, a stacked graph is its extra
    edges alone (the plain kernels are the stacked ones on such a graph)."""
    return (
        np.zeros(1, dtype=np.int64),
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.float64),
        np.zeros(0, dtype=np.int64),
    )


@nb.njit(cache=True, nogil=True, inline="always")
def _base_of(bases: np.ndarray, G: int, u: int) -> int:
    """The base of the grid copy holding node ``u`` (``-1``: ``u`` is no grid cell)."""
    for j in range(bases.shape[0]):
        if bases[j] <= u < bases[j] + G:
            return bases[j]
    return -1


@nb.njit(cache=True, nogil=True)
def local_searches(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    flat: np.ndarray,
    offsets: np.ndarray,
    cutoff: float,
    lo: int,
    hi: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One bounded search per source set; the reached nodes in ``[lo, hi)`` of each.

    Set ``j`` is ``flat[offsets[j]:offsets[j + 1]]``. A node is reached when its cost is
    ``<= cutoff``.

    Returns
    -------
    rowptr : (k + 1,) int64
        Set ``j``'s reached nodes are ``nodes[rowptr[j]:rowptr[j + 1]]``, in the order they
        were settled (increasing cost).
    nodes : int64
    dist : float64
    """
    gptr, gind, gw, bases = _no_grid()
    return local_searches_stacked(
        gptr,
        gind,
        gw,
        bases,
        indptr,
        indices,
        weights,
        flat,
        offsets,
        cutoff,
        lo,
        hi,
    )


@nb.njit(cache=True, nogil=True)
def local_searches_stacked(
    gptr: np.ndarray,
    gind: np.ndarray,
    gw: np.ndarray,
    bases: np.ndarray,
    xptr: np.ndarray,
    xind: np.ndarray,
    xw: np.ndarray,
    flat: np.ndarray,
    offsets: np.ndarray,
    cutoff: float,
    lo: int,
    hi: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`local_searches` on the graph :func:`.csr.stack_rows` would build from these
    arrays, without building it: a node's edges are its grid copy's row (heads shifted by
    the copy's base), then its row of the extra edges, the stacked graph's order. Same
    results, bit for bit."""
    G = gptr.shape[0] - 1
    n = xptr.shape[0] - 1
    k = offsets.shape[0] - 1
    dist = np.full(n, np.inf, dtype=np.float64)
    touched = np.empty(1024, dtype=np.int64)
    out_nodes = np.empty(4096, dtype=np.int64)
    out_dist = np.empty(4096, dtype=np.float64)
    rowptr = np.zeros(k + 1, dtype=np.int64)
    cnt = 0
    h = new_heap()
    for j in range(k):
        nt = 0
        size = 0
        for i in range(offsets[j], offsets[j + 1]):
            s = flat[i]
            if dist[s] == 0.0:
                continue
            touched = _append(touched, nt, s)
            nt += 1
            dist[s] = 0.0
            h = ensure_capacity(h, size)
            push(h, size, 0.0, s)
            size += 1
        while size > 0:
            du = h[0]
            u = np.int64(h[1])
            size -= 1
            pop_fix(h, size)
            if du > dist[u]:
                continue
            if lo <= u < hi:
                if cnt == out_nodes.shape[0]:
                    gn = np.empty(2 * cnt, dtype=np.int64)
                    gd = np.empty(2 * cnt, dtype=np.float64)
                    gn[:cnt] = out_nodes
                    gd[:cnt] = out_dist
                    out_nodes = gn
                    out_dist = gd
                out_nodes[cnt] = u
                out_dist[cnt] = du
                cnt += 1
            base = _base_of(bases, G, int(u))
            for part in range(2):
                # the grid copy's row first (heads shifted by its base), then the extras'
                if part == 0:
                    if base < 0:
                        continue
                    start, stop, ind, wt, shift = gptr[u - base], gptr[u - base + 1], gind, gw, base
                else:
                    start, stop, ind, wt, shift = xptr[u], xptr[u + 1], xind, xw, 0
                for e in range(start, stop):
                    v = ind[e] + shift
                    nd = du + wt[e]
                    if nd < dist[v] and nd <= cutoff:
                        if dist[v] == np.inf:
                            touched = _append(touched, nt, v)
                            nt += 1
                        dist[v] = nd
                        h = ensure_capacity(h, size)
                        push(h, size, nd, v)
                        size += 1
        for i in range(nt):
            dist[touched[i]] = np.inf
        rowptr[j + 1] = cnt
    return rowptr, out_nodes[:cnt].copy(), out_dist[:cnt].copy()


@nb.njit(cache=True)
def transpose(
    indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CSR graph with every edge reversed (a counting sort; rows keep source order)."""
    n = indptr.shape[0] - 1
    m = indices.shape[0]
    tptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        tptr[indices[e] + 1] += 1
    for i in range(n):
        tptr[i + 1] += tptr[i]
    pos = tptr[:-1].copy()
    tind = np.empty(m, dtype=np.int64)
    tw = np.empty(m, dtype=np.float64)
    for u in range(n):
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            p = pos[v]
            tind[p] = u
            tw[p] = weights[e]
            pos[v] = p + 1
    return tptr, tind, tw


@nb.njit(cache=True)
def road_cost_at(
    tptr: np.ndarray,
    tind: np.ndarray,
    tw: np.ndarray,
    dist: np.ndarray,
    is_road: np.ndarray,
    targets: np.ndarray,
) -> np.ndarray:
    """Cost on road edges along each target's shortest trip, traced back to its source.

    ``tptr, tind, tw`` is the transpose (:func:`transpose`) of the searched graph, so row
    ``b`` lists the edges ``a -> b`` of the search. The predecessor of ``b`` is the first
    ``a`` (smallest id) with ``dist[a] + w == dist[b]`` and ``dist[a] < dist[b]``, which is
    exactly how the search computed ``dist[b]``; a node reached only through zero-cost edges
    takes such an edge to a node not yet on its trace. An edge between two road nodes counts
    as road. ``nan`` for unreached targets.
    """
    gptr, gind, gw, bases = _no_grid()
    return road_cost_stacked(
        gptr,
        gind,
        gw,
        bases,
        tptr,
        tind,
        tw,
        dist,
        is_road,
        targets,
    )


@nb.njit(cache=True, inline="always")
def _is_predecessor(da: float, db: float, w: float, zero: bool, on_trace: bool) -> bool:
    """``a`` (cost ``da``) precedes ``b`` over an edge of weight ``w``: strictly (the cost
    the search gave ``b``), or in the zero-cost pass by a free edge from off the trace."""
    if zero:
        return da == db and w == 0.0 and not on_trace
    return da < db and da + w == db


@nb.njit(cache=True)
def _predecessor(
    gptr: np.ndarray,
    gind: np.ndarray,
    gw: np.ndarray,
    base: int,
    xtptr: np.ndarray,
    xtind: np.ndarray,
    xtw: np.ndarray,
    dist: np.ndarray,
    stamp: np.ndarray,
    t: int,
    b: int,
) -> tuple[int, float]:
    """The predecessor of ``b`` on its traced trip and the edge's weight (``-1`` if none).

    Two passes as :func:`road_cost_at` describes: a strict predecessor, else a zero-cost one;
    in each, the grid's edges into ``b`` (from its copy's row, ``base >= 0``), then the extras.
    """
    db = dist[b]
    for zero in (False, True):
        if base >= 0:
            i = b - base
            for e in range(gptr[i], gptr[i + 1]):
                ia = gind[e]
                for f in range(gptr[ia], gptr[ia + 1]):  # the step ia -> i, in ia's row
                    if gind[f] == i:
                        a = ia + base
                        if _is_predecessor(dist[a], db, gw[f], zero, stamp[a] == t):
                            return a, gw[f]
                        break
        for e in range(xtptr[b], xtptr[b + 1]):
            a = xtind[e]
            if _is_predecessor(dist[a], db, xtw[e], zero, stamp[a] == t):
                return a, xtw[e]
    return -1, 0.0


@nb.njit(cache=True)
def road_cost_stacked(
    gptr: np.ndarray,
    gind: np.ndarray,
    gw: np.ndarray,
    bases: np.ndarray,
    xtptr: np.ndarray,
    xtind: np.ndarray,
    xtw: np.ndarray,
    dist: np.ndarray,
    is_road: np.ndarray,
    targets: np.ndarray,
) -> np.ndarray:
    """:func:`road_cost_at` on a graph made by :func:`.csr.stack_rows`, without its transpose.

    The grid's part is symmetric (a step one way exists when the step back does), so the
    edges into a cell of a grid copy come from the cells of its own row, with the weight the
    neighbour's row gives the step; the other edges into a node are the transposed extra
    edges (``xtptr, xtind, xtw``). Edges are tried in the transpose's order: the grid's
    (lower ids) first, then the extras'. Identical results, without a second graph in memory.
    """
    G = gptr.shape[0] - 1
    n = xtptr.shape[0] - 1
    out = np.zeros(targets.shape[0], dtype=np.float64)
    stamp = np.full(n, -1, dtype=np.int64)
    for t in range(targets.shape[0]):
        b = targets[t]
        if not dist[b] < np.inf:
            out[t] = np.nan
            continue
        total = 0.0
        stamp[b] = t
        steps = 0
        while dist[b] > 0.0 and steps <= n:
            steps += 1
            pred, pw = _predecessor(
                gptr, gind, gw, _base_of(bases, G, b), xtptr, xtind, xtw, dist, stamp, t, b
            )
            if pred < 0:
                break  # a source at zero cost or a tie loop: nothing more to add
            if is_road[b] and is_road[pred]:
                total += pw
            stamp[pred] = t
            b = pred
        out[t] = total
    return out
