"""Presence rules and provision ratios on hand-made counties, villages and facilities."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import Point, box

from ynps_geo._geo import utm_epsg
from ynps_geo.errors import CRSError, ValidationError
from ynps_geo.model.standards import PlanStandard, load_standards
from ynps_geo.rules import group_label, presence_table, ratio_table

STD = load_standards()


def counties(prefecture: bool = True, seat: bool = False) -> gpd.GeoDataFrame:
    data: dict = {"county": ["A", "B", "C"]}
    if prefecture:
        data["prefecture"] = ["P1", "P1", "P2"]
    gdf = gpd.GeoDataFrame(
        data,
        geometry=[
            box(102.0, 25.0, 102.5, 25.5),
            box(102.5, 25.0, 103.0, 25.5),
            box(103.0, 25.0, 103.5, 25.5),
        ],
        crs="EPSG:4326",
    )
    if seat:
        # A's seat is a small box in its south-west; B's seat a point; C has none
        gdf["seat"] = gpd.GeoSeries(
            [box(102.0, 25.0, 102.1, 25.1), Point(102.75, 25.25), None], crs="EPSG:4326"
        )
    return gdf


def facilities(rows: list[tuple]) -> gpd.GeoDataFrame:
    """rows: (facility_id, category, subtype, lon, lat, {capacity...})."""
    recs = []
    for fid, cat, sub, lon, lat, *cap in rows:
        rec = {
            "facility_id": fid,
            "name": fid,
            "category": cat,
            "subtype": sub,
            "type_raw": sub,
            "source": "test",
            "geometry": Point(lon, lat),
        }
        if cap:
            rec.update(cap[0])
        recs.append(rec)
    return gpd.GeoDataFrame(recs, geometry="geometry", crs="EPSG:4326")


def rows_of(df: pd.DataFrame, sid: str) -> pd.DataFrame:
    return df[df["standard_id"] == sid].set_index("unit")


# ---- presence ----------------------------------------------------------------------------------


def test_group_label() -> None:
    assert group_label(["museum"]) == "博物馆 museum"
    assert group_label(["village_culture_centre", "culture_station"]) == (
        "村(社区)综合文化服务中心 village culture centre / 乡镇综合文化站 culture station"
    )


def test_county_rule_with_and_without_the_group() -> None:
    fac = facilities(
        [
            ("f1", "vocational_school", "vocational_school", 102.2, 25.2),
            ("f2", "school", "primary_school", 102.7, 25.2),
            ("f3", "vocational_school", "vocational_school", 104.5, 25.2),  # outside every county
        ]
    )
    df = presence_table([STD["county_vocational_school"]], fac, counties(), None)
    r = rows_of(df, "county_vocational_school")
    assert list(r.index) == ["A", "B", "C"]
    assert r.loc["A", "met"] is True and r.loc["A", "n_facilities"] == 1
    assert r.loc["A", "present"] == "中等职业学校 vocational school"
    assert r.loc["A", "missing"] == ""
    assert r.loc["B", "met"] is False and r.loc["B", "n_facilities"] == 0
    assert r.loc["B", "missing"] == "中等职业学校 vocational school"
    assert r.loc["C", "met"] is False
    assert (r["unit_level"] == "county").all() and (r["county"] == r.index).all()


def test_alternatives_in_one_group() -> None:
    fac = facilities([("f1", "eldercare", "elder_care_institution", 102.2, 25.2)])
    df = presence_table([STD["county_care_institution"]], fac, counties(), None)
    assert rows_of(df, "county_care_institution").loc["A", "met"] is True


def test_four_halls_whole_county_names_the_missing_groups() -> None:
    halls = ["library", "culture_hall", "museum", "theatre"]
    fac = facilities(
        [(f"a{i}", "culture", h, 102.2, 25.2) for i, h in enumerate(halls)]
        + [
            (f"b{i}", "culture", h, 102.7, 25.2)
            for i, h in enumerate([*halls, "intangible_heritage_hall"])
        ]
    )
    df = presence_table([STD["county_four_halls_one_theatre"]], fac, counties(), None)
    r = rows_of(df, "county_four_halls_one_theatre")
    assert r.loc["A", "met"] is False
    assert r.loc["A", "missing"] == "非遗馆 intangible heritage hall"
    assert r.loc["A", "present"] == (
        "图书馆 library; 文化馆 culture hall; 博物馆 museum; 剧院 theatre"
    )
    assert r.loc["B", "met"] is True and r.loc["B", "n_facilities"] == 5
    assert r.loc["C", "missing"].count("; ") == 4
    assert (r["unit_level"] == "county_seat").all()
    assert any("whole county" in n for n in df.attrs["notes"])


def test_four_halls_in_seat_polygon_and_seat_point() -> None:
    halls = ["library", "culture_hall", "museum", "intangible_heritage_hall", "theatre"]
    rows = [(f"a{i}", "culture", h, 102.05, 25.05) for i, h in enumerate(halls)]
    rows[2] = ("a2", "culture", "museum", 102.3, 25.3)  # in county A, outside its seat
    # B: seat point at (102.75, 25.25) = circle of 5 km; museum 0.1 deg (~10 km) away
    rows += [(f"b{i}", "culture", h, 102.76, 25.25) for i, h in enumerate(halls)]
    rows[-3] = ("b2", "culture", "museum", 102.85, 25.25)
    df = presence_table(
        [STD["county_four_halls_one_theatre"]], facilities(rows), counties(seat=True), None
    )
    r = rows_of(df, "county_four_halls_one_theatre")
    assert r.loc["A", "met"] is False and r.loc["A", "missing"] == "博物馆 museum"
    assert r.loc["B", "met"] is False and r.loc["B", "missing"] == "博物馆 museum"
    # C has no seat: evaluated over the whole county, and said so
    assert any("C" in n and "whole county" in n for n in df.attrs["notes"])


def test_prefecture_rule_groups_counties() -> None:
    fac = facilities([("f1", "childcare", "infant_care_training_base", 102.7, 25.2)])
    df = presence_table([STD["prefecture_childcare_base"]], fac, counties(), None)
    r = rows_of(df, "prefecture_childcare_base")
    assert list(r.index) == ["P1", "P2"]
    assert r.loc["P1", "met"] is True and r.loc["P2", "met"] is False
    assert r["county"].isna().all()
    assert (r["unit_level"] == "prefecture").all()


def test_prefecture_rule_without_prefecture_column_is_one_unit() -> None:
    fac = facilities([("f1", "childcare", "infant_care_training_base", 102.7, 25.2)])
    df = presence_table([STD["prefecture_childcare_base"]], fac, counties(prefecture=False), None)
    r = rows_of(df, "prefecture_childcare_base")
    assert list(r.index) == ["ALL"] and r.loc["ALL", "met"] is True
    assert any("no 'prefecture' column" in n for n in df.attrs["notes"])


def test_pilot_only_rule() -> None:
    fac = facilities([("f1", "hospice", "hospice_ward", 102.7, 25.2)])
    std = [STD["county_hospice_ward"]]
    df = presence_table(std, fac, counties(), None, pilot_counties=["A", "B"])
    r = rows_of(df, "county_hospice_ward")
    assert r.loc["A", "met"] is False
    assert r.loc["A", "missing"] == "安宁疗护病区 hospice ward"
    assert r.loc["B", "met"] is True
    assert r.loc["C", "met"] is None and r.loc["C", "note"] == "not a pilot area"
    assert r.loc["C", "missing"] == ""
    none = presence_table(std, fac, counties(), None)
    assert none["met"].isna().all()
    assert any("no pilot_counties" in n for n in none.attrs["notes"])
    typo = presence_table(std, fac, counties(), None, pilot_counties=["Z"])
    assert any("Z" in n and "spelling" in n for n in typo.attrs["notes"])


def _offset(lon: float, lat: float, dx: float, dy: float) -> tuple[float, float]:
    epsg = utm_epsg(lon, lat)
    fwd = Transformer.from_crs(4326, epsg, always_xy=True)
    back = Transformer.from_crs(epsg, 4326, always_xy=True)
    x, y = fwd.transform(lon, lat)
    return back.transform(x + dx, y + dy)


def test_village_rule_within_m_inclusive() -> None:
    v = [(102.2, 25.2), (102.7, 25.2), (103.2, 25.2), (101.9, 25.2)]
    vil = gpd.GeoDataFrame(
        {"village_id": ["v1", "v2", "v3", "v4"]}, geometry=[Point(p) for p in v], crs="EPSG:4326"
    )
    f1 = _offset(*v[0], 999.0, 0.0)  # just inside
    f2 = _offset(*v[1], 1001.0, 0.0)  # just outside
    f3 = _offset(*v[2], 0.0, 1000.0)  # exactly at within_m: inside
    f4 = _offset(*v[3], -999.5, 0.0)  # zone 47, outside the counties
    fac = facilities(
        [
            ("c1", "culture", "culture_station", *f1),
            ("c2", "culture", "village_culture_centre", *f2),
            ("c3", "culture", "village_culture_centre", *f3),
            ("c4", "culture", "village_culture_centre", *f4),
            ("x1", "culture", "library", *v[1]),  # other culture subtypes do not count
        ]
    )
    df = presence_table([STD["village_culture_centre"]], fac, counties(), vil)
    r = rows_of(df, "village_culture_centre")
    assert r["met"].tolist() == [True, False, True, True]
    assert r["n_facilities"].tolist() == [1, 0, 1, 1]
    assert r["county"].iloc[:3].tolist() == ["A", "B", "C"] and pd.isna(r["county"].iloc[3])
    assert (r["unit_level"] == "village").all()
    assert r.loc["v2", "missing"].startswith("村(社区)综合文化服务中心")


def test_village_rule_uses_village_county_column_and_skips_without_villages() -> None:
    vil = gpd.GeoDataFrame(
        {"village_id": [7], "county": ["X"]}, geometry=[Point(102.2, 25.2)], crs="EPSG:4326"
    )
    fac = facilities([("c1", "culture", "culture_station", 102.2, 25.2)])
    df = presence_table([STD["village_culture_centre"]], fac, counties(), vil)
    assert df["unit"].tolist() == ["7"] and df["county"].tolist() == ["X"]
    skipped = presence_table([STD["village_culture_centre"]], fac, counties(), None)
    assert skipped.empty and list(skipped.columns)[:4] == [
        "standard_id",
        "unit_level",
        "unit",
        "county",
    ]
    assert any("no villages" in n for n in skipped.attrs["notes"])


def test_presence_all_standards_and_skips_other_kinds() -> None:
    fac = facilities([("f1", "health", "hospital", 102.2, 25.2)])
    df = presence_table(list(STD.values()), fac, counties(), None, pilot_counties=["A"])
    assert set(df["standard_id"]) == {s.id for s in STD.of_kind("presence")} - {
        "village_culture_centre"
    }
    assert df["met"].map(lambda m: m in (True, False, None)).all()


def test_presence_errors() -> None:
    fac = facilities([("f1", "health", "hospital", 102.2, 25.2)])
    with pytest.raises(ValidationError, match="no column"):
        presence_table(
            [STD["county_vocational_school"]], fac.drop(columns="category"), counties(), None
        )
    with pytest.raises(CRSError, match="no CRS"):
        presence_table(
            [STD["county_vocational_school"]],
            fac.set_crs(None, allow_override=True),
            counties(),
            None,
        )
    bad = PlanStandard(id="x", kind="presence", unit_level="township", required=(("museum",),))
    with pytest.raises(ValidationError, match="unit_level 'township'"):
        presence_table([bad], fac, counties(), None)
    novil = PlanStandard(id="y", kind="presence", unit_level="village", required=(("museum",),))
    vil = gpd.GeoDataFrame({"village_id": [1]}, geometry=[Point(102.2, 25.2)], crs=4326)
    with pytest.raises(ValidationError, match="within_m"):
        presence_table([novil], fac, counties(), vil)


# ---- ratios -------------------------------------------------------------------------------------

#: the subtype the football rule counts (read from the shipped standards)
FOOTBALL = STD["football_fields_per_10000"].facilities[0][0]
POP = {"A": 100_000, "B": 100_000, "C": 50_000}


def health() -> gpd.GeoDataFrame:
    return facilities(
        [
            ("h1", "health", "hospital", 102.2, 25.2, {"beds": 300.0, "doctors": 100.0}),
            (
                "h2",
                "health",
                "township_health_centre",
                102.3,
                25.3,
                {"beds": 100.0, "doctors": 20.0},
            ),
            ("h3", "health", "hospital", 102.7, 25.2, {"beds": 700.0, "doctors": 300.0}),
            ("h4", "health", "hospital", 103.2, 25.2, {"beds": np.nan, "doctors": 50.0}),
            ("h5", "health", "village_clinic", 103.3, 25.2, {"beds": 50.0, "doctors": np.nan}),
            ("h6", "health", "hospital", 104.5, 25.2, {"beds": 999.0, "doctors": 9.0}),  # outside
            ("p1", "fitness", FOOTBALL, 102.2, 25.2, {"area_m2": 7000.0}),
            ("p2", "fitness", FOOTBALL, 102.7, 25.2, {"area_m2": np.nan}),
            ("k1", "kindergarten", "kindergarten", 102.2, 25.2, {"places": 1_000_000.0}),
            ("k2", "kindergarten", "kindergarten", 102.7, 25.2, {"places": 1_000_000.0}),
        ]
    )


def test_ratio_beds_per_1000_by_hand() -> None:
    df = ratio_table([STD["beds_per_1000"]], health(), counties(), POP)
    assert list(df.columns) == [
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
    r = df.set_index("county")
    assert list(r.index) == ["A", "B", "C", "ALL"]
    assert r.loc["A", "numerator"] == 400.0 and r.loc["A", "value"] == pytest.approx(4.0)
    assert r.loc["A", "met"] is False and r.loc["A", "target"] == 6.89
    assert r.loc["B", "value"] == pytest.approx(7.0) and r.loc["B", "met"] is True
    # C: h4 has no beds -> unknown, not 50 / 50,000
    assert np.isnan(r.loc["C", "value"]) and np.isnan(r.loc["C", "numerator"])
    assert r.loc["C", "met"] is None
    assert r.loc["C", "facilities"] == 2 and r.loc["C", "facilities_missing_attribute"] == 1
    assert r.loc["C", "missing_ids"] == "h4"
    # ALL: the outside facility h6 is left out; C's gap makes the total unknown
    assert r.loc["ALL", "facilities"] == 5 and r.loc["ALL", "population"] == 250_000
    assert np.isnan(r.loc["ALL", "value"]) and r.loc["ALL", "missing_ids"] == "h4"
    assert r.loc["A", "missing_ids"] == "" and r.loc["A", "facilities_missing_attribute"] == 0


def test_ratio_all_row_when_known() -> None:
    fac = health()
    fac = fac[fac["facility_id"] != "h4"]
    r = ratio_table([STD["beds_per_1000"]], fac, counties(), POP).set_index("county")
    assert r.loc["C", "value"] == pytest.approx(1.0)
    assert r.loc["ALL", "numerator"] == 1150.0
    assert r.loc["ALL", "value"] == pytest.approx(1150.0 / 250_000 * 1000)
    assert r.loc["ALL", "met"] is False


def test_ratio_missing_column_is_unknown_with_all_ids() -> None:
    fac = health().drop(columns="doctors")
    r = ratio_table([STD["doctors_per_1000"]], fac, counties(), POP).set_index("county")
    assert r["value"].isna().all() and r["met"].isna().all()
    assert r.loc["A", "missing_ids"] == "h1; h2"
    assert r.loc["ALL", "facilities_missing_attribute"] == 5


def test_ratio_count_and_area() -> None:
    stds = [STD["football_fields_per_10000"], STD["sports_area_per_capita"]]
    df = ratio_table(stds, health(), counties(), POP)
    foot = df[df["standard_id"] == "football_fields_per_10000"].set_index("county")
    # count needs no attribute: p2 (no area) still counts
    assert foot.loc["B", "numerator"] == 1 and foot.loc["B", "value"] == pytest.approx(0.1)
    assert foot.loc["C", "value"] == 0.0 and foot.loc["C", "met"] is False
    assert foot.loc["ALL", "facilities_missing_attribute"] == 0
    area = df[df["standard_id"] == "sports_area_per_capita"].set_index("county")
    assert area.loc["A", "value"] == pytest.approx(0.07)
    assert area.loc["B", "met"] is None and area.loc["B", "missing_ids"] == "p2"


def test_ratio_province_total_only() -> None:
    df = ratio_table([STD["kindergarten_places"]], health(), counties(), POP)
    assert df["county"].tolist() == ["ALL"]
    row = df.iloc[0]
    assert row["value"] == 2_000_000 and row["target"] == 1_930_000 and row["met"] is True


def test_ratio_missing_population() -> None:
    df = ratio_table([STD["beds_per_1000"]], health(), counties(), {"A": 100_000, "B": 0})
    r = df.set_index("county")
    assert r.loc["A", "met"] is False
    assert np.isnan(r.loc["B", "value"]) and r.loc["B", "met"] is None
    assert np.isnan(r.loc["ALL", "population"])
    assert any("B" in n and "C" in n for n in df.attrs["notes"])


def test_ratio_target_met_at_exact_value() -> None:
    fac = facilities([("h1", "health", "hospital", 102.2, 25.2, {"beds": 689.0})])
    r = ratio_table([STD["beds_per_1000"]], fac, counties(), POP).set_index("county")
    assert r.loc["A", "met"] is True


def test_ratio_errors() -> None:
    fac = facilities([("h1", "health", "hospital", 102.2, 25.2, {"beds": -1.0})])
    with pytest.raises(ValidationError, match="negative 'beds'"):
        ratio_table([STD["beds_per_1000"]], fac, counties(), POP)
    bad = PlanStandard(id="z", kind="ratio", facilities=(("health",),))
    with pytest.raises(ValidationError, match="without 'numerator'"):
        ratio_table([bad], fac, counties(), POP)
