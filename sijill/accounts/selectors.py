"""Reads about staff accounts: role, area scope, login throttling state.

:func:`scope_households` is the one place that limits a Household queryset to the areas
an account may see. Every view that reads households goes through it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from sijill.accounts.models import LoginFailure, StaffProfile
from sijill.accounts.permissions import Cap, Role, role_can
from sijill.registry.models import AdminArea, Household


def profile_of(user: Any) -> StaffProfile | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        profile: StaffProfile = user.staff_profile
    except StaffProfile.DoesNotExist:
        return None
    return profile


def role_of(user: Any) -> Role | None:
    """The account's role. A superuser without a profile (``createsuperuser``) is ADMIN."""
    profile = profile_of(user)
    if profile is not None:
        return Role(profile.role)
    if getattr(user, "is_authenticated", False) and user.is_superuser:
        return Role.ADMIN
    return None


def user_can(user: Any, cap: Cap) -> bool:
    return role_can(role_of(user), cap)


def area_paths_of(user: Any) -> list[str] | None:
    """Paths of the areas the account works in; ``None`` means the whole country.

    An account without a role, or limited to no area, gets an empty list: it sees nothing.
    Cached on the user object for the rest of the request.
    """
    if hasattr(user, "_sijill_area_paths"):
        cached: list[str] | None = user._sijill_area_paths
        return cached
    profile = profile_of(user)
    paths: list[str] | None
    if profile is None:
        paths = None if role_of(user) == Role.ADMIN else []
    elif profile.is_national:
        paths = None
    else:
        paths = sorted(profile.areas.values_list("path", flat=True))
    if getattr(user, "is_authenticated", False):
        user._sijill_area_paths = paths
    return paths


def area_q(paths: list[str], field: str = "area_path") -> Q:
    """Rows whose ``field`` is one of ``paths`` or lies below one of them."""
    q = Q(pk__in=[])  # no path: no row
    for p in paths:
        q |= Q(**{field: p}) | Q(**{f"{field}__startswith": p + "/"})
    return q


def scope_households(qs: QuerySet[Household], user: Any) -> QuerySet[Household]:
    """Limit a Household queryset to the account's areas (nothing for an account without a role)."""
    if role_of(user) is None:
        return qs.none()
    paths = area_paths_of(user)
    if paths is None:
        return qs
    if not paths:
        return qs.none()
    return qs.filter(area_q(paths))


def areas_of(user: Any) -> list[AdminArea]:
    profile = profile_of(user)
    if profile is None:
        return []
    return list(profile.areas.order_by("path"))


def login_locked_until(username: str, ip: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the (username, address) pair may try again, or None if it is not locked.

    Locked once ``SIJILL_LOGIN_MAX_FAILURES`` failures fall within
    ``SIJILL_LOGIN_WINDOW_MINUTES``; the lock lasts ``SIJILL_LOGIN_LOCK_MINUTES`` from the
    failure that completed the series. Attempts refused while locked are not failures.
    """
    now = now or timezone.now()
    n = settings.SIJILL_LOGIN_MAX_FAILURES
    window = dt.timedelta(minutes=settings.SIJILL_LOGIN_WINDOW_MINUTES)
    lock = dt.timedelta(minutes=settings.SIJILL_LOGIN_LOCK_MINUTES)
    recent = list(
        LoginFailure.objects.filter(username=normalise_username(username), ip=ip, at__gt=now - window - lock)
        .order_by("-at")
        .values_list("at", flat=True)[:n]
    )
    if len(recent) < n or recent[0] - recent[-1] > window:
        return None
    until = recent[0] + lock
    return until if until > now else None


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()[:150]


def staff_accounts() -> list[dict[str, Any]]:
    """Every account with its role and areas, for ``sijill users list``."""
    from django.contrib.auth import get_user_model

    rows = []
    users = get_user_model().objects.order_by("username").select_related("staff_profile")
    for u in users:
        profile = profile_of(u)
        role = role_of(u)
        if profile is not None and not profile.is_national:
            areas = [a.code for a in profile.areas.order_by("path")]
        else:
            areas = ["national"] if role else []
        rows.append(
            {
                "username": u.get_username(),
                "role": role.value if role else "",
                "areas": areas,
                "active": u.is_active,
                "admin_site": u.is_staff,
                "last_login": u.last_login.isoformat() if u.last_login else None,
            }
        )
    return rows
