"""ynps_geo: service coverage against Yunnan's 14th Five-Year Public Service Plan.

Travel times from every village to the nearest clinic, school, elder-care home, culture
station and sports ground, on roads and over mountain terrain; coverage of the plan's
circles by county and setting; maps and reports a county can open.
"""

from __future__ import annotations

from ynps_geo import errors, settings

__version__ = "0.1.0"

__all__ = ["__version__", "errors", "settings"]
