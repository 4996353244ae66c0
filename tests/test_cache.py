"""The cache folder (platformdirs default, $YNPS_GEO_CACHE), its size cap, ``ynps-geo cache``,
and warnings routed through logging (``logging.captureWarnings``)."""

from __future__ import annotations

import importlib
import logging
import os
import warnings
from pathlib import Path

import platformdirs
import pytest

from ynps_geo import settings
from ynps_geo.cli import _setup_logging, main
from ynps_geo.errors import DataQualityWarning
from ynps_geo.io import cache


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setattr(settings, "cache_dir", folder)
    return folder


def test_default_folder_is_the_platforms_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        monkeypatch.delenv("YNPS_GEO_CACHE", raising=False)
        monkeypatch.delenv("YNPS_GEO_CACHE_MAX_MB", raising=False)
        fresh = importlib.reload(settings)
        assert fresh.cache_dir == Path(platformdirs.user_cache_dir("ynps-geo", appauthor=False))
        assert fresh.cache_max_mb == 2048
        monkeypatch.setenv("YNPS_GEO_CACHE", "~/elsewhere")
        monkeypatch.setenv("YNPS_GEO_CACHE_MAX_MB", "10")
        fresh = importlib.reload(settings)
        assert fresh.cache_dir == Path("~/elsewhere").expanduser()
        assert fresh.cache_max_mb == 10.0
    finally:
        monkeypatch.undo()
        importlib.reload(settings)


def _entry(folder: Path, name: str, size: int, age_s: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_bytes(b"x" * size)
    t = 1_700_000_000 - age_s
    os.utime(p, (t, t))
    return p


def test_prune_removes_least_recently_used_beyond_the_cap(root: Path) -> None:
    old = _entry(root / "results", "old.pkl", 400, 300)
    mid = _entry(root / "overpass", "mid.json", 400, 200)
    new = _entry(root / "results", "new.pkl", 400, 100)
    demo = _entry(root / "demo" / "seed-1", "dem.tif", 5000, 1000)  # never pruned
    # a template compiled by an older version, never read since: pruned like the others
    stale = _entry(root / "jinja2" / "ab", "ab12.code", 300, 400)
    assert cache.cache_size() == 6500
    removed, freed = cache.prune(max_bytes=900)
    assert (removed, freed) == (2, 700)
    assert not stale.exists() and not old.exists()
    assert mid.exists() and new.exists() and demo.exists()
    assert cache.prune(max_bytes=0) == (2, 800)
    assert demo.exists()


def test_store_applies_the_cap_and_load_marks_use(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = cache.store("a" * 32, b"1" * 600)
    b = cache.store("b" * 32, b"2" * 600)
    assert a is not None and b is not None
    os.utime(a, (1_000, 1_000))
    os.utime(b, (2_000, 2_000))
    assert cache.load("a" * 32) == b"1" * 600  # a hit marks the entry as recently used
    size = a.stat().st_size
    monkeypatch.setattr(settings, "cache_max_mb", 2.5 * size / 1e6)  # room for two entries
    c = cache.store("c" * 32, b"3" * 600)
    assert c is not None and c.exists()
    assert a.exists() and not b.exists()  # b, the least recently used, went


def test_cli_cache_clear(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _entry(root / "results", "r.pkl", 1_500_000, 0)
    _entry(root / "demo" / "seed-1", "d.tif", 500_000, 0)
    assert main(["cache", "info"]) == 0
    assert "2.0 MB" in capsys.readouterr().out
    assert main(["cache", "clear"]) == 0
    out = capsys.readouterr().out
    assert "removed 2 files (2.0 MB)" in out and str(root) in out
    assert root.is_dir() and not any(root.iterdir())
    assert main(["cache", "clear"]) == 0  # an empty (or missing) cache is fine


def test_warnings_go_through_logging(caplog: pytest.LogCaptureFixture) -> None:
    """ynps_geo's warnings are logged as their message; the libraries' only with -v."""
    try:
        _setup_logging(0, False)
        with caplog.at_level(logging.WARNING), warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn(
                "villages.csv: 3 rows without coordinates", DataQualityWarning, stacklevel=2
            )
            warnings.warn("something deprecated", DeprecationWarning, stacklevel=2)
        assert [r.getMessage() for r in caplog.records] == [
            "villages.csv: 3 rows without coordinates"
        ]
        caplog.clear()
        _setup_logging(1, False)
        with caplog.at_level(logging.WARNING), warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("something deprecated", DeprecationWarning, stacklevel=2)
        assert [r.getMessage() for r in caplog.records] == [
            "DeprecationWarning: something deprecated"
        ]
        assert warnings.showwarning.__module__ == "logging"  # logging.captureWarnings
    finally:
        logging.captureWarnings(False)
