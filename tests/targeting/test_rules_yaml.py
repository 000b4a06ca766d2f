"""Every OpenFisca YAML test of every country's rules, one pytest item per YAML test.

Item ids read ``<country>/<file>/<test name>``, e.g.
``pytest tests/targeting/test_rules_yaml.py -k "ma/asd_child_allowance"``.
"""

from __future__ import annotations

import pytest

from sijill.countries.base import COUNTRIES_DIR
from sijill.targeting.openfisca.system import load_rules
from sijill.targeting.openfisca.testing import YamlCase, collect_yaml_tests, run_yaml_test

COUNTRIES = sorted(p.parent.parent.name for p in COUNTRIES_DIR.glob("*/rules/config.yaml"))
CASES = collect_yaml_tests(COUNTRIES)


def test_every_country_with_rules_has_yaml_tests() -> None:
    assert COUNTRIES, "no country has rules"
    for country in COUNTRIES:
        assert any(c.country == country for c in CASES), f"{country} has no YAML test"


def test_yaml_test_names_are_unique() -> None:
    ids = [c.id for c in CASES]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate YAML test names: {dupes}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_yaml(case: YamlCase) -> None:
    run_yaml_test(load_rules(case.country).tbs, case.test, case.path)
