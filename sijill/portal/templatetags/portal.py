"""Template filters of the citizen portal: plain-language labels and signed numbers."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def signed(value: Any, digits: int = 3) -> str:
    """``+0,125`` / ``-0,350`` in the active locale: an effect on the score."""
    v = float(value)
    text = number_format(round(abs(v), digits), digits)
    return ("+" if v > 0 else "-" if v < 0 else "") + text


@register.filter
def add_float(a: Any, b: Any) -> float:
    return float(a) + float(b)


@register.filter
def decision_reason(code: str) -> str:
    """Why a programme decided, for the citizen (programmes.Decision.REASONS)."""
    return {
        "FIRST": _("Decided when your household was first assessed."),
        "SCORE_CROSSED": _("Your household's score crossed the programme's limit."),
        "CONDITIONS": _("Another condition of the programme changed for your household."),
        "AMOUNT": _("The monthly amount changed (for example a child's age, or a new scale)."),
        "RULES": _("The programme's rules or the score's calculation changed."),
        "EXITED": _("Your household is no longer in the registry."),
    }.get(code, "")


@register.filter
def change_kind(kind: str) -> str:
    return {"BIRTH": _("A birth"), "ADDRESS": _("A new address"), "SCHOOLING": _("A child's schooling")}.get(
        kind, kind
    )


@register.filter
def change_status(status: str) -> str:
    return {"PENDING": _("Waiting for approval"), "APPROVED": _("Approved"), "REJECTED": _("Rejected")}.get(
        status, status
    )
