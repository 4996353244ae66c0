"""One typed ``Options``: every option a config may set is an attribute with its default.

The pydantic model (``config_model``) checks types and ranges and gives the JSON Schema; the
dataclass (``ynps_geo.options.Options``) is what the code reads. These tests keep the two the
same set of keys, the defaults equal to ``ynps_geo.settings`` and to what the docs say, and the
YAML route, the keyword route (``ynps_geo.analyze``), the command-line overrides and the cache
key agreeing on the same options.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from ynps_geo import settings
from ynps_geo.config import OPTION_KEYS, TOP_KEYS, load_config
from ynps_geo.config_model import OPTION_FIXES, _model, options_model
from ynps_geo.errors import ConfigError
from ynps_geo.options import NOT_IN_RESULTS, Options

#: a value other than the default for every option key, as written in YAML, and the typed
#: value the code then reads
EVERY_OPTION: dict[str, tuple[Any, Any]] = {
    "resolution_m": (250, 250.0),
    "margin_m": ("2e3", 2000.0),
    "connectivity": (8, 8),
    "walking_speed_kmh": (4.5, 4.5),
    "offroad_factor": (0.5, 0.5),
    "facility_isochrones": ("all", "all"),
    "max_slope_deg": (40, 40.0),
    "access_threshold_min": (20, 20.0),
    "surfaces": (False, False),
    "speeds": ({"track": 8, "tertiary": 25.5}, {"track": 8.0, "tertiary": 25.5}),
    "outside_facilities": ("drop", "drop"),
    "jobs": (3, 3),
    "scheduler": ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    "counties": ("示范县", ("示范县",)),
    "groups": ({"重点县": ["示范县", "乙县"]}, {"重点县": ["示范县", "乙县"]}),
    "pilot_counties": (["示范县"], ["示范县"]),
    "prefecture": ("大理州", "大理州"),
    "language": ("en", "en"),
    "report_templates": ("tpl", "tpl"),
}


def _inputs(folder: Path) -> dict[str, Any]:
    """The smallest config that loads (the files exist; nothing is read before a run)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "villages.csv").write_text("code,lon,lat,pop\nV1,100.0,25.0,10\n", encoding="utf-8")
    (folder / "clinics.csv").write_text("fid,lng,lat\nF1,100.01,25.0\n", encoding="utf-8")
    (folder / "tpl").mkdir(exist_ok=True)
    return {
        "name": "options test",
        "villages": {"path": "villages.csv", "crs": "wgs84", "x": "lon", "y": "lat"},
        "facilities": [{"path": "clinics.csv", "crs": "wgs84", "x": "lng", "y": "lat"}],
    }


def _with_category(base: dict[str, Any]) -> dict[str, Any]:
    base = dict(base)
    base["facilities"] = [{**base["facilities"][0], "category": "health"}]
    return base


def _write(folder: Path, options: dict[str, Any], name: str = "config.yaml") -> Path:
    data = {**_with_category(_inputs(folder)), **options}
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# ---- one set of keys --------------------------------------------------------------------------


def test_every_schema_key_is_a_typed_attribute_and_back() -> None:
    schema_keys = set(options_model().model_fields)
    assert schema_keys == set(Options.config_keys()) == set(OPTION_KEYS)
    assert set(EVERY_OPTION) == schema_keys  # this file's table covers every key
    # the whole config's model: the option keys plus the layers, as the YAML reader allows
    assert set(_model()[1].model_fields) == TOP_KEYS
    # every key has a type annotation the code can rely on, and a fix told on a bad value
    hints = typing.get_type_hints(Options)
    assert all(k in hints for k in Options.config_keys())
    assert set(OPTION_FIXES) == schema_keys


def test_python_only_attributes_are_not_config_keys() -> None:
    python_only = {f.name for f in dataclasses.fields(Options) if f.init} - set(
        Options.config_keys()
    )
    assert python_only == {"isochrones", "access", "access_mode", "access_zones", "progress"}
    assert not python_only & set(options_model().model_fields)
    assert set(NOT_IN_RESULTS) <= {f.name for f in dataclasses.fields(Options)}


