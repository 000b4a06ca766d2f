"""Reads of the grievances room."""

from __future__ import annotations

from sijill.grievances.models import Grievance


def grievances_of(household_id: int) -> list[Grievance]:
    return list(Grievance.objects.filter(household_id=household_id).order_by("-created_at"))
