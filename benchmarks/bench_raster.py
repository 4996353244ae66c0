"""Benchmark: raster cost distance and Tobler walking against skimage and GRASS.

Run from the repository root::

    /tmp/venv/bin/python benchmarks/bench_raster.py            # 2000 x 2000 = 4M cells
    /tmp/venv/bin/python benchmarks/bench_raster.py --full     # also 4000 x 4000 = 16M

``cost_distance`` is timed against ``skimage.graph.MCP_Geometric(cost,
fully_connected=True)`` (constructor + ``find_costs``) on the same random friction
raster (5 % impassable cells), and on the same with fast road lines burnt in every 50 cells,
with ``--sources`` sources; results must be identical.
``walking_time`` (8 and 16 neighbours) is timed against GRASS ``r.walk -k`` (knight's moves)
on a synthetic DEM when ``grass`` is on PATH; otherwise the reference is reported as
unavailable. Times are medians of ``--repeats`` runs; peak memory is the extra resident
memory while our call runs, relative to the input arrays. The "heap kernel" lines time the
previous binary-heap kernels (``method=1``, same results) in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from skimage.graph import MCP_Geometric

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_network import median_time, peak_extra_bytes

from ynps_geo import kernels, terrain
from ynps_geo._kernels import grid as _grid


def friction(side: int, seed: int = 0) -> np.ndarray:
    """Random friction raster in [1, 5) with 5 % impassable (inf) cells."""
    rng = np.random.default_rng(seed)
    cost = 1.0 + 4.0 * rng.random((side, side))
    cost[rng.random(cost.shape) < 0.05] = np.inf
    return cost


def friction_roads(side: int, seed: int = 0, every: int = 50) -> np.ndarray:
    """:func:`friction` with fast road lines burnt in (cost 0.1, a twentieth of the mean)
    along every ``every``-th row and column: the surface whose bucket widths follow the
    fastest cell."""
    cost = friction(side, seed)
    cost[::every, :] = 0.1
    cost[:, ::every] = 0.1
    return cost


def dem(side: int, seed: int = 0) -> np.ndarray:
    """Synthetic mountain DEM in metres (ridges and valleys, ~1500 m relief)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] / side
    z = 1500 + 600 * np.sin(7 * x + 2 * y) * np.cos(5 * y - x) + 300 * np.sin(23 * x * y)
    return z + rng.normal(0, 5, z.shape)


def bench_cost(side: int, n_sources: int, repeats: int, roads: bool = False) -> None:
    cost = friction_roads(side) if roads else friction(side)
    rng = np.random.default_rng(1)
    src = np.stack([rng.integers(0, side, n_sources), rng.integers(0, side, n_sources)], 1)
    t_ref, ref = median_time(
        lambda: MCP_Geometric(cost, fully_connected=True).find_costs(src)[0], repeats
    )
    t_ours, ours = median_time(lambda: kernels.cost_distance(cost, src), repeats)
    same = np.allclose(ours, ref, rtol=1e-9) and np.array_equal(np.isinf(ours), np.isinf(ref))
    tables = _grid.neighbourhood(8)
    rows, cols = src[:, 0].astype(np.int64), src[:, 1].astype(np.int64)
    t_heap, heap = median_time(
        lambda: _grid.cost_distance(cost, rows, cols, np.inf, *tables, 1), repeats
    )
    same = same and np.array_equal(heap, ours)
    peak = peak_extra_bytes(lambda: kernels.cost_distance(cost, src))
    surface = ", road lines every 50 cells" if roads else ""
    print(
        f"cost_distance {side}x{side} ({side * side / 1e6:.0f}M cells{surface}), "
        f"{n_sources} sources, median of {repeats}"
    )
    print(f"  skimage MCP_Geometric   {t_ref:8.3f} s   1.00x")
    print(f"  kernels.cost_distance   {t_ours:8.3f} s   {t_ours / t_ref:.2f}x   identical={same}")
    print(f"    heap kernel (method=1) {t_heap:8.3f} s   {t_heap / t_ref:.2f}x")
    print(
        f"  peak extra memory {peak / 2**20:.0f} MiB = {peak / cost.nbytes:.2f}x the input "
        f"({cost.nbytes / 2**20:.0f} MiB)"
    )


