"""htmx and logins: when a session has ended, an htmx request must load the login page in
full, not swap it into part of the current page."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import resolve_url


class HtmxLoginRedirectMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.headers.get("HX-Request") and response.status_code == 302:
            location = response["Location"]
            if urlsplit(location).path == resolve_url(settings.LOGIN_URL):
                return HttpResponse(status=204, headers={"HX-Redirect": location})
        return response
