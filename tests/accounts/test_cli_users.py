"""`sijill users create/list`, the demo accounts of `sijill demo`, `sijill i18n compile --check`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sijill(db_url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "SIJILL_DATABASE_URL": db_url, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "sijill.cli", *args],
        cwd=ROOT,
        env=e,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_users_create_list_and_the_demo_accounts(scratch_db_url, tmp_path):
    env = {"SIJILL_VAR_DIR": str(tmp_path), "SIJILL_NEW_PASSWORD": "a-long-enough-passphrase-1"}
    r = sijill(scratch_db_url, "users", "create", "fatima", "--role", "social-worker", "--area", "MA-CAS",
               "--area", "MA-RAB", env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "SOCIAL_WORKER" in r.stderr and "MA-RAB, MA-CAS" in r.stderr  # in the order of the geography

    bad = sijill(scratch_db_url, "users", "create", "x", "--role", "ENUMERATOR", env=env)
    assert bad.returncode == 2 and "give at least one --area, or --national" in bad.stderr
    weak = sijill(scratch_db_url, "users", "create", "y", "--role", "AUDITOR", "--national",
                  env={**env, "SIJILL_NEW_PASSWORD": "password"})  # fmt: skip
    assert weak.returncode == 2 and "too short" in weak.stderr  # English on the command line
    assert (
        sijill(scratch_db_url, "users", "create", "z", "--role", "BOSS", "--national", env=env).returncode
        == 2
    )

    demo = sijill(scratch_db_url, "demo", "--households", "0", "--no-serve", env=env)
    assert demo.returncode == 0, demo.stderr
    assert "demo-enumerator" in demo.stdout and "sijill-demo-2026" in demo.stdout

    rows = {
        r["username"]: r
        for r in json.loads(sijill(scratch_db_url, "users", "list", "--json", env=env).stdout)
    }
    assert rows["fatima"]["role"] == "SOCIAL_WORKER" and rows["fatima"]["areas"] == ["MA-RAB", "MA-CAS"]
    roles = {r["role"] for name, r in rows.items() if name == "admin" or name.startswith("demo-")}
    assert roles == {"ENUMERATOR", "SOCIAL_WORKER", "PROGRAMME_OFFICER", "DEDUP_REVIEWER", "POLICY_ANALYST",
                     "AUDITOR", "ADMIN"}  # fmt: skip
    assert rows["admin"]["admin_site"] and not rows["demo-auditor"]["admin_site"]
    assert rows["demo-enumerator"]["areas"] == rows["demo-social-worker"]["areas"] != ["national"]
    assert len(rows["demo-enumerator"]["areas"]) == 1
    assert rows["demo-auditor"]["areas"] == ["national"]


def test_help_lists_the_new_commands():
    r = subprocess.run(
        [sys.executable, "-m", "sijill.cli", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 0 and " users " in r.stdout and " i18n " in r.stdout


def test_i18n_compile_check_passes_on_the_committed_catalogs():
    r = subprocess.run(
        [sys.executable, "-m", "sijill.cli", "i18n", "compile", "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("up to date") == 3
