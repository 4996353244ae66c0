"""QGIS styles in the output GeoPackages (``layer_styles`` with QML), on the demo county.

The rule filters are QGIS expressions; a small translator evaluates them on the layer's
rows, so the tests check that each village gets the map's colour (computed here
independently from the ``S_applies``/``S_covered`` columns) and each county its share class.
"""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from ynps_geo.errors import DataSourceError
from ynps_geo.io.vector import LayerStyle, read_villages, write_layer, write_layer_styles
from ynps_geo.model.standards import load_standards
from ynps_geo.report import qgis

LAYERS = ["villages", "uncovered_villages", "isochrones", "facility_isochrones", "facilities"]


def _styles(path: Path) -> pd.DataFrame:
    con = sqlite3.connect(path)
    try:
        return pd.read_sql(
            "SELECT f_table_name, f_geometry_column, styleName, styleQML, useAsDefault "
            "FROM layer_styles ORDER BY id",
            con,
        )
    finally:
        con.close()


def _rgb(colour: str) -> str:
    """'r,g,b' of a hex colour (opacity aside)."""
    return qgis._rgba(colour).rsplit(",", 1)[0]


def _rules(qml: str) -> list[tuple[str, str, str]]:
    """(label, filter, colour 'r,g,b,a') per rule of a rule-based QML."""
    root = ET.fromstring(qml.split("\n", 1)[1])
    assert root.tag == "qgis"
    r = root.find("renderer-v2")
    assert r is not None and r.get("type") == "RuleRenderer"
    colours = {
        sym.get("name"): sym.find("layer/Option/Option[@name='color']")
        .get("value")
        .rsplit(",", 1)[0]
        for sym in r.iter("symbol")
    }
    return [
        (rule.get("label"), rule.get("filter"), colours[rule.get("symbol")])
        for rule in r.find("rules")
    ]


_TOKEN = re.compile(
    r'"((?:[^"]|"")*)"|\bIS NOT NULL\b|\bIS NULL\b|\bAND\b|\bOR\b|\bNOT\b|\bTRUE\b|\bFALSE\b'
)


def _evaluate(expr: str, row: dict[str, Any]) -> bool:
    """A QGIS filter of the grammar the styles use, evaluated on one row."""

    def sub(m: re.Match[str]) -> str:
        word = m.group(0)
        if m.group(1) is not None:
            return f"_v[{m.group(1)!r}]"
        return {
            "IS NOT NULL": " is not None",
            "IS NULL": " is None",
            "AND": "and",
            "OR": "or",
            "NOT": "not",
            "TRUE": "True",
            "FALSE": "False",
        }[word]

    py = _TOKEN.sub(sub, expr).replace("coalesce(", "_coalesce(")

    def _coalesce(a: Any, b: Any) -> Any:
        return b if a is None else a

    values = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
    return bool(eval(py, {"_v": values, "_coalesce": _coalesce}))


def _matching(rules: list[tuple[str, str, str]], row: dict[str, Any]) -> str:
    """The colour QGIS draws a feature with: the first matching rule, else the ELSE rule."""
    hits = [c for _, f, c in rules if f != "ELSE" and _evaluate(f, row)]
    assert len(hits) <= 1, "rules overlap"
    if hits:
        return hits[0]
    return next(c for _, f, c in rules if f == "ELSE")


@pytest.fixture(scope="module")
def standards(demo_output: Path) -> list[Any]:
    """The demo's standards in the run's order (the order of the villages' columns)."""
    cols = pyogrio.read_info(demo_output / "villages.gpkg", layer="villages")["fields"]
    known = load_standards()
    return [known[c[: -len("_covered")]] for c in cols if str(c).endswith("_covered")]


