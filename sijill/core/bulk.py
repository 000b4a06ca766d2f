"""Set-based reads and writes on SQLite and PostgreSQL.

Bulk paths bypass the ORM. A :class:`BulkSession` is one transaction on Django's
connection in which whole tables are written at once: ``COPY`` on PostgreSQL, one
``executemany`` per table on SQLite.

Never open a SQLite file with ADBC in a process that also has Django's (Python's
sqlite3) connection to it: the ADBC driver links its own copy of SQLite, and two SQLite
libraries on one file in one process break each other's POSIX locks and can corrupt the
database (sqlite.org, "How to corrupt", §2.2.1; we saw "database disk image is
malformed"). Large SQLite imports therefore write from a separate process
(:mod:`sijill.registry.intake.sqlite_writer`).

SQL is written with ``%s`` placeholders for every backend.
"""

from __future__ import annotations

import io
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import polars as pl
from django.db import connection, transaction


def vendor() -> str:
    return connection.vendor  # "sqlite" | "postgresql"


def prepare_frame(df: pl.DataFrame, bool_as_int: bool) -> pl.DataFrame:
    """Dates and datetimes as ISO text; booleans as 0/1 where the backend stores them so."""
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.Date:
            exprs.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
        elif dtype == pl.Boolean and bool_as_int:
            exprs.append(pl.col(name).cast(pl.Int8))
        elif dtype == pl.Null:
            exprs.append(pl.col(name).cast(pl.Utf8))
    return df.with_columns(exprs) if exprs else df


class BulkSession(ABC):
    """A transaction for set-based work."""

    vendor: str

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
        """Run a statement that returns rows."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement."""

    @abstractmethod
    def insert(self, table: str, df: pl.DataFrame) -> int:
        """Append the frame's rows to ``table`` (columns named as in the table)."""

    def reserve_ids(self, table: str, n: int) -> list[int]:
        if n == 0:
            return []
        if self.vendor == "postgresql":
            # The values come back as a range when nobody else drew from the sequence meanwhile (the usual
            # case), else as an array: fetching 80,000 rows of one id each cost 0.3 s a chunk.
            # The sequence's name is looked up once: pg_get_serial_sequence() in the select list ran per row.
            seq = self.query("SELECT pg_get_serial_sequence(%s, 'id') AS seq", [table])["seq"][0]
            df = self.query(
                "SELECT MIN(id) AS lo, MAX(id) AS hi, "
                "CASE WHEN MAX(id) - MIN(id) + 1 = COUNT(*) THEN NULL ELSE array_agg(id ORDER BY id) END AS ids "
                "FROM (SELECT nextval(%s::regclass) AS id FROM generate_series(1, %s)) t",
                [seq, n],
            )
            lo, hi, listed = df.row(0)
            return list(listed) if listed is not None else list(range(int(lo), int(hi) + 1))
        # SQLite: the session holds the write lock (BEGIN IMMEDIATE), so MAX(id) is ours.
        # Plain MAX(id): SQLite reads it off the end of the B-tree. Wrapped in COALESCE it scans the table.
        top = self.query(f'SELECT MAX(id) AS m FROM "{table}"')["m"][0]
        base = int(top) if top is not None else 0
        return list(range(base + 1, base + 1 + n))

    def insert_row(self, table: str, values: dict[str, Any]) -> int:
        cols = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join("%s" for _ in values)
        df = self.query(
            f'INSERT INTO "{table}" ({cols}) VALUES ({marks}) RETURNING id', list(values.values())
        )
        return int(df["id"][0])

    def list_param(self, values: Iterable[Any]) -> Any:
        vals = list(values)
        return vals if self.vendor == "postgresql" else json.dumps(vals)

    def in_list(self, column: str) -> str:
        """``column IN <list parameter>``, for :meth:`list_param`."""
        if self.vendor == "postgresql":
            return f"{column} = ANY(%s)"
        return f"{column} IN (SELECT value FROM json_each(%s))"


def _frame(cols: list[str], rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=cols, orient="row", infer_schema_length=None)


class DjangoSession(BulkSession):
    def __init__(self) -> None:
        self.vendor = connection.vendor

    def query(self, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return _frame([d[0] for d in cur.description], cur.fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with connection.cursor() as cur:
            cur.execute(sql, params)

    def insert(self, table: str, df: pl.DataFrame) -> int:
        if df.height == 0:
            return 0
        df = prepare_frame(df, bool_as_int=self.vendor == "sqlite")
        cols = ", ".join(f'"{c}"' for c in df.columns)
        with connection.cursor() as cur:
            if self.vendor == "postgresql":
                buf = io.BytesIO()
                df.write_csv(buf, include_header=False, null_value="\\N", quote_style="necessary")
                with cur.cursor.copy(
                    f"COPY \"{table}\" ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
                ) as copy:
                    copy.write(buf.getvalue())
            else:
                marks = ", ".join("?" for _ in df.columns)
                cur.connection.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', df.rows())
        return df.height


@contextmanager
def session() -> Iterator[BulkSession]:
    """One transaction for bulk work, on Django's connection (SQLite: BEGIN IMMEDIATE)."""
    with transaction.atomic():
        yield DjangoSession()


def query_frame(sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
    """A read query on Django's connection, as a Polars frame."""
    return DjangoSession().query(sql, params)


def json_list_param(values: Iterable[Any]) -> Any:
    vals = list(values)
    return vals if vendor() == "postgresql" else json.dumps(vals)


def in_list_sql(column: str) -> str:
    if vendor() == "postgresql":
        return f"{column} = ANY(%s)"
    return f"{column} IN (SELECT value FROM json_each(%s))"
