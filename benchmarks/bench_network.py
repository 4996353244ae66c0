"""Benchmark: multi-source Dijkstra on a road-like graph against scipy.

Run from the repository root::

    /tmp/venv/bin/python benchmarks/bench_network.py            # 1M nodes, 200 sources
    /tmp/venv/bin/python benchmarks/bench_network.py --side 1500 --repeats 7

``multi_source_dijkstra`` takes the exact bucketed search on graphs of >= 50,000 nodes;
the "heap kernel" line times the previous binary-heap search on the same input.

The graph is a perturbed ``side x side`` grid with ~35 % of its edges deleted plus a few
random long links (average out-degree ~2.7, like a simplified OSM road graph), with node
ids shuffled (OSM ids carry no spatial order). Times are medians over ``--repeats`` runs,
reported as ratios to ``scipy.sparse.csgraph.dijkstra(min_only=True)`` in the same run.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from ynps_geo import kernels
from ynps_geo._kernels import dijkstra as _dij

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of ``repeats`` calls of ``fn`` and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def _status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def _fixed_mmap_threshold() -> None:
    """Make glibc return large freed blocks to the OS, so each peak is measured afresh."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD = 1 MiB, disables the dynamic threshold
    except (OSError, AttributeError):
        pass


_fixed_mmap_threshold()


def peak_extra_bytes(fn: Callable[[], Any]) -> int:
    """Peak resident memory added while ``fn`` runs (bytes), from Linux ``VmHWM``.

    Numba allocates outside Python's allocator, so tracemalloc would miss it; resetting the
    high-water mark (``/proc/self/clear_refs`` = 5) and reading ``VmHWM`` sees everything.
    Returns -1 where /proc is unavailable.
    """
    gc.collect()
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return -1
    before = _status_kib("VmRSS")
    result = fn()
    peak = _status_kib("VmHWM")
    del result
    return (peak - before) * 1024


