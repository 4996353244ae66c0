"""The report's tables, shared by the HTML report and the Excel workbook.

Each table is a :class:`Table`: raw values in a DataFrame (numbers stay numbers, so the
workbook can compute with them) plus column descriptions that carry a Chinese and an English
header and a *kind* saying how to show the value (people, share, minutes...). The HTML report
formats the values with :func:`format_value`; the workbook writes the raw values with the
number format of :data:`EXCEL_FORMATS`.

Functions
---------
summary_table, county_table, setting_table, uncovered_table, presence_table, ratio_table,
equity_table, failures_table, notes_table, timings_table
    One table each from an :class:`~ynps_geo.model.results.AnalysisResult`.
all_tables
    Every table, in report order (empty ones included, so the workbook's sheets are stable).
format_value
    A value as people read it: ``12,345``, ``83.1%``, ``15.5`` minutes, ``不可达 unreachable``.
with_names
    A presence or ratio table with the rule titles and village names (for the HTML report).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ynps_geo.model.results import AnalysisResult
from ynps_geo.model.standards import PlanStandard

__all__ = [
    "CODE_WORDS",
    "EXCEL_FORMATS",
    "HEADERS",
    "MODE_WORDS",
    "SETTING_WORDS",
    "UNREACHABLE",
    "Column",
    "Table",
    "all_tables",
    "county_share_layer",
    "county_shares",
    "county_table",
    "equity_table",
    "failures_table",
    "format_value",
    "generic_table",
    "mode_text",
    "notes_table",
    "presence_summary_table",
    "presence_table",
    "ratio_table",
    "setting_table",
    "summary_table",
    "threshold_text",
    "timings_table",
    "uncovered_table",
    "with_names",
]

UNREACHABLE = "不可达 unreachable"
"""How an infinite travel time (no route at all) is shown."""

MODE_WORDS: dict[str, tuple[str, str]] = {
    "walk": ("步行", "walking"),
    "drive": ("驾车", "driving"),
    "distance": ("沿道路和地形的距离", "distance along roads, paths and terrain"),
}
SETTING_WORDS: dict[str, tuple[str, str]] = {
    "urban": ("城镇", "urban"),
    "rural": ("农村", "rural"),
    "all": ("城乡全部", "urban and rural"),
}
BOOL_WORDS: dict[bool, tuple[str, str]] = {True: ("是", "yes"), False: ("否", "no")}
#: Words for coded values of the presence and ratio tables (column kind ``word``).
CODE_WORDS: dict[str, tuple[str, str]] = {
    # unit levels of the presence rules
    "province": ("省", "province"),
    "prefecture": ("州(市)", "prefecture"),
    "prefecture_seat": ("州(市)政府驻地", "prefecture seat"),
    "county": ("县(市、区)", "county"),
    "county_seat": ("县城", "county seat"),
    "township": ("乡镇(街道)", "township"),
    "village": ("村(社区)", "village"),
    # capacity attributes of the ratio rules
    "beds": ("床位", "beds"),
    "doctors": ("执业(助理)医师", "doctors"),
    "places": ("学位/托位", "places"),
    "area_m2": ("面积(平方米)", "floor area (m²)"),
}

# Column kinds -> Excel number formats (kinds not listed are written as text/general).
EXCEL_FORMATS: dict[str, str] = {
    "pop": "#,##0",
    "int": "#,##0",
    "share": "0.0%",
    "pp": "+0.0%;-0.0%;0.0%",
    "min": "0.0",
    "km": "0.00",
    "num": "#,##0.00",
    "gini": "0.000",
    "sec": "0.0",
}

HEADERS: dict[str, tuple[str, str]] = {
    # Known column names of the result tables (presence/ratio tables are shown as they come,
    # with these headers where the name is known and the raw name otherwise).
    "county": ("县", "county"),
    "standard_id": ("标准编号", "standard id"),
    "title": ("标准", "standard"),
    "population": ("人口", "population"),
    "population_covered": ("覆盖人口", "population covered"),
    "share_covered": ("覆盖率", "share covered"),
    "villages": ("村(社区)数", "villages"),
    "villages_uncovered": ("未覆盖村数", "villages uncovered"),
    "setting": ("城乡", "setting"),
    "unit_level": ("评价单元层级", "unit level"),
    "unit": ("评价单元", "unit"),
    "met": ("是否达标", "met"),
    "present": ("已有", "present"),
    "missing": ("缺少", "missing"),
    "n_facilities": ("设施数", "facilities"),
    "note": ("说明", "note"),
    "attribute": ("指标", "attribute"),
    "numerator": ("分子合计", "numerator"),
    "value": ("数值", "value"),
    "target": ("规划目标", "target"),
    "facilities": ("设施数", "facilities"),
    "facilities_missing_attribute": ("缺少该属性的设施数", "facilities missing the attribute"),
    "missing_ids": ("缺少属性的设施编号", "facility ids missing the attribute"),
}


@dataclass(frozen=True)
class Column:
    """One column of a report table.

    Attributes
    ----------
    key : str
        Column name in :attr:`Table.data`.
    zh, en : str
        Header in Chinese and in English.
    kind : str
        How values are shown: ``text``, ``pop`` (people, whole numbers), ``int``, ``share``
        (0-1 shown as %), ``pp`` (a difference of shares, percentage points), ``min``
        (minutes, one decimal, ``inf`` unreachable), ``km``, ``num``, ``gini``, ``sec``,
        ``bool``, ``setting`` (urban/rural words), ``word`` (a code such as ``village`` or
        ``beds`` in words, :data:`CODE_WORDS`) or ``pre`` (preformatted text).
    lang : {"zh", "en"} or None
        For text already written in one language: the HTML report shows the column only in
        that language; the workbook keeps both.
    """

    key: str
    zh: str
    en: str
    kind: str = "text"
    lang: str | None = None


@dataclass
class Table:
    """A report table: raw values and how to show them.

    Attributes
    ----------
    key : str
        Stable id (``summary``, ``county``...), used for HTML anchors.
    sheet : str
        Excel sheet name (at most 31 characters).
    title_zh, title_en : str
        Titles.
    columns : list of Column
        The columns shown, in order.
    data : DataFrame
        Raw values; has at least the columns' keys.
    note_zh, note_en : str
        A line under the title.
    """

    key: str
    sheet: str
    title_zh: str
    title_en: str
    columns: list[Column]
    data: pd.DataFrame
    note_zh: str = ""
    note_en: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.data)


# ----------------------------------------------------------------------------- formatting


#: the standard's id and its title in each language, as most tables show them
_STANDARD_COLUMNS: tuple[Column, ...] = (
    Column("standard_id", "标准编号", "standard id"),
    Column("title_zh", "标准", "standard", lang="zh"),
    Column("title_en", "标准", "standard", lang="en"),
)
#: people the standard applies to, people covered and the share
_COVERED_COLUMNS: tuple[Column, ...] = (
    Column("population", "适用人口", "population", "pop"),
    Column("population_covered", "覆盖人口", "population covered", "pop"),
    Column("share_covered", "覆盖率", "share covered", "share"),
)


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(isinstance(v, float | np.floating) and math.isnan(v))
    except TypeError:
        return False


def format_value(v: Any, kind: str = "text", lang: str = "zh") -> str:
    """A value as people read it (plain text, not escaped).

    Parameters
    ----------
    v : object
        The raw value.
    kind : str
        The column kind (see :class:`Column`).
    lang : {"zh", "en"}
        Language of words (urban/rural, yes/no).

    Returns
    -------
    str
        ``"–"`` for a missing value; ``UNREACHABLE`` for an infinite time or distance.

    Examples
    --------
    >>> format_value(12345.6, "pop")
    '12,346'
    >>> format_value(0.8312, "share")
    '83.1%'
    >>> format_value(float("inf"), "min")
    '不可达 unreachable'
    """
    if _is_missing(v):
        return "–"
    i = 0 if lang == "zh" else 1
    if kind == "bool":
        if isinstance(v, bool | np.bool_):
            return BOOL_WORDS[bool(v)][i]
        return str(v)
    if kind == "setting":
        return SETTING_WORDS.get(str(v), (str(v), str(v)))[i]
    if kind == "word":
        return CODE_WORDS.get(str(v), (str(v), str(v)))[i]
    if kind in ("text", "pre") or isinstance(v, str):
        return str(v)
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isinf(x):
        if kind in ("min", "km"):
            return UNREACHABLE
        return "∞" if x > 0 else "-∞"
    if kind == "pop" or kind == "int":
        return f"{round(x):,}"
    if kind == "share":
        return f"{x:.1%}"
    if kind == "pp":
        return f"{x * 100:+.1f} pp" if lang == "en" else f"{x * 100:+.1f} 个百分点"
    if kind in ("min", "sec"):
        return f"{x:,.1f}"
    if kind == "km":
        return f"{x:,.2f}"
    if kind == "gini":
        return f"{x:.3f}"
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.2f}" if abs(x) >= 1 else f"{x:.3g}"


def mode_text(s: PlanStandard, lang: str = "zh") -> str:
    """The travel mode(s) of a standard in words (``城镇步行，农村驾车``)."""
    i = 0 if lang == "zh" else 1
    settings = ["urban", "rural"] if s.applies_to == "all" else [s.applies_to]
    modes = {st: s.mode_for(st) for st in settings}
    if len(set(modes.values())) == 1:
        return MODE_WORDS.get(next(iter(modes.values())), ("?", "?"))[i]
    sep = "，" if lang == "zh" else ", "
    parts = []
    for st, m in modes.items():
        word = MODE_WORDS.get(m, (m, m))[i]
        parts.append(f"{SETTING_WORDS[st][i]}{word}" if lang == "zh" else f"{word} ({st})")
    return sep.join(parts)


def threshold_text(s: PlanStandard, lang: str = "zh") -> str:
    """The threshold in words (``15 分钟``, ``5 km``); inclusive."""
    if s.threshold is None:
        return "–"
    if s.unit == "km":
        return f"≤ {s.threshold:g} 公里" if lang == "zh" else f"≤ {s.threshold:g} km"
    return f"≤ {s.threshold:g} 分钟" if lang == "zh" else f"≤ {s.threshold:g} min"


def _title(s: PlanStandard | None, sid: str, lang: str) -> str:
    if s is None:
        return sid
    t = s.title_zh if lang == "zh" else s.title_en
    return t or s.title_zh or s.title_en or sid


# ----------------------------------------------------------------------------- tables


def _by_id(result: AnalysisResult) -> dict[str, PlanStandard]:
    return {s.id: s for s in result.standards}


def _coverage_all(result: AnalysisResult) -> pd.DataFrame:
    cov = result.coverage
    if cov is None or not len(cov):
        return pd.DataFrame(columns=["standard_id"])
    return cov[cov["county"] == "ALL"].set_index("standard_id")


def _worst_county(result: AnalysisResult, sid: str) -> tuple[str | None, float]:
    cov = result.coverage
    if cov is None or not len(cov):
        return None, float("nan")
    g = cov[(cov["county"] != "ALL") & (cov["standard_id"] == sid)]
    g = g[np.isfinite(g["share_covered"].astype(float))]
    if not len(g):
        return None, float("nan")
    row = g.loc[g["share_covered"].astype(float).idxmin()]
    return str(row["county"]), float(row["share_covered"])


def summary_table(result: AnalysisResult) -> Table:
    """One row per circle standard: the plan's words, threshold, mode and the ALL figures.

    The population figures are the ``ALL`` rows of ``result.coverage``; the worst county is
    the county with the lowest covered share of the standard.
    """
    allrows = _coverage_all(result)
    rows = []
    for s in result.standards:
        r = allrows.loc[s.id] if s.id in allrows.index else None
        worst, worst_share = _worst_county(result, s.id)
        rows.append(
            {
                "standard_id": s.id,
                "title_zh": s.title_zh,
                "title_en": s.title_en,
                "plan_text": s.plan_text,
                "chapter": s.chapter,
                "threshold": threshold_text(s, "zh"),
                "mode_zh": mode_text(s, "zh"),
                "mode_en": mode_text(s, "en"),
                "applies_to": s.applies_to,
                "population": np.nan if r is None else float(r["population"]),
                "population_covered": np.nan if r is None else float(r["population_covered"]),
                "share_covered": np.nan if r is None else float(r["share_covered"]),
                "villages": np.nan if r is None else int(r["villages"]),
                "villages_uncovered": (
                    np.nan
                    if r is None or pd.isna(r["villages_uncovered"])  # NA: not evaluable
                    else int(r["villages_uncovered"])
                ),
                "worst_county": worst,
                "worst_share": worst_share,
            }
        )
    cols = [
        *_STANDARD_COLUMNS,
        Column("threshold", "阈值(含)", "threshold (inclusive)"),
        Column("mode_zh", "出行方式", "travel mode", lang="zh"),
        Column("mode_en", "出行方式", "travel mode", lang="en"),
        Column("applies_to", "适用范围", "applies to", "setting"),
        *_COVERED_COLUMNS,
        Column("villages", "村(社区)数", "villages", "int"),
        Column("villages_uncovered", "未覆盖村数", "villages uncovered", "int"),
        Column("worst_county", "覆盖率最低的县", "worst county"),
        Column("worst_share", "该县覆盖率", "its share covered", "share"),
        Column("plan_text", "规划原文", "the plan's words"),
        Column("chapter", "出处", "chapter"),
    ]
    return Table(
        "summary",
        "汇总 Summary",
        "各标准汇总",
        "Summary per standard",
        cols,
        pd.DataFrame(rows, columns=[c.key for c in cols]),
    )


def county_table(result: AnalysisResult) -> Table:
    """``result.coverage`` (per county and standard, and ``ALL``) with the standard titles."""
    df = _with_titles(
        result.coverage,
        result,
        [
            "county",
            "standard_id",
            "population",
            "population_covered",
            "share_covered",
            "villages",
            "villages_uncovered",
        ],
    )
    df["county"] = df["county"].replace({"ALL": "ALL 全部"})
    cols = [
        Column("county", "县", "county"),
        *_STANDARD_COLUMNS,
        *_COVERED_COLUMNS,
        Column("villages", "村(社区)数", "villages", "int"),
        Column("villages_uncovered", "未覆盖村数", "villages uncovered", "int"),
    ]
    return Table(
        "county",
        "分县 By county",
        "分县覆盖",
        "Coverage by county",
        cols,
        df,
        "“ALL 全部”为全部县合计；人口只计标准适用的人群（城镇或农村）。",
        "“ALL” is all counties together; population counts only the people a standard "
        "applies to (urban or rural).",
    )


def setting_table(result: AnalysisResult) -> Table:
    """Covered share by county and urban/rural setting."""
    df = _with_titles(
        result.by_setting,
        result,
        ["county", "setting", "standard_id", "population", "population_covered"],
    )
    if "share_covered" not in df.columns:
        df["share_covered"] = pd.Series(dtype=float)
    cols = [
        Column("county", "县", "county"),
        Column("setting", "城乡", "setting", "setting"),
        *_STANDARD_COLUMNS,
        *_COVERED_COLUMNS,
    ]
    return Table(
        "setting",
        "城乡 Urban-rural",
        "分城乡覆盖",
        "Coverage by urban/rural setting",
        cols,
        df,
    )


def _with_titles(
    df: pd.DataFrame | None, result: AnalysisResult, columns: list[str]
) -> pd.DataFrame:
    """A copy of ``df`` with at least ``columns`` (empty when missing) and the standard titles.

    ``title_zh``/``title_en`` come from ``result.standards`` (the id when unknown).
    """
    by_id = _by_id(result)
    df = df.copy() if isinstance(df, pd.DataFrame) else pd.DataFrame()
    for c in columns:
        if c not in df.columns:
            df[c] = pd.Series(dtype=object)
    df["title_zh"] = [_title(by_id.get(i), i, "zh") for i in df["standard_id"]]
    df["title_en"] = [_title(by_id.get(i), i, "en") for i in df["standard_id"]]
    return df.reset_index(drop=True)


def _excess(s: PlanStandard, value: float) -> float:
    return value - float(s.threshold or 0.0)


def uncovered_table(result: AnalysisResult, top: int | None = None) -> Table:
    """Villages failing at least one standard, ranked (largest population first).

    Parameters
    ----------
    result : AnalysisResult
    top : int, optional
        Keep only the first ``top`` villages (all when None).

    Returns
    -------
    Table
        ``rank, village_id, name, county, setting, population, failed_zh, failed_en,
        max_excess_minutes, nearest``: the failed standards with how far over each threshold
        the village is, the largest excess in minutes over a time threshold (``inf`` when no
        route), and the nearest facility of each failed standard (``<id>_facility``).
    """
    by_id = _by_id(result)
    unc = result.uncovered if result.uncovered is not None else pd.DataFrame()
    rows = []
    if len(unc):
        sub = unc if top is None else unc.head(top)
        for rank, (_, v) in enumerate(sub.iterrows(), start=1):
            failed = [x for x in str(v.get("failed_standards", "") or "").split(",") if x]
            zh, en, near = [], [], []
            for sid in failed:
                s = by_id.get(sid)
                if s is None:
                    zh.append(sid)
                    en.append(sid)
                    continue
                val = float(v.get(s.value_column, np.nan))
                if not np.isfinite(val):
                    ex_zh, ex_en = "不可达", "unreachable"
                elif s.unit == "km":
                    ex_zh = f"超{_excess(s, val):.1f}公里"
                    ex_en = f"+{_excess(s, val):.1f} km"
                else:
                    ex_zh = f"超{_excess(s, val):.1f}分钟"
                    ex_en = f"+{_excess(s, val):.1f} min"
                zh.append(f"{_title(s, sid, 'zh')}（{ex_zh}）")
                en.append(f"{_title(s, sid, 'en')} ({ex_en})")
                fac = v.get(f"{sid}_facility")
                if isinstance(fac, str) and fac and fac not in near:
                    near.append(fac)
            rows.append(
                {
                    "rank": rank,
                    "village_id": v.get("village_id"),
                    "name": v.get("name"),
                    "county": v.get("county"),
                    "setting": v.get("setting"),
                    "population": v.get("population"),
                    "failed_zh": "；".join(zh),
                    "failed_en": "; ".join(en),
                    "max_excess_minutes": float(v.get("max_excess_minutes", np.nan)),
                    "nearest": "；".join(near),
                }
            )
    cols = [
        Column("rank", "排名", "rank", "int"),
        Column("village_id", "村编码", "village id"),
        Column("name", "村(社区)", "village"),
        Column("county", "县", "county"),
        Column("setting", "城乡", "setting", "setting"),
        Column("population", "人口", "population", "pop"),
        Column("failed_zh", "未达标的标准", "standards failed", lang="zh"),
        Column("failed_en", "未达标的标准", "standards failed", lang="en"),
        Column("max_excess_minutes", "超出时间阈值(分钟)", "minutes over the threshold", "min"),
        Column("nearest", "最近的设施", "nearest facility"),
    ]
    total = len(unc)
    return Table(
        "uncovered",
        "未覆盖村 Uncovered",
        "未覆盖的村(社区)，按人口排序",
        "Uncovered villages, ranked by population",
        cols,
        pd.DataFrame(rows, columns=[c.key for c in cols]),
        f"共 {total:,} 个村(社区)至少有一项标准未达到。",
        f"{total:,} villages fail at least one standard.",
        extra={"total": total},
    )


def generic_table(
    df: pd.DataFrame | None,
    key: str,
    sheet: str,
    title_zh: str,
    title_en: str,
    headers: Mapping[str, tuple[str, str]] | None = None,
) -> Table:
    """A table of whatever columns ``df`` has, with known headers and kinds guessed.

    Used for the presence and ratio rules, whose columns belong to another module. Geometry
    columns are dropped. ``population`` is shown as people, ``share*`` as a share,
    ``*_minutes`` as minutes, booleans as yes/no.
    """
    headers = {**HEADERS, **(headers or {})}
    if df is None or not isinstance(df, pd.DataFrame):
        df = pd.DataFrame()
    keep = [c for c in df.columns if c != "geometry" and str(df[c].dtype) != "geometry"]
    data = df[keep].reset_index(drop=True).copy()
    cols = []
    for c in keep:
        name = str(c)
        zh, en = headers.get(name, (name, name))
        s = data[c]
        if name == "population" or name.endswith("_population"):
            kind = "pop"
        elif name.startswith("share") or name.endswith("_share"):
            kind = "share"
        elif name.endswith("_minutes"):
            kind = "min"
        elif name == "setting":
            kind = "setting"
        elif name in ("unit_level", "attribute"):
            kind = "word"
        elif pd.api.types.is_bool_dtype(s) or (
            s.dtype == object
            and len(s)
            and s.dropna().map(type).isin([bool, np.bool_]).all()
            and s.notna().any()
        ):
            kind = "bool"
        elif pd.api.types.is_integer_dtype(s):
            kind = "int"
        elif pd.api.types.is_numeric_dtype(s):
            kind = "num"
        else:
            kind = "text"
        cols.append(Column(name, zh, en, kind))
    return Table(key, sheet, title_zh, title_en, cols, data)


def _rule_titles() -> dict[str, tuple[str, str]]:
    """Titles of the package's rules (presence and ratio rules are not in ``result.standards``)."""
    try:
        from ynps_geo.model.standards import load_standards

        return {k: (v.title_zh or k, v.title_en or k) for k, v in load_standards().items()}
    except Exception:  # titles are a nicety; ids are shown without them
        return {}


