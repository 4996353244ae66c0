"""Read roads into a routable :class:`~ynps_geo.network.RoadNetwork`.

Supported sources
-----------------
- OSM files ``.osm.pbf``, ``.osm``, ``.osm.bz2``, ``.osm.gz`` (optional package
  ``osmium``): ways with a ``highway`` tag. Every way vertex is a node, consecutive
  vertices make an edge; ways only meet where they share an OSM node.
- osmnx-style ``.graphml``: node attributes ``x``, ``y``; edge attributes ``length``,
  ``highway``, ``maxspeed``, ``oneway``.
- Lines in a vector file (``.gpkg``, ``.shp``, ``.geojson``, ``.json``, ``.fgb``,
  ``.gml``, ``.kml``, ``.tab``, ``.sqlite``, ``.zip``): MultiLineStrings are exploded and
  lines are joined where they share a vertex (coordinates rounded to 1e-7 degree, about
  1 cm, after conversion to WGS84). When the file has a ``node_ids`` column (one OSM node
  id per vertex, space separated, as written by this project's OSM exports) those ids
  define the nodes instead, which keeps the exact OSM topology.

Tag rules (OSM and OSM-derived columns)
---------------------------------------
- Dropped: classes in :data:`ynps_geo.model.modes.EXCLUDED_CLASSES` (``proposed``,
  ``construction``, ``platform``...) and ``area=yes`` ways.
- Speed: the class speed (:data:`~ynps_geo.model.modes.DEFAULT_ROAD_SPEEDS_KMH`,
  overridable with ``speeds``), an average speed on Yunnan's mountain roads, **capped by**
  ``maxspeed`` when that parses to km/h: ``maxspeed`` is a limit, not the speed a car
  averages, so it only ever lowers the class speed (a ``tertiary`` road signed 20 is driven
  at 20, one signed 80 at the class's 30). A vector file's explicit ``speed_field`` is taken
  as the speed to drive at.
- Grade separation: ways tagged ``bridge``, ``tunnel`` or ``covered`` (other than ``no``)
  or with a ``layer`` other than 0 are marked ``grade_separated``: walking reaches them from
  the terrain only at their ends, never from the ground they pass over or under.
- ``oneway=yes/1/true`` -> one way along the way; ``-1``/``reverse`` -> one way against
  it (the edge is stored reversed); ``junction=roundabout``/``circular`` and
  ``highway=motorway`` imply one way unless ``oneway=no``.
- Driving access in OSM's order of precedence, the most specific tag that is set wins:
  ``motorcar``, then ``motor_vehicle``, then ``vehicle``, then ``access``. ``no`` or
  ``private`` exclude the way from driving (its speed is NaN); it stays walkable.
  ``foot=no`` is not modelled.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np

from ynps_geo._geo import haversine_m
from ynps_geo._validate import projected_crs_hint
from ynps_geo.errors import DataQualityWarning, DataSourceError, ValidationError, require
from ynps_geo.model.modes import (
    EXCLUDED_CLASSES,
    WALK_ONLY_CLASSES,
    normalize_road_class,
    parse_maxspeed,
    road_speeds,
)
from ynps_geo.network import RoadNetwork, class_mask, default_speeds

__all__ = ["OSM_SUFFIXES", "SUPPORTED_SUFFIXES", "VECTOR_SUFFIXES", "read_roads"]

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")
VECTOR_SUFFIXES = (
    ".gpkg",
    ".shp",
    ".geojson",
    ".json",
    ".fgb",
    ".gml",
    ".kml",
    ".tab",
    ".sqlite",
    ".zip",
    ".shp.zip",
)
SUPPORTED_SUFFIXES = (*OSM_SUFFIXES, ".graphml", *VECTOR_SUFFIXES)

_YES = frozenset({"yes", "1", "true", "t", "y", "是", "单向"})
_NO = frozenset({"no", "0", "false", "f", "n", "否", "双向", ""})
_REV = frozenset({"-1", "reverse", "反向"})
_DENY = frozenset({"no", "private"})
_ALLOW = frozenset({"yes", "permissive", "destination", "designated", "delivery", "agricultural"})
#: values of bridge/tunnel/covered that mean "not separated" (Geofabrik codes F = false)
_NOT_SEPARATED = frozenset({"", "no", "0", "false", "f", "n", "none", "nan"})
#: motor access tags from the most specific to the least (``access`` comes last)
_MOTOR_TAGS = ("motorcar", "motor_vehicle", "vehicle")

# Coordinates of line vertices are joined on a 1e-7 degree grid (~1 cm).
_GRID = 1e7


def read_roads(
    path: str | Path,
    *,
    class_field: str | None = None,
    speed_field: str | None = None,
    oneway_field: str | None = None,
    layer: str | int | None = None,
    crs: Any = None,
    speeds: Mapping[str, float] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> RoadNetwork:
    """Read a road file into a routable network.

    Parameters
    ----------
    path : str or Path
        ``.osm.pbf``/``.osm``/``.osm.bz2``/``.osm.gz``, ``.graphml`` or a vector file of
        lines (GeoPackage, Shapefile, GeoJSON...).
    class_field : str, optional
        Vector files: column with the road class: OSM ``highway`` values, Chinese grades
        (高速公路, 国道, 省道, 县道, 乡道, 村道, 专用公路, 一级公路 ... 四级公路, 等外公路)
        or route numbers (G214, X012). Default: a ``highway`` column when there is one,
        else every line is ``road``.
    speed_field : str, optional
        Vector files: column with a speed in km/h (``maxspeed`` syntax accepted).
        Default: a ``maxspeed`` column when there is one. Missing values get the class
        default.
    oneway_field : str, optional
        Vector files: column with yes/no/-1 (also 1/0, true/false, 是/否). Default: a
        ``oneway`` column when there is one, else two-way.
    layer : str or int, optional
        Vector files: layer to read (default the first).
    crs : Any, optional
        Vector and GraphML files: the CRS the coordinates are really in, overriding the
        file's (EPSG code, ``"EPSG:4547"``, WKT, or ``"gcj02"``/``"bd09"`` for Chinese
        offset coordinates). Default: the file's CRS; WGS84 when none is declared and
        coordinates look like degrees.
    speeds : Mapping[str, float], optional
        Driving speed overrides per class in km/h, e.g. ``{"track": 8}``.
    bbox : tuple of float, optional
        ``(minx, miny, maxx, maxy)`` in degrees: keep edges with an end inside.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    DataSourceError
        The file does not exist or cannot be read.
    ValidationError
        Unsupported extension, no usable roads, a vector file without lines, a column
        that does not exist, coordinates in an unknown CRS.
    MissingDependencyError
        ``osmium`` is needed for OSM files and is not installed.

    Examples
    --------
    >>> net = read_roads("yunnan-latest.osm.pbf", bbox=(99.9, 25.4, 100.4, 25.9))  # doctest: +SKIP
    >>> indptr, indices, seconds = net.to_csr("drive")  # doctest: +SKIP
    """
    p = Path(path)
    if not p.exists():
        msg = f"road file {p} does not exist; fix: check the path (relative to {Path.cwd()})"
        raise DataSourceError(msg)
    if p.is_dir() and not p.name.lower().endswith(".gdb"):
        msg = f"road file {p} is a folder; fix: give the road file inside it"
        raise DataSourceError(msg)
    table = road_speeds(speeds)
    low = p.name.lower()
    if low.endswith(OSM_SUFFIXES):
        net = _read_osm(p, table)
    elif low.endswith(".graphml"):
        net = _read_graphml(p, table, crs)
    elif low.endswith(VECTOR_SUFFIXES) or low.endswith(".gdb"):
        net = _read_vector(p, table, class_field, speed_field, oneway_field, layer, crs)
    else:
        msg = (
            f"road file {p}: extension not supported; fix: use one of "
            f"{', '.join(SUPPORTED_SUFFIXES)}"
        )
        raise ValidationError(msg)
    if bbox is not None:
        net = net.clip(bbox)
        if net.n_edges == 0:
            msg = (
                f"road file {p}: no road inside bbox {tuple(bbox)}; fix: check the bbox is "
                "(minx, miny, maxx, maxy) in lon/lat degrees and overlaps the file"
            )
            raise ValidationError(msg)
    return net


# --------------------------------------------------------------------------- common
def _oneway_code(value: Any) -> int:
    """1 forward, -1 reverse, 0 two-way, -2 not given."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return -2
    if isinstance(value, bool | np.bool_):
        return 1 if value else 0
    if isinstance(value, int | float | np.integer | np.floating):
        return 1 if value == 1 else (-1 if value == -1 else 0)
    text = str(value).strip().lower()
    if text in _YES:
        return 1
    if text in _REV:
        return -1
    if text in _NO:
        return 0
    if text.startswith("[") and text.endswith("]"):  # osmnx lists: one way if any says so
        codes = [_oneway_code(t.strip().strip("'\"")) for t in text[1:-1].split(",")]
        return 1 if 1 in codes else 0
    return 0  # reversible, alternating, unknown: usable both ways


