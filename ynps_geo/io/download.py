"""Download inputs for users who are online: OSM roads and facilities, WorldPop population.

Nothing in ynps_geo calls this module by itself: the analysis reads local files only. Run
``ynps-geo fetch`` (or these functions) on a connected computer, then point the config at the
files. On a machine without internet, download on a connected PC and copy the files over.

Sources
-------
- **Overpass API** (OpenStreetMap): :func:`fetch_roads` writes an ``.osm`` XML file that
  :func:`ynps_geo.io.osm.read_roads` reads; :func:`fetch_facilities` writes a GeoJSON of
  points with the OSM tags as columns, for a ``facilities:`` entry with ``osm_tags: true``.
  The endpoint is :data:`DEFAULT_OVERPASS`, or ``$YNPS_GEO_OVERPASS_URL`` (a mirror, e.g. a
  regional or self-hosted Overpass). Ask one county at a time: the public server refuses or
  times out on province-size requests, so a bounding box above :data:`MAX_BBOX_DEG2` square
  degrees is an error.
- **WorldPop** 100 m population rasters: :func:`worldpop_url` builds the per-country file URL
  on WorldPop's GIS data server and :func:`download` streams it to disk. China's country file
  is several gigabytes; ynps_geo reads only the window covering each county
  (:mod:`ynps_geo.io.raster`), so the whole-country file is usable as it is.

Every download goes to a temporary file beside the target and is renamed onto it only when
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
import hashlib
import http.client
import json
import logging
import math
import os
import re
import shutil
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ynps_geo import __version__
from ynps_geo.errors import DataSourceError, ValidationError
from ynps_geo.model.facilities import _AMENITY, _HEALTHCARE_NOT, _LEISURE
from ynps_geo.model.modes import EXCLUDED_CLASSES

__all__ = [
    "DEFAULT_OVERPASS",
    "MAX_BBOX_DEG2",
    "OVERPASS_ENV",
    "WORLDPOP_BASE",
    "download",
    "fetch_facilities",
    "fetch_overpass",
    "fetch_roads",
    "overpass_endpoint",
    "overpass_json_to_geojson",
    "overpass_query_facilities",
    "overpass_query_roads",
    "parse_bbox",
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
#: Largest bounding box area (square degrees) sent to Overpass; a Yunnan county is 0.1-2.
MAX_BBOX_DEG2 = 5.0

USER_AGENT = f"ynps_geo/{__version__} (Yunnan public-service coverage analyzer; Python urllib)"
_OFFLINE_HINT = (
    "no internet on this machine? download on a connected PC and pass the file, or set "
    f"${OVERPASS_ENV} / --endpoint to a reachable mirror"
)
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_LOG_EVERY = 64 * 1024 * 1024
_REMARK = re.compile(rb'<remark>|"remark"\s*:\s*"')
_OVERLAP = 32

# Tag values that classify_osm maps to a plan facility (kept in sync by deriving them).
_AMENITY_VALUES = (*sorted(k for k, v in _AMENITY.items() if v is not None), "hospice")
_LEISURE_VALUES = tuple(sorted(_LEISURE))
_SOCIAL_VALUES = ("assisted_living", "day_care", "group_home", "hospice", "nursing_home")
_TOURISM_VALUES = ("gallery", "museum")


class _RetryableError(Exception):
    """A transient failure (HTTP 429/5xx, dropped connection, timeout): try again."""


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
        -90..90); min above max; empty; larger than :data:`MAX_BBOX_DEG2` square degrees.
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
    area = (x1 - x0) * (y1 - y0)
    if area > MAX_BBOX_DEG2:
        msg = (
            f"bbox {tuple(values)} covers {area:.1f} square degrees, more than the "
            f"{MAX_BBOX_DEG2:g} Overpass can serve in one request (a Yunnan county is about "
            "0.1-2); fix: split the area by county and fetch each county's bbox"
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


def _overpass_bbox(bbox: Sequence[float]) -> str:
    """``(south,west,north,east)``: Overpass QL's bbox filter order."""
    x0, y0, x1, y1 = validate_bbox(bbox)
    return "(" + ",".join(_num(v) for v in (y0, x0, y1, x1)) + ")"


def _num(value: float) -> str:
    text = f"{value:.7f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _alternation(values: Iterable[str]) -> str:
    return "^(" + "|".join(re.escape(v) for v in values) + ")$"


