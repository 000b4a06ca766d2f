"""Loading ``countries/<code>/synth.yaml`` and its data files into a :class:`SynthConfig`.

The engine knows nothing about any country: every number, list and name comes from here.
Loading validates the configuration against the country profile (area codes, identifier
types, code lists, questionnaire variables and their codes), so that a typo in
synth.yaml fails early with a clear message rather than producing unimportable files.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from sijill.core import enums as core_enums
from sijill.countries.base import CountryProfile, Question, get_profile
from sijill.synth.models import AgeTable, Choice, Lin, StepTable, SynthConfigError, ur

FArray = npt.NDArray[np.float64]
IArray = npt.NDArray[np.int64]


# ----------------------------------------------------------------------------- names


@dataclass(frozen=True)
class NameTable:
    """A list of names: Arabic form (may be empty), Latin spellings, weights, eras.

    ``spellings`` is flat: entry ``e`` owns ``spellings[off[e] : off[e] + n[e]]``, the
    main spelling first, then its known variants.
    """

    ar: tuple[str | None, ...]
    spellings: tuple[str, ...]
    off: IArray
    n: IArray
    weight: FArray
    era: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.ar)

    @property
    def has_arabic(self) -> bool:
        return any(self.ar)

    @classmethod
    def load(cls, path: Path) -> NameTable:
        if not path.exists():
            raise SynthConfigError(f"name list not found: {path}")
        ar: list[str | None] = []
        spellings: list[str] = []
        off: list[int] = []
        n: list[int] = []
        weight: list[float] = []
        era: list[str] = []
        with open(path, encoding="utf-8", newline="") as fh:
            for i, row in enumerate(csv.DictReader(fh), start=2):
                latin = (row.get("latin") or "").strip()
                if not latin:
                    raise SynthConfigError(f"{path.name} row {i}: empty latin spelling")
                w = float(row.get("weight") or 1.0)
                if w <= 0:
                    continue
                variants = [v.strip() for v in (row.get("variants") or "").split("|") if v.strip()]
                forms = [latin] + [v for v in dict.fromkeys(variants) if v != latin]
                ar.append((row.get("ar") or "").strip() or None)
                off.append(len(spellings))
                n.append(len(forms))
                spellings.extend(forms)
                weight.append(w)
                era.append((row.get("era") or "").strip())
        if not ar:
            raise SynthConfigError(f"{path.name}: no names")
        return cls(tuple(ar), tuple(spellings), np.array(off), np.array(n), np.array(weight), tuple(era))


@dataclass(frozen=True)
class NamesConfig:
    given_male: NameTable
    given_female: NameTable
    family: NameTable
    clean_variant_rate: float
    family_spelling_shared: float
    # Probability that a person's record names the father / the mother (given name).
    parents_named: tuple[float, float]
    cohort_starts: IArray  # birth year at which each cohort starts
    cohort_names: tuple[str, ...]
    # Cumulative sampling weights per cohort, one row per cohort.
    cum_male: FArray
    cum_female: FArray


def _cohort_cum(
    table: NameTable, cohorts: tuple[str, ...], mult: Mapping[str, Mapping[str, float]]
) -> FArray:
    rows = []
    for c in cohorts:
        m = np.array([float(mult.get(e, {}).get(c, 1.0)) if e else 1.0 for e in table.era])
        w = table.weight * m
        cum = np.cumsum(w)
        rows.append(cum / cum[-1])
    return np.vstack(rows)


# ----------------------------------------------------------------------------- geography


@dataclass(frozen=True)
class GeoConfig:
    communes: tuple[str, ...]  # commune codes
    commune_names: tuple[str, ...]
    commune_region: tuple[str, ...]  # top-level ancestor code
    cell_region: tuple[str, ...]  # one cell per (region, milieu) with communes
    cell_rural: npt.NDArray[np.bool_]
    cell_weight: FArray  # household weight of the cell
    cell_cum: FArray  # flat: cell index + within-cell cumulative commune weight
    cell_commune: IArray  # flat: commune index per entry of cell_cum


# ----------------------------------------------------------------------------- household vars


@dataclass(frozen=True)
class VarSpec:
    name: str
    question: Question
    kind: str  # choice | logit | count | amount | feature
    choice: Choice | None = None
    lin: Lin | None = None  # logit predictor, count lambda or amount log-mean
    any: Lin | None = None  # hurdle
    base: int = 0
    sd: float = 0.0
    round: float = 1.0
    min_positive: float = 0.0
    feature: str | None = None
    only_if: tuple[str, ...] = ()


@dataclass(frozen=True)
class IdSpec:
    type: str
    prob: AgeTable
    kind: str  # digits | prefixed | number_year | alnum
    digits: int
    check: str = "none"
    first_nonzero: bool = False
    prefixes: tuple[str, ...] = ()
    suffix_letter: bool = False

    @property
    def capacity(self) -> int:
        if self.kind == "digits":
            payload = self.digits - (1 if self.check != "none" else 0)
            return 9 * 10 ** (payload - 1) if self.first_nonzero else 10**payload
        if self.kind == "prefixed":
            return len(self.prefixes) * 10**self.digits
        if self.kind == "number_year":
            return 10**self.digits - 1
        raise AssertionError(self.kind)


@dataclass(frozen=True)
class PhoneFormat:
    prefix: str
    digits: int
    weight: float


@dataclass(frozen=True)
class AddressTemplate:
    parts: tuple[tuple[str, str | None], ...]  # (literal, placeholder or None)
    weight: float


@dataclass(frozen=True)
class SynthConfig:
    country: str
    profile: CountryProfile
    path: Path
    raw: Mapping[str, Any]
    reference_date: dt.date
    registration_window: tuple[dt.date, dt.date]
    names: NamesConfig
    geo: GeoConfig
    size_probs: dict[str, FArray]  # "U"/"R" -> probs of sizes 1..K
    composition: Mapping[str, Any]
    consumption: Mapping[str, Any]
    consumption_lin: Lin
    consumption_intercept: tuple[float, float]
    region_effect: dict[str, tuple[float, float]]
    noise_sd: tuple[float, float]
    centre: float
    schooling: Mapping[str, Any]
    enrolment: AgeTable
    private_lin: Lin
    education: Mapping[str, Any]
    edu_cohort: StepTable
    edu_female: StepTable
    literacy: Mapping[str, Any]
    occ_codes: tuple[str, ...]
    occ_choice: dict[str, Choice]  # "M"/"F"
    occ_age: tuple[IArray, IArray]
    occ_groups: dict[str, tuple[str, ...]]
    occ_min_age: int
    occ_student: str | None
    coverage: Choice
    disability_lin: Lin
    disability_types: tuple[tuple[str, ...], FArray]
    disability_severity: tuple[tuple[str, ...], FArray]
    ids: tuple[IdSpec, ...]
    phone_formats: tuple[PhoneFormat, ...]
    phone_prob: AgeTable
    phone_lc_coef: float
    household_phone_prob: float
    address: Mapping[str, Any]
    address_templates: dict[str, tuple[AddressTemplate, ...]]
    address_lists: dict[str, tuple[str, ...]]
    household_vars: tuple[VarSpec, ...]
    arabic_variants: tuple[tuple[str, str], ...]
    dup_settings: Mapping[str, Any]


def _req(d: Mapping[str, Any], key: str, what: str) -> Any:
    if not isinstance(d, Mapping) or key not in d:
        raise SynthConfigError(
            f"synth.yaml: missing '{what}.{key}'" if what else f"synth.yaml: missing '{key}'"
        )
    return d[key]


def _date(v: Any, what: str) -> dt.date:
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        raise SynthConfigError(f"synth.yaml: {what} is not a date: {v!r}") from None


def _top(profile: CountryProfile, code: str) -> str:
    return profile.ancestors(code)[-1].code


def _load_geo(
    profile: CountryProfile, raw: Mapping[str, Any], base: Path, sizes: dict[str, FArray]
) -> GeoConfig:
    geo = _req(raw, "geography", "")
    regions = _req(geo, "regions", "geography")
    lowest = profile.lowest_level
    top_level = profile.area_levels[0].code
    communes = [a for a in profile.areas if a.level == lowest]
    if not communes:
        raise SynthConfigError(f"{profile.code}: geography.csv has no area of level '{lowest}'")
    for code in regions:
        a = profile.area_by_code.get(code)
        if a is None or a.level != top_level:
            raise SynthConfigError(
                f"synth.yaml geography.regions: '{code}' is not a {top_level} of {profile.code}"
            )
    cweights: dict[str, float] = {}
    if geo.get("commune_weights"):
        with open(base / geo["commune_weights"], encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                cweights[r["code"]] = float(r["weight"])
    mean_size = {m: float((np.arange(1, len(p) + 1) * p).sum()) for m, p in sizes.items()}
    commune_region = [_top(profile, a.code) for a in communes]
    cells_region: list[str] = []
    cells_rural: list[bool] = []
    cells_w: list[float] = []
    flat_cum: list[float] = []
    flat_commune: list[int] = []
    for region in sorted(regions, key=lambda c: list(profile.area_by_code).index(c)):
        spec = regions[region]
        persons = float(_req(spec, "persons", f"geography.regions.{region}"))
        urban = float(_req(spec, "urban", f"geography.regions.{region}"))
        for rural in (False, True):
            m = "R" if rural else "U"
            share = (1.0 - urban) if rural else urban
            if share <= 0:
                continue
            idx = [
                i for i, a in enumerate(communes) if commune_region[i] == region and (a.milieu in (None, m))
            ]
            if not idx:
                continue  # no commune of this milieu in the region: its weight is dropped
            w = np.array([cweights.get(communes[i].code, 1.0) for i in idx], dtype=np.float64)
            cum = np.cumsum(w) / w.sum()
            cell = len(cells_region)
            cells_region.append(region)
            cells_rural.append(rural)
            cells_w.append(persons * share / mean_size[m])
            flat_cum.extend(cell + cum)
            flat_commune.extend(idx)
    if not cells_region:
        raise SynthConfigError("synth.yaml geography: no region has any commune")
    cw = np.array(cells_w)
    return GeoConfig(
        communes=tuple(a.code for a in communes),
        commune_names=tuple(a.name_fr for a in communes),
        commune_region=tuple(commune_region),
        cell_region=tuple(cells_region),
        cell_rural=np.array(cells_rural),
        cell_weight=cw / cw.sum(),
        cell_cum=np.array(flat_cum),
        cell_commune=np.array(flat_commune, dtype=np.int64),
    )


def _parse_var(name: str, spec: Mapping[str, Any], q: Question) -> VarSpec:
    what = f"household.{name}"
    kind = _req(spec, "kind", what)
    only_if = tuple(spec.get("only_if") or ())
    if kind == "choice":
        if q.type != "enum":
            raise SynthConfigError(f"{what}: kind 'choice' needs an enum question, '{name}' is {q.type}")
        ch = Choice.parse(_req(spec, "choices", what), f"{what}.choices")
        bad = set(ch.codes) - set(q.choices)
        if bad:
            raise SynthConfigError(f"{what}: codes {sorted(bad)} are not choices of the questionnaire")
        return VarSpec(name, q, kind, choice=ch, only_if=only_if)
    if kind == "logit":
        if q.type != "bool":
            raise SynthConfigError(f"{what}: kind 'logit' needs a bool question, '{name}' is {q.type}")
        lin = Lin.parse({"intercept": spec.get("intercept", 0.0), "coef": spec.get("coef") or {}}, what)
        return VarSpec(name, q, kind, lin=lin, only_if=only_if)
    if kind == "count":
        if q.type not in ("int", "decimal"):
            raise SynthConfigError(f"{what}: kind 'count' needs a numeric question")
        return VarSpec(
            name,
            q,
            kind,
            lin=Lin.parse(spec.get("lambda"), f"{what}.lambda"),
            any=Lin.parse(spec["any"], f"{what}.any") if spec.get("any") is not None else None,
            base=int(spec.get("base", 0)),
            only_if=only_if,
        )
    if kind == "amount":
        if q.type not in ("int", "decimal"):
            raise SynthConfigError(f"{what}: kind 'amount' needs a numeric question")
        return VarSpec(
            name,
            q,
            kind,
            lin=Lin.parse(_req(spec, "log_mean", what), f"{what}.log_mean"),
            any=Lin.parse(spec["any"], f"{what}.any") if spec.get("any") is not None else None,
            sd=float(spec.get("sd", 0.0)),
            round=float(spec.get("round", 1.0)),
            min_positive=float(spec.get("min_positive", 0.0)),
            only_if=only_if,
        )
    if kind == "feature":
        return VarSpec(name, q, kind, feature=str(_req(spec, "feature", what)), only_if=only_if)
    raise SynthConfigError(f"{what}: unknown kind '{kind}' (choice, logit, count, amount, feature)")


def _parse_id(spec: Mapping[str, Any], profile: CountryProfile) -> IdSpec:
    t = str(_req(spec, "type", "ids[]"))
    if t not in profile.id_types:
        raise SynthConfigError(f"synth.yaml ids: '{t}' is not an identifier type of {profile.code}")
    gen = _req(spec, "generator", f"ids.{t}")
    kind = str(_req(gen, "kind", f"ids.{t}.generator"))
    if kind not in ("digits", "prefixed", "number_year"):
        raise SynthConfigError(f"ids.{t}: unknown generator kind '{kind}'")
    check = str(gen.get("check", "none"))
    if check not in ("none", "verhoeff", "luhn"):
        raise SynthConfigError(f"ids.{t}: unknown check '{check}'")
    return IdSpec(
        type=t,
        prob=AgeTable.parse(_req(spec, "prob", f"ids.{t}"), f"ids.{t}.prob"),
        kind=kind,
        digits=int(_req(gen, "digits", f"ids.{t}.generator")),
        check=check,
        first_nonzero=bool(gen.get("first_nonzero", False)),
        prefixes=tuple(str(p) for p in gen.get("prefixes") or ()),
        suffix_letter=bool(gen.get("suffix_letter", False)),
    )


def _parse_template(t: str, lists: Mapping[str, Any]) -> tuple[tuple[str, str | None], ...]:
    import string

    parts: list[tuple[str, str | None]] = []
    for lit, field_name, _spec, _conv in string.Formatter().parse(t):
        if (
            field_name is not None
            and field_name not in ("num", "num2", "commune", "region")
            and field_name not in lists
        ):
            raise SynthConfigError(f"address template '{t}': unknown placeholder {{{field_name}}}")
        parts.append((lit, field_name))
    return tuple(parts)


@functools.lru_cache(maxsize=8)
def load_config(country: str) -> SynthConfig:
    profile = get_profile(country)
    base = profile.path
    f = base / "synth.yaml"
    if not f.exists():
        raise SynthConfigError(f"no synthetic population parameters for '{country}' (looked for {f})")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(f.read_text(encoding="utf-8"), Loader=loader) or {}  # a safe loader

    # names
    nm = _req(raw, "names", "")
    cohorts = _req(nm, "cohorts", "names")
    cohort_starts = np.array([int(c[0]) for c in cohorts])
    cohort_names = tuple(str(c[1]) for c in cohorts)
    mult = nm.get("era_multipliers") or {}
    gm = NameTable.load(base / _req(nm, "given_male", "names"))
    gf = NameTable.load(base / _req(nm, "given_female", "names"))
    fam = NameTable.load(base / _req(nm, "family", "names"))
    names = NamesConfig(
        given_male=gm,
        given_female=gf,
        family=fam,
        clean_variant_rate=float(nm.get("clean_variant_rate", 0.0)),
        family_spelling_shared=float(nm.get("family_spelling_shared", 1.0)),
        parents_named=(
            float((nm.get("parents_named") or {}).get("father", 0.0)),
            float((nm.get("parents_named") or {}).get("mother", 0.0)),
        ),
        cohort_starts=cohort_starts,
        cohort_names=cohort_names,
        cum_male=_cohort_cum(gm, cohort_names, mult),
        cum_female=_cohort_cum(gf, cohort_names, mult),
    )

    # sizes + geography
    hs = _req(raw, "household_size", "")
    sizes = {}
    for m in ("U", "R"):
        p = np.array(_req(hs, m, "household_size"), dtype=np.float64)
        if (p < 0).any() or p.sum() <= 0:
            raise SynthConfigError(f"household_size.{m}: bad probabilities")
        sizes[m] = p / p.sum()
    geo = _load_geo(profile, raw, base, sizes)

    # consumption
    cons = _req(raw, "consumption", "")
    region_effect = {str(k): ur(v, f"consumption.region.{k}") for k, v in (cons.get("region") or {}).items()}
    for k in region_effect:
        if k not in profile.area_by_code:
            raise SynthConfigError(f"consumption.region: unknown area '{k}'")

    # schooling / education
    sch = _req(raw, "schooling", "")
    edu = _req(raw, "education", "")
    school_levels = set(profile.enums.get("school_level", core_enums.SCHOOL_LEVEL))
    for row in _req(sch, "levels_by_age", "schooling"):
        if row[2] not in school_levels:
            raise SynthConfigError(f"schooling.levels_by_age: unknown school level '{row[2]}'")
    for k in edu.get("min_age") or {}:
        if k not in core_enums.EDUCATION_LEVEL:
            raise SynthConfigError(f"education.min_age: unknown level '{k}'")
    if len(_req(edu, "cutpoints", "education")) != len(core_enums.EDUCATION_LEVEL) - 1:
        raise SynthConfigError(f"education.cutpoints: need {len(core_enums.EDUCATION_LEVEL) - 1} values")

    # occupation
    occ = _req(raw, "occupation", "")
    occ_enum = set(profile.enums.get("occupation", ()))
    occ_codes: list[str] = []
    occ_by_sex: dict[str, dict[str, Any]] = {"M": {}, "F": {}}
    lo, hi = [], []
    for code, c in _req(occ, "choices", "occupation").items():
        if code not in occ_enum:
            raise SynthConfigError(f"occupation.choices: '{code}' is not in the profile's enums.occupation")
        occ_codes.append(code)
        w = _req(c, "weight", f"occupation.choices.{code}")
        for s in ("M", "F"):
            occ_by_sex[s][code] = {
                "weight": _req(w, s, f"occupation.choices.{code}.weight"),
                "coef": c.get("coef") or {},
            }
        age = c.get("age") or [0, 200]
        lo.append(int(age[0]))
        hi.append(int(age[1]))
    student = occ.get("student")
    if student is not None and student not in occ_enum:
        raise SynthConfigError(f"occupation.student: '{student}' is not an occupation code")
    groups = {str(g): tuple(v) for g, v in (occ.get("groups") or {}).items()}
    for g, codes in groups.items():
        bad = set(codes) - occ_enum
        if bad:
            raise SynthConfigError(f"occupation.groups.{g}: unknown codes {sorted(bad)}")

    cov = Choice.parse(_req(raw, "health_coverage", ""), "health_coverage")
    bad = set(cov.codes) - set(profile.enums.get("health_coverage", ()))
    if bad:
        raise SynthConfigError(
            f"health_coverage: codes {sorted(bad)} are not in the profile's enums.health_coverage"
        )

    dis = _req(raw, "disability", "")
    dtypes = dis.get("types") or {}
    dsev = dis.get("severity") or {}
    if set(dtypes) - set(core_enums.DISABILITY_TYPE) - {"NONE"} or set(dsev) - set(
        core_enums.DISABILITY_SEVERITY
    ):
        raise SynthConfigError("disability: unknown type or severity code")

    ids = tuple(_parse_id(s, profile) for s in _req(raw, "ids", ""))

    ph = _req(raw, "phones", "")
    formats = tuple(
        PhoneFormat(str(x["prefix"]), int(x["digits"]), float(x.get("weight", 1.0)))
        for x in _req(ph, "formats", "phones")
    )
    for pf in formats:
        sample = pf.prefix + "0" * pf.digits
        if not profile.phone_regex.fullmatch(sample):
            raise SynthConfigError(
                f"phones: format {pf.prefix}+{pf.digits} digits does not match {profile.phone_pattern}"
            )

    addr = raw.get("address") or {}
    lists = {k: tuple(str(x) for x in v) for k, v in (addr.get("lists") or {}).items()}
    templates: dict[str, tuple[AddressTemplate, ...]] = {}
    for m in ("U", "R"):
        templates[m] = tuple(
            AddressTemplate(_parse_template(str(t["template"]), lists), float(t.get("weight", 1.0)))
            for t in addr.get(m) or ()
        )

    # household questionnaire
    qn = profile.questionnaire
    hv = _req(raw, "household", "")
    hvars: list[VarSpec] = []
    for name, spec in hv.items():
        q = qn.by_name.get(name)
        if q is None:
            raise SynthConfigError(
                f"synth.yaml household.{name}: not a variable of questionnaire {qn.version}"
            )
        hvars.append(_parse_var(name, spec, q))
    missing = [q.name for q in qn.questions if q.required and q.name not in hv]
    if missing:
        raise SynthConfigError(
            f"synth.yaml household: no model for required questionnaire variables {missing}"
        )

    dup = raw.get("duplicates") or {}
    arabic_variants = tuple((str(a), str(b)) for a, b in dup.get("arabic_variants") or ())

    rw = raw.get("registration_window") or [raw.get("reference_date"), raw.get("reference_date")]
    ref = _date(_req(raw, "reference_date", ""), "reference_date")
    comp = _req(raw, "composition", "")
    return SynthConfig(
        country=profile.code,
        profile=profile,
        path=base,
        raw=raw,
        reference_date=ref,
        registration_window=(_date(rw[0], "registration_window"), _date(rw[1], "registration_window")),
        names=names,
        geo=geo,
        size_probs=sizes,
        composition=comp,
        consumption=cons,
        consumption_lin=Lin.parse({"coef": cons.get("coef") or {}}, "consumption"),
        consumption_intercept=ur(_req(cons, "intercept", "consumption"), "consumption.intercept"),
        region_effect=region_effect,
        noise_sd=ur(_req(cons, "noise_sd", "consumption"), "consumption.noise_sd"),
        centre=float(cons.get("centre", 0.0)),
        schooling=sch,
        enrolment=AgeTable.parse(_req(sch, "enrolment", "schooling"), "schooling.enrolment"),
        private_lin=Lin.parse(sch.get("private"), "schooling.private"),
        education=edu,
        edu_cohort=StepTable.parse(_req(edu, "cohort", "education"), "education.cohort"),
        edu_female=StepTable.parse(_req(edu, "female", "education"), "education.female"),
        literacy=_req(raw, "literacy", ""),
        occ_codes=tuple(occ_codes),
        occ_choice={s: Choice.parse(occ_by_sex[s], f"occupation.{s}") for s in ("M", "F")},
        occ_age=(np.array(lo), np.array(hi)),
        occ_groups=groups,
        occ_min_age=int(occ.get("min_age", 15)),
        occ_student=student,
        coverage=cov,
        disability_lin=Lin.parse(_req(dis, "prob", "disability"), "disability.prob"),
        disability_types=(tuple(dtypes), np.array(list(dtypes.values()), dtype=np.float64)),
        disability_severity=(tuple(dsev), np.array(list(dsev.values()), dtype=np.float64)),
        ids=ids,
        phone_formats=formats,
        phone_prob=AgeTable.parse(_req(ph, "prob", "phones"), "phones.prob"),
        phone_lc_coef=float(ph.get("lc_coef", 0.0)),
        household_phone_prob=float(ph.get("household_phone_prob", 0.0)),
        address=addr,
        address_templates=templates,
        address_lists=lists,
        household_vars=tuple(hvars),
        arabic_variants=arabic_variants,
        dup_settings=dup,
    )
