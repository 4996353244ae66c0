"""The plan's measurable rules as data.

Each rule of ``STANDARDS.md`` is a :class:`PlanStandard` with a stable id. The rules ship as
package data (``model/standards/*.yaml``) and a user's own YAML can add rules or override
fields of shipped ones (for example the threshold of ``school_walk``).

Facility selectors are lists of *groups*; each group is a list of facility category or
subtype names (``health``, ``township_health_centre``...). A circle standard is met when every
group has a facility within the threshold (the time is the largest of the per-group nearest
times); a presence rule is met when every group has at least one facility in the unit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from ynps_geo.errors import ConfigError

Kind = Literal["circle", "presence", "ratio"]
Setting = Literal["urban", "rural"]
Mode = Literal["walk", "drive", "distance"]

KINDS: tuple[str, ...] = ("circle", "presence", "ratio")
MODES: tuple[str, ...] = ("walk", "drive", "distance")
APPLIES: tuple[str, ...] = ("urban", "rural", "all")
UNITS: tuple[str, ...] = ("min", "km")


@dataclass(frozen=True)
class PlanStandard:
    """One measurable rule of the plan.

    Attributes
    ----------
    id : str
        Stable id, e.g. ``"health_15min"``.
    kind : {"circle", "presence", "ratio"}
        Travel-time/distance circle, presence rule or provision ratio.
    title_zh, title_en : str
        Short titles for reports.
    plan_text : str
        The plan's own words.
    chapter : str
        Where the plan says it.
    facilities : tuple of tuple of str
        Facility selector groups (category or subtype names).
    threshold : float or None
        Circle threshold in ``unit`` (inclusive).
    unit : {"min", "km"} or None
        Minutes for time circles, kilometres for distance circles.
    mode : dict
        Travel mode per setting (``{"urban": "walk", "rural": "drive"}``).
    applies_to : {"urban", "rural", "all"}
        Which villages (and people) the rule applies to.
    unit_level : str or None
        Presence/ratio rules: the unit evaluated (county, prefecture, village, province).
    required : tuple of tuple of str
        Presence rules: the groups that must each be present.
    within_m : float or None
        Presence rules at village level: a facility within this distance counts as present.
    numerator : str or None
        Ratio rules: the capacity attribute summed (``beds``...), or ``count``.
    per : float or None
        Ratio rules: per this many residents.
    target : float or None
        Ratio rules: the plan's target value (at least).
    pilot_only : bool
        Presence rules that apply to pilot areas only.
    note : str
        Any assumption made where the plan is silent.
    """

    id: str
    kind: Kind
    title_zh: str = ""
    title_en: str = ""
    plan_text: str = ""
    chapter: str = ""
    facilities: tuple[tuple[str, ...], ...] = ()
    threshold: float | None = None
    unit: str | None = None
    mode: Mapping[str, str] = field(default_factory=dict)
    applies_to: str = "all"
    unit_level: str | None = None
    required: tuple[tuple[str, ...], ...] = ()
    within_m: float | None = None
    numerator: str | None = None
    per: float | None = None
    target: float | None = None
    pilot_only: bool = False
    note: str = ""

    @property
    def value_column(self) -> str:
        """Name of the per-village value column: ``<id>_minutes`` or ``<id>_km``."""
        return f"{self.id}_km" if self.unit == "km" else f"{self.id}_minutes"

    @property
    def covered_column(self) -> str:
        """Name of the per-village covered flag column."""
        return f"{self.id}_covered"

    def applies(self, setting: str) -> bool:
        """Whether the rule applies to a village of this setting."""
        return self.applies_to == "all" or self.applies_to == setting

    def mode_for(self, setting: str) -> str:
        """Travel mode used for a village of this setting."""
        return str(self.mode.get(setting, "walk"))

    @property
    def limit(self) -> float:
        """The threshold as a float, in ``unit`` (circle standards only)."""
        if self.threshold is None:
            msg = f"standard {self.id!r} is a {self.kind} rule and has no threshold"
            raise ConfigError(msg)
        return float(self.threshold)

    @property
    def threshold_seconds(self) -> float:
        """Threshold in seconds (time circles) or metres (distance circles)."""
        if self.threshold is None:
            msg = f"standard {self.id!r} is a {self.kind} rule and has no threshold"
            raise ConfigError(msg)
        return float(self.threshold) * (1000.0 if self.unit == "km" else 60.0)


_FIELDS = {f.name for f in dataclasses.fields(PlanStandard)}


def _groups(value: Any, sid: str, key: str) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return ((value,),)
    out: list[tuple[str, ...]] = []
    for group in value:
        if isinstance(group, str):
            out.append((group,))
        else:
            out.append(tuple(str(g) for g in group))
    if not out:
        msg = f"standard {sid!r}: '{key}' is empty; give at least one facility category"
        raise ConfigError(msg)
    return tuple(out)


def standard_from_dict(data: Mapping[str, Any], *, source: str = "<dict>") -> PlanStandard:
    """Build and validate a :class:`PlanStandard` from a mapping (one YAML entry).

    Raises
    ------
    ConfigError
        On an unknown key, a missing id or kind, or an invalid value; the message names the
        source file and the standard.
    """
    sid = data.get("id")
    if not sid or not isinstance(sid, str):
        msg = f"{source}: a standard without an 'id' ({dict(data)!r}); give each rule an id"
        raise ConfigError(msg)
    unknown = set(data) - _FIELDS
    if unknown:
        msg = (
            f"{source}: standard {sid!r} has unknown key(s) {sorted(unknown)}; "
            f"allowed keys are {sorted(_FIELDS)}"
        )
        raise ConfigError(msg)
    kind = data.get("kind")
    if kind not in KINDS:
        msg = f"{source}: standard {sid!r} has kind {kind!r}; use one of {list(KINDS)}"
        raise ConfigError(msg)
    kwargs = dict(data)
    kwargs["facilities"] = _groups(data.get("facilities"), sid, "facilities")
    kwargs["required"] = _groups(data.get("required"), sid, "required")
    mode = data.get("mode", {"urban": "walk", "rural": "walk"})
    if isinstance(mode, str):
        mode = {"urban": mode, "rural": mode}
    bad_modes = {m for m in mode.values() if m not in MODES}
    if bad_modes:
        msg = f"{source}: standard {sid!r} has mode(s) {sorted(bad_modes)}; use {list(MODES)}"
        raise ConfigError(msg)
    kwargs["mode"] = dict(mode)
    if kind == "circle":
        thr = data.get("threshold")
        if not isinstance(thr, int | float) or isinstance(thr, bool) or thr <= 0:
            msg = f"{source}: circle standard {sid!r} needs a positive 'threshold', got {thr!r}"
            raise ConfigError(msg)
        if data.get("unit") not in UNITS:
            msg = f"{source}: standard {sid!r} has unit {data.get('unit')!r}; use {list(UNITS)}"
            raise ConfigError(msg)
        if not kwargs["facilities"]:
            msg = f"{source}: circle standard {sid!r} needs 'facilities' (category names)"
            raise ConfigError(msg)
    _check_names(kwargs["facilities"] + kwargs["required"], sid, source)
    if data.get("applies_to", "all") not in APPLIES:
        msg = (
            f"{source}: standard {sid!r} applies_to {data.get('applies_to')!r}; use {list(APPLIES)}"
        )
        raise ConfigError(msg)
    return PlanStandard(**kwargs)


def _check_names(groups: tuple[tuple[str, ...], ...], sid: str, source: str) -> None:
    """Every facility name must be a known category or subtype."""
    from ynps_geo.model.facilities import CATEGORIES, SUBTYPES

    known = set(CATEGORIES) | set(SUBTYPES)
    for group in groups:
        for name in group:
            if name not in known:
                import difflib

                close = difflib.get_close_matches(name, sorted(known), n=3)
                hint = f" Did you mean {', '.join(close)}?" if close else ""
                msg = (
                    f"{source}: standard {sid!r} names facility category {name!r}, which is "
                    f"unknown.{hint} Categories: {', '.join(sorted(CATEGORIES))}"
                )
                raise ConfigError(msg)


class StandardSet(Mapping[str, PlanStandard]):
    """An ordered, read-only collection of standards keyed by id."""

    def __init__(self, standards: Iterable[PlanStandard], source: str = "") -> None:
        self._by_id: dict[str, PlanStandard] = {}
        for s in standards:
            self._by_id[s.id] = s
        self.source = source

    def __getitem__(self, key: str) -> PlanStandard:
        try:
            return self._by_id[key]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(key, self._by_id, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            msg = (
                f"unknown standard id {key!r}.{hint} Run 'ynps-geo standards' to list them "
                f"(known: {', '.join(self._by_id)})"
            )
            raise ConfigError(msg) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def of_kind(self, kind: str) -> list[PlanStandard]:
        """Standards of one kind, in order."""
        return [s for s in self._by_id.values() if s.kind == kind]

    def select(self, ids: Sequence[str] | None) -> StandardSet:
        """The standards named in ``ids`` (all when None); unknown ids raise ConfigError."""
        if ids is None:
            return self
        return StandardSet([self[i] for i in ids], self.source)

    def merged(self, data: Iterable[Mapping[str, Any]], *, source: str) -> StandardSet:
        """A new set where entries of ``data`` add rules or override fields of known ones."""
        by_id = dict(self._by_id)
        for entry in data:
            sid = entry.get("id")
            if sid in by_id:
                base = {
                    k: v
                    for k, v in dataclasses.asdict(by_id[sid]).items()
                    if v not in (None, (), "")
                }
                base.update(entry)
                by_id[sid] = standard_from_dict(base, source=source)
            else:
                by_id[str(sid)] = standard_from_dict(entry, source=source)
        return StandardSet(by_id.values(), source)


def _load_yaml(text: str, source: str) -> list[Mapping[str, Any]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        msg = f"{source}: not valid YAML ({err}); fix the syntax at the line shown"
        raise ConfigError(msg) from err
    if isinstance(data, Mapping):
        data = data.get("standards", [])
    if not isinstance(data, list):
        msg = f"{source}: expected a list of standards (or a mapping with 'standards:')"
        raise ConfigError(msg)
    return data


@lru_cache(maxsize=1)
def _shipped() -> tuple[PlanStandard, ...]:
    """The standards shipped as package data, parsed once per process (they are frozen)."""
    pkg = resources.files("ynps_geo.model") / "standards"
    entries: list[PlanStandard] = []
    for item in sorted(pkg.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".yaml"):
            for d in _load_yaml(item.read_text(encoding="utf-8"), item.name):
                entries.append(standard_from_dict(d, source=item.name))
    return tuple(entries)


def load_standards(extra: str | Path | Iterable[Mapping[str, Any]] | None = None) -> StandardSet:
    """Load the shipped standards, optionally extended or overridden by ``extra``.

    Parameters
    ----------
    extra : path, list of mappings or None
        A user YAML file (a list of standards, or a mapping with a ``standards`` list) or
        already-parsed entries. Entries with a known id override fields of that rule.

    Returns
    -------
    StandardSet
    """
    base = StandardSet(_shipped(), "package")
    if extra is None:
        return base
    if isinstance(extra, str | Path):
        path = Path(extra)
        if not path.exists():
            msg = f"standards file {path} not found; check the path in your config"
            raise ConfigError(msg)
        return base.merged(
            _load_yaml(path.read_text(encoding="utf-8"), str(path)), source=str(path)
        )
    return base.merged(list(extra), source="config")
