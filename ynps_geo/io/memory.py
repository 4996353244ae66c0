"""Objects an analyst holds in memory, turned into what the analysis reads.

- road networks: an osmnx / networkx graph, a ``(nodes, edges)`` pair of GeoDataFrames (as
  ``ox.graph_to_gdfs`` returns), or a :class:`~ynps_geo.network.RoadNetwork`;
- rasters (DEM, population): an open rasterio dataset, an xarray ``DataArray`` with a CRS
  (rioxarray), or ``(array, transform, crs)``. They are written once into a temporary
  GeoTIFF, so that the windowed, reprojecting readers of :mod:`ynps_geo.io.raster` see
  exactly what they see for a file (the results of both routes are the same by
  construction).

Frames (villages, facilities, boundaries) need nothing here: the readers of
:mod:`ynps_geo.io.vector` take them in place of a file and run the same checks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ynps_geo.errors import CRSError, ValidationError, require

__all__ = ["as_road_network", "describe_object", "is_raster_object", "raster_to_file"]


def describe_object(obj: Any) -> str | None:
    """A short description of an in-memory input for the report, or None for a path."""
    import pandas as pd

    if isinstance(obj, str | Path) or obj is None:
        return None
    if isinstance(obj, pd.DataFrame):
        crs = getattr(obj, "crs", None)
        where = f", {crs.to_string()}" if crs is not None else ""
        return f"{type(obj).__name__} in memory ({len(obj)} rows{where})"
    if hasattr(obj, "number_of_edges"):
        return (
            f"{type(obj).__name__} in memory ({obj.number_of_nodes()} nodes, "
            f"{obj.number_of_edges()} edges)"
        )
    return f"{type(obj).__name__} in memory"


def as_road_network(obj: Any, *, speeds: dict[str, float] | None = None) -> Any:
    """A :class:`~ynps_geo.network.RoadNetwork` from a graph, a GeoDataFrame pair or a network.

    Parameters
    ----------
    obj : RoadNetwork, networkx graph or (nodes, edges) GeoDataFrames
        The pair is what ``ox.graph_to_gdfs`` returns: nodes indexed by id with ``x``, ``y``,
        edges indexed by ``(u, v, key)``.
    speeds : dict, optional
        Class speed overrides (config key ``speeds``); not applied to a RoadNetwork, whose
        speeds are already set.

    Raises
    ------
    ValidationError
        Anything else, or a pair that is not nodes and edges.
    """
    from ynps_geo.network import RoadNetwork

    if isinstance(obj, RoadNetwork):
        return obj
    if hasattr(obj, "is_directed") and hasattr(obj, "edges"):
        return RoadNetwork.from_networkx(obj, speeds=speeds)
    if isinstance(obj, tuple | list) and len(obj) == 2:
        return RoadNetwork.from_networkx(_graph_from_gdfs(obj[0], obj[1]), speeds=speeds)
    msg = (
        f"roads: a {type(obj).__name__} is not a road network. Fix: give an osmnx/networkx "
        "graph, a (nodes, edges) pair of GeoDataFrames, a RoadNetwork, or a file path"
    )
    raise ValidationError(msg)


def _graph_from_gdfs(nodes: Any, edges: Any) -> Any:
    """A MultiDiGraph from ``ox.graph_to_gdfs``-style frames (without needing osmnx)."""
    import geopandas as gpd
    import networkx as nx

    if not isinstance(nodes, gpd.GeoDataFrame) or not isinstance(edges, gpd.GeoDataFrame):
        msg = "roads: give the pair as (nodes, edges) GeoDataFrames, as ox.graph_to_gdfs returns"
        raise ValidationError(msg)
    if edges.index.nlevels == 3:
        e = edges.reset_index()
    else:
        e = edges.reset_index(drop=not {"u", "v"} - set(edges.columns))
    if not {"u", "v"} <= set(e.columns):
        msg = (
            "roads: the edges GeoDataFrame needs u and v (columns or an (u, v, key) index) "
            "naming node ids of the nodes frame. Fix: pass ox.graph_to_gdfs(G) as it is"
        )
        raise ValidationError(msg)
    n = nodes.to_crs(4326) if nodes.crs is not None else nodes
    if "x" in n.columns and "y" in n.columns and (nodes.crs is None or nodes.crs.is_geographic):
        xs, ys = n["x"].to_numpy(float), n["y"].to_numpy(float)
    else:
        xs, ys = n.geometry.x.to_numpy(), n.geometry.y.to_numpy()
    g = nx.MultiDiGraph(crs="EPSG:4326")
    g.add_nodes_from(
        (k, {"x": x, "y": y}) for k, x, y in zip(nodes.index.tolist(), xs, ys, strict=True)
    )
    attrs = [c for c in e.columns if c not in ("u", "v", "key", e.geometry.name)]
    records = e[attrs].to_dict("records")
    g.add_edges_from(
        (u, v, {k: val for k, val in r.items() if not _is_missing(val)})
        for u, v, r in zip(e["u"].tolist(), e["v"].tolist(), records, strict=True)
    )
    return g


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def is_raster_object(obj: Any) -> bool:
    """Whether ``obj`` is a raster held in memory (not a path)."""
    if obj is None or isinstance(obj, str | Path):
        return False
    return (
        (hasattr(obj, "read") and hasattr(obj, "crs") and hasattr(obj, "transform"))
        or type(obj).__name__ == "DataArray"
        or isinstance(obj, tuple)
    )


def raster_to_file(obj: Any, folder: str | Path, *, what: str) -> tuple[Path, str]:
    """Write an in-memory raster (band 1) into ``folder`` as a GeoTIFF.

    Parameters
    ----------
    obj : rasterio dataset, xarray.DataArray or (array, transform, crs[, nodata])
        A DataArray needs its CRS (``da.rio.write_crs(...)``, rioxarray) and x/y coordinates;
        an open dataset whose file exists is used in place (its path is returned).
    folder : path
        Where the temporary file goes.
    what : str
        ``"DEM"`` or ``"population"``, for messages and the file name.

    Returns
    -------
    (Path, str)
        The file and a description for the report.

    Raises
    ------
    CRSError
        The raster has no coordinate system.
    ValidationError
        Not a raster, or an array that is not 2-D (or one band).
    """
    out = Path(folder) / f"{what.lower()}.tif"
    if isinstance(obj, tuple):
        if len(obj) not in (3, 4):
            msg = (
                f"{what}: give the raster as (array, transform, crs) or (array, transform, crs, "
                f"nodata), got {len(obj)} items"
            )
            raise ValidationError(msg)
        array, transform, crs = obj[:3]
        nodata = obj[3] if len(obj) == 4 else None
        return _write(out, _band(np.asarray(array), what), transform, crs, nodata, what), (
            f"array in memory {np.shape(array)}, {crs}"
        )
    if type(obj).__name__ == "DataArray":
        require("rioxarray", f"reading the {what} from an xarray DataArray")
        import rioxarray  # noqa: F401  (registers the .rio accessor)

        crs = obj.rio.crs
        if crs is None:
            msg = (
                f"{what}: the DataArray has no coordinate system. Fix: "
                "da = da.rio.write_crs('EPSG:4326') (or the raster's own CRS)"
            )
            raise CRSError(msg)
        arr = _band(np.asarray(obj.values), what)
        nodata = obj.rio.nodata
        if nodata is None:
            nodata = obj.rio.encoded_nodata
        desc = f"DataArray in memory {arr.shape}, {crs.to_string()}"
        return _write(out, arr, obj.rio.transform(), crs, nodata, what), desc
    if hasattr(obj, "read") and hasattr(obj, "crs") and hasattr(obj, "transform"):
        if getattr(obj, "closed", False):
            msg = f"{what}: the rasterio dataset is closed. Fix: pass it while it is open"
            raise ValidationError(msg)
        name = str(getattr(obj, "name", ""))
        if name and Path(name).is_file() and obj.crs is not None:
            return Path(name), name
        if obj.crs is None:
            msg = (
                f"{what}: the raster {name or '(in memory)'} has no coordinate system. Fix: "
                "assign one (e.g. gdal_edit.py -a_srs EPSG:4326 FILE)"
            )
            raise CRSError(msg)
        arr = obj.read(1)
        return _write(out, arr, obj.transform, obj.crs, obj.nodata, what), (
            f"rasterio dataset in memory {arr.shape}, {obj.crs.to_string()}"
        )
    msg = (
        f"{what}: a {type(obj).__name__} is not a raster. Fix: give a path, an open rasterio "
        "dataset, an xarray DataArray with a CRS (rioxarray), or (array, transform, crs)"
    )
    raise ValidationError(msg)


def _band(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        msg = f"{what}: expected a 2-D raster (or one band), got shape {arr.shape}"
        raise ValidationError(msg)
    return arr


def _write(path: Path, arr: np.ndarray, transform: Any, crs: Any, nodata: Any, what: str) -> Path:
    import rasterio

    if crs is None:
        msg = f"{what}: no coordinate system given. Fix: pass (array, transform, 'EPSG:<code>')"
        raise CRSError(msg)
    dtype = np.float64 if arr.dtype.kind in "iub" or arr.dtype == np.float64 else np.float32
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=arr.shape[1],
        height=arr.shape[0],
        count=1,
        dtype=dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(arr.astype(dtype), 1)
    return path


def temporary_folder() -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for rasters written from memory (removed when closed)."""
    return tempfile.TemporaryDirectory(prefix="ynps_geo_inputs_")
