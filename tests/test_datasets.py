"""Tests of the embedded demo region (ynps_geo.datasets)."""

from __future__ import annotations

import csv
import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
import yaml
from shapely.geometry import LineString, Point, shape

from ynps_geo import settings
from ynps_geo.datasets import generate_demo, get_path
from ynps_geo.datasets.demo import DISPERSED_SHARE, FACILITY_TYPES, FILES
from ynps_geo.errors import ValidationError


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate_demo(out)
    return out


def _villages(folder: Path) -> list[dict[str, str]]:
    with (folder / "villages.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _facilities(folder: Path) -> list[dict[str, str]]:
    with (folder / "facilities.csv").open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _raster(path: Path) -> tuple[np.ndarray, dict]:
    with rasterio.open(path) as src:
        return src.read(1), dict(src.profile)


def _boundary(folder: Path) -> shapely.Geometry:
    doc = json.loads((folder / "boundary.geojson").read_text(encoding="utf-8"))
    return shape(doc["features"][0]["geometry"])


def _digest(folder: Path) -> dict[str, str]:
    out = {}
    for name in FILES:
        path = folder / name
        if name.endswith(".tif"):
            arr, prof = _raster(path)
            data = arr.tobytes() + repr((prof["crs"], prof["transform"], prof["nodata"])).encode()
        else:
            data = path.read_bytes()
        out[name] = hashlib.sha256(data).hexdigest()
    return out


def test_deterministic_for_a_seed(demo: Path, tmp_path: Path) -> None:
    generate_demo(tmp_path / "again")
    assert _digest(demo) == _digest(tmp_path / "again")


def test_other_seed_differs(demo: Path, tmp_path: Path) -> None:
    generate_demo(tmp_path / "other", seed=7, size_km=20.0)
    assert (tmp_path / "other" / "villages.csv").read_bytes() != (
        demo / "villages.csv"
    ).read_bytes()
    assert len(_villages(tmp_path / "other")) >= 20


def test_files_and_sizes(demo: Path) -> None:
    sizes = {name: (demo / name).stat().st_size for name in FILES}
    assert all(s > 0 for s in sizes.values())
    assert sum(sizes.values()) < 10 * 2**20


def test_config_references_existing_files(demo: Path) -> None:
    cfg = yaml.safe_load((demo / "config.yaml").read_text(encoding="utf-8"))
    assert cfg["name"].startswith("示范县")
    paths = [cfg[key]["path"] for key in ("boundary", "villages", "roads", "dem", "population")]
    paths += [layer["path"] for layer in cfg["facilities"]]
    for rel in paths:
        assert (demo / rel).is_file(), rel
    assert cfg["facilities"][0]["crs"] == "gcj02"
    assert cfg["villages"]["setting"] == "setting"


def test_villages(demo: Path) -> None:
    rows = _villages(demo)
    assert 150 <= len(rows) <= 400
    codes = [r["code"] for r in rows]
    assert len(set(codes)) == len(codes)
    assert all(len(c) == 12 and c.isdigit() and c.startswith("532999") for c in codes)
    pops = {r["code"]: int(r["pop"]) for r in rows}
    assert {r["setting"] for r in rows} == {"urban", "rural"}
    rural = [int(r["pop"]) for r in rows if r["setting"] == "rural"]
    assert min(rural) >= 100
    assert max(rural) <= 2000
    # the county seat: the communities of the seat town (township code 100)
    seat = sum(p for c, p in pops.items() if c[6:9] == "100" and int(c[9:]) < 200)
    assert 30000 <= seat <= 80000
    towns = [int(r["pop"]) for r in rows if r["setting"] == "urban" and r["code"][6:9] != "100"]
    assert towns
    assert all(2000 <= p <= 10000 for p in towns)
    # township codes agree with township names
    by_code: dict[str, set[str]] = {}
    for r in rows:
        by_code.setdefault(r["code"][:9], set()).add(r["township"])
    assert all(len(names) == 1 for names in by_code.values())


def test_villages_inside_boundary_and_townships(demo: Path) -> None:
    county = _boundary(demo)
    doc = json.loads((demo / "boundary.geojson").read_text(encoding="utf-8"))
    assert doc["features"][0]["properties"] == {"name": "示范县", "code": "532999"}
    towns = json.loads((demo / "townships.geojson").read_text(encoding="utf-8"))["features"]
    polys = {f["properties"]["name"]: shape(f["geometry"]) for f in towns}
    for r in _villages(demo):
        pt = Point(float(r["lon"]), float(r["lat"]))
        assert county.contains(pt), r
        assert polys[r["township"]].buffer(1e-4).contains(pt), r
    lon, lat = county.centroid.x, county.centroid.y
    assert 96.0 < lon < 102.0
    assert 21.0 < lat < 29.5  # western Yunnan, UTM zone 47N


def test_dem(demo: Path) -> None:
    arr, prof = _raster(demo / "dem.tif")
    assert prof["crs"].to_epsg() == 32647
    assert prof["dtype"] == "float32"
    assert prof["nodata"] is not None
    voids = arr == prof["nodata"]
    assert 0 < voids.sum() < 0.001 * arr.size
    valid = arr[~voids]
    assert valid.min() >= 1000.0
    assert valid.max() <= 3500.0
    assert valid.max() - valid.min() > 1500.0
    assert abs(prof["transform"].a) in (30.0, 50.0)


def test_population_raster_matches_villages(demo: Path) -> None:
    arr, prof = _raster(demo / "population.tif")
    assert prof["dtype"] == "float32"
    assert abs(prof["transform"].a) == 100.0
    valid = arr[arr != prof["nodata"]]
    assert (arr == prof["nodata"]).any()
    assert valid.min() >= 0.0
    total = sum(int(r["pop"]) for r in _villages(demo))
    assert float(valid.astype(np.float64).sum()) == pytest.approx(
        total * (1 + DISPERSED_SHARE), rel=1e-5
    )


def test_facilities(demo: Path) -> None:
    rows = _facilities(demo)
    assert (demo / "facilities.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert set(rows[0]) == {
        "fid",
        "name",
        "type",
        "lng",
        "lat",
        "beds",
        "doctors",
        "places",
        "area_m2",
    }
    types = {r["type"] for r in rows}
    assert types == set(FACILITY_TYPES)
    assert len({r["fid"] for r in rows}) == len(rows)
    # one health centre, culture station, junior middle school per township besides the seat
    n_town = len({r["code"][:9] for r in _villages(demo)})
    count = {t: sum(r["type"] == t for r in rows) for t in types}
    assert count["卫生院"] == n_town - 1
    assert count["文化站"] == n_town
    assert count["托育中心"] == 1
    # capacities: some known, some blank ("unknown")
    beds = [r["beds"] for r in rows if r["type"] in ("医院", "卫生院")]
    assert any(b == "" for b in beds)
    assert any(b != "" for b in beds)
    # GCJ-02: a few hundred metres from the WGS84 position, so mostly outside-looking but near
    county = _boundary(demo)
    pts = [Point(float(r["lng"]), float(r["lat"])) for r in rows]
    assert sum(county.buffer(0.02).contains(p) for p in pts) == len(pts)


def test_facility_positions_are_gcj02() -> None:
    from ynps_geo.datasets.demo import _gcj02

    lon, lat = _gcj02(np.array([99.9]), np.array([25.6]))
    shift_m = np.hypot((lon[0] - 99.9) * 100_000, (lat[0] - 25.6) * 111_000)
    assert 100 < shift_m < 800


def test_roads_osm(demo: Path) -> None:
    root = ET.parse(demo / "roads.osm").getroot()
    assert root.tag == "osm"
    nodes = {}
    for nd in root.iter("node"):
        nid = int(nd.get("id"))
        assert nid > 0
        assert nid not in nodes
        nodes[nid] = (float(nd.get("lon")), float(nd.get("lat")))
    ways = []
    for w in root.iter("way"):
        refs = [int(nd.get("ref")) for nd in w.iter("nd")]
        assert len(refs) >= 2
        assert all(r in nodes for r in refs)
        tags = {t.get("k"): t.get("v") for t in w.iter("tag")}
        assert "highway" in tags
        ways.append((refs, tags))
    classes = {t["highway"] for _, t in ways}
    assert {
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "track",
        "residential",
        "path",
        "footway",
    } <= classes
    assert any(t.get("oneway") == "yes" for _, t in ways)
    assert any("maxspeed" in t for _, t in ways)
    # the bridge crosses a road without sharing a node with it
    bridges = [(r, t) for r, t in ways if t.get("bridge") == "yes"]
    assert bridges
    refs, tags = bridges[0]
    assert tags.get("layer") == "1"
    bline = LineString([nodes[r] for r in refs])
    crossed = [
        r
        for r, t in ways
        if t.get("bridge") != "yes" and LineString([nodes[n] for n in r]).crosses(bline)
    ]
    assert crossed
    assert all(not set(r) & set(refs) for r in crossed)


def test_some_villages_have_no_road(demo: Path) -> None:
    root = ET.parse(demo / "roads.osm").getroot()
    road_nodes = set()
    for w in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in w.iter("tag")}
        if tags["highway"] not in ("path", "footway"):
            road_nodes.update(nd.get("ref") for nd in w.iter("nd"))
    pts = np.array(
        [
            (float(n.get("lon")), float(n.get("lat")))
            for n in root.iter("node")
            if n.get("id") in road_nodes
        ]
    )
    far = 0
    for r in _villages(demo):
        dx = (pts[:, 0] - float(r["lon"])) * 100_000
        d = np.hypot(dx, (pts[:, 1] - float(r["lat"])) * 111_000)
        far += d.min() > 1000
    assert far >= 5


def test_get_path_generates_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "cache_dir", tmp_path / "cache")
    cfg = get_path("config.yaml")
    assert cfg == tmp_path / "cache" / "demo" / "seed-532901" / "config.yaml"
    assert cfg.is_file()
    mtime = cfg.stat().st_mtime_ns
    assert get_path("villages.csv").is_file()
    assert cfg.stat().st_mtime_ns == mtime
    with pytest.raises(ValidationError, match="unknown demo file"):
        get_path("nope.txt")


def test_bad_size() -> None:
    with pytest.raises(ValueError, match="size_km"):
        generate_demo(Path("unused"), size_km=1.0)


def test_cli_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every failure is one line ``ynps-geo: error: ...`` and exit status 1, not a traceback."""
    from ynps_geo import workflows
    from ynps_geo.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert main(["-q", "demo", "--out", str(blocker / "out")]) == 1  # an OSError
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ynps-geo: error:") and "a-file" in err[0], err

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("first line\nsecond line")

    monkeypatch.setattr(workflows, "demo", boom)
    assert main(["-q", "demo", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ynps-geo: error: unexpected RuntimeError"), err
    assert "first line; second line" in err[0]
