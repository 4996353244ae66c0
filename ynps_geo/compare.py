"""What changed between two runs: shares, villages that flipped and why, facilities added.

A scheduled report is read by people who saw the previous one. This module compares two runs
of the analysis (two :class:`~ynps_geo.model.results.AnalysisResult` objects, two output
folders of ``analyze``, two dated folders of ``report``, or a baseline and a scenario) and
returns a :class:`Comparison` of plain tables:

``shares``
    per (county, standard) and ``ALL``: the covered share then and now, the change in
    percentage points, the villages and people newly covered and newly uncovered, and the
    reasons in a few words;
``villages``
    each village whose coverage of a standard flipped (``newly_covered`` /
    ``newly_uncovered``), and each village whose population changed (``population``), with
    the reason where the two runs can tell it: a facility added, removed, moved (by how many
    metres) or re-categorised, a changed standard, a changed urban/rural setting, a village
    that moved, a changed road network or analysis setting;
``facilities``
    the facilities added, removed, moved (with the distance) and re-categorised between the
    two registers, by id, with the number of villages each one flipped.

Every run records what the reasons need in ``run_manifest.json`` (written beside the other
outputs): the standards' definitions, the analysis options and a fingerprint of every input
file. The per-village nearest facility (``<standard>_facility_id``) is already in
``villages.gpkg``; the facilities used are in ``facilities.gpkg``.

Two runs can be compared only when they evaluate the same standards over the same counties
and the same village ids; otherwise :class:`~ynps_geo.errors.NotComparableError` names what
differs.

Functions
---------
compare
    Compare two runs (results, folders or :class:`RunData`).
load_run
    Read an output folder.
run_manifest, write_manifest
    What a run records for later comparisons.
trend_table, previous_run, attach_history
    The dated runs of a report folder: the trend of each standard's share, and the
    comparison with the previous report.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ynps_geo.errors import DataSourceError, NotComparableError

if TYPE_CHECKING:
    from ynps_geo.config import AnalysisConfig
    from ynps_geo.model.results import AnalysisResult
    from ynps_geo.model.standards import PlanStandard

log = logging.getLogger(__name__)

__all__ = [
    "MANIFEST",
    "MOVED_M",
    "REASONS",
    "Comparison",
    "RunData",
    "attach_history",
    "compare",
    "load_run",
    "previous_run",
    "run_manifest",
    "trend_table",
    "write_manifest",
]

MANIFEST = "run_manifest.json"
"""File name of the run manifest in an output folder."""

MOVED_M = 1.0
"""A facility or village whose point moved more than this many metres has moved."""

#: reason code -> (Chinese, English) words; ``{...}`` are filled per row
REASONS: dict[str, tuple[str, str]] = {
    "facility_added": ("新增设施", "facility added"),
    "facility_removed": ("撤销设施", "facility removed"),
    "facility_moved": ("设施位置变动", "facility moved"),
    "facility_recategorised": ("设施类别变更", "facility re-categorised"),
    "standard_changed": ("标准变更", "standard changed"),
    "village_setting_changed": ("村城乡属性变更", "village urban/rural setting changed"),
    "village_moved": ("村点位变动", "village moved"),
    "roads_changed": ("道路数据变化", "road network changed"),
    "options_changed": ("分析设置变更", "analysis setting changed"),
    "inputs_changed": ("地形或其他输入变化", "terrain or other input changed"),
    "population": ("人口变化", "population changed"),
    "unknown": ("原因无法判断", "reason cannot be told"),
}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


# ============================================================================ run data
@dataclass
class RunData:
    """What a comparison reads of one run.

    Attributes
    ----------
    label : str
        How the run is named in the report (a date, a folder name, "baseline"...).
    villages : DataFrame or None
        ``villages.gpkg``'s rows (``village_id`` as str), with geometry when known.
    coverage : DataFrame
        ``coverage.csv``.
    facilities : DataFrame or None
        The facilities used (``facility_id, name, category, subtype``, geometry).
    manifest : dict
        :func:`run_manifest` of the run (empty for runs written before manifests existed).
    standards : dict
        Standard id -> definition (threshold, unit, mode, applies_to, facilities), from the
        manifest or the result.
    titles : dict
        Standard id -> (Chinese title, English title).
    """

    label: str
    villages: Any | None
    coverage: pd.DataFrame
    facilities: Any | None
    manifest: dict[str, Any] = field(default_factory=dict)
    standards: dict[str, dict[str, Any]] = field(default_factory=dict)
    titles: dict[str, tuple[str, str]] = field(default_factory=dict)


def _standard_def(s: PlanStandard) -> dict[str, Any]:
    return {
        "threshold": None if s.threshold is None else float(s.threshold),
        "unit": s.unit,
        "mode": {str(k): str(v) for k, v in dict(s.mode).items()},
        "applies_to": s.applies_to,
        "facilities": [list(g) for g in s.facilities],
        "title_zh": s.title_zh,
        "title_en": s.title_en,
    }


def _fingerprint(spec: Any) -> str | None:
    """SHA-256 of a layer's file (``None`` for a database layer or a missing file)."""
    from ynps_geo.io.cache import file_digest

    if not isinstance(spec, Mapping) or "path" not in spec:
        return None
    path = Path(str(spec["path"]))
    try:
        return file_digest(path) if path.is_file() else None
    except OSError:
        return None


