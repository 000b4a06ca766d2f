"""Writes about staff accounts: create them, set their role and areas, record failed logins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sijill.accounts.models import LoginFailure, StaffProfile
from sijill.accounts.permissions import Role
from sijill.accounts.selectors import normalise_username
from sijill.registry.models import AdminArea


class StaffAccountError(ValueError):
    """A staff account cannot be created or changed as asked."""


def parse_role(value: str | Role) -> Role:
    key = str(value).strip().upper().replace("-", "_")
    try:
        return Role(key)
    except ValueError:
        raise StaffAccountError(
            f"unknown role '{value}': one of {', '.join(r.value for r in Role)}"
        ) from None


def _areas(codes: Iterable[str]) -> list[AdminArea]:
    wanted = [c.strip() for c in codes if c.strip()]
    found = {a.code: a for a in AdminArea.objects.filter(code__in=wanted)}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise StaffAccountError(f"unknown area code(s): {', '.join(missing)}")
    return [found[c] for c in dict.fromkeys(wanted)]


@transaction.atomic
def set_staff_role(
    user: Any, role: Role | str, area_codes: Iterable[str] = (), national: bool | None = None
) -> StaffProfile:
    """Give ``user`` a role and areas. ``national=None``: national if no area is given and the
    role is ADMIN. A non-national account needs at least one area. The ADMIN role (and only it)
    opens the Django admin (``is_staff``/``is_superuser``)."""
    role = parse_role(role)
    areas = _areas(area_codes)
    if national is None:
        national = not areas and role == Role.ADMIN
    if national and areas:
        raise StaffAccountError("a national account takes no --area")
    if not national and not areas:
        raise StaffAccountError("give at least one --area, or --national")
    profile, _ = StaffProfile.objects.update_or_create(
        user=user, defaults={"role": role.value, "is_national": national}
    )
    profile.areas.set(areas)
    is_admin = role == Role.ADMIN
    if user.is_staff != is_admin or user.is_superuser != is_admin:
        user.is_staff = user.is_superuser = is_admin
        user.save(update_fields=["is_staff", "is_superuser"])
    if hasattr(user, "_sijill_area_paths"):
        del user._sijill_area_paths
    return profile


@transaction.atomic
def create_staff_user(
    username: str,
    password: str,
    role: Role | str,
    area_codes: Iterable[str] = (),
    national: bool | None = None,
    email: str = "",
    check_password: bool = True,
) -> Any:
    """Create an account with a role and areas. The password must pass the site's validators
    unless ``check_password`` is false (demo accounts)."""
    User = get_user_model()
    username = username.strip()
    if not username:
        raise StaffAccountError("the username is empty")
    if User.objects.filter(username=username).exists():
        raise StaffAccountError(f"an account '{username}' already exists")
    role = parse_role(role)
    user = User(username=username, email=email)
    if check_password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise StaffAccountError("; ".join(exc.messages)) from None
    user.set_password(password)
    user.save()
    set_staff_role(user, role, area_codes, national)
    return user


def record_login_failure(username: str, ip: str, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    # Forget failures older than a day (the throttle never looks that far back).
    LoginFailure.objects.filter(at__lt=now - dt.timedelta(days=1)).delete()
    LoginFailure.objects.create(username=normalise_username(username), ip=ip, at=now)


def clear_login_failures(username: str, ip: str) -> None:
    LoginFailure.objects.filter(username=normalise_username(username), ip=ip).delete()
