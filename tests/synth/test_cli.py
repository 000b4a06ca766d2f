"""``sijill synth`` as a user runs it, then ``sijill import`` of what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]


def test_synth_then_import_loads_every_household(tmp_path, scratch_db_url):
    env = {**os.environ, "SIJILL_DATABASE_URL": scratch_db_url}
    out = tmp_path / "synth"
    r = subprocess.run(
        [sys.executable, "-m", "sijill.cli", "synth", "--country", "ma", "--households", "300", "--seed", "9", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "households" in r.stdout and "300" in r.stdout
    persons = pl.read_csv(out / "persons.csv", infer_schema=False).height
    imp = subprocess.run(
        [sys.executable, "-m", "sijill.cli", "import", str(out), "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )  # fmt: skip
    s = json.loads(imp.stdout)
    assert (s["read"], s["loaded"], s["rejected"], s["persons_loaded"]) == (300, 300, 0, persons)
