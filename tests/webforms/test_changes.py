"""Edits of a registered household: what applies at once (with history), and the maker-checker
of sensitive changes (maker ≠ checker enforced by the service, approval applies with history,
rejection changes nothing), the queue in the account's areas, portal declarations included."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sijill.core.models import HistoryEntry
from sijill.registry import changes, services
from sijill.registry.models import ChangeRequest, Household, Membership, Person
from tests import staff
from tests.webforms.conftest import commune, household_fields, member_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(enumerator, ma):
    """A couple registered in Casablanca with the import's rules (and scored)."""
    hh = household_fields(ma, commune().code)
    head = {
        k.split("-", 2)[2]: v
        for k, v in member_fields("a", "HEAD", id_type="CNIE", id_value="BK123456").items()
    }
    spouse = {
        k.split("-", 2)[2]: v
        for k, v in member_fields(
            "b",
            "SPOUSE",
            given_name_lat="Fatima Zahra",
            given_name_ar="فاطمة الزهراء",
            sex="F",
            birth_date="1984-02-01",
        ).items()
    }
    return services.register_household(
        {"milieu": None, **hh}, [head, spouse], actor=enumerator, reason="test"
    )


def _answers(hh):
    """The questionnaire answers as the edit form posts them."""
    return {
        k: "" if v is None else "1" if v is True else "0" if v is False else str(v)
        for k, v in hh.socio.items()
    }


def _spouse(hh):
    return Membership.objects.get(household=hh, relationship="SPOUSE").person


def _ask_name_change(client, hh, person, given="Fatima"):
    url = reverse("person_request_change", args=[hh.registry_id, person.registry_id])
    form = client.get(url)
    assert form.status_code == 200 and 'value="Fatima Zahra"' in form.content.decode()
    return client.post(
        url,
        {
            "relationship": "SPOUSE", "given_name_lat": given, "family_name_lat": "El Alaoui",
            "given_name_ar": "فاطمة الزهراء", "family_name_ar": "العلوي", "sex": "F", "birth_date": "1984-02-01",
            "id_type": "", "id_value": "", "request_reason": "Acte de naissance vu",
        },
    )  # fmt: skip


def test_address_phone_and_answers_apply_at_once_with_history(client, enumerator, family):
    client.force_login(enumerator)
    url = reverse("household_edit", args=[family.registry_id])
    page = client.get(url).content.decode()
    assert 'value="12 rue des Orangers"' in page
    data = {"version": family.version, "address": "3 derb Sidi Ali", "phone": "0698765432"}
    data.update(_answers(family))
    data["rooms"] = "4"
    r = client.post(url, data)
    assert r.status_code == 302
    hh = Household.objects.get(pk=family.pk)
    assert (hh.address, hh.phone, hh.socio["rooms"]) == ("3 derb Sidi Ali", "+212698765432", 4)
    entry = HistoryEntry.objects.filter(entity="household", entity_id=hh.pk).order_by("-pk").first()
    assert entry.old["address"] == "12 rue des Orangers" and entry.new["address"] == "3 derb Sidi Ali"
    assert entry.changeset.actor_name == "enum-cas"


def test_an_invalid_answer_is_shown_on_its_field_and_nothing_changes(client, enumerator, family):
    client.force_login(enumerator)
    url = reverse("household_edit", args=[family.registry_id])
    data = {"version": family.version, "address": "x", "phone": ""}
    data.update(_answers(family))
    data["rooms"] = "deux"
    html = client.post(url, data).content.decode()
    assert 'id="id_rooms_errors"' in html and "Écrivez un nombre." in html
    assert Household.objects.get(pk=family.pk).address == "12 rue des Orangers"


def test_a_sensitive_field_cannot_be_changed_at_once(family, enumerator):
    with pytest.raises(services.RegistryValidationError) as exc:
        changes.edit_household(
            family.pk,
            expected_version=family.version,
            changes={"area_code": commune("MA-RAB").code},
            actor=enumerator,
        )
    assert "area_code" in exc.value.errors


