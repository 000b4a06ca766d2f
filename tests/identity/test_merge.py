"""Merging two records of one person, and undoing it exactly."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sijill.core.models import ChangeSet, HistoryEntry
from sijill.identity import selectors, services
from sijill.identity.models import Merge
from sijill.registry import selectors as registry_selectors
from sijill.registry import services as registry_services
from sijill.registry.models import Household, Membership, Person
from sijill.targeting.models import Assessment
from tests.identity.conftest import registry_state

pytestmark = pytest.mark.django_db(transaction=True)


def test_same_household_duplicate_is_merged_with_one_change_set_and_full_history(dupes):
    salma, twin = dupes.person("P4"), dupes.person("P4B")
    h1_version = dupes.household("H1").version
    last = ChangeSet.objects.order_by("-pk").values_list("pk", flat=True).first()

    merge = services.merge_persons(salma, twin, actor_name="reviewer1", reason="registered twice in H1")

    twin.refresh_from_db()
    salma.refresh_from_db()
    # The older record survives, with its registry id, and gains the phone only the duplicate had.
    assert (twin.is_deleted, twin.merged_into_id) == (True, salma.pk)
    assert salma.phone == "+212612345678" and not salma.is_deleted
    # Salma is active once in H1; the duplicate's membership ended, naming the survivor.
    assert [m.household_id for m in Membership.live.filter(person=salma, end_date__isnull=True)] == [
        dupes.households["H1"].pk
    ]
    ended = Membership.objects.get(person=twin)
    assert ended.end_date == timezone.now().date() and ended.end_reason == f"merged into {salma.registry_id}"
    assert dupes.household("H1").version == h1_version + 1
    # H1 was rescored in the same transaction, with one member fewer.
    score = Assessment.objects.get(household=dupes.households["H1"], is_current=True)
    assert score.household_version == h1_version + 1
    # One change set; a history entry with the full old and new state for every record touched.
    # (The rescoring of H1 that follows is the targeting room's own SYSTEM change set.)
    assert list(ChangeSet.objects.filter(pk__gt=last).exclude(channel="SYSTEM")) == [merge.changeset]
    cs = merge.changeset
    assert (cs.actor_name, cs.reason) == ("reviewer1", "registered twice in H1")
    registry_entities = ["person", "membership", "identifier", "household"]
    assert not HistoryEntry.objects.filter(changeset_id__gt=last, entity__in=registry_entities).exclude(
        changeset=cs
    )
    entries = {(e.entity, e.entity_id): e for e in HistoryEntry.objects.filter(changeset=cs)}
    assert set(entries) == {
        ("person", salma.pk),
        ("person", twin.pk),
        ("membership", ended.pk),
        ("household", dupes.households["H1"].pk),
    }
    assert entries[("person", twin.pk)].old["is_deleted"] is False
    assert entries[("person", twin.pk)].new["merged_into_id"] == salma.pk
    assert entries[("person", salma.pk)].old["phone"] == "" and len(entries[("person", salma.pk)].old) > 20
    # The duplicate's registry id still leads to the person.
    assert registry_selectors.resolve_person(twin.registry_id) == salma
    assert selectors.merge_history(salma) == [merge] == selectors.merge_history(twin)


def test_merge_then_unmerge_restores_exactly_the_earlier_rows(dupes):
    youssef, again = dupes.person("P3"), dupes.person("P8")
    h1, h4 = dupes.household("H1"), dupes.household("H4")
    before = registry_state()

    merge = services.merge_persons(youssef, again, actor_name="reviewer1", reason="same CNIE holder")

    # Both were active: the head of H4 stays there (default), his membership as a son in H1 ends.
    assert dupes.active("P3").household_id == h4.pk
    son = Membership.objects.get(person=youssef, household=h1)
    assert (
        son.end_reason
        == f"merge of {again.registry_id} into {youssef.registry_id}: stays in household {h4.registry_id}"
    )
    h4_now = dupes.household("H4")
    assert (h4_now.head_id, h4_now.declarant_id) == (youssef.pk, youssef.pk)
    assert Membership.live.get(person=youssef, household=h4).relationship == "HEAD"
    assert [(i.id_type, i.value) for i in youssef.identifiers.all()] == [("CNIE", "BK765432")]
    youssef.refresh_from_db()
    assert youssef.phone == "+212611223344"
    assert Household.objects.get(pk=h1.pk).version == h1.version + 1
    assert Household.objects.get(pk=h4.pk).version == h4.version + 1

    services.unmerge(merge, actor_name="supervisor", reason="two brothers with the same name")

    assert registry_state() == before
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undo_changeset.reason == "two brothers with the same name"
    # The undo is in history as well: the membership's entries give its state before, during, after.
    son_entries = HistoryEntry.objects.filter(entity="membership", entity_id=son.pk).order_by("at", "id")
    assert [e.new["end_date"] for e in son_entries] == [son.end_date.isoformat(), None]
    assert registry_selectors.resolve_person(again.registry_id) == again
    # Versions move on (optimistic locking), they are not wound back.
    assert Household.objects.get(pk=h4.pk).version == h4.version + 2


def test_both_active_in_different_households_the_reviewer_chooses_which_to_keep(dupes):
    mother, again = dupes.person("P2"), dupes.person("P10")
    h1, h4 = dupes.household("H1"), dupes.household("H4")
    assert h1.declarant_id == mother.pk

    services.merge_persons(
        mother, again, actor_name="reviewer1", reason="she moved in with her son", keep_household=h4
    )

    kept = dupes.active("P2")
    assert (kept.household_id, kept.relationship) == (h4.pk, "PARENT")
    left = Membership.objects.get(person=mother, household=h1)
    assert left.end_date is not None and "stays in household" in left.end_reason
    # She declared H1; she left it, so the head declares now.
    h1 = dupes.household("H1")
    assert h1.declarant_id == h1.head_id == dupes.person("P1").pk
    assert Membership.live.filter(person=mother, end_date__isnull=True).count() == 1
    assert not Membership.live.filter(person=again, end_date__isnull=True).exists()


def test_without_a_choice_the_survivors_household_is_kept(dupes):
    mother, again = dupes.person("P2"), dupes.person("P10")
    services.merge_persons(mother, again, actor_name="reviewer1", reason="duplicate")
    assert dupes.active("P2").household_id == dupes.households["H1"].pk
    ended = Membership.objects.get(person=again)
    assert ended.end_reason == f"merged into {mother.registry_id}"
    assert dupes.household("H1").declarant_id == mother.pk


def test_a_household_is_never_left_without_its_head(dupes):
    khadija, again = dupes.person("P5"), dupes.person("P6")
    before = registry_state()
    with pytest.raises(services.MergeError, match=r"head of household \d+, which the merge would leave"):
        services.merge_persons(khadija, again, actor_name="reviewer1", reason="duplicate")
    with pytest.raises(services.MergeError, match="without its head"):
        services.merge_persons(
            khadija, again, actor_name="reviewer1", reason="duplicate", keep_household=dupes.households["H3"]
        )
    with pytest.raises(services.MergeError, match="keep_household must be a household where"):
        services.merge_persons(
            khadija, again, actor_name="reviewer1", reason="duplicate", keep_household=dupes.households["H1"]
        )
    assert registry_state() == before
    assert not Merge.objects.exists()
    # Once H3 is gone (a duplicate household), the two records merge.
    h3 = dupes.household("H3")
    registry_services.delete_household(
        h3.pk, expected_version=h3.version, channel="CENTRE", reason="duplicate"
    )
    services.merge_persons(khadija, again, actor_name="reviewer1", reason="duplicate")
    assert dupes.active("P5").household_id == dupes.households["H2"].pk


def test_unmerge_is_refused_when_the_person_moved_since(dupes):
    mother, again = dupes.person("P2"), dupes.person("P10")
    h4 = dupes.households["H4"]
    merge = services.merge_persons(
        mother, again, actor_name="reviewer1", reason="duplicate", keep_household=h4
    )
    # Since the merge she left H4 and lives in H2: undoing would make her active in H1 and H2.
    h2 = dupes.household("H2")
    kept = Membership.live.get(person=mother, end_date__isnull=True)
    today = timezone.now().date()
    registry_services.end_membership(
        kept.pk, expected_version=dupes.household("H4").version, end_date=today, end_reason="moved",
        channel="CENTRE", reason="moved",
    )  # fmt: skip
    registry_services.join_household(
        mother.pk, h2.pk, expected_version=h2.version, relationship="OTHER_RELATIVE",
        start_date=today, channel="CENTRE", reason="moved",
    )  # fmt: skip
    before = registry_state()
    with pytest.raises(services.UnmergeError) as e:
        services.unmerge(merge, actor_name="supervisor", reason="not the same person")
    assert f"{mother.registry_id} would be an active member of households" in str(e.value)
    assert "nothing was changed" in str(e.value)
    assert registry_state() == before
    merge.refresh_from_db()
    assert merge.undone_at is None


def test_merges_are_undone_latest_first(dupes):
    salma, twin, father = dupes.person("P4"), dupes.person("P4B"), dupes.person("P1")
    before = registry_state()
    first = services.merge_persons(salma, twin, actor_name="reviewer1", reason="registered twice")
    second = services.merge_persons(father, salma, actor_name="reviewer2", reason="a slip of the mouse")
    # Each registry id leads, merge after merge, to the record that stands for the person now.
    assert registry_selectors.resolve_person(twin.registry_id) == father
    with pytest.raises(services.UnmergeError, match="undo that merge first") as e:
        services.unmerge(first, actor_name="supervisor", reason="twins")
    assert f"merge #{second.pk}" in str(e.value)
    services.unmerge(second, actor_name="supervisor", reason="father and daughter")
    services.unmerge(first, actor_name="supervisor", reason="twins")
    assert registry_state() == before


def test_a_merged_record_cannot_be_merged_or_unmerged_twice(dupes):
    salma, twin = dupes.person("P4"), dupes.person("P4B")
    merge = services.merge_persons(salma, twin, actor_name="reviewer1", reason="duplicate")
    with pytest.raises(services.MergeError, match="was already merged into"):
        services.merge_persons(dupes.person("P1"), twin, actor_name="reviewer1", reason="again")
    with pytest.raises(services.IdentityError, match="reason"):
        services.unmerge(merge, actor_name="supervisor", reason="")
    services.unmerge(merge, actor_name="supervisor", reason="twins")
    with pytest.raises(services.UnmergeError, match="already undone"):
        services.unmerge(merge, actor_name="supervisor", reason="twins")
    assert Person.live.filter(pk__in=[salma.pk, twin.pk]).count() == 2


def test_a_merged_record_cannot_join_a_household(dupes):
    salma, twin = dupes.person("P4"), dupes.person("P4B")
    services.merge_persons(salma, twin, actor_name="reviewer1", reason="duplicate")
    h2 = dupes.household("H2")
    with pytest.raises(registry_services.RegistryValidationError, match=f"merged into {salma.registry_id}"):
        registry_services.join_household(
            twin.pk, h2.pk, expected_version=h2.version, relationship="OTHER_RELATIVE",
            start_date=timezone.now().date(), channel="CENTRE", reason="r",
        )  # fmt: skip
