from django.contrib import admin

from sijill.core.models import ChangeSet, HistoryEntry
from sijill.registry.models import (
    AdminArea,
    ChangeRequest,
    ExternalIdentifier,
    Household,
    ImportJob,
    Membership,
    Person,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Registry records change through services (history, versions), not raw admin edits."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ("registry_id", "external_ref", "area", "milieu", "registered_on", "version", "is_deleted")
    list_filter = ("milieu", "is_deleted")
    search_fields = ("registry_id", "external_ref")
    list_select_related = ("area",)
    show_full_result_count = False


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = (
        "registry_id",
        "given_name_lat",
        "family_name_lat",
        "given_name_ar",
        "family_name_ar",
        "sex",
        "birth_date",
    )
    list_filter = ("sex", "vital_status")
    search_fields = ("registry_id", "=external_ref", "family_name_lat", "family_name_ar")
    show_full_result_count = False


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("person", "household", "relationship", "start_date", "end_date")
    raw_id_fields = ("person", "household")
    show_full_result_count = False


@admin.register(ExternalIdentifier)
class ExternalIdentifierAdmin(ReadOnlyAdmin):
    list_display = ("id_type", "value", "person")
    search_fields = ("=value",)
    raw_id_fields = ("person",)
    show_full_result_count = False


@admin.register(AdminArea)
class AdminAreaAdmin(ReadOnlyAdmin):
    list_display = ("code", "name_fr", "name_ar", "level", "milieu", "parent")
    list_filter = ("country", "level")
    search_fields = ("code", "name_fr", "name_ar")


@admin.register(ChangeSet)
class ChangeSetAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_name", "channel", "reason", "source")
    list_filter = ("channel",)


@admin.register(HistoryEntry)
class HistoryEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "entity", "entity_id", "op", "household_id")
    list_filter = ("entity", "op")


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "started_at",
        "status",
        "read",
        "loaded",
        "rejected",
        "already_present",
        "held_for_review",
        "rejects_dir",
    )


# Citizen portal (issue 5): declared changes, read only here; staff approve or reject them
# with services.approve_change_request / reject_change_request (a review screen comes later).
@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "household", "kind", "channel", "status", "created_at", "decided_at")
    list_filter = ("status", "kind", "channel")
    list_select_related = ("household",)
