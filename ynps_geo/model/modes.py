"""Travel modes and road speeds (no I/O).

Default driving speeds per OSM ``highway`` class are set for Yunnan's mountain roads: a
national road (``trunk``) winding up a valley is far slower than its design speed, a
village road (``unclassified``) is a narrow, often unpaved single lane. They are typical
*average* speeds including curves and climbs, not speed limits.

Classes
-------
``WALK_ONLY_CLASSES``
    Paths, footways, steps, pedestrian streets, bridleways and cycleways: walked, never
    driven. They have no driving speed.
``NO_WALK_CLASSES``
    ``motorway`` and ``motorway_link``: pedestrians are not allowed on expressways
    (高速公路) in China. ``trunk`` roads (mostly national roads, 国道, in Yunnan) are
    walkable: villagers walk along them.
``EXCLUDED_CLASSES``
    Values of ``highway`` that are not usable for travel at all (``proposed``,
    ``construction``, ``platform``...). Readers drop them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from ynps_geo.errors import ValidationError

__all__ = [
    "CHINESE_ROAD_CLASSES",
    "DEFAULT_ROAD_SPEEDS_KMH",
    "EXCLUDED_CLASSES",
    "NO_WALK_CLASSES",
    "WALK_ONLY_CLASSES",
    "TravelMode",
    "default_walking_speed_kmh",
    "is_drivable_class",
    "is_walkable_class",
    "normalize_road_class",
    "parse_maxspeed",
    "parse_mode",
    "road_speeds",
]


class TravelMode(StrEnum):
    """How a trip is made on the road network."""

    DRIVE = "drive"
    WALK = "walk"


#: Average driving speed in km/h per OSM ``highway`` class, for mountain roads.
DEFAULT_ROAD_SPEEDS_KMH: dict[str, float] = {
    "motorway": 80.0,
    "motorway_link": 50.0,
    "trunk": 60.0,
    "trunk_link": 40.0,
    "primary": 45.0,
    "primary_link": 35.0,
    "secondary": 35.0,
    "secondary_link": 30.0,
    "tertiary": 30.0,
    "tertiary_link": 25.0,
    "unclassified": 25.0,
    "residential": 20.0,
    "living_street": 10.0,
    "service": 15.0,
    "track": 12.0,
    "road": 20.0,
    "escape": 15.0,
}

#: Classes that are walked but never driven.
WALK_ONLY_CLASSES: frozenset[str] = frozenset(
    {
        "path",
        "footway",
        "steps",
        "pedestrian",
        "bridleway",
        "cycleway",
        "sidewalk",
        "crossing",
    }
)

#: Classes pedestrians may not use (expressways; 高速公路 forbid pedestrians in China).
NO_WALK_CLASSES: frozenset[str] = frozenset({"motorway", "motorway_link"})

#: ``highway`` values that are not roads usable for travel; readers drop them.
EXCLUDED_CLASSES: frozenset[str] = frozenset(
    {
        "proposed",
        "construction",
        "abandoned",
        "disused",
        "razed",
        "planned",
        "demolished",
        "platform",
        "raceway",
        "bus_stop",
        "elevator",
        "corridor",
        "services",
        "rest_area",
        "emergency_bay",
        "bus_guideway",
        "busway",
        "via_ferrata",
        "no",
        "none",
    }
)

#: Chinese administrative and technical road grades mapped to OSM ``highway`` classes.
CHINESE_ROAD_CLASSES: dict[str, str] = {
    # administrative grade (行政等级)
    "高速公路": "motorway",
    "高速": "motorway",
    "国道": "trunk",
    "省道": "primary",
    "县道": "secondary",
    "乡道": "tertiary",
    "村道": "unclassified",
    "专用公路": "service",
    "专用道": "service",
    # technical grade (技术等级), by design speed: 一级 60-100, 二级 40-80,
    # 三级 30-40, 四级 20-30 km/h; 等外 = below grade (earth tracks).
    "一级公路": "trunk",
    "二级公路": "primary",
    "三级公路": "secondary",
    "四级公路": "unclassified",
    "等外公路": "track",
    "等外": "track",
    "一级": "trunk",
    "二级": "primary",
    "三级": "secondary",
    "四级": "unclassified",
}

# Chinese route-number prefixes: G national, S provincial, X county, Y township,
# C village, Z special-purpose road (e.g. "G214", "X012").
_ROUTE_PREFIX = {"G": "trunk", "S": "primary", "X": "secondary", "Y": "tertiary"}
_ROUTE_PREFIX.update({"C": "unclassified", "Z": "service"})
# A bare letter is the administrative-grade code of transport-bureau layers (行政等级代码).
_ROUTE_RE = re.compile(r"^([GSXYCZ])\d{0,4}$")
# Geofabrik's free shapefiles split tracks by grade: track_grade1 ... track_grade5.
_TRACK_GRADE_RE = re.compile(r"^track_grade[1-5]$")

_KNOWN_CLASSES = frozenset(DEFAULT_ROAD_SPEEDS_KMH) | WALK_ONLY_CLASSES

_MPH = 1.609344
_NUM_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$", re.IGNORECASE)


def parse_mode(mode: str | TravelMode) -> TravelMode:
    """Return ``mode`` as a :class:`TravelMode`.

    Parameters
    ----------
    mode : str or TravelMode
        ``"drive"`` or ``"walk"``.

    Returns
    -------
    TravelMode

    Raises
    ------
    ValidationError
        For any other value.
    """
    if isinstance(mode, TravelMode):
        return mode
    try:
        return TravelMode(str(mode).strip().lower())
    except ValueError:
        msg = f"unknown travel mode {mode!r}: use one of 'drive', 'walk'"
        raise ValidationError(msg) from None


def default_walking_speed_kmh() -> float:
    """Current walking speed setting, ``ynps_geo.settings.walking_speed_kmh``."""
    from ynps_geo import settings

    return float(settings.walking_speed_kmh)


def parse_maxspeed(value: Any) -> float:
    """Parse an OSM ``maxspeed`` value into km/h.

    Parameters
    ----------
    value : Any
        ``"60"``, ``"60 km/h"``, ``"40 mph"``, ``"50;60"`` (several values: the lowest is
        taken), a number, a list (osmnx style, also as the string ``"['50', '60']"``),
        ``None`` or NaN.

    Returns
    -------
    float
        Speed in km/h; NaN when the value is missing or symbolic (``"CN:urban"``,
        ``"none"``, ``"walk"``, ``"signals"``) or not positive.

    Examples
    --------
    >>> round(parse_maxspeed("40 mph"), 2)
    64.37
    >>> parse_maxspeed("50;60")
    50.0
    """
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        v = float(value)
        return v if math.isfinite(v) and v > 0 else math.nan
    if isinstance(value, list | tuple):
        parts = [parse_maxspeed(v) for v in value]
    else:
        text = str(value).strip()
        if not text:
            return math.nan
        if text.startswith("[") and text.endswith("]"):
            pieces = re.split(r"[;,|]", text[1:-1])
        else:
            pieces = re.split(r"[;|]", text)
        parts = []
        for piece in pieces:
            m = _NUM_RE.match(piece.strip().strip("'\""))
            if m is None:
                parts.append(math.nan)
                continue
            v = float(m.group(1).replace(",", "."))
            unit = (m.group(2) or "").lower()
            if unit == "mph":
                v *= _MPH
            elif unit == "knots":
                v *= 1.852
            parts.append(v if v > 0 else math.nan)
    finite = [p for p in parts if math.isfinite(p)]
    return float(min(finite)) if finite else math.nan


def normalize_road_class(value: Any) -> str | None:
    """Map a road-class value to an OSM ``highway`` class.

    Parameters
    ----------
    value : Any
        An OSM class (``"residential"``), an osmnx list (first element used), a Chinese
        administrative or technical grade (``"县道"``, ``"四级公路"``), a Chinese route
        number (``"G214"`` -> ``trunk``, ``"X012"`` -> ``secondary``) or its bare grade code
        (``"X"``), or a Geofabrik ``fclass`` such as ``"track_grade3"`` (-> ``track``).

    Returns
    -------
    str or None
        The OSM class (lower case), or None when the value is missing or not recognised.
        Classes in :data:`EXCLUDED_CLASSES` are returned as they are so that callers can
        drop them.
    """
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list | tuple):
        return normalize_road_class(value[0]) if value else None
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        inner = [t.strip().strip("'\"") for t in text[1:-1].split(",")]
        inner = [t for t in inner if t]
        return normalize_road_class(inner[0]) if inner else None
    if not text:
        return None
    low = text.lower().replace(" ", "_")
    if low in _KNOWN_CLASSES or low in EXCLUDED_CLASSES:
        return low
    if _TRACK_GRADE_RE.match(low):
        return "track"
    if text in CHINESE_ROAD_CLASSES:
        return CHINESE_ROAD_CLASSES[text]
    for key, cls in CHINESE_ROAD_CLASSES.items():
        if len(key) > 2 and key in text:
            return cls
    m = _ROUTE_RE.match(text.upper())
    if m is not None:
        return _ROUTE_PREFIX[m.group(1)]
    return None


def is_drivable_class(highway: str) -> bool:
    """True when vehicles may use roads of class ``highway``."""
    return highway not in WALK_ONLY_CLASSES and highway not in EXCLUDED_CLASSES


def is_walkable_class(highway: str) -> bool:
    """True when pedestrians may use roads of class ``highway``."""
    return highway not in NO_WALK_CLASSES and highway not in EXCLUDED_CLASSES


def road_speeds(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Driving speeds per class: the defaults updated with ``overrides``.

    Parameters
    ----------
    overrides : Mapping[str, float], optional
        km/h per OSM class, e.g. ``{"track": 8}``; new classes are added.

    Returns
    -------
    dict[str, float]
        A new dictionary; the defaults are not modified.

    Raises
    ------
    ValidationError
        When a speed is not a positive number.
    """
    speeds = dict(DEFAULT_ROAD_SPEEDS_KMH)
    for key, val in (overrides or {}).items():
        try:
            v = float(val)
        except (TypeError, ValueError):
            v = math.nan
        if not (math.isfinite(v) and v > 0):
            msg = (
                f"road speed for class {key!r} is {val!r}: speeds must be positive numbers "
                "in km/h, e.g. {'track': 8}"
            )
            raise ValidationError(msg)
        speeds[str(key)] = v
    return speeds
