"""The road network as arrays: the representation every travel-time engine uses.

Topology rule: nodes are source nodes (OSM nodes, GraphML nodes, or line vertices joined
where they coincide). Every vertex of a way is a node and consecutive vertices make an
edge, so a bridge or tunnel that crosses another road without a shared node is *not* a
junction. Nothing here merges distinct nodes that happen to lie at the same place.

Edges are stored once, in the direction they were digitised; ``oneway`` says whether
driving against that direction is forbidden. :meth:`RoadNetwork.to_csr` builds the
directed graph of a travel mode as compressed sparse rows for
:mod:`scipy.sparse.csgraph`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from ynps_geo._geo import haversine_m, utm_epsg
from ynps_geo.errors import ValidationError
from ynps_geo.model.modes import (
    NO_WALK_CLASSES,
    WALK_ONLY_CLASSES,
    TravelMode,
    default_walking_speed_kmh,
    parse_mode,
    road_speeds,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["MIN_WEIGHT", "RoadNetwork", "class_mask", "default_speeds", "nearest_nodes"]

#: Smallest weight stored in a CSR graph (seconds or metres). Segments between distinct
#: nodes at the same place get it, so that no stored edge has weight 0 (some sparse
#: tools drop explicit zeros).
MIN_WEIGHT = 1e-6

Weight = Literal["time", "length"]


def class_mask(highway: np.ndarray, classes: frozenset[str]) -> np.ndarray:
    """Edges whose road class is in ``classes`` (bool, one lookup per distinct class)."""
    if highway.size == 0:
        return np.zeros(0, dtype=bool)
    uniq, inv = np.unique(highway.astype(str), return_inverse=True)
    hit = np.array([c in classes for c in uniq], dtype=bool)
    return hit[inv]


@dataclass(eq=False)
class RoadNetwork:
    """Road network as node and edge arrays (EPSG:4326).

    Attributes
    ----------
    lon, lat : numpy.ndarray
        float64 (n,) node coordinates in degrees.
    node_id : numpy.ndarray
        int64 (n,) source ids (OSM node ids, or generated 0..n-1).
    u, v : numpy.ndarray
        int64 (m,) edge start and end, indices into the node arrays.
    length_m : numpy.ndarray
        float64 (m,) edge length in metres.
    highway : numpy.ndarray
        object (m,) road class (OSM ``highway`` value).
    speed_kmh : numpy.ndarray
        float64 (m,) driving speed: ``maxspeed`` if tagged, else the class default. NaN
        for edges that may not be driven (walk-only classes, ``access=no/private``).
    oneway : numpy.ndarray
        bool (m,) True: driving only from ``u`` to ``v``.
    name : str
        Where the network came from, for messages.
    grade_separated : numpy.ndarray
        bool (m,) True for edges of ways that do not touch the ground between their ends
        (OSM ``bridge``, ``tunnel``, ``covered`` or a ``layer`` other than 0): the terrain
        reaches them only at their ends. Default all False.
    """

    lon: np.ndarray
    lat: np.ndarray
    node_id: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    highway: np.ndarray
    speed_kmh: np.ndarray
    oneway: np.ndarray
    name: str = ""
    grade_separated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    _trees: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.lon = np.ascontiguousarray(self.lon, dtype=np.float64)
        self.lat = np.ascontiguousarray(self.lat, dtype=np.float64)
        self.node_id = np.ascontiguousarray(self.node_id, dtype=np.int64)
        self.u = np.ascontiguousarray(self.u, dtype=np.int64)
        self.v = np.ascontiguousarray(self.v, dtype=np.int64)
        self.length_m = np.ascontiguousarray(self.length_m, dtype=np.float64)
        self.highway = np.asarray(self.highway, dtype=object)
        self.speed_kmh = np.ascontiguousarray(self.speed_kmh, dtype=np.float64)
        self.oneway = np.ascontiguousarray(self.oneway, dtype=bool)
        n, m = self.lon.shape[0], self.u.shape[0]
        gs = np.ascontiguousarray(self.grade_separated, dtype=bool)
        self.grade_separated = np.zeros(m, dtype=bool) if gs.size == 0 and m else gs
        bad = [
            label
            for label, arr, size in (
                ("lat", self.lat, n),
                ("node_id", self.node_id, n),
                ("v", self.v, m),
                ("length_m", self.length_m, m),
                ("highway", self.highway, m),
                ("speed_kmh", self.speed_kmh, m),
                ("oneway", self.oneway, m),
                ("grade_separated", self.grade_separated, m),
            )
            if arr.shape != (size,)
        ]
        if bad:
            msg = (
                f"road network {self.name or '(unnamed)'}: arrays {bad} do not match "
                f"{n} nodes / {m} edges; fix: give node arrays of length n and edge arrays "
                "of length m"
            )
            raise ValidationError(msg)
        if m and (self.u.min() < 0 or self.v.min() < 0 or max(self.u.max(), self.v.max()) >= n):
            msg = (
                f"road network {self.name or '(unnamed)'}: edge ends u/v must be node "
                f"indices in [0, {n}); fix: index into the node arrays"
            )
            raise ValidationError(msg)

    # ------------------------------------------------------------------ basics
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.lon.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of stored edges (each once, in digitised direction)."""
        return int(self.u.shape[0])

    def __repr__(self) -> str:
        return f"RoadNetwork({self.name!r}, {self.n_nodes} nodes, {self.n_edges} edges)"

    @classmethod
    def from_edges(
        cls,
        lon: ArrayLike,
        lat: ArrayLike,
        u: ArrayLike,
        v: ArrayLike,
        *,
        node_id: ArrayLike | None = None,
        length_m: ArrayLike | None = None,
        highway: ArrayLike | str | None = None,
        speed_kmh: ArrayLike | None = None,
        oneway: ArrayLike | bool | None = None,
        speeds: dict[str, float] | None = None,
        name: str = "",
        grade_separated: ArrayLike | None = None,
    ) -> RoadNetwork:
        """Build a network from node coordinates and edge index pairs, filling defaults.

        Parameters
        ----------
        lon, lat : array_like
            Node coordinates in degrees (EPSG:4326).
        u, v : array_like
            Edge ends as node indices.
        node_id : array_like, optional
            Source node ids; default ``0..n-1``.
        length_m : array_like, optional
            Edge lengths; default great-circle distance between the ends. NaN entries
            are also filled.
        highway : array_like or str, optional
            Road class per edge or one for all; default ``"road"``.
        speed_kmh : array_like, optional
            Driving speed per edge (already the speed to drive at, not a limit); NaN
            entries get the class default (walk-only classes stay NaN).
        oneway : array_like or bool, optional
            Default False.
        speeds : dict, optional
            Class speed overrides, see :func:`ynps_geo.model.modes.road_speeds`.
        name : str
            Source description.
        grade_separated : array_like of bool, optional
            Bridges, tunnels and other edges off the ground (see the class); default False.

        Returns
        -------
        RoadNetwork
        """
        lon_a = np.asarray(lon, dtype=np.float64)
        lat_a = np.asarray(lat, dtype=np.float64)
        u_a = np.asarray(u, dtype=np.int64)
        v_a = np.asarray(v, dtype=np.int64)
        n, m = lon_a.shape[0], u_a.shape[0]
        nid = np.arange(n, dtype=np.int64) if node_id is None else np.asarray(node_id)
        if highway is None or isinstance(highway, str):
            hw = np.full(m, highway or "road", dtype=object)
        else:
            hw = np.asarray(highway, dtype=object)
        if u_a.shape != v_a.shape or hw.shape != (m,):
            msg = f"road network {name or '(unnamed)'}: u, v and highway differ in length"
            raise ValidationError(msg)
        if m and (u_a.min() < 0 or v_a.min() < 0 or max(u_a.max(), v_a.max()) >= n):
            msg = (
                f"road network {name or '(unnamed)'}: edge ends u/v must be node indices "
                f"in [0, {n}); fix: index into the node arrays"
            )
            raise ValidationError(msg)
        geo = haversine_m(lon_a[u_a], lat_a[u_a], lon_a[v_a], lat_a[v_a])
        if length_m is None:
            length = geo
        else:
            length = np.asarray(length_m, dtype=np.float64).copy()
            miss = ~np.isfinite(length)
            length[miss] = geo[miss]
        spd = default_speeds(hw, speeds)
        if speed_kmh is not None:
            given = np.asarray(speed_kmh, dtype=np.float64)
            ok = np.isfinite(given) & (given > 0)
            spd = np.where(ok, given, spd)
        spd[class_mask(hw, WALK_ONLY_CLASSES)] = np.nan
        if oneway is None or isinstance(oneway, bool | np.bool_):
            ow = np.full(m, bool(oneway), dtype=bool)
        else:
            ow = np.asarray(oneway, dtype=bool)
        gs = np.zeros(m, dtype=bool) if grade_separated is None else grade_separated
        return cls(
            lon_a,
            lat_a,
            nid,
            u_a,
            v_a,
            length,
            hw,
            spd,
            ow,
            name=name,
            grade_separated=np.asarray(gs, dtype=bool),
        )

    # ------------------------------------------------------------- mode masks
    def edge_mask(self, mode: str | TravelMode = "drive") -> np.ndarray:
        """Edges usable by ``mode`` (bool (m,)).

        Drive: not a walk-only class and a finite positive speed (``access=no`` roads
        carry NaN speed). Walk: every class except :data:`NO_WALK_CLASSES`.
        """
        tm = parse_mode(mode)
        if tm is TravelMode.DRIVE:
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(self.speed_kmh) & (self.speed_kmh > 0)
            return ok & ~class_mask(self.highway, WALK_ONLY_CLASSES)
        return ~class_mask(self.highway, NO_WALK_CLASSES)

    def node_mask(self, mode: str | TravelMode | None = None) -> np.ndarray:
        """Nodes at an end of at least one edge usable by ``mode`` (any edge if None)."""
        mask = np.zeros(self.n_nodes, dtype=bool)
        em = np.ones(self.n_edges, dtype=bool) if mode is None else self.edge_mask(mode)
        mask[self.u[em]] = True
        mask[self.v[em]] = True
        return mask

    # -------------------------------------------------------------------- CSR
    def to_csr(
        self,
        mode: str | TravelMode = "drive",
        weight: Weight = "time",
        reverse: bool = False,
        walking_speed_kmh: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Directed graph of ``mode`` as compressed sparse rows.

        Parameters
        ----------
        mode : {"drive", "walk"}
            Drive: walk-only classes and undrivable edges excluded, ``oneway`` respected,
            time at ``speed_kmh``. Walk: every walkable class in both directions at
            ``walking_speed_kmh``.
        weight : {"time", "length"}
            Seconds or metres.
        reverse : bool
            Transpose the graph: a search from facilities then gives the time from each
            node *to* the facility.
        walking_speed_kmh : float, optional
            Default ``ynps_geo.settings.walking_speed_kmh``.

        Returns
        -------
        indptr : numpy.ndarray
            int64 (n + 1,).
        indices : numpy.ndarray
            int64 (k,) column (target node) of each arc.
        weights : numpy.ndarray
            float64 (k,), at least :data:`MIN_WEIGHT`. Parallel arcs are reduced to the
            lightest, self-loops are dropped.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> indptr, indices, w = net.to_csr("drive")  # doctest: +SKIP
        >>> graph = sp.csr_matrix((w, indices, indptr), shape=(net.n_nodes,) * 2)  # doctest: +SKIP
        """
        tm = parse_mode(mode)
        if weight not in ("time", "length"):
            msg = f"unknown weight {weight!r}: use 'time' (seconds) or 'length' (metres)"
            raise ValidationError(msg)
        em = self.edge_mask(tm)
        u, v, length = self.u[em], self.v[em], self.length_m[em]
        if weight == "length":
            w = length
        elif tm is TravelMode.DRIVE:
            w = length / (self.speed_kmh[em] / 3.6)
        else:
            ws = default_walking_speed_kmh() if walking_speed_kmh is None else walking_speed_kmh
            if not (np.isfinite(ws) and ws > 0):
                msg = f"walking speed {ws!r} km/h: must be a positive number"
                raise ValidationError(msg)
            w = length / (float(ws) / 3.6)
        if tm is TravelMode.DRIVE:
            back = ~self.oneway[em]
            rows = np.concatenate([u, v[back]])
            cols = np.concatenate([v, u[back]])
            ww = np.concatenate([w, w[back]])
        else:
            rows = np.concatenate([u, v])
            cols = np.concatenate([v, u])
            ww = np.concatenate([w, w])
        if reverse:
            rows, cols = cols, rows
        return _build_csr(rows, cols, ww, self.n_nodes)

    def to_scipy(
        self,
        mode: str | TravelMode = "drive",
        weight: Weight = "time",
        reverse: bool = False,
        walking_speed_kmh: float | None = None,
    ) -> Any:
        """:meth:`to_csr` as a ``scipy.sparse.csr_matrix`` of shape (n, n)."""
        import scipy.sparse as sp

        indptr, indices, w = self.to_csr(mode, weight, reverse, walking_speed_kmh)
        return sp.csr_matrix((w, indices, indptr), shape=(self.n_nodes, self.n_nodes))

    # ----------------------------------------------------------- subnetworks
    def subset_edges(self, keep: np.ndarray) -> RoadNetwork:
        """Network of the edges where ``keep`` is True, without nodes left unused."""
        keep = np.asarray(keep, dtype=bool)
        u, v = self.u[keep], self.v[keep]
        used = np.zeros(self.n_nodes, dtype=bool)
        used[u] = True
        used[v] = True
        new_index = np.cumsum(used) - 1
        return RoadNetwork(
            lon=self.lon[used],
            lat=self.lat[used],
            node_id=self.node_id[used],
            u=new_index[u],
            v=new_index[v],
            length_m=self.length_m[keep],
            highway=self.highway[keep],
            speed_kmh=self.speed_kmh[keep],
            oneway=self.oneway[keep],
            name=self.name,
            grade_separated=self.grade_separated[keep],
        )

    def clip(self, bbox: tuple[float, float, float, float]) -> RoadNetwork:
        """Edges with at least one end inside ``bbox``, reindexed, unused nodes dropped.

        Parameters
        ----------
        bbox : tuple of float
            ``(minx, miny, maxx, maxy)`` in degrees (EPSG:4326).

        Returns
        -------
        RoadNetwork
        """
        try:
            minx, miny, maxx, maxy = (float(b) for b in bbox)
        except (TypeError, ValueError):
            msg = f"bbox {bbox!r}: give four numbers (minx, miny, maxx, maxy) in degrees"
            raise ValidationError(msg) from None
        if not (minx <= maxx and miny <= maxy):
            msg = f"bbox {bbox!r}: minx must be <= maxx and miny <= maxy (lon/lat degrees)"
            raise ValidationError(msg)
        inside = (self.lon >= minx) & (self.lon <= maxx) & (self.lat >= miny) & (self.lat <= maxy)
        return self.subset_edges(inside[self.u] | inside[self.v])

    def component_labels(self, mode: str | TravelMode | None = None) -> tuple[int, np.ndarray]:
        """Weakly connected components of the edges usable by ``mode`` (all if None).

        Returns
        -------
        n_components : int
        labels : numpy.ndarray
            int (n,) component label per node; nodes without a usable edge get their own.
        """
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        em = np.ones(self.n_edges, dtype=bool) if mode is None else self.edge_mask(mode)
        g = sp.coo_matrix(
            (np.ones(int(em.sum())), (self.u[em], self.v[em])), shape=(self.n_nodes,) * 2
        ).tocsr()
        n, labels = connected_components(g, directed=False)
        return int(n), labels

    def largest_component_mask(self, mode: str | TravelMode | None = None) -> np.ndarray:
        """Nodes of the largest weakly connected component (bool (n,))."""
        if self.n_nodes == 0:
            return np.zeros(0, dtype=bool)
        _, labels = self.component_labels(mode)
        if mode is not None:
            used = self.node_mask(mode)
            if not used.any():
                return np.zeros(self.n_nodes, dtype=bool)
            counts = np.bincount(labels[used], minlength=labels.max() + 1)
        else:
            counts = np.bincount(labels)
        return labels == int(np.argmax(counts))

    # ------------------------------------------------------------------ output
    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """Edges as straight LineStrings (every vertex is a node), EPSG:4326.

        Columns: ``u``, ``v`` (node indices), ``u_id``, ``v_id`` (source ids),
        ``highway``, ``length_m``, ``speed_kmh``, ``oneway``, ``geometry``.
        """
        import geopandas as gpd
        import shapely

        coords = np.empty((self.n_edges, 2, 2), dtype=np.float64)
        coords[:, 0, 0] = self.lon[self.u]
        coords[:, 0, 1] = self.lat[self.u]
        coords[:, 1, 0] = self.lon[self.v]
        coords[:, 1, 1] = self.lat[self.v]
        geoms = shapely.linestrings(coords) if self.n_edges else np.array([], dtype=object)
        return gpd.GeoDataFrame(
            {
                "u": self.u,
                "v": self.v,
                "u_id": self.node_id[self.u],
                "v_id": self.node_id[self.v],
                "highway": self.highway,
                "length_m": self.length_m,
                "speed_kmh": self.speed_kmh,
                "oneway": self.oneway,
                "grade_separated": self.grade_separated,
            },
            geometry=geoms,
            crs="EPSG:4326",
        )

    def to_networkx(
        self,
        mode: str | TravelMode | None = None,
        weight: Weight = "time",
        walking_speed_kmh: float | None = None,
    ) -> Any:
        """An osmnx-compatible :class:`networkx.MultiDiGraph` of the network.

        Nodes are keyed by ``node_id`` (OSM ids; indices ``0..n-1`` when the ids repeat)
        with ``x``, ``y`` (degrees); the graph carries ``crs="EPSG:4326"``. As in osmnx, a
        two-way road is a pair of arcs ``u->v`` and ``v->u`` (the second ``reversed=True``)
        and a one-way road one arc. Each arc has ``osmid`` (edge index), ``highway``,
        ``oneway``, ``reversed``, ``length`` (m), ``speed_kph``, ``travel_time`` (s),
        ``grade_separated`` (with ``layer="1"`` on bridges and tunnels, so that
        :meth:`from_networkx` reads them back) and ``weight``: ``travel_time``
        (``weight="time"``) or ``length``. ``ox.graph_to_gdfs``,
        ``ox.plot_graph`` and ``ox.shortest_path`` accept it.

        Parameters
        ----------
        mode : {None, "drive", "walk"}
            None: every edge, at driving speed (``speed_kph`` NaN where undrivable).
            ``"drive"``: drivable edges, one-way respected. ``"walk"``: walkable edges both
            ways at ``walking_speed_kmh``. Arc weights then equal :meth:`to_csr`'s.
        weight : {"time", "length"}
        walking_speed_kmh : float, optional
            Default ``ynps_geo.settings.walking_speed_kmh``.
        """
        import networkx as nx

        if weight not in ("time", "length"):
            msg = f"unknown weight {weight!r}: use 'time' (seconds) or 'length' (metres)"
            raise ValidationError(msg)
        tm = None if mode is None else parse_mode(mode)
        keys = self.node_id if np.unique(self.node_id).size == self.n_nodes else None
        keys_l = (np.arange(self.n_nodes) if keys is None else keys).tolist()
        g = nx.MultiDiGraph(crs="EPSG:4326", name=self.name or "ynps_geo road network")
        g.add_nodes_from(
            (k, {"x": x, "y": y, "street_count": 0})
            for k, x, y in zip(keys_l, self.lon.tolist(), self.lat.tolist(), strict=True)
        )
        em = np.ones(self.n_edges, dtype=bool) if tm is None else self.edge_mask(tm)
        speed = self.speed_kmh.copy()
        both = ~self.oneway
        if tm is not None and tm is not TravelMode.DRIVE:
            ws = default_walking_speed_kmh() if walking_speed_kmh is None else walking_speed_kmh
            speed[:] = float(ws)
            both[:] = True
        with np.errstate(invalid="ignore", divide="ignore"):
            seconds = self.length_m / (speed / 3.6)
        idx = np.flatnonzero(em)
        arcs = []
        for flip in (False, True):
            sel = idx[both[idx]] if flip else idx
            a, b = (self.v[sel], self.u[sel]) if flip else (self.u[sel], self.v[sel])
            for e, i, j in zip(sel.tolist(), a.tolist(), b.tolist(), strict=True):
                t = float(seconds[e])
                arcs.append(
                    (
                        keys_l[i],
                        keys_l[j],
                        {
                            "osmid": e,
                            "highway": str(self.highway[e]),
                            "oneway": bool(self.oneway[e]),
                            "reversed": flip,
                            "length": float(self.length_m[e]),
                            "speed_kph": float(speed[e]),
                            "travel_time": t,
                            "weight": t if weight == "time" else float(self.length_m[e]),
                            "grade_separated": bool(self.grade_separated[e]),
                            **({"layer": "1"} if self.grade_separated[e] else {}),
                        },
                    )
                )
        g.add_edges_from(arcs)
        for k, deg in g.degree():
            g.nodes[k]["street_count"] = int(deg)
        return g

    @classmethod
    def from_networkx(
        cls, G: Any, *, speeds: dict[str, float] | None = None, name: str = ""
    ) -> RoadNetwork:
        """A network from an osmnx or networkx graph.

        Node coordinates come from the node attributes ``x``, ``y`` (``lon``/``lat`` also
        work) in the graph's ``crs`` (``G.graph["crs"]``; EPSG:4326 when absent and the
        coordinates are degrees). Each edge's speed is its ``speed_kph`` when present (as
        ``ox.add_edge_speeds`` sets it), else ``length / travel_time``, else the class
        default of its ``highway`` capped by its ``maxspeed`` tag (``speeds`` overrides the
        class defaults). osmnx stores a two-way road as two arcs: they become one two-way
        edge; an arc of a directed graph without a ``oneway`` attribute is one way. Motor
        access, ``bridge``/``tunnel``/``covered``/``layer`` (grade separation) are read as
        a GraphML file's are, so a graph and its ``ox.save_graphml`` file give the same
        network. Edge ``geometry`` is not used: an edge is the straight segment between its
        nodes at its ``length``.

        Parameters
        ----------
        G : networkx graph
            ``MultiDiGraph`` (osmnx), ``DiGraph``, ``Graph`` or ``MultiGraph``.
        speeds : dict, optional
            Class speed overrides, see :func:`ynps_geo.model.modes.road_speeds`.
        name : str
            Source description for messages.

        Returns
        -------
        RoadNetwork

        Raises
        ------
        ValidationError
            A graph without nodes, edges or node coordinates, or coordinates that are not
            degrees when the graph has no ``crs``.
        """
        import math
        import warnings

        from ynps_geo.errors import DataQualityWarning

        label = name or str(G.graph.get("name") or type(G).__name__)
        nodes = list(G.nodes(data=True))
        if not nodes or G.number_of_edges() == 0:
            msg = f"road graph {label}: it has no nodes or no edges; fix: give a graph of roads"
            raise ValidationError(msg)
        index = {k: i for i, (k, _) in enumerate(nodes)}

        def coord(d: dict[str, Any], *keys: str) -> float:
            for k in keys:
                if d.get(k) is not None:
                    try:
                        return float(d[k])
                    except (TypeError, ValueError):
                        return math.nan
            return math.nan

        x = np.array([coord(d, "x", "lon") for _, d in nodes], dtype=np.float64)
        y = np.array([coord(d, "y", "lat") for _, d in nodes], dtype=np.float64)
        if not np.isfinite(x).any():
            msg = (
                f"road graph {label}: nodes have no x/y coordinates; fix: give nodes the "
                "attributes x (lon) and y (lat), as osmnx graphs have"
            )
            raise ValidationError(msg)
        lon, lat = _graph_coords_to_wgs84(x, y, G.graph.get("crs"), label)
        try:
            nid = np.array([int(k) for k, _ in nodes], dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            nid = np.arange(len(nodes), dtype=np.int64)
        from ynps_geo._geo import haversine_m
        from ynps_geo.io.osm import _edge_tags, _speeds, _twin_arcs
        from ynps_geo.model.modes import road_speeds

        directed = G.is_directed()
        us: list[int] = []
        vs: list[int] = []
        lengths: list[float] = []
        hws: list[str] = []
        given: list[float] = []
        maxs: list[float] = []
        ows: list[int] = []
        drive: list[bool] = []
        seps: list[bool] = []
        unknown: dict[str, int] = {}
        for a, b, d in G.edges(data=True):
            tags = _edge_tags(d, unknown)
            if tags is None:
                continue
            hw, maxspeed, drive_ok, separated = tags
            length = coord(d, "length")
            spd = coord(d, "speed_kph")
            if not (np.isfinite(spd) and spd > 0):
                tt = coord(d, "travel_time")
                spd = length / tt * 3.6 if np.isfinite(tt) and tt > 0 else math.nan
            us.append(index[a])
            vs.append(index[b])
            lengths.append(length)
            hws.append(hw)
            given.append(spd)
            maxs.append(maxspeed)
            ows.append(_oneway_arg(d.get("oneway"), directed))
            drive.append(drive_ok)
            seps.append(separated)
        if not us:
            msg = f"road graph {label}: no road edges left (all of an excluded class)"
            raise ValidationError(msg)
        if unknown:
            top = ", ".join(f"{k!r} ({v})" for k, v in sorted(unknown.items(), key=lambda t: -t[1]))
            warnings.warn(
                f"road graph {label}: edges of unknown highway class read as 'road': {top}. "
                "Fix: give OSM highway classes",
                DataQualityWarning,
                stacklevel=2,
            )
        u = np.asarray(us, dtype=np.int64)
        v = np.asarray(vs, dtype=np.int64)
        length_a = np.asarray(lengths, dtype=np.float64)
        ow = np.asarray(ows, dtype=np.int64)
        rev = ow == -1
        u, v = np.where(rev, v, u), np.where(rev, u, v)
        keep = _twin_arcs(u, v, ow, length_a) if directed else np.ones(u.size, dtype=bool)
        hw_a = np.asarray(hws, dtype=object)
        dr = np.asarray(drive, dtype=bool)
        speed = _speeds(hw_a, np.asarray(maxs, dtype=np.float64), dr, road_speeds(speeds))
        explicit = np.asarray(given, dtype=np.float64)
        speed = np.where(np.isfinite(explicit) & np.isfinite(speed), explicit, speed)
        length_a = np.where(
            np.isfinite(length_a), length_a, haversine_m(lon[u], lat[u], lon[v], lat[v])
        )
        keep &= (u != v) & np.isfinite(lon[u]) & np.isfinite(lon[v])
        net = cls(
            lon,
            lat,
            nid,
            u,
            v,
            length_a,
            hw_a,
            speed,
            ow != 0,
            name=label,
            grade_separated=np.asarray(seps, dtype=bool),
        )
        return net.subset_edges(keep)

    # ----------------------------------------------------------------- snapping
    def _tree(self, mode: str | TravelMode | None) -> tuple[Any, np.ndarray, Any]:
        key = None if mode is None else parse_mode(mode)
        if key not in self._trees:
            from pyproj import Transformer
            from scipy.spatial import cKDTree

            idx = np.flatnonzero(
                self.node_mask(key) if key is not None else np.ones(self.n_nodes, bool)
            )
            if idx.size == 0:
                self._trees[key] = (None, idx, None)
            else:
                epsg = utm_epsg(float(np.median(self.lon[idx])), float(np.median(self.lat[idx])))
                tr = Transformer.from_crs(4326, epsg, always_xy=True)
                x, y = tr.transform(self.lon[idx], self.lat[idx])
                self._trees[key] = (cKDTree(np.column_stack([x, y])), idx, tr)
        return self._trees[key]


def default_speeds(highway: np.ndarray, speeds: dict[str, float] | None = None) -> np.ndarray:
    """Class-default driving speed per edge (NaN for walk-only and unknown classes).

    Parameters
    ----------
    highway : numpy.ndarray
        Road class per edge.
    speeds : dict, optional
        Overrides, see :func:`ynps_geo.model.modes.road_speeds`.

    Returns
    -------
    numpy.ndarray
        float64 km/h.
    """
    table = road_speeds(speeds)
    hw = np.asarray(highway, dtype=object)
    if hw.size == 0:
        return np.zeros(0, dtype=np.float64)
    uniq, inv = np.unique(hw.astype(str), return_inverse=True)
    vals = np.array([table.get(c, np.nan) for c in uniq], dtype=np.float64)
    return vals[inv]


def _build_csr(
    rows: np.ndarray, cols: np.ndarray, w: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = rows != cols
    rows, cols, w = rows[keep], cols[keep], np.maximum(w[keep], MIN_WEIGHT)
    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    if rows.size:
        first = np.ones(rows.size, dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, w = rows[first], cols[first], w[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, cols.astype(np.int64, copy=False), w.astype(np.float64, copy=False)


def nearest_nodes(
    net: RoadNetwork,
    lon: ArrayLike,
    lat: ArrayLike,
    mode: str | TravelMode | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest network node of each point.

    Searches a KD-tree in the UTM zone of the network (pyproj); the distance returned is
    the great-circle distance to the chosen node.

    Parameters
    ----------
    net : RoadNetwork
    lon, lat : array_like
        Points in degrees (EPSG:4326), scalars or arrays of the same shape.
    mode : {"drive", "walk"}, optional
        Only nodes on an edge usable by this mode (a village is snapped to a road a car
        can reach); default any node.

    Returns
    -------
    idx : numpy.ndarray
        int64 node indices, the shape of ``lon``.
    dist_m : numpy.ndarray
        float64 metres.

    Raises
    ------
    ValidationError
        When the network has no node for ``mode`` or the points are not finite.
    """
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    if lon_a.shape != lat_a.shape:
        msg = f"nearest_nodes: lon has shape {lon_a.shape} but lat {lat_a.shape}; give equal shapes"
        raise ValidationError(msg)
    if not (np.isfinite(lon_a).all() and np.isfinite(lat_a).all()):
        msg = "nearest_nodes: some points have NaN or infinite coordinates; drop or fix them first"
        raise ValidationError(msg)
    tree, idx, tr = net._tree(mode)
    if tree is None:
        msg = (
            f"road network {net.name or '(unnamed)'} has no node usable by mode {mode!r}; "
            "fix: check the road file covers the area and has roads of that mode"
        )
        raise ValidationError(msg)
    x, y = tr.transform(lon_a.ravel(), lat_a.ravel())
    _, k = tree.query(np.column_stack([np.atleast_1d(x), np.atleast_1d(y)]))
    node = idx[np.asarray(k, dtype=np.int64)]
    dist = haversine_m(lon_a.ravel(), lat_a.ravel(), net.lon[node], net.lat[node])
    return node.reshape(lon_a.shape).astype(np.int64), np.asarray(dist, dtype=np.float64).reshape(
        lon_a.shape
    )


