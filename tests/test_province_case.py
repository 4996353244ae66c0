"""The province benchmark case (ynps_geo.datasets.province) on two real Kunming districts.

A tiny case built through the same code as the whole province (``bench_province.py``):
五华区 and 盘龙区 (neighbours, 206 real committees), generated into a temporary cache. The
tests read ``../shared/data/real``: they skip where it is absent and fail on CI.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import shared_path

COUNTIES = "五华区,盘龙区"
SEED = 20240601


@pytest.fixture(scope="module")
def real() -> Path:
    for folder in (
        "admin-yunnan-cnmaps-amap",
        "admin-codes-yunnan-nbs2023",
        "geonames-yunnan-places",
        "osm-pois-yunnan-geopi",
    ):
        shared_path(folder)
    return shared_path()


@pytest.fixture(scope="module")
def case(real: Path, tmp_path_factory: pytest.TempPathFactory) -> object:
    from ynps_geo.datasets.province import province_case

    root = tmp_path_factory.mktemp("province-cache")
    return province_case(real, counties=COUNTIES, seed=SEED, root=root)


def _nbs(real: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = real / "admin-codes-yunnan-nbs2023"
    vil = pd.read_csv(base / "yunnan_villages_nbs2023.csv", dtype=str)
    towns = pd.read_csv(base / "yunnan_townships_nbs2023.csv", dtype=str)
    return vil, towns


def _villages(case: object) -> pd.DataFrame:
    return pd.read_csv(
        case.folder / "villages.csv",  # type: ignore[attr-defined]
        dtype={"code": str, "township_code": str, "adcode": str},
    )


def test_case_files_and_counts(case: object) -> None:
    folder = case.folder  # type: ignore[attr-defined]
    for name in (
        "config.yaml",
        "counties.geojson",
        "villages.csv",
        "facilities.csv",
        "osm_facilities.geojson",
        "roads.osm.pbf",
        "dem.tif",
        "population.tif",
        "townships.geojson",
    ):
        assert (folder / name).is_file(), name
    assert case.adcodes == ["530102", "530103"]  # type: ignore[attr-defined]
    stats = case.stats  # type: ignore[attr-defined]
    assert stats["counties"] == 2
    assert stats["county_links"] >= 1  # the two districts share a border


def test_committees_are_the_real_ones_per_county(case: object, real: Path) -> None:
    vil, _ = _nbs(real)
    gen = _villages(case)
    for adcode in ("530102", "530103"):
        want = vil[vil["areaCode"] == adcode]
        got = gen[gen["adcode"] == adcode]
        assert len(got) == len(want) > 50
        assert sorted(got["code"]) == sorted(want["code"])
        by_code = dict(zip(want["code"], want["streetCode"], strict=True))
        assert all(by_code[c] == t for c, t in zip(got["code"], got["township_code"], strict=True))
    assert (gen["pop"] > 0).all()
    # one committee per township sits on its centre
    assert gen.groupby("township_code")["centre"].sum().eq(1).all()


def test_villages_inside_their_county_and_township(case: object) -> None:
    import geopandas as gpd

    folder = case.folder  # type: ignore[attr-defined]
    gen = _villages(case)
    pts = gpd.GeoSeries(gpd.points_from_xy(gen["lon"], gen["lat"]), crs="EPSG:4326")
    counties = gpd.read_file(folder / "counties.geojson").set_index("adcode")
    poly = counties.geometry.reindex(gen["adcode"]).to_numpy()
    inside = pts.within(gpd.GeoSeries(poly, crs="EPSG:4326"), align=False)
    assert inside.all(), gen.loc[~inside.to_numpy(), ["code", "name"]].head()
    towns = gpd.read_file(folder / "townships.geojson")
    towns["code"] = towns["code"].astype(str)
    assert sorted(towns["code"]) == sorted(set(gen["township_code"]))
    tpoly = towns.set_index("code").geometry.reindex(gen["township_code"]).to_numpy()
    # township territories are straight-edged in UTM, written in degrees: 1 m of slack
    in_town = pts.to_crs(32648).within(
        gpd.GeoSeries(tpoly, crs="EPSG:4326").to_crs(32648).buffer(1.0), align=False
    )
    assert in_town.all(), gen.loc[~in_town.to_numpy(), ["code", "township"]].head()


def _expected_counts(gen: pd.DataFrame, n_counties: int) -> dict[str, int]:
    """Generated facilities per type by the rules, counted from the committees by hand."""

    def share(s: float, n: int) -> int:
        return math.floor(s * n + 0.5)

    out: dict[str, int] = {}

    def add(kind: str, k: int) -> None:
        out[kind] = out.get(kind, 0) + k

    towns = gen.drop_duplicates("township_code")
    streets = int(towns["township"].str.endswith(("街道", "街道办事处")).sum())
    add("卫生院", len(towns) - streets)
    add("社区卫生服务中心", streets)
    for kind in ("小学", "初中", "幼儿园", "文化站", "敬老院", "健身广场"):
        add(kind, len(towns))
    for kind, k in (("医院", 3), ("养老院", 1), ("托育中心", 1), ("职业学校", 1)):
        add(kind, k * n_counties)
    for kind in ("图书馆", "文化馆", "博物馆", "剧院", "体育场", "足球场"):
        add(kind, n_counties)
    for _, t in gen.groupby("township_code"):
        u = int((t["setting"] == "urban").sum())
        r = len(t) - u
        add("社区卫生服务站", u)
        add("卫生室", r)
        add("综合文化服务中心", share(0.85, u) + share(0.85, r))
        add("健身广场", share(0.3, u) + share(0.3, r))
        add("小学", share(0.4, r))
        add("幼儿园", share(0.2, u) + share(0.2, r))
        add("日间照料中心", share(0.5, u) + share(0.1, r))
    return {k: v for k, v in out.items() if v}


def test_facility_counts_follow_the_density_rules(case: object) -> None:
    import geopandas as gpd

    folder = case.folder  # type: ignore[attr-defined]
    gen = _villages(case)
    fac = pd.read_csv(folder / "facilities.csv", dtype={"fid": str})
    assert fac["type"].value_counts().to_dict() == _expected_counts(gen, 2)
    assert fac["fid"].is_unique
    # about one clinic per committee
    clinics = fac["type"].isin(["卫生室", "社区卫生服务站"]).sum()
    assert clinics == len(gen)
    # every facility inside the county it was made for (fid G<adcode>...)
    counties = gpd.read_file(folder / "counties.geojson").set_index("adcode")
    pts = gpd.GeoSeries(gpd.points_from_xy(fac["lon"], fac["lat"]), crs="EPSG:4326")
    poly = counties.geometry.reindex(fac["fid"].str[1:7]).to_numpy()
    assert pts.within(gpd.GeoSeries(poly, crs="EPSG:4326"), align=False).all()
    # every type is one the plan's categories know
    from ynps_geo.model.facilities import classify_type

    assert all(classify_type(t) is not None for t in fac["type"].unique())


def test_rules_give_the_whole_province_35000_facilities(real: Path) -> None:
    """The density rules on the real NBS committees: 35,000 facilities or more."""
    vil, towns = _nbs(real)
    urban = vil["name"].str.endswith(("社区", "社区居委会", "居委会", "居民委员会"))
    gen = pd.DataFrame(
        {
            "township_code": vil["streetCode"],
            "township": vil["streetCode"].map(dict(zip(towns["code"], towns["name"], strict=True))),
            "setting": np.where(urban, "urban", "rural"),
        }
    )
    total = sum(_expected_counts(gen, 129).values())
    assert len(vil) == 14888 and vil["streetCode"].nunique() == 1461
    assert total >= 35000
    real_osm = json.loads(
        (real / "osm-pois-yunnan-geopi" / "yunnan_osm_facilities.geojson").read_text("utf-8")
    )
    assert total + len(real_osm["features"]) >= 35000


def test_roads_reach_every_township_centre(case: object) -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    from ynps_geo._geo import haversine_m
    from ynps_geo.io.osm import read_roads

    folder = case.folder  # type: ignore[attr-defined]
    net = read_roads(folder / "roads.osm.pbf")
    assert net.n_nodes == case.stats["road_nodes"]  # type: ignore[attr-defined]
    n = net.n_nodes
    graph = coo_matrix((np.ones(net.u.size), (net.u, net.v)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    main = np.argmax(np.bincount(label))
    assert (label == main).all()  # one network: clipped pieces and both districts joined
    gen = _villages(case)
    centres = gen[gen["centre"]]
    lat0 = float(np.mean(net.lat))
    k = math.cos(math.radians(lat0))
    tree = cKDTree(np.c_[net.lon * k, net.lat])
    _, idx = tree.query(np.c_[centres["lon"] * k, centres["lat"]])
    d = haversine_m(
        centres["lon"].to_numpy(), centres["lat"].to_numpy(), net.lon[idx], net.lat[idx]
    )
    assert len(centres) == gen["township_code"].nunique()
    assert np.max(d) <= 100.0  # a road node in the centre's own 100 m cell


def test_rasters_whole_and_no_cliff_at_the_county_line(case: object) -> None:
    import geopandas as gpd
    import rasterio
    from rasterio.features import rasterize

    folder = case.folder  # type: ignore[attr-defined]
    with rasterio.open(folder / "dem.tif") as ds:
        assert ds.crs.to_epsg() == 32647 and ds.res == (100.0, 100.0)
        assert ds.profile["tiled"] and ds.profile["compress"] == "deflate"
        z = ds.read(1, masked=True)
        transform, shape = ds.transform, ds.shape
    assert not np.ma.is_masked(z) and float(z.min()) > 500 and float(z.max()) < 6000
    z = np.asarray(z, dtype=float)
    counties = gpd.read_file(folder / "counties.geojson").to_crs(32647)
    lab = rasterize(
        [(g, i + 1) for i, g in enumerate(counties.geometry)], out_shape=shape, transform=transform
    )
    steps, across = [], []
    for a, b, la, lb in (
        (z[:, 1:], z[:, :-1], lab[:, 1:], lab[:, :-1]),
        (z[1:, :], z[:-1, :], lab[1:, :], lab[:-1, :]),
    ):
        dz = np.abs(a - b)
        steps.append(dz[(la == lb) & (la > 0)])
        across.append(dz[(la != lb) & (la > 0) & (lb > 0)])
    inner, border = np.concatenate(steps), np.concatenate(across)
    assert border.size > 100
    # blended: no step across the line is steeper than the steepest inside a county
    assert border.max() <= inner.max()
    # people: the raster inside the counties holds the committees' people and 3 % more,
    # less what spills over a county line (kernels of villages near it)
    with rasterio.open(folder / "population.tif") as ds:
        pop = ds.read(1, masked=True).filled(0.0)
    total = float(pop[lab > 0].sum())
    villages = float(_villages(case)["pop"].sum())
    assert 0.97 * villages < total <= 1.035 * villages


def test_config_loads_and_analysis_runs(case: object, tmp_path: Path) -> None:
    from ynps_geo import workflows
    from ynps_geo.config import load_config
    from ynps_geo.errors import YnpsGeoWarning

    cfg = load_config(case.config)  # type: ignore[attr-defined]
    assert cfg.roads["path"].name == "roads.osm.pbf"
    assert len(cfg.facilities) == 2
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        res = workflows.analyze(
            case.config,  # type: ignore[attr-defined]
            tmp_path / "out",
            options={"resolution_m": 500, "facility_isochrones": "none", "surfaces": False},
        )
    # only the real OSM layer is warned about (pharmacies, police... left out; its points
    # near the boundary); the generated layers pass every check
    texts = [str(w.message) for w in seen if issubclass(w.category, YnpsGeoWarning)]
    assert texts and all(t.startswith("osm_facilities.geojson") for t in texts), texts
    assert not res.failures
    gen = _villages(case)
    v = res.villages.set_index("village_id")
    assert len(v) == len(gen)
    # the analysis puts every committee in its own county
    own = dict(zip(gen["code"], gen["county"], strict=True))
    assert all(own[i] == c for i, c in zip(v.index, v["county"], strict=True))
    cov = pd.read_csv(tmp_path / "out" / "coverage.csv")
    all_rows = cov[cov["county"] == "ALL"]
    assert len(all_rows) == 7 and all_rows["villages"].max() == len(gen)
    health = all_rows.set_index("standard_id").loc["health_15min"]
    assert 0 < health["population_covered"] <= health["population"]


def test_case_and_counties_reused(case: object, real: Path) -> None:
    from ynps_geo.datasets.province import province_case

    root = case.folder.parent.parent  # type: ignore[attr-defined]
    again = province_case(real, counties=COUNTIES, seed=SEED, root=root)
    assert again.build["reused"] and again.config == case.config  # type: ignore[attr-defined]
    one = province_case(real, counties="五华区", seed=SEED, root=root)
    assert one.build["counties_built"] == 0 and one.build["counties_reused"] == 1
    assert one.stats["villages"] == (_villages(case)["adcode"] == "530102").sum()


def test_selection(real: Path) -> None:
    from ynps_geo.datasets.province import load_counties, real_sources, select_counties
    from ynps_geo.errors import ValidationError

    gdf = load_counties(real_sources(real))
    assert len(gdf) == 129 and gdf["nbs_code"].is_unique
    assert (gdf["adcode"] != gdf["nbs_code"]).sum() == 1  # 禄丰: 532331 drawn, 532302 counted
    assert select_counties(gdf, 3) == ["530102", "530103", "530111"]
    assert len(select_counties(gdf, prefecture="昆明")) == 14
    assert select_counties(gdf, "2", prefecture="大理") == ["532901", "532922"]
    with pytest.raises(ValidationError, match="not one county"):
        select_counties(gdf, "不存在县")
    with pytest.raises(ValidationError, match="prefecture"):
        select_counties(gdf, prefecture="北京")


def test_missing_real_data_is_named(tmp_path: Path) -> None:
    from ynps_geo.datasets.province import real_sources
    from ynps_geo.errors import DataSourceError

    with pytest.raises(DataSourceError, match="not found"):
        real_sources(tmp_path / "nowhere")
    (tmp_path / "admin-yunnan-cnmaps-amap").mkdir()
    with pytest.raises(DataSourceError, match=r"lacks .*yunnan_counties_wgs84"):
        real_sources(tmp_path)
