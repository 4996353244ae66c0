"""Coordinate hygiene: WGS84 <-> GCJ-02 <-> BD-09 and declared coordinate systems.

Chinese web maps do not publish WGS84 coordinates. Amap (高德), Tencent and most government
registers copied from them use **GCJ-02** ("Mars coordinates"), an obfuscated WGS84 shifted by a
few hundred metres (about 300-600 m in Yunnan). Baidu uses **BD-09**, a further shift of GCJ-02.
**CGCS2000** (EPSG:4490), the national geodetic system, agrees with WGS84 within centimetres and is
treated as WGS84 here.

The forward transforms are the standard public formulas (Krasovsky ellipsoid, ``a = 6378245``,
``ee = 0.00669342162296594323``); the inverses iterate the forward transform to about 1e-10
degrees (well under a millimetre), instead of the usual one-step approximation that is off by up
to a couple of metres. Outside mainland China (the usual ``out_of_china`` box) GCJ-02 is the
identity, as in the published implementations.

Every function is vectorised: it takes scalars or arrays and returns a ``(lon, lat)`` tuple of
float64 arrays of the broadcast shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ynps_geo.errors import CRSError

__all__ = [
    "ACCEPTED_CRS_NAMES",
    "CRSSpec",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "geometry_to_wgs84",
    "out_of_china",
    "parse_crs",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_TOL_DEG = 1e-10
_MAX_ITER = 30

Pair = tuple[np.ndarray, np.ndarray]


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> Pair:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_a.astype(float, copy=True), lat_a.astype(float, copy=True)


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Boolean mask of points outside the GCJ-02 box (73.66-135.05 E, 3.86-53.55 N).

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees.

    Returns
    -------
    numpy.ndarray
        ``True`` where GCJ-02 leaves the coordinates unchanged.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    return ~((lon_a > 73.66) & (lon_a < 135.05) & (lat_a > 3.86) & (lat_a < 53.55))


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> Pair:
    """GCJ-02 minus WGS84 offset (degrees) at WGS84 position ``(lon, lat)``."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert WGS84 coordinates to GCJ-02 (Amap, Tencent).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in GCJ-02; unchanged outside China and where the input is NaN.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    dlon, dlat = _gcj_delta(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def _invert(
    forward: Callable[[np.ndarray, np.ndarray], Pair],
    lon: np.ndarray,
    lat: np.ndarray,
    start: Pair,
) -> Pair:
    """Solve ``forward(x) == (lon, lat)`` by fixed-point iteration from ``start``.

    The offsets vary slowly (their derivative is ~1e-3), so each step gains about three
    digits; a handful of iterations reach ``_TOL_DEG``.
    """
    x_lon, x_lat = start
    for _ in range(_MAX_ITER):
        f_lon, f_lat = forward(x_lon, x_lat)
        e_lon = f_lon - lon
        e_lat = f_lat - lat
        x_lon = x_lon - e_lon
        x_lat = x_lat - e_lat
        err = np.nanmax(np.abs(np.concatenate([e_lon.ravel(), e_lat.ravel(), [0.0]])))
        if err < _TOL_DEG:
            break
    return x_lon, x_lat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert GCJ-02 coordinates to WGS84 by iterating the forward transform.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in WGS84, such that :func:`wgs84_to_gcj02` of the result reproduces the
        input to about 1e-10 degrees (sub-millimetre).
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    dlon, dlat = _gcj_delta(lon_a, lat_a)
    return _invert(wgs84_to_gcj02, lon_a, lat_a, (lon_a - dlon, lat_a - dlat))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert GCJ-02 coordinates to BD-09 (Baidu).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in BD-09.
    """
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert BD-09 coordinates to GCJ-02, refining the usual closed form by iteration.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in GCJ-02, exact inverse of :func:`gcj02_to_bd09` to about 1e-10 degrees.
    """
    bd_lon, bd_lat = _as_arrays(lon, lat)
    x = bd_lon - 0.0065
    y = bd_lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _invert(gcj02_to_bd09, bd_lon, bd_lat, (z * np.cos(theta), z * np.sin(theta)))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert BD-09 coordinates to WGS84 (via GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in WGS84.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert WGS84 coordinates to BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in BD-09.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


# --------------------------------------------------------------------------------------------
# Declared coordinate systems
# --------------------------------------------------------------------------------------------

ACCEPTED_CRS_NAMES = ("wgs84", "cgcs2000", "gcj02", "bd09", "EPSG:<code>")

_ALIASES = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "wgs_84": "wgs84",
    "wgs 84": "wgs84",
    "gps": "wgs84",
    "cgcs2000": "cgcs2000",
    "cgcs-2000": "cgcs2000",
    "cgcs_2000": "cgcs2000",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "gcj_02": "gcj02",
    "gcj": "gcj02",
    "amap": "gcj02",
    "mars": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "bd_09": "bd09",
    "bd09ll": "bd09",
    "baidu": "bd09",
}


@dataclass(frozen=True)
class CRSSpec:
    """A declared coordinate system.

    Attributes
    ----------
    kind : str
        ``'wgs84'``, ``'cgcs2000'``, ``'gcj02'``, ``'bd09'`` or ``'epsg'`` (any other EPSG code).
    pyproj_crs : pyproj.CRS or None
        The pyproj CRS for ``wgs84``, ``cgcs2000`` and ``epsg``; ``None`` for GCJ-02 and BD-09,
        which no EPSG code describes.
    """

    kind: str
    pyproj_crs: Any = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """Short name for messages, e.g. ``'gcj02'`` or ``'EPSG:32647'``."""
        if self.kind == "epsg" and self.pyproj_crs is not None:
            code = self.pyproj_crs.to_epsg()
            return f"EPSG:{code}" if code else self.pyproj_crs.to_string()
        return self.kind

    @property
    def is_wgs84_like(self) -> bool:
        """True for WGS84 and CGCS2000 (equal within centimetres)."""
        return self.kind in ("wgs84", "cgcs2000")

    @property
    def is_geographic(self) -> bool:
        """True when coordinates are longitude/latitude degrees."""
        if self.kind in ("wgs84", "cgcs2000", "gcj02", "bd09"):
            return True
        return bool(self.pyproj_crs is not None and self.pyproj_crs.is_geographic)


