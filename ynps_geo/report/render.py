"""The coverage report (``report.html``) and workbook (``report.xlsx``) a planning office hands
to a county government.

``report.html`` is one self-contained file: CSS and SVG charts inline, no external URL, a small
inline script only for the language switch (the page reads fully without it). Chinese by
default; every label is written in both languages and the page shows one (``中文 / English``
buttons, or ``language="en"``). It prints on A4 with a page per section and per standard.

The page is rendered from jinja2 templates shipped in ``ynps_geo/report/templates``
(autoescaping on, so every value is HTML-escaped): ``report.html.j2`` (the document),
``_macros.html.j2`` (bilingual text, tables, sections), ``style.css``, ``script.js`` and one
template per section in ``sections/`` (:data:`SECTIONS`). A county restyles its report without
Python by copying the files it wants to change into a folder and naming that folder in the
config (``report_templates: my_templates``), with ``template_dir=`` or with
``$YNPS_GEO_REPORT_TEMPLATES``; files not in the folder come from the package.

``report.xlsx`` (openpyxl, optional) holds the same tables, one sheet each, with a Chinese
header in row 1 and an English header in row 2, frozen panes under the headers and shares in
percent format. Values stay numbers, so the office can compute with them.

Functions
---------
report_html
    The report as an HTML string.
report_context, table_view
    What the templates see (for custom templates and sections).
write_workbook
    The Excel workbook (atomically); ``None`` when openpyxl is missing.
write_reports
    ``report.html``, ``map.html`` and ``report.xlsx`` into a folder.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from ynps_geo.errors import MissingDependencyError, ValidationError
from ynps_geo.model.results import AnalysisResult
from ynps_geo.model.standards import PlanStandard
from ynps_geo.report import charts
from ynps_geo.report.tables import (
    EXCEL_FORMATS,
    Column,
    Table,
    all_tables,
    format_value,
    mode_text,
    threshold_text,
    uncovered_table,
    with_names,
)

__all__ = [
    "SECTIONS",
    "UNCOVERED_TOP",
    "Section",
    "environment",
    "report_context",
    "report_html",
    "table_html",
    "table_view",
    "template_folder",
    "write_reports",
    "write_workbook",
]

log = logging.getLogger(__name__)

UNCOVERED_TOP = 100
"""Villages listed in the HTML report's ranked table (the workbook has all)."""

TABLE_MAX_ROWS = 300
"""Rows of any other table shown in the HTML report (the workbook has all)."""

LANGS = ("zh", "en")

TEXT_KINDS = frozenset({"text", "pre", "setting", "bool", "word"})
"""Column kinds shown as text (left-aligned); the others are numbers."""

WRAP = frozenset(
    {
        "failed_zh",
        "failed_en",
        "nearest",
        "plan_text",
        "text",
        "error",
        "note",
        "present",
        "missing",
        "missing_ids",
    }
)
"""Columns of long text, wrapped in the HTML tables (the others stay on one line)."""


TRAVEL_MODEL = (
    "出行时间按最快路径计算，从村(社区)或人口格点出发到最近的设施：离开道路时步行，步行速度由"
    "数字高程模型(DEM)的坡度按 Tobler 徒步函数计算（上坡与下坡不同，野外步行乘以越野系数）；"
    "上路后驾车按道路等级的车速行驶，步行则按步行速度；上下道路都是步行，不会“瞬移”。"
    "阈值包含端点：恰好 15 分钟算作 15 分钟以内。公里标准按沿道路和地形的实际距离计算。"
    "有人口栅格时，人口按栅格格点统计（村与村之间的人口也计入），否则按村人口统计；"
    "每项标准只统计其适用的城镇或农村人口。",
    "Travel time is the fastest trip from the village (or population cell) to the nearest "
    "facility: off-road, people walk at a speed given by the slope of the DEM through Tobler's "
    "hiking function (uphill differs from downhill; off-path walking is slower by a factor); on "
    "roads, driving is at the speed of the road class and walking at walking speed; getting on "
    "and off the road is walked, never skipped. Thresholds are inclusive: a trip of exactly 15 "
    "minutes is within 15 minutes. Kilometre standards use the distance along roads, paths and "
    "terrain. With a population grid, people are counted per grid cell (people between "
    "villages count too), otherwise per village; each standard counts only the urban or rural "
    "people it applies to.",
)


