"""Input checks shared by the readers and the analysis (no I/O beyond ``Path.exists``).

Every check raises an error from :mod:`ynps_geo.errors` whose message names the input (file,
column, key, value), the problem and the fix, e.g.::

    villages.csv: column 'popu' (key `population:`) not found. Available columns: code, name,
    pop. Fix: set `population:` to one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ynps_geo.errors import ConfigError, DataSourceError, ValidationError

__all__ = [
    "check_config_keys",
    "check_lonlat",
    "check_non_negative",
    "check_unique",
    "existing_file",
    "find_column",
    "format_list",
    "projected_crs_hint",
    "require_column",
    "to_float",
]


def format_list(values: Iterable[Any], limit: int = 5) -> str:
    """Comma-separated text of the first ``limit`` values, with ``...`` and the total if more.

    Parameters
    ----------
    values : iterable
        Values to show.
    limit : int
        How many to show.

    Returns
    -------
    str
        e.g. ``"3, 7, 12 ... (25 in all)"``.
    """
    items = list(values)
    shown = ", ".join(str(v) for v in items[:limit])
    if len(items) > limit:
        shown += f" ... ({len(items)} in all)"
    return shown


def existing_file(path: str | Path, *, what: str) -> Path:
    """Return ``path`` as a Path, raising :class:`DataSourceError` when it does not exist.

    Parameters
    ----------
    path : str or Path
        The file (or a folder-like dataset such as a zipped shapefile).
    what : str
        What the file holds, for the message (``"facilities"``).

    Returns
    -------
    Path
    """
    p = Path(path).expanduser()
    if not p.exists():
        hint = ""
        if p.parent.exists():
            near = sorted(q.name for q in p.parent.iterdir() if q.suffix == p.suffix)[:5]
            if near:
                hint = f" Files with the same extension there: {', '.join(near)}."
        msg = (
            f"{what} file {p} does not exist.{hint} Fix: correct the path (relative paths are "
            "relative to the config file)"
        )
        raise DataSourceError(msg)
    return p


def find_column(columns: Iterable[Any], candidates: Sequence[str]) -> str | None:
    """First column whose name matches one of ``candidates`` (case- and space-insensitive).

    Parameters
    ----------
    columns : iterable
        Column names of a table.
    candidates : sequence of str
        Names to look for, in order of preference.

    Returns
    -------
    str or None
    """
    by_key: dict[str, str] = {}
    for col in columns:
        by_key.setdefault(str(col).strip().lower(), col)
    for cand in candidates:
        found = by_key.get(cand.strip().lower())
        if found is not None:
            return found
    return None


def require_column(df: pd.DataFrame, column: str, *, source: str, key: str) -> str:
    """Return the column named ``column`` (exact, else case-insensitive) or raise.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    column : str
        The column name the user gave.
    source : str
        File name for the message.
    key : str
        Config key that named the column (``"x"``, ``"population"``...).

    Returns
    -------
    str
        The actual column name.

    Raises
    ------
    ValidationError
        Listing the available columns.
    """
    if column in df.columns:
        return column
    found = find_column(df.columns, [str(column)])
    if found is not None:
        return found
    available = ", ".join(str(c) for c in df.columns if c != "geometry")
    msg = (
        f"{source}: column '{column}' (key `{key}:`) not found. Available columns: "
        f"{available}. Fix: set `{key}:` to one of them"
    )
    raise ValidationError(msg)


def check_config_keys(spec: Mapping[str, Any], allowed: Iterable[str], *, what: str) -> None:
    """Raise :class:`ConfigError` for keys not in ``allowed`` (typos such as ``popluation``).

    Parameters
    ----------
    spec : Mapping
        The config section.
    allowed : iterable of str
        Accepted keys.
    what : str
        The section's name for the message (``"villages"``).
    """
    if not isinstance(spec, Mapping):
        msg = f"config section `{what}` must be a mapping of keys (path:, crs: ...), got {spec!r}"
        raise ConfigError(msg)
    allowed_set = set(allowed)
    unknown = sorted(str(k) for k in spec if k not in allowed_set)
    if unknown:
        msg = (
            f"config section `{what}` has unknown key(s) {', '.join(unknown)}. Accepted keys: "
            f"{', '.join(sorted(allowed_set))}. Fix: correct the spelling or remove them"
        )
        raise ConfigError(msg)
    path = spec.get("path")  # a file, or a frame given in memory (see ynps_geo.api)
    if (path is None or (isinstance(path, str) and not path)) and not spec.get("dsn"):
        msg = (
            f"config section `{what}` has no `path:`. Fix: add path: <file> (or dsn: "
            "postgresql://... and table: for a database layer) to it"
        )
        raise ConfigError(msg)


def to_float(
    values: pd.Series, *, source: str, column: str, labels: Sequence[Any] | None = None
) -> pd.Series:
    """Parse numbers, accepting thousands separators and surrounding spaces.

    Parameters
    ----------
    values : pandas.Series
        Text or numbers.
    source, column : str
        File and column for the message.
    labels : sequence, optional
        Row labels (ids) for the message; default the row positions.

    Returns
    -------
    pandas.Series
        float64; NaN where the cell is empty.

    Raises
    ------
    ValidationError
        When a non-empty cell is not a number.
    """
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    text = values.astype("string").str.strip().str.replace(",", "", regex=False)
    text = text.str.replace("，", "", regex=False)
    empty = text.isna() | (text == "")
    out = pd.to_numeric(text.where(~empty), errors="coerce").astype("float64")
    bad = out.isna() & ~empty
    if bad.any():
        lab = list(labels) if labels is not None else list(range(len(values)))
        where = np.flatnonzero(bad.to_numpy())
        examples = format_list(f"{lab[i]} ({values.iloc[i]!r})" for i in where)
        nan = any(str(values.iloc[i]).strip().lower() in ("nan", "-nan", "+nan") for i in where)
        what = " (NaN means 'not a number')" if nan else ""
        msg = (
            f"{source}: column '{column}' has values that are not numbers{what}: {examples}. "
            "Fix: correct those cells (numbers only, no units)"
        )
        raise ValidationError(msg)
    return out


def check_unique(ids: pd.Series, *, source: str, column: str) -> None:
    """Raise :class:`ValidationError` listing a few duplicated ids.

    Parameters
    ----------
    ids : pandas.Series
        The identifiers.
    source, column : str
        File and column for the message.
    """
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        values = format_list(pd.unique(dup.astype(str)))
        msg = (
            f"{source}: column '{column}' has duplicate ids: {values}. Fix: make the ids "
            "unique, or choose another id column"
        )
        raise ValidationError(msg)


def check_population(values: pd.Series, labels: Sequence[Any], *, source: str, column: str) -> None:
    """Refuse village populations that cannot be true: infinite, or above a sane limit.

    Parameters
    ----------
    values : pandas.Series
        float values (NaN for empty cells is left to the caller's missing policy).
    labels : sequence
        Row ids for the message.
    source, column : str
        File and column for the message.

    Raises
    ------
    ValidationError
        ``inf`` (naming the file, column and rows) or a value above
        :data:`ynps_geo.settings.max_village_population` (naming the rows and values).
    """
    from ynps_geo import settings

    arr = values.to_numpy(dtype=float)
    labels = list(labels)
    inf = np.flatnonzero(np.isinf(arr))
    if len(inf):
        rows = format_list(labels[i] for i in inf)
        msg = (
            f"{source}: column '{column}' holds infinite populations (inf) in rows {rows}. "
            "Fix: give the number of residents of each village"
        )
        raise ValidationError(msg)
    limit = float(settings.max_village_population)
    big = np.flatnonzero(np.isfinite(arr) & (arr > limit))
    if len(big):
        rows = format_list(f"{labels[i]} ({arr[i]:,.0f})" for i in big)
        msg = (
            f"{source}: column '{column}' has implausible village populations (more than "
            f"{limit:,.0f}) in rows {rows}. Fix: correct those cells (a typo or a unit error?); "
            "a larger place is several villages or a town"
        )
        raise ValidationError(msg)


def check_non_negative(
    values: pd.Series,
    labels: Sequence[Any],
    *,
    source: str,
    column: str,
    allow_missing: bool = False,
) -> None:
    """Raise :class:`ValidationError` naming the rows with negative (or missing) values.

    Parameters
    ----------
    values : pandas.Series
        float values.
    labels : sequence
        Row ids for the message.
    source, column : str
        File and column for the message.
    allow_missing : bool
        Whether NaN is accepted.
    """
    arr = values.to_numpy(dtype=float)
    labels = list(labels)
    neg = np.flatnonzero(arr < 0)
    if len(neg):
        rows = format_list(f"{labels[i]} ({arr[i]:g})" for i in neg)
        msg = (
            f"{source}: column '{column}' has negative values in rows {rows}. Fix: correct or "
            "drop those rows"
        )
        raise ValidationError(msg)
    if not allow_missing:
        missing = np.flatnonzero(np.isnan(arr))
        if len(missing):
            rows = format_list(labels[i] for i in missing)
            msg = (
                f"{source}: column '{column}' is empty in rows {rows}. Fix: correct or drop "
                "those rows"
            )
            raise ValidationError(msg)


def check_lonlat(
    x: np.ndarray,
    y: np.ndarray,
    *,
    source: str,
    xcol: str | None,
    ycol: str | None,
    labels: Sequence[Any],
    crs_label: str,
) -> None:
    """Check that geographic coordinates are in range and not swapped.

    Parameters
    ----------
    x, y : numpy.ndarray
        Longitudes and latitudes as read (finite values only).
    source : str
        File name for the message.
    xcol, ycol : str or None
        Column names (None for coordinates inside a vector file's geometry).
    labels : sequence
        Row labels matching ``x``/``y``.
    crs_label : str
        The declared system, for the message.

    Raises
    ------
    ValidationError
        When lat and lon look swapped (``|x| <= 90`` where ``|y| > 90``, or, for China,
        x in 20-55 and y in 70-140): in most rows the columns are named the wrong way round,
        in a few rows those cells are; or when values are out of range (projected coordinates
        declared as degrees; the message suggests the Gauss-Kruger zone or UTM code).
    """
    if len(x) == 0:
        return
    labels = list(labels)
    if xcol is not None and ycol is not None:
        fix = f"Fix: swap the columns in the config (x: {ycol}, y: {xcol})"
        names = f"columns '{xcol}' (x, longitude) and '{ycol}' (y, latitude)"
    else:
        fix = "Fix: re-export the layer with longitude as x and latitude as y"
        names = "the x (longitude) and y (latitude) coordinates"
    china_swapped = (x >= 20) & (x <= 55) & (y >= 70) & (y <= 140)
    bad_lat = np.abs(y) > 90
    swapped = bad_lat & (np.abs(x) <= 90)
    if china_swapped.mean() > 0.5 or swapped.mean() > 0.5:
        idx = np.flatnonzero(swapped | china_swapped)[:3]
        ex = ", ".join(f"row {labels[i]}: x={x[i]:g}, y={y[i]:g}" for i in idx)
        msg = f"{source}: {names} look swapped (latitude in x, longitude in y; {ex}). {fix}"
        raise ValidationError(msg)
    if swapped.any():
        # A few rows typed the wrong way round: the columns are right, those cells are not.
        idx = np.flatnonzero(swapped)
        ex = format_list((f"row {labels[i]}: x={x[i]:g}, y={y[i]:g}" for i in idx), 5)
        msg = (
            f"{source}: {len(idx)} of {len(x)} rows have latitude and longitude swapped in "
            f"{names} ({ex}). Fix: swap the two values in those rows"
        )
        raise ValidationError(msg)
    out = bad_lat | (np.abs(x) > 180)
    if out.any():
        idx = np.flatnonzero(out)[:3]
        ex = ", ".join(f"row {labels[i]}: x={x[i]:g}, y={y[i]:g}" for i in idx)
        msg = (
            f"{source}: {names} are outside the range of degrees ({ex}) although crs is "
            f"declared as {crs_label}. These look like projected coordinates (metres). Fix: "
            f"declare their system, {projected_crs_hint(x[out])}"
        )
        raise ValidationError(msg)


def projected_crs_hint(x: np.ndarray) -> str:
    """Suggest a declared ``crs:`` for projected eastings ``x`` (metres), for error messages.

    Gauss-Kruger eastings that start with a zone number (``34512345.6``) name their zone:
    3-degree zones 25-45 are EPSG:4513-4533 (zone 34, CM 102E, is EPSG:4522) and 6-degree
    zones 13-23 are EPSG:4491-4501. Eastings without a zone number (around 500000) fit
    the CM variants (Yunnan: EPSG:4542/4543/4544 for CM 99E/102E/105E) or UTM 47N/48N.

    Parameters
    ----------
    x : numpy.ndarray
        Eastings (any finite values; the median is used).

    Returns
    -------
    str
        e.g. ``"e.g. crs: EPSG:4522 (CGCS2000 / 3-degree Gauss-Kruger zone 34, CM 102E: ..."``.
    """
    finite = np.abs(np.asarray(x, dtype=float))
    finite = finite[np.isfinite(finite)]
    generic = (
        "e.g. crs: EPSG:4543 (CGCS2000 / 3-degree Gauss-Kruger CM 102E; 4542 for CM 99E, "
        "4544 for CM 105E) or crs: EPSG:32648 (UTM 48N; 32647 for 47N)"
    )
    if finite.size == 0:
        return generic
    zone = int(float(np.median(finite)) // 1_000_000)
    if 25 <= zone <= 45:
        return (
            f"e.g. crs: EPSG:{4513 + zone - 25} (CGCS2000 / 3-degree Gauss-Kruger zone {zone}, "
            f"CM {3 * zone}E: the x values start with the zone number {zone})"
        )
    if 13 <= zone <= 23:
        return (
            f"e.g. crs: EPSG:{4491 + zone - 13} (CGCS2000 / 6-degree Gauss-Kruger zone {zone}, "
            f"CM {6 * zone - 3}E: the x values start with the zone number {zone})"
        )
    return generic
