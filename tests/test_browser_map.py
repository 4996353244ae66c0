"""Open ``map.html`` in headless Chromium from ``file://`` with the network off.

Skips without Chromium or the ``playwright`` package (fails when ``CI=true``). The lead also
runs it on the demo output: set ``YNPS_MAP_HTML=/path/to/map.html`` to test that file too.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest

pytest.importorskip("folium")
pytest.importorskip("geopandas")

from browser import BrowserResult, load_in_chromium, require_browser
from test_maps import layer_names, make_result

from ynps_geo.report import maps

CHECKS = {
    "villages": "document.querySelectorAll('path.ynps-village').length",
    "red": "Array.from(document.querySelectorAll('path.ynps-village'))"
    ".filter(function (p) { return p.getAttribute('fill') === '#d62728'; }).length",
    "control_labels": "Array.from(document.querySelectorAll('.leaflet-control-layers label'))"
    ".map(function (l) { return l.textContent.trim(); })",
    "legend": "(document.querySelector('.ynps-legend') || {}).textContent || ''",
    "clusters": "document.querySelectorAll('.ynps-cluster, .ynps-fac-icon').length",
    "counties": "document.querySelectorAll('.ynps-county-label').length",
    "iso": "document.querySelectorAll('.leaflet-ynps-iso-pane path').length",
    "controls": "['leaflet-control-zoom-fullscreen', 'leaflet-control-measure', "
    "'leaflet-control-search'].map(function (c) "
    "{ return document.getElementsByClassName(c).length; })",
}


def _plain(name: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", name)).strip()


def _open_popup(page, query: str = "村1") -> None:  # type: ignore[no-untyped-def]
    page.evaluate(
        "() => { var p = document.querySelector('path.ynps-village');"
        " p.dispatchEvent(new MouseEvent('click', {bubbles: true})); }"
    )
    page.wait_for_timeout(500)
    # search a village by name (leaflet-search): the list of matches appears
    page.click(".leaflet-control-search .search-button")
    box = page.locator(".leaflet-control-search input.search-input")
    box.fill(query)
    box.dispatch_event("keyup")  # leaflet-search listens to keyup
    page.wait_for_timeout(1000)


def _check(path: Path, shot: Path, expected_layers: list[str], query: str = "村1") -> BrowserResult:
    checks = dict(
        CHECKS,
        search_hits="document.querySelectorAll('.search-tip').length",
        popup="(document.querySelector('.leaflet-popup-content') || {}).textContent || ''",
    )
    res = load_in_chromium(
        path, shot, dom_checks=checks, actions=lambda page: _open_popup(page, query)
    )
    assert res.js_errors == [], res.js_errors
    assert res.dom_checks["villages"] > 0
    labels = res.dom_checks["control_labels"]
    for name in expected_layers:
        assert any(name == label for label in labels), (name, labels)
    assert res.dom_checks["clusters"] > 0
    assert res.dom_checks["search_hits"] > 0
    assert res.dom_checks["counties"] > 0
    assert res.dom_checks["iso"] > 0  # folium GeoJson isochrones, in the runtime's pane
    assert all(n > 0 for n in res.dom_checks["controls"]), res.dom_checks["controls"]
    assert shot.is_file() and shot.stat().st_size > 10_000
    # every request that tried to leave the machine was a map tile
    assert all(re.search(r"\.png|wmts|/\d+/\d+/\d+", u) for u in res.blocked_requests), (
        res.blocked_requests[:5]
    )
    return res


def test_map_opens_offline_zh(tmp_path: Path) -> None:
    require_browser()
    path = maps.save_map(make_result(), tmp_path / "map.html")
    page = path.read_text(encoding="utf-8")
    expected = [_plain(n) for n in layer_names(page) + layer_names(page, "base_layers")]
    res = _check(path, tmp_path / "map_zh.png", expected)
    assert "红色 = 未达标" in res.dom_checks["legend"]
    assert res.dom_checks["red"] > 0
    assert "2,300 人" in res.dom_checks["popup"]
    assert "分钟" in res.dom_checks["popup"]


def test_map_opens_offline_en_with_tianditu(tmp_path: Path, monkeypatch) -> None:
    require_browser()
    monkeypatch.setenv("TIANDITU_TOKEN", "test-token")
    path = maps.save_map(make_result(), tmp_path / "map_en.html", language="en")
    page = path.read_text(encoding="utf-8")
    expected = [_plain(n) for n in layer_names(page) + layer_names(page, "base_layers")]
    assert any("Tianditu" in n for n in expected)
    res = _check(path, tmp_path / "map_en.png", expected)
    assert "Red = at least one standard NOT met" in res.dom_checks["legend"]
    assert "min" in res.dom_checks["popup"]


def test_demo_map_opens_offline(demo_output: Path, tmp_path: Path) -> None:
    """The demo pipeline's own map.html, as a county official would open it."""
    require_browser()
    path = demo_output / "map.html"
    page = path.read_text(encoding="utf-8")
    expected = [_plain(n) for n in layer_names(page) + layer_names(page, "base_layers")]
    assert len(expected) >= 10
    import geopandas as gpd

    name = str(gpd.read_file(demo_output / "villages.gpkg", layer="villages")["name"].iloc[0])
    _check(path, tmp_path / "demo_map.png", expected, query=name[:2])


