"""Download inputs for users who are online: OSM roads and facilities, WorldPop population.

Nothing in ynps_geo calls this module by itself: the analysis reads local files only. Run
``ynps-geo fetch`` (or these functions) on a connected computer, then point the config at the
files. On a machine without internet, download on a connected PC and copy the files over.

The transport is done by two well-kept libraries (optional extra ``download``:
``pip install "ynps-geo[download]"``, also in ``all``):

- **OSMnx** queries the **Overpass API** (OpenStreetMap): it splits an area larger than
  ``max_query_area_m2`` (default OSMnx's 2,500 km²) into several requests, waits for a free
  slot on the server (its ``/status``), waits and retries on HTTP 429/504, and caches each
  answer (under :func:`ynps_geo.io.cache.cache_root`, ``overpass/``; ``ynps-geo cache clear``
  empties it). :func:`fetch_roads` writes an ``.osm`` XML file that
  :func:`ynps_geo.io.osm.read_roads` reads; :func:`fetch_facilities` writes a GeoJSON of points
  with the OSM tags as columns, for a ``facilities:`` entry with ``osm_tags: true``. The
  endpoint is :data:`DEFAULT_OVERPASS`, or ``$YNPS_GEO_OVERPASS_URL`` (a mirror, e.g. a
  regional or self-hosted Overpass; the interpreter URL or its ``/api`` root).
- **Pooch** downloads the **WorldPop** 100 m population rasters: :func:`worldpop_url` builds
  the per-country file URL on WorldPop's GIS data server and :func:`download` fetches it with a
  progress bar on an interactive terminal (tqdm), checks the SHA-256 when one is given, and
  retries a failed transfer. China's country file is several gigabytes; ynps_geo reads only
  the window covering each county (:mod:`ynps_geo.io.raster`), so it is usable as it is.

Every output goes to a temporary file beside the target and is renamed onto it only when
complete (and, for Overpass, free of server errors), so an interrupted download never leaves a
partial file under the final name.

Examples
--------
>>> from ynps_geo.io import download as dl
>>> bbox = (100.05, 25.50, 100.35, 25.75)  # min_lon, min_lat, max_lon, max_lat
>>> dl.fetch_roads(bbox, "dali_roads.osm")  # doctest: +SKIP
>>> dl.fetch_facilities(bbox, "dali_pois.geojson")  # doctest: +SKIP
>>> dl.download(dl.worldpop_url("CHN", 2020), "chn_ppp_2020_UNadj.tif")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ynps_geo import __version__
from ynps_geo.errors import DataSourceError, MissingDependencyError, ValidationError
from ynps_geo.model.facilities import _AMENITY, _HEALTHCARE_NOT, _LEISURE
from ynps_geo.model.modes import EXCLUDED_CLASSES

__all__ = [
    "DEFAULT_OVERPASS",
    "OVERPASS_ENV",
    "WORLDPOP_BASE",
    "download",
    "facility_tags",
    "fetch_facilities",
    "fetch_roads",
    "is_facility",
    "osm_json_to_xml",
    "overpass_endpoint",
    "overpass_json_to_geojson",
    "parse_bbox",
    "road_filter",
    "validate_bbox",
    "worldpop_url",
]

log = logging.getLogger("ynps_geo")

#: The public Overpass API interpreter (main instance, run by FOSSGIS).
DEFAULT_OVERPASS = "https://overpass-api.de/api/interpreter"
#: Environment variable that overrides :data:`DEFAULT_OVERPASS`.
OVERPASS_ENV = "YNPS_GEO_OVERPASS_URL"
#: Root of WorldPop's GIS data server.
WORLDPOP_BASE = "https://data.worldpop.org/GIS/Population"

USER_AGENT = f"ynps_geo/{__version__} (Yunnan public-service coverage analyzer; osmnx)"
_OFFLINE_HINT = (
    "no internet on this machine? download on a connected PC and pass the file, or set "
    f"${OVERPASS_ENV} / --endpoint to a reachable mirror"
)

# Tag values that classify_osm maps to a plan facility (kept in sync by deriving them).
_AMENITY_VALUES = (*sorted(k for k, v in _AMENITY.items() if v is not None), "hospice")
_LEISURE_VALUES = tuple(sorted(_LEISURE))
_SOCIAL_VALUES = ("assisted_living", "day_care", "group_home", "hospice", "nursing_home")
_TOURISM_VALUES = ("gallery", "museum")


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        msg = (
            f"downloading needs {module.split('.')[0]}; install it with: "
            'pip install "ynps-geo[download]"'
        )
        raise MissingDependencyError(msg) from err


# --------------------------------------------------------------------------- bbox
def validate_bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    """Check a WGS84 bounding box and return it as four floats.

    Parameters
    ----------
    bbox : sequence of float
        ``(min_lon, min_lat, max_lon, max_lat)`` in degrees (WGS84).

    Returns
    -------
    tuple of float
        ``(min_lon, min_lat, max_lon, max_lat)``.

    Raises
    ------
    ValidationError
        Not four finite numbers; latitude and longitude swapped (a "latitude" outside
        -90..90); min above max; empty. (A large area is fine: OSMnx splits it.)
    """
    order = "(min_lon, min_lat, max_lon, max_lat) in WGS84 degrees, e.g. 100.05,25.50,100.35,25.75"
    try:
        values = [float(v) for v in bbox]
    except (TypeError, ValueError):
        msg = f"bbox {bbox!r} is not four numbers; fix: give {order}"
        raise ValidationError(msg) from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        msg = f"bbox {bbox!r} must be four finite numbers; fix: give {order}"
        raise ValidationError(msg)
    x0, y0, x1, y1 = values
    if not all(-90.0 <= y <= 90.0 for y in (y0, y1)):
        hint = (
            " (it looks like latitude/longitude order: swap them)"
            if all(-90.0 <= x <= 90.0 for x in (x0, x1))
            else ""
        )
        msg = f"bbox {tuple(values)}: latitude {y0}/{y1} outside -90..90{hint}; fix: give {order}"
        raise ValidationError(msg)
    if not all(-180.0 <= x <= 180.0 for x in (x0, x1)):
        msg = f"bbox {tuple(values)}: longitude {x0}/{x1} outside -180..180; fix: give {order}"
        raise ValidationError(msg)
    if x0 >= x1 or y0 >= y1:
        msg = (
            f"bbox {tuple(values)}: min_lon must be below max_lon and min_lat below max_lat "
            f"(is the order lat/lon, or min/max swapped?); fix: give {order}"
        )
        raise ValidationError(msg)
    return x0, y0, x1, y1


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse ``"MINLON,MINLAT,MAXLON,MAXLAT"`` and validate it with :func:`validate_bbox`.

    Parameters
    ----------
    text : str
        Four comma-separated numbers (spaces allowed).

    Returns
    -------
    tuple of float

    Raises
    ------
    ValidationError
        Not four numbers, or an invalid bbox.
    """
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4:
        msg = (
            f"--bbox {text!r} is not four comma-separated numbers; fix: give "
            "MINLON,MINLAT,MAXLON,MAXLAT, e.g. --bbox 100.05,25.50,100.35,25.75 "
            "(write --bbox=-1,... when it starts with a minus sign)"
        )
        raise ValidationError(msg)
    return validate_bbox(values)


