"""Recompute a household's score and programme decisions whenever it changes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.dispatch import receiver

from sijill.registry.signals import household_changed


@receiver(household_changed, dispatch_uid="targeting.rescore_on_change")
def rescore_on_change(
    sender: Any, household: Any, actor_name: str = "system", reason: str = "", **_: Any
) -> None:
    if not getattr(settings, "SIJILL_RESCORE_ON_CHANGE", True):
        return
    from sijill.targeting.services import rescore_household

    rescore_household(
        household, actor_name=actor_name, reason=f"household changed: {reason}" if reason else ""
    )
