"""The coverage report (``report.html``) and workbook (``report.xlsx``) a planning office hands
to a county government.

``report.html`` is one self-contained file: CSS and SVG charts inline, no external URL, a small
inline script only for the language switch (the page reads fully without it). Chinese by
default; every label is written in both languages and the page shows one (``中文 / English``
buttons, or ``language="en"``). It prints on A4 with a page per section and per standard.

``report.xlsx`` (openpyxl, optional) holds the same tables, one sheet each, with a Chinese
header in row 1 and an English header in row 2, frozen panes under the headers and shares in
percent format. Values stay numbers, so the office can compute with them.

Functions
---------
report_html
    The report as an HTML string.
write_workbook
    The Excel workbook (atomically); ``None`` when openpyxl is missing.
write_reports
    ``report.html``, ``map.html`` and ``report.xlsx`` into a folder.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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

__all__ = ["UNCOVERED_TOP", "report_html", "table_html", "write_reports", "write_workbook"]

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


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _l(zh: str, en: str, tag: str = "span") -> str:
    """Both languages (escaped); the page's CSS shows one."""
    if zh == en:
        return _esc(zh)
    return (
        f'<{tag} class="zh" lang="zh">{_esc(zh)}</{tag}>'
        f'<{tag} class="en" lang="en">{_esc(en)}</{tag}>'
    )


def _cell(v: Any, col: Column) -> str:
    zh = format_value(v, col.kind, "zh")
    en = format_value(v, col.kind, "en")
    return _l(zh, en)


