"""Hand-computed tests of ynps_geo.terrain (Tobler walking over a DEM)."""

from __future__ import annotations

import numpy as np
import pytest

from ynps_geo import kernels, settings, terrain
from ynps_geo.errors import ValidationError

FLAT_KMH = 6.0 * np.exp(-3.5 * 0.05)


def seconds(metres: float, kmh: float) -> float:
    return metres / (kmh / 3.6)


def test_tobler_speed() -> None:
    assert terrain.tobler_speed_kmh(-0.05, 1.0) == pytest.approx(6.0)
    assert terrain.tobler_speed_kmh(0.0, 1.0) == pytest.approx(FLAT_KMH)
    assert terrain.tobler_speed_kmh(0.0) == pytest.approx(FLAT_KMH * settings.offroad_speed_factor)
    s = np.array([0.2, -0.2])
    np.testing.assert_allclose(
        terrain.tobler_speed_kmh(s, 1.0), 6 * np.exp(-3.5 * np.abs(s + 0.05))
    )
    with pytest.raises(ValidationError, match="offpath_factor"):
        terrain.tobler_speed_kmh(0.0, 0.0)


@pytest.mark.parametrize("factor", [None, 1.0])
def test_flat_plane_exact(factor) -> None:
    dem = np.full((7, 9), 100.0)
    cx, cy = 30.0, 20.0
    t = terrain.walking_time(dem, cx, cy, [[3, 4]], offpath_factor=factor)
    kmh = FLAT_KMH * (settings.offroad_speed_factor if factor is None else factor)
    assert t[3, 4] == 0.0
    assert t[3, 8] == pytest.approx(seconds(4 * cx, kmh), rel=1e-12)
    assert t[0, 4] == pytest.approx(seconds(3 * cy, kmh), rel=1e-12)
    assert t[0, 1] == pytest.approx(seconds(3 * np.hypot(cx, cy), kmh), rel=1e-12)
    # knight move on 16 neighbours: one straight step
    t16 = terrain.walking_time(dem, cx, cy, [[3, 4]], connectivity=16, offpath_factor=factor)
    assert t16[4, 6] == pytest.approx(seconds(np.hypot(2 * cx, cy), kmh), rel=1e-12)
    assert t16[4, 6] < t[4, 6]


def test_constant_slope_up_and_down() -> None:
    cx = 50.0
    dem = np.tile(np.arange(6) * 10.0, (3, 1))  # rises 10 m per 50 m eastward: slope 0.2
    fwd = terrain.walking_time(dem, cx, cx, [[1, 0]], reverse=False, offpath_factor=1.0)
    up = seconds(5 * cx, 6 * np.exp(-3.5 * abs(0.2 + 0.05)))
    assert fwd[1, 5] == pytest.approx(up, rel=1e-12)
    back = terrain.walking_time(dem, cx, cx, [[1, 5]], reverse=False, offpath_factor=1.0)
    down = seconds(5 * cx, 6 * np.exp(-3.5 * abs(-0.2 + 0.05)))
    assert back[1, 0] == pytest.approx(down, rel=1e-12)
    assert up > down
    # reverse=True: time walking TO the source; equals forward on the mirrored problem
    rev = terrain.walking_time(dem, cx, cx, [[1, 5]], reverse=True, offpath_factor=1.0)
    assert rev[1, 0] == pytest.approx(up, rel=1e-12)
    # (walking to the source uphill is walking away from it on the inverted terrain)
    mirrored = terrain.walking_time(-dem, cx, cx, [[1, 5]], reverse=False, offpath_factor=1.0)
    np.testing.assert_allclose(rev, mirrored, rtol=1e-12)


def test_reverse_graph_edges() -> None:
    dem = np.array([[0.0, 10.0]])
    ip, ix, w = terrain.walking_graph(dem, 50.0, 50.0, offpath_factor=1.0)
    _, ixr, wr = terrain.walking_graph(dem, 50.0, 50.0, offpath_factor=1.0, reverse=True)
    np.testing.assert_array_equal(ip, [0, 1, 2])
    np.testing.assert_array_equal(ix, [1, 0])
    up = seconds(50.0, 6 * np.exp(-3.5 * 0.25))
    down = seconds(50.0, 6 * np.exp(-3.5 * 0.15))
    np.testing.assert_allclose(w, [up, down], rtol=1e-12)
    np.testing.assert_array_equal(ixr, ix)
    np.testing.assert_allclose(wr, [down, up], rtol=1e-12)


