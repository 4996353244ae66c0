"""Read and write villages, facilities and boundaries (CSV, Excel, GPKG, GeoJSON, SHP, GeoParquet).

Everything read lands in an EPSG:4326 GeoDataFrame. The coordinate system a file's coordinates
are in is *declared* by the user (``crs: wgs84 | cgcs2000 | gcj02 | bd09 | EPSG:<code>``): it is
required for tables (CSV, TXT, XLSX), and defaults to the embedded CRS of vector files. A declared
``gcj02`` or ``bd09`` wins over an embedded EPSG:4326, because POIs copied from Amap or Baidu
are routinely stored as "4326".

Data problems are never silently absorbed:

- rows without coordinates are dropped, counted in ``attrs["dropped_no_coordinates"]`` and
  reported with a :class:`~ynps_geo.errors.DataQualityWarning`;
- facility rows of unknown type are dropped, counted in ``attrs["unknown_types"]`` and reported;
- repaired boundary geometries are counted in ``attrs["repaired_geometries"]``;
- structural problems (missing file, column, layer; swapped lat/lon; duplicate ids; negative
  population) raise errors naming the file, the column and the fix.

CSV attributes are read as text so that codes keep their leading zeros; the numeric columns the
analysis uses (coordinates, population, capacities) are converted explicitly. Row numbers in
messages are spreadsheet rows for tables (header = row 1), 1-based feature numbers for other files,
and index labels for frames given in memory (:class:`InMemoryLayer`).

Writers are atomic: :func:`write_layer` and :func:`atomic_write` write a temporary file in the
target folder and move it into place with :func:`os.replace`, so a crashed run never leaves a
half-written output.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ynps_geo._geo import utm_epsg
from ynps_geo._validate import (
    check_config_keys,
    check_lonlat,
    check_non_negative,
    check_population,
    check_unique,
    existing_file,
    find_column,
    format_list,
    require_column,
    to_float,
)
from ynps_geo.errors import (
    ConfigError,
    CRSError,
    DataQualityWarning,
    DataSourceError,
    ValidationError,
    require,
)
from ynps_geo.io.coords import CRSSpec, gcj02_to_wgs84, geometry_to_wgs84, parse_crs
from ynps_geo.model.facilities import FacilityClass, classify_osm, classify_type

__all__ = [
    "CAPACITY_FIELDS",
    "FACILITY_KEYS",
    "VILLAGE_KEYS",
    "InMemoryLayer",
    "LayerStyle",
    "atomic_write",
    "attach_admin_names",
    "check_within",
    "in_memory",
    "read_boundaries",
    "read_facilities",
    "read_points",
    "read_table",
    "read_villages",
    "warn_if_gcj_offset",
    "write_layer",
    "write_layer_styles",
]

#: Tables QGIS keeps in a GeoPackage beside the data (styles, projects): never a data layer.
QGIS_TABLES = frozenset({"layer_styles", "qgis_projects"})

TABLE_SUFFIXES = frozenset({".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls"})
PARQUET_SUFFIXES = frozenset({".parquet", ".geoparquet"})

X_CANDIDATES = ("lon", "lng", "longitude", "long", "x", "经度", "东经", "gcj_lng", "wgs_lng")
Y_CANDIDATES = ("lat", "latitude", "y", "纬度", "北纬", "gcj_lat", "wgs_lat")
WKT_CANDIDATES = ("wkt", "geometry", "geom", "the_geom", "shape")
NAME_CANDIDATES = ("name", "名称", "机构名称", "单位名称", "村名", "村名称", "名字")

#: Keys of the ``villages:`` config section.
VILLAGE_KEYS = frozenset(
    {
        "path",
        "crs",
        "x",
        "y",
        "wkt",
        "layer",
        "encoding",
        "id",
        "name",
        "population",
        "setting",
        "township",
        "county",
        "setting_map",
        "population_missing",
        # a database layer (see ynps_geo.io.postgis): dsn (or a postgresql:// path)
        "dsn",
        "table",
        "sql",
        "geom_col",
    }
)
#: Keys of one ``facilities:`` config entry.
FACILITY_KEYS = frozenset(
    {
        "path",
        "crs",
        "x",
        "y",
        "wkt",
        "layer",
        "encoding",
        "id",
        "name",
        "category",
        "category_field",
        "osm_tags",
        "capacity",
        # a database layer (see ynps_geo.io.postgis): dsn (or a postgresql:// path)
        "dsn",
        "table",
        "sql",
        "geom_col",
    }
)
#: Capacity columns passed through by :func:`read_facilities`.
CAPACITY_FIELDS = ("beds", "doctors", "places", "area_m2", "capacity")

_URBAN = frozenset({"urban", "城镇", "城市", "社区", "城区", "town", "city", "u"})
_RURAL = frozenset({"rural", "农村", "乡村", "村", "village", "r"})
_OSM_KEYS = (
    "fclass",
    "amenity",
    "leisure",
    "healthcare",
    "social_facility",
    "social_facility:for",
    "tourism",
    "office",
    "government",
    "sport",
)
_OSM_TYPE_KEYS = (
    "fclass",
    "amenity",
    "leisure",
    "healthcare",
    "social_facility",
    "tourism",
    "office",
)


# --------------------------------------------------------------------------------------------
# In-memory layers: a frame goes through the same checks as a file
# --------------------------------------------------------------------------------------------


class InMemoryLayer:
    """A (Geo)DataFrame standing in for a file: the same checks and messages, no reading.

    Everything after a file is read (coordinate system, coordinates, ids, names, settings,
    population, facility types, capacities) runs on the raw frame in :func:`_load` and the
    ``read_*`` functions; a file and a frame differ only in where the raw frame comes from.
    A GeoDataFrame is a vector layer (its own CRS, or the declared ``crs``); a plain DataFrame
    is a table (coordinate columns and a declared ``crs`` required, as for a CSV).

    Parameters
    ----------
    frame : pandas.DataFrame or geopandas.GeoDataFrame
    label : str
        How messages name it (``"villages GeoDataFrame"``).
    stem : str
        Prefix of generated ids (``villages-1``...).
    """

    def __init__(self, frame: pd.DataFrame, label: str, stem: str) -> None:
        self.frame = frame
        self.label = label
        self.stem = stem

    def __repr__(self) -> str:
        return f"InMemoryLayer({self.label}, {len(self.frame)} rows)"


def in_memory(obj: Any, *, what: str) -> InMemoryLayer | None:
    """``obj`` as an :class:`InMemoryLayer` when it is a frame or a GeoSeries, else None."""
    if isinstance(obj, InMemoryLayer):
        return obj
    if isinstance(obj, gpd.GeoSeries):
        obj = gpd.GeoDataFrame(geometry=obj)
    if isinstance(obj, pd.DataFrame):
        kind = type(obj).__name__
        if isinstance(obj, gpd.GeoDataFrame) and obj.geometry.name not in obj.columns:
            msg = f"{what} {kind}: it has no active geometry column. Fix: call set_geometry()"
            raise ValidationError(msg)
        label = str(obj.attrs.get("name") or f"{what} {kind}")
        return InMemoryLayer(obj, label=label, stem=what)
    return None


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _sniff_delimiter(path: Path, encoding: str) -> str:
    with open(path, "rb") as fh:
        head = fh.read(65536)
    text = head.decode(encoding, errors="ignore")
    first = text.splitlines()[0] if text.strip() else ""
    counts = {d: first.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


#: cells read as empty: pandas' defaults without the spellings of NaN, so that a cell saying
#: ``NaN`` is reported as "not a number" rather than as an empty cell
_EMPTY_CELLS = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "None",
    "n/a",
    "null",
]


def _read_csv(path: Path, encoding: str, dtype: Any) -> pd.DataFrame:
    sep = _sniff_delimiter(path, encoding)
    return pd.read_csv(
        path,
        sep=sep,
        encoding=encoding,
        dtype=dtype,
        skipinitialspace=True,
        keep_default_na=False,
        na_values=_EMPTY_CELLS,
    )


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    layer: str | int | None = None,
    dtype: Any = None,
) -> pd.DataFrame:
    """Read a CSV/TXT/TSV table or an Excel sheet.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.txt``, ``.tsv`` (delimiter sniffed from the header among ``, TAB ; |``),
        ``.xlsx``/``.xlsm`` (needs openpyxl) or ``.xls`` (needs xlrd).
    encoding : str, optional
        Text encoding; by default UTF-8 (with or without BOM) is tried, then GB18030 (a
        superset of GBK and GB2312, the usual encoding of files saved by Chinese Excel).
    layer : str or int, optional
        Sheet name or index for Excel files (default the first sheet).
    dtype : optional
        Passed to pandas (``str`` keeps codes with leading zeros).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataSourceError
        File missing or unreadable.
    ValidationError
        Undecodable text, malformed rows, unknown sheet.
    MissingDependencyError
        openpyxl/xlrd missing for Excel files.
    """
    p = existing_file(path, what="table")
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        module = "xlrd" if suffix == ".xls" else "openpyxl"
        require(module, f"reading Excel file {p.name}")
        try:
            sheets = pd.ExcelFile(p).sheet_names
        except Exception as err:
            msg = f"{p.name}: cannot open as an Excel workbook ({err}). Fix: re-save it as .xlsx"
            raise DataSourceError(msg) from err
        sheet: str | int = 0 if layer is None else layer
        if isinstance(sheet, str) and sheet not in sheets:
            msg = (
                f"{p.name}: sheet '{sheet}' (key `layer:`) not found. Sheets: "
                f"{', '.join(map(str, sheets))}. Fix: set `layer:` to one of them"
            )
            raise ValidationError(msg)
        return pd.read_excel(p, sheet_name=sheet, dtype=dtype)
    encodings = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    last: Exception | None = None
    for enc in encodings:
        try:
            return _read_csv(p, enc, dtype)
        except UnicodeDecodeError as err:
            last = err
        except LookupError as err:
            msg = f"{p.name}: unknown encoding {enc!r} (key `encoding:`). Fix: use utf-8 or gbk"
            raise ValidationError(msg) from err
        except pd.errors.EmptyDataError as err:
            msg = f"{p.name}: the file is empty. Fix: export the table again with a header row"
            raise ValidationError(msg) from err
        except pd.errors.ParserError as err:
            msg = (
                f"{p.name}: malformed table ({err}). Fix: check the delimiter and quoting, "
                "e.g. re-export it from Excel as CSV UTF-8"
            )
            raise ValidationError(msg) from err
    msg = (
        f"{p.name}: cannot decode the text as {' or '.join(encodings)} ({last}). Fix: save it "
        "as UTF-8, or set `encoding:` (e.g. gbk, big5)"
    )
    raise ValidationError(msg) from last


# --------------------------------------------------------------------------------------------
# Generic geometry loading
# --------------------------------------------------------------------------------------------


def _read_vector(p: Path, layer: str | int | None, encoding: str | None) -> gpd.GeoDataFrame:
    import pyogrio
    from pyogrio.errors import DataLayerError
    from pyogrio.errors import DataSourceError as OgrDataSourceError

    try:
        layers = pyogrio.list_layers(p)
    except OgrDataSourceError as err:
        msg = f"{p.name}: cannot open as a vector dataset ({err}). Fix: check the file format"
        raise DataSourceError(msg) from err
    names = [str(n) for n in layers[:, 0]]
    data_names = [n for n in names if n not in QGIS_TABLES]
    if layer is None and len(data_names) == 1 and len(names) > 1:
        layer = data_names[0]  # a GeoPackage with QGIS styles (or a project) beside one layer
    if layer is None and len(names) > 1:
        msg = (
            f"{p.name} holds {len(names)} layers ({format_list(names, 10)}). Fix: choose one "
            "with `layer:`"
        )
        raise ValidationError(msg)
    if isinstance(layer, str) and layer not in names:
        msg = (
            f"{p.name}: layer '{layer}' (key `layer:`) not found. Layers: "
            f"{format_list(names, 10)}. Fix: set `layer:` to one of them"
        )
        raise ValidationError(msg)
    kwargs: dict[str, Any] = {"layer": layer}
    if encoding:
        kwargs["encoding"] = encoding
    try:
        return gpd.read_file(p, engine="pyogrio", **kwargs)
    except (DataLayerError, OgrDataSourceError) as err:
        msg = f"{p.name}: cannot read layer {layer!r} ({err}). Fix: check the file and `layer:`"
        raise DataSourceError(msg) from err


def _read_any(p: Path, layer: str | int | None, encoding: str | None) -> tuple[pd.DataFrame, bool]:
    """Read a file; return the frame and whether it is a plain table (no geometry column)."""
    suffix = p.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return read_table(p, encoding=encoding, layer=layer, dtype=str), True
    if suffix in PARQUET_SUFFIXES:
        require("pyarrow", f"reading GeoParquet file {p.name}")
        try:
            return gpd.read_parquet(p), False
        except ValueError:
            try:
                return pd.read_parquet(p), True
            except Exception as err:
                msg = f"{p.name}: cannot read as Parquet ({err}). Fix: check the file"
                raise DataSourceError(msg) from err
        except Exception as err:
            msg = f"{p.name}: cannot read as GeoParquet ({err}). Fix: check the file"
            raise DataSourceError(msg) from err
    return _read_vector(p, layer, encoding), False


def _undefined_crs(crs: Any) -> bool:
    """GDAL before 3.8 stores "Undefined geographic SRS" in a GeoPackage written without a CRS:
    that is no coordinate system, not degrees."""
    return crs is not None and "undefined geographic srs" in str(getattr(crs, "name", crs)).lower()


def _resolve_crs(declared: Any, embedded: Any, source: str) -> CRSSpec:
    if _undefined_crs(embedded):
        embedded = None
    if declared is None or (isinstance(declared, str) and not declared.strip()):
        if embedded is None:
            msg = (
                f"{source}: the coordinate system is not declared and the file has none. Fix: "
                "add `crs: wgs84|gcj02|bd09|cgcs2000|EPSG:<code>` to its config entry "
                "(coordinates copied from Amap/Tencent are gcj02, from Baidu bd09)"
            )
            raise CRSError(msg)
        return parse_crs(embedded)
    try:
        spec = parse_crs(declared)
    except CRSError as err:
        msg = f"{source}: {err}"
        raise CRSError(msg) from err
    if embedded is None:
        return spec
    emb = parse_crs(embedded)
    if spec.kind in ("gcj02", "bd09"):
        if not emb.is_geographic:
            msg = (
                f"{source}: declared crs {spec.label} (degrees) but the file is in projected "
                f"{emb.label}. Fix: remove `crs:` or re-export the layer in degrees"
            )
            raise CRSError(msg)
        return spec
    if spec.is_wgs84_like and emb.is_wgs84_like:
        return spec
    if (
        spec.pyproj_crs is not None
        and emb.pyproj_crs is not None
        and spec.pyproj_crs.equals(emb.pyproj_crs, ignore_axis_order=True)
    ):
        return spec
    warnings.warn(
        f"{source}: declared crs {spec.label} differs from the file's own {emb.label}; using the "
        "declared one. Fix: remove `crs:` to use the file's, or correct it",
        DataQualityWarning,
        stacklevel=3,
    )
    return spec


def _row_labels(n: int, is_table: bool) -> np.ndarray:
    return np.arange(n) + (2 if is_table else 1)


def _check_geometries(
    geoms: np.ndarray, *, spec: CRSSpec, source: str, labels: np.ndarray
) -> np.ndarray:
    """Mask of present, non-empty geometries; checks their degrees when ``spec`` is geographic."""
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if spec.is_geographic and ok.any():
        pts = shapely.get_coordinates(shapely.point_on_surface(geoms[ok]))
        check_lonlat(
            pts[:, 0],
            pts[:, 1],
            source=source,
            xcol=None,
            ycol=None,
            labels=labels[ok],
            crs_label=spec.label,
        )
    return ok


def _table_geometry(
    df: pd.DataFrame,
    *,
    source: str,
    x: str | None,
    y: str | None,
    wkt: str | None,
    spec: CRSSpec,
    labels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, str | None]]:
    """Geometries of a table, a mask of usable rows and notes on unusable ones."""
    notes: list[str] = []
    if wkt is None and x is None and y is None:
        gx = find_column(df.columns, X_CANDIDATES)
        gy = find_column(df.columns, Y_CANDIDATES)
        if gx is not None and gy is not None:
            x, y = gx, gy
        else:
            wkt = find_column(df.columns, WKT_CANDIDATES)
            if wkt is None:
                available = ", ".join(map(str, df.columns))
                msg = (
                    f"{source}: no coordinate columns found (looked for lon/lng/longitude/x/经度 "
                    f"and lat/latitude/y/纬度, or a wkt column). Available columns: {available}. "
                    "Fix: name them with `x:` and `y:` (or `wkt:`) in the config"
                )
                raise ValidationError(msg)
    if wkt is not None:
        col = require_column(df, wkt, source=source, key="wkt")
        text = df[col].astype("string").str.strip()
        empty = (text.isna() | (text == "")).to_numpy()
        geoms = shapely.from_wkt(
            text.where(~pd.Series(empty, index=df.index)).to_numpy(dtype=object, na_value=None),
            on_invalid="ignore",
        )
        bad = shapely.is_missing(geoms) & ~empty
        if bad.any():
            notes.append(
                "text that is not WKT: "
                + format_list(
                    f"row {labels[i]} {str(text.iloc[i])[:30]!r}" for i in np.flatnonzero(bad)
                )
            )
        ok = _check_geometries(geoms, spec=spec, source=source, labels=labels)
        return geoms, ok, notes, {"wkt": col}
    if x is None or y is None:
        key = "y" if x is not None else "x"
        msg = f"{source}: `x:` and `y:` must be given together. Fix: add `{key}:`"
        raise ConfigError(msg)
    xcol = require_column(df, x, source=source, key="x")
    ycol = require_column(df, y, source=source, key="y")
    arrays = []
    for col in (xcol, ycol):
        raw = df[col]
        if pd.api.types.is_numeric_dtype(raw.dtype):
            arrays.append(raw.to_numpy(dtype=float))
            continue
        text = raw.astype("string").str.strip()
        empty = (text.isna() | (text == "")).to_numpy()
        num = pd.to_numeric(text.where(~pd.Series(empty, index=df.index)), errors="coerce")
        num_arr = num.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(num_arr) & ~empty
        if bad.any():
            notes.append(
                f"text that is not a number in '{col}': "
                + format_list(f"row {labels[i]} {text.iloc[i]!r}" for i in np.flatnonzero(bad))
            )
        arrays.append(num_arr)
    xs, ys = arrays
    zero = (xs == 0) & (ys == 0)
    if zero.any():
        notes.append(f"{int(zero.sum())} rows at (0, 0), read as missing")
    ok = np.isfinite(xs) & np.isfinite(ys) & ~zero
    if spec.is_geographic:
        check_lonlat(
            xs[ok],
            ys[ok],
            source=source,
            xcol=str(xcol),
            ycol=str(ycol),
            labels=labels[ok],
            crs_label=spec.label,
        )
    geoms = np.full(len(df), None, dtype=object)
    geoms[ok] = shapely.points(xs[ok], ys[ok])
    return geoms, ok, notes, {"x": xcol, "y": ycol}


def _load(
    path: str | Path | Mapping[str, Any] | InMemoryLayer,
    *,
    crs: Any,
    x: str | None,
    y: str | None,
    wkt: str | None,
    layer: str | int | None,
    encoding: str | None,
    role: str,
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray, CRSSpec, list[str], int]:
    """Read any supported file into EPSG:4326.

    Returns the frame of usable rows (RangeIndex), their row labels (as numbered in messages)
    and 0-based positions in the file, the declared spec, notes about unusable rows and the
    count of dropped rows (no coordinates / no geometry). ``path`` may be a database layer
    spec (see :mod:`ynps_geo.io.postgis`), read into the same raw frame as a file.
    """
    if isinstance(path, InMemoryLayer):
        source, frame = path.label, path.frame
        is_table = not isinstance(frame, gpd.GeoDataFrame)
        spreadsheet_rows = False
    elif isinstance(path, Mapping):
        from ynps_geo.io.postgis import layer_label, load_layer_from_postgis

        source = layer_label(path)
        frame = load_layer_from_postgis(path)
        is_table = not isinstance(frame, gpd.GeoDataFrame)
        spreadsheet_rows = False
    else:
        p = existing_file(path, what=role)
        source = p.name
        frame, is_table = _read_any(p, layer, encoding)
        spreadsheet_rows = is_table
    if len(frame) == 0:
        msg = f"{source}: the {role} layer is empty (no rows). Fix: check the file and `layer:`"
        raise ValidationError(msg)
    labels = _row_labels(len(frame), spreadsheet_rows)
    if isinstance(path, InMemoryLayer):  # messages name rows by the frame's index labels
        labels = np.asarray(frame.index)
    if is_table:
        if crs is None or (isinstance(crs, str) and not crs.strip()):
            msg = (
                f"{source}: tables carry no coordinate system; it must be declared. Fix: add "
                "`crs: wgs84|gcj02|bd09|cgcs2000|EPSG:<code>` to its config entry (coordinates "
                "copied from Amap/Tencent are gcj02, from Baidu bd09, GPS readings wgs84)"
            )
            raise CRSError(msg)
        spec = _resolve_crs(crs, None, source)
        geoms, ok, notes, used = _table_geometry(
            frame, source=source, x=x, y=y, wkt=wkt, spec=spec, labels=labels
        )
        attrs = frame.drop(columns=[c for c in used.values() if c == used.get("wkt")])
        if "geometry" in attrs.columns:
            attrs = attrs.drop(columns="geometry")
    else:
        gdf = frame if isinstance(frame, gpd.GeoDataFrame) else gpd.GeoDataFrame(frame)
        spec = _resolve_crs(crs, gdf.crs, source)
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        ok = _check_geometries(geoms, spec=spec, source=source, labels=labels)
        notes = []
        attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    dropped = int((~ok).sum())
    if dropped and not ok.any():
        msg = (
            f"{source}: none of the {len(frame)} rows has usable coordinates"
            + (f" ({'; '.join(notes)})" if notes else "")
            + ". Fix: check the coordinate columns (`x:`, `y:` or `wkt:`)"
        )
        raise ValidationError(msg)
    wgs = geometry_to_wgs84(geoms[ok], spec)
    out = gpd.GeoDataFrame(
        attrs.loc[ok].reset_index(drop=True), geometry=wgs.values, crs="EPSG:4326"
    )
    out.attrs["source"] = source
    out.attrs["declared_crs"] = spec.label
    out.attrs["dropped_no_coordinates"] = dropped
    out.attrs["dropped_rows"] = format_list(labels[~ok], 8) if dropped else ""
    if dropped:
        rows = format_list(labels[~ok], 8)
        extra = f" ({'; '.join(notes)})" if notes else ""
        warnings.warn(
            f"{source}: {dropped} of {len(frame)} {role} rows have no coordinates and were "
            f"dropped: rows {rows}{extra}. Fix: fill in their coordinates to include them",
            DataQualityWarning,
            stacklevel=3,
        )
    return out, labels[ok], np.flatnonzero(ok), spec, notes, dropped


# --------------------------------------------------------------------------------------------
# Points, boundaries, villages, facilities
# --------------------------------------------------------------------------------------------


def _read_points_impl(
    path: str | Path | Mapping[str, Any] | InMemoryLayer,
    *,
    crs: Any,
    x: str | None,
    y: str | None,
    wkt: str | None,
    layer: str | int | None,
    encoding: str | None,
    role: str,
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    gdf, labels, positions, _spec, _notes, _dropped = _load(
        path, crs=crs, x=x, y=y, wkt=wkt, layer=layer, encoding=encoding, role=role
    )
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    not_point = types != 0
    if not_point.any():
        single_mp = (types == 4) & (shapely.get_num_geometries(geoms) == 1)
        geoms = geoms.copy()
        geoms[single_mp] = shapely.get_geometry(geoms[single_mp], 0)
        rest = not_point & ~single_mp
        geoms[rest] = shapely.point_on_surface(geoms[rest])
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs="EPSG:4326"))
    gdf.attrs["converted_to_points"] = int(not_point.sum())
    return gdf, labels, positions


def _read_spec_points(
    path: str | Path | Mapping[str, Any] | InMemoryLayer, spec: Mapping[str, Any], *, role: str
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """:func:`_read_points_impl` with the reading keys of a config entry."""
    return _read_points_impl(
        path,
        crs=spec.get("crs"),
        x=spec.get("x"),
        y=spec.get("y"),
        wkt=spec.get("wkt"),
        layer=spec.get("layer"),
        encoding=spec.get("encoding"),
        role=role,
    )


def read_points(
    path: str | Path,
    *,
    crs: Any = None,
    x: str | None = None,
    y: str | None = None,
    wkt: str | None = None,
    layer: str | int | None = None,
    encoding: str | None = None,
    role: str = "facilities",
) -> gpd.GeoDataFrame:
    """Read a point layer into EPSG:4326.

    Parameters
    ----------
    path : str or Path
        CSV/TXT/TSV/XLSX table, GeoPackage, GeoJSON, Shapefile (or zipped), GeoParquet
        (``.parquet``/``.geoparquet``) or any other format GDAL reads.
    crs : str, int or pyproj.CRS, optional
        The *declared* system of the coordinates (see :func:`ynps_geo.io.coords.parse_crs`).
        Required for tables; defaults to the file's own CRS otherwise. A declared ``gcj02`` or
        ``bd09`` overrides an embedded EPSG:4326.
    x, y : str, optional
        Coordinate column names of a table; by default guessed (lon/lng/longitude/x/经度 and
        lat/latitude/y/纬度, case-insensitive).
    wkt : str, optional
        A column of WKT geometries instead of ``x``/``y``.
    layer : str or int, optional
        Layer of a multi-layer file, or sheet of a workbook.
    encoding : str, optional
        Text encoding of tables and shapefile attributes (default: detected).
    role : str
        What the points are, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The file's attribute columns and point geometry (EPSG:4326; other geometry types are
        replaced by a point on their surface). ``attrs``: ``dropped_no_coordinates`` (int),
        ``converted_to_points`` (int), ``declared_crs`` (str), ``source`` (file name).

    Raises
    ------
    DataSourceError
        Missing or unreadable file.
    CRSError
        Undeclared or unknown coordinate system.
    ValidationError
        Empty layer, missing column, swapped or out-of-range coordinates, no usable row.

    Warns
    -----
    DataQualityWarning
        When rows without coordinates were dropped (count and first row numbers).
    """
    gdf, _labels, _positions = _read_points_impl(
        path, crs=crs, x=x, y=y, wkt=wkt, layer=layer, encoding=encoding, role=role
    )
    return gdf


def read_geometries(
    path: str | Path,
    *,
    crs: Any = None,
    layer: str | int | None = None,
    encoding: str | None = None,
    role: str = "barriers",
) -> gpd.GeoDataFrame:
    """Read any geometries (polygons, lines, points) into EPSG:4326, e.g. barriers.

    Rivers as lines and lakes as polygons both work; features without geometry are dropped
    and counted (``attrs["dropped_null_geometries"]``) with a warning.

    Parameters
    ----------
    path : str or Path
        Any vector format, or a table with a WKT column.
    crs : optional
        Declared system (see :func:`read_points`).
    layer, encoding : optional
        As for :func:`read_boundaries`.
    role : str
        What the layer is, for messages.
    """
    gdf, _labels, _positions, _spec, _notes, dropped = _load(
        path, crs=crs, x=None, y=None, wkt=None, layer=layer, encoding=encoding, role=role
    )
    gdf.attrs["dropped_null_geometries"] = int(dropped)
    return gdf


def read_boundaries(
    path: str | Path | Mapping[str, Any] | pd.DataFrame,
    *,
    crs: Any = None,
    name_field: str | None = None,
    layer: str | int | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read study-area polygons (one per county) into EPSG:4326.

    Parameters
    ----------
    path : str, Path or Mapping
        Any vector format (or a table with a WKT column), or a database layer spec
        (``{dsn: ..., table: ...}``, see :mod:`ynps_geo.io.postgis`).
    crs : optional
        Declared system (see :func:`read_points`); Amap-derived boundaries are ``gcj02``.
    name_field : str, optional
        Column holding the county name; default a column named name/NAME/名称/county, else the
        row number as text.
    layer : str or int, optional
        Layer of a multi-layer file.
    encoding : str, optional
        Attribute encoding.

    Returns
    -------
    geopandas.GeoDataFrame
        Column ``county`` (str) first, the other attributes, and (Multi)Polygon geometry.
        ``attrs``: ``repaired_geometries``, ``dropped_null_geometries``.

    Raises
    ------
    ValidationError
        Non-polygon layer, missing ``name_field``, empty names, empty layer.
    """
    path = in_memory(path, what="boundaries") or path
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        gdf, labels, _positions, _spec, _notes, dropped = _load(
            path,
            crs=crs,
            x=None,
            y=None,
            wkt=None,
            layer=layer,
            encoding=encoding,
            role="boundary",
        )
    for w in caught:
        if not (issubclass(w.category, DataQualityWarning) and "no coordinates" in str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    source = gdf.attrs["source"]
    if dropped:
        warnings.warn(
            f"{source}: {dropped} features have no geometry and were dropped. Fix: remove or "
            "repair them in the source",
            DataQualityWarning,
            stacklevel=2,
        )
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    non_poly = ~np.isin(types, (3, 6))
    if non_poly.any():
        kinds = sorted(set(shapely.get_type_id(geoms[non_poly]).tolist()))
        names = {
            0: "Point",
            1: "LineString",
            2: "LinearRing",
            4: "MultiPoint",
            5: "MultiLineString",
            7: "GeometryCollection",
        }
        msg = (
            f"{source}: boundaries must be polygons, found "
            f"{', '.join(names.get(k, str(k)) for k in kinds)} in rows "
            f"{format_list(labels[non_poly])}. Fix: give the county polygon layer"
        )
        raise ValidationError(msg)
    invalid = ~shapely.is_valid(geoms)
    repaired = int(invalid.sum())
    if repaired:
        geoms = geoms.copy()
        for i in np.flatnonzero(invalid):
            fixed = shapely.make_valid(geoms[i])
            parts = [g for g in shapely.get_parts(fixed) if shapely.get_type_id(g) in (3, 6)]
            geoms[i] = shapely.union_all(parts) if parts else None
        warnings.warn(
            f"{source}: {repaired} invalid polygons (e.g. self-intersections) were repaired "
            f"with make_valid (rows {format_list(labels[invalid])}). Fix: repair them in the "
            "source to silence this",
            DataQualityWarning,
            stacklevel=2,
        )
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs="EPSG:4326"))
        gdf = gdf[~gdf.geometry.isna() & ~gdf.geometry.is_empty].reset_index(drop=True)
    col: str | None
    if name_field is not None:
        col = require_column(gdf, name_field, source=source, key="name_field")
        names_s = gdf[col]
    else:
        col = find_column(gdf.columns, ("name", "名称", "county"))
        names_s = (
            gdf[col] if col is not None else pd.Series([str(v) for v in labels], index=gdf.index)
        )
    text = names_s.astype("string").str.strip()
    empty = (text.isna() | (text == "")).to_numpy()
    if empty.any():
        msg = (
            f"{source}: column '{col}' (key `name_field:`) is empty in rows "
            f"{format_list(labels[empty])}. Fix: fill in the names or choose another name_field"
        )
        raise ValidationError(msg)
    others = gdf.drop(columns=[c for c in ("county", gdf.geometry.name) if c in gdf.columns])
    out = gpd.GeoDataFrame(
        {"county": text.astype(str).to_numpy(), **{c: others[c].to_numpy() for c in others}},
        geometry=gdf.geometry.values,
        crs="EPSG:4326",
    )
    out.attrs.update(gdf.attrs)
    out.attrs["repaired_geometries"] = repaired
    out.attrs["dropped_null_geometries"] = dropped
    return out


