"""Scheduled reports: the second run on unchanged inputs against the first.

Usage::

    python benchmarks/bench_report_cache.py [--repeat 3]

Builds the demo county, then times ``ynps-geo report`` (the workflow) cold (empty cache) and
warm (cache hit) ``--repeat`` times each, and prints medians and the speed-up (target >= 5x).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from ynps_geo import settings, workflows
    from ynps_geo.datasets import generate_demo

    root = Path(tempfile.mkdtemp(prefix="ynps-bench-"))
    config = generate_demo(root / "data")
    workflows.report(config, root / "warmup", use_cache=False)  # numba compile, imports
    cold, warm = [], []
    for i in range(args.repeat):
        settings.cache_dir = root / f"cache-{i}"
        t = time.perf_counter()
        workflows.report(config, root / "reports", stamp=f"cold-{i}")
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        workflows.report(config, root / "reports", stamp=f"warm-{i}")
        warm.append(time.perf_counter() - t)
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"report, first run (cold cache): median {c:.2f} s over {args.repeat}")
    print(f"report, unchanged inputs (cache hit): median {w:.2f} s")
    print(f"speed-up: {c / w:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