# ------------------------------------------------------------------------- queries
def overpass_query_roads(bbox: Sequence[float], *, timeout_s: int = 180) -> str:
    """Overpass QL for the roads and paths of a bounding box, as OSM XML.

    Ways with a ``highway`` tag except the classes readers drop
    (:data:`ynps_geo.model.modes.EXCLUDED_CLASSES`: ``construction``, ``proposed``,
    ``platform``...) and ``area=yes``; their nodes first (``out skel``), then the ways with
    their tags (``out body``). The nodes must come first: ``read_roads`` locates way vertices
    from nodes already read, so the classic ``out body; >; out skel qt;`` (ways first) would
    give ways without coordinates.

    Parameters
    ----------
    bbox : sequence of float
        ``(min_lon, min_lat, max_lon, max_lat)`` in WGS84 degrees.
    timeout_s : int
        The server-side ``[timeout:]`` in seconds.

    Returns
    -------
    str

    Raises
    ------
    ValidationError
        Invalid bbox (see :func:`validate_bbox`).
    """
    bb = _overpass_bbox(bbox)
    excluded = _alternation(sorted(EXCLUDED_CLASSES))
    return (
        f"[out:xml][timeout:{int(timeout_s)}];\n"
        f'way["highway"]["highway"!~"{excluded}"]["area"!="yes"]{bb}->.roads;\n'
        "node(w.roads)->.pts;\n"
        ".pts out skel qt;\n"
        ".roads out body qt;\n"
    )


def overpass_query_facilities(bbox: Sequence[float], *, timeout_s: int = 180) -> str:
    """Overpass QL for the public-service facilities of a bounding box, as JSON.

    Nodes, ways and relations tagged with the values that
    :func:`ynps_geo.model.facilities.classify_osm` maps to a plan facility: ``amenity``
    (hospital, clinic, doctors, school, kindergarten, childcare, library, community_centre,
    arts_centre, theatre, townhall, nursing_home, hospice), ``leisure`` (sports_centre, pitch,
    stadium, track, swimming_pool, fitness_station...), ``healthcare`` (except pharmacy,
    dentist...), ``social_facility`` (nursing_home, assisted_living, group_home, day_care,
    hospice), ``tourism`` (museum, gallery) and ``office=government`` (administrative).
    Output ``out center tags;``: a point for nodes, the centre for ways and relations.

    Parameters
    ----------
    bbox : sequence of float
        ``(min_lon, min_lat, max_lon, max_lat)`` in WGS84 degrees.
    timeout_s : int
        The server-side ``[timeout:]`` in seconds.

    Returns
    -------
    str

    Raises
    ------
    ValidationError
        Invalid bbox (see :func:`validate_bbox`).
    """
    bb = _overpass_bbox(bbox)
    statements = [
        f'nwr["amenity"~"{_alternation(_AMENITY_VALUES)}"]{bb};',
        f'nwr["leisure"~"{_alternation(_LEISURE_VALUES)}"]{bb};',
        f'nwr["healthcare"]["healthcare"!~"{_alternation(sorted(_HEALTHCARE_NOT))}"]{bb};',
        f'nwr["social_facility"~"{_alternation(_SOCIAL_VALUES)}"]{bb};',
        f'nwr["tourism"~"{_alternation(_TOURISM_VALUES)}"]{bb};',
        f'nwr["office"="government"][!"government"]{bb};',
        f'nwr["office"="government"]["government"="administrative"]{bb};',
    ]
    body = "\n".join(f"  {s}" for s in statements)
    return f"[out:json][timeout:{int(timeout_s)}];\n(\n{body}\n);\nout center tags;\n"


# ---------------------------------------------------------------------- transfers
def overpass_endpoint(endpoint: str | None = None) -> str:
    """The Overpass interpreter URL: ``endpoint``, else ``$YNPS_GEO_OVERPASS_URL``, else default.

    Parameters
    ----------
    endpoint : str, optional
        An explicit URL (``http://`` or ``https://``).

    Returns
    -------
    str
    """
    return endpoint or os.environ.get(OVERPASS_ENV) or DEFAULT_OVERPASS


def _check_url(url: str, what: str) -> None:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        msg = f"{what} URL {url!r} must start with http:// or https://; fix: give a web address"
        raise ValidationError(msg)


def _temp_beside(target: Path, tag: str = "part") -> Path:
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.{tag}")


