"""Siting: maximal covering and set covering (numpy core), and the county adapter."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ynps_geo.coverage import covered
from ynps_geo.errors import ValidationError
from ynps_geo.siting import SitingResult, maximal_covering, set_covering

# --------------------------------------------------------------------------------------------
# hand-computed cases
# --------------------------------------------------------------------------------------------
# 4 demand points, 3 candidates. c0 serves the middle pair {1, 2} (weight 5), c1 the left
# pair {0, 1} (4.5), c2 the right pair {2, 3} (4.5): greedy takes c0 first and ends at 7,
# the optimum pair is {c1, c2} with all 9.
COVER = np.array(
    [
        [0, 1, 0],
        [1, 1, 0],
        [1, 0, 1],
        [0, 0, 1],
    ],
    dtype=bool,
)
WEIGHTS = np.array([2.0, 2.5, 2.5, 2.0])


def test_greedy_hand_case() -> None:
    res = maximal_covering(COVER, WEIGHTS, 2)
    # c0 (5); then c1 and c2 both add 2: the tie goes to the lowest index
    assert res.chosen.tolist() == [0, 1]
    np.testing.assert_allclose(res.covered_weight, [5.0, 7.0])
    np.testing.assert_allclose(res.gains, [5.0, 2.0])
    assert res.covered.tolist() == [True, True, True, False]
    assert res.baseline_weight == 0.0
    assert res.total_weight == 9.0
    assert res.final_weight == 7.0
    assert res.method == "greedy"


def test_exact_beats_greedy_on_hand_case() -> None:
    res = maximal_covering(COVER, WEIGHTS, 2, method="exact")
    assert sorted(res.chosen.tolist()) == [1, 2]
    np.testing.assert_allclose(res.covered_weight, [4.5, 9.0])
    assert res.covered.all()
    assert res.final_share == 1.0


def test_p1_and_p0() -> None:
    assert maximal_covering(COVER, WEIGHTS, 1).chosen.tolist() == [0]
    res = maximal_covering(COVER, WEIGHTS, 0)
    assert res.chosen.size == 0
    assert res.final_weight == 0.0
    assert maximal_covering(COVER, WEIGHTS, 0, method="exact").chosen.size == 0


def test_existing_coverage_counts_and_gives_no_gain() -> None:
    # demand 1 and 2 already served: c0 gains nothing, c1 and c2 gain 2 each
    existing = np.array([False, True, True, False])
    for method in ("greedy", "exact"):
        res = maximal_covering(COVER, WEIGHTS, 3, existing=existing, method=method)
        assert res.baseline_weight == 5.0
        assert sorted(res.chosen.tolist()) == [1, 2], method
        np.testing.assert_allclose(res.covered_weight, [7.0, 9.0])
        assert 0 not in res.chosen  # it would add nothing


def test_stops_when_nothing_left_to_gain() -> None:
    # greedy needs all three sites to cover everyone, exact two; neither adds a useless site
    for method, n in (("greedy", 3), ("exact", 2)):
        res = maximal_covering(COVER, WEIGHTS, 5, method=method)  # type: ignore[arg-type]
        assert len(res.chosen) == n, method
        assert res.covered.all()
        assert (res.gains > 0).all()


def test_uncoverable_demand_is_reported() -> None:
    cover = np.vstack([COVER, np.zeros((1, 3), dtype=bool)])
    w = np.r_[WEIGHTS, 10.0]
    res = maximal_covering(cover, w, 3, method="exact")
    assert res.uncoverable.tolist() == [False, False, False, False, True]
    assert res.uncoverable_weight == 10.0
    assert res.final_weight == 9.0


def test_ties_go_to_the_lowest_index() -> None:
    cover = np.eye(4, dtype=bool)[:, [0, 1, 2, 3, 0, 1]]  # candidates 4, 5 duplicate 0, 1
    res = maximal_covering(cover, np.ones(4), 4)
    assert res.chosen.tolist() == [0, 1, 2, 3]
    cover = np.ones((3, 5), dtype=bool)
    assert maximal_covering(cover, np.ones(3), 2).chosen.tolist() == [0]


def test_cover_from_times_is_an_inclusive_threshold_test() -> None:
    # travel minutes demand x candidate; a trip of exactly the threshold counts as inside
    times = np.array(
        [
            [15.0, np.inf],
            [15.0 + 1e-12, 20.0],  # floating-point noise in sums of edge costs
            [15.01, np.nan],
        ]
    )
    cover = covered(times, 15.0)
    assert cover.tolist() == [[True, False], [True, False], [False, False]]
    res = maximal_covering(cover, np.array([1.0, 1.0, 1.0]), 2)
    assert res.chosen.tolist() == [0]
    assert res.uncoverable.tolist() == [False, False, True]


def test_set_covering_hand_case() -> None:
    for method in ("greedy", "exact"):
        res = set_covering(COVER, method=method)
        assert sorted(res.chosen.tolist()) == [1, 2], method
        assert res.covered.all()
        assert not res.uncoverable.any()


def test_set_covering_reports_uncoverable_instead_of_failing() -> None:
    cover = np.vstack([COVER, np.zeros((2, 3), dtype=bool)])
    existing = np.array([False, False, False, False, True, False])
    for method in ("greedy", "exact"):
        res = set_covering(cover, existing=existing, method=method)
        assert res.uncoverable.tolist() == [False] * 5 + [True]
        assert res.covered[:5].all()
        assert len(res.chosen) == 2


def test_set_covering_respects_existing() -> None:
    existing = np.array([True, True, True, False])
    for method in ("greedy", "exact"):
        res = set_covering(COVER, existing=existing, method=method)
        assert res.chosen.tolist() == [2]
        assert res.baseline_weight == 3.0
        assert res.covered_weight.tolist() == [4.0]


def test_set_covering_greedy_prunes_redundant_sites() -> None:
    # greedy takes c0 (3 demand) then c1 and c2 for the ends; c0 is then redundant
    cover = np.array(
        [
            [0, 1, 0],
            [1, 1, 0],
            [1, 1, 1],
            [1, 0, 1],
            [0, 0, 1],
        ],
        dtype=bool,
    )
    res = set_covering(cover)
    assert sorted(res.chosen.tolist()) == [1, 2]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cover": np.ones(3, dtype=bool)}, "2-D"),
        ({"cover": np.full((2, 2), 0.5)}, "boolean"),
        ({"weights": np.ones(3)}, "one weight per demand"),
        ({"weights": np.array([1.0, -1.0, 1.0, 1.0])}, "non-negative"),
        ({"weights": np.array([1.0, np.nan, 1.0, 1.0])}, "finite"),
        ({"existing": np.ones(2, dtype=bool)}, "one flag per demand"),
        ({"p": -1}, "non-negative integer"),
        ({"p": 1.5}, "non-negative integer"),
        ({"method": "lp"}, "unknown method"),
    ],
)
def test_bad_inputs_raise_validation_error(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"cover": COVER, "weights": WEIGHTS, "p": 2}
    args.update(kwargs)
    p = args.pop("p")
    with pytest.raises(ValidationError, match=match):
        maximal_covering(args.pop("cover"), args.pop("weights"), p, **args)


def test_zero_one_integer_cover_is_accepted() -> None:
    res = maximal_covering(COVER.astype(int), WEIGHTS, 2)
    assert res.chosen.tolist() == [0, 1]


# --------------------------------------------------------------------------------------------
# property tests against brute force
# --------------------------------------------------------------------------------------------
@st.composite
def instances(draw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    m = draw(st.integers(1, 8))
    n = draw(st.integers(1, 6))
    cells = draw(st.lists(st.booleans(), min_size=m * n, max_size=m * n))
    cover = np.array(cells, dtype=bool).reshape(m, n)
    # integer-valued weights: sums are exact, so optimal values compare exactly
    weights = np.array(draw(st.lists(st.integers(0, 9), min_size=m, max_size=m)), dtype=float)
    existing = np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool)
    p = draw(st.integers(0, 4))
    return cover, weights, existing, p


def _brute_mclp(cover: np.ndarray, w: np.ndarray, existing: np.ndarray, p: int) -> float:
    best = float(w[existing].sum())
    for k in range(1, min(p, cover.shape[1]) + 1):
        for subset in itertools.combinations(range(cover.shape[1]), k):
            cov = existing | cover[:, list(subset)].any(axis=1)
            best = max(best, float(w[cov].sum()))
    return best


def _naive_greedy(cover: np.ndarray, w: np.ndarray, existing: np.ndarray, p: int) -> list[int]:
    cov = existing.copy()
    out: list[int] = []
    for _ in range(p):
        gains = [float(w[cover[:, j] & ~cov].sum()) for j in range(cover.shape[1])]
        j = int(np.argmax(gains))
        if gains[j] <= 0:
            break
        out.append(j)
        cov |= cover[:, j]
    return out


def _check_consistent(res: SitingResult, cover: np.ndarray, w: np.ndarray, ex: np.ndarray) -> None:
    assert len(set(res.chosen.tolist())) == len(res.chosen)
    cov = ex | cover[:, res.chosen].any(axis=1) if len(res.chosen) else ex
    assert res.covered.tolist() == cov.tolist()
    assert res.final_weight == pytest.approx(float(w[cov].sum()))
    assert (res.gains > 0).all()
    assert res.uncoverable.tolist() == (~ex & ~cover.any(axis=1)).tolist()


@settings(max_examples=150, deadline=None)
@given(instances())
def test_exact_equals_brute_force_and_greedy_is_not_better(
    inst: tuple[np.ndarray, np.ndarray, np.ndarray, int],
) -> None:
    cover, w, existing, p = inst
    exact = maximal_covering(cover, w, p, existing=existing, method="exact")
    greedy = maximal_covering(cover, w, p, existing=existing, method="greedy")
    assert exact.final_weight == pytest.approx(_brute_mclp(cover, w, existing, p))
    assert greedy.final_weight <= exact.final_weight + 1e-9
    assert len(greedy.chosen) <= p
    assert len(exact.chosen) <= p
    for res in (exact, greedy):
        _check_consistent(res, cover, w, existing)
    # lazy gains pick exactly what plain greedy picks, ties included
    assert greedy.chosen.tolist() == _naive_greedy(cover, w, existing, p)
    # greedy's marginal gains never increase (coverage is submodular)
    assert (np.diff(greedy.gains) <= 1e-9).all()


def _brute_lscp(cover: np.ndarray, need: np.ndarray) -> int:
    if not need.any():
        return 0
    for k in range(1, cover.shape[1] + 1):
        for subset in itertools.combinations(range(cover.shape[1]), k):
            if cover[np.ix_(need, np.asarray(subset, dtype=np.int64))].any(axis=1).all():
                return k
    raise AssertionError("coverable demand must be coverable by all candidates")


@settings(max_examples=150, deadline=None)
@given(instances())
def test_set_covering_is_minimal_against_brute_force(
    inst: tuple[np.ndarray, np.ndarray, np.ndarray, int],
) -> None:
    cover, w, existing, _ = inst
    need = ~existing & cover.any(axis=1)
    exact = set_covering(cover, weights=w, existing=existing, method="exact")
    greedy = set_covering(cover, weights=w, existing=existing, method="greedy")
    assert len(exact.chosen) == _brute_lscp(cover, need)
    assert len(greedy.chosen) >= len(exact.chosen)
    for res in (exact, greedy):
        assert res.covered[need].all()
        assert res.uncoverable.tolist() == (~existing & ~cover.any(axis=1)).tolist()
        np.testing.assert_allclose(res.final_weight, w[res.covered].sum())
        # no chosen site is redundant
        for j in res.chosen:
            others = [k for k in res.chosen if k != j]
            assert not (existing | cover[:, others].any(axis=1))[need].all() or not need.any()


# --------------------------------------------------------------------------------------------
# the demo county: the coverage matrix against the engine
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from ynps_geo.config import load_config
    from ynps_geo.datasets import generate_demo
    from ynps_geo.workflows import load_inputs

    path = generate_demo(tmp_path_factory.mktemp("siting") / "data")
    return path, load_inputs(load_config(path))


def _options() -> Any:
    from ynps_geo.analysis import Options

    return Options(resolution_m=200.0, isochrones=False, facility_isochrones="none", access=False)


def _covered_population(inputs: Any, facilities: Any, sid: str) -> float:
    """Covered village population of standard ``sid`` by a fresh county analysis."""
    import geopandas as gpd

    from ynps_geo.analysis import analyze_county
    from ynps_geo.model.standards import load_standards

    fac = gpd.GeoDataFrame(facilities, geometry="geometry", crs="EPSG:4326")
    inp = dataclasses.replace(inputs, facilities=fac, population_path=None)
    county = inputs.counties["county"].iloc[0]
    res = analyze_county(
        str(county), inputs.counties.geometry.iloc[0], inp, [load_standards()[sid]], _options()
    )
    v = res.villages
    assert v is not None
    app = v[v[f"{sid}_applies"].astype(bool)]
    return float(app.loc[app[f"{sid}_covered"].astype(bool), "population"].sum())


def test_demo_sites_match_a_fresh_analysis(demo: tuple[Path, Any]) -> None:
    import pandas as pd

    from ynps_geo.siting import sites_as_facilities
    from ynps_geo.workflows import suggest_sites

    path, inputs = demo
    sites = suggest_sites(path, "health_15min", 3, options=_options())
    assert sites.crs.to_epsg() == 4326
    assert list(sites.columns[:7]) == [
        "rank",
        "candidate_id",
        "name",
        "population_gained",
        "villages_gained",
        "population_covered_after",
        "share_after",
    ]
    assert sites["rank"].tolist() == [1, 2, 3]
    base = sites.attrs["baseline_population_covered"]
    gained = sites["population_gained"].to_numpy()
    after = sites["population_covered_after"].to_numpy()
    assert (gained > 0).all()
    assert (np.diff(gained) <= 0).all()  # greedy: the gains curve never rises
    assert (after >= base).all() and (np.diff(after) > 0).all()
    np.testing.assert_allclose(after, base + np.cumsum(gained))
    assert (sites["share_after"] >= sites.attrs["baseline_share"]).all()
    assert set(sites["candidate_id"]) <= set(inputs.villages["village_id"].astype(str))

    # the matrix agrees with the engine: build the sites as real facilities and re-analyse
    assert _covered_population(inputs, inputs.facilities, "health_15min") == base
    new = sites_as_facilities(sites, "health_15min")
    assert set(new["category"]) == {"health"}
    both = pd.concat([inputs.facilities, new], ignore_index=True)
    assert _covered_population(inputs, both, "health_15min") == pytest.approx(after[-1])


def test_demo_own_candidates_in_another_crs(demo: tuple[Path, Any]) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from ynps_geo.siting import suggest_sites

    _, inputs = demo
    vil = inputs.villages.head(6)
    pts = [*vil.geometry, Point(120.0, 30.0)]  # the last one lies far outside the county
    cand = gpd.GeoDataFrame(
        {"candidate_id": [f"s{i}" for i in range(len(pts))]}, geometry=pts, crs="EPSG:4326"
    ).to_crs("EPSG:3857")
    sites = suggest_sites(inputs, "health_15min", 2, candidates=cand, options=_options())
    assert set(sites["candidate_id"]) <= {f"s{i}" for i in range(6)}
    assert sites.attrs["candidates"] == 6
    assert any("left out" in n for n in sites.attrs["notes"])


@pytest.mark.parametrize(
    ("sid", "match"),
    [("basic_services_90min_rural", "single-group"), ("county_care_institution", "circle")],
)
def test_demo_unsupported_standards(demo: tuple[Path, Any], sid: str, match: str) -> None:
    from ynps_geo.siting import suggest_sites

    with pytest.raises(ValidationError, match=match):
        suggest_sites(demo[1], sid, 2, options=_options())


def test_demo_bad_county_and_candidates(demo: tuple[Path, Any]) -> None:
    from ynps_geo.siting import suggest_sites

    with pytest.raises(ValidationError, match="not in the boundary layer"):
        suggest_sites(demo[1], "health_15min", 1, county="Nowhere", options=_options())
    with pytest.raises(ValidationError, match="candidates="):
        suggest_sites(demo[1], "health_15min", 1, candidates="towns", options=_options())


# --------------------------------------------------------------------------------------------
# peers: spopt's MCLP and LSCP (PuLP + CBC) on the same cover
# --------------------------------------------------------------------------------------------


def _cbc() -> Any:
    """CBC through PuLP: the bundled one (PuLP 2-3), else COIN_CMD (PuLP 4, ``pulp[cbc]``)."""
    pulp = pytest.importorskip("pulp")
    solver = getattr(pulp, "PULP_CBC_CMD", None) or pulp.COIN_CMD
    return solver(msg=False)


def _spopt_cost(cover: np.ndarray) -> np.ndarray:
    """A cost matrix whose service radius 1 reproduces ``cover`` (0 inside, 2 outside)."""
    return np.where(cover, 0.0, 2.0)


def _random_case(seed: int, existing_share: float = 0.0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(3, 14)), int(rng.integers(2, 9))
    cover = rng.random((n, m)) < rng.uniform(0.1, 0.5)
    weights = rng.integers(1, 1000, n).astype(float)  # populations
    existing = rng.random(n) < existing_share
    return cover, weights, existing


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 6))
def test_exact_mclp_equals_spopt(seed: int, p: int) -> None:
    """Exact MCLP covers as much weight as spopt's MCLP.from_cost_matrix (the optimum)."""
    spopt_locate = pytest.importorskip("spopt.locate")
    pulp = pytest.importorskip("pulp")
    cover, weights, _ = _random_case(seed)
    p = min(p, cover.shape[1])
    ours = maximal_covering(cover, weights, p, method="exact")
    peer = spopt_locate.MCLP.from_cost_matrix(_spopt_cost(cover), weights, 1.0, p_facilities=p)
    peer = peer.solve(_cbc())
    peer_sites = [j for j in range(cover.shape[1]) if peer.fac_vars[j].value() > 0.5]
    peer_weight = float(weights[cover[:, peer_sites].any(axis=1)].sum()) if peer_sites else 0.0
    assert ours.final_weight == pytest.approx(peer_weight, abs=1e-9)
    assert ours.final_weight == pytest.approx(float(pulp.value(peer.problem.objective)), abs=1e-6)
    assert len(ours.chosen) <= p
    # and the greedy never beats the optimum
    assert maximal_covering(cover, weights, p).final_weight <= ours.final_weight + 1e-9


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 4))
def test_exact_mclp_with_existing_equals_spopt_with_predefined_sites(seed: int, p: int) -> None:
    """Demand already served counts as covered: spopt models it as a predefined facility."""
    spopt_locate = pytest.importorskip("spopt.locate")
    pytest.importorskip("pulp")
    cover, weights, existing = _random_case(seed, existing_share=0.3)
    p = min(p, cover.shape[1])
    ours = maximal_covering(cover, weights, p, existing=existing, method="exact")
    # one more column: the existing facilities together, opened in advance and not counted
    cost = _spopt_cost(np.c_[cover, existing])
    predefined = np.r_[np.zeros(cover.shape[1], bool), True]
    peer = spopt_locate.MCLP.from_cost_matrix(
        cost, weights, 1.0, p_facilities=p + 1, predefined_facilities_arr=predefined
    ).solve(_cbc())
    opened = [j for j in range(cover.shape[1] + 1) if peer.fac_vars[j].value() > 0.5]
    peer_weight = float(weights[np.c_[cover, existing][:, opened].any(axis=1)].sum())
    assert ours.final_weight == pytest.approx(peer_weight, abs=1e-9)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_exact_lscp_equals_spopt(seed: int) -> None:
    """Exact LSCP opens as few sites as spopt's LSCP.from_cost_matrix, and covers everyone."""
    spopt_locate = pytest.importorskip("spopt.locate")
    pulp = pytest.importorskip("pulp")
    cover, weights, _ = _random_case(seed)
    ours = set_covering(cover, weights=weights, method="exact")
    coverable = cover.any(axis=1)
    if not coverable.any():
        assert len(ours.chosen) == 0
        return
    # spopt needs every demand row coverable: give it the coverable rows (ours reports the
    # others as uncoverable)
    peer = spopt_locate.LSCP.from_cost_matrix(_spopt_cost(cover[coverable]), 1.0)
    peer = peer.solve(_cbc())
    n_peer = sum(1 for j in range(cover.shape[1]) if peer.fac_vars[j].value() > 0.5)
    assert len(ours.chosen) == n_peer == round(pulp.value(peer.problem.objective))
    assert ours.covered[coverable].all()
    np.testing.assert_array_equal(ours.uncoverable, ~coverable)
    # greedy is a cover too, never smaller than the optimum
    greedy = set_covering(cover, weights=weights)
    assert greedy.covered[coverable].all() and len(greedy.chosen) >= n_peer
