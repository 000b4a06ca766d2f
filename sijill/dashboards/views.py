"""Dashboard pages: thin views over :mod:`sijill.dashboards.selectors` (figures),
:mod:`sijill.dashboards.figures` (tables and charts) and :mod:`sijill.dashboards.simulator`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language_bidi

from sijill.accounts.access import capability_required
from sijill.accounts.permissions import Cap
from sijill.accounts.selectors import area_paths_of, scope_households
from sijill.dashboards import figures, simulator
from sijill.dashboards.selectors import BREAKDOWNS
from sijill.dashboards.tables import csv_response
from sijill.registry.models import Household


@capability_required(Cap.VIEW_STATISTICS)
def statistics(request: HttpRequest) -> HttpResponse:
    """Registry, programme and targeting figures for the account's areas; ``?download=<table>``
    gives one figure's numbers as CSV."""
    by = request.GET.get("by", "region")
    if by not in BREAKDOWNS:
        by = "region"
    households = scope_households(Household.live.all(), request.user)
    country = settings.SIJILL_COUNTRY
    rtl = get_language_bidi()
    download = request.GET.get("download")
    builders = {
        "registered": lambda: figures.registered(households),
        "scores": lambda: figures.scores(households, country, timezone.localdate()),
        "programmes": lambda: figures.programme_totals(households, country),
        "breakdown": lambda: figures.programme_breakdown(households, country, by),
        "targeting": lambda: figures.targeting(households, country, timezone.localdate()),
    }
    if download is not None:
        if download not in builders:
            raise Http404
        fig = builders[download]()
        if fig is None:
            raise Http404
        return csv_response(fig.table, f"sijill-{download}" + (f"-{by}" if download == "breakdown" else ""))
    context: dict[str, Any] = {name: build() for name, build in builders.items()}
    for fig in context.values():
        if fig is not None:
            fig.draw(rtl)
    context.update(
        {
            "by": by,
            "breakdowns": figures.breakdown_choices(),
            "national": area_paths_of(request.user) is None,
            "totals": figures.registered_totals(context["registered"].table),
            "truth_setting": "SIJILL_TRUTH_FILE",
        }
    )
    return render(request, "dashboards/statistics.html", context)


@capability_required(Cap.RUN_SIMULATIONS)
def simulate(request: HttpRequest) -> HttpResponse:
    """The policy simulator: the form of editable parameters; with ``run``, current against changed
    law. ``?download=programmes|regions`` gives a result table as CSV."""
    country = settings.SIJILL_COUNTRY
    as_of = timezone.localdate()
    national = area_paths_of(request.user) is None
    params = simulator.editable_parameters(country, as_of)
    form = simulator.form_for(params, request.GET if "run" in request.GET else None)
    result = None
    error = None
    if national and form.is_bound and form.is_valid():
        try:
            result = simulator.run(country, as_of, params, form.cleaned_data)
        except simulator.SimulatorError as exc:
            error = str(exc)
    download = request.GET.get("download")
    if download is not None:
        if result is None or download not in ("programmes", "regions", "targeting"):
            raise Http404
        fig = result.figure(download)
        if fig is None:
            raise Http404
        return csv_response(fig.table, f"sijill-simulation-{download}")
    if result is not None:
        result.draw(get_language_bidi())
    context = {
        "form": form,
        "groups": simulator.grouped_fields(country, form, params),
        "result": result,
        "error": error,
        "national": national,
        "as_of": as_of,
        "query": request.GET.urlencode() if result is not None else "",
    }
    template = (
        "dashboards/_simulator_body.html"
        if request.headers.get("HX-Request")
        else "dashboards/simulator.html"
    )
    return render(request, template, context)
