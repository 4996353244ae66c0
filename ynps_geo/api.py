"""The front door for notebooks: objects in, results that draw themselves out.

``analyze`` runs the same analysis as ``ynps-geo analyze config.yaml`` on what an analyst
already holds: GeoDataFrames (or plain DataFrames with coordinate columns), osmnx/networkx
graphs, rasterio datasets, xarray DataArrays, or paths. The objects go through the same
readers and checks as files (:mod:`ynps_geo.io.vector` takes a frame where it would read a
file; rasters held in memory are written once to a temporary GeoTIFF; graphs become a
:class:`~ynps_geo.network.RoadNetwork`), then through the same pipeline
(:func:`ynps_geo.workflows.run`), so both routes give equal results on equal data.

``travel_times`` and ``nearest`` answer origin-destination questions on the same engine
and trip model (walk to a road, drive, walk to the destination; slope-aware with a DEM).

Keyword arguments are named like the YAML keys. Keys of one layer only (``population``,
``setting``, ``category``, ``category_field``, ``name_field``, ``class_field``...) go to it;
keys several layers share (``crs``, ``x``, ``y``, ``wkt``, ``id``, ``name``, ``layer``,
``encoding``) go to every layer given as a frame or path, and to one layer only when
prefixed by its argument name (``villages_id="code"``, ``facilities_crs="gcj02"``). Column
keys (``x``, ``y``, ``wkt``, ``id``, ``name``) given unprefixed go to the frames that have
that column. A layer may also be given as a dict exactly like its YAML entry, with the frame
or the file in ``path`` (``facilities=[{"path": clinics, "category": "health"}, ...]``).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ynps_geo.errors import ConfigError, ValidationError

__all__ = ["Note", "Result", "analyze", "nearest", "travel_times"]

log = logging.getLogger("ynps_geo")

_DATA_KEYS = frozenset({"path", "dsn", "table", "sql", "geom_col"})
_SHARED = ("crs", "x", "y", "wkt", "id", "name", "layer", "encoding")
_COLUMN_KEYS = frozenset({"x", "y", "wkt", "id", "name"})


# ------------------------------------------------------------------------------- notes
@dataclass(frozen=True)
class Note:
    """One data-quality note or assumption of an analysis (as listed in the report).

    Attributes
    ----------
    text : str
        The note, without its county prefix.
    county : str or None
        The county it concerns; None for the whole analysis.
    level : {"info", "warning"}
        ``warning`` for notes that may change a figure (DEM voids, GCJ-02 offsets...).
    """

    text: str
    county: str | None = None
    level: Literal["info", "warning"] = "info"

    def __str__(self) -> str:
        return f"{self.county}: {self.text}" if self.county else self.text

    @classmethod
    def parse(cls, note: str, counties: Sequence[str] = ()) -> Note:
        """A note of :attr:`AnalysisResult.notes` (``"<county>: text"`` or plain text)."""
        county = None
        text = str(note)
        for c in counties:
            if text.startswith(f"{c}: "):
                county, text = c, text[len(c) + 2 :]
                break
        warn = text.lower().startswith("warning") or "warning:" in text.lower()[:40]
        return cls(text=text, county=county, level="warning" if warn else "info")


# ------------------------------------------------------------------------------ result
class Result:
    """What :func:`analyze` returns: tables, the map, the surfaces and the output files.

    Attributes
    ----------
    villages : GeoDataFrame or None
        One row per village, the columns of ``villages.gpkg``.
    coverage : DataFrame
        ``coverage.csv``.
    uncovered : DataFrame
        Villages failing at least one standard, ranked.
    isochrones, facility_isochrones : GeoDataFrame or None
    access : DataFrame
        Capacity-aware access (2SFCA) per village and capacity.
    notes : list of Note
        Data-quality notes and assumptions.
    analysis : AnalysisResult
        Everything else (``by_setting``, ``equity``, ``people``, ``facilities``,
        ``presence``, ``ratios``, ``failures``, ``timings``...); also reachable as
        attributes of the Result.
    """

    def __init__(self, analysis: Any) -> None:
        self.analysis = analysis

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "analysis":
            raise AttributeError(name)
        return getattr(self.analysis, name)

    @property
    def villages(self) -> Any:
        """One row per village (GeoDataFrame, EPSG:4326), as ``villages.gpkg``."""
        return self.analysis.villages

    @property
    def coverage(self) -> pd.DataFrame:
        """Coverage per (county, standard) and ``ALL``, as ``coverage.csv``."""
        return self.analysis.coverage

    @property
    def uncovered(self) -> pd.DataFrame:
        """Villages failing at least one standard that applies to them, ranked."""
        return self.analysis.uncovered

    @property
    def isochrones(self) -> Any:
        """Dissolved isochrones per county, standard and mode (GeoDataFrame or None)."""
        return self.analysis.isochrones

    @property
    def access(self) -> pd.DataFrame:
        """Capacity-aware access (2SFCA) per village and capacity."""
        return self.analysis.access

    @property
    def notes(self) -> list[Note]:
        """Data-quality notes and assumptions, typed."""
        counties = sorted((str(c) for c in self.analysis.counties["county"]), key=len, reverse=True)
        return [Note.parse(n, counties) for n in self.analysis.notes]

    def __repr__(self) -> str:
        n = 0 if self.villages is None else len(self.villages)
        ids = ", ".join(s.id for s in self.analysis.standards)
        return f"<ynps_geo.Result {self.analysis.name!r}: {n} villages; standards {ids}>"

    def _repr_html_(self) -> str:
        cov = self.coverage
        table = cov[cov["county"] == "ALL"] if "county" in cov else cov
        return (
            f"<p><b>{self.analysis.name}</b>: "
            f"{0 if self.villages is None else len(self.villages)} villages, "
            f"{len(self.notes)} notes. Coverage (all counties):</p>" + table.to_html(index=False)
        )

    def explore(self, standard: str | None = None, *, language: str | None = None) -> Any:
        """The interactive map (a ``folium.Map``; Jupyter shows it inline).

        Parameters
        ----------
        standard : str, optional
            Colour the villages by this standard (default: red when outside any).
        language : {"zh", "en"}, optional
            Default the analysis' ``language``.
        """
        import folium

        from ynps_geo.report import maps

        m = maps.build_map(self.analysis, language=language or self.analysis.language)
        if standard is not None:
            ids = [s.id for s in self.analysis.standards]
            if standard not in ids:
                close = difflib.get_close_matches(standard, ids, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                msg = f"unknown standard {standard!r} for explore().{hint} Evaluated: {ids}"
                raise ValidationError(msg)
            i = ids.index(standard)
            script = (
                f"ynps.setStandard({i});"
                "var ynpsSel = document.querySelector('.ynps-legend select');"
                f"if (ynpsSel) {{ ynpsSel.value = '{i}'; }}"
            )
            m.get_root().script.add_child(folium.Element(script))
        return m

    def to_folder(self, folder: str | Path) -> dict[str, Path]:
        """Write the standard outputs (as ``ynps-geo analyze --out``) into ``folder``.

        Returns name -> path of every file written (``villages.gpkg``, ``coverage.csv``,
        ``map.html``, ``report.html``, ``travel_time_<standard>.tif``...).
        """
        from ynps_geo.workflows import write_outputs

        return write_outputs(self.analysis, Path(folder))

    def travel_time_raster(self, standard: str, mode: str | None = None) -> Any:
        """The travel-time surface of a standard as an ``xarray.DataArray`` (rioxarray CRS).

        Minutes (km for distance standards) from each grid cell to the nearest qualifying
        facility, ``inf`` where none is reachable, NaN outside the counties. A standard
        measured in two modes (walking in towns, driving in the countryside) has a ``mode``
        dimension unless ``mode`` picks one.
        """
        from ynps_geo.errors import require
        from ynps_geo.surfaces import mosaic

        require("xarray", "travel_time_raster")
        require("rioxarray", "travel_time_raster")
        import rioxarray  # noqa: F401  (the .rio accessor)
        import xarray as xr

        surface = mosaic(self.analysis, standard, modes=[mode] if mode else None)
        tr = surface.transform
        _, h, w = surface.data.shape
        xs = tr.c + tr.a * (np.arange(w) + 0.5)
        ys = tr.f + tr.e * (np.arange(h) + 0.5)
        da = xr.DataArray(
            surface.data,
            dims=("mode", "y", "x"),
            coords={"mode": surface.modes, "y": ys, "x": xs},
            name=f"{standard}_{'minutes' if surface.unit == 'min' else 'km'}",
            attrs={"standard_id": standard, "units": surface.unit},
        )
        if len(surface.modes) == 1:
            da = da.isel(mode=0)
        return da.rio.write_crs(surface.crs).rio.write_transform(tr)


# ------------------------------------------------------------------------- arguments
def _routes() -> dict[str, frozenset[str]]:
    from ynps_geo.config import LAYER_KEYS

    return {
        "villages": frozenset(LAYER_KEYS["villages"]) - _DATA_KEYS,
        "facilities": frozenset(LAYER_KEYS["facilities"]) - _DATA_KEYS,
        "boundaries": frozenset(LAYER_KEYS["boundary"]) - _DATA_KEYS,
        "roads": frozenset(LAYER_KEYS["roads"]) - _DATA_KEYS,
    }


def _split_keywords(
    kwargs: Mapping[str, Any], extra_options: frozenset[str] = frozenset()
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Sort keyword arguments into per-layer keys, unprefixed shared keys and options."""
    from ynps_geo.config import OPTION_KEYS

    routes = _routes()
    layer: dict[str, dict[str, Any]] = {k: {} for k in routes}
    shared: dict[str, Any] = {}
    options: dict[str, Any] = {}
    allowed = set(OPTION_KEYS) | set(extra_options)
    for layer_name, keys in routes.items():
        allowed |= {f"{layer_name}_{k}" for k in keys} | set(keys)
    for key, value in kwargs.items():
        if key in OPTION_KEYS or key in extra_options:
            options[key] = value
            continue
        prefixed = next(
            (n for n in routes if key.startswith(f"{n}_") and key[len(n) + 1 :] in routes[n]),
            None,
        )
        if prefixed is not None:
            layer[prefixed][key[len(prefixed) + 1 :]] = value
            continue
        if key in _SHARED:
            shared[key] = value
            continue
        owners = [n for n, keys in routes.items() if key in keys]
        if len(owners) == 1:
            layer[owners[0]][key] = value
            continue
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        msg = (
            f"ynps_geo: unknown keyword argument '{key}'.{hint} Keywords are named like the "
            "config keys: column names (id=, name=, population=, setting=, category_field=...), "
            "crs=, options (resolution_m=, margin_m=, language=...), or prefixed by a layer "
            "(villages_id=, facilities_crs=...)"
        )
        raise ConfigError(msg)
    return layer, shared, options


