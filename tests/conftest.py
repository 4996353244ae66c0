"""Shared fixtures.

Real data lives in ``../shared/data/real`` beside the repository. A user's clone has no
``../shared``: tests that need it skip with a clear reason there, and fail when ``CI=true``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"


def shared_path(*parts: str) -> Path:
    """Path under ``../shared/data/real``; skip (or fail on CI) when it is absent."""
    path = SHARED_REAL.joinpath(*parts)
    if not path.exists():
        reason = (
            f"real test data {path} not found: these tests read ../shared/data/real beside "
            "the repository (present in the project's workspace and on CI only)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
def shared() -> type[_Shared]:
    """Fixture giving ``shared.path("folder", "file")``."""
    return _Shared


class _Shared:
    path = staticmethod(shared_path)


@pytest.fixture(scope="session")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo county analysed once per test session (``ynps-geo demo --out DIR``)."""
    from ynps_geo.cli import main

    out = tmp_path_factory.mktemp("demo-session") / "demo-output"
    assert main(["-q", "demo", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def two_counties(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo generator's 12 km county, whole and split in two counties across a town.

    The split runs north-south 400 m east of the largest urban village, so that town's
    people and the facilities around it serve both counties. Configs (250 m cells, 12 km
    margin, so that every trip of the access catchment lies inside each county's grid):
    ``one`` (the whole county) and ``two`` (西县 and 东县), both on flat terrain (a DEM warped
    onto grids of different extents differs by a metre or two: GDAL's approximate
    transformer), and ``two_dem`` with the DEM.
    """
    import geopandas as gpd
    import pandas as pd
    import yaml
    from shapely.geometry import box

    from ynps_geo.datasets import generate_demo

    data = tmp_path_factory.mktemp("two-counties") / "data"
    cfg = yaml.safe_load(generate_demo(data, size_km=12).read_text(encoding="utf-8"))
    villages = pd.read_csv(data / "villages.csv")
    town = villages[villages["setting"] == "urban"].sort_values("pop").iloc[-1]
    split = float(town["lon"]) + 400.0 / (111_320.0 * 0.9)  # about 400 m east at 25.6 N
    whole = gpd.read_file(data / "boundary.geojson")
    g = whole.geometry.iloc[0]
    x0, y0, x1, y1 = g.bounds
    parts = [g.intersection(box(x0 - 1, y0 - 1, split, y1 + 1))]
    parts.append(g.intersection(box(split, y0 - 1, x1 + 1, y1 + 1)))
    two = gpd.GeoDataFrame({"name": ["西县", "东县"]}, geometry=parts, crs=whole.crs)
    two.to_file(data / "two.geojson", driver="GeoJSON")
    common = {"resolution_m": 250, "margin_m": 12000, "facility_isochrones": "none"}
    flat = {k: v for k, v in cfg.items() if k != "dem"}
    split_boundary = {**cfg["boundary"], "path": "two.geojson", "name_field": "name"}
    configs = {
        "one": {**flat, **common},
        "two": {**flat, **common, "boundary": split_boundary},
        "two_dem": {**cfg, **common, "boundary": split_boundary},
    }
    out = {"data": data}
    for name, d in configs.items():
        path = data / f"{name}.yaml"
        path.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
        out[name] = path
    return out


@pytest.fixture(scope="session")
def demo_engine_small(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The demo county's engine at 250 m (inputs generated, not analysed)."""
    from ynps_geo.analysis import Options, build_county_engine
    from ynps_geo.config import load_config
    from ynps_geo.datasets.demo import generate_demo
    from ynps_geo.workflows import load_inputs

    folder = tmp_path_factory.mktemp("demo-inputs")
    generate_demo(folder)
    inputs = load_inputs(load_config(folder / "config.yaml"))
    county, geom = inputs.counties["county"].iloc[0], inputs.counties.geometry.iloc[0]
    return build_county_engine(county, geom, inputs, Options(resolution_m=250)).engine
