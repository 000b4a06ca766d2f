"""Household imports through the web: upload, the worker process, progress, summary, rejects files,
area limits, wrong files, an interrupted worker and running it again; on both databases."""

from __future__ import annotations

import csv
import io
import os
import signal
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from sijill.imports.models import ImportUpload
from sijill.registry.models import Household, ImportJob, Person
from tests import staff
from tests.imports.conftest import csv_bytes, wait_until_finished

pytestmark = pytest.mark.django_db(transaction=True)


def _download(client, upload, kind: str) -> list[dict[str, str]]:
    r = client.get(reverse("import_file", args=[upload.pk, kind]))
    assert r.status_code == 200
    assert r["Content-Disposition"].startswith("attachment")
    return list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode("utf-8"))))


def test_upload_loads_the_good_rows_rejects_the_bad_with_row_field_reason(client, batch):
    enumerator = staff.staff("agent-cas", "ENUMERATOR", ("MA-CAS",))
    client.force_login(enumerator)
    r = client.post(reverse("imports"), batch.files())
    assert r.status_code == 302
    upload = ImportUpload.objects.get()
    assert r["Location"] == reverse("import_detail", args=[upload.pk])
    # The files are kept under var/, not the web root, under the names the importer reads.
    stored = sorted(p.name for p in (upload.folder / "input").iterdir())
    assert stored == ["households.csv", "persons.csv"]

    upload = wait_until_finished(upload.pk)
    assert upload.status == "done", upload.error
    s = upload.summary
    assert (s["read"], s["loaded"], s["rejected"], s["already_present"]) == (5, 2, 3, 0)
    assert s["loaded"] + s["rejected"] == s["read"]  # nothing lost
    assert (s["persons_read"], s["persons_loaded"], s["persons_rejected"]) == (6, 3, 3)
    assert sorted(Household.objects.values_list("external_ref", flat=True)) == ["H1", "H2"]
    assert Person.objects.count() == 3
    # The import job the command line would have recorded, by the uploader.
    job = ImportJob.objects.get()
    assert upload.job == job and job.status == "done" and job.actor_name == "agent-cas"

    errors = _download(client, upload, "errors")
    own = {(e["file"], e["row"], e["column"]): e["reason"] for e in errors if e["column"]}
    assert own[("households", "4", "phone")].startswith("not a valid phone number")
    assert own[("persons", "6", "birth_date")]
    assert "outside the areas of the account" in own[("households", "6", "area_code")]
    assert "MA-CAS" in own[("households", "6", "area_code")]
    # Every rejected household row is in the file, each with its reason.
    rejected = _download(client, upload, "households")
    assert sorted(r["household_ref"] for r in rejected) == ["H3", "H4", "H5"]
    assert all(r["_row"] and r["_errors"] for r in rejected)
    assert {r["person_ref"] for r in _download(client, upload, "persons")} == {"P4", "P5", "P6"}

    page = client.get(reverse("import_detail", args=[upload.pk])).content.decode()
    assert "Terminé" in page  # the status, in French (the default language)
    assert 'data-testid="loaded">2<' in page and 'data-testid="rejected">3<' in page
    assert reverse("import_file", args=[upload.pk, "errors"]) in page
    # The progress fragment has stopped polling: no hx-trigger once finished.
    fragment = client.get(
        reverse("import_progress", args=[upload.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "hx-trigger" not in fragment and 'aria-valuenow="5"' in fragment
    assert "Import finished" not in fragment and "Importation terminée" in fragment  # announced, in French

    listing = client.get(reverse("imports")).content.decode()
    assert reverse("import_detail", args=[upload.pk]) in listing and "menages_households.csv" in listing


def test_a_national_account_loads_every_area_and_held_identifiers_are_downloadable(client, batch, ma):
    admin = staff.staff("chef", "ADMIN")
    client.force_login(admin)
    client.post(reverse("imports"), batch.files())
    upload = wait_until_finished(ImportUpload.objects.get().pk)
    assert (upload.summary["loaded"], upload.summary["rejected"]) == (3, 2)  # H5 in Rabat loads
    assert client.get(reverse("import_file", args=[upload.pk, "held"])).status_code == 404  # none held

    # A second file whose head carries the identity card the head of H1 holds already.
    hh = csv_bytes([{**_row(ma, "H9", batch.casablanca)}])
    pp = csv_bytes([_person("P9", "H9", id_type="CNIE", id_value="BK123456")])
    client.post(
        reverse("imports"),
        {
            "households": SimpleUploadedFile("households.csv", hh),
            "persons": SimpleUploadedFile("persons.csv", pp),
        },
    )
    second = wait_until_finished(ImportUpload.objects.latest("pk").pk)
    assert second.status == "done", second.error
    assert (second.summary["loaded"], second.summary["held_for_review"]) == (1, 1)
    held = _download(client, second, "held")
    assert [(h["person_ref"], h["id_type"], h["value"]) for h in held] == [("P9", "CNIE", "BK123456")]
    assert "already held by person" in held[0]["reason"]


def _row(ma, ref, area):
    from tests.conftest import household_row

    return household_row(ma, ref, area_code=area)


def _person(ref, hh, **kw):
    from tests.conftest import person_row

    return person_row(ref, hh, "HEAD", **kw)


def test_the_same_file_again_loads_nothing_twice(client, batch):
    client.force_login(staff.staff("chef", "ADMIN"))
    client.post(reverse("imports"), batch.files())
    wait_until_finished(ImportUpload.objects.get().pk)
    client.post(reverse("imports"), batch.files())
    again = wait_until_finished(ImportUpload.objects.latest("pk").pk)
    s = again.summary
    assert (s["read"], s["loaded"], s["rejected"], s["already_present"]) == (5, 0, 2, 3)
    assert Household.objects.count() == 3


def test_an_interrupted_worker_shows_as_failed_and_running_again_loads_the_rest(client, ma, monkeypatch):
    staff.geography()
    cas = staff.commune_in("MA-CAS").code
    n = 12
    hh = csv_bytes([_row(ma, f"H{i}", cas) for i in range(n)])
    pp = csv_bytes([_person(f"P{i}", f"H{i}") for i in range(n)])
    # Chunks of 2 households, each followed by a pause: the kill lands mid-run.
    monkeypatch.setenv("SIJILL_IMPORT_CHUNK", "2")
    monkeypatch.setenv("SIJILL_IMPORT_CHUNK_DELAY", "0.7")
    client.force_login(staff.staff("chef", "ADMIN"))
    client.post(
        reverse("imports"),
        {
            "households": SimpleUploadedFile("households.csv", hh),
            "persons": SimpleUploadedFile("persons.csv", pp),
        },
    )
    upload = ImportUpload.objects.get()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        upload.refresh_from_db()
        if upload.job_id and ImportJob.objects.get(pk=upload.job_id).loaded >= 2:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("no chunk was loaded")
    os.kill(upload.pid, signal.SIGKILL)
    upload = wait_until_finished(upload.pk, timeout=30)
    assert (upload.status, upload.failure) == ("failed", "interrupted")
    assert ImportJob.objects.get(pk=upload.job_id).status == "failed"
    loaded_before = Household.objects.count()
    assert 2 <= loaded_before < n
    page = client.get(reverse("import_detail", args=[upload.pk])).content.decode()
    assert "Relancer l’importation" in page

    monkeypatch.setenv("SIJILL_IMPORT_CHUNK_DELAY", "0")
    r = client.post(reverse("import_rerun", args=[upload.pk]))
    again = ImportUpload.objects.latest("pk")
    assert r.status_code == 302 and again.rerun_of == upload
    again = wait_until_finished(again.pk)
    s = again.summary
    assert (s["read"], s["already_present"], s["loaded"], s["rejected"]) == (
        n,
        loaded_before,
        n - loaded_before,
        0,
    )
    assert Household.objects.count() == n and Person.objects.count() == n
    # A finished import cannot be run again.
    r = client.post(reverse("import_rerun", args=[again.pk]))
    assert r.status_code == 200 and ImportUpload.objects.count() == 2


def test_a_file_that_is_not_a_table_is_refused_with_a_clear_error(client, batch):
    client.force_login(staff.staff("chef", "ADMIN"))
    r = client.post(
        reverse("imports"),
        {
            "households": SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff\xe0JFIF"),
            "persons": SimpleUploadedFile("persons.xlsx", b"%PDF-1.7 not a spreadsheet"),
        },
    )
    assert r.status_code == 400
    page = r.content.decode()
    assert "« photo.jpg » n’est pas un fichier de tableau" in page
    assert "persons.xlsx" in page and 'aria-invalid="true"' in page
    assert ImportUpload.objects.count() == 0


def test_too_large_files_are_refused_before_they_are_stored(client, batch, settings):
    client.force_login(staff.staff("chef", "ADMIN"))
    with override_settings(SIJILL_IMPORT_MAX_BYTES=200):
        # Far beyond two files' worth: refused from the request's length, its body never read.
        big = {
            **batch.files(),
            "households": SimpleUploadedFile("households.csv", b"household_ref\n" * 40_000),
        }
        r = client.post(reverse("imports"), big)
        assert r.status_code == 413
        assert "Les fichiers sont trop volumineux" in r.content.decode()
        assert ImportUpload.objects.count() == 0
    with override_settings(SIJILL_IMPORT_MAX_BYTES=len(batch.households) - 1):
        r = client.post(reverse("imports"), batch.files())
        assert r.status_code == 400 and "menages_households.csv" in r.content.decode()
    assert ImportUpload.objects.count() == 0


def test_a_file_the_importer_refuses_fails_with_its_reason(client, batch):
    client.force_login(staff.staff("chef", "ADMIN"))
    r = client.post(
        reverse("imports"),
        {
            "households": SimpleUploadedFile("households.csv", b"household_ref,colour\nH1,blue\n"),
            "persons": SimpleUploadedFile("persons.csv", batch.persons),
        },
    )
    assert r.status_code == 302  # the file's columns are the importer's to judge, in the worker
    upload = wait_until_finished(ImportUpload.objects.get().pk)
    assert (upload.status, upload.failure) == ("failed", "refused")
    page = client.get(reverse("import_detail", args=[upload.pk])).content.decode()
    assert "colour" in page and "Relancer" not in page
    assert Household.objects.count() == 0


def test_an_account_limited_to_areas_sees_only_its_own_imports(client, batch):
    other = staff.staff("agent-rab", "ENUMERATOR", ("MA-RAB",))
    mine = staff.staff("agent-cas", "ENUMERATOR", ("MA-CAS",))
    client.force_login(other)
    client.post(reverse("imports"), batch.files())
    theirs = wait_until_finished(ImportUpload.objects.get().pk)
    assert (theirs.summary["loaded"], theirs.summary["rejected"]) == (1, 4)  # only H5 is in Rabat
    client.force_login(mine)
    assert client.get(reverse("import_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("import_file", args=[theirs.pk, "errors"])).status_code == 404
    assert "agent-rab" not in client.get(reverse("imports")).content.decode()
    client.force_login(staff.staff("chef", "ADMIN"))  # national: sees every import
    assert client.get(reverse("import_detail", args=[theirs.pk])).status_code == 200
    client.force_login(staff.staff("sw", "SOCIAL_WORKER", national=True))
    assert client.get(reverse("imports")).status_code == 403


def test_an_import_whose_worker_went_silent_elsewhere_shows_as_interrupted(client):
    """Served from another machine, the page cannot look for the process: a stale heartbeat tells."""
    import datetime as dt

    from django.utils import timezone

    admin = staff.staff("chef", "ADMIN")
    now = timezone.now()
    common = {"created_by": admin, "households_name": "h.csv", "persons_name": "p.csv", "status": "running"}
    silent = ImportUpload.objects.create(
        created_at=now, host="another-machine", pid=4242, heartbeat_at=now - dt.timedelta(minutes=5), **common
    )
    alive = ImportUpload.objects.create(
        created_at=now, host="another-machine", pid=4243, heartbeat_at=now, **common
    )
    client.force_login(admin)
    page = client.get(reverse("import_detail", args=[silent.pk])).content.decode()
    assert "s’est arrêtée avant la fin" in page and "Relancer l’importation" in page
    silent.refresh_from_db()
    assert (silent.status, silent.failure) == ("failed", "interrupted")
    fragment = client.get(reverse("import_progress", args=[alive.pk])).content.decode()
    assert "hx-trigger" in fragment  # still running: the page keeps polling
    alive.refresh_from_db()
    assert alive.status == "running"
