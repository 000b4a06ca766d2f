"""The upload form: two files, each a CSV, Excel (.xlsx) or Parquet table, size-limited."""

from __future__ import annotations

import os
from pathlib import Path

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

# Largest file accepted, per table (SIJILL_IMPORT_MAX_MB, default 100 MB). Larger loads belong
# to `sijill import` on the server.
MAX_BYTES = int(float(os.environ.get("SIJILL_IMPORT_MAX_MB", "100")) * 1024 * 1024)
SUFFIXES = (".csv", ".xlsx", ".parquet")


def looks_like(head: bytes, suffix: str) -> bool:
    """Whether the first bytes of a file fit its extension (a renamed photo or PDF does not)."""
    if suffix == ".xlsx":
        return head.startswith(b"PK\x03\x04")  # a ZIP container
    if suffix == ".parquet":
        return head.startswith(b"PAR1")
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # a character cut at the end of the sample
    return True


def check_table_file(f: UploadedFile, max_bytes: int) -> UploadedFile:
    name = Path(f.name or "").name
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise forms.ValidationError(
            _("“%(name)s” is not a table file: send a CSV (.csv), Excel (.xlsx) or Parquet (.parquet) file."),
            code="type",
            params={"name": name},
        )
    if (f.size or 0) > max_bytes:
        raise forms.ValidationError(
            _("“%(name)s” is %(size)s: the largest file accepted is %(limit)s."),
            code="size",
            params={"name": name, "size": filesizeformat(f.size or 0), "limit": filesizeformat(max_bytes)},
        )
    if not f.size:
        raise forms.ValidationError(_("“%(name)s” is empty."), code="empty", params={"name": name})
    f.seek(0)
    head = f.read(64 * 1024)
    f.seek(0)
    if not looks_like(head, suffix):
        raise forms.ValidationError(
            _("“%(name)s” does not contain what its extension says: it is not a readable %(kind)s file."),
            code="content",
            params={
                "name": name,
                "kind": {".csv": "CSV (UTF-8)", ".xlsx": "Excel", ".parquet": "Parquet"}[suffix],
            },
        )
    return f


class UploadForm(forms.Form):
    households = forms.FileField(
        label=_("Households file"),
        help_text=_("One row per household (household_ref, area_code, questionnaire answers)."),
        widget=forms.FileInput(attrs={"accept": ",".join(SUFFIXES)}),
    )
    persons = forms.FileField(
        label=_("Persons file"),
        help_text=_(
            "One row per member (person_ref, household_ref, relationship, names, sex, birth date...)."
        ),
        widget=forms.FileInput(attrs={"accept": ",".join(SUFFIXES)}),
    )

    def __init__(self, *args: object, max_bytes: int = MAX_BYTES, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.max_bytes = max_bytes

    def clean_households(self) -> UploadedFile:
        return check_table_file(self.cleaned_data["households"], self.max_bytes)

    def clean_persons(self) -> UploadedFile:
        return check_table_file(self.cleaned_data["persons"], self.max_bytes)
