"""Isochrone polygons: inside exactly when the time is within the threshold, holes kept."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from ynps_geo.engine import TravelEngine
from ynps_geo.isochrones import facility_isochrones, isochrone_geometry
from ynps_geo.model.grid import GridSpec

G = GridSpec(32647, 400_000.0, 2_851_000.0, 100.0, 10, 10)


def _centres_inside(geom, grid: GridSpec) -> np.ndarray:  # type: ignore[no-untyped-def]
    rows, cols = np.indices(grid.shape)
    x, y = grid.centres(rows.ravel(), cols.ravel())
    return shapely.contains_xy(geom, x, y).reshape(grid.shape)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from([0.0, 5.0, 9.99, 10.0, 10.01, 30.0, np.inf]), min_size=100, max_size=100
    )
)
def test_inside_exactly_when_within_threshold(values: list[float]) -> None:
    cells = np.array(values).reshape(G.shape)
    geom = isochrone_geometry(cells, 10.0, G)
    inside = _centres_inside(geom, G)
    np.testing.assert_array_equal(inside, cells <= 10.0)


def test_holes_are_kept_no_convex_hull() -> None:
    cells = np.zeros(G.shape)
    cells[4:6, 4:6] = 99.0  # a ridge nobody reaches in time, in the middle
    geom = isochrone_geometry(cells, 15.0, G)
    assert geom.geom_type == "Polygon" and len(geom.interiors) == 1
    assert geom.area == (100 - 4) * 100.0**2


def test_per_facility_isochrones_match_their_own_search() -> None:
    rng = np.random.default_rng(1)
    g = GridSpec(32647, 400_000.0, 2_853_000.0, 100.0, 30, 30)
    dem = rng.uniform(0, 40, g.shape)
    fx, fy = rng.uniform(400_500, 402_500, 3), rng.uniform(2_850_500, 2_852_500, 3)
    eng = TravelEngine.build(g, dem, None, (np.zeros(0), np.zeros(0)), (fx, fy))
    polys = facility_isochrones(eng, np.arange(3), "walk", 10.0, 1 / 60.0)
    for row, geom, _ in polys:
        d, _ = eng.search("walk", [np.array([row])])
        minutes = eng.cell_values(d)[0] / 60.0
        np.testing.assert_array_equal(_centres_inside(geom, g), minutes <= 10.0)


def _pieces(inside: np.ndarray, grid: GridSpec) -> list[object]:
    from rasterio.features import shapes
    from shapely.geometry import shape

    return [
        shape(g)
        for g, v in shapes(inside.astype(np.uint8), mask=inside, transform=grid.transform())
        if v == 1
    ]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.05, 0.95))
def test_coverage_union_equals_unary_union(seed: int, density: float) -> None:
    """The dissolve (coverage_union_all on the grid's edge-matched pieces) equals unary_union."""
    rng = np.random.default_rng(seed)
    g = GridSpec(32647, 400_000.0, 2_853_000.0, 100.0, 24, 31)
    cells = np.where(rng.random(g.shape) < density, 5.0, np.inf)
    geom = isochrone_geometry(cells, 10.0, g)
    reference = shapely.unary_union(_pieces(np.isfinite(cells), g))
    assert geom.is_valid
    assert geom.area == reference.area == np.isfinite(cells).sum() * 100.0**2
    assert shapely.equals(geom, reference)
    assert shapely.symmetric_difference(geom, reference).area == 0.0
