"""The demo county's "since the previous report" section after two facilities are added.

Usage::

    python scripts/demo_changes.py WORKDIR

Builds the demo county under ``WORKDIR/data``, writes a scheduled report dated 2026-11-01,
adds two facilities to the demo's register (a community health centre and an elder-care
station, at the sites ``ynps-geo sites`` picks for health_15min and eldercare_15min), writes
the report of 2026-12-01, and prints the section a county official reads (Chinese, then
English) and the size of every file of the second report. Uses the command line throughout,
as a cron job would.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path


def _run(*args: str) -> float:
    t = time.perf_counter()
    subprocess.run(["ynps-geo", "-q", *args], check=True)
    return time.perf_counter() - t


def main(work: Path) -> None:
    import geopandas as gpd

    from ynps_geo.compare import load_run
    from ynps_geo.datasets import generate_demo
    from ynps_geo.io.coords import wgs84_to_gcj02
    from ynps_geo.report.changes import summary_lines

    work.mkdir(parents=True, exist_ok=True)
    config = generate_demo(work / "data")
    reports = work / "reports"
    t1 = _run("report", str(config), "--out", str(reports), "--stamp", "2026-11-01")
    rows = []
    for sid, fid, name, kind in (
        ("health_15min", "F09001", "东门社区卫生服务中心", "社区卫生服务中心"),
        ("eldercare_15min", "F09002", "银沟社区养老服务站", "养老院"),
    ):
        out = work / f"sites_{sid}.gpkg"
        _run("sites", str(config), "--standard", sid, "-p", "1", "--out", str(out))
        site = gpd.read_file(out).geometry.iloc[0]
        lon, lat = wgs84_to_gcj02(site.x + 0.0005, site.y + 0.0003)  # the register is GCJ-02
        rows.append([fid, name, kind, f"{float(lon):.6f}", f"{float(lat):.6f}", "", "", "", ""])
    with (config.parent / "facilities.csv").open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    t2 = _run("report", str(config), "--out", str(reports), "--stamp", "2026-12-01")
    before, after = reports / "2026-11-01", reports / "2026-12-01"
    from ynps_geo.compare import compare

    comp = compare(load_run(before), load_run(after), kind="previous")
    for lang in ("zh", "en"):
        print()
        for line in summary_lines(comp, lang):
            print(line)
    print()
    print(comp.villages.drop(columns=["geometry"]).to_string(max_colwidth=60))
    print(f"\nreports: first {t1:.1f} s, second {t2:.1f} s")
    for p in sorted(after.iterdir()):
        print(f"{p.stat().st_size:>10,}  {p.name}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-changes"))
