"""Staff pages that write to the registry: register a household, edit it, ask for a
sensitive change, and the queue of requested changes (maker-checker).

Views stay thin: forms carry what was typed, the write services (``services.py``,
``changes.py``) check it with the import's rules and write; their reasons are put back on
the fields in the user's language. Households are read through ``scope_households``, so a
household outside the account's areas is a 404.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sijill.accounts.access import capability_required
from sijill.accounts.permissions import Cap
from sijill.accounts.selectors import area_paths_of, scope_households, user_can
from sijill.registry import change_selectors as cs_selectors
from sijill.registry import changes, forms, services
from sijill.registry.models import ChangeRequest, Household
from sijill.registry.selectors import current_members

MAX_MEMBERS = 30


def _household(request: HttpRequest, registry_id: str) -> Household:
    qs = scope_households(Household.live.select_related("area"), request.user)
    # registry_id__isnull=False: SQLite uses the partial unique index only when the query states its condition.
    return get_object_or_404(qs, registry_id=registry_id, registry_id__isnull=False)


def _areas(request: HttpRequest) -> list[Any]:
    return cs_selectors.communes_for(area_paths_of(request.user))


def _token() -> str:
    return secrets.token_hex(4)


def _member_forms(request: HttpRequest, tokens: list[str]) -> list[tuple[str, forms.MemberForm]]:
    data = request.POST if request.method == "POST" else None
    return [(t, forms.MemberForm(data, prefix=f"m-{t}")) for t in tokens]


# --- Registration ----------------------------------------------------------------------------


@capability_required(Cap.EDIT_HOUSEHOLDS)
def register(request: HttpRequest) -> HttpResponseBase:
    """Register a household with its members, in one of the account's communes."""
    areas = _areas(request)
    conflict = False
    if request.method == "POST":
        tokens = [t for t in request.POST.getlist("member") if t.isalnum()][:MAX_MEMBERS]
        # Without JavaScript the add and remove buttons submit the whole form: show it again.
        if "add_member" in request.POST or "remove_member" in request.POST:
            if "add_member" in request.POST and len(tokens) < MAX_MEMBERS:
                tokens.append(_token())
            tokens = [t for t in tokens if t != request.POST.get("remove_member")]
            # Not submitted yet: shown again with what was typed, unchecked (no error to show).
            hform = forms.HouseholdForm(initial=_typed(request, ""), areas=areas)
            members = [
                (t, forms.MemberForm(prefix=f"m-{t}", initial=_typed(request, f"m-{t}-"))) for t in tokens
            ]
            return _render_register(request, hform, members, conflict)
        hform = forms.HouseholdForm(request.POST, areas=areas)
        members = _member_forms(request, tokens)
        valid = hform.is_valid() & all([f.is_valid() for _t, f in members])
        if not members:
            hform.add_error(None, _("Add at least one member."))
        elif valid:
            on_conflict = "review" if request.POST.get("id_checked") == "1" else "refuse"
            try:
                # The columns the import requires are always given, empty ones as None.
                hh = services.register_household(
                    {"area_code": None, "milieu": None, **hform.values()},
                    [
                        {"relationship": None, "sex": None, "birth_date": None, **f.values()}
                        for _t, f in members
                    ],
                    actor=request.user,
                    channel="CENTRE",
                    reason="registered on the web",
                    on_id_conflict=on_conflict,
                )
            except services.RegistryValidationError as exc:
                conflict = _spread_errors(exc.errors, hform, members)
            else:
                messages.success(
                    request,
                    _("Household registered. Its registry number is %(id)s.") % {"id": hh.registry_id},
                )
                return redirect("household", registry_id=hh.registry_id)
    else:
        hform = forms.HouseholdForm(areas=areas)
        token = _token()
        members = [(token, forms.MemberForm(prefix=f"m-{token}", initial={"relationship": "HEAD"}))]
    return _render_register(request, hform, members, conflict)


def _typed(request: HttpRequest, prefix: str) -> dict[str, str]:
    """What was posted under ``prefix`` (household fields: no prefix, no member field)."""
    return {
        k[len(prefix) :]: str(v)
        for k, v in request.POST.items()
        if k.startswith(prefix) and (prefix or not k.startswith("m-"))
    }


