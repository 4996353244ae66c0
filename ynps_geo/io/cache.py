"""A cache of analysis results keyed by the hashes of every input.

A scheduled report on unchanged inputs reuses the travel times instead of recomputing them. The
key covers the config (as parsed, with absolute paths), the bytes of every input file, the
standards shipped with the package and the package's own source, so any change to data, rules
or code gives a new key. Entries are written atomically; a corrupt entry is ignored.

The cache lives in :data:`ynps_geo.settings.cache_dir` (``$YNPS_GEO_CACHE``, else the
platform's user cache folder, :func:`cache_root`): ``results/`` (analyses), ``overpass/``
(Overpass answers cached by OSMnx), ``demo/`` (the generated demo region) and ``jinja2/``
(the report's and the map's templates, compiled: :mod:`ynps_geo.report.jinja_cache`).
Results, Overpass answers and compiled templates (those of older versions are never read
again) are capped at :data:`ynps_geo.settings.cache_max_mb`: beyond it the least recently
used are removed (:func:`prune`). ``ynps-geo cache clear`` (:func:`clear`)
empties it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from ynps_geo import settings

log = logging.getLogger(__name__)
_CHUNK = 1 << 20


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 over the package's Python sources and package data (standards)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.suffix in {".py", ".yaml"} and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _walk(value: Any, files: list[Path]) -> Any:
    if isinstance(value, dict):
        return {
            str(k): _walk(v, files) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        }
    if isinstance(value, list | tuple):
        return [_walk(v, files) for v in value]
    if isinstance(value, Path):
        files.append(value)
        return str(value)
    return value


def inputs_key(parts: dict[str, Any]) -> str:
    """Cache key of an analysis: its parsed config plus the digest of every file it names."""
    files: list[Path] = []
    canonical = _walk(parts, files)
    h = hashlib.sha256(code_digest().encode())
    h.update(repr(canonical).encode("utf-8"))
    for f in sorted(set(files)):
        if f.is_file():
            h.update(file_digest(f).encode())
    return h.hexdigest()[:32]


PRUNED = ("results", "overpass", "jinja2")
"""Cache subfolders under the size cap (the demo data is small and always kept; a compiled
template pruned is compiled again when next needed)."""


def cache_root() -> Path:
    """The cache folder: :data:`ynps_geo.settings.cache_dir`."""
    return Path(settings.cache_dir).expanduser()


def _path(key: str) -> Path:
    return cache_root() / "results" / f"{key}.pkl"


def _files(subfolders: tuple[str, ...] | None = None) -> list[Path]:
    root = cache_root()
    tops = [root / s for s in subfolders] if subfolders is not None else [root]
    return [p for top in tops if top.is_dir() for p in top.rglob("*") if p.is_file()]


def cache_size() -> int:
    """Bytes held by the cache (every subfolder)."""
    total = 0
    for p in _files():
        with contextlib.suppress(OSError):
            total += p.stat().st_size
    return total


def prune(max_bytes: float | None = None) -> tuple[int, int]:
    """Remove the least recently used results and Overpass answers beyond ``max_bytes``.

    Parameters
    ----------
    max_bytes : float, optional
        Default :data:`ynps_geo.settings.cache_max_mb` MB.

    Returns
    -------
    (int, int)
        Files and bytes removed.
    """
    cap = float(settings.cache_max_mb) * 1e6 if max_bytes is None else float(max_bytes)
    entries = []
    for p in _files(PRUNED):
        try:
            st = p.stat()
        except OSError:
            continue
        entries.append((st.st_mtime, st.st_size, p))
    total = sum(e[1] for e in entries)
    removed = freed = 0
    for _, size, p in sorted(entries, key=lambda e: (e[0], str(e[2]))):  # oldest first
        if total <= cap:
            break
        try:
            p.unlink()
        except OSError:
            continue
        total -= size
        removed += 1
        freed += size
    if removed:
        log.info(
            "cache: removed %d old entries (%.1f MB) to stay under %.0f MB",
            removed,
            freed / 1e6,
            cap / 1e6,
        )
    return removed, freed


def clear() -> tuple[int, int]:
    """Empty the cache folder (results, Overpass answers, demo data). Returns (files, bytes)."""
    root = cache_root()
    files = _files()
    size = 0
    for p in files:
        with contextlib.suppress(OSError):
            size += p.stat().st_size
    if root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
    return len(files), size


def load(key: str) -> Any | None:
    """The cached object for ``key``, or None (missing or unreadable)."""
    path = _path(key)
    if not path.exists():
        return None
    try:
        with open(path, "rb") as f:
            obj = pickle.load(f)
        os.utime(path)  # recently used: pruned last
        return obj
    except Exception as err:  # a corrupt or incompatible entry is only a cache miss
        log.warning("ignoring unreadable cache entry %s (%s)", path, err)
        return None


def store(key: str, obj: Any) -> Path | None:
    """Store ``obj`` under ``key`` atomically; failures are logged, never raised."""
    path = _path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        prune()
        return path
    except OSError as err:
        log.warning("could not write the cache %s (%s); continuing without it", path, err)
        return None
