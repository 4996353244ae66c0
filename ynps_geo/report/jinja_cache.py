"""jinja2 templates compiled once per installation instead of once per process.

Compiling a template (lexing, parsing, generating Python and compiling it) takes a few
milliseconds. folium compiles 84 templates when it is imported and the report its 16 templates:
~0.3 s of every run, spent again by every process on the same unchanged sources. This module
keeps the compiled code (a marshalled code object, as jinja2's own bytecode caches store it) in
the cache folder, ``jinja2/`` under :data:`ynps_geo.settings.cache_dir`, keyed by everything the
code depends on (:func:`template_key`): the source, the template's name and file name, the
environment's syntax and compiler options, its filters and tests, and the versions of jinja2
and Python. A changed template, a changed environment or another jinja2 gives another key, so
an entry is never used for code it was not compiled from. An unreadable entry, or a cache folder
that cannot be written, only means compiling as usual.

Classes
-------
CachingEnvironment
    A :class:`jinja2.Environment` whose templates are compiled through the cache (the report's).

Functions
---------
compiles_cached
    Inside the block, every jinja2 environment compiles through the cache (used while
    importing folium, whose templates are compiled at import).
cached_compile
    One compilation through the cache.
cache_folder
    Where the compiled templates are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import marshal
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
from jinja2.utils import internalcode

__all__ = [
    "CachingEnvironment",
    "cache_folder",
    "cached_compile",
    "compiles_cached",
    "template_key",
]

log = logging.getLogger(__name__)

#: a new value makes every entry written before it unused (bump it when the key changes)
_FORMAT = 1


def cache_folder() -> Path:
    """The folder of compiled templates: ``jinja2/`` under :data:`ynps_geo.settings.cache_dir`."""
    from ynps_geo import settings

    return Path(settings.cache_dir).expanduser() / "jinja2"


def _pass_arg(func: Any) -> str:
    """How jinja2 calls a filter or test (what it passes first): part of the generated code."""
    return str(getattr(func, "jinja_pass_arg", None))


def template_key(
    env: jinja2.Environment, source: str, name: str | None, filename: str | None, defer_init: bool
) -> str:
    """The key of a template's compiled code: a digest of everything the code depends on.

    Parameters
    ----------
    env : jinja2.Environment
        The environment compiling: its class, syntax (delimiters, line prefixes, whitespace
        options), autoescaping for this template, ``finalize``, extensions, compiler policies,
        optimiser, async mode and its filters and tests (names and how they are called).
    source : str
        The template's text.
    name, filename : str or None
        As given to :meth:`jinja2.Environment.compile` (they appear in the code).
    defer_init : bool
        As given to :meth:`jinja2.Environment.compile`.

    Returns
    -------
    str
        A hexadecimal SHA-256.
    """
    autoescape = env.autoescape(name) if callable(env.autoescape) else env.autoescape
    parts: list[Any] = [
        _FORMAT,
        jinja2.__version__,
        sys.version,
        sys.implementation.cache_tag,
        sys.flags.optimize,
        f"{type(env).__module__}.{type(env).__qualname__}",
        f"{env.code_generator_class.__module__}.{env.code_generator_class.__qualname__}",
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        env.optimized,
        env.is_async,
        bool(autoescape),
        None if env.finalize is None else (repr(env.finalize), _pass_arg(env.finalize)),
        sorted(env.extensions),
        sorted((k, repr(v)) for k, v in env.policies.items() if k.startswith("compiler.")),
        sorted((k, _pass_arg(v)) for k, v in env.filters.items()),
        sorted((k, _pass_arg(v)) for k, v in env.tests.items()),
        name,
        filename,
        defer_init,
        source,
    ]
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def _read(path: Path) -> CodeType | None:
    try:
        code = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(code, CodeType):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: the cache's size cap removes it last
    return code


def _write(path: Path, code: CodeType) -> None:
    """Store ``code`` at ``path`` atomically (a temporary file renamed); errors are ignored."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(marshal.dumps(code))
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except OSError as err:  # a read-only or full cache folder: compile every time
        log.debug("cannot keep a compiled template in %s: %s", path.parent, err)


@internalcode
def cached_compile(
    env: jinja2.Environment,
    compile_fn: Callable[..., Any],
    source: Any,
    name: str | None = None,
    filename: str | None = None,
    raw: bool = False,
    defer_init: bool = False,
) -> Any:
    """``compile_fn(source, name, filename, raw, defer_init)``, through the cache.

    Only template text compiled to code is cached (``raw`` Python source and parsed
    templates are compiled as usual). The code returned is the one ``compile_fn`` returned
    for the same key, read back from :func:`cache_folder`.
    """
    if raw or not isinstance(source, str):
        return compile_fn(source, name, filename, raw, defer_init)
    key = template_key(env, source, name, filename, defer_init)
    path = cache_folder() / key[:2] / f"{key}.code"
    code = _read(path)
    if code is None:
        code = compile_fn(source, name, filename, raw, defer_init)
        _write(path, code)
    return code


#: jinja2's own compile (taken before :func:`compiles_cached` can stand in for it)
_JINJA_COMPILE: Callable[..., Any] = jinja2.Environment.__dict__["compile"]


def _compile_for(env: jinja2.Environment) -> Callable[..., Any]:
    @internalcode
    def plain(*args: Any) -> Any:
        return _JINJA_COMPILE(env, *args)

    return plain


@internalcode
def _compile_cached(
    self: jinja2.Environment,
    source: Any,
    name: str | None = None,
    filename: str | None = None,
    raw: bool = False,
    defer_init: bool = False,
) -> Any:
    """``jinja2.Environment.compile`` through the cache (:class:`CachingEnvironment`'s, and
    every environment's inside :func:`compiles_cached`)."""
    return cached_compile(self, _compile_for(self), source, name, filename, raw, defer_init)


class CachingEnvironment(jinja2.Environment):
    """A jinja2 environment whose templates are compiled through :func:`cached_compile`."""

    compile = _compile_cached


_PATCH_LOCK = threading.RLock()
#: (id(owner), name) -> [blocks inside, the original value]
_PATCHES: dict[tuple[int, str], list[Any]] = {}


@contextlib.contextmanager
def patched_attribute(owner: Any, name: str, value: Any) -> Iterator[None]:
    """``owner.name`` is ``value`` inside the block and restored after it.

    Blocks may nest and may run in several threads: the first one in sets the value, the last
    one out restores the original (the caller's value must do what the original does, as the
    patches here do: the same code, compiled through the cache; the same page).
    """
    key = (id(owner), name)
    with _PATCH_LOCK:
        entry = _PATCHES.get(key)
        if entry is None:
            entry = _PATCHES[key] = [0, owner.__dict__.get(name, getattr(owner, name))]
            setattr(owner, name, value)
        entry[0] += 1
    try:
        yield
    finally:
        with _PATCH_LOCK:
            entry[0] -= 1
            if entry[0] == 0:
                setattr(owner, name, entry[1])
                del _PATCHES[key]


def compiles_cached() -> contextlib.AbstractContextManager[None]:
    """Inside the block, every :class:`jinja2.Environment` compiles through the cache.

    Meant for importing a library that compiles its templates at import (folium, branca):
    ``jinja2.Environment.compile`` is replaced for the duration of the block and restored
    after it (:func:`patched_attribute`). The code compiled is the same, so other code
    compiling meanwhile is unaffected.
    """
    return patched_attribute(jinja2.Environment, "compile", _compile_cached)
