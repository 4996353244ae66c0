"""The plan's presence rules and provision ratios, per unit (no I/O).

:func:`presence_table` says, for each presence rule of ``STANDARDS.md`` section 2, whether
every unit (county, county seat, prefecture, village) has at least one facility of each
required group, and names the groups present and missing. :func:`ratio_table` computes the
provision ratios of section 3 (beds per 1,000 residents...) per county and for the whole
study area (``ALL``).

Facilities are assigned to the county whose polygon contains them (a facility on a shared
border goes to the first such county in the boundary layer, so it is counted once). A
facility matches a group when its ``category`` or ``subtype`` is one of the group's names
(:func:`ynps_geo.analysis.facility_matches`).

Assumptions (also written to ``df.attrs["notes"]`` where they apply):

- county-seat rules ("four halls and one theatre" in the county seat) use the ``seat`` column
  of the county layer when present (a polygon; a point stands for a circle of
  :data:`SEAT_RADIUS_M` metres); without it the whole county is evaluated;
- prefecture rules group counties by a ``prefecture`` column; without it the whole study area
  is one unit (``ALL``); prefecture-seat rules are evaluated over the whole prefecture;
- pilot-only rules are evaluated only in ``pilot_counties``; other units get ``met = None``;
- a ratio whose numerator is unknown for any matching facility (capacity ``nan`` or column
  absent) is unknown (``nan``, ``met = None``), never computed as if the missing were zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ynps_geo._geo import utm_epsg
from ynps_geo._validate import format_list
from ynps_geo.analysis import facility_matches
from ynps_geo.errors import CRSError, ValidationError
from ynps_geo.model.facilities import SUBTYPE_LABELS_ZH
from ynps_geo.model.standards import PlanStandard

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "ALL",
    "PRESENCE_COLUMNS",
    "RATIO_COLUMNS",
    "SEAT_RADIUS_M",
    "SEAT_RULES",
    "group_label",
    "not_evaluable_note",
    "presence_table",
    "ratio_table",
    "unmatched_groups",
]

#: Unit name of the whole study area.
ALL = "ALL"

#: Presence rules that apply to the county (or prefecture) seat, not the whole unit.
SEAT_RULES: frozenset[str] = frozenset(
    {"county_four_halls_one_theatre", "prefecture_five_halls_one_theatre"}
)

#: Radius (m) of the area standing for a county seat given as a point.
SEAT_RADIUS_M = 5000.0

#: Tolerance (m) of the village distance test, absorbing projection round-off.
_DIST_TOL_M = 1e-6

PRESENCE_COLUMNS = [
    "standard_id",
    "unit_level",
    "unit",
    "county",
    "met",
    "present",
    "missing",
    "n_facilities",
    "note",
]
RATIO_COLUMNS = [
    "standard_id",
    "county",
    "attribute",
    "numerator",
    "population",
    "value",
    "target",
    "met",
    "facilities",
    "facilities_missing_attribute",
    "missing_ids",
]


def group_label(group: Sequence[str]) -> str:
    """Chinese and English name of a facility group, e.g. ``"博物馆 museum"``.

    Names of a group with alternatives are joined with ``" / "``.

    Parameters
    ----------
    group : sequence of str
        Category or subtype names.

    Returns
    -------
    str
    """
    parts = []
    for name in group:
        zh = SUBTYPE_LABELS_ZH.get(name, "")
        parts.append(f"{zh} {name.replace('_', ' ')}".strip())
    return " / ".join(parts)


def unmatched_groups(
    groups: Sequence[Sequence[str]], facilities: pd.DataFrame
) -> list[tuple[str, ...]]:
    """The groups of a rule that the data cannot decide: no facility of the study area belongs
    to them, and the register does not list that kind of facility finely enough to say so.

    A group is undecidable when no facility matches it and either some facility of its
    category has no finer type (a row saying only ``health`` could be the ``hospital`` sought)
    or the data hold no facility of that category at all (the layer may simply be missing). A
    rule needing such a group is reported as not evaluable, never as 0% or "not met". When
    every facility of the category has a finer type (libraries, culture stations...) and none
    is a museum, "no museum" is an answer, not an unknown.

    Parameters
    ----------
    groups : sequence of sequence of str
        The rule's facility groups (category or subtype names).
    facilities : DataFrame
        ``category`` and ``subtype`` of every facility of the study area.

    Returns
    -------
    list of tuple of str
        The groups without a single matching facility, in the rule's order.
    """
    from ynps_geo.model.facilities import SUBTYPES

    if facilities is None or len(facilities) == 0:
        return [tuple(g) for g in groups]
    category = facilities["category"].astype(str)
    coarse = (facilities["subtype"].astype(str) == category).to_numpy()
    out = []
    for g in groups:
        if facility_matches(facilities, g).any():
            continue
        of_kind = category.isin({SUBTYPES.get(n, n) for n in g}).to_numpy()
        if not of_kind.any() or (coarse & of_kind).any():
            out.append(tuple(g))
    return out


def not_evaluable_note(
    std_id: str, missing: Sequence[Sequence[str]], facilities: pd.DataFrame | None
) -> str:
    """One line saying why a rule is not evaluable, what the register offers, and the fix.

    Parameters
    ----------
    std_id : str
        The rule.
    missing : sequence of groups
        Its groups that no facility belongs to (see :func:`unmatched_groups`).
    facilities : DataFrame or None
        The study area's facilities (``category``, ``subtype``).
    """
    from ynps_geo.model.facilities import SUBTYPES

    wanted = "; ".join(group_label(g) for g in missing)
    cats = {SUBTYPES.get(n, n) for g in missing for n in g}
    offer = "no facilities at all"
    if facilities is not None and len(facilities):
        same = facilities[facilities["category"].astype(str).isin(cats)]
        if len(same):
            counts = same["subtype"].astype(str).value_counts()
            offer = "only " + ", ".join(f"{k} ({v})" for k, v in counts.head(6).items())
        else:
            offer = (
                f"no facility of category {', '.join(sorted(cats))} at all (if the study area "
                "truly has none, the rule is not met; if the register leaves them out, add them)"
            )
    return (
        f"{std_id}: not evaluable (shown as unknown, not as 0% or 'not met'): no facility in "
        f"the study area is a {wanted}; the register offers {offer}. Fix: give finer "
        "`category` values (e.g. hospital, township_health_centre, elder_care_institution) or "
        "Chinese type names such as 人民医院, 卫生院, 养老院 in the type column or the names"
    )


# ---- input checks -----------------------------------------------------------------------------


def _check_layer(df: Any, what: str, columns: Sequence[str], fix: str) -> None:
    if not hasattr(df, "geometry") or not hasattr(df, "crs"):
        msg = f"{what} is a {type(df).__name__}, not a GeoDataFrame; {fix}"
        raise ValidationError(msg)
    absent = [c for c in columns if c not in df.columns]
    if absent:
        msg = f"{what} have no column(s) {absent} (columns: {format_list(df.columns, 12)}); {fix}"
        raise ValidationError(msg)
    if df.crs is None:
        msg = f"{what} have no CRS; set it (facilities and boundaries are read as EPSG:4326)"
        raise CRSError(msg)


def _points(gdf: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lon/lat (EPSG:4326) of each row's point (representative point of other shapes)."""
    g = gdf.geometry
    if g.crs is not None and g.crs.to_epsg() != 4326:
        g = g.to_crs(4326)
    ok = (~g.isna() & ~g.is_empty).to_numpy()
    x = np.full(len(g), np.nan)
    y = np.full(len(g), np.nan)
    if ok.any():
        rp = g[ok].representative_point()
        x[ok] = rp.x.to_numpy()
        y[ok] = rp.y.to_numpy()
    return x, y, ok


