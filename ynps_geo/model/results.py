"""The result objects that ``report/`` consumes (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ynps_geo.model.standards import PlanStandard


@dataclass
class AnalysisResult:
    """Everything an analysis produced, for writers and reports.

    Attributes
    ----------
    name : str
        Analysis name (from the config).
    standards : list of PlanStandard
        Circle standards evaluated, in order.
    villages : GeoDataFrame or None
        One row per village with ``<id>_minutes``/``<id>_km``, ``<id>_covered``, ...
    people : DataFrame or None
        Populated raster cells with their times (when a population raster was given).
    coverage : DataFrame
        ``coverage.csv``: per (county, standard) and ``ALL``.
    by_setting : DataFrame
        Covered share by county and urban/rural setting.
    equity : DataFrame
        Spread across counties and the urban-rural gap per standard.
    uncovered : DataFrame
        Villages failing at least one standard, ranked.
    isochrones : GeoDataFrame or None
        Dissolved isochrone polygons per county, standard and mode.
    facilities : GeoDataFrame
        The facilities used, with category and subtype.
    counties : GeoDataFrame
        County polygons.
    facility_isochrones : GeoDataFrame or None
        One isochrone per facility, standard and mode, with the population inside.
    by_group : DataFrame
        Coverage of the plan's reporting groups (border, autonomous, user groups).
    by_township : DataFrame
        Village-population coverage per township (when villages name their township).
    presence, ratios, access : DataFrame
        Presence rules, provision ratios and capacity-aware access (may be empty).
    failures : dict
        County -> error message for counties that failed (the others are kept).
    notes : list of str
        Assumptions and data-quality notes for the report's method section.
    inputs : dict
        Input files and their sizes/hashes, for the report.
    timings : dict
        Seconds per step.
    config_text : str
        The config file as written, for the report.
    language : {"zh", "en"}
        Language of the map and the report (config key ``language``).
    report_templates : str, optional
        Folder of report templates replacing the packaged ones (config key
        ``report_templates``); ``None`` for the packaged templates.
    run_info : dict
        What the run records for later comparisons (``run_manifest.json``, see
        :func:`ynps_geo.compare.run_manifest`).
    changes : Comparison or None
        The comparison the report shows ("since the previous report", or a planned
        scenario against this baseline); see :mod:`ynps_geo.compare`.
    changes_error : str
        Why the previous report could not be compared (empty when it could).
    trend : DataFrame or None
        Covered shares over the dated runs of a report folder.
    """

    name: str
    standards: list[PlanStandard]
    villages: Any | None
    people: pd.DataFrame | None
    coverage: pd.DataFrame
    by_setting: pd.DataFrame
    equity: pd.DataFrame
    uncovered: pd.DataFrame
    isochrones: Any | None
    facilities: Any
    counties: Any
    facility_isochrones: Any | None = None
    by_group: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_township: pd.DataFrame = field(default_factory=pd.DataFrame)
    presence: pd.DataFrame = field(default_factory=pd.DataFrame)
    ratios: pd.DataFrame = field(default_factory=pd.DataFrame)
    access: pd.DataFrame = field(default_factory=pd.DataFrame)
    failures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    config_text: str = ""
    language: str = "zh"
    #: county -> (GridSpec, {(standard id, mode): float32 (H, W) minutes or km}), NaN outside
    #: the county; written as ``travel_time_<standard>.tif`` (see :mod:`ynps_geo.surfaces`)
    surfaces: dict[str, tuple[Any, dict[tuple[str, str], Any]]] = field(default_factory=dict)
    report_templates: str | None = None
    run_info: dict[str, Any] = field(default_factory=dict)
    changes: Any | None = None
    changes_error: str = ""
    trend: pd.DataFrame | None = None

    def compare(self, other: Any, *, kind: str = "compare") -> Any:
        """What changed from ``other`` (the earlier run) to this one.

        Parameters
        ----------
        other : AnalysisResult or path
            The earlier run: a result, or an output folder of ``analyze``/``report``.
        kind : {"compare", "previous", "scenario"}
            Wording of the report.

        Returns
        -------
        ynps_geo.compare.Comparison
            ``.shares``, ``.villages`` and ``.facilities``: the tables of ``ynps-geo compare``.

        Raises
        ------
        NotComparableError
            Different standards, counties or village ids.
        """
        from ynps_geo.compare import compare

        return compare(other, self, kind=kind)
