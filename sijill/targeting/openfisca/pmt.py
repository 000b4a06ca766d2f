"""Versioned proxy-means-test (PMT) models: file format, loader, writer, and their place in
the tax-benefit system.

A model is one YAML file (``countries/<cc>/rules/pmt/<version>.yaml``)::

    version: MA-PMT-UNOFFICIAL-1        # unique; stored with every score
    country: MA
    label: {fr: ..., ar: ..., en: ...}  # shown to staff and citizens
    unofficial: true                    # true = not the government's formula
    source: free text (where the coefficients come from)
    effective_from: 1900-01-01          # date of the parameter values (optional)
    decimals: 7                         # the score is rounded to this many decimals
    milieu_constant: {U: 9.825, R: 8.695}
    region_constant:                    # by milieu, then by top-level area code
      U: {MA-01: 0.107, ...}
      R: {MA-01: 0.420, ...}
    features:                           # by milieu: variable name -> coefficient and labels
      U:
        pmt_household_size:
          coef: -0.177
          label: {fr: ..., ar: ..., en: ...}
          note: optional free text
    fit: {...}                          # optional: how the model was estimated (sijill pmt fit)

``score = round(Σ coef·feature + region_constant[milieu][region] + milieu_constant[milieu], decimals)``

Each feature name is a household variable of the country's rules. The model becomes the
``pmt`` parameter subtree (:func:`model_parameters`), so a different model is either a tax-
benefit system built with another model or a reform that swaps that subtree
(:func:`pmt_reform`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MILIEUX = ("U", "R")
DEFAULT_EFFECTIVE_FROM = dt.date(1900, 1, 1)


class PmtModelError(ValueError):
    """A PMT model file is malformed or does not fit the rules."""


@dataclass(frozen=True)
class PmtFeature:
    name: str
    coef: float
    label: Mapping[str, str] = field(default_factory=dict)
    note: str | None = None


@dataclass(frozen=True)
class PmtModel:
    version: str
    label: Mapping[str, str]
    unofficial: bool
    source: str
    decimals: int
    milieu_constant: Mapping[str, float]
    region_constant: Mapping[str, Mapping[str, float]]
    features: Mapping[str, Mapping[str, PmtFeature]]
    country: str | None = None
    effective_from: dt.date = DEFAULT_EFFECTIVE_FROM
    fit: Mapping[str, Any] = field(default_factory=dict)
    documentation: str | None = None

    def feature_names(self, milieu: str | None = None) -> list[str]:
        """Feature variable names of one milieu, or of both (urban first), without duplicates."""
        names: list[str] = []
        for m in MILIEUX if milieu is None else (milieu,):
            for name in self.features.get(m, {}):
                if name not in names:
                    names.append(name)
        return names

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": self.version,
            "country": self.country,
            "label": dict(self.label),
            "unofficial": self.unofficial,
            "source": self.source,
            "effective_from": self.effective_from.isoformat(),
            "decimals": self.decimals,
        }
        if self.documentation:
            out["documentation"] = self.documentation
        out["milieu_constant"] = {m: float(v) for m, v in self.milieu_constant.items()}
        out["region_constant"] = {
            m: {k: float(v) for k, v in d.items()} for m, d in self.region_constant.items()
        }
        feats: dict[str, dict[str, Any]] = {}
        for m, fs in self.features.items():
            feats[m] = {}
            for name, f in fs.items():
                item: dict[str, Any] = {"coef": float(f.coef)}
                if f.label:
                    item["label"] = dict(f.label)
                if f.note:
                    item["note"] = f.note
                feats[m][name] = item
        out["features"] = feats
        if self.fit:
            out["fit"] = dict(self.fit)
        if out["country"] is None:
            del out["country"]
        return out

    @functools.cached_property
    def digest(self) -> str:
        """Hash of the model's content (not of its file's formatting); computed once per model."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=True, allow_unicode=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _labels(node: Any) -> dict[str, str]:
    if node is None:
        return {}
    if isinstance(node, str):
        return {"fr": node, "ar": node, "en": node}
    return {str(k): str(v) for k, v in dict(node).items()}


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PmtModelError(f"{where}: expected a number, got {value!r}")
    return float(value)


def model_from_dict(data: Mapping[str, Any], where: str = "PMT model") -> PmtModel:
    """Build and validate a model from its YAML mapping."""
    if not isinstance(data, Mapping):
        raise PmtModelError(f"{where}: expected a mapping")
    for key in ("version", "decimals", "milieu_constant", "features"):
        if key not in data:
            raise PmtModelError(f"{where}: missing '{key}'")
    version = str(data["version"])
    milieu_constant = {
        str(m): _float(v, f"{where} milieu_constant.{m}") for m, v in data["milieu_constant"].items()
    }
    region_constant: dict[str, dict[str, float]] = {}
    for m, d in (data.get("region_constant") or {}).items():
        region_constant[str(m)] = {
            str(k): _float(v, f"{where} region_constant.{m}.{k}") for k, v in (d or {}).items()
        }
    features: dict[str, dict[str, PmtFeature]] = {}
    for m, fs in data["features"].items():
        features[str(m)] = {}
        for name, spec in (fs or {}).items():
            if not isinstance(spec, Mapping) or "coef" not in spec:
                raise PmtModelError(f"{where} features.{m}.{name}: expected a mapping with 'coef'")
            features[str(m)][str(name)] = PmtFeature(
                name=str(name),
                coef=_float(spec["coef"], f"{where} features.{m}.{name}.coef"),
                label=_labels(spec.get("label")),
                note=spec.get("note"),
            )
    for m in (*milieu_constant, *region_constant, *features):
        if m not in MILIEUX:
            raise PmtModelError(f"{where}: unknown milieu '{m}' (expected U or R)")
    for m in features:
        if m not in milieu_constant:
            raise PmtModelError(f"{where}: milieu '{m}' has features but no milieu_constant")
    eff = data.get("effective_from") or DEFAULT_EFFECTIVE_FROM
    if isinstance(eff, str):
        eff = dt.date.fromisoformat(eff)
    decimals = int(data["decimals"])
    if not 0 <= decimals <= 12:
        raise PmtModelError(f"{where}: decimals must be between 0 and 12")
    return PmtModel(
        version=version,
        label=_labels(data.get("label") or version),
        unofficial=bool(data.get("unofficial", False)),
        source=str(data.get("source") or ""),
        decimals=decimals,
        milieu_constant=milieu_constant,
        region_constant=region_constant,
        features=features,
        country=(str(data["country"]).upper() if data.get("country") else None),
        effective_from=eff,
        fit=dict(data.get("fit") or {}),
        documentation=data.get("documentation"),
    )


