"""Tests for ynps_geo.io.vector: readers, writers and study-area checks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ynps_geo.errors import (
    ConfigError,
    CRSError,
    DataQualityWarning,
    DataSourceError,
    MissingDependencyError,
    ValidationError,
)
from ynps_geo.io.coords import gcj02_to_wgs84, wgs84_to_gcj02
from ynps_geo.io.vector import (
    atomic_write,
    attach_admin_names,
    check_within,
    read_boundaries,
    read_facilities,
    read_points,
    read_table,
    read_villages,
    warn_if_gcj_offset,
    write_layer,
)

CSV = (
    "name,lon,lat,type\n甲卫生院,100.1,25.5,卫生院\n乙小学,100.2,25.6,小学\n"
    "丙村卫生室,100.3,25.7,村卫生室\n"
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def points_gdf(crs: str | int = 4326, n: int = 3) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"p{i}" for i in range(n)], "kind": ["hospital"] * n},
        geometry=gpd.points_from_xy(100.0 + 0.1 * np.arange(n), 25.0 + 0.1 * np.arange(n)),
        crs=crs,
    )


# --------------------------------------------------------------------------------------------
# read_table
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_read_table_encodings(tmp_path: Path, encoding: str) -> None:
    p = write(tmp_path / "t.csv", CSV, encoding)
    df = read_table(p)
    assert list(df.columns) == ["name", "lon", "lat", "type"]
    assert df["name"].tolist() == ["甲卫生院", "乙小学", "丙村卫生室"]


def test_read_table_tab_delimited_txt(tmp_path: Path) -> None:
    p = write(tmp_path / "t.txt", CSV.replace(",", "\t"), "gbk")
    df = read_table(p, dtype=str)
    assert df.shape == (3, 4)
    assert df["lon"].tolist() == ["100.1", "100.2", "100.3"]


def test_read_table_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"nope\.csv"):
        read_table(tmp_path / "nope.csv")


def test_read_table_wrong_encoding(tmp_path: Path) -> None:
    p = write(tmp_path / "t.csv", CSV, "utf-8")
    with pytest.raises(ValidationError, match=r"t\.csv.*encoding"):
        read_table(p, encoding="ascii")


def test_read_table_empty_file(tmp_path: Path) -> None:
    p = write(tmp_path / "empty.csv", "")
    with pytest.raises(ValidationError, match=r"empty\.csv.*empty"):
        read_table(p)


def test_read_table_xlsx(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    p = tmp_path / "t.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame({"名称": ["甲"], "经度": [100.1], "纬度": [25.5]}).to_excel(
            xw, sheet_name="卫生", index=False
        )
    df = read_table(p)
    assert df["名称"].tolist() == ["甲"]
    assert read_table(p, layer="卫生").shape == (1, 3)
    with pytest.raises(ValidationError, match=r"t\.xlsx.*sheet 'x'.*卫生"):
        read_table(p, layer="x")


def test_read_table_xlsx_without_openpyxl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "t.xlsx"
    p.write_bytes(b"PK")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "openpyxl" else real(name, *a)
    )
    with pytest.raises(MissingDependencyError, match="openpyxl"):
        read_table(p)


# --------------------------------------------------------------------------------------------
# read_points: tables
# --------------------------------------------------------------------------------------------


def test_read_points_csv_requires_crs(tmp_path: Path) -> None:
    p = write(tmp_path / "pois.csv", CSV)
    with pytest.raises(CRSError, match=r"pois\.csv.*crs: wgs84\|gcj02\|bd09\|cgcs2000\|EPSG"):
        read_points(p)


def test_read_points_csv_unknown_crs(tmp_path: Path) -> None:
    p = write(tmp_path / "pois.csv", CSV)
    with pytest.raises(CRSError, match=r"pois\.csv.*'mars2'.*Accepted"):
        read_points(p, crs="mars2")


def test_read_points_csv_guess_columns(tmp_path: Path) -> None:
    p = write(tmp_path / "pois.csv", CSV, "gbk")
    gdf = read_points(p, crs="wgs84")
    assert gdf.crs.to_epsg() == 4326
    assert len(gdf) == 3
    assert gdf.geometry.x.tolist() == pytest.approx([100.1, 100.2, 100.3])
    assert gdf.attrs["dropped_no_coordinates"] == 0
    assert gdf.attrs["declared_crs"] == "wgs84"


def test_read_points_csv_chinese_columns_and_case(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", "名称,经度,纬度\n甲,100.1,25.5\n")
    assert read_points(p, crs="cgcs2000").geometry.y.tolist() == [25.5]
    p = write(tmp_path / "b.csv", "NAME,LNG,LAT\n甲,100.1,25.5\n")
    assert read_points(p, crs="wgs84").geometry.x.tolist() == [100.1]


def test_read_points_csv_gcj02_converted(tmp_path: Path) -> None:
    p = write(tmp_path / "pois.csv", CSV)
    gdf = read_points(p, crs="gcj02", x="lon", y="lat")
    lon, lat = gcj02_to_wgs84([100.1, 100.2, 100.3], [25.5, 25.6, 25.7])
    assert np.allclose(gdf.geometry.x, lon) and np.allclose(gdf.geometry.y, lat)


def test_read_points_csv_bd09_and_epsg(tmp_path: Path) -> None:
    p = write(tmp_path / "pois.csv", CSV)
    assert read_points(p, crs="bd09").geometry.x.iloc[0] != pytest.approx(100.1, abs=1e-4)
    q = write(tmp_path / "utm.csv", "id,x,y\n1,500000,2800000\n")
    gdf = read_points(q, crs="EPSG:32648")
    assert gdf.geometry.x.iloc[0] == pytest.approx(105.0, abs=1e-6)


def test_read_points_csv_wkt(tmp_path: Path) -> None:
    p = write(
        tmp_path / "w.csv",
        'id,wkt\n1,POINT (100.1 25.5)\n2,"POLYGON ((100 25, 100.2 25, '
        '100.2 25.2, 100 25.2, 100 25))"\n3,\n',
    )
    with pytest.warns(DataQualityWarning, match=r"w\.csv: 1 of 3"):
        gdf = read_points(p, crs="wgs84", wkt="wkt")
    assert len(gdf) == 2
    assert (gdf.geom_type == "Point").all()
    assert gdf.attrs["converted_to_points"] == 1
    assert "wkt" not in gdf.columns


def test_read_points_drops_and_counts_missing(tmp_path: Path) -> None:
    text = "id,lon,lat\n1,100.1,25.5\n2,,25.6\n3,100.3,\n4,100.4,25.8\n5,无,无\n6,0,0\n"
    p = write(tmp_path / "reg.csv", text)
    with pytest.warns(DataQualityWarning) as rec:
        gdf = read_points(p, crs="wgs84")
    msg = str(rec[0].message)
    assert "reg.csv" in msg and "4 of 6" in msg
    assert "rows 3, 4, 6, 7" in msg  # spreadsheet rows, header = row 1
    assert "'无'" in msg
    assert gdf.attrs["dropped_no_coordinates"] == 4
    assert gdf["id"].tolist() == ["1", "4"]


def test_read_points_all_missing(tmp_path: Path) -> None:
    p = write(tmp_path / "none.csv", "id,lon,lat\n1,,\n2,,\n")
    with pytest.raises(ValidationError, match=r"none\.csv: none of the 2 rows"):
        read_points(p, crs="wgs84")


@pytest.mark.parametrize(
    "text",
    [
        "id,lon,lat\n1,25.5,100.1\n2,25.6,100.2\n",  # China: lon in 20-55, lat in 70-140
        "id,lon,lat\n1,45.5,-120.1\n",  # |y| > 90 where |x| <= 90
    ],
)
def test_read_points_swapped(tmp_path: Path, text: str) -> None:
    p = write(tmp_path / "swap.csv", text)
    with pytest.raises(ValidationError, match=r"swap\.csv.*'lon'.*'lat'.*swapped.*x: lat, y: lon"):
        read_points(p, crs="wgs84")


def test_read_points_few_rows_swapped_named_not_columns(tmp_path: Path) -> None:
    rows = "".join(f"{i},100.{i},25.{i}\n" for i in range(1, 9))
    p = write(tmp_path / "pts.csv", "id,lon,lat\n" + rows + "9,25.9,100.9\n")
    with pytest.raises(ValidationError, match=r"pts\.csv: 1 of 9 rows .*row 10.*those rows") as e:
        read_points(p, crs="wgs84")
    assert "x: lat" not in str(e.value)  # the columns are right: no advice to swap them


def test_read_points_projected_declared_as_degrees(tmp_path: Path) -> None:
    p = write(tmp_path / "proj.csv", "id,x,y\n1,500000,2800000\n")
    with pytest.raises(ValidationError, match=r"proj\.csv.*EPSG:"):
        read_points(p, crs="wgs84")


def test_read_points_missing_column(tmp_path: Path) -> None:
    p = write(tmp_path / "pois.csv", CSV)
    with pytest.raises(ValidationError, match=r"pois\.csv.*'lng'.*`x:`.*name, lon, lat, type"):
        read_points(p, crs="wgs84", x="lng", y="lat")


def test_read_points_no_coordinate_columns(tmp_path: Path) -> None:
    p = write(tmp_path / "nocoord.csv", "id,a,b\n1,2,3\n")
    with pytest.raises(ValidationError, match=r"nocoord\.csv.*id, a, b"):
        read_points(p, crs="wgs84")


def test_read_points_x_without_y(tmp_path: Path) -> None:
    p = write(tmp_path / "pois.csv", CSV)
    with pytest.raises(ConfigError, match="y:"):
        read_points(p, crs="wgs84", x="lon")


def test_read_points_empty_table(tmp_path: Path) -> None:
    p = write(tmp_path / "hdr.csv", "id,lon,lat\n")
    with pytest.raises(ValidationError, match=r"hdr\.csv.*empty"):
        read_points(p, crs="wgs84")


def test_read_points_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"missing\.gpkg"):
        read_points(tmp_path / "missing.gpkg")


# --------------------------------------------------------------------------------------------
# read_points: vector files
# --------------------------------------------------------------------------------------------


def test_read_points_gpkg_embedded_and_gcj_override(tmp_path: Path) -> None:
    p = tmp_path / "amap.gpkg"
    points_gdf().to_file(p, layer="pois")
    gdf = read_points(p)
    assert gdf.geometry.x.tolist() == pytest.approx([100.0, 100.1, 100.2])
    shifted = read_points(p, crs="gcj02")
    lon, _ = gcj02_to_wgs84([100.0, 100.1, 100.2], [25.0, 25.1, 25.2])
    assert np.allclose(shifted.geometry.x, lon)
    assert shifted.attrs["declared_crs"] == "gcj02"


def test_read_points_projected_gpkg(tmp_path: Path) -> None:
    p = tmp_path / "utm.gpkg"
    points_gdf().to_crs(32647).to_file(p)
    gdf = read_points(p)
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.x.tolist() == pytest.approx([100.0, 100.1, 100.2], abs=1e-7)
    with pytest.raises(CRSError, match=r"utm\.gpkg.*projected"):
        read_points(p, crs="gcj02")


def test_read_points_declared_differs_from_embedded(tmp_path: Path) -> None:
    p = tmp_path / "utm.gpkg"
    points_gdf().to_crs(32647).to_file(p)
    with pytest.warns(DataQualityWarning, match=r"utm\.gpkg.*EPSG:32648.*EPSG:32647"):
        read_points(p, crs="EPSG:32648")


@pytest.mark.parametrize("suffix", [".geojson", ".shp", ".parquet", ".geoparquet"])
def test_read_points_formats(tmp_path: Path, suffix: str) -> None:
    p = tmp_path / f"pts{suffix}"
    gdf0 = points_gdf()
    if suffix in (".parquet", ".geoparquet"):
        gdf0.to_parquet(p)
    else:
        gdf0.to_file(p)
    gdf = read_points(p)
    assert len(gdf) == 3 and gdf.crs.to_epsg() == 4326
    assert gdf["name"].tolist() == ["p0", "p1", "p2"]


def test_read_points_multilayer_gpkg(tmp_path: Path) -> None:
    p = tmp_path / "multi.gpkg"
    points_gdf().to_file(p, layer="clinics")
    points_gdf().to_file(p, layer="schools")
    with pytest.raises(ValidationError, match=r"multi\.gpkg.*clinics.*schools.*layer:"):
        read_points(p)
    with pytest.raises(ValidationError, match=r"multi\.gpkg.*'nope'.*clinics"):
        read_points(p, layer="nope")
    assert len(read_points(p, layer="schools")) == 3


def test_read_points_empty_layer(tmp_path: Path) -> None:
    p = tmp_path / "empty.gpkg"
    points_gdf().iloc[:0].to_file(p)
    with pytest.raises(ValidationError, match=r"empty\.gpkg.*empty"):
        read_points(p)


def test_read_points_null_geometry_counted(tmp_path: Path) -> None:
    p = tmp_path / "nulls.gpkg"
    gdf0 = points_gdf()
    gdf0.loc[1, "geometry"] = None
    gdf0.to_file(p)
    with pytest.warns(DataQualityWarning, match=r"nulls\.gpkg: 1 of 3.*rows 2"):
        gdf = read_points(p)
    assert gdf.attrs["dropped_no_coordinates"] == 1


def test_read_points_unreadable(tmp_path: Path) -> None:
    p = write(tmp_path / "junk.gpkg", "not a geopackage")
    with pytest.raises(DataSourceError, match=r"junk\.gpkg"):
        read_points(p)


# --------------------------------------------------------------------------------------------
# read_boundaries
# --------------------------------------------------------------------------------------------


def square(x0: float, y0: float, d: float = 0.1) -> shapely.Polygon:
    return shapely.box(x0, y0, x0 + d, y0 + d)


def test_read_boundaries_names_and_repair(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(100, 25), (100.1, 25.1), (100.1, 25), (100, 25.1)])
    gdf0 = gpd.GeoDataFrame(
        {"名称": ["甲县", "乙县", "丙县"], "code": ["1", "2", "3"]},
        geometry=[square(100, 25), bowtie, None],
        crs=4326,
    )
    p = tmp_path / "b.gpkg"
    gdf0.to_file(p)
    with pytest.warns(DataQualityWarning) as rec:
        b = read_boundaries(p)
    text = " | ".join(str(w.message) for w in rec)
    assert "1 invalid polygons" in text and "1 features have no geometry" in text
    assert b["county"].tolist() == ["甲县", "乙县"]
    assert b.attrs["repaired_geometries"] == 1
    assert b.attrs["dropped_null_geometries"] == 1
    assert b.is_valid.all()
    assert set(b.geom_type) <= {"Polygon", "MultiPolygon"}
    assert list(b.columns[:1]) == ["county"] and "code" in b.columns


def test_read_boundaries_name_field_and_default(tmp_path: Path) -> None:
    gdf0 = gpd.GeoDataFrame(
        {"xm": ["A", "B"]}, geometry=[square(100, 25), square(101, 25)], crs=4326
    )
    p = tmp_path / "b.geojson"
    gdf0.to_file(p)
    assert read_boundaries(p, name_field="xm")["county"].tolist() == ["A", "B"]
    assert read_boundaries(p)["county"].tolist() == ["1", "2"]
    with pytest.raises(ValidationError, match=r"b\.geojson.*'NAME'.*name_field.*xm"):
        read_boundaries(p, name_field="NAME")


def test_read_boundaries_rejects_points(tmp_path: Path) -> None:
    p = tmp_path / "pts.geojson"
    points_gdf().to_file(p)
    with pytest.raises(ValidationError, match=r"pts\.geojson.*polygons.*Point"):
        read_boundaries(p)


def test_read_boundaries_gcj02_real(shared) -> None:
    folder = "admin-yunnan-cnmaps-amap"
    b = read_boundaries(
        shared.path(folder, "yunnan_counties_gcj02.geojson"), crs="gcj02", name_field="district"
    )
    ref = gpd.read_file(shared.path(folder, "yunnan_counties_wgs84_from_gcj02.geojson"))
    assert len(b) == 129 and b.crs.to_epsg() == 4326
    assert "大理市" in set(b["county"])
    assert np.allclose(b.total_bounds, ref.total_bounds, atol=1e-5)


# --------------------------------------------------------------------------------------------
# read_villages
# --------------------------------------------------------------------------------------------

VILLAGES = (
    "code,村名,pop,type,乡镇,县\n"
    '053290100301,龙溪社区,"1,200",城镇,下关街道,大理市\n'
    "053290100302,兴盛村,800,农村,下关街道,大理市\n"
    "053290100303,泰安村,650,rural,下关街道,大理市\n"
)
VSPEC = {
    "path": "v.csv",
    "crs": "wgs84",
    "x": "x",
    "y": "y",
    "id": "code",
    "name": "村名",
    "population": "pop",
    "setting": "type",
    "township": "乡镇",
    "county": "县",
}


def village_csv(tmp_path: Path, body: str = VILLAGES, encoding: str = "gbk") -> Path:
    lines = body.splitlines()
    out = [lines[0] + ",x,y"] + [
        f"{ln},{100.1 + i * 0.01},{25.6}" for i, ln in enumerate(lines[1:])
    ]
    return write(tmp_path / "v.csv", "\n".join(out) + "\n", encoding)


def test_read_villages(tmp_path: Path) -> None:
    village_csv(tmp_path)
    v = read_villages(VSPEC, tmp_path)
    assert list(v.columns) == [
        "village_id",
        "name",
        "population",
        "setting",
        "township",
        "county",
        "geometry",
    ]
    assert v["village_id"].tolist() == ["053290100301", "053290100302", "053290100303"]
    assert v["population"].tolist() == [1200.0, 800.0, 650.0]
    assert v["setting"].tolist() == ["urban", "rural", "rural"]
    assert v["county"].tolist() == ["大理市"] * 3
    assert v.crs.to_epsg() == 4326


def test_read_villages_defaults(tmp_path: Path) -> None:
    village_csv(tmp_path)
    v = read_villages({"path": "v.csv", "crs": "wgs84"}, tmp_path)
    assert v["village_id"].tolist() == ["v-1", "v-2", "v-3"]
    assert v["setting"].tolist() == ["rural"] * 3
    assert v["population"].isna().all()
    assert v["name"].tolist() == ["龙溪社区", "兴盛村", "泰安村"]


def test_read_villages_duplicate_ids(tmp_path: Path) -> None:
    village_csv(tmp_path, VILLAGES.replace("053290100302", "053290100301"))
    with pytest.raises(ValidationError, match=r"v\.csv.*'code'.*duplicate.*053290100301"):
        read_villages(VSPEC, tmp_path)


def test_read_villages_negative_population(tmp_path: Path) -> None:
    village_csv(tmp_path, VILLAGES.replace(",800,", ",-5,"))
    with pytest.raises(ValidationError, match=r"v\.csv.*'pop'.*negative.*053290100302"):
        read_villages(VSPEC, tmp_path)


def test_read_villages_missing_population(tmp_path: Path) -> None:
    village_csv(tmp_path, VILLAGES.replace(",800,", ",,"))
    with pytest.raises(ValidationError, match=r"v\.csv.*'pop'.*empty.*053290100302.*drop"):
        read_villages(VSPEC, tmp_path)


def test_read_villages_text_population(tmp_path: Path) -> None:
    village_csv(tmp_path, VILLAGES.replace(",800,", ",约800人,"))
    with pytest.raises(ValidationError, match=r"v\.csv.*'pop'.*not numbers.*约800人"):
        read_villages(VSPEC, tmp_path)


def test_read_villages_bad_setting(tmp_path: Path) -> None:
    village_csv(tmp_path, VILLAGES.replace("农村", "山区"))
    with pytest.raises(ValidationError, match=r"v\.csv.*'type'.*山区"):
        read_villages(VSPEC, tmp_path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("城市", "urban"),
        ("社区", "urban"),
        ("Urban", "urban"),
        ("乡村", "rural"),
        ("村", "rural"),
        ("111", "urban"),
        ("220", "rural"),
    ],
)
def test_read_villages_setting_values(tmp_path: Path, value: str, expected: str) -> None:
    village_csv(tmp_path, VILLAGES.replace("城镇", value))
    assert read_villages(VSPEC, tmp_path)["setting"].iloc[0] == expected


def test_read_villages_unknown_key_and_missing_column(tmp_path: Path) -> None:
    village_csv(tmp_path)
    with pytest.raises(ConfigError, match="popluation"):
        read_villages({**VSPEC, "popluation": "pop"}, tmp_path)
    with pytest.raises(ValidationError, match=r"v\.csv.*'人口'.*population"):
        read_villages({**VSPEC, "population": "人口"}, tmp_path)
    with pytest.raises(ConfigError, match="path"):
        read_villages({"crs": "wgs84"}, tmp_path)
    with pytest.raises(DataSourceError, match=r"nope\.csv"):
        read_villages({**VSPEC, "path": "nope.csv"}, tmp_path)


# --------------------------------------------------------------------------------------------
# read_facilities
# --------------------------------------------------------------------------------------------

FAC = (
    "fid,名称,类型,床位数,lng,lat\n"
    "a1,甲镇中心卫生院,中心卫生院,40,100.1,25.5\n"
    "a2,乙村卫生室,村卫生室,,100.2,25.6\n"
    "a3,丙药店,药店,,100.3,25.7\n"
    "a4,丁药店,药店,,100.4,25.8\n"
    "a5,戊小学,小学,,100.5,25.9\n"
    "a6,己,,,100.6,26.0\n"
)


def test_read_facilities_category_field(tmp_path: Path) -> None:
    write(tmp_path / "pois.csv", FAC, "gbk")
    spec = {
        "path": "pois.csv",
        "crs": "gcj02",
        "x": "lng",
        "y": "lat",
        "id": "fid",
        "name": "名称",
        "category_field": "类型",
        "capacity": {"beds": "床位数"},
    }
    with pytest.warns(DataQualityWarning, match=r"pois\.csv: 3 of 6.*'药店': 2.*'<empty>': 1"):
        f = read_facilities(spec, tmp_path)
    assert list(f.columns) == [
        "facility_id",
        "name",
        "category",
        "subtype",
        "type_raw",
        "source",
        "beds",
        "geometry",
    ]
    assert f["facility_id"].tolist() == ["a1", "a2", "a5"]
    assert f["category"].tolist() == ["health", "health", "school"]
    assert f["subtype"].tolist() == ["township_health_centre", "village_clinic", "primary_school"]
    assert f["type_raw"].tolist() == ["中心卫生院", "村卫生室", "小学"]
    assert f["source"].unique().tolist() == ["pois.csv"]
    assert f["beds"].iloc[0] == 40.0 and np.isnan(f["beds"].iloc[1])
    assert f.attrs["unknown_types"] == {"药店": 2, "<empty>": 1}
    assert f.geometry.x.iloc[0] == pytest.approx(float(gcj02_to_wgs84(100.1, 25.5)[0]))


def test_read_facilities_layer_category(tmp_path: Path) -> None:
    p = tmp_path / "clinics.gpkg"
    gdf0 = points_gdf()
    gdf0["beds"] = [10, 20, 30]
    gdf0.to_file(p)
    f = read_facilities({"path": "clinics.gpkg", "category": "village_clinic"}, tmp_path)
    assert f["facility_id"].tolist() == ["clinics-1", "clinics-2", "clinics-3"]
    assert set(f["category"]) == {"health"} and set(f["subtype"]) == {"village_clinic"}
    assert set(f["type_raw"]) == {"village_clinic"}
    assert f["beds"].tolist() == [10.0, 20.0, 30.0]
    assert f["name"].tolist() == ["p0", "p1", "p2"]
    assert f.attrs["unknown_types"] == {}
    g = read_facilities({"path": "clinics.gpkg", "category": "卫生院"}, tmp_path)
    assert set(g["subtype"]) == {"township_health_centre"}


def test_read_facilities_osm_tags(tmp_path: Path) -> None:
    gdf0 = points_gdf(n=4)
    gdf0["amenity"] = ["hospital", "pharmacy", None, "social_facility"]
    gdf0["leisure"] = [None, None, "pitch", None]
    gdf0["social_facility"] = [None, None, None, "nursing_home"]
    gdf0["social_facility:for"] = [None, None, None, "senior"]
    gdf0.to_file(tmp_path / "osm.geojson")
    with pytest.warns(DataQualityWarning, match=r"amenity=pharmacy': 1"):
        f = read_facilities({"path": "osm.geojson", "osm_tags": True}, tmp_path)
    assert f["subtype"].tolist() == ["hospital", "pitch", "elder_care_institution"]
    assert f["type_raw"].tolist() == [
        "amenity=hospital",
        "leisure=pitch",
        "amenity=social_facility",
    ]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"category": "spaceport"}, r"pois\.csv.*spaceport.*health"),
        ({"category": "health", "category_field": "类型"}, r"pois\.csv.*not both"),
        ({}, r"pois\.csv.*category"),
        ({"category_field": "kind"}, r"pois\.csv.*'kind'.*fid, 名称, 类型"),
        ({"capacity": {"seats": "床位数"}}, r"pois\.csv.*capacity"),
        ({"osm_tags": True}, r"pois\.csv.*OSM columns"),
    ],
)
def test_read_facilities_bad_specs(tmp_path: Path, extra: dict, match: str) -> None:
    write(tmp_path / "pois.csv", FAC)
    spec = {"path": "pois.csv", "crs": "wgs84", "x": "lng", "y": "lat", **extra}
    with pytest.raises(ValidationError, match=match):
        read_facilities(spec, tmp_path)


def test_read_facilities_negative_capacity(tmp_path: Path) -> None:
    write(tmp_path / "pois.csv", FAC.replace(",40,", ",-4,"))
    spec = {
        "path": "pois.csv",
        "crs": "wgs84",
        "id": "fid",
        "category": "health",
        "capacity": {"beds": "床位数"},
    }
    with pytest.raises(ValidationError, match=r"pois\.csv.*'床位数'.*negative.*a1"):
        read_facilities(spec, tmp_path)


def test_read_facilities_real_osm(shared) -> None:
    folder = shared.path("osm-pois-yunnan-geopi")
    raw = gpd.read_file(folder / "yunnan_osm_facilities.geojson")
    with pytest.warns(DataQualityWarning, match="pharmacy"):
        f = read_facilities({"path": "yunnan_osm_facilities.geojson", "osm_tags": True}, folder)
    unknown = f.attrs["unknown_types"]
    assert len(f) + sum(unknown.values()) == len(raw) == 2549
    assert f.crs.to_epsg() == 4326
    assert set(unknown) == {
        "pharmacy",
        "police",
        "post_office",
        "college",
        "university",
        "courthouse",
        "fire_station",
        "dentist",
    }
    assert unknown["pharmacy"] == 223
    kinds = f.assign(fclass=f["type_raw"])
    cat = kinds.groupby("fclass")["category"].agg(lambda s: set(s))
    assert cat["school"] <= {"school", "vocational_school", "kindergarten"}
    assert cat["hospital"] == {"health"}
    assert cat["clinic"] == {"health"}
    assert cat["kindergarten"] == {"kindergarten"}
    assert cat["library"] == {"culture"}
    assert cat["museum"] == {"culture"}
    counts = f["category"].value_counts()
    assert counts["school"] >= 1000 and counts["health"] >= 300
    assert (f["subtype"] == "primary_school").sum() > 300
    assert (f["subtype"] == "township_health_centre").sum() >= 10


# --------------------------------------------------------------------------------------------
# Study-area checks
# --------------------------------------------------------------------------------------------

BOX = shapely.box(100.0, 25.0, 100.1, 25.1)


def test_check_within(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"facility_id": ["in", "edge", "out"]},
        geometry=gpd.points_from_xy([100.05, 100.1, 100.2], [25.05, 25.05, 25.05]),
        crs=4326,
    )
    with pytest.warns(DataQualityWarning, match=r"1 of 3 facilities.*out.*kept"):
        kept = check_within(gdf, BOX, what="facilities")
    assert len(kept) == 3 and kept.attrs["outside_study_area"] == 1
    with pytest.warns(DataQualityWarning, match="dropped"):
        dropped = check_within(gdf, gpd.GeoSeries([BOX], crs=4326), what="facilities", drop=True)
    assert dropped["facility_id"].tolist() == ["in", "edge"]
    # 0.1 degree east of the box is ~10 km: inside a 15 km margin
    assert (
        check_within(gdf, BOX, what="facilities", margin_m=15000).attrs["outside_study_area"] == 0
    )


def grid_points() -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.linspace(100.0005, 100.0995, 21), np.linspace(25.0005, 25.0995, 21))
    return lon.ravel(), lat.ravel()


def test_warn_if_gcj_offset() -> None:
    lon, lat = grid_points()
    glon, glat = wgs84_to_gcj02(lon, lat)
    gcj = gpd.GeoDataFrame(geometry=gpd.points_from_xy(glon, glat), crs=4326)
    gcj.attrs.update(declared_crs="wgs84", source="amap.csv")
    with pytest.warns(DataQualityWarning, match=r"amap\.csv.*GCJ-02.*crs: gcj02"):
        res = warn_if_gcj_offset(gcj, BOX)
    assert res["warned"] and res["inside_if_gcj02"] == len(lon) > res["inside"]
    assert res["near_outside"] > 0
    good = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    good.attrs.update(declared_crs="wgs84")
    assert warn_if_gcj_offset(good, BOX)["warned"] is False
    gcj.attrs["declared_crs"] = "gcj02"
    assert warn_if_gcj_offset(gcj, BOX)["checked"] is False


# --------------------------------------------------------------------------------------------
# Administrative codes
# --------------------------------------------------------------------------------------------


def test_attach_admin_names_real(shared) -> None:
    folder = shared.path("admin-codes-yunnan-nbs2023")
    villages = read_table(folder / "yunnan_villages_nbs2023.csv", dtype=str)
    out = attach_admin_names(
        villages,
        "code",
        folder / "yunnan_townships_nbs2023.csv",
        folder / "yunnan_counties_nbs2023.csv",
    )
    assert len(out) == 14888
    assert out["township"].notna().all() and out["county"].notna().all()
    assert out.attrs["unmatched_codes"] == 0
    assert (out["township_code"] == out["streetCode"]).all()
    assert (out["county_code"] == out["areaCode"]).all()
    first = out.iloc[0]
    assert (first["township"], first["county"]) == ("华山街道", "五华区")
    dali = out[out["county_code"] == "532901"]
    assert len(dali) == 144 and set(dali["county"]) == {"大理市"}


def test_attach_admin_names_errors() -> None:
    towns = pd.DataFrame({"code": ["530102001"], "name": ["华山街道"]})
    ctys = pd.DataFrame({"code": [530102], "name": ["五华区"]})
    df = pd.DataFrame({"vc": [530102001001, 530999001001]})
    with pytest.warns(DataQualityWarning, match=r"2 codes.*530999"):
        out = attach_admin_names(df, "vc", towns, ctys)
    assert out["township"].tolist()[0] == "华山街道" and pd.isna(out["county"].iloc[1])
    with pytest.raises(ValidationError, match=r"'vc'.*12-digit.*5301"):
        attach_admin_names(pd.DataFrame({"vc": ["5301"]}), "vc", towns, ctys)
    with pytest.raises(ValidationError, match=r"'code'.*vc"):
        attach_admin_names(df, "code", towns, ctys)


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gpkg", ".parquet", ".geojson", ".csv"])
def test_write_layer_round_trip(tmp_path: Path, suffix: str) -> None:
    gdf = points_gdf()
    gdf["名称"] = ["甲", "乙", "丙"]
    gdf.attrs["unknown_types"] = {"x": 1}
    p = write_layer(gdf, tmp_path / "out" / f"villages{suffix}")
    assert p.exists()
    assert sorted(q.name for q in p.parent.iterdir()) == [p.name]
    back = read_points(p, crs="wgs84") if suffix == ".csv" else read_points(p)
    assert back["名称"].tolist() == ["甲", "乙", "丙"]
    assert back.geometry.x.tolist() == pytest.approx([100.0, 100.1, 100.2])


def test_write_layer_gpkg_keeps_other_layers(tmp_path: Path) -> None:
    p = tmp_path / "out.gpkg"
    write_layer(points_gdf(n=2), p, layer="villages")
    write_layer(points_gdf(n=3), p, layer="facilities")
    write_layer(points_gdf(n=4), p, layer="facilities")
    import pyogrio

    layers = dict(pyogrio.list_layers(p)[:, :2].tolist())
    assert set(layers) == {"villages", "facilities"}
    assert len(gpd.read_file(p, layer="facilities")) == 4
    assert len(gpd.read_file(p, layer="villages")) == 2


def test_write_layer_bad_extension(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"out\.kml.*\.gpkg"):
        write_layer(points_gdf(), tmp_path / "out.kml")


def test_atomic_write(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [q.name for q in tmp_path.iterdir()] == ["report.html"]
    with atomic_write(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".html"
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert [q.name for q in tmp_path.iterdir()] == ["report.html"]
