"""A social worker finds a household in a real browser by a misspelt Arabic name (htmx search as
they type), sees which member matched and why, and opens the household; a household of another
province with the same name stays invisible."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests import staff
from tests.browser.conftest import SCREENSHOTS
from tests.conftest import household_row, person_row

WORKER = "worker-casablanca"


@pytest.fixture
def registry(transactional_db, ma):
    from sijill.registry import services

    staff.geography()
    cas, rab = staff.commune_in("MA-CAS").code, staff.commune_in("MA-RAB").code
    mine = services.register_household(
        household_row(ma, "H1", area_code=cas),
        [person_row("P1", "H1", "HEAD", given_name_lat="Mohammed", family_name_lat="Lidrissi",
                    given_name_ar="محمد", family_name_ar="الإدريسي")],
    )  # fmt: skip
    other = services.register_household(
        household_row(ma, "H2", area_code=rab),
        [person_row("P2", "H2", "HEAD", given_name_lat="Mohamed", family_name_lat="El Idrissi",
                    given_name_ar="محمد", family_name_ar="الإدريسي", birth_date="1971-03-03")],
    )  # fmt: skip
    staff.staff(WORKER, "SOCIAL_WORKER", ("MA-CAS",))
    return mine, other


def test_find_a_household_by_a_misspelt_arabic_name(page, registry):
    mine, other = registry
    page.goto("/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(WORKER)
    page.get_by_label("Mot de passe").fill(staff.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")
    page.goto("/households/")
    page.locator('button[name="language"][value="ar"]').click()
    page.wait_for_function("document.documentElement.lang === 'ar'")
    box = page.get_by_label("رقم السجل أو رقم الهوية أو الهاتف أو الاسم")
    # No hamza on the alef, alef maksura for the final ya: as often typed on a phone.
    box.fill("محمد الادريسى")
    row = page.locator("#results tbody tr.search-hit")
    row.first.wait_for()
    assert row.count() == 1
    text = row.inner_text()
    assert mine.registry_id in text and other.registry_id not in text
    assert "اسم أحد الأفراد" in text and "محمد الإدريسي" in text and "Mohammed Lidrissi" in text
    assert page.get_by_role("status").first.inner_text() == "أسرة واحدة"
    assert urlsplit(page.url).query.startswith("q=")  # the search is in the address, to share or go back to
    page.screenshot(path=str(SCREENSHOTS / "test_search_misspelt_arabic_name_results.png"), full_page=True)
    row.get_by_role("link", name=mine.registry_id).click()
    page.wait_for_url(lambda url: mine.registry_id in urlsplit(url).path)
    assert "الإدريسي" in page.locator("main").inner_text()