_GEOFABRIK_ONEWAY = {"F": 1, "T": -1, "B": 0}


def _oneway_codes(values: np.ndarray, *, geofabrik: bool = False) -> np.ndarray:
    """:func:`_oneway_code` of a column, recognising Geofabrik's coding.

    Geofabrik's free shapefiles code ``oneway`` as ``F`` (one way along the line), ``T``
    (one way against it) and ``B`` (both ways): read as yes/no, ``F`` would become two-way
    ("false") and ``T`` one way the wrong way ("true"). A column of only ``F``/``T``/``B``
    is read that way when it holds a ``B`` or the layer has Geofabrik's ``fclass`` column.
    """
    text = {v.strip() for v in values if isinstance(v, str) and v.strip()}
    if text and text <= set(_GEOFABRIK_ONEWAY) and ("B" in text or geofabrik):
        return np.array(
            [_GEOFABRIK_ONEWAY.get(v.strip(), -2) if isinstance(v, str) else -2 for v in values],
            dtype=np.int64,
        )
    return np.array([_oneway_code(v) for v in values], dtype=np.int64)


def _is_separated(bridge: Any, tunnel: Any, covered: Any, layer: Any) -> bool:
    """True for a way off the ground: a bridge, tunnel, covered way, or a non-zero layer."""
    for tag in (bridge, tunnel, covered):
        if tag is None or (isinstance(tag, float) and math.isnan(tag)):
            continue
        if isinstance(tag, bool | np.bool_):
            if tag:
                return True
            continue
        if str(tag).strip().lower() not in _NOT_SEPARATED:
            return True
    if layer is None or (isinstance(layer, float) and math.isnan(layer)):
        return False
    try:
        return float(str(layer).strip().split(";")[0]) != 0.0
    except ValueError:
        return False


