"""`sijill dedupe`, end to end: a synthetic country with duplicates, imported, deduplicated,
exported and checked against the generator's truth file, on the real database."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sijill.identity.dedupe import REVIEW_THRESHOLD
from sijill.identity.quality import pairwise_quality
from tests.registry.test_cli_import import sijill

pytestmark = pytest.mark.slow


def query(db_url: str, sql: str) -> list[tuple[Any, ...]]:
    if db_url.startswith("sqlite"):
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
            return list(conn.execute(sql))
    import psycopg

    with psycopg.connect(db_url) as conn:
        return list(conn.execute(sql))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 households with 5% of persons registered twice, split into a registry and an
    intake batch (its last 150 households)."""
    out = tmp_path_factory.mktemp("dedupe-synth")
    r = sijill("sqlite:///unused", "synth", "--households", "1500", "--seed", "11", "--duplicates", "0.05",
               "--out", str(out / "all"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    hh = pl.read_csv(out / "all" / "households.csv", infer_schema_length=0)
    pp = pl.read_csv(out / "all" / "persons.csv", infer_schema_length=0)
    last = hh["household_ref"].tail(150).implode()
    for name, keep in (("base", False), ("batch", True)):
        (out / name).mkdir()
        hh.filter(pl.col("household_ref").is_in(last) == keep).write_csv(out / name / "households.csv")
        pp.filter(pl.col("household_ref").is_in(last) == keep).write_csv(out / name / "persons.csv")
    return out


def run(db_url: str, var: Path, *args: str) -> dict[str, Any]:
    r = sijill(db_url, *args, env={"SIJILL_VAR_DIR": str(var), "SIJILL_RESCORE_ON_CHANGE": "0"})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout) if "--json" in args else {"stdout": r.stdout}


def test_dedupe_finds_the_generators_duplicates_queues_them_and_exports_them(
    synthetic: Path, scratch_db_url: str, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    run(scratch_db_url, var, "import", str(synthetic / "all" / "households.csv"),
        str(synthetic / "all" / "persons.csv"), "--json")  # fmt: skip
    export = tmp_path / "pairs.csv"
    s = run(scratch_db_url, var, "dedupe", "--export", str(export), "--json")
    truth = pl.read_csv(synthetic / "all" / "duplicates_truth.csv")

    # the export: the import file's person references and a probability, best first
    with export.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["ref_a", "ref_b", "probability"]
    assert all(r["ref_a"].startswith("P") and r["ref_b"].startswith("P") for r in rows)
    probs = [float(r["probability"]) for r in rows]
    assert probs == sorted(probs, reverse=True) and min(probs) >= REVIEW_THRESHOLD
    q = pairwise_quality(pl.read_csv(export), truth)
    assert q["precision"] >= 0.98 and q["recall"] >= 0.95, q

    # the queue: above 0.99 linked as the same person, the rest waiting for a reviewer
    assert s["pairs"] == len(rows) == s["auto_linked"] + s["for_review"]
    by_status = dict(
        query(scratch_db_url, "SELECT status, COUNT(*) FROM identity_matchcandidate GROUP BY status")
    )
    assert by_status == {
        k: v for k, v in (("AUTO_LINKED", s["auto_linked"]), ("PENDING", s["for_review"])) if v
    }
    details = query(
        scratch_db_url,
        "SELECT probability, details, decided_by FROM identity_matchcandidate ORDER BY probability DESC LIMIT 1",
    )[0]
    doc = details[1] if isinstance(details[1], dict) else json.loads(details[1])
    assert set(doc) == {"levels", "a", "b"} and "given_name" in doc["levels"] and "birth_year" in doc["a"]
    assert "auto-link" in details[2]
    # the model was trained once and saved with a version
    models = list((var / "linkage" / "ma").glob("*.json"))
    assert [m.stem for m in models] == [s["model_version"]]

    # a reviewer confirms a linked pair from the command line, then takes it back. Merging
    # the two heads of a household registered twice is refused (it would leave one without
    # its head): the reviewer is told what to do, and nothing changes.
    env = {"SIJILL_VAR_DIR": str(var)}
    linked = query(
        scratch_db_url,
        "SELECT id, person_a_id, person_b_id FROM identity_matchcandidate WHERE status = 'AUTO_LINKED' "
        "ORDER BY probability DESC, id LIMIT 20",
    )
    shown = sijill(scratch_db_url, "dedupe", "show", str(linked[0][0]), env=env)
    assert shown.returncode == 0 and "birth_date" in shown.stdout
    merged = None
    for cid, a, b in linked:
        done = sijill(scratch_db_url, "dedupe", "decide", str(cid), "--match", "--reason", "same mother and date",
                      "--reviewer", "amina", env=env)  # fmt: skip
        if done.returncode == 0:
            assert "Merged" in done.stderr
            merged = (a, b)
            break
        assert done.returncode == 2 and "without its head" in done.stderr, done.stderr
        assert query(scratch_db_url, "SELECT COUNT(*) FROM identity_merge")[0][0] == 0
    assert merged is not None
    a, b = merged
    assert (
        query(scratch_db_url, f"SELECT merged_into_id, is_deleted FROM registry_person WHERE id = {b}")[0][0]
        == a
    )
    merge_id = query(scratch_db_url, "SELECT id FROM identity_merge")[0][0]
    undo = sijill(scratch_db_url, "dedupe", "unmerge", str(merge_id), "--reason", "two sisters",
                  "--reviewer", "amina", env=env)  # fmt: skip
    assert undo.returncode == 0, undo.stderr
    assert query(scratch_db_url, f"SELECT merged_into_id FROM registry_person WHERE id = {b}")[0][0] is None
    refused = sijill(scratch_db_url, "dedupe", "unmerge", str(merge_id), "--reason", "again", "--reviewer", "amina",
                     env=env)  # fmt: skip
    assert refused.returncode == 2 and "undone" in refused.stderr

    # a second run queues nothing already queued, with the same model
    again = run(scratch_db_url, var, "dedupe", "--json")
    assert again["pairs"] == 0 and again["model_version"] == s["model_version"]
    assert query(scratch_db_url, "SELECT COUNT(*) FROM identity_matchcandidate")[0][0] == len(rows)


def test_new_intake_is_matched_against_the_registry_and_within_itself(
    synthetic: Path, scratch_db_url: str, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    base, batch = synthetic / "base", synthetic / "batch"
    run(scratch_db_url, var, "import", str(base / "households.csv"), str(base / "persons.csv"), "--json")
    first = run(scratch_db_url, var, "dedupe", "--json")
    run(scratch_db_url, var, "import", str(batch / "households.csv"), str(batch / "persons.csv"), "--json")
    export = tmp_path / "new.csv"
    s = run(scratch_db_url, var, "dedupe", "--new-only", "--export", str(export), "--json")
    batch_refs = set(pl.read_csv(batch / "persons.csv", infer_schema_length=0)["person_ref"])
    assert s["scope"] == "new" and s["persons"] == len(batch_refs)
    assert s["model_version"] == first["model_version"]
    pairs = pl.read_csv(export)
    assert pairs.height > 0
    assert all(a in batch_refs or b in batch_refs for a, b in pairs.select("ref_a", "ref_b").iter_rows())
    truth = pl.read_csv(synthetic / "all" / "duplicates_truth.csv").filter(
        pl.col("person_ref_a").is_in(list(batch_refs)) | pl.col("person_ref_b").is_in(list(batch_refs))
    )
    q = pairwise_quality(pairs, truth)
    assert q["precision"] >= 0.95 and q["recall"] >= 0.95, q
    # nothing new since: the next new-only run has nobody to compare
    assert run(scratch_db_url, var, "dedupe", "--new-only", "--json")["persons"] == 0


def test_a_run_that_fails_leaves_the_queue_as_it_was_and_says_why(
    synthetic: Path, scratch_db_url: str, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    base = synthetic / "base"
    run(scratch_db_url, var, "import", str(base / "households.csv"), str(base / "persons.csv"), "--json")
    folder = var / "linkage" / "ma"
    folder.mkdir(parents=True)
    (folder / "ma-broken.json").write_text('{"version": 99}')
    r = sijill(scratch_db_url, "dedupe", "--json", env={"SIJILL_VAR_DIR": str(var)})
    assert r.returncode == 2
    assert "ma-broken.json cannot be read" in r.stderr and "--retrain" in r.stderr
    assert query(scratch_db_url, "SELECT COUNT(*) FROM identity_matchcandidate")[0][0] == 0
    assert query(scratch_db_url, "SELECT status, error FROM identity_deduperun")[0][0] == "failed"
    # bad thresholds are refused before anything runs
    r = sijill(
        scratch_db_url, "dedupe", "--review", "0.99", "--auto-link", "0.9", env={"SIJILL_VAR_DIR": str(var)}
    )
    assert r.returncode == 2 and "thresholds" in r.stderr
    # retraining recovers
    assert run(scratch_db_url, var, "dedupe", "--retrain", "--json")["pairs"] > 0
