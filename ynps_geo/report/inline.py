"""Make HTML self-contained: vendored JavaScript/CSS inlined, images as ``data:`` URIs.

The maps and reports are opened from a mail attachment or a USB stick on office PCs behind
the government intranet, where a CDN cannot be reached. Everything a page needs therefore
travels inside the one HTML file. The third-party files live in ``report/assets/`` (see
``LICENSES.md`` there and ``scripts/vendor_assets.py``, which re-fetches them from npm).

Functions
---------
asset_text, asset_path
    Read a vendored asset shipped with the package.
script_tag, style_tag
    ``<script>``/``<style>`` elements holding a vendored asset (safe against ``</script>``).
css_with_data_uris
    Rewrite ``url(...)`` references of a stylesheet into ``data:`` URIs.
inline_resources
    Replace ``<script src>``/``<link rel=stylesheet href>`` of known libraries in an HTML
    document by inline copies, drop the ones the page does not need.
external_refs
    The external URLs an HTML document would still fetch (scripts, stylesheets, images).
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path

__all__ = [
    "ASSET_PACKAGE",
    "asset_path",
    "asset_text",
    "css_with_data_uris",
    "data_uri",
    "external_refs",
    "inline_resources",
    "script_tag",
    "style_tag",
]

#: Package resource folder holding the vendored files.
ASSET_PACKAGE = "ynps_geo.report"
_ASSET_DIR = "assets"

_MIME = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
}


def asset_path(name: str) -> Path:
    """Filesystem path of the vendored asset ``name`` (a file in ``report/assets/``).

    Parameters
    ----------
    name : str
        File name, e.g. ``"leaflet.js"``.

    Returns
    -------
    Path

    Raises
    ------
    FileNotFoundError
        If the asset is not shipped; the message says how to re-vendor.
    """
    res = resources.files(ASSET_PACKAGE) / _ASSET_DIR / name
    path = Path(str(res))
    if not path.is_file():
        msg = (
            f"vendored asset {name!r} not found in {path.parent}; run "
            "'python scripts/vendor_assets.py' from the repository to fetch it again"
        )
        raise FileNotFoundError(msg)
    return path


def asset_text(name: str) -> str:
    """Text of the vendored asset ``name`` (UTF-8)."""
    return asset_path(name).read_text(encoding="utf-8")


def _script_safe(text: str) -> str:
    # A literal "</script" inside an inline script ends the element early.
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def script_tag(name_or_code: str, *, code: bool = False) -> str:
    """An inline ``<script>`` element with a vendored asset (or with ``code`` when ``code``).

    Parameters
    ----------
    name_or_code : str
        Asset file name, or the JavaScript itself when ``code=True``.
    code : bool
        Treat ``name_or_code`` as code rather than an asset name.

    Returns
    -------
    str
    """
    text = name_or_code if code else asset_text(name_or_code)
    label = "" if code else f' data-asset="{name_or_code}"'
    return f"<script{label}>{_script_safe(text)}</script>"


def style_tag(name_or_code: str, *, code: bool = False) -> str:
    """An inline ``<style>`` element with a vendored stylesheet (or with ``code``)."""
    text = name_or_code if code else asset_text(name_or_code)
    text = re.sub(r"</(style)", r"<\\/\1", text, flags=re.IGNORECASE)
    label = "" if code else f' data-asset="{name_or_code}"'
    return f"<style{label}>{text}</style>"


def data_uri(path: Path) -> str:
    """A ``data:`` URI holding the file at ``path`` (base64; SVG percent-free UTF-8 base64)."""
    mime = _MIME.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    if mime is None:
        msg = f"cannot embed {path}: unknown file type {path.suffix!r}"
        raise ValueError(msg)
    payload = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{mime};base64,{payload}"


_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")


def css_with_data_uris(css: str, base_dir: Path, *, missing: str = "error") -> str:
    """Rewrite relative ``url(...)`` references of ``css`` into ``data:`` URIs.

    Parameters
    ----------
    css : str
        Stylesheet text.
    base_dir : Path
        Folder the relative URLs are resolved against (the stylesheet's folder).
    missing : {"error", "drop"}
        What to do with a relative reference whose file does not exist: raise, or replace it
        by ``none`` so that the browser fetches nothing.

    Returns
    -------
    str
        The stylesheet; ``data:`` URIs, fragment references (``#default#VML``) and absolute
        ``http(s)`` URLs are left as they are (see :func:`external_refs` to find the latter).
    """

    def repl(m: re.Match[str]) -> str:
        url = m.group(2).strip()
        if url.startswith(("data:", "#", "http:", "https:", "//")):
            return m.group(0)
        target = (base_dir / url.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():
            if missing == "drop":
                return "none"
            msg = f"stylesheet image {url!r} not found under {base_dir}"
            raise FileNotFoundError(msg)
        return f'url("{data_uri(target)}")'

    return _CSS_URL.sub(repl, css)


_SCRIPT_SRC = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*(['\"])(?P<url>[^'\"]+)\1[^>]*>\s*</script>", re.IGNORECASE
)
_LINK_HREF = re.compile(
    r"<link\b[^>]*\bhref\s*=\s*(['\"])(?P<url>[^'\"]+)\1[^>]*/?>", re.IGNORECASE
)


def inline_resources(
    html: str,
    resolve: Callable[[str], str | None] | Mapping[str, str | None],
    *,
    strict: bool = True,
) -> str:
    """Replace external ``<script src>`` and stylesheet ``<link href>`` elements.

    Parameters
    ----------
    html : str
        The document.
    resolve : callable or mapping
        Maps a URL to the replacement *asset name* (an inline copy is written), to ``""``
        (the element is dropped: the library is not needed), or to ``None`` (unknown). A
        mapping is matched by substring: the first key contained in the URL wins.
    strict : bool
        Raise ``ValueError`` for an unknown external URL (so that a page never silently
        depends on the network); when False the element is kept.

    Returns
    -------
    str
    """
    lookup: Callable[[str], str | None]
    if isinstance(resolve, Mapping):
        table = dict(resolve)

        def _table_lookup(url: str) -> str | None:
            for key, value in table.items():
                if key in url:
                    return value
            return None

        lookup = _table_lookup
    else:
        lookup = resolve

    def _replace(m: re.Match[str], kind: str) -> str:
        url = m.group("url")
        if not re.match(r"^(https?:)?//", url):
            return m.group(0)
        if kind == "link" and "stylesheet" not in m.group(0).lower():
            return m.group(0) if not strict else _unknown(url, m.group(0))
        name = lookup(url)
        if name is None:
            return _unknown(url, m.group(0)) if strict else m.group(0)
        if name == "":
            return ""
        return script_tag(name) if kind == "script" else style_tag(name)

    html = _SCRIPT_SRC.sub(lambda m: _replace(m, "script"), html)
    return _LINK_HREF.sub(lambda m: _replace(m, "link"), html)


def _unknown(url: str, element: str) -> str:
    msg = (
        f"the page references {url!r} ({element[:80]}...), which is not vendored: the file "
        "would not open offline. Vendor it in report/assets/ or drop the element"
    )
    raise ValueError(msg)


_EXTERNAL = re.compile(
    r"<(?:script|img|iframe|link|source|embed)\b[^>]*\b(?:src|href)\s*=\s*(['\"])"
    r"(?P<url>(?:https?:)?//[^'\"]+)\1",
    re.IGNORECASE,
)
_CSS_EXTERNAL = re.compile(r"url\(\s*(['\"]?)(?P<url>(?:https?:)?//[^'\")]+)\1\s*\)", re.IGNORECASE)
_IMPORT = re.compile(
    r"@import\s+(?:url\()?\s*['\"]?(?P<url>(?:https?:)?//[^'\")\s;]+)", re.IGNORECASE
)


def external_refs(html: str) -> list[str]:
    """URLs that loading ``html`` would fetch from the network at once.

    Looks at ``src``/``href`` of ``script``, ``link``, ``img``, ``iframe``, ``source`` and
    ``embed`` elements, at CSS ``url(...)`` and at ``@import``. Tile URL templates inside
    JavaScript strings (fetched only when a base layer is shown, and optional by design) and
    ordinary ``<a href>`` links are not counted.

    Parameters
    ----------
    html : str

    Returns
    -------
    list of str
        In document order, duplicates kept.
    """
    found: list[tuple[int, str]] = []
    for rx in (_EXTERNAL, _CSS_EXTERNAL, _IMPORT):
        found.extend((m.start(), m.group("url")) for m in rx.finditer(html))
    return [url for _, url in sorted(found)]
