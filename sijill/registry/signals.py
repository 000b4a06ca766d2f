"""Signals the registry sends, so later rooms of the delivery chain react without the
registry knowing them.

``household_changed`` is sent inside the transaction of every write service (register,
update, member change, delete), after the change is saved: receivers see the new state,
and if a receiver fails the whole change is rolled back. The targeting room uses it to
recompute the household's score and programme decisions in the same request.
"""

from __future__ import annotations

from django.dispatch import Signal

# kwargs: household (Household), actor_name (str), reason (str)
household_changed = Signal()
