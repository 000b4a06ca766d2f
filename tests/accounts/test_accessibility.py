"""Every page of the staff back office and the citizen portal, read as a screen reader would.

The permission matrix (test_permission_matrix.py) walks every URL; this test takes every
page that answers 200 to a national administrator (staff pages) or to a citizen with a
session (portal pages), in French and in Arabic, and checks what assistive technology
and keyboard users rely on:

- the document says its language and direction (``<html lang="ar" dir="rtl">``), has a
  title, one ``main`` landmark and a skip link to it;
- every form control has a label (``<label for>``, a wrapping ``<label>``, ``aria-label``
  or ``aria-labelledby``), and ids are unique so that labels point at one control;
- every link and button has a name, every image a text alternative, every chart
  (``<svg role="img">``) a title or label;
- htmx fragments (no ``<html>``) are checked for the same control rules.

The Django admin is Django's own and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sijill.accounts.permissions import ANONYMOUS, Expect, Role, access_for
from sijill.accounts.services import set_staff_role
from tests import staff
from tests.accounts.test_permission_matrix import (
    _candidate,
    _change_samples,
    _finished_import,
    _url,
    url_patterns,
)

pytestmark = pytest.mark.django_db

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
CONTROLS = {"input", "select", "textarea"}
UNLABELLED_INPUTS = {"hidden", "submit", "button", "reset", "image"}


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)
    inside_label: bool = False


class Page(HTMLParser):
    """A flat reading of a page: its controls, links, buttons, images and charts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html_attrs: dict[str, str] | None = None
        self.title = ""
        self.mains = 0
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.controls: list[_Node] = []
        self.named: list[_Node] = []  # links and buttons, with the text inside them
        self.images: list[_Node] = []
        self.charts: list[_Node] = []
        self.skip_links: list[str] = []
        self._stack: list[_Node] = []
        self._in_title = False
        self._labels = 0

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: (v or "") for k, v in attrs_list}
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "html":
            self.html_attrs = attrs
        elif tag == "title" and not self._stack_has("svg"):
            self._in_title = True
        elif tag == "main" or attrs.get("role") == "main":
            self.mains += 1
        elif tag == "label":
            self._labels += 1
            if "for" in attrs:
                self.label_for.add(attrs["for"])
        node = _Node(tag, attrs, inside_label=self._labels > 0)
        if tag in CONTROLS:
            self.controls.append(node)
        elif (tag == "a" and "href" in attrs) or tag == "button":
            self.named.append(node)
            if tag == "a" and "skip-link" in attrs.get("class", ""):
                self.skip_links.append(attrs["href"])
        elif tag == "img":
            self.images.append(node)
        elif tag == "svg" and attrs.get("role") == "img":
            self.charts.append(node)
        if tag not in VOID:
            self._stack.append(node)

    def _stack_has(self, tag: str) -> bool:
        return any(n.tag == tag for n in self._stack)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag == "label":
            self._labels = max(0, self._labels - 1)
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i].tag == tag:
                del self._stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        for node in self._stack:
            node.text.append(data)
            # An svg chart's <title> is its name.
            if node.tag == "svg" and self._stack[-1].tag == "title":
                node.attrs.setdefault("aria-label", data)


def problems(html: str, lang: str) -> list[str]:
    page = Page()
    page.feed(html)
    found: list[str] = []
    if page.html_attrs is not None:  # a whole document, not an htmx fragment
        want = {"lang": lang, "dir": "rtl" if lang == "ar" else "ltr"}
        if {k: page.html_attrs.get(k) for k in want} != want:
            found.append(f"<html> says {page.html_attrs}, expected {want}")
        if not page.title.strip():
            found.append("no <title>")
        if page.mains != 1:
            found.append(f"{page.mains} main landmarks")
        if not page.skip_links:
            found.append("no skip link")
    dupes = sorted({i for i in page.ids if page.ids.count(i) > 1})
    if dupes:
        found.append(f"duplicate ids {dupes}")
    for c in page.controls:
        if c.tag == "input" and c.attrs.get("type", "text") in UNLABELLED_INPUTS:
            continue
        labelled = (
            c.inside_label
            or c.attrs.get("id", "\0") in page.label_for
            or c.attrs.get("aria-label", "").strip()
            or c.attrs.get("aria-labelledby", "").strip()
        )
        if not labelled:
            found.append(f"<{c.tag} name={c.attrs.get('name')!r}> has no label")
    for n in page.named:
        name = (
            "".join(n.text).strip()
            or n.attrs.get("aria-label", "").strip()
            or n.attrs.get("title", "").strip()
        )
        if not name:
            found.append(f"<{n.tag} {n.attrs}> has no accessible name")
    for img in page.images:
        if "alt" not in img.attrs:
            found.append(f"<img src={img.attrs.get('src')!r}> has no alt")
    for chart in page.charts:
        if not (chart.attrs.get("aria-label", "").strip() or chart.attrs.get("aria-labelledby", "").strip()):
            found.append("a chart (<svg role=img>) has no title or label")
    return found


