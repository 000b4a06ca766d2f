"""Build a country's tax-benefit system: generic entities and inputs, the country's rules
package, and a PMT model.

A country's rules live in ``sijill/countries/<cc>/rules/``::

    __init__.py        # exposes CountryTaxBenefitSystem() for the `openfisca` command line
    config.yaml        # pmt_model: <version of the active model>
    programmes.yaml    # the programmes these rules decide (see Programme)
    parameters/        # OpenFisca YAML parameters (dated values with references)
    variables/         # Python package: country variables (every Variable subclass is loaded)
    pmt/<version>.yaml # PMT model files (see sijill.targeting.openfisca.pmt)
    tests/             # OpenFisca YAML tests (run by tests/targeting/test_rules_yaml.py)

``load_rules("ma")`` returns a cached :class:`Rules`; ``load_rules("ma", "OTHER-MODEL")``
builds (and caches) the same rules with another model.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import pkgutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

from sijill.countries.base import COUNTRIES_DIR, get_profile
from sijill.targeting.openfisca.entities import ENTITIES
from sijill.targeting.openfisca.pmt import PmtModel, install_model, load_model
from sijill.targeting.openfisca.variables import generic_variables, pmt_score

GLUE_DIR = Path(__file__).resolve().parent
AMOUNT_KINDS = ("benefit", "contribution")


class RulesError(ValueError):
    """A country's rules package is malformed."""


PART_FORMATS = ("money", "count", "flag")


@dataclass(frozen=True)
class Part:
    """One line of a programme's entitlement breakdown: a variable and its name per language.

    Household parts (``Programme.breakdown``) add up to the programme's amount. Member parts
    (``Programme.member_breakdown``) are person variables shown per member (``format``:
    money, count or flag).
    """

    variable: str
    name: Mapping[str, str]
    format: str = "money"

    def label(self, lang: str) -> str:
        return self.name.get(lang) or self.name.get("fr") or self.variable


@dataclass(frozen=True)
class Programme:
    """A programme whose eligibility (and amount) the rules compute."""

    code: str
    name: Mapping[str, str]
    agency: str
    legal_basis: str
    eligible_variable: str
    amount_variable: str | None = None  # monthly amount in local currency
    amount_kind: str = "benefit"  # benefit (paid to the household) | contribution (paid by it)
    export_column: str | None = None
    one_off_variables: tuple[str, ...] = ()
    threshold_parameter: str | None = None  # e.g. "asd.threshold": the score threshold the decision reads
    eligible_when: str = "at_or_below"  # at_or_below | above (the threshold); informative
    currency: str = ""
    references: tuple[str, ...] = ()
    description: Mapping[str, str] = field(default_factory=dict)
    breakdown: tuple[Part, ...] = ()  # household variables that add up to amount_variable
    member_breakdown: tuple[Part, ...] = ()  # person variables shown per member
    one_off_names: tuple[Part, ...] = ()  # names of the one-off variables


@dataclass(frozen=True)
class Rules:
    country: str  # upper-case ISO code
    tbs: Any  # openfisca_core TaxBenefitSystem
    pmt_model: PmtModel
    programmes: list[Programme]
    parameters_version: str  # e.g. "MA-3f2a9c1e04": hash of the rules files and the model

    def programme(self, code: str) -> Programme:
        for p in self.programmes:
            if p.code == code:
                return p
        raise KeyError(code)

    @property
    def model_version(self) -> str:
        return self.pmt_model.version

    @property
    def package_dir(self) -> Path:
        """The country's rules folder (``sijill/countries/<cc>/rules``)."""
        return rules_dir(self.country)

    def with_reform(self, reform: Any) -> Rules:
        """These rules changed by an OpenFisca Reform class (not cached).

        ``parameters_version`` gets ``+<reform name>`` so stored results do not claim the
        unreformed rules. A reform from :func:`~sijill.targeting.openfisca.pmt.pmt_reform`
        also swaps ``pmt_model``.
        """
        tbs = normalise_variables(reform(self.tbs))
        name = getattr(reform, "name", None) or reform.__name__
        slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in str(name)).strip("-")[:40]
        model = getattr(reform, "pmt_model", None) or self.pmt_model
        return replace(self, tbs=tbs, pmt_model=model, parameters_version=f"{self.parameters_version}+{slug}")

    def with_pmt_model(self, pmt_model: str | Path | PmtModel) -> Rules:
        """The same country's rules with another PMT model (cached, see :func:`load_rules`)."""
        return load_rules(self.country, pmt_model)


