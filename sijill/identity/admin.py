from django.contrib import admin

from sijill.identity.models import DedupeRun, MatchCandidate, Merge
from sijill.registry.admin import ReadOnlyAdmin


@admin.register(DedupeRun)
class DedupeRunAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "started_at",
        "status",
        "scope",
        "model_version",
        "pairs",
        "auto_linked",
        "for_review",
    )
    list_filter = ("status", "scope")


@admin.register(MatchCandidate)
class MatchCandidateAdmin(ReadOnlyAdmin):
    """Decisions go through sijill.identity.services.decide (history, merge), not admin edits."""

    list_display = ("pk", "kind", "status", "probability", "person_a", "person_b", "decided_by", "created_at")
    list_filter = ("status", "kind")
    raw_id_fields = ("person_a", "person_b", "run")
    list_select_related = ("person_a", "person_b")
    show_full_result_count = False


@admin.register(Merge)
class MergeAdmin(ReadOnlyAdmin):
    list_display = ("pk", "survivor", "merged", "created_at", "undone_at")
    raw_id_fields = ("survivor", "merged", "candidate")
    list_select_related = ("survivor", "merged")
