"""Re-fetch the JavaScript/CSS that ``ynps_geo.report`` inlines into its HTML files.

The map is opened offline (government intranet, no CDN), so every library is shipped in
``ynps_geo/report/assets/`` and inlined. This script downloads the pinned npm packages with
``npm pack``, copies the files the map uses, rewrites images referenced by the stylesheets
into ``data:`` URIs and writes ``assets/LICENSES.md``.

Usage::

    python scripts/vendor_assets.py            # fetch the pinned versions below
    python scripts/vendor_assets.py --check    # only verify the shipped files exist

Pinned versions (change them here, re-run, run ``pytest tests/test_maps.py
tests/test_browser_map.py``):

===================== ========= ============= ==========================================
npm package           version   licence       files
===================== ========= ============= ==========================================
leaflet               1.9.4     BSD-2-Clause  leaflet.js, leaflet.css
leaflet.markercluster 1.5.3     MIT           leaflet.markercluster.js, MarkerCluster*.css
leaflet.fullscreen    3.0.2     MIT           Control.FullScreen.js/.css
leaflet-measure       3.1.0     MIT           leaflet-measure.js, leaflet-measure.cn.js, .css
leaflet-search        2.9.7     MIT           leaflet-search.min.js/.css
===================== ========= ============= ==========================================

folium's templates reference leaflet 1.9.3, markercluster 1.1.0, fullscreen 3.0.0,
leaflet-measure 2.1.7 and leaflet-search 2.9.7 from CDNs; the versions above are API
compatible with folium's templates (checked by the browser test). jQuery, Bootstrap,
Font Awesome and awesome-markers, which folium also links by default, are not used by the map
and are dropped rather than vendored.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "ynps_geo" / "report" / "assets"
sys.path.insert(0, str(REPO))

from ynps_geo.report.inline import css_with_data_uris  # noqa: E402

#: (npm package, version, licence, homepage, [(path in package, asset name, kind)])
PACKAGES: list[tuple[str, str, str, str, list[tuple[str, str, str]]]] = [
    (
        "leaflet",
        "1.9.4",
        "BSD-2-Clause",
        "https://leafletjs.com",
        [
            ("package/dist/leaflet.js", "leaflet.js", "js"),
            ("package/dist/leaflet.css", "leaflet.css", "css"),
            ("package/LICENSE", "LICENSE.leaflet.txt", "text"),
        ],
    ),
    (
        "leaflet.markercluster",
        "1.5.3",
        "MIT",
        "https://github.com/Leaflet/Leaflet.markercluster",
        [
            ("package/dist/leaflet.markercluster.js", "leaflet.markercluster.js", "js"),
            ("package/dist/MarkerCluster.css", "MarkerCluster.css", "css"),
            ("package/dist/MarkerCluster.Default.css", "MarkerCluster.Default.css", "css"),
            ("package/MIT-LICENCE.txt", "LICENSE.markercluster.txt", "text"),
        ],
    ),
    (
        "leaflet.fullscreen",
        "3.0.2",
        "MIT",
        "https://github.com/brunob/leaflet.fullscreen",
        [
            ("package/Control.FullScreen.js", "Control.FullScreen.js", "js"),
            ("package/Control.FullScreen.css", "Control.FullScreen.css", "css"),
            ("package/LICENSE", "LICENSE.fullscreen.txt", "text"),
        ],
    ),
    (
        "leaflet-measure",
        "3.1.0",
        "MIT",
        "https://github.com/ljagis/leaflet-measure",
        [
            ("package/dist/leaflet-measure.js", "leaflet-measure.js", "js"),
            ("package/dist/leaflet-measure.cn.js", "leaflet-measure.cn.js", "js"),
            ("package/dist/leaflet-measure.css", "leaflet-measure.css", "css"),
            ("package/LICENSE", "LICENSE.measure.txt", "text"),
        ],
    ),
    (
        "leaflet-search",
        "2.9.7",
        "MIT",
        "https://github.com/stefanocudini/leaflet-search",
        [
            ("package/dist/leaflet-search.min.js", "leaflet-search.min.js", "js"),
            ("package/dist/leaflet-search.min.css", "leaflet-search.min.css", "css"),
            ("package/license.txt", "LICENSE.search.txt", "text"),
        ],
    ),
]


def _licenses_md() -> str:
    lines = [
        "# Vendored assets",
        "",
        "Inlined into `map.html` (and other report HTML) so that the files open offline.",
        "Fetched from the npm registry by `scripts/vendor_assets.py`; stylesheet images are",
        "embedded as `data:` URIs. Each package's licence text is shipped as",
        "`LICENSE.<name>.txt` beside it.",
        "",
        "| file | npm package | version | licence | source |",
        "|---|---|---|---|---|",
    ]
    for pkg, version, lic, home, files in PACKAGES:
        for _, name, kind in files:
            if kind != "text":
                lines.append(
                    f"| `{name}` | `{pkg}` | {version} | {lic} | "
                    f"https://registry.npmjs.org/{pkg}/-/{pkg}-{version}.tgz ({home}) |"
                )
    lines += [
        "",
        "Project code (MIT, not fetched): `ynps_map.js` (builds the data layers, legend and",
        "standard selector) and `ynps_map.css`.",
        "",
        "Not vendored (folium links them by default; the map does not use them and they are",
        "removed from the page): jQuery, Bootstrap, Bootstrap glyphicons, Font Awesome,",
        "Leaflet.awesome-markers, folium's awesome-rotate CSS.",
        "",
    ]
    return "\n".join(lines)


def _fetch(pkg: str, version: str, workdir: Path) -> Path:
    out = subprocess.run(
        ["npm", "pack", f"{pkg}@{version}", "--silent"],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    )
    tgz = workdir / out.stdout.strip().splitlines()[-1]
    dest = workdir / f"{pkg}-{version}"
    dest.mkdir()
    with tarfile.open(tgz) as tar:
        tar.extractall(dest, filter="data")
    return dest


def vendor(assets: Path = ASSETS) -> list[Path]:
    """Fetch every pinned package and (re)write the asset files; returns the files written."""
    if shutil.which("npm") is None:
        msg = "npm is needed to fetch the assets (it only downloads tarballs: 'npm pack')"
        raise SystemExit(msg)
    assets.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        for pkg, version, _lic, _home, files in PACKAGES:
            root = _fetch(pkg, version, Path(tmp))
            for rel, name, kind in files:
                src = root / rel
                dest = assets / name
                if kind == "css":
                    css = css_with_data_uris(src.read_text(encoding="utf-8"), src.parent)
                    dest.write_text(css, encoding="utf-8")
                else:
                    shutil.copyfile(src, dest)
                written.append(dest)
                print(
                    f"{pkg}@{version}: {rel} -> {dest.relative_to(REPO)} "
                    f"({dest.stat().st_size:,} bytes)"
                )
    lic = assets / "LICENSES.md"
    lic.write_text(_licenses_md(), encoding="utf-8")
    written.append(lic)
    return written


def check(assets: Path = ASSETS) -> int:
    """Return 0 when every asset exists, 1 (and print the missing ones) otherwise."""
    names = [name for *_, files in PACKAGES for _, name, _ in files]
    missing = [name for name in names if not (assets / name).is_file()]
    for name in missing:
        print(f"missing: {name}")
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only verify the files exist")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    vendor()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
