"""Household imports from the web (issue 5, staff screens). Access rules: URL_ACCESS."""

from django.urls import path

from sijill.imports import views

urlpatterns = [
    path("", views.upload_list, name="imports"),
    path("<int:upload_id>/", views.upload_detail, name="import_detail"),
    path("<int:upload_id>/progress/", views.upload_progress, name="import_progress"),
    path("<int:upload_id>/files/<str:kind>/", views.upload_file, name="import_file"),
    path("<int:upload_id>/rerun/", views.upload_rerun, name="import_rerun"),
]
