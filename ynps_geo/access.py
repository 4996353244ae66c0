"""Capacity-aware access: the two-step floating catchment area (2SFCA) family.

A numpy core works on a travel-time matrix ``cost`` of shape ``(n_demand, n_supply)`` in
minutes (``inf`` = unreachable); :func:`access_table` adapts it to the per-village results.

Definitions (they match pysal ``access`` 1.1.x, ``access.fca.two_stage_fca``)
--------------------------------------------------------------------------
With a weight ``w_ij = f(c_ij)`` for every pair with ``c_ij <= threshold`` (inclusive) and
``w_ij = 0`` otherwise (and for every unreachable pair):

1. each supply location ``j`` gets a supply-to-demand ratio
   ``R_j = S_j / sum_i(P_i * w_ij)``;
2. each demand location ``i`` gets the access ratio ``A_i = sum_j(R_j * w_ij)``,

i.e. supply per person (multiply by 1,000 for "per 1,000 residents").

The weight ``f`` is

- ``"step"`` without ``zones``: classic 2SFCA (Luo & Wang 2003), ``f = 1``;
- ``"step"`` with ``zones`` ``[(10, 1.0), (20, 0.68), (30, 0.22)]``: enhanced 2SFCA (Luo & Qi
  2009): the weight of the first zone whose upper bound is at least the cost (bounds are
  inclusive, as ``access.weights.step_fn``), 0 beyond the last bound;
- ``"gaussian"``: ``f(c) = exp(-c**2 / (2 * sigma**2))``, exactly ``access.weights.gaussian``
  (not normalised, ``f(0) = 1``); ``sigma`` defaults to ``threshold / 2``;
- a callable: called with a 1-D float array of the in-reach costs, returning their weights
  (a function of one scalar, such as ``access.weights.step_fn(...)``, is applied element-wise).

Where pysal is undefined this module defines the result:

- a supply location with no demand in reach (no pair within the threshold, or only
  zero-population or zero-weight pairs) gets ``R_j = 0``: its supply serves nobody and adds
  nothing (pysal gives ``inf``/``nan`` when such pairs exist, and drops it otherwise);
- a demand location with no supply in reach gets ``A_i = 0`` (pysal gives ``nan``).

Split across counties
---------------------
Step 1's denominator ``sum_i(P_i * w_ij)`` is a sum over demand locations, so it is additive:
each county can sum the demand of its own villages within each facility's catchment
(:func:`catchment_demand` on the sparse ``(village, facility_id, minutes)`` pairs it found),
and the sums of all counties added per facility (:func:`supply_ratios`) give the ratio
``R_j`` that counts every village in reach, whichever county it lies in. Step 2
(:func:`access_from_ratios`) then needs only each village's own pairs. The split gives the
same figures as :func:`two_step_fca` on the whole matrix (``tests/test_access.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ynps_geo.errors import ValidationError

__all__ = [
    "Decay",
    "access_from_ratios",
    "access_table",
    "catchment_demand",
    "decay_weights",
    "supply_ratios",
    "two_step_fca",
]

#: A distance-decay choice: a name or a function of the cost array.
Decay = Literal["step", "gaussian"] | Callable[[Any], Any]

_DECAYS = ("step", "gaussian")


def _check_zones(zones: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    try:
        arr = np.asarray([(float(b), float(w)) for b, w in zones], dtype=np.float64)
    except (TypeError, ValueError) as err:
        msg = (
            f"zones {zones!r} are not a sequence of (upper_bound_minutes, weight) pairs; "
            "give e.g. [(10, 1.0), (20, 0.68), (30, 0.22)]"
        )
        raise ValidationError(msg) from err
    if arr.size == 0:
        msg = "zones is empty; give at least one (upper_bound_minutes, weight) pair or None"
        raise ValidationError(msg)
    bounds, weights = arr[:, 0], arr[:, 1]
    if not np.all(np.isfinite(arr)) or np.any(bounds < 0) or np.any(weights < 0):
        msg = (
            f"zones {zones!r} have a negative or non-finite bound or weight; bounds are minutes "
            "and weights are non-negative numbers"
        )
        raise ValidationError(msg)
    order = np.argsort(bounds, kind="stable")
    bounds, weights = bounds[order], weights[order]
    if np.any(np.diff(bounds) == 0):
        msg = f"zones {zones!r} repeat an upper bound; give each zone a distinct upper bound"
        raise ValidationError(msg)
    return bounds, weights


def _apply_callable(fn: Callable[[Any], Any], costs: np.ndarray) -> np.ndarray:
    """Apply ``fn`` to an array; fall back to element-wise for scalar-only functions."""
    try:
        out = np.asarray(fn(costs), dtype=np.float64)
        if out.shape == costs.shape:
            return out
    except (TypeError, ValueError):
        pass
    return np.asarray([float(fn(float(c))) for c in costs], dtype=np.float64).reshape(costs.shape)


def decay_weights(
    cost: np.ndarray,
    threshold: float,
    *,
    decay: Decay = "step",
    zones: Sequence[tuple[float, float]] | None = None,
    sigma: float | None = None,
) -> np.ndarray:
    """Pair weights ``w_ij``: ``f(c_ij)`` within the threshold (inclusive), 0 elsewhere.

    Parameters
    ----------
    cost : ndarray
        Travel costs in minutes; ``inf`` is unreachable.
    threshold : float
        Catchment size in minutes (inclusive); ``inf`` for no cut-off.
    decay : {"step", "gaussian"} or callable
        Distance decay (see the module docstring).
    zones : sequence of (upper_bound_minutes, weight), optional
        Enhanced 2SFCA zones; only with ``decay="step"``.
    sigma : float, optional
        Gaussian width in minutes; defaults to ``threshold / 2``.

    Returns
    -------
    ndarray
        Weights, same shape as ``cost``.

    Raises
    ------
    ValidationError
        On a bad threshold, decay, zones or sigma, or a weight function returning negative or
        non-finite weights.
    """
    c = np.asarray(cost, dtype=np.float64)
    thr = float(threshold)
    if not thr > 0:
        msg = f"threshold {threshold!r} is not a positive number of minutes; give e.g. 30"
        raise ValidationError(msg)
    reach = np.isfinite(c) & (c <= thr)
    w = np.zeros_like(c)
    inside = c[reach]
    if callable(decay):
        if zones is not None:
            msg = "zones were given with a callable decay; use one or the other"
            raise ValidationError(msg)
        vals = _apply_callable(decay, inside)
    elif decay == "step":
        if zones is None:
            vals = np.ones_like(inside)
        else:
            bounds, weights = _check_zones(zones)
            k = np.searchsorted(bounds, inside, side="left")  # first bound >= cost
            padded = np.append(weights, 0.0)
            vals = padded[k]
    elif decay == "gaussian":
        if zones is not None:
            msg = "zones are for decay='step' (enhanced 2SFCA); drop zones or use decay='step'"
            raise ValidationError(msg)
        s = thr / 2.0 if sigma is None else float(sigma)
        if not (np.isfinite(s) and s > 0):
            msg = (
                f"sigma {sigma!r} (threshold {threshold!r}) gives no positive finite Gaussian "
                "width; give sigma in minutes, e.g. sigma=10"
            )
            raise ValidationError(msg)
        vals = np.exp(-inside * inside / (2.0 * s**2))
    else:
        msg = f"decay {decay!r} is unknown; use one of {list(_DECAYS)} or a function of the cost"
        raise ValidationError(msg)
    if vals.size and (not np.all(np.isfinite(vals)) or np.any(vals < 0)):
        msg = f"decay {decay!r} returned negative or non-finite weights; weights must be >= 0"
        raise ValidationError(msg)
    w[reach] = vals
    return w


def _vector(values: Any, name: str, n: int | None) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        msg = f"{name} has shape {v.shape}; give a 1-D array (one value per location)"
        raise ValidationError(msg)
    if n is not None and len(v) != n:
        msg = (
            f"{name} has {len(v)} values but the cost matrix has {n} for that axis; "
            "give one value per row (demand) or column (supply) of cost"
        )
        raise ValidationError(msg)
    bad = ~np.isfinite(v) | (v < 0)
    if bad.any():
        msg = (
            f"{name} has {int(bad.sum())} negative, nan or infinite value(s) at positions "
            f"{np.flatnonzero(bad)[:5].tolist()}; give non-negative finite numbers"
        )
        raise ValidationError(msg)
    return v


def two_step_fca(
    cost: np.ndarray,
    demand: np.ndarray,
    supply: np.ndarray,
    threshold: float,
    *,
    decay: Decay = "step",
    zones: Sequence[tuple[float, float]] | None = None,
    sigma: float | None = None,
) -> np.ndarray:
    """Access ratio (supply per person) of each demand location, 2SFCA family.

    Parameters
    ----------
    cost : ndarray, shape (n_demand, n_supply)
        Travel time in minutes from each demand location to each supply location; ``inf`` is
        unreachable. ``nan`` and negative values are rejected.
    demand : ndarray, shape (n_demand,)
        Population of each demand location (>= 0).
    supply : ndarray, shape (n_supply,)
        Capacity of each supply location (beds, doctors...; >= 0).
    threshold : float
        Catchment in minutes, inclusive (a pair at exactly ``threshold`` is in reach).
    decay : {"step", "gaussian"} or callable
        ``"step"``: classic 2SFCA, or enhanced 2SFCA when ``zones`` are given;
        ``"gaussian"``: ``exp(-c**2 / (2 sigma**2))`` as ``access.weights.gaussian``;
        a callable: weights from the in-reach costs.
    zones : sequence of (upper_bound_minutes, weight), optional
        Enhanced 2SFCA zones, e.g. ``[(10, 1.0), (20, 0.68), (30, 0.22)]`` (inclusive upper
        bounds; weight 0 beyond the last bound).
    sigma : float, optional
        Gaussian width in minutes (``decay="gaussian"``); defaults to ``threshold / 2``.

    Returns
    -------
    ndarray, shape (n_demand,)
        Supply per person within reach; multiply by 1,000 for "per 1,000 residents". 0 where
        nothing is in reach. Supply locations with no demand in reach contribute 0.

    Raises
    ------
    ValidationError
        On shapes that do not agree, nan/negative costs, negative or non-finite demand or
        supply, or a bad threshold/decay.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[5.0, 12.0], [np.inf, 10.0]])
    >>> two_step_fca(cost, np.array([100.0, 50.0]), np.array([3.0, 6.0]), 10).tolist()
    [0.03, 0.12]
    """
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        msg = f"cost has shape {c.shape}; give a 2-D matrix (n_demand, n_supply) in minutes"
        raise ValidationError(msg)
    if np.isnan(c).any() or (c < 0).any():
        msg = (
            "cost has nan or negative travel times; give minutes >= 0 and inf for unreachable pairs"
        )
        raise ValidationError(msg)
    p = _vector(demand, "demand", c.shape[0])
    s = _vector(supply, "supply", c.shape[1])
    w = decay_weights(c, threshold, decay=decay, zones=zones, sigma=sigma)
    served = p @ w  # weighted demand in each supply location's catchment
    ratio = np.divide(s, served, out=np.zeros_like(s), where=served > 0)
    return w @ ratio


def access_table(
    result_villages: pd.DataFrame,
    facilities: pd.DataFrame,
    cost_minutes: np.ndarray,
    capacity: str,
    threshold: float,
    decay: Decay = "step",
    *,
    zones: Sequence[tuple[float, float]] | None = None,
    sigma: float | None = None,
) -> pd.DataFrame:
    """Capacity-aware access per village, from a village x facility travel-time matrix.

    Parameters
    ----------
    result_villages : DataFrame
        One row per village with ``village_id`` and ``population`` (``county`` and
        ``setting`` are copied when present). Row ``i`` is row ``i`` of ``cost_minutes``.
    facilities : DataFrame
        Facilities already selected for the service (e.g. health), with ``facility_id`` and
        the capacity column. Row ``j`` is column ``j`` of ``cost_minutes``.
    cost_minutes : ndarray, shape (n_villages, n_facilities)
        Travel time in minutes (``inf`` = unreachable).
    capacity : str
        Capacity column summed as supply: ``beds``, ``doctors``, ``places``, ``area_m2``, or
        ``count`` (each facility counts 1).
    threshold : float
        Catchment in minutes (inclusive).
    decay : {"step", "gaussian"} or callable
        See :func:`two_step_fca`.
    zones, sigma
        See :func:`two_step_fca`.

    Returns
    -------
    DataFrame
        ``village_id, county, [setting,] population, facilities_in_reach, access_ratio,
        access_per_1000``: ``access_ratio`` is capacity per resident, ``access_per_1000`` per
        1,000 residents, ``facilities_in_reach`` counts facilities with a known capacity within
        the threshold. Facilities with an unknown capacity (nan, or the column absent) are
        left out; their ids are in ``df.attrs["missing_capacity"]`` and the access figures
        are then lower bounds (said in ``df.attrs["notes"]``). When no facility has a known
        capacity the access columns are nan. ``attrs`` also holds ``capacity``,
        ``threshold``, ``decay``.

    Raises
    ------
    ValidationError
        On missing columns, a matrix whose shape does not match the tables, a village
        without a population, or negative capacities.
    """
    for col in ("village_id", "population"):
        if col not in result_villages.columns:
            msg = (
                f"result_villages has no '{col}' column (columns: "
                f"{', '.join(map(str, result_villages.columns))}); pass the per-village results"
            )
            raise ValidationError(msg)
    if "facility_id" not in facilities.columns:
        msg = "facilities have no 'facility_id' column; pass the facilities table as loaded"
        raise ValidationError(msg)
    c = np.asarray(cost_minutes, dtype=np.float64)
    if c.shape != (len(result_villages), len(facilities)):
        msg = (
            f"cost_minutes has shape {c.shape} but there are {len(result_villages)} villages and "
            f"{len(facilities)} facilities; give one row per village and one column per facility"
        )
        raise ValidationError(msg)
    pop = pd.to_numeric(result_villages["population"], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(pop) | (pop < 0)
    if bad.any():
        ids = result_villages["village_id"].to_numpy()[bad][:5].tolist()
        msg = (
            f"result_villages: {int(bad.sum())} village(s) have no valid population (e.g. "
            f"{ids}); fill their population or drop them before computing access"
        )
        raise ValidationError(msg)

    ids = facilities["facility_id"].to_numpy()
    notes: list[str] = []
    if capacity == "count":
        cap = np.ones(len(facilities))
    elif capacity in facilities.columns:
        cap = pd.to_numeric(facilities[capacity], errors="coerce").to_numpy(np.float64)
    else:
        cap = np.full(len(facilities), np.nan)
        notes.append(f"the facilities have no '{capacity}' column: no capacity is known")
    known = np.isfinite(cap)
    if (cap[known] < 0).any():
        neg = ids[known & (cap < 0)][:5].tolist()
        msg = f"facilities {neg} have a negative '{capacity}'; capacities must be >= 0"
        raise ValidationError(msg)
    missing = [v.item() if hasattr(v, "item") else v for v in ids[~known]]
    if missing and known.any():
        notes.append(
            f"{len(missing)} facilities without '{capacity}' were left out of the access "
            "measure (listed in missing_capacity); the figures are lower bounds"
        )

    sub = c[:, known]
    if known.any():
        ratio = two_step_fca(sub, pop, cap[known], threshold, decay=decay, zones=zones, sigma=sigma)
    else:
        ratio = np.full(len(result_villages), np.nan)
    in_reach = (np.isfinite(sub) & (sub <= float(threshold))).sum(axis=1)

    out = pd.DataFrame({"village_id": result_villages["village_id"].to_numpy()})
    out["county"] = (
        result_villages["county"].to_numpy()
        if "county" in result_villages
        else pd.Series([None] * len(out), dtype=object)
    )
    if "setting" in result_villages.columns:
        out["setting"] = result_villages["setting"].to_numpy()
    out["population"] = pop
    out["facilities_in_reach"] = in_reach.astype(np.int64)
    out["access_ratio"] = ratio
    out["access_per_1000"] = ratio * 1000.0
    out.attrs["capacity"] = capacity
    out.attrs["threshold"] = float(threshold)
    out.attrs["decay"] = decay if isinstance(decay, str) else getattr(decay, "__name__", "custom")
    out.attrs["zones"] = None if zones is None else [tuple(z) for z in zones]
    out.attrs["missing_capacity"] = missing
    out.attrs["notes"] = notes
    return out


# ---------------------------------------------------------------- split across counties
def _pairs(pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for col in ("village", "facility_id", "minutes"):
        if col not in pairs.columns:
            msg = (
                f"pairs have no '{col}' column (columns: {', '.join(map(str, pairs.columns))}); "
                "give one row per (village, facility_id, minutes) pair in reach"
            )
            raise ValidationError(msg)
    village = pairs["village"].to_numpy(np.int64)
    minutes = pairs["minutes"].to_numpy(np.float64)
    if np.isnan(minutes).any() or (minutes < 0).any():
        msg = "pairs have nan or negative minutes; give minutes >= 0 (inf for unreachable)"
        raise ValidationError(msg)
    return village, pairs["facility_id"].to_numpy(), minutes


def catchment_demand(
    pairs: pd.DataFrame,
    population: np.ndarray,
    threshold: float,
    *,
    decay: Decay = "step",
    zones: Sequence[tuple[float, float]] | None = None,
    sigma: float | None = None,
) -> pd.Series:
    """Step 1's weighted demand of each facility, from one part of the villages (additive).

    Parameters
    ----------
    pairs : DataFrame
        ``village`` (row position into ``population``), ``facility_id`` and ``minutes``: the
        (village, facility) pairs of this part, in reach or not (pairs beyond ``threshold``
        weigh 0).
    population : ndarray
        Population of each village of this part (>= 0).
    threshold, decay, zones, sigma
        See :func:`two_step_fca`.

    Returns
    -------
    Series
        ``sum_i(P_i * w_ij)`` over this part's villages, indexed by ``facility_id`` (one entry
        per facility named in ``pairs``). Sums of several parts add up to the demand of all
        their villages: add them with ``pd.concat(parts).groupby(level=0).sum()``.
    """
    village, fid, minutes = _pairs(pairs)
    pop = _vector(population, "population", None)
    if len(village) and (village.min() < 0 or village.max() >= len(pop)):
        msg = (
            f"pairs name village rows up to {int(village.max())} but there are {len(pop)} "
            "population values; give one population per village row"
        )
        raise ValidationError(msg)
    w = decay_weights(minutes, threshold, decay=decay, zones=zones, sigma=sigma)
    weighted = pop[village] * w if len(village) else np.zeros(0)
    return pd.Series(weighted, index=pd.Index(fid, name="facility_id")).groupby(level=0).sum()


def supply_ratios(supply: pd.Series, demand: pd.Series) -> pd.Series:
    """Step 1's ratio ``R_j = S_j / D_j`` of each facility (0 where nobody is in reach).

    Parameters
    ----------
    supply : Series
        Capacity per facility (``facility_id`` index, >= 0).
    demand : Series
        Weighted demand per facility: the sum over every part of :func:`catchment_demand`
        (``facility_id`` index); facilities missing from it have no demand in reach.

    Returns
    -------
    Series
        Supply per person, indexed like ``supply``.
    """
    s = _vector(supply.to_numpy(np.float64), "supply", None)
    d = demand.reindex(supply.index).fillna(0.0).to_numpy(np.float64)
    ratio = np.divide(s, d, out=np.zeros_like(s), where=d > 0)
    return pd.Series(ratio, index=supply.index)


def access_from_ratios(
    pairs: pd.DataFrame,
    ratios: pd.Series,
    n_villages: int,
    threshold: float,
    *,
    decay: Decay = "step",
    zones: Sequence[tuple[float, float]] | None = None,
    sigma: float | None = None,
) -> np.ndarray:
    """Step 2: the access ratio ``A_i = sum_j(R_j * w_ij)`` of each village of a part.

    Parameters
    ----------
    pairs : DataFrame
        ``village``, ``facility_id``, ``minutes`` of this part (see :func:`catchment_demand`).
    ratios : Series
        :func:`supply_ratios` of every facility (``facility_id`` index); a facility absent
        from it adds nothing.
    n_villages : int
        Villages of this part (rows ``0..n_villages-1``).
    threshold, decay, zones, sigma
        See :func:`two_step_fca`.

    Returns
    -------
    ndarray, shape (n_villages,)
        Supply per person within reach (0 where nothing is in reach).
    """
    village, fid, minutes = _pairs(pairs)
    w = decay_weights(minutes, threshold, decay=decay, zones=zones, sigma=sigma)
    r = ratios.reindex(pd.Index(fid)).fillna(0.0).to_numpy(np.float64) if len(fid) else w
    return np.bincount(village, weights=w * r, minlength=int(n_villages)).astype(np.float64)