def _drive_allowed(access: Any, motor: Any) -> bool:
    mv = str(motor).strip().lower() if motor is not None else ""
    if mv in _ALLOW:
        return True
    if mv in _DENY:
        return False
    ac = str(access).strip().lower() if access is not None else ""
    return ac not in _DENY


def _from_ways(
    vertex_key: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    way_len: np.ndarray,
    highway: np.ndarray,
    maxspeed: np.ndarray,
    oneway: np.ndarray,
    drive_ok: np.ndarray,
    table: dict[str, float],
    name: str,
    node_ids: np.ndarray | None = None,
    separated: np.ndarray | None = None,
    cap_speeds: bool = True,
) -> RoadNetwork:
    """Build a network from ways given as concatenated vertex arrays.

    ``vertex_key`` identifies nodes (equal keys = same node); invalid vertices have NaN
    coordinates and split their way. Way attributes are per way.
    """
    valid_vertex = np.isfinite(lon) & np.isfinite(lat)
    uniq, first, inv = np.unique(vertex_key, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    # nodes whose first occurrence was invalid may be valid elsewhere: take a valid one
    if not valid_vertex.all():
        pos = np.flatnonzero(valid_vertex)
        first_valid = np.full(uniq.shape[0], -1, dtype=np.int64)
        first_valid[inv[pos][::-1]] = pos[::-1]
        first = np.where(first_valid >= 0, first_valid, first)
    nlon, nlat = lon[first], lat[first]
    nid = uniq.astype(np.int64) if node_ids is None else node_ids[first]

    nw = way_len.shape[0]
    way_len = way_len.astype(np.int64)
    ends = np.cumsum(way_len)
    is_last = np.zeros(vertex_key.shape[0], dtype=bool)
    is_last[ends[way_len > 0] - 1] = True
    start_pos = np.flatnonzero(~is_last)
    way_of_edge = np.repeat(np.arange(nw), np.maximum(way_len - 1, 0))
    u = inv[start_pos]
    v = inv[start_pos + 1]
    ok = (u != v) & np.isfinite(nlon[u]) & np.isfinite(nlon[v])
    u, v, way_of_edge = u[ok], v[ok], way_of_edge[ok]

    ow = oneway[way_of_edge]
    rev = ow == -1
    u, v = np.where(rev, v, u), np.where(rev, u, v)
    hw = highway[way_of_edge]
    sp_way = _speeds(highway, maxspeed, drive_ok, table, cap=cap_speeds)
    spd = sp_way[way_of_edge]
    sep = np.zeros(nw, dtype=bool) if separated is None else np.asarray(separated, dtype=bool)

    used = np.zeros(uniq.shape[0], dtype=bool)
    used[u] = True
    used[v] = True
    new_index = np.cumsum(used) - 1
    lon_u, lat_u = nlon[used], nlat[used]
    u2, v2 = new_index[u], new_index[v]
    length = haversine_m(lon_u[u2], lat_u[u2], lon_u[v2], lat_u[v2])
    return RoadNetwork(
        lon=lon_u,
        lat=lat_u,
        node_id=nid[used],
        u=u2,
        v=v2,
        length_m=length,
        highway=hw,
        speed_kmh=spd,
        oneway=ow != 0,
        name=name,
        grade_separated=sep[way_of_edge],
    )


def _speeds(
    highway: np.ndarray,
    maxspeed: np.ndarray,
    drive_ok: np.ndarray,
    table: dict[str, float],
    *,
    cap: bool = True,
) -> np.ndarray:
    """Driving speed: the class speed capped by ``maxspeed`` (``cap``), or ``maxspeed``
    itself where given (``cap=False``: a column of speeds to drive at); NaN when not
    drivable."""
    with np.errstate(invalid="ignore"):
        tagged = np.isfinite(maxspeed) & (maxspeed > 0)
    spd = default_speeds(highway, table)
    if cap:
        with np.errstate(invalid="ignore"):
            spd = np.where(tagged & (maxspeed < spd), maxspeed, spd)
    else:
        spd = np.where(tagged, maxspeed, spd)
    spd[class_mask(highway, WALK_ONLY_CLASSES) | ~drive_ok] = np.nan
    return spd


def _no_roads(path: Path, detail: str) -> ValidationError:
    msg = (
        f"no roads with a highway tag in {path} ({detail}); fix: give an OSM extract that "
        "contains highway=* ways (e.g. from download.geofabrik.de), or a line file with "
        "a road-class column"
    )
    return ValidationError(msg)


# ------------------------------------------------------------------------------ OSM
def _osm_ways(path: Path, keep_all: bool = False) -> dict[str, Any]:
    """Raw highway ways of an OSM file as arrays (``keep_all`` keeps excluded classes)."""
    require("osmium", "reading .osm.pbf roads")
    import osmium

    refs: list[int] = []
    xs: list[int] = []
    ys: list[int] = []
    lens: list[int] = []
    hws: list[str | None] = []
    maxs: list[str | None] = []
    ows: list[int] = []
    drive: list[bool] = []
    sep: list[bool] = []
    add_r, add_x, add_y = refs.append, xs.append, ys.append
    n_seen = 0
    try:
        fp = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for entity in fp:
            w = cast("osmium.osm.Way", entity)  # the entity filter passes ways only
            n_seen += 1
            tags = w.tags
            hw = tags.get("highway")
            if not keep_all and (hw in EXCLUDED_CLASSES or tags.get("area") == "yes"):
                continue
            nodes = w.nodes
            for nr in nodes:
                add_r(nr.ref)
                add_x(nr.x)
                add_y(nr.y)
            lens.append(len(nodes))
            hws.append(hw)
            maxs.append(tags.get("maxspeed"))
            code = _oneway_code(tags.get("oneway"))
            if code == -2:
                junction = tags.get("junction")
                code = 1 if (junction in ("roundabout", "circular") or hw == "motorway") else 0
            ows.append(code)
            motor = next((tags.get(k) for k in _MOTOR_TAGS if tags.get(k)), None)
            drive.append(_drive_allowed(tags.get("access"), motor))
            sep.append(
                _is_separated(
                    tags.get("bridge"), tags.get("tunnel"), tags.get("covered"), tags.get("layer")
                )
            )
    except RuntimeError as exc:  # libosmium parse errors
        msg = f"cannot read OSM file {path}: {exc}; fix: check the file is a complete OSM extract"
        raise DataSourceError(msg) from None
    x = np.asarray(xs, dtype=np.int64)
    y = np.asarray(ys, dtype=np.int64)
    undefined = 2147483647
    bad = (x == undefined) | (y == undefined)
    lon = x / 1e7
    lat = y / 1e7
    lon[bad] = np.nan
    lat[bad] = np.nan
    return {
        "refs": np.asarray(refs, dtype=np.int64),
        "lon": lon,
        "lat": lat,
        "way_len": np.asarray(lens, dtype=np.int64),
        "highway": np.asarray(hws, dtype=object),
        "maxspeed": np.array([parse_maxspeed(m) for m in maxs], dtype=np.float64),
        "oneway": np.asarray(ows, dtype=np.int64),
        "drive_ok": np.asarray(drive, dtype=bool),
        "separated": np.asarray(sep, dtype=bool),
        "n_seen": n_seen,
        "n_missing": int(bad.sum()),
    }


def _read_osm(path: Path, table: dict[str, float]) -> RoadNetwork:
    ways = _osm_ways(path)
    if ways["way_len"].size == 0:
        detail = (
            "no way has a highway tag"
            if ways["n_seen"] == 0
            else f"{ways['n_seen']} highway ways, all excluded (construction, platform, area...)"
        )
        raise _no_roads(path, detail)
    if ways["n_missing"]:
        warnings.warn(
            f"{path}: {ways['n_missing']} way vertices reference nodes missing from the file "
            "(cut at the extract border); the ways are split there",
            DataQualityWarning,
            stacklevel=3,
        )
    net = _from_ways(
        ways["refs"],
        ways["lon"],
        ways["lat"],
        ways["way_len"],
        ways["highway"],
        ways["maxspeed"],
        ways["oneway"],
        ways["drive_ok"],
        table,
        str(path),
        separated=ways["separated"],
    )
    if net.n_edges == 0:
        raise _no_roads(path, "the highway ways have no located nodes")
    return net


# -------------------------------------------------------------------------- GraphML
_GML_NS = "{http://graphml.graphdrawing.org/xmlns}"


def _edge_tags(
    a: Mapping[str, Any], unknown: dict[str, int]
) -> tuple[str, float, bool, bool] | None:
    """Class, maxspeed, motor access and grade separation of a graph edge's attributes (a
    GraphML edge or a networkx edge dict); None for an excluded class. Unknown classes are
    counted in ``unknown`` and read as ``road``."""
    raw = a.get("highway")
    hw = normalize_road_class(raw) if raw is not None else "road"
    if hw is None:
        unknown[str(raw)] = unknown.get(str(raw), 0) + 1
        hw = "road"
    if hw in EXCLUDED_CLASSES:
        return None
    motor = next((a.get(k) for k in _MOTOR_TAGS if a.get(k)), None)
    return (
        hw,
        parse_maxspeed(a.get("maxspeed")),
        _drive_allowed(a.get("access"), motor),
        _is_separated(a.get("bridge"), a.get("tunnel"), a.get("covered"), a.get("layer")),
    )


def _twin_arcs(u: np.ndarray, v: np.ndarray, ow: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Mask of the arcs to keep when a directed graph (osmnx) stores a two-way street as
    ``u->v`` and ``v->u``: one of each such pair (same ends, same length to 0.1 m)."""
    keep = np.ones(u.size, dtype=bool)
    idx = np.flatnonzero(ow == 0)
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    key_len = np.round(np.nan_to_num(length, nan=-1.0), 1)
    idx = idx[np.lexsort((key_len[idx], hi[idx], lo[idx]))]
    if idx.size > 1:
        dup = (
            (lo[idx][1:] == lo[idx][:-1])
            & (hi[idx][1:] == hi[idx][:-1])
            & (key_len[idx][1:] == key_len[idx][:-1])
        )
        keep[idx[1:][dup]] = False
    return keep


def _read_graphml(path: Path, table: dict[str, float], crs: Any) -> RoadNetwork:
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        msg = f"cannot read GraphML file {path}: {exc}; fix: check it is a GraphML export"
        raise DataSourceError(msg) from None
    ns = _GML_NS if root.tag.startswith(_GML_NS) else ""
    keys: dict[str, tuple[str, str]] = {}
    for k in root.iter(f"{ns}key"):
        keys[k.get("id", "")] = (k.get("for", ""), k.get("attr.name", k.get("id", "")))
    graph = root.find(f"{ns}graph")
    if graph is None:
        msg = f"GraphML file {path} has no <graph> element; fix: export the graph again"
        raise ValidationError(msg)
    directed = graph.get("edgedefault", "undirected") == "directed"
    gdata = {
        keys.get(d.get("key", ""), ("", d.get("key", "")))[1]: d.text
        for d in graph.findall(f"{ns}data")
    }

    def attrs(el: Any) -> dict[str, str | None]:
        return {
            keys.get(d.get("key", ""), ("", d.get("key", "")))[1]: d.text
            for d in el.findall(f"{ns}data")
        }

    node_index: dict[str, int] = {}
    xs: list[float] = []
    ys: list[float] = []
    for nd in graph.iter(f"{ns}node"):
        a = attrs(nd)
        node_index[nd.get("id", "")] = len(xs)
        try:
            xs.append(float(a.get("x") or a.get("lon") or "nan"))
            ys.append(float(a.get("y") or a.get("lat") or "nan"))
        except ValueError:
            xs.append(math.nan)
            ys.append(math.nan)
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if x.size == 0 or not np.isfinite(x).any():
        msg = (
            f"GraphML file {path}: nodes have no x/y coordinates; fix: export with node "
            "attributes x (lon) and y (lat), as osmnx.save_graphml does"
        )
        raise ValidationError(msg)
    lon, lat = _coords_to_wgs84(x, y, crs if crs is not None else gdata.get("crs"), path)
    ids = list(node_index)
    try:
        nid = np.array([int(i) for i in ids], dtype=np.int64)
    except ValueError:
        nid = np.arange(len(ids), dtype=np.int64)

    us: list[int] = []
    vs: list[int] = []
    lengths: list[float] = []
    hws: list[str] = []
    maxs: list[float] = []
    ows: list[int] = []
    drive: list[bool] = []
    seps: list[bool] = []
    unknown: dict[str, int] = {}
    for ed in graph.iter(f"{ns}edge"):
        a = attrs(ed)
        s, t = ed.get("source", ""), ed.get("target", "")
        if s not in node_index or t not in node_index:
            continue
        tags = _edge_tags(a, unknown)
        if tags is None:
            continue
        hw, maxspeed, drive_ok, separated = tags
        us.append(node_index[s])
        vs.append(node_index[t])
        try:
            lengths.append(float(a.get("length") or "nan"))
        except ValueError:
            lengths.append(math.nan)
        hws.append(hw)
        maxs.append(maxspeed)
        code = _oneway_code(a.get("oneway"))
        ows.append(0 if code == -2 else code)
        drive.append(drive_ok)
        seps.append(separated)
    if not us:
        raise _no_roads(path, "the GraphML file has no usable edges")
    _warn_unknown(unknown, path, "highway")
    u = np.asarray(us, dtype=np.int64)
    v = np.asarray(vs, dtype=np.int64)
    length = np.asarray(lengths, dtype=np.float64)
    ow = np.asarray(ows, dtype=np.int64)
    hw_a = np.asarray(hws, dtype=object)
    ms = np.asarray(maxs, dtype=np.float64)
    dr = np.asarray(drive, dtype=bool)
    sp = np.asarray(seps, dtype=bool)
    rev = ow == -1
    u, v = np.where(rev, v, u), np.where(rev, u, v)
    if directed:
        keep = _twin_arcs(u, v, ow, length)
        u, v, ow = u[keep], v[keep], ow[keep]
        length, ms = length[keep], ms[keep]
        hw_a, dr, sp = hw_a[keep], dr[keep], sp[keep]
    spd = _speeds(hw_a, ms, dr, table)
    geo = haversine_m(lon[u], lat[u], lon[v], lat[v])
    length = np.where(np.isfinite(length), length, geo)
    keep = (u != v) & np.isfinite(lon[u]) & np.isfinite(lon[v])
    net = RoadNetwork(
        lon, lat, nid, u, v, length, hw_a, spd, ow != 0, name=str(path), grade_separated=sp
    )
    net = net.subset_edges(keep)
    return net


# --------------------------------------------------------------------------- vector
def _is_named_offset_crs(crs: Any) -> bool:
    if not isinstance(crs, str):
        return False
    key = re.sub(r"[^a-z0-9]", "", crs.lower())
    return key.startswith(("gcj", "bd09", "mars", "baidu"))


def _coords_to_wgs84(
    x: np.ndarray, y: np.ndarray, crs: Any, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates in ``crs`` (None: assume degrees) to lon/lat WGS84."""
    if crs is None or (isinstance(crs, str) and not crs.strip()):
        _check_degrees(x, y, path)
        return x, y
    if _is_named_offset_crs(crs):
        import shapely

        pts = shapely.points(np.column_stack([x, y]))
        out = _named_crs_to_wgs84(pts, crs, path)
        c = shapely.get_coordinates(out)
        return c[:, 0].copy(), c[:, 1].copy()
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError as ProjCRSError

    try:
        src = CRS.from_user_input(crs)
    except ProjCRSError:
        msg = (
            f"road file {path}: CRS {crs!r} is not recognised; fix: give an EPSG code such "
            "as 'EPSG:4547', a WKT string, or 'gcj02'/'bd09'"
        )
        raise ValidationError(msg) from None
    if src.equals(CRS.from_epsg(4326)) or (src.is_geographic and src.name.startswith("WGS 84")):
        _check_degrees(x, y, path)
        return x, y
    tr = Transformer.from_crs(src, 4326, always_xy=True)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _check_degrees(x: np.ndarray, y: np.ndarray, path: Path) -> None:
    fx, fy = x[np.isfinite(x)], y[np.isfinite(y)]
    if fx.size and (np.abs(fx).max() > 180 or np.abs(fy).max() > 90):
        msg = (
            f"road file {path}: coordinates up to ({np.abs(fx).max():.0f}, "
            f"{np.abs(fy).max():.0f}) are not degrees but no projected CRS is declared; "
            f"fix: pass crs= (roads: {{crs: ...}} in the config), {projected_crs_hint(fx)}"
        )
        raise ValidationError(msg)


def _named_crs_to_wgs84(geoms: Any, crs: str, path: Path) -> Any:
    """Convert shapely geometries in GCJ-02/BD-09/WGS84 (by name) to WGS84."""
    try:
        from ynps_geo.io.coords import geometry_to_wgs84, parse_crs
    except ImportError:
        msg = (
            f"road file {path}: CRS {crs!r} needs ynps_geo.io.coords, which is not "
            "available; fix: give an EPSG code, or install the full ynps_geo"
        )
        raise ValidationError(msg) from None
    out = geometry_to_wgs84(np.asarray(geoms, dtype=object), parse_crs(crs))
    return np.asarray(getattr(out, "values", out), dtype=object)


def _warn_unknown(unknown: dict[str, int], path: Path, field: str) -> None:
    if not unknown:
        return
    top = sorted(unknown.items(), key=lambda kv: -kv[1])[:8]
    shown = ", ".join(f"{k!r} x{n}" for k, n in top)
    warnings.warn(
        f"{path}: {sum(unknown.values())} roads have a {field} value that is not a known "
        f"road class ({shown}); they are treated as 'road' ({road_speeds()['road']:.0f} km/h). "
        "Fix: map them with OSM highway names or Chinese grades (县道, 四级公路...)",
        DataQualityWarning,
        stacklevel=4,
    )


def _read_vector(
    path: Path,
    table: dict[str, float],
    class_field: str | None,
    speed_field: str | None,
    oneway_field: str | None,
    layer: str | int | None,
    crs: Any,
) -> RoadNetwork:
    import geopandas as gpd
    import shapely

    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises DataSourceError/DataLayerError/OSError
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if layer is not None and "layer" in text.lower():
            msg = (
                f"road file {path}: cannot open layer {layer!r} ({text}); fix: check the layer name"
            )
            raise ValidationError(msg) from None
        msg = f"cannot read road file {path}: {text}; fix: check it is a valid vector file"
        raise DataSourceError(msg) from None
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    for label, col in (
        ("class_field", class_field),
        ("speed_field", speed_field),
        ("oneway_field", oneway_field),
    ):
        if col is not None and col not in gdf.columns:
            msg = f"road file {path}: {label}={col!r} is not a column; columns are {columns}"
            raise ValidationError(msg)
    if len(gdf) == 0:
        raise _no_roads(path, "the layer is empty")
    geoms = gdf.geometry.values
    gtype = shapely.get_type_id(np.asarray(geoms, dtype=object))
    is_line = np.isin(gtype, [1, 5])  # LineString, MultiLineString
    if not is_line.any():
        names = sorted({str(t) for t in gdf.geometry.geom_type.dropna().unique()}) or ["empty"]
        msg = (
            f"road file {path} has no lines (geometry types: {', '.join(names)}); fix: give "
            "a layer of road centre lines (LineString/MultiLineString)"
        )
        raise ValidationError(msg)
    from ynps_geo.io.vector import _undefined_crs

    # GDAL < 3.8 reads a GeoPackage written without a CRS as "Undefined geographic SRS"
    file_crs = None if _undefined_crs(gdf.crs) else gdf.crs
    src_crs = crs if crs is not None else file_crs
    gdf = gdf.loc[is_line]

    # per-feature attributes
    n_feat = len(gdf)
    cf = class_field
    if cf is None:
        # OSM-derived layers: ``highway``; Geofabrik's free shapefiles: ``fclass``
        cf = next((c for c in ("highway", "fclass") if c in gdf), None)
    unknown: dict[str, int] = {}
    if cf is None:
        hw = np.full(n_feat, "road", dtype=object)
    else:
        vals = gdf[cf].to_numpy(dtype=object)
        cache: dict[Any, str | None] = {}
        hw_list = []
        for val in vals:
            key = val if not isinstance(val, list) else tuple(val)
            if key not in cache:
                cache[key] = normalize_road_class(val)
            cls = cache[key]
            if cls is None:
                unknown[str(val)] = unknown.get(str(val), 0) + 1
                cls = "road"
            hw_list.append(cls)
        hw = np.asarray(hw_list, dtype=object)
    sf = speed_field if speed_field is not None else ("maxspeed" if "maxspeed" in gdf else None)
    if sf is None:
        ms = np.full(n_feat, np.nan)
    else:
        ms = np.array([parse_maxspeed(val) for val in gdf[sf].to_numpy(dtype=object)])
    of = oneway_field if oneway_field is not None else ("oneway" if "oneway" in gdf else None)
    ow = np.zeros(n_feat, dtype=np.int64)
    if of is not None:
        ow = _oneway_codes(gdf[of].to_numpy(dtype=object), geofabrik="fclass" in gdf)
    if "junction" in gdf:
        rb = np.isin(gdf["junction"].to_numpy(dtype=object), ["roundabout", "circular"])
        ow = np.where((ow == -2) & rb, 1, ow)
    ow = np.where(ow == -2, 0, ow)
    drive = np.ones(n_feat, dtype=bool)
    motor_cols = [c for c in _MOTOR_TAGS if c in gdf]
    if "access" in gdf or motor_cols:
        access = gdf["access"].to_numpy(dtype=object) if "access" in gdf else np.full(n_feat, None)
        # as for OSM files: the most specific of motorcar, motor_vehicle, vehicle that is set
        motor = np.full(n_feat, None, dtype=object)
        for c in reversed(motor_cols):
            vals = gdf[c].to_numpy(dtype=object)
            given = np.array([isinstance(v, str) and v.strip() != "" for v in vals], dtype=bool)
            motor[given] = vals[given]
        drive = np.array(
            [_drive_allowed(a, m) for a, m in zip(access, motor, strict=True)], dtype=bool
        )
    sep_cols = [
        gdf[c].to_numpy(dtype=object) if c in gdf else np.full(n_feat, None)
        for c in ("bridge", "tunnel", "covered", "layer")
    ]
    separated = np.array([_is_separated(*t) for t in zip(*sep_cols, strict=True)], dtype=bool)
    keep = np.array([c not in EXCLUDED_CLASSES for c in hw], dtype=bool)
    if "area" in gdf:
        keep &= gdf["area"].astype(str).str.lower().to_numpy() != "yes"
    if not keep.any():
        raise _no_roads(path, "every line has an excluded class (construction, proposed...)")
    _warn_unknown(unknown, path, cf or "class")

    sub = gdf.loc[keep]
    feat_hw, feat_ms, feat_ow, feat_dr = hw[keep], ms[keep], ow[keep], drive[keep]
    feat_sep = separated[keep]
    # explode multi-lines: parts and their feature index
    parts, part_feat = shapely.get_parts(
        np.asarray(sub.geometry.values, dtype=object), return_index=True
    )
    coords, coord_part = shapely.get_coordinates(parts, return_index=True)
    if coords.shape[0] == 0:
        raise _no_roads(path, "all lines are empty")
    x, y = coords[:, 0].copy(), coords[:, 1].copy()
    lon, lat = _vector_to_wgs84(x, y, parts, coord_part, src_crs, path)
    way_len = np.bincount(coord_part, minlength=len(parts)).astype(np.int64)

    node_ids: np.ndarray | None = None
    if (
        "node_ids" in sub
        and part_feat.size == len(sub)
        and np.array_equal(part_feat, np.arange(len(sub)))
    ):
        node_ids = _parse_node_ids(sub["node_ids"].to_numpy(dtype=object), way_len)
    if node_ids is not None:
        key = node_ids
    else:
        qx = np.round(lon * _GRID).astype(np.int64)
        qy = np.round(lat * _GRID).astype(np.int64)
        key = (qx + 1_800_000_000) * 4_000_000_000 + (qy + 1_000_000_000)
    net = _from_ways(
        key,
        lon,
        lat,
        way_len,
        feat_hw[part_feat],
        feat_ms[part_feat],
        feat_ow[part_feat],
        feat_dr[part_feat],
        table,
        str(path),
        separated=feat_sep[part_feat],
        cap_speeds=speed_field is None,
    )
    if node_ids is None:
        net.node_id = np.arange(net.n_nodes, dtype=np.int64)
    if net.n_edges == 0:
        raise _no_roads(path, "the lines have fewer than two distinct vertices")
    return net


def _parse_node_ids(values: np.ndarray, way_len: np.ndarray) -> np.ndarray | None:
    """Concatenated node ids when every feature lists one id per vertex, else None."""
    out: list[int] = []
    for val, n in zip(values, way_len, strict=True):
        if not isinstance(val, str):
            return None
        toks = val.split()
        if len(toks) != n:
            return None
        try:
            out.extend(int(t) for t in toks)
        except ValueError:
            return None
    return np.asarray(out, dtype=np.int64)


def _vector_to_wgs84(
    x: np.ndarray,
    y: np.ndarray,
    parts: np.ndarray,
    coord_part: np.ndarray,
    crs: Any,
    path: Path,
) -> tuple[np.ndarray, np.ndarray]:
    if _is_named_offset_crs(crs):
        import shapely

        out = _named_crs_to_wgs84(parts, str(crs), path)
        c = shapely.get_coordinates(out)
        if c.shape[0] != x.shape[0]:
            msg = f"road file {path}: converting from {crs!r} changed the vertex count"
            raise ValidationError(msg)
        return c[:, 0].copy(), c[:, 1].copy()
    return _coords_to_wgs84(x, y, crs, path)
