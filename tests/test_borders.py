"""Borders are not walls (issue 9, point 4): counties are computed apart, people cross lines.

One county split in two across a town (see the ``two_counties`` fixture) must give what the
county whole gives: capacity-aware access gathers the demand of both sides of the border for
each facility, and a populated cell takes its urban/rural setting from the nearest village of
either county.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ynps_geo import workflows
from ynps_geo.config import load_config


@pytest.fixture(scope="module")
def runs(two_counties: dict[str, Path]) -> dict[str, Any]:
    return {k: workflows.run(load_config(two_counties[k])) for k in ("one", "two")}


def _by_village(access: pd.DataFrame) -> pd.DataFrame:
    return access.set_index(["village_id", "capacity"]).sort_index()


def _parts(path: Path) -> tuple[Any, list[Any], Any]:
    """Each county's engine and access part, as a county task makes them."""
    from ynps_geo.analysis import Options, build_county_engine, county_access_part

    cfg = load_config(path)
    inputs = workflows.load_inputs(cfg)
    opts = Options.from_config(cfg)
    setups, parts = [], []
    for county, geom in zip(inputs.counties["county"], inputs.counties.geometry, strict=True):
        s = build_county_engine(str(county), geom, inputs, opts)
        setups.append(s)
        parts.append(county_access_part(str(county), s.engine, s.villages, s.facilities, opts))
    return opts, parts, (inputs, setups)


def test_the_split_is_a_real_border(runs: dict[str, Any], two_counties: dict[str, Path]) -> None:
    """Both counties hold villages, and facilities with beds serve villages on both sides."""
    two = runs["two"]
    assert set(two.villages["county"]) == {"西县", "东县"}
    assert two.villages["county"].value_counts().min() >= 5
    _, parts, _ = _parts(two_counties["two"])
    beds = [set(p.pairs.loc[p.pairs["capacity"] == "beds", "facility_id"]) for p in parts]
    assert beds[0] & beds[1], "no facility with beds is reached from both counties"


def test_times_do_not_depend_on_the_split(runs: dict[str, Any]) -> None:
    """The precondition of the comparisons below: the margin holds every trip, so each
    village's minutes are the same whether its county is whole or split."""
    one = runs["one"].villages.set_index("village_id").sort_index()
    two = runs["two"].villages.set_index("village_id").sort_index()
    cols = [c for c in one.columns if c.endswith(("_minutes", "_km"))]
    assert len(cols) >= 10
    np.testing.assert_allclose(
        two[cols].to_numpy(float), one[cols].to_numpy(float), rtol=1e-12, equal_nan=True
    )


def test_access_of_two_counties_equals_the_county_whole(runs: dict[str, Any]) -> None:
    one, two = _by_village(runs["one"].access), _by_village(runs["two"].access)
    assert len(one) == len(two) == 3 * len(runs["one"].villages)  # beds, doctors, places
    assert set(two["county"]) == {"西县", "东县"} and set(one["county"]) == {"示范县"}
    for col in ("access_per_1000", "access_2sfca_per_1000", "facilities_in_reach"):
        np.testing.assert_allclose(
            two[col].to_numpy(float), one[col].to_numpy(float), rtol=1e-12, atol=1e-15
        )
    assert (two["access_per_1000"] > 0).sum() > len(two) / 3