def rules_dir(country: str) -> Path:
    return COUNTRIES_DIR / country.lower() / "rules"


def _config(country: str) -> dict[str, Any]:
    path = rules_dir(country) / "config.yaml"
    if not path.exists():
        raise RulesError(f"no rules for country '{country}' (looked for {path})")
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def active_model_version(country: str) -> str:
    """Version of the model named by ``rules/config.yaml`` (``pmt_model``)."""
    version = _config(country).get("pmt_model")
    if not version:
        raise RulesError(f"{rules_dir(country) / 'config.yaml'}: missing 'pmt_model'")
    return str(version)


def available_models(country: str) -> list[str]:
    return sorted(p.stem for p in (rules_dir(country) / "pmt").glob("*.yaml"))


@functools.lru_cache(maxsize=64)
def _load_model_cached(path: Path, mtime_ns: int) -> PmtModel:
    """A model file read once per version of the file (``load_rules`` is called on every request)."""
    return load_model(path)


def resolve_model(country: str, pmt_model: str | Path | PmtModel | None) -> PmtModel:
    """A model object from a version name, a file path, a model, or None (the active model)."""
    if isinstance(pmt_model, PmtModel):
        model = pmt_model
    else:
        if pmt_model is None:
            pmt_model = active_model_version(country)
        path = Path(pmt_model)
        if not (path.suffix in (".yaml", ".yml") and path.exists()):
            path = rules_dir(country) / "pmt" / f"{pmt_model}.yaml"
            if not path.exists():
                raise RulesError(
                    f"no PMT model '{pmt_model}' for {country.upper()} (available: {', '.join(available_models(country))})"
                )
        model = _load_model_cached(path.resolve(), path.stat().st_mtime_ns)
    if model.country and model.country != country.upper():
        raise RulesError(f"PMT model {model.version} is for {model.country}, not {country.upper()}")
    return model


def _country_variable_classes(country: str) -> list[type]:
    package_name = f"sijill.countries.{country.lower()}.rules.variables"
    package = importlib.import_module(package_name)
    classes: list[type] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package_name}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Variable) and obj.__module__ == module.__name__:
                classes.append(obj)
    return classes


def _load_programmes(country: str, tbs: Any, currency: str) -> list[Programme]:
    path = rules_dir(country) / "programmes.yaml"
    return programmes_from(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, tbs, currency, str(path))


def programmes_from(
    data: Mapping[str, Any], tbs: Any, currency: str, where: str = "programmes"
) -> list[Programme]:
    """The programmes of a parsed ``programmes.yaml``, checked against the rules ``tbs``."""
    out: list[Programme] = []
    errors: list[str] = []
    for item in data.get("programmes") or []:
        prog = Programme(
            code=str(item["code"]),
            name=dict(item.get("name") or {}),
            agency=str(item.get("agency") or ""),
            legal_basis=str(item.get("legal_basis") or ""),
            eligible_variable=str(item["eligible_variable"]),
            amount_variable=item.get("amount_variable"),
            amount_kind=str(item.get("amount_kind") or "benefit"),
            export_column=item.get("export_column"),
            one_off_variables=tuple(item.get("one_off_variables") or ()),
            threshold_parameter=item.get("threshold_parameter"),
            eligible_when=str(item.get("eligible_when") or "at_or_below"),
            currency=str(item.get("currency") or currency),
            references=tuple(item.get("references") or ()),
            description=dict(item.get("description") or {}),
            breakdown=_parts(item.get("breakdown")),
            member_breakdown=_parts(item.get("member_breakdown")),
            one_off_names=tuple(
                Part(str(v), dict(name or {})) for v, name in (item.get("one_off_names") or {}).items()
            ),
        )
        if prog.amount_kind not in AMOUNT_KINDS:
            errors.append(f"{prog.code}: amount_kind must be one of {AMOUNT_KINDS}")
        if prog.eligible_when not in ("at_or_below", "above"):
            errors.append(f"{prog.code}: eligible_when must be at_or_below or above")
        if prog.threshold_parameter and not _parameter_exists(tbs, prog.threshold_parameter):
            errors.append(f"{prog.code}: no parameter '{prog.threshold_parameter}'")
        for v in (prog.eligible_variable, prog.amount_variable, *prog.one_off_variables):
            if v and v not in tbs.variables:
                errors.append(f"{prog.code}: '{v}' is not a variable of the rules")
            elif v and tbs.variables[v].entity.key != "household":
                errors.append(f"{prog.code}: '{v}' is not a household variable")
        for entity, parts in (
            ("household", prog.breakdown + prog.one_off_names),
            ("person", prog.member_breakdown),
        ):
            for part in parts:
                if part.variable not in tbs.variables:
                    errors.append(f"{prog.code}: breakdown '{part.variable}' is not a variable of the rules")
                elif tbs.variables[part.variable].entity.key != entity:
                    errors.append(f"{prog.code}: breakdown '{part.variable}' is not a {entity} variable")
                if part.format not in PART_FORMATS:
                    errors.append(
                        f"{prog.code}: breakdown '{part.variable}': format must be one of {PART_FORMATS}"
                    )
        if prog.breakdown and not prog.amount_variable:
            errors.append(f"{prog.code}: a breakdown needs an amount_variable to add up to")
        stray = [p.variable for p in prog.one_off_names if p.variable not in prog.one_off_variables]
        if stray:
            errors.append(f"{prog.code}: one_off_names for variables that are not one-off: {stray}")
        out.append(prog)
    if errors:
        raise RulesError(f"{where}: " + "; ".join(errors))
    return out


