"""Recording changes: change sets and full before/after snapshots."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.utils import timezone

from sijill.core.models import ChangeSet, HistoryEntry


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The record's full state, as stored in history."""
    return {f.attname: jsonable(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def open_changeset(
    *, actor: Any = None, actor_name: str | None = None, channel: str, reason: str = "", source: str = ""
) -> ChangeSet:
    name = actor_name or (actor.get_username() if actor is not None else "system")
    return ChangeSet.objects.create(
        at=timezone.now(), actor=actor if getattr(actor, "pk", None) else None, actor_name=name,
        channel=channel, reason=reason, source=source,
    )  # fmt: skip


def record(
    cs: ChangeSet,
    entity: str,
    obj: models.Model,
    old: dict[str, Any] | None,
    op: str,
    household_id: int | None,
) -> HistoryEntry:
    return HistoryEntry.objects.create(
        changeset=cs, at=cs.at, entity=entity, entity_id=obj.pk, household_id=household_id, op=op,
        old=old, new=snapshot(obj),
    )  # fmt: skip