def _assign(points: Any, polygons: Any, key: str) -> np.ndarray:
    """Value of ``polygons[key]`` for the first polygon containing each point (else None)."""
    out = np.full(len(points), None, dtype=object)
    if len(points) == 0 or len(polygons) == 0:
        return out
    polys = polygons if polygons.crs == points.crs else polygons.to_crs(points.crs)
    g = points.geometry
    ok = (~g.isna() & ~g.is_empty).to_numpy()
    if not ok.any():
        return out
    idx = np.flatnonzero(ok)
    hits = polys.sindex.query(g.to_numpy()[ok], predicate="intersects")
    if hits.shape[1] == 0:
        return out
    first = pd.Series(hits[1], index=hits[0]).groupby(level=0).min()
    keys = polys[key].to_numpy(dtype=object)
    out[idx[first.index.to_numpy()]] = keys[first.to_numpy()]
    return out


def _seat_areas(counties: Any, crs: Any) -> dict[str, Any]:
    """County -> seat area in ``crs`` (polygons as given, points buffered by SEAT_RADIUS_M)."""
    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    if "seat" not in counties.columns:
        return {}
    seat = counties["seat"]
    seat_crs = getattr(seat, "crs", None) or counties.crs
    gs = gpd.GeoSeries(list(seat.to_numpy()), crs=seat_crs)
    gs = gs.to_crs(4326)
    out: dict[str, Any] = {}
    for name, geom in zip(counties["county"].astype(str), gs, strict=True):
        if geom is None or geom.is_empty:
            continue
        if geom.geom_type in ("Point", "MultiPoint", "LineString", "MultiLineString"):
            c = geom.centroid
            epsg = utm_epsg(c.x, c.y)
            fwd = Transformer.from_crs(4326, epsg, always_xy=True)
            back = Transformer.from_crs(epsg, 4326, always_xy=True)
            local = shapely.transform(
                geom, lambda x, y, f=fwd: f.transform(x, y), interleaved=False
            )
            geom = shapely.transform(
                local.buffer(SEAT_RADIUS_M),
                lambda x, y, b=back: b.transform(x, y),
                interleaved=False,
            )
        out[name] = geom
    if not out:
        return {}
    areas = gpd.GeoSeries(list(out.values()), index=list(out), crs=4326).to_crs(crs)
    return dict(zip(areas.index, areas, strict=True))