def _attrs_notes(df: pd.DataFrame | None) -> list[str]:
    if df is None or not isinstance(df, pd.DataFrame):
        return []
    return [str(n) for n in df.attrs.get("notes", []) or []]


def presence_summary_table(result: AnalysisResult) -> Table:
    """Per presence rule: units evaluated, met, not met and not evaluated."""
    df = result.presence if isinstance(result.presence, pd.DataFrame) else pd.DataFrame()
    rows = []
    if len(df) and {"standard_id", "met"} <= set(df.columns):
        titles = _rule_titles()
        for sid, g in df.groupby("standard_id", sort=False):
            met = g["met"]
            na = met.isna()
            yes = int(met[~na].astype(bool).sum())
            rows.append(
                {
                    "standard_id": sid,
                    "title_zh": titles.get(str(sid), (sid, sid))[0],
                    "title_en": titles.get(str(sid), (sid, sid))[1],
                    "unit_level": g["unit_level"].iloc[0] if "unit_level" in g else None,
                    "units": len(g),
                    "met": yes,
                    "not_met": int((~na).sum()) - yes,
                    "not_evaluated": int(na.sum()),
                    "share_met": yes / int((~na).sum()) if int((~na).sum()) else np.nan,
                }
            )
    cols = [
        *_STANDARD_COLUMNS,
        Column("unit_level", "评价单元层级", "unit level"),
        Column("units", "评价单元数", "units", "int"),
        Column("met", "达标", "met", "int"),
        Column("not_met", "未达标", "not met", "int"),
        Column("not_evaluated", "未评价", "not evaluated", "int"),
        Column("share_met", "达标比例", "share met", "share"),
    ]
    return Table(
        "presence_summary",
        "设施配置汇总 Presence summary",
        "设施配置要求汇总",
        "Presence rules: summary",
        cols,
        pd.DataFrame(rows, columns=[c.key for c in cols]),
    )


