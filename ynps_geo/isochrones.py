"""Isochrone polygons from travel-time surfaces, and the people inside them.

A place is inside an isochrone exactly when its time is <= the threshold (inclusive); polygons
follow the grid cells (no convex hulls) and keep their holes.
"""

from __future__ import annotations

import numpy as np

from ynps_geo.model.grid import GridSpec


def isochrone_geometry(cell_values: np.ndarray, threshold: float, grid: GridSpec):  # type: ignore[no-untyped-def]
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
    from rasterio.features import shapes
    from shapely.geometry import shape
    from shapely.ops import unary_union

    inside = np.isfinite(cell_values) & (cell_values <= threshold * (1.0 + 1e-9))
    if not inside.any():
        from shapely.geometry import Polygon

        return Polygon()
    polys = [
        shape(geom)
        for geom, val in shapes(inside.astype(np.uint8), mask=inside, transform=grid.transform())
        if val == 1
    ]
    return unary_union(polys)


def to_wgs84(geom, epsg: int):  # type: ignore[no-untyped-def]
    """Reproject a shapely geometry from ``EPSG:epsg`` to EPSG:4326."""
    from ynps_geo._geo import reproject_geometry

    return reproject_geometry(geom, epsg, "EPSG:4326")
