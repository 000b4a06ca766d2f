"""The statistics dashboards on a registry whose figures are known: households and persons by region
and milieu, the score distribution, programme beneficiaries and amounts by region, milieu and sex of
the head, targeting quality against the synthetic truth; each as an SVG chart, a table and a CSV."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sijill.dashboards import selectors
from sijill.registry.models import Household
from tests import staff
from tests.dashboards.conftest import csv_rows, same_numbers, table_cells

pytestmark = pytest.mark.django_db


def _all():
    return Household.live.all()


def test_households_and_persons_by_region_and_milieu(known):
    assert selectors.registered_by_region_milieu(_all()) == [
        {"region": "MA-04", "milieu": "U", "households": 1, "persons": 2},
        {"region": "MA-06", "milieu": "R", "households": 1, "persons": 2},
        {"region": "MA-06", "milieu": "U", "households": 2, "persons": 4},
    ]


def test_a_member_who_left_is_not_counted(known):
    from sijill.registry.models import Membership

    Membership.objects.filter(household=known["RAB-1"], relationship="SPOUSE").update(end_date="2026-01-31")
    rabat = [r for r in selectors.registered_by_region_milieu(_all()) if r["region"] == "MA-04"]
    assert rabat == [{"region": "MA-04", "milieu": "U", "households": 1, "persons": 1}]


def test_score_histogram_in_round_bins(known):
    h = selectors.score_histogram(_all(), bins=4)  # span 2.9 / 4 → bins of 1
    assert h.width == 1.0 and h.households == 4
    assert h.edges == [9.0, 10.0, 11.0, 12.0, 13.0]
    assert h.counts == [2, 1, 0, 1]


def test_beneficiaries_and_amounts_by_region_milieu_and_sex_of_head(known):
    asd = lambda by: [r for r in selectors.programme_figures(_all(), by) if r["programme"] == "ASD"]  # noqa: E731
    assert asd(None) == [{"programme": "ASD", "group": "", "beneficiaries": 2, "monthly": 1500.50}]
    assert asd("region") == [{"programme": "ASD", "group": "MA-06", "beneficiaries": 2, "monthly": 1500.50}]
    assert asd("milieu") == [
        {"programme": "ASD", "group": "R", "beneficiaries": 1, "monthly": 500.0},
        {"programme": "ASD", "group": "U", "beneficiaries": 1, "monthly": 1000.50},
    ]
    assert asd("head_sex") == [
        {"programme": "ASD", "group": "F", "beneficiaries": 1, "monthly": 500.0},
        {"programme": "ASD", "group": "M", "beneficiaries": 1, "monthly": 1000.50},
    ]
    tadamon = [r for r in selectors.programme_figures(_all(), "region") if r["programme"] == "AMO_TADAMON"]
    assert tadamon == [{"programme": "AMO_TADAMON", "group": "MA-06", "beneficiaries": 2, "monthly": 0.0}]


def test_targeting_quality_against_the_truth(known):
    import datetime as dt

    q = selectors.targeting_quality(_all(), "MA", dt.date(2026, 11, 30))
    assert q is not None and q["households_with_truth"] == 4
    # ASD threshold 9.743001: selected CAS-1, CAS-2; poor in truth CAS-1, CAS-2, CAS-3.
    asd = q["thresholds"]["ASD"]["current"]
    assert (asd["selected"], asd["target"], asd["inclusion_error"], asd["exclusion_error"]) == (
        2,
        3,
        0.0,
        0.3333,
    )
    # AMO Tadamon 9.3264284: selected CAS-1, CAS-2; poor in truth CAS-1 only.
    t = q["thresholds"]["AMO_TADAMON"]["current"]
    assert (t["selected"], t["target"], t["inclusion_error"], t["exclusion_error"]) == (2, 1, 0.5, 0.0)
    assert "AMO_ACHAMIL" not in q["thresholds"]  # a contribution above the threshold: not targeting the poor


@pytest.fixture
def officer(client, known):
    client.force_login(staff.staff("officer", "PROGRAMME_OFFICER", national=True))
    return client


def test_the_page_shows_every_figure_as_chart_and_table(officer):
    html = officer.get(reverse("statistics")).content.decode()
    # (a) households by region, urban and rural: one bar per region and milieu, labelled.
    chart = re.search(r'<svg[^>]*id="chart-registered".*?</svg>', html, re.S).group(0)
    assert 'role="img"' in chart and 'aria-labelledby="chart-registered-title chart-registered-desc"' in chart
    assert (
        '<title id="chart-registered-title">Ménages et personnes enregistrés, par région et milieu</title>'
        in chart
    )
    assert chart.count('class="bar"') == 4  # two regions × urban, rural
    assert ">Casablanca-Settat</text>" in chart and ">Rabat-Salé-Kénitra</text>" in chart
    assert table_cells(html, "table-registered")[1:] == [
        ["Casablanca-Settat", "2", "1", "3", "6"],
        ["Rabat-Salé-Kénitra", "1", "0", "1", "2"],
    ]
    # the score histogram: bins of 0.05 from 9.1 to 12.05, four households, the thresholds marked
    scores = table_cells(html, "table-scores")
    assert sum(int(r[2]) for r in scores[1:]) == 4
    assert re.search(r'<svg[^>]*id="chart-scores"', html) and "Seuil 9,743 : Aide sociale directe" in html
    # (b) programmes, by region by default
    assert ["Aide sociale directe", "2", "1\u202f500,50\xa0MAD", "18\u202f006,00\xa0MAD"] in table_cells(
        html, "table-programmes"
    )
    assert ["Casablanca-Settat", "Aide sociale directe", "2", "1\u202f500,50\xa0MAD"] in table_cells(
        html, "table-breakdown"
    )
    assert re.search(r'<svg[^>]*id="chart-beneficiaries"', html) and re.search(
        r'<svg[^>]*id="chart-amounts"', html
    )
    # (c) targeting quality; the poorest fifth in truth (≤ 9.5: CAS-1, CAS-2) all get the ASD
    assert ["Aide sociale directe", "9,743", "2", "3", "0,0\xa0%", "33,3\xa0%", "100,0\xa0%"] in table_cells(
        html, "table-targeting"
    )


@pytest.mark.parametrize("name", ["registered", "scores", "programmes", "breakdown", "targeting"])
def test_each_csv_holds_the_numbers_of_its_table(officer, name):
    html = officer.get(reverse("statistics") + "?by=head_sex").content.decode()
    response = officer.get(reverse("statistics") + f"?by=head_sex&download={name}")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="sijill-{name}' in response["Content-Disposition"]
    same_numbers(table_cells(html, f"table-{name}"), csv_rows(response.content))


def test_breakdown_by_sex_of_the_head(officer):
    html = officer.get(reverse("statistics") + "?by=head_sex").content.decode()
    rows = table_cells(html, "table-breakdown")
    assert rows[0][0] == "Sexe du chef de ménage"
    assert ["Féminin", "Aide sociale directe", "1", "500,00\xa0MAD"] in rows
    assert ["Masculin", "Aide sociale directe", "1", "1\u202f000,50\xa0MAD"] in rows


def test_an_area_limited_account_sees_only_its_areas(client, known):
    client.force_login(staff.staff("casa-officer", "PROGRAMME_OFFICER", ("MA-CAS",)))
    html = client.get(reverse("statistics")).content.decode()
    assert "Chiffres des ménages de vos zones seulement." in html
    assert table_cells(html, "table-registered")[1:] == [["Casablanca-Settat", "2", "1", "3", "6"]]
    assert "Rabat" not in html
    rows = csv_rows(client.get(reverse("statistics") + "?download=registered").content)
    assert rows[1:] == [["Casablanca-Settat", "2", "1", "3", "6"]]
    # targeting quality on its three households only
    targeting = csv_rows(client.get(reverse("statistics") + "?download=targeting").content)
    asd = next(r for r in targeting if r[0] == "Aide sociale directe")
    assert asd[2:4] == ["2", "3"]


def test_without_the_truth_the_page_says_why_and_there_is_no_csv(officer, settings, tmp_path):
    settings.SIJILL_TRUTH_FILE = str(tmp_path / "missing.csv")
    html = officer.get(reverse("statistics")).content.decode()
    assert "La qualité du ciblage ne peut pas être mesurée ici" in html and "SIJILL_TRUTH_FILE" in html
    assert 'id="table-targeting"' not in html
    assert officer.get(reverse("statistics") + "?download=targeting").status_code == 404


def test_the_chart_is_mirrored_in_arabic(officer):
    officer.cookies["django_language"] = "ar"
    html = officer.get(reverse("statistics")).content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    chart = re.search(r'<svg[^>]*id="chart-registered".*?</svg>', html, re.S).group(0)
    assert 'data-rtl="true"' in chart and ">الدار البيضاء - سطات</text>" in chart
    label_x = float(re.search(r'<text class="label" x="([\d.]+)"', chart).group(1))
    bar = re.search(r'<rect class="bar" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', chart)
    # Labels on the right, bars growing leftwards from them.
    assert label_x > 500 and float(bar.group(1)) + float(bar.group(2)) < label_x
    assert table_cells(html, "table-registered")[0][0] == "الجهة"


def test_no_scores_yet(client, geo):
    staff.household("MA-CAS")
    client.force_login(staff.staff("auditor", "AUDITOR", national=True))
    html = client.get(reverse("statistics")).content.decode()
    assert "Aucun score pour l’instant" in html and "Aucune décision pour l’instant" in html


def test_roles_without_statistics_are_refused(client, known):
    client.force_login(staff.staff("enum", "ENUMERATOR", ("MA-CAS",)))
    assert client.get(reverse("statistics")).status_code == 403
    assert client.get(reverse("statistics") + "?download=registered").status_code == 403
