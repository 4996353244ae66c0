"""Workflows: config in, files out. Shared by the CLI, cron jobs and notebooks.

``analyze`` runs the whole analysis for a config; ``demo`` builds the embedded demo county and
analyzes it; ``standards_table`` lists the plan's rules. Each county is processed on its own
(with a margin around it); a county that fails is reported and the others are kept. Output
files are written atomically (a temporary file, then a rename), so a reader never sees a
half-written file.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ynps_geo.analysis import Inputs, Options, analyze_county
from ynps_geo.config import AnalysisConfig, load_config
from ynps_geo.coverage import (
    county_groups,
    coverage_by_group,
    coverage_by_setting,
    coverage_by_township,
    coverage_table,
    equity_table,
    uncovered_villages,
)
from ynps_geo.errors import ConfigError, DataQualityWarning, YnpsGeoError
from ynps_geo.model.results import AnalysisResult
from ynps_geo.model.standards import PlanStandard, StandardSet, load_standards

log = logging.getLogger("ynps_geo")

Progress = Callable[[str], None]


def _standards_for(cfg: AnalysisConfig) -> StandardSet:
    return _all_standards(cfg).select(cfg.standards)


def load_inputs(cfg: AnalysisConfig) -> Inputs:
    """Read every input a config names, all in EPSG:4326.

    The steps: the facility layers (:func:`read_facility_layers`, one table with unique ids),
    the villages, the counties (:func:`read_counties`, or one study area around the data),
    the checks of the points against the counties (:func:`check_points_in_area`), the
    villages' counties (:func:`assign_counties`), the roads (:func:`read_road_network`) and
    the barriers. A layer's entry may hold a file, a database spec or an object in memory
    (a frame, a graph; see :mod:`ynps_geo.api`): the same readers run on each.

    Villages are assigned to the county polygon that contains them; villages outside every
    county are reported (a warning with their count) and left out.
    """
    from ynps_geo.io.vector import read_geometries, read_villages

    notes: list[str] = []
    villages = read_villages(cfg.villages, cfg.base_dir) if cfg.villages else None
    facilities, layers = read_facility_layers(cfg, notes)
    counties = read_counties(cfg, villages, facilities, notes)
    facilities = check_points_in_area(cfg, counties, facilities, layers, villages, notes)
    if villages is not None:
        villages = assign_counties(villages, counties, notes)
    roads = read_road_network(cfg)
    barriers = None
    if cfg.barriers:
        path = cfg.barriers["path"]
        barriers = read_geometries(
            path, crs=cfg.barriers.get("crs"), layer=cfg.barriers.get("layer")
        )
        notes.append(f"barriers from {path.name}: {len(barriers)} features walking cannot cross")
    return Inputs(
        counties=counties,
        villages=villages,
        facilities=facilities,
        roads=roads,
        dem_path=cfg.dem["path"] if cfg.dem else None,
        population_path=cfg.population["path"] if cfg.population else None,
        notes=notes,
        barriers=barriers,
    )


def read_facility_layers(cfg: AnalysisConfig, notes: list[str]) -> tuple[Any, list[Any]]:
    """Every facility layer, and all of them in one table whose ``facility_id`` is unique.

    A duplicated id (the same code in two registers) becomes ``<source>:<id>``. Unknown
    types and rows without coordinates are added to ``notes``.
    """
    import geopandas as gpd

    from ynps_geo.io.vector import read_facilities

    layers = []
    for spec in cfg.facilities:
        f = read_facilities(spec, cfg.base_dir)
        unknown = f.attrs.get("unknown_types") or {}
        if unknown:
            total = sum(unknown.values())
            top = ", ".join(
                f"{k} ({v})" for k, v in sorted(unknown.items(), key=lambda kv: -kv[1])[:8]
            )
            notes.append(f"{f.attrs['source']}: {total} facilities of unknown type left out: {top}")
        if f.attrs.get("dropped_no_coordinates"):
            notes.append(
                f"{f.attrs['source']}: {f.attrs['dropped_no_coordinates']} rows without "
                "coordinates left out"
            )
        layers.append(f)
    facilities = gpd.GeoDataFrame(
        pd.concat(layers, ignore_index=True), geometry="geometry", crs="EPSG:4326"
    )
    if facilities["facility_id"].duplicated().any():
        dup = facilities["facility_id"].duplicated(keep="first")
        facilities.loc[dup, "facility_id"] = (
            facilities.loc[dup, "source"].astype(str)
            + ":"
            + facilities.loc[dup, "facility_id"].astype(str)
        )
    return facilities, layers


def read_counties(
    cfg: AnalysisConfig, villages: Any | None, facilities: Any, notes: list[str]
) -> Any:
    """The county polygons of ``boundary``, or one study area when the config has none.

    Without a boundary the study area is the population raster's extent, else the hull of
    the villages (or facilities) grown by 0.02 degrees; a note says so.
    """
    import geopandas as gpd
    from shapely.geometry import box

    from ynps_geo.io.postgis import spec_is_postgis
    from ynps_geo.io.vector import read_boundaries

    if cfg.boundary:
        b = cfg.boundary
        return read_boundaries(
            b if spec_is_postgis(b) else b["path"],
            crs=b.get("crs"),
            name_field=b.get("name_field"),
            layer=b.get("layer"),
            encoding=b.get("encoding"),
        )
    pts = villages.geometry if villages is not None else facilities.geometry
    hull = pts.union_all().convex_hull.buffer(0.02)
    if cfg.population:
        import rasterio
        from rasterio.warp import transform_bounds

        with rasterio.open(cfg.population["path"]) as src:
            hull = box(*transform_bounds(src.crs, "EPSG:4326", *src.bounds))
    notes.append(
        "no boundary given: the study area is the population raster's extent "
        "(or the villages' hull)"
    )
    return gpd.GeoDataFrame({"county": [cfg.name]}, geometry=[hull], crs="EPSG:4326")


def check_points_in_area(
    cfg: AnalysisConfig,
    counties: Any,
    facilities: Any,
    layers: list[Any],
    villages: Any | None,
    notes: list[str],
) -> Any:
    """GCJ-02 offsets against the boundary, and facilities beyond the counties' margin.

    Returns the facilities, without those beyond the margin when ``outside_facilities:
    drop``; notes record both checks.
    """
    from ynps_geo.io.vector import check_within, warn_if_gcj_offset

    if cfg.boundary:
        for layer in [*layers, *([villages] if villages is not None else [])]:
            check = warn_if_gcj_offset(layer, counties)
            if check.get("warned"):
                notes.append(
                    f"{layer.attrs.get('source', 'a layer')}: points sit offset against the "
                    "boundary as GCJ-02 data declared as WGS84 would; check its crs"
                )
    margin = float(cfg.options.get("margin_m", Options().margin_m))
    n_before = len(facilities)
    facilities = check_within(
        facilities,
        counties,
        what="facilities",
        margin_m=margin,
        drop=cfg.options.get("outside_facilities", "keep") == "drop",
    )
    if facilities.attrs.get("outside_study_area"):
        notes.append(
            f"{facilities.attrs['outside_study_area']} of {n_before} facilities lie beyond "
            f"the counties and their {margin / 1000:g} km margin "
            f"({cfg.options.get('outside_facilities', 'keep')})"
        )
    return facilities


def assign_counties(villages: Any, counties: Any, notes: list[str]) -> Any:
    """Villages with the ``county`` whose polygon holds them; those outside every county
    are left out with a warning and a note."""
    import geopandas as gpd

    joined = gpd.sjoin(villages, counties[["county", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    if "county_left" in joined:
        joined["county"] = joined["county_right"]
        joined = joined.drop(columns=["county_left", "county_right"])
    villages = villages.assign(county=joined["county"].to_numpy())
    outside = villages["county"].isna()
    if outside.any():
        ids = ", ".join(villages.loc[outside, "village_id"].astype(str).head(5))
        msg = (
            f"{int(outside.sum())} villages lie outside every county boundary and are left "
            f"out (e.g. {ids}); check their coordinates and CRS"
        )
        warnings.warn(msg, DataQualityWarning, stacklevel=3)
        notes.append(msg)
        villages = villages[~outside].reset_index(drop=True)
    return villages


def read_road_network(cfg: AnalysisConfig) -> Any:
    """The roads of the config: a file read by :func:`ynps_geo.io.osm.read_roads`, or a
    graph / RoadNetwork held in memory (:func:`ynps_geo.io.memory.as_road_network`)."""
    if not cfg.roads:
        return None
    if not isinstance(cfg.roads["path"], str | Path):
        from ynps_geo.io.memory import as_road_network

        return as_road_network(cfg.roads["path"], speeds=cfg.options.get("speeds"))
    from ynps_geo.io.osm import read_roads

    r = cfg.roads
    return read_roads(
        r["path"],
        class_field=r.get("class_field"),
        speed_field=r.get("speed_field"),
        oneway_field=r.get("oneway_field"),
        layer=r.get("layer"),
        crs=r.get("crs"),
        speeds=cfg.options.get("speeds"),
    )


def cache_key(cfg: AnalysisConfig) -> str:
    """Key of an analysis in the result cache: config, input file bytes and code."""
    from ynps_geo import settings
    from ynps_geo.io import cache
    from ynps_geo.io.postgis import layer_fingerprint, spec_is_postgis

    layers = [cfg.boundary, cfg.villages, *cfg.facilities]
    database = [layer_fingerprint(s) for s in layers if s and spec_is_postgis(s)]
    return cache.inputs_key(
        {
            "database_layers": database,
            "boundary": cfg.boundary,
            "villages": cfg.villages,
            "facilities": cfg.facilities,
            "roads": cfg.roads,
            "dem": cfg.dem,
            "population": cfg.population,
            "barriers": cfg.barriers,
            "standards": cfg.standards,
            "standards_file": cfg.standards_file,
            "overrides": cfg.standards_overrides,
            "options": cfg.options,
            "name": cfg.name,
            # the defaults of options the config leaves out
            "settings": {
                k: getattr(settings, k)
                for k in (
                    "walking_speed_kmh",
                    "offroad_speed_factor",
                    "raster_resolution_m",
                    "analysis_margin_m",
                    "max_snap_distance_m",
                )
            },
        }
    )


def run(
    cfg: AnalysisConfig, *, progress: Progress | None = None, use_cache: bool = False
) -> AnalysisResult:
    """Run the analysis of a config and return the results (nothing is written).

    Each county is analysed separately; a :class:`~ynps_geo.errors.YnpsGeoError` in one
    county is recorded in ``result.failures`` and the others go on.
    """
    say = progress or (lambda m: log.info(m))
    key = None
    if use_cache:
        from ynps_geo.io import cache

        t = time.perf_counter()
        key = cache_key(cfg)
        cached = cache.load(key)
        if isinstance(cached, AnalysisResult):
            cached.timings = {
                "cache_hit": time.perf_counter() - t,
                "total": time.perf_counter() - t,
            }
            cached.notes = [*cached.notes, f"travel times reused from the cache (key {key})"]
            # the key covers the parsed config, not its comments: show the config as it is now
            cached.config_text = config_text(cfg)
            say(f"inputs unchanged: reusing cached results ({key})")
            return cached
    result = _compute(cfg, say)
    if key is not None:
        from ynps_geo.io import cache

        cache.store(key, result)
    return result


def _compute(
    cfg: AnalysisConfig,
    say: Progress,
    *,
    inputs: Inputs | None = None,
    county_job: Callable[..., Any] | None = None,
) -> AnalysisResult:
    """The analysis itself (see :func:`run`).

    ``inputs`` (already read) and ``county_job`` (in place of :func:`_county_job`, same
    arguments) let :mod:`ynps_geo.scenario` run a baseline and a scenario on shared searches.
    """
    import geopandas as gpd

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    standards = _standards_for(cfg)
    circles: list[PlanStandard] = standards.of_kind("circle")
    inputs = inputs if inputs is not None else load_inputs(cfg)
    only = cfg.options.get("counties")
    if only:
        names = {str(c) for c in ([only] if isinstance(only, str) else only)}
        unknown = names - set(inputs.counties["county"].astype(str))
        if unknown:
            msg = (
                f"{cfg.source}: counties {sorted(unknown)} are not in the boundary layer; "
                f"it has {', '.join(inputs.counties['county'].astype(str).head(10))}"
            )
            raise ConfigError(msg)
        inputs.counties = inputs.counties[inputs.counties["county"].astype(str).isin(names)]
        inputs.counties = inputs.counties.reset_index(drop=True)
    timings["load_inputs"] = time.perf_counter() - t0
    say(
        f"loaded inputs in {timings['load_inputs']:.1f} s: {len(inputs.counties)} counties, "
        f"{0 if inputs.villages is None else len(inputs.villages)} villages, "
        f"{len(inputs.facilities)} facilities, "
        f"{0 if inputs.roads is None else inputs.roads.n_edges} road segments"
    )
    opts = Options.from_config(cfg)
    vil_parts, ppl_parts, iso_rows, acc_parts, fiso_rows = [], [], [], [], []
    failures: dict[str, str] = {}
    surfaces: dict[str, Any] = {}
    notes = list(inputs.notes)
    pairs = list(zip(inputs.counties["county"], inputs.counties.geometry, strict=True))
    jobs = int(cfg.options.get("jobs", 1))
    for county, res in _county_results(pairs, inputs, circles, opts, jobs, county_job):
        if isinstance(res, YnpsGeoError):
            failures[str(county)] = str(res)
            log.error("county %s failed: %s", county, res)
            continue
        timings[f"county:{county}"] = res.seconds
        say(f"county {county}: {res.grid.height}x{res.grid.width} grid, {res.seconds:.1f} s")
        notes += [f"{county}: {n}" for n in res.notes]
        if res.villages is not None:
            vil_parts.append(res.villages)
        if res.people is not None:
            ppl_parts.append(res.people)
        iso_rows += res.isochrones
        fiso_rows += res.facility_isochrones
        if res.surfaces:
            surfaces[str(county)] = (res.grid, res.surfaces)
        if res.access is not None and len(res.access):
            acc_parts.append(res.access)
            for cap, ids in res.access.attrs.get("missing_capacity", {}).items():
                if ids:
                    notes.append(
                        f"{county}: {len(ids)} facilities have no '{cap}' value and are "
                        f"left out of capacity-aware access (figures are lower bounds)"
                    )
    villages = (
        gpd.GeoDataFrame(
            pd.concat(vil_parts, ignore_index=True), geometry="geometry", crs="EPSG:4326"
        )
        if vil_parts
        else None
    )
    people = pd.concat(ppl_parts, ignore_index=True) if ppl_parts else None
    counties_ok = [str(c) for c in inputs.counties["county"] if str(c) not in failures]
    cov = coverage_table(villages, people, circles, counties_ok)
    by_setting = (
        coverage_by_setting(people if people is not None else villages, circles)
        if (people is not None or villages is not None)
        else pd.DataFrame()
    )
    isos = gpd.GeoDataFrame(iso_rows, geometry="geometry", crs="EPSG:4326") if iso_rows else None
    result = AnalysisResult(
        name=cfg.name,
        standards=circles,
        villages=villages,
        people=people,
        coverage=cov,
        by_setting=by_setting,
        equity=equity_table(cov, by_setting),
        uncovered=uncovered_villages(villages, circles) if villages is not None else pd.DataFrame(),
        isochrones=isos,
        facilities=inputs.facilities,
        counties=inputs.counties,
        failures=failures,
        notes=notes,
        timings=timings,
        config_text=config_text(cfg),
        inputs=_describe_inputs(cfg),
        access=pd.concat(acc_parts, ignore_index=True) if acc_parts else pd.DataFrame(),
        by_group=coverage_by_group(cov, county_groups(counties_ok, cfg.options.get("groups"))),
        by_township=coverage_by_township(villages, circles),
        facility_isochrones=(
            gpd.GeoDataFrame(fiso_rows, geometry="geometry", crs="EPSG:4326") if fiso_rows else None
        ),
    )
    result.language = str(cfg.options.get("language", "zh"))
    result.surfaces = surfaces
    from ynps_geo.compare import run_manifest

    result.run_info = run_manifest(cfg, circles)  # what a later comparison needs
    _rules(result, standards, inputs, cfg)
    result.timings["total"] = time.perf_counter() - t0
    return result


def _county_results(
    pairs: list[tuple[Any, Any]],
    inputs: Inputs,
    circles: list[PlanStandard],
    opts: Options,
    jobs: int,
    job: Callable[..., Any] | None = None,
) -> Any:
    """Yield ``(county, CountyResult or YnpsGeoError)`` for every county, in order.

    With ``jobs > 1`` the counties run in that many worker processes (spawned, so numba's
    threads are never forked); a county's :class:`~ynps_geo.errors.YnpsGeoError` is returned,
    not raised, so one county's bad data never loses the others.
    """
    if job is not None or jobs <= 1 or len(pairs) < 2:
        for county, geom in _progress_bar(pairs, "counties", opts.progress):
            yield county, (job or _county_job)(str(county), geom, inputs, circles, opts)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    workers = min(jobs, len(pairs))
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futures = [
            pool.submit(_county_job, str(county), geom, inputs, circles, opts)
            for county, geom in pairs
        ]
        bar = _progress_bar(futures, "counties", opts.progress)
        for (county, _), fut in zip(pairs, bar, strict=True):
            yield county, fut.result()


def _county_job(
    county: str, geom: Any, inputs: Inputs, circles: list[PlanStandard], opts: Options
) -> Any:
    """One county's analysis; a YnpsGeoError is returned (it pickles), others propagate."""
    try:
        return analyze_county(county, geom, inputs, circles, opts)
    except YnpsGeoError as err:
        return err


