"""Small geodesy helpers shared by io, network and terrain (no I/O)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone containing ``(lon, lat)``.

    Yunnan spans zones 47N (west of 102 E) and 48N.

    Parameters
    ----------
    lon, lat : float
        A point in degrees (EPSG:4326), usually a layer's centroid.

    Returns
    -------
    int
        326ZZ for the northern hemisphere, 327ZZ for the southern.
    """
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def haversine_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> np.ndarray:
    """Great-circle distance in metres on a sphere of radius 6,371,008.8 m."""
    x1, y1, x2, y2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((y2 - y1) / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin((x2 - x1) / 2) ** 2
    return 2 * 6371008.8 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def reproject_geometry(geom: Any, src: str | int, dst: str | int) -> Any:
    """Reproject a shapely geometry (or array of them) between two CRSs.

    Parameters
    ----------
    geom : shapely geometry or array of geometries
    src, dst : str or int
        CRSs as ``"EPSG:4326"`` strings or EPSG codes.
    """
    import shapely
    from pyproj import Transformer

    def _crs(c: str | int) -> str:
        return f"EPSG:{c}" if isinstance(c, int) else c

    tr = Transformer.from_crs(_crs(src), _crs(dst), always_xy=True)

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)
