"""Every URL of the project. Each one has an access rule in sijill/accounts/permissions.py
(URL_ACCESS); the permission matrix test fails for a URL without one."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from sijill import views
from sijill.accounts import views as account_views
from sijill.dashboards import views as dashboard_views
from sijill.identity import views as identity_views
from sijill.registry import views as registry_views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/me/", account_views.account, name="account"),
    path("accounts/password/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # Registering and changing households (before households/<registry_id>/: "new" is not an id).
    path("", include("sijill.registry.staff_urls")),
    path("households/", registry_views.household_list, name="households"),
    path("households/<str:registry_id>/", registry_views.household_detail, name="household"),
    path(
        "households/<str:registry_id>/entitlements/",
        registry_views.household_entitlements,
        name="household_entitlements",
    ),
    path(
        "households/<str:registry_id>/history/",
        registry_views.household_history,
        name="household_history",
    ),
    path("statistics/", dashboard_views.statistics, name="statistics"),
    path("simulator/", dashboard_views.simulate, name="simulator"),
    # Duplicate review (issue 5, staff screens).
    path("review/", identity_views.queue, name="review_queue"),
    path("review/<int:candidate_id>/", identity_views.candidate, name="review_candidate"),
    path("review/<int:candidate_id>/decide/", identity_views.decide, name="review_decide"),
    path("review/<int:candidate_id>/undo/", identity_views.unmerge, name="review_unmerge"),
    # Household imports from the web (issue 5, staff screens).
    path("imports/", include("sijill.imports.urls")),
    # The language switch works before logging in too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    # Citizen portal (issue 5): public, separate from staff logins; see docs/portal.md.
    path("portal/", include("sijill.portal.urls")),
]
