"""Counties on a Dask cluster (issue 9, point 3): ``--scheduler`` / ``scheduler:``.

A ``LocalCluster`` of two worker processes (one thread each) stands for the cluster: the
tasks are pickled, the workers read the inputs themselves, and a worker can be killed. The
two-county case is the ``two_counties`` fixture (with its DEM). A worker plugin wraps
``workflows.analyze_county`` inside the worker processes to count the calls, raise once or
kill the worker, as ``mode.json`` says.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from ynps_geo import settings, workflows
from ynps_geo.cli import main
from ynps_geo.config import load_config
from ynps_geo.errors import ConfigError, DataSourceError, MissingDependencyError


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two worker processes; a county may be lost once (allowed-failures 1), one task per
    worker at a time (worker-saturation 1.0, so a lost worker loses one county only)."""
    import dask
    from distributed import LocalCluster

    with (
        dask.config.set(
            {
                "distributed.scheduler.allowed-failures": 1,
                "distributed.scheduler.worker-saturation": 1.0,
            }
        ),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        ) as cl,
    ):
        yield cl


@pytest.fixture(scope="module")
def serial(two_counties: dict[str, Path]) -> Any:
    return workflows.run(load_config(two_counties["two_dem"]))


def _on(cluster: Any, path: Path, **options: Any) -> Any:
    cfg = load_config(path)
    cfg.opts = cfg.opts.updated({"scheduler": cluster.scheduler_address, **options})
    return workflows.run(cfg)


def _assert_same(a: Any, b: Any) -> None:
    """Two results hold the same villages, people, coverage, access, isochrones, surfaces."""
    assert a.failures == b.failures
    pd.testing.assert_frame_equal(a.villages, b.villages)
    pd.testing.assert_frame_equal(a.people, b.people)
    pd.testing.assert_frame_equal(a.coverage, b.coverage)
    pd.testing.assert_frame_equal(a.access, b.access)
    pd.testing.assert_frame_equal(a.by_setting, b.by_setting)
    assert a.isochrones is not None and b.isochrones is not None
    pd.testing.assert_frame_equal(
        a.isochrones.drop(columns="geometry"), b.isochrones.drop(columns="geometry")
    )
    assert a.isochrones.geometry.geom_equals_exact(b.isochrones.geometry, 1e-9).all()
    assert a.surfaces.keys() == b.surfaces.keys()
    for county, (grid, layers) in a.surfaces.items():
        assert grid == b.surfaces[county][0]
        assert layers.keys() == b.surfaces[county][1].keys()
        for k, arr in layers.items():
            np.testing.assert_array_equal(arr, b.surfaces[county][1][k])


def test_a_dask_run_equals_the_serial_run(
    cluster: Any, serial: Any, two_counties: dict[str, Path]
) -> None:
    assert serial.failures == {} and set(serial.villages["county"]) == {"西县", "东县"}
    result = _on(cluster, two_counties["two_dem"])
    _assert_same(result, serial)
    assert len(result.access) > 0 and result.people is not None
    # the run left nothing behind on the workers (their copies of the inputs are dropped)
    from ynps_geo import cluster as cl

    held = cluster.get_client().run(lambda: len(cl._INPUTS))
    assert set(held.values()) == {0}


