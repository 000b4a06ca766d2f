"""Country profile data: Morocco (MA) and Mali (ML).

Plain pytest tests on the reference data in sijill/countries/<code>/; no database needed.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest

from sijill.core import enums
from sijill.core.checkdigits import verhoeff_digit
from sijill.countries import available_countries, get_profile

ARABIC = re.compile(r"[\u0600-\u06FF]")


@pytest.fixture(scope="module")
def ma():
    return get_profile("MA")


@pytest.fixture(scope="module")
def ml():
    return get_profile("ML")


def by_level(profile, level):
    return [a for a in profile.areas if a.level == level]


def test_both_countries_are_available():
    countries = available_countries()
    assert "ma" in countries
    assert "ml" in countries


@pytest.mark.parametrize("code", ["ma", "ml"])
def test_profile_basics(code):
    p = get_profile(code)
    assert p.code == code.upper()
    assert p.default_language == "fr"
    assert p.locales
    assert [lv.code for lv in p.area_levels][-1] == "commune"
    assert p.phone_prefix.startswith("+")
    assert p.phone_pattern.startswith("^\\" + p.phone_prefix)


@pytest.mark.parametrize("code", ["ma", "ml"])
def test_geography_is_a_consistent_tree(code):
    p = get_profile(code)
    codes = [a.code for a in p.areas]
    assert len(codes) == len(set(codes)), [c for c, n in Counter(codes).items() if n > 1]
    levels = [lv.code for lv in p.area_levels]
    for a in p.areas:
        assert a.level in levels, a
        depth = levels.index(a.level)
        if depth == 0:
            assert a.parent_code is None, a
        else:
            parent = p.area_by_code[a.parent_code]
            assert parent.level == levels[depth - 1], (a, parent)
        assert a.name_fr.strip(), a
        assert a.milieu in (None, "U", "R"), a
        if a.milieu:
            assert a.level == p.lowest_level, a
    # ancestors() walks up to a region from any commune
    commune = by_level(p, "commune")[0]
    assert p.ancestors(commune.code)[-1].level == levels[0]


# --------------------------------------------------------------------------- Morocco


def test_morocco_has_the_12_regions(ma):
    regions = by_level(ma, "region")
    assert sorted(a.code for a in regions) == [f"MA-{i:02d}" for i in range(1, 13)]


def test_morocco_has_75_provinces_and_prefectures(ma):
    provinces = by_level(ma, "province")
    assert len(provinces) == 75
    region_codes = {a.code for a in by_level(ma, "region")}
    for p in provinces:
        assert re.fullmatch(r"MA-[A-Z]{3}", p.code), p.code
        assert p.parent_code in region_codes, p
    per_region = Counter(p.parent_code for p in provinces)
    # Decree 2-15-40 (2015): provinces and prefectures per region.
    assert per_region == {
        "MA-01": 8,
        "MA-02": 8,
        "MA-03": 9,
        "MA-04": 7,
        "MA-05": 5,
        "MA-06": 9,
        "MA-07": 8,
        "MA-08": 5,
        "MA-09": 6,
        "MA-10": 4,
        "MA-11": 4,
        "MA-12": 2,
    }


@pytest.mark.parametrize(
    "province,region",
    [
        ("MA-CAS", "MA-06"),
        ("MA-AGD", "MA-09"),
        ("MA-HAO", "MA-07"),
        ("MA-TNG", "MA-01"),
        ("MA-OUJ", "MA-02"),
        ("MA-FES", "MA-03"),
        ("MA-RAB", "MA-04"),
        ("MA-BEM", "MA-05"),
        ("MA-ERR", "MA-08"),
        ("MA-GUE", "MA-10"),
        ("MA-LAA", "MA-11"),
        ("MA-OUD", "MA-12"),
        ("MA-MID", "MA-08"),
        ("MA-SIB", "MA-06"),
        ("MA-GUF", "MA-02"),
        ("MA-OUZ", "MA-01"),
    ],
)
def test_morocco_province_region_membership(ma, province, region):
    assert ma.area_by_code[province].parent_code == region


def test_morocco_communes(ma):
    provinces = {a.code for a in by_level(ma, "province")}
    communes = by_level(ma, "commune")
    assert len(communes) >= 150
    per_province = defaultdict(list)
    for c in communes:
        assert c.parent_code in provinces, c
        assert c.milieu in ("U", "R"), c
        per_province[c.parent_code].append(c)
    assert set(per_province) == provinces
    for code, cs in per_province.items():
        assert len(cs) >= 2, code
    # Every province has an urban commune, except Fahs-Anjra, which has none.
    no_urban = {code for code, cs in per_province.items() if not any(c.milieu == "U" for c in cs)}
    assert no_urban == {"MA-FAH"}
    # Prefectures made only of urban communes; every other province lists a rural one.
    no_rural = {code for code, cs in per_province.items() if not any(c.milieu == "R" for c in cs)}
    assert no_rural == {"MA-RAB", "MA-CAS"}


def test_morocco_commune_codes_are_hcp_codes(ma):
    for c in by_level(ma, "commune"):
        assert re.fullmatch(r"MA-\d{3}\.\d{2}\.\d{2}", c.code), c.code
    assert ma.area_by_code["MA-141.01.00"].name_fr == "Casablanca"
    assert ma.area_by_code["MA-051.01.01"].parent_code == "MA-HOC"


def test_morocco_names_in_french_and_arabic(ma):
    for a in ma.areas:
        assert a.name_fr.strip() and not ARABIC.search(a.name_fr), a
        assert ARABIC.search(a.name_ar), a
    assert ma.area_by_code["MA-06"].name_ar == "الدار البيضاء - سطات"
    assert ma.area_by_code["MA-SAF"].name_ar == "آسفي"


@pytest.mark.parametrize(
    "id_type,value",
    [
        ("CNIE", "BK123456"),
        ("CNIE", "K12345"),
        ("CNIE", "a 123 456"),
        ("CNIE", "JB-12345"),
        ("BIRTH_CERT", "1234"),
        ("BIRTH_CERT", "1234/2005"),
        ("BIRTH_CERT", "56/98"),
        ("RESIDENCE_CARD", "E1234567"),
        ("RESIDENCE_CARD", "ab123456"),
    ],
)
def test_morocco_id_accepts(ma, id_type, value):
    assert ma.id_types[id_type].validate(value) is None


@pytest.mark.parametrize(
    "id_type,value",
    [
        ("CNIE", "123456"),
        ("CNIE", "ABC123456"),
        ("CNIE", "BK1234567"),
        ("CNIE", "B12"),
        ("CNIE", ""),
        ("BIRTH_CERT", "12/3"),
        ("BIRTH_CERT", "abc"),
        ("RESIDENCE_CARD", "1234567"),
        ("IDCS", "12345"),
        ("IDCS", "12345678AB"),
    ],
)
def test_morocco_id_rejects(ma, id_type, value):
    reason = ma.id_types[id_type].validate(value)
    assert reason and id_type in reason


def test_morocco_idcs_verhoeff(ma):
    idcs = ma.id_types["IDCS"]
    assert idcs.check == "verhoeff"
    for payload in ["123456789", "000000001", "987654321", "500000000"]:
        good = payload + verhoeff_digit(payload)
        assert idcs.validate(good) is None, good
        assert idcs.validate(good[:3] + " " + good[3:6] + "-" + good[6:]) is None
        bad = payload + str((int(verhoeff_digit(payload)) + 1) % 10)
        reason = idcs.validate(bad)
        assert reason and "check digit" in reason
        # an adjacent transposition is caught too
        swapped = good[1] + good[0] + good[2:]
        if swapped != good:
            assert idcs.validate(swapped) is not None


def test_morocco_cnie_has_no_enforced_minimum_age(ma):
    # Law 04-20: mandatory from 16, but a minor may hold one on the guardian's request.
    assert ma.id_types["CNIE"].min_age is None
    assert ma.raw["id_types"]["CNIE"]["mandatory_from_age"] == 16


def test_morocco_phone(ma):
    assert ma.phone_prefix == "+212"
    for ok in ["+212612345678", "+212522123456", "+212712345678"]:
        assert ma.phone_regex.fullmatch(ok), ok
    for bad in ["0612345678", "+21261234567", "+212912345678", "+2126123456789"]:
        assert not ma.phone_regex.fullmatch(bad), bad


def test_morocco_enums(ma):
    assert ma.currency == "MAD"
    assert ma.locales == ("ar_MA", "fr_MA")
    for code in [
        "SENIOR_MANAGER",
        "MIDDLE_MANAGER",
        "EMPLOYER",
        "CRAFTSMAN",
        "FARM_OPERATOR",
        "TRADER",
        "MACHINE_OPERATOR",
        "RETIRED",
        "RENTIER",
        "UNEMPLOYED",
        "STUDENT",
    ]:
        assert code in ma.enums["occupation"], code
    assert set(ma.enums["health_coverage"]) == {
        "NONE",
        "AMO_TADAMON",
        "AMO_CNSS",
        "AMO_CNOPS",
        "AMO_TNS",
        "AMO_ACHAMIL",
        "PRIVATE",
        "OTHER",
    }
    assert "RAMED" not in ma.enums["health_coverage"]
    for name in ("occupation", "health_coverage"):
        for code in ma.enums[name]:
            for lang in ("fr", "ar", "en"):
                assert ma.label(name, code, lang) != code, (name, code, lang)
            assert ARABIC.search(ma.label(name, code, "ar"))


GENERIC = {
    "relationship": enums.RELATIONSHIP,
    "disability_type": enums.DISABILITY_TYPE,
    "disability_severity": enums.DISABILITY_SEVERITY,
    "school_level": enums.SCHOOL_LEVEL,
    "education_level": enums.EDUCATION_LEVEL,
    "school_sector": enums.SCHOOL_SECTOR,
    "sex": enums.SEX,
    "vital_status": enums.VITAL_STATUS,
}


@pytest.mark.parametrize("code,langs", [("ma", ("fr", "ar", "en")), ("ml", ("fr", "en"))])
def test_generic_enums_are_labelled(code, langs):
    p = get_profile(code)
    for name, values in GENERIC.items():
        assert p.enums[name] == values, name
        for v in values:
            for lang in langs:
                label = p.label(name, v, lang)
                assert label and label != v, (name, v, lang)


def test_morocco_questionnaire_covers_the_pmt(ma):
    q = ma.questionnaire
    assert q.version == "MA-2024.1"
    assert str(q.effective_from) == "2024-01-01"
    both = [
        "dwelling_type",
        "rooms",
        "has_bathroom",
        "individual_electricity_meter",
        "individual_water_meter",
        "n_family_nuclei",
        "secondary_residence",
        "garage",
        "professional_premises",
        "computers",
        "satellite_dish",
        "landline",
        "mobile_phones",
        "cars",
        "motorcycles",
        "loan",
        "spend_water_electricity",
        "spend_butane",
        "spend_phone_internet",
    ]
    rural = ["cows", "sheep_goats", "agricultural_land_area", "irrigated_land", "non_agricultural_land"]
    for name in both:
        assert name in q.by_name, name
        assert q.by_name[name].milieu is None, name
    for name in rural:
        assert q.by_name[name].milieu == "R", name
    for name in ["dwelling_type", "rooms", "has_bathroom", "individual_electricity_meter"]:
        assert q.by_name[name].required, name
    for name in ["spend_water_electricity", "spend_butane", "spend_phone_internet"]:
        assert q.by_name[name].unit == "MAD/month"
    assert {
        "VILLA",
        "FLAT",
        "TRADITIONAL_HOUSE",
        "MODERN_HOUSE",
        "RURAL_HOUSE_STONE",
        "RURAL_HOUSE_OTHER",
        "SHACK",
        "TENT",
        "OTHER",
    } == set(q.by_name["dwelling_type"].choices)
    for question in q.questions:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", question.name)
        assert question.type in ("int", "decimal", "bool", "enum", "text")
        assert {"fr", "ar", "en"} <= set(question.label), question.name
        assert ARABIC.search(question.label["ar"]), question.name
        for c in question.choices:
            assert ARABIC.search(question.choice_labels[c]["ar"]), (question.name, c)


def _urban_answers():
    return {
        "dwelling_type": "flat",
        "occupancy_status": "TENANT",
        "rooms": "3",
        "has_bathroom": "oui",
        "has_kitchen": "1",
        "individual_electricity_meter": True,
        "individual_water_meter": "yes",
        "n_family_nuclei": 1,
        "secondary_residence": "non",
        "garage": 0,
        "professional_premises": "0",
        "computers": 1,
        "satellite_dish": "1",
        "landline": "0",
        "mobile_phones": 3,
        "cars": 0,
        "motorcycles": 1,
        "loan": "false",
        "spend_water_electricity": "250.5",
        "spend_butane": 80,
        "spend_phone_internet": "150",
    }


def test_morocco_questionnaire_validates_a_good_urban_household(ma):
    clean, errors = ma.questionnaire.validate(_urban_answers(), milieu="U")
    assert errors == {}
    assert clean["dwelling_type"] == "FLAT"
    assert clean["rooms"] == 3
    assert clean["has_bathroom"] is True
    assert clean["spend_water_electricity"] == 250.5


def test_morocco_questionnaire_rejects_bad_values_readably(ma):
    answers = _urban_answers() | {
        "rooms": "0",
        "dwelling_type": "palace",
        "cars": "1.5",
        "has_bathroom": "maybe",
        "foo": 1,
    }
    _, errors = ma.questionnaire.validate(answers, milieu="U")
    assert errors["rooms"] == "0 is below the minimum 1"
    assert "'palace' is not one of" in errors["dwelling_type"] and "VILLA" in errors["dwelling_type"]
    assert errors["cars"] == "must be a whole number, got '1.5'"
    assert errors["has_bathroom"] == "'maybe' is not a valid bool"
    assert "unknown questionnaire variable 'foo'" in errors["foo"]
    answers = _urban_answers()
    del answers["rooms"]
    _, errors = ma.questionnaire.validate(answers, milieu="U")
    assert errors == {"rooms": "is required"}


def test_morocco_rural_questions(ma):
    q = ma.questionnaire
    rural = _urban_answers() | {
        "dwelling_type": "RURAL_HOUSE_STONE",
        "cows": 2,
        "sheep_goats": 10,
        "agricultural_land_area": "1.5",
        "irrigated_land": "oui",
        "non_agricultural_land": "non",
    }
    clean, errors = q.validate(rural, milieu="R")
    assert errors == {}
    assert clean["cows"] == 2 and clean["irrigated_land"] is True
    _, errors = q.validate(rural, milieu="U")
    assert errors["cows"] == "is only asked in rural households"
    _, errors = q.validate(_urban_answers(), milieu="R")
    assert errors["cows"] == "is required"


# --------------------------------------------------------------------------- Mali


def test_mali_profile(ml):
    assert ml.currency == "XOF"
    assert ml.locales == ("fr_ML", "bm_ML")
    assert [lv.code for lv in ml.area_levels] == ["region", "cercle", "commune"]
    assert ml.phone_prefix == "+223"
    assert ml.phone_regex.fullmatch("+22376123456")
    assert not ml.phone_regex.fullmatch("+2237612345")
    assert not ml.phone_regex.fullmatch("+212612345678")
    assert set(ml.id_types) == {"NINA", "CNIBS", "BIRTH_CERT"}
    assert not set(ml.id_types) & {"CNIE", "IDCS", "RESIDENCE_CARD"}
    assert set(ml.enums["health_coverage"]) == {"NONE", "AMO_CANAM", "RAMED", "MUTUELLE", "OTHER"}
    for code in ["FARMER", "HERDER", "FISHER", "TRADER", "ARTISAN", "EMPLOYEE", "CIVIL_SERVANT"]:
        assert code in ml.enums["occupation"]


@pytest.mark.parametrize("value", ["12851234567123K", "1 28 51 2345671 23 K", "10000000000000a"])
def test_mali_nina_accepts(ml, value):
    assert ml.id_types["NINA"].validate(value) is None


@pytest.mark.parametrize("value", ["12851234567123", "1285123456712KK", "K12851234567123", "BK123456"])
def test_mali_nina_rejects(ml, value):
    assert ml.id_types["NINA"].validate(value)


def test_mali_geography(ml):
    regions = {a.code: a for a in by_level(ml, "region")}
    assert len(regions) == 20  # District of Bamako + 19 regions (2023 reform)
    assert "ML-BKO" in regions
    assert {f"ML-{i}" for i in range(1, 11)} <= set(regions)
    cercles = by_level(ml, "cercle")
    historical = [c for c in cercles if c.parent_code != "ML-BKO"]
    assert len(historical) >= 49
    per_cercle = Counter(c.parent_code for c in by_level(ml, "commune"))
    for c in cercles:
        assert per_cercle[c.code] >= 1, c
    assert ml.area_by_code["ML-KOLONDIEBA"].parent_code == "ML-15"  # Bougouni region
    assert ml.area_by_code["ML-KOUTIALA"].parent_code == "ML-16"
    bamako = [a for a in by_level(ml, "commune") if ml.ancestors(a.code)[-1].code == "ML-BKO"]
    assert len(bamako) == 6 and all(a.milieu == "U" for a in bamako)
    for a in ml.areas:
        assert a.name_ar == ""


def test_mali_questionnaire_is_not_moroccan(ml, ma):
    q = ml.questionnaire
    assert q.version == "ML-2023.1"
    moroccan_only = {
        "spend_butane",
        "spend_water_electricity",
        "spend_phone_internet",
        "individual_electricity_meter",
        "individual_water_meter",
        "n_family_nuclei",
        "secondary_residence",
        "garage",
        "professional_premises",
        "satellite_dish",
        "landline",
        "cows",
        "sheep_goats",
        "irrigated_land",
        "non_agricultural_land",
    }
    assert moroccan_only <= set(ma.questionnaire.by_name)
    assert not moroccan_only & set(q.by_name)
    text = " ".join(
        str(v)
        for question in q.questions
        for v in [
            *question.label.values(),
            *question.choices,
            *(x for labels in question.choice_labels.values() for x in labels.values()),
        ]
    ).lower()
    for word in ("butane", "ramed", "amo", "rsu.ma", "dirham", "mad"):
        assert not re.search(rf"\b{word}\b", text), word
    for name in [
        "wall_material",
        "roof_material",
        "floor_material",
        "water_source",
        "toilet_type",
        "lighting_source",
        "cooking_fuel",
        "radio",
        "television",
        "mobile_phones",
        "bicycles",
        "motorcycles",
        "carts",
        "ploughs",
        "cattle",
        "sheep",
        "goats",
        "poultry",
        "cultivated_land_area",
    ]:
        assert name in q.by_name, name


def test_mali_questionnaire_validation(ml):
    q = ml.questionnaire
    good = {
        "dwelling_type": "HOUSE_COMPOUND",
        "rooms": 2,
        "wall_material": "banco",
        "roof_material": "METAL_SHEET",
        "floor_material": "EARTH_SAND",
        "water_source": "BOREHOLE",
        "toilet_type": "TRADITIONAL_LATRINE",
        "lighting_source": "SOLAR",
        "cooking_fuel": "FIREWOOD",
        "radio": "oui",
        "television": "non",
        "mobile_phones": 2,
        "bicycles": 1,
        "motorcycles": 0,
        "carts": 1,
        "ploughs": 1,
        "cattle": 3,
        "sheep": 5,
        "goats": 8,
        "poultry": 12,
        "cultivated_land_area": "2.5",
    }
    clean, errors = q.validate(good, milieu="R")
    assert errors == {}
    assert clean["wall_material"] == "BANCO"
    _, errors = q.validate(good | {"goats": -1, "water_source": "TAP"}, milieu="R")
    assert errors["goats"] == "-1 is below the minimum 0"
    assert "'TAP' is not one of" in errors["water_source"]
