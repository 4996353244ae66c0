"""Off-road walking over terrain: Tobler's hiking function on a DEM.

Functions
---------
tobler_speed_kmh
    Walking speed for a signed slope.
walking_graph
    Directed CSR graph of walking times between neighbouring DEM cells.
walking_time
    Walking time from (or, by default, to) the nearest source cell.
slope_degrees
    Terrain slope (Horn's method), for reports.

All cell sizes are in metres: project the DEM to a metric CRS first (e.g. its UTM zone).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ynps_geo import settings
from ynps_geo._kernels import grid as _grid
from ynps_geo.errors import ValidationError
from ynps_geo.kernels import _check_connectivity, _check_cutoff, _validate_cells

__all__ = ["slope_degrees", "tobler_speed_kmh", "walking_graph", "walking_time"]


def _factor(offpath_factor: float | None) -> float:
    value = settings.offroad_speed_factor if offpath_factor is None else offpath_factor
    value = float(value)
    if not (value > 0.0 and np.isfinite(value)):
        msg = (
            f"offpath_factor must be a finite number > 0, got {value!r}; "
            "use 0.6 for Tobler's off-path walking or 1.0 for the raw function"
        )
        raise ValidationError(msg)
    return value


def tobler_speed_kmh(slope: ArrayLike, offpath_factor: float | None = None) -> np.ndarray:
    """Tobler's hiking speed ``6 * exp(-3.5 * |slope + 0.05|) * offpath_factor`` in km/h.

    Parameters
    ----------
    slope : array_like of float
        Rise over run (dh/dx), signed in the direction of travel: uphill > 0.
    offpath_factor : float, optional
        Multiplier of the speed; default ``ynps_geo.settings.offroad_speed_factor`` (0.6).
        Pass 1.0 for the raw function (about 5.04 km/h on flat ground).

    Returns
    -------
    numpy.ndarray of float64
        Speed, same shape as ``slope``.
    """
    s = np.asarray(slope, dtype=np.float64)
    return 6.0 * np.exp(-3.5 * np.abs(s + 0.05)) * _factor(offpath_factor)


def _cell_size(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (v > 0.0 and np.isfinite(v)):
        msg = (
            f"{name} must be a finite cell size in metres > 0, got {value!r}; "
            "project the DEM to a metric CRS and pass its resolution"
        )
        raise ValidationError(msg)
    return v


def _prepare(
    dem: ArrayLike,
    cell_size_x_m: float,
    cell_size_y_m: float,
    connectivity: int,
    offpath_factor: float | None,
    barrier: ArrayLike | None,
    max_slope_deg: float | None,
    nodata: float | None,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...], np.ndarray, float, float]:
    z = np.asarray(dem)
    if z.ndim != 2 or (z.size and z.dtype.kind not in "iuf"):
        msg = (
            f"dem must be a 2-D numeric raster, got shape {z.shape} and dtype {z.dtype}; "
            "pass heights in metres as an (H, W) array"
        )
        raise ValidationError(msg)
    z = np.ascontiguousarray(z, dtype=np.float64)
    ok = np.isfinite(z)
    if nodata is not None and not np.isnan(nodata):
        ok &= z != nodata
    if barrier is not None:
        b = np.asarray(barrier)
        if b.shape != z.shape:
            msg = (
                f"barrier has shape {b.shape} but dem has {z.shape}; "
                "pass a boolean mask on the DEM's grid"
            )
            raise ValidationError(msg)
        ok &= ~b.astype(bool)
    cx = _cell_size("cell_size_x_m", cell_size_x_m)
    cy = _cell_size("cell_size_y_m", cell_size_y_m)
    tables = _grid.neighbourhood(_check_connectivity(connectivity))
    dr, dc = tables[0], tables[1]
    length_m = np.sqrt((dc * cx) ** 2 + (dr * cy) ** 2)
    if max_slope_deg is None:
        tan_max = np.inf
    else:
        deg = float(max_slope_deg)
        if not 0.0 < deg <= 90.0:
            msg = f"max_slope_deg must be in (0, 90], got {max_slope_deg!r}"
            raise ValidationError(msg)
        tan_max = np.inf if deg == 90.0 else float(np.tan(np.radians(deg)))
    seconds_per_m = 3.6 / (6.0 * _factor(offpath_factor))
    return z, np.ascontiguousarray(ok), tables, length_m, tan_max, seconds_per_m


def walking_graph(
    dem: ArrayLike,
    cell_size_x_m: float,
    cell_size_y_m: float,
    *,
    connectivity: int = 8,
    offpath_factor: float | None = None,
    barrier: ArrayLike | None = None,
    max_slope_deg: float | None = None,
    reverse: bool = False,
    nodata: float | None = None,
    sorted_rows: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed CSR graph of Tobler walking times (seconds) between DEM cell centres.

    Parameters
    ----------
    dem : array_like of float, shape (H, W)
        Heights in metres; NaN (and ``nodata``) cells are impassable.
    cell_size_x_m, cell_size_y_m : float
        Cell width (along columns) and height (along rows) in metres.
    connectivity : {4, 8, 16}, default 8
        Neighbourhood; 16 adds knight moves, which make isochrones rounder.
    offpath_factor : float, optional
        Speed multiplier; default ``settings.offroad_speed_factor``.
    barrier : array_like of bool, shape (H, W), optional
        True marks impassable cells (rivers, lakes, borders).
    max_slope_deg : float, optional
        Steps steeper than this (``atan(|dh| / horizontal length)``) are impassable.
    reverse : bool, default False
        If True, edge ``a -> b`` carries the time of walking ``b -> a``: a search outward
        from facilities then gives the time from each cell *to* the facility.
    nodata : float, optional
        Height value marking missing data.
    sorted_rows : bool, default False
        List each node's edges by ascending neighbour id (the order a transpose or a
        sort by node gives) instead of by move.

    Returns
    -------
    indptr, indices, weights : numpy.ndarray
        CSR arrays (int64, int64, float64); node id ``row * W + col``. Edge ``a -> b`` takes
        ``L / v`` seconds, ``L`` the horizontal distance between the centres and ``v`` the
        Tobler speed for slope ``(dem[b] - dem[a]) / L``.

    Notes
    -----
    Impassable cells have no edges. A diagonal step between two impassable cells (its
    corner neighbours) is blocked, so a diagonal line of barrier cells is a wall; a knight
    step is blocked when either of the two cells its segment crosses is impassable.
    """
    z, ok, tables, length_m, tan_max, spm = _prepare(
        dem,
        cell_size_x_m,
        cell_size_y_m,
        connectivity,
        offpath_factor,
        barrier,
        max_slope_deg,
        nodata,
    )
    if sorted_rows:
        # moves by ascending offset dr * W + dc (|dc| < W): lexicographic in (dr, dc)
        order = np.lexsort((tables[1], tables[0]))
        tables = tuple(np.ascontiguousarray(t[order]) for t in tables)
        length_m = np.ascontiguousarray(length_m[order])
    kernel: Any = _grid.walking_graph  # a numba dispatcher: its stub does not type the call
    return kernel(z, ok, *tables, length_m, tan_max, spm, bool(reverse))


