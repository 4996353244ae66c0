"""QGIS styles for the output GeoPackages: the map's colours, read by QGIS when a layer opens.

QGIS (and GDAL) keep layer styles inside a GeoPackage in a table named ``layer_styles``: one
row per style, with the style as QML (QGIS's XML style format) in ``styleQML`` and
``useAsDefault`` marking the style QGIS applies when the layer is added. The analyst who drags
``villages.gpkg`` into QGIS therefore sees the same colours as ``map.html`` at once, and picks
another standard under *Layer Properties -> Style* (the combo box lists every style stored).

Styles written (labels in the report's language):

- ``villages`` / ``uncovered_villages``: red where an applicable standard is not met, purple
  where one cannot be told (its covered flag is empty), green where every applicable one is
  met, grey where none applies (as the map); the default style
  takes every standard together, one more style per standard.
- ``counties``: the covered share in the map's classes (:data:`SHARE_CLASSES`, red below 50 %
  to green above 95 %, grey without data), with county names as labels; default all standards,
  one more style per standard.
- ``isochrones`` / ``facility_isochrones``: one translucent fill colour per standard (the map's
  :data:`ISO_COLORS`, in the order of the standards).
- ``facilities``: one colour per facility category (the map's category colours).

Functions
---------
village_styles, county_styles, isochrone_styles, facility_styles
    The styles of one layer, as :class:`~ynps_geo.io.vector.LayerStyle` rows.
styles_for
    The styles of an output layer by its name.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from ynps_geo.io.vector import LayerStyle
from ynps_geo.model.standards import PlanStandard
from ynps_geo.report.palette import CATEGORY_STYLE, COLORS, ISO_COLORS, SHARE_CLASSES

__all__ = [
    "CATEGORY_COLORS",
    "COLORS",
    "ISO_COLORS",
    "SHARE_CLASSES",
    "county_styles",
    "facility_styles",
    "isochrone_styles",
    "qml_categorized",
    "qml_rules",
    "styles_for",
    "village_styles",
]

#: Facility colours of the map by category.
CATEGORY_COLORS = {cat: style[0] for cat, style in CATEGORY_STYLE.items()}

QGIS_VERSION = "3.28.0-Firenze"
"""The QGIS version the QML declares (any QGIS 3 reads it)."""

_WORDS = {
    "zh": {
        "uncovered": "未覆盖",
        "covered": "已覆盖",
        "na": "不适用",
        "unknown": "无法判断",
        "all": "全部标准",
        "no_data": "无数据",
        "other": "其他",
    },
    "en": {
        "uncovered": "not covered",
        "covered": "covered",
        "na": "does not apply",
        "unknown": "cannot tell",
        "all": "all standards",
        "no_data": "no data",
        "other": "other",
    },
}


def _rgba(hex_colour: str, alpha: float = 1.0) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _key(*parts: str) -> str:
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "ynps-geo/" + "/".join(parts))) + "}"


def _field(name: str) -> str:
    """A field reference in a QGIS expression (double quotes, doubled inside)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    """A string literal in a QGIS expression (single quotes, doubled inside)."""
    return "'" + value.replace("'", "''") + "'"


def _options(parent: ET.Element, props: dict[str, str]) -> None:
    """Symbol-layer properties, as QGIS >= 3.26 (``Option``) and older QGIS 3 (``prop``) read."""
    opt = ET.SubElement(parent, "Option", type="Map")
    for k, v in props.items():
        ET.SubElement(opt, "Option", name=k, type="QString", value=v)
    for k, v in props.items():
        ET.SubElement(parent, "prop", k=k, v=v)


def _symbol(parent: ET.Element, name: str, geometry: str, colour: str, alpha: float) -> None:
    """A one-layer symbol: a circle for points, a fill with an outline for polygons."""
    kind = "marker" if geometry == "point" else "fill"
    sym = ET.SubElement(
        parent,
        "symbol",
        type=kind,
        name=name,
        alpha="1",
        clip_to_extent="1",
        force_rhr="0",
        frame_rate="10",
        is_animated="0",
    )
    if kind == "marker":
        layer = ET.SubElement(
            sym, "layer", {"class": "SimpleMarker", "enabled": "1", "locked": "0", "pass": "0"}
        )
        _options(
            layer,
            {
                "angle": "0",
                "color": _rgba(colour, alpha),
                "name": "circle",
                "outline_color": "255,255,255,255",
                "outline_style": "solid",
                "outline_width": "0.3",
                "outline_width_unit": "MM",
                "scale_method": "diameter",
                "size": "2.8",
                "size_unit": "MM",
            },
        )
    else:
        layer = ET.SubElement(
            sym, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"}
        )
        _options(
            layer,
            {
                "color": _rgba(colour, alpha),
                "outline_color": _rgba(colour, 1.0) if alpha < 1 else "80,80,80,255",
                "outline_style": "solid",
                "outline_width": "0.4",
                "outline_width_unit": "MM",
                "style": "solid",
                "joinstyle": "bevel",
            },
        )


