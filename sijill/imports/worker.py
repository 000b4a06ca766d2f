"""The import worker: ``python -m sijill.imports.worker UPLOAD_ID``.

Started by :func:`sijill.imports.services.start_worker` in its own process, so that the
import outlives the web request; it runs :func:`sijill.imports.services.run_upload`, which
calls the importer ``sijill import`` uses.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m sijill.imports.worker UPLOAD_ID", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sijill.settings")
    import django

    django.setup()
    from sijill.imports.services import run_upload

    run_upload(int(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
