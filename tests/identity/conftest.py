"""A small registry with duplicate records, registered at a centre as an agent would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from sijill.core.history import snapshot
from sijill.registry import services
from sijill.registry.models import ExternalIdentifier, Household, Membership, Person
from tests.conftest import household_row, person_row


@dataclass
class Registry:
    households: dict[str, Household]

    def person(self, ref: str) -> Person:
        return Person.objects.get(external_ref=ref)

    def household(self, ref: str) -> Household:
        return Household.objects.get(pk=self.households[ref].pk)

    def active(self, ref: str) -> Membership | None:
        return Membership.live.filter(person=self.person(ref), end_date__isnull=True).first()


def registry_state() -> dict[tuple[str, int], dict[str, Any]]:
    """Every registry row as stored, without the counters a change moves on (version, updated_at)."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for model in (Person, Household, Membership, ExternalIdentifier):
        for obj in model.objects.order_by("pk"):
            row = snapshot(obj)
            row.pop("version", None)
            row.pop("updated_at", None)
            out[(model.__name__, obj.pk)] = row
    return out


@pytest.fixture
def dupes(ma: Any) -> Registry:
    """Four households; three persons are registered twice.

    - Salma (P4, P4B): twice in household H1; only the second record has a phone.
    - Khadija (P5, P6): head of H2 and, again, head of H3.
    - Youssef (P3, P8): a grown-up son in H1, and head of his own household H4 with his
      CNIE and phone; his mother Fatima (P2 in H1, declarant of H1) is registered again in
      H4 as his parent (P10).
    """
    khadija = {
        "given_name_lat": "Khadija",
        "given_name_ar": "خديجة",
        "family_name_lat": "Benali",
        "family_name_ar": "بنعلي",
        "sex": "F",
        "birth_date": "1950-01-01",
    }
    fatima = {
        "given_name_lat": "Fatima Zahra",
        "given_name_ar": "فاطمة الزهراء",
        "sex": "F",
        "birth_date": "1984-02-01",
    }
    youssef = {"given_name_lat": "Youssef", "given_name_ar": "يوسف", "birth_date": "2000-03-03"}
    salma = {"given_name_lat": "Salma", "given_name_ar": "سلمى", "sex": "F", "birth_date": "2019"}
    plan = [
        (
            household_row(ma, "H1", declarant_ref="P2"),
            [
                person_row("P1", "H1", "HEAD", id_type="CNIE", id_value="BK123456"),
                person_row("P2", "H1", "SPOUSE", **fatima),
                person_row("P3", "H1", "CHILD", **youssef),
                person_row("P4", "H1", "CHILD", **salma),
                person_row("P4B", "H1", "CHILD", **salma, phone="0612345678"),
            ],
        ),
        (household_row(ma, "H2"), [person_row("P5", "H2", "HEAD", **khadija)]),
        (household_row(ma, "H3"), [person_row("P6", "H3", "HEAD", **khadija, phone="0698765432")]),
        (
            household_row(ma, "H4"),
            [
                person_row(
                    "P8", "H4", "HEAD", **youssef, id_type="CNIE", id_value="BK765432", phone="0611223344"
                ),
                person_row(
                    "P9",
                    "H4",
                    "SPOUSE",
                    given_name_lat="Amina",
                    given_name_ar="أمينة",
                    sex="F",
                    birth_date="2001-06-06",
                ),
                person_row("P10", "H4", "PARENT", **fatima),
            ],
        ),
    ]
    households = {}
    for hh, members in plan:
        households[hh["household_ref"]] = services.register_household(hh, members, reason="registration")
    return Registry(households)