def test_every_output_geopackage_holds_its_styles(demo_output: Path) -> None:
    for name in [*LAYERS, "counties"]:
        path = demo_output / f"{name}.gpkg"
        assert path.exists(), name
        st = _styles(path)
        assert set(st["f_table_name"]) == {name}, name
        assert st["useAsDefault"].sum() == 1, name
        assert (st["f_geometry_column"] == "geom").all()
        for qml in st["styleQML"]:
            assert qml.startswith("<!DOCTYPE qgis")
            root = ET.fromstring(qml.split("\n", 1)[1])  # parses as XML
            assert root.tag == "qgis" and root.find("renderer-v2") is not None
        # the data layer is still the one a reader opens by default
        layers = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
        assert layers[0] == name


def test_village_colours_equal_the_maps(demo_output: Path, standards: list[Any]) -> None:
    gdf = gpd.read_file(demo_output / "villages.gpkg", layer="villages")
    st = _styles(demo_output / "villages.gpkg")
    ids = [s.id for s in standards]
    assert len(st) == 1 + len(ids)  # all standards, then one per standard
    red, green, grey = (_rgb(qgis.COLORS[k]) for k in ("uncovered", "covered", "na"))
    rows = gdf.drop(columns="geometry").to_dict("records")
    default = _rules(st.loc[st["useAsDefault"] == 1, "styleQML"].iloc[0])
    seen = set()
    for row in rows:
        applies = [bool(row[f"{i}_applies"]) for i in ids]
        covered = [bool(row[f"{i}_covered"]) for i in ids]
        fail = any(a and not c for a, c in zip(applies, covered, strict=True))
        want = red if fail else (green if any(applies) else grey)
        assert _matching(default, row) == want, row["village_id"]
        seen.add(want)
    assert {red, green} <= seen
    for sid in ids:
        title = next(s.title_zh for s in standards if s.id == sid)
        rules = _rules(st.loc[st["styleName"] == title, "styleQML"].iloc[0])
        assert [r[0] for r in rules] == ["未覆盖", "无法判断", "已覆盖", "不适用"]
        for row in rows:
            a, c = bool(row[f"{sid}_applies"]), bool(row[f"{sid}_covered"])
            want = grey if not a else (green if c else red)
            assert _matching(rules, row) == want, (sid, row["village_id"])


def test_county_share_classes_equal_the_maps(demo_output: Path, standards: list[Any]) -> None:
    st = _styles(demo_output / "counties.gpkg")
    assert st["styleName"].iloc[0] == "全部标准"
    rules = _rules(st["styleQML"].iloc[0])
    colours = [_rgb(c) for _, c in qgis.SHARE_CLASSES]
    assert [r[2] for r in rules] == [*colours, _rgb(qgis.COLORS["na"])]

    def map_class(s: float | None) -> str:  # the map's shareColor (ynps_map.js)
        if s is None:
            return _rgb(qgis.COLORS["na"])
        for hi, c in qgis.SHARE_CLASSES:
            if s < hi:
                return _rgb(c)
        return _rgb(qgis.SHARE_CLASSES[-1][1])

    for s in [None, 0.0, 0.4999, 0.5, 0.6999, 0.7, 0.85, 0.9499, 0.95, 1.0]:
        assert _matching(rules, {"all_share": s}) == map_class(s), s
    # the layer's shares are the coverage table's
    counties = gpd.read_file(demo_output / "counties.gpkg", layer="counties")
    cov = pd.read_csv(demo_output / "coverage.csv")
    for s in standards:
        hit = cov[(cov["county"] == counties["county"].iloc[0]) & (cov["standard_id"] == s.id)]
        if len(hit):
            assert counties[f"{s.id}_share"].iloc[0] == pytest.approx(hit["share_covered"].iloc[0])
            assert (st["styleName"] == s.title_zh).sum() == 1
    # labels: the county names
    root = ET.fromstring(st["styleQML"].iloc[0].split("\n", 1)[1])
    assert root.get("labelsEnabled") == "1"
    assert root.find("labeling/settings/text-style").get("fieldName") == "county"