def _packaged(name: str) -> str:
    from importlib import resources

    return (resources.files("ynps_geo.report") / "templates" / name).read_text(encoding="utf-8")


CSS = _packaged("style.css")
"""The report's stylesheet (``templates/style.css``), also used by the comparison report."""

SCRIPT = _packaged("script.js")
"""The language switch (``templates/script.js``), also used by the comparison report."""

TEMPLATES = "ynps_geo.report"
"""Package holding the report templates (folder ``templates``)."""

TEMPLATES_ENV = "YNPS_GEO_REPORT_TEMPLATES"
"""Environment variable naming a folder of templates that replace the packaged ones."""


@dataclass(frozen=True)
class Section:
    """A section of the report: its anchor, its line in the table of contents, its template."""

    key: str
    toc_zh: str
    toc_en: str
    template: str


SECTIONS: list[Section] = [
    Section("summary", "各标准汇总", "Summary per standard", "sections/summary.html.j2"),
    Section(
        "coverage",
        "分县与分城乡覆盖",
        "Coverage by county and setting",
        "sections/coverage.html.j2",
    ),
    Section("charts", "图表", "Charts", "sections/charts.html.j2"),
    Section("uncovered", "未覆盖的村(社区)", "Uncovered villages", "sections/uncovered.html.j2"),
    Section("rules", "设施配置与千人指标", "Presence and ratio rules", "sections/rules.html.j2"),
    Section("equity", "均等化", "Equalisation", "sections/equity.html.j2"),
    Section("failures", "未能完成分析的县", "Counties that failed", "sections/failures.html.j2"),
    Section("method", "方法与数据来源", "Method and data sources", "sections/method.html.j2"),
    Section("timings", "运行用时", "Timings", "sections/timings.html.j2"),
    Section("config", "使用的配置", "Configuration used", "sections/config.html.j2"),
]
"""The report's sections in order; a template folder may replace any of their templates."""


@functools.lru_cache(maxsize=8)
def _environment(template_dir: str | None) -> Any:
    try:
        import jinja2
    except ImportError as err:  # pragma: no cover - jinja2 comes with folium
        msg = 'the HTML report needs jinja2; install it with: pip install "ynps-geo[all]"'
        raise MissingDependencyError(msg) from err
    from ynps_geo.report.jinja_cache import CachingEnvironment

    loaders: list[Any] = [jinja2.PackageLoader(TEMPLATES, "templates")]
    if template_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(template_dir))
    # templates compiled once per installation, not per process (ynps_geo.report.jinja_cache)
    return CachingEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )


def template_folder(template_dir: str | Path | None = None) -> Path | None:
    """The folder of user templates in force: ``template_dir``, else ``$YNPS_GEO_REPORT_TEMPLATES``.

    Raises
    ------
    ValidationError
        When the folder named does not exist.
    """
    raw = template_dir if template_dir is not None else os.environ.get(TEMPLATES_ENV) or None
    if raw is None:
        return None
    folder = Path(raw).expanduser()
    if not folder.is_dir():
        source = "report_templates" if template_dir is not None else f"${TEMPLATES_ENV}"
        msg = (
            f"{source}: template folder {str(folder)!r} does not exist; create it with copies of "
            "the templates to change (ynps_geo/report/templates) or remove the setting"
        )
        raise ValidationError(msg)
    return folder.resolve()


def environment(template_dir: str | Path | None = None) -> Any:
    """The jinja2 environment of the report: user templates first, then the packaged ones.

    Autoescaping is on: every value printed with ``{{ }}`` is HTML-escaped; inline SVG charts
    are passed as :class:`markupsafe.Markup`.
    """
    folder = template_folder(template_dir)
    return _environment(None if folder is None else str(folder))


def _isinf(v: Any) -> bool:
    try:
        return math.isinf(float(v))
    except (TypeError, ValueError):
        return False