def _num(value: float) -> str:
    text = f"{value:.7f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _check_url(url: str, what: str) -> None:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        msg = f"{what} URL {url!r} must start with http:// or https://; fix: give a web address"
        raise ValidationError(msg)


def _error_text(body: bytes) -> str:
    """A short one-line excerpt of an error body (Overpass sends HTML with the message)."""
    text = body[:20000].decode("utf-8", "replace")
    found = re.findall(r"<strong[^>]*>\s*Error\s*</strong>\s*:?\s*([^<]+)", text)
    text = "; ".join(f.strip() for f in found[:3]) if found else re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    return text[:300] + ("..." if len(text) > 300 else "")


# ---------------------------------------------------------------------- Overpass
def overpass_endpoint(endpoint: str | None = None) -> str:
    """The Overpass interpreter URL: ``endpoint``, else ``$YNPS_GEO_OVERPASS_URL``, else default.

    Parameters
    ----------
    endpoint : str, optional
        An explicit URL (``http://`` or ``https://``): the interpreter
        (``.../api/interpreter``) or its root (``.../api``).

    Returns
    -------
    str
        The interpreter URL.
    """
    url = endpoint or os.environ.get(OVERPASS_ENV) or DEFAULT_OVERPASS
    url = url.rstrip("/")
    return url if url.endswith("/interpreter") else f"{url}/interpreter"