def _groups_of(std: PlanStandard, key: str) -> tuple[tuple[str, ...], ...]:
    groups = (std.required or std.facilities) if key == "required" else std.facilities
    if not groups:
        msg = (
            f"standard {std.id!r} names no facility groups; give '{key}' (category or subtype "
            "names) in the standards YAML"
        )
        raise ValidationError(msg)
    return groups


def _prepare(facilities: Any, counties: Any) -> tuple[Any, Any, np.ndarray]:
    _check_layer(
        facilities,
        "facilities",
        ["facility_id", "category"],
        "pass the facilities GeoDataFrame as loaded (facility_id, category, subtype)",
    )
    _check_layer(
        counties,
        "counties",
        ["county"],
        "pass the county boundaries GeoDataFrame with a 'county' name column",
    )
    cty = counties.reset_index(drop=True)
    cty = cty.assign(county=cty["county"].astype(str))
    fac = facilities.reset_index(drop=True)
    return fac, cty, _assign(fac, cty, "county")


# ---- presence ---------------------------------------------------------------------------------


def _row(
    std: PlanStandard,
    level: str,
    unit: str,
    county: str | None,
    found: list[bool],
    labels: list[str],
    n: int,
    applicable: bool,
    note: str,
) -> dict[str, Any]:
    present = [lab for lab, f in zip(labels, found, strict=True) if f]
    missing = [lab for lab, f in zip(labels, found, strict=True) if not f]
    return {
        "standard_id": std.id,
        "unit_level": level,
        "unit": unit,
        "county": county,
        "met": (not missing) if applicable else None,
        "present": "; ".join(present),
        "missing": "; ".join(missing) if applicable else "",
        "n_facilities": int(n),
        "note": note,
    }


