"""Locale-aware formatting that Django's format modules do not cover: money.

Amounts are formatted with CLDR data (Babel) for the active language in the registry's
country: fr → fr_MA or fr_ML, ar → ar_MA, en → en. CLDR gives ``1 234,50 MAD`` (fr_MA),
``1 234 F CFA`` (fr_ML: the franc CFA has no minor unit) and ``‏1.234,50 د.م.‏`` (ar_MA).
Morocco writes Western (Latin) digits in Arabic text, which is CLDR's default numbering
system for ar_MA, so no Arabic-Indic digits appear.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency
from django.conf import settings
from django.utils.translation import get_language


@functools.lru_cache(maxsize=32)
def cldr_locale(language: str, country: str) -> str:
    """The CLDR locale for a UI language in a country: ``fr``+``MA`` → ``fr_MA``, else ``fr``."""
    lang = language.split("-")[0].lower()
    for candidate in (f"{lang}_{country.upper()}", lang):
        try:
            Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
        return candidate
    return "fr"


def format_money(amount: Any, currency: str | None = None, language: str | None = None) -> str:
    """``amount`` in ``currency`` (default: the country profile's) for the active language."""
    if amount is None or amount == "":
        return ""
    if currency is None:
        from sijill.countries import get_profile

        currency = get_profile(settings.SIJILL_COUNTRY).currency
    loc = cldr_locale(language or get_language() or settings.LANGUAGE_CODE, settings.SIJILL_COUNTRY)
    text = format_currency(Decimal(str(amount)), currency, locale=loc)
    # CLDR's currency spacing: a currency code written with letters is separated from the digits
    # by a no-break space (en: "MAD 1,234.50"); Babel leaves it out.
    text = re.sub(r"(?<=[A-Za-z])(?=\d)", "\xa0", text)
    return re.sub(r"(?<=\d)(?=[A-Za-z])", "\xa0", text)
