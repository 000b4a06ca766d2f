"""An import started from the web: the uploaded files, who sent them, and the run's progress.

The import itself is :func:`sijill.registry.intake.job.run_import`, the service ``sijill import``
calls; it records each run in a :class:`~sijill.registry.models.ImportJob` (linked here once
the files are read). An upload exists from the moment the files arrive, before any job, so
that a file the importer refuses still has a page saying why.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models


class ImportUpload(models.Model):
    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    STATUSES = [(QUEUED, "queued"), (RUNNING, "running"), (DONE, "done"), (FAILED, "failed")]
    # Why a failed upload failed: the importer refused the files (nothing loaded), the worker
    # stopped without finishing (interrupted: run it again to load the rest), or another error.
    REFUSED, INTERRUPTED, ERROR = "refused", "interrupted", "error"
    FAILURES = [(REFUSED, "refused"), (INTERRUPTED, "interrupted"), (ERROR, "error")]
    # Steps of a run, in order (the importer's phases, see ImportProgress.phase).
    PHASES = ["queued", "waiting", "read", "check", "load", "rejects", "done"]

    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    households_name = models.CharField(max_length=255, help_text="The households file's name as uploaded")
    persons_name = models.CharField(max_length=255, help_text="The persons file's name as uploaded")
    input_dir = models.CharField(
        max_length=500, help_text="Folder of the stored files (households.* and persons.*), under var/"
    )
    allowed_paths = models.JSONField(
        null=True, blank=True, help_text="Area paths the uploader was limited to; null: the whole country"
    )
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    failure = models.CharField(max_length=12, choices=FAILURES, blank=True)
    phase = models.CharField(max_length=10, default="queued")
    total = models.PositiveIntegerField(default=0, help_text="Households read")
    done = models.PositiveIntegerField(default=0, help_text="Households loaded, rejected or already present")
    job = models.OneToOneField(
        "registry.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="upload"
    )
    summary = models.JSONField(
        default=dict, blank=True, help_text="The importer's summary (sijill import --json)"
    )
    error = models.TextField(blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    host = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_by", "-created_at"])]

    def __str__(self) -> str:
        return f"Web import #{self.pk} ({self.status})"

    @property
    def folder(self) -> Path:
        """var/imports/<id>/: the rejects of this run (and, for a first run, its input files)."""
        return Path(settings.VAR_DIR) / "imports" / str(self.pk)

    @property
    def rejects_dir(self) -> Path:
        return self.folder / "rejects"

    @property
    def finished(self) -> bool:
        return self.status in (self.DONE, self.FAILED)