def _resolve_path(spec: Mapping[str, Any], base_dir: Path | str) -> Path:
    p = Path(str(spec["path"])).expanduser()
    return p if p.is_absolute() else Path(base_dir) / p


def _source(
    spec: Mapping[str, Any], base_dir: Path | str, role: str = "layer"
) -> tuple[Path | Mapping[str, Any] | InMemoryLayer, str, str]:
    """What to read for a layer spec (a file, or a database layer's spec), id stem and name."""
    from ynps_geo.io.postgis import layer_label, layer_stem, spec_is_postgis

    frame = in_memory(spec.get("path"), what=role)
    if frame is not None:
        return frame, frame.stem, frame.label
    if spec_is_postgis(spec):
        return spec, layer_stem(spec), layer_label(spec)
    path = _resolve_path(spec, base_dir)
    return path, path.stem, path.name


def _ids(
    gdf: pd.DataFrame,
    spec: Mapping[str, Any],
    labels: np.ndarray,
    positions: np.ndarray,
    *,
    source: str,
    stem: str,
) -> pd.Series:
    if spec.get("id"):
        col = require_column(gdf, spec["id"], source=source, key="id")
        text = gdf[col].astype("string").str.strip()
        text = (
            text.str.replace(r"\.0$", "", regex=True)
            if not pd.api.types.is_string_dtype(gdf[col].dtype)
            else text
        )
        empty = (text.isna() | (text == "")).to_numpy()
        if empty.any():
            msg = (
                f"{source}: column '{col}' (key `id:`) is empty in rows "
                f"{format_list(labels[empty])}. Fix: fill in the ids, or drop `id:` to number "
                "the rows"
            )
            raise ValidationError(msg)
        ids = pd.Series(text.astype(str).to_numpy(), index=gdf.index)
        check_unique(ids, source=source, column=str(col))
        return ids
    return pd.Series([f"{stem}-{int(n) + 1}" for n in positions], index=gdf.index)


