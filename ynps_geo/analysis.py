"""The analysis of one county: inputs in, per-village and per-person results out.

A county is processed with a margin around it (roads and facilities beyond the border are
used, so trips across it are found). The province is processed county by county, so the work
splits naturally across processes or a cluster, and one county's bad data never loses the
others (see :mod:`ynps_geo.workflows`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ynps_geo import settings
from ynps_geo._geo import reproject_geometry, utm_epsg
from ynps_geo.coverage import covered
from ynps_geo.errors import ValidationError
from ynps_geo.model.grid import GridSpec
from ynps_geo.model.standards import PlanStandard
from ynps_geo.options import Options  # the analysis' options (here for older imports)

log = logging.getLogger(__name__)


@dataclass
class Inputs:
    """Everything read for an analysis, in EPSG:4326.

    Attributes
    ----------
    counties : GeoDataFrame
        ``county`` and polygon geometry.
    villages : GeoDataFrame or None
        ``village_id, name, population, setting`` (+ ``county`` after assignment).
    facilities : GeoDataFrame
        ``facility_id, name, category, subtype`` and capacity columns.
    roads : RoadNetwork or None
    dem_path, population_path : Path or None
    """

    counties: Any
    villages: Any | None
    facilities: Any
    roads: Any | None = None
    dem_path: Path | None = None
    population_path: Path | None = None
    barriers: Any | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class CountyResult:
    """Results of one county."""

    county: str
    villages: pd.DataFrame | None
    people: pd.DataFrame | None
    isochrones: list[dict[str, Any]]
    grid: GridSpec
    #: the county's part of capacity-aware access; :func:`finish_access` turns the parts of
    #: all counties into access (demand gathered across borders)
    access_part: AccessPart | None = None
    facility_isochrones: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: (standard id, mode) -> float32 (H, W) minutes (km for distance standards) on
    #: ``surface_grid``, NaN outside the county polygon (see :attr:`Options.surfaces`)
    surfaces: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    #: the part of ``grid`` holding the county's cells, which the surfaces cover (its
    #: margin is all NaN, so it is not kept: a province's surfaces take half the memory)
    surface_grid: GridSpec | None = None


def progress_bar(
    items: Any, what: str, *, enabled: bool | None, unit: str = "it", total: int | None = None
) -> Any:
    """``items`` wrapped in a ``tqdm.auto`` bar (a widget in Jupyter) when ``enabled``.

    ``enabled=None`` shows the bar on an interactive terminal when logging is at INFO or
    more verbose (so ``ynps-geo -q`` silences it); True shows it (``ynps_geo.analyze``'s
    default, a widget in Jupyter); False never. Without tqdm, the items themselves.
    ``total`` is the count of an iterator without a length.
    """
    import sys

    if enabled is None:
        quiet = logging.getLogger("ynps_geo").getEffectiveLevel() > logging.INFO
        enabled = sys.stderr.isatty() and not quiet
    if not enabled:
        return items
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=what, unit=unit, leave=False, total=total)


def facility_matches(facilities: pd.DataFrame, group: Sequence[str]) -> np.ndarray:
    """Boolean mask of facilities whose category or subtype is named in ``group``."""
    names = set(group)
    cat = facilities["category"].astype(str).isin(names).to_numpy()
    sub = (
        facilities["subtype"].astype(str).isin(names).to_numpy()
        if "subtype" in facilities
        else False
    )
    return cat | sub


def barrier_mask(barriers: Any, grid: GridSpec) -> np.ndarray:
    """Cells of ``grid`` covered by barrier geometries (polygons; lines mark every cell touched)."""
    from rasterio.features import rasterize

    geoms = barriers.to_crs(grid.crs).geometry
    shapes = [(g, 1) for g in geoms if g is not None and not g.is_empty]
    if not shapes:
        return np.zeros(grid.shape, dtype=bool)
    polys = [(g, v) for g, v in shapes if g.geom_type in ("Polygon", "MultiPolygon")]
    lines = [(g, v) for g, v in shapes if g.geom_type not in ("Polygon", "MultiPolygon")]
    mask = np.zeros(grid.shape, dtype=np.uint8)
    if polys:
        mask |= rasterize(polys, out_shape=grid.shape, transform=grid.transform(), dtype="uint8")
    if lines:
        mask |= rasterize(
            lines, out_shape=grid.shape, transform=grid.transform(), all_touched=True, dtype="uint8"
        )
    return mask.astype(bool)


def _fill_voids(dem: np.ndarray) -> tuple[np.ndarray, float]:
    """Fill nan cells (SRTM voids, outside coverage) with the nearest valid elevation."""
    bad = ~np.isfinite(dem)
    frac = float(bad.mean()) if dem.size else 0.0
    if not bad.any():
        return dem, 0.0
    if bad.all():
        return np.zeros_like(dem), 1.0
    from scipy.ndimage import distance_transform_edt

    idx = distance_transform_edt(bad, return_distances=False, return_indices=True)
    return dem[tuple(idx)], frac


#: a populated cell takes the setting of the nearest village within this distance (metres)
SETTING_RADIUS_M = 2000.0


def _settings_for_people(
    people_xy: np.ndarray,
    pop_density: np.ndarray,
    villages_xy: np.ndarray | None,
    village_setting: np.ndarray | None,
) -> np.ndarray:
    """Urban/rural setting of raster cells: the nearest village's (within 2 km), else density.

    Cells with no village within :data:`SETTING_RADIUS_M` are urban when their density is at
    least 1,500 people per km2 (the GHS/Eurostat urban-cluster density), rural otherwise.
    """
    out = np.where(pop_density >= 1500.0, "urban", "rural").astype(object)
    if villages_xy is not None and len(villages_xy):
        from scipy.spatial import cKDTree

        d, i = cKDTree(villages_xy).query(people_xy, k=1)
        near = d <= SETTING_RADIUS_M
        out[near] = np.asarray(village_setting, dtype=object)[i[near]]
    return out


#: share of DEM grid cells without elevation above which the report carries a warning
DEM_VOID_WARN = 0.05


def _extent(bounds: tuple[float, float, float, float] | Any) -> str:
    x0, y0, x1, y1 = (float(v) for v in bounds)
    return f"lon {x0:.4f}..{x1:.4f}, lat {y0:.4f}..{y1:.4f}"


def _raster_extent(path: Path) -> str:
    from ynps_geo.io.raster import raster_summary

    return _extent(raster_summary(path, what="DEM", area_wgs84=None)["bounds_wgs84"])


def _county_cells(geom_m: Any, grid: GridSpec) -> np.ndarray:
    """Cells of ``grid`` whose centre lies inside the county polygon (in the grid's CRS)."""
    from rasterio.features import geometry_mask

    return ~geometry_mask([geom_m], out_shape=grid.shape, transform=grid.transform())


def check_grid_size(grid: GridSpec, options: Options) -> None:
    """Refuse a grid too large to hold in memory (a tiny ``resolution_m`` or huge ``margin_m``).

    Raises
    ------
    ValidationError
        More than :data:`ynps_geo.settings.max_grid_cells` cells.
    """
    if grid.size > settings.max_grid_cells:
        msg = (
            f"the analysis grid would have {grid.size:,} cells ({grid.height} x {grid.width} at "
            f"resolution_m {options.resolution_m:g} with margin_m {options.margin_m:g}), more "
            f"than the limit of {settings.max_grid_cells:,}. Fix: use a coarser resolution_m "
            "or a smaller margin_m"
        )
        raise ValidationError(msg)


def county_area_wgs84(geom_wgs84: Any, margin_m: float) -> Any:
    """The county polygon grown by ``margin_m`` metres (in its UTM zone), in EPSG:4326."""
    c = geom_wgs84.centroid
    epsg = utm_epsg(c.x, c.y)
    grown = reproject_geometry(geom_wgs84, "EPSG:4326", epsg).buffer(margin_m)
    return reproject_geometry(grown, epsg, "EPSG:4326")


def county_cells(geom_wgs84: Any, options: Options) -> int:
    """About how many grid cells a county's analysis searches (the county and its margin).

    Cheap (the area of the county in its UTM zone, grown by the margin): used to hand the
    largest counties to workers first, so that no worker is left with a big one at the end.
    """
    c = geom_wgs84.centroid
    geom_m = reproject_geometry(geom_wgs84, "EPSG:4326", utm_epsg(c.x, c.y))
    area = geom_m.buffer(options.margin_m, quad_segs=4).area
    return int(np.ceil(area / options.resolution_m**2))


@dataclass
class CountySetup:
    """One county made ready for searching (see :func:`build_county_engine`).

    Attributes
    ----------
    engine : TravelEngine
        Facilities are engine rows ``0..len(facilities)-1``; extra points follow.
    grid : GridSpec
    epsg : int
        Metric CRS of the grid.
    fwd : pyproj.Transformer
        EPSG:4326 -> grid CRS.
    geom_m : shapely geometry
        The county polygon in the grid CRS.
    area_wgs : shapely geometry
        The county and its margin, EPSG:4326.
    facilities : GeoDataFrame
        Facilities within the county and its margin (index reset).
    villages : GeoDataFrame or None
        The county's villages (index reset).
    vx, vy : numpy.ndarray
        Village coordinates in the grid CRS.
    notes : list of str
    """

    engine: Any
    grid: GridSpec
    epsg: int
    fwd: Any
    geom_m: Any
    area_wgs: Any
    facilities: Any
    villages: Any | None
    vx: np.ndarray
    vy: np.ndarray
    notes: list[str]


def build_county_engine(
    county: str,
    geom_wgs84: Any,
    inputs: Inputs,
    options: Options,
    *,
    villages: Any | None = None,
    extra_points: Any | None = None,
) -> CountySetup:
    """The travel engine of one county: grid, terrain, roads, villages and facilities.

    Parameters
    ----------
    county : str
        County name; its villages are ``inputs.villages[county == county]`` unless
        ``villages`` is given.
    geom_wgs84 : shapely geometry
        The county polygon.
    inputs : Inputs
    options : Options
    villages : GeoDataFrame, optional
        Villages to use instead of the county's.
    extra_points : GeoDataFrame, optional
        Points (EPSG:4326) joined as extra facility nodes after the facilities, e.g. candidate
        sites; facility nodes have no incoming edges, so they change no other travel time.
    """
    from pyproj import Transformer

    from ynps_geo.engine import TravelEngine
    from ynps_geo.io.raster import reproject_to_grid

    notes: list[str] = []
    c = geom_wgs84.centroid
    epsg = utm_epsg(c.x, c.y)
    fwd = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    geom_m = reproject_geometry(geom_wgs84, "EPSG:4326", epsg)
    area_m = geom_m.buffer(options.margin_m)
    grid = GridSpec.covering(epsg, area_m.bounds, options.resolution_m)
    area_wgs = reproject_geometry(area_m, epsg, "EPSG:4326")

    check_grid_size(grid, options)
    # terrain
    if inputs.dem_path is not None:
        raw = reproject_to_grid(inputs.dem_path, grid, what="DEM")
        if not np.isfinite(raw).any():
            msg = (
                f"DEM {inputs.dem_path} has no valid elevation in county {county}'s area (the "
                f"county and its margin: {_extent(area_wgs.bounds)}); the DEM covers "
                f"{_raster_extent(inputs.dem_path)}. Fix: give a DEM that covers the county "
                "(and check its CRS and nodata value), or leave dem out for flat terrain"
            )
            raise ValidationError(msg)
        dem, void = _fill_voids(raw)
        in_county = _county_cells(geom_m, grid)
        county_void = float((~np.isfinite(raw))[in_county].mean()) if in_county.any() else 0.0
        if county_void > DEM_VOID_WARN:
            notes.append(
                f"warning: {county_void:.1%} of the county's DEM cells have no elevation (voids "
                f"or outside {Path(inputs.dem_path).name}, which covers "
                f"{_raster_extent(inputs.dem_path)}; the county and its margin span "
                f"{_extent(area_wgs.bounds)}); they were filled from the nearest valid cell, so "
                "slopes there are guesses. Fix: give a DEM covering the county and its margin"
            )
            log.warning("county %s: %s", county, notes[-1])
        elif void > 0:
            notes.append(
                f"{void:.1%} of the DEM grid had no elevation (voids or outside the DEM) "
                "and was filled from the nearest valid cell"
            )
    else:
        dem = np.zeros(grid.shape)
        notes.append("no DEM given: walking assumes flat terrain")
    # the grid is the box around the county and its margin; walking stays in the margin
    # (the facilities are those within it), so the box's corners are not searched
    dem[~_county_cells(area_m, grid)] = np.nan

    # roads and facilities of the county and its margin
    roads = None
    if inputs.roads is not None:
        roads = inputs.roads.clip(area_wgs.bounds)
        if roads.n_edges == 0:
            roads = None
            notes.append(
                "no roads within the county and its margin: travel is off-road walking only"
            )
    fac = inputs.facilities
    fac = fac[fac.geometry.within(area_wgs)].reset_index(drop=True)

    def xy(gdf: Any) -> tuple[np.ndarray, np.ndarray]:
        if gdf is None or not len(gdf):
            return np.zeros(0), np.zeros(0)
        x, y = fwd.transform(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    vil = villages
    if vil is None and inputs.villages is not None:
        vil = inputs.villages[inputs.villages["county"] == county].reset_index(drop=True)
    vx, vy = xy(vil)
    fx, fy = xy(fac)
    ex, ey = xy(extra_points)
    engine = TravelEngine.build(
        grid,
        dem,
        roads,
        (vx, vy),
        (np.r_[fx, ex], np.r_[fy, ey]),
        connectivity=options.connectivity,
    )
    engine.walking_speed_kmh = options.walking_speed_kmh
    engine.offroad_factor = options.offroad_factor
    engine.max_slope_deg = options.max_slope_deg
    if inputs.barriers is not None and len(inputs.barriers):
        engine.barrier = barrier_mask(inputs.barriers, grid)
        notes.append(
            f"{int(engine.barrier.sum())} grid cells are barriers (water, cliffs) "
            "that walking cannot cross"
        )
    return CountySetup(engine, grid, epsg, fwd, geom_m, area_wgs, fac, vil, vx, vy, notes)


def analyze_county(
    county: str,
    geom_wgs84: Any,
    inputs: Inputs,
    standards: Sequence[PlanStandard],
    options: Options,
    *,
    setup: CountySetup | None = None,
) -> CountyResult:
    """Travel times, covered flags and isochrones for one county.

    The steps: build the county's engine (:func:`build_county_engine`), place the people of
    the population raster (:func:`county_people`), run one search per (mode, facility
    group) the standards need (:class:`CountySearches`), then per standard the villages'
    values (:func:`village_values`), the people's (:func:`people_values`), the surface and
    the isochrones (:func:`standard_isochrones`); then one isochrone per facility
    (:func:`county_facility_isochrones`) and the county's part of capacity-aware access
    (:func:`county_access_part`; :func:`finish_access` completes it once every county's
    part is in).

    Parameters
    ----------
    county : str
        County name (as in the boundary layer).
    geom_wgs84 : shapely geometry
        The county polygon.
    inputs : Inputs
    standards : sequence of PlanStandard
        Circle standards to evaluate.
    options : Options
    setup : CountySetup, optional
        The county's engine, already built (default: built here with
        :func:`build_county_engine`); :mod:`ynps_geo.scenario` passes one shared by a
        baseline and a scenario.

    Returns
    -------
    CountyResult
    """
    import time

    import geopandas as gpd

    t0 = time.perf_counter()
    if setup is None:
        setup = build_county_engine(county, geom_wgs84, inputs, options)
    engine, grid, geom_m = setup.engine, setup.grid, setup.geom_m
    fac, vil = setup.facilities, setup.villages
    notes = list(setup.notes)

    people, people_cell = county_people(county, geom_wgs84, inputs, setup)
    searches = CountySearches.run(
        county, engine, fac, standards, settings_present(vil, people), options
    )
    isos: list[dict[str, Any]] = []
    surfaces: dict[tuple[str, str], np.ndarray] = {}
    outside = _outside_county(geom_m, grid) if options.surfaces else None
    sgrid, window = _county_window(grid, outside) if outside is not None else (None, ())
    for s in standards:
        combined = {m: searches.combine(m, s) for m in searches.modes_used(s)}
        if vil is not None:
            village_values(s, vil, fac, searches, combined)
        if people is not None:
            people_values(s, people, people_cell, grid, combined)
        if outside is not None:
            for m in sorted(searches.modes_used(s)):
                surface = (engine.cell_values(combined[m][0]) * _scale(s)).astype(np.float32)
                surface[outside] = np.nan
                surfaces[(s.id, m)] = surface[window].copy()
        if options.isochrones:
            isos += standard_isochrones(
                county, s, searches.modes_used(s), combined, setup, people, people_cell
            )
    fiso = county_facility_isochrones(
        county, standards, searches, setup, people, people_cell, options
    )
    acc = None
    if vil is not None and options.access and len(vil) and len(fac):
        acc = county_access_part(county, engine, vil, fac, options)
    if vil is not None:
        vil = gpd.GeoDataFrame(vil, geometry="geometry", crs="EPSG:4326")
    return CountyResult(
        county,
        vil,
        people,
        isos,
        grid,
        acc,
        fiso,
        time.perf_counter() - t0,
        notes,
        surfaces,
        sgrid,
    )


def _county_window(grid: GridSpec, outside: np.ndarray) -> tuple[GridSpec, tuple[slice, slice]]:
    """The smallest part of ``grid`` holding every cell not ``outside`` (the whole grid when
    there is none), as a grid of its own and the slices that cut it out."""
    rows = np.flatnonzero(~outside.all(axis=1))
    cols = np.flatnonzero(~outside.all(axis=0))
    if not len(rows):
        return grid, (slice(None), slice(None))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    sub = GridSpec(
        grid.epsg, grid.x0 + c0 * grid.res, grid.y0 - r0 * grid.res, grid.res, c1 - c0, r1 - r0
    )
    return sub, (slice(r0, r1), slice(c0, c1))


_SCALE = {"min": 1 / 60.0, "km": 1 / 1000.0}


def _scale(s: PlanStandard) -> float:
    """Seconds (or metres) to the standard's unit."""
    return _SCALE[s.unit or "min"]


def county_people(
    county: str, geom_wgs84: Any, inputs: Inputs, setup: CountySetup
) -> tuple[pd.DataFrame | None, np.ndarray]:
    """People of the population raster inside the county, their setting and grid cell.

    A cell's setting is the nearest village's within :data:`SETTING_RADIUS_M`, whichever
    county that village belongs to (borders are not walls: a cell at the edge of one county
    may lie next to another county's town), else its density.

    Returns
    -------
    people : DataFrame or None
        ``county, lon, lat, population, setting`` per populated cell (None without raster).
    people_cell : numpy.ndarray
        Flat grid cell of each (``-1`` off the grid).
    """
    from ynps_geo.io.raster import population_cells

    if inputs.population_path is None:
        return None, np.zeros(0, dtype=np.int64)
    vil, grid = setup.villages, setup.grid
    pcells = population_cells(inputs.population_path, geom_wgs84)
    px, py = setup.fwd.transform(pcells.lon, pcells.lat)
    px, py = np.asarray(px), np.asarray(py)
    density = pcells.population / (pcells.cell_area_m2 / 1e6)
    near = _villages_near(inputs.villages, geom_wgs84) if inputs.villages is not None else vil
    near_xy = near_setting = None
    if near is not None:
        nx, ny = setup.fwd.transform(near.geometry.x.to_numpy(), near.geometry.y.to_numpy())
        near_xy = np.column_stack([np.asarray(nx), np.asarray(ny)])
        near_setting = near["setting"].to_numpy()
    setting = _settings_for_people(np.column_stack([px, py]), density, near_xy, near_setting)
    people = pd.DataFrame(
        {
            "county": county,
            "lon": pcells.lon,
            "lat": pcells.lat,
            "population": pcells.population,
            "setting": setting,
        }
    )
    prow, pcol = grid.rowcol(px, py)
    return people, np.where(grid.inside(prow, pcol), prow * grid.width + pcol, -1)


def _villages_near(villages: Any, geom_wgs84: Any) -> Any:
    """Villages of any county within :data:`SETTING_RADIUS_M` of the county polygon."""
    area = county_area_wgs84(geom_wgs84, SETTING_RADIUS_M + 50.0)  # chords cut arcs: pad
    idx = villages.sindex.query(area, predicate="intersects")
    return villages.iloc[np.sort(idx)]


def settings_present(vil: pd.DataFrame | None, people: pd.DataFrame | None) -> set[str]:
    """The settings (urban, rural) of the county's villages and people."""
    out: set[str] = set()
    for frame in (vil, people):
        if frame is not None:
            out |= {str(v) for v in pd.unique(frame["setting"].to_numpy())}
    return out


@dataclass
class CountySearches:
    """The searches of one county: cost to the nearest facility of each (mode, group).

    Attributes
    ----------
    engine : TravelEngine
    present : set of str
        Settings present in the county.
    results : dict
        ``(mode, group) -> (dist, nearest)`` per node.
    """

    engine: Any
    present: set[str]
    results: dict[tuple[str, tuple[str, ...]], tuple[np.ndarray, np.ndarray]]
    _road: dict[tuple[str, tuple[str, ...]], np.ndarray] = field(default_factory=dict)

    @classmethod
    def run(
        cls,
        county: str,
        engine: Any,
        fac: pd.DataFrame,
        standards: Sequence[PlanStandard],
        present: set[str],
        options: Options,
    ) -> CountySearches:
        """One multi-group search per mode over the groups the standards need there."""
        jobs: dict[str, list[tuple[str, ...]]] = {}
        for s in standards:
            for st in ("urban", "rural"):
                if st in present and s.applies(st):
                    groups = jobs.setdefault(s.mode_for(st), [])
                    for g in s.facilities:
                        if g not in groups:
                            groups.append(g)
        results: dict[tuple[str, tuple[str, ...]], tuple[np.ndarray, np.ndarray]] = {}
        sets: dict[tuple[str, ...], np.ndarray] = {}
        for groups in jobs.values():
            for g in groups:
                if g not in sets:
                    sets[g] = (
                        np.nonzero(facility_matches(fac, g))[0]
                        if len(fac)
                        else np.zeros(0, np.int64)
                    )
        drive = jobs.get("drive", []) if engine.access().n_nodes else []
        # every search but the drive ones in one parallel batch (walking and distance share
        # the cores); a drive search starts from the walking search of its facilities, so
        # the walking searches of the drive groups are made in the batch too
        batch = [(m, g) for m, groups in jobs.items() if m != "drive" or not drive for g in groups]
        batch += [("walk", g) for g in drive if ("walk", g) not in batch]
        bar = progress_bar(
            range(2 if drive else 1), f"{county}: searches", enabled=options.progress, unit="step"
        )
        for step in bar:
            if step == 0 and batch:
                rows = engine.search_batch([(m, sets[g]) for m, g in batch])
                results.update(zip(batch, rows, strict=True))
            elif step == 1:
                walked = [results[("walk", g)] for g in drive]
                dist, nearest = engine.search("drive", [sets[g] for g in drive], walked=walked)
                for i, g in enumerate(drive):
                    results[("drive", g)] = (dist[i], nearest[i])
        return cls(engine, present, results)

    def modes_used(self, s: PlanStandard) -> set[str]:
        """Modes the standard is measured in for the settings present."""
        return {s.mode_for(st) for st in ("urban", "rural") if st in self.present and s.applies(st)}

    def has(self, mode: str, s: PlanStandard) -> bool:
        """Whether every group of ``s`` was searched in ``mode``."""
        return all((mode, g) in self.results for g in s.facilities)

    def combine(self, mode: str, s: PlanStandard) -> tuple[np.ndarray, np.ndarray]:
        """Per node: the largest over groups of the nearest cost, and that facility."""
        if len(s.facilities) == 1:  # the search's own rows (read, never written)
            return self.results[(mode, s.facilities[0])]
        dists = np.stack([self.results[(mode, g)][0] for g in s.facilities])
        nears = np.stack([self.results[(mode, g)][1] for g in s.facilities])
        k = np.argmax(dists, axis=0)
        cols = np.arange(dists.shape[1])
        return dists[k, cols], nears[k, cols]

    def village_road_part(self, mode: str, s: PlanStandard) -> np.ndarray:
        """Road cost of each village's binding trip (the group that sets the value)."""
        engine = self.engine
        parts, dists = [], []
        for g in s.facilities:
            if (mode, g) not in self._road:
                d = self.results[(mode, g)][0]
                self._road[(mode, g)] = engine.road_part_at(mode, d, engine.village_nodes(mode))
            parts.append(self._road[(mode, g)])
            dists.append(engine.village_values(self.results[(mode, g)][0]))
        k = np.argmax(np.stack(dists), axis=0)
        return np.stack(parts)[k, np.arange(len(k))]


def village_values(
    s: PlanStandard,
    vil: pd.DataFrame,
    fac: pd.DataFrame,
    searches: CountySearches,
    combined: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    """Add a standard's columns to the villages (in place): value, covered, applies, road
    and off-road parts, nearest facility id and name. ``combined`` gains the modes of
    settings the standard does not apply to when their searches exist (the time is known).
    """
    engine = searches.engine
    f = _scale(s)
    val = np.full(len(vil), np.nan)
    road = np.full(len(vil), np.nan)
    near = np.full(len(vil), -1, dtype=np.int64)
    applies = np.zeros(len(vil), dtype=bool)
    for st in ("urban", "rural"):
        m = s.mode_for(st)
        sel = (vil["setting"] == st).to_numpy()
        if m not in combined and searches.has(m, s):
            combined[m] = searches.combine(m, s)  # not applicable here, but the time is known
        if m not in combined:
            continue
        d, n = combined[m]
        vd = engine.village_values(d) * f
        vn = engine.village_values(n)
        val[sel] = vd[sel]
        near[sel] = vn[sel]
        applies[sel] = s.applies(st)
        if s.unit == "min":
            road[sel] = searches.village_road_part(m, s)[sel] * f
    vil[s.value_column] = val
    vil[s.covered_column] = covered(val, s.limit)
    vil[f"{s.id}_applies"] = applies
    if s.unit == "min":
        vil[f"{s.id}_road_minutes"] = road
        vil[f"{s.id}_offroad_minutes"] = val - road
    vil[f"{s.id}_facility_id"] = np.where(
        near >= 0,
        fac["facility_id"].to_numpy()[np.maximum(near, 0)] if len(fac) else "",
        "",
    )
    vil[f"{s.id}_facility"] = np.where(
        near >= 0,
        fac["name"].astype(str).to_numpy()[np.maximum(near, 0)] if len(fac) else "",
        "",
    )


def people_values(
    s: PlanStandard,
    people: pd.DataFrame,
    people_cell: np.ndarray,
    grid: GridSpec,
    combined: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    """Add a standard's value, covered and applies columns to the people (in place)."""
    f = _scale(s)
    pval = np.full(len(people), np.inf)
    papp = np.zeros(len(people), dtype=bool)
    for st in ("urban", "rural"):
        sel = (people["setting"] == st).to_numpy()
        m = s.mode_for(st)
        papp[sel] = s.applies(st)
        if m in combined and combined[m][0] is not None:
            cd = combined[m][0][: grid.size]
            ok = sel & (people_cell >= 0)
            pval[ok] = cd[people_cell[ok]] * f
    people[s.value_column] = pval
    people[s.covered_column] = covered(pval, s.limit)
    people[f"{s.id}_applies"] = papp


def standard_isochrones(
    county: str,
    s: PlanStandard,
    modes_used: set[str],
    combined: dict[str, tuple[np.ndarray, np.ndarray]],
    setup: CountySetup,
    people: pd.DataFrame | None,
    people_cell: np.ndarray,
) -> list[dict[str, Any]]:
    """The dissolved isochrone of a standard per mode, cut by the county, with its people."""
    from ynps_geo.isochrones import isochrone_geometry, to_wgs84

    f = _scale(s)
    rows: list[dict[str, Any]] = []
    for m in sorted(modes_used):
        d = combined[m][0]
        if d is None:
            continue
        cells = setup.engine.cell_values(d) * f
        g_m = isochrone_geometry(cells, s.limit, setup.grid)
        g_m = g_m.intersection(setup.geom_m)
        pop_in = float("nan")
        if people is not None:
            pv = np.where(people_cell >= 0, cells.ravel()[np.maximum(people_cell, 0)], np.inf)
            pop_in = float(people.loc[covered(pv, s.limit), "population"].sum())
        rows.append(
            {
                "county": county,
                "standard_id": s.id,
                "mode": m,
                "threshold": s.limit,
                "unit": s.unit,
                "population_inside": pop_in,
                "area_km2": g_m.area / 1e6,
                "geometry": to_wgs84(g_m, setup.epsg),
            }
        )
    return rows


def county_facility_isochrones(
    county: str,
    standards: Sequence[PlanStandard],
    searches: CountySearches,
    setup: CountySetup,
    people: pd.DataFrame | None,
    people_cell: np.ndarray,
    options: Options,
) -> list[dict[str, Any]]:
    """One isochrone per facility of single-group standards (walking ones unless ``all``)."""
    from ynps_geo.isochrones import facility_isochrones, to_wgs84

    fac = setup.facilities
    fiso: list[dict[str, Any]] = []
    if options.facility_isochrones == "none" or not len(fac):
        return fiso
    columns = {c: fac[c].to_numpy() for c in ("facility_id", "name", "category", "subtype")}
    pop = people["population"].to_numpy() if people is not None else None
    done: set[tuple[tuple[str, ...], str, float]] = set()
    for s in progress_bar(
        list(standards), f"{county}: facility isochrones", enabled=options.progress
    ):
        if len(s.facilities) != 1:
            continue
        for m in sorted(searches.modes_used(s)):
            if options.facility_isochrones == "walk" and m != "walk":
                continue
            key = (s.facilities[0], m, s.limit)
            if key in done:
                continue
            done.add(key)
            rows = np.nonzero(facility_matches(fac, s.facilities[0]))[0]
            polys = facility_isochrones(
                setup.engine,
                rows,
                m,
                s.limit,
                _scale(s),
                people_cell if people is not None else None,
                pop,
            )
            for r, g_m, inside in polys:
                fiso.append(
                    {
                        "county": county,
                        **{c: v[r] for c, v in columns.items()},
                        "standard_id": s.id,
                        "mode": m,
                        "threshold": s.limit,
                        "unit": s.unit,
                        "population_inside": inside,
                        "area_km2": g_m.area / 1e6,
                        "geometry": g_m,
                    }
                )
    if fiso:  # every polygon to WGS84 in one transform
        wgs = to_wgs84(np.array([f["geometry"] for f in fiso], dtype=object), setup.epsg)
        for f, g in zip(fiso, wgs, strict=True):
            f["geometry"] = g
    return fiso


def _outside_county(geom_m: Any, grid: GridSpec) -> np.ndarray:
    """Cells of ``grid`` whose centre lies outside the county polygon (grid CRS)."""
    from rasterio.features import geometry_mask

    return geometry_mask([geom_m], out_shape=grid.shape, transform=grid.transform())


#: capacity attributes measured with 2SFCA, and the facilities that hold them
ACCESS_CAPACITIES: dict[str, tuple[str, ...]] = {
    "beds": ("health",),
    "doctors": ("health",),
    "places": ("childcare",),
}


@dataclass
class AccessPart:
    """One county's share of capacity-aware access (2SFCA), before demand is gathered.

    People cross county lines: a facility near a border serves villages of every county
    around it, so its supply-to-demand ratio needs the demand of all of them. Each county
    task therefore returns its part (:func:`county_access_part`), and :func:`finish_access`
    adds the parts' demand per facility before computing any village's access. Every table
    is small: pairs within the catchment only.

    Attributes
    ----------
    county : str
    villages : DataFrame
        ``village_id, county, population`` of the county's villages (row ``i`` is village
        ``i`` of ``pairs``).
    capacities : list of str
        Capacity attributes measured (those the facilities have a column for).
    pairs : DataFrame
        ``capacity, village, facility_id, minutes``: every (village, facility with a known
        capacity) pair within ``access_threshold_min`` in ``access_mode`` (inclusive).
    supply : DataFrame
        ``capacity, facility_id, supply`` of the facilities with a known capacity within the
        county and its margin.
    demand : DataFrame
        ``capacity, facility_id, demand_zones, demand_step``: the county's villages'
        weighted demand in each facility's catchment (enhanced 2SFCA zones and classic
        step); additive across counties.
    missing : dict
        capacity -> ids of the facilities of its kind without a value (left out).
    """

    county: str
    villages: pd.DataFrame
    capacities: list[str]
    pairs: pd.DataFrame
    supply: pd.DataFrame
    demand: pd.DataFrame
    missing: dict[str, list[Any]]


def _access_minutes(
    engine: Any, rows: np.ndarray, options: Options
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Village x facility travel minutes within the 2SFCA catchment, as sparse triples.

    The one search of capacity-aware access: each facility row of ``rows`` is searched on
    its own (``options.access_mode``, cut off at ``options.access_threshold_min``).

    Parameters
    ----------
    engine : TravelEngine
    rows : ndarray of int
        Facility rows (engine positions) to search.
    options : Options

    Returns
    -------
    (village, position, minutes) : ndarrays
        One entry per pair within the catchment (inclusive): the village's position in the
        engine's villages, the facility's position in ``rows`` and the minutes.
    """
    cutoff_s = options.access_threshold_min * 60.0
    rows = np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    # bounded searches: each costs the part of the county it reaches
    rowptr, vil_idx, dist = engine.search_local(
        options.access_mode, [rows[i : i + 1] for i in range(len(rows))], cutoff_s, "villages"
    )
    pos = np.repeat(np.arange(len(rows), dtype=np.int64), np.diff(rowptr))
    minutes = dist / 60.0
    keep = minutes <= options.access_threshold_min
    order = np.lexsort((vil_idx[keep], pos[keep]))  # by facility, then village
    return vil_idx[keep][order], pos[keep][order], minutes[keep][order]


def county_access_part(
    county: str, engine: Any, vil: pd.DataFrame, fac: pd.DataFrame, options: Options
) -> AccessPart:
    """A county's part of capacity-aware access: its pairs in reach and partial demand.

    For each capacity attribute (beds, doctors, childcare places), the facilities holding
    a known value are searched once each (:func:`_access_minutes`; beds and doctors share
    the health facilities). Facilities lacking the value are left out and named, so figures
    are lower bounds then. :func:`finish_access` turns the parts of all counties into access.

    Raises
    ------
    ValidationError
        A village without a valid population, or a negative capacity.
    """
    from ynps_geo.access import catchment_demand

    fid = fac["facility_id"].to_numpy()
    plan: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    missing: dict[str, list[Any]] = {}
    for cap, groups in ACCESS_CAPACITIES.items():
        if cap not in fac.columns:
            continue
        match = facility_matches(fac, groups)
        values = pd.to_numeric(fac[cap], errors="coerce").to_numpy(float)
        known = np.nonzero(match & np.isfinite(values))[0]
        if (values[known] < 0).any():
            neg = fid[known[values[known] < 0]][:5].tolist()
            msg = f"facilities {neg} have a negative '{cap}'; capacities must be >= 0"
            raise ValidationError(msg)
        plan[cap] = (match, known, values)
        missing[cap] = [
            v.item() if hasattr(v, "item") else v for v in fid[match & ~np.isfinite(values)]
        ]
    pop = pd.to_numeric(vil["population"], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(pop) | (pop < 0)
    if plan and bad.any():  # no capacity column: no access measured, population unused
        ids = vil["village_id"].to_numpy()[bad][:5].tolist()
        msg = (
            f"{int(bad.sum())} village(s) have no valid population (e.g. {ids}); fill their "
            "population or drop them before computing access"
        )
        raise ValidationError(msg)
    villages = pd.DataFrame(
        {
            "village_id": vil["village_id"].to_numpy(),
            "county": vil["county"].to_numpy() if "county" in vil else county,
            "population": pop,
        }
    )
    rows = np.unique(np.concatenate([k for _, k, _ in plan.values()])) if plan else np.zeros(0, int)
    v_idx, pos, minutes = _access_minutes(engine, rows, options)
    f_row = rows[pos] if len(pos) else np.zeros(0, np.int64)
    pairs, supply, demand = [], [], []
    zones = list(options.access_zones)
    for cap, (_, known, values) in plan.items():
        sel = np.isin(f_row, known)
        p = pd.DataFrame(
            {
                "capacity": cap,
                "village": v_idx[sel],
                "facility_id": fid[f_row[sel]],
                "minutes": minutes[sel],
            }
        )
        pairs.append(p)
        supply.append(
            pd.DataFrame({"capacity": cap, "facility_id": fid[known], "supply": values[known]})
        )
        thr = options.access_threshold_min
        dz = catchment_demand(p, pop, thr, zones=zones).reindex(fid[known]).fillna(0.0)
        ds = catchment_demand(p, pop, thr).reindex(fid[known]).fillna(0.0)
        demand.append(
            pd.DataFrame(
                {
                    "capacity": cap,
                    "facility_id": fid[known],
                    "demand_zones": dz.to_numpy(np.float64),
                    "demand_step": ds.to_numpy(np.float64),
                }
            )
        )

    def frame(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    return AccessPart(
        county=str(county),
        villages=villages,
        capacities=list(plan),
        pairs=frame(pairs, ["capacity", "village", "facility_id", "minutes"]),
        supply=frame(supply, ["capacity", "facility_id", "supply"]),
        demand=frame(demand, ["capacity", "facility_id", "demand_zones", "demand_step"]),
        missing=missing,
    )


def finish_access(parts: Sequence[AccessPart | None], options: Options) -> pd.DataFrame:
    """Capacity-aware access of every village from the counties' parts (the reduce step).

    Step 1 of 2SFCA: each facility's demand is the sum of every county's partial demand (a
    facility near a border is shared by the villages on both sides), its ratio the supply
    over that demand. Step 2: each village's access sums the ratios of the facilities it
    reaches, weighted by the catchment's zones. The result equals 2SFCA on the whole
    village x facility matrix of all counties at once.

    Parameters
    ----------
    parts : sequence of AccessPart or None
        One per county (None where a county has no access part), in output order.
    options : Options
        ``access_threshold_min`` and ``access_zones``, as in the county tasks.

    Returns
    -------
    DataFrame
        One row per (village, capacity), county by county: ``village_id, county,
        population, facilities_in_reach, access_ratio, access_per_1000`` (enhanced 2SFCA),
        ``capacity`` and ``access_2sfca_per_1000`` (classic 2SFCA). A county whose area holds
        no facility with a known value of a capacity has NaN access for it.
        ``attrs["missing_capacity"]``: capacity -> facility ids without a value.

    Raises
    ------
    ValidationError
        A facility id given two different capacities by two counties (ids must be unique).
    """
    from ynps_geo.access import access_from_ratios, supply_ratios

    got = [p for p in parts if p is not None]
    if not got:
        return pd.DataFrame()
    thr = options.access_threshold_min
    zones = list(options.access_zones)
    supply = pd.concat([p.supply for p in got], ignore_index=True)
    supply = supply.drop_duplicates(["capacity", "facility_id", "supply"])
    clash = supply.duplicated(["capacity", "facility_id"], keep=False)
    if clash.any():
        ids = supply.loc[clash, "facility_id"].drop_duplicates().head(5).tolist()
        msg = (
            f"facilities {ids} have different capacities in different counties' areas: their "
            "ids are not unique. Fix: give every facility its own id"
        )
        raise ValidationError(msg)
    demand = pd.concat([p.demand for p in got], ignore_index=True)
    demand = demand.groupby(["capacity", "facility_id"], sort=False)[
        ["demand_zones", "demand_step"]
    ].sum()
    ratios: dict[str, tuple[pd.Series, pd.Series]] = {}
    for cap, sup in supply.groupby("capacity", sort=False):
        s = sup.set_index("facility_id")["supply"].astype(np.float64)
        d = demand.xs(cap, level="capacity") if cap in demand.index.get_level_values(0) else None
        dz = d["demand_zones"] if d is not None else pd.Series(dtype=np.float64)
        ds = d["demand_step"] if d is not None else pd.Series(dtype=np.float64)
        ratios[str(cap)] = (supply_ratios(s, dz), supply_ratios(s, ds))
    frames = []
    for p in got:
        n = len(p.villages)
        county_supply = set(p.supply["capacity"])
        for cap in p.capacities:
            pr = p.pairs[p.pairs["capacity"] == cap]
            if cap in county_supply:
                rz, rs = ratios[cap]
                e2 = access_from_ratios(pr, rz, n, thr, zones=zones)
                classic = access_from_ratios(pr, rs, n, thr)
            else:  # no facility of the county's area has a known value
                e2 = classic = np.full(n, np.nan)
            in_reach = np.bincount(pr["village"].to_numpy(np.int64), minlength=n)
            frames.append(
                p.villages.assign(
                    facilities_in_reach=in_reach.astype(np.int64),
                    access_ratio=e2,
                    access_per_1000=e2 * 1000.0,
                    capacity=cap,
                    access_2sfca_per_1000=classic * 1000.0,
                )
            )
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    missing: dict[str, list[Any]] = {}
    for p in got:
        for cap, ids in p.missing.items():
            have = missing.setdefault(cap, [])
            have += [i for i in ids if i not in have]
    out.attrs["missing_capacity"] = missing
    return out


def capacity_access(
    engine: Any, vil: pd.DataFrame, fac: pd.DataFrame, options: Options
) -> pd.DataFrame:
    """Capacity-aware access (2SFCA and enhanced 2SFCA) of one county's villages alone.

    :func:`county_access_part` and :func:`finish_access` of this county only: the demand is
    this county's villages. The analysis of several counties gathers the parts of all of
    them first (see :func:`finish_access`), so that villages across a border share the
    facilities between them.

    Returns
    -------
    DataFrame
        See :func:`finish_access`.
    """
    county = str(vil["county"].iloc[0]) if "county" in vil and len(vil) else ""
    return finish_access([county_access_part(county, engine, vil, fac, options)], options)