@pytest.mark.parametrize("connectivity", [4, 8, 16])
@pytest.mark.parametrize("reverse", [False, True])
def test_time_equals_graph_search(connectivity, reverse) -> None:
    rng = np.random.default_rng(connectivity)
    dem = rng.random((25, 31)) * 80
    dem[4, 5] = np.nan
    dem[10, 10] = -9999.0
    barrier = rng.random(dem.shape) < 0.08
    kw = {
        "connectivity": connectivity,
        "reverse": reverse,
        "barrier": barrier,
        "max_slope_deg": 45.0,
        "nodata": -9999.0,
    }
    src = np.array([[0, 0], [20, 25], [12, 3]])
    t = terrain.walking_time(dem, 25.0, 35.0, src, **kw)
    graph = terrain.walking_graph(dem, 25.0, 35.0, **kw)
    d, _ = kernels.multi_source_dijkstra(*graph, src[:, 0] * dem.shape[1] + src[:, 1])
    np.testing.assert_allclose(t.ravel(), d, rtol=1e-12)
    assert np.isinf(t[4, 5]) and np.isinf(t[10, 10])
    cut = terrain.walking_time(dem, 25.0, 35.0, src, cutoff=600.0, **kw)
    np.testing.assert_array_equal(cut, np.where(t <= 600.0, t, np.inf))


def test_barrier_wall_and_gap() -> None:
    dem = np.zeros((5, 5))
    barrier = np.zeros((5, 5), bool)
    barrier[:, 2] = True
    for conn in (4, 8, 16):
        t = terrain.walking_time(dem, 10, 10, [[2, 0]], barrier=barrier, connectivity=conn)
        assert np.isinf(t[:, 2:]).all()
    barrier[4, 2] = False
    t = terrain.walking_time(dem, 10, 10, [[2, 0]], barrier=barrier)
    assert np.isfinite(t[:, 3:]).all()


def test_diagonal_barrier_line_is_a_wall() -> None:
    dem = np.zeros((4, 4))
    barrier = np.eye(4, dtype=bool)[::-1]  # anti-diagonal line
    t = terrain.walking_time(dem, 10, 10, [[0, 0]], barrier=barrier)
    assert np.isinf(t[3, 3])
    t16 = terrain.walking_time(dem, 10, 10, [[0, 0]], barrier=barrier, connectivity=16)
    assert np.isinf(t16[3, 3])


def test_max_slope_blocks_cliff() -> None:
    dem = np.array([[0.0, 0.0, 100.0, 100.0]])
    t = terrain.walking_time(dem, 30.0, 30.0, [[0, 0]], max_slope_deg=60.0)
    assert np.isfinite(t[0, 1]) and np.isinf(t[0, 2:]).all()
    t = terrain.walking_time(dem, 30.0, 30.0, [[0, 0]], max_slope_deg=80.0)
    assert np.isfinite(t).all()


def test_source_on_nodata() -> None:
    dem = np.zeros((3, 3))
    dem[1, 1] = np.nan
    t = terrain.walking_time(dem, 10, 10, [[1, 1]])
    assert t[1, 1] == 0.0 and np.isinf(t[dem == 0]).all()


def test_sixteen_neighbours_rounder() -> None:
    n = 61
    dem = np.zeros((n, n))
    c = n // 2
    rr, cc = np.mgrid[0:n, 0:n]
    euclid = np.hypot(rr - c, cc - c) * 10.0
    mask = (euclid > 0) & (euclid <= 250)
    errs = {}
    for conn in (8, 16):
        t = terrain.walking_time(dem, 10, 10, [[c, c]], connectivity=conn, offpath_factor=1.0)
        metres = t * FLAT_KMH / 3.6
        errs[conn] = np.max(np.abs(metres[mask] - euclid[mask]) / euclid[mask])
    assert errs[16] < errs[8]
    assert errs[16] < 0.03


def test_slope_degrees() -> None:
    rr, cc = np.mgrid[0:6, 0:7].astype(float)
    dem = cc * 10.0  # 10 m per 20 m eastward
    s = terrain.slope_degrees(dem, 20.0, 30.0)
    np.testing.assert_allclose(s[1:-1, 1:-1], np.degrees(np.arctan(0.5)))
    dem = rr * 30.0  # 30 m per 30 m southward
    np.testing.assert_allclose(terrain.slope_degrees(dem, 20.0, 30.0)[1:-1, 1:-1], 45.0)
    assert np.all(terrain.slope_degrees(np.zeros((3, 3)), 1, 1) == 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cell_size_x_m": 0.0}, "cell_size_x_m"),
        ({"cell_size_y_m": np.nan}, "cell_size_y_m"),
        ({"connectivity": 6}, "connectivity"),
        ({"barrier": np.zeros((2, 2), bool)}, "barrier"),
        ({"max_slope_deg": 0.0}, "max_slope_deg"),
        ({"offpath_factor": -1.0}, "offpath_factor"),
        ({"sources_rc": [[9, 0]]}, "outside"),
        ({"dem": np.zeros(3)}, "2-D"),
    ],
)
def test_validation(kwargs, match) -> None:
    args = {
        "dem": np.zeros((3, 3)),
        "cell_size_x_m": 10.0,
        "cell_size_y_m": 10.0,
        "sources_rc": [[0, 0]],
    }
    args.update(kwargs)
    dem = args.pop("dem")
    cx, cy, src = args.pop("cell_size_x_m"), args.pop("cell_size_y_m"), args.pop("sources_rc")
    with pytest.raises(ValidationError, match=match):
        terrain.walking_time(dem, cx, cy, src, **args)


