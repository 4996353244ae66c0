"""Tests for ynps_geo.io.download and ``ynps-geo fetch`` against local HTTP servers.

Nothing here leaves the machine: every request goes to a ``http.server`` bound to
127.0.0.1 on a free port, in a daemon thread that the fixture shuts down. OSMnx talks to a
fake Overpass API (``/status`` and ``/interpreter``, answering its JSON queries for the
polygon asked), Pooch to a plain file server.
"""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import json
import re
import socket
import sys
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ynps_geo import settings
from ynps_geo.cli import main
from ynps_geo.errors import DataSourceError, MissingDependencyError, ValidationError
from ynps_geo.io import download as dl
from ynps_geo.io.osm import read_roads
from ynps_geo.io.vector import read_facilities
from ynps_geo.model.facilities import classify_osm

needs_osmium = pytest.mark.skipif(
    importlib.util.find_spec("osmium") is None, reason="osmium (optional) not installed"
)

BBOX = (100.0, 25.0, 100.03, 25.02)

# ------------------------------------------------------------------------------ local server
# A reply: (status, headers, body) or a callable writing the reply itself (e.g. dropping it).
Reply = tuple[int, dict[str, str], bytes]
Handler = Callable[["Request"], "Reply | None"]


@dataclass
class Request:
    """One request the local server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    handler: http.server.BaseHTTPRequestHandler

    @property
    def query(self) -> str:
        """The Overpass query of a form-encoded POST (``data=...``)."""
        return urllib.parse.parse_qs(self.body.decode("utf-8"))["data"][0]


@dataclass
class Server:
    """A local HTTP server; ``respond`` decides each answer, ``requests`` records them."""

    respond: Handler
    requests: list[Request] = field(default_factory=list)
    url: str = ""


def _make_handler(server: Server) -> type[http.server.BaseHTTPRequestHandler]:
    class _H(http.server.BaseHTTPRequestHandler):
        timeout = 10  # socket timeout: a stuck client cannot hold the thread forever

        def _serve(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            req = Request(self.command, self.path, dict(self.headers), body, self)
            server.requests.append(req)
            reply = server.respond(req)
            if reply is None:  # the callable wrote (or dropped) the reply itself
                self.close_connection = True
                return
            status, headers, payload = reply
            self.send_response(status)
            for k, v in {"Content-Length": str(len(payload)), **headers}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return _H


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], Server]]:
    """Start local servers on free ports; all are shut down at teardown."""
    started: list[tuple[http.server.ThreadingHTTPServer, threading.Thread]] = []

    def start(respond: Handler) -> Server:
        server = Server(respond)
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(server))
        httpd.daemon_threads = True
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        started.append((httpd, thread))
        server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        return server

    try:
        yield start
    finally:
        for httpd, thread in started:
            httpd.shutdown()
            httpd.server_close()
            thread.join(timeout=5)
            assert not thread.is_alive()


def _ok(body: bytes, ctype: str = "application/octet-stream") -> Reply:
    return 200, {"Content-Type": ctype}, body


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own cache folder (OSMnx caches Overpass answers there)."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setattr(settings, "cache_dir", folder)
    return folder


# ----------------------------------------------------------------------------- sample data
NODES = {
    1: (100.000, 25.000),
    2: (100.010, 25.000),
    3: (100.020, 25.000),
    4: (100.020, 25.010),
    5: (100.010, 25.010),
    6: (100.025, 25.015),
}
WAYS = [  # id, node refs, tags
    (10, [1, 2, 3], {"highway": "tertiary", "name": "县道X012"}),
    (11, [3, 4], {"highway": "residential", "oneway": "yes"}),
    (12, [4, 5, 2], {"highway": "track"}),
    (13, [4, 6], {"highway": "footway"}),
]
ROAD_ELEMENTS: list[dict[str, Any]] = [
    {"type": "node", "id": i, "lat": y, "lon": x} for i, (x, y) in NODES.items()
] + [{"type": "way", "id": w, "nodes": refs, "tags": tags} for w, refs, tags in WAYS]

FACILITY_NODES = {  # untagged vertices of the ways and relation below
    901: (100.018, 25.014),
    902: (100.022, 25.016),
    903: (100.022, 25.014),
    904: (100.024, 25.006),
    905: (100.026, 25.010),
}
FACILITY_ELEMENTS: list[dict[str, Any]] = [
    {"type": "node", "id": i, "lat": y, "lon": x} for i, (x, y) in FACILITY_NODES.items()
] + [
    {
        "type": "node",
        "id": 101,
        "lat": 25.005,
        "lon": 100.005,
        "tags": {"amenity": "hospital", "name": "某县人民医院"},
    },
    {
        "type": "node",
        "id": 102,
        "lat": 25.012,
        "lon": 100.012,
        "tags": {"amenity": "school", "name": "某镇中心小学"},
    },
    {
        "type": "node",
        "id": 103,
        "lat": 25.013,
        "lon": 100.018,
        "tags": {
            "amenity": "social_facility",
            "social_facility": "nursing_home",
            "social_facility:for": "senior",
            "name": "某镇敬老院",
        },
    },
    {  # the tags asked for (healthcare) but a pharmacy: left out
        "type": "node",
        "id": 104,
        "lat": 25.001,
        "lon": 100.001,
        "tags": {"healthcare": "pharmacy", "name": "大药房"},
    },
    {  # a tax office, not an administrative one: left out
        "type": "node",
        "id": 105,
        "lat": 25.002,
        "lon": 100.002,
        "tags": {"office": "government", "government": "tax"},
    },
    {
        "type": "way",
        "id": 201,
        "nodes": [901, 902, 903, 901],
        "tags": {"leisure": "pitch", "sport": "soccer"},
    },
    {
        "type": "way",
        "id": 102,
        "nodes": [904, 905],
        "tags": {"amenity": "kindergarten", "name": "某镇幼儿园"},
    },
    {
        "type": "relation",
        "id": 301,
        "members": [
            {"type": "way", "ref": 201, "role": "outer"},
            {"type": "node", "ref": 101, "role": ""},
        ],
        "tags": {"amenity": "school", "type": "site"},
    },
]

STATUS = (
    b"Connected as: 2130706433\nCurrent time: 2026-12-02T10:00:00Z\nAnnounced endpoint: none\n"
    b"Rate limit: 2\n2 slots available now.\nCurrently running queries (pid, space limit, "
    b"time limit, start time):\n"
)


def _poly(query: str) -> Any:
    """The (poly:'lat lon ...') of an OSMnx query as a shapely polygon (lon/lat)."""
    from shapely.geometry import Polygon

    m = re.search(r"\(poly:'([^']+)'\)", query)
    assert m, query
    v = [float(t) for t in m.group(1).split()]
    return Polygon(list(zip(v[1::2], v[0::2], strict=True)))


def _inside(elements: list[dict[str, Any]], poly: Any) -> list[dict[str, Any]]:
    """What Overpass answers for a polygon: tagged elements with a vertex inside, recursed."""
    from shapely.geometry import Point

    nodes = {e["id"]: e for e in elements if e["type"] == "node"}
    ways = {e["id"]: e for e in elements if e["type"] == "way"}

    def node_in(i: int) -> bool:
        return poly.covers(Point(nodes[i]["lon"], nodes[i]["lat"]))

    keep: dict[tuple[str, int], dict[str, Any]] = {}

    def add(e: dict[str, Any]) -> None:
        keep[(e["type"], e["id"])] = e
        for r in e.get("nodes", []):
            keep[("node", r)] = nodes[r]
        for m in e.get("members", []):
            add(nodes[m["ref"]] if m["type"] == "node" else ways[m["ref"]])

    for e in elements:
        if (
            (e["type"] == "node" and e.get("tags") and node_in(e["id"]))
            or (e["type"] == "way" and any(node_in(r) for r in e["nodes"]))
            or e["type"] == "relation"
        ):
            add(e)
    return list(keep.values())


def overpass(
    elements: list[dict[str, Any]], *, remark: Callable[[int], str | None] | None = None
) -> Handler:
    """A fake Overpass API: ``/status`` and ``/interpreter`` answering OSMnx's JSON queries."""
    posts: list[int] = []

    def respond(req: Request) -> Reply:
        if req.method == "GET" and req.path.endswith("/status"):
            return _ok(STATUS, "text/plain")
        posts.append(1)
        answer: dict[str, Any] = {
            "version": 0.6,
            "generator": "Overpass API 0.7.62",
            "elements": _inside(elements, _poly(req.query)),
        }
        text = remark(len(posts)) if remark else None
        if text:
            answer["remark"] = text
        return _ok(json.dumps(answer, ensure_ascii=False).encode(), "application/json")

    return respond


