"""The colours of the map, the report's map legend and the QGIS styles, in one place.

No imports beyond the standard library: the QGIS styles are written without folium.
"""

from __future__ import annotations

__all__ = ["CATEGORY_STYLE", "COLORS", "ISO_COLORS", "PEOPLE_COLORS", "SHARE_CLASSES"]

#: Villages: every applicable standard met, at least one not met, no standard applies, and
#: "cannot tell" (a standard the data cannot decide: its covered flag is empty).
COLORS = {"covered": "#27ae60", "uncovered": "#d62728", "na": "#9e9e9e", "unknown": "#8e44ad"}

#: Covered share classes for the choropleth: (upper bound, colour), last is >= 0.95.
SHARE_CLASSES: list[tuple[float, str]] = [
    (0.5, "#d7301f"),
    (0.7, "#fc8d59"),
    (0.85, "#fee08b"),
    (0.95, "#a6d96a"),
    (1.01, "#1a9850"),
]

ISO_COLORS = [
    "#1f77b4",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#2ca02c",
    "#7f7f7f",
    "#d62728",
]
#: Population ramp (ColorBrewer PuBu): blue, so that red keeps meaning "standard not met".
PEOPLE_COLORS = ["#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d"]

CATEGORY_STYLE: dict[str, tuple[str, str, str]] = {
    # category: (colour, glyph zh, glyph en)
    "health": ("#c0392b", "医", "H"),
    "school": ("#2471a3", "学", "S"),
    "kindergarten": ("#af7ac5", "幼", "K"),
    "childcare": ("#e67e22", "托", "C"),
    "eldercare": ("#7d6608", "养", "E"),
    "culture": ("#148f77", "文", "Cu"),
    "fitness": ("#1e8449", "体", "F"),
    "vocational_school": ("#1a5276", "职", "V"),
    "care_institution": ("#6e2c00", "护", "CI"),
    "hospice": ("#5b2c6f", "宁", "Hs"),
    "government": ("#424949", "政", "G"),
    "other_public": ("#616a6b", "公", "O"),
}
