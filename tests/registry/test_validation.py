"""Every validation rule of docs/import-format.md, each with a bad row and its message.

Each case imports the two-household fixture with one cell changed, then checks what a
user sees: the household is rejected whole, the other household loads, and
``errors.csv`` names the row, the column and the reason.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sijill.registry.intake.job import run_import
from sijill.registry.models import Household, Person
from tests.conftest import write_tables

pytestmark = pytest.mark.django_db(transaction=True)

# (table, index of the row in the fixture, column, bad value, expected words in the reason)
CASES = [
    ("households", 0, "household_ref", None, "household_ref is required"),
    ("households", 0, "household_ref", "X" * 65, "longer than 64"),
    ("households", 0, "country", "ML", "this registry runs country MA"),
    ("households", 0, "area_code", None, "area_code is required"),
    ("households", 0, "area_code", "MA-NOPE-999", "unknown commune code"),
    ("households", 0, "milieu", "X", "must be U (urban) or R (rural)"),
    ("households", 0, "phone", "12345", "not a valid phone number"),
    ("households", 0, "registered_on", "15/01/2025", "not a date in the form YYYY-MM-DD"),
    ("households", 0, "registered_on", "2999-01-01", "is in the future"),
    ("households", 0, "address", "a" * 256, "longer than 255"),
    ("households", 0, "declarant_ref", "P5", "must be a member of this household"),
    ("households", 0, "declarant_ref", "P3", "must be an adult"),
    ("persons", 0, "person_ref", None, "person_ref is required"),
    ("persons", 0, "household_ref", "H404", "no household with this household_ref"),
    ("persons", 0, "relationship", "COUSIN", "must be one of HEAD"),
    ("persons", 1, "relationship", "HEAD", "more than one HEAD"),
    ("persons", 0, "given_name_ar", "Mohamed", "must be written in Arabic script"),
    ("persons", 0, "family_name_lat", "العلوي", "must be written in Latin script"),
    ("persons", 0, "father_name_ar", "Ahmed", "must be written in Arabic script"),
    ("persons", 0, "mother_name_lat", "فاطمة", "must be written in Latin script"),
    ("persons", 0, "mother_name_lat", "F" * 101, "longer than 100 characters"),
    ("persons", 0, "sex", "X", "sex must be M or F"),
    ("persons", 0, "sex", None, "sex is required"),
    ("persons", 0, "birth_date", None, "birth_date is required"),
    ("persons", 0, "birth_date", "17/05/1980", "not a date in the form YYYY-MM-DD or YYYY"),
    ("persons", 0, "birth_date", "2999-01-01", "is in the future"),
    ("persons", 0, "birth_date", "1850", "is before 1900"),
    ("persons", 0, "birth_date", "2015-01-01", "head of household must be at least 15"),
    ("persons", 1, "birth_date", "2015-01-01", "spouse must be at least 15"),
    ("persons", 2, "birth_date", "1975-01-01", "child must be at least 12 years younger"),
    ("persons", 0, "birth_date_approx", "maybe", "must be yes/no"),
    ("persons", 0, "id_type", "PASSPORTX", "unknown identifier type"),
    ("persons", 0, "id_value", "12-AB", "not a valid CNIE"),
    ("persons", 0, "id_value", None, "id_value is required when id_type is given"),
    ("persons", 0, "vital_status", "GONE", "must be ALIVE or DECEASED"),
    ("persons", 0, "vital_status", "DECEASED", "is required for a deceased person"),
    ("persons", 0, "death_date", "2020-01-01", "only allowed when vital_status is DECEASED"),
    ("persons", 0, "disability_type", "FLYING", "must be one of NONE"),
    ("persons", 0, "disability_type", "SEEING", "is required (MILD to COMPLETE)"),
    ("persons", 0, "disability_severity", "HUGE", "must be one of NONE"),
    ("persons", 0, "in_school", "perhaps", "must be yes/no"),
    ("persons", 2, "school_sector", None, "is required when in_school is yes"),
    ("persons", 2, "school_level", "UNIVERSITYX", "must be one of PRESCHOOL"),
    ("persons", 0, "school_sector", "PUBLIC", "must be empty when the person is not in school"),
    ("persons", 0, "education_level", "PHD", "must be one of NONE"),
    ("persons", 0, "literate", "sometimes", "must be yes/no"),
    ("persons", 0, "occupation", "ASTRONAUT", "unknown occupation code"),
    ("persons", 0, "health_coverage", "MAGIC", "unknown health_coverage code"),
    ("persons", 0, "phone", "0012", "not a valid phone number"),
]


def _run(tmp_path: Path, hh: list[dict[str, Any]], pp: list[dict[str, Any]]) -> Any:
    files = write_tables(tmp_path / "in", hh, pp)
    return run_import(files, rejects_dir=tmp_path / "rejects")


@pytest.mark.parametrize(
    ("table", "index", "column", "value", "reason"), CASES, ids=[f"{c[0]}.{c[2]}={c[3]!s:.12}" for c in CASES]
)
def test_bad_cell_rejects_its_household_with_a_clear_reason(
    tmp_path, family, table, index, column, value, reason
):
    hh, pp = copy.deepcopy(family)
    rows = hh if table == "households" else pp
    rows[index][column] = value
    s = _run(tmp_path, hh, pp)
    assert s.loaded + s.rejected + s.already_present == s.read
    assert s.rejected >= 1 and s.loaded <= 1
    errors = pl.read_csv(tmp_path / "rejects" / "errors.csv", infer_schema=False)
    hit = errors.filter(
        (pl.col("file") == table)
        & (pl.col("row") == str(index + 2))
        & pl.col("reason").str.contains(reason, literal=True)
    )
    assert hit.height >= 1, errors.to_dicts()
    # The bad cell sinks household H1 whole; the widow's household H2 is untouched by it.
    assert not Household.objects.filter(external_ref="H1").exists()
    assert Person.objects.filter(external_ref__in=["P1", "P2", "P3", "P4"]).count() == 0
    if s.loaded:
        assert Household.objects.filter(external_ref="H2").exists()


def test_each_reason_names_the_column(tmp_path, family):
    hh, pp = copy.deepcopy(family)
    pp[0]["sex"] = "X"
    _run(tmp_path, hh, pp)
    errors = pl.read_csv(tmp_path / "rejects" / "errors.csv", infer_schema=False)
    own = errors.filter(pl.col("row") == "2").filter(pl.col("file") == "persons")
    assert own.select("column", "value", "reason").row(0) == ("sex", "X", "sex must be M or F")


def test_member_rows_rejected_with_their_household_say_why(tmp_path, family):
    hh, pp = copy.deepcopy(family)
    pp[2]["sex"] = "?"  # row 4 of persons.csv
    s = _run(tmp_path, hh, pp)
    assert (s.loaded, s.rejected, s.persons_rejected) == (1, 1, 4)
    errors = pl.read_csv(tmp_path / "rejects" / "errors.csv", infer_schema=False)
    spouse = errors.filter((pl.col("file") == "persons") & (pl.col("row") == "3"))
    assert spouse["reason"].to_list() == ["rejected with its household: see persons row 4"]
    household = errors.filter(pl.col("file") == "households")
    assert household["reason"].to_list() == ["rejected with its household: see persons row 4"]


def test_rejects_files_hold_the_original_rows_and_can_be_reimported_once_fixed(tmp_path, family):
    hh, pp = copy.deepcopy(family)
    pp[2]["sex"] = "?"
    _run(tmp_path, hh, pp)
    rej = pl.read_csv(tmp_path / "rejects" / "persons.rejected.csv", infer_schema=False)
    assert rej["_row"].to_list() == ["2", "3", "4", "5"]
    assert rej.filter(pl.col("person_ref") == "P3")["sex"].to_list() == ["?"]
    assert "sex: sex must be M or F" in rej.filter(pl.col("person_ref") == "P3")["_errors"][0]
    fixed = rej.with_columns(
        pl.when(pl.col("person_ref") == "P3").then(pl.lit("M")).otherwise(pl.col("sex")).alias("sex")
    )
    fixed.write_csv(tmp_path / "rejects" / "persons.rejected.csv")
    s = run_import(
        [tmp_path / "rejects" / "households.rejected.csv", tmp_path / "rejects" / "persons.rejected.csv"]
    )
    assert (s.read, s.loaded, s.rejected) == (1, 1, 0)
    assert Person.objects.count() == 5


def test_duplicate_refs_and_identifiers_in_the_file(tmp_path, family):
    hh, pp = copy.deepcopy(family)
    pp[4]["id_type"], pp[4]["id_value"] = "CNIE", "BK123456"  # same CNIE as P1
    s = _run(tmp_path, hh, pp)
    assert s.loaded == 0 and s.rejected == 2
    errors = pl.read_csv(tmp_path / "rejects" / "errors.csv", infer_schema=False)
    assert (
        errors.filter(
            pl.col("reason").str.contains(
                "is given to more than one person in the file (rows 2, 6)", literal=True
            )
        ).height
        == 2
    )


def test_identifier_already_in_the_registry_is_a_conflict_not_an_overwrite(tmp_path, family):
    """The household loads, its member without the identifier, which stays with its holder;
    the pair goes to identity review (tests/identity/test_intake_conflicts.py)."""
    hh, pp = copy.deepcopy(family)
    _run(tmp_path / "a", hh, pp)
    owner = Person.objects.get(external_ref="P1")
    new_h = [dict(hh[1], household_ref="H9")]
    new_p = [dict(pp[4], person_ref="P9", household_ref="H9", id_type="CNIE", id_value="bk 123456")]
    s = _run(tmp_path / "b", new_h, new_p)
    assert (s.loaded, s.rejected, s.held_for_review) == (1, 0, 1)
    held = pl.read_csv(tmp_path / "b" / "rejects" / "held_for_review.csv", infer_schema=False)
    assert held["reason"][0].startswith(
        f"CNIE BK123456 is already held by person {owner.registry_id} in household"
    )
    assert not (tmp_path / "b" / "rejects" / "errors.csv").exists()
    assert Person.objects.get(external_ref="P1").identifiers.get().value == "BK123456"
    assert not Person.objects.get(external_ref="P9").identifiers.exists()


def test_wrong_idcs_check_digit(tmp_path, family):
    from sijill.core.checkdigits import verhoeff_digit

    good = "123456789" + verhoeff_digit("123456789")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    hh, pp = copy.deepcopy(family)
    pp[1]["id_type"], pp[1]["id_value"] = "IDCS", bad
    pp[4]["id_type"], pp[4]["id_value"] = "IDCS", good
    s = _run(tmp_path, hh, pp)
    assert (s.loaded, s.rejected) == (1, 1)
    errors = pl.read_csv(tmp_path / "rejects" / "errors.csv", infer_schema=False)
    assert "IDCS check digit is wrong" in errors["reason"].to_list()


def test_household_without_members_or_head(tmp_path, family, ma):
    from tests.conftest import household_row

    hh, pp = copy.deepcopy(family)
    hh.append(household_row(ma, "H3"))
    pp[4]["relationship"] = "OTHER_RELATIVE"
    s = _run(tmp_path, hh, pp)
    errors = pl.read_csv(tmp_path / "rejects" / "errors.csv", infer_schema=False)
    reasons = errors["reason"].to_list()
    assert "the household has no member in the persons table" in reasons
    assert "the household has no member with relationship HEAD" in reasons
    assert (s.loaded, s.rejected) == (1, 2)


def test_questionnaire_rules(tmp_path, family, ma):
    qn = ma.questionnaire
    numeric = next(q for q in qn.questions if q.type == "int" and q.max is not None and not q.milieu)
    enum = next(q for q in qn.questions if q.type == "enum")
    rural_only = next(q for q in qn.questions if q.milieu == "R")
    cases = [
        (numeric.name, "abc", "is not a number"),
        (numeric.name, "1.5", "must be a whole number"),
        (numeric.name, str(int(numeric.max) + 1), "is above the maximum"),
        (enum.name, "NOT_A_CHOICE", "must be one of"),
        (rural_only.name, "1", "is only asked in rural households"),
    ]
    for i, (col, value, reason) in enumerate(cases):
        hh, pp = copy.deepcopy(family)
        hh[0][col] = value
        for r in hh + pp:  # fresh references for each run
            r["household_ref"] = f"{r['household_ref']}-{i}"
        for r in pp:
            r["person_ref"] = f"{r['person_ref']}-{i}"
            r.pop("id_type", None), r.pop("id_value", None)
        d = tmp_path / str(i)
        files = write_tables(d / "in", hh, pp)
        s = run_import(files, rejects_dir=d / "rejects")
        errors = pl.read_csv(d / "rejects" / "errors.csv", infer_schema=False)
        hit = errors.filter((pl.col("column") == col) & pl.col("reason").str.contains(reason, literal=True))
        assert hit.height == 1, (col, value, errors.to_dicts())
        assert s.rejected == 1


def test_unknown_column_refuses_the_file(tmp_path, family):
    from sijill.registry.intake.validate import HeaderError

    hh, pp = copy.deepcopy(family)
    hh[0]["favourite_colour"] = "blue"
    with pytest.raises(HeaderError, match="unknown column 'favourite_colour'"):
        _run(tmp_path, hh, pp)
    assert Household.objects.count() == 0


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_formats(tmp_path, family, fmt):
    hh, pp = family
    files = write_tables(tmp_path, hh, pp, fmt=fmt)
    s = run_import(files)
    assert (s.read, s.loaded, s.rejected, s.persons_loaded) == (2, 2, 0, 5)


def test_milieu_defaults_to_the_communes_and_may_differ_from_it(tmp_path, family, ma):
    hh, pp = copy.deepcopy(family)
    rural = next(a for a in ma.areas if a.level == "commune" and a.milieu == "R")
    hh[0]["milieu"] = None  # urban commune: defaults to U
    hh[1]["area_code"], hh[1]["milieu"] = rural.code, "U"  # an urban centre inside a rural commune
    for q in ma.questionnaire.questions:
        if q.milieu == "R":
            hh[1].pop(q.name, None)
    s = _run(tmp_path, hh, pp)
    assert (s.loaded, s.rejected) == (2, 0)
    assert Household.objects.get(external_ref="H1").milieu == "U"
    assert Household.objects.get(external_ref="H2").milieu == "U"
