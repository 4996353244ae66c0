"""Compressed sparse rows from edge lists, in one linear pass (no sort)."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def coo_to_csr(
    n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays of the edges ``u[i] -> v[i]`` with weight ``w[i]``.

    A counting sort by ``u``: stable, so a row's edges keep their input order.
    """
    m = u.shape[0]
    indptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(m):
        indptr[u[i] + 1] += 1
    for k in range(n):
        indptr[k + 1] += indptr[k]
    pos = indptr[:-1].copy()
    indices = np.empty(m, dtype=np.int64)
    weights = np.empty(m, dtype=np.float64)
    for i in range(m):
        p = pos[u[i]]
        indices[p] = v[i]
        weights[p] = w[i]
        pos[u[i]] = p + 1
    return indptr, indices, weights


@nb.njit(cache=True)
def stack_rows(
    n: int,
    gptr: np.ndarray,
    gind: np.ndarray,
    gw: np.ndarray,
    bases: np.ndarray,
    xptr: np.ndarray,
    xind: np.ndarray,
    xw: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A CSR graph of ``n`` nodes made of copies of a base graph plus extra edges.

    For each ``b`` in ``bases``, node ``b + i`` gets the edges of the base graph's node ``i``
    (heads shifted by ``b``); then every node gets its row of the extra graph (``n`` rows).
    Row by row, the result is what a stable counting sort of the concatenated edge lists
    (base copies first) gives, without building them.
    """
    G = gptr.shape[0] - 1
    indptr = np.zeros(n + 1, dtype=np.int64)
    for r in range(n):
        indptr[r + 1] = xptr[r + 1] - xptr[r]
    for j in range(bases.shape[0]):
        b = bases[j]
        for i in range(G):
            indptr[b + i + 1] += gptr[i + 1] - gptr[i]
    for r in range(n):
        indptr[r + 1] += indptr[r]
    m = indptr[n]
    indices = np.empty(m, dtype=np.int64)
    weights = np.empty(m, dtype=np.float64)
    pos = indptr[:-1].copy()
    for j in range(bases.shape[0]):
        b = bases[j]
        for i in range(G):
            p = pos[b + i]
            for e in range(gptr[i], gptr[i + 1]):
                indices[p] = gind[e] + b
                weights[p] = gw[e]
                p += 1
            pos[b + i] = p
    for r in range(n):
        p = pos[r]
        for e in range(xptr[r], xptr[r + 1]):
            indices[p] = xind[e]
            weights[p] = xw[e]
            p += 1
    return indptr, indices, weights


#: side of the square tiles of :func:`tiled_z_order` (a power of two)
Z_TILE = 32


@nb.njit(cache=True)
def tiled_z_order(height: int, width: int) -> np.ndarray:
    """The cells of a ``height x width`` grid (row-major ids) in search order.

    Square tiles of :data:`Z_TILE` cells, row by row; inside a tile the Z-order (Morton)
    curve. Cells close on the ground get close ids, which is what a search touches: its
    wavefront reads the 16 neighbours of each cell it settles, and with many facilities (or
    the road network's nodes) as sources it settles cells all over the county at once.

    Returns ``order`` with ``order[new] = old`` (``int64``, ``height * width``).
    """
    t2 = Z_TILE * Z_TILE
    zr = np.empty(t2, dtype=np.int64)
    zc = np.empty(t2, dtype=np.int64)
    for k in range(t2):
        r = 0
        c = 0
        for b in range(16):
            c |= ((k >> (2 * b)) & 1) << b
            r |= ((k >> (2 * b + 1)) & 1) << b
        zr[k] = r
        zc[k] = c
    order = np.empty(height * width, dtype=np.int64)
    p = 0
    for tr in range(0, height, Z_TILE):
        for tc in range(0, width, Z_TILE):
            for k in range(t2):
                r = tr + zr[k]
                c = tc + zc[k]
                if r < height and c < width:
                    order[p] = r * width + c
                    p += 1
    return order


@nb.njit(cache=True)
def stack_rows_renumbered(
    n: int,
    gptr: np.ndarray,
    gind: np.ndarray,
    gw: np.ndarray,
    bases: np.ndarray,
    xptr: np.ndarray,
    xind: np.ndarray,
    xw: np.ndarray,
    order: np.ndarray,
    indices: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`stack_rows` with the nodes renumbered: old node ``order[i]`` becomes ``i``.

    Row ``i`` holds the edges of old node ``order[i]`` in :func:`stack_rows`' order, heads
    renumbered, written into ``indices`` (preallocated with the edge count, of any integer
    type wide enough for ``n``). Returns ``(indptr, weights)``.
    """
    G = gptr.shape[0] - 1
    nb_ = bases.shape[0]
    inverse = np.empty(n, dtype=np.int64)
    for i in range(n):
        inverse[order[i]] = i
    indptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        old = order[i]
        d = xptr[old + 1] - xptr[old]
        for j in range(nb_):
            c = old - bases[j]
            if 0 <= c < G:
                d += gptr[c + 1] - gptr[c]
        indptr[i + 1] = indptr[i] + d
    weights = np.empty(indptr[n], dtype=np.float64)
    for i in range(n):
        old = order[i]
        p = indptr[i]
        for j in range(nb_):
            b = bases[j]
            c = old - b
            if 0 <= c < G:
                for e in range(gptr[c], gptr[c + 1]):
                    indices[p] = inverse[gind[e] + b]
                    weights[p] = gw[e]
                    p += 1
        for e in range(xptr[old], xptr[old + 1]):
            indices[p] = inverse[xind[e]]
            weights[p] = xw[e]
            p += 1
    return indptr, weights
