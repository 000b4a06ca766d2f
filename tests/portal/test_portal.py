"""The citizen portal: codes that never disclose an identifier, attempts and expiry, a
session scoped to one household, declarations held for approval, complaints."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from sijill.core import ids
from sijill.core.models import HistoryEntry
from sijill.grievances.models import Grievance
from sijill.portal import services, session
from sijill.portal.models import Challenge, CodeRequest
from sijill.portal.sms import read_outbox
from sijill.registry import services as registry_services
from sijill.registry.models import ChangeRequest, Household, Membership, Person
from tests.portal.conftest import last_code

pytestmark = pytest.mark.django_db(transaction=True)
START, VERIFY, HOME = "/portal/", "/portal/verify/", "/portal/household/"


def _unknown_registry_id(known: set[str]) -> str:
    return next(i for i in ids.random_ids(5, ids.HOUSEHOLD_ID_WIDTH) if i not in known)


def _page(response) -> str:
    """The page without its per-request CSRF token."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def _sign_in(client, outbox, identifier):
    client.post(START, {"identifier": identifier})
    r = client.post(VERIFY, {"code": last_code(outbox)})
    assert r.status_code == 302 and r["Location"] == HOME
    return client


def test_known_and_unknown_identifiers_get_the_same_answer(client, households, outbox):
    h1, h2 = households
    unknown = _unknown_registry_id({h1.registry_id, h2.registry_id})
    answers = []
    for identifier in (h1.registry_id, unknown, "BK123456", "ZZ999999"):
        client.cookies.clear()
        r = client.post(START, {"identifier": identifier})
        assert r.status_code == 302 and r["Location"] == VERIFY
        answers.append(_page(client.get(VERIFY)))
    assert len(set(answers)) == 1
    assert "If this number is registered" in answers[0] or "Si ce numéro est enregistré" in answers[0]
    # No digit of the phone is shown, and only the known identifiers sent a text message.
    assert "78" not in answers[0].split("<main")[1].split("</main>")[0]
    sent = read_outbox(10, outbox)
    assert [m["to"] for m in sent] == ["+212612345678", "+212612345678"]
    assert Challenge.objects.count() == 4 and Challenge.objects.filter(household=None).count() == 2
    # The code is stored hashed, never in clear.
    code = re.search(r"\d{6}", sent[-1]["text"]).group(0)
    assert not Challenge.objects.filter(code_hash__contains=code).exists()


def test_an_identifier_with_a_wrong_format_or_check_digit_is_refused(client, households):
    h1, _ = households
    wrong_check = h1.registry_id[:-1] + str((int(h1.registry_id[-1]) + 1) % 10)
    for identifier in (wrong_check, "12345", "B-12"):
        r = client.post(START, {"identifier": identifier})
        assert r.status_code == 200
        assert 'aria-invalid="true"' in r.text and "id_identifier_errors" in r.text
    assert Challenge.objects.count() == 0 and CodeRequest.objects.count() == 0


def test_parse_identifier_uses_the_country_profile(ma):
    assert services.parse_identifier("bk 123 456", ma) == services.Identifier("CNIE", "BK123456")
    idcs = ids.random_ids(1, 10)[0]  # 10 digits with a Verhoeff check digit, like the IDCS
    assert services.parse_identifier(idcs, ma) == services.Identifier("IDCS", idcs)
    assert services.parse_identifier(idcs[:-1] + str((int(idcs[-1]) + 1) % 10), ma) is None
    from sijill.countries import get_profile

    ml = get_profile("ml")
    assert services.parse_identifier("12851234567123K", ml) == services.Identifier("NINA", "12851234567123K")
    assert services.parse_identifier("BK123456", ml) is None


def test_a_national_identity_number_opens_the_holders_household(client, households, outbox):
    h1, _ = households
    _sign_in(client, outbox, "bk-123456")
    assert client.session[session.CITIZEN]["household"] == h1.pk


