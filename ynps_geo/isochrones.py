"""Isochrone polygons from travel-time surfaces, and the people inside them.

A place is inside an isochrone exactly when its time is <= the threshold (inclusive); polygons
follow the grid cells (no convex hulls) and keep their holes. The pieces of an isochrone are
dissolved with :func:`shapely.coverage_union_all`, exact for edge-matched polygons from one
grid and faster than ``unary_union``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ynps_geo.model.grid import GridSpec


def isochrone_geometry(cell_values: np.ndarray, threshold: float, grid: GridSpec) -> Any:
    """The area whose value is within ``threshold``, as one (multi)polygon in the grid CRS.

    Parameters
    ----------
    cell_values : (H, W) float array
        Minutes, seconds or metres per cell (``inf`` unreachable).
    threshold : float
        Same unit as ``cell_values``; inclusive.
    grid : GridSpec

    Returns
    -------
    shapely geometry (Polygon/MultiPolygon, possibly empty)
    """
    import shapely
    from rasterio.features import shapes
    from shapely.geometry import Polygon

    inside = np.isfinite(cell_values) & (cell_values <= threshold * (1.0 + 1e-9))
    if not inside.any():
        return Polygon()
    # rings as arrays: twice as fast as shapely.geometry.shape on the GeoJSON-like dicts
    polys = []
    for geom, val in shapes(inside.astype(np.uint8), mask=inside, transform=grid.transform()):
        if val == 1:
            rings = geom["coordinates"]
            polys.append(Polygon(np.asarray(rings[0]), [np.asarray(h) for h in rings[1:]]))
    # the pieces come from one grid: they never overlap and share exact edges and vertices
    # (a polygonal coverage), so the fast coverage union equals unary_union (tested)
    return shapely.coverage_union_all(polys)


def to_wgs84(geom: Any, epsg: int) -> Any:
    """Reproject a shapely geometry from ``EPSG:epsg`` to EPSG:4326."""
    from ynps_geo._geo import reproject_geometry

    return reproject_geometry(geom, epsg, "EPSG:4326")


def facility_isochrones(
    engine: Any,
    facility_rows: np.ndarray,
    mode: str,
    threshold: float,
    scale: float,
    people_cell: np.ndarray | None = None,
    people_pop: np.ndarray | None = None,
) -> list[tuple[int, Any, float]]:
    """One isochrone per facility: the area from which it is reached within ``threshold``.

    Each facility is searched alone with a cutoff at the threshold by bounded searches
    (:meth:`TravelEngine.search_local`: each costs the cells it reaches, not the county);
    each polygon is traced on the window of cells reached.

    Parameters
    ----------
    engine : TravelEngine
    facility_rows : int array
        Facility positions in the engine.
    mode : str
        Travel mode.
    threshold : float
        In the standard's unit (minutes or km).
    scale : float
        Engine cost to the standard's unit (1/60 for minutes, 1/1000 for km).
    people_cell, people_pop : arrays, optional
        Grid cell of each populated raster cell and its people, for the population inside.

    Returns
    -------
    list of (facility_row, geometry in the grid CRS, population inside)
    """
    import rasterio

    grid = engine.grid
    out: list[tuple[int, Any, float]] = []
    cutoff = threshold / scale
    rows = np.asarray(facility_rows, dtype=np.int64)
    rowptr, cell, dist = engine.search_local(
        mode, [rows[i : i + 1] for i in range(len(rows))], cutoff * (1 + 1e-9)
    )
    # people per grid cell, to count the people inside each isochrone
    pop_cells: np.ndarray | None = None
    if people_cell is not None and people_pop is not None:
        ok = people_cell >= 0
        pop_cells = np.bincount(
            people_cell[ok], weights=np.asarray(people_pop, float)[ok], minlength=grid.size
        )
    with rasterio.Env():  # one GDAL environment for every polygon, not one per trace
        for k, r in enumerate(rows):
            out.append(
                _one_isochrone(k, int(r), rowptr, cell, dist, scale, threshold, grid, pop_cells)
            )
    return out


def _one_isochrone(
    k: int,
    r: int,
    rowptr: np.ndarray,
    cell: np.ndarray,
    dist: np.ndarray,
    scale: float,
    threshold: float,
    grid: GridSpec,
    pop_cells: np.ndarray | None,
) -> tuple[int, Any, float]:
    """Facility ``r``'s isochrone from its bounded search ``k`` (:func:`facility_isochrones`)."""
    from shapely.geometry import Polygon

    c_idx = cell[rowptr[k] : rowptr[k + 1]]
    c_val = dist[rowptr[k] : rowptr[k + 1]] * scale
    inside = c_val <= threshold * (1 + 1e-9)
    pop = float("nan")
    if pop_cells is not None:
        pop = float(pop_cells[c_idx[inside]].sum())
    if not len(c_idx):
        return r, Polygon(), pop
    rr, cc = np.divmod(c_idx, grid.width)
    r0, r1, c0, c1 = rr.min(), rr.max() + 1, cc.min(), cc.max() + 1
    window = np.full((int(r1 - r0), int(c1 - c0)), np.inf)
    window[rr - r0, cc - c0] = c_val
    sub = GridSpec(
        grid.epsg,
        grid.x0 + c0 * grid.res,
        grid.y0 - r0 * grid.res,
        grid.res,
        int(c1 - c0),
        int(r1 - r0),
    )
    return r, isochrone_geometry(window, threshold, sub), pop
