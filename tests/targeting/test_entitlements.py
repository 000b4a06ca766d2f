"""A programme's amount taken apart, as a social worker reads it on the household page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from sijill.accounts.permissions import Role
from sijill.registry import services
from sijill.targeting import selectors
from sijill.targeting.openfisca.system import load_rules
from tests import staff
from tests.conftest import household_row, person_row
from tests.targeting.test_scoring import _poor_family

pytestmark = pytest.mark.django_db(transaction=True)


def _schedule():
    today = timezone.localdate().isoformat()
    return load_rules("MA").tbs.parameters(today).asd


def test_the_parts_add_up_to_the_decided_amount_and_each_child_brings_its_rank_amount(ma):
    hh, members = _poor_family(ma)
    h = services.register_household(hh, members, channel="CENTRE", reason="first visit")
    decided = {d.programme: d for d in selectors.current_decisions(h.pk)}
    ents = {e.code: e for e in selectors.entitlements(h, "fr")}
    asd = ents["ASD"]
    assert asd.eligible and asd.total == pytest.approx(float(decided["ASD"].amount))
    assert asd.parts_total == pytest.approx(asd.total)
    assert not asd.differs_from_decision
    p = _schedule().child_allowance
    # Two school children: ranks 1 and 2, each the higher amount of ranks 1-3.
    children = [{label: v for label, _fmt, v in m.values} for m in asd.members]
    assert len(children) == 2  # the parents bring nothing of their own and are not listed
    assert sorted(c["Rang de l’enfant"] for c in children) == [1, 2]
    assert [c["Allocation"] for c in children] == [p.rank_1_3_young_or_in_school] * 2
    child_total = 2 * p.rank_1_3_young_or_in_school
    parts = {x.label: x.amount for x in asd.parts}
    assert parts["Allocations des enfants"] == pytest.approx(child_total)
    floor = float(_schedule().floor)
    if child_total < floor:
        assert parts["Complément jusqu’au montant minimum"] == pytest.approx(floor - child_total)
    # AMO Tadamon decides eligibility only: no amount to take apart.
    assert ents["AMO_TADAMON"].eligible and ents["AMO_TADAMON"].total is None
    ar = {e.code: e for e in selectors.entitlements(h, "ar")}["ASD"]
    assert "منح الأطفال" in [x.label for x in ar.parts]


def test_a_change_since_the_decision_is_pointed_out(ma):
    hh, members = _poor_family(ma)
    h = services.register_household(hh, members, channel="CENTRE", reason="first visit")
    from sijill.programmes.models import Decision

    Decision.objects.filter(household=h, programme="ASD", is_current=True).update(amount=1)
    asd = {e.code: e for e in selectors.entitlements(h, "fr")}["ASD"]
    assert asd.differs_from_decision and asd.decided_amount == 1


def test_the_household_page_loads_the_breakdown_and_it_reads_without_javascript(ma, client):
    staff.geography()
    hh, members = _poor_family(ma)
    h = services.register_household(hh, members, channel="CENTRE", reason="first visit")
    worker = staff.staff("worker", Role.SOCIAL_WORKER, national=True)
    client.force_login(worker)
    page = client.get(reverse("household", args=[h.registry_id]), headers={"accept-language": "fr"})
    url = reverse("household_entitlements", args=[h.registry_id])
    assert f'hx-get="{url}"' in page.text and f'href="{url}"' in page.text
    fragment = client.get(url, headers={"HX-Request": "true", "accept-language": "fr"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Allocations des enfants" in fragment.text and "Rang de l’enfant" in fragment.text
    whole = client.get(url, headers={"accept-language": "ar"})
    assert '<html lang="ar" dir="rtl">' in whole.text and "منح الأطفال" in whole.text


def test_a_household_outside_the_agents_area_is_not_found(ma, client):
    staff.geography()
    hh, members = _poor_family(ma)
    h = services.register_household(hh, members, channel="CENTRE", reason="first visit")
    other = staff.staff(
        "far", Role.SOCIAL_WORKER, ("MA-RAB",) if h.area_path.split("/")[1] != "MA-RAB" else ("MA-CAS",)
    )
    client.force_login(other)
    assert client.get(reverse("household_entitlements", args=[h.registry_id])).status_code == 404


def test_a_well_off_household_gets_no_aid_and_sees_its_contribution(ma, client):
    staff.geography()
    rich = household_row(ma, "R1", rooms="9", mobile_phones="6", spend_water_electricity="2000",
                         spend_butane="300", spend_phone_internet="900")  # fmt: skip
    h = services.register_household(
        rich, [person_row("R1-1", "R1", "HEAD", occupation="SENIOR_MANAGER", education_level="HIGHER")],
        channel="CENTRE", reason="first visit",
    )  # fmt: skip
    client.force_login(staff.staff("worker2", Role.SOCIAL_WORKER, national=True))
    paying = {e.code: e for e in selectors.entitlements(h, "fr") if e.eligible and e.total}
    assert list(paying) == ["AMO_ACHAMIL"] and paying["AMO_ACHAMIL"].amount_kind == "contribution"
    page = client.get(reverse("household_entitlements", args=[h.registry_id]))
    assert "AMO Achamil" in page.text and "payé par le ménage" in page.text
    assert "Aide sociale directe" not in page.text
