"""Top-level pages. The staff back office and citizen portal grow from here."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from sijill.countries import get_profile
from sijill.registry import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    profile = get_profile(settings.SIJILL_COUNTRY)
    return render(request, "home.html", {"stats": selectors.registry_stats(), "profile": profile})


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