def table_html(table: Table, *, max_rows: int = TABLE_MAX_ROWS) -> str:
    """A report table as HTML: headers in both languages, values formatted for people.

    Columns written in one language only (``Column.lang``) carry that language's class, so the
    page shows them only in that language. At most ``max_rows`` rows; a line says how many
    more the workbook holds.
    """
    if not len(table):
        return f'<p class="muted">{_l("（无）", "(none)")}</p>'
    head = []
    for c in table.columns:
        hc = [c.lang] if c.lang else []
        if c.key in WRAP:
            hc.append("wrap")
        cls = f' class="{" ".join(hc)}"' if hc else ""
        num = " num" if c.kind not in TEXT_KINDS else ""
        head.append(
            f'<th{cls} data-col="{_esc(c.key)}" data-kind="{c.kind}{num}">{_l(c.zh, c.en)}</th>'
        )
    rows = []
    for rec in table.data.head(max_rows).to_dict("records"):
        cells = []
        for c in table.columns:
            td_cls = [c.lang] if c.lang else []
            if c.kind not in TEXT_KINDS:
                td_cls.append("num")
            if c.key in WRAP:
                td_cls.append("wrap")
            if c.kind in ("min", "km") and _isinf(rec.get(c.key)):
                td_cls.append("bad")
            attr = f' class="{" ".join(td_cls)}"' if td_cls else ""
            cells.append(f"<td{attr}>{_cell(rec.get(c.key), c)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(table) > max_rows:
        n = len(table) - max_rows
        words = _l(
            f"另有 {n:,} 行见 Excel 工作簿 report.xlsx。",
            f"{n:,} more rows in the workbook report.xlsx.",
        )
        more = f'<p class="muted">{words}</p>'
    return (
        f'<div class="tblwrap"><table class="tbl" data-table="{_esc(table.key)}"><thead><tr>'
        + "".join(head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        + more
    )


def _isinf(v: Any) -> bool:
    try:
        return math.isinf(float(v))
    except (TypeError, ValueError):
        return False


CSS = """
*{box-sizing:border-box}
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC","WenQuanYi Micro Hei",
"WenQuanYi Zen Hei",sans-serif;
margin:0 auto;padding:1.5em 2em;max-width:1100px;color:#222;line-height:1.5;background:#fff}
.show-zh .en{display:none!important}.show-en .zh{display:none!important}
h1{font-size:1.7em;margin:.2em 0}
h2{border-bottom:3px solid #c0392b;padding-bottom:.2em;margin-top:1.8em}
h3{margin:1.2em 0 .4em}section{scroll-margin-top:3em}
.sub{color:#555;margin:.2em 0}.muted{color:#777}.bad{color:#c0392b;font-weight:bold}
.good{color:#27ae60}
.toolbar{position:sticky;top:0;background:#fff;padding:.4em 0;border-bottom:1px solid #eee;
z-index:2;text-align:right}
.toolbar button{font:inherit;padding:.2em .9em;margin-left:.4em;border:1px solid #999;
background:#f7f7f7;cursor:pointer;border-radius:3px}
.toolbar button.on{background:#c0392b;color:#fff;border-color:#c0392b}
.tblwrap{overflow-x:auto}
.tbl{border-collapse:collapse;font-size:.86em;margin:.5em 0}
.tbl td,.tbl th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
.tbl td,.tbl th{white-space:nowrap}.tbl .wrap{white-space:normal;min-width:14em}
.tbl th{background:#f3f3f3;font-weight:600}.tbl td.num{text-align:right;white-space:nowrap}
.tbl tbody tr:nth-child(even){background:#fafafa}
.std{border:1px solid #ddd;border-radius:6px;padding:.6em 1.2em 1em;margin:1em 0}
.std h3{margin-top:.3em}
.std .sid{font-family:monospace;color:#777;font-weight:normal;font-size:.8em}
blockquote{margin:.5em 0;padding:.4em 1em;border-left:4px solid #c0392b;background:#fdf5f4}
.kpi{display:flex;flex-wrap:wrap;gap:.6em;margin:.6em 0}
.kpi div{flex:1 1 150px;border:1px solid #e3e3e3;border-radius:4px;padding:.4em .7em;
background:#fafafa}
.kpi b{display:block;font-size:1.35em}.kpi small{color:#666}
.chart{max-width:100%;height:auto;display:block;margin:.5em 0}
figure{margin:1em 0}figcaption{color:#555;font-size:.9em}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.82em;white-space:pre-wrap}
nav.toc ol{columns:2}
.warn{border:1px solid #c0392b;background:#fdf5f4;padding:.5em 1em;border-radius:4px}
@page{size:A4;margin:14mm}
@media print{
 body{padding:0;max-width:none;font-size:10pt}.toolbar{display:none}
 section.page{break-before:page}.std{break-before:page;break-inside:avoid;border:none;padding:0}
 thead{display:table-header-group}tr,figure,svg{break-inside:avoid}.tblwrap{overflow:visible}
 .tbl{font-size:8pt;max-width:100%}.tbl td,.tbl th{white-space:normal;padding:1px 3px;
 overflow-wrap:anywhere}.tbl .wrap{min-width:6em}.tbl td.num{white-space:nowrap}
 a{color:inherit;text-decoration:none}
}
"""

SCRIPT = """
(function(){
  function set(l){
    document.body.className=document.body.className.replace(/\\bshow-(zh|en)\\b/g,'')+' show-'+l;
    document.documentElement.lang=(l==='zh'?'zh-CN':'en');
    var b=document.querySelectorAll('.toolbar button[data-lang]');
    for(var i=0;i<b.length;i++){b[i].className=(b[i].getAttribute('data-lang')===l?'on':'');}
    var t=document.querySelector('title');
    if(t){t.textContent=t.getAttribute('data-'+l)||t.textContent;}
  }
  var b=document.querySelectorAll('.toolbar button[data-lang]');
  for(var i=0;i<b.length;i++){
    b[i].addEventListener('click',function(){set(this.getAttribute('data-lang'));});
  }
  var p=document.getElementById('print');
  if(p){p.addEventListener('click',function(){window.print();});}
})();
"""

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


def _kpi(value: str, zh: str, en: str, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<div><b{c}>{value}</b><small>{_l(zh, en)}</small></div>"


def _standard_page(s: PlanStandard, row: dict[str, Any], result: AnalysisResult) -> str:
    """The one-page summary of a standard."""
    share = row.get("share_covered", np.nan)
    colour = charts.share_colour(share) if np.isfinite(share) else "#222"
    vill = row.get("villages", np.nan)
    unc = row.get("villages_uncovered", np.nan)
    worst = row.get("worst_county")
    n_vill = format_value(vill, "int")
    parts = [
        f'<section class="std" id="std-{_esc(s.id)}" data-standard="{_esc(s.id)}">',
        f"<h3>{_l(s.title_zh or s.id, s.title_en or s.id)} "
        f'<span class="sid">{_esc(s.id)}</span></h3>',
    ]
    if s.plan_text:
        chapter = f' <span class="muted">— {_esc(s.chapter)}</span>' if s.chapter else ""
        parts.append(
            f"<blockquote>{_l('规划原文：', 'The plan: ')}“{_esc(s.plan_text)}”"
            f"{chapter}</blockquote>"
        )
    parts.append(
        "<p>"
        + _l("阈值：", "Threshold: ")
        + f"<b>{_l(threshold_text(s, 'zh'), threshold_text(s, 'en'))}</b>"
        + f"（{_l('含端点', 'inclusive')}）；"
        + _l("出行方式：", "mode: ")
        + f"<b>{_l(mode_text(s, 'zh'), mode_text(s, 'en'))}</b>；"
        + _l("适用：", "applies to: ")
        + f"<b>{_cell(s.applies_to, Column('a', '', '', 'setting'))}</b></p>"
    )
    parts.append('<div class="kpi">')
    parts.append(
        f'<div><b style="color:{colour}" data-field="share_covered">'
        f"{format_value(share, 'share')}</b>"
        f"<small>{_l('覆盖率', 'share covered')}</small></div>"
    )
    parts.append(
        '<div><b data-field="population_covered">'
        f"{format_value(row.get('population_covered'), 'pop')}</b>"
        f"<small>{_l('覆盖人口', 'people covered')}</small></div>"
    )
    parts.append(
        f'<div><b data-field="population">{format_value(row.get("population"), "pop")}</b>'
        f"<small>{_l('适用人口', 'people it applies to')}</small></div>"
    )
    parts.append(
        f'<div><b data-field="villages_uncovered">{format_value(unc, "int")}</b>'
        f"<small>{_l(f'未覆盖村(共 {n_vill} 个)', f'villages uncovered (of {n_vill})')}"
        "</small></div>"
    )
    worst_txt = "–" if worst is None else f"{worst} {format_value(row.get('worst_share'), 'share')}"
    parts.append(
        f'<div><b data-field="worst_county">{_esc(worst_txt)}</b>'
        f"<small>{_l('覆盖率最低的县', 'worst county')}</small></div>"
    )
    parts.append("</div>")
    if s.note:
        parts.append(f'<p class="muted">{_l("说明：", "Note: ")}{_esc(s.note)}</p>')
    thr = float(s.threshold or 0)
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
        if svg:
            parts.append(
                f"<figure>{svg}<figcaption>"
                + _l(
                    f"在多少{'分钟' if s.unit == 'min' else '公里'}内能到达："
                    "累计覆盖人口比例；虚线为阈值。",
                    f"Share of people reached within each {'minute' if s.unit == 'min' else 'km'}"
                    "; the dashed line is the threshold.",
                )
                + "</figcaption></figure>"
            )
    parts.append("</section>")
    return "".join(parts)


def _section(key: str, zh: str, en: str, body: str, *, page: bool = True) -> str:
    cls = ' class="page"' if page else ""
    return f'<section id="{key}"{cls}><h2>{_l(zh, en)}</h2>{body}</section>'


def _presence_block(t: Table) -> str:
    """The presence rules, listing only units that fail or were not evaluated (all in Excel)."""
    if not len(t) or "met" not in t.data.columns:
        return _table_block(t)
    met = t.data["met"]
    keep = ~(met.notna() & met.astype(object).eq(True))
    shown = dataclasses.replace(t, data=t.data[keep.to_numpy(bool)].reset_index(drop=True))
    n = int((~keep).sum())
    shown.note_zh = f"{t.note_zh}下表只列未达标或未评价的单元；{n:,} 个达标单元见 report.xlsx。"
    shown.note_en = (
        f"{t.note_en} Only units that fail or were not evaluated are listed; the {n:,} units "
        "that meet the rule are in report.xlsx."
    )
    return _table_block(shown)


def _rule_notes(tables: dict[str, Table]) -> str:
    notes = [n for k in ("presence", "ratios") for n in tables[k].extra.get("notes", [])]
    if not notes:
        return ""
    return (
        f"<h3>{_l('规则评价说明', 'Notes on the rules')}</h3><ul>"
        + "".join(f"<li>{_esc(n)}</li>" for n in notes)
        + "</ul>"
    )


def _table_block(t: Table, *, max_rows: int = TABLE_MAX_ROWS, level: str = "h3") -> str:
    note = f'<p class="muted">{_l(t.note_zh, t.note_en)}</p>' if t.note_zh else ""
    return (
        f"<{level}>{_l(t.title_zh, t.title_en)}</{level}>{note}{table_html(t, max_rows=max_rows)}"
    )


def report_html(
    result: AnalysisResult, language: str = "zh", *, tables: list[Table] | None = None
) -> str:
    """The coverage report as one self-contained HTML page.

    Parameters
    ----------
    result : AnalysisResult
    language : {"zh", "en"}
        The language shown when the page opens (both are in the page; buttons switch).

    Returns
    -------
    str
        The whole document. It references no external URL.

    Raises
    ------
    ValueError
        On an unknown language.
    """
    if language not in LANGS:
        msg = f"report language {language!r} is not supported; use 'zh' or 'en'"
        raise ValueError(msg)
    by_key = {t.key: t for t in (tables if tables is not None else all_tables(result))}
    unc_top = uncovered_table(result, top=UNCOVERED_TOP)
    name = result.name or "ynps_geo"
    title_zh = f"{name} 基本公共服务覆盖评估报告"
    title_en = f"Public service coverage report: {name}"
    now = datetime.now()
    summary = by_key["summary"].data.set_index("standard_id", drop=False)

    out: list[str] = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if language == "zh" else "en"}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f'<title data-zh="{_esc(title_zh)}" data-en="{_esc(title_en)}">'
        f"{_esc(title_zh if language == 'zh' else title_en)}</title>",
        f"<style>{CSS}</style></head>",
        f'<body class="show-{language}">',
        '<div class="toolbar"><button type="button" data-lang="zh"'
        + (' class="on"' if language == "zh" else "")
        + '>中文</button><button type="button" data-lang="en"'
        + (' class="on"' if language == "en" else "")
        + '>English</button><button type="button" id="print">'
        + _l("打印", "Print")
        + "</button></div>",
        f"<header><h1>{_l(title_zh, title_en)}</h1>",
        '<p class="sub">'
        + _l(
            "依据《云南省“十四五”公共服务发展规划》的服务圈标准",
            "Against the service-circle standards of Yunnan's 14th Five-Year Public Service Plan",
        )
        + "</p>",
        f'<p class="muted">{_l("生成日期：", "Date: ")}<time datetime="{now:%Y-%m-%d}">'
        f"{now:%Y-%m-%d %H:%M}</time> · ynps_geo</p></header>",
    ]
    if result.failures:
        n = len(result.failures)
        out.append(
            '<p class="warn">'
            + _l(
                f"注意：{n} 个县分析失败，未计入本报告，见“未能完成分析的县”。",
                f"Note: {n} count{'y' if n == 1 else 'ies'} failed and are not in this report; "
                "see 'Counties that failed'.",
            )
            + "</p>"
        )
    toc = [
        ("summary", "各标准汇总", "Summary per standard"),
        ("coverage", "分县与分城乡覆盖", "Coverage by county and setting"),
        ("charts", "图表", "Charts"),
        ("uncovered", "未覆盖的村(社区)", "Uncovered villages"),
        ("rules", "设施配置与千人指标", "Presence and ratio rules"),
        ("equity", "均等化", "Equalisation"),
        ("failures", "未能完成分析的县", "Counties that failed"),
        ("method", "方法与数据来源", "Method and data sources"),
        ("timings", "运行用时", "Timings"),
        ("config", "使用的配置", "Configuration used"),
    ]
    from ynps_geo.report import changes  # "since the previous report" (issue 13)

    changes_toc = changes.section_toc(result)
    if changes_toc:
        toc.insert(0, changes_toc)
    out.append(
        '<nav class="toc"><ol>'
        + "".join(f'<li><a href="#{k}">{_l(zh, en)}</a></li>' for k, zh, en in toc)
        + "</ol></nav>"
    )

    out.append(changes.section_html(result))  # "" when there is no earlier run

    # 1. summary: overview table, then a page per standard
    overview = Table(
        "overview",
        "",
        "",
        "",
        [
            c
            for c in by_key["summary"].columns
            if c.key
            in (
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
        ],
        by_key["summary"].data,
    )
    body = [table_html(overview)]
    for s in result.standards:
        row = summary.loc[s.id].to_dict() if s.id in summary.index else {}
        body.append(_standard_page(s, row, result))
    out.append(_section("summary", "各标准汇总", "Summary per standard", "".join(body), page=False))

    # 2. coverage by county and setting
    out.append(
        _section(
            "coverage",
            "分县与分城乡覆盖",
            "Coverage by county and by urban/rural setting",
            _table_block(by_key["county"]) + _table_block(by_key["setting"]),
        )
    )

    # 3. charts
    figs = []
    bars = charts.county_bars_svg(result)
    if bars:
        figs.append(
            f"<figure>{bars}<figcaption>"
            + _l(
                "各县覆盖率，每项标准一组，由低到高；虚线为全部县合计。",
                "Covered share by county, one block per standard, lowest first; the dashed "
                "line is all counties together.",
            )
            + "</figcaption></figure>"
        )
    for unit, zh, en in (
        ("min", "分钟", "minutes"),
        ("km", "公里", "kilometres"),
    ):
        svg = charts.cumulative_svg(result, unit=unit, key=f"cumulative-{unit}")
        if svg:
            figs.append(
                f"<figure>{svg}<figcaption>"
                + _l(
                    f"累计覆盖人口比例与出行{'时间' if unit == 'min' else '距离'}({zh})；"
                    "圆点为各标准阈值处的覆盖率。",
                    "Cumulative share of people against travel "
                    f"{'time' if unit == 'min' else 'distance'} ({en}); "
                    "the dot on each line is the share covered at its threshold.",
                )
                + "</figcaption></figure>"
            )
    out.append(
        _section(
            "charts",
            "图表",
            "Charts",
            "".join(figs) or f'<p class="muted">{_l("（无）", "(none)")}</p>',
        )
    )

    # 4. ranked uncovered villages
    total = unc_top.extra.get("total", len(unc_top))
    unc_note = _l(
        f"共 {total:,} 个村(社区)至少有一项标准未达到；按人口由多到少列出前 "
        f"{min(total, UNCOVERED_TOP):,} 个，全部见 report.xlsx。",
        f"{total:,} villages fail at least one standard; the {min(total, UNCOVERED_TOP):,} "
        "largest are listed, all of them are in report.xlsx.",
    )
    out.append(
        _section(
            "uncovered",
            "未覆盖的村(社区)，按人口排序",
            "Uncovered villages, ranked by population",
            f'<p class="muted">{unc_note}</p>' + table_html(unc_top, max_rows=UNCOVERED_TOP),
        )
    )

    # 5. presence and ratio rules
    out.append(
        _section(
            "rules",
            "设施配置与千人指标",
            "Presence and ratio rules",
            _table_block(by_key["presence_summary"])
            + _presence_block(with_names(by_key["presence"], result))
            + _table_block(with_names(by_key["ratios"], result))
            + _rule_notes(by_key),
        )
    )

    # 6. equalisation
    out.append(
        _section(
            "equity",
            "均等化：县际差距与城乡差距",
            "Equalisation: gaps between counties and between urban and rural",
            f'<p class="muted">{_l(by_key["equity"].note_zh, by_key["equity"].note_en)}</p>'
            + table_html(by_key["equity"]),
        )
    )

    # 7. failures
    fail = by_key["failures"]
    out.append(
        _section(
            "failures",
            "未能完成分析的县",
            "Counties that failed",
            (f'<p class="muted">{_l(fail.note_zh, fail.note_en)}</p>' if len(fail) else "")
            + (
                table_html(fail)
                if len(fail)
                else f'<p class="good">{_l("所有县均已完成分析。", "Every county was analysed.")}'
                "</p>"
            ),
        )
    )

    # 8. method and data sources
    method = [
        f"<h3>{_l('出行模型', 'Travel model')}</h3><p>{_l(*TRAVEL_MODEL)}</p>",
        f"<h3>{_l('数据来源', 'Data sources')}</h3>",
    ]
    notes = by_key["notes"].data
    inputs = notes[~notes["kind"].isin(["说明 note", "规则说明 rule note"])]
    method.append(
        "<ul>"
        + "".join(
            f"<li>{_esc(r.kind)}: <code>{_esc(r.text)}</code></li>" for r in inputs.itertuples()
        )
        + "</ul>"
        if len(inputs)
        else f'<p class="muted">{_l("（无）", "(none)")}</p>'
    )
    method.append(f"<h3>{_l('假设与数据质量说明', 'Assumptions and data-quality notes')}</h3>")
    std_notes = [f"{s.id}: {s.note}" for s in result.standards if s.note]
    all_notes = [*[str(n) for n in result.notes], *std_notes]
    method.append(
        "<ul>" + "".join(f"<li>{_esc(n)}</li>" for n in all_notes) + "</ul>"
        if all_notes
        else f'<p class="muted">{_l("（无）", "(none)")}</p>'
    )
    out.append(_section("method", "方法与数据来源", "Method and data sources", "".join(method)))

    # 9. timings, 10. config
    out.append(
        _section("timings", "运行用时", "Timings", table_html(by_key["timings"]), page=False)
    )
    cfg = result.config_text or ""
    out.append(
        _section(
            "config",
            "使用的配置",
            "Configuration used",
            f"<pre>{_esc(cfg)}</pre>" if cfg else f'<p class="muted">{_l("（无）", "(none)")}</p>',
        )
    )
    out.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(out)


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


def _display_width(text: str) -> float:
    return sum(2.0 if ord(ch) > 0x2E80 else 1.0 for ch in text)


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
        from openpyxl.styles import Alignment, Font, PatternFill
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
    bold = Font(bold=True)
    fill_zh = PatternFill("solid", fgColor="F3D9D6")
    fill_en = PatternFill("solid", fgColor="F3F3F3")
    for t in tables if tables is not None else all_tables(result):
        ws = wb.create_sheet(_sheet_name(t.sheet, used))
        widths = []
        for j, c in enumerate(t.columns, start=1):
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
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 8), 60)
        ws.freeze_panes = "A3"
        if t.columns:
            ws.auto_filter.ref = f"A2:{get_column_letter(len(t.columns))}{max(2, len(t) + 2)}"
    target = Path(path)
    with atomic_write(target) as tmp:
        wb.save(tmp)
    return target


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
            report_html(result, language=result.language, tables=tables), encoding="utf-8"
        )
    written["report"] = out_dir / "report.html"
    with atomic_write(out_dir / "map.html") as tmp:
        Path(tmp).write_text(maps.map_html(result, language=result.language), encoding="utf-8")
    written["map"] = out_dir / "map.html"
    book = write_workbook(result, out_dir / "report.xlsx", tables=tables)
    if book is not None:
        written["workbook"] = book
    return written