# ---- one place for defaults -------------------------------------------------------------------


def test_defaults_equal_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    o = Options()
    linked = Options.settings_of()
    assert linked == {
        "resolution_m": "raster_resolution_m",
        "margin_m": "analysis_margin_m",
        "walking_speed_kmh": "walking_speed_kmh",
        "offroad_factor": "offroad_speed_factor",
    }
    for key, name in linked.items():
        assert getattr(o, key) == getattr(settings, name)
        assert name in settings.ANALYSIS_DEFAULTS  # cache keys and manifests record it
    # the documented package defaults (settings.py's docstring), by hand
    assert (o.resolution_m, o.margin_m, o.walking_speed_kmh, o.offroad_factor) == (
        100.0,
        10000.0,
        5.0,
        0.6,
    )
    # a setting changed before the options are made is their default
    monkeypatch.setattr(settings, "walking_speed_kmh", 4.0)
    monkeypatch.setattr(settings, "analysis_margin_m", 2500.0)
    assert Options().walking_speed_kmh == 4.0 and Options().margin_m == 2500.0
    assert Options(walking_speed_kmh=6).walking_speed_kmh == 6.0  # a given value wins


def test_the_defaults_the_docs_state_are_the_typed_defaults() -> None:
    """Every "(default X)" in the schema's descriptions and the fixes equals the attribute."""
    o = Options()
    said: list[tuple[str, str]] = []
    for key, f in options_model().model_fields.items():
        said += [(key, m) for m in re.findall(r"\(default ([^)]+)\)", f.description or "")]
    for key, fix in OPTION_FIXES.items():
        said += [(key, m) for m in re.findall(r"\(default ([^)]+)\)", fix)]
        said += [(key, m) for m in re.findall(r"(\w+) \((?:[^)]*, )?the default\)", fix)]
    assert {k for k, _ in said} >= {
        "resolution_m",
        "margin_m",
        "walking_speed_kmh",
        "offroad_factor",
        "connectivity",
        "access_threshold_min",
        "jobs",
        "surfaces",
        "outside_facilities",
        "facility_isochrones",
        "language",
    }
    for key, text in said:
        value = getattr(o, key)
        if isinstance(value, bool):
            assert text == str(value).lower(), (key, text)
        elif isinstance(value, int | float):
            assert float(text) == value, (key, text)
        else:
            assert text == value, (key, text)


# ---- the config, the keywords and the command line give the same options ---------------------


def test_a_config_setting_every_option_round_trips(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, {k: v for k, (v, _) in EVERY_OPTION.items()}))
    hints = typing.get_type_hints(Options)
    for key, (_, typed) in EVERY_OPTION.items():
        value = getattr(cfg.opts, key)
        assert value == typed, key
        assert type(value) is type(typed), key
        assert value != getattr(Options(), key), key  # the table tests a non-default value
        assert key in hints
    assert cfg.opts.given == set(EVERY_OPTION)
    # the read-only view shows the keys as set (lists for the tuple of counties)
    assert dict(cfg.options) == {
        k: (list(t) if isinstance(t, tuple) else t) for k, (_, t) in EVERY_OPTION.items()
    }
    with pytest.raises(TypeError):
        cfg.options["margin_m"] = 1.0  # type: ignore[index]
    # a config that sets nothing reads the defaults and shows no option
    plain = load_config(_write(tmp_path, {}, "plain.yaml"))
    assert plain.opts == Options() and plain.opts.given == frozenset()
    assert dict(plain.options) == {}


