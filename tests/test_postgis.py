"""Tests for ynps_geo.io.postgis against a real local PostgreSQL + PostGIS.

The database is started by ``scripts/ci_postgis.sh``, which prints the DSN to put in
``YNPS_GEO_TEST_DSN``. Without it the database tests skip (and fail when ``CI=true``); the
tests of names, DSNs and specs run everywhere.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ynps_geo.errors import (
    ConfigError,
    CRSError,
    DataSourceError,
    MissingDependencyError,
    ValidationError,
)
from ynps_geo.io import postgis
from ynps_geo.io.coords import wgs84_to_gcj02
from ynps_geo.io.postgis import (
    layer_label,
    layer_stem,
    load_layer_from_postgis,
    parse_table_name,
    read_postgis,
    redact_dsn,
    spec_is_postgis,
    write_postgis,
    write_postgis_tables,
)
from ynps_geo.io.vector import (
    FACILITY_KEYS,
    read_boundaries,
    read_facilities,
    read_points,
    read_villages,
)

ON_CI = os.environ.get("CI", "").lower() == "true"
SECRET = "s3cr3t-Pa55"


def _skip_or_fail(reason: str) -> None:
    if ON_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def dsn() -> str:
    """DSN of the test database; skip (fail on CI) when absent."""
    value = os.environ.get("YNPS_GEO_TEST_DSN", "").strip()
    if not value:
        _skip_or_fail(
            "YNPS_GEO_TEST_DSN is not set: the PostGIS tests need a local PostgreSQL + PostGIS; "
            "run `export YNPS_GEO_TEST_DSN=$(sudo bash scripts/ci_postgis.sh)` first"
        )
    if importlib.util.find_spec("psycopg") is None:
        _skip_or_fail("psycopg is not installed: pip install 'ynps-geo[postgis]'")
    return value


@pytest.fixture(scope="module")
def db(dsn: str) -> Iterator[Any]:
    """An autocommit connection and a schema of its own (dropped at the end)."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:10]}"
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute(f"CREATE SCHEMA {schema}")
    conn.schema = schema  # type: ignore[attr-defined]
    try:
        yield conn
    finally:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


def _needs_seam() -> None:
    if "dsn" not in FACILITY_KEYS:
        _skip_or_fail(
            "ynps_geo.io.vector does not take database layers yet (the `dsn:` seam in _load "
            "and the reader keys are not applied)"
        )


# --------------------------------------------------------------------------------------------
# Data: the same rows as files and as tables
# --------------------------------------------------------------------------------------------

WGS_LON = np.array([100.21, 100.25, 100.31, 100.18])
WGS_LAT = np.array([25.58, 25.61, 25.55, 25.66])
FACILITY_TYPES = ["卫生院", "村卫生室", "小学", "幼儿园"]


def _facility_table() -> pd.DataFrame:
    lon, lat = wgs84_to_gcj02(WGS_LON, WGS_LAT)
    return pd.DataFrame(
        {
            "code": ["F001", "F002", "F003", "F004"],
            "机构名称": ["甲卫生院", "乙村卫生室", "丙小学", "丁幼儿园"],
            "类型": FACILITY_TYPES,
            "beds": [20.0, np.nan, 0.0, 0.0],
            "lon": lon,
            "lat": lat,
        }
    )


def _village_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": ["532901001001", "532901001002", "532901002001", "532901002002"],
            "name": ["甲村", "乙村", "丙社区", "丁村"],
            "pop": [1200.0, 850.0, 4300.0, 610.0],
            "kind": ["农村", "农村", "城镇", "农村"],
            "lon": WGS_LON,
            "lat": WGS_LAT,
        }
    )


