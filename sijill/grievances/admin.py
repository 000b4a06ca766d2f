from django.contrib import admin

from sijill.grievances.models import Grievance


@admin.register(Grievance)
class GrievanceAdmin(admin.ModelAdmin):
    list_display = ("reference", "category", "status", "channel", "created_at")
    list_filter = ("status", "category", "channel")
    search_fields = ("reference",)
    readonly_fields = (
        "reference",
        "household",
        "category",
        "description",
        "contact_phone",
        "channel",
        "created_at",
    )

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