def test_wrong_codes_count_and_lock_the_code(client, households, outbox, settings):
    h1, _ = households
    client.post(START, {"identifier": h1.registry_id})
    right = last_code(outbox)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        r = client.post(VERIFY, {"code": wrong})
        assert r.status_code == 200 and f"{left}" in r.text
    r = client.post(VERIFY, {"code": wrong})
    assert Challenge.objects.get().attempts == settings.SIJILL_PORTAL_MAX_ATTEMPTS
    assert "Trop de codes erronés" in r.text
    r = client.post(VERIFY, {"code": right})  # too late: the code is dead
    assert r.status_code == 200 and session.CITIZEN not in client.session
    # A code that is not 6 digits is a form error, not an attempt.
    assert client.post(VERIFY, {"code": "12"}).status_code == 200


def test_an_unknown_identifier_counts_attempts_the_same_way(client, households):
    h1, h2 = households
    client.post(START, {"identifier": _unknown_registry_id({h1.registry_id, h2.registry_id})})
    outcomes = [services.verify_code(Challenge.objects.get().pk, "123456").outcome for _ in range(5)]
    assert outcomes == [services.Outcome.WRONG] * 4 + [services.Outcome.LOCKED]


def test_an_expired_code_fails(client, households, outbox):
    h1, _ = households
    client.post(START, {"identifier": h1.registry_id})
    code = last_code(outbox)
    Challenge.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    r = client.post(VERIFY, {"code": code})
    assert r.status_code == 200 and "expiré" in r.text and session.CITIZEN not in client.session


def test_a_code_works_once(client, households, outbox):
    h1, _ = households
    client.post(START, {"identifier": h1.registry_id})
    code = last_code(outbox)
    ch = Challenge.objects.get()
    assert services.verify_code(ch.pk, code).outcome is services.Outcome.OK
    assert services.verify_code(ch.pk, code).outcome is services.Outcome.EXPIRED


def test_code_requests_are_throttled_per_identifier_and_per_address(client, households, settings):
    h1, h2 = households
    settings.SIJILL_PORTAL_REQUESTS_PER_ID = 2
    settings.SIJILL_PORTAL_REQUESTS_PER_IP = 5
    unknown = _unknown_registry_id({h1.registry_id, h2.registry_id})
    for identifier in (unknown, h1.registry_id):  # the same limit, registered or not
        for _ in range(2):
            assert client.post(START, {"identifier": identifier}).status_code == 302
    r = client.post(START, {"identifier": h1.registry_id})
    assert r.status_code == 200 and "Trop de codes" in r.text
    r = client.post(START, {"identifier": unknown})
    assert r.status_code == 200 and "Trop de codes" in r.text
    # Per address: 4 requests accepted from this address, the 5th too, then any identifier is
    # refused from this address, not from another.
    assert client.post(START, {"identifier": h2.registry_id}).status_code == 302
    assert client.post(START, {"identifier": h2.registry_id}).status_code == 200
    assert client.post(START, {"identifier": h2.registry_id}, REMOTE_ADDR="10.0.0.9").status_code == 302


def test_the_household_page_shows_that_household_and_nothing_of_another(client, households, outbox):
    h1, h2 = households
    _sign_in(client, outbox, h1.registry_id)
    page = client.get(HOME).text
    assert h1.registry_id in page and "El Alaoui" in page
    assert h2.registry_id not in page and "Benali" not in page
    assert "Votre score" in page or "score" in page
    assert "Aucun paiement" in page
    assert "500,00\u00a0MAD" in page or "500,00" in page


def test_the_citizen_sees_how_the_aid_is_made(client, households, outbox):
    from sijill.programmes.models import Decision
    from sijill.targeting import selectors as targeting

    h1, _ = households
    asd = Decision.objects.get(household=h1, programme="ASD", is_current=True)
    parts = {
        p.label: p.amount for p in next(e for e in targeting.entitlements(h1, "fr") if e.code == "ASD").parts
    }
    # One school child: the child allowance, then the top-up to the 500 MAD minimum.
    assert sum(parts.values()) == pytest.approx(float(asd.amount)) == 500
    _sign_in(client, outbox, h1.registry_id)
    page = client.get(HOME).text
    assert "<summary>Comment ce montant est calculé</summary>" in page
    assert "Allocations des enfants" in page and "Complément jusqu’au montant minimum" in page
    assert "Youssef El Alaoui: Rang de l’enfant 1" in page


