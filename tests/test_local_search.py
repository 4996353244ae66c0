"""Bounded local searches and road-cost trace-back against scipy's Dijkstra."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ynps_geo._kernels.local import local_searches, road_cost_at, transpose


def _graph(seed: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    u = rng.integers(0, n, m)
    v = rng.integers(0, n, m)
    keep = u != v
    u, v = u[keep], v[keep]
    w = rng.uniform(0.5, 10.0, len(u))
    # one edge per pair (scipy sums duplicates when it builds the matrix)
    pair = u * n + v
    _, first = np.unique(pair, return_index=True)
    u, v, w = u[first], v[first], w[first]
    mat = csr_matrix((w, (u, v)), shape=(n, n))
    mat.sort_indices()
    return mat.indptr.astype(np.int64), mat.indices.astype(np.int64), mat.data.astype(np.float64)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(2, 60),
    density=st.floats(1.0, 5.0),
    k=st.integers(1, 5),
    cutoff=st.floats(0.0, 30.0),
    lo_hi=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_local_searches_equal_scipy_with_limit(
    seed: int, n: int, density: float, k: int, cutoff: float, lo_hi: tuple[float, float]
) -> None:
    indptr, indices, weights = _graph(seed, n, int(n * density))
    rng = np.random.default_rng(seed + 1)
    sets = [rng.choice(n, size=rng.integers(1, 4), replace=True) for _ in range(k)]
    offsets = np.r_[0, np.cumsum([len(s) for s in sets])].astype(np.int64)
    lo, hi = sorted(int(x * n) for x in lo_hi)
    rowptr, nodes, dist = local_searches(
        indptr, indices, weights, np.concatenate(sets).astype(np.int64), offsets, cutoff, lo, hi
    )
    mat = csr_matrix((weights, indices, indptr), shape=(n, n))
    for j, s in enumerate(sets):
        ref = dijkstra(mat, indices=np.unique(s), min_only=True, limit=cutoff * (1 + 1e-12))
        ref[ref > cutoff] = np.inf
        got = np.full(n, np.inf)
        got[nodes[rowptr[j] : rowptr[j + 1]]] = dist[rowptr[j] : rowptr[j + 1]]
        want = np.full(n, np.inf)
        want[lo:hi] = ref[lo:hi]
        np.testing.assert_allclose(got, want, rtol=1e-12)
        # reported in the order settled: costs never decrease
        assert np.all(np.diff(dist[rowptr[j] : rowptr[j + 1]]) >= 0)
        # each node at most once
        seg = nodes[rowptr[j] : rowptr[j + 1]]
        assert len(np.unique(seg)) == len(seg)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(2, 80), density=st.floats(1.0, 5.0))
def test_road_cost_at_equals_the_scipy_path(seed: int, n: int, density: float) -> None:
    """With random real weights shortest paths are unique: the road cost traced back equals
    the sum over scipy's predecessor path of the edges joining two road nodes."""
    indptr, indices, weights = _graph(seed, n, int(n * density))
    rng = np.random.default_rng(seed + 2)
    is_road = rng.random(n) < 0.5
    src = int(rng.integers(0, n))
    mat = csr_matrix((weights, indices, indptr), shape=(n, n))
    dist, pred = dijkstra(mat, indices=src, return_predecessors=True)
    # the kernel's own distances (same arithmetic as the engine's search)
    _rowptr, nodes, d = local_searches(
        indptr, indices, weights, np.array([src]), np.array([0, 1]), np.inf, 0, n
    )
    ours = np.full(n, np.inf)
    ours[nodes] = d
    np.testing.assert_allclose(ours, dist, rtol=1e-12)
    tptr, tind, tw = transpose(indptr, indices, weights)
    targets = np.arange(n, dtype=np.int64)
    got = road_cost_at(tptr, tind, tw, ours, is_road, targets)
    for t in range(n):
        if not np.isfinite(dist[t]):
            assert np.isnan(got[t])
            continue
        want, b = 0.0, t
        while b != src:
            a = pred[b]
            if is_road[a] and is_road[b]:
                want += mat[a, b]
            b = a
        assert got[t] == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_transpose_reverses_every_edge() -> None:
    indptr, indices, weights = _graph(7, 50, 200)
    tptr, tind, tw = transpose(indptr, indices, weights)
    a = csr_matrix((weights, indices, indptr), shape=(50, 50))
    b = csr_matrix((tw, tind, tptr), shape=(50, 50))
    assert (b != a.T).nnz == 0


def test_engine_local_searches_equal_dense_search(demo_engine_small) -> None:  # type: ignore[no-untyped-def]
    """On a real engine graph: bounded local searches equal the dense search cut at the
    same cost, cells and villages; the traced road part equals the whole-graph one."""
    eng = demo_engine_small
    rows = np.arange(0, len(eng.facilities), max(1, len(eng.facilities) // 12))
    for mode in ("walk", "drive"):
        dense, _ = eng.search(mode, [np.array([r]) for r in rows], 1200.0)
        rp, idx, dist = eng.search_local(mode, [np.array([r]) for r in rows], 1200.0)
        cells = eng.cell_values(dense).reshape(len(rows), -1)
        for j in range(len(rows)):
            got = np.full(eng.grid.size, np.inf)
            got[idx[rp[j] : rp[j + 1]]] = dist[rp[j] : rp[j + 1]]
            np.testing.assert_array_equal(got, cells[j])
        np.testing.assert_array_equal(
            eng.village_matrix(mode, rows, 1200.0), eng.village_values(dense)
        )
        d, _ = eng.search(mode, [rows])
        full = eng.village_values(eng.road_part(mode, d[0]))
        at = eng.road_part_at(mode, d[0], eng.village_nodes(mode))
        np.testing.assert_allclose(at, full, rtol=1e-9, atol=1e-6, equal_nan=True)
        assert np.nanmax(at) > 0  # some trips do use roads
