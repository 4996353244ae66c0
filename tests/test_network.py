"""Tests for ynps_geo.network (arrays, CSR, clipping, snapping)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from ynps_geo import settings
from ynps_geo._geo import haversine_m
from ynps_geo.errors import ValidationError
from ynps_geo.network import MIN_WEIGHT, RoadNetwork, nearest_nodes


def small() -> RoadNetwork:
    """0 -1 -2 residential, 2->3 oneway primary, 3-4 motorway, 0-5 footway, 6 isolated pair."""
    lon = np.array([100.0, 100.01, 100.02, 100.03, 100.04, 100.0, 101.0, 101.01])
    lat = np.array([25.0, 25.0, 25.0, 25.0, 25.0, 25.01, 26.0, 26.0])
    u = np.array([0, 1, 2, 3, 0, 6])
    v = np.array([1, 2, 3, 4, 5, 7])
    hw = ["residential", "residential", "primary", "motorway", "footway", "track"]
    ow = [False, False, True, False, False, False]
    return RoadNetwork.from_edges(lon, lat, u, v, highway=hw, oneway=ow, name="small")


def graph(net: RoadNetwork, **kw: object) -> sp.csr_matrix:
    indptr, indices, w = net.to_csr(**kw)  # type: ignore[arg-type]
    assert indptr.dtype == np.int64 and indices.dtype == np.int64 and w.dtype == np.float64
    return sp.csr_matrix((w, indices, indptr), shape=(net.n_nodes, net.n_nodes))


def test_from_edges_defaults() -> None:
    net = small()
    assert (net.n_nodes, net.n_edges) == (8, 6)
    assert net.speed_kmh[0] == 20 and net.speed_kmh[2] == 45
    assert np.isnan(net.speed_kmh[4])  # footway: walk only
    assert net.length_m[0] == pytest.approx(haversine_m(100.0, 25.0, 100.01, 25.0))
    assert net.node_id.tolist() == list(range(8))


def test_drive_csr_oneway_and_walk_only() -> None:
    net = small()
    g = graph(net, mode="drive")
    d = dijkstra(g, indices=0)
    expect = net.length_m[0] / (20 / 3.6) + net.length_m[1] / (20 / 3.6)
    assert d[2] == pytest.approx(expect)
    assert np.isfinite(d[4])
    assert np.isinf(d[5])  # footway not driven
    back = dijkstra(g, indices=4)
    assert np.isinf(back[0])  # against the oneway 2->3
    rev = dijkstra(graph(net, mode="drive", reverse=True), indices=4)
    assert rev[0] == pytest.approx(d[4])  # time from 0 TO 4


def test_walk_csr(monkeypatch: pytest.MonkeyPatch) -> None:
    net = small()
    monkeypatch.setattr(settings, "walking_speed_kmh", 4.0)
    g = graph(net, mode="walk")
    d = dijkstra(g, indices=3)
    assert np.isinf(d[4])  # motorway: no pedestrians
    assert d[0] == pytest.approx(net.length_m[:3].sum() / (4 / 3.6))  # oneway ignored
    assert d[5] == pytest.approx(d[0] + net.length_m[4] / (4 / 3.6))
    g5 = graph(net, mode="walk", walking_speed_kmh=5.0)
    assert dijkstra(g5, indices=3)[0] == pytest.approx(d[0] * 4 / 5)
    gl = graph(net, mode="walk", weight="length")
    assert dijkstra(gl, indices=0)[2] == pytest.approx(net.length_m[:2].sum())


def test_csr_dedup_selfloop_and_min_weight() -> None:
    lon = np.array([100.0, 100.0, 100.01])
    lat = np.array([25.0, 25.0, 25.0])
    u = np.array([0, 0, 1, 1, 2])
    v = np.array([1, 1, 2, 1, 1])
    net = RoadNetwork.from_edges(
        lon, lat, u, v, length_m=[0.0, 0.0, 500.0, 3.0, 900.0], highway="road"
    )
    indptr, indices, w = net.to_csr("drive", "length")
    g = sp.csr_matrix((w, indices, indptr), shape=(3, 3))
    assert g[0, 1] == MIN_WEIGHT  # distinct nodes at the same place stay distinct
    assert g[1, 2] == 500.0 and g[2, 1] == 500.0  # parallel edges: lightest kept
    assert g[1, 1] == 0 and g.nnz == 4


def test_bad_inputs() -> None:
    net = small()
    with pytest.raises(ValidationError, match="mode"):
        net.to_csr("fly")
    with pytest.raises(ValidationError, match="weight"):
        net.to_csr("drive", weight="cost")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="walking speed"):
        net.to_csr("walk", walking_speed_kmh=0)
    with pytest.raises(ValidationError, match="node indices"):
        RoadNetwork.from_edges([0.0], [0.0], [0], [3])
    with pytest.raises(ValidationError, match="do not match"):
        RoadNetwork(
            np.zeros(2), np.zeros(3), np.zeros(2), [0], [1], [1.0], ["road"], [20.0], [False]
        )
    with pytest.raises(ValidationError, match="minx"):
        net.clip((101, 25, 100, 26))


def test_clip_reindexes() -> None:
    net = small()
    c = net.clip((99.99, 24.99, 100.015, 25.02))
    # edges with an end inside: 0-1, 1-2, 0-5
    assert c.n_edges == 3 and c.n_nodes == 4
    assert sorted(c.node_id.tolist()) == [0, 1, 2, 5]
    assert c.lon[c.u].tolist() == net.lon[net.u[[0, 1, 4]]].tolist()
    assert c.highway.tolist() == ["residential", "residential", "footway"]


def test_components_and_nearest() -> None:
    net = small()
    big = net.largest_component_mask()
    assert big.tolist() == [True] * 6 + [False, False]
    assert net.largest_component_mask("drive")[:5].all()
    idx, dist = nearest_nodes(net, [100.0005, 100.0], [25.0, 25.0099])
    assert idx.tolist() == [0, 5]
    assert dist[0] == pytest.approx(haversine_m(100.0005, 25.0, 100.0, 25.0))
    idx_d, _ = nearest_nodes(net, 100.0, 25.0099, mode="drive")
    assert int(idx_d) == 0  # node 5 is only on a footway
    assert idx_d.shape == ()
    with pytest.raises(ValidationError, match="NaN"):
        nearest_nodes(net, [np.nan], [25.0])


def test_to_geodataframe() -> None:
    gdf = small().to_geodataframe()
    assert len(gdf) == 6 and gdf.crs.to_epsg() == 4326
    assert list(gdf.geometry.iloc[0].coords) == [(100.0, 25.0), (100.01, 25.0)]
    assert {"u", "v", "u_id", "v_id", "highway", "length_m", "speed_kmh", "oneway"} <= set(gdf)


def test_liechtenstein_csgraph_matches_networkx(shared: type) -> None:
    from ynps_geo.io.osm import read_roads

    net = read_roads(shared.path("liechtenstein-alps-osm", "liechtenstein-latest.osm.pbf"))
    g = net.to_scipy("drive")
    big = np.flatnonzero(net.largest_component_mask("drive"))
    rng = np.random.default_rng(7)
    src, dst = rng.choice(big, 2, replace=False)
    d = dijkstra(g, indices=int(src))
    gx = net.to_networkx("drive")  # an osmnx-style MultiDiGraph keyed by OSM node id
    ids = net.node_id
    lengths = nx.single_source_dijkstra_path_length(gx, int(ids[src]), weight="weight")
    reach = np.flatnonzero(np.isfinite(d))
    assert len(lengths) == reach.size
    assert d[dst] == pytest.approx(lengths.get(int(ids[dst]), np.inf))
    some = rng.choice(reach, 200)
    assert np.allclose(d[some], [lengths[int(ids[i])] for i in some])
    # reverse graph: time from every node TO dst
    r = dijkstra(net.to_scipy("drive", reverse=True), indices=int(dst))
    assert r[src] == pytest.approx(dijkstra(g, indices=int(src))[dst])