def _load_points(db: Any, name: str, frame: pd.DataFrame, srid: int) -> str:
    """Create ``schema.name`` with the frame's columns and a point column of SRID ``srid``."""
    from psycopg import sql

    schema = db.schema
    cols = [c for c in frame.columns if c not in ("lon", "lat")]
    types = {"beds": "numeric", "pop": "double precision"}
    definition = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types.get(c, "text"))) for c in cols
    )
    db.execute(
        sql.SQL("CREATE TABLE {} ({}, geom geometry(Point, {}))").format(
            sql.Identifier(schema, name), definition, sql.Literal(srid)
        )
    )
    for row in frame.itertuples(index=False):
        rec = row._asdict()
        values = [None if pd.isna(rec[c]) else rec[c] for c in cols]
        db.execute(
            sql.SQL("INSERT INTO {} VALUES ({}, ST_SetSRID(ST_MakePoint(%s, %s), %s))").format(
                sql.Identifier(schema, name), sql.SQL(", ").join(sql.Placeholder() * len(cols))
            ),
            [*values, float(rec["lon"]), float(rec["lat"]), srid],
        )
    return f"{schema}.{name}"


def _assert_same_geometry(a: gpd.GeoSeries, b: gpd.GeoSeries, tol: float = 1e-9) -> None:
    assert a.crs == b.crs
    assert len(a) == len(b)
    ga, gb = np.asarray(a.values, dtype=object), np.asarray(b.values, dtype=object)
    assert shapely.equals_exact(ga, gb, tolerance=tol).all()


# --------------------------------------------------------------------------------------------
# Without a database
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"path": "postgresql://u@h/db", "table": "t"}, True),
        ({"path": "POSTGRES://u@h/db", "table": "t"}, True),
        ({"dsn": "host=h dbname=db", "table": "t"}, True),
        ({"path": Path("villages.csv")}, False),
        ({"path": "data/postgresql_export.csv"}, False),
        ("postgresql://u@h/db", True),
        (None, False),
    ],
)
def test_spec_is_postgis(spec: Any, expected: bool) -> None:
    assert spec_is_postgis(spec) is expected


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        (f"postgresql://ynps:{SECRET}@db.intranet:5432/reg", "postgresql://ynps@db.intranet:5432/reg"),
        ("postgresql://ynps:p%40ss@h/reg?sslmode=require", "postgresql://ynps@h/reg?sslmode=require"),
        (f"postgresql://ynps@h/reg?password={SECRET}&sslmode=require", "postgresql://ynps@h/reg?sslmode=require"),
        ("postgresql://h/reg", "postgresql://h/reg"),
        (f"host=h dbname=reg password={SECRET} user=u", "host=h dbname=reg password=*** user=u"),
        ("host=h password='a b c' dbname=reg", "host=h password=*** dbname=reg"),
    ],
)  # fmt: skip
def test_redact_dsn(dsn: str, shown: str) -> None:
    assert redact_dsn(dsn) == shown


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("villages", (None, "villages")),
        ("civil.villages", ("civil", "villages")),
        (' civil . villages ', ("civil", "villages")),
        ('"My Schema"."villages.2023"', ("My Schema", "villages.2023")),
        ('"a""b".c', ('a"b', "c")),
        ("民政.村委会", ("民政", "村委会")),
        ("villages; DROP TABLE villages; --", (None, "villages; DROP TABLE villages; --")),
    ],
)  # fmt: skip
def test_parse_table_name(name: str, parts: tuple[str | None, str]) -> None:
    assert parse_table_name(name) == parts


@pytest.mark.parametrize(
    "name", ["", "a.b.c", "a..b", '"unclosed', 'a"b', '"x"y', "x" * 64, "schema."]
)
def test_parse_table_name_rejects(name: str) -> None:
    with pytest.raises(ValidationError):
        parse_table_name(name)


def test_spec_checks_without_database() -> None:
    base = {"dsn": "postgresql://u@h/db"}
    for bad in ({}, {"table": "t", "sql": "SELECT 1"}, {"table": "t", "layer": "t"}):
        with pytest.raises(ConfigError):
            load_layer_from_postgis({**base, **bad})
    with pytest.raises(ConfigError, match="once"):
        load_layer_from_postgis({**base, "path": "postgresql://u@other/db", "table": "t"})
    assert layer_label({**base, "table": "civil.villages"}) == "PostGIS civil.villages"
    assert layer_stem({**base, "table": "civil.villages"}) == "villages"
    assert layer_stem({**base, "sql": "SELECT 1"}) == "query"


def test_missing_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "psycopg" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(MissingDependencyError, match=r"ynps-geo\[postgis\]"):
        read_postgis("postgresql://u@h/db", table="t")
    with pytest.raises(MissingDependencyError, match=r"ynps-geo\[postgis\]"):
        write_postgis(pd.DataFrame({"a": [1]}), "postgresql://u@h/db", "t")


