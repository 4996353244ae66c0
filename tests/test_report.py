"""The coverage report (``report.html``) and workbook (``report.xlsx``) on the demo county.

The demo runs once per module; the tests read the files it wrote and the result it returned.
"""

from __future__ import annotations

import dataclasses
import html as htmllib
import logging
import math
import re
import sys
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import markupsafe
import numpy as np
import pandas as pd
import pytest

from ynps_geo import workflows
from ynps_geo.errors import ValidationError
from ynps_geo.model.results import AnalysisResult
from ynps_geo.report import charts, render, tables
from ynps_geo.report.inline import external_refs

CJK = re.compile(r"[\u4e00-\u9fff]")


def _esc(text: str) -> str:
    """Text as the report's templates escape it (jinja2 autoescaping)."""
    return str(markupsafe.escape(text))


SHEETS = [
    "汇总 Summary",
    "分县 By county",
    "城乡 Urban-rural",
    "未覆盖村 Uncovered",
    "设施配置汇总 Presence summary",
    "设施配置 Presence",
    "千人指标 Ratios",
    "均等化 Equalisation",
    "失败的县 Failures",
    "说明 Notes",
    "用时 Timings",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[AnalysisResult, Path]:
    out = tmp_path_factory.mktemp("report") / "demo-output"
    result = workflows.demo(out)
    return result, out


@pytest.fixture(scope="module")
def report(demo: tuple[AnalysisResult, Path]) -> str:
    return (demo[1] / "report.html").read_text(encoding="utf-8")


def _section(doc: str, sid: str) -> str:
    m = re.search(rf'<section class="std" id="std-{re.escape(sid)}".*?</section>', doc, re.S)
    assert m, f"no summary page for {sid}"
    return m.group(0)


def _field(section: str, name: str) -> str:
    m = re.search(rf'data-field="{name}">([^<]*)<', section)
    assert m, name
    return htmllib.unescape(m.group(1))


def _all_rows(out: Path) -> pd.DataFrame:
    cov = pd.read_csv(out / "coverage.csv", encoding="utf-8")
    return cov[cov["county"] == "ALL"].set_index("standard_id")


# ----------------------------------------------------------------------------- HTML


def test_files_written_atomically(demo: tuple[AnalysisResult, Path]) -> None:
    _, out = demo
    for name in ("report.html", "report.xlsx", "map.html"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob(".*tmp*")), "temporary files left behind"


def test_report_has_no_external_url(report: str) -> None:
    assert external_refs(report) == []
    # not even a namespace or a link: the page is opened offline
    assert not re.search(r"(?i)(?:https?:|ftp:)?//[a-z0-9-]+(?:\.[a-z0-9-]+)+", report)
    assert not re.search(
        r"(?i)<(?:script|img|iframe|link|embed|source)\b[^>]*\b(?:src|href)=", report
    )
    assert "@import" not in report


def test_report_names_every_standard(demo: tuple[AnalysisResult, Path], report: str) -> None:
    result, _ = demo
    assert len(result.standards) >= 5
    for s in result.standards:
        assert f'id="std-{s.id}"' in report
        assert _esc(s.title_zh) in report, s.title_zh
        assert _esc(s.title_en) in report, s.title_en
        assert _esc(s.plan_text) in report, s.plan_text


def test_chinese_by_default_english_on_request(demo: tuple[AnalysisResult, Path]) -> None:
    result, out = demo
    zh = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in zh
    assert '<body class="show-zh">' in zh
    title = re.search(r"<title[^>]*>([^<]*)</title>", zh).group(1)
    assert "覆盖评估报告" in title
    en = render.report_html(result, language="en")
    assert '<html lang="en">' in en
    assert '<body class="show-en">' in en
    title = re.search(r"<title[^>]*>([^<]*)</title>", en).group(1)
    assert title.startswith("Public service coverage report")
    # the CSS hides the other language
    assert ".show-zh .en{display:none" in zh
    assert ".show-en .zh{display:none" in zh
    with pytest.raises(ValueError, match="'zh' or 'en'"):
        render.report_html(result, language="fr")


def test_summary_numbers_match_coverage_all_rows(
    demo: tuple[AnalysisResult, Path], report: str
) -> None:
    result, out = demo
    allrows = _all_rows(out)
    for s in result.standards:
        row = allrows.loc[s.id]
        sec = _section(report, s.id)
        assert _field(sec, "population") == f"{round(row['population']):,}"
        assert _field(sec, "population_covered") == f"{round(row['population_covered']):,}"
        assert _field(sec, "share_covered") == f"{row['share_covered']:.1%}"
        assert _field(sec, "villages_uncovered") == f"{int(row['villages_uncovered']):,}"
        assert f"共 {int(row['villages']):,} 个" in sec
        # the worst county is the one with the lowest share
        cov = result.coverage
        g = cov[(cov["standard_id"] == s.id) & (cov["county"] != "ALL")]
        worst = g.loc[g["share_covered"].idxmin(), "county"]
        assert _field(sec, "worst_county").startswith(str(worst))
        # the threshold in the plan's terms, inclusive
        unit = "公里" if s.unit == "km" else "分钟"
        assert f"≤ {s.threshold:g} {unit}" in sec


def test_summary_numbers_change_with_the_data(demo: tuple[AnalysisResult, Path]) -> None:
    """The summary is computed from result.coverage, not from anything else."""
    result, _ = demo
    sid = result.standards[0].id
    cov = result.coverage.copy()
    mask = (cov["county"] == "ALL") & (cov["standard_id"] == sid)
    cov.loc[mask, "population_covered"] = 12345.0
    cov.loc[mask, "share_covered"] = 0.4321
    doc = render.report_html(dataclasses.replace(result, coverage=cov))
    sec = _section(doc, sid)
    assert _field(sec, "population_covered") == "12,345"
    assert _field(sec, "share_covered") == "43.2%"


def test_report_sections(report: str) -> None:
    for key in (
        "summary",
        "coverage",
        "charts",
        "uncovered",
        "rules",
        "equity",
        "failures",
        "method",
        "timings",
        "config",
    ):
        assert f'<section id="{key}"' in report, key
    assert "Tobler" in report and "含端点" in report and "inclusive" in report
    assert "@media print" in report and "break-before:page" in report
    assert re.search(r"\d{4}-\d{2}-\d{2}", report)


def test_method_lists_inputs_notes_and_config(
    demo: tuple[AnalysisResult, Path], report: str
) -> None:
    result, _ = demo
    for path in [result.inputs["villages"], *result.inputs["facilities"]]:
        assert _esc(path) in report
    for note in result.notes:
        assert _esc(note) in report
    assert _esc(result.config_text.splitlines()[2]) in report
    assert "load_inputs" in report


def test_uncovered_villages_ranked_top_100(demo: tuple[AnalysisResult, Path], report: str) -> None:
    result, _ = demo
    m = re.search(
        r'<table class="tbl" data-table="uncovered">.*?<tbody>(.*?)</tbody>', report, re.S
    )
    assert m
    rows = re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S)
    assert len(rows) == min(100, len(result.uncovered))
    pops = [
        int(re.sub(r"\D", "", htmllib.unescape(re.findall(r"<td[^>]*>(.*?)</td>", r)[5])))
        for r in rows
    ]
    assert pops == sorted(pops, reverse=True)
    first = result.uncovered.iloc[0]
    assert _esc(str(first["name"])) in rows[0]
    failed = first["failed_standards"].split(",")[0]
    assert _esc(str(first[f"{failed}_facility"])) in rows[0]
    assert f"{float(first['max_excess_minutes']):.1f}" in rows[0]


