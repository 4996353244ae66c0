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

if TYPE_CHECKING:
    from ynps_geo.network import RoadNetwork

MODES = ("walk", "drive", "distance")
CSR = tuple[np.ndarray, np.ndarray, np.ndarray]


def _coo_to_csr(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> CSR:
    order = np.lexsort((v, u))
    u, v, w = u[order], v[order], w[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
    return indptr, v.astype(np.int64), w.astype(np.float64)


def _csr_to_coo(
    indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, ...]:
    n = len(indptr) - 1
    u = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    return u, np.asarray(indices, dtype=np.int64), np.asarray(weights, dtype=np.float64)


@dataclass
class Points:
    """Points joined to the graph: villages (targets) or facilities (sources)."""

    x: np.ndarray
    y: np.ndarray
    first_node: int = -1

    def __len__(self) -> int:
        return len(self.x)


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
    connector_k: int = 3
    barrier: np.ndarray | None = None
    max_slope_deg: float | None = None
    _graphs: dict[str, CSR] = field(default_factory=dict)
    _graphs_key: tuple[object, ...] = ()
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
        n_roads = 0 if roads is None else int(roads.n_nodes)
        villages = Points(np.asarray(village_xy[0], float), np.asarray(village_xy[1], float))
        facilities = Points(np.asarray(facility_xy[0], float), np.asarray(facility_xy[1], float))
        villages.first_node = grid.size + n_roads
        facilities.first_node = villages.first_node + len(villages)
        eng = cls(
            grid, np.asarray(dem, dtype=np.float64), roads, villages, facilities, connectivity
        )
        if roads is not None and n_roads:
            from pyproj import Transformer

            tr = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
            rx, ry = tr.transform(roads.lon, roads.lat)
            eng._road_xy = (np.asarray(rx, float), np.asarray(ry, float))
        return eng

    @property
    def n_nodes(self) -> int:
        """Number of graph nodes: cells, road nodes, villages, facilities."""
        return self.facilities.first_node + len(self.facilities)

    @property
    def n_road_nodes(self) -> int:
        """Number of road nodes."""
        return 0 if self._road_xy is None else len(self._road_xy[0])

    def _offroad_mps(self) -> float:
        """Off-road walking speed on flat ground (Tobler at slope 0 times the off-path factor)."""
        return 6.0 * np.exp(-3.5 * 0.05) * self.offroad_factor / 3.6

    def _grid_edges(self, mode: str) -> tuple[np.ndarray, ...]:
        """Forward edges between grid cells: seconds of walking, or metres."""
        from ynps_geo import terrain

        res = self.grid.res
        indptr, indices, w = terrain.walking_graph(
            self.dem,
            res,
            res,
            connectivity=self.connectivity,
            offpath_factor=self.offroad_factor,
            barrier=self.barrier,
            max_slope_deg=self.max_slope_deg,
        )
        u, v, w = _csr_to_coo(indptr, indices, w)
        if mode == "distance":
            # the same steps (barriers and cliffs respected), weighted by horizontal length
            width = self.grid.width
            dr = u // width - v // width
            dc = u % width - v % width
            w = res * np.hypot(dr, dc)
        return u, v, w

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

    def _leg_cost(self, d_m: np.ndarray, mode: str) -> np.ndarray:
        if mode == "distance":
            return d_m
        return d_m / self._offroad_mps()

    def _road_edges(self, mode: str) -> tuple[np.ndarray, ...]:
        roads = self.roads
        base = self.grid.size
        if roads is None or self._road_xy is None:
            e = np.zeros(0, dtype=np.int64)
            return e, e, np.zeros(0)
        if mode == "distance":
            ip, ix, w = roads.to_csr(mode="walk", weight="length")
        elif mode == "walk":
            ip, ix, w = roads.to_csr(
                mode="walk", weight="time", walking_speed_kmh=self.walking_speed_kmh
            )
        else:
            ipd, ixd, wd = roads.to_csr(mode="drive", weight="time")
            ipw, ixw, ww = roads.to_csr(
                mode="walk", weight="time", walking_speed_kmh=self.walking_speed_kmh
            )
            ud, vd, wd = _csr_to_coo(ipd, ixd, wd)
            uw, vw, ww = _csr_to_coo(ipw, ixw, ww)
            u = np.concatenate([ud, uw])
            v = np.concatenate([vd, vw])
            w = np.concatenate([wd, ww])
            return u + base, v + base, w
        u, v, w = _csr_to_coo(ip, ix, w)
        return u + base, v + base, w

    def _link_edges(self, mode: str) -> tuple[np.ndarray, ...]:
        """Road node <-> its cell, and village/facility legs (forward direction)."""
        us: list[np.ndarray] = []
        vs: list[np.ndarray] = []
        ws: list[np.ndarray] = []
        g = self.grid
        tree = None
        if self._road_xy is not None:
            rx, ry = self._road_xy
            cell = self._cell_of(rx, ry)
            ok = cell >= 0
            r_idx = np.nonzero(ok)[0]
            cx, cy = g.centres(cell[ok] // g.width, cell[ok] % g.width)
            cost = self._leg_cost(np.hypot(rx[ok] - cx, ry[ok] - cy), mode)
            nodes = r_idx + g.size
            us += [nodes, cell[ok]]
            vs += [cell[ok], nodes]
            ws += [cost, cost]
            if len(rx):
                from scipy.spatial import cKDTree

                tree = cKDTree(np.column_stack([rx, ry]))
        for pts, outgoing in ((self.villages, True), (self.facilities, False)):
            if not len(pts):
                continue
            ids = np.arange(len(pts), dtype=np.int64) + pts.first_node
            cell = self._snap_cells(pts.x, pts.y)
            ok = cell >= 0
            cx, cy = g.centres(cell[ok] // g.width, cell[ok] % g.width)
            cost = self._leg_cost(np.hypot(pts.x[ok] - cx, pts.y[ok] - cy), mode)
            a, b = (ids[ok], cell[ok]) if outgoing else (cell[ok], ids[ok])
            us.append(a)
            vs.append(b)
            ws.append(cost)
            if tree is not None:
                k = min(self.connector_k, tree.n)
                dist, idx = tree.query(np.column_stack([pts.x, pts.y]), k=k)
                dist = np.asarray(dist).reshape(len(pts), -1)
                idx = np.asarray(idx).reshape(len(pts), -1)
                near = dist <= max(2.0 * g.res, 1.0)
                # a point with no passable cell (outside the grid) walks straight to its
                # nearest road node, however far; the others reach farther roads over the
                # terrain, which respects slopes and barriers
                near[:, 0] |= ~ok
                rows = np.repeat(ids, idx.shape[1]).reshape(idx.shape)[near]
                rn = idx[near] + g.size
                c = self._leg_cost(dist[near], mode)
                a, b = (rows, rn) if outgoing else (rn, rows)
                us.append(a)
                vs.append(b)
                ws.append(c)
        if not us:
            e = np.zeros(0, dtype=np.int64)
            return e, e, np.zeros(0)
        return np.concatenate(us), np.concatenate(vs), np.concatenate(ws)

    def _settings_key(self) -> tuple[object, ...]:
        """What a built graph depends on besides the inputs (settable after :meth:`build`)."""
        barrier = None
        if self.barrier is not None:
            barrier = hashlib.blake2b(np.packbits(self.barrier).tobytes()).hexdigest()
        return (
            self.connectivity,
            self.walking_speed_kmh,
            self.offroad_factor,
            self.max_slope_deg,
            self.connector_k,
            barrier,
        )

    def graph(self, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The reversed CSR graph of ``mode`` (built once, then cached).

        The cache is dropped when a setting the graph depends on (speeds, barriers, maximum
        slope...) changed since it was built.
        """
        if mode not in MODES:
            msg = f"unknown travel mode {mode!r}; use one of {list(MODES)}"
            raise ValidationError(msg)
        key = self._settings_key()
        if key != self._graphs_key:
            self._graphs.clear()
            self._graphs_key = key
        if mode not in self._graphs:
            parts = [self._grid_edges(mode), self._road_edges(mode), self._link_edges(mode)]
            u = np.concatenate([p[0] for p in parts])
            v = np.concatenate([p[1] for p in parts])
            w = np.concatenate([p[2] for p in parts])
            ok = np.isfinite(w)
            # reversed: an edge a->b of the search carries the forward cost of b->a
            self._graphs[mode] = _coo_to_csr(self.n_nodes, v[ok], u[ok], w[ok])
        return self._graphs[mode]

    # ------------------------------------------------------------------ searching
    def search(
        self, mode: str, facility_sets: Sequence[np.ndarray], cutoff: float = np.inf
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cost from every node to the nearest facility of each set.

        Parameters
        ----------
        mode : {"walk", "drive", "distance"}
        facility_sets : sequence of int arrays
            Facility row positions (0-based, into the engine's facilities), one array per set.
        cutoff : float
            Costs above this are ``inf``.

        Returns
        -------
        dist : (k, n_nodes) float64
            Seconds (or metres for ``distance``); ``inf`` when unreachable.
        nearest : (k, n_nodes) int64
            Facility row position of the nearest facility (``-1`` when unreached).
        """
        from ynps_geo import kernels

        indptr, indices, weights = self.graph(mode)
        sets = [np.asarray(s, dtype=np.int64) + self.facilities.first_node for s in facility_sets]
        dist, nearest_pos = kernels.multi_source_dijkstra_many(
            indptr, indices, weights, sets, cutoff
        )
        for i, s in enumerate(facility_sets):
            # position in the set -> facility row; -1 (unreached) picks the appended -1
            lut = np.append(np.asarray(s, dtype=np.int64), -1)
            nearest_pos[i] = lut[nearest_pos[i]]
        return dist, nearest_pos

    def road_part(self, mode: str, dist: np.ndarray) -> np.ndarray:
        """Cost spent on road-network edges along each node's shortest trip.

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
        # a road edge joins two road nodes
        lo, hi = self.grid.size, self.grid.size + self.n_road_nodes
        on_road = (pred >= lo) & (pred < hi)
        on_road[:lo] = False
        on_road[hi:] = False
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

    def village_values(self, arr: np.ndarray) -> np.ndarray:
        """Columns of ``arr`` (k, n_nodes) at the village nodes."""
        a = self.villages.first_node
        return arr[..., a : a + len(self.villages)]

    def cell_values(self, arr: np.ndarray) -> np.ndarray:
        """Columns of ``arr`` (k, n_nodes) at the grid cells, reshaped to (k, H, W)."""
        return arr[..., : self.grid.size].reshape(arr.shape[:-1] + self.grid.shape)
