"""Structure of the self-contained interactive map (``ynps_geo.report.maps``)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

pytest.importorskip("folium")
gpd = pytest.importorskip("geopandas")

from ynps_geo.model.results import AnalysisResult  # noqa: E402
from ynps_geo.model.standards import PlanStandard  # noqa: E402
from ynps_geo.report import inline, maps  # noqa: E402

STANDARDS = [
    PlanStandard(
        id="health_15min",
        kind="circle",
        title_zh="15分钟医疗服务圈",
        title_en="15-minute medical service circle",
        facilities=(("health",),),
        threshold=15,
        unit="min",
        mode={"urban": "walk", "rural": "drive"},
    ),
    PlanStandard(
        id="school_30min",
        kind="circle",
        title_zh="30分钟上学圈",
        title_en="30-minute school circle",
        facilities=(("school",),),
        threshold=30,
        unit="min",
    ),
    PlanStandard(
        id="culture_5km",
        kind="circle",
        title_zh="农村5公里文化圈",
        title_en="5 km rural culture circle",
        facilities=(("culture",),),
        threshold=5,
        unit="km",
        applies_to="rural",
    ),
]
CATEGORIES = ("health", "school", "culture")


def _wiggly_box(x0: float, y0: float, x1: float, y1: float, n: int) -> Polygon:
    """A box whose edges have ``n`` small zig-zags each (a 'detailed' boundary)."""
    rng = np.random.default_rng(1)
    t = np.linspace(0, 1, n, endpoint=False)
    jit = rng.normal(0, 0.002, size=(4, n))
    bottom = np.c_[x0 + (x1 - x0) * t, y0 + jit[0]]
    right = np.c_[x1 + jit[1], y0 + (y1 - y0) * t]
    top = np.c_[x1 - (x1 - x0) * t, y1 + jit[2]]
    left = np.c_[x0 + jit[3], y1 - (y1 - y0) * t]
    return Polygon(np.vstack([bottom, right, top, left]))


def make_result(
    n_villages: int = 30, boundary_vertices: int = 4, seed: int = 0, with_people: bool = True
) -> AnalysisResult:
    """A small synthetic analysis: 2 counties, villages, 3 facility categories, isochrones."""
    rng = np.random.default_rng(seed)
    if boundary_vertices > 4:
        west = _wiggly_box(100.0, 25.0, 100.5, 25.5, boundary_vertices)
        east = _wiggly_box(100.5, 25.0, 101.0, 25.5, boundary_vertices)
    else:
        west, east = box(100.0, 25.0, 100.5, 25.5), box(100.5, 25.0, 101.0, 25.5)
    counties = gpd.GeoDataFrame({"county": ["西县", "东县"]}, geometry=[west, east], crs=4326)

    xs = rng.uniform(100.02, 100.98, n_villages)
    ys = rng.uniform(25.02, 25.48, n_villages)
    county = np.where(xs < 100.5, "西县", "东县")
    setting = np.where(rng.random(n_villages) < 0.3, "urban", "rural")
    pop = rng.integers(200, 4000, n_villages)
    pop[0] = 2300
    vil = {
        "village_id": [f"V{i:04d}" for i in range(n_villages)],
        "name": [f"村{i}号" for i in range(n_villages)],
        "county": county,
        "population": pop,
        "setting": setting,
    }
    for s in STANDARDS:
        vals = rng.uniform(1, 60 if s.unit == "min" else 12, n_villages)
        applies = np.array([s.applies(st) for st in setting])
        if s.id == "health_15min":
            vals[0] = 97.0  # village 0: far from its township health centre
            vals[1] = np.nan  # unreachable
            applies[:2] = True
        vil[s.value_column] = np.where(applies, vals, np.nan)
        vil[s.covered_column] = applies & (vals <= s.threshold)
        vil[f"{s.id}_applies"] = applies
        vil[f"{s.id}_facility_id"] = [f"F{j}" for j in range(n_villages)]
        vil[f"{s.id}_facility"] = [
            "勐腊乡卫生院" if s.id == "health_15min" else f"设施{j}" for j in range(n_villages)
        ]
    villages = gpd.GeoDataFrame(vil, geometry=gpd.points_from_xy(xs, ys), crs=4326)

    rows = []
    for i, cat in enumerate(CATEGORIES * 4):
        rows.append(
            {
                "facility_id": f"F{i}",
                "name": f"{cat}设施{i}",
                "category": cat,
                "subtype": {
                    "health": "township_health_centre",
                    "school": "primary_school",
                    "culture": "culture_station",
                }[cat],
                "type_raw": "中心卫生院" if cat == "health" else "",
                "source": "register.xlsx",
                "beds": 40.0 if cat == "health" else np.nan,
                "geometry": Point(100.05 + 0.07 * i, 25.1 + 0.02 * (i % 10)),
            }
        )
    facilities = gpd.GeoDataFrame(rows, crs=4326)

    ring = Point(100.25, 25.25).buffer(0.15)
    with_hole = ring.difference(Point(100.25, 25.25).buffer(0.05))
    iso_rows = [
        {
            "county": "西县",
            "standard_id": "health_15min",
            "mode": "drive",
            "threshold": 15.0,
            "unit": "min",
            "population_inside": 12345.0,
            "area_km2": 210.5,
            "geometry": with_hole,
        },
        {
            "county": "东县",
            "standard_id": "school_30min",
            "mode": "walk",
            "threshold": 30.0,
            "unit": "min",
            "population_inside": 5000.0,
            "area_km2": 80.0,
            "geometry": Point(100.75, 25.25).buffer(0.1),
        },
        {
            "county": "东县",
            "standard_id": "culture_5km",
            "mode": "distance",
            "threshold": 5.0,
            "unit": "km",
            "population_inside": 3000.0,
            "area_km2": 70.0,
            "geometry": Point(100.7, 25.3).buffer(0.05),
        },
    ]
    isochrones = gpd.GeoDataFrame(iso_rows, crs=4326)

    cov_rows = []
    for c in ("西县", "东县", "ALL"):
        for j, s in enumerate(STANDARDS):
            share = 0.4 + 0.25 * j if c != "东县" else 0.9
            cov_rows.append(
                {
                    "county": c,
                    "standard_id": s.id,
                    "population": 10000,
                    "population_covered": 10000 * share,
                    "share_covered": share,
                    "villages": 15,
                    "villages_uncovered": 5,
                }
            )
    people = None
    if with_people:
        gx, gy = np.meshgrid(np.linspace(100.01, 100.99, 60), np.linspace(25.01, 25.49, 30))
        people = pd.DataFrame(
            {
                "lon": gx.ravel(),
                "lat": gy.ravel(),
                "population": rng.gamma(2.0, 30.0, gx.size),
                "setting": "rural",
            }
        )
    return AnalysisResult(
        name="测试分析",
        standards=STANDARDS,
        villages=villages,
        people=people,
        coverage=pd.DataFrame(cov_rows),
        by_setting=pd.DataFrame(),
        equity=pd.DataFrame(),
        uncovered=pd.DataFrame(),
        isochrones=isochrones,
        facilities=facilities,
        counties=counties,
    )


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    return make_result()


@pytest.fixture(scope="module")
def page_zh(result: AnalysisResult) -> str:
    return maps.map_html(result)


def _data(page: str) -> dict:
    m = re.search(r"var (\w+_data) = (\{.*?\});\n", page, re.S)
    assert m, "data object not found"
    return json.loads(m.group(2).replace("<\\/", "</"))


def _fast_clusters(page: str) -> list[list[list[object]]]:
    """The data arrays of folium's FastMarkerClusters, in page order."""
    found = re.findall(
        r"var fast_marker_cluster_\w+ = \(function\(\)\{.*?var data = (\[.*?\]);\n", page, re.S
    )
    return [json.loads(d) for d in found]