def _document(renderer: ET.Element, labels: str | None = None) -> str:
    root = ET.Element(
        "qgis",
        version=QGIS_VERSION,
        styleCategories="Symbology|Labeling",
        labelsEnabled="1" if labels else "0",
    )
    root.append(renderer)
    if labels:
        lab = ET.SubElement(root, "labeling", type="simple")
        settings = ET.SubElement(lab, "settings", calloutType="simple")
        ET.SubElement(
            settings,
            "text-style",
            fieldName=labels,
            isExpression="0",
            fontSize="10",
            fontWeight="75",
            textColor="40,40,40,255",
            textOpacity="1",
            namedStyle="Bold",
        )
        ET.SubElement(
            settings,
            "text-buffer",
            bufferDraw="1",
            bufferSize="1",
            bufferSizeUnits="MM",
            bufferColor="255,255,255,255",
            bufferOpacity="1",
        )
        ET.SubElement(settings, "placement", placement="0", centroidInside="1", centroidWhole="0")
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerGeometryType").text = (
        "0" if renderer.get("geometry") == "point" else "2"
    )
    renderer.attrib.pop("geometry", None)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"


def qml_rules(
    rules: Sequence[tuple[str, str, str]],
    *,
    geometry: str,
    alpha: float = 1.0,
    labels: str | None = None,
    name: str = "",
) -> str:
    """A rule-based style: ``(label, filter expression or "ELSE", colour)`` per rule.

    Parameters
    ----------
    rules : sequence of (str, str, str)
        The rules in legend order; the filters should exclude one another.
    geometry : {"point", "polygon"}
    alpha : float
        Opacity of the fill or marker.
    labels : str, optional
        A field whose values label the features.
    name : str
        Distinguishes the rule keys of different styles.
    """
    renderer = ET.Element(
        "renderer-v2",
        type="RuleRenderer",
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
        referencescale="-1",
        geometry=geometry,
    )
    rules_el = ET.SubElement(renderer, "rules", key=_key(name, "root"))
    symbols = ET.SubElement(renderer, "symbols")
    for i, (label, expr, colour) in enumerate(rules):
        ET.SubElement(
            rules_el, "rule", filter=expr, key=_key(name, str(i)), label=label, symbol=str(i)
        )
        _symbol(symbols, str(i), geometry, colour, alpha)
    return _document(renderer, labels)


def qml_categorized(
    field: str,
    categories: Sequence[tuple[str, str, str]],
    *,
    geometry: str,
    alpha: float = 1.0,
    other: str | None = None,
) -> str:
    """A categorized style on ``field``: ``(value, label, colour)`` per category.

    ``other`` (a colour) adds a last category for every other value.
    """
    renderer = ET.Element(
        "renderer-v2",
        type="categorizedSymbol",
        attr=field,
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
        referencescale="-1",
        geometry=geometry,
    )
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    entries = list(categories)
    if other is not None:
        entries.append(("", _WORDS["en"]["other"], other))
    for i, (value, label, colour) in enumerate(entries):
        ET.SubElement(
            cats,
            "category",
            value=value,
            label=label,
            symbol=str(i),
            render="true",
            type="string",
            uuid=_key(field, value),
        )
        _symbol(symbols, str(i), geometry, colour, alpha)
    return _document(renderer)


def _title(s: PlanStandard, language: str) -> str:
    return (s.title_zh if language == "zh" else s.title_en) or s.id


def _present(s: PlanStandard, columns: Sequence[str]) -> bool:
    return s.covered_column in columns


def _village_qml(
    standards: Sequence[PlanStandard], columns: Sequence[str], language: str, name: str
) -> str:
    """Red (a standard not met) before purple (one the data cannot decide: covered flag
    empty) before green (applicable ones met) before grey (none applies), as the map."""
    w = _WORDS[language]
    fails, unknown, applies = [], [], []
    for s in standards:
        ap = f"{s.id}_applies"
        cov = _field(s.covered_column)
        a = _field(ap) if ap in columns else "TRUE"
        fails.append(f"({a} AND {cov} IS NOT NULL AND NOT {cov})")
        unknown.append(f"({a} AND {cov} IS NULL)")
        applies.append(a)
    fail = f"coalesce({' OR '.join(fails) or 'FALSE'}, FALSE)"
    unk = f"coalesce({' OR '.join(unknown) or 'FALSE'}, FALSE)"
    any_applies = f"coalesce({' OR '.join(applies) or 'FALSE'}, FALSE)"
    return qml_rules(
        [
            (w["uncovered"], fail, COLORS["uncovered"]),
            (w["unknown"], f"NOT {fail} AND {unk}", COLORS["unknown"]),
            (w["covered"], f"NOT {fail} AND NOT {unk} AND {any_applies}", COLORS["covered"]),
            (w["na"], "ELSE", COLORS["na"]),
        ],
        geometry="point",
        name=name,
    )