def _spread_errors(
    errors: dict[str, str], hform: forms.HouseholdForm, members: list[tuple[str, Any]]
) -> bool:
    """Household errors on the household's fields, ``person N.field`` on member N's row.
    Returns whether an identifier held by someone else was refused."""
    conflict = False
    for key, reason in errors.items():
        if key.startswith("person "):
            row, _dot, field = key[len("person ") :].partition(".")
            conflict |= "is already held by person" in reason
            if row.isdigit() and 1 <= int(row) <= len(members):
                forms.add_service_errors(members[int(row) - 1][1], {field: reason})
                continue
            forms.add_service_errors(hform, {"__all__": reason})
        else:
            forms.add_service_errors(hform, {key: reason})
    return conflict


def _render_register(
    request: HttpRequest, hform: Any, members: list[tuple[str, Any]], conflict: bool
) -> HttpResponse:
    member_errors = sum(1 for _t, f in members if f.is_bound and f.errors)
    return render(
        request,
        "registry/register.html",
        {
            "form": hform,
            "members": members,
            "conflict": conflict,
            "error_count": len(hform.errors) + member_errors if hform.is_bound else 0,
            "no_area": not hform.fields["area_code"].choices[1:],
        },
    )


@capability_required(Cap.EDIT_HOUSEHOLDS)
def member_row(request: HttpRequest) -> HttpResponse:
    """htmx: a new, empty member row (``?remove=1``: nothing, the row is taken out)."""
    if request.GET.get("remove"):
        return HttpResponse("")
    token = _token()
    n = request.GET.get("n", "")
    return render(
        request,
        "registry/_member_row.html",
        {"token": token, "form": forms.MemberForm(prefix=f"m-{token}"), "number": n if n.isdigit() else ""},
    )


# --- Edits -------------------------------------------------------------------------------------


@capability_required(Cap.EDIT_HOUSEHOLDS)
def edit(request: HttpRequest, registry_id: str) -> HttpResponseBase:
    """Address, phone and questionnaire answers: applied at once, with history. The page also
    leads to the requests for sensitive changes."""
    hh = _household(request, registry_id)
    initial = {"version": hh.version, "address": hh.address, "phone": hh.phone}
    for k, v in (hh.socio or {}).items():
        initial[k] = ("1" if v else "0") if isinstance(v, bool) else ("" if v is None else str(v))
    if request.method == "POST":
        form = forms.EditHouseholdForm(request.POST, initial=initial)
        if form.is_valid() and _saved(
            form,
            lambda: changes.edit_household(
                hh.pk,
                expected_version=form.cleaned_data["version"],
                changes=form.changes(),
                actor=request.user,
                reason="edited on the web",
            ),
        ):
            messages.success(request, _("The household's details were saved."))
            return redirect("household", registry_id=hh.registry_id)
    else:
        form = forms.EditHouseholdForm(initial=initial)
    pending = cs_selectors.pending_for(hh)
    return render(
        request,
        "registry/edit.html",
        {"household": hh, "form": form, "members": current_members(hh), "pending": pending},
    )


def _request_page(
    request: HttpRequest,
    hh: Household,
    *,
    kind: str,
    form: Any,
    payload: dict[str, Any] | None,
    title: str,
    person: Any = None,
) -> HttpResponseBase:
    if payload is not None and form.is_valid():
        reason = (form.cleaned_data.get("request_reason") or "").strip()
        try:
            cr = changes.request_change(
                hh,
                kind,
                payload,
                actor=request.user,
                reason=reason,
                allowed_area_codes=None
                if area_paths_of(request.user) is None
                else {a.code for a in _areas(request)},
            )
        except services.RegistryValidationError as exc:
            forms.add_service_errors(form, exc.errors)
        else:
            messages.success(
                request,
                _(
                    "Your request number %(n)s was recorded. Another staff member must approve it before anything changes."
                )
                % {"n": cr.pk},
            )
            return redirect("household_edit", registry_id=hh.registry_id)
    return render(
        request,
        "registry/request_change.html",
        {"household": hh, "form": form, "title": title, "person": person, "kind": kind},
    )


