"""Generate the missing layers of a real region inside its real boundary.

Where a county has a real boundary, real facilities and real lists of seats and village
committees but no roads, DEM, population raster or village coordinates (the usual situation in
Yunnan, see ``../shared/data/real/README.md``), :func:`generate_region` fills the gaps with
*generated* layers built from the same seeded building blocks as the demo county
(:mod:`ynps_geo.datasets.demo`), but over the real boundary's extent:

========================  ================================================================
file                      content
========================  ================================================================
``dem.tif``               generated DEM over the boundary's bbox plus a margin (UTM, float32,
                          ``resolution_m`` cells): the demo's ridges, fractal noise and carved
                          drainage valleys; optional lakes (flat at their level, with a flat
                          shore plain) and ridge crests (e.g. Erhai and the Cangshan range)
``roads.osm``             generated OSM XML roads: least-cost paths on a slope-cost graph from
                          the main seat (trunk) to the township seats and villages (demo rules;
                          lakes are impassable)
``villages.csv``          the given village committees with generated positions: ``code``,
                          ``name``, ``township``, ``lon``, ``lat`` (WGS84), ``pop``,
                          ``setting`` (``社区`` committees urban, the others rural)
``population.tif``        generated 100 m population raster (UTM, float32, nodata -99999):
                          every village's ``pop`` spread by a Gaussian kernel plus 3 % dispersed
                          rural population, so the total inside the boundary is about
                          ``1.03 * villages.pop.sum()``
``townships.geojson``     the generated township territories (Voronoi cells of the township
                          centres clipped to the boundary): ``code``, ``name``, ``seat``
                          (the seat it was matched to, empty when spread), ``population``
========================  ================================================================

How villages are placed
-----------------------
1. Each township is matched to a seat: by the explicit ``township_seats`` mapping, else when
   the township's name stem (without 街道/镇/乡...) occurs in the seat's ``name_zh`` or
   ``alternatenames``. The first township of a seat is centred on it; further townships of
   the same seat (e.g. the sub-districts of a city) get centres on valley floors 2.5-7 km
   from it; townships without a seat are spread over the remaining valley floors, as far
   from the other centres as possible.
2. A township's share of the region is the Voronoi cell of its centre (no township polygons
   exist); its committees are placed there: urban communities (names ending in 社区) near the
   centre, villages on gentle slopes near rivers or lake shores.
3. Populations: a matched township gets its seat's population (split among the townships of
   that seat by committee count); a township without a seat gets the median population per
   committee of the matched townships times its committee count. Within a township,
   communities weigh three times a village (times a lognormal factor), rounded so that the
   township total is exact. The sum of the committees of a seat equals the seat's population.

Everything is deterministic for a given seed. Nothing here is real data except what is passed
in (boundary, seats, committee names and codes).
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from scipy import ndimage
from shapely.geometry import MultiPoint

from ynps_geo._geo import utm_epsg
from ynps_geo.datasets.demo import (
    DEM_NODATA,
    DEM_RES,
    DRAIN_RES,
    GRID_RES,
    POP_NODATA,
    _add_bridge,
    _County,
    _Frame,
    _greedy,
    _node_xy,
    _normalise,
    _Place,
    _population,
    _Roads,
    _roads,
    _slope_deg,
    _terrain,
    _trace,
    _write_osm,
)

__all__ = ["REGION_FILES", "RegionLayers", "build_region", "generate_region"]

REGION_FILES = ("dem", "population", "roads", "villages", "townships")
"""Keys of the dict :func:`generate_region` returns."""

_STEM = re.compile(r"(街道办事处|街道|彝族乡|白族乡|回族乡|民族乡|镇|乡)$")
_ROUTING_SLOPE_WATER = 600.0  # "degrees": makes lake cells prohibitive for generated roads


@dataclass
class _Township:
    code: str
    name: str
    members: pd.DataFrame  # code, name (committees of this township)
    seat: int | None = None  # index into the seats table
    x: float = 0.0
    y: float = 0.0
    population: int = 0


def _as_geometry(boundary: Any) -> Any:
    if hasattr(boundary, "geometry") and hasattr(boundary, "crs"):
        frame = boundary
        if frame.crs is not None and frame.crs.to_epsg() != 4326:
            frame = frame.to_crs(4326)
        return shapely.union_all(np.asarray(frame.geometry.values, dtype=object))
    if hasattr(boundary, "geom_type"):
        return boundary
    msg = (
        f"generate_region: boundary must be a shapely geometry or a GeoDataFrame, got {boundary!r}"
    )
    raise TypeError(msg)


def _seat_table(seats: Any) -> pd.DataFrame:
    """Seats as a frame with name, name_zh, alternatenames, population, lon, lat."""
    cols = ["name", "name_zh", "alternatenames", "population", "lon", "lat"]
    if seats is None:
        return pd.DataFrame(columns=cols)
    df = (
        pd.DataFrame(seats.drop(columns=seats.geometry.name))
        if hasattr(seats, "geometry")
        else pd.DataFrame(seats)
    )
    if hasattr(seats, "geometry"):
        geo = seats.to_crs(4326) if seats.crs is not None else seats
        df["lon"] = geo.geometry.x.to_numpy()
        df["lat"] = geo.geometry.y.to_numpy()
    for c in ("name", "lon", "lat", "population"):
        if c not in df.columns:
            msg = f"generate_region: seats need a '{c}' column (or point geometry); got {list(df)}"
            raise ValueError(msg)
    for c in ("name_zh", "alternatenames"):
        if c not in df.columns:
            df[c] = ""
    out = df[cols].reset_index(drop=True).copy()
    out["population"] = pd.to_numeric(out["population"], errors="coerce").fillna(0).astype(int)
    out[["name_zh", "alternatenames"]] = out[["name_zh", "alternatenames"]].fillna("").astype(str)
    return out


def _match_seats(
    towns: list[_Township], seats: pd.DataFrame, explicit: Mapping[str, str | None] | None
) -> None:
    by_name = {str(n): i for i, n in enumerate(seats["name"])}
    for t in towns:
        if explicit and t.name in explicit:
            target = explicit[t.name]
            if target is None or target == "":
                continue
            if str(target) not in by_name:
                msg = (
                    f"generate_region: township_seats maps {t.name} to {target!r}, which is not a "
                    f"seat name ({', '.join(by_name)})"
                )
                raise ValueError(msg)
            t.seat = by_name[str(target)]
            continue
        stem = _STEM.sub("", t.name)
        if len(stem) < 2:
            continue
        for i, (zh, alt) in enumerate(zip(seats["name_zh"], seats["alternatenames"], strict=True)):
            names = {s.strip() for s in f"{zh};{alt}".replace(",", ";").split(";") if s.strip()}
            if any(stem == n or n.startswith(stem) for n in names):
                t.seat = i
                break


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total``."""
    share = total * weights / weights.sum()
    base = np.floor(share).astype(np.int64)
    rest = int(total - base.sum())
    if rest > 0:
        base[np.argsort(-(share - base), kind="stable")[:rest]] += 1
    return base