def _parts(items: Any) -> tuple[Part, ...]:
    return tuple(
        Part(str(i["variable"]), dict(i.get("name") or {}), str(i.get("format") or "money"))
        for i in items or ()
    )


def _parameter_exists(tbs: Any, path: str) -> bool:
    node = tbs.parameters
    for part in path.split("."):
        children = getattr(node, "children", None)
        if not children or part not in children:
            return False
        node = children[part]
    return True


def rules_files(country: str) -> list[Path]:
    """Every file whose content changes what the rules compute (tests excluded)."""
    root = rules_dir(country)
    files = [
        *sorted(root.glob("*.yaml")),
        *sorted((root / "parameters").rglob("*.yaml")),
        *sorted((root / "variables").rglob("*.py")),
        *sorted(p for p in root.glob("*.py")),
        *sorted(GLUE_DIR.glob("*.py")),
    ]
    profile_dir = COUNTRIES_DIR / country.lower()
    files += [profile_dir / "profile.yaml", profile_dir / "questionnaire.yaml"]
    return files


def parameters_version(country: str, model: PmtModel) -> str:
    """Short stable hash naming the exact rules (country files, generic glue) and model used."""
    h = hashlib.sha256()
    base = COUNTRIES_DIR.parent
    for path in rules_files(country):
        try:
            rel = path.resolve().relative_to(base).as_posix()
        except ValueError:
            rel = path.name
        h.update(rel.encode("utf-8") + b"\0")
        h.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    h.update(f"model:{model.version}:{model.digest}".encode())
    return f"{country.upper()}-{h.hexdigest()[:10]}"


def normalise_variables(tbs: Any) -> Any:
    """Give every variable a ``possible_values`` attribute (None unless an Enum).

    OpenFisca only sets it on Enum variables although ``openfisca_core.types`` declares it on
    every variable; callers can then test ``variable.possible_values is not None``.
    """
    for variable in tbs.variables.values():
        if not hasattr(variable, "possible_values"):
            variable.possible_values = None
    return tbs


def build_tax_benefit_system(country: str, model: PmtModel) -> Any:
    """A fresh tax-benefit system for ``country`` with ``model`` as its ``pmt`` parameters."""
    profile = get_profile(country)
    tbs = TaxBenefitSystem(ENTITIES)
    for cls in generic_variables(profile):
        tbs.add_variable(cls)
    tbs.add_variable(pmt_score)
    for cls in _country_variable_classes(country):
        tbs.add_variable(cls)
    tbs.load_parameters(str(rules_dir(country) / "parameters"))
    install_model(tbs, model)
    return normalise_variables(tbs)


_cache: dict[tuple[str, str, str], Rules] = {}
_lock = threading.Lock()


def load_rules(country: str, pmt_model: str | Path | PmtModel | None = None) -> Rules:
    """The rules of ``country`` with ``pmt_model`` (default: the active model), cached.

    The returned tax-benefit system is shared: do not modify it (apply a reform or call
    ``tbs.clone()`` to change something).
    """
    model = resolve_model(country, pmt_model)
    key = (country.lower(), model.version, model.digest)
    with _lock:
        rules = _cache.get(key)
        if rules is None:
            tbs = build_tax_benefit_system(country, model)
            profile = get_profile(country)
            rules = Rules(
                country=profile.code,
                tbs=tbs,
                pmt_model=model,
                programmes=_load_programmes(country, tbs, profile.currency),
                parameters_version=parameters_version(country, model),
            )
            _cache[key] = rules
    return rules


def clear_cache() -> None:
    with _lock:
        _cache.clear()
