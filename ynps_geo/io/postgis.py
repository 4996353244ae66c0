"""PostGIS as an optional data source (facilities, villages, boundaries) and sink (results).

Needs the optional driver psycopg 3 (``pip install 'ynps-geo[postgis]'``); the module itself
imports without it, so :func:`spec_is_postgis` and :func:`redact_dsn` always work.

Reading
-------
A layer whose ``path`` is a PostgreSQL URL, or that has ``dsn:``, is read from the database::

    villages:
      dsn: postgresql://ynps@db.intranet:5432/registers   # or path: postgresql://...
      table: civil.villages          # [schema.]table; or sql: SELECT ... (not both)
      geom_col: geom                 # default geom
      crs: cgcs2000                  # only needed when the column has SRID 0 (or to say gcj02)
      id: code
      population: pop_2023

Keep the password out of the config: libpq reads it from ``PGPASSWORD`` or ``~/.pgpass``.
Messages never show it (:func:`redact_dsn`).

The coordinate system is the column's SRID (``spatial_ref_sys``), reprojected to EPSG:4326.
SRID 0 means "unknown": then ``crs:`` must be declared. As for files, a declared ``gcj02`` or
``bd09`` wins over SRID 4326 (Amap POIs are routinely stored as 4326). A table without a
geometry column, or a layer with ``x:``/``y:``/``wkt:``, is read like a CSV table (lon/lat
columns, ``crs:`` required).

Table names are parsed into quoted identifiers (``schema.table``; ``"Odd.Name"`` in double
quotes); only the explicit ``sql:`` option is sent to the server as written, in a read-only
transaction.

Writing
-------
:func:`write_postgis` and :func:`write_postgis_tables` load frames into a temporary table and,
in the same transaction, drop the old table and rename the new one into place, so readers see
either the old or the new table, never a half-written one. Privileges granted on the old table
are granted again on the new one.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ynps_geo.errors import ConfigError, CRSError, DataSourceError, ValidationError, require

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "POSTGIS_KEYS",
    "check_layer_spec",
    "describe_layer",
    "layer_fingerprint",
    "layer_label",
    "layer_stem",
    "load_layer_from_postgis",
    "parse_table_name",
    "read_postgis",
    "redact_dsn",
    "spec_is_postgis",
    "write_postgis",
    "write_postgis_tables",
]

#: Config keys a database layer adds to a layer entry (``path:`` may hold the DSN instead).
POSTGIS_KEYS = frozenset({"dsn", "table", "sql", "geom_col"})
#: Seconds to wait for the server before giving up, unless the DSN sets ``connect_timeout``.
CONNECT_TIMEOUT_S = 10
IF_EXISTS = ("replace", "fail", "append")

_SCHEMES = ("postgresql://", "postgres://")
_MAX_IDENT_BYTES = 63
_FIX_CONNECT = (
    "Fix: check the host, port and database name, that the server is running and accepts "
    "connections from this machine (pg_hba.conf), and the user's password (give it in "
    "PGPASSWORD or ~/.pgpass, not in the config)"
)


# --------------------------------------------------------------------------------------------
# Specs, names and DSNs (no driver needed)
# --------------------------------------------------------------------------------------------


def _is_url(text: Any) -> bool:
    return isinstance(text, str) and text.strip().lower().startswith(_SCHEMES)


def spec_is_postgis(spec: Any) -> bool:
    """Whether a layer spec names a database layer.

    Parameters
    ----------
    spec : Mapping or str
        A layer entry of the config (or its bare ``path``).

    Returns
    -------
    bool
        True when ``path`` starts with ``postgresql://`` or ``postgres://``, or ``dsn`` is set.
    """
    if isinstance(spec, str):
        return _is_url(spec)
    if not isinstance(spec, Mapping):
        return False
    return bool(spec.get("dsn")) or _is_url(spec.get("path"))


def redact_dsn(dsn: str) -> str:
    """A DSN without its password, for messages and reports.

    Parameters
    ----------
    dsn : str
        ``postgresql://user:password@host:port/db?...`` or ``host=... password=...``.

    Returns
    -------
    str
        The URL without ``:password`` (and without a ``password=`` query parameter), or the
        keyword form with ``password=***``.
    """
    text = str(dsn).strip()
    if _is_url(text):
        try:
            parts = urlsplit(text)
        except ValueError:
            return re.sub(r"(://[^/@]*?):[^/]*@", r"\1@", text)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, hostinfo = netloc.rsplit("@", 1)
            netloc = f"{userinfo.split(':', 1)[0]}@{hostinfo}"
        query = "&".join(
            q for q in parts.query.split("&") if q and not q.lower().startswith("password=")
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", text, flags=re.I)


def _passwords(dsn: str) -> list[str]:
    """Password strings of a DSN in every form they may be echoed in."""
    found: list[str] = []
    text = str(dsn)
    if _is_url(text):
        with contextlib.suppress(ValueError):
            netloc = urlsplit(text).netloc
            if "@" in netloc and ":" in netloc.rsplit("@", 1)[0]:
                found.append(netloc.rsplit("@", 1)[0].split(":", 1)[1])
        found += re.findall(r"[?&]password=([^&#]*)", text, flags=re.I)
    else:
        for raw in re.findall(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", text, flags=re.I):
            found += [raw, raw.strip("'")]
    found += [unquote(p) for p in found]
    return sorted({p for p in found if p}, key=len, reverse=True)


def _scrub(message: str, dsn: str) -> str:
    for pw in _passwords(dsn):
        message = message.replace(pw, "***")
    return message


def parse_table_name(name: str) -> tuple[str | None, str]:
    """Split ``[schema.]table`` into its identifiers.

    Parameters
    ----------
    name : str
        ``villages``, ``civil.villages`` or, for names holding dots or quotes, double-quoted
        parts: ``"My Schema"."villages.2023"`` (``""`` is a literal quote inside).

    Returns
    -------
    (str or None, str)
        Schema (None when not given: the server's search_path decides) and table, unquoted.
        They are sent to the server as quoted identifiers, never as SQL text.

    Raises
    ------
    ValidationError
        Empty parts, more than two parts, unbalanced quotes, names over 63 bytes.
    """
    text = str(name).strip()
    parts: list[str] = []
    i = 0
    while True:
        if i < len(text) and text[i] == '"':
            j, buf = i + 1, []
            while True:
                k = text.find('"', j)
                if k < 0:
                    msg = f"table name {name!r} has an unclosed double quote. Fix: close it"
                    raise ValidationError(msg)
                buf.append(text[j:k])
                if text[k + 1 : k + 2] == '"':
                    buf.append('"')
                    j = k + 2
                    continue
                break
            parts.append("".join(buf))
            i = k + 1
        else:
            k = text.find(".", i)
            end = len(text) if k < 0 else k
            if '"' in text[i:end]:
                msg = f'table name {name!r}: quote a whole part, like "My Schema".villages'
                raise ValidationError(msg)
            parts.append(text[i:end].strip())
            i = end
        if i >= len(text):
            break
        if text[i] != ".":
            msg = f"table name {name!r}: expected '.' after a quoted part, found {text[i]!r}"
            raise ValidationError(msg)
        i += 1
    if len(parts) > 2 or any(not p for p in parts):
        msg = (
            f"table name {name!r} is not [schema.]table. Fix: give e.g. `table: civil.villages` "
            '(double-quote names that hold dots: "my.schema".villages)'
        )
        raise ValidationError(msg)
    for part in parts:
        if len(part.encode("utf-8")) > _MAX_IDENT_BYTES:
            msg = f"table name part {part!r} is longer than PostgreSQL's 63 bytes. Fix: shorten it"
            raise ValidationError(msg)
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def _spec_dsn(spec: Mapping[str, Any]) -> str:
    dsn, path = spec.get("dsn"), spec.get("path")
    if dsn and path and str(path).strip() != str(dsn).strip():
        msg = (
            f"database layer {redact_dsn(str(dsn))}: give the DSN once, in `dsn:` or in `path:`, "
            "not both. Fix: remove `path:`"
        )
        raise ConfigError(msg)
    return str(dsn or path).strip()


def _spec_source(spec: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """DSN, table and SQL of a database layer spec, checked."""
    dsn = _spec_dsn(spec)
    table, query = spec.get("table"), spec.get("sql")
    where = f"database layer {redact_dsn(dsn)}"
    if spec.get("layer") is not None:
        msg = f"{where}: `layer:` is for files. Fix: name the table with `table: [schema.]table`"
        raise ConfigError(msg)
    if spec.get("encoding") is not None:
        msg = f"{where}: `encoding:` is for files; the server converts text. Fix: remove it"
        raise ConfigError(msg)
    if (table is None) == (query is None):
        msg = (
            f"{where}: give exactly one of `table:` ([schema.]table) and `sql:` (a SELECT "
            "query). Fix: e.g. table: public.villages"
        )
        raise ConfigError(msg)
    if table is not None and not str(table).strip():
        msg = f"{where}: `table:` is empty. Fix: give [schema.]table"
        raise ConfigError(msg)
    if query is not None and not str(query).strip():
        msg = f"{where}: `sql:` is empty. Fix: give a SELECT query"
        raise ConfigError(msg)
    return dsn, None if table is None else str(table), None if query is None else str(query)


def check_layer_spec(spec: Mapping[str, Any]) -> None:
    """Check a database layer spec without connecting (for config validation).

    Parameters
    ----------
    spec : Mapping
        A layer entry with ``dsn`` (or ``path``) and ``table`` or ``sql``.

    Raises
    ------
    ConfigError
        No table or sql, both, ``layer:``/``encoding:`` given, two different DSNs.
    ValidationError
        A table name that is not ``[schema.]table``.
    """
    _dsn, table, _query = _spec_source(spec)
    if table is not None:
        parse_table_name(table)


def layer_label(spec: Mapping[str, Any]) -> str:
    """Name of a database layer for messages and ``attrs["source"]``.

    Parameters
    ----------
    spec : Mapping
        A database layer spec (see :func:`spec_is_postgis`).

    Returns
    -------
    str
        ``"PostGIS civil.villages"`` or ``"PostGIS query"``; never the password.
    """
    table = spec.get("table")
    return f"PostGIS {str(table).strip()}" if table else "PostGIS query"


def layer_stem(spec: Mapping[str, Any]) -> str:
    """Stem of default ids (``<stem>-<row>``): the table name, or ``query``.

    Parameters
    ----------
    spec : Mapping
        A database layer spec.

    Returns
    -------
    str
    """
    table = spec.get("table")
    if not table:
        return "query"
    try:
        return parse_table_name(str(table))[1]
    except ValidationError:
        return str(table)


def describe_layer(spec: Mapping[str, Any]) -> str:
    """The DSN (without password) and table or query, for the report's list of inputs.

    Parameters
    ----------
    spec : Mapping
        A database layer spec.

    Returns
    -------
    str
    """
    dsn = redact_dsn(_spec_dsn(spec))
    if spec.get("table"):
        return f"{dsn} table {str(spec['table']).strip()}"
    return f"{dsn} query: {' '.join(str(spec.get('sql', '')).split())}"


# --------------------------------------------------------------------------------------------
# Connections
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _connect(dsn: str, *, feature: str, read_only: bool) -> Iterator[psycopg.Connection[Any]]:
    require("psycopg", feature, extra="postgis")
    import psycopg
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.types.numeric import FloatLoader

    shown = redact_dsn(dsn)
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error as err:
        msg = (
            f"{shown} is not a valid PostgreSQL DSN. Fix: write it as "
            "postgresql://user@host:5432/database (or 'host=... dbname=... user=...')"
        )
        raise ConfigError(msg) from err
    kwargs: dict[str, Any] = {"application_name": "ynps_geo"}
    if "connect_timeout" not in params:
        kwargs["connect_timeout"] = CONNECT_TIMEOUT_S
    try:
        conn = psycopg.connect(dsn, **kwargs)
    except psycopg.Error as err:
        detail = _scrub(" ".join(str(err).split()), dsn)
        msg = f"cannot connect to PostgreSQL {shown} ({detail}). {_FIX_CONNECT}"
        raise DataSourceError(msg) from None
    try:
        conn.adapters.register_loader("numeric", FloatLoader)
        conn.read_only = read_only
        yield conn
    finally:
        conn.close()


def _db_error(err: Exception, dsn: str, what: str, fix: str) -> DataSourceError:
    detail = _scrub(" ".join(str(err).split()), dsn)
    return DataSourceError(f"{what} in {redact_dsn(dsn)} failed: {detail}. Fix: {fix}")


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _relation(
    conn: psycopg.Connection[Any], table: str, label: str, dsn: str
) -> tuple[int, str, str]:
    from psycopg import sql

    schema, name = parse_table_name(table)
    ident = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    row = conn.execute(
        "SELECT c.oid, n.nspname, c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
        [ident.as_string(conn)],
    ).fetchone()
    if row is not None:
        return int(row[0]), str(row[1]), str(row[2])
    names = [
        str(r[0])
        for r in conn.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%%' ORDER BY 1"
        ).fetchall()
    ]
    wanted = f"{schema}.{name}" if schema else name
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
    bare = difflib.get_close_matches(name, [n.split(".", 1)[1] for n in names], n=3)
    close += [n for n in names if n.split(".", 1)[1] in bare]
    hint = f" Similar tables: {', '.join(dict.fromkeys(close))}." if close else ""
    shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "") if names else "none"
    msg = (
        f"{label}: table {wanted!r} not found in {redact_dsn(dsn)} (or this user may not see "
        f"it).{hint} Tables there: {shown}. Fix: correct `table:` ([schema.]table)"
    )
    raise DataSourceError(msg)


def _geometry_columns(conn: psycopg.Connection[Any], oid: int) -> dict[str, str]:
    rows = conn.execute(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped "
        "AND t.typname IN ('geometry', 'geography') ORDER BY a.attnum",
        [oid],
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _column_srid(conn: psycopg.Connection[Any], oid: int, column: str, typname: str) -> int:
    if typname == "geography":
        return 4326
    row = conn.execute(
        "SELECT postgis_typmod_srid(a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = %s AND a.attname = %s AND a.atttypmod <> -1",
        [oid, column],
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _decode_geometries(values: Sequence[Any], label: str, column: str) -> np.ndarray:
    out = np.full(len(values), None, dtype=object)
    hexes: list[int] = []
    texts: list[int] = []
    binaries: list[int] = []
    for i, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, bytes | bytearray | memoryview):
            binaries.append(i)
        elif isinstance(v, str) and re.fullmatch(r"[0-9A-Fa-f]+", v):
            hexes.append(i)
        elif isinstance(v, str):
            texts.append(i)
        else:
            msg = (
                f"{label}: column '{column}' holds {type(v).__name__} values, not geometries. "
                "Fix: set `geom_col:` to the geometry column"
            )
            raise ValidationError(msg)
    try:
        if hexes:
            out[hexes] = shapely.from_wkb([values[i] for i in hexes])
        if binaries:
            out[binaries] = shapely.from_wkb([bytes(values[i]) for i in binaries])
        if texts:
            out[texts] = shapely.from_wkt([values[i] for i in texts])
    except shapely.errors.ShapelyError as err:
        msg = (
            f"{label}: column '{column}' does not hold geometries ({err}). Fix: set `geom_col:` "
            "to a geometry column (or select ST_AsBinary(geom) in `sql:`)"
        )
        raise ValidationError(msg) from err
    return out


def _srid_crs(conn: psycopg.Connection[Any], srid: int, label: str) -> Any:
    from pyproj import CRS

    row = conn.execute(
        "SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = %s", [srid]
    ).fetchone()
    if row is None:
        msg = (
            f"{label}: SRID {srid} is not in the database's spatial_ref_sys. Fix: set the "
            "column's SRID (UpdateGeometrySRID) or declare `crs:`"
        )
        raise CRSError(msg)
    auth_name, auth_srid, srtext = row
    if str(auth_name or "").upper() == "EPSG" and auth_srid:
        return CRS.from_epsg(int(auth_srid))
    return CRS.from_wkt(str(srtext))


def _fetch(
    dsn: str,
    *,
    table: str | None,
    query: str | None,
    geom_col: str,
    label: str,
    need_geometry: bool,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Run the read and build the raw frame: native CRS, or a plain table without geometry."""
    import psycopg
    from psycopg import sql

    with _connect(dsn, feature=f"reading {label}", read_only=True) as conn:
        try:
            typmod_srid = 0
            if table is not None:
                oid, schema, name = _relation(conn, table, label, dsn)
                geo = _geometry_columns(conn, oid)
                if geom_col in geo:
                    typmod_srid = _column_srid(conn, oid, geom_col, geo[geom_col])
                elif geo or need_geometry:
                    found = ", ".join(geo) if geo else "none"
                    msg = (
                        f"{label}: no geometry column '{geom_col}' (key `geom_col:`). Geometry "
                        f"columns of {schema}.{name}: {found}. Fix: set `geom_col:` to one of them"
                    )
                    raise ValidationError(msg)
                statement: Any = sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, name))
            else:
                statement = sql.SQL(str(query))  # the explicit `sql:` option, as written
            cur = conn.execute(statement)
            if cur.description is None:
                msg = f"{label}: the `sql:` statement returns no rows. Fix: give a SELECT query"
                raise ValidationError(msg)
            columns = [d.name for d in cur.description]
            rows = cur.fetchall()
            dup = sorted({c for c in columns if columns.count(c) > 1})
            if dup:
                msg = (
                    f"{label}: the query returns column(s) {', '.join(dup)} more than once. "
                    "Fix: give them distinct names with AS"
                )
                raise ValidationError(msg)
            frame = pd.DataFrame.from_records(rows, columns=columns)
            if geom_col not in columns:
                if need_geometry:
                    msg = (
                        f"{label}: the query has no column '{geom_col}' (key `geom_col:`); "
                        f"columns: {', '.join(columns)}. Fix: set `geom_col:` or select it"
                    )
                    raise ValidationError(msg)
                return frame
            geoms = _decode_geometries(list(frame[geom_col]), label, geom_col)
            present = ~shapely.is_missing(geoms)
            srids = set(shapely.get_srid(geoms[present]).tolist()) or {typmod_srid}
            if len(srids) > 1:
                msg = (
                    f"{label}: column '{geom_col}' mixes SRIDs {sorted(srids)}. Fix: transform "
                    "them to one (ST_Transform) in the table or in `sql:`"
                )
                raise ValidationError(msg)
            srid = srids.pop()
            crs = _srid_crs(conn, srid, label) if srid > 0 else None
        except psycopg.errors.InsufficientPrivilege as err:
            raise _db_error(
                err, dsn, f"reading {label}", "ask the database administrator to GRANT SELECT"
            ) from None
        except psycopg.Error as err:
            fix = "check the `sql:` query in psql" if query else "check `table:` and `geom_col:`"
            raise _db_error(err, dsn, f"reading {label}", fix) from None
    name_out = "geometry" if "geometry" not in columns or geom_col == "geometry" else geom_col
    attrs = frame.drop(columns=geom_col)
    if len(attrs):
        attrs = attrs.infer_objects()
    geoms = shapely.set_srid(geoms, 0)
    return gpd.GeoDataFrame(
        attrs, geometry=gpd.GeoSeries(geoms, index=attrs.index, name=name_out), crs=crs
    )


