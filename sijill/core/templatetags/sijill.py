"""Template filters: money in the active locale, labels in the active language."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from sijill.core.l10n import format_money

register = template.Library()


def _lang() -> str:
    return (get_language() or settings.LANGUAGE_CODE).split("-")[0]


@register.filter
def money(amount: Any, currency: str | None = None) -> str:
    """``{{ decision.amount|money }}`` → ``1 234,50 MAD`` in French (the profile's currency)."""
    return format_money(amount, currency or None)


@register.filter
def local_name(obj: Any) -> str:
    """``name_ar``/``name_en``/``name_fr`` of a model or a mapping, for the active language."""
    lang = _lang()
    for key in (f"name_{lang}", "name_fr"):
        value = obj.get(key) if isinstance(obj, dict) else getattr(obj, key, "")
        if value:
            return str(value)
    return str(obj)


@register.filter
def code_label(value: Any, enum: str) -> str:
    """A code's label from the country profile's lists (``{{ p.sex|code_label:"sex" }}``)."""
    if value in (None, ""):
        return ""
    from sijill.countries import get_profile

    labels = get_profile(settings.SIJILL_COUNTRY).enum_labels.get(enum, {}).get(str(value), {})
    return str(labels.get(_lang()) or labels.get("fr") or value)


@register.filter
def milieu_label(value: str) -> str:
    return {"U": _("Urban"), "R": _("Rural")}.get(value, value or "")


@register.filter
def channel_label(value: str) -> str:
    """How a change reached the registry (core.enums.CHANNEL)."""
    return {
        "ONLINE": _("Online"),
        "CENTRE": _("At a centre"),
        "BULK_IMPORT": _("File import"),
        "ADMIN_DATA": _("Administrative data"),
        "API": _("API"),
        "SYSTEM": _("System"),
    }.get(value, value or "")


@register.filter
def entity_label(value: str) -> str:
    """The kind of record a history entry is about."""
    return {
        "household": _("Household"),
        "person": _("Person"),
        "membership": _("Membership"),
        "identifier": _("Identifier"),
    }.get(value, value or "")
