"""The duplicate review pages: queue, a pair side by side, decisions through the web, undoing a merge,
area scoping; and the household page's score, explanation, decisions, merges and history."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sijill.identity import services
from sijill.identity.explain import levels_in_words
from sijill.identity.models import MatchCandidate, Merge
from sijill.registry.models import AdminArea
from tests import staff

pytestmark = pytest.mark.django_db(transaction=True)

LEVELS = {
    "given_name": 4,
    "family_name": 3,
    "birth_date": 3,
    "sex": 1,
    "commune": 1,
    "phone": -1,
    "co_members": 0,
}


def _probable(a, b, probability: float, levels=None) -> MatchCandidate:
    a, b = sorted((a, b), key=lambda p: p.pk)
    return MatchCandidate.objects.create(
        person_a=a,
        person_b=b,
        kind=MatchCandidate.PROBABLE,
        probability=probability,
        match_weight=12.5,
        details={"levels": levels or LEVELS},
        created_at=timezone.now(),
    )


@pytest.fixture
def queue(dupes):
    return {
        "salma": _probable(dupes.person("P4"), dupes.person("P4B"), 0.97),
        "khadija": _probable(dupes.person("P5"), dupes.person("P6"), 0.91),
        "mother": _probable(dupes.person("P2"), dupes.person("P10"), 0.99),
        "conflict": services.record_conflict(
            dupes.person("P9"),
            dupes.person("P1"),
            kind=MatchCandidate.ID_CONFLICT,
            reason="CNIE BK123456 is already held by person X in household Y",
            details={"id_type": "CNIE", "value": "BK123456"},
        ),
    }


def _client(user, lang: str = "en") -> Client:
    c = Client(headers={"accept-language": lang})
    c.force_login(user)
    return c


@pytest.fixture
def reviewer():
    return _client(staff.staff("rev", "DEDUP_REVIEWER", national=True))


def _other_province(dupes) -> str:
    """A province that none of the fixture's households lies in."""
    paths = {h.area_path for h in dupes.households.values()}
    for area in AdminArea.objects.filter(level="province").order_by("code"):
        if not any(p.startswith(area.path + "/") for p in paths):
            return area.code
    raise AssertionError("no other province")


def _province_of(dupes) -> str:
    path = dupes.household("H1").area_path
    return AdminArea.objects.get(path="/".join(path.split("/")[:2])).code


def test_the_queue_lists_pending_pairs_best_first_and_filters_by_kind_and_status(queue, reviewer):
    page = reviewer.get(reverse("review_queue"))
    assert page.status_code == 200
    pks = [int(x) for x in re.findall(r'href="/review/(\d+)/"', page.text)]
    assert pks == [queue[k].pk for k in ("conflict", "mother", "salma", "khadija")]
    assert "4 pairs" in page.text and "Same identifier" in page.text
    only = reviewer.get(reverse("review_queue"), {"kind": "ID_CONFLICT"})
    assert re.findall(r'href="/review/(\d+)/"', only.text) == [str(queue["conflict"].pk)]
    MatchCandidate.objects.filter(pk=queue["salma"].pk).update(status="AUTO_LINKED", decided_by="run")
    linked = reviewer.get(reverse("review_queue"), {"status": "AUTO_LINKED"})
    assert re.findall(r'href="/review/(\d+)/"', linked.text) == [str(queue["salma"].pk)]


def test_the_queue_is_paginated(queue, reviewer, monkeypatch):
    monkeypatch.setattr("sijill.identity.views.PAGE_SIZE", 3)
    first = reviewer.get(reverse("review_queue"))
    second = reviewer.get(reverse("review_queue"), {"page": 2})
    assert len(re.findall(r'href="/review/(\d+)/"', first.text)) == 3
    assert re.findall(r'href="/review/(\d+)/"', second.text) == [str(queue["khadija"].pk)]
    assert "Page 2 of 2" in second.text


