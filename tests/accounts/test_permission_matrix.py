"""Every URL of the project, requested as every role, a user without a role and anonymously.

The expected answer of each comes from the URL's rule in sijill/accounts/permissions.py
(URL_ACCESS), the module the views' guards also read. A URL without a rule fails the test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from sijill.accounts.permissions import (
    ANONYMOUS,
    EVERYONE,
    NO_ROLE,
    URL_ACCESS,
    Expect,
    access_for,
    matrix_markdown,
)
from sijill.accounts.services import set_staff_role
from tests import staff

pytestmark = pytest.mark.django_db

# Sample values for URL parameters, by name ("registry_id" is filled in with a real household).
SAMPLE_KWARGS: dict[str, Any] = {
    "object_id": "1",
    "id": 1,
    "content_type_id": 1,
    "app_label": "auth",
    "url": "no-such-page/",
}
# Paths for unnamed regular-expression patterns, by route (unnamed "<conv:name>" routes are filled in).
UNNAMED_PATHS = {"admin/(?P<url>.*)$": "/admin/no-such-page/"}
POST_DATA = {"set_language": {"language": "fr", "next": "/"}}


def url_patterns(
    resolver: URLResolver | None = None, prefix: str = "", ns: str = ""
) -> list[tuple[str, str, Any]]:
    """(key, route, pattern) for every endpoint: key is "namespace:name", or "namespace:<route>"
    for an unnamed pattern."""
    out = []
    for p in (resolver or get_resolver()).url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            inner = ":".join(x for x in (ns, p.namespace or "") if x)
            out.extend(url_patterns(p, route, inner))
        elif isinstance(p, URLPattern):
            name = p.name or f"<{p.pattern}>"
            out.append((f"{ns}:{name}" if ns else name, route, p))
    return out


def unruled() -> list[str]:
    return [key for key, _route, _p in url_patterns() if access_for(key) is None]


def _url(key: str, route: str, pattern: Any, registry_id: str, samples: dict[str, Any] | None = None) -> str:
    names = list(pattern.pattern.regex.groupindex)
    values = {**SAMPLE_KWARGS, **(samples or {})}
    kwargs = {n: registry_id if n == "registry_id" else values[n] for n in names}
    if pattern.name:
        return reverse(key, kwargs=kwargs or None)
    if route in UNNAMED_PATHS:
        return UNNAMED_PATHS[route]
    assert "^" not in route and "(?P" not in route, f"add a sample path for {route} to UNNAMED_PATHS"
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), route)


def _login_paths() -> tuple[str, ...]:
    return (reverse("login"), reverse("admin:login"))


def _matches(expect: Expect, response: Any) -> bool:
    status = response.status_code
    to_login = status == 302 and urlsplit(response["Location"]).path in _login_paths()
    return {
        Expect.OK: status == 200,
        Expect.TO_LOGIN: to_login,
        Expect.REDIRECT: status == 302,
        Expect.FORBIDDEN: status == 403,
        Expect.NOT_FOUND: status == 404,
        Expect.ADMIN_OK: status < 500 and not to_login,
    }[expect]


@pytest.fixture
def clients(geo, django_user_model) -> dict[Any, Client]:
    out: dict[Any, Client] = {ANONYMOUS: Client()}
    for who in EVERYONE[1:]:
        user = django_user_model.objects.create(username=f"u-{who}".lower().replace(" ", "-"))
        if who != NO_ROLE:
            set_staff_role(user, who, national=True)
        c = Client()
        c.force_login(user)
        out[who] = c
    return out


def test_every_url_has_an_access_rule():
    assert unruled() == []


@override_settings(ROOT_URLCONF="tests.accounts.urls_with_unruled_page")
def test_a_new_url_without_a_rule_is_reported():
    assert unruled() == ["new_page"]


def _candidate(hh: Any) -> Any:
    """A pending pair of the household's two members (the review pages need one that exists)."""
    from django.utils import timezone

    from sijill.identity.models import MatchCandidate
    from sijill.registry.models import Membership

    a, b = sorted((m.person for m in Membership.objects.filter(household=hh)), key=lambda p: p.pk)
    return MatchCandidate.objects.create(
        person_a=a, person_b=b, kind="PROBABLE", probability=0.95, created_at=timezone.now()
    )