def test_household_pages_need_a_citizen_session_even_for_staff(client, households, django_user_model):
    staff = django_user_model.objects.create_user("agent", password="x" * 12)
    client.force_login(staff)
    for name in ("household", "declare_birth", "declare_address", "declare_schooling", "complaint", "verify"):
        r = client.get(reverse(f"portal:{name}"))
        assert r.status_code == 302 and r["Location"] == START, name


def test_the_citizen_session_ends_when_idle_and_on_leaving(client, households, outbox, settings):
    h1, _ = households
    _sign_in(client, outbox, h1.registry_id)
    s = client.session
    old = (timezone.now() - dt.timedelta(minutes=settings.SIJILL_PORTAL_IDLE_MINUTES + 1)).isoformat()
    s[session.CITIZEN] = {**s[session.CITIZEN], "seen": old}
    s.save()
    r = client.get(HOME)
    assert r.status_code == 302 and r["Location"] == START
    _sign_in(client, outbox, h1.registry_id)
    assert client.get(HOME).status_code == 200
    assert client.post(reverse("portal:leave")).status_code == 302
    assert client.get(HOME).status_code == 302


def test_arabic_household_page_is_right_to_left(client, households, outbox):
    h1, _ = households
    client.post(reverse("set_language"), {"language": "ar", "next": START})
    _sign_in(client, outbox, h1.registry_id)
    page = client.get(HOME).text
    assert '<html lang="ar" dir="rtl">' in page
    sms = read_outbox(1, outbox)[0]["text"]
    assert re.search(r"[\u0600-\u06FF]", sms)  # the text message is in the citizen's language


# --- Declarations -------------------------------------------------------------------------------


def test_a_birth_is_stored_and_changes_nothing_until_approved(client, households, outbox, django_user_model):
    h1, _ = households
    _sign_in(client, outbox, h1.registry_id)
    version, members = (
        Household.objects.get(pk=h1.pk).version,
        Membership.objects.filter(household=h1).count(),
    )
    r = client.post(
        reverse("portal:declare_birth"),
        {"given_name": "Amina", "family_name": "El Alaoui", "sex": "F", "birth_date": "2026-01-10"},
    )
    assert r.status_code == 302 and r["Location"] == HOME
    cr = ChangeRequest.objects.get()
    assert (cr.kind, cr.status, cr.channel) == ("BIRTH", "PENDING", "PORTAL")
    assert cr.payload["given_name_lat"] == "Amina" and cr.payload["birth_date"] == "2026-01-10"
    assert Household.objects.get(pk=h1.pk).version == version
    assert Membership.objects.filter(household=h1).count() == members
    assert "En attente" in client.get(HOME).text

    officer = django_user_model.objects.create_user("officer", password="x" * 12)
    cr = registry_services.approve_change_request(cr.pk, actor=officer)
    assert cr.status == "APPROVED" and cr.decided_by == officer and cr.decided_at is not None
    assert Membership.objects.filter(household=h1, end_date__isnull=True).count() == members + 1
    baby = Person.objects.get(given_name_lat="Amina")
    assert baby.birth_date == dt.date(2026, 1, 10) and len(baby.registry_id) == 12
    created = HistoryEntry.objects.filter(entity="person", entity_id=baby.pk, op="C").get()
    assert created.changeset == cr.applied_changeset
    assert created.changeset.actor_name == "officer" and created.changeset.channel == "ONLINE"
    assert Household.objects.get(pk=h1.pk).version == version + 1
    with pytest.raises(registry_services.ChangeRequestDecided):
        registry_services.approve_change_request(cr.pk, actor=officer)


