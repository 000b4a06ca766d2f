"""Format modules (FORMAT_MODULE_PATH): numbers and dates per CLDR for fr_MA, fr_ML and ar_MA.

Django's own French module groups digits with a no-break space; CLDR (and so the ``money``
filter, see :mod:`sijill.core.l10n`) uses a narrow no-break space, which these modules
follow so that every number on a page looks the same. Arabic: Western digits (Morocco's
usage and CLDR's ar_MA default), ``.`` for thousands, ``,`` for decimals, 24-hour time.
Month names in Arabic are Morocco's (يناير … ماي … يوليوز، غشت، شتنبر … دجنبر), translated in
sijill/locale/ar; the strings below only let ``makemessages`` find them.
"""

from django.utils.translation import gettext_noop

MONTHS = [
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
]
