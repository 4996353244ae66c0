"""2SFCA family: hand-computed cases and agreement with pysal ``access`` to 1e-9."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ynps_geo.access import access_table, decay_weights, two_step_fca
from ynps_geo.errors import ValidationError

ZONES = [(10.0, 1.0), (20.0, 0.68), (30.0, 0.22)]


def pysal_2sfca(
    cost: np.ndarray,
    demand: np.ndarray,
    supply: np.ndarray,
    threshold: float,
    weight_fn=None,
    enhanced: bool = False,
) -> np.ndarray:
    """pysal ``access`` on the same matrix; unreachable pairs are left out of the cost table.

    pysal gives nan to demand locations with nothing in reach; ours gives 0, so nan -> 0.
    """
    access = pytest.importorskip("access")
    nd, ns = cost.shape
    dem = pd.DataFrame({"geoid": [f"d{i}" for i in range(nd)], "pop": demand})
    sup = pd.DataFrame({"geoid": [f"s{j}" for j in range(ns)], "cap": supply})
    rows = [
        (f"d{i}", f"s{j}", float(cost[i, j]))
        for i in range(nd)
        for j in range(ns)
        if np.isfinite(cost[i, j])
    ]
    cdf = pd.DataFrame(rows, columns=["origin", "dest", "cost"])
    with warnings.catch_warnings():
        # pysal access 1.1.x trips pandas deprecation warnings (set_index(inplace=True)...)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        a = access.Access(
            demand_df=dem,
            demand_index="geoid",
            demand_value="pop",
            supply_df=sup,
            supply_index="geoid",
            supply_value="cap",
            cost_df=cdf,
            cost_origin="origin",
            cost_dest="dest",
            cost_name="cost",
        )
        if enhanced:
            out = a.enhanced_two_stage_fca(max_cost=threshold, weight_fn=weight_fn)
        else:
            out = a.two_stage_fca(max_cost=threshold, weight_fn=weight_fn)
    series = out.iloc[:, 0]
    return series.reindex(dem["geoid"]).fillna(0.0).to_numpy(np.float64)


# ---- hand-computed --------------------------------------------------------------------------


COST = np.array([[5.0, 12.0], [np.inf, 10.0]])
POP = np.array([100.0, 50.0])
CAP = np.array([3.0, 6.0])


def test_classic_2x2_by_hand() -> None:
    # s0 serves d0 only (100 people): 0.03 per person; s1 serves d1 at exactly 10 min: 0.12
    out = two_step_fca(COST, POP, CAP, 10.0)
    np.testing.assert_allclose(out, [0.03, 0.12], rtol=1e-12)


def test_classic_2x2_wider_threshold_by_hand() -> None:
    # at 15 min s1 serves both (150 people): R1 = 6/150 = 0.04; d0 gets 0.03 + 0.04
    out = two_step_fca(COST, POP, CAP, 15.0)
    np.testing.assert_allclose(out, [0.07, 0.04], rtol=1e-12)


def test_enhanced_2x2_by_hand() -> None:
    # weights: d0-s0 5 min -> 1, d0-s1 12 min -> 0.68, d1-s1 10 min -> 1 (bound inclusive)
    out = two_step_fca(COST, POP, CAP, 30.0, zones=ZONES)
    r0 = 3.0 / 100.0
    r1 = 6.0 / (100.0 * 0.68 + 50.0)
    np.testing.assert_allclose(out, [r0 + 0.68 * r1, r1], rtol=1e-12)


def test_gaussian_2x2_by_hand() -> None:
    sigma = 10.0
    g = lambda c: np.exp(-c * c / (2 * sigma**2))  # noqa: E731
    out = two_step_fca(COST, POP, CAP, 30.0, decay="gaussian", sigma=sigma)
    r0 = 3.0 / (100.0 * g(5.0))
    r1 = 6.0 / (100.0 * g(12.0) + 50.0 * g(10.0))
    np.testing.assert_allclose(out, [g(5.0) * r0 + g(12.0) * r1, g(10.0) * r1], rtol=1e-12)


def test_gaussian_default_sigma_is_half_threshold() -> None:
    a = two_step_fca(COST, POP, CAP, 20.0, decay="gaussian")
    b = two_step_fca(COST, POP, CAP, 20.0, decay="gaussian", sigma=10.0)
    np.testing.assert_array_equal(a, b)


def test_supply_without_demand_in_reach_adds_zero_not_nan() -> None:
    cost = np.array([[5.0, np.inf, 3.0], [np.inf, np.inf, 4.0]])
    # s1 reaches nobody; s2 reaches only a zero-population village
    out = two_step_fca(cost, np.array([10.0, 0.0]), np.array([1.0, 5.0, 2.0]), 10.0)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [0.1 + 0.2, 0.2])


def test_demand_without_supply_in_reach_is_zero() -> None:
    cost = np.array([[5.0], [np.inf], [11.0]])
    out = two_step_fca(cost, np.array([10.0, 5.0, 5.0]), np.array([2.0]), 10.0)
    np.testing.assert_allclose(out, [0.2, 0.0, 0.0])


def test_callable_decay_scalar_and_vector() -> None:
    access = pytest.importorskip("access")
    fn = access.weights.step_fn({10: 1.0, 20: 0.68, 30: 0.22})  # scalar-only function
    a = two_step_fca(COST, POP, CAP, 30.0, decay=fn)
    b = two_step_fca(COST, POP, CAP, 30.0, zones=ZONES)
    np.testing.assert_allclose(a, b, rtol=1e-15)
    g = access.weights.gaussian(7.0)  # vectorised
    np.testing.assert_allclose(
        two_step_fca(COST, POP, CAP, 30.0, decay=g),
        two_step_fca(COST, POP, CAP, 30.0, decay="gaussian", sigma=7.0),
        rtol=1e-15,
    )


def test_zone_weights_inclusive_bounds_and_zero_beyond() -> None:
    c = np.array([0.0, 10.0, 10.5, 20.0, 30.0, 30.5, 40.0, np.inf])
    w = decay_weights(c, 40.0, zones=ZONES)
    np.testing.assert_array_equal(w, [1.0, 1.0, 0.68, 0.68, 0.22, 0.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cost": np.array([[np.nan]])}, "nan or negative"),
        ({"cost": np.array([[-1.0]])}, "nan or negative"),
        ({"demand": np.array([1.0, 2.0, 3.0])}, "demand has 3 values"),
        ({"supply": np.array([np.nan, 1.0])}, "supply has 1 negative, nan"),
        ({"threshold": 0.0}, "threshold"),
        ({"decay": "linear"}, "decay 'linear' is unknown"),
        ({"decay": "gaussian", "zones": ZONES}, "zones are for decay='step'"),
        ({"zones": [(10, 1.0), (10, 0.5)]}, "repeat an upper bound"),
        ({"zones": [(10, -1.0)]}, "negative"),
        ({"decay": lambda c: -np.ones_like(c)}, "negative or non-finite weights"),
    ],
)
def test_validation(kwargs: dict, match: str) -> None:
    args = {"cost": COST, "demand": POP, "supply": CAP, "threshold": 10.0}
    args.update(kwargs)
    with pytest.raises(ValidationError, match=match):
        two_step_fca(**args)


# ---- against pysal access -------------------------------------------------------------------

_cost_value = st.one_of(
    st.sampled_from([0.0, 5.0, 10.0, 12.5, 20.0, 25.0, 30.0, 45.0, np.inf, np.inf]),
    st.floats(min_value=0.0, max_value=60.0, allow_nan=False),
)


@st.composite
def problems(draw: st.DrawFn, thresholds: list[float]) -> tuple:
    nd = draw(st.integers(1, 5))
    ns = draw(st.integers(1, 5))
    cost = np.array([[draw(_cost_value) for _ in range(ns)] for _ in range(nd)])
    threshold = draw(st.sampled_from(thresholds))
    # one pair exactly at the threshold
    cost[draw(st.integers(0, nd - 1)), draw(st.integers(0, ns - 1))] = threshold
    # positive demand keeps pysal well-defined (no supply with zero demand in reach)
    demand = np.array([draw(st.integers(1, 5000)) for _ in range(nd)], dtype=float)
    supply = np.array([draw(st.floats(0.0, 500.0, allow_nan=False)) for _ in range(ns)])
    assume(np.isfinite(cost).any())
    return cost, demand, supply, threshold


_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(problems([5.0, 10.0, 12.5, 20.0, 30.0]))
def test_classic_matches_pysal(p: tuple) -> None:
    cost, demand, supply, thr = p
    ours = two_step_fca(cost, demand, supply, thr)
    np.testing.assert_allclose(ours, pysal_2sfca(cost, demand, supply, thr), rtol=1e-9, atol=1e-12)


@_settings
@given(problems([10.0, 20.0, 25.0, 30.0]))
def test_enhanced_matches_pysal(p: tuple) -> None:
    access = pytest.importorskip("access")
    cost, demand, supply, thr = p
    ours = two_step_fca(cost, demand, supply, thr, zones=ZONES)
    fn = access.weights.step_fn({10: 1.0, 20: 0.68, 30: 0.22})
    theirs = pysal_2sfca(cost, demand, supply, thr, weight_fn=fn, enhanced=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@_settings
@given(problems([10.0, 20.0, 30.0, 45.0]), st.floats(0.25, 2.0))
def test_gaussian_matches_pysal(p: tuple, rel_sigma: float) -> None:
    access = pytest.importorskip("access")
    cost, demand, supply, thr = p
    sigma = rel_sigma * thr
    ours = two_step_fca(cost, demand, supply, thr, decay="gaussian", sigma=sigma)
    theirs = pysal_2sfca(cost, demand, supply, thr, weight_fn=access.weights.gaussian(sigma))
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


# ---- DataFrame adapter -----------------------------------------------------------------------


def _villages() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "village_id": ["v1", "v2"],
            "county": ["A", "B"],
            "population": [100, 50],
            "setting": ["rural", "urban"],
        }
    )


def test_access_table_excludes_and_lists_missing_capacity() -> None:
    fac = pd.DataFrame({"facility_id": ["h1", "h2", "h3"], "beds": [3.0, np.nan, 6.0]})
    cost = np.array([[5.0, 1.0, 12.0], [np.inf, 2.0, 10.0]])
    df = access_table(_villages(), fac, cost, "beds", 10.0)
    assert list(df.columns) == [
        "village_id",
        "county",
        "setting",
        "population",
        "facilities_in_reach",
        "access_ratio",
        "access_per_1000",
    ]
    assert df.attrs["missing_capacity"] == ["h2"]
    assert any("lower bounds" in n for n in df.attrs["notes"])
    np.testing.assert_allclose(df["access_per_1000"], [30.0, 120.0])
    assert df["facilities_in_reach"].tolist() == [1, 1]
    assert df["county"].tolist() == ["A", "B"]


def test_access_table_without_capacity_column_is_nan() -> None:
    fac = pd.DataFrame({"facility_id": ["h1", "h2"]})
    df = access_table(_villages(), fac, COST, "doctors", 10.0)
    assert df["access_per_1000"].isna().all()
    assert df.attrs["missing_capacity"] == ["h1", "h2"]


def test_access_table_count_and_decay() -> None:
    fac = pd.DataFrame({"facility_id": ["p1", "p2"]})
    df = access_table(_villages(), fac, COST, "count", 30.0, zones=ZONES)
    np.testing.assert_allclose(
        df["access_ratio"], two_step_fca(COST, POP, np.ones(2), 30.0, zones=ZONES)
    )
    assert df.attrs["missing_capacity"] == []


def test_access_table_errors() -> None:
    fac = pd.DataFrame({"facility_id": ["h1", "h2"], "beds": [1.0, 2.0]})
    with pytest.raises(ValidationError, match="cost_minutes has shape"):
        access_table(_villages(), fac, np.zeros((3, 2)), "beds", 10.0)
    v = _villages().assign(population=[np.nan, 5])
    with pytest.raises(ValidationError, match="no valid population"):
        access_table(v, fac, COST, "beds", 10.0)
    with pytest.raises(ValidationError, match="negative 'beds'"):
        access_table(_villages(), fac.assign(beds=[-1.0, 2.0]), COST, "beds", 10.0)


# ---- split across counties: partial demand sums, gathered -----------------------------------


def _split_access(
    cost: np.ndarray,
    demand: np.ndarray,
    supply: np.ndarray,
    threshold: float,
    part_of: np.ndarray,
    **kw: Any,
) -> np.ndarray:
    """2SFCA computed part by part: each part sums its own demand, the sums are added."""
    from ynps_geo.access import access_from_ratios, catchment_demand, supply_ratios

    fids = [f"f{j}" for j in range(cost.shape[1])]
    parts = []
    for k in np.unique(part_of):
        rows = np.flatnonzero(part_of == k)
        sub = cost[rows]
        i, j = np.nonzero(np.isfinite(sub))
        pairs = pd.DataFrame(
            {"village": i, "facility_id": np.array(fids, dtype=object)[j], "minutes": sub[i, j]}
        )
        parts.append((rows, pairs))
    total = pd.concat([catchment_demand(p, demand[rows], threshold, **kw) for rows, p in parts])
    ratios = supply_ratios(pd.Series(supply, index=fids), total.groupby(level=0).sum())
    out = np.full(len(demand), np.nan)
    for rows, p in parts:
        out[rows] = access_from_ratios(p, ratios, len(rows), threshold, **kw)
    return out


@_settings
@given(problems([5.0, 10.0, 12.5, 20.0, 30.0]), st.data())
def test_demand_gathered_across_parts_equals_the_whole_matrix(
    p: tuple, data: st.DataObject
) -> None:
    """Villages split among counties at random: step 1's demand sums, added across the parts,
    give the same access as 2SFCA on the whole matrix (ours and pysal's), classic and enhanced."""
    access = pytest.importorskip("access")
    cost, demand, supply, thr = p
    part_of = np.array(
        data.draw(st.lists(st.integers(0, 2), min_size=len(demand), max_size=len(demand)))
    )
    whole = two_step_fca(cost, demand, supply, thr)
    np.testing.assert_allclose(
        _split_access(cost, demand, supply, thr, part_of), whole, rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(whole, pysal_2sfca(cost, demand, supply, thr), rtol=1e-9, atol=1e-12)
    if thr >= 10.0:
        split = _split_access(cost, demand, supply, thr, part_of, zones=ZONES)
        np.testing.assert_allclose(
            split, two_step_fca(cost, demand, supply, thr, zones=ZONES), rtol=1e-12, atol=1e-15
        )
        fn = access.weights.step_fn({10: 1.0, 20: 0.68, 30: 0.22})
        theirs = pysal_2sfca(cost, demand, supply, thr, weight_fn=fn, enhanced=True)
        np.testing.assert_allclose(split, theirs, rtol=1e-9, atol=1e-12)


def test_demand_left_in_one_part_overstates_the_border_by_hand() -> None:
    """Two villages of two counties share one facility of 10 beds: gathered, each reaches 10 / 300
    beds per person; a county counting only its own villages would give 10/100 and 10/200."""
    from ynps_geo.access import access_from_ratios, catchment_demand, supply_ratios

    a = pd.DataFrame({"village": [0], "facility_id": ["h"], "minutes": [5.0]})
    b = pd.DataFrame({"village": [0], "facility_id": ["h"], "minutes": [25.0]})
    da = catchment_demand(a, np.array([100.0]), 30.0)
    db = catchment_demand(b, np.array([200.0]), 30.0)
    assert da["h"] == 100.0 and db["h"] == 200.0
    r = supply_ratios(pd.Series({"h": 10.0}), pd.concat([da, db]).groupby(level=0).sum())
    assert r["h"] == pytest.approx(10.0 / 300.0)
    assert access_from_ratios(a, r, 1, 30.0)[0] == pytest.approx(10.0 / 300.0)
    # enhanced: weights 1.0 (5 min) and 0.22 (25 min): R = 10 / (100 + 0.22 * 200)
    dz = pd.concat(
        [catchment_demand(x, np.array([p]), 30.0, zones=ZONES) for x, p in ((a, 100.0), (b, 200.0))]
    )
    rz = supply_ratios(pd.Series({"h": 10.0}), dz.groupby(level=0).sum())
    assert rz["h"] == pytest.approx(10.0 / 144.0)
    assert access_from_ratios(b, rz, 1, 30.0, zones=ZONES)[0] == pytest.approx(0.22 * 10.0 / 144.0)
    # a facility nobody reaches serves nobody; a village reaching nothing has 0
    r0 = supply_ratios(pd.Series({"h": 10.0, "far": 5.0}), pd.Series({"h": 300.0}))
    assert r0["far"] == 0.0
    assert access_from_ratios(a.iloc[:0], r0, 2, 30.0).tolist() == [0.0, 0.0]


def test_split_access_errors() -> None:
    from ynps_geo.access import catchment_demand

    with pytest.raises(ValidationError, match="'minutes'"):
        catchment_demand(pd.DataFrame({"village": [0], "facility_id": ["h"]}), np.ones(1), 30.0)
    pairs = pd.DataFrame({"village": [3], "facility_id": ["h"], "minutes": [1.0]})
    with pytest.raises(ValidationError, match="village rows up to 3"):
        catchment_demand(pairs, np.ones(2), 30.0)
    with pytest.raises(ValidationError, match="negative"):
        catchment_demand(pairs.assign(village=0, minutes=-1.0), np.ones(2), 30.0)
