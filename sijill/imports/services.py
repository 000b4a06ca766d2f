"""Writes of web imports: store an upload, run it in a worker process, notice an interrupted one,
run a failed one again.

**How an import runs.** The request that receives the files stores them under
``var/imports/<id>/input/`` (never under the web root), creates an :class:`ImportUpload` and,
once that is committed, starts ``python -m sijill.imports.worker <id>`` as a separate process
in its own session: it outlives the request, a reload of the development server and the
server process itself, and needs no queue or broker. The worker calls
:func:`sijill.registry.intake.job.run_import` (the very service ``sijill import`` calls) in
incremental mode, so every chunk of households is committed on its own and readers go on
reading; it writes the phase and the households done into the upload row as it goes, and a
heartbeat every few seconds. One import runs at a time (a file lock under ``var/imports``): a
second one waits ("waiting for another import").

**Interruptions.** A worker that dies (killed, machine restarted) cannot say so. Every page
that shows an unfinished upload calls :func:`notice_interruption`: when the worker's process
is gone (same machine: its process id no longer runs the worker) or its heartbeat is older
than ``SIJILL_IMPORT_STALE_SECONDS``, the upload and its ImportJob are marked failed
("interrupted"). As with the command line, the chunks committed before stay loaded and
:func:`rerun` loads the rest: households already in the registry count as already present.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from sijill.imports.models import ImportUpload
from sijill.registry.intake.progress import ImportProgress
from sijill.registry.models import ImportJob

HEARTBEAT_SECONDS = float(os.environ.get("SIJILL_IMPORT_HEARTBEAT_SECONDS", "5"))
STALE_SECONDS = float(os.environ.get("SIJILL_IMPORT_STALE_SECONDS", "60"))
WORKER_MODULE = "sijill.imports.worker"


class UploadError(ValueError):
    """An upload cannot be stored or run as asked."""


# --- Storing an upload ---------------------------------------------------------------------


def _store(f: UploadedFile, target: Path) -> None:
    with open(target, "wb") as out:
        for chunk in f.chunks():
            out.write(chunk)


def create_upload(
    user: Any, households: UploadedFile, persons: UploadedFile, allowed_paths: list[str] | None
) -> ImportUpload:
    """Store the two files and queue their import; the worker starts when this commits.

    ``allowed_paths``: the uploader's area paths (``None``: the whole country); households
    outside them are rejected with that reason.
    """
    now = timezone.now()
    folder: Path | None = None
    try:
        with transaction.atomic():
            upload = ImportUpload.objects.create(
                created_at=now,
                created_by=user,
                households_name=Path(households.name or "").name[:255],
                persons_name=Path(persons.name or "").name[:255],
                allowed_paths=allowed_paths,
                heartbeat_at=now,
            )
            folder = upload.folder / "input"
            folder.mkdir(parents=True, exist_ok=True)
            # The importer tells the tables apart by their names: store them as households.* and persons.*.
            _store(households, folder / ("households" + Path(households.name or "").suffix.lower()))
            _store(persons, folder / ("persons" + Path(persons.name or "").suffix.lower()))
            upload.input_dir = str(folder.relative_to(settings.VAR_DIR))
            upload.save(update_fields=["input_dir"])
            transaction.on_commit(lambda: start_worker(upload.pk))
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder.parent, ignore_errors=True)
        raise
    return upload


def rerun(upload: ImportUpload, user: Any) -> ImportUpload:
    """Run a failed import again on the same files: what was loaded stays, the rest loads.

    The area limit is the one of the original upload. Refused files would be refused again,
    so only an interrupted run or one that failed on an error can be run again.
    """
    if upload.status != ImportUpload.FAILED or upload.failure == ImportUpload.REFUSED:
        raise UploadError("only an import that stopped before finishing can be run again")
    now = timezone.now()
    with transaction.atomic():
        again = ImportUpload.objects.create(
            created_at=now,
            created_by=user,
            households_name=upload.households_name,
            persons_name=upload.persons_name,
            input_dir=upload.input_dir,
            allowed_paths=upload.allowed_paths,
            rerun_of=upload,
            heartbeat_at=now,
        )
        again.folder.mkdir(parents=True, exist_ok=True)
        transaction.on_commit(lambda: start_worker(again.pk))
    return again


# --- Starting the worker -------------------------------------------------------------------


def worker_database_url() -> str:
    """The database this process uses, as a URL for the worker.

    ``SIJILL_DATABASE_URL`` with the name of the database actually open (the test runner
    renames it), so the worker always writes where the web pages read.
    """
    url = settings.DATABASE_URL
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    parts = urlsplit(url)
    if parts.path.lstrip("/") == name:
        return url
    return urlunsplit(parts._replace(path="/" + quote(name)))


def start_worker(upload_id: int) -> None:
    """Start the worker process for an upload (see the module's documentation)."""
    upload = ImportUpload.objects.get(pk=upload_id)
    upload.folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sijill.settings",
        "SIJILL_DATABASE_URL": worker_database_url(),
        "SIJILL_VAR_DIR": str(settings.VAR_DIR),
        "SIJILL_COUNTRY": settings.SIJILL_COUNTRY,
    }
    try:
        with open(upload.folder / "worker.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", WORKER_MODULE, str(upload_id)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not stopped with the server's process group
                close_fds=True,
            )
    except OSError as exc:
        _finish(
            upload_id,
            ImportUpload.FAILED,
            failure=ImportUpload.ERROR,
            error=f"cannot start the import: {exc}",
        )
        return
    # Reap the process when it ends, so that a finished worker never lingers as a zombie.
    threading.Thread(target=proc.wait, name=f"import-{upload_id}-reaper", daemon=True).start()


