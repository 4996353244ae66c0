"""Exceptions and warnings raised by ynps_geo.

Every error is a :class:`YnpsGeoError` and also inherits the matching built-in, so that
callers may catch either. Messages name the input, the problem and the fix.
"""

from __future__ import annotations


class YnpsGeoError(Exception):
    """Root of every error raised by ynps_geo."""


class ValidationError(YnpsGeoError, ValueError):
    """An input (file, column, value, config key) is invalid."""


class CRSError(ValidationError):
    """A coordinate reference system is missing, unknown or inconsistent with the data."""


class ConfigError(ValidationError):
    """The analysis configuration (YAML) is invalid."""


class DataSourceError(YnpsGeoError, OSError):
    """A file or data source cannot be found or read."""


class MissingDependencyError(YnpsGeoError, ImportError):
    """An optional dependency needed for this feature is not installed."""


class NotComparableError(YnpsGeoError, ValueError):
    """Two runs cannot be compared (different standards, counties or village ids)."""


class EngineError(YnpsGeoError, RuntimeError):
    """The travel-time engine failed on inputs that passed validation."""


class YnpsGeoWarning(UserWarning):
    """Root of every warning issued by ynps_geo."""


class DataQualityWarning(YnpsGeoWarning):
    """Data were loaded but look suspicious (offset coordinates, repaired geometries...)."""


def require(module: str, feature: str, extra: str = "all") -> None:
    """Raise :class:`MissingDependencyError` with an install hint if ``module`` is missing.

    Parameters
    ----------
    module : str
        Importable module name, e.g. ``"folium"``.
    feature : str
        What needs it, for the message, e.g. ``"the interactive map"``.
    extra : str
        The package extra that installs it.
    """
    import importlib.util

    if importlib.util.find_spec(module) is None:
        msg = (
            f"{feature} needs the optional package '{module}', which is not installed. "
            f"Install it with: pip install 'ynps-geo[{extra}]' (or pip install {module})"
        )
        raise MissingDependencyError(msg)
