"""Scores: the socio-economic index of each household, with what produced it.

An :class:`Assessment` is one score of one household. It names the PMT model version and
the rules version that computed it, the date the rules and ages were taken at
(``as_of``), and the household's version: with the registry's complete history that
pair *is* the input snapshot (``registry.selectors.household_as_of``). Single-household
assessments also keep the feature values inline (``inputs``); a batch run writes them for
all households to a Parquet file named in its :class:`ScoringRun`.

Only a household's latest assessment is ``is_current``. A new one is written only when
the score, the model or the rules changed, so re-running with nothing new writes nothing.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ScoringRun(models.Model):
    """One ``sijill score`` run, or one on-change recomputation of a household."""

    KIND_BATCH, KIND_HOUSEHOLD = "batch", "household"
    STATUS = [("running", "running"), ("done", "done"), ("failed", "failed")]

    kind = models.CharField(max_length=10, default=KIND_BATCH)
    country = models.CharField(max_length=2)
    as_of = models.DateField(help_text="Date of the rules, ages and memberships used")
    model_version = models.CharField(max_length=64)
    parameters_version = models.CharField(max_length=64)
    changeset = models.ForeignKey("core.ChangeSet", on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=STATUS, default="running")
    households = models.PositiveIntegerField(default=0, help_text="Households computed")
    new_assessments = models.PositiveIntegerField(default=0)
    changed_decisions = models.PositiveIntegerField(default=0)
    features_path = models.CharField(max_length=500, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per phase (read, compute, write)")
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Scoring run #{self.pk} {self.country} as of {self.as_of} ({self.status})"


class Assessment(models.Model):
    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="assessments", db_index=False
    )
    run = models.ForeignKey(ScoringRun, on_delete=models.PROTECT, related_name="assessments", db_index=False)
    household_version = models.PositiveIntegerField(help_text="Household version the inputs were read at")
    as_of = models.DateField()
    score = models.FloatField(help_text="Socio-economic index, rounded to the model's decimals")
    milieu = models.CharField(max_length=1)
    region = models.CharField(max_length=16)
    model_version = models.CharField(max_length=64)
    parameters_version = models.CharField(max_length=64)
    inputs = models.JSONField(null=True, blank=True, help_text="Feature values (single-household runs)")
    computed_at = models.DateTimeField()
    is_current = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["household"], condition=Q(is_current=True), name="one_current_assessment"
            )
        ]
        indexes = [models.Index(fields=["household", "computed_at"], name="assessment_household_at")]

    def __str__(self) -> str:
        return f"{self.score:.7f} ({self.model_version}) for household #{self.household_id}"