def _unknown_crs(spec: object, detail: str = "") -> CRSError:
    accepted = ", ".join(ACCEPTED_CRS_NAMES)
    msg = (
        f"unknown coordinate system {spec!r}{detail}. Accepted: {accepted} "
        "(for example crs: gcj02 for coordinates copied from Amap, crs: EPSG:32648 for UTM 48N)"
    )
    return CRSError(msg)


def _from_epsg(code: int, original: object) -> CRSSpec:
    from pyproj import CRS
    from pyproj.exceptions import CRSError as PyprojCRSError

    if code == 4326:
        return CRSSpec("wgs84", CRS.from_epsg(4326))
    if code == 4490:
        return CRSSpec("cgcs2000", CRS.from_epsg(4490))
    try:
        crs = CRS.from_epsg(code)
    except PyprojCRSError as err:
        raise _unknown_crs(original, f" (EPSG:{code} is not a known EPSG code)") from err
    return CRSSpec("epsg", crs)


def parse_crs(spec: str | int | CRSSpec | Any) -> CRSSpec:
    """Parse a declared coordinate system.

    Parameters
    ----------
    spec : str, int, CRSSpec or pyproj.CRS
        ``'wgs84'`` (any case), ``'cgcs2000'``, ``'gcj02'``, ``'bd09'``, ``'EPSG:<code>'``,
        ``'<code>'``, an integer EPSG code, a :class:`CRSSpec` or a ``pyproj.CRS``.

    Returns
    -------
    CRSSpec
        EPSG:4326 gives kind ``'wgs84'`` and EPSG:4490 kind ``'cgcs2000'``.

    Raises
    ------
    CRSError
        For an unknown name or code; the message lists the accepted names.
    """
    if isinstance(spec, CRSSpec):
        return spec
    if isinstance(spec, bool) or spec is None:
        raise _unknown_crs(spec)
    if isinstance(spec, (int, np.integer)):
        return _from_epsg(int(spec), spec)
    if isinstance(spec, str):
        text = spec.strip()
        key = text.lower()
        if key in _ALIASES:
            kind = _ALIASES[key]
            if kind == "wgs84":
                return _from_epsg(4326, spec)
            if kind == "cgcs2000":
                return _from_epsg(4490, spec)
            return CRSSpec(kind, None)
        if key.isdigit():
            return _from_epsg(int(key), spec)
        if key.startswith("epsg:"):
            code = key[5:].strip()
            if code.isdigit():
                return _from_epsg(int(code), spec)
        raise _unknown_crs(spec)
    # A pyproj CRS (or anything exposing to_epsg).
    to_epsg = getattr(spec, "to_epsg", None)
    if callable(to_epsg):
        code = to_epsg()
        if code is not None:
            return _from_epsg(int(code), spec)
        return CRSSpec("epsg", spec)
    raise _unknown_crs(spec)


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


def _xy_transform(func: Callable[[ArrayLike, ArrayLike], Pair]) -> Callable[[Any], np.ndarray]:
    def transform(coords: np.ndarray) -> np.ndarray:
        lon, lat = func(coords[:, 0], coords[:, 1])
        out = np.array(coords, dtype=float, copy=True)
        out[:, 0] = lon
        out[:, 1] = lat
        return out

    return transform


def geometry_to_wgs84(geoms: Any, spec: str | int | CRSSpec | Any) -> Any:
    """Convert geometries of any type from a declared system to WGS84 (EPSG:4326).

    Parameters
    ----------
    geoms : geopandas.GeoSeries or array_like of shapely geometries
        The geometries, with coordinates in ``spec`` (a GeoSeries' own ``crs`` is ignored: the
        declared system wins, because files of Amap POIs are often labelled EPSG:4326).
    spec : str, int, CRSSpec or pyproj.CRS
        Declared system, see :func:`parse_crs`.

    Returns
    -------
    geopandas.GeoSeries
        Geometries in EPSG:4326, same index as the input GeoSeries (or a RangeIndex).

    Raises
    ------
    CRSError
        When ``spec`` is unknown or the projection fails.
    """
    import geopandas as gpd
    import shapely

    crs_spec = parse_crs(spec)
    if isinstance(geoms, gpd.GeoSeries):
        index = geoms.index
        values = np.asarray(geoms.values, dtype=object)
    else:
        values = np.asarray(geoms, dtype=object)
        index = None
    if crs_spec.is_wgs84_like:
        out = values
    elif crs_spec.kind in _TO_WGS84:
        out = shapely.transform(values, _xy_transform(_TO_WGS84[crs_spec.kind]), include_z=None)
    else:
        from pyproj.exceptions import ProjError

        series = gpd.GeoSeries(values, crs=crs_spec.pyproj_crs)
        try:
            out = np.asarray(series.to_crs(4326).values, dtype=object)
        except (ProjError, ValueError) as err:
            msg = (
                f"could not transform coordinates from {crs_spec.label} to WGS84: {err}. "
                "Check that the declared crs matches the file"
            )
            raise CRSError(msg) from err
    return gpd.GeoSeries(out, index=index, crs="EPSG:4326")
