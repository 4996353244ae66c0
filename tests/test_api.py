"""The Python API: ``ynps_geo.analyze`` on objects equals the YAML route on the same data.

One demo county is generated per module and analysed once through ``workflows.run`` (the
YAML route, files); every test then hands the same data over as objects of one accepted
kind (DataFrames, GeoDataFrames in other CRSs, osmnx graphs, GeoDataFrame pairs, rasterio
datasets, DataArrays, arrays) and compares the results column by column.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import ynps_geo
from ynps_geo.errors import ConfigError, CRSError, DataQualityWarning, ValidationError

STANDARDS = ["health_15min", "basic_services_90min_rural", "school_walk"]
OPTIONS = {"resolution_m": 250, "facility_isochrones": "none"}
VILLAGE_KEYS = {
    "villages_crs": "wgs84",
    "villages_x": "lon",
    "villages_y": "lat",
    "villages_id": "code",
    "villages_name": "name",
    "villages_population": "pop",
    "setting": "setting",
}
FACILITY_KEYS = {
    "facilities_crs": "gcj02",
    "facilities_x": "lng",
    "facilities_y": "lat",
    "facilities_id": "fid",
    "facilities_name": "name",
    "category_field": "type",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo county's files, a config restricted to three standards, and its result."""
    from ynps_geo import workflows
    from ynps_geo.config import load_config
    from ynps_geo.datasets import generate_demo

    folder = tmp_path_factory.mktemp("api-demo")
    config = generate_demo(folder)
    text = config.read_text(encoding="utf-8")
    text = text.replace("standards:", "# standards:")
    text += f"standards: [{', '.join(STANDARDS)}]\n"
    text += "".join(f"{k}: {v}\n" for k, v in OPTIONS.items())
    config.write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        result = workflows.run(load_config(config))
    return {"dir": folder, "result": result}


