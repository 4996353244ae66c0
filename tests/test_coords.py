"""Tests for ynps_geo.io.coords: GCJ-02 / BD-09 transforms and declared CRSs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from ynps_geo._geo import haversine_m
from ynps_geo.errors import CRSError, ValidationError
from ynps_geo.io.coords import (
    CRSSpec,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    geometry_to_wgs84,
    out_of_china,
    parse_crs,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

YUNNAN_LON = st.floats(97.5, 106.2, allow_nan=False)
YUNNAN_LAT = st.floats(21.1, 29.3, allow_nan=False)


# Published reference values (wandergis/coordtransform README, reproduced by many ports).
def test_published_forward_pairs() -> None:
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-12)
    assert lat == pytest.approx(39.91640428150164, abs=1e-12)
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert lon == pytest.approx(116.41036949371029, abs=1e-12)
    assert lat == pytest.approx(39.92133699351021, abs=1e-12)
    lon, lat = wgs84_to_bd09(116.404, 39.915)
    assert lon == pytest.approx(116.41662724378733, abs=1e-12)
    assert lat == pytest.approx(39.922699552216216, abs=1e-12)


def test_published_inverse_pairs_within_their_approximation() -> None:
    # The published inverses are one-step approximations; ours iterate, so they agree only to
    # the approximation's own error (~1e-6 degree) while round-tripping exactly.
    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.39762729119315, abs=2e-6)
    assert lat == pytest.approx(39.90865673957631, abs=2e-6)
    back = gcj02_to_bd09(lon, lat)
    assert np.allclose(back, (116.404, 39.915), atol=1e-9)
    lon, lat = gcj02_to_wgs84(116.404, 39.915)
    assert lon == pytest.approx(116.39775550083061, abs=2e-5)
    assert lat == pytest.approx(39.91359571849836, abs=2e-5)
    assert np.allclose(wgs84_to_gcj02(lon, lat), (116.404, 39.915), atol=1e-9)


def test_offset_size_in_yunnan() -> None:
    lon, lat = wgs84_to_gcj02(102.71, 25.04)  # Kunming
    d = haversine_m(102.71, 25.04, lon, lat)
    assert 200 < float(d) < 800


def test_outside_china_is_identity() -> None:
    lon = np.array([-0.1246, 139.7, 100.5])
    lat = np.array([51.5007, 35.7, 13.75])  # London, Tokyo (outside box), Bangkok (inside box)
    assert out_of_china(lon, lat).tolist() == [True, True, False]
    glon, glat = wgs84_to_gcj02(lon[:2], lat[:2])
    assert np.array_equal(glon, lon[:2]) and np.array_equal(glat, lat[:2])
    wlon, wlat = gcj02_to_wgs84(lon[:2], lat[:2])
    assert np.array_equal(wlon, lon[:2]) and np.array_equal(wlat, lat[:2])


def test_vectorised_shapes_and_nan() -> None:
    lon = np.array([[100.0, 101.0], [102.0, np.nan]])
    lat = np.array([[25.0, 25.5], [26.0, 26.0]])
    for func in (
        wgs84_to_gcj02,
        gcj02_to_wgs84,
        gcj02_to_bd09,
        bd09_to_gcj02,
        bd09_to_wgs84,
        wgs84_to_bd09,
    ):
        out_lon, out_lat = func(lon, lat)
        assert out_lon.shape == (2, 2) and out_lat.shape == (2, 2)
        assert np.isnan(out_lon[1, 1])
        assert np.isfinite(out_lon[0]).all()
    # broadcasting a scalar latitude
    out_lon, _ = wgs84_to_gcj02([100.0, 101.0], 25.0)
    assert out_lon.shape == (2,)


@settings(max_examples=300, deadline=None)
@given(YUNNAN_LON, YUNNAN_LAT)
def test_gcj_round_trip_under_half_metre(lon: float, lat: float) -> None:
    glon, glat = wgs84_to_gcj02(lon, lat)
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    assert float(haversine_m(lon, lat, wlon, wlat)) < 0.5
    assert abs(float(wlon) - lon) < 1e-8 and abs(float(wlat) - lat) < 1e-8


@settings(max_examples=300, deadline=None)
@given(YUNNAN_LON, YUNNAN_LAT)
def test_bd_round_trips(lon: float, lat: float) -> None:
    blon, blat = wgs84_to_bd09(lon, lat)
    wlon, wlat = bd09_to_wgs84(blon, blat)
    assert float(haversine_m(lon, lat, wlon, wlat)) < 0.5
    glon, glat = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert float(haversine_m(lon, lat, glon, glat)) < 0.01


def test_round_trip_whole_bbox_grid() -> None:
    lon, lat = np.meshgrid(np.linspace(97.5, 106.2, 200), np.linspace(21.1, 29.3, 200))
    wlon, wlat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert haversine_m(lon, lat, wlon, wlat).max() < 0.001


@pytest.mark.parametrize(
    ("spec", "kind", "epsg"),
    [
        ("wgs84", "wgs84", 4326),
        ("WGS84", "wgs84", 4326),
        ("EPSG:4326", "wgs84", 4326),
        ("epsg:4326", "wgs84", 4326),
        (4326, "wgs84", 4326),
        ("cgcs2000", "cgcs2000", 4490),
        ("EPSG:4490", "cgcs2000", 4490),
        ("gcj02", "gcj02", None),
        ("GCJ-02", "gcj02", None),
        ("bd09", "bd09", None),
        ("EPSG:32648", "epsg", 32648),
        (32647, "epsg", 32647),
        ("4543", "epsg", 4543),
    ],
)
def test_parse_crs(spec: object, kind: str, epsg: int | None) -> None:
    parsed = parse_crs(spec)
    assert isinstance(parsed, CRSSpec)
    assert parsed.kind == kind
    if epsg is None:
        assert parsed.pyproj_crs is None
    else:
        assert parsed.pyproj_crs.to_epsg() == epsg
    assert parse_crs(parsed) is parsed


def test_parse_crs_from_pyproj() -> None:
    from pyproj import CRS

    assert parse_crs(CRS.from_epsg(4326)).kind == "wgs84"
    assert parse_crs(CRS.from_epsg(32648)).label == "EPSG:32648"


@pytest.mark.parametrize("bad", ["mercator", "EPSG:999999", "", None, True, 3.5])
def test_parse_crs_unknown(bad: object) -> None:
    with pytest.raises(CRSError, match="Accepted: wgs84, cgcs2000, gcj02, bd09") as info:
        parse_crs(bad)
    assert isinstance(info.value, ValidationError)


def test_geometry_to_wgs84_all_types() -> None:
    poly = shapely.Polygon(
        [(100, 25), (100.1, 25), (100.1, 25.1), (100, 25.1)],
        holes=[[(100.02, 25.02), (100.05, 25.02), (100.05, 25.05)]],
    )
    geoms = [
        shapely.Point(100.0, 25.0),
        shapely.LineString([(100, 25), (101, 26)]),
        poly,
        shapely.MultiPolygon([poly]),
        shapely.GeometryCollection([shapely.Point(100.0, 25.0)]),
        None,
    ]
    out = geometry_to_wgs84(gpd.GeoSeries(geoms, index=list("abcdef")), "gcj02")
    assert out.crs.to_epsg() == 4326
    assert list(out.index) == list("abcdef")
    assert out.iloc[5] is None
    src = shapely.get_coordinates(np.array(geoms[:5], dtype=object))
    dst = shapely.get_coordinates(np.asarray(out.values[:5], dtype=object))
    assert src.shape == dst.shape
    exp = np.column_stack(gcj02_to_wgs84(src[:, 0], src[:, 1]))
    assert np.allclose(dst, exp, atol=1e-12)
    assert out.iloc[2].interiors[0] is not None
    assert geometry_to_wgs84([geoms[0]], "wgs84").iloc[0].equals(geoms[0])
    bd = geometry_to_wgs84([shapely.Point(100, 25)], "bd09").iloc[0]
    assert np.allclose((bd.x, bd.y), [float(v) for v in bd09_to_wgs84(100, 25)])


def test_geometry_to_wgs84_epsg() -> None:
    out = geometry_to_wgs84([shapely.Point(500000.0, 2800000.0)], "EPSG:32648")
    lon, lat = Transformer.from_crs(32648, 4326, always_xy=True).transform(500000.0, 2800000.0)
    assert out.iloc[0].x == pytest.approx(lon) and out.iloc[0].y == pytest.approx(lat)


def test_real_counties_match_shipped_conversion(shared) -> None:
    """Our GCJ-02 -> WGS84 agrees with the shipped conversion to < 1 m at every vertex."""
    folder = "admin-yunnan-cnmaps-amap"
    gcj = gpd.read_file(shared.path(folder, "yunnan_counties_gcj02.geojson"))
    ref = gpd.read_file(shared.path(folder, "yunnan_counties_wgs84_from_gcj02.geojson"))
    assert list(gcj["adcode"]) == list(ref["adcode"])
    ours = geometry_to_wgs84(gcj.geometry, "gcj02")
    a = shapely.get_coordinates(np.asarray(ours.values, dtype=object))
    b = shapely.get_coordinates(np.asarray(ref.geometry.values, dtype=object))
    assert a.shape == b.shape and len(a) > 200_000
    err = haversine_m(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    # The shipped file is rounded to 6 decimals (~0.1 m): measured max ~0.08 m.
    assert err.max() < 1.0
    assert err.max() < 0.2
