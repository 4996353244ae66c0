"""The plan's standards as data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ynps_geo.errors import ConfigError
from ynps_geo.model.standards import load_standards, standard_from_dict

STANDARDS_MD = Path(__file__).resolve().parents[2] / "shared" / "STANDARDS.md"


def test_every_standard_of_the_plan_is_shipped() -> None:
    from conftest import shared_path

    md = shared_path("..", "..", "STANDARDS.md") if not STANDARDS_MD.exists() else STANDARDS_MD
    ids = set(re.findall(r"^\| `([a-z0-9_]+)` \|", md.read_text(encoding="utf-8"), flags=re.M))
    assert len(ids) >= 20
    shipped = set(load_standards())
    assert ids <= shipped, f"missing: {sorted(ids - shipped)}"


def test_circle_fields() -> None:
    s = load_standards()
    h = s["health_15min"]
    assert h.kind == "circle" and h.threshold == 15 and h.unit == "min"
    assert h.mode_for("urban") == "walk" and h.mode_for("rural") == "drive"
    assert h.value_column == "health_15min_minutes" and h.covered_column == "health_15min_covered"
    c = s["culture_10li_rural"]
    assert (
        c.unit == "km" and c.value_column == "culture_10li_rural_km" and c.threshold_seconds == 5000
    )
    assert s["eldercare_15min"].applies("urban") and not s["eldercare_15min"].applies("rural")
    assert len(s["basic_services_90min_rural"].facilities) == 3
    assert "十五分钟" in s["eldercare_15min"].plan_text


def test_misspelt_id_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match="health_15min") as err:
        load_standards().select(["helth_15min"])
    assert isinstance(err.value, ValueError)


def test_user_yaml_overrides_and_extends(tmp_path: Path) -> None:
    f = tmp_path / "mine.yaml"
    f.write_text(
        "standards:\n"
        "  - {id: school_walk, threshold: 20}\n"
        "  - {id: pharmacy_10min, kind: circle, facilities: [health], threshold: 10, unit: min,"
        " mode: walk}\n",
        encoding="utf-8",
    )
    s = load_standards(f)
    assert s["school_walk"].threshold == 20
    assert s["school_walk"].facilities == load_standards()["school_walk"].facilities
    assert s["pharmacy_10min"].mode_for("rural") == "walk"


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        (
            {"id": "x", "kind": "circle", "facilities": ["health"], "threshold": 0, "unit": "min"},
            "threshold",
        ),
        (
            {
                "id": "x",
                "kind": "circle",
                "facilities": ["health"],
                "threshold": 5,
                "unit": "hours",
            },
            "unit",
        ),
        ({"id": "x", "kind": "cirle"}, "kind"),
        ({"id": "x", "kind": "circle", "treshold": 5}, "unknown key"),
        ({"kind": "circle"}, "id"),
        (
            {
                "id": "x",
                "kind": "circle",
                "facilities": ["health"],
                "threshold": 5,
                "unit": "min",
                "mode": "fly",
            },
            "mode",
        ),
        (
            {"id": "x", "kind": "circle", "facilities": ["helth"], "threshold": 5, "unit": "min"},
            "health",
        ),
    ],
)
def test_bad_standard_entries(entry: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        standard_from_dict(entry, source="test.yaml")


def test_standards_cli_lists_ids(capsys: pytest.CaptureFixture[str]) -> None:
    from ynps_geo.cli import main

    assert main(["standards"]) == 0
    out = capsys.readouterr().out
    for sid in (
        "eldercare_15min",
        "culture_10li_rural",
        "beds_per_1000",
        "county_care_institution",
    ):
        assert sid in out