def presence_table(result: AnalysisResult) -> Table:
    """The presence rules (``result.presence``), with whatever columns it has."""
    t = generic_table(
        result.presence, "presence", "设施配置 Presence", "设施配置要求", "Presence rules"
    )
    t.extra["notes"] = _attrs_notes(result.presence)
    t.note_zh = "每个评价单元是否至少有一处规定类别的设施。"
    t.note_en = "Whether each unit has at least one facility of each required kind."
    return t


def ratio_table(result: AnalysisResult) -> Table:
    """The provision ratios (``result.ratios``), with whatever columns it has."""
    t = generic_table(result.ratios, "ratios", "千人指标 Ratios", "千人指标", "Provision ratios")
    t.extra["notes"] = _attrs_notes(result.ratios)
    t.note_zh = "设施容量(床位、医师等)与常住人口之比，对照规划目标。"
    t.note_en = "Facility capacity (beds, doctors...) per resident, against the plan's target."
    return t


def with_names(t: Table, result: AnalysisResult) -> Table:
    """A copy of a presence or ratio table that a reader needs no code book for.

    The rule's title (Chinese, English) follows its id, and a village unit (a village code)
    gets the village's name. The workbook keeps the tables as the rules wrote them.
    """
    data = t.data.copy()
    columns = list(t.columns)
    keys = [c.key for c in columns]
    if "standard_id" in data.columns and "standard_id" in keys:
        titles = _rule_titles()
        ids = data["standard_id"].astype(str)
        data["title_zh"] = [titles.get(i, (i, i))[0] for i in ids]
        data["title_en"] = [titles.get(i, (i, i))[1] for i in ids]
        at = keys.index("standard_id") + 1
        columns[at:at] = [
            Column("title_zh", "标准", "standard", lang="zh"),
            Column("title_en", "标准", "standard", lang="en"),
        ]
    vil = result.villages
    if (
        {"unit", "unit_level"} <= set(data.columns)
        and vil is not None
        and {"village_id", "name"} <= set(vil.columns)
    ):
        names = dict(zip(vil["village_id"].astype(str), vil["name"].astype(str), strict=True))
        data["unit_name"] = [
            names.get(str(u), "") if lvl == "village" else ""
            for u, lvl in zip(data["unit"], data["unit_level"], strict=True)
        ]
        if data["unit_name"].astype(bool).any():
            at = [c.key for c in columns].index("unit") + 1
            columns.insert(at, Column("unit_name", "名称", "name"))
    return dataclasses.replace(t, columns=columns, data=data)


