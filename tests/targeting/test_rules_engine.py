"""The generic OpenFisca glue: entities, generated inputs, PMT models, load_rules, helpers,
and a bulk simulation built the way the registry bridge builds it (integer roles)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openfisca_core.indexed_enums import EnumArray
from openfisca_core.reforms import Reform
from openfisca_core.simulations import SimulationBuilder

from sijill.core.enums import RELATIONSHIP
from sijill.countries.base import get_profile
from sijill.targeting.openfisca import PmtModel, load_model, load_rules, write_model
from sijill.targeting.openfisca.entities import (
    ROLE_INDEX_OF_RELATIONSHIP,
    ROLE_KEYS,
    ROLE_OF_RELATIONSHIP,
    Household,
    role_index,
)
from sijill.targeting.openfisca.helpers import add_months, lookup, year_month_day
from sijill.targeting.openfisca.pmt import PmtModelError, model_from_dict, pmt_reform
from sijill.targeting.openfisca.system import RulesError, available_models, resolve_model

COUNTRIES = ["ma", "ml"]


# ---------------------------------------------------------------- entities


def test_roles_and_their_integer_order() -> None:
    assert ROLE_KEYS == ("head", "spouse", "child", "other")
    assert [r.key for r in Household.flattened_roles] == list(ROLE_KEYS)
    assert Household.flattened_roles[0].max == 1
    assert set(ROLE_OF_RELATIONSHIP) == set(RELATIONSHIP)
    assert ROLE_OF_RELATIONSHIP["HEAD"] == "head"
    assert ROLE_OF_RELATIONSHIP["SPOUSE"] == "spouse"
    assert {ROLE_OF_RELATIONSHIP[c] for c in ("CHILD", "STEPCHILD", "GRANDCHILD")} == {"child"}
    assert {ROLE_OF_RELATIONSHIP[c] for c in ("PARENT", "SIBLING", "OTHER_RELATIVE", "NON_RELATIVE")} == {
        "other"
    }
    assert ROLE_INDEX_OF_RELATIONSHIP["GRANDCHILD"] == 2
    assert role_index(None) == role_index("UNKNOWN") == 3


# ---------------------------------------------------------------- generated inputs


@pytest.mark.parametrize("country", COUNTRIES)
def test_one_household_input_per_question_with_its_type(country: str) -> None:
    tbs = load_rules(country).tbs
    q = get_profile(country).questionnaire
    expected = {"int": int, "decimal": float, "bool": bool, "text": str}
    for question in q.questions:
        v = tbs.variables[question.name]
        assert v.entity.key == "household" and v.definition_period == "month"
        assert v.is_input_variable()
        if question.type == "enum":
            names = list(v.possible_values.__members__)
            assert names == ["MISSING", *question.choices]
            assert v.default_value.name == "MISSING"
        else:
            assert v.value_type is expected[question.type]
    assert np.dtype(
        tbs.variables["spend_water_electricity" if country == "ma" else "cultivated_land_area"].dtype
    ) == (np.float64)
    for name in ("region", "area_code", "milieu", "resides_in_country", "receives_other_family_allowance"):
        assert tbs.variables[name].entity.key == "household"
    assert tbs.variables["resides_in_country"].default_value is True
    assert tbs.variables["receives_other_family_allowance"].default_value is False
    assert list(tbs.variables["milieu"].possible_values.__members__) == ["MISSING", "U", "R"]


@pytest.mark.parametrize("country", COUNTRIES)
def test_person_inputs_follow_the_profile_code_lists(country: str) -> None:
    tbs = load_rules(country).tbs
    profile = get_profile(country)
    for name in ("education_level", "occupation", "health_coverage", "school_sector", "school_level",
                 "disability_type", "disability_severity"):  # fmt: skip
        v = tbs.variables[name]
        assert list(v.possible_values.__members__) == ["MISSING", *profile.enums[name]], name
        assert v.entity.key == "person" and v.definition_period == "month"
    assert list(tbs.variables["relationship"].possible_values.__members__) == ["MISSING", *RELATIONSHIP]
    assert tbs.variables["birth_date"].definition_period == "eternity"
    assert tbs.variables["birth_grant_claim_date"].default_value == dt.date(1970, 1, 1)
    for name in ("in_school", "literate", "paternal_orphan"):
        assert tbs.variables[name].value_type is bool


def test_age_is_full_years_on_the_first_day_of_the_month() -> None:
    tbs = load_rules("ma").tbs
    sim = SimulationBuilder().build_from_entities(
        tbs,
        {
            "persons": {
                "a": {"birth_date": {"ETERNITY": "2000-03-01"}},
                "b": {"birth_date": {"ETERNITY": "2000-03-02"}},
                "c": {"birth_date": {"ETERNITY": "2000-02-29"}},
                "d": {"birth_date": {"ETERNITY": "2024-03-15"}},
            },
            "households": {"h": {"head": ["a"], "others": ["b", "c", "d"]}},
        },
    )
    assert sim.calculate("age", "2024-03").tolist() == [24, 23, 24, -1]
    assert sim.calculate("age", "2025-02").tolist() == [24, 24, 24, 0]


# ---------------------------------------------------------------- helpers


def test_year_month_day_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    d = (np.datetime64("1600-01-01") + rng.integers(0, 200_000, 50_000)).astype("datetime64[D]")
    d = np.concatenate(
        [d, np.array(["1900-02-28", "1900-03-01", "2000-02-29", "1969-12-31"], dtype="datetime64[D]")]
    )
    y, m, day = year_month_day(d)
    assert (y == d.astype("datetime64[Y]").astype(int) + 1970).all()
    assert (m == d.astype("datetime64[M]").astype(int) % 12 + 1).all()
    assert (day == (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1).all()


def test_add_months_clips_to_the_end_of_the_month() -> None:
    d = np.array(["2023-08-31", "2024-01-15", "2023-12-31"], dtype="datetime64[D]")
    assert add_months(d, 6).astype(str).tolist() == ["2024-02-29", "2024-07-15", "2024-06-30"]


def test_lookup_maps_codes_and_defaults_unknown_ones() -> None:
    codes = np.array(["MA-01", "MA-12", "", "MA-012", "XX", "MA-01"], dtype=object)
    out = lookup(codes, {"MA-01": 0.5, "MA-12": 1.25}, default=-1.0)
    assert out.tolist() == [0.5, 1.25, -1.0, -1.0, -1.0, 0.5]


def _brute_force_ranks(hh: np.ndarray, mask: np.ndarray, birth: np.ndarray) -> np.ndarray:
    out = np.zeros(len(hh), dtype=int)
    for h in np.unique(hh):
        members = [i for i in np.flatnonzero(hh == h) if mask[i]]
        members.sort(key=lambda i: (birth[i], i))
        for r, i in enumerate(members, start=1):
            out[i] = r
    return out


def test_rank_in_household_matches_a_brute_force_ranking() -> None:
    rules = load_rules("ma")
    rng = np.random.default_rng(7)
    n_h = 300
    size = rng.integers(1, 9, n_h)
    hh = np.repeat(np.arange(n_h), size)
    order = rng.permutation(len(hh))  # persons not sorted by household
    hh = hh[order]
    birth = (np.datetime64("2000-01-01") + rng.integers(0, 40, len(hh))).astype("datetime64[D]")  # many ties
    mask = rng.random(len(hh)) < 0.7
    sb = SimulationBuilder()
    sb.create_entities(rules.tbs)
    sb.declare_person_entity("person", np.arange(len(hh)))
    household = sb.declare_entity("household", np.arange(n_h))
    sb.join_with_persons(household, hh, np.full(len(hh), 3))
    sim = sb.build(rules.tbs)
    from sijill.targeting.openfisca.helpers import rank_in_household

    got = rank_in_household(sim.populations["household"], mask, birth)
    assert (got == _brute_force_ranks(hh, mask, birth)).all()


# ---------------------------------------------------------------- PMT models


def test_model_round_trip(tmp_path: Path) -> None:
    model = load_rules("ma").pmt_model
    path = write_model(replace(model, version="MA-COPY-1"), tmp_path)
    assert path.name == "MA-COPY-1.yaml"
    again = load_model(path)
    assert again.to_dict() == replace(model, version="MA-COPY-1").to_dict()
    assert again.digest != model.digest  # the version is part of the content


def test_shipped_models_are_loud_about_being_unofficial() -> None:
    ma = load_rules("ma").pmt_model
    assert ma.unofficial and "non officielle" in ma.label["fr"] and "ne pas utiliser" in ma.label["fr"]
    assert len(ma.features["U"]) == 35 and len(ma.features["R"]) == 28
    for milieu in ("U", "R"):
        for f in ma.features[milieu].values():
            assert set(f.label) >= {"fr", "ar", "en"} and all(f.label.values()), f.name
    assert ma.features["R"]["pmt_owns_car"].coef == 0 and ma.features["R"]["pmt_owns_car"].note
    ml = load_rules("ml").pmt_model
    assert ml.unofficial and "provisoire" in ml.label["fr"]
    assert available_models("ma") == ["MA-PMT-UNOFFICIAL-1"]


def test_a_model_must_fit_the_rules() -> None:
    data: dict[str, Any] = load_rules("ma").pmt_model.to_dict()
    data["version"] = "MA-BROKEN-1"
    data["features"]["U"]["pmt_no_such_feature"] = {"coef": 1.0}
    with pytest.raises(PmtModelError, match="pmt_no_such_feature"):
        load_rules("ma", model_from_dict(data))
    with pytest.raises(PmtModelError, match="coef"):
        model_from_dict({**data, "features": {"U": {"pmt_cars": {"label": "x"}}}})
    with pytest.raises(RulesError, match="no PMT model"):
        resolve_model("ma", "MA-NOPE-9")


def _urban_household() -> dict[str, Any]:
    """The urban household of rules/tests/pmt_score.yaml (score 10.4783956)."""
    return {
        "persons": {
            "father": {"birth_date": {"ETERNITY": "1980-03-01"}, "education_level": {"2024-03": "UPPER_SECONDARY"},
                       "occupation": {"2024-03": "EMPLOYEE"}, "health_coverage": {"2024-03": "AMO_CNSS"}},
            "mother": {"birth_date": {"ETERNITY": "1984-07-15"}, "education_level": {"2024-03": "PRIMARY"},
                       "occupation": {"2024-03": "HOMEMAKER"}, "health_coverage": {"2024-03": "AMO_CNSS"}},
            "son": {"birth_date": {"ETERNITY": "2012-09-30"}, "in_school": {"2024-03": True},
                    "school_sector": {"2024-03": "PUBLIC"}},
            "daughter": {"birth_date": {"ETERNITY": "2017-01-10"}, "in_school": {"2024-03": True},
                         "school_sector": {"2024-03": "PRIVATE"}, "education_level": {"2024-03": "NONE"}},
            "baby": {"birth_date": {"ETERNITY": "2022-05-05"}},
        },
        "households": {
            "h": {
                "head": ["father"], "spouses": ["mother"], "children": ["son", "daughter", "baby"],
                **{k: {"2024-03": v} for k, v in {
                    "region": "MA-06", "milieu": "U", "rooms": 3, "has_bathroom": True,
                    "individual_electricity_meter": True, "n_family_nuclei": 1, "computers": 1,
                    "satellite_dish": True, "mobile_phones": 3, "motorcycles": 1, "loan": True,
                    "spend_water_electricity": 350.0, "spend_butane": 100.0, "spend_phone_internet": 250.0,
                }.items()},
            }
        },
    }  # fmt: skip


def test_another_model_is_another_system_or_a_reform() -> None:
    base = load_rules("ma")
    data: dict[str, Any] = base.pmt_model.to_dict()
    data["version"] = "MA-TEST-SHIFTED-1"
    data["milieu_constant"]["U"] += 0.5
    other_model = model_from_dict(data)
    other = load_rules("ma", other_model)
    assert load_rules("ma") is base and load_rules("ma", other_model) is other
    assert other.parameters_version != base.parameters_version and other.model_version == "MA-TEST-SHIFTED-1"

    def score(tbs: Any) -> float:
        sim = SimulationBuilder().build_from_entities(tbs, _urban_household())
        return float(sim.calculate("pmt_score", "2024-03")[0])

    assert score(base.tbs) == 10.4783956
    assert score(other.tbs) == 10.9783956
    reformed = base.with_reform(pmt_reform(other_model))
    assert score(reformed.tbs) == 10.9783956
    assert reformed.pmt_model.version == "MA-TEST-SHIFTED-1"
    assert reformed.parameters_version.startswith(base.parameters_version + "+")
    assert score(base.tbs) == 10.4783956  # the cached system is untouched


def test_no_milieu_or_no_model_in_force_means_no_score() -> None:
    tbs = load_rules("ma").tbs
    situation = {
        "persons": {"p": {"birth_date": {"ETERNITY": "1980-01-01"}}},
        "households": {"h": {"head": ["p"], "region": {"2024-03": "MA-06"}, "milieu": {"2021-06": "U"}}},
    }
    sim = SimulationBuilder().build_from_entities(tbs, situation)
    assert np.isnan(sim.calculate("pmt_score", "2024-03")[0])  # milieu MISSING in March 2024
    assert np.isnan(sim.calculate("pmt_score", "2021-06")[0])  # before the model's effective_from (2022)
    assert not sim.calculate("amo_achamil_eligible", "2024-03")[0]


def test_parameters_version_is_stable_and_short() -> None:
    from sijill.targeting.openfisca.system import parameters_version

    r = load_rules("ma")
    assert parameters_version("ma", r.pmt_model) == r.parameters_version
    assert r.parameters_version.startswith("MA-") and len(r.parameters_version) == 13


# ---------------------------------------------------------------- parameter reforms


def _set_parameter(path: str, value: Any, start: str = "2020-01-01") -> type[Reform]:
    class SetParameter(Reform):  # type: ignore[misc]
        name = f"set-{path}"

        def apply(self) -> None:
            def modify(parameters: Any) -> Any:
                node = parameters
                for part in path.split("."):
                    node = node.children[part]
                node.update(start=start, value=value)
                return parameters

            self.modify_parameters(modifier_function=modify)

    return SetParameter


def _one_household(score: float, children: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    persons: dict[str, Any] = {"head": {"birth_date": {"ETERNITY": "1950-01-01"}}}
    persons.update(children or {})
    return {
        "persons": persons,
        "households": {
            "h": {"head": ["head"], "children": list(children or {}), "pmt_score": {"2024-03": score}}
        },
    }


def test_equality_at_the_threshold_is_a_parameter() -> None:
    rules = load_rules("ma")
    strict = rules.with_reform(_set_parameter("rsu.at_threshold_is_eligible", False))
    situation = _one_household(9.743001)
    assert (
        SimulationBuilder().build_from_entities(rules.tbs, situation).calculate("asd_eligible", "2024-03")[0]
    )
    assert (
        not SimulationBuilder()
        .build_from_entities(strict.tbs, situation)
        .calculate("asd_eligible", "2024-03")[0]
    )


def test_children_can_be_ranked_youngest_first() -> None:
    rules = load_rules("ma")
    youngest = rules.with_reform(_set_parameter("asd.child_allowance.rank_order", "youngest_first"))
    kids = {
        f"k{i}": {"birth_date": {"ETERNITY": f"{2005 + 2 * i}-06-01"}, "in_school": {"2024-03": i % 2 == 1}}
        for i in range(7)
    }
    situation = _one_household(9.0, kids)
    eldest = SimulationBuilder().build_from_entities(rules.tbs, situation)
    young = SimulationBuilder().build_from_entities(youngest.tbs, situation)
    assert eldest.calculate("asd_child_rank", "2024-03")[1:].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert young.calculate("asd_child_rank", "2024-03")[1:].tolist() == [7, 6, 5, 4, 3, 2, 1]


# ---------------------------------------------------------------- the bridge's way of building


def test_bulk_simulation_with_integer_roles_matches_the_yaml_example() -> None:
    """Persons not sorted by household, a household without a head, inputs as arrays."""
    rules = load_rules("ma")
    tbs = rules.tbs
    # household 0: the urban example; household 1: a widow (no head recorded) with two pupils.
    hh = np.array([1, 0, 0, 1, 0, 0, 0, 1])
    rel = ["CHILD", "HEAD", "SPOUSE", "SPOUSE", "CHILD", "CHILD", "CHILD", "CHILD"]
    birth = np.array(["2012-01-01", "1980-03-01", "1984-07-15", "1985-01-01", "2012-09-30", "2017-01-10",
                      "2022-05-05", "2014-01-01"], dtype="datetime64[D]")  # fmt: skip
    sb = SimulationBuilder()
    sb.create_entities(tbs)
    sb.declare_person_entity("person", np.arange(len(hh)))
    household = sb.declare_entity("household", np.arange(2))
    sb.join_with_persons(household, hh, np.array([role_index(r) for r in rel]))
    sim = sb.build(tbs)
    period = "2024-03"

    def enum(name: str, codes: list[str]) -> EnumArray:
        e = tbs.variables[name].possible_values
        return EnumArray(np.array([e[c].index for c in codes], dtype=np.int16), e)

    sim.set_input("birth_date", "ETERNITY", birth)
    sim.set_input("education_level", period, enum("education_level", ["MISSING", "UPPER_SECONDARY", "PRIMARY",
                  "MISSING", "MISSING", "NONE", "MISSING", "MISSING"]))  # fmt: skip
    sim.set_input("occupation", period, enum("occupation", ["MISSING", "EMPLOYEE", "HOMEMAKER", "HOMEMAKER",
                  "MISSING", "MISSING", "MISSING", "MISSING"]))  # fmt: skip
    sim.set_input("health_coverage", period, enum("health_coverage", ["MISSING", "AMO_CNSS", "AMO_CNSS",
                  "AMO_TADAMON", "MISSING", "MISSING", "MISSING", "MISSING"]))  # fmt: skip
    sim.set_input("in_school", period, np.array([True, False, False, False, True, True, False, True]))
    sim.set_input("school_sector", period, enum("school_sector", ["PUBLIC", "MISSING", "MISSING", "MISSING",
                  "PUBLIC", "PRIVATE", "MISSING", "PUBLIC"]))  # fmt: skip
    sim.set_input("paternal_orphan", period, np.array([True, False, False, False, False, False, False, True]))
    sim.set_input("region", period, np.array(["MA-06", "MA-08"], dtype=object))
    sim.set_input("milieu", period, enum("milieu", ["U", "U"]))
    for name, values in {
        "rooms": [3, 2], "has_bathroom": [True, False], "individual_electricity_meter": [True, False],
        "n_family_nuclei": [1, 1], "computers": [1, 0], "satellite_dish": [True, False], "mobile_phones": [3, 1],
        "motorcycles": [1, 0], "loan": [True, False], "spend_water_electricity": [350.0, 60.0],
        "spend_butane": [100.0, 50.0], "spend_phone_internet": [250.0, 30.0],
    }.items():  # fmt: skip
        sim.set_input(name, period, np.array(values))
    score = sim.calculate("pmt_score", period)
    assert score[0] == 10.4783956
    assert sim.calculate("pmt_head_age", period).tolist() == [44, 0]  # no head: 0
    # Widow's household: 2 pupils (2012, 2014), both paternal orphans in school: 2 x 350 = 700 if eligible.
    eligible = sim.calculate("asd_eligible", period)
    assert eligible.tolist() == [False, bool(score[1] <= 9.743001)]
    assert sim.calculate("asd_child_rank", period).tolist() == [1, 0, 0, 0, 1, 2, 3, 2]
    if eligible[1]:
        assert sim.calculate("asd_monthly", period)[1] == 700


# ---------------------------------------------------------------- rules files


@pytest.mark.parametrize("country", COUNTRIES)
def test_every_parameter_is_documented_and_sourced(country: str) -> None:
    from openfisca_core.parameters import Parameter, ParameterScale

    tbs = load_rules(country).tbs
    problems = []
    for node in tbs.parameters.get_descendants():
        if node.name.startswith("pmt") or not isinstance(node, Parameter | ParameterScale):
            continue
        if ".brackets" in node.name or "[" in node.name:
            continue
        meta = node.metadata
        if not node.description:
            problems.append(f"{node.name}: no description")
        status = str(meta.get("status", ""))
        if not status:
            problems.append(f"{node.name}: no status ([C]/[U]/[I])")
        if "unit" not in meta and "amount_unit" not in meta:
            problems.append(f"{node.name}: no unit")
        if not meta.get("reference") and status != "[I]":
            problems.append(f"{node.name}: no reference")
        doc = getattr(node, "documentation", None) or meta.get("note")  # a scale keeps no documentation
        if ("[U]" in status or "[I]" in status) and not doc:
            problems.append(f"{node.name}: [U]/[I] without documentation")
    assert not problems, problems


@pytest.mark.parametrize("country", COUNTRIES)
def test_programmes_name_existing_household_variables(country: str) -> None:
    rules = load_rules(country)
    assert rules.programmes
    for prog in rules.programmes:
        assert prog.amount_kind in ("benefit", "contribution")
        for v in (prog.eligible_variable, prog.amount_variable, *prog.one_off_variables):
            if v:
                assert rules.tbs.variables[v].entity.key == "household"
        assert prog.name.get("fr") and prog.agency and prog.legal_basis
    assert rules.package_dir.name == "rules" and (rules.package_dir / "programmes.yaml").exists()


@pytest.mark.parametrize("country", COUNTRIES)
def test_every_pmt_feature_says_how_it_is_derived(country: str) -> None:
    rules = load_rules(country)
    for name in rules.pmt_model.feature_names():
        v = rules.tbs.variables[name]
        assert v.label and v.documentation, name


def test_model_files_are_named_after_their_version() -> None:
    for country in COUNTRIES:
        for version in available_models(country):
            model: PmtModel = resolve_model(country, version)
            assert model.version == version and model.country == country.upper()


# ---------------------------------------------------------------- programmes.yaml


def test_an_entitlement_breakdown_must_name_variables_of_the_right_entity() -> None:
    import yaml

    from sijill.targeting.openfisca.system import programmes_from, rules_dir

    rules = load_rules("ma")
    data = yaml.safe_load((rules_dir("ma") / "programmes.yaml").read_text(encoding="utf-8"))
    assert [p.code for p in programmes_from(data, rules.tbs, "MAD")] == ["AMO_TADAMON", "ASD", "AMO_ACHAMIL"]
    asd = next(p for p in data["programmes"] if p["code"] == "ASD")
    asd["breakdown"].append({"variable": "asd_child_amount", "name": {"fr": "x"}})  # a person variable
    asd["member_breakdown"].append({"variable": "asd_no_such_thing", "name": {"fr": "y"}})
    asd["member_breakdown"][0]["format"] = "colour"
    asd["one_off_names"]["asd_monthly"] = {"fr": "z"}
    with pytest.raises(RulesError) as err:
        programmes_from(data, rules.tbs, "MAD", "ma/programmes.yaml")
    assert str(err.value) == (
        "ma/programmes.yaml: ASD: breakdown 'asd_child_amount' is not a household variable; "
        "ASD: breakdown 'asd_child_rank': format must be one of ('money', 'count', 'flag'); "
        "ASD: breakdown 'asd_no_such_thing' is not a variable of the rules; "
        "ASD: one_off_names for variables that are not one-off: ['asd_monthly']"
    )
