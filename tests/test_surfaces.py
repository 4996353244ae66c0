"""Mosaics of the counties' travel-time surfaces against the plain reference.

The reference resamples every county onto the whole target grid (nearest neighbour, exact
transforms; what :func:`ynps_geo.surfaces.mosaic` did before it placed each county in its own
part of the target); the mosaic must be the same cells, NaN, ``inf`` and all, whether a
county's surface covers its whole analysis grid or only the window around its cells.
"""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ynps_geo.analysis import _county_window
from ynps_geo.model.grid import GridSpec
from ynps_geo.surfaces import _exact_warp, mosaic

rasterio = pytest.importorskip("rasterio")


def _reference(parts: list[tuple[GridSpec, np.ndarray]]) -> tuple[np.ndarray, Any]:
    from rasterio.warp import Resampling, reproject, transform_bounds

    epsg = Counter(g.epsg for g, _ in parts).most_common(1)[0][0]
    crs = f"EPSG:{epsg}"
    res = min(g.res for g, _ in parts)
    boxes = [transform_bounds(g.crs, crs, *g.bounds) for g, _ in parts]
    target = GridSpec.covering(
        epsg,
        (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        ),
        res,
    )
    data = np.full(target.shape, np.nan, dtype=np.float32)
    for g, src in parts:
        src64 = np.where(np.isinf(src), 1e30, src).astype(np.float32)
        dst = np.full(target.shape, np.nan, dtype=np.float32)
        reproject(
            src64,
            dst,
            src_transform=g.transform(),
            src_crs=g.crs,
            dst_transform=target.transform(),
            dst_crs=crs,
            src_nodata=np.nan,
            dst_nodata=np.nan,
            resampling=Resampling.nearest,
            **_exact_warp(),
        )
        data = np.fmin(data, np.where(dst >= 1e29, np.inf, dst))
    return data, target.transform()


def _county(rng: np.random.Generator, epsg: int, x0: float, y0: float) -> tuple[GridSpec, Any]:
    """A county's analysis grid and surface: NaN in a margin around an irregular county,
    some cells unreached (inf)."""
    h, w = (int(v) for v in rng.integers(8, 40, 2))
    grid = GridSpec(epsg, x0, y0, 100.0, w, h)
    arr = rng.uniform(0, 90, (h, w)).astype(np.float32)
    arr[rng.random((h, w)) < 0.1] = np.inf
    outside = np.ones((h, w), dtype=bool)
    r0, c0 = (int(v) for v in rng.integers(1, 4, 2))
    outside[r0 : h - int(rng.integers(1, 4)), c0 : w - int(rng.integers(1, 4))] = False
    outside |= rng.random((h, w)) < 0.05
    arr[outside] = np.nan
    return grid, (arr, outside)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), other_zone=st.booleans(), cropped=st.booleans())
def test_mosaic_equals_resampling_every_county_onto_the_whole_target(
    seed: int, other_zone: bool, cropped: bool
) -> None:
    if other_zone and not _exact_warp():
        pytest.skip("rasterio < 1.4.4 resamples with GDAL's approximate transformer only")
    rng = np.random.default_rng(seed)
    counties = []
    for k in range(3):
        # 47N, near its eastern edge, so a 48N county lies beside them
        x0 = 760_000.0 + 100.0 * int(rng.integers(-30, 30)) + 2_000.0 * k
        y0 = 2_900_000.0 + 100.0 * int(rng.integers(-30, 30))
        counties.append(_county(rng, 32647, x0, y0))
    if other_zone:
        counties.append(
            _county(rng, 32648, 180_000.0, 2_900_000.0 + 100 * int(rng.integers(-20, 20)))
        )
    parts, ref_parts = {}, []
    for i, (grid, (arr, outside)) in enumerate(counties):
        ref_parts.append((grid, arr))
        if cropped:
            sub, window = _county_window(grid, outside)
            parts[str(i)] = (sub, {("s", "walk"): arr[window].copy()})
        else:
            parts[str(i)] = (grid, {("s", "walk"): arr})
    result = SimpleNamespace(surfaces=parts, standards=[SimpleNamespace(id="s", unit="min")])
    got = mosaic(result, "s")
    want, transform = _reference(ref_parts)
    # the cropped mosaic covers the counties' cells only: a part of the reference's grid,
    # which holds nothing (NaN) beyond it
    assert (got.transform.a, got.transform.e) == (transform.a, transform.e)
    c0 = round((got.transform.c - transform.c) / transform.a)
    r0 = round((got.transform.f - transform.f) / transform.e)
    h, w = got.data[0].shape
    assert c0 >= 0 and r0 >= 0 and ((c0 == 0 and r0 == 0) or cropped)
    mine, ref = got.data[0], want[r0 : r0 + h, c0 : c0 + w]
    if other_zone:
        # resampled across zones, a mosaic cell whose centre falls within rounding of a
        # county cell's edge may take either cell, in its own window or in the whole target
        differ = ~((mine == ref) | (np.isnan(mine) & np.isnan(ref)))
        assert differ.mean() <= 1e-3
        mine, ref = mine[~differ], ref[~differ]
    np.testing.assert_array_equal(mine, ref)
    rest = want.copy()
    rest[r0 : r0 + h, c0 : c0 + w] = np.nan
    assert np.isnan(rest).all()


def test_county_window_is_the_box_of_the_county_cells() -> None:
    grid = GridSpec(32647, 500_000.0, 2_900_000.0, 100.0, 7, 5)
    outside = np.ones((5, 7), dtype=bool)
    outside[1:3, 2:6] = False
    sub, window = _county_window(grid, outside)
    assert window == (slice(1, 3), slice(2, 6))
    assert (sub.x0, sub.y0, sub.width, sub.height) == (500_200.0, 2_899_900.0, 4, 2)
    # nothing inside: the whole grid
    assert _county_window(grid, np.ones((5, 7), dtype=bool)) == (grid, (slice(None), slice(None)))
