"""The interactive map (``map.html``, Folium + Leaflet), self-contained for offline use.

Who opens it: a county official (分管副县长, 乡镇干部) who gets ``map.html`` by mail or on a USB
stick and opens it on an office PC behind the government intranet -- no CDN, perhaps no
internet tiles. So:

- **One file.** Leaflet and its plugins (marker clusters, full screen, measuring, search) are
  vendored in ``report/assets/`` and inlined; stylesheet images are ``data:`` URIs. folium's
  default jQuery/Bootstrap/Font Awesome/awesome-markers links are dropped (unused).
  :func:`map_html` refuses to return a page that would still fetch a script or stylesheet.
- **Works without tiles.** Counties, villages, isochrones, choropleth and people are vector
  layers drawn on a plain background; county names are permanent labels.
- **Chinese first.** ``language="zh"`` (default) labels everything in Chinese; ``"en"`` in
  English.
- **Red means a problem.** Villages are green when every applicable standard is met, red when
  at least one is not (grey: no standard applies). The legend says so, and a selector in the
  legend colours villages and the county choropleth by one standard.
- **Light.** Polygons are simplified (~20 m) in a metric CRS, coordinates rounded to 5
  decimals (~1 m), only the properties the popups need are kept; popups are built once in
  Python; facilities are added to clusters from compact arrays; population cells are drawn
  on a canvas (coarsened beyond :data:`MAX_PEOPLE_POINTS`).

Base layers
-----------
OpenStreetMap, and -- when the environment variable ``TIANDITU_TOKEN`` holds a Tianditu
(天地图) key -- Tianditu vector and imagery with their label overlays (``vec_w``+``cva_w``,
``img_w``+``cia_w``; English labels ``eva_w``/``eia_w`` with ``language="en"``). The ``_w``
tile sets are Web Mercator on CGCS2000, which agrees with WGS84 to a few centimetres, so the
analysis' WGS84 layers sit on them correctly. A blank base layer is offered for offline use.
The token is written into the page (Tianditu "browser" keys are meant for that); restrict
the key on Tianditu's console if the file is shared widely.

Amap (高德), Tencent and Baidu tiles are deliberately **not** offered: they are drawn in
GCJ-02 (Baidu: BD-09), the obfuscated datum Chinese law requires of web maps, which is
offset from WGS84 by 100-700 m in Yunnan. Villages and isochrones computed in WGS84 would
appear beside the roads and settlements of such tiles, and an official would read a wrong
map. (Input data in GCJ-02 is converted by :mod:`ynps_geo.io.coords`; the map stays WGS84.)

Functions
---------
build_map(result, language="zh") -> folium.Map
map_html(result, language="zh") -> str
save_map(result, path, language="zh") -> Path
"""

from __future__ import annotations

import contextlib
import functools
import html
import itertools
import json
import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ynps_geo._geo import utm_epsg
from ynps_geo.errors import ValidationError, require
from ynps_geo.model.results import AnalysisResult
from ynps_geo.report import inline
from ynps_geo.report.palette import (  # the map's colours (re-exported)
    CATEGORY_STYLE,
    COLORS,
    ISO_COLORS,
    PEOPLE_COLORS,
    SHARE_CLASSES,
)
from ynps_geo.report.tables import county_shares as _county_shares

__all__ = [
    "FOLIUM_CDN",
    "LABELS",
    "MAX_PEOPLE_POINTS",
    "SIMPLIFY_M",
    "build_map",
    "folium_cdn_urls",
    "map_html",
    "save_map",
    "share_colormap",
]

#: Simplification tolerance for polygons, metres.
SIMPLIFY_M = 20.0
#: Decimal places kept for coordinates (5 ~ 1.1 m).
COORD_DIGITS = 5
#: Population cells drawn at most (more are aggregated onto a coarser grid).
MAX_PEOPLE_POINTS = 20_000


def _import_folium() -> Any:
    """folium and its plugins, imported with their templates compiled through the cache.

    folium compiles ~80 jinja2 templates when imported (~0.2 s); the compiled code is kept
    by :mod:`ynps_geo.report.jinja_cache`, so later processes read it instead.
    """
    if "folium.plugins" not in sys.modules:
        from ynps_geo.report.jinja_cache import compiles_cached

        with compiles_cached():
            import folium.plugins
    import folium

    return folium


def share_colormap(caption: str = "") -> Any:
    """The county-share classes as a branca :class:`~branca.colormap.StepColormap`.

    Steps at 50 %, 70 %, 85 % and 95 % (:data:`SHARE_CLASSES`); ``colormap(share)`` is the
    colour of a county, the same class the map's standard selector and the QGIS styles use.
    """
    _import_folium()  # imports branca too
    from branca.colormap import StepColormap

    return StepColormap(
        [c for _, c in SHARE_CLASSES],
        index=[0.0, *(hi for hi, _ in SHARE_CLASSES)],
        vmin=0.0,
        vmax=SHARE_CLASSES[-1][0],
        caption=caption,
    )


def _share_steps(cmap: Any) -> list[list[Any]]:
    """[upper bound, hex colour] per step of a StepColormap (what the runtime's selector uses)."""
    idx = list(cmap.index)
    return [[hi, cmap.rgb_hex_str((lo + hi) / 2)] for lo, hi in itertools.pairwise(idx)]


_FALLBACK_CATEGORY_ZH = {
    "health": "医疗卫生",
    "school": "中小学",
    "kindergarten": "幼儿园",
    "childcare": "托育",
    "eldercare": "养老服务",
    "culture": "公共文化",
    "fitness": "全民健身",
    "vocational_school": "中等职业学校",
    "care_institution": "照护服务机构",
    "hospice": "安宁疗护",
    "government": "政府机关",
    "other_public": "其他公共服务",
}
_CATEGORY_EN = {
    "health": "Health",
    "school": "Schools",
    "kindergarten": "Kindergartens",
    "childcare": "Childcare",
    "eldercare": "Elderly care",
    "culture": "Culture",
    "fitness": "Fitness",
    "vocational_school": "Vocational schools",
    "care_institution": "Care institutions",
    "hospice": "Hospice",
    "government": "Government",
    "other_public": "Other public services",
}