def road_filter() -> str:
    """The Overpass way filter of the roads fetched: every ``highway`` that readers keep.

    Ways with a ``highway`` tag except the classes readers drop
    (:data:`ynps_geo.model.modes.EXCLUDED_CLASSES`: ``construction``, ``proposed``,
    ``platform``...) and ``area=yes``.
    """
    excluded = "^(" + "|".join(re.escape(v) for v in sorted(EXCLUDED_CLASSES)) + ")$"
    return f'["highway"]["highway"!~"{excluded}"]["area"!="yes"]'


def facility_tags() -> dict[str, bool | str | list[str]]:
    """The OSM tags asked for (OSMnx ``tags``): every value classify_osm maps to a facility.

    ``amenity`` (hospital, clinic, doctors, school, kindergarten, childcare, library,
    community_centre, arts_centre, theatre, townhall, nursing_home, hospice), ``leisure``
    (sports_centre, pitch, stadium, track, swimming_pool, fitness_station...), ``healthcare``,
    ``social_facility`` (nursing_home, assisted_living, group_home, day_care, hospice),
    ``tourism`` (museum, gallery) and ``office=government``. The answer is then narrowed by
    :func:`is_facility` (no pharmacies, dentists..., only administrative government offices).
    """
    return {
        "amenity": list(_AMENITY_VALUES),
        "leisure": list(_LEISURE_VALUES),
        "healthcare": True,
        "social_facility": list(_SOCIAL_VALUES),
        "tourism": list(_TOURISM_VALUES),
        "office": "government",
    }


def is_facility(tags: Mapping[str, Any]) -> bool:
    """Whether an element's tags make it a facility to write (see :func:`facility_tags`)."""
    if tags.get("amenity") in _AMENITY_VALUES or tags.get("leisure") in _LEISURE_VALUES:
        return True
    if tags.get("social_facility") in _SOCIAL_VALUES or tags.get("tourism") in _TOURISM_VALUES:
        return True
    hc = tags.get("healthcare")
    if hc is not None and hc not in _HEALTHCARE_NOT:
        return True
    return tags.get("office") == "government" and tags.get("government") in (
        None,
        "administrative",
    )


@contextlib.contextmanager
def _osmnx(url: str, *, timeout_s: float, max_query_area_m2: float | None) -> Iterator[Any]:
    """OSMnx with ynps_geo's endpoint, timeout, cache folder and user agent (restored after)."""
    ox = _require("osmnx")
    from ynps_geo.io.cache import cache_root

    base = url[: -len("/interpreter")] if url.endswith("/interpreter") else url
    new = {
        "overpass_url": base,
        "requests_timeout": max(1, math.ceil(timeout_s)),
        "use_cache": True,
        "cache_folder": str(cache_root() / "overpass"),
        "http_user_agent": USER_AGENT,
        "log_console": False,
        "overpass_rate_limit": _has_status(base, timeout_s),
    }
    if max_query_area_m2 is not None:
        new["max_query_area_size"] = float(max_query_area_m2)
    old = {k: getattr(ox.settings, k) for k in new}
    for k, v in new.items():
        setattr(ox.settings, k, v)
    try:
        yield ox
    finally:
        for k, v in old.items():
            setattr(ox.settings, k, v)


def _has_status(base: str, timeout_s: float) -> bool:
    """Whether the server answers ``/status`` (OSMnx then waits for a free slot before asking).

    A refused connection is an error at once (OSMnx would first wait 60 s); a mirror without
    ``/status`` is asked without waiting.
    """
    requests = _require("requests")
    url = f"{base}/status"
    try:
        r = requests.get(
            url, timeout=min(float(timeout_s), 30.0), headers={"User-Agent": USER_AGENT}
        )
    except requests.exceptions.ConnectionError as err:
        msg = f"cannot connect to the Overpass server {base} ({_short(err)}); fix: {_OFFLINE_HINT}"
        raise DataSourceError(msg) from None
    except requests.exceptions.RequestException:
        return False
    lines = r.text.splitlines() if r.ok else []
    return len(lines) > 4


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:200] + ("..." if len(text) > 200 else "")


