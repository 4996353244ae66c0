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
from .buckets import grow_pool, new_pool, ring_plan, ring_push

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
def cost_distance_heap(
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


@nb.njit(cache=True)
def cost_distance_buckets(
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
    invd: float,
    NB: int,
) -> np.ndarray:
    """:func:`cost_distance_heap` with exact buckets (:mod:`.buckets`) instead of a heap.

    ``invd, NB`` from :func:`ring_plan` for the smallest and largest possible step cost.
    Same floating-point operations, so the same distances bit for bit.
    """
    H, W = cost.shape
    n = H * W
    flat = cost.ravel()
    dist = np.full(n, np.inf, dtype=np.float64)
    settled = np.zeros(n, dtype=np.uint8)
    K = dr.shape[0]
    off = dr * W + dc
    off1 = mr1 * W + mc1
    off2 = mr2 * W + mc2
    length = np.sqrt((dr * dr + dc * dc).astype(np.float64))
    factor = np.where(kind == KNIGHT, 0.25, 0.5) * length
    n_adjacent = 0
    R = 1
    for k in range(K):
        R = max(R, abs(dr[k]), abs(dc[k]))
        if kind[k] != KNIGHT:
            n_adjacent += 1
    head = np.full(NB, -1, dtype=np.int64)
    pnode, pnext = new_pool(4096 + src_rows.shape[0])
    free = -1
    top = 0
    pending = 0
    for i in range(src_rows.shape[0]):
        s = src_rows[i] * W + src_cols[i]
        if dist[s] == 0.0:
            continue
        dist[s] = 0.0
        free, top = ring_push(s, 0.0, invd, NB, pnode, pnext, head, free, top)
        pending += 1
    b = 0
    while pending > 0:
        slot = b % NB
        p = head[slot]
        b += 1
        if p < 0:
            continue
        head[slot] = -1
        while p >= 0:
            u = pnode[p]
            nxt = pnext[p]
            pnext[p] = free
            free = p
            pending -= 1
            p = nxt
            if settled[u]:
                continue
            settled[u] = 1
            cu = flat[u]
            if not cu < np.inf:
                continue
            if top + K > pnode.shape[0]:
                pnode, pnext = grow_pool(pnode, pnext, top, K)
            du = dist[u]
            r = u // W
            c = u - r * W
            if r >= R and r < H - R and c >= R and c < W - R:
                for k in range(n_adjacent):
                    v = u + off[k]
                    nd = du + factor[k] * (cu + flat[v])
                    if nd < dist[v] and nd <= cutoff:
                        dist[v] = nd
                        free, top = ring_push(v, nd, invd, NB, pnode, pnext, head, free, top)
                        pending += 1
                for k in range(n_adjacent, K):
                    v = u + off[k]
                    nd = du + factor[k] * (cu + flat[u + off1[k]] + flat[u + off2[k]] + flat[v])
                    if nd < dist[v] and nd <= cutoff:
                        dist[v] = nd
                        free, top = ring_push(v, nd, invd, NB, pnode, pnext, head, free, top)
                        pending += 1
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
                    free, top = ring_push(v, nd, invd, NB, pnode, pnext, head, free, top)
                    pending += 1
    return dist.reshape(H, W)


@nb.njit(cache=True)
def finite_range(a: np.ndarray) -> tuple[float, float]:
    """Smallest and largest finite value of ``a`` (``inf, 0`` when none)."""
    lo = np.inf
    hi = 0.0
    for x in a.ravel():
        if x < np.inf:
            if x < lo:
                lo = x
            if x > hi:
                hi = x
    return lo, hi


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
    method: int = 0,
) -> np.ndarray:
    """Accumulated cost (see :func:`cost_distance_heap`); ``method`` 0 automatic (buckets
    when every finite cost is > 0 and their range is moderate), 1 heap, 2 buckets where
    possible. The results are identical."""
    if method != 1:
        lo, hi = finite_range(cost)
        # a step costs at least the cheapest cell (orthogonal, 2 * 0.5 * lo) and at most
        # sqrt(5) times the dearest (a knight step over four cells)
        invd, NB = ring_plan(lo, np.sqrt(5.0) * hi, cost.size)
        if NB > 0:
            return cost_distance_buckets(
                cost, src_rows, src_cols, cutoff, dr, dc, kind, mr1, mc1, mr2, mc2, invd, NB
            )
    return cost_distance_heap(cost, src_rows, src_cols, cutoff, dr, dc, kind, mr1, mc1, mr2, mc2)


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
def walking_time_heap(
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
                zf,
                okf,
                u,  # type: ignore[arg-type]
                v,
                u + off1[k],
                u + off2[k],
                kind[k],
                length_m[k],
                tan_max,
                seconds_per_m,
                reverse,
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
def _walk_run(
    zf: np.ndarray,
    okf: np.ndarray,
    dist: np.ndarray,
    settled: np.ndarray,
    H: int,
    W: int,
    R: int,
    cutoff: float,
    dr: np.ndarray,
    dc: np.ndarray,
    kind: np.ndarray,
    off: np.ndarray,
    off1: np.ndarray,
    off2: np.ndarray,
    n_orth: int,
    n_diag: int,
    grouped: bool,
    length_m: np.ndarray,
    tan_l: np.ndarray,
    spm_l: np.ndarray,
    tan_max: float,
    seconds_per_m: float,
    reverse: bool,
    invd: float,
    NB: int,
    pnode: np.ndarray,
    pnext: np.ndarray,
    head: np.ndarray,
    b: int,
    p: int,
    free: int,
    top: int,
    pending: int,
) -> tuple[int, int, int, int, int]:
    """The search loop of :func:`walking_time_buckets`, run until the queue is empty or
    the entry pool needs to grow (returns the state ``b, p, free, top, pending``).

    The pool arrays are arguments that are never rebound here: rebinding them inside the
    loop (as a grow in place does) made numba incref/decref both on every pop, atomic
    operations that took ~15 % of the search."""
    K = dr.shape[0]
    cap = pnode.shape[0]
    sgn = -1.0 if reverse else 1.0
    while True:
        if p < 0:
            if pending == 0:
                break
            slot = b % NB
            p = head[slot]
            b += 1
            if p < 0:
                continue
            head[slot] = -1
        if top + K > cap:
            break
        u = pnode[p]
        nxt = pnext[p]
        pnext[p] = free
        free = p
        pending -= 1
        p = nxt
        if settled[u]:
            continue
        settled[u] = 1
        if not okf[u]:
            continue
        du = dist[u]
        r = u // W
        c = u - r * W
        if grouped and r >= R and r < H - R and c >= R and c < W - R:
            # interior cell: walk_step unrolled, moves grouped by kind, per-move products
            # precomputed (the same floating-point operations, so the same times bit for
            # bit). exp(...) >= 1, so a step costs at least spm_l[k]: ``du + spm_l[k] >=
            # dist[v]`` is an exact test that the step cannot improve v.
            # unsigned indices (never negative here): numba then emits no wraparound
            # code for negative indices, ~15 % of the search time with 16 neighbours
            zu = zf[np.uint64(u)]
            for k in range(n_orth):
                w = np.uint64(u + off[k])
                dv = dist[w]
                if du + spm_l[k] >= dv or not okf[w]:
                    continue
                dh = (zf[w] - zu) * sgn
                if abs(dh) > tan_l[k]:
                    continue
                nd = du + spm_l[k] * np.exp(3.5 * abs(dh / length_m[k] + 0.05))
                if nd < dv and nd <= cutoff:
                    dist[w] = nd
                    free, top = ring_push(np.int64(w), nd, invd, NB, pnode, pnext, head, free, top)  # type: ignore[arg-type]
                    pending += 1
            for k in range(n_orth, n_diag):
                w = np.uint64(u + off[k])
                dv = dist[w]
                if du + spm_l[k] >= dv or not okf[w]:
                    continue
                if not okf[np.uint64(u + off1[k])] and not okf[np.uint64(u + off2[k])]:
                    continue
                dh = (zf[w] - zu) * sgn
                if abs(dh) > tan_l[k]:
                    continue
                nd = du + spm_l[k] * np.exp(3.5 * abs(dh / length_m[k] + 0.05))
                if nd < dv and nd <= cutoff:
                    dist[w] = nd
                    free, top = ring_push(np.int64(w), nd, invd, NB, pnode, pnext, head, free, top)  # type: ignore[arg-type]
                    pending += 1
            for k in range(n_diag, K):
                w = np.uint64(u + off[k])
                dv = dist[w]
                if du + spm_l[k] >= dv:
                    continue
                if not (okf[w] and okf[np.uint64(u + off1[k])] and okf[np.uint64(u + off2[k])]):
                    continue
                dh = (zf[w] - zu) * sgn
                if abs(dh) > tan_l[k]:
                    continue
                nd = du + spm_l[k] * np.exp(3.5 * abs(dh / length_m[k] + 0.05))
                if nd < dv and nd <= cutoff:
                    dist[w] = nd
                    free, top = ring_push(np.int64(w), nd, invd, NB, pnode, pnext, head, free, top)  # type: ignore[arg-type]
                    pending += 1
            continue
        for k in range(K):
            rr = r + dr[k]
            cc = c + dc[k]
            if rr < 0 or rr >= H or cc < 0 or cc >= W:
                continue
            v = rr * W + cc
            if dist[v] <= du:
                continue
            step = walk_step(
                zf,
                okf,
                u,
                v,
                u + off1[k],
                u + off2[k],
                kind[k],
                length_m[k],
                tan_max,
                seconds_per_m,
                reverse,
            )
            if step < 0.0:
                continue
            nd = du + step
            if nd < dist[v] and nd <= cutoff:
                dist[v] = nd
                free, top = ring_push(v, nd, invd, NB, pnode, pnext, head, free, top)
                pending += 1
    return b, p, free, top, pending


@nb.njit(cache=True)
def walking_time_buckets(
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
    invd: float,
    NB: int,
) -> np.ndarray:
    """:func:`walking_time_heap` with exact buckets (:mod:`.buckets`) instead of a heap;
    the same distances bit for bit. ``invd, NB`` from :func:`ring_plan`."""
    H, W = dem.shape
    n = H * W
    zf = dem.ravel()
    okf = ok.ravel()
    dist = np.full(n, np.inf, dtype=np.float64)
    settled = np.zeros(n, dtype=np.uint8)
    K = dr.shape[0]
    off, off1, off2, R = _move_tables(W, dr, dc, mr1, mc1, mr2, mc2)
    tan_l = tan_max * length_m
    spm_l = seconds_per_m * length_m
    # moves grouped by kind (orthogonal, diagonal, knight), as neighbourhood() builds them;
    # other tables take the generic path
    n_orth = 0
    while n_orth < K and kind[n_orth] == ORTHOGONAL:
        n_orth += 1
    n_diag = n_orth
    while n_diag < K and kind[n_diag] == DIAGONAL:
        n_diag += 1
    grouped = True
    for k in range(n_diag, K):
        if kind[k] != KNIGHT:
            grouped = False
    head = np.full(NB, -1, dtype=np.int64)
    pnode, pnext = new_pool(4096 + src_rows.shape[0])
    free = -1
    top = 0
    pending = 0
    for i in range(src_rows.shape[0]):
        s = src_rows[i] * W + src_cols[i]
        if dist[s] == 0.0:
            continue
        dist[s] = 0.0
        free, top = ring_push(s, 0.0, invd, NB, pnode, pnext, head, free, top)
        pending += 1
    b = 0
    p = -1
    while pending > 0:
        if top + K > pnode.shape[0]:
            pnode, pnext = grow_pool(pnode, pnext, top, K)
        b, p, free, top, pending = _walk_run(
            zf,
            okf,
            dist,
            settled,
            H,
            W,
            R,
            cutoff,
            dr,
            dc,
            kind,
            off,
            off1,
            off2,
            n_orth,
            n_diag,
            grouped,
            length_m,
            tan_l,
            spm_l,
            tan_max,
            seconds_per_m,
            reverse,
            invd,
            NB,
            pnode,
            pnext,
            head,
            b,
            p,
            free,
            top,
            pending,
        )
    return dist.reshape(H, W)


@nb.njit(cache=True)
def max_step_rise(dem: np.ndarray, ok: np.ndarray, dr: np.ndarray, dc: np.ndarray) -> np.ndarray:
    """Per move, the largest ``|dem[v] - dem[u]|`` between two passable cells it links
    (``-1`` when none); a move and its opposite share the value."""
    H, W = dem.shape
    K = dr.shape[0]
    out = np.full(K, -1.0)
    for k in range(K):
        a, b = dr[k], dc[k]
        if not (a > 0 or (a == 0 and b > 0)):
            continue
        m = -1.0
        for r in range(max(0, -a), min(H, H - a)):
            for c in range(max(0, -b), min(W, W - b)):
                if ok[r, c] and ok[r + a, c + b]:
                    d = abs(dem[r + a, c + b] - dem[r, c])
                    if d > m:
                        m = d
        out[k] = m
    for k in range(K):
        if out[k] < 0.0:
            for j in range(K):
                if dr[j] == -dr[k] and dc[j] == -dc[k]:
                    out[k] = out[j]
    return out


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
    method: int = 0,
) -> np.ndarray:
    """Tobler walking time (see :func:`walking_time_heap`). ``method`` 0 automatic
    (buckets when the steepest step between neighbours keeps the ratio of the slowest to
    the fastest step moderate), 1 heap, 2 buckets where possible; identical results."""
    if method != 1:
        rise = max_step_rise(dem, ok, dr, dc)
        wmin = np.inf
        wmax = 0.0
        for k in range(dr.shape[0]):
            L = length_m[k]
            wmin = min(wmin, seconds_per_m * L)
            if rise[k] >= 0.0:
                slope = min(rise[k] / L, tan_max)
                wmax = max(wmax, seconds_per_m * L * np.exp(3.5 * (slope + 0.05)))
        invd, NB = ring_plan(wmin, wmax, dem.size)
        if NB > 0:
            return walking_time_buckets(
                dem,
                ok,
                src_rows,
                src_cols,
                cutoff,
                dr,
                dc,
                kind,
                mr1,
                mc1,
                mr2,
                mc2,
                length_m,
                tan_max,
                seconds_per_m,
                reverse,
                invd,
                NB,
            )
    return walking_time_heap(
        dem,
        ok,
        src_rows,
        src_cols,
        cutoff,
        dr,
        dc,
        kind,
        mr1,
        mc1,
        mr2,
        mc2,
        length_m,
        tan_max,
        seconds_per_m,
        reverse,
    )


