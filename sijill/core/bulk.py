"""Set-based writes and reads on SQLite and PostgreSQL.

Bulk paths bypass the ORM: rows go to SQLite through one ``executemany`` per table
and to PostgreSQL through ``COPY``. Both run on Django's connection so that they share
its transaction.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
from django.db import connection


def vendor() -> str:
    return connection.vendor  # "sqlite" | "postgresql"


def _prepare(df: pl.DataFrame) -> pl.DataFrame:
    """Turn dates, datetimes and booleans into values both drivers take as text/ints."""
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.Date:
            exprs.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00:00"))
        elif dtype == pl.Boolean and vendor() == "sqlite":
            exprs.append(pl.col(name).cast(pl.Int8))
    return df.with_columns(exprs) if exprs else df


def insert(table: str, df: pl.DataFrame) -> int:
    """Append the rows of ``df`` to ``table`` (columns named as in the table)."""
    if df.height == 0:
        return 0
    df = _prepare(df)
    cols = ", ".join(f'"{c}"' for c in df.columns)
    with connection.cursor() as cur:
        if vendor() == "postgresql":
            buf = io.BytesIO()
            df.write_csv(buf, include_header=False, null_value="\\N", quote_style="necessary")
            raw = cur.cursor  # psycopg cursor
            with raw.copy(f'COPY "{table}" ({cols}) FROM STDIN WITH (FORMAT csv, NULL \'\\N\')') as copy:
                copy.write(buf.getvalue())
        else:
            marks = ", ".join("?" for _ in df.columns)
            cur.connection.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', df.rows())
    return df.height


def reserve_ids(table: str, n: int) -> list[int]:
    """``n`` primary keys for ``table``, safe against concurrent writers."""
    if n == 0:
        return []
    with connection.cursor() as cur:
        if vendor() == "postgresql":
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n]
            )
            return [r[0] for r in cur.fetchall()]
        # SQLite: the import runs inside an IMMEDIATE transaction, which holds the write lock.
        cur.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        base = int(cur.fetchone()[0])
        return list(range(base + 1, base + 1 + n))


def values_in(table: str, column: str, values: Iterable[str], extra_where: str = "", params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``table`` whose ``column`` is one of ``values`` (one query, any number of values)."""
    vals = list(values)
    if not vals:
        return []
    where = f" AND {extra_where}" if extra_where else ""
    with connection.cursor() as cur:
        if vendor() == "postgresql":
            cur.execute(f'SELECT * FROM "{table}" WHERE "{column}" = ANY(%s){where}', [vals, *params])
        else:
            cur.execute(
                f'SELECT * FROM "{table}" WHERE "{column}" IN (SELECT value FROM json_each(%s)){where}',
                [json.dumps(vals), *params],
            )
        return cur.fetchall()


def query_frame(sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
    """Run a read query on Django's connection and return a Polars frame."""
    with connection.cursor() as cur:
        cur.execute(sql, params)
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
    return pl.DataFrame(rows, schema=cols, orient="row", infer_schema_length=None)


def json_list_param(values: Iterable[Any]) -> Any:
    """A list parameter usable with :func:`in_list_sql` on either backend."""
    vals = list(values)
    return vals if vendor() == "postgresql" else json.dumps(vals)


def in_list_sql(column: str) -> str:
    """SQL fragment ``column IN <list parameter>`` for :func:`json_list_param`."""
    if vendor() == "postgresql":
        return f"{column} = ANY(%s)"
    return f"{column} IN (SELECT value FROM json_each(%s))"
