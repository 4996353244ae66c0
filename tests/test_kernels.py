"""Tests of ynps_geo.kernels against scipy.sparse.csgraph and skimage.graph."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from ynps_geo import kernels
from ynps_geo.errors import ValidationError

skgraph = pytest.importorskip("skimage.graph")

RTOL = 1e-9


def to_csr(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> sp.csr_matrix:
    """CSR keeping every edge (parallel edges too) in input order, as our kernel sees it."""
    order = np.argsort(a, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, a + 1, 1)
    indptr = np.cumsum(indptr)
    return indptr, b[order].astype(np.int64), w[order].astype(np.float64)


def scipy_reference(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> sp.csr_matrix:
    """scipy graph with the lightest of parallel edges (csr_matrix would sum them)."""
    best: dict[tuple[int, int], float] = {}
    for u, v, x in zip(a.tolist(), b.tolist(), w.tolist(), strict=True):
        best[(u, v)] = min(x, best.get((u, v), np.inf))
    if not best:
        return sp.csr_matrix((n, n))
    keys = np.array(list(best), dtype=np.int64)
    data = np.array(list(best.values()))
    return sp.csr_matrix((data, (keys[:, 0], keys[:, 1])), shape=(n, n))


@st.composite
def graphs(draw: st.DrawFn) -> tuple:
    n = draw(st.integers(1, 40))
    m = draw(st.integers(0, 120))
    directed = draw(st.booleans())
    a = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    b = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    # small integer weights (and zeros) make ties and exact cutoffs likely
    w = np.array(
        draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.25]), min_size=m, max_size=m))
    )
    if not directed:
        a, b, w = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([w, w])
    k = draw(st.integers(1, min(n, 5) + 1))
    sources = np.array(draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k)))
    return n, a, b, w, sources


def check_against_scipy(n, a, b, w, sources, cutoff) -> None:
    indptr, indices, weights = to_csr(n, a, b, w)
    dist, nearest = kernels.multi_source_dijkstra(indptr, indices, weights, sources, cutoff)
    g = scipy_reference(n, a, b, w)
    ref = dijkstra(g, indices=sources, min_only=True, limit=cutoff)
    assert dist.dtype == np.float64 and nearest.dtype == np.int64
    assert np.array_equal(np.isinf(dist), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(dist[fin], ref[fin], rtol=RTOL, atol=0)
    assert np.all((nearest >= 0) == fin)
    # the reported nearest source really is at the reported distance
    single = dijkstra(g, indices=sources[nearest[fin]].tolist(), min_only=False)
    if fin.any():
        own = single[np.arange(fin.sum()), np.flatnonzero(fin)]
        np.testing.assert_allclose(own, dist[fin], rtol=RTOL, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_dijkstra_matches_scipy(g) -> None:
    n, a, b, w, sources = g
    check_against_scipy(n, a, b, w, sources, np.inf)


@settings(max_examples=60, deadline=None)
@given(graphs(), st.integers(0, 5))
def test_dijkstra_cutoff_inclusive(g, pick) -> None:
    n, a, b, w, sources = g
    indptr, indices, weights = to_csr(n, a, b, w)
    full, _ = kernels.multi_source_dijkstra(indptr, indices, weights, sources)
    finite = np.unique(full[np.isfinite(full)])
    cutoff = float(finite[pick % finite.size])  # exactly on a distance
    check_against_scipy(n, a, b, w, sources, cutoff)
    dist, _ = kernels.multi_source_dijkstra(indptr, indices, weights, sources, cutoff)
    assert np.all(dist[full == cutoff] == cutoff)


@settings(max_examples=30, deadline=None)
@given(graphs())
def test_prepared_and_many_agree(g) -> None:
    n, a, b, w, sources = g
    indptr, indices, weights = to_csr(n, a, b, w)
    dist, nearest = kernels.multi_source_dijkstra(indptr, indices, weights, sources)
    prepared = kernels.prepare_graph(indptr, indices, weights)
    pd_, pn = prepared.multi_source_dijkstra(sources)
    np.testing.assert_allclose(pd_, dist, rtol=RTOL)
    other = sources[::-1].copy()
    md, mn = kernels.multi_source_dijkstra_many(indptr, indices, weights, [sources, other])
    assert md.shape == (2, n) and mn.shape == (2, n)
    np.testing.assert_allclose(md[0], dist, rtol=RTOL)
    np.testing.assert_array_equal(mn[0], nearest)
    d2, _ = kernels.multi_source_dijkstra(indptr, indices, weights, other)
    np.testing.assert_allclose(md[1], d2, rtol=RTOL)
    pmd, _ = prepared.multi_source_dijkstra_many([other, sources])
    np.testing.assert_allclose(pmd[1], dist, rtol=RTOL)
    assert np.array_equal(pn >= 0, nearest >= 0)


def test_duplicate_sources_and_dtypes() -> None:
    indptr = np.array([0, 1, 2, 2], dtype=np.int32)
    indices = np.array([1, 2], dtype=np.int32)
    weights = np.array([1, 2], dtype=np.int32)
    dist, nearest = kernels.multi_source_dijkstra(indptr, indices, weights, [0, 0])
    np.testing.assert_array_equal(dist, [0.0, 1.0, 3.0])
    np.testing.assert_array_equal(nearest, [0, 0, 0])


def test_disconnected_and_unreached() -> None:
    indptr, indices, weights = to_csr(4, np.array([0]), np.array([1]), np.array([1.0]))
    dist, nearest = kernels.multi_source_dijkstra(indptr, indices, weights, [0])
    assert dist[1] == 1.0 and np.isinf(dist[2:]).all()
    np.testing.assert_array_equal(nearest, [0, 0, -1, -1])


def test_many_empty_set() -> None:
    indptr, indices, weights = to_csr(3, np.array([0]), np.array([1]), np.array([1.0]))
    dist, nearest = kernels.multi_source_dijkstra_many(indptr, indices, weights, [[], [1]])
    assert np.isinf(dist[0]).all() and (nearest[0] == -1).all()
    assert dist[1, 1] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weights": [1.0, -1.0]}, "negative"),
        ({"weights": [1.0, np.nan]}, "negative or NaN"),
        ({"weights": [1.0]}, "one weight per edge"),
        ({"sources": [5]}, "outside"),
        ({"sources": [-1]}, "outside"),
        ({"indices": [1, 9]}, "outside"),
        ({"indptr": [0, 1, 1]}, "CSR"),
        ({"cutoff": -1.0}, "cutoff"),
        ({"sources": [0.5]}, "integers"),
    ],
)
def test_dijkstra_validation(kwargs, match) -> None:
    args = {
        "indptr": [0, 1, 2, 2],
        "indices": [1, 2],
        "weights": [1.0, 1.0],
        "sources": [0],
        "cutoff": np.inf,
    }
    args.update(kwargs)
    with pytest.raises(ValidationError, match=match):
        kernels.multi_source_dijkstra(**args)


def test_many_rejects_flat_array() -> None:
    with pytest.raises(ValidationError, match="sequence"):
        kernels.multi_source_dijkstra_many([0, 1, 1], [1], [1.0], np.array([0, 1]))


# ----------------------------------------------------------------------------- rasters


@st.composite
def rasters(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    h = draw(st.integers(1, 14))
    w = draw(st.integers(1, 14))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cost = rng.choice([0.0, 0.5, 1.0, 2.0, 3.3], size=(h, w)) * draw(st.sampled_from([1, 1.7]))
    cost[rng.random((h, w)) < draw(st.sampled_from([0.0, 0.1, 0.3]))] = np.inf
    cost[rng.random((h, w)) < draw(st.sampled_from([0.0, 0.1]))] = np.nan
    k = draw(st.integers(1, 4))
    src = np.stack([rng.integers(0, h, k), rng.integers(0, w, k)], axis=1)
    return cost, src


def mcp_reference(cost: np.ndarray, src: np.ndarray, fully_connected: bool) -> np.ndarray:
    # skimage crashes on NaN; it treats inf (and negative) cells as impassable
    safe = np.where(np.isnan(cost), np.inf, cost)
    mcp = skgraph.MCP_Geometric(safe, fully_connected=fully_connected)
    return mcp.find_costs([tuple(s) for s in src.tolist()])[0]


@settings(max_examples=60, deadline=None)
@given(rasters(), st.sampled_from([4, 8]))
def test_cost_distance_matches_mcp(r, connectivity) -> None:
    cost, src = r
    ours = kernels.cost_distance(cost, src, connectivity=connectivity)
    ref = mcp_reference(cost, src, connectivity == 8)
    assert ours.dtype == np.float64 and ours.shape == cost.shape
    assert np.array_equal(np.isinf(ours), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(ours[fin], ref[fin], rtol=RTOL, atol=0)


@settings(max_examples=40, deadline=None)
@given(rasters(), st.integers(0, 10))
def test_cost_distance_cutoff_inclusive(r, pick) -> None:
    cost, src = r
    full = kernels.cost_distance(cost, src)
    finite = np.unique(full[np.isfinite(full)])
    cutoff = float(finite[pick % finite.size])
    cut = kernels.cost_distance(cost, src, cutoff=cutoff)
    np.testing.assert_array_equal(cut, np.where(full <= cutoff, full, np.inf))


def grid_graph_16(cost: np.ndarray) -> sp.csr_matrix:
    """Explicit 16-neighbour graph with the documented step costs, for reference."""
    h, w = cost.shape
    rows, cols, data = [], [], []
    c = np.where(np.isfinite(cost), cost, np.inf)
    moves = [(0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)]
    knights = [(1, 2), (1, -2), (-1, 2), (-1, -2), (2, 1), (2, -1), (-2, 1), (-2, -1)]
    for r in range(h):
        for q in range(w):
            for dr, dc in moves + knights:
                rr, cc = r + dr, q + dc
                if not (0 <= rr < h and 0 <= cc < w):
                    continue
                if abs(dr) + abs(dc) == 3:
                    if abs(dc) == 2:
                        mids = [(r, q + dc // 2), (r + dr, q + dc // 2)]
                    else:
                        mids = [(r + dr // 2, q), (r + dr // 2, q + dc)]
                    x = np.sqrt(5) * 0.25 * (c[r, q] + c[rr, cc] + sum(c[m] for m in mids))
                else:
                    x = np.hypot(dr, dc) * 0.5 * (c[r, q] + c[rr, cc])
                if np.isfinite(x):
                    rows.append(r * w + q)
                    cols.append(rr * w + cc)
                    data.append(x)
    n = h * w
    return sp.csr_matrix((data, (rows, cols)), shape=(n, n))


@settings(max_examples=30, deadline=None)
@given(rasters())
def test_cost_distance_16(r) -> None:
    cost, src = r
    ours = kernels.cost_distance(cost, src, connectivity=16)
    ref = dijkstra(
        grid_graph_16(cost), indices=src[:, 0] * cost.shape[1] + src[:, 1], min_only=True
    ).reshape(cost.shape)
    assert np.array_equal(np.isinf(ours), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(ours[fin], ref[fin], rtol=RTOL, atol=0)
    # knight moves only ever shorten paths
    assert np.all(ours <= kernels.cost_distance(cost, src, connectivity=8) * (1 + 1e-12))


def test_knight_cannot_jump_a_wall() -> None:
    cost = np.ones((3, 5))
    cost[:, 2] = np.inf
    out = kernels.cost_distance(cost, [[1, 0]], connectivity=16)
    assert np.isinf(out[:, 2:]).all()


def test_source_on_impassable_cell() -> None:
    cost = np.ones((3, 3))
    cost[1, 1] = np.inf
    out = kernels.cost_distance(cost, [[1, 1]])
    assert out[1, 1] == 0.0 and np.isinf(out[cost == 1]).all()
    ref = mcp_reference(cost, np.array([[1, 1]]), True)
    np.testing.assert_array_equal(out, ref)


def test_cost_distance_large_random_matches_mcp() -> None:
    rng = np.random.default_rng(5)
    cost = 1 + rng.random((120, 150))
    cost[rng.random(cost.shape) < 0.1] = np.inf
    src = np.stack([rng.integers(0, 120, 7), rng.integers(0, 150, 7)], axis=1)
    ours = kernels.cost_distance(cost, src)
    ref = mcp_reference(cost, src, True)
    assert np.array_equal(np.isinf(ours), np.isinf(ref))
    np.testing.assert_allclose(ours[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=RTOL)


@pytest.mark.parametrize(
    ("cost", "sources", "kwargs", "match"),
    [
        (np.ones((3, 3)), [[3, 0]], {}, "outside"),
        (np.ones((3, 3)), [[0, -1]], {}, "outside"),
        (np.ones((3, 3)), [[0, 0, 0]], {}, r"\(k, 2\)"),
        (-np.ones((3, 3)), [[0, 0]], {}, "negative"),
        (np.ones(3), [[0, 0]], {}, "2-D"),
        (np.ones((3, 3)), [[0, 0]], {"connectivity": 6}, "connectivity"),
        (np.ones((3, 3)), [[0, 0]], {"cutoff": np.nan}, "cutoff"),
    ],
)
def test_cost_distance_validation(cost, sources, kwargs, match) -> None:
    with pytest.raises(ValidationError, match=match):
        kernels.cost_distance(cost, sources, **kwargs)


def test_cost_distance_accepts_other_dtypes() -> None:
    out = kernels.cost_distance(np.ones((2, 3), dtype=np.int32), np.array([[0, 0]], np.int32))
    np.testing.assert_allclose(out, [[0, 1, 2], [1, np.sqrt(2), 1 + np.sqrt(2)]])


# ------------------------------------------------------------ bucketed search vs the heap

from ynps_geo._kernels import buckets as _buckets  # noqa: E402
from ynps_geo._kernels import dijkstra as _dij  # noqa: E402
from ynps_geo._kernels import grid as _grid  # noqa: E402

HEAP, BUCKETS = 1, 2


@st.composite
def positive_graphs(draw: st.DrawFn) -> tuple:
    n = draw(st.integers(1, 60))
    m = draw(st.integers(0, 200))
    a = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    b = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    # small integer weights: many equal distances through different sources (ties)
    w = np.array(
        draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.0, 7.25, np.inf]), min_size=m, max_size=m))
    )
    k = draw(st.integers(1, min(n, 6) + 1))
    sources = np.array(draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k)))
    return n, a, b, w, sources


@settings(max_examples=80, deadline=None)
@given(positive_graphs(), st.sampled_from([np.inf, 0.0, 1.0, 3.5, 7.25]))
def test_buckets_equal_heap(g, cutoff) -> None:
    n, a, b, w, sources = g
    indptr, indices, weights = to_csr(n, a, b, w)
    src = sources.astype(np.int64)
    assert _buckets.bucket_plan(indptr, weights)[1] > 0 or not np.isfinite(weights).any()
    dh, nh = _dij.multi_source_dijkstra(indptr, indices, weights, src, cutoff, HEAP)
    db, nb_ = _dij.multi_source_dijkstra(indptr, indices, weights, src, cutoff, BUCKETS)
    np.testing.assert_array_equal(db, dh)  # bit for bit
    np.testing.assert_array_equal(nb_, nh)  # same canonical tie rule
    check_against_scipy(n, a, b, w, sources, cutoff)


def test_buckets_tie_rule_prefers_smaller_source_position() -> None:
    # node 2 is at distance 1 from both sources; the smaller position (1) must win
    indptr, indices, weights = to_csr(3, np.array([0, 1]), np.array([2, 2]), np.array([1.0, 1.0]))
    for method in (HEAP, BUCKETS):
        dist, nearest = _dij.multi_source_dijkstra(
            indptr, indices, weights, np.array([1, 0]), np.inf, method
        )
        np.testing.assert_array_equal(dist, [0.0, 0.0, 1.0])
        np.testing.assert_array_equal(nearest, [1, 0, 0])


def test_bucket_plan_falls_back_to_heap() -> None:
    indptr = np.array([0, 2, 2, 2], dtype=np.int64)
    assert _buckets.bucket_plan(indptr, np.array([0.0, 1.0]))[1] == 0  # zero weight
    assert _buckets.bucket_plan(indptr, np.array([1e-9, 1e9]))[1] == 0  # range too wide
    assert _buckets.bucket_plan(indptr, np.array([np.inf, np.inf]))[1] == 0
    assert _buckets.bucket_plan(indptr, np.array([1.0, 3.0]))[1] > 0
    # with a zero weight, method=2 still answers (through the heap)
    dist, _ = _dij.multi_source_dijkstra(
        indptr, np.array([1, 2]), np.array([0.0, 1.0]), np.array([0]), np.inf, BUCKETS
    )
    np.testing.assert_array_equal(dist, [0.0, 0.0, 1.0])


def test_large_graph_auto_path_matches_scipy_and_many() -> None:
    # >= BUCKET_MIN_NODES nodes: the public functions take the bucketed path
    side = 250
    rng = np.random.default_rng(3)
    ids = np.arange(side * side).reshape(side, side)
    a = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    b = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    keep = rng.random(a.size) < 0.7
    a, b = a[keep], b[keep]
    perm = rng.permutation(side * side)  # no spatial order, like OSM ids
    a, b = perm[a], perm[b]
    w = rng.choice([1.0, 1.5, 2.0, 2.5], a.size)  # coarse weights: many ties
    n = side * side
    assert n >= _dij.BUCKET_MIN_NODES
    a, b, w = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([w, w])
    indptr, indices, weights = to_csr(n, a, b, w)
    sources = rng.choice(n, 40, replace=False)
    dist, nearest = kernels.multi_source_dijkstra(indptr, indices, weights, sources)
    dh, nh = _dij.multi_source_dijkstra(indptr, indices, weights, sources, np.inf, HEAP)
    np.testing.assert_array_equal(dist, dh)
    np.testing.assert_array_equal(nearest, nh)
    g = sp.csr_matrix((weights, indices, indptr), shape=(n, n))
    ref = dijkstra(g, indices=sources, min_only=True)
    assert np.array_equal(np.isinf(dist), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(dist[fin], ref[fin], rtol=RTOL, atol=0)
    # nearest really is at that distance (check a sample of nodes per source)
    for j in range(0, 40, 7):
        mine = np.flatnonzero(nearest == j)
        single = dijkstra(g, indices=[sources[j]], min_only=True)
        np.testing.assert_allclose(single[mine], dist[mine], rtol=RTOL, atol=0)
    md, mn = kernels.multi_source_dijkstra_many(
        indptr, indices, weights, [sources, sources[::-1].copy()], cutoff=30.0
    )
    cut = np.where(dist <= 30.0, dist, np.inf)
    np.testing.assert_array_equal(md[0], cut)
    np.testing.assert_array_equal(mn[0], np.where(dist <= 30.0, nearest, -1))
    np.testing.assert_array_equal(md[1], cut)
    prepared = kernels.prepare_graph(indptr, indices, weights)
    pd_, _ = prepared.multi_source_dijkstra(sources)
    np.testing.assert_array_equal(pd_, dist)


@settings(max_examples=60, deadline=None)
@given(rasters(), st.sampled_from([4, 8, 16]), st.sampled_from([np.inf, 2.0]))
def test_cost_distance_buckets_equal_heap(r, connectivity, cutoff) -> None:
    cost, src = r
    cost = np.where(cost == 0.0, 0.25, cost)  # buckets need costs > 0
    tables = _grid.neighbourhood(connectivity)
    rows, cols = src[:, 0].astype(np.int64), src[:, 1].astype(np.int64)
    heap = _grid.cost_distance(cost, rows, cols, cutoff, *tables, HEAP)
    bkt = _grid.cost_distance(cost, rows, cols, cutoff, *tables, BUCKETS)
    np.testing.assert_array_equal(bkt, heap)
    if connectivity != 16:
        ref = mcp_reference(cost, src, connectivity == 8)
        ref = np.where(ref <= cutoff, ref, np.inf)
        assert np.array_equal(np.isinf(bkt), np.isinf(ref))
        fin = np.isfinite(ref)
        np.testing.assert_allclose(bkt[fin], ref[fin], rtol=RTOL, atol=0)


def test_cost_distance_large_uses_buckets_and_matches_mcp() -> None:
    rng = np.random.default_rng(11)
    cost = 1.0 + 4.0 * rng.random((300, 280))
    cost[rng.random(cost.shape) < 0.05] = np.inf
    src = np.stack([rng.integers(0, 300, 25), rng.integers(0, 280, 25)], axis=1)
    assert _buckets.ring_plan(1.0, np.sqrt(5.0) * 5.0, cost.size)[1] > 0
    ours = kernels.cost_distance(cost, src)
    tables = _grid.neighbourhood(8)
    heap = _grid.cost_distance(cost, src[:, 0].copy(), src[:, 1].copy(), np.inf, *tables, HEAP)
    np.testing.assert_array_equal(ours, heap)
    ref = mcp_reference(cost, src, True)
    assert np.array_equal(np.isinf(ours), np.isinf(ref))
    np.testing.assert_allclose(ours[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=RTOL)


def test_buckets_chunked_bucket_and_partitions() -> None:
    # a star: the hub's bucket expands to 60,000 nodes at once, more than one candidate
    # buffer (chunked expansion); also run the search with 2 owner partitions
    n = 60_001
    leaves = np.arange(1, n)
    a = np.concatenate([np.zeros(n - 1, np.int64), leaves, leaves[:-1]])
    b = np.concatenate([leaves, np.zeros(n - 1, np.int64), leaves[1:]])
    w = np.concatenate([np.ones(n - 1), np.full(n - 1, 2.0), np.full(n - 2, 1.5)])
    indptr, indices, weights = to_csr(n, a, b, w)
    sources = np.array([0, 17, 17, 5000], dtype=np.int64)
    dh, nh = _dij.multi_source_dijkstra(indptr, indices, weights, sources, np.inf, HEAP)
    invd, ring, maxdeg = _buckets.bucket_plan(indptr, weights)
    assert ring > 0 and maxdeg == n - 1
    m, k = indices.size, sources.size
    for parts, room in ((1, 0), (2, 0), (3, 0), (1, 1)):
        dist = np.empty(n)
        nearest = np.empty(n, dtype=np.int64)
        # scratch given (room=1, as the public wrapper does) or allocated by the kernel
        _buckets.msd_buckets_into(
            indptr,
            indices,
            weights,
            sources,
            np.inf,
            dist,
            nearest,
            invd,
            ring,
            maxdeg,
            parts,
            np.empty(0, dtype=np.int64),
            np.empty(room * 2 * n),
            np.empty(room * (m + k), np.int32),
            np.empty(room * (m + k), np.int32),
        )
        np.testing.assert_array_equal(dist, dh)
        np.testing.assert_array_equal(nearest, nh)
    assert nh[17] == 1 and nh[1] == 0  # duplicates: the first position
