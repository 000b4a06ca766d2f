"""OpenFisca rules of Morocco: RSU index (PMT), AMO Tadamon, AMO Achamil, Aide sociale directe.

Layout and conventions: docs/rules.md. Load with
``sijill.targeting.openfisca.load_rules("ma")``. The OpenFisca command line works too::

    openfisca test --country-package sijill.countries.ma.rules sijill/countries/ma/rules/tests
"""

from __future__ import annotations

from typing import Any


def CountryTaxBenefitSystem() -> Any:  # the name the openfisca command line looks for
    from sijill.targeting.openfisca.system import load_rules

    return load_rules("ma").tbs
