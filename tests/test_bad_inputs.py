"""Issue 11: inputs that used to give a plausible, wrong table with exit 0, and output folders
that lied. Each case runs on a small generated demo county (12 km, 250 m cells) with one thing
broken, and checks the error, the warning or the intact folder the user now gets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from ynps_geo import workflows
from ynps_geo.cli import main
from ynps_geo.config import load_config
from ynps_geo.errors import (
    ConfigError,
    CRSError,
    DataSourceError,
    ValidationError,
    YnpsGeoError,
)

STANDARDS = ["health_15min", "basic_services_90min_rural", "county_care_institution"]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo generator's inputs for a 12 km county, and ``small.yaml`` at 250 m cells."""
    from ynps_geo.datasets import generate_demo

    data = tmp_path_factory.mktemp("small") / "data"
    cfg = generate_demo(data, size_km=12)
    d = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    d.update(resolution_m=250, margin_m=3000, facility_isochrones="none", standards=STANDARDS)
    (data / "small.yaml").write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    return data


@pytest.fixture(scope="module")
def baseline(small: Path) -> Any:
    """The small county's result with nothing broken."""
    return workflows.run(load_config(small / "small.yaml"))


def _config(small: Path, tmp_path: Path, **changes: Any) -> Path:
    """A copy of the small county's inputs under ``tmp_path/data`` with config changes."""
    data = tmp_path / "data"
    if not data.exists():
        shutil.copytree(small, data)
    d = yaml.safe_load((data / "small.yaml").read_text(encoding="utf-8"))
    d.update(changes)
    path = data / "my.yaml"
    path.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [e for e in err if e.startswith("ynps-geo: error:")]
    assert len(errors) == 1, err
    return errors[0]


def _all(result: Any, sid: str) -> pd.Series:
    cov = result.coverage
    return cov[(cov.county == "ALL") & (cov.standard_id == sid)].iloc[0]


# ---- 1. duplicated counties ------------------------------------------------------------------


def test_a_duplicated_county_feature_is_merged_not_counted_twice(
    small: Path, tmp_path: Path, baseline: Any
) -> None:
    import geopandas as gpd

    cfg = _config(small, tmp_path, boundary={"path": "twice.geojson", "crs": "wgs84"})
    b = gpd.read_file(tmp_path / "data" / "boundary.geojson")
    gpd.GeoDataFrame(pd.concat([b, b]), crs=b.crs).to_file(tmp_path / "data" / "twice.geojson")
    result = workflows.run(load_config(cfg))
    assert len(result.villages) == len(baseline.villages)  # not 2x
    assert result.villages.population.sum() == baseline.villages.population.sum()
    assert len(result.counties) == 1
    note = next(n for n in result.notes if "merged into one county" in n)
    assert "duplicated feature" in note and b["name"].iloc[0] in note
    pd.testing.assert_frame_equal(result.coverage, baseline.coverage)


def test_a_county_split_into_two_polygons_of_one_name_is_one_county(
    small: Path, tmp_path: Path, baseline: Any
) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    cfg = _config(small, tmp_path, boundary={"path": "halves.geojson", "crs": "wgs84"})
    b = gpd.read_file(tmp_path / "data" / "boundary.geojson")
    g = b.geometry.iloc[0]
    x0, y0, x1, y1 = g.bounds
    xm = (x0 + x1) / 2
    halves = [g.intersection(box(x0, y0, xm, y1)), g.intersection(box(xm, y0, x1, y1))]
    name = b["name"].iloc[0]
    gpd.GeoDataFrame({"name": [name, name]}, geometry=halves, crs=b.crs).to_file(
        tmp_path / "data" / "halves.geojson"
    )
    result = workflows.run(load_config(cfg))
    assert len(result.villages) == len(baseline.villages)
    assert result.villages.population.sum() == baseline.villages.population.sum()
    assert set(result.coverage.county) == {name, "ALL"}
    assert any("2 polygons are named" in n for n in result.notes)


