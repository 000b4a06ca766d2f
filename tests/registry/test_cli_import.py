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


def test_kill_mid_import_then_rerun_gives_the_same_registry_as_one_clean_run(tmp_path, ma, scratch_db_url):
    # 600 households with three members each, loaded in chunks of 50 households.
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
    files = write_tables(tmp_path / "in", hh, pp)
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
    assert partial % 50 == 0, "only whole chunks are ever committed"
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
