"""Straight walking legs on a raster: the cells a segment crosses, and Tobler costs along it.

Coordinates are metric (the grid's CRS); the grid is north-up with top-left corner
``(x0, y0)`` and square cells of ``res`` metres, cells numbered ``row * W + col``.
No validation happens here: :mod:`ynps_geo.engine` checks inputs first.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, inline="always")
def _cells_of_segment(
    fx0: float, fy0: float, fx1: float, fy1: float, height: int, width: int, out: np.ndarray
) -> int:
    """Cells crossed by a segment in grid units (x = column, y = row), in order.

    Amanatides-Woo traversal: every cell whose interior the segment enters, once. Cells
    outside the grid are skipped. Returns the number written to ``out``.
    """
    c = int(np.floor(fx0))
    r = int(np.floor(fy0))
    c_end = int(np.floor(fx1))
    r_end = int(np.floor(fy1))
    dx = fx1 - fx0
    dy = fy1 - fy0
    step_c = 1 if dx > 0 else -1
    step_r = 1 if dy > 0 else -1
    if dx != 0.0:
        next_x = (c + 1.0) if dx > 0 else float(c)
        t_max_x = (next_x - fx0) / dx
        t_dx = abs(1.0 / dx)
    else:
        t_max_x = np.inf
        t_dx = np.inf
    if dy != 0.0:
        next_y = (r + 1.0) if dy > 0 else float(r)
        t_max_y = (next_y - fy0) / dy
        t_dy = abs(1.0 / dy)
    else:
        t_max_y = np.inf
        t_dy = np.inf
    n = 0
    limit = abs(c_end - c) + abs(r_end - r) + 1
    for _ in range(limit):
        if 0 <= r < height and 0 <= c < width and n < out.shape[0]:
            out[n] = r * width + c
            n += 1
        if c == c_end and r == r_end:
            break
        if t_max_x < t_max_y:
            c += step_c
            t_max_x += t_dx
        else:
            r += step_r
            t_max_y += t_dy
    return n


@nb.njit(cache=True)
def segment_cells(
    fx0: np.ndarray,
    fy0: np.ndarray,
    fx1: np.ndarray,
    fy1: np.ndarray,
    height: int,
    width: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Every (segment, cell) pair where the segment crosses the cell.

    Parameters are segment ends in grid units (column, row as floats). Returns int64 arrays
    ``(segment index, cell)``.
    """
    m = fx0.shape[0]
    counts = np.empty(m, dtype=np.int64)
    total = 0
    for i in range(m):
        k = (
            abs(int(np.floor(fx1[i])) - int(np.floor(fx0[i])))
            + abs(int(np.floor(fy1[i])) - int(np.floor(fy0[i])))
            + 1
        )
        counts[i] = k
        total += k
    seg = np.empty(total, dtype=np.int64)
    cell = np.empty(total, dtype=np.int64)
    buf = np.empty(int(counts.max()) if m else 1, dtype=np.int64)
    n = 0
    for i in range(m):
        k = _cells_of_segment(fx0[i], fy0[i], fx1[i], fy1[i], height, width, buf)
        for j in range(k):
            seg[n] = i
            cell[n] = buf[j]
            n += 1
    return seg[:n], cell[:n]


@nb.njit(cache=True, inline="always")
def _height(dem: np.ndarray, x: float, y: float, x0: float, y0: float, res: float) -> float:
    """DEM at a metric point: bilinear between cell centres (nearest cell where a corner is
    missing), clamped to the grid."""
    h, w = dem.shape
    fc = (x - x0) / res - 0.5
    fr = (y0 - y) / res - 0.5
    fc = min(max(fc, 0.0), w - 1.0)
    fr = min(max(fr, 0.0), h - 1.0)
    c0 = int(np.floor(fc))
    r0 = int(np.floor(fr))
    c1 = min(c0 + 1, w - 1)
    r1 = min(r0 + 1, h - 1)
    tc = fc - c0
    tr = fr - r0
    z00 = dem[r0, c0]
    z01 = dem[r0, c1]
    z10 = dem[r1, c0]
    z11 = dem[r1, c1]
    if np.isfinite(z00) and np.isfinite(z01) and np.isfinite(z10) and np.isfinite(z11):
        return (z00 * (1 - tc) + z01 * tc) * (1 - tr) + (z10 * (1 - tc) + z11 * tc) * tr
    return dem[round(fr), round(fc)]


@nb.njit(cache=True)
def leg_costs(
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    check: np.ndarray,
    dem: np.ndarray,
    passable: np.ndarray,
    x0: float,
    y0: float,
    res: float,
    seconds_per_m: float,
    tan_max: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tobler walking time along straight legs ``a -> b`` and ``b -> a``.

    Each leg is cut into pieces of at most a quarter cell; the height at the piece ends is
    interpolated from the DEM, and a piece of horizontal length ``L`` and slope ``s`` takes
    ``L * seconds_per_m * exp(3.5 * |s + 0.05|)`` (Tobler's hiking function; ``s`` is signed
    in the direction of travel).

    Where ``check`` is set, a leg is invalid (``ok`` False) when it crosses an impassable
    cell (``passable`` False: a barrier or a DEM void) or has a piece steeper than
    ``tan_max``; otherwise heights that are missing count as flat.

    Returns
    -------
    forward, backward : float64 arrays
        Seconds for ``a -> b`` and ``b -> a``.
    ok : bool array
    """
    n = ax.shape[0]
    fwd = np.zeros(n, dtype=np.float64)
    bwd = np.zeros(n, dtype=np.float64)
    ok = np.ones(n, dtype=np.bool_)
    h, w = dem.shape
    flat = passable.ravel()
    buf = np.empty(8, dtype=np.int64)
    for i in range(n):
        dx = bx[i] - ax[i]
        dy = by[i] - ay[i]
        length = np.sqrt(dx * dx + dy * dy)
        if length == 0.0:
            continue
        if check[i]:
            fx0 = (ax[i] - x0) / res
            fy0 = (y0 - ay[i]) / res
            fx1 = (bx[i] - x0) / res
            fy1 = (y0 - by[i]) / res
            need = (
                abs(int(np.floor(fx1)) - int(np.floor(fx0)))
                + abs(int(np.floor(fy1)) - int(np.floor(fy0)))
                + 1
            )
            if need > buf.shape[0]:
                buf = np.empty(2 * need, dtype=np.int64)
            k = _cells_of_segment(fx0, fy0, fx1, fy1, h, w, buf)
            for j in range(k):
                if not flat[buf[j]]:
                    ok[i] = False
                    break
            if not ok[i]:
                continue
        pieces = max(1, int(np.ceil(length / (0.25 * res))))
        piece = length / pieces
        z_prev = _height(dem, ax[i], ay[i], x0, y0, res)
        tf = 0.0
        tb = 0.0
        for p in range(1, pieces + 1):
            t = p / pieces
            z = _height(dem, ax[i] + dx * t, ay[i] + dy * t, x0, y0, res)
            dz = z - z_prev
            if not np.isfinite(dz):
                if check[i]:
                    ok[i] = False
                    break
                dz = 0.0
            s = dz / piece
            if check[i] and abs(s) > tan_max:
                ok[i] = False
                break
            tf += piece * np.exp(3.5 * abs(s + 0.05))
            tb += piece * np.exp(3.5 * abs(-s + 0.05))
            z_prev = z
        fwd[i] = tf * seconds_per_m
        bwd[i] = tb * seconds_per_m
    return fwd, bwd, ok
