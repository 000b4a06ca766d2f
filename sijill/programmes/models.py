"""Programmes and their decisions on households.

A :class:`Programme` is declared by its country's rules package
(``countries/<cc>/rules/programmes.yaml``) and synced here. A :class:`Decision` is a
programme's eligibility and monthly amount for one household, with the assessment it
rests on and the reason it changed. Decisions are history: a new one is written only
when eligibility or the amount changes, the previous one stops being current, and the
reason says why (for instance the score crossed the threshold).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Programme(models.Model):
    country = models.CharField(max_length=2)
    code = models.CharField(max_length=32)
    name_fr = models.CharField(max_length=200)
    name_ar = models.CharField(max_length=200, blank=True)
    name_en = models.CharField(max_length=200, blank=True)
    agency = models.CharField(max_length=200, blank=True)
    legal_basis = models.TextField(blank=True)
    amount_kind = models.CharField(max_length=12, blank=True, help_text="benefit | contribution")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["country", "code"], name="programme_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} ({self.country})"


class Decision(models.Model):
    REASONS = [
        ("FIRST", "first assessment"),
        ("SCORE_CROSSED", "score crossed the threshold"),
        ("CONDITIONS", "other eligibility conditions changed"),
        ("AMOUNT", "amount changed"),
        ("RULES", "rules or model changed"),
        ("EXITED", "household left the registry"),
    ]

    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="decisions", db_index=False
    )
    programme = models.CharField(max_length=32)
    eligible = models.BooleanField()
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="Monthly benefit or contribution"
    )
    score = models.FloatField(null=True, blank=True)
    assessment = models.ForeignKey(
        "targeting.Assessment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    run = models.ForeignKey(
        "targeting.ScoringRun", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    effective_from = models.DateField()
    reason_code = models.CharField(max_length=16, choices=REASONS)
    reason = models.TextField(blank=True)
    decided_at = models.DateTimeField()
    is_current = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["household", "programme"], condition=Q(is_current=True), name="one_current_decision"
            )
        ]
        indexes = [
            models.Index(fields=["household", "programme", "decided_at"], name="decision_household_at")
        ]

    def __str__(self) -> str:
        return f"{self.programme} {'eligible' if self.eligible else 'not eligible'} for #{self.household_id}"
