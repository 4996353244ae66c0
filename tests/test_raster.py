"""Raster inputs: population inside a boundary, DEM onto the analysis grid, windowed reads."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from ynps_geo.errors import CRSError, ValidationError
from ynps_geo.io.raster import population_cells, reproject_to_grid
from ynps_geo.model.grid import GridSpec


def _write(path: Path, arr: np.ndarray, crs: str, transform, nodata=None, **kw) -> Path:  # type: ignore[no-untyped-def]
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=arr.shape[1],
        height=arr.shape[0],
        count=1,
        dtype=arr.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
        **kw,
    ) as dst:
        dst.write(arr, 1)
    return path


def test_population_inside_a_boundary_is_the_sum_of_cells_whose_centres_lie_inside(
    tmp_path: Path,
) -> None:
    # 10 x 10 cells of 0.01 deg from (100.0, 25.1) down to (100.1, 25.0); cell (r, c) = r*10 + c
    arr = np.arange(100, dtype=np.float32).reshape(10, 10)
    arr[0, 0] = -99999  # nodata
    arr[9, 9] = -5  # negative: nobody
    path = _write(
        tmp_path / "pop.tif", arr, "EPSG:4326", from_origin(100.0, 25.1, 0.01, 0.01), nodata=-99999
    )
    # a box covering the centres of rows 0-4 and columns 0-4 (edges between centres)
    cells = population_cells(path, box(99.999, 25.049, 100.049, 25.101))
    expected = sum(r * 10 + c for r in range(5) for c in range(5)) - 0  # cell (0,0) is nodata
    assert cells.total == pytest.approx(expected)
    assert len(cells.population) == 24 and (cells.population > 0).all()
    assert cells.cell_area_m2 == pytest.approx(1113 * 1008, rel=0.02)  # 0.01 deg at 25 N


def test_population_raster_not_overlapping_or_without_crs(tmp_path: Path) -> None:
    arr = np.ones((4, 4), dtype=np.float32)
    path = _write(tmp_path / "pop.tif", arr, "EPSG:4326", from_origin(100.0, 25.1, 0.01, 0.01))
    with pytest.raises(ValidationError, match=r"pop\.tif.*does not overlap"):
        population_cells(path, box(110, 30, 111, 31))
    bare = tmp_path / "bare.tif"
    with rasterio.open(
        bare, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32"
    ) as dst:
        dst.write(arr, 1)
    with pytest.raises(CRSError, match=r"bare\.tif"):
        population_cells(bare, box(100, 25, 100.02, 25.02))


def test_dem_is_resampled_onto_a_utm_grid_with_voids_as_nan(tmp_path: Path) -> None:
    # a plane rising 100 m per 0.01 deg of longitude, in EPSG:4326, with an SRTM void
    lon = 99.9 + 0.001 * (np.arange(300) + 0.5)
    arr = np.tile(1000 + (lon - 99.9) * 10_000, (300, 1)).astype(np.float32)
    arr[150:155, 150:155] = -32768
    path = _write(tmp_path / "dem.tif", arr, "EPSG:4326", from_origin(99.9, 25.75, 0.001, 0.001))
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", "EPSG:32647", always_xy=True)
    x0, y1 = tr.transform(99.95, 25.70)
    grid = GridSpec(32647, x0, y1, 100.0, 20, 20)
    dem = reproject_to_grid(path, grid)
    assert dem.shape == (20, 20)
    rows, cols = np.indices(grid.shape)
    gx, gy = grid.centres(rows.ravel(), cols.ravel())
    glon, _ = Transformer.from_crs("EPSG:32647", "EPSG:4326", always_xy=True).transform(gx, gy)
    expected = 1000 + (np.asarray(glon) - 99.9) * 10_000
    ok = np.isfinite(dem.ravel())
    np.testing.assert_allclose(dem.ravel()[ok], expected[ok], atol=1.0)  # bilinear on a plane
    # the void (lon 100.05-100.055, lat 25.595-25.60) is outside this grid; a grid over it:
    vx, vy = tr.transform(100.0515, 25.5985)
    void = reproject_to_grid(path, GridSpec(32647, vx - 50, vy + 50, 100.0, 1, 1))
    assert np.isnan(void).all()


def test_a_county_window_of_a_big_raster_is_read_without_loading_it_all(tmp_path: Path) -> None:
    """A province-size raster: reading a county must not pull the whole file into memory."""
    side = 6000  # 6000 x 6000 float32 = 137 MiB uncompressed
    path = tmp_path / "big.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=side,
        height=side,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(97.5, 29.3, 0.0015, 0.0015),
        nodata=-99999,
        tiled=True,
        blockxsize=512,
        blockysize=512,
        compress="deflate",
    ) as dst:
        block = np.full((512, 512), 2.0, dtype=np.float32)
        for r in range(0, side, 512):
            for c in range(0, side, 512):
                h, w = min(512, side - r), min(512, side - c)
                dst.write(block[:h, :w], 1, window=rasterio.windows.Window(c, r, w, h))
    county = box(100.0, 25.5, 100.3, 25.8)  # ~ 200 x 200 cells
    tracemalloc.start()
    cells = population_cells(path, county)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert cells.total == pytest.approx(2.0 * len(cells.population))
    assert 190 * 190 <= len(cells.population) <= 210 * 210
    assert peak < 32 * 2**20, f"peak {peak / 2**20:.0f} MiB: the whole raster was read"
