"""Travel-time surfaces: each standard's time (or distance) from every grid cell.

Each county is analysed on its own metric grid (see :mod:`ynps_geo.analysis`); its surface
holds the cells whose centre lies inside the county (NaN outside), so the counties of a
province fit together without overlap. :func:`mosaic` joins them on one grid (the most
common CRS among the counties; others are reprojected, nearest neighbour), and
:func:`write_surfaces` writes one Cloud-Optimised GeoTIFF per standard
(``travel_time_<standard>.tif``), one band per travel mode (band description = mode), in
minutes (km for distance standards), ``inf`` where no facility is reachable and NaN outside
the counties: the surface an analyst styles in QGIS.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ynps_geo.errors import ValidationError

__all__ = ["Surface", "mosaic", "surface_modes", "write_surfaces"]


class Surface:
    """One standard's surfaces on one grid.

    Attributes
    ----------
    standard_id : str
    modes : list of str
        One band per mode.
    data : numpy.ndarray
        float32 (bands, H, W).
    transform : affine.Affine
    crs : str
        ``EPSG:<code>``.
    unit : str
        ``min`` or ``km``.
    """

    def __init__(
        self,
        standard_id: str,
        modes: list[str],
        data: np.ndarray,
        transform: Any,
        crs: str,
        unit: str,
    ) -> None:
        self.standard_id = standard_id
        self.modes = modes
        self.data = data
        self.transform = transform
        self.crs = crs
        self.unit = unit


def surface_modes(result: Any, standard_id: str) -> list[str]:
    """Modes with a surface for ``standard_id`` in any county, sorted."""
    return sorted(
        {m for _, surf in result.surfaces.values() for (sid, m) in surf if sid == standard_id}
    )


def mosaic(result: Any, standard_id: str, *, modes: list[str] | None = None) -> Surface:
    """Join the counties' surfaces of one standard on one grid.

    Parameters
    ----------
    result : AnalysisResult
    standard_id : str
    modes : list of str, optional
        Default every mode the standard was measured in.

    Raises
    ------
    ValidationError
        No surface for that standard (unknown id, surfaces turned off, or every county
        failed).
    """
    from rasterio.warp import Resampling, reproject, transform_bounds

    all_modes = surface_modes(result, standard_id)
    if not all_modes:
        known = sorted({sid for _, surf in result.surfaces.values() for sid, _ in surf})
        msg = (
            f"no travel-time surface for standard {standard_id!r}; surfaces exist for "
            f"{', '.join(known) or 'none (run with surfaces=True)'}"
        )
        raise ValidationError(msg)
    modes = modes or all_modes
    bad = [m for m in modes if m not in all_modes]
    if bad:
        msg = f"standard {standard_id!r} has no surface for mode(s) {bad}; it has {all_modes}"
        raise ValidationError(msg)
    unit = next((s.unit or "min" for s in result.standards if s.id == standard_id), "min")
    parts = [(grid, surf) for grid, surf in result.surfaces.values()]
    if len(parts) == 1:
        grid, surf = parts[0]
        data = np.stack(
            [surf.get((standard_id, m), np.full(grid.shape, np.nan, np.float32)) for m in modes]
        )
        return Surface(standard_id, modes, data, grid.transform(), grid.crs, unit)
    epsg = Counter(grid.epsg for grid, _ in parts).most_common(1)[0][0]
    crs = f"EPSG:{epsg}"
    res = min(grid.res for grid, _ in parts)
    boxes = [transform_bounds(grid.crs, crs, *grid.bounds) for grid, _ in parts]
    from ynps_geo.model.grid import GridSpec

    target = GridSpec.covering(
        epsg,
        (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        ),
        res,
    )
    data = np.full((len(modes), *target.shape), np.nan, dtype=np.float32)
    for grid, surf in parts:
        if grid.epsg == epsg and _aligned(grid, target):
            # the same cells: placed, not resampled
            r0 = round((target.y0 - grid.y0) / res)
            c0 = round((grid.x0 - target.x0) / res)
            part = (slice(r0, r0 + grid.height), slice(c0, c0 + grid.width))
            for b, m in enumerate(modes):
                src = surf.get((standard_id, m))
                if src is not None:
                    data[b][part] = np.fmin(data[b][part], src)
            continue
        # another zone: resampled into the part of the target it covers (not the whole
        # target, which made a province's mosaic quadratic in its counties)
        window, part = _window_of(grid, target, crs)
        for b, m in enumerate(modes):
            src = surf.get((standard_id, m))
            if src is None:
                continue
            # inf (unreached) survives resampling as a large finite code, NaN as nodata
            src64 = np.where(np.isinf(src), 1e30, src).astype(np.float32)
            dst = np.full(window.shape, np.nan, dtype=np.float32)
            reproject(
                src64,
                dst,
                src_transform=grid.transform(),
                src_crs=grid.crs,
                dst_transform=window.transform(),
                dst_crs=crs,
                src_nodata=np.nan,
                dst_nodata=np.nan,
                resampling=Resampling.nearest,
                **_exact_warp(),
            )
            dst = np.where(dst >= 1e29, np.inf, dst)
            data[b][part] = np.fmin(data[b][part], dst)
    return Surface(standard_id, modes, data, target.transform(), crs, unit)


def _exact_warp() -> dict[str, float]:
    """Keyword arguments that make ``reproject`` transform every pixel exactly.

    GDAL's default approximate transformer (0.125 pixel) interpolates over the destination
    it is given, so a county resampled into its own window of the mosaic could pick other
    cells at its edges than resampled into the whole mosaic. rasterio 1.4.4 and later take
    ``tolerance=0``; older versions keep the approximation.
    """
    import rasterio

    parts = [int(p) for p in rasterio.__version__.split(".")[:3] if p.isdigit()]
    return {"tolerance": 0.0} if tuple(parts) >= (1, 4, 4) else {}


def _aligned(grid: Any, target: Any) -> bool:
    """Whether ``grid``'s cells are cells of ``target`` (same size, corners on its lattice)."""
    if grid.res != target.res:
        return False
    dx = (grid.x0 - target.x0) / target.res
    dy = (target.y0 - grid.y0) / target.res
    return (
        abs(dx - round(dx)) < 1e-6
        and abs(dy - round(dy)) < 1e-6
        and 0 <= round(dx) <= target.width - grid.width
        and 0 <= round(dy) <= target.height - grid.height
    )