def load_layer_from_postgis(spec: Mapping[str, Any]) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a database layer as the file readers read a file, before any column logic.

    This is the database counterpart of reading a GeoPackage layer (or a CSV table) in
    :mod:`ynps_geo.io.vector`: the vector readers hand the frame to the same CRS, coordinate,
    id, name and type logic as for files.

    Parameters
    ----------
    spec : Mapping
        A layer entry: ``dsn`` (or ``path``) ``postgresql://...``; ``table`` ([schema.]table) or
        ``sql`` (a SELECT); ``geom_col`` (default ``geom``); the readers' other keys are ignored
        here, except that ``x``/``y``/``wkt`` mean "read it as a plain table".

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        A GeoDataFrame in the column's own CRS (from its SRID; ``crs`` None for SRID 0), with
        the geometry column named ``geometry``; or a plain DataFrame (lon/lat columns) when the
        relation has no geometry column or the spec gives ``x``/``y``/``wkt``.
        ``attrs["source"]`` is :func:`layer_label`.

    Raises
    ------
    ConfigError
        Invalid spec (no table or sql, both, `layer:` instead of `table:`), invalid DSN.
    DataSourceError
        Server unreachable, missing table, SQL error, permission denied.
    ValidationError
        Missing geometry column, mixed SRIDs, duplicate column names.
    MissingDependencyError
        psycopg is not installed.
    """
    dsn, table, query = _spec_source(spec)
    label = layer_label(spec)
    plain = any(spec.get(k) is not None for k in ("x", "y", "wkt"))
    if plain and spec.get("geom_col") is not None:
        msg = (
            f"{label}: give `geom_col:` (a geometry column) or `x:`/`y:`/`wkt:` (coordinate "
            "columns), not both. Fix: remove one"
        )
        raise ConfigError(msg)
    geom_col = "\0none" if plain else str(spec.get("geom_col") or "geom")
    frame = _fetch(
        dsn,
        table=table,
        query=query,
        geom_col=geom_col,
        label=label,
        need_geometry=spec.get("geom_col") is not None,
    )
    frame.attrs["source"] = label
    return frame


def layer_fingerprint(spec: Mapping[str, Any]) -> str:
    """A digest of a database layer's rows, for the result cache's key.

    Files are digested by their bytes; a table changes without any file changing, so the cache
    key of an analysis with database layers must include this.

    Parameters
    ----------
    spec : Mapping
        A database layer spec.

    Returns
    -------
    str
        ``"<rows>:<md5>"`` of the rows' text, independent of their order.

    Raises
    ------
    DataSourceError, ConfigError, MissingDependencyError
        As :func:`load_layer_from_postgis`.
    """
    import psycopg
    from psycopg import sql

    dsn, table, query = _spec_source(spec)
    label = layer_label(spec)
    with _connect(dsn, feature=f"reading {label}", read_only=True) as conn:
        try:
            if table is not None:
                _oid, schema, name = _relation(conn, table, label, dsn)
                source: Any = sql.Identifier(schema, name)
            else:
                source = sql.SQL("({})").format(sql.SQL(str(query).strip().rstrip(";")))
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
                    "FROM (SELECT md5(t::text) AS h FROM {} AS t) AS x"
                ).format(source)
            ).fetchone()
        except psycopg.Error as err:
            raise _db_error(err, dsn, f"reading {label}", "check `table:` or `sql:`") from None
    return f"{row[0]}:{row[1]}" if row else "0:"


def read_postgis(
    dsn: str,
    *,
    table: str | None = None,
    sql: str | None = None,
    geom_col: str = "geom",
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Read a PostGIS table or query into EPSG:4326.

    Parameters
    ----------
    dsn : str
        ``postgresql://user@host:port/database`` or ``host=... dbname=...``. The password is
        best left to ``PGPASSWORD`` or ``~/.pgpass``; it never appears in messages.
    table : str, optional
        ``[schema.]table`` (see :func:`parse_table_name`); sent as quoted identifiers.
    sql : str, optional
        A SELECT query, sent as written, in a read-only transaction. Give ``table`` or ``sql``.
    geom_col : str
        The geometry (or geography) column; hex/binary WKB or WKT text work for ``sql``.
    crs : str, int or pyproj.CRS, optional
        The declared system (see :func:`ynps_geo.io.coords.parse_crs`). Required when the
        column has SRID 0; ``gcj02``/``bd09`` override SRID 4326, as for files.

    Returns
    -------
    geopandas.GeoDataFrame
        Every column of the table or query, and the geometry (column ``geometry``) in
        EPSG:4326. Rows with NULL geometry are kept. ``attrs``: ``source``, ``declared_crs``.

    Raises
    ------
    DataSourceError
        Server unreachable (the DSN is named without its password), missing table, SQL error.
    CRSError
        SRID 0 and no ``crs``, unknown crs.
    ValidationError
        Missing geometry column, mixed SRIDs, bad table name.
    MissingDependencyError
        psycopg is not installed (``pip install 'ynps-geo[postgis]'``).
    """
    from ynps_geo.io.coords import geometry_to_wgs84
    from ynps_geo.io.vector import _resolve_crs

    spec = {"dsn": dsn, "table": table, "sql": sql, "geom_col": geom_col}
    dsn, table, sql = _spec_source({k: v for k, v in spec.items() if v is not None})
    label = layer_label(spec)
    raw = _fetch(dsn, table=table, query=sql, geom_col=geom_col, label=label, need_geometry=True)
    if not isinstance(raw, gpd.GeoDataFrame):  # pragma: no cover - need_geometry guarantees it
        msg = f"{label}: no geometry column '{geom_col}'"
        raise ValidationError(msg)
    if raw.crs is None and (crs is None or (isinstance(crs, str) and not crs.strip())):
        msg = (
            f"{label}: column '{geom_col}' has SRID 0 (no coordinate system) and none is "
            "declared. Fix: pass crs= (wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>; gcj02 for "
            "coordinates copied from Amap), or set the SRID in the database "
            "(SELECT UpdateGeometrySRID(...))"
        )
        raise CRSError(msg)
    spec_crs = _resolve_crs(crs, raw.crs, label)
    wgs = geometry_to_wgs84(np.asarray(raw.geometry.values, dtype=object), spec_crs)
    out = gpd.GeoDataFrame(
        pd.DataFrame(raw.drop(columns=raw.geometry.name)),
        geometry=gpd.GeoSeries(wgs.values, index=raw.index, name="geometry"),
        crs="EPSG:4326",
    )
    out.attrs["source"] = label
    out.attrs["declared_crs"] = spec_crs.label
    return out


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _check_ident(name: str, what: str) -> str:
    text = str(name)
    if not text.strip() or "\0" in text:
        msg = f"{what} {name!r} is empty or holds a NUL character. Fix: give a plain name"
        raise ValidationError(msg)
    if len(text.encode("utf-8")) > _MAX_IDENT_BYTES:
        msg = f"{what} {name!r} is longer than PostgreSQL's 63 bytes. Fix: shorten it"
        raise ValidationError(msg)
    return text


