"""Staff pages of the duplicate review: the queue, one pair side by side, a decision, undoing a merge.

Reads go through :mod:`sijill.identity.selectors` (scoped to the account's areas by
:func:`~sijill.identity.selectors.scope_candidates`: a pair outside them is a 404 like one
that does not exist); writes through :mod:`sijill.identity.services`, whose refusals
(:class:`~sijill.identity.services.IdentityError`) are shown on the form, nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from sijill.accounts.access import capability_required
from sijill.accounts.permissions import Cap
from sijill.accounts.selectors import user_can
from sijill.core.templatetags.sijill import code_label
from sijill.identity import selectors, services
from sijill.identity.explain import levels_in_words
from sijill.identity.forms import DecisionForm, UnmergeForm
from sijill.identity.models import MatchCandidate

PAGE_SIZE = 25

KIND_LABELS = {
    MatchCandidate.PROBABLE: gettext_lazy("Probable match"),
    MatchCandidate.ID_CONFLICT: gettext_lazy("Same identifier"),
    MatchCandidate.ACTIVE_ELSEWHERE: gettext_lazy("Already active in another household"),
}
STATUS_LABELS = {
    MatchCandidate.PENDING: gettext_lazy("Pending review"),
    MatchCandidate.AUTO_LINKED: gettext_lazy("Linked automatically, not merged yet"),
    MatchCandidate.MATCH: gettext_lazy("Same person (merged)"),
    MatchCandidate.NOT_MATCH: gettext_lazy("Different persons"),
}
QUEUE_STATUSES = (MatchCandidate.PENDING, MatchCandidate.AUTO_LINKED)
OPEN = (MatchCandidate.PENDING, MatchCandidate.AUTO_LINKED)


def _candidate(request: HttpRequest, candidate_id: int) -> MatchCandidate:
    qs = selectors.scope_candidates(MatchCandidate.objects.all(), request.user)
    return get_object_or_404(qs, pk=candidate_id)


@capability_required(Cap.VIEW_DUPLICATES)
def queue(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    kind = kind if kind in KIND_LABELS else ""
    status = request.GET.get("status", "")
    status = status if status in QUEUE_STATUSES else MatchCandidate.PENDING
    qs = selectors.scope_candidates(selectors.review_queue(kind=kind or None, status=status), request.user)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "identity/queue.html",
        {
            "page": page,
            "kind": kind,
            "status": status,
            "kinds": list(KIND_LABELS.items()),
            "statuses": [(s, STATUS_LABELS[s]) for s in QUEUE_STATUSES],
            "kind_labels": KIND_LABELS,
        },
    )


@dataclass
class Row:
    """One line of the side-by-side table: a label, each record's value shown, and whether they differ."""

    label: str
    a: str
    b: str
    differs: bool
    script: str = ""  # "lat" or "ar": the values are names in that script


def _birth(p: Any) -> str:
    if p.birth_date_precision == "Y":
        return _("%(year)s (year only)") % {"year": p.birth_date.year}
    return date_format(p.birth_date, "DATE_FORMAT")


def compare_rows(view: selectors.CandidateView) -> list[Row]:
    """The two records field by field, as the reviewer reads them, in the page's language."""
    a, b = view.a.person, view.b.person
    same = {name: flag for name, (_va, _vb, flag) in view.fields.items()}
    rows = [
        Row(_("Registry number"), a.registry_id, b.registry_id, False),
        Row(
            _("Given name (Latin letters)"),
            a.given_name_lat,
            b.given_name_lat,
            not same["given_name_lat"],
            "lat",
        ),
        Row(
            _("Family name (Latin letters)"),
            a.family_name_lat,
            b.family_name_lat,
            not same["family_name_lat"],
            "lat",
        ),
        Row(
            _("Given name (Arabic script)"), a.given_name_ar, b.given_name_ar, not same["given_name_ar"], "ar"
        ),
        Row(
            _("Family name (Arabic script)"),
            a.family_name_ar,
            b.family_name_ar,
            not same["family_name_ar"],
            "ar",
        ),
        *[
            Row(label, getattr(a, f), getattr(b, f), not same[f], f.rsplit("_", 1)[1])
            for label, f in (
                (_("Father's given name (Latin script)"), "father_name_lat"),
                (_("Father's given name (Arabic script)"), "father_name_ar"),
                (_("Mother's given name (Latin script)"), "mother_name_lat"),
                (_("Mother's given name (Arabic script)"), "mother_name_ar"),
            )
            if getattr(a, f) or getattr(b, f)
        ],
        Row(_("Sex"), code_label(a.sex, "sex"), code_label(b.sex, "sex"), not same["sex"]),
        Row(
            _("Date of birth"),
            _birth(a),
            _birth(b),
            not (same["birth_date"] and same["birth_date_precision"]),
        ),
        Row(_("Phone"), a.phone, b.phone, not same["phone"]),
    ]
    ids_a = ", ".join(f"{i.id_type} {i.value}" for i in view.a.identifiers)
    ids_b = ", ".join(f"{i.id_type} {i.value}" for i in view.b.identifiers)
    rows.append(Row(_("Identifiers"), ids_a, ids_b, ids_a != ids_b))
    return rows