def _names(gdf: pd.DataFrame, spec: Mapping[str, Any], ids: pd.Series, *, source: str) -> pd.Series:
    col: str | None
    if spec.get("name"):
        col = require_column(gdf, spec["name"], source=source, key="name")
    else:
        col = find_column(gdf.columns, NAME_CANDIDATES)
    if col is None:
        return ids.copy()
    text = gdf[col].astype("string").str.strip()
    return text.fillna(pd.Series(ids, index=gdf.index)).astype(str)


def _settings(values: pd.Series, ids: pd.Series, *, source: str, column: str) -> np.ndarray:
    text = values.astype("string").str.strip()
    low = text.str.lower()
    out = np.full(len(values), "", dtype=object)
    out[low.isin(_URBAN).to_numpy(dtype=bool, na_value=False)] = "urban"
    out[low.isin(_RURAL).to_numpy(dtype=bool, na_value=False)] = "rural"
    # NBS urban-rural classification codes: 1xx urban (111 main urban area ... 123), 2xx rural.
    code = low.str.fullmatch(r"1[12]\d").to_numpy(dtype=bool, na_value=False)
    out[code & (out == "")] = "urban"
    code = low.str.fullmatch(r"2[12]0").to_numpy(dtype=bool, na_value=False)
    out[code & (out == "")] = "rural"
    bad = out == ""
    if bad.any():
        seen = pd.unique(text[bad].fillna("<empty>").astype(str))
        msg = (
            f"{source}: column '{column}' (key `setting:`) has values that are neither urban "
            f"nor rural: {format_list(seen)} (e.g. ids {format_list(ids[bad])}). Accepted: "
            "urban/城镇/城市/社区, rural/农村/乡村/村, or NBS urban-rural codes 111-123 / 210-220. "
            "Fix: correct those cells"
        )
        raise ValidationError(msg)
    return out