def _window_of(grid: Any, target: Any, crs: str) -> tuple[Any, tuple[slice, slice]]:
    """The part of ``target`` that ``grid`` (another CRS) covers, a cell wider on each side:
    as a grid of its own, and the slices that cut it out of the target's arrays."""
    from rasterio.warp import transform_bounds

    from ynps_geo.model.grid import GridSpec

    x0, y0, x1, y1 = transform_bounds(grid.crs, crs, *grid.bounds)
    c0 = max(0, int(np.floor((x0 - target.x0) / target.res)) - 1)
    c1 = min(target.width, int(np.ceil((x1 - target.x0) / target.res)) + 1)
    r0 = max(0, int(np.floor((target.y0 - y1) / target.res)) - 1)
    r1 = min(target.height, int(np.ceil((target.y0 - y0) / target.res)) + 1)
    c1, r1 = max(c1, c0 + 1), max(r1, r0 + 1)
    window = GridSpec(
        target.epsg,
        target.x0 + c0 * target.res,
        target.y0 - r0 * target.res,
        target.res,
        c1 - c0,
        r1 - r0,
    )
    return window, (slice(r0, r1), slice(c0, c1))


def write_surfaces(result: Any, out_dir: str | Path) -> dict[str, Path]:
    """Write ``travel_time_<standard>.tif`` (Cloud-Optimised GeoTIFF) per standard.

    Each file is written to a temporary name and moved into place. Returns
    ``{"travel_time_<standard>": path}``; nothing when the result kept no surfaces.
    """
    out: dict[str, Path] = {}
    if not getattr(result, "surfaces", None):
        return out
    ids = [s.id for s in result.standards if surface_modes(result, s.id)]
    for sid in ids:
        surface = mosaic(result, sid)
        path = Path(out_dir) / f"travel_time_{sid}.tif"
        write_cog(path, surface)
        out[f"travel_time_{sid}"] = path
    return out


def write_cog(path: str | Path, surface: Surface) -> Path:
    """One surface as a Cloud-Optimised GeoTIFF (deflate, tiled, overviews), atomically."""
    import rasterio

    path = Path(path)
    bands, height, width = surface.data.shape
    fd, tmp = tempfile.mkstemp(suffix=".tif", dir=path.parent, prefix=f".{path.stem}.")
    os.close(fd)
    profile = {
        "width": width,
        "height": height,
        "count": bands,
        "dtype": "float32",
        "crs": surface.crs,
        "transform": surface.transform,
        "nodata": np.nan,
        "compress": "deflate",
        "predictor": 3,
        # compress (and build overviews) on every core: the same bytes, ~15 % faster
        "num_threads": "ALL_CPUS",
    }
    try:
        try:
            dst = rasterio.open(tmp, "w", driver="COG", blocksize=256, **profile)
        except Exception:  # GDAL older than 3.1 has no COG driver: tiled GTiff + overviews
            dst = rasterio.open(
                tmp, "w", driver="GTiff", tiled=True, blockxsize=256, blockysize=256, **profile
            )
        with dst:
            dst.write(surface.data)
            for b, mode in enumerate(surface.modes, start=1):
                dst.set_band_description(b, f"{surface.standard_id} {mode} ({surface.unit})")
            dst.update_tags(standard_id=surface.standard_id, unit=surface.unit)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