def _has_column(obj: Any, column: Any) -> bool:
    return isinstance(obj, pd.DataFrame) and column in obj.columns


def _spec(
    obj: Any,
    role: str,
    own: Mapping[str, Any],
    shared: Mapping[str, Any],
    source: Path,
    shared_keys: Sequence[str] = _SHARED,
) -> dict[str, Any]:
    """One layer's config entry for a frame, a path or a dict entry."""
    from ynps_geo.config import _check_keys, _layer
    from ynps_geo.io.vector import in_memory

    key = {"boundaries": "boundary"}.get(role, role)
    from ynps_geo.config import LAYER_KEYS

    if isinstance(obj, Mapping):
        spec = dict(obj)
        for k, v in own.items():
            spec.setdefault(k, v)
    else:
        spec = {"path": obj}
        for k in shared_keys:
            if k not in shared:
                continue
            if (
                k in _COLUMN_KEYS
                and isinstance(obj, pd.DataFrame)
                and not _has_column(obj, shared[k])
            ):
                continue  # an unprefixed column key goes to the frames that have the column
            spec[k] = shared[k]
        spec.update(own)
    path = spec.get("path")
    if in_memory(path, what=role) is not None:
        _check_keys(spec, set(LAYER_KEYS[key]), f"'{role}'", source)
        return spec
    if isinstance(path, Path):
        spec["path"] = str(path)
    return _layer(spec, key, source) or {}