def test_an_api_keyword_equals_the_yaml_option(tmp_path: Path) -> None:
    from hypothesis import given
    from hypothesis import settings as run_with
    from hypothesis import strategies as st

    from ynps_geo import api

    base = _inputs(tmp_path)
    values = {
        "resolution_m": st.floats(1, 5000),
        "margin_m": st.integers(0, 200_000),
        "walking_speed_kmh": st.floats(0.5, 20),
        "offroad_factor": st.floats(0.01, 1),
        "connectivity": st.sampled_from([8, 16]),
        "access_threshold_min": st.floats(1, 600),
        "max_slope_deg": st.floats(1, 90),
        "jobs": st.integers(1, 8),
        "speeds": st.dictionaries(st.sampled_from(["track", "primary"]), st.floats(1, 120)),
        "facility_isochrones": st.sampled_from(["none", "walk", "all"]),
        "outside_facilities": st.sampled_from(["keep", "drop"]),
        "language": st.sampled_from(["zh", "en"]),
        "counties": st.one_of(st.just("甲县"), st.lists(st.sampled_from(["甲县", "乙县"]))),
        "surfaces": st.booleans(),
        "pilot_counties": st.lists(st.sampled_from(["甲县", "乙县"]), max_size=2),
    }

    @run_with(max_examples=40, deadline=None)
    @given(st.data())
    def check(data: Any) -> None:
        keys = data.draw(st.lists(st.sampled_from(sorted(values)), unique=True, max_size=6))
        options = {k: data.draw(values[k], label=k) for k in keys}
        path = tmp_path / "drawn.yaml"
        path.write_text(
            yaml.safe_dump({**_with_category(base), **options}, allow_unicode=True),
            encoding="utf-8",
        )
        from_yaml = load_config(path).opts
        from_api = api._config(
            str(tmp_path / "villages.csv"),
            str(tmp_path / "clinics.csv"),
            boundaries=None,
            roads=None,
            dem=None,
            population=None,
            standards=None,
            name=None,
            folder=tmp_path,
            kwargs={
                "crs": "wgs84",
                "villages_x": "lon",
                "villages_y": "lat",
                "facilities_x": "lng",
                "facilities_y": "lat",
                "category": "health",
                **options,
            },
        ).opts
        assert from_api.progress is True  # ynps_geo.analyze shows bars unless told not to
        assert from_api.copy(progress=None) == from_yaml
        assert from_api.given == from_yaml.given == set(options)
        assert from_api.result_key() == from_yaml.result_key()

    check()


def test_a_bad_value_is_the_same_message_from_yaml_python_and_the_command_line(
    tmp_path: Path,
) -> None:
    from ynps_geo import api, workflows

    expected = r"'margin_m' is -5: input should be greater than or equal to 0\. Fix: give"
    with pytest.raises(ConfigError, match=r"config\.yaml: " + expected):
        load_config(_write(tmp_path, {"margin_m": -5}))
    with pytest.raises(ConfigError, match=r"ynps_geo\.analyze\(\): " + expected):
        api._config(
            str(tmp_path / "villages.csv"),
            str(tmp_path / "clinics.csv"),
            boundaries=None,
            roads=None,
            dem=None,
            population=None,
            standards=None,
            name=None,
            folder=tmp_path,
            kwargs={"crs": "wgs84", "x": "lon", "y": "lat", "category": "health", "margin_m": -5},
        )
    cfg = load_config(_write(tmp_path, {}))
    with pytest.raises(ConfigError, match=r"config\.yaml: " + expected):
        workflows._with_options(cfg, {"margin_m": -5})
    with pytest.raises(ConfigError, match=r"^Options: " + expected):
        Options(margin_m=-5)
    # an unknown key: named with the closest known one in the YAML, refused everywhere
    with pytest.raises(ConfigError, match=r"unknown key 'marginm'.*Did you mean 'margin_m'"):
        load_config(_write(tmp_path, {"marginm": 5}))
    with pytest.raises(ConfigError, match=r"config\.yaml: unknown key 'marginm'"):
        Options.from_keys({"marginm": 5}, tmp_path / "config.yaml")
    with pytest.raises(ConfigError, match=r"unknown key 'marginm'"):
        workflows._with_options(cfg, {"marginm": 5})


def test_command_line_overrides_are_typed_and_kept_apart_from_the_rest(tmp_path: Path) -> None:
    from ynps_geo import workflows

    cfg = workflows._with_options(
        _write(tmp_path, {"margin_m": 3000, "language": "en"}),
        {"jobs": 2, "counties": ["甲县"], "resolution_m": None},  # None: not given
    )
    assert (cfg.opts.jobs, cfg.opts.counties) == (2, ("甲县",))
    assert (cfg.opts.margin_m, cfg.opts.language) == (3000.0, "en")
    assert cfg.opts.resolution_m == settings.raster_resolution_m
    assert cfg.opts.given == {"margin_m", "language", "jobs", "counties"}


