"""The SQLite import writer: a separate process that writes chunks with ADBC.

Why a process of its own: ADBC binds Arrow columns in C, several times faster than
``executemany``, but its driver links its own copy of SQLite. Two SQLite libraries
opening one file *in one process* break each other's POSIX locks and can corrupt the
database. In a separate process they are just two ordinary SQLite clients, and the
import uses both cores: this process writes chunk *k* while the parent prepares *k+1*.

Protocol, one line each way per step:

- ``MODE incremental``, or ``MODE bulk <persons> <households>`` (at most how many it will write);
- one line per chunk: the folder holding ``chunk.json`` and one Arrow IPC file per table;
  the writer answers one JSON line;
- ``END``: the writer finishes and answers.

*Incremental* mode commits each chunk. *Bulk* mode is for large loads into a small
registry: one transaction drops the registry tables' secondary indexes, appends every
chunk, rebuilds the indexes from sorted data and commits. Random keys (registry ids,
identifier values) make incremental index upkeep grow costlier with every million rows;
a rebuild sorts once. A kill rolls the whole load back, and a re-run starts afresh.
Bulk mode also draws every registry id at once, checks foreign keys on each chunk's
columns instead of row by row, and uses a rollback journal when it is the only
connection (see :meth:`Writer._rollback_journal`).

The writer dies with its parent (PR_SET_PDEATHSIG), so a killed import never leaves a
writer behind.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from sijill.core import ids
from sijill.core.bulk import BulkSession, prepare_frame
from sijill.identity.intake import CANDIDATE_TABLE
from sijill.registry.intake.idpool import IdPool, draw_ids
from sijill.registry.intake.load import REGISTRY_TABLES, Chunk, finalise

TABLES = ("persons", "households", "memberships", "identifiers", "conflicts")


class AdbcSqliteSession(BulkSession):
    vendor = "sqlite"

    def __init__(self, path: str) -> None:
        import adbc_driver_sqlite.dbapi as adbc

        self.conn = adbc.connect(path, autocommit=True)
        self.cur = self.conn.cursor()
        # Checkpointing every 1,000 pages (the default) copies the same pages again and again during a
        # large import; every 100,000 pages (400 MB of WAL) measured 30% faster. main() checkpoints at the end.
        pragmas = (
            "busy_timeout=60000",
            "foreign_keys=ON",
            "cache_size=-262144",
            "synchronous=NORMAL",
            "wal_autocheckpoint=100000",
        )
        for pragma in pragmas:
            self.cur.execute(f"PRAGMA {pragma}")

    def query(self, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
        self.cur.execute(sql.replace("%s", "?"), list(params) if params else None)
        return pl.from_arrow(self.cur.fetch_arrow_table())  # type: ignore[return-value]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.cur.execute(sql.replace("%s", "?"), list(params) if params else None)

    def insert(self, table: str, df: pl.DataFrame) -> int:
        if df.height == 0:
            return 0
        self.cur.adbc_ingest(table, prepare_frame(df, bool_as_int=True).to_arrow(), mode="append")
        return df.height

    def close(self) -> None:
        self.cur.close()
        self.conn.close()


def save_chunk(chunk: Chunk, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        getattr(chunk, name).write_ipc(directory / f"{name}.arrow")
    (directory / "chunk.json").write_text(json.dumps(chunk.changeset))


def load_saved(directory: Path) -> Chunk:
    frames = {name: pl.read_ipc(directory / f"{name}.arrow") for name in TABLES}
    return Chunk(changeset=json.loads((directory / "chunk.json").read_text()), **frames)


Reference = tuple[str, str, str, str]  # child table, column, parent table, parent column


def references(session: BulkSession, tables: Sequence[str]) -> list[Reference]:
    """The foreign keys declared on ``tables``."""
    out: list[Reference] = []
    for table in tables:
        fks = session.query(
            f'SELECT "table" AS parent, "from" AS col, "to" AS pcol FROM pragma_foreign_key_list(\'{table}\')'
        )
        out.extend((table, col, parent, pcol or "id") for parent, col, pcol in fks.iter_rows())
    return out


def check_references(
    session: BulkSession, tables: list[tuple[str, pl.DataFrame]], refs: Sequence[Reference]
) -> None:
    """What SQLite's foreign-key checks do row by row, done on the chunk's columns before they are written.

    A value must name a row written in the same chunk or a row already in the database
    (the few values left after the first test, such as area and change set ids, are
    looked up in one query each).
    """
    written = dict(tables)
    for child, col, parent, pcol in refs:
        df = written.get(child)
        if df is None or col not in df.columns:
            continue
        values = df.get_column(col).drop_nulls().unique()
        if parent in written:
            values = values.filter(~values.is_in(written[parent].get_column(pcol).implode()))
        if values.len() == 0:
            continue
        found = session.query(
            f'SELECT "{pcol}" AS v FROM "{parent}" WHERE {session.in_list(pcol)}',
            [session.list_param(values.to_list())],
        )
        missing = values.filter(~values.is_in(found["v"].cast(values.dtype).implode()))
        if missing.len():
            raise RuntimeError(f"{child}.{col} = {missing[0]} refers to no row of {parent}")


def write_saved(
    session: AdbcSqliteSession,
    directory: Path,
    pools: tuple[IdPool, IdPool] | None = None,
    refs: Sequence[Reference] | None = None,
) -> dict[str, Any]:
    """Write one saved chunk inside the current transaction.

    ``refs``: foreign keys to check here, when SQLite's own checks are off (bulk mode).
    """
    chunk = load_saved(directory)
    tables = finalise(chunk, session, pools)
    if refs is not None:
        check_references(session, tables, refs)
    for table, df in tables:
        session.insert(table, df)
    nh, np_ = chunk.sizes
    return {"households": nh, "persons": np_}


class Writer:
    def __init__(self, session: AdbcSqliteSession):
        self.s = session
        self.bulk = False
        self.indexes: list[tuple[str, str]] = []
        self.pools: tuple[IdPool, IdPool] | None = None
        self.refs: list[Reference] | None = None
        self.rollback_journal = False

    def start(self, mode: str, persons: int = 0, households: int = 0) -> None:
        """``persons`` and ``households``: at most how many a bulk load will write."""
        if mode != "bulk":
            return
        self.bulk = True
        # SQLite checks foreign keys row by row, one B-tree probe per reference: 17 s of a 1M-household
        # load. Bulk mode checks each chunk's columns instead, before writing them (check_references).
        # The pragma only takes effect outside a transaction.
        self.s.execute("PRAGMA foreign_keys=OFF")
        self.rollback_journal = self._rollback_journal()
        self.s.execute("BEGIN IMMEDIATE")
        self.refs = references(self.s, (*REGISTRY_TABLES, CANDIDATE_TABLE))
        marks = ", ".join("%s" for _ in REGISTRY_TABLES)
        df = self.s.query(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            list(REGISTRY_TABLES),
        )
        self.indexes = list(zip(df["name"].to_list(), df["sql"].to_list(), strict=True)) if df.height else []
        for name, _ in self.indexes:
            self.s.execute(f'DROP INDEX "{name}"')
        # Under the write lock the ids in use cannot change: draw every new id now.
        pools = []
        for table, n, width in (
            ("registry_person", persons, ids.PERSON_ID_WIDTH),
            ("registry_household", households, ids.HOUSEHOLD_ID_WIDTH),
        ):
            in_use = self.s.query(f"SELECT CAST(registry_id AS INTEGER) AS i FROM {table}")
            pools.append(IdPool(draw_ids(n, width, in_use["i"].cast(pl.Int64).to_numpy())))
        self.pools = (pools[0], pools[1])

    def chunk(self, directory: Path) -> dict[str, Any]:
        if self.bulk:
            return write_saved(self.s, directory, self.pools, self.refs)
        self.s.execute("BEGIN IMMEDIATE")
        try:
            result = write_saved(self.s, directory)
        except BaseException:
            self.s.execute("ROLLBACK")
            raise
        self.s.execute("COMMIT")
        return result

    def end(self) -> dict[str, Any]:
        journal = self.rollback_journal
        timings: dict[str, float] = {}
        if self.bulk:
            # The importing process is idle by now: let SQLite sort with a helper thread.
            self.s.execute("PRAGMA threads=2")
            t0 = time.perf_counter()
            for _, sql in self.indexes:
                self.s.execute(sql)  # a UNIQUE index that cannot be built fails the whole load
            t1 = time.perf_counter()
            self.s.execute("COMMIT")
            self._leave_bulk()
            timings = {"indexes_seconds": t1 - t0, "commit_seconds": time.perf_counter() - t1}
        t2 = time.perf_counter()
        self.s.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        timings["checkpoint_seconds"] = time.perf_counter() - t2
        return {"indexes_rebuilt": len(self.indexes), "rollback_journal": journal, **timings}

    def abort(self) -> None:
        if self.bulk:
            try:
                self.s.execute("ROLLBACK")
            except Exception:  # the failure came before BEGIN, or SQLite already rolled back
                pass
            self._leave_bulk()

    def _rollback_journal(self) -> bool:
        """Switch the file to a rollback journal for the load, if no other connection has it open.

        In WAL mode every page of a bulk load is written twice: to the WAL, then by the
        checkpoint into the database (3 GB each way at 1M households; the checkpoint alone
        took 17 s). With a rollback journal, pages added past the end of the file need no
        journal, so they are written once; the pages the load changes are journaled first,
        and a kill still rolls everything back (the next connection finds the hot journal).
        The price: readers wait while the load holds its lock, instead of reading the last
        committed state. SQLite refuses the switch while another connection has the file
        open (a running server, say), and the load then stays in WAL mode.
        """
        import adbc_driver_sqlite.dbapi as adbc

        # A first read: the connection learns that the file is in WAL mode, so the switch really asks for
        # the exclusive access it needs (on a fresh connection the pragma would be a no-op).
        self.s.query("SELECT COUNT(*) AS n FROM sqlite_master")
        try:
            mode = self.s.query("PRAGMA journal_mode=DELETE")["journal_mode"][0]
        except adbc.OperationalError:  # "database is locked": another connection has the file open
            return False
        if mode != "delete":
            return False
        self.s.execute("PRAGMA synchronous=FULL")  # the safe setting for a rollback journal
        return True

    def _leave_bulk(self) -> None:
        self.bulk = False
        self.s.execute("PRAGMA foreign_keys=ON")
        if self.rollback_journal:
            self.rollback_journal = False
            self.s.execute("PRAGMA synchronous=NORMAL")
            try:
                self.s.query("PRAGMA journal_mode=WAL")
            except Exception:  # every Django connection sets WAL mode when it opens anyway
                pass


def _die_with_parent() -> None:
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the writer still stops at the end of its input
        pass


def main(argv: list[str]) -> int:
    _die_with_parent()
    session = AdbcSqliteSession(argv[1])
    writer = Writer(session)
    try:
        for line in sys.stdin:
            command = line.strip()
            result: dict[str, Any]
            try:
                if command.startswith("MODE "):
                    _, mode, *sizes = command.split()
                    writer.start(mode, *map(int, sizes))
                    continue
                if command == "END":
                    result = {"ok": True, **writer.end()}
                else:
                    result = {"ok": True, **writer.chunk(Path(command))}
            except Exception as exc:  # reported to the parent, which fails the job
                writer.abort()
                result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()
            if not result["ok"] or command == "END":
                return 0 if result["ok"] else 1
        writer.abort()  # input ended without END: the parent is gone
    finally:
        session.close()
    return 0


def spawn(db_path: str) -> Any:
    """Start a writer for the SQLite database at ``db_path``."""
    import subprocess

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "sijill.registry.intake.sqlite_writer", db_path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, bufsize=1,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv))