def _pilot_state(
    std: PlanStandard, pilots: set[str] | None, names: Sequence[str]
) -> tuple[bool, str]:
    if not std.pilot_only:
        return True, ""
    if pilots is None:
        return False, "pilot-only rule and no pilot_counties given"
    if any(n in pilots for n in names):
        return True, ""
    return False, "not a pilot area"


def _village_rows(
    std: PlanStandard,
    fac: Any,
    masks: list[np.ndarray],
    labels: list[str],
    villages: Any,
    cty: Any,
    pilots: set[str] | None,
    notes: list[str],
) -> list[dict[str, Any]]:
    from pyproj import Transformer
    from scipy.spatial import cKDTree

    if std.within_m is None or not float(std.within_m) >= 0:
        msg = (
            f"standard {std.id!r} is a village presence rule without a valid 'within_m' "
            f"({std.within_m!r}); set within_m (metres) in the standards YAML"
        )
        raise ValidationError(msg)
    _check_layer(
        villages,
        "villages",
        ["village_id"],
        "pass the villages GeoDataFrame (village_id, geometry)",
    )
    vil = villages.reset_index(drop=True)
    if "county" in vil.columns:
        vcounty = vil["county"].to_numpy(dtype=object)
    else:
        vcounty = _assign(vil, cty, "county")
    radius = float(std.within_m) + _DIST_TOL_M
    vx, vy, vok = _points(vil)
    fx, fy, fok = _points(fac)
    any_mask = np.logical_or.reduce(masks) & fok
    n_groups = len(masks)
    has = np.zeros((n_groups, len(vil)), dtype=bool)
    count = np.zeros(len(vil), dtype=np.int64)
    zones = np.array([utm_epsg(x, y) if ok else 0 for x, y, ok in zip(vx, vy, vok, strict=True)])
    for epsg in np.unique(zones[vok]):
        sel = vok & (zones == epsg)
        fwd = Transformer.from_crs(4326, int(epsg), always_xy=True)
        pxy = np.column_stack(fwd.transform(vx[sel], vy[sel]))
        for k, m in enumerate(masks):
            mk = m & fok
            if mk.any():
                tree = cKDTree(np.column_stack(fwd.transform(fx[mk], fy[mk])))
                d, _ = tree.query(pxy, k=1)
                has[k, sel] = d <= radius
        if any_mask.any():
            tree = cKDTree(np.column_stack(fwd.transform(fx[any_mask], fy[any_mask])))
            count[sel] = tree.query_ball_point(pxy, r=radius, return_length=True)
    if (~vok).any():
        notes.append(
            f"{std.id}: {int((~vok).sum())} village(s) have no location and were not evaluated "
            f"({format_list(vil['village_id'].to_numpy()[~vok])})"
        )
    rows = []
    for i in range(len(vil)):
        county = None if vcounty[i] is None or pd.isna(vcounty[i]) else str(vcounty[i])
        applicable, note = _pilot_state(std, pilots, [county] if county else [])
        if not vok[i]:
            applicable, note = False, "village has no location"
        rows.append(
            _row(
                std,
                "village",
                str(vil["village_id"].iat[i]),
                county,
                list(has[:, i]),
                labels,
                count[i],
                applicable,
                note,
            )
        )
    notes.append(
        f"{std.id}: a village has a facility when one lies within {float(std.within_m):g} m "
        "(straight line, in the village's UTM zone)"
    )
    return rows