def road_like_graph(side: int, seed: int = 0) -> sp.csr_matrix:
    """Synthetic road-like directed graph (both directions of every road), shuffled ids."""
    rng = np.random.default_rng(seed)
    n = side * side
    xy = np.stack(np.divmod(np.arange(n), side), axis=1).astype(float)
    xy += rng.uniform(-0.3, 0.3, size=xy.shape)
    ids = np.arange(n).reshape(side, side)
    a = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    b = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    keep = rng.random(a.size) < 0.65
    a, b = a[keep], b[keep]
    n_long = n // 200
    la = rng.integers(0, n, n_long)
    offs = rng.integers(-30, 31, size=(n_long, 2))
    lr = np.clip(la // side + offs[:, 0], 0, side - 1)
    lc = np.clip(la % side + offs[:, 1], 0, side - 1)
    lb = lr * side + lc
    a, b = np.concatenate([a, la]), np.concatenate([b, lb])
    w = np.linalg.norm(xy[a] - xy[b], axis=1) * 100.0 / rng.choice([30.0, 40.0, 60.0], a.size)
    perm = rng.permutation(n)
    a, b = perm[a], perm[b]
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    ww = np.concatenate([w, w])
    good = src != dst
    # keep the lightest of parallel edges (csr_matrix would sum them)
    order = np.lexsort((ww[good], dst[good], src[good]))
    s, d, x = src[good][order], dst[good][order], ww[good][order]
    first = np.ones(s.size, bool)
    first[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1])
    return sp.csr_matrix((x[first], (s[first], d[first])), shape=(n, n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=1000, help="grid side (nodes = side**2)")
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--sets", type=int, default=6, help="source sets for the _many test")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    g = road_like_graph(args.side)
    n, m = g.shape[0], g.nnz
    rng = np.random.default_rng(1)
    sources = rng.choice(n, args.sources, replace=False).astype(np.int64)
    indptr = g.indptr.astype(np.int64)
    indices = g.indices.astype(np.int64)
    weights = g.data.astype(np.float64)
    input_bytes = indptr.nbytes + indices.nbytes + weights.nbytes
    print(
        f"graph: {n:,} nodes, {m:,} edges (mean out-degree {m / n:.2f}), "
        f"{args.sources} sources, median of {args.repeats}"
    )

    # warm up (compile / load the numba cache)
    small = road_like_graph(20)
    kernels.multi_source_dijkstra(small.indptr, small.indices, small.data, [0, 1])
    kernels.prepare_graph(small.indptr, small.indices, small.data).multi_source_dijkstra([0])
    kernels.multi_source_dijkstra_many(small.indptr, small.indices, small.data, [[0], [1]])

    t_ref, ref = median_time(lambda: dijkstra(g, indices=sources, min_only=True), args.repeats)
    t_plain, (dist, _) = median_time(
        lambda: kernels.multi_source_dijkstra(indptr, indices, weights, sources), args.repeats
    )
    assert np.allclose(dist, ref, rtol=1e-9) and np.array_equal(np.isinf(dist), np.isinf(ref))
    t_heap, (dist_h, _) = median_time(
        lambda: _dij.multi_source_dijkstra(indptr, indices, weights, sources, np.inf, 1),
        args.repeats,
    )
    assert np.array_equal(dist_h, dist)
    t_prep, prepared = median_time(
        lambda: kernels.prepare_graph(indptr, indices, weights), args.repeats
    )
    t_reuse, (dist2, _) = median_time(lambda: prepared.multi_source_dijkstra(sources), args.repeats)
    assert np.allclose(dist2, ref, rtol=1e-9)
    psrc = prepared.inverse[sources]
    t_kernel, _ = median_time(
        lambda: _dij.multi_source_dijkstra(
            prepared.indptr, prepared.indices, prepared.weights, psrc, np.inf
        ),
        args.repeats,
    )

    print(f"scipy dijkstra(min_only=True)        {t_ref:8.3f} s   1.00x")
    print(f"multi_source_dijkstra (as given)     {t_plain:8.3f} s   {t_plain / t_ref:.2f}x")
    print(f"  heap kernel (method=1), as given   {t_heap:8.3f} s   {t_heap / t_ref:.2f}x")
    print(f"prepare_graph (once)                 {t_prep:8.3f} s   {t_prep / t_ref:.2f}x")
    print(f"prepared.multi_source_dijkstra       {t_reuse:8.3f} s   {t_reuse / t_ref:.2f}x")
    print(f"  of which the kernel alone          {t_kernel:8.3f} s   {t_kernel / t_ref:.2f}x")
    print(
        f"prepare + one search                 {t_prep + t_reuse:8.3f} s   "
        f"{(t_prep + t_reuse) / t_ref:.2f}x"
    )

    sets = [rng.choice(n, args.sources, replace=False) for _ in range(args.sets)]
    t_ref_many, _ = median_time(
        lambda: [dijkstra(g, indices=s, min_only=True) for s in sets], max(1, args.repeats // 2)
    )
    t_many, (dm, _) = median_time(
        lambda: prepared.multi_source_dijkstra_many(sets), max(1, args.repeats // 2)
    )
    assert np.allclose(dm[-1], dijkstra(g, indices=sets[-1], min_only=True), rtol=1e-9)
    print(
        f"{args.sets} source sets: scipy x{args.sets} {t_ref_many:8.3f} s; "
        f"prepared.multi_source_dijkstra_many {t_many:8.3f} s   {t_many / t_ref_many:.2f}x"
    )

    peak = peak_extra_bytes(
        lambda: kernels.multi_source_dijkstra(indptr, indices, weights, sources)
    )
    peak_p = peak_extra_bytes(lambda: prepared.multi_source_dijkstra(sources))
    print(
        f"input arrays {input_bytes / 2**20:.1f} MiB; peak extra memory: "
        f"multi_source_dijkstra {peak / 2**20:.1f} MiB ({peak / input_bytes:.2f}x), "
        f"prepared search {peak_p / 2**20:.1f} MiB ({peak_p / input_bytes:.2f}x)"
    )


if __name__ == "__main__":
    main()
