from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from sijill.accounts.models import LoginFailure, StaffProfile
from sijill.accounts.permissions import Role


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    filter_horizontal = ("areas",)
    extra = 0


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    inlines = (StaffProfileInline,)
    list_display = ("username", "email", "role", "is_active", "last_login")

    def save_related(self, request, form, formsets, change):  # type: ignore[no-untyped-def]
        """Keep the admin-site flags in step with the role, as the services do."""
        super().save_related(request, form, formsets, change)
        user = form.instance
        profile = StaffProfile.objects.filter(user=user).first()
        if profile is not None:
            is_admin = profile.role == Role.ADMIN
            if user.is_staff != is_admin or user.is_superuser != is_admin:
                user.is_staff = user.is_superuser = is_admin
                user.save(update_fields=["is_staff", "is_superuser"])

    @admin.display(description="role")
    def role(self, obj):  # type: ignore[no-untyped-def]
        profile = getattr(obj, "staff_profile", None)
        return profile.role if profile else ""


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    list_display = ("username", "ip", "at")
    search_fields = ("username", "ip")
    list_filter = ("at",)