def layer_names(page: str, kind: str = "overlays") -> list[str]:
    """Names of the layer control's overlays (or ``base_layers``), decoded."""
    block = re.search(kind + r" :\s*\{(.*?)\},", page, re.S)
    assert block, kind
    return [json.loads(k) for k in re.findall(r'("(?:[^"\\]|\\.)*")\s*:\s*\w+,', block.group(1))]


def test_no_external_scripts_or_stylesheets(page_zh: str) -> None:
    assert inline.external_refs(page_zh) == []
    assert not re.search(r"<script[^>]+src=", page_zh)
    assert not re.search(r"<link[^>]+href=['\"]?(https?:)?//", page_zh)
    for dropped in ("jquery", "bootstrap.min.css", "font-awesome", "fontawesome-free"):
        assert dropped not in page_zh
    # the vendored libraries are inline
    for asset in (
        "leaflet.js",
        "leaflet.markercluster.js",
        "Control.FullScreen.js",
        "leaflet-measure.cn.js",
        "leaflet-search.min.js",
        "leaflet.css",
    ):
        assert f'data-asset="{asset}"' in page_zh
    assert "data:image/png;base64," in page_zh
    assert page_zh.startswith("<!DOCTYPE html>")
    assert 'lang="zh-CN"' in page_zh


