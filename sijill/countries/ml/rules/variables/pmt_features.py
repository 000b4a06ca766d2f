"""Features of the PLACEHOLDER PMT model of Mali (ML-PMT-PLACEHOLDER-1).

Mali's RSU formula was not found [U]. These are the usual predictors of Sahel PMTs (household
size and dependants, head's education, dwelling materials, water, sanitation, electricity,
assets, livestock), built from Mali's questionnaire, so that the registry can be scored end to
end until ``sijill pmt fit`` estimates a real model. Members are the persons of the household in
the simulation; ages on the first day of the period.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from openfisca_core.periods import MONTH
from openfisca_core.variables import Variable

from sijill.targeting.openfisca.entities import Household
from sijill.targeting.openfisca.helpers import enum_in, head_value
from sijill.targeting.openfisca.variables import Float64Variable


class pmt_share_children_under_15(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    label = "PMT: share of members aged under 15"
    documentation = "Members with 0 <= age < 15, divided by household_size."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        age = household.members("age", period)
        size = household("household_size", period)
        young = household.sum((age >= 0) & (age < 15))
        return np.divide(young, size, out=np.zeros(household.count), where=size > 0)


class pmt_head_any_education(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: the head has some formal education"
    documentation = "education_level of the head is PRIMARY or above (not NONE, not MISSING)."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        educated = ~enum_in(household.members("education_level", period), ("NONE", "MISSING"))
        return head_value(household, period, educated, False)


class pmt_improved_roof(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: roof of metal sheet, concrete or tiles"
    documentation = "roof_material in METAL_SHEET, CONCRETE, TILES."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return enum_in(household("roof_material", period), ("METAL_SHEET", "CONCRETE", "TILES"))


class pmt_improved_floor(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: cement or tiled floor"
    documentation = "floor_material in CEMENT, TILES."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return enum_in(household("floor_material", period), ("CEMENT", "TILES"))


class pmt_grid_electricity(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: lit by grid electricity"
    documentation = "lighting_source is GRID."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return enum_in(household("lighting_source", period), ("GRID",))


class pmt_improved_water(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: improved source of drinking water"
    documentation = "water_source in PIPED_DWELLING, PUBLIC_TAP, BOREHOLE, PROTECTED_WELL."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return enum_in(
            household("water_source", period), ("PIPED_DWELLING", "PUBLIC_TAP", "BOREHOLE", "PROTECTED_WELL")
        )


class pmt_improved_toilet(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: flush toilet or improved latrine"
    documentation = "toilet_type in FLUSH, IMPROVED_LATRINE."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return enum_in(household("toilet_type", period), ("FLUSH", "IMPROVED_LATRINE"))


class pmt_television(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "PMT: owns a television"
    documentation = "Questionnaire television."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("television", period)


class pmt_mobile_phones(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT: number of mobile phones"
    documentation = "Questionnaire mobile_phones."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("mobile_phones", period)


class pmt_motorcycles(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT: number of motorcycles"
    documentation = "Questionnaire motorcycles."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("motorcycles", period)


class pmt_cattle(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): number of cattle"
    documentation = "Questionnaire cattle."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("cattle", period)


class pmt_small_ruminants(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): number of sheep and goats"
    documentation = "Questionnaire sheep + goats."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("sheep", period) + household("goats", period)


class pmt_ploughs(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT (rural): number of ploughs"
    documentation = "Questionnaire ploughs."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("ploughs", period)
