"""The options of an analysis: one typed object holding every key a config may set.

:class:`Options` is what the code reads (``cfg.opts.margin_m``, ``cfg.opts.language``...):
each option a config (YAML) or ``ynps_geo.analyze(..., **options)`` may set is a typed
attribute with its default here, the one place defaults live. Defaults that are module
settings (``resolution_m``, ``margin_m``, ``walking_speed_kmh``, ``offroad_factor``) are read
from :mod:`ynps_geo.settings` when the options are made, i.e. when a config is read.

Types and ranges are checked by the pydantic model of :mod:`ynps_geo.config_model` (which
also gives the JSON Schema): :meth:`Options.from_keys` turns the option keys of a config
into options, or a one-line :class:`~ynps_geo.errors.ConfigError` naming the config, the key,
the value and the fix; an unknown key is an error there too. A test checks that the
model's keys and the attributes below are the same.

A few attributes are for Python callers only (no config key): ``isochrones``, ``access``,
``access_mode``, ``access_zones`` and ``progress``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ynps_geo import settings

__all__ = ["NOT_IN_RESULTS", "Options"]

#: attributes that change no figure of a result (left out of the result cache's key)
NOT_IN_RESULTS: tuple[str, ...] = ("jobs", "scheduler", "progress")


#: field metadata of a config key
_KEY: dict[str, Any] = {"key": True}


def _from_setting(name: str) -> dict[str, Any]:
    """Field metadata of a config key whose default is the module setting ``name``."""
    return {"key": True, "setting": name}


@dataclass
class Options:
    """The options of an analysis, typed, with their defaults.

    Config keys (YAML, ``ynps_geo.analyze`` keywords, ``ynps-geo analyze --jobs/--county``):

    Attributes
    ----------
    resolution_m : float
        Grid cell size, metres (default :data:`ynps_geo.settings.raster_resolution_m`).
    margin_m : float
        Margin around each county that roads and facilities are taken from, metres
        (default :data:`ynps_geo.settings.analysis_margin_m`).
    connectivity : int
        Grid neighbours of off-road walking, 8 or 16 (default 16; why:
        ``benchmarks/bench_connectivity.py``).
    walking_speed_kmh : float
        Walking speed on roads and paths, km/h
        (default :data:`ynps_geo.settings.walking_speed_kmh`). Off-road walking does not use
        it: its speed is Tobler's hiking function of the slope times ``offroad_factor``.
    offroad_factor : float
        Off-road walking as a share of path speed
        (default :data:`ynps_geo.settings.offroad_speed_factor`).
    facility_isochrones : {"none", "walk", "all"}
        One isochrone per facility: none, of walking standards only (default), or all.
    max_slope_deg : float or None
        Slopes steeper than this cannot be walked (cliffs); None: no limit.
    access_threshold_min : float
        Catchment of the classic 2SFCA, minutes (default 30).
    surfaces : bool
        Keep each standard's travel-time surface (``travel_time_<standard>.tif``,
        ``Result.travel_time_raster``); default True.
    speeds : dict or None
        Driving speed per road class, km/h, over the class defaults.
    outside_facilities : {"keep", "drop"}
        Facilities beyond the counties and their margin: kept and noted (default), or dropped.
    jobs : int
        Counties analysed in parallel worker processes (default 1).
    scheduler : str or None
        Run the counties on this Dask cluster: the scheduler's address (``tcp://host:8786``)
        or scheduler file (default None: on this machine, as ``jobs`` says).
    counties : tuple of str or None
        Analyse only these counties of the boundary layer (a name in the config is a list of one).
    groups : dict or None
        Named groups of counties for the report, ``{group: [county, ...]}``.
    pilot_counties : list of str or None
        Counties (or prefectures) where pilot rules apply.
    prefecture : str or None
        The prefecture's name (accepted and recorded; nothing reads it yet).
    language : {"zh", "en"}
        Language the report and map open in (default zh).
    report_templates : str or None
        Folder of jinja2 templates overriding the report's own, relative to the config.

    For Python callers only: ``isochrones`` (dissolved isochrones per standard, default
    True), ``access`` (capacity-aware access, default True), ``access_mode`` (its travel
    mode, default drive), ``access_zones`` (enhanced 2SFCA weights per minute band) and
    ``progress`` (tqdm bars: True, False, or None for "on an interactive terminal").

    ``given`` holds the config keys the config set (see :meth:`from_keys`).
    """

    resolution_m: float = field(
        default_factory=lambda: settings.raster_resolution_m,
        metadata=_from_setting("raster_resolution_m"),
    )
    margin_m: float = field(
        default_factory=lambda: settings.analysis_margin_m,
        metadata=_from_setting("analysis_margin_m"),
    )
    connectivity: int = field(default=16, metadata=_KEY)  # why: benchmarks/bench_connectivity.py
    walking_speed_kmh: float = field(
        default_factory=lambda: settings.walking_speed_kmh,
        metadata=_from_setting("walking_speed_kmh"),
    )
    offroad_factor: float = field(
        default_factory=lambda: settings.offroad_speed_factor,
        metadata=_from_setting("offroad_speed_factor"),
    )
    isochrones: bool = True
    facility_isochrones: Literal["none", "walk", "all"] = field(default="walk", metadata=_KEY)
    access: bool = True
    max_slope_deg: float | None = field(default=None, metadata=_KEY)
    access_threshold_min: float = field(default=30.0, metadata=_KEY)
    access_mode: str = "drive"
    access_zones: tuple[tuple[float, float], ...] = ((10.0, 1.0), (20.0, 0.68), (30.0, 0.22))
    #: keep each standard's travel-time surface (float32 cells inside the county) for
    #: ``travel_time_<standard>.tif`` and ``Result.travel_time_raster``
    surfaces: bool = field(default=True, metadata=_KEY)
    #: progress bars (tqdm.auto) over counties, searches and facility isochrones: True, False,
    #: or None for "on an interactive terminal" (``ynps-geo -q`` silences them all)
    progress: bool | None = None
    speeds: dict[str, float] | None = field(default=None, metadata=_KEY)
    outside_facilities: Literal["keep", "drop"] = field(default="keep", metadata=_KEY)
    jobs: int = field(default=1, metadata=_KEY)
    scheduler: str | None = field(default=None, metadata=_KEY)
    counties: tuple[str, ...] | None = field(default=None, metadata=_KEY)
    groups: dict[str, list[str]] | None = field(default=None, metadata=_KEY)
    pilot_counties: list[str] | None = field(default=None, metadata=_KEY)
    prefecture: str | None = field(default=None, metadata=_KEY)
    language: Literal["zh", "en"] = field(default="zh", metadata=_KEY)
    report_templates: str | None = field(default=None, metadata=_KEY)
    given: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the config keys' types and ranges; numbers become float (``jobs`` int)."""
        from ynps_geo.config_model import check_options

        values = {k: getattr(self, k) for k in self.config_keys() if getattr(self, k) is not None}
        for key, value in check_options(values, "Options").items():
            setattr(self, key, value)
        if self.progress is not None:
            self.progress = bool(self.progress)
        if isinstance(self.counties, str):
            self.counties = (self.counties,)
        elif self.counties is not None:
            self.counties = tuple(str(c) for c in self.counties)

    # ------------------------------------------------------------------ construction
    @classmethod
    def config_keys(cls) -> tuple[str, ...]:
        """The config keys (YAML keys, ``ynps_geo.analyze`` keywords), in attribute order."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("key"))

    @classmethod
    def settings_of(cls) -> dict[str, str]:
        """Config key -> the :mod:`ynps_geo.settings` name that gives its default."""
        return {
            f.name: f.metadata["setting"]
            for f in dataclasses.fields(cls)
            if f.metadata.get("setting") is not None
        }

    @classmethod
    def from_keys(
        cls, values: Mapping[str, Any], source: str | Path = "Options", **python: Any
    ) -> Options:
        """Options from the option keys of a config; the keys left out take their defaults.

        Parameters
        ----------
        values : Mapping
            Option keys and values as written (YAML) or passed (keywords).
        source : str or Path
            The config, named in the error.
        **python
            Python-only attributes (``progress``, ``isochrones``...).

        Raises
        ------
        ConfigError
            One line naming ``source``, the first bad key (or an unknown one), its value
            and the fix.
        """
        from ynps_geo.config_model import check_options

        checked = check_options(values, source)
        opts = cls(**checked, **python)
        opts.given = frozenset(checked)
        return opts

    @classmethod
    def from_config(cls, cfg: Any) -> Options:
        """A copy of an :class:`~ynps_geo.config.AnalysisConfig`'s options (``cfg.opts``)."""
        return cfg.opts.copy()

    def copy(self, **changes: Any) -> Options:
        """A copy, with ``changes`` applied (checked); ``given`` is kept."""
        out = dataclasses.replace(self, **changes)
        out.given = self.given
        return out

    def updated(self, values: Mapping[str, Any], source: str | Path = "Options") -> Options:
        """A copy with the config keys in ``values`` overridden (checked; they count as given).

        Raises
        ------
        ConfigError
            As :meth:`from_keys`.
        """
        from ynps_geo.config_model import check_options

        checked = check_options(values, source)
        out = self.copy(**checked)
        out.given = self.given | frozenset(checked)
        return out

    # --------------------------------------------------------------------- reading
    def as_config(self) -> dict[str, Any]:
        """The config keys that differ from the defaults or that the config set, as in YAML.

        This is what a run manifest records (with the module settings beside it) and what
        ``cfg.options`` shows.
        """
        default = type(self)()
        out: dict[str, Any] = {}
        for key in self.config_keys():
            value = getattr(self, key)
            if key in self.given or value != getattr(default, key):
                out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def result_key(self) -> dict[str, Any]:
        """Every attribute a result depends on (all but :data:`NOT_IN_RESULTS`), for cache keys."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.init and f.name not in NOT_IN_RESULTS
        }