def test_a_name_change_waits_for_another_staff_member_then_applies_with_history(
    client, enumerator, checker, family
):
    spouse = _spouse(family)
    client.force_login(enumerator)
    r = _ask_name_change(client, family, spouse)
    assert r.status_code == 302, r.content.decode()[-3000:]
    cr = ChangeRequest.objects.get()
    assert (cr.kind, cr.status, cr.requested_by, cr.payload) == (
        "PERSON",
        "PENDING",
        enumerator,
        {"person": spouse.registry_id, "given_name_lat": "Fatima"},
    )
    assert cr.before["given_name_lat"] == "Fatima Zahra"
    assert Person.objects.get(pk=spouse.pk).given_name_lat == "Fatima Zahra"  # nothing changed yet
    # The maker sees the request but cannot decide it (no capability for an enumerator).
    detail = client.get(reverse("change_request", args=[cr.pk])).content.decode()
    assert "Fatima Zahra" in detail and "Vous avez demandé ce changement" in detail
    assert (
        client.post(reverse("change_request_decide", args=[cr.pk]), {"decision": "approve"}).status_code
        == 403
    )

    client.force_login(checker)
    queue = client.get(reverse("change_requests")).content.decode()
    assert f"Demande {cr.pk}" in queue and "1 demande" in queue
    page = client.get(reverse("change_request", args=[cr.pk])).content.decode()
    assert "Avant et après" in page and "≠ Modifié" in page
    r = client.post(reverse("change_request_decide", args=[cr.pk]), {"decision": "approve", "reason": ""})
    assert r.status_code == 302
    cr.refresh_from_db()
    assert (cr.status, cr.decided_by) == ("APPROVED", checker)
    assert Person.objects.get(pk=spouse.pk).given_name_lat == "Fatima"
    entry = HistoryEntry.objects.filter(entity="person", entity_id=spouse.pk).order_by("-pk").first()
    assert (entry.old["given_name_lat"], entry.new["given_name_lat"]) == ("Fatima Zahra", "Fatima")
    assert entry.changeset.actor_name == "sw-cas" and "asked by enum-cas" in entry.changeset.reason
    household_page = client.get(reverse("household", args=[family.registry_id])).content.decode()
    assert "Fatima El Alaoui" in household_page


def test_the_maker_can_never_decide_their_own_request_even_with_the_approving_role(family, geo):
    admin = staff.staff("adm", "ADMIN", national=True)
    spouse = _spouse(family)
    cr = changes.request_change(
        family, "PERSON", {"person": spouse.registry_id, "sex": "M"}, actor=admin, reason="typo"
    )
    with pytest.raises(changes.SelfApprovalError):
        services.approve_change_request(cr.pk, actor=admin)
    with pytest.raises(changes.SelfApprovalError):
        services.reject_change_request(cr.pk, actor=admin, reason="no")
    cr.refresh_from_db()
    assert cr.status == "PENDING" and Person.objects.get(pk=spouse.pk).sex == "F"


def test_the_maker_is_told_on_the_page_and_nothing_changes(client, family, geo):
    admin = staff.staff("adm", "ADMIN", national=True)
    spouse = _spouse(family)
    cr = changes.request_change(
        family, "PERSON", {"person": spouse.registry_id, "sex": "M"}, actor=admin, reason="x"
    )
    client.force_login(admin)
    page = client.get(reverse("change_request", args=[cr.pk])).content.decode()
    assert "Enregistrer la décision" not in page  # no decision form for the maker
    r = client.post(reverse("change_request_decide", args=[cr.pk]), {"decision": "approve"})
    assert "Vous avez demandé ce changement : un autre agent doit en décider." in r.content.decode()
    assert ChangeRequest.objects.get(pk=cr.pk).status == "PENDING"


def test_a_rejection_needs_a_reason_and_leaves_the_data_intact(client, enumerator, checker, family):
    spouse = _spouse(family)
    cr = changes.request_change(
        family,
        "PERSON",
        {"person": spouse.registry_id, "birth_date": "1985-02-01"},
        actor=enumerator,
        reason="x",
    )
    client.force_login(checker)
    r = client.post(reverse("change_request_decide", args=[cr.pk]), {"decision": "reject", "reason": " "})
    assert "Dites pourquoi le changement est refusé." in r.content.decode()
    assert ChangeRequest.objects.get(pk=cr.pk).status == "PENDING"
    before = HistoryEntry.objects.count()
    r = client.post(
        reverse("change_request_decide", args=[cr.pk]), {"decision": "reject", "reason": "Pas de pièce"}
    )
    assert r.status_code == 302
    cr.refresh_from_db()
    assert (cr.status, cr.reason, cr.decided_by) == ("REJECTED", "Pas de pièce", checker)
    assert str(Person.objects.get(pk=spouse.pk).birth_date) == "1984-02-01"
    assert HistoryEntry.objects.count() == before