def _geometry_type(values: np.ndarray, srid: int) -> str:
    present = values[~shapely.is_missing(values)]
    kinds = set(shapely.get_type_id(present).tolist())
    names = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint"}
    names |= {5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}
    z = set(shapely.has_z(present).tolist())
    if len(z) > 1:
        return "geometry"
    kind = names.get(kinds.pop(), "Geometry") if len(kinds) == 1 else "Geometry"
    return f"geometry({kind}{'Z' if z == {True} else ''}, {srid})"


def _column_plan(
    frame: pd.DataFrame, label: str
) -> tuple[list[str], list[str], list[list[Any]], str | None]:
    """Column names, SQL types and Python values (column-wise) of a frame; the GiST column."""
    names: list[str] = []
    types: list[str] = []
    values: list[list[Any]] = []
    active = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    index_col: str | None = None
    for col in frame.columns:
        series = frame[col]
        name = str(col)
        if col == active and "geom" not in [str(c) for c in frame.columns]:
            name = "geom"
        _check_ident(name, f"{label}: column")
        if isinstance(series.dtype, gpd.array.GeometryDtype):
            gs = gpd.GeoSeries(series)
            if gs.crs is None:
                msg = f"{label}: column '{col}' has no CRS. Fix: set it (gdf.set_crs(...))"
                raise CRSError(msg)
            srid = gs.crs.to_epsg()
            if srid is None:
                msg = (
                    f"{label}: column '{col}' has a CRS without an EPSG code. Fix: reproject "
                    "it, e.g. gdf.to_crs(4326)"
                )
                raise CRSError(msg)
            geoms = np.asarray(gs.values, dtype=object)
            types.append(_geometry_type(geoms, srid))
            hexes = shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True)
            values.append([None if g is None else str(g) for g in hexes])
            if col == active:
                index_col = name
        else:
            sql_type, py = _plain_column(series)
            types.append(sql_type)
            values.append(py)
        names.append(name)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        msg = f"{label}: column name(s) {', '.join(dup)} appear twice. Fix: rename them"
        raise ValidationError(msg)
    return names, types, values, index_col