def test_every_category_and_standard_is_a_layer(page_zh: str) -> None:
    names = " | ".join(layer_names(page_zh))
    for label in ("医疗卫生", "中小学", "公共文化"):
        assert label in names, label
    for s in STANDARDS:
        assert s.title_zh in names, s.title_zh
    for label in ("行政村", "县界", "各县覆盖率", "人口分布"):
        assert label in names
    assert page_zh.count("L.markerClusterGroup(") == 3
    bases = " | ".join(layer_names(page_zh, "base_layers"))
    assert "OpenStreetMap" in bases and "无底图" in bases
    assert "天地图" not in page_zh


def _geojson_layers(page: str) -> dict[str, dict]:
    """folium GeoJson layers: variable name -> the FeatureCollection added to it."""
    found = re.findall(r"\n\s*(geo_json_\w+)_add\((\{.*?\})\);\n", page, re.S)
    return {name: json.loads(fc) for name, fc in found}


def test_only_first_isochrone_layer_is_shown(page_zh: str) -> None:
    data = _data(page_zh)
    assert list(data["isochrones"]) == ["health_15min", "school_30min", "culture_5km"]
    # folium GeoJson layers, one per standard, with a popup per polygon; one shown at start
    layers = _geojson_layers(page_zh)
    assert len(layers) == 3
    added = [v for v in layers if re.search(rf"\b{v}\.addTo\(", page_zh)]
    assert len(added) == 1
    assert page_zh.count('"pane": "ynps-iso"') == 3
    assert page_zh.count("new L.Control.Layers") <= 1
    # the polygon with a hole keeps its hole
    first = layers[added[0]]
    geom = first["features"][0]["geometry"]
    assert geom["type"] == "Polygon" and len(geom["coordinates"]) == 2
    assert "15分钟医疗服务圈" in first["features"][0]["properties"]["p"]
    assert f"{added[0]}.bindPopup(" in page_zh