def run_manifest(cfg: AnalysisConfig, standards: Sequence[PlanStandard]) -> dict[str, Any]:
    """What a run records so that a later run can say why something changed.

    Parameters
    ----------
    cfg : AnalysisConfig
    standards : sequence of PlanStandard
        The circle standards evaluated (with the config's overrides).

    Returns
    -------
    dict
        ``format``, ``name``, ``created`` (UTC), ``standards`` (id -> definition),
        ``options`` (the config's option keys), ``inputs`` (key -> SHA-256 of the file, or
        a list for facility layers), ``config_sha256`` (the config file's bytes).
    """
    from ynps_geo import settings

    inputs: dict[str, Any] = {}
    for key in ("boundary", "villages", "roads", "dem", "population", "barriers"):
        spec = getattr(cfg, key, None)
        if spec:
            inputs[key] = _fingerprint(spec)
    inputs["facilities"] = [_fingerprint(f) for f in cfg.facilities]
    options = {
        k: v
        for k, v in cfg.opts.as_config().items()
        if k not in ("jobs", "scheduler", "counties", "language", "facility_isochrones")
    }
    defaults = {k: getattr(settings, k) for k in settings.ANALYSIS_DEFAULTS}
    try:
        config_sha = hashlib.sha256(cfg.source.read_bytes()).hexdigest()
    except OSError:
        config_sha = None
    return {
        "format": 1,
        "name": cfg.name,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "standards": {s.id: _standard_def(s) for s in standards},
        "options": _jsonable(options),
        "defaults": defaults,
        "inputs": inputs,
        "config_sha256": config_sha,
    }


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def write_manifest(result: AnalysisResult, out_dir: str | Path) -> Path:
    """Write ``run_manifest.json`` of ``result`` into ``out_dir`` (atomically)."""
    from ynps_geo.io.vector import atomic_write

    manifest = dict(getattr(result, "run_info", None) or {})
    manifest.setdefault("format", 1)
    manifest.setdefault("name", result.name)
    manifest.setdefault("standards", {s.id: _standard_def(s) for s in result.standards})
    path = Path(out_dir) / MANIFEST
    with atomic_write(path) as tmp:
        Path(tmp).write_text(
            json.dumps(_jsonable(manifest), ensure_ascii=False, indent=1), encoding="utf-8"
        )
    return path


def from_result(result: AnalysisResult, label: str = "") -> RunData:
    """The :class:`RunData` of an :class:`~ynps_geo.model.results.AnalysisResult`."""
    manifest = dict(getattr(result, "run_info", None) or {})
    std = {s.id: _standard_def(s) for s in result.standards}
    villages = None
    if result.villages is not None:
        villages = result.villages.copy()
        villages["village_id"] = villages["village_id"].astype(str)
    return RunData(
        label=label or str(result.name or "run"),
        villages=villages,
        coverage=result.coverage.copy(),
        facilities=result.facilities,
        manifest=manifest,
        standards=std,
        titles={s.id: (s.title_zh or s.id, s.title_en or s.id) for s in result.standards},
    )


def _is_run_folder(path: Path) -> bool:
    return (path / "coverage.csv").is_file()


