"""A Yunnan-size case built from the real data in ``../shared/data/real`` (a benchmark input).

:func:`province_case` builds, once, a province (or a part of it) with the real administrative
skeleton and generated gaps, and writes the files and the ``config.yaml`` of an ordinary
analysis. ``benchmarks/bench_province.py`` times the whole analysis on it.

Real (read from the shared data folder)
---------------------------------------
- the 129 county boundaries (``admin-yunnan-cnmaps-amap``, the WGS84 conversion);
- the 14,888 village committees and 1,461 townships with their NBS 2023 codes and names
  (``admin-codes-yunnan-nbs2023``; the boundary file still has 禄丰县 as 532331, the NBS table
  禄丰市 as 532302: codes that differ are matched by name);
- the GeoNames seats (``geonames-yunnan-places``) that township centres are put on;
- the OSM public facilities (``osm-pois-yunnan-geopi``), used as they are (``osm_tags: true``).

Generated (seeded, per county, with :func:`ynps_geo.datasets.region.build_region`)
-------------------------------------------------------------------------------------
Each county is generated on its own square frame (the county's bbox plus
:data:`GEN_MARGIN_M`) in one CRS for the whole province (:data:`PROVINCE_EPSG`, UTM 47N; at
106 E a 100 m cell is about 99.4 m on the ground), on one 100 m lattice, with terrain
generated at 100 m:

- **villages**: every committee inside its own county and inside its generated township
  territory (the Voronoi cell of the township centre, clipped to the county); populations as
  :func:`~ynps_geo.datasets.region.generate_region` makes them, with
  :data:`PEOPLE_PER_COMMITTEE` people per committee where no seat population is known;
- **roads**: the demo's road rules on the county's terrain, a road to every township
  centre, :data:`EXTRA_TRACKS` dead-end tracks per rural committee; clipped to the county
  plus :data:`ROAD_CLIP_M`; pieces cut off by the clip joined back to the county's network
  by straight ``unclassified`` links; then neighbouring counties joined by straight
  ``secondary`` links (``ref=S-link``) between their nearest major-road nodes (one per
  shared border, two where it is longer than 50 km). Written as one ``roads.osm.pbf``;
- **DEM** and **population** at 100 m, one province-wide tiled, compressed GeoTIFF each: a
  cell inside a county takes that county's values; across a border the DEMs of the two
  counties are blended over :data:`FEATHER_M` on each side (no cliff at county lines);
  cells beyond every frame take the nearest generated elevation; population outside the
  counties is nodata;
- **facilities** (``facilities.csv``, Chinese type names) by the density rules below, beside
  the real OSM ones.

Facility density rules (counts exact; "share s of n" means ``floor(s * n + 0.5)``
committees, drawn at random, per township)
----------------------------------------------------------------------------------------
- per county (:data:`COUNTY_FACILITIES`): 3 hospitals (人民医院, 中医医院, 妇幼保健院),
  an elder-care home (社会福利院), a childcare centre (综合托育服务中心), a vocational school,
  a library, a culture hall, a museum, a theatre, a stadium and a football pitch, near the
  county seat;
- per township (:data:`TOWNSHIP_FACILITIES`): a health centre (卫生院; 社区卫生服务中心 for a
  街道), a primary school, a junior middle school, a kindergarten, a culture station, an
  elder-care home (敬老院) and a fitness square, near the township centre;
- per committee (:data:`COMMITTEE_SHARES`): one clinic each (村卫生室 for a village,
  社区卫生服务站 for an urban community); a culture centre for 0.85 of them, a fitness
  square for 0.3, a primary school for 0.4 of the villages, a kindergarten for 0.2, a
  day-care centre for 0.5 of the communities and 0.1 of the villages.

The whole province (seed 532901) gets 54,632 generated facilities beside the 2,549 real ones
(57,181), 1,117,608 road nodes in 43,152 ways (495 links between counties), 46.1 million
people in its committees and 47.5 million in the population raster (9,166 x 9,114 cells).

Caching
-------
Everything goes under ``<cache>/province/v<version>-seed<seed>/`` (the user cache folder,
:func:`ynps_geo.io.cache.cache_root`): ``counties/<adcode>/`` holds one county's generated
layers, ``cases/<name>/`` an assembled case (``all`` for the whole province). Each is built in
a temporary folder renamed into place when complete, so a run that stops leaves no
half-written case, and a later run reuses every complete county and case.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ynps_geo.errors import DataSourceError, ValidationError

__all__ = [
    "COMMITTEE_SHARES",
    "COUNTY_FACILITIES",
    "PROVINCE_VERSION",
    "TOWNSHIP_FACILITIES",
    "ProvinceCase",
    "RealSources",
    "load_counties",
    "province_case",
    "real_sources",
    "select_counties",
    "share_count",
]

log = logging.getLogger(__name__)

PROVINCE_VERSION = "2"
"""Version of the generator; a cache built by another version is rebuilt."""
PROVINCE_EPSG = 32647
"""CRS of the generated frames and rasters (UTM 47N)."""
RES = 100.0
"""Cell size of the generated rasters and road grid, metres."""
GEN_MARGIN_M = 3000.0
"""Margin of each county's generated frame around its bbox."""
ROAD_CLIP_M = 500.0
"""A county's generated roads are kept within this distance of its boundary."""
FEATHER_M = 1500.0
"""DEMs of neighbouring counties are blended over this distance on each side of a border."""
LATTICE_PAD_M = 2000.0
"""The rasters cover every county's analysis grid (its UTM zone, 10 km margin) plus this."""
_ANALYSIS_MARGIN_M = 10000.0
PEOPLE_PER_COMMITTEE = 3000.0
"""People per committee where no seat population is known (Yunnan: 47.2 M / 14,888)."""
EXTRA_TRACKS = 2.0
"""Dead-end tracks per rural committee beyond the demo's rules."""
_MAJOR = frozenset({"trunk", "primary", "secondary", "tertiary"})
_ID_STRIDE = 10_000_000  # OSM node id = (county position + 1) * stride + local id + 1
_LINK_STEP_M = 100.0

