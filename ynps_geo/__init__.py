"""ynps_geo: service coverage against Yunnan's 14th Five-Year Public Service Plan.

Travel times from every village to the nearest clinic, school, elder-care home, culture
station and sports ground, on roads and over mountain terrain; coverage of the plan's
circles by county and setting; maps and reports a county can open.
"""

from __future__ import annotations

from typing import Any

from ynps_geo import errors, settings

__version__ = "0.1.0"

__all__ = ["Result", "__version__", "analyze", "errors", "nearest", "settings", "travel_times"]

_API = ("Result", "analyze", "nearest", "travel_times")


def __getattr__(name: str) -> Any:
    """``ynps_geo.analyze``, ``travel_times``, ``nearest``, ``Result`` (imported on first use)."""
    if name in _API:
        from ynps_geo import api

        return getattr(api, name)
    msg = f"module 'ynps_geo' has no attribute {name!r}"
    raise AttributeError(msg)
