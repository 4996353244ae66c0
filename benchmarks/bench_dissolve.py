"""Isochrone dissolve: shapely.coverage_union_all (what isochrones.py uses) against unary_union.

The pieces come from rasterio.features.shapes on one grid, so they are edge-matched (a
polygonal coverage) and both unions give the same area. Run::

    python benchmarks/bench_dissolve.py
"""

from __future__ import annotations

import time

import numpy as np
import shapely
from rasterio.features import shapes
from scipy import ndimage
from shapely.geometry import shape

from ynps_geo.model.grid import GridSpec


def main() -> None:
    rng = np.random.default_rng(0)
    g = GridSpec(32647, 400_000.0, 2_900_000.0, 100.0, 600, 600)
    field = ndimage.gaussian_filter(rng.random(g.shape), 3)
    inside = field > np.quantile(field, 0.55)
    polys = [
        shape(a)
        for a, v in shapes(inside.astype(np.uint8), mask=inside, transform=g.transform())
        if v == 1
    ]
    print(f"{len(polys)} pieces, {int(inside.sum()):,} cells")
    best = {}
    for name, f in (
        ("unary_union", shapely.unary_union),
        ("coverage_union_all", shapely.coverage_union_all),
    ):
        ts = []
        for _ in range(5):
            t = time.perf_counter()
            r = f(polys)
            ts.append(time.perf_counter() - t)
        best[name] = min(ts)
        print(f"{name}: {best[name] * 1000:.1f} ms, area {r.area:,.0f} m2")
    print(
        f"coverage_union_all / unary_union = {best['coverage_union_all'] / best['unary_union']:.2f}"
    )


if __name__ == "__main__":
    main()