def test_unreachable_village_in_words(demo: tuple[AnalysisResult, Path]) -> None:
    result, _ = demo
    s = next(s for s in result.standards if s.unit == "min")
    unc = result.uncovered.copy()
    i = unc.index[0]
    unc.loc[i, s.value_column] = np.inf
    unc.loc[i, s.covered_column] = False
    unc.loc[i, "failed_standards"] = s.id
    unc.loc[i, "max_excess_minutes"] = np.inf
    doc = render.report_html(dataclasses.replace(result, uncovered=unc))
    m = re.search(r'<table class="tbl" data-table="uncovered">.*?<tbody>(.*?)</tbody>', doc, re.S)
    first = re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S)[0]
    assert "不可达 unreachable" in first
    assert "不可达" in first.split("不可达 unreachable")[0]  # in the failed-standards text too


def test_presence_and_ratio_rules_shown_with_their_columns(
    demo: tuple[AnalysisResult, Path], tmp_path: Path
) -> None:
    result, _ = demo
    presence = pd.DataFrame(
        {
            "standard_id": ["museum_county"] * 3,
            "unit_level": ["county"] * 3,
            "unit": ["示范县", "邻县", "第三县"],
            "met": [True, None, False],
            "missing": ["", "博物馆 museum", "博物馆 museum"],
            "odd_column": [1.5, 2.25, 3.0],
        }
    )
    ratios = pd.DataFrame(
        {
            "standard_id": ["beds_per_1000"],
            "county": ["ALL"],
            "population": [233641.0],
            "value": [6.789],
            "target": [6.5],
            "met": [True],
        }
    )
    r = dataclasses.replace(result, presence=presence, ratios=ratios)
    doc = render.report_html(r)
    pres = re.search(r'data-table="presence">.*?</table>', doc, re.S).group(0)
    assert "odd_column" in pres and "2.25" in pres and "邻县" in pres
    assert "是否达标" in pres and ">否<" in pres and "第三县" in pres
    # the HTML lists only units that fail or were not evaluated; the summary counts them all
    assert ">示范县<" not in pres
    summ = re.search(r'data-table="presence_summary">.*?</table>', doc, re.S).group(0)
    assert re.search(r"museum_county</td>.*?>3<.*?>1<.*?>1<.*?>1<.*?>50.0%<", summ, re.S)
    rat = re.search(r'data-table="ratios">.*?</table>', doc, re.S).group(0)
    assert "233,641" in rat and "6.79" in rat and "规划目标" in rat
    book = render.write_workbook(r, tmp_path / "r.xlsx")
    from openpyxl import load_workbook

    ws = load_workbook(book)["设施配置 Presence"]
    assert [c.value for c in ws[2]] == [
        "standard id",
        "unit level",
        "unit",
        "met",
        "missing",
        "odd_column",
    ]
    assert [c.value for c in ws[1]][:4] == ["标准编号", "评价单元层级", "评价单元", "是否达标"]
    assert ws.cell(row=4, column=6).value == 2.25


