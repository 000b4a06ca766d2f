"""Benchmarks: ``./dev bench`` (or ``python bench/run.py``).

Generates synthetic households, imports them into a fresh SQLite database and a fresh
PostgreSQL database, then scores them and runs what-ifs (bench/score.py), and writes the
figures (with the core count) to docs/benchmarks.md, between the markers of each
benchmark section.

    ./dev bench                          # 100k and 1M households, SQLite and PostgreSQL
    ./dev bench --sizes 100000           # one size
    ./dev bench --backends sqlite        # one backend
    ./dev bench --what score             # scoring and simulation only (bench/score.py)
    ./dev bench --what dedupe            # deduplication quality and speed (bench/dedupe.py)
    ./dev bench --what search            # household search and page at 1M, both backends (bench/search.py)

PostgreSQL runs when SIJILL_BENCH_PG_URL points at a server (``./dev bench`` starts a
throwaway cluster for it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
OUT = ROOT / "bench" / "out"


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run a command; return (seconds, peak memory in MB, stdout).

    Peak memory is the largest sum, sampled every 0.1 s, of the resident memory of the
    command and all its child processes (the SQLite import runs a writer process beside
    the importing one). Summing samples counts what is resident at the same moment;
    adding each process's own maximum would double-count memory shared after a fork.
    """
    import threading

    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        try:
            root = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not done.is_set():
            try:
                total = root.memory_info().rss + sum(
                    c.memory_info().rss for c in root.children(recursive=True)
                )
            except psutil.Error:
                total = 0
            peak[0] = max(peak[0], total)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(args)}\n{err[-3000:]}")
    return seconds, peak[0] // (1024 * 1024), out


def sijill(*args: str) -> list[str]:
    return [sys.executable, "-m", "sijill.cli", *args]


def pg_database(base_url: str) -> str:
    import psycopg

    base = base_url.rsplit("/", 1)[0]
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def bench_import(sizes: list[int], backends: list[str], fmt: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for n in sizes:
        data = OUT / f"synth-ma-{n}-{fmt}"
        if not (data / f"households.{fmt}").exists():
            print(f"generating {n:,} households ...", flush=True)
            secs, peak, _ = run_measured(
                sijill(
                    "synth",
                    "--country",
                    "ma",
                    "--households",
                    str(n),
                    "--seed",
                    "1",
                    "--out",
                    str(data),
                    "--format",
                    fmt,
                ),
                dict(os.environ),
            )
            rows.append(
                {
                    "step": "synth",
                    "backend": "-",
                    "households": n,
                    "persons": None,
                    "seconds": secs,
                    "peak_mb": peak,
                }
            )
        for backend in backends:
            if backend == "sqlite":
                db = OUT / f"bench-{n}.sqlite3"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
                url = f"sqlite:///{db}"
            else:
                base = os.environ.get("SIJILL_BENCH_PG_URL")
                if not base:
                    print("PostgreSQL: SIJILL_BENCH_PG_URL not set, skipped", flush=True)
                    continue
                url = pg_database(base)
            env = {**os.environ, "SIJILL_DATABASE_URL": url, "SIJILL_VAR_DIR": str(OUT / "var")}
            subprocess.run(sijill("migrate"), cwd=ROOT, env=env, check=True, capture_output=True)
            print(f"importing {n:,} households into {backend} ...", flush=True)
            secs, peak, out = run_measured(
                sijill("import", str(data / f"households.{fmt}"), str(data / f"persons.{fmt}"), "--json"), env
            )
            s = json.loads(out)
            assert s["loaded"] + s["rejected"] + s["already_present"] == s["read"]
            rows.append({"step": f"import ({fmt})", "backend": backend, "households": s["loaded"], "persons": s["persons_loaded"],
                         "seconds": secs, "peak_mb": peak, "rejected": s["rejected"]})  # fmt: skip
            print(f"  {secs:.1f} s, {s['loaded'] / secs:,.0f} households/s, peak {peak:,} MB", flush=True)
    return rows


def render(rows: list[dict[str, object]]) -> str:
    lines = [
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, commit {git_rev()}. Times are wall-clock for the whole command "
        "(process start, reading, validation, writing, commit). Peak memory is the largest resident memory "
        "of the command and its child processes together (the SQLite writer runs beside the importer), "
        "sampled every 0.1 s.",
        "",
        "| step | backend | households | persons | seconds | households/s | persons/s | peak memory (MB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        hh = int(r["households"])  # type: ignore[call-overload]
        pp = r["persons"]
        secs = float(r["seconds"])  # type: ignore[arg-type]
        lines.append(
            f"| {r['step']} | {r['backend']} | {hh:,} | {'' if pp is None else f'{pp:,}'} | {secs:.1f} | {hh / secs:,.0f} | "
            f"{'' if pp is None else f'{int(pp) / secs:,.0f}'} | {r['peak_mb']:,} |"  # type: ignore[call-overload]
        )
    return "\n".join(lines)


def git_rev() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"


def write_section(name: str, body: str) -> None:
    DOC.parent.mkdir(exist_ok=True)
    text = (
        DOC.read_text()
        if DOC.exists()
        else "# Benchmarks\n\nWritten by `./dev bench` (bench/run.py). Do not edit between the markers.\n"
    )
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + f"\n\n## {name}\n\n{block}\n"
    DOC.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated household counts")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--format", default="parquet", choices=["csv", "parquet"])
    ap.add_argument(
        "--section", default=None, help="docs/benchmarks.md section name (default: import-<format>)"
    )
    ap.add_argument(
        "--what",
        default="import,score,dedupe,search",
        help="import (bulk import, both backends), score (scoring and simulation on SQLite, bench/score.py), "
        "dedupe (deduplication quality and speed on SQLite, bench/dedupe.py), search (household search and "
        "household page at 1M households, both backends, bench/search.py; its 1M registry is kept under "
        "var/bench-search/ and reused)",
    )
    ap.add_argument("--score-section", default="Scoring and simulation (SQLite)")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    what = a.what.split(",")
    sizes = [int(s) for s in a.sizes.split(",")]
    if "import" in what:
        rows = bench_import(sizes, a.backends.split(","), a.format)
        write_section(a.section or f"Bulk import ({a.format})", render(rows))
    if "score" in what:
        import score

        write_section(a.score_section, score.render(score.bench(sizes, "2026-11-30")))
    if "dedupe" in what:
        import dedupe

        dedupe.main([])
    if "search" in what:
        import search

        search.main(["--backends", a.backends])
    print(f"written to {DOC}")


if __name__ == "__main__":
    main()
