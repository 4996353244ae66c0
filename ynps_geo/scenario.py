"""Planned facilities in one run: the baseline, the scenario and the gain side by side.

``ynps-geo analyze config.yaml --scenario planned.yaml --out DIR`` answers "what would these
planned facilities add?" without a second run by hand. Each county's travel engine is built
once, with the planned facilities as extra facility rows after the existing ones. The
baseline runs first; every search it makes (the nearest existing facility of a group, one
facility's catchment...) is kept. The scenario then asks for the same sets plus the planned
facilities of the same group: the existing part is taken from the baseline, only the planned
part is searched, and the two are joined by taking the nearer facility per node (the
nearest-facility distance of a union of sources is the minimum over its parts). So the
searches the two runs share are made once (see :class:`SharedSearches`; ``stats`` counts
them), and the scenario equals a full rerun with the planned facilities added.

The planned facilities file is one of

* a YAML with ``facilities:`` (a list of layers written as in the analysis config; paths
  relative to the YAML) and optionally ``name:``;
* a vector file of points written by ``ynps-geo sites --out sites.gpkg`` (it carries
  ``candidate_id`` and ``standard_id``, so it is read as it is: each site becomes a facility
  of the standard's group, id ``new-<candidate_id>``);
* any other vector file or CSV given as a layer in such a YAML, with ``category`` or
  ``category_field`` as in the config.

Outputs: ``DIR`` holds the baseline exactly as ``analyze`` writes it, with a section
"Planned facilities: baseline and scenario side by side" in ``report.html`` (and the sheets
in ``report.xlsx``, a layer of newly covered villages on ``map.html``); ``DIR/scenario/``
holds the scenario's full outputs; ``DIR/scenario_gain.csv`` (per county and standard:
baseline share, scenario share, gain), ``DIR/scenario.html``/``.xlsx`` and
``DIR/scenario_changes.gpkg`` hold the comparison.

Counties run one after the other in a scenario (``--jobs`` is not used): the searches are
shared within one process. Searches kept for the scenario are bounded by
:data:`CACHE_BYTES`; beyond it they are searched again (same results, more time).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ynps_geo.errors import ConfigError, DataSourceError, YnpsGeoError

if TYPE_CHECKING:
    from ynps_geo.analysis import Inputs
    from ynps_geo.config import AnalysisConfig
    from ynps_geo.model.results import AnalysisResult

log = logging.getLogger(__name__)

__all__ = ["SharedSearches", "analyze_scenario", "read_planned", "run_scenario"]

SCENARIO_KEYS = {"name", "facilities"}

CACHE_BYTES = 2 * 1024**3
"""Searches kept for the scenario at most (bytes); beyond it they are searched again."""


class SharedSearches:
    """A travel engine whose searches of existing facilities are kept for a second run.

    Facility rows ``>= planned_from`` are planned facilities. A set of rows is split into its
    existing part and its planned part; the existing part's result is looked up (or searched
    and kept), the planned part is searched, and per node the nearer of the two is returned.
    Every other attribute is the wrapped engine's.

    Attributes
    ----------
    stats : dict
        ``searched`` (sets searched by the engine), ``reused`` (sets answered from a search
        already made) and ``planned`` (planned-only sets searched).
    """

    def __init__(self, engine: Any, planned_from: int, budget_bytes: int = CACHE_BYTES) -> None:
        self._engine = engine
        self._planned_from = int(planned_from)
        self._budget = int(budget_bytes)
        self._used = 0
        self._cache: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self.stats = {"searched": 0, "reused": 0, "planned": 0}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def search(
        self,
        mode: str,
        facility_sets: Sequence[np.ndarray],
        cutoff: float = np.inf,
        *,
        walked: Sequence[tuple[np.ndarray, np.ndarray] | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`ynps_geo.engine.TravelEngine.search`, sharing the existing part
        (``walked`` is not needed: the existing part's searches are reused whole)."""
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        todo: dict[tuple[Any, ...], np.ndarray] = {}
        for s in facility_sets:
            rows = np.unique(np.asarray(s, dtype=np.int64))
            base = rows[rows < self._planned_from]
            plan = rows[rows >= self._planned_from]
            parts.append((base, plan))
            for kind, sub in (("b", base), ("p", plan)):
                if not len(sub):
                    continue
                key = (mode, float(cutoff), kind, sub.tobytes())
                if key in self._cache or key in todo:
                    self.stats["reused"] += 1
                    continue
                todo[key] = sub
        fresh: dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = {}
        if todo:
            keys = list(todo)
            dist, near = self._engine.search(mode, [todo[k] for k in keys], cutoff)
            for i, k in enumerate(keys):
                fresh[k] = (dist[i], near[i])
                # planned parts are kept too: a planned facility's catchment is asked for
                # by several standards
                self.stats["searched" if k[2] == "b" else "planned"] += 1
                packed = _pack(dist[i], near[i])
                size = sum(a.nbytes for a in packed if isinstance(a, np.ndarray))
                if self._used + size <= self._budget:
                    self._cache[k] = packed
                    self._used += size
        # nodes of this mode's graph (a mode's graph may have its own size)
        n = next((len(d) for d, _ in fresh.values()), None)
        if n is None:
            n = next(
                (
                    _size(self._cache[(mode, float(cutoff), kind, sub.tobytes())])
                    for base, plan in parts
                    for kind, sub in (("b", base), ("p", plan))
                    if len(sub)
                ),
                None,
            )
        if n is None:  # only empty sets: the size of the mode's graph
            fixed = getattr(self._engine, "n_nodes", None)
            n = int(fixed) if fixed is not None else self._engine.node_count(mode)
        out_d = np.full((len(parts), n), np.inf)
        out_n = np.full((len(parts), n), -1, dtype=np.int64)
        for i, (base, plan) in enumerate(parts):
            for kind, sub in (("b", base), ("p", plan)):
                if not len(sub):
                    continue
                key = (mode, float(cutoff), kind, sub.tobytes())
                d, nn = fresh[key] if key in fresh else _unpack(self._cache[key])
                better = d < out_d[i]  # ties keep the existing facility
                out_d[i] = np.where(better, d, out_d[i])
                out_n[i] = np.where(better, nn, out_n[i])
        return out_d, out_n


