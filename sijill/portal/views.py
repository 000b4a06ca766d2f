"""The citizen portal's pages. Public (``@login_not_required``): anyone may ask for a code;
the household's pages need a verified citizen session (:func:`session.citizen_required`).
A staff login is neither needed nor used here."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sijill.accounts.forms import client_ip
from sijill.grievances.services import file_grievance
from sijill.portal import forms, selectors, services, session
from sijill.registry.models import ChangeRequest, Household
from sijill.registry.services import RegistryValidationError, submit_change_request


def _lang() -> str:
    return (get_language() or settings.LANGUAGE_CODE).split("-")[0]


def _household(request: HttpRequest) -> Household:
    return request.citizen_household  # type: ignore[attr-defined,no-any-return]


@login_not_required
def start(request: HttpRequest) -> HttpResponseBase:
    """Ask for a code: a registry number or an identity number."""
    if request.method == "POST":
        form = forms.IdentifierForm(request.POST)
        if form.is_valid():
            try:
                challenge = services.request_code(form.cleaned_data["identifier"], client_ip(request))
            except services.Throttled:
                form.add_error(None, _("Too many codes were asked for. Please try again in an hour."))
            else:
                session.end(request)
                request.session[session.CHALLENGE] = challenge.pk
                return redirect("portal:verify")
    else:
        form = forms.IdentifierForm()
    return render(
        request, "portal/start.html", {"form": form, "signed_in": session.CITIZEN in request.session}
    )


@login_not_required
def verify(request: HttpRequest) -> HttpResponseBase:
    """Enter the code. Only after a code request (else back to the start)."""
    challenge_id = request.session.get(session.CHALLENGE)
    if challenge_id is None:
        return redirect("portal:start")
    dead = False
    if request.method == "POST":
        form = forms.CodeForm(request.POST)
        if form.is_valid():
            result = services.verify_code(challenge_id, form.cleaned_data["code"])
            if result.outcome is services.Outcome.OK:
                assert result.household is not None
                session.start(request, result.household)
                return redirect("portal:household")
            dead = result.outcome is not services.Outcome.WRONG
            form.add_error("code", _message(result))
    else:
        form = forms.CodeForm()
    return render(
        request,
        "portal/verify.html",
        {"form": form, "dead": dead, "minutes": settings.SIJILL_PORTAL_CODE_MINUTES},
    )


def _message(result: services.Verification) -> str:
    if result.outcome is services.Outcome.LOCKED:
        return _("Too many wrong codes: this code no longer works. Ask for a new code.")
    if result.outcome is services.Outcome.EXPIRED:
        return _("This code has expired or has already been used. Ask for a new code.")
    return ngettext(
        "This code is not right. You have %(n)d more try.",
        "This code is not right. You have %(n)d more tries.",
        result.remaining,
    ) % {"n": result.remaining}


@require_POST
@login_not_required
def leave(request: HttpRequest) -> HttpResponseBase:
    had = session.CITIZEN in request.session
    session.end(request)
    if had:
        messages.success(request, _("You have left your household's page."))
    return redirect("portal:start")


@session.citizen_required
def household(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/household.html", selectors.household_page(_household(request), _lang()))


DECLARATIONS: dict[str, dict[str, Any]] = {
    ChangeRequest.KIND_BIRTH: {"form": forms.BirthForm},
    ChangeRequest.KIND_ADDRESS: {"form": forms.AddressForm},
    ChangeRequest.KIND_SCHOOLING: {"form": forms.SchoolingForm},
}


def _declare(request: HttpRequest, kind: str) -> HttpResponse | HttpResponseBase:
    hh = _household(request)
    form_class = DECLARATIONS[kind]["form"]
    extra: dict[str, Any] = (
        {"children": selectors.children_choices(hh)} if kind == ChangeRequest.KIND_SCHOOLING else {}
    )
    if request.method == "POST":
        form = form_class(request.POST, **extra)
        if form.is_valid():
            try:
                submit_change_request(hh, kind, form.payload(), channel=ChangeRequest.CHANNEL_PORTAL)
            except RegistryValidationError as exc:
                for field in exc.errors:
                    name = field.split(".")[-1]
                    target = name if name in form.fields else None
                    form.add_error(
                        target, _("The registry cannot accept this value. Check it, or go to a centre.")
                    )
            else:
                messages.success(
                    request,
                    _(
                        "Your declaration was recorded. Staff will check it; nothing changes until they approve it."
                    ),
                )
                return redirect("portal:household")
    else:
        form = form_class(**extra)
    titles = {
        ChangeRequest.KIND_BIRTH: _("Declare a birth"),
        ChangeRequest.KIND_ADDRESS: _("Declare a new address"),
        ChangeRequest.KIND_SCHOOLING: _("Declare a child's schooling"),
    }
    return render(
        request,
        "portal/declare.html",
        {
            "form": form,
            "title": titles[kind],
            "kind": kind,
            "household": hh,
            "no_children": kind == ChangeRequest.KIND_SCHOOLING and not extra["children"],
        },
    )


@session.citizen_required
def declare_birth(request: HttpRequest) -> HttpResponseBase:
    return _declare(request, ChangeRequest.KIND_BIRTH)


@session.citizen_required
def declare_address(request: HttpRequest) -> HttpResponseBase:
    return _declare(request, ChangeRequest.KIND_ADDRESS)


@session.citizen_required
def declare_schooling(request: HttpRequest) -> HttpResponseBase:
    return _declare(request, ChangeRequest.KIND_SCHOOLING)


@session.citizen_required
def complaint(request: HttpRequest) -> HttpResponseBase:
    hh = _household(request)
    if request.method == "POST":
        form = forms.ComplaintForm(request.POST)
        if form.is_valid():
            g = file_grievance(
                hh,
                category=form.cleaned_data["category"],
                description=form.cleaned_data["description"],
                contact_phone=form.cleaned_data["contact_phone"],
            )
            messages.success(
                request,
                _("Your complaint was recorded. Its reference is %(ref)s: keep it to follow it up.")
                % {"ref": g.reference},
            )
            return redirect("portal:household")
    else:
        form = forms.ComplaintForm()
    return render(request, "portal/complaint.html", {"form": form, "household": hh})
