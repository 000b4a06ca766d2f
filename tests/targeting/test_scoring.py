"""Scores and programme decisions as users see them: on registration, on change, in batch."""

from __future__ import annotations

import csv
import json

import pytest
from django.utils import timezone

from sijill.programmes.models import Decision
from sijill.registry import services
from sijill.targeting import selectors
from sijill.targeting.models import Assessment
from tests.conftest import household_row, person_row
from tests.registry.test_cli_import import sijill

pytestmark = pytest.mark.django_db(transaction=True)


def _poor_family(ma):
    """An urban couple with two school children, few assets: well under both thresholds."""
    hh = household_row(ma, "F1", rooms="2", mobile_phones="1", spend_water_electricity="60",
                       spend_butane="40", spend_phone_internet="20")  # fmt: skip
    members = [
        person_row(
            "F1-1", "F1", "HEAD", birth_date="1980-03-01", occupation="LABOURER", education_level="NONE"
        ),
        person_row(
            "F1-2",
            "F1",
            "SPOUSE",
            sex="F",
            birth_date="1985-06-01",
            occupation="HOMEMAKER",
            education_level="PRIMARY",
        ),
        person_row(
            "F1-3",
            "F1",
            "CHILD",
            birth_date="2013-09-30",
            in_school="1",
            school_sector="PUBLIC",
            school_level="LOWER_SECONDARY",
        ),
        person_row(
            "F1-4",
            "F1",
            "CHILD",
            sex="F",
            birth_date="2017-02-11",
            in_school="1",
            school_sector="PUBLIC",
            school_level="PRIMARY",
        ),
    ]
    return hh, members


def test_registering_a_household_scores_it_and_decides_each_programme_at_once(ma):
    hh, members = _poor_family(ma)
    h = services.register_household(hh, members, channel="CENTRE", reason="first visit")
    a = selectors.current_assessment(h.pk)
    assert a is not None and a.household_version == h.version and a.as_of == timezone.localdate()
    assert a.score == round(a.score, 7)
    assert a.model_version and a.parameters_version and a.inputs
    current = {d.programme: d for d in selectors.current_decisions(h.pk)}
    assert set(current) == {"AMO_TADAMON", "ASD", "AMO_ACHAMIL"}
    assert current["ASD"].eligible and current["AMO_TADAMON"].eligible
    assert not current["AMO_ACHAMIL"].eligible
    assert all(d.reason_code == "FIRST" for d in current.values())
    # Two children of ranks 1-2, in school, under the schedule in force today (at least the 500 floor).
    assert current["ASD"].amount is not None and current["ASD"].amount >= 500


def test_the_explanation_adds_up_to_the_score_in_french_and_arabic(ma):
    hh, members = _poor_family(ma)
    h = services.register_household(hh, members, channel="CENTRE", reason="first visit")
    a = selectors.current_assessment(h.pk)
    fr = selectors.explain(a, "fr")
    ar = selectors.explain(a, "ar")
    assert abs(fr.total - a.score) < 1e-6
    assert fr.unofficial
    size = next(i for i in fr.items if i.name == "pmt_household_size")
    assert size.value == 4 and size.contribution == pytest.approx(4 * size.coefficient)
    assert any("\u0600" <= ch <= "\u06ff" for ch in ar.items[0].label)  # Arabic labels
    assert [i.name for i in fr.items] == [i.name for i in ar.items]


