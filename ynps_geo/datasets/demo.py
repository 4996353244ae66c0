"""Seeded generator of the embedded demo region: one mountain county that looks like Yunnan.

The demo county (示范县, code 532999, a code no real county uses) lies in western Yunnan around
99.9 E, 25.6 N (UTM zone 47N). Everything is generated from one seed with numpy and scipy, in a
few seconds and without network, and written as the ordinary files a county GIS analyst has, so
that the demo goes through the same loaders as user data:

========================  ================================================================
file                      content
========================  ================================================================
``dem.tif``               DEM, 50 m, EPSG:32647, float32, 1,000-3,500 m, nodata -32768 with a
                          few small voids as in SRTM
``boundary.geojson``      the county polygon, WGS84, fields ``name`` and ``code``
``townships.geojson``     township polygons (Voronoi cells of the township seats clipped to the
                          county), WGS84, fields ``name``, ``code``, ``kind``
``roads.osm``             OSM XML: trunk/primary roads in the main valleys through the county
                          seat, secondary/tertiary roads to the township seats, unclassified and
                          track village roads found as least-cost paths on a slope-cost graph,
                          town streets (some ``oneway``), footways and paths, one bridge
                          (``bridge=yes``, ``layer=1``) over a road without a shared node
``villages.csv``          villages and urban communities: ``code`` (12 digits, as the statistics
                          bureau's), ``name``, ``township``, ``lon``, ``lat`` (WGS84), ``pop``,
                          ``setting`` (``urban``/``rural``)
``facilities.csv``        public facilities with Chinese type names, ``lng``/``lat`` in
                          **GCJ-02** as registers copied from Amap are, written in UTF-8 with a
                          byte-order mark (as Excel writes it); capacity columns ``beds``,
                          ``doctors``, ``places``, ``area_m2`` (blank = unknown)
``population.tif``        population, 100 m, EPSG:32647, float32, nodata -99999
``config.yaml``           the analysis config (CONTRACT.md) with paths relative to itself
========================  ================================================================

Population raster and villages agree exactly: every settlement's ``pop`` is spread over the cells
around it with a normalised Gaussian kernel (sigma 80 m for villages, 150 m for township seats,
250 m for county-seat communities), and a dispersed rural population of
:data:`DISPERSED_SHARE` (3 %) of the village total is spread over habitable cells, so the raster
total inside the county equals ``1.03 * villages.pop.sum()`` (to float32 rounding). Cells more
than 1 km outside the county hold nodata, as a bureau's clipped extract does.

How it is built
---------------
1. Terrain: oriented N-S ridge sine waves, fractal (power-law spectrum) noise and a tilt toward
   an outlet on the southern edge give a raw surface; a least-cost drainage tree to the outlet
   (``scipy.sparse.csgraph.dijkstra`` on a 250 m grid) gives rivers and flow accumulation; river
   beds rise upstream like a stream-power profile; valleys are carved around the rivers, with
   flat floors that widen downstream; the result is smoothed and scaled to 1,050-3,450 m.
2. County seat on the widest flat floor of the main valley near the centre; township seats on
   valley floors, well apart; villages sampled on gentle slopes near rivers, plus a few remote
   ones in high valleys.
3. Roads are least-cost paths on a 100 m 8-neighbour graph whose edge cost grows with the grade
   along the edge (so roads keep to valleys and wind up slopes); later roads reuse earlier ones,
   and about 12 % of the villages (the hardest to reach) get no road at all.
4. Facilities are placed as real ones are: the county-level ones in the seat, one health centre,
   school, culture station per township seat, clinics, schools and culture centres in a share
   of the villages. Some urban communities have no day-care centre within a 15-minute walk and
   some remote villages are far beyond the 90-minute rural circle, so that every standard leaves
   someone out.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import rasterio
import shapely
from affine import Affine
from numpy.typing import ArrayLike
from pyproj import Transformer
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, MultiPoint, Polygon

_wgs84_to_gcj02: Callable[[ArrayLike, ArrayLike], tuple[np.ndarray, np.ndarray]] | None
try:  # the project's own transform (ynps_geo.io.coords); a private copy otherwise
    from ynps_geo.io.coords import wgs84_to_gcj02 as _coords_wgs84_to_gcj02

    _wgs84_to_gcj02 = _coords_wgs84_to_gcj02
except ImportError:  # pragma: no cover - only while io.coords is missing
    _wgs84_to_gcj02 = None

__all__ = [
    "COUNTY_CODE",
    "COUNTY_NAME",
    "DEFAULT_SEED",
    "DISPERSED_SHARE",
    "FACILITY_TYPES",
    "FILES",
    "GENERATOR_VERSION",
    "generate_demo",
]

DEFAULT_SEED = 532901
GENERATOR_VERSION = "2"
COUNTY_NAME = "示范县"
COUNTY_CODE = "532999"
CENTER_LON, CENTER_LAT = 99.9, 25.6
UTM_EPSG = 32647
DEM_RES = 50.0
GRID_RES = 100.0  # population raster and road-routing grid
DRAIN_RES = 250.0
DEM_NODATA = -32768.0
POP_NODATA = -99999.0
DISPERSED_SHARE = 0.03
"""Share of the village total added as dispersed rural population in ``population.tif``."""

FILES = (
    "config.yaml",
    "dem.tif",
    "boundary.geojson",
    "townships.geojson",
    "roads.osm",
    "villages.csv",
    "facilities.csv",
    "population.tif",
)
"""Names of the files :func:`generate_demo` writes."""

FACILITY_TYPES = (
    "医院",
    "社区卫生服务中心",
    "卫生院",
    "卫生室",
    "养老院",
    "敬老院",
    "日间照料中心",
    "托育中心",
    "幼儿园",
    "小学",
    "初中",
    "职业学校",
    "文化站",
    "综合文化服务中心",
    "图书馆",
    "文化馆",
    "博物馆",
    "剧院",
    "体育场",
    "足球场",
    "健身广场",
)
"""Chinese type names that ``facilities.csv`` holds (every one at least once)."""

_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))

_FIRST = "大小上下中新老石马龙凤青白黑金银松竹桃李杨沙水河坝山岩阿者普木腊安长高平团"
_SECOND = "坪坝箐营甸河寨山哨场湾塘沟头脚窝岭洼坡厂庄邑登美乐和溪冲屯"
_SEAT_COMMUNITIES = ("文昌", "东门", "西门", "南街", "北街", "兴隆", "龙泉", "新城", "凤鸣", "玉屏")


# --------------------------------------------------------------------------------------------
# grid and graph helpers
# --------------------------------------------------------------------------------------------
@dataclass
class _Frame:
    """The square frame in UTM 47N: ``n`` cells of ``res`` metres from (x_min, y_max)."""

    x_min: float
    y_max: float
    size_m: float
    to_wgs: Transformer = field(repr=False)

    def shape(self, res: float) -> tuple[int, int]:
        n = round(self.size_m / res)
        return n, n

    def cell_xy(self, rows: Any, cols: Any, res: float) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates of (rows, cols) on the grid of cell size ``res``."""
        x = self.x_min + (np.asarray(cols, dtype=float) + 0.5) * res
        y = self.y_max - (np.asarray(rows, dtype=float) + 0.5) * res
        return x, y

    def rowcol(self, x: Any, y: Any, res: float) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the cells containing (x, y), clipped to the grid."""
        n = self.shape(res)[0]
        c = np.clip(np.floor((np.asarray(x) - self.x_min) / res).astype(np.int64), 0, n - 1)
        r = np.clip(np.floor((self.y_max - np.asarray(y)) / res).astype(np.int64), 0, n - 1)
        return r, c

    def lonlat(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = self.to_wgs.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.asarray(lon), np.asarray(lat)


@dataclass
class _Grid8:
    """An 8-neighbour grid graph in CSR form with a lookup from (src, dst) to edge id."""

    h: int
    w: int
    src: np.ndarray
    dst: np.ndarray
    length: np.ndarray  # step length in cells (1 or sqrt 2)
    indptr: np.ndarray
    keys: np.ndarray  # sorted src * N + dst
    key_order: np.ndarray

    @classmethod
    def build(cls, h: int, w: int) -> _Grid8:
        idx = np.arange(h * w, dtype=np.int64).reshape(h, w)
        srcs, dsts, lens = [], [], []
        for dr, dc in _OFFSETS:
            r0, r1 = max(0, -dr), h - max(0, dr)
            c0, c1 = max(0, -dc), w - max(0, dc)
            s = idx[r0:r1, c0:c1].ravel()
            srcs.append(s)
            dsts.append(idx[r0 + dr : r1 + dr, c0 + dc : c1 + dc].ravel())
            lens.append(np.full(s.size, math.hypot(dr, dc)))
        src, dst, ln = np.concatenate(srcs), np.concatenate(dsts), np.concatenate(lens)
        order = np.argsort(src, kind="stable")
        src, dst, ln = src[order], dst[order], ln[order]
        indptr = np.searchsorted(src, np.arange(h * w + 1)).astype(np.int64)
        keys = src * (h * w) + dst
        key_order = np.argsort(keys)
        return cls(h, w, src, dst, ln, indptr, keys[key_order], key_order)

    @property
    def n(self) -> int:
        return self.h * self.w

    def matrix(self, weights: np.ndarray) -> csr_matrix:
        return csr_matrix((weights, self.dst, self.indptr), shape=(self.n, self.n))

    def edge_ids(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.keys, np.asarray(a) * self.n + np.asarray(b))
        return self.key_order[pos]


def _trace(pred: np.ndarray, target: int) -> list[int]:
    """Node path from the tree root to ``target`` following a predecessor array."""
    path = [int(target)]
    while pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    return path[::-1]


def _normalise(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo if hi > lo else 1.0)


def _fractal(rng: np.random.Generator, n: int, beta: float, cutoff: float = 2.0) -> np.ndarray:
    """Noise of power spectrum ~ f**-beta on an n x n grid, scaled to 0..1."""
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.rfftfreq(n)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    amp = f ** (-beta / 2.0)
    amp[f < cutoff / n] = 0.0
    spec = amp * np.exp(2j * np.pi * rng.random(amp.shape))
    return _normalise(np.fft.irfft2(spec, s=(n, n)))


def _block_mean(a: np.ndarray, k: int) -> np.ndarray:
    h, w = (a.shape[0] // k) * k, (a.shape[1] // k) * k
    return a[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))


def _slope_deg(z: np.ndarray, res: float) -> np.ndarray:
    gy, gx = np.gradient(z, res)
    return np.degrees(np.arctan(np.hypot(gx, gy)))


# --------------------------------------------------------------------------------------------
# 1. terrain
# --------------------------------------------------------------------------------------------
@dataclass
class _Terrain:
    dem: np.ndarray  # float64 (n50, n50), no voids yet
    chan_dist: np.ndarray  # metres to the nearest river cell, 50 m grid
    chan_acc: np.ndarray  # flow accumulation (250 m cells) of that river cell
    outlet_xy: tuple[float, float]
    acc_threshold: float


def _terrain(rng: np.random.Generator, frame: _Frame, res: float = DEM_RES) -> _Terrain:
    """The generated terrain on the frame's grid of ``res`` metres (default the DEM's 50 m).

    The drainage tree is found on a grid of ``round(DRAIN_RES / res)`` cells (250 m at 50 m;
    200 m at 100 m, which keeps the large provincial frames to a quarter of the memory).
    """
    n = frame.shape(res)[0]
    km = (np.arange(n) + 0.5) * res / 1000.0 - frame.size_m / 2000.0
    X, Y = np.meshgrid(km, -km)  # km east / north of the centre

    ridges = np.zeros((n, n))
    for k in range(4):
        theta = rng.uniform(-0.35, 0.35)  # crests run roughly N-S (Hengduan mountains)
        lam = rng.uniform(6.0, 14.0) / (1.0 + 0.35 * k)
        warp = 1.5 * np.sin(Y / rng.uniform(5.0, 9.0) + rng.uniform(0, 2 * np.pi))
        u = (X + warp) * math.cos(theta) + Y * math.sin(theta)
        ridges += (0.5 + 0.5 * np.sin(2 * np.pi * u / lam + rng.uniform(0, 2 * np.pi))) / (
            1.0 + k
        ) ** 0.6
    noise = _fractal(rng, n, beta=3.2)

    half = frame.size_m / 2000.0
    ox_km = rng.uniform(0.1, 0.3) * frame.size_m / 1000.0
    outlet_km = (ox_km, -half)
    tilt = np.hypot(X - outlet_km[0], Y - outlet_km[1])
    raw = _normalise(0.45 * _normalise(ridges) + 0.35 * noise + 0.30 * _normalise(tilt))

    # drainage tree to the outlet on a coarse grid: least-cost paths follow low ground
    f = max(1, round(DRAIN_RES / res))
    drain = f * res  # the coarse cell: DRAIN_RES at the default resolution
    coarse = _block_mean(raw, f)
    nc = coarse.shape[0]
    g = _Grid8.build(nc, nc)
    cell_cost = np.exp(6.0 * coarse.ravel())
    w = g.length * 0.5 * (cell_cost[g.src] + cell_cost[g.dst])
    orow, ocol = nc - 1, int(np.clip((outlet_km[0] + half) * 1000.0 / drain, 0, nc - 1))
    outlet = orow * nc + ocol
    dist, pred = dijkstra(g.matrix(w), indices=outlet, return_predecessors=True)
    pred = pred.astype(np.int64)
    pred[pred < 0] = -1
    order = np.argsort(dist, kind="stable")
    acc = np.ones(g.n)
    for node in order[::-1]:
        p = pred[node]
        if p >= 0:
            acc[p] += acc[node]
    rr, cc = np.divmod(np.arange(g.n), nc)
    zbed = np.zeros(g.n)
    for node in order:
        p = pred[node]
        if p >= 0:
            step = math.hypot(rr[node] - rr[p], cc[node] - cc[p]) * drain
            zbed[node] = zbed[p] + step * acc[node] ** -0.55
    thr = 40.0
    chan = np.flatnonzero((acc >= thr) & (pred >= 0))
    zbed = zbed / zbed[acc >= thr].max()

    # rasterise the river segments onto the fine grid
    jr = rr + 0.5 + rng.uniform(-0.4, 0.4, g.n)  # meanders: jittered node positions
    jc = cc + 0.5 + rng.uniform(-0.4, 0.4, g.n)
    t = np.linspace(0.0, 1.0, 2 * f + 1)[None, :]
    p = pred[chan]
    r = (jr[chan, None] * (1 - t) + jr[p, None] * t) * f
    c = (jc[chan, None] * (1 - t) + jc[p, None] * t) * f
    zb = zbed[chan, None] * (1 - t) + zbed[p, None] * t
    ac = np.broadcast_to(acc[chan, None], r.shape)
    ri = np.clip(r.astype(np.int64), 0, n - 1).ravel()
    ci = np.clip(c.astype(np.int64), 0, n - 1).ravel()
    mask = np.zeros((n, n), dtype=bool)
    mask[ri, ci] = True
    bed = np.zeros((n, n))
    bed[ri, ci] = zb.ravel()
    accf = np.zeros((n, n))
    accf[ri, ci] = ac.ravel()
    d, (ii, jj) = ndimage.distance_transform_edt(~mask, sampling=res, return_indices=True)
    zb_near, acc_near = bed[ii, jj], accf[ii, jj]

    # carve valleys: a flat floor that widens downstream, then hillsides rising to the relief
    la = np.log10(np.maximum(acc_near / thr, 1.0))
    floor = 40.0 + 110.0 * la
    width = 500.0 + 450.0 * la
    rise = 1.0 - np.exp(-((np.maximum(d - floor, 0.0) / width) ** 1.4))
    relief = 0.25 + 0.75 * raw
    texture = _fractal(rng, n, beta=2.4, cutoff=4.0) - 0.5
    z = 0.62 * zb_near + rise * (relief * 1.05 + 0.08 * texture)
    z = ndimage.gaussian_filter(z, 1.5)
    z = 1050.0 + _normalise(z) * 2400.0
    ox = frame.x_min + (ocol + 0.5) * drain
    return _Terrain(z, d, acc_near, (ox, frame.y_max - frame.size_m), thr)


# --------------------------------------------------------------------------------------------
# 2. boundary and settlements
# --------------------------------------------------------------------------------------------
def _boundary(rng: np.random.Generator, frame: _Frame) -> Polygon:
    cx, cy = frame.x_min + frame.size_m / 2, frame.y_max - frame.size_m / 2
    th = np.linspace(0, 2 * np.pi, 241)[:-1]
    r = np.ones_like(th)
    for k in range(2, 14):
        r += rng.normal(0, 0.07) / k**0.8 * np.sin(k * th + rng.uniform(0, 2 * np.pi))
    r += rng.normal(0, 0.008, th.size)
    r = np.clip(0.42 * r, 0.28, 0.47) * frame.size_m
    poly = Polygon(np.c_[cx + r * np.cos(th), cy + r * np.sin(th)])
    return shapely.make_valid(poly) if not poly.is_valid else poly


def _names(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        name = _FIRST[rng.integers(len(_FIRST))] + _SECOND[rng.integers(len(_SECOND))]
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


@dataclass
class _Place:
    x: float
    y: float
    pop: int
    setting: str
    kind: str  # seat, seat_community, township_seat, village, remote
    name: str = ""
    township: int = -1
    code: str = ""
    road: bool = True


def _greedy(
    xs: np.ndarray,
    ys: np.ndarray,
    score: np.ndarray,
    count: int,
    spacing: float,
    fixed: list[tuple[float, float]] | None = None,
    fixed_spacing: float | None = None,
) -> list[int]:
    """Pick up to ``count`` candidates by decreasing score, at least ``spacing`` apart."""
    fx = np.array([p[0] for p in fixed or []], dtype=float)
    fy = np.array([p[1] for p in fixed or []], dtype=float)
    fsp = spacing if fixed_spacing is None else fixed_spacing
    chosen: list[int] = []
    cx: list[float] = []
    cy: list[float] = []
    for i in np.argsort(-score, kind="stable"):
        if len(chosen) >= count:
            break
        if fx.size and np.min(np.hypot(fx - xs[i], fy - ys[i])) < fsp:
            continue
        if cx and np.min(np.hypot(np.array(cx) - xs[i], np.array(cy) - ys[i])) < spacing:
            continue
        chosen.append(int(i))
        cx.append(float(xs[i]))
        cy.append(float(ys[i]))
    return chosen


@dataclass
class _County:
    frame: _Frame
    boundary: Polygon
    places: list[_Place]
    township_names: list[str]
    township_codes: list[int]
    township_polys: list[Any]
    z100: np.ndarray
    slope100: np.ndarray
    chan100: np.ndarray
    acc100: np.ndarray
    inside100: np.ndarray
    outlet_x: float


def _settlements(
    rng: np.random.Generator, frame: _Frame, terr: _Terrain, boundary: Polygon
) -> _County:
    n = frame.shape(GRID_RES)[0]
    z100 = _block_mean(terr.dem, 2)
    slope = _slope_deg(z100, GRID_RES)
    chan = terr.chan_dist.reshape(n, 2, n, 2).min(axis=(1, 3))
    acc = terr.chan_acc.reshape(n, 2, n, 2).max(axis=(1, 3))
    rows, cols = np.divmod(np.arange(n * n), n)
    X, Y = frame.cell_xy(rows, cols, GRID_RES)
    X, Y = X.reshape(n, n), Y.reshape(n, n)
    inside = shapely.contains_xy(boundary, X, Y)
    scale = frame.size_m / 40000.0
    cx, cy = frame.x_min + frame.size_m / 2, frame.y_max - frame.size_m / 2

    def inner(dist: float) -> np.ndarray:
        return shapely.contains_xy(boundary.buffer(-dist), X, Y)

    # county seat: the widest flat floor of a big valley near the centre
    near = np.hypot(X - cx, Y - cy) < 0.22 * frame.size_m
    ok = inner(3000.0 * scale) & near
    score = np.log(acc + 1) - slope / 2.0 - chan / 200.0 - np.hypot(X - cx, Y - cy) / 4000.0
    score = np.where(ok, score, -np.inf)
    seat = int(np.argmax(score))
    sx, sy = float(X.flat[seat]), float(Y.flat[seat])

    # township seats: valley floors, well apart
    n_town = max(3, round(9 * scale**2))
    cand = inner(2500.0 * scale) & (slope < 10) & (chan < 400) & (acc >= terr.acc_threshold * 2)
    ci = np.flatnonzero(cand)
    sc = np.log(acc.flat[ci]) - slope.flat[ci] / 4 + rng.gumbel(0, 1.0, ci.size)
    spacing = 0.2 * frame.size_m
    picked: list[int] = []
    while len(picked) < n_town - 1 and spacing > 500:
        picked = _greedy(X.flat[ci], Y.flat[ci], sc, n_town - 1, spacing, fixed=[(sx, sy)])
        spacing *= 0.85
    town_xy = [(sx, sy)] + [(float(X.flat[ci[i]]), float(Y.flat[ci[i]])) for i in picked]
    others = sorted(town_xy[1:], key=lambda p: math.atan2(p[1] - sy, p[0] - sx) % (2 * math.pi))
    town_xy = [town_xy[0], *others]

    places: list[_Place] = []
    # county-seat communities around the seat
    n_comm = 7
    seat_pop = int(rng.integers(42000, 62000))
    near_seat = (np.hypot(X - sx, Y - sy) < 1700) & (slope < 12) & inside
    ni = np.flatnonzero(near_seat)
    sc = -np.hypot(X.flat[ni] - sx, Y.flat[ni] - sy) / 1500.0 - slope.flat[ni] / 6.0
    sc += rng.gumbel(0, 0.3, ni.size)
    sc[np.argmin(np.hypot(X.flat[ni] - sx, Y.flat[ni] - sy))] = np.inf
    comm = _greedy(X.flat[ni], Y.flat[ni], sc, n_comm, 550.0)
    shares = rng.dirichlet(np.full(len(comm), 5.0))
    shares = 0.06 + shares * (1 - 0.06 * len(comm))
    pops = np.floor(shares * seat_pop).astype(int)
    order = np.argsort(-pops)
    comm_names = list(rng.permutation(_SEAT_COMMUNITIES)[: len(comm)])
    for rank, k in enumerate(order):
        i = ni[comm[k]]
        kind = "seat" if k == 0 else "seat_community"
        places.append(
            _Place(
                float(X.flat[i]),
                float(Y.flat[i]),
                int(pops[k]),
                "urban",
                kind,
                name=str(comm_names[rank]) + "社区",
            )
        )
    # one community at every other township seat
    taken: set[str] = {p.name[:2] for p in places}
    tnames = _names(rng, n_town, taken)
    for j, (x, y) in enumerate(town_xy[1:], start=1):
        pop = int(np.clip(rng.lognormal(math.log(4500), 0.4), 2000, 10000))
        places.append(_Place(x, y, pop, "urban", "township_seat", name=tnames[j] + "社区"))

    # villages: gentle slopes near rivers; a few remote ones in high valleys
    n_vill = max(12, round(230 * scale**2))
    n_remote = max(2, round(0.07 * n_vill))
    fixed = [(p.x, p.y) for p in places]
    ok = inner(450.0) & (z100 < 2950)
    ci = np.flatnonzero(ok)
    w = np.exp(-slope.flat[ci] / 9.0) * np.exp(-chan.flat[ci] / 900.0)
    sc = np.log(w + 1e-12) + rng.gumbel(0, 1.0, ci.size)
    vi = _greedy(
        X.flat[ci], Y.flat[ci], sc, n_vill - n_remote, 800.0, fixed=fixed, fixed_spacing=900.0
    )
    vill_xy = [(float(X.flat[ci[i]]), float(Y.flat[ci[i]])) for i in vi]
    town_arr = np.array(town_xy)
    dmin = np.min(np.hypot(X[..., None] - town_arr[:, 0], Y[..., None] - town_arr[:, 1]), axis=2)
    ok = inner(450.0) & (z100 > 2150) & (z100 < 3000) & (slope < 22) & (dmin > 6000 * scale)
    ci = np.flatnonzero(ok)
    sc = -slope.flat[ci] / 6.0 - chan.flat[ci] / 500.0 + rng.gumbel(0, 1.0, ci.size)
    ri = _greedy(
        X.flat[ci], Y.flat[ci], sc, n_remote, 1500.0, fixed=fixed + vill_xy, fixed_spacing=1200.0
    )
    remote_xy = [(float(X.flat[ci[i]]), float(Y.flat[ci[i]])) for i in ri]
    vnames = _names(rng, len(vill_xy) + len(remote_xy), taken)
    for k, (x, y) in enumerate(vill_xy):
        pop = int(np.clip(rng.lognormal(math.log(520), 0.55), 100, 2000))
        places.append(_Place(x, y, pop, "rural", "village", name=vnames[k] + "村"))
    for k, (x, y) in enumerate(remote_xy, start=len(vill_xy)):
        pop = int(np.clip(rng.lognormal(math.log(230), 0.45), 100, 900))
        places.append(_Place(x, y, pop, "rural", "remote", name=vnames[k] + "村"))

    # townships: Voronoi cells of the township seats; codes as the statistics bureau's
    kinds = ["镇"] * n_town
    for j in range(1, n_town):
        kinds[j] = "镇" if j % 2 else "乡"
    if n_town >= 5:
        kinds[-1], kinds[-3] = "彝族乡", "白族乡"
    township_names = [tnames[j] + kinds[j] for j in range(n_town)]
    town_code, zhen, xiang = [], 100, 200
    for kind in kinds:
        if kind == "镇":
            town_code.append(zhen)
            zhen += 1
        else:
            town_code.append(xiang)
            xiang += 1
    for p in places:
        p.township = int(np.argmin(np.hypot(town_arr[:, 0] - p.x, town_arr[:, 1] - p.y)))
    vor = shapely.voronoi_polygons(
        MultiPoint(town_xy), extend_to=boundary.envelope.buffer(frame.size_m), ordered=True
    )
    polys = [shapely.intersection(cell, boundary) for cell in shapely.get_parts(vor)]
    for t in range(n_town):
        members = [p for p in places if p.township == t]
        members.sort(key=lambda p: (p.setting != "urban", -round(p.y, -2), p.x))
        nu = nr = 0
        for p in members:
            if p.setting == "urban":
                nu += 1
                vc = nu
            else:
                nr += 1
                vc = 200 + nr
            p.code = f"{COUNTY_CODE}{town_code[t]:03d}{vc:03d}"
    return _County(
        frame,
        boundary,
        places,
        township_names,
        town_code,
        polys,
        z100,
        slope,
        chan,
        acc,
        inside,
        terr.outlet_xy[0],
    )


# --------------------------------------------------------------------------------------------
# 3. roads
# --------------------------------------------------------------------------------------------
@dataclass
class _Way:
    nodes: list[int]
    tags: dict[str, str]


class _Roads:
    """Roads as paths on the 100 m cell graph; one OSM node per used cell."""

    def __init__(self, county: _County) -> None:
        self.county = county
        n = county.z100.shape[0]
        self.n = n
        self.g = _Grid8.build(n, n)
        z = county.z100.ravel()
        length = self.g.length * GRID_RES
        grade = np.abs(z[self.g.dst] - z[self.g.src]) / length
        sl = county.slope100.ravel()
        side = 1.0 + 0.5 * ((sl[self.g.src] + sl[self.g.dst]) / 2 / 30.0) ** 2
        cost = length * (1.0 + (grade / 0.07) ** 2) * side
        cost = np.where(grade > 0.3, cost * 20.0, cost)
        big_river = (county.chan100.ravel() < 60) & (county.acc100.ravel() > 800)
        cost = cost + np.where(big_river[self.g.dst] & ~big_river[self.g.src], 400.0, 0.0)
        rows, cols = divmod(np.arange(n * n), n)
        rim = (np.minimum(rows, cols) < 3) | (np.maximum(rows, cols) > n - 4)
        cost = np.where(rim[self.g.src] & rim[self.g.dst], cost * 10.0, cost)
        self.weights = cost
        self.walk = length * (1.0 + (grade / 0.25) ** 2)
        self.edges: set[tuple[int, int]] = set()
        self.on_road = np.zeros(n * n, dtype=bool)
        self.ways: list[_Way] = []
        self.urban_cells: set[int] = set()

    def cell(self, x: float, y: float) -> int:
        r, c = self.county.frame.rowcol(x, y, GRID_RES)
        return int(r) * self.n + int(c)

    def add(self, path: list[int], tags: dict[str, str], discount: float = 0.35) -> int:
        """Add the edges of ``path`` not yet on the network as ways; return how many ways."""
        runs: list[list[int]] = []
        cur: list[int] = []
        for a, b in itertools.pairwise(path):
            key = (min(a, b), max(a, b))
            if key in self.edges:
                if len(cur) > 1:
                    runs.append(cur)
                cur = []
                continue
            if not cur:
                cur = [a]
            cur.append(b)
            self.edges.add(key)
        if len(cur) > 1:
            runs.append(cur)
        for run in runs:
            self.ways.append(_Way(run, dict(tags)))
            arr = np.asarray(run)
            self.on_road[arr] = True
            ids = np.concatenate(
                [self.g.edge_ids(arr[:-1], arr[1:]), self.g.edge_ids(arr[1:], arr[:-1])]
            )
            self.weights[ids] *= discount
        return len(runs)

    def from_network(self, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Cost from the nearest road cell and the shortest-path forest (predecessors)."""
        src = np.flatnonzero(self.on_road)
        w = self.weights if weights is None else weights
        dist, pred, _ = dijkstra(
            self.g.matrix(w), indices=src, min_only=True, return_predecessors=True
        )
        return dist, pred

    def street_line(self, cells: list[int], tags: dict[str, str], max_slope: float) -> None:
        """Add a straight street, split where the ground is too steep."""
        sl = self.county.slope100.ravel()
        seg: list[int] = []
        for c in [*cells, -1]:
            if c >= 0 and sl[c] < max_slope:
                seg.append(c)
                continue
            if len(seg) > 2:
                self.urban_cells.update(seg)
                self.add(seg, tags, discount=0.5)
            seg = []