#: (name suffix, type, capacity ranges) of the facilities every county gets, near its seat
COUNTY_FACILITIES: tuple[tuple[str, str, dict[str, tuple[int, int]]], ...] = (
    ("人民医院", "医院", {"beds": (250, 700), "doctors": (80, 260)}),
    ("中医医院", "医院", {"beds": (80, 250), "doctors": (30, 90)}),
    ("妇幼保健院", "医院", {"beds": (30, 120), "doctors": (15, 50)}),
    ("社会福利院", "养老院", {"beds": (60, 200)}),
    ("综合托育服务中心", "托育中心", {"places": (60, 180)}),
    ("职业高级中学", "职业学校", {}),
    ("图书馆", "图书馆", {}),
    ("文化馆", "文化馆", {}),
    ("博物馆", "博物馆", {}),
    ("影剧院", "剧院", {}),
    ("体育场", "体育场", {"area_m2": (12000, 30000)}),
    ("人民广场足球场", "足球场", {"area_m2": (5000, 7500)}),
)
#: (name suffix, type, capacity ranges) of the facilities every township gets, near its
#: centre; the health centre of a 街道 is a 社区卫生服务中心
TOWNSHIP_FACILITIES: tuple[tuple[str, str, dict[str, tuple[int, int]]], ...] = (
    ("卫生院", "卫生院", {"beds": (10, 60), "doctors": (4, 20)}),
    ("中心小学", "小学", {}),
    ("中学", "初中", {}),
    ("中心幼儿园", "幼儿园", {"places": (90, 300)}),
    ("综合文化站", "文化站", {}),
    ("敬老院", "敬老院", {"beds": (20, 80)}),
    ("健身广场", "健身广场", {"area_m2": (800, 3000)}),
)
#: type -> (share of the urban committees, share of the rural ones) of each township that
#: get one (name suffix, capacity ranges)
COMMITTEE_SHARES: dict[str, tuple[float, float, str, dict[str, tuple[int, int]]]] = {
    "社区卫生服务站": (1.0, 0.0, "社区卫生服务站", {"beds": (0, 0), "doctors": (2, 6)}),
    "卫生室": (0.0, 1.0, "村卫生室", {"beds": (0, 0), "doctors": (1, 3)}),
    "综合文化服务中心": (0.85, 0.85, "综合文化服务中心", {}),
    "健身广场": (0.3, 0.3, "健身广场", {"area_m2": (300, 1500)}),
    "小学": (0.0, 0.4, "完全小学", {}),
    "幼儿园": (0.2, 0.2, "幼儿园", {"places": (30, 120)}),
    "日间照料中心": (0.5, 0.1, "日间照料中心", {}),
}


def share_count(share: float, n: int) -> int:
    """Committees of ``n`` that get a facility of ``share``: ``floor(share * n + 0.5)``."""
    return math.floor(share * n + 0.5)


# ---------------------------------------------------------------------------- real data
@dataclass(frozen=True)
class RealSources:
    """The real files a province case is built from."""

    root: Path
    counties: Path
    county_codes: Path
    townships: Path
    villages: Path
    seats: Path
    facilities: Path

    def files(self) -> list[Path]:
        """Every file, for checks and cache keys."""
        return [
            self.counties,
            self.county_codes,
            self.townships,
            self.villages,
            self.seats,
            self.facilities,
        ]


def real_sources(root: str | Path) -> RealSources:
    """The real files under ``root`` (``../shared/data/real``).

    Raises
    ------
    DataSourceError
        ``root`` or one of its files is missing; the message names it.
    """
    base = Path(root).expanduser().absolute()
    src = RealSources(
        root=base,
        counties=base / "admin-yunnan-cnmaps-amap" / "yunnan_counties_wgs84_from_gcj02.geojson",
        county_codes=base / "admin-codes-yunnan-nbs2023" / "yunnan_counties_nbs2023.csv",
        townships=base / "admin-codes-yunnan-nbs2023" / "yunnan_townships_nbs2023.csv",
        villages=base / "admin-codes-yunnan-nbs2023" / "yunnan_villages_nbs2023.csv",
        seats=base / "geonames-yunnan-places" / "yunnan_geonames_cities500.geojson",
        facilities=base / "osm-pois-yunnan-geopi" / "yunnan_osm_facilities.geojson",
    )
    if not base.is_dir():
        msg = (
            f"real data folder {base} not found: the province case is built from the real "
            "Yunnan files in ../shared/data/real beside the repository; fix: pass its path"
        )
        raise DataSourceError(msg)
    missing = [p for p in src.files() if not p.is_file()]
    if missing:
        names = ", ".join(str(p.relative_to(base)) for p in missing)
        msg = f"real data folder {base} lacks {names}; fix: restore the shared data folder"
        raise DataSourceError(msg)
    return src


def _stem(name: str) -> str:
    return str(name)[:2]


def load_counties(src: RealSources) -> Any:
    """The real county polygons with their NBS codes, sorted by code.

    Returns
    -------
    geopandas.GeoDataFrame
        ``adcode`` (the boundary file's), ``nbs_code`` (the statistics table's),
        ``county``, ``prefecture`` and the polygon (EPSG:4326).

    Raises
    ------
    ValidationError
        A county of the NBS table matches no polygon (by code, else by name within its
        prefecture), or matches several.
    """
    import geopandas as gpd

    gdf = gpd.read_file(src.counties)
    for col in ("adcode", "district", "city"):
        if col not in gdf.columns:
            msg = f"{src.counties}: column '{col}' not found; columns are {list(gdf.columns)}"
            raise ValidationError(msg)
    gdf = gdf.rename(columns={"district": "county", "city": "prefecture"})
    gdf["adcode"] = gdf["adcode"].astype(str)
    nbs = pd.read_csv(src.county_codes, dtype=str)
    by_code = set(gdf["adcode"])
    nbs_of: dict[str, str] = {}
    free = gdf[~gdf["adcode"].isin(set(nbs["code"]))]
    for code, name in zip(nbs["code"], nbs["name"], strict=True):
        if code in by_code:
            nbs_of[code] = code
            continue
        cand = free[
            (free["adcode"].str[:4] == code[:4]) & (free["county"].map(_stem) == _stem(name))
        ]
        if len(cand) != 1:
            msg = (
                f"{src.county_codes}: county {code} {name} matches {len(cand)} polygons of "
                f"{src.counties} (by code, then by name in prefecture {code[:4]}); fix: check "
                "both files are of the same year"
            )
            raise ValidationError(msg)
        nbs_of[str(cand["adcode"].iloc[0])] = code
    gdf["nbs_code"] = gdf["adcode"].map(nbs_of)
    gdf = gdf[gdf["nbs_code"].notna()].sort_values("adcode").reset_index(drop=True)
    return gdf[["adcode", "nbs_code", "county", "prefecture", "geometry"]].set_crs(
        "EPSG:4326", allow_override=True
    )


