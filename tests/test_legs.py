"""Straight legs on a raster: crossed cells against shapely, Tobler costs against arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ynps_geo._kernels.legs import leg_costs, segment_cells

H, W = 12, 15


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-2.0, W + 2.0),
    st.floats(-2.0, H + 2.0),
    st.floats(-2.0, W + 2.0),
    st.floats(-2.0, H + 2.0),
)
def test_crossed_cells_equal_shapely_intersections(
    x0: float, y0: float, x1: float, y1: float
) -> None:
    import shapely

    seg, cell = segment_cells(np.array([x0]), np.array([y0]), np.array([x1]), np.array([y1]), H, W)
    assert np.all(seg == 0)
    got = set(cell.tolist())
    assert len(got) == len(cell)  # each cell once
    line = shapely.LineString([(x0, y0), (x1, y1)])
    expected = set()
    for r in range(H):
        for c in range(W):
            box = shapely.box(c, r, c + 1, r + 1)
            inter = line.intersection(box)
            # cells whose interior the segment enters (not just touching a corner or edge)
            if not inter.is_empty and (inter.length > 1e-9 or line.length == 0):
                if line.length == 0 and not box.contains(shapely.Point(x0, y0)):
                    continue
                expected.add(r * W + c)
    # cells only grazed within rounding of an edge may differ: compare the robust part
    robust = {
        k
        for k in expected
        if line.intersection(
            shapely.box(k % W + 1e-7, k // W + 1e-7, k % W + 1 - 1e-7, k // W + 1 - 1e-7)
        ).length
        > 1e-6
    }
    assert robust <= got <= expected | {k for k in got if k not in expected and _grazes(line, k)}


def _grazes(line: object, k: int) -> bool:
    import shapely

    box = shapely.box(k % W, k // W, k % W + 1, k // W + 1)
    return bool(line.distance(box) < 1e-9)  # type: ignore[attr-defined]


def _plane(slope_x: float, res: float = 10.0, n: int = 40) -> np.ndarray:
    xs = (np.arange(n) + 0.5) * res
    return np.tile(xs * slope_x, (n, 1)).astype(np.float64)


@pytest.mark.parametrize("slope", [0.0, 0.1, 0.2, -0.3])
def test_leg_on_a_plane_is_tobler_arithmetic_both_ways(slope: float) -> None:
    res = 10.0
    dem = _plane(slope, res)
    ok = np.ones(dem.shape, dtype=bool)
    spm = 3.6 / (6.0 * 0.6)
    # a leg 250 m east (up the slope) starting inside a cell, y0 = top edge = 400
    ax, ay, bx, by = 23.0, 377.0, 273.0, 377.0
    f, b, valid = leg_costs(
        np.array([ax]), np.array([ay]), np.array([bx]), np.array([by]), np.array([True]),
        dem, ok, 0.0, 400.0, res, spm, np.inf,
    )  # fmt: skip
    assert valid[0]
    assert f[0] == pytest.approx(250.0 * spm * math.exp(3.5 * abs(slope + 0.05)), rel=1e-9)
    assert b[0] == pytest.approx(250.0 * spm * math.exp(3.5 * abs(-slope + 0.05)), rel=1e-9)
    # a diagonal leg: slope along it is the plane's slope times cos(angle)
    f, b, _ = leg_costs(
        np.array([ax]), np.array([ay]), np.array([ax + 150.0]), np.array([ay - 200.0]),
        np.array([True]), dem, ok, 0.0, 400.0, res, spm, np.inf,
    )  # fmt: skip
    s = slope * 150.0 / 250.0
    assert f[0] == pytest.approx(250.0 * spm * math.exp(3.5 * abs(s + 0.05)), rel=1e-9)


def test_leg_across_a_barrier_or_too_steep_is_invalid_unless_unchecked() -> None:
    res = 10.0
    dem = _plane(0.0, res)
    ok = np.ones(dem.shape, dtype=bool)
    ok[:, 20] = False  # a river along column 20
    args = (np.array([5.0, 5.0]), np.array([395.0, 395.0]), np.array([395.0, 150.0]))
    _f, _b, valid = leg_costs(
        *args, np.array([395.0, 395.0]), np.array([True, True]), dem, ok,
        0.0, 400.0, res, 1.0, np.inf,
    )  # fmt: skip
    assert not valid[0] and valid[1]
    _, _, valid = leg_costs(
        *args, np.array([395.0, 395.0]), np.array([False, False]), dem, ok,
        0.0, 400.0, res, 1.0, np.inf,
    )  # fmt: skip
    assert valid.all()
    steep = _plane(1.5, res)
    _, _, valid = leg_costs(
        np.array([5.0]), np.array([395.0]), np.array([150.0]), np.array([395.0]),
        np.array([True]), steep, np.ones(steep.shape, bool), 0.0, 400.0, res, 1.0,
        math.tan(math.radians(45.0)),
    )  # fmt: skip
    assert not valid[0]


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 30).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.floats(0, 100)),
                max_size=80,
            ),
        )
    )
)
def test_coo_to_csr_keeps_every_edge_in_row_order(case: tuple) -> None:
    """The counting-sort CSR equals scipy's conversion (edges per row, duplicates kept, in
    input order within a row)."""
    from ynps_geo._kernels.csr import coo_to_csr

    n, edges = case
    u = np.array([e[0] for e in edges], dtype=np.int64)
    v = np.array([e[1] for e in edges], dtype=np.int64)
    w = np.array([e[2] for e in edges], dtype=np.float64)
    indptr, indices, weights = coo_to_csr(n, u, v, w)
    np.testing.assert_array_equal(np.diff(indptr), np.bincount(u, minlength=n))
    for row in range(n):
        sel = np.flatnonzero(u == row)  # input order
        a, b = indptr[row], indptr[row + 1]
        np.testing.assert_array_equal(indices[a:b], v[sel])
        np.testing.assert_array_equal(weights[a:b], w[sel])
