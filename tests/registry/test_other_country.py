"""A country without Morocco's fields: Mali's registry runs on the same code."""

from __future__ import annotations

import pytest

from sijill.countries import get_profile
from sijill.registry import services
from sijill.registry.intake.job import run_import
from sijill.registry.intake.validate import HeaderError
from sijill.registry.models import Household, Person
from tests.conftest import household_row, person_row, write_tables

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ml():
    return get_profile("ml")


def _mali_family(ml):
    nina = next(iter(ml.id_types))
    hh = [
        household_row(
            ml, "BKO-1", milieu=next(a.milieu for a in ml.areas if a.level == "commune" and a.milieu) or "U"
        )
    ]
    pp = [
        person_row(
            "M1",
            "BKO-1",
            "HEAD",
            given_name_lat="Amadou",
            family_name_lat="Coulibaly",
            given_name_ar=None,
            family_name_ar=None,
        ),
        person_row(
            "M2",
            "BKO-1",
            "SPOUSE",
            given_name_lat="Awa",
            family_name_lat="Traoré",
            given_name_ar=None,
            family_name_ar=None,
            sex="F",
        ),
    ]
    return hh, pp, nina


def test_mali_household_imports_with_its_own_questionnaire_and_geography(tmp_path, ml, settings):
    settings.SIJILL_COUNTRY = "ML"
    hh, pp, _ = _mali_family(ml)
    s = run_import(write_tables(tmp_path, hh, pp), country="ml")
    assert (s.loaded, s.rejected) == (1, 0)
    h = Household.objects.get(external_ref="BKO-1")
    assert h.country == "ML" and h.questionnaire_version == ml.questionnaire.version
    assert h.area_path.startswith("ML-")
    assert set(h.socio) == {q.name for q in ml.questionnaire.questions}
    assert Person.objects.get(external_ref="M1").given_name_ar == ""


def test_moroccan_fields_are_not_part_of_malis_registry(tmp_path, ml, settings):
    settings.SIJILL_COUNTRY = "ML"
    ma = get_profile("ma")
    moroccan_only = sorted(
        {q.name for q in ma.questionnaire.questions} - {q.name for q in ml.questionnaire.questions}
    )
    assert "spend_butane" in moroccan_only
    hh, pp, _ = _mali_family(ml)
    hh[0]["spend_butane"] = "120"
    with pytest.raises(HeaderError, match="unknown column 'spend_butane'"):
        run_import(write_tables(tmp_path, hh, pp), country="ml")
    hh, pp, _ = _mali_family(ml)
    pp[0]["id_type"], pp[0]["id_value"] = "CNIE", "BK123456"  # a Moroccan identifier
    s = run_import(write_tables(tmp_path / "b", hh, pp), country="ml", rejects_dir=tmp_path / "rej")
    assert s.rejected == 1
    assert "unknown identifier type for ML" in (tmp_path / "rej" / "errors.csv").read_text()


def test_mali_registration_through_the_service(ml, settings):
    settings.SIJILL_COUNTRY = "ML"
    from sijill.registry.geography import sync_geography

    sync_geography(ml)
    hh, pp, _ = _mali_family(ml)
    h = services.register_household(hh[0], pp, channel="CENTRE", reason="enrolment campaign")
    assert h.country == "ML" and h.memberships.count() == 2
    # Mali's own programmes decide at once, from Mali's own (placeholder) model
    from sijill.targeting import selectors

    a = selectors.current_assessment(h.pk)
    assert a is not None and a.model_version == "ML-PMT-PLACEHOLDER-1"
    assert {d.programme for d in selectors.current_decisions(h.pk)} == {"JIGISEMEJIRI", "RAMED_ML"}
