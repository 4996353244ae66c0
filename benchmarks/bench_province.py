"""Benchmark: the whole analysis on a Yunnan-size case (issue 9).

Run from the repository root::

    python benchmarks/bench_province.py                         # all 129 counties
    python benchmarks/bench_province.py --prefecture 大理 --jobs 2   # one prefecture
    python benchmarks/bench_province.py --counties 12 --repeats 3    # the first 12 counties
    python benchmarks/bench_province.py --estimate                   # the nation on paper

The first run builds the case once from the real data in ``../shared/data/real`` (the 129
county boundaries, 14,888 village committees, GeoNames seats and OSM facilities) with
generated villages, roads (one ``.osm.pbf``), DEM and population (100 m GeoTIFFs) and
facilities: see :mod:`ynps_geo.datasets.province`. It is cached in the user cache folder
(``<cache>/province/``, ``ynps-geo cache info`` shows where), per county and per case, and
reused by later runs. The build is timed on its own.

Each repeat then runs ``ynps_geo.workflows.analyze`` (every standard, maps, reports) on the
case in a fresh Python process (numba's on-disk cache is warm after the first), while the
process tree's memory is sampled. It prints the build, the time per phase (median over
``--repeats``), the peak memory and the ``ALL`` rows of ``coverage.csv``, and writes the
measurements as JSON (``--json``, default ``<cache>/province/last_run.json``), from which
``--estimate`` prints the estimate for the 2,844 counties of China at 100 m and for Yunnan
at 30 m (``--from FILE`` reads another record).

Without ``../shared/data/real`` (a clone outside the project's workspace) there is nothing to
measure: the script says so and exits with status 0, as a skipped test does. ``--shared``
points elsewhere. Exit status 1: a bad option (an unknown county...) or a failed run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "data" / "real"

#: China: county-level divisions (2,844, as the issue counts them), land area, village-level
#: units (村民委员会 and 居民委员会, about 490,000 + 118,000), the largest county (若羌县,
#: about 199,000 km2).
CHINA_COUNTIES = 2844
CHINA_AREA_KM2 = 9_600_000.0
CHINA_VILLAGES = 608_000
CHINA_LARGEST_KM2 = 199_000.0
#: Yunnan's village committees (the real ones the case places, all counties)
YUNNAN_VILLAGES = 14_888
WORKERS = (2, 16, 64, 256)


# ------------------------------------------------------------------------------ helpers
def _mb(nbytes: float) -> float:
    return nbytes / 2**20


def _tree_rss(pid: int) -> int:
    """RSS of a process and all its children, bytes (0 once it is gone)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def county_cells(
    shared: Path, resolution_m: float, margin_m: float = 10_000.0
) -> list[dict[str, Any]]:
    """Cells of every county's analysis grid (its UTM zone, the margin, ``resolution_m``).

    ``cells``: the same grid ``ynps_geo.analysis`` builds, the bbox of the county grown by
    the margin (what memory grows with); ``searched``: the cells of the county grown by the
    margin, the part of the grid the searches cover (what time grows with).
    """
    from ynps_geo._geo import reproject_geometry, utm_epsg
    from ynps_geo.datasets.province import load_counties, real_sources
    from ynps_geo.model.grid import GridSpec

    gdf = load_counties(real_sources(shared))
    out = []
    for adcode, name, geom in zip(gdf["adcode"], gdf["county"], gdf.geometry, strict=True):
        c = geom.centroid
        epsg = utm_epsg(c.x, c.y)
        geom_m = reproject_geometry(geom, "EPSG:4326", epsg)
        grown = geom_m.buffer(margin_m)
        grid = GridSpec.covering(epsg, grown.bounds, resolution_m)
        out.append(
            {
                "adcode": str(adcode),
                "county": str(name),
                "area_km2": geom_m.area / 1e6,
                "perimeter_km": geom_m.length / 1e3,
                "cells": int(grid.size),
                "searched": round(grown.area / resolution_m**2),
            }
        )
    return out


# ---------------------------------------------------------------------------- the child
def _child(config: str, out: str, options: str, result: str) -> int:
    """One analysis in this (fresh) process; its measurements go to ``result`` as JSON."""
    import resource

    from ynps_geo import workflows

    t0 = time.perf_counter()
    res = workflows.analyze(
        config,
        out,
        options=json.loads(options),
        progress=lambda m: print(f"  {m}", flush=True),
    )
    wall = time.perf_counter() - t0
    cov = res.coverage
    rows = cov[cov["county"] == "ALL"]
    doc = {
        "wall_s": wall,
        "timings": {k: float(v) for k, v in res.timings.items()},
        "failures": dict(res.failures),
        "coverage_all": json.loads(rows.to_json(orient="records", force_ascii=False)),
        "rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "villages": 0 if res.villages is None else len(res.villages),
    }
    Path(result).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return 3 if res.failures else 0


