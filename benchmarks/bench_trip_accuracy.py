"""Accuracy of the trip model against hand arithmetic (the cases of tests/test_trip_model.py).

1. Straight roads on flat ground at random angles and grid offsets, nodes 250 m or 2 km
   apart, villages 30 m - 3 km off the road: the off-road part of the trip against
   ``distance / Tobler flat speed``, relative error and error in cells.
2. A constant 20% hillside walked down to a road and up from it, at 200, 100, 50 and 25 m
   cells: the trip against Tobler arithmetic.

Run: ``python benchmarks/bench_trip_accuracy.py [--cases 200]``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_trip_model import FLAT, _hillside, _straight_case


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    res = 100.0
    rows = []
    for _ in range(args.cases):
        angle = rng.uniform(0, math.pi / 2)
        off = (rng.uniform(0, res), rng.uniform(0, res))
        spacing = float(rng.choice([250.0, 2_000.0]))
        d = float(np.exp(rng.uniform(np.log(30.0), np.log(3_000.0))))
        s = rng.uniform(3_000.0, 6_000.0)
        eng, _, scale = _straight_case(res, angle, off, spacing, d * rng.choice([-1, 1]), s)
        dist, _ = eng.search("drive", [np.array([0])])
        total = eng.village_values(dist)[0, 0]
        expected = s * scale / 10.0 + d * FLAT
        rows.append((d, spacing, total / expected - 1.0, (total - expected) / FLAT / res))
    arr = np.array(rows)
    print(f"1. straight roads, {args.cases} random cases at {res:g} m cells (drive mode)")
    print(f"{'off-road':>12} {'cases':>6} {'median err':>11} {'max |err|':>10} {'max cells':>10}")
    for lo, hi in ((30, 300), (300, 1_000), (1_000, 3_001)):
        sel = (arr[:, 0] >= lo) & (arr[:, 0] < hi)
        if sel.any():
            e, c = arr[sel, 2], arr[sel, 3]
            print(
                f"{lo:>5}-{hi:<5} m {sel.sum():6d} {np.median(e):+11.3%} "
                f"{np.abs(e).max():10.3%} {np.abs(c).max():10.3f}"
            )
    for sp in (250.0, 2_000.0):
        e = arr[arr[:, 1] == sp, 2]
        print(f"  nodes every {sp:>5.0f} m: max |err| {np.abs(e).max():.3%} ({e.size} cases)")
    print("2. 20% hillside, village 1 km from a contour road, trip against Tobler arithmetic")
    for up in (True, False):
        errs = []
        for r in (200.0, 100.0, 50.0, 25.0):
            got, exp = _hillside(r, up)
            errs.append(f"{r:>4.0f} m {got / exp - 1:+.3%}")
        print(f"  {'down to' if up else 'up to  '} the road: " + ", ".join(errs))


if __name__ == "__main__":
    main()