def _plain_column(series: pd.Series) -> tuple[str, list[Any]]:
    dtype = series.dtype
    missing = series.isna().to_numpy()
    if pd.api.types.is_bool_dtype(dtype):
        kind = "boolean"
    elif pd.api.types.is_integer_dtype(dtype):
        kind = "bigint"
    elif pd.api.types.is_float_dtype(dtype):
        kind = "double precision"
    elif isinstance(dtype, pd.DatetimeTZDtype):
        kind = "timestamptz"
    elif pd.api.types.is_datetime64_dtype(dtype):
        kind = "timestamp"
    elif pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        kind = {
            "boolean": "boolean",
            "integer": "bigint",
            "floating": "double precision",
            "mixed-integer-float": "double precision",
            "decimal": "double precision",
        }.get(inferred, "text")
    else:
        kind = "text"
    py: list[Any]
    if kind == "boolean":
        py = [None if m else bool(v) for v, m in zip(series.tolist(), missing, strict=True)]
    elif kind == "bigint":
        py = [None if m else int(v) for v, m in zip(series.tolist(), missing, strict=True)]
    elif kind == "double precision":
        py = [None if m else float(v) for v, m in zip(series.tolist(), missing, strict=True)]
    elif kind in ("timestamp", "timestamptz"):
        stamps = series.tolist()
        py = [None if m else v.to_pydatetime() for v, m in zip(stamps, missing, strict=True)]
    else:
        py = [None if m else str(v) for v, m in zip(series.tolist(), missing, strict=True)]
    return kind, py