def test_the_cli_and_the_config_key_take_the_scheduler(
    cluster: Any, serial: Any, two_counties: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "cli"
    cfg = str(two_counties["two_dem"])
    assert (
        main(["-q", "analyze", cfg, "--out", str(out), "--scheduler", cluster.scheduler_address])
        == 0
    )
    written = pd.read_csv(out / "coverage.csv")
    expect = serial.coverage.reset_index(drop=True)
    np.testing.assert_allclose(
        written["population_covered"], expect["population_covered"], rtol=1e-12
    )
    assert list(written["county"]) == list(expect["county"])
    # a scheduler file (dask scheduler --scheduler-file) in place of the address
    sched = tmp_path / "sched.json"
    sched.write_text(json.dumps({"address": cluster.scheduler_address}), encoding="utf-8")
    assert (
        main(["-q", "analyze", cfg, "--out", str(tmp_path / "f"), "--scheduler", str(sched)]) == 0
    )
    assert (tmp_path / "f" / "coverage.csv").read_bytes() == (out / "coverage.csv").read_bytes()
    # scheduler: in the YAML (and the cache key does not depend on where the counties run)
    d = yaml.safe_load(two_counties["two_dem"].read_text(encoding="utf-8"))
    yml = two_counties["data"] / "on_cluster.yaml"
    yml.write_text(
        yaml.safe_dump({**d, "scheduler": cluster.scheduler_address}, allow_unicode=True),
        encoding="utf-8",
    )
    c = load_config(yml)
    assert c.options["scheduler"] == cluster.scheduler_address
    assert workflows.cache_key(c) == workflows.cache_key(load_config(two_counties["two_dem"]))
    _, day = workflows.report(yml, tmp_path / "reports", stamp="2026-12-01", use_cache=False)
    pd.testing.assert_frame_equal(
        pd.read_csv(day / "coverage.csv"), pd.read_csv(out / "coverage.csv")
    )


def test_the_local_pool_equals_the_serial_run(serial: Any, two_counties: dict[str, Path]) -> None:
    """``jobs: 2``: two spawned worker processes, each given the inputs once at its start."""
    cfg = load_config(two_counties["two_dem"])
    cfg.opts = cfg.opts.updated({"jobs": 2})
    _assert_same(workflows.run(cfg), serial)


# ------------------------------------------------------------------ failures and retries
class _Wrap:
    """Worker plugin: wraps ``workflows.analyze_county`` in the worker process.

    Each call is logged (``calls.log``: county, pid); for the county of ``mode.json`` the
    first ``times`` calls ``raise`` an OSError or ``kill`` the worker process.
    """

    name = "ynps-test-wrap"

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def setup(self, worker: Any = None) -> None:
        from ynps_geo import workflows as wf

        folder = Path(self.folder)
        real = getattr(wf.analyze_county, "_real", wf.analyze_county)

        def analyze_county(county: str, *args: Any, **kwargs: Any) -> Any:
            with (folder / "calls.log").open("a", encoding="utf-8") as fh:
                fh.write(f"{county}\t{os.getpid()}\n")
            mode = json.loads((folder / "mode.json").read_text(encoding="utf-8"))
            acted = folder / "acted.log"
            n = len(acted.read_text(encoding="utf-8").splitlines()) if acted.exists() else 0
            if county == mode["county"] and n < mode["times"]:
                with acted.open("a", encoding="utf-8") as fh:
                    fh.write(f"{mode['action']}\t{os.getpid()}\n")
                if mode["action"] == "kill":
                    os._exit(1)
                msg = "a transient read error (test)"
                raise OSError(msg)
            return real(county, *args, **kwargs)

        analyze_county._real = real  # type: ignore[attr-defined]
        wf.analyze_county = analyze_county

    def teardown(self, worker: Any = None) -> None:
        from ynps_geo import workflows as wf

        wf.analyze_county = getattr(wf.analyze_county, "_real", wf.analyze_county)


@pytest.fixture
def wrapped(cluster: Any, tmp_path: Path) -> Iterator[Path]:
    """The plugin on every worker (and on workers started later); removed afterwards."""
    with _wrapping(cluster, tmp_path / "plugin") as folder:
        yield folder


@contextlib.contextmanager
def _wrapping(cluster: Any, folder: Path) -> Iterator[Path]:
    import cloudpickle
    from distributed import WorkerPlugin

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    folder.mkdir()
    (folder / "mode.json").write_text(
        json.dumps({"county": "", "action": "none", "times": 0}), encoding="utf-8"
    )
    plugin = type("Wrap", (_Wrap, WorkerPlugin), {})(str(folder))
    client = cluster.get_client()
    register = getattr(client, "register_plugin", None) or client.register_worker_plugin
    register(plugin, name=_Wrap.name)
    try:
        yield folder
    finally:
        client.unregister_worker_plugin(_Wrap.name)
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _mode(folder: Path, county: str, action: str, times: int, cluster: Any = None) -> None:
    if cluster is not None:  # every worker back (a killed one is restarted by its nanny)
        cluster.get_client().wait_for_workers(len(cluster.workers), timeout=60)
    (folder / "mode.json").write_text(
        json.dumps({"county": county, "action": action, "times": times}), encoding="utf-8"
    )
    for log in ("calls.log", "acted.log"):
        (folder / log).unlink(missing_ok=True)


def _calls(folder: Path, county: str) -> int:
    lines = (folder / "calls.log").read_text(encoding="utf-8").splitlines()
    return sum(line.split("\t")[0] == county for line in lines)


def test_a_county_whose_data_fail_is_reported_once_and_the_others_written(
    cluster: Any,
    serial: Any,
    two_counties: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    wrapped: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A third county too large for the grid limit fails on its worker (a YnpsGeoError:
    deterministic, so tried once, never retried); the others are written; exit 3, as
    locally. The limit is this process's setting, sent with the tasks."""
    import geopandas as gpd
    from shapely.geometry import box

    data = two_counties["data"]
    two = gpd.read_file(data / "two.geojson")
    _, y0, x1, _ = two.total_bounds
    big = gpd.GeoDataFrame(
        {"name": ["大县"]}, geometry=[box(x1 + 0.05, y0, x1 + 1.05, y0 + 1.0)], crs=two.crs
    )
    pd.concat([two, big], ignore_index=True).to_file(data / "three.geojson", driver="GeoJSON")
    d = yaml.safe_load(two_counties["two_dem"].read_text(encoding="utf-8"))
    d["boundary"] = {**d["boundary"], "path": "three.geojson"}
    three = data / "three.yaml"
    three.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(settings, "max_grid_cells", 100_000)  # the two real ones have ~16,000

    local = workflows.run(load_config(three))
    assert list(local.failures) == ["大县"] and "100,000" in local.failures["大县"]
    _mode(wrapped, "", "none", 0)
    remote = _on(cluster, three)
    assert remote.failures == local.failures
    assert _calls(wrapped, "大县") == 1  # not retried
    pd.testing.assert_frame_equal(remote.coverage, local.coverage)
    pd.testing.assert_frame_equal(remote.villages, serial.villages)
    pd.testing.assert_frame_equal(remote.access, serial.access)

    out = tmp_path / "out"
    code = main(
        ["-q", "analyze", str(three), "--out", str(out), "--scheduler", cluster.scheduler_address]
    )
    assert code == 3
    err = [e for e in capsys.readouterr().err.splitlines() if e.startswith("ynps-geo: error:")]
    assert len(err) == 1 and "1 of 3 counties failed" in err[0] and "大县" in err[0]
    assert set(pd.read_csv(out / "coverage.csv")["county"]) == {"西县", "东县", "ALL"}


def test_a_raising_task_is_retried_and_a_lost_worker_hands_its_county_on(
    cluster: Any, serial: Any, two_counties: dict[str, Path], wrapped: Path
) -> None:
    # an unexpected exception (not a YnpsGeoError): the task is retried (retries=RETRIES)
    _mode(wrapped, "西县", "raise", 1, cluster)
    _assert_same(_on(cluster, two_counties["two_dem"]), serial)
    assert _calls(wrapped, "西县") == 2
    # the worker running a county dies: the scheduler hands the county to another worker
    _mode(wrapped, "东县", "kill", 1, cluster)
    _assert_same(_on(cluster, two_counties["two_dem"]), serial)
    acted = (wrapped / "acted.log").read_text(encoding="utf-8").splitlines()
    assert len(acted) == 1 and acted[0].startswith("kill")
    assert _calls(wrapped, "东县") == 2
    # it kills every worker it is given: after allowed-failures (1 here) it is reported
    # as failed with the likely reason; the other county is written
    _mode(wrapped, "东县", "kill", 99, cluster)
    result = _on(cluster, two_counties["two_dem"])
    assert list(result.failures) == ["东县"]
    assert "lost again and again" in result.failures["东县"]
    assert "memory" in result.failures["东县"]
    assert set(result.villages["county"]) == {"西县"}
    west = serial.villages[serial.villages["county"] == "西县"].reset_index(drop=True)
    pd.testing.assert_frame_equal(result.villages.reset_index(drop=True), west)
    assert any("failed" in n and "overstated" in n for n in result.notes)


def test_counties_lost_beside_the_one_that_kills_its_worker_are_run_again_alone(
    serial: Any, two_counties: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One worker with two threads holds both counties: each time 东县 kills it, 西县 dies
    with it, so both come back lost (allowed-failures 1). Each is then run once more alone,
    smallest first: 西县 is computed, and only 东县 is reported."""
    import dask
    from distributed import LocalCluster

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        ) as shared,
        _wrapping(shared, tmp_path / "plugin") as folder,
    ):
        _mode(folder, "东县", "kill", 99, shared)
        with caplog.at_level(logging.WARNING, logger="ynps_geo.cluster"):
            result = _on(shared, two_counties["two_dem"])
    assert list(result.failures) == ["东县"] and "lost again and again" in result.failures["东县"]
    west = serial.villages[serial.villages["county"] == "西县"].reset_index(drop=True)
    pd.testing.assert_frame_equal(result.villages.reset_index(drop=True), west)
    assert any("run once more alone" in r.getMessage() for r in caplog.records)
    calls = (folder / "calls.log").read_text(encoding="utf-8").splitlines()
    west_calls = [i for i, line in enumerate(calls) if line.startswith("西县")]
    # 西县 ran beside 东县 (twice, both lost), then alone once, before 东县 was tried alone
    assert len(west_calls) >= 1
    last_west = west_calls[-1]
    assert all(line.startswith("东县") for line in calls[last_west + 1 :])
    assert _calls(folder, "东县") >= 4  # twice beside 西县, twice alone


# ------------------------------------------------------------------ set-up errors
def test_no_dask_installed_gives_the_install_hint(
    two_counties: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'ynps-geo\[dask\]'"):
        _on(type("C", (), {"scheduler_address": "tcp://127.0.0.1:8786"})(), two_counties["two"])


def test_an_unreachable_scheduler_is_one_clear_error(
    two_counties: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ynps_geo import cluster as cl

    monkeypatch.setattr(cl, "CONNECT_TIMEOUT_S", 1.0)
    with pytest.raises(
        DataSourceError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"
    ):
        _on(type("C", (), {"scheduler_address": "tcp://127.0.0.1:9"})(), two_counties["two"])
    cfg = str(two_counties["two"])
    assert (
        main(
            ["-q", "analyze", cfg, "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9"]
        )
        == 1
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dask scheduler" in err[0] and "tcp://127.0.0.1:9" in err[0]


def test_layers_held_in_python_are_refused_on_a_cluster(two_counties: dict[str, Path]) -> None:
    import geopandas as gpd

    import ynps_geo

    data = two_counties["data"]
    villages = pd.read_csv(data / "villages.csv")
    vil = gpd.GeoDataFrame(
        villages, geometry=gpd.points_from_xy(villages["lon"], villages["lat"]), crs=4326
    )
    with pytest.raises(ConfigError, match="villages is a GeoDataFrame held in this Python session"):
        ynps_geo.analyze(
            vil,
            data / "facilities.csv",
            facilities_crs="gcj02",
            facilities_x="lng",
            facilities_y="lat",
            category_field="type",
            villages_id="code",
            villages_population="pop",
            setting="setting",
            scheduler="tcp://127.0.0.1:9",
            progress=False,
        )


def test_scheduler_option_is_checked(two_counties: dict[str, Path]) -> None:
    d = yaml.safe_load(two_counties["two"].read_text(encoding="utf-8"))
    bad = two_counties["data"] / "bad_scheduler.yaml"
    for value in (8786, "", True):
        bad.write_text(yaml.safe_dump({**d, "scheduler": value}), encoding="utf-8")
        with pytest.raises(ConfigError, match="'scheduler'"):
            load_config(bad)


def test_without_a_scheduler_dask_is_never_imported(two_counties: dict[str, Path]) -> None:
    code = (
        "import sys\n"
        "from ynps_geo import workflows\n"
        "from ynps_geo.config import load_config\n"
        f"r = workflows.run(load_config({str(two_counties['two'])!r}))\n"
        "assert set(r.villages['county']) == {'西县', '东县'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_counties_go_largest_first() -> None:
    from shapely.geometry import box

    from ynps_geo.analysis import Options, county_cells
    from ynps_geo.workflows import largest_first

    opts = Options(resolution_m=100, margin_m=1000)
    pairs = [
        ("small", box(100.0, 25.0, 100.1, 25.1)),
        ("large", box(101.0, 25.0, 101.5, 25.5)),
        ("middle", box(99.0, 25.0, 99.3, 25.2)),
        ("small too", box(100.0, 25.0, 100.1, 25.1)),  # the same size: the order kept
    ]
    assert [c for c, _ in largest_first(pairs, opts)] == ["large", "middle", "small", "small too"]
    # the county (about 51.3 x 56.2 km in UTM 47N, 2,791 km2) grown by its 1 km margin:
    # 2,791 + 2 x (51.3 + 56.2) x 1 + pi = 3,009 km2, in 100 m cells (the searched cells;
    # the corners of the grid's box are not searched)
    assert county_cells(pairs[1][1], opts) == pytest.approx(3009 * 100, rel=0.01)