def run_once(config: Path, out: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Run the analysis in a child process, sampling the process tree's RSS every 0.2 s."""
    fd, result = tempfile.mkstemp(suffix=".json", prefix="bench-province-")
    os.close(fd)
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--_child",
        str(config),
        str(out),
        json.dumps(options),
        result,
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    try:
        text = Path(result).read_text(encoding="utf-8")
    finally:
        Path(result).unlink(missing_ok=True)
    if proc.returncode not in (0, 3) or not text:
        msg = f"the analysis failed (exit {proc.returncode}); see its output above"
        raise RuntimeError(msg)
    doc = json.loads(text)
    doc["process_wall_s"] = wall
    doc["peak_tree_rss_mb"] = _mb(peak)
    return doc


# --------------------------------------------------------------------------- reporting
def phases(run: dict[str, Any]) -> dict[str, float]:
    """The phases of one run, seconds."""
    t = run["timings"]
    county = [v for k, v in t.items() if k.startswith("county:")]
    out = {
        "load_inputs": t.get("load_inputs", math.nan),
        "counties + aggregation (wall)": t.get("total", math.nan) - t.get("load_inputs", 0.0),
        "sum of county times": sum(county),
        "largest county time": max(county) if county else math.nan,
        "write_outputs": t.get("write_outputs", math.nan),
        "analyze (end to end)": run["wall_s"],
    }
    for k, v in t.items():  # phases the workflow may add later
        if not k.startswith("county:") and k not in ("load_inputs", "total", "write_outputs"):
            out[k] = v
    return out


def _print_table(rows: list[list[str]], head: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]

    def line(r: list[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )

    print(line(head))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def report(record: dict[str, Any]) -> None:
    """Print the build, the phases, memory and the ALL coverage table of a record."""
    case, build = record["case"], record["build"]
    print()
    print(f"case: {record['case_name']} ({case['counties']} counties) in {record['case_folder']}")
    by_type = case.get("facilities_by_type", {})
    print(
        f"  {case['villages']:,} committees ({case['villages_urban']:,} urban), "
        f"{case['townships']:,} townships, {case['facilities_generated']:,} generated + "
        f"{case['facilities_osm']:,} OSM facilities ({len(by_type)} types), "
        f"{case['road_nodes']:,} road nodes in {case['road_ways']:,} ways "
        f"({case['county_links']} links between counties), rasters "
        f"{case['raster_shape'][0]:,} x {case['raster_shape'][1]:,} cells at 100 m"
    )
    if build.get("reused"):
        print(f"build: reused from the cache ({build['total_s']:.1f} s to check and load)")
    elif not build["counties_built"]:
        print(
            f"build: {build['total_s']:.1f} s: every county from the cache (generating them "
            f"took {build['generate_cpu_s']:.1f} s when they were built), assembled in "
            f"{build['assemble_s']:.1f} s, peak RSS {build['assemble_peak_rss_mb']:.0f} MB"
        )
    else:
        print(
            f"build: {build['total_s']:.1f} s: generated {build['counties_built']} counties "
            f"in {build['generate_s']:.1f} s (their own times sum to "
            f"{build['generate_cpu_s']:.1f} s), reused {build['counties_reused']}, assembled "
            f"in {build['assemble_s']:.1f} s; peak RSS {build['builder_peak_rss_mb']:.0f} MB "
            f"per county builder, {build['assemble_peak_rss_mb']:.0f} MB assembling"
        )
    runs = record["runs"]
    print(
        f"\nanalysis: {len(runs)} run(s), jobs {record['jobs']}, resolution "
        f"{record['resolution_m']:g} m ({record['cells_total'] / 1e6:.2f} M grid cells"
        + (
            f", {record['searched_total'] / 1e6:.2f} M searched"
            if "searched_total" in record
            else ""
        )
        + ")"
    )
    table = [phases(r) for r in runs]
    rows = []
    for k in table[0]:
        vals = [p[k] for p in table if k in p]
        rows.append([k, f"{statistics.median(vals):.1f}", " ".join(f"{v:.1f}" for v in vals)])
    _print_table(rows, ["phase", "median s", "runs"])
    print(
        f"peak RSS: process tree {max(r['peak_tree_rss_mb'] for r in runs):,.0f} MB (sampled "
        f"sum over the analysis and its workers), analysis process "
        f"{max(r['rss_self_mb'] for r in runs):,.0f} MB, largest worker "
        f"{max(r['rss_children_mb'] for r in runs):,.0f} MB"
    )
    fails = runs[-1]["failures"]
    if fails:
        print(f"FAILED counties: {len(fails)}: " + "; ".join(f"{k}: {v}" for k, v in fails.items()))
    print("\ncoverage, ALL (last run):")
    rows = []
    for r in runs[-1]["coverage_all"]:
        share = r.get("share_covered")
        rows.append(
            [
                r["standard_id"],
                f"{r['population']:,.0f}",
                "-" if r["population_covered"] is None else f"{r['population_covered']:,.0f}",
                "-" if share is None else f"{share:.3f}",
                f"{r['villages']:,}",
                "-" if r["villages_uncovered"] is None else f"{r['villages_uncovered']:,}",
            ]
        )
    _print_table(rows, ["standard", "population", "covered", "share", "villages", "uncovered"])


# ----------------------------------------------------------------------------- estimate
def _fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least squares ``y = a + b x`` with ``a, b >= 0`` (b alone when a would be negative)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if n < 3 or sxx == 0:
        return 0.0, my / mx if mx else 0.0
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    a = my - b * mx
    if a < 0 or b < 0:
        return 0.0, sum(x * y for x, y in zip(xs, ys, strict=True)) / sum(x * x for x in xs)
    return a, b


def estimate(record: dict[str, Any]) -> None:
    """Print the estimate for China at 100 m and Yunnan at 30 m, with the arithmetic.

    Model, from the record's per-county times: a county's time is ``a + b * searched`` (the
    cells of the county grown by its 10 km margin, which the searches cover), fitted by least
    squares; the phases outside the counties (loading inputs, writing maps and reports) grow
    with the committees; a worker needs ``base + k * cells`` of memory (``cells``: its grid,
    the box around the county and margin), ``base`` the analysis process's own peak (Python,
    numba and the inputs every worker also holds) and ``k`` what the largest county's worker
    needed beyond it. Yunnan at 30 m: the same counties with ``(res / 30)^2`` as many cells.
    The phases outside the counties are scaled by the committees (Yunnan's 14,888, China's
    608,000) unless the run held them all. China at 100 m: Yunnan's counties stretched to
    China's mean county area (area ``x s``, perimeter ``x sqrt(s)``) and counted 2,844 / 129
    times. Time on W workers: county work
    / W plus the fixed phases, never less than the largest county alone. Records made before
    the searches kept to the margin (no ``searched``) are fitted on the grid's cells.
    """
    res = float(record["resolution_m"])
    jobs = int(record["jobs"])
    runs = record["runs"]
    counties = record["counties"]
    prov = record["province_cells"]
    n_prov = len(prov)
    key = "searched" if all("searched" in c for c in (*counties, *prov)) else "cells"

    def med(phase: str) -> float:
        return statistics.median(p[phase] for p in map(phases, runs))

    a, b = _fit([c[key] / 1e6 for c in counties], [c["seconds"] for c in counties])
    fixed = med("load_inputs") + med("write_outputs")
    villages = max(1, int(record["case"]["villages"]))
    per_village = fixed / villages
    base_mb = max(r["rss_self_mb"] for r in runs)
    worker_mb = max(r["rss_children_mb"] for r in runs)
    if worker_mb <= 0:  # --jobs 1: the counties ran in the analysis process itself
        base_mb, worker_mb = 0.0, base_mb
    big = max(counties, key=lambda c: c["cells"])
    k_mb = max(0.0, worker_mb - base_mb) / (big["cells"] / 1e6)

    def scaled(target: float, what: str) -> list[float]:  # M cells of each Yunnan county
        return [c[what] * (res / target) ** 2 / 1e6 for c in prov]

    margin_km = 10.0
    mean_cn = CHINA_AREA_KM2 / CHINA_COUNTIES
    mean_yn = sum(c["area_km2"] for c in prov) / n_prov
    stretch = mean_cn / mean_yn
    # grids (memory): each Yunnan grid's box, its sides stretched to China's mean area
    sides = [  # km
        math.sqrt(c * 1e6) * 100.0 / 1000.0 - 2 * margin_km for c in scaled(100.0, "cells")
    ]
    bbox_ratio = statistics.median(s**2 / c["area_km2"] for s, c in zip(sides, prov, strict=True))
    big_cn_grid = (math.sqrt(CHINA_LARGEST_KM2 * bbox_ratio) + 2 * margin_km) ** 2 / 0.01 / 1e6
    if key == "searched":

        def grown_cells(area: float, perimeter: float) -> float:  # M cells at 100 m
            return (area + perimeter * margin_km + math.pi * margin_km**2) / 0.01 / 1e6

        shape = statistics.median(c["perimeter_km"] / math.sqrt(c["area_km2"]) for c in prov)
        cn_one = [
            grown_cells(c["area_km2"] * stretch, c["perimeter_km"] * math.sqrt(stretch))
            for c in prov
        ]
        big_cn = grown_cells(CHINA_LARGEST_KM2, shape * math.sqrt(CHINA_LARGEST_KM2))
    else:
        cn_one = [(s * math.sqrt(stretch) + 2 * margin_km) ** 2 / 0.01 / 1e6 for s in sides]
        big_cn = big_cn_grid
    cn100 = sum(cn_one) * CHINA_COUNTIES / n_prov
    fixed_cn = per_village * CHINA_VILLAGES
    # a run of every county already holds all of Yunnan's committees
    fixed_yn = fixed if villages >= YUNNAN_VILLAGES else per_village * YUNNAN_VILLAGES
    what = "searched cells" if key == "searched" else "grid cells"

    print(
        f"\nEstimate from the run of {record['when']} ({record['git']}; {len(counties)} "
        f"counties at {res:g} m, --jobs {jobs}, {record['machine']['cpus']} CPUs)."
    )
    print(
        f"  per county: t = a + b * {what} fitted on {len(counties)} counties: a = {a:.2f} s, "
        f"b = {b:.2f} s per M cells (cells at {res:g} m; {jobs} counties ran at once)"
    )
    print(
        f"  outside the counties (load inputs + write outputs): {fixed:.1f} s for "
        f"{villages:,} committees = {1000 * per_village:.2f} ms per committee"
    )
    print(
        f"  memory per worker: base {base_mb:,.0f} MB (the analysis process) + "
        f"{k_mb:,.0f} MB per M grid cells (the largest worker, {worker_mb:,.0f} MB, had "
        f"{big['county']}: {big['cells'] / 1e6:.2f} M grid cells)"
    )
    rows = []
    cases = (
        ("Yunnan 100 m", n_prov, scaled(100.0, key), fixed_yn, scaled(100.0, "cells")),
        ("Yunnan 30 m", n_prov, scaled(30.0, key), fixed_yn, scaled(30.0, "cells")),
        ("China 100 m", CHINA_COUNTIES, [cn100], fixed_cn, [big_cn_grid]),
    )
    for label, n, cells, fx, grids in cases:
        total = sum(cells)
        work = n * a + b * total
        largest = big_cn if label.startswith("China") else max(cells)
        mem_gb = (base_mb + k_mb * max(grids)) / 1024
        print(
            f"  {label}: {n:,} counties, {total:,.1f} M {what}; county work "
            f"{n:,} x {a:.2f} + {b:.2f} x {total:,.1f} = {work:,.0f} s; outside the counties "
            f"{fx:,.0f} s; largest county {largest:,.1f} M cells = {a + b * largest:,.0f} s"
            f" and {mem_gb:,.1f} GB ({max(grids):,.1f} M grid cells)"
        )
        t_big = a + b * largest
        rows.append(
            [
                label,
                *[_hours(max(work / w, t_big) + fx) for w in WORKERS],
                f"{mem_gb:,.1f} GB",
            ]
        )
    print(
        f"  (China: mean county {mean_cn:,.0f} km2 = {stretch:.2f} x Yunnan's {mean_yn:,.0f}; "
        f"{CHINA_VILLAGES:,} committees; the largest, 若羌县, ~{CHINA_LARGEST_KM2:,.0f} km2 "
        f"with a bbox {bbox_ratio:.2f} x its area; Yunnan 30 m: the default max_grid_cells "
        "of 50 M cells per county must be raised where a county exceeds it)"
    )
    if res == 100.0 and len(counties) == n_prov:
        measured = sum(c["seconds"] for c in counties)
        print(f"  check: the county times measured sum to {measured:,.0f} s")
    print()
    _print_table(rows, ["case", *[f"{w} workers" for w in WORKERS], "memory/worker"])


def _hours(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


# ---------------------------------------------------------------------------------- main
def _git() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _last_json() -> Path:
    from ynps_geo.datasets.province import province_root

    return province_root().parent / "last_run.json"


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_child"]:
        return _child(*argv[1:5])
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the real data folder")
    ap.add_argument(
        "--counties", help="K (the first K counties by code) or names/codes, comma-separated"
    )
    ap.add_argument("--prefecture", help="one prefecture's counties (name, its start, or code)")
    ap.add_argument("--jobs", type=int, default=2, help="analysis worker processes (default 2)")
    ap.add_argument("--build-jobs", type=int, help="county builders at once (default --jobs)")
    ap.add_argument("--repeats", type=int, default=1, help="analysis runs (median per phase)")
    ap.add_argument("--resolution-m", type=float, default=100.0, help="analysis grid, metres")
    ap.add_argument("--seed", type=int, default=532901)
    ap.add_argument("--rebuild", action="store_true", help="regenerate the case")
    ap.add_argument("--out", type=Path, help="analysis output folder (default in the cache)")
    ap.add_argument("--json", type=Path, help="write the measurements here too")
    ap.add_argument("--estimate", action="store_true", help="print the estimate of a record")
    ap.add_argument("--from", dest="src", type=Path, help="the record --estimate reads")
    args = ap.parse_args(argv)

    if args.estimate:
        path = args.src or _last_json()
        if not path.is_file():
            print(
                f"bench_province: no measurements at {path}; run the benchmark first (or pass "
                "--from benchmarks/results/<file>.json)",
                file=sys.stderr,
            )
            return 1
        estimate(json.loads(path.read_text(encoding="utf-8")))
        return 0

    shared = args.shared.expanduser().absolute()
    if not shared.is_dir():
        print(
            f"bench_province: skipped: the real data folder {shared} is absent. This benchmark "
            "builds its case from the real Yunnan files in ../shared/data/real beside the "
            "repository (the project's workspace has them); pass --shared DIR to use another "
            "copy. Nothing was measured."
        )
        return 0
    from ynps_geo.datasets.province import province_case, province_root
    from ynps_geo.errors import YnpsGeoError

    try:
        case = province_case(
            shared,
            counties=args.counties,
            prefecture=args.prefecture,
            seed=args.seed,
            jobs=args.build_jobs or args.jobs,
            rebuild=args.rebuild,
            progress=lambda m: print(m, flush=True),
        )
    except YnpsGeoError as err:
        print(f"bench_province: error: {err}", file=sys.stderr)
        return 1
    out = args.out or province_root(args.seed) / "runs" / case.folder.name
    options = {"jobs": args.jobs, "resolution_m": args.resolution_m}
    grids = {c["adcode"]: c for c in county_cells(shared, args.resolution_m)}
    runs = []
    for k in range(args.repeats):
        print(f"\nrun {k + 1}/{args.repeats}: ynps_geo.workflows.analyze -> {out}", flush=True)
        runs.append(run_once(case.config, out, options))
        print(f"run {k + 1}: {runs[-1]['wall_s']:.1f} s", flush=True)
    names = {v["county"]: a for a, v in grids.items() if a in case.adcodes}
    per_county = []
    for name, adcode in names.items():
        secs = [r["timings"].get(f"county:{name}") for r in runs]
        secs = [s for s in secs if s is not None]
        if secs:
            per_county.append({**grids[adcode], "seconds": statistics.median(secs)})
    record = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "git": _git(),
        "command": " ".join(["python benchmarks/bench_province.py", *argv]),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_avg_at_end": list(os.getloadavg()),
        },
        "case_name": case.folder.name,
        "case_folder": str(case.folder),
        "case": case.stats,
        "build": case.build,
        "jobs": args.jobs,
        "resolution_m": args.resolution_m,
        "cells_total": sum(c["cells"] for c in per_county),
        "searched_total": sum(c["searched"] for c in per_county),
        "runs": runs,
        "counties": per_county,
        "province_cells": list(grids.values()),
    }
    report(record)
    if len(per_county) >= 2:
        estimate(record)
    text = json.dumps(record, ensure_ascii=False, indent=1)
    for path in {_last_json(), *([args.json] if args.json else [])}:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"\nmeasurements written to {path}")
    return 3 if runs[-1]["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
