"""Tests for ynps_geo.io.osm.read_roads on generated and real files."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from ynps_geo._geo import haversine_m
from ynps_geo.errors import DataQualityWarning, DataSourceError, ValidationError
from ynps_geo.io.osm import _osm_ways, read_roads
from ynps_geo.network import RoadNetwork

needs_osmium = pytest.mark.skipif(
    importlib.util.find_spec("osmium") is None, reason="osmium (optional) not installed"
)

# A tiny network near Dali. Node 6 is a bridge vertex at the same place as node 2 but a
# different OSM node: the bridge 4-6-5 crosses road 1-2-3 without a junction.
NODES = {
    1: (100.000, 25.000),
    2: (100.010, 25.000),
    3: (100.020, 25.000),
    4: (100.010, 24.995),
    5: (100.010, 25.005),
    6: (100.010, 25.000),
    7: (100.020, 25.005),
    8: (100.000, 25.005),
    9: (100.030, 25.010),
    10: (100.031, 25.010),
    11: (100.031, 25.011),
}
WAYS = [  # id, nodes, tags
    (10, [1, 2, 3], {"highway": "residential"}),
    (11, [4, 6, 5], {"highway": "primary", "bridge": "yes"}),
    (12, [3, 7], {"highway": "tertiary", "maxspeed": "60"}),
    (13, [7, 5], {"highway": "secondary", "oneway": "yes"}),
    (14, [1, 8, 5], {"highway": "footway"}),
    (15, [9, 10, 11, 9], {"building": "yes"}),
    (16, [3, 9], {"highway": "construction"}),
]


def osm_xml(nodes: dict[int, tuple[float, float]], ways: list) -> str:
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", "<osm version='0.6' generator='test'>"]
    for nid, (lon, lat) in nodes.items():
        lines.append(f"  <node id='{nid}' version='1' lat='{lat}' lon='{lon}'/>")
    for wid, refs, tags in ways:
        lines.append(f"  <way id='{wid}' version='1'>")
        lines += [f"    <nd ref='{r}'/>" for r in refs]
        lines += [f"    <tag k='{k}' v='{v}'/>" for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines)


def write_osm(tmp_path: Path, ways: list = WAYS, name: str = "tiny.osm") -> Path:
    p = tmp_path / name
    p.write_text(osm_xml(NODES, ways), encoding="utf-8")
    return p


def write_graphml(tmp_path: Path) -> Path:
    """Same roads as osmnx would save them: directed, both directions for two-way roads."""
    keys = [
        ("d0", "node", "x"),
        ("d1", "node", "y"),
        ("d2", "edge", "highway"),
        ("d3", "edge", "maxspeed"),
        ("d4", "edge", "oneway"),
        ("d5", "edge", "length"),
    ]
    out = ["<?xml version='1.0' encoding='utf-8'?>"]
    out.append("<graphml xmlns='http://graphml.graphdrawing.org/xmlns'>")
    out += [f"<key id='{k}' for='{f}' attr.name='{n}' attr.type='string'/>" for k, f, n in keys]
    out.append("<graph edgedefault='directed'>")
    for nid, (lon, lat) in NODES.items():
        out.append(
            f"<node id='{nid}'><data key='d0'>{lon}</data><data key='d1'>{lat}</data></node>"
        )
    for _, refs, tags in WAYS:
        hw = tags.get("highway")
        if hw is None or hw == "construction":
            continue
        oneway = tags.get("oneway") == "yes"
        for a, b in itertools.pairwise(refs):
            pairs = [(a, b)] if oneway else [(a, b), (b, a)]
            for s, t in pairs:
                data = f"<data key='d2'>{hw}</data><data key='d4'>{oneway}</data>"
                if "maxspeed" in tags:
                    data += f"<data key='d3'>{tags['maxspeed']}</data>"
                if hw == "footway":  # give some lengths, leave others to haversine
                    (x1, y1), (x2, y2) = NODES[s], NODES[t]
                    data += f"<data key='d5'>{float(haversine_m(x1, y1, x2, y2)):.4f}</data>"
                out.append(f"<edge source='{s}' target='{t}'>{data}</edge>")
    out.append("</graph></graphml>")
    p = tmp_path / "tiny.graphml"
    p.write_text("\n".join(out), encoding="utf-8")
    return p


def write_gpkg(tmp_path: Path, with_node_ids: bool, crs: str = "EPSG:4326") -> Path:
    rows = []
    for wid, refs, tags in WAYS:
        if "highway" not in tags:
            continue
        rows.append(
            {
                "osm_id": wid,
                "highway": tags["highway"],
                "maxspeed": tags.get("maxspeed"),
                "oneway": tags.get("oneway"),
                "node_ids": " ".join(map(str, refs)),
                "geometry": shapely.LineString([NODES[r] for r in refs]),
            }
        )
    gdf = gpd.GeoDataFrame(rows, crs="EPSG:4326").to_crs(crs)
    if not with_node_ids:
        gdf = gdf.drop(columns="node_ids")
    p = tmp_path / f"tiny_{with_node_ids}_{crs.replace(':', '')}.gpkg"
    gdf.to_file(p, layer="roads", engine="pyogrio")
    return p


def idx(net: RoadNetwork, osm_id: int) -> int:
    return int(np.flatnonzero(net.node_id == osm_id)[0])


def seg(a: int, b: int) -> float:
    return float(haversine_m(*NODES[a], *NODES[b]))


def times(net: RoadNetwork, mode: str) -> np.ndarray:
    """Shortest times between the named OSM nodes 1, 3, 4, 5, 7, 8 (by coordinates)."""
    names = [1, 3, 4, 5, 7, 8]
    lon = [NODES[n][0] for n in names]
    lat = [NODES[n][1] for n in names]
    from ynps_geo.network import nearest_nodes

    ii, dd = nearest_nodes(net, lon, lat)
    assert np.all(dd < 0.01)
    return dijkstra(net.to_scipy(mode), indices=ii)[:, ii]


# ---------------------------------------------------------------------- generated
@needs_osmium
def test_tiny_osm_topology_and_tags(tmp_path: Path) -> None:
    net = read_roads(write_osm(tmp_path))
    # building and construction dropped; 9, 10, 11 unused
    assert sorted(net.node_id.tolist()) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert net.n_edges == 2 + 2 + 1 + 1 + 2
    i = {n: idx(net, n) for n in NODES if n in set(net.node_id.tolist())}
    assert i[2] != i[6]  # same place, different nodes
    g = net.to_scipy("drive")
    d = dijkstra(g, indices=i[1])
    # maxspeed=60 is a limit: the tertiary road is driven at its class speed, 30
    expect = (seg(1, 2) + seg(2, 3)) / (20 / 3.6) + seg(3, 7) / (30 / 3.6) + seg(7, 5) / (35 / 3.6)
    assert d[i[5]] == pytest.approx(expect)  # no short cut over the bridge
    # the bridge end 4 is only reached over the bridge from 5, not from node 2 below it
    assert d[i[4]] == pytest.approx(d[i[5]] + (seg(5, 6) + seg(6, 4)) / (45 / 3.6))
    assert np.isinf(dijkstra(g, indices=i[5])[i[1]])  # oneway 7->5 and footway
    assert np.isfinite(dijkstra(g, indices=i[5])[i[4]])  # over the bridge
    w = dijkstra(net.to_scipy("walk"), indices=i[5])
    assert w[i[1]] == pytest.approx((seg(5, 8) + seg(8, 1)) / (5 / 3.6))
    e = int(np.flatnonzero(net.highway == "tertiary")[0])
    assert net.speed_kmh[e] == 30
    # the bridge is off the ground, the rest is not
    assert net.grade_separated[net.highway == "primary"].all()
    assert not net.grade_separated[net.highway != "primary"].any()
    assert np.isnan(net.speed_kmh[net.highway == "footway"]).all()


@needs_osmium
def test_osm_speed_is_class_speed_capped_by_maxspeed_and_access_precedence(
    tmp_path: Path,
) -> None:
    ways = [
        (30, [1, 2], {"highway": "tertiary", "maxspeed": "20"}),  # 20 < 30: capped
        (31, [2, 3], {"highway": "tertiary", "maxspeed": "80"}),  # a limit, not a speed
        (32, [3, 7], {"highway": "service", "access": "no", "motorcar": "yes"}),
        (33, [7, 5], {"highway": "service", "motor_vehicle": "no", "motorcar": "yes"}),
        (34, [5, 8], {"highway": "service", "vehicle": "no", "motor_vehicle": "yes"}),
        (35, [8, 1], {"highway": "service", "motorcar": "no", "vehicle": "yes"}),
        (36, [4, 6], {"highway": "service", "tunnel": "yes", "layer": "-1"}),
        (37, [6, 5], {"highway": "service", "covered": "yes"}),
        (38, [1, 4], {"highway": "service", "layer": "1"}),
        (39, [2, 4], {"highway": "service", "bridge": "no", "layer": "0"}),
    ]
    net = read_roads(write_osm(tmp_path, ways), speeds={"tertiary": 30, "service": 15})
    ids = [(int(net.node_id[a]), int(net.node_id[b])) for a, b in zip(net.u, net.v, strict=True)]
    e = {pair: k for k, pair in enumerate(ids)}
    assert net.speed_kmh[e[(1, 2)]] == 20
    assert net.speed_kmh[e[(2, 3)]] == 30
    # motorcar over motor_vehicle over vehicle over access
    assert net.speed_kmh[e[(3, 7)]] == 15
    assert net.speed_kmh[e[(7, 5)]] == 15
    assert net.speed_kmh[e[(5, 8)]] == 15
    assert np.isnan(net.speed_kmh[e[(8, 1)]])
    sep = {pair: bool(net.grade_separated[k]) for pair, k in e.items()}
    assert sep[(4, 6)] and sep[(6, 5)] and sep[(1, 4)]
    assert not sep[(2, 4)] and not sep[(1, 2)]


@needs_osmium
def test_osm_oneway_variants_and_access(tmp_path: Path) -> None:
    ways = [
        (20, [1, 2], {"highway": "residential", "oneway": "-1"}),
        (21, [2, 3], {"highway": "residential", "junction": "roundabout"}),
        (22, [3, 7], {"highway": "service", "access": "private"}),
        (23, [7, 5], {"highway": "motorway"}),
        (24, [5, 8], {"highway": "motorway", "oneway": "no"}),
        (25, [8, 1], {"highway": "track", "access": "no", "motor_vehicle": "yes"}),
        (26, [4, 6], {"highway": "pedestrian", "area": "yes"}),
    ]
    net = read_roads(write_osm(tmp_path, ways), speeds={"track": 8})
    by_hw = {
        (h, net.node_id[a], net.node_id[b]): k
        for k, (h, a, b) in enumerate(zip(net.highway, net.u, net.v, strict=True))
    }
    assert ("residential", 2, 1) in by_hw  # -1 stored reversed
    assert net.oneway[by_hw[("residential", 2, 1)]]
    assert net.oneway[by_hw[("residential", 2, 3)]]
    assert np.isnan(net.speed_kmh[by_hw[("service", 3, 7)]])  # private: walk only
    assert net.oneway[by_hw[("motorway", 7, 5)]] and not net.oneway[by_hw[("motorway", 5, 8)]]
    assert net.speed_kmh[by_hw[("track", 8, 1)]] == 8
    assert 4 not in net.node_id  # area=yes dropped
    assert net.edge_mask("drive").sum() == 5
    assert net.edge_mask("walk").sum() == 4


@needs_osmium
def test_graphml_and_gpkg_give_same_times(tmp_path: Path) -> None:
    ref = read_roads(write_osm(tmp_path))
    gml = read_roads(write_graphml(tmp_path))
    gpkg = read_roads(write_gpkg(tmp_path, with_node_ids=True))
    assert gml.n_edges == ref.n_edges == gpkg.n_edges
    assert sorted(gpkg.node_id.tolist()) == sorted(ref.node_id.tolist())
    for mode in ("drive", "walk"):
        t = times(ref, mode)
        np.testing.assert_allclose(times(gml, mode), t, rtol=1e-7)  # lengths given to 0.1 mm
        np.testing.assert_allclose(times(gpkg, mode), t, rtol=1e-9)
    # projected GeoPackage (CGCS2000 / 3-degree GK zone 33 = EPSG:4543? use UTM 47N)
    utm = read_roads(write_gpkg(tmp_path, with_node_ids=True, crs="EPSG:32647"))
    np.testing.assert_allclose(times(utm, "drive"), times(ref, "drive"), rtol=1e-6)


def test_gpkg_without_node_ids_joins_coordinates(tmp_path: Path) -> None:
    net = read_roads(write_gpkg(tmp_path, with_node_ids=False, crs="EPSG:32647"))
    # vertices joined by position: 7 distinct places (2 and 6 coincide -> one node)
    assert net.n_nodes == 7
    assert net.node_id.tolist() == list(range(7))
    d = dijkstra(net.to_scipy("drive"))
    assert np.isfinite(d).sum() > 20  # connected at shared end points


def test_vector_class_field_chinese_and_speed_field(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {
            "等级": ["县道", "村道", "四级公路"],
            "speed": [None, "30", None],
            "dir": ["否", "是", None],
        },
        geometry=[
            shapely.MultiLineString(
                [[(100.0, 25.0), (100.01, 25.0)], [(100.02, 25.0), (100.03, 25.0)]]
            ),
            shapely.LineString([(100.01, 25.0), (100.02, 25.0)]),
            shapely.LineString([(100.03, 25.0), (100.03, 25.01)]),
        ],
        crs="EPSG:4326",
    )
    p = tmp_path / "roads.shp"
    gdf.to_file(p, engine="pyogrio", encoding="utf-8")
    net = read_roads(p, class_field="等级", speed_field="speed", oneway_field="dir")
    assert net.n_edges == 4 and net.n_nodes == 5
    assert sorted(net.highway.tolist()) == [
        "secondary",
        "secondary",
        "unclassified",
        "unclassified",
    ]
    assert sorted(net.speed_kmh.tolist()) == [25.0, 30.0, 35.0, 35.0]
    assert net.oneway.sum() == 1
    with pytest.raises(ValidationError, match=r"class_field='grade' is not a column.*等级"):
        read_roads(p, class_field="grade")


def test_vector_unknown_class_warns(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"kind": ["mystery"]}, geometry=[shapely.LineString([(100, 25), (100.01, 25)])], crs=4326
    )
    p = tmp_path / "r.geojson"
    gdf.to_file(p, engine="pyogrio")
    with pytest.warns(DataQualityWarning, match="mystery"):
        net = read_roads(p, class_field="kind")
    assert net.highway.tolist() == ["road"]


def test_vector_gcj02_call_path(tmp_path: Path) -> None:
    pytest.importorskip("ynps_geo.io.coords")
    from ynps_geo.io.coords import wgs84_to_gcj02

    lon = np.array([100.0, 100.01, 100.02])
    lat = np.array([25.0, 25.0, 25.0])
    glon, glat = wgs84_to_gcj02(lon, lat)
    gdf = gpd.GeoDataFrame(
        {"highway": ["primary"]},
        geometry=[shapely.LineString(np.column_stack([glon, glat]))],
        crs=4326,  # labelled WGS84 although it is GCJ-02, as Amap exports often are
    )
    p = tmp_path / "amap.gpkg"
    gdf.to_file(p, engine="pyogrio")
    net = read_roads(p, crs="gcj02")
    np.testing.assert_allclose(np.sort(net.lon), lon, atol=1e-6)
    np.testing.assert_allclose(net.lat, lat, atol=1e-6)


# ---------------------------------------------------------------------- bad input
def test_missing_file_and_bad_extension(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="does not exist"):
        read_roads(tmp_path / "nope.osm.pbf")
    p = tmp_path / "roads.xlsx"
    p.write_bytes(b"x")
    with pytest.raises(ValidationError, match=r"not supported.*\.osm\.pbf.*\.graphml.*\.gpkg"):
        read_roads(p)


@needs_osmium
def test_osm_without_roads(tmp_path: Path) -> None:
    p = write_osm(tmp_path, [(15, [9, 10, 11, 9], {"building": "yes"})], "buildings.osm")
    with pytest.raises(ValidationError, match=r"no roads with a highway tag in .*buildings\.osm"):
        read_roads(p)
    p2 = write_osm(tmp_path, [(16, [3, 9], {"highway": "construction"})], "constr.osm")
    with pytest.raises(ValidationError, match="excluded"):
        read_roads(p2)


@needs_osmium
def test_osm_corrupt_file(tmp_path: Path) -> None:
    p = tmp_path / "broken.osm.pbf"
    p.write_bytes(b"this is not a pbf file at all" * 10)
    with pytest.raises((DataSourceError, ValidationError), match="broken"):
        read_roads(p)


def test_vector_points_and_bad_layer(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(100, 25)], crs=4326)
    p = tmp_path / "pts.gpkg"
    gdf.to_file(p, layer="pts", engine="pyogrio")
    with pytest.raises(ValidationError, match=r"pts\.gpkg has no lines.*Point"):
        read_roads(p)
    with pytest.raises(ValidationError, match="layer"):
        read_roads(p, layer="roads")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_vector_projected_without_crs(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"a": [1]}, geometry=[shapely.LineString([(5e5, 2.7e6), (5e5 + 100, 2.7e6)])]
    )
    p = tmp_path / "nocrs.geojson"
    gdf.to_file(p, engine="pyogrio")
    # GeoJSON is always written as WGS84 by GDAL; the numbers are not degrees
    with pytest.raises(ValidationError, match="crs="):
        read_roads(p)
    net = read_roads(p, crs="EPSG:32647")
    assert net.length_m[0] == pytest.approx(100, rel=2e-3)
    with pytest.raises(ValidationError, match="not recognised"):
        read_roads(p, crs="EPSG:999999")


def test_graphml_errors(tmp_path: Path) -> None:
    p = tmp_path / "bad.graphml"
    p.write_text("<graphml><graph", encoding="utf-8")
    with pytest.raises(DataSourceError, match=r"bad\.graphml"):
        read_roads(p)
    p.write_text("<graphml><graph edgedefault='undirected'><node id='a'/></graph></graphml>")
    with pytest.raises(ValidationError, match="x/y"):
        read_roads(p)


def test_bbox_outside(tmp_path: Path) -> None:
    p = write_gpkg(tmp_path, with_node_ids=True)
    net = read_roads(p, bbox=(99.99, 24.99, 100.005, 25.001))
    assert net.n_edges == 2  # 1-2 and 1-8 have node 1 inside
    with pytest.raises(ValidationError, match="no road inside bbox"):
        read_roads(p, bbox=(0, 0, 1, 1))


# ---------------------------------------------------------------------- real data
@needs_osmium
def test_liechtenstein_counts(shared: type) -> None:
    path = shared.path("liechtenstein-alps-osm", "liechtenstein-latest.osm.pbf")
    # every highway way, nothing excluded: SOURCE.md counts exactly
    raw = _osm_ways(path, keep_all=True)
    assert raw["way_len"].size == 4660 and raw["n_missing"] == 0
    refs, lens = raw["refs"], raw["way_len"]
    last = np.cumsum(lens) - 1
    a = np.delete(refs, last)[:]
    b = np.delete(np.roll(refs, -1), last)
    ok = a != b
    pairs = np.unique(np.column_stack([np.minimum(a, b), np.maximum(a, b)])[ok], axis=0)
    assert np.unique(refs).size == 54387 and pairs.shape[0] == 56014
    # read_roads drops one highway=rest_area way and area=yes ways (pedestrian squares):
    # 13 nodes and 15 segments fewer. Two overlapping ways share one segment, so 56,000
    # stored edges are 55,999 distinct node pairs.
    net = read_roads(path)
    assert net.n_nodes == 54374 and net.n_edges == 56000
    lo, hi = np.minimum(net.u, net.v), np.maximum(net.u, net.v)
    assert np.unique(np.column_stack([lo, hi]), axis=0).shape[0] == 55999
    n_comp, _ = net.component_labels()
    assert net.largest_component_mask().sum() >= 53700 and n_comp >= 20
    assert set(np.unique(net.highway)) >= {"residential", "track", "footway", "primary"}
    assert 0 < net.edge_mask("drive").sum() < net.edge_mask("walk").sum() == net.n_edges
    assert net.lon.min() > 9.47 and net.lon.max() < 9.64


def _pairs(net: RoadNetwork) -> int:
    lo, hi = np.minimum(net.u, net.v), np.maximum(net.u, net.v)
    return int(np.unique(np.column_stack([lo, hi]), axis=0).shape[0])


@needs_osmium
def test_andorra_pbf_matches_gpkg(shared: type, tmp_path: Path) -> None:
    folder = "andorra-pyrenees-osm-srtm3"
    pbf = read_roads(shared.path(folder, "andorra.osm.pbf"))
    raw = _osm_ways(shared.path(folder, "andorra.osm.pbf"), keep_all=True)
    assert np.unique(raw["refs"]).size == 38556  # SOURCE.md, every highway way
    gdf = gpd.read_file(shared.path(folder, "andorra_osm2013_highways.gpkg"), engine="pyogrio")
    # SOURCE.md counts include 2 highway=construction ways: relabel them to compare exactly
    gdf.loc[gdf["highway"] == "construction", "highway"] = "service"
    p = tmp_path / "andorra_all.gpkg"
    gdf.to_file(p, engine="pyogrio")
    every = read_roads(p)
    assert (every.n_nodes, _pairs(every)) == (38556, 38991)
    gp = read_roads(shared.path(folder, "andorra_osm2013_highways.gpkg"))
    assert (gp.n_nodes, gp.n_edges) == (38542, 38978)
    # the pbf also drops area=yes ways (the GPKG has no area column): 4 nodes fewer
    assert pbf.n_nodes == 38538 and set(pbf.node_id.tolist()) <= set(gp.node_id.tolist())
    common = np.flatnonzero(np.isin(gp.node_id, pbf.node_id))
    order = np.argsort(pbf.node_id)
    order_g = common[np.argsort(gp.node_id[common])]
    np.testing.assert_allclose(gp.lon[order_g], pbf.lon[order], atol=1e-7)
    # walking times agree exactly. Driving differs: the GPKG has no junction/motor_vehicle
    # columns, so roundabouts are not one way there (the pbf has more one-way edges).
    src = int(np.flatnonzero(pbf.largest_component_mask("walk"))[0])
    sid = pbf.node_id[src]
    d1 = dijkstra(pbf.to_scipy("walk"), indices=src)
    d2 = dijkstra(gp.to_scipy("walk"), indices=int(np.flatnonzero(gp.node_id == sid)[0]))
    np.testing.assert_allclose(d2[order_g], d1[order], rtol=1e-9)
    assert pbf.oneway.sum() > gp.oneway.sum()


def test_kathmandu_gpkg_counts(shared: type, tmp_path: Path) -> None:
    path = shared.path("kathmandu-worldpop-osm", "kathmandu_highways_osm2017.gpkg")
    net = read_roads(path)
    assert net.node_id.min() > 0  # OSM ids from node_ids
    assert 0 < net.edge_mask("drive").sum() < net.n_edges
    # one construction and one services way are excluded: 5 nodes fewer than SOURCE.md
    assert net.n_nodes == 37765
    gdf = gpd.read_file(path, engine="pyogrio")
    gdf.loc[gdf["highway"].isin(["construction", "services"]), "highway"] = "service"
    p = tmp_path / "ktm_all.gpkg"
    gdf.to_file(p, engine="pyogrio")
    every = read_roads(p)
    assert (every.n_nodes, _pairs(every)) == (37770, 40405)
    n_comp, labels = every.component_labels()
    assert n_comp == 167 and np.bincount(labels).max() == 36043


def test_kathmandu_coordinate_join_close_to_osm_ids(shared: type, tmp_path: Path) -> None:
    path = shared.path("kathmandu-worldpop-osm", "kathmandu_highways_osm2017.gpkg")
    gdf = gpd.read_file(path, engine="pyogrio").drop(columns="node_ids")
    p = tmp_path / "ktm_no_ids.gpkg"
    gdf.to_file(p, engine="pyogrio")
    net = read_roads(p)
    # joining by position merges OSM nodes that share a location (few): counts within 0.5 %
    assert abs(net.n_nodes - 37770) <= 0.005 * 37770
    assert net.n_nodes <= 37770


def test_vector_geofabrik_oneway_fclass_and_motor_vehicle(tmp_path: Path) -> None:
    # Geofabrik free shapefiles: class in fclass, oneway coded F (along), T (against), B (both)
    line = [(100.0, 25.0), (100.01, 25.0)]
    gdf = gpd.GeoDataFrame(
        {
            "fclass": ["primary", "track_grade3", "residential", "residential"],
            "oneway": ["F", "T", "B", "B"],
            "maxspeed": [0, 0, 0, 0],
            "motor_vehicle": [None, None, None, "no"],
        },
        geometry=[shapely.LineString([(x + i * 0.1, y) for x, y in line]) for i in range(4)],
        crs="EPSG:4326",
    )
    p = tmp_path / "gis_osm_roads_free_1.gpkg"
    gdf.to_file(p, engine="pyogrio")
    net = read_roads(p)
    assert net.highway.tolist() == ["primary", "track", "residential", "residential"]
    assert net.oneway.tolist() == [True, True, False, False]
    west = net.lon[net.u] < net.lon[net.v]
    assert west.tolist() == [True, False, True, True]  # T: stored against the digitising
    assert np.isnan(net.speed_kmh[3]) and np.isfinite(net.speed_kmh[:3]).all()


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_vector_projected_without_crs_names_gauss_kruger_zone(tmp_path: Path) -> None:
    # transport-bureau lines in CGCS2000 3-degree GK zone 34 (x carries the zone number)
    gdf = gpd.GeoDataFrame(
        {"等级": ["县道"]},
        geometry=[shapely.LineString([(34_500_000, 2_800_000), (34_501_000, 2_800_000)])],
    )
    p = tmp_path / "roads.gpkg"
    gdf.to_file(p, engine="pyogrio")
    with pytest.raises(ValidationError, match=r"EPSG:4522.*zone 34"):
        read_roads(p, class_field="等级")
    net = read_roads(p, class_field="等级", crs="EPSG:4522")
    assert 101.9 < net.lon.min() < 102.1
