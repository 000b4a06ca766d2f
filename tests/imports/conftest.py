"""A small household file with good and bad rows, as an enumerator of Casablanca would send it."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import staff
from tests.conftest import household_row, person_row


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    df = pl.DataFrame(
        {c: [None if r.get(c) is None else str(r.get(c)) for r in rows] for c in cols},
        schema={c: pl.Utf8 for c in cols},
    )
    out = io.BytesIO()
    df.write_csv(out)
    return out.getvalue()


@dataclass
class Batch:
    households: bytes
    persons: bytes
    casablanca: str  # a commune code in Casablanca
    rabat: str  # a commune code in Rabat

    def files(self) -> dict[str, SimpleUploadedFile]:
        return {
            "households": SimpleUploadedFile("menages_households.csv", self.households, "text/csv"),
            "persons": SimpleUploadedFile("membres_persons.csv", self.persons, "text/csv"),
        }


@pytest.fixture
def batch(ma: Any, transactional_db: Any) -> Batch:
    """Five households in Casablanca and Rabat: three good (one in Rabat), two with bad rows.

    - H1 (Casablanca): a couple, valid; the head has the identity card CNIE BK123456.
    - H2 (Casablanca): a widow, valid.
    - H3 (Casablanca): the phone is not a Moroccan number (households row 4, column phone).
    - H4 (Casablanca): the head's birth date is not a date (persons row 6, column birth_date).
    - H5 (Rabat): valid, but outside an account limited to Casablanca.
    """
    staff.geography()
    cas, rab = staff.commune_in("MA-CAS").code, staff.commune_in("MA-RAB").code
    hh = [
        household_row(ma, "H1", area_code=cas),
        household_row(ma, "H2", area_code=cas),
        household_row(ma, "H3", area_code=cas, phone="12345"),
        household_row(ma, "H4", area_code=cas),
        household_row(ma, "H5", area_code=rab),
    ]
    pp = [
        person_row("P1", "H1", "HEAD", id_type="CNIE", id_value="BK123456"),
        person_row("P2", "H1", "SPOUSE", given_name_lat="Fatima", given_name_ar="فاطمة", sex="F"),
        person_row("P3", "H2", "HEAD", given_name_lat="Khadija", given_name_ar="خديجة", sex="F"),
        person_row("P4", "H3", "HEAD", given_name_lat="Omar", given_name_ar="عمر"),
        person_row("P5", "H4", "HEAD", given_name_lat="Said", given_name_ar="سعيد", birth_date="17/05/1980"),
        person_row("P6", "H5", "HEAD", given_name_lat="Hassan", given_name_ar="حسن"),
    ]
    return Batch(csv_bytes(hh), csv_bytes(pp), cas, rab)


def wait_until_finished(upload_id: int, timeout: float = 120.0) -> Any:
    """The upload once its worker has finished (the page's own interruption check included)."""
    from sijill.imports.models import ImportUpload
    from sijill.imports.services import notice_interruption

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upload = notice_interruption(ImportUpload.objects.get(pk=upload_id))
        if upload.finished:
            return upload
        time.sleep(0.3)
    raise AssertionError(f"import {upload_id} did not finish in {timeout} s")
