"""Counties as tasks on a Dask cluster: ``--scheduler ADDRESS`` or ``scheduler:`` in the config.

A province (or the nation) is analysed county by county; on one machine the counties run in
this process or in a local pool (``jobs``), past one machine they run on an existing
`dask.distributed <https://distributed.dask.org>`_ cluster (``dask scheduler`` and
``dask worker ADDRESS`` on the machines, or dask-jobqueue on SLURM). This module is imported
only when a scheduler is named, so a run without one never imports dask.

What travels, and what does not
-------------------------------
A county's task carries the config (paths and options), the county's name and polygon and
the standards: a few kilobytes. Each worker process reads the inputs itself, from the paths
(or databases) the config names, once per run (kept per worker process, then dropped when the
run ends), and reads the DEM and population windows of its own counties only. So the
inputs must be reachable from every worker under the same paths (a shared or copied folder,
or PostGIS); a config whose layers are objects held in a Python session is refused. Each
county's results come back when it finishes; the capacity-aware access of all counties is
gathered on the client (:func:`ynps_geo.analysis.finish_access`).

Failures
--------
- a county whose data are bad (a :class:`~ynps_geo.errors.YnpsGeoError`: deterministic,
  never retried) is reported and the others are written, as locally (exit 3);
- a county whose worker is lost (the machine went down, the process was killed) is handed to
  another worker by the scheduler; one that kills its workers again and again
  (``distributed.scheduler.allowed-failures`` times, 3 by default: out of memory, most
  likely) is reported as failed with that reason. A worker's death also costs every other
  county it held (running or waiting), so when two or more counties come back lost, each is
  run once more alone, smallest first: the counties that were only near the culprit are
  computed, and only the county that kills its workers even alone is reported;
- any other exception in a task (a transient read error, a bug) is retried :data:`RETRIES`
  times, then stops the run with its message, as it would locally.

Counties are submitted largest first (by grid cells, with a matching task priority), so
workers stay balanced to the end.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ynps_geo import settings
from ynps_geo.errors import (
    ConfigError,
    DataSourceError,
    EngineError,
    MissingDependencyError,
    YnpsGeoError,
    YnpsGeoWarning,
)

if TYPE_CHECKING:
    from ynps_geo.analysis import Inputs, Options
    from ynps_geo.config import AnalysisConfig
    from ynps_geo.model.standards import PlanStandard

log = logging.getLogger(__name__)

__all__ = ["RETRIES", "cluster_county_results", "connect"]

#: further attempts of a county whose task raised an unexpected exception (not a
#: YnpsGeoError: those are the county's deterministic failure, returned and never retried);
#: a lost worker is another matter, handled by the scheduler (``allowed-failures``)
RETRIES = 2

#: seconds to wait for the scheduler to answer, and for at least one worker to join it
CONNECT_TIMEOUT_S = 30.0

#: ``ynps_geo.settings`` a county's analysis reads on the worker; the client's values travel
#: with each task so that a worker computes exactly what this process would
SETTINGS_SENT: tuple[str, ...] = (
    *settings.ANALYSIS_DEFAULTS,
    "max_grid_cells",
    "max_village_population",
)

INSTALL_HINT = "pip install 'ynps-geo[dask]'"


def connect(address: str) -> Any:
    """A ``distributed.Client`` connected to the scheduler at ``address``.

    Parameters
    ----------
    address : str
        ``tcp://host:8786`` (any address ``distributed.Client`` takes), or the path of a
        scheduler file (``dask scheduler --scheduler-file sched.json``; ends in ``.json``).

    Raises
    ------
    MissingDependencyError
        dask.distributed is not installed.
    DataSourceError
        The scheduler does not answer within :data:`CONNECT_TIMEOUT_S`, or no worker joins it.
    """
    try:
        from distributed import Client
    except ImportError as err:
        msg = (
            "running the counties on a Dask cluster (--scheduler / scheduler:) needs "
            f"dask.distributed, which is not installed. Install it with: {INSTALL_HINT}"
        )
        raise MissingDependencyError(msg) from err
    where: dict[str, Any] = (
        {"scheduler_file": address} if address.endswith(".json") else {"address": address}
    )
    try:
        client = Client(**where, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        msg = (
            f"cannot reach the Dask scheduler at {address}: {err}. Fix: start one with "
            "`dask scheduler` (and workers with `dask worker tcp://HOST:8786`), or check the "
            "address (tcp://host:port, or a scheduler file ending in .json)"
        )
        raise DataSourceError(msg) from err
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as err:
        client.close()
        msg = (
            f"the Dask scheduler at {address} has no workers (none joined within "
            f"{CONNECT_TIMEOUT_S:g} s). Fix: start workers with `dask worker {address}`"
        )
        raise DataSourceError(msg) from err
    return client


def _check_reachable(cfg: AnalysisConfig, address: str) -> None:
    """Refuse layers that are objects of this Python session: workers cannot read them."""
    from ynps_geo.io.postgis import spec_is_postgis

    layers = [
        ("boundary", cfg.boundary),
        ("villages", cfg.villages),
        *[("facilities", f) for f in cfg.facilities],
        ("roads", cfg.roads),
        ("dem", cfg.dem),
        ("population", cfg.population),
        ("barriers", cfg.barriers),
    ]
    for key, spec in layers:
        if spec is None or spec_is_postgis(spec):
            continue
        if not isinstance(spec.get("path"), str | Path):
            msg = (
                f"{cfg.source}: the Dask workers at {address} read the inputs themselves, but "
                f"{key} is a {type(spec['path']).__name__} held in this Python session. Fix: "
                f"write it to a file the workers can read (e.g. {key}.gpkg) and pass its path, "
                "or run without a scheduler"
            )
            raise ConfigError(msg)


def cluster_county_results(
    address: str,
    cfg: AnalysisConfig,
    pairs: list[tuple[Any, Any]],
    circles: list[PlanStandard],
    opts: Options,
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(county, CountyResult or YnpsGeoError)`` per county, as the cluster finishes them.

    Parameters
    ----------
    address : str
        The scheduler (see :func:`connect`).
    cfg : AnalysisConfig
        The config; every worker reads its inputs from it.
    pairs : list of (county, polygon)
        The counties to analyse (EPSG:4326 polygons).
    circles : list of PlanStandard
        The circle standards to evaluate.
    opts : Options

    Raises
    ------
    ConfigError
        A layer is an in-memory object (workers cannot read it).
    DataSourceError, MissingDependencyError
        See :func:`connect`; also ynps_geo missing on the workers.
    """
    from ynps_geo.workflows import largest_first

    _check_reachable(cfg, address)
    client = connect(address)
    token = uuid.uuid4().hex  # this run's inputs on the workers
    defaults = {k: getattr(settings, k) for k in SETTINGS_SENT}
    opts = dataclasses.replace(opts, progress=False)  # no progress bars on the workers

    def submit(rank: int, county: Any, geom: Any, priority: int, attempt: str = "") -> Any:
        return client.submit(
            run_county,
            token,
            cfg,
            str(county),
            geom,
            circles,
            opts,
            defaults,
            key=f"ynps-county-{rank}{attempt}-{token}",
            pure=False,
            retries=RETRIES,
            priority=priority,
        )

    try:
        from distributed import as_completed

        futures: dict[Any, tuple[int, Any, Any]] = {}
        ordered = largest_first(pairs, opts)
        for rank, (county, geom) in enumerate(ordered):
            # the largest first
            futures[submit(rank, county, geom, len(ordered) - rank)] = (rank, county, geom)
        log.info(
            "%d counties submitted to the Dask cluster at %s (%d workers)",
            len(futures),
            address,
            len(client.scheduler_info().get("workers", {})),
        )
        lost: list[tuple[int, Any, Any, Any]] = []  # (rank, county, geom, its error)
        for fut in as_completed(list(futures), loop=client.loop):
            rank, county, geom = futures.pop(fut)
            outcome = _outcome(fut, county, address)
            fut.release()
            if isinstance(outcome, _LostCountyError):
                lost.append((rank, county, geom, outcome))
            else:
                yield county, outcome
        if len(lost) == 1:
            yield lost[0][1], lost[0][3]
        elif lost:
            # a dying worker takes every county it holds with it: run each lost county once
            # more on its own, the smallest first, so that only a county that kills its
            # workers alone is reported
            log.warning(
                "%d counties were lost with their Dask workers (%s); each is run once more "
                "alone to tell the county that kills its workers from those beside it",
                len(lost),
                ", ".join(str(c) for _, c, _, _ in lost),
            )
            for rank, county, geom, _ in sorted(lost, key=lambda t: -t[0]):
                fut = submit(rank, county, geom, 0, attempt="-alone")
                yield county, _outcome(fut, county, address)  # waits for it
                fut.release()
    finally:
        try:
            client.run(forget_inputs, token)  # free the workers' copies of the inputs
        except Exception as err:  # the run's results are in; a cluster gone now is no error
            log.debug("could not clear the inputs on the workers: %s", err)
        client.close()


