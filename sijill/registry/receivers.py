"""Keep the search keys of a household current whenever a write service changes it."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from sijill.registry.signals import household_changed


@receiver(household_changed, dispatch_uid="registry.search_keys_on_change")
def refresh_search_keys(sender: Any, household: Any, **_: Any) -> None:
    from sijill.registry import searchkeys

    searchkeys.refresh([household.pk])