def select_counties(
    counties: Any, which: str | int | Sequence[str] | None = None, prefecture: str | None = None
) -> list[str]:
    """Adcodes of the counties to build, in code order.

    Parameters
    ----------
    counties : GeoDataFrame
        :func:`load_counties`.
    which : int, str or sequence of str, optional
        ``K`` (an int or a string of digits shorter than 4): the first K counties (by code,
        so neighbours come together); else names or adcodes, comma-separated or a list.
        Default every county.
    prefecture : str, optional
        A prefecture's name (or its start, e.g. ``大理``) or 4-digit code: its counties.

    Raises
    ------
    ValidationError
        An unknown or ambiguous county or prefecture, or K < 1.
    """
    frame = counties
    if prefecture:
        p = str(prefecture).strip()
        names = sorted(set(frame["prefecture"]))
        hit = [n for n in names if n == p] or [n for n in names if str(n).startswith(p)]
        if not hit and p.isdigit():
            hit = sorted(set(frame.loc[frame["adcode"].str[:4] == p, "prefecture"]))
        if len(hit) != 1:
            msg = f"prefecture {p!r} matches {len(hit)} prefectures; use one of: " + ", ".join(
                names
            )
            raise ValidationError(msg)
        frame = frame[frame["prefecture"] == hit[0]]
    codes = list(frame["adcode"])
    if which is None or (isinstance(which, str) and not which.strip()):
        return codes
    if isinstance(which, int) or (
        isinstance(which, str) and which.strip().isdigit() and len(which.strip()) < 4
    ):
        k = int(which)
        if k < 1:
            msg = f"--counties {k}: give a number of counties >= 1, or their names"
            raise ValidationError(msg)
        return codes[:k]
    items = [s.strip() for s in which.split(",")] if isinstance(which, str) else list(which)
    out: list[str] = []
    for item in items:
        hit = frame[(frame["adcode"] == item) | (frame["county"] == item)]
        if len(hit) != 1:
            close = [c for c in frame["county"] if str(item)[:2] in str(c)][:8]
            msg = (
                f"county {item!r} is not one county of the selection"
                + (f" (did you mean {', '.join(close)}?)" if close else "")
                + "; give names as in the boundary file or 6-digit codes"
            )
            raise ValidationError(msg)
        out.append(str(hit["adcode"].iloc[0]))
    return sorted(set(out))


# ------------------------------------------------------------------------- one county
def _county_seed(seed: int, adcode: str) -> int:
    return int(np.random.SeedSequence([int(seed), int(adcode)]).generate_state(1)[0])


def _complete(folder: Path, marker: str) -> bool:
    try:
        return (folder / ".complete").read_text(encoding="utf-8").strip() == marker
    except OSError:
        return False


def _atomic_dir(final: Path, build: Callable[[Path], None], marker: str) -> None:
    """Build into a temporary sibling of ``final`` and rename it into place when complete."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        build(tmp)
        (tmp / ".complete").write_text(marker + "\n", encoding="utf-8")
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.replace(tmp, final)
        except OSError:
            if not _complete(final, marker):  # another process's half-written folder
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _jitter_inside(
    rng: np.random.Generator, x: float, y: float, radius: float, prepared: Any
) -> tuple[float, float]:
    """A point within ``radius`` of (x, y) inside the prepared polygon, else (x, y) itself."""
    import shapely

    for _ in range(6):
        ang, r = rng.uniform(0, 2 * math.pi), radius * math.sqrt(rng.uniform(0.05, 1.0))
        px, py = x + r * math.cos(ang), y + r * math.sin(ang)
        if shapely.contains_xy(prepared, px, py):
            return px, py
    return x, y


def _cap(rng: np.random.Generator, spec: dict[str, tuple[int, int]]) -> dict[str, int]:
    return {k: int(rng.integers(lo, hi + 1)) for k, (lo, hi) in spec.items()}


def county_facilities(
    rng: np.random.Generator,
    county: str,
    villages: pd.DataFrame,
    townships: Sequence[dict[str, Any]],
    area_m: Any,
) -> list[dict[str, Any]]:
    """The generated facilities of one county by the density rules (module docstring).

    Parameters
    ----------
    rng : numpy.random.Generator
    county : str
        County name (facility names start with it).
    villages : DataFrame
        ``code, name, township_code, x, y, setting, kind`` (metric coordinates).
    townships : sequence of dict
        ``code, name, x, y`` of each township centre.
    area_m : shapely geometry
        The county in the same metric CRS: every facility lies inside it.

    Returns
    -------
    list of dict
        ``name, type, level, x, y`` and capacity keys.
    """
    import shapely

    shapely.prepare(area_m)
    rows: list[dict[str, Any]] = []

    def add(x: float, y: float, radius: float, name: str, ftype: str, level: str, cap: Any) -> None:
        px, py = _jitter_inside(rng, x, y, radius, area_m)
        rows.append({"name": name, "type": ftype, "level": level, "x": px, "y": py, **cap})

    seat = villages[villages["kind"] == "seat"].iloc[0]
    for suffix, ftype, cap in COUNTY_FACILITIES:
        add(seat["x"], seat["y"], 800.0, f"{county}{suffix}", ftype, "county", _cap(rng, cap))
    for t in townships:
        short = str(t["name"])
        is_street = short.endswith(("街道", "街道办事处"))
        for suffix, ftype, cap in TOWNSHIP_FACILITIES:
            kind, sfx = ftype, suffix
            if ftype == "卫生院" and is_street:
                kind, sfx = "社区卫生服务中心", "社区卫生服务中心"
            add(t["x"], t["y"], 300.0, f"{short}{sfx}", kind, "township", _cap(rng, cap))
    for _, members in villages.groupby("township_code", sort=True):
        urban = members[members["setting"] == "urban"]
        rural = members[members["setting"] != "urban"]
        for ftype, (s_urban, s_rural, suffix, cap) in COMMITTEE_SHARES.items():
            for part, share in ((urban, s_urban), (rural, s_rural)):
                k = share_count(share, len(part))
                if k == 0:
                    continue
                pick = rng.choice(len(part), size=k, replace=False)
                for i in np.sort(pick):
                    v = part.iloc[int(i)]
                    name = str(v["name"]).removesuffix("村民委员会").removesuffix("居民委员会")
                    add(
                        v["x"], v["y"], 120.0, f"{name}{suffix}", ftype, "committee", _cap(rng, cap)
                    )
    return rows


def _split_runs(ok: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of the runs of True in ``ok`` that are at least 2 long."""
    d = np.diff(np.r_[0, ok.astype(np.int8), 0])
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True) if b - a >= 2]


def _link(ax: float, ay: float, bx: float, by: float) -> tuple[np.ndarray, np.ndarray]:
    """Inner points of a straight link, at most ``_LINK_STEP_M`` apart."""
    steps = max(1, math.ceil(math.hypot(bx - ax, by - ay) / _LINK_STEP_M))
    t = np.arange(1, steps) / steps
    return ax + t * (bx - ax), ay + t * (by - ay)


