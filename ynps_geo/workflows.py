"""Workflows: config in, files out. Shared by the CLI, cron jobs and notebooks.

``analyze`` runs the whole analysis for a config; ``demo`` builds the embedded demo county and
analyzes it; ``standards_table`` lists the plan's rules. Each county is processed on its own
(with a margin around it); a county that fails is reported and the others are kept. Output
files are written atomically (a temporary file, then a rename), so a reader never sees a
half-written file.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ynps_geo.analysis import Inputs, Options, analyze_county, county_cells, finish_access
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
from ynps_geo.errors import (
    ConfigError,
    DataQualityWarning,
    DataSourceError,
    EngineError,
    ValidationError,
    YnpsGeoError,
)
from ynps_geo.model.results import AnalysisResult
from ynps_geo.model.standards import PlanStandard, StandardSet, load_standards

log = logging.getLogger("ynps_geo")

Progress = Callable[[str], None]


def _standards_for(cfg: AnalysisConfig) -> StandardSet:
    return _all_standards(cfg).select(cfg.standards)


def load_inputs(cfg: AnalysisConfig) -> Inputs:
    """Read every input a config names, all in EPSG:4326.

    Villages are assigned to the county polygon that contains them; villages outside every
    county are reported (a warning with their count) and left out. Each step below is one
    function that returns what it read and the notes it has for the report.
    """
    villages = _read_villages(cfg)
    layers, notes = _read_facility_layers(cfg)
    if villages is not None:
        notes += _village_notes(villages)
    facilities = _merge_facility_layers(layers)
    counties, more = _read_counties(cfg, villages, facilities)
    notes += more
    if cfg.boundary:
        notes += _gcj_notes_against_boundary(_point_layers(layers, villages), counties)
    facilities, more = _facilities_near_counties(facilities, counties, cfg.opts)
    notes += more
    if villages is not None:
        villages, more = _assign_villages(villages, counties)
        notes += more
    roads = _read_road_network(cfg)
    if roads is not None:
        notes += _gcj_notes_against_roads(_point_layers(layers, villages), roads)
    barriers, more = _read_barriers(cfg)
    notes += more
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


def _point_layers(layers: list[Any], villages: Any) -> list[Any]:
    """The facility layers and the villages (when given): the layers a CRS check looks at."""
    return [*layers, *([villages] if villages is not None else [])]


def _read_villages(cfg: AnalysisConfig) -> Any:
    """The config's villages (GeoDataFrame, EPSG:4326), or None when it names none."""
    from ynps_geo.io.vector import read_villages

    return read_villages(cfg.villages, cfg.base_dir) if cfg.villages else None


def _read_facility_layers(cfg: AnalysisConfig) -> tuple[list[Any], list[str]]:
    """Every facility layer of the config, and the notes of the rows read (one layer each)."""
    from ynps_geo.io.vector import read_facilities

    layers, notes = [], []
    for spec in cfg.facilities:
        f = read_facilities(spec, cfg.base_dir)
        notes += _facility_notes(f)
        layers.append(f)
    return layers, notes


def _facility_notes(f: Any) -> list[str]:
    """Report notes of one facility layer: rows of unknown type or without coordinates left
    out, rows given the finer type their name states."""
    notes = []
    unknown = f.attrs.get("unknown_types") or {}
    if unknown:
        total = sum(unknown.values())
        top = ", ".join(f"{k} ({v})" for k, v in sorted(unknown.items(), key=lambda kv: -kv[1])[:8])
        notes.append(f"{f.attrs['source']}: {total} facilities of unknown type left out: {top}")
    if f.attrs.get("dropped_no_coordinates"):
        notes.append(
            f"{f.attrs['source']}: {f.attrs['dropped_no_coordinates']} facility rows without "
            f"coordinates left out (rows {f.attrs.get('dropped_rows', '?')})"
        )
    refined = f.attrs.get("refined_by_name") or {}
    if refined:
        notes.append(
            f"{f.attrs['source']}: {sum(refined.values())} facilities of a coarse category "
            "were given the finer type their name states (人民医院 -> hospital, 卫生院 -> "
            "township_health_centre, 养老院 -> elder_care_institution...): "
            + ", ".join(f"{k} ({v})" for k, v in refined.items())
        )
    return notes


def _merge_facility_layers(layers: list[Any]) -> Any:
    """The facility layers as one GeoDataFrame with unique ids (:func:`unique_ids`)."""
    import geopandas as gpd

    facilities = gpd.GeoDataFrame(
        pd.concat(layers, ignore_index=True), geometry="geometry", crs="EPSG:4326"
    )
    facilities["facility_id"] = unique_ids(facilities["facility_id"], facilities["source"])
    return facilities


