"""Roles and areas: who sees which household, and what an out-of-area request gets."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse

from sijill.accounts import selectors
from sijill.accounts.access import RoleRequiredMixin, capability_required, role_required
from sijill.accounts.permissions import Cap, Role
from sijill.registry.models import Household
from tests import staff

pytestmark = pytest.mark.django_db


def _visible(user):
    return set(
        selectors.scope_households(Household.objects.all(), user).values_list("registry_id", flat=True)
    )


def test_a_province_account_sees_only_its_province(two_households):
    cas, _rab = two_households
    agent = staff.staff("agent", "ENUMERATOR", ("MA-CAS",))
    assert _visible(agent) == {cas.registry_id}
    assert selectors.area_paths_of(agent) == ["MA-06/MA-CAS"]


def test_a_region_covers_its_provinces_and_national_covers_all(two_households):
    cas, rab = two_households
    assert _visible(staff.staff("regional", "SOCIAL_WORKER", ("MA-06",))) == {cas.registry_id}
    assert _visible(staff.staff("two", "SOCIAL_WORKER", ("MA-CAS", "MA-RAB"))) == {
        cas.registry_id,
        rab.registry_id,
    }
    assert _visible(staff.staff("nat", "AUDITOR", national=True)) == {cas.registry_id, rab.registry_id}


def test_a_path_prefix_only_matches_whole_codes(geo):
    """MA-06 must not see a household under a (hypothetical) area MA-060."""
    inside = staff.household("MA-CAS")
    lookalike = staff.household("MA-CAS", area_path="MA-060/MA-CASX/MA-CASX-001")
    user = staff.staff("regional", "SOCIAL_WORKER", ("MA-06",))
    assert _visible(user) == {inside.registry_id}
    assert lookalike.registry_id not in _visible(user)


def test_no_role_sees_nothing_and_a_superuser_without_profile_is_national_admin(
    two_households, django_user_model
):
    plain = django_user_model.objects.create_user("plain", password=staff.PASSWORD)
    assert selectors.role_of(plain) is None and _visible(plain) == set()
    root = django_user_model.objects.create_superuser("root", password=staff.PASSWORD)
    assert selectors.role_of(root) == Role.ADMIN
    assert len(_visible(root)) == 2
    assert selectors.role_of(AnonymousUser()) is None and _visible(AnonymousUser()) == set()


def test_out_of_area_household_is_404_like_a_missing_one(two_households, login):
    cas, rab = two_households
    client = login(staff.staff("agent", "ENUMERATOR", ("MA-CAS",)))
    ok = client.get(reverse("household", args=[cas.registry_id]))
    assert ok.status_code == 200
    assert "Mohamed El Alaoui" in ok.text and "فاطمة الزهراء" in ok.text
    out_of_area = client.get(reverse("household", args=[rab.registry_id]))
    missing = client.get(reverse("household", args=["T9999999999"]))
    assert out_of_area.status_code == missing.status_code == 404
    # The same page either way, but for the path echoed in the language form.

    def page(r, rid):
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", r.text.replace(rid, "ID"))

    assert page(out_of_area, rab.registry_id) == page(missing, "T9999999999")


def test_a_role_without_the_capability_gets_403_before_any_lookup(two_households, login):
    cas, _rab = two_households
    client = login(staff.staff("analyst", "POLICY_ANALYST", national=True))
    assert client.get(reverse("household", args=[cas.registry_id])).status_code == 403
    assert client.get(reverse("household", args=["T9999999999"])).status_code == 403
    agent = login(staff.staff("agent", "ENUMERATOR", ("MA-CAS",)))
    assert agent.get(reverse("household_history", args=[cas.registry_id])).status_code == 403


def test_history_is_scoped_too(two_households, login):
    cas, rab = two_households
    client = login(staff.staff("sw", "SOCIAL_WORKER", ("MA-CAS",)))
    page = client.get(reverse("household_history", args=[cas.registry_id]))
    assert page.status_code == 200 and "test" in page.text
    assert client.get(reverse("household_history", args=[rab.registry_id])).status_code == 404


def test_household_list_is_scoped_searchable_and_has_an_htmx_partial(two_households, login):
    cas, rab = two_households
    client = login(staff.staff("agent", "ENUMERATOR", ("MA-CAS",)))
    page = client.get(reverse("households"))
    assert cas.registry_id in page.text and rab.registry_id not in page.text
    assert "1 ménage" in page.text
    # Searching for an out-of-area id finds nothing.
    assert list(client.get(reverse("households"), {"q": rab.registry_id}).context["page"]) == []
    partial = client.get(reverse("households"), {"q": cas.registry_id[:6]}, headers={"HX-Request": "true"})
    assert cas.registry_id in partial.text and "<html" not in partial.text
    # Once the session has ended, htmx is told to load the login page in full.
    client.logout()
    ended = client.get(reverse("households"), {"q": "1"}, headers={"HX-Request": "true"})
    assert ended.status_code == 204 and ended["HX-Redirect"].startswith(reverse("login") + "?next=")
    assert client.get(reverse("households")).status_code == 302  # without htmx: a plain redirect


def test_detail_shows_the_decision_amount_in_the_locale(two_households, login):
    cas, _ = two_households
    client = login(staff.staff("po", "PROGRAMME_OFFICER", national=True))
    assert "1\u202f234,50\xa0MAD" in client.get(reverse("household", args=[cas.registry_id])).text
    client.post(reverse("set_language"), {"language": "ar", "next": "/"})
    page = client.get(reverse("household", args=[cas.registry_id]))
    assert "1.234,50" in page.text and "د.م." in page.text
    assert "15 يوليوز 2025" in page.text  # registered on, with Morocco's month name


@pytest.mark.usefixtures("two_households")
def test_statistics_are_scoped(login):
    client = login(staff.staff("po", "PROGRAMME_OFFICER", ("MA-CAS",)))
    page = client.get(reverse("statistics"))
    assert page.status_code == 200
    assert page.context["totals"] == {"households": 1, "persons": 2}
    assert page.context["registered"].table.column("households") == [1]
    [asd] = page.context["programmes"].table.rows
    assert asd["beneficiaries"] == 1 and asd["monthly"] == 1234.50
    national = login(staff.staff("pa", "POLICY_ANALYST", national=True)).get(reverse("statistics"))
    assert national.context["totals"]["households"] == 2


def test_role_required_and_the_mixin():
    from django.core.exceptions import PermissionDenied
    from django.http import HttpResponse
    from django.views import View

    @role_required(Role.AUDITOR)
    def view(request):
        return HttpResponse("ok")

    class CBV(RoleRequiredMixin, View):
        capability = Cap.VIEW_HISTORY

        def get(self, request):
            return HttpResponse("ok")

    rf = RequestFactory()
    for v in (view, capability_required(Cap.VIEW_HISTORY)(view.__wrapped__), CBV.as_view()):
        req = rf.get("/x")
        req.user = AnonymousUser()
        resp = v(req)
        assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")
        req.user = staff.staff(
            f"sw{id(v)}", "SOCIAL_WORKER" if v is not view else "ENUMERATOR", national=True
        )
        if v is view:
            with pytest.raises(PermissionDenied):
                v(req)
        else:
            assert v(req).status_code == 200