def _overpass(
    download: Callable[[Any, Any], Iterator[dict[str, Any]]],
    polygon: Any,
    arg: Any,
    *,
    what: str,
    endpoint: str | None,
    timeout_s: float,
    retries: int,
    backoff_s: float,
    max_query_area_m2: float | None,
) -> list[dict[str, Any]]:
    """Run an OSMnx Overpass download; every answer's elements, or a clear error.

    A dropped connection, a server error other than 429/504 (OSMnx retries those itself) or
    a "too busy" remark is retried ``retries`` times (answers already received come from the
    OSMnx cache); a runtime error in an answer (timeout, out of memory: the data would be
    incomplete) fails at once.
    """
    if retries < 0 or timeout_s <= 0 or backoff_s < 0:
        msg = (
            f"retries ({retries}) and backoff_s ({backoff_s}) must be >= 0 and timeout_s "
            f"({timeout_s}) > 0; fix: pass valid values"
        )
        raise ValidationError(msg)
    url = overpass_endpoint(endpoint)
    _check_url(url, "Overpass")
    requests = _require("requests")
    errors = _require("osmnx._errors")
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            delay = backoff_s * 2 ** (attempt - 1)
            log.warning("%s: %s; retry %d of %d in %.0f s", url, last, attempt, retries, delay)
            time.sleep(delay)
        try:
            with _osmnx(url, timeout_s=timeout_s, max_query_area_m2=max_query_area_m2) as ox:
                answers = []
                for answer in download(polygon, arg):
                    _check_remark(answer, url, what)
                    answers.append(answer)
                log.info("%s: %d Overpass answer(s) from %s", what, len(answers), url)
                del ox
            from ynps_geo.io.cache import prune

            prune()
            return [el for a in answers for el in a.get("elements") or []]
        except _BusyError as err:
            last = str(err)
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as err:
            last = f"connection failed ({_short(err)})"
        except errors.ResponseStatusCodeError as err:
            text = str(err)
            status = re.search(r"responded: (\d{3})", text)
            code = int(status.group(1)) if status else 0
            if code >= 500:
                last = f"HTTP {code}"
                continue
            msg = f"{url} answered HTTP {code or '?'}: {_error_text(text.encode())}"
            if code == 400:
                msg += (
                    "; fix: the query was rejected; check the endpoint is an Overpass interpreter"
                )
            else:
                msg += "; fix: try again later or use another server"
            raise DataSourceError(msg) from None
        except errors.InsufficientResponseError as err:
            msg = (
                f"the answer from {url} is not Overpass JSON ({_error_text(str(err).encode())}); "
                "fix: check that the endpoint is an Overpass interpreter URL (ending in "
                "/api/interpreter)"
            )
            raise DataSourceError(msg) from None
    msg = (
        f"{what} from {url} failed after {retries + 1} attempt(s): {last}; fix: try again later "
        f"or use another server; {_OFFLINE_HINT}"
    )
    raise DataSourceError(msg)


class _BusyError(Exception):
    """The Overpass server was too busy: try again."""


def _check_remark(answer: Mapping[str, Any], url: str, what: str) -> None:
    remark = " ".join(str(answer.get("remark") or "").split())
    if not remark:
        return
    low = remark.lower()
    if "too busy" in low or "dispatcher" in low:
        raise _BusyError(f"server busy: {remark[:200]}")
    if "error" in low:
        msg = (
            f"{what} from {url} failed on the server: {remark[:300]}; fix: the result would be "
            "incomplete; fetch a smaller area (or a lower max_query_area_m2), raise the "
            "timeout, or try again later"
        )
        raise DataSourceError(msg)
    log.warning("%s: the server added a remark: %s", url, remark[:300])


def _bbox_polygon(bbox: Sequence[float]) -> Any:
    from shapely.geometry import box

    return box(*validate_bbox(bbox))


def _unique(elements: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int], Mapping[str, Any]]:
    """Elements by (type, id); one area split into several requests repeats some."""
    out: dict[tuple[str, int], Mapping[str, Any]] = {}
    for el in elements:
        key = (str(el.get("type")), int(el.get("id", 0)))
        prev = out.get(key)
        if prev is None or len(el) > len(prev):  # keep the fullest copy
            out[key] = el
    return out


