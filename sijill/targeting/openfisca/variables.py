"""Generic OpenFisca variables, generated from a country profile.

Every country gets the same person and household inputs, typed from its own code lists:

* person inputs: ``birth_date``, ``sex``, ``relationship``, ``education_level``,
  ``occupation``, ``health_coverage``, ``school_sector``, ``school_level``,
  ``disability_type``, ``disability_severity``, ``in_school``, ``literate``,
  ``paternal_orphan`` and ``birth_grant_claim_date``;
* household inputs: one variable per question of the country's questionnaire, with the
  question's name, plus ``region``, ``area_code``, ``milieu``, ``resides_in_country`` and
  ``receives_other_family_allowance``;
* computed helpers: ``age`` (full years on the first day of the period), the role flags
  ``is_household_head`` / ``is_household_spouse`` / ``has_child_role``, and
  ``household_head_index`` / ``household_size``.

Every enum has a first item ``MISSING``, its default, which stands for a blank answer.
Floats that feed a score are float64 (:class:`Float64Variable`): OpenFisca's default
float32 keeps only about 7 significant digits, not enough for a 7-decimal index near 10.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from openfisca_core.indexed_enums import Enum
from openfisca_core.periods import ETERNITY, MONTH
from openfisca_core.variables import Variable

from sijill.core import enums as core_enums
from sijill.countries.base import CountryProfile, Question
from sijill.targeting.openfisca.entities import Household, Person

NO_DATE = dt.date(1970, 1, 1)


class Float64Variable(Variable):  # type: ignore[misc]
    """A float variable stored as float64 instead of OpenFisca's float32."""

    def __init__(self, baseline_variable: Any = None) -> None:
        super().__init__(baseline_variable)
        self.dtype = np.float64


def make_enum(name: str, codes: Sequence[str], labels: Mapping[str, Mapping[str, str]] | None = None) -> Any:
    """An OpenFisca Enum with ``MISSING`` first, then ``codes`` in order.

    Item values are the French labels (made unique), as OpenFisca shows them in its API.
    """
    labels = labels or {}
    items: list[tuple[str, str]] = [("MISSING", "Non renseigné")]
    seen = {"Non renseigné"}
    for code in codes:
        text = (labels.get(code) or {}).get("fr") or code
        if text in seen:
            text = f"{text} ({code})"
        seen.add(text)
        items.append((code, text))
    return Enum(name, items)


def _variable(name: str, base: type = Variable, **attrs: Any) -> type:
    return type(name, (base,), attrs)


def _labels_doc(labels: Mapping[str, Mapping[str, str]], codes: Iterable[str]) -> str:
    lines = []
    for c in codes:
        lab = labels.get(c) or {}
        lines.append(f"- {c}: {lab.get('fr', c)} / {lab.get('en', c)}")
    return "\n".join(lines)


def person_enum_codes(profile: CountryProfile) -> dict[str, tuple[str, ...]]:
    """Code list of each person enum: the profile's, else the core list."""
    core = {
        "sex": core_enums.SEX,
        "relationship": core_enums.RELATIONSHIP,
        "education_level": core_enums.EDUCATION_LEVEL,
        "occupation": (),
        "health_coverage": (),
        "school_sector": core_enums.SCHOOL_SECTOR,
        "school_level": core_enums.SCHOOL_LEVEL,
        "disability_type": core_enums.DISABILITY_TYPE,
        "disability_severity": core_enums.DISABILITY_SEVERITY,
    }
    out: dict[str, tuple[str, ...]] = {}
    for name, fallback in core.items():
        if name in ("sex", "relationship"):
            out[name] = tuple(fallback)  # generic lists; the profile only labels them
        else:
            out[name] = tuple(profile.enums.get(name) or fallback)
    return out


PERSON_ENUM_LABELS = {
    "sex": "Sex",
    "relationship": "Relationship to the head of household",
    "education_level": "Highest level of education completed",
    "occupation": "Main occupation (socio-professional category)",
    "health_coverage": "Health insurance regime",
    "school_sector": "Sector of the school attended (public or private)",
    "school_level": "Level of the school attended",
    "disability_type": "Main functional difficulty (Washington Group domain)",
    "disability_severity": "Severity of the difficulty (ICF qualifier)",
}