def _error_text(body: bytes) -> str:
    """A short one-line excerpt of an error body (Overpass sends HTML with the message)."""
    text = body[:20000].decode("utf-8", "replace")
    found = re.findall(r"<strong[^>]*>\s*Error\s*</strong>\s*:?\s*([^<]+)", text)
    text = "; ".join(f.strip() for f in found[:3]) if found else re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _remark_text(path: Path, offset: int) -> str:
    with path.open("rb") as f:
        f.seek(offset)
        raw = f.read(2000)
    m = re.match(rb'<remark>(.*?)</remark>|"remark"\s*:\s*"((?:[^"\\]|\\.)*)"', raw, re.DOTALL)
    if m is None:
        return " ".join(raw[:300].decode("utf-8", "replace").split())
    text = (m.group(1) or m.group(2) or b"").decode("utf-8", "replace")
    return " ".join(text.split())


def _attempt(
    url: str,
    tmp: Path,
    *,
    data: bytes | None,
    timeout_s: float,
    chunk: int,
    digest: Any,
    scan_remark: bool,
) -> int | None:
    """One request written to ``tmp``. Returns the offset of an Overpass remark, if any."""
    headers = {"User-Agent": USER_AGENT}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    req = urllib.request.Request(
        url, data=data, headers=headers, method="POST" if data is not None else "GET"
    )
    try:
        resp = urllib.request.urlopen(req, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        body = b""
        with contextlib.suppress(OSError, http.client.HTTPException):
            body = exc.read()
        exc.close()
        detail = f"HTTP {exc.code} {exc.reason}"
        if exc.code in _RETRY_STATUS:
            raise _RetryableError(detail) from None
        text = _error_text(body)
        msg = f"{url} answered {detail}" + (f": {text}" if text else "")
        if exc.code == 400:
            msg += "; fix: the query was rejected; check a custom query's syntax"
        elif exc.code == 404:
            msg += "; fix: check the URL (for WorldPop: the ISO3 code, year and variant exist)"
        else:
            msg += "; fix: try again later or use another server"
        raise DataSourceError(msg) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, socket.gaierror):
            msg = f"cannot resolve the host of {url} ({reason}); fix: {_OFFLINE_HINT}"
            raise DataSourceError(msg) from None
        raise _RetryableError(f"cannot connect ({reason})") from None
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise _RetryableError(f"connection failed ({exc!r})") from None

    remark_at: int | None = None
    with resp:
        length = resp.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        if expected is not None:
            free = shutil.disk_usage(tmp.parent).free
            if expected > free:
                msg = (
                    f"{url} is {expected / 1e6:.0f} MB but {tmp.parent} has only "
                    f"{free / 1e6:.0f} MB free; fix: free disk space or choose another output"
                )
                raise DataSourceError(msg)
        done = 0
        next_log = _LOG_EVERY
        tail = b""
        try:
            f = tmp.open("wb")
        except OSError as exc:
            msg = f"cannot write {tmp}: {exc}; fix: choose an output folder you can write to"
            raise DataSourceError(msg) from None
        with f:
            while True:
                try:
                    block = resp.read(chunk)
                except (TimeoutError, OSError, http.client.HTTPException) as exc:
                    raise _RetryableError(
                        f"connection dropped after {done} bytes ({exc!r})"
                    ) from None
                if not block:
                    break
                if scan_remark and remark_at is None:
                    window = tail + block
                    m = _REMARK.search(window)
                    if m is not None:
                        remark_at = done - len(tail) + m.start()
                    tail = window[-_OVERLAP:]
                try:
                    f.write(block)
                except OSError as exc:
                    msg = (
                        f"cannot write {tmp} while downloading {url}: {exc}; fix: free disk "
                        "space or choose another output folder"
                    )
                    raise DataSourceError(msg) from None
                if digest is not None:
                    digest.update(block)
                done += len(block)
                if done >= next_log:
                    total = f" of {expected / 1e6:.0f}" if expected else ""
                    log.info("downloaded %.0f%s MB from %s", done / 1e6, total, url)
                    next_log += _LOG_EVERY
    if expected is not None and done != expected:
        raise _RetryableError(f"connection dropped after {done} of {expected} bytes")
    return remark_at


