"""The registry's validation reasons, in the user's language.

The rules (``intake/validate.py``, the write services, ``changes.py``) give their reasons in
English, the language of import reject files and logs. The web forms show them through
:func:`reason_text`: each known reason becomes a translated sentence (keeping the values
that matter, such as the holder of an identifier); an unknown one is shown inside a
translated sentence, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils.translation import gettext as _

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _rules() -> list[Rule]:
    # Evaluated per call (gettext needs the request's language); the most specific first.
    held_tail = r"(?: in household (?P<hh>\S+)|, who is not an active member of any household)"
    raw: list[tuple[str, Callable[[re.Match[str]], str]]] = [
        (
            r"^(?P<t>\S+) (?P<v>\S+) is already held by person (?P<p>\S+)"
            + held_tail
            + r": nothing was saved",
            lambda m: (
                (
                    _(
                        "%(type)s %(value)s already belongs to person %(person)s of household %(household)s. "
                        "Nothing was saved. Check the card: if it is this person's, tick “The card was checked” "
                        "below to register the household and send the identifier to review."
                    )
                    if m["hh"]
                    else _(
                        "%(type)s %(value)s already belongs to person %(person)s, who is in no household. "
                        "Nothing was saved. Check the card: if it is this person's, tick “The card was checked” "
                        "below to register the household and send the identifier to review."
                    )
                )
                % {"type": m["t"], "value": m["v"], "person": m["p"], "household": m["hh"]}
            ),
        ),
        (
            r"^(?P<t>\S+) (?P<v>\S+) is already held by person (?P<p>\S+)" + held_tail,
            lambda m: (
                (
                    _("%(type)s %(value)s already belongs to person %(person)s of household %(household)s.")
                    if m["hh"]
                    else _("%(type)s %(value)s already belongs to person %(person)s, who is in no household.")
                )
                % {"type": m["t"], "value": m["v"], "person": m["p"], "household": m["hh"]}
            ),
        ),
        (
            r" is given to more than one person in the file",
            lambda m: _("This identifier is given to more than one member."),
        ),
        (r"^(?:area_code is required|is required: say why)", lambda m: _("This field is required.")),
        (r"^unknown \S+ code for \S+$", lambda m: _("Unknown area: choose one from the list.")),
        (r"^milieu is required", lambda m: _("Choose urban or rural: the commune's setting is not known.")),
        (r"^milieu must be", lambda m: _("Choose urban or rural.")),
        (
            r"is longer than (?P<n>\d+) characters",
            lambda m: _("Too long: at most %(n)s characters.") % {"n": m["n"]},
        ),
        (
            r"^not a valid phone number for \S+ \(expected like (?P<p>[^…)]+)",
            lambda m: _("Not a valid phone number (expected like %(prefix)s…).") % {"prefix": m["p"]},
        ),
        (
            r"^not a date in the form YYYY-MM-DD or YYYY",
            lambda m: _("Not a date: write it as YYYY-MM-DD, or only the year YYYY."),
        ),
        (r"^not a date in the form YYYY-MM-DD", lambda m: _("Not a date: write it as YYYY-MM-DD.")),
        (r"^is in the future", lambda m: _("This date is in the future.")),
        (r"^is before 1900", lambda m: _("This date is before 1900.")),
        (
            r"^is before the membership started",
            lambda m: _("This date is before the person joined the household."),
        ),
        (
            r"^is only asked in rural households",
            lambda m: _("Only asked in rural households: leave it empty."),
        ),
        (
            r"^is only asked in urban households",
            lambda m: _("Only asked in urban households: leave it empty."),
        ),
        (r"^is not a number", lambda m: _("Write a number.")),
        (r"^must be a whole number", lambda m: _("Write a whole number.")),
        (
            r"^is below the minimum (?P<n>\S+)",
            lambda m: _("The smallest value allowed is %(n)s.") % {"n": m["n"]},
        ),
        (
            r"^is above the maximum (?P<n>\S+)",
            lambda m: _("The largest value allowed is %(n)s.") % {"n": m["n"]},
        ),
        (r"^must be yes/no", lambda m: _("Answer yes or no.")),
        (r"^must be written in Arabic script", lambda m: _("Write this name in Arabic script.")),
        (r"^must be written in Latin script", lambda m: _("Write this name in Latin script.")),
        (
            r"^a given name and a family name are required",
            lambda m: _("A given name and a family name are required, in Latin or Arabic script."),
        ),
        (r"^sex is required|^sex must be", lambda m: _("Choose the sex.")),
        (r"^relationship to the head is required", lambda m: _("Choose the relationship to the head.")),
        (r"^birth_date is required", lambda m: _("The date of birth is required (or at least the year).")),
        (r"^id2?_value is required when", lambda m: _("Give the number of the identity document.")),
        (r"^id2?_type is required when", lambda m: _("Choose the type of identity document.")),
        (r"^unknown identifier type", lambda m: _("Unknown type of identity document.")),
        (
            r"^not a valid (?P<t>\S+) \(expected format",
            lambda m: _("This is not a valid %(type)s number: check it on the card.") % {"type": m["t"]},
        ),
        (
            r"^(?P<t>\S+) check digit is wrong",
            lambda m: (
                _("This %(type)s number has a wrong check digit: check it on the card.") % {"type": m["t"]}
            ),
        ),
        (
            r"^a (?P<t>\S+) is only issued from age (?P<n>\d+)",
            lambda m: _("A %(type)s is only issued from age %(n)s.") % {"type": m["t"], "n": m["n"]},
        ),
        (r"^is required \(MILD to COMPLETE\)", lambda m: _("Give the severity of the disability.")),
        (r"^is required when in_school is yes", lambda m: _("Required when the person goes to school.")),
        (
            r"^must be empty when the person is not in school",
            lambda m: _("Leave empty when the person does not go to school."),
        ),
        (
            r"^(?:must be one of|must be PUBLIC or PRIVATE|unknown \S+ code for)",
            lambda m: _("Choose one of the listed values."),
        ),
        (
            r"^the household has more than one HEAD",
            lambda m: _("Only one member can be the head of household."),
        ),
        (
            r"^the head of household must be at least 15",
            lambda m: _("The head of household must be at least 15 years old."),
        ),
        (r"^a spouse must be at least 15", lambda m: _("A spouse must be at least 15 years old.")),
        (
            r"^a child must be at least 12 years younger",
            lambda m: _("A child must be at least 12 years younger than the head."),
        ),
        (
            r"^a grandchild must be at least 24 years younger",
            lambda m: _("A grandchild must be at least 24 years younger than the head."),
        ),
        (
            r"^a parent must be at least 12 years older",
            lambda m: _("A parent must be at least 12 years older than the head."),
        ),
        (r"^the household has no member in", lambda m: _("Add at least one member.")),
        (
            r"^the household has no member with relationship HEAD",
            lambda m: _("One member must be the head of household."),
        ),
        (
            r"^(?:a new member cannot be the head|must be a relationship other than HEAD)",
            lambda m: _("A new member cannot be the head: choose another relationship."),
        ),
        (
            r"^changing who is the head",
            lambda m: _("Changing who is the head of household is not possible with this request."),
        ),
        (
            r"^name a new head before",
            lambda m: _("The head cannot leave the household: name a new head first."),
        ),
        (
            r"^an identifier cannot be removed",
            lambda m: _("An identifier cannot be removed with this request."),
        ),
        (
            r"^is not a current member of this household",
            lambda m: _("This person is not a current member of the household."),
        ),
        (r"^nothing changes", lambda m: _("Nothing changes: the values are the same as now.")),
        (r"^is outside the areas you work in", lambda m: _("This area is outside the areas you work in.")),
        (
            r"^needs a second person's approval",
            lambda m: _("This field needs a second person's approval: ask for the change."),
        ),
        (r"^a reason is required", lambda m: _("A reason is required.")),
        (r"^is required", lambda m: _("This field is required.")),
    ]
    return [(re.compile(p), f) for p, f in raw]


def reason_text(reason: str) -> str:
    """``reason`` (the rules' English) as a sentence in the active language."""
    for pattern, make in _rules():
        m = pattern.search(reason)
        if m:
            return make(m)
    return _("The registry does not accept this value (%(reason)s).") % {"reason": reason}