def _ensure_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    from psycopg import sql

    row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
    if row is None:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def _existing(conn: psycopg.Connection[Any], schema: str, name: str) -> int | None:
    from psycopg import sql

    row = conn.execute(
        "SELECT to_regclass(%s)::oid", [sql.Identifier(schema, name).as_string(conn)]
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _grants(conn: psycopg.Connection[Any], oid: int) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, "
        "a.privilege_type FROM pg_class c, aclexplode(c.relacl) a "
        "WHERE c.oid = %s AND a.grantee <> c.relowner",
        [oid],
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def _copy_rows(
    conn: psycopg.Connection[Any],
    schema: str,
    name: str,
    columns: list[str],
    values: list[list[Any]],
) -> int:
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(schema, name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    n = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in zip(*values, strict=True):
            copy.write_row(row)
            n += 1
    return n


def _swap(conn: psycopg.Connection[Any], schema: str, tmp: str, name: str, old: int | None) -> None:
    """Drop the old table (if any) and rename the new one into place, in the open transaction."""
    from psycopg import sql

    if old is not None:
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(schema, name)))
    conn.execute(
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(
            sql.Identifier(schema, tmp), sql.Identifier(name)
        )
    )


def _write_one(
    conn: psycopg.Connection[Any],
    frame: pd.DataFrame,
    schema: str,
    name: str,
    if_exists: str,
) -> None:
    from psycopg import sql

    label = f"{schema}.{name}"
    columns, types, values, index_col = _column_plan(frame, label)
    target = sql.Identifier(schema, name)
    old = _existing(conn, schema, name)
    if old is not None and if_exists == "fail":
        msg = f"table {label} already exists. Fix: pass if_exists='replace' or 'append'"
        raise ValidationError(msg)
    if old is not None and if_exists == "append":
        _copy_rows(conn, schema, name, columns, values)
        return
    grants = _grants(conn, old) if old is not None else []
    tmp = f"_ynps_tmp_{uuid.uuid4().hex[:16]}"
    definition = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t))
        for c, t in zip(columns, types, strict=True)
    )
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(schema, tmp), definition))
    _copy_rows(conn, schema, tmp, columns, values)
    _swap(conn, schema, tmp, name, old)
    if index_col is not None:
        conn.execute(
            sql.SQL("CREATE INDEX ON {} USING gist ({})").format(target, sql.Identifier(index_col))
        )
    for grantee, privilege in grants:
        # both come from the catalog: privilege names, and roles as regrole::text (quoted)
        conn.execute(
            sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(privilege), target, sql.SQL(grantee))
        )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    conn.execute(
        sql.SQL("COMMENT ON TABLE {} IS {}").format(
            target, sql.Literal(f"written by ynps_geo at {stamp}")
        )
    )


