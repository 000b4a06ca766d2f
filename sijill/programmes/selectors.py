"""Reads of programme decisions: a household's current decisions, totals over households."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from sijill.programmes.models import Decision, Programme
from sijill.registry.models import Household


def current_decisions(household: Household) -> list[dict[str, Any]]:
    """The household's current decision for each programme, with the programme."""
    programmes = {p.code: p for p in Programme.objects.filter(country=household.country)}
    out = []
    for d in Decision.objects.filter(household=household, is_current=True).order_by("programme"):
        out.append({"decision": d, "programme": programmes.get(d.programme)})
    return out


def programme_totals(households: QuerySet[Household]) -> list[dict[str, Any]]:
    """For each programme: households currently eligible among ``households`` and their monthly total."""
    rows = (
        Decision.objects.filter(is_current=True, eligible=True, household__in=households.values("id"))
        .values("programme")
        .annotate(households=Count("id"), total=Sum("amount"))
        .order_by("programme")
    )
    programmes = {p.code: p for p in Programme.objects.all()}
    return [
        {
            "programme": programmes.get(r["programme"]),
            "code": r["programme"],
            "households": r["households"],
            "total": r["total"] if r["total"] is not None else Decimal("0"),
            "amount_kind": getattr(programmes.get(r["programme"]), "amount_kind", ""),
        }
        for r in rows
    ]