def test_an_out_of_area_pair_is_hidden_and_answers_404(dupes, queue):
    elsewhere = _client(staff.staff("far", "DEDUP_REVIEWER", (_other_province(dupes),)))
    assert "0 pairs" in elsewhere.get(reverse("review_queue")).text
    c = queue["salma"]
    assert elsewhere.get(reverse("review_candidate", args=[c.pk])).status_code == 404
    r = elsewhere.post(reverse("review_decide", args=[c.pk]), {"decision": "MATCH", "reason": "same"})
    assert r.status_code == 404
    c.refresh_from_db()
    assert c.status == "PENDING"
    # An account of the province sees the pairs; a pair is visible through either record.
    here = _client(staff.staff("near", "DEDUP_REVIEWER", (_province_of(dupes),)))
    assert here.get(reverse("review_candidate", args=[c.pk])).status_code == 200


def test_a_pair_is_visible_when_one_record_is_in_the_area(dupes, queue):
    from sijill.identity.selectors import candidates_in_areas
    from sijill.registry.models import Household

    h4 = dupes.household("H4")
    # Move H4 to another province's path: the pair P2/P10 is still visible through P2 in H1.
    other = AdminArea.objects.get(code=_other_province(dupes))
    Household.objects.filter(pk=h4.pk).update(area_path=other.path + "/X")
    qs = MatchCandidate.objects.all()
    assert queue["mother"] in candidates_in_areas(qs, [dupes.household("H1").area_path])
    assert set(candidates_in_areas(qs, [other.path])) == {queue["mother"], queue["conflict"]}
    assert list(candidates_in_areas(qs, [])) == []
    assert candidates_in_areas(qs, None).count() == 4


def test_the_pair_page_shows_both_records_side_by_side_with_differences_marked(dupes, queue, reviewer):
    page = reviewer.get(reverse("review_candidate", args=[queue["mother"].pk]))
    assert page.status_code == 200
    text = page.text
    p2, p10 = dupes.person("P2"), dupes.person("P10")
    assert p2.registry_id in text and p10.registry_id in text
    assert "فاطمة الزهراء" in text and "Fatima Zahra" in text
    assert dupes.household("H1").registry_id in text and dupes.household("H4").registry_id in text
    # Members of both households, the records themselves marked.
    assert "Youssef" in text and "Amina" in text and "(this record)" in text
    # Differences are marked in words, not only by colour.
    assert '<tr class="differs">' in text and "≠ Different" in text and "= Same" in text
    # Levels in words.
    assert "same spelling in Latin letters" in text
    assert "same spelling in Arabic script" in text
    assert "same year, one date known only to the year" in text
    assert "points to the same person" in text and "says nothing" in text
    assert "99.0" in text  # probability in words
    # Two households: the reviewer chooses the one kept.
    assert 'name="keep_household"' in text and 'name="csrfmiddlewaretoken"' in text


def test_the_parents_names_are_compared_side_by_side_when_either_record_has_them(dupes, queue, reviewer):
    url = reverse("review_candidate", args=[queue["mother"].pk])
    before = reviewer.get(url).text.replace("&#x27;", "'")
    assert "Sex</th>" in before and "Father's given name" not in before  # neither names a parent
    from sijill.registry.models import Person

    Person.objects.filter(pk=dupes.person("P2").pk).update(
        father_name_lat="Abdellah", father_name_ar="عبد الله"
    )
    Person.objects.filter(pk=dupes.person("P10").pk).update(father_name_lat="Abdallah")
    text = reviewer.get(url).text.replace("&#x27;", "'")
    row = re.search(
        r"<tr[^>]*>\s*<th scope=\"row\">Father's given name \(Latin script\)</th>(.*?)</tr>", text, re.S
    )
    assert row and "Abdellah" in row.group(1) and "Abdallah" in row.group(1) and "≠ Different" in row.group(1)
    row = re.search(r"<th scope=\"row\">Father's given name \(Arabic script\)</th>(.*?)</tr>", text, re.S)
    assert row and "عبد الله" in row.group(1) and "—" in row.group(1)
    assert "Mother's given name" not in text