def _transfer(
    url: str,
    out_path: str | Path,
    *,
    data: bytes | None,
    timeout_s: float,
    retries: int,
    backoff_s: float,
    chunk: int,
    sha256: str | None,
    scan_remark: bool,
    what: str,
) -> Path:
    """Request ``url`` into a temporary file beside ``out_path``; rename it there when valid."""
    if retries < 0 or chunk <= 0 or timeout_s <= 0 or backoff_s < 0:
        msg = (
            f"retries ({retries}) and backoff_s ({backoff_s}) must be >= 0, chunk ({chunk}) and "
            f"timeout_s ({timeout_s}) > 0; fix: pass valid values"
        )
        raise ValidationError(msg)
    target = Path(out_path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create the folder of {target}: {exc}; fix: choose another output path"
        raise DataSourceError(msg) from None
    if target.is_dir():
        msg = f"output {target} is a folder; fix: give a file name, e.g. {target / 'out'}"
        raise DataSourceError(msg)
    expected_hash = sha256.strip().lower() if sha256 else None
    last = ""
    attempts = retries + 1
    for attempt in range(attempts):
        if attempt:
            delay = backoff_s * 2 ** (attempt - 1)
            log.warning("%s: %s; retry %d of %d in %.0f s", url, last, attempt, retries, delay)
            time.sleep(delay)
        tmp = _temp_beside(target)
        digest = hashlib.sha256() if expected_hash else None
        try:
            remark_at = _attempt(
                url,
                tmp,
                data=data,
                timeout_s=timeout_s,
                chunk=chunk,
                digest=digest,
                scan_remark=scan_remark,
            )
            if remark_at is not None:
                remark = _remark_text(tmp, remark_at)
                if "too busy" in remark.lower() or "dispatcher" in remark.lower():
                    raise _RetryableError(f"server busy: {remark[:200]}")
                if "error" in remark.lower():
                    msg = (
                        f"{what} from {url} failed on the server: {remark[:300]}; fix: the "
                        "result would be incomplete; fetch a smaller area (one county or "
                        "less), raise the timeout, or try again later"
                    )
                    raise DataSourceError(msg)
                log.warning("%s: the server added a remark: %s", url, remark[:300])
            if digest is not None and digest.hexdigest() != expected_hash:
                msg = (
                    f"{what} from {url}: SHA-256 {digest.hexdigest()} differs from the "
                    f"expected {expected_hash}; fix: download again (the file is corrupt or "
                    "has changed on the server) or update the checksum"
                )
                raise DataSourceError(msg)
            os.replace(tmp, target)
            return target
        except _RetryableError as exc:
            last = str(exc)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    msg = (
        f"{what} from {url} failed after {attempts} attempt(s): {last}; fix: try again later "
        f"or use another server; {_OFFLINE_HINT}"
    )
    raise DataSourceError(msg)


def fetch_overpass(
    query: str,
    out_path: str | Path,
    *,
    endpoint: str | None = None,
    timeout_s: float = 180,
    retries: int = 3,
    backoff_s: float = 5,
) -> Path:
    """POST an Overpass QL query and write the answer to ``out_path`` atomically.

    Parameters
    ----------
    query : str
        Overpass QL (e.g. from :func:`overpass_query_roads`).
    out_path : str or Path
        The file to write; its folder is created. Written only when the whole answer arrived
        without a server error.
    endpoint : str, optional
        Interpreter URL. Default ``$YNPS_GEO_OVERPASS_URL``, else :data:`DEFAULT_OVERPASS`.
    timeout_s : float
        Socket timeout in seconds (the client waits this plus 30 s for the first byte, as
        Overpass answers only when the query has run).
    retries : int
        Further attempts after the first on HTTP 429 (too many requests), 5xx (504 gateway
        timeout...), a busy server, a refused or dropped connection.
    backoff_s : float
        Wait before the first retry; doubled each time.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    DataSourceError
        The server keeps failing, rejects the query (HTTP 400), answers with a runtime error
        in the body (timeout, out of memory), or there is no connection; the message names
        the URL and the fix.
    ValidationError
        A non-http(s) endpoint, negative retries.
    """
    url = overpass_endpoint(endpoint)
    _check_url(url, "Overpass")
    data = urllib.parse.urlencode({"data": query}).encode("utf-8")
    return _transfer(
        url,
        out_path,
        data=data,
        timeout_s=float(timeout_s) + 30.0,
        retries=retries,
        backoff_s=backoff_s,
        chunk=1 << 20,
        sha256=None,
        scan_remark=True,
        what="Overpass query",
    )


def _check_suffix(path: Path, suffixes: tuple[str, ...], what: str) -> None:
    if not path.name.lower().endswith(suffixes):
        msg = (
            f"{what} output {path}: the name must end with {' or '.join(suffixes)} so that "
            f"ynps_geo reads it back; fix: e.g. {path.with_suffix(suffixes[0]).name}"
        )
        raise ValidationError(msg)


def fetch_roads(bbox: Sequence[float], out_path: str | Path, **kw: Any) -> Path:
    """Download the roads and paths of a bounding box from Overpass as OSM XML.

    Parameters
    ----------
    bbox : sequence of float
        ``(min_lon, min_lat, max_lon, max_lat)`` in WGS84 degrees; one county at a time.
    out_path : str or Path
        An ``.osm`` file, readable by :func:`ynps_geo.io.osm.read_roads` (config
        ``roads: {path: roads.osm}``).
    **kw
        ``endpoint``, ``timeout_s``, ``retries``, ``backoff_s`` of :func:`fetch_overpass`.

    Returns
    -------
    Path

    Raises
    ------
    ValidationError
        Invalid bbox or output name.
    DataSourceError
        See :func:`fetch_overpass`.
    """
    out = Path(out_path)
    _check_suffix(out, (".osm",), "roads")
    query = overpass_query_roads(bbox, timeout_s=int(kw.get("timeout_s", 180)))
    path = fetch_overpass(query, out, **kw)
    log.info("wrote OSM roads of bbox %s to %s", tuple(bbox), path)
    return path


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


def fetch_facilities(bbox: Sequence[float], out_path: str | Path, **kw: Any) -> Path:
    """Download the public-service facilities of a bounding box from Overpass as GeoJSON.

    Parameters
    ----------
    bbox : sequence of float
        ``(min_lon, min_lat, max_lon, max_lat)`` in WGS84 degrees; one county at a time.
    out_path : str or Path
        A ``.geojson`` (or ``.json``) file of points (WGS84) with ``osm_type``, ``osm_id``,
        ``osm_key`` and the OSM tags as columns. Use it in a config as
        ``{path: pois.geojson, crs: wgs84, osm_tags: true}`` (add ``id: osm_key`` for stable
        ids).
    **kw
        ``endpoint``, ``timeout_s``, ``retries``, ``backoff_s`` of :func:`fetch_overpass`.

    Returns
    -------
    Path

    Raises
    ------
    ValidationError
        Invalid bbox or output name.
    DataSourceError
        See :func:`fetch_overpass`; also an answer that is not Overpass JSON.
    """
    out = Path(out_path)
    _check_suffix(out, (".geojson", ".json"), "facilities")
    query = overpass_query_facilities(bbox, timeout_s=int(kw.get("timeout_s", 180)))
    raw = _temp_beside(out, "overpass.json")
    try:
        fetch_overpass(query, raw, **kw)
        try:
            with raw.open("rb") as f:
                data = json.load(f)
        except (ValueError, UnicodeDecodeError) as exc:
            url = overpass_endpoint(kw.get("endpoint"))
            msg = (
                f"the Overpass answer from {url} is not JSON ({exc}); fix: check that the "
                "endpoint is an Overpass interpreter URL (ending in /api/interpreter)"
            )
            raise DataSourceError(msg) from None
        if not isinstance(data, Mapping):
            msg = "the Overpass answer is not a JSON object; fix: check the endpoint"
            raise DataSourceError(msg)
        collection = overpass_json_to_geojson(data)
        tmp = _temp_beside(out, "tmp")
        try:
            with tmp.open("w", encoding="utf-8") as f:
                json.dump(collection, f, ensure_ascii=False)
            os.replace(tmp, out)
        except OSError as exc:
            msg = f"cannot write {out}: {exc}; fix: free disk space or choose another output"
            raise DataSourceError(msg) from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    finally:
        with contextlib.suppress(OSError):
            raw.unlink()
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


def download(
    url: str,
    out_path: str | Path,
    *,
    timeout_s: float = 60,
    retries: int = 3,
    chunk: int = 1 << 20,
    sha256: str | None = None,
    backoff_s: float = 5,
) -> Path:
    """Stream ``url`` to ``out_path`` through a temporary file renamed when complete.

    A dropped connection (fewer bytes than announced), a timeout or HTTP 429/5xx starts the
    download again from the beginning (no resume). ``out_path`` is never left partial: it is
    either the previous file (or absent) or the complete new one.

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
    backoff_s : float
        Wait before the first retry; doubled each time.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    DataSourceError
        Not found, keeps failing, no connection, checksum mismatch, disk full; the message
        names the URL and the fix.
    ValidationError
        A non-http(s) URL or invalid options.
    """
    _check_url(url, "download")
    path = _transfer(
        url,
        out_path,
        data=None,
        timeout_s=timeout_s,
        retries=retries,
        backoff_s=backoff_s,
        chunk=chunk,
        sha256=sha256,
        scan_remark=False,
        what="download",
    )
    log.info("downloaded %s to %s (%.1f MB)", url, path, path.stat().st_size / 1e6)
    return path