def test_a_requested_value_is_checked_with_the_imports_rules(client, enumerator, family):
    spouse = _spouse(family)
    client.force_login(enumerator)
    url = reverse("person_request_change", args=[family.registry_id, spouse.registry_id])
    r = client.post(
        url,
        {"relationship": "SPOUSE", "given_name_lat": "Fatima", "family_name_lat": "El Alaoui",
         "given_name_ar": "Fatima", "family_name_ar": "العلوي", "sex": "F", "birth_date": "1984-02-01",
         "request_reason": "x"},
    )  # fmt: skip
    assert "Écrivez ce nom en lettres arabes." in r.content.decode()
    assert ChangeRequest.objects.count() == 0
    # An identifier already held by someone else is refused, naming its holder.
    head = Membership.objects.get(household=family, relationship="HEAD").person
    with pytest.raises(services.RegistryValidationError) as exc:
        changes.request_change(
            family, "PERSON", {"person": spouse.registry_id, "id_type": "CNIE", "id_value": "bk 123456"},
            actor=enumerator, reason="x",
        )  # fmt: skip
    assert head.registry_id in exc.value.errors["id_value"]


def _add_child(hh, birth_date, maker, checker):
    """Youssef joins the household through an approved request."""
    cr = changes.request_change(
        hh, "ADD_MEMBER",
        {"relationship": "CHILD", "given_name_lat": "Youssef", "family_name_lat": "El Alaoui", "sex": "M",
         "birth_date": birth_date},
        actor=maker, reason="naissance",
    )  # fmt: skip
    services.approve_change_request(cr.pk, actor=checker)
    return Person.objects.get(given_name_lat="Youssef")


def test_an_identifier_a_new_member_and_a_departure_apply_on_approval(enumerator, checker, family):
    spouse = _spouse(family)
    cr = changes.request_change(
        family, "PERSON", {"person": spouse.registry_id, "id_type": "CNIE", "id_value": "AB654321"},
        actor=enumerator, reason="CNIE vue",
    )  # fmt: skip
    services.approve_change_request(cr.pk, actor=checker)
    assert {i.value for i in spouse.identifiers.filter(is_deleted=False)} == {"AB654321"}
    child = _add_child(family, "2012-09-30", enumerator, checker)
    m = Membership.objects.get(person=child)
    assert (m.household_id, m.relationship, m.end_date) == (family.pk, "CHILD", None)
    cr = changes.request_change(
        family,
        "REMOVE_MEMBER",
        {"person": child.registry_id, "end_reason": "moved out"},
        actor=enumerator,
        reason="x",
    )
    assert Membership.objects.get(pk=m.pk).end_date is None
    services.approve_change_request(cr.pk, actor=checker)
    assert Membership.objects.get(pk=m.pk).end_date is not None
    # The head cannot leave with a request.
    head = Membership.objects.get(household=family, relationship="HEAD").person
    with pytest.raises(services.RegistryValidationError):
        changes.request_change(family, "REMOVE_MEMBER", {"person": head.registry_id, "end_reason": "x"},
                               actor=enumerator, reason="x")  # fmt: skip


def test_moving_a_household_stays_within_the_makers_areas(client, enumerator, checker, family):
    client.force_login(enumerator)
    url = reverse("household_request_area", args=[family.registry_id])
    outside = client.post(url, {"area_code": commune("MA-RAB").code, "request_reason": "x"})
    assert "area_code" in outside.content.decode() and ChangeRequest.objects.count() == 0
    other = staff.commune_in("MA-CAS")
    from sijill.registry.models import AdminArea

    inside = AdminArea.objects.filter(path__startswith=other.path.rsplit("/", 1)[0] + "/").exclude(
        pk=other.pk
    )[0]
    r = client.post(url, {"area_code": inside.code, "request_reason": "Déménagement"})
    assert r.status_code == 302
    cr = ChangeRequest.objects.get()
    services.approve_change_request(cr.pk, actor=checker)
    assert Household.objects.get(pk=family.pk).area_id == inside.pk


def test_the_queue_shows_the_accounts_areas_only_portal_declarations_included(
    client, enumerator, family, geo
):
    portal = services.submit_change_request(family, "ADDRESS", {"address": "5 rue Atlas"}, channel="PORTAL")
    rabat = staff.staff("sw-rab", "SOCIAL_WORKER", ("MA-RAB",))
    client.force_login(rabat)
    assert "0 demande" in client.get(reverse("change_requests")).content.decode()
    assert client.get(reverse("change_request", args=[portal.pk])).status_code == 404
    assert (
        client.post(reverse("change_request_decide", args=[portal.pk]), {"decision": "approve"}).status_code
        == 404
    )
    client.force_login(staff.staff("sw-cas2", "SOCIAL_WORKER", ("MA-CAS",)))
    page = client.get(reverse("change_request", args=[portal.pk])).content.decode()
    assert "Le ménage (portail citoyen)" in page and "12 rue des Orangers" in page and "5 rue Atlas" in page


