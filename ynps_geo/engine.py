"""One trip across modes: walk off-road, travel on roads, walk off-road again.

The engine joins three things into one directed graph per travel mode:

* the **terrain grid** (a cell per node, 8 or 16 neighbours), where walking speed comes from the
  slope (Tobler's hiking function, times the off-path factor), so going uphill differs from
  going downhill;
* the **road network** (a node per OSM node), at class speeds when driving and at walking speed
  when walking; roads keep their topology, so a bridge is not a junction with what it crosses;
* **links**: every road node is joined to the grid cell it lies in by a short walk, and every
  village and facility is a node of its own, joined by walking legs to its cell and to the
  nearest road nodes. Getting on and off the road is walked, never teleported.

Travel is measured from the village to the facility. Searches start at the facilities, so the
graph is built *reversed*: the edge ``a -> b`` carries the cost of going ``b -> a``. Village
nodes have only incoming edges and facility nodes only outgoing ones, so no trip passes through
a village or a facility.

Modes: ``walk`` (seconds; roads and paths at walking speed), ``drive`` (seconds; motorised on
drivable roads, walking on paths and off-road) and ``distance`` (metres along roads, paths and
terrain, for the rural "10-li" circle).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ynps_geo import settings
from ynps_geo.errors import ValidationError
from ynps_geo.model.grid import GridSpec
from ynps_geo.network import MIN_WEIGHT

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ynps_geo.network import RoadNetwork

MODES = ("walk", "drive", "distance")
CSR = tuple[np.ndarray, np.ndarray, np.ndarray]


def _facility_rows(rows: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Positions in a facility set -> the facilities' rows; -1 (unreached) stays -1."""
    return np.append(rows, -1)[positions]


def _coo_to_csr(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> CSR:
    from ynps_geo._kernels.csr import coo_to_csr

    return coo_to_csr(
        int(n),
        np.ascontiguousarray(u, dtype=np.int64),
        np.ascontiguousarray(v, dtype=np.int64),
        np.ascontiguousarray(w, dtype=np.float64),
    )


@dataclass
class Points:
    """Points joined to the graph: villages (targets) or facilities (sources)."""

    x: np.ndarray
    y: np.ndarray
    first_node: int = -1

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Access:
    """The road network as the engine uses it: split wherever the terrain boards it.

    Nodes ``0..n_orig-1`` are the network's own nodes; the rest are virtual nodes on its
    edges: the nearest point of the edge to the centre of each grid cell the edge crosses,
    and to each village and facility within reach. Every edge is cut at its virtual nodes,
    so a road is boarded where it passes, never only at its OSM nodes.

    Legs are straight walks costed with Tobler's function on the DEM along the leg (seconds,
    ``fwd`` in the direction named first, ``bwd`` back) and their horizontal length in metres.
    """

    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    parent: np.ndarray  # the network edge each split edge belongs to
    # cell <-> road node legs
    cell: np.ndarray
    cell_node: np.ndarray
    cell_fwd: np.ndarray
    cell_bwd: np.ndarray
    cell_len: np.ndarray
    # point <-> road node legs (points: villages first, then facilities)
    pt: np.ndarray
    pt_node: np.ndarray
    pt_fwd: np.ndarray
    pt_bwd: np.ndarray
    pt_len: np.ndarray
    # point <-> cell legs
    pc_pt: np.ndarray
    pc_cell: np.ndarray
    pc_fwd: np.ndarray
    pc_bwd: np.ndarray
    pc_len: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Road nodes, the network's and the virtual ones."""
        return len(self.x)


_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)


