"""Module-level settings for ynps_geo.

Change them by assignment, e.g. ``ynps_geo.settings.walking_speed_kmh = 4.5``. The four that
give an option's default (``walking_speed_kmh``, ``offroad_speed_factor``,
``raster_resolution_m``, ``analysis_margin_m``) are read when the options are made
(:class:`ynps_geo.options.Options`, i.e. when a config is read or ``ynps_geo.analyze`` is
called), so change them before.

Settings
--------
cache_dir : pathlib.Path
    Where cached travel times, Overpass answers and the demo data live. Default
    ``$YNPS_GEO_CACHE``, else the user cache folder of the platform
    (``platformdirs.user_cache_dir("ynps-geo")``: ``~/.cache/ynps-geo`` on Linux,
    ``%LOCALAPPDATA%\\ynps-geo\\Cache`` on Windows, ``~/Library/Caches/ynps-geo`` on macOS).
cache_max_mb : float
    Size cap of the cached results and Overpass answers, MB; the least recently used are
    removed beyond it. Default ``2048`` (or ``$YNPS_GEO_CACHE_MAX_MB``). ``ynps-geo cache clear``
    empties the cache.
default_crs : str
    CRS that outputs are stored in. Default ``"EPSG:4326"``.
walking_speed_kmh : float
    Walking speed on flat ground and on paths, km/h. Default ``5.0``.
offroad_speed_factor : float
    Off-road walking is this fraction of path walking speed on flat ground. Default ``0.6``
    (Tobler's off-path factor).
raster_resolution_m : float
    Cell size of the friction raster used for off-road walking, metres. Default ``100.0``.
analysis_margin_m : float
    Margin around a county boundary that roads and facilities are taken from, metres, so
    that trips across the county border are found. Default ``10000.0``.
max_snap_distance_m : float
    Villages and facilities farther than this from the terrain grid are reported. Default
    ``5000.0``.
road_reach_m : float
    A village or facility walks straight to the nearest point of a road within this
    distance (the leg costed with Tobler's function on the DEM along it), besides walking
    over the terrain grid. Default ``3000.0``.
max_grid_cells : int
    Largest analysis grid (cells of one county and its margin) before an error asks for a
    coarser ``resolution_m``. Default ``50_000_000``.
max_village_population : float
    A village population above this is an error (a typo such as 1e12). Default ``1_000_000``.
log_level : str
    Default logging level of the CLI. Default ``"INFO"``.
"""

from __future__ import annotations

import os
from pathlib import Path


def _default_cache_dir() -> Path:
    env = os.environ.get("YNPS_GEO_CACHE")
    if env:
        return Path(env).expanduser()
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return Path.home() / ".cache" / "ynps-geo"
    return Path(platformdirs.user_cache_dir("ynps-geo", appauthor=False))


cache_dir: Path = _default_cache_dir()
cache_max_mb: float = float(os.environ.get("YNPS_GEO_CACHE_MAX_MB") or 2048)
default_crs: str = "EPSG:4326"
walking_speed_kmh: float = 5.0
offroad_speed_factor: float = 0.6
raster_resolution_m: float = 100.0
analysis_margin_m: float = 10000.0
max_snap_distance_m: float = 5000.0
road_reach_m: float = 3000.0
max_grid_cells: int = 50_000_000
max_village_population: float = 1_000_000.0
log_level: str = "INFO"

#: Settings an analysis result depends on when the config leaves them out (cache keys and
#: run manifests record them).
ANALYSIS_DEFAULTS: tuple[str, ...] = (
    "walking_speed_kmh",
    "offroad_speed_factor",
    "raster_resolution_m",
    "analysis_margin_m",
    "max_snap_distance_m",
    "road_reach_m",
)
