"""The analysis grid: a north-up raster in a metric CRS that terrain and times live on."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from affine import Affine


@dataclass(frozen=True)
class GridSpec:
    """A north-up grid in a metric CRS.

    Attributes
    ----------
    epsg : int
        Metric CRS of the grid (a UTM zone).
    x0, y0 : float
        Coordinates of the top-left corner, metres.
    res : float
        Cell size, metres (square cells).
    width, height : int
        Number of columns and rows.
    """

    epsg: int
    x0: float
    y0: float
    res: float
    width: int
    height: int

    @classmethod
    def covering(cls, epsg: int, bounds: tuple[float, float, float, float], res: float) -> GridSpec:
        """The grid of cell size ``res`` covering ``bounds`` (minx, miny, maxx, maxy) in metres."""
        minx, miny, maxx, maxy = bounds
        x0 = math.floor(minx / res) * res
        y0 = math.ceil(maxy / res) * res
        width = max(1, math.ceil((maxx - x0) / res))
        height = max(1, math.ceil((y0 - miny) / res))
        return cls(epsg, float(x0), float(y0), float(res), int(width), int(height))

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width)."""
        return (self.height, self.width)

    @property
    def size(self) -> int:
        """Number of cells."""
        return self.height * self.width

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in metres."""
        return (self.x0, self.y0 - self.height * self.res, self.x0 + self.width * self.res, self.y0)

    @property
    def crs(self) -> str:
        """CRS as an ``EPSG:`` string."""
        return f"EPSG:{self.epsg}"

    def transform(self) -> Affine:
        """The affine transform (``affine.Affine``) of the grid."""
        from affine import Affine

        return Affine(self.res, 0.0, self.x0, 0.0, -self.res, self.y0)

    def rowcol(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the cells containing metric points (may fall outside)."""
        col = np.floor((np.asarray(x, dtype=float) - self.x0) / self.res).astype(np.int64)
        row = np.floor((self.y0 - np.asarray(y, dtype=float)) / self.res).astype(np.int64)
        return row, col

    def inside(self, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        """Whether (row, col) lies on the grid."""
        return (row >= 0) & (row < self.height) & (col >= 0) & (col < self.width)

    def centres(self, row: np.ndarray, col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Metric coordinates of cell centres."""
        x = self.x0 + (np.asarray(col, dtype=float) + 0.5) * self.res
        y = self.y0 - (np.asarray(row, dtype=float) + 0.5) * self.res
        return x, y