@dataclass
class _RoadParts:
    """Roads as arrays: node coordinates, ways as runs of node indexes, a tag per way."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    major: list[bool] = field(default_factory=list)
    ways: list[np.ndarray] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)

    def add_link(self, a: int, b: int, tags: dict[str, str]) -> None:
        ix, iy = _link(self.x[a], self.y[a], self.x[b], self.y[b])
        first = len(self.x)
        self.x += ix.tolist()
        self.y += iy.tolist()
        self.major += [tags.get("highway") in _MAJOR] * ix.size
        self.ways.append(np.r_[a, np.arange(first, first + ix.size), b].astype(np.int64))
        self.tags.append(dict(tags))


def _clip_roads(rd: Any, nx: np.ndarray, ny: np.ndarray, keep: Any) -> _RoadParts:
    """The ways inside ``keep``, split where they leave it; pieces joined to the main network."""
    import shapely
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    used = np.unique(np.concatenate([np.asarray(w.nodes, dtype=np.int64) for w in rd.ways]))
    inside = shapely.contains_xy(keep, nx[used], ny[used])
    pos = np.full(int(used.max()) + 1, -1, dtype=np.int64)
    pos[used] = np.arange(used.size)
    new = np.full(used.size, -1, dtype=np.int64)
    parts = _RoadParts()
    for w in rd.ways:
        ids = pos[np.asarray(w.nodes, dtype=np.int64)]
        for a, b in _split_runs(inside[ids]):
            run = ids[a:b]
            fresh = new[run] < 0
            if fresh.any():
                k = np.flatnonzero(fresh)
                uniq = np.unique(run[k])
                new[uniq] = len(parts.x) + np.arange(uniq.size)
                sel = used[uniq]
                parts.x += nx[sel].tolist()
                parts.y += ny[sel].tolist()
                parts.major += [False] * uniq.size
            idx = new[run]
            parts.ways.append(idx)
            parts.tags.append(dict(w.tags))
            if w.tags.get("highway") in _MAJOR:
                for i in idx.tolist():
                    parts.major[i] = True
    n = len(parts.x)
    if n == 0:
        return parts
    src = np.concatenate([w[:-1] for w in parts.ways])
    dst = np.concatenate([w[1:] for w in parts.ways])
    graph = coo_matrix((np.ones(src.size), (src, dst)), shape=(n, n))
    n_comp, label = connected_components(graph, directed=False)
    if n_comp > 1:
        main = int(np.argmax(np.bincount(label)))
        xy = np.c_[parts.x, parts.y]
        main_idx = np.flatnonzero(label == main)
        tree = cKDTree(xy[main_idx])
        for c in range(n_comp):
            if c == main:
                continue
            mine = np.flatnonzero(label == c)
            dist, nearest = tree.query(xy[mine])
            best = int(np.argmin(dist))
            parts.add_link(
                int(mine[best]), int(main_idx[nearest[best]]), {"highway": "unclassified"}
            )
    return parts


def _build_county(task: dict[str, Any]) -> dict[str, Any]:
    """Generate one county into ``task['folder']`` (run in a worker process)."""
    import resource

    import shapely
    from pyproj import Transformer

    from ynps_geo.datasets.region import build_region

    t0 = time.perf_counter()
    geom = shapely.from_wkb(task["geom_wkb"])
    layers = build_region(
        geom,
        seats=task["seats"],
        villages=task["villages"],
        seed=_county_seed(task["seed"], task["adcode"]),
        margin_m=GEN_MARGIN_M,
        epsg=PROVINCE_EPSG,
        terrain_res=RES,
        population_per_committee=PEOPLE_PER_COMMITTEE,
        connect_centres=True,
        extra_tracks=EXTRA_TRACKS,
    )
    frame, area_m = layers.frame, layers.area_m
    back = Transformer.from_crs(f"EPSG:{PROVINCE_EPSG}", "EPSG:4326", always_xy=True)

    # rasters cropped to the county's bbox and the generation margin
    minx, miny, maxx, maxy = area_m.bounds
    n = layers.population.shape[0]
    c0 = max(0, math.floor((minx - GEN_MARGIN_M - frame.x_min) / RES))
    c1 = min(n, math.ceil((maxx + GEN_MARGIN_M - frame.x_min) / RES))
    r0 = max(0, math.floor((frame.y_max - maxy - GEN_MARGIN_M) / RES))
    r1 = min(n, math.ceil((frame.y_max - miny + GEN_MARGIN_M) / RES))
    grid: dict[str, Any] = {
        "dem": layers.dem[r0:r1, c0:c1].astype(np.float32),
        "population": layers.population[r0:r1, c0:c1],
        "inside": layers.inside[r0:r1, c0:c1],
        "x0": np.float64(frame.x_min + c0 * RES),
        "y0": np.float64(frame.y_max - r0 * RES),
    }

    # roads: clipped, joined, in lon/lat
    parts = _clip_roads(layers.roads, layers.node_x, layers.node_y, area_m.buffer(ROAD_CLIP_M))
    lon, lat = back.transform(np.asarray(parts.x), np.asarray(parts.y))
    lengths = np.array([w.size for w in parts.ways], dtype=np.int64)
    tag_keys = sorted({json.dumps(t, ensure_ascii=False, sort_keys=True) for t in parts.tags})
    tag_pos = {k: i for i, k in enumerate(tag_keys)}
    roads: dict[str, Any] = {
        "x": np.asarray(parts.x),
        "y": np.asarray(parts.y),
        "lon": np.asarray(lon),
        "lat": np.asarray(lat),
        "major": np.asarray(parts.major, dtype=bool),
        "way_len": lengths,
        "refs": np.concatenate(parts.ways) if parts.ways else np.zeros(0, np.int64),
        "way_tag": np.array(
            [tag_pos[json.dumps(t, ensure_ascii=False, sort_keys=True)] for t in parts.tags],
            dtype=np.int64,
        ),
    }

    # villages, townships, facilities
    vil = layers.villages.copy()
    vlon, vlat = back.transform(vil["x"].to_numpy(), vil["y"].to_numpy())
    vil["lon"], vil["lat"] = np.round(vlon, 7), np.round(vlat, 7)
    vil["county"], vil["adcode"] = task["county"], task["adcode"]
    frng = np.random.default_rng(_county_seed(task["seed"] + 1, task["adcode"]))
    fac = county_facilities(frng, task["county"], vil, layers.townships, area_m)
    flon, flat = back.transform(
        np.array([f["x"] for f in fac], dtype=float), np.array([f["y"] for f in fac], dtype=float)
    )
    towns = []
    for t in layers.townships:
        g = shapely.transform(
            t["geometry"], lambda xy: np.round(np.c_[back.transform(xy[:, 0], xy[:, 1])], 7)
        )
        towns.append(
            {
                "type": "Feature",
                "properties": {
                    "code": t["code"],
                    "name": t["name"],
                    "seat": t["seat"],
                    "population": t["population"],
                    "county": task["county"],
                    "adcode": task["adcode"],
                    "generated": True,
                },
                "geometry": shapely.geometry.mapping(g),
            }
        )
    seconds = time.perf_counter() - t0

    def write(tmp: Path) -> None:
        np.savez_compressed(tmp / "grid.npz", **grid)
        np.savez(tmp / "roads.npz", **roads)
        (tmp / "road_tags.json").write_text(
            json.dumps(tag_keys, ensure_ascii=False), encoding="utf-8"
        )
        vil.drop(columns=["x", "y"]).to_csv(tmp / "villages.csv", index=False)
        with (tmp / "facilities.csv").open("w", encoding="utf-8", newline="") as fh:
            wr = csv.writer(fh)
            wr.writerow(["fid", "name", "type", "level", "lon", "lat", *_CAPS])
            for k, (f, lo, la) in enumerate(zip(fac, flon.tolist(), flat.tolist(), strict=True)):
                caps = [f.get(c, "") for c in _CAPS]
                wr.writerow(
                    [
                        f"G{task['adcode']}{k + 1:05d}",
                        f["name"],
                        f["type"],
                        f["level"],
                        f"{lo:.7f}",
                        f"{la:.7f}",
                        *caps,
                    ]
                )
        doc = {"type": "FeatureCollection", "name": "townships", "features": towns}
        (tmp / "townships.geojson").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
        meta = {
            "adcode": task["adcode"],
            "county": task["county"],
            "seconds": seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "frame_cells": int(n * n),
            "villages": len(vil),
            "townships": len(towns),
            "facilities": len(fac),
            "road_nodes": len(parts.x),
            "road_ways": len(parts.ways),
            "population": int(vil["pop"].sum()),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    _atomic_dir(Path(task["folder"]), write, task["marker"])
    return json.loads((Path(task["folder"]) / "meta.json").read_text(encoding="utf-8"))


_CAPS = ("beds", "doctors", "places", "area_m2")


# --------------------------------------------------------------------------- the case
DEFAULT_SEED = 532901


@dataclass
class ProvinceCase:
    """An assembled province case.

    Attributes
    ----------
    config : Path
        Its ``config.yaml``.
    folder : Path
        The case folder (in the cache).
    adcodes : list of str
        The counties it holds.
    stats : dict
        Counts: counties, villages, townships, facilities (generated by type, real OSM),
        road nodes and ways, links between counties, raster shape, population.
    build : dict
        How it was made in this call: ``reused`` (the whole case came from the cache),
        ``counties_built`` and ``counties_reused``, ``generate_s`` (wall time generating
        counties), ``generate_cpu_s`` (the sum of the counties' own times, from when each
        was built), ``assemble_s``, ``total_s``, ``builder_peak_rss_mb`` (largest county
        builder).
    """

    config: Path
    folder: Path
    adcodes: list[str]
    stats: dict[str, Any]
    build: dict[str, Any]


def province_root(seed: int = DEFAULT_SEED) -> Path:
    """The cache folder of the province cases of ``seed``."""
    from ynps_geo.io.cache import cache_root

    return cache_root() / "province" / f"v{PROVINCE_VERSION}-seed{int(seed)}"


def _tasks(
    gdf: Any, adcodes: Sequence[str], src: RealSources, seed: int, counties_dir: Path
) -> list[dict[str, Any]]:
    import geopandas as gpd
    import shapely

    vil = pd.read_csv(src.villages, dtype=str)
    towns = pd.read_csv(src.townships, dtype=str)
    tname = dict(zip(towns["code"], towns["name"], strict=True))
    seats = gpd.read_file(src.seats)
    seats_m = seats.to_crs(PROVINCE_EPSG)
    sub = gdf[gdf["adcode"].isin(set(adcodes))]
    geoms_m = sub.to_crs(PROVINCE_EPSG).geometry.to_numpy()
    out = []
    for (_, row), geom_m in zip(sub.iterrows(), geoms_m, strict=True):
        mine = vil[vil["areaCode"] == row["nbs_code"]]
        if mine.empty:
            msg = (
                f"{src.villages}: no village committee of county {row['nbs_code']} "
                f"{row['county']}; fix: check the NBS table is the full province"
            )
            raise ValidationError(msg)
        villages = pd.DataFrame(
            {
                "code": mine["code"].to_numpy(),
                "name": mine["name"].to_numpy(),
                "township_code": mine["streetCode"].to_numpy(),
                "township": mine["streetCode"].map(tname).fillna(mine["streetCode"]).to_numpy(),
            }
        )
        inner = geom_m.buffer(-300.0)
        ok = shapely.contains(inner, seats_m.geometry.to_numpy())
        s = seats[ok]
        seat_df = pd.DataFrame(
            {
                "name": s["name"].astype(str).to_numpy(),
                "name_zh": s.get("name_zh", pd.Series("", index=s.index)).fillna("").to_numpy(),
                "alternatenames": s.get("alternatenames", pd.Series("", index=s.index))
                .fillna("")
                .to_numpy(),
                "population": pd.to_numeric(s["population"], errors="coerce").fillna(0).to_numpy(),
                "lon": s.geometry.x.to_numpy(),
                "lat": s.geometry.y.to_numpy(),
            }
        )
        bx0, by0, bx1, by1 = geom_m.bounds
        out.append(
            {
                "adcode": row["adcode"],
                "county": row["county"],
                "geom_wkb": shapely.to_wkb(row["geometry"]),
                "villages": villages,
                "seats": seat_df,
                "seed": int(seed),
                "folder": str(counties_dir / row["adcode"]),
                "marker": f"{PROVINCE_VERSION}:{int(seed)}",
                "cells": (max(bx1 - bx0, by1 - by0) + 2 * GEN_MARGIN_M) ** 2 / RES**2,
            }
        )
    return out


def _run_tasks(
    tasks: list[dict[str, Any]], jobs: int, say: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Build the counties (largest first; in ``jobs`` worker processes when > 1)."""
    tasks = sorted(tasks, key=lambda t: -t["cells"])
    metas: list[dict[str, Any]] = []
    if jobs <= 1 or len(tasks) < 2:
        for i, t in enumerate(tasks, 1):
            m = _build_county(t)
            metas.append(m)
            say(_built_line(i, len(tasks), m))
        return metas
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futs = [pool.submit(_build_county, t) for t in tasks]
        for i, fut in enumerate(as_completed(futs), 1):
            m = fut.result()
            metas.append(m)
            say(_built_line(i, len(tasks), m))
    return metas


