"""Counties serially, in the local pool (``jobs``) and on a Dask ``LocalCluster``: time and payload.

Builds the demo county (``--size-km``, seeded, offline) and cuts it into ``--counties``
north-south strips, each a county, then runs the whole analysis (no facility isochrones)

* serially,
* with ``jobs: 2`` (two spawned processes, each given the inputs once),
* on a ``LocalCluster`` of two worker processes (one thread each): the first run pays for
  the workers' imports and reading the inputs, the second is the steady state,

checks that every run gives the serial run's villages and access, and prints the median
wall time of each (``--repeats``) and the bytes one county's task sends: the whole inputs
(what the local pool sent per county before issue 9) against the Dask task (config, polygon,
standards). Needs ``pip install "ynps-geo[dask]"``.

Run: ``python benchmarks/bench_cluster.py [--size-km 40] [--counties 4] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import pickle
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml


def build(folder: Path, size_km: float, counties: int) -> Path:
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import box

    from ynps_geo.datasets import generate_demo

    cfg = yaml.safe_load(generate_demo(folder, size_km=size_km).read_text(encoding="utf-8"))
    whole = gpd.read_file(folder / "boundary.geojson")
    g = whole.geometry.iloc[0]
    x0, y0, x1, y1 = g.bounds
    cuts = np.linspace(x0, x1, counties + 1)
    strips = [g.intersection(box(a, y0 - 1, b, y1 + 1)) for a, b in itertools.pairwise(cuts)]
    names = [f"县{i + 1}" for i in range(counties)]
    gpd.GeoDataFrame({"name": names}, geometry=strips, crs=whole.crs).to_file(
        folder / "strips.geojson", driver="GeoJSON"
    )
    cfg["boundary"] = {**cfg["boundary"], "path": "strips.geojson", "name_field": "name"}
    cfg["facility_isochrones"] = "none"
    path = folder / "strips.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def timed(path: Path, **options: object) -> tuple[float, object]:
    from ynps_geo import workflows
    from ynps_geo.config import load_config

    cfg = load_config(path)
    cfg.options.update(options)
    t = time.perf_counter()
    result = workflows.run(cfg)
    return time.perf_counter() - t, result


def payload(path: Path) -> tuple[int, int]:
    from ynps_geo import settings, workflows
    from ynps_geo.analysis import Options
    from ynps_geo.cluster import SETTINGS_SENT
    from ynps_geo.config import load_config

    cfg = load_config(path)
    inputs = workflows.load_inputs(cfg)
    opts = Options.from_config(cfg)
    circles = workflows._standards_for(cfg).of_kind("circle")
    county, geom = str(inputs.counties["county"].iloc[0]), inputs.counties.geometry.iloc[0]
    defaults = {k: getattr(settings, k) for k in SETTINGS_SENT}
    before = len(pickle.dumps((county, geom, inputs, circles, opts)))
    task = len(pickle.dumps(("0" * 32, cfg, county, geom, circles, opts, defaults)))
    return before, task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-km", type=float, default=40.0)
    ap.add_argument("--counties", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    logging.getLogger("ynps_geo").setLevel(logging.WARNING)
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory() as tmp:
        path = build(Path(tmp) / "data", args.size_km, args.counties)
        before, task = payload(path)
        print(
            f"demo {args.size_km:g} km in {args.counties} counties; one county's task sends "
            f"{before / 1e6:.2f} MB with the whole inputs, {task / 1e3:.1f} kB as a Dask task"
        )
        times: dict[str, list[float]] = {"serial": [], "jobs 2": [], "dask (steady)": []}
        reference = None
        for _ in range(args.repeats):
            t, reference = timed(path)
            times["serial"].append(t)
        for _ in range(args.repeats):
            t, r = timed(path, jobs=2)
            times["jobs 2"].append(t)
            pd.testing.assert_frame_equal(r.villages, reference.villages)  # type: ignore[attr-defined]
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            first, r = timed(path, scheduler=cluster.scheduler_address)
            for _ in range(args.repeats):
                t, r = timed(path, scheduler=cluster.scheduler_address)
                times["dask (steady)"].append(t)
            pd.testing.assert_frame_equal(r.villages, reference.villages)  # type: ignore[attr-defined]
            pd.testing.assert_frame_equal(r.access, reference.access)  # type: ignore[attr-defined]
        print(f"dask first run (workers import and read the inputs): {first:.1f} s")
        for name, ts in times.items():
            print(f"{name}: median {statistics.median(ts):.1f} s of {len(ts)} runs")
        print("every run gave the serial run's villages (and access on the cluster)")


if __name__ == "__main__":
    main()
