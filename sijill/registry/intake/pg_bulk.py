"""PostgreSQL bulk mode: one transaction that loads without secondary indexes or foreign keys.

``COPY`` into the registry tables with their indexes in place updates every index row by
row, and three of them are on random keys (registry ids, identifier values), so every
insert lands on a different page; the foreign keys are deferred, so each row queues a
check that runs at commit as one index probe per row. At 1M households that came to
432 s, 3.3 times SQLite's bulk mode.

Bulk mode, for a large load into a small registry (as on SQLite), in one transaction:
locks the four registry tables, drops their secondary indexes (the unique ones are
partial unique indexes, not table constraints, so they can be dropped) and their foreign
keys, appends every chunk with ``COPY``, then recreates the indexes from sorted data and
adds the foreign keys back, which PostgreSQL validates in one join per key, and commits.
The DDL is transactional: a kill or an error rolls back the rows *and* the dropped
indexes and constraints together. Readers of the registry tables wait for the load to
finish (the dropped indexes need an exclusive lock).

:func:`write` runs that transaction in a thread of its own, on its own connection, while
the calling thread validates and prepares the next chunk (as the SQLite writer process
does): the server parses one chunk's ``COPY`` while the importer builds the next.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import polars as pl
from django.db import connection, transaction

from sijill.core import bulk, ids
from sijill.registry.intake.idpool import IdPool, draw_ids
from sijill.registry.intake.load import REGISTRY_TABLES, Chunk, finalise

# Index builds sort in memory up to this much, then on disk. Only for this transaction.
MAINTENANCE_WORK_MEM = "1GB"
SEQUENCE_CACHE = 100_000


@contextmanager
def bulk_load(
    persons: int, households: int, timings: dict[str, float] | None = None
) -> Iterator[tuple[bulk.BulkSession, tuple[IdPool, IdPool]]]:
    """A transaction for a bulk load of at most ``persons`` and ``households``.

    Yields the session to write chunks in, and the registry ids to give them. ``timings``
    receives the seconds spent rebuilding indexes, foreign keys and committing.
    """
    timings = {} if timings is None else timings
    tables = ", ".join(f'"{t}"' for t in REGISTRY_TABLES)
    with transaction.atomic():
        s = bulk.DjangoSession()
        s.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        s.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        s.execute("SET LOCAL work_mem = '256MB'")  # the joins that validate the foreign keys
        names = list(REGISTRY_TABLES)
        indexes = s.query(
            "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS sql "
            "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace "
            "AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [names],
        )
        fks = s.query(
            "SELECT c.conrelid::regclass::text AS tbl, c.conname AS name, pg_get_constraintdef(c.oid) AS sql "
            "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
            "WHERE c.contype = 'f' AND t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace",
            [names],
        )
        # Each nextval() locks and logs its sequence: 80,000 of them took 0.3 s, and COPY draws one per
        # membership and identifier row. With a cache, the session draws them in blocks (the unused
        # rest of a block is skipped, as after any session that cached values).
        seqs = s.query(
            "SELECT q.seq, p.cache_size FROM (SELECT pg_get_serial_sequence(t, 'id') AS seq FROM unnest(%s::text[]) t) q "
            "JOIN pg_sequences p ON format('%%I.%%I', p.schemaname, p.sequencename)::regclass = q.seq::regclass",
            [names],
        )
        for seq, _ in seqs.iter_rows():
            s.execute(f"ALTER SEQUENCE {seq} CACHE {SEQUENCE_CACHE}")
        for tbl, name, _ in fks.iter_rows():
            s.execute(f'ALTER TABLE {tbl} DROP CONSTRAINT "{name}"')
        for name, _ in indexes.iter_rows():
            s.execute(f"DROP INDEX {name}")
        # Under the lock the ids in use cannot change: draw every new id now.
        pools = []
        for table, n, width in (
            ("registry_person", persons, ids.PERSON_ID_WIDTH),
            ("registry_household", households, ids.HOUSEHOLD_ID_WIDTH),
        ):
            in_use = s.query(f"SELECT registry_id::bigint AS i FROM {table} WHERE registry_id ~ '^[0-9]+$'")
            used = pl.Series(in_use["i"] if in_use.height else [], dtype=pl.Int64).to_numpy()
            pools.append(IdPool(draw_ids(n, width, used)))
        yield s, (pools[0], pools[1])
        t0 = time.perf_counter()
        for _, sql in indexes.iter_rows():
            s.execute(sql)  # a UNIQUE index that cannot be built fails the whole load
        t1 = time.perf_counter()
        for tbl, name, sql in fks.iter_rows():
            s.execute(f'ALTER TABLE {tbl} ADD CONSTRAINT "{name}" {sql}')  # validated: one join per key
        for seq, cache in seqs.iter_rows():
            s.execute(f"ALTER SEQUENCE {seq} CACHE {int(cache)}")
        t2 = time.perf_counter()
        timings["indexes_seconds"], timings["foreign_keys_seconds"] = t1 - t0, t2 - t1
    timings["commit_seconds"] = time.perf_counter() - t2


class _Stop(Exception):
    """The importing thread failed: roll the load back."""


def write(
    chunks: Iterable[Chunk], persons: int, households: int, written: Callable[[int], None]
) -> tuple[int, int, dict[str, float]]:
    """Write ``chunks`` in one bulk transaction from a writer thread.

    Returns the households and persons written, and the seconds spent finishing (see :func:`bulk_load`).
    """
    todo: queue.Queue[Chunk | None] = queue.Queue(maxsize=1)
    totals = [0, 0]
    timings: dict[str, float] = {}
    failed: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        try:
            with bulk_load(persons, households, timings) as (session, pools):
                while (chunk := todo.get()) is not None:
                    for table, df in finalise(chunk, session, pools):
                        session.insert(table, df)
                    totals[0] += chunk.sizes[0]
                    totals[1] += chunk.sizes[1]
                    written(chunk.sizes[0])
                if stop.is_set():
                    raise _Stop
        except BaseException as exc:
            failed.append(exc)
            stop.set()
        finally:
            connection.close()  # this thread's own connection

    def hand(item: Chunk | None) -> None:
        while worker.is_alive():
            try:
                todo.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    worker = threading.Thread(target=work, name="sijill-pg-bulk-writer", daemon=True)
    worker.start()
    try:
        for chunk in chunks:
            if stop.is_set():
                break
            hand(chunk)
    except BaseException:
        stop.set()
        raise
    finally:
        hand(None)
        worker.join()
    if failed and not isinstance(failed[0], _Stop):
        raise failed[0]
    return totals[0], totals[1], timings