def _layers(obj: Any) -> list[Any]:
    if obj is None:
        return []
    if isinstance(obj, list | tuple):
        return list(obj)
    return [obj]


def _facility_spec(spec: dict[str, Any], i: int, source: Path) -> dict[str, Any]:
    from ynps_geo.io.vector import in_memory

    if "category" in spec or "category_field" in spec or spec.get("osm_tags"):
        return spec
    frame = in_memory(spec.get("path"), what="facilities")
    if frame is not None and "category" in frame.frame.columns:
        return {**spec, "category_field": "category"}
    what = frame.label if frame is not None else Path(str(spec.get("path"))).name
    msg = (
        f"{source}: facilities layer {i + 1} ({what}) needs 'category' (one "
        "category for the layer), 'category_field' (a column of types) or 'osm_tags: true'"
    )
    raise ConfigError(msg)


def _call_text(name: str, kwargs: Mapping[str, Any], layers: Mapping[str, Any]) -> str:
    """The call as YAML-like text for the report's config section."""
    from ynps_geo.io.memory import describe_object

    lines = ["# ynps_geo.analyze(...) called from Python", f"name: {name}"]
    for key, value in layers.items():
        for v in _layers(value):
            shown = v.get("path") if isinstance(v, Mapping) else v
            lines.append(f"{key}: {describe_object(shown) or shown}")
    lines += [f"{k}: {v!r}" for k, v in kwargs.items()]
    return "\n".join(lines) + "\n"