def _progress_bar(items: list[Any], what: str, enabled: bool | None = None) -> Any:
    """A tqdm.auto bar over counties when there is more than one (see analysis.progress_bar)."""
    from ynps_geo.analysis import progress_bar

    if len(items) < 2:
        return items
    return progress_bar(items, what, enabled=enabled, unit="county")


def _rules(
    result: AnalysisResult, standards: StandardSet, inputs: Inputs, cfg: AnalysisConfig
) -> None:
    """Presence and ratio rules per county (and per village where the rule says so)."""
    from ynps_geo.rules import presence_table, ratio_table

    presence = standards.of_kind("presence")
    if presence:
        result.presence = presence_table(
            presence,
            inputs.facilities,
            inputs.counties,
            result.villages,
            pilot_counties=cfg.options.get("pilot_counties"),
        )
        result.notes += [str(n) for n in result.presence.attrs.get("notes", [])]
    ratios = standards.of_kind("ratio")
    if ratios:
        src = result.people if result.people is not None else result.villages
        pop = {} if src is None else src.groupby("county")["population"].sum().to_dict()
        result.ratios = ratio_table(ratios, inputs.facilities, inputs.counties, pop)
        result.notes += [str(n) for n in result.ratios.attrs.get("notes", [])]


def config_text(cfg: AnalysisConfig) -> str:
    """The config as written (the YAML file), or as called (``ynps_geo.analyze``)."""
    if cfg.source.is_file():
        return cfg.source.read_text(encoding="utf-8")
    return str(cfg.raw.get("_text", ""))


