"""Whole tables in and out of the database as Arrow, for batch jobs.

:func:`read` runs queries and returns Polars frames; :func:`write` runs a *plan* (SQL
statements and Arrow ingests, in order) in one transaction, so a failed or killed batch
leaves the earlier state intact.

- PostgreSQL: ADBC in this process (binary COPY for ingests), on its own connection.
- SQLite: ADBC in a child process (``python -m sijill.core.arrowdb``). The ADBC driver
  links its own SQLite; opening the same file with it in Django's process corrupts the
  database (see :mod:`sijill.core.bulk`). Frames travel as Arrow IPC files.

Both run on their own connection, outside any transaction open on Django's connection:
callers commit before reading, and nothing here sees uncommitted ORM writes.
SQL uses ``%s`` placeholders on every backend.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection

from sijill.core.bulk import prepare_frame


class ArrowDbError(RuntimeError):
    """A batch read or write failed; nothing was written."""


@dataclass
class Sql:
    sql: str
    params: Sequence[Any] = ()


@dataclass
class Ingest:
    """Append a frame to a table; ``temporary`` creates a temporary table for the transaction."""

    table: str
    frame: pl.DataFrame
    temporary: bool = False


@dataclass
class Read:
    """A query inside the plan's transaction; its frame is returned by :func:`write`."""

    name: str
    sql: str
    params: Sequence[Any] = ()


Step = Sql | Ingest | Read


@dataclass
class _Plan:
    steps: list[dict[str, Any]] = field(default_factory=list)


def date_param() -> str:
    """A placeholder for an ISO date given as text (PostgreSQL over ADBC binds text as text)."""
    return "CAST(%s AS DATE)" if connection.vendor == "postgresql" else "%s"


def timestamp_param() -> str:
    """A placeholder for an ISO timestamp with time zone given as text."""
    return "CAST(%s AS TIMESTAMPTZ)" if connection.vendor == "postgresql" else "%s"


def _placeholders(sql: str, vendor: str) -> str:
    if vendor == "sqlite":
        return sql.replace("%s", "?")
    n = 0

    def repl(_: re.Match[str]) -> str:
        nonlocal n
        n += 1
        return f"${n}"

    return re.sub(r"%s", repl, sql)


def _pg_uri() -> str:
    s = connection.settings_dict
    from urllib.parse import quote

    auth = quote(s.get("USER") or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    host = s.get("HOST") or "localhost"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}@{host}{port}/{s['NAME']}"


def read(queries: Mapping[str, str | tuple[str, Sequence[Any]]]) -> dict[str, pl.DataFrame]:
    """Run read-only queries; one frame per name."""
    steps: list[Step] = []
    for name, q in queries.items():
        sql, params = (q, ()) if isinstance(q, str) else q
        steps.append(Read(name, sql, params))
    return write(steps, readonly=True)


def write(steps: Sequence[Step], readonly: bool = False) -> dict[str, pl.DataFrame]:
    """Run the steps in order in one transaction; return the frames of its :class:`Read` steps."""
    if connection.vendor == "postgresql":
        return _run_postgresql(steps, readonly)
    return _run_sqlite_child(steps, readonly)


# --------------------------------------------------------------------------- PostgreSQL


def _run_postgresql(steps: Sequence[Step], readonly: bool) -> dict[str, pl.DataFrame]:
    import adbc_driver_postgresql.dbapi as adbc

    out: dict[str, pl.DataFrame] = {}
    conn = adbc.connect(_pg_uri())
    try:
        cur = conn.cursor()
        try:
            for step in steps:
                if isinstance(step, Sql):
                    cur.execute(_placeholders(step.sql, "postgresql"), list(step.params) or None)
                elif isinstance(step, Ingest):
                    if step.frame.height or step.temporary:
                        cur.adbc_ingest(
                            step.table,
                            prepare_frame(step.frame, bool_as_int=False).to_arrow(),
                            mode="create" if step.temporary else "append",
                            temporary=step.temporary,
                        )
                else:
                    cur.execute(_placeholders(step.sql, "postgresql"), list(step.params) or None)
                    out[step.name] = pl.from_arrow(cur.fetch_arrow_table())  # type: ignore[assignment]
            if readonly:
                conn.rollback()
            else:
                conn.commit()
        except Exception as exc:
            conn.rollback()
            raise ArrowDbError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            cur.close()
    finally:
        conn.close()
    return out


# --------------------------------------------------------------------------- SQLite (child process)


class _SqliteJob:
    """One plan running in a child process; :meth:`result` waits for it."""

    def __init__(self, steps: Sequence[Step], readonly: bool) -> None:
        tmp_root = settings.VAR_DIR / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        self.tmp = tempfile.TemporaryDirectory(dir=tmp_root, prefix="arrowdb-")
        d = Path(self.tmp.name)
        self.plan: list[dict[str, Any]] = []
        for i, step in enumerate(steps):
            if isinstance(step, Sql):
                self.plan.append({"sql": step.sql, "params": list(step.params)})
            elif isinstance(step, Ingest):
                path = d / f"in-{i}.arrow"
                prepare_frame(step.frame, bool_as_int=True).write_ipc(path)
                self.plan.append({"ingest": step.table, "file": str(path), "temporary": step.temporary})
            else:
                self.plan.append(
                    {
                        "read": step.name,
                        "sql": step.sql,
                        "params": list(step.params),
                        "file": str(d / f"out-{i}.arrow"),
                    }
                )
        (d / "plan.json").write_text(json.dumps({"steps": self.plan, "readonly": readonly}))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sijill.core.arrowdb_child", str(connection.settings_dict["NAME"]), str(d / "plan.json")],
            stdout=subprocess.PIPE, stderr=None, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip

    def result(self) -> dict[str, pl.DataFrame]:
        try:
            stdout, _ = self.proc.communicate()
            if self.proc.returncode != 0:
                lines = (
                    stdout.strip() or f"the SQLite worker stopped with code {self.proc.returncode}"
                ).splitlines()
                raise ArrowDbError(lines[-1])
            out: dict[str, pl.DataFrame] = {}
            for item in self.plan:
                if "read" in item:
                    out[item["read"]] = pl.read_ipc(item["file"])
            return out
        finally:
            self.tmp.cleanup()


def _run_sqlite_child(steps: Sequence[Step], readonly: bool) -> dict[str, pl.DataFrame]:
    return _SqliteJob(steps, readonly).result()


class PendingReads:
    """Queries started at once (SQLite: one process each, so they run side by side)."""

    def __init__(self, queries: Mapping[str, str | tuple[str, Sequence[Any]]]) -> None:
        self.queries = {n: ((q, ()) if isinstance(q, str) else q) for n, q in queries.items()}
        self.jobs: dict[str, _SqliteJob] = {}
        if connection.vendor == "sqlite":
            self.jobs = {
                n: _SqliteJob([Read(n, sql, params)], readonly=True)
                for n, (sql, params) in self.queries.items()
            }

    def get(self, name: str) -> pl.DataFrame:
        if name in self.jobs:
            return self.jobs.pop(name).result()[name]
        sql, params = self.queries[name]
        return read({name: (sql, params)})[name]


def start_reads(queries: Mapping[str, str | tuple[str, Sequence[Any]]]) -> PendingReads:
    """Start read-only queries now; fetch each frame with ``.get(name)`` when needed."""
    return PendingReads(queries)
