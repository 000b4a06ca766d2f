"""Reads for the staff forms: the communes an account may register in, and the requested
changes (maker-checker) with their values before and after, in words."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from sijill.countries import get_profile
from sijill.registry.models import AdminArea, ChangeRequest, Household, Person


def _area_q(paths: list[str], field: str) -> Q:
    q = Q(pk__in=[])
    for p in paths:
        q |= Q(**{field: p}) | Q(**{f"{field}__startswith": p + "/"})
    return q


def communes_for(area_paths: list[str] | None) -> list[AdminArea]:
    """Areas of the lowest level (communes) under the account's areas (None: the whole country)."""
    profile = get_profile(settings.SIJILL_COUNTRY)
    qs = AdminArea.objects.filter(country=profile.code, level=profile.lowest_level)
    if area_paths is not None:
        qs = qs.filter(_area_q(area_paths, "path"))
    return list(qs.order_by("path"))


def change_requests(area_paths: list[str] | None, status: str | None) -> QuerySet[ChangeRequest]:
    """Change requests of households in the areas (None: everywhere), newest first."""
    qs = ChangeRequest.objects.select_related("household", "requested_by", "decided_by")
    if area_paths is not None:
        qs = qs.filter(_area_q(area_paths, "household__area_path"))
    if status:
        qs = qs.filter(status=status)
    order = "created_at" if status == ChangeRequest.PENDING else "-created_at"
    return qs.order_by(order, "pk")


def pending_for(household: Household) -> list[ChangeRequest]:
    return list(
        ChangeRequest.objects.filter(household=household, status=ChangeRequest.PENDING)
        .select_related("requested_by")
        .order_by("created_at")
    )