@pytest.mark.parametrize("connectivity", [4, 8, 16])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("max_slope", [None, 30.0])
def test_bucketed_walk_equals_heap(connectivity, reverse, max_slope) -> None:
    from ynps_geo._kernels import grid as _grid

    rng = np.random.default_rng(7 + connectivity)
    dem = np.cumsum(rng.normal(0, 4, (40, 45)), axis=1) + rng.random((40, 45)) * 10
    dem[5, 5] = np.nan
    dem[20, 30] = -9999.0
    barrier = rng.random(dem.shape) < 0.07
    z, ok, tables, length_m, tan_max, spm = terrain._prepare(
        dem, 30.0, 25.0, connectivity, None, barrier, max_slope, -9999.0
    )
    src = np.array([[0, 0], [39, 44], [17, 3], [17, 3]])
    rows, cols = src[:, 0].copy(), src[:, 1].copy()
    for cutoff in (np.inf, 900.0):
        args = (z, ok, rows, cols, cutoff, *tables, length_m, tan_max, spm, reverse)
        heap = _grid.walking_time(*args, 1)
        bkt = _grid.walking_time(*args, 2)
        np.testing.assert_array_equal(bkt, heap)  # bit for bit
    # the bound on the slowest step really bounds every edge of the graph
    rise = _grid.max_step_rise(z, ok, tables[0], tables[1])
    _, _, w = terrain.walking_graph(
        dem,
        30.0,
        25.0,
        connectivity=connectivity,
        barrier=barrier,
        max_slope_deg=max_slope,
        nodata=-9999.0,
        reverse=reverse,
    )
    slope = np.minimum(rise / length_m, tan_max)
    bound = np.max(spm * length_m * np.exp(3.5 * (slope + 0.05)))
    assert w.max() <= bound * (1 + 1e-12)
    assert w.min() >= spm * length_m.min() * (1 - 1e-12)


def test_walk_steep_dem_falls_back_to_heap() -> None:
    # a 5 m step between 1 m cells is exp(3.5 * 5.05) ~ 5e7 times slower than flat
    # ground: too many buckets, so the heap path answers (with the same result)
    from ynps_geo._kernels import grid as _grid

    dem = np.zeros((4, 6))
    dem[:, 3:] = 5.0
    z, ok, tables, length_m, tan_max, spm = terrain._prepare(
        dem, 1.0, 1.0, 8, None, None, None, None
    )
    rise = _grid.max_step_rise(z, ok, tables[0], tables[1])
    wmax = np.max(spm * length_m * np.exp(3.5 * (rise / length_m + 0.05)))
    assert _grid.ring_plan(spm, wmax, dem.size)[1] == 0
    t = terrain.walking_time(dem, 1.0, 1.0, [[0, 0]], reverse=False)
    assert np.isfinite(t).all() and t[0, 3] > 1e5
    args = (z, ok, np.array([0]), np.array([0]), np.inf, *tables, length_m, tan_max, spm, False)
    np.testing.assert_array_equal(t, _grid.walking_time(*args, 1))


@pytest.mark.parametrize("shuffle", [False, True])
def test_bucketed_walk_equals_heap_large(shuffle) -> None:
    # many sources on a larger grid: the bucket-entry pool grows (the search loop stops
    # and resumes mid-bucket); shuffled move tables take the generic (ungrouped) path
    from ynps_geo._kernels import grid as _grid

    rng = np.random.default_rng(11)
    y, x = np.mgrid[0:260, 0:250] / 250.0
    dem = 300.0 * np.sin(6 * x + 2 * y) * np.cos(4 * y - x) + rng.normal(0, 2, x.shape)
    barrier = rng.random(dem.shape) < 0.05
    z, ok, tables, length_m, tan_max, spm = terrain._prepare(
        dem, 30.0, 30.0, 16, None, barrier, None, None
    )
    if shuffle:
        order = rng.permutation(len(length_m))
        tables = tuple(t[order].copy() for t in tables)
        length_m = length_m[order].copy()
    src = np.stack([rng.integers(0, 260, 300), rng.integers(0, 250, 300)], 1)
    rows, cols = src[:, 0].copy(), src[:, 1].copy()
    rise = _grid.max_step_rise(z, ok, tables[0], tables[1])
    wmax = np.max(spm * length_m * np.exp(3.5 * (rise / length_m + 0.05)))
    assert _grid.ring_plan(spm * length_m.min(), wmax, z.size)[1] > 0  # buckets apply
    args = (z, ok, rows, cols, np.inf, *tables, length_m, tan_max, spm, True)
    heap = _grid.walking_time(*args, 1)
    bkt = _grid.walking_time(*args, 2)
    np.testing.assert_array_equal(bkt, heap)  # bit for bit
    assert np.isfinite(bkt).mean() > 0.5