#: Interface strings per language.
LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "villages": "行政村（绿=达标，红=未达标）",
        "county_bounds": "县界",
        "choropleth": "各县覆盖率（按图例所选标准）",
        "people": "人口分布",
        "facilities": "设施",
        "iso": "可达范围",
        "osm": "OpenStreetMap 街道图",
        "blank": "无底图（离线）",
        "tdt_vec": "天地图 矢量（含注记）",
        "tdt_img": "天地图 影像（含注记）",
        "legend_title": "图例",
        "how_to": "点击村点查看人口、到最近设施的时间和未达标项。",
        "villages_h": "行政村",
        "covered": "绿色 = 达标（所有适用标准均在阈值内）",
        "uncovered": "红色 = 未达标（至少一项标准超出阈值）",
        "na": "灰色 = 标准不适用",
        "unknown": "紫色 = 无法判断（数据中没有该标准所需类型的设施，见报告说明）",
        "cannot_tell": "无法判断（数据中没有所需类型的设施）",
        "color_by": "按标准着色",
        "all_standards": "全部标准",
        "facilities_h": "公共服务设施",
        "iso_h": "可达范围（阈值内可到达的区域）",
        "choro_h": "各县覆盖人口比例",
        "people_h": "人口（每格人数）",
        "people_cell_h": "人口（约 {cell} 米见方的格内人数）",
        "covered_share": "覆盖人口比例",
        "no_data": "无数据",
        "population": "人口",
        "people_unit": "人",
        "minutes": "分钟",
        "km": "公里",
        "nearest": "最近",
        "threshold": "标准",
        "unreachable": "无法到达（无道路或步行连接）",
        "not_applicable": "不适用",
        "failed": "未达标（红色）",
        "all_met": "所有适用标准均已达标",
        "county": "县",
        "type": "类型",
        "category": "类别",
        "capacity": "规模",
        "beds": "床位",
        "doctors": "医生",
        "places": "学位/床位",
        "area_m2": "面积",
        "source": "来源",
        "mode": "方式",
        "walk": "步行",
        "drive": "驾车",
        "distance": "直线/路网距离",
        "pop_inside": "范围内人口",
        "area": "面积",
        "urban": "城镇",
        "rural": "农村",
        "search": "搜索村名…",
        "fullscreen": "全屏",
        "exit_fullscreen": "退出全屏",
        "attribution": "ynps_geo 服务覆盖分析（示意图）",
        "sep": "、",
        "colon": "：",
    },
    "en": {
        "villages": "Villages (green = met, red = not met)",
        "county_bounds": "County boundaries",
        "choropleth": "Covered share by county (standard chosen in the legend)",
        "people": "Population",
        "facilities": "Facilities",
        "iso": "reachable area",
        "osm": "OpenStreetMap",
        "blank": "No base map (offline)",
        "tdt_vec": "Tianditu vector (with labels)",
        "tdt_img": "Tianditu imagery (with labels)",
        "legend_title": "Legend",
        "how_to": "Click a village for its population, travel times and failed standards.",
        "villages_h": "Villages",
        "covered": "Green = all applicable standards met",
        "uncovered": "Red = at least one standard NOT met",
        "na": "Grey = no standard applies",
        "unknown": "Purple = cannot tell (no facility in the data is of the type a standard "
        "needs; see the report's notes)",
        "cannot_tell": "cannot tell (no facility in the data is of the type needed)",
        "color_by": "Colour by standard",
        "all_standards": "All standards",
        "facilities_h": "Public service facilities",
        "iso_h": "Reachable within the threshold",
        "choro_h": "Share of population covered",
        "people_h": "Population (people per cell)",
        "people_cell_h": "Population (people per cell of about {cell} m)",
        "covered_share": "Covered share",
        "no_data": "no data",
        "population": "Population",
        "people_unit": "people",
        "minutes": "min",
        "km": "km",
        "nearest": "nearest",
        "threshold": "standard",
        "unreachable": "unreachable (no road or path)",
        "not_applicable": "Not applicable",
        "failed": "Not met (red)",
        "all_met": "All applicable standards met",
        "county": "County",
        "type": "Type",
        "category": "Category",
        "capacity": "Capacity",
        "beds": "beds",
        "doctors": "doctors",
        "places": "places",
        "area_m2": "floor area",
        "source": "Source",
        "mode": "Mode",
        "walk": "walking",
        "drive": "driving",
        "distance": "distance",
        "pop_inside": "Population inside",
        "area": "Area",
        "urban": "urban",
        "rural": "rural",
        "search": "Search village…",
        "fullscreen": "Full screen",
        "exit_fullscreen": "Exit full screen",
        "attribution": "ynps_geo service-coverage analysis",
        "sep": ", ",
        "colon": ": ",
    },
}

_TDT_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk="
)

#: Every CDN URL the folium classes used here reference (folium 0.20) -> the vendored asset
#: that stands in for it ("" = the library is not used and is dropped) and the vendored
#: version. npm and the CDNs are not reachable where the assets are vendored, so the vendored
#: versions are the closest API-compatible releases (scripts/vendor_assets.py; the browser
#: tests run the page on them). ``tests/test_maps.py`` fails when folium references a URL not
#: listed here, so a folium upgrade that moves to another library version is noticed (re-vendor
#: or confirm compatibility, then add its URLs) instead of being silently served the old file.
_JSD = "https://cdn.jsdelivr.net"
_CFL = "https://cdnjs.cloudflare.com/ajax/libs"
FOLIUM_CDN: dict[str, tuple[str, str]] = {
    f"{_JSD}/npm/leaflet@1.9.3/dist/leaflet.js": ("leaflet.js", "1.9.4"),
    f"{_JSD}/npm/leaflet@1.9.3/dist/leaflet.css": ("leaflet.css", "1.9.4"),
    f"{_CFL}/leaflet.markercluster/1.1.0/leaflet.markercluster.js": (
        "leaflet.markercluster.js",
        "1.5.3",
    ),
    f"{_CFL}/leaflet.markercluster/1.1.0/MarkerCluster.css": ("MarkerCluster.css", "1.5.3"),
    f"{_CFL}/leaflet.markercluster/1.1.0/MarkerCluster.Default.css": (
        "MarkerCluster.Default.css",
        "1.5.3",
    ),
    f"{_JSD}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js": (
        "Control.FullScreen.js",
        "3.0.2",
    ),
    f"{_JSD}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css": (
        "Control.FullScreen.css",
        "3.0.2",
    ),
    f"{_JSD}/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.js": (
        "leaflet-measure.js",
        "3.1.0",
    ),
    f"{_JSD}/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.css": (
        "leaflet-measure.css",
        "3.1.0",
    ),
    f"{_JSD}/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js": (
        "leaflet-search.min.js",
        "2.9.7",
    ),
    f"{_JSD}/npm/leaflet-search@2.9.7/dist/leaflet-search.min.css": (
        "leaflet-search.min.css",
        "2.9.7",
    ),
    # folium's defaults that the map does not use: dropped, not vendored
    "https://code.jquery.com/jquery-3.7.1.min.js": ("", ""),
    f"{_JSD}/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": ("", ""),
    f"{_JSD}/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": ("", ""),
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": ("", ""),
    f"{_JSD}/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": ("", ""),
    f"{_CFL}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": ("", ""),
    f"{_CFL}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": ("", ""),
    f"{_JSD}/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css": (
        "",
        "",
    ),
}