def equity_table(result: AnalysisResult) -> Table:
    """The spread across counties and the urban-rural gap per standard (``result.equity``)."""
    keys = [
        "standard_id",
        "counties",
        "min_share",
        "min_county",
        "max_share",
        "max_county",
        "gini",
        "urban_share",
        "rural_share",
        "urban_rural_gap",
    ]
    equity = result.equity if isinstance(result.equity, pd.DataFrame) else pd.DataFrame()
    df = _with_titles(equity.reindex(columns=keys), result, keys)
    cols = [
        *_STANDARD_COLUMNS,
        Column("counties", "县数", "counties", "int"),
        Column("min_share", "最低覆盖率", "lowest share", "share"),
        Column("min_county", "最低的县", "lowest county"),
        Column("max_share", "最高覆盖率", "highest share", "share"),
        Column("max_county", "最高的县", "highest county"),
        Column("gini", "基尼系数", "Gini", "gini"),
        Column("urban_share", "城镇覆盖率", "urban share", "share"),
        Column("rural_share", "农村覆盖率", "rural share", "share"),
        Column("urban_rural_gap", "城乡差距", "urban-rural gap", "pp"),
    ]
    return Table(
        "equity",
        "均等化 Equalisation",
        "均等化：县际差距与城乡差距",
        "Equalisation: gaps between counties and between urban and rural",
        cols,
        df,
        "基尼系数按县人口加权(0 = 各县相同)；城乡差距 = 城镇覆盖率 − 农村覆盖率。",
        "Gini weighted by county population (0 = all counties equal); urban-rural gap = "
        "urban share minus rural share.",
    )