def person_input_variables(profile: CountryProfile) -> list[type]:
    prefix = profile.code
    out: list[type] = [
        _variable(
            "birth_date",
            value_type=dt.date,
            entity=Person,
            definition_period=ETERNITY,
            default_value=NO_DATE,
            label="Date of birth",
        ),
        _variable(
            "birth_grant_claim_date",
            value_type=dt.date,
            entity=Person,
            definition_period=ETERNITY,
            default_value=NO_DATE,
            label="Date the birth grant was claimed for this child (1970-01-01 = no claim)",
        ),
    ]
    for name, codes in person_enum_codes(profile).items():
        labels = profile.enum_labels.get(name, {})
        enum = make_enum(f"{prefix}_{name}", codes, labels)
        out.append(
            _variable(
                name,
                value_type=Enum,
                possible_values=enum,
                default_value=enum.MISSING,
                entity=Person,
                definition_period=MONTH,
                label=PERSON_ENUM_LABELS[name],
                documentation=f"Codes of the {profile.code} profile (MISSING = blank):\n"
                + _labels_doc(labels, codes),
            )
        )
    for name, label in (
        ("in_school", "Attends school or training"),
        ("literate", "Can read and write"),
        ("paternal_orphan", "The person's father is deceased"),
    ):
        out.append(
            _variable(
                name,
                value_type=bool,
                entity=Person,
                definition_period=MONTH,
                default_value=False,
                label=label,
            )
        )
    return out


def question_variable(profile: CountryProfile, q: Question) -> type:
    label = q.label.get("en") or q.label.get("fr") or q.name
    doc = " / ".join(v for v in (q.label.get("fr"), q.label.get("ar")) if v)
    if q.unit:
        doc += f" (unit: {q.unit})"
    if q.milieu:
        doc += f" Asked only in {'rural' if q.milieu == 'R' else 'urban'} households; 0/False elsewhere."
    common: dict[str, Any] = {
        "entity": Household,
        "definition_period": MONTH,
        "label": label,
        "documentation": f"Questionnaire {profile.questionnaire.version}: {doc}",
    }
    if q.type == "int":
        return _variable(q.name, value_type=int, default_value=0, **common)
    if q.type == "decimal":
        return _variable(q.name, base=Float64Variable, value_type=float, default_value=0.0, **common)
    if q.type == "bool":
        return _variable(q.name, value_type=bool, default_value=False, **common)
    if q.type == "enum":
        enum = make_enum(f"{profile.code}_{q.name}", q.choices, q.choice_labels)
        return _variable(q.name, value_type=Enum, possible_values=enum, default_value=enum.MISSING, **common)
    return _variable(q.name, value_type=str, default_value="", **common)


def household_input_variables(profile: CountryProfile) -> list[type]:
    out = [question_variable(profile, q) for q in profile.questionnaire.questions]
    milieu = make_enum(
        f"{profile.code}_milieu",
        core_enums.MILIEU,
        {"U": {"fr": "Urbain", "en": "Urban"}, "R": {"fr": "Rural", "en": "Rural"}},
    )
    top = profile.area_levels[0].code
    out += [
        _variable(
            "region",
            value_type=str,
            default_value="",
            entity=Household,
            definition_period=MONTH,
            label=f"Code of the household's {top} (top administrative level), e.g. {profile.code}-01",
        ),
        _variable(
            "area_code",
            value_type=str,
            default_value="",
            entity=Household,
            definition_period=MONTH,
            label="Code of the household's area (lowest administrative level known)",
        ),
        _variable(
            "milieu",
            value_type=Enum,
            possible_values=milieu,
            default_value=milieu.MISSING,
            entity=Household,
            definition_period=MONTH,
            label="Urban (U) or rural (R) milieu of the dwelling",
        ),
        _variable(
            "resides_in_country",
            value_type=bool,
            default_value=True,
            entity=Household,
            definition_period=MONTH,
            label="The head of household resides in the country",
        ),
        _variable(
            "receives_other_family_allowance",
            value_type=bool,
            default_value=False,
            entity=Household,
            definition_period=MONTH,
            label="The household receives family allowances under another scheme (e.g. an employer's)",
        ),
    ]
    return out


# ---------------------------------------------------------------- computed, country-agnostic