def _pack(dist: np.ndarray, near: np.ndarray) -> tuple[Any, ...]:
    """A search result kept compactly: only the reached nodes when fewer than half are
    (searches with a cutoff), else the arrays as they are. Values are kept exactly."""
    reached = np.flatnonzero(np.isfinite(dist) | (near >= 0))
    if 2 * len(reached) >= len(dist):
        return ("dense", dist.copy(), near.copy())
    return ("sparse", len(dist), reached, dist[reached], near[reached])


def _size(packed: tuple[Any, ...]) -> int:
    """Number of nodes of a kept search result."""
    return len(packed[1]) if packed[0] == "dense" else int(packed[1])


def _unpack(packed: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray]:
    if packed[0] == "dense":
        return packed[1], packed[2]
    _, size, idx, values, nearest = packed
    dist = np.full(size, np.inf)
    near = np.full(size, -1, dtype=np.int64)
    dist[idx] = values
    near[idx] = nearest
    return dist, near


# ============================================================================ planned facilities
def _sites_layer(gdf: Any, source: str, standard: str | None) -> Any:
    """The ``sites`` command's output as facility rows of the standard's group."""
    from ynps_geo.siting import sites_as_facilities

    sid = standard or (
        str(gdf["standard_id"].dropna().iloc[0])
        if "standard_id" in gdf.columns and gdf["standard_id"].notna().any()
        else None
    )
    if sid is None:
        msg = (
            f"{source}: sites without a 'standard_id' column; write them with "
            "'ynps-geo sites ... --out' or give {path: ..., standard: health_15min}"
        )
        raise ConfigError(msg)
    if gdf.crs is None:
        msg = f"{source}: the sites layer has no CRS; write it with 'ynps-geo sites --out'"
        raise ConfigError(msg)
    out = sites_as_facilities(gdf.to_crs("EPSG:4326"), sid)
    out["source"] = source
    return out