def _posts(srv: Server) -> list[Request]:
    return [r for r in srv.requests if r.method == "POST"]


def _geotiff(path: Path) -> bytes:
    import rasterio
    from rasterio.transform import Affine

    data = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=20,
        width=30,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(0.001, 0.0, 100.0, 0.0, -0.001, 25.02),
        nodata=-99999.0,
    ) as dst:
        dst.write(data, 1)
    return path.read_bytes()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------------- (a) roads
@needs_osmium
def test_fetch_roads_through_osmnx_writes_readable_osm(
    serve: Callable[[Handler], Server], tmp_path: Path
) -> None:
    srv = serve(overpass(ROAD_ELEMENTS))
    out = dl.fetch_roads(BBOX, tmp_path / "roads.osm", endpoint=srv.url + "/api/interpreter")
    assert out == tmp_path / "roads.osm" and out.exists()
    assert _leftovers(tmp_path) == []

    assert srv.requests[0].method == "GET" and srv.requests[0].path == "/api/status"
    (req,) = _posts(srv)
    assert req.path == "/api/interpreter"
    assert "ynps_geo" in req.headers["User-Agent"]
    query = req.query
    assert query.startswith("[out:json][timeout:180]")
    assert dl.road_filter() in query
    assert "construction" in dl.road_filter() and '"area"!="yes"' in dl.road_filter()
    assert _poly(query).bounds == pytest.approx(BBOX, abs=1e-6)

    text = out.read_text(encoding="utf-8")
    assert text.index("<node") < text.index("<way")  # nodes before ways, as read_roads needs
    net = read_roads(out)
    # footway 13 is walk-only but still an edge: 2 + 1 + 2 + 1 segments
    assert net.n_edges == 6
    assert net.lon.size == 6