def walking_time(
    dem: ArrayLike,
    cell_size_x_m: float,
    cell_size_y_m: float,
    sources_rc: ArrayLike,
    *,
    cutoff: float = np.inf,
    connectivity: int = 8,
    reverse: bool = True,
    offpath_factor: float | None = None,
    barrier: ArrayLike | None = None,
    max_slope_deg: float | None = None,
    nodata: float | None = None,
) -> np.ndarray:
    """Walking time in seconds between each cell and its nearest source cell.

    Parameters
    ----------
    dem, cell_size_x_m, cell_size_y_m
        As for :func:`walking_graph`.
    sources_rc : array_like of int, shape (k, 2)
        ``(row, col)`` of the source cells (facilities).
    cutoff : float, default inf
        Times above this many seconds are left at ``inf`` (exactly ``cutoff`` is kept).
    connectivity : {4, 8, 16}, default 8
    reverse : bool, default True
        True: time to walk *from* each cell *to* its nearest source (a village walking to a
        clinic). False: time from the sources outward.
    offpath_factor, barrier, max_slope_deg, nodata
        As for :func:`walking_graph`.

    Returns
    -------
    numpy.ndarray of float64, shape (H, W)
        Seconds; ``inf`` where unreachable or impassable, 0 at sources (a source on an
        impassable cell gets 0 and reaches nothing: snap facilities to passable cells).

    Notes
    -----
    Equal to ``multi_source_dijkstra`` on :func:`walking_graph` with the same arguments, but
    computed by a grid kernel that never builds the graph (faster, less memory).
    """
    z, ok, tables, length_m, tan_max, spm = _prepare(
        dem,
        cell_size_x_m,
        cell_size_y_m,
        connectivity,
        offpath_factor,
        barrier,
        max_slope_deg,
        nodata,
    )
    src = _validate_cells("sources_rc", sources_rc, z.shape)
    if z.size == 0:
        return np.full(z.shape, np.inf)
    kernel: Any = _grid.walking_time  # a numba dispatcher: its stub does not type the call
    return kernel(
        z,
        ok,
        src[:, 0].copy(),
        src[:, 1].copy(),
        _check_cutoff(cutoff),
        *tables,
        length_m,
        tan_max,
        spm,
        bool(reverse),
    )


def slope_degrees(dem: ArrayLike, cell_size_x_m: float, cell_size_y_m: float) -> np.ndarray:
    """Terrain slope in degrees by Horn's (1981) 3x3 method.

    Parameters
    ----------
    dem : array_like of float, shape (H, W)
        Heights in metres. Edge cells use replicated borders; NaN spreads to neighbours.
    cell_size_x_m, cell_size_y_m : float
        Cell width and height in metres.

    Returns
    -------
    numpy.ndarray of float64, shape (H, W)
        Slope in degrees, 0 (flat) to 90.
    """
    z = np.asarray(dem, dtype=np.float64)
    if z.ndim != 2:
        msg = f"dem must be a 2-D raster, got shape {z.shape}; pass an (H, W) array"
        raise ValidationError(msg)
    cx = _cell_size("cell_size_x_m", cell_size_x_m)
    cy = _cell_size("cell_size_y_m", cell_size_y_m)
    p = np.pad(z, 1, mode="edge")
    a, b, c = p[:-2, :-2], p[:-2, 1:-1], p[:-2, 2:]
    d, f = p[1:-1, :-2], p[1:-1, 2:]
    g, h, i = p[2:, :-2], p[2:, 1:-1], p[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * cx)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8.0 * cy)
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
