"""The layered trip (walk, drive, walk) searched phase by phase on the walking graph.

The engine's ``drive`` graph holds three copies of the nodes: walking from the village, in
the vehicle, walking to the facility (see :meth:`ynps_geo.engine.TravelEngine.graph`).
Searched backwards from the facilities, the layers fill in order: the last walking layer
is a plain walking search; the vehicle layer depends only on it; the first walking layer
on both. So one search of the three-layer graph equals three smaller ones:

1. the walking search (shared with the walking standards of the same facilities);
2. a search of the road network alone, seeded with the walking costs of its nodes;
3. the walking search again, seeded with its own first result everywhere and improved only
   where the vehicle brings a node closer, which is the part of the county the car helps.

Every node gets the minimum over the same edges as in the three-layer graph, so costs are
bit-identical (float addition is monotone: ``min(a, b) + w == min(a + w, b + w)``); between
equal costs the facility of smaller position wins, as in :func:`.dijkstra.msd_into`.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._iheap import grown, new_iheap, pop_root, queue


@nb.njit(cache=True)
def _improve(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    dist: np.ndarray,
    nearest: np.ndarray,
    seeds: np.ndarray,
    seed_d: np.ndarray,
    seed_n: np.ndarray,
    cutoff: float,
) -> None:
    """Dijkstra from a complete labelling: ``dist``/``nearest`` hold valid costs already
    (a fixed point of the graph); ``seeds`` get the better of theirs and ``seed_d`` /
    ``seed_n``, and only what that improves is searched. A node whose cost ties with a
    smaller facility position takes that facility; when it was not queued in this search it
    is queued, so the tie rule reaches everything it leads to.

    The ties are queued after the node's edges, not inside their loop: a second queue
    operation in the loop made numba's code for it about 1.6 times slower on county grids.
    """
    hk, hn = new_iheap()
    pos = np.full(dist.shape[0], -1, dtype=np.int64)
    maxdeg = 0
    for u in range(indptr.shape[0] - 1):
        maxdeg = max(maxdeg, indptr[u + 1] - indptr[u])
    tied = np.empty(maxdeg, dtype=np.int64)
    size = 0
    for i in range(seeds.shape[0]):
        s = seeds[i]
        d = seed_d[i]
        q = seed_n[i]
        if d > cutoff:
            continue
        if d < dist[s] or (d == dist[s] and q < nearest[s]):
            dist[s] = d
            nearest[s] = q
            size = queue(hk, hn, pos, size, s, d)
            if size + 8 >= hk.shape[0]:
                hk, hn = grown(hk, hn)
    while size > 0:
        du = hk[0]
        u = hn[0]
        size -= 1
        pop_root(hk, hn, pos, size)
        nu = nearest[u]
        nt = 0
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            nd = du + weights[e]
            if nd < dist[v] and nd <= cutoff:
                dist[v] = nd
                nearest[v] = nu
                size = queue(hk, hn, pos, size, v, nd)
                if size + 8 >= hk.shape[0]:
                    hk, hn = grown(hk, hn)
            elif nd == dist[v] and nu < nearest[v] and nd <= cutoff:
                nearest[v] = nu
                tied[nt] = v
                nt += 1
        for t in range(nt):
            v = tied[t]
            if pos[v] == -1:  # a label of the start, never queued here
                size = queue(hk, hn, pos, size, v, dist[v])
                if size + 8 >= hk.shape[0]:
                    hk, hn = grown(hk, hn)


@nb.njit(cache=True)
def _vehicle(
    cptr: np.ndarray,
    cind: np.ndarray,
    cw: np.ndarray,
    walk_d: np.ndarray,
    walk_n: np.ndarray,
    cutoff: float,
    car_d: np.ndarray,
    car_n: np.ndarray,
) -> None:
    """The vehicle layer: ``car_d[a]`` is the best cost of driving from road node ``a`` at
    least one edge, then walking on (``walk_d`` / ``walk_n``: the last walking layer at the
    road nodes). ``cptr``/``cind``/``cw``: the drivable edges reversed (row ``b`` lists the
    ``a`` of each edge ``a -> b``). ``car_d``/``car_n`` must hold inf and -1."""
    R = cptr.shape[0] - 1
    c = walk_d.copy()  # best of getting out here and driving on
    cn = walk_n.copy()
    hk, hn = new_iheap()
    pos = np.full(R, -1, dtype=np.int64)
    size = 0
    for r in range(R):
        if c[r] <= cutoff:
            size = queue(hk, hn, pos, size, r, c[r])
            if size + 8 >= hk.shape[0]:
                hk, hn = grown(hk, hn)
    while size > 0:
        du = hk[0]
        b = hn[0]
        size -= 1
        pop_root(hk, hn, pos, size)
        nb_ = cn[b]
        for e in range(cptr[b], cptr[b + 1]):
            a = cind[e]
            nd = du + cw[e]
            if nd > cutoff:
                continue
            if nd < car_d[a] or (nd == car_d[a] and nb_ < car_n[a]):
                car_d[a] = nd
                car_n[a] = nb_
            if nd < c[a] or (nd == c[a] and nb_ < cn[a]):
                c[a] = nd
                cn[a] = nb_
                size = queue(hk, hn, pos, size, a, nd)
                if size + 8 >= hk.shape[0]:
                    hk, hn = grown(hk, hn)


@nb.njit(cache=True, parallel=True)
def drive_from_walk(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    cptr: np.ndarray,
    cind: np.ndarray,
    cw: np.ndarray,
    walk_d: np.ndarray,
    walk_n: np.ndarray,
    G: int,
    cutoff: float,
    order: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Costs on the three-layer graph from walking searches, one row per facility set.

    Parameters
    ----------
    indptr, indices, weights : CSR
        The reversed walking graph: ``G`` cells, ``R`` road nodes, then villages and
        facilities.
    cptr, cind, cw : CSR
        The drivable edges reversed, on the ``R`` road nodes (see :func:`_vehicle`).
    walk_d, walk_n : (k, n_walk)
        The walking searches of the ``k`` sets (the same ``cutoff``).
    order : int array
        Empty, or the walking graph's renumbering of its cells (``order[new] = old``, the
        other nodes keep their ids); ``walk_d``, ``walk_n`` and the results are in the
        original numbering either way.

    Returns
    -------
    dist, nearest : (k, 2 G + 3 R + villages + facilities)
        In the three-layer graph's node order: first walking layer (cells, roads), vehicle,
        last walking layer (cells, roads), villages, facilities.
    """
    k, nw = walk_d.shape
    R = cptr.shape[0] - 1
    pts = nw - G - R
    n = 2 * G + 3 * R + pts
    dist = np.empty((k, n), dtype=np.float64)
    nearest = np.empty((k, n), dtype=np.int64)
    for j in nb.prange(k):
        car_d = np.full(R, np.inf, dtype=np.float64)
        car_n = np.full(R, -1, dtype=np.int64)
        _vehicle(cptr, cind, cw, walk_d[j, G : G + R], walk_n[j, G : G + R], cutoff, car_d, car_n)
        if order.shape[0] == 0:
            d1 = walk_d[j].copy()
            n1 = walk_n[j].copy()
        else:
            d1 = walk_d[j][order]
            n1 = walk_n[j][order]
        seeds = np.arange(G, G + R)
        _improve(indptr, indices, weights, d1, n1, seeds, car_d, car_n, cutoff)
        a = G + R
        if order.shape[0] == 0:
            dist[j, :a] = d1[:a]
            nearest[j, :a] = n1[:a]
        else:  # the cells back in the original numbering
            for v in range(G):
                dist[j, order[v]] = d1[v]
                nearest[j, order[v]] = n1[v]
            dist[j, G:a] = d1[G:a]
            nearest[j, G:a] = n1[G:a]
        dist[j, a : a + R] = car_d
        nearest[j, a : a + R] = car_n
        dist[j, a + R : a + R + a] = walk_d[j, :a]
        nearest[j, a + R : a + R + a] = walk_n[j, :a]
        dist[j, 2 * a + R :] = d1[a:]
        nearest[j, 2 * a + R :] = n1[a:]
    return dist, nearest
