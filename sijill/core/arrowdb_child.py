"""The SQLite side of :mod:`sijill.core.arrowdb`: runs one plan in its own process.

Kept free of Django and Polars so that it starts fast. ``SIJILL_ARROWDB_TRACE=1`` prints
the time of each step on standard error.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path


def _placeholders(sql: str) -> str:
    return re.sub(r"%s", "?", sql)


def main(db_path: str, plan_path: str) -> int:
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow.ipc as ipc

    plan = json.loads(Path(plan_path).read_text())
    conn = adbc.connect(db_path, autocommit=True)
    cur = conn.cursor()
    for pragma in ("busy_timeout=60000", "foreign_keys=ON", "cache_size=-262144", "synchronous=NORMAL"):
        cur.execute(f"PRAGMA {pragma}")
    cur.execute("BEGIN" if plan["readonly"] else "BEGIN IMMEDIATE")
    try:
        trace = os.environ.get("SIJILL_ARROWDB_TRACE") == "1"
        for step in plan["steps"]:
            t0 = time.perf_counter()
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
                cur.execute(_placeholders(step["sql"]), step["params"] or None)
                if "read" in step:
                    table = cur.fetch_arrow_table()
                    with ipc.new_file(step["file"], table.schema) as w:
                        w.write_table(table)
            if trace:
                what = step.get("ingest") or " ".join(step["sql"].split())[:90]
                print(f"arrowdb {time.perf_counter() - t0:7.2f} s  {what}", file=sys.stderr, flush=True)
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
    sys.exit(main(sys.argv[1], sys.argv[2]))