def failures_table(result: AnalysisResult) -> Table:
    """Counties whose analysis failed, with the error in plain words."""
    rows = [{"county": k, "error": v} for k, v in (result.failures or {}).items()]
    return Table(
        "failures",
        "失败的县 Failures",
        "未能完成分析的县",
        "Counties that failed",
        [Column("county", "县", "county"), Column("error", "原因", "error")],
        pd.DataFrame(rows, columns=["county", "error"]),
        "这些县未计入上表；其余县的结果不受影响。",
        "These counties are not in the tables above; the other counties are unaffected.",
    )


def _input_rows(inputs: Mapping[str, Any]) -> list[dict[str, str]]:
    names = {
        "boundary": ("县界", "county boundaries"),
        "villages": ("村(社区)点位与人口", "villages and population"),
        "roads": ("道路", "roads"),
        "dem": ("数字高程模型", "DEM"),
        "population": ("人口栅格", "population grid"),
        "facilities": ("设施名录", "facility registers"),
    }
    rows = []
    for key, value in inputs.items():
        zh, en = names.get(key, (key, key))
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if isinstance(v, Mapping):
                v = ", ".join(f"{k}={x}" for k, x in v.items())
            rows.append({"kind": f"{zh} {en}", "text": str(v)})
    return rows


def notes_table(result: AnalysisResult) -> Table:
    """Input files and the assumptions and data-quality notes of the run."""
    rows = _input_rows(result.inputs or {})
    rows += [{"kind": "说明 note", "text": str(n)} for n in result.notes or []]
    for df in (result.presence, result.ratios):
        rows += [{"kind": "规则说明 rule note", "text": n} for n in _attrs_notes(df)]
    return Table(
        "notes",
        "说明 Notes",
        "数据来源与说明",
        "Data sources and notes",
        [Column("kind", "类别", "kind"), Column("text", "内容", "text")],
        pd.DataFrame(rows, columns=["kind", "text"]),
    )


