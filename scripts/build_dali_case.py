"""Build the Dali city (大理市, 532901) test case: real boundary, facilities, seats and village
committees from ``../shared/data/real/testcase-dali-532901``, generated roads, DEM, population
raster and village positions inside the real boundary.

Usage::

    python scripts/build_dali_case.py OUT_DIR [--seed 532901] [--resolution-m 50]
    ynps-geo analyze OUT_DIR/config.yaml --out OUT_DIR/results

``OUT_DIR/config.yaml`` points to the real boundary and facilities files (paths relative to
``OUT_DIR``, absolute when no relative path exists) and to the generated ``roads.osm``,
``dem.tif``, ``population.tif`` and ``villages.csv``. See ``examples/dali/README.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "real" / "testcase-dali-532901"

BOUNDARY = "dali_city_boundary_wgs84_from_gcj02.geojson"
FACILITIES = "dali_osm_facilities.geojson"
SEATS = "dali_geonames_places.geojson"
VILLAGES = "dali_villages_nbs2023.csv"
TOWNSHIPS = "dali_townships_nbs2023.csv"

#: Township -> GeoNames seat, by name (GeoNames has English names only). The three
#: sub-districts of Xiaguan share the seat "Dali" (GeoNames alternate names: Xiaguan); the
#: other townships have no GeoNames seat and are spread by the generator.
TOWNSHIP_SEATS: dict[str, str | None] = {
    "下关街道": "Dali",
    "太和街道": "Dali",
    "满江街道": "Dali",
    "大理镇": "Dali Old Town",
    "凤仪镇": "Fengyi",
    "海东镇": "Haidong Zhen",
    "银桥镇": "Yinqiao Zhen",
    "湾桥镇": "Wanqiao Zhen",
    "喜洲镇": None,
    "挖色镇": None,
    "双廊镇": None,
    "上关镇": None,
    "太邑彝族乡": None,
}

#: Optional realism: a rough, hand-drawn outline of Erhai lake (WGS84, about 1 km accuracy at
#: best; NOT survey data) and the crest line of the Cangshan range west of it.
ERHAI = [
    (100.238, 25.612),
    (100.215, 25.640),
    (100.196, 25.675),
    (100.180, 25.710),
    (100.168, 25.750),
    (100.158, 25.800),
    (100.148, 25.850),
    (100.140, 25.900),
    (100.142, 25.945),
    (100.155, 25.965),
    (100.172, 25.950),
    (100.188, 25.915),
    (100.205, 25.870),
    (100.222, 25.820),
    (100.236, 25.770),
    (100.246, 25.720),
    (100.252, 25.670),
    (100.250, 25.630),
]
CANGSHAN = [
    (100.170, 25.590),
    (100.110, 25.660),
    (100.070, 25.740),
    (100.050, 25.820),
    (100.040, 25.900),
]
CANGSHAN_GAIN_M = 1800.0
ERHAI_LEVEL_M = 1966.0


def _config_path(target: Path, out_dir: Path) -> str:
    try:
        return Path(os.path.relpath(target, out_dir)).as_posix()
    except ValueError:  # another drive on Windows
        return target.as_posix()


def build(
    out_dir: Path,
    *,
    data: Path = DATA,
    seed: int = 532901,
    resolution_m: float = 50.0,
    analysis_resolution_m: float = 200.0,
) -> Path:
    """Generate the missing layers into ``out_dir`` and write ``out_dir/config.yaml``.

    Parameters
    ----------
    out_dir : Path
        Folder to write into (created when missing).
    data : Path
        The real ``testcase-dali-532901`` folder.
    seed : int
        Seed of the generator.
    resolution_m : float
        Cell size of the generated DEM.
    analysis_resolution_m : float
        ``resolution_m`` written into the config (the analysis grid).

    Returns
    -------
    Path
        ``out_dir / "config.yaml"``.
    """
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import LineString, Polygon

    from ynps_geo.datasets.region import generate_region

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    data = Path(data).resolve()
    boundary = gpd.read_file(data / BOUNDARY)
    seats = gpd.read_file(data / SEATS)
    vil = pd.read_csv(data / VILLAGES, dtype=str)
    towns = pd.read_csv(data / TOWNSHIPS, dtype=str)
    tname = dict(zip(towns["code"], towns["name"], strict=True))
    vil = vil.assign(township_code=vil["streetCode"], township=vil["streetCode"].map(tname))
    generate_region(
        boundary,
        out_dir,
        seats=seats,
        villages=vil[["code", "name", "township", "township_code"]],
        seed=seed,
        resolution_m=resolution_m,
        township_seats=TOWNSHIP_SEATS,
        lakes=Polygon(ERHAI),
        lake_level_m=ERHAI_LEVEL_M,
        ridges=[(LineString(CANGSHAN), CANGSHAN_GAIN_M)],
    )
    rel = {
        name: _config_path(data / name, out_dir)
        for name in (BOUNDARY, FACILITIES, VILLAGES, TOWNSHIPS, SEATS)
    }
    text = f"""# Dali city (大理市, 532901): REAL boundary, facilities, seats and village committee names/codes;
# GENERATED roads, DEM, population raster and village positions (scripts/build_dali_case.py,
# seed {seed}; see examples/dali/README.md). Real village committee names and codes come from
#   {rel[VILLAGES]}  (townships: {rel[TOWNSHIPS]}),
# seats and their populations from {rel[SEATS]};
# villages.csv below carries those real names/codes with generated positions and populations.
name: 大理市 Dali city (real boundary and facilities, generated roads/DEM/population)
boundary: {{path: {rel[BOUNDARY]}, crs: wgs84, name_field: district}}
villages: {{path: villages.csv, crs: wgs84, x: lon, y: lat, id: code, name: name,
           population: pop, setting: setting, township: township}}
facilities:
  - {{path: {rel[FACILITIES]}, id: osm_id, name: name, osm_tags: true}}
roads: {{path: roads.osm}}
dem: {{path: dem.tif}}
population: {{path: population.tif}}
resolution_m: {analysis_resolution_m:g}
"""  # noqa: E501
    cfg = out_dir / "config.yaml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def main(argv: list[str] | None = None) -> int:
    """Command line: ``build_dali_case.py OUT_DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument(
        "--data",
        type=Path,
        default=DATA,
        help="the real testcase-dali-532901 folder (default: ../shared/...)",
    )
    parser.add_argument("--seed", type=int, default=532901)
    parser.add_argument("--resolution-m", type=float, default=50.0, help="DEM cell size")
    parser.add_argument(
        "--analysis-resolution-m",
        type=float,
        default=200.0,
        help="resolution_m written into config.yaml",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(
            f"build_dali_case: error: real data folder {args.data} not found; pass --data",
            file=sys.stderr,
        )
        return 2
    t = time.perf_counter()
    cfg = build(
        args.out_dir,
        data=args.data,
        seed=args.seed,
        resolution_m=args.resolution_m,
        analysis_resolution_m=args.analysis_resolution_m,
    )
    print(f"wrote {cfg} in {time.perf_counter() - t:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