def test_county_alone_demand_overstates_access_near_the_border(
    runs: dict[str, Any], two_counties: dict[str, Path]
) -> None:
    """What the gathering fixes: each county counting only its own villages as demand gives
    higher access (never lower) to the villages sharing a border facility."""
    from ynps_geo.analysis import finish_access

    opts, parts, _ = _parts(two_counties["two"])
    gathered = _by_village(finish_access(parts, opts))
    pd.testing.assert_frame_equal(gathered, _by_village(runs["two"].access))
    alone = _by_village(pd.concat([finish_access([p], opts) for p in parts]))
    diff = (alone["access_2sfca_per_1000"] - gathered["access_2sfca_per_1000"]).to_numpy()
    assert (diff > 1e-9).sum() >= 10
    assert (diff >= -1e-9).all()
    # the partial demand sums add up: per facility, the two counties' demand is the whole's
    _, whole, _ = _parts(two_counties["one"])
    d2 = pd.concat([p.demand for p in parts]).groupby(["capacity", "facility_id"]).sum()
    d1 = whole[0].demand.set_index(["capacity", "facility_id"])
    d2 = d2.reindex(d1.index).fillna(0.0)
    np.testing.assert_allclose(d2.to_numpy(float), d1.to_numpy(float), rtol=1e-12)


