from django.contrib import admin

from sijill.portal.models import Challenge, CodeRequest


@admin.register(Challenge)
class ChallengeAdmin(admin.ModelAdmin):
    """Read only; deleting a row ends that code at once."""

    list_display = ("id", "created_at", "expires_at", "attempts", "used_at")
    readonly_fields = ("household", "subject", "code_hash", "created_at", "expires_at", "attempts", "used_at")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(CodeRequest)
class CodeRequestAdmin(admin.ModelAdmin):
    """Deleting an address's rows lifts its request throttle at once."""

    list_display = ("ip", "at")
    search_fields = ("ip",)
    readonly_fields = ("subject", "ip", "at")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