def _pick(
    xs: np.ndarray,
    ys: np.ndarray,
    score: np.ndarray,
    count: int,
    spacing: float,
    fixed: list[tuple[float, float]],
    fixed_spacing: float,
) -> list[int]:
    """:func:`_greedy`, relaxing the spacing until ``count`` candidates are found."""
    sp = spacing
    while True:
        chosen = _greedy(
            xs, ys, score, count, sp, fixed=fixed, fixed_spacing=min(fixed_spacing, sp)
        )
        if len(chosen) >= count or sp < 110.0:
            return chosen
        sp *= 0.8


def _frame_for(area_m: Any, margin_m: float, to_wgs: Transformer) -> _Frame:
    minx, miny, maxx, maxy = area_m.bounds
    step = 2 * DRAIN_RES
    size = max(maxx - minx, maxy - miny) + 2 * margin_m
    size = math.ceil(size / step) * step
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    x_min = math.floor((cx - size / 2) / GRID_RES) * GRID_RES
    y_max = math.ceil((cy + size / 2) / GRID_RES) * GRID_RES
    return _Frame(float(x_min), float(y_max), float(size), to_wgs)


def _shape_terrain(
    rng: np.random.Generator,
    frame: _Frame,
    base: np.ndarray,
    lake_m: Any,
    lake_level: float,
    ridges_m: Sequence[tuple[Any, float]],
    res: float = DEM_RES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """DEM (``res`` metres) with lakes and ridge crests; lake mask; distance to the lake (m).

    Without a lake the DEM is ``base`` itself and the distance ``None`` (nothing is
    allocated: the provincial frames are large).
    """
    n = base.shape[0]
    if lake_m is None or lake_m.is_empty:
        return base, np.zeros((n, n), dtype=bool), None
    rows, cols = np.divmod(np.arange(n * n), n)
    x, y = frame.cell_xy(rows, cols, res)
    lake = shapely.contains_xy(lake_m, x, y).reshape(n, n)
    if not lake.any():
        return base, lake, None
    d_lake = ndimage.distance_transform_edt(~lake, sampling=res)
    t = _normalise(base)
    rise = 1.0 - np.exp(-((np.maximum(d_lake - 1200.0, 0.0) / 5000.0) ** 1.3))
    z = lake_level + rise * 1500.0 * (0.25 + 0.75 * t)
    for line, gain in ridges_m:
        dc = shapely.distance(line, shapely.points(x, y)).reshape(n, n)
        gully = _normalise(ndimage.gaussian_filter(rng.random((n, n)), 6.0))
        z += gain * np.exp(-((dc / 5000.0) ** 2)) * (0.8 + 0.2 * gully)
    z = ndimage.gaussian_filter(z, 1.0)
    z[lake] = lake_level
    return z, lake, d_lake


def _to_100m(a: np.ndarray, k: int, how: str) -> np.ndarray:
    """``a`` on the 100 m grid: blocks of ``k`` x ``k`` cells reduced by ``how``."""
    if k == 1:
        return a
    n = a.shape[0] // k
    blocks = a[: n * k, : n * k].reshape(n, k, n, k)
    return getattr(blocks, how)(axis=(1, 3))


def _write_raster(
    path: Path, arr: np.ndarray, frame: _Frame, res: float, nodata: float, epsg: int
) -> None:
    profile = {
        "driver": "GTiff",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": f"EPSG:{epsg}",
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


@dataclass
class RegionLayers:
    """What :func:`build_region` generates for one region, in memory.

    Attributes
    ----------
    epsg : int
        Metric CRS of every array and coordinate (a UTM zone).
    frame : _Frame
        The square frame: ``frame.x_min``, ``frame.y_max``, ``frame.size_m``.
    area_m : shapely geometry
        The region's boundary in ``epsg``.
    dem : numpy.ndarray
        Elevation (float64) on the frame's grid of ``dem_res`` metres.
    dem_res : float
        Cell size of ``dem``.
    population : numpy.ndarray
        People per 100 m cell (float32); :data:`POP_NODATA` more than 1 km outside the region.
    inside : numpy.ndarray
        Bool, 100 m cells whose centre lies in the region (lakes excluded).
    villages : pandas.DataFrame
        ``code, name, township, township_code, x, y, pop, setting, kind, centre`` (``centre``:
        the committee sits on its township's centre; ``kind``: ``seat``,
        ``seat_community``, ``township_seat`` or ``village``).
    townships : list of dict
        ``code, name, seat, population, x, y, geometry`` (the township territory in
        ``epsg``: the Voronoi cell of its centre clipped to the region).
    roads : _Roads
        The generated roads (ways of 100 m cell ids, with OSM tags).
    node_x, node_y : numpy.ndarray
        Coordinates of every cell node (and the bridge's extra nodes) in ``epsg``.
    """

    epsg: int
    frame: _Frame
    area_m: Any
    dem: np.ndarray
    dem_res: float
    population: np.ndarray
    inside: np.ndarray
    villages: pd.DataFrame
    townships: list[dict[str, Any]]
    roads: _Roads
    node_x: np.ndarray
    node_y: np.ndarray
    seats: pd.DataFrame


def build_region(
    boundary_wgs84: Any,
    *,
    seats: Any = None,
    villages: pd.DataFrame | None = None,
    seed: int = 532901,
    township_seats: Mapping[str, str | None] | None = None,
    lakes: Any = None,
    lake_level_m: float = 1966.0,
    ridges: Sequence[tuple[Any, float]] = (),
    margin_m: float = 10000.0,
    epsg: int | None = None,
    terrain_res: float = DEM_RES,
    population_per_committee: float | None = None,
    connect_centres: bool = False,
    extra_tracks: float = 0.0,
) -> RegionLayers:
    """Generate the layers of a real region in memory (see :func:`generate_region`).

    :func:`generate_region` writes what this returns; :mod:`ynps_geo.datasets.province` builds
    a province from it county by county. The keywords after ``margin_m`` exist for that
    (their defaults keep :func:`generate_region`'s output as it always was).

    Parameters
    ----------
    boundary_wgs84, seats, villages, seed, township_seats, lakes, lake_level_m, ridges,
    margin_m
        As :func:`generate_region`.
    epsg : int, optional
        Metric CRS of the frame; default the UTM zone of the region's centroid. The frame's
        corner is a multiple of 100 m in it, so that regions built in one CRS share a grid.
    terrain_res : float, default 50
        Cell size the terrain is generated at: 50 m, or 100 m (a quarter of the memory).
    population_per_committee : float, optional
        People per committee of a township without a seat or whose seat has no population
        (default: the median of the townships with a seat, else 1,500; a seat of population
        0 then gives its townships nobody).
    connect_centres : bool, default False
        Give every township centre a road (the demo's rules give one to the township seats
        only, not to further townships of the county seat).
    extra_tracks : float, default 0
        Dead-end tracks into the hills per rural committee, beyond the demo's one per 12
        (real mountain networks hold many more road nodes than the villages need).

    Returns
    -------
    RegionLayers
    """
    if terrain_res not in (DEM_RES, GRID_RES):
        msg = f"build_region: terrain_res={terrain_res} must be {DEM_RES:g} or {GRID_RES:g} m"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    geom = _as_geometry(boundary_wgs84)
    c = geom.centroid
    epsg = utm_epsg(c.x, c.y) if epsg is None else int(epsg)
    fwd = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    back = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
    to_m = lambda g: shapely.transform(g, lambda xy: np.c_[fwd.transform(xy[:, 0], xy[:, 1])])  # noqa: E731
    area_m = to_m(geom)
    frame = _frame_for(area_m, margin_m, back)
    seat_df = _seat_table(seats)
    sx, sy = fwd.transform(seat_df["lon"].to_numpy(float), seat_df["lat"].to_numpy(float))
    sx, sy = np.atleast_1d(np.asarray(sx, dtype=float)), np.atleast_1d(np.asarray(sy, float))

    # 1. terrain (demo terrain, then lakes and ridges)
    terr = _terrain(rng, frame, terrain_res)
    lake_m = None
    if lakes is not None:
        lake_m = to_m(_as_geometry(lakes))
        if len(sx):  # never drown a real seat
            lake_m = lake_m.difference(
                shapely.union_all(shapely.buffer(shapely.points(sx, sy), 700.0))
            )
    ridges_m = [(to_m(line), float(gain)) for line, gain in ridges]
    dem, lake_f, d_lake = _shape_terrain(
        rng, frame, terr.dem, lake_m, lake_level_m, ridges_m, terrain_res
    )

    # 100 m analysis surfaces
    k = round(GRID_RES / terrain_res)
    n = frame.shape(GRID_RES)[0]
    z100 = _to_100m(dem, k, "mean")
    slope100 = _slope_deg(z100, GRID_RES)
    lake100 = _to_100m(lake_f, k, "mean") >= 0.5 if k > 1 else lake_f
    chan100 = _to_100m(terr.chan_dist, k, "min")
    if d_lake is not None:
        chan100 = np.minimum(chan100, _to_100m(d_lake, k, "min"))
    acc100 = _to_100m(terr.chan_acc, k, "max")
    del terr, d_lake
    rows, cols = np.divmod(np.arange(n * n), n)
    X, Y = frame.cell_xy(rows, cols, GRID_RES)
    del rows, cols
    X, Y = X.reshape(n, n), Y.reshape(n, n)
    inside = shapely.contains_xy(area_m, X, Y) & ~lake100
    inner = shapely.contains_xy(area_m.buffer(-450.0), X, Y) & ~lake100
    zmax = float(np.quantile(z100[inside], 0.8)) if inside.any() else np.inf
    floor = inner & (slope100 < 12) & (chan100 < 600) & (z100 < zmax)
    if floor.sum() < 50:
        floor = inner & (slope100 < 20)

    # 2. townships and their centres
    if villages is None:
        villages = pd.DataFrame(
            {
                "code": [f"V{k + 1:02d}" for k in range(12)],
                "name": [f"V{k + 1:02d}" for k in range(12)],
                "township": "T1",
            }
        )
    for col in ("code", "name", "township"):
        if col not in villages.columns:
            msg = f"generate_region: villages need a '{col}' column; got {list(villages.columns)}"
            raise ValueError(msg)
    vdf = villages.reset_index(drop=True).astype({"code": str, "name": str, "township": str})
    if "township_code" not in vdf.columns:
        vdf["township_code"] = vdf["township"]
    towns: list[_Township] = []
    for (tcode, tname), members in vdf.groupby(["township_code", "township"], sort=True):
        towns.append(_Township(str(tcode), str(tname), members.reset_index(drop=True)))
    _match_seats(towns, seat_df, township_seats)
    if population_per_committee is not None:  # a seat of unknown population places only
        for t in towns:
            if t.seat is not None and int(seat_df["population"][t.seat]) <= 0:
                t.seat = None

    centres: list[tuple[float, float]] = []
    seat_used: set[int] = set()
    fi = np.flatnonzero(floor.ravel())
    fx, fy = X.ravel()[fi], Y.ravel()[fi]
    for t in towns:  # first township of each seat: on the seat
        if t.seat is not None and t.seat not in seat_used:
            seat_used.add(t.seat)
            t.x, t.y = float(sx[t.seat]), float(sy[t.seat])
            centres.append((t.x, t.y))
    for t in towns:  # further townships of a seat: valley floors 2.5-7 km from it
        if t.seat is not None and (t.x, t.y) == (0.0, 0.0):
            d = np.hypot(fx - sx[t.seat], fy - sy[t.seat])
            ok = (d > 2500) & (d < 7000)
            if not ok.any():
                ok = d < 12000
            score = -np.abs(d - 4500.0) / 1500.0 + rng.gumbel(0, 0.5, d.size)
            pick = _pick(fx, fy, np.where(ok, score, -np.inf), 1, 3000.0, centres, 2000.0)
            k = pick[0] if pick else int(np.argmax(np.where(ok, score, -np.inf)))
            t.x, t.y = float(fx[k]), float(fy[k])
            centres.append((t.x, t.y))
    spread = [t for t in towns if t.seat is None]
    if spread:  # townships without a seat: as far from the other centres as possible
        acc = np.log(acc100.ravel()[fi] + 1.0)
        score = acc - slope100.ravel()[fi] / 4.0 + rng.gumbel(0, 1.0, fi.size)
        spacing = 0.35 * math.sqrt(area_m.area)
        chosen: list[int] = []
        while len(chosen) < len(spread) and spacing > 300:
            chosen = _greedy(fx, fy, score, len(spread), spacing, fixed=list(centres))
            spacing *= 0.85
        if len(chosen) < len(spread):
            chosen = _pick(fx, fy, score, len(spread), 300.0, list(centres), 300.0)
        for t, k in zip(spread, chosen, strict=False):
            t.x, t.y = float(fx[k]), float(fy[k])
            centres.append((t.x, t.y))

    # township populations
    for s in sorted(seat_used):
        mine = [t for t in towns if t.seat == s]
        sizes = np.array([len(t.members) for t in mine], dtype=float)
        for t, p in zip(
            mine, _largest_remainder(int(seat_df["population"][s]), sizes), strict=True
        ):
            t.population = int(p)
    per = [t.population / len(t.members) for t in towns if t.seat is not None and len(t.members)]
    default_per = float(np.median(per)) if per else 1500.0
    if population_per_committee is not None:
        default_per = float(population_per_committee)
    for t in spread:
        t.population = round(default_per * len(t.members))

    # 3. villages inside each township's Voronoi share
    from scipy.spatial import cKDTree

    cxy = np.array([(t.x, t.y) for t in towns])
    _, owner_flat = cKDTree(cxy).query(np.c_[X.ravel(), Y.ravel()])
    owner = np.asarray(owner_flat, dtype=np.int64).reshape(n, n)
    del owner_flat
    main = max(range(len(towns)), key=lambda i: (towns[i].seat is not None, towns[i].population))
    places: list[_Place] = []
    rows_out: list[dict[str, Any]] = []
    taken: list[tuple[float, float]] = []
    centre_places: list[_Place] = []
    for ti, t in enumerate(towns):
        names = t.members["name"].tolist()
        urban = np.array([str(nm).endswith(_URBAN_SUFFIXES) for nm in names])
        weights = np.where(urban, 3.0, 1.0) * rng.lognormal(0.0, 0.35, len(names))
        pops = _largest_remainder(t.population, weights) if len(names) else np.zeros(0, int)
        mine = owner == ti
        order = sorted(range(len(names)), key=lambda k: (not urban[k], -pops[k]))
        # the centre committee sits on the township centre
        xy: dict[int, tuple[float, float]] = {order[0]: (t.x, t.y)}
        taken.append((t.x, t.y))
        rest_u = [k for k in order[1:] if urban[k]]
        rest_r = [k for k in order[1:] if not urban[k]]
        if rest_u:
            ok = (mine & inner & (slope100 < 15) & (np.hypot(X - t.x, Y - t.y) < 3500)).ravel()
            ci = np.flatnonzero(ok)
            if ci.size < len(rest_u):
                ci = np.flatnonzero((mine & inner).ravel())
            sc = (
                -np.hypot(X.ravel()[ci] - t.x, Y.ravel()[ci] - t.y) / 1500.0
                - slope100.ravel()[ci] / 6.0
                + rng.gumbel(0, 0.3, ci.size)
            )
            got = _pick(X.ravel()[ci], Y.ravel()[ci], sc, len(rest_u), 450.0, taken, 350.0)
            for k, g in zip(rest_u, got, strict=False):
                xy[k] = (float(X.ravel()[ci[g]]), float(Y.ravel()[ci[g]]))
                taken.append(xy[k])
        if rest_r:
            ok = (mine & inner & (z100 < zmax + 300)).ravel()
            ci = np.flatnonzero(ok)
            if ci.size < len(rest_r):
                ci = np.flatnonzero((mine & inner).ravel())
            w = np.exp(-slope100.ravel()[ci] / 9.0) * np.exp(-chan100.ravel()[ci] / 900.0)
            sc = np.log(w + 1e-12) + rng.gumbel(0, 1.0, ci.size)
            got = _pick(X.ravel()[ci], Y.ravel()[ci], sc, len(rest_r), 900.0, taken, 700.0)
            for k, g in zip(rest_r, got, strict=False):
                xy[k] = (float(X.ravel()[ci[g]]), float(Y.ravel()[ci[g]]))
                taken.append(xy[k])
        missing = [k for k in order if k not in xy]
        if missing:  # a territory too small for its villages: the free cells nearest its centre
            spare = _spare_cells(mine & inner, X, Y, t, xy) or _spare_cells(
                mine & inside, X, Y, t, xy
            )
            for j, k in enumerate(missing):
                xy[k] = spare[j % len(spare)] if spare else (t.x, t.y)
                taken.append(xy[k])
        for k in order:
            x, y = xy[k]
            if k == order[0]:
                kind = (
                    "seat"
                    if ti == main
                    else (
                        "seat_community"
                        if t.seat is not None and t.seat == towns[main].seat
                        else "township_seat"
                    )
                )
            elif urban[k] and t.seat is not None and t.seat == towns[main].seat:
                kind = "seat_community"
            else:
                kind = "village"
            setting = "urban" if urban[k] else "rural"
            place = _Place(
                x,
                y,
                int(pops[k]),
                setting,
                kind,
                name=str(names[k]),
                township=ti,
                code=str(t.members["code"].iloc[k]),
            )
            places.append(place)
            if k == order[0]:
                centre_places.append(place)
            rows_out.append(
                {
                    "code": str(t.members["code"].iloc[k]),
                    "name": str(names[k]),
                    "township": t.name,
                    "township_code": t.code,
                    "x": x,
                    "y": y,
                    "pop": int(pops[k]),
                    "setting": setting,
                    "kind": kind,
                    "centre": k == order[0],
                }
            )
    del owner
    if not any(p.kind == "township_seat" for p in places):  # the road rules need one
        far = max((p for p in places if p.kind != "seat"), key=lambda p: p.pop, default=None)
        if far is not None:
            far.kind = "township_seat"

    # 4. roads (demo rules; lake cells get a prohibitive routing slope)
    routing_slope = np.where(lake100, _ROUTING_SLOPE_WATER, slope100)
    seat_place = next(p for p in places if p.kind == "seat")
    county = _County(
        frame,
        area_m,
        places,
        [t.name for t in towns],
        list(range(len(towns))),
        [],
        z100,
        routing_slope,
        chan100,
        acc100,
        inside,
        seat_place.x,
    )
    rd = _roads(rng, county)
    if connect_centres:
        _connect_centres(rd, centre_places)
    if extra_tracks > 0:
        _extra_tracks(rng, rd, county, extra_tracks)
    nx, ny = _node_xy(rd, rng)
    # the demo's overpass (a bridge without a shared node) where a spot exists
    with contextlib.suppress(RuntimeError):
        nx, ny = _add_bridge(rd, nx, ny)

    # 5. population raster (lake cells hold nobody)
    pop = _population(rng, county)
    moved = float(pop[lake100 & (pop > 0)].sum())
    pop[lake100 & (pop > 0)] = 0.0
    land = (pop > 0) & ~lake100
    if moved > 0 and land.any():
        pop[land] += (moved * pop[land] / pop[land].sum()).astype(np.float32)

    # 6. township territories
    vor = shapely.voronoi_polygons(
        MultiPoint([(t.x, t.y) for t in towns]),
        extend_to=area_m.envelope.buffer(frame.size_m),
        ordered=True,
    )
    town_rows = [
        {
            "code": t.code,
            "name": t.name,
            "seat": "" if t.seat is None else str(seat_df["name"][t.seat]),
            "population": int(t.population),
            "x": t.x,
            "y": t.y,
            "geometry": shapely.intersection(cell, area_m),
        }
        for t, cell in zip(towns, shapely.get_parts(vor), strict=True)
    ]
    return RegionLayers(
        epsg=epsg,
        frame=frame,
        area_m=area_m,
        dem=dem,
        dem_res=float(terrain_res),
        population=pop,
        inside=inside,
        villages=pd.DataFrame(rows_out),
        townships=town_rows,
        roads=rd,
        node_x=nx,
        node_y=ny,
        seats=seat_df,
    )


#: committee names of urban communities (社区, 居委会, 居民委员会); the others are villages
_URBAN_SUFFIXES = ("社区", "社区居委会", "居委会", "居民委员会")


def _spare_cells(
    ok: np.ndarray, X: np.ndarray, Y: np.ndarray, t: _Township, used: Mapping[int, Any]
) -> list[tuple[float, float]]:
    """Cells of ``ok`` by distance from the township centre, without those already used."""
    ci = np.flatnonzero(ok.ravel())
    if ci.size == 0:
        return []
    xs, ys = X.ravel()[ci], Y.ravel()[ci]
    order = np.argsort(np.hypot(xs - t.x, ys - t.y), kind="stable")
    have = {(round(x, 3), round(y, 3)) for x, y in used.values()}
    out = [(float(xs[i]), float(ys[i])) for i in order[: len(have) + 64]]
    return [p for p in out if (round(p[0], 3), round(p[1], 3)) not in have]


def _connect_centres(rd: _Roads, centres: Sequence[_Place]) -> None:
    """A road (secondary) from the network to every township centre that has none."""
    off = [p for p in centres if not rd.on_road[rd.cell(p.x, p.y)]]
    if not off:
        return
    _, pred = rd.from_network()
    for k, p in enumerate(off):
        rd.add(
            _trace(pred, rd.cell(p.x, p.y)),
            {"highway": "secondary", "ref": f"X{900 + k:03d}", "maxspeed": "40"},
        )


def _extra_tracks(
    rng: np.random.Generator, rd: _Roads, county: _County, per_village: float
) -> None:
    """Dead-end tracks from the network into the region: ``per_village`` per rural committee."""
    dist, pred = rd.from_network()
    rural = sum(p.setting == "rural" for p in county.places)
    ok = county.inside100.ravel() & (dist > 800) & (dist < 6000) & (county.slope100.ravel() < 30)
    cand = np.flatnonzero(ok)
    count = min(cand.size, round(per_village * rural))
    if count <= 0:
        return
    for c in rng.choice(cand, size=count, replace=False):
        rd.add(
            _trace(pred, int(c))[::-1],
            {"highway": "track", "tracktype": "grade4", "surface": "ground"},
        )


def generate_region(
    boundary_wgs84: Any,
    out_dir: str | Path,
    *,
    seats: Any = None,
    villages: pd.DataFrame | None = None,
    seed: int = 532901,
    resolution_m: float = 50.0,
    township_seats: Mapping[str, str | None] | None = None,
    lakes: Any = None,
    lake_level_m: float = 1966.0,
    ridges: Sequence[tuple[Any, float]] = (),
    margin_m: float = 10000.0,
) -> dict[str, Path]:
    """Write generated roads, DEM, population raster and village positions for a real region.

    Parameters
    ----------
    boundary_wgs84 : shapely geometry or GeoDataFrame
        The real region (county) boundary in WGS84; a GeoDataFrame is unioned.
    out_dir : str or Path
        Folder to write into (created when missing).
    seats : GeoDataFrame or DataFrame, optional
        Real seats (towns): ``name``, ``population`` and point geometry (or ``lon``/``lat``);
        optional ``name_zh`` and ``alternatenames`` (``;``-separated) for name matching.
        Without seats one generated centre per township is spread over the valleys.
    villages : DataFrame, optional
        Real village committees: ``code``, ``name``, ``township`` (township name); optional
        ``township_code``. Without it, 12 villages named ``V01``... in one township are made.
    seed : int, default 532901
        Seed of the random generator.
    resolution_m : float, default 50
        Cell size of the written DEM (generated at 50 m, resampled when different).
    township_seats : Mapping, optional
        Township name -> seat name (``None`` = no seat), overriding the name matching.
    lakes : shapely geometry, optional
        Lakes in WGS84 (flat at ``lake_level_m``, no villages, no roads across).
    lake_level_m : float, default 1966
        Lake surface elevation (Erhai's is about 1,966 m).
    ridges : sequence of (LineString, float)
        Ridge crests in WGS84 with the height (m) they add at the crest.
    margin_m : float, default 10000
        Margin of the generated frame around the boundary's bbox.

    Returns
    -------
    dict of str to Path
        ``dem``, ``population``, ``roads``, ``villages``, ``townships`` (see the module
        docstring).

    Raises
    ------
    ValueError
        Bad seats/villages tables, an unknown seat in ``township_seats``, a resolution
        outside 10-1000 m.
    """
    if not 10.0 <= float(resolution_m) <= 1000.0:
        msg = f"generate_region: resolution_m={resolution_m} is outside 10-1000 m"
        raise ValueError(msg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lay = build_region(
        boundary_wgs84,
        seats=seats,
        villages=villages,
        seed=seed,
        township_seats=township_seats,
        lakes=lakes,
        lake_level_m=lake_level_m,
        ridges=ridges,
        margin_m=margin_m,
    )
    frame, epsg = lay.frame, lay.epsg
    paths = {
        k: out / f"{k}{ext}"
        for k, ext in (
            ("dem", ".tif"),
            ("population", ".tif"),
            ("roads", ".osm"),
            ("villages", ".csv"),
            ("townships", ".geojson"),
        )
    }
    _write_osm(paths["roads"], lay.roads, lay.node_x, lay.node_y)
    _write_raster(paths["population"], lay.population, frame, GRID_RES, POP_NODATA, epsg)

    # DEM at the requested resolution
    res = float(resolution_m)
    dem_out = lay.dem
    if abs(res - DEM_RES) > 1e-9:
        m = max(1, round(frame.size_m / res))
        dem_out = ndimage.zoom(lay.dem, m / lay.dem.shape[0], order=1)
        res = frame.size_m / dem_out.shape[0]
    _write_raster(paths["dem"], dem_out, frame, res, DEM_NODATA, epsg)

    # villages and townships
    rows_out = lay.villages
    lon, lat = frame.lonlat(rows_out["x"].to_numpy(), rows_out["y"].to_numpy())
    with paths["villages"].open("w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["code", "name", "township", "lon", "lat", "pop", "setting"])
        for r, lo, la in zip(
            rows_out[["code", "name", "township", "pop", "setting"]].itertuples(index=False),
            lon.tolist(),
            lat.tolist(),
            strict=True,
        ):
            wr.writerow([r.code, r.name, r.township, f"{lo:.6f}", f"{la:.6f}", r.pop, r.setting])
    feats = []
    for t in lay.townships:
        part_wgs = shapely.transform(
            t["geometry"], lambda xy: np.round(np.c_[frame.lonlat(xy[:, 0], xy[:, 1])], 6)
        )
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "code": t["code"],
                    "name": t["name"],
                    "seat": t["seat"],
                    "population": t["population"],
                    "generated": True,
                },
                "geometry": shapely.geometry.mapping(part_wgs),
            }
        )
    doc = {"type": "FeatureCollection", "name": "townships", "features": feats}
    paths["townships"].write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return paths
