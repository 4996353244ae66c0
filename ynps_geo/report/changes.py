"""What changed, for people: the "since the previous report" section, the trend chart, the
standalone comparison report of ``ynps-geo compare`` and the map layer of changed villages.

The tables come from :mod:`ynps_geo.compare` (a :class:`~ynps_geo.compare.Comparison`); this
module only words and draws them. The wording follows the comparison's ``kind``:
``previous`` (a scheduled report against the previous one), ``compare`` (two runs named by a
user) or ``scenario`` (a baseline against planned facilities).

Functions
---------
summary_lines
    The few sentences a county official reads first.
tables
    The comparison's report tables (shares, changed villages, facilities, trend), for the
    HTML report and the workbook.
section_html
    The section of ``report.html`` (empty when the run has no comparison).
trend_svg
    Each standard's covered share over the dated runs, an inline SVG line chart.
comparison_html, write_comparison
    The standalone comparison report and its files.
add_map_layer
    The layer of changed villages on ``map.html``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ynps_geo.report.tables import Column, Table, format_value

if TYPE_CHECKING:
    from ynps_geo.compare import Comparison
    from ynps_geo.model.results import AnalysisResult

__all__ = [
    "SECTION_ID",
    "add_map_layer",
    "comparison_html",
    "section_html",
    "section_title",
    "summary_lines",
    "tables",
    "trend_svg",
    "write_comparison",
]

SECTION_ID = "changes"
"""Anchor of the section in ``report.html``."""

VILLAGES_SHOWN = 300
"""Changed villages listed in the HTML report (the workbook has all)."""

CHANGE_WORDS: dict[str, tuple[str, str]] = {
    "newly_covered": ("新覆盖", "newly covered"),
    "newly_uncovered": ("新失去覆盖", "newly uncovered"),
    "population": ("人口变化", "population changed"),
}
CHANGE_COLOURS = {"newly_covered": "#1a9850", "newly_uncovered": "#d62728", "population": "#2b8cbe"}


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _l(zh: str, en: str) -> str:
    if zh == en:
        return _esc(zh)
    return (
        f'<span class="zh" lang="zh">{_esc(zh)}</span><span class="en" lang="en">{_esc(en)}</span>'
    )


def section_title(comp: Comparison) -> tuple[str, str]:
    """The section's title (Chinese, English) for the comparison's kind."""
    if comp.kind == "previous":
        return (
            f"与上次报告（{comp.before_label}）相比的变化",
            f"Since the previous report ({comp.before_label})",
        )
    if comp.kind == "scenario":
        return (
            f"规划方案的效果：现状与方案（{comp.after_label}）对比",
            f"Planned facilities: baseline and scenario ({comp.after_label}) side by side",
        )
    return (
        f"{comp.before_label} 与 {comp.after_label} 的对比",
        f"{comp.before_label} compared with {comp.after_label}",
    )


def _then_now(comp: Comparison) -> tuple[tuple[str, str], tuple[str, str]]:
    if comp.kind == "scenario":
        return ("现状", "baseline"), ("方案", "scenario")
    if comp.kind == "previous":
        return (f"上次 {comp.before_label}", f"then {comp.before_label}"), (
            f"本次 {comp.after_label}",
            f"now {comp.after_label}",
        )
    return (comp.before_label, comp.before_label), (comp.after_label, comp.after_label)


def _title(comp: Comparison, sid: str, lang: str) -> str:
    t = comp.standards.get(sid)
    if not t:
        return sid
    return t[0] if lang == "zh" else t[1]


def _fac_list(df: pd.DataFrame, lang: str, limit: int = 6) -> str:
    parts = []
    for r in df.head(limit).itertuples(index=False):
        name = f"{r.name}" if isinstance(r.name, str) and r.name else ""
        extra = ""
        if r.change == "moved" and np.isfinite(r.distance_m):
            d = float(r.distance_m)
            extra = f"，移动 {d:,.0f} 米" if lang == "zh" else f", moved {d:,.0f} m"
        if r.change == "recategorised":
            extra = (
                f"，{r.category_before}/{r.subtype_before} → {r.category}/{r.subtype}"
                if lang == "zh"
                else f", {r.category_before}/{r.subtype_before} → {r.category}/{r.subtype}"
            )
        parts.append(f"{r.facility_id} {name}{extra}")
    more = len(df) - limit
    if more > 0:
        parts.append(f"等共 {len(df)} 处" if lang == "zh" else f"and {more} more")
    return ("、" if lang == "zh" else "; ").join(parts)


def _villages(n: int) -> str:
    return f"{n} village" if n == 1 else f"{n} villages"


def summary_lines(comp: Comparison, lang: str = "zh") -> list[str]:
    """The sentences a reader sees first: facilities changed, then each standard's move.

    Parameters
    ----------
    comp : Comparison
    lang : {"zh", "en"}

    Returns
    -------
    list of str
        Plain text, one sentence each.
    """
    zh = lang == "zh"
    lines: list[str] = []
    f = comp.facilities
    counts = {
        k: int((f["change"] == k).sum()) if len(f) else 0
        for k in ("added", "removed", "moved", "recategorised")
    }
    reg = "设施名录" if zh else "Facility register"
    if comp.kind == "scenario":
        reg = "规划新增设施" if zh else "Planned facilities"
    if any(counts.values()):
        if zh:
            bits = [
                f"新增 {counts['added']} 处",
                f"撤销 {counts['removed']} 处",
                f"位置变动 {counts['moved']} 处",
                f"类别变更 {counts['recategorised']} 处",
            ]
        else:
            bits = [
                f"{counts['added']} added",
                f"{counts['removed']} removed",
                f"{counts['moved']} moved",
                f"{counts['recategorised']} re-categorised",
            ]
        line = f"{reg}：" + "，".join(bits) + "。" if zh else f"{reg}: " + ", ".join(bits) + "."
        lines.append(line)
        for k, (wz, we) in (
            ("added", ("新增", "Added")),
            ("removed", ("撤销", "Removed")),
            ("moved", ("位置变动", "Moved")),
            ("recategorised", ("类别变更", "Re-categorised")),
        ):
            sub = f[f["change"] == k]
            if len(sub):
                lines.append(
                    f"{wz}：{_fac_list(sub, 'zh')}。" if zh else f"{we}: {_fac_list(sub, 'en')}."
                )
    else:
        lines.append(f"{reg}没有变化。" if zh else f"{reg}: unchanged.")
    s = comp.shares
    allrows = s[s["county"] == "ALL"] if len(s) else s
    unchanged = []
    for r in allrows.to_dict("records"):
        sid = str(r["standard_id"])
        title = _title(comp, sid, lang)
        moved = (
            (abs(float(r["change_pp"])) > 1e-9 if np.isfinite(r["change_pp"]) else False)
            or r["villages_newly_covered"]
            or r["villages_newly_uncovered"]
        )
        if not moved:
            unchanged.append(title)
            continue
        sb = format_value(r["share_before"], "share", lang)
        sa = format_value(r["share_after"], "share", lang)
        pp = format_value(r["change_pp"], "pp", lang)
        nc, nu = int(r["villages_newly_covered"]), int(r["villages_newly_uncovered"])
        pc = format_value(r["people_newly_covered"], "pop", lang)
        pu = format_value(r["people_newly_uncovered"], "pop", lang)
        if zh:
            line = f"{title}：覆盖率 {sb} → {sa}（{pp}）"
            if nc:
                line += f"；新覆盖 {nc} 个村(社区)、{pc} 人"
            if nu:
                line += f"；新失去覆盖 {nu} 个村(社区)、{pu} 人"
            if r["reasons_zh"]:
                line += f"。原因：{r['reasons_zh']}"
            lines.append(line + "。")
        else:
            line = f"{title}: share covered {sb} → {sa} ({pp})"
            if nc:
                line += f"; {_villages(nc)} ({pc} people) newly covered"
            if nu:
                line += f"; {_villages(nu)} ({pu} people) newly uncovered"
            if r["reasons_en"]:
                line += f". Why: {r['reasons_en']}"
            lines.append(line + ".")
    if unchanged:
        lines.append(
            f"其余 {len(unchanged)} 项标准的覆盖率没有变化：{'、'.join(unchanged)}。"
            if zh
            else f"Unchanged ({len(unchanged)}): {'; '.join(unchanged)}."
        )
    v = comp.villages
    npop = int((v["change"] == "population").sum()) if len(v) else 0
    if npop:
        d = v[v["change"] == "population"]
        delta = float((d["population_after"] - d["population_before"]).sum())
        lines.append(
            f"{npop} 个村(社区)的人口有变化，合计 {delta:+,.0f} 人"
            "（不改变其覆盖状态，只改变覆盖人数）。"
            if zh
            else f"{_villages(npop)} changed population, {delta:+,.0f} people in all (their "
            "coverage is unchanged; only the people counted change)."
        )
    return lines


# ---------------------------------------------------------------------------- tables
def tables(comp: Comparison | None, trend: pd.DataFrame | None = None) -> list[Table]:
    """The comparison's tables for the report and the workbook (empty list without one)."""
    out: list[Table] = []
    if comp is not None:
        (bz, be), (az, ae) = _then_now(comp)
        s = comp.shares.copy()
        s["title_zh"] = [_title(comp, i, "zh") for i in s["standard_id"]]
        s["title_en"] = [_title(comp, i, "en") for i in s["standard_id"]]
        s["county"] = s["county"].replace({"ALL": "ALL 全部"})
        gain = comp.kind == "scenario"
        out.append(
            Table(
                "changes_shares",
                "变化-覆盖率 Change shares" if not gain else "方案-覆盖率 Scenario shares",
                "覆盖率的变化（分县、分标准）" if not gain else "现状、方案与增益（分县、分标准）",
                "Shares then and now, by county and standard"
                if not gain
                else "Baseline, scenario and gain, by county and standard",
                [
                    Column("county", "县", "county"),
                    Column("standard_id", "标准编号", "standard id"),
                    Column("title_zh", "标准", "standard", lang="zh"),
                    Column("title_en", "标准", "standard", lang="en"),
                    Column("share_before", f"{bz}覆盖率", f"share {be}", "share"),
                    Column("share_after", f"{az}覆盖率", f"share {ae}", "share"),
                    Column(
                        "change_pp",
                        "变化" if not gain else "增益",
                        "change" if not gain else "gain",
                        "pp",
                    ),
                    Column(
                        "population_covered_before", f"{bz}覆盖人口", f"people covered {be}", "pop"
                    ),
                    Column(
                        "population_covered_after", f"{az}覆盖人口", f"people covered {ae}", "pop"
                    ),
                    Column("villages_newly_covered", "新覆盖村数", "villages newly covered", "int"),
                    Column("people_newly_covered", "新覆盖村人口", "their people", "pop"),
                    Column(
                        "villages_newly_uncovered",
                        "新失去覆盖村数",
                        "villages newly uncovered",
                        "int",
                    ),
                    Column("people_newly_uncovered", "新失去覆盖村人口", "their people", "pop"),
                    Column("reasons_zh", "原因", "why", lang="zh"),
                    Column("reasons_en", "原因", "why", lang="en"),
                ],
                s,
                "变化以百分点计；新覆盖/新失去覆盖的人数按村人口计。",
                "Changes in percentage points; people newly (un)covered are the villages' "
                "populations.",
            )
        )
        v = comp.villages.drop(columns=["geometry"], errors="ignore").copy()
        v["change_zh"] = [CHANGE_WORDS.get(c, (c, c))[0] for c in v["change"]]
        v["change_en"] = [CHANGE_WORDS.get(c, (c, c))[1] for c in v["change"]]
        v["title_zh"] = [_title(comp, i, "zh") if i else "" for i in v["standard_id"]]
        v["title_en"] = [_title(comp, i, "en") if i else "" for i in v["standard_id"]]
        out.append(
            Table(
                "changes_villages",
                "变化-村 Changed villages",
                "覆盖状态或人口变化的村(社区)",
                "Villages whose coverage or population changed",
                [
                    Column("village_id", "村编码", "village id"),
                    Column("name", "村(社区)", "village"),
                    Column("county", "县", "county"),
                    Column("setting", "城乡", "setting", "setting"),
                    Column("change_zh", "变化", "change", lang="zh"),
                    Column("change_en", "变化", "change", lang="en"),
                    Column("title_zh", "标准", "standard", lang="zh"),
                    Column("title_en", "标准", "standard", lang="en"),
                    Column("value_before", f"{bz}(分钟/公里)", f"{be} (min/km)", "min"),
                    Column("value_after", f"{az}(分钟/公里)", f"{ae} (min/km)", "min"),
                    Column("population_after", "人口", "population", "pop"),
                    Column("reason_zh", "原因", "why", lang="zh"),
                    Column("reason_en", "原因", "why", lang="en"),
                    Column("facility_before", f"{bz}最近设施", f"nearest {be}"),
                    Column("facility_after", f"{az}最近设施", f"nearest {ae}"),
                ],
                v,
            )
        )
        f = comp.facilities.drop(columns=["geometry"], errors="ignore").copy()
        out.append(
            Table(
                "changes_facilities",
                "变化-设施 Changed facilities",
                "设施名录的变化",
                "Changes of the facility registers",
                [
                    Column("facility_id", "设施编号", "facility id"),
                    Column("name", "名称", "name"),
                    Column("category", "类别", "category"),
                    Column("subtype", "细类", "subtype"),
                    Column("change_zh", "变化", "change", lang="zh"),
                    Column("change_en", "变化", "change", lang="en"),
                    Column("distance_m", "移动距离(米)", "moved (m)", "num"),
                    Column("category_before", "原类别", "category before"),
                    Column("villages_flipped", "因此改变覆盖的村数", "villages it flipped", "int"),
                ],
                f if "villages_flipped" in f.columns else f.assign(villages_flipped=0),
                "按设施编号比较两份名录；移动距离为两次坐标之间的距离。",
                "The registers compared by facility id; a move is the distance between the two "
                "positions.",
            )
        )
    if trend is not None and len(trend) and trend["run"].nunique() >= 1:
        t = trend.copy()
        t["county"] = t["county"].astype(str).replace({"ALL": "ALL 全部"})
        out.append(
            Table(
                "trend",
                "趋势 Trend",
                "历次报告的覆盖率",
                "Share covered over the dated runs",
                [
                    Column("run", "报告日期", "run"),
                    Column("county", "县", "county"),
                    Column("standard_id", "标准编号", "standard id"),
                    Column("population", "适用人口", "population", "pop"),
                    Column("population_covered", "覆盖人口", "population covered", "pop"),
                    Column("share_covered", "覆盖率", "share covered", "share"),
                ],
                t,
            )
        )
    return out


