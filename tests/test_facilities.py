"""Tests for ynps_geo.model.facilities: categories and type recognisers."""

from __future__ import annotations

import pytest

from ynps_geo.model.facilities import (
    CATEGORIES,
    CATEGORY_LABELS_ZH,
    SUBTYPE_LABELS_ZH,
    SUBTYPES,
    FacilityClass,
    classify_osm,
    classify_type,
    facility_class,
)

ZH_CASES = [
    ("卫生院", "township_health_centre", "health"),
    ("乡镇卫生院", "township_health_centre", "health"),
    ("中心卫生院", "township_health_centre", "health"),
    ("勐海县勐遮镇中心卫生院", "township_health_centre", "health"),
    ("卫生室", "village_clinic", "health"),
    ("村卫生室", "village_clinic", "health"),
    ("社区卫生服务中心", "community_health_centre", "health"),
    ("社区卫生服务站", "community_health_centre", "health"),
    ("医院", "hospital", "health"),
    ("人民医院", "hospital", "health"),
    ("中医院", "hospital", "health"),
    ("妇幼保健院", "hospital", "health"),
    ("诊所", "clinic", "health"),
    ("门诊部", "clinic", "health"),
    ("养老院", "elder_care_institution", "eldercare"),
    ("敬老院", "elder_care_institution", "eldercare"),
    ("福利院", "elder_care_institution", "eldercare"),
    ("社会福利院", "elder_care_institution", "eldercare"),
    ("养老服务中心", "community_eldercare_centre", "eldercare"),
    ("社区居家养老服务站", "community_eldercare_centre", "eldercare"),
    ("日间照料中心", "day_care_centre", "eldercare"),
    ("幼儿园", "kindergarten", "kindergarten"),
    ("托育", "childcare_centre", "childcare"),
    ("区域综合托育中心", "childcare_centre", "childcare"),
    ("托儿所", "childcare_centre", "childcare"),
    ("婴幼儿照护实训基地", "infant_care_training_base", "childcare"),
    ("小学", "primary_school", "school"),
    ("某镇中心小学", "primary_school", "school"),
    ("勐遮镇中心完小", "primary_school", "school"),
    ("曼短村卫生服务站", "village_clinic", "health"),
    ("XX小学附属幼儿园", "kindergarten", "kindergarten"),
    ("州卫生学校", "vocational_school", "vocational_school"),
    ("初中", "junior_middle_school", "school"),
    ("初级中学", "junior_middle_school", "school"),
    ("中学", "middle_school", "school"),
    ("第一中学", "middle_school", "school"),
    ("完全中学", "middle_school", "school"),
    ("九年一贯制学校", "nine_year_school", "school"),
    ("高级中学", "senior_high_school", "school"),
    ("职业学校", "vocational_school", "vocational_school"),
    ("中职", "vocational_school", "vocational_school"),
    ("职业高中", "vocational_school", "vocational_school"),
    ("技工学校", "vocational_school", "vocational_school"),
    ("县职业高级中学", "vocational_school", "vocational_school"),
    ("文化站", "culture_station", "culture"),
    ("乡镇综合文化站", "culture_station", "culture"),
    ("综合文化服务中心", "village_culture_centre", "culture"),
    ("村综合文化服务中心", "village_culture_centre", "culture"),
    ("文化活动室", "community_culture_room", "culture"),
    ("图书馆", "library", "culture"),
    ("文化馆", "culture_hall", "culture"),
    ("博物馆", "museum", "culture"),
    ("非遗馆", "intangible_heritage_hall", "culture"),
    ("非物质文化遗产展示馆", "intangible_heritage_hall", "culture"),
    ("非物质文化遗产博物馆", "intangible_heritage_hall", "culture"),
    ("美术馆", "art_gallery", "culture"),
    ("剧院", "theatre", "culture"),
    ("剧场", "theatre", "culture"),
    ("大剧院", "theatre", "culture"),
    ("体育场", "sports_ground", "fitness"),
    ("体育馆", "sports_centre", "fitness"),
    ("健身广场", "fitness_site", "fitness"),
    ("健身步道", "fitness_trail", "fitness"),
    ("全民健身中心", "sports_centre", "fitness"),
    ("体育公园", "sports_park", "fitness"),
    ("足球场", "football_pitch", "fitness"),
    ("游泳馆", "swimming_pool", "fitness"),
    ("安宁疗护", "hospice_ward", "hospice"),
    ("安宁疗护病区", "hospice_ward", "hospice"),
    ("照护服务机构", "long_term_care_institution", "care_institution"),
    ("人民政府", "town_hall", "government"),
    ("街道办事处", "town_hall", "government"),
    ("便民服务中心", "public_service_centre", "other_public"),
]