def _built_line(i: int, n: int, m: dict[str, Any]) -> str:
    return (
        f"county {i}/{n} {m['adcode']} {m['county']}: {m['seconds']:.1f} s, "
        f"{m['villages']} committees, {m['facilities']} facilities, {m['road_nodes']:,} road "
        f"nodes, builder peak {m['peak_rss_mb']:.0f} MB"
    )


def province_case(
    shared_real: str | Path,
    *,
    counties: str | int | Sequence[str] | None = None,
    prefecture: str | None = None,
    seed: int = DEFAULT_SEED,
    jobs: int = 1,
    rebuild: bool = False,
    root: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> ProvinceCase:
    """Build (or reuse) the province case, or the part of it selected.

    Parameters
    ----------
    shared_real : path
        The real data folder (``../shared/data/real``).
    counties, prefecture
        A part of the province (:func:`select_counties`); default all 129 counties.
    seed : int
        Seed of every generated layer (each county draws from ``(seed, adcode)``).
    jobs : int
        Counties generated at once, in worker processes (each holds one county's frame:
        up to ~4 GB for 香格里拉市, 11,400 km2).
    rebuild : bool
        Regenerate the selected counties and the case even when cached.
    root : path, optional
        Cache folder (default :func:`province_root`).
    progress : callable, optional
        Called with a line of text per step.

    Returns
    -------
    ProvinceCase

    Raises
    ------
    DataSourceError
        The real data folder or one of its files is missing.
    ValidationError
        An unknown county or prefecture.
    """
    say = progress or (lambda m: log.info("%s", m))
    t0 = time.perf_counter()
    src = real_sources(shared_real)
    gdf = load_counties(src)
    adcodes = select_counties(gdf, counties, prefecture)
    base = Path(root) if root is not None else province_root(seed)
    every = list(gdf["adcode"])
    name = (
        "all"
        if adcodes == every
        else "sel-" + hashlib.sha1(",".join(adcodes).encode()).hexdigest()[:12]
    )
    case_dir = base / "cases" / name
    marker = f"{PROVINCE_VERSION}:{int(seed)}:{','.join(adcodes)}"
    if not rebuild and _complete(case_dir, marker):
        info = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
        build = {**info["build"], "reused": True, "total_s": time.perf_counter() - t0}
        say(f"province case reused from {case_dir}")
        return ProvinceCase(case_dir / "config.yaml", case_dir, adcodes, info["stats"], build)

    counties_dir = base / "counties"
    county_marker = f"{PROVINCE_VERSION}:{int(seed)}"
    todo = [a for a in adcodes if rebuild or not _complete(counties_dir / a, county_marker)]
    say(
        f"province case {name}: {len(adcodes)} counties, {len(todo)} to generate "
        f"({len(adcodes) - len(todo)} cached) in {base}"
    )
    t1 = time.perf_counter()
    tasks = _tasks(gdf, todo, src, seed, counties_dir) if todo else []
    _run_tasks(tasks, max(1, int(jobs)), say)
    generate_s = time.perf_counter() - t1
    metas = [
        json.loads((counties_dir / a / "meta.json").read_text(encoding="utf-8")) for a in adcodes
    ]
    t2 = time.perf_counter()
    holder: dict[str, Any] = {}

    def assemble(tmp: Path) -> None:
        holder["stats"] = _assemble(tmp, gdf, adcodes, counties_dir, src, seed, say)

    _atomic_dir(case_dir, assemble, marker)
    assemble_s = time.perf_counter() - t2
    build = {
        "reused": False,
        "counties_built": len(todo),
        "counties_reused": len(adcodes) - len(todo),
        "generate_s": generate_s,
        "generate_cpu_s": float(sum(m["seconds"] for m in metas)),
        "assemble_s": assemble_s,
        "total_s": time.perf_counter() - t0,
        "builder_peak_rss_mb": float(max(m["peak_rss_mb"] for m in metas)),
        "assemble_peak_rss_mb": holder["stats"].pop("assemble_peak_rss_mb"),
    }
    info = {"stats": holder["stats"], "build": build}
    (case_dir / "case.json").write_text(json.dumps(info, ensure_ascii=False, indent=1), "utf-8")
    say(f"province case {name} ready in {build['total_s']:.1f} s: {case_dir}")
    return ProvinceCase(case_dir / "config.yaml", case_dir, adcodes, holder["stats"], build)


# ------------------------------------------------------------------------- assembling
def _assemble(
    out: Path,
    gdf: Any,
    adcodes: list[str],
    counties_dir: Path,
    src: RealSources,
    seed: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Write the case files of the selected counties into ``out``; return its counts."""
    import resource

    import geopandas as gpd

    sub = gdf[gdf["adcode"].isin(set(adcodes))].reset_index(drop=True)
    sub.to_file(out / "counties.geojson", driver="GeoJSON", engine="pyogrio")
    geoms_m = sub.to_crs(PROVINCE_EPSG).geometry.to_numpy()
    stats: dict[str, Any] = {"counties": len(sub)}

    t = time.perf_counter()
    stats.update(_mosaic(out, geoms_m, adcodes, counties_dir))
    say(
        f"rasters {stats['raster_shape'][0]} x {stats['raster_shape'][1]} cells in "
        f"{time.perf_counter() - t:.1f} s"
    )

    t = time.perf_counter()
    position = {a: i for i, a in enumerate(gdf["adcode"])}
    stats.update(_roads_file(out / "roads.osm.pbf", adcodes, position, geoms_m, counties_dir))
    say(f"roads {stats['road_nodes']:,} nodes in {time.perf_counter() - t:.1f} s")

    vil = pd.concat(
        [
            pd.read_csv(
                counties_dir / a / "villages.csv",
                dtype={"code": str, "township_code": str, "adcode": str},
            )
            for a in adcodes
        ],
        ignore_index=True,
    )
    vil.to_csv(out / "villages.csv", index=False)
    fac = pd.concat(
        [pd.read_csv(counties_dir / a / "facilities.csv", dtype={"fid": str}) for a in adcodes],
        ignore_index=True,
    )
    fac.to_csv(out / "facilities.csv", index=False)
    feats: list[Any] = []
    for a in adcodes:
        doc = json.loads((counties_dir / a / "townships.geojson").read_text(encoding="utf-8"))
        feats += doc["features"]
    (out / "townships.geojson").write_text(
        json.dumps(
            {"type": "FeatureCollection", "name": "townships", "features": feats},
            ensure_ascii=False,
        ),
        "utf-8",
    )
    osm = gpd.read_file(src.facilities)
    area = sub.to_crs(PROVINCE_EPSG).geometry.union_all().buffer(10000.0)
    keep = osm.to_crs(PROVINCE_EPSG).within(area).to_numpy()
    osm = osm[keep].copy()
    # osm_id repeats where one OSM object has two classes (school and kindergarten...)
    osm.insert(0, "fid", "osm" + osm["osm_id"].astype(str) + "-" + osm["fclass"].astype(str))
    osm.to_file(out / "osm_facilities.geojson", driver="GeoJSON", engine="pyogrio")
    (out / "config.yaml").write_text(_config_text(src, seed, len(sub)), encoding="utf-8")
    stats.update(
        {
            "villages": len(vil),
            "villages_urban": int((vil["setting"] == "urban").sum()),
            "townships": len(feats),
            "population_villages": int(vil["pop"].sum()),
            "facilities_generated": len(fac),
            "facilities_osm": int(keep.sum()),
            "facilities_by_type": {str(k): int(v) for k, v in fac["type"].value_counts().items()},
            "assemble_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )
    return stats


def _config_text(src: RealSources, seed: int, n: int) -> str:
    return f"""# Province benchmark case built by ynps_geo.datasets.province (version {PROVINCE_VERSION}, seed {seed}).
# REAL: county boundaries (counties.geojson), village committee codes and names, township
# codes and names, GeoNames seats and the OSM facilities (osm_facilities.geojson), from
#   {src.root}
# GENERATED: village positions and populations, roads, DEM, population raster, townships'
# territories and the facilities of facilities.csv. The figures test the tool; they are not
# a finding about Yunnan.
name: 云南省 province benchmark ({n} counties; generated roads, terrain, people, facilities)
boundary: {{path: counties.geojson, crs: wgs84, name_field: county, code_field: adcode,
           prefecture_field: prefecture}}
villages: {{path: villages.csv, crs: wgs84, x: lon, y: lat, id: code, name: name,
           population: pop, setting: setting, township: township}}
facilities:
  - {{path: facilities.csv, crs: wgs84, x: lon, y: lat, id: fid, name: name, category_field: type}}
  - {{path: osm_facilities.geojson, id: fid, name: name, osm_tags: true}}
roads: {{path: roads.osm.pbf}}
dem: {{path: dem.tif}}
population: {{path: population.tif}}
resolution_m: {RES:g}
"""  # noqa: E501


def _lattice(geoms_m: Sequence[Any]) -> tuple[float, float, int, int]:
    """The 100 m lattice covering every county's analysis grid, plus :data:`LATTICE_PAD_M`.

    A county is analysed in its own UTM zone with a 10 km margin; that grid's rectangle,
    seen in :data:`PROVINCE_EPSG`, is turned by the meridian convergence (up to 3 degrees at
    106 E), so the lattice is grown from the grids' corners, not from the counties' bounds.
    """
    import shapely
    from pyproj import Transformer

    from ynps_geo._geo import utm_epsg

    to_wgs = Transformer.from_crs(f"EPSG:{PROVINCE_EPSG}", "EPSG:4326", always_xy=True)
    xs: list[float] = []
    ys: list[float] = []
    for g in geoms_m:
        c = g.centroid
        lon, lat = to_wgs.transform(c.x, c.y)
        epsg = utm_epsg(float(lon), float(lat))
        if epsg == PROVINCE_EPSG:
            b = g.buffer(_ANALYSIS_MARGIN_M).bounds
            xs += [b[0], b[2]]
            ys += [b[1], b[3]]
            continue
        there = Transformer.from_crs(f"EPSG:{PROVINCE_EPSG}", f"EPSG:{epsg}", always_xy=True)
        back = Transformer.from_crs(f"EPSG:{epsg}", f"EPSG:{PROVINCE_EPSG}", always_xy=True)
        xy = shapely.get_coordinates(g)
        gx, gy = there.transform(xy[:, 0], xy[:, 1])
        x0 = float(np.min(gx)) - _ANALYSIS_MARGIN_M
        x1 = float(np.max(gx)) + _ANALYSIS_MARGIN_M
        y0 = float(np.min(gy)) - _ANALYSIS_MARGIN_M
        y1 = float(np.max(gy)) + _ANALYSIS_MARGIN_M
        t = np.linspace(0.0, 1.0, 33)
        rx = np.r_[x0 + t * (x1 - x0), np.full(33, x1), x1 - t * (x1 - x0), np.full(33, x0)]
        ry = np.r_[np.full(33, y0), y0 + t * (y1 - y0), np.full(33, y1), y1 - t * (y1 - y0)]
        px, py = back.transform(rx, ry)
        xs += [float(np.min(px)), float(np.max(px))]
        ys += [float(np.min(py)), float(np.max(py))]
    minx, maxx, miny, maxy = min(xs), max(xs), min(ys), max(ys)
    x0 = math.floor((minx - LATTICE_PAD_M) / RES) * RES
    y0 = math.ceil((maxy + LATTICE_PAD_M) / RES) * RES
    width = math.ceil((maxx + LATTICE_PAD_M - x0) / RES)
    height = math.ceil((y0 - (miny - LATTICE_PAD_M)) / RES)
    return float(x0), float(y0), int(width), int(height)


def _mosaic(
    out: Path, geoms_m: Sequence[Any], adcodes: Sequence[str], counties_dir: Path
) -> dict[str, Any]:
    """``dem.tif`` and ``population.tif`` of the selected counties (see the module docstring)."""
    import rasterio
    from affine import Affine
    from rasterio.features import rasterize
    from scipy import ndimage

    from ynps_geo.datasets.demo import DEM_NODATA, POP_NODATA

    x0, y0, width, height = _lattice(geoms_m)
    transform = Affine(RES, 0.0, x0, 0.0, -RES, y0)
    owned = rasterize(
        [(g, 1) for g in geoms_m], out_shape=(height, width), transform=transform, dtype="uint8"
    ).astype(bool)
    acc_z = np.zeros((height, width), dtype=np.float32)
    acc_w = np.zeros((height, width), dtype=np.float32)
    pop = np.full((height, width), POP_NODATA, dtype=np.float32)
    for a in adcodes:
        with np.load(counties_dir / a / "grid.npz") as g:
            dem, people, inside = g["dem"], g["population"], g["inside"]
            gx0, gy0 = float(g["x0"]), float(g["y0"])
        r, c = round((y0 - gy0) / RES), round((gx0 - x0) / RES)
        h, w = dem.shape
        win = (slice(r, r + h), slice(c, c + w))
        d_in = ndimage.distance_transform_edt(inside).astype(np.float32)
        d_out = ndimage.distance_transform_edt(~inside).astype(np.float32)
        signed = np.where(inside, d_in - 0.5, 0.5 - d_out) * RES
        weight = np.clip(0.5 + signed / (2.0 * FEATHER_M), 0.0, 1.0)
        weight = np.where(owned[win] | inside, weight, 1.0).astype(np.float32)
        acc_z[win] += weight * dem
        acc_w[win] += weight
        sel = inside & (people != POP_NODATA)
        pop[win][sel] = people[sel]
        del d_in, d_out, signed, weight, dem, people, inside
    covered = acc_w > 0
    np.divide(acc_z, acc_w, out=acc_z, where=covered)
    del acc_w
    filled = int((~covered).sum())
    if filled:  # cells beyond every frame: the nearest generated elevation
        idx = np.empty((2, height, width), dtype=np.int32)
        ndimage.distance_transform_edt(
            ~covered, return_distances=False, return_indices=True, indices=idx
        )
        miss = ~covered
        acc_z[miss] = acc_z[idx[0][miss], idx[1][miss]]
        del idx
    profile = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": 1,
        "dtype": "float32",
        "crs": f"EPSG:{PROVINCE_EPSG}",
        "transform": transform,
        "compress": "deflate",
        "predictor": 3,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "BIGTIFF": "IF_SAFER",
    }
    with rasterio.open(out / "dem.tif", "w", nodata=DEM_NODATA, **profile) as dst:
        dst.write(acc_z, 1)
    del acc_z
    with rasterio.open(out / "population.tif", "w", nodata=POP_NODATA, **profile) as dst:
        dst.write(pop, 1)
    people = float(pop[pop > 0].sum())
    return {
        "raster_shape": [height, width],
        "raster_cells": height * width,
        "raster_owned_cells": int(owned.sum()),
        "dem_filled_cells": filled,
        "population_raster": people,
    }


def _roads_file(
    path: Path,
    adcodes: Sequence[str],
    position: dict[str, int],
    geoms_m: Sequence[Any],
    counties_dir: Path,
) -> dict[str, Any]:
    """``roads.osm.pbf``: the counties' roads and the links between neighbouring counties."""
    import osmium
    import shapely
    from pyproj import Transformer
    from scipy.spatial import cKDTree

    back = Transformer.from_crs(f"EPSG:{PROVINCE_EPSG}", "EPSG:4326", always_xy=True)
    parts = []
    for a in adcodes:
        with np.load(counties_dir / a / "roads.npz") as r:
            part = {k: r[k] for k in r.files}
        part["tags"] = json.loads((counties_dir / a / "road_tags.json").read_text("utf-8"))
        part["ids"] = (position[a] + 1) * _ID_STRIDE + np.arange(part["x"].size) + 1
        parts.append(part)

    # links between neighbouring counties: nearest major-road nodes across each shared border
    links: list[tuple[int, int, int, int]] = []  # (county i, node, county j, node)
    tree = shapely.STRtree(np.asarray(geoms_m, dtype=object))
    grown = shapely.buffer(np.asarray(geoms_m, dtype=object), 250.0)
    for i, j in zip(*tree.query(grown, predicate="intersects"), strict=True):
        if i >= j:
            continue
        shared = shapely.area(shapely.intersection(grown[i], grown[j])) / 500.0
        if shared < 1000.0:
            continue
        pi, pj = parts[i], parts[j]
        ci = np.flatnonzero(pi["major"]) if pi["major"].any() else np.arange(pi["x"].size)
        cj = np.flatnonzero(pj["major"]) if pj["major"].any() else np.arange(pj["x"].size)
        if ci.size == 0 or cj.size == 0:
            continue
        tj = cKDTree(np.c_[pj["x"][cj], pj["y"][cj]])
        d, k = tj.query(np.c_[pi["x"][ci], pi["y"][ci]])
        best = int(np.argmin(d))
        links.append((int(i), int(ci[best]), int(j), int(cj[k[best]])))
        if shared > 50000.0:
            far = np.hypot(pi["x"][ci] - pi["x"][ci[best]], pi["y"][ci] - pi["y"][ci[best]])
            d2 = np.where(far > 25000.0, d, np.inf)
            if np.isfinite(d2).any():
                b2 = int(np.argmin(d2))
                links.append((int(i), int(ci[b2]), int(j), int(cj[k[b2]])))

    if path.exists():
        path.unlink()
    writer = osmium.SimpleWriter(str(path))
    n_nodes = n_ways = 0
    try:
        for part in parts:
            for nid, lo, la in zip(
                part["ids"].tolist(), part["lon"].tolist(), part["lat"].tolist(), strict=True
            ):
                writer.add_node(osmium.osm.mutable.Node(id=nid, location=(lo, la)))
            n_nodes += part["ids"].size
        link_nodes: list[list[int]] = []
        next_id = 9 * 10**12
        for i, na, j, nb in links:
            ax, ay = parts[i]["x"][na], parts[i]["y"][na]
            bx, by = parts[j]["x"][nb], parts[j]["y"][nb]
            ix, iy = _link(float(ax), float(ay), float(bx), float(by))
            lo, la = back.transform(ix, iy)
            ids = []
            for xo, ya in zip(np.atleast_1d(lo).tolist(), np.atleast_1d(la).tolist(), strict=True):
                next_id += 1
                writer.add_node(osmium.osm.mutable.Node(id=next_id, location=(xo, ya)))
                ids.append(next_id)
            n_nodes += len(ids)
            link_nodes.append([int(parts[i]["ids"][na]), *ids, int(parts[j]["ids"][nb])])
        way_id = 0
        for part in parts:
            offsets = np.r_[0, np.cumsum(part["way_len"])]
            refs = part["ids"][part["refs"]]
            for w in range(part["way_len"].size):
                way_id += 1
                tags = json.loads(part["tags"][int(part["way_tag"][w])])
                writer.add_way(
                    osmium.osm.mutable.Way(
                        id=way_id, nodes=refs[offsets[w] : offsets[w + 1]].tolist(), tags=tags
                    )
                )
        for nodes in link_nodes:
            way_id += 1
            writer.add_way(
                osmium.osm.mutable.Way(
                    id=way_id,
                    nodes=nodes,
                    tags={"highway": "secondary", "ref": "S-link", "maxspeed": "40"},
                )
            )
        n_ways = way_id
    finally:
        writer.close()
    return {"road_nodes": int(n_nodes), "road_ways": int(n_ways), "county_links": len(links)}