def test_an_identifier_conflict_shows_its_reason(queue, reviewer):
    page = reviewer.get(reverse("review_candidate", args=[queue["conflict"].pk]))
    assert "CNIE BK123456 is already held by person X in household Y" in page.text
    assert "BK123456" in page.text


def test_match_through_the_web_merges_and_shows_the_merge_then_undo_restores(dupes, queue, reviewer):
    c = queue["salma"]
    url = reverse("review_candidate", args=[c.pk])
    r = reviewer.post(reverse("review_decide", args=[c.pk]), {"decision": "MATCH", "reason": "same child"})
    assert r.status_code == 302 and r["Location"] == url
    c.refresh_from_db()
    assert (c.status, c.decided_by, c.decision_reason) == ("MATCH", "rev", "same child")
    merge = Merge.objects.get(candidate=c)
    twin = dupes.person("P4B")
    assert twin.is_deleted and twin.merged_into_id == dupes.person("P4").pk
    assert merge.changeset.actor_name == "rev"
    page = reviewer.get(url)
    assert "was merged into" in page.text and "Merged:" in page.text
    assert reverse("review_unmerge", args=[c.pk]) in page.text
    assert reverse("review_decide", args=[c.pk]) not in page.text
    # The household page: the merged record links to its survivor.
    hh = reviewer.get(reverse("household", args=[dupes.household("H1").registry_id]))
    assert "Merged records" in hh.text and f"#person-{dupes.person('P4').registry_id}" in hh.text
    # Undo needs a reason.
    r = reviewer.post(reverse("review_unmerge", args=[c.pk]), {"reason": "  "})
    assert r.status_code == 200 and "This field is required." in r.text
    assert Merge.objects.get(pk=merge.pk).undone_at is None
    r = reviewer.post(reverse("review_unmerge", args=[c.pk]), {"reason": "twins"})
    assert r.status_code == 302
    c.refresh_from_db()
    twin.refresh_from_db()
    assert c.status == "PENDING" and not twin.is_deleted and twin.merged_into_id is None
    assert Merge.objects.get(pk=merge.pk).undone_at is not None
    page = reviewer.get(url)
    assert "Merge undone" in page.text and reverse("review_decide", args=[c.pk]) in page.text


def test_not_match_through_the_web_closes_the_pair(dupes, queue, reviewer):
    c = queue["conflict"]
    r = reviewer.post(
        reverse("review_decide", args=[c.pk]), {"decision": "NOT_MATCH", "reason": "two persons"}
    )
    assert r.status_code == 302
    c.refresh_from_db()
    assert (c.status, c.decision_reason) == ("NOT_MATCH", "two persons")
    assert not Merge.objects.exists() and not dupes.person("P9").is_deleted
    page = reviewer.get(reverse("review_candidate", args=[c.pk]))
    assert "Different persons" in page.text and reverse("review_decide", args=[c.pk]) not in page.text


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_empty_reason_is_refused_with_a_field_error(queue, reviewer, reason):
    c = queue["salma"]
    r = reviewer.post(reverse("review_decide", args=[c.pk]), {"decision": "MATCH", "reason": reason})
    assert r.status_code == 200
    assert 'id="id_reason-errors"' in r.text and "This field is required." in r.text
    assert 'aria-invalid="true"' in r.text
    c.refresh_from_db()
    assert c.status == "PENDING" and not Merge.objects.exists()


def test_a_match_needs_the_household_kept_when_there_are_two(queue, reviewer):
    c = queue["mother"]
    r = reviewer.post(reverse("review_decide", args=[c.pk]), {"decision": "MATCH", "reason": "same woman"})
    assert r.status_code == 200 and "Choose the household the person stays in." in r.text
    assert not Merge.objects.exists()


