"""Facility categories of the plan and how to recognise them (no I/O).

Every facility has a **category** (the coarse class the plan's standards count, e.g. ``health``)
and a **subtype** (the fine class, e.g. ``township_health_centre``). Standards may select either.
A layer declared with a bare category (``category: health``) gets ``subtype == category``.

Recognisers:

- :func:`classify_type` for type names in registers: English category/subtype names
  (case-insensitive; spaces and hyphens allowed) and Chinese type names (卫生院, 村卫生室,
  养老院, 幼儿园, 文化站...), matched by substring rules ordered from the most specific to the
  least (社区卫生服务中心 before 卫生院; 中心卫生院 is a township health centre);
- :func:`classify_osm` for OpenStreetMap tags (``amenity``, ``leisure``, ``healthcare``,
  ``social_facility``, ``tourism``, ``office``) and Geofabrik ``fclass`` values.

Both return ``None`` for things that are not plan facilities (pharmacy, police, university...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS_ZH",
    "SUBTYPES",
    "SUBTYPE_LABELS_ZH",
    "FacilityClass",
    "classify_osm",
    "classify_type",
    "facility_class",
]

#: Base categories. The first seven are the contract's; the rest serve presence rules.
CATEGORIES: tuple[str, ...] = (
    "health",
    "school",
    "kindergarten",
    "childcare",
    "eldercare",
    "culture",
    "fitness",
    "vocational_school",
    "care_institution",
    "hospice",
    "government",
    "other_public",
)

CATEGORY_LABELS_ZH: dict[str, str] = {
    "health": "医疗卫生",
    "school": "中小学",
    "kindergarten": "幼儿园",
    "childcare": "托育",
    "eldercare": "养老服务",
    "culture": "公共文化",
    "fitness": "全民健身",
    "vocational_school": "中等职业学校",
    "care_institution": "照护服务机构",
    "hospice": "安宁疗护",
    "government": "政府机关",
    "other_public": "其他公共服务",
}

#: Fine subtype -> base category.
SUBTYPES: dict[str, str] = {
    # health
    "hospital": "health",
    "township_health_centre": "health",
    "community_health_centre": "health",
    "village_clinic": "health",
    "clinic": "health",
    # school (compulsory education and general secondary)
    "primary_school": "school",
    "junior_middle_school": "school",
    "middle_school": "school",
    "nine_year_school": "school",
    "senior_high_school": "school",
    "vocational_school": "vocational_school",
    "kindergarten": "kindergarten",
    # childcare
    "childcare_centre": "childcare",
    "infant_care_training_base": "childcare",
    # eldercare
    "elder_care_institution": "eldercare",
    "community_eldercare_centre": "eldercare",
    "day_care_centre": "eldercare",
    "long_term_care_institution": "care_institution",
    "hospice_ward": "hospice",
    # culture
    "library": "culture",
    "culture_hall": "culture",
    "culture_station": "culture",
    "village_culture_centre": "culture",
    "community_culture_room": "culture",
    "museum": "culture",
    "intangible_heritage_hall": "culture",
    "art_gallery": "culture",
    "theatre": "culture",
    # fitness
    "sports_ground": "fitness",
    "fitness_site": "fitness",
    "fitness_trail": "fitness",
    "sports_centre": "fitness",
    "sports_park": "fitness",
    "pitch": "fitness",
    "football_pitch": "fitness",
    "swimming_pool": "fitness",
    # government and other
    "town_hall": "government",
    "village_committee": "government",
    "public_service_centre": "other_public",
    "children_welfare_home": "other_public",
}

SUBTYPE_LABELS_ZH: dict[str, str] = {
    "hospital": "医院",
    "township_health_centre": "乡镇卫生院",
    "community_health_centre": "社区卫生服务中心(站)",
    "village_clinic": "村卫生室",
    "clinic": "诊所/门诊部",
    "primary_school": "小学",
    "junior_middle_school": "初级中学",
    "middle_school": "中学",
    "nine_year_school": "九年一贯制学校",
    "senior_high_school": "高级中学",
    "vocational_school": "中等职业学校",
    "kindergarten": "幼儿园",
    "childcare_centre": "托育机构",
    "infant_care_training_base": "婴幼儿照护实训基地",
    "elder_care_institution": "养老机构",
    "community_eldercare_centre": "社区养老服务中心(站)",
    "day_care_centre": "日间照料中心",
    "long_term_care_institution": "照护服务机构",
    "hospice_ward": "安宁疗护病区",
    "library": "图书馆",
    "culture_hall": "文化馆",
    "culture_station": "乡镇综合文化站",
    "village_culture_centre": "村(社区)综合文化服务中心",
    "community_culture_room": "文化活动室",
    "museum": "博物馆",
    "intangible_heritage_hall": "非遗馆",
    "art_gallery": "美术馆",
    "theatre": "剧院",
    "sports_ground": "体育场",
    "fitness_site": "健身场地",
    "fitness_trail": "健身步道",
    "sports_centre": "体育馆/全民健身中心",
    "sports_park": "体育公园",
    "pitch": "球场",
    "football_pitch": "足球场",
    "swimming_pool": "游泳池(馆)",
    "town_hall": "乡镇政府/街道办事处",
    "village_committee": "村(居)委会",
    "public_service_centre": "便民(党群)服务中心",
    "children_welfare_home": "儿童福利院",
}
SUBTYPE_LABELS_ZH.update({c: CATEGORY_LABELS_ZH[c] for c in CATEGORIES})


@dataclass(frozen=True)
class FacilityClass:
    """A facility's base category and fine subtype.

    Attributes
    ----------
    category : str
        One of :data:`CATEGORIES`.
    subtype : str
        One of :data:`SUBTYPES`, or equal to ``category`` when only the category is known.
    """

    category: str
    subtype: str


def facility_class(name: str) -> FacilityClass:
    """The :class:`FacilityClass` of a canonical subtype or category name.

    Parameters
    ----------
    name : str
        A key of :data:`SUBTYPES` or a member of :data:`CATEGORIES`.

    Returns
    -------
    FacilityClass

    Raises
    ------
    KeyError
        If ``name`` is neither.
    """
    if name in SUBTYPES:
        return FacilityClass(SUBTYPES[name], name)
    if name in CATEGORIES:
        return FacilityClass(name, name)
    raise KeyError(name)


# Chinese substring rules, first match wins: most specific first. ``None`` marks names that are
# recognised as *not* plan facilities (so that e.g. 职业技术学院 is not read as a school).
_ZH_RULES: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (("安宁疗护",), "hospice_ward"),
    (("婴幼儿照护实训", "照护实训基地", "托育指导中心", "托育实训"), "infant_care_training_base"),
    (("婴幼儿照护", "托育", "托儿所", "托育中心"), "childcare_centre"),
    (("照护服务机构", "长期照护", "失能照护", "护理院"), "long_term_care_institution"),
    (("幼儿园", "学前教育"), "kindergarten"),
    (("社区卫生服务中心", "社区卫生服务站", "社区卫生服务"), "community_health_centre"),
    (("中心卫生院", "乡镇卫生院", "卫生院"), "township_health_centre"),
    (("村卫生室", "卫生室", "卫生服务室", "卫生服务站"), "village_clinic"),
    (("医院", "保健院", "保健站"), "hospital"),
    (("门诊部", "诊所", "医务室", "卫生所"), "clinic"),
    (("日间照料",), "day_care_centre"),
    (
        ("养老服务中心", "养老服务站", "居家养老", "社区养老", "幸福院"),
        "community_eldercare_centre",
    ),
    (("儿童福利",), "children_welfare_home"),
    (
        ("养老院", "敬老院", "福利院", "养老机构", "老年公寓", "光荣院", "供养中心", "颐养"),
        "elder_care_institution",
    ),
    (("养老",), "elder_care_institution"),
    (
        (
            "职业学校",
            "职业高中",
            "职业中学",
            "职业高级中学",
            "职业技术学校",
            "中职",
            "中等职业",
            "技工学校",
            "职教中心",
            "职业教育中心",
            "卫生学校",
        ),
        "vocational_school",
    ),
    (("九年一贯制", "九年制"), "nine_year_school"),
    (("十二年一贯制", "完全中学"), "middle_school"),
    (("初级中学", "初中"), "junior_middle_school"),
    (("高级中学", "高中"), "senior_high_school"),
    # 完小 (完全小学) is how Yunnan registers name most village primary schools ("XX中心完小")
    (("小学", "教学点", "完小"), "primary_school"),
    (("中学",), "middle_school"),
    (("大学", "学院", "高等专科", "党校"), None),
    (("综合文化服务中心", "文化服务中心"), "village_culture_centre"),
    (("文化站",), "culture_station"),
    (("文化活动室", "文化室", "农家书屋", "文化活动中心", "文化大院"), "community_culture_room"),
    (("非遗", "非物质文化遗产", "传习馆", "传习所"), "intangible_heritage_hall"),
    (("图书馆", "书屋", "阅览室"), "library"),
    (("文化馆", "群众艺术馆", "群艺馆"), "culture_hall"),
    (("博物馆", "纪念馆", "陈列馆", "展览馆"), "museum"),
    (("美术馆", "画院"), "art_gallery"),
    (("剧院", "剧场", "影剧院", "演艺中心"), "theatre"),
    (("全民健身中心", "体育中心", "健身中心"), "sports_centre"),
    (("体育公园",), "sports_park"),
    (("健身步道", "登山步道", "绿道"), "fitness_trail"),
    (("足球场",), "football_pitch"),
    (("游泳馆", "游泳池"), "swimming_pool"),
    (("体育馆",), "sports_centre"),
    (("体育场", "运动场", "田径场"), "sports_ground"),
    (("篮球场", "排球场", "门球场", "球场"), "pitch"),
    (("健身广场", "健身路径", "健身点", "健身场地", "健身器材", "健身"), "fitness_site"),
    (("便民服务中心", "党群服务中心", "政务服务中心"), "public_service_centre"),
    (("村委会", "村民委员会", "居委会", "居民委员会"), "village_committee"),
    (("人民政府", "乡政府", "镇政府", "街道办事处", "政府"), "town_hall"),
    (("学校",), "school"),
)

# English aliases beyond the canonical names (after normalisation).
_EN_ALIASES: dict[str, str | None] = {
    "township_health_center": "township_health_centre",
    "health_centre": "township_health_centre",
    "health_center": "township_health_centre",
    "community_health_center": "community_health_centre",
    "doctors": "clinic",
    "doctor": "clinic",
    "junior_high_school": "junior_middle_school",
    "junior_school": "junior_middle_school",
    "secondary_school": "middle_school",
    "high_school": "senior_high_school",
    "vocational": "vocational_school",
    "childcare_center": "childcare_centre",
    "nursery": "childcare_centre",
    "nursing_home": "elder_care_institution",
    "elderly_care": "eldercare",
    "elder_care": "eldercare",
    "day_care_center": "day_care_centre",
    "community_eldercare_center": "community_eldercare_centre",
    "culture_center": "village_culture_centre",
    "community_centre": "community_culture_room",
    "community_center": "community_culture_room",
    "arts_centre": "culture_hall",
    "arts_center": "culture_hall",
    "theater": "theatre",
    "gallery": "art_gallery",
    "stadium": "sports_ground",
    "sports_center": "sports_centre",
    "sports_hall": "sports_centre",
    "fitness_centre": "sports_centre",
    "fitness_center": "sports_centre",
    "fitness_station": "fitness_site",
    "football_field": "football_pitch",
    "soccer_pitch": "football_pitch",
    "townhall": "town_hall",
    "hospice": "hospice_ward",
    "care_institution": "long_term_care_institution",
}


def _normalise_en(value: str) -> str:
    text = value.strip().lower()
    text = re.sub(r"[\s\-/]+", "_", text)
    return text.strip("_")


@lru_cache(maxsize=4096)
def classify_type(value: str) -> FacilityClass | None:
    """Classify a facility type name.

    Parameters
    ----------
    value : str
        A category or subtype name in English (``"health"``, ``"Township health centre"``,
        ``"village-clinic"``), an OSM-like value (``"hospital"``, ``"doctors"``) or a Chinese
        type or facility name (``"中心卫生院"``, ``"村卫生室"``, ``"敬老院"``, ``"XX镇中心小学"``).

    Returns
    -------
    FacilityClass or None
        ``None`` when the value is empty or not a plan facility type.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    key = _normalise_en(text)
    if key in SUBTYPES or key in CATEGORIES:
        return facility_class(key)
    if key in _EN_ALIASES:
        alias = _EN_ALIASES[key]
        return None if alias is None else facility_class(alias)
    if key in _FCLASS:
        alias = _FCLASS[key]
        return None if alias is None else facility_class(alias)
    for patterns, subtype in _ZH_RULES:
        if any(p in text for p in patterns):
            return None if subtype is None else facility_class(subtype)
    return None