def _read_counties(cfg: AnalysisConfig, villages: Any, facilities: Any) -> tuple[Any, list[str]]:
    """The counties of the boundary layer (checked by :func:`check_counties`), or without a
    boundary one study area: the population raster's extent, else the points' hull."""
    import geopandas as gpd
    from shapely.geometry import box

    from ynps_geo.io.postgis import spec_is_postgis
    from ynps_geo.io.vector import read_boundaries

    if cfg.boundary:
        b = cfg.boundary
        counties = read_boundaries(
            b if spec_is_postgis(b) else b["path"],
            crs=b.get("crs"),
            name_field=b.get("name_field"),
            layer=b.get("layer"),
            encoding=b.get("encoding"),
        )
        return check_counties(counties)
    pts = villages.geometry if villages is not None else facilities.geometry
    hull = pts.union_all().convex_hull.buffer(0.02)
    if cfg.population:
        import rasterio
        from rasterio.warp import transform_bounds

        with rasterio.open(cfg.population["path"]) as src:
            hull = box(*transform_bounds(src.crs, "EPSG:4326", *src.bounds))
    counties = gpd.GeoDataFrame({"county": [cfg.name]}, geometry=[hull], crs="EPSG:4326")
    note = (
        "no boundary given: the study area is the population raster's extent "
        "(or the villages' hull)"
    )
    return counties, [note]


def _gcj_notes_against_boundary(layers: list[Any], counties: Any) -> list[str]:
    """Notes of point layers that sit against the boundary as GCJ-02 declared WGS84 would."""
    from ynps_geo.io.vector import warn_if_gcj_offset

    notes = []
    for layer in layers:
        check = warn_if_gcj_offset(layer, counties)
        if check.get("warned"):
            notes.append(
                f"{layer.attrs.get('source', 'a layer')}: points sit offset against the "
                "boundary as GCJ-02 data declared as WGS84 would; check its crs"
            )
    return notes


def _facilities_near_counties(
    facilities: Any, counties: Any, opts: Options
) -> tuple[Any, list[str]]:
    """Facilities beyond the counties and their margin: kept or dropped
    (``outside_facilities``), and counted in a note."""
    from ynps_geo.io.vector import check_within

    n_before = len(facilities)
    facilities = check_within(
        facilities,
        counties,
        what="facilities",
        margin_m=opts.margin_m,
        drop=opts.outside_facilities == "drop",
    )
    notes = []
    if facilities.attrs.get("outside_study_area"):
        notes.append(
            f"{facilities.attrs['outside_study_area']} of {n_before} facilities lie beyond "
            f"the counties and their {opts.margin_m / 1000:g} km margin "
            f"({opts.outside_facilities})"
        )
    return facilities, notes