def test_a_refused_merge_shows_the_service_message_and_changes_nothing(dupes, queue, reviewer):
    c = queue["khadija"]
    r = reviewer.post(
        reverse("review_decide", args=[c.pk]),
        {"decision": "MATCH", "reason": "same woman", "keep_household": dupes.household("H2").pk},
    )
    assert r.status_code == 200
    assert "The decision was refused, nothing was changed" in r.text and "without its head" in r.text
    assert 'role="alert"' in r.text
    c.refresh_from_db()
    assert c.status == "PENDING" and not Merge.objects.exists() and not dupes.person("P6").is_deleted


def test_a_decided_pair_cannot_be_decided_again_through_the_web(queue, reviewer):
    c = queue["khadija"]
    services.decide(c, "NOT_MATCH", reason="two women", actor_name="someone")
    r = reviewer.post(reverse("review_decide", args=[c.pk]), {"decision": "NOT_MATCH", "reason": "x"})
    assert r.status_code == 200 and "already decided" in r.text


def test_an_auditor_reads_but_cannot_decide(queue):
    auditor = _client(staff.staff("aud", "AUDITOR", national=True))
    c = queue["salma"]
    page = auditor.get(reverse("review_candidate", args=[c.pk]))
    assert page.status_code == 200 and reverse("review_decide", args=[c.pk]) not in page.text
    assert "deciding it is for a duplicate reviewer" in page.text
    r = auditor.post(reverse("review_decide", args=[c.pk]), {"decision": "MATCH", "reason": "same"})
    assert r.status_code == 403
    assert auditor.post(reverse("review_unmerge", args=[c.pk]), {"reason": "x"}).status_code == 403
    c.refresh_from_db()
    assert c.status == "PENDING"


def test_other_roles_get_403(queue):
    worker = _client(staff.staff("sw", "SOCIAL_WORKER", national=True))
    assert worker.get(reverse("review_queue")).status_code == 403
    assert worker.get(reverse("review_candidate", args=[queue["salma"].pk])).status_code == 403


def test_the_queue_in_arabic_is_right_to_left_and_translated(queue):
    page = _client(staff.staff("rev-ar", "DEDUP_REVIEWER", national=True), "ar").get(reverse("review_queue"))
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "التكرارات المحتملة" in page.text and "نفس المعرّف" in page.text
    assert "Possible duplicates" not in page.text


def test_levels_in_words_in_french_and_arabic():
    from django.utils import translation

    with translation.override("fr"):
        words = {w.comparison: w.text for w in levels_in_words({"levels": LEVELS})}
        assert words["given_name"] == "même graphie en lettres latines"
    with translation.override("ar"):
        words = {w.comparison: w.text for w in levels_in_words({"levels": {"sex": 0, "x": 2}})}
        assert words == {"sex": "مختلف", "x": "المستوى 2"}
    assert levels_in_words({}) == [] and levels_in_words({"given_name": "exact"}) == []


def test_the_household_page_shows_score_explanation_decisions_and_history(dupes, reviewer):
    from sijill.programmes.models import Decision

    hh = dupes.household("H1")
    assert Decision.objects.filter(household=hh, is_current=True).exists()
    page = reviewer.get(reverse("household", args=[hh.registry_id]))
    text = page.text
    assert "Socio-economic score" in text and "MA-PMT-UNOFFICIAL-1" in text
    assert "unofficial reconstruction" in text
    assert "Setting constant" in text and "Region constant" in text
    assert "One-person household, or couple without children" in text  # a variable, in English
    assert "ASD" in text and "MAD\xa0500.00" in text and "First assessment" in text
    assert "first decision; score" in text  # the rules' own reason text
    # A dedup reviewer has no view_history: no timeline on the page.
    assert "History of changes" not in text
    worker = _client(staff.staff("sw2", "SOCIAL_WORKER", national=True))
    text = worker.get(reverse("household", args=[hh.registry_id])).text
    assert "History of changes" in text and "registration" in text
    fr = _client(staff.staff("sw3", "SOCIAL_WORKER", national=True), "fr").get(
        reverse("household", args=[hh.registry_id])
    )
    assert "Personne seule ou couple sans enfants" in fr.text and "reconstruction non officielle" in fr.text