def table_view(
    table: Table, *, max_rows: int = TABLE_MAX_ROWS, lang: str | None = None
) -> dict[str, Any]:
    """A report table as the templates see it: header and cell texts in both languages.

    Columns written in one language only (``Column.lang``) carry that language's class, so the
    page shows them only in that language. At most ``max_rows`` rows; ``more`` is the count
    (formatted) of rows left out, which the workbook holds.
    """
    cols = []
    for c in table.columns:
        hc = [c.lang] if c.lang else []
        if c.key in WRAP:
            hc.append("wrap")
        num = " num" if c.kind not in TEXT_KINDS else ""
        cols.append(
            {
                "key": c.key,
                "zh": c.zh,
                "en": c.en,
                "kind": f"{c.kind}{num}",
                "classes": " ".join(hc),
            }
        )
    rows = []
    for rec in table.data.head(max_rows).to_dict("records"):
        cells = []
        for c in table.columns:
            v = rec.get(c.key)
            td = [c.lang] if c.lang else []
            if c.kind not in TEXT_KINDS:
                td.append("num")
            if c.key in WRAP:
                td.append("wrap")
            if c.kind in ("min", "km") and _isinf(v):
                td.append("bad")
            cells.append(
                {
                    "zh": format_value(v, c.kind, "zh"),
                    "en": format_value(v, c.kind, "en"),
                    "classes": " ".join(td),
                }
            )
        rows.append(cells)
    n_more = max(len(table) - max_rows, 0)
    return {
        "key": table.key,
        "title_zh": table.title_zh,
        "title_en": table.title_en,
        "note_zh": table.note_zh,
        "note_en": table.note_en,
        "columns": cols,
        "rows": rows,
        "more": f"{n_more:,}" if n_more else "",
    }


def table_html(
    table: Table, *, max_rows: int = TABLE_MAX_ROWS, template_dir: str | Path | None = None
) -> str:
    """A report table as HTML (the ``table`` macro of ``_macros.html.j2``)."""
    env = environment(template_dir)
    macro = env.get_template("_macros.html.j2").module.table
    return str(macro(table_view(table, max_rows=max_rows)))


def _standard_view(s: PlanStandard, row: dict[str, Any], result: AnalysisResult) -> dict[str, Any]:
    """What the page of one standard shows (``sections/standard.html.j2``)."""
    share = row.get("share_covered", np.nan)
    worst = row.get("worst_county")
    thr = float(s.threshold or 0)
    svg = None
    if thr > 0:
        svg = charts.cumulative_svg(
            result,
            [s],
            unit=s.unit or "min",
            x_max=3 * thr,
            width=640,
            height=240,
            key=f"cumulative-{s.id}",
        )
    return {
        "id": s.id,
        "title_zh": s.title_zh or s.id,
        "title_en": s.title_en or s.id,
        "plan_text": s.plan_text,
        "chapter": s.chapter,
        "threshold_zh": threshold_text(s, "zh"),
        "threshold_en": threshold_text(s, "en"),
        "mode_zh": mode_text(s, "zh"),
        "mode_en": mode_text(s, "en"),
        "applies_zh": format_value(s.applies_to, "setting", "zh"),
        "applies_en": format_value(s.applies_to, "setting", "en"),
        "colour": charts.share_colour(share) if np.isfinite(share) else "#222",
        "share": format_value(share, "share"),
        "population_covered": format_value(row.get("population_covered"), "pop"),
        "population": format_value(row.get("population"), "pop"),
        "villages": format_value(row.get("villages", np.nan), "int"),
        "villages_uncovered": format_value(row.get("villages_uncovered", np.nan), "int"),
        "worst": "–"
        if worst is None
        else f"{worst} {format_value(row.get('worst_share'), 'share')}",
        "note": s.note,
        "not_evaluable": next(
            (str(n) for n in result.notes if str(n).startswith(f"{s.id}: not evaluable")), None
        ),
        "unit": s.unit or "min",
        "svg": Markup(svg) if svg else None,
    }


