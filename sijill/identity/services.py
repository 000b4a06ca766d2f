"""Writes of the identity room: review decisions, merges and their undoing, intake conflicts.

Every function here runs in one transaction, opens one :class:`~sijill.core.models.ChangeSet`
and writes a :class:`~sijill.core.models.HistoryEntry` with the full old and new state of
every record it touches. The rules are in docs/identity.md; in short:

- :func:`decide` records a reviewer's decision on a pending candidate; ``MATCH`` merges
  the two records (the older one survives), ``NOT_MATCH`` closes the candidate.
- :func:`merge_persons` folds one record into another and keeps in ``Merge.moved``
  every change it made, in order, with the values before and after.
- :func:`unmerge` replays ``Merge.moved`` backwards, after checking that nothing it
  would restore has moved since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Field, Model, Q
from django.utils import timezone

from sijill.core.history import jsonable, open_changeset, record, snapshot
from sijill.core.models import ChangeSet, HistoryEntry
from sijill.identity.models import MatchCandidate, Merge
from sijill.registry.models import ExternalIdentifier, Household, Membership, Person
from sijill.registry.signals import household_changed


class IdentityError(Exception):
    """A review decision, merge or unmerge that cannot be done; nothing was changed."""


class AlreadyDecidedError(IdentityError):
    """The candidate is not pending any more."""


class MergeError(IdentityError):
    """The two records cannot be merged as asked."""


class UnmergeError(IdentityError):
    """The merge cannot be undone: something it moved has changed since."""


DECISIONS = (MatchCandidate.MATCH, MatchCandidate.NOT_MATCH)

# Survivor fields that a merge fills from the merged record, only where the survivor's is empty.
# Sex, birth date, vital status, disability and schooling are not: they are assessed facts
# (or go in pairs checked together) that a reviewer corrects through the registry services.
FILLABLE_FIELDS = (
    "given_name_lat",
    "family_name_lat",
    "given_name_ar",
    "family_name_ar",
    "father_name_lat",
    "father_name_ar",
    "mother_name_lat",
    "mother_name_ar",
    "phone",
    "occupation",
    "health_coverage",
    "education_level",
    "literate",
    "father_deceased",
)

ENTITY_MODELS: dict[str, type[Model]] = {
    "person": Person,
    "membership": Membership,
    "identifier": ExternalIdentifier,
    "household": Household,
}


def merged_reason(survivor: Person) -> str:
    return f"merged into {survivor.registry_id}"


def _required(value: str, what: str) -> str:
    if not value or not value.strip():
        raise IdentityError(f"{what} is required")
    return value.strip()


def _pk(obj: Model | int) -> int:
    return obj if isinstance(obj, int) else int(obj.pk)


def _opt_pk(obj: Model | int | None) -> int | None:
    return None if obj is None else _pk(obj)


@dataclass
class _Ops:
    """The changes of one merge, in the order they were made (``Merge.moved["ops"]``)."""

    ops: list[dict[str, Any]] = field(default_factory=list)
    households: set[int] = field(default_factory=set)

    def change(
        self, entity: str, obj: Model, household_id: int | None, lenient: bool = False, **values: Any
    ) -> dict[str, Any]:
        """Set ``values`` (attribute names) on ``obj`` and note them. Returns the old snapshot."""
        old = snapshot(obj)
        changes = {}
        for attname, new in values.items():
            before = jsonable(getattr(obj, attname))
            if before != jsonable(new):
                changes[attname] = [before, jsonable(new)]
                setattr(obj, attname, new)
        if changes:
            self.ops.append(
                {"entity": entity, "id": obj.pk, "household_id": household_id, "changes": changes}
                | ({"lenient": True} if lenient else {})
            )
            if household_id is not None:
                self.households.add(household_id)
        return old


def _save(cs: ChangeSet, entity: str, obj: Model, old: dict[str, Any], household_id: int | None) -> None:
    obj.save()
    record(cs, entity, obj, old, HistoryEntry.OP_UPDATE, household_id)


def _touch_households(
    cs: ChangeSet, households: dict[int, Household], olds: dict[int, dict[str, Any]], touched: set[int]
) -> None:
    """Save the households touched (version moved on), record them, and have them rescored."""
    for pk in sorted(touched):
        hh = households[pk]
        hh.version += 1
        hh.updated_at = cs.at
        _save(cs, "household", hh, olds[pk], hh.pk)
    for pk in sorted(touched):
        hh = households[pk]
        if not hh.is_deleted:
            household_changed.send(sender=Household, household=hh, actor_name=cs.actor_name, reason=cs.reason)


def _lock_households(pks: set[int]) -> dict[int, Household]:
    return {h.pk: h for h in Household.objects.select_for_update().filter(pk__in=pks).order_by("pk")}


# --- decisions --------------------------------------------------------------------------------


@transaction.atomic
def decide(
    candidate: MatchCandidate | int,
    decision: str,
    *,
    reason: str,
    actor_name: str,
    keep_household: Household | int | None = None,
    actor: Any = None,
    channel: str = "CENTRE",
) -> Merge | None:
    """Record a reviewer's decision on a pending candidate. ``MATCH`` merges and returns the Merge.

    ``MATCH``: the older record (``person_a``, the smaller key) survives; see
    :func:`merge_persons` (``keep_household`` is passed on). ``NOT_MATCH``: the candidate is
    closed and both records stay as they are; for an ``ID_CONFLICT`` the identifier stays
    with the person who held it. A reason is required either way. A pair linked
    automatically by a run (``AUTO_LINKED``) may be confirmed (merged) or rejected like a
    pending one; a candidate decided by a reviewer already is refused.
    """
    if decision not in DECISIONS:
        raise IdentityError(f"decision must be {' or '.join(DECISIONS)}, not {decision!r}")
    reason = _required(reason, "a reason for the decision")
    actor_name = _required(actor_name, "the reviewer's name")
    c = MatchCandidate.objects.select_for_update().get(pk=_pk(candidate))
    if (
        c.status not in (MatchCandidate.PENDING, MatchCandidate.AUTO_LINKED)
        or c.merges.filter(undone_at__isnull=True).exists()
    ):
        when = f" on {timezone.localtime(c.decided_at):%Y-%m-%d %H:%M}" if c.decided_at else ""
        raise AlreadyDecidedError(
            f"candidate #{c.pk} was already decided: {c.status} by {c.decided_by or 'the system'}{when}"
            f" ({c.decision_reason or 'no reason given'})"
        )
    a, b = Person.objects.get(pk=c.person_a_id), Person.objects.get(pk=c.person_b_id)
    if decision == MatchCandidate.MATCH:
        for p in (a, b):
            if p.merged_into is not None:
                into = p.merged_into.registry_id
                raise MergeError(
                    f"{p.registry_id} was merged into {into} after this candidate was found; decide the pair "
                    f"with {into} instead, or close this one as NOT_MATCH"
                )
    cs = open_changeset(actor=actor, actor_name=actor_name, channel=channel, reason=reason)
    old = snapshot(c)
    c.status, c.decided_by, c.decided_at, c.decision_reason = decision, actor_name, cs.at, reason
    c.save()
    record(cs, "candidate", c, old, HistoryEntry.OP_UPDATE, None)
    if decision == MatchCandidate.NOT_MATCH:
        return None
    return _merge(cs, a, b, candidate=c, keep_household=_opt_pk(keep_household))


# --- merge ------------------------------------------------------------------------------------


@transaction.atomic
def merge_persons(
    survivor: Person | int,
    merged: Person | int,
    *,
    actor_name: str,
    reason: str,
    candidate: MatchCandidate | None = None,
    keep_household: Household | int | None = None,
    actor: Any = None,
    channel: str = "CENTRE",
) -> Merge:
    """Fold ``merged`` into ``survivor`` (two records of one person). See docs/identity.md.

    The survivor keeps its registry id and receives the merged record's identifiers and
    memberships; where both are active members, of one household or of two, one
    membership ends (``keep_household``, else the one where the person is head, else the
    survivor's); head and declarant pointers follow the person; the survivor's empty
    fields are filled from the merged record. The merged record is soft-deleted with
    ``merged_into`` pointing at the survivor. Households touched get a new version and are
    rescored. Refused with :class:`MergeError` (nothing changed) when a household would be
    left without its head.
    """
    reason = _required(reason, "a reason for the merge")
    actor_name = _required(actor_name, "the name of who merges")
    cs = open_changeset(actor=actor, actor_name=actor_name, channel=channel, reason=reason)
    return _merge(cs, survivor, merged, candidate=candidate, keep_household=_opt_pk(keep_household))


def _merge(
    cs: ChangeSet,
    survivor: Person | int,
    merged: Person | int,
    *,
    candidate: MatchCandidate | None,
    keep_household: int | None,
) -> Merge:
    s_pk, m_pk = _pk(survivor), _pk(merged)
    if s_pk == m_pk:
        raise MergeError("a record cannot be merged into itself")
    persons = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=[s_pk, m_pk]).order_by("pk")}
    s, m = persons[s_pk], persons[m_pk]
    for p in (s, m):
        if p.merged_into is not None:
            raise MergeError(f"{p.registry_id} was already merged into {p.merged_into.registry_id}")
        if p.is_deleted:
            raise MergeError(f"{p.registry_id} has been deleted")
    members = list(
        Membership.live.select_for_update().filter(person_id__in=[s.pk, m.pk]).order_by("start_date", "pk")
    )
    pointed = Household.objects.filter(Q(head_id__in=[s.pk, m.pk]) | Q(declarant_id__in=[s.pk, m.pk]))
    households = _lock_households(
        {x.household_id for x in members} | set(pointed.values_list("pk", flat=True))
    )
    h_olds = {pk: snapshot(h) for pk, h in households.items()}
    before = {"survivor": snapshot(s), "merged": snapshot(m)}
    s_active = next((x for x in members if x.person_id == s.pk and x.end_date is None), None)
    m_active = next((x for x in members if x.person_id == m.pk and x.end_date is None), None)
    active_hh = {x.household_id for x in (s_active, m_active) if x is not None}
    if keep_household is not None and keep_household not in active_hh:
        names = " or ".join(households[h].registry_id for h in sorted(active_hh)) or "none"
        raise MergeError(
            f"keep_household must be a household where one of the two records is active ({names})"
        )

    # Which active membership goes on (kept), which ends; ``left``: a household the person leaves.
    ending: Membership | None = None
    kept = s_active if s_active is not None else m_active
    left: int | None = None
    if s_active is not None and m_active is not None:
        ending = _membership_to_end(s_active, m_active, households, keep_household)
        kept = m_active if ending is s_active else s_active
        if ending.household_id != kept.household_id:
            left = ending.household_id
            hh = households[left]
            holder = s if ending.person_id == s.pk else m
            if ending.relationship == "HEAD" or hh.head_id == holder.pk:
                stay = households[kept.household_id].registry_id
                raise MergeError(
                    f"{holder.registry_id} is the head of household {hh.registry_id}, which the merge would "
                    f"leave without its head (the person stays in {stay}): keep household {hh.registry_id} "
                    f"instead, or name another head of {hh.registry_id} first"
                )
    home = kept.household_id if kept is not None else None
    ops = _Ops()
    today = cs.at.date()
    reason = merged_reason(s)

    # 1. End the membership that does not go on (it stays with its record: the duplicate registration).
    if ending is not None:
        assert kept is not None
        why = (
            reason
            if ending.person_id == m.pk
            else f"merge of {m.registry_id} into {s.registry_id}: stays in household "
            f"{households[kept.household_id].registry_id}"
        )
        old = ops.change(
            "membership", ending, ending.household_id, end_date=max(today, ending.start_date), end_reason=why
        )
        _save(cs, "membership", ending, old, ending.household_id)
    # 2. Every other membership of the merged record moves to the survivor (history included).
    for x in members:
        if x.person_id == m.pk and x is not ending:
            old = ops.change("membership", x, x.household_id, person_id=s.pk)
            _save(cs, "membership", x, old, x.household_id)
    # 3. Identifiers move too; one the survivor already holds (same type and value) is retired.
    held = {(i.country, i.id_type, i.value) for i in ExternalIdentifier.live.filter(person_id=s.pk)}
    for i in ExternalIdentifier.live.select_for_update().filter(person_id=m.pk).order_by("pk"):
        if (i.country, i.id_type, i.value) in held:
            old = ops.change("identifier", i, home, is_deleted=True)
        else:
            old = ops.change("identifier", i, home, person_id=s.pk)
        _save(cs, "identifier", i, old, home)
    # 4. The survivor's empty fields, from the merged record.
    fills = {
        f: getattr(m, f)
        for f in FILLABLE_FIELDS
        if getattr(s, f) in ("", None) and getattr(m, f) not in ("", None)
    }
    old = ops.change("person", s, home, lenient=True, **fills)
    s.version += 1
    s.updated_at = cs.at
    _save(cs, "person", s, old, home)
    # 5. The merged record: deleted, pointing at the survivor.
    m_home = m_active.household_id if m_active is not None else None
    old = ops.change("person", m, m_home, is_deleted=True, deleted_at=cs.at, merged_into_id=s.pk)
    m.version += 1
    m.updated_at = cs.at
    _save(cs, "person", m, old, m_home)
    # 6. Head and declarant pointers follow the person, except out of a household it leaves.
    for pk, hh in households.items():
        if hh.is_deleted:
            continue
        values: dict[str, Any] = {}
        if hh.head_id == m.pk:
            values["head_id"] = s.pk  # never in the household left: refused above
        if hh.declarant_id in (s.pk, m.pk):
            # The declarant leaves with the person: the head declares, as at import by default.
            values["declarant_id"] = hh.head_id if pk == left else s.pk
        if values:
            ops.change("household", hh, pk, **values)
    _touch_households(cs, households, h_olds, ops.households)
    return Merge.objects.create(
        survivor=s,
        merged=m,
        candidate=candidate,
        changeset=cs,
        created_at=cs.at,
        moved={
            "survivor": {"id": s.pk, "registry_id": s.registry_id},
            "merged": {"id": m.pk, "registry_id": m.registry_id},
            "kept_household": home,
            "ended_household": left,
            "ops": ops.ops,
            "before": before,
        },
    )


def _membership_to_end(
    s_active: Membership, m_active: Membership, households: dict[int, Household], keep: int | None
) -> Membership:
    """Both records are active members: the membership that ends (the other goes on)."""
    if s_active.household_id != m_active.household_id and keep is not None:
        return m_active if keep == s_active.household_id else s_active

    def heads(x: Membership) -> bool:
        return x.relationship == "HEAD" or households[x.household_id].head_id == x.person_id

    if heads(m_active) and not heads(s_active):
        return s_active
    return m_active


# --- unmerge ----------------------------------------------------------------------------------


@transaction.atomic
def unmerge(
    merge: Merge | int, *, actor_name: str, reason: str, actor: Any = None, channel: str = "CENTRE"
) -> None:
    """Undo a merge: restore exactly the records as they were before it, from ``Merge.moved``.

    Refused with :class:`UnmergeError`, changing nothing, when something the merge moved
    has changed since in a way that restoring would break (a membership or identifier
    moved or ended since, a household's head changed, the survivor active in another
    household, the survivor merged in turn). Survivor fields the merge filled are emptied
    again unless someone changed them since. The candidate, if any, goes back to PENDING.
    """
    reason = _required(reason, "a reason for undoing the merge")
    actor_name = _required(actor_name, "the name of who undoes the merge")
    mg = Merge.objects.select_for_update().get(pk=_pk(merge))
    if mg.undone_at is not None:
        raise UnmergeError(
            f"merge #{mg.pk} was already undone on {timezone.localtime(mg.undone_at):%Y-%m-%d %H:%M}"
        )
    s = Person.objects.select_for_update().get(pk=mg.survivor_id)
    m = Person.objects.select_for_update().get(pk=mg.merged_id)
    if s.merged_into is not None:
        later = Merge.objects.filter(merged=s, undone_at__isnull=True).first()
        raise UnmergeError(
            f"cannot undo merge #{mg.pk}: {s.registry_id} was itself merged into {s.merged_into.registry_id} "
            f"since{f' (merge #{later.pk})' if later else ''}: undo that merge first"
        )
    ops: list[dict[str, Any]] = mg.moved.get("ops", [])
    households = _lock_households(
        {int(op["household_id"]) for op in ops if op.get("household_id") is not None}
        | {int(op["id"]) for op in ops if op["entity"] == "household"}
    )
    rows = _lock_rows(ops, s, m)
    rows.update({("household", pk): h for pk, h in households.items()})
    _check_undo(mg, ops, rows, s, m)
    cs = open_changeset(actor=actor, actor_name=actor_name, channel=channel, reason=reason)
    h_olds = {pk: snapshot(h) for pk, h in households.items()}
    touched: set[int] = set()
    for op in reversed(ops):
        obj = rows[(op["entity"], int(op["id"]))]
        old = snapshot(obj)
        for attname, (before, after) in op["changes"].items():
            if op.get("lenient") and jsonable(getattr(obj, attname)) != after:
                continue  # changed by someone since the merge: their value stays
            setattr(obj, attname, _field(obj, attname).to_python(before))
        if op.get("household_id") is not None:
            touched.add(int(op["household_id"]))
        if op["entity"] != "household":
            if isinstance(obj, Person):
                obj.version += 1
                obj.updated_at = cs.at
            _save(cs, op["entity"], obj, old, op.get("household_id"))
    _touch_households(cs, households, h_olds, touched)
    old = snapshot(mg)
    mg.undone_at, mg.undo_changeset = cs.at, cs
    mg.save()
    record(cs, "merge", mg, old, HistoryEntry.OP_UPDATE, None)
    c = mg.candidate
    if c is not None and c.status != MatchCandidate.PENDING:
        reopen = not MatchCandidate.objects.filter(
            person_a_id=c.person_a_id, person_b_id=c.person_b_id, status=MatchCandidate.PENDING
        ).exists()
        if reopen:
            old = snapshot(c)
            c.status, c.decided_by, c.decided_at = MatchCandidate.PENDING, "", None
            c.decision_reason = f"merge #{mg.pk} undone by {actor_name}: {reason}"
            c.save()
            record(cs, "candidate", c, old, HistoryEntry.OP_UPDATE, None)


def _field(obj: Model, attname: str) -> Field[Any, Any]:
    f = obj._meta.get_field(attname)
    assert isinstance(f, Field)
    return f


def _lock_rows(ops: list[dict[str, Any]], s: Person, m: Person) -> dict[tuple[str, int], Model]:
    rows: dict[tuple[str, int], Model] = {("person", s.pk): s, ("person", m.pk): m}
    for entity in ("membership", "identifier"):
        pks = sorted({int(op["id"]) for op in ops if op["entity"] == entity})
        model = ENTITY_MODELS[entity]
        for obj in model._default_manager.select_for_update().filter(pk__in=pks).order_by("pk"):
            rows[(entity, obj.pk)] = obj
    return rows


def _check_undo(
    mg: Merge, ops: list[dict[str, Any]], rows: dict[tuple[str, int], Model], s: Person, m: Person
) -> None:
    """Refuse the undo (before anything is written) if a restored record has moved since."""
    prefix = f"cannot undo merge #{mg.pk}: "
    for op in ops:
        if op.get("lenient"):
            continue
        entity, pk = op["entity"], int(op["id"])
        obj = rows.get((entity, pk))
        if obj is None:
            raise UnmergeError(prefix + f"{entity} #{pk} is gone")
        for attname, (_, after) in op["changes"].items():
            if attname == "deleted_at":
                continue
            now = jsonable(getattr(obj, attname))
            if now != after:
                raise UnmergeError(
                    prefix
                    + f"{_describe(entity, obj)} has changed since ({attname} is now {now!r}, the merge "
                    f"set {after!r}); nothing was changed"
                )
    # One active household per person once restored: simulate the memberships of both records.
    state = {
        x.pk: (x.person_id, x.end_date, x.household_id)
        for x in Membership.live.filter(person_id__in=[s.pk, m.pk])
    }
    for op in ops:
        if op["entity"] == "membership":
            x = rows[("membership", int(op["id"]))]
            pid, end, hh = state.get(x.pk, (x.person_id, x.end_date, x.household_id))  # type: ignore[attr-defined]
            ch = op["changes"]
            state[x.pk] = (
                ch["person_id"][0] if "person_id" in ch else pid,
                ch["end_date"][0] if "end_date" in ch else end,
                hh,
            )
    for p in (s, m):
        active = sorted({hh for pid, end, hh in state.values() if pid == p.pk and end is None})
        if len(active) > 1:
            names = ", ".join(Household.objects.get(pk=h).registry_id for h in active)
            raise UnmergeError(
                prefix + f"{p.registry_id} would be an active member of households {names} at once; end one "
                "of those memberships first; nothing was changed"
            )
    for op in ops:
        if op["entity"] == "identifier" and "is_deleted" in op["changes"]:
            i = rows[("identifier", int(op["id"]))]
            clash = ExternalIdentifier.live.filter(
                country=i.country,  # type: ignore[attr-defined]
                id_type=i.id_type,  # type: ignore[attr-defined]
                value=i.value,  # type: ignore[attr-defined]
            ).exclude(pk=i.pk)
            if clash.exists():
                raise UnmergeError(prefix + f"identifier {i} is held by another record now")


def _describe(entity: str, obj: Model) -> str:
    if isinstance(obj, Household):
        return f"household {obj.registry_id}"
    if isinstance(obj, Membership):
        return f"membership #{obj.pk} (household {obj.household.registry_id})"
    if isinstance(obj, Person):
        return f"person {obj.registry_id}"
    return f"{entity} {obj}"


# --- intake conflicts -------------------------------------------------------------------------


@transaction.atomic
def record_conflict(
    person: Person | int,
    other: Person | int,
    *,
    kind: str,
    reason: str,
    details: dict[str, Any] | None = None,
    changeset: ChangeSet | None = None,
    actor_name: str = "system",
    channel: str = "SYSTEM",
) -> MatchCandidate:
    """Send two records to review because of an exact conflict (``ID_CONFLICT``, ``ACTIVE_ELSEWHERE``).

    The pair is stored in key order; if it is already open for review, that candidate is
    returned unchanged. ``reason`` is what the reviewer reads (for example "CNIE AB123456
    is already held by person X in household Y"); ``details`` adds ``id_type``, ``value``...
    Bulk imports write the same candidates set-based with each chunk
    (:mod:`sijill.identity.intake`).
    """
    if kind not in (MatchCandidate.ID_CONFLICT, MatchCandidate.ACTIVE_ELSEWHERE):
        raise IdentityError(f"an intake conflict is ID_CONFLICT or ACTIVE_ELSEWHERE, not {kind!r}")
    reason = _required(reason, "the conflict's reason")
    a, b = sorted((_pk(person), _pk(other)))
    if a == b:
        raise IdentityError("a conflict needs two different records")
    open_ = MatchCandidate.objects.filter(person_a_id=a, person_b_id=b, status=MatchCandidate.PENDING).first()
    if open_ is not None:
        return open_
    cs = changeset or open_changeset(actor_name=actor_name, channel=channel, reason=reason)
    return MatchCandidate.objects.create(
        person_a_id=a,
        person_b_id=b,
        kind=kind,
        details={**(details or {}), "reason": reason},
        created_at=cs.at,
        created_changeset=cs,
    )
