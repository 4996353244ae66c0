"""The analysis configuration (YAML): parsing and validation, no data reading.

Paths are relative to the config file. Keys are documented in the README and in
``../shared/CONTRACT.md``; an unknown key is an error (with the closest known key suggested),
so a misspelt option never silently falls back to a default.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from ynps_geo.config_model import check_options
from ynps_geo.errors import ConfigError, DataSourceError
from ynps_geo.io.postgis import POSTGIS_KEYS, check_layer_spec, layer_label, spec_is_postgis
from ynps_geo.io.vector import FACILITY_KEYS, VILLAGE_KEYS
from ynps_geo.options import Options

#: the option keys of a config (every attribute of :class:`~ynps_geo.options.Options` a
#: config may set), read into ``AnalysisConfig.opts``
OPTION_KEYS: tuple[str, ...] = Options.config_keys()
TOP_KEYS = {
    "name",
    "boundary",
    "villages",
    "facilities",
    "roads",
    "dem",
    "population",
    "standards",
    "standards_file",
    "barriers",
    "standards_overrides",
    *OPTION_KEYS,
}
LAYER_KEYS: dict[str, set[str]] = {
    "boundary": {
        "path",
        "crs",
        "name_field",
        "layer",
        "encoding",
        "code_field",
        "prefecture_field",
        *POSTGIS_KEYS,
    },
    # the readers own their keys (setting_map, population_missing... are documented there)
    "villages": set(VILLAGE_KEYS),
    "facilities": set(FACILITY_KEYS),
    "roads": {"path", "crs", "layer", "class_field", "speed_field", "oneway_field"},
    "dem": {"path"},
    "population": {"path"},
    "barriers": {"path", "crs", "layer"},
}


def _check_keys(data: Mapping[str, Any], allowed: set[str], where: str, source: Path) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            msg = (
                f"{source}: unknown key '{key}' in {where}.{hint} "
                f"Allowed keys: {', '.join(sorted(allowed))}"
            )
            raise ConfigError(msg)


@dataclass
class AnalysisConfig:
    """A validated analysis configuration with absolute paths.

    Attributes mirror the YAML keys; layer specs are plain dicts whose ``path`` is absolute.
    The option keys (``margin_m``, ``language``, ``jobs``...) are read into ``opts``, one
    typed :class:`~ynps_geo.options.Options`.
    """

    source: Path
    name: str
    boundary: dict[str, Any] | None
    villages: dict[str, Any] | None
    facilities: list[dict[str, Any]]
    roads: dict[str, Any] | None
    dem: dict[str, Any] | None
    population: dict[str, Any] | None
    standards: list[str] | None
    standards_file: Path | None = None
    standards_overrides: list[dict[str, Any]] = field(default_factory=list)
    opts: Options = field(default_factory=Options)
    raw: dict[str, Any] = field(default_factory=dict)
    barriers: dict[str, Any] | None = None

    @property
    def options(self) -> Mapping[str, Any]:
        """The option keys the config sets, as written (read-only; the code reads ``opts``)."""
        return MappingProxyType(self.opts.as_config())

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths are resolved against."""
        return self.source.parent


def _layer(data: Any, key: str, source: Path) -> dict[str, Any] | None:
    if data is None:
        return None
    if isinstance(data, str):
        data = {"path": data}
    if not isinstance(data, Mapping):
        msg = f"{source}: '{key}' must be a mapping like {{path: FILE, crs: wgs84}}, got {data!r}"
        raise ConfigError(msg)
    _check_keys(data, LAYER_KEYS[key], f"'{key}'", source)
    if spec_is_postgis(data):
        if key not in ("boundary", "villages", "facilities"):
            msg = f"{source}: '{key}' cannot be read from a database; give a file in 'path'"
            raise ConfigError(msg)
        out = dict(data)
        out["dsn"] = str(out.pop("path", None) or data["dsn"]).strip()
        if data.get("dsn") and data.get("path") and str(data["path"]).strip() != out["dsn"]:
            msg = f"{source}: '{key}' gives both 'path' and 'dsn'; keep the DSN in 'dsn' only"
            raise ConfigError(msg)
        try:
            check_layer_spec(out)
        except ConfigError as err:
            msg = f"{source}: '{key}': {err}"
            raise ConfigError(msg) from err
        return out
    if "path" not in data:
        msg = f"{source}: '{key}' has no 'path'; give the file, relative to the config file"
        raise ConfigError(msg)
    out = dict(data)
    path = Path(str(data["path"])).expanduser()
    if not path.is_absolute():
        path = (source.parent / path).resolve()
    if not path.exists():
        msg = f"{source}: the {key} file {path} does not exist; fix 'path' under '{key}'"
        raise DataSourceError(msg)
    out["path"] = path
    return out