def osm_json_to_xml(elements: Sequence[Mapping[str, Any]], out_path: str | Path) -> Path:
    """Write Overpass JSON nodes and ways as OSM XML (atomically), nodes first, by id.

    The nodes come first: :func:`ynps_geo.io.osm.read_roads` locates way vertices from nodes
    already read. Duplicates (from an area split into several requests) are written once.

    Returns
    -------
    Path
    """
    from ynps_geo.io.vector import atomic_write

    unique = _unique(elements)
    target = Path(out_path)
    root = ET.Element("osm", version="0.6", generator=f"ynps_geo {__version__} (osmnx)")
    root.text = "\n"
    for kind in ("node", "way"):
        for (_, _), el in sorted(
            ((k, v) for k, v in unique.items() if k[0] == kind), key=lambda kv: kv[0][1]
        ):
            if kind == "node":
                item = ET.SubElement(
                    root, "node", id=str(el["id"]), lat=_coord(el["lat"]), lon=_coord(el["lon"])
                )
            else:
                item = ET.SubElement(root, "way", id=str(el["id"]))
                for ref in el.get("nodes") or []:
                    ET.SubElement(item, "nd", ref=str(ref))
            for k, v in (el.get("tags") or {}).items():
                ET.SubElement(item, "tag", k=str(k), v=str(v))
            item.tail = "\n"
    try:
        with atomic_write(target) as tmp:
            ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        msg = f"cannot write {target}: {exc}; fix: free disk space or choose another output"
        raise DataSourceError(msg) from None
    return target


def _coord(value: Any) -> str:
    return f"{float(value):.7f}".rstrip("0").rstrip(".")


def fetch_roads(
    bbox: Sequence[float],
    out_path: str | Path,
    *,
    endpoint: str | None = None,
    timeout_s: float = 180,
    retries: int = 3,
    backoff_s: float = 5,
    max_query_area_m2: float | None = None,
) -> Path:
    """Download the roads and paths of a bounding box from Overpass (OSMnx) as OSM XML.

    Parameters
    ----------
    bbox : sequence of float
        ``(min_lon, min_lat, max_lon, max_lat)`` in WGS84 degrees. A large area (a prefecture,
        a province) is split into several requests by OSMnx.
    out_path : str or Path
        An ``.osm`` file, readable by :func:`ynps_geo.io.osm.read_roads` (config
        ``roads: {path: roads.osm}``): nodes then ways, with all their tags.
    endpoint : str, optional
        Overpass interpreter URL. Default ``$YNPS_GEO_OVERPASS_URL``, else
        :data:`DEFAULT_OVERPASS`.
    timeout_s : float
        Server ``[timeout:]`` and client timeout per request, seconds.
    retries : int
        Further attempts on a dropped connection, a 5xx other than 504, a busy server
        (OSMnx itself waits and retries on 429 and 504).
    backoff_s : float
        Wait before the first retry; doubled each time.
    max_query_area_m2 : float, optional
        Largest area asked in one request (OSMnx ``max_query_area_size``, default 2.5e9).

    Returns
    -------
    Path

    Raises
    ------
    ValidationError
        Invalid bbox or output name.
    DataSourceError
        The server keeps failing, rejects the query, answers with a runtime error (timeout,
        out of memory), or there is no connection; the message names the URL and the fix.
    MissingDependencyError
        osmnx is not installed.
    """
    out = Path(out_path)
    _check_suffix(out, (".osm",), "roads")
    polygon = _bbox_polygon(bbox)
    net = _require("osmnx._overpass")
    elements = _overpass(
        lambda poly, flt: net._download_overpass_network(poly, "all", flt),
        polygon,
        road_filter(),
        what="OSM roads",
        endpoint=endpoint,
        timeout_s=timeout_s,
        retries=retries,
        backoff_s=backoff_s,
        max_query_area_m2=max_query_area_m2,
    )
    path = osm_json_to_xml(elements, out)
    n_ways = sum(1 for k in _unique(elements) if k[0] == "way")
    if n_ways == 0:
        log.warning("no road found in bbox %s: check the bbox is lon/lat", tuple(bbox))
    log.info("wrote %d OSM ways of bbox %s to %s", n_ways, tuple(bbox), path)
    return path