def test_isochrones_one_colour_per_standard(demo_output: Path, standards: list[Any]) -> None:
    iso = gpd.read_file(demo_output / "isochrones.gpkg", layer="isochrones")
    qml = _styles(demo_output / "isochrones.gpkg")["styleQML"].iloc[0]
    r = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2")
    assert r.get("type") == "categorizedSymbol" and r.get("attr") == "standard_id"
    values = [c.get("value") for c in r.iter("category")]
    assert set(values) == set(iso["standard_id"])
    colours = {
        sym.get("name"): sym.find("layer/Option/Option[@name='color']").get("value")
        for sym in r.iter("symbol")
    }
    got = {c.get("value"): colours[c.get("symbol")] for c in r.iter("category")}
    order = [s.id for s in standards]
    for sid, colour in got.items():
        want = qgis.ISO_COLORS[order.index(sid) % len(qgis.ISO_COLORS)]
        assert colour == qgis._rgba(want, 0.35), sid
    assert len(set(got.values())) == len(got)


def test_styled_geopackage_reads_as_one_layer(demo_output: Path, tmp_path: Path) -> None:
    """A GeoPackage with QGIS styles (ours, or saved from QGIS) is read without `layer:`."""
    vil = demo_output / "villages.gpkg"
    assert "layer_styles" in [str(n) for n in pyogrio.list_layers(vil)[:, 0]]
    got = read_villages(
        {"path": vil.name, "id": "village_id", "name": "name", "population": "population"},
        vil.parent,
    )
    assert len(got) == len(gpd.read_file(vil, layer="villages"))


def test_write_layer_styles_replaces_and_keeps(tmp_path: Path) -> None:
    pts = gpd.GeoDataFrame({"a": [1, 2]}, geometry=gpd.points_from_xy([100, 101], [25, 26]))
    pts = pts.set_crs("EPSG:4326")
    path = tmp_path / "two.gpkg"
    style = LayerStyle("s1", qgis.qml_rules([("x", "ELSE", "#ff0000")], geometry="point"), True)
    write_layer(pts, path, layer="one", styles=[style])
    write_layer(pts, path, layer="two", styles=[style, LayerStyle("s2", style.qml)])
    st = _styles(path)
    assert list(st["f_table_name"]) == ["one", "two", "two"]
    write_layer_styles(path, "one", [LayerStyle("new", style.qml, True)])
    st = _styles(path)
    assert sorted(st.loc[st["f_table_name"] == "one", "styleName"]) == ["new"]
    assert (st["f_table_name"] == "two").sum() == 2
    with pytest.raises(DataSourceError, match="no layer 'three'"):
        write_layer_styles(path, "three", [style])
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_styles_written_without_journal_are_the_same(tmp_path: Path) -> None:
    """``durable=False`` (a temporary copy) writes the same rows, and the file is sound."""
    pts = gpd.GeoDataFrame({"a": [1, 2]}, geometry=gpd.points_from_xy([100, 101], [25, 26]))
    pts = pts.set_crs("EPSG:4326")
    style = LayerStyle("s1", qgis.qml_rules([("x", "ELSE", "#ff0000")], geometry="point"), True)
    tables = {}
    for durable in (True, False):
        path = tmp_path / f"{durable}.gpkg"
        write_layer(pts, path, layer="one")
        write_layer_styles(path, "one", [style, LayerStyle("s2", style.qml)], durable=durable)
        assert not list(tmp_path.glob("*-journal"))
        con = sqlite3.connect(path)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # not stored
        finally:
            con.close()
        tables[durable] = _styles(path)
    pd.testing.assert_frame_equal(tables[True], tables[False])


def test_qml_escapes_names_and_values() -> None:
    qml = qgis.qml_categorized(
        "standard_id", [('a"<b>&', "名 & <x>", "#123456")], geometry="polygon"
    )
    cat = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2/categories/category")
    assert cat.get("value") == 'a"<b>&' and cat.get("label") == "名 & <x>"
    assert qgis._field('we"ird') == '"we""ird"'


