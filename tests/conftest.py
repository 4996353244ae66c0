"""Shared fixtures.

Real data lives in ``../shared/data/real`` beside the repository. A user's clone has no
``../shared``: tests that need it skip with a clear reason there, and fail when ``CI=true``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"


def shared_path(*parts: str) -> Path:
    """Path under ``../shared/data/real``; skip (or fail on CI) when it is absent."""
    path = SHARED_REAL.joinpath(*parts)
    if not path.exists():
        reason = (
            f"real test data {path} not found: these tests read ../shared/data/real beside "
            "the repository (present in the project's workspace and on CI only)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
def shared() -> type[_Shared]:
    """Fixture giving ``shared.path("folder", "file")``."""
    return _Shared


class _Shared:
    path = staticmethod(shared_path)


@pytest.fixture(scope="session")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo county analysed once per test session (``ynps-geo demo --out DIR``)."""
    from ynps_geo.cli import main

    out = tmp_path_factory.mktemp("demo-session") / "demo-output"
    assert main(["-q", "demo", "--out", str(out)]) == 0
    return out
