"""Sending text messages: a small interface, and two senders for development and demos.

``SIJILL_SMS_BACKEND`` names the class (dotted path). A real gateway (an operator's SMPP
or HTTP API) is one more class with the same ``send`` method; nothing else changes.

- :class:`FileSender` (the default) appends one JSON line per message to
  ``SIJILL_SMS_OUTBOX`` (``var/sms/outbox.jsonl``); ``sijill portal outbox`` prints the last
  ones, which is how a demo (and the browser test) reads the code.
- :class:`ConsoleSender` writes the message to the ``sijill.sms`` logger.
"""

from __future__ import annotations

import fcntl
import json
import logging
from collections import deque
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger("sijill.sms")


class SmsSender(Protocol):
    def send(self, to: str, text: str) -> None:
        """Send ``text`` to the E.164 number ``to``. Raise on failure."""


class ConsoleSender:
    def send(self, to: str, text: str) -> None:
        log.warning("SMS to %s: %s", to, text)
        print(f"SMS to {to}: {text}", flush=True)


class FileSender:
    def __init__(self, path: Path | str | None = None):
        self.path = Path(path or settings.SIJILL_SMS_OUTBOX)

    def send(self, to: str, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"at": timezone.now().isoformat(), "to": to, "text": text}, ensure_ascii=False)
        with open(self.path, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)  # several server processes append to one file
            fh.write(line + "\n")


def get_sender() -> SmsSender:
    cls: Any = import_string(settings.SIJILL_SMS_BACKEND)
    return cls()  # type: ignore[no-any-return]


def read_outbox(last: int = 10, path: Path | str | None = None) -> list[dict[str, Any]]:
    """The last ``last`` messages of the file sender's outbox, oldest first."""
    p = Path(path or settings.SIJILL_SMS_OUTBOX)
    if not p.exists():
        return []
    with open(p, encoding="utf-8") as fh:
        lines = deque((ln for ln in fh if ln.strip()), maxlen=last)
    return [json.loads(ln) for ln in lines]