def folium_cdn_urls(m: Any) -> list[str]:
    """The CDN URLs folium would write into the page of map ``m`` (before they are stripped)."""
    return list(getattr(m, "_ynps_cdn_urls", []))


def _cdn_asset(url: str) -> str | None:
    """The vendored asset standing in for a folium CDN URL ("" = drop it; None = unknown)."""
    entry = FOLIUM_CDN.get(url)
    return None if entry is None else entry[0]


# --------------------------------------------------------------------------- helpers


def _labels(language: str) -> dict[str, str]:
    if language not in LABELS:
        msg = f"map language {language!r} is not available; use one of {sorted(LABELS)}"
        raise ValidationError(msg)
    return LABELS[language]


def _category_label(cat: str, language: str) -> str:
    if language == "en":
        return _CATEGORY_EN.get(cat, cat.replace("_", " ").capitalize())
    try:
        from ynps_geo.model.facilities import CATEGORY_LABELS_ZH
    except ImportError:  # pragma: no cover - the other module is being finished
        CATEGORY_LABELS_ZH = {}
    return CATEGORY_LABELS_ZH.get(cat) or _FALLBACK_CATEGORY_ZH.get(cat, cat)


def _subtype_label(sub: Any, language: str) -> str:
    if not isinstance(sub, str) or not sub:
        return ""
    if language == "en":
        return sub.replace("_", " ")
    try:
        from ynps_geo.model.facilities import SUBTYPE_LABELS_ZH
    except ImportError:  # pragma: no cover
        SUBTYPE_LABELS_ZH = {}
    return SUBTYPE_LABELS_ZH.get(sub) or _FALLBACK_CATEGORY_ZH.get(sub, sub)