def write_postgis_tables(
    tables: Mapping[str, pd.DataFrame],
    dsn: str,
    *,
    schema: str = "public",
    if_exists: str = "replace",
) -> list[str]:
    """Write several frames in one transaction: all of them are replaced, or none is.

    Parameters
    ----------
    tables : Mapping of str to DataFrame
        Table name -> frame. GeoDataFrames get their geometry in column ``geom`` (unless a
        ``geom`` column exists) with the CRS's EPSG code as SRID and a GiST index; plain
        DataFrames (the coverage table) become plain tables. Types: boolean, bigint, double
        precision, timestamp[tz], text (anything else, as text); NaN/None become NULL.
    dsn : str
        The database (see :func:`read_postgis`).
    schema : str
        Schema of the tables, created when missing.
    if_exists : {"replace", "fail", "append"}
        ``replace``: load into a temporary table, then drop the old table and rename the new
        one into place in the same transaction (privileges on the old table are granted again;
        a view depending on it makes the write fail, leaving everything as it was); ``fail``:
        raise when a table exists; ``append``: add the rows to an existing table.

    Returns
    -------
    list of str
        The qualified names written, ``schema.table``.

    Raises
    ------
    ValidationError
        Bad names, duplicate columns, an existing table with ``if_exists="fail"``.
    CRSError
        A geometry column without CRS or EPSG code.
    DataSourceError
        Server unreachable or the write failed (nothing was changed).
    MissingDependencyError
        psycopg is not installed.
    """
    import psycopg

    if if_exists not in IF_EXISTS:
        msg = f"if_exists={if_exists!r} is not one of {', '.join(IF_EXISTS)}"
        raise ValidationError(msg)
    _check_ident(schema, "schema name")
    for name, frame in tables.items():
        _check_ident(name, "table name")
        if not isinstance(frame, pd.DataFrame):
            msg = f"table {name!r}: expected a (Geo)DataFrame, got {type(frame).__name__}"
            raise ValidationError(msg)
    written = [f"{schema}.{name}" for name in tables]
    with _connect(dsn, feature="writing results to PostGIS", read_only=False) as conn:
        try:
            with conn.transaction():
                _ensure_schema(conn, schema)
                for name, frame in tables.items():
                    _write_one(conn, frame, schema, name, if_exists)
        except psycopg.errors.DependentObjectsStillExist as err:
            fix = (
                "views depend on the table; drop them before the run and create them again "
                "after, or write with if_exists='append' into an emptied table"
            )
            raise _db_error(err, dsn, f"writing {', '.join(written)}", fix) from None
        except psycopg.errors.InsufficientPrivilege as err:
            fix = f"GRANT CREATE ON SCHEMA {schema} (and ownership of the old tables) to the user"
            raise _db_error(err, dsn, f"writing {', '.join(written)}", fix) from None
        except psycopg.Error as err:
            fix = "nothing was changed; correct the data or the table and run again"
            raise _db_error(err, dsn, f"writing {', '.join(written)}", fix) from None
    return written


def write_postgis(
    gdf: pd.DataFrame,
    dsn: str,
    table: str,
    *,
    schema: str = "public",
    if_exists: str = "replace",
) -> str:
    """Write one frame (villages, coverage...) as a table, atomically.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame or pandas.DataFrame
        The rows; see :func:`write_postgis_tables` for the column types.
    dsn : str
        The database (see :func:`read_postgis`).
    table : str
        Table name (unquoted; any characters).
    schema : str
        Schema, created when missing.
    if_exists : {"replace", "fail", "append"}
        See :func:`write_postgis_tables`; ``replace`` leaves the old table intact if anything
        fails.

    Returns
    -------
    str
        ``schema.table``.

    Raises
    ------
    ValidationError, CRSError, DataSourceError, MissingDependencyError
        As :func:`write_postgis_tables`.
    """
    return write_postgis_tables({table: gdf}, dsn, schema=schema, if_exists=if_exists)[0]
