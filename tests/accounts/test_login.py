"""Logging in and out, throttling of failed logins, session cookies, changing the password."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth.hashers import get_hasher
from django.test import Client
from django.urls import reverse

from sijill.accounts.models import LoginFailure
from sijill.accounts.selectors import login_locked_until
from tests import staff

pytestmark = pytest.mark.django_db

LOCKED_FR = "Trop d’échecs de connexion"
WRONG_FR = "Nom d’utilisateur ou mot de passe incorrect"


def _post(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_argon2_is_the_first_password_hasher():
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert get_hasher().algorithm == "argon2"


def test_login_redirects_to_the_dashboard_with_the_role_menu(geo, client):
    staff.staff("agent", "ENUMERATOR", ("MA-CAS",))
    r = _post(client, "agent", staff.PASSWORD)
    assert r.status_code == 302 and r["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert 'aria-current="page"' in home.text and "Tableau de bord" in home.text
    assert reverse("households") in home.text and reverse("statistics") not in home.text
    assert "Casablanca" in home.text


def test_five_failures_lock_the_username_and_address_for_a_while(geo):
    staff.staff("agent", "ENUMERATOR", ("MA-CAS",))
    client = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(4):
        r = _post(client, "agent", "wrong-password")
        assert r.status_code == 200 and WRONG_FR in r.text
    r = _post(client, "Agent ", "wrong-password")  # the fifth, spelt differently: same key
    assert LOCKED_FR in r.text and "15 minutes" in r.text
    # Now even the right password is refused, with the same message...
    r = _post(client, "agent", staff.PASSWORD)
    assert r.status_code == 200 and LOCKED_FR in r.text and "_auth_user_id" not in client.session
    # ...and refused attempts are not counted as more failures.
    assert LoginFailure.objects.count() == 5
    # Another address is not locked.
    other = Client(REMOTE_ADDR="10.0.0.2")
    assert _post(other, "agent", staff.PASSWORD).status_code == 302
    # After the lock time, the right password works and clears the failures.
    LoginFailure.objects.update(at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert login_locked_until("agent", "10.0.0.1") is None
    assert _post(client, "agent", staff.PASSWORD).status_code == 302
    assert not LoginFailure.objects.filter(ip="10.0.0.1").exists()


def test_an_unknown_username_gets_exactly_the_same_messages(geo):
    staff.staff("agent", "ENUMERATOR", ("MA-CAS",))
    known, unknown = Client(REMOTE_ADDR="10.0.0.3"), Client(REMOTE_ADDR="10.0.0.3")
    for i in range(6):
        a = _post(known, "agent", "wrong-password")
        b = _post(unknown, "nobody-here", "wrong-password")
        errors_a = [str(e) for e in a.context["form"].non_field_errors()]
        errors_b = [str(e) for e in b.context["form"].non_field_errors()]
        assert errors_a == errors_b, i
        assert (LOCKED_FR in errors_a[0]) is (i >= 4)


def test_failures_spread_over_more_than_the_window_do_not_lock(geo):
    from django.utils import timezone

    now = timezone.now()
    for minutes in (40, 30, 20, 10, 0):  # five failures over 40 minutes
        LoginFailure.objects.create(username="agent", ip="10.0.0.4", at=now - dt.timedelta(minutes=minutes))
    assert login_locked_until("agent", "10.0.0.4", now) is None
    LoginFailure.objects.create(username="agent", ip="10.0.0.4", at=now)  # the last five span 30 minutes
    assert login_locked_until("agent", "10.0.0.4", now) is None
    for _ in range(2):  # the last five now span 10 minutes
        LoginFailure.objects.create(username="agent", ip="10.0.0.4", at=now)
    until = login_locked_until("agent", "10.0.0.4", now)
    assert until == now + dt.timedelta(minutes=15)


def test_session_cookie_is_httponly_lax_and_ends_with_the_browser(geo, client):
    staff.staff("agent", "ENUMERATOR", ("MA-CAS",))
    r = _post(client, "agent", staff.PASSWORD)
    cookie = r.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["max-age"] and not cookie["expires"]  # a browser-session cookie
    assert cookie["secure"] == (True if settings.SESSION_COOKIE_SECURE else "")
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    # Secure unless DEBUG or told otherwise (see settings.py).
    assert settings.SESSION_COOKIE_SECURE is (settings.CSRF_COOKIE_SECURE)


def test_logout_is_a_post_and_returns_to_the_login_page(geo, client):
    client.force_login(staff.staff("agent", "ENUMERATOR", ("MA-CAS",)))
    r = client.post(reverse("logout"))
    assert r.status_code == 302 and r["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_change_password_keeps_this_session_and_ends_the_others(geo):
    user = staff.staff("agent", "ENUMERATOR", ("MA-CAS",))
    here, elsewhere = Client(), Client()
    here.force_login(user)
    elsewhere.force_login(user)
    page = here.get(reverse("account"))
    assert "Enquêteur ou agent de centre" in page.text and "Casablanca" in page.text
    bad = here.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": "short", "new_password2": "short"},
    )
    assert bad.status_code == 200 and 'aria-invalid="true"' in bad.text
    new = "a-much-better-passphrase-42"
    r = here.post(
        reverse("password_change"),
        {"old_password": staff.PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert r.status_code == 302 and r["Location"] == reverse("password_change_done")
    assert here.get(reverse("password_change_done")).status_code == 200
    assert elsewhere.get(reverse("account")).status_code == 302  # logged out
    user.refresh_from_db()
    assert user.check_password(new)


def test_an_account_without_a_role_is_told_so(db, client, django_user_model):
    client.force_login(django_user_model.objects.create_user("plain", password=staff.PASSWORD))
    page = client.get(reverse("home"))
    assert page.status_code == 200 and "pas encore de rôle" in page.text
    assert 'aria-label="Menu principal"' not in page.text


def test_an_empty_field_is_reported_next_to_it(db, client):
    r = client.post(reverse("login"), {"username": "agent", "password": ""})
    assert r.status_code == 200
    assert 'id="id_password_errors"' in r.text and 'aria-describedby="id_password_errors"' in r.text
    assert "Ce champ est obligatoire" in r.text
    assert not LoginFailure.objects.exists()  # not a failed login