def _read_layer(spec: Any, base: Path, where: str) -> Any:
    from ynps_geo.io.vector import FACILITY_KEYS, read_facilities

    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, dict) or "path" not in spec:
        msg = f"{where}: each planned facility layer needs a 'path', got {spec!r}"
        raise ConfigError(msg)
    path = Path(str(spec["path"])).expanduser()
    if not path.is_absolute():
        path = (base / path).resolve()
    if not path.exists():
        msg = f"{where}: the planned facilities file {path} does not exist; fix its 'path'"
        raise DataSourceError(msg)
    standard = spec.get("standard")
    if path.suffix.lower() not in (".csv", ".txt", ".xlsx", ".xls"):
        import geopandas as gpd

        try:
            gdf = gpd.read_file(path, layer=spec.get("layer"))
        except Exception as err:  # an unreadable file: one line naming it
            msg = f"{path}: cannot read the planned facilities ({err})"
            raise DataSourceError(msg) from err
        if "candidate_id" in gdf.columns and not (
            spec.get("category") or spec.get("category_field")
        ):
            return _sites_layer(gdf, path.name, standard)
    rest = {k: v for k, v in spec.items() if k != "standard"}
    unknown = set(rest) - set(FACILITY_KEYS)
    if unknown:
        msg = f"{where}: unknown keys {sorted(unknown)} in a planned facility layer"
        raise ConfigError(msg)
    if not (rest.get("category") or rest.get("category_field") or rest.get("osm_tags")):
        msg = (
            f"{where}: planned layer {path.name} needs 'category' (or 'category_field'), as a "
            "facilities layer of the config does"
        )
        raise ConfigError(msg)
    return read_facilities({**rest, "path": path}, base)


def read_planned(path: str | Path) -> tuple[str, Any]:
    """The planned facilities of a scenario file, as facility rows (EPSG:4326).

    Parameters
    ----------
    path : path
        A YAML (``name:``, ``facilities:``) or a layer written by ``ynps-geo sites``.

    Returns
    -------
    (name, GeoDataFrame)
        The scenario's name and its facilities (``facility_id, name, category, subtype,
        ...``).

    Raises
    ------
    ConfigError, DataSourceError
        A missing file, unknown keys, a layer without a category, no facilities.
    """
    import geopandas as gpd
    import yaml

    p = Path(path).resolve()
    if not p.exists():
        msg = f"scenario file {p} not found; give planned facilities (YAML or the sites output)"
        raise DataSourceError(msg)
    name = p.stem
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            msg = f"{p}: not valid YAML ({err}); fix the syntax near the line shown"
            raise ConfigError(msg) from err
        if isinstance(data, list):
            data = {"facilities": data}
        if not isinstance(data, dict) or "facilities" not in data:
            msg = f"{p}: a scenario lists its planned facilities under 'facilities:'"
            raise ConfigError(msg)
        unknown = set(data) - SCENARIO_KEYS
        if unknown:
            msg = f"{p}: unknown keys {sorted(unknown)}; a scenario has 'name' and 'facilities'"
            raise ConfigError(msg)
        name = str(data.get("name") or name)
        specs = data["facilities"]
        specs = [specs] if isinstance(specs, dict | str) else list(specs or [])
        layers = [_read_layer(s, p.parent, str(p)) for s in specs]
    else:
        layers = [_read_layer({"path": str(p)}, p.parent, str(p))]
    layers = [x for x in layers if len(x)]
    if not layers:
        msg = f"{p}: no planned facilities found; list at least one facility"
        raise ConfigError(msg)
    planned = gpd.GeoDataFrame(
        pd.concat(layers, ignore_index=True), geometry="geometry", crs="EPSG:4326"
    )
    planned["facility_id"] = planned["facility_id"].astype(str)
    return name, planned