def test_legend_and_chinese_popups(page_zh: str) -> None:
    assert "红色 = 未达标" in page_zh
    assert "绿色 = 达标" in page_zh
    data = _data(page_zh)
    v0 = data["villages"]["features"][0]["properties"]
    assert v0["name"] == "村0号"
    assert "2,300 人" in v0["p"]
    assert "97 分钟" in v0["p"]
    assert "勐腊乡卫生院" in v0["p"]
    assert "未达标（红色）" in v0["p"] and "15分钟医疗服务圈" in v0["p"]
    assert v0["c"][0] == 0
    v1 = data["villages"]["features"][1]["properties"]
    assert "无法到达" in v1["p"]
    fac = data["facilities"]["health"]
    assert fac["label"] == "医疗卫生"
    # the points are folium FastMarkerClusters: rows [lat, lon, popup, name]
    rows = _fast_clusters(page_zh)[0]
    assert "乡镇卫生院" in rows[0][2] and "床位 40" in rows[0][2]
    assert rows[0][3] == "health设施0" and 20 < rows[0][0] < 30 and 95 < rows[0][1] < 110
    # choropleth shares per county: [all, per standard...]
    shares = {f["properties"]["county"]: f["properties"]["s"] for f in data["counties"]["features"]}
    assert shares["东县"][1:] == [0.9, 0.9, 0.9]
    assert 0 <= shares["西县"][0] <= 1
    assert data["people"] and len(data["people"]["pts"]) == 1800


def test_english_labels(result: AnalysisResult) -> None:
    page = maps.map_html(result, language="en")
    assert 'lang="en"' in page
    assert "Red = at least one standard NOT met" in page
    for text in (
        "Facilities: Health",
        "Facilities: Schools",
        "15-minute medical service circle",
        "Villages (green = met, red = not met)",
        "No base map",
    ):
        assert text in page, text
    data = _data(page)
    assert "2,300 people" in data["villages"]["features"][0]["properties"]["p"]
    assert "行政村" not in page and "红色" not in page
    assert 'data-asset="leaflet-measure.js"' in page


def test_unknown_language(result: AnalysisResult) -> None:
    with pytest.raises(ValueError, match="language"):
        maps.map_html(result, language="fr")