def _std_title(std: Any, language: str) -> str:
    title = std.title_en if language == "en" else std.title_zh
    return str(title or std.title_en or std.title_zh or std.id)


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _is_num(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _is_missing(value: Any) -> bool:
    """A covered flag that is unknown (``pd.NA``, None or NaN): the standard is not evaluable."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _is_true(value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    try:
        return bool(value) and value is not pd.NA
    except TypeError:
        return False


def _fmt_int(value: Any) -> str:
    return f"{float(value):,.0f}" if _is_num(value) else "–"


def _fmt_value(value: float, unit: str | None, lab: Mapping[str, str]) -> str:
    if unit == "km":
        return f"{value:.1f} {lab['km']}"
    return f"{value:.1f} {lab['minutes']}" if value < 10 else f"{value:.0f} {lab['minutes']}"


def _to_json(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # "</" would end the inline <script>; "\/" is a valid JSON and JS escape.
    return text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _to_wgs84(gdf: Any) -> Any:
    if gdf is None or len(gdf) == 0:
        return gdf
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        return gdf.to_crs(4326)
    return gdf


def _utm_crs(gdf: Any) -> Any:
    """The UTM zone :meth:`geopandas.GeoDataFrame.estimate_utm_crs` picks for ``gdf`` (WGS84).

    The zone of the centre of the bounds, computed directly: pyproj's database query behind
    ``estimate_utm_crs`` takes ~0.1 s a call. Where the query may answer otherwise (a centre on
    a zone's edge or the equator, or beyond UTM's latitudes) it is asked.
    """
    minx, miny, maxx, maxy = gdf.total_bounds
    x = float(np.mean([minx, maxx]))
    y = float(np.mean([miny, maxy]))
    if not (math.isfinite(x) and math.isfinite(y)) or (x + 180.0) % 6.0 == 0 or y == 0:
        return gdf.estimate_utm_crs()
    if not (-80.0 < y < 84.0 and -180.0 < x < 180.0):
        return gdf.estimate_utm_crs()
    return utm_epsg(x, y)


def _simplified_geoms(gdf: Any, tolerance_m: float = SIMPLIFY_M) -> list[Any]:
    """Geometries of ``gdf`` simplified in a metric CRS and rounded, in EPSG:4326."""
    import shapely

    gdf = _to_wgs84(gdf)
    geoms = gdf.geometry
    if tolerance_m > 0 and len(gdf):
        try:
            utm = _utm_crs(gdf)
            geoms = geoms.to_crs(utm).simplify(tolerance_m, preserve_topology=True).to_crs(4326)
        except (RuntimeError, ValueError):  # e.g. empty bounds: keep as is
            geoms = gdf.geometry
    arr = np.asarray(geoms.values, dtype=object)
    keep = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    rounded = shapely.transform(arr[keep], lambda c: np.round(c, COORD_DIGITS))
    out: list[Any] = [None] * len(arr)
    for i, g in zip(np.flatnonzero(keep), rounded, strict=True):
        out[i] = g
    return out


def _feature(geom: Any, props: dict[str, Any]) -> dict[str, Any]:
    import shapely

    return {
        "type": "Feature",
        "geometry": json.loads(shapely.to_geojson(geom)),
        "properties": props,
    }


# ------------------------------------------------------------------------ data layers


def _village_popup(
    row: Mapping[str, Any], standards: Sequence[Any], lab: Mapping[str, str], language: str
) -> tuple[str, list[int | None]]:
    name = _esc(row.get("name"))
    county = _esc(row.get("county"))
    setting = row.get("setting")
    setting_txt = lab.get(str(setting), "") if isinstance(setting, str) else ""
    lines = [
        f'<div class="ynps-popup"><b class="title">{name}</b>'
        + (f"（{county}）" if county and language == "zh" else f" ({county})" if county else "")
    ]
    pop_line = (
        f"{lab['population']}{lab['colon']}{_fmt_int(row.get('population'))} {lab['people_unit']}"
    )
    if setting_txt:
        pop_line += f" · {setting_txt}"
    lines.append(f"<div>{pop_line}</div><ul>")
    status: list[int | None] = []
    failed: list[str] = []
    not_applicable: list[str] = []
    for s in standards:
        title = _std_title(s, language)
        applies = row.get(f"{s.id}_applies")
        applies = True if applies is None else _is_true(applies)
        if not applies:
            status.append(None)
            not_applicable.append(_esc(title))
            continue
        if s.covered_column in row and _is_missing(row[s.covered_column]):
            status.append(2)  # not evaluable: the data cannot decide
            lines.append(
                f'<li class="na">? {_esc(title)}{lab["colon"]}{_esc(lab["cannot_tell"])}</li>'
            )
            continue
        covered = _is_true(row.get(s.covered_column))
        status.append(1 if covered else 0)
        value: Any = row.get(s.value_column)
        fac = row.get(f"{s.id}_facility")
        unit = lab["km"] if s.unit == "km" else lab["minutes"]
        thr = f"{lab['threshold']} ≤ {s.threshold:g} {unit}"
        if _is_num(value):
            text = _fmt_value(float(value), s.unit, lab)
            if isinstance(fac, str) and fac:
                comma = lab["sep"] if language == "en" else "，"
                text += f"{comma}{lab['nearest']}{lab['colon']}{_esc(fac)}"
        else:
            text = lab["unreachable"]
        mark, cls = ("✔", "ok") if covered else ("✘", "fail")
        thr = f"（{thr}）" if language == "zh" else f" ({thr})"
        lines.append(
            f'<li class="{cls}">{mark} {_esc(title)}{lab["colon"]}{text}'
            f'<span class="na">{thr}</span></li>'
        )
        if not covered:
            failed.append(_esc(title))
    lines.append("</ul>")
    if failed:
        lines.append(
            f'<div class="sum fail"><b>{lab["failed"]}{lab["colon"]}</b>'
            f"{lab['sep'].join(failed)}</div>"
        )
    elif any(v == 1 for v in status):
        lines.append(f'<div class="sum ok">{lab["all_met"]}</div>')
    if not_applicable:
        lines.append(
            f'<div class="na">{lab["not_applicable"]}{lab["colon"]}'
            f"{lab['sep'].join(not_applicable)}</div>"
        )
    lines.append("</div>")
    return "".join(lines), status


def _villages_data(result: AnalysisResult, lab: Mapping[str, str], language: str) -> dict[str, Any]:
    vil = _to_wgs84(result.villages)
    features: list[dict[str, Any]] = []
    if vil is None or len(vil) == 0:
        return {"type": "FeatureCollection", "features": features}
    pts = vil.geometry
    if not (pts.geom_type == "Point").all():
        pts = pts.representative_point()
    xs = np.round(pts.x.to_numpy(dtype=float), COORD_DIGITS)
    ys = np.round(pts.y.to_numpy(dtype=float), COORD_DIGITS)
    records = vil.drop(columns=vil.geometry.name).to_dict("records")
    for x, y, row in zip(xs, ys, records, strict=True):
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        popup, status = _village_popup(row, result.standards, lab, language)
        popn = float(row["population"]) if _is_num(row.get("population")) else 0.0
        radius = round(min(10.0, 3.5 + math.sqrt(max(popn, 0.0)) / 12.0), 1)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
                "properties": {
                    "name": str(row.get("name") or ""),
                    "c": status,
                    "r": radius,
                    "p": popup,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _counties_data(result: AnalysisResult) -> tuple[dict[str, Any], list[list[Any]]]:
    counties = _to_wgs84(result.counties)
    shares = _county_shares(result)
    feats = []
    labels = []
    geoms = _simplified_geoms(counties)
    for county, geom, orig in zip(
        counties["county"].astype(str), geoms, counties.geometry, strict=True
    ):
        if geom is None:
            continue
        feats.append(_feature(geom, {"county": county, "s": shares.get(county, [])}))
        pt = orig.representative_point()
        labels.append([round(pt.x, COORD_DIGITS), round(pt.y, COORD_DIGITS), county])
    return {"type": "FeatureCollection", "features": feats}, labels


def _iso_data(result: AnalysisResult, lab: Mapping[str, str], language: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    iso = _to_wgs84(result.isochrones)
    if iso is None or len(iso) == 0:
        return out
    geoms = _simplified_geoms(iso)
    by_std: dict[str, list[dict[str, Any]]] = {}
    records = iso.drop(columns=iso.geometry.name).to_dict("records")
    titles = {s.id: _std_title(s, language) for s in result.standards}
    for row, geom in zip(records, geoms, strict=True):
        if geom is None:
            continue
        sid = str(row.get("standard_id"))
        unit = lab["km"] if row.get("unit") == "km" else lab["minutes"]
        mode = lab.get(str(row.get("mode")), str(row.get("mode") or ""))
        parts = [
            f'<div class="ynps-popup"><b class="title">{_esc(titles.get(sid, sid))}</b>',
            f"<div>{lab['county']}{lab['colon']}{_esc(row.get('county'))}</div>",
        ]
        if _is_num(row.get("threshold")):
            parts.append(
                f"<div>{lab['threshold']}{lab['colon']}≤ {float(row['threshold']):g} {unit}"
                f"（{_esc(mode)}）</div>"
                if language == "zh"
                else f"<div>{lab['threshold']}{lab['colon']}≤ {float(row['threshold']):g} {unit}"
                f" ({_esc(mode)})</div>"
            )
        if _is_num(row.get("population_inside")):
            parts.append(
                f"<div>{lab['pop_inside']}{lab['colon']}"
                f"{_fmt_int(row['population_inside'])} {lab['people_unit']}</div>"
            )
        if _is_num(row.get("area_km2")):
            parts.append(f"<div>{lab['area']}{lab['colon']}{float(row['area_km2']):,.1f} km²</div>")
        parts.append("</div>")
        by_std.setdefault(sid, []).append(_feature(geom, {"p": "".join(parts)}))
    for i, s in enumerate(result.standards):
        if s.id in by_std:
            out[s.id] = {
                "color": ISO_COLORS[i % len(ISO_COLORS)],
                "features": {"type": "FeatureCollection", "features": by_std[s.id]},
            }
    for sid, feats in by_std.items():  # isochrones of standards not in the list
        if sid not in out:
            out[sid] = {
                "color": ISO_COLORS[len(out) % len(ISO_COLORS)],
                "features": {"type": "FeatureCollection", "features": feats},
            }
    return out


def _capacity_text(row: Mapping[str, Any], lab: Mapping[str, str]) -> str:
    parts = []
    for col in ("beds", "doctors", "places"):
        if _is_num(row.get(col)) and float(row[col]) > 0:
            parts.append(f"{lab[col]} {float(row[col]):,.0f}")
    if _is_num(row.get("area_m2")) and float(row["area_m2"]) > 0:
        parts.append(f"{lab['area_m2']} {float(row['area_m2']):,.0f} m²")
    return lab["sep"].join(parts)


def _facilities_data(
    result: AnalysisResult, lab: Mapping[str, str], language: str
) -> dict[str, dict[str, Any]]:
    fac = _to_wgs84(result.facilities)
    out: dict[str, dict[str, Any]] = {}
    if fac is None or len(fac) == 0:
        return out
    pts = fac.geometry
    if not (pts.geom_type == "Point").all():
        pts = pts.representative_point()
    xs = np.round(pts.x.to_numpy(dtype=float), COORD_DIGITS)
    ys = np.round(pts.y.to_numpy(dtype=float), COORD_DIGITS)
    records = fac.drop(columns=fac.geometry.name).to_dict("records")
    for x, y, row in zip(xs, ys, records, strict=True):
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        cat = str(row.get("category") or "other_public")
        color, glyph_zh, glyph_en = CATEGORY_STYLE.get(cat, ("#555555", "设", "P"))
        entry = out.setdefault(
            cat,
            {
                "label": _category_label(cat, language),
                "color": color,
                "glyph": glyph_en if language == "en" else glyph_zh,
                "items": [],
            },
        )
        name = str(row.get("name") or "")
        sub = _subtype_label(row.get("subtype"), language)
        raw = row.get("type_raw")
        type_txt = sub
        if isinstance(raw, str) and raw and raw != sub:
            type_txt = f"{sub}（{raw}）" if sub else raw
        parts = [
            f'<div class="ynps-popup"><b class="title">{_esc(name)}</b>',
            f"<div>{lab['category']}{lab['colon']}{_esc(entry['label'])}</div>",
        ]
        if type_txt:
            parts.append(f"<div>{lab['type']}{lab['colon']}{_esc(type_txt)}</div>")
        cap = _capacity_text(row, lab)
        if cap:
            parts.append(f"<div>{lab['capacity']}{lab['colon']}{_esc(cap)}</div>")
        if isinstance(row.get("source"), str) and row["source"]:
            parts.append(
                f'<div class="na">{lab["source"]}{lab["colon"]}{_esc(row["source"])}</div>'
            )
        parts.append("</div>")
        entry["items"].append([float(x), float(y), "".join(parts), name])
    order = {c: i for i, c in enumerate(CATEGORY_STYLE)}
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))


def _people_data(result: AnalysisResult) -> dict[str, Any] | None:
    people = result.people
    if (
        people is None
        or len(people) == 0
        or not {"lon", "lat", "population"} <= set(people.columns)
    ):
        return None
    df = people[["lon", "lat", "population"]].copy()
    df = df[np.isfinite(df["lon"]) & np.isfinite(df["lat"]) & (df["population"] > 0)]
    if df.empty:
        return None
    radius = 3
    cell_m = 0
    if len(df) > MAX_PEOPLE_POINTS:
        # Aggregate onto a grid coarse enough to keep at most ~MAX_PEOPLE_POINTS cells.
        span = max(
            float(df["lon"].max() - df["lon"].min()), float(df["lat"].max() - df["lat"].min())
        )
        step = max(span / math.sqrt(MAX_PEOPLE_POINTS / 2), 1e-4)
        while True:
            gx = np.floor(df["lon"] / step)
            gy = np.floor(df["lat"] / step)
            agg = df.groupby([gx, gy])["population"].sum()
            if len(agg) <= MAX_PEOPLE_POINTS:
                break
            step *= 1.4
        idx = agg.index.to_frame(index=False)
        df = pd.DataFrame(
            {
                "lon": (idx.iloc[:, 0].to_numpy() + 0.5) * step,
                "lat": (idx.iloc[:, 1].to_numpy() + 0.5) * step,
                "population": agg.to_numpy(),
            }
        )
        radius = 4
        # the cell's side in metres (square root of its area), for the legend
        lat = math.radians(float(df["lat"].mean()))
        side = step * math.sqrt(111_320.0 * math.cos(lat) * 110_574.0)
        cell_m = int(max(100, round(side / 100.0) * 100))
    pop = df["population"].to_numpy(dtype=float)
    breaks = people_breaks(pop)
    cls = np.searchsorted(np.asarray(breaks, dtype=float), pop, side="right")
    # fewer classes than colours: spread them over the whole ramp
    ramp = np.linspace(0, len(PEOPLE_COLORS) - 1, len(breaks) + 1).round().astype(int)
    colors = [PEOPLE_COLORS[i] for i in ramp]
    pts = np.column_stack(
        [np.round(df["lon"].to_numpy(), COORD_DIGITS), np.round(df["lat"].to_numpy(), COORD_DIGITS)]
    )
    data = [[float(a), float(b), int(c)] for (a, b), c in zip(pts, cls, strict=True)]
    out: dict[str, Any] = {
        "pts": data,
        "colors": colors,
        "radius": radius,
        "breaks": breaks,
        "max": float(pop.max()),
    }
    if cell_m:
        out["cell_m"] = cell_m
    return out


def _nice_number(x: float) -> float:
    """``x`` rounded (on a log scale) to 1, 2, 3 or 5 times a power of ten, at least 1."""
    if not math.isfinite(x) or x <= 1:
        return 1.0
    e = 10.0 ** math.floor(math.log10(x))
    return min((c * e for c in (1, 2, 3, 5, 10)), key=lambda v: abs(math.log(v / x)))


def people_breaks(pop: np.ndarray, n_classes: int = len(PEOPLE_COLORS)) -> list[float]:
    """Class breaks of the population layer: round numbers, evenly spaced on a log scale.

    People per cell range from a fraction of a person in the hills to thousands in a town, and
    most cells hold almost nobody: quantile breaks then read ``0–1, 1–1, 1–1, 1–3``. The
    breaks here are spaced evenly on a log scale between 1 person and the largest cell, and
    rounded to 1, 2, 3 or 5 times a power of ten, without duplicates and below the largest
    value, so every class is a range an official can read (``< 5``, ``5–30``, ``30–200``...).
    Class ``i`` is ``breaks[i-1] <= value < breaks[i]``.

    Examples
    --------
    >>> people_breaks(np.array([0.2, 0.5, 3.0, 40.0, 250.0, 4600.0]))
    [5.0, 30.0, 200.0, 1000.0]
    >>> people_breaks(np.array([0.1, 0.4, 0.9]))
    []
    """
    pop = np.asarray(pop, dtype=float)
    pop = pop[np.isfinite(pop) & (pop > 0)]
    top = float(pop.max()) if len(pop) else 0.0
    if top <= 1.0:
        return []
    raw = (10.0 ** (math.log10(top) * k / n_classes) for k in range(1, n_classes))
    return sorted({b for b in (_nice_number(v) for v in raw) if b < top})


def people_labels(breaks: Sequence[float], top: float, language: str = "zh") -> list[str]:
    """Legend labels of the classes of :func:`people_breaks` (``<50``, ``50–300``, ``≥1,000``)."""
    if not breaks:
        return [f"≤ {top:,.0f}" if top >= 1 else ("不足 1" if language == "zh" else "< 1")]
    labels = [f"< {breaks[0]:,.0f}"]
    labels += [f"{a:,.0f}–{b:,.0f}" for a, b in itertools.pairwise(breaks)]
    labels.append(f"≥ {breaks[-1]:,.0f}")
    return labels


# ------------------------------------------------------------------------ folium parts


@functools.lru_cache(maxsize=1)
def _folium_classes() -> dict[str, Any]:
    """The map's own folium elements (defined once; their templates compiled through the cache)."""
    from ynps_geo.report.jinja_cache import compiles_cached

    with compiles_cached():
        return _define_folium_classes()


def _define_folium_classes() -> dict[str, Any]:
    folium = _import_folium()
    from branca.element import Element, MacroElement
    from folium.map import Layer
    from folium.template import Template

    class YnpsRuntime(MacroElement):
        """Data object and runtime functions (``var ynps = ynpsMap(map, data)``)."""

        _template = Template(
            """
            {% macro script(this, kwargs) %}
            var {{ this.get_name() }}_data = {{ this.data_json }};
            var ynps = ynpsMap({{ this._parent.get_name() }}, {{ this.get_name() }}_data);
            {% endmacro %}
            """
        )

        def __init__(self, data: dict[str, Any]) -> None:
            super().__init__()
            self._name = "YnpsRuntime"
            self.data = data
            self.data_json = _to_json(data)

    class YnpsLayer(Layer):
        """A layer built by the runtime (``ynps.layer(key)``), listed in the layer control."""

        _template = Template(
            """
            {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = {{ this.js }};
            {% endmacro %}
            """
        )

        def __init__(
            self,
            js: str,
            name: str,
            *,
            overlay: bool = True,
            show: bool = True,
            control: bool = True,
        ) -> None:
            super().__init__(name=name, overlay=overlay, control=control, show=show)
            self._name = "YnpsLayer"
            self.js = js

    class YnpsControls(MacroElement):
        """Legend (with the standard selector) and the village search."""

        _template = Template(
            """
            {% macro script(this, kwargs) %}
            ynps.scale();
            ynps.legend({{ this.legend_json }});
            {%- if this.search_layer %}
            (function () {
              var ctl = new L.Control.Search({
                layer: {{ this.search_layer }}, propertyName: "name", initial: false,
                zoom: 14, marker: false, collapsed: true, position: "topleft",
                textPlaceholder: {{ this.placeholder }}, textErr: {{ this.not_found }},
                textCancel: {{ this.cancel }}
              });
              ctl.on("search:locationfound", function (e) {
                if (e.layer && e.layer.openPopup) { e.layer.openPopup(); }
              });
              {{ this._parent.get_name() }}.addControl(ctl);
            })();
            {%- endif %}
            ynps.compact({{ this.layer_control or "null" }});
            {% endmacro %}
            """
        )

        def __init__(
            self,
            legend_html: str,
            search_layer: str | None,
            lab: Mapping[str, str],
            language: str,
            layer_control: str | None = None,
        ) -> None:
            super().__init__()
            self._name = "YnpsControls"
            self.legend_json = _to_json(legend_html)
            self.search_layer = search_layer
            self.layer_control = layer_control
            self.placeholder = _to_json(lab["search"])
            self.not_found = _to_json("未找到" if language == "zh" else "not found")
            self.cancel = _to_json("取消" if language == "zh" else "cancel")

    class RawElement(Element):
        """An element whose text is written as is (not a Jinja template)."""

        def __init__(self, text: str) -> None:
            super().__init__("")
            self.text = text

        def render(self, **kwargs: Any) -> str:
            return self.text

    return {
        "folium": folium,
        "Element": RawElement,
        "YnpsRuntime": YnpsRuntime,
        "YnpsLayer": YnpsLayer,
        "YnpsControls": YnpsControls,
    }


def _legend_html(
    result: AnalysisResult, data: Mapping[str, Any], lab: Mapping[str, str], language: str
) -> str:
    h = [
        f'<div class="ynps-legend-head">{_esc(lab["legend_title"])}</div>',
        '<div class="ynps-legend-body">',
        f'<div class="na">{_esc(lab["how_to"])}</div>',
        f"<h4>{_esc(lab['villages_h'])}</h4>",
        f'<div class="row"><span class="ynps-dot" style="background:{COLORS["uncovered"]}"></span>'
        f'<span class="ynps-red-note">{_esc(lab["uncovered"])}</span></div>',
        f'<div class="row"><span class="ynps-dot" style="background:{COLORS["covered"]}"></span>'
        f"<span>{_esc(lab['covered'])}</span></div>",
        f'<div class="row"><span class="ynps-dot" style="background:{COLORS["na"]}"></span>'
        f"<span>{_esc(lab['na'])}</span></div>",
        f'<div class="row"><span class="ynps-dot" style="background:{COLORS["unknown"]}">'
        f"</span><span>{_esc(lab['unknown'])}</span></div>",
    ]
    if result.standards:
        opts = [f'<option value="-1">{_esc(lab["all_standards"])}</option>']
        for i, s in enumerate(result.standards):
            opts.append(f'<option value="{i}">{_esc(_std_title(s, language))}</option>')
        h.append(
            f'<div class="row"><label>{_esc(lab["color_by"])}{lab["colon"]}'
            f'<select class="ynps-std">{"".join(opts)}</select></label></div>'
        )
    if data["facilities"]:
        h.append(f'<h4>{_esc(lab["facilities_h"])}</h4><div class="wrap">')
        for entry in data["facilities"].values():
            h.append(
                f'<span class="item"><span class="ynps-fac-icon small"><span style="background:'
                f'{entry["color"]}">{_esc(entry["glyph"])}</span></span>'
                f"{_esc(entry['label'])}</span>"
            )
        h.append("</div>")
    if data["isochrones"]:
        h.append(f'<h4>{_esc(lab["iso_h"])}</h4><div class="wrap">')
        titles = {s.id: _std_title(s, language) for s in result.standards}
        for sid, entry in data["isochrones"].items():
            h.append(
                f'<span class="item"><span class="ynps-sq" style="background:{entry["color"]};'
                f'opacity:.6"></span>{_esc(titles.get(sid, sid))}</span>'
            )
        h.append("</div>")
    h.append(f"<h4>{_esc(lab['choro_h'])}</h4>")
    cells, lo = [], 0.0
    for hi, color in _share_steps(share_colormap()):
        text = f"≥{lo:.0%}" if hi > 1 else f"{lo:.0%}–{hi:.0%}"
        cells.append(f'<td><span class="bar" style="background:{color}"></span>{text}</td>')
        lo = hi
    h.append(f'<table class="scale"><tr>{"".join(cells)}</tr></table>')
    if data.get("people"):
        people = data["people"]
        head = lab["people_h"]
        if people.get("cell_m"):
            head = lab["people_cell_h"].format(cell=f"{people['cell_m']:,}")
        h.append(f"<h4>{_esc(head)}</h4>")
        labels = people_labels(people["breaks"], people["max"], language)
        cells = [
            f'<td><span class="bar" style="background:{color}"></span>{_esc(text)}</td>'
            for text, color in zip(labels, people["colors"], strict=True)
        ]
        h.append(f'<table class="scale"><tr>{"".join(cells)}</tr></table>')
    h.append("</div>")
    return "".join(h)


def build_map(result: AnalysisResult, language: str = "zh") -> Any:
    """A folium Map of the counties, facilities, isochrones, villages and population.

    Parameters
    ----------
    result : AnalysisResult
        The analysis to show.
    language : {"zh", "en"}
        Interface and popup language (Chinese by default).

    Returns
    -------
    folium.Map
        The map; its scripts and stylesheets are the vendored, inlined assets. Use
        :func:`map_html` or :func:`save_map` for the checked, self-contained HTML file.

    Raises
    ------
    MissingDependencyError
        If folium is not installed.
    ValidationError
        For an unknown ``language``.
    """
    require("folium", "the interactive map")
    _import_folium()
    lab = _labels(language)
    k = _folium_classes()
    folium = k["folium"]
    from folium import plugins

    counties_fc, county_labels = _counties_data(result)
    data: dict[str, Any] = {
        "labels": {
            "no_data": lab["no_data"],
            "all_standards": lab["all_standards"],
            "covered_share": lab["covered_share"],
        },
        "colors": COLORS,
        "share_classes": _share_steps(share_colormap()),
        "standards": [{"id": s.id, "title": _std_title(s, language)} for s in result.standards],
        "villages": _villages_data(result, lab, language),
        "counties": counties_fc,
        "county_labels": county_labels,
        "isochrones": {},
        "facilities": {},
        "people": _people_data(result),
    }

    isochrones = _iso_data(result, lab, language)
    # isochrones are folium GeoJson layers; the runtime keeps their colours for the legend
    data["isochrones"] = {sid: {"color": e["color"]} for sid, e in isochrones.items()}
    facilities = _facilities_data(result, lab, language)
    # the runtime needs only the legend entries; the points go to folium's FastMarkerCluster
    data["facilities"] = {
        cat: {k: v for k, v in entry.items() if k != "items"} for cat, entry in facilities.items()
    }

    bounds = _to_wgs84(result.counties).total_bounds if len(result.counties) else None
    if bounds is None or not np.all(np.isfinite(bounds)):
        bounds = np.array([97.5, 21.1, 106.2, 29.3])  # Yunnan
    m = folium.Map(
        location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2],
        zoom_start=9,
        tiles=None,
        control_scale=False,  # ynps.scale(): metric only
        prefer_canvas=False,
    )
    m.fit_bounds([[float(bounds[1]), float(bounds[0])], [float(bounds[3]), float(bounds[2])]])
    m.get_root().header.add_child(k["Element"](_head_assets(language)), name="ynps_assets")
    m.get_root().title = result.name or "ynps_geo"

    # Base layers: Tianditu first when a key is configured (Chinese labels, served in China).
    token = os.environ.get("TIANDITU_TOKEN", "").strip()
    base_js: list[tuple[str, str]] = []
    if token:
        note = "zh" if language == "zh" else "en"
        vec_label, img_label = ("cva", "cia") if note == "zh" else ("eva", "eia")
        attr = "&copy; 天地图 tianditu.gov.cn"
        for key, base, label in (("tdt_vec", "vec", vec_label), ("tdt_img", "img", img_label)):
            tiles = ", ".join(
                f"L.tileLayer({_to_json(_TDT_URL.replace('{layer}', layer) + token)}, "
                f'{{subdomains: "01234567", maxZoom: 18, attribution: {_to_json(attr)}}})'
                for layer in (base, label)
            )
            base_js.append((lab[key], f"L.layerGroup([{tiles}])"))
    osm_attr = (
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
        f"contributors · {lab['attribution']}"
    )
    base_js.append(
        (
            lab["osm"],
            'L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", '
            f"{{maxZoom: 19, attribution: {_to_json(osm_attr)}}})",
        )
    )
    base_js.append(
        (lab["blank"], f"L.layerGroup([], {{attribution: {_to_json(lab['attribution'])}}})")
    )

    k["YnpsRuntime"](data).add_to(m)
    for i, (name, js) in enumerate(base_js):
        k["YnpsLayer"](js, name, overlay=False, show=i == 0).add_to(m)

    layer_cls = k["YnpsLayer"]
    layer_cls('ynps.layer("choropleth")', lab["choropleth"], show=False).add_to(m)
    first = True
    titles = {s.id: _std_title(s, language) for s in result.standards}
    for sid, entry in isochrones.items():
        name = (
            f'<span class="ynps-sw" style="background:{entry["color"]}"></span>'
            f"{_esc(titles.get(sid, sid))} · {lab['iso']}"
        )
        style = {"color": entry["color"], "weight": 1, "fillColor": entry["color"]}
        folium.GeoJson(
            entry["features"],
            name=name,
            show=first,
            style_function=lambda _f, style=style: {**style, "fillOpacity": 0.22},
            popup=folium.GeoJsonPopup(fields=["p"], labels=False, max_width=320),
            pane="ynps-iso",
        ).add_to(m)
        first = False
    layer_cls('ynps.layer("counties")', lab["county_bounds"]).add_to(m)
    if data["people"]:
        layer_cls('ynps.layer("people")', lab["people"], show=False).add_to(m)
    for entry in facilities.values():
        label = (
            f"{_esc(entry['label'])}{lab['facilities']}"
            if language == "zh"
            else f"{lab['facilities']}: {_esc(entry['label'])}"
        )
        name = (
            f'<span class="ynps-sw" style="background:{entry["color"]}"></span>'
            f"{label} ({len(entry['items'])})"
        )
        icon_html = f'<span style="background:{entry["color"]}">{_esc(entry["glyph"])}</span>'
        plugins.FastMarkerCluster(
            [[y, x, popup, title] for x, y, popup, title in entry["items"]],
            callback=(
                "function (row) {\n"
                '  var icon = L.divIcon({className: "ynps-fac-icon", '
                f"html: {_to_json(icon_html)}, "
                "iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -10]});\n"
                "  return L.marker(new L.LatLng(row[0], row[1]), {icon: icon, title: row[3]})"
                ".bindPopup(row[2], {maxWidth: 320});\n}"
            ),
            name=name,
            show=True,
            maxClusterRadius=45,
            disableClusteringAtZoom=15,
            icon_create_function=f"ynps.clusterIcon({_to_json(entry['color'])})",
        ).add_to(m)
    villages = layer_cls('ynps.layer("villages")', lab["villages"])
    villages.add_to(m)
    from ynps_geo.report.changes import add_map_layer

    add_map_layer(m, result, layer_cls, language)  # villages changed since the previous run

    layer_control = folium.LayerControl(collapsed=False, position="topright")
    layer_control.add_to(m)
    plugins.Fullscreen(
        position="topleft",
        title=lab["fullscreen"],
        title_cancel=lab["exit_fullscreen"],
        force_separate_button=True,
    ).add_to(m)
    plugins.MeasureControl(
        position="topleft",
        primary_length_unit="kilometers",
        secondary_length_unit="meters",
        primary_area_unit="hectares",
        secondary_area_unit="sqmeters",
    ).add_to(m)
    k["YnpsControls"](
        _legend_html(result, data, lab, language),
        villages.get_name() if data["villages"]["features"] else None,
        lab,
        language,
        layer_control.get_name(),
    ).add_to(m)
    _strip_cdn_links(m)
    return m


