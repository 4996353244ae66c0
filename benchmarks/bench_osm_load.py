"""Benchmark: OSM extract -> routable network, ynps_geo vs pyrosm.

Usage::

    python benchmarks/bench_osm_load.py [PATH.osm.pbf] [--runs 5]

Each run starts a fresh Python process (imports done, then the timer runs), so both
libraries are measured cold, as a user meets them; the same is then repeated inside
one process (warm: file cache and lazy imports already loaded). ynps_geo is timed for
``read_roads(path)`` + ``to_csr("drive")``; pyrosm for
``pyrosm.OSM(path).get_network("driving")`` (ways only, no node graph), the figure the
brief compares against. pyrosm is optional: "pyrosm not installed" is printed without it.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT = (
    Path(__file__).resolve().parents[2]
    / "shared/data/real/liechtenstein-alps-osm/liechtenstein-latest.osm.pbf"
)

YNPS = """
import time, sys
from ynps_geo.io.osm import read_roads
t = time.perf_counter()
net = read_roads(sys.argv[1])
net.to_csr("drive")
print(time.perf_counter() - t)
"""

PYROSM = """
import time, sys
import pyrosm
t = time.perf_counter()
pyrosm.OSM(sys.argv[1]).get_network("driving")
print(time.perf_counter() - t)
"""


def cold(code: str, path: Path, runs: int) -> list[float]:
    """Times of ``code`` in ``runs`` fresh interpreters."""
    out = []
    for _ in range(runs):
        res = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
        )
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return out


def warm_ynps(path: Path, runs: int) -> list[float]:
    """Times of read + CSR repeated in this process."""
    from ynps_geo.io.osm import read_roads

    read_roads(path)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        read_roads(path).to_csr("drive")
        out.append(time.perf_counter() - t)
    return out


def warm_pyrosm(path: Path, runs: int) -> list[float]:
    """Times of pyrosm get_network("driving") repeated in this process."""
    import pyrosm

    pyrosm.OSM(str(path)).get_network("driving")
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        pyrosm.OSM(str(path)).get_network("driving")
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    """Print median times of both loaders and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not args.path.exists():
        sys.exit(f"{args.path} not found; give an .osm.pbf path")
    from ynps_geo.io.osm import read_roads

    net = read_roads(args.path)
    print(f"file: {args.path} ({args.path.stat().st_size / 1e6:.1f} MB): {net}")
    have_pyrosm = importlib.util.find_spec("pyrosm") is not None
    for label, ours, theirs in (
        (
            "cold (fresh process each run)",
            lambda: cold(YNPS, args.path, args.runs),
            lambda: cold(PYROSM, args.path, args.runs),
        ),
        (
            "warm (same process)",
            lambda: warm_ynps(args.path, args.runs),
            lambda: warm_pyrosm(args.path, args.runs),
        ),
    ):
        a = statistics.median(ours())
        print(f"[{label}] ynps_geo read_roads + to_csr: median {a:.3f} s over {args.runs} runs")
        if not have_pyrosm:
            print(f"[{label}] pyrosm not installed")
            continue
        b = statistics.median(theirs())
        print(
            f"[{label}] pyrosm OSM.get_network('driving'): median {b:.3f} s over {args.runs} runs"
        )
        print(f"[{label}] ratio ynps_geo / pyrosm = {a / b:.2f}")


if __name__ == "__main__":
    main()
