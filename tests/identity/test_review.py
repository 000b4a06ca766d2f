"""The review queue and a reviewer's decisions."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sijill.core.models import HistoryEntry
from sijill.identity import selectors, services
from sijill.identity.models import MatchCandidate, Merge
from sijill.registry import selectors as registry_selectors
from sijill.registry.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)


def _probable(a, b, probability: float) -> MatchCandidate:
    """A pair as the probabilistic matcher leaves it for review."""
    a, b = sorted((a, b), key=lambda p: p.pk)
    return MatchCandidate.objects.create(
        person_a=a,
        person_b=b,
        kind=MatchCandidate.PROBABLE,
        probability=probability,
        match_weight=12.5,
        details={"given_name": "exact", "birth_date": "exact"},
        created_at=timezone.now(),
    )


@pytest.fixture
def queue(dupes):
    salma = _probable(dupes.person("P4"), dupes.person("P4B"), 0.97)
    khadija = _probable(dupes.person("P5"), dupes.person("P6"), 0.91)
    mother = _probable(dupes.person("P2"), dupes.person("P10"), 0.99)
    conflict = services.record_conflict(
        dupes.person("P9"),
        dupes.person("P1"),
        kind=MatchCandidate.ID_CONFLICT,
        reason="CNIE BK123456 is already held by person X in household Y",
        details={"id_type": "CNIE", "value": "BK123456"},
    )
    return {"salma": salma, "khadija": khadija, "mother": mother, "conflict": conflict}


def test_queue_puts_exact_conflicts_first_then_the_most_probable(queue):
    assert list(selectors.review_queue()) == [
        queue["conflict"],
        queue["mother"],
        queue["salma"],
        queue["khadija"],
    ]
    assert selectors.review_queue(kind="PROBABLE").first() == queue["mother"]
    assert list(selectors.review_queue(kind="ID_CONFLICT")) == [queue["conflict"]]
    # The pair is stored in key order, whichever way it was given.
    c = queue["conflict"]
    assert c.person_a_id < c.person_b_id and c.reason.startswith("CNIE BK123456 is already held")


def test_side_by_side_view_shows_both_records_with_households_members_and_identifiers(dupes, queue):
    view = selectors.candidate_view(queue["conflict"])
    father, amina = dupes.person("P1"), dupes.person("P9")
    assert (view.a.person, view.b.person) == (father, amina)
    assert (
        view.a.household.pk == dupes.households["H1"].pk and view.b.household.pk == dupes.households["H4"].pk
    )
    assert [(i.id_type, i.value) for i in view.a.identifiers] == [("CNIE", "BK123456")]
    assert {m.person.external_ref for m in view.a.members} == {"P1", "P2", "P3", "P4", "P4B"}
    assert view.a.membership.relationship == "HEAD" and view.b.membership.relationship == "SPOUSE"
    assert view.fields["sex"] == ("M", "F", False)
    assert not view.same_household
    assert selectors.candidate_view(queue["salma"]).same_household


def test_match_merges_the_two_records_and_records_the_decision(dupes, queue):
    c = queue["salma"]
    merge = services.decide(c, "MATCH", reason="same child, registered twice", actor_name="reviewer1")
    c.refresh_from_db()
    assert (c.status, c.decided_by, c.decision_reason) == (
        "MATCH",
        "reviewer1",
        "same child, registered twice",
    )
    assert c.decided_at is not None
    assert isinstance(merge, Merge) and merge.candidate == c
    salma, twin = dupes.person("P4"), dupes.person("P4B")
    assert (merge.survivor, merge.merged) == (salma, twin)  # the older record survives
    assert twin.is_deleted and registry_selectors.resolve_person(twin.registry_id) == salma
    entry = HistoryEntry.objects.get(entity="candidate", entity_id=c.pk)
    assert (entry.old["status"], entry.new["status"]) == ("PENDING", "MATCH")
    assert entry.changeset == merge.changeset
    assert c not in selectors.review_queue()


def test_not_match_closes_the_candidate_and_changes_no_record(dupes, queue):
    c = queue["conflict"]
    father = dupes.person("P1")
    services.decide(c, "NOT_MATCH", reason="different persons; the CNIE was misread", actor_name="reviewer1")
    c.refresh_from_db()
    assert (c.status, c.decision_reason) == ("NOT_MATCH", "different persons; the CNIE was misread")
    # The identifier stays with the person who held it; both records stay.
    assert [(i.id_type, i.value) for i in father.identifiers.all()] == [("CNIE", "BK123456")]
    assert not dupes.person("P9").is_deleted and not Merge.objects.exists()
    assert list(selectors.review_queue(kind="ID_CONFLICT")) == []


def test_a_decided_candidate_cannot_be_decided_again(queue):
    c = queue["khadija"]
    services.decide(c, "NOT_MATCH", reason="two women with the same name", actor_name="reviewer1")
    with pytest.raises(services.AlreadyDecidedError, match="already decided: NOT_MATCH by reviewer1") as e:
        services.decide(c, "MATCH", reason="on second thoughts", actor_name="reviewer2")
    assert "two women with the same name" in str(e.value)
    c.refresh_from_db()
    assert (c.status, c.decided_by) == ("NOT_MATCH", "reviewer1")
    assert not Merge.objects.exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_decision_needs_a_reason(queue, reason):
    c = queue["salma"]
    with pytest.raises(services.IdentityError, match="a reason for the decision is required"):
        services.decide(c, "MATCH", reason=reason, actor_name="reviewer1")
    with pytest.raises(services.IdentityError, match="decision must be MATCH or NOT_MATCH"):
        services.decide(c, "MAYBE", reason="unsure", actor_name="reviewer1")
    c.refresh_from_db()
    assert c.status == "PENDING" and not Merge.objects.exists()


def test_a_match_that_would_leave_a_household_headless_is_refused_and_stays_pending(dupes, queue):
    c = queue["khadija"]
    with pytest.raises(services.MergeError, match="without its head"):
        services.decide(c, "MATCH", reason="same woman", actor_name="reviewer1")
    c.refresh_from_db()
    assert c.status == "PENDING" and not HistoryEntry.objects.filter(entity="candidate").exists()
    assert not dupes.person("P6").is_deleted


def test_the_reviewer_chooses_the_household_kept(dupes, queue):
    h4 = dupes.households["H4"]
    services.decide(
        queue["mother"],
        "MATCH",
        reason="she lives with her son now",
        actor_name="reviewer1",
        keep_household=h4,
    )
    assert Membership.live.get(person=dupes.person("P2"), end_date__isnull=True).household_id == h4.pk


def test_unmerge_sends_the_candidate_back_to_review(dupes, queue):
    c = queue["salma"]
    merge = services.decide(c, "MATCH", reason="same child", actor_name="reviewer1")
    services.unmerge(merge, actor_name="supervisor", reason="twins, not one child")
    c.refresh_from_db()
    assert (c.status, c.decided_by, c.decided_at) == ("PENDING", "", None)
    assert "twins, not one child" in c.decision_reason
    assert c in selectors.review_queue()
    assert [m.undone_at is not None for m in selectors.merge_history(dupes.person("P4"))] == [True]


def test_candidates_of_a_merged_record_leave_the_queue_until_the_merge_is_undone(dupes, queue):
    # Fatima (P10) is also paired with Amina (P9); once P10 is merged into P2, that pair cannot be decided.
    other = _probable(dupes.person("P9"), dupes.person("P10"), 0.8)
    merge = services.decide(
        queue["mother"],
        "MATCH",
        reason="same woman",
        actor_name="reviewer1",
        keep_household=dupes.households["H4"],
    )
    assert other not in selectors.review_queue()
    with pytest.raises(services.MergeError, match=f"was merged into {dupes.person('P2').registry_id}"):
        services.decide(other, "MATCH", reason="same", actor_name="reviewer1")
    services.unmerge(merge, actor_name="supervisor", reason="two women")
    assert other in selectors.review_queue()
