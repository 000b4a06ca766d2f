"""Staff pages of household imports: upload a file, follow its progress, read the summary,
download the rejected rows; the list of past imports.

Reads go through :mod:`sijill.imports.selectors` (a national account sees every import, an
account limited to areas its own: another one is a 404); writes through
:mod:`sijill.imports.services`, which runs the import in a worker process.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from sijill.accounts.access import capability_required
from sijill.accounts.permissions import Cap
from sijill.accounts.selectors import area_paths_of, areas_of
from sijill.imports import forms, selectors, services
from sijill.imports.models import ImportUpload

PAGE_SIZE = 25

STATUS_LABELS = {
    ImportUpload.QUEUED: gettext_lazy("Waiting to start"),
    ImportUpload.RUNNING: gettext_lazy("Running"),
    ImportUpload.DONE: gettext_lazy("Finished"),
    ImportUpload.FAILED: gettext_lazy("Failed"),
}
FAILURE_LABELS = {
    ImportUpload.REFUSED: gettext_lazy("The files were refused: nothing was loaded."),
    ImportUpload.INTERRUPTED: gettext_lazy(
        "The import stopped before finishing. The households loaded before it stopped stay loaded; "
        "run it again to load the rest."
    ),
    ImportUpload.ERROR: gettext_lazy(
        "The import failed on an error. The households loaded before it stay loaded; run it again to load the rest."
    ),
}
PHASE_LABELS = {
    "queued": gettext_lazy("Waiting to start"),
    "waiting": gettext_lazy("Waiting for another import to finish"),
    "read": gettext_lazy("Reading the files"),
    "check": gettext_lazy("Checking the whole file"),
    "load": gettext_lazy("Checking and loading households"),
    "rejects": gettext_lazy("Writing the rejected rows"),
    "done": gettext_lazy("Finished"),
}
FILE_LABELS = {
    "errors": gettext_lazy("Problems found: one line per problem, with the row, the column and the reason"),
    "households": gettext_lazy("Rejected household rows, unchanged, to correct and import again"),
    "persons": gettext_lazy("Rejected person rows, unchanged, to correct and import again"),
    "held": gettext_lazy("Identifiers held for review: already held by another person of the registry"),
}


def _max_bytes() -> int:
    return int(getattr(settings, "SIJILL_IMPORT_MAX_BYTES", forms.MAX_BYTES))


def _upload(request: HttpRequest, upload_id: int) -> ImportUpload:
    upload = get_object_or_404(selectors.uploads_for(request.user), pk=upload_id)
    return services.notice_interruption(upload)


def _list_page(
    request: HttpRequest, form: forms.UploadForm, status: int = 200, refusal: str = ""
) -> HttpResponse:
    paths = area_paths_of(request.user)
    page = Paginator(selectors.uploads_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    for upload in page.object_list:
        services.notice_interruption(upload)
    return render(
        request,
        "imports/list.html",
        {
            "form": form,
            "page": page,
            "national": paths is None,
            "no_area": paths == [],
            "areas": areas_of(request.user),
            "max_bytes": form.max_bytes,
            "status_labels": STATUS_LABELS,
            "refusal": refusal,
        },
        status=status,
    )


# The size of the request is checked before its body is read (and so before Django writes the
# files to disk): the CSRF check, which reads the body, runs only for requests of a sane size.
@csrf_exempt
@capability_required(Cap.IMPORT_HOUSEHOLDS)
def upload_list(request: HttpRequest) -> HttpResponse:
    max_bytes = _max_bytes()
    if request.method == "POST":
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > 2 * max_bytes + 256 * 1024:
            refusal = _(
                "The files are too large: at most %(limit)s each. Split the file, or ask for `sijill import`."
            ) % {"limit": _filesize(max_bytes)}
            response = _list_page(request, forms.UploadForm(max_bytes=max_bytes), status=413, refusal=refusal)
            response["Connection"] = "close"
            return response
    return _upload_list(request, max_bytes)


def _filesize(n: int) -> str:
    from django.template.defaultfilters import filesizeformat

    return str(filesizeformat(n))


@csrf_protect
def _upload_list(request: HttpRequest, max_bytes: int) -> HttpResponse:
    if request.method != "POST":
        return _list_page(request, forms.UploadForm(max_bytes=max_bytes))
    form = forms.UploadForm(request.POST, request.FILES, max_bytes=max_bytes)
    paths = area_paths_of(request.user)
    if paths == []:
        refusal = _("Your account is limited to no area: ask an administrator to give it its areas.")
        return _list_page(request, form, status=403, refusal=refusal)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    upload = services.create_upload(
        request.user, form.cleaned_data["households"], form.cleaned_data["persons"], paths
    )
    return redirect("import_detail", upload_id=upload.pk)


STEPS = ("read", "check", "load", "rejects")


def _detail_context(upload: ImportUpload) -> dict[str, Any]:
    summary = upload.summary or {}
    current = ImportUpload.PHASES.index(upload.phase) if upload.phase in ImportUpload.PHASES else 0
    total, done = upload.total, min(upload.done, upload.total)
    return {
        "upload": upload,
        "status_label": STATUS_LABELS[upload.status],
        "failure_label": FAILURE_LABELS.get(upload.failure, ""),
        "phase_label": PHASE_LABELS.get(upload.phase, upload.phase),
        "steps": [(key, PHASE_LABELS[key]) for key in STEPS],
        "past_phases": [key for key in STEPS if ImportUpload.PHASES.index(key) < current],
        "percent": int(100 * done / total) if total else (100 if upload.status == ImportUpload.DONE else 0),
        "done": done,
        "total": total,
        "summary": summary,
        "balanced": bool(summary)
        and summary["loaded"] + summary["rejected"] + summary["already_present"] == summary["read"],
        "files": [(kind, FILE_LABELS[kind]) for kind in selectors.available_files(upload)],
        "problems": selectors.first_problems(upload),
        "can_rerun": upload.status == ImportUpload.FAILED and upload.failure != ImportUpload.REFUSED,
        "reruns": list(upload.reruns.order_by("pk")),
    }


@capability_required(Cap.IMPORT_HOUSEHOLDS)
def upload_detail(request: HttpRequest, upload_id: int) -> HttpResponse:
    upload = _upload(request, upload_id)
    return render(request, "imports/detail.html", _detail_context(upload))


@capability_required(Cap.IMPORT_HOUSEHOLDS)
def upload_progress(request: HttpRequest, upload_id: int) -> HttpResponse:
    """The progress fragment the detail page polls (htmx) until the import has finished."""
    upload = _upload(request, upload_id)
    context = {**_detail_context(upload), "oob": bool(request.headers.get("HX-Request"))}
    return render(request, "imports/_progress.html", context)


@capability_required(Cap.IMPORT_HOUSEHOLDS)
def upload_file(request: HttpRequest, upload_id: int, kind: str) -> FileResponse:
    upload = _upload(request, upload_id)
    path = selectors.file_path(upload, kind)
    if path is None:
        raise Http404
    return FileResponse(
        open(path, "rb"),
        as_attachment=True,
        filename=f"import-{upload.pk}-{path.name}",
        content_type="text/csv; charset=utf-8",
    )


@require_POST
@capability_required(Cap.IMPORT_HOUSEHOLDS)
def upload_rerun(request: HttpRequest, upload_id: int) -> HttpResponse:
    upload = _upload(request, upload_id)
    try:
        again = services.rerun(upload, request.user)
    except services.UploadError:
        context = {
            **_detail_context(upload),
            "rerun_error": _("Only an import that stopped before finishing can be run again."),
        }
        return render(request, "imports/detail.html", context)
    return redirect("import_detail", upload_id=again.pk)
