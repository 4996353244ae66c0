"""The declared minimum versions (pyproject.toml, environment.yml) cover what the code uses.

Installing every floor is a job of its own (``scripts/check_min_versions.sh`` builds a venv with
the declared minimum versions and runs a smoke test); here, cheaply, on every run: each API the
code relies on that arrived in a known version must be covered by the floor, and the two
dependency files must agree.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "ynps_geo"

#: (distribution, a pattern in the package's code, the first version that has it, what it is)
FEATURES: list[tuple[str, str, str, str]] = [
    ("folium", r"from folium\.template import", "0.17", "folium.template.Template"),
    ("osmium", r"osmium\.FileProcessor", "4.0", "osmium.FileProcessor"),
    ("osmium", r"osmium\.filter\b", "4.0", "osmium.filter"),
    ("pydantic", r"from pydantic import", "2.0", "pydantic v2 (BaseModel, ConfigDict)"),
    ("pydantic", r"coerce_numbers_to_str", "2.6", "ConfigDict(coerce_numbers_to_str=...)"),
    ("geopandas", r"\.union_all\(", "1.0", "GeoSeries.union_all"),
    ("shapely", r"shapely\.(union_all|get_type_id|points)\(", "2.0", "shapely 2 vectorised API"),
    ("shapely", r"ordered=True", "2.1", "voronoi_polygons(ordered=True) (the demo's townships)"),
    ("pandas", r'dtype="boolean"', "1.0", "nullable boolean dtype"),
]

#: floors that another floor forces: (distribution, floor it needs, because)
REQUIRED_BY: list[tuple[str, str, str]] = [
    ("pyogrio", "0.7.2", "geopandas 1.0 requires pyogrio>=0.7.2"),
    ("shapely", "2.0", "geopandas 1.0 requires shapely>=2.0"),
    ("pandas", "1.4", "geopandas 1.0 requires pandas>=1.4"),
    ("numpy", "1.22", "numba 0.59 requires numpy>=1.22"),
    ("scipy", "1.11.1", "scipy 1.11.0 was yanked from PyPI (licence violation)"),
    (
        "pandas",
        "2.2",
        "pandas 2.1's nullable-boolean to_numpy() gives object arrays, which io/vector.py's "
        "coordinate parsing negates with ~ (ValueError under pandas 2.1)",
    ),
]

#: pip names whose conda-forge package is named differently
CONDA_NAMES = {"osmium": "pyosmium"}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def _floors_pyproject() -> dict[str, str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    reqs = list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        reqs += extra
    out = {}
    for req in reqs:
        m = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*>=\s*([0-9.]+)", req)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def _floors_conda() -> dict[str, str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            m = re.match(r"^([A-Za-z0-9_.\-]+)\s*>=\s*([0-9.]+)", dep)
            if m:
                out[m.group(1).lower()] = m.group(2)
    return out


def _code() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize(("dist", "pattern", "since", "what"), FEATURES)
def test_floors_cover_what_the_code_uses(dist: str, pattern: str, since: str, what: str) -> None:
    if not re.search(pattern, _code()):
        pytest.skip(f"the code no longer uses {what}")
    floors = _floors_pyproject()
    assert dist in floors, f"{dist} is used ({what}) but not declared in pyproject.toml"
    assert _version(floors[dist]) >= _version(since), (
        f"pyproject.toml declares {dist}>={floors[dist]} but the code uses {what}, "
        f"new in {dist} {since}"
    )


@pytest.mark.parametrize(("dist", "floor", "because"), REQUIRED_BY)
def test_floors_are_installable_together(dist: str, floor: str, because: str) -> None:
    """Found by scripts/check_min_versions.sh: pyogrio>=0.7 could not be installed beside
    geopandas 1.0 (pip: ResolutionImpossible)."""
    assert _version(_floors_pyproject()[dist]) >= _version(floor), because


def test_environment_yml_agrees_with_pyproject() -> None:
    pip, conda = _floors_pyproject(), _floors_conda()
    for dist, floor in pip.items():
        name = CONDA_NAMES.get(dist, dist)
        if name in conda:
            assert _version(conda[name]) == _version(floor), (
                f"environment.yml says {name}>={conda[name]}, pyproject.toml {dist}>={floor}"
            )
    for dist in ("folium", "osmium", "pydantic"):
        assert CONDA_NAMES.get(dist, dist) in conda, f"{dist} missing from environment.yml"


def test_the_installed_versions_satisfy_the_floors() -> None:
    from importlib.metadata import PackageNotFoundError, version

    for dist, floor in _floors_pyproject().items():
        try:
            have = version(dist)
        except PackageNotFoundError:
            continue  # an extra that is not installed here
        assert _version(have) >= _version(floor), f"{dist} {have} is older than >={floor}"


def test_the_min_versions_script_reads_the_same_floors() -> None:
    script = (REPO / "scripts" / "check_min_versions.sh").read_text(encoding="utf-8")
    assert "pyproject.toml" in script and "ynps-geo" in script