_SETTING_MAP_VALUES = frozenset({"urban", "rural", "drop"})


def _apply_setting_map(
    gdf: gpd.GeoDataFrame,
    labels: np.ndarray,
    positions: np.ndarray,
    spec: Mapping[str, Any],
    *,
    source: str,
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray, int]:
    """Translate source codes of the setting column; leave out rows mapped to ``drop``.

    ``setting_map`` maps values of the ``setting`` column (compared case-insensitively after
    stripping spaces) to ``urban``, ``rural`` or ``drop`` (also YAML ``null``); values not in
    the map are kept as they are and must then be valid settings. Returns the kept rows, their
    labels and positions, and the count of rows left out.
    """
    mapping = spec.get("setting_map")
    if not isinstance(mapping, Mapping) or not mapping:
        msg = (
            f"{source}: `setting_map:` must map values of the setting column to urban, rural or "
            f"drop, got {mapping!r}. Fix: e.g. setting_map: {{town: urban, village: rural, "
            "locality: drop}"
        )
        raise ConfigError(msg)
    if not spec.get("setting"):
        msg = (
            f"{source}: `setting_map:` needs `setting: <column>` (the column whose values it "
            "maps). Fix: add setting: to the villages entry"
        )
        raise ConfigError(msg)
    table: dict[str, str] = {}
    for key, value in mapping.items():
        target = "drop" if value is None else str(value).strip().lower()
        if target not in _SETTING_MAP_VALUES:
            msg = (
                f"{source}: `setting_map:` maps {key!r} to {value!r}; accepted targets are "
                "urban, rural and drop. Fix: correct that entry"
            )
            raise ConfigError(msg)
        table[str(key).strip().lower()] = target
    col = require_column(gdf, spec["setting"], source=source, key="setting")
    text = gdf[col].astype("string").str.strip()
    mapped = text.str.lower().map(table)
    new = mapped.fillna(text).astype("string")
    drop = (mapped == "drop").to_numpy(dtype=bool, na_value=False)
    out = gdf.copy()
    out[col] = new.to_numpy(dtype=object, na_value=None)
    out.attrs.update(gdf.attrs)
    if drop.any():
        out = out.loc[~drop].reset_index(drop=True)
        out.attrs.update(gdf.attrs)
        if not len(out):
            msg = (
                f"{source}: `setting_map:` drops every one of the {len(gdf)} villages. Fix: map "
                "some values to urban or rural"
            )
            raise ValidationError(msg)
    return out, labels[~drop], positions[~drop], int(drop.sum())


