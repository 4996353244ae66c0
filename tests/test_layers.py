"""The engine's graphs and its phase-by-phase drive search against the plain references.

* :func:`ynps_geo._kernels.csr.stack_rows` equals a stable sort of the concatenated edges
  (what the engine built before, and what scipy's ``csr_matrix`` gives per row).
* The graph whole searches run on (cells renumbered along a tiled Z-order curve) is
  :meth:`TravelEngine.graph` renumbered, row for row, and its searches equal scipy's on
  the original graph.
* ``TravelEngine.search("drive")`` (walk, vehicle, improved walk on the walking graph)
  equals one search of the three-layer ``drive`` graph: scipy's Dijkstra for the costs,
  the engine's plain multi-source search for costs and nearest facilities, bit for bit;
  with and without the shared walking search, with and without a cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ynps_geo import kernels
from ynps_geo._kernels.csr import Z_TILE, coo_to_csr, stack_rows, tiled_z_order
from ynps_geo.engine import TravelEngine
from ynps_geo.errors import ValidationError
from ynps_geo.model.grid import GridSpec
from ynps_geo.network import RoadNetwork


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    g=st.integers(0, 12),
    copies=st.integers(0, 3),
    extra=st.integers(0, 40),
)
def test_stack_rows_equals_a_stable_sort_of_the_edge_lists(
    seed: int, g: int, copies: int, extra: int
) -> None:
    rng = np.random.default_rng(seed)
    gm = int(rng.integers(0, 3 * g + 1)) if g else 0
    gu = np.sort(rng.integers(0, max(g, 1), gm)) if g else np.zeros(0, np.int64)
    gv = rng.integers(0, max(g, 1), gm) if g else np.zeros(0, np.int64)
    gw = rng.uniform(0, 5, gm)
    gptr, gind, gwt = coo_to_csr(g, gu, gv, gw)
    bases = np.sort(rng.choice(np.arange(0, 4 * max(g, 1), max(g, 1)), copies, replace=False))
    n = int(bases.max() + g if copies else 0) + int(rng.integers(1, 6))
    xu = rng.integers(0, n, extra)
    xv = rng.integers(0, n, extra)
    xw = rng.uniform(0, 5, extra)
    xptr, xind, xwt = coo_to_csr(n, xu, xv, xw)
    got = stack_rows(n, gptr, gind, gwt, bases.astype(np.int64), xptr, xind, xwt)
    # reference: the grid copies first, then the extras, one stable counting sort
    u = np.concatenate([gu + b for b in bases] + [xu]).astype(np.int64)
    v = np.concatenate([gv + b for b in bases] + [xv]).astype(np.int64)
    w = np.concatenate([gw for _ in bases] + [xw])
    want = coo_to_csr(n, u, v, w)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    # and scipy's rows hold the same edges
    order = np.argsort(u, kind="stable")
    np.testing.assert_array_equal(got[1], v[order])


EPSG = 32647
X0, Y0 = 400_000.0, 2_860_000.0


def _centred(a: np.ndarray, res: float) -> np.ndarray:
    """The centres of the cells holding ``a`` (the grid's origin is a multiple of ``res``)."""
    return np.floor(a / res) * res + res / 2


def _random_engine(
    seed: int, size: int, connectivity: int, roads: bool = True, flat: bool = False
) -> TravelEngine:
    """A hilly grid with a random road network (drivable, one-way and footway edges),
    villages and facilities scattered over it. ``flat``: level ground, road nodes, villages
    and facilities on cell centres, so many trips tie to the bit and the tie rule decides."""
    from pyproj import Transformer

    rng = np.random.default_rng(seed)
    res = 100.0
    grid = GridSpec(EPSG, X0, Y0, res, size, size)
    yy, xx = np.mgrid[0:size, 0:size]
    dem = 300 * np.sin(xx / rng.uniform(3, 9)) * np.cos(yy / rng.uniform(3, 9))
    dem = dem + rng.normal(0, 5, dem.shape)
    if flat:
        dem = np.zeros_like(dem)
    elif rng.random() < 0.5:
        dem[rng.random(dem.shape) < 0.03] = np.nan  # voids
    span = size * res
    k = int(rng.integers(4, 25))
    x = X0 + rng.uniform(-0.1, 1.1, k) * span
    y = Y0 - rng.uniform(-0.1, 1.1, k) * span
    if flat:
        x, y = _centred(x, res), _centred(y, res)
    m = int(rng.integers(k, 3 * k))
    u = rng.integers(0, k, m)
    v = rng.integers(0, k, m)
    keep = u != v
    u, v = u[keep], v[keep]
    cls = rng.choice(["primary", "track", "residential", "footway", "unclassified"], len(u))
    tr = Transformer.from_crs(f"EPSG:{EPSG}", "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(x, y)
    net = RoadNetwork.from_edges(
        np.asarray(lon),
        np.asarray(lat),
        u,
        v,
        highway=cls.astype(object),
        oneway=rng.random(len(u)) < 0.2,
    )
    nv, nf = int(rng.integers(1, 15)), int(rng.integers(1, 12))
    vx, vy = X0 + rng.uniform(0, span, nv), Y0 - rng.uniform(0, span, nv)
    fx, fy = X0 + rng.uniform(0, span, nf), Y0 - rng.uniform(0, span, nf)
    if flat:
        vx, vy, fx, fy = (_centred(a, res) for a in (vx, vy, fx, fy))
    eng = TravelEngine.build(
        grid, dem, net if roads else None, (vx, vy), (fx, fy), connectivity=connectivity
    )
    eng.road_reach_m = float(rng.uniform(100, 3000))
    return eng


def _layered(eng: TravelEngine, sets: list[np.ndarray], cutoff: float) -> tuple[np.ndarray, ...]:
    """One search of the three-layer drive graph, facility rows as nearest."""
    indptr, indices, weights = eng.graph("drive")
    first = len(indptr) - 1 - len(eng.facilities)
    dist, pos = kernels.multi_source_dijkstra_many(
        indptr, indices, weights, [s + first for s in sets], cutoff
    )
    near = np.stack([np.append(s, -1)[p] for s, p in zip(sets, pos, strict=True)])
    return dist, near, indptr, indices, weights, first


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    size=st.integers(6, 30),
    connectivity=st.sampled_from([8, 16]),
    cut=st.sampled_from([np.inf, 600.0, 1800.0]),
    flat=st.booleans(),
)
def test_drive_by_phases_equals_the_three_layer_search(
    seed: int, size: int, connectivity: int, cut: float, flat: bool
) -> None:
    eng = _random_engine(seed, size, connectivity, flat=flat)
    rng = np.random.default_rng(seed + 1)
    nf = len(eng.facilities)
    sets = [np.sort(rng.choice(nf, int(rng.integers(1, nf + 1)), replace=False)) for _ in range(3)]
    sets.append(np.array([nf - 1, 0], dtype=np.int64))  # unsorted, maybe a duplicate
    want_d, want_n, indptr, indices, weights, first = _layered(eng, sets, cut)
    got_d, got_n = eng.search("drive", sets, cut)
    np.testing.assert_array_equal(got_d, want_d)
    np.testing.assert_array_equal(got_n, want_n)
    # the walking search of the same sets, handed over, gives the same again
    wd, wn = eng.search("walk", sets, cut)
    walked = [(wd[0], wn[0]), None, *zip(wd[2:], wn[2:], strict=True)]
    got_d2, got_n2 = eng.search("drive", sets, cut, walked=walked)
    np.testing.assert_array_equal(got_d2, want_d)
    np.testing.assert_array_equal(got_n2, want_n)
    # costs against scipy on the three-layer graph
    n = len(indptr) - 1
    mat = csr_matrix((weights, indices, indptr), shape=(n, n))
    for j, s in enumerate(sets):
        ref = dijkstra(mat, indices=np.unique(s) + first, min_only=True)
        ref[ref > cut] = np.inf
        np.testing.assert_allclose(got_d[j], ref, rtol=1e-12)


def test_drive_trips_use_the_car_and_walk_only_trips_stay(demo_engine_small) -> None:  # type: ignore[no-untyped-def]
    """On the demo county: the drive search is never slower than walking, is faster for
    most villages far from a facility, and equals the three-layer search exactly."""
    eng = demo_engine_small
    sets = [np.arange(len(eng.facilities))[:: max(1, len(eng.facilities) // 5)]]
    want_d, want_n, *_ = _layered(eng, sets, np.inf)
    d, q = eng.search("drive", sets)
    np.testing.assert_array_equal(d, want_d)
    np.testing.assert_array_equal(q, want_n)
    walk, _ = eng.search("walk", sets)
    vd, vw = eng.village_values(d)[0], eng.village_values(walk)[0]
    assert np.all(vd <= vw)
    far = vw > 1800
    assert far.any() and np.mean(vd[far] < vw[far]) > 0.5


def _road_cost_by_transpose(eng: TravelEngine, mode: str, dist: np.ndarray) -> np.ndarray:
    """The trace-back on the whole graph's transpose (the engine's former way)."""
    from ynps_geo._kernels.local import road_cost_at, transpose

    tptr, tind, tw = transpose(*eng.graph(mode))
    nodes = np.arange(len(dist), dtype=np.int64)
    return road_cost_at(tptr, tind, tw, dist, eng._road_nodes[mode], nodes)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    size=st.integers(6, 24),
    connectivity=st.sampled_from([8, 16]),
)
def test_road_part_without_the_transpose_equals_the_transpose(
    seed: int, size: int, connectivity: int
) -> None:
    """road_part_at reads the grid's edges into a cell from the neighbours' rows: every
    node's traced road cost equals the trace on the whole graph's transpose, in every mode."""
    eng = _random_engine(seed, size, connectivity)
    rows = np.arange(len(eng.facilities))
    for mode in ("walk", "distance", "drive"):
        d, _ = eng.search(mode, [rows])
        nodes = np.arange(d.shape[1], dtype=np.int64)
        got = eng.road_part_at(mode, d[0], nodes)
        want = _road_cost_by_transpose(eng, mode, d[0])
        np.testing.assert_array_equal(got, want)
        # and the vectorised whole-graph version agrees at the villages
        full = eng.road_part(mode, d[0])[eng.village_nodes(mode)]
        np.testing.assert_allclose(
            got[eng.village_nodes(mode)], full, rtol=1e-9, atol=1e-6, equal_nan=True
        )


def test_road_part_on_the_demo_equals_the_transpose(demo_engine_small) -> None:  # type: ignore[no-untyped-def]
    eng = demo_engine_small
    sets = [np.arange(len(eng.facilities))[:: max(1, len(eng.facilities) // 7)]]
    for mode in ("walk", "drive"):
        d, _ = eng.search(mode, sets)
        nodes = np.arange(d.shape[1], dtype=np.int64)
        got = eng.road_part_at(mode, d[0], nodes)
        np.testing.assert_array_equal(got, _road_cost_by_transpose(eng, mode, d[0]))
        assert np.nanmax(got) > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    size=st.integers(6, 24),
    connectivity=st.sampled_from([8, 16]),
    cutoff=st.sampled_from([300.0, 1200.0, 5000.0]),
)
def test_bounded_searches_without_the_stacked_graph_equal_it(
    seed: int, size: int, connectivity: int, cutoff: float
) -> None:
    """search_local reads the grid's rows and the other edges apart: the same reached nodes,
    costs and order as the bounded search of the built graph, in every mode and part."""
    from ynps_geo._kernels.local import local_searches

    eng = _random_engine(seed, size, connectivity)
    sets = [np.array([r]) for r in range(len(eng.facilities))]
    for mode in ("walk", "distance", "drive"):
        indptr, indices, weights = eng.graph(mode)
        n = len(indptr) - 1
        first = n - len(eng.facilities)
        flat = np.concatenate(sets) + first
        offs = np.arange(len(sets) + 1, dtype=np.int64)
        for part, lo, hi in (
            ("cells", 0, eng.grid.size),
            ("villages", first - len(eng.villages), first),
        ):
            got = eng.search_local(mode, sets, cutoff, part=part)
            rp, idx, dist = local_searches(indptr, indices, weights, flat, offs, cutoff, lo, hi)
            np.testing.assert_array_equal(got[0], rp)
            np.testing.assert_array_equal(got[1], idx - lo)
            np.testing.assert_array_equal(got[2], dist)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    size=st.integers(6, 30),
    connectivity=st.sampled_from([8, 16]),
    cut=st.sampled_from([np.inf, 900.0]),
)
def test_a_batch_of_walk_and_distance_searches_equals_each_search(
    seed: int, size: int, connectivity: int, cut: float
) -> None:
    """``search_batch`` (walking and distance in one parallel loop over two graphs) gives
    each job what :meth:`search` of its mode gives, and scipy's costs."""
    eng = _random_engine(seed, size, connectivity)
    rng = np.random.default_rng(seed + 2)
    nf = len(eng.facilities)
    sets = [np.sort(rng.choice(nf, int(rng.integers(1, nf + 1)), replace=False)) for _ in range(4)]
    sets.append(np.array([nf - 1, 0], dtype=np.int64))
    modes = [str(m) for m in rng.choice(["walk", "distance"], len(sets))]
    got = eng.search_batch(list(zip(modes, sets, strict=True)), cut)
    assert len(got) == len(sets)
    for mode, s, (d, q) in zip(modes, sets, got, strict=True):
        want_d, want_q = eng.search(mode, [s], cut)
        np.testing.assert_array_equal(d, want_d[0])
        np.testing.assert_array_equal(q, want_q[0])
        indptr, indices, weights = eng.graph(mode)
        n = len(indptr) - 1
        first = n - nf
        ref = dijkstra(
            csr_matrix((weights, indices, indptr), shape=(n, n)),
            indices=np.unique(s) + first,
            min_only=True,
        )
        ref[ref > cut] = np.inf
        np.testing.assert_allclose(d, ref, rtol=1e-12)
    # a set outside the facilities is refused with the job named
    with pytest.raises(ValidationError, match="walk job"):
        eng.search_batch([("walk", np.array([nf]))])
    with pytest.raises(ValidationError, match="drive"):
        eng.search_batch([("drive", sets[0])])


@dataclass(frozen=True)
class _Std:
    """What ``CountySearches.run`` reads of a standard."""

    facilities: tuple[tuple[str, ...], ...]
    urban: str | None
    rural: str | None

    def applies(self, setting: str) -> bool:
        return getattr(self, setting) is not None

    def mode_for(self, setting: str) -> str:
        return str(getattr(self, setting))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), size=st.integers(6, 24), with_roads=st.booleans())
def test_county_searches_equal_the_searches_one_by_one(
    seed: int, size: int, with_roads: bool
) -> None:
    """The county's searches (walking, distance and the drive groups' walking in one batch,
    then drive from it) equal one plain search per mode and group."""
    import pandas as pd

    from ynps_geo.analysis import CountySearches, Options

    eng = _random_engine(seed, size, 16, roads=with_roads)
    rng = np.random.default_rng(seed + 3)
    nf = len(eng.facilities)
    fac = pd.DataFrame(
        {
            "category": rng.choice(["health", "school", "culture"], nf),
            "subtype": rng.choice(["clinic", "hospital", "x"], nf),
        }
    )
    stds = [
        _Std((("health",), ("hospital",)), "walk", "drive"),
        _Std((("school",),), "walk", "walk"),
        _Std((("culture",),), "distance", None),
        _Std((("clinic", "culture"),), None, "drive"),
    ]
    present = {"urban", "rural"}
    got = CountySearches.run(
        "x",
        eng,
        fac,
        stds,
        present,
        Options(progress=False),  # type: ignore[arg-type]
    ).results
    from ynps_geo.analysis import facility_matches

    want_keys = {
        (s.mode_for(st_), g)
        for s in stds
        for st_ in present
        if s.applies(st_)
        for g in s.facilities
    }
    assert want_keys <= set(got)
    for mode, g in want_keys:
        rows = np.nonzero(facility_matches(fac, g))[0]
        d, q = eng.search(mode, [rows])
        np.testing.assert_array_equal(got[(mode, g)][0], d[0])
        np.testing.assert_array_equal(got[(mode, g)][1], q[0])


@settings(max_examples=40, deadline=None)
@given(height=st.integers(1, 3 * Z_TILE + 5), width=st.integers(1, 3 * Z_TILE + 5))
def test_tiled_z_order_is_a_permutation_of_nearby_cells(height: int, width: int) -> None:
    order = tiled_z_order(height, width)
    np.testing.assert_array_equal(np.sort(order), np.arange(height * width))
    # each run of Z_TILE**2 ids lies in one tile (a tile row's tiles, then the next row's)
    r, c = np.divmod(order, width)
    tile = (r // Z_TILE) * ((width + Z_TILE - 1) // Z_TILE) + c // Z_TILE
    assert np.all(np.diff(tile) >= 0)
    # inside a full tile, the first four ids are the 2 x 2 block at its corner
    if height >= Z_TILE and width >= Z_TILE:
        assert sorted(zip(r[:4], c[:4], strict=True)) == [(0, 0), (0, 1), (1, 0), (1, 1)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    size=st.integers(6, 40),
    connectivity=st.sampled_from([8, 16]),
    mode=st.sampled_from(["walk", "distance", "drive"]),
    with_roads=st.booleans(),
)
def test_search_graph_is_the_graph_renumbered(
    seed: int, size: int, connectivity: int, mode: str, with_roads: bool
) -> None:
    eng = _random_engine(seed, size, connectivity, roads=with_roads)
    if mode == "drive" and with_roads:
        mode = "walk"  # the layered drive graph is searched phase by phase, on walk's
    indptr, indices, weights = eng.graph(mode)
    sptr, sind, sw, order = eng._search_graph(mode)
    n = len(indptr) - 1
    assert sind.dtype == np.int32 and len(sptr) == n + 1
    np.testing.assert_array_equal(np.sort(order), np.arange(n))
    G = eng.grid.size
    np.testing.assert_array_equal(order[G:], np.arange(G, n))  # only cells move
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    for new in range(n):
        old = order[new]
        a, b = indptr[old], indptr[old + 1]
        c, d = sptr[new], sptr[new + 1]
        np.testing.assert_array_equal(sind[c:d], inverse[indices[a:b]])
        np.testing.assert_array_equal(sw[c:d], weights[a:b])
    # whole searches on it equal scipy's on the original graph
    rng = np.random.default_rng(seed + 5)
    nf = len(eng.facilities)
    sets = [np.sort(rng.choice(nf, int(rng.integers(1, nf + 1)), replace=False)) for _ in range(2)]
    got, near = eng.search(mode, sets)
    mat = csr_matrix((weights, indices, indptr), shape=(n, n))
    for j, s in enumerate(sets):
        ref = dijkstra(mat, indices=s + n - nf, min_only=True)
        np.testing.assert_allclose(got[j], ref, rtol=1e-12)
    # and the plain search of the original graph, bit for bit, nearest facilities too
    plain_d, plain_p = kernels.multi_source_dijkstra_many(
        indptr, indices, weights, [s + n - nf for s in sets], np.inf
    )
    np.testing.assert_array_equal(got, plain_d)
    for j, s in enumerate(sets):
        np.testing.assert_array_equal(near[j], np.append(s, -1)[plain_p[j]])
