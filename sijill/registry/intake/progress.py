"""Progress callbacks of an import (the CLI shows them as a Rich bar). Django-free."""

from __future__ import annotations


class ImportProgress:
    """Does nothing; subclasses display progress."""

    def start(self, total_households: int) -> None:
        """The number of household rows read."""

    def advance(self, households: int) -> None:
        """Households done (loaded, rejected or found already present)."""

    def message(self, text: str) -> None:
        """A line of information for the user."""
