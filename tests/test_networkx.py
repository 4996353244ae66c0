"""osmnx and networkx both ways: RoadNetwork.from_networkx / to_networkx."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from ynps_geo.network import RoadNetwork

ox = pytest.importorskip(
    "osmnx", reason="osmnx is an optional extra (pip install 'ynps-geo[osmnx]')"
)


@pytest.fixture(scope="module")
def osm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ynps_geo.datasets import generate_demo

    return generate_demo(tmp_path_factory.mktemp("nx-demo")).parent / "roads.osm"


def test_osmnx_graph_equals_the_osm_reader(osm_file: Path) -> None:
    from ynps_geo.io.osm import read_roads

    graph = ox.graph_from_xml(osm_file, simplify=False, retain_all=True)
    net = RoadNetwork.from_networkx(graph)
    ref = read_roads(osm_file)
    order = np.argsort(ref.node_id)
    assert np.array_equal(np.sort(net.node_id), ref.node_id[order])

    # same edges (node-id pairs; a two-way road in either direction) with the same classes,
    # speeds and one-way flags, and lengths equal to osmnx's great-circle lengths
    def table(n: RoadNetwork) -> tuple[list[tuple], np.ndarray]:
        a, b = n.node_id[n.u], n.node_id[n.v]
        lo = np.where(n.oneway, a, np.minimum(a, b))
        hi = np.where(n.oneway, b, np.maximum(a, b))
        spd = np.nan_to_num(n.speed_kmh, nan=-1).tolist()
        rows = list(
            zip(
                lo.tolist(),
                hi.tolist(),
                n.highway.tolist(),
                spd,
                n.oneway.tolist(),
                n.grade_separated.tolist(),
                strict=True,
            )
        )
        order = sorted(range(len(rows)), key=rows.__getitem__)
        return [rows[i] for i in order], n.length_m[order]

    (mine, mine_len), (theirs, theirs_len) = table(net), table(ref)
    assert mine == theirs
    np.testing.assert_allclose(mine_len, theirs_len, rtol=1e-3)


def test_round_trip_osmnx_to_networkx_to_graph_to_gdfs(osm_file: Path) -> None:
    graph = ox.graph_from_xml(osm_file, simplify=False, retain_all=True)
    net = RoadNetwork.from_networkx(graph)
    back = net.to_networkx()
    assert isinstance(back, nx.MultiDiGraph) and back.graph["crs"] == "EPSG:4326"
    nodes, edges = ox.graph_to_gdfs(back)
    assert len(nodes) == net.n_nodes
    assert len(edges) == net.n_edges + int((~net.oneway).sum())  # two arcs per two-way road
    assert {"osmid", "length", "speed_kph", "travel_time", "highway", "oneway"} <= set(edges)
    assert set(nodes.index) == set(graph.nodes)
    drivable = np.isfinite(edges["speed_kph"].to_numpy())
    np.testing.assert_allclose(
        edges["travel_time"].to_numpy()[drivable],
        edges["length"].to_numpy()[drivable] / (edges["speed_kph"].to_numpy()[drivable] / 3.6),
    )
    # the lengths osmnx measured survive the round trip
    assert edges["length"].sum() == pytest.approx(
        sum(d["length"] for *_, d in graph.edges(data=True)), rel=1e-9
    )
    again = RoadNetwork.from_networkx(back)
    assert again.n_edges == net.n_edges
    np.testing.assert_allclose(np.sort(again.length_m), np.sort(net.length_m))
    ax = ox.plot_graph(back, show=False, close=True)
    assert ax is not None


def test_speeds_come_from_speed_kph_then_travel_time(osm_file: Path) -> None:
    graph = ox.graph_from_xml(osm_file, simplify=False, retain_all=True)
    for _, _, d in graph.edges(data=True):
        d["speed_kph"] = 33.0
    net = RoadNetwork.from_networkx(graph)
    drive = np.isfinite(net.speed_kmh)
    assert drive.any() and np.allclose(net.speed_kmh[drive], 33.0)
    for _, _, d in graph.edges(data=True):
        del d["speed_kph"]
        d["travel_time"] = d["length"] / (12.0 / 3.6)
    net = RoadNetwork.from_networkx(graph)
    drive = np.isfinite(net.speed_kmh)
    assert np.allclose(net.speed_kmh[drive], 12.0)


def test_plain_networkx_graphs_and_projected_crs() -> None:
    g = nx.DiGraph(crs="EPSG:32647")
    g.add_node(1, x=500000.0, y=2800000.0)
    g.add_node(2, x=501000.0, y=2800000.0)
    g.add_edge(1, 2, highway="primary")
    net = RoadNetwork.from_networkx(g)
    assert net.n_edges == 1 and bool(net.oneway[0])  # an arc without oneway is one way
    assert 98 < net.lon[0] < 100 and 25 < net.lat[0] < 26
    assert net.length_m[0] == pytest.approx(1000.0, rel=2e-3)
    u = nx.Graph()
    u.add_node("a", x=100.0, y=25.0)
    u.add_node("b", x=100.01, y=25.0)
    u.add_edge("a", "b", highway="residential")
    net = RoadNetwork.from_networkx(u)
    assert not net.oneway[0] and list(net.node_id) == [0, 1]
    with pytest.raises(Exception, match="no crs"):
        bad = nx.Graph()
        bad.add_node(1, x=500000.0, y=2800000.0)
        bad.add_node(2, x=500100.0, y=2800000.0)
        bad.add_edge(1, 2)
        RoadNetwork.from_networkx(bad)


def test_bridges_tunnels_and_layers_are_grade_separated() -> None:
    g = nx.MultiDiGraph(crs="EPSG:4326")
    for k in range(6):
        g.add_node(k, x=100.0 + 0.01 * k, y=25.0)
    g.add_edge(0, 1, highway="primary", oneway=True, bridge="yes", length=1000.0)
    g.add_edge(1, 2, highway="primary", oneway=True, tunnel="yes", length=1000.0)
    g.add_edge(2, 3, highway="primary", oneway=True, layer="-1", length=1000.0)
    g.add_edge(3, 4, highway="primary", oneway=True, bridge="no", layer="0", length=1000.0)
    g.add_edge(4, 5, highway="primary", oneway=True, length=1000.0, maxspeed="30")
    net = RoadNetwork.from_networkx(g)
    assert net.grade_separated.tolist() == [True, True, True, False, False]
    assert net.speed_kmh[-1] == 30.0  # maxspeed caps the class speed
    assert net.speed_kmh[0] > 30.0
    back = RoadNetwork.from_networkx(net.to_networkx())
    assert back.grade_separated.tolist() == net.grade_separated.tolist()