STATUS_LABELS: dict[str, Promise] = {
    ChangeRequest.PENDING: _("Pending"),
    ChangeRequest.APPROVED: _("Approved"),
    ChangeRequest.REJECTED: _("Rejected"),
}
KIND_LABELS: dict[str, Promise] = {
    ChangeRequest.KIND_BIRTH: _("A birth"),
    ChangeRequest.KIND_ADDRESS: _("A new address"),
    ChangeRequest.KIND_SCHOOLING: _("A child's schooling"),
    ChangeRequest.KIND_PERSON: _("A member's identity"),
    ChangeRequest.KIND_AREA: _("The household's area"),
    ChangeRequest.KIND_ADD_MEMBER: _("A new member"),
    ChangeRequest.KIND_REMOVE_MEMBER: _("A member leaves"),
    ChangeRequest.KIND_HEAD: _("A new head of household"),
}
FIELD_LABELS: dict[str, Promise] = {
    "person": _("Person"),
    "given_name_lat": _("Given name (Latin script)"),
    "family_name_lat": _("Family name (Latin script)"),
    "given_name_ar": _("Given name (Arabic script)"),
    "family_name_ar": _("Family name (Arabic script)"),
    "sex": _("Sex"),
    "birth_date": _("Date of birth"),
    "id_type": _("Identity document"),
    "id_value": _("Document number"),
    "relationship": _("Relationship to the head"),
    "area_code": _("Commune"),
    "milieu": _("Setting"),
    "address": _("Address"),
    "in_school": _("Goes to school"),
    "school_level": _("School level"),
    "school_sector": _("Public or private school"),
    "education_level": _("Education level"),
    "occupation": _("Occupation"),
    "health_coverage": _("Health coverage"),
    "disability_type": _("Disability"),
    "disability_severity": _("Severity of the disability"),
    "end_date": _("Left the household on"),
    "end_reason": _("Why the person left"),
    "start_date": _("Member since"),
}
CODE_FIELDS = {
    "sex": "sex",
    "relationship": "relationship",
    "school_level": "school_level",
    "school_sector": "school_sector",
    "education_level": "education_level",
    "occupation": "occupation",
    "health_coverage": "health_coverage",
    "disability_type": "disability_type",
    "disability_severity": "disability_severity",
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def _lang() -> str:
    return (get_language() or settings.LANGUAGE_CODE).split("-")[0]


def value_text(field: str, value: Any) -> str:
    """A stored value in words, in the active language."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or field == "in_school":
        yes = value in (True, "1", "true", "True")
        return str(_("Yes") if yes else _("No"))
    if field == "milieu":
        return str({"U": _("Urban"), "R": _("Rural")}.get(str(value), value))
    if field == "area_code":
        a = AdminArea.objects.filter(code=value).first()
        if a is None:
            return str(value)
        return (a.name_ar if _lang() == "ar" and a.name_ar else a.name_fr) or str(value)
    if field == "id_type":
        t = get_profile(settings.SIJILL_COUNTRY).id_types.get(str(value))
        if t is not None:
            return str(t.label.get(_lang()) or t.label.get("fr") or value)
    if field in CODE_FIELDS:
        labels = (
            get_profile(settings.SIJILL_COUNTRY).enum_labels.get(CODE_FIELDS[field], {}).get(str(value), {})
        )
        return str(labels.get(_lang()) or labels.get("fr") or value)
    if field == "end_reason":
        from sijill.registry.forms import END_REASONS

        return str(dict(END_REASONS).get(str(value), value))
    return str(value)


def _current_before(cr: ChangeRequest) -> dict[str, Any]:
    """For requests filed without a ``before`` (the citizen portal): the values now."""
    hh = cr.household
    if cr.kind == ChangeRequest.KIND_ADDRESS:
        return {"address": hh.address}
    if cr.kind == ChangeRequest.KIND_SCHOOLING:
        p = Person.objects.filter(registry_id=cr.payload.get("person"), registry_id__isnull=False).first()
        if p is not None:
            return {"person": p.registry_id, "in_school": p.in_school, "school_level": p.school_level,
                    "school_sector": p.school_sector}  # fmt: skip
    return {}


def side_by_side(cr: ChangeRequest) -> list[dict[str, Any]]:
    """Rows of (field label, before, after, differs) for the detail page."""
    before = cr.before or (_current_before(cr) if cr.status == ChangeRequest.PENDING else {})
    if cr.kind == ChangeRequest.KIND_HEAD:
        return _head_rows(before.get("relationships", {}), cr.payload.get("relationships", {}))
    after = dict(cr.payload)
    if cr.kind == ChangeRequest.KIND_REMOVE_MEMBER:
        # The person stays as they are: show who leaves, and when and why.
        keys = ["person", "given_name_lat", "family_name_lat", "given_name_ar", "family_name_ar", "birth_date",
                "relationship", "start_date", "end_date", "end_reason"]  # fmt: skip
        after = {
            "person": before.get("person"),
            "end_date": after.get("end_date"),
            "end_reason": after.get("end_reason"),
        }
    else:
        keys = list(dict.fromkeys([*after.keys()]))
    rows = []
    new_member = cr.kind in (ChangeRequest.KIND_BIRTH, ChangeRequest.KIND_ADD_MEMBER)
    for k in keys:
        if k == "person" and cr.kind != ChangeRequest.KIND_REMOVE_MEMBER:
            continue
        b = None if new_member else before.get(k)
        a = after.get(k) if (k in after or cr.kind != ChangeRequest.KIND_REMOVE_MEMBER) else None
        if cr.kind == ChangeRequest.KIND_REMOVE_MEMBER and k not in ("end_date", "end_reason"):
            a = b
        rows.append(
            {
                "field": k,
                "label": str(FIELD_LABELS.get(k, k.replace("_", " "))),
                "before": value_text(k, b),
                "after": value_text(k, a),
                "differs": value_text(k, b) != value_text(k, a),
                "script": "ar" if k.endswith("_ar") else ("fr" if k.endswith("_lat") else ""),
            }
        )
    return rows


def person_of(cr: ChangeRequest) -> Person | None:
    rid = cr.payload.get("person") or (cr.before or {}).get("person")
    return Person.objects.filter(registry_id=rid).first() if rid else None


def _head_rows(before: dict[str, str], after: dict[str, str]) -> list[dict[str, Any]]:
    """One row per member: their relationship to the head, before and after."""
    persons = {p.registry_id: p for p in Person.objects.filter(registry_id__in=list({*before, *after}))}
    rows = []
    for rid in dict.fromkeys([*before, *after]):
        p = persons.get(rid)
        name = (
            (f"{p.given_name_lat} {p.family_name_lat}".strip() or f"{p.given_name_ar} {p.family_name_ar}")
            if p
            else rid
        )
        b, a = value_text("relationship", before.get(rid)), value_text("relationship", after.get(rid))
        rows.append(
            {
                "field": rid,
                "label": f"{name} ({rid})",
                "before": b,
                "after": a,
                "differs": a != b,
                "script": "",
            }
        )
    return rows