def test_large_area_split_into_requests_and_merged(
    serve: Callable[[Handler], Server], tmp_path: Path
) -> None:
    """No bbox is refused: OSMnx splits a large one; the pieces merge to the one answer."""
    srv = serve(overpass(ROAD_ELEMENTS))
    whole = dl.fetch_roads(BBOX, tmp_path / "whole.osm", endpoint=srv.url)
    assert len(_posts(srv)) == 1
    split = dl.fetch_roads(BBOX, tmp_path / "split.osm", endpoint=srv.url, max_query_area_m2=1e6)
    n_split = len(_posts(srv)) - 1
    assert n_split >= 4  # about 3 km x 2.2 km in 1 km² pieces
    assert split.read_bytes() == whole.read_bytes()  # each node and way once, same order
    root = ET.parse(split).getroot()
    assert sorted(int(n.get("id")) for n in root.iter("node")) == sorted(NODES)
    assert [int(w.get("id")) for w in root.iter("way")] == [10, 11, 12, 13]
    # a province-size bbox is valid now (it was refused before OSMnx did the splitting)
    assert dl.validate_bbox((97.5, 21.1, 106.2, 29.2)) == (97.5, 21.1, 106.2, 29.2)


def test_answers_are_cached_and_cache_clear_empties(
    serve: Callable[[Handler], Server], tmp_path: Path, _own_cache: Path
) -> None:
    srv = serve(overpass(ROAD_ELEMENTS))
    first = dl.fetch_roads(BBOX, tmp_path / "a.osm", endpoint=srv.url)
    again = dl.fetch_roads(BBOX, tmp_path / "b.osm", endpoint=srv.url)
    assert len(_posts(srv)) == 1  # the second answer came from the OSMnx cache
    assert again.read_bytes() == first.read_bytes()
    assert list((_own_cache / "overpass").glob("*.json"))
    assert main(["-q", "cache", "clear"]) == 0
    assert not list(_own_cache.rglob("*.json"))
    dl.fetch_roads(BBOX, tmp_path / "c.osm", endpoint=srv.url)
    assert len(_posts(srv)) == 2