_QGIS_SCRIPT = """
import json, os, sys
from qgis.core import QgsApplication, QgsRenderContext, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
out = {}
for name in sys.argv[2:]:
    lyr = QgsVectorLayer(f"{sys.argv[1]}/{name}.gpkg|layername={name}", name, "ogr")
    msg, ok = lyr.loadDefaultStyle()
    r = lyr.renderer()
    ctx = QgsRenderContext()
    r.startRender(ctx, lyr.fields())
    colours = {}
    for f in lyr.getFeatures():
        syms = r.symbolsForFeature(f, ctx)
        key = str(f[lyr.fields().indexOf("village_id")]) if name == "villages" else str(f.id())
        colours[key] = syms[0].color().name() if syms else None
    r.stopRender(ctx)
    out[name] = {"ok": ok, "renderer": r.type(), "colours": colours}
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down; the answer is out
"""


def _qgis_python() -> str:
    """A Python that imports qgis.core (system QGIS, e.g. Debian's python3-qgis), or skip."""
    import shutil
    import subprocess

    for exe in ("/usr/bin/python3", shutil.which("python3") or ""):
        if exe and Path(exe).exists():
            probe = subprocess.run(
                [exe, "-c", "import qgis.core"], capture_output=True, check=False, timeout=60
            )
            if probe.returncode == 0:
                return exe
    pytest.skip("QGIS's Python bindings (e.g. apt install python3-qgis) are not installed")


def test_qgis_itself_opens_the_layers_styled(demo_output: Path) -> None:
    """QGIS applies the default style on open and draws each village in the map's colour."""
    import json
    import os
    import subprocess

    exe = _qgis_python()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTHONPATH", None)
    names = ["villages", "counties", "isochrones"]
    proc = subprocess.run(
        [exe, "-c", _QGIS_SCRIPT, str(demo_output), *names],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    )
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["villages"]["renderer"] == "RuleRenderer"
    assert got["counties"]["renderer"] == "RuleRenderer"
    assert got["isochrones"]["renderer"] == "categorizedSymbol"
    assert all(got[n]["ok"] for n in names)
    gdf = gpd.read_file(demo_output / "villages.gpkg", layer="villages")
    ids = [c[: -len("_covered")] for c in gdf.columns if str(c).endswith("_covered")]
    for row in gdf.drop(columns="geometry").to_dict("records"):
        fail = any(row[f"{i}_applies"] and not row[f"{i}_covered"] for i in ids)
        applies = any(row[f"{i}_applies"] for i in ids)
        want = qgis.COLORS["uncovered" if fail else ("covered" if applies else "na")]
        assert got["villages"]["colours"][str(row["village_id"])] == want


@pytest.mark.parametrize("n_standards", [1, 2])
def test_village_rules_follow_the_maps_precedence(n_standards: int) -> None:
    """Every combination of applies x covered (True, False, empty): red before purple (the
    data cannot tell) before green before grey, as the map's villageColor."""
    import itertools

    from ynps_geo.model.standards import PlanStandard

    stds = [
        PlanStandard(id=f"s{i}", kind="circle", facilities=(("health",),), threshold=15)
        for i in range(n_standards)
    ]
    cols = [c for s in stds for c in (f"{s.id}_applies", f"{s.id}_covered")]
    rules = _rules(qgis.village_styles(stds, cols)[0].qml)
    red, purple, green, grey = (
        _rgb(qgis.COLORS[k]) for k in ("uncovered", "unknown", "covered", "na")
    )
    seen = set()
    for combo in itertools.product([True, False], [True, False, None], repeat=n_standards):
        row = {}
        codes = []
        for i, s in enumerate(stds):
            ap, cov = combo[2 * i], combo[2 * i + 1]
            row[f"{s.id}_applies"], row[f"{s.id}_covered"] = ap, cov
            codes.append(None if not ap else {True: 1, False: 0, None: 2}[cov])
        want = red if 0 in codes else purple if 2 in codes else green if 1 in codes else grey
        assert _matching(rules, row) == want, row
        seen.add(want)
    assert seen == {red, purple, green, grey}
