"""Writes to the registry. Each records a change set and history, and checks versions.

Concurrent edits of one household are detected with optimistic locking: a write names
the household ``version`` it was based on, and fails with :class:`ConcurrentEditError`
if someone else changed the household (or one of its members) since.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sijill.core.history import open_changeset, record, snapshot
from sijill.core.models import ChangeSet, HistoryEntry
from sijill.countries import CountryProfile, get_profile
from sijill.registry.geography import ensure_geography
from sijill.registry.intake import load, lookups, validate
from sijill.registry.models import AdminArea, Household, Membership, Person
from sijill.registry.signals import household_changed


class ConcurrentEditError(Exception):
    """The household changed since the caller read it."""


class RegistryValidationError(ValueError):
    """Invalid input; ``errors`` maps a field (or ``person N.field``) to a reason."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def _profile() -> CountryProfile:
    return get_profile(settings.SIJILL_COUNTRY)


def _s(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    cols: list[str] = sorted({k for r in rows for k in r})
    data = {c: [_s(r.get(c)) for r in rows] for c in cols}
    return (
        pl.DataFrame(data, schema={c: pl.Utf8 for c in cols})
        .with_row_index("_row", offset=1)
        .with_columns(pl.col("_row").cast(pl.Int64))
    )


def _errors_dict(errors: pl.DataFrame) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in errors.iter_rows(named=True):
        if not r["column"]:
            continue
        key = r["column"] if r["table"] == "households" else f"person {r['row']}.{r['column']}"
        out.setdefault(key, r["reason"])
    return out


ON_ID_CONFLICT = ("refuse", "review")


@transaction.atomic
def register_household(
    household: dict[str, Any],
    members: list[dict[str, Any]],
    *,
    actor: Any = None,
    channel: str = "CENTRE",
    reason: str = "registration",
    on_id_conflict: str = "refuse",
) -> Household:
    """Register one household with its members, with exactly the bulk import's rules.

    ``household`` and ``members`` use the column names of docs/import-format.md; refs are
    optional (generated when missing).

    A member's identifier already held by another person of the registry: by default
    (``on_id_conflict="refuse"``) nothing is saved and the error names the holder and their
    household, so the agent can check the card with the person in front of them. With
    ``"review"`` (the agent has checked the card) the household is registered, the member
    without that identifier, which stays with its holder, and the two records go to
    identity review as an ``ID_CONFLICT`` (see docs/identity.md).
    """
    if on_id_conflict not in ON_ID_CONFLICT:
        raise ValueError(f"on_id_conflict must be one of {', '.join(ON_ID_CONFLICT)}")
    profile = _profile()
    ensure_geography(profile)
    href = household.get("household_ref") or f"{channel.lower()}-{timezone.now():%Y%m%d%H%M%S%f}"
    hrow = {**household, "household_ref": href}
    prows = [
        {**m, "household_ref": href, "person_ref": m.get("person_ref") or f"{href}-{i + 1}"}
        for i, m in enumerate(members)
    ]
    existing = validate.Existing(
        identifiers=lookups.identifier_owners(profile), person_refs=lookups.known_person_refs
    )
    result = validate.validate(_frame([hrow]), _frame(prows), profile, existing=existing)
    if result.errors.height:
        raise RegistryValidationError(_errors_dict(result.errors))
    if result.held.height and on_id_conflict == "refuse":
        raise RegistryValidationError(
            {
                f"person {r['_row']}.{r['column']}": f"{r['reason']}: nothing was saved; check the card, and "
                "if this person holds it, register with the identifier sent to review"
                for r in result.held.iter_rows(named=True)
            }
        )
    name = actor.get_username() if actor is not None else "system"
    _, _, cs_id = load.load_chunk(
        result.households, result.persons, profile, load.area_frame(profile.code),
        actor_name=name, actor_id=getattr(actor, "pk", None), channel=channel, reason=reason,
        source="register_household", held=result.held,
    )  # fmt: skip
    hh = Household.objects.get(created_changeset_id=cs_id)
    _changed(hh, name, reason)
    return hh


def _lock(household_id: int, expected_version: int) -> Household:
    hh = Household.objects.select_for_update().get(pk=household_id)
    if hh.is_deleted:
        raise ConcurrentEditError(f"household {hh.registry_id} has been deleted")
    if hh.version != expected_version:
        raise ConcurrentEditError(
            f"household {hh.registry_id} was changed by someone else (version {hh.version}, you edited version "
            f"{expected_version}); reload it and apply your change again"
        )
    return hh


def _bump(hh: Household, cs_at: dt.datetime) -> None:
    hh.version += 1
    hh.updated_at = cs_at


def _touch(hh: Household, cs: ChangeSet) -> None:
    """A member changed: move the household's version on, and record it."""
    old = snapshot(hh)
    _bump(hh, cs.at)
    hh.save(update_fields=["version", "updated_at"])
    record(cs, "household", hh, old, HistoryEntry.OP_UPDATE, hh.pk)
    _changed(hh, cs.actor_name, cs.reason)


def _changed(hh: Household, actor_name: str, reason: str) -> None:
    household_changed.send(sender=Household, household=hh, actor_name=actor_name, reason=reason)


HOUSEHOLD_FIELDS = {"area_code", "milieu", "address", "phone", "registered_on", "declarant_ref"}


@transaction.atomic
def update_household(
    household_id: int,
    *,
    expected_version: int,
    changes: dict[str, Any],
    actor: Any = None,
    channel: str,
    reason: str,
) -> Household:
    """Change household fields and questionnaire answers (column names of the import format)."""
    profile = _profile()
    hh = _lock(household_id, expected_version)
    current = {
        "household_ref": hh.external_ref or hh.registry_id,
        "area_code": hh.area.code,
        "milieu": hh.milieu,
        "address": hh.address,
        "phone": hh.phone,
        "registered_on": hh.registered_on,
        **{k: v for k, v in (hh.socio or {}).items()},
    }
    merged = {**current, **changes}
    typed, errors = validate.validate_households(_frame([merged]), profile, timezone.localdate())
    unknown = set(changes) - HOUSEHOLD_FIELDS - set(profile.questionnaire.by_name)
    err = _errors_dict(errors)
    for u in unknown:
        err[u] = "is not a household field"
    if err:
        raise RegistryValidationError(err)
    row = typed.row(0, named=True)
    old = snapshot(hh)
    cs = open_changeset(actor=actor, channel=channel, reason=reason)
    if row["area_code"] != hh.area.code:
        area = AdminArea.objects.get(code=row["area_code"])
        hh.area, hh.area_path = area, area.path
    hh.milieu, hh.address, hh.phone, hh.registered_on = (
        row["milieu"],
        row["address"],
        row["phone"],
        row["registered_on"],
    )
    hh.socio = json.loads(row["socio"])
    hh.questionnaire_version = profile.questionnaire.version
    _bump(hh, cs.at)
    hh.save()
    record(cs, "household", hh, old, HistoryEntry.OP_UPDATE, hh.pk)
    _changed(hh, cs.actor_name, cs.reason)
    return hh


PERSON_FIELDS = set(validate.PERSON_COLUMNS) - {
    "person_ref",
    "household_ref",
    "relationship",
    "id_type",
    "id_value",
    "id2_type",
    "id2_value",
}


def _person_row(p: Person) -> dict[str, Any]:
    row: dict[str, Any] = {f: getattr(p, f) for f in PERSON_FIELDS if f not in ("birth_date",)}
    row["birth_date"] = (
        str(p.birth_date.year) if p.birth_date_precision == Person.PRECISION_YEAR else p.birth_date
    )
    return row


@transaction.atomic
def update_person(
    person_id: int,
    *,
    household_id: int,
    expected_version: int,
    changes: dict[str, Any],
    actor: Any = None,
    channel: str,
    reason: str,
) -> Person:
    """Change a member's fields. The household's version guards against concurrent edits."""
    profile = _profile()
    hh = _lock(household_id, expected_version)
    person = Person.objects.select_for_update().get(pk=person_id)
    if not Membership.live.filter(person=person, household=hh, end_date__isnull=True).exists():
        raise RegistryValidationError(
            {"person": f"{person.registry_id} is not an active member of {hh.registry_id}"}
        )
    unknown = set(changes) - PERSON_FIELDS
    if unknown:
        raise RegistryValidationError({u: "is not a person field that can be changed here" for u in unknown})
    membership = Membership.live.get(person=person, household=hh, end_date__isnull=True)
    merged = {**_person_row(person), **changes, "person_ref": person.external_ref or person.registry_id,
              "household_ref": hh.registry_id, "relationship": membership.relationship}  # fmt: skip
    typed, errors = validate.validate_persons(_frame([merged]), profile, timezone.localdate())
    if errors.height:
        raise RegistryValidationError(_errors_dict(errors))
    row = typed.row(0, named=True)
    old = snapshot(person)
    cs = open_changeset(actor=actor, channel=channel, reason=reason)
    for f in PERSON_FIELDS:
        setattr(
            person,
            f,
            row[f]
            if row[f] is not None or f in ("in_school", "literate", "father_deceased", "death_date")
            else getattr(person, f),
        )
    person.birth_date_precision = row["birth_date_precision"]
    person.birth_date_approx = row["birth_date_approx"]
    person.version += 1
    person.updated_at = cs.at
    person.save()
    record(cs, "person", person, old, HistoryEntry.OP_UPDATE, hh.pk)
    if person.vital_status == "DECEASED" and membership.end_date is None:
        m_old = snapshot(membership)
        membership.end_date = max(person.death_date or cs.at.date(), membership.start_date)
        membership.end_reason = "deceased"
        membership.save()
        record(cs, "membership", membership, m_old, HistoryEntry.OP_UPDATE, hh.pk)
    _touch(hh, cs)
    return person


@transaction.atomic
def end_membership(
    membership_id: int,
    *,
    expected_version: int,
    end_date: dt.date,
    end_reason: str,
    actor: Any = None,
    channel: str,
    reason: str,
) -> Membership:
    """A member leaves the household (moved out, married, deceased...)."""
    m = Membership.live.get(pk=membership_id)
    hh = _lock(m.household_id, expected_version)
    if m.end_date is not None:
        raise RegistryValidationError({"end_date": "this membership has already ended"})
    if end_date < m.start_date:
        raise RegistryValidationError({"end_date": "is before the membership started"})
    if m.relationship == "HEAD":
        raise RegistryValidationError(
            {"relationship": "name a new head before the head leaves the household"}
        )
    old = snapshot(m)
    cs = open_changeset(actor=actor, channel=channel, reason=reason)
    m.end_date, m.end_reason = end_date, end_reason
    m.save()
    record(cs, "membership", m, old, HistoryEntry.OP_UPDATE, hh.pk)
    _touch(hh, cs)
    return m


@transaction.atomic
def join_household(
    person_id: int, household_id: int, *, expected_version: int, relationship: str, start_date: dt.date,
    actor: Any = None, channel: str, reason: str,
) -> Membership:  # fmt: skip
    """Add an existing person to a household.

    A person is active in one household at a time: joining while still an active member of
    another is refused with the household's registry id (end that membership first, for a
    move). The database enforces the same rule (one_active_household_per_person).
    """
    hh = _lock(household_id, expected_version)
    if relationship not in validate.enums.RELATIONSHIP or relationship == "HEAD":
        raise RegistryValidationError({"relationship": "must be a relationship other than HEAD"})
    person = Person.objects.select_for_update().get(pk=person_id)
    if person.merged_into is not None:
        survivor = person.merged_into.registry_id
        raise RegistryValidationError(
            {"person": f"{person.registry_id} was merged into {survivor}: use that record"}
        )
    if person.is_deleted:
        raise RegistryValidationError({"person": f"{person.registry_id} has been deleted"})
    active = Membership.live.filter(person=person, end_date__isnull=True).select_related("household").first()
    if active is not None:
        where = (
            "this household" if active.household_id == hh.pk else f"household {active.household.registry_id}"
        )
        raise RegistryValidationError(
            {
                "person": f"{person.registry_id} is already an active member of {where}; a person is active in "
                "one household at a time: end that membership first (a move), or send the records to identity "
                "review if they are duplicates"
            }
        )
    cs = open_changeset(actor=actor, channel=channel, reason=reason)
    m = Membership.objects.create(
        person_id=person_id,
        household=hh,
        relationship=relationship,
        start_date=start_date,
        created_changeset=cs,
    )
    _touch(hh, cs)
    return m


@transaction.atomic
def delete_household(
    household_id: int, *, expected_version: int, actor: Any = None, channel: str, reason: str
) -> Household:
    """Soft-delete a household and end its memberships. Nothing is erased."""
    if not reason:
        raise RegistryValidationError({"reason": "a reason is required to delete a household"})
    hh = _lock(household_id, expected_version)
    cs = open_changeset(actor=actor, channel=channel, reason=reason)
    for m in Membership.live.filter(household=hh, end_date__isnull=True):
        old = snapshot(m)
        m.end_date, m.end_reason = max(cs.at.date(), m.start_date), "household deleted"
        m.save()
        record(cs, "membership", m, old, HistoryEntry.OP_UPDATE, hh.pk)
    old = snapshot(hh)
    hh.is_deleted, hh.deleted_at = True, cs.at
    _bump(hh, cs.at)
    hh.save()
    record(cs, "household", hh, old, HistoryEntry.OP_DELETE, hh.pk)
    _changed(hh, cs.actor_name, cs.reason)
    return hh


# --- New members and change requests (citizen portal, issue 5) ------------------------------


def _taken_person_ids(values: Any) -> set[str]:
    return set(Person.objects.filter(registry_id__in=list(values)).values_list("registry_id", flat=True))


@transaction.atomic
def add_member(
    household_id: int,
    *,
    expected_version: int,
    member: dict[str, Any],
    start_date: dt.date | None = None,
    actor: Any = None,
    channel: str,
    reason: str,
) -> Membership:
    """A new person joins a household (a birth): validated with the import's person rules,
    given a fresh registry id, recorded in history (person and membership created)."""
    from sijill.core import ids

    profile = _profile()
    hh = _lock(household_id, expected_version)
    relationship = str(member.get("relationship") or "").upper()
    if relationship == "HEAD":
        raise RegistryValidationError({"relationship": "a new member cannot be the head"})
    unknown = set(member) - PERSON_FIELDS - {"relationship"}
    if unknown:
        raise RegistryValidationError({u: "is not a person field that can be given here" for u in unknown})
    row = {**member, "person_ref": "new", "household_ref": hh.registry_id, "relationship": relationship}
    typed, errors = validate.validate_persons(_frame([row]), profile, timezone.localdate())
    if errors.height:
        raise RegistryValidationError(_errors_dict(errors))
    t = typed.row(0, named=True)
    cs = open_changeset(actor=actor, channel=channel, reason=reason)
    (registry_id,) = ids.allocate_ids(1, ids.PERSON_ID_WIDTH, _taken_person_ids)
    fields = {f: t[f] for f in PERSON_FIELDS if f in t and f not in ("death_date",)}
    for f in ("given_name_lat", "family_name_lat", "given_name_ar", "family_name_ar", "school_sector",
              "school_level", "education_level", "occupation", "health_coverage", "phone"):  # fmt: skip
        fields[f] = fields.get(f) or ""
    person = Person.objects.create(
        registry_id=registry_id,
        **fields,
        death_date=t["death_date"],
        birth_date_precision=t["birth_date_precision"],
        created_changeset=cs,
        created_at=cs.at,
        updated_at=cs.at,
    )
    record(cs, "person", person, None, HistoryEntry.OP_CREATE, hh.pk)
    start = max(start_date or cs.at.date(), person.birth_date)
    m = Membership.objects.create(
        person=person, household=hh, relationship=relationship, start_date=start, created_changeset=cs
    )
    record(cs, "membership", m, None, HistoryEntry.OP_CREATE, hh.pk)
    _touch(hh, cs)
    return m


def check_change_request(household: Household, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Check a declared change with the import's rules, without writing anything; returns the
    payload to store. Raises :class:`RegistryValidationError`."""
    from sijill.registry.models import ChangeRequest

    profile = _profile()
    today = timezone.localdate()
    if kind == ChangeRequest.KIND_ADDRESS:
        address = str(payload.get("address") or "").strip()
        if not address:
            raise RegistryValidationError({"address": "is required"})
        row = {"household_ref": household.registry_id, "area_code": household.area.code,
               "milieu": household.milieu, "registered_on": household.registered_on,
               **(household.socio or {}), "address": address}  # fmt: skip
        _typed, errors = validate.validate_households(_frame([row]), profile, today)
        err = {k: v for k, v in _errors_dict(errors).items() if k == "address"}
        if err:
            raise RegistryValidationError(err)
        return {"address": address}
    if kind == ChangeRequest.KIND_BIRTH:
        fields = ("given_name_lat", "family_name_lat", "given_name_ar", "family_name_ar", "sex", "birth_date")
        clean = {f: payload[f] for f in fields if payload.get(f) not in (None, "")}
        row = {**clean, "person_ref": "new", "household_ref": household.registry_id, "relationship": "CHILD"}
        _typed, errors = validate.validate_persons(_frame([row]), profile, today)
        if errors.height:
            raise RegistryValidationError(_errors_dict(errors))
        return {**{k: _s(v) for k, v in clean.items()}, "relationship": "CHILD"}
    from sijill.registry import changes as staff_changes

    if kind in staff_changes.STAFF_KINDS:
        return staff_changes.check(household, kind, payload)
    if kind == ChangeRequest.KIND_SCHOOLING:
        person = Person.live.filter(registry_id=payload.get("person"), registry_id__isnull=False).first()
        member = (
            Membership.live.filter(person=person, household=household, end_date__isnull=True).first()
            if person is not None
            else None
        )
        if member is None or member.relationship == "HEAD":
            raise RegistryValidationError(
                {"person": "is not a current member of this household (other than the head)"}
            )
        assert person is not None
        in_school = payload.get("in_school") in (True, 1, "1", "true", "yes")
        changes: dict[str, Any] = {
            "in_school": in_school,
            "school_sector": (payload.get("school_sector") or None) if in_school else None,
            "school_level": (payload.get("school_level") or None) if in_school else None,
        }
        row = {**_person_row(person), **changes, "person_ref": person.registry_id,
               "household_ref": household.registry_id, "relationship": member.relationship}  # fmt: skip
        _typed, errors = validate.validate_persons(_frame([row]), profile, today)
        if errors.height:
            raise RegistryValidationError(_errors_dict(errors))
        return {"person": person.registry_id, **changes}
    raise RegistryValidationError({"kind": f"unknown change request kind {kind!r}"})


def submit_change_request(
    household: Household, kind: str, payload: dict[str, Any], *, channel: str = "PORTAL"
) -> Any:
    """Store a declared change as PENDING. Nothing in the registry changes until staff approve it."""
    from sijill.registry.models import ChangeRequest

    clean = check_change_request(household, kind, payload)
    return ChangeRequest.objects.create(
        household=household, kind=kind, payload=clean, channel=channel, created_at=timezone.now()
    )


class ChangeRequestDecided(ValueError):
    """The change request was already approved or rejected."""


def _pending(change_request_id: int) -> Any:
    from sijill.registry.models import ChangeRequest

    cr = ChangeRequest.objects.select_for_update().select_related("household").get(pk=change_request_id)
    if cr.status != ChangeRequest.PENDING:
        raise ChangeRequestDecided(f"change request {cr.pk} is already {cr.status.lower()}")
    return cr


def _not_the_maker(cr: Any, actor: Any) -> None:
    """Maker-checker: the account that asked for a change never decides it."""
    from sijill.registry.changes import SelfApprovalError

    if cr.requested_by_id is not None and cr.requested_by_id == actor.pk:
        raise SelfApprovalError(
            f"change request {cr.pk} was asked for by {actor.get_username()}: another staff member must decide it"
        )


@transaction.atomic
def approve_change_request(change_request_id: int, *, actor: Any, note: str = "") -> Any:
    """Apply a pending change request through the registry's write services (history,
    household version, rescoring) and mark it APPROVED by ``actor``.

    Raises :class:`RegistryValidationError` if it no longer passes the rules (for instance
    the child has left the household): the request then stays PENDING, to be rejected.
    """
    from sijill.registry.models import ChangeRequest

    if actor is None or not getattr(actor, "pk", None):
        raise ValueError("a staff account must approve a change request")
    from sijill.registry import changes as staff_changes

    cr = _pending(change_request_id)
    _not_the_maker(cr, actor)
    hh = cr.household
    check_change_request(hh, cr.kind, cr.payload)  # the registry may have changed since
    p = cr.payload
    reason = f"change request {cr.pk} ({cr.kind.lower()}) declared on the {cr.get_channel_display()}"
    common = {"actor": actor, "channel": "ONLINE", "reason": reason}
    if cr.kind in staff_changes.STAFF_KINDS:
        by = cr.requested_by.get_username() if cr.requested_by else "?"
        staff_changes.apply(
            cr, actor=actor, reason=f"change request {cr.pk} ({cr.kind.lower()}) asked by {by}"
        )
    elif cr.kind == ChangeRequest.KIND_ADDRESS:
        update_household(hh.pk, expected_version=hh.version, changes={"address": p["address"]}, **common)
    elif cr.kind == ChangeRequest.KIND_BIRTH:
        member = {k: v for k, v in p.items() if k != "relationship"}
        add_member(hh.pk, expected_version=hh.version, member={**member, "relationship": p["relationship"]},
                   **common)  # fmt: skip
    else:
        person = Person.live.get(registry_id=p["person"], registry_id__isnull=False)
        changes = {k: p.get(k) for k in ("in_school", "school_sector", "school_level")}
        update_person(person.pk, household_id=hh.pk, expected_version=hh.version, changes=changes, **common)
    last = HistoryEntry.objects.filter(household_id=hh.pk).order_by("-pk").select_related("changeset").first()
    cr.applied_changeset = last.changeset if last is not None else None
    cr.status, cr.decided_by, cr.decided_at, cr.reason = ChangeRequest.APPROVED, actor, timezone.now(), note
    cr.save()
    return cr


@transaction.atomic
def reject_change_request(change_request_id: int, *, actor: Any, reason: str) -> Any:
    """Close a pending change request without touching the registry; a reason is required."""
    from sijill.registry.models import ChangeRequest

    if actor is None or not getattr(actor, "pk", None):
        raise ValueError("a staff account must reject a change request")
    if not reason.strip():
        raise RegistryValidationError({"reason": "a reason is required to reject a change request"})
    cr = _pending(change_request_id)
    _not_the_maker(cr, actor)
    cr.status, cr.decided_by, cr.decided_at, cr.reason = ChangeRequest.REJECTED, actor, timezone.now(), reason
    cr.save()
    return cr