def _oneway_arg(value: Any, directed: bool) -> int:
    """1 forward, -1 reverse, 0 two-way, for a graph edge's ``oneway`` attribute.

    An arc of a directed graph without ``oneway`` is one way along the arc; an edge of an
    undirected graph without it is two-way.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return 1 if directed else 0
    if isinstance(value, bool | np.bool_):
        return 1 if value else 0
    if isinstance(value, list | tuple):
        return 1 if any(_oneway_arg(x, directed) == 1 for x in value) else 0
    text = str(value).strip().lower()
    if text in ("yes", "true", "1"):
        return 1
    if text in ("-1", "reverse"):
        return -1
    return 0


def _graph_coords_to_wgs84(
    x: np.ndarray, y: np.ndarray, crs: Any, label: str
) -> tuple[np.ndarray, np.ndarray]:
    """Node coordinates of a graph in degrees (EPSG:4326)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if crs is None:
        if ok.any() and (np.abs(x[ok]).max() > 180 or np.abs(y[ok]).max() > 90):
            msg = (
                f"road graph {label}: coordinates are not degrees and the graph has no crs; "
                "fix: set G.graph['crs'] (osmnx graphs carry it)"
            )
            raise ValidationError(msg)
        return x, y
    from pyproj import CRS, Transformer

    try:
        src = CRS.from_user_input(crs)
    except Exception as err:  # pyproj raises CRSError, a plain Exception subclass
        msg = f"road graph {label}: unknown crs {crs!r} ({err}); fix: set G.graph['crs']"
        raise ValidationError(msg) from err
    if src.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return x, y
    tr = Transformer.from_crs(src, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
