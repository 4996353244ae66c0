"""One trip across modes: hand-computed cases and a brute-force check."""

from __future__ import annotations

import numpy as np
import pytest

from ynps_geo.engine import TravelEngine
from ynps_geo.model.grid import GridSpec
from ynps_geo.network import RoadNetwork

FLAT_OFFROAD_MPS = 6.0 * np.exp(-3.5 * 0.05) * 0.6 / 3.6
EPSG = 32647


def _grid(n: int = 10, res: float = 100.0) -> GridSpec:
    # a patch of UTM 47N near Dali: x0 = 400 km, y0 = 2,850 km
    return GridSpec(EPSG, 400_000.0, 2_850_000.0 + n * res, res, n, n)


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    tr = Transformer.from_crs(f"EPSG:{EPSG}", "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def test_offroad_walk_on_flat_ground_is_hand_computable() -> None:
    g = _grid()
    cx, cy = g.centres(np.array([0, 0]), np.array([0, 9]))
    eng = TravelEngine.build(g, None, None, (cx[:1], cy[:1]), (cx[1:], cy[1:]))
    d, n = eng.search("walk", [np.array([0])])
    # village and facility at cell centres 900 m apart along a row
    assert eng.village_values(d)[0, 0] == pytest.approx(900.0 / FLAT_OFFROAD_MPS, rel=1e-9)
    assert eng.village_values(n)[0, 0] == 0
    # distance mode: metres
    d, _ = eng.search("distance", [np.array([0])])
    assert eng.village_values(d)[0, 0] == pytest.approx(900.0, rel=1e-9)


def _straight_road_case() -> tuple[GridSpec, RoadNetwork, TravelEngine]:
    """A straight east-west road (row 20, columns 2-37, a node every 100 m, 36 km/h), a
    village 300 m north of its west end and a facility 200 m south of its east end."""
    g = _grid(n=40)
    cols = np.arange(2, 38)
    rx, ry = g.centres(np.full(len(cols), 20), cols)
    lon, lat = _lonlat(rx, ry)
    n = len(cols)
    net = RoadNetwork.from_edges(
        lon,
        lat,
        np.arange(n - 1),
        np.arange(1, n),
        highway=np.array(["secondary"] * (n - 1), dtype=object),
        speed_kmh=np.full(n - 1, 36.0),
    )
    vx, vy = g.centres(np.array([17]), np.array([2]))
    fx, fy = g.centres(np.array([22]), np.array([37]))
    return g, net, TravelEngine.build(g, None, net, (vx, vy), (fx, fy))


def test_road_trip_walks_on_and_off_the_road() -> None:
    _, net, eng = _straight_road_case()
    d, _ = eng.search("drive", [np.array([0])])
    t = eng.village_values(d)[0, 0]
    road_m = float(net.length_m.sum())
    expected = (300.0 + 200.0) / FLAT_OFFROAD_MPS + road_m / (36.0 / 3.6)
    # the road leg is driven, the two legs are walked (not teleported)
    assert t == pytest.approx(expected, rel=2e-3)
    # walking along the road is slower than driving it, faster than off-road
    dw, _ = eng.search("walk", [np.array([0])])
    tw = eng.village_values(dw)[0, 0]
    assert t < tw < (300 + 200 + 3500) / FLAT_OFFROAD_MPS


def test_uphill_differs_from_downhill_and_direction_is_village_to_facility() -> None:
    g = _grid(n=20)
    # a plane rising 10% to the east
    xs = g.centres(np.zeros(g.width, int), np.arange(g.width))[0]
    dem = np.tile((xs - xs[0]) * 0.10, (g.height, 1))
    low_x, low_y = g.centres(np.array([10]), np.array([2]))
    high_x, high_y = g.centres(np.array([10]), np.array([17]))
    # village low, facility high: walking uphill
    up = TravelEngine.build(g, dem, None, (low_x, low_y), (high_x, high_y))
    d_up = up.village_values(up.search("walk", [np.array([0])])[0])[0, 0]
    down = TravelEngine.build(g, dem, None, (high_x, high_y), (low_x, low_y))
    d_down = down.village_values(down.search("walk", [np.array([0])])[0])[0, 0]
    assert d_up > d_down
    v_up = 6 * np.exp(-3.5 * abs(0.10 + 0.05)) * 0.6 / 3.6
    v_down = 6 * np.exp(-3.5 * abs(-0.10 + 0.05)) * 0.6 / 3.6
    assert d_up == pytest.approx(1500 / v_up, rel=1e-9)
    assert d_down == pytest.approx(1500 / v_down, rel=1e-9)


def test_nearest_of_many_equals_brute_force() -> None:
    rng = np.random.default_rng(5)
    g = _grid(n=30)
    dem = rng.uniform(0, 80, g.shape)
    vx, vy = rng.uniform(400_000, 403_000, 25), rng.uniform(2_850_000, 2_853_000, 25)
    fx, fy = rng.uniform(400_000, 403_000, 6), rng.uniform(2_850_000, 2_853_000, 6)
    eng = TravelEngine.build(g, dem, None, (vx, vy), (fx, fy))
    d, n = eng.search("walk", [np.arange(6)])
    dv, nv = eng.village_values(d)[0], eng.village_values(n)[0]
    alone = np.stack(
        [eng.village_values(eng.search("walk", [np.array([i])])[0])[0] for i in range(6)]
    )
    np.testing.assert_allclose(dv, alone.min(axis=0), rtol=1e-12)
    np.testing.assert_allclose(alone[nv, np.arange(25)], dv, rtol=1e-12)


def test_trip_splits_into_road_and_offroad_parts() -> None:
    g, net, eng = _straight_road_case()
    d, _ = eng.search("drive", [np.array([0])])
    total = eng.village_values(d)[0, 0]
    road = eng.village_values(eng.road_part("drive", d[0]))[0]
    assert road == pytest.approx(float(net.length_m.sum()) / 10.0, rel=1e-9)
    assert total - road == pytest.approx(500.0 / FLAT_OFFROAD_MPS, rel=2e-3)
    # a trip that never touches a road has no road part
    v, f = eng.villages, eng.facilities
    eng2 = TravelEngine.build(g, None, None, (v.x, v.y), (f.x, f.y))
    d2, _ = eng2.search("walk", [np.array([0])])
    assert eng2.village_values(eng2.road_part("walk", d2[0]))[0] == 0.0


def test_barriers_force_a_detour_and_cliffs_can_be_closed() -> None:
    g = _grid(n=11)
    cx, cy = g.centres(np.array([5, 5]), np.array([1, 9]))
    free = TravelEngine.build(g, None, None, (cx[:1], cy[:1]), (cx[1:], cy[1:]))
    walled = TravelEngine.build(g, None, None, (cx[:1], cy[:1]), (cx[1:], cy[1:]))
    wall = np.zeros(g.shape, dtype=bool)
    wall[1:, 5] = True  # a river from the bottom edge up to row 1: walk round through row 0
    walled.barrier = wall
    d_free = free.village_values(free.search("distance", [np.array([0])])[0])[0, 0]
    d_wall = walled.village_values(walled.search("distance", [np.array([0])])[0])[0, 0]
    assert d_free == pytest.approx(800.0)
    # detour through the gap at (0, 5): up 5 rows and across 4 columns (4 diagonal steps and
    # one straight), then the same down again
    assert d_wall == pytest.approx(2 * (4 * 100.0 * np.sqrt(2) + 100.0), rel=1e-9)
    # a cliff: with max_slope_deg the steep step is closed, without it walking is only slow
    dem = np.zeros(g.shape)
    dem[:, 5:] = 300.0  # a 300 m step between columns 4 and 5 (71 degrees)
    slow = TravelEngine.build(g, dem, None, (cx[:1], cy[:1]), (cx[1:], cy[1:]))
    closed = TravelEngine.build(g, dem, None, (cx[:1], cy[:1]), (cx[1:], cy[1:]))
    closed.max_slope_deg = 45.0
    assert np.isfinite(slow.village_values(slow.search("walk", [np.array([0])])[0])[0, 0])
    assert np.isinf(closed.village_values(closed.search("walk", [np.array([0])])[0])[0, 0])


def _road(
    g: GridSpec, rows: np.ndarray, cols: np.ndarray, u: list[int], v: list[int]
) -> RoadNetwork:
    rx, ry = g.centres(rows, cols)
    lon, lat = _lonlat(rx, ry)
    return RoadNetwork.from_edges(
        lon,
        lat,
        np.array(u),
        np.array(v),
        highway=np.array(["secondary"] * len(u), dtype=object),
        speed_kmh=np.full(len(u), 36.0),
    )


def test_road_part_with_zero_cost_links_terminates() -> None:
    """A road node exactly at its cell's centre is linked to the cell at zero cost both ways;
    the shortest-path tree recovered from the distances must not loop between the two."""
    import threading

    g = _grid()
    rows, cols = np.array([5, 5, 5, 0]), np.array([4, 7, 1, 1])
    net = _road(g, rows, cols, [0, 2], [1, 3])
    vx, vy = g.centres(np.array([5]), np.array([9]))
    fx, fy = g.centres(np.array([5]), np.array([0]))
    eng = TravelEngine.build(g, None, net, (vx, vy), (fx, fy))
    eng._road_xy = g.centres(rows, cols)  # exactly at the centres: zero-cost links
    d, _ = eng.search("walk", [np.array([0])])
    out: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: out.append(eng.road_part("walk", d[0])), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert out, "road_part did not finish (a cycle in the recovered tree)"
    road = eng.village_values(out[0])[0]
    # the trip walks the 300 m road between columns 4 and 7
    assert road == pytest.approx(float(net.length_m[0]) / (5.0 / 3.6), rel=1e-9)
    assert 0.0 < road < eng.village_values(d)[0, 0]


def test_points_on_barrier_cells_are_snapped_and_far_roads_are_reached_over_terrain() -> None:
    g = _grid(n=11)
    wall = np.zeros(g.shape, dtype=bool)
    wall[:, 5] = True  # a river across the whole grid
    # a village standing on a cell marked as barrier (a pond) still walks to its facility,
    # from the nearest passable cell
    pond = np.zeros(g.shape, dtype=bool)
    pond[5, 5] = True
    vx, vy = g.centres(np.array([5]), np.array([5]))
    fx, fy = g.centres(np.array([5]), np.array([9]))
    eng = TravelEngine.build(g, None, None, (vx, vy), (fx, fy))
    eng.barrier = pond
    d = eng.village_values(eng.search("distance", [np.array([0])])[0])[0, 0]
    # 100 m to a neighbouring cell, then round the pond (depending on the neighbour taken)
    assert np.isfinite(d) and 400.0 - 1e-6 <= d <= 800.0
    # a road beyond the river is not reached by walking straight across it
    net = _road(g, np.array([5, 5]), np.array([7, 8]), [0], [1])
    vx, vy = g.centres(np.array([5]), np.array([2]))
    eng = TravelEngine.build(g, None, net, (vx, vy), (fx, fy))
    eng.barrier = wall
    for mode in ("walk", "drive", "distance"):
        d = eng.village_values(eng.search(mode, [np.array([0])])[0])[0, 0]
        assert np.isinf(d), mode


def test_changing_a_setting_after_a_search_rebuilds_the_graph() -> None:
    g = _grid(n=11)
    cx, cy = g.centres(np.array([5, 5]), np.array([1, 9]))
    eng = TravelEngine.build(g, None, None, (cx[:1], cy[:1]), (cx[1:], cy[1:]))
    before = eng.village_values(eng.search("walk", [np.array([0])])[0])[0, 0]
    eng.offroad_factor = 0.3  # half as fast off-road: twice the time
    after = eng.village_values(eng.search("walk", [np.array([0])])[0])[0, 0]
    assert after == pytest.approx(2 * before, rel=1e-9)
    wall = np.zeros(g.shape, dtype=bool)
    wall[:, 5] = True
    eng.barrier = wall
    assert np.isinf(eng.village_values(eng.search("walk", [np.array([0])])[0])[0, 0])