def _assign_villages(villages: Any, counties: Any) -> tuple[Any, list[str]]:
    """Each village's county (the polygon that holds it); villages outside every county are
    left out, with a :class:`DataQualityWarning` and a note."""
    import geopandas as gpd

    joined = gpd.sjoin(villages, counties[["county", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    if "county_left" in joined:
        joined["county"] = joined["county_right"]
        joined = joined.drop(columns=["county_left", "county_right"])
    villages = villages.assign(county=joined["county"].to_numpy())
    outside = villages["county"].isna()
    if not outside.any():
        return villages, []
    ids = ", ".join(villages.loc[outside, "village_id"].astype(str).head(5))
    msg = (
        f"{int(outside.sum())} villages lie outside every county boundary and are left "
        f"out (e.g. {ids}); check their coordinates and CRS"
    )
    warnings.warn(msg, DataQualityWarning, stacklevel=3)  # the caller of load_inputs
    return villages[~outside].reset_index(drop=True), [msg]


def _read_road_network(cfg: AnalysisConfig) -> Any:
    """The road network: a file, or an object held in memory (``ynps_geo.analyze``)."""
    if not cfg.roads:
        return None
    if not isinstance(cfg.roads["path"], str | Path):
        from ynps_geo.io.memory import as_road_network

        return as_road_network(cfg.roads["path"], speeds=cfg.opts.speeds)
    from ynps_geo.io.osm import read_roads

    r = cfg.roads
    return read_roads(
        r["path"],
        class_field=r.get("class_field"),
        speed_field=r.get("speed_field"),
        oneway_field=r.get("oneway_field"),
        layer=r.get("layer"),
        crs=r.get("crs"),
        speeds=cfg.opts.speeds,
    )


def _gcj_notes_against_roads(layers: list[Any], roads: Any) -> list[str]:
    """Warnings of point layers that come closer to the roads read as GCJ-02."""
    from ynps_geo.io.vector import warn_if_gcj_offset_roads

    notes = []
    for layer in layers:
        check = warn_if_gcj_offset_roads(layer, roads)
        if check.get("warned"):
            notes.append(f"warning: {check['message']}")
    return notes


def _read_barriers(cfg: AnalysisConfig) -> tuple[Any, list[str]]:
    """Lines and polygons walking cannot cross (rivers, lakes, cliffs), and their note."""
    if not cfg.barriers:
        return None, []
    from ynps_geo.io.vector import read_geometries

    path = cfg.barriers["path"]
    barriers = read_geometries(path, crs=cfg.barriers.get("crs"), layer=cfg.barriers.get("layer"))
    return barriers, [f"barriers from {path.name}: {len(barriers)} features walking cannot cross"]


def unique_ids(ids: pd.Series, sources: pd.Series) -> np.ndarray:
    """Facility ids made unique across layers: ``source:id`` for a repeat, then ``#2``...

    Capacity-aware access adds each facility's demand across counties by id, and the
    comparisons of runs match facilities by id, so no two facilities of a run may share one.
    The first facility of an id keeps it; a repeat from another layer becomes
    ``<source>:<id>``; should that be taken too, ``<source>:<id>#2``, ``#3``...
    """
    out = ids.astype(str).to_numpy(dtype=object).copy()
    repeat = pd.Series(out).duplicated(keep="first").to_numpy()
    if not repeat.any():
        return out
    taken = set(out)  # every id as given: a new name never takes one of them
    src = sources.astype(str).to_numpy(dtype=object)
    for i in np.flatnonzero(repeat):
        base = f"{src[i]}:{out[i]}"
        new, n = base, 1
        while new in taken:
            n += 1
            new = f"{base}#{n}"
        out[i] = new
        taken.add(new)
    return out


def _village_notes(villages: Any) -> list[str]:
    """Report notes of the village rows left out or changed while reading."""
    source = villages.attrs.get("source", "villages")
    notes = []
    if villages.attrs.get("dropped_no_coordinates"):
        notes.append(
            f"{source}: {villages.attrs['dropped_no_coordinates']} villages without coordinates "
            f"left out (rows {villages.attrs.get('dropped_rows', '?')}); fill in their "
            "coordinates to include them"
        )
    if villages.attrs.get("dropped_by_setting_map"):
        notes.append(
            f"{source}: {villages.attrs['dropped_by_setting_map']} rows left out by setting_map "
            "(mapped to drop)"
        )
    if villages.attrs.get("population_missing"):
        notes.append(
            f"{source}: {villages.attrs['population_missing']} villages have no population "
            "(population_missing policy applied)"
        )
    return notes


def check_counties(counties: Any) -> tuple[Any, list[str]]:
    """Refuse or merge duplicated counties of a boundary layer.

    Polygons that share one name (a county split into parts, or a duplicated feature) are
    merged into one county, with a note, so that no village or person is counted twice. Two
    different names on the same polygon (more than 90% of the smaller one overlapping) is an
    error naming both: the villages could belong to either.

    Parameters
    ----------
    counties : GeoDataFrame
        ``county`` and polygon geometry (EPSG:4326), as read by
        :func:`ynps_geo.io.vector.read_boundaries`.

    Returns
    -------
    (GeoDataFrame, list of str)
        One row per county, and the notes of what was merged.

    Raises
    ------
    ValidationError
        Two names with the same polygon.
    """
    import geopandas as gpd
    import shapely

    source = counties.attrs.get("source", "boundary")
    notes: list[str] = []
    names = counties["county"].astype(str).to_numpy()
    geoms = np.asarray(counties.geometry.values, dtype=object)
    dup = pd.Series(names).duplicated(keep=False).to_numpy()
    if dup.any():
        keep_rows, merged_geoms = [], []
        for name in dict.fromkeys(names):
            rows = np.flatnonzero(names == name)
            keep_rows.append(rows[0])
            if len(rows) == 1:
                merged_geoms.append(geoms[rows[0]])
                continue
            same = [
                int(j) + 1
                for j in rows[1:]
                if shapely.equals_exact(geoms[j], geoms[rows[0]], tolerance=1e-9)
                or shapely.equals(geoms[j], geoms[rows[0]])
            ]
            merged_geoms.append(shapely.union_all(geoms[rows]))
            note = (
                f"{source}: {len(rows)} polygons are named '{name}' (features "
                f"{', '.join(str(int(r) + 1) for r in rows)}); they were merged into one county "
                "so that no village is counted twice"
            )
            if same:
                note += (
                    f" (features {', '.join(map(str, same))} repeat feature {int(rows[0]) + 1} "
                    "exactly: a duplicated feature; remove it from the source)"
                )
            notes.append(note)
            log.warning("%s", note)
        attrs = dict(counties.attrs)
        counties = gpd.GeoDataFrame(
            counties.drop(columns=counties.geometry.name).iloc[keep_rows].reset_index(drop=True),
            geometry=merged_geoms,
            crs="EPSG:4326",
        )
        counties.attrs.update(attrs)
        names = counties["county"].astype(str).to_numpy()
        geoms = np.asarray(counties.geometry.values, dtype=object)
    if len(geoms) > 1:
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        for i, j in zip(left, right, strict=True):
            if i >= j:
                continue
            inter = shapely.area(shapely.intersection(geoms[i], geoms[j]))
            smaller = min(shapely.area(geoms[i]), shapely.area(geoms[j]))
            if smaller > 0 and inter >= 0.9 * smaller:
                msg = (
                    f"{source}: counties '{names[i]}' and '{names[j]}' have the same polygon "
                    f"({inter / smaller:.0%} of the smaller one overlaps), so their villages and "
                    "people would be counted for one of them only. Fix: remove the duplicated "
                    "feature or correct its name or geometry"
                )
                raise ValidationError(msg)
    return counties, notes


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
            # every option's value (a default written out gives the same key as one left out)
            "options": cfg.opts.result_key(),
            "name": cfg.name,
            # the defaults of options the config leaves out
            "settings": {k: getattr(settings, k) for k in settings.ANALYSIS_DEFAULTS},
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
    # the objects of the modules imported so far stay out of the collector's full scans
    with _analysis_objects_frozen():
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
    if cfg.opts.counties:
        names = set(cfg.opts.counties)
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
    opts = cfg.opts
    # inputs every county uses are checked once: an unusable DEM is one error, not N failures
    check_inputs(inputs, opts.margin_m)
    vil_parts, ppl_parts, iso_rows, acc_parts, fiso_rows = [], [], [], [], []
    failures: dict[str, str] = {}
    surfaces: dict[str, Any] = {}
    errors: list[YnpsGeoError] = []
    notes = list(inputs.notes)
    not_evaluable = _not_evaluable(circles, inputs.facilities)
    notes += list(not_evaluable.values())
    evaluable = [s for s in circles if s.id not in not_evaluable]
    pairs = list(zip(inputs.counties["county"], inputs.counties.geometry, strict=True))
    jobs = opts.jobs
    scheduler = opts.scheduler
    done: dict[str, Any] = {}
    if scheduler and county_job is None:
        from ynps_geo.cluster import cluster_county_results

        if jobs > 1:
            log.info(
                "counties run on the Dask cluster at %s; jobs (%d) is not used", scheduler, jobs
            )
        results = _progress_bar(
            cluster_county_results(str(scheduler), cfg, pairs, evaluable, opts),
            "counties",
            opts.progress,
            len(pairs),
        )
    else:
        if scheduler:
            log.warning(
                "a scenario run shares the baseline's searches with the scenario in this "
                "process, so its counties run here; scheduler %s is not used",
                scheduler,
            )
        results = _county_results(pairs, inputs, evaluable, opts, jobs, county_job)
    for county, res in results:  # in the order they finish
        done[str(county)] = res
        if isinstance(res, YnpsGeoError):
            log.error("county %s failed: %s", county, res)
        else:
            say(f"county {county}: {res.grid.height}x{res.grid.width} grid, {res.seconds:.1f} s")
    for county, _ in pairs:  # the outputs in the boundary layer's order
        res = done.pop(str(county))
        if isinstance(res, YnpsGeoError):
            failures[str(county)] = str(res)
            errors.append(res)
            continue
        timings[f"county:{county}"] = res.seconds
        notes += [f"{county}: {n}" for n in res.notes]
        if res.villages is not None:
            vil_parts.append(res.villages)
        if res.people is not None:
            ppl_parts.append(res.people)
        iso_rows += res.isochrones
        if res.surfaces:
            surfaces[str(county)] = (res.surface_grid or res.grid, res.surfaces)
        fiso_rows += res.facility_isochrones
        if res.access_part is not None:
            acc_parts.append(res.access_part)
            for cap, ids in res.access_part.missing.items():
                if ids:
                    notes.append(
                        f"{county}: {len(ids)} facilities have no '{cap}' value and are "
                        f"left out of capacity-aware access (figures are lower bounds)"
                    )
        del res
    villages = (
        gpd.GeoDataFrame(
            pd.concat(vil_parts, ignore_index=True), geometry="geometry", crs="EPSG:4326"
        )
        if vil_parts
        else None
    )
    if pairs and len(failures) == len(pairs):
        raise _all_failed(failures, errors)
    if failures and acc_parts:
        notes.append(
            f"capacity-aware access near the borders of the counties that failed "
            f"({', '.join(failures)}) leaves out their villages' demand for the facilities "
            "they share, so it is overstated there until they run"
        )
    people = pd.concat(ppl_parts, ignore_index=True) if ppl_parts else None
    counties_ok = [str(c) for c in inputs.counties["county"] if str(c) not in failures]
    cov = _coverage_with_unknown(villages, people, circles, counties_ok, set(not_evaluable))
    if villages is not None:
        villages = _unknown_columns(villages, [s for s in circles if s.id in not_evaluable])
    by_setting = (
        coverage_by_setting(people if people is not None else villages, evaluable)
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
        uncovered=(
            uncovered_villages(villages, evaluable) if villages is not None else pd.DataFrame()
        ),
        isochrones=isos,
        facilities=inputs.facilities,
        counties=inputs.counties,
        failures=failures,
        notes=notes,
        timings=timings,
        config_text=config_text(cfg),
        inputs=_describe_inputs(cfg),
        # the reduce step: every county's demand per facility, then each village's access
        access=finish_access(acc_parts, opts),
        by_group=coverage_by_group(cov, county_groups(counties_ok, opts.groups)),
        by_township=coverage_by_township(villages, evaluable),
        facility_isochrones=(
            gpd.GeoDataFrame(fiso_rows, geometry="geometry", crs="EPSG:4326") if fiso_rows else None
        ),
    )
    result.language = opts.language
    result.surfaces = surfaces
    if opts.report_templates:
        result.report_templates = str(cfg.base_dir / opts.report_templates)
    from ynps_geo.compare import run_manifest

    result.run_info = run_manifest(cfg, circles)  # what a later comparison needs
    _rules(result, standards, inputs, cfg)
    result.timings["total"] = time.perf_counter() - t0
    return result


def _not_evaluable(circles: list[PlanStandard], facilities: Any) -> dict[str, str]:
    """Standard id -> note, for the circle standards no facility of the study area can serve."""
    from ynps_geo.rules import not_evaluable_note, unmatched_groups

    out = {}
    for s in circles:
        missing = unmatched_groups(s.facilities, facilities)
        if missing:
            out[s.id] = not_evaluable_note(s.id, missing, facilities)
            log.warning("%s", out[s.id])
    return out


def _unknown_columns(villages: Any, standards: list[PlanStandard]) -> Any:
    """The village columns of standards that cannot be evaluated: values NaN, covered unknown."""
    if not standards:
        return villages
    villages = villages.copy()
    setting = villages["setting"].astype(str)
    for s in standards:
        villages[s.value_column] = np.nan
        villages[s.covered_column] = pd.array([pd.NA] * len(villages), dtype="boolean")
        villages[f"{s.id}_applies"] = setting.map(s.applies).astype(bool).to_numpy()
        villages[f"{s.id}_facility_id"] = ""
        villages[f"{s.id}_facility"] = ""
    return villages


def _coverage_with_unknown(
    villages: Any,
    people: pd.DataFrame | None,
    circles: list[PlanStandard],
    counties: list[str],
    unknown: set[str],
) -> pd.DataFrame:
    """:func:`coverage_table`, with NaN covered figures for the standards in ``unknown``.

    The population and villages such a standard applies to are known; how many of them are
    covered is not (``population_covered``, ``share_covered`` and ``villages_uncovered`` are
    empty, never 0).
    """
    if not unknown:
        return coverage_table(villages, people, circles, counties)

    def placeholder(df: Any) -> Any:
        if df is None:
            return None
        df = df.copy()
        setting = df["setting"].astype(str)
        for s in circles:
            if s.id in unknown:
                df[s.covered_column] = False
                df[f"{s.id}_applies"] = setting.map(s.applies).astype(bool).to_numpy()
        return df

    cov = coverage_table(placeholder(villages), placeholder(people), circles, counties)
    cov["villages_uncovered"] = cov["villages_uncovered"].astype("Int64")
    rows = cov["standard_id"].isin(unknown)
    cov.loc[rows, ["population_covered", "share_covered"]] = np.nan
    cov.loc[rows, "villages_uncovered"] = pd.NA
    return cov


def _all_failed(failures: dict[str, str], errors: list[YnpsGeoError]) -> YnpsGeoError:
    """One error for a run in which every county failed (nothing is written then)."""
    reasons = list(dict.fromkeys(failures.values()))
    if len(failures) == 1:
        ((county, reason),) = failures.items()
        msg = f"county {county} failed, so nothing was written: {reason}"
    elif len(reasons) == 1:
        msg = f"all {len(failures)} counties failed, so nothing was written: {reasons[0]}"
    else:
        detail = "; ".join(f"{c}: {r}" for c, r in list(failures.items())[:5])
        msg = f"all {len(failures)} counties failed, so nothing was written: {detail}"
    kinds = {type(e) for e in errors}
    cls: type[YnpsGeoError] = kinds.pop() if len(kinds) == 1 else EngineError
    try:
        return cls(msg)
    except TypeError:  # an error class with another signature
        return EngineError(msg)


def check_inputs(inputs: Inputs, margin_m: float) -> None:
    """Check the inputs every county uses once, before the county loop.

    The DEM and the population raster must open, have a CRS, overlap the counties (with
    their margin) and hold valid values; a population raster must not hold infinite values.

    Raises
    ------
    CRSError, DataSourceError, ValidationError
        With the input's own message (the CLI exits 1), instead of one failure per county.
    """
    from ynps_geo.io.raster import raster_summary

    counties = inputs.counties
    if counties is None or not len(counties):
        return
    minx, miny, maxx, maxy = (float(v) for v in counties.total_bounds)
    pad = margin_m / 111_000.0
    for path, what in ((inputs.dem_path, "DEM"), (inputs.population_path, "population")):
        if path is None:
            continue
        info = raster_summary(
            path, what=what, area_wgs84=(minx - pad, miny - pad, maxx + pad, maxy + pad)
        )
        bx0, by0, bx1, by1 = info["bounds_wgs84"]
        extent = f"lon {bx0:.4f}..{bx1:.4f}, lat {by0:.4f}..{by1:.4f}"
        study = f"lon {minx:.4f}..{maxx:.4f}, lat {miny:.4f}..{maxy:.4f}"
        grow = pad if what == "DEM" else 0.0
        overlaps = (
            bx0 < maxx + grow and bx1 > minx - grow and by0 < maxy + grow and by1 > miny - grow
        )
        if not overlaps:
            msg = (
                f"{what} raster {path} does not overlap the counties: it covers {extent}, the "
                f"counties {study}. Fix: give a {what} that covers the study area, or check "
                "its CRS"
            )
            raise ValidationError(msg)
        if not info["any_valid"]:
            msg = (
                f"{what} raster {path} holds no valid value (every cell is nodata"
                + (" or outside -500..9000 m" if what == "DEM" else "")
                + f"; it covers {extent}). Fix: give a {what} with data over the counties"
            )
            raise ValidationError(msg)
        if what == "population" and info["has_inf"]:
            msg = (
                f"population raster {path} holds infinite values; people per cell must be "
                "finite. Fix: set those cells to the raster's nodata value"
            )
            raise ValidationError(msg)


def _county_results(
    pairs: list[tuple[Any, Any]],
    inputs: Inputs,
    circles: list[PlanStandard],
    opts: Options,
    jobs: int,
    job: Callable[..., Any] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(county, CountyResult or YnpsGeoError)`` for every county as it finishes.

    Serially (in order), or with ``jobs > 1`` in that many worker processes (spawned, so
    numba's threads are never forked). Each worker receives the inputs once, when it
    starts, not once per county; the largest counties (by grid cells) go first, so that
    no worker is left with a big one at the end. A county's
    :class:`~ynps_geo.errors.YnpsGeoError` is returned, not raised, so one county's bad
    data never loses the others.
    """
    if job is not None or jobs <= 1 or len(pairs) < 2:
        for county, geom in _progress_bar(pairs, "counties", opts.progress):
            yield county, (job or _county_job)(str(county), geom, inputs, circles, opts)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    workers = min(jobs, len(pairs))
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context("spawn"),
        initializer=_set_pool_inputs,
        initargs=(inputs, max(1, (os.cpu_count() or 1) // workers)),
    ) as pool:
        futures = {
            pool.submit(_pool_county_job, str(county), geom, circles, opts): county
            for county, geom in largest_first(pairs, opts)
        }
        for fut in _progress_bar(as_completed(futures), "counties", opts.progress, len(pairs)):
            yield futures[fut], fut.result()


def largest_first(pairs: list[tuple[Any, Any]], opts: Options) -> list[tuple[Any, Any]]:
    """The ``(county, geometry)`` pairs, the largest grid first (see :func:`county_cells`)."""
    cells = [county_cells(geom, opts) for _, geom in pairs]
    order = sorted(range(len(pairs)), key=lambda i: -cells[i])  # stable among equals
    return [pairs[i] for i in order]


#: the inputs of a worker process of the local pool (set once per process, at its start)
_POOL_INPUTS: Inputs | None = None


def _set_pool_inputs(inputs: Inputs, threads: int = 1) -> None:
    """A pool worker's start: its inputs, and its share of the cores for numba's threads
    (``jobs`` workers each running every core's threads would oversubscribe the machine)."""
    global _POOL_INPUTS
    _POOL_INPUTS = inputs
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]


def _pool_county_job(county: str, geom: Any, circles: list[PlanStandard], opts: Options) -> Any:
    """:func:`_county_job` in a worker of the local pool, on the inputs it was started with."""
    if _POOL_INPUTS is None:  # pragma: no cover - the pool's initializer sets them
        msg = "internal: a worker process started without its inputs"
        raise RuntimeError(msg)
    return _county_job(county, geom, _POOL_INPUTS, circles, opts)


def _county_job(
    county: str, geom: Any, inputs: Inputs, circles: list[PlanStandard], opts: Options
) -> Any:
    """One county's analysis; a YnpsGeoError is returned (it pickles), others propagate."""
    try:
        return analyze_county(county, geom, inputs, circles, opts)
    except YnpsGeoError as err:
        return err


def _progress_bar(
    items: Any, what: str, enabled: bool | None = None, total: int | None = None
) -> Any:
    """A tqdm.auto bar over counties when there is more than one (see analysis.progress_bar).

    ``total`` gives the count of an iterator (``as_completed``) that has no length.
    """
    from ynps_geo.analysis import progress_bar

    if (len(items) if total is None else total) < 2:
        return items
    return progress_bar(items, what, enabled=enabled, unit="county", total=total)


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
            pilot_counties=cfg.opts.pilot_counties,
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
    ``villages``, ``uncovered_villages``, ``isochrones``, ``facilities`` (the facilities
    used, with their category) and ``counties`` (the covered shares per county). Each
    GeoPackage carries the map's colours as QGIS styles (its ``layer_styles`` table,
    :mod:`ynps_geo.report.qgis`), which QGIS applies when the layer is opened.
    """
    with _analysis_objects_frozen():
        return _write_outputs(result, out_dir)


@contextlib.contextmanager
def _analysis_objects_frozen() -> Iterator[None]:
    """Keep the objects that exist now out of the garbage collector's scans for the block.

    The analysis and the writing of its outputs build many short-lived objects; each full
    collection would also scan the objects already there (the imported modules', then the
    analysis' ~180,000 for the demo county: ~0.25 s of the demo's writing).
    :func:`gc.freeze` moves them to the permanent generation (young objects are still
    collected as usual); they are unfrozen afterwards. Nothing is
    frozen when something else has frozen objects already.
    """
    import gc

    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _write_outputs(result: AnalysisResult, out_dir: Path) -> dict[str, Path]:
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
    from ynps_geo.report import qgis, tables

    counties = tables.county_share_layer(result)
    if counties is not None:
        layers["counties"] = counties
    parquet = importlib.util.find_spec("pyarrow") is not None
    with _naming_the_file(out_dir):
        for name, gdf in layers.items():
            styles = qgis.styles_for(name, gdf, result.standards, result.language)
            written[name] = write_layer(gdf, out_dir / f"{name}.gpkg", layer=name, styles=styles)
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


@contextlib.contextmanager
def _naming_the_file(out_dir: Path) -> Iterator[None]:
    """Turn a raw OSError while writing (``[Errno 28] No space left on device``, without a
    path) into a :class:`DataSourceError` naming the file being written."""
    try:
        yield
    except DataSourceError:
        raise
    except OSError as err:
        name = Path(err.filename).name if err.filename else None
        if name is None or name.startswith("."):
            name = (
                "coverage.csv"
                if not (out_dir / "coverage.csv").exists()
                else "the report files (report.html, map.html, report.xlsx)"
            )
        msg = (
            f"cannot write {name} into {out_dir}: {err.strerror or err}. Fix: free disk space "
            "or choose another output folder"
        )
        raise DataSourceError(msg) from err


def _village_layer(result: AnalysisResult) -> Any:
    if result.villages is None:
        msg = "no villages to write"
        raise ValueError(msg)
    v = result.villages.copy()
    first = ["village_id", "name", "county", "population", "setting"]
    rest = [c for c in v.columns if c not in first and c != "geometry"]
    return v[[*first, *rest, "geometry"]]


def _with_options(
    config: str | Path | AnalysisConfig, options: dict[str, Any] | None
) -> AnalysisConfig:
    """Load a config and apply option overrides (e.g. from the command line)."""
    cfg = config if isinstance(config, AnalysisConfig) else load_config(config)
    given = {k: v for k, v in (options or {}).items() if v is not None}
    if given:
        cfg.opts = cfg.opts.updated(given, cfg.source)
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
    (one county of a provincial config; counties in parallel worker processes) or
    ``{"scheduler": "tcp://10.0.0.5:8786"}`` (the counties on a Dask cluster, see
    :mod:`ynps_geo.cluster`).
    ``scenario`` names planned facilities (a YAML of facility layers, or a layer such as the
    ``sites`` command's output): the baseline is written into ``out_dir`` as usual, the
    scenario into ``out_dir/scenario/`` and the gain beside them (see
    :func:`ynps_geo.scenario.analyze_scenario`).
    """
    cfg = _with_options(config, options)
    out = check_output_dir(out_dir)
    if scenario is not None:
        from ynps_geo.scenario import analyze_scenario

        return analyze_scenario(cfg, scenario, out, progress=progress)
    result = run(cfg, progress=progress)
    t = time.perf_counter()
    write_folder(result, out)
    result.timings["write_outputs"] = time.perf_counter() - t
    return result


#: names of the files :func:`write_outputs` may write; anything else in an output folder (the
#: demo's ``data/``, the user's own files) is kept when a new run replaces the folder
OUTPUT_FILES: frozenset[str] = frozenset(
    {
        *(
            f"{layer}.{ext}"
            for layer in (
                "villages",
                "uncovered_villages",
                "isochrones",
                "facility_isochrones",
                "facilities",
            )
            for ext in ("gpkg", "parquet")
        ),
        "coverage.csv",
        "report.html",
        "map.html",
        "report.xlsx",
        "run.json",
    }
)


def check_output_dir(out_dir: str | Path) -> Path:
    """Make sure the output folder can be created and written, before any computation.

    Returns
    -------
    Path
        The folder, absolute (created if it did not exist).

    Raises
    ------
    DataSourceError
        ``out_dir`` is a file, cannot be created, or cannot be written.
    """
    import tempfile

    out = Path(out_dir).expanduser().absolute()
    if out.exists() and not out.is_dir():
        msg = (
            f"the output folder {out} is a file, not a folder. Fix: give --out a folder path "
            "(it is created when missing)"
        )
        raise DataSourceError(msg)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".ynps-write-test-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        msg = (
            f"cannot write into the output folder {out}: {err.strerror or err}. Fix: choose a "
            "folder you can write to, or free disk space"
        )
        raise DataSourceError(msg) from err
    return out


def write_folder(result: AnalysisResult, out_dir: str | Path) -> dict[str, Path]:
    """Write every output into ``out_dir`` as a whole: all new files, or the old ones intact.

    The files are written into a temporary sibling folder (``.NAME.partial-*``), which is
    swapped in only when complete; files of the folder that are not outputs (the demo's
    ``data/``, your own files) are carried over, outputs of the previous run that this run
    does not write are dropped. When the parent folder is not writable, the temporary folder
    is made inside ``out_dir`` and each file is moved into place (each move atomic).

    Raises
    ------
    DataSourceError
        A file cannot be written (disk full, permissions): the message names the file, and
        the previous outputs are left as they were.
    """
    import shutil
    import tempfile

    out = Path(out_dir).expanduser().absolute()
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale(out.parent, prefix=f".{out.name}.")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        sibling = True
    except OSError:
        tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
        sibling = False
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        try:
            written = write_outputs(result, tmp)
        except DataSourceError as err:
            msg = f"{err} (nothing in {out} was changed)"
            raise DataSourceError(msg) from err
        new = {p.name for p in tmp.iterdir()}
        if sibling:
            carried = [e for e in out.iterdir() if e.name not in new and e.name not in OUTPUT_FILES]
            for e in carried:
                os.replace(e, tmp / e.name)
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            try:
                os.replace(out, old)
                try:
                    os.replace(tmp, out)
                except BaseException:
                    os.replace(old, out)
                    raise
            except BaseException:
                for e in carried:  # give the user's files back
                    if (tmp / e.name).exists():
                        os.replace(tmp / e.name, out / e.name)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            for name in sorted(new):
                os.replace(tmp / name, out / name)
            for name in OUTPUT_FILES - new:
                stale = out / name
                if stale.is_file():
                    stale.unlink()
            tmp.rmdir()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {k: out / Path(v).name for k, v in written.items()}


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
    out = check_output_dir(out_dir)
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


def _remove_stale(out: Path, max_age_s: float = 86400.0, prefix: str = ".") -> None:
    """Remove hidden partial/old folders that a crashed run left more than a day ago.

    Younger ones may belong to a run in progress (an overlapping cron job) and are kept.
    ``prefix`` limits the search to one output folder's temporary siblings.
    """
    import shutil

    now = time.time()
    for p in out.glob(f"{glob.escape(prefix)}*-*"):
        if p.is_dir() and (".partial-" in p.name or ".old-" in p.name):
            try:
                if now - p.stat().st_mtime > max_age_s:
                    shutil.rmtree(p, ignore_errors=True)
                    log.info("removed %s left by an earlier run that stopped", p.name)
            except OSError:
                continue


def demo(
    out_dir: str | Path,
    *,
    seed: int = 532901,
    progress: Progress | None = None,
    force: bool = False,
) -> AnalysisResult:
    """Build the embedded demo county under ``out_dir/data`` and analyze it into ``out_dir``.

    A ``data/`` folder left by an earlier demo run is replaced only when its files are the
    ones the demo writes (unchanged); files you edited there (``config.yaml``...) are never
    overwritten unless ``force`` is true.

    Raises
    ------
    ConfigError
        ``seed`` outside 0..2**32-1, or ``out_dir/data`` holds edited demo files and ``force``
        is false.
    """
    import shutil
    import tempfile

    from ynps_geo.datasets import generate_demo

    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        msg = f"demo seed {seed!r} is invalid: give a whole number from 0 to 4294967295"
        raise ConfigError(msg)
    out = check_output_dir(out_dir)
    data = out / "data"
    t = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=".data.partial-", dir=out))
    try:
        generate_demo(staging, seed=int(seed))
        changed = [
            f.name
            for f in sorted(staging.iterdir())
            if (data / f.name).is_file() and (data / f.name).read_bytes() != f.read_bytes()
        ]
        if changed and not force:
            msg = (
                f"{data} already holds demo inputs that differ from the ones this demo writes "
                f"({', '.join(changed[:4])}: edited, or made with another --seed). Fix: rerun "
                "with --force to overwrite them, or choose another --out"
            )
            raise ConfigError(msg)
        data.mkdir(exist_ok=True)
        for f in sorted(staging.iterdir()):
            os.replace(f, data / f.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    config = data / "config.yaml"
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
    kwargs.setdefault("options", cfg.opts.copy())
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
