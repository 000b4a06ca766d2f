"""Journeys in a real browser: logging in per role, Arabic right to left, throttled logins,
keyboard use, the htmx search."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests import staff

LOCKED_FR = "Trop d’échecs de connexion"


@pytest.fixture
def people(transactional_db):
    staff.geography()
    staff.household("MA-CAS", amount="1234.50")
    staff.household("MA-RAB")
    return {
        "agent": staff.staff("agent", "ENUMERATOR", ("MA-CAS",)),
        "analyst": staff.staff("analyst", "POLICY_ANALYST", national=True),
    }


def _log_in(page, username, password=staff.PASSWORD):
    page.goto("/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def _on_dashboard(page):
    page.wait_for_url(lambda url: urlsplit(url).path == "/")


def _menu(page, label="Menu principal"):
    return [
        t.strip() for t in page.get_by_role("navigation", name=label).get_by_role("link").all_inner_texts()
    ]


@pytest.mark.parametrize(
    ("username", "menu", "absent"),
    [
        (
            "agent",
            ["Tableau de bord", "Ménages", "Enregistrer", "Changements", "Importations"],
            "Statistiques",
        ),
        ("analyst", ["Tableau de bord", "Statistiques", "Simulateur de politiques"], "Ménages"),
    ],
    ids=["enumerator", "policy_analyst"],
)
def test_each_role_sees_its_own_menu(page, people, username, menu, absent):
    _log_in(page, username)
    _on_dashboard(page)
    assert _menu(page) == menu
    current = page.get_by_role("navigation", name="Menu principal").locator('[aria-current="page"]')
    assert current.inner_text() == "Tableau de bord"
    cards = page.locator("main .cards a").all_inner_texts()
    assert absent not in cards and menu[1] in cards
    # A page the role may not use answers 403 in the browser too.
    forbidden = "/statistics/" if username == "agent" else "/households/"
    assert page.goto(forbidden).status == 403
    assert page.get_by_role("heading", name="Accès refusé").is_visible()


def test_arabic_is_right_to_left_translated_and_mirrored(page, people):
    _log_in(page, "agent")
    _on_dashboard(page)
    brand, user = page.locator(".brand"), page.locator(".user")
    ltr_brand, ltr_user = brand.bounding_box(), user.bounding_box()
    assert ltr_brand["x"] < ltr_user["x"]  # French: brand on the left

    page.locator('button[name="language"][value="ar"]').click()
    page.wait_for_function("document.documentElement.lang === 'ar'")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert _menu(page, "القائمة الرئيسية") == ["لوحة القيادة", "الأسر", "تسجيل", "التغييرات", "الاستيراد"]
    assert page.get_by_role("heading", level=1).inner_text() == "لوحة القيادة"
    rtl_brand, rtl_user = brand.bounding_box(), user.bounding_box()
    width = page.viewport_size["width"]
    assert rtl_brand["x"] > rtl_user["x"]  # Arabic: brand on the right...
    assert abs((rtl_brand["x"] + rtl_brand["width"]) - (width - ltr_brand["x"])) < 2  # ...mirrored
    assert page.locator('button[value="ar"]').get_attribute("aria-current") == "true"

    # The household page: Arabic labels, Moroccan month names, Western digits.
    page.get_by_role("navigation", name="القائمة الرئيسية").get_by_role("link", name="الأسر").click()
    page.locator("#results a").first.click()
    text = page.locator("main").inner_text()
    assert "يوليوز 2025" in text and "1.234,50" in text and "د.م." in text


def test_failed_logins_are_throttled_and_the_user_is_told(page, people):
    for attempt in range(1, 6):
        _log_in(page, "agent", "not-the-password")
        alert = page.get_by_role("alert")
        if attempt < 5:
            assert "Nom d’utilisateur ou mot de passe incorrect" in alert.inner_text()
    assert LOCKED_FR in alert.inner_text() and "15 minutes" in alert.inner_text()
    assert page.get_by_label("Mot de passe").get_attribute("aria-invalid") == "true"
    _log_in(page, "agent")  # the right password, too late
    assert LOCKED_FR in page.get_by_role("alert").inner_text()
    assert page.url.endswith("/accounts/login/")


def test_keyboard_only_login_skip_link_and_visible_focus(page, people):
    page.goto("/accounts/login/")
    assert page.evaluate("document.activeElement.id") == "id_username"  # autofocus
    page.keyboard.type("agent")
    page.keyboard.press("Tab")
    page.keyboard.type(staff.PASSWORD)
    page.keyboard.press("Enter")
    _on_dashboard(page)
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert skip.bounding_box()["y"] >= 0  # shown when focused
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.locator("main").get_attribute("id") == "main" and page.locator("header").count() == 1
    assert page.locator("footer").count() == 1


def test_household_search_updates_in_place_with_htmx(page, people):
    _log_in(page, "agent")
    _on_dashboard(page)
    page.goto("/households/")
    assert page.evaluate("typeof window.htmx") == "object"
    status = page.get_by_role("status")
    assert status.inner_text() == "1 ménage"
    page.evaluate("window.__marker = 1")  # survives only if the page is not reloaded
    page.get_by_label("Numéro de registre, numéro d'identité, téléphone ou nom").fill("ZZZ")
    page.wait_for_function("document.querySelector('#results [role=status]').innerText.includes('0')")
    assert page.evaluate("window.__marker") == 1
    assert "q=ZZZ" in page.url  # hx-push-url keeps the address shareable
