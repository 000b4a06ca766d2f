"""Who may do what: roles, capabilities, and the access rule of every URL.

This module is the single source of truth for permissions:

- :data:`ROLES_WITH` says which roles hold each capability. Views check it through
  :func:`sijill.accounts.access.capability_required`; menus and the dashboard show only
  what the role holds (:data:`MENU`).
- :data:`URL_ACCESS` gives the access rule of every URL of the project. The permission
  matrix test (``tests/accounts/test_permission_matrix.py``) walks the URL resolver, finds
  every pattern's rule here (a URL without one fails the test), and requests it as every
  role, as a user without a role and anonymously, expecting :meth:`Access.expect`.
- docs/web.md carries :func:`matrix_markdown`; a test keeps it identical.

Area limits are separate from roles: a staff account sees only households whose area lies
under one of its areas, unless it is national (see :mod:`sijill.accounts.selectors`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ENUMERATOR = "ENUMERATOR", _("Enumerator or centre agent")
    SOCIAL_WORKER = "SOCIAL_WORKER", _("Social worker")
    PROGRAMME_OFFICER = "PROGRAMME_OFFICER", _("Programme officer")
    DEDUP_REVIEWER = "DEDUP_REVIEWER", _("Duplicate reviewer")
    POLICY_ANALYST = "POLICY_ANALYST", _("Policy analyst")
    AUDITOR = "AUDITOR", _("Auditor")
    ADMIN = "ADMIN", _("Administrator")


ROLE_DESCRIPTIONS: Mapping[Role, Promise] = {
    Role.ENUMERATOR: _("Registers households in the field or at a centre, within the assigned areas."),
    Role.SOCIAL_WORKER: _("Follows households of the assigned areas and reads their history."),
    Role.PROGRAMME_OFFICER: _("Reads households and programme decisions, and follows programme figures."),
    Role.DEDUP_REVIEWER: _("Examines possible duplicate persons and households."),
    Role.POLICY_ANALYST: _("Works on aggregate figures and simulations; sees no individual household."),
    Role.AUDITOR: _("Reads everything, including the full history of changes; changes nothing."),
    Role.ADMIN: _("Manages staff accounts, roles and areas, and the site's settings."),
}


class Cap(enum.StrEnum):
    """A capability: something a role may do. Every view that needs a role names one."""

    VIEW_HOUSEHOLDS = "view_households"
    VIEW_HISTORY = "view_history"
    VIEW_STATISTICS = "view_statistics"
    ADMINISTER = "administer"
    # Duplicate review (issue 5, staff screens): read the queue, decide pairs and undo merges.
    VIEW_DUPLICATES = "view_duplicates"
    REVIEW_DUPLICATES = "review_duplicates"
    # Policy simulator (issue 5): change thresholds and amounts, compare with current law.
    RUN_SIMULATIONS = "run_simulations"
    # Household imports from the web (issue 5, staff screens): upload, follow, download rejects.
    IMPORT_HOUSEHOLDS = "import_households"
    # Registering and changing households on the web; maker-checker of sensitive changes.
    EDIT_HOUSEHOLDS = "edit_households"
    VIEW_CHANGES = "view_changes"
    DECIDE_CHANGES = "decide_changes"


CAP_LABELS: Mapping[Cap, Promise] = {
    Cap.VIEW_HOUSEHOLDS: _("Read households, their members and programme decisions (in the account's areas)"),
    Cap.VIEW_HISTORY: _("Read the full history of changes to a household"),
    Cap.VIEW_STATISTICS: _("Read aggregate statistics (in the account's areas)"),
    Cap.ADMINISTER: _("Administration: staff accounts, roles, areas (Django admin)"),
    Cap.VIEW_DUPLICATES: _("Read the possible duplicates and their decisions (in the account's areas)"),
    Cap.REVIEW_DUPLICATES: _("Decide possible duplicates: merge or keep apart, undo a merge"),
    Cap.RUN_SIMULATIONS: _("Simulate changed thresholds and amounts against current law (whole country)"),
    Cap.IMPORT_HOUSEHOLDS: _(
        "Import files of households (in the account's areas) and read their rejected rows"
    ),
    Cap.EDIT_HOUSEHOLDS: _(
        "Register households and change them (in the account's areas); sensitive changes wait for approval"
    ),
    Cap.VIEW_CHANGES: _("Read the requested changes to households (in the account's areas)"),
    Cap.DECIDE_CHANGES: _("Approve or reject changes asked for by someone else"),
}

R = Role
ROLES_WITH: Mapping[Cap, frozenset[Role]] = {
    Cap.VIEW_HOUSEHOLDS: frozenset(
        {R.ENUMERATOR, R.SOCIAL_WORKER, R.PROGRAMME_OFFICER, R.DEDUP_REVIEWER, R.AUDITOR, R.ADMIN}
    ),
    Cap.VIEW_HISTORY: frozenset({R.SOCIAL_WORKER, R.AUDITOR, R.ADMIN}),
    Cap.VIEW_STATISTICS: frozenset({R.PROGRAMME_OFFICER, R.POLICY_ANALYST, R.AUDITOR, R.ADMIN}),
    Cap.ADMINISTER: frozenset({R.ADMIN}),
    Cap.VIEW_DUPLICATES: frozenset({R.DEDUP_REVIEWER, R.AUDITOR, R.ADMIN}),
    Cap.REVIEW_DUPLICATES: frozenset({R.DEDUP_REVIEWER, R.ADMIN}),
    Cap.RUN_SIMULATIONS: frozenset({R.POLICY_ANALYST, R.ADMIN}),
    Cap.IMPORT_HOUSEHOLDS: frozenset({R.ENUMERATOR, R.ADMIN}),
    Cap.EDIT_HOUSEHOLDS: frozenset({R.ENUMERATOR, R.ADMIN}),
    Cap.VIEW_CHANGES: frozenset({R.ENUMERATOR, R.SOCIAL_WORKER, R.AUDITOR, R.ADMIN}),
    Cap.DECIDE_CHANGES: frozenset({R.SOCIAL_WORKER, R.ADMIN}),
}


def role_can(role: Role | str | None, cap: Cap) -> bool:
    return role is not None and role in ROLES_WITH[cap]


def caps_of(role: Role | str | None) -> list[Cap]:
    return [c for c in Cap if role_can(role, c)]


# --- URLs --------------------------------------------------------------------------------


class Expect(enum.Enum):
    """The response the permission matrix test expects."""

    OK = "200"
    TO_LOGIN = "302 → login"
    REDIRECT = "302"
    FORBIDDEN = "403"
    NOT_FOUND = "404"
    # Past the Django admin's gate: no login redirect and no server error. The admin may still
    # refuse an action itself (403 on adding to the registry's read-only tables).
    ADMIN_OK = "admin"


# Who is asking: an anonymous visitor, a logged-in account without a role, or a role.
ANONYMOUS: Literal["anonymous"] = "anonymous"
NO_ROLE: Literal["no role"] = "no role"
Who = Role | Literal["anonymous", "no role"]
EVERYONE: tuple[Who, ...] = (ANONYMOUS, NO_ROLE, *Role)


@dataclass(frozen=True)
class Access:
    """The access rule of one URL.

    ``rule``: ``public`` (anyone), ``redirect`` (anyone, answers with a redirect: the
    language switch, log out), ``citizen`` (a page of the citizen portal that needs a
    verified citizen session, or a code request in progress: everyone else, staff included,
    is redirected to /portal/), ``login`` (any logged-in account), ``capability`` (a role
    holding ``cap``), ``admin`` (the Django admin site: ADMIN only), ``fixed`` (the
    expectations are listed in ``fixed``: the admin's own login and logout pages).
    """

    rule: Literal["public", "redirect", "citizen", "login", "capability", "admin", "fixed"]
    cap: Cap | None = None
    method: Literal["GET", "POST"] = "GET"
    fixed: Mapping[str, Expect] = field(default_factory=dict)

    def expect(self, who: Who) -> Expect:
        if self.rule == "fixed":
            return self.fixed[who] if who in self.fixed else self.fixed["*"]
        if self.rule == "public":
            return Expect.OK
        if self.rule in ("redirect", "citizen"):
            return Expect.REDIRECT
        if who == ANONYMOUS:
            return Expect.TO_LOGIN  # LoginRequiredMiddleware, or the view's own check
        if self.rule == "login":
            return Expect.OK
        if self.rule == "admin":
            return Expect.ADMIN_OK if who == Role.ADMIN else Expect.TO_LOGIN
        assert self.cap is not None
        return Expect.OK if role_can(who if who != NO_ROLE else None, self.cap) else Expect.FORBIDDEN

    def describe(self) -> str:
        if self.rule == "capability":
            assert self.cap is not None
            return f"`{self.cap}`"
        return self.rule


PUBLIC = Access("public")
LOGIN = Access("login")
ADMIN_SITE = Access("admin")
CITIZEN = Access("citizen")


def needs(cap: Cap) -> Access:
    return Access("capability", cap)


# Keys are "name" or "namespace:name"; "namespace:*" covers every URL of a namespace
# (including its unnamed patterns).
URL_ACCESS: Mapping[str, Access] = {
    "healthz": PUBLIC,
    "login": PUBLIC,
    "logout": Access("redirect", method="POST"),
    "set_language": Access("redirect", method="POST"),
    "home": LOGIN,
    "account": LOGIN,
    "password_change": LOGIN,
    "password_change_done": LOGIN,
    "households": needs(Cap.VIEW_HOUSEHOLDS),
    "household": needs(Cap.VIEW_HOUSEHOLDS),
    "household_entitlements": needs(Cap.VIEW_HOUSEHOLDS),
    "household_history": needs(Cap.VIEW_HISTORY),
    "statistics": needs(Cap.VIEW_STATISTICS),
    # Duplicate review (issue 5, staff screens).
    "review_queue": needs(Cap.VIEW_DUPLICATES),
    "review_candidate": needs(Cap.VIEW_DUPLICATES),
    "review_decide": Access("capability", Cap.REVIEW_DUPLICATES, method="POST"),
    "review_unmerge": Access("capability", Cap.REVIEW_DUPLICATES, method="POST"),
    # Policy simulator (issue 5); its CSV is the same URL with ?download=.
    "simulator": needs(Cap.RUN_SIMULATIONS),
    # Household imports (issue 5, staff screens).
    "imports": needs(Cap.IMPORT_HOUSEHOLDS),
    "import_detail": needs(Cap.IMPORT_HOUSEHOLDS),
    "import_progress": needs(Cap.IMPORT_HOUSEHOLDS),
    "import_file": needs(Cap.IMPORT_HOUSEHOLDS),
    "import_rerun": Access("capability", Cap.IMPORT_HOUSEHOLDS, method="POST"),
    # Registering and changing households; requested changes (maker-checker).
    "household_register": needs(Cap.EDIT_HOUSEHOLDS),
    "household_member_row": needs(Cap.EDIT_HOUSEHOLDS),
    "household_edit": needs(Cap.EDIT_HOUSEHOLDS),
    "household_request_area": needs(Cap.EDIT_HOUSEHOLDS),
    "household_request_member": needs(Cap.EDIT_HOUSEHOLDS),
    "household_request_head": needs(Cap.EDIT_HOUSEHOLDS),
    "person_request_change": needs(Cap.EDIT_HOUSEHOLDS),
    "person_request_removal": needs(Cap.EDIT_HOUSEHOLDS),
    "person_situation": needs(Cap.EDIT_HOUSEHOLDS),
    "change_requests": needs(Cap.VIEW_CHANGES),
    "change_request": needs(Cap.VIEW_CHANGES),
    "change_request_decide": Access("capability", Cap.DECIDE_CHANGES, method="POST"),
    "admin:*": ADMIN_SITE,
    # Django's admin login shows its form to anyone (and sends a logged-in administrator on
    # to the admin index); its logout takes a POST, sends a non-administrator to /admin/ and
    # an administrator, logged out, to the login page.
    "admin:login": Access("fixed", fixed={ANONYMOUS: Expect.OK, Role.ADMIN: Expect.REDIRECT, "*": Expect.OK}),
    "admin:logout": Access(
        "fixed",
        method="POST",
        fixed={ANONYMOUS: Expect.TO_LOGIN, Role.ADMIN: Expect.TO_LOGIN, "*": Expect.REDIRECT},
    ),
    # --- Citizen portal (issue 5, docs/portal.md): no staff login is needed or used; staff
    # accounts get the same answers as anonymous visitors. ---
    "portal:start": PUBLIC,
    "portal:verify": CITIZEN,
    "portal:leave": Access("redirect", method="POST"),
    "portal:household": CITIZEN,
    "portal:declare_birth": CITIZEN,
    "portal:declare_address": CITIZEN,
    "portal:declare_schooling": CITIZEN,
    "portal:complaint": CITIZEN,
}


def access_for(key: str) -> Access | None:
    if key in URL_ACCESS:
        return URL_ACCESS[key]
    if ":" in key:  # "namespace:name", or "namespace:<route>" for an unnamed pattern
        namespace = key.split(":<", 1)[0] if ":<" in key else key.rsplit(":", 1)[0]
        return URL_ACCESS.get(namespace + ":*")
    return None


# --- Menu --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuItem:
    url_name: str
    label: Promise
    description: Promise
    cap: Cap | None = None  # None: every account
    also_current_for: tuple[str, ...] = ()  # other views of the same section

    def is_current(self, view_name: str) -> bool:
        return view_name == self.url_name or view_name in self.also_current_for


MENU: tuple[MenuItem, ...] = (
    MenuItem("home", _("Dashboard"), _("What your role can do, and where.")),
    MenuItem(
        "households",
        _("Households"),
        _("Find a household in your areas: members, programme decisions, history."),
        Cap.VIEW_HOUSEHOLDS,
        (
            "household",
            "household_entitlements",
            "household_history",
            "household_edit",
            "household_request_area",
            "household_request_member",
            "household_request_head",
            "person_request_change",
            "person_request_removal",
            "person_situation",
        ),
    ),
    MenuItem(
        "household_register",
        _("Register"),
        _("Register a new household with its members, in your areas."),
        Cap.EDIT_HOUSEHOLDS,
        ("household_member_row",),
    ),
    MenuItem(
        "change_requests",
        _("Changes"),
        _("Changes to households waiting for approval: compare before and after, approve or reject."),
        Cap.VIEW_CHANGES,
        ("change_request", "change_request_decide"),
    ),
    MenuItem(
        "statistics",
        _("Statistics"),
        _("Households by region and programme decisions, in your areas."),
        Cap.VIEW_STATISTICS,
    ),
    MenuItem(
        "simulator",
        _("Policy simulator"),
        _("Change programme thresholds and amounts and compare with current law."),
        Cap.RUN_SIMULATIONS,
    ),
    MenuItem(
        "review_queue",
        _("Duplicates"),
        _("Possible duplicate persons in your areas: compare, decide, undo a merge."),
        Cap.VIEW_DUPLICATES,
        ("review_candidate", "review_decide", "review_unmerge"),
    ),
    MenuItem(
        "imports",
        _("Imports"),
        _("Load a file of households, follow its progress, download the rejected rows."),
        Cap.IMPORT_HOUSEHOLDS,
        ("import_detail", "import_progress", "import_file", "import_rerun"),
    ),
    MenuItem(
        "admin:index",
        _("Administration"),
        _("Staff accounts, roles, areas and reference data."),
        Cap.ADMINISTER,
    ),
)


def menu_for(role: Role | str | None) -> list[MenuItem]:
    if role is None:
        return []
    return [m for m in MENU if m.cap is None or role_can(role, m.cap)]


# --- Documentation -----------------------------------------------------------------------

_SYMBOL = {
    Expect.OK: "200",
    Expect.TO_LOGIN: "login",
    Expect.REDIRECT: "302",
    Expect.FORBIDDEN: "403",
    Expect.NOT_FOUND: "404",
    Expect.ADMIN_OK: "admin",
}


def _who_header(who: Who) -> str:
    return who.value if isinstance(who, Role) else who


def matrix_markdown(keys: Iterable[str] | None = None) -> str:
    """The role × capability table and the URL × role table, as in docs/web.md."""
    roles = list(Role)
    lines = ["| capability | " + " | ".join(r.value for r in roles) + " |"]
    lines.append("|---|" + "---|" * len(roles))
    for cap in Cap:
        lines.append(f"| `{cap}` | " + " | ".join("✔" if r in ROLES_WITH[cap] else "" for r in roles) + " |")
    lines.append("")
    lines.append("| URL name | method | rule | " + " | ".join(_who_header(w) for w in EVERYONE) + " |")
    lines.append("|---|---|---|" + "---|" * len(EVERYONE))
    for key in keys if keys is not None else URL_ACCESS:
        a = URL_ACCESS[key]
        cells = " | ".join(_SYMBOL[a.expect(w)] for w in EVERYONE)
        lines.append(f"| `{key}` | {a.method} | {a.describe()} | {cells} |")
    return "\n".join(lines) + "\n"
