"""Fitting a new PMT model from a survey, and comparing model versions on the registry."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.registry.test_cli_import import sijill


@pytest.fixture
def survey(tmp_path):
    """A synthetic population is a survey: households, persons, and truth.csv (consumption)."""
    from sijill.synth import generate

    out = tmp_path / "survey"
    generate("ma", 2500, 21, out)
    return out


def test_fit_writes_a_new_model_that_scores_and_compares(tmp_path, survey, scratch_db_url):
    env = {"SIJILL_VAR_DIR": str(tmp_path / "var"), "SIJILL_RESCORE_ON_CHANGE": "0"}
    r = sijill(scratch_db_url, "pmt", "fit", str(survey), "--version", "MA-PMT-TEST-1", "--json", env=env)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["version"] == "MA-PMT-TEST-1" and rep["households"] == 2500
    for m in ("U", "R"):
        # the synthetic consumption is driven by the same kind of household traits: a real fit
        assert 0.3 < rep["models"][m]["r2"] < 1
    for code in ("ASD", "AMO_TADAMON"):
        e = rep["errors"][code]
        assert 0 <= e["inclusion_error"] <= 1 and 0 <= e["exclusion_error"] <= 1
    model = yaml.safe_load(open(rep["path"]))
    assert model["version"] == "MA-PMT-TEST-1" and model["unofficial"] is True
    assert set(model["features"]) == {"U", "R"}

    listing = sijill(scratch_db_url, "pmt", "list", env=env).stdout
    assert "MA-PMT-UNOFFICIAL-1\tactive" in listing and "MA-PMT-TEST-1" in listing

    # the new version can score the registry and be compared with the official one
    assert sijill(scratch_db_url, "import", str(survey), "--json", env=env).returncode == 0
    r = sijill(
        scratch_db_url, "score", "--model", "MA-PMT-TEST-1", "--as-of", "2026-11-30", "--json", env=env
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["model_version"] == "MA-PMT-TEST-1"
    r = sijill(scratch_db_url, "pmt", "compare", "MA-PMT-UNOFFICIAL-1", "MA-PMT-TEST-1", "--as-of", "2026-11-30",
               "--json", env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    cmp = json.loads(r.stdout)
    assert cmp["households"] == 2500 and -1 <= cmp["score_correlation"] <= 1
    asd = cmp["programmes"]["ASD"]
    assert asd["eligible_b"] - asd["eligible_a"] == asd["newly_eligible"] - asd["no_longer_eligible"]


def test_fit_refuses_a_survey_without_consumption(tmp_path, survey, scratch_db_url):
    (survey / "truth.csv").unlink()
    r = sijill(
        scratch_db_url, "pmt", "fit", str(survey), "--json", env={"SIJILL_VAR_DIR": str(tmp_path / "v")}
    )
    assert r.returncode == 2 and "consumption" in r.stderr


def test_compare_refuses_an_unknown_version(scratch_db_url):
    r = sijill(scratch_db_url, "pmt", "compare", "MA-PMT-UNOFFICIAL-1", "NOPE", "--json")
    assert r.returncode == 2 and "no PMT model version 'NOPE'" in r.stderr


def test_fit_writes_bad_survey_rows_and_unmatched_consumption_to_rejects(tmp_path, survey, scratch_db_url):
    import polars as pl

    hh = pl.read_csv(survey / "households.csv", infer_schema_length=0)
    bad_ref = hh["household_ref"][0]
    hh.with_columns(
        pl.when(pl.col("household_ref") == bad_ref)
        .then(pl.lit("XX"))
        .otherwise(pl.col("milieu"))
        .alias("milieu")
    ).write_csv(survey / "households.csv")
    truth = pl.read_csv(survey / "truth.csv", infer_schema_length=0)
    pl.concat([truth, truth.head(1).with_columns(pl.lit("NO-SUCH-HH").alias("household_ref"))]).write_csv(
        survey / "truth.csv"
    )
    env = {"SIJILL_VAR_DIR": str(tmp_path / "var")}
    r = sijill(scratch_db_url, "pmt", "fit", str(survey), "--version", "MA-PMT-REJ", "--json", env=env)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["rejected_households"] == 1 and rep["households"] == 2499
    rejects = tmp_path / "var" / "pmt-models" / "ma" / "MA-PMT-REJ-rejects"
    assert rep["rejects_dir"] == str(rejects)
    errors = pl.read_csv(rejects / "errors.csv", infer_schema_length=0)
    assert errors.filter(pl.col("column") == "milieu").height >= 1
    assert bad_ref in pl.read_csv(rejects / "households.rejected.csv", infer_schema_length=0)["household_ref"]
    unmatched = pl.read_csv(rejects / "unmatched.csv")
    # the rejected household's consumption and the consumption of an unknown household
    assert set(unmatched["household_ref"]) == {"NO-SUCH-HH", bad_ref}
