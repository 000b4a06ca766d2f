"""Country profiles.

Everything that differs between countries lives in ``sijill/countries/<iso code>/``:
administrative geography, identifier formats, the socio-economic questionnaire,
synthetic-population parameters, rules and translations.

A country package is discovered automatically: adding ``countries/xx/`` with a
``profile.yaml`` is enough; no other file changes.
"""

from sijill.countries.base import (
    AreaLevel,
    CountryProfile,
    IdType,
    Question,
    Questionnaire,
    available_countries,
    get_profile,
)

__all__ = [
    "AreaLevel",
    "CountryProfile",
    "IdType",
    "Question",
    "Questionnaire",
    "available_countries",
    "get_profile",
]