def _finished_import() -> Any:
    """A finished web import with its rejects file (the import pages need one that exists)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from sijill.imports.models import ImportUpload

    upload = ImportUpload.objects.create(
        created_at=timezone.now(),
        created_by=get_user_model().objects.get(username="u-admin"),
        households_name="households.csv",
        persons_name="persons.csv",
        status=ImportUpload.DONE,
        phase="done",
    )
    upload.rejects_dir.mkdir(parents=True, exist_ok=True)
    (upload.rejects_dir / "errors.csv").write_text("file,row,household_ref,person_ref,column,value,reason\n")
    return upload


def _change_samples(hh: Any) -> dict[str, Any]:
    """A member of the household and a pending change request of it (the staff forms' pages)."""
    from django.utils import timezone

    from sijill.registry.models import ChangeRequest, Membership

    head = Membership.objects.get(household=hh, relationship="HEAD").person
    cr = ChangeRequest.objects.create(
        household=hh,
        kind=ChangeRequest.KIND_ADDRESS,
        payload={"address": "1 rue Neuve"},
        created_at=timezone.now(),
    )
    return {"person_id": head.registry_id, "change_request_id": cr.pk}


def test_every_url_answers_every_role_as_the_matrix_says(clients):
    hh = staff.household("MA-CAS")
    samples = {
        "candidate_id": _candidate(hh).pk,
        "upload_id": _finished_import().pk,
        "kind": "errors",
        **_change_samples(hh),
    }
    patterns = url_patterns()
    assert len(patterns) > 40  # ours and the admin's
    wrong = []
    for key, route, pattern in patterns:
        access = access_for(key)
        assert access is not None, key
        url = _url(key, route, pattern, hh.registry_id, samples)
        for who in EVERYONE:
            client = clients[who]
            if access.method == "POST":
                response = client.post(url, POST_DATA.get(key, {}))
            else:
                response = client.get(url)
            expect = access.expect(who)
            if not _matches(expect, response):
                where = response.get("Location", "")
                wrong.append(
                    f"{key} {access.method} {url} as {who}: expected {expect.value}, got {response.status_code} {where}"
                )
            if access.method == "POST" and key in ("logout", "admin:logout") and who != ANONYMOUS:
                # Logging out ended that session: log the same account back in for the next URLs.
                user = response.wsgi_request.user
                clients[who].force_login(user) if user.is_authenticated else _relogin(clients, who)
    assert wrong == [], "\n".join(wrong)


def _relogin(clients: dict[Any, Client], who: Any) -> None:
    from django.contrib.auth import get_user_model

    clients[who].force_login(get_user_model().objects.get(username=f"u-{who}".lower().replace(" ", "-")))


def test_admin_index_is_for_the_admin_role_only(clients):
    for who, client in clients.items():
        r = client.get(reverse("admin:index"))
        assert (r.status_code == 200) is (who == "ADMIN"), who


def test_docs_carry_the_current_matrix():
    text = (Path(__file__).resolve().parents[2] / "docs" / "web.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- matrix:start -->\n(.*?)<!-- matrix:end -->", text, re.S)
    assert block is not None, "docs/web.md lost its matrix markers"
    assert block.group(1) == matrix_markdown(), (
        "docs/web.md is out of date: paste the output of "
        '`python -c \'import django,os; os.environ.setdefault("DJANGO_SETTINGS_MODULE","sijill.settings"); '
        'django.setup(); from sijill.accounts.permissions import matrix_markdown; print(matrix_markdown(), end="")\'`'
    )


def test_every_rule_is_used_by_a_url():
    keys = {key for key, _r, _p in url_patterns()}
    namespaces = {k.split(":", 1)[0] for k in keys if ":" in k}
    stale = [k for k in URL_ACCESS if k not in keys and not (k.endswith(":*") and k[:-2] in namespaces)]
    assert stale == []