def _presence_shown(t: Table) -> Table:
    """The presence rules, listing only units that fail or were not evaluated (all in Excel)."""
    if not len(t) or "met" not in t.data.columns:
        return t
    met = t.data["met"]
    keep = ~(met.notna() & met.astype(object).eq(True))
    shown = dataclasses.replace(t, data=t.data[keep.to_numpy(bool)].reset_index(drop=True))
    n = int((~keep).sum())
    shown.note_zh = f"{t.note_zh}下表只列未达标或未评价的单元；{n:,} 个达标单元见 report.xlsx。"
    shown.note_en = (
        f"{t.note_en} Only units that fail or were not evaluated are listed; the {n:,} units "
        "that meet the rule are in report.xlsx."
    )
    return shown


def report_context(
    result: AnalysisResult, language: str = "zh", *, tables: list[Table] | None = None
) -> dict[str, Any]:
    """Everything the report templates use, computed once (see ``report.html.j2``).

    Tables are views made by :func:`table_view`; charts are inline SVG (markup). A section
    added to :data:`SECTIONS` may read any of these names.
    """
    by_key = {t.key: t for t in (tables if tables is not None else all_tables(result))}
    unc_top = uncovered_table(result, top=UNCOVERED_TOP)
    total = unc_top.extra.get("total", len(unc_top))
    name = result.name or "ynps_geo"
    now = datetime.now()
    from ynps_geo.report import changes  # "since the previous report" (issue 13)

    with charts.curve_cache():  # each standard's curve is drawn on its page and in the charts
        standard_pages = _standard_pages(result, by_key["summary"])
        chart_svgs = _chart_svgs(result)
    return {
        "lang": language,
        "name": name,
        "title_zh": f"{name} 基本公共服务覆盖评估报告",
        "title_en": f"Public service coverage report: {name}",
        "date_iso": f"{now:%Y-%m-%d}",
        "date_text": f"{now:%Y-%m-%d %H:%M}",
        "failures": len(result.failures),
        "sections": _sections(result),
        # built (and escaped) by ynps_geo.report.changes; "" when there is no earlier run
        "changes_html": Markup(changes.section_html(result)),
        "overview": table_view(_overview(by_key["summary"])),
        "standard_pages": standard_pages,
        "charts": chart_svgs,
        "tables": _table_views(result, by_key, unc_top),
        "uncovered_total": f"{total:,}",
        "uncovered_shown": f"{min(total, UNCOVERED_TOP):,}",
        "rule_notes": [
            str(n) for k in ("presence", "ratios") for n in by_key[k].extra.get("notes", [])
        ],
        "travel_model": TRAVEL_MODEL,
        "inputs": _input_notes(by_key["notes"]),
        "notes": [
            *[str(n) for n in result.notes],
            *[f"{s.id}: {s.note}" for s in result.standards if s.note],
        ],
        "config_text": result.config_text or "",
        "result": result,
    }


def _sections(result: AnalysisResult) -> list[Section]:
    """:data:`SECTIONS`, after "since the previous report" when there is an earlier run."""
    from ynps_geo.report import changes

    sections = list(SECTIONS)
    changes_toc = changes.section_toc(result)
    if changes_toc:
        key, zh, en = changes_toc
        sections.insert(0, Section(key, zh, en, "sections/changes.html.j2"))
    return sections


#: the summary table's columns shown in the overview at the top of the report
OVERVIEW_COLUMNS = (
    "standard_id",
    "title_zh",
    "title_en",
    "threshold",
    "population",
    "population_covered",
    "share_covered",
    "villages_uncovered",
    "worst_county",
)


def _overview(summary: Table) -> Table:
    """The overview table: the summary's headline columns."""
    columns = [c for c in summary.columns if c.key in OVERVIEW_COLUMNS]
    return Table("overview", "", "", "", columns, summary.data)


def _standard_pages(result: AnalysisResult, summary: Table) -> list[dict[str, Any]]:
    """One page per standard (:func:`_standard_view`), with its row of the summary."""
    rows = summary.data.set_index("standard_id", drop=False)
    return [
        _standard_view(s, rows.loc[s.id].to_dict() if s.id in rows.index else {}, result)
        for s in result.standards
    ]


def _chart_svgs(result: AnalysisResult) -> dict[str, Markup | None]:
    """The report's charts as inline SVG: county bars and the cumulative curves per unit."""
    bars = charts.county_bars_svg(result)
    figs: dict[str, Markup | None] = {"bars": Markup(bars) if bars else None}
    for unit in ("min", "km"):
        svg = charts.cumulative_svg(result, unit=unit, key=f"cumulative-{unit}")
        figs[f"cumulative_{unit}"] = Markup(svg) if svg else None
    return figs


