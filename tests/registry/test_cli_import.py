"""The import as a user runs it: the ``sijill`` command, re-runs, kills and resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import household_row, person_row, write_tables

ROOT = Path(__file__).resolve().parents[2]


def sijill(
    db_url: str, *args: str, env: dict[str, str] | None = None, **kw
) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "SIJILL_DATABASE_URL": db_url, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "sijill.cli", *args],
        cwd=ROOT,
        env=e,
        capture_output=True,
        text=True,
        timeout=600,
        **kw,
    )


def test_import_json_and_stats_json_and_idempotent_rerun(tmp_path, family, scratch_db_url):
    hh, pp = family
    files = write_tables(tmp_path, hh, pp)
    first = sijill(scratch_db_url, "import", *map(str, files), "--json")
    assert first.returncode == 0, first.stderr
    s = json.loads(first.stdout)
    assert {k: s[k] for k in ("read", "loaded", "rejected", "already_present")} == {
        "read": 2,
        "loaded": 2,
        "rejected": 0,
        "already_present": 0,
    }
    again = json.loads(sijill(scratch_db_url, "import", str(tmp_path), "--json").stdout)
    assert {k: again[k] for k in ("read", "loaded", "rejected", "already_present")} == {
        "read": 2,
        "loaded": 0,
        "rejected": 0,
        "already_present": 2,
    }
    stats = json.loads(sijill(scratch_db_url, "stats", "--json").stdout)
    assert stats == {"households": 2, "persons": 5, "active_memberships": 5}


def test_stats_on_a_database_without_registry_says_what_to_do(scratch_db_url):
    r = sijill(scratch_db_url, "stats", "--json")
    assert r.returncode == 2 and "run `sijill migrate`" in r.stderr


def test_bad_file_is_refused_with_a_clear_message(tmp_path, scratch_db_url):
    (tmp_path / "households.csv").write_text("household_ref,area_code\nH1,MA-CAS-001\n")
    r = sijill(scratch_db_url, "import", str(tmp_path / "households.csv"), "--json")
    assert r.returncode == 2
    assert "no persons table given" in r.stderr


def _dump(db_url: str) -> list[tuple]:
    """Registry content without the random registry ids and timestamps."""
    code = (
        "import json, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','sijill.settings'); django.setup();"
        "from sijill.registry.models import Household, Person, Membership, ExternalIdentifier as I;"
        "h=sorted((x.external_ref, x.area_id, x.milieu, json.dumps(x.socio, sort_keys=True), x.head.external_ref) for x in Household.objects.select_related('head'));"
        "p=sorted((x.external_ref, x.given_name_lat, x.family_name_ar, str(x.birth_date), x.sex) for x in Person.objects.all());"
        "m=sorted((x.person.external_ref, x.household.external_ref, x.relationship, str(x.end_date)) for x in Membership.objects.select_related('person','household'));"
        "i=sorted((x.person.external_ref, x.id_type, x.value) for x in I.objects.select_related('person'));"
        "print(json.dumps([h, p, m, i]))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "SIJILL_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _six_hundred_households(ma):
    hh, pp = [], []
    for i in range(600):
        ref = f"K{i:05d}"
        hh.append(household_row(ma, ref))
        pp.append(person_row(f"{ref}-1", ref, "HEAD", id_type="CNIE", id_value=f"KA{i:06d}"))
        pp.append(
            person_row(f"{ref}-2", ref, "SPOUSE", sex="F", given_name_lat="Amina", given_name_ar="أمينة")
        )
        pp.append(person_row(f"{ref}-3", ref, "CHILD", birth_date="2010"))
    pp[7]["sex"] = "?"  # one bad household, so rejects are part of the comparison too
    return hh, pp


def _clean_run_url(scratch_db_url: str) -> str:
    if "sqlite" in scratch_db_url:
        return scratch_db_url.replace("scratch.sqlite3", "clean.sqlite3")
    import uuid

    import psycopg

    base = scratch_db_url.rsplit("/", 1)[0]
    name = f"clean_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def test_kill_mid_import_then_rerun_gives_the_same_registry_as_one_clean_run(tmp_path, ma, scratch_db_url):
    # 600 households with three members each, loaded in chunks of 50 households.
    hh, pp = _six_hundred_households(ma)
    files = write_tables(tmp_path / "in", hh, pp)
    assert sijill(scratch_db_url, "migrate").returncode == 0
    env = {"SIJILL_IMPORT_CHUNK": "50", "SIJILL_IMPORT_CHUNK_DELAY": "1.0"}
    e = {**os.environ, "SIJILL_DATABASE_URL": scratch_db_url, **env}
    proc = subprocess.Popen([sys.executable, "-m", "sijill.cli", "import", *map(str, files), "--json"], cwd=ROOT, env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    # Wait until some chunks are committed, then kill without warning.
    deadline = time.time() + 240
    loaded = 0
    while time.time() < deadline and loaded < 100:
        time.sleep(0.2)
        st = sijill(scratch_db_url, "stats", "--json")
        loaded = json.loads(st.stdout)["households"] if st.returncode == 0 else 0
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = json.loads(sijill(scratch_db_url, "stats", "--json").stdout)["households"]
    assert 0 < partial < 599, "the kill should land mid-run"
    assert (partial + 1) % 50 == 0, (
        "only whole chunks are ever committed (the first one lacks its bad household)"
    )
    resumed = sijill(scratch_db_url, "import", *map(str, files), "--json", env={"SIJILL_IMPORT_CHUNK": "50"})
    r = json.loads(resumed.stdout)
    assert r["already_present"] == partial and r["loaded"] + r["already_present"] + r["rejected"] == 600
    # One clean run in another database gives the same registry.
    clean_url = (
        scratch_db_url.replace("scratch.sqlite3", "clean.sqlite3") if "sqlite" in scratch_db_url else None
    )
    if clean_url is None:
        import uuid

        import psycopg

        base = scratch_db_url.rsplit("/", 1)[0]
        name = f"clean_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        clean_url = f"{base}/{name}"
    clean = json.loads(sijill(clean_url, "import", *map(str, files), "--json").stdout)
    assert clean["loaded"] == 599 and clean["rejected"] == 1
    assert _dump(scratch_db_url) == _dump(clean_url)


def _indexes(url: str) -> list[str]:
    """Index names (and on PostgreSQL, constraint names): what a bulk load drops and rebuilds."""
    if "sqlite" not in url:
        import psycopg

        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "UNION ALL SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace"
            ).fetchall()
        return sorted(r[0] for r in rows)
    import sqlite3

    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return sorted(r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'"))
    finally:
        con.close()


def _sqlite_journal_mode(url: str) -> str:
    import sqlite3

    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return str(con.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        con.close()


def test_bulk_load_is_one_transaction_killed_means_rolled_back(tmp_path, ma, scratch_db_url):
    """A large first load runs in bulk mode: indexes (and on PostgreSQL, foreign keys) rebuilt at the end,
    all or nothing."""
    sqlite = "sqlite" in scratch_db_url
    hh, pp = _six_hundred_households(ma)
    files = write_tables(tmp_path / "in", hh, pp)
    assert sijill(scratch_db_url, "migrate").returncode == 0
    indexes_before = _indexes(scratch_db_url)
    assert len(indexes_before) > 10
    env = {"SIJILL_IMPORT_CHUNK": "50", "SIJILL_IMPORT_CHUNK_DELAY": "1.0", "SIJILL_IMPORT_BULK_MIN": "100"}
    e = {**os.environ, "SIJILL_DATABASE_URL": scratch_db_url, **env}
    proc = subprocess.Popen([sys.executable, "-m", "sijill.cli", "import", *map(str, files), "--json"], cwd=ROOT, env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(5)  # a dozen chunks at one per second: mid-run
    assert proc.poll() is None, proc.communicate()
    if sqlite:  # alone on the file, the load writes with a rollback journal rather than the WAL
        assert Path(scratch_db_url.removeprefix("sqlite:///") + "-journal").exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)  # the writer process dies with its parent
    # SQLite: the next connection finds the hot journal and rolls the load back. PostgreSQL rolls back
    # the transaction of a connection that drops, DDL included.
    assert json.loads(sijill(scratch_db_url, "stats", "--json").stdout)["households"] == 0
    assert _indexes(scratch_db_url) == indexes_before, "the dropped indexes come back with the rollback"
    resumed = json.loads(
        sijill(
            scratch_db_url, "import", *map(str, files), "--json", env={"SIJILL_IMPORT_BULK_MIN": "100"}
        ).stdout
    )
    assert resumed["mode"] == "bulk" and (resumed["loaded"], resumed["rejected"]) == (599, 1)
    assert _indexes(scratch_db_url) == indexes_before
    if sqlite:
        assert _sqlite_journal_mode(scratch_db_url) == "wal"
    clean_url = _clean_run_url(scratch_db_url)
    clean = json.loads(sijill(clean_url, "import", *map(str, files), "--json").stdout)
    assert clean["mode"] == "incremental"
    assert _dump(scratch_db_url) == _dump(clean_url)


def test_bulk_load_beside_another_open_connection_stays_in_wal_mode(tmp_path, ma, scratch_db_url):
    """With the file open elsewhere (a running server, say), SQLite refuses the rollback journal."""
    if "sqlite" not in scratch_db_url:
        return
    import sqlite3

    hh, pp = _six_hundred_households(ma)
    files = write_tables(tmp_path / "in", hh, pp)
    assert sijill(scratch_db_url, "migrate").returncode == 0
    other = sqlite3.connect(scratch_db_url.removeprefix("sqlite:///"))
    try:
        assert other.execute("SELECT COUNT(*) FROM registry_household").fetchone()[0] == 0
        r = sijill(
            scratch_db_url, "import", *map(str, files), "--json", env={"SIJILL_IMPORT_BULK_MIN": "100"}
        )
        assert r.returncode == 0, r.stderr
        s = json.loads(r.stdout)
        assert s["mode"] == "bulk" and (s["loaded"], s["rejected"]) == (599, 1)
        assert other.execute("SELECT COUNT(*) FROM registry_household").fetchone()[0] == 599
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()