@nb.njit(cache=True, parallel=True)
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
    :func:`walking_time`. Impassable cells have no edges. Rows are counted, then filled,
    in parallel (each row's edges by move, as the tables list them)."""
    H, W = dem.shape
    n = H * W
    zf = dem.ravel()
    okf = ok.ravel()
    off1 = mr1 * W + mc1
    off2 = mr2 * W + mc2
    indptr = np.zeros(n + 1, dtype=np.int64)
    no_i = np.empty(0, dtype=np.int64)  # nothing is written while counting
    no_w = np.empty(0, dtype=np.float64)
    for u in nb.prange(n):
        indptr[u + 1] = _walking_row(
            zf, okf, u, H, W, dr, dc, kind, off1, off2, length_m, tan_max, seconds_per_m,
            reverse, indptr, no_i, no_w, False,
        )  # fmt: skip
    for u in range(n):
        indptr[u + 1] += indptr[u]
    indices = np.empty(indptr[n], dtype=np.int64)
    weights = np.empty(indptr[n], dtype=np.float64)
    for u in nb.prange(n):
        _walking_row(
            zf, okf, u, H, W, dr, dc, kind, off1, off2, length_m, tan_max, seconds_per_m,
            reverse, indptr, indices, weights, True,
        )  # fmt: skip
    return indptr, indices, weights


@nb.njit(cache=True, inline="always")
def _walking_row(
    zf: np.ndarray,
    okf: np.ndarray,
    u: int,
    H: int,
    W: int,
    dr: np.ndarray,
    dc: np.ndarray,
    kind: np.ndarray,
    off1: np.ndarray,
    off2: np.ndarray,
    length_m: np.ndarray,
    tan_max: float,
    seconds_per_m: float,
    reverse: bool,
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    fill: bool,
) -> int:
    """Count (``fill`` false) or write the edges of cell ``u``; returns how many."""
    if not okf[u]:
        return 0
    r = u // W
    c = u - r * W
    e = indptr[u]
    count = 0
    for k in range(dr.shape[0]):
        rr = r + dr[k]
        cc = c + dc[k]
        if rr < 0 or rr >= H or cc < 0 or cc >= W:
            continue
        v = rr * W + cc
        step = walk_step(
            zf,
            okf,
            u,
            v,
            u + off1[k],
            u + off2[k],
            kind[k],
            length_m[k],
            tan_max,
            seconds_per_m,
            reverse,
        )
        if step < 0.0:
            continue
        if fill:
            indices[e + count] = v
            weights[e + count] = step
        count += 1
    return count


@nb.njit(cache=True, parallel=True)
def step_lengths(indptr: np.ndarray, indices: np.ndarray, width: int, res: float) -> np.ndarray:
    """Horizontal length (``res * hypot(drow, dcol)``) of every edge of a grid graph."""
    n = indptr.shape[0] - 1
    out = np.empty(indices.shape[0], dtype=np.float64)
    for u in nb.prange(n):
        ru = u // width
        cu = u - ru * width
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            rv = v // width
            out[e] = res * np.hypot(float(rv - ru), float((v - rv * width) - cu))
    return out