def test_unreachable_server_names_dsn_without_password() -> None:
    pytest.importorskip("psycopg")
    dsn = f"postgresql://ynps:{SECRET}@127.0.0.1:1/registers?connect_timeout=3"
    with pytest.raises(DataSourceError) as info:
        read_postgis(dsn, table="villages")
    text = str(info.value)
    assert SECRET not in text
    assert "postgresql://ynps@127.0.0.1:1/registers" in text
    assert "Fix:" in text
    assert info.value.__cause__ is None  # the driver's error (which may echo the DSN) is dropped


def test_wrong_password_not_echoed(dsn: str) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    bad = make_conninfo(dsn, password=SECRET)
    assert conninfo_to_dict(bad)["password"] == SECRET
    with pytest.raises(DataSourceError) as info:
        read_postgis(bad, table="villages")
    assert SECRET not in str(info.value)
    assert "password" in str(info.value)  # the fix mentions PGPASSWORD / ~/.pgpass


# --------------------------------------------------------------------------------------------
# Reading, compared with the file readers
# --------------------------------------------------------------------------------------------


def test_gcj02_facilities_srid0(db: Any, dsn: str, tmp_path: Path) -> None:
    frame = _facility_table()
    table = _load_points(db, "facilities_gcj", frame, 0)
    csv = tmp_path / "facilities_gcj.csv"
    frame.to_csv(csv, index=False)
    from_file = read_points(csv, crs="gcj02")
    got = read_postgis(dsn, table=table, crs="gcj02")
    _assert_same_geometry(got.geometry, from_file.geometry)
    assert got.attrs["declared_crs"] == "gcj02"
    assert list(got["code"]) == list(frame["code"])
    assert got["beds"].dtype == float  # numeric arrives as float, not Decimal
    # shifted back by the GCJ-02 offset: a few hundred metres
    assert np.allclose(got.geometry.x, WGS_LON, atol=1e-6)
    assert np.allclose(got.geometry.y, WGS_LAT, atol=1e-6)


def test_srid0_without_crs_is_an_error(db: Any, dsn: str) -> None:
    table = _load_points(db, "facilities_nocrs", _facility_table(), 0)
    with pytest.raises(CRSError, match="SRID 0"):
        read_postgis(dsn, table=table)


@pytest.mark.parametrize("srid", [4326, 4490])
def test_villages_geographic_srid(db: Any, dsn: str, srid: int) -> None:
    frame = _village_table()
    table = _load_points(db, f"villages_{srid}", frame, srid)
    got = read_postgis(dsn, table=table)
    expected = gpd.GeoSeries(gpd.points_from_xy(WGS_LON, WGS_LAT), crs="EPSG:4326")
    _assert_same_geometry(got.geometry, expected)
    assert list(got["name"]) == list(frame["name"])


def test_gcj02_declared_over_srid_4326(db: Any, dsn: str) -> None:
    frame = _facility_table()
    table = _load_points(db, "facilities_4326_gcj", frame, 4326)
    got = read_postgis(dsn, table=table, crs="gcj02")
    assert np.allclose(got.geometry.x, WGS_LON, atol=1e-6)


def test_boundaries_utm(db: Any, dsn: str, tmp_path: Path) -> None:
    polys = gpd.GeoDataFrame(
        {"name": ["大理市", "漾濞县"]},
        geometry=[shapely.box(100.0, 25.5, 100.3, 25.8), shapely.box(99.8, 25.5, 100.0, 25.8)],
        crs="EPSG:4326",
    ).to_crs(32647)
    gpkg = tmp_path / "counties.gpkg"
    polys.to_file(gpkg, layer="counties", engine="pyogrio")
    schema = db.schema
    db.execute(f"CREATE TABLE {schema}.counties (name text, geom geometry(Polygon, 32647))")
    for name, geom in zip(polys["name"], polys.geometry, strict=True):
        db.execute(
            f"INSERT INTO {schema}.counties VALUES (%s, ST_GeomFromText(%s, 32647))",
            [name, geom.wkt],
        )
    from_file = read_boundaries(gpkg)
    got = read_postgis(dsn, table=f"{schema}.counties")
    _assert_same_geometry(got.geometry, from_file.geometry, tol=1e-7)
    raw = load_layer_from_postgis({"dsn": dsn, "table": f"{schema}.counties"})
    assert raw.crs is not None and raw.crs.to_epsg() == 32647
    assert raw.geometry.name == "geometry"