def _with_centres(elements: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Elements with a ``center`` for ways and relations: the middle of their bounding box.

    As Overpass's ``out center`` computes it, from the nodes of a way and the nodes and ways
    among a relation's members (OSMnx asks ``(._;>;); out;``, which returns them).
    """
    unique = _unique(elements)
    nodes = {
        i: (float(e["lon"]), float(e["lat"]))
        for (t, i), e in unique.items()
        if t == "node" and "lat" in e
    }

    def way_points(way: Mapping[str, Any]) -> list[tuple[float, float]]:
        return [nodes[r] for r in way.get("nodes") or [] if r in nodes]

    out = []
    for (t, _), el in unique.items():
        item = dict(el)
        pts: list[tuple[float, float]] = []
        if t == "way":
            pts = way_points(el)
        elif t == "relation":
            for m in el.get("members") or []:
                ref = m.get("ref")
                if m.get("type") == "node" and ref in nodes:
                    pts.append(nodes[ref])
                elif m.get("type") == "way" and ("way", ref) in unique:
                    pts.extend(way_points(unique[("way", ref)]))
        if pts and "center" not in item:
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            item["center"] = {"lon": (min(xs) + max(xs)) / 2, "lat": (min(ys) + max(ys)) / 2}
        out.append(item)
    return out


def _check_suffix(path: Path, suffixes: tuple[str, ...], what: str) -> None:
    if not path.name.lower().endswith(suffixes):
        msg = (
            f"{what} output {path}: the name must end with {' or '.join(suffixes)} so that "
            f"ynps_geo reads it back; fix: e.g. {path.with_suffix(suffixes[0]).name}"
        )
        raise ValidationError(msg)


def overpass_json_to_geojson(data: Mapping[str, Any]) -> dict[str, Any]:
    """Convert Overpass JSON (``out center tags``) to a GeoJSON FeatureCollection of points.

    Parameters
    ----------
    data : Mapping
        The parsed Overpass answer: ``{"elements": [{"type": "node", "id": 1, "lat": ...,
        "lon": ..., "tags": {...}}, {"type": "way", "id": 2, "center": {"lat": ...,
        "lon": ...}, "tags": {...}}, ...]}``.

    Returns
    -------
    dict
        Features with properties ``osm_type``, ``osm_id``, ``osm_key`` (``"way/2"``, unique
        across types) and every OSM tag as a property; geometry the node or the centre.
        Elements without coordinates are left out and counted in the collection's
        ``"skipped"`` member.
    """
    features: list[dict[str, Any]] = []
    skipped = 0
    for el in data.get("elements") or []:
        if not isinstance(el, Mapping):
            skipped += 1
            continue
        where: Any = el if "lat" in el and "lon" in el else el.get("center")
        try:
            lon = float(where["lon"])
            lat = float(where["lat"])
        except (TypeError, KeyError, ValueError):
            skipped += 1
            continue
        osm_type = str(el.get("type", ""))
        osm_id = el.get("id")
        props: dict[str, Any] = {
            "osm_type": osm_type,
            "osm_id": osm_id,
            "osm_key": f"{osm_type}/{osm_id}",
        }
        for key, value in (el.get("tags") or {}).items():
            props.setdefault(str(key), value)
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
        )
    return {"type": "FeatureCollection", "features": features, "skipped": skipped}


def fetch_facilities(
    bbox: Sequence[float],
    out_path: str | Path,
    *,
    endpoint: str | None = None,
    timeout_s: float = 180,
    retries: int = 3,
    backoff_s: float = 5,
    max_query_area_m2: float | None = None,
) -> Path:
    """Download the public-service facilities of a bounding box from Overpass as GeoJSON.

    Parameters
    ----------
    bbox : sequence of float
        ``(min_lon, min_lat, max_lon, max_lat)`` in WGS84 degrees (split by OSMnx when large).
    out_path : str or Path
        A ``.geojson`` (or ``.json``) file of points (WGS84) with ``osm_type``, ``osm_id``,
        ``osm_key`` and the OSM tags as columns; ways and relations at the middle of their
        bounding box (as Overpass's ``out center``). Use it in a config as
        ``{path: pois.geojson, crs: wgs84, osm_tags: true}`` (add ``id: osm_key`` for stable
        ids).
    endpoint, timeout_s, retries, backoff_s, max_query_area_m2
        As :func:`fetch_roads`.

    Returns
    -------
    Path

    Raises
    ------
    ValidationError
        Invalid bbox or output name.
    DataSourceError
        See :func:`fetch_roads`; also an answer that is not Overpass JSON.
    MissingDependencyError
        osmnx is not installed.
    """
    from ynps_geo.io.vector import atomic_write

    out = Path(out_path)
    _check_suffix(out, (".geojson", ".json"), "facilities")
    polygon = _bbox_polygon(bbox)
    net = _require("osmnx._overpass")
    elements = _overpass(
        net._download_overpass_features,
        polygon,
        facility_tags(),
        what="OSM facilities",
        endpoint=endpoint,
        timeout_s=timeout_s,
        retries=retries,
        backoff_s=backoff_s,
        max_query_area_m2=max_query_area_m2,
    )
    wanted = [el for el in _with_centres(elements) if is_facility(el.get("tags") or {})]
    wanted.sort(key=lambda el: (("node", "way", "relation").index(str(el.get("type"))), el["id"]))
    collection = overpass_json_to_geojson({"elements": wanted})
    try:
        with atomic_write(out) as tmp, tmp.open("w", encoding="utf-8") as f:
            json.dump(collection, f, ensure_ascii=False)
    except OSError as exc:
        msg = f"cannot write {out}: {exc}; fix: free disk space or choose another output"
        raise DataSourceError(msg) from None
    n = len(collection["features"])
    if collection["skipped"]:
        log.warning(
            "%d Overpass elements had no coordinates and were left out", collection["skipped"]
        )
    if n == 0:
        log.warning("no facility found in bbox %s: check the bbox is lon/lat", tuple(bbox))
    log.info("wrote %d OSM facilities of bbox %s to %s", n, tuple(bbox), out)
    return out


# -------------------------------------------------------------------------- WorldPop
def worldpop_url(
    iso3: str = "CHN",
    year: int = 2020,
    *,
    constrained: bool = False,
    un_adjusted: bool = True,
    release: str = "BSGM",
    base: str = WORLDPOP_BASE,
) -> str:
    """URL of a WorldPop 100 m per-country population count GeoTIFF.

    The "Global 2000-2020" top-down series on WorldPop's GIS data server (people per
    3-arc-second cell, WGS84; CC BY 4.0, attribute WorldPop):

    - unconstrained, years 2000-2020:
      ``{base}/Global_2000_2020/{year}/{ISO}/{iso}_ppp_{year}[_UNadj].tif``;
    - constrained (people only on mapped built-up cells), 2020 only:
      ``{base}/Global_2000_2020_Constrained/2020/{release}/{ISO}/{iso}_ppp_2020[_UNadj]_constrained.tif``.

    China's 100 m country file is several gigabytes (one grid for the whole country). It need
    not be cut: ynps_geo reads only the window covering each county, so the file is usable as
    downloaded (``population: {path: chn_ppp_2020_UNadj.tif}``).

    Parameters
    ----------
    iso3 : str
        ISO 3166-1 alpha-3 country code (``"CHN"``).
    year : int
        2000-2020 (2020 only when ``constrained``).
    constrained : bool
        The constrained variant (people placed on built-up cells only).
    un_adjusted : bool
        National totals adjusted to UN World Population Prospects estimates (``_UNadj``).
    release : str
        Constrained only: the server folder, ``"BSGM"`` or ``"maxar_v1"`` (it differs by
        country; see the country's page on hub.worldpop.org when a URL answers 404).
    base : str
        Server root, for a mirror.

    Returns
    -------
    str

    Raises
    ------
    ValidationError
        Bad ISO3 code, year or release.
    """
    code = str(iso3).strip()
    if not re.fullmatch(r"[A-Za-z]{3}", code):
        msg = f"iso3 {iso3!r} is not a 3-letter ISO country code; fix: e.g. CHN, NPL, LAO"
        raise ValidationError(msg)
    try:
        yr = int(year)
    except (TypeError, ValueError):
        yr = -1
    if not 2000 <= yr <= 2020 or (constrained and yr != 2020):
        allowed = "2020" if constrained else "2000-2020"
        msg = (
            f"WorldPop {'constrained ' if constrained else ''}year {year!r} not available; "
            f"fix: choose {allowed}"
        )
        raise ValidationError(msg)
    if release not in ("BSGM", "maxar_v1"):
        msg = f"WorldPop release {release!r} unknown; fix: use BSGM or maxar_v1"
        raise ValidationError(msg)
    _check_url(base, "WorldPop")
    up, low = code.upper(), code.lower()
    adj = "_UNadj" if un_adjusted else ""
    root = base.rstrip("/")
    if constrained:
        return (
            f"{root}/Global_2000_2020_Constrained/2020/{release}/{up}/"
            f"{low}_ppp_2020{adj}_constrained.tif"
        )
    return f"{root}/Global_2000_2020/{yr}/{up}/{low}_ppp_{yr}{adj}.tif"


def _progress(progress: bool | None) -> bool:
    """A progress bar when asked, or by default on an interactive terminal with tqdm."""
    if progress is None:
        progress = sys.stderr.isatty()
    if progress:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            return False
    return bool(progress)


def download(
    url: str,
    out_path: str | Path,
    *,
    timeout_s: float = 60,
    retries: int = 3,
    chunk: int = 1 << 20,
    sha256: str | None = None,
    progress: bool | None = None,
) -> Path:
    """Download ``url`` to ``out_path`` with Pooch: checked, retried, renamed when complete.

    Pooch streams into a temporary file beside ``out_path``, checks the SHA-256 (when given)
    and only then moves it onto ``out_path``; a dropped connection (fewer bytes than
    announced), a timeout, a server error or a checksum mismatch starts the download again
    (after 1 s, 2 s, ...). An existing ``out_path`` is kept when it matches ``sha256`` (or
    when no checksum is given: WorldPop files do not change), so a rerun does not download
    gigabytes again; delete the file to force a new download.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` URL, e.g. from :func:`worldpop_url`.
    out_path : str or Path
        The file to write; its folder is created.
    timeout_s : float
        Socket timeout in seconds (per connection and per read, not for the whole transfer).
    retries : int
        Further attempts after the first.
    chunk : int
        Bytes read and written at a time.
    sha256 : str, optional
        Expected SHA-256 (hex); a mismatch is an error and nothing is written.
    progress : bool, optional
        Show a progress bar (tqdm); default on an interactive terminal.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    DataSourceError
        Not found (not retried), keeps failing, no connection, checksum mismatch, disk full;
        the message names the URL and the fix.
    ValidationError
        A non-http(s) URL or invalid options.
    MissingDependencyError
        pooch is not installed.
    """
    _check_url(url, "download")
    if retries < 0 or chunk <= 0 or timeout_s <= 0:
        msg = (
            f"retries ({retries}) must be >= 0, chunk ({chunk}) and timeout_s ({timeout_s}) "
            "> 0; fix: pass valid values"
        )
        raise ValidationError(msg)
    expected = sha256.strip().lower() if sha256 else None
    if expected is not None and not re.fullmatch(r"[0-9a-f]{64}", expected):
        msg = f"sha256 {sha256!r} is not 64 hexadecimal digits; fix: copy the full checksum"
        raise ValidationError(msg)
    pooch = _require("pooch")
    requests = _require("requests")
    target = Path(out_path)
    if target.is_dir():
        msg = f"output {target} is a folder; fix: give a file name, e.g. {target / 'out.tif'}"
        raise DataSourceError(msg)
    fetcher = pooch.HTTPDownloader(
        progressbar=_progress(progress),
        chunk_size=int(chunk),
        timeout=float(timeout_s),
        headers={"User-Agent": USER_AGENT},
    )

    def downloader(src: str, dst: Any, pup: Any) -> None:
        try:
            fetcher(src, dst, pup)
        except requests.exceptions.HTTPError as err:
            code = err.response.status_code if err.response is not None else 0
            if code in (408, 429) or code >= 500:
                raise  # pooch retries
            msg = f"{src} answered HTTP {code}"
            if code == 404:
                msg += "; fix: check the URL (for WorldPop: the ISO3 code, year and variant exist)"
            else:
                msg += "; fix: check the URL or try another server"
            raise DataSourceError(msg) from None

    store = pooch.create(
        path=target.parent.resolve(),
        base_url="",
        registry={target.name: f"sha256:{expected}" if expected else None},
        urls={target.name: url},
        retry_if_failed=int(retries),
        allow_updates=True,
    )
    try:
        store.fetch(target.name, downloader=downloader)
    except DataSourceError:
        raise
    except ValueError as err:  # checksum mismatch after every attempt
        msg = (
            f"download from {url}: {_short(err)}; fix: download again (the file is corrupt or "
            "has changed on the server) or update the checksum"
        )
        raise DataSourceError(msg) from None
    except requests.exceptions.RequestException as err:
        msg = (
            f"download from {url} failed after {retries + 1} attempt(s): {_short(err)}; fix: "
            f"try again later; {_OFFLINE_HINT}"
        )
        raise DataSourceError(msg) from None
    except OSError as err:
        msg = f"cannot write {target}: {err}; fix: free disk space or choose another output"
        raise DataSourceError(msg) from None
    log.info("downloaded %s to %s (%.1f MB)", url, target, target.stat().st_size / 1e6)
    return target