# ---------------------------------------------------------------------------- (b) facilities
def test_fetch_facilities_to_geojson_read_by_read_facilities(
    serve: Callable[[Handler], Server], tmp_path: Path
) -> None:
    srv = serve(overpass(FACILITY_ELEMENTS))
    out = dl.fetch_facilities(BBOX, tmp_path / "pois.geojson", endpoint=srv.url)
    assert _leftovers(tmp_path) == []

    query = _posts(srv)[0].query
    assert query.startswith("[out:json]")
    for tag in ("'amenity'='hospital'", "'leisure'='pitch'", "'healthcare'", "'office'"):
        assert tag in query

    collection = json.loads(out.read_text(encoding="utf-8"))
    assert collection["skipped"] == 0
    feats = {f["properties"]["osm_key"]: f for f in collection["features"]}
    assert set(feats) == {
        "node/101",
        "node/102",
        "node/103",
        "way/201",
        "way/102",
        "relation/301",
    }
    # ways and relations at the middle of their bounding box, as Overpass's `out center`
    assert feats["way/201"]["geometry"]["coordinates"] == pytest.approx([100.020, 25.015])
    assert feats["way/102"]["geometry"]["coordinates"] == pytest.approx([100.025, 25.008])
    assert feats["relation/301"]["geometry"]["coordinates"] == pytest.approx([100.0135, 25.0105])
    assert feats["node/101"]["properties"]["osm_type"] == "node"
    assert feats["node/101"]["properties"]["osm_id"] == 101

    gdf = read_facilities(
        {"path": out.name, "crs": "wgs84", "osm_tags": True, "id": "osm_key"}, tmp_path
    )
    by_id = gdf.set_index("facility_id")
    assert by_id.loc["node/101", "category"] == "health"
    assert by_id.loc["node/101", "subtype"] == "hospital"
    assert by_id.loc["node/102", "category"] == "school"
    assert by_id.loc["node/102", "subtype"] == "primary_school"
    assert by_id.loc["node/103", "category"] == "eldercare"
    assert by_id.loc["way/201", "subtype"] == "football_pitch"
    assert by_id.loc["way/102", "category"] == "kindergarten"
    assert len(gdf) == 6


def test_facility_tags_cover_what_classify_osm_knows() -> None:
    tags = dl.facility_tags()
    amenity, leisure = tags["amenity"], tags["leisure"]
    assert isinstance(amenity, list) and isinstance(leisure, list)
    for value in ("hospital", "clinic", "doctors", "school", "kindergarten", "nursing_home"):
        assert value in amenity
        assert classify_osm({"amenity": value}) is not None
        assert dl.is_facility({"amenity": value})
    for value in ("pitch", "sports_centre", "stadium", "swimming_pool"):
        assert value in leisure
        assert classify_osm({"leisure": value}) is not None
    assert "museum" in tags["tourism"] and "nursing_home" in tags["social_facility"]
    assert not dl.is_facility({"healthcare": "pharmacy"})
    assert dl.is_facility({"healthcare": "clinic"})
    assert dl.is_facility({"office": "government"})
    assert dl.is_facility({"office": "government", "government": "administrative"})
    assert not dl.is_facility({"office": "government", "government": "tax"})


def test_overpass_json_to_geojson_keeps_tags_and_skips_unlocated() -> None:
    out = dl.overpass_json_to_geojson(
        {
            "elements": [
                {"type": "node", "id": 1, "lat": 1.0, "lon": 2.0, "tags": {"osm_id": "x"}},
                {"type": "way", "id": 2},
                "garbage",
            ]
        }
    )
    assert out["skipped"] == 2
    (feat,) = out["features"]
    assert feat["properties"]["osm_id"] == 1  # a tag never overwrites the element's id
    assert feat["geometry"] == {"type": "Point", "coordinates": [2.0, 1.0]}


