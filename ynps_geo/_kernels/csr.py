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
