"""Forms of the duplicate review pages: a decision on a pair, undoing a merge."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sijill.identity.models import MatchCandidate
from sijill.registry.models import Household


class DecisionForm(forms.Form):
    """Match (merge) or not a match, why, and, when the two records live in two households,
    which household the person stays in."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (MatchCandidate.MATCH, _("The same person: merge the two records")),
            (MatchCandidate.NOT_MATCH, _("Two different persons: keep both records")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("Required. Say what shows it, for example the same parents and date of birth."),
    )

    def __init__(self, *args: Any, households: list[Household] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.households = households or []
        if len(self.households) == 2:
            self.fields["keep_household"] = forms.TypedChoiceField(
                label=_("Household the person stays in"),
                choices=[(h.pk, h.registry_id) for h in self.households],
                coerce=int,
                required=False,
                widget=forms.RadioSelect,
                help_text=_(
                    "Both records are active members of two households. For a merge, choose the household "
                    "the person stays in; the membership in the other one ends."
                ),
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            "keep_household" in self.fields
            and data.get("decision") == MatchCandidate.MATCH
            and not data.get("keep_household")
        ):
            self.add_error("keep_household", _("Choose the household the person stays in."))
        return data


class UnmergeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for undoing the merge"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text=_("Required. The pair goes back to the queue for a new decision."),
    )
