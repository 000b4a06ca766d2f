"""Staff edits of a registered household: what applies at once, and what needs a second
person's approval (maker-checker).

**At once** (:data:`IMMEDIATE_FIELDS`, :func:`edit_household`): the household's address and
phone and its answers to the country's questionnaire. They are recorded in history like
every write and rescore the household in the same transaction.

**Maker-checker** (:func:`request_change`): everything that decides who a person is, who
belongs to the household or where it lives:

- ``PERSON``: a member's names (Latin and Arabic), sex, date of birth, national identifier
  (type and number) and relationship to the head (between relationships other than HEAD);
- ``AREA``: the household's area (commune) and setting (urban or rural);
- ``ADD_MEMBER``: a new member (never the head);
- ``REMOVE_MEMBER``: a member leaves (never the head; name a new head first);
- ``HEAD``: a new head of household, with every other member's relationship to them (the
  whole household is checked again with the import's rules: one head, ages against the
  head).

A change request stores the new values and the ones they replace; nothing in the registry
changes until another staff account approves it (``services.approve_change_request``,
which refuses the maker: :class:`SelfApprovalError`).

Every value is checked with the bulk import's rules (``intake/validate.py``), so the web
and the import cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import polars as pl
from django.db import transaction
from django.utils import timezone

from sijill.core.history import jsonable, open_changeset, record, snapshot
from sijill.core.models import HistoryEntry
from sijill.registry import services
from sijill.registry.intake import lookups, validate
from sijill.registry.models import ChangeRequest, ExternalIdentifier, Household, Membership, Person
from sijill.registry.services import RegistryValidationError

IMMEDIATE_FIELDS = ("address", "phone")
PERSON_SENSITIVE = (
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
    "id_type",
    "id_value",
    "relationship",
)
STAFF_KINDS = (
    ChangeRequest.KIND_PERSON,
    ChangeRequest.KIND_AREA,
    ChangeRequest.KIND_ADD_MEMBER,
    ChangeRequest.KIND_REMOVE_MEMBER,
    ChangeRequest.KIND_HEAD,
)
NEW_MEMBER_FIELDS = tuple(sorted(services.PERSON_FIELDS | {"relationship", "id_type", "id_value"}))


class SelfApprovalError(PermissionError):
    """The account that asked for a change cannot approve or reject it (maker-checker)."""


def immediate_fields(profile: Any) -> set[str]:
    return set(IMMEDIATE_FIELDS) | {q.name for q in profile.questionnaire.questions}


def edit_household(
    household_id: int, *, expected_version: int, changes: dict[str, Any], actor: Any, reason: str = ""
) -> Household:
    """Apply non-sensitive changes at once (history, version, rescoring). A sensitive field is
    refused: it goes through :func:`request_change`."""
    allowed = immediate_fields(services._profile())
    refused = {
        f: "needs a second person's approval: ask for the change instead" for f in changes if f not in allowed
    }
    if refused:
        raise RegistryValidationError(refused)
    return services.update_household(
        household_id,
        expected_version=expected_version,
        changes=changes,
        actor=actor,
        channel="CENTRE",
        reason=reason or "edited by staff",
    )


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _member(household: Household, registry_id: Any) -> tuple[Person, Membership]:
    m = (
        Membership.live.filter(
            household=household,
            person__registry_id=registry_id,
            person__is_deleted=False,
            end_date__isnull=True,
        )
        .select_related("person")
        .first()
    )
    if m is None:
        raise RegistryValidationError({"person": "is not a current member of this household"})
    return m.person, m


def identifiers_of(person: Person) -> dict[str, str]:
    return {i.id_type: i.value for i in ExternalIdentifier.live.filter(person=person).order_by("id_type")}


def person_values(person: Person, membership: Membership) -> dict[str, Any]:
    """A member's sensitive values, as the import spells them (the ``before`` of a request)."""
    row = services._person_row(person)
    out = {f: jsonable(row.get(f)) for f in PERSON_SENSITIVE if f in row}
    ids = identifiers_of(person)
    first = next(iter(ids.items()), None)
    out["id_type"], out["id_value"] = first if first else ("", "")
    out["relationship"] = membership.relationship
    return {k: ("" if v is None else str(v)) for k, v in out.items()}


