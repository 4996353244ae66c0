"""A cache of analysis results keyed by the hashes of every input.

A scheduled report on unchanged inputs reuses the travel times instead of recomputing them. The
key covers the config (as parsed, with absolute paths), the bytes of every input file, the
standards shipped with the package and the package's own source, so any change to data, rules
or code gives a new key. Entries are written atomically; a corrupt entry is ignored.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
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


def _path(key: str) -> Path:
    return Path(settings.cache_dir) / "results" / f"{key}.pkl"


def load(key: str) -> Any | None:
    """The cached object for ``key``, or None (missing or unreadable)."""
    path = _path(key)
    if not path.exists():
        return None
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
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
        return path
    except OSError as err:
        log.warning("could not write the cache %s (%s); continuing without it", path, err)
        return None
