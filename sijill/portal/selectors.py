"""What the citizen sees of their household: facts, the score explained, programme
decisions, payments, their declarations and complaints. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sijill.grievances.selectors import grievances_of
from sijill.programmes import selectors as programme_selectors
from sijill.registry import selectors as registry_selectors
from sijill.registry.models import ChangeRequest, Household
from sijill.targeting import selectors as targeting_selectors
from sijill.targeting.selectors import Contribution, Explanation

TOP = 3  # the factors named in the plain-language summary, each way


@dataclass
class ScoreView:
    explanation: Explanation
    raising: list[Contribution]  # largest first
    lowering: list[Contribution]


def score_view(household: Household, lang: str) -> ScoreView | None:
    assessment = targeting_selectors.current_assessment(household.pk)
    if assessment is None:
        return None
    ex = targeting_selectors.explain(assessment, lang)
    raising = [i for i in ex.items if i.contribution > 0][:TOP]
    lowering = [i for i in ex.items if i.contribution < 0][:TOP]
    return ScoreView(ex, raising, lowering)


def payments_of(household: Household) -> list[Any]:
    """Payments made to the household. There is no payments room yet (docs/architecture.md):
    nothing is recorded, so the page says so. When ``sijill/payments/`` exists, this reads it."""
    return []


def household_page(household: Household, lang: str) -> dict[str, Any]:
    members = registry_selectors.current_members(household)
    decisions = programme_selectors.current_decisions(household)
    if any(row["decision"].eligible and row["decision"].amount for row in decisions):
        # How each paid amount is made (the rules run on this household: tens of milliseconds).
        parts = {
            e.code: e for e in targeting_selectors.entitlements(household, lang) if e.eligible and e.total
        }
        for row in decisions:
            row["entitlement"] = parts.get(row["decision"].programme)
    return {
        "household": household,
        "members": members,
        "score": score_view(household, lang),
        "decisions": decisions,
        "payments": payments_of(household),
        "change_requests": list(
            ChangeRequest.objects.filter(household=household).order_by("-created_at")[:20]
        ),
        "grievances": grievances_of(household.pk)[:20],
    }


def children_choices(household: Household) -> list[tuple[str, str]]:
    """Members other than the head, for the schooling form: (registry id, name and year of birth)."""
    out = []
    for m in registry_selectors.current_members(household):
        if m.relationship == "HEAD":
            continue
        p = m.person
        name = (
            f"{p.given_name_lat} {p.family_name_lat}".strip()
            or f"{p.given_name_ar} {p.family_name_ar}".strip()
        )
        out.append((p.registry_id, f"{name} ({p.birth_date.year})"))
    return out