def test_an_address_and_schooling_apply_with_history_on_approval(
    client, households, outbox, django_user_model
):
    h1, _ = households
    _sign_in(client, outbox, h1.registry_id)
    child = Person.objects.get(given_name_lat="Youssef", memberships__household=h1)
    client.post(reverse("portal:declare_address"), {"address": "7 rue Ibn Battouta, Hay Salam"})
    client.post(reverse("portal:declare_schooling"), {"person": child.registry_id, "in_school": "0"})
    address, schooling = ChangeRequest.objects.order_by("pk")
    assert Household.objects.get(pk=h1.pk).address != "7 rue Ibn Battouta, Hay Salam"
    assert Person.objects.get(pk=child.pk).in_school is True

    officer = django_user_model.objects.create_user("officer", password="x" * 12)
    registry_services.approve_change_request(address.pk, actor=officer)
    registry_services.approve_change_request(schooling.pk, actor=officer)
    assert Household.objects.get(pk=h1.pk).address == "7 rue Ibn Battouta, Hay Salam"
    child.refresh_from_db()
    assert child.in_school is False and child.school_level == "" and child.school_sector == ""
    entry = HistoryEntry.objects.filter(entity="person", entity_id=child.pk, op="U").latest("pk")
    assert entry.old["in_school"] is True and entry.new["in_school"] is False
    assert HistoryEntry.objects.filter(
        entity="household", entity_id=h1.pk, new__address__isnull=False
    ).exists()


def test_a_rejected_request_changes_nothing_and_needs_a_reason(client, households, outbox, django_user_model):
    h1, _ = households
    _sign_in(client, outbox, h1.registry_id)
    client.post(reverse("portal:declare_address"), {"address": "Douar Ait Ali"})
    cr = ChangeRequest.objects.get()
    officer = django_user_model.objects.create_user("officer", password="x" * 12)
    with pytest.raises(registry_services.RegistryValidationError):
        registry_services.reject_change_request(cr.pk, actor=officer, reason=" ")
    cr = registry_services.reject_change_request(cr.pk, actor=officer, reason="no proof of address")
    assert cr.status == "REJECTED" and Household.objects.get(pk=h1.pk).address != "Douar Ait Ali"


def test_declarations_are_validated(client, households, outbox):
    h1, h2 = households
    _sign_in(client, outbox, h1.registry_id)
    r = client.post(
        reverse("portal:declare_birth"),
        {"given_name": "Amina", "family_name": "العلوي", "sex": "F", "birth_date": "2099-01-01"},
    )
    assert r.status_code == 200 and r.text.count('aria-invalid="true"') >= 1 and 'role="alert"' in r.text
    other_child = Person.objects.get(given_name_lat="Youssef", memberships__household=h2)
    r = client.post(
        reverse("portal:declare_schooling"), {"person": other_child.registry_id, "in_school": "0"}
    )
    assert r.status_code == 200  # not a member of this household: not a choice
    r = client.post(reverse("portal:declare_schooling"), {"person": "x", "in_school": "1"})
    assert r.status_code == 200
    assert ChangeRequest.objects.count() == 0


# --- Complaints -----------------------------------------------------------------------------------


def test_a_complaint_gets_a_reference(client, households, outbox):
    h1, _ = households
    _sign_in(client, outbox, h1.registry_id)
    r = client.post(
        reverse("portal:complaint"),
        {
            "category": "WRONG_SCORE",
            "description": "Nous n'avons pas de voiture.",
            "contact_phone": "06 11 22 33 44",
        },
    )
    assert r.status_code == 302
    g = Grievance.objects.get()
    assert re.fullmatch(r"G\d{4}-[0-9A-HJKMNP-TV-Z]{8}", g.reference)
    assert (g.household_id, g.status, g.channel, g.contact_phone) == (
        h1.pk,
        "OPEN",
        "PORTAL",
        "+212611223344",
    )
    page = client.get(HOME).text
    assert g.reference in page
    r = client.post(
        reverse("portal:complaint"), {"category": "OTHER", "description": "x", "contact_phone": "123"}
    )
    assert r.status_code == 200 and "id_contact_phone_errors" in r.text
