"""History, as-of reads, optimistic locking and the one-active-household rule."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from sijill.core.models import HistoryEntry
from sijill.registry import selectors, services
from sijill.registry.models import Household, Membership, Person

pytestmark = pytest.mark.django_db(transaction=True)


def _register(family):
    hh, pp = family
    h1 = services.register_household(hh[0], pp[:4], channel="CENTRE", reason="first visit")
    return h1


def _tick() -> dt.datetime:
    """A moment strictly between two writes."""
    time.sleep(0.01)
    t = timezone.now()
    time.sleep(0.01)
    return t


def test_registration_gets_opaque_ids_with_check_digits(family):
    from sijill.core.checkdigits import verhoeff_valid

    h = _register(family)
    assert len(h.registry_id) == 11 and verhoeff_valid(h.registry_id)
    ids = [p.registry_id for p in Person.objects.all()]
    assert all(len(i) == 12 and verhoeff_valid(i) for i in ids)
    assert ids != sorted(ids) or len(set(i[:6] for i in ids)) > 1  # not sequential
    assert h.created_changeset.channel == "CENTRE" and h.created_changeset.reason == "first visit"


def test_registration_uses_the_import_rules(family):
    hh, pp = family
    bad = [dict(pp[0], sex="Q")]
    with pytest.raises(services.RegistryValidationError) as e:
        services.register_household(hh[0], bad)
    assert e.value.errors == {"person 1.sex": "sex must be M or F"}
    assert Household.objects.count() == 0


def test_update_records_who_when_why_channel_and_old_new_values(family, django_user_model):
    agent = django_user_model.objects.create_user("agent1", password="x" * 12)
    h = _register(family)
    h = services.update_household(
        h.pk,
        expected_version=1,
        changes={"address": "12 rue des Orangers"},
        actor=agent,
        channel="CENTRE",
        reason="moved",
    )
    e = HistoryEntry.objects.get(entity="household", entity_id=h.pk)
    assert (e.changeset.actor_name, e.changeset.channel, e.changeset.reason) == ("agent1", "CENTRE", "moved")
    assert e.old["address"] == "" and e.new["address"] == "12 rue des Orangers"
    assert e.old["version"] == 1 and e.new["version"] == 2
    tl = selectors.household_timeline(h)
    assert tl[0].changes["address"] == ("", "12 rue des Orangers")
    assert tl[-1].op == "C"


def test_concurrent_edits_are_detected_not_overwritten(family):
    h = _register(family)
    services.update_household(
        h.pk, expected_version=1, changes={"address": "A"}, channel="CENTRE", reason="r"
    )
    with pytest.raises(services.ConcurrentEditError, match="changed by someone else"):
        services.update_household(
            h.pk, expected_version=1, changes={"address": "B"}, channel="ONLINE", reason="r"
        )
    assert Household.objects.get(pk=h.pk).address == "A"
    # A member edit also moves the household's version on.
    p = Person.objects.get(external_ref="P3")
    services.update_person(
        p.pk,
        household_id=h.pk,
        expected_version=2,
        changes={"phone": "0612345678"},
        channel="CENTRE",
        reason="r",
    )
    with pytest.raises(services.ConcurrentEditError):
        services.update_household(
            h.pk, expected_version=2, changes={"address": "C"}, channel="CENTRE", reason="r"
        )


def test_household_read_as_it_stood_on_past_dates(family):
    h = _register(family)
    t0 = _tick()
    services.update_household(
        h.pk, expected_version=1, changes={"address": "Old street"}, channel="CENTRE", reason="r"
    )
    t1 = _tick()
    son = Person.objects.get(external_ref="P3")
    services.update_person(
        son.pk,
        household_id=h.pk,
        expected_version=2,
        changes={"in_school": False, "school_sector": None, "school_level": None},
        channel="ONLINE",
        reason="left school",
    )
    m = Membership.objects.get(person=son)
    t2 = _tick()
    services.end_membership(
        m.pk,
        expected_version=3,
        end_date=timezone.localdate(),
        end_reason="moved out",
        channel="CENTRE",
        reason="r",
    )
    t3 = _tick()
    services.delete_household(h.pk, expected_version=4, channel="CENTRE", reason="duplicate registration")

    before = selectors.household_as_of(h, h.created_at - dt.timedelta(seconds=1))
    assert before is None
    at0 = selectors.household_as_of(h, t0)
    assert at0.household["address"] == "" and len(at0.members) == 4
    at1 = selectors.household_as_of(h, t1)
    assert at1.household["address"] == "Old street"
    son_at1 = next(m["person"] for m in at1.members if m["person"]["external_ref"] == "P3")
    assert son_at1["in_school"] is True
    at2 = selectors.household_as_of(h, t2)
    son_at2 = next(m["person"] for m in at2.members if m["person"]["external_ref"] == "P3")
    assert son_at2["in_school"] is False
    at3 = selectors.household_as_of(h, t3)
    assert {m["person"]["external_ref"] for m in at3.members} == {"P1", "P2", "P4"}
    assert selectors.household_as_of(h, timezone.now()) is None
    # Nothing was erased.
    assert Household.objects.filter(pk=h.pk, is_deleted=True).exists()
    assert Person.objects.count() == 4


def test_identifiers_as_of(family):
    h = _register(family)
    at = selectors.household_as_of(h, timezone.now())
    head = next(m for m in at.members if m["membership"]["relationship"] == "HEAD")
    assert [(i["id_type"], i["value"]) for i in head["identifiers"]] == [("CNIE", "BK123456")]


def test_one_active_household_per_person_is_enforced_by_the_database(family):
    hh, pp = family
    h1 = services.register_household(hh[0], pp[:4])
    h2 = services.register_household(hh[1], pp[4:])
    son = Person.objects.get(external_ref="P3")
    m = Membership.objects.get(person=son)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            person=son,
            household=h2,
            relationship="OTHER_RELATIVE",
            start_date=dt.date(2025, 2, 1),
            created_changeset=m.created_changeset,
        )
    # Through the service, the same move is refused, naming the household, until the first membership has ended.
    with pytest.raises(
        services.RegistryValidationError, match=f"active member of household {h1.registry_id}"
    ):
        services.join_household(
            son.pk,
            h2.pk,
            expected_version=1,
            relationship="GRANDCHILD",
            start_date=dt.date(2025, 3, 1),
            channel="CENTRE",
            reason="r",
        )
    services.end_membership(
        m.pk,
        expected_version=1,
        end_date=dt.date(2025, 3, 1),
        end_reason="moved",
        channel="CENTRE",
        reason="r",
    )
    services.join_household(
        son.pk,
        h2.pk,
        expected_version=1,
        relationship="OTHER_RELATIVE",
        start_date=dt.date(2025, 3, 1),
        channel="CENTRE",
        reason="r",
    )
    assert Membership.live.filter(person=son, end_date__isnull=True).get().household_id == h2.pk
    assert h1.pk != h2.pk


def test_death_ends_the_membership(family):
    h = _register(family)
    grandma = Person.objects.get(external_ref="P2")
    services.update_person(
        grandma.pk,
        household_id=h.pk,
        expected_version=1,
        changes={"vital_status": "DECEASED", "death_date": "2025-06-01"},
        channel="ADMIN_DATA",
        reason="civil registry",
    )
    m = Membership.objects.get(person=grandma)
    assert m.end_date == dt.date(2025, 6, 1) and m.end_reason == "deceased"


def test_person_update_is_validated(family):
    h = _register(family)
    p = Person.objects.get(external_ref="P1")
    with pytest.raises(services.RegistryValidationError) as e:
        services.update_person(
            p.pk, household_id=h.pk, expected_version=1, changes={"sex": "Z"}, channel="CENTRE", reason="r"
        )
    assert "sex" in str(e.value)
    assert Person.objects.get(pk=p.pk).version == 1