def test_the_checker_sees_what_is_missing():
    bad = (
        '<html lang="en" dir="ltr"><head><title> </title></head><body>'
        '<input name="q"><select id="x" name="s"></select><a href="/"></a><img src="a.png">'
        '<svg role="img"></svg><div id="x"></div></body></html>'
    )
    assert problems(bad, "ar") == [
        "<html> says {'lang': 'en', 'dir': 'ltr'}, expected {'lang': 'ar', 'dir': 'rtl'}",
        "no <title>",
        "0 main landmarks",
        "no skip link",
        "duplicate ids ['x']",
        "<input name='q'> has no label",
        "<select name='s'> has no label",
        "<a {'href': '/'}> has no accessible name",
        "<img src='a.png'> has no alt",
        "a chart (<svg role=img>) has no title or label",
    ]
    good = (
        '<html lang="ar" dir="rtl"><head><title>t</title></head><body><a class="skip-link" href="#m">x</a>'
        '<main id="m"><label>Nom <input name="q"></label><label for="s">S</label><select id="s" name="s"></select>'
        '<a href="/" aria-label="accueil"></a><img src="a.png" alt=""><svg role="img"><title>Chart</title></svg>'
        "</main></body></html>"
    )
    assert problems(good, "ar") == []


def _pages(who: Any) -> list[tuple[str, str, Any]]:
    out = []
    for key, route, pattern in url_patterns():
        if key.startswith("admin:"):
            continue
        access = access_for(key)
        assert access is not None, key
        if access.method == "GET" and access.expect(who) == Expect.OK:
            out.append((key, route, pattern))
    return out


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_every_staff_page_is_labelled_for_screen_readers(lang, django_user_model):
    staff.geography()
    hh = staff.household("MA-CAS", amount="1234.50")
    user = django_user_model.objects.create(username="u-admin")  # the owner of _finished_import()
    set_staff_role(user, Role.ADMIN, national=True)
    samples = {
        "candidate_id": _candidate(hh).pk,
        "upload_id": _finished_import().pk,
        "kind": "errors",
        **_change_samples(hh),
    }
    client = Client(headers={"accept-language": lang})
    client.force_login(user)
    checked, wrong = 0, []
    for key, route, pattern in _pages(Role.ADMIN):
        url = _url(key, route, pattern, hh.registry_id, samples)
        r = client.get(url)
        if r.status_code != 200 or "html" not in r.get("Content-Type", ""):
            continue
        checked += 1
        wrong += [f"{url}: {p}" for p in problems(r.content.decode(), lang)]
    assert checked >= 8  # the dashboard, households, a household, its history, statistics, ...
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_every_citizen_page_is_labelled_for_screen_readers(lang):
    from sijill.portal import session as citizen

    staff.geography()
    hh = staff.household("MA-CAS", amount="1234.50")
    anonymous = Client(headers={"accept-language": lang})
    signed_in = Client(headers={"accept-language": lang})
    s = signed_in.session
    now = timezone.now().isoformat()
    s[citizen.CITIZEN] = {"household": hh.pk, "since": now, "seen": now}
    s.save()
    checked, wrong = 0, []
    portal = [(k, r, p) for k, r, p in url_patterns() if k.startswith("portal:")]
    assert portal, "the portal has no pages"
    for key, route, pattern in portal:
        access = access_for(key)
        assert access is not None
        if access.method != "GET":
            continue
        client = signed_in if access.rule == "citizen" else anonymous
        if access.rule != "citizen" and access.expect(ANONYMOUS) != Expect.OK:
            continue
        url = _url(key, route, pattern, hh.registry_id)
        r = client.get(url)
        if r.status_code != 200 or "html" not in r.get("Content-Type", ""):
            continue
        checked += 1
        wrong += [f"{url}: {p}" for p in problems(r.content.decode(), lang)]
    assert checked >= 3
    assert wrong == [], "\n".join(wrong)


def test_the_login_page_is_labelled(client):
    r = client.get(reverse("login"), headers={"accept-language": "ar"})
    assert problems(r.content.decode(), "ar") == []
