"""OpenFisca rules of Mali: RSU score (PLACEHOLDER PMT), Jigisemejiri cash transfers, RAMED.

Layout and conventions: docs/rules.md. Load with
``sijill.targeting.openfisca.load_rules("ml")``. The OpenFisca command line works too::

    openfisca test --country-package sijill.countries.ml.rules sijill/countries/ml/rules/tests
"""

from __future__ import annotations

from typing import Any


def CountryTaxBenefitSystem() -> Any:  # the name the openfisca command line looks for
    from sijill.targeting.openfisca.system import load_rules

    return load_rules("ml").tbs