# Geofabrik "free" shapefile fclass values. None: known, but not a plan facility.
_FCLASS: dict[str, str | None] = {
    "hospital": "hospital",
    "clinic": "clinic",
    "doctors": "clinic",
    "school": "school",
    "kindergarten": "kindergarten",
    "library": "library",
    "community_centre": "community_culture_room",
    "arts_centre": "culture_hall",
    "theatre": "theatre",
    "museum": "museum",
    "sports_centre": "sports_centre",
    "pitch": "pitch",
    "stadium": "sports_ground",
    "swimming_pool": "swimming_pool",
    "track": "sports_ground",
    "nursing_home": "elder_care_institution",
    "town_hall": "town_hall",
    "pharmacy": None,
    "police": None,
    "post_office": None,
    "post_box": None,
    "fire_station": None,
    "courthouse": None,
    "prison": None,
    "college": None,
    "university": None,
    "dentist": None,
    "veterinary": None,
    "bank": None,
    "atm": None,
    "embassy": None,
}

_AMENITY: dict[str, str | None] = {
    "hospital": "hospital",
    "clinic": "clinic",
    "doctors": "clinic",
    "school": "school",
    "kindergarten": "kindergarten",
    "childcare": "childcare_centre",
    "library": "library",
    "community_centre": "community_culture_room",
    "arts_centre": "culture_hall",
    "theatre": "theatre",
    "townhall": "town_hall",
    "nursing_home": "elder_care_institution",
}

