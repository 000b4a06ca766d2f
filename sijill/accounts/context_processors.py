"""Template context for every page: the account's role and the menu it may use."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from sijill.accounts.permissions import menu_for
from sijill.accounts.selectors import role_of


def staff(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    role = role_of(user) if user is not None else None
    match = getattr(request, "resolver_match", None)
    current = match.view_name if match is not None else ""
    menu = [{"item": m, "current": m.is_current(current)} for m in menu_for(role)]
    return {"staff_role": role, "staff_menu": menu}
