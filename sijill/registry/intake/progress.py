"""Progress callbacks of an import (the CLI shows them as a Rich bar, the web page as a bar
polled by htmx). Django-free."""

from __future__ import annotations


class ImportProgress:
    """Does nothing; subclasses display progress."""

    def job(self, job_id: int) -> None:
        """The ImportJob row recording this run was created (after the files were read)."""

    def phase(self, name: str) -> None:
        """A step begins: ``read`` (the files), ``check`` (rules over the whole file), ``load``
        (chunks validated and written), ``rejects`` (the rejects files)."""

    def start(self, total_households: int) -> None:
        """The number of household rows read."""

    def advance(self, households: int) -> None:
        """Households done (loaded, rejected or found already present)."""

    def message(self, text: str) -> None:
        """A line of information for the user."""
