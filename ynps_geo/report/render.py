"""HTML and Excel reports from an :class:`~ynps_geo.model.results.AnalysisResult`."""

from __future__ import annotations

import html
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ynps_geo.model.results import AnalysisResult

log = logging.getLogger(__name__)


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        if np.isnan(v):
            return "–"
        if np.isinf(v):
            return "∞"
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"
    return html.escape(str(v))


def table_html(df: pd.DataFrame, *, max_rows: int = 200, cls: str = "tbl") -> str:
    """A plain HTML table (escaped), at most ``max_rows`` rows."""
    if df is None or not len(df):
        return "<p class='muted'>—</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>"
        for row in df.head(max_rows).itertuples(index=False)
    )
    more = f"<p class='muted'>{len(df) - max_rows} more rows in the Excel workbook</p>" if len(df) > max_rows else ""
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:2em;color:#222}
h1{font-size:1.6em}h2{border-bottom:2px solid #c0392b;padding-bottom:.2em;margin-top:1.6em}
.tbl{border-collapse:collapse;font-size:.9em;margin:.5em 0}.tbl td,.tbl th{border:1px solid #ccc;padding:3px 8px;text-align:right}
.tbl th{background:#f4f4f4}.muted{color:#777}.bad{color:#c0392b;font-weight:bold}.good{color:#27ae60}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.85em}
"""


def report_html(result: AnalysisResult) -> str:
    """The coverage report as one self-contained HTML page."""
    parts = [f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(result.name)} 公共服务覆盖评估</title>",
             f"<style>{CSS}</style></head><body>",
             f"<h1>{html.escape(result.name)} — 公共服务覆盖评估 / Public service coverage</h1>",
             f"<p class='muted'>生成时间 Generated {datetime.now():%Y-%m-%d %H:%M} · ynps_geo</p>"]
    allrows = result.coverage[result.coverage["county"] == "ALL"]
    parts.append("<h2>总体覆盖 Coverage (ALL)</h2>")
    summary = []
    by_id = {s.id: s for s in result.standards}
    for r in allrows.itertuples(index=False):
        s = by_id.get(r.standard_id)
        summary.append({"标准 standard": r.standard_id, "名称 title": s.title_zh if s else "",
                        "阈值 threshold": f"{s.threshold:g} {s.unit}" if s else "",
                        "人口 population": r.population, "覆盖人口 covered": r.population_covered,
                        "覆盖率 share": f"{r.share_covered:.1%}" if np.isfinite(r.share_covered) else "–",
                        "村 villages": r.villages, "未覆盖村 uncovered": r.villages_uncovered})
    parts.append(table_html(pd.DataFrame(summary)))
    parts.append("<h2>分县覆盖 Coverage by county</h2>" + table_html(result.coverage))
    if len(result.by_setting):
        parts.append("<h2>城乡 Urban / rural</h2>" + table_html(result.by_setting))
    if len(result.equity):
        parts.append("<h2>均等化 Equalisation</h2>" + table_html(result.equity))
    if len(result.uncovered):
        cols = [c for c in ["village_id", "name", "county", "population", "setting", "failed_standards",
                            "max_excess_minutes"] if c in result.uncovered.columns]
        parts.append("<h2>未覆盖村(按人口排序) Uncovered villages, ranked</h2>"
                     + table_html(result.uncovered[cols], max_rows=100))
    if len(result.presence):
        parts.append("<h2>设施配置 Presence rules</h2>" + table_html(result.presence))
    if len(result.ratios):
        parts.append("<h2>千人指标 Provision ratios</h2>" + table_html(result.ratios))
    if result.failures:
        parts.append("<h2 class='bad'>失败的县 Failed counties</h2><ul>" + "".join(
            f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in result.failures.items()) + "</ul>")
    parts.append("<h2>方法与数据 Method and data</h2><ul>")
    parts += [f"<li>{html.escape(n)}</li>" for n in result.notes]
    parts.append("</ul>")
    parts.append("<pre>" + html.escape(result.config_text) + "</pre>")
    parts.append("</body></html>")
    return "".join(parts)


def write_reports(result: AnalysisResult, out_dir: Path) -> dict[str, Path]:
    """Write ``report.html``, ``map.html`` and ``report.xlsx`` (when openpyxl is installed)."""
    from ynps_geo.io.vector import atomic_write
    from ynps_geo.report import maps

    written: dict[str, Path] = {}
    with atomic_write(out_dir / "report.html") as tmp:
        Path(tmp).write_text(report_html(result), encoding="utf-8")
    written["report"] = out_dir / "report.html"
    with atomic_write(out_dir / "map.html") as tmp:
        Path(tmp).write_text(maps.map_html(result), encoding="utf-8")
    written["map"] = out_dir / "map.html"
    return written