def _describe_inputs(cfg: AnalysisConfig) -> dict[str, Any]:
    from ynps_geo.io.memory import describe_object
    from ynps_geo.io.postgis import describe_layer, spec_is_postgis

    def describe(spec: dict[str, Any]) -> str:
        if spec.get("label"):
            return str(spec["label"])
        held = describe_object(spec["path"])
        if held is not None:
            return held
        return describe_layer(spec) if spec_is_postgis(spec) else str(spec["path"])

    out: dict[str, Any] = {}
    for key in ("boundary", "villages", "roads", "dem", "population"):
        spec = getattr(cfg, key)
        if spec:
            out[key] = describe(spec)
    out["facilities"] = [describe(f) for f in cfg.facilities]
    return out


def write_outputs(result: AnalysisResult, out_dir: Path) -> dict[str, Path]:
    """Write every output file into ``out_dir`` (each atomically). Returns name -> path.

    Layers are written as GeoPackage and, when pyarrow is installed, also as GeoParquet:
    ``villages``, ``uncovered_villages``, ``isochrones`` and ``facilities`` (the facilities
    used, with their category).
    """
    import importlib.util

    import geopandas as gpd

    from ynps_geo.io.vector import atomic_write, write_layer

    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    layers: dict[str, Any] = {}
    if result.villages is not None:
        layers["villages"] = _village_layer(result)
        if len(result.uncovered):
            layers["uncovered_villages"] = gpd.GeoDataFrame(
                result.uncovered, geometry="geometry", crs="EPSG:4326"
            )
    if result.isochrones is not None and len(result.isochrones):
        layers["isochrones"] = result.isochrones
    if result.facility_isochrones is not None and len(result.facility_isochrones):
        layers["facility_isochrones"] = result.facility_isochrones
    if result.facilities is not None and len(result.facilities):
        layers["facilities"] = result.facilities
    parquet = importlib.util.find_spec("pyarrow") is not None
    for name, gdf in layers.items():
        written[name] = write_layer(gdf, out_dir / f"{name}.gpkg", layer=name)
        if parquet:
            written[f"{name}_parquet"] = write_layer(gdf, out_dir / f"{name}.parquet")
    with atomic_write(out_dir / "coverage.csv") as tmp:
        result.coverage.to_csv(tmp, index=False, encoding="utf-8")
    written["coverage"] = out_dir / "coverage.csv"
    from ynps_geo.surfaces import write_surfaces

    written.update(write_surfaces(result, out_dir))
    from ynps_geo.compare import write_manifest
    from ynps_geo.report import render

    written["manifest"] = write_manifest(result, out_dir)
    written.update(render.write_reports(result, out_dir))
    return written


