"""Identity review: deduplication runs, candidate pairs of records, merges.

A :class:`MatchCandidate` is a pair of person records that may be one person: found by
the probabilistic matcher (a :class:`DedupeRun`) or by an exact check at intake (an
external identifier already held by someone else). A reviewer decides each pending pair
(:func:`sijill.identity.services.decide`); a match merges the two records into a
:class:`Merge`, which keeps exactly what it moved so that it can be undone.

Writes go through :mod:`sijill.identity.services`, reads through
:mod:`sijill.identity.selectors`. See docs/identity.md.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class DedupeRun(models.Model):
    """One run of the probabilistic matcher over the registry (all persons, or the new ones)."""

    STATUS_RUNNING, STATUS_DONE, STATUS_FAILED = "running", "done", "failed"
    STATUS = [(STATUS_RUNNING, "running"), (STATUS_DONE, "done"), (STATUS_FAILED, "failed")]
    SCOPE_ALL, SCOPE_NEW = "all", "new"
    SCOPES = [(SCOPE_ALL, "every person"), (SCOPE_NEW, "persons added since the last run")]

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=STATUS, default=STATUS_RUNNING)
    scope = models.CharField(max_length=3, choices=SCOPES, default=SCOPE_ALL)
    model_version = models.CharField(max_length=64, blank=True, help_text="The linkage model used")
    auto_link_threshold = models.FloatField(
        help_text="Pairs at or above this probability are linked as the same person"
    )
    review_threshold = models.FloatField(help_text="Pairs at or above this probability go to review")
    persons = models.PositiveIntegerField(default=0)
    pairs = models.PositiveIntegerField(default=0, help_text="Pairs scored")
    auto_linked = models.PositiveIntegerField(default=0)
    for_review = models.PositiveIntegerField(default=0)
    changeset = models.ForeignKey(
        "core.ChangeSet", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    error = models.TextField(blank=True)
    actor_name = models.CharField(max_length=150)

    def __str__(self) -> str:
        return f"Dedupe run #{self.pk} ({self.status})"


class MatchCandidate(models.Model):
    """Two person records that may be one person, and the decision about them.

    ``person_a`` is always the record with the smaller primary key (the older one), so a
    pair has one spelling; at most one candidate per pair is open (PENDING) at a time.
    """

    PROBABLE, ID_CONFLICT, ACTIVE_ELSEWHERE = "PROBABLE", "ID_CONFLICT", "ACTIVE_ELSEWHERE"
    KINDS = [
        (PROBABLE, "probable match (probabilistic)"),
        (ID_CONFLICT, "same external identifier"),
        (ACTIVE_ELSEWHERE, "already active in another household"),
    ]
    PENDING, AUTO_LINKED, MATCH, NOT_MATCH = "PENDING", "AUTO_LINKED", "MATCH", "NOT_MATCH"
    STATUSES = [
        (PENDING, "pending review"),
        (AUTO_LINKED, "linked automatically (same person, not yet merged)"),
        (MATCH, "same person (merged)"),
        (NOT_MATCH, "different persons"),
    ]

    run = models.ForeignKey(
        DedupeRun,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="candidates",
        help_text="Empty for conflicts found at intake",
    )
    person_a = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="+", help_text="The older record"
    )
    person_b = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=KINDS)
    probability = models.FloatField(null=True, blank=True)
    match_weight = models.FloatField(null=True, blank=True)
    details = models.JSONField(
        default=dict,
        blank=True,
        help_text="Comparison levels and compared values, or the conflict's reason, id_type and value",
    )
    status = models.CharField(max_length=12, choices=STATUSES, default=PENDING)
    cluster_id = models.CharField(max_length=64, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    created_changeset = models.ForeignKey(
        "core.ChangeSet", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(person_a__lt=F("person_b")), name="candidate_pair_ordered"),
            models.UniqueConstraint(
                fields=["person_a", "person_b"],
                condition=Q(status="PENDING"),
                name="one_open_candidate_per_pair",
            ),
            models.CheckConstraint(
                condition=Q(status="PENDING") | ~Q(decided_by=""), name="candidate_decision_has_author"
            ),
        ]
        indexes = [models.Index(fields=["status", "probability"], name="candidate_queue")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.person_a_id} / {self.person_b_id} ({self.status})"

    @property
    def reason(self) -> str:
        """The conflict's reason, or the probability, in words."""
        if self.details and self.details.get("reason"):
            return str(self.details["reason"])
        if self.probability is not None:
            return f"match probability {self.probability:.3f}"
        return ""


class Merge(models.Model):
    """One record (``merged``) folded into another (``survivor``), and exactly what moved.

    ``moved`` lists every change the merge made, in order, each as the record, its id and
    the fields changed with their values before and after; undoing restores them in
    reverse order (:func:`sijill.identity.services.unmerge`).
    """

    survivor = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="merges_kept")
    merged = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="merges_absorbed")
    candidate = models.ForeignKey(
        MatchCandidate, null=True, blank=True, on_delete=models.PROTECT, related_name="merges"
    )
    changeset = models.ForeignKey("core.ChangeSet", on_delete=models.PROTECT, related_name="+")
    undo_changeset = models.ForeignKey(
        "core.ChangeSet", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    moved = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(survivor=F("merged")), name="merge_two_records"),
            models.UniqueConstraint(
                fields=["merged"], condition=Q(undone_at__isnull=True), name="one_live_merge_per_record"
            ),
        ]

    def __str__(self) -> str:
        state = " (undone)" if self.undone_at else ""
        return f"Merge #{self.pk}: {self.merged_id} into {self.survivor_id}{state}"