def test_equalisation_and_failures(demo: tuple[AnalysisResult, Path], report: str) -> None:
    result, _ = demo
    eq = re.search(r'data-table="equity">.*?</table>', report, re.S).group(0)
    for row in result.equity.itertuples():
        assert f"{row.min_share:.1%}" in eq
        if np.isfinite(row.urban_rural_gap):
            assert f"{row.urban_rural_gap * 100:+.1f} 个百分点" in eq
    assert "基尼系数" in eq
    assert "所有县均已完成分析" in report
    failed = dataclasses.replace(result, failures={"坏县": "roads.osm: not an OSM file"})
    doc = render.report_html(failed)
    assert 'class="warn"' in doc
    assert "坏县" in doc and "roads.osm: not an OSM file" in doc


# ----------------------------------------------------------------------------- charts


def test_cumulative_chart_meets_the_covered_share(
    demo: tuple[AnalysisResult, Path], report: str
) -> None:
    result, out = demo
    allrows = _all_rows(out)
    timed = [s for s in result.standards if s.unit == "min"]
    assert timed
    for s in timed:
        thr = float(s.threshold)
        share = float(allrows.loc[s.id, "share_covered"])
        xs = np.linspace(0, 3 * thr, 61)
        ys = charts.cumulative_curve(result, s, xs)
        assert ys[0] >= 0 and np.all(np.diff(ys) >= 0) and ys[-1] <= 1.0
        at = charts.cumulative_curve(result, s, [thr])[0]
        assert at == pytest.approx(share, abs=1e-9)
        # just before the threshold it is not more than the covered share
        assert charts.cumulative_curve(result, s, [thr * 0.999])[0] <= share + 1e-12
        # the marked point in the combined chart is the covered share, at the threshold
        m = re.search(
            rf'<circle class="threshold" data-standard="{s.id}" data-minutes="([\d.]+)" '
            rf'data-share="([\d.]+)"',
            report,
        )
        assert m, s.id
        assert float(m.group(1)) == thr
        assert float(m.group(2)) == pytest.approx(share, abs=1e-6)
        # at infinity the curve is the share of people with any route
        src = charts.population_source(result)
        app = src[src[f"{s.id}_applies"].astype(bool)]
        reach = app.loc[np.isfinite(app[s.value_column]), "population"].sum()
        end = charts.cumulative_curve(result, s, [np.inf])[0]
        assert end == pytest.approx(reach / app["population"].sum())


