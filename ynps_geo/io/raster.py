"""Rasters via rasterio: population and DEM, windowed reads, reprojection, nodata.

Reads take only the window covering the area of interest, so a province-size GeoTIFF never has
to fit in memory at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ynps_geo._geo import reproject_geometry
from ynps_geo.errors import CRSError, DataSourceError, ValidationError
from ynps_geo.model.grid import GridSpec

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry


@dataclass
class PopulationCells:
    """Populated raster cells inside an area, as points.

    Attributes
    ----------
    lon, lat : numpy.ndarray
        Cell centres, EPSG:4326.
    population : numpy.ndarray
        People in each cell (float64, > 0).
    cell_area_m2 : float
        Approximate area of one cell, square metres.
    """

    lon: np.ndarray
    lat: np.ndarray
    population: np.ndarray
    cell_area_m2: float

    @property
    def total(self) -> float:
        """Sum of people."""
        return float(self.population.sum())


def _open(path: str | Path, what: str) -> Any:
    import rasterio

    path = Path(path)
    if not path.exists():
        msg = f"{what} raster {path} not found; check the path (relative to the config file)"
        raise DataSourceError(msg)
    try:
        ds = rasterio.open(path)
    except rasterio.errors.RasterioIOError as err:
        msg = (
            f"{what} raster {path} cannot be read as a GeoTIFF/raster ({err}); export it as GeoTIFF"
        )
        raise DataSourceError(msg) from err
    if ds.crs is None:
        ds.close()
        msg = (
            f"{what} raster {path} has no coordinate reference system; assign one (e.g. "
            "gdal_edit.py -a_srs EPSG:4326 FILE) or re-export it with its CRS"
        )
        raise CRSError(msg)
    return ds


def raster_summary(
    path: str | Path,
    *,
    what: str = "DEM",
    area_wgs84: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """A cheap look at a raster before any work: extent, valid values, infinite values.

    Opens the raster (so a missing CRS or an unreadable file is reported once), transforms its
    bounds to EPSG:4326 and reads a decimated copy (at most 1024 x 1024 cells) of the part
    covering ``area_wgs84`` (default the whole raster).

    Parameters
    ----------
    path : path
        Any raster rasterio opens.
    what : str
        ``"DEM"`` (values outside -500..9000 m are voids) or ``"population"``.
    area_wgs84 : (minx, miny, maxx, maxy), optional
        The study area's bounds in EPSG:4326.

    Returns
    -------
    dict
        ``bounds_wgs84`` (tuple), ``any_valid`` (bool: a value that is not nodata, in the
        area), ``has_inf`` (bool).
    """
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window, from_bounds

    with _open(path, what) as src:
        bounds = tuple(
            float(v) for v in transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
        )
        win = Window(0, 0, src.width, src.height)
        if area_wgs84 is not None:
            try:
                b = transform_bounds("EPSG:4326", src.crs, *area_wgs84, densify_pts=21)
                w = from_bounds(*b, transform=src.transform)
                win = w.intersection(win)
            except Exception:  # no overlap: the caller reports it from the bounds
                return {"bounds_wgs84": bounds, "any_valid": True, "has_inf": False}
        width, height = max(round(win.width), 1), max(round(win.height), 1)
        shape = (min(height, 1024), min(width, 1024))
        try:
            arr = src.read(1, window=win, out_shape=shape, masked=True)
        except Exception as err:
            msg = f"{what} raster {path} cannot be read ({err}); re-export it as GeoTIFF"
            raise DataSourceError(msg) from err
    data = np.ma.filled(arr.astype(np.float64), np.nan)
    has_inf = bool(np.isinf(data).any())
    if what == "DEM":
        data[(data < -500) | (data > 9000)] = np.nan
    return {"bounds_wgs84": bounds, "any_valid": bool(np.isfinite(data).any()), "has_inf": has_inf}


def reproject_to_grid(
    path: str | Path, grid: GridSpec, *, what: str = "DEM", resampling: str = "bilinear"
) -> np.ndarray:
    """Read a raster resampled onto ``grid`` (float64, ``nan`` where nodata or outside).

    Only the window of the source that covers the grid is read.

    Parameters
    ----------
    path : path
        Any raster rasterio opens, in any CRS.
    grid : GridSpec
        Target grid.
    what : str
        Name of the input for messages.
    resampling : str
        A ``rasterio.enums.Resampling`` name.
    """
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    with _open(path, what) as src:
        nodata = src.nodata
        with WarpedVRT(
            src,
            crs=grid.crs,
            transform=grid.transform(),
            width=grid.width,
            height=grid.height,
            resampling=Resampling[resampling],
            src_nodata=nodata,
            nodata=np.nan,
            dtype="float64",
        ) as vrt:
            arr = vrt.read(1).astype(np.float64)
    if nodata is not None and not np.isnan(nodata):
        arr[arr == nodata] = np.nan
    if what == "DEM":
        arr[(arr < -500) | (arr > 9000)] = np.nan  # SRTM voids (-32768) and junk
    return arr


def population_cells(path: str | Path, boundary_wgs84: BaseGeometry) -> PopulationCells:
    """People of a population raster inside a boundary, one point per populated cell.

    A cell belongs to the boundary when its centre lies inside (the figures then equal the
    raster's sum inside the boundary). Nodata and negative values count as nobody.

    Parameters
    ----------
    path : path
        Population raster (WorldPop-style people per cell), any CRS.
    boundary_wgs84 : shapely geometry
        Area of interest in EPSG:4326.
    """
    import rasterio
    from pyproj import Transformer
    from rasterio.features import geometry_mask
    from rasterio.windows import from_bounds

    with _open(path, "population") as src:
        geom = reproject_geometry(boundary_wgs84, "EPSG:4326", src.crs.to_wkt())
        minx, miny, maxx, maxy = geom.bounds
        win = from_bounds(minx, miny, maxx, maxy, transform=src.transform)
        col0, row0 = int(np.floor(win.col_off)), int(np.floor(win.row_off))
        col1 = int(np.ceil(win.col_off + win.width))
        row1 = int(np.ceil(win.row_off + win.height))
        col0, row0 = max(col0, 0), max(row0, 0)
        col1, row1 = min(col1, src.width), min(row1, src.height)
        if col1 <= col0 or row1 <= row0:
            msg = (
                f"population raster {path} does not overlap the study area; check its CRS "
                "and that it covers the county"
            )
            raise ValidationError(msg)
        win = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)
        arr = src.read(1, window=win, masked=True).astype(np.float64).filled(0.0)
        tr = src.window_transform(win)
        inside = ~geometry_mask([geom], out_shape=arr.shape, transform=tr, all_touched=False)
        infinite = inside & np.isinf(arr)
        if infinite.any():
            msg = (
                f"population raster {path} holds {int(infinite.sum())} cells of infinite "
                "people in the study area; people per cell must be finite. Fix: set those "
                "cells to the raster's nodata value"
            )
            raise ValidationError(msg)
        arr[~np.isfinite(arr) | (arr < 0)] = 0.0
        keep = inside & (arr > 0)
        rows, cols = np.nonzero(keep)
        xs, ys = rasterio.transform.xy(tr, rows, cols, offset="center")
        xs = np.asarray(xs, dtype=float)
        ys = np.asarray(ys, dtype=float)
        back = Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True)
        lon, lat = back.transform(xs, ys)
        if src.crs.is_geographic:
            from ynps_geo._geo import haversine_m

            cy = float(np.mean(lat)) if len(lat) else 0.0
            dx = float(haversine_m(0, cy, abs(tr.a), cy))
            dy = float(haversine_m(0, cy, 0, cy + abs(tr.e)))
            area = dx * dy
        else:
            area = abs(tr.a * tr.e)
    return PopulationCells(np.asarray(lon), np.asarray(lat), arr[keep], area)


def write_geotiff(
    path: str | Path, array: np.ndarray, grid: GridSpec, *, nodata: float = np.nan
) -> Path:
    """Write a single-band float32 GeoTIFF on ``grid`` atomically."""
    import os
    import tempfile

    import rasterio

    path = Path(path)
    if array.shape != grid.shape:
        msg = f"array shape {array.shape} does not match grid shape {grid.shape}"
        raise ValidationError(msg)
    fd, tmp = tempfile.mkstemp(suffix=".tif", dir=path.parent)
    os.close(fd)
    try:
        with rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            width=grid.width,
            height=grid.height,
            count=1,
            dtype="float32",
            crs=grid.crs,
            transform=grid.transform(),
            nodata=nodata,
            compress="deflate",
        ) as dst:
            dst.write(array.astype(np.float32), 1)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
