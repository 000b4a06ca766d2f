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


def _run_sqlite_child(steps: Sequence[Step], readonly: bool) -> dict[str, pl.DataFrame]:
    tmp_root = settings.VAR_DIR / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_root, prefix="arrowdb-") as tmp:
        d = Path(tmp)
        plan: list[dict[str, Any]] = []
        for i, step in enumerate(steps):
            if isinstance(step, Sql):
                plan.append({"sql": step.sql, "params": list(step.params)})
            elif isinstance(step, Ingest):
                path = d / f"in-{i}.arrow"
                prepare_frame(step.frame, bool_as_int=True).write_ipc(path)
                plan.append({"ingest": step.table, "file": str(path), "temporary": step.temporary})
            else:
                plan.append(
                    {
                        "read": step.name,
                        "sql": step.sql,
                        "params": list(step.params),
                        "file": str(d / f"out-{i}.arrow"),
                    }
                )
        (d / "plan.json").write_text(json.dumps({"steps": plan, "readonly": readonly}))
        proc = subprocess.run(
            [sys.executable, "-m", "sijill.core.arrowdb", str(connection.settings_dict["NAME"]), str(d / "plan.json")],
            capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        if proc.returncode != 0:
            lines = (proc.stdout.strip() or proc.stderr.strip() or "no output").splitlines()
            raise ArrowDbError(lines[-1])
        out: dict[str, pl.DataFrame] = {}
        for item in plan:
            if "read" in item:
                out[item["read"]] = pl.read_ipc(item["file"])
        return out


def _child(db_path: str, plan_path: str) -> int:
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow.ipc as ipc

    plan = json.loads(Path(plan_path).read_text())
    conn = adbc.connect(db_path, autocommit=True)
    cur = conn.cursor()
    for pragma in ("busy_timeout=60000", "foreign_keys=ON", "cache_size=-262144", "synchronous=NORMAL"):
        cur.execute(f"PRAGMA {pragma}")
    cur.execute("BEGIN" if plan["readonly"] else "BEGIN IMMEDIATE")
    try:
        for step in plan["steps"]:
            if "ingest" in step:
                with ipc.open_file(step["file"]) as f:
                    table = f.read_all()
                if table.num_rows or step["temporary"]:
                    cur.adbc_ingest(
                        step["ingest"],
                        table,
                        mode="create" if step["temporary"] else "append",
                        temporary=step["temporary"],
                    )
            else:
                cur.execute(_placeholders(step["sql"], "sqlite"), step["params"] or None)
                if "read" in step:
                    table = cur.fetch_arrow_table()
                    with ipc.new_file(step["file"], table.schema) as w:
                        w.write_table(table)
        cur.execute("ROLLBACK" if plan["readonly"] else "COMMIT")
    except Exception as exc:
        cur.execute("ROLLBACK")
        print(f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        cur.close()
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2]))
