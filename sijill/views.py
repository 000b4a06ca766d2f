"""Top-level pages: the staff dashboard and the health check."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from sijill.accounts import selectors as staff
from sijill.accounts.permissions import ROLE_DESCRIPTIONS, Cap, menu_for
from sijill.registry.models import Household


def home(request: HttpRequest) -> HttpResponse:
    """The dashboard: what the account's role can do, with links to the pages it may use."""
    role = staff.role_of(request.user)
    context: dict[str, Any] = {
        "role": role,
        "role_description": ROLE_DESCRIPTIONS.get(role) if role else None,
        "cards": [m for m in menu_for(role) if m.url_name != "home"],
        "national": role is not None and staff.area_paths_of(request.user) is None,
        "areas": staff.areas_of(request.user),
        "households": None,
    }
    if staff.user_can(request.user, Cap.VIEW_HOUSEHOLDS) or staff.user_can(request.user, Cap.VIEW_STATISTICS):
        context["households"] = staff.scope_households(Household.live.all(), request.user).count()
    return render(request, "home.html", context)


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