def test_a_household_outside_the_areas_cannot_be_edited(client, enumerator, geo):
    rabat_hh = staff.household("MA-RAB")
    client.force_login(enumerator)
    assert client.get(reverse("household_edit", args=[rabat_hh.registry_id])).status_code == 404
    head = Membership.objects.get(household=rabat_hh, relationship="HEAD").person
    url = reverse("person_request_change", args=[rabat_hh.registry_id, head.registry_id])
    assert client.post(url, {"given_name_lat": "X"}).status_code == 404


def test_a_new_head_is_checked_as_a_whole_household_and_applied_on_approval(
    client, enumerator, checker, family
):
    head = Membership.objects.get(household=family, relationship="HEAD").person
    spouse = _spouse(family)
    client.force_login(enumerator)
    url = reverse("household_request_head", args=[family.registry_id])
    assert client.get(url).status_code == 200
    # The head's new relationship is HEAD too: two heads, refused on that member's field.
    r = client.post(url, {"person": spouse.registry_id, f"rel_{head.registry_id}": "HEAD",
                          f"rel_{spouse.registry_id}": "SPOUSE", "request_reason": "Veuve"})  # fmt: skip
    html = r.content.decode()
    assert f'id="id_rel_{head.registry_id}_errors"' in html and ChangeRequest.objects.count() == 0
    r = client.post(url, {"person": spouse.registry_id, f"rel_{head.registry_id}": "SPOUSE",
                          f"rel_{spouse.registry_id}": "SPOUSE", "request_reason": "Le mari a émigré"})  # fmt: skip
    assert r.status_code == 302
    cr = ChangeRequest.objects.get()
    assert Household.objects.get(pk=family.pk).head_id == head.pk
    client.force_login(checker)
    page = client.get(reverse("change_request", args=[cr.pk])).content.decode()
    assert f"Fatima Zahra El Alaoui ({spouse.registry_id})" in page and page.count("≠ Modifié") == 2
    services.approve_change_request(cr.pk, actor=checker)
    hh = Household.objects.get(pk=family.pk)
    assert hh.head_id == spouse.pk
    rels = dict(Membership.objects.filter(household=hh).values_list("person_id", "relationship"))
    assert rels == {spouse.pk: "HEAD", head.pk: "SPOUSE"}
    assert HistoryEntry.objects.filter(entity="membership", household_id=hh.pk, op="U").count() == 2


def test_a_child_cannot_be_named_head(enumerator, family):
    kid = _add_child(family, "2015-09-30", enumerator, staff.staff("sw2", "SOCIAL_WORKER", ("MA-CAS",)))
    with pytest.raises(services.RegistryValidationError) as exc:
        changes.request_change(family, "HEAD", {"person": kid.registry_id}, actor=enumerator, reason="x")
    head = Membership.objects.get(household=family, relationship="HEAD").person
    assert exc.value.errors == {f"relationship {head.registry_id}": (
        "the household has more than one HEAD: give this member another relationship"
    )}  # fmt: skip
    rels = {head.registry_id: "PARENT", _spouse(family).registry_id: "PARENT"}
    with pytest.raises(services.RegistryValidationError) as exc:
        changes.request_change(family, "HEAD", {"person": kid.registry_id, "relationships": rels},
                               actor=enumerator, reason="x")  # fmt: skip
    assert exc.value.errors == {
        f"relationship {kid.registry_id}": "the head of household must be at least 15 years old"
    }


def test_the_household_page_lists_its_pending_requests(client, enumerator, checker, family):
    client.force_login(enumerator)
    _ask_name_change(client, family, _spouse(family))
    cr = ChangeRequest.objects.get(household=family, status=ChangeRequest.PENDING)
    page = client.get(reverse("household", args=[family.registry_id])).content.decode()
    assert "1 changement attend une approbation :" in page
    assert f'href="{reverse("change_request", args=[cr.pk])}"' in page
    client.force_login(checker)
    page = client.get(reverse("household", args=[family.registry_id]), headers={"accept-language": "ar"})
    assert "تغيير واحد في انتظار الموافقة:" in page.content.decode()
    client.post(reverse("change_request_decide", args=[cr.pk]), {"decision": "approve", "reason": "vu"})
    page = client.get(reverse("household", args=[family.registry_id])).content.decode()
    assert "pending-changes" not in page