# ---------------------------------------------------------------------- (c)-(e) server errors
def test_429_is_waited_out_by_osmnx(
    serve: Callable[[Handler], Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import osmnx._overpass

    waits: list[float] = []
    monkeypatch.setattr(osmnx._overpass.time, "sleep", waits.append)
    fake = overpass(ROAD_ELEMENTS)

    def respond(req: Request) -> Reply:
        if req.method == "POST" and len(_posts(srv)) == 1:
            return 429, {}, b"rate limited"
        return fake(req)

    srv = serve(respond)
    out = dl.fetch_roads(BBOX, tmp_path / "x.osm", endpoint=srv.url, backoff_s=0)
    assert len(_posts(srv)) == 2
    assert 55 in waits  # OSMnx's pause after a 429
    assert ET.parse(out).getroot().find("way") is not None


def test_server_error_always_fails_naming_the_url(
    serve: Callable[[Handler], Server], tmp_path: Path
) -> None:
    fake = overpass(ROAD_ELEMENTS)
    srv = serve(lambda req: fake(req) if req.method == "GET" else (500, {}, b"<html>oops</html>"))
    out = tmp_path / "roads.osm"
    with pytest.raises(DataSourceError) as info:
        dl.fetch_roads(BBOX, out, endpoint=srv.url, retries=2, backoff_s=0)
    msg = str(info.value)
    assert srv.url in msg and "500" in msg and "3 attempt" in msg
    assert "no internet" in msg
    assert len(_posts(srv)) == 3
    assert not out.exists() and _leftovers(tmp_path) == []


def test_http_400_is_not_retried_and_shows_the_server_message(
    serve: Callable[[Handler], Server], tmp_path: Path
) -> None:
    html = (
        b'<html><body><p><strong style="color:#FF0000">Error</strong>: line 1: parse error: '
        b"Unknown type &quot;wya&quot; </p></body></html>"
    )
    fake = overpass(ROAD_ELEMENTS)
    srv = serve(
        lambda req: fake(req) if req.method == "GET" else (400, {"Content-Type": "text/html"}, html)
    )
    with pytest.raises(DataSourceError, match="parse error") as info:
        dl.fetch_roads(BBOX, tmp_path / "x.osm", endpoint=srv.url, backoff_s=0)
    assert "HTTP 400" in str(info.value)
    assert len(_posts(srv)) == 1


@pytest.mark.parametrize("what", ["roads", "facilities"])
def test_overpass_runtime_error_in_answer(
    serve: Callable[[Handler], Server], tmp_path: Path, what: str
) -> None:
    error = 'runtime error: Query timed out in "query" at line 3 after 181 seconds.'
    srv = serve(overpass(ROAD_ELEMENTS, remark=lambda n: error))
    out = tmp_path / ("x.osm" if what == "roads" else "x.geojson")
    out.write_text("previous")
    fetch = dl.fetch_roads if what == "roads" else dl.fetch_facilities
    with pytest.raises(DataSourceError, match="timed out") as info:
        fetch(BBOX, out, endpoint=srv.url, backoff_s=0)
    assert srv.url in str(info.value)
    assert len(_posts(srv)) == 1  # a query that timed out is not repeated as it is
    assert out.read_text() == "previous"  # the previous file is untouched
    assert _leftovers(tmp_path) == []


def test_busy_server_remark_is_retried(serve: Callable[[Handler], Server], tmp_path: Path) -> None:
    busy = (
        "runtime error: open64: 0 Success /osm3s_osm_base Dispatcher_Client::"
        "request_read_and_idx::timeout. The server is probably too busy to handle your request."
    )
    srv = serve(overpass(ROAD_ELEMENTS, remark=lambda n: busy if n == 1 else None))
    dl.fetch_roads(BBOX, tmp_path / "x.osm", endpoint=srv.url, backoff_s=0)
    assert len(_posts(srv)) == 2


def test_endpoint_from_environment(
    serve: Callable[[Handler], Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = serve(overpass(ROAD_ELEMENTS))
    monkeypatch.setenv(dl.OVERPASS_ENV, srv.url + "/mirror")
    dl.fetch_roads(BBOX, tmp_path / "x.osm")
    assert _posts(srv)[0].path == "/mirror/interpreter"
    assert dl.overpass_endpoint("http://other/api") == "http://other/api/interpreter"
    assert dl.overpass_endpoint("http://other/api/interpreter/") == "http://other/api/interpreter"
    monkeypatch.delenv(dl.OVERPASS_ENV)
    assert (
        dl.overpass_endpoint() == dl.DEFAULT_OVERPASS == "https://overpass-api.de/api/interpreter"
    )


def test_refused_connection_gives_offline_hint(tmp_path: Path) -> None:
    with socket.socket() as s:  # a free port with nobody listening once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/interpreter"
    with pytest.raises(DataSourceError, match="no internet on this machine") as info:
        dl.fetch_roads(BBOX, tmp_path / "x.osm", endpoint=url, retries=1, backoff_s=0)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert isinstance(info.value, OSError)


def test_non_http_endpoint_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="http"):
        dl.fetch_roads(BBOX, tmp_path / "x.osm", endpoint="file:///etc/passwd")


@pytest.mark.parametrize(("module", "call"), [("osmnx", "roads"), ("pooch", "download")])
def test_missing_library_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, call: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    if module == "osmnx":
        monkeypatch.setitem(sys.modules, "osmnx._overpass", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "ynps-geo\[download\]"'):
        if call == "roads":
            dl.fetch_roads(BBOX, tmp_path / "x.osm", endpoint="http://127.0.0.1:9")
        else:
            dl.download("http://127.0.0.1:9/x.tif", tmp_path / "x.tif")


# ------------------------------------------------------------------------- (f) download
def test_download_geotiff_with_checksum(serve: Callable[[Handler], Server], tmp_path: Path) -> None:
    tif = _geotiff(tmp_path / "src.tif")
    srv = serve(lambda req: _ok(tif, "image/tiff"))
    dest = tmp_path / "dl" / "pop.tif"
    url = srv.url + "/GIS/Population/x.tif"
    out = dl.download(url, dest, chunk=1000, sha256=hashlib.sha256(tif).hexdigest().upper())
    assert out == dest and dest.read_bytes() == tif
    assert _leftovers(dest.parent) == []
    assert srv.requests[0].method == "GET" and srv.requests[0].path == "/GIS/Population/x.tif"
    assert "ynps_geo" in srv.requests[0].headers["User-Agent"]

    import rasterio

    with rasterio.open(dest) as src:
        assert src.shape == (20, 30)
        assert float(src.read(1).sum()) == float(np.arange(600).sum())

    # the file is there and matches: no second download
    dl.download(url, dest, sha256=hashlib.sha256(tif).hexdigest())
    assert len(srv.requests) == 1

    with pytest.raises(DataSourceError, match="hash"):
        dl.download(url, tmp_path / "bad.tif", sha256="0" * 64, retries=0)
    assert not (tmp_path / "bad.tif").exists()
    with pytest.raises(ValidationError, match="64 hexadecimal"):
        dl.download(url, tmp_path / "bad.tif", sha256="abc")


def test_download_dropped_midway_leaves_no_partial_file(
    serve: Callable[[Handler], Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pooch.core

    waits: list[float] = []
    monkeypatch.setattr(pooch.core.time, "sleep", waits.append)
    tif = _geotiff(tmp_path / "src.tif")

    def drop(req: Request) -> None:
        h = req.handler
        h.send_response(200)
        h.send_header("Content-Length", str(len(tif)))
        h.end_headers()
        h.wfile.write(tif[: len(tif) // 2])
        h.wfile.flush()
        return None  # the server closes the connection half way

    srv = serve(drop)
    dest = tmp_path / "out" / "pop.tif"
    with pytest.raises(DataSourceError, match="3 attempt") as info:
        dl.download(srv.url + "/pop.tif", dest, retries=2, chunk=512, timeout_s=5)
    assert srv.url in str(info.value)
    assert len(srv.requests) == 3 and waits == [1, 2]  # Pooch's waits between attempts
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []

    # a previous complete file survives a failed download
    dest.write_bytes(b"old")
    with pytest.raises(DataSourceError):
        dl.download(srv.url + "/pop.tif", dest, retries=0, timeout_s=5, sha256="1" * 64)
    assert dest.read_bytes() == b"old"
    assert _leftovers(dest.parent) == []


def test_download_404_not_retried(serve: Callable[[Handler], Server], tmp_path: Path) -> None:
    srv = serve(lambda req: (404, {}, b"Not Found"))
    with pytest.raises(DataSourceError, match="404"):
        dl.download(srv.url + "/nope.tif", tmp_path / "x.tif")
    assert len(srv.requests) == 1
    assert not (tmp_path / "x.tif").exists()


def test_worldpop_url() -> None:
    base = "https://data.worldpop.org/GIS/Population"
    assert dl.worldpop_url() == f"{base}/Global_2000_2020/2020/CHN/chn_ppp_2020_UNadj.tif"
    assert (
        dl.worldpop_url("npl", 2015, un_adjusted=False)
        == f"{base}/Global_2000_2020/2015/NPL/npl_ppp_2015.tif"
    )
    assert dl.worldpop_url("CHN", constrained=True) == (
        f"{base}/Global_2000_2020_Constrained/2020/BSGM/CHN/chn_ppp_2020_UNadj_constrained.tif"
    )
    assert dl.worldpop_url("LAO", base="http://127.0.0.1:9/wp/").startswith(
        "http://127.0.0.1:9/wp/Global_2000_2020/2020/LAO/"
    )
    with pytest.raises(ValidationError, match="year"):
        dl.worldpop_url("CHN", 2021)
    with pytest.raises(ValidationError, match="year"):
        dl.worldpop_url("CHN", 2015, constrained=True)
    with pytest.raises(ValidationError, match="ISO"):
        dl.worldpop_url("China")


# ------------------------------------------------------------------------------- (g) bbox
@pytest.mark.parametrize(
    ("bbox", "match"),
    [
        ((25.0, 100.0, 25.5, 100.5), "latitude/longitude order"),
        ((100.5, 25.0, 100.0, 25.5), "min_lon must be below max_lon"),
        ((100.0, 25.0, 100.0, 25.5), "min_lon must be below"),
        ((200.0, 25.0, 201.0, 25.5), "longitude"),
        ((100.0, 25.0, float("nan"), 25.5), "finite"),
        ((100.0, 25.0, 100.5), "four"),
        ("abc", "four"),
    ],
)
def test_bbox_validation(bbox: Any, match: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=match):
        dl.fetch_roads(bbox, tmp_path / "x.osm", endpoint="http://127.0.0.1:9")


def test_parse_bbox() -> None:
    assert dl.parse_bbox(" 100.05, 25.5,100.35 ,25.75") == (100.05, 25.5, 100.35, 25.75)
    with pytest.raises(ValidationError, match="MINLON,MINLAT,MAXLON,MAXLAT"):
        dl.parse_bbox("100.05 25.5 100.35 25.75")


def test_output_suffix_checked(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"\.osm"):
        dl.fetch_roads(BBOX, tmp_path / "roads.xml", endpoint="http://127.0.0.1:9")
    with pytest.raises(ValidationError, match=r"\.geojson"):
        dl.fetch_facilities(BBOX, tmp_path / "pois.csv", endpoint="http://127.0.0.1:9")


# --------------------------------------------------------------------------------- (h) CLI
@needs_osmium
def test_cli_fetch_roads(
    serve: Callable[[Handler], Server],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    srv = serve(overpass(ROAD_ELEMENTS))
    out = tmp_path / "roads.osm"
    bbox = ",".join(str(v) for v in BBOX)
    rc = main(["-q", "fetch", "roads", "--bbox", bbox, "--out", str(out), "--endpoint", srv.url])
    assert rc == 0
    assert _poly(_posts(srv)[0].query).bounds == pytest.approx(BBOX, abs=1e-6)
    assert read_roads(out).n_edges == 6
    rc = main(
        ["-q", "fetch", "roads", "--bbox", bbox, "--out", str(tmp_path / "s.osm"),
         "--endpoint", srv.url, "--max-area-km2", "1"]
    )  # fmt: skip
    assert rc == 0 and len(_posts(srv)) > 2
    assert (tmp_path / "s.osm").read_bytes() == out.read_bytes()


def test_cli_fetch_errors_are_one_line(
    serve: Callable[[Handler], Server],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = overpass(FACILITY_ELEMENTS)
    srv = serve(lambda req: fake(req) if req.method == "GET" else (502, {}, b"Bad Gateway"))
    args = ["-q", "fetch", "facilities", "--bbox", "100,25,100.03,25.02"]
    rc = main(
        [*args, "--out", str(tmp_path / "p.geojson"), "--endpoint", srv.url, "--retries", "0"]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert err.startswith("ynps-geo: error: ") and "\n" not in err and srv.url in err

    out = tmp_path / "r.osm"
    rc = main(["-q", "fetch", "roads", "--bbox", "25,100,25.5,100.5", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "latitude/longitude order" in err and "\n" not in err
    assert not out.exists()


def test_cli_fetch_worldpop(serve: Callable[[Handler], Server], tmp_path: Path) -> None:
    tif = _geotiff(tmp_path / "src.tif")
    srv = serve(lambda req: _ok(tif, "image/tiff"))
    out = tmp_path / "pop.tif"
    rc = main(
        ["-q", "fetch", "worldpop", "--iso3", "CHN", "--year", "2020", "--out", str(out),
         "--endpoint", srv.url + "/GIS/Population", "--sha256", hashlib.sha256(tif).hexdigest()]
    )  # fmt: skip
    assert rc == 0 and out.read_bytes() == tif
    assert (
        srv.requests[0].path == "/GIS/Population/Global_2000_2020/2020/CHN/chn_ppp_2020_UNadj.tif"
    )


def test_cli_cache_info(capsys: pytest.CaptureFixture[str], _own_cache: Path) -> None:
    (_own_cache / "results").mkdir()
    (_own_cache / "results" / "x.pkl").write_bytes(b"0" * 2_000_000)
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert str(_own_cache) in out and "2.0 MB" in out
