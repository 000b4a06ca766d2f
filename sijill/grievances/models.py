"""Grievances: complaints a household files (on the citizen portal, or later at a centre).

A grievance gets a reference the citizen keeps to follow it up (``G`` + the year + eight
characters of Crockford's base 32, e.g. ``G2026-7KD49XQ2``: random, so a reference reveals
nothing about how many complaints there are). Handling (assignment, answers, appeals)
comes with the grievance issue; today a grievance is OPEN when filed.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    WRONG_SCORE = "WRONG_SCORE", _("My score is wrong")
    NOT_ENROLLED = "NOT_ENROLLED", _("I am not enrolled in a programme")
    PAYMENT = "PAYMENT", _("A problem with a payment")
    DATA_ERROR = "DATA_ERROR", _("An error in my household's information")
    OTHER = "OTHER", _("Something else")


class Status(models.TextChoices):
    OPEN = "OPEN", _("Open")
    IN_PROGRESS = "IN_PROGRESS", _("Being handled")
    RESOLVED = "RESOLVED", _("Resolved")
    CLOSED = "CLOSED", _("Closed")


class Grievance(models.Model):
    CHANNEL_PORTAL, CHANNEL_CENTRE = "PORTAL", "CENTRE"
    CHANNELS = [(CHANNEL_PORTAL, "citizen portal"), (CHANNEL_CENTRE, "at a centre")]

    reference = models.CharField(max_length=20, unique=True)
    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="grievances", db_index=False
    )
    category = models.CharField(max_length=16, choices=Category.choices)
    description = models.TextField()
    contact_phone = models.CharField(max_length=20, blank=True, help_text="E.164, if the citizen gave one")
    channel = models.CharField(max_length=16, choices=CHANNELS, default=CHANNEL_PORTAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["household", "created_at"], name="grievance_household"),
            models.Index(fields=["status", "created_at"], name="grievance_status"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.category}, {self.status})"
