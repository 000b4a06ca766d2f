"""The project's URLs plus one page that has no access rule (see test_permission_matrix)."""

from django.http import HttpResponse
from django.urls import path

from sijill.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("new-page/", lambda request: HttpResponse("hi"), name="new_page")]
