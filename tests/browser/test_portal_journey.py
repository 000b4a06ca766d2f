"""The citizen portal in a real browser, in Arabic on a phone-sized screen: ask for a code
with a registry number, read it from the file sender's outbox, enter it, read the score
explanation and the programmes (right to left), file a complaint."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.conftest import household_row, person_row


@pytest.fixture
def outbox(tmp_path, settings):
    settings.SIJILL_SMS_BACKEND = "sijill.portal.sms.FileSender"
    settings.SIJILL_SMS_OUTBOX = tmp_path / "outbox.jsonl"
    return settings.SIJILL_SMS_OUTBOX


@pytest.fixture
def family_household(transactional_db, ma):
    from sijill.registry import services

    row = household_row(ma, "H1", phone="0612345678")
    pp = [
        person_row("P1", "H1", "HEAD"),
        person_row(
            "P2",
            "H1",
            "SPOUSE",
            given_name_lat="Fatima Zahra",
            given_name_ar="فاطمة الزهراء",
            sex="F",
            birth_date="1984-02-01",
        ),
        person_row(
            "P3", "H1", "CHILD", given_name_lat="Salma", given_name_ar="سلمى", sex="F", birth_date="2019"
        ),
    ]
    return services.register_household(row, pp, channel="CENTRE", reason="test")


def _code(outbox) -> str:
    from sijill.portal.sms import read_outbox

    (msg,) = read_outbox(1, outbox)
    assert msg["to"] == "+212612345678"
    return re.search(r"\b(\d{6})\b", msg["text"]).group(1)


def test_a_citizen_logs_in_and_files_a_complaint_in_arabic(page, family_household, outbox):
    from sijill.grievances.models import Grievance

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/portal/")
    page.locator('button[name="language"][value="ar"]').click()
    page.wait_for_function("document.documentElement.lang === 'ar'")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", level=1).inner_text() == "أسرتك في السجل"

    page.get_by_label("رقم الأسرة في السجل أو رقم البطاقة الوطنية").fill(family_household.registry_id)
    page.get_by_role("button", name="أرسلوا لي رمزًا").click()
    page.wait_for_url("**/portal/verify/")
    assert "إذا كان هذا الرقم مسجلًا" in page.locator("main").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "portal_ar_code.png"), full_page=True)

    page.get_by_label("الرمز الذي توصلت به في رسالة نصية").fill(_code(outbox))
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/household/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", level=1).inner_text() == "أسرتك"
    score = page.get_by_role("region", name="مؤشرك، مع الشرح")
    assert "مؤشر أسرتك:" in score.inner_text() and "أكثر ما" in score.inner_text()
    programmes = page.get_by_role("region", name="برامجك").inner_text()
    assert "مؤهلة" in programmes and "د.م." in programmes  # an amount in dirhams, Arabic locale
    assert "لم تُسجل أي دفعة لأسرتك بعد." in page.locator("main").inner_text()
    # Mobile first: nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SCREENSHOTS / "portal_ar_household.png"), full_page=True)

    page.get_by_role("link", name="تقديم شكاية").click()
    page.get_by_role("button", name="إرسال الشكاية").click()  # empty: errors tied to the fields
    alert = page.get_by_role("alert")
    assert alert.is_visible()
    assert page.get_by_label("صف المشكلة").get_attribute("aria-invalid") == "true"
    page.get_by_label("مؤشري غير صحيح").check()
    page.get_by_label("صف المشكلة").fill("ليست لدينا سيارة، والمؤشر يحسب سيارة.")
    page.get_by_role("button", name="إرسال الشكاية").click()
    page.wait_for_url("**/portal/household/")
    g = Grievance.objects.get()
    assert g.household_id == family_household.pk and g.category == "WRONG_SCORE"
    assert g.reference in page.get_by_role("status").inner_text()
