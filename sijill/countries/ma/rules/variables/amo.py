"""AMO Tadamon and AMO Achamil: eligibility from the RSU index, Achamil contribution band."""

from __future__ import annotations

from typing import Any

import numpy as np
from openfisca_core.periods import MONTH
from openfisca_core.variables import Variable

from sijill.targeting.openfisca.entities import Household


def at_or_below(score: Any, threshold: float, at_threshold_is_eligible: bool) -> Any:
    """score ≤ threshold (or < when equality is not eligible); False for a NaN score."""
    score = np.asarray(score, dtype=np.float64)
    return score <= threshold if at_threshold_is_eligible else score < threshold


class amo_tadamon_eligible(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "Eligible for AMO Tadamon (index at or below the AMO Tadamon threshold)"
    reference = ["https://maghress.com/fr/aujourdhui/427628", "https://maghress.com/fr/yabiladi/134277"]
    documentation = (
        "pmt_score <= amo_tadamon.threshold (decree 2.22.923; threshold value [U]). From 1 Dec 2022, when AMO "
        "Tadamon replaced RAMED. Not modelled: the CNSS check that no member is covered by another AMO regime."
    )

    def formula_2022_12_01(household: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period)
        return at_or_below(
            household("pmt_score", period), p.amo_tadamon.threshold, p.rsu.at_threshold_is_eligible
        )


class amo_achamil_eligible(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "Eligible for AMO Achamil (index above the AMO Tadamon threshold)"
    reference = [
        "https://www.lavieeco.com/influences/societe/amo-achamil-linscription-au-regime-facultatif-ouverte/"
    ]
    documentation = (
        "pmt_score > amo_tadamon.threshold (law 60-22), from January 2024. Not modelled: the applicant must have "
        "no activity and no other AMO regime (checked by the CNSS), and enrolment is voluntary."
    )

    def formula_2024_01_01(household: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period)
        score = np.asarray(household("pmt_score", period), dtype=np.float64)
        below = at_or_below(score, p.amo_tadamon.threshold, p.rsu.at_threshold_is_eligible)
        return np.isfinite(score) & ~below


class amo_achamil_contribution(Variable):  # type: ignore[misc]
    value_type = float
    entity = Household
    definition_period = MONTH
    unit = "currency-MAD"
    label = "Monthly AMO Achamil contribution of an eligible household (MAD), by index band"
    reference = ["https://github.com/okbaAbdelghani/rsu_calculator"]
    documentation = (
        "amo_achamil.contribution: each band starts strictly above its threshold (a score equal to an edge "
        "pays the band below). [U] bands and their reading; see the parameter's documentation. 0 when not "
        "eligible."
    )

    def formula_2024_01_01(household: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period)
        score = np.asarray(household("pmt_score", period), dtype=np.float64)
        eligible = household("amo_achamil_eligible", period)
        amount = p.amo_achamil.contribution.calc(
            np.nan_to_num(score), right=bool(p.rsu.at_threshold_is_eligible)
        )
        return np.where(eligible, amount, 0)
