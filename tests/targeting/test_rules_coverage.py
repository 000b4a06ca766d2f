"""Every dated value of every parameter is exercised by at least one YAML test.

The YAML tests run with a recorder on the parameters; a value dated D (in force until the
next value) is covered when some test reads that parameter at an instant in [D, next date).
"""

from __future__ import annotations

import pytest

from sijill.countries.base import COUNTRIES_DIR
from sijill.targeting.openfisca.system import load_rules
from sijill.targeting.openfisca.testing import collect_yaml_tests, run_yaml_test

COUNTRIES = sorted(p.parent.parent.name for p in COUNTRIES_DIR.glob("*/rules/config.yaml"))


def _dated_values(tbs: object) -> dict[str, list[tuple[str, str | None]]]:
    """{parameter name: [(start, end or None)]} for every value (scales: by the scale's name)."""
    from openfisca_core.parameters import Parameter, ParameterNode, ParameterScale

    out: dict[str, list[tuple[str, str | None]]] = {}

    def intervals(param: Parameter) -> list[tuple[str, str | None]]:
        # values_list is newest first; a null value ends the parameter.
        items = sorted(((v.instant_str, v.value) for v in param.values_list), key=lambda x: x[0])
        res = []
        for i, (start, value) in enumerate(items):
            end = items[i + 1][0] if i + 1 < len(items) else None
            if value is not None:
                res.append((start, end))
        return res

    def walk(node: object, name: str) -> None:
        if isinstance(node, ParameterNode):
            for key, child in node.children.items():
                if not name and key == "pmt":
                    continue  # the PMT model: covered by the score tests, not dated by law
                walk(child, f"{name}.{key}" if name else key)
        elif isinstance(node, ParameterScale):
            spans: set[tuple[str, str | None]] = set()
            for bracket in node.brackets:
                for child in bracket.children.values():
                    spans.update(intervals(child))
            out[name] = sorted(spans, key=lambda s: s[0])
        elif isinstance(node, Parameter):
            out[name] = intervals(node)

    walk(tbs.parameters, "")  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize("country", COUNTRIES)
def test_every_parameter_value_is_tested(country: str) -> None:
    tbs = load_rules(country).tbs
    accessed: set[tuple[str, str]] = set()
    for case in collect_yaml_tests([country]):
        run_yaml_test(tbs, case.test, case.path, accessed=accessed)
    missing = []
    for name, spans in _dated_values(tbs).items():
        instants = [i for n, i in accessed if n == name]
        for start, end in spans:
            if not any(start <= i and (end is None or i < end) for i in instants):
                missing.append(f"{name} from {start}" + (f" to {end}" if end else ""))
    assert not missing, f"{country}: parameter values no YAML test reads: {missing}"
