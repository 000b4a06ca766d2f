from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from sijill.accounts import selectors, services


def client_ip(request: Any) -> str:
    """The client's address as the server sees it. Behind a reverse proxy, make the proxy set
    REMOTE_ADDR (e.g. waitress ``trusted_proxy``) rather than trusting a header here."""
    return str((request.META.get("REMOTE_ADDR") if request is not None else "") or "unknown")


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing a (username, address) pair after repeated failures.

    The messages are the same whether or not the account exists.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The username or password is incorrect. Please try again."),
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request)
        if username:
            self._refuse_if_locked(username, ip)
        try:
            return super().clean()
        except forms.ValidationError:
            if username:
                services.record_login_failure(username, ip)
                self._refuse_if_locked(username, ip)
            raise

    def _refuse_if_locked(self, username: str, ip: str) -> None:
        until = selectors.login_locked_until(username, ip)
        if until is None:
            return
        minutes = max(1, -(-int((until - timezone.now()).total_seconds()) // 60))
        message = ngettext(
            "Too many failed attempts. Try again in %(minutes)d minute.",
            "Too many failed attempts. Try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
        raise forms.ValidationError(message, code="locked")

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        services.clear_login_failures(self.cleaned_data.get("username") or "", client_ip(self.request))
