"""View guards: a role (or a capability) is required.

Anonymous visitors are sent to the login page; a logged-in account without the role gets
403. Area limits are not checked here: views read households through
:func:`sijill.accounts.selectors.scope_households`, so an out-of-area household is a 404
(its existence is not disclosed).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from sijill.accounts.permissions import ROLES_WITH, Cap, Role
from sijill.accounts.selectors import role_of

V = TypeVar("V", bound=Callable[..., HttpResponseBase])


def role_required(*roles: Role) -> Callable[[V], V]:
    """Allow only accounts whose role is one of ``roles``."""
    allowed = frozenset(roles)

    def decorator(view: V) -> V:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if role_of(request.user) not in allowed:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        guarded.sijill_roles = allowed  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorator


def capability_required(cap: Cap) -> Callable[[V], V]:
    """Allow the roles that hold ``cap`` (see :data:`sijill.accounts.permissions.ROLES_WITH`)."""
    return role_required(*ROLES_WITH[cap])


class RoleRequiredMixin:
    """Class-based views: set ``capability`` (or ``roles``)."""

    capability: Cap | None = None
    roles: tuple[Role, ...] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        roles = tuple(ROLES_WITH[self.capability]) if self.capability else self.roles
        inner = super().dispatch  # type: ignore[misc]
        return role_required(*roles)(inner)(request, *args, **kwargs)  # type: ignore[no-any-return]
