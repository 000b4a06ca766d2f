"""Journey of a duplicate reviewer in a real browser: the queue, a pair side by side, a match with
its reason, the merge shown, the merge undone; and the same queue in Arabic, right to left."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from sijill.cli import DEMO_PASSWORD
from tests import staff
from tests.browser.conftest import SCREENSHOTS

REVIEWER = "demo-dedup-reviewer"


@pytest.fixture
def pair(transactional_db):
    """Fatima Zahra El Alaoui registered in two households of Casablanca, queued as a probable pair."""
    from sijill.accounts.services import create_staff_user
    from sijill.identity.models import MatchCandidate
    from sijill.registry.models import Membership

    staff.geography()
    kept, other = staff.household("MA-CAS"), staff.household("MA-CAS")
    a, b = (Membership.objects.get(household=h, relationship="SPOUSE").person for h in (kept, other))
    candidate = MatchCandidate.objects.create(
        person_a=a,
        person_b=b,
        kind=MatchCandidate.PROBABLE,
        probability=0.973,
        match_weight=11.2,
        details={"levels": {"given_name": 4, "family_name": 4, "birth_date": 6, "sex": 1, "commune": 1}},
        created_at=timezone.now(),
    )
    # As `sijill demo` creates it: national.
    create_staff_user(REVIEWER, DEMO_PASSWORD, "DEDUP_REVIEWER", (), national=True, check_password=False)
    return {"candidate": candidate, "kept": kept, "other": other, "a": a, "b": b}


def _log_in(page):
    page.goto("/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(REVIEWER)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")


def test_review_a_duplicate(page, pair):
    from sijill.identity.models import MatchCandidate, Merge
    from sijill.registry.models import Person

    _log_in(page)
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Doublons").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Doublons possibles"
    assert page.get_by_role("status").inner_text() == "1 paire"
    c = pair["candidate"]
    page.get_by_role("link", name=f"Ouvrir la paire {c.pk}").click()
    page.wait_for_url(f"**/review/{c.pk}/")

    # Both records side by side, the differing household marked in words.
    table = page.locator("table.compare")
    assert pair["a"].registry_id in table.inner_text() and pair["b"].registry_id in table.inner_text()
    household_row = table.locator("tr", has_text="Ménage")
    assert "≠ Différent" in household_row.inner_text()
    assert "même graphie en lettres latines" in page.locator("main").inner_text()

    # Decide: the same person, she stays in the first household.
    page.get_by_label("La même personne : fusionner les deux fiches").check()
    page.get_by_label(pair["kept"].registry_id).check()
    page.get_by_label("Motif", exact=True).fill("Même nom, même date de naissance, même commune")
    page.get_by_role("button", name="Enregistrer la décision").click()
    page.wait_for_url(f"**/review/{c.pk}/")
    assert "Fusionné :" in page.get_by_role("status").inner_text()
    merge_section = page.locator("section.merge")
    assert f"La fiche {pair['b'].registry_id} a été fusionnée dans {pair['a'].registry_id}" in (
        merge_section.inner_text()
    )
    assert Person.objects.get(pk=pair["b"].pk).merged_into_id == pair["a"].pk
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "test_review_a_duplicate_merged.png"), full_page=True)

    # Undo it, with a reason.
    page.get_by_label("Motif de l'annulation de la fusion").fill("Deux sœurs jumelles")
    page.get_by_role("button", name="Annuler la fusion").click()
    page.wait_for_url(f"**/review/{c.pk}/")
    assert "Fusion annulée" in page.get_by_role("status").inner_text()
    assert page.get_by_role("button", name="Enregistrer la décision").is_visible()
    b = Person.objects.get(pk=pair["b"].pk)
    assert not b.is_deleted and b.merged_into_id is None
    assert MatchCandidate.objects.get(pk=c.pk).status == "PENDING"
    assert Merge.objects.get(candidate=c).undone_at is not None


def test_review_queue_in_arabic(page, pair):
    _log_in(page)
    page.goto("/review/")
    page.locator('button[name="language"][value="ar"]').click()
    page.wait_for_function("document.documentElement.lang === 'ar'")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", level=1).inner_text() == "التكرارات المحتملة"
    menu = page.get_by_role("navigation", name="القائمة الرئيسية")
    assert menu.locator('[aria-current="page"]').inner_text() == "التكرارات"
    headers = page.locator("thead th").all_inner_texts()
    assert headers[:2] == ["الزوج", "النوع"] and "الاحتمال" in headers
    assert page.get_by_role("status").inner_text() == "زوج واحد"
    assert "تطابق محتمل" in page.locator("tbody").inner_text()
    assert "Possible duplicates" not in page.content() and "Doublons" not in page.content()
