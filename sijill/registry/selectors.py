"""Reads of the registry: counts, households as they stand now or stood on a past date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet

from sijill.core.history import snapshot
from sijill.core.models import ChangeSet, HistoryEntry
from sijill.registry.models import ExternalIdentifier, Household, Membership, Person


def registry_stats() -> dict[str, int]:
    return {
        "households": Household.live.count(),
        "persons": Person.live.count(),
        "active_memberships": Membership.live.filter(end_date__isnull=True).count(),
    }


def resolve_person(registry_id: str) -> Person:
    """The person a registry id stands for today: a merged record leads to its survivor.

    Follows ``merged_into`` (a survivor may itself have been merged later). Raises
    ``Person.DoesNotExist`` for an unknown id.
    """
    # registry_id__isnull=False: SQLite uses the partial unique index only when the query states its condition.
    person = Person.objects.get(registry_id=registry_id, registry_id__isnull=False)
    seen = {person.pk}
    while person.merged_into_id is not None:
        person = Person.objects.get(pk=person.merged_into_id)
        if person.pk in seen:  # cannot happen through the services; never loop on bad data
            raise RuntimeError(f"merge cycle at person {person.registry_id}")
        seen.add(person.pk)
    return person


def search_households(qs: QuerySet[Household], text: str = "") -> QuerySet[Household]:
    """Live households of ``qs`` whose registry id starts with ``text`` or whose file reference is
    ``text``, newest registration first."""
    qs = qs.filter(is_deleted=False)
    text = text.strip()
    if text:
        from django.db.models import Q

        qs = qs.filter(Q(registry_id__startswith=text.upper()) | Q(external_ref=text))
    return qs.select_related("area").order_by("-registered_on", "-id")


def current_members(household: Household) -> list[Membership]:
    """Active memberships with their persons, the head first."""
    rows = list(
        Membership.live.filter(household=household, end_date__isnull=True)
        .select_related("person")
        .order_by("start_date", "id")
    )
    rows.sort(key=lambda m: (m.relationship != "HEAD", m.person.birth_date))
    return rows


def state_as_of(entity: str, obj: Model, created_at: dt.datetime, at: dt.datetime) -> dict[str, Any] | None:
    """The record's state at ``at``: None before it existed.

    History holds every update's full old state; the state at a moment is therefore the
    ``old`` of the first change after it, or the current row if nothing changed since.
    """
    if created_at > at:
        return None
    nxt = HistoryEntry.objects.filter(entity=entity, entity_id=obj.pk, at__gt=at).order_by("at", "id").first()
    return nxt.old if nxt is not None else snapshot(obj)


@dataclass
class HouseholdAsOf:
    at: dt.datetime
    household: dict[str, Any]
    members: list[dict[str, Any]]  # each: membership, person, identifiers


def household_as_of(household: Household, at: dt.datetime) -> HouseholdAsOf | None:
    """The household, its active members and their identifiers as they stood at ``at``."""
    household = Household.objects.get(pk=household.pk)  # the stored row, not a caller's stale copy
    hh = state_as_of("household", household, household.created_at, at)
    if hh is None or hh.get("is_deleted"):
        return None
    day = at.date().isoformat()
    members = []
    for m in Membership.objects.filter(household=household).select_related("person", "created_changeset"):
        ms = state_as_of("membership", m, m.created_changeset.at, at)
        if (
            ms is None
            or ms["is_deleted"]
            or ms["start_date"] > day
            or (ms["end_date"] and ms["end_date"] <= day)
        ):
            continue
        ps = state_as_of("person", m.person, m.person.created_at, at)
        if ps is None:
            continue
        idents = []
        for i in ExternalIdentifier.objects.filter(person=m.person).select_related("created_changeset"):
            s = state_as_of("identifier", i, i.created_changeset.at, at)
            if s is not None and not s["is_deleted"]:
                idents.append(s)
        members.append({"membership": ms, "person": ps, "identifiers": idents})
    return HouseholdAsOf(at=at, household=hh, members=members)


@dataclass
class TimelineEvent:
    at: dt.datetime
    actor: str
    channel: str
    reason: str
    entity: str
    entity_id: int
    op: str
    changes: dict[str, tuple[Any, Any]]


def household_timeline(household: Household) -> list[TimelineEvent]:
    """Every change to the household and its members, newest first."""
    events: list[TimelineEvent] = []
    cs: ChangeSet = household.created_changeset
    events.append(
        TimelineEvent(cs.at, cs.actor_name, cs.channel, cs.reason, "household", household.pk, "C", {})
    )
    for e in HistoryEntry.objects.filter(household_id=household.pk).select_related("changeset"):
        old, new = e.old or {}, e.new or {}
        changes = {
            k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
        }
        changes.pop("version", None)
        changes.pop("updated_at", None)
        c = e.changeset
        events.append(
            TimelineEvent(e.at, c.actor_name, c.channel, c.reason, e.entity, e.entity_id, e.op, changes)
        )
    events.sort(key=lambda ev: ev.at, reverse=True)
    return events