def _head_assets(language: str) -> str:
    scripts = [
        "leaflet.js",
        "leaflet.markercluster.js",
        "Control.FullScreen.js",
        "leaflet-measure.cn.js" if language == "zh" else "leaflet-measure.js",
        "leaflet-search.min.js",
        "ynps_map.js",
    ]
    styles = [
        "leaflet.css",
        "MarkerCluster.css",
        "MarkerCluster.Default.css",
        "Control.FullScreen.css",
        "leaflet-measure.css",
        "leaflet-search.min.css",
        "ynps_map.css",
    ]
    return "\n".join(
        [*(inline.style_tag(s) for s in styles), *(inline.script_tag(s) for s in scripts)]
    )


def _strip_cdn_links(m: Any) -> None:
    """Clear folium's CDN ``default_js``/``default_css`` on every element (assets are inline).

    The URLs cleared are kept on the map (:func:`folium_cdn_urls`) for the check that each is
    one the vendored assets stand in for (:data:`FOLIUM_CDN`).
    """
    from folium.elements import JSCSSMixin

    urls: list[str] = []
    stack = [m]
    while stack:
        el = stack.pop()
        if isinstance(el, JSCSSMixin):
            urls.extend(url for _, url in [*el.default_js, *el.default_css])
            el.default_js = []
            el.default_css = []
        stack.extend(el._children.values())
    m._ynps_cdn_urls = sorted(set(urls))