def _population_missing(spec: Mapping[str, Any], *, source: str) -> str | float:
    """The ``population_missing`` policy: ``"error"``, ``"unknown"`` or a default number."""
    value = spec.get("population_missing", "error")
    if isinstance(value, str) and value.strip().lower() in ("error", "unknown"):
        return value.strip().lower()
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number) or number < 0:
        msg = (
            f"{source}: `population_missing: {value!r}` is not accepted. Fix: use error "
            "(default), unknown (empty cells stay unknown) or a non-negative default number"
        )
        raise ConfigError(msg)
    return number


def read_villages(spec: Mapping[str, Any], base_dir: Path | str) -> gpd.GeoDataFrame:
    """Read the village layer described by the ``villages:`` config section.

    Parameters
    ----------
    spec : Mapping
        Keys (see :data:`VILLAGE_KEYS`): ``path`` (relative to ``base_dir``), ``crs``, ``x``,
        ``y``, ``wkt``, ``layer``, ``encoding``, ``id``, ``name``, ``population``, ``setting``
        (column names), and optional ``township``, ``county`` column names.
        ``setting_map`` (optional) maps source codes of the ``setting`` column to ``urban``,
        ``rural`` or ``drop`` (rows left out, counted in ``attrs["dropped_by_setting_map"]``),
        e.g. OSM ``place`` values ``{town: urban, village: rural, locality: drop}``.
        ``population_missing`` (optional) says what an empty population cell means:
        ``error`` (default: it is an error), ``unknown`` (the village is kept with population
        NaN: it counts as a village but adds nobody to population sums) or a non-negative
        number (the default population of such villages). ``attrs["population_missing"]``
        counts the empty cells.
    base_dir : Path
        Folder of the config file.

    Returns
    -------
    geopandas.GeoDataFrame
        ``village_id`` (str; ``<file stem>-<row>`` when no ``id``), ``name`` (str),
        ``population`` (float; NaN when no ``population`` key), ``setting`` ('urban' or
        'rural'; 'rural' when no ``setting`` key), [``township``, ``county``], point geometry
        in EPSG:4326.

    Raises
    ------
    ConfigError
        Unknown keys or no ``path``.
    ValidationError
        Duplicate ids, negative or missing population, unknown setting values, plus the
        errors of :func:`read_points`.
    """
    check_config_keys(spec, VILLAGE_KEYS, what="villages")
    path, stem, _shown = _source(spec, base_dir, "villages")
    gdf, labels, positions = _read_spec_points(path, spec, role="villages")
    source = gdf.attrs["source"]
    missing_policy = _population_missing(spec, source=source)
    n_mapped_out = 0
    if spec.get("setting_map") is not None:
        gdf, labels, positions, n_mapped_out = _apply_setting_map(
            gdf, labels, positions, spec, source=source
        )
    ids = _ids(gdf, spec, labels, positions, source=source, stem=stem)
    names = _names(gdf, spec, ids, source=source)
    n_missing = 0
    if spec.get("population"):
        col = require_column(gdf, spec["population"], source=source, key="population")
        pop = to_float(gdf[col], source=source, column=str(col), labels=list(ids))
        check_population(pop, list(ids), source=source, column=str(col))
        check_non_negative(
            pop, list(ids), source=source, column=str(col), allow_missing=missing_policy != "error"
        )
        n_missing = int(pop.isna().sum())
        if isinstance(missing_policy, float):
            pop = pop.fillna(missing_policy)
    else:
        pop = pd.Series(np.nan, index=gdf.index)
    if spec.get("setting"):
        col = require_column(gdf, spec["setting"], source=source, key="setting")
        setting = _settings(gdf[col], ids, source=source, column=str(col))
    else:
        setting = np.full(len(gdf), "rural", dtype=object)
    data: dict[str, Any] = {
        "village_id": ids.to_numpy(dtype=object),
        "name": names.to_numpy(dtype=object),
        "population": pop.to_numpy(dtype=float),
        "setting": setting,
    }
    for key in ("township", "county"):
        if spec.get(key):
            col = require_column(gdf, spec[key], source=source, key=key)
            data[key] = gdf[col].astype("string").str.strip().astype(object).to_numpy()
    out = gpd.GeoDataFrame(data, geometry=gdf.geometry.values, crs="EPSG:4326")
    out.attrs.update(gdf.attrs)
    out.attrs["dropped_by_setting_map"] = n_mapped_out
    out.attrs["population_missing"] = n_missing
    return out


def _parse_other_tags(text: Any) -> dict[str, str]:
    if not isinstance(text, str) or not text:
        return {}
    return dict(re.findall(r'"([^"]+)"=>"((?:[^"\\]|\\.)*)"', text))


def _classify_rows(
    gdf: pd.DataFrame, spec: Mapping[str, Any], *, source: str
) -> tuple[list[FacilityClass | None], list[str]]:
    n = len(gdf)
    if spec.get("category") is not None and spec.get("category_field") is not None:
        msg = (
            f"{source}: give either `category:` (one type for the whole layer) or "
            "`category_field:` (a column of types), not both. Fix: remove one"
        )
        raise ConfigError(msg)
    if spec.get("category") is not None:
        value = str(spec["category"])
        fc = classify_type(value)
        if fc is None:
            msg = (
                f"{source}: `category: {value}` is not a known facility type. Fix: use one of "
                "health, school, kindergarten, childcare, eldercare, culture, fitness, or a "
                "subtype such as village_clinic, township_health_centre, primary_school, "
                "culture_station (Chinese names such as 卫生院, 小学 work too)"
            )
            raise ConfigError(msg)
        return [fc] * n, [value] * n
    if spec.get("category_field") is not None:
        col = require_column(gdf, spec["category_field"], source=source, key="category_field")
        raw = gdf[col].astype("string").str.strip().fillna("").astype(str)
        cache = {v: classify_type(v) for v in pd.unique(raw)}
        return [cache[v] for v in raw], list(raw)
    if spec.get("osm_tags"):
        cols = {k: find_column(gdf.columns, [k]) for k in (*_OSM_KEYS, "name")}
        cols = {k: c for k, c in cols.items() if c is not None}
        other = find_column(gdf.columns, ["other_tags"])
        if not cols and other is None:
            msg = (
                f"{source}: `osm_tags: true` but the layer has none of the OSM columns "
                f"{', '.join(_OSM_KEYS)} or other_tags. Fix: use `category_field:` instead"
            )
            raise ValidationError(msg)
        table = pd.DataFrame(
            {k: gdf[c].astype("string").fillna("").astype(str) for k, c in cols.items()},
            index=gdf.index,
        )
        if other is not None:
            table["other_tags"] = gdf[other].astype("string").fillna("").astype(str)
        keys = list(table.columns)
        records = list(table.itertuples(index=False, name=None))
        classes: list[FacilityClass | None] = []
        raws: list[str] = []
        cache2: dict[tuple[str, ...], tuple[FacilityClass | None, str]] = {}
        for rec in records:
            hit = cache2.get(rec)
            if hit is None:
                tags = {k: v for k, v in zip(keys, rec, strict=True) if v and k != "other_tags"}
                if "other_tags" in keys:
                    for k, v in _parse_other_tags(rec[keys.index("other_tags")]).items():
                        tags.setdefault(k, v)
                raw = ""
                for k in _OSM_TYPE_KEYS:
                    if tags.get(k):
                        raw = tags[k] if k == "fclass" else f"{k}={tags[k]}"
                        break
                hit = (classify_osm(tags), raw)
                cache2[rec] = hit
            classes.append(hit[0])
            raws.append(hit[1])
        return classes, raws
    msg = (
        f"{source}: the facility layer has no type. Fix: add `category: <type>` (one type for "
        "the whole layer), `category_field: <column>` (a type per row) or `osm_tags: true`"
    )
    raise ConfigError(msg)


