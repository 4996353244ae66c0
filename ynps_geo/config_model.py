# mypy: disable-error-code="valid-type,assignment,arg-type,call-overload"
"""The typed model of the analysis config: every option's type and range, and a JSON Schema.

:func:`check_options` checks the option keys of a config (``margin_m``, ``resolution_m``,
``connectivity``...) before any data is read, and turns the first problem into the project's
one-line :class:`~ynps_geo.errors.ConfigError` naming the key, the value and the fix.
:func:`config_schema` gives a JSON Schema of the whole config that editors (VS Code's YAML
extension: ``# yaml-language-server: $schema=ynps-geo.schema.json``) use to complete and check
keys as they are typed; ``ynps-geo config-schema`` prints it. The code reads the checked
values as one :class:`ynps_geo.options.Options` (a typed attribute per key, with its default);
a test keeps the model's keys and the attributes the same.

Ranges (inclusive unless said):

==========================  ==============================================================
``resolution_m``            > 0 and <= 5000 (metres per grid cell)
``margin_m``                >= 0 and <= 200000
``walking_speed_kmh``       > 0 and <= 20
``offroad_factor``          > 0 and <= 1
``connectivity``            8 or 16
``access_threshold_min``    > 0 and <= 600
``max_slope_deg``           > 0 and <= 90
``jobs``                    an integer >= 1
``scheduler``               a Dask scheduler address (``tcp://host:8786``) or scheduler file
``speeds``                  class name -> km/h, each > 0 and <= 200
==========================  ==============================================================
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from ynps_geo.errors import ConfigError, MissingDependencyError

__all__ = ["OPTION_FIXES", "check_options", "config_schema", "options_model"]

#: The fix told for a bad value of each option.
OPTION_FIXES: dict[str, str] = {
    "resolution_m": "give the grid cell size in metres, a number > 0 (default 100)",
    "margin_m": "give the margin around each county in metres, a number >= 0 (default 10000)",
    "walking_speed_kmh": "give the walking speed in km/h, a number > 0 (default 5)",
    "offroad_factor": "give the off-road share of walking speed, a number in (0, 1] (default 0.6)",
    "connectivity": "use 16 (the default) or 8 neighbours",
    "access_threshold_min": "give the 2SFCA catchment in minutes, a number > 0 (default 30)",
    "max_slope_deg": "give the steepest walkable slope in degrees, a number in (0, 90]",
    "jobs": "give the number of worker processes, a whole number >= 1",
    "scheduler": (
        "give the Dask scheduler's address, e.g. tcp://10.0.0.5:8786, or the path of its "
        "scheduler file (.json)"
    ),
    "speeds": "map road classes to km/h, e.g. speeds: {track: 8, tertiary: 25}",
    "outside_facilities": "use keep (the default) or drop",
    "facility_isochrones": "use none, walk (the default) or all",
    "language": "use zh (Chinese, the default) or en (English)",
    "groups": "map each group name to a list of counties, e.g. groups: {重点县: [甲县, 乙县]}",
    "pilot_counties": "give a list of county or prefecture names",
    "prefecture": "give the prefecture's name as text",
    "counties": "give a county name or a list of them",
    "surfaces": "use true (the default) or false",
    "report_templates": "give a folder of report templates, relative to the config file",
}


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    """Build the pydantic models (imported lazily: pydantic is needed only here; built once)."""
    try:
        from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
    except ImportError as err:  # pragma: no cover - a declared dependency
        msg = (
            "checking the config needs pydantic (>= 2), which is not installed. Install it "
            "with: pip install 'pydantic>=2'"
        )
        raise MissingDependencyError(msg) from err

    def no_bool(value: Any) -> Any:
        if isinstance(value, bool):
            msg = "a number is needed, not true/false"
            raise ValueError(msg)
        return value

    def text(value: Any) -> Any:
        if not isinstance(value, str):
            msg = "text is needed (an address such as tcp://10.0.0.5:8786)"
            raise ValueError(msg)
        return value.strip()

    def num(**limits: float) -> Any:
        # the Field first, so that its limits reach the JSON Schema (minimum, maximum...)
        return Annotated[float, Field(allow_inf_nan=False, **limits), BeforeValidator(no_bool)]

    class Options(BaseModel):
        """Numerical and reporting options of an analysis (every key optional)."""

        model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

        resolution_m: num(gt=0, le=5000) = Field(
            None, description="grid cell size, metres (default 100)"
        )
        margin_m: num(ge=0, le=200_000) = Field(
            None, description="margin around each county, metres (default 10000)"
        )
        walking_speed_kmh: num(gt=0, le=20) = Field(
            None,
            description=(
                "walking speed on roads and paths, km/h (default 5); off-road walking follows "
                "Tobler's hiking function of the slope times offroad_factor"
            ),
        )
        offroad_factor: num(gt=0, le=1) = Field(
            None, description="off-road walking as a share of path speed (default 0.6)"
        )
        connectivity: Literal[8, 16] = Field(
            None, description="grid neighbours of off-road walking (default 16)"
        )
        access_threshold_min: num(gt=0, le=600) = Field(
            None, description="2SFCA catchment, minutes (default 30)"
        )
        max_slope_deg: num(gt=0, le=90) = Field(
            None, description="slopes steeper than this cannot be walked (cliffs)"
        )
        jobs: Annotated[int, Field(ge=1, le=1024), BeforeValidator(no_bool)] = Field(
            None, description="counties in parallel worker processes (default 1)"
        )
        scheduler: Annotated[str, Field(min_length=1), BeforeValidator(text)] = Field(
            None,
            description="run the counties on this Dask cluster: the scheduler's address "
            "(tcp://host:8786) or scheduler file; workers read the inputs from the same paths",
        )
        speeds: dict[str, num(gt=0, le=200)] = Field(
            None, description="driving speed per road class, km/h, e.g. {track: 8}"
        )
        outside_facilities: Literal["keep", "drop"] = None
        facility_isochrones: Literal["none", "walk", "all"] = None
        language: Literal["zh", "en"] = None
        groups: dict[str, list[str]] = Field(
            None, description="named groups of counties for the report, e.g. {重点县: [甲县]}"
        )
        pilot_counties: list[str] = None
        report_templates: str = Field(
            None, description="a folder of jinja2 templates overriding the report's own"
        )
        prefecture: str = None
        counties: str | list[str] = Field(
            None, description="analyse only these counties of the boundary layer"
        )
        surfaces: bool = Field(
            None, description="write travel_time_<standard>.tif surfaces (default true)"
        )

    layer = dict[str, Any] | str

    class Config(Options):
        """The whole analysis config (layers are checked key by key by the readers)."""

        model_config = ConfigDict(
            extra="forbid", coerce_numbers_to_str=True, title="ynps-geo analysis config"
        )

        name: str | int | float | None = Field(None, description="shown in reports")
        boundary: layer | None = Field(
            None, description="{path, crs, name_field}: one polygon per county"
        )
        villages: layer | None = Field(
            None, description="{path, crs, x, y, id, name, population, setting}"
        )
        facilities: list[layer] | layer | None = Field(
            None, description="one or more layers, each with category or category_field"
        )
        roads: layer | None = None
        dem: layer | None = None
        population: layer | None = None
        barriers: layer | None = None
        standards: str | list[str] | None = Field(
            None, description="standard ids to evaluate (default: every one)"
        )
        standards_file: str | None = None
        standards_overrides: list[dict[str, Any]] | None = Field(
            None, description="e.g. [{id: school_walk, threshold: 20}]"
        )

    return Options, Config


def options_model() -> Any:
    """The pydantic model class of the option keys (``extra="forbid"``)."""
    return _model()[0]


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).startswith(("function-", "constrained-"))]
    # a union's member names (float, list[str]...) are not part of the user's key
    tags = ("float", "int", "str", "bool", "list", "dict")
    keep = [p for p in parts if not any(ch in p for ch in "[]") and p not in tags]
    return ".".join(keep) or "?"


def check_options(
    options: Mapping[str, Any], source: str | Path, *, whole: bool = False
) -> dict[str, Any]:
    """Check the option keys of a config; return them converted (``"1e4"`` -> ``10000.0``).

    Parameters
    ----------
    options : Mapping
        The option keys present in the config (see :data:`ynps_geo.config.OPTION_KEYS`), or
        with ``whole=True`` the whole config (the types of its other keys are checked too).
    source : str or Path
        The config file, for the message.

    Returns
    -------
    dict
        The same keys with checked values (numbers as float, ``jobs`` as int).

    Raises
    ------
    ConfigError
        One line naming the first bad key, its value, the allowed range and the fix.
    """
    from pydantic import ValidationError as PydanticError

    model = _model()[1] if whole else options_model()
    try:
        checked = model.model_validate(dict(options))
    except PydanticError as err:
        first = err.errors()[0]
        key = _where(tuple(first.get("loc", ())))
        top = key.split(".")[0]
        value = first.get("input")
        problem = str(first.get("msg", "is invalid"))
        problem = problem.replace("Value error, ", "")
        fix = OPTION_FIXES.get(top, "check the value")
        if first.get("type") == "extra_forbidden":
            msg = f"{source}: unknown key '{key}'. Fix: remove it or check its spelling"
        else:
            msg = f"{source}: '{key}' is {value!r}: {problem[:1].lower()}{problem[1:]}. Fix: {fix}"
        raise ConfigError(msg) from None
    names = set(options_model().model_fields)
    return {k: v for k, v in checked.model_dump().items() if k in options and k in names}


def config_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the analysis config, for editors and validators."""
    schema: dict[str, Any] = _model()[1].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema.setdefault(
        "description",
        "ynps-geo analysis config (YAML); paths are relative to the config file. "
        "See the README's 'Your own county'.",
    )
    return schema


def schema_json() -> str:
    """:func:`config_schema` as indented JSON text."""
    return json.dumps(config_schema(), ensure_ascii=False, indent=2)