def presence_table(
    standards: Sequence[PlanStandard],
    facilities: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame | None,
    *,
    pilot_counties: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Whether every unit has at least one facility of each required group.

    Parameters
    ----------
    standards : sequence of PlanStandard
        Rules to evaluate; only ``kind == "presence"`` ones are used (others are skipped).
    facilities : GeoDataFrame
        ``facility_id, name, category, subtype, geometry`` (EPSG:4326).
    counties : GeoDataFrame
        ``county`` and polygon geometry; optional ``prefecture`` (name of the prefecture of
        each county) and ``seat`` (county-seat polygon, or a point standing for a circle of
        :data:`SEAT_RADIUS_M` metres).
    villages : GeoDataFrame or None
        ``village_id`` and point geometry (optional ``county``, else found from the polygons);
        needed for village-level rules, which are skipped (with a note) when None.
    pilot_counties : sequence of str, optional
        Counties (or prefectures) where pilot-only rules apply.

    Returns
    -------
    DataFrame
        One row per (standard, unit): ``standard_id, unit_level, unit, county, met, present,
        missing, n_facilities, note``. ``unit_level`` is ``county``, ``county_seat``,
        ``prefecture``, ``prefecture_seat``, ``province`` or ``village``; ``unit`` is the
        county, prefecture (or ``ALL``) or village_id; ``county`` is the unit's county (None
        for prefecture and province rows); ``met`` is True/False, or None where the rule does
        not apply (pilot-only rules outside the pilots); ``present``/``missing`` are
        ``"; "``-joined group names (``"博物馆 museum; 非遗馆 intangible heritage hall"``);
        ``n_facilities`` counts facilities of any required group in the unit (for villages:
        within ``within_m``). ``df.attrs["notes"]`` lists the assumptions made.

    Raises
    ------
    ValidationError
        On missing columns or CRS, a rule without facility groups, an unknown
        ``unit_level``, or a village rule without ``within_m``.
    """
    fac, cty, fac_county = _prepare(facilities, counties)
    pilots = None if pilot_counties is None else {str(c) for c in pilot_counties}
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    names = cty["county"].tolist()
    has_pref = "prefecture" in cty.columns
    if pilots is not None:
        known = set(names) | (set(cty["prefecture"].dropna().astype(str)) if has_pref else set())
        unknown = sorted(pilots - known)
        if unknown:
            notes.append(
                f"pilot_counties {format_list(unknown)} match no county or prefecture of the "
                "boundary layer; check their spelling"
            )
    seats: dict[str, Any] | None = None
    for std in standards:
        if std.kind != "presence":
            continue
        groups = _groups_of(std, "required")
        labels = [group_label(g) for g in groups]
        masks = [facility_matches(fac, g) for g in groups]
        any_mask = np.logical_or.reduce(masks)
        unknown_groups = unmatched_groups(groups, fac)
        if unknown_groups:
            notes.append(not_evaluable_note(std.id, unknown_groups, fac))
        level = (std.unit_level or "county").lower()
        seat_rule = std.id in SEAT_RULES or "seat" in std.title_en.lower()
        if std.pilot_only and pilots is None:
            notes.append(f"{std.id}: pilot-only rule and no pilot_counties given; not evaluated")

        def unit_rows(
            level_name: str,
            units: list[tuple[str, str | None, np.ndarray, list[str]]],
            std: PlanStandard = std,
            labels: list[str] = labels,
            masks: list[np.ndarray] = masks,
            any_mask: np.ndarray = any_mask,
            unknown: list[tuple[str, ...]] = unknown_groups,
        ) -> list[dict[str, Any]]:
            out = []
            for unit, county, in_unit, members in units:
                applicable, note = _pilot_state(std, pilots, [unit, *members])
                if unknown and applicable:
                    applicable = False
                    note = "not evaluable: no facility in the study area is a " + "; ".join(
                        group_label(g) for g in unknown
                    )
                found = [bool((m & in_unit).any()) for m in masks]
                out.append(
                    _row(
                        std,
                        level_name,
                        unit,
                        county,
                        found,
                        labels,
                        int((any_mask & in_unit).sum()),
                        applicable,
                        note,
                    )
                )
            return out

        if level == "county":
            units = []
            whole: list[str] = []
            if seat_rule and seats is None:
                seats = _seat_areas(cty, fac.crs)
            for name in names:
                in_unit = fac_county == name
                if seat_rule:
                    area = (seats or {}).get(name)
                    if area is None:
                        whole.append(name)
                    else:
                        in_unit = fac.geometry.intersects(area).to_numpy()
                units.append((name, name, in_unit, [name]))
            rows += unit_rows("county_seat" if seat_rule else "county", units)
            if whole:
                notes.append(
                    f"{std.id}: no county-seat boundary for {format_list(whole)}; the whole "
                    "county was evaluated (facilities outside the seat also count)"
                )
        elif level == "prefecture":
            if has_pref:
                no_pref = cty["prefecture"].isna().to_numpy()
                if no_pref.any():
                    notes.append(
                        f"{std.id}: counties {format_list(cty['county'][no_pref])} have no "
                        "prefecture and form the unit '(no prefecture)'"
                    )
                pref = pd.Series(
                    np.where(no_pref, "(no prefecture)", cty["prefecture"].astype(object)),
                    dtype=object,
                ).astype(str)
                units = []
                for p in dict.fromkeys(pref):
                    members = cty["county"][pref == p].tolist()
                    in_unit = pd.Series(fac_county, dtype=object).isin(members).to_numpy()
                    units.append((p, None, in_unit, members))
            else:
                units = [(ALL, None, fac_county != None, names)]  # noqa: E711
                notes.append(
                    f"{std.id}: the counties have no 'prefecture' column; the whole study area "
                    "was evaluated as one prefecture (unit ALL)"
                )
            if seat_rule:
                notes.append(
                    f"{std.id}: no prefecture-seat boundary; the whole prefecture was evaluated "
                    "(facilities outside the central city also count)"
                )
            rows += unit_rows("prefecture_seat" if seat_rule else "prefecture", units)
        elif level in ("province", "all"):
            rows += unit_rows("province", [(ALL, None, fac_county != None, names)])  # noqa: E711
        elif level == "village":
            if villages is None:
                notes.append(f"{std.id}: no villages given; the village-level rule was skipped")
                continue
            vrows = _village_rows(std, fac, masks, labels, villages, cty, pilots, notes)
            if unknown_groups:
                for r in vrows:
                    r.update(met=None, missing="", note="not evaluable")
            rows += vrows
        else:
            msg = (
                f"standard {std.id!r} has unit_level {std.unit_level!r}; use county, "
                "prefecture, province or village"
            )
            raise ValidationError(msg)
    df = pd.DataFrame(rows, columns=PRESENCE_COLUMNS)
    df["met"] = df["met"].astype(object)
    df["n_facilities"] = df["n_facilities"].astype(np.int64)
    df.attrs["notes"] = notes
    return df


# ---- ratios -----------------------------------------------------------------------------------


def _population(pop: Mapping[str, float], county: str) -> float:
    v = pop.get(county)
    try:
        f = float(v) if v is not None else float("nan")
    except (TypeError, ValueError):
        f = float("nan")
    return f


def ratio_table(
    standards: Sequence[PlanStandard],
    facilities: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    population_by_county: Mapping[str, float],
) -> pd.DataFrame:
    """Provision ratios (beds per 1,000 residents...) per county and for the study area.

    Parameters
    ----------
    standards : sequence of PlanStandard
        Rules to evaluate; only ``kind == "ratio"`` ones are used (others are skipped).
    facilities : GeoDataFrame
        ``facility_id, category, subtype, geometry`` and capacity columns ``beds, doctors,
        places, area_m2`` (nan = unknown; a column may be absent).
    counties : GeoDataFrame
        ``county`` and polygon geometry.
    population_by_county : mapping
        County name -> resident population.

    Returns
    -------
    DataFrame
        ``standard_id, county, attribute, numerator, population, value, target, met,
        facilities, facilities_missing_attribute, missing_ids``: one row per county and an
        ``ALL`` row per standard (province-level rules, e.g. ``kindergarten_places`` with
        ``per`` None, have the ``ALL`` row only and ``value`` is the total). ``numerator`` is
        the sum of ``attribute`` over the matching facilities in the county (or their count
        for ``count``); ``value = numerator / population * per``; ``met`` is
        ``value >= target`` (with a 1e-9 relative tolerance). When any matching facility lacks
        the attribute, ``numerator`` and ``value`` are nan and ``met`` is None;
        ``facilities_missing_attribute`` says how many and ``missing_ids`` (``"; "``-joined)
        which. ``df.attrs["notes"]`` lists counties without a population.

    Raises
    ------
    ValidationError
        On missing columns or CRS, a rule without ``numerator`` or facility groups, or a
        negative capacity.
    """
    fac, cty, fac_county = _prepare(facilities, counties)
    names = cty["county"].tolist()
    pops = {str(k): v for k, v in dict(population_by_county).items()}
    county_pop = np.array([_population(pops, n) for n in names], dtype=np.float64)
    bad_pop = [n for n, p in zip(names, county_pop, strict=True) if not (np.isfinite(p) and p > 0)]
    notes: list[str] = []
    if bad_pop:
        notes.append(
            f"no positive population for {format_list(bad_pop)}: their ratios (and the ALL "
            "ratios) are unknown"
        )
    total_pop = float(county_pop.sum()) if not bad_pop else float("nan")
    in_area = fac_county != None  # noqa: E711
    ids = fac["facility_id"].to_numpy(dtype=object)
    rows: list[dict[str, Any]] = []
    for std in standards:
        if std.kind != "ratio":
            continue
        attr = std.numerator
        if not attr:
            msg = (
                f"standard {std.id!r} is a ratio rule without 'numerator'; set it to beds, "
                "doctors, places, area_m2 or count in the standards YAML"
            )
            raise ValidationError(msg)
        groups = _groups_of(std, "facilities")
        mask = np.logical_or.reduce([facility_matches(fac, g) for g in groups])
        unknowable = len(unmatched_groups(groups, fac)) == len(groups)
        if unknowable:
            notes.append(not_evaluable_note(std.id, groups, fac))
        if attr == "count":
            vals = np.ones(len(fac))
        elif attr in fac.columns:
            vals = pd.to_numeric(fac[attr], errors="coerce").to_numpy(np.float64)
        else:
            vals = np.full(len(fac), np.nan)
            if (mask & in_area).any():
                notes.append(f"{std.id}: the facilities have no '{attr}' column")
        neg = mask & np.isfinite(vals) & (vals < 0)
        if neg.any():
            msg = (
                f"facilities {format_list(ids[neg])} have a negative '{attr}'; capacities must "
                "be >= 0 (nan when unknown)"
            )
            raise ValidationError(msg)
        province = std.per is None or (std.unit_level or "").lower() in ("province", "all")
        units = (
            []
            if province
            else [(n, fac_county == n, p) for n, p in zip(names, county_pop, strict=True)]
        )
        units.append((ALL, in_area, total_pop))
        for unit, in_unit, pop in units:
            sel = mask & in_unit
            miss = sel & ~np.isfinite(vals)
            num = float("nan") if (miss.any() or unknowable) else float(vals[sel].sum())
            if std.per is None:
                value = num
            elif np.isfinite(pop) and pop > 0:
                value = num / pop * float(std.per)
            else:
                value = float("nan")
            target = None if std.target is None else float(std.target)
            met = None
            if target is not None and np.isfinite(value):
                met = bool(value >= target * (1.0 - 1e-9))
            rows.append(
                {
                    "standard_id": std.id,
                    "county": unit,
                    "attribute": attr,
                    "numerator": num,
                    "population": pop,
                    "value": value,
                    "target": np.nan if target is None else target,
                    "met": met,
                    "facilities": int(sel.sum()),
                    "facilities_missing_attribute": int(miss.sum()),
                    "missing_ids": "; ".join(str(i) for i in ids[miss]),
                }
            )
    df = pd.DataFrame(rows, columns=RATIO_COLUMNS)
    df["met"] = df["met"].astype(object)
    for col in ("numerator", "population", "value", "target"):
        df[col] = df[col].astype(np.float64)
    for col in ("facilities", "facilities_missing_attribute"):
        df[col] = df[col].astype(np.int64)
    df.attrs["notes"] = notes
    return df