def test_sql_option_and_read_only(db: Any, dsn: str) -> None:
    table = _load_points(db, "villages_sql", _village_table(), 4326)
    query = f"SELECT code, ST_AsBinary(geom) AS g FROM {table} WHERE pop > 1000"
    with pytest.raises(CRSError):  # ST_AsBinary drops the SRID: a declared crs is needed
        read_postgis(dsn, sql=query, geom_col="g")
    got = read_postgis(dsn, sql=query, geom_col="g", crs="wgs84")
    assert list(got["code"]) == ["532901001001", "532901002001"]
    got = read_postgis(dsn, sql=f"SELECT code, geom FROM {table} ORDER BY code DESC LIMIT 1")
    assert got.crs.to_epsg() == 4326 and got["code"].iloc[0] == "532901002002"
    with pytest.raises(DataSourceError, match="read-only"):
        read_postgis(dsn, sql=f"DELETE FROM {table} RETURNING *", crs="wgs84")
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 4


def test_fingerprint_follows_the_rows(db: Any, dsn: str) -> None:
    table = _load_points(db, "villages_fp", _village_table(), 4326)
    spec = {"dsn": dsn, "table": table}
    first = postgis.layer_fingerprint(spec)
    assert first.startswith("4:")
    assert postgis.layer_fingerprint({"dsn": dsn, "sql": f"SELECT * FROM {table};"}) == first
    db.execute(f"UPDATE {table} SET pop = pop + 1 WHERE code = '532901001001'")
    assert postgis.layer_fingerprint(spec) != first


def test_missing_table_and_column(db: Any, dsn: str) -> None:
    table = _load_points(db, "villages_cols", _village_table(), 4326)
    with pytest.raises(DataSourceError, match="not found") as info:
        read_postgis(dsn, table=f"{db.schema}.vilages_cols")
    assert "villages_cols" in str(info.value)  # the close match is suggested
    with pytest.raises(ValidationError, match="geom_col"):
        read_postgis(dsn, table=table, geom_col="the_geom")


def test_injection_in_table_name_is_quoted(db: Any, dsn: str) -> None:
    table = _load_points(db, "villages", _village_table(), 4326)
    attack = f'"{db.schema}"."villages; DROP TABLE {db.schema}.villages; --"'
    with pytest.raises(DataSourceError, match="not found"):
        read_postgis(dsn, table=attack)
    with pytest.raises(ValidationError):
        read_postgis(dsn, table=f'{db.schema}.villages"; DROP TABLE {table}; --')
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 4
    # a table really named like that is read, as an identifier
    db.execute(
        f'CREATE TABLE "{db.schema}"."villages; DROP TABLE {db.schema}.villages; --" '
        f"AS SELECT * FROM {table}"
    )
    assert len(read_postgis(dsn, table=attack)) == 4
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 4


# --------------------------------------------------------------------------------------------
# The readers of io.vector on database layers (the `dsn:` seam)
# --------------------------------------------------------------------------------------------


def test_read_facilities_from_database_equals_file(db: Any, dsn: str, tmp_path: Path) -> None:
    _needs_seam()
    frame = _facility_table()
    table = _load_points(db, "reg_facilities", frame, 0)
    csv = tmp_path / "reg_facilities.csv"
    frame.to_csv(csv, index=False)
    keys = {"crs": "gcj02", "id": "code", "name": "机构名称", "category_field": "类型"}
    from_file = read_facilities({"path": str(csv), **keys}, tmp_path)
    got = read_facilities({"dsn": dsn, "table": table, **keys}, tmp_path)
    cols = ["facility_id", "name", "category", "subtype", "type_raw", "beds"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(got[cols]), pd.DataFrame(from_file[cols]), check_dtype=False
    )
    _assert_same_geometry(got.geometry, from_file.geometry)
    assert got.attrs["source"] == f"PostGIS {table}"
    assert SECRET not in repr(got.attrs)


