"""Coverage tables, the Gini coefficient and ranked gaps, on cases computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ynps_geo.coverage import coverage_table, covered, equity_table, gini, uncovered_villages
from ynps_geo.model.standards import load_standards


def test_threshold_is_inclusive() -> None:
    v = np.array([14.999, 15.0, 15.0 + 1e-6, np.inf, np.nan])
    assert covered(v, 15.0).tolist() == [True, True, False, False, False]
    # 900 s accumulated from many edges still counts as 15:00
    assert covered(np.array([sum([0.1] * 9000)]) / 60.0, 15.0)[0]


def test_gini_hand_computed() -> None:
    assert gini([1, 1, 1, 1]) == 0.0
    # [0, 0, 0, 1]: mean abs diff = 6/16, mean = 1/4 -> G = 0.375 / 0.5 = 0.75
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)
    # [1, 3]: |1-3| twice over 4 pairs -> MAD = 1, mean = 2 -> 0.25
    assert gini([1, 3]) == pytest.approx(0.25)
    # weights repeat units: weight 2 on 1 equals [1, 1, 3]
    assert gini([1, 3], [2, 1]) == pytest.approx(gini([1, 1, 3]))
    assert np.isnan(gini([]))


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=30))
def test_gini_bounds(xs: list[float]) -> None:
    g = gini(xs)
    assert np.isnan(g) or -1e-12 <= g <= 1.0


def _villages() -> pd.DataFrame:
    s = "health_15min"
    return pd.DataFrame(
        {
            "village_id": ["a", "b", "c", "d", "e"],
            "county": ["X", "X", "Y", "Y", "Y"],
            "population": [100.0, 300.0, 50.0, 50.0, 1000.0],
            "setting": ["urban", "rural", "rural", "rural", "urban"],
            f"{s}_minutes": [3.0, 15.0, 40.0, np.inf, 10.0],
            f"{s}_covered": [True, True, False, False, True],
            f"{s}_applies": [True, True, True, True, True],
        }
    )


def test_coverage_table_adds_up() -> None:
    std = [load_standards()["health_15min"]]
    v = _villages()
    t = coverage_table(v, None, std, ["X", "Y", "Z"])
    all_ = t[t.county == "ALL"].iloc[0]
    assert all_.population == 1500 and all_.population_covered == 1400
    assert all_.villages == 5 and all_.villages_uncovered == 2
    per = t[t.county != "ALL"]
    assert per.population.sum() == all_.population
    assert per.population_covered.sum() == all_.population_covered
    y = t[t.county == "Y"].iloc[0]
    assert y.share_covered == pytest.approx(1000 / 1100)
    z = t[t.county == "Z"].iloc[0]
    assert z.population == 0 and np.isnan(z.share_covered)


def test_people_from_raster_take_precedence() -> None:
    std = [load_standards()["health_15min"]]
    people = pd.DataFrame(
        {
            "county": ["X", "X"],
            "population": [7.0, 3.0],
            "setting": ["rural"] * 2,
            "health_15min_covered": [True, False],
            "health_15min_applies": [True, True],
        }
    )
    t = coverage_table(_villages(), people, std, ["X"])
    x = t[t.county == "X"].iloc[0]
    assert x.population == 10 and x.population_covered == 7 and x.villages == 2


def test_equity_and_ranked_uncovered() -> None:
    std = [load_standards()["health_15min"]]
    v = _villages()
    t = coverage_table(v, None, std, ["X", "Y"])
    from ynps_geo.coverage import coverage_by_setting

    e = equity_table(t, coverage_by_setting(v, std)).iloc[0]
    assert e.min_county == "Y" and e.max_county == "X" and e.max_share == 1.0
    assert e.urban_share == 1.0 and e.rural_share == pytest.approx(300 / 400)
    assert e.urban_rural_gap == pytest.approx(0.25)
    u = uncovered_villages(v, std)
    assert u.village_id.tolist() == ["c", "d"] or u.village_id.tolist() == ["d", "c"]
    assert u.iloc[0].max_excess_minutes == np.inf  # unreachable ranks first at equal population


def test_reporting_groups_follow_the_plan() -> None:
    from ynps_geo.coverage import county_groups, coverage_by_group

    counties = ["泸水市", "澜沧拉祜族自治县", "大理市", "宁蒗彝族自治县"]
    g = county_groups(counties, {"乡村振兴重点县": ["宁蒗彝族自治县", "不存在县"]})
    assert g["边境县 border"] == ["泸水市", "澜沧拉祜族自治县"]
    assert g["自治县 autonomous"] == ["澜沧拉祜族自治县", "宁蒗彝族自治县"]
    assert g["其他 other"] == ["大理市"]
    assert g["乡村振兴重点县"] == ["宁蒗彝族自治县"]
    cov = pd.DataFrame(
        {
            "county": [*counties, "ALL"],
            "standard_id": ["s"] * 5,
            "population": [100.0, 300.0, 50.0, 50.0, 500.0],
            "population_covered": [50.0, 150.0, 50.0, 0.0, 250.0],
            "share_covered": [0.5, 0.5, 1.0, 0.0, 0.5],
            "villages": [1, 2, 3, 4, 10],
            "villages_uncovered": [1, 1, 0, 4, 6],
        }
    )
    t = coverage_by_group(cov, g).set_index("group")
    assert t.loc["边境县 border", "share_covered"] == 0.5
    assert t.loc["自治县 autonomous", "population"] == 350.0
    assert t.loc["自治县 autonomous", "share_covered"] == pytest.approx(150 / 350)
    assert t.loc["乡村振兴重点县", "villages_uncovered"] == 4


def test_coverage_table_unknown_population_and_not_applying_villages() -> None:
    """A village with unknown (NaN) population counts as a village and adds nobody; a village
    the standard does not apply to is left out of both; a county without villages gets 0."""
    std = [load_standards()["health_15min"]]
    v = _villages()
    v.loc[1, "population"] = np.nan  # b: covered, population unknown
    v.loc[3, "health_15min_applies"] = False  # d: uncovered, not applying
    t = coverage_table(v, None, std, ["X", "Y", "Z"]).set_index("county")
    assert t.loc["X", "population"] == 100 and t.loc["X", "population_covered"] == 100
    assert t.loc["X", "villages"] == 2 and t.loc["X", "villages_uncovered"] == 0
    assert t.loc["Y", "population"] == 1050 and t.loc["Y", "population_covered"] == 1000
    assert t.loc["Y", "villages"] == 2 and t.loc["Y", "villages_uncovered"] == 1
    assert t.loc["Z", "population"] == 0 and np.isnan(t.loc["Z", "share_covered"])
    assert t.loc["Z", "villages"] == 0
    assert t.loc["ALL", "population"] == 1150 and t.loc["ALL", "villages"] == 4
    assert t.loc["ALL", "villages_uncovered"] == 1
    assert t["villages"].dtype.kind == "i" and t["population"].dtype.kind == "f"
