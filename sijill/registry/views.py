"""Staff pages of the registry: households (area-scoped), a household, its history.

Statistics are in :mod:`sijill.dashboards`.

Every read goes through :func:`sijill.accounts.selectors.scope_households`, so a household
outside the account's areas is a 404 like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy

from sijill.accounts.access import capability_required
from sijill.accounts.permissions import Cap
from sijill.accounts.selectors import area_paths_of, scope_households, user_can
from sijill.identity import selectors as identity_selectors
from sijill.programmes import selectors as programme_selectors
from sijill.registry import change_selectors, selectors
from sijill.registry.models import Household
from sijill.registry.search import find_households
from sijill.targeting import selectors as targeting_selectors

PAGE_SIZE = 25


def _household(request: HttpRequest, registry_id: str) -> Household:
    qs = scope_households(Household.live.select_related("area"), request.user)
    # registry_id__isnull=False: SQLite uses the partial unique index only when the query states its condition.
    return get_object_or_404(qs, registry_id=registry_id, registry_id__isnull=False)


@capability_required(Cap.VIEW_HOUSEHOLDS)
def household_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:64]
    scoped = scope_households(Household.objects.all(), request.user)
    result = None
    page: Page[Any]
    if q.strip():
        result = find_households(scoped, q, area_paths=area_paths_of(request.user))
        page = Paginator(result.hits, PAGE_SIZE).get_page(request.GET.get("page"))
    else:
        page = Paginator(selectors.search_households(scoped), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "q": q, "result": result}
    if request.headers.get("HX-Request"):
        return render(request, "registry/_household_results.html", context)
    return render(request, "registry/household_list.html", context)


# Decision.reason_code in words; Decision.reason itself is the rules' own English text.
REASON_LABELS = {
    "FIRST": gettext_lazy("First assessment"),
    "SCORE_CROSSED": gettext_lazy("The score crossed the threshold"),
    "CONDITIONS": gettext_lazy("Other eligibility conditions changed"),
    "AMOUNT": gettext_lazy("The amount changed"),
    "RULES": gettext_lazy("The rules or the model changed"),
    "EXITED": gettext_lazy("The household left the registry"),
}


@capability_required(Cap.VIEW_HOUSEHOLDS)
def household_detail(request: HttpRequest, registry_id: str) -> HttpResponse:
    household = _household(request, registry_id)
    can_see_history = user_can(request.user, Cap.VIEW_HISTORY)
    assessment = targeting_selectors.current_assessment(household.pk)
    lang = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    decisions = programme_selectors.current_decisions(household)
    for row in decisions:
        row["reason_label"] = REASON_LABELS.get(row["decision"].reason_code, row["decision"].reason_code)
    return render(
        request,
        "registry/household_detail.html",
        {
            "household": household,
            "members": selectors.current_members(household),
            "decisions": decisions,
            "assessment": assessment,
            "explanation": targeting_selectors.explain(assessment, lang) if assessment is not None else None,
            "merged_records": identity_selectors.household_merges(household),
            "can_see_history": can_see_history,
            "can_see_duplicates": user_can(request.user, Cap.VIEW_DUPLICATES),
            "pending_changes": change_selectors.pending_for(household)
            if user_can(request.user, Cap.VIEW_CHANGES)
            else None,
            "can_edit": user_can(request.user, Cap.EDIT_HOUSEHOLDS),
            "events": selectors.household_timeline(household) if can_see_history else None,
        },
    )


@capability_required(Cap.VIEW_HOUSEHOLDS)
def household_entitlements(request: HttpRequest, registry_id: str) -> HttpResponse:
    """Each programme's amount taken apart by the rules (loaded into the household page by htmx;
    a page of its own without JavaScript)."""
    household = _household(request, registry_id)
    lang = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    found = targeting_selectors.entitlements(household, lang)
    context = {
        "household": household,
        "paying": [e for e in found if e.eligible and e.total],
        "today": timezone.localdate(),
    }
    if request.headers.get("HX-Request"):
        return render(request, "registry/_entitlements.html", context)
    return render(request, "registry/household_entitlements.html", context)


@capability_required(Cap.VIEW_HISTORY)
def household_history(request: HttpRequest, registry_id: str) -> HttpResponse:
    household = _household(request, registry_id)
    return render(
        request,
        "registry/household_history.html",
        {"household": household, "events": selectors.household_timeline(household)},
    )