_LEISURE: dict[str, str] = {
    "sports_centre": "sports_centre",
    "sports_hall": "sports_centre",
    "fitness_centre": "sports_centre",
    "pitch": "pitch",
    "fitness_station": "fitness_site",
    "stadium": "sports_ground",
    "track": "sports_ground",
    "swimming_pool": "swimming_pool",
}

_HEALTHCARE_NOT: frozenset[str] = frozenset(
    {
        "pharmacy",
        "optometrist",
        "laboratory",
        "dentist",
        "alternative",
        "sample_collection",
        "blood_donation",
        "audiologist",
        "podiatrist",
        "psychotherapist",
        "no",
        "yes",
    }
)
_HEALTHCARE: dict[str, str] = {
    "hospital": "hospital",
    "clinic": "clinic",
    "doctor": "clinic",
    "centre": "clinic",
    "hospice": "hospice_ward",
}

_SENIOR = frozenset({"senior", "elderly", "aged", "seniors"})

# OSM category -> name-derived categories that may refine it (e.g. amenity=school named
# "XX职业中学" is a vocational school; amenity=hospital named "XX卫生院" a township health centre).
_REFINE: dict[str, frozenset[str]] = {
    "health": frozenset({"health"}),
    "school": frozenset({"school", "vocational_school", "kindergarten"}),
    "kindergarten": frozenset({"kindergarten", "childcare"}),
    "culture": frozenset({"culture"}),
    "fitness": frozenset({"fitness"}),
    "eldercare": frozenset({"eldercare", "care_institution", "hospice"}),
    "childcare": frozenset({"childcare"}),
    "government": frozenset({"government"}),
}


