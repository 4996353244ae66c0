"""Open a local HTML file in headless Chromium with the network off (test helper).

Used by the browser tests of ``map.html`` and ``report.html``::

    from browser import load_in_chromium, require_browser

    require_browser()                       # skip (or fail when CI=true) without Chromium
    js = "document.querySelectorAll('path.ynps-village').length"
    res = load_in_chromium(path, tmp_path / "shot.png", dom_checks={"villages": js})
    assert res.js_errors == []
    assert res.dom_checks["villages"] > 0

Needs the ``playwright`` Python package (``pip install playwright``; no browser download:
``playwright install`` is never run) and a system Chromium: ``$YNPS_CHROMIUM``,
``/usr/lib/chromium/chromium``, ``/usr/bin/chromium``, ``chromium-browser`` or
``google-chrome``. Every request other than ``file:``/``data:``/``blob:`` is aborted, and DNS is
mapped to nothing, so the page is tested as it opens on an office PC without internet.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: Chromium flags that work on the CI/dev machines (headless, no sandbox in containers).
CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)

_CANDIDATES = (
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)

#: Console messages that only say a network resource (a map tile) failed: expected offline.
NETWORK_ERROR_MARKERS: tuple[str, ...] = ("Failed to load resource", "net::ERR_")


@dataclass
class BrowserResult:
    """What happened when the page was opened.

    Attributes
    ----------
    console_errors : list of str
        ``console.error`` messages (including failed resource loads).
    page_errors : list of str
        Uncaught JavaScript exceptions.
    blocked_requests : list of str
        Requests aborted because they would leave the machine (tiles...).
    dom_checks : dict
        Name -> value of each JavaScript expression given to :func:`load_in_chromium`.
    screenshot : Path or None
        The screenshot written, if any.
    """

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    dom_checks: dict[str, Any] = field(default_factory=dict)
    screenshot: Path | None = None

    @property
    def js_errors(self) -> list[str]:
        """Page errors plus console errors that are not about a failed network resource."""
        console = [
            m
            for m in self.console_errors
            if not any(marker in m for marker in NETWORK_ERROR_MARKERS)
        ]
        return [*self.page_errors, *console]


def chromium_executable() -> str | None:
    """Path of a usable Chromium/Chrome binary, or None."""
    env = os.environ.get("YNPS_CHROMIUM")
    for cand in ((env,) if env else ()) + _CANDIDATES:
        path = cand if os.path.isabs(cand) else shutil.which(cand)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (CI=true: the CI image must provide it)")
    pytest.skip(reason)


def require_browser() -> str:
    """Return the Chromium path; skip the test without one (fail when ``CI=true``)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail(
            "the 'playwright' package is not installed (pip install playwright; "
            "no browser download is needed, a system Chromium is used)"
        )
    exe = chromium_executable()
    if exe is None:
        _skip_or_fail("no Chromium found (apt install chromium, or set YNPS_CHROMIUM)")
    return str(exe)


def load_in_chromium(
    html_path: str | Path,
    screenshot_path: str | Path | None = None,
    *,
    dom_checks: Mapping[str, str] | None = None,
    actions: Callable[[Any], None] | None = None,
    width: int = 1366,
    height: int = 800,
    settle_ms: int = 1500,
    timeout_ms: int = 60_000,
) -> BrowserResult:
    """Open ``html_path`` from ``file://`` in headless Chromium without network access.

    Parameters
    ----------
    html_path : path
        The HTML file.
    screenshot_path : path, optional
        Where to write a PNG screenshot (after ``actions``).
    dom_checks : mapping of str to str, optional
        Name -> JavaScript expression, evaluated after the page settled (and after
        ``actions``); results land in ``BrowserResult.dom_checks``.
    actions : callable, optional
        Called with the Playwright ``Page`` after load (click a marker, open a popup...).
    width, height : int
        Viewport size.
    settle_ms : int
        Time to wait after the ``load`` event for scripts to finish drawing.
    timeout_ms : int
        Navigation timeout.

    Returns
    -------
    BrowserResult
    """
    from playwright.sync_api import sync_playwright

    exe = require_browser()
    url = Path(html_path).resolve().as_uri()
    res = BrowserResult()
    local = ("file:", "data:", "blob:", "about:")

    def route(r: Any) -> None:
        if r.request.url.startswith(local):
            r.continue_()
        else:
            res.blocked_requests.append(r.request.url)
            r.abort("internetdisconnected")

    with tempfile.TemporaryDirectory(prefix="ynps-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=exe,
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport={"width": width, "height": height},
            offline=False,
            locale="zh-CN",
        )
        try:
            context.route("**/*", route)
            page = context.pages[0] if context.pages else context.new_page()
            page.on(
                "console",
                lambda m: res.console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: res.page_errors.append(str(e)))
            page.goto(url, wait_until="load", timeout=timeout_ms)
            page.wait_for_timeout(settle_ms)
            if actions is not None:
                actions(page)
            for name, expr in (dom_checks or {}).items():
                res.dom_checks[name] = page.evaluate(expr)
            if screenshot_path is not None:
                shot = Path(screenshot_path)
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot), full_page=False)
                res.screenshot = shot
        finally:
            context.close()
    return res