def _saved(form: Any, write: Any) -> bool:
    """Run an immediate edit; on a concurrent edit or the registry's refusal, put the reason
    on the form and say False (nothing was saved)."""
    try:
        write()
    except services.ConcurrentEditError:
        form.add_error(
            None,
            _(
                "Someone else changed this household while you were editing it. Reload the page and apply your change again."
            ),
        )
        return False
    except services.RegistryValidationError as exc:
        forms.add_service_errors(form, exc.errors)
        return False
    return True


def _person(hh: Household, person_id: str) -> tuple[Any, Any]:
    for m in current_members(hh):
        if m.person.registry_id == person_id:
            return m.person, m
    from django.http import Http404

    raise Http404


@capability_required(Cap.EDIT_HOUSEHOLDS)
def request_person_change(request: HttpRequest, registry_id: str, person_id: str) -> HttpResponseBase:
    hh = _household(request, registry_id)
    person, membership = _person(hh, person_id)
    current = changes.person_values(person, membership)
    payload = None
    if request.method == "POST":
        form = forms.PersonChangeForm(request.POST, initial=current)
        if form.is_valid():
            # Only the fields that differ from now are asked for.
            typed = {f: (form.cleaned_data.get(f) or "").strip() for f in changes.PERSON_SENSITIVE}
            payload = {
                "person": person.registry_id,
                **{f: v for f, v in typed.items() if v != current.get(f, "")},
            }
    else:
        form = forms.PersonChangeForm(initial=current)
    return _request_page(
        request, hh, kind=ChangeRequest.KIND_PERSON, form=form, payload=payload,
        title=_("Change a member's identity"), person=person,
    )  # fmt: skip


@capability_required(Cap.EDIT_HOUSEHOLDS)
def member_situation(request: HttpRequest, registry_id: str, person_id: str) -> HttpResponseBase:
    """A member's education, work, health coverage, school and disability: applied at once
    through ``services.update_person`` (the import's checks, history, rescoring)."""
    hh = _household(request, registry_id)
    person, _membership = _person(hh, person_id)
    row = services._person_row(person)
    initial: dict[str, Any] = {"version": hh.version}
    for f in forms.DETAIL_FIELDS:
        v = row.get(f)
        initial[f] = ("1" if v else "0") if isinstance(v, bool) else ("" if v is None else str(v))
    form = forms.MemberSituationForm(request.POST or None, initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(
            form,
            lambda: services.update_person(
                person.pk,
                household_id=hh.pk,
                expected_version=form.cleaned_data["version"],
                changes=form.changes(),
                actor=request.user,
                channel="CENTRE",
                reason="member's situation changed on the web",
            ),
        )
    ):
        messages.success(request, _("The member's situation was saved."))
        return redirect("household", registry_id=hh.registry_id)
    return render(
        request, "registry/member_situation.html", {"household": hh, "person": person, "form": form}
    )


@capability_required(Cap.EDIT_HOUSEHOLDS)
def request_removal(request: HttpRequest, registry_id: str, person_id: str) -> HttpResponseBase:
    hh = _household(request, registry_id)
    person, _membership = _person(hh, person_id)
    form = forms.RemovalForm(request.POST or None)
    payload = None
    if request.method == "POST" and form.is_valid():
        payload = {"person": person.registry_id, **form.values()}
        payload.pop("request_reason", None)
    return _request_page(
        request, hh, kind=ChangeRequest.KIND_REMOVE_MEMBER, form=form, payload=payload,
        title=_("A member leaves the household"), person=person,
    )  # fmt: skip


@capability_required(Cap.EDIT_HOUSEHOLDS)
def request_member(request: HttpRequest, registry_id: str) -> HttpResponseBase:
    hh = _household(request, registry_id)
    form = forms.NewMemberForm(request.POST or None)
    payload = None
    if request.method == "POST" and form.is_valid():
        payload = form.values()
        payload.pop("request_reason", None)
    return _request_page(
        request, hh, kind=ChangeRequest.KIND_ADD_MEMBER, form=form, payload=payload, title=_("Add a member")
    )