def _id_holder(id_type: str, value: str, other_than: int | None) -> str | None:
    """The reason to refuse an identifier held by another person of the registry, or None."""
    profile = services._profile()
    owners = lookups.identifier_owners(profile)(
        pl.DataFrame({"id_type": [id_type], "value": [value]}, schema={"id_type": pl.Utf8, "value": pl.Utf8})
    )
    owners = owners.filter(pl.col("owner_person_id") != (other_than or -1))
    if owners.height == 0:
        return None
    r = owners.row(0, named=True)
    where = (
        f"in household {r['owner_household_registry_id']}"
        if r["owner_household_registry_id"]
        else "who is not an active member of any household"
    )
    return f"{id_type} {value} is already held by person {r['owner_registry_id']} {where}"


def _normalised_id(id_type: str, value: str) -> str:
    it = services._profile().id_types.get(id_type.upper())
    return it.normalise(value) if it else value


def _check_person_row(row: dict[str, Any], person_pk: int | None) -> dict[str, Any]:
    profile = services._profile()
    typed, errors = validate.validate_persons(services._frame([row]), profile, timezone.localdate())
    if errors.height:
        raise RegistryValidationError(services._errors_dict(errors))
    t = typed.row(0, named=True)
    if t.get("id_type") and t.get("id_value"):
        held = _id_holder(t["id_type"], t["id_value"], person_pk)
        if held:
            raise RegistryValidationError({"id_value": held})
    return t