def _config(
    villages: Any,
    facilities: Any,
    *,
    boundaries: Any,
    roads: Any,
    dem: Any,
    population: Any,
    standards: Sequence[str] | str | None,
    name: str | None,
    folder: Path,
    kwargs: Mapping[str, Any],
) -> Any:
    """An :class:`~ynps_geo.config.AnalysisConfig` whose layer entries hold the objects."""
    from ynps_geo.config import AnalysisConfig
    from ynps_geo.io.memory import describe_object, is_raster_object, raster_to_file
    from ynps_geo.model.standards import load_standards
    from ynps_geo.options import Options

    source = Path.cwd() / "ynps_geo.analyze()"
    extra = frozenset({"standards_file", "standards_overrides", "progress"})
    own, shared, options = _split_keywords(kwargs, extra)
    sfile = options.pop("standards_file", None)
    overrides = list(options.pop("standards_overrides", None) or [])
    progress = options.pop("progress", True)
    opts = Options.from_keys(options, source, progress=progress)
    v_spec = (
        _spec(villages, "villages", own["villages"], shared, source)
        if villages is not None
        else None
    )
    f_specs = [
        _facility_spec(_spec(f, "facilities", own["facilities"], shared, source), i, source)
        for i, f in enumerate(_layers(facilities))
    ]
    if not f_specs:
        msg = f"{source}: no facilities given; pass a GeoDataFrame of facilities (or a path)"
        raise ConfigError(msg)
    b_spec = None
    if boundaries is not None:
        b_spec = _spec(
            boundaries,
            "boundaries",
            own["boundaries"],
            shared,
            source,
            ("crs", "layer", "encoding"),
        )
    r_spec = None
    if roads is not None:
        if isinstance(roads, str | Path):
            r_spec = _spec(roads, "roads", own["roads"], {}, source)
        else:
            r_spec = {"path": roads, "label": describe_object(roads)}
    rasters: dict[str, dict[str, Any] | None] = {}
    for key, obj, what in (("dem", dem, "DEM"), ("population", population, "population")):
        if obj is None:
            rasters[key] = None
        elif is_raster_object(obj):
            path, desc = raster_to_file(obj, folder, what=what)
            rasters[key] = {"path": path, "label": desc}
        else:
            rasters[key] = _spec(str(obj), key, {}, {}, source)
    if v_spec is None and rasters["population"] is None:
        msg = f"{source}: give villages or a population raster (or both) to measure coverage"
        raise ConfigError(msg)
    if isinstance(standards, str):
        standards = [standards]
    std_list = [str(s) for s in standards] if standards is not None else None
    sfile_path = Path(sfile).resolve() if sfile else None
    cfg = AnalysisConfig(
        source=source,
        name=name or "ynps_geo.analyze",
        boundary=b_spec,
        villages=v_spec,
        facilities=f_specs,
        roads=r_spec,
        dem=rasters["dem"],
        population=rasters["population"],
        standards=std_list,
        standards_file=sfile_path,
        standards_overrides=overrides,
        opts=opts,
        raw={
            "_text": _call_text(
                name or "ynps_geo.analyze",
                kwargs,
                {"villages": villages, "facilities": facilities, "boundary": boundaries},
            )
        },
    )
    sset = load_standards(cfg.standards_file)
    if overrides:
        sset = sset.merged(overrides, source=str(source))
    sset.select(std_list)
    return cfg