def test_curve_cache_gives_the_same_curves_and_charts(demo: tuple[AnalysisResult, Path]) -> None:
    """Inside ``curve_cache`` each curve is sorted once; values and SVG stay the same."""
    result, _ = demo
    xs = np.linspace(0, 120, 241)
    plain = {s.id: charts.cumulative_curve(result, s, xs) for s in result.standards}
    svg = charts.cumulative_svg(result, unit="min")
    with charts.curve_cache():
        for _ in range(2):
            for s in result.standards:
                np.testing.assert_array_equal(charts.cumulative_curve(result, s, xs), plain[s.id])
        assert charts.cumulative_svg(result, unit="min") == svg
        cache = charts._CURVES.get()
        assert cache is not None
        assert len(cache) <= len(result.standards)
    assert charts._CURVES.get() is None


def test_county_bars(demo: tuple[AnalysisResult, Path]) -> None:
    result, _ = demo
    svg = charts.county_bars_svg(result)
    bars = re.findall(
        r'<rect class="bar" data-standard="([^"]+)" data-county="([^"]+)" '
        r'data-share="([\d.]+)" x="[\d.]+" y="[\d.]+" width="([\d.]+)"',
        svg,
    )
    cov = result.coverage[result.coverage["county"] != "ALL"]
    assert len(bars) == int(np.isfinite(cov["share_covered"]).sum())
    widths = {}
    for sid, county, share, width in bars:
        row = cov[(cov["standard_id"] == sid) & (cov["county"] == county)]
        assert float(share) == pytest.approx(float(row["share_covered"].iloc[0]), abs=1e-6)
        widths[float(share)] = float(width)
    # the bar length grows with the share
    ordered = [widths[k] for k in sorted(widths)]
    assert ordered == sorted(ordered) and ordered[-1] > 0


def test_charts_with_many_counties(demo: tuple[AnalysisResult, Path]) -> None:
    """Bars sorted lowest first within each standard; villages as the population source."""
    result, _ = demo
    rows = []
    for s in result.standards:
        for county, share in (("甲县", 0.9), ("乙县", 0.2), ("丙县", 0.55)):
            rows.append(
                {
                    "county": county,
                    "standard_id": s.id,
                    "population": 100.0,
                    "population_covered": 100 * share,
                    "share_covered": share,
                    "villages": 3,
                    "villages_uncovered": 1,
                }
            )
        rows.append(
            {
                "county": "ALL",
                "standard_id": s.id,
                "population": 300.0,
                "population_covered": 165.0,
                "share_covered": 0.55,
                "villages": 9,
                "villages_uncovered": 3,
            }
        )
    r = dataclasses.replace(result, coverage=pd.DataFrame(rows), people=None)
    svg = charts.county_bars_svg(r)
    sid = result.standards[0].id
    counties = re.findall(rf'data-standard="{sid}" data-county="([^"]+)"', svg)
    assert counties == ["乙县", "丙县", "甲县"]
    assert 'fill="#c0392b"' in svg and 'fill="#27ae60"' in svg
    s = next(s for s in result.standards if s.unit == "min")
    # without raster cells the curve is weighted by village population
    v = result.villages[result.villages[f"{s.id}_applies"].astype(bool)]
    want = v.loc[v[s.covered_column].astype(bool), "population"].sum() / v["population"].sum()
    assert charts.cumulative_curve(r, s, [s.threshold])[0] == pytest.approx(want)