def _roads(rng: np.random.Generator, county: _County) -> _Roads:
    rd = _Roads(county)
    n, frame = rd.n, county.frame
    places = county.places
    seat = next(p for p in places if p.kind == "seat")
    s_cell = rd.cell(seat.x, seat.y)
    sr, sc_ = divmod(s_cell, n)

    # trunk: from the outlet (south edge) through the seat to the far (north) edge
    dist, pred = dijkstra(rd.g.matrix(rd.weights), indices=s_cell, return_predecessors=True)
    edge = np.arange(n)
    south = (n - 1) * n + edge
    out_c = int(np.clip((county.outlet_x - frame.x_min) / GRID_RES, 0, n - 1))
    window = south[max(0, out_c - 20) : out_c + 21]
    south_cell = int(window[np.argmin(dist[window])])
    north = edge
    north_cell = int(north[np.argmin(dist[north])])
    trunk = _trace(pred, south_cell)[::-1] + _trace(pred, north_cell)[1:]
    rd.add(trunk, {"highway": "trunk", "ref": "G214", "name": "国道214线", "maxspeed": "60"})
    # primary: through the township seat farthest east or west of the seat, on to that edge
    towns = [p for p in places if p.kind == "township_seat"]
    far = max(towns, key=lambda q: abs(q.x - seat.x))
    f_cell = rd.cell(far.x, far.y)
    side = edge * n + (n - 1 if far.x > seat.x else 0)
    _, pr = dijkstra(rd.g.matrix(rd.weights), indices=f_cell, return_predecessors=True)
    d_side = np.abs(side // n - f_cell // n)
    primary = _trace(pred, f_cell) + _trace(pr, int(side[np.argmin(d_side)]))[1:]
    rd.add(primary, {"highway": "primary", "ref": "S232", "name": "省道232线", "maxspeed": "60"})

    # town streets in the seat: a grid, some one-way, and footways across a few blocks
    r_span = 12
    for k, dr in enumerate(range(-12, 13, 3)):
        r = sr + dr
        if 0 <= r < n:
            cells = [r * n + c for c in range(max(0, sc_ - r_span), min(n, sc_ + r_span + 1))]
            tags = {
                "highway": "residential",
                "name": f"{_SECOND[k % len(_SECOND)]}兴路",
                "maxspeed": "30",
            }
            if k % 2:
                tags["oneway"] = "yes"
                cells = cells[::-1] if k % 4 == 3 else cells
            rd.street_line(cells, tags, 12.0)
    for k, dc in enumerate(range(-12, 13, 3)):
        c = sc_ + dc
        if 0 <= c < n:
            cells = [r * n + c for r in range(max(0, sr - r_span), min(n, sr + r_span + 1))]
            rd.street_line(
                cells, {"highway": "residential", "name": f"{_FIRST[k % len(_FIRST)]}平街"}, 12.0
            )
    n_foot = 0
    for dr in range(-9, 10, 3):  # footways across a few blocks
        for dc in range(-9, 10, 3):
            r0, c0 = sr + dr, sc_ + dc
            if n_foot >= 3 or not (0 <= r0 < n - 3 and 0 <= c0 < n - 3):
                continue
            cells = [(r0 + i) * n + c0 + i for i in range(4)]
            if rd.on_road[cells[0]] and rd.on_road[cells[-1]] and not rd.on_road[cells[1:3]].any():
                rd.add(cells, {"highway": "footway", "name": "人民广场步道"}, discount=1.0)
                n_foot += 1
    # secondary roads: every township seat to the network (county roads X0..)
    dist, pred = rd.from_network()
    for k, p in enumerate(sorted(towns, key=lambda q: dist[rd.cell(q.x, q.y)])):
        rd.add(
            _trace(pred, rd.cell(p.x, p.y)),
            {"highway": "secondary", "ref": f"X{k + 1:03d}", "maxspeed": "40"},
        )
    for p in towns:  # a street cross in each township seat
        tr, tc = divmod(rd.cell(p.x, p.y), n)
        row = [tr * n + c for c in range(max(0, tc - 4), min(n, tc + 5))]
        col = [r * n + tc for r in range(max(0, tr - 4), min(n, tr + 5))]
        rd.street_line(row, {"highway": "residential", "name": p.name[:2] + "街"}, 14.0)
        rd.street_line(col, {"highway": "residential"}, 14.0)

    # tertiary links between neighbouring township seats
    town_cells = [rd.cell(p.x, p.y) for p in towns]
    txy = np.array([(p.x, p.y) for p in towns])
    links: set[tuple[int, int]] = set()
    for i in range(len(towns)):
        d = np.hypot(*(txy - txy[i]).T)
        d[i] = np.inf
        j = int(np.argmin(d))
        links.add((min(i, j), max(i, j)))
    for k, (i, j) in enumerate(sorted(links)[:4]):
        _, pr = dijkstra(rd.g.matrix(rd.weights), indices=town_cells[i], return_predecessors=True)
        rd.add(_trace(pr, town_cells[j]), {"highway": "tertiary", "ref": f"Y{k + 1:03d}"})

    # village roads: the hardest villages to reach get none (some get a footpath)
    dist, pred = rd.from_network()
    rural = [p for p in places if p.setting == "rural"]
    cost = np.array([dist[rd.cell(p.x, p.y)] for p in rural])
    n_none = max(2, round(0.12 * len(rural)))
    no_road = set(np.argsort(-cost, kind="stable")[:n_none].tolist())
    no_road |= {i for i, p in enumerate(rural) if p.kind == "remote"}
    for i in no_road:
        rural[i].road = False
    served = sorted((p for p in rural if p.road), key=lambda p: -p.pop)
    for batch in (served[: len(served) // 2], served[len(served) // 2 :]):
        for p in batch:
            tags = (
                {"highway": "unclassified"}
                if p.pop >= 450
                else {"highway": "track", "tracktype": "grade3", "surface": "unpaved"}
            )
            rd.add(_trace(pred, rd.cell(p.x, p.y))[::-1], tags)
        dist, pred = rd.from_network()
    # dead-end forestry tracks into the hills
    ok = county.inside100.ravel() & (dist > 1500) & (dist < 4000) & (county.slope100.ravel() < 25)
    cand = np.flatnonzero(ok)
    if cand.size:
        for c in rng.choice(cand, size=min(cand.size, max(3, len(rural) // 12)), replace=False):
            rd.add(
                _trace(pred, int(c))[::-1],
                {"highway": "track", "tracktype": "grade4", "surface": "ground"},
            )
    # footpaths to a few of the roadless villages (walking cost, not road cost)
    dist, pred = rd.from_network(rd.walk)
    roadless = sorted((p for p in rural if not p.road), key=lambda p: -p.pop)
    for p in roadless[: max(1, len(roadless) // 5)]:
        rd.add(_trace(pred, rd.cell(p.x, p.y))[::-1], {"highway": "path"}, discount=1.0)
    return rd


def _node_xy(rd: _Roads, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of every cell node: the cell centre, jittered except in town streets."""
    n = rd.n
    rows, cols = np.divmod(np.arange(n * n), n)
    x, y = rd.county.frame.cell_xy(rows, cols, GRID_RES)
    jit = rng.uniform(-22.0, 22.0, (2, n * n))
    if rd.urban_cells:
        jit[:, np.fromiter(rd.urban_cells, dtype=np.int64)] = 0.0
    return x + jit[0], y + jit[1]


def _add_bridge(rd: _Roads, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add an overpass (bridge=yes, layer=1) that crosses a road without a shared node."""
    seat = next(p for p in rd.county.places if p.kind == "seat")
    degree: dict[int, int] = {}
    for a, b in rd.edges:
        degree[a] = degree.get(a, 0) + 1
        degree[b] = degree.get(b, 0) + 1
    edges = sorted(rd.edges)
    lines = [LineString([(x[a], y[a]), (x[b], y[b])]) for a, b in edges]
    tree = shapely.STRtree(lines)
    nodes = np.array(sorted(degree))
    nx, ny = x[nodes], y[nodes]
    cands = []
    for w in rd.ways:
        if w.tags.get("highway") not in ("tertiary", "secondary", "unclassified"):
            continue
        for a, b in zip(w.nodes[1:-2], w.nodes[2:-1], strict=True):
            if degree[a] == 2 and degree[b] == 2:
                mx, my = (x[a] + x[b]) / 2, (y[a] + y[b]) / 2
                cands.append((math.hypot(mx - seat.x, my - seat.y), a, b))
    cands.sort()
    next_id = rd.n * rd.n
    for _, a, b in cands[:400]:
        mx, my = (x[a] + x[b]) / 2, (y[a] + y[b]) / 2
        dx, dy = x[b] - x[a], y[b] - y[a]
        ln = math.hypot(dx, dy)
        nxv, nyv = -dy / ln, dx / ln
        vx, vy = nx - mx, ny - my
        dd = np.hypot(vx, vy)
        cosang = (vx * nxv + vy * nyv) / np.maximum(dd, 1e-9)
        ends = []
        for sgn in (1, -1):
            ok = (dd > 150) & (dd < 700) & (sgn * cosang > 0.9)
            if not ok.any():
                break
            ends.append(int(nodes[np.flatnonzero(ok)[np.argmin(dd[ok])]]))
        if len(ends) < 2:
            continue
        q1 = (mx + 40 * nxv, my + 40 * nyv)
        q2 = (mx - 40 * nxv, my - 40 * nyv)
        e1, e2 = ends
        parts = [
            (LineString([(x[e1], y[e1]), q1]), {e1}),
            (LineString([q1, q2]), {a, b}),
            (LineString([q2, (x[e2], y[e2])]), {e2}),
        ]
        good = True
        for k, (geom, allowed) in enumerate(parts):
            for hit in tree.query(geom, predicate="intersects"):
                ea, eb = edges[hit]
                if k == 1:
                    good &= (ea, eb) == (min(a, b), max(a, b))
                else:
                    good &= bool({ea, eb} & allowed)
        if not good:
            continue
        q1_id, q2_id = next_id, next_id + 1
        x = np.append(x, [q1[0], q2[0]])
        y = np.append(y, [q1[1], q2[1]])
        tags = {"highway": "tertiary", "name": "兴城路"}
        rd.ways.append(_Way([e1, q1_id], dict(tags)))
        rd.ways.append(
            _Way(
                [q1_id, q2_id],
                {**tags, "name": "兴城跨线桥", "bridge": "yes", "layer": "1", "maxspeed": "40"},
            )
        )
        rd.ways.append(_Way([q2_id, e2], dict(tags)))
        return x, y
    msg = "demo generator: no place found for the overpass bridge; try another seed"
    raise RuntimeError(msg)


def _write_osm(path: Path, rd: _Roads, x: np.ndarray, y: np.ndarray) -> None:
    used = sorted({nd for w in rd.ways for nd in w.nodes})
    ids = np.asarray(used, dtype=np.int64)
    lon, lat = rd.county.frame.lonlat(x[ids], y[ids])
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="ynps_geo.datasets.demo">',
        f'  <bounds minlat="{lat.min():.7f}" minlon="{lon.min():.7f}" '
        f'maxlat="{lat.max():.7f}" maxlon="{lon.max():.7f}"/>',
    ]
    lines += [
        f'  <node id="{i + 1}" version="1" lat="{la:.7f}" lon="{lo:.7f}"/>'
        for i, lo, la in zip(used, lon.tolist(), lat.tolist(), strict=True)
    ]
    for k, w in enumerate(rd.ways, start=1):
        lines.append(f'  <way id="{k}" version="1">')
        lines += [f'    <nd ref="{nd + 1}"/>' for nd in w.nodes]
        lines += [f"    <tag k={quoteattr(t)} v={quoteattr(v)}/>" for t, v in w.tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# 4. facilities
# --------------------------------------------------------------------------------------------
def _gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> GCJ-02 with the standard public formula (Krasovsky ellipsoid)."""
    if _wgs84_to_gcj02 is not None:
        glon, glat = _wgs84_to_gcj02(lon, lat)
        return np.asarray(glon, dtype=float), np.asarray(glat, dtype=float)
    a, ee = 6378245.0, 0.00669342162296594323  # pragma: no cover - fallback copy
    x, y = lon - 105.0, lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * np.pi
    magic = 1 - ee * np.sin(rad) ** 2
    sq = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sq) * np.pi)
    dlon = (dlon * 180.0) / (a / sq * np.cos(rad) * np.pi)
    return lon + dlon, lat + dlat


def _facilities(rng: np.random.Generator, county: _County) -> list[dict[str, Any]]:
    places = county.places
    tn = county.township_names
    rows: list[dict[str, Any]] = []

    def add(p: _Place, name: str, ftype: str, spread: float = 120.0, **cap: int | None) -> None:
        ang, r = rng.uniform(0, 2 * np.pi), spread * math.sqrt(rng.uniform(0.05, 1.0))
        rows.append(
            {
                "name": name,
                "type": ftype,
                "x": p.x + r * math.cos(ang),
                "y": p.y + r * math.sin(ang),
                **cap,
            }
        )

    seat = next(p for p in places if p.kind == "seat")
    comms = [p for p in places if p.kind in ("seat", "seat_community")]
    cn = COUNTY_NAME
    add(seat, f"{cn}人民医院", "医院", 500, beds=420, doctors=152)
    add(seat, f"{cn}中医医院", "医院", 600, beds=160, doctors=58)
    add(seat, f"{cn}妇幼保健院", "医院", 600, beds=None, doctors=31)
    add(seat, f"{cn}社会福利院", "养老院", 700)
    add(seat, f"{cn}综合托育服务中心", "托育中心", 500, places=120)
    add(seat, f"{cn}职业高级中学", "职业学校", 900)
    add(seat, f"{cn}第一中学", "初中", 700)
    add(seat, f"{cn}第二中学", "初中", 900)
    add(seat, f"{cn}图书馆", "图书馆", 300)
    add(seat, f"{cn}文化馆", "文化馆", 300)
    add(seat, f"{cn}博物馆", "博物馆", 400)
    add(seat, f"{cn}影剧院", "剧院", 300)
    add(seat, f"{cn}体育场", "体育场", 600, area_m2=24000)
    add(seat, f"{cn}人民广场足球场", "足球场", 400, area_m2=7140)
    for k, p in enumerate(comms):
        short = p.name.removesuffix("社区")
        if k < 2:
            add(
                p,
                f"{short}社区卫生服务中心",
                "社区卫生服务中心",
                150,
                beds=20 if k == 0 else None,
                doctors=9 - 2 * k,
            )
        if k < 4:  # the outer communities have no day-care centre within a short walk
            add(p, f"{short}社区日间照料中心", "日间照料中心", 100)
        if k < 3:
            add(p, f"{cn}{short}幼儿园", "幼儿园", 200, places=int(rng.integers(180, 361)))
            add(p, f"{cn}{short}小学", "小学", 250)
        if k % 2 == 0:
            add(p, f"{short}社区综合文化服务中心", "综合文化服务中心", 80)
        add(p, f"{short}健身广场", "健身广场", 150, area_m2=int(rng.integers(1500, 4000)))
    add(seat, f"{tn[0]}综合文化站", "文化站", 300)

    for t in range(1, len(tn)):
        p = next(q for q in places if q.township == t and q.kind == "township_seat")
        short = tn[t].removesuffix("彝族乡").removesuffix("白族乡")
        add(
            p,
            f"{tn[t]}卫生院",
            "卫生院",
            200,
            beds=int(rng.integers(15, 60)) if t % 4 else None,
            doctors=int(rng.integers(5, 18)) if t % 5 else None,
        )
        add(p, f"{tn[t]}中心小学", "小学", 250)
        add(p, f"{short}中学", "初中", 300)
        add(p, f"{tn[t]}中心幼儿园", "幼儿园", 200, places=int(rng.integers(90, 240)))
        add(p, f"{tn[t]}综合文化站", "文化站", 150)
        add(p, f"{short}社区健身广场", "健身广场", 150, area_m2=int(rng.integers(800, 2500)))
        if t % 3 == 1:
            add(p, f"{tn[t]}敬老院", "敬老院", 300)
        elif t % 3 == 2:
            add(p, f"{short}社区日间照料中心", "日间照料中心", 100)
        if t == 2:
            add(p, f"{tn[t]}中心卫生院体育场", "体育场", 300, area_m2=9000)

    for p in places:
        if p.setting != "rural":
            continue
        short = p.name.removesuffix("村")
        remote = p.kind == "remote"
        if rng.random() < (0.35 if remote else 0.62):
            add(
                p,
                f"{short}村卫生室",
                "卫生室",
                80,
                beds=None,
                doctors=int(rng.integers(1, 3)) if rng.random() < 0.8 else None,
            )
        if p.pop >= 800 and rng.random() < 0.8 and not remote:
            add(p, f"{short}完小", "小学", 150)
        if p.pop >= 1300 and rng.random() < 0.6:
            add(p, f"{short}幼儿园", "幼儿园", 120, places=int(rng.integers(30, 90)))
        # remote villages have none, so the rural "10-li" culture circle leaves some out
        if not remote and rng.random() < 0.3:
            add(p, f"{short}村综合文化服务中心", "综合文化服务中心", 60)
        if rng.random() < 0.15:
            add(p, f"{short}村健身广场", "健身广场", 80, area_m2=int(rng.integers(300, 900)))
        if p.pop >= 1500 and rng.random() < 0.3:
            add(p, f"{short}村幸福院日间照料中心", "日间照料中心", 80)
    return rows


# --------------------------------------------------------------------------------------------
# 5. population raster
# --------------------------------------------------------------------------------------------
def _population(rng: np.random.Generator, county: _County) -> np.ndarray:
    n = county.z100.shape[0]
    frame = county.frame
    pop = np.zeros((n, n))
    sigmas = {"seat": 250.0, "seat_community": 250.0, "township_seat": 150.0}
    for p in county.places:
        sig = sigmas.get(p.kind, 80.0)
        rad = max(1, math.ceil(3 * sig / GRID_RES))
        r0_arr, c0_arr = frame.rowcol(p.x, p.y, GRID_RES)
        r0, c0 = int(r0_arr), int(c0_arr)
        rr = np.arange(max(0, r0 - rad), min(n, r0 + rad + 1))
        cc = np.arange(max(0, c0 - rad), min(n, c0 + rad + 1))
        cx, cy = frame.cell_xy(rr[:, None], cc[None, :], GRID_RES)
        k = np.exp(-((cx - p.x) ** 2 + (cy - p.y) ** 2) / (2 * sig**2))
        pop[rr[0] : rr[-1] + 1, cc[0] : cc[-1] + 1] += p.pop * k / k.sum()
    total = float(sum(p.pop for p in county.places))
    rows, cols = np.divmod(np.arange(n * n), n)
    X, Y = frame.cell_xy(rows, cols, GRID_RES)
    inner = shapely.contains_xy(county.boundary.buffer(-150.0), X, Y).reshape(n, n)
    habitable = inner & (county.slope100 < 30) & (county.z100 < 3100)
    w = np.where(habitable, np.exp(-county.chan100 / 1500.0) * rng.random((n, n)), 0.0)
    pop += DISPERSED_SHARE * total * w / w.sum()
    outer = county.boundary.buffer(1000.0)
    keep = shapely.contains_xy(outer, X, Y).reshape(n, n)
    return np.where(keep, pop, POP_NODATA).astype(np.float32)


def _voids(rng: np.random.Generator, county: _County, dem: np.ndarray) -> np.ndarray:
    """Put a few small SRTM-like voids on steep high slopes away from villages."""
    n = dem.shape[0]
    sl = _slope_deg(dem, DEM_RES)
    rows, cols = np.divmod(np.arange(n * n), n)
    x, y = county.frame.cell_xy(rows, cols, DEM_RES)
    pxy = np.array([(p.x, p.y) for p in county.places])
    ok = (sl.ravel() > 28) & (dem.ravel() > 2300)
    cand = np.flatnonzero(ok)
    if cand.size == 0:
        cand = np.argsort(-sl.ravel())[:1000]
    pick = rng.choice(cand, size=min(cand.size, 40), replace=False)
    out = dem.astype(np.float32)
    placed = 0
    for c in pick:
        if np.min(np.hypot(pxy[:, 0] - x[c], pxy[:, 1] - y[c])) < 1500:
            continue
        r0, c0 = divmod(int(c), n)
        rad = int(rng.integers(1, 4))
        rr, cc = np.ogrid[-rad : rad + 1, -rad : rad + 1]
        blob = (rr**2 + cc**2) <= rad**2 + rng.integers(0, 2)
        r_lo, c_lo = max(0, r0 - rad), max(0, c0 - rad)
        sub = out[r_lo : r0 + rad + 1, c_lo : c0 + rad + 1]
        b = blob[
            r_lo - (r0 - rad) : r_lo - (r0 - rad) + sub.shape[0],
            c_lo - (c0 - rad) : c_lo - (c0 - rad) + sub.shape[1],
        ]
        sub[b] = DEM_NODATA
        placed += 1
        if placed >= 6:
            break
    return out


# --------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------
def _write_tif(path: Path, arr: np.ndarray, frame: _Frame, res: float, nodata: float) -> None:
    profile = {
        "driver": "GTiff",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": f"EPSG:{UTM_EPSG}",
        "transform": Affine(res, 0.0, frame.x_min, 0.0, -res, frame.y_max),
        "nodata": nodata,
        "compress": "deflate",
        "predictor": 3,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr.astype(np.float32), 1)


def _ring_lonlat(frame: _Frame, geom: Any) -> Any:
    def conv(coords: np.ndarray) -> np.ndarray:
        lon, lat = frame.lonlat(coords[:, 0], coords[:, 1])
        return np.c_[lon, lat].round(6)

    return shapely.transform(geom, conv)


def _write_geojson(path: Path, features: list[tuple[dict[str, Any], Any]], name: str) -> None:
    feats = [
        {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(g)}
        for props, g in features
    ]
    doc = {"type": "FeatureCollection", "name": name, "features": feats}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _write_config(path: Path) -> None:
    text = f"""# Demo county generated by ynps_geo.datasets.generate_demo (synthetic data).
# townships.geojson (township polygons, field name) is written beside this file.
name: {COUNTY_NAME} (demo county)
boundary: {{path: boundary.geojson, crs: wgs84, name_field: name}}
villages: {{path: villages.csv, crs: wgs84, x: lon, y: lat, id: code, name: name, population: pop, setting: setting}}
facilities:
  - {{path: facilities.csv, crs: gcj02, x: lng, y: lat, id: fid, name: name, category_field: type}}
roads: {{path: roads.osm}}
dem: {{path: dem.tif}}
population: {{path: population.tif}}
"""  # noqa: E501
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------------
def generate_demo(out_dir: Path, *, seed: int = DEFAULT_SEED, size_km: float = 40.0) -> Path:
    """Write the demo county's files into ``out_dir`` and return the path of ``config.yaml``.

    The output is deterministic for a given ``seed`` and ``size_km``: the CSV, GeoJSON, OSM and
    YAML files are byte-identical and the rasters hold identical arrays. It takes a few seconds
    and needs no network. See the module docstring for the files and how they are made.

    Parameters
    ----------
    out_dir : pathlib.Path
        Folder to write into; created when missing. Existing files of the same names are
        overwritten.
    seed : int, default 532901
        Seed of the random generator.
    size_km : float, default 40.0
        Side of the square DEM frame in km (10-100); the county polygon is about as wide.
        Village and township counts scale with the area (230 villages and 9 townships at 40 km).

    Returns
    -------
    pathlib.Path
        ``out_dir / "config.yaml"``, the analysis config of the demo county.

    Raises
    ------
    ValueError
        If ``size_km`` is outside 10-100.
    """
    if not 10.0 <= size_km <= 100.0:
        msg = f"generate_demo: size_km={size_km} is outside 10-100; pass a size in that range"
        raise ValueError(msg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{UTM_EPSG}", always_xy=True)
    cx, cy = to_utm.transform(CENTER_LON, CENTER_LAT)
    size_m = round(size_km * 1000.0 / (2 * DRAIN_RES)) * 2 * DRAIN_RES  # whole 500 m steps
    frame = _Frame(
        round(cx / 1000.0) * 1000.0 - size_m / 2,
        round(cy / 1000.0) * 1000.0 + size_m / 2,
        size_m,
        Transformer.from_crs(f"EPSG:{UTM_EPSG}", "EPSG:4326", always_xy=True),
    )
    terr = _terrain(rng, frame)
    boundary = _boundary(rng, frame)
    county = _settlements(rng, frame, terr, boundary)
    rd = _roads(rng, county)
    x, y = _node_xy(rd, rng)
    x, y = _add_bridge(rd, x, y)
    _write_osm(out / "roads.osm", rd, x, y)

    # villages.csv
    places = sorted(county.places, key=lambda p: p.code)
    lon, lat = frame.lonlat([p.x for p in places], [p.y for p in places])
    with (out / "villages.csv").open("w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["code", "name", "township", "lon", "lat", "pop", "setting"])
        for p, lo, la in zip(places, lon.tolist(), lat.tolist(), strict=True):
            wr.writerow(
                [
                    p.code,
                    p.name,
                    county.township_names[p.township],
                    f"{lo:.6f}",
                    f"{la:.6f}",
                    p.pop,
                    p.setting,
                ]
            )

    # facilities.csv (GCJ-02, UTF-8 with BOM)
    fac = _facilities(rng, county)
    flon, flat = frame.lonlat([f["x"] for f in fac], [f["y"] for f in fac])
    glon, glat = _gcj02(flon, flat)
    cap_cols = ("beds", "doctors", "places", "area_m2")
    with (out / "facilities.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["fid", "name", "type", "lng", "lat", *cap_cols])
        for k, (f, lo, la) in enumerate(zip(fac, glon.tolist(), glat.tolist(), strict=True)):
            caps = ["" if f.get(c) is None else int(f[c]) for c in cap_cols]
            wr.writerow([f"F{k + 1:05d}", f["name"], f["type"], f"{lo:.6f}", f"{la:.6f}", *caps])

    # boundaries
    _write_geojson(
        out / "boundary.geojson",
        [({"name": COUNTY_NAME, "code": COUNTY_CODE}, _ring_lonlat(frame, county.boundary))],
        "boundary",
    )
    tfeats = []
    for t, (tname, poly) in enumerate(
        zip(county.township_names, county.township_polys, strict=True)
    ):
        kind = "镇" if tname.endswith("镇") else "乡"
        tfeats.append(
            (
                {
                    "name": tname,
                    "code": f"{COUNTY_CODE}{county.township_codes[t]:03d}",
                    "kind": kind,
                },
                _ring_lonlat(frame, poly),
            )
        )
    _write_geojson(out / "townships.geojson", tfeats, "townships")

    # rasters
    _write_tif(out / "population.tif", _population(rng, county), frame, GRID_RES, POP_NODATA)
    _write_tif(out / "dem.tif", _voids(rng, county, terr.dem), frame, DEM_RES, DEM_NODATA)
    _write_config(out / "config.yaml")
    return out / "config.yaml"