def _table_views(
    result: AnalysisResult, by_key: dict[str, Table], uncovered: Table
) -> dict[str, dict[str, Any]]:
    """The report's tables as the templates see them (:func:`table_view`)."""
    views = {
        "county": by_key["county"],
        "setting": by_key["setting"],
        "presence_summary": by_key["presence_summary"],
        "presence": _presence_shown(with_names(by_key["presence"], result)),
        "ratios": with_names(by_key["ratios"], result),
        "equity": by_key["equity"],
        "failures": by_key["failures"],
        "timings": by_key["timings"],
    }
    out = {k: table_view(t) for k, t in views.items()}
    out["uncovered"] = table_view(uncovered, max_rows=UNCOVERED_TOP)
    return out


def _input_notes(notes: Table) -> list[tuple[str, str]]:
    """(kind, text) of the notes on the inputs (the method notes are shown elsewhere)."""
    data = notes.data
    inputs = data[~data["kind"].isin(["说明 note", "规则说明 rule note"])]
    return [(str(r.kind), str(r.text)) for r in inputs.itertuples()]


def report_html(
    result: AnalysisResult,
    language: str = "zh",
    *,
    tables: list[Table] | None = None,
    template_dir: str | Path | None = None,
) -> str:
    """The coverage report as one self-contained HTML page, from the jinja2 templates.

    Parameters
    ----------
    result : AnalysisResult
    language : {"zh", "en"}
        The language shown when the page opens (both are in the page; buttons switch).
    tables : list of Table, optional
        The report tables when already built (shared with the workbook).
    template_dir : str or Path, optional
        A folder whose templates replace the packaged ones of the same name (``style.css``,
        ``report.html.j2``, ``sections/*.html.j2``...); default ``$YNPS_GEO_REPORT_TEMPLATES``.

    Returns
    -------
    str
        The whole document. It references no external URL (unless a user template adds one).

    Raises
    ------
    ValueError
        On an unknown language.
    ValidationError
        When ``template_dir`` is not a folder.
    """
    if language not in LANGS:
        msg = f"report language {language!r} is not supported; use 'zh' or 'en'"
        raise ValueError(msg)
    env = environment(template_dir)
    context = report_context(result, language, tables=tables)
    return str(env.get_template("report.html.j2").render(context))


# ----------------------------------------------------------------------------- Excel


def _excel_value(v: Any, col: Column) -> Any:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float | np.floating):
        x = float(v)
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "不可达 unreachable" if col.kind in ("min", "km") else ("∞" if x > 0 else "-∞")
        return x
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, bool | np.bool_):
        return format_value(bool(v), "bool", "zh") + " " + format_value(bool(v), "bool", "en")
    if col.kind in ("setting", "word"):
        zh, en = format_value(v, col.kind, "zh"), format_value(v, col.kind, "en")
        return zh if zh == en else f"{zh} {en}"
    if isinstance(v, int | float | str):
        return v
    return str(v)


def _sheet_name(name: str, used: set[str]) -> str:
    bad = "[]:*?/\\"
    clean = "".join("_" if ch in bad else ch for ch in name)[:31] or "Sheet"
    base, i = clean, 2
    while clean in used:
        clean = f"{base[:28]}_{i}"
        i += 1
    used.add(clean)
    return clean


#: characters drawn two columns wide in a spreadsheet (CJK and beyond: code points > U+2E80)
_WIDE = re.compile("[\u2e81-\U0010ffff]")


def _display_width(text: str) -> float:
    """Columns ``text`` takes: 2 per character above U+2E80 (CJK), 1 per other character."""
    return float(len(text) + len(_WIDE.findall(text)))


