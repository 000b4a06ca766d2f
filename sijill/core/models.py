"""History and audit: who changed what, when, why, through which channel.

Every write to the registry belongs to a :class:`ChangeSet` and leaves one
:class:`HistoryEntry` per record touched, holding the record's full state before
(``old``) and after (``new``) the change. Reading a record "as it stood" on a date is
then a lookup of its last entry at or before that moment.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from sijill.core.enums import CHANNEL


class ChangeSet(models.Model):
    """One logical change: a form submission, an API call, an import chunk."""

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(
        max_length=150, help_text="Username, or the system job that made the change."
    )
    channel = models.CharField(max_length=16, choices=[(c, c) for c in CHANNEL])
    reason = models.TextField(blank=True)
    source = models.CharField(max_length=200, blank=True, help_text="e.g. import job id and file")

    class Meta:
        indexes = [models.Index(fields=["channel", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} ({self.channel})"


class HistoryEntry(models.Model):
    """An update or delete of one record, with its full state before and after.

    Creations are not repeated here: every registry row carries the ChangeSet that
    created it (``created_changeset``), and its state at creation is the row itself
    until its first update, then that update's ``old``. Together they give the
    complete history of every record (see :mod:`sijill.registry.selectors`).
    """

    OP_CREATE, OP_UPDATE, OP_DELETE = "C", "U", "D"
    OPS = [(OP_CREATE, "create"), (OP_UPDATE, "update"), (OP_DELETE, "delete")]

    changeset = models.ForeignKey(ChangeSet, on_delete=models.PROTECT, related_name="entries")
    at = models.DateTimeField()
    # household | person | membership | identifier; candidate | merge (sijill.identity)
    entity = models.CharField(max_length=20)
    entity_id = models.BigIntegerField()
    household_id = models.BigIntegerField(null=True, blank=True)
    op = models.CharField(max_length=1, choices=OPS)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["entity", "entity_id", "at"], name="history_entity_at"),
            models.Index(fields=["household_id", "at"], name="history_household_at"),
        ]
        verbose_name_plural = "history entries"

    def __str__(self) -> str:
        return f"{self.get_op_display()} {self.entity} #{self.entity_id} at {self.at:%Y-%m-%d %H:%M}"