def check(household: Household, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Check a requested change with the import's rules, writing nothing; returns the payload
    to store. Raises :class:`RegistryValidationError` (field → reason)."""
    profile = services._profile()
    if kind == ChangeRequest.KIND_PERSON:
        person, membership = _member(household, payload.get("person"))
        before = person_values(person, membership)
        given = {f: str(payload.get(f) or "").strip() for f in PERSON_SENSITIVE if f in payload}
        if given.get("id_value") and given.get("id_type"):
            given["id_type"] = given["id_type"].upper()
            given["id_value"] = _normalised_id(given["id_type"], given["id_value"])
        if "relationship" in given:
            given["relationship"] = given["relationship"].upper()
            if (given["relationship"] == "HEAD") != (membership.relationship == "HEAD"):
                raise RegistryValidationError(
                    {
                        "relationship": "changing who is the head of household is not possible with this request"
                    }
                )
        changed = {f: v for f, v in given.items() if v != before.get(f, "")}
        if not changed:
            raise RegistryValidationError({"person": "nothing changes: every value is the same as now"})
        if ("id_type" in changed or "id_value" in changed) and not (
            given.get("id_type") or given.get("id_value")
        ):
            raise RegistryValidationError({"id_value": "an identifier cannot be removed with this request"})
        merged = {**services._person_row(person), **{f: v or None for f, v in given.items()}}
        merged.update(person_ref=person.registry_id, household_ref=household.registry_id)
        merged["relationship"] = merged.get("relationship") or membership.relationship
        _check_person_row(merged, person.pk)
        if "id_type" in changed or "id_value" in changed:
            changed["id_type"], changed["id_value"] = given["id_type"], given["id_value"]
        return {"person": person.registry_id, **changed}
    if kind == ChangeRequest.KIND_AREA:
        area_code = str(payload.get("area_code") or "").strip()
        milieu = str(payload.get("milieu") or "").strip().upper() or None
        row = {"household_ref": household.registry_id, "area_code": area_code or None, "milieu": milieu,
               "registered_on": household.registered_on, "address": household.address,
               **(household.socio or {})}  # fmt: skip
        typed, errors = validate.validate_households(services._frame([row]), profile, timezone.localdate())
        err = services._errors_dict(errors)
        if err:
            raise RegistryValidationError(err)
        t = typed.row(0, named=True)
        if t["area_code"] == household.area.code and t["milieu"] == household.milieu:
            raise RegistryValidationError({"area_code": "nothing changes: this is the household's area now"})
        return {"area_code": t["area_code"], "milieu": t["milieu"]}
    if kind == ChangeRequest.KIND_ADD_MEMBER:
        member = {k: v for k, v in payload.items() if k in NEW_MEMBER_FIELDS and not _blank(v)}
        unknown = set(payload) - set(NEW_MEMBER_FIELDS)
        if unknown:
            raise RegistryValidationError({u: "is not a field of a new member" for u in sorted(unknown)})
        rel = str(member.get("relationship") or "").upper()
        if rel == "HEAD":
            raise RegistryValidationError({"relationship": "a new member cannot be the head"})
        row = {
            **member,
            "relationship": rel or None,
            "person_ref": "new",
            "household_ref": household.registry_id,
        }
        _check_person_row(row, None)
        if member.get("id_type") and member.get("id_value"):
            member["id_type"] = str(member["id_type"]).upper()
            member["id_value"] = _normalised_id(member["id_type"], str(member["id_value"]))
        return {**{k: services._s(v) for k, v in member.items()}, "relationship": rel}
    if kind == ChangeRequest.KIND_REMOVE_MEMBER:
        person, membership = _member(household, payload.get("person"))
        if membership.relationship == "HEAD":
            raise RegistryValidationError({"person": "name a new head before the head leaves the household"})
        end_reason = str(payload.get("end_reason") or "").strip()
        if not end_reason:
            raise RegistryValidationError({"end_reason": "is required"})
        raw = payload.get("end_date") or timezone.localdate().isoformat()
        try:
            end_date = dt.date.fromisoformat(str(raw))
        except ValueError:
            raise RegistryValidationError({"end_date": "not a date in the form YYYY-MM-DD"}) from None
        if end_date > timezone.localdate():
            raise RegistryValidationError({"end_date": "is in the future"})
        if end_date < membership.start_date:
            raise RegistryValidationError({"end_date": "is before the membership started"})
        return {"person": person.registry_id, "end_date": end_date.isoformat(), "end_reason": end_reason}
    if kind == ChangeRequest.KIND_HEAD:
        return _check_head(household, payload)
    raise RegistryValidationError({"kind": f"unknown change request kind {kind!r}"})


def _current(household: Household) -> list[Membership]:
    return list(
        Membership.live.filter(household=household, end_date__isnull=True, person__is_deleted=False)
        .select_related("person")
        .order_by("pk")
    )


def _check_head(household: Household, payload: dict[str, Any]) -> dict[str, Any]:
    """A new head, and each other member's relationship to them (``relationships``: registry id
    → relationship), checked as a whole household with the import's rules."""
    new_head, _m = _member(household, payload.get("person"))
    if _m.relationship == "HEAD":
        raise RegistryValidationError({"person": "nothing changes: this person is the head now"})
    given = {str(k): str(v or "").strip().upper() for k, v in (payload.get("relationships") or {}).items()}
    members = _current(household)
    rels: dict[str, str] = {}
    errors: dict[str, str] = {}
    for m in members:
        rid = m.person.registry_id
        if rid == new_head.registry_id:
            continue
        rel = given.get(rid) or m.relationship
        if rel == "HEAD":
            errors[f"relationship {rid}"] = (
                "the household has more than one HEAD: give this member another relationship"
            )
        rels[rid] = rel
    if errors:
        raise RegistryValidationError(errors)
    rels[new_head.registry_id] = "HEAD"
    profile = services._profile()
    hrow = {"household_ref": household.registry_id, "area_code": household.area.code, "milieu": household.milieu,
            "registered_on": household.registered_on, **(household.socio or {})}  # fmt: skip
    prows = []
    for m in members:
        row = services._person_row(m.person)
        row.update(person_ref=m.person.registry_id, household_ref=household.registry_id,
                   relationship=rels[m.person.registry_id])  # fmt: skip
        prows.append(row)
    result = validate.validate(
        services._frame([hrow]), services._frame(prows), profile, today=timezone.localdate()
    )
    # Rows with a column are a member's own errors (the others say "rejected with its household").
    for r in result.errors.filter((pl.col("table") == "persons") & (pl.col("column") != "")).iter_rows(
        named=True
    ):
        rid = prows[r["row"] - 1]["person_ref"]
        errors.setdefault(f"relationship {rid}", r["reason"])
    if errors:
        raise RegistryValidationError(errors)
    return {"person": new_head.registry_id, "relationships": {k: v for k, v in rels.items()}}


