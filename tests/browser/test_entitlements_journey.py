"""A social worker reads how a family's aid is made, in Arabic, on the household page."""

from __future__ import annotations

import pytest

from tests import staff
from tests.browser.test_journeys import _log_in, _on_dashboard
from tests.targeting.test_scoring import _poor_family


@pytest.fixture
def family(transactional_db):
    from sijill.countries import get_profile
    from sijill.registry import services

    hh, members = _poor_family(get_profile("ma"))
    household = services.register_household(hh, members, channel="CENTRE", reason="first visit")
    worker = staff.staff("worker", "SOCIAL_WORKER", national=True)
    return household, worker


def test_the_household_page_shows_each_part_of_the_aid_in_arabic(page, family):
    from sijill.programmes.models import Decision

    household, _worker = family
    asd = Decision.objects.get(household=household, programme="ASD", is_current=True)
    _log_in(page, "worker")
    _on_dashboard(page)
    page.locator('button[name="language"][value="ar"]').click()
    page.wait_for_function("document.documentElement.lang === 'ar'")
    page.goto(f"/households/{household.registry_id}/")
    section = page.locator("#entitlements")
    # Loaded by htmx after the page: the heading, the parts and what each child brings.
    parts = section.get_by_role("table").first
    parts.wait_for()
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert section.get_by_role("heading", name="كيف يُحتسب كل مبلغ").is_visible()
    text = parts.inner_text()
    assert "منح الأطفال" in text and "المجموع" in text
    children = section.locator("table", has=page.locator("caption", has_text="ما يخوّله كل فرد من حقوق"))
    assert children.locator("tbody tr").count() == 2
    # The total of the parts is the decided amount, written as the page writes money.
    total = parts.locator("tfoot td").inner_text()
    heading = section.get_by_role("heading", level=4).first.inner_text()
    assert total.strip() in heading
    assert asd.amount is not None and asd.amount >= 500