def _village_layer(result: AnalysisResult) -> Any:
    if result.villages is None:
        msg = "no villages to write"
        raise ValueError(msg)
    v = result.villages.copy()
    first = ["village_id", "name", "county", "population", "setting"]
    rest = [c for c in v.columns if c not in first and c != "geometry"]
    return v[[*first, *rest, "geometry"]]


def _with_options(config: str | Path, options: dict[str, Any] | None) -> AnalysisConfig:
    """Load a config and apply option overrides (e.g. from the command line)."""
    cfg = load_config(config)
    for key, value in (options or {}).items():
        if value is not None:
            cfg.options[key] = value
    if int(cfg.options.get("jobs", 1)) < 1:
        msg = f"{cfg.source}: 'jobs' must be a positive number of worker processes"
        raise ConfigError(msg)
    return cfg


def analyze(
    config: str | Path,
    out_dir: str | Path,
    *,
    progress: Progress | None = None,
    options: dict[str, Any] | None = None,
    scenario: str | Path | None = None,
) -> AnalysisResult:
    """Run the full analysis described by a YAML config and write every output into ``out_dir``.

    ``options`` override the config's option keys, e.g. ``{"counties": ["大理市"], "jobs": 2}``
    (one county of a provincial config; counties in parallel worker processes).
    ``scenario`` names planned facilities (a YAML of facility layers, or a layer such as the
    ``sites`` command's output): the baseline is written into ``out_dir`` as usual, the
    scenario into ``out_dir/scenario/`` and the gain beside them (see
    :func:`ynps_geo.scenario.analyze_scenario`).
    """
    cfg = _with_options(config, options)
    if scenario is not None:
        from ynps_geo.scenario import analyze_scenario

        return analyze_scenario(cfg, scenario, out_dir, progress=progress)
    result = run(cfg, progress=progress)
    t = time.perf_counter()
    write_outputs(result, Path(out_dir))
    result.timings["write_outputs"] = time.perf_counter() - t
    return result


