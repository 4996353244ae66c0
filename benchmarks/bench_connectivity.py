"""8 or 16 neighbours: accuracy of walking isochrones on flat ground, and speed.

On flat ground a walking isochrone is a disc of radius ``T * v`` (``v`` Tobler's flat speed
times the off-path factor). For each connectivity this builds the engine's walking graph on
a flat grid, searches from a facility at a random position inside a cell, and reports

* the isochrone's area error against the disc (cells whose centre is reached within ``T``),
* the error of each cell's time against straight-line distance / speed (median and max,
  cells between 0.3 and 1 times the isochrone's radius),
* the median time of the search and of the graph build.

Run: ``python benchmarks/bench_connectivity.py [--repeats 5] [--minutes 30]``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from ynps_geo.engine import TravelEngine
from ynps_geo.model.grid import GridSpec

FLAT_MPS = 6.0 * math.exp(-3.5 * 0.05) * 0.6 / 3.6


def run(connectivity: int, res: float, minutes: float, repeats: int, seed: int) -> dict:
    radius = minutes * 60.0 * FLAT_MPS
    n = math.ceil(2.4 * radius / res)
    grid = GridSpec(32647, 400_000.0, 2_860_000.0, res, n, n)
    rng = np.random.default_rng(seed)
    cx = 400_000.0 + (n // 2 + rng.uniform(0, 1)) * res
    cy = 2_860_000.0 - (n // 2 + rng.uniform(0, 1)) * res
    area_err, med_err, max_err, t_search, t_build = [], [], [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        eng = TravelEngine.build(
            grid,
            None,
            None,
            (np.zeros(0), np.zeros(0)),
            (np.array([cx]), np.array([cy])),
            connectivity=connectivity,
        )
        eng.graph("walk")
        t1 = time.perf_counter()
        dist, _ = eng.search("walk", [np.array([0])])
        t2 = time.perf_counter()
        cells = eng.cell_values(dist)[0]
        t_build.append(t1 - t0)
        t_search.append(t2 - t1)
        seconds = minutes * 60.0
        area = float((cells <= seconds).sum()) * res * res
        area_err.append(area / (math.pi * radius**2) - 1.0)
        xs, ys = grid.centres(np.arange(n)[:, None], np.arange(n)[None, :])
        d = np.hypot(xs - cx, ys - cy)
        ring = (d >= 0.3 * radius) & (d <= radius)
        rel = cells[ring] / (d[ring] / FLAT_MPS) - 1.0
        med_err.append(float(np.median(rel)))
        max_err.append(float(np.max(rel)))
    return {
        "cells": n * n,
        "area_err": float(np.median(area_err)),
        "median_err": float(np.median(med_err)),
        "max_err": float(np.median(max_err)),
        "search_s": float(np.median(t_search)),
        "build_s": float(np.median(t_build)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--minutes", type=float, default=30.0)
    args = ap.parse_args()
    run(8, 200.0, 15.0, 1, 0)  # compile
    run(16, 200.0, 15.0, 1, 0)
    print(f"walking isochrone of {args.minutes:g} min on flat ground, medians of {args.repeats}")
    print(
        f"{'res':>5} {'conn':>4} {'cells':>8} {'area err':>9} {'median err':>10} "
        f"{'max err':>8} {'search s':>9} {'build s':>8}"
    )
    for res in (100.0, 50.0):
        rows = {}
        for conn in (8, 16):
            r = run(conn, res, args.minutes, args.repeats, seed=int(res))
            rows[conn] = r
            print(
                f"{res:5.0f} {conn:4d} {r['cells']:8d} {r['area_err']:+9.2%} "
                f"{r['median_err']:+10.2%} {r['max_err']:+8.2%} {r['search_s']:9.3f} "
                f"{r['build_s']:8.3f}"
            )
        ratio = rows[16]["search_s"] / rows[8]["search_s"]
        bratio = rows[16]["build_s"] / rows[8]["build_s"]
        print(f"      16/8 time: search {ratio:.2f}x, build {bratio:.2f}x")


if __name__ == "__main__":
    main()
