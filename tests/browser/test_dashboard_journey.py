"""Journeys of the demo policy analyst in a real browser: run a simulation (change a threshold, run,
read the comparison with current law, download its CSV); and the statistics dashboard in Arabic, its
chart and table right to left."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from django.utils import timezone

from sijill.cli import DEMO_PASSWORD
from tests.browser.conftest import SCREENSHOTS

ANALYST = "demo-policy-analyst"


@pytest.fixture
def registry(transactional_db, tmp_path: Path, settings):
    """150 synthetic Moroccan households scored today, their synthetic truth, and the demo analyst
    (national, as `sijill demo` creates it)."""
    from sijill.accounts.services import create_staff_user
    from sijill.registry.intake.job import run_import
    from sijill.synth import generate
    from sijill.targeting.services import score

    settings.SIJILL_RESCORE_ON_CHANGE = False
    settings.VAR_DIR = tmp_path / "var"
    out = tmp_path / "synth"
    generate("ma", 150, 3, out)
    today = timezone.localdate()
    assert run_import([out / "households.csv", out / "persons.csv"], country="MA", today=today).loaded == 150
    score("MA", today)
    settings.SIJILL_TRUTH_FILE = str(out / "truth.csv")
    create_staff_user(ANALYST, DEMO_PASSWORD, "POLICY_ANALYST", (), national=True, check_password=False)
    return out


def _log_in(page):
    page.goto("/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(ANALYST)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")


def _number(text: str) -> float:
    return float(text.replace("\u202f", "").replace("\xa0", "").replace("MAD", "").replace(",", "."))


def test_run_a_simulation(page, registry):
    _log_in(page)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Simulateur de politiques"
    ).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Simulateur de politiques"
    threshold = page.get_by_label("asd.threshold")
    assert threshold.input_value() == "9,743001"  # the value in force, in French

    threshold.fill("10,2")
    started = time.perf_counter()
    page.get_by_role("button", name="Lancer la simulation").click()
    results = page.locator("#results")
    results.wait_for()
    seconds = time.perf_counter() - started
    print(f"simulation of 150 households, click to results: {seconds:.2f} s")
    assert "150 ménages simulés en" in results.get_by_role("status").inner_text()
    assert "asd.threshold: 9,743001 → 10,2 points d’indice" in results.inner_text()
    assert "asd.threshold=10%2C2" in page.url  # htmx pushed the run's address: it can be shared

    # Side by side with current law: more ASD beneficiaries and a higher cost.
    asd = results.locator("#table-programmes tr", has_text="Aide sociale directe")
    cells = [c.strip() for c in asd.locator("th, td").all_inner_texts()]
    current, changed = _number(cells[1]), _number(cells[2])
    assert changed > current
    assert _number(cells[5]) > _number(cells[4])
    assert results.locator("svg#chart-sim-programmes").get_attribute("role") == "img"
    assert results.locator("svg#chart-sim-asd rect.bar").count() > 0

    # The CSV says the same.
    with page.expect_download() as info:
        results.locator("a.download").first.click()
    download = info.value
    assert download.suggested_filename == "sijill-simulation-programmes.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    row = next(r for r in rows if r[0] == "Aide sociale directe")
    assert (int(row[1]), int(row[2])) == (current, changed)
    assert float(row[4]) == pytest.approx(_number(cells[4])) and float(row[5]) == pytest.approx(
        _number(cells[5])
    )
    results.scroll_into_view_if_needed()


def test_a_bad_value_is_shown_on_its_field(page, registry):
    _log_in(page)
    page.goto("/simulator/")
    page.get_by_label("asd.floor").fill("-5")
    page.get_by_role("button", name="Lancer la simulation").click()
    page.locator("#sim-errors").wait_for()
    field = page.get_by_label("asd.floor")
    assert field.get_attribute("aria-invalid") == "true"
    assert "supérieure ou égale à 0" in page.locator("#err-asd-floor").inner_text()
    assert page.locator("#results").count() == 0
    assert unquote(urlsplit(page.url).query).count("asd.floor=-5") == 1


def test_the_dashboard_in_arabic(page, registry):
    _log_in(page)
    page.locator('button[name="language"][value="ar"]').click()
    page.wait_for_function("document.documentElement.lang === 'ar'")
    page.get_by_role("navigation", name="القائمة الرئيسية").get_by_role("link", name="الإحصاءات").click()
    page.wait_for_url("**/statistics/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", level=2, name="الأسر والأشخاص المسجلون").is_visible()

    chart = page.locator("svg#chart-registered")
    assert chart.get_attribute("role") == "img" and chart.get_attribute("data-rtl") == "true"
    assert (
        page.locator("#chart-registered-title").text_content() == "الأسر والأشخاص المسجلون، حسب الجهة والوسط"
    )
    # Right to left: the region's name on the right, its bars growing leftwards from it.
    label = chart.locator("text.label").first.bounding_box()
    bar = chart.locator("rect.bar").first.bounding_box()
    assert label["x"] > bar["x"] + bar["width"] - 1
    # The table reads right to left too: its first column is the rightmost.
    headers = page.locator("#table-registered thead th")
    assert headers.first.inner_text() == "الجهة"
    assert headers.first.bounding_box()["x"] > headers.last.bounding_box()["x"]
    # The histogram and the targeting quality, measured against the synthetic truth.
    assert page.locator("svg#chart-scores rect.bar").count() > 0
    assert page.locator("#table-targeting").is_visible()
    assert "خطأ الإقصاء" in page.locator("#table-targeting thead").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#registry").screenshot(path=str(SCREENSHOTS / "dashboard_arabic_registry_chart.png"))