def report(
    config: str | Path,
    out_dir: str | Path,
    *,
    progress: Progress | None = None,
    use_cache: bool = True,
    stamp: str | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[AnalysisResult, Path]:
    """A scheduled report: the analysis written into a dated subfolder of ``out_dir``, atomically.

    Everything is written into a hidden temporary folder first and swapped in only when
    complete, so a failed run leaves the previous report of that date (and every other date)
    intact. Travel times are reused from the cache when the inputs are unchanged.

    Parameters
    ----------
    config : path
        Analysis config (YAML).
    out_dir : path
        Folder holding one subfolder per run date (``2026-12-01/``) and ``latest.txt``.
    use_cache : bool
        Reuse cached results for unchanged inputs.
    stamp : str, optional
        Subfolder name; default today's date (ISO).
    options : dict, optional
        Overrides of the config's option keys (see :func:`analyze`).

    Returns
    -------
    (AnalysisResult, Path)
        The result and the dated folder.
    """
    import datetime
    import json
    import shutil
    import tempfile

    cfg = _with_options(config, options)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamp = stamp or datetime.date.today().isoformat()
    if not stamp or stamp.startswith(".") or any(c in stamp for c in "/\\:"):
        msg = f"report stamp {stamp!r} is not a folder name; use a date such as 2026-12-01"
        raise ConfigError(msg)
    final = out / stamp
    _remove_stale(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{stamp}.partial-", dir=out))
    # mkdtemp makes the folder private (0700); the report is for readers other than cron
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        result = run(cfg, progress=progress, use_cache=use_cache)
        from ynps_geo.compare import attach_history

        attach_history(result, out, stamp)  # "since the previous report" and the trend
        t = time.perf_counter()
        write_outputs(result, tmp)
        result.timings["write_outputs"] = time.perf_counter() - t
        run_info = {
            "config": str(cfg.source),
            "stamp": stamp,
            "timings": result.timings,
            "failures": result.failures,
            "inputs": result.inputs,
        }
        (tmp / "run.json").write_text(
            json.dumps(run_info, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        old = None
        if final.exists():
            old = out / f".{stamp}.old-{os.getpid()}"
            os.replace(final, old)
        try:
            os.replace(tmp, final)
        except BaseException:
            if old is not None:  # put the previous report back
                os.replace(old, final)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    from ynps_geo.io.vector import atomic_write

    with atomic_write(out / "latest.txt") as f:
        Path(f).write_text(stamp + "\n", encoding="utf-8")
    return result, final


def _remove_stale(out: Path, max_age_s: float = 86400.0) -> None:
    """Remove hidden partial/old folders that a crashed run left more than a day ago.

    Younger ones may belong to a run in progress (an overlapping cron job) and are kept.
    """
    import shutil

    now = time.time()
    for p in out.glob(".*.*-*"):
        if p.is_dir() and (".partial-" in p.name or ".old-" in p.name):
            try:
                if now - p.stat().st_mtime > max_age_s:
                    shutil.rmtree(p, ignore_errors=True)
                    log.info("removed %s left by an earlier run that stopped", p.name)
            except OSError:
                continue


def demo(
    out_dir: str | Path, *, seed: int = 532901, progress: Progress | None = None
) -> AnalysisResult:
    """Build the embedded demo county under ``out_dir/data`` and analyze it into ``out_dir``."""
    from ynps_geo.datasets import generate_demo

    out = Path(out_dir)
    t = time.perf_counter()
    config = generate_demo(out / "data", seed=seed)
    gen = time.perf_counter() - t
    (progress or log.info)(f"generated the demo county in {gen:.1f} s")
    result = analyze(config, out, progress=progress)
    result.timings["generate_demo"] = gen
    return result


def suggest_sites(
    config: str | Path | AnalysisConfig, standard_id: str, p: int, **kwargs: Any
) -> Any:
    """Where ``p`` new facilities would close most of a standard's gap (see :mod:`ynps_geo.siting`).

    Reads the config's inputs, options and standards (with their overrides), then calls
    :func:`ynps_geo.siting.suggest_sites`; keyword arguments pass through (``county``,
    ``candidates``, ``method``...). Returns the chosen sites as a GeoDataFrame.
    """
    from ynps_geo import siting

    cfg = config if isinstance(config, AnalysisConfig) else load_config(config)
    kwargs.setdefault("options", Options.from_config(cfg))
    std = _all_standards(cfg)[standard_id]
    return siting.suggest_sites(load_inputs(cfg), std, p, **kwargs)


def _all_standards(cfg: AnalysisConfig) -> StandardSet:
    sset = load_standards(cfg.standards_file)
    if cfg.standards_overrides:
        sset = sset.merged(cfg.standards_overrides, source=str(cfg.source))
    return sset


def standards_table() -> pd.DataFrame:
    """Every plan standard the tool knows, as a table (id, kind, threshold, unit, titles)."""
    rows = []
    for s in load_standards().values():
        rows.append(
            {
                "id": s.id,
                "kind": s.kind,
                "threshold": "" if s.threshold is None else f"{s.threshold:g} {s.unit}",
                "mode": "/".join(sorted(set(s.mode.values()))) if s.kind == "circle" else "",
                "applies_to": s.applies_to if s.kind == "circle" else (s.unit_level or ""),
                "title_zh": s.title_zh,
                "title_en": s.title_en,
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "analyze",
    "cache_key",
    "demo",
    "load_inputs",
    "report",
    "run",
    "standards_table",
    "write_outputs",
]
