"""Loading and validating country profiles.

A profile folder contains:

``profile.yaml``
    code, names, currency, locales, area levels, phone format, identifier types and
    the person-level code lists (occupation, education, health coverage...).
``geography.csv``
    one row per administrative area: ``code,level,parent_code,name_fr,name_ar,milieu``.
    ``milieu`` is ``U``/``R`` for the lowest level where known, empty otherwise.
``questionnaire.yaml``
    the versioned household socio-economic questionnaire (see :class:`Questionnaire`).

Optional: ``synth.yaml`` and ``synth/`` (synthetic population inputs), ``rules/``
(OpenFisca package) and ``locale/``.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sijill.core import checkdigits

COUNTRIES_DIR = Path(__file__).resolve().parent


class ProfileError(ValueError):
    """A country profile is malformed."""


@dataclass(frozen=True)
class IdType:
    """A typed external identifier (e.g. CNIE, NINA, birth certificate number)."""

    code: str
    label: Mapping[str, str]
    pattern: str
    check: str = "none"  # none | luhn | verhoeff | mod97 ...
    normalise_upper: bool = True
    min_age: int | None = None  # e.g. CNIE is issued from 16 or 18

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern)

    def normalise(self, value: str) -> str:
        v = re.sub(r"[\s\-]", "", value.strip())
        return v.upper() if self.normalise_upper else v

    def validate(self, value: str) -> str | None:
        """Return None when valid, else a human-readable reason."""
        v = self.normalise(value)
        if not self.regex.fullmatch(v):
            return f"{self.code} '{value}' does not match the expected format {self.pattern}"
        if self.check != "none" and not checkdigits.is_valid(self.check, v):
            return f"{self.code} '{value}' has a wrong check digit"
        return None


@dataclass(frozen=True)
class Question:
    """One socio-economic variable of the household questionnaire."""

    name: str
    type: str  # int | decimal | bool | enum | text
    label: Mapping[str, str]
    required: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    choice_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    milieu: str | None = None  # None = both; "R" = rural only; "U" = urban only
    unit: str | None = None
    group: str = "other"
    help: Mapping[str, str] = field(default_factory=dict)

    def validate(self, value: Any) -> tuple[Any, str | None]:
        """Coerce ``value`` to the question's type. Returns (value, error)."""
        if value is None or (isinstance(value, str) and value.strip() == ""):
            if self.required:
                return None, "is required"
            return None, None
        try:
            if self.type == "int":
                if isinstance(value, bool):
                    raise ValueError
                f = float(value)
                if f != int(f):
                    return None, f"must be a whole number, got '{value}'"
                v: Any = int(f)
            elif self.type == "decimal":
                v = float(value)
            elif self.type == "bool":
                v = parse_bool(value)
            elif self.type == "enum":
                v = str(value).strip().upper()
                if v not in self.choices:
                    return None, f"'{value}' is not one of {', '.join(self.choices)}"
            else:
                v = str(value)
        except (TypeError, ValueError):
            return None, f"'{value}' is not a valid {self.type}"
        if self.type in ("int", "decimal"):
            if self.min is not None and v < self.min:
                return None, f"{v} is below the minimum {self.min:g}"
            if self.max is not None and v > self.max:
                return None, f"{v} is above the maximum {self.max:g}"
        return v, None


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in {"1", "true", "yes", "y", "oui", "o", "t"}:
        return True
    if s in {"0", "false", "no", "n", "non", "f"}:
        return False
    raise ValueError(value)


