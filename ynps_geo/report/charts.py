"""Inline SVG charts for the report, drawn in Python (no JavaScript, no CDN, no matplotlib).

The report is opened offline on office PCs, so the charts are plain ``<svg>`` elements inside
the HTML. Words appear twice, as ``class="zh"`` and ``class="en"`` text elements; the page's
CSS shows one language.

Functions
---------
population_source
    The rows people figures come from: raster cells (``result.people``) or villages.
cumulative_curve
    Share of a standard's population reached within each time (a step function).
curve_cache
    Inside it, each standard's curve is sorted once however often it is drawn.
cumulative_svg
    The cumulative share of population against minutes, a step line per time standard with
    each threshold marked.
county_bars_svg
    Covered share by county, horizontal bars per standard.
"""

from __future__ import annotations

import contextlib
import contextvars
import html
from collections.abc import Iterator, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from ynps_geo.model.results import AnalysisResult
from ynps_geo.model.standards import PlanStandard

__all__ = [
    "PALETTE",
    "county_bars_svg",
    "cumulative_curve",
    "cumulative_svg",
    "curve_cache",
    "population_source",
    "share_colour",
]

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
"""Line colours, one per standard in order."""

FONT = (
    "'Microsoft YaHei','PingFang SC','Noto Sans CJK SC','WenQuanYi Micro Hei',"
    "'WenQuanYi Zen Hei',sans-serif"
)


def share_colour(share: float) -> str:
    """Bar colour of a covered share: red below 50 %, orange below 80 %, green otherwise."""
    if not np.isfinite(share) or share < 0.5:
        return "#c0392b"
    if share < 0.8:
        return "#e67e22"
    return "#27ae60"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _text(x: float, y: float, zh: str, en: str | None = None, **attrs: object) -> str:
    """One ``<text>``, or two (``class="zh"``/``class="en"``) when the words differ."""
    extra = " ".join(f'{k.replace("_", "-")}="{_esc(v)}"' for k, v in attrs.items())
    if en is None or en == zh:
        return f'<text x="{x:.1f}" y="{y:.1f}" {extra}>{_esc(zh)}</text>'
    return (
        f'<text class="zh" lang="zh" x="{x:.1f}" y="{y:.1f}" {extra}>{_esc(zh)}</text>'
        f'<text class="en" lang="en" x="{x:.1f}" y="{y:.1f}" {extra}>{_esc(en)}</text>'
    )


def _svg(width: float, height: float, body: str, label: str, key: str) -> str:
    return (
        f'<svg class="chart" data-chart="{_esc(key)}" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{_esc(label)}" font-family="{FONT}" font-size="12">'
        f"{body}</svg>"
    )


def population_source(result: AnalysisResult) -> pd.DataFrame | None:
    """The rows the population figures come from, as in :func:`ynps_geo.coverage.coverage_table`.

    Raster cells (``result.people``) when there are any, otherwise the villages.
    """
    if result.people is not None and len(result.people):
        return result.people
    if result.villages is not None and len(result.villages):
        return result.villages
    return None


