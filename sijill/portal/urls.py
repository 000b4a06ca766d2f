"""The citizen portal's URLs (namespace ``portal``). Each has a rule in
sijill/accounts/permissions.py (URL_ACCESS, the citizen portal block)."""

from django.urls import path

from sijill.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.start, name="start"),
    path("verify/", views.verify, name="verify"),
    path("leave/", views.leave, name="leave"),
    path("household/", views.household, name="household"),
    path("household/birth/", views.declare_birth, name="declare_birth"),
    path("household/address/", views.declare_address, name="declare_address"),
    path("household/schooling/", views.declare_schooling, name="declare_schooling"),
    path("household/complaint/", views.complaint, name="complaint"),
]
