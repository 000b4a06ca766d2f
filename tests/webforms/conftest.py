"""Helpers for the staff forms' tests: accounts of Casablanca (MA-CAS), and the form fields of
a valid household as a browser would post them."""

from __future__ import annotations

from typing import Any

import pytest

from tests import staff
from tests.conftest import household_row, person_row


@pytest.fixture
def geo(db):
    staff.geography()


@pytest.fixture
def enumerator(geo):
    return staff.staff("enum-cas", "ENUMERATOR", ("MA-CAS",))


@pytest.fixture
def checker(geo):
    return staff.staff("sw-cas", "SOCIAL_WORKER", ("MA-CAS",))


def commune(province: str = "MA-CAS") -> Any:
    return staff.commune_in(province)


def household_fields(ma: Any, area_code: str) -> dict[str, str]:
    """The household part of the form: a valid urban household of the questionnaire."""
    row = household_row(ma, "x", milieu="U")
    for k in ("household_ref", "registered_on", "milieu"):
        row.pop(k)
    row["area_code"] = area_code
    row["phone"] = "0612345678"
    row["address"] = "12 rue des Orangers"
    return {k: str(v) for k, v in row.items()}


def member_fields(token: str, relationship: str = "HEAD", **over: Any) -> dict[str, str]:
    row = person_row("x", "x", relationship, **over)
    for k in ("person_ref", "household_ref"):
        row.pop(k)
    return {f"m-{token}-{k}": str(v) for k, v in row.items() if v is not None}


def post_data(hh: dict[str, str], members: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
    data: dict[str, Any] = dict(hh)
    for _token, fields in members:
        data.update(fields)
    data["member"] = [t for t, _f in members]
    return data
