"""One figure's numbers, shared by its HTML table, its chart and its CSV download.

A :class:`Table` holds raw values (ints, floats, strings); :meth:`Table.display_rows` formats
them for the active language (grouping, decimal sign, currency), :func:`to_csv` writes the
same rows unformatted (dot decimal, no grouping) with the same column headings, so the CSV
and the table cannot disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.http import HttpResponse
from django.utils.formats import number_format
from django.utils.functional import Promise

from sijill.core.l10n import format_money

Kind = Literal["text", "int", "money", "percent", "number"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    kind: Kind = "int"
    decimals: int = 3  # for "number"

    @property
    def numeric(self) -> bool:
        return self.kind != "text"


@dataclass
class Table:
    """``name`` is the download's slug (``?download=<name>``)."""

    name: str
    title: str | Promise
    columns: Sequence[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def display_rows(self) -> list[list[tuple[str, bool]]]:
        """Each row as (formatted cell, is it a number) in column order."""
        return [
            [(fmt(row.get(c.key), c.kind, c.decimals), c.numeric) for c in self.columns] for row in self.rows
        ]

    def column(self, key: str) -> list[Any]:
        return [row.get(key) for row in self.rows]


def fmt(value: Any, kind: Kind, decimals: int = 3) -> str:
    if value is None:
        return "—"
    if kind == "text":
        return str(value)
    if kind == "int":
        return number_format(int(value), use_l10n=True, force_grouping=True)
    if kind == "money":
        return format_money(round(float(value), 2))
    if kind == "percent":
        return number_format(round(float(value) * 100, 1), 1, use_l10n=True, force_grouping=True) + "\u00a0%"
    return number_format(float(value), decimals, use_l10n=True, force_grouping=True)


def raw(value: Any, kind: Kind) -> str:
    """The CSV cell: numbers as written by Python (dot decimal), percentages as fractions."""
    if value is None:
        return ""
    if kind == "int":
        return str(int(value))
    if kind == "money":
        return f"{float(value):.2f}"
    if kind in ("percent", "number"):
        return repr(round(float(value), 6))
    return str(value)


def to_csv(table: Table) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([str(c.label) for c in table.columns])
    for row in table.rows:
        w.writerow([raw(row.get(c.key), c.kind) for c in table.columns])
    return out.getvalue()


def csv_response(table: Table, filename: str) -> HttpResponse:
    """The table as a UTF-8 CSV download (with a byte-order mark, so spreadsheets read Arabic)."""
    response = HttpResponse("\ufeff" + to_csv(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
