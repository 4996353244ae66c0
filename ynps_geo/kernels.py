"""Travel-time kernels: multi-source shortest paths on road graphs and cost rasters.

Stable public wrappers around the numba code in :mod:`ynps_geo._kernels`: they validate
and convert inputs, then call the compiled kernels (compiled once and cached on disk).

Functions
---------
multi_source_dijkstra
    Distance to, and index of, the nearest source on a CSR graph.
multi_source_dijkstra_many
    The same for several source sets at once, one search per set, in parallel.
prepare_graph
    Renumber a graph once for memory locality; reuse it for many searches.
cost_distance
    Accumulated cost over a friction raster (``MCP_Geometric`` rules), 4/8/16 neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ynps_geo._kernels import dijkstra as _dij
from ynps_geo._kernels import grid as _grid
from ynps_geo.errors import ValidationError

__all__ = [
    "PreparedGraph",
    "cost_distance",
    "multi_source_dijkstra",
    "multi_source_dijkstra_many",
    "prepare_graph",
]

_MAX_NODES = 2**31 - 2


def _as_index(name: str, a: ArrayLike) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        msg = f"{name} must be a 1-D array, got shape {arr.shape}; pass a flat array of ids"
        raise ValidationError(msg)
    if arr.size and arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            msg = f"{name} must hold integers, got dtype {arr.dtype}; pass integer node ids (int64)"
            raise ValidationError(msg)
    return np.ascontiguousarray(arr, dtype=np.int64)


def _check_cutoff(cutoff: float) -> float:
    try:
        value = float(cutoff)
    except (TypeError, ValueError):
        value = float("nan")
    if not value >= 0.0:
        msg = f"cutoff must be a number >= 0 (or inf for no limit), got {cutoff!r}"
        raise ValidationError(msg)
    return value


def _validate_csr(
    indptr: ArrayLike, indices: ArrayLike, weights: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    indptr_a = _as_index("indptr", indptr)
    indices_a = _as_index("indices", indices)
    w = np.asarray(weights)
    if w.ndim != 1 or (w.size and w.dtype.kind not in "iuf"):
        msg = (
            f"weights must be a 1-D numeric array, got shape {w.shape} and dtype {w.dtype}; "
            "pass one float64 weight per edge"
        )
        raise ValidationError(msg)
    w = np.ascontiguousarray(w, dtype=np.float64)
    if indptr_a.size == 0:
        msg = "indptr is empty; a CSR graph with n nodes has indptr of length n + 1"
        raise ValidationError(msg)
    n = indptr_a.size - 1
    if n > _MAX_NODES:
        msg = f"the graph has {n} nodes, more than the {_MAX_NODES} supported; split it"
        raise ValidationError(msg)
    m = indices_a.size
    if indptr_a[0] != 0 or indptr_a[-1] != m or np.any(np.diff(indptr_a) < 0):
        msg = (
            f"indptr is not a valid CSR row pointer for {m} edges (it must start at 0, never "
            f"decrease and end at len(indices)={m}; it ends at {indptr_a[-1]}); "
            "rebuild it, e.g. with scipy.sparse.csr_matrix"
        )
        raise ValidationError(msg)
    if w.size != m:
        msg = f"weights has {w.size} entries but indices has {m}; pass exactly one weight per edge"
        raise ValidationError(msg)
    if m and (indices_a.min() < 0 or indices_a.max() >= n):
        msg = (
            f"indices holds node ids outside [0, {n - 1}] (min {indices_a.min()}, max "
            f"{indices_a.max()}); fix the edge list so that every id is a node"
        )
        raise ValidationError(msg)
    if m and not np.all(w >= 0.0):
        bad = int(np.count_nonzero(~(w >= 0.0)))
        msg = (
            f"weights holds {bad} negative or NaN value(s); Dijkstra needs weights >= 0: "
            "drop or repair those edges"
        )
        raise ValidationError(msg)
    return indptr_a, indices_a, w


def _validate_sources(name: str, sources: ArrayLike, n: int) -> np.ndarray:
    src = _as_index(name, np.atleast_1d(np.asarray(sources)))
    if src.size and (src.min() < 0 or src.max() >= n):
        msg = (
            f"{name} holds node ids outside [0, {n - 1}] (min {src.min()}, max {src.max()}); "
            "pass ids of nodes of this graph"
        )
        raise ValidationError(msg)
    return src


def _scratch(n: int, m: int, k: int) -> dict[str, np.ndarray]:
    """Scratch arrays of the bucketed search, allocated by numpy (on transparent huge
    pages, which numba's allocator does not request); untouched, hence free, when the
    kernel takes the heap instead."""
    if n < _dij.BUCKET_MIN_NODES:
        return {}
    return {
        "dn": np.empty(2 * n, dtype=np.float64),
        "pnode": np.empty(m + k, dtype=np.int32),
        "pnext": np.empty(m + k, dtype=np.int32),
    }


def multi_source_dijkstra(
    indptr: ArrayLike,
    indices: ArrayLike,
    weights: ArrayLike,
    sources: ArrayLike,
    cutoff: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Shortest distance from the nearest of several sources on a directed CSR graph.

    Parameters
    ----------
    indptr : array_like of int, shape (n + 1,)
        CSR row pointer: the edges leaving node ``u`` are ``indptr[u]:indptr[u + 1]``.
    indices : array_like of int, shape (m,)
        Head node of each edge.
    weights : array_like of float, shape (m,)
        Edge weights, ``>= 0`` (``inf`` allowed: such an edge is never used). Parallel
        edges are allowed; the lightest one counts.
    sources : array_like of int, shape (k,)
        Source node ids; duplicates allowed (the first occurrence is reported).
    cutoff : float, default inf
        Nodes farther than ``cutoff`` are not reached; a node at exactly ``cutoff`` is.

    Returns
    -------
    dist : numpy.ndarray of float64, shape (n,)
        Distance from the nearest source; ``inf`` when unreached.
    nearest : numpy.ndarray of int64, shape (n,)
        Position in ``sources`` of that nearest source; ``-1`` when unreached.

    Raises
    ------
    ValidationError
        Malformed CSR arrays, negative or NaN weights, sources outside the graph, or a
        negative cutoff.

    Notes
    -----
    Equal to ``scipy.sparse.csgraph.dijkstra(g, indices=sources, min_only=True,
    limit=cutoff)``. When several sources reach a node at exactly the same distance,
    ``nearest`` is the smallest of their positions (deterministic).

    Graphs of at least 50,000 nodes whose finite weights are all > 0 and span a moderate
    range (largest / smallest below 2 million and below ``2**49 / n``) are searched with
    an exact bucket queue (:mod:`ynps_geo._kernels.buckets`) that settles a whole distance
    band at a time; other graphs with a binary heap. Both give bit-identical results; the
    bucket search is about 3x faster on graphs whose node ids are in no spatial order, as
    OSM's are (see ``benchmarks/README.md``), and holds about ``21 n + 8 m`` bytes of
    scratch memory.
    """
    indptr_a, indices_a, w = _validate_csr(indptr, indices, weights)
    n = indptr_a.size - 1
    src = _validate_sources("sources", sources, n)
    return _dij.multi_source_dijkstra(
        indptr_a,
        indices_a,
        w,
        src,
        _check_cutoff(cutoff),
        0,
        None,
        **_scratch(n, indices_a.size, src.size),
    )


def _many(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    source_sets: Sequence[ArrayLike],
    cutoff: float,
    n: int,
    relabel: np.ndarray | None = None,
    order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    if (
        isinstance(source_sets, np.ndarray)
        and source_sets.ndim == 1
        and source_sets.dtype != object
    ):
        msg = (
            "source_sets must be a sequence of source arrays (one per set), got a flat array; "
            "wrap it in a list: [sources]"
        )
        raise ValidationError(msg)
    sets = [_validate_sources(f"source_sets[{j}]", s, n) for j, s in enumerate(source_sets)]
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([s.size for s in sets])
    flat = np.concatenate(sets) if sets else np.empty(0, dtype=np.int64)
    if relabel is not None:
        flat = relabel[flat]
    cut = _check_cutoff(cutoff)
    if order is None:
        return _dij.multi_source_dijkstra_many(indptr, indices, weights, flat, offsets, cut)
    return _dij.multi_source_dijkstra_many(indptr, indices, weights, flat, offsets, cut, 0, order)


def multi_source_dijkstra_many(
    indptr: ArrayLike,
    indices: ArrayLike,
    weights: ArrayLike,
    source_sets: Sequence[ArrayLike],
    cutoff: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`multi_source_dijkstra` for several source sets, in parallel over the sets.

    Parameters
    ----------
    indptr, indices, weights : array_like
        The CSR graph, as for :func:`multi_source_dijkstra`.
    source_sets : sequence of array_like of int
        One array of source node ids per set (e.g. one per facility category).
    cutoff : float, default inf
        Inclusive distance limit.

    Returns
    -------
    dist : numpy.ndarray of float64, shape (len(source_sets), n)
    nearest : numpy.ndarray of int64, shape (len(source_sets), n)
        Row ``j`` indexes into ``source_sets[j]``.

    Notes
    -----
    Uses every numba thread (``numba.set_num_threads``), one search per set; each
    running search holds the scratch memory described in :func:`multi_source_dijkstra`.
    """
    indptr_a, indices_a, w = _validate_csr(indptr, indices, weights)
    n = indptr_a.size - 1
    return _many(indptr_a, indices_a, w, source_sets, cutoff, n)


@dataclass(frozen=True)
class PreparedGraph:
    """A CSR graph renumbered in breadth-first order for memory locality.

    Build it with :func:`prepare_graph`. Its methods take and return node ids of the
    *original* graph.

    Attributes
    ----------
    indptr, indices, weights : numpy.ndarray
        The renumbered CSR graph.
    order : numpy.ndarray of int64
        ``order[new] = old``.
    inverse : numpy.ndarray of int64
        ``inverse[old] = new``.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    order: np.ndarray
    inverse: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.indptr.size - 1)

    def multi_source_dijkstra(
        self, sources: ArrayLike, cutoff: float = np.inf
    ) -> tuple[np.ndarray, np.ndarray]:
        """:func:`multi_source_dijkstra` on this graph, in original node ids."""
        src = _validate_sources("sources", sources, self.n_nodes)
        # the kernel writes each result straight to its original id (no gather pass)
        return _dij.multi_source_dijkstra(
            self.indptr,
            self.indices,
            self.weights,
            self.inverse[src],
            _check_cutoff(cutoff),
            0,
            self.order,
            **_scratch(self.n_nodes, self.indices.size, src.size),
        )

    def multi_source_dijkstra_many(
        self, source_sets: Sequence[ArrayLike], cutoff: float = np.inf
    ) -> tuple[np.ndarray, np.ndarray]:
        """:func:`multi_source_dijkstra_many` on this graph, in original node ids."""
        return _many(
            self.indptr,
            self.indices,
            self.weights,
            source_sets,
            cutoff,
            self.n_nodes,
            relabel=self.inverse,
            order=self.order,
        )


def prepare_graph(indptr: ArrayLike, indices: ArrayLike, weights: ArrayLike) -> PreparedGraph:
    """Validate a CSR graph and renumber its nodes in breadth-first order.

    Parameters
    ----------
    indptr, indices, weights : array_like
        The CSR graph, as for :func:`multi_source_dijkstra`.

    Returns
    -------
    PreparedGraph
        Reuse it for every search on this graph. With the bucketed search (graphs of
        50,000+ nodes) renumbering gains little: measured searches on the renumbered
        graph were about as fast as on a shuffled one, and the renumbering costs more
        than a search (see ``benchmarks/README.md``); it helps the heap search of graphs
        the buckets do not apply to.
    """
    indptr_a, indices_a, w = _validate_csr(indptr, indices, weights)
    order = _dij.bfs_order(indptr_a, indices_a)
    new_indptr, new_indices, new_w, inverse = _dij.permute_csr(indptr_a, indices_a, w, order)
    return PreparedGraph(new_indptr, new_indices, new_w, order, inverse)


def _validate_cells(name: str, cells: ArrayLike, shape: tuple[int, int]) -> np.ndarray:
    arr = np.asarray(cells)
    if arr.ndim == 1 and arr.size == 2:
        arr = arr.reshape(1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        msg = f"{name} must have shape (k, 2) of (row, col) pairs, got shape {arr.shape}"
        raise ValidationError(msg)
    arr = _as_index(name, arr.reshape(-1)).reshape(-1, 2)
    H, W = shape
    bad = (arr[:, 0] < 0) | (arr[:, 0] >= H) | (arr[:, 1] < 0) | (arr[:, 1] >= W)
    if np.any(bad):
        first = arr[np.argmax(bad)]
        msg = (
            f"{name} holds {int(bad.sum())} cell(s) outside the {H}x{W} raster, e.g. "
            f"(row={first[0]}, col={first[1]}); drop them or snap them to the raster"
        )
        raise ValidationError(msg)
    return arr


def _check_connectivity(connectivity: int) -> int:
    if connectivity not in (4, 8, 16):
        msg = f"connectivity must be 4, 8 or 16, got {connectivity!r}"
        raise ValidationError(msg)
    return int(connectivity)


def cost_distance(
    cost: ArrayLike,
    sources: ArrayLike,
    cutoff: float = np.inf,
    connectivity: int = 8,
) -> np.ndarray:
    """Accumulated cost from the nearest source cell over a friction raster.

    Parameters
    ----------
    cost : array_like of float, shape (H, W)
        Cost of crossing one cell (per cell width), ``>= 0``. ``inf`` or NaN marks an
        impassable cell.
    sources : array_like of int, shape (k, 2)
        ``(row, col)`` of each source cell; duplicates allowed.
    cutoff : float, default inf
        Cells with a larger accumulated cost are left at ``inf``; exactly ``cutoff`` is kept.
    connectivity : {4, 8, 16}, default 8
        Neighbourhood. A step between adjacent cells costs the mean of the two cells' costs
        times its length in cells (1 or sqrt 2). A knight step (16 only, length sqrt 5)
        costs the integral of the cost along its straight segment, which spends a quarter
        of its length in each of the four cells it crosses, so it cannot jump over an
        impassable cell.

    Returns
    -------
    numpy.ndarray of float64, shape (H, W)
        ``inf`` where unreachable or impassable; ``0`` at sources (even on an impassable
        cell, which then spreads nowhere).

    Raises
    ------
    ValidationError
        A cost array that is not 2-D or holds negative values, sources outside the raster,
        a negative cutoff, or an unsupported connectivity.

    Notes
    -----
    With ``connectivity=8`` (``4``) the result equals
    ``skimage.graph.MCP_Geometric(cost, fully_connected=True (False)).find_costs(sources)``.
    MCP treats negative costs as impassable; here they are an error.

    When every finite cost is > 0 (and the largest is < ~10**6 times the smallest) the
    search uses an exact bucket queue instead of a heap (bit-identical result, ~1.7x
    faster); rasters with zero-cost cells use the heap.
    """
    c = np.asarray(cost)
    if c.ndim != 2 or (c.size and c.dtype.kind not in "iuf"):
        msg = (
            f"cost must be a 2-D numeric raster, got shape {c.shape} and dtype {c.dtype}; "
            "pass a float64 (H, W) array"
        )
        raise ValidationError(msg)
    c = np.ascontiguousarray(c, dtype=np.float64)
    if np.any(c < 0):
        msg = (
            f"cost holds {int(np.count_nonzero(c < 0))} negative cell(s); costs must be >= 0 "
            "(use inf or NaN for impassable cells)"
        )
        raise ValidationError(msg)
    src = _validate_cells("sources", sources, c.shape)
    tables = _grid.neighbourhood(_check_connectivity(connectivity))
    if c.size == 0:
        return np.full(c.shape, np.inf)
    kernel: Any = _grid.cost_distance  # a numba dispatcher: its stub does not type the call
    return kernel(c, src[:, 0].copy(), src[:, 1].copy(), _check_cutoff(cutoff), *tables)