def test_access_of_the_split_equals_pysal_on_the_whole_matrix(
    runs: dict[str, Any], two_counties: dict[str, Path]
) -> None:
    """A peer: pysal ``access`` on the village x facility matrix of the county whole (each
    facility with beds searched alone) gives the split run's beds per 1,000."""
    access = pytest.importorskip("access")
    from ynps_geo.analysis import facility_matches

    opts, _, (_, setups) = _parts(two_counties["one"])
    s = setups[0]
    fac, vil = s.facilities, s.villages
    beds = pd.to_numeric(fac["beds"], errors="coerce").to_numpy(float)
    rows = np.flatnonzero(facility_matches(fac, ("health",)) & np.isfinite(beds))
    dist, _ = s.engine.search(
        "drive", [np.array([r]) for r in rows], opts.access_threshold_min * 60
    )
    minutes = s.engine.village_values(dist).T / 60.0
    i, j = np.nonzero(np.isfinite(minutes))
    cost = pd.DataFrame(
        {
            "origin": vil["village_id"].to_numpy()[i],
            "dest": fac["facility_id"].to_numpy()[rows][j],
            "cost": minutes[i, j],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        a = access.Access(
            demand_df=pd.DataFrame(
                {"geoid": vil["village_id"], "pop": vil["population"].astype(float)}
            ),
            demand_index="geoid",
            demand_value="pop",
            supply_df=pd.DataFrame(
                {"geoid": fac["facility_id"].to_numpy()[rows], "cap": beds[rows]}
            ),
            supply_index="geoid",
            supply_value="cap",
            cost_df=cost,
            cost_origin="origin",
            cost_dest="dest",
            cost_name="cost",
        )
        theirs = a.two_stage_fca(max_cost=opts.access_threshold_min).iloc[:, 0]
    ours = runs["two"].access
    ours = ours[ours["capacity"] == "beds"].set_index("village_id")["access_2sfca_per_1000"]
    theirs = theirs.reindex(ours.index).fillna(0.0) * 1000.0
    np.testing.assert_allclose(ours.to_numpy(float), theirs.to_numpy(float), rtol=1e-9)


def test_people_take_their_setting_from_villages_across_the_border(
    runs: dict[str, Any], two_counties: dict[str, Path]
) -> None:
    """Populated cells near the border take the setting of the nearest village of either
    county: the same settings, values and coverage as the county whole."""
    from ynps_geo.analysis import _settings_for_people, county_people

    key = ["lon", "lat"]
    one = runs["one"].people.sort_values(key).reset_index(drop=True)
    two = runs["two"].people.sort_values(key).reset_index(drop=True)
    assert len(one) == len(two) > 1000
    np.testing.assert_array_equal(two[key].to_numpy(), one[key].to_numpy())
    np.testing.assert_array_equal(two["setting"].to_numpy(), one["setting"].to_numpy())
    cols = [c for c in one.columns if c.endswith(("_minutes", "_km"))]
    np.testing.assert_allclose(two[cols].to_numpy(float), one[cols].to_numpy(float), rtol=1e-12)
    cov1 = runs["one"].coverage.query("county == 'ALL'").set_index("standard_id")
    cov2 = runs["two"].coverage.query("county == 'ALL'").set_index("standard_id")
    num = ["population", "population_covered", "villages", "villages_uncovered"]
    np.testing.assert_allclose(cov2[num].to_numpy(float), cov1[num].to_numpy(float), rtol=1e-12)
    # what changed: a county looking only at its own villages gives other settings here
    _, _, (inputs, setups) = _parts(two_counties["two"])
    changed = 0
    for (county, geom), s in zip(
        zip(inputs.counties["county"], inputs.counties.geometry, strict=True), setups, strict=True
    ):
        people, _ = county_people(str(county), geom, inputs, s)
        assert people is not None
        px, py = s.fwd.transform(people["lon"].to_numpy(), people["lat"].to_numpy())
        density = np.zeros(len(people))  # compare the village rule only
        own = _settings_for_people(
            np.column_stack([px, py]),
            density,
            np.column_stack([s.vx, s.vy]),
            s.villages["setting"].to_numpy(),
        )
        near = _settings_for_people(
            np.column_stack([px, py]),
            density,
            np.column_stack(
                s.fwd.transform(
                    inputs.villages.geometry.x.to_numpy(), inputs.villages.geometry.y.to_numpy()
                )
            ),
            inputs.villages["setting"].to_numpy(),
        )
        changed += int((own != near).sum())
    assert changed >= 10


def test_facility_ids_are_unique_across_layers() -> None:
    """The reduce step adds demand per facility id: repeats across layers are renamed."""
    ids = pd.Series(["a", "a", "a", "two:a", "b"])
    sources = pd.Series(["one", "two", "two", "x", "one"])
    got = workflows.unique_ids(ids, sources).tolist()
    assert got == ["a", "two:a#2", "two:a#3", "two:a", "b"]
    assert len(set(got)) == len(got)


def test_one_id_with_two_capacities_is_refused() -> None:
    from ynps_geo.analysis import AccessPart, Options, finish_access
    from ynps_geo.errors import ValidationError

    def part(county: str, beds: float) -> AccessPart:
        return AccessPart(
            county=county,
            villages=pd.DataFrame({"village_id": [county], "county": county, "population": 1.0}),
            capacities=["beds"],
            pairs=pd.DataFrame(
                {"capacity": "beds", "village": [0], "facility_id": ["h"], "minutes": [5.0]}
            ),
            supply=pd.DataFrame({"capacity": "beds", "facility_id": ["h"], "supply": [beds]}),
            demand=pd.DataFrame(
                {
                    "capacity": "beds",
                    "facility_id": ["h"],
                    "demand_zones": [1.0],
                    "demand_step": [1.0],
                }
            ),
            missing={"beds": []},
        )

    opts = Options()
    both = finish_access([part("甲", 10.0), part("乙", 10.0)], opts)
    np.testing.assert_allclose(both["access_2sfca_per_1000"], [5000.0, 5000.0])  # 10 beds / 2
    with pytest.raises(ValidationError, match=r"\['h'\] have different capacities"):
        finish_access([part("甲", 10.0), part("乙", 20.0)], opts)


def test_villages_without_population_matter_only_when_capacity_is_measured() -> None:
    """Found by the Andorra case: villages of unknown population are no error when no
    facility has a capacity column (no access is measured); they are when one has."""
    from ynps_geo.analysis import Options, county_access_part, finish_access
    from ynps_geo.errors import ValidationError

    vil = pd.DataFrame({"village_id": ["a", "b"], "county": "甲", "population": [np.nan, 5.0]})
    fac = pd.DataFrame(
        {"facility_id": ["h"], "name": ["h"], "category": ["health"], "subtype": ["clinic"]}
    )
    part = county_access_part("甲", None, vil, fac, Options())  # nothing to search
    assert part.capacities == [] and finish_access([part], Options()).empty
    with pytest.raises(ValidationError, match=r"1 village\(s\) have no valid population"):
        county_access_part("甲", None, vil, fac.assign(beds=[10.0]), Options())