@contextlib.contextmanager
def _json_as_utf8() -> Iterator[None]:
    """Let folium's templates write JSON data with Chinese as UTF-8, not ``\\uXXXX`` (6x).

    jinja2's ``tojson`` still escapes ``<``, ``>``, ``&`` and ``'``, so the data stays safe
    inside ``<script>``. The policy of folium's template environment is restored afterwards.
    """
    from folium.template import Template

    env = Template("").environment
    old = env.policies.get("json.dumps_kwargs")
    env.policies["json.dumps_kwargs"] = {**(old or {}), "ensure_ascii": False}
    try:
        yield
    finally:
        env.policies["json.dumps_kwargs"] = old


#: what makes a text a jinja2 template rather than plain text (the default delimiters)
_JINJA_MARKS = ("{{", "{%", "{#")


@functools.lru_cache(maxsize=1)
def _text_element_class() -> type:
    """branca's ``Element``, made for text already rendered: kept as text, not compiled.

    A ``MacroElement`` renders its macros and wraps each output in ``Element(text)``, which
    compiles the text (the map's data, every isochrone layer: megabytes) as a jinja2
    template, only to render it back unchanged. This subclass keeps such text as it is and
    renders it as jinja2 would (newlines normalised, one trailing newline dropped); a text
    holding jinja2 syntax is compiled as before.
    """
    from branca.element import Element

    class TextElement(Element):
        def __init__(self, template: str | None = None, template_name: str | None = None):
            if template is None or any(mark in template for mark in _JINJA_MARKS):
                super().__init__(template, template_name)
                self._ynps_text: str | None = None
                return
            super().__init__()
            text = str(template).replace("\r\n", "\n").replace("\r", "\n")
            self._ynps_text = text[:-1] if text.endswith("\n") else text
            self._template_str = str(template)  # as Element keeps it (for pickling)

        def render(self, **kwargs: Any) -> str:
            if self._ynps_text is None:
                return str(super().render(**kwargs))
            return self._ynps_text

    return TextElement