def test_two_names_on_the_same_polygon_is_an_error_naming_both(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import geopandas as gpd

    cfg = _config(small, tmp_path, boundary={"path": "two.geojson", "crs": "wgs84"})
    b = gpd.read_file(tmp_path / "data" / "boundary.geojson")
    other = b.assign(name="复制县")
    gpd.GeoDataFrame(pd.concat([b, other]), crs=b.crs).to_file(tmp_path / "data" / "two.geojson")
    with pytest.raises(ValidationError, match="same polygon"):
        workflows.load_inputs(load_config(cfg))
    assert main(["-q", "analyze", str(cfg), "--out", str(tmp_path / "out")]) == 1
    line = _one_line_error(capsys)
    assert "复制县" in line and b["name"].iloc[0] in line
    assert not (tmp_path / "out" / "coverage.csv").exists()


# ---- 2. DEM without valid elevation over the county ------------------------------------------


def _write_dem(src: Path, dst: Path, *, shift_m: float = 0.0, keep_cols: float = 1.0) -> None:
    import rasterio
    from rasterio.transform import Affine

    with rasterio.open(src) as s:
        arr = s.read(1)
        profile = s.profile
    t = profile["transform"]
    profile["transform"] = Affine(t.a, t.b, t.c + shift_m, t.d, t.e, t.f)
    if keep_cols < 1.0:
        arr[:, int(arr.shape[1] * keep_cols) :] = profile["nodata"]
    with rasterio.open(dst, "w", **profile) as d:
        d.write(arr, 1)


def test_an_all_nodata_dem_is_an_error_not_flat_terrain(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(small, tmp_path, dem={"path": "void.tif"})
    _write_dem(small / "dem.tif", tmp_path / "data" / "void.tif", keep_cols=0.0)
    with pytest.raises(ValidationError, match=r"void\.tif.*no valid value"):
        workflows.run(load_config(cfg))
    assert main(["-q", "analyze", str(cfg), "--out", str(tmp_path / "out")]) == 1
    assert "void.tif" in _one_line_error(capsys)


def test_a_dem_beside_the_county_names_both_extents(small: Path, tmp_path: Path) -> None:
    cfg = _config(small, tmp_path, dem={"path": "beside.tif"})
    _write_dem(small / "dem.tif", tmp_path / "data" / "beside.tif", shift_m=200_000.0)
    with pytest.raises(ValidationError) as err:
        workflows.run(load_config(cfg))
    msg = str(err.value)
    assert "beside.tif" in msg and "does not overlap" in msg
    assert msg.count("lon ") == 2  # the DEM's extent and the counties'


def test_a_dem_covering_part_of_the_county_is_a_warning_in_the_report(
    small: Path, tmp_path: Path
) -> None:
    cfg = _config(small, tmp_path, dem={"path": "part.tif"})
    _write_dem(small / "dem.tif", tmp_path / "data" / "part.tif", keep_cols=0.5)
    workflows.analyze(cfg, tmp_path / "out")
    import html as html_lib

    html = html_lib.unescape((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    assert "warning:" in html and "of the county's DEM cells have no elevation" in html
    assert "part.tif" in html


def test_a_dem_missing_one_county_fails_that_county_naming_the_dem(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import geopandas as gpd
    from shapely.affinity import translate

    cfg = _config(small, tmp_path, boundary={"path": "two.geojson", "crs": "wgs84"})
    b = gpd.read_file(tmp_path / "data" / "boundary.geojson")
    far = b.assign(name="远方县", geometry=[translate(g, xoff=0.5) for g in b.geometry])
    gpd.GeoDataFrame(pd.concat([b, far]), crs=b.crs).to_file(tmp_path / "data" / "two.geojson")
    assert main(["-q", "analyze", str(cfg), "--out", str(tmp_path / "out")]) == 3
    line = _one_line_error(capsys)
    assert "远方县" in line and "dem.tif" in line and "no valid elevation" in line


# ---- 4. every option checked for type and range, before any work -----------------------------


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("margin_m", -5000, ">= 0|greater than or equal to 0"),
        ("resolution_m", 0, "greater than 0"),
        ("walking_speed_kmh", 0, "greater than 0"),
        ("walking_speed_kmh", "fast", "valid number"),
        ("offroad_factor", 1.5, "less than or equal to 1"),
        ("offroad_factor", 0, "greater than 0"),
        ("connectivity", 4, "8 or 16"),
        ("jobs", 0, "greater than or equal to 1"),
        ("access_threshold_min", -1, "greater than 0"),
        ("max_slope_deg", 120, "less than or equal to 90"),
        ("speeds", {"track": 0}, "greater than 0"),
        ("margin_m", True, "not true/false"),
        ("language", "fr", "'zh' or 'en'"),
    ],
)
def test_options_are_checked_before_any_work(
    small: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: str,
    value: Any,
    words: str,
) -> None:
    cfg = _config(small, tmp_path, **{key: value})
    with pytest.raises(ConfigError, match=words) as err:
        load_config(cfg)
    assert f"'{key}" in str(err.value) and "Fix:" in str(err.value)
    out = tmp_path / "out"
    assert main(["analyze", str(cfg), "--out", str(out)]) == 1
    assert key in _one_line_error(capsys)
    assert not out.exists()  # refused before the output folder was even made


def test_threshold_overrides_must_be_positive(small: Path, tmp_path: Path) -> None:
    cfg = _config(small, tmp_path, standards_overrides=[{"id": "health_15min", "threshold": 0}])
    with pytest.raises(ConfigError, match="threshold"):
        load_config(cfg)


@pytest.mark.parametrize("value", [0, 1.5, True, {"health_15min": 1}, [["health_15min"]]])
def test_standards_must_be_a_list_of_ids(small: Path, tmp_path: Path, value: Any) -> None:
    """Found by the fuzzed configs: ``standards: 0`` was a TypeError, not a config error."""
    with pytest.raises(ConfigError, match="'standards'"):
        load_config(_config(small, tmp_path, standards=value))


def test_options_from_the_command_line_are_checked_too(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(small, tmp_path)
    assert main(["analyze", str(cfg), "--out", str(tmp_path / "o"), "--jobs", "0"]) == 1
    assert "'jobs'" in _one_line_error(capsys)


def test_config_json_schema(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from ynps_geo.config_model import config_schema

    schema = config_schema()
    props = schema["properties"]
    assert props["margin_m"]["minimum"] == 0
    assert props["resolution_m"]["exclusiveMinimum"] == 0
    assert props["connectivity"]["enum"] == [8, 16]
    assert schema["additionalProperties"] is False
    good = yaml.safe_load((small / "small.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(good, schema)  # the demo's own config passes
    for bad in ({**good, "margin_m": -5000}, {**good, "conectivity": 8}, {**good, "jobs": 0}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    assert main(["config-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == schema


# ---- 5. implausible populations --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1e12", r"villages\.csv.*'pop'.*implausible.*V_ROW \(1,000,000,000,000\)"),
        ("inf", r"villages\.csv.*'pop'.*infinite.*V_ROW"),
        ("NaN", r"villages\.csv.*'pop'.*not a number.*V_ROW"),
    ],
)
def test_implausible_populations_are_errors_naming_the_row(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, words: str
) -> None:
    cfg = _config(small, tmp_path)
    path = tmp_path / "data" / "villages.csv"
    v = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = v["code"].iloc[3]
    v.loc[3, "pop"] = value
    v.to_csv(path, index=False)
    with pytest.raises(ValidationError, match=words.replace("V_ROW", row)):
        workflows.load_inputs(load_config(cfg))
    assert main(["-q", "analyze", str(cfg), "--out", str(tmp_path / "out")]) == 1
    line = _one_line_error(capsys)
    assert row in line and "before computing access" not in line


# ---- 6 and 9. the output folder: whole, checked first, the file named on a full disk --------


def test_analyze_swaps_in_a_whole_folder_and_keeps_the_users_files(
    small: Path, tmp_path: Path
) -> None:
    cfg = _config(small, tmp_path)
    out = tmp_path / "out"
    workflows.analyze(cfg, out)
    (out / "data").mkdir()
    (out / "data" / "mine.yaml").write_text("kept\n", encoding="utf-8")
    (out / "facility_isochrones.gpkg").write_bytes(b"stale output of an earlier run")
    workflows.analyze(cfg, out)
    assert (out / "data" / "mine.yaml").read_text(encoding="utf-8") == "kept\n"
    assert not (out / "facility_isochrones.gpkg").exists()  # not written by this run: dropped
    assert (out / "coverage.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folders"


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
def test_an_interrupted_or_failed_write_leaves_the_previous_outputs_intact(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: type
) -> None:
    from ynps_geo.report import render

    cfg = _config(small, tmp_path)
    out = tmp_path / "out"
    workflows.analyze(cfg, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    cfg2 = _config(small, tmp_path, standards=["health_15min"], resolution_m=300)

    def broken(result: Any, out_dir: Path) -> Any:
        assert (Path(out_dir) / "coverage.csv").exists()  # the new table is written already
        if failure is OSError:
            raise OSError(28, "No space left on device")
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "write_reports", broken)
    if failure is OSError:
        with pytest.raises(DataSourceError) as err:
            workflows.analyze(cfg2, out)
        msg = str(err.value)
        assert "report.html" in msg and "No space left on device" in msg
        assert "nothing in" in msg and str(out) in msg
    else:
        with pytest.raises(KeyboardInterrupt):
            workflows.analyze(cfg2, out)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before  # the old coverage.csv beside the old report, nothing mixed
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folders"


def test_the_output_folder_is_checked_before_computing(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(small, tmp_path)
    a_file = tmp_path / "results.txt"
    a_file.write_text("not a folder\n", encoding="utf-8")

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("computed before checking the output folder")

    monkeypatch.setattr(workflows, "run", never)
    with pytest.raises(DataSourceError, match="is a file"):
        workflows.analyze(cfg, a_file)  # the Python API too (it raised FileExistsError late)
    assert main(["analyze", str(cfg), "--out", str(a_file)]) == 1
    assert "results.txt" in _one_line_error(capsys)
    assert main(["analyze", str(cfg), "--out", str(a_file / "sub")]) == 1
    assert "results.txt" in _one_line_error(capsys)
    assert main(["report", str(cfg), "--out", str(a_file)]) == 1


# ---- 7 and 8. inputs that hit every county: exit 1, nothing written, the old report kept -------


def _no_crs_dem(src: Path, dst: Path) -> None:
    import rasterio

    with rasterio.open(src) as s:
        arr = s.read(1)
        profile = s.profile
    profile.pop("crs", None)
    with rasterio.open(dst, "w", **profile) as d:
        d.write(arr, 1)


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_a_dem_without_crs_keeps_the_previous_report(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(small, tmp_path)
    out = tmp_path / "reports"
    _, day = workflows.report(cfg, out, stamp="2026-12-01", use_cache=False)
    before = (day / "coverage.csv").read_bytes()
    latest = (out / "latest.txt").read_text(encoding="utf-8")
    bad = _config(small, tmp_path, dem={"path": "nocrs.tif"})
    _no_crs_dem(small / "dem.tif", tmp_path / "data" / "nocrs.tif")
    with pytest.raises(CRSError, match=r"nocrs\.tif"):
        workflows.report(bad, out, stamp="2026-12-01", use_cache=False)
    assert (day / "coverage.csv").read_bytes() == before
    assert (out / "latest.txt").read_text(encoding="utf-8") == latest
    code = main(["-q", "report", str(bad), "--out", str(out), "--no-cache"])
    assert code == 1  # the input's own message, not "1 of 1 counties failed"
    line = _one_line_error(capsys)
    assert "nocrs.tif" in line and "counties failed" not in line
    assert (out / "latest.txt").read_text(encoding="utf-8") == latest
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["2026-12-01"]


def test_a_run_where_every_county_failed_writes_nothing(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(small, tmp_path)
    out = tmp_path / "reports"
    _, day = workflows.report(cfg, out, stamp="2026-12-01", use_cache=False)
    before = (day / "coverage.csv").read_bytes()

    def fails(county: str, *args: Any, **kwargs: Any) -> Any:
        msg = f"county {county}: something only this county has"
        raise ValidationError(msg)

    monkeypatch.setattr(workflows, "analyze_county", fails)
    with pytest.raises(ValidationError, match="nothing was written"):
        workflows.report(cfg, out, stamp="2026-12-01", use_cache=False)
    assert (day / "coverage.csv").read_bytes() == before
    assert main(["-q", "analyze", str(cfg), "--out", str(tmp_path / "out")]) == 1
    assert "something only this county has" in _one_line_error(capsys)
    assert not (tmp_path / "out" / "coverage.csv").exists()


def _population(src: Path, dst: Path, *, inf: bool = False, shift_m: float = 0.0) -> None:
    import rasterio
    from rasterio.transform import Affine

    with rasterio.open(src) as s:
        arr = s.read(1)
        profile = s.profile
    if inf:
        arr[60, 60] = np.inf
    t = profile["transform"]
    profile["transform"] = Affine(t.a, t.b, t.c + shift_m, t.d, t.e, t.f)
    with rasterio.open(dst, "w", **profile) as d:
        d.write(arr, 1)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"inf": True}, "infinite"), ({"shift_m": 300_000.0}, "does not overlap")],
)
def test_population_raster_problems_are_one_error_before_the_counties(
    small: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kwargs: dict[str, Any],
    words: str,
) -> None:
    cfg = _config(small, tmp_path, population={"path": "pop.tif"})
    _population(small / "population.tif", tmp_path / "data" / "pop.tif", **kwargs)
    assert main(["-q", "analyze", str(cfg), "--out", str(tmp_path / "out")]) == 1
    line = _one_line_error(capsys)
    assert "pop.tif" in line and words in line and "counties failed" not in line
    assert not (tmp_path / "out" / "coverage.csv").exists()


# ---- 10. dropped rows in the report ----------------------------------------------------------


@pytest.mark.filterwarnings("ignore::ynps_geo.errors.DataQualityWarning")
def test_villages_without_coordinates_are_noted_in_the_report_and_workbook(
    small: Path, tmp_path: Path
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    cfg = _config(small, tmp_path)
    path = tmp_path / "data" / "villages.csv"
    v = pd.read_csv(path, dtype=str, keep_default_na=False)
    v.loc[2, "lon"] = ""
    v.to_csv(path, index=False)
    out = tmp_path / "out"
    workflows.analyze(cfg, out)
    words = "1 villages without coordinates left out"
    assert words in (out / "report.html").read_text(encoding="utf-8")
    book = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    cells = [
        str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row
    ]
    assert any(words in c for c in cells)


# ---- 11. rules the data cannot decide --------------------------------------------------------

COARSE = {
    "医院": "health",
    "卫生院": "health",
    "卫生室": "health",
    "社区卫生服务中心": "health",
    "小学": "school",
    "初中": "school",
    "养老院": "eldercare",
    "敬老院": "eldercare",
    "日间照料中心": "eldercare",
}


def _coarse_register(small: Path, tmp_path: Path, *, keep_names: bool) -> Path:
    """The demo register with only the contract's coarse categories in its type column."""
    cfg = _config(small, tmp_path, facilities=[{**_facility_spec(small), "path": "coarse.csv"}])
    f = pd.read_csv(tmp_path / "data" / "facilities.csv", dtype=str, keep_default_na=False)
    f = f[f["type"].isin(COARSE)].copy()
    f["type"] = f["type"].map(COARSE)
    if not keep_names:
        f["name"] = [f"第{i}号设施" for i in range(len(f))]
    f.to_csv(tmp_path / "data" / "coarse.csv", index=False)
    return cfg


def _facility_spec(small: Path) -> dict[str, Any]:
    d = yaml.safe_load((small / "small.yaml").read_text(encoding="utf-8"))
    return dict(d["facilities"][0])


def test_a_coarse_register_makes_rules_not_evaluable_never_zero(
    small: Path, tmp_path: Path
) -> None:
    cfg = _coarse_register(small, tmp_path, keep_names=False)
    out = tmp_path / "out"
    result = workflows.analyze(cfg, out)
    row = _all(result, "basic_services_90min_rural")
    assert np.isnan(row["share_covered"]) and np.isnan(row["population_covered"])
    assert pd.isna(row["villages_uncovered"]) and row["population"] > 0
    assert np.isfinite(_all(result, "health_15min")["share_covered"])  # coarse is enough here
    col = result.villages["basic_services_90min_rural_covered"]
    assert col.isna().all()
    assert result.villages["basic_services_90min_rural_minutes"].isna().all()
    note = next(n for n in result.notes if n.startswith("basic_services_90min_rural: not eval"))
    assert "township health centre" in note and "hospital" in note
    assert "only health (" in note and "人民医院" in note and "卫生院" in note
    care = result.presence.set_index("standard_id").loc["county_care_institution"]
    assert care["met"] is None and "not evaluable" in care["note"]
    assert any(n.startswith("county_care_institution: not evaluable") for n in result.notes)
    # the files say so too: an empty share (not 0), a note in the report, purple on the map
    cov = pd.read_csv(out / "coverage.csv")
    hit = cov[(cov.county == "ALL") & (cov.standard_id == "basic_services_90min_rural")]
    assert hit["share_covered"].isna().all() and hit["villages_uncovered"].isna().all()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Not evaluable" in html and "无法判断" in html
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "#8e44ad" in page and "无法判断" in page


def test_finer_types_are_taken_from_chinese_names_with_a_note(
    small: Path, tmp_path: Path, baseline: Any
) -> None:
    cfg = _coarse_register(small, tmp_path, keep_names=True)
    result = workflows.run(load_config(cfg))
    share = _all(result, "basic_services_90min_rural")["share_covered"]
    assert np.isfinite(share)
    assert share == pytest.approx(_all(baseline, "basic_services_90min_rural")["share_covered"])
    care = result.presence.set_index("standard_id").loc["county_care_institution"]
    assert care["met"] is True
    note = next(n for n in result.notes if "finer type their name states" in n)
    assert "health -> hospital" in note and "health -> township_health_centre" in note
    assert "eldercare -> elder_care_institution" in note


# ---- 12. smaller ------------------------------------------------------------------------------


def test_demo_seed_must_be_a_valid_seed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as err:
        main(["demo", "--out", "never-made", "--seed", "-1"])
    assert err.value.code == 2
    assert "invalid seed" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="seed"):
        workflows.demo("never-made", seed=-1)
    assert not Path("never-made").exists()


def test_demo_never_overwrites_edited_inputs_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def fake_analyze(config: Path, out: Path, **kwargs: Any) -> Any:
        calls.append(Path(config))
        return type("R", (), {"timings": {}})()

    monkeypatch.setattr(workflows, "analyze", fake_analyze)
    out = tmp_path / "demo"
    workflows.demo(out)
    workflows.demo(out)  # unchanged inputs: a rerun is fine
    config = out / "data" / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "# my edit\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="--force"):
        workflows.demo(out)
    assert config.read_text(encoding="utf-8").endswith("# my edit\n")
    workflows.demo(out, force=True)
    assert not config.read_text(encoding="utf-8").endswith("# my edit\n")
    assert len(calls) == 3
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


# ---- fuzzing the config ----------------------------------------------------------------------


def _option_values() -> Any:
    from hypothesis import strategies as st

    junk = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=6),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
    return {
        "resolution_m": st.one_of(junk, st.sampled_from([250, 400.0, "300"])),
        "margin_m": st.one_of(junk, st.sampled_from([0, 1500, "2e3"])),
        "walking_speed_kmh": st.one_of(junk, st.floats(0.5, 8)),
        "offroad_factor": st.one_of(junk, st.floats(0.05, 1)),
        "connectivity": st.one_of(junk, st.sampled_from([8, 16])),
        "access_threshold_min": st.one_of(junk, st.floats(1, 120)),
        "max_slope_deg": st.one_of(junk, st.floats(5, 90)),
        "jobs": st.one_of(junk, st.just(1)),
        "speeds": st.one_of(junk, st.just({"track": 8, "tertiary": 25})),
        "language": st.one_of(junk, st.sampled_from(["zh", "en"])),
        "facility_isochrones": st.one_of(junk, st.sampled_from(["none", "walk"])),
        "outside_facilities": st.one_of(junk, st.sampled_from(["keep", "drop"])),
        "groups": st.one_of(junk, st.just({"重点": ["示范县"]})),
        "pilot_counties": st.one_of(junk, st.just(["示范县"])),
        "counties": st.one_of(junk, st.just("示范县")),
        "name": junk,
        "standards": st.one_of(junk, st.just(["health_15min"])),
        "standards_overrides": st.one_of(junk, st.just([{"id": "health_15min", "threshold": 20}])),
    }


def _fuzzed(small: Path, tmp_path: Path, data: Any, *, light: bool) -> Path:
    from hypothesis import strategies as st

    base = yaml.safe_load((small / "small.yaml").read_text(encoding="utf-8"))
    values = _option_values()
    keys = data.draw(st.lists(st.sampled_from(sorted(values)), max_size=4, unique=True))
    cfg = dict(base)
    for key in keys:
        cfg[key] = data.draw(values[key], label=key)
    for key in data.draw(
        st.lists(st.sampled_from(["villages", "boundary", "dem", "population", "roads"]))
    ):
        cfg.pop(key, None)
    if data.draw(st.booleans(), label="extra key"):
        cfg[data.draw(st.sampled_from(["marginm", "resolution", "x", "名称"]))] = 1
    if light:  # the full runs stay small: 250 m or coarser cells, a margin of at most 1.5 km
        cfg["facility_isochrones"] = "none"
        for key, default in (("resolution_m", 250), ("margin_m", 1500)):
            if isinstance(cfg.get(key), int | float) and not isinstance(cfg.get(key), bool):
                cfg[key] = max(cfg[key], default) if key == "resolution_m" else min(cfg[key], 1500)
    path = tmp_path / "data" / "fuzz.yaml"
    if not (tmp_path / "data").exists():
        shutil.copytree(small, tmp_path / "data")
    try:
        text = yaml.safe_dump(cfg, allow_unicode=True)
    except yaml.YAMLError:
        text = "name: [unclosed"
    path.write_text(text, encoding="utf-8")
    return path


def _result_or_one_line_error(fn: Any) -> None:
    try:
        fn()
    except YnpsGeoError as err:
        assert "\n" not in str(err).strip(), str(err)


def test_fuzzed_configs_load_or_fail_with_one_line(small: Path, tmp_path: Path) -> None:
    """Random option values and types, missing and extra keys: the config loads (and its
    options and standards resolve) or a one-line YnpsGeoError says why, never another error."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from ynps_geo.analysis import Options

    @settings(
        max_examples=250,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.data())
    def check(data: Any) -> None:
        path = _fuzzed(small, tmp_path, data, light=False)

        def load() -> None:
            cfg = workflows._with_options(path, None)
            Options.from_config(cfg)
            workflows._standards_for(cfg)
            workflows.cache_key(cfg)

        _result_or_one_line_error(load)

    check()


@pytest.mark.filterwarnings("ignore::ynps_geo.errors.DataQualityWarning")
def test_fuzzed_configs_run_or_fail_with_one_line(small: Path, tmp_path: Path) -> None:
    """The same fuzzing through a whole analysis (fewer examples: each is a run)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.data())
    def check(data: Any) -> None:
        path = _fuzzed(small, tmp_path, data, light=True)
        _result_or_one_line_error(lambda: workflows.run(load_config(path)))

    check()


# ---- 3. GCJ-02 coordinates declared as WGS84 -------------------------------------------------


def test_gcj02_declared_wgs84_is_found_against_the_roads(small: Path, tmp_path: Path) -> None:
    from ynps_geo.errors import DataQualityWarning

    spec = {**_facility_spec(small), "crs": "wgs84"}  # the demo register is GCJ-02 (Amap)
    cfg = _config(small, tmp_path, facilities=[spec])
    with pytest.warns(DataQualityWarning, match="GCJ-02 inverse") as caught:
        inputs = workflows.load_inputs(load_config(cfg))
    msg = next(str(w.message) for w in caught if "GCJ-02 inverse" in str(w.message))
    assert "facilities.csv" in msg and "declare crs: gcj02" in msg
    # the measured offset: about the size of the GCJ-02 offset in Yunnan (300-600 m)
    shift = float(msg.split("moves them about ")[1].split(" m")[0])
    assert 300 <= shift <= 600
    assert any(n.startswith("warning: facilities.csv: declared wgs84") for n in inputs.notes)


def test_correctly_declared_layers_raise_no_offset_warning(small: Path) -> None:
    import warnings

    from ynps_geo.errors import DataQualityWarning
    from ynps_geo.io.osm import read_roads
    from ynps_geo.io.vector import read_facilities, read_villages, warn_if_gcj_offset_roads

    roads = read_roads(small / "roads.osm")
    spec = _facility_spec(small)
    d = yaml.safe_load((small / "small.yaml").read_text(encoding="utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        fac = read_facilities(spec, small)  # declared gcj02, as it is
        vil = read_villages(d["villages"], small)  # declared wgs84, as it is
        assert not warn_if_gcj_offset_roads(fac, roads)["warned"]  # gcj02 is not second-guessed
        check = warn_if_gcj_offset_roads(vil, roads)
        assert check["checked"] and not check["warned"]
        assert check["d_declared"] < check["d_inverse"]


def test_temporary_folders_a_killed_analyze_left_are_removed_after_a_day(
    small: Path, tmp_path: Path
) -> None:
    import os
    import time

    cfg = _config(small, tmp_path)
    old = tmp_path / ".out.partial-dead"
    young = tmp_path / ".out.partial-running"
    other = tmp_path / ".other.partial-dead"
    for p in (old, young, other):
        p.mkdir()
    day_ago = time.time() - 2 * 86400
    os.utime(old, (day_ago, day_ago))
    os.utime(other, (day_ago, day_ago))
    workflows.analyze(cfg, tmp_path / "out")
    assert not old.exists() and young.exists()  # a younger one may be a run in progress
    assert other.exists()  # another output folder's business


def test_sites_out_is_checked_before_the_search(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(small, tmp_path)

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("searched before checking --out")

    monkeypatch.setattr(workflows, "suggest_sites", never)
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    args = ["sites", str(cfg), "--standard", "health_15min", "--out"]
    assert main([*args, str(tmp_path / "a_file" / "sites.gpkg")]) == 1
    assert "a_file" in _one_line_error(capsys)
    assert main([*args, str(tmp_path)]) == 1
    assert "is a folder" in _one_line_error(capsys)


def test_what_the_data_can_and_cannot_decide() -> None:
    """Coarse rows or no rows of a kind: cannot tell. Fine rows without the one sought: no."""
    import geopandas as gpd
    from shapely.geometry import Point, box

    from ynps_geo.model.standards import standard_from_dict
    from ynps_geo.rules import presence_table, unmatched_groups

    def register(rows: list[tuple[str, str]]) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {
                "facility_id": [f"f{i}" for i in range(len(rows))],
                "category": [c for c, _ in rows],
                "subtype": [s for _, s in rows],
            },
            geometry=[Point(0.5, 0.5)] * len(rows),
            crs="EPSG:4326",
        )

    coarse = register([("health", "health"), ("culture", "culture")])
    fine = register([("health", "village_clinic"), ("culture", "library")])
    groups = [("hospital",), ("museum",), ("hospice_ward",), ("health",)]
    assert unmatched_groups(groups, coarse) == [("hospital",), ("museum",), ("hospice_ward",)]
    assert unmatched_groups(groups, fine) == [("hospice_ward",)]  # no hospice of any kind
    counties = gpd.GeoDataFrame({"county": ["甲县"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4326")
    rule = [
        standard_from_dict(
            {"id": "county_museum", "kind": "presence", "unit_level": "county",
             "title_en": "a museum in every county", "required": [["museum"]]}
        )
    ]  # fmt: skip
    met = presence_table(rule, fine, counties, None)["met"].iloc[0]
    assert met is False  # a register listing culture finely, without a museum: no
    table = presence_table(rule, coarse, counties, None)
    assert table["met"].iloc[0] is None and "not evaluable" in table["note"].iloc[0]


def test_an_unreadable_dem_is_one_error_before_the_counties(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(small, tmp_path, dem={"path": "broken.tif"})
    (tmp_path / "data" / "broken.tif").write_bytes(b"II*\x00 this is not a GeoTIFF")
    assert main(["-q", "analyze", str(cfg), "--out", str(tmp_path / "out")]) == 1
    line = _one_line_error(capsys)
    assert "broken.tif" in line and "counties failed" not in line
    assert not (tmp_path / "out" / "coverage.csv").exists()


def test_gdal_undefined_srs_is_no_crs() -> None:
    """GDAL < 3.8 writes "Undefined geographic SRS" into a GeoPackage without CRS (found by
    installing the minimum versions): it must not pass for degrees."""
    from pyproj import CRS

    from ynps_geo.io.vector import _resolve_crs

    undefined = CRS.from_wkt(
        'GEOGCS["Undefined geographic SRS",DATUM["unknown",SPHEROID["unknown",6378137,'
        '298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]'
    )
    with pytest.raises(CRSError, match="not declared and the file has none"):
        _resolve_crs(None, undefined, "roads.gpkg")
    assert _resolve_crs("EPSG:4522", undefined, "roads.gpkg").label
