"""Where new facilities would close most of the gap: maximal covering and set covering.

Two layers, as in pysal spopt's ``LSCP`` / ``MCLP`` (``from_cost_matrix`` under
``from_geodataframe``):

* a **numpy core** that knows nothing of geography: a boolean ``cover`` matrix
  (demand x candidate: "candidate ``j`` would serve demand ``i`` within the threshold"), demand
  weights and the demand already served by existing facilities.
  :func:`maximal_covering` picks ``p`` candidates that serve the most weight (the MCLP of
  Church & ReVelle, 1974); :func:`set_covering` picks the fewest candidates that serve every
  demand that any candidate can serve (the LSCP of Toregas et al., 1971). Each solves greedily
  (fast, any size, within ``1 - 1/e`` of the optimum for MCLP) or exactly with
  :func:`scipy.optimize.milp` (small problems);
* a **geographic adapter**, :func:`suggest_sites`, that builds one county's travel engine the
  way :func:`ynps_geo.analysis.analyze_county` does, adds the candidate sites (by default every
  village of the county) as extra facility points, searches from each candidate with the
  standard's threshold as cutoff and the standard's mode for each village's setting, and runs
  :func:`maximal_covering` with village populations as demand.

This answers the county analyst's "what if we add a health centre here": the table lists the
sites in the order they were chosen, with the population each adds to the covered population.
:func:`sites_as_facilities` turns the chosen sites into facility rows that can be appended to
the inputs to re-run the full analysis with them.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ynps_geo.errors import EngineError, ValidationError

if TYPE_CHECKING:
    import geopandas as gpd

    from ynps_geo.analysis import Inputs, Options
    from ynps_geo.engine import TravelEngine
    from ynps_geo.model.grid import GridSpec
    from ynps_geo.model.standards import PlanStandard

Method = Literal["greedy", "exact"]
METHODS: tuple[str, ...] = ("greedy", "exact")

__all__ = [
    "SitingResult",
    "coverage_matrix",
    "maximal_covering",
    "set_covering",
    "sites_as_facilities",
    "suggest_sites",
]


# ============================================================================================
# numpy core
# ============================================================================================
@dataclass(frozen=True)
class SitingResult:
    """The outcome of a siting model.

    Attributes
    ----------
    chosen : (k,) int64 array
        Candidate indices (columns of ``cover``) in the order they were added. For the exact
        methods the optimal set is ordered greedily (largest marginal gain first), so that the
        curve below is meaningful for both methods.
    covered_weight : (k,) float64 array
        Covered weight after each addition (existing coverage included): the marginal gains
        curve is ``np.diff(np.r_[baseline_weight, covered_weight])`` (:attr:`gains`).
    covered : (n_demand,) bool array
        Demand covered by the existing facilities or by a chosen candidate.
    uncoverable : (n_demand,) bool array
        Demand neither covered by existing facilities nor by any candidate.
    uncoverable_weight : float
        Weight of ``uncoverable`` demand: what no choice of candidates can reach.
    baseline_weight : float
        Weight covered by the existing facilities alone.
    total_weight : float
        Weight of all demand.
    method : str
        ``"greedy"`` or ``"exact"``.
    """

    chosen: np.ndarray
    covered_weight: np.ndarray
    covered: np.ndarray
    uncoverable: np.ndarray
    uncoverable_weight: float
    baseline_weight: float
    total_weight: float
    method: str

    @property
    def gains(self) -> np.ndarray:
        """Weight added by each chosen candidate, in order."""
        return np.diff(np.r_[self.baseline_weight, self.covered_weight])

    @property
    def final_weight(self) -> float:
        """Covered weight after all additions (the baseline when nothing was chosen)."""
        return float(self.covered_weight[-1]) if len(self.covered_weight) else self.baseline_weight

    @property
    def final_share(self) -> float:
        """Covered share of the total weight after all additions (``nan`` when it is 0)."""
        return self.final_weight / self.total_weight if self.total_weight > 0 else float("nan")


def _check_cover(
    cover: np.ndarray, weights: np.ndarray | None, existing: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and normalise the core inputs; returns (cover, weights, existing)."""
    a = np.asarray(cover)
    if a.ndim != 2:
        msg = (
            f"cover must be a 2-D (n_demand, n_candidates) boolean array, got shape {a.shape}; "
            "row i, column j is True when candidate j would serve demand i"
        )
        raise ValidationError(msg)
    if a.dtype != bool:
        if not np.isin(a, (0, 1)).all():
            msg = "cover must be boolean (or 0/1); threshold travel times first, e.g. t <= limit"
            raise ValidationError(msg)
        a = a.astype(bool)
    n = a.shape[0]
    if weights is None:
        w = np.ones(n, dtype=np.float64)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            msg = f"weights has shape {w.shape}; expected ({n},), one weight per demand row"
            raise ValidationError(msg)
        if not np.isfinite(w).all() or (w < 0).any():
            msg = "weights must be finite and non-negative (e.g. populations; use 0 for unknown)"
            raise ValidationError(msg)
    if existing is None:
        e = np.zeros(n, dtype=bool)
    else:
        e = np.asarray(existing)
        if e.shape != (n,):
            msg = f"existing has shape {e.shape}; expected ({n},), one flag per demand row"
            raise ValidationError(msg)
        e = e.astype(bool)
    return a, w, e


