"""One-time codes and code requests of the citizen portal.

A :class:`Challenge` is written for every accepted code request, whether or not the
identifier belongs to a household (``household`` is then empty and no code is sent): the
answer, the attempt counting and the lock are the same either way, so the portal never
discloses whether an identifier is registered. Codes are stored as an HMAC keyed with the
site's secret key, never in clear. :class:`CodeRequest` rows throttle requests per
identifier and per client address; they live in the database so every server process
sees them (like ``accounts.LoginFailure``).
"""

from __future__ import annotations

from django.db import models


class Challenge(models.Model):
    household = models.ForeignKey(
        "registry.Household",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    subject = models.CharField(max_length=64, help_text="HMAC of the identifier as typed (normalised)")
    salt = models.CharField(max_length=16)
    code_hash = models.CharField(
        max_length=64, help_text="HMAC-SHA256 of salt and code, keyed with SECRET_KEY"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Wrong codes entered")
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="portal_challenge_at")]

    def __str__(self) -> str:
        return f"challenge #{self.pk} ({self.attempts} wrong)"


class CodeRequest(models.Model):
    """One request for a code, kept to throttle per identifier and per client address."""

    subject = models.CharField(max_length=64, help_text="HMAC of the identifier as typed (normalised)")
    ip = models.CharField(max_length=45, help_text="Client address (REMOTE_ADDR)")
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["subject", "at"], name="portal_request_subject_at"),
            models.Index(fields=["ip", "at"], name="portal_request_ip_at"),
            models.Index(fields=["at"], name="portal_request_at"),
        ]

    def __str__(self) -> str:
        return f"code request from {self.ip} at {self.at:%Y-%m-%d %H:%M:%S}"