def test_a_change_that_crosses_the_thresholds_moves_both_programmes_with_a_reason(ma):
    hh, members = _poor_family(ma)
    h = services.register_household(hh, members, channel="CENTRE", reason="first visit")
    before = selectors.current_assessment(h.pk)
    rich = {"cars": "3", "computers": "4", "secondary_residence": "1", "garage": "1", "rooms": "8",
            "has_bathroom": "1", "spend_phone_internet": "2500", "spend_water_electricity": "3000"}  # fmt: skip
    h2 = services.update_household(
        h.pk, changes=rich, expected_version=h.version, channel="CENTRE", reason="new assets"
    )
    after = selectors.current_assessment(h.pk)
    assert after.pk != before.pk and after.score > 9.743001 and after.household_version == h2.version
    assert Assessment.objects.filter(household=h, is_current=True).count() == 1
    current = {d.programme: d for d in selectors.current_decisions(h.pk)}
    for code in ("ASD", "AMO_TADAMON"):
        d = current[code]
        assert not d.eligible and d.reason_code == "SCORE_CROSSED"
        assert "above" in d.reason and code in d.reason
    assert current["AMO_ACHAMIL"].eligible and current["AMO_ACHAMIL"].amount > 0
    history = [
        (d.programme, d.eligible, d.is_current)
        for d in selectors.decision_history(h.pk)
        if d.programme == "ASD"
    ]
    assert history == [("ASD", True, False), ("ASD", False, True)]


def test_deleting_a_household_ends_its_programmes(ma):
    hh, members = _poor_family(ma)
    h = services.register_household(hh, members, channel="CENTRE", reason="first visit")
    services.delete_household(
        h.pk, expected_version=h.version, channel="CENTRE", reason="duplicate registration"
    )
    current = {d.programme: d for d in selectors.current_decisions(h.pk)}
    assert current["ASD"].reason_code == "EXITED" and not current["ASD"].eligible
    assert not Decision.objects.filter(household=h, is_current=True, eligible=True).exists()


def test_score_command_exports_one_row_per_household_and_a_rerun_changes_nothing(tmp_path, scratch_db_url):
    out = tmp_path / "synth"
    r = sijill(
        scratch_db_url, "synth", "--country", "MA", "--households", "150", "--seed", "7", "--out", str(out)
    )
    assert r.returncode == 0, r.stderr
    env = {"SIJILL_RESCORE_ON_CHANGE": "0"}
    r = sijill(
        scratch_db_url, "import", str(out / "households.csv"), str(out / "persons.csv"), "--json", env=env
    )
    assert r.returncode == 0, r.stderr
    export = tmp_path / "scores.csv"
    r = sijill(scratch_db_url, "score", "--as-of", "2026-11-30", "--export", str(export), "--json", env=env)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["households"] == 150 and s["new_assessments"] == 150
    with export.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "household_ref",
        "registry_id",
        "score",
        "model_version",
        "programmes",
        "asd_monthly",
    ]
    assert len(rows) == 150 and len({r["household_ref"] for r in rows}) == 150
    asd = [r for r in rows if "ASD" in r["programmes"].split(";")]
    assert len(asd) == s["programmes"]["ASD"]["beneficiaries"] > 0
    assert all(float(r["asd_monthly"]) >= 500 for r in asd)
    assert all(float(r["asd_monthly"]) == 0 for r in rows if r not in asd)
    assert sum(float(r["asd_monthly"]) for r in asd) == pytest.approx(
        s["programmes"]["ASD"]["monthly_amount"]
    )
    for r in rows:  # the programmes follow the thresholds
        score = float(r["score"])
        assert ("AMO_TADAMON" in r["programmes"]) == (score <= 9.3264284)
    again = json.loads(sijill(scratch_db_url, "score", "--as-of", "2026-11-30", "--json", env=env).stdout)
    assert again["new_assessments"] == 0 and again["changed_decisions"] == 0
    # Under the December 2023 schedule the same households get less, and the change is recorded.
    old = json.loads(sijill(scratch_db_url, "score", "--as-of", "2024-01-15", "--json", env=env).stdout)
    assert old["programmes"]["ASD"]["monthly_amount"] < s["programmes"]["ASD"]["monthly_amount"]
    assert old["changed_decisions"] > 0


def test_score_command_refuses_an_unknown_household_and_a_bad_date(scratch_db_url):
    r = sijill(scratch_db_url, "score", "--household", "00000000000", "--json")
    assert r.returncode == 2 and "Unknown household" in r.stderr
    r = sijill(scratch_db_url, "score", "--as-of", "30/11/2026", "--json")
    assert r.returncode == 2 and "--as-of" in r.stderr