def load_run(folder: str | Path, label: str | None = None) -> RunData:
    """Read an output folder of ``analyze`` (or a dated folder of ``report``).

    Raises
    ------
    DataSourceError
        The folder does not exist or holds no ``coverage.csv`` (with a hint when it is the
        root of a report folder).
    """
    path = Path(folder)
    if not path.is_dir():
        msg = (
            f"{path}: no such folder; give an output folder of 'ynps-geo analyze' or a "
            "dated report folder"
        )
        raise DataSourceError(msg)
    if not _is_run_folder(path):
        dated = sorted(p.name for p in path.iterdir() if p.is_dir() and _is_run_folder(p))
        hint = (
            f"; it is a report folder: give one of its dated runs, e.g. {path / dated[-1]}"
            if dated
            else "; give an output folder of 'ynps-geo analyze' or a dated report folder"
        )
        msg = f"{path}: no coverage.csv here{hint}"
        raise DataSourceError(msg)
    coverage = pd.read_csv(path / "coverage.csv", dtype={"county": str})
    villages = None
    vfile = path / "villages.gpkg"
    if vfile.is_file():
        import geopandas as gpd

        villages = gpd.read_file(vfile, layer="villages")
        villages["village_id"] = villages["village_id"].astype(str)
    facilities = None
    ffile = path / "facilities.gpkg"
    if ffile.is_file():
        import geopandas as gpd

        facilities = gpd.read_file(ffile, layer="facilities")
    manifest: dict[str, Any] = {}
    mfile = path / MANIFEST
    if mfile.is_file():
        try:
            manifest = json.loads(mfile.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            log.warning("ignoring unreadable %s (%s)", mfile, err)
    std = dict(manifest.get("standards") or {})
    if not std:  # a run written before manifests: the ids are in coverage.csv
        std = {str(i): {} for i in coverage["standard_id"].unique()}
    titles = {
        sid: (d.get("title_zh") or sid, d.get("title_en") or sid) if d else _package_title(sid)
        for sid, d in std.items()
    }
    return RunData(
        label=label or path.name,
        villages=villages,
        coverage=coverage,
        facilities=facilities,
        manifest=manifest,
        standards=std,
        titles=titles,
    )


def _package_title(sid: str) -> tuple[str, str]:
    try:
        from ynps_geo.model.standards import load_standards

        s = load_standards()[sid]
        return (s.title_zh or sid, s.title_en or sid)
    except Exception:  # a title is a nicety; the id is shown without it
        return (sid, sid)


def _as_run(obj: Any, label: str | None) -> RunData:
    if isinstance(obj, RunData):
        if label:
            obj.label = label
        return obj
    if isinstance(obj, str | Path):
        return load_run(obj, label)
    if hasattr(obj, "coverage") and hasattr(obj, "standards"):
        return from_result(obj, label or "")
    msg = (
        f"cannot compare a {type(obj).__name__}; give an AnalysisResult, an output folder "
        "or a RunData"
    )
    raise TypeError(msg)


# ============================================================================ comparison
@dataclass
class Comparison:
    """Two runs compared (see the module docstring for the tables).

    Attributes
    ----------
    before_label, after_label : str
        The runs' names (dates, folders, "baseline"/"scenario").
    kind : {"previous", "compare", "scenario"}
        What the comparison is for: a report against the previous one, two runs named by a
        user, or a baseline against a planned scenario (the wording of the report follows).
    shares, villages, facilities : DataFrame
        The tables.
    notes : list of str
        What the comparison could not tell, and why.
    standards : dict
        Standard id -> (Chinese title, English title, unit).
    """

    before_label: str
    after_label: str
    kind: str
    shares: pd.DataFrame
    villages: pd.DataFrame
    facilities: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    standards: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Whether anything changed (a share, a village or a facility)."""
        moved = (
            self.shares["change_pp"].abs().fillna(0).gt(1e-12).any() if len(self.shares) else False
        )
        return bool(moved or len(self.villages) or len(self.facilities))

    def village_layer(self) -> Any:
        """The changed villages as a GeoDataFrame (EPSG:4326) for a GeoPackage or a map."""
        import geopandas as gpd

        v = self.villages
        if "geometry" not in v.columns:
            v = v.assign(geometry=None)
        return gpd.GeoDataFrame(v, geometry="geometry", crs="EPSG:4326")


def check_comparable(before: RunData, after: RunData) -> None:
    """Raise :class:`NotComparableError` naming what differs between two runs.

    Runs are comparable when they evaluate the same standards, over the same counties and
    the same village ids.
    """
    where = f"cannot compare {before.label} with {after.label}"
    sb, sa = set(before.standards), set(after.standards)
    if sb != sa:
        msg = (
            f"{where}: the standards differ (only in {before.label}: "
            f"{', '.join(sorted(sb - sa)) or 'none'}; only in {after.label}: "
            f"{', '.join(sorted(sa - sb)) or 'none'}); run both with the same 'standards:'"
        )
        raise NotComparableError(msg)
    cb = set(before.coverage["county"].astype(str)) - {"ALL"}
    ca = set(after.coverage["county"].astype(str)) - {"ALL"}
    if cb != ca:
        msg = (
            f"{where}: the counties differ (only in {before.label}: "
            f"{', '.join(sorted(cb - ca)) or 'none'}; only in {after.label}: "
            f"{', '.join(sorted(ca - cb)) or 'none'}); compare runs of the same counties"
        )
        raise NotComparableError(msg)
    if (before.villages is None) != (after.villages is None):
        has = before.label if before.villages is not None else after.label
        msg = f"{where}: only {has} has villages; compare runs that both list villages"
        raise NotComparableError(msg)
    if before.villages is not None and after.villages is not None:
        vb = before.villages["village_id"].astype(str)
        va = after.villages["village_id"].astype(str)
        for run, ids in ((before, vb), (after, va)):
            dup = sorted(set(ids[ids.duplicated()]))
            if dup:
                msg = (
                    f"{where}: {run.label} repeats village ids ({', '.join(dup[:3])}); "
                    "give each village its own id"
                )
                raise NotComparableError(msg)
        ib, ia = set(vb), set(va)
        if ib != ia:
            gone, new = sorted(ib - ia), sorted(ia - ib)
            msg = (
                f"{where}: the village ids differ ({len(gone)} only in {before.label}"
                f"{', e.g. ' + ', '.join(gone[:3]) if gone else ''}; {len(new)} only in "
                f"{after.label}{', e.g. ' + ', '.join(new[:3]) if new else ''}); compare "
                "runs of the same village list"
            )
            raise NotComparableError(msg)


def compare(
    before: Any,
    after: Any,
    *,
    kind: str = "compare",
    before_label: str | None = None,
    after_label: str | None = None,
) -> Comparison:
    """Compare two runs.

    Parameters
    ----------
    before, after : AnalysisResult, path or RunData
        The earlier run and the later one (or the baseline and the scenario).
    kind : {"previous", "compare", "scenario"}
        Sets the wording of the report.
    before_label, after_label : str, optional
        Names of the runs (default: folder names, or the result names).

    Returns
    -------
    Comparison

    Raises
    ------
    NotComparableError
        Different standards, counties or village ids (the message names what differs).
    """
    b = _as_run(before, before_label)
    a = _as_run(after, after_label)
    if b.label == a.label:
        b.label, a.label = f"{b.label} (before)", f"{a.label} (after)"
    check_comparable(b, a)
    notes: list[str] = []
    if not b.manifest or not a.manifest:
        notes.append(
            "a run without run_manifest.json (written before version 0.1 recorded it): "
            "changes of standards, settings and roads cannot be told apart there"
        )
    fac = _facility_changes(b.facilities, a.facilities)
    n_fac = (
        min(len(b.facilities), len(a.facilities))
        if b.facilities is not None and (a.facilities is not None)
        else 0
    )
    if n_fac >= 10 and len(fac) > n_fac / 2:
        notes.append(
            f"{len(fac)} of {n_fac} facilities differ by id: the registers may not keep their "
            "ids between runs (row numbers are used when a layer has no 'id:' column); give "
            "each facilities layer a stable 'id:' column"
        )
    context = _run_context(b, a)
    villages = _village_changes(b, a, fac, context)
    if len(fac):
        counts = villages["facility_id"].value_counts() if len(villages) else pd.Series(dtype=int)
        fac["villages_flipped"] = [int(counts.get(i, 0)) for i in fac["facility_id"]]
    shares = _share_changes(b, a, villages)
    npop = int((villages["change"] == "population").sum()) if len(villages) else 0
    if npop and (a.manifest.get("inputs") or {}).get("population"):
        notes.append(
            f"{npop} village{'' if npop == 1 else 's'} changed population; the shares count "
            "people from the "
            "population raster, so they move only where the raster changed"
        )
    titles = {**b.titles, **a.titles}
    units = {
        sid: str((a.standards.get(sid) or b.standards.get(sid) or {}).get("unit") or "min")
        for sid in a.standards
    }
    return Comparison(
        before_label=b.label,
        after_label=a.label,
        kind=kind,
        shares=shares,
        villages=villages,
        facilities=fac,
        notes=notes + context["notes"],
        standards={
            sid: (*titles.get(sid, (sid, sid)), units.get(sid, "min")) for sid in a.standards
        },
    )


# ---------------------------------------------------------------------------- facilities
def _geod_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    from pyproj import Geod

    _, _, d = Geod(ellps="WGS84").inv(
        np.asarray(lon1, float),
        np.asarray(lat1, float),
        np.asarray(lon2, float),
        np.asarray(lat2, float),
    )
    return np.asarray(d, dtype=float)


def _points(df: Any) -> tuple[np.ndarray, np.ndarray]:
    if df is None or "geometry" not in getattr(df, "columns", []):
        n = 0 if df is None else len(df)
        return np.full(n, np.nan), np.full(n, np.nan)
    g = df.geometry
    ok = g.notna().to_numpy() & ~g.is_empty.to_numpy()
    x = np.full(len(df), np.nan)
    y = np.full(len(df), np.nan)
    if ok.any():
        x[ok] = g[ok].x.to_numpy()
        y[ok] = g[ok].y.to_numpy()
    return x, y


FACILITY_COLUMNS = [
    "facility_id",
    "name",
    "category",
    "subtype",
    "change",
    "change_zh",
    "change_en",
    "distance_m",
    "category_before",
    "subtype_before",
    "geometry",
]


def _facility_changes(before: Any, after: Any) -> pd.DataFrame:
    """Facilities added, removed, moved and re-categorised between two registers (by id)."""
    if before is None or after is None:
        return pd.DataFrame(columns=FACILITY_COLUMNS)
    b = before.copy()
    a = after.copy()
    for df in (b, a):
        df["facility_id"] = df["facility_id"].astype(str)
        for c in ("name", "category", "subtype"):
            if c not in df.columns:
                df[c] = ""
    b = b.drop_duplicates("facility_id").set_index("facility_id", drop=False)
    a = a.drop_duplicates("facility_id").set_index("facility_id", drop=False)
    rows: list[dict[str, Any]] = []

    def row(src: Any, fid: str, change: str, **extra: Any) -> dict[str, Any]:
        r = src.loc[fid]
        zh, en = REASONS[f"facility_{change}"]
        return {
            "facility_id": fid,
            "name": str(r.get("name", "")),
            "category": str(r.get("category", "")),
            "subtype": str(r.get("subtype", "")),
            "change": change,
            "change_zh": zh,
            "change_en": en,
            "distance_m": np.nan,
            "category_before": "",
            "subtype_before": "",
            "geometry": r.get("geometry"),
            **extra,
        }

    for fid in a.index.difference(b.index):
        rows.append(row(a, fid, "added"))
    for fid in b.index.difference(a.index):
        rows.append(row(b, fid, "removed"))
    both = a.index.intersection(b.index)
    if len(both):
        bx, by = _points(b.loc[both])
        ax, ay = _points(a.loc[both])
        ok = np.isfinite(bx) & np.isfinite(ax)
        dist = np.full(len(both), np.nan)
        if ok.any():
            dist[ok] = _geod_m(bx[ok], by[ok], ax[ok], ay[ok])
        cat_b = b.loc[both, "category"].astype(str).to_numpy()
        cat_a = a.loc[both, "category"].astype(str).to_numpy()
        sub_b = b.loc[both, "subtype"].astype(str).to_numpy()
        sub_a = a.loc[both, "subtype"].astype(str).to_numpy()
        for i, fid in enumerate(both):
            if cat_b[i] != cat_a[i] or sub_b[i] != sub_a[i]:
                rows.append(
                    row(
                        a,
                        fid,
                        "recategorised",
                        category_before=cat_b[i],
                        subtype_before=sub_b[i],
                        distance_m=dist[i] if dist[i] > MOVED_M else np.nan,
                    )
                )
            elif np.isfinite(dist[i]) and dist[i] > MOVED_M:
                rows.append(row(a, fid, "moved", distance_m=float(dist[i])))
    order = {"added": 0, "removed": 1, "moved": 2, "recategorised": 3}
    out = pd.DataFrame(rows, columns=FACILITY_COLUMNS)
    if len(out):
        out = out.sort_values(
            ["change", "facility_id"], key=lambda s: s.map(order) if s.name == "change" else s
        ).reset_index(drop=True)
    return out


# ---------------------------------------------------------------------------- context
def _run_context(b: RunData, a: RunData) -> dict[str, Any]:
    """Run-wide differences that explain a flip: standards, options, roads, other inputs."""
    notes: list[str] = []
    std_changed: dict[str, str] = {}
    for sid in a.standards:
        db, da = b.standards.get(sid) or {}, a.standards.get(sid) or {}
        if not db or not da:
            continue
        diffs = []
        for key in ("threshold", "unit", "mode", "applies_to", "facilities"):
            if db.get(key) != da.get(key):
                diffs.append(f"{key} {_short(db.get(key))} → {_short(da.get(key))}")
        if diffs:
            std_changed[sid] = "; ".join(diffs)
    mb, ma = b.manifest, a.manifest
    options: list[str] = []
    inputs_changed: list[str] = []
    roads = False
    if mb and ma:
        ob = {**(mb.get("defaults") or {}), **(mb.get("options") or {})}
        oa = {**(ma.get("defaults") or {}), **(ma.get("options") or {})}
        for k in sorted(set(ob) | set(oa)):
            if ob.get(k) != oa.get(k):
                options.append(f"{k} {_short(ob.get(k))} → {_short(oa.get(k))}")
        ib, ia = mb.get("inputs") or {}, ma.get("inputs") or {}
        roads = ib.get("roads") != ia.get("roads")
        for k in ("dem", "population", "barriers", "boundary"):
            if ib.get(k) != ia.get(k):
                inputs_changed.append(k)
    if std_changed:
        notes.append("standards changed: " + "; ".join(f"{k}: {v}" for k, v in std_changed.items()))
    if options:
        notes.append("analysis settings changed: " + "; ".join(options))
    if roads:
        notes.append("the road network changed (the roads file differs)")
    if inputs_changed:
        notes.append("inputs changed: " + ", ".join(inputs_changed))
    return {
        "standards": std_changed,
        "options": options,
        "roads": roads,
        "inputs": inputs_changed,
        "notes": notes,
    }


def _short(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return f"{v:g}"
    if isinstance(v, list):
        return "/".join("+".join(x) if isinstance(x, list) else str(x) for x in v)
    if isinstance(v, dict):
        return ",".join(f"{k}:{x}" for k, x in v.items())
    return str(v)


# ---------------------------------------------------------------------------- villages
VILLAGE_COLUMNS = [
    "village_id",
    "name",
    "county",
    "setting",
    "standard_id",
    "change",
    "value_before",
    "value_after",
    "unit",
    "population_before",
    "population_after",
    "reason",
    "reason_zh",
    "reason_en",
    "facility_id",
    "facility_before",
    "facility_after",
    "geometry",
]


def _value_column(sid: str, df: pd.DataFrame) -> str | None:
    for c in (f"{sid}_minutes", f"{sid}_km"):
        if c in df.columns:
            return c
    return None


def _col(df: pd.DataFrame, name: str, default: Any) -> np.ndarray:
    if name in df.columns:
        return df[name].to_numpy()
    return np.full(len(df), default, dtype=object if isinstance(default, str) else None)


def _fmt_dist(m: float, lang: str) -> str:
    if not np.isfinite(m):
        return ""
    if m >= 1000:
        return f"{m / 1000:.1f} 公里" if lang == "zh" else f"{m / 1000:.1f} km"
    return f"{m:.0f} 米" if lang == "zh" else f"{m:.0f} m"


def _village_changes(
    b: RunData, a: RunData, fac: pd.DataFrame, ctx: Mapping[str, Any]
) -> pd.DataFrame:
    """Villages whose coverage flipped (per standard) or whose population changed."""
    if b.villages is None or a.villages is None:
        return pd.DataFrame(columns=VILLAGE_COLUMNS)
    vb = b.villages.set_index("village_id", drop=False)
    va = a.villages.set_index("village_id", drop=False)
    vb = vb.loc[va.index]
    fb = (
        b.facilities.assign(facility_id=b.facilities["facility_id"].astype(str)).set_index(
            "facility_id"
        )
        if b.facilities is not None
        else None
    )
    fa = (
        a.facilities.assign(facility_id=a.facilities["facility_id"].astype(str)).set_index(
            "facility_id"
        )
        if a.facilities is not None
        else None
    )
    fac_change = dict(zip(fac["facility_id"], fac["change"], strict=True)) if len(fac) else {}
    fac_dist = dict(zip(fac["facility_id"], fac["distance_m"], strict=True)) if len(fac) else {}
    # village-level context
    bx, by = _points(vb)
    ax, ay = _points(va)
    ok = np.isfinite(bx) & np.isfinite(ax)
    moved = np.zeros(len(va))
    if ok.any():
        moved[ok] = _geod_m(bx[ok], by[ok], ax[ok], ay[ok])
    set_b = _col(vb, "setting", "").astype(str)
    set_a = _col(va, "setting", "").astype(str)
    pop_b = pd.to_numeric(pd.Series(_col(vb, "population", np.nan)), errors="coerce").to_numpy()
    pop_a = pd.to_numeric(pd.Series(_col(va, "population", np.nan)), errors="coerce").to_numpy()
    names = _col(va, "name", "").astype(str)
    county = _col(va, "county", "").astype(str)
    ids = va["village_id"].astype(str).to_numpy()
    geoms = va.geometry.to_numpy() if "geometry" in va.columns else np.full(len(va), None)
    rows: list[dict[str, Any]] = []

    def fac_name(src: Any, fid: str) -> str:
        if src is None or not fid or fid not in src.index:
            return fid
        n = src.loc[fid, "name"]
        n = n.iloc[0] if isinstance(n, pd.Series) else n
        return f"{fid} {n}" if isinstance(n, str) and n else fid

    for sid in a.standards:
        cb, ca = _value_column(sid, vb), _value_column(sid, va)
        if cb is None or ca is None or f"{sid}_covered" not in va.columns:
            continue
        app_b = _col(vb, f"{sid}_applies", True).astype(bool)
        app_a = _col(va, f"{sid}_applies", True).astype(bool)
        cov_b = _col(vb, f"{sid}_covered", False).astype(bool) & app_b
        cov_a = _col(va, f"{sid}_covered", False).astype(bool) & app_a
        flip = (app_b | app_a) & (cov_b != cov_a)
        if not flip.any():
            continue
        val_b = pd.to_numeric(vb[cb], errors="coerce").to_numpy()
        val_a = pd.to_numeric(va[ca], errors="coerce").to_numpy()
        nf_b = _col(vb, f"{sid}_facility_id", "").astype(str)
        nf_a = _col(va, f"{sid}_facility_id", "").astype(str)
        unit = "km" if ca.endswith("_km") else "min"
        for i in np.nonzero(flip)[0]:
            gained = bool(cov_a[i])
            reason, zh, en, fid = _reason(
                gained,
                nf_b[i] if nf_b[i] not in ("nan", "None") else "",
                nf_a[i] if nf_a[i] not in ("nan", "None") else "",
                fac_change,
                fac_dist,
                fb,
                fa,
                sid,
                ctx,
                set_b[i],
                set_a[i],
                moved[i],
                app_b[i] != app_a[i],
            )
            rows.append(
                {
                    "village_id": ids[i],
                    "name": names[i],
                    "county": county[i],
                    "setting": set_a[i],
                    "standard_id": sid,
                    "change": "newly_covered" if gained else "newly_uncovered",
                    "value_before": float(val_b[i]),
                    "value_after": float(val_a[i]),
                    "unit": unit,
                    "population_before": float(pop_b[i]),
                    "population_after": float(pop_a[i]),
                    "reason": reason,
                    "reason_zh": zh,
                    "reason_en": en,
                    "facility_id": fid,
                    "facility_before": fac_name(fb, nf_b[i]) if nf_b[i] not in ("", "nan") else "",
                    "facility_after": fac_name(fa, nf_a[i]) if nf_a[i] not in ("", "nan") else "",
                    "geometry": geoms[i],
                }
            )
    # population changes (coverage flags unchanged or not: the people counted change)
    both = np.isfinite(pop_b) & np.isfinite(pop_a)
    popchg = both & (np.abs(pop_a - pop_b) > 1e-9 * np.maximum(1.0, np.abs(pop_b)))
    popchg |= np.isfinite(pop_b) != np.isfinite(pop_a)
    for i in np.nonzero(popchg)[0]:
        d = pop_a[i] - pop_b[i]
        zh = f"人口 {_fmt_pop(pop_b[i])} → {_fmt_pop(pop_a[i])}（{d:+,.0f}）"
        en = f"population {_fmt_pop(pop_b[i])} → {_fmt_pop(pop_a[i])} ({d:+,.0f})"
        rows.append(
            {
                "village_id": ids[i],
                "name": names[i],
                "county": county[i],
                "setting": set_a[i],
                "standard_id": "",
                "change": "population",
                "value_before": np.nan,
                "value_after": np.nan,
                "unit": "",
                "population_before": float(pop_b[i]),
                "population_after": float(pop_a[i]),
                "reason": "population",
                "reason_zh": zh,
                "reason_en": en,
                "facility_id": "",
                "facility_before": "",
                "facility_after": "",
                "geometry": geoms[i],
            }
        )
    out = pd.DataFrame(rows, columns=VILLAGE_COLUMNS)
    if len(out):
        order = {"newly_covered": 0, "newly_uncovered": 1, "population": 2}
        out["_o"] = out["change"].map(order)
        out["_p"] = -out["population_after"].fillna(0)
        out = out.sort_values(["_o", "standard_id", "_p", "village_id"]).drop(columns=["_o", "_p"])
        out = out.reset_index(drop=True)
    return out


def _fmt_pop(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x:,.0f}"


def _reason(
    gained: bool,
    near_b: str,
    near_a: str,
    fac_change: Mapping[str, str],
    fac_dist: Mapping[str, float],
    fb: Any,
    fa: Any,
    sid: str,
    ctx: Mapping[str, Any],
    set_b: str,
    set_a: str,
    moved_m: float,
    applies_changed: bool,
) -> tuple[str, str, str, str]:
    """The reason of one flip: (code, Chinese, English, facility id or "")."""

    def fac_words(src: Any, fid: str) -> tuple[str, str]:
        name = ""
        if src is not None and fid in src.index:
            n = src.loc[fid, "name"]
            n = n.iloc[0] if isinstance(n, pd.Series) else n
            name = str(n) if isinstance(n, str) else ""
        return (f"{fid}（{name}）" if name else fid, f"{fid} ({name})" if name else fid)

    # the facility that now serves (gained) or that served before (lost)
    fid = near_a if gained else near_b
    change = fac_change.get(fid, "") if fid else ""
    if change in ("added", "removed", "recategorised"):
        src = fa if change != "removed" else fb
        zh_name, en_name = fac_words(src, fid)
        zh, en = REASONS[f"facility_{change}"]
        return f"facility_{change}", f"{zh}：{zh_name}", f"{en}: {en_name}", fid
    if change == "moved":
        zh_name, en_name = fac_words(fa, fid)
        d = float(fac_dist.get(fid, np.nan))
        return (
            "facility_moved",
            f"设施位置变动：{zh_name} 移动 {_fmt_dist(d, 'zh')}",
            f"facility moved: {en_name} moved {_fmt_dist(d, 'en')}",
            fid,
        )
    if sid in ctx["standards"]:
        text = ctx["standards"][sid]
        return "standard_changed", f"标准变更：{text}", f"standard changed: {text}", ""
    if applies_changed or (set_b and set_a and set_b != set_a):
        return (
            "village_setting_changed",
            f"村城乡属性变更：{set_b} → {set_a}",
            f"village setting changed: {set_b} → {set_a}",
            "",
        )
    if np.isfinite(moved_m) and moved_m > MOVED_M:
        return (
            "village_moved",
            f"村点位变动 {_fmt_dist(moved_m, 'zh')}",
            f"village moved {_fmt_dist(moved_m, 'en')}",
            "",
        )
    if ctx["roads"]:
        zh, en = REASONS["roads_changed"]
        return "roads_changed", zh, en, ""
    if ctx["options"]:
        text = "; ".join(ctx["options"])
        return "options_changed", f"分析设置变更：{text}", f"analysis setting changed: {text}", ""
    if ctx["inputs"]:
        text = ", ".join(ctx["inputs"])
        return "inputs_changed", f"输入数据变化：{text}", f"inputs changed: {text}", ""
    zh, en = REASONS["unknown"]
    return (
        "unknown",
        f"{zh}（两次运行记录的输入相同）",
        f"{en} (the runs record the same inputs)",
        "",
    )


# ---------------------------------------------------------------------------- shares
SHARE_COLUMNS = [
    "county",
    "standard_id",
    "population_before",
    "population_after",
    "population_covered_before",
    "population_covered_after",
    "share_before",
    "share_after",
    "change_pp",
    "villages_newly_covered",
    "villages_newly_uncovered",
    "people_newly_covered",
    "people_newly_uncovered",
    "reasons_zh",
    "reasons_en",
]


def _share_changes(b: RunData, a: RunData, villages: pd.DataFrame) -> pd.DataFrame:
    """Per (county, standard) and ALL: shares then and now and what moved them."""
    key = ["county", "standard_id"]
    cb = b.coverage.copy()
    ca = a.coverage.copy()
    for df in (cb, ca):
        df["county"] = df["county"].astype(str)
        df["standard_id"] = df["standard_id"].astype(str)
    m = ca.merge(cb, on=key, how="outer", suffixes=("_after", "_before"))
    flips = villages[villages["change"] != "population"] if len(villages) else villages
    pops = villages[villages["change"] == "population"] if len(villages) else villages
    rows = []
    for r in m.to_dict("records"):
        county, sid = r["county"], r["standard_id"]
        f = flips
        p = pops
        if len(f):
            f = f[f["standard_id"] == sid]
            if county != "ALL":
                f = f[f["county"] == county]
        if len(p) and county != "ALL":
            p = p[p["county"] == county]
        gained = f[f["change"] == "newly_covered"] if len(f) else f
        lost = f[f["change"] == "newly_uncovered"] if len(f) else f
        reasons_zh: list[str] = []
        reasons_en: list[str] = []
        if len(f):
            for code, g in f.groupby("reason", sort=False):
                zh, en = REASONS.get(str(code), (str(code), str(code)))
                ids = sorted({x for x in g["facility_id"] if x})
                tail = f" {', '.join(ids[:3])}" if ids else ""
                reasons_zh.append(f"{zh}{tail}（{len(g)} 村）")
                reasons_en.append(f"{en}{tail} ({len(g)} village{'' if len(g) == 1 else 's'})")
        sb, sa = r.get("share_covered_before"), r.get("share_covered_after")
        moved = (
            sb is not None
            and sa is not None
            and np.isfinite(sb)
            and np.isfinite(sa)
            and abs(sa - sb) > 1e-12
        )
        if len(p) and moved:
            reasons_zh.append(f"人口变化（{len(p)} 村）")
            reasons_en.append(f"population changed ({len(p)} village{'' if len(p) == 1 else 's'})")
        elif moved and not len(f):
            reasons_zh.append("人口分布或出行时间变化，无村覆盖状态改变")
            reasons_en.append("population or travel times changed; no village flipped")
        rows.append(
            {
                "county": county,
                "standard_id": sid,
                "population_before": r.get("population_before", np.nan),
                "population_after": r.get("population_after", np.nan),
                "population_covered_before": r.get("population_covered_before", np.nan),
                "population_covered_after": r.get("population_covered_after", np.nan),
                "share_before": sb,
                "share_after": sa,
                "change_pp": (sa - sb) if (sa is not None and sb is not None) else np.nan,
                "villages_newly_covered": len(gained),
                "villages_newly_uncovered": len(lost),
                "people_newly_covered": float(gained["population_after"].sum())
                if len(gained)
                else 0.0,
                "people_newly_uncovered": float(lost["population_before"].sum())
                if len(lost)
                else 0.0,
                "reasons_zh": "；".join(reasons_zh),
                "reasons_en": "; ".join(reasons_en),
            }
        )
    out = pd.DataFrame(rows, columns=SHARE_COLUMNS)
    order = list(a.standards)
    out["_s"] = out["standard_id"].map({s: i for i, s in enumerate(order)}).fillna(len(order))
    out["_c"] = out["county"].eq("ALL").map({True: 0, False: 1})
    out = out.sort_values(["_s", "_c", "county"]).drop(columns=["_s", "_c"]).reset_index(drop=True)
    return out


# ============================================================================ history
def dated_runs(root: str | Path) -> list[Path]:
    """The run folders of a report folder (``YYYY-MM-DD...`` with a ``coverage.csv``), in order."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and _DATE.match(p.name) and _is_run_folder(p)
    )


