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
    from shapely.geometry import shape

    inside = np.isfinite(cell_values) & (cell_values <= threshold * (1.0 + 1e-9))
    if not inside.any():
        from shapely.geometry import Polygon

        return Polygon()
    polys = [
        shape(geom)
        for geom, val in shapes(inside.astype(np.uint8), mask=inside, transform=grid.transform())
        if val == 1
    ]
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

    Each facility is searched alone with a cutoff at the threshold (so the search stays
    local), 16 at a time in parallel; each polygon is traced on the window of cells reached.

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

    grid = engine.grid
    out: list[tuple[int, Any, float]] = []
    cutoff = threshold / scale
    rows = np.asarray(facility_rows, dtype=np.int64)
    for start in range(0, len(rows), 16):
        chunk = rows[start : start + 16]
        dist, _ = engine.search(mode, [np.array([r]) for r in chunk], cutoff * (1 + 1e-9))
        cells = engine.cell_values(dist) * scale
        for k, r in enumerate(chunk):
            c = cells[k]
            ok = np.isfinite(c)
            pop = float("nan")
            if people_cell is not None and people_pop is not None:
                vals = c.ravel()[np.maximum(people_cell, 0)]
                hit = (people_cell >= 0) & (vals <= threshold * (1 + 1e-9))
                pop = float(people_pop[hit].sum())
            if not ok.any():
                from shapely.geometry import Polygon

                out.append((int(r), Polygon(), pop))
                continue
            rr = np.nonzero(ok.any(axis=1))[0]
            cc = np.nonzero(ok.any(axis=0))[0]
            r0, r1, c0, c1 = rr[0], rr[-1] + 1, cc[0], cc[-1] + 1
            sub = GridSpec(
                grid.epsg,
                grid.x0 + c0 * grid.res,
                grid.y0 - r0 * grid.res,
                grid.res,
                int(c1 - c0),
                int(r1 - r0),
            )
            out.append((int(r), isochrone_geometry(c[r0:r1, c0:c1], threshold, sub), pop))
    return out