def load_config(path: str | Path) -> AnalysisConfig:
    """Read and validate an analysis config.

    Raises
    ------
    DataSourceError
        The config or a file it names does not exist.
    ConfigError
        Invalid YAML, an unknown key, a missing required key, or an unknown standard id.
    """
    source = Path(path).resolve()
    if not source.exists():
        msg = f"config file {source} not found; give the path of your analysis YAML"
        raise DataSourceError(msg)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        msg = f"{source}: not valid YAML ({err}); fix the syntax near the line shown"
        raise ConfigError(msg) from err
    except UnicodeDecodeError as err:
        msg = f"{source}: not UTF-8 text; save the config as UTF-8"
        raise ConfigError(msg) from err
    if not isinstance(data, Mapping):
        msg = f"{source}: expected a mapping of keys (name, boundary, villages, ...)"
        raise ConfigError(msg)
    _check_keys(data, TOP_KEYS, "the config", source)
    check_options(data, source, whole=True)  # the types of the other keys
    facilities_raw = data.get("facilities") or []
    if isinstance(facilities_raw, Mapping | str):
        facilities_raw = [facilities_raw]
    facilities = [f for f in (_layer(d, "facilities", source) for d in facilities_raw) if f]
    for i, f in enumerate(facilities):
        if "category" not in f and "category_field" not in f and not f.get("osm_tags"):
            what = layer_label(f) if spec_is_postgis(f) else f["path"].name
            msg = (
                f"{source}: facilities layer {i + 1} ({what}) needs 'category' (one "
                "category for the layer), 'category_field' (a column of types) or 'osm_tags: true'"
            )
            raise ConfigError(msg)
    villages = _layer(data.get("villages"), "villages", source)
    population = _layer(data.get("population"), "population", source)
    if villages is None and population is None:
        msg = f"{source}: give 'villages' or a 'population' raster (or both) to measure coverage"
        raise ConfigError(msg)
    if not facilities:
        msg = f"{source}: no 'facilities' layers; list at least one facility file"
        raise ConfigError(msg)
    standards = data.get("standards")
    if standards is not None:
        if isinstance(standards, str):
            standards = [standards]
        if not isinstance(standards, list | tuple) or not all(
            isinstance(s, str | int) and not isinstance(s, bool) for s in standards
        ):
            msg = (
                f"{source}: 'standards' must be a list of standard ids (e.g. [health_15min, "
                f"school_walk]), got {standards!r}; `ynps-geo standards` lists the ids"
            )
            raise ConfigError(msg)
        standards = [str(s) for s in standards]
    sfile = data.get("standards_file")
    if sfile is not None:
        sfile = (source.parent / str(sfile)).resolve()
        if not sfile.exists():
            msg = f"{source}: standards_file {sfile} does not exist"
            raise DataSourceError(msg)
    overrides = data.get("standards_overrides") or []
    if not isinstance(overrides, list):
        msg = f"{source}: 'standards_overrides' must be a list of {{id: ..., threshold: ...}}"
        raise ConfigError(msg)
    # every option's type and range (config_model), before any data is read
    opts = Options.from_keys({k: data[k] for k in OPTION_KEYS if k in data}, source)
    tpl = opts.report_templates
    if tpl is not None and not (source.parent / tpl).is_dir():
        msg = (
            f"{source}: 'report_templates' folder {str(tpl)!r} does not exist; fix the path "
            "(relative to the config) or remove the key to use the packaged templates"
        )
        raise ConfigError(msg)
    cfg = AnalysisConfig(
        source=source,
        name=str(data.get("name") or source.stem),
        boundary=_layer(data.get("boundary"), "boundary", source),
        villages=villages,
        facilities=facilities,
        roads=_layer(data.get("roads"), "roads", source),
        dem=_layer(data.get("dem"), "dem", source),
        population=population,
        standards=standards,
        standards_file=sfile,
        standards_overrides=list(overrides),
        opts=opts,
        raw=dict(data),
        barriers=_layer(data.get("barriers"), "barriers", source),
    )
    # validate standard ids now, so a typo fails before any data is read
    from ynps_geo.model.standards import load_standards

    sset = load_standards(cfg.standards_file)
    if cfg.standards_overrides:
        sset = sset.merged(cfg.standards_overrides, source=str(source))
    sset.select(cfg.standards)
    return cfg