def _rendered_text_kept() -> contextlib.AbstractContextManager[None]:
    """While rendering the map, branca wraps rendered macros in :func:`_text_element_class`.

    ``MacroElement.render`` looks ``Element`` up in :mod:`branca.element` at call time; the
    name is restored when the last block (of any thread) ends. The page is the same, rendered
    without compiling its data as templates (~0.15 s of the demo's map).
    """
    import branca.element

    from ynps_geo.report.jinja_cache import patched_attribute

    return patched_attribute(branca.element, "Element", _text_element_class())


def map_html(result: AnalysisResult, language: str = "zh") -> str:
    """The map as one self-contained HTML document.

    Parameters
    ----------
    result : AnalysisResult
    language : {"zh", "en"}

    Returns
    -------
    str
        HTML with every script and stylesheet inline.

    Raises
    ------
    ValueError
        If the page would still load a script or stylesheet from the network (a folium
        version that adds an asset not vendored in ``report/assets/``).
    """
    with _json_as_utf8():
        m = build_map(result, language)
        with _rendered_text_kept():
            page = m.get_root().render()
    page = inline.inline_resources(page, _cdn_asset, strict=True)
    page = page.replace("<html>", f'<html lang="{"zh-CN" if language == "zh" else "en"}">', 1)
    left = inline.external_refs(page)
    if left:
        msg = f"map.html would load {left[:3]} from the network; vendor these assets"
        raise ValueError(msg)
    return page


def save_map(result: AnalysisResult, path: str | Path, language: str = "zh") -> Path:
    """Write :func:`map_html` to ``path`` (UTF-8) atomically and return the path."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(map_html(result, language), encoding="utf-8")
    tmp.replace(path)
    return path
