"""Staff profiles (role and areas) and failed logins.

A Django ``User`` is an account; its :class:`StaffProfile` gives it one role and the
administrative areas it works in. ``User.is_staff``/``is_superuser`` only open the Django
admin and are kept in step with the ADMIN role by :mod:`sijill.accounts.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sijill.accounts.permissions import Role


class StaffProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    is_national = models.BooleanField(
        _("national"),
        default=False,
        help_text=_("Sees the whole country; otherwise only the areas below."),
    )
    areas = models.ManyToManyField(
        "registry.AdminArea",
        blank=True,
        related_name="+",
        verbose_name=_("areas"),
        help_text=_("Sees households whose area lies under one of these areas."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="staff_profile_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.role})"


class LoginFailure(models.Model):
    """One failed login, kept to throttle guessing per username and client address.

    Rows live in the database so that every server process sees the same count.
    """

    username = models.CharField(max_length=150, help_text="As typed, stripped and lower-cased")
    ip = models.CharField(max_length=45, help_text="Client address (REMOTE_ADDR)")
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["username", "ip", "at"], name="login_failure_key_at"),
            models.Index(fields=["at"], name="login_failure_at"),  # clearing old rows
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip} at {self.at:%Y-%m-%d %H:%M:%S}"
