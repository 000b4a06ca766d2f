"""A member's situation (education, work, school, disability) changed on the web: at once,
with the import's checks, history and the score and programmes computed again."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sijill.core.models import HistoryEntry
from sijill.registry.models import Household, Membership
from sijill.targeting.models import Assessment
from tests import staff
from tests.webforms.test_changes import family  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _url(hh, person):
    return reverse("person_situation", args=[hh.registry_id, person.registry_id])


def _spouse(hh):
    return Membership.objects.get(household=hh, relationship="SPOUSE").person


def _form(client, hh, person):
    page = client.get(_url(hh, person))
    assert page.status_code == 200
    form = page.context["form"]
    return {name: ("" if v is None else v) for name, v in form.initial.items()}


def test_a_new_job_is_saved_at_once_with_history_and_a_new_score(client, enumerator, family):  # noqa: F811
    hh, spouse = family, _spouse(family)
    client.force_login(enumerator)
    data = _form(client, hh, spouse)
    assert data["occupation"] == "" and data["version"] == hh.version
    scored_before = Assessment.objects.filter(household=hh).count()
    r = client.post(_url(hh, spouse), {**data, "occupation": "EMPLOYEE", "education_level": "HIGHER"})
    assert r.status_code == 302 and r["Location"] == reverse("household", args=[hh.registry_id])
    spouse.refresh_from_db()
    assert (spouse.occupation, spouse.education_level) == ("EMPLOYEE", "HIGHER")
    hh2 = Household.objects.get(pk=hh.pk)
    assert hh2.version == hh.version + 1
    entry = HistoryEntry.objects.filter(entity="person", entity_id=spouse.pk).latest("id")
    assert entry.new["occupation"] == "EMPLOYEE" and entry.old["occupation"] in ("", None)
    assert entry.changeset.actor_id == enumerator.pk
    # A better-educated employed spouse changes the score: a new current assessment.
    assert Assessment.objects.filter(household=hh).count() == scored_before + 1
    page = client.get(reverse("household", args=[hh.registry_id]))
    assert "La situation du membre a été enregistrée." in page.content.decode()


def test_the_imports_checks_apply_and_nothing_is_saved(client, enumerator, family):  # noqa: F811
    hh, spouse = family, _spouse(family)
    client.force_login(enumerator)
    data = _form(client, hh, spouse)
    r = client.post(_url(hh, spouse), {**data, "in_school": "1", "school_level": "", "school_sector": ""})
    assert r.status_code == 200
    errors = r.context["form"].errors
    assert set(errors) >= {"school_level", "school_sector"}
    spouse.refresh_from_db()
    assert spouse.in_school is not True
    assert Household.objects.get(pk=hh.pk).version == hh.version


def test_an_edit_on_a_stale_page_is_refused(client, enumerator, family):  # noqa: F811
    hh, spouse = family, _spouse(family)
    client.force_login(enumerator)
    data = _form(client, hh, spouse)
    client.post(_url(hh, spouse), {**data, "occupation": "EMPLOYEE"})
    r = client.post(_url(hh, spouse), {**data, "occupation": "LABOURER"})
    assert r.status_code == 200
    assert "Quelqu’un d’autre a modifié ce ménage pendant que vous le modifiiez." in r.content.decode()
    spouse.refresh_from_db()
    assert spouse.occupation == "EMPLOYEE"


def test_only_editors_of_the_area_reach_it(client, family):  # noqa: F811
    hh, spouse = family, _spouse(family)
    client.force_login(staff.staff("enum-rab", "ENUMERATOR", ("MA-RAB",)))
    assert client.get(_url(hh, spouse)).status_code == 404
    client.force_login(staff.staff("sw", "SOCIAL_WORKER", ("MA-CAS",)))
    assert client.get(_url(hh, spouse)).status_code == 403