# ---------------------------------------------------------------------------- analyze
def analyze(
    villages: Any,
    facilities: Any,
    *,
    boundaries: Any = None,
    roads: Any = None,
    dem: Any = None,
    population: Any = None,
    standards: Sequence[str] | str | None = None,
    name: str | None = None,
    **options: Any,
) -> Result:
    """Run the whole analysis on objects (or paths) and return a :class:`Result`.

    The same analysis as ``ynps-geo analyze``: the same checks, messages and results as
    the YAML route on the same data.

    Parameters
    ----------
    villages : GeoDataFrame, DataFrame, path, dict entry or None
        One row per village. A GeoDataFrame keeps its CRS (``crs="gcj02"``/``"bd09"``
        declares Amap/Baidu coordinates); a DataFrame needs coordinate columns and ``crs``.
        None when a population raster gives the people.
    facilities : the same, or a list of them
        Facility layers; each needs ``category=`` (one type), ``category_field=`` (a
        column of types) or ``osm_tags=True``; a frame with a ``category`` column uses it.
    boundaries : GeoDataFrame, path or dict entry, optional
        County polygons (``name_field=`` names the county column). Default: one study area
        around the villages (or the population raster's extent).
    roads : osmnx/networkx graph, (nodes, edges) GeoDataFrames, RoadNetwork or path, optional
    dem, population : path, rasterio dataset, xarray.DataArray or (array, transform, crs)
    standards : list of str, optional
        Standard ids (``ynps-geo standards``); default every one.
    name : str, optional
        Shown in the report.
    **options
        Column keys and CRS named like the YAML keys (``id=``, ``population=``,
        ``setting=``, ``category_field=``, ``crs=``; ``villages_id=`` for one layer only),
        the config's options (``resolution_m``, ``margin_m``, ``speeds``, ``language``,
        ``jobs``, ``surfaces``...), ``standards_file``, ``standards_overrides``, and
        ``progress`` (tqdm bars; default True, False for silence).

    Returns
    -------
    Result

    Raises
    ------
    ConfigError, ValidationError, CRSError, DataSourceError
        The messages of the YAML route: the input, the problem, the fix.

    Examples
    --------
    >>> result = ynps_geo.analyze(villages, clinics, category="health",
    ...                           population="pop", roads=G, dem="dem.tif")  # doctest: +SKIP
    >>> result.coverage  # doctest: +SKIP
    >>> result.explore(standard="health_15min")  # doctest: +SKIP
    """
    from ynps_geo import workflows
    from ynps_geo.io.memory import temporary_folder

    with temporary_folder() as tmp:
        cfg = _config(
            villages,
            facilities,
            boundaries=boundaries,
            roads=roads,
            dem=dem,
            population=population,
            standards=standards,
            name=name,
            folder=Path(tmp),
            kwargs=options,
        )
        result = workflows.run(cfg)
    return Result(result)


# ----------------------------------------------------------------------- travel times
def _points(obj: Any, role: str, spec_keys: Mapping[str, Any], source: Path) -> Any:
    """Origins or destinations as a GeoDataFrame with ``point_id`` and ``name`` (EPSG:4326)."""
    from ynps_geo.io.vector import read_villages

    spec = _spec(obj, "villages", spec_keys, {}, source)
    pts = read_villages(spec, Path.cwd())
    return pts.rename(columns={"village_id": "point_id"})