# --- Inside the worker ---------------------------------------------------------------------


class UploadProgress(ImportProgress):
    """The importer's progress, written into the upload row (the page polls it)."""

    def __init__(self, upload_id: int):
        self.rows = ImportUpload.objects.filter(pk=upload_id)

    def job(self, job_id: int) -> None:
        self.rows.update(job_id=job_id)

    def phase(self, name: str) -> None:
        self.rows.update(phase=name)

    def start(self, total_households: int) -> None:
        self.rows.update(total=total_households, done=0)

    def advance(self, households: int) -> None:
        if households:
            self.rows.update(done=F("done") + households)


class _Heartbeat(threading.Thread):
    def __init__(self, upload_id: int):
        super().__init__(name=f"import-{upload_id}-heartbeat", daemon=True)
        self.upload_id = upload_id
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                try:
                    ImportUpload.objects.filter(pk=self.upload_id).update(heartbeat_at=timezone.now())
                except Exception:  # a busy database: try again at the next beat
                    traceback.print_exc()
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=HEARTBEAT_SECONDS + 35)


@contextlib.contextmanager
def _one_import_at_a_time() -> Iterator[None]:
    path = Path(settings.VAR_DIR) / "imports" / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _finish(upload_id: int, status: str, **fields: Any) -> None:
    ImportUpload.objects.filter(pk=upload_id).update(status=status, finished_at=timezone.now(), **fields)


def run_upload(upload_id: int) -> None:
    """The worker's work: import an upload's files, recording progress and the outcome."""
    from sijill.registry.intake.job import run_import
    from sijill.registry.intake.reader import ImportFileError

    taken = ImportUpload.objects.filter(pk=upload_id, status=ImportUpload.QUEUED).update(
        status=ImportUpload.RUNNING,
        phase="waiting",
        pid=os.getpid(),
        host=socket.gethostname(),
        heartbeat_at=timezone.now(),
    )
    if not taken:  # started twice, or already marked as interrupted
        return
    upload = ImportUpload.objects.select_related("created_by").get(pk=upload_id)
    heartbeat = _Heartbeat(upload_id)
    heartbeat.start()
    try:
        with _one_import_at_a_time():
            folder = Path(settings.VAR_DIR) / upload.input_dir
            paths = sorted(p for p in folder.iterdir() if p.stem in ("households", "persons"))
            summary = run_import(
                paths,
                rejects_dir=upload.rejects_dir,
                actor_name=upload.created_by.get_username(),
                actor_id=upload.created_by.pk,
                progress=UploadProgress(upload_id),
                mode="incremental",
                allowed_areas=upload.allowed_paths,
            )
        _finish(upload_id, ImportUpload.DONE, phase="done", summary=summary.as_dict())
    except (ImportFileError, ValueError) as exc:  # the files are refused, as `sijill import` refuses them
        _finish(upload_id, ImportUpload.FAILED, failure=ImportUpload.REFUSED, error=str(exc))
    except Exception as exc:
        traceback.print_exc()
        _finish(upload_id, ImportUpload.FAILED, failure=ImportUpload.ERROR, error=str(exc) or repr(exc))
    finally:
        heartbeat.stop()


# --- Noticing an interrupted worker --------------------------------------------------------


def _worker_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":  # ended, not yet reaped
            return False
        # The process id may have been reused by another program.
        return WORKER_MODULE.encode() in (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        return True  # no /proc: trust the signal check


def notice_interruption(upload: ImportUpload) -> ImportUpload:
    """Mark an unfinished upload whose worker is gone as failed ("interrupted"); return it fresh."""
    if upload.finished:
        return upload
    now = timezone.now()
    if upload.pid and upload.host == socket.gethostname():
        gone = not _worker_alive(upload.pid)
    else:
        last = upload.heartbeat_at or upload.created_at
        gone = (now - last).total_seconds() > STALE_SECONDS
    if gone:
        changed = ImportUpload.objects.filter(
            pk=upload.pk, status__in=(ImportUpload.QUEUED, ImportUpload.RUNNING)
        ).update(
            status=ImportUpload.FAILED,
            failure=ImportUpload.INTERRUPTED,
            error="the import stopped before finishing (its worker process ended)",
            finished_at=now,
        )
        if changed:
            upload.refresh_from_db(fields=["job"])
            if upload.job_id:
                ImportJob.objects.filter(pk=upload.job_id, status="running").update(
                    status="failed", error="interrupted: the worker process ended", finished_at=now
                )
    upload.refresh_from_db()
    return upload