def _refine_by_name(classes: list[FacilityClass | None], names: pd.Series) -> dict[str, int]:
    """Give rows of a coarse category (``health``, ``eldercare``...) the finer type their name
    states (某某县人民医院 -> hospital, 某某乡卫生院 -> township_health_centre, 某某养老院 ->
    elder_care_institution), in place, when the name's type is of the same category.

    Returns ``{"health -> hospital": rows, ...}`` for the notes.
    """
    counts: Counter[str] = Counter()
    cache: dict[str, FacilityClass | None] = {}
    for i, c in enumerate(classes):
        if c is None or c.subtype != c.category:
            continue
        name = str(names.iat[i]).strip()
        if not name or name.isascii():
            continue
        if name not in cache:
            cache[name] = classify_type(name)
        fine = cache[name]
        if fine is not None and fine.category == c.category and fine.subtype != c.subtype:
            classes[i] = fine
            counts[f"{c.category} -> {fine.subtype}"] += 1
    return dict(counts.most_common())


def read_facilities(spec: Mapping[str, Any], base_dir: Path | str) -> gpd.GeoDataFrame:
    """Read one facility layer described by a ``facilities:`` config entry.

    Parameters
    ----------
    spec : Mapping
        Keys (see :data:`FACILITY_KEYS`): ``path``, ``crs``, ``x``, ``y``, ``wkt``, ``layer``,
        ``encoding``, ``id``, ``name``; one of ``category`` (one type for the layer),
        ``category_field`` (a column of types, classified by
        :func:`ynps_geo.model.facilities.classify_type`) or ``osm_tags: true`` (classify OSM
        tag columns or a Geofabrik ``fclass``); optional ``capacity`` mapping of
        :data:`CAPACITY_FIELDS` to column names (``{beds: 床位数}``).
    base_dir : Path
        Folder of the config file.

    Returns
    -------
    geopandas.GeoDataFrame
        ``facility_id`` (str; ``<file stem>-<row>`` when no ``id``), ``name``, ``category``,
        ``subtype``, ``type_raw``, ``source`` (file name), capacity columns present (float),
        point geometry in EPSG:4326. ``attrs["unknown_types"]``: ``{type value: rows}`` of the
        rows dropped because their type is not a plan facility; ``attrs["refined_by_name"]``:
        ``{"health -> hospital": rows}`` of rows of a coarse category whose finer type was
        taken from their (Chinese) name.

    Raises
    ------
    ConfigError
        Unknown keys, no type given, unknown ``category``, bad ``capacity``.
    ValidationError
        Duplicate ids, negative capacities, plus the errors of :func:`read_points`.

    Warns
    -----
    DataQualityWarning
        Rows of unknown type dropped (with counts per value), rows without coordinates.
    """
    check_config_keys(spec, FACILITY_KEYS, what="facilities")
    path, stem, shown = _source(spec, base_dir, "facilities")
    cap_spec = spec.get("capacity") or {}
    if not isinstance(cap_spec, Mapping) or any(k not in CAPACITY_FIELDS for k in cap_spec):
        msg = (
            f"{shown}: `capacity:` must map {', '.join(CAPACITY_FIELDS)} to column names, "
            f"got {cap_spec!r}. Fix: e.g. capacity: {{beds: 床位数}}"
        )
        raise ConfigError(msg)
    gdf, labels, positions = _read_spec_points(path, spec, role="facilities")
    source = gdf.attrs["source"]
    ids = _ids(gdf, spec, labels, positions, source=source, stem=stem)
    names = _names(gdf, spec, ids, source=source)
    classes, raws = _classify_rows(gdf, spec, source=source)
    refined = _refine_by_name(classes, names)
    known = np.array([c is not None for c in classes], dtype=bool)
    unknown = Counter(
        r if r else "<empty>" for r, c in zip(raws, classes, strict=True) if c is None
    )
    data: dict[str, Any] = {
        "facility_id": ids.to_numpy(dtype=object),
        "name": names.to_numpy(dtype=object),
        "category": np.array([c.category if c else None for c in classes], dtype=object),
        "subtype": np.array([c.subtype if c else None for c in classes], dtype=object),
        "type_raw": np.array(raws, dtype=object),
        "source": np.full(len(gdf), source, dtype=object),
    }
    for field in CAPACITY_FIELDS:
        col_name = cap_spec.get(field)
        col: str | None
        if col_name is not None:
            col = require_column(gdf, col_name, source=source, key=f"capacity: {field}")
        else:
            col = find_column(gdf.columns, [field])
        if col is None:
            continue
        values = to_float(gdf[col], source=source, column=str(col), labels=list(ids))
        check_non_negative(values, list(ids), source=source, column=str(col), allow_missing=True)
        data[field] = values.to_numpy(dtype=float)
    out = gpd.GeoDataFrame(data, geometry=gdf.geometry.values, crs="EPSG:4326")
    out = out.loc[known].reset_index(drop=True)
    out.attrs.update(gdf.attrs)
    out.attrs["unknown_types"] = dict(unknown.most_common())
    out.attrs["refined_by_name"] = refined
    if unknown:
        counts = format_list((f"{k!r}: {v}" for k, v in unknown.most_common()), 10)
        warnings.warn(
            f"{source}: {sum(unknown.values())} of {len(gdf)} facilities have a type that is not "
            f"a plan facility and were left out ({counts}). Fix: if some are facilities, rename "
            "their type (e.g. 卫生院, village_clinic) or give the layer `category:`",
            DataQualityWarning,
            stacklevel=2,
        )
    return out


# --------------------------------------------------------------------------------------------
# Study-area checks
# --------------------------------------------------------------------------------------------


def _area_geometry(boundary: Any) -> Any:
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if boundary.crs is not None and boundary.crs.to_epsg() != 4326:
            boundary = boundary.to_crs(4326)
        geoms = np.asarray(
            boundary.geometry.values if isinstance(boundary, gpd.GeoDataFrame) else boundary.values,
            dtype=object,
        )
        return shapely.union_all(geoms)
    return boundary


def _id_labels(gdf: pd.DataFrame) -> np.ndarray:
    for col in ("facility_id", "village_id", "id"):
        if col in gdf.columns:
            return gdf[col].astype(str).to_numpy()
    return np.asarray(gdf.index.astype(str))


def _metric_buffer(area: Any, margin_m: float) -> Any:
    c = area.centroid
    epsg = utm_epsg(c.x, c.y)
    s = gpd.GeoSeries([area], crs="EPSG:4326").to_crs(epsg).buffer(margin_m)
    return s.to_crs(4326).iloc[0]


def check_within(
    gdf: gpd.GeoDataFrame,
    boundary: Any,
    *,
    what: str,
    margin_m: float = 0.0,
    drop: bool = False,
) -> gpd.GeoDataFrame:
    """Report points outside the study area, and keep or drop them.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Points in EPSG:4326 (ids taken from ``facility_id``/``village_id`` when present).
    boundary : GeoDataFrame, GeoSeries or shapely geometry
        The study area (unioned); EPSG:4326 unless it says otherwise.
    what : str
        What the points are, for the message (``"facilities"``).
    margin_m : float
        Points within this distance outside the boundary count as inside.
    drop : bool
        Drop the outside points (``True``) or keep them (``False``, default).

    Returns
    -------
    geopandas.GeoDataFrame
        ``gdf`` (a copy without the outside points when ``drop``), with
        ``attrs["outside_study_area"]`` = count.

    Warns
    -----
    DataQualityWarning
        With the count and the first ids, when any point is outside.
    """
    area = _area_geometry(boundary)
    if margin_m > 0:
        area = _metric_buffer(area, margin_m)
    shapely.prepare(area)
    inside = shapely.covers(area, np.asarray(gdf.geometry.values, dtype=object))
    outside = ~inside
    n_out = int(outside.sum())
    out = gdf.loc[inside].copy() if (drop and n_out) else gdf.copy()
    out.attrs.update(gdf.attrs)
    out.attrs["outside_study_area"] = n_out
    if n_out:
        ids = format_list(_id_labels(gdf)[outside], 8)
        action = "dropped" if drop else "kept (set drop to leave them out)"
        margin = f" by more than {margin_m:g} m" if margin_m > 0 else ""
        warnings.warn(
            f"{n_out} of {len(gdf)} {what} lie outside the study area{margin}: {ids}; they were "
            f"{action}. Fix: check their coordinates and declared crs",
            DataQualityWarning,
            stacklevel=2,
        )
    return out


