"""Run the OpenFisca YAML tests of a country's rules against our tax-benefit system.

The YAML format is OpenFisca's (``name``, ``period``, ``input``, ``output``,
``absolute_error_margin``, ``relative_error_margin``, ``parameters``, ``reforms``...), read
with OpenFisca's own loader, so the same files also run with
``openfisca test --country-package sijill.countries.<cc>.rules <dir>``.

One difference: a float64 variable (the PMT score and its features) is compared in
float64. OpenFisca's ``assert_near`` casts to float32, which cannot tell 9.7430010 from
9.7430011.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sijill.targeting.openfisca.system import rules_dir


@dataclass(frozen=True)
class YamlCase:
    country: str
    path: Path
    index: int
    name: str
    test: Mapping[str, Any]

    @property
    def id(self) -> str:
        return f"{self.country}/{self.path.stem}/{self.name or self.index}"


def _load_yaml(path: Path) -> Any:
    from openfisca_core.tools.test_runner import Loader, yaml

    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=Loader)


def collect_yaml_tests(countries: Iterable[str]) -> list[YamlCase]:
    """Every YAML test of the given countries, in file order."""
    cases: list[YamlCase] = []
    for country in countries:
        root = rules_dir(country) / "tests"
        for path in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
            tests = _load_yaml(path)
            if tests is None:
                continue
            if not isinstance(tests, list):
                tests = [tests]
            for i, test in enumerate(tests):
                cases.append(YamlCase(country.lower(), path, i, str(test.get("name", f"#{i}")), test))
    return cases


class _RecordingNode:
    """Wraps a ParameterNodeAtInstant; records (parameter name, instant) of every leaf read."""

    def __init__(self, node: Any, sink: set[tuple[str, str]]) -> None:
        self._node = node
        self._sink = sink

    def _wrap(self, child: Any, key: str) -> Any:
        from openfisca_core.parameters import ParameterNodeAtInstant

        if isinstance(child, ParameterNodeAtInstant):
            return _RecordingNode(child, self._sink)
        name = f"{self._node._name}.{key}" if self._node._name else key
        self._sink.add((name, self._node._instant_str))
        return child

    def __getattr__(self, key: str) -> Any:
        return self._wrap(getattr(self._node, key), key)

    def __getitem__(self, key: str) -> Any:
        return self._wrap(self._node[key], key)

    def __iter__(self) -> Any:
        return iter(self._node)

    def __contains__(self, key: str) -> bool:
        return key in self._node


def run_yaml_test(
    tbs: Any, test: Mapping[str, Any], path: Path | None = None, accessed: set[tuple[str, str]] | None = None
) -> None:
    """Run one YAML test; raise AssertionError naming the test, the variable and the period.

    With ``accessed``, every parameter read is added to it as (name, instant), e.g.
    ``("asd.floor", "2024-01-01")`` (used to check that every dated value is tested).
    """
    from openfisca_core.reforms.in_yaml_test_reform import InYamlTestReform
    from openfisca_core.simulations import SimulationBuilder
    from openfisca_core.tools.test_runner import build_test

    t = build_test(dict(test))
    where = f"{path}: " if path else ""
    if t.output is None:
        raise ValueError(f"{where}test '{t.name}' has no 'output'")
    system = tbs
    reforms = t.reforms if isinstance(t.reforms, list) else [t.reforms]
    if reforms:
        system = system.clone()
        for reform in reforms:
            system = system.apply_reform(reform)
    if t.parameters:
        system = InYamlTestReform(system, t.parameters)
    builder = SimulationBuilder()
    builder.set_default_period(t.period)
    simulation = builder.build_from_dict(system, dict(t.input))
    if t.max_spiral_loops:
        simulation.max_spiral_loops = t.max_spiral_loops
    if accessed is not None:
        sink = accessed
        simulation.trace = True
        simulation.trace_parameters_at_instant = lambda instant: _RecordingNode(
            system.get_parameters_at_instant(instant), sink
        )

    def check(name: str, expected: Any, period: Any, index: int | None = None, who: str = "") -> None:
        if isinstance(expected, dict):
            for p, value in expected.items():
                check(name, value, p, index, who)
            return
        actual = simulation.calculate(name, period)
        if index is not None:
            actual = actual[index : index + 1]
        label = f"{where}test '{t.name}': {name}@{period}" + (f" ({who})" if who else "")
        variable = system.get_variable(name)
        abs_margin = t.absolute_error_margin[name]
        rel_margin = t.relative_error_margin[name]
        if variable is not None and np.dtype(variable.dtype) == np.float64 and not isinstance(expected, str):
            target = np.asarray(expected, dtype=np.float64)
            value = np.asarray(actual, dtype=np.float64)
            margin = abs_margin if abs_margin is not None else (0.0 if rel_margin is None else None)
            ok = (
                np.isclose(value, target, rtol=0.0, atol=margin, equal_nan=True)
                if margin is not None
                else True
            )
            if rel_margin is not None:
                ok = ok & (np.abs(value - target) <= abs(rel_margin * target))
            assert np.all(ok), f"{label}: {value.tolist()} differs from {target.tolist()} (float64)"
            return
        from openfisca_core.tools import assert_near

        try:
            assert_near(actual, expected, abs_margin, f"{label}: ", rel_margin)
        except AssertionError as exc:
            raise AssertionError(str(exc)) from None

    for key, expected in t.output.items():
        if system.get_variable(key) is not None:
            check(key, expected, t.period)
            continue
        if key in simulation.populations:  # entity singular: {variable: value}
            for name, value in expected.items():
                check(name, value, t.period)
            continue
        population = simulation.get_population(plural=key)
        if population is None:
            raise AssertionError(f"{where}test '{t.name}': '{key}' is neither a variable nor an entity")
        for instance_id, values in expected.items():
            index = population.get_index(instance_id)
            for name, value in values.items():
                check(name, value, t.period, index, str(instance_id))
