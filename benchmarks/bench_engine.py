"""Benchmark: searches on the engine's own graphs (the layered trip) against scipy.

Builds the demo county's engine (``ynps-geo demo`` inputs, generated offline), assembles the
``walk`` graph (one layer) and the ``drive`` graph (walk, vehicle, walk layers), and times the
engine's multi-source search of every facility group a standard needs against
``scipy.sparse.csgraph.dijkstra(min_only=True)`` on the same CSR arrays; results must be
equal. The engine searches ``drive`` phase by phase on the walking graph (equal to searching
the layered graph); it is timed alone and, as a county runs it, with the walking searches of
the same facilities handed over. Prints the graph sizes, build times and ratios (ours /
scipy; < 1 is faster), medians of ``--repeats``.

Last, a county's whole set of searches for the plan's circle standards: one parallel batch
(walking, distance and the drive groups' walking) then drive from it
(``CountySearches.run``), against one call per mode as before that batch (same results).

Run: ``python benchmarks/bench_engine.py [--repeats 5] [--data DIR]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_network import median_time


def build_engine(data: Path, connectivity: int) -> object:
    from ynps_geo.analysis import Options, build_county_engine
    from ynps_geo.config import load_config
    from ynps_geo.workflows import load_inputs

    cfg = load_config(data / "config.yaml")
    inputs = load_inputs(cfg)
    opts = Options(connectivity=connectivity)
    county = inputs.counties["county"].iloc[0]
    geom = inputs.counties.geometry.iloc[0]
    return build_county_engine(county, geom, inputs, opts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data", type=Path, default=None, help="a demo data folder (default: new)")
    args = ap.parse_args()
    data = args.data
    if data is None:
        from ynps_geo.datasets import demo_dir

        data = demo_dir()
    from ynps_geo.analysis import facility_matches

    for conn in (16, 8):
        setup = build_engine(data, conn)
        eng = setup.engine  # type: ignore[attr-defined]
        fac = setup.facilities  # type: ignore[attr-defined]
        groups = [("hospital",), ("township_health_centre",), ("village_clinic",), ("school",)]
        sets = [np.flatnonzero(facility_matches(fac, g)) for g in groups]
        sets = [s for s in sets if s.size]
        for mode in ("walk", "drive"):
            t0 = time.perf_counter()
            eng._graphs.clear()
            eng._access = None
            indptr, indices, w = eng.graph(mode)
            build = time.perf_counter() - t0
            n = len(indptr) - 1
            first = n - len(eng.facilities)
            ours_t, _ = median_time(lambda: eng.search(mode, sets), args.repeats)  # noqa: B023
            g = sp.csr_matrix((w, indices, indptr), shape=(n, n))
            src = [s + first for s in sets]
            ref_t, _ = median_time(
                lambda: [dijkstra(g, indices=s, min_only=True) for s in src],  # noqa: B023
                args.repeats,
            )
            dist, _ = eng.search(mode, sets)
            ref = np.stack([dijkstra(g, indices=s, min_only=True) for s in src])
            np.testing.assert_allclose(dist, ref, rtol=1e-9)
            print(
                f"connectivity {conn:2d} {mode:5s}: {n:9,d} nodes {len(w):10,d} edges, "
                f"build {build:6.2f} s, {len(sets)} searches {ours_t:6.3f} s vs scipy "
                f"{ref_t:6.3f} s = {ours_t / ref_t:.2f}x"
            )
            if mode == "drive":
                # as a county runs it: the walking searches of the same facilities exist
                wd, wn = eng.search("walk", sets)
                walked = list(zip(wd, wn, strict=True))
                shared_t, _ = median_time(
                    lambda: eng.search(mode, sets, walked=walked),  # noqa: B023
                    args.repeats,
                )
                d2, _ = eng.search(mode, sets, walked=walked)
                np.testing.assert_array_equal(d2, dist)
                print(
                    f"connectivity {conn:2d} drive, walking searches shared: "
                    f"{shared_t:6.3f} s vs scipy {ref_t:6.3f} s = {shared_t / ref_t:.2f}x"
                )
    bench_county_searches(data, args.repeats)


def searches_by_mode(eng: object, fac: object, standards: list, present: set) -> dict:
    """The county's searches one call per mode (walking first, then the others, drive
    from the walking searches it can share): what ``CountySearches.run`` did before it
    batched them."""
    from ynps_geo.analysis import facility_matches

    jobs: dict[str, list[tuple[str, ...]]] = {}
    for s in standards:
        for st in ("urban", "rural"):
            if st in present and s.applies(st):
                groups = jobs.setdefault(s.mode_for(st), [])
                groups += [g for g in s.facilities if g not in groups]
    results: dict = {}
    for mode, groups in sorted(jobs.items(), key=lambda kv: kv[0] != "walk"):
        sets = [np.flatnonzero(facility_matches(fac, g)) for g in groups]
        if mode == "drive":
            walked = [results.get(("walk", g)) for g in groups]
            dist, near = eng.search(mode, sets, walked=walked)  # type: ignore[attr-defined]
        else:
            dist, near = eng.search(mode, sets)  # type: ignore[attr-defined]
        for i, g in enumerate(groups):
            results[(mode, g)] = (dist[i], near[i])
    return results


def bench_county_searches(data: Path, repeats: int) -> None:
    from ynps_geo.analysis import CountySearches, Options
    from ynps_geo.model.standards import load_standards

    setup = build_engine(data, 16)
    eng, fac = setup.engine, setup.facilities  # type: ignore[attr-defined]
    circles = [s for s in load_standards().of_kind("circle") if s.facilities]
    present = {"urban", "rural"}
    opts = Options(progress=False)
    eng.graph("walk")
    eng.graph("distance")
    old_t, old = median_time(lambda: searches_by_mode(eng, fac, circles, present), repeats)
    new_t, new = median_time(
        lambda: CountySearches.run("x", eng, fac, circles, present, opts).results, repeats
    )
    for key, (d, q) in old.items():
        np.testing.assert_array_equal(new[key][0], d)
        np.testing.assert_array_equal(new[key][1], q)
    modes = sorted({m for m, _ in old})
    print(
        f"county searches ({len(old)} groups x modes: {', '.join(modes)}): one call per mode "
        f"{old_t:6.3f} s, one batch then drive {new_t:6.3f} s = {new_t / old_t:.2f}x"
    )


if __name__ == "__main__":
    main()