def warn_if_gcj_offset(points: gpd.GeoDataFrame, boundary: Any) -> dict[str, Any]:
    """Warn when a layer declared WGS84 looks like GCJ-02 (Amap) coordinates.

    Two signs: many of the points outside the boundary are outside by only 100-700 m (the size
    of the GCJ-02 offset in China), or reading the points as GCJ-02 brings noticeably more of
    them inside. Only layers whose ``attrs["declared_crs"]`` is WGS84/CGCS2000 (or unknown)
    are checked.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Points in EPSG:4326, as returned by the readers.
    boundary : GeoDataFrame, GeoSeries or shapely geometry
        The study area in EPSG:4326.

    Returns
    -------
    dict
        ``checked`` (bool), ``n``, ``inside``, ``inside_if_gcj02``, ``near_outside`` (outside by
        100-700 m) and ``warned`` (bool).
    """
    result: dict[str, Any] = {
        "checked": False,
        "n": len(points),
        "inside": 0,
        "inside_if_gcj02": 0,
        "near_outside": 0,
        "warned": False,
    }
    declared = str(points.attrs.get("declared_crs", "wgs84")).lower()
    if declared not in ("wgs84", "cgcs2000", "epsg:4326", "epsg:4490") or len(points) == 0:
        return result
    area = _area_geometry(boundary)
    shapely.prepare(area)
    geoms = np.asarray(points.geometry.values, dtype=object)
    xy = shapely.get_coordinates(geoms)
    if len(xy) != len(geoms):
        geoms = shapely.point_on_surface(geoms)
        xy = shapely.get_coordinates(geoms)
    inside = shapely.covers(area, geoms)
    lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
    inside_gcj = shapely.covers(area, shapely.points(lon, lat))
    near = 0
    outside = ~inside
    if outside.any():
        c = area.centroid
        epsg = utm_epsg(c.x, c.y)
        area_m = gpd.GeoSeries([area], crs="EPSG:4326").to_crs(epsg).iloc[0]
        pts_m = gpd.GeoSeries(geoms[outside], crs="EPSG:4326").to_crs(epsg)
        dist = shapely.distance(area_m.boundary, np.asarray(pts_m.values, dtype=object))
        near = int(((dist >= 100) & (dist <= 700)).sum())
    n = len(points)
    n_in, n_in_gcj, n_out = int(inside.sum()), int(inside_gcj.sum()), int(outside.sum())
    result.update(checked=True, inside=n_in, inside_if_gcj02=n_in_gcj, near_outside=near)
    gain = n_in_gcj - n_in
    if (n_out >= 3 and near >= 0.5 * n_out and near >= 0.02 * n) or (gain >= max(3, 0.02 * n)):
        source = points.attrs.get("source", "the layer")
        warnings.warn(
            f"{source}: declared {declared} but {near} of its {n_out} points outside the study "
            f"area are only 100-700 m outside, and reading it as GCJ-02 puts {n_in_gcj} instead "
            f"of {n_in} of {n} inside. The coordinates may be GCJ-02 (copied from Amap/Tencent). "
            "Fix: if so, declare crs: gcj02",
            DataQualityWarning,
            stacklevel=2,
        )
        result["warned"] = True
    return result