# ============================================================================ the run
def run_scenario(
    cfg: AnalysisConfig,
    planned: Any,
    *,
    progress: Callable[[str], None] | None = None,
    name: str = "scenario",
) -> tuple[AnalysisResult, AnalysisResult]:
    """The baseline and the scenario of a config, computed on shared searches.

    Parameters
    ----------
    cfg : AnalysisConfig
    planned : GeoDataFrame
        Planned facilities (see :func:`read_planned`).
    progress : callable, optional
    name : str
        The scenario's name (for its report).

    Returns
    -------
    (baseline, scenario) : AnalysisResult
        ``scenario.timings["searches_*"]`` count the searches made and reused.
    """
    import geopandas as gpd

    from ynps_geo import workflows
    from ynps_geo.analysis import analyze_county, build_county_engine

    say = progress or (lambda m: log.info(m))
    inputs = workflows.load_inputs(cfg)
    existing = set(inputs.facilities["facility_id"].astype(str))
    planned = planned.copy()
    clash = planned["facility_id"].isin(existing) | planned["facility_id"].duplicated()
    planned.loc[clash, "facility_id"] = "planned:" + planned.loc[clash, "facility_id"]
    if planned["facility_id"].duplicated().any():
        msg = "planned facilities repeat an id; give each planned facility its own id"
        raise ConfigError(msg)
    all_fac = gpd.GeoDataFrame(
        pd.concat([inputs.facilities, planned], ignore_index=True),
        geometry="geometry",
        crs="EPSG:4326",
    )
    planned_ids = set(planned["facility_id"])
    scen_inputs = dataclasses.replace(
        inputs,
        facilities=all_fac,
        notes=[*inputs.notes, f"scenario {name}: {len(planned)} planned facilities added"],
    )
    base_inputs = dataclasses.replace(inputs, counties=inputs.counties.copy())
    stash: dict[str, Any] = {}
    stats = {"searched": 0, "reused": 0, "planned": 0}
    used: set[str] = set()

    def base_job(county: str, geom: Any, _in: Inputs, circles: Any, opts: Any) -> Any:
        try:
            setup = build_county_engine(county, geom, scen_inputs, opts)
            fac = setup.facilities
            is_plan = fac["facility_id"].astype(str).isin(planned_ids).to_numpy()
            used.update(fac.loc[is_plan, "facility_id"].astype(str))
            n_base = int((~is_plan).sum())
            if is_plan[:n_base].any():  # planned rows come last (concatenated last)
                msg = "internal: planned facilities are not the last engine rows"
                raise RuntimeError(msg)
            shared = SharedSearches(setup.engine, n_base)

            def copy_vil() -> Any:
                return None if setup.villages is None else setup.villages.copy()

            base_setup = dataclasses.replace(
                setup,
                engine=shared,
                facilities=fac.iloc[:n_base].reset_index(drop=True),
                villages=copy_vil(),
            )
            base = analyze_county(county, geom, base_inputs, circles, opts, setup=base_setup)
            scen_setup = dataclasses.replace(setup, engine=shared, villages=copy_vil())
            scen = analyze_county(county, geom, scen_inputs, circles, opts, setup=scen_setup)
            for k, v in shared.stats.items():
                stats[k] += v
            stash[county] = scen
            return base
        except YnpsGeoError as err:
            stash[county] = err
            return err

    def scen_job(county: str, geom: Any, _in: Inputs, circles: Any, opts: Any) -> Any:
        return stash.pop(county)

    t = time.perf_counter()
    baseline = workflows._compute(cfg, say, inputs=base_inputs, county_job=base_job)
    scenario = workflows._compute(cfg, say, inputs=scen_inputs, county_job=scen_job)
    say(
        f"scenario {name}: {stats['searched']} searches of existing facilities shared, "
        f"{stats['reused']} reused, {stats['planned']} of planned facilities "
        f"({time.perf_counter() - t:.1f} s)"
    )
    outside = sorted(planned_ids - used)
    if outside:
        note = (
            f"{len(outside)} planned facilities lie beyond every county and its margin and "
            f"change nothing: {', '.join(outside[:5])}; check their coordinates and CRS"
        )
        log.warning(note)
        scenario.notes.append(note)
    scenario.name = f"{cfg.name} · {name}"
    scenario.timings.update({f"searches_{k}": float(v) for k, v in stats.items()})
    scenario.run_info = {
        **scenario.run_info,
        "scenario": name,
        "planned": sorted(planned_ids),
        "planned_outside": outside,
    }
    return baseline, scenario


def analyze_scenario(
    cfg: AnalysisConfig,
    scenario: str | Path,
    out_dir: str | Path,
    *,
    progress: Callable[[str], None] | None = None,
) -> AnalysisResult:
    """Run a config with and without planned facilities and write both and their gain.

    Returns the baseline; ``baseline.changes`` is the comparison (kind ``scenario``) and
    ``baseline.scenario_result`` the scenario's result. See the module docstring for files.
    """
    from ynps_geo import workflows
    from ynps_geo.compare import compare
    from ynps_geo.report.changes import write_comparison

    name, planned = read_planned(scenario)
    baseline, scen = run_scenario(cfg, planned, progress=progress, name=name)
    comp = compare(baseline, scen, kind="scenario", before_label="baseline", after_label=name)
    outside = scen.run_info.get("planned_outside") or []
    if outside:
        comp.notes.append(
            f"{len(outside)} planned facilities lie beyond every county and its margin and "
            f"change nothing: {', '.join(outside[:5])}"
        )
    baseline.changes = comp
    baseline.scenario_result = scen  # type: ignore[attr-defined]
    out = Path(out_dir)
    t = time.perf_counter()
    workflows.write_outputs(baseline, out)
    workflows.write_outputs(scen, out / "scenario")
    files = write_comparison(comp, out, name=cfg.name, prefix="scenario")
    gain = out / "scenario_gain.csv"
    files["shares"].replace(gain)
    baseline.timings["write_outputs"] = time.perf_counter() - t
    return baseline
