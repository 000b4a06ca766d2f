"""URLs of the staff forms (registration, edits, requested changes). Included by
sijill/urls.py before ``households/<registry_id>/`` so that ``households/new/`` is not
taken for a registry number."""

from django.urls import path

from sijill.registry import staff_views as v

urlpatterns = [
    path("households/new/", v.register, name="household_register"),
    path("households/new/member-row/", v.member_row, name="household_member_row"),
    path("households/<str:registry_id>/edit/", v.edit, name="household_edit"),
    path("households/<str:registry_id>/edit/area/", v.request_area, name="household_request_area"),
    path("households/<str:registry_id>/edit/head/", v.request_head, name="household_request_head"),
    path("households/<str:registry_id>/edit/member/", v.request_member, name="household_request_member"),
    path(
        "households/<str:registry_id>/members/<str:person_id>/change/",
        v.request_person_change,
        name="person_request_change",
    ),
    path(
        "households/<str:registry_id>/members/<str:person_id>/situation/",
        v.member_situation,
        name="person_situation",
    ),
    path(
        "households/<str:registry_id>/members/<str:person_id>/leave/",
        v.request_removal,
        name="person_request_removal",
    ),
    path("changes/", v.queue, name="change_requests"),
    path("changes/<int:change_request_id>/", v.detail, name="change_request"),
    path("changes/<int:change_request_id>/decide/", v.decide, name="change_request_decide"),
]