def warn_if_gcj_offset_roads(points: gpd.GeoDataFrame, roads: Any) -> dict[str, Any]:
    """Warn when a layer declared WGS84 sits off the road network as GCJ-02 data would.

    Facilities and villages lie on or near roads. When a register's coordinates were copied
    from Amap/Tencent (GCJ-02) but declared ``wgs84``, its points sit systematically 300-600 m
    off the roads in one direction, and the GCJ-02 inverse brings them back. The test: among
    the points within the road network's extent, the median distance to the nearest road
    segment as declared (``d_declared``) and after the GCJ-02 inverse (``d_inverse``); a warning
    when at least 8 points are compared, 65% of them come closer, and the median distance
    falls by at least 100 m and to at most 60%. It cannot tell where roads are dense (spacing
    below the ~400 m offset: a shifted point is near another road) or where the layer's points
    are not near roads at all; see the README.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Points in EPSG:4326, as returned by the readers (``attrs["declared_crs"]``).
    roads : RoadNetwork-like
        Node arrays ``lon``, ``lat`` and edge arrays ``u``, ``v`` (EPSG:4326).

    Returns
    -------
    dict
        ``checked``, ``n`` (points compared), ``d_declared``, ``d_inverse`` (median metres),
        ``closer`` (share of points closer after the inverse), ``shift_m`` (median size of
        the inverse's move), ``direction`` and ``warned``.
    """
    out: dict[str, Any] = {"checked": False, "n": 0, "warned": False}
    declared = str(points.attrs.get("declared_crs", "wgs84")).lower()
    if declared not in ("wgs84", "cgcs2000", "epsg:4326", "epsg:4490") or len(points) < 8:
        return out
    try:
        rlon, rlat = np.asarray(roads.lon, float), np.asarray(roads.lat, float)
        u, v = np.asarray(roads.u, np.int64), np.asarray(roads.v, np.int64)
    except AttributeError:
        return out
    if len(u) == 0:
        return out
    geoms = np.asarray(points.geometry.values, dtype=object)
    geoms = np.where(shapely.get_type_id(geoms) == 0, geoms, shapely.point_on_surface(geoms))
    xy = shapely.get_coordinates(geoms)
    if len(xy) != len(geoms):
        return out
    x0, x1, y0, y1 = rlon.min(), rlon.max(), rlat.min(), rlat.max()
    sel = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    if sel.sum() < 8:
        return out
    lon, lat = xy[sel, 0], xy[sel, 1]
    ilon, ilat = gcj02_to_wgs84(lon, lat)
    pad = 0.02
    near = (
        (rlon >= lon.min() - pad)
        & (rlon <= lon.max() + pad)
        & (rlat >= lat.min() - pad)
        & (rlat <= lat.max() + pad)
    )
    keep = near[u] | near[v]
    if not keep.any():
        return out
    from pyproj import Transformer

    epsg = utm_epsg(float(np.median(lon)), float(np.median(lat)))
    fwd = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    nx, ny = fwd.transform(rlon, rlat)
    nx, ny = np.asarray(nx), np.asarray(ny)
    uu, vv = u[keep], v[keep]
    ends = np.stack([np.c_[nx[uu], ny[uu]], np.c_[nx[vv], ny[vv]]], axis=1)
    tree = shapely.STRtree(shapely.linestrings(ends))
    px, py = (np.asarray(a) for a in fwd.transform(lon, lat))
    qx, qy = (np.asarray(a) for a in fwd.transform(ilon, ilat))
    _, d0 = tree.query_nearest(shapely.points(px, py), return_distance=True, all_matches=False)
    _, d1 = tree.query_nearest(shapely.points(qx, qy), return_distance=True, all_matches=False)
    m0, m1 = float(np.median(d0)), float(np.median(d1))
    closer = float(np.mean(d1 < d0))
    dx, dy = float(np.median(qx - px)), float(np.median(qy - py))
    shift = float(np.median(np.hypot(qx - px, qy - py)))
    bearing = (np.degrees(np.arctan2(dx, dy)) + 360.0) % 360.0
    direction = ("north", "north-east", "east", "south-east", "south", "south-west", "west",
                 "north-west")[int((bearing + 22.5) // 45) % 8]  # fmt: skip
    out.update(
        checked=True,
        n=len(d0),
        d_declared=m0,
        d_inverse=m1,
        closer=closer,
        shift_m=shift,
        direction=direction,
    )
    if closer >= 0.65 and m0 - m1 >= 100.0 and m1 <= 0.6 * m0:
        source = points.attrs.get("source", "the layer")
        msg = (
            f"{source}: declared {declared}, but its points sit a median {m0:.0f} m from the "
            f"nearest road, and {m1:.0f} m after the GCJ-02 inverse ({closer:.0%} of {len(d0)} "
            f"points come closer); that inverse moves them about {shift:.0f} m {direction}, the "
            "systematic offset of GCJ-02 (Amap/Tencent) coordinates. Fix: if they were copied "
            "from Amap or Tencent, declare crs: gcj02 for this layer"
        )
        warnings.warn(msg, DataQualityWarning, stacklevel=2)
        out["warned"] = True
        out["message"] = msg
    return out


# --------------------------------------------------------------------------------------------
# Administrative codes
# --------------------------------------------------------------------------------------------


def _code_table(table: pd.DataFrame | str | Path, what: str) -> pd.Series:
    df = table if isinstance(table, pd.DataFrame) else read_table(table, dtype=str)
    source = what if isinstance(table, pd.DataFrame) else Path(table).name
    code = find_column(df.columns, ("code", "代码", "区划代码", "adcode"))
    name = find_column(df.columns, ("name", "名称"))
    if code is None or name is None:
        msg = (
            f"{source}: the {what} table needs columns code and name, found "
            f"{', '.join(map(str, df.columns))}. Fix: rename them"
        )
        raise ValidationError(msg)
    codes = _normalise_codes(df[code])
    return pd.Series(df[name].astype(str).to_numpy(), index=codes.to_numpy())


def _normalise_codes(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.replace(r"\.0+$", "", regex=True)
    return text.fillna("")


def attach_admin_names(
    df: pd.DataFrame,
    code_field: str,
    townships: pd.DataFrame | str | Path,
    counties: pd.DataFrame | str | Path,
) -> pd.DataFrame:
    """Add township and county names from NBS division codes.

    A 12-digit village code starts with its 9-digit township code, which starts with the
    6-digit county code (NBS 统计用区划代码).

    Parameters
    ----------
    df : pandas.DataFrame
        Rows with a 12-digit (village) or 9-digit (township) code column.
    code_field : str
        That column.
    townships, counties : DataFrame or path
        Tables with ``code`` and ``name`` columns (as in the NBS 2023 files).

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with ``township_code``, ``township``, ``county_code``, ``county``
        (names NaN where the code is not found; ``attrs["unmatched_codes"]`` counts them).

    Raises
    ------
    ValidationError
        Missing code column, codes that are not 9 or 12 digits.

    Warns
    -----
    DataQualityWarning
        When some codes match no township or county.
    """
    source = df.attrs.get("source", "table")
    col = require_column(df, code_field, source=source, key="code_field")
    codes = _normalise_codes(df[col])
    bad = ~codes.str.fullmatch(r"\d{9}|\d{12}").to_numpy(dtype=bool, na_value=False)
    if bad.any():
        ex = format_list(pd.unique(codes[bad].replace("", "<empty>")))
        msg = (
            f"{source}: column '{col}' must hold 12-digit village or 9-digit township codes, "
            f"found {ex}. Fix: correct those codes or choose another column"
        )
        raise ValidationError(msg)
    towns = _code_table(townships, "townships")
    ctys = _code_table(counties, "counties")
    out = df.copy()
    out["township_code"] = codes.str.slice(0, 9).to_numpy()
    out["township"] = out["township_code"].map(towns)
    out["county_code"] = codes.str.slice(0, 6).to_numpy()
    out["county"] = out["county_code"].map(ctys)
    unmatched = int(out["township"].isna().sum() + out["county"].isna().sum())
    out.attrs["unmatched_codes"] = unmatched
    if unmatched:
        missing = pd.unique(
            pd.concat(
                [
                    out.loc[out["township"].isna(), "township_code"],
                    out.loc[out["county"].isna(), "county_code"],
                ]
            )
        )
        warnings.warn(
            f"{source}: {unmatched} codes in '{col}' match no township or county "
            f"({format_list(missing)}). Fix: check the codes' year against the tables",
            DataQualityWarning,
            stacklevel=2,
        )
    return out


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or Path
        The final file. Its folder is created if needed.

    Yields
    ------
    Path
        A temporary file in the same folder with the same suffix (so writers that choose the
        format by extension work). On an exception it is deleted and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.tmp{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


@dataclass(frozen=True)
class LayerStyle:
    """A QGIS style stored in a GeoPackage (a row of its ``layer_styles`` table).

    Attributes
    ----------
    name : str
        The style's name in QGIS (*Layer Properties -> Style*).
    qml : str
        The style as QGIS QML (XML).
    default : bool
        Whether QGIS applies it when the layer is added (one per layer).
    description : str
    """

    name: str
    qml: str
    default: bool = False
    description: str = ""


_LAYER_STYLES_DDL = """CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    f_table_catalog TEXT(256),
    f_table_schema TEXT(256),
    f_table_name TEXT(256),
    f_geometry_column TEXT(256),
    styleName TEXT(30),
    styleQML TEXT,
    styleSLD TEXT,
    useAsDefault BOOLEAN,
    description TEXT,
    owner TEXT(30),
    ui TEXT(30),
    update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)"""


def write_layer_styles(
    path: str | Path, layer: str, styles: Sequence[LayerStyle], *, durable: bool = True
) -> None:
    """Store QGIS styles of ``layer`` in the GeoPackage ``path`` (table ``layer_styles``).

    The table is the one QGIS and GDAL use: QGIS applies the row with ``useAsDefault`` when
    the layer is opened and lists the others under *Layer Properties -> Style*. Styles of the
    layer already stored are replaced; those of other layers are kept. The table is registered
    in ``gpkg_contents`` as attributes, as QGIS does. Writes in place: call it on a temporary
    copy (as :func:`write_layer` does) to keep the file's update atomic.

    Parameters
    ----------
    path : str or Path
        The GeoPackage.
    layer : str
        The layer styled.
    styles : sequence of LayerStyle
        The styles (the one with ``default`` is applied when QGIS opens the layer).
    durable : bool
        ``True``: SQLite's rollback journal and its flushes to disk (``fsync``) protect the
        file against a crash while it is written. ``False`` for a temporary copy that is
        renamed into place afterwards (:func:`write_layer`): the journal is kept in memory and
        nothing is flushed, which takes ~1 ms instead of ~40 ms a file; the file written is
        the same.

    Raises
    ------
    DataSourceError
        When the file is not a GeoPackage holding ``layer``.
    """
    target = Path(path)
    try:
        con = sqlite3.connect(target)
        try:
            if not durable:
                con.execute("PRAGMA journal_mode=MEMORY")
                con.execute("PRAGMA synchronous=OFF")
            cur = con.cursor()
            row = cur.execute(
                "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
            ).fetchone()
            if row is None:
                msg = f"{target}: no layer {layer!r} with geometry to style"
                raise DataSourceError(msg)
            cur.execute(_LAYER_STYLES_DDL)
            cur.execute(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
                "description, last_change) VALUES ('layer_styles', 'attributes', "
                "'layer_styles', 'QGIS layer styles', strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
            )
            cur.execute("DELETE FROM layer_styles WHERE f_table_name = ?", (layer,))
            cur.executemany(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui) VALUES ('', '', ?, ?, ?, ?, '', ?, ?, 'ynps_geo', '')",
                [(layer, row[0], s.name, s.qml, int(s.default), s.description) for s in styles],
            )
            con.commit()
        finally:
            con.close()
    except sqlite3.Error as err:
        msg = f"cannot write QGIS styles into {target}: {err}. Fix: check it is a GeoPackage"
        raise DataSourceError(msg) from err


def write_layer(
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    layer: str | None = None,
    *,
    styles: Sequence[LayerStyle] = (),
) -> Path:
    """Write a GeoDataFrame atomically.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer.
    path : str or Path
        ``.gpkg`` (other layers of an existing GeoPackage are kept), ``.parquet`` /
        ``.geoparquet`` (GeoParquet), ``.geojson`` / ``.json``, or ``.csv`` (geometry as WKT
        in column ``geometry``, UTF-8 with BOM so that Excel shows Chinese correctly).
    layer : str, optional
        GeoPackage layer name; default the file stem.
    styles : sequence of LayerStyle
        QGIS styles of the layer, stored in the GeoPackage's ``layer_styles`` table (see
        :func:`write_layer_styles`); ``.gpkg`` only.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValidationError
        Unsupported extension.
    DataSourceError
        When writing fails.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".gpkg", ".parquet", ".geoparquet", ".geojson", ".json", ".csv"):
        msg = (
            f"cannot write {target.name}: unsupported extension {suffix!r}. Fix: use .gpkg, "
            ".parquet, .geojson or .csv"
        )
        raise ValidationError(msg)
    frame = gdf.copy()
    frame.attrs = {}
    try:
        with atomic_write(target) as tmp:
            if suffix == ".gpkg":
                if target.exists():
                    shutil.copy2(target, tmp)
                frame.to_file(tmp, layer=layer or target.stem, driver="GPKG", engine="pyogrio")
                if styles:
                    # a temporary file, renamed into place: no journal on disk, no fsync
                    write_layer_styles(tmp, layer or target.stem, styles, durable=False)
            elif suffix in (".parquet", ".geoparquet"):
                require("pyarrow", "writing GeoParquet")
                frame.to_parquet(tmp)
            elif suffix in (".geojson", ".json"):
                frame.to_file(tmp, driver="GeoJSON", engine="pyogrio")
            else:
                table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
                table["geometry"] = shapely.to_wkt(np.asarray(frame.geometry.values, dtype=object))
                table.to_csv(tmp, index=False, encoding="utf-8-sig")
    except OSError as err:
        if isinstance(err, DataSourceError):
            raise
        msg = f"cannot write {target}: {err}. Fix: check the folder exists and is writable"
        raise DataSourceError(msg) from err
    return target
