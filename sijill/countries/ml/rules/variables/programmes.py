"""Jigisemejiri and RAMED eligibility from the RSU score (PLACEHOLDER thresholds [U])."""

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


class jigisemejiri_eligible(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "Eligible for Jigisemejiri cash transfers (RSU score at or below the PLACEHOLDER threshold)"
    documentation = (
        "pmt_score <= jigisemejiri.threshold. [U] placeholder threshold and model; the programme's "
        "geographic and community targeting and its 36-month duration are not modelled."
    )

    def formula_2014_01_01(household: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period)
        return at_or_below(
            household("pmt_score", period), p.jigisemejiri.threshold, p.rsu.at_threshold_is_eligible
        )


class jigisemejiri_monthly(Variable):  # type: ignore[misc]
    value_type = float
    entity = Household
    definition_period = MONTH
    unit = "currency-XOF"
    label = "Jigisemejiri: monthly cash transfer of the household (FCFA; 0 if not eligible)"
    reference = [
        "https://fr.slideshare.net/ifpriwcao/programmes-de-transferts-montaires-en-afrique-de-louest-etude-de-cas-jigisemejiri-rflexion-sur-les-leons-apprises-et-nouvelle-phase-du-projet-jigisemejiri"
    ]

    def formula_2014_01_01(household: Any, period: Any, parameters: Any) -> Any:
        amount = parameters(period).jigisemejiri.monthly_amount
        return np.where(household("jigisemejiri_eligible", period), amount, 0)


class ramed_ml_eligible(Variable):  # type: ignore[misc]
    value_type = bool
    entity = Household
    definition_period = MONTH
    label = "Eligible for RAMED (indigence: RSU score at or below the PLACEHOLDER threshold)"
    documentation = (
        "pmt_score <= ramed.threshold. [U] placeholder; RSU-based RAMED eligibility is not confirmed."
    )

    def formula_2019_11_28(household: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period)
        return at_or_below(household("pmt_score", period), p.ramed.threshold, p.rsu.at_threshold_is_eligible)