def _engine_for(
    origins: Any,
    destinations: Any,
    *,
    roads: Any,
    dem: Any,
    boundary: Any,
    options: Mapping[str, Any],
    folder: Path,
    source: Path,
) -> Any:
    """A county engine over the origins' and destinations' area (the analysis' own)."""
    import geopandas as gpd
    from shapely.geometry import MultiPoint

    from ynps_geo.analysis import Inputs, build_county_engine
    from ynps_geo.io.memory import as_road_network, is_raster_object, raster_to_file
    from ynps_geo.options import Options

    opts = Options.from_keys(options, source, progress=False)
    if boundary is None:
        pts = list(origins.geometry) + list(destinations.geometry)
        geom = MultiPoint(pts).convex_hull.buffer(1e-4)
    elif isinstance(boundary, gpd.GeoDataFrame | gpd.GeoSeries):
        b = boundary.to_crs(4326) if boundary.crs is not None else boundary
        geom = b.geometry.union_all() if isinstance(b, gpd.GeoDataFrame) else b.union_all()
    else:
        geom = boundary
    net = None
    if roads is not None:
        if isinstance(roads, str | Path):
            from ynps_geo.io.osm import read_roads

            net = read_roads(roads, speeds=opts.speeds)
        else:
            net = as_road_network(roads, speeds=opts.speeds)
    dem_path = None
    if dem is not None:
        dem_path = (
            raster_to_file(dem, folder, what="DEM")[0] if is_raster_object(dem) else Path(dem)
        )
    fac = destinations.rename(columns={"point_id": "facility_id"})
    inputs = Inputs(
        counties=gpd.GeoDataFrame({"county": ["area"]}, geometry=[geom], crs="EPSG:4326"),
        villages=None,
        facilities=fac,
        roads=net,
        dem_path=dem_path,
    )
    setup = build_county_engine("area", geom, inputs, opts, villages=origins)
    if len(setup.facilities) < len(fac):
        lost = sorted(set(fac["facility_id"]) - set(setup.facilities["facility_id"]))
        msg = (
            f"travel_times: destinations {lost[:5]} lie beyond the area and its margin "
            f"({opts.margin_m:g} m). Fix: pass a boundary that holds them, or a larger margin_m"
        )
        raise ValidationError(msg)
    return setup


