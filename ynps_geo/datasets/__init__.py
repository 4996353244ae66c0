"""The embedded demo region: a seeded, generated mountain county in western Yunnan.

``generate_demo(out_dir)`` writes the county's files (DEM, boundary, roads as OSM XML,
villages, facilities, population raster and the analysis config) into a folder;
``get_path(name)`` returns one of those files from a cache folder
(``ynps_geo.settings.cache_dir / "demo" / "seed-<seed>"``), generating them on first use.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ynps_geo import settings
from ynps_geo.datasets.demo import DEFAULT_SEED, FILES, GENERATOR_VERSION, generate_demo
from ynps_geo.errors import ValidationError

__all__ = ["FILES", "demo_dir", "generate_demo", "get_path"]

_MARKER = ".ynps_geo_demo"


def _complete(folder: Path) -> bool:
    marker = folder / _MARKER
    try:
        ok = marker.read_text(encoding="utf-8").strip() == GENERATOR_VERSION
    except OSError:
        return False
    return ok and all((folder / name).is_file() for name in FILES)


def demo_dir(seed: int = DEFAULT_SEED) -> Path:
    """Folder of the cached demo county for ``seed``, generated on first use.

    Generation goes to a temporary sibling folder that is renamed into place, so that
    parallel callers (e.g. pytest-xdist workers) never see half-written files. A cache
    written by another generator version is replaced.

    Parameters
    ----------
    seed : int, default 532901
        Seed of the demo county.

    Returns
    -------
    pathlib.Path
        ``ynps_geo.settings.cache_dir / "demo" / f"seed-{seed}"``.
    """
    folder = Path(settings.cache_dir) / "demo" / f"seed-{seed}"
    if _complete(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".seed-{seed}-", dir=folder.parent))
    try:
        generate_demo(tmp, seed=seed)
        (tmp / _MARKER).write_text(GENERATOR_VERSION + "\n", encoding="utf-8")
        if folder.exists() and not _complete(folder):
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.replace(tmp, folder)
        except OSError:
            if not _complete(folder):  # someone else's half-written or stale folder
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def get_path(name: str, *, seed: int = DEFAULT_SEED) -> Path:
    """Path of one generated demo file in the cache folder, generating the demo on first use.

    Parameters
    ----------
    name : str
        One of ``config.yaml``, ``dem.tif``, ``boundary.geojson``, ``townships.geojson``,
        ``roads.osm``, ``villages.csv``, ``facilities.csv``, ``population.tif``.
    seed : int, default 532901
        Seed of the demo county.

    Returns
    -------
    pathlib.Path
        The file's path (it exists).

    Raises
    ------
    ValidationError
        If ``name`` is not one of the demo files.
    """
    if name not in FILES:
        msg = f"unknown demo file {name!r}: use one of {', '.join(FILES)}"
        raise ValidationError(msg)
    return demo_dir(seed) / name
