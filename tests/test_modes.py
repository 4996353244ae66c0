"""Tests for ynps_geo.model.modes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ynps_geo import settings
from ynps_geo.errors import ValidationError
from ynps_geo.model.modes import (
    DEFAULT_ROAD_SPEEDS_KMH,
    NO_WALK_CLASSES,
    WALK_ONLY_CLASSES,
    TravelMode,
    default_walking_speed_kmh,
    is_drivable_class,
    is_walkable_class,
    normalize_road_class,
    parse_maxspeed,
    parse_mode,
    road_speeds,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("60", 60.0),
        ("60 km/h", 60.0),
        ("60kmh", 60.0),
        ("40 mph", 64.37376),
        ("50;60", 50.0),
        ("['50', '30']", 30.0),
        (["40", "60"], 40.0),
        (30, 30.0),
        (25.5, 25.5),
    ],
)
def test_parse_maxspeed_values(value: object, expected: float) -> None:
    assert parse_maxspeed(value) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    "value", [None, "", "CN:urban", "none", "signals", "walk", "0", float("nan"), True, -5]
)
def test_parse_maxspeed_symbolic_is_nan(value: object) -> None:
    assert math.isnan(parse_maxspeed(value))


@given(st.integers(min_value=1, max_value=200))
def test_parse_maxspeed_roundtrip_integers(v: int) -> None:
    assert parse_maxspeed(str(v)) == v
    assert parse_maxspeed(f"{v} mph") == pytest.approx(v * 1.609344, rel=1e-6)


def test_default_speeds_mountain_profile() -> None:
    s = DEFAULT_ROAD_SPEEDS_KMH
    assert s["motorway"] == 80 and s["trunk"] == 60 and s["primary"] == 45
    assert s["secondary"] == 35 and s["tertiary"] == 30 and s["unclassified"] == 25
    assert s["residential"] == 20 and s["living_street"] == 10 and s["service"] == 15
    assert s["track"] == 12 and s["road"] == 20
    for cls in ("motorway", "trunk", "primary", "secondary", "tertiary"):
        assert s[f"{cls}_link"] < s[cls]
    for cls in ("path", "footway", "steps", "pedestrian", "bridleway", "cycleway"):
        assert cls in WALK_ONLY_CLASSES and cls not in s
        assert not is_drivable_class(cls) and is_walkable_class(cls)
    assert {"motorway", "motorway_link"} == NO_WALK_CLASSES
    assert not is_walkable_class("motorway") and is_walkable_class("trunk")


def test_road_speeds_overrides_copy() -> None:
    s = road_speeds({"track": 8, "ferry": 10})
    assert s["track"] == 8 and s["ferry"] == 10
    assert DEFAULT_ROAD_SPEEDS_KMH["track"] == 12
    assert road_speeds(None) == DEFAULT_ROAD_SPEEDS_KMH


@pytest.mark.parametrize("bad", [0, -3, "fast", float("nan")])
def test_road_speeds_rejects_bad(bad: object) -> None:
    with pytest.raises(ValidationError, match="track"):
        road_speeds({"track": bad})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("residential", "residential"),
        ("Residential", "residential"),
        ("['residential', 'tertiary']", "residential"),
        (["unclassified", "track"], "unclassified"),
        ("高速公路", "motorway"),
        ("国道", "trunk"),
        ("省道", "primary"),
        ("县道", "secondary"),
        ("乡道", "tertiary"),
        ("村道", "unclassified"),
        ("专用公路", "service"),
        ("一级公路", "trunk"),
        ("二级公路", "primary"),
        ("三级公路", "secondary"),
        ("四级公路", "unclassified"),
        ("等外公路", "track"),
        ("G214", "trunk"),
        ("x012", "secondary"),
        ("X", "secondary"),  # bare administrative-grade code of bureau layers
        ("C", "unclassified"),
        ("track_grade3", "track"),  # Geofabrik fclass
        ("construction", "construction"),
        ("spaceship", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_normalize_road_class(value: object, expected: str | None) -> None:
    assert normalize_road_class(value) == expected


def test_modes_and_walking_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_mode("drive") is TravelMode.DRIVE
    assert parse_mode(" WALK ") is TravelMode.WALK
    assert TravelMode.WALK == "walk"
    with pytest.raises(ValidationError, match="'drive', 'walk'"):
        parse_mode("bike")
    monkeypatch.setattr(settings, "walking_speed_kmh", 4.0)
    assert default_walking_speed_kmh() == 4.0
