"""Helpers for the web tests: staff accounts and small households written with the ORM.

Two provinces of Morocco's real geography are used: Casablanca (MA-CAS, region MA-06) and
Rabat (MA-RAB, region MA-04).
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone

PASSWORD = "correct-horse-battery-7"
_seq = itertools.count(1)


def geography() -> None:
    from sijill.countries import get_profile
    from sijill.registry.geography import ensure_geography

    ensure_geography(get_profile("ma"))


def staff(username: str, role: str, areas: tuple[str, ...] = (), national: bool | None = None) -> Any:
    from sijill.accounts.services import create_staff_user

    return create_staff_user(username, PASSWORD, role, areas, national=national, check_password=False)


def commune_in(province: str) -> Any:
    from sijill.registry.models import AdminArea

    return AdminArea.objects.filter(
        path__startswith=f"{AdminArea.objects.get(code=province).path}/"
    ).order_by("code")[0]


def household(province: str, *, area_path: str | None = None, amount: str | None = None) -> Any:
    """A household of two in the first commune of ``province``, optionally with a current
    eligible ASD decision of ``amount`` a month."""
    from sijill.core.models import ChangeSet
    from sijill.programmes.models import Decision
    from sijill.registry.models import Household, Membership, Person
    from sijill.targeting.models import ScoringRun

    now = timezone.now()
    n = next(_seq)
    area = commune_in(province)
    cs = ChangeSet.objects.create(at=now, actor_name="test", channel="CENTRE", reason="test")
    hh = Household.objects.create(
        registry_id=f"T{n:010d}",
        country="MA",
        area=area,
        area_path=area_path or area.path,
        milieu="U",
        address="12 rue des Orangers",
        questionnaire_version="test",
        registered_on=dt.date(2025, 7, 15),
        created_changeset=cs,
        created_at=now,
        updated_at=now,
    )
    for i, (rel, given, given_ar, sex) in enumerate(
        [("HEAD", "Mohamed", "محمد", "M"), ("SPOUSE", "Fatima Zahra", "فاطمة الزهراء", "F")]
    ):
        p = Person.objects.create(
            registry_id=f"P{n:07d}{i:04d}",
            given_name_lat=given,
            family_name_lat="El Alaoui",
            given_name_ar=given_ar,
            family_name_ar="العلوي",
            sex=sex,
            birth_date=dt.date(1980 + i, 5, 17),
            created_changeset=cs,
            created_at=now,
            updated_at=now,
        )
        Membership.objects.create(
            person=p, household=hh, relationship=rel, start_date=dt.date(2025, 7, 15), created_changeset=cs
        )
    if amount is not None:
        run = ScoringRun.objects.create(
            country="MA", as_of=dt.date(2026, 1, 1), model_version="test", parameters_version="test",
            changeset=cs, started_at=now,
        )  # fmt: skip
        Decision.objects.create(
            household=hh, programme="ASD", eligible=True, amount=Decimal(amount), run=run,
            effective_from=dt.date(2026, 1, 1), reason_code="FIRST", decided_at=now,
        )  # fmt: skip
    return hh