def travel_times(
    origins: Any,
    destinations: Any,
    *,
    mode: str,
    roads: Any = None,
    dem: Any = None,
    cutoff: float | None = None,
    boundary: Any = None,
    output: Literal["long", "wide"] = "long",
    **options: Any,
) -> pd.DataFrame:
    """Travel times between points, on the analysis' engine and trip model.

    Each trip walks off-road from the origin to a road (slope-aware with a DEM), travels
    on the roads (``mode="drive"``: class speeds and one-way streets; ``"walk"``: walking
    speed) and walks to the destination, exactly as the analysis measures a village's trip
    to a facility. The area searched is ``boundary`` (default: the points' hull) with the
    ``margin_m`` around it, on the analysis' grid (``resolution_m``). The engine joins
    every origin and destination to the roads (a road edge is split where a point boards
    it), so the times equal an analysis' to 1e-9 when given the same villages, facilities
    and area; with other point sets they can differ slightly (other boarding points).

    Parameters
    ----------
    origins, destinations : GeoDataFrame, DataFrame or path
        Points; ids from ``origins_id=``/``destinations_id=`` (or ``id=`` for both),
        ``crs=`` as for :func:`analyze`.
    mode : {"walk", "drive", "distance"}
        ``distance`` gives kilometres in a ``km`` column instead of ``minutes``.
    roads, dem : as for :func:`analyze`
    cutoff : float, optional
        Minutes (km for ``distance``); longer trips are left out.
    boundary : GeoDataFrame or shapely geometry, optional
        The area (give the county polygon to reproduce an analysis' grid exactly).
    output : {"long", "wide"}
        Long: one row per reachable pair, columns ``origin_id, destination_id, minutes``.
        Wide: an origins x destinations matrix (``inf`` where unreachable).
    **options
        ``resolution_m``, ``margin_m``, ``connectivity``, ``walking_speed_kmh``,
        ``offroad_factor``, ``max_slope_deg``, ``speeds``; ``id``, ``crs``, ``x``, ``y``...

    Returns
    -------
    DataFrame
    """
    from ynps_geo.io.memory import temporary_folder

    if mode not in ("walk", "drive", "distance"):
        msg = f"travel_times: mode {mode!r} is not walk, drive or distance. Fix: mode='drive'"
        raise ValidationError(msg)
    if output not in ("long", "wide"):
        msg = f"travel_times: output {output!r} is not 'long' or 'wide'"
        raise ValidationError(msg)
    source = Path.cwd() / "ynps_geo.travel_times()"
    engine_keys = {
        "resolution_m",
        "margin_m",
        "connectivity",
        "walking_speed_kmh",
        "offroad_factor",
        "max_slope_deg",
        "speeds",
    }
    point_keys = {"crs", "x", "y", "wkt", "id", "name", "layer", "encoding"}
    eng_opts = {k: v for k, v in options.items() if k in engine_keys}
    o_keys: dict[str, Any] = {}
    d_keys: dict[str, Any] = {}
    for key, value in options.items():
        if key in engine_keys:
            continue
        if key in point_keys:
            o_keys.setdefault(key, value)
            d_keys.setdefault(key, value)
        elif key.startswith("origins_") and key[8:] in point_keys:
            o_keys[key[8:]] = value
        elif key.startswith("destinations_") and key[13:] in point_keys:
            d_keys[key[13:]] = value
        else:
            allowed = sorted(
                engine_keys
                | point_keys
                | {f"origins_{k}" for k in point_keys}
                | {f"destinations_{k}" for k in point_keys}
            )
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            msg = f"travel_times: unknown keyword argument '{key}'.{hint}"
            raise ConfigError(msg)
    o_pts = _points(origins, "origins", o_keys, source)
    d_pts = _points(destinations, "destinations", d_keys, source)
    with temporary_folder() as tmp:
        setup = _engine_for(
            o_pts,
            d_pts,
            roads=roads,
            dem=dem,
            boundary=boundary,
            options=eng_opts,
            folder=Path(tmp),
            source=source,
        )
    scale = 1000.0 if mode == "distance" else 60.0
    limit = np.inf if cutoff is None else float(cutoff) * scale
    rows = np.arange(len(setup.facilities))
    values = setup.engine.village_matrix(mode, rows, limit).T / scale
    column = "km" if mode == "distance" else "minutes"
    o_ids = o_pts["point_id"].to_numpy(dtype=object)
    d_ids = setup.facilities["facility_id"].to_numpy(dtype=object)
    if output == "wide":
        wide = pd.DataFrame(values, index=pd.Index(o_ids, name="origin_id"), columns=d_ids)
        wide.columns.name = "destination_id"
        return wide
    oi, di = np.nonzero(np.isfinite(values))
    return pd.DataFrame(
        {
            "origin_id": o_ids[oi],
            "destination_id": d_ids[di],
            column: values[oi, di].astype(float),
        }
    )


def nearest(
    origins: Any,
    facilities: Any,
    *,
    k: int = 1,
    mode: str = "drive",
    **kwargs: Any,
) -> pd.DataFrame:
    """The ``k`` nearest facilities of each origin by travel time (see :func:`travel_times`).

    Returns
    -------
    DataFrame
        ``origin_id, rank (1..k), destination_id, minutes`` (``km`` for ``distance``); origins
        reaching fewer than ``k`` facilities have fewer rows.
    """
    if int(k) < 1:
        msg = f"nearest: k must be at least 1, got {k!r}"
        raise ValidationError(msg)
    long = travel_times(origins, facilities, mode=mode, **kwargs)
    column = "km" if mode == "distance" else "minutes"
    long = long.sort_values(["origin_id", column, "destination_id"], kind="stable")
    long["rank"] = long.groupby("origin_id", sort=False).cumcount() + 1
    out = long[long["rank"] <= int(k)]
    return out[["origin_id", "rank", "destination_id", column]].reset_index(drop=True)