def previous_run(root: str | Path, stamp: str) -> Path | None:
    """The latest dated run of ``root`` before ``stamp`` (``None`` when there is none)."""
    earlier = [p for p in dated_runs(root) if p.name < stamp]
    return earlier[-1] if earlier else None


def trend_table(
    root: str | Path, current: AnalysisResult | None = None, stamp: str | None = None
) -> pd.DataFrame:
    """Each standard's covered share (``ALL`` and per county) over the dated runs of ``root``.

    ``current`` (not yet written) is added as run ``stamp``, replacing a folder of that name.

    Returns
    -------
    DataFrame
        ``run, county, standard_id, population, population_covered, share_covered``, runs in
        order.
    """
    frames = []
    for p in dated_runs(root):
        if stamp is not None and p.name >= stamp:
            continue
        try:
            cov = pd.read_csv(p / "coverage.csv", dtype={"county": str})
        except (OSError, ValueError) as err:
            log.warning("trend: skipping %s (%s)", p, err)
            continue
        frames.append(cov.assign(run=p.name))
    if current is not None and stamp is not None:
        frames.append(current.coverage.assign(run=stamp))
    cols = ["run", "county", "standard_id", "population", "population_covered", "share_covered"]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan
    return out[cols].reset_index(drop=True)


def attach_history(result: AnalysisResult, root: str | Path, stamp: str) -> None:
    """Give a report's result its comparison with the previous dated run and the trend.

    Sets ``result.changes`` (a :class:`Comparison`, or ``None`` without an earlier run),
    ``result.changes_error`` (why the previous run could not be compared) and
    ``result.trend`` (see :func:`trend_table`). Never raises for a bad earlier folder: the
    report is written either way, saying what could not be compared.
    """
    result.trend = trend_table(root, result, stamp)
    prev = previous_run(root, stamp)
    result.changes = None
    result.changes_error = ""
    if prev is None:
        return
    try:
        result.changes = compare(
            prev, result, kind="previous", before_label=prev.name, after_label=stamp
        )
    except (NotComparableError, DataSourceError, ValueError, OSError, KeyError) as err:
        result.changes_error = f"{prev.name}: {err}"
        log.warning("the previous report %s cannot be compared: %s", prev, err)


def _isfinite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False
