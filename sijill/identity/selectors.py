"""Reads of the identity room: the review queue, one candidate side by side, merge history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Q, QuerySet

from sijill.identity.models import MatchCandidate, Merge
from sijill.registry.models import ExternalIdentifier, Household, Membership, Person

# The person fields a reviewer compares, in the order shown.
COMPARED_FIELDS = (
    "given_name_lat",
    "family_name_lat",
    "given_name_ar",
    "family_name_ar",
    "father_name_lat",
    "father_name_ar",
    "mother_name_lat",
    "mother_name_ar",
    "sex",
    "birth_date",
    "birth_date_precision",
    "vital_status",
    "death_date",
    "phone",
    "occupation",
    "education_level",
    "disability_type",
)


def review_queue(
    *, kind: str | None = None, status: str = MatchCandidate.PENDING
) -> QuerySet[MatchCandidate]:
    """Pending candidates, most probable first; exact conflicts (no probability) before them all.

    Candidates of a record merged since they were found are left out (they come back if
    that merge is undone); ``kind`` keeps one kind (PROBABLE, ID_CONFLICT, ACTIVE_ELSEWHERE).
    ``status=AUTO_LINKED`` lists the pairs a run linked and nobody has merged or rejected yet.
    """
    qs = MatchCandidate.objects.filter(status=status, person_a__is_deleted=False, person_b__is_deleted=False)
    if kind is not None:
        qs = qs.filter(kind=kind)
    return qs.select_related("person_a", "person_b", "run").order_by(
        F("probability").desc(nulls_first=True), "created_at", "pk"
    )


@dataclass
class Side:
    """One record of a candidate, as the reviewer sees it."""

    person: Person
    identifiers: list[ExternalIdentifier]
    membership: Membership | None  # the active one
    household: Household | None
    members: list[Membership]  # the household's active memberships, with their persons
    merged_into: Person | None = None  # where this record went, if it was merged since


@dataclass
class CandidateView:
    candidate: MatchCandidate
    a: Side
    b: Side
    # Compared fields: name -> (value of a, value of b, same?)
    fields: dict[str, tuple[Any, Any, bool]] = field(default_factory=dict)
    same_household: bool = False
    shared_identifiers: list[tuple[str, str]] = field(default_factory=list)


def _side(person: Person) -> Side:
    membership = (
        Membership.live.filter(person=person, end_date__isnull=True).select_related("household").first()
    )
    household = membership.household if membership is not None else None
    members = (
        list(
            Membership.live.filter(household=household, end_date__isnull=True)
            .select_related("person")
            .order_by("pk")
        )
        if household is not None
        else []
    )
    merged_into = None
    if person.merged_into_id is not None:
        from sijill.registry.selectors import resolve_person

        merged_into = resolve_person(person.registry_id)
    return Side(
        person=person,
        identifiers=list(ExternalIdentifier.live.filter(person=person).order_by("id_type", "value")),
        membership=membership,
        household=household,
        members=members,
        merged_into=merged_into,
    )


def candidate_view(candidate: MatchCandidate | int) -> CandidateView:
    """Both records of a candidate side by side: persons, identifiers, households and members."""
    pk = candidate if isinstance(candidate, int) else candidate.pk
    c = MatchCandidate.objects.select_related("person_a", "person_b", "run").get(pk=pk)
    a, b = _side(c.person_a), _side(c.person_b)
    fields = {}
    for f in COMPARED_FIELDS:
        va, vb = getattr(a.person, f), getattr(b.person, f)
        fields[f] = (va, vb, va == vb)
    ids_a = {(i.id_type, i.value) for i in a.identifiers}
    shared = sorted(ids_a & {(i.id_type, i.value) for i in b.identifiers})
    return CandidateView(
        candidate=c,
        a=a,
        b=b,
        fields=fields,
        same_household=a.household is not None
        and b.household is not None
        and a.household.pk == b.household.pk,
        shared_identifiers=shared,
    )


def merge_history(person: Person | int) -> list[Merge]:
    """Every merge this record took part in, as survivor or as merged record, newest first (undone too)."""
    pk = person if isinstance(person, int) else person.pk
    return list(
        Merge.objects.filter(Q(survivor_id=pk) | Q(merged_id=pk))
        .select_related("survivor", "merged", "candidate", "changeset", "undo_changeset")
        .order_by("-created_at", "-pk")
    )


# --- web review (issue 5, staff screens) ------------------------------------------------------


def candidates_in_areas(qs: QuerySet[MatchCandidate], paths: list[str] | None) -> QuerySet[MatchCandidate]:
    """Candidates at least one of whose two records is an active member of a household in
    ``paths`` (an area path or below it); ``None`` means the whole country, ``[]`` nothing."""
    if paths is None:
        return qs
    if not paths:
        return qs.none()
    from sijill.accounts.selectors import area_q

    in_area = Membership.live.filter(
        end_date__isnull=True, household__in=Household.live.filter(area_q(paths)).values("pk")
    ).values("person_id")
    return qs.filter(Q(person_a__in=in_area) | Q(person_b__in=in_area))


def scope_candidates(qs: QuerySet[MatchCandidate], user: Any) -> QuerySet[MatchCandidate]:
    """Limit candidates to the account's areas (nothing for an account without a role)."""
    from sijill.accounts.selectors import area_paths_of, role_of

    if role_of(user) is None:
        return qs.none()
    return candidates_in_areas(qs, area_paths_of(user))


def live_merge(candidate: MatchCandidate) -> Merge | None:
    """The merge a MATCH decision on this candidate made, if it has not been undone."""
    return (
        Merge.objects.filter(candidate=candidate, undone_at__isnull=True)
        .select_related("survivor", "merged")
        .first()
    )


@dataclass
class MergedRecord:
    """A record of a household's past that was merged into another one."""

    merge: Merge
    merged: Person
    survivor: Person  # the record it leads to today (through later merges)
    survivor_household: Household | None  # where the survivor is an active member


def household_merges(household: Household) -> list[MergedRecord]:
    """Live merges of records that were members of ``household`` (now or before), newest first.

    Each merged record leads to its survivor (followed through later merges) and the
    household the survivor lives in today.
    """
    from sijill.registry.selectors import resolve_person

    person_ids = Membership.objects.filter(household=household).values("person_id")
    merges = (
        Merge.objects.filter(undone_at__isnull=True)
        .filter(Q(merged_id__in=person_ids) | Q(survivor_id__in=person_ids))
        .select_related("survivor", "merged", "candidate")
        .order_by("-created_at", "-pk")
    )
    out = []
    for mg in merges:
        survivor = resolve_person(mg.merged.registry_id)
        membership = (
            Membership.live.filter(person=survivor, end_date__isnull=True).select_related("household").first()
        )
        out.append(MergedRecord(mg, mg.merged, survivor, membership.household if membership else None))
    return out
