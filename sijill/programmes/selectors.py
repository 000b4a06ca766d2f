"""Reads of programme decisions: a household's current decisions (totals: sijill.dashboards.selectors)."""

from __future__ import annotations

from typing import Any

from sijill.programmes.models import Decision, Programme
from sijill.registry.models import Household


def current_decisions(household: Household) -> list[dict[str, Any]]:
    """The household's current decision for each programme, with the programme."""
    programmes = {p.code: p for p in Programme.objects.filter(country=household.country)}
    out = []
    for d in Decision.objects.filter(household=household, is_current=True).order_by("programme"):
        out.append({"decision": d, "programme": programmes.get(d.programme)})
    return out