@pytest.mark.parametrize(("value", "subtype", "category"), ZH_CASES)
def test_classify_chinese(value: str, subtype: str, category: str) -> None:
    assert classify_type(value) == FacilityClass(category, subtype)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("health", FacilityClass("health", "health")),
        ("HEALTH", FacilityClass("health", "health")),
        ("Eldercare", FacilityClass("eldercare", "eldercare")),
        ("village_clinic", FacilityClass("health", "village_clinic")),
        ("Village clinic", FacilityClass("health", "village_clinic")),
        ("township-health-centre", FacilityClass("health", "township_health_centre")),
        ("Township Health Center", FacilityClass("health", "township_health_centre")),
        ("culture station", FacilityClass("culture", "culture_station")),
        ("doctors", FacilityClass("health", "clinic")),
        ("hospital", FacilityClass("health", "hospital")),
        ("nursing_home", FacilityClass("eldercare", "elder_care_institution")),
        ("  primary school ", FacilityClass("school", "primary_school")),
    ],
)
def test_classify_english(value: str, expected: FacilityClass) -> None:
    assert classify_type(value) == expected


@pytest.mark.parametrize(
    "value", ["", "   ", "pharmacy", "police", "药店", "云南大学", "某职业技术学院", "餐厅", "xyz"]
)
def test_classify_not_facilities(value: str) -> None:
    assert classify_type(value) is None


def test_classify_non_string() -> None:
    assert classify_type(None) is None  # type: ignore[arg-type]
    assert classify_type(3) is None  # type: ignore[arg-type]


def test_every_subtype_and_category_self_classifies() -> None:
    for sub, cat in SUBTYPES.items():
        assert cat in CATEGORIES
        assert classify_type(sub) == FacilityClass(cat, sub)
        assert sub in SUBTYPE_LABELS_ZH
    for cat in CATEGORIES:
        assert classify_type(cat) == FacilityClass(cat, cat)
        assert cat in CATEGORY_LABELS_ZH
    assert CATEGORY_LABELS_ZH["health"] == "医疗卫生"
    assert CATEGORY_LABELS_ZH["school"] == "中小学"
    with pytest.raises(KeyError):
        facility_class("nope")


