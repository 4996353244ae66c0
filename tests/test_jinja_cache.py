"""Compiled jinja2 templates kept on disk (``ynps_geo.report.jinja_cache``)."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest

from ynps_geo import settings
from ynps_geo.report import jinja_cache
from ynps_geo.report.jinja_cache import CachingEnvironment, compiles_cached, template_key

SOURCE = "{% for x in items %}<b>{{ x | upper }}</b>{% endfor %}{{ note }}"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(settings, "cache_dir", tmp_path)
    return tmp_path / "jinja2"


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.code")) if folder.is_dir() else []


def test_a_template_compiled_once_renders_the_same_from_the_cache(cache: Path) -> None:
    env = CachingEnvironment(autoescape=True)
    first = env.from_string(SOURCE).render(items=["a", "<b>"], note="&")
    assert len(_entries(cache)) == 1
    fresh = CachingEnvironment(autoescape=True)  # another process: nothing in memory
    assert fresh.from_string(SOURCE).render(items=["a", "<b>"], note="&") == first
    assert first == jinja2.Environment(autoescape=True).from_string(SOURCE).render(
        items=["a", "<b>"], note="&"
    )
    assert first == "<b>A</b><b>&lt;B&gt;</b>&amp;"
    assert len(_entries(cache)) == 1  # read back, not written again
    # a read marks the entry as used, so the cache's size cap removes it last
    (entry,) = _entries(cache)
    os.utime(entry, (1_000, 1_000))
    CachingEnvironment(autoescape=True).from_string(SOURCE)
    assert entry.stat().st_mtime > 1_000_000


def test_the_cached_code_is_the_compiled_code(cache: Path) -> None:
    env = CachingEnvironment()
    code = env.compile(SOURCE, name="t.html")
    again = CachingEnvironment().compile(SOURCE, name="t.html")
    plain = jinja2.Environment().compile(SOURCE, name="t.html")
    assert again.co_code == code.co_code == plain.co_code
    assert again.co_consts == plain.co_consts


def test_the_key_changes_with_source_options_and_filters(cache: Path) -> None:
    base = jinja2.Environment()
    key = template_key(base, SOURCE, None, None, False)
    assert template_key(jinja2.Environment(), SOURCE, None, None, False) == key
    assert template_key(base, SOURCE + " ", None, None, False) != key
    assert template_key(base, SOURCE, "a.html", None, False) != key
    assert template_key(jinja2.Environment(autoescape=True), SOURCE, None, None, False) != key
    assert template_key(jinja2.Environment(trim_blocks=True), SOURCE, None, None, False) != key
    odd = jinja2.Environment(variable_start_string="[[", variable_end_string="]]")
    assert template_key(odd, SOURCE, None, None, False) != key
    extra = jinja2.Environment()
    extra.filters["shout"] = str.upper
    assert template_key(extra, SOURCE, None, None, False) != key


def test_autoescape_by_name_is_part_of_the_key(cache: Path) -> None:
    loader_env = CachingEnvironment(
        loader=jinja2.DictLoader({"a.html": "{{ x }}", "a.txt": "{{ x }}"}),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    assert loader_env.get_template("a.html").render(x="<i>") == "&lt;i&gt;"
    assert loader_env.get_template("a.txt").render(x="<i>") == "<i>"
    assert len(_entries(cache)) == 2  # same source, two names: two entries


def test_an_unreadable_entry_is_compiled_again(cache: Path) -> None:
    CachingEnvironment().from_string(SOURCE)
    (entry,) = _entries(cache)
    entry.write_bytes(b"not marshal data")
    out = CachingEnvironment().from_string(SOURCE).render(items=["x"], note="!")
    assert out == "<b>X</b>!"
    assert entry.read_bytes() != b"not marshal data"  # rewritten


def test_a_cache_folder_that_cannot_be_written_only_costs_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setattr(settings, "cache_dir", blocker)
    assert CachingEnvironment().from_string(SOURCE).render(items=["y"], note="") == "<b>Y</b>"


def test_syntax_errors_are_reported_as_usual(cache: Path) -> None:
    with pytest.raises(jinja2.TemplateSyntaxError):
        CachingEnvironment().from_string("{% for x in %}")
    assert _entries(cache) == []


def test_compiles_cached_covers_every_environment_and_is_undone(cache: Path) -> None:
    original = jinja2.Environment.compile
    with compiles_cached():
        assert jinja2.Environment.compile is not original
        with compiles_cached():  # nested: still in place
            jinja2.Template("{{ 1 + 1 }}")
        assert jinja2.Environment.compile is not original
        assert jinja2.Template("{{ 2 + 2 }}").render() == "4"
    assert jinja2.Environment.compile is original
    assert len(_entries(cache)) == 2
    # outside the block nothing is cached
    jinja2.Template("{{ 3 + 3 }}")
    assert len(_entries(cache)) == 2


def test_raw_compiles_are_not_cached(cache: Path) -> None:
    src = CachingEnvironment().compile(SOURCE, raw=True)
    assert isinstance(src, str)
    assert "def root" in src
    assert _entries(cache) == []


def test_the_cache_lives_in_the_package_cache_folder(cache: Path) -> None:
    assert jinja_cache.cache_folder() == cache
