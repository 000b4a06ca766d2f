"""The citizen session: one household, kept in the Django session, separate from staff logins.

No Django user is created for a citizen. After a right code the session key is changed
(against session fixation) and the session holds the household's id, when the code was
entered and when the citizen was last seen. The citizen session ends after
``SIJILL_PORTAL_IDLE_MINUTES`` without a request, ``SIJILL_PORTAL_MAX_MINUTES`` after the
code, on "leave", and when the browser closes (the session cookie's own rule).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from sijill.registry.models import Household

CITIZEN = "sijill_portal"
CHALLENGE = "sijill_portal_challenge"

V = TypeVar("V", bound=Callable[..., HttpResponseBase])


def start(request: HttpRequest, household: Household) -> None:
    request.session.pop(CHALLENGE, None)
    request.session.cycle_key()
    now = timezone.now().isoformat()
    request.session[CITIZEN] = {"household": household.pk, "since": now, "seen": now}


def end(request: HttpRequest) -> None:
    had = request.session.pop(CITIZEN, None) is not None
    request.session.pop(CHALLENGE, None)
    if had:
        request.session.cycle_key()


def household_of(request: HttpRequest) -> Household | None:
    """The household of a live citizen session (and mark the citizen as seen), else None."""
    data = request.session.get(CITIZEN)
    if not data:
        return None
    now = timezone.now()
    since, seen = dt.datetime.fromisoformat(data["since"]), dt.datetime.fromisoformat(data["seen"])
    idle = dt.timedelta(minutes=settings.SIJILL_PORTAL_IDLE_MINUTES)
    longest = dt.timedelta(minutes=settings.SIJILL_PORTAL_MAX_MINUTES)
    household = Household.live.select_related("area").filter(pk=data["household"]).first()
    if household is None or now - seen > idle or now - since > longest:
        end(request)
        return None
    request.session[CITIZEN] = {**data, "seen": now.isoformat()}
    return household


def citizen_required(view: V) -> V:
    """A page of the household: open to a verified citizen session only, otherwise back to
    /portal/ (staff accounts included: a staff login opens no household here)."""

    @login_not_required
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        had_session = CITIZEN in request.session
        household = household_of(request)
        if household is None:
            if had_session:
                messages.info(request, _("Your session has ended. Ask for a new code to continue."))
            return redirect("portal:start")
        request.citizen_household = household  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return guarded  # type: ignore[return-value]
