"""Searches over raster grids without materialising a graph.

Cells are numbered ``row * W + col``. A neighbourhood is described by per-move tables
(see :func:`neighbourhood`): the row/column step, the kind of move (0 orthogonal,
1 diagonal, 2 knight) and two "middle" cells relative to the start cell:

* for a diagonal move, the two cells sharing an edge with both ends (the corner it passes);
* for a knight move ``(1, 2)``, the two cells the straight segment crosses between its
  end cells: the segment spends a quarter of its length in each of the four cells.

No validation happens here: :mod:`ynps_geo.kernels` and :mod:`ynps_geo.terrain` check
inputs first.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._heap import ensure_capacity, ensure_room, new_heap, pop_fix, push

ORTHOGONAL = 0
DIAGONAL = 1
KNIGHT = 2


def neighbourhood(connectivity: int) -> tuple[np.ndarray, ...]:
    """Move tables ``(dr, dc, kind, mr1, mc1, mr2, mc2)`` for 4, 8 or 16 neighbours."""
    moves: list[tuple[int, int, int, int, int, int, int]] = [
        (0, 1, ORTHOGONAL, 0, 0, 0, 0),
        (1, 0, ORTHOGONAL, 0, 0, 0, 0),
        (0, -1, ORTHOGONAL, 0, 0, 0, 0),
        (-1, 0, ORTHOGONAL, 0, 0, 0, 0),
    ]
    if connectivity >= 8:
        for dr, dc in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            moves.append((dr, dc, DIAGONAL, dr, 0, 0, dc))
    if connectivity >= 16:
        for dr, dc in ((1, 2), (1, -2), (-1, 2), (-1, -2)):
            moves.append((dr, dc, KNIGHT, 0, dc // 2, dr, dc // 2))
        for dr, dc in ((2, 1), (2, -1), (-2, 1), (-2, -1)):
            moves.append((dr, dc, KNIGHT, dr // 2, 0, dr // 2, dc))
    table = np.array(moves, dtype=np.int64)
    return tuple(np.ascontiguousarray(table[:, j]) for j in range(7))


@nb.njit(cache=True)
def cost_distance(
    cost: np.ndarray,
    src_rows: np.ndarray,
    src_cols: np.ndarray,
    cutoff: float,
    dr: np.ndarray,
    dc: np.ndarray,
    kind: np.ndarray,
    mr1: np.ndarray,
    mc1: np.ndarray,
    mr2: np.ndarray,
    mc2: np.ndarray,
) -> np.ndarray:
    """Accumulated cost from the nearest source over a C-contiguous (H, W) cost raster.

    An orthogonal or diagonal step costs ``length * 0.5 * (cost[a] + cost[b])`` (the rule
    of :class:`skimage.graph.MCP_Geometric`); a knight step costs
    ``sqrt(5) * 0.25 * (cost[a] + cost[m1] + cost[m2] + cost[b])``, the integral of the
    cost along the segment. Cells whose cost is not finite are impassable: no step enters
    or leaves them (a source on one gets 0 and spreads nowhere). Costs must be >= 0.
    """
    H, W = cost.shape
    n = H * W
    flat = cost.ravel()
    dist = np.full(n, np.inf, dtype=np.float64)
    K = dr.shape[0]
    off = dr * W + dc
    off1 = mr1 * W + mc1
    off2 = mr2 * W + mc2
    length = np.sqrt((dr * dr + dc * dc).astype(np.float64))
    # per-move factor on the summed costs: mean of 2 cells, or of 4 for a knight move
    factor = np.where(kind == KNIGHT, 0.25, 0.5) * length
    n_adjacent = 0
    R = 1
    for k in range(K):
        R = max(R, abs(dr[k]), abs(dc[k]))
        if kind[k] != KNIGHT:
            n_adjacent += 1
    h = new_heap()
    size = 0
    for i in range(src_rows.shape[0]):
        s = src_rows[i] * W + src_cols[i]
        if dist[s] == 0.0:
            continue
        dist[s] = 0.0
        h = ensure_capacity(h, size)
        push(h, size, 0.0, s)
        size += 1
    while size > 0:
        du = h[0]
        u = np.int64(h[1])
        size -= 1
        pop_fix(h, size)
        if du > dist[u]:
            continue
        cu = flat[u]
        if not cu < np.inf:
            continue
        h = ensure_room(h, size, K)
        r = u // W
        c = u - r * W
        if r >= R and r < H - R and c >= R and c < W - R:
            for k in range(n_adjacent):
                v = u + off[k]
                nd = du + factor[k] * (cu + flat[v])
                if nd < dist[v] and nd <= cutoff:
                    dist[v] = nd
                    push(h, size, nd, v)
                    size += 1
            for k in range(n_adjacent, K):
                v = u + off[k]
                nd = du + factor[k] * (cu + flat[u + off1[k]] + flat[u + off2[k]] + flat[v])
                if nd < dist[v] and nd <= cutoff:
                    dist[v] = nd
                    push(h, size, nd, v)
                    size += 1
            continue
        for k in range(K):
            rr = r + dr[k]
            cc = c + dc[k]
            if rr < 0 or rr >= H or cc < 0 or cc >= W:
                continue
            v = rr * W + cc
            if kind[k] == KNIGHT:
                nd = du + factor[k] * (cu + flat[u + off1[k]] + flat[u + off2[k]] + flat[v])
            else:
                nd = du + factor[k] * (cu + flat[v])
            if nd < dist[v] and nd <= cutoff:
                dist[v] = nd
                push(h, size, nd, v)
                size += 1
    return dist.reshape(H, W)


@nb.njit(cache=True, inline="always")
def walk_step(
    dem: np.ndarray,
    ok: np.ndarray,
    u: int,
    v: int,
    m1: int,
    m2: int,
    kind: int,
    length_m: float,
    tan_max: float,
    seconds_per_m: float,
    reverse: bool,
) -> float:
    """Tobler walking time (s) of the step ``u -> v``, or -1.0 when the step is blocked.

    The walker goes from ``u`` to ``v`` (from ``v`` to ``u`` when ``reverse``). Blocked:
    ``v`` impassable; a diagonal squeezing between two impassable cells; a knight move
    crossing an impassable cell; a step steeper than ``tan_max``. ``seconds_per_m`` is
    ``3.6 / (6 * offpath_factor)``: the time per metre at the optimal slope of -0.05.
    """
    if not ok[v]:
        return -1.0
    if kind == DIAGONAL and not ok[m1] and not ok[m2]:
        return -1.0
    if kind == KNIGHT and not (ok[m1] and ok[m2]):
        return -1.0
    dh = dem[v] - dem[u]
    if reverse:
        dh = -dh
    if abs(dh) > tan_max * length_m:
        return -1.0
    return seconds_per_m * length_m * np.exp(3.5 * abs(dh / length_m + 0.05))


@nb.njit(cache=True)
def _move_tables(
    W: int,
    dr: np.ndarray,
    dc: np.ndarray,
    mr1: np.ndarray,
    mc1: np.ndarray,
    mr2: np.ndarray,
    mc2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    off = dr * W + dc
    off1 = mr1 * W + mc1
    off2 = mr2 * W + mc2
    R = 1
    for k in range(dr.shape[0]):
        R = max(R, abs(dr[k]), abs(dc[k]))
    return off, off1, off2, R


@nb.njit(cache=True)
def walking_time(
    dem: np.ndarray,
    ok: np.ndarray,
    src_rows: np.ndarray,
    src_cols: np.ndarray,
    cutoff: float,
    dr: np.ndarray,
    dc: np.ndarray,
    kind: np.ndarray,
    mr1: np.ndarray,
    mc1: np.ndarray,
    mr2: np.ndarray,
    mc2: np.ndarray,
    length_m: np.ndarray,
    tan_max: float,
    seconds_per_m: float,
    reverse: bool,
) -> np.ndarray:
    """Tobler walking time (s) from the nearest source over a C-contiguous (H, W) DEM.

    ``ok`` is the (H, W) passability mask. With ``reverse`` every step is timed in the
    opposite direction, giving the time from each cell *to* its nearest source.
    """
    H, W = dem.shape
    n = H * W
    zf = dem.ravel()
    okf = ok.ravel()
    dist = np.full(n, np.inf, dtype=np.float64)
    K = dr.shape[0]
    off, off1, off2, R = _move_tables(W, dr, dc, mr1, mc1, mr2, mc2)
    h = new_heap()
    size = 0
    for i in range(src_rows.shape[0]):
        s = src_rows[i] * W + src_cols[i]
        if dist[s] == 0.0:
            continue
        dist[s] = 0.0
        h = ensure_capacity(h, size)
        push(h, size, 0.0, s)
        size += 1
    while size > 0:
        du = h[0]
        u = np.int64(h[1])
        size -= 1
        pop_fix(h, size)
        if du > dist[u]:
            continue
        if not okf[u]:
            continue
        h = ensure_room(h, size, K)
        r = u // W
        c = u - r * W
        interior = r >= R and r < H - R and c >= R and c < W - R
        for k in range(K):
            if interior:
                v = u + off[k]
            else:
                rr = r + dr[k]
                cc = c + dc[k]
                if rr < 0 or rr >= H or cc < 0 or cc >= W:
                    continue
                v = rr * W + cc
            if dist[v] <= du:
                continue
            step = walk_step(
                zf, okf, u, v, u + off1[k], u + off2[k], kind[k], length_m[k],
                tan_max, seconds_per_m, reverse,
            )
            if step < 0.0:
                continue
            nd = du + step
            if nd < dist[v] and nd <= cutoff:
                dist[v] = nd
                push(h, size, nd, v)
                size += 1
    return dist.reshape(H, W)


@nb.njit(cache=True)
def walking_graph(
    dem: np.ndarray,
    ok: np.ndarray,
    dr: np.ndarray,
    dc: np.ndarray,
    kind: np.ndarray,
    mr1: np.ndarray,
    mc1: np.ndarray,
    mr2: np.ndarray,
    mc2: np.ndarray,
    length_m: np.ndarray,
    tan_max: float,
    seconds_per_m: float,
    reverse: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed CSR graph of Tobler walking times, with the same step rule as
    :func:`walking_time`. Impassable cells have no edges."""
    H, W = dem.shape
    n = H * W
    zf = dem.ravel()
    okf = ok.ravel()
    K = dr.shape[0]
    off1 = mr1 * W + mc1
    off2 = mr2 * W + mc2
    indptr = np.zeros(n + 1, dtype=np.int64)
    for pass_ in range(2):
        if pass_ == 1:
            for u in range(n):
                indptr[u + 1] += indptr[u]
            indices = np.empty(indptr[n], dtype=np.int64)
            weights = np.empty(indptr[n], dtype=np.float64)
        else:
            indices = np.empty(0, dtype=np.int64)
            weights = np.empty(0, dtype=np.float64)
        for u in range(n):
            if not okf[u]:
                continue
            r = u // W
            c = u - r * W
            e = indptr[u]
            for k in range(K):
                rr = r + dr[k]
                cc = c + dc[k]
                if rr < 0 or rr >= H or cc < 0 or cc >= W:
                    continue
                v = rr * W + cc
                step = walk_step(
                    zf, okf, u, v, u + off1[k], u + off2[k], kind[k], length_m[k],
                    tan_max, seconds_per_m, reverse,
                )
                if step < 0.0:
                    continue
                if pass_ == 0:
                    indptr[u + 1] += 1
                else:
                    indices[e] = v
                    weights[e] = step
                    e += 1
    return indptr, indices, weights
