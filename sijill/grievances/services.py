"""Writes of the grievances room."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from sijill.grievances.models import Category, Grievance
from sijill.registry.models import Household

# Crockford's base 32: no I, L, O, U (nothing to misread when read out over the phone).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DESCRIPTION_MAX = 2000


def new_reference(year: int) -> str:
    return f"G{year}-" + "".join(secrets.choice(ALPHABET) for _ in range(8))


def file_grievance(
    household: Household,
    *,
    category: str,
    description: str,
    contact_phone: str = "",
    channel: str = Grievance.CHANNEL_PORTAL,
) -> Grievance:
    """Record a complaint about ``household``; it is OPEN, with a fresh reference."""
    if category not in Category.values:
        raise ValueError(f"unknown grievance category {category!r}")
    description = description.strip()
    if not description or len(description) > DESCRIPTION_MAX:
        raise ValueError(f"a description of 1 to {DESCRIPTION_MAX} characters is required")
    now = timezone.now()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Grievance.objects.create(
                    reference=new_reference(timezone.localdate(now).year), household=household,
                    category=category, description=description, contact_phone=contact_phone,
                    channel=channel, created_at=now,
                )  # fmt: skip
        except IntegrityError:  # the same reference drawn twice: 1 in 32**8
            continue
    raise RuntimeError("could not draw a free grievance reference")