class _LostCountyError(EngineError):
    """A county whose workers kept dying while they held it (``KilledWorker``)."""


def _outcome(fut: Any, county: Any, address: str) -> Any:
    """A county's result, or its failure when the cluster kept losing the worker on it."""
    from distributed.scheduler import KilledWorker

    try:
        return fut.result()
    except KilledWorker as err:
        log.debug("county %s: %s", county, err)
        return _LostCountyError(
            f"the Dask workers running county {county} were lost again and again (each died "
            "while on it), most likely out of memory. Fix: give the workers more memory (dask "
            "worker --memory-limit, fewer processes or threads per machine) or use a coarser "
            "resolution_m; the workers' logs say why they died"
        )
    except ImportError as err:
        if "ynps_geo" not in str(err):
            raise
        msg = (
            f"the Dask workers at {address} cannot import ynps_geo ({err}). Fix: install the "
            "same ynps-geo in the workers' environment (pip install 'ynps-geo[dask]')"
        )
        raise MissingDependencyError(msg) from err


# ------------------------------------------------------------------ on the workers
_LOCK = threading.Lock()
#: token -> the inputs of a run, in the worker process (a few runs at most)
_INPUTS: collections.OrderedDict[str, Inputs] = collections.OrderedDict()
_KEEP = 2