@dataclass(frozen=True)
class Questionnaire:
    """A versioned questionnaire: the household variables a country collects."""

    version: str
    effective_from: dt.date
    questions: tuple[Question, ...]

    @functools.cached_property
    def by_name(self) -> dict[str, Question]:
        return {q.name: q for q in self.questions}

    def validate(
        self, answers: Mapping[str, Any], milieu: str | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Validate a household's answers. Returns (clean answers, {field: error})."""
        clean: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for key in answers:
            if key not in self.by_name:
                errors[key] = f"unknown questionnaire variable '{key}' (questionnaire {self.version})"
        for q in self.questions:
            if q.milieu and not milieu:
                continue  # milieu unknown: a question of one milieu cannot be required
            if q.milieu and milieu and q.milieu != milieu:
                # Not asked in this milieu: a value, if given, is ignored as not applicable.
                if answers.get(q.name) not in (None, ""):
                    errors[q.name] = f"is only asked in {'rural' if q.milieu == 'R' else 'urban'} households"
                continue
            raw = answers.get(q.name)
            required = q.required
            value, err = q.validate(raw)
            if err and (required or raw not in (None, "")):
                errors[q.name] = err
            elif value is not None:
                clean[q.name] = value
        return clean, errors


@dataclass(frozen=True)
class AreaLevel:
    code: str  # e.g. region, province, commune
    label: Mapping[str, str]


@dataclass(frozen=True)
class Area:
    code: str
    level: str
    parent_code: str | None
    name_fr: str
    name_ar: str
    milieu: str | None


@dataclass(frozen=True)
class CountryProfile:
    code: str  # ISO 3166-1 alpha-2, upper case
    name: Mapping[str, str]
    currency: str
    locales: tuple[str, ...]
    default_language: str
    area_levels: tuple[AreaLevel, ...]
    phone_pattern: str
    phone_prefix: str
    id_types: Mapping[str, IdType]
    enums: Mapping[str, tuple[str, ...]]
    enum_labels: Mapping[str, Mapping[str, Mapping[str, str]]]
    path: Path
    raw: Mapping[str, Any]

    @property
    def lowest_level(self) -> str:
        return self.area_levels[-1].code

    @property
    def dedupe_id_types(self) -> tuple[str, ...]:
        """The identifier types a person holds one number of, for life, that duplicate
        detection compares (``dedupe: id_types`` in profile.yaml), in that order. A type whose
        numbers are only unique with another field (a birth-certificate act number) is left out.
        """
        return tuple((self.raw.get("dedupe") or {}).get("id_types") or ())

    @functools.cached_property
    def areas(self) -> tuple[Area, ...]:
        rows: list[Area] = []
        with open(self.path / "geography.csv", encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                rows.append(
                    Area(
                        code=r["code"],
                        level=r["level"],
                        parent_code=r.get("parent_code") or None,
                        name_fr=r["name_fr"],
                        name_ar=r["name_ar"],
                        milieu=(r.get("milieu") or None),
                    )
                )
        return tuple(rows)

    @functools.cached_property
    def area_by_code(self) -> dict[str, Area]:
        return {a.code: a for a in self.areas}

    @functools.cached_property
    def questionnaire(self) -> Questionnaire:
        return load_questionnaire(self.path / "questionnaire.yaml")

    def ancestors(self, code: str) -> list[Area]:
        """The area and its parents, lowest first."""
        out: list[Area] = []
        cur: str | None = code
        while cur:
            a = self.area_by_code[cur]
            out.append(a)
            cur = a.parent_code
        return out

    @functools.cached_property
    def phone_regex(self) -> re.Pattern[str]:
        return re.compile(self.phone_pattern)

    def normalise_phone(self, text: str) -> str | None:
        """The digits of a phone number written as in the country (``0612…``, ``+212 612…``,
        ``00212…``, ``612…``), in international form without the ``+``; None if it does not
        match the profile's phone pattern (the import's rule)."""
        v = re.sub(r"[\s\-.()/]", "", text or "")
        if v.startswith("00"):
            v = "+" + v[2:]
        elif v.startswith("0"):
            v = self.phone_prefix + v[1:]
        elif not v.startswith("+"):
            v = (self.phone_prefix + v) if not v.startswith(self.phone_prefix[1:]) else "+" + v
        return v[1:] if self.phone_regex.fullmatch(v) else None

    def label(self, enum: str, value: str, lang: str = "fr") -> str:
        return self.enum_labels.get(enum, {}).get(value, {}).get(lang, value)


def _labels(node: Any) -> dict[str, str]:
    if isinstance(node, str):
        return {"fr": node, "ar": node, "en": node}
    return dict(node or {})


def load_questionnaire(path: Path) -> Questionnaire:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions = []
    for q in data["questions"]:
        choices: list[str] = []
        choice_labels: dict[str, dict[str, str]] = {}
        for c in q.get("choices", []) or []:
            if isinstance(c, dict):
                choices.append(str(c["code"]))
                choice_labels[str(c["code"])] = _labels(c.get("label"))
            else:
                choices.append(str(c))
        questions.append(
            Question(
                name=q["name"],
                type=q["type"],
                label=_labels(q.get("label", q["name"])),
                required=bool(q.get("required", False)),
                min=q.get("min"),
                max=q.get("max"),
                choices=tuple(choices),
                choice_labels=choice_labels,
                milieu=q.get("milieu"),
                unit=q.get("unit"),
                group=q.get("group", "other"),
                help=_labels(q.get("help")) if q.get("help") else {},
            )
        )
    eff = data.get("effective_from")
    if isinstance(eff, str):
        eff = dt.date.fromisoformat(eff)
    return Questionnaire(version=str(data["version"]), effective_from=eff, questions=tuple(questions))


def _load(code: str) -> CountryProfile:
    path = COUNTRIES_DIR / code.lower()
    f = path / "profile.yaml"
    if not f.exists():
        raise ProfileError(f"no country profile '{code}' (looked for {f})")
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    id_types = {}
    for k, v in (data.get("id_types") or {}).items():
        id_types[k] = IdType(
            code=k,
            label=_labels(v.get("label", k)),
            pattern=v["pattern"],
            check=v.get("check", "none"),
            normalise_upper=v.get("normalise_upper", True),
            min_age=v.get("min_age"),
        )
    for t in (data.get("dedupe") or {}).get("id_types") or ():
        if t not in id_types:
            raise ProfileError(f"{f}: dedupe.id_types names {t!r}, which is not among id_types")
    enums: dict[str, tuple[str, ...]] = {}
    enum_labels: dict[str, dict[str, dict[str, str]]] = {}
    for name, items in (data.get("enums") or {}).items():
        codes = []
        enum_labels[name] = {}
        for it in items:
            if isinstance(it, dict):
                codes.append(str(it["code"]))
                enum_labels[name][str(it["code"])] = _labels(it.get("label"))
            else:
                codes.append(str(it))
        enums[name] = tuple(codes)
    return CountryProfile(
        code=str(data["code"]).upper(),
        name=_labels(data["name"]),
        currency=data["currency"],
        locales=tuple(data.get("locales", [])),
        default_language=data.get("default_language", "fr"),
        area_levels=tuple(
            AreaLevel(code=lv["code"], label=_labels(lv.get("label"))) for lv in data["area_levels"]
        ),
        phone_pattern=data["phone"]["pattern"],
        phone_prefix=data["phone"]["prefix"],
        id_types=id_types,
        enums=enums,
        enum_labels=enum_labels,
        path=path,
        raw=data,
    )


_cache: dict[str, CountryProfile] = {}


def get_profile(code: str) -> CountryProfile:
    key = code.lower()
    if key not in _cache:
        _cache[key] = _load(key)
    return _cache[key]


def available_countries() -> list[str]:
    return sorted(p.name for p in COUNTRIES_DIR.iterdir() if (p / "profile.yaml").exists())