def _osm_base(tags: Mapping[str, str]) -> FacilityClass | None:
    def get(key: str) -> str:
        value = tags.get(key)
        return value.strip().lower() if isinstance(value, str) else ""

    social = get("social_facility")
    social_for = get("social_facility:for")
    if social == "hospice" or get("healthcare") == "hospice" or get("amenity") == "hospice":
        return facility_class("hospice_ward")
    if social in ("nursing_home", "assisted_living", "group_home", "day_care"):
        if social_for in _SENIOR or (
            not social_for and social in ("nursing_home", "assisted_living")
        ):
            sub = "day_care_centre" if social == "day_care" else "elder_care_institution"
            return facility_class(sub)
        if social_for in ("child", "children", "juvenile") and social == "day_care":
            return facility_class("childcare_centre")
    amenity = get("amenity")
    if amenity in _AMENITY:
        amenity_sub = _AMENITY[amenity]
        return None if amenity_sub is None else facility_class(amenity_sub)
    leisure = get("leisure")
    if leisure in _LEISURE:
        sub = _LEISURE[leisure]
        if sub == "pitch" and get("sport") in ("soccer", "football"):
            sub = "football_pitch"
        return facility_class(sub)
    healthcare = get("healthcare")
    if healthcare and healthcare not in _HEALTHCARE_NOT:
        return facility_class(_HEALTHCARE.get(healthcare, "clinic"))
    tourism = get("tourism")
    if tourism == "museum":
        return facility_class("museum")
    if tourism == "gallery":
        return facility_class("art_gallery")
    if get("office") == "government" and get("government") in ("", "administrative"):
        return facility_class("town_hall")
    fclass = get("fclass")
    if fclass in _FCLASS:
        fclass_sub = _FCLASS[fclass]
        return None if fclass_sub is None else facility_class(fclass_sub)
    return None


def classify_osm(tags: Mapping[str, str]) -> FacilityClass | None:
    """Classify an OpenStreetMap object from its tags or a Geofabrik ``fclass``.

    Parameters
    ----------
    tags : Mapping[str, str]
        OSM tags such as ``{"amenity": "hospital"}``, ``{"leisure": "pitch", "sport":
        "soccer"}``, ``{"amenity": "social_facility", "social_facility": "nursing_home",
        "social_facility:for": "senior"}``, or Geofabrik's ``{"fclass": "school"}``. A
        ``name`` tag, when it names a finer type of the same category (e.g. 卫生院 for a
        hospital, 小学 for a school), refines the subtype.

    Returns
    -------
    FacilityClass or None
        ``None`` for objects that are not plan facilities (pharmacy, police, post office,
        university...) and for unknown tags.
    """
    base = _osm_base(tags)
    if base is None:
        return None
    name = tags.get("name")
    if isinstance(name, str) and name.strip():
        by_name = classify_type(name)
        if (
            by_name is not None
            and by_name.subtype in SUBTYPES
            and by_name.category in _REFINE.get(base.category, frozenset())
        ):
            return by_name
    return base
