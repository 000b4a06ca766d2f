"""Journey of an enumerator importing a file in a real browser: upload, the progress bar moving
to the end (htmx polling), the summary, and the rejects file downloaded and read."""

from __future__ import annotations

import csv
from urllib.parse import urlsplit

import pytest

from sijill.cli import DEMO_PASSWORD
from tests import staff
from tests.browser.conftest import SCREENSHOTS
from tests.conftest import household_row, person_row, write_tables

AGENT = "demo-enumerator"


@pytest.fixture
def files(tmp_path, ma, transactional_db, monkeypatch):
    """Ten households of Casablanca, two of them with a bad row; an enumerator of Casablanca."""
    from sijill.accounts.services import create_staff_user

    staff.geography()
    cas = staff.commune_in("MA-CAS").code
    hh = [household_row(ma, f"H{i}", area_code=cas) for i in range(10)]
    hh[3]["phone"] = "12345"  # households row 5
    pp = [person_row(f"P{i}", f"H{i}", "HEAD") for i in range(10)]
    pp[7]["sex"] = "X"  # persons row 9
    create_staff_user(AGENT, DEMO_PASSWORD, "ENUMERATOR", ("MA-CAS",), check_password=False)
    # Chunks of two households with a pause after each: the bar moves while the page watches.
    monkeypatch.setenv("SIJILL_IMPORT_CHUNK", "2")
    monkeypatch.setenv("SIJILL_IMPORT_CHUNK_DELAY", "0.6")
    return write_tables(tmp_path / "upload", hh, pp)


def test_import_a_file_and_download_its_rejects(page, files, tmp_path):
    from sijill.registry.models import Household

    page.goto("/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(AGENT)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Importations").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Importations"
    assert "Seuls les ménages de vos zones sont chargés" in page.locator("main").inner_text()

    page.get_by_label("Fichier des ménages").set_input_files(str(files[0]))
    page.get_by_label("Fichier des personnes").set_input_files(str(files[1]))
    page.get_by_role("button", name="Lancer l’importation").click()
    page.wait_for_url("**/imports/*/")

    # The bar, polled by htmx, is seen part of the way and then at the end.
    bar = page.get_by_role("progressbar")
    seen: set[int] = set()
    for _ in range(200):
        now = bar.get_attribute("aria-valuenow")
        if now is not None:
            seen.add(int(now))
        if page.get_by_test_id("import-status").inner_text() == "Terminé":
            break
        page.wait_for_timeout(150)
    assert page.get_by_test_id("import-status").inner_text() == "Terminé"
    assert bar.get_attribute("aria-valuemax") == "10" and bar.get_attribute("aria-valuenow") == "10"
    assert any(0 < n < 10 for n in seen), f"the bar was never seen part of the way: {sorted(seen)}"
    assert "10 ménages traités sur 10 (100 %)" in page.locator("#progress-label").inner_text()
    assert page.get_by_role("status").filter(has_text="Importation terminée").inner_text().strip() == (
        "Importation terminée : 8 chargés, 2 rejetés."
    )

    # The summary: every row accounted for.
    assert page.get_by_test_id("read").inner_text() == "10"
    assert page.get_by_test_id("loaded").inner_text() == "8"
    assert page.get_by_test_id("rejected").inner_text() == "2"
    assert "Chaque ligne de ménage est comptée" in page.locator("main").inner_text()
    assert Household.objects.count() == 8

    # The rejects file, downloaded: each problem with its file, row, column and reason.
    with page.expect_download() as info:
        page.get_by_test_id("file-errors").click()
    path = tmp_path / "errors.csv"
    info.value.save_as(path)
    with open(path, encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["column"]]
    got = {(r["file"], r["row"], r["column"]) for r in rows}
    assert got == {("households", "5", "phone"), ("persons", "9", "sex")}
    assert all(r["reason"] for r in rows)
    page.screenshot(path=str(SCREENSHOTS / "import_summary.png"), full_page=True)

    # The list of past imports links to it, with its counts.
    page.get_by_role("link", name="Toutes les importations").click()
    row = page.locator("tbody tr").first
    assert "demo-enumerator" in row.inner_text() and "Terminé" in row.inner_text()

    # The same list in Arabic: right to left, translated.
    page.locator('button[name="language"][value="ar"]').click()
    page.wait_for_function("document.documentElement.lang === 'ar'")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", level=1).inner_text() == "الاستيراد"
    assert "عملية استيراد واحدة" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="بدء الاستيراد").is_visible()
