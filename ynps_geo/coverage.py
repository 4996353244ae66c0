"""Coverage against the plan: village flags, population covered, gaps and spreads.

Pure table logic on pandas/numpy; the travel times come from :mod:`ynps_geo.engine`.
Thresholds are inclusive: a village at exactly 15:00 minutes is within 15 minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ynps_geo.model.standards import PlanStandard

COVERAGE_COLUMNS = [
    "county",
    "standard_id",
    "population",
    "population_covered",
    "share_covered",
    "villages",
    "villages_uncovered",
]


def covered(values: np.ndarray, threshold: float) -> np.ndarray:
    """Inclusive threshold test (``inf`` and ``nan`` are not covered).

    A tiny relative tolerance (1e-9) absorbs floating-point noise in sums of edge costs, so a
    trip of exactly the threshold counts as inside.
    """
    v = np.asarray(values, dtype=np.float64)
    return np.isfinite(v) & (v <= threshold * (1.0 + 1e-9))


def gini(
    values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray | None = None
) -> float:
    """Gini coefficient of non-negative values (0 = equal, 1 = all in one unit).

    Parameters
    ----------
    values : array-like
        E.g. the covered share of each county.
    weights : array-like, optional
        Unit weights (e.g. county population); equal when omitted.

    Returns
    -------
    float
        ``nan`` for no values or all zero.
    """
    x = np.asarray(values, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    x, w = x[ok], w[ok]
    if len(x) == 0 or np.sum(x * w) == 0:
        return float("nan")
    # weighted mean absolute difference / (2 * mean)
    diff = np.abs(x[:, None] - x[None, :])
    mad = float(np.sum(w[:, None] * w[None, :] * diff)) / float(np.sum(w)) ** 2
    mean = float(np.sum(w * x) / np.sum(w))
    return mad / (2.0 * mean)


def coverage_table(
    villages: pd.DataFrame | None,
    people: pd.DataFrame | None,
    standards: Iterable[PlanStandard],
    counties: Sequence[str],
) -> pd.DataFrame:
    """Population and villages covered, per (county, standard) and for ``ALL``.

    Parameters
    ----------
    villages : DataFrame or None
        One row per village with ``county``, ``population``, ``setting`` and, per standard,
        ``<id>_covered`` and ``<id>_applies``.
    people : DataFrame or None
        Population-raster cells with ``county``, ``population``, ``setting`` and per standard
        ``<id>_covered`` / ``<id>_applies``. When given, population figures come from it
        (people between villages count too); otherwise from village populations.
    standards : iterable of PlanStandard
        Circle standards evaluated.
    counties : sequence of str
        Every county, so that one without villages still gets a row.

    Returns
    -------
    DataFrame
        Columns :data:`COVERAGE_COLUMNS`.
    """
    rows = []
    pop_src = people if people is not None else villages
    keys = [*counties, "ALL"]
    for s in standards:
        # one pass per standard and table (a groupby), not one filter per county
        pop = cov = dict.fromkeys(keys, 0.0)
        if pop_src is not None and len(pop_src):
            pop, cov = _by_county(pop_src, s, keys, weight="population")
        nvil = nunc = dict.fromkeys(keys, 0.0)
        if villages is not None and len(villages):
            nvil, nunc = _by_county(villages, s, keys, weight=None)
        for county in keys:
            p, c = pop[county], cov[county]
            rows.append(
                {
                    "county": county,
                    "standard_id": s.id,
                    "population": p,
                    "population_covered": c,
                    "share_covered": c / p if p > 0 else float("nan"),
                    "villages": int(nvil[county]),
                    "villages_uncovered": int(nvil[county] - nunc[county]),
                }
            )
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def _by_county(
    df: pd.DataFrame, s: PlanStandard, keys: Sequence[str], *, weight: str | None
) -> tuple[dict[str, float], dict[str, float]]:
    """Per county in ``keys`` (and ``ALL``): the weight the standard applies to, and the part
    of it covered. ``weight=None`` counts rows; a NaN weight (unknown population) adds 0."""
    app = df[f"{s.id}_applies"].astype(bool).to_numpy()
    cov = app & df[s.covered_column].astype(bool).to_numpy()
    w = np.ones(len(df)) if weight is None else df[weight].to_numpy(dtype=np.float64)
    w = np.where(np.isnan(w), 0.0, w)
    frame = pd.DataFrame(
        {"county": df["county"].to_numpy(), "all": np.where(app, w, 0.0), "cov": w * cov}
    )
    sums = frame.groupby("county", sort=False, dropna=True)[["all", "cov"]].sum()
    total = {k: float(sums["all"].get(k, 0.0)) for k in keys}
    part = {k: float(sums["cov"].get(k, 0.0)) for k in keys}
    total["ALL"], part["ALL"] = float(frame["all"].sum()), float(frame["cov"].sum())
    return total, part


def coverage_by_setting(
    people_or_villages: pd.DataFrame, standards: Iterable[PlanStandard]
) -> pd.DataFrame:
    """Covered share by county and urban/rural setting (for the urban-rural gap)."""
    rows = []
    df = people_or_villages
    for s in standards:
        for (county, setting), g in df.groupby(["county", "setting"], observed=True):
            app = g[g[f"{s.id}_applies"].astype(bool)]
            pop = float(app["population"].sum())
            if pop <= 0:
                continue
            cov = float(app.loc[app[f"{s.id}_covered"].astype(bool), "population"].sum())
            rows.append(
                {
                    "county": county,
                    "setting": setting,
                    "standard_id": s.id,
                    "population": pop,
                    "population_covered": cov,
                    "share_covered": cov / pop,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "county",
            "setting",
            "standard_id",
            "population",
            "population_covered",
            "share_covered",
        ],
    )


def equity_table(coverage: pd.DataFrame, by_setting: pd.DataFrame | None = None) -> pd.DataFrame:
    """Spread across counties of each standard's covered share, and the urban-rural gap.

    Returns
    -------
    DataFrame
        ``standard_id, counties, min_share, min_county, max_share, max_county, gini,
        urban_share, rural_share, urban_rural_gap`` (gap = urban minus rural share, ALL).
    """
    rows = []
    for sid, g in coverage[coverage["county"] != "ALL"].groupby("standard_id", sort=False):
        g = g[np.isfinite(g["share_covered"].astype(float))]
        row: dict[str, object] = {"standard_id": sid, "counties": len(g)}
        if len(g):
            i_min = g["share_covered"].astype(float).idxmin()
            i_max = g["share_covered"].astype(float).idxmax()
            row.update(
                min_share=float(g.loc[i_min, "share_covered"]),
                min_county=g.loc[i_min, "county"],
                max_share=float(g.loc[i_max, "share_covered"]),
                max_county=g.loc[i_max, "county"],
                gini=gini(g["share_covered"].to_numpy(float), g["population"].to_numpy(float)),
            )
        if by_setting is not None and len(by_setting):
            bs = by_setting[by_setting["standard_id"] == sid]
            for setting in ("urban", "rural"):
                x = bs[bs["setting"] == setting]
                pop = float(x["population"].sum())
                row[f"{setting}_share"] = (
                    float(x["population_covered"].sum()) / pop if pop else np.nan
                )
            row["urban_rural_gap"] = float(row["urban_share"]) - float(row["rural_share"])  # type: ignore[arg-type]
        rows.append(row)
    cols = [
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
    return pd.DataFrame(rows).reindex(columns=cols)


def uncovered_villages(villages: pd.DataFrame, standards: Sequence[PlanStandard]) -> pd.DataFrame:
    """Villages failing at least one circle standard, ranked.

    Ranked by population (largest first), then by the largest excess over a threshold.
    Columns add ``failed_standards`` (comma-separated ids), ``n_failed`` and
    ``max_excess_minutes`` (time standards only).
    """
    if villages is None or not len(villages):
        return pd.DataFrame()
    failed = []
    excess = np.zeros(len(villages))
    for s in standards:
        app = villages[f"{s.id}_applies"].to_numpy(bool)
        fail = app & ~villages[s.covered_column].to_numpy(bool)
        failed.append(np.where(fail, s.id, ""))
        if s.unit == "min":
            over = villages[s.value_column].to_numpy(float) - float(s.threshold or 0)
            over = np.where(fail, np.where(np.isfinite(over), over, 1e9), 0.0)
            excess = np.maximum(excess, over)
    if failed:
        stacked = np.column_stack(failed)
        names = [",".join(x for x in row if x) for row in stacked]
    else:
        names = [""] * len(villages)
    out = villages.copy()
    out["failed_standards"] = names
    out["n_failed"] = [len(n.split(",")) if n else 0 for n in names]
    out["max_excess_minutes"] = np.where(excess >= 1e9, np.inf, excess)
    out = out[out["n_failed"] > 0]
    return out.sort_values(["population", "max_excess_minutes"], ascending=[False, False])


#: the 25 border counties named by the plan (Ch.5 智慧广电固边工程), by short name
BORDER_COUNTIES: tuple[str, ...] = (
    "泸水",
    "福贡",
    "贡山",
    "腾冲",
    "龙陵",
    "芒市",
    "瑞丽",
    "盈江",
    "陇川",
    "镇康",
    "耿马",
    "沧源",
    "孟连",
    "澜沧",
    "西盟",
    "江城",
    "景洪",
    "勐海",
    "勐腊",
    "绿春",
    "金平",
    "河口",
    "麻栗坡",
    "马关",
    "富宁",
)


def county_groups(
    counties: Sequence[str], user_groups: Mapping[str, Sequence[str]] | None = None
) -> dict[str, list[str]]:
    """The reporting groups of STANDARDS.md section 5 that these counties fall in.

    ``border`` (边境县: a county whose name starts with one of :data:`BORDER_COUNTIES`),
    ``autonomous`` (自治县: the official name says so), ``other`` (neither), plus each
    user-supplied group (name -> list of county names). Groups with no county are left out.
    """
    groups: dict[str, list[str]] = {"边境县 border": [], "自治县 autonomous": []}
    for c in counties:
        if any(str(c).startswith(b) for b in BORDER_COUNTIES):
            groups["边境县 border"].append(str(c))
        if "自治县" in str(c):
            groups["自治县 autonomous"].append(str(c))
    named = set(groups["边境县 border"]) | set(groups["自治县 autonomous"])
    groups["其他 other"] = [str(c) for c in counties if str(c) not in named]
    for name, members in (user_groups or {}).items():
        groups[str(name)] = [str(c) for c in counties if str(c) in {str(m) for m in members}]
    return {k: v for k, v in groups.items() if v}


def coverage_by_group(coverage: pd.DataFrame, groups: dict[str, list[str]]) -> pd.DataFrame:
    """Covered share of each reporting group of counties, per standard.

    Sums the per-county rows of ``coverage`` (so figures add up to the county table).
    """
    rows = []
    per = coverage[coverage["county"] != "ALL"]
    for name, members in groups.items():
        sel = per[per["county"].isin(members)]
        for sid, g in sel.groupby("standard_id", sort=False):
            pop = float(g["population"].sum())
            cov = float(g["population_covered"].sum())
            rows.append(
                {
                    "group": name,
                    "standard_id": sid,
                    "counties": len(g),
                    "population": pop,
                    "population_covered": cov,
                    "share_covered": cov / pop if pop else np.nan,
                    "villages": int(g["villages"].sum()),
                    "villages_uncovered": int(g["villages_uncovered"].sum()),
                }
            )
    cols = [
        "group",
        "standard_id",
        "counties",
        "population",
        "population_covered",
        "share_covered",
        "villages",
        "villages_uncovered",
    ]
    return pd.DataFrame(rows, columns=cols)


def coverage_by_township(villages: pd.DataFrame, standards: Iterable[PlanStandard]) -> pd.DataFrame:
    """Village-population coverage per (county, township, standard), when villages name one."""
    if villages is None or "township" not in villages.columns:
        return pd.DataFrame()
    rows = []
    for s in standards:
        app = villages[villages[f"{s.id}_applies"].astype(bool)]
        for (county, town), g in app.groupby(["county", "township"], observed=True):
            pop = float(g["population"].sum())
            cov = float(g.loc[g[s.covered_column].astype(bool), "population"].sum())
            rows.append(
                {
                    "county": county,
                    "township": town,
                    "standard_id": s.id,
                    "population": pop,
                    "population_covered": cov,
                    "share_covered": cov / pop if pop else np.nan,
                    "villages": len(g),
                    "villages_uncovered": int((~g[s.covered_column].astype(bool)).sum()),
                }
            )
    return pd.DataFrame(rows)
