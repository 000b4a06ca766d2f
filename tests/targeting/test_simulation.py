"""Policy simulation as a programme officer uses it: what if a threshold or an amount changed?"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from openfisca_core.periods import MONTH
from openfisca_core.reforms import Reform
from openfisca_core.variables import Variable

from sijill.synth import generate
from sijill.targeting.openfisca.entities import Household
from sijill.targeting.services import score
from sijill.targeting.simulation import PopulationCache, Scenario, SimulationError, simulate
from tests.registry.test_cli_import import sijill

pytestmark = pytest.mark.django_db(transaction=True)

DAY = dt.date(2026, 11, 30)


@pytest.fixture
def registry(tmp_path: Path, settings) -> Path:
    """400 synthetic Moroccan households, imported and scored at DAY."""
    from sijill.registry.intake.job import run_import

    settings.SIJILL_RESCORE_ON_CHANGE = False
    out = tmp_path / "synth"
    generate("ma", 400, 11, out)
    summary = run_import([out / "households.csv", out / "persons.csv"], country="MA", today=DAY)
    assert summary.loaded == 400
    score("MA", DAY)
    return out


def _sum_by(result, by: str, key: str) -> int:
    return sum(row[key] for row in result["by"][by])


def test_no_change_reproduces_the_stored_entitlements_exactly(registry):
    r = simulate("MA", DAY, Scenario())
    assert r["stored"]["households_compared"] == 400 and r["stored"]["mismatches"] == 0
    assert r["current"] == r["changed"]
    assert all(g["gainers"] == g["losers"] == 0 for g in r["gainers_losers"].values())


def test_raising_the_asd_threshold_adds_beneficiaries_and_cost_and_nobody_loses(registry):
    r = simulate("MA", DAY, Scenario({"asd.threshold": 10.2}))
    cur, new = r["current"]["ASD"], r["changed"]["ASD"]
    gl = r["gainers_losers"]["ASD"]
    assert new["beneficiaries"] > cur["beneficiaries"]
    assert (
        new["beneficiaries"] - cur["beneficiaries"] == gl["newly_eligible"] and gl["no_longer_eligible"] == 0
    )
    assert gl["losers"] == 0 and gl["gainers"] >= gl["newly_eligible"]
    assert new["monthly_cost"] - cur["monthly_cost"] == pytest.approx(gl["monthly_cost_change"])
    assert new["yearly_cost"] == pytest.approx(12 * new["monthly_cost"])
    # AMO Tadamon has its own threshold: untouched
    assert r["current"]["AMO_TADAMON"] == r["changed"]["AMO_TADAMON"]
    # the breakdowns add up to the totals
    for by in ("region", "milieu", "head_sex", "household_type"):
        assert _sum_by(r, by, "households") == 400
        assert _sum_by(r, by, "ASD_beneficiaries_new") == new["beneficiaries"]


def test_a_higher_child_amount_costs_more_for_the_same_households(registry):
    r = simulate("MA", DAY, Scenario({"asd.child_allowance.rank_1_3_young_or_in_school": 400}))
    assert r["changed"]["ASD"]["beneficiaries"] == r["current"]["ASD"]["beneficiaries"]
    assert r["changed"]["ASD"]["monthly_cost"] > r["current"]["ASD"]["monthly_cost"]
    assert r["gainers_losers"]["ASD"]["losers"] == 0


def test_a_new_rule_as_a_reform_class(registry):
    class WinterBonus(Reform):
        """A new rule: 100 MAD more a month for every ASD household."""

        name = "winter bonus"

        def apply(self) -> None:
            class asd_monthly(Variable):
                value_type = float
                entity = Household
                definition_period = MONTH

                def formula(household, period, parameters):
                    base = (
                        household("asd_child_allowance", period)
                        + household("asd_orphan_supplement", period)
                        + household("asd_disability_supplement", period)
                        + household("asd_floor_top_up", period)
                        + household("asd_flat_allowance", period)
                    )
                    return np.where(household("asd_beneficiary", period), base + 100, base)

            self.update_variable(asd_monthly)

    r = simulate("MA", DAY, Scenario(reform=WinterBonus))
    n = r["current"]["ASD"]["beneficiaries"]
    assert r["gainers_losers"]["ASD"]["monthly_cost_change"] == pytest.approx(100 * n)
    assert r["reform"] == "winter bonus"


def test_targeting_quality_against_the_synthetic_truth(registry):
    truth = pl.read_csv(registry / "truth.csv", infer_schema_length=0)
    cache = PopulationCache("MA", DAY, truth)
    low = simulate("MA", DAY, Scenario({"asd.threshold": 9.2}), cache=cache, compare_stored=False)
    high = simulate("MA", DAY, Scenario({"asd.threshold": 10.4}), cache=cache, compare_stored=False)
    t_low, t_high = low["targeting"]["thresholds"]["ASD"], high["targeting"]["thresholds"]["ASD"]
    assert low["targeting"]["households_with_truth"] == 400
    for t in (t_low, t_high):
        for side in ("current", "changed"):
            assert 0 <= t[side]["inclusion_error"] <= 1 and 0 <= t[side]["exclusion_error"] <= 1
    # the current rules are the same in both runs; a wider net covers more of the poorest
    assert t_low["current"] == t_high["current"]
    cov_low = low["targeting"]["poorest_quintile_coverage"]["ASD"]["changed"]
    cov_high = high["targeting"]["poorest_quintile_coverage"]["ASD"]["changed"]
    assert cov_high >= cov_low
    # The changed law selects at its own threshold; the poor in truth stay those under the
    # current law's line: a wider net selects more, misses fewer of them, includes more others.
    assert (t_low["threshold_new"], t_high["threshold_new"]) == (9.2, 10.4)
    assert t_low["changed"]["target"] == t_high["changed"]["target"] == t_low["current"]["target"]
    assert t_low["changed"]["selected"] < t_high["changed"]["selected"]
    assert t_high["changed"]["exclusion_error"] <= t_low["changed"]["exclusion_error"]
    assert t_high["changed"]["inclusion_error"] >= t_low["changed"]["inclusion_error"]


def test_unknown_parameter_is_refused_with_the_names_that_exist(registry):
    with pytest.raises(SimulationError, match=r"unknown parameter 'asd\.treshold'.*threshold"):
        simulate("MA", DAY, Scenario({"asd.treshold": 9.9}))


def test_simulate_command_json(tmp_path, scratch_db_url):
    out = tmp_path / "synth"
    assert sijill(scratch_db_url, "synth", "--country", "MA", "--households", "120", "--seed", "3",
                  "--out", str(out)).returncode == 0  # fmt: skip
    env = {"SIJILL_RESCORE_ON_CHANGE": "0"}
    assert sijill(scratch_db_url, "import", str(out), "--json", env=env).returncode == 0
    r = sijill(scratch_db_url, "simulate", "--as-of", "2026-11-30", "--set", "asd.threshold=9.9",
               "--truth", str(out / "truth.csv"), "--json", env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    for side in ("current", "changed"):
        for code in ("ASD", "AMO_TADAMON", "AMO_ACHAMIL"):
            assert {"beneficiaries", "monthly_cost"} <= set(s[side][code])
    assert s["changes"] == {"asd.threshold": 9.9}
    bad = sijill(scratch_db_url, "simulate", "--set", "asd.threshold=high", "--json", env=env)
    assert bad.returncode == 2 and "not a number" in bad.stderr
    # a new rule from the analyst's own module
    (tmp_path / "my_rules.py").write_text(
        "from openfisca_core.reforms import Reform\n"
        "class NoAchamil(Reform):\n"
        "    name = 'no Achamil contribution'\n"
        "    def apply(self):\n"
        "        self.neutralize_variable('amo_achamil_contribution')\n"
    )
    env_r = {**env, "PYTHONPATH": str(tmp_path)}
    r = sijill(
        scratch_db_url,
        "simulate",
        "--as-of",
        "2026-11-30",
        "--reform",
        "my_rules:NoAchamil",
        "--json",
        env=env_r,
    )
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["reform"] == "no Achamil contribution"
    assert s["changed"]["AMO_ACHAMIL"]["monthly_cost"] == 0 < s["current"]["AMO_ACHAMIL"]["monthly_cost"]
    r = sijill(scratch_db_url, "simulate", "--reform", "my_rules:Nope", "--json", env=env_r)
    assert r.returncode == 2 and "not an OpenFisca Reform" in r.stderr


def test_a_registry_change_is_seen_by_the_next_simulation(registry, ma, settings):
    from sijill.registry import services
    from tests.conftest import household_row, person_row

    assert simulate("MA", DAY, Scenario())["households"] == 400  # from the snapshot the score run left
    settings.SIJILL_RESCORE_ON_CHANGE = True
    services.register_household(
        household_row(ma, "NEW-1", registered_on="2026-11-01"),
        [person_row("NEW-1-1", "NEW-1", birth_date="1950-01-01")],
        channel="CENTRE",
        reason="walk-in",
    )
    r = simulate("MA", DAY, Scenario())
    assert r["households"] == 401
    assert r["stored"]["mismatches"] == 0  # the new household was decided when it registered


def test_age_limits_and_the_floor_are_parameters_too(registry):
    cache = PopulationCache("MA", DAY)
    younger = simulate("MA", DAY, Scenario({"asd.flat_allowance.elderly_age": 50}), cache=cache)
    assert younger["changed"]["ASD"]["beneficiaries"] >= younger["current"]["ASD"]["beneficiaries"]
    assert younger["gainers_losers"]["ASD"]["losers"] == 0
    floor = simulate("MA", DAY, Scenario({"asd.floor": 700}), cache=cache)
    gl = floor["gainers_losers"]["ASD"]
    assert gl["gainers"] > 0 and gl["losers"] == 0 and gl["monthly_cost_change"] > 0