def test_contract_categories_present() -> None:
    for cat in ("health", "school", "kindergarten", "childcare", "eldercare", "culture", "fitness"):
        assert cat in CATEGORIES


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"amenity": "hospital"}, ("health", "hospital")),
        ({"amenity": "clinic"}, ("health", "clinic")),
        ({"amenity": "doctors"}, ("health", "clinic")),
        ({"amenity": "school"}, ("school", "school")),
        ({"amenity": "school", "name": "某某小学"}, ("school", "primary_school")),
        ({"amenity": "school", "name": "县职业中学"}, ("vocational_school", "vocational_school")),
        ({"amenity": "hospital", "name": "某某镇卫生院"}, ("health", "township_health_centre")),
        ({"amenity": "hospital", "name": "某某小学"}, ("health", "hospital")),
        ({"amenity": "kindergarten"}, ("kindergarten", "kindergarten")),
        ({"amenity": "childcare"}, ("childcare", "childcare_centre")),
        ({"amenity": "library"}, ("culture", "library")),
        ({"amenity": "community_centre"}, ("culture", "community_culture_room")),
        ({"amenity": "arts_centre"}, ("culture", "culture_hall")),
        ({"amenity": "theatre"}, ("culture", "theatre")),
        ({"amenity": "townhall"}, ("government", "town_hall")),
        (
            {
                "amenity": "social_facility",
                "social_facility": "nursing_home",
                "social_facility:for": "senior",
            },
            ("eldercare", "elder_care_institution"),
        ),
        (
            {
                "amenity": "social_facility",
                "social_facility": "assisted_living",
                "social_facility:for": "senior",
            },
            ("eldercare", "elder_care_institution"),
        ),
        (
            {
                "amenity": "social_facility",
                "social_facility": "group_home",
                "social_facility:for": "senior",
            },
            ("eldercare", "elder_care_institution"),
        ),
        ({"leisure": "sports_centre"}, ("fitness", "sports_centre")),
        ({"leisure": "pitch"}, ("fitness", "pitch")),
        ({"leisure": "pitch", "sport": "soccer"}, ("fitness", "football_pitch")),
        ({"leisure": "fitness_station"}, ("fitness", "fitness_site")),
        ({"leisure": "stadium"}, ("fitness", "sports_ground")),
        ({"leisure": "sports_hall"}, ("fitness", "sports_centre")),
        ({"leisure": "track"}, ("fitness", "sports_ground")),
        ({"leisure": "fitness_centre"}, ("fitness", "sports_centre")),
        ({"tourism": "museum"}, ("culture", "museum")),
        ({"healthcare": "hospital"}, ("health", "hospital")),
        ({"healthcare": "centre"}, ("health", "clinic")),
        ({"healthcare": "hospice"}, ("hospice", "hospice_ward")),
        ({"fclass": "hospital"}, ("health", "hospital")),
        ({"fclass": "clinic"}, ("health", "clinic")),
        ({"fclass": "doctors"}, ("health", "clinic")),
        ({"fclass": "school"}, ("school", "school")),
        ({"fclass": "kindergarten"}, ("kindergarten", "kindergarten")),
        ({"fclass": "library"}, ("culture", "library")),
        ({"fclass": "community_centre"}, ("culture", "community_culture_room")),
        ({"fclass": "arts_centre"}, ("culture", "culture_hall")),
        ({"fclass": "theatre"}, ("culture", "theatre")),
        ({"fclass": "museum"}, ("culture", "museum")),
        ({"fclass": "sports_centre"}, ("fitness", "sports_centre")),
        ({"fclass": "pitch"}, ("fitness", "pitch")),
        ({"fclass": "stadium"}, ("fitness", "sports_ground")),
        ({"fclass": "swimming_pool"}, ("fitness", "swimming_pool")),
        ({"fclass": "nursing_home"}, ("eldercare", "elder_care_institution")),
        ({"fclass": "town_hall"}, ("government", "town_hall")),
    ],
)
def test_classify_osm(tags: dict[str, str], expected: tuple[str, str]) -> None:
    assert classify_osm(tags) == FacilityClass(*expected)


@pytest.mark.parametrize(
    "tags",
    [
        {"fclass": "pharmacy"},
        {"fclass": "police"},
        {"fclass": "post_office"},
        {"fclass": "university"},
        {"fclass": "college"},
        {"fclass": "dentist"},
        {"amenity": "pharmacy"},
        {"amenity": "restaurant"},
        {"healthcare": "pharmacy"},
        {
            "amenity": "social_facility",
            "social_facility": "group_home",
            "social_facility:for": "disabled",
        },
        {
            "amenity": "social_facility",
            "social_facility": "nursing_home",
            "social_facility:for": "child",
        },
        {},
        {"name": "某某小学"},
    ],
)
def test_classify_osm_not_facilities(tags: dict[str, str]) -> None:
    assert classify_osm(tags) is None
