"""Scoring and simulation benchmarks (issue 3): ``./dev bench --what score``.

For each size, on SQLite: import the synthetic population if its database is missing
(the import benchmark's database is reused), then measure

- ``sijill score --json`` end to end (first run: every score and decision written), with
  the phases the command reports (read, compute, compare, write);
- the same command again (nothing changed, nothing written);
- ``sijill simulate --set asd.threshold=… --json`` end to end (population read from the database);
- one what-if with the population already in memory (the web app's case).

Peak memory is sampled across the command and its child processes, as for the import.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import OUT, ROOT, git_rev, run_measured, sijill

IN_MEMORY = r"""
import datetime as dt, json, os, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sijill.settings")
django.setup()
from sijill.targeting.simulation import PopulationCache, Scenario, simulate
from sijill.targeting.openfisca.system import load_rules
day = dt.date.fromisoformat(os.environ["BENCH_AS_OF"])
t0 = time.perf_counter()
cache = PopulationCache("MA", day)
rules = load_rules("MA")
cache.baseline(rules)
loaded = time.perf_counter() - t0
times = []
for v in (9.6, 9.8, 9.9):
    t = time.perf_counter()
    r = simulate("MA", day, Scenario({"asd.threshold": v}), cache=cache, compare_stored=False)
    times.append(time.perf_counter() - t)
print(json.dumps({"load_and_baseline": loaded, "what_if": times, "households": r["households"]}))
"""


def ensure_db(n: int, fmt: str = "parquet") -> Path:
    db = OUT / f"bench-{n}.sqlite3"
    score_db = OUT / f"score-{n}.sqlite3"
    if not db.exists():
        from run import bench_import

        bench_import([n], ["sqlite"], fmt)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{score_db}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "SIJILL_DATABASE_URL": f"sqlite:///{db}", "SIJILL_VAR_DIR": str(OUT / "var")}
    subprocess.run(sijill("migrate"), cwd=ROOT, env=env, check=True, capture_output=True)
    # checkpoint so that the copy is complete
    import sqlite3

    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(db, score_db)
    return score_db


def bench(sizes: list[int], as_of: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for n in sizes:
        db = ensure_db(n)
        env = {**os.environ, "SIJILL_DATABASE_URL": f"sqlite:///{db}", "SIJILL_VAR_DIR": str(OUT / "var"),
               "SIJILL_RESCORE_ON_CHANGE": "0", "BENCH_AS_OF": as_of}  # fmt: skip
        for label in ("score, first run", "score, nothing changed"):
            print(f"{label}: {n:,} households ...", flush=True)
            secs, peak, out = run_measured(sijill("score", "--as-of", as_of, "--json"), env)
            s = json.loads(out)
            rows.append({"step": label, "households": s["households"], "seconds": secs, "peak_mb": peak,
                         "detail": ", ".join(f"{k} {v:.1f} s" for k, v in s["timings"].items())})  # fmt: skip
            print(f"  {secs:.1f} s, peak {peak:,} MB, {s['timings']}", flush=True)
        print(f"simulate: {n:,} households ...", flush=True)
        secs, peak, out = run_measured(
            sijill("simulate", "--as-of", as_of, "--set", "asd.threshold=9.8", "--json"), env
        )
        s = json.loads(out)
        rows.append({"step": "simulate (reads the registry)", "households": s["households"], "seconds": secs,
                     "peak_mb": peak, "detail": ", ".join(f"{k} {v:.1f} s" for k, v in s["seconds"].items())})  # fmt: skip
        print(f"  {secs:.1f} s, peak {peak:,} MB", flush=True)
        secs, peak, out = run_measured([sys.executable, "-c", IN_MEMORY], env)
        s = json.loads(out.strip().splitlines()[-1])
        best = min(s["what_if"])
        rows.append({"step": "what-if, population in memory", "households": s["households"], "seconds": best,
                     "peak_mb": peak, "detail": "three thresholds: " + ", ".join(f"{t:.2f} s" for t in s["what_if"])
                     + f"; loading and current law first {s['load_and_baseline']:.1f} s"})  # fmt: skip
        print(f"  in memory: {s['what_if']}", flush=True)
    return rows


def render(rows: list[dict[str, object]]) -> str:
    import datetime as dt
    import platform

    lines = [
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, commit {git_rev()}, SQLite. Seconds are wall-clock for the whole "
        "command unless the step says otherwise; peak memory is sampled across the command and its children.",
        "",
        "| step | households | seconds | peak memory (MB) | detail |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['step']} | {int(r['households']):,} | {float(r['seconds']):.2f} | {int(r['peak_mb']):,} | {r['detail']} |"  # type: ignore[call-overload,arg-type]
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse

    from run import write_section

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated household counts")
    ap.add_argument("--as-of", default="2026-11-30")
    ap.add_argument("--section", default="Scoring and simulation (SQLite)")
    a = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    rows = bench([int(s) for s in a.sizes.split(",")], a.as_of)
    write_section(a.section, render(rows))
    print("written to docs/benchmarks.md")


if __name__ == "__main__":
    main()
