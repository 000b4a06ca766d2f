"""Features of Morocco's RSU index (PMT), one household variable per item of the urban (35)
and rural (28) lists of domain.md §3.4.

Every feature is derived only from the generic inputs (questionnaire answers of the
household, person attributes of its members). "Members" are the persons of the household
in the simulation: the caller passes living, current members only. Ages are full years on
the first day of the period. A household without a head has 0 / False for every head item.
Which feature enters which milieu's score, and with what coefficient, is the PMT model's
business (rules/pmt/<version>.yaml), not this file's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from openfisca_core.periods import MONTH
from openfisca_core.variables import Variable

from sijill.targeting.openfisca.entities import Household, Person
from sijill.targeting.openfisca.helpers import enum_in, head_value
from sijill.targeting.openfisca.variables import Float64Variable

# Occupation codes that are not an income-generating activity (profile.yaml `occupation`).
NOT_WORKING = ("RETIRED", "RENTIER", "UNEMPLOYED", "STUDENT", "HOMEMAKER", "INACTIVE", "MISSING")
DIPLOMA = ("UPPER_SECONDARY", "POST_SECONDARY", "HIGHER")
BASIC_EDUCATION = ("PRIMARY", "LOWER_SECONDARY", "UPPER_SECONDARY", "POST_SECONDARY", "HIGHER")
SOLID_DWELLING = ("VILLA", "FLAT", "TRADITIONAL_HOUSE", "MODERN_HOUSE", "RURAL_HOUSE_STONE")
NOT_OTHER_COVERAGE = ("NONE", "AMO_TADAMON", "MISSING")


def _share_of_adults(household: Any, period: Any, person_condition: Any) -> Any:
    """Share of the members aged 15+ for whom ``person_condition`` holds (0 with no such member)."""
    adult = household.members("pmt_is_15_plus", period)
    numerator = household.sum(adult & person_condition)
    denominator = household("pmt_members_15_plus", period)
    return np.divide(numerator, denominator, out=np.zeros(household.count), where=denominator > 0)


def _head_in(household: Any, period: Any, variable: str, codes: tuple[str, ...]) -> Any:
    return head_value(household, period, enum_in(household.members(variable, period), codes), False)


def _per_capita_year(household: Any, period: Any, spend: str) -> Any:
    size = household("household_size", period)
    monthly = np.asarray(household(spend, period), dtype=np.float64)
    return np.divide(monthly * 12, size, out=np.zeros(household.count), where=size > 0)


# ---------------------------------------------------------------- person helpers


class pmt_is_15_plus(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "Member aged 15 or more (denominator of the PMT 'share of members aged 15+' items)"

    def formula(person: Any, period: Any, parameters: Any) -> Any:
        return person("age", period) >= 15


class pmt_members_15_plus(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "Number of members aged 15 or more"

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household.sum(household.members("pmt_is_15_plus", period))


# ---------------------------------------------------------------- demography


class pmt_single_or_couple_no_children(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: one-person household, or couple without children"
    documentation = "1 member; or 2 members, one of them the head's spouse (relationship SPOUSE)."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        size = household("household_size", period)
        spouses = household.sum(household.members("is_household_spouse", period))
        return (size == 1) | ((size == 2) & (spouses == 1))


class pmt_several_family_nuclei(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: household with more than one family nucleus"
    documentation = "Questionnaire n_family_nuclei > 1."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("n_family_nuclei", period) > 1


class pmt_head_age(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT: age of the head of household"
    documentation = "age of the member with role head (0 if none)."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return head_value(household, period, household.members("age", period), 0)


class pmt_head_age_sq(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT: age of the head of household, squared"
    documentation = "pmt_head_age²."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        a = household("pmt_head_age", period)
        return a * a


def _count_aged(household: Any, period: Any, low: int, high: int | None) -> Any:
    age = household.members("age", period)
    cond = age >= low if high is None else (age >= low) & (age <= high)
    return household.sum(cond)


class pmt_members_19_29(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT: number of members aged 19 to 29"
    documentation = "Members with 19 <= age <= 29."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _count_aged(household, period, 19, 29)


class pmt_members_30_59(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT: number of members aged 30 to 59"
    documentation = "Members with 30 <= age <= 59."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _count_aged(household, period, 30, 59)


class pmt_members_60_plus(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT: number of members aged 60 or more"
    documentation = "Members with age >= 60."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _count_aged(household, period, 60, None)


# ---------------------------------------------------------------- dwelling


class pmt_max_2_persons_per_room(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: at most 2 persons per room"
    documentation = "household_size / rooms <= 2 (False when rooms is 0 or missing)."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        rooms = household("rooms", period)
        return (rooms > 0) & (household("household_size", period) <= 2 * rooms)


class pmt_max_3_persons_per_room(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: at most 3 persons per room"
    documentation = "household_size / rooms <= 3 (False when rooms is 0 or missing)."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        rooms = household("rooms", period)
        return (rooms > 0) & (household("household_size", period) <= 3 * rooms)


class pmt_has_bathroom(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: dwelling has a bathroom or shower"
    documentation = "Questionnaire has_bathroom."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("has_bathroom", period)


class pmt_individual_electricity_meter(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: individual electricity meter"
    documentation = "Questionnaire individual_electricity_meter."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("individual_electricity_meter", period)


class pmt_solid_dwelling(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): villa, flat, traditional or modern house, or rural house of dry or mud-coated stone"
    documentation = (
        "dwelling_type in VILLA, FLAT, TRADITIONAL_HOUSE, MODERN_HOUSE, RURAL_HOUSE_STONE. "
        "[I] MODERN_HOUSE is added to the source's list."
    )

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return enum_in(household("dwelling_type", period), SOLID_DWELLING)


class pmt_secondary_residence(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: secondary residence"
    documentation = "Questionnaire secondary_residence."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("secondary_residence", period)


class pmt_garage(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: garage"
    documentation = "Questionnaire garage."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("garage", period)


class pmt_professional_premises(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: professional premises (shop)"
    documentation = "Questionnaire professional_premises."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("professional_premises", period)


# ---------------------------------------------------------------- head of household


class pmt_head_higher_education(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: head has higher education"
    documentation = "education_level of the head is HIGHER."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _head_in(household, period, "education_level", ("HIGHER",))


class pmt_head_basic_education(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): head has basic education"
    documentation = "education_level of the head is PRIMARY or above (not NONE, not MISSING)."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _head_in(household, period, "education_level", BASIC_EDUCATION)


class pmt_head_senior_manager(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: head is a senior manager or holds a position of responsibility"
    documentation = "occupation of the head is SENIOR_MANAGER."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _head_in(household, period, "occupation", ("SENIOR_MANAGER",))


class pmt_head_middle_manager(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): head is a middle manager"
    documentation = "occupation of the head is MIDDLE_MANAGER."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _head_in(household, period, "occupation", ("MIDDLE_MANAGER",))


class pmt_head_employer(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: head is an employer"
    documentation = "occupation of the head is EMPLOYER."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _head_in(household, period, "occupation", ("EMPLOYER",))


class pmt_head_retired_or_rentier(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): head is retired or has an income (rentier)"
    documentation = "occupation of the head is RETIRED or RENTIER."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _head_in(household, period, "occupation", ("RETIRED", "RENTIER"))


class pmt_head_machine_operator(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): head operates fixed equipment or machinery"
    documentation = "occupation of the head is MACHINE_OPERATOR."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _head_in(household, period, "occupation", ("MACHINE_OPERATOR",))


class pmt_head_craftsman(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): head is a craftsman"
    documentation = "occupation of the head is CRAFTSMAN."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _head_in(household, period, "occupation", ("CRAFTSMAN",))


class pmt_head_farm_operator(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): head is a farm operator"
    documentation = "occupation of the head is FARM_OPERATOR."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _head_in(household, period, "occupation", ("FARM_OPERATOR",))


# ---------------------------------------------------------------- members


class pmt_health_coverage_other_than_ramed(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: at least one member has health coverage other than RAMED"
    documentation = (
        "Any member whose health_coverage is not NONE, AMO_TADAMON or MISSING. "
        "[I] AMO Tadamon replaced RAMED on 1 Dec 2022."
    )

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        covered = ~enum_in(household.members("health_coverage", period), NOT_OTHER_COVERAGE)
        return household.any(covered)


def _children_6_14_in(household: Any, period: Any, sector: str) -> Any:
    age = household.members("age", period)
    in_school = household.members("in_school", period)
    sector_ok = enum_in(household.members("school_sector", period), (sector,))
    return household.sum((age >= 6) & (age <= 14) & in_school & sector_ok)


class pmt_children_6_14_private_school(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): number of children aged 6-14 in a private school"
    documentation = "Members with 6 <= age <= 14, in_school and school_sector PRIVATE."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _children_6_14_in(household, period, "PRIVATE")


class pmt_children_6_14_public_school(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): number of children aged 6-14 in a public school"
    documentation = "Members with 6 <= age <= 14, in_school and school_sector PUBLIC (a MISSING sector counts in neither)."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _children_6_14_in(household, period, "PUBLIC")


class pmt_share_15plus_no_diploma(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): share of members aged 15+ with no diploma"
    documentation = (
        "Among members aged 15+, the share with education_level NONE (0 when there is none aged 15+)."
    )

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        cond = enum_in(household.members("education_level", period), ("NONE",))
        return _share_of_adults(household, period, cond)


class pmt_share_15plus_diploma(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): share of members aged 15+ with a diploma or technical certificate"
    documentation = (
        "Among members aged 15+, the share with education_level UPPER_SECONDARY, POST_SECONDARY or HIGHER."
    )

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        cond = enum_in(household.members("education_level", period), DIPLOMA)
        return _share_of_adults(household, period, cond)


class pmt_share_15plus_higher_education(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): share of members aged 15+ with a higher-education diploma"
    documentation = "Among members aged 15+, the share with education_level HIGHER."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        cond = enum_in(household.members("education_level", period), ("HIGHER",))
        return _share_of_adults(household, period, cond)


class pmt_share_15plus_working(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): share of members aged 15+ with an income-generating activity"
    documentation = (
        "Among members aged 15+, the share whose occupation is a working code: not RETIRED, RENTIER, "
        "UNEMPLOYED, STUDENT, HOMEMAKER, INACTIVE or MISSING."
    )

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        cond = ~enum_in(household.members("occupation", period), NOT_WORKING)
        return _share_of_adults(household, period, cond)


class pmt_share_15plus_machine_operators(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): share of members aged 15+ operating equipment or machinery"
    documentation = "Among members aged 15+, the share with occupation MACHINE_OPERATOR."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        cond = enum_in(household.members("occupation", period), ("MACHINE_OPERATOR",))
        return _share_of_adults(household, period, cond)


class pmt_share_15plus_in_trade(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): share of members aged 15+ in trade"
    documentation = "Among members aged 15+, the share with occupation TRADER."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        cond = enum_in(household.members("occupation", period), ("TRADER",))
        return _share_of_adults(household, period, cond)


class pmt_share_15plus_literate(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): share of members aged 15+ who can read and write"
    documentation = "Among members aged 15+, the share with literate True."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _share_of_adults(household, period, household.members("literate", period))


class pmt_share_senior_managers(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): share of members who are senior managers or hold responsibility"
    documentation = "Among all members (any age), the share with occupation SENIOR_MANAGER."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        cond = enum_in(household.members("occupation", period), ("SENIOR_MANAGER",))
        size = household("household_size", period)
        return np.divide(household.sum(cond), size, out=np.zeros(household.count), where=size > 0)


# ---------------------------------------------------------------- assets and finance


class pmt_owns_computer(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): owns at least one computer"
    documentation = "Questionnaire computers >= 1."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("computers", period) >= 1


class pmt_satellite_dish(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): satellite dish"
    documentation = "Questionnaire satellite_dish."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("satellite_dish", period)


class pmt_landline(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): landline telephone"
    documentation = "Questionnaire landline."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("landline", period)


class pmt_loan(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): loan from a bank, financial institution or employer"
    documentation = "Questionnaire loan."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("loan", period)


class pmt_mobile_phones(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): number of mobile phones"
    documentation = "Questionnaire mobile_phones."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("mobile_phones", period)


class pmt_cars(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): number of cars"
    documentation = "Questionnaire cars."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("cars", period)


class pmt_motorcycles(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT (urban): number of motorcycles"
    documentation = "Questionnaire motorcycles."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("motorcycles", period)


class pmt_owns_car(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): owns a car"
    documentation = "Questionnaire cars >= 1. [U] No published rural coefficient: 0 in MA-PMT-UNOFFICIAL-1."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("cars", period) >= 1


class pmt_owns_motorcycle(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): owns a motorcycle"
    documentation = "Questionnaire motorcycles >= 1."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("motorcycles", period) >= 1


class pmt_non_agricultural_land(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): owns non-agricultural land"
    documentation = "Questionnaire non_agricultural_land."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("non_agricultural_land", period)


class pmt_irrigated_land(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): owns or farms irrigated land"
    documentation = "Questionnaire irrigated_land."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("irrigated_land", period)


class pmt_cows(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): number of cows"
    documentation = "Questionnaire cows."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("cows", period)


# ---------------------------------------------------------------- spending (MAD a year per person)


class pmt_butane_per_capita(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "PMT: annual butane spending per person (MAD)"
    documentation = "spend_butane (MAD a month) × 12 ÷ household_size."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _per_capita_year(household, period, "spend_butane")


class pmt_water_electricity_per_capita(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "PMT: annual water and electricity spending per person (MAD)"
    documentation = "spend_water_electricity (MAD a month) × 12 ÷ household_size."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _per_capita_year(household, period, "spend_water_electricity")


class pmt_phone_internet_per_capita(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "PMT: annual telephone and internet spending per person (MAD)"
    documentation = "spend_phone_internet (MAD a month) × 12 ÷ household_size."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return _per_capita_year(household, period, "spend_phone_internet")