def before_of(household: Household, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The current values a request replaces (shown side by side with the new ones)."""
    if kind in (ChangeRequest.KIND_PERSON, ChangeRequest.KIND_REMOVE_MEMBER):
        person, membership = _member(household, payload["person"])
        values = person_values(person, membership)
        if kind == ChangeRequest.KIND_REMOVE_MEMBER:
            return {"person": person.registry_id, **values, "start_date": membership.start_date.isoformat()}
        return {"person": person.registry_id, **{k: values.get(k, "") for k in payload if k != "person"}}
    if kind == ChangeRequest.KIND_HEAD:
        return {"relationships": {m.person.registry_id: m.relationship for m in _current(household)}}
    if kind == ChangeRequest.KIND_AREA:
        return {"area_code": household.area.code, "milieu": household.milieu}
    if kind == ChangeRequest.KIND_ADDRESS:
        return {"address": household.address}
    return {}


def request_change(
    household: Household,
    kind: str,
    payload: dict[str, Any],
    *,
    actor: Any,
    reason: str,
    allowed_area_codes: Collection[str] | None = None,
) -> ChangeRequest:
    """Store a sensitive change as PENDING, with its maker; nothing in the registry changes.

    ``allowed_area_codes``: the areas the maker works in (None: anywhere); a household may
    not be moved outside them.
    """
    if actor is None or not getattr(actor, "pk", None):
        raise ValueError("a staff account must ask for a change")
    if kind not in STAFF_KINDS:
        raise RegistryValidationError({"kind": f"unknown change request kind {kind!r}"})
    if not reason.strip():
        raise RegistryValidationError({"request_reason": "is required: say why the change is needed"})
    clean = check(household, kind, payload)
    if kind == ChangeRequest.KIND_AREA and allowed_area_codes is not None:
        if clean["area_code"] not in allowed_area_codes:
            raise RegistryValidationError({"area_code": "is outside the areas you work in"})
    return ChangeRequest.objects.create(
        household=household,
        kind=kind,
        payload=clean,
        channel=ChangeRequest.CHANNEL_CENTRE,
        requested_by=actor,
        request_reason=reason.strip(),
        before=before_of(household, kind, clean),
        created_at=timezone.now(),
    )


def _set_identifier(
    person: Person, hh: Household, id_type: str, value: str, *, actor: Any, reason: str
) -> None:
    """Give ``person`` the identifier, replacing the one of that type they held (history kept)."""
    profile = services._profile()
    held = _id_holder(id_type, value, person.pk)
    if held:
        raise RegistryValidationError({"id_value": held})
    current = list(ExternalIdentifier.live.select_for_update().filter(person=person, id_type=id_type))
    if any(i.value == value for i in current):
        return
    cs = open_changeset(actor=actor, channel="CENTRE", reason=reason)
    for i in current:
        old = snapshot(i)
        i.is_deleted = True
        i.save(update_fields=["is_deleted"])
        record(cs, "identifier", i, old, HistoryEntry.OP_DELETE, hh.pk)
    new = ExternalIdentifier.objects.create(
        person=person, country=profile.code, id_type=id_type, value=value, created_changeset=cs
    )
    record(cs, "identifier", new, None, HistoryEntry.OP_CREATE, hh.pk)
    services._touch(hh, cs)


def _set_relationship(
    membership: Membership, hh: Household, relationship: str, *, actor: Any, reason: str
) -> None:
    cs = open_changeset(actor=actor, channel="CENTRE", reason=reason)
    old = snapshot(membership)
    membership.relationship = relationship
    membership.save(update_fields=["relationship"])
    record(cs, "membership", membership, old, HistoryEntry.OP_UPDATE, hh.pk)
    services._touch(hh, cs)


def _set_head(hh: Household, head_id: str, relationships: dict[str, str], *, actor: Any, reason: str) -> None:
    """Name the new head and set every member's relationship, in one change set. Everyone
    else's relationship is written before the new head's, so the household never has two."""
    hh = services._lock(hh.pk, hh.version)
    cs = open_changeset(actor=actor, channel="CENTRE", reason=reason)
    members = sorted(_current(hh), key=lambda m: m.person.registry_id == head_id)
    for m in members:
        rel = relationships.get(m.person.registry_id, m.relationship)
        if rel != m.relationship:
            old = snapshot(m)
            m.relationship = rel
            m.save(update_fields=["relationship"])
            record(cs, "membership", m, old, HistoryEntry.OP_UPDATE, hh.pk)
    head = next(m.person for m in members if m.person.registry_id == head_id)
    old = snapshot(hh)
    hh.head = head
    services._bump(hh, cs.at)
    hh.save(update_fields=["head", "version", "updated_at"])
    record(cs, "household", hh, old, HistoryEntry.OP_UPDATE, hh.pk)
    services._changed(hh, cs.actor_name, cs.reason)


@transaction.atomic
def apply(cr: ChangeRequest, *, actor: Any, reason: str) -> None:
    """Apply an approved staff request through the registry's write services."""
    hh = Household.objects.get(pk=cr.household_id)
    p = cr.payload
    common = {"actor": actor, "channel": "CENTRE", "reason": reason}
    if cr.kind == ChangeRequest.KIND_PERSON:
        person, membership = _member(hh, p["person"])
        fields = {k: v for k, v in p.items() if k in services.PERSON_FIELDS}
        if fields:
            services.update_person(
                person.pk, household_id=hh.pk, expected_version=hh.version, changes=fields, **common
            )
        if p.get("id_type") and p.get("id_value"):
            hh.refresh_from_db()
            _set_identifier(person, hh, p["id_type"], p["id_value"], actor=actor, reason=reason)
        if p.get("relationship") and p["relationship"] != membership.relationship:
            membership.refresh_from_db()
            hh.refresh_from_db()
            _set_relationship(membership, hh, p["relationship"], actor=actor, reason=reason)
    elif cr.kind == ChangeRequest.KIND_AREA:
        services.update_household(hh.pk, expected_version=hh.version, changes=dict(p), **common)
    elif cr.kind == ChangeRequest.KIND_ADD_MEMBER:
        member = {k: v for k, v in p.items() if k not in ("id_type", "id_value")}
        m = services.add_member(hh.pk, expected_version=hh.version, member=member, **common)
        if p.get("id_type") and p.get("id_value"):
            hh.refresh_from_db()
            _set_identifier(m.person, hh, p["id_type"], p["id_value"], actor=actor, reason=reason)
    elif cr.kind == ChangeRequest.KIND_REMOVE_MEMBER:
        _person, membership = _member(hh, p["person"])
        services.end_membership(
            membership.pk,
            expected_version=hh.version,
            end_date=dt.date.fromisoformat(p["end_date"]),
            end_reason=p["end_reason"],
            **common,
        )
    elif cr.kind == ChangeRequest.KIND_HEAD:
        _set_head(hh, p["person"], p["relationships"], actor=actor, reason=reason)
    else:  # pragma: no cover - the caller dispatches only STAFF_KINDS
        raise RegistryValidationError({"kind": f"unknown change request kind {cr.kind!r}"})