class age(Variable):  # type: ignore[misc]
    value_type = int
    entity = Person
    definition_period = MONTH
    label = "Age in full years on the first day of the period"
    documentation = "Negative for a person born after the first day of the period."

    def formula(person: Any, period: Any, parameters: Any) -> Any:
        from sijill.targeting.openfisca.helpers import year_month_day

        birth_year, birth_month, birth_day = year_month_day(person("birth_date", period))
        start = period.start
        before_birthday = (start.month < birth_month) | (
            (start.month == birth_month) & (start.day < birth_day)
        )
        return start.year - birth_year - before_birthday


class is_household_head(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Person
    definition_period = ETERNITY
    label = "The person is the head of their household"

    def formula(person: Any, period: Any, parameters: Any) -> Any:
        return person.has_role(Household.HEAD)


class is_household_spouse(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Person
    definition_period = ETERNITY
    label = "The person is a spouse of the head of their household"

    def formula(person: Any, period: Any, parameters: Any) -> Any:
        return person.has_role(Household.SPOUSE)


class has_child_role(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Person
    definition_period = ETERNITY
    label = "The person is a child, stepchild or grandchild of the head (household role 'child')"

    def formula(person: Any, period: Any, parameters: Any) -> Any:
        return person.has_role(Household.CHILD)


class household_head_index(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = ETERNITY
    label = "Technical: position of the household's head in the persons arrays (-1: no head)"

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        from sijill.targeting.openfisca.helpers import head_index

        return head_index(household, period)


class household_size(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = ETERNITY
    label = "Number of members of the household in the simulation"

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household.nb_persons()


class pmt_household_size(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT: number of household members"
    documentation = "Number of members of the household in the simulation (every PMT model uses it)."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        return household("household_size", period)


class pmt_household_size_sq(Variable):  # type: ignore[misc]
    value_type = int
    entity = Household
    definition_period = MONTH
    label = "PMT: number of household members, squared"
    documentation = "pmt_household_size²."

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        size = household("household_size", period)
        return size * size


COMPUTED_VARIABLES: list[type] = [
    age,
    is_household_head,
    is_household_spouse,
    has_child_role,
    household_head_index,
    household_size,
    pmt_household_size,
    pmt_household_size_sq,
]


def generic_variables(profile: CountryProfile) -> list[type]:
    """All generic variables of a country: inputs typed from its profile, then computed helpers."""
    return [*person_input_variables(profile), *household_input_variables(profile), *COMPUTED_VARIABLES]


class pmt_score(Float64Variable):
    value_type = float
    entity = Household
    definition_period = MONTH
    default_value = float("nan")
    label = "Socio-economic index (PMT score) of the household"
    documentation = """
    score = Σ coef·feature (features and coefficients of the household's milieu)
            + region constant (milieu, top-level area) + milieu constant,
    rounded to the model's decimals, so that comparing it with a threshold written with as
    many decimals is exact. The model is the ``pmt`` parameter subtree (see
    sijill.targeting.openfisca.pmt). NaN when the milieu is MISSING or has no model:
    such a household cannot be scored and is eligible for nothing. NaN too before the
    model's effective date. A region the model does not list gets a constant of 0 (the reference region).
    """

    def formula(household: Any, period: Any, parameters: Any) -> Any:
        from sijill.targeting.openfisca.helpers import lookup

        score = np.full(household.count, np.nan, dtype=np.float64)
        params = parameters(period)
        p = params.pmt if "pmt" in params else None
        if p is None or "decimals" not in p:
            return score  # no model in force at this date (before its effective_from)
        milieu = household("milieu", period)
        region = None
        coefficients = p.coefficients if "coefficients" in p else {}
        region_constant = p.region_constant if "region_constant" in p else {}
        for m in ("U", "R"):
            if m not in p.milieu_constant:
                continue
            in_milieu = np.asarray(milieu == milieu.possible_values[m])
            if not in_milieu.any():
                continue
            total = np.full(household.count, float(p.milieu_constant[m]), dtype=np.float64)
            if m in coefficients:
                coefs = coefficients[m]
                for name in coefs:
                    total += float(coefs[name]) * np.asarray(household(name, period), dtype=np.float64)
            if m in region_constant:
                if region is None:
                    region = household("region", period)
                node = region_constant[m]
                total += lookup(region, {code: float(node[code]) for code in node})
            score = np.where(in_milieu, total, score)
        return np.round(score, int(p.decimals))