# ----------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "kind", "lang", "text"),
    [
        (12345.6, "pop", "zh", "12,346"),
        (0.83129, "share", "zh", "83.1%"),
        (15.04, "min", "zh", "15.0"),
        (math.inf, "min", "zh", "不可达 unreachable"),
        (math.inf, "km", "en", "不可达 unreachable"),
        (float("nan"), "share", "zh", "–"),
        (None, "pop", "zh", "–"),
        ("rural", "setting", "zh", "农村"),
        ("rural", "setting", "en", "rural"),
        (True, "bool", "en", "yes"),
        (-0.0432, "pp", "en", "-4.3 pp"),
    ],
)
def test_format_value(value: object, kind: str, lang: str, text: str) -> None:
    assert tables.format_value(value, kind, lang) == text


# ----------------------------------------------------------------------------- Excel


def test_workbook_sheets_and_headers(demo: tuple[AnalysisResult, Path]) -> None:
    from openpyxl import load_workbook

    _, out = demo
    wb = load_workbook(out / "report.xlsx")
    assert wb.sheetnames == SHEETS
    for ws in wb.worksheets:
        zh = [c.value for c in ws[1]]
        en = [c.value for c in ws[2]]
        assert zh and len(zh) == len(en), ws.title
        for a, b in zip(zh, en, strict=True):
            assert CJK.search(a), (ws.title, a)
            assert b and not CJK.search(b), (ws.title, b)
        assert ws.freeze_panes == "A3", ws.title
        assert ws.column_dimensions["A"].width and ws.column_dimensions["A"].width >= 8


def test_workbook_numbers_equal_coverage_csv(demo: tuple[AnalysisResult, Path]) -> None:
    from openpyxl import load_workbook

    _, out = demo
    ws = load_workbook(out / "report.xlsx")["分县 By county"]
    en = [c.value for c in ws[2]]
    col = {name: en.index(name) for name in en}
    cov = pd.read_csv(out / "coverage.csv", encoding="utf-8")
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert len(rows) == len(cov)
    for got, want in zip(rows, cov.itertuples(index=False), strict=True):
        county = "ALL 全部" if want.county == "ALL" else want.county
        assert got[col["county"]] == county
        assert got[col["standard id"]] == want.standard_id
        assert got[col["population"]] == pytest.approx(want.population, rel=1e-12)
        assert got[col["population covered"]] == pytest.approx(want.population_covered, rel=1e-12)
        assert got[col["share covered"]] == pytest.approx(want.share_covered, rel=1e-12)
        assert got[col["villages uncovered"]] == want.villages_uncovered
    share_cell = ws.cell(row=3, column=col["share covered"] + 1)
    assert share_cell.number_format == "0.0%"
    assert ws.cell(row=3, column=col["population"] + 1).number_format == "#,##0"


def test_workbook_summary_and_uncovered(demo: tuple[AnalysisResult, Path]) -> None:
    from openpyxl import load_workbook

    result, out = demo
    wb = load_workbook(out / "report.xlsx")
    ws = wb["汇总 Summary"]
    en = [c.value for c in ws[2]]
    ids = [r[en.index("standard id")] for r in ws.iter_rows(min_row=3, values_only=True)]
    assert ids == [s.id for s in result.standards]
    ws = wb["未覆盖村 Uncovered"]
    assert ws.max_row - 2 == len(result.uncovered)  # every village, not only the top 100