def test_tianditu_only_with_token(result: AnalysisResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIANDITU_TOKEN", raising=False)
    assert "tianditu" not in maps.map_html(result)
    monkeypatch.setenv("TIANDITU_TOKEN", "abc123token")
    page = maps.map_html(result)
    bases = " | ".join(layer_names(page, "base_layers"))
    assert "天地图 矢量" in bases and "天地图 影像" in bases
    for layer in ("vec_w", "cva_w", "img_w", "cia_w"):
        assert f"tianditu.gov.cn/{layer}/wmts" in page
    assert "tk=abc123token" in page
    assert inline.external_refs(page) == []  # tile templates are not fetched at load
    assert "autonavi" not in page.lower() and "amap" not in page.lower()
    page_en = maps.map_html(result, language="en")
    assert "eva_w" in page_en and "eia_w" in page_en


def test_size_of_a_large_county(tmp_path) -> None:
    big = make_result(n_villages=2000, boundary_vertices=20_000, with_people=True)
    path = maps.save_map(big, tmp_path / "map.html")
    size = path.stat().st_size
    assert size < 15 * 1024 * 1024, size
    data = _data(path.read_text(encoding="utf-8"))
    assert len(data["villages"]["features"]) == 2000
    # boundary simplified: far fewer than the 80,000 input vertices
    n = sum(len(r) for f in data["counties"]["features"] for r in f["geometry"]["coordinates"])
    assert n < 80_000
    coords = json.dumps(data["counties"]["features"][0]["geometry"]["coordinates"])
    assert not re.search(r"\d\.\d{6,}", coords)


def test_build_map_is_folium_and_self_contained(result: AnalysisResult, tmp_path) -> None:
    import folium

    m = maps.build_map(result)
    assert isinstance(m, folium.Map)
    m.save(str(tmp_path / "plain.html"))
    assert inline.external_refs((tmp_path / "plain.html").read_text(encoding="utf-8")) == []


def test_minimal_result_without_optional_layers() -> None:
    r = make_result(n_villages=3, with_people=False)
    r.isochrones = None
    page = maps.map_html(r)
    names = " | ".join(layer_names(page))
    assert "人口分布" not in names and "可达范围" not in names and "行政村" in names


def test_inline_helpers(tmp_path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"\x89PNG\r\n")
    css = "a{background:url(img/a.png)} b{background:url('#x')}"
    out = inline.css_with_data_uris(css, tmp_path)
    assert "data:image/png;base64," in out and "url('#x')" in out
    html_in = (
        '<head><script src="https://cdn.example.org/jquery.min.js"></script>'
        '<link rel="stylesheet" href="https://cdn.example.org/leaflet.css"/></head>'
    )
    html_out = inline.inline_resources(html_in, {"jquery": "", "leaflet.css": "leaflet.css"})
    assert "jquery" not in html_out and 'data-asset="leaflet.css"' in html_out
    assert inline.external_refs(html_out) == []
    with pytest.raises(ValueError, match="not vendored"):
        inline.inline_resources('<script src="https://x.org/unknown.js"></script>', {})
    assert inline.script_tag("var a = '</script>';", code=True).count("</script>") == 1


def test_population_classes_are_round_readable_and_not_red() -> None:
    """Skewed people per cell (most cells nearly empty, a town of thousands): the legend's
    classes are distinct round numbers (not "0–1, 1–1, 1–1, 1–3") in blue, not red."""
    r = make_result()
    rng = np.random.default_rng(3)
    pop = rng.lognormal(-1.5, 1.0, len(r.people))  # mostly < 1 person per cell
    pop[:40] = rng.uniform(200, 4600, 40)  # the county seat
    r.people = r.people.assign(population=pop)
    page = maps.map_html(r)
    people = _data(page)["people"]
    assert people["breaks"] == [5.0, 30.0, 200.0, 1000.0]
    legend = html.unescape(page[page.index("人口（每格人数）") :])
    for text in ("< 5", "5–30", "30–200", "200–1,000", "≥ 1,000"):
        assert text in legend, text
    assert "1–1" not in legend
    for colour in people["colors"]:  # red means "standard not met" on this map
        red, _green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert blue >= red, colour
    labels = maps.people_labels(people["breaks"], people["max"])
    assert len(set(labels)) == len(labels) == len(people["colors"])
    assert maps.people_breaks(np.array([0.1, 0.4, 0.9])) == []
    assert maps.people_labels([], 0.9) == ["不足 1"]


def test_people_cell_size_in_legend_when_aggregated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maps, "MAX_PEOPLE_POINTS", 200)
    page = maps.map_html(make_result())
    people = _data(page)["people"]
    assert len(people["pts"]) <= 200 and people["cell_m"] >= 100
    assert f"约 {people['cell_m']:,} 米见方" in page


def test_metric_scale_and_compact_controls(page_zh: str) -> None:
    assert "L.control.scale()" not in page_zh  # folium's default shows miles too
    assert "ynps.scale();" in page_zh
    assert re.search(r"ynps\.compact\(layer_control_\w+\);", page_zh)


def test_popup_threshold_in_full_width_brackets(page_zh: str) -> None:
    v0 = _data(page_zh)["villages"]["features"][0]["properties"]["p"]
    assert "（标准 ≤ 15 分钟）" in v0 and "(标准" not in v0


def test_folium_upgrade_cannot_silently_change_the_offline_assets(result: AnalysisResult) -> None:
    """Each CDN URL folium would write is one a vendored asset stands in for, at its pin.

    A folium release that moves to another Leaflet (or plugin) version references new URLs:
    this test then names them, instead of the page quietly running on the old vendored file.
    """
    import importlib.util

    import folium
    from folium import plugins

    m = maps.build_map(result)
    urls = maps.folium_cdn_urls(m)
    assert any("leaflet.js" in u for u in urls)  # the check is not vacuous
    classes = (plugins.Search, plugins.FastMarkerCluster, plugins.MarkerCluster, folium.Map)
    urls += [u for c in classes for _, u in [*c.default_js, *c.default_css]]
    unknown = sorted({u for u in urls if u not in maps.FOLIUM_CDN})
    assert not unknown, (
        f"folium {folium.__version__} references {unknown}: vendor these versions "
        "(scripts/vendor_assets.py) or check the vendored ones in the browser tests, then "
        "list the URLs in ynps_geo.report.maps.FOLIUM_CDN"
    )
    spec = importlib.util.spec_from_file_location(
        "vendor_assets", Path(__file__).parents[1] / "scripts" / "vendor_assets.py"
    )
    assert spec is not None and spec.loader is not None
    vendor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vendor)
    pins = {asset: ver for _, ver, _, _, files in vendor.PACKAGES for _, asset, _ in files}
    assets = Path(maps.__file__).parent / "assets"
    for url in set(urls):
        asset, version = maps.FOLIUM_CDN[url]
        assert maps._cdn_asset(url) == asset  # what inlining the page uses
        if asset:
            assert (assets / asset).is_file(), asset
            assert pins[asset] == version, (url, pins[asset], version)


