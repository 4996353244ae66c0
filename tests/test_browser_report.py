"""Open ``report.html`` in headless Chromium from ``file://`` with the network off.

Asserts no JavaScript error, that the SVG charts render with a non-zero size, and that the
language buttons switch the page. Screenshots land under ``tmp_path``. Skips without Chromium
or the ``playwright`` package (fails when ``CI=true``). Set ``YNPS_REPORT_HTML`` to also test
an existing report (the lead's demo output, say).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from browser import load_in_chromium, require_browser

from ynps_geo import workflows

CHECKS = {
    "charts": "Array.from(document.querySelectorAll('svg.chart')).map(function (s) {"
    " var r = s.getBoundingClientRect();"
    " return [s.getAttribute('data-chart'), r.width, r.height]; })",
    "bars": "Array.from(document.querySelectorAll('rect.bar')).map(function (b) {"
    " return b.getBBox().width; })",
    "curves": "Array.from(document.querySelectorAll('path.curve')).map(function (p) {"
    " return p.getTotalLength(); })",
    "h1_zh": "getComputedStyle(document.querySelector('h1 .zh')).display",
    "h1_en": "getComputedStyle(document.querySelector('h1 .en')).display",
    "lang": "document.documentElement.lang",
    "title": "document.title",
    "tables": "document.querySelectorAll('table.tbl').length",
}


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_browser()
    out = tmp_path_factory.mktemp("browser-report")
    workflows.demo(out)
    return out / "report.html"


def _check_rendered(res: Any) -> None:
    assert res.js_errors == [], res.js_errors
    assert res.blocked_requests == [], f"the report tried to reach {res.blocked_requests}"
    charts = res.dom_checks["charts"]
    kinds = {c[0] for c in charts}
    assert "county-bars" in kinds and "cumulative-min" in kinds, kinds
    for name, width, height in charts:
        assert width > 100 and height > 50, (name, width, height)
    assert res.dom_checks["bars"] and all(w >= 0 for w in res.dom_checks["bars"])
    assert max(res.dom_checks["bars"]) > 10
    assert res.dom_checks["curves"] and min(res.dom_checks["curves"]) > 50
    assert res.dom_checks["tables"] >= 5
    assert res.screenshot is not None and res.screenshot.stat().st_size > 10_000


def test_report_renders_offline_in_chinese(report_path: Path, tmp_path: Path) -> None:
    res = load_in_chromium(
        report_path, tmp_path / "report-zh.png", dom_checks=CHECKS, height=2000, settle_ms=500
    )
    _check_rendered(res)
    assert res.dom_checks["h1_en"] == "none"
    assert res.dom_checks["h1_zh"] != "none"
    assert res.dom_checks["lang"] == "zh-CN"
    assert "覆盖评估报告" in res.dom_checks["title"]


def test_language_button_switches_to_english(report_path: Path, tmp_path: Path) -> None:
    def english(page: Any) -> None:
        page.click(".toolbar button[data-lang=en]")
        page.wait_for_timeout(200)
        page.evaluate("document.getElementById('charts').scrollIntoView()")
        page.wait_for_timeout(200)

    res = load_in_chromium(
        report_path,
        tmp_path / "report-en-charts.png",
        dom_checks=CHECKS,
        actions=english,
        height=2000,
        settle_ms=300,
    )
    _check_rendered(res)
    assert res.dom_checks["h1_zh"] == "none"
    assert res.dom_checks["h1_en"] != "none"
    assert res.dom_checks["lang"] == "en"
    assert res.dom_checks["title"].startswith("Public service coverage report")


@pytest.mark.skipif(not os.environ.get("YNPS_REPORT_HTML"), reason="YNPS_REPORT_HTML not set")
def test_given_report_renders(tmp_path: Path) -> None:
    require_browser()
    path = Path(os.environ["YNPS_REPORT_HTML"])
    res = load_in_chromium(path, tmp_path / "given.png", dom_checks=CHECKS, height=2000)
    _check_rendered(res)


def test_tables_fit_an_a4_page_when_printed(report_path: Path, tmp_path: Path) -> None:
    """Printed on A4 (182 mm between the margins, 688 CSS px), no table runs off the page."""

    def printed(page: Any) -> None:
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 688, "height": 1000})
        page.wait_for_timeout(200)

    wide = (
        "Array.from(document.querySelectorAll('table.tbl'))"
        ".filter(function (t) { return t.getBoundingClientRect().width > 689; })"
        ".map(function (t) { return [t.dataset.table, t.getBoundingClientRect().width]; })"
    )
    res = load_in_chromium(
        report_path, tmp_path / "print.png", width=688, actions=printed, dom_checks={"wide": wide}
    )
    assert res.js_errors == []
    assert res.dom_checks["wide"] == [], res.dom_checks["wide"]