def _frames(d: Path) -> tuple[pd.DataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    return (
        pd.read_csv(d / "villages.csv", dtype=str),
        pd.read_csv(d / "facilities.csv", dtype=str),
        gpd.read_file(d / "boundary.geojson"),
    )


def _analyze(*args: Any, **kwargs: Any) -> ynps_geo.Result:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return ynps_geo.analyze(*args, standards=STANDARDS, progress=False, **OPTIONS, **kwargs)


def _assert_same(ref: Any, got: ynps_geo.Result, rtol: float = 0.0) -> None:
    pd.testing.assert_frame_equal(ref.coverage, got.coverage, rtol=max(rtol, 1e-12))
    a = pd.DataFrame(ref.villages.drop(columns="geometry"))
    b = pd.DataFrame(got.villages.drop(columns="geometry"))
    pd.testing.assert_frame_equal(a, b, rtol=max(rtol, 1e-12))
    assert np.allclose(ref.villages.geometry.x, got.villages.geometry.x, atol=1e-9)
    assert got.coverage.columns.tolist()[:4] == [
        "county",
        "standard_id",
        "population",
        "population_covered",
    ]


def test_dataframes_and_paths_equal_the_yaml_route(
    demo: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    d = demo["dir"]
    villages, facilities, boundary = _frames(d)
    got = _analyze(
        villages,
        facilities,
        boundaries=boundary,
        roads=d / "roads.osm",
        dem=str(d / "dem.tif"),
        population=d / "population.tif",
        name_field="name",
        **VILLAGE_KEYS,
        **FACILITY_KEYS,
    )
    _assert_same(demo["result"], got)
    assert "searches" not in capsys.readouterr().err  # progress=False: no bars
    assert isinstance(got, ynps_geo.Result)
    assert {c for c in got.villages.columns if c.startswith("health_15min")} >= {
        "health_15min_minutes",
        "health_15min_covered",
    }


def test_geodataframes_graphs_and_raster_objects_equal_the_yaml_route(
    demo: dict[str, Any],
) -> None:
    ox = pytest.importorskip(
        "osmnx", reason="osmnx is an optional extra (pip install 'ynps-geo[osmnx]')"
    )
    rasterio = pytest.importorskip("rasterio")
    rioxarray = pytest.importorskip("rioxarray", reason="DataArray inputs need rioxarray")
    d = demo["dir"]
    villages, facilities, boundary = _frames(d)
    # villages in a projected CRS, facilities as a GeoDataFrame holding GCJ-02 degrees
    v = gpd.GeoDataFrame(
        villages,
        geometry=gpd.points_from_xy(villages["lon"].astype(float), villages["lat"].astype(float)),
        crs="EPSG:4326",
    ).to_crs("EPSG:32647")
    f = gpd.GeoDataFrame(
        facilities,
        geometry=gpd.points_from_xy(
            facilities["lng"].astype(float), facilities["lat"].astype(float)
        ),
        crs="EPSG:4326",
    )
    graph = ox.graph_from_xml(d / "roads.osm", simplify=False, retain_all=True)
    population = rioxarray.open_rasterio(d / "population.tif", masked=False).squeeze()
    with rasterio.open(d / "dem.tif") as dem:
        got = _analyze(
            v,
            f,
            boundaries=boundary.to_crs("EPSG:3857"),
            roads=graph,
            dem=dem,
            population=population,
            villages_id="code",
            villages_name="name",
            villages_population="pop",
            setting="setting",
            facilities_crs="gcj02",
            facilities_id="fid",
            facilities_name="name",
            category_field="type",
            name_field="name",
        )
    # osmnx measures edge lengths itself (great circle, to the millimetre): times agree to 1e-6
    _assert_same(demo["result"], got, rtol=1e-6)


def test_array_rasters_and_a_graph_pair_equal_the_yaml_route(demo: dict[str, Any]) -> None:
    ox = pytest.importorskip("osmnx", reason="osmnx is an optional extra")
    import rasterio
    from rasterio.io import MemoryFile

    d = demo["dir"]
    villages, facilities, boundary = _frames(d)
    graph = ox.graph_from_xml(d / "roads.osm", simplify=False, retain_all=True)
    with rasterio.open(d / "population.tif") as src:
        pop = (src.read(1), src.transform, src.crs, src.nodata)
    with rasterio.open(d / "dem.tif") as src, MemoryFile() as mem:
        profile = src.profile
        data = src.read()
        with mem.open(**profile) as dem:  # a dataset with no file behind it
            dem.write(data)
            got = _analyze(
                villages,
                facilities,
                boundaries=boundary,
                roads=ox.graph_to_gdfs(graph),
                dem=dem,
                population=pop,
                name_field="name",
                **VILLAGE_KEYS,
                **FACILITY_KEYS,
            )
    _assert_same(demo["result"], got, rtol=1e-6)  # osmnx's own edge lengths, as above


@pytest.mark.parametrize(
    ("change", "keys"),
    [
        (lambda v: v.drop(columns="pop"), {}),
        (lambda v: v.assign(code=["001"] * len(v)), {}),
        (lambda v: v.assign(pop=["-5", *list(v["pop"][1:])]), {}),
        (lambda v: v.assign(setting=["suburb", *list(v["setting"][1:])]), {}),
        (lambda v: v.rename(columns={"lon": "lat", "lat": "lon"}), {}),
        (lambda v: v, {"villages_crs": "gcj-2"}),
    ],
)
def test_bad_frames_get_the_messages_of_bad_files(
    demo: dict[str, Any], tmp_path: Path, change: Any, keys: dict[str, Any]
) -> None:
    from ynps_geo.io.vector import read_villages

    villages, _, _ = _frames(demo["dir"])
    bad = change(villages)
    # messages name a frame's rows by its index labels; number them as a spreadsheet does
    bad.index = bad.index + 2
    spec = {
        "crs": keys.get("villages_crs", "wgs84"),
        "x": "lon",
        "y": "lat",
        "id": "code",
        "population": "pop",
        "setting": "setting",
    }
    bad.to_csv(tmp_path / "villages.csv", index=False)
    with pytest.raises(ValidationError) as from_file:
        read_villages({"path": "villages.csv", **spec}, tmp_path)
    _, facilities, _ = _frames(demo["dir"])
    with pytest.raises(ValidationError) as from_frame:
        ynps_geo.analyze(
            bad, facilities, progress=False, **{**VILLAGE_KEYS, **keys}, **FACILITY_KEYS
        )
    assert type(from_frame.value) is type(from_file.value)
    message = str(from_frame.value).replace("villages DataFrame", "villages.csv")
    assert message == str(from_file.value)
    assert "\n" not in message


def test_unknown_keyword_names_the_closest_one(demo: dict[str, Any]) -> None:
    villages, facilities, _ = _frames(demo["dir"])
    with pytest.raises(ConfigError, match="Did you mean 'category_field'"):
        ynps_geo.analyze(villages, facilities, categry_field="type", **VILLAGE_KEYS)
    with pytest.raises(ConfigError, match="needs 'category'"):
        ynps_geo.analyze(villages, facilities, **VILLAGE_KEYS, facilities_crs="gcj02")


def test_a_geodataframe_without_crs_asks_for_one(demo: dict[str, Any]) -> None:
    villages, facilities, _ = _frames(demo["dir"])
    v = gpd.GeoDataFrame(villages, geometry=gpd.points_from_xy(villages.lon, villages.lat))
    with pytest.raises(CRSError, match="villages GeoDataFrame: the coordinate system"):
        ynps_geo.analyze(v, facilities, villages_id="code", **FACILITY_KEYS)


def test_result_notes_are_typed_and_the_same_as_the_report(demo: dict[str, Any]) -> None:
    result = ynps_geo.Result(demo["result"])
    notes = result.notes
    assert notes and all(isinstance(n, ynps_geo.api.Note) for n in notes)
    assert [str(n) for n in notes] == list(demo["result"].notes)
    assert any(n.county == "示范县" for n in notes)


def test_travel_time_surface_matches_its_isochrone_and_the_cog(
    demo: dict[str, Any], tmp_path: Path
) -> None:
    pytest.importorskip("rioxarray")
    import rasterio

    result = ynps_geo.Result(demo["result"])
    da = result.travel_time_raster("health_15min", mode="drive")
    assert da.dims == ("y", "x") and da.rio.crs is not None
    cell_km2 = abs(da.rio.resolution()[0] * da.rio.resolution()[1]) / 1e6
    iso = result.isochrones
    row = iso[(iso["standard_id"] == "health_15min") & (iso["mode"] == "drive")].iloc[0]
    inside = float((da.values <= 15.0).sum()) * cell_km2
    # the isochrone is the same cells, cut by the county polygon instead of cell centres
    assert inside == pytest.approx(row["area_km2"], rel=0.05)
    written = result.to_folder(tmp_path / "out")
    tif = written["travel_time_health_15min"]
    with rasterio.open(tif) as src:
        modes = [str(desc).split()[1] for desc in src.descriptions]
        band = src.read(modes.index("drive") + 1)
        assert src.crs == da.rio.crs
        assert src.profile.get("tiled") or src.profile.get("blockxsize", 0) == 256
    assert np.array_equal(band, da.values, equal_nan=True)
    assert (tmp_path / "out" / "villages.gpkg").exists()
    assert (tmp_path / "out" / "coverage.csv").exists()
    with pytest.raises(ValidationError, match="no travel-time surface"):
        result.travel_time_raster("health_15mn")


def test_explore_returns_a_folium_map_on_the_chosen_standard(demo: dict[str, Any]) -> None:
    folium = pytest.importorskip("folium")
    result = ynps_geo.Result(demo["result"])
    m = result.explore(standard="school_walk")
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    assert f"ynps.setStandard({STANDARDS.index('school_walk')})" in html or "setStandard(" in html
    with pytest.raises(ValidationError, match="Did you mean 'school_walk'"):
        result.explore(standard="school_wlk")


def test_travel_times_equal_the_analysis_minutes(demo: dict[str, Any]) -> None:
    from ynps_geo.analysis import facility_matches
    from ynps_geo.model.standards import load_standards

    d = demo["dir"]
    ref = demo["result"]
    std = load_standards()["health_15min"]
    mode = std.mode_for("rural")
    # the engine joins every point to the roads (a road edge is split where a point boards
    # it), so the same points as the analysis' make the same graph: all villages and
    # facilities go in, and the pairs of the standard are compared
    villages = ref.villages[["village_id", "setting", "geometry"]]
    fac = ref.facilities[["facility_id", "category", "subtype", "geometry"]]
    boundary = gpd.read_file(d / "boundary.geojson")
    common = {
        "mode": mode,
        "roads": d / "roads.osm",
        "dem": d / "dem.tif",
        "boundary": boundary,
        "origins_id": "village_id",
        "destinations_id": "facility_id",
        "resolution_m": OPTIONS["resolution_m"],
    }
    long = ynps_geo.travel_times(villages, fac, **common)
    assert list(long.columns) == ["origin_id", "destination_id", "minutes"]
    assert long["minutes"].dtype == float and np.isfinite(long["minutes"]).all()
    health = set(fac.loc[facility_matches(fac, std.facilities[0]), "facility_id"])
    rural = villages.loc[villages["setting"] == "rural", "village_id"]
    best = long[long["destination_id"].isin(health)].groupby("origin_id")["minutes"].min()
    expected = ref.villages.set_index("village_id")["health_15min_minutes"].loc[rural]
    reached = expected[np.isfinite(expected)]
    assert len(reached) > 10
    np.testing.assert_allclose(
        best.reindex(reached.index).to_numpy(), reached.to_numpy(), rtol=1e-9
    )
    # the wide matrix holds the same numbers, inf where unreachable
    wide = ynps_geo.travel_times(villages, fac, output="wide", **common)
    assert wide.shape == (len(villages), len(fac))
    got = wide.stack()
    got = got[np.isfinite(got)]
    assert len(got) == len(long)
    pairs = long.set_index(["origin_id", "destination_id"])["minutes"]
    np.testing.assert_array_equal(got.reindex(pairs.index).to_numpy(), pairs.to_numpy())


def test_nearest_are_the_smallest_travel_times(demo: dict[str, Any]) -> None:
    d = demo["dir"]
    ref = demo["result"]
    v = ref.villages[["village_id", "geometry"]].head(12)
    f = ref.facilities[["facility_id", "geometry"]].head(15)
    common = {
        "mode": "drive",
        "roads": d / "roads.osm",
        "origins_id": "village_id",
        "destinations_id": "facility_id",
        "resolution_m": 500,
    }
    long = ynps_geo.travel_times(v, f, **common)
    near = ynps_geo.nearest(v, f, k=3, **common)
    assert list(near.columns) == ["origin_id", "rank", "destination_id", "minutes"]
    for origin, group in long.groupby("origin_id"):
        top = np.sort(group["minutes"].to_numpy())[:3]
        mine = near.loc[near["origin_id"] == origin].sort_values("rank")
        assert mine["rank"].tolist() == list(range(1, len(top) + 1))
        np.testing.assert_array_equal(mine["minutes"].to_numpy(), top)


def test_travel_times_cutoff_and_bad_mode(demo: dict[str, Any]) -> None:
    d = demo["dir"]
    ref = demo["result"]
    v = ref.villages[["village_id", "geometry"]].head(20)
    f = ref.facilities[["facility_id", "geometry"]].head(10)
    common = {
        "roads": d / "roads.osm",
        "origins_id": "village_id",
        "destinations_id": "facility_id",
    }
    full = ynps_geo.travel_times(v, f, mode="drive", resolution_m=500, **common)
    cut = ynps_geo.travel_times(v, f, mode="drive", resolution_m=500, cutoff=20, **common)
    expected = full[full["minutes"] <= 20].reset_index(drop=True)
    pd.testing.assert_frame_equal(cut.reset_index(drop=True), expected)
    with pytest.raises(ValidationError, match="mode 'bike'"):
        ynps_geo.travel_times(v, f, mode="bike", **common)


def test_progress_bars_on_request_silent_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import logging

    from ynps_geo.analysis import progress_bar

    items = [1, 2, 3]
    assert progress_bar(items, "x", enabled=False) is items
    bar = progress_bar(items, "counties", enabled=True)
    assert bar is not items and list(bar) == items  # a tqdm.auto bar
    # auto: only on an interactive terminal, and never with -q (logging above INFO)
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert progress_bar(items, "x", enabled=None) is items
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    logger = logging.getLogger("ynps_geo")
    old = logger.level
    try:
        logger.setLevel(logging.ERROR)
        assert progress_bar(items, "x", enabled=None) is items
        logger.setLevel(logging.INFO)
        assert progress_bar(items, "x", enabled=None) is not items
    finally:
        logger.setLevel(old)
