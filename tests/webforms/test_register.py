"""Registering a household on the web: the import's rules, errors on their fields (per member
row) in the user's language, the account's areas, identifier conflicts, the household page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sijill.registry.models import Household, Person
from tests import staff
from tests.webforms.conftest import commune, household_fields, member_fields, post_data

pytestmark = pytest.mark.django_db


def _family(ma, area_code, **head_over):
    return post_data(
        household_fields(ma, area_code),
        [
            ("a1", member_fields("a1", "HEAD", **{"id_type": "CNIE", "id_value": "BK123456", **head_over})),
            ("b2", member_fields("b2", "SPOUSE", given_name_lat="Fatima Zahra", given_name_ar="فاطمة الزهراء",
                                 sex="F", birth_date="1984-02-01")),
        ],
    )  # fmt: skip


def _errors_of(html: str, field_id: str) -> str:
    m = re.search(rf'id="{re.escape(field_id)}_errors"[^>]*>(.*?)</ul>', html, re.S)
    return re.sub(r"<[^>]+>", " ", m.group(1)).strip() if m else ""


def test_the_form_offers_only_the_communes_of_the_accounts_areas(client, enumerator):
    client.force_login(enumerator)
    r = client.get(reverse("household_register"))
    assert r.status_code == 200
    html = r.content.decode()
    assert f'value="{commune("MA-CAS").code}"' in html
    assert f'value="{commune("MA-RAB").code}"' not in html
    # The questionnaire the score needs is on the form, required answers marked.
    assert 'name="dwelling_type"' in html and 'name="rooms"' in html


def test_a_valid_household_is_registered_scored_and_shown(client, enumerator, ma):
    client.force_login(enumerator)
    r = client.post(reverse("household_register"), _family(ma, commune().code))
    assert r.status_code == 302, r.content.decode()[:3000]
    hh = Household.objects.get()
    assert r["Location"] == reverse("household", args=[hh.registry_id])
    assert hh.area.code == commune().code and hh.phone == "+212612345678"
    assert {p.given_name_lat for p in Person.objects.all()} == {"Mohamed", "Fatima Zahra"}
    page = client.get(r["Location"]).content.decode()
    assert (
        hh.registry_id in page and f"Ménage enregistré. Son numéro au registre est {hh.registry_id}." in page
    )
    # Scoring on write: the household page shows the score and its explanation.
    assert "Aucun score" not in page and 'class="score"' in page


def test_errors_are_shown_on_their_fields_and_member_rows_and_nothing_is_saved(client, enumerator, ma):
    client.force_login(enumerator)
    data = _family(ma, commune().code, id_value="BK12")
    data["phone"] = "12"
    data["rooms"] = "0"
    data["m-b2-birth_date"] = "1984-13-45"
    r = client.post(reverse("household_register"), data)
    assert r.status_code == 200
    html = r.content.decode()
    assert "Rien n’a été enregistré" in html or "Rien n'a été enregistré" in html
    assert _errors_of(html, "id_phone") == "Numéro de téléphone non valide (attendu comme +212…)."
    assert _errors_of(html, "id_rooms") == "La plus petite valeur admise est 1."
    assert "CNIE" in _errors_of(html, "id_m-a1-id_value")
    assert _errors_of(html, "id_m-b2-birth_date").startswith("Ce n’est pas une date")
    assert _errors_of(html, "id_m-a1-birth_date") == ""  # the head's date is right
    assert 'aria-invalid="true"' in html
    assert Household.objects.count() == 0 and Person.objects.count() == 0


def test_errors_are_in_arabic_for_an_arabic_speaking_agent(client, enumerator, ma):
    client.force_login(enumerator)
    client.cookies["django_language"] = "ar"
    data = _family(ma, commune().code)
    data["m-a1-sex"] = ""
    r = client.post(reverse("household_register"), data, HTTP_ACCEPT_LANGUAGE="ar")
    html = r.content.decode()
    assert 'dir="rtl"' in html
    assert _errors_of(html, "id_m-a1-sex") == "اختر الجنس."


def test_a_commune_outside_the_accounts_areas_is_refused(client, enumerator, ma):
    client.force_login(enumerator)
    r = client.post(reverse("household_register"), _family(ma, commune("MA-RAB").code))
    assert r.status_code == 200
    assert _errors_of(r.content.decode(), "id_area_code") != ""
    assert Household.objects.count() == 0


def test_the_web_form_refuses_what_the_import_refuses(client, enumerator, ma):
    """Same rule, same reason: a child less than 12 years younger than the head."""
    from sijill.registry import services

    hh = household_fields(ma, commune().code)
    head = member_fields("a1", "HEAD")
    child = member_fields(
        "c3", "CHILD", given_name_lat="Youssef", given_name_ar="يوسف", birth_date="1990-01-01"
    )
    with pytest.raises(services.RegistryValidationError) as exc:
        services.register_household(
            {"milieu": None, **hh},
            [{k.split("-", 2)[2]: v for k, v in m.items()} for m in (head, child)],
            reason="import",
        )
    assert "person 2.birth_date" in exc.value.errors
    client.force_login(enumerator)
    r = client.post(reverse("household_register"), post_data(hh, [("a1", head), ("c3", child)]))
    assert _errors_of(r.content.decode(), "id_m-c3-birth_date") == (
        "Un enfant doit avoir au moins 12 ans de moins que le chef de ménage."
    )


def test_an_identifier_held_by_someone_else_is_refused_naming_the_holder_then_sent_to_review(
    client, enumerator, ma
):
    from sijill.identity.models import MatchCandidate

    client.force_login(enumerator)
    first = client.post(reverse("household_register"), _family(ma, commune().code))
    assert first.status_code == 302
    holder = Person.objects.get(given_name_lat="Mohamed")
    holder_hh = Household.objects.get()
    data = _family(ma, commune().code, given_name_lat="Ahmed", given_name_ar="أحمد")
    r = client.post(reverse("household_register"), data)
    html = r.content.decode()
    msg = _errors_of(html, "id_m-a1-id_value")
    assert holder.registry_id in msg and holder_hh.registry_id in msg
    assert 'name="id_checked"' in html
    assert Household.objects.count() == 1
    r = client.post(reverse("household_register"), {**data, "id_checked": "1"})
    assert r.status_code == 302
    assert Household.objects.count() == 2
    assert MatchCandidate.objects.filter(kind=MatchCandidate.ID_CONFLICT).count() == 1


def test_members_are_added_and_removed_with_htmx_and_without_javascript(client, enumerator, ma):
    client.force_login(enumerator)
    row = client.get(reverse("household_member_row"), HTTP_HX_REQUEST="true").content.decode()
    token = re.search(r'name="member" value="(\w+)"', row).group(1)
    assert f'name="m-{token}-given_name_lat"' in row and "<fieldset" in row
    assert client.get(reverse("household_member_row") + "?remove=1").content == b""
    # Without JavaScript the buttons submit the form, which comes back with a row more or less.
    data = _family(ma, commune().code)
    more = client.post(reverse("household_register"), {**data, "add_member": "1"}).content.decode()
    assert more.count('name="member"') == 3 and "errorlist" not in more and "aria-invalid" not in more
    assert 'value="Fatima Zahra"' in more and 'value="0612345678"' in more  # what was typed is kept
    less = client.post(reverse("household_register"), {**data, "remove_member": "b2"}).content.decode()
    assert less.count('name="member"') == 1 and 'name="m-b2-' not in less


def test_roles_without_the_capability_cannot_register(client, geo):
    client.force_login(staff.staff("sw", "SOCIAL_WORKER", ("MA-CAS",)))
    assert client.get(reverse("household_register")).status_code == 403


def test_the_form_follows_the_country_profile(client, settings):
    """Mali: its communes, identity documents and questionnaire; nothing of Morocco's."""
    from sijill.countries import get_profile
    from sijill.registry.geography import ensure_geography

    settings.SIJILL_COUNTRY = "ML"
    ml = get_profile("ml")
    ensure_geography(ml)
    client.force_login(staff.staff("adm-ml", "ADMIN", national=True))
    html = client.get(reverse("household_register")).content.decode()
    commune_ml = next(a for a in ml.areas if a.level == ml.lowest_level)
    assert f'value="{commune_ml.code}"' in html and 'value="MA-' not in html
    assert all(f'<option value="{t}">' in html for t in ml.id_types) and 'value="CNIE"' not in html
    assert all(f'name="{q.name}"' in html for q in ml.questionnaire.questions)
    assert "<legend>Élevage</legend>" in html


def test_the_parents_given_names_are_registered_checked_and_shown(client, enumerator, ma):
    client.force_login(enumerator)
    data = _family(ma, commune().code, father_name_lat="Abdellah", father_name_ar="عبد الله",
                   mother_name_lat="Khadija")  # fmt: skip
    data["m-b2-mother_name_ar"] = "Rkia"  # Latin letters in the Arabic field
    r = client.post(reverse("household_register"), data)
    assert r.status_code == 200
    assert "arabe" in _errors_of(r.content.decode(), "id_m-b2-mother_name_ar")
    data["m-b2-mother_name_ar"] = "رقية"
    r = client.post(reverse("household_register"), data)
    assert r.status_code == 302, r.content.decode()[:3000]
    head = Person.objects.get(given_name_lat="Mohamed")
    assert (head.father_name_lat, head.father_name_ar, head.mother_name_lat) == (
        "Abdellah",
        "عبد الله",
        "Khadija",
    )
    assert Person.objects.get(given_name_lat="Fatima Zahra").mother_name_ar == "رقية"
    page = client.get(r["Location"]).content.decode()
    assert "Prénoms des parents" in page and "Abdellah" in page and "عبد الله" in page and "رقية" in page
