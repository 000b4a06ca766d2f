"""The policy simulator page on a scored synthetic registry: the editable parameters with their value,
unit and reference; a higher threshold adds beneficiaries and cost against current law; bad input is a
field error and simulates nothing; the CSV holds the table's numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import staff
from tests.dashboards.conftest import csv_rows, same_numbers, table_cells

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def registry(tmp_path: Path, settings) -> Path:
    """200 synthetic Moroccan households, imported and scored today (the simulator's date)."""
    from sijill.registry.intake.job import run_import
    from sijill.synth import generate
    from sijill.targeting.services import score

    settings.SIJILL_RESCORE_ON_CHANGE = False
    settings.VAR_DIR = tmp_path / "var"  # population snapshots of this registry only
    out = tmp_path / "synth"
    generate("ma", 200, 5, out)
    today = timezone.localdate()
    assert run_import([out / "households.csv", out / "persons.csv"], country="MA", today=today).loaded == 200
    score("MA", today)
    return out


@pytest.fixture
def analyst(client, registry):
    client.force_login(staff.staff("analyst", "POLICY_ANALYST", national=True))
    return client


@pytest.fixture
def analyst_only(client, geo):
    """Pages that run no simulation need no population."""
    client.force_login(staff.staff("analyst", "POLICY_ANALYST", national=True))
    return client


def _row(rows: list[list[str]], programme: str) -> list[str]:
    return next(r for r in rows if r[0] == programme)


def _n(cell: str) -> float:
    return float(cell.replace("\u202f", "").replace("\xa0", "").replace("MAD", "").replace(",", "."))


def test_the_form_lists_the_parameters_in_force(analyst_only):
    html = analyst_only.get(reverse("simulator")).content.decode()
    assert '<label for="id_asd.threshold"><code>asd.threshold</code></label>' in html
    assert 'value="9,743001"' in html  # the value in force, in French
    assert "points d’indice" in html and 'href="https://aumaroc.org/?p=88806"' in html
    assert "en vigueur depuis le 2023-12-01" in html
    assert "pmt." not in html  # the model's coefficients are not offered
    assert 'id="results"' not in html  # nothing runs before the analyst asks


def test_raising_the_asd_threshold_adds_beneficiaries_and_cost(analyst):
    url = reverse("simulator") + "?run=1&asd.threshold=10,2"
    html = analyst.get(url).content.decode()
    assert 'id="results"' in html
    assert "<code>asd.threshold</code>: 9,743001 → <strong>10,2</strong> points d’indice" in html
    table = table_cells(html, "table-programmes")
    asd = _row(table, "Aide sociale directe")
    current, changed, diff = (_n(c) for c in asd[1:4])
    assert changed > current and diff == changed - current
    assert _n(asd[5]) > _n(asd[4])  # monthly cost, changed against current
    assert _n(asd[9]) == 0 and _n(asd[10]) == diff  # nobody loses; the difference are the newly eligible
    tadamon = _row(table, "AMO Tadamon")
    assert tadamon[1] == tadamon[2]  # its own threshold did not move
    # by region, the changed law adds up to the national figure, and the charts compare both
    regions = [r for r in table_cells(html, "table-regions")[1:] if r[1] == "Aide sociale directe"]
    assert sum(_n(r[4]) for r in regions) == changed
    assert 'id="chart-sim-programmes"' in html and 'id="chart-sim-asd"' in html
    # the CSV downloads say what the tables say
    for name in ("programmes", "regions"):
        response = analyst.get(url + f"&download={name}")
        assert response["Content-Disposition"] == f'attachment; filename="sijill-simulation-{name}.csv"'
        same_numbers(table_cells(html, f"table-{name}"), csv_rows(response.content))


def test_no_change_is_current_law(analyst):
    html = analyst.get(reverse("simulator") + "?run=1").content.decode()
    assert "Rien : chaque valeur est celle en vigueur" in html
    for row in table_cells(html, "table-programmes")[1:]:
        assert row[1] == row[2] and row[4] == row[5] and row[8] == row[9] == "0"


def test_bad_values_are_field_errors_and_nothing_runs(analyst_only):
    analyst = analyst_only
    html = analyst.get(
        reverse("simulator")
        + "?run=1&asd.threshold=beaucoup&asd.floor=-5&asd.school_start_grant.payment_month=13"
    ).content.decode()
    assert 'id="results"' not in html
    assert "Certaines valeurs ne sont pas valides ; rien n’a été simulé." in html
    assert 'aria-describedby="err-asd-threshold desc-asd-threshold"' in html and 'aria-invalid="true"' in html
    assert '<p class="error" id="err-asd-threshold">Saisissez un nombre.</p>' in html
    assert (
        '<p class="error" id="err-asd-floor">Assurez-vous que cette valeur est supérieure ou égale à 0.</p>'
        in html
    )
    assert (
        'id="err-asd-school_start_grant-payment_month">Assurez-vous que cette valeur est inférieure ou égale à 12.'
        in html
    )
    assert analyst.get(reverse("simulator") + "?run=1&asd.floor=-5&download=programmes").status_code == 404


def test_htmx_gets_the_form_and_results_only(analyst):
    r = analyst.get(reverse("simulator") + "?run=1&asd.floor=600", HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert html.startswith('<div id="simulator">') and "<html" not in html and 'id="results"' in html


def test_an_area_limited_analyst_is_told_a_simulation_is_national(client, geo):
    client.force_login(staff.staff("casa-analyst", "POLICY_ANALYST", ("MA-CAS",)))
    html = client.get(reverse("simulator") + "?run=1&asd.threshold=10,2").content.decode()
    assert "elle demande un compte national" in html and 'id="results"' not in html


def test_only_analysts_and_administrators_simulate(client, geo):
    client.force_login(staff.staff("officer", "PROGRAMME_OFFICER", national=True))
    assert client.get(reverse("simulator")).status_code == 403


def test_targeting_quality_of_both_laws_against_the_synthetic_truth(analyst, registry, settings):
    url = reverse("simulator") + "?run=1&asd.threshold=10,2"
    settings.SIJILL_TRUTH_FILE = ""  # nothing to measure against: no table
    assert 'id="table-targeting"' not in analyst.get(url).content.decode()
    settings.SIJILL_TRUTH_FILE = str(registry / "truth.csv")
    html = analyst.get(url).content.decode()
    rows = table_cells(html, "table-targeting")
    asd = [r for r in rows if r[0] == "Aide sociale directe"]
    current, changed = asd
    assert (current[1], changed[1]) == ("Droit actuel", "Droit modifié")
    assert (current[2], changed[2]) == ("9,7430", "10,2000")  # each law selects at its own threshold
    assert _n(changed[3]) > _n(current[3])  # a wider net selects more households...
    assert changed[4] == current[4]  # ...against the same households poor in truth...
    assert _n(changed[6].replace("%", "")) <= _n(current[6].replace("%", ""))  # ...and misses fewer of them
    response = analyst.get(url + "&download=targeting")
    same_numbers(rows, csv_rows(response.content))