def _households(view: selectors.CandidateView) -> list[Any]:
    """The two households to choose between, when both records are active in different ones."""
    a, b = view.a.household, view.b.household
    if a is None or b is None or a.pk == b.pk:
        return []
    return [a, b]


def _page(
    request: HttpRequest,
    candidate: MatchCandidate,
    *,
    decision_form: DecisionForm | None = None,
    unmerge_form: UnmergeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    view = selectors.candidate_view(candidate)
    c = view.candidate
    merge = selectors.live_merge(c)
    can_decide = user_can(request.user, Cap.REVIEW_DUPLICATES)
    open_ = c.status in OPEN and merge is None
    if can_decide and open_ and decision_form is None:
        decision_form = DecisionForm(households=_households(view))
    if can_decide and merge is not None and unmerge_form is None:
        unmerge_form = UnmergeForm()
    return render(
        request,
        "identity/candidate.html",
        {
            "view": view,
            "c": c,
            "a": view.a,
            "b": view.b,
            "rows": compare_rows(view),
            "levels": levels_in_words(c.details),
            "probability_percent": (
                number_format(c.probability * 100, 1) + "\u00a0%" if c.probability is not None else ""
            ),
            "conflict_reason": (c.details or {}).get("reason", "")
            if c.kind != MatchCandidate.PROBABLE
            else "",
            "kind_label": KIND_LABELS.get(c.kind, c.kind),
            "status_label": STATUS_LABELS.get(c.status, c.status),
            "merge": merge,
            "history": selectors.merge_history(c.person_a_id),
            "can_decide": can_decide,
            "is_open": open_,
            # A bound form is shown again with its errors even if the pair changed meanwhile.
            "decision_form": decision_form if can_decide and (open_ or _bound(decision_form)) else None,
            "unmerge_form": unmerge_form
            if can_decide and (merge is not None or _bound(unmerge_form))
            else None,
        },
        status=status,
    )


def _bound(form: Any) -> bool:
    return form is not None and bool(form.is_bound)


@capability_required(Cap.VIEW_DUPLICATES)
def candidate(request: HttpRequest, candidate_id: int) -> HttpResponse:
    return _page(request, _candidate(request, candidate_id))


@capability_required(Cap.REVIEW_DUPLICATES)
@require_POST
def decide(request: HttpRequest, candidate_id: int) -> HttpResponse:
    c = _candidate(request, candidate_id)
    view = selectors.candidate_view(c)
    form = DecisionForm(request.POST, households=_households(view))
    if not form.is_valid():
        return _page(request, c, decision_form=form)
    try:
        merge = services.decide(
            c,
            form.cleaned_data["decision"],
            reason=form.cleaned_data["reason"],
            actor_name=request.user.get_username(),
            actor=request.user,
            keep_household=form.cleaned_data.get("keep_household") or None,
        )
    except services.IdentityError as e:
        form.add_error(None, _("The decision was refused, nothing was changed: %(error)s") % {"error": e})
        return _page(request, c, decision_form=form)
    if merge is not None:
        messages.success(
            request,
            _("Merged: %(merged)s now leads to %(survivor)s.")
            % {"merged": merge.merged.registry_id, "survivor": merge.survivor.registry_id},
        )
    else:
        messages.success(request, _("Recorded: two different persons. Both records are kept."))
    return redirect("review_candidate", candidate_id=c.pk)


@capability_required(Cap.REVIEW_DUPLICATES)
@require_POST
def unmerge(request: HttpRequest, candidate_id: int) -> HttpResponse:
    c = _candidate(request, candidate_id)
    form = UnmergeForm(request.POST)
    if not form.is_valid():
        return _page(request, c, unmerge_form=form)
    merge = selectors.live_merge(c)
    if merge is None:
        form.add_error(None, _("There is no merge to undo for this pair."))
        return _page(request, c, unmerge_form=form)
    try:
        services.unmerge(
            merge,
            actor_name=request.user.get_username(),
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
    except services.IdentityError as e:
        form.add_error(None, _("The merge was not undone, nothing was changed: %(error)s") % {"error": e})
        return _page(request, c, unmerge_form=form)
    messages.success(
        request,
        _("Merge undone: %(merged)s is a record of its own again, and the pair is back in the queue.")
        % {"merged": merge.merged.registry_id},
    )
    return redirect("review_candidate", candidate_id=c.pk)
