"""Tests for ynps_geo.io.download and ``ynps-geo fetch`` against a local HTTP server.

Nothing here leaves the machine: every request goes to a ``http.server`` bound to
127.0.0.1 on a free port, in a daemon thread that the fixture shuts down.
"""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import json
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ynps_geo.cli import main
from ynps_geo.errors import DataQualityWarning, DataSourceError, ValidationError
from ynps_geo.io import download as dl
from ynps_geo.io.osm import read_roads
from ynps_geo.io.vector import read_facilities
from ynps_geo.model.facilities import classify_osm

needs_osmium = pytest.mark.skipif(
    importlib.util.find_spec("osmium") is None, reason="osmium (optional) not installed"
)

BBOX = (100.0, 25.0, 100.03, 25.02)
OVERPASS_ORDER = "(25,100,25.02,100.03)"  # south, west, north, east

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


def overpass_xml(remark: str | None = None) -> bytes:
    """OSM XML as Overpass writes it for the roads query: nodes (skel) first, then ways."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="Overpass API 0.7.62">',
        '<meta osm_base="2026-01-01T00:00:00Z"/>',
    ]
    lines += [f'  <node id="{i}" lat="{y}" lon="{x}"/>' for i, (x, y) in NODES.items()]
    for wid, refs, tags in WAYS:
        lines.append(f'  <way id="{wid}">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    if remark is not None:
        lines.append(f"<remark> {remark} </remark>")
    lines.append("</osm>")
    return "\n".join(lines).encode("utf-8")


FACILITIES_JSON: dict[str, Any] = {
    "version": 0.6,
    "generator": "Overpass API 0.7.62",
    "osm3s": {"timestamp_osm_base": "2026-01-01T00:00:00Z"},
    "elements": [
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
        {
            "type": "node",
            "id": 104,
            "lat": 25.001,
            "lon": 100.001,
            "tags": {"amenity": "pharmacy", "name": "大药房"},
        },
        {
            "type": "way",
            "id": 201,
            "center": {"lat": 25.015, "lon": 100.02},
            "tags": {"leisure": "pitch", "sport": "soccer"},
        },
        {
            "type": "way",
            "id": 102,
            "center": {"lat": 25.008, "lon": 100.025},
            "tags": {"amenity": "kindergarten", "name": "某镇幼儿园"},
        },
        {"type": "relation", "id": 301, "tags": {"amenity": "school"}},  # no center: skipped
    ],
}


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
def test_fetch_roads_posts_query_and_writes_readable_osm(
    serve: Callable[[Handler], Server], tmp_path: Path
) -> None:
    srv = serve(lambda req: _ok(overpass_xml(), "application/osm3s+xml"))
    out = dl.fetch_roads(BBOX, tmp_path / "roads.osm", endpoint=srv.url + "/api/interpreter")
    assert out == tmp_path / "roads.osm" and out.exists()
    assert _leftovers(tmp_path) == []

    (req,) = srv.requests
    assert req.method == "POST" and req.path == "/api/interpreter"
    assert "ynps_geo" in req.headers["User-Agent"]
    query = req.query
    assert OVERPASS_ORDER in query
    assert '"highway"' in query and "[out:xml]" in query
    assert query.index(".pts out") < query.index(".roads out")  # nodes before ways

    net = read_roads(out)
    # footway 13 is walk-only but still an edge: 2 + 1 + 2 + 1 segments
    assert net.n_edges == 6
    assert net.lon.size == 6


def test_roads_query_uses_overpass_bbox_order_and_excludes_unusable_classes() -> None:
    q = dl.overpass_query_roads((99.9, 25.4, 100.4, 25.9), timeout_s=90)
    assert "(25.4,99.9,25.9,100.4)" in q
    assert "[timeout:90]" in q
    assert "construction" in q and "proposed" in q and '"area"!="yes"' in q


# ---------------------------------------------------------------------------- (b) facilities
def test_fetch_facilities_to_geojson_read_by_read_facilities(
    serve: Callable[[Handler], Server], tmp_path: Path
) -> None:
    payload = json.dumps(FACILITIES_JSON, ensure_ascii=False).encode("utf-8")
    srv = serve(lambda req: _ok(payload, "application/json"))
    out = dl.fetch_facilities(BBOX, tmp_path / "pois.geojson", endpoint=srv.url)
    assert _leftovers(tmp_path) == []

    query = srv.requests[0].query
    assert OVERPASS_ORDER in query and "[out:json]" in query and "out center tags;" in query
    assert '"amenity"' in query and '"leisure"' in query and '"healthcare"' in query

    collection = json.loads(out.read_text(encoding="utf-8"))
    assert collection["skipped"] == 1
    feats = {f["properties"]["osm_key"]: f for f in collection["features"]}
    assert set(feats) == {"node/101", "node/102", "node/103", "node/104", "way/201", "way/102"}
    assert feats["way/201"]["geometry"]["coordinates"] == [100.02, 25.015]
    assert feats["node/101"]["properties"]["osm_type"] == "node"
    assert feats["node/101"]["properties"]["osm_id"] == 101

    with pytest.warns(DataQualityWarning, match="pharmacy"):
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
    assert gdf.attrs["unknown_types"] == {"amenity=pharmacy": 1}
    assert len(gdf) == 5


def test_facilities_query_covers_what_classify_osm_knows() -> None:
    q = dl.overpass_query_facilities((100.0, 25.0, 100.5, 25.5))
    for value in ("hospital", "clinic", "doctors", "school", "kindergarten", "nursing_home"):
        assert value in q
        assert classify_osm({"amenity": value}) is not None
    for value in ("pitch", "sports_centre", "stadium", "swimming_pool"):
        assert value in q
        assert classify_osm({"leisure": value}) is not None
    assert "museum" in q and "social_facility" in q


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
def test_429_then_200_is_retried(serve: Callable[[Handler], Server], tmp_path: Path) -> None:
    def respond(req: Request) -> Reply:
        if len(srv.requests) == 1:
            return 429, {}, b"rate limited"
        return _ok(overpass_xml())

    srv = serve(respond)
    out = dl.fetch_overpass("[out:xml];", tmp_path / "x.osm", endpoint=srv.url, backoff_s=0)
    assert len(srv.requests) == 2
    assert out.read_bytes() == overpass_xml()


def test_504_always_fails_naming_the_url(
    serve: Callable[[Handler], Server], tmp_path: Path
) -> None:
    srv = serve(lambda req: (504, {}, b"<html>Gateway Timeout</html>"))
    out = tmp_path / "roads.osm"
    with pytest.raises(DataSourceError) as info:
        dl.fetch_roads(BBOX, out, endpoint=srv.url, retries=2, backoff_s=0)
    msg = str(info.value)
    assert srv.url in msg and "504" in msg and "3 attempt" in msg
    assert "no internet" in msg
    assert len(srv.requests) == 3
    assert not out.exists() and _leftovers(tmp_path) == []


def test_http_400_is_not_retried_and_shows_the_server_message(
    serve: Callable[[Handler], Server], tmp_path: Path
) -> None:
    html = (
        b'<html><body><p><strong style="color:#FF0000">Error</strong>: line 1: parse error: '
        b"Unknown type &quot;wya&quot; </p></body></html>"
    )
    srv = serve(lambda req: (400, {"Content-Type": "text/html"}, html))
    with pytest.raises(DataSourceError, match="parse error") as info:
        dl.fetch_overpass("wya;", tmp_path / "x.osm", endpoint=srv.url, backoff_s=0)
    assert "HTTP 400" in str(info.value)
    assert len(srv.requests) == 1


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_overpass_runtime_error_in_body(
    serve: Callable[[Handler], Server], tmp_path: Path, fmt: str
) -> None:
    error = 'runtime error: Query timed out in "query" at line 3 after 181 seconds.'
    if fmt == "xml":
        body = overpass_xml(remark=error)
    else:
        body = json.dumps({"elements": FACILITIES_JSON["elements"][:2], "remark": error}).encode()
    srv = serve(lambda req: _ok(body))
    out = tmp_path / ("x.osm" if fmt == "xml" else "x.geojson")
    out.write_text("previous")
    with pytest.raises(DataSourceError, match="timed out") as info:
        if fmt == "xml":
            dl.fetch_roads(BBOX, out, endpoint=srv.url, backoff_s=0)
        else:
            dl.fetch_facilities(BBOX, out, endpoint=srv.url, backoff_s=0)
    assert srv.url in str(info.value)
    assert len(srv.requests) == 1  # a query that timed out is not repeated as it is
    assert out.read_text() == "previous"  # the previous file is untouched
    assert _leftovers(tmp_path) == []


def test_busy_server_remark_is_retried(serve: Callable[[Handler], Server], tmp_path: Path) -> None:
    busy = (
        "runtime error: open64: 0 Success /osm3s_osm_base Dispatcher_Client::"
        "request_read_and_idx::timeout. The server is probably too busy to handle your request."
    )

    def respond(req: Request) -> Reply:
        return _ok(overpass_xml(remark=busy if len(srv.requests) == 1 else None))

    srv = serve(respond)
    dl.fetch_overpass("q", tmp_path / "x.osm", endpoint=srv.url, backoff_s=0)
    assert len(srv.requests) == 2


def test_endpoint_from_environment(
    serve: Callable[[Handler], Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = serve(lambda req: _ok(overpass_xml()))
    monkeypatch.setenv(dl.OVERPASS_ENV, srv.url + "/mirror")
    dl.fetch_overpass("q", tmp_path / "x.osm")
    assert srv.requests[0].path == "/mirror"
    assert dl.overpass_endpoint("http://other") == "http://other"
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
        dl.fetch_overpass("q", tmp_path / "x.osm", endpoint=url, retries=1, backoff_s=0)
    assert url in str(info.value)
    assert isinstance(info.value, OSError)


def test_non_http_endpoint_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="http"):
        dl.fetch_overpass("q", tmp_path / "x.osm", endpoint="file:///etc/passwd")


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

    import rasterio

    with rasterio.open(dest) as src:
        assert src.shape == (20, 30)
        assert float(src.read(1).sum()) == float(np.arange(600).sum())

    with pytest.raises(DataSourceError, match="SHA-256"):
        dl.download(url, tmp_path / "bad.tif", sha256="0" * 64, retries=0)
    assert not (tmp_path / "bad.tif").exists()


def test_download_dropped_midway_leaves_no_partial_file(
    serve: Callable[[Handler], Server], tmp_path: Path
) -> None:
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
    with pytest.raises(DataSourceError, match="dropped") as info:
        dl.download(srv.url + "/pop.tif", dest, retries=2, backoff_s=0, chunk=512, timeout_s=5)
    assert srv.url in str(info.value)
    assert len(srv.requests) == 3
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []

    # a previous complete file survives a failed download
    dest.write_bytes(b"old")
    with pytest.raises(DataSourceError):
        dl.download(srv.url + "/pop.tif", dest, retries=0, timeout_s=5)
    assert dest.read_bytes() == b"old"
    assert _leftovers(dest.parent) == []


def test_download_404_not_retried(serve: Callable[[Handler], Server], tmp_path: Path) -> None:
    srv = serve(lambda req: (404, {}, b"Not Found"))
    with pytest.raises(DataSourceError, match="404"):
        dl.download(srv.url + "/nope.tif", tmp_path / "x.tif", backoff_s=0)
    assert len(srv.requests) == 1


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
        ((97.5, 21.1, 106.2, 29.2), "split the area by county"),
        ((100.0, 25.0, 100.0, 25.5), "min_lon must be below"),
        ((200.0, 25.0, 201.0, 25.5), "longitude"),
        ((100.0, 25.0, float("nan"), 25.5), "finite"),
        ((100.0, 25.0, 100.5), "four"),
        ("abc", "four"),
    ],
)
def test_bbox_validation(bbox: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        dl.overpass_query_roads(bbox)


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
    srv = serve(lambda req: _ok(overpass_xml()))
    out = tmp_path / "roads.osm"
    bbox = ",".join(str(v) for v in BBOX)
    rc = main(["-q", "fetch", "roads", "--bbox", bbox, "--out", str(out), "--endpoint", srv.url])
    assert rc == 0
    assert OVERPASS_ORDER in srv.requests[0].query
    assert read_roads(out).n_edges == 6


def test_cli_fetch_errors_are_one_line(
    serve: Callable[[Handler], Server],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    srv = serve(lambda req: (504, {}, b"Gateway Timeout"))
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