def _grass_walk_seconds(z: np.ndarray, cell: float, src: np.ndarray) -> float | None:
    """Wall time of ``r.walk -k`` alone inside a temporary GRASS location, or None."""
    if shutil.which("grass") is None:
        return None
    import rasterio
    from rasterio.transform import from_origin

    H, W = z.shape
    with tempfile.TemporaryDirectory() as tmp:
        tif = Path(tmp) / "dem.tif"
        x0, y0 = 500000.0, 3000000.0 + H * cell
        with rasterio.open(
            tif,
            "w",
            driver="GTiff",
            height=H,
            width=W,
            count=1,
            dtype="float64",
            crs="EPSG:32647",
            transform=from_origin(x0, y0, cell, cell),
        ) as ds:
            ds.write(z, 1)
        pts = Path(tmp) / "pts.txt"
        xs = x0 + (src[:, 1] + 0.5) * cell
        ys = y0 - (src[:, 0] + 0.5) * cell
        pts.write_text("".join(f"{a}|{b}\n" for a, b in zip(xs, ys, strict=True)))
        script = Path(tmp) / "run.sh"
        script.write_text(
            "set -e\n"
            f"r.in.gdal -o input={tif} output=dem --quiet\n"
            "g.region raster=dem\n"
            "r.mapcalc 'fr = 0' --quiet\n"
            f"v.in.ascii input={pts} output=pts separator=pipe --quiet\n"
            "t0=$(date +%s.%N)\n"
            "r.walk -k elevation=dem friction=fr output=cost start_points=pts --quiet\n"
            "t1=$(date +%s.%N)\n"
            'echo WALK_SECONDS $(echo "$t1 - $t0" | bc)\n'
        )
        env = dict(os.environ, GRASS_OVERWRITE="1")
        proc = subprocess.run(
            ["grass", "--tmp-location", "EPSG:32647", "--exec", "bash", str(script)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        for line in proc.stdout.splitlines():
            if line.startswith("WALK_SECONDS"):
                return float(line.split()[1])
        print("  GRASS r.walk failed:", proc.stderr.strip()[-400:])
        return None


def bench_walk(side: int, n_sources: int, repeats: int) -> None:
    z = dem(side)
    cell = 30.0
    rng = np.random.default_rng(2)
    src = np.stack([rng.integers(0, side, n_sources), rng.integers(0, side, n_sources)], 1)
    print(f"walking_time {side}x{side}, {n_sources} sources, 30 m cells, median of {repeats}")
    times = {}
    heap_times = {}
    rows, cols = src[:, 0].astype(np.int64), src[:, 1].astype(np.int64)
    for conn in (8, 16):
        t, ours = median_time(
            lambda c=conn: terrain.walking_time(z, cell, cell, src, connectivity=c), repeats
        )
        times[conn] = t
        zz, ok, tables, length_m, tan_max, spm = terrain._prepare(
            z, cell, cell, conn, None, None, None, None
        )
        args = (zz, ok, rows, cols, np.inf, *tables, length_m, tan_max, spm, True, 1)
        t, heap = median_time(lambda a=args: _grid.walking_time(*a), repeats)
        heap_times[conn] = t
        assert np.array_equal(heap, ours)
    peak = peak_extra_bytes(lambda: terrain.walking_time(z, cell, cell, src, connectivity=16))
    t_ref = _grass_walk_seconds(z, cell, src)
    if t_ref is None:
        print("  GRASS r.walk -k         reference unavailable (grass not on PATH or failed)")
        for conn, t in times.items():
            print(
                f"  walking_time conn={conn:<2}     {t:8.3f} s   "
                f"(heap kernel {heap_times[conn]:.3f} s)"
            )
    else:
        print(f"  GRASS r.walk -k         {t_ref:8.3f} s   1.00x")
        for conn, t in times.items():
            print(f"  walking_time conn={conn:<2}     {t:8.3f} s   {t / t_ref:.2f}x")
            print(
                f"    heap kernel (method=1) {heap_times[conn]:8.3f} s   "
                f"{heap_times[conn] / t_ref:.2f}x"
            )
    print(
        f"  peak extra memory {peak / 2**20:.0f} MiB = {peak / z.nbytes:.2f}x the DEM "
        f"({z.nbytes / 2**20:.0f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=2000)
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="also run 4000 x 4000 (16M)")
    parser.add_argument("--no-walk", action="store_true", help="skip the Tobler benchmark")
    args = parser.parse_args()
    # compile / load the numba cache
    kernels.cost_distance(np.ones((8, 8)), [[0, 0]])
    terrain.walking_time(np.zeros((8, 8)), 1.0, 1.0, [[0, 0]], connectivity=16)
    terrain.walking_time(np.zeros((8, 8)), 1.0, 1.0, [[0, 0]], connectivity=8)
    sides = [args.side] + ([4000] if args.full and args.side != 4000 else [])
    for side in sides:
        bench_cost(side, args.sources, args.repeats)
        bench_cost(side, args.sources, args.repeats, roads=True)
        if not args.no_walk:
            bench_walk(side, args.sources, args.repeats)


if __name__ == "__main__":
    main()