def result_tables(result: AnalysisResult) -> list[Table]:
    """:func:`tables` of a result's comparison and trend (the workbook's extra sheets)."""
    trend = getattr(result, "trend", None)
    comp = getattr(result, "changes", None)
    if comp is None and (trend is None or trend["run"].nunique() < 2):
        return []
    return tables(comp, trend)


# ---------------------------------------------------------------------------- trend chart
def trend_svg(
    trend: pd.DataFrame,
    titles: Mapping[str, tuple[str, str]] | None = None,
    *,
    width: int = 860,
    height: int = 320,
    key: str = "trend",
) -> str:
    """Each standard's covered share (``ALL``) over the runs, one line per standard.

    Returns
    -------
    str
        An ``<svg>`` element (``""`` with fewer than two runs). Each line is a
        ``<path class="trend" data-standard=...>`` and each point a ``<circle
        data-run=... data-share=...>``.
    """
    from ynps_geo.report.charts import PALETTE, _svg, _text

    if trend is None or not len(trend):
        return ""
    t = trend[trend["county"].astype(str) == "ALL"]
    runs = list(dict.fromkeys(t["run"].astype(str)))
    if len(runs) < 2:
        return ""
    titles = titles or {}
    sids = list(dict.fromkeys(t["standard_id"].astype(str)))
    ml, mr, mt, mb = 56, 24, 20, 40
    legend_rows = (len(sids) + 1) // 2
    pw, ph = width - ml - mr, height - mt - mb
    body: list[str] = []

    def px(i: int) -> float:
        return ml + pw * (i / (len(runs) - 1))

    def py(share: float) -> float:
        return mt + ph * (1.0 - share)

    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(
            f'<line x1="{ml}" x2="{ml + pw}" y1="{py(frac):.1f}" y2="{py(frac):.1f}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        body.append(_text(ml - 6, py(frac) + 4, f"{frac:.0%}", text_anchor="end", fill="#555"))
    step = max(1, int(np.ceil(len(runs) / 8)))
    for i, r in enumerate(runs):
        if i % step == 0 or i == len(runs) - 1:
            body.append(_text(px(i), mt + ph + 16, r, text_anchor="middle", fill="#555"))
    body.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
    legend_y = mt + ph + 36
    for k, sid in enumerate(sids):
        colour = PALETTE[k % len(PALETTE)]
        g = t[t["standard_id"].astype(str) == sid].drop_duplicates("run", keep="last")
        shares = dict(zip(g["run"].astype(str), g["share_covered"].astype(float), strict=True))
        pts = [(i, shares[r]) for i, r in enumerate(runs) if r in shares and np.isfinite(shares[r])]
        if not pts:
            continue
        d = "".join(
            f"{'M' if j == 0 else 'L'}{px(i):.1f},{py(s):.1f}" for j, (i, s) in enumerate(pts)
        )
        body.append(
            f'<path class="trend" data-standard="{_esc(sid)}" d="{d}" fill="none" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        for i, s in pts:
            body.append(
                f'<circle data-standard="{_esc(sid)}" data-run="{_esc(runs[i])}" '
                f'data-share="{s:.6f}" cx="{px(i):.1f}" cy="{py(s):.1f}" r="3" fill="{colour}">'
                f"<title>{_esc(sid)} {_esc(runs[i])}: {s:.1%}</title></circle>"
            )
        zh, en = titles.get(sid, (sid, sid))
        last = pts[-1][1]
        lx = ml + (k % 2) * pw / 2
        ly = legend_y + (k // 2) * 16
        body.append(
            f'<line x1="{lx:.1f}" x2="{lx + 18:.1f}" y1="{ly - 4:.1f}" y2="{ly - 4:.1f}" '
            f'stroke="{colour}" stroke-width="3"/>'
        )
        body.append(_text(lx + 24, ly, f"{zh} {last:.1%}", f"{en} {last:.1%}", fill="#222"))
    total_h = legend_y + legend_rows * 16 + 4
    return _svg(width, total_h, "".join(body), "Share covered over the runs", key)


# ---------------------------------------------------------------------------- HTML
def _body_html(comp: Comparison | None, trend: pd.DataFrame | None, error: str = "") -> str:
    from ynps_geo.report.render import table_html

    parts: list[str] = []
    if error:
        parts.append(
            '<p class="warn">'
            + _l(
                f"无法与上次报告比较：{error}",
                f"The previous report cannot be compared: {error}",
            )
            + "</p>"
        )
    if comp is not None:
        zh, en = summary_lines(comp, "zh"), summary_lines(comp, "en")
        parts.append(
            '<ul class="changes-summary">'
            + "".join(f"<li>{_l(a, b)}</li>" for a, b in zip(zh, en, strict=True))
            + "</ul>"
        )
        for n in comp.notes:
            parts.append(f'<p class="muted">{_esc(n)}</p>')
        ts = {t.key: t for t in tables(comp)}
        shares = ts["changes_shares"]
        d = shares.data
        moved = (
            (d["change_pp"].abs().fillna(0) > 1e-12)
            | (d["villages_newly_covered"] > 0)
            | (d["villages_newly_uncovered"] > 0)
        )
        keep = moved | d["county"].eq("ALL 全部")
        shown = Table(
            shares.key,
            shares.sheet,
            shares.title_zh,
            shares.title_en,
            shares.columns,
            d[keep.to_numpy(bool)].reset_index(drop=True),
            shares.note_zh,
            shares.note_en,
        )
        for t in (shown, ts["changes_facilities"], ts["changes_villages"]):
            note = f'<p class="muted">{_l(t.note_zh, t.note_en)}</p>' if t.note_zh else ""
            parts.append(
                f"<h3>{_l(t.title_zh, t.title_en)}</h3>{note}"
                + table_html(t, max_rows=VILLAGES_SHOWN)
            )
    if trend is not None:
        titles = dict(comp.standards) if comp is not None else {}
        svg = trend_svg(trend, {k: (v[0], v[1]) for k, v in titles.items()})
        if svg:
            parts.append(
                f"<h3>{_l('历次报告的覆盖率', 'Share covered over the reports')}</h3>"
                f"<figure>{svg}<figcaption>"
                + _l(
                    "本文件夹中每次报告各标准的覆盖率（全部县合计）；"
                    "全部数值见 report.xlsx 的“趋势”表。",
                    "Each standard's share covered (all counties) in every dated report of this "
                    "folder; the figures are in report.xlsx, sheet 'Trend'.",
                )
                + "</figcaption></figure>"
            )
    return "".join(parts)


def section_html(result: AnalysisResult) -> str:
    """The "since the previous report" section of ``report.html`` ("" when there is none)."""
    comp = getattr(result, "changes", None)
    error = getattr(result, "changes_error", "") or ""
    trend = getattr(result, "trend", None)
    has_trend = trend is not None and len(trend) and trend["run"].nunique() >= 2
    if comp is None and not error and not has_trend:
        return ""
    if comp is not None:
        zh, en = section_title(comp)
    else:
        zh, en = ("与上次报告相比的变化", "Since the previous report")
    return (
        f'<section id="{SECTION_ID}" class="page"><h2>{_l(zh, en)}</h2>'
        + _body_html(comp, trend, error)
        + "</section>"
    )


def section_toc(result: AnalysisResult) -> tuple[str, str, str] | None:
    """The table-of-contents entry of the section (``None`` when there is none)."""
    comp = getattr(result, "changes", None)
    if comp is not None:
        zh, en = section_title(comp)
        return (SECTION_ID, zh, en)
    if getattr(result, "changes_error", ""):
        return (SECTION_ID, "与上次报告相比的变化", "Since the previous report")
    return None


def comparison_html(comp: Comparison, *, name: str = "", language: str = "zh") -> str:
    """The standalone comparison report of ``ynps-geo compare`` (one self-contained page)."""
    from ynps_geo.report.render import CSS, SCRIPT

    zh, en = section_title(comp)
    title_zh = f"{name} {zh}".strip()
    title_en = f"{name}: {en}" if name else en
    lang = language if language in ("zh", "en") else "zh"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f'<title data-zh="{_esc(title_zh)}" data-en="{_esc(title_en)}">'
            f"{_esc(title_zh if lang == 'zh' else title_en)}</title>",
            f"<style>{CSS}</style></head>",
            f'<body class="show-{lang}">',
            '<div class="toolbar"><button type="button" data-lang="zh"'
            + (' class="on"' if lang == "zh" else "")
            + '>中文</button><button type="button" data-lang="en"'
            + (' class="on"' if lang == "en" else "")
            + '>English</button><button type="button" id="print">'
            + _l("打印", "Print")
            + "</button></div>",
            f"<header><h1>{_l(title_zh, title_en)}</h1></header>",
            f'<section id="{SECTION_ID}">' + _body_html(comp, None) + "</section>",
            f"<script>{SCRIPT}</script></body></html>",
        ]
    )


def write_comparison(
    comp: Comparison, out_dir: str | Path, *, name: str = "", prefix: str = "comparison"
) -> dict[str, Path]:
    """Write the comparison: ``<prefix>.html``, ``<prefix>.xlsx`` (with openpyxl),
    ``<prefix>_shares.csv`` and ``<prefix>_changes.gpkg`` (layers ``changed_villages`` and
    ``changed_facilities``), each atomically.

    Returns
    -------
    dict
        name -> path of each file written.
    """
    from ynps_geo.io.vector import atomic_write, write_layer
    from ynps_geo.report.render import write_workbook

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with atomic_write(out / f"{prefix}.html") as tmp:
        Path(tmp).write_text(comparison_html(comp, name=name), encoding="utf-8")
    written["html"] = out / f"{prefix}.html"
    with atomic_write(out / f"{prefix}_shares.csv") as tmp:
        comp.shares.to_csv(tmp, index=False, encoding="utf-8")
    written["shares"] = out / f"{prefix}_shares.csv"
    book = write_workbook(None, out / f"{prefix}.xlsx", tables=tables(comp))  # type: ignore[arg-type]
    if book is not None:
        written["workbook"] = book
    gpkg = out / f"{prefix}_changes.gpkg"
    layer = comp.village_layer()
    layer = layer[layer.geometry.notna()]
    write_layer(layer, gpkg, layer="changed_villages")
    import geopandas as gpd

    f = comp.facilities
    if len(f) and "geometry" in f.columns:
        fl = gpd.GeoDataFrame(f, geometry="geometry", crs="EPSG:4326")
        write_layer(fl[fl.geometry.notna()], gpkg, layer="changed_facilities")
    written["gpkg"] = gpkg
    return written


# ---------------------------------------------------------------------------- map
def map_data(comp: Comparison, language: str = "zh") -> dict[str, Any] | None:
    """GeoJSON of the villages whose coverage flipped, with a popup each ("" when none)."""
    v = comp.villages
    if not len(v) or "geometry" not in v.columns:
        return None
    v = v[v["change"].isin(["newly_covered", "newly_uncovered"]) & v["geometry"].notna()]
    if not len(v):
        return None
    i = 0 if language == "zh" else 1
    feats = []
    for vid, g in v.groupby("village_id", sort=False):
        first = g.iloc[0]
        geom = first["geometry"]
        lines = []
        for r in g.itertuples(index=False):
            word = CHANGE_WORDS[r.change][i]
            title = _title(comp, r.standard_id, language)
            before = format_value(r.value_before, "min", language)
            after = format_value(r.value_after, "min", language)
            unit = ("公里" if r.unit == "km" else "分钟") if i == 0 else r.unit
            reason = r.reason_zh if i == 0 else r.reason_en
            lines.append(
                f'<b style="color:{CHANGE_COLOURS[r.change]}">{_esc(word)}</b> '
                f"{_esc(title)}: {_esc(before)} → {_esc(after)} {_esc(unit)}<br>"
                f"<small>{_esc(reason)}</small>"
            )
        kinds = set(g["change"])
        kind = (
            "newly_covered"
            if kinds == {"newly_covered"}
            else ("newly_uncovered" if kinds == {"newly_uncovered"} else "mixed")
        )
        popup = (
            f"<b>{_esc(first['name'])}</b> ({_esc(vid)})<br>"
            + ("人口" if i == 0 else "population")
            + f" {format_value(first['population_after'], 'pop', language)}<br>"
            + "<br>".join(lines)
        )
        feats.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(geom.x), 5), round(float(geom.y), 5)],
                },
                "properties": {
                    "k": kind,
                    "c": CHANGE_COLOURS.get(kind, "#8e44ad"),
                    "p": popup,
                    "name": str(first["name"]),
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def add_map_layer(m: Any, result: AnalysisResult, layer_cls: Any, language: str = "zh") -> None:
    """Add the changed villages (newly covered green rings, newly uncovered red) to the map."""
    comp = getattr(result, "changes", None)
    if comp is None:
        return
    data = map_data(comp, language)
    if data is None:
        return
    if comp.kind == "scenario":
        label = "方案新覆盖的村" if language == "zh" else "Villages the scenario covers"
    else:
        label = (
            f"与 {comp.before_label} 相比覆盖变化的村"
            if language == "zh"
            else f"Villages whose coverage changed since {comp.before_label}"
        )
    n = len(data["features"])
    name = (
        f'<span class="ynps-sw" style="background:{CHANGE_COLOURS["newly_covered"]}"></span>'
        f'<span class="ynps-sw" style="background:{CHANGE_COLOURS["newly_uncovered"]}"></span>'
        f"{_esc(label)} ({n})"
    )
    js = (
        "L.geoJSON("
        + json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
        + ',{pane:"ynps-villages",pointToLayer:function(f,ll){return L.circleMarker(ll,'
        '{pane:"ynps-villages",radius:11,color:f.properties.c,weight:3,fill:false,'
        'className:"ynps-changed"});},onEachFeature:function(f,l){l.bindPopup(f.properties.p,'
        '{maxWidth:360});l.bindTooltip(f.properties.name,{direction:"top"});}})'
    )
    layer_cls(js, name, show=True).add_to(m)