@capability_required(Cap.EDIT_HOUSEHOLDS)
def request_head(request: HttpRequest, registry_id: str) -> HttpResponseBase:
    hh = _household(request, registry_id)
    form = forms.HeadChangeForm(request.POST or None, members=current_members(hh))
    payload = form.payload() if request.method == "POST" and form.is_valid() else None
    return _request_page(
        request,
        hh,
        kind=ChangeRequest.KIND_HEAD,
        form=form,
        payload=payload,
        title=_("A new head of household"),
    )


@capability_required(Cap.EDIT_HOUSEHOLDS)
def request_area(request: HttpRequest, registry_id: str) -> HttpResponseBase:
    hh = _household(request, registry_id)
    form = forms.AreaChangeForm(request.POST or None, areas=_areas(request))
    payload = None
    if request.method == "POST" and form.is_valid():
        payload = {
            "area_code": form.cleaned_data["area_code"],
            "milieu": form.cleaned_data.get("milieu") or None,
        }
    return _request_page(
        request, hh, kind=ChangeRequest.KIND_AREA, form=form, payload=payload, title=_("Move the household")
    )


# --- The queue of requested changes -------------------------------------------------------------


@capability_required(Cap.VIEW_CHANGES)
def queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", ChangeRequest.PENDING)
    if status not in dict(ChangeRequest.STATUSES):
        status = ChangeRequest.PENDING
    qs = cs_selectors.change_requests(area_paths_of(request.user), status)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/change_requests.html",
        {"page": page, "status": status, "statuses": cs_selectors.STATUS_LABELS},
    )


def _change_request(request: HttpRequest, change_request_id: int) -> ChangeRequest:
    qs = cs_selectors.change_requests(area_paths_of(request.user), None)
    return get_object_or_404(qs, pk=change_request_id)


@capability_required(Cap.VIEW_CHANGES)
def detail(request: HttpRequest, change_request_id: int, form: Any = None) -> HttpResponse:
    cr = _change_request(request, change_request_id)
    can_decide = user_can(request.user, Cap.DECIDE_CHANGES) and cr.status == ChangeRequest.PENDING
    is_maker = cr.requested_by_id is not None and cr.requested_by_id == request.user.pk
    return render(
        request,
        "registry/change_request.html",
        {
            "cr": cr,
            "rows": cs_selectors.side_by_side(cr),
            "kind_label": cs_selectors.kind_label(cr.kind),
            "can_decide": can_decide and not is_maker,
            "is_maker": is_maker and cr.status == ChangeRequest.PENDING,
            "form": form or forms.DecisionForm(),
        },
    )


@require_POST
@capability_required(Cap.DECIDE_CHANGES)
def decide(request: HttpRequest, change_request_id: int) -> HttpResponseBase:
    cr = _change_request(request, change_request_id)
    form = forms.DecisionForm(request.POST)
    if form.is_valid():
        reason = (form.cleaned_data.get("reason") or "").strip()
        try:
            if form.cleaned_data["decision"] == "approve":
                services.approve_change_request(cr.pk, actor=request.user, note=reason)
                messages.success(request, _("Change approved and applied."))
            else:
                services.reject_change_request(cr.pk, actor=request.user, reason=reason)
                messages.success(request, _("Change rejected: nothing was changed."))
        except changes.SelfApprovalError:
            form.add_error(None, _("You asked for this change: another staff member must decide it."))
        except services.ChangeRequestDecided:
            form.add_error(None, _("This change has already been decided."))
        except services.ConcurrentEditError:
            form.add_error(None, _("The household changed meanwhile. Reload the page and decide again."))
        except services.RegistryValidationError as exc:
            forms.add_service_errors(form, exc.errors)
            if not form.non_field_errors() and not form.errors.get("reason"):
                form.add_error(
                    None, _("The change no longer passes the registry's rules: reject it with a reason.")
                )
        else:
            return redirect("change_request", change_request_id=cr.pk)
    return detail(request, change_request_id, form=form)
