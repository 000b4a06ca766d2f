"""A candidate's comparison levels in words, for the reviewer (the web review page).

The matcher stores, for each comparison, the level the pair reached
(``MatchCandidate.details["levels"]``, Splink's ``gamma_*`` values): ``-1`` when a value is
missing on one side, ``0`` when the values differ ("all other comparisons"), and higher
numbers for closer agreement, the highest being an exact match. The levels of each
comparison are those built in :mod:`sijill.identity.linkage` (``registry_spec``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

FOR, AGAINST, NEUTRAL = "for", "against", "neutral"

_MISSING = _("missing on one side")
_DIFFERENT = _("different")
_SAME = _("the same")

_NAME_LEVELS: Mapping[int, Promise] = {
    4: _("same spelling in Latin letters"),
    3: _("same spelling in Arabic script"),
    2: _("very close spelling in one script (Jaro-Winkler similarity of 0.92 or more)"),
    1: _("close spelling in one script (Jaro-Winkler similarity of 0.8 or more)"),
    0: _DIFFERENT,
}

LEVELS: Mapping[str, tuple[Promise, Mapping[int, Promise]]] = {
    "given_name": (_("Given name"), _NAME_LEVELS),
    "family_name": (_("Family name"), _NAME_LEVELS),
    "birth_date": (
        _("Date of birth"),
        {
            6: _("the same date"),
            5: _("day and month swapped"),
            4: _("two of year, month and day equal"),
            3: _("same year, one date known only to the year"),
            2: _("same year only"),
            1: _("one year apart"),
            0: _DIFFERENT,
        },
    ),
    "sex": (_("Sex"), {1: _SAME, 0: _DIFFERENT}),
    "commune": (_("Commune"), {1: _SAME, 0: _DIFFERENT}),
    "phone": (_("Phone"), {1: _SAME, 0: _DIFFERENT}),
    "identifier": (
        _("Identity numbers"),
        {
            1: _("the same number, or one or two characters apart (a typing error)"),
            0: _("different numbers of the same document"),
        },
    ),
    "parents": (
        _("Parents' given names"),
        {
            4: _("both parents the same"),
            3: _("both parents spelled alike"),
            2: _("one parent the same or spelled alike, the other not named on both records"),
            1: _("one parent the same or spelled alike, the other different"),
            0: _("different parents"),
        },
    ),
    "co_members": (
        _("Other members of the household"),
        {
            2: _("two or more given names shared by the two households"),
            1: _("one given name shared by the two households"),
            0: _("no given name shared"),
            -1: _("not compared: one of them lives alone, or both live in the same household"),
        },
    ),
}

EVIDENCE: Mapping[str, Promise] = {
    FOR: _("points to the same person"),
    AGAINST: _("points to two persons"),
    NEUTRAL: _("says nothing"),
}


@dataclass(frozen=True)
class LevelInWords:
    comparison: str
    label: str
    level: int | None
    text: str
    evidence: str  # FOR, AGAINST or NEUTRAL
    evidence_text: str


def _level(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def levels_in_words(details: Mapping[str, Any] | None) -> list[LevelInWords]:
    """Each comparison of ``details["levels"]`` with its level said in words, in model order.

    A comparison this module does not know (a model with other comparisons) is shown with
    its name and level number.
    """
    levels = (details or {}).get("levels") or {}
    if not isinstance(levels, Mapping):
        return []
    order = [k for k in LEVELS if k in levels] + [k for k in levels if k not in LEVELS]
    out = []
    for name in order:
        level = _level(levels[name])
        label, texts = LEVELS.get(name, (name, {}))
        if level is None or level < 0:
            text, evidence = str(texts.get(-1, _MISSING)), NEUTRAL
        else:
            text = str(texts.get(level, _("level %(level)s") % {"level": level}))
            evidence = AGAINST if level == 0 else FOR
        out.append(LevelInWords(name, str(label), level, text, evidence, str(EVIDENCE[evidence])))
    return out