def write_workbook(
    result: AnalysisResult, path: str | Path, *, tables: list[Table] | None = None
) -> Path | None:
    """Write ``report.xlsx``: one sheet per report table (atomically).

    Row 1 holds the Chinese headers, row 2 the English ones; panes are frozen below them.
    Values are raw numbers with number formats (shares as percent), so sums and filters work.

    Parameters
    ----------
    result : AnalysisResult
    path : str or Path
        The workbook to write.

    Returns
    -------
    Path or None
        ``path``, or ``None`` (with a logged warning) when openpyxl is not installed.
    """
    try:
        from openpyxl import Workbook
        from openpyxl.utils import get_column_letter
    except ImportError:
        log.warning(
            "openpyxl is not installed, so report.xlsx was not written; "
            'install it with: pip install "ynps-geo[all]"'
        )
        return None
    from ynps_geo.io.vector import atomic_write

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for t in tables if tables is not None else all_tables(result):
        ws = wb.create_sheet(_sheet_name(t.sheet, used))
        widths = _sheet_headers(ws, t.columns)
        _sheet_rows(ws, t, widths)
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 8), 60)
        ws.freeze_panes = "A3"
        if t.columns:
            ws.auto_filter.ref = f"A2:{get_column_letter(len(t.columns))}{max(2, len(t) + 2)}"
    target = Path(path)
    with atomic_write(target) as tmp:
        wb.save(tmp)
    return target


def _sheet_headers(ws: Any, columns: list[Column]) -> list[float]:
    """Rows 1 (Chinese) and 2 (English) of a sheet, bold on a fill; returns their widths."""
    from openpyxl.styles import Alignment, Font, PatternFill

    bold = Font(bold=True)
    fill_zh = PatternFill("solid", fgColor="F3D9D6")
    fill_en = PatternFill("solid", fgColor="F3F3F3")
    widths = []
    for j, c in enumerate(columns, start=1):
        a = ws.cell(
            row=1,
            column=j,
            value=c.zh + (f"（{'中文' if c.lang == 'zh' else '英文'}）" if c.lang else ""),
        )
        b = ws.cell(
            row=2,
            column=j,
            value=c.en + (f" ({'Chinese' if c.lang == 'zh' else 'English'})" if c.lang else ""),
        )
        a.font = b.font = bold
        a.fill, b.fill = fill_zh, fill_en
        a.alignment = b.alignment = Alignment(wrap_text=True, vertical="top")
        widths.append(max(_display_width(str(a.value)), _display_width(str(b.value))))
    return widths


def _sheet_rows(ws: Any, t: Table, widths: list[float]) -> None:
    """The table's rows from row 3, raw values with number formats; widens ``widths``."""
    fmts = [EXCEL_FORMATS.get(c.kind) for c in t.columns]
    for i, rec in enumerate(t.data.to_dict("records"), start=3):
        for j, c in enumerate(t.columns, start=1):
            val = _excel_value(rec.get(c.key), c)
            cell = ws.cell(row=i, column=j, value=val)
            if fmts[j - 1] and isinstance(val, int | float):
                cell.number_format = fmts[j - 1]
            if i < 200 and val is not None:
                w = _display_width(str(val)) if not isinstance(val, float) else 10
                widths[j - 1] = max(widths[j - 1], w)


def write_reports(result: AnalysisResult, out_dir: Path) -> dict[str, Path]:
    """Write ``report.html``, ``map.html`` and ``report.xlsx`` (when openpyxl is installed).

    Each file is written atomically (a temporary file renamed into place), so a scheduled run
    never leaves a half-written report.

    Returns
    -------
    dict
        ``report``, ``map`` and (with openpyxl) ``workbook`` -> path.
    """
    from ynps_geo.io.vector import atomic_write
    from ynps_geo.report import maps

    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    from ynps_geo.report.changes import result_tables

    # shared by the HTML report and the workbook; the comparison's sheets come last
    tables = all_tables(result) + result_tables(result)
    with atomic_write(out_dir / "report.html") as tmp:
        Path(tmp).write_text(
            report_html(
                result,
                language=result.language,
                tables=tables,
                template_dir=result.report_templates,
            ),
            encoding="utf-8",
        )
    written["report"] = out_dir / "report.html"
    with atomic_write(out_dir / "map.html") as tmp:
        Path(tmp).write_text(maps.map_html(result, language=result.language), encoding="utf-8")
    written["map"] = out_dir / "map.html"
    book = write_workbook(result, out_dir / "report.xlsx", tables=tables)
    if book is not None:
        written["workbook"] = book
    return written