@pytest.mark.parametrize("srid", [4326, 4490])
def test_read_villages_from_database_equals_file(
    db: Any, dsn: str, tmp_path: Path, srid: int
) -> None:
    _needs_seam()
    frame = _village_table()
    table = _load_points(db, f"reg_villages_{srid}", frame, srid)
    csv = tmp_path / "villages.csv"
    frame.to_csv(csv, index=False)
    keys = {"id": "code", "population": "pop", "setting": "kind"}
    from_file = read_villages({"path": str(csv), "crs": "wgs84", **keys}, tmp_path)
    got = read_villages({"path": dsn, "table": table, **keys}, tmp_path)
    cols = ["village_id", "name", "population", "setting"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(got[cols]), pd.DataFrame(from_file[cols]), check_dtype=False
    )
    _assert_same_geometry(got.geometry, from_file.geometry)


def test_read_villages_plain_table_with_lonlat(db: Any, dsn: str, tmp_path: Path) -> None:
    _needs_seam()
    frame = _village_table()
    schema = db.schema
    db.execute(
        f"CREATE TABLE {schema}.village_list "
        "(code text, name text, pop double precision, kind text, lon numeric, lat numeric)"
    )
    with db.cursor() as cur, cur.copy(f"COPY {schema}.village_list FROM STDIN") as copy:
        for row in frame.itertuples(index=False):
            copy.write_row(list(row))
    keys = {"id": "code", "population": "pop", "setting": "kind", "crs": "wgs84"}
    got = read_villages({"dsn": dsn, "table": f"{schema}.village_list", **keys}, tmp_path)
    assert list(got["village_id"]) == list(frame["code"])
    assert np.allclose(got.geometry.x, WGS_LON)
    without_crs = {k: v for k, v in keys.items() if k != "crs"}
    with pytest.raises(CRSError):
        read_villages({"dsn": dsn, "table": f"{schema}.village_list", **without_crs}, tmp_path)


def test_read_boundaries_from_database(db: Any, dsn: str) -> None:
    _needs_seam()
    schema = db.schema
    db.execute(f"CREATE TABLE {schema}.b_utm (name text, geom geometry(Polygon, 32647))")
    db.execute(
        f"INSERT INTO {schema}.b_utm VALUES ('大理市', "
        "ST_Transform(ST_MakeEnvelope(100.0, 25.5, 100.3, 25.8, 4326), 32647))"
    )
    spec: Any = {"dsn": dsn, "table": f"{schema}.b_utm"}
    got = read_boundaries(spec)
    assert list(got["county"]) == ["大理市"]
    assert got.crs.to_epsg() == 4326
    assert abs(got.geometry.iloc[0].bounds[0] - 100.0) < 1e-6
    with pytest.raises(CRSError):
        read_facilities(
            {
                "dsn": dsn,
                "table": _load_points(db, "f0", _facility_table(), 0),
                "category": "卫生院",
            },
            ".",
        )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _results() -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    villages = gpd.GeoDataFrame(
        {
            "village_id": ["532901001001", "532901001002", "532901002001"],
            "name": ["甲村", "乙村", "丙社区"],
            "county": ["大理市"] * 3,
            "population": [1200.0, np.nan, 4300.0],
            "setting": ["rural", "rural", "urban"],
            "covered": [True, False, True],
            "n_facilities": np.array([2, 0, 5], dtype="int64"),
            "minutes": [12.5, 97.0, 3.25],
        },
        geometry=gpd.points_from_xy(WGS_LON[:3], WGS_LAT[:3]),
        crs="EPSG:4326",
    )
    coverage = pd.DataFrame(
        {
            "county": ["大理市", "大理市"],
            "standard": ["health.township_30min", "school.primary_30min"],
            "population_share": [0.81, 0.64],
            "villages": [3, 3],
        }
    )
    return villages, coverage