def worker_inputs(token: str, cfg: AnalysisConfig) -> Inputs:
    """The inputs of a run in this worker process: read from the config once, then kept.

    The client already reported the inputs' warnings (offset coordinates, villages outside
    every county...); the worker reads them silently.
    """
    from ynps_geo.workflows import load_inputs

    with _LOCK:  # threads of one worker share one copy, read once
        if token in _INPUTS:
            _INPUTS.move_to_end(token)
            return _INPUTS[token]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", YnpsGeoWarning)
            inputs = load_inputs(cfg)
        _INPUTS[token] = inputs
        while len(_INPUTS) > _KEEP:
            _INPUTS.popitem(last=False)
        return inputs


def forget_inputs(token: str) -> None:
    """Drop a run's inputs from this worker process (called by the client at the run's end)."""
    with _LOCK:
        _INPUTS.pop(token, None)


def run_county(
    token: str,
    cfg: AnalysisConfig,
    county: str,
    geom: Any,
    circles: list[PlanStandard],
    opts: Options,
    defaults: dict[str, Any],
) -> Any:
    """One county's task on a worker: its CountyResult, or its YnpsGeoError (returned).

    A YnpsGeoError is the county's data speaking (a DEM that does not cover it, a bad
    value): returned, not raised, so the cluster does not retry it; other exceptions are
    raised and retried (see :data:`RETRIES`).
    """
    from ynps_geo import settings, workflows

    for key, value in defaults.items():
        setattr(settings, key, value)
    try:
        inputs = worker_inputs(token, cfg)
    except YnpsGeoError as err:
        return err
    return workflows._county_job(county, geom, inputs, circles, opts)
