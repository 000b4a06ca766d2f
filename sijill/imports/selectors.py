"""Reads of web imports: which uploads an account sees, and the files a finished one offers."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.db.models import QuerySet

from sijill.accounts.selectors import area_paths_of, role_of
from sijill.imports.models import ImportUpload

# Downloadable files of a run, by the key in their URL: the file name the importer writes in
# the rejects folder (the stored tables are named households.* and persons.*).
FILES = {
    "errors": "errors.csv",
    "households": "households.rejected.csv",
    "persons": "persons.rejected.csv",
    "held": "held_for_review.csv",
}


def scope_uploads(qs: QuerySet[ImportUpload], user: Any) -> QuerySet[ImportUpload]:
    """A national account sees every import; an account limited to areas, the ones it made."""
    if role_of(user) is None:
        return qs.none()
    if area_paths_of(user) is None:
        return qs
    return qs.filter(created_by=user)


def uploads_for(user: Any) -> QuerySet[ImportUpload]:
    return scope_uploads(
        ImportUpload.objects.select_related("created_by").order_by("-created_at", "-pk"), user
    )


def file_path(upload: ImportUpload, kind: str) -> Path | None:
    """The file of ``kind`` (a key of :data:`FILES`) if this run wrote it."""
    name = FILES.get(kind)
    if name is None:
        return None
    path = upload.rejects_dir / name
    return path if path.is_file() else None


def available_files(upload: ImportUpload) -> list[str]:
    return [kind for kind in FILES if file_path(upload, kind) is not None]


def first_problems(upload: ImportUpload, limit: int = 10) -> list[dict[str, str]]:
    """The first lines of errors.csv (file, row, household_ref, person_ref, column, value, reason)."""
    path = file_path(upload, "errors")
    if path is None:
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        out = []
        for i, row in enumerate(csv.DictReader(fh)):
            if i >= limit:
                break
            out.append(row)
    return out