def timings_table(result: AnalysisResult) -> Table:
    """Seconds per step of the run."""
    rows = [{"step": k, "seconds": float(v)} for k, v in (result.timings or {}).items()]
    return Table(
        "timings",
        "用时 Timings",
        "运行用时",
        "Timings",
        [Column("step", "步骤", "step"), Column("seconds", "秒", "seconds", "sec")],
        pd.DataFrame(rows, columns=["step", "seconds"]),
    )


def all_tables(result: AnalysisResult, uncovered_top: int | None = None) -> list[Table]:
    """Every report table in order: summary, county, setting, uncovered, presence summary,
    presence, ratios, equity, failures, notes, timings."""
    return [
        summary_table(result),
        county_table(result),
        setting_table(result),
        uncovered_table(result, top=uncovered_top),
        presence_summary_table(result),
        presence_table(result),
        ratio_table(result),
        equity_table(result),
        failures_table(result),
        notes_table(result),
        timings_table(result),
    ]


def county_shares(result: AnalysisResult) -> dict[str, list[float | None]]:
    """County -> [share for all standards, share per standard...] (rounded to 4 places).

    The first share is of the village population meeting every standard that applies to it
    (``None`` without villages); the others are ``share_covered`` of ``coverage`` per
    standard in the order of ``result.standards`` (``None`` where missing).
    """
    shares: dict[str, list[float | None]] = {}
    counties = [str(c) for c in result.counties["county"]]
    cov = result.coverage if result.coverage is not None else pd.DataFrame()
    overall: dict[str, float | None] = {}
    vil = result.villages
    if vil is not None and len(vil) and "county" in vil and "population" in vil:
        failed = np.zeros(len(vil), dtype=bool)
        applies_any = np.zeros(len(vil), dtype=bool)
        for s in result.standards:
            ap_col = f"{s.id}_applies"
            ap = (
                vil[ap_col].fillna(False).astype(bool).to_numpy()
                if ap_col in vil
                else np.ones(len(vil), dtype=bool)
            )
            cv = (
                vil[s.covered_column].fillna(False).astype(bool).to_numpy()
                if s.covered_column in vil
                else np.zeros(len(vil), dtype=bool)
            )
            known = (
                vil[s.covered_column].notna().to_numpy()
                if s.covered_column in vil
                else np.ones(len(vil), dtype=bool)
            )
            failed |= ap & known & ~cv  # an unknown (not evaluable) flag is no failure
            applies_any |= ap
        df = pd.DataFrame(
            {
                "county": vil["county"].astype(str).to_numpy(),
                "pop": pd.to_numeric(vil["population"], errors="coerce").fillna(0).to_numpy(),
                "ok": ~failed,
                "ap": applies_any,
            }
        )
        df = df[df["ap"]]
        for county, g in df.groupby("county"):
            total = g["pop"].sum()
            overall[str(county)] = (
                round(float(g.loc[g["ok"], "pop"].sum() / total), 4) if total > 0 else None
            )
    for county in counties:
        row: list[float | None] = [overall.get(county)]
        for s in result.standards:
            value = None
            if len(cov) and {"county", "standard_id", "share_covered"} <= set(cov.columns):
                hit = cov[(cov["county"].astype(str) == county) & (cov["standard_id"] == s.id)]
                if len(hit) and not _is_missing(hit["share_covered"].iloc[0]):
                    value = round(float(hit["share_covered"].iloc[0]), 4)
            row.append(value)
        shares[county] = row
    return shares


