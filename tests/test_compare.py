"""What changed between runs: since the previous report, ``compare``, scenarios and the trend.

The demo county is run as a scheduled report several times with one change between runs
(a health centre added, then removed; a village's population changed; a village dropped),
and the comparison is checked against an independent single-facility search and against a
full rerun.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ynps_geo.cli import main
from ynps_geo.errors import NotComparableError

STANDARDS = ["health_15min", "school_walk"]
NEW_ID = "F09001"


def _config(root: Path, demo_output: Path) -> Path:
    data = root / "data"
    shutil.copytree(demo_output / "data", data)
    cfg = yaml.safe_load((data / "config.yaml").read_text(encoding="utf-8"))
    cfg.update(standards=STANDARDS, resolution_m=200)
    path = data / "fast.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def _site(first: Path) -> pd.Series:
    """The uncovered rural village with the most uncovered villages within 2 km."""
    import geopandas as gpd

    v = gpd.read_file(first / "villages.gpkg", layer="villages")
    unc = v[~v["health_15min_covered"] & (v["setting"] == "rural")].to_crs(32647)
    best, n_best = None, -1
    for _, r in unc.iterrows():
        n = int((unc.distance(r.geometry) <= 2000).sum())
        if n > n_best:
            best, n_best = r, n
    assert best is not None
    return v.set_index("village_id").loc[best["village_id"]]


def _add_facility(
    data: Path, lon: float, lat: float, fid: str = NEW_ID, kind: str = "卫生院"
) -> None:
    from ynps_geo.io.coords import wgs84_to_gcj02

    glon, glat = wgs84_to_gcj02(lon, lat)  # the register is in GCJ-02
    with (data / "facilities.csv").open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow(
            [fid, "新建卫生院", kind, f"{float(glon):.6f}", f"{float(glat):.6f}", 20, 6, "", ""]
        )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, demo_output: Path) -> dict[str, Any]:
    """Dated reports: base, + a health centre, the centre removed, a population change."""
    from ynps_geo import settings as ysettings
    from ynps_geo import workflows

    root = tmp_path_factory.mktemp("changes")
    old_cache = ysettings.cache_dir
    ysettings.cache_dir = root / "cache"
    try:
        cfg = _config(root, demo_output)
        data = cfg.parent
        out = root / "reports"
        original = (data / "facilities.csv").read_bytes()
        r1, d1 = workflows.report(cfg, out, stamp="2026-09-01")
        site = _site(d1)
        _add_facility(data, float(site.geometry.x), float(site.geometry.y))
        r2, d2 = workflows.report(cfg, out, stamp="2026-10-01")
        times = _times_to_new_facility(cfg, "health_15min")
        (data / "facilities.csv").write_bytes(original)
        r3, d3 = workflows.report(cfg, out, stamp="2026-11-01")
        villages = pd.read_csv(data / "villages.csv", dtype={"code": str}, encoding="utf-8-sig")
        pop_id = str(villages["code"].iloc[3])
        villages.loc[3, "pop"] = int(villages.loc[3, "pop"]) + 500
        villages.to_csv(data / "villages.csv", index=False, encoding="utf-8")
        r4, d4 = workflows.report(cfg, out, stamp="2026-12-01")
    finally:
        ysettings.cache_dir = old_cache
    return {
        "cfg": cfg,
        "out": out,
        "site": site,
        "pop_id": pop_id,
        "results": [r1, r2, r3, r4],
        "dirs": [d1, d2, d3, d4],
        "original": original,
        "times": times,
    }


def _times_to_new_facility(cfg: Path, std_id: str) -> pd.Series:
    """Minutes from each village to the added facility alone (an independent search)."""
    from ynps_geo import workflows
    from ynps_geo.analysis import Options, build_county_engine
    from ynps_geo.config import load_config
    from ynps_geo.model.standards import load_standards

    c = load_config(cfg)
    inputs = workflows.load_inputs(c)
    std = load_standards()[std_id]
    county, geom = inputs.counties["county"].iloc[0], inputs.counties.geometry.iloc[0]
    setup = build_county_engine(str(county), geom, inputs, Options.from_config(c))
    row = int(np.nonzero(setup.facilities["facility_id"].astype(str).to_numpy() == NEW_ID)[0][0])
    vil = setup.villages
    out = np.full(len(vil), np.inf)
    for setting in ("urban", "rural"):
        sel = (vil["setting"] == setting).to_numpy()
        dist, _ = setup.engine.search(std.mode_for(setting), [np.array([row])])
        out[sel] = setup.engine.village_values(dist)[0][sel] / 60.0
    return pd.Series(out, index=vil["village_id"].astype(str).to_numpy())


def test_added_facility_flips_exactly_the_villages_within_its_threshold(
    runs: dict[str, Any],
) -> None:
    r1, r2 = runs["results"][:2]
    comp = r2.changes
    assert comp is not None and comp.kind == "previous" and comp.before_label == "2026-09-01"
    # the facility table names the added facility, and only it
    assert comp.facilities[["facility_id", "change"]].values.tolist() == [[NEW_ID, "added"]]
    # the flipped villages are exactly those uncovered before that reach the new centre in 15
    # minutes, by a separate search from that facility alone
    os = "health_15min"
    t = runs["times"]
    v1 = r1.villages.set_index(r1.villages["village_id"].astype(str))
    applies = v1[f"{os}_applies"].astype(bool)
    expected = set(
        v1.index[applies & ~v1[f"{os}_covered"] & (t.reindex(v1.index) <= 15.0 * (1 + 1e-9))]
    )
    assert expected, "the chosen site should cover someone new"
    flips = comp.villages[comp.villages["standard_id"] == os]
    assert set(flips["village_id"]) == expected
    assert (flips["change"] == "newly_covered").all()
    assert (flips["reason"] == "facility_added").all() and (flips["facility_id"] == NEW_ID).all()
    assert flips["reason_en"].str.contains(NEW_ID).all()
    # a school standard does not care about a health centre
    assert not (comp.villages["standard_id"] == "school_walk").any()
    # the shares table adds up: people newly covered are the flipped villages' populations
    row = comp.shares[(comp.shares["county"] == "ALL") & (comp.shares["standard_id"] == os)].iloc[0]
    assert row["villages_newly_covered"] == len(expected)
    pops = r2.villages.set_index(r2.villages["village_id"].astype(str))["population"]
    assert row["people_newly_covered"] == pytest.approx(float(pops.loc[list(expected)].sum()))
    cov1 = r1.coverage.set_index(["county", "standard_id"])
    cov2 = r2.coverage.set_index(["county", "standard_id"])
    assert row["share_before"] == pytest.approx(cov1.loc[("ALL", os), "share_covered"])
    assert row["change_pp"] == pytest.approx(
        cov2.loc[("ALL", os), "share_covered"] - cov1.loc[("ALL", os), "share_covered"]
    )
    assert row["change_pp"] > 0 and NEW_ID in row["reasons_en"]
    # the report names the facility in its first section, the workbook and the map show it
    page = (runs["dirs"][1] / "report.html").read_text(encoding="utf-8")
    assert 'id="changes"' in page and NEW_ID in page
    assert page.index('id="changes"') < page.index('id="summary"')
    assert "ynps-changed" in (runs["dirs"][1] / "map.html").read_text(encoding="utf-8")


def test_removing_the_facility_restores_the_first_run(runs: dict[str, Any]) -> None:
    r1, r2, r3 = runs["results"][:3]
    d1, _, d3 = runs["dirs"][:3]
    assert (d1 / "coverage.csv").read_bytes() == (d3 / "coverage.csv").read_bytes()
    comp = r3.changes
    assert comp.facilities[["facility_id", "change"]].values.tolist() == [[NEW_ID, "removed"]]
    gained = set(r2.changes.villages["village_id"])
    lost = comp.villages
    assert set(lost["village_id"]) == gained
    assert (lost["change"] == "newly_uncovered").all()
    assert (lost["reason"] == "facility_removed").all() and (lost["facility_id"] == NEW_ID).all()
    # first and third runs: nothing changed
    same = r3.compare(r1)
    assert not same.changed and not len(same.villages) and not len(same.facilities)


def test_population_change_alone_is_told_apart_from_a_facility_change(
    runs: dict[str, Any],
) -> None:
    comp = runs["results"][3].changes
    assert not len(comp.facilities)
    assert comp.villages["change"].tolist() == ["population"]
    row = comp.villages.iloc[0]
    assert row["village_id"] == runs["pop_id"] and row["reason"] == "population"
    assert row["population_after"] - row["population_before"] == pytest.approx(500)
    # the demo counts people from its population raster, which did not change: no share
    # moved, and the comparison says why
    assert (comp.shares["change_pp"] == 0).all()
    assert not comp.shares["reasons_en"].str.contains("facility").any()
    assert any("population raster" in n for n in comp.notes)
    # the facility change of the second run gave facility reasons, not population ones
    assert not (runs["results"][1].changes.villages["reason"] == "population").any()


def test_compare_command_writes_a_report_and_a_geopackage(
    runs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import geopandas as gpd

    d1, d2 = runs["dirs"][:2]
    out = tmp_path / "cmp"
    assert main(["compare", str(d1), str(d2), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert NEW_ID in text and "newly covered" in text
    layer = gpd.read_file(out / "comparison_changes.gpkg", layer="changed_villages")
    assert set(layer["village_id"]) == set(runs["results"][1].changes.villages["village_id"])
    assert layer.crs.to_epsg() == 4326 and layer.geometry.notna().all()
    fac = gpd.read_file(out / "comparison_changes.gpkg", layer="changed_facilities")
    assert fac["facility_id"].tolist() == [NEW_ID]
    html = (out / "comparison.html").read_text(encoding="utf-8")
    assert NEW_ID in html and "http" not in html.split("<body", 1)[1].split("<script>")[0]
    # the same tables as result.compare in Python
    py = runs["results"][1].compare(runs["results"][0])
    csv_shares = pd.read_csv(out / "comparison_shares.csv", dtype={"county": str})
    pd.testing.assert_series_equal(
        csv_shares["change_pp"], py.shares["change_pp"], check_names=False, rtol=1e-9
    )
    assert csv_shares["reasons_en"].fillna("").tolist() == py.shares["reasons_en"].tolist()


def test_compare_refuses_different_village_ids_in_one_line(
    runs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import geopandas as gpd

    d1 = runs["dirs"][0]
    other = tmp_path / "other"
    shutil.copytree(d1, other)
    v = gpd.read_file(other / "villages.gpkg", layer="villages")
    dropped = str(v["village_id"].iloc[0])
    v.iloc[1:].to_file(other / "villages.gpkg", layer="villages", driver="GPKG")
    assert main(["compare", str(d1), str(other), "--out", str(tmp_path / "cmp")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "village ids differ" in err and dropped in err
    with pytest.raises(NotComparableError, match="village ids"):
        runs["results"][0].compare(other)
    # different standards are named too
    cov = pd.read_csv(other / "coverage.csv")
    cov[cov["standard_id"] != "school_walk"].to_csv(other / "coverage.csv", index=False)
    (other / "run_manifest.json").unlink()
    with pytest.raises(NotComparableError, match=r"standards differ.*school_walk"):
        runs["results"][0].compare(other)


def test_trend_over_the_dated_runs(runs: dict[str, Any]) -> None:
    r4 = runs["results"][3]
    trend = r4.trend
    assert trend["run"].drop_duplicates().tolist() == [
        "2026-09-01",
        "2026-10-01",
        "2026-11-01",
        "2026-12-01",
    ]
    allrows = trend[(trend["county"] == "ALL") & (trend["standard_id"] == "health_15min")]
    for run, res in zip(allrows["run"], runs["results"], strict=True):
        share = res.coverage.set_index(["county", "standard_id"]).loc[
            ("ALL", "health_15min"), "share_covered"
        ]
        assert allrows.set_index("run").loc[run, "share_covered"] == pytest.approx(share)
    page = (runs["dirs"][3] / "report.html").read_text(encoding="utf-8")
    assert page.count('data-chart="trend"') == 1
    assert page.count('<circle data-standard="health_15min" data-run=') == 4
    from openpyxl import load_workbook

    sheets = load_workbook(runs["dirs"][3] / "report.xlsx", read_only=True).sheetnames
    assert {"变化-覆盖率 Change shares", "变化-村 Changed villages", "趋势 Trend"} <= set(sheets)


def test_first_report_has_no_changes_section(runs: dict[str, Any]) -> None:
    r1 = runs["results"][0]
    assert r1.changes is None and not r1.changes_error
    assert 'id="changes"' not in (runs["dirs"][0] / "report.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------------ scenarios
def _planned(data: Path, site: pd.Series) -> Path:
    with (data / "planned.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "lon", "lat"])
        w.writerow(["P1", "规划卫生院", float(site.geometry.x), float(site.geometry.y)])
    path = data / "planned.yaml"
    path.write_text(
        "name: 规划卫生院\nfacilities:\n  - {path: planned.csv, crs: wgs84, x: lon, y: lat, "
        "id: id, name: name, category: health}\n",
        encoding="utf-8",
    )
    return path


def test_scenario_gain_equals_a_full_rerun_with_the_planned_facilities(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    from ynps_geo import workflows

    cfg = runs["cfg"]
    data = cfg.parent
    (data / "facilities.csv").write_bytes(runs["original"])
    planned = _planned(data, runs["site"])
    base = workflows.analyze(cfg, tmp_path / "scen", scenario=planned)
    scen = base.scenario_result
    # a full rerun with the planned layer added to the config
    c = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    c["facilities"].append(
        {
            "path": "planned.csv",
            "crs": "wgs84",
            "x": "lon",
            "y": "lat",
            "id": "id",
            "name": "name",
            "category": "health",
        }
    )
    full_cfg = data / "full.yaml"
    full_cfg.write_text(yaml.safe_dump(c, allow_unicode=True), encoding="utf-8")
    full = workflows.analyze(full_cfg, tmp_path / "full")
    for s in STANDARDS:
        np.testing.assert_allclose(
            scen.villages[f"{s}_minutes"], full.villages[f"{s}_minutes"], rtol=1e-12
        )
        assert (scen.villages[f"{s}_covered"] == full.villages[f"{s}_covered"]).all()
    pd.testing.assert_frame_equal(
        scen.coverage.reset_index(drop=True), full.coverage.reset_index(drop=True), rtol=1e-12
    )
    # the baseline is the plain run, the gain the difference of the two
    plain = runs["results"][0]
    pd.testing.assert_frame_equal(
        base.coverage.reset_index(drop=True), plain.coverage.reset_index(drop=True), rtol=1e-12
    )
    gain = pd.read_csv(tmp_path / "scen" / "scenario_gain.csv", dtype={"county": str})
    ref = full.coverage.merge(plain.coverage, on=["county", "standard_id"])
    ref["gain"] = ref["share_covered_x"] - ref["share_covered_y"]
    got = gain.merge(ref, on=["county", "standard_id"])
    np.testing.assert_allclose(got["change_pp"], got["gain"], atol=1e-12)
    assert (got.loc[got["standard_id"] == "health_15min", "change_pp"] > 0).all()
    # the searches of existing facilities were made once and reused by the scenario
    assert scen.timings["searches_reused"] >= scen.timings["searches_searched"] > 0
    assert scen.timings["searches_planned"] >= 1
    for name in ("scenario.html", "scenario_changes.gpkg", "scenario/villages.gpkg", "report.html"):
        assert (tmp_path / "scen" / name).exists(), name
    page = (tmp_path / "scen" / "report.html").read_text(encoding="utf-8")
    assert "baseline and scenario" in page and "P1" in page


def test_scenario_takes_the_sites_output_as_is(
    runs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = runs["cfg"]
    (cfg.parent / "facilities.csv").write_bytes(runs["original"])
    sites = tmp_path / "sites.gpkg"
    assert (
        main(["sites", str(cfg), "--standard", "health_15min", "-p", "2", "--out", str(sites)]) == 0
    )
    out = tmp_path / "scen"
    assert main(["-q", "analyze", str(cfg), "--scenario", str(sites), "--out", str(out)]) == 0
    gain = pd.read_csv(out / "scenario_gain.csv", dtype={"county": str})
    row = gain[(gain["county"] == "ALL") & (gain["standard_id"] == "health_15min")].iloc[0]
    capsys.readouterr()
    assert row["change_pp"] > 0 and "new-" in row["reasons_en"]
    # a bad scenario file is one line naming it
    bad = tmp_path / "bad.yaml"
    bad.write_text("facilities:\n  - {path: nowhere.csv, category: health}\n", encoding="utf-8")
    assert main(["-q", "analyze", str(cfg), "--scenario", str(bad), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nowhere.csv" in err


# ------------------------------------------------------------------------ reasons, synthetic
def _run(
    label: str,
    villages: list[dict[str, Any]],
    facilities: list[dict[str, Any]],
    *,
    threshold: float = 15.0,
    options: dict[str, Any] | None = None,
    roads: str = "r1",
) -> Any:
    """A RunData of one county and one standard ``S`` from plain rows (no engine)."""
    import geopandas as gpd
    from shapely.geometry import Point

    from ynps_geo.compare import RunData

    v = gpd.GeoDataFrame(
        [
            {
                "village_id": r["id"],
                "name": r["id"],
                "county": "C",
                "population": r.get("pop", 100.0),
                "setting": r.get("setting", "rural"),
                "S_minutes": r["minutes"],
                "S_covered": r["minutes"] <= threshold,
                "S_applies": True,
                "S_facility_id": r.get("near", "F1"),
                "geometry": Point(r.get("x", 100.0), 25.0),
            }
            for r in villages
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )
    f = gpd.GeoDataFrame(
        [
            {
                "facility_id": r["id"],
                "name": r["id"],
                "category": r.get("category", "health"),
                "subtype": r.get("category", "health"),
                "geometry": Point(r.get("x", 100.0), r.get("y", 25.0)),
            }
            for r in facilities
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )
    pop = float(v["population"].sum())
    cov = float(v.loc[v["S_covered"], "population"].sum())
    coverage = pd.DataFrame(
        [
            {
                "county": c,
                "standard_id": "S",
                "population": pop,
                "population_covered": cov,
                "share_covered": cov / pop,
                "villages": len(v),
                "villages_uncovered": int((~v["S_covered"]).sum()),
            }
            for c in ("C", "ALL")
        ]
    )
    std = {
        "threshold": threshold,
        "unit": "min",
        "mode": {"urban": "walk", "rural": "drive"},
        "applies_to": "all",
        "facilities": [["health"]],
    }
    manifest = {
        "standards": {"S": std},
        "options": options or {},
        "defaults": {},
        "inputs": {"roads": roads},
    }
    return RunData(label, v, coverage, f, manifest, {"S": std}, {"S": ("标准", "standard")})


def _one_flip(before: Any, after: Any) -> pd.Series:
    from ynps_geo.compare import compare

    comp = compare(before, after)
    flips = comp.villages[comp.villages["change"] != "population"]
    assert len(flips) == 1, flips
    return flips.iloc[0]


def test_a_moved_facility_is_named_with_the_distance() -> None:
    before = _run("a", [{"id": "V1", "minutes": 20.0}], [{"id": "F1", "x": 100.0}])
    after = _run("b", [{"id": "V1", "minutes": 12.0}], [{"id": "F1", "x": 100.003}])
    row = _one_flip(before, after)
    assert row["change"] == "newly_covered" and row["reason"] == "facility_moved"
    # 0.003 degrees of longitude at 25 N on the WGS84 ellipsoid: N(phi) cos(phi) dlambda
    a, e2, phi = 6378137.0, 6.69437999014e-3, np.radians(25.0)
    expected = a / np.sqrt(1 - e2 * np.sin(phi) ** 2) * np.cos(phi) * np.radians(0.003)
    assert f"moved {expected:.0f} m" in row["reason_en"]


def test_re_categorised_facility_standard_setting_and_roads_are_told_apart() -> None:
    fac = [{"id": "F1"}, {"id": "F2", "category": "eldercare"}]
    fac2 = [{"id": "F1"}, {"id": "F2", "category": "health"}]
    before = _run("a", [{"id": "V1", "minutes": 20.0, "near": "F1"}], fac)
    after = _run("b", [{"id": "V1", "minutes": 9.0, "near": "F2"}], fac2)
    row = _one_flip(before, after)
    assert row["reason"] == "facility_recategorised" and row["facility_id"] == "F2"
    # the same flip with a facility that did not change: the standard's new threshold
    after = _run("b", [{"id": "V1", "minutes": 20.0}], fac, threshold=20.0)
    row = _one_flip(before, after)
    assert row["reason"] == "standard_changed" and "threshold 15 → 20" in row["reason_en"]
    # ... a village that became urban
    after = _run("b", [{"id": "V1", "minutes": 14.0, "setting": "urban"}], fac)
    assert _one_flip(before, after)["reason"] == "village_setting_changed"
    # ... a village point moved
    after = _run("b", [{"id": "V1", "minutes": 14.0, "x": 100.01}], fac)
    assert _one_flip(before, after)["reason"] == "village_moved"
    # ... a new road file, an analysis setting, and nothing recorded at all
    after = _run("b", [{"id": "V1", "minutes": 14.0}], fac, roads="r2")
    assert _one_flip(before, after)["reason"] == "roads_changed"
    after = _run("b", [{"id": "V1", "minutes": 14.0}], fac, options={"resolution_m": 50})
    row = _one_flip(before, after)
    assert row["reason"] == "options_changed" and "resolution_m" in row["reason_en"]
    after = _run("b", [{"id": "V1", "minutes": 14.0}], fac)
    assert _one_flip(before, after)["reason"] == "unknown"


def test_population_change_moves_a_village_counted_share() -> None:
    from ynps_geo.compare import compare

    rows = [{"id": "V1", "minutes": 5.0, "pop": 100.0}, {"id": "V2", "minutes": 30.0}]
    before = _run("a", rows, [{"id": "F1"}])
    rows2 = [{"id": "V1", "minutes": 5.0, "pop": 300.0}, {"id": "V2", "minutes": 30.0}]
    after = _run("b", rows2, [{"id": "F1"}])
    comp = compare(before, after)
    assert comp.villages["change"].tolist() == ["population"]
    row = comp.shares[comp.shares["county"] == "ALL"].iloc[0]
    assert row["share_before"] == pytest.approx(0.5) and row["share_after"] == pytest.approx(0.75)
    assert row["villages_newly_covered"] == 0 and "population changed" in row["reasons_en"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 40, allow_nan=False),
            st.floats(0, 40, allow_nan=False),
            st.floats(1, 1e4, allow_nan=False),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_flip_counts_add_up_and_mirror(rows: list[tuple[float, float, float]]) -> None:
    from ynps_geo.compare import compare

    b = [{"id": f"V{i}", "minutes": m0, "pop": p} for i, (m0, _, p) in enumerate(rows)]
    a = [{"id": f"V{i}", "minutes": m1, "pop": p} for i, (_, m1, p) in enumerate(rows)]
    fac = [{"id": "F1"}]
    fwd = compare(_run("a", b, fac), _run("b", a, fac))
    back = compare(_run("b", a, fac), _run("a", b, fac))
    gained = sum(1 for m0, m1, _ in rows if m0 > 15 >= m1)
    lost = sum(1 for m0, m1, _ in rows if m1 > 15 >= m0)
    r = fwd.shares[fwd.shares["county"] == "ALL"].iloc[0]
    q = back.shares[back.shares["county"] == "ALL"].iloc[0]
    assert (r["villages_newly_covered"], r["villages_newly_uncovered"]) == (gained, lost)
    assert (q["villages_newly_covered"], q["villages_newly_uncovered"]) == (lost, gained)
    assert r["change_pp"] == pytest.approx(-q["change_pp"], abs=1e-12)
    people = sum(p for m0, m1, p in rows if m0 > 15 >= m1)
    assert r["people_newly_covered"] == pytest.approx(people)
    same = compare(_run("a", b, fac), _run("a2", b, fac))
    assert not same.changed


def test_changes_open_offline_in_a_browser(runs: dict[str, Any], tmp_path: Path) -> None:
    from browser import load_in_chromium, require_browser

    require_browser()
    d2 = runs["dirs"][1]
    n = runs["results"][1].changes.villages["village_id"].nunique()
    res = load_in_chromium(
        d2 / "map.html",
        tmp_path / "map.png",
        dom_checks={"rings": "document.querySelectorAll('path.ynps-changed').length"},
    )
    assert res.js_errors == [] and res.dom_checks["rings"] == n
    res = load_in_chromium(
        runs["dirs"][3] / "report.html",
        tmp_path / "report.png",
        dom_checks={
            "section": "document.getElementById('changes').getBoundingClientRect().height",
            "lines": "document.querySelectorAll('svg[data-chart=trend] path.trend').length",
            "text": "document.querySelector('#changes .changes-summary').innerText",
        },
    )
    assert res.js_errors == [] and res.dom_checks["section"] > 100
    assert res.dom_checks["lines"] == len(STANDARDS)
    assert "人口" in res.dom_checks["text"] and "population" not in res.dom_checks["text"]


def test_an_incomparable_previous_report_is_named_not_fatal(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    import geopandas as gpd

    from ynps_geo.compare import attach_history
    from ynps_geo.report.changes import section_html

    root = tmp_path / "reports"
    prev = root / "2026-12-01"
    shutil.copytree(runs["dirs"][3], prev)
    v = gpd.read_file(prev / "villages.gpkg", layer="villages")
    v.iloc[2:].to_file(prev / "villages.gpkg", layer="villages", driver="GPKG")
    result = runs["results"][3]
    saved = (result.changes, result.changes_error, result.trend)
    try:
        attach_history(result, root, "2026-12-08")
        assert result.changes is None and "village ids differ" in result.changes_error
        page = section_html(result)
        assert 'class="warn"' in page and "village ids differ" in page
        assert result.trend["run"].drop_duplicates().tolist() == ["2026-12-01", "2026-12-08"]
    finally:
        result.changes, result.changes_error, result.trend = saved


class _LineEngine:
    """A stand-in engine: nodes 0..n-1 on a line, facility row r at node 7*r; cost |node - 7r|.

    ``search`` is the brute-force multi-source nearest (ties: the lowest row), with a cutoff.
    """

    n_nodes = 200

    def __init__(self) -> None:
        self.calls = 0

    def search(self, mode: str, sets: Any, cutoff: float = np.inf) -> tuple[Any, Any]:
        nodes = np.arange(self.n_nodes, dtype=float)
        dist = np.full((len(sets), self.n_nodes), np.inf)
        near = np.full((len(sets), self.n_nodes), -1, dtype=np.int64)
        for i, s in enumerate(sets):
            self.calls += 1
            for r in sorted(np.asarray(s, dtype=np.int64)):
                d = np.abs(nodes - 7 * r) * (2.0 if mode == "walk" else 1.0)
                better = (d < dist[i]) & (d <= cutoff)
                dist[i][better] = d[better]
                near[i][better] = r
        return dist, near


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 27), max_size=6), min_size=1, max_size=5),
    st.sampled_from([np.inf, 20.0]),
    st.sampled_from([0, 10**9]),
)
def test_shared_searches_equal_the_union_search(
    sets: list[list[int]], cutoff: float, budget: int
) -> None:
    from ynps_geo.scenario import SharedSearches

    planned_from = 20
    engine = _LineEngine()
    shared = SharedSearches(engine, planned_from, budget_bytes=budget)
    base_sets = [np.array([r for r in s if r < planned_from], dtype=np.int64) for s in sets]
    shared.search("drive", base_sets, cutoff)  # the baseline
    calls = engine.calls
    full = [np.array(s, dtype=np.int64) for s in sets]
    got_d, got_n = shared.search("drive", full, cutoff)  # the scenario
    ref_d, ref_n = _LineEngine().search("drive", full, cutoff)
    np.testing.assert_array_equal(got_d, ref_d)
    reached = np.isfinite(ref_d)
    np.testing.assert_array_equal(np.isfinite(got_d), reached)
    # the nearest facility is as near (ties may pick another one at the same cost)
    np.testing.assert_array_equal(
        np.abs(np.arange(200) - 7 * got_n)[reached], np.abs(np.arange(200) - 7 * ref_n)[reached]
    )
    if budget:  # kept: the scenario searched only the planned parts
        n_planned = len({tuple(sorted({r for r in s if r >= planned_from})) for s in sets} - {()})
        assert engine.calls - calls == n_planned