def test_write_round_trip(db: Any, dsn: str) -> None:
    villages, coverage = _results()
    schema = f"{db.schema}_out"
    written = write_postgis_tables({"villages": villages, "coverage": coverage}, dsn, schema=schema)
    assert written == [f"{schema}.villages", f"{schema}.coverage"]
    back = read_postgis(dsn, table=f"{schema}.villages")
    cols = [c for c in villages.columns if c != "geometry"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(back[cols]), pd.DataFrame(villages[cols]), check_dtype=False
    )
    _assert_same_geometry(back.geometry, villages.geometry, tol=0)
    types = dict(
        db.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'villages'",
            [schema],
        ).fetchall()
    )
    assert types["covered"] == "boolean" and types["n_facilities"] == "bigint"
    assert types["population"] == "double precision" and types["geom"] == "USER-DEFINED"
    srid = db.execute(f"SELECT Find_SRID('{schema}', 'villages', 'geom')").fetchone()[0]
    assert srid == 4326
    got = db.execute(f"SELECT * FROM {schema}.coverage ORDER BY standard").fetchall()
    assert got[0] == ("大理市", "health.township_30min", 0.81, 3)
    # replace with fewer rows; append; fail
    write_postgis(villages.iloc[:1], dsn, "villages", schema=schema)
    assert len(read_postgis(dsn, table=f"{schema}.villages")) == 1
    write_postgis(villages.iloc[1:], dsn, "villages", schema=schema, if_exists="append")
    assert len(read_postgis(dsn, table=f"{schema}.villages")) == 3
    with pytest.raises(ValidationError, match="already exists"):
        write_postgis(villages, dsn, "villages", schema=schema, if_exists="fail")
    db.execute(f"DROP SCHEMA {schema} CASCADE")


def _count_and_tmp(db: Any, schema: str, table: str) -> tuple[int, list[str]]:
    n = db.execute(f'SELECT count(*) FROM {schema}."{table}"').fetchone()[0]
    tmp = db.execute(
        "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND relname LIKE '\\_ynps\\_tmp\\_%%'",
        [schema],
    ).fetchall()
    return int(n), [r[0] for r in tmp]


def test_failed_write_leaves_old_table(db: Any, dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    villages, _coverage = _results()
    schema = db.schema
    write_postgis(villages, dsn, "result_villages", schema=schema)
    db.execute(f"GRANT SELECT ON {schema}.result_villages TO PUBLIC")

    # 1. the server rejects a row half way through the copy (text cannot hold NUL)
    bad = villages.copy()
    bad.loc[2, "name"] = "坏\x00数据"
    bigger = pd.concat([villages, bad], ignore_index=True)
    with pytest.raises(DataSourceError, match="nothing was changed"):
        write_postgis(bigger, dsn, "result_villages", schema=schema)
    assert _count_and_tmp(db, schema, "result_villages") == (3, [])

    # 2. a crash after the old table was dropped, before the new one is renamed into place
    real_swap = postgis._swap

    def crash(conn: Any, schema_: str, tmp: str, name: str, old: int | None) -> None:
        real_swap(conn, schema_, tmp, f"{name}_elsewhere", None)
        from psycopg import sql

        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(schema_, name)))
        msg = "simulated crash"
        raise RuntimeError(msg)

    monkeypatch.setattr(postgis, "_swap", crash)
    with pytest.raises(RuntimeError, match="simulated"):
        write_postgis(villages.iloc[:1], dsn, "result_villages", schema=schema)
    monkeypatch.undo()
    assert _count_and_tmp(db, schema, "result_villages") == (3, [])
    assert db.execute(f"SELECT to_regclass('{schema}.result_villages_elsewhere')").fetchone() == (
        None,
    )

    # 3. several tables in one transaction: a failure in the second keeps the first
    with pytest.raises(DataSourceError):
        write_postgis_tables(
            {"result_villages": villages.iloc[:1], "result_coverage": bigger}, dsn, schema=schema
        )
    assert _count_and_tmp(db, schema, "result_villages") == (3, [])

    # 4. a successful replace keeps the privileges granted on the old table
    write_postgis(villages.iloc[:2], dsn, "result_villages", schema=schema)
    assert _count_and_tmp(db, schema, "result_villages") == (2, [])
    acl = db.execute(
        "SELECT relacl::text FROM pg_class WHERE oid = to_regclass(%s)",
        [f"{schema}.result_villages"],
    ).fetchone()[0]
    assert "=r/" in acl  # PUBLIC keeps SELECT
