"""Journeys of the staff forms in a real browser: the demo enumerator registers a household end
to end in Arabic (right to left), with a mistake shown on its field and then fixed; and a
name change asked for by the enumerator and approved by a second account (maker-checker)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from sijill.cli import DEMO_PASSWORD
from tests import staff
from tests.browser.conftest import SCREENSHOTS
from tests.webforms.conftest import household_fields, member_fields

ENUMERATOR, CHECKER = "demo-enumerator", "demo-social-worker"


@pytest.fixture
def accounts(transactional_db):
    """The demo's enumerator and social worker, limited to Casablanca as `sijill demo` makes them."""
    from sijill.accounts.services import create_staff_user

    staff.geography()
    create_staff_user(ENUMERATOR, DEMO_PASSWORD, "ENUMERATOR", ("MA-CAS",), check_password=False)
    create_staff_user(CHECKER, DEMO_PASSWORD, "SOCIAL_WORKER", ("MA-CAS",), check_password=False)


def _log_in(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")


def _fill_member(row, *, relationship, given, family, given_ar, family_ar, sex, birth, cnie=None):
    row.locator('select[name$="-relationship"]').select_option(relationship)
    row.locator(f'input[name$="-sex"][value="{sex}"]').check()
    row.locator('input[name$="-birth_date"]').fill(birth)
    row.locator('input[name$="-given_name_lat"]').fill(given)
    row.locator('input[name$="-family_name_lat"]').fill(family)
    row.locator('input[name$="-given_name_ar"]').fill(given_ar)
    row.locator('input[name$="-family_name_ar"]').fill(family_ar)
    if cnie:
        row.locator('select[name$="-id_type"]').select_option("CNIE")
        row.locator('input[name$="-id_value"]').fill(cnie)


def _answer_questionnaire(page):
    from sijill.countries import get_profile

    for q in get_profile("ma").questionnaire.questions:
        if not q.required or q.milieu == "R":
            continue
        if q.type == "enum":
            page.locator(f'select[name="{q.name}"]').select_option(q.choices[0])
        elif q.type == "bool":
            page.locator(f'input[name="{q.name}"][value="0"]').check()
        else:
            page.locator(f'input[name="{q.name}"]').fill(
                str(int(q.min or 0) + (2 if q.name == "rooms" else 0))
            )


def test_register_a_household_end_to_end_in_arabic(page, accounts):
    from sijill.registry.models import Household

    _log_in(page, ENUMERATOR)
    page.locator('button[name="language"][value="ar"]').click()
    page.wait_for_function("document.documentElement.lang === 'ar'")
    page.get_by_role("navigation", name="القائمة الرئيسية").get_by_role(
        "link", name="تسجيل", exact=True
    ).click()
    page.wait_for_url("**/households/new/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", level=1).inner_text() == "تسجيل أسرة"

    commune = staff.commune_in("MA-CAS")
    page.locator("#id_area_code").select_option(commune.code)
    page.get_by_label("العنوان").fill("12 زنقة الليمون")
    page.get_by_label("رقم الهاتف").fill("12345")  # the deliberate mistake
    rows = page.locator("fieldset.member")
    _fill_member(rows.nth(0), relationship="HEAD", given="Mohamed", family="El Alaoui", given_ar="محمد",
                 family_ar="العلوي", sex="M", birth="1980-05-17", cnie="BK123456")  # fmt: skip
    # Members are added (and removed) in place, by htmx.
    page.get_by_role("button", name="إضافة فرد").click()
    page.get_by_role("button", name="إضافة فرد").click()
    rows.nth(2).wait_for()
    assert rows.count() == 3
    rows.nth(2).get_by_role("button", name="حذف هذا الفرد").click()
    page.wait_for_function("document.querySelectorAll('fieldset.member').length === 2")
    _fill_member(rows.nth(1), relationship="SPOUSE", given="Fatima Zahra", family="El Alaoui",
                 given_ar="فاطمة الزهراء", family_ar="العلوي", sex="F", birth="1984")  # fmt: skip
    # Right to left: a radio button stands to the right of its label.
    radio = rows.nth(0).locator('input[name$="-sex"][value="M"]').bounding_box()
    label = rows.nth(0).locator(
        f'label[for="{rows.nth(0).locator("input[name$=-sex][value=M]").get_attribute("id")}"]'
    )
    assert radio["x"] > label.bounding_box()["x"]
    _answer_questionnaire(page)
    page.get_by_role("button", name="تسجيل الأسرة").click()

    # The mistake is shown on its field, in Arabic; nothing was saved; the rows are still there.
    page.wait_for_selector("#id_phone_errors")
    assert page.locator("#id_phone_errors").inner_text() == "رقم هاتف غير صالح (المتوقع مثل +212…)."
    assert page.locator("#id_phone").get_attribute("aria-invalid") == "true"
    assert "لم يُحفظ أي شيء" in page.locator("#form-summary").inner_text()
    assert (
        rows.count() == 2
        and rows.nth(1).locator('input[name$="-given_name_ar"]').input_value() == "فاطمة الزهراء"
    )
    assert Household.objects.count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "test_register_a_household_error_in_arabic.png"), full_page=True)

    page.locator("#id_phone").fill("0612345678")
    page.get_by_role("button", name="تسجيل الأسرة").click()
    page.wait_for_url(lambda url: urlsplit(url).path.startswith("/households/") and "new" not in url)
    hh = Household.objects.get()
    assert urlsplit(page.url).path == f"/households/{hh.registry_id}/"
    assert page.get_by_role("heading", level=1).inner_text() == f"الأسرة {hh.registry_id}"
    assert (
        f"تم تسجيل الأسرة. رقمها في السجل هو {hh.registry_id}."
        in page.get_by_role("status").first.inner_text()
    )
    members = page.locator("table").first.inner_text()
    assert "محمد العلوي" in members and "فاطمة الزهراء العلوي" in members
    assert page.locator(".score").is_visible()  # scored on write


