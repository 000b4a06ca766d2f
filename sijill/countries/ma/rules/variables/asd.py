"""Aide sociale directe (ASD): eligibility, monthly aid and one-off grants (law 58-23).

Monthly aid of an eligible household::

    with a child under 21:  max(floor, child allowance + orphan supplement + disability supplement)
    otherwise:              flat allowance if a member has the elderly age, else 0

reported in parts that add up to ``asd_monthly``: ``asd_child_allowance``,
``asd_orphan_supplement``, ``asd_disability_supplement``, ``asd_floor_top_up`` and
``asd_flat_allowance``. One-offs of the month: ``asd_birth_grant``, ``asd_school_start_grant``.
Every household amount is 0 when the household is not eligible that month.

A "child" is a member who is neither the head nor a spouse of the head and is under 21 on
the first day of the month (see the parameters' documentation for the [U]/[I] readings).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from openfisca_core.periods import MONTH
from openfisca_core.variables import Variable

from sijill.core.enums import DISABILITY_SEVERITY
from sijill.countries.ma.rules.variables.amo import at_or_below
from sijill.targeting.openfisca.entities import Household, Person
from sijill.targeting.openfisca.helpers import add_months, enum_at_least, enum_in, rank_in_household

ASD_REFERENCES = [
    "https://anss.gov.ma/fr/typologies-d-aides",
    "https://anss.gov.ma/en/asd-sociales-directes",
    "https://lematin.ma/nation/tout-ce-quil-faut-savoir-sur-le-programme-daide-sociale-directe/203441/amp",
]


def _households(person: Any) -> Any:
    return person.simulation.populations["household"]


# ---------------------------------------------------------------- eligibility


class asd_eligible(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "Eligible for the Aide sociale directe"
    reference = [
        "https://aumaroc.org/?p=88806",
        "https://lematin.ma/nation/tout-ce-quil-faut-savoir-sur-le-programme-daide-sociale-directe/203441/amp",
        "https://www.lexisma.info/2023/12/18/publication-au-borm-n-7253-du-dahir-n-1-23-87-portant-promulgation-de-la-loi-n-58-23-relative-au-regime-daide-sociale-directe/",
    ]
    documentation = (
        "pmt_score <= asd.threshold AND resides_in_country AND NOT receives_other_family_allowance "
        "(law 58-23: residence of the head in Morocco; no cumulation with family allowances under other laws). "
        "From December 2023."
    )

    def formula_2023_12_01(household: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period)
        below = at_or_below(household("pmt_score", period), p.asd.threshold, p.rsu.at_threshold_is_eligible)
        return (
            below
            & household("resides_in_country", period)
            & ~household("receives_other_family_allowance", period)
        )


# ---------------------------------------------------------------- children (person level)


class asd_counted_child(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = (
        "ASD: a child of the household (not the head or a spouse, aged 0 to 20 on the first day of the month)"
    )

    def formula_2023_12_01(person: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period).asd.child_allowance
        age = person("age", period)
        not_parent = ~person("is_household_head", period) & ~person("is_household_spouse", period)
        return not_parent & (age >= 0) & (age < p.age_limit)


class asd_child_rank(Variable):  # type: ignore[misc]
    value_type = int
    entity = Person
    definition_period = MONTH
    label = "ASD: rank of the child among the household's children (1 = first; 0 = not a counted child)"
    documentation = "By birth date, eldest first (parameter asd.child_allowance.rank_order [U]); ties keep registry order."

    def formula_2023_12_01(person: Any, period: Any, parameters: Any) -> Any:
        order = parameters(period).asd.child_allowance.rank_order
        if order not in ("eldest_first", "youngest_first"):
            raise ValueError(f"asd.child_allowance.rank_order: unknown value '{order}'")
        counted = person("asd_counted_child", period)
        birth = person("birth_date", period)
        return rank_in_household(_households(person), counted, birth, eldest_first=order == "eldest_first")


class asd_young_or_in_school(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "ASD: aged under 6, or in school (the higher amount of the child's rank)"

    def formula_2023_12_01(person: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period).asd.child_allowance
        return (person("age", period) < p.young_child_age_limit) | person("in_school", period)


class asd_child_amount(Variable):  # type: ignore[misc]
    value_type = float
    entity = Person
    definition_period = MONTH
    unit = "currency-MAD"
    label = "ASD: ordinary monthly amount of the child by rank, age and schooling (before orphan uplift)"
    reference = ASD_REFERENCES

    def formula_2023_12_01(person: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period).asd.child_allowance
        rank = person("asd_child_rank", period)
        higher = person("asd_young_or_in_school", period)
        first = (rank >= 1) & (rank <= p.higher_rate_ranks)
        later = (rank > p.higher_rate_ranks) & (rank <= p.max_children)
        return np.select(
            [first & higher, first, later & higher, later],
            [
                p.rank_1_3_young_or_in_school,
                p.rank_1_3_not_in_school,
                p.rank_4_6_young_or_in_school,
                p.rank_4_6_not_in_school,
            ],
            0,
        )


class asd_orphan_uplift(Variable):  # type: ignore[misc]
    value_type = float
    entity = Person
    definition_period = MONTH
    unit = "currency-MAD"
    label = "ASD: extra amount of a paternal orphan of rank 1-3 aged under 6 or in school (orphan amount minus ordinary amount)"
    reference = [
        "https://mobile.ledesk.ma/datadesk/aides-sociales-directes-versees-a-partir-de-ce-jeudi-ce-quil-y-a-a-retenir/",
        "https://www.ahdath.info/ampArticle/246958",
    ]

    def formula_2023_12_01(person: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period).asd.paternal_orphan
        rank = person("asd_child_rank", period)
        entitled = (
            person("paternal_orphan", period)
            & (rank >= 1)
            & (rank <= p.max_rank)
            & person("asd_young_or_in_school", period)
        )
        return np.where(entitled, np.maximum(p.amount - person("asd_child_amount", period), 0), 0)


class asd_disabled_child(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "ASD: a child under 21 with a disability of the minimum severity or worse (any rank)"

    def formula_2023_12_01(person: Any, period: Any, parameters: Any) -> Any:
        minimum = parameters(period).asd.disability.min_severity
        severe = enum_at_least(person("disability_severity", period), DISABILITY_SEVERITY, minimum)
        return person("asd_counted_child", period) & severe


class asd_birth_rank(Variable):  # type: ignore[misc]
    value_type = int
    entity = Person
    definition_period = MONTH
    label = (
        "ASD: birth rank among the household's children (role child, any age; 1 = eldest; 0 = not a child)"
    )

    def formula_2023_12_01(person: Any, period: Any, parameters: Any) -> Any:
        return rank_in_household(
            _households(person),
            person("has_child_role", period),
            person("birth_date", period),
            eldest_first=True,
        )


class asd_birth_grant_due(Variable):  # type: ignore[misc]
    value_type = float
    entity = Person
    definition_period = MONTH
    unit = "currency-MAD"
    label = "ASD: birth grant for this child claimed this month (before the household's eligibility)"
    reference = [
        "https://www.welovebuzz.com/des-allocations-de-naissance-au-maroc-allant-jusqua-2000-dh-pour-les-familles",
        "https://lematin.ma/nation/tout-ce-quil-faut-savoir-sur-le-programme-daide-sociale-directe/203441/amp",
    ]
    documentation = (
        "Claim date in this month, on or after the birth and at most claim_window_months after it; "
        "2000 for birth rank 1, 1000 for rank 2, nothing after."
    )

    def formula_2023_12_01(person: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period).asd.birth_grant
        claim = np.asarray(person("birth_grant_claim_date", period), dtype="datetime64[D]")
        first_day = np.datetime64(str(period.start), "D")
        last_day = np.datetime64(str(period.stop), "D")
        this_month = (claim >= first_day) & (claim <= last_day)
        out = np.zeros(len(claim), dtype=np.float32)
        if not this_month.any():
            return out  # no claim this month: skip the ranking
        birth = np.asarray(person("birth_date", period), dtype="datetime64[D]")
        idx = np.flatnonzero(this_month)
        in_window = (claim[idx] >= birth[idx]) & (
            claim[idx] <= add_months(birth[idx], int(p.claim_window_months))
        )
        rank = person("asd_birth_rank", period)[idx]
        out[idx] = np.select(
            [in_window & (rank == 1), in_window & (rank == 2)], [p.first_birth, p.second_birth], 0
        )
        return out


class asd_school_start_grant_due(Variable):  # type: ignore[misc]
    value_type = float
    entity = Person
    definition_period = MONTH
    unit = "currency-MAD"
    label = "ASD: school-start grant for this pupil this month (before the household's eligibility)"
    reference = ["https://fr.allafrica.com/stories/202407250189.html"]
    documentation = (
        "In the payment month (September) only: a counted child in_school in a PUBLIC school, 200 for PRIMARY or "
        "LOWER_SECONDARY, 300 for UPPER_SECONDARY; at most max_children per household, the eldest pupils first [I]."
    )

    def formula_2024_07_01(person: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period).asd.school_start_grant
        n = person.count
        if period.start.month != p.payment_month:
            return np.zeros(n, dtype=np.float32)
        level = person("school_level", period)
        lower = enum_in(level, ("PRIMARY", "LOWER_SECONDARY"))
        upper = enum_in(level, ("UPPER_SECONDARY",))
        pupil = (
            person("asd_counted_child", period)
            & person("in_school", period)
            & enum_in(person("school_sector", period), ("PUBLIC",))
            & (lower | upper)
        )
        rank = rank_in_household(_households(person), pupil, person("birth_date", period), eldest_first=True)
        paid = pupil & (rank <= p.max_children)
        return np.select([paid & lower, paid & upper], [p.primary_or_lower_secondary, p.upper_secondary], 0)


# ---------------------------------------------------------------- household amounts


class asd_has_children(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "ASD: the household has at least one child under 21"

    def formula_2023_12_01(household: Any, period: Any, parameters: Any) -> Any:
        return household.any(household.members("asd_counted_child", period))


class asd_has_elderly_member(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "ASD: a member has at least the elderly age of the flat allowance (65, then 60)"

    def formula_2023_12_01(household: Any, period: Any, parameters: Any) -> Any:
        elderly_age = parameters(period).asd.flat_allowance.elderly_age
        return household.any(household.members("age", period) >= elderly_age)


class asd_child_allowance(Variable):  # type: ignore[misc]
    value_type = float
    entity = Household
    definition_period = MONTH
    unit = "currency-MAD"
    label = "ASD: monthly child allowance (ordinary amounts of the first six children)"
    reference = ASD_REFERENCES

    def formula_2023_12_01(household: Any, period: Any, parameters: Any) -> Any:
        total = household.sum(household.members("asd_child_amount", period))
        return np.where(household("asd_eligible", period), total, 0)


class asd_orphan_supplement(Variable):  # type: ignore[misc]
    value_type = float
    entity = Household
    definition_period = MONTH
    unit = "currency-MAD"
    label = "ASD: monthly paternal-orphan supplement (orphan amount minus ordinary amount, ranks 1-3)"

    def formula_2023_12_01(household: Any, period: Any, parameters: Any) -> Any:
        total = household.sum(household.members("asd_orphan_uplift", period))
        return np.where(household("asd_eligible", period), total, 0)


class asd_disability_supplement(Variable):  # type: ignore[misc]
    value_type = float
    entity = Household
    definition_period = MONTH
    unit = "currency-MAD"
    label = "ASD: monthly disability supplement (per disabled child under 21, any rank)"
    reference = [
        "https://mobile.ledesk.ma/datadesk/aides-sociales-directes-versees-a-partir-de-ce-jeudi-ce-quil-y-a-a-retenir/"
    ]

    def formula_2023_12_01(household: Any, period: Any, parameters: Any) -> Any:
        amount = parameters(period).asd.disability.amount
        count = household.sum(household.members("asd_disabled_child", period))
        return np.where(household("asd_eligible", period), count * amount, 0)


class asd_floor_top_up(Variable):  # type: ignore[misc]
    value_type = float
    entity = Household
    definition_period = MONTH
    unit = "currency-MAD"
    label = "ASD: top-up bringing the aid of a household with children to the floor (500)"
    reference = ["https://anss.gov.ma/fr/typologies-d-aides"]

    def formula_2023_12_01(household: Any, period: Any, parameters: Any) -> Any:
        floor = parameters(period).asd.floor
        parts = (
            household("asd_child_allowance", period)
            + household("asd_orphan_supplement", period)
            + household("asd_disability_supplement", period)
        )
        due = household("asd_eligible", period) & household("asd_has_children", period)
        return np.where(due, np.maximum(floor - parts, 0), 0)


class asd_flat_allowance(Variable):  # type: ignore[misc]
    value_type = float
    entity = Household
    definition_period = MONTH
    unit = "currency-MAD"
    label = "ASD: flat allowance of a household with no child under 21 and an elderly member"
    reference = ["https://anss.gov.ma/en/asd-sociales-directes"]

    def formula_2023_12_01(household: Any, period: Any, parameters: Any) -> Any:
        amount = parameters(period).asd.flat_allowance.amount
        due = (
            household("asd_eligible", period)
            & ~household("asd_has_children", period)
            & household("asd_has_elderly_member", period)
        )
        return np.where(due, amount, 0)


class asd_monthly(Variable):  # type: ignore[misc]
    value_type = float
    entity = Household
    definition_period = MONTH
    unit = "currency-MAD"
    label = "ASD: monthly aid of the household (MAD; 0 if not eligible)"
    reference = ASD_REFERENCES
    documentation = (
        "asd_child_allowance + asd_orphan_supplement + asd_disability_supplement + asd_floor_top_up "
        "+ asd_flat_allowance. One-off grants are separate (asd_birth_grant, asd_school_start_grant)."
    )

    def formula_2023_12_01(household: Any, period: Any, parameters: Any) -> Any:
        return (
            household("asd_child_allowance", period)
            + household("asd_orphan_supplement", period)
            + household("asd_disability_supplement", period)
            + household("asd_floor_top_up", period)
            + household("asd_flat_allowance", period)
        )


class asd_birth_grant(Variable):  # type: ignore[misc]
    value_type = float
    entity = Household
    definition_period = MONTH
    unit = "currency-MAD"
    label = "ASD: birth grants claimed this month by an eligible household (one-off)"

    def formula_2023_12_01(household: Any, period: Any, parameters: Any) -> Any:
        total = household.sum(household.members("asd_birth_grant_due", period))
        return np.where(household("asd_eligible", period), total, 0)


class asd_school_start_grant(Variable):  # type: ignore[misc]
    value_type = float
    entity = Household
    definition_period = MONTH
    unit = "currency-MAD"
    label = "ASD: school-start grant of an eligible household (September, one-off)"

    def formula_2024_07_01(household: Any, period: Any, parameters: Any) -> Any:
        total = household.sum(household.members("asd_school_start_grant_due", period))
        return np.where(household("asd_eligible", period), total, 0)


class asd_beneficiary(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "ASD beneficiary: eligible, and an aid category applies (a child under 21, or the flat allowance)"
    reference = ["https://anss.gov.ma/en/asd-sociales-directes", "https://anss.gov.ma/fr/typologies-d-aides"]
    documentation = (
        "asd_eligible AND (asd_has_children OR asd_has_elderly_member). A household under the threshold "
        "with neither a child under 21 nor a member of the flat allowance's age has no ASD category to "
        "receive (ANSS: child aid, or the flat aid for households without children, notably the elderly). "
        "This is the programme's decision; asd_eligible is the score, residence and cumulation test alone."
    )

    def formula_2023_12_01(household: Any, period: Any, parameters: Any) -> Any:
        return household("asd_eligible", period) & (
            household("asd_has_children", period) | household("asd_has_elderly_member", period)
        )
