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