def test_workbook_skipped_without_openpyxl(
    demo: tuple[AnalysisResult, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    result, _ = demo
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with caplog.at_level(logging.WARNING, logger="ynps_geo.report.render"):
        assert render.write_workbook(result, tmp_path / "report.xlsx") is None
    assert 'pip install "ynps-geo[all]"' in caplog.text
    assert not (tmp_path / "report.xlsx").exists()
    monkeypatch.setattr("ynps_geo.report.maps.map_html", lambda r, language="zh": "<html></html>")
    written = render.write_reports(result, tmp_path)
    assert set(written) == {"report", "map"}
    assert (tmp_path / "report.html").exists() and not list(tmp_path.glob(".*tmp*"))


def test_rule_tables_name_the_rule_and_the_village(demo: tuple[AnalysisResult, Path]) -> None:
    """A county official reads the rule's title and the village's name, not codes."""
    result, _ = demo
    vid, vname = str(result.villages["village_id"].iloc[0]), str(result.villages["name"].iloc[0])
    presence = pd.DataFrame(
        {
            "standard_id": ["village_culture_centre"],
            "unit_level": ["village"],
            "unit": [vid],
            "met": [False],
        }
    )
    ratios = pd.DataFrame({"standard_id": ["beds_per_1000"], "attribute": ["beds"]})
    r = dataclasses.replace(result, presence=presence, ratios=ratios)
    doc = render.report_html(r)
    pres = re.search(r'data-table="presence">.*?</table>', doc, re.S).group(0)
    assert f">{vname}<" in pres and "村(社区)" in pres and ">village<" in pres  # zh and en
    assert "综合文化服务中心" in pres  # the rule's title next to its id
    rat = re.search(r'data-table="ratios">.*?</table>', doc, re.S).group(0)
    assert ">床位<" in rat and ">beds<" in rat
    assert _esc(tables._rule_titles()["beds_per_1000"][0]) in rat
    assert tables.format_value("prefecture_seat", "word", "zh") == "州(市)政府驻地"
    # the workbook keeps the columns as the rules wrote them
    assert [c.key for c in tables.presence_table(r).columns][:3] == [
        "standard_id",
        "unit_level",
        "unit",
    ]


# ----------------------------------------------------------------------------- templates


class _Tables(HTMLParser):
    """Every ``<table data-table=...>`` of a page: header texts and cell texts per language."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, list[Any]]] = {}
        self._key: str | None = None
        self._cell: dict[str, str] | None = None
        self._lang = ""
        self._row: list[dict[str, str]] = []
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("data-table"):
            self._key = str(a["data-table"])
            self.tables[self._key] = {"head": [], "rows": []}
        elif self._key is None:
            return
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = {"zh": "", "en": ""}
            self._lang = ""
        elif tag == "span" and self._cell is not None:
            self._lang = a.get("lang") or ""

    def handle_endtag(self, tag: str) -> None:
        if self._key is None:
            return
        if tag == "span":
            self._lang = ""
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr":
            self.tables[self._key]["head" if self._in_head else "rows"].append(self._row)
        elif tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._key = None

    def handle_data(self, data: str) -> None:
        if self._cell is None:
            return
        for lang in ("zh", "en"):
            if self._lang in ("", lang):
                self._cell[lang] += data


def _parse_tables(doc: str) -> dict[str, dict[str, list[Any]]]:
    p = _Tables()
    p.feed(doc)
    return p.tables


def test_templates_render_the_same_tables(demo: tuple[AnalysisResult, Path], report: str) -> None:
    """Each table in the page holds, cell by cell, the table's values formatted for people."""
    result, _ = demo
    parsed = _parse_tables(report)
    by_key = {t.key: t for t in tables.all_tables(result)}
    expected = {
        "county": by_key["county"],
        "setting": by_key["setting"],
        "equity": by_key["equity"],
        "presence_summary": by_key["presence_summary"],
        "ratios": tables.with_names(by_key["ratios"], result),
        "uncovered": tables.uncovered_table(result, top=render.UNCOVERED_TOP),
    }
    checked = 0
    for key, t in expected.items():
        if not len(t):
            continue
        got = parsed[key]
        assert [h["zh"] for h in got["head"][0]] == [c.zh for c in t.columns], key
        assert [h["en"] for h in got["head"][0]] == [c.en for c in t.columns], key
        n = min(len(t), render.UNCOVERED_TOP if key == "uncovered" else render.TABLE_MAX_ROWS)
        assert len(got["rows"]) == n, key
        for row, rec in zip(got["rows"], t.data.head(n).to_dict("records"), strict=True):
            for lang in ("zh", "en"):
                want = [tables.format_value(rec.get(c.key), c.kind, lang) for c in t.columns]
                assert [cell[lang] for cell in row] == want, (key, lang)
        checked += 1
    assert checked >= 5
    # the overview table: the summary's key columns, one row per standard
    over = parsed["overview"]
    assert [r[0]["zh"] for r in over["rows"]] == [s.id for s in result.standards]


def test_templates_escape_every_value(demo: tuple[AnalysisResult, Path]) -> None:
    """Autoescaping: a name with markup shows as text, never as markup."""
    result, _ = demo
    evil = '<script>alert("x")</script>&'
    villages = result.uncovered.copy()
    villages["name"] = evil
    doc = render.report_html(
        dataclasses.replace(result, name=evil, uncovered=villages, config_text=evil)
    )
    assert "<script>alert" not in doc
    assert doc.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;") >= 3
    # the only scripts are the language switch
    assert doc.count("<script>") == 1


def test_user_template_folder_restyles_without_python(
    demo: tuple[AnalysisResult, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _ = demo
    (tmp_path / "sections").mkdir()
    (tmp_path / "style.css").write_text("body{background:#fffbe6}", encoding="utf-8")
    (tmp_path / "sections" / "config.html.j2").write_text(
        '{% from "_macros.html.j2" import section %}'
        '{% call section("config", "配置", "Config") %}<p id="ours">{{ name }}</p>{% endcall %}',
        encoding="utf-8",
    )
    doc = render.report_html(result, template_dir=tmp_path)
    assert "body{background:#fffbe6}" in doc
    assert ".show-zh .en{display:none" not in doc  # the packaged CSS was replaced
    assert f'<p id="ours">{_esc(result.name)}</p>' in doc
    assert 'id="timings"' in doc  # the other sections come from the package
    # the same through the environment variable
    monkeypatch.setenv(render.TEMPLATES_ENV, str(tmp_path))
    assert "body{background:#fffbe6}" in render.report_html(result)
    monkeypatch.setenv(render.TEMPLATES_ENV, str(tmp_path / "missing"))
    with pytest.raises(ValidationError, match=r"YNPS_GEO_REPORT_TEMPLATES.*does not exist"):
        render.report_html(result)
    with pytest.raises(ValueError, match=r"report_templates.*does not exist"):
        render.report_html(result, template_dir=tmp_path / "nope")


def test_templates_ship_as_package_data() -> None:
    """Every section's template is in the package (setuptools package-data)."""
    root = resources.files("ynps_geo.report") / "templates"
    names = {s.template for s in render.SECTIONS} | {
        "report.html.j2",
        "_macros.html.j2",
        "style.css",
        "script.js",
        "sections/standard.html.j2",
    }
    for name in names:
        assert (root / name).is_file(), name
    import tomllib

    pyproject = tomllib.loads(
        (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    )
    data = pyproject["tool"]["setuptools"]["package-data"]["ynps_geo"]
    assert "report/templates/*" in data and "report/templates/sections/*" in data


def test_config_key_report_templates(demo: tuple[AnalysisResult, Path]) -> None:
    from ynps_geo.config import load_config
    from ynps_geo.errors import ConfigError

    _, out = demo
    cfg_text = (out / "data" / "config.yaml").read_text(encoding="utf-8")
    bad = out / "data" / "bad_templates.yaml"
    bad.write_text(cfg_text + "\nreport_templates: no_such_folder\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'report_templates' folder 'no_such_folder'"):
        load_config(bad)
    (out / "data" / "tpl").mkdir(exist_ok=True)
    good = out / "data" / "good_templates.yaml"
    good.write_text(cfg_text + "\nreport_templates: tpl\n", encoding="utf-8")
    assert load_config(good).opts.report_templates == "tpl"
