"""Log in, my account, change password. Thin: the rules are in forms, selectors and services."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from sijill.accounts import selectors
from sijill.accounts.forms import ThrottledAuthenticationForm
from sijill.accounts.permissions import CAP_LABELS, ROLE_DESCRIPTIONS, caps_of


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("password_change_done")


def account(request: HttpRequest) -> HttpResponse:
    role = selectors.role_of(request.user)
    return render(
        request,
        "accounts/account.html",
        {
            "role": role,
            "role_description": ROLE_DESCRIPTIONS.get(role) if role else None,
            "capabilities": [CAP_LABELS[c] for c in caps_of(role)],
            "national": role is not None and selectors.area_paths_of(request.user) is None,
            "areas": selectors.areas_of(request.user),
        },
    )