@dataclass
class TravelEngine:
    """Travel times on one county's grid, roads and points.

    Build it with :meth:`build`; then :meth:`search` gives, for each facility set, the cost
    from every village (and every grid cell) to the nearest facility of the set.
    """

    grid: GridSpec
    dem: np.ndarray
    roads: RoadNetwork | None
    villages: Points
    facilities: Points
    connectivity: int = 8
    walking_speed_kmh: float = field(default_factory=lambda: settings.walking_speed_kmh)
    offroad_factor: float = field(default_factory=lambda: settings.offroad_speed_factor)
    connector_k: int = 4
    road_reach_m: float = field(default_factory=lambda: settings.road_reach_m)
    barrier: np.ndarray | None = None
    max_slope_deg: float | None = None
    _graphs: dict[str, CSR] = field(default_factory=dict)
    _road_nodes: dict[str, np.ndarray] = field(default_factory=dict)
    _grid_cache: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict)
    _transposed: dict[str, CSR] = field(default_factory=dict)
    _search_graphs: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict)
    _parts: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict)
    _graphs_key: tuple[object, ...] = ()
    _access: Access | None = None
    _road_xy: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(
        cls,
        grid: GridSpec,
        dem: np.ndarray | None,
        roads: RoadNetwork | None,
        village_xy: tuple[np.ndarray, np.ndarray],
        facility_xy: tuple[np.ndarray, np.ndarray],
        *,
        connectivity: int = 8,
    ) -> TravelEngine:
        """Assemble an engine.

        Parameters
        ----------
        grid : GridSpec
            Metric analysis grid.
        dem : (H, W) float array or None
            Elevation on ``grid`` in metres (``nan`` = impassable); flat terrain when None.
        roads : RoadNetwork or None
            Roads clipped to the grid's area (node coordinates in EPSG:4326).
        village_xy, facility_xy : tuple of arrays
            Metric coordinates (grid CRS) of villages and facilities.
        """
        if dem is None:
            dem = np.zeros(grid.shape, dtype=np.float64)
        if dem.shape != grid.shape:
            msg = f"DEM shape {dem.shape} does not match the analysis grid {grid.shape}"
            raise ValidationError(msg)
        villages = Points(np.asarray(village_xy[0], float), np.asarray(village_xy[1], float))
        facilities = Points(np.asarray(facility_xy[0], float), np.asarray(facility_xy[1], float))
        eng = cls(
            grid, np.asarray(dem, dtype=np.float64), roads, villages, facilities, connectivity
        )
        if roads is not None and roads.n_nodes:
            from pyproj import Transformer

            tr = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
            rx, ry = tr.transform(roads.lon, roads.lat)
            eng._road_xy = (np.asarray(rx, float), np.asarray(ry, float))
        return eng

    @property
    def n_road_nodes(self) -> int:
        """Number of road nodes, the network's own and the virtual ones on its edges."""
        return 0 if self._road_xy is None else self.access().n_nodes

    def _offroad_mps(self) -> float:
        """Off-road walking speed on flat ground (Tobler at slope 0 times the off-path factor)."""
        return 6.0 * np.exp(-3.5 * 0.05) * self.offroad_factor / 3.6

    def _grid_edges(self, mode: str) -> tuple[np.ndarray, ...]:
        """The grid's part of the reversed graph as CSR rows (cached): edge ``v -> u`` of
        the search carries the cost of stepping ``u -> v``, seconds of walking or, for
        ``distance``, the metres of the same steps (barriers and cliffs respected)."""
        key = "distance" if mode == "distance" else "walk"
        if key not in self._grid_cache:
            if key == "walk":
                self._grid_cache[key] = self._make_grid_edges()
            else:
                from ynps_geo._kernels.grid import step_lengths

                indptr, indices, _ = self._grid_edges("walk")
                lengths = step_lengths(indptr, indices, self.grid.width, float(self.grid.res))
                self._grid_cache[key] = (indptr, indices, lengths)
        return self._grid_cache[key]

    def _make_grid_edges(self) -> tuple[np.ndarray, ...]:
        from ynps_geo import terrain

        res = self.grid.res
        # each row's edges by ascending neighbour: the order a sort by node would give
        return terrain.walking_graph(
            self.dem,
            res,
            res,
            connectivity=self.connectivity,
            offpath_factor=self.offroad_factor,
            barrier=self.barrier,
            max_slope_deg=self.max_slope_deg,
            reverse=True,
            sorted_rows=True,
        )

    def _passable(self) -> np.ndarray:
        """Flat boolean mask of the cells walking can enter (elevation known, no barrier)."""
        ok = np.isfinite(self.dem).ravel()
        if self.barrier is not None:
            ok = ok & ~np.asarray(self.barrier, dtype=bool).ravel()
        return ok

    def _cell_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Passable grid cell holding each point (``-1`` outside the grid or impassable)."""
        row, col = self.grid.rowcol(x, y)
        ok = self.grid.inside(row, col)
        cell = np.where(ok, row * self.grid.width + col, -1)
        ok_cells = cell >= 0
        cell[ok_cells & ~self._passable()[np.where(ok_cells, cell, 0)]] = -1
        return cell

    def _snap_cells(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """:meth:`_cell_of`, with points on an impassable cell (a barrier, a DEM void) moved
        to the nearest passable cell within ``settings.max_snap_distance_m``; ``-1`` when none
        is (or the point lies outside the grid)."""
        g = self.grid
        cell = self._cell_of(x, y)
        row, col = g.rowcol(x, y)
        stuck = (cell < 0) & g.inside(row, col)
        passable = self._passable().reshape(g.shape)
        if not stuck.any() or not passable.any():
            return cell
        from scipy.ndimage import distance_transform_edt

        near_r, near_c = distance_transform_edt(
            ~passable, return_distances=False, return_indices=True
        )
        r, c = near_r[row[stuck], col[stuck]], near_c[row[stuck], col[stuck]]
        cx, cy = g.centres(r, c)
        close = np.hypot(x[stuck] - cx, y[stuck] - cy) <= settings.max_snap_distance_m
        cell[np.flatnonzero(stuck)[close]] = (r * g.width + c)[close]
        return cell

    # ------------------------------------------------------------------ legs and access
    def _legs(
        self,
        ax: np.ndarray,
        ay: np.ndarray,
        bx: np.ndarray,
        by: np.ndarray,
        check: np.ndarray | bool = True,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Straight walking legs ``a -> b``: seconds forward and back, length, validity."""
        from ynps_geo._kernels.legs import leg_costs

        n = len(ax)
        chk = np.broadcast_to(np.asarray(check, dtype=bool), (n,)).copy()
        g = self.grid
        if self.max_slope_deg is None or self.max_slope_deg >= 90.0:
            tan_max = np.inf
        else:
            tan_max = float(np.tan(np.radians(self.max_slope_deg)))
        spm = 3.6 / (6.0 * float(self.offroad_factor))
        fwd, bwd, ok = leg_costs(
            np.ascontiguousarray(ax, dtype=np.float64),
            np.ascontiguousarray(ay, dtype=np.float64),
            np.ascontiguousarray(bx, dtype=np.float64),
            np.ascontiguousarray(by, dtype=np.float64),
            chk,
            self.dem,
            self._passable().reshape(g.shape),
            g.x0,
            g.y0,
            g.res,
            spm,
            tan_max,
        )
        return fwd, bwd, np.hypot(bx - ax, by - ay), ok

    def _point_cell_legs(self, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, ...]:
        """Legs from each point to the cells around it (its own and the 8 next to it).

        A point on an impassable cell joins the nearest passable cell instead (within
        ``settings.max_snap_distance_m``); its own cell is always joined, the others only by
        legs that cross no barrier and no cliff.
        """
        g = self.grid
        own = self._cell_of(px, py)
        snapped = self._snap_cells(px, py)
        idx = np.arange(len(px), dtype=np.int64)
        pts = [idx[snapped >= 0]]
        cells = [snapped[snapped >= 0]]
        check = [np.zeros(int((snapped >= 0).sum()), dtype=bool)]
        has = own >= 0
        r0, c0 = own[has] // g.width, own[has] % g.width
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == 0 and dc == 0:
                    continue
                r, c = r0 + dr, c0 + dc
                inside = g.inside(r, c)
                pts.append(idx[has][inside])
                cells.append((r * g.width + c)[inside])
                check.append(np.ones(int(inside.sum()), dtype=bool))
        pt = np.concatenate(pts)
        cell = np.concatenate(cells)
        chk = np.concatenate(check)
        keep = self._passable()[cell]
        pt, cell, chk = pt[keep], cell[keep], chk[keep]
        cx, cy = g.centres(cell // g.width, cell % g.width)
        fwd, bwd, length, ok = self._legs(px[pt], py[pt], cx, cy, chk)
        return pt[ok], cell[ok], fwd[ok], bwd[ok], length[ok]

    def access(self) -> Access:
        """The split road network and every leg joining it to the grid and the points.

        Built once per engine and setting (see :meth:`graph`).
        """
        if self._access is None:
            self._access = self._build_access()
        return self._access

    def _build_access(self) -> Access:
        from ynps_geo._kernels.legs import segment_cells
        from ynps_geo.model.modes import NO_WALK_CLASSES
        from ynps_geo.network import class_mask

        g = self.grid
        px = np.r_[self.villages.x, self.facilities.x]
        py = np.r_[self.villages.y, self.facilities.y]
        pc = self._point_cell_legs(px, py)
        roads = self.roads
        if roads is None or self._road_xy is None or roads.n_edges == 0:
            rx = np.zeros(0) if self._road_xy is None else self._road_xy[0]
            ry = np.zeros(0) if self._road_xy is None else self._road_xy[1]
            e_i, e_f = _EMPTY_I, _EMPTY_F
            return Access(
                rx, ry, e_i, e_i, e_f, e_i,
                e_i, e_i, e_f, e_f, e_f,
                e_i, e_i, e_f, e_f, e_f,
                *pc,
            )  # fmt: skip
        rx, ry = self._road_xy
        n_orig = len(rx)
        eu, ev = roads.u, roads.v
        ax, ay, bx, by = rx[eu], ry[eu], rx[ev], ry[ev]
        seg_len = np.hypot(bx - ax, by - ay)
        # edges the terrain may board: on the ground, and walkable (not an expressway)
        ground = ~roads.grade_separated & ~class_mask(roads.highway, NO_WALK_CLASSES)
        ground &= seg_len > 0

        # 1. cells crossed by each ground edge, joined at the nearest point of the edge
        gi = np.flatnonzero(ground)
        fx0, fy0 = (ax[gi] - g.x0) / g.res, (g.y0 - ay[gi]) / g.res
        fx1, fy1 = (bx[gi] - g.x0) / g.res, (g.y0 - by[gi]) / g.res
        seg, cell = segment_cells(fx0, fy0, fx1, fy1, g.height, g.width)
        edge_c = gi[seg]
        passable = self._passable()
        keep = passable[cell]
        edge_c, cell = edge_c[keep], cell[keep]
        ccx, ccy = g.centres(cell // g.width, cell % g.width)
        t_c = _project(ccx, ccy, ax[edge_c], ay[edge_c], bx[edge_c], by[edge_c])

        # 2. villages and facilities: the nearest points of the nearest ground edges
        pt_p, edge_p, t_p, must = self._point_edges(px, py, ax, ay, bx, by, ground)

        # 3. split the edges at those points
        split_e = np.r_[edge_c, edge_p]
        split_t = np.r_[t_c, t_p]
        node_of, x, y, su, sv, slen, parent = _split_edges(
            n_orig, rx, ry, eu, ev, roads.length_m, seg_len, split_e, split_t
        )
        node_c = node_of[: len(edge_c)]
        node_p = node_of[len(edge_c) :]

        # 4. legs: cell centre <-> its point on the road; point <-> its point on the road
        c_fwd, c_bwd, c_len, c_ok = self._legs(ccx, ccy, x[node_c], y[node_c], True)
        cell_keep = c_ok
        # ends of ways off the ground (a bridge or tunnel that stops) meet the terrain there
        deg_all = np.bincount(np.r_[eu, ev], minlength=n_orig)
        on_ground = np.zeros(n_orig, dtype=bool)
        on_ground[eu[ground]] = True
        on_ground[ev[ground]] = True
        lone = np.flatnonzero((deg_all == 1) & ~on_ground)
        lone_cell = self._cell_of(rx[lone], ry[lone])
        lone, lone_cell = lone[lone_cell >= 0], lone_cell[lone_cell >= 0]
        lx, ly = g.centres(lone_cell // g.width, lone_cell % g.width)
        l_fwd, l_bwd, l_len, _ = self._legs(lx, ly, rx[lone], ry[lone], False)

        p_fwd, p_bwd, p_len, p_ok = self._legs(px[pt_p], py[pt_p], x[node_p], y[node_p], ~must)
        return Access(
            x,
            y,
            su,
            sv,
            slen,
            parent,
            np.r_[cell[cell_keep], lone_cell],
            np.r_[node_c[cell_keep], lone],
            np.r_[c_fwd[cell_keep], l_fwd],
            np.r_[c_bwd[cell_keep], l_bwd],
            np.r_[c_len[cell_keep], l_len],
            pt_p[p_ok],
            node_p[p_ok],
            p_fwd[p_ok],
            p_bwd[p_ok],
            p_len[p_ok],
            *pc,
        )

    def _point_edges(
        self,
        px: np.ndarray,
        py: np.ndarray,
        ax: np.ndarray,
        ay: np.ndarray,
        bx: np.ndarray,
        by: np.ndarray,
        ground: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For each point, the ground edges it walks straight to, and where on them.

        The ``connector_k`` nearest edges within ``road_reach_m`` of the nearest one plus a
        cell, and the nearest drivable edge within reach. A point outside the grid walks to
        its nearest edge however far (``must``: the leg is not checked against the grid).

        Returns
        -------
        point, edge, t, must : arrays, one row per leg
        """
        import shapely

        gi = np.flatnonzero(ground)
        if not len(px) or not gi.size:
            return _EMPTY_I, _EMPTY_I, _EMPTY_F, np.zeros(0, dtype=bool)
        lines = shapely.linestrings(
            np.stack([np.c_[ax[gi], ay[gi]], np.c_[bx[gi], by[gi]]], axis=1)
        )
        tree = shapely.STRtree(lines)
        pts = shapely.points(px, py)
        outside = self._snap_cells(px, py) < 0
        # inclusive, with room for rounding: a point exactly at the reach is within it
        reach = float(self.road_reach_m) * (1.0 + 1e-9) + 1e-6
        (qp, _qe), qd = tree.query_nearest(pts, return_distance=True, all_matches=False)
        nearest = np.full(len(px), np.inf)
        nearest[qp] = qd
        within = (nearest <= reach) | outside
        band = np.where(within, nearest + self.grid.res, -1.0)
        sel = np.flatnonzero(within)
        pp, ee = tree.query(pts[sel], predicate="dwithin", distance=band[sel])
        pp = sel[pp]
        # the nearest drivable ground edge too, so that boarding a car is a straight walk
        drive_ok = self.roads.edge_mask("drive")[gi] if self.roads is not None else None
        extra_p, extra_e = _EMPTY_I, _EMPTY_I
        if drive_ok is not None and drive_ok.any() and not drive_ok.all():
            di = np.flatnonzero(drive_ok)
            dtree = shapely.STRtree(lines[di])
            (dp, de), dd = dtree.query_nearest(pts, return_distance=True, all_matches=False)
            ok = (dd <= reach) | outside[dp]
            extra_p, extra_e = dp[ok], di[de[ok]]
        flag = np.r_[np.zeros(len(pp), dtype=bool), np.ones(len(extra_p), dtype=bool)]
        pp = np.r_[pp, extra_p]
        ee = np.r_[ee, extra_e]
        e = gi[ee]
        t = _project(px[pp], py[pp], ax[e], ay[e], bx[e], by[e])
        fx = ax[e] + t * (bx[e] - ax[e])
        fy = ay[e] + t * (by[e] - ay[e])
        d = np.hypot(fx - px[pp], fy - py[pp])
        # per point: its k nearest edges, and the nearest drivable one (listed first among
        # duplicates, so that dropping duplicates keeps its flag)
        order = np.lexsort((~flag, e, d, pp))
        pp, e, t, d, flag = pp[order], e[order], t[order], d[order], flag[order]
        dup = np.r_[False, (pp[1:] == pp[:-1]) & (e[1:] == e[:-1])]
        pp, e, t, flag = pp[~dup], e[~dup], t[~dup], flag[~dup]
        pos = np.arange(len(pp))
        first = np.r_[True, pp[1:] != pp[:-1]]
        rank = pos - np.maximum.accumulate(np.where(first, pos, 0))
        keep = (rank < self.connector_k) | flag
        pp, e, t = pp[keep], e[keep], t[keep]
        return pp, e, t, outside[pp]

    def _leg_arrays(
        self, mode: str, fwd: np.ndarray, bwd: np.ndarray, length: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """A leg's cost each way in ``mode``, at least :data:`MIN_WEIGHT` like every edge: a
        point on a cell centre or a road node has legs of length 0, and zero-cost edges would
        let the search's order, not the tie rule, pick the nearest of equally near
        facilities."""
        if mode == "distance":
            fwd = bwd = length
        return np.maximum(fwd, MIN_WEIGHT), np.maximum(bwd, MIN_WEIGHT)

    def _settings_key(self) -> tuple[object, ...]:
        """What a built graph depends on besides the inputs (settable after :meth:`build`)."""
        barrier = None
        if self.barrier is not None:
            barrier = hashlib.blake2b(np.packbits(self.barrier).tobytes()).hexdigest()
        xy = None
        if self._road_xy is not None:
            xy = hashlib.blake2b(
                np.ascontiguousarray(np.r_[self._road_xy[0], self._road_xy[1]]).tobytes()
            ).hexdigest()
        return (
            self.connectivity,
            self.walking_speed_kmh,
            self.offroad_factor,
            self.max_slope_deg,
            self.connector_k,
            self.road_reach_m,
            barrier,
            xy,
        )

    def _walk_layer(
        self, mode: str, acc: Access, base_cell: int, base_road: int
    ) -> list[tuple[np.ndarray, ...]]:
        """Forward edges of one walking layer besides the grid's (:meth:`_grid_edges`): the
        roads walked and the legs between them and the cells."""
        parts: list[tuple[np.ndarray, ...]] = []
        if acc.n_nodes:
            assert self.roads is not None
            walkable = self.roads.edge_mask("walk")[acc.parent]
            su, sv, slen = acc.u[walkable], acc.v[walkable], acc.length_m[walkable]
            if mode == "distance":
                w = slen
            else:
                ws = float(self.walking_speed_kmh)
                if not (np.isfinite(ws) and ws > 0):
                    msg = f"walking speed {ws!r} km/h: must be a positive number"
                    raise ValidationError(msg)
                w = slen / (ws / 3.6)
            w = np.maximum(w, MIN_WEIGHT)
            parts.append((np.r_[su, sv] + base_road, np.r_[sv, su] + base_road, np.r_[w, w]))
            f, b = self._leg_arrays(mode, acc.cell_fwd, acc.cell_bwd, acc.cell_len)
            parts.append(
                (
                    np.r_[acc.cell + base_cell, acc.cell_node + base_road],
                    np.r_[acc.cell_node + base_road, acc.cell + base_cell],
                    np.r_[f, b],
                )
            )
        return parts

    def _point_legs(
        self,
        mode: str,
        acc: Access,
        base_cell: int,
        base_road: int,
        first_point: int,
        to_facility: bool,
    ) -> list[tuple[np.ndarray, ...]]:
        """Legs of villages (out of them) or facilities (into them) in one walking layer."""
        nv = len(self.villages)
        parts: list[tuple[np.ndarray, ...]] = []
        for pt, other, base, fwd, bwd, length in (
            (acc.pc_pt, acc.pc_cell, base_cell, acc.pc_fwd, acc.pc_bwd, acc.pc_len),
            (acc.pt, acc.pt_node, base_road, acc.pt_fwd, acc.pt_bwd, acc.pt_len),
        ):
            f, b = self._leg_arrays(mode, fwd, bwd, length)
            if to_facility:
                sel = pt >= nv
                # the walk ends at the facility: other -> point, the leg walked backwards
                parts.append((other[sel] + base, pt[sel] + first_point, b[sel]))
            else:
                sel = pt < nv
                parts.append((pt[sel] + first_point, other[sel] + base, f[sel]))
        return parts

    def graph(self, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The reversed CSR graph of ``mode`` (built once, then cached).

        ``walk`` and ``distance`` are one layer: the grid, the road nodes, the villages and
        the facilities. ``drive`` has three: walking from the village (the grid and the
        roads walked), in the vehicle (the road nodes), and walking to the facility (grid
        and roads again), joined by one-way changes: a drivable edge leads from the first
        layer into the vehicle, along the vehicle layer, and out of it into the last layer
        (or straight from the first to the last). So a trip walks, drives once and walks:
        it never leaves the car and drives on from somewhere else. The first layer also
        reaches the facility directly (a trip on foot).

        The cache is dropped when a setting the graph depends on (speeds, barriers, maximum
        slope...) changed since it was built.
        """
        from ynps_geo._kernels.csr import stack_rows

        gptr, gind, gw, bases, xptr, xind, xw = self._stacked(mode)  # checks the settings
        if mode not in self._graphs:
            self._graphs[mode] = stack_rows(len(xptr) - 1, gptr, gind, gw, bases, xptr, xind, xw)
        return self._graphs[mode]

    def node_count(self, mode: str) -> int:
        """Number of nodes of ``mode``'s graph (the length of a :meth:`search` row)."""
        *_, xptr, _, _ = self._stacked(mode)
        return len(xptr) - 1

    def _search_graph(self, mode: str) -> tuple[np.ndarray, ...]:
        """The graph whole searches of ``mode`` run on: :meth:`graph`, with the cells of
        each walking layer renumbered along a tiled Z-order curve
        (:func:`ynps_geo._kernels.csr.tiled_z_order`) and 32-bit heads.

        Searches with many sources settle cells all over the county at once; with cells
        close on the ground close in memory, their reads of each cell's neighbours hit
        the cache more often (a county's walking searches took 0.71-0.78 of the time).
        Every other node keeps its id: facilities, villages and road nodes are the same
        nodes in both numberings.

        Returns
        -------
        indptr, indices, weights, order
            ``order[new] = old``; built once and cached like :meth:`graph`.
        """
        from ynps_geo._kernels.csr import stack_rows_renumbered, tiled_z_order

        gptr, gind, gw, bases, xptr, xind, xw = self._stacked(mode)  # checks the settings
        if mode not in self._search_graphs:
            n, G = len(xptr) - 1, self.grid.size
            z = tiled_z_order(self.grid.height, self.grid.width)
            order = np.arange(n, dtype=np.int64)
            for b in bases:
                order[b : b + G] = z + b
            m = int(xptr[-1]) + len(bases) * int(gptr[-1])
            indices = np.empty(m, dtype=np.int32 if n < 2**31 else np.int64)
            indptr, weights = stack_rows_renumbered(
                n, gptr, gind, gw, bases, xptr, xind, xw, order, indices
            )
            self._search_graphs[mode] = (indptr, indices, weights, order)
        return self._search_graphs[mode]

    def _stacked(self, mode: str) -> tuple[np.ndarray, ...]:
        """The parts :meth:`graph` stacks: the grid's rows ``(gptr, gind, gw)``, where its
        copies go (``bases``, one per walking layer) and the other edges as CSR rows of the
        whole graph ``(xptr, xind, xw)``. The bounded searches and the road part's trace-back
        read these directly, so the three-layer graph is only built when asked for.

        The caches are dropped when a setting the graph depends on (speeds, barriers,
        maximum slope...) changed since they were built.
        """
        if mode not in MODES:
            msg = f"unknown travel mode {mode!r}; use one of {list(MODES)}"
            raise ValidationError(msg)
        key = self._settings_key()
        if key != self._graphs_key:
            self._graphs.clear()
            self._road_nodes.clear()
            self._grid_cache.clear()
            self._transposed.clear()
            self._search_graphs.clear()
            self._parts.clear()
            self._access = None
            self._graphs_key = key
        if mode not in self._parts:
            self._assemble(mode)
        bases, xptr, xind, xw = self._parts[mode]
        gptr, gind, gw = self._grid_edges("walk" if mode == "drive" else mode)
        return gptr, gind, gw, bases, xptr, xind, xw

    def _assemble(self, mode: str) -> None:
        acc = self.access()
        G, R = self.grid.size, acc.n_nodes
        nv, nf = len(self.villages), len(self.facilities)
        parts: list[tuple[np.ndarray, ...]] = []
        road_nodes = np.zeros(0, dtype=bool)
        bases = np.zeros(1, dtype=np.int64)  # where the grid's rows go, one per walking layer
        if mode != "drive" or not R:
            first_point = G + R
            n = first_point + nv + nf
            parts += self._walk_layer(mode, acc, 0, G)
            parts += self._point_legs(mode, acc, 0, G, first_point, False)
            parts += self._point_legs(mode, acc, 0, G, first_point, True)
            road_nodes = np.zeros(n, dtype=bool)
            road_nodes[G : G + R] = True
        else:
            # layers: walk out [0, G) + [G, G+R); vehicle [G+R, G+2R);
            # walk in [G+2R, 2G+2R) + [2G+2R, 2G+3R); then villages and facilities
            car, cell2, road2 = G + R, G + 2 * R, 2 * G + 2 * R
            bases = np.array([0, cell2], dtype=np.int64)
            first_point = 2 * G + 3 * R
            n = first_point + nv + nf
            parts += self._walk_layer("walk", acc, 0, G)
            parts += self._walk_layer("walk", acc, cell2, road2)
            parts += self._point_legs("walk", acc, 0, G, first_point, False)
            parts += self._point_legs("walk", acc, 0, G, first_point, True)
            parts += self._point_legs("walk", acc, cell2, road2, first_point, True)
            a, b, w = self._drive_edges(acc)
            for fa, fb in ((G, car), (car, car), (car, road2), (G, road2)):
                parts.append((a + fa, b + fb, w))
            road_nodes = np.zeros(n, dtype=bool)
            road_nodes[G : G + 2 * R] = True
            road_nodes[road2 : road2 + R] = True
        u = np.concatenate([p[0] for p in parts])
        v = np.concatenate([p[1] for p in parts])
        w = np.concatenate([p[2] for p in parts])
        ok = np.isfinite(w)
        # reversed: an edge a->b of the search carries the forward cost of b->a; the grid's
        # rows (one copy per walking layer) come first in each row (see :meth:`graph`)
        xptr, xind, xw = _coo_to_csr(n, v[ok], u[ok], w[ok])
        self._parts[mode] = (bases, xptr, xind, xw)
        self._road_nodes[mode] = road_nodes

    # ------------------------------------------------------------------ searching
    def search(
        self,
        mode: str,
        facility_sets: Sequence[np.ndarray],
        cutoff: float = np.inf,
        *,
        walked: Sequence[tuple[np.ndarray, np.ndarray] | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cost from every node to the nearest facility of each set.

        Parameters
        ----------
        mode : {"walk", "drive", "distance"}
        facility_sets : sequence of int arrays
            Facility row positions (0-based, into the engine's facilities), one array per set.
        cutoff : float
            Costs above this are ``inf``.
        walked : sequence, optional
            For ``drive``: per set, the ``(dist, nearest)`` row of a ``walk`` search of the
            same facilities with the same ``cutoff`` when one was made (``None`` where not).
            The drive search starts from it (see :mod:`ynps_geo._kernels.layers`), so the
            walking half of its work is shared.

        Returns
        -------
        dist : (k, n_nodes) float64
            Seconds (or metres for ``distance``); ``inf`` when unreachable.
        nearest : (k, n_nodes) int64
            Facility row position of the nearest facility (``-1`` when unreached).
        """
        from ynps_geo import kernels

        cutoff = kernels._check_cutoff(cutoff)
        sets_rows = self._facility_sets([(mode, s) for s in facility_sets])
        if mode == "drive" and self.access().n_nodes:
            dist, nearest_pos = self._drive_search(sets_rows, cutoff, walked)
        elif sets_rows:
            dist, nearest_pos = self._searched([mode] * len(sets_rows), sets_rows, cutoff)
        else:
            n = self.node_count(mode)
            return np.zeros((0, n)), np.zeros((0, n), dtype=np.int64)
        for i, s in enumerate(sets_rows):
            nearest_pos[i] = _facility_rows(s, nearest_pos[i])
        return dist, nearest_pos

    def search_batch(
        self, jobs: Sequence[tuple[str, np.ndarray]], cutoff: float = np.inf
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`search` of several ``(mode, facility_set)`` jobs at once, ``drive`` excepted.

        The jobs of every mode run in one parallel loop (walking and distance share the
        cores rather than running one after the other); each result equals
        :meth:`search` of its mode and set.

        Returns
        -------
        list of (dist, nearest)
            Per job, the rows :meth:`search` returns for one set.
        """
        modes = [m for m, _ in jobs]
        if "drive" in modes and self.access().n_nodes:
            msg = "search_batch does not take drive jobs; use search(..., walked=)"
            raise ValidationError(msg)
        sets_rows = self._facility_sets(jobs)
        if not jobs:
            return []
        dist, pos = self._searched(modes, sets_rows, cutoff)
        return [(dist[i], _facility_rows(s, pos[i])) for i, s in enumerate(sets_rows)]

    def _facility_sets(self, jobs: Sequence[tuple[str, ArrayLike]]) -> list[np.ndarray]:
        """Each job's facility rows as int64, checked to be rows of this engine."""
        from ynps_geo import kernels

        nf = len(self.facilities)
        return [kernels._validate_sources(f"facility set of a {m} job", s, nf) for m, s in jobs]

    def _searched(
        self, modes: Sequence[str], sets_rows: Sequence[np.ndarray], cutoff: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """One search per set on its mode's graph (not the layered ``drive``), all in one
        parallel loop: ``(k, n)`` costs and nearest positions in each set."""
        from ynps_geo import kernels
        from ynps_geo._kernels.dijkstra import multi_source_dijkstra_graphs

        cut = kernels._check_cutoff(cutoff)
        names = list(dict.fromkeys(modes))
        graphs = [self._search_graph(m) for m in names]
        # every one-layer graph holds the same nodes: cells, road nodes, villages, facilities
        # (the facilities keep their ids in the renumbered graphs)
        n = len(graphs[0][0]) - 1
        first = n - len(self.facilities)
        offsets = np.zeros(len(sets_rows) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(r) for r in sets_rows])
        return multi_source_dijkstra_graphs(
            tuple(g[0] for g in graphs),
            tuple(g[1] for g in graphs),
            tuple(g[2] for g in graphs),
            tuple(g[3] for g in graphs),
            np.array([names.index(m) for m in modes], dtype=np.int64),
            np.concatenate(sets_rows) + first,
            offsets,
            cut,
        )

    def _drive_search(
        self,
        sets_rows: list[np.ndarray],
        cutoff: float,
        walked: Sequence[tuple[np.ndarray, np.ndarray] | None] | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search` of ``drive`` phase by phase (equal to searching its graph)."""
        from ynps_geo._kernels.layers import drive_from_walk

        indptr, indices, weights, order = self._search_graph("walk")
        nw = len(indptr) - 1
        given = list(walked) if walked is not None else [None] * len(sets_rows)
        if len(given) != len(sets_rows):
            msg = f"walked has {len(given)} entries for {len(sets_rows)} facility sets"
            raise ValidationError(msg)
        todo = [i for i, w in enumerate(given) if w is None]
        walk_d = np.empty((len(sets_rows), nw), dtype=np.float64)
        walk_n = np.empty((len(sets_rows), nw), dtype=np.int64)
        if todo:
            d, q = self._searched(["walk"] * len(todo), [sets_rows[i] for i in todo], cutoff)
            walk_d[todo] = d
            walk_n[todo] = q
            del d, q
        for i, w in enumerate(given):
            if w is None:
                continue
            s = sets_rows[i]
            d_row, rows = np.asarray(w[0], dtype=np.float64), np.asarray(w[1], dtype=np.int64)
            if d_row.shape != (nw,) or rows.shape != (nw,):
                msg = f"walked[{i}] does not belong to this engine's walking graph"
                raise ValidationError(msg)
            # facility row -> position in the set (the first of duplicates); -1 stays -1
            pos_of = np.full(len(self.facilities) + 1, -1, dtype=np.int64)
            pos_of[s[::-1]] = np.arange(len(s) - 1, -1, -1, dtype=np.int64)
            walk_d[i] = d_row
            walk_n[i] = pos_of[rows]
        cptr, cind, cw = self._vehicle_graph()
        return drive_from_walk(
            indptr,
            indices,
            weights,
            cptr,
            cind,
            cw,
            walk_d,
            walk_n,
            self.grid.size,
            float(cutoff),
            order,
        )

    def _vehicle_graph(self) -> CSR:
        """The drivable edges on the road nodes, reversed (row ``b``: the ``a`` of each
        drivable ``a -> b``), weighted by driving time; cached with the graphs."""
        self._stacked("walk")  # drops the caches when a setting changed
        if "vehicle" not in self._graphs:
            acc = self.access()
            assert self.roads is not None
            a, b, w = self._drive_edges(acc)
            self._graphs["vehicle"] = _coo_to_csr(acc.n_nodes, b, a, w)
        return self._graphs["vehicle"]

    def _drive_edges(self, acc: Access) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Drivable edges ``a -> b`` between road nodes (both ways unless one-way) and
        their driving seconds."""
        assert self.roads is not None
        em = self.roads.edge_mask("drive")[acc.parent]
        spd = self.roads.speed_kmh[acc.parent][em]
        du, dv = acc.u[em], acc.v[em]
        dw = np.maximum(acc.length_m[em] / (spd / 3.6), MIN_WEIGHT)
        back = ~self.roads.oneway[acc.parent][em]
        return np.r_[du, dv[back]], np.r_[dv, du[back]], np.r_[dw, dw[back]]

    def search_local(
        self,
        mode: str,
        facility_sets: Sequence[np.ndarray],
        cutoff: float,
        part: str = "cells",
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bounded searches whose cost follows what they reach: the reached cells (or
        villages) of each facility set, as compressed rows.

        Equal to :meth:`search` with the same ``cutoff`` restricted to the reached entries
        (the same arithmetic), but a search touching a thousand nodes costs a thousand nodes,
        not the size of the graph: this is the search for per-facility isochrones and
        catchments. The sets run on numba's threads.

        Parameters
        ----------
        mode : {"walk", "drive", "distance"}
        facility_sets : sequence of int arrays
            Facility row positions, one array per set.
        cutoff : float
            Inclusive cost limit (finite).
        part : {"cells", "villages"}
            Which nodes to report: grid cells (flat cell index) or villages (row position).

        Returns
        -------
        rowptr : (k + 1,) int64
            Set ``j``'s entries are ``[rowptr[j], rowptr[j + 1])``.
        index : int64
            Flat cell index or village position of each entry.
        dist : float64
            Cost of each entry (seconds or metres).
        """
        from concurrent.futures import ThreadPoolExecutor

        import numba

        from ynps_geo._kernels.local import local_searches_stacked

        gptr, gind, gw, bases, xptr, xind, xw = self._stacked(mode)
        first = len(xptr) - 1 - len(self.facilities)
        if part == "cells":
            lo, hi = 0, self.grid.size
        elif part == "villages":
            lo = first - len(self.villages)
            hi = first
        else:
            msg = f"part must be 'cells' or 'villages', got {part!r}"
            raise ValidationError(msg)
        sets = [np.asarray(s, dtype=np.int64) + first for s in facility_sets]
        k = len(sets)
        threads = max(1, min(numba.get_num_threads(), k))
        bounds = np.linspace(0, k, threads + 1).astype(int)

        def run(a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            chunk = sets[a:b]
            offs = np.zeros(len(chunk) + 1, dtype=np.int64)
            offs[1:] = np.cumsum([len(c) for c in chunk])
            flat = np.concatenate(chunk) if chunk else np.zeros(0, dtype=np.int64)
            return local_searches_stacked(
                gptr, gind, gw, bases, xptr, xind, xw, flat, offs, float(cutoff), lo, hi
            )

        if threads == 1:
            parts = [run(0, k)]
        else:
            with ThreadPoolExecutor(threads) as pool:
                parts = list(pool.map(run, bounds[:-1], bounds[1:]))
        rowptr = np.zeros(k + 1, dtype=np.int64)
        done = 0
        for (rp, _, _), a in zip(parts, bounds[:-1], strict=True):
            counts = np.diff(rp)
            rowptr[a + 1 : a + 1 + len(counts)] = done + np.cumsum(counts)
            done += int(rp[-1])
        index = np.concatenate([p[1] for p in parts]) - lo
        dist = np.concatenate([p[2] for p in parts])
        return rowptr, index, dist

    def village_matrix(self, mode: str, facility_rows: np.ndarray, cutoff: float) -> np.ndarray:
        """Cost from every village to each facility within ``cutoff``: ``(k, n_villages)``,
        ``inf`` beyond it (bounded searches, :meth:`search_local`)."""
        rows = np.asarray(facility_rows, dtype=np.int64)
        rowptr, index, dist = self.search_local(
            mode, [rows[i : i + 1] for i in range(len(rows))], cutoff, part="villages"
        )
        out = np.full((len(rows), len(self.villages)), np.inf)
        which = np.repeat(np.arange(len(rows)), np.diff(rowptr))
        out[which, index] = dist
        return out

    def road_part_at(self, mode: str, dist: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Cost spent on road-network edges along the shortest trip of each of ``nodes``.

        The trip is traced back from the node along the shortest-path tree of the search
        (an edge ``a -> b`` of the search is on it when ``dist[a] + w == dist[b]``, which
        holds exactly because the kernel computed ``dist[b]`` that way; between several,
        the first in the graph's order). An edge joining two road nodes (of any layer) is
        road; the rest of the trip is off-road walking (terrain and the legs to and from the
        road).

        Parameters
        ----------
        mode : str
            The mode the distances were searched in.
        dist : (n_nodes,) float array
            One row of :meth:`search`'s ``dist``.
        nodes : int array
            Node ids (e.g. the villages', see :meth:`village_nodes`).

        Returns
        -------
        float64 array like ``nodes``
            Road cost per node (0 where the trip uses no road; ``nan`` where unreached).
        """
        from ynps_geo._kernels.local import road_cost_stacked, transpose

        gptr, gind, gw, bases, xptr, xind, xw = self._stacked(mode)
        # the grid's edges into a cell are read from its neighbours' rows: only the other
        # edges (roads, legs, changes) are transposed, not the whole graph
        if mode not in self._transposed:
            self._transposed[mode] = transpose(xptr, xind, xw)
        tptr, tind, tw = self._transposed[mode]
        return road_cost_stacked(
            gptr,
            gind,
            gw,
            bases,
            tptr,
            tind,
            tw,
            np.ascontiguousarray(dist, dtype=np.float64),
            self._road_nodes[mode],
            np.ascontiguousarray(nodes, dtype=np.int64),
        )

    def road_part(self, mode: str, dist: np.ndarray) -> np.ndarray:
        """Cost spent on road-network edges along each node's shortest trip, for every node.

        Vectorised over the whole graph (:meth:`road_part_at` traces only the nodes asked).

        The shortest-path tree is recovered from the distances (an edge ``a -> b`` of the
        search is a tree edge when ``dist[a] + w == dist[b]``, which holds exactly because the
        kernel computed ``dist[b]`` that way), then road costs are summed from each node back
        to its facility by pointer jumping (log-depth, vectorised). The rest of the trip is
        off-road walking (terrain and the legs to and from the road).

        Parameters
        ----------
        mode : str
            The mode the distances were searched in.
        dist : (n_nodes,) float array
            One row of :meth:`search`'s ``dist``.

        Returns
        -------
        (n_nodes,) float64
            Road cost per node (0 where the trip uses no road; ``nan`` where unreached).
        """
        indptr, indices, weights = self.graph(mode)
        n = len(indptr) - 1
        a = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
        b = np.asarray(indices, dtype=np.int64)
        da, db = dist[a], dist[b]
        tree = np.isfinite(da) & (da + weights == db) & (a != b)
        # one tree edge per node, chosen explicitly (ties: the first in CSR order), so that the
        # road cost below always belongs to the predecessor kept. Edges that gain distance
        # come first: they cannot close a cycle. Nodes reached only by zero-cost edges (a
        # road node at its cell's centre) take them breadth-first from nodes already placed,
        # so that two zero-cost edges between the same nodes never point at each other.
        edge = np.full(n, -1, dtype=np.int64)
        gain = np.flatnonzero(tree & (da < db))
        nodes, first = np.unique(b[gain], return_index=True)
        edge[nodes] = gain[first]
        flat = np.flatnonzero(tree & (da == db))
        if flat.size:
            placed = edge >= 0
            roots = np.ones(n, dtype=bool)
            roots[b[tree]] = False  # sources: no tree edge leads into them
            placed |= roots
            while flat.size:
                ready = flat[placed[a[flat]] & ~placed[b[flat]]]
                if not ready.size:
                    break
                nodes, first = np.unique(b[ready], return_index=True)
                edge[nodes] = ready[first]
                placed[nodes] = True
                flat = flat[~placed[b[flat]]]
        has = edge >= 0
        pred = np.full(n, -1, dtype=np.int64)
        pred[has] = a[edge[has]]
        # a road edge joins two road nodes (of any layer)
        is_road = self._road_nodes[mode]
        on_road = has & is_road & is_road[np.maximum(pred, 0)]
        acc = np.zeros(n, dtype=np.float64)
        acc[on_road] = weights[edge[on_road]]
        # pointer jumping: after round i each node holds the road cost of its last 2**i edges
        anc = pred
        while True:
            live = anc >= 0
            if not live.any():
                break
            acc[live] += acc[anc[live]]
            nxt = np.full(n, -1, dtype=np.int64)
            nxt[live] = anc[anc[live]]
            anc = nxt
        acc[~np.isfinite(dist)] = np.nan
        return acc

    def village_nodes(self, mode: str) -> np.ndarray:
        """Node ids of the villages in ``mode``'s graph."""
        xptr = self._stacked(mode)[4]  # one row per node of the mode's graph
        a = len(xptr) - 1 - len(self.facilities) - len(self.villages)
        return np.arange(a, a + len(self.villages), dtype=np.int64)

    def village_values(self, arr: np.ndarray) -> np.ndarray:
        """Columns of ``arr`` (k, n_nodes) at the village nodes."""
        a = arr.shape[-1] - len(self.facilities) - len(self.villages)
        return arr[..., a : a + len(self.villages)]

    def cell_values(self, arr: np.ndarray) -> np.ndarray:
        """Columns of ``arr`` (k, n_nodes) at the grid cells, reshaped to (k, H, W)."""
        return arr[..., : self.grid.size].reshape(arr.shape[:-1] + self.grid.shape)


#: Points closer than this along an edge (metres) share one virtual node; within this of
#: an end they use the end node.
SPLIT_MERGE_M = 0.5


def _project(
    px: np.ndarray, py: np.ndarray, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray
) -> np.ndarray:
    """Position (0..1) of the nearest point of each segment ``a-b`` to each point ``p``."""
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    safe = np.where(l2 > 0, l2, 1.0)
    t = np.where(l2 > 0, ((px - ax) * dx + (py - ay) * dy) / safe, 0.0)
    return np.clip(t, 0.0, 1.0)


def _split_edges(
    n_orig: int,
    rx: np.ndarray,
    ry: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    length_m: np.ndarray,
    seg_len: np.ndarray,
    split_e: np.ndarray,
    split_t: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Cut edges at positions ``split_t`` (0..1) of edges ``split_e``.

    Returns
    -------
    node_of : int array
        The node at each requested position (an end node or a new virtual node).
    x, y : float arrays
        Coordinates of all nodes, the original ones first.
    u, v, length_m, parent : arrays
        The split edges (same direction as their parent), their lengths (the parent's
        length shared by position, so the pieces add up to it) and the parent edge.
    """
    m = len(eu)
    s_m = split_t * seg_len[split_e]
    at_u = s_m <= SPLIT_MERGE_M
    at_v = ~at_u & (seg_len[split_e] - s_m <= SPLIT_MERGE_M)
    node_of = np.empty(len(split_e), dtype=np.int64)
    node_of[at_u] = eu[split_e[at_u]]
    node_of[at_v] = ev[split_e[at_v]]
    idx = np.flatnonzero(~(at_u | at_v))
    idx = idx[np.lexsort((s_m[idx], split_e[idx]))]
    e_s, sm = split_e[idx], s_m[idx]
    new = np.r_[True, (e_s[1:] != e_s[:-1]) | (np.diff(sm) > SPLIT_MERGE_M)] if idx.size else idx
    gid = np.cumsum(new) - 1
    node_of[idx] = n_orig + gid
    head = idx[np.asarray(new, dtype=bool)]
    tv, pe = split_t[head], split_e[head]
    x = np.r_[rx, rx[eu[pe]] + tv * (rx[ev[pe]] - rx[eu[pe]])]
    y = np.r_[ry, ry[eu[pe]] + tv * (ry[ev[pe]] - ry[eu[pe]])]
    ar = np.arange(m, dtype=np.int64)
    be = np.r_[ar, ar, pe]
    bt = np.r_[np.zeros(m), np.ones(m), tv]
    bn = np.r_[eu, ev, n_orig + np.arange(len(pe), dtype=np.int64)]
    order = np.lexsort((bt, be))
    be, bt, bn = be[order], bt[order], bn[order]
    same = be[1:] == be[:-1]
    parent = be[:-1][same]
    su, sv = bn[:-1][same], bn[1:][same]
    slen = np.diff(bt)[same] * length_m[parent]
    return node_of, x, y, su, sv, slen, parent