def _check_method(method: str) -> None:
    if method not in METHODS:
        msg = f"unknown method {method!r}; use one of {list(METHODS)}"
        raise ValidationError(msg)


def _order_greedily(
    cover: np.ndarray, w: np.ndarray, covered0: np.ndarray, subset: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order ``subset`` by largest marginal gain (ties: lowest index); drop zero-gain members.

    Members that add no weight (the exact model may return some when fewer than ``p`` sites
    suffice) are dropped, as the greedy method never adds them. Returns the order, the covered
    weight after each addition and the final covered mask.
    """
    cov = covered0.copy()
    left = sorted(int(j) for j in subset)
    order: list[int] = []
    after: list[float] = []
    while left:
        gains = [float(w[cover[:, j] & ~cov].sum()) for j in left]
        k = int(np.argmax(gains))  # first maximum: lowest index
        if gains[k] <= 0.0:
            break
        j = left.pop(k)
        cov |= cover[:, j]
        order.append(j)
        after.append(float(w[cov].sum()))
    return np.asarray(order, dtype=np.int64), np.asarray(after, dtype=np.float64), cov


def _greedy_mclp(
    cover: np.ndarray, w: np.ndarray, covered0: np.ndarray, p: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy maximal covering with lazy gains (CELF); ties go to the lowest index."""
    cov = covered0.copy()
    rows = [np.nonzero(cover[:, j])[0] for j in range(cover.shape[1])]

    def gain(j: int) -> float:
        r = rows[j]
        return float(w[r[~cov[r]]].sum())

    # (-gain, index): heapq pops the largest gain, then the lowest index
    heap = [(-gain(j), j) for j in range(cover.shape[1])]
    heapq.heapify(heap)
    fresh = {j: 0 for j in range(cover.shape[1])}  # round at which the gain was computed
    order: list[int] = []
    after: list[float] = []
    while heap and len(order) < p:
        neg, j = heapq.heappop(heap)
        if fresh[j] != len(order):
            g = gain(j)  # gains only shrink (submodular), so the stored one is an upper bound
            fresh[j] = len(order)
            heapq.heappush(heap, (-g, j))
            continue
        if -neg <= 0.0:
            break  # nothing left to gain
        cov[rows[j]] = True
        order.append(j)
        after.append(float(w[cov].sum()))
    return np.asarray(order, dtype=np.int64), np.asarray(after, dtype=np.float64), cov


def _milp_mclp(cover: np.ndarray, w: np.ndarray, covered0: np.ndarray, p: int) -> np.ndarray:
    """Exact MCLP: max sum w_i y_i, y_i <= sum_j a_ij x_j, sum x_j <= p, x, y binary."""
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    active = ~covered0 & (w > 0) & cover.any(axis=1)
    cand = np.nonzero(cover[active].any(axis=0))[0]
    if not active.any() or not len(cand):
        return np.zeros(0, dtype=np.int64)
    a = cover[np.ix_(active, cand)].astype(np.float64)
    m, n = a.shape
    c = np.r_[np.zeros(n), -w[active]]
    link = sparse.hstack([-sparse.csr_matrix(a), sparse.identity(m, format="csr")])
    budget = sparse.hstack([sparse.csr_matrix(np.ones((1, n))), sparse.csr_matrix((1, m))])
    cons = [
        LinearConstraint(link, -np.inf, 0.0),
        LinearConstraint(budget, -np.inf, float(p)),
    ]
    res = milp(c, integrality=np.ones(n + m), bounds=Bounds(0.0, 1.0), constraints=cons)
    if res.x is None or not res.success:
        msg = f"the exact maximal covering model was not solved ({res.message}); use 'greedy'"
        raise EngineError(msg)
    chosen = [int(j) for j in cand[np.round(res.x[:n]) > 0.5]]
    # the solver may open sites that add nothing when fewer than p suffice: drop them
    # (highest index first), so that the exact method never reports a useless site
    best = float(w[covered0 | cover[:, chosen].any(axis=1)].sum())
    for j in sorted(chosen, reverse=True):
        rest = [k for k in chosen if k != j]
        cov = covered0 | (cover[:, rest].any(axis=1) if rest else False)
        if float(w[cov].sum()) >= best:
            chosen = rest
    return np.asarray(sorted(chosen), dtype=np.int64)


def maximal_covering(
    cover: np.ndarray,
    weights: np.ndarray,
    p: int,
    *,
    existing: np.ndarray | None = None,
    method: Method = "greedy",
) -> SitingResult:
    """Choose ``p`` candidates that maximise the covered weight (MCLP).

    Parameters
    ----------
    cover : (n_demand, n_candidates) bool array
        ``cover[i, j]`` is True when candidate ``j`` would serve demand ``i`` (e.g. travel
        time at most the threshold: build it with :func:`ynps_geo.coverage.covered`).
    weights : (n_demand,) float array
        Non-negative demand weights (population).
    p : int
        Number of candidates to add (at most; see Returns).
    existing : (n_demand,) bool array, optional
        Demand already served by existing facilities: it counts as covered and a candidate
        gains nothing by serving it.
    method : {"greedy", "exact"}
        ``"greedy"`` adds, ``p`` times, the candidate with the largest gain (lazy gains; ties
        go to the lowest index), guaranteed within ``1 - 1/e`` of the optimum and usually at
        it. ``"exact"`` solves the MCLP integer programme with :func:`scipy.optimize.milp`
        (binary ``x_j`` per candidate and ``y_i`` per demand); use it for small problems.

    Returns
    -------
    SitingResult
        Fewer than ``p`` candidates are returned when no further candidate adds weight (all
        coverable demand is then covered).

    Raises
    ------
    ValidationError
        On badly shaped inputs, negative weights, a negative ``p`` or an unknown method.
    EngineError
        When the exact solver fails.
    """
    a, w, e = _check_cover(cover, weights, existing)
    _check_method(method)
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 0:
        msg = f"p must be a non-negative integer (the number of sites to add), got {p!r}"
        raise ValidationError(msg)
    p = int(p)
    if method == "greedy":
        order, after, cov = _greedy_mclp(a, w, e, p)
    else:
        chosen = _milp_mclp(a, w, e, p) if p > 0 else np.zeros(0, dtype=np.int64)
        order, after, cov = _order_greedily(a, w, e, chosen)
    return SitingResult(
        chosen=order,
        covered_weight=after,
        covered=cov,
        uncoverable=~e & ~a.any(axis=1),
        uncoverable_weight=float(w[~e & ~a.any(axis=1)].sum()),
        baseline_weight=float(w[e].sum()),
        total_weight=float(w.sum()),
        method=method,
    )


def _milp_lscp(cover: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Exact LSCP: min sum x_j with sum_j a_ij x_j >= 1 for every demand in ``need``."""
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    if not need.any():
        return np.zeros(0, dtype=np.int64)
    cand = np.nonzero(cover[need].any(axis=0))[0]
    a = sparse.csr_matrix(cover[np.ix_(need, cand)].astype(np.float64))
    n = len(cand)
    res = milp(
        np.ones(n),
        integrality=np.ones(n),
        bounds=Bounds(0.0, 1.0),
        constraints=[LinearConstraint(a, 1.0, np.inf)],
    )
    if res.x is None or not res.success:
        msg = f"the exact set covering model was not solved ({res.message}); use 'greedy'"
        raise EngineError(msg)
    return cand[np.round(res.x) > 0.5]


def _greedy_lscp(cover: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Greedy set covering (most uncovered demand first, lowest index on ties), then pruning.

    Pruning drops, latest first, any chosen candidate whose demand the others already cover.
    """
    left = need.copy()
    chosen: list[int] = []
    while left.any():
        counts = cover[left].sum(axis=0)
        j = int(np.argmax(counts))
        chosen.append(j)
        left &= ~cover[:, j]
    for j in reversed(list(chosen)):
        others = [k for k in chosen if k != j]
        if not others:
            continue
        if cover[np.ix_(need, np.asarray(others, dtype=np.int64))].any(axis=1).all():
            chosen.remove(j)
    return np.asarray(sorted(chosen), dtype=np.int64)


def set_covering(
    cover: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    existing: np.ndarray | None = None,
    method: Method = "greedy",
) -> SitingResult:
    """The fewest candidates that cover every coverable demand (LSCP).

    Demand that no candidate can serve (and that no existing facility serves) cannot be
    covered by any choice: it is reported in ``uncoverable`` and left out of the model, so an
    out-of-reach village never makes the problem infeasible.

    Parameters
    ----------
    cover : (n_demand, n_candidates) bool array
        ``cover[i, j]`` is True when candidate ``j`` would serve demand ``i``.
    weights : (n_demand,) float array, optional
        Demand weights, only for the covered-weight curve of the result (every demand row must
        be covered whatever its weight); ones when omitted.
    existing : (n_demand,) bool array, optional
        Demand already served by existing facilities (needs no new site).
    method : {"greedy", "exact"}
        ``"greedy"`` adds the candidate covering most uncovered demand until all is covered,
        then drops redundant choices; ``"exact"`` solves the integer programme with
        :func:`scipy.optimize.milp` (small problems).

    Returns
    -------
    SitingResult
        ``chosen`` ordered by largest marginal covered weight first.

    Raises
    ------
    ValidationError
        On badly shaped inputs or an unknown method.
    EngineError
        When the exact solver fails.
    """
    a, w, e = _check_cover(cover, weights, existing)
    _check_method(method)
    coverable = a.any(axis=1)
    need = ~e & coverable
    chosen = _greedy_lscp(a, need) if method == "greedy" else _milp_lscp(a, need)
    # order by weight gain; a member covering only zero-weight demand still belongs to the cover
    cov = e.copy()
    left = sorted(int(j) for j in chosen)
    order: list[int] = []
    after: list[float] = []
    while left:
        keys = [(float(w[a[:, j] & ~cov].sum()), int((a[:, j] & ~cov).sum())) for j in left]
        k = max(range(len(left)), key=lambda i: (keys[i], -left[i]))
        j = left.pop(k)
        cov |= a[:, j]
        order.append(j)
        after.append(float(w[cov].sum()))
    return SitingResult(
        chosen=np.asarray(order, dtype=np.int64),
        covered_weight=np.asarray(after, dtype=np.float64),
        covered=cov,
        uncoverable=~e & ~coverable,
        uncoverable_weight=float(w[~e & ~coverable].sum()),
        baseline_weight=float(w[e].sum()),
        total_weight=float(w.sum()),
        method=method,
    )


# ============================================================================================
# geographic adapter
# ============================================================================================
@dataclass
class _County:
    """A county's travel engine with candidate sites appended to its facilities."""

    engine: TravelEngine
    grid: GridSpec
    villages: Any  # DataFrame of the county's villages
    facilities: Any  # existing facilities of the county and its margin
    candidates: Any  # GeoDataFrame of the candidates kept (inside the county and margin)
    notes: list[str]


def _county_engine(
    geom_wgs84: Any, inputs: Inputs, options: Options, villages: Any, candidates: Any
) -> _County:
    """Build the engine of one county as :func:`ynps_geo.analysis.analyze_county` does.

    ``villages`` are the county's villages (``inputs.villages`` of that county, index reset).

    Same grid, terrain, roads, barriers, villages and facilities (those within the county and
    its margin, in the same order), so facility row ``k`` here is facility row ``k`` there;
    the candidates follow as rows ``len(facilities) + c``. Facility nodes have no incoming
    edges, so the extra points change no other travel time.
    """
    from ynps_geo.analysis import build_county_engine, county_area_wgs84

    notes: list[str] = []
    area_wgs = county_area_wgs84(geom_wgs84, options.margin_m)
    inside = candidates.geometry.within(area_wgs).to_numpy()
    if not inside.all():
        notes.append(
            f"{int((~inside).sum())} candidate sites lie beyond the county and its "
            f"{options.margin_m / 1000:g} km margin and were left out"
        )
    cand = candidates[inside].reset_index(drop=True)
    setup = build_county_engine(
        "", geom_wgs84, inputs, options, villages=villages, extra_points=cand
    )
    return _County(setup.engine, setup.grid, setup.villages, setup.facilities, cand, notes)


def _resolve_source(
    source: Inputs,
    standard: PlanStandard | str,
    options: Options | None,
) -> tuple[Inputs, PlanStandard, Options]:
    """The inputs, the standard and the options (a config is read by
    :func:`ynps_geo.workflows.suggest_sites`, which calls this module)."""
    from ynps_geo.analysis import Inputs, Options
    from ynps_geo.model.standards import PlanStandard, load_standards

    if not isinstance(source, Inputs):
        msg = (
            f"suggest_sites needs the Inputs from ynps_geo.workflows.load_inputs, got "
            f"{type(source).__name__}; for a config file use ynps_geo.workflows.suggest_sites"
        )
        raise ValidationError(msg)
    std = standard if isinstance(standard, PlanStandard) else load_standards()[str(standard)]
    return source, std, options if options is not None else Options()


def _check_standard(std: PlanStandard) -> tuple[str, ...]:
    """The single facility group of a circle standard, or a ValidationError saying why not."""
    if std.kind != "circle":
        msg = (
            f"standard {std.id!r} is a {std.kind} rule; siting needs a circle standard "
            "(a travel-time or distance threshold), e.g. 'health_15min'"
        )
        raise ValidationError(msg)
    if len(std.facilities) != 1:
        groups = " + ".join("/".join(g) for g in std.facilities)
        msg = (
            f"standard {std.id!r} needs one facility of each of {len(std.facilities)} groups "
            f"({groups}); siting supports single-group standards only. Site each group with a "
            "single-group standard of the same threshold (define one in your standards file)"
        )
        raise ValidationError(msg)
    return std.facilities[0]


def _pick_county(inputs: Inputs, county: str | None) -> tuple[str, Any]:
    names = [str(c) for c in inputs.counties["county"]]
    if county is None:
        if len(names) != 1:
            msg = (
                f"the inputs hold {len(names)} counties; pass county= one of "
                f"{', '.join(names[:10])}{'...' if len(names) > 10 else ''}"
            )
            raise ValidationError(msg)
        county = names[0]
    if county not in names:
        import difflib

        close = difflib.get_close_matches(county, names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        msg = f"county {county!r} is not in the boundary layer.{hint}"
        raise ValidationError(msg)
    return county, inputs.counties.geometry.iloc[names.index(county)]


def _candidate_frame(candidates: Any, villages: Any) -> Any:
    """Candidates as a GeoDataFrame in EPSG:4326 with ``candidate_id`` and ``name``."""
    import geopandas as gpd

    if isinstance(candidates, str):
        if candidates != "villages":
            msg = (
                f"candidates={candidates!r}: use 'villages' (every village of the county) or a "
                "GeoDataFrame of candidate points"
            )
            raise ValidationError(msg)
        return gpd.GeoDataFrame(
            {
                "candidate_id": villages["village_id"].astype(str).to_numpy(),
                "name": villages["name"].astype(str).to_numpy(),
            },
            geometry=villages.geometry.to_numpy(),
            crs="EPSG:4326",
        )
    if not isinstance(candidates, gpd.GeoDataFrame):
        msg = (
            f"candidates must be 'villages' or a GeoDataFrame of points, got "
            f"{type(candidates).__name__}"
        )
        raise ValidationError(msg)
    if candidates.crs is None:
        msg = "the candidate GeoDataFrame has no CRS; set one, e.g. gdf.set_crs('EPSG:4326')"
        raise ValidationError(msg)
    gdf = candidates.to_crs("EPSG:4326")
    bad = ~gdf.geometry.geom_type.eq("Point").to_numpy() | gdf.geometry.is_empty.to_numpy()
    if bad.any():
        msg = (
            f"{int(bad.sum())} candidate geometries are not points (e.g. row "
            f"{int(np.nonzero(bad)[0][0])}); give one point per candidate site "
            "(use .representative_point() for polygons)"
        )
        raise ValidationError(msg)
    ids = (
        gdf["candidate_id"].astype(str).to_numpy()
        if "candidate_id" in gdf
        else np.asarray([f"candidate-{i}" for i in range(len(gdf))])
    )
    names = gdf["name"].astype(str).to_numpy() if "name" in gdf else ids
    return gpd.GeoDataFrame(
        {"candidate_id": ids, "name": names}, geometry=gdf.geometry.to_numpy(), crs="EPSG:4326"
    )


def coverage_matrix(
    engine: TravelEngine,
    standard: PlanStandard,
    settings_of_demand: np.ndarray,
    facility_rows: Sequence[int] | np.ndarray,
    *,
    chunk_size: int = 16,
) -> np.ndarray:
    """Demand x facility "within the threshold" matrix of one circle standard.

    Each facility is searched alone (``chunk_size`` searches at a time, bounded memory), with
    a cutoff just above the threshold, in the mode the standard uses for each village's
    setting; the inclusive test is :func:`ynps_geo.coverage.covered`.

    Parameters
    ----------
    engine : TravelEngine
        An engine whose villages are the demand points.
    standard : PlanStandard
        A circle standard.
    settings_of_demand : (n_villages,) array of str
        ``"urban"`` or ``"rural"`` per engine village.
    facility_rows : sequence of int
        Facility rows of the engine (columns of the result).
    chunk_size : int
        Searches run together.

    Returns
    -------
    (n_villages, len(facility_rows)) bool array
    """
    from ynps_geo.coverage import covered

    rows = np.asarray(facility_rows, dtype=np.int64)
    out = np.zeros((len(settings_of_demand), len(rows)), dtype=bool)
    scale = 1 / 60.0 if standard.unit == "min" else 1 / 1000.0
    cutoff = standard.threshold_seconds * (1.0 + 1e-6)  # covered() allows 1e-9 more
    st = np.asarray(settings_of_demand).astype(str)
    for mode in sorted({standard.mode_for(s) for s in set(st)}):
        sel = np.isin(st, [s for s in set(st) if standard.mode_for(s) == mode])
        for start in range(0, len(rows), chunk_size):
            chunk = rows[start : start + chunk_size]
            # bounded searches: each costs what it reaches, not the whole graph
            vals = engine.village_matrix(mode, chunk, cutoff).T * scale
            out[sel, start : start + len(chunk)] = covered(vals[sel], standard.limit)
    return out


def suggest_sites(
    source: Inputs,
    standard: PlanStandard | str,
    p: int,
    *,
    county: str | None = None,
    candidates: str | gpd.GeoDataFrame = "villages",
    method: Method = "greedy",
    options: Options | None = None,
    chunk_size: int = 16,
) -> gpd.GeoDataFrame:
    """Where ``p`` new facilities would cover the most people under one circle standard.

    The county's travel engine is built as :func:`ynps_geo.analysis.analyze_county` builds
    it; the candidate sites are added as facility points; each is searched with the
    standard's threshold as cutoff (walk, drive or distance, as the standard sets for each
    village's setting) giving a village x candidate coverage matrix; villages already served
    by an existing facility of the standard's group count as covered; then
    :func:`maximal_covering` picks the sites.

    Parameters
    ----------
    source : Inputs
        Inputs read with :func:`ynps_geo.workflows.load_inputs`. For a config file use
        :func:`ynps_geo.workflows.suggest_sites`, which also applies the config's options and
        standards overrides.
    standard : str or PlanStandard
        A circle standard with one facility group, e.g. ``"health_15min"``.
    p : int
        Number of sites to add.
    county : str, optional
        County to site in; required when the inputs hold several.
    candidates : "villages" or GeoDataFrame of points
        Candidate sites: every village of the county (default), or your own points (any CRS;
        optional ``candidate_id`` and ``name`` columns). Points beyond the county and its
        analysis margin are left out (``attrs["notes"]``).
    method : {"greedy", "exact"}
        See :func:`maximal_covering`; ``"exact"`` suits a few hundred candidates.
    options : Options, optional
        Numerical options; from the config (or the defaults) when omitted. Use the same
        options as the analysis you compare with.
    chunk_size : int
        Candidate searches run together (memory grows with it).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per chosen site, in the order chosen (EPSG:4326 points): ``rank``,
        ``candidate_id``, ``name``, ``population_gained``, ``villages_gained``,
        ``population_covered_after``, ``share_after``. Fewer than ``p`` rows when no further
        site adds anyone. ``attrs``: ``standard_id``, ``county``, ``method``,
        ``population_total``, ``baseline_population_covered``, ``baseline_share``,
        ``uncoverable_population`` (no candidate reaches it), ``candidates``, ``notes``.

    Raises
    ------
    ValidationError
        A standard that is not a single-group circle standard, an unknown county, no
        villages, or bad candidates.

    Notes
    -----
    Demand is village population (villages the standard applies to), not the population
    raster, so shares may differ slightly from the coverage table of a run with a raster.
    """
    import geopandas as gpd

    from ynps_geo.analysis import facility_matches
    from ynps_geo.coverage import covered

    inputs, std, opts = _resolve_source(source, standard, options)
    group = _check_standard(std)
    _check_method(method)
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 0:
        msg = f"p must be a non-negative integer (the number of sites to add), got {p!r}"
        raise ValidationError(msg)
    if inputs.villages is None or not len(inputs.villages):
        msg = "siting needs villages (with population) as demand; add 'villages:' to the config"
        raise ValidationError(msg)
    name, geom = _pick_county(inputs, county)
    county_vil = inputs.villages[inputs.villages["county"] == name].reset_index(drop=True)
    if not len(county_vil):
        msg = f"county {name!r} has no villages; siting needs villages as demand"
        raise ValidationError(msg)
    cand_all = _candidate_frame(candidates, county_vil)
    cty = _county_engine(geom, inputs, opts, county_vil, cand_all)
    vil, fac, cand = cty.villages, cty.facilities, cty.candidates
    if not len(cand):
        msg = "no candidate site lies within the county and its margin; check their coordinates"
        raise ValidationError(msg)

    setting = vil["setting"].astype(str).to_numpy()
    applies = np.array([std.applies(s) for s in setting], dtype=bool)
    demand = np.nonzero(applies)[0]
    weights = np.nan_to_num(vil["population"].to_numpy(dtype=np.float64)[demand], nan=0.0)

    # existing coverage: the nearest facility of the group, as analyze_county measures it
    existing = np.zeros(len(vil), dtype=bool)
    ex_rows = (
        np.nonzero(facility_matches(fac, group))[0] if len(fac) else np.zeros(0, dtype=np.int64)
    )
    if len(ex_rows):
        scale = 1 / 60.0 if std.unit == "min" else 1 / 1000.0
        for mode in sorted({std.mode_for(s) for s in set(setting[demand])}):
            sel = np.array([std.mode_for(s) == mode for s in setting], dtype=bool)
            dist, _ = cty.engine.search(mode, [ex_rows])
            vals = cty.engine.village_values(dist)[0] * scale
            existing[sel] = covered(vals[sel], std.limit)

    cand_rows = len(fac) + np.arange(len(cand))
    cover = coverage_matrix(cty.engine, std, setting, cand_rows, chunk_size=chunk_size)
    res = maximal_covering(cover[demand], weights, int(p), existing=existing[demand], method=method)

    total = res.total_weight

    def share(v: float) -> float:
        return float(v / total) if total > 0 else float("nan")

    gained_villages = []
    cov = existing[demand].copy()
    for j in res.chosen:
        new = cover[demand, j] & ~cov
        gained_villages.append(int(new.sum()))
        cov |= new
    chosen = cand.iloc[res.chosen]
    out = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(res.chosen) + 1),
            "candidate_id": chosen["candidate_id"].to_numpy(),
            "name": chosen["name"].to_numpy(),
            "population_gained": res.gains,
            "villages_gained": np.asarray(gained_villages, dtype=np.int64),
            "population_covered_after": res.covered_weight,
            "share_after": [share(v) for v in res.covered_weight],
        },
        geometry=chosen.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    out.attrs.update(
        {
            "standard_id": std.id,
            "county": name,
            "method": method,
            "population_total": total,
            "baseline_population_covered": res.baseline_weight,
            "baseline_share": share(res.baseline_weight),
            "uncoverable_population": res.uncoverable_weight,
            "candidates": len(cand),
            "notes": list(cty.notes),
        }
    )
    return out


def sites_as_facilities(sites: gpd.GeoDataFrame, standard: PlanStandard | str) -> gpd.GeoDataFrame:
    """Chosen sites as facility rows of the standard's group, to append to the inputs.

    ``pd.concat([inputs.facilities, sites_as_facilities(sites, std)])`` gives the facilities
    of a "what if" run in which the sites are built.

    Parameters
    ----------
    sites : GeoDataFrame
        The result of :func:`suggest_sites` (or any points with ``candidate_id``, ``name``).
    standard : PlanStandard or str
        The standard sited for; its single group names the category (or subtype) given.

    Returns
    -------
    geopandas.GeoDataFrame
        ``facility_id`` (``new-<candidate_id>``), ``name``, ``category``, ``subtype``,
        ``type_raw`` (``"proposed"``), ``source`` (``"siting"``), EPSG:4326 points.
    """
    import geopandas as gpd

    from ynps_geo.model.facilities import SUBTYPES
    from ynps_geo.model.standards import PlanStandard, load_standards

    std = standard if isinstance(standard, PlanStandard) else load_standards()[str(standard)]
    kind = _check_standard(std)[0]
    category = SUBTYPES.get(kind, kind)
    return gpd.GeoDataFrame(
        {
            "facility_id": [f"new-{c}" for c in sites["candidate_id"].astype(str)],
            "name": sites["name"].astype(str).to_numpy(),
            "category": category,
            "subtype": kind,
            "type_raw": "proposed",
            "source": "siting",
        },
        geometry=sites.geometry.to_numpy(),
        crs=sites.crs or "EPSG:4326",
    )