def test_a_name_change_asked_by_the_enumerator_and_approved_by_a_second_account(page, accounts, ma):
    from sijill.registry import services
    from sijill.registry.models import ChangeRequest

    def person(token, rel, **over):
        return {k.split("-", 2)[2]: v for k, v in member_fields(token, rel, **over).items()}

    hh = services.register_household(
        {"milieu": None, **household_fields(ma, staff.commune_in("MA-CAS").code)},
        [person("a", "HEAD"), person("b", "SPOUSE", given_name_lat="Fatima Zahra", given_name_ar="فاطمة الزهراء",
                                     sex="F", birth_date="1984-02-01")],
        reason="test",
    )  # fmt: skip
    _log_in(page, ENUMERATOR)
    page.goto(f"/households/{hh.registry_id}/")
    page.get_by_role("link", name="Modifier le ménage").click()
    page.wait_for_url(f"**/households/{hh.registry_id}/edit/")
    spouse_row = page.locator("tr", has_text="Fatima Zahra")
    spouse_row.get_by_role("link", name="Changer l’identité").click()
    page.get_by_label("Prénom (lettres latines)").fill("Fatima")
    page.get_by_label("Pourquoi ce changement est-il nécessaire ?").fill("Acte de naissance vu au guichet")
    page.get_by_role("button", name="Demander la validation").click()
    page.wait_for_url(f"**/households/{hh.registry_id}/edit/")
    cr = ChangeRequest.objects.get()
    assert f"Votre demande numéro {cr.pk} a été enregistrée" in page.get_by_role("status").inner_text()
    assert "Fatima Zahra" in page.locator("table").inner_text()  # nothing changed yet
    page.get_by_role("button", name="Se déconnecter").click()

    _log_in(page, CHECKER)
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Changements").click()
    assert page.get_by_role("status").inner_text() == "1 demande"
    page.get_by_role("link", name=f"Demande {cr.pk}").click()
    row = page.locator("table.compare tr", has_text="Prénom (lettres latines)")
    assert "Fatima Zahra" in row.inner_text() and "≠ Modifié" in row.inner_text()
    assert "Acte de naissance vu au guichet" in page.locator("main").inner_text()
    page.get_by_label("Valider : appliquer le changement").check()
    page.get_by_role("button", name="Enregistrer la décision").click()
    page.wait_for_url(f"**/changes/{cr.pk}/")
    assert "Changement validé et appliqué." in page.get_by_role("status").inner_text()
    page.get_by_role("link", name=hh.registry_id).click()
    page.wait_for_url(f"**/households/{hh.registry_id}/")
    members = page.locator("table").first.inner_text()
    assert "Fatima El Alaoui" in members and "Fatima Zahra" not in members