def test_share_classes_are_a_branca_step_colormap(page_zh: str) -> None:
    """The choropleth's classes (the runtime's selector, the legend) come from a StepColormap."""
    cmap = maps.share_colormap()
    steps = _data(page_zh)["share_classes"]

    def selector(s: float) -> str:  # shareColor in ynps_map.js
        return next((c for hi, c in steps if s < hi), steps[-1][1])

    for s in [0.0, 0.25, 0.4999, 0.5, 0.6, 0.6999, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0]:
        assert selector(s) == cmap.rgb_hex_str(s) == cmap(s)[:7], s
    assert [c for _, c in steps] == [c for _, c in maps.SHARE_CLASSES]
    for _, colour in steps:
        assert colour in page_zh  # the legend's swatches


@pytest.mark.parametrize(
    "text",
    [
        "var a = 1;",
        "var a = 1;\n",
        "var a = 1;\n\n",
        "line one\r\nline two\rline three\n",
        '{"a": {"b": [1, 2]}, "c": "中文 <b>x</b>"}\n',
        "",
        "\n",
        "a {{ 1 + 1 }} b",  # jinja2 syntax: compiled as before
        "{% if true %}yes{% endif %}\n",
        "x {# note #} y",
    ],
)
def test_rendered_text_elements_render_as_branca_would(text: str) -> None:
    """The map's rendered macros are kept as text: the same output as branca's template."""
    from branca.element import Element

    kept = maps._text_element_class()(text)
    assert kept.render() == Element(text).render()


def test_map_html_restores_branca_and_renders_the_same_page(result: AnalysisResult) -> None:
    import branca.element

    original = branca.element.Element
    page = maps.map_html(result)
    assert branca.element.Element is original
    # the same map rendered by branca's own Element (templates compiled) gives the same page
    m = maps.build_map(result)
    with maps._json_as_utf8():
        plain = m.get_root().render()
    plain = inline.inline_resources(plain, maps._cdn_asset, strict=True)
    plain = plain.replace("<html>", '<html lang="zh-CN">', 1)

    def ids(text: str) -> str:
        seen: dict[str, int] = {}
        return re.sub(
            r"[0-9a-f]{32}", lambda mo: f"ID{seen.setdefault(mo.group(0), len(seen))}", text
        )

    assert ids(page) == ids(plain)


@pytest.mark.parametrize(
    "bounds",
    [
        (100.1, 25.0, 100.6, 25.4),  # Yunnan, zone 47
        (103.2, 24.1, 104.0, 24.9),  # zone 48
        (101.5, 25.0, 102.5, 25.5),  # centre on the 102 E zone edge
        (10.0, -0.5, 11.0, 0.5),  # centre on the equator
        (-75.3, -12.0, -74.9, -11.6),  # southern hemisphere
    ],
)
def test_utm_zone_is_the_one_geopandas_estimates(bounds: tuple[float, ...]) -> None:
    from pyproj import CRS

    gdf = gpd.GeoDataFrame(geometry=[box(*bounds)], crs="EPSG:4326")
    assert CRS.from_user_input(maps._utm_crs(gdf)) == gdf.estimate_utm_crs()