def county_share_layer(result: AnalysisResult) -> Any:
    """The counties with their covered shares, for ``counties.gpkg`` (EPSG:4326).

    Columns: the county columns of ``result.counties`` (``county``, ``name``, ``code``...),
    ``all_share`` (people meeting every applicable standard, from the villages), and per
    standard ``S_population``, ``S_population_covered``, ``S_share``, ``S_villages``,
    ``S_villages_uncovered`` from ``coverage``. ``None`` without county polygons.
    """
    import geopandas as gpd

    counties = result.counties
    if not isinstance(counties, gpd.GeoDataFrame) or "county" not in counties or not len(counties):
        return None
    out = counties.to_crs("EPSG:4326") if counties.crs is not None else counties.copy()
    out = out.reset_index(drop=True)
    shares = county_shares(result)
    out["all_share"] = [shares.get(str(c), [None])[0] for c in out["county"]]
    out["all_share"] = pd.to_numeric(out["all_share"], errors="coerce")
    cov = result.coverage if result.coverage is not None else pd.DataFrame()
    keys = {"county", "standard_id"}
    for s in result.standards:
        rows = (
            cov[cov["standard_id"] == s.id].set_index(
                cov["county"].astype(str)[cov["standard_id"] == s.id]
            )
            if keys <= set(cov.columns)
            else pd.DataFrame()
        )
        for col in ("population", "population_covered", "share", "villages", "villages_uncovered"):
            src = "share_covered" if col == "share" else col
            values = rows[src] if src in rows else pd.Series(dtype=float)
            out[f"{s.id}_{col}"] = pd.to_numeric(
                out["county"].astype(str).map(values), errors="coerce"
            ).to_numpy(float)
    geom = out.geometry.name
    return out[[c for c in out.columns if c != geom] + [geom]]