def load_model(path: str | Path) -> PmtModel:
    """Read a model file."""
    p = Path(path)
    data = yaml.safe_load(p.read_text(encoding="utf-8"))
    model = model_from_dict(data, where=str(p))
    if p.stem != model.version:
        raise PmtModelError(f"{p}: the file name must be the model's version ('{model.version}.yaml')")
    return model


def write_model(model: PmtModel, path: str | Path) -> Path:
    """Write ``model`` as YAML (the format :func:`load_model` reads). Returns the path.

    A directory as ``path`` means ``<path>/<version>.yaml``.
    """
    p = Path(path)
    if p.is_dir():
        p = p / f"{model.version}.yaml"
    header = f"# PMT model {model.version}. Written by sijill; see sijill/targeting/openfisca/pmt.py for the format.\n"
    if model.unofficial:
        header += "# UNOFFICIAL: not the government's formula.\n"
    text = yaml.safe_dump(model.to_dict(), sort_keys=False, allow_unicode=True, width=110)
    p.write_text(header + text, encoding="utf-8")
    return p


# ---------------------------------------------------------------- as OpenFisca parameters


def _dated(value: Any, model: PmtModel) -> dict[str, Any]:
    return {"values": {model.effective_from.isoformat(): {"value": value}}}


def model_parameters(model: PmtModel) -> Any:
    """The model as the ``pmt`` :class:`~openfisca_core.parameters.ParameterNode`.

    Layout: ``pmt.decimals``, ``pmt.milieu_constant.<U|R>``,
    ``pmt.region_constant.<U|R>.<area code>``, ``pmt.coefficients.<U|R>.<feature>``, and
    ``pmt.unofficial``. The version is the node's ``metadata['version']``.
    """
    from openfisca_core.parameters import ParameterNode

    data: dict[str, Any] = {
        "description": f"PMT model {model.version}: {model.label.get('en') or model.label.get('fr', '')}",
        "metadata": {"version": model.version, "unofficial": model.unofficial, "source": model.source},
        "decimals": _dated(model.decimals, model),
        "unofficial": _dated(model.unofficial, model),
        "milieu_constant": {m: _dated(v, model) for m, v in model.milieu_constant.items()},
        # Empty nodes are left out: OpenFisca would read an empty mapping as a parameter.
        "region_constant": {
            m: {code: _dated(v, model) for code, v in model.region_constant[m].items()}
            for m in MILIEUX
            if model.region_constant.get(m)
        },
        "coefficients": {
            m: {name: _dated(f.coef, model) for name, f in model.features[m].items()}
            for m in MILIEUX
            if model.features.get(m)
        },
    }
    for key in ("region_constant", "coefficients"):
        if not data[key]:
            del data[key]
    return ParameterNode("pmt", data=data)


def install_model(tbs: Any, model: PmtModel) -> None:
    """Put ``model`` into ``tbs`` as its ``pmt`` parameter subtree (replacing any previous one)."""
    check_model_fits(tbs, model)
    node = model_parameters(model)
    tbs.parameters.children.pop("pmt", None)
    if hasattr(tbs.parameters, "pmt"):
        delattr(tbs.parameters, "pmt")
    tbs.parameters.add_child("pmt", node)
    tbs._parameters_at_instant_cache = {}


def check_model_fits(tbs: Any, model: PmtModel) -> None:
    """Every feature of ``model`` must be a household variable of ``tbs``."""
    errors = []
    for name in model.feature_names():
        variable = tbs.variables.get(name)
        if variable is None:
            errors.append(f"'{name}' is not a variable of the rules")
        elif variable.entity.key != "household":
            errors.append(f"'{name}' is a {variable.entity.key} variable, not a household variable")
        elif variable.value_type not in (int, float, bool):
            errors.append(f"'{name}' is not numeric")
    if errors:
        raise PmtModelError(f"PMT model {model.version}: " + "; ".join(errors))


def pmt_reform(model: PmtModel) -> Any:
    """A Reform class that replaces the ``pmt`` subtree of a tax-benefit system with ``model``."""
    from openfisca_core.reforms import Reform

    class PmtModelReform(Reform):  # type: ignore[misc]
        name = f"pmt-{model.version}"
        pmt_model = model

        def apply(self) -> None:
            def modify(parameters: Any) -> Any:
                parameters.children.pop("pmt", None)
                if hasattr(parameters, "pmt"):
                    delattr(parameters, "pmt")
                parameters.add_child("pmt", model_parameters(model))
                return parameters

            check_model_fits(self, model)
            self.modify_parameters(modifier_function=modify)

    return PmtModelReform