def village_styles(
    standards: Sequence[PlanStandard], columns: Sequence[str], language: str = "zh"
) -> list[LayerStyle]:
    """Styles of a village layer: all standards (the default), then one per standard.

    Standards whose ``S_covered`` column is not in ``columns`` are left out.
    """
    present = [s for s in standards if _present(s, columns)]
    w = _WORDS[language]
    out = [
        LayerStyle(
            name=w["all"],
            qml=_village_qml(present, columns, language, "villages-all"),
            default=True,
            description="ynps_geo: red = an applicable standard not met",
        )
    ]
    for s in present:
        out.append(
            LayerStyle(
                name=_title(s, language),
                qml=_village_qml([s], columns, language, f"villages-{s.id}"),
                description=f"ynps_geo: {s.id}",
            )
        )
    return out


def _share_qml(column: str, language: str, name: str) -> str:
    w = _WORDS[language]
    rules: list[tuple[str, str, str]] = []
    lo = 0.0
    f = _field(column)
    for i, (hi, colour) in enumerate(SHARE_CLASSES):
        first, last = i == 0, hi > 1
        label = f"≥ {lo:.0%}" if last else (f"< {hi:.0%}" if first else f"{lo:.0%}–{hi:.0%}")
        cond = [f"{f} IS NOT NULL"]
        if not first:
            cond.append(f"{f} >= {lo:g}")
        if not last:
            cond.append(f"{f} < {hi:g}")
        rules.append((label, " AND ".join(cond), colour))
        lo = hi
    rules.append((w["no_data"], "ELSE", COLORS["na"]))
    return qml_rules(rules, geometry="polygon", alpha=0.6, labels="county", name=name)


def county_styles(
    standards: Sequence[PlanStandard], columns: Sequence[str], language: str = "zh"
) -> list[LayerStyle]:
    """Styles of the county layer: share covered of all standards (default), then per standard.

    The shares are columns ``all_share`` and ``S_share`` (0-1).
    """
    w = _WORDS[language]
    out = []
    if "all_share" in columns:
        out.append(
            LayerStyle(
                name=w["all"],
                qml=_share_qml("all_share", language, "counties-all"),
                default=True,
                description="ynps_geo: share of people meeting every applicable standard",
            )
        )
    for s in standards:
        if f"{s.id}_share" in columns:
            out.append(
                LayerStyle(
                    name=_title(s, language),
                    qml=_share_qml(f"{s.id}_share", language, f"counties-{s.id}"),
                    default=not out,
                    description=f"ynps_geo: {s.id} share covered",
                )
            )
    return out


def isochrone_styles(
    standards: Sequence[PlanStandard], values: Sequence[str], language: str = "zh"
) -> list[LayerStyle]:
    """The style of an isochrone layer: a translucent colour per standard (``standard_id``).

    ``values`` are the standard ids present in the layer; ids not among ``standards`` get the
    next colours.
    """
    order = [s.id for s in standards] + sorted(set(values) - {s.id for s in standards})
    titles = {s.id: _title(s, language) for s in standards}
    cats = [
        (sid, titles.get(sid, sid), ISO_COLORS[i % len(ISO_COLORS)])
        for i, sid in enumerate(order)
        if sid in set(values)
    ]
    qml = qml_categorized("standard_id", cats, geometry="polygon", alpha=0.35)
    return [LayerStyle(name=_WORDS[language]["all"], qml=qml, default=True)]


def facility_styles(values: Sequence[str], language: str = "zh") -> list[LayerStyle]:
    """The style of the facility layer: a colour per category (``category``)."""
    cats = [
        (c, c, CATEGORY_COLORS.get(c, "#555555"))
        for c in sorted(set(values))
        if isinstance(c, str) and c
    ]
    qml = qml_categorized("category", cats, geometry="point", other="#555555")
    return [LayerStyle(name="category", qml=qml, default=True)]


def styles_for(
    layer: str, gdf: Any, standards: Sequence[PlanStandard], language: str = "zh"
) -> list[LayerStyle]:
    """The styles of an output layer by name (``[]`` for a layer without styles)."""
    columns = [str(c) for c in gdf.columns]
    if layer in ("villages", "uncovered_villages"):
        return village_styles(standards, columns, language)
    if layer == "counties":
        return county_styles(standards, columns, language)
    if layer in ("isochrones", "facility_isochrones") and "standard_id" in columns:
        return isochrone_styles(standards, [str(v) for v in gdf["standard_id"].dropna()], language)
    if layer == "facilities" and "category" in columns:
        return facility_styles([str(v) for v in gdf["category"].dropna()], language)
    return []