def test_travel_times_options_are_typed_and_checked() -> None:
    """``ynps_geo.travel_times`` reads the same Options: half the off-road factor doubles every
    minute of a trip walked off-road (no roads, flat ground), and a bad value is the one-line
    error."""
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import Point

    import ynps_geo

    v = gpd.GeoDataFrame(
        {"id": ["a", "b"]}, geometry=[Point(100.0, 25.0), Point(100.01, 25.002)], crs=4326
    )
    f = gpd.GeoDataFrame({"id": ["x"]}, geometry=[Point(100.005, 25.0)], crs=4326)
    common = {"mode": "walk", "id": "id", "resolution_m": 200, "margin_m": 1000}
    fast = ynps_geo.travel_times(v, f, offroad_factor=0.6, **common)
    slow = ynps_geo.travel_times(v, f, offroad_factor=0.3, **common)
    assert len(fast) == 2
    # by hand: the geodesic metres at Tobler's flat speed (6 e^-0.175 km/h) times 0.6; the
    # grid path bends a little (16 neighbours, 200 m cells)
    from pyproj import Geod

    metres = Geod(ellps="WGS84").inv(100.0, 25.0, 100.005, 25.0)[2]
    hand = metres / (6.0 * np.exp(-3.5 * 0.05) * 0.6 * 1000 / 60)
    assert fast["minutes"].iloc[0] == pytest.approx(hand, rel=0.02)
    np.testing.assert_allclose(slow["minutes"], 2 * fast["minutes"], rtol=1e-9)
    with pytest.raises(ConfigError, match=r"travel_times\(\): 'resolution_m' is -5.*Fix:"):
        ynps_geo.travel_times(v, f, mode="walk", resolution_m=-5)


# ---- cache key and run manifest ---------------------------------------------------------------


def test_the_cache_key_is_equal_for_equal_configs(tmp_path: Path) -> None:
    from ynps_geo.compare import run_manifest
    from ynps_geo.workflows import cache_key

    plain = load_config(_write(tmp_path, {"language": "en"}, "a.yaml"))
    same = load_config(_write(tmp_path, {"language": "en"}, "b.yaml"))
    # the default written out is the same analysis as the default left out
    spelled = load_config(_write(tmp_path, {"language": "en", "margin_m": 10000}, "c.yaml"))
    assert cache_key(plain) == cache_key(same) == cache_key(spelled)
    # jobs changes no figure; a margin does, and so does a change made in Python
    jobs = load_config(_write(tmp_path, {"language": "en", "jobs": 4}, "d.yaml"))
    assert cache_key(jobs) == cache_key(plain)
    wider = load_config(_write(tmp_path, {"language": "en", "margin_m": 12000}, "e.yaml"))
    assert cache_key(wider) != cache_key(plain)
    changed = load_config(_write(tmp_path, {"language": "en"}, "a.yaml"))
    changed.opts.access_threshold_min = 45.0
    assert cache_key(changed) != cache_key(plain)
    # the manifest records what the config set (and what a change in Python made)
    assert run_manifest(plain, [])["options"] == {}  # language is not a figure
    assert run_manifest(spelled, [])["options"] == {"margin_m": 10000.0}
    assert run_manifest(changed, [])["options"] == {"access_threshold_min": 45.0}
    assert set(run_manifest(plain, [])["defaults"]) == set(settings.ANALYSIS_DEFAULTS)


# ---- no string-keyed option reads left ------------------------------------------------------


def test_the_package_reads_options_only_as_attributes() -> None:
    """No ``x.options.get(...)`` or ``x.options[...]`` read in the package."""
    root = Path(__file__).resolve().parents[1] / "ynps_geo"
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            target = None
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "items", "keys", "values")
            ):
                target = node.func.value
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                target = node.value
            if isinstance(target, ast.Attribute) and target.attr == "options":
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not found, found