@pytest.mark.skipif(not os.environ.get("YNPS_MAP_HTML"), reason="set YNPS_MAP_HTML to a map.html")
def test_given_map_html(tmp_path: Path) -> None:
    """The lead's check of a real output (e.g. the demo pipeline's map.html)."""
    require_browser()
    path = Path(os.environ["YNPS_MAP_HTML"])
    page = path.read_text(encoding="utf-8")
    expected = [_plain(n) for n in layer_names(page) + layer_names(page, "base_layers")]
    _check(path, tmp_path / "given_map.png", expected)


LAYOUT = {
    "legend_folded": "document.querySelector('.ynps-legend').classList.contains('ynps-collapsed')",
    "layers_open": "document.querySelector('.leaflet-control-layers').classList"
    ".contains('leaflet-control-layers-expanded')",
    "scale_lines": "document.querySelectorAll('.leaflet-control-scale-line').length",
}


def test_narrow_window_folds_legend_and_layers(tmp_path: Path) -> None:
    """At 800 px the legend and the layer list would hide the map and the popups."""
    require_browser()
    path = maps.save_map(make_result(), tmp_path / "map.html")

    def unfold_and_click(page) -> None:  # type: ignore[no-untyped-def]
        page.click(".ynps-legend-head")
        page.wait_for_timeout(200)
        page.evaluate(
            "() => document.querySelector('path.ynps-village')"
            ".dispatchEvent(new MouseEvent('click', {bubbles: true}))"
        )
        page.wait_for_timeout(500)

    narrow = load_in_chromium(path, tmp_path / "narrow.png", width=800, dom_checks=LAYOUT)
    assert narrow.js_errors == []
    assert narrow.dom_checks == {"legend_folded": True, "layers_open": False, "scale_lines": 1}
    # the legend opens on a click on its title, and folds again when a popup opens
    clicked = load_in_chromium(
        path,
        tmp_path / "narrow-popup.png",
        width=800,
        actions=unfold_and_click,
        dom_checks={**LAYOUT, "popup": "document.querySelectorAll('.leaflet-popup').length"},
    )
    assert clicked.dom_checks["popup"] == 1 and clicked.dom_checks["legend_folded"] is True
    wide = load_in_chromium(path, tmp_path / "wide.png", width=1366, dom_checks=LAYOUT)
    assert wide.dom_checks == {"legend_folded": False, "layers_open": True, "scale_lines": 1}