def cumulative_curve(
    result: AnalysisResult,
    standard: PlanStandard,
    x: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """Share of the standard's population within each of ``x`` (minutes or km; inclusive).

    Parameters
    ----------
    result : AnalysisResult
    standard : PlanStandard
        A circle standard; its ``<id>_minutes`` (or ``<id>_km``) and ``<id>_applies``
        columns are read from :func:`population_source`.
    x : array-like
        Times (or distances) at which to evaluate the step function.

    Returns
    -------
    ndarray
        Same length as ``x``; all ``nan`` when the standard has no population. At
        ``x = threshold`` the value equals the covered share of ``result.coverage``'s ``ALL``
        row (same inclusive test, same population source).
    """
    xs = np.asarray(x, dtype=np.float64)
    steps = _curve_steps(result, standard)
    if steps is None:
        return np.full(len(xs), np.nan)
    vs, cw, total = steps
    idx = np.searchsorted(vs, xs * (1.0 + 1e-9), side="right")
    return cw[idx] / total


#: the sorted steps of :func:`cumulative_curve` per (population rows, standard's columns),
#: kept while :func:`curve_cache` is active (a report draws each curve up to four times)
_CURVES: contextvars.ContextVar[dict[tuple[int, str, str], Any] | None] = contextvars.ContextVar(
    "ynps_geo_report_curves", default=None
)


@contextlib.contextmanager
def curve_cache() -> Iterator[None]:
    """Compute each standard's curve (:func:`cumulative_curve`) once inside the block.

    The population rows must not change inside it (the report is drawn from one result).
    """
    token = _CURVES.set({})
    try:
        yield
    finally:
        _CURVES.reset(token)


def _curve_steps(
    result: AnalysisResult, standard: PlanStandard
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Sorted finite values, cumulative weights (from 0) and total weight of a standard's
    population; ``None`` when it has none. Cached inside :func:`curve_cache`."""
    src = population_source(result)
    col = standard.value_column
    if src is None or col not in src.columns:
        return None
    applies = f"{standard.id}_applies"
    cache = _CURVES.get()
    key = (id(src), col, applies)
    if cache is not None and key in cache:
        return cast("tuple[np.ndarray, np.ndarray, float] | None", cache[key])
    v = src[col].to_numpy(np.float64)
    w = src["population"].to_numpy(np.float64)
    if applies in src.columns:
        sel = src[applies].astype(bool).to_numpy(bool)
        v, w = v[sel], w[sel]
    ok = np.isfinite(w) & (w > 0)
    v, w = v[ok], w[ok]
    total = float(w.sum())
    steps = None
    if total > 0:
        # the weighted share of v at most x: the inclusive test of
        # ynps_geo.coverage.covered, with its 1e-9 relative tolerance (cumulative_curve)
        finite = np.isfinite(v)
        order = np.argsort(v[finite], kind="stable")
        vs = v[finite][order]
        cw = np.concatenate([[0.0], np.cumsum(w[finite][order])])
        steps = (vs, cw, total)
    if cache is not None:
        cache[key] = steps
    return steps


def _nice_max(value: float) -> float:
    for step in (5, 10, 15, 30, 60, 120, 240, 480):
        if value <= step * 8:
            return float(np.ceil(value / step) * step)
    return float(np.ceil(value))


def _ticks(x_max: float) -> list[float]:
    for step in (1, 2, 5, 10, 15, 20, 30, 60, 120, 240):
        if x_max / step <= 8:
            return [float(t) for t in np.arange(0, x_max + 1e-9, step)]
    return [0.0, x_max]


def cumulative_svg(
    result: AnalysisResult,
    standards: Sequence[PlanStandard] | None = None,
    *,
    unit: str = "min",
    x_max: float | None = None,
    width: int = 860,
    height: int = 380,
    key: str = "cumulative",
) -> str:
    """Cumulative share of population against travel time, a step line per standard.

    Parameters
    ----------
    result : AnalysisResult
    standards : sequence of PlanStandard, optional
        Circle standards to draw (default: every standard of ``result`` with this ``unit``).
    unit : {"min", "km"}
        Only standards of this unit are drawn.
    x_max : float, optional
        Right end of the axis (default: a round number above 1.3 times the largest
        threshold).
    width, height : int
        Size in pixels.
    key : str
        ``data-chart`` attribute.

    Returns
    -------
    str
        An ``<svg>`` element, or ``""`` when no standard has population figures. Each line is
        a ``<path data-standard=...>``; each threshold a ``<circle class="threshold"
        data-standard=... data-minutes=... data-share=...>`` on its line.
    """
    stds = [s for s in (standards or result.standards) if s.kind == "circle" and s.unit == unit]
    stds = [s for s in stds if s.threshold]
    if not stds:
        return ""
    top = x_max or _nice_max(1.3 * max(float(s.threshold or 0) for s in stds))
    ml, mr, mt, mb = 56, 16, 16, 64
    pw, ph = width - ml - mr, height - mt - mb
    n = max(200, min(pw, 600))
    body: list[str] = []

    def px(t: float) -> float:
        return ml + pw * min(t, top) / top

    def py(share: float) -> float:
        return mt + ph * (1.0 - share)

    # grid and axes
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(
            f'<line x1="{ml}" x2="{ml + pw}" y1="{py(frac):.1f}" y2="{py(frac):.1f}" '
            f'stroke="#ddd" stroke-width="1"/>'
        )
        body.append(_text(ml - 6, py(frac) + 4, f"{frac:.0%}", text_anchor="end", fill="#555"))
    for t in _ticks(top):
        body.append(
            f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{mt + ph}" y2="{mt + ph + 4}" '
            f'stroke="#555"/>'
        )
        body.append(_text(px(t), mt + ph + 16, f"{t:g}", text_anchor="middle", fill="#555"))
    body.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
    words = ("分钟", "minutes") if unit == "min" else ("公里", "km")
    body.append(
        _text(
            ml + pw / 2,
            mt + ph + 32,
            f"出行时间({words[0]})",
            f"travel time ({words[1]})",
            text_anchor="middle",
            fill="#333",
        )
        if unit == "min"
        else _text(
            ml + pw / 2,
            mt + ph + 32,
            f"距离({words[0]})",
            f"distance ({words[1]})",
            text_anchor="middle",
            fill="#333",
        )
    )
    legend_y = mt + ph + 50
    lx = ml
    drawn = 0
    for i, s in enumerate(stds):
        thr = float(s.threshold or 0)
        xs = np.unique(np.concatenate([np.linspace(0.0, top, int(n) + 1), [min(thr, top)]]))
        ys = cumulative_curve(result, s, xs)
        if not np.isfinite(ys).any():
            continue
        colour = PALETTE[i % len(PALETTE)]
        d = [f"M{px(xs[0]):.1f},{py(ys[0]):.1f}"]
        for xv, yv in zip(xs[1:], ys[1:], strict=True):
            d.append(f"H{px(xv):.1f}V{py(yv):.1f}")
        body.append(
            f'<path class="curve" data-standard="{_esc(s.id)}" d="{"".join(d)}" fill="none" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        share = float(cumulative_curve(result, s, [thr])[0])
        if thr <= top:
            body.append(
                f'<line class="threshold-line" x1="{px(thr):.1f}" x2="{px(thr):.1f}" '
                f'y1="{mt}" y2="{mt + ph}" stroke="{colour}" stroke-dasharray="4 3" '
                f'stroke-width="1"/>'
            )
            body.append(
                f'<circle class="threshold" data-standard="{_esc(s.id)}" data-minutes="{thr:g}" '
                f'data-share="{share:.6f}" cx="{px(thr):.1f}" cy="{py(share):.1f}" r="4" '
                f'fill="{colour}" stroke="#fff"><title>{_esc(s.id)}: {share:.1%} ≤ '
                f"{thr:g} {unit}</title></circle>"
            )
        label_zh = f"{s.title_zh or s.id} {share:.1%}"
        label_en = f"{s.title_en or s.id} {share:.1%}"
        col_w = pw / 2 if len(stds) > 1 else pw
        lxx = lx + (drawn % 2) * col_w
        lyy = legend_y + (drawn // 2) * 16
        body.append(
            f'<line x1="{lxx:.1f}" x2="{lxx + 18:.1f}" y1="{lyy - 4:.1f}" y2="{lyy - 4:.1f}" '
            f'stroke="{colour}" stroke-width="3"/>'
        )
        body.append(_text(lxx + 24, lyy, label_zh, label_en, fill="#222"))
        drawn += 1
    if not drawn:
        return ""
    total_h = legend_y + ((drawn + 1) // 2) * 16 + 4
    body.append(
        _text(
            ml + 4,
            mt + 14,
            "累计覆盖人口比例",
            "cumulative share of population",
            fill="#333",
            font_weight="bold",
        )
    )
    label = "Cumulative share of population against travel time"
    return _svg(width, total_h, "".join(body), label, key)


def county_bars_svg(
    result: AnalysisResult,
    *,
    width: int = 860,
    bar_h: int = 16,
    key: str = "county-bars",
) -> str:
    """Covered share by county: one block of horizontal bars per standard.

    Counties are sorted from the lowest share up, so the gap shows first; a dashed line marks
    the share of all counties together (``ALL``).

    Returns
    -------
    str
        An ``<svg>`` element, or ``""`` when ``result.coverage`` has no county rows. Each bar
        is a ``<rect class="bar" data-standard=... data-county=... data-share=...>``.
    """
    cov = result.coverage
    if cov is None or not len(cov):
        return ""
    by_id = {s.id: s for s in result.standards}
    order = [s.id for s in result.standards] + [
        i for i in cov["standard_id"].unique() if i not in by_id
    ]
    counties = cov[cov["county"] != "ALL"]
    if not len(counties):
        return ""
    names = [str(c) for c in counties["county"].unique()]
    label_w = min(220, 24 + 13 * max(len(n) for n in names))
    ml, mr = label_w, 70
    pw = width - ml - mr
    body: list[str] = []
    y = 8.0
    for sid in order:
        g = counties[counties["standard_id"] == sid].copy()
        g["share_covered"] = g["share_covered"].astype(float)
        g = g[np.isfinite(g["share_covered"])]
        if not len(g):
            continue
        s = by_id.get(sid)
        all_row = cov[(cov["county"] == "ALL") & (cov["standard_id"] == sid)]
        all_share = float(all_row["share_covered"].iloc[0]) if len(all_row) else np.nan
        zh = f"{s.title_zh if s else sid}（{sid}）"
        en = f"{s.title_en if s else sid} ({sid})"
        y += 16
        body.append(_text(4, y, zh, en, font_weight="bold", fill="#222"))
        y += 6
        top_y = y
        for row in g.sort_values("share_covered").itertuples(index=False):
            share = float(row.share_covered)
            w = max(pw * share, 0.0)
            body.append(
                f'<rect class="bar" data-standard="{_esc(sid)}" data-county="{_esc(row.county)}" '
                f'data-share="{share:.6f}" x="{ml}" y="{y:.1f}" width="{w:.1f}" '
                f'height="{bar_h - 3}" fill="{share_colour(share)}"><title>{_esc(row.county)}: '
                f"{share:.1%}</title></rect>"
            )
            body.append(
                f'<rect x="{ml}" y="{y:.1f}" width="{pw}" height="{bar_h - 3}" fill="none" '
                f'stroke="#ccc"/>'
            )
            body.append(
                _text(ml - 6, y + bar_h - 5, str(row.county), text_anchor="end", fill="#222")
            )
            body.append(_text(ml + pw + 6, y + bar_h - 5, f"{share:.1%}", fill="#222"))
            y += bar_h
        if np.isfinite(all_share):
            xa = ml + pw * all_share
            body.append(
                f'<line class="all-line" x1="{xa:.1f}" x2="{xa:.1f}" y1="{top_y - 3:.1f}" '
                f'y2="{y + 1:.1f}" stroke="#222" stroke-dasharray="3 2" stroke-width="1.5">'
                f"<title>ALL {all_share:.1%}</title></line>"
            )
        y += 6
    if y <= 8:
        return ""
    # axis and legend
    y += 4
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = ml + pw * t
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y:.1f}" y2="{y + 4:.1f}" stroke="#555"/>'
        )
        body.append(_text(x, y + 16, f"{t:.0%}", text_anchor="middle", fill="#555"))
    y += 34
    lx = 4.0
    for colour, zh, en in (
        ("#c0392b", "低于50%", "below 50%"),
        ("#e67e22", "50%–80%", "50%–80%"),
        ("#27ae60", "80%及以上", "80% or more"),
    ):
        body.append(f'<rect x="{lx:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{colour}"/>')
        body.append(_text(lx + 16, y, zh, en, fill="#222"))
        lx += 120
    body.append(
        f'<line x1="{lx:.1f}" x2="{lx + 18:.1f}" y1="{y - 4:.1f}" y2="{y - 4:.1f}" '
        f'stroke="#222" stroke-dasharray="3 2" stroke-width="1.5"/>'
    )
    body.append(_text(lx + 24, y, "全部县合计", "all counties together", fill="#222"))
    return _svg(width, y + 8, "".join(body), "Covered share by county", key)
