"""Validation of the households and persons tables, set-based with Polars.

Each rule is one vectorised check over a whole table and yields error rows with the
row number, the column, the offending value and a reason a person can read. The same
code validates a million-row import and a single household typed into a form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from sijill.core import checkdigits, enums
from sijill.countries import CountryProfile

ERROR_SCHEMA = {
    "table": pl.Utf8,
    "row": pl.Int64,
    "household_ref": pl.Utf8,
    "person_ref": pl.Utf8,
    "column": pl.Utf8,
    "value": pl.Utf8,
    "reason": pl.Utf8,
}

HOUSEHOLD_CORE = [
    "household_ref",
    "country",
    "area_code",
    "milieu",
    "address",
    "phone",
    "registered_on",
    "declarant_ref",
]
PERSON_COLUMNS = [
    "person_ref", "household_ref", "relationship", "given_name_lat", "family_name_lat", "given_name_ar",
    "family_name_ar", "father_name_lat", "father_name_ar", "mother_name_lat", "mother_name_ar", "sex", "birth_date", "birth_date_approx", "id_type", "id_value", "id2_type", "id2_value",
    "vital_status", "death_date", "disability_type", "disability_severity", "in_school", "school_sector",
    "school_level", "education_level", "literate", "father_deceased", "occupation", "health_coverage", "phone",
]  # fmt: skip
ID_PAIRS = [("id_type", "id_value"), ("id2_type", "id2_value")]
# Name columns by script: the person's names, then the parents' given names (optional).
NAME_LAT = ("given_name_lat", "family_name_lat", "father_name_lat", "mother_name_lat")
NAME_AR = ("given_name_ar", "family_name_ar", "father_name_ar", "mother_name_ar")

TRUE = ["1", "true", "yes", "y", "oui", "o", "t", "vrai"]
FALSE = ["0", "false", "no", "n", "non", "f", "faux"]
ARABIC = r"[\x{0600}-\x{06FF}]"
REF_MAX = 64


class HeaderError(ValueError):
    pass


@dataclass
class Existing:
    """What the registry already holds, for checks against it (all optional)."""

    person_refs: Callable[[pl.Series], pl.DataFrame] | None = None  # -> person_ref, household_ref
    # (id_type, value) -> + owner_person_id, owner_registry_id, owner_household_registry_id
    identifiers: Callable[[pl.DataFrame], pl.DataFrame] | None = None


# Identifiers of accepted persons already held by someone else in the registry: the person
# loads without them and the pair goes to identity review (see docs/identity.md).
HELD_SCHEMA = {
    "_row": pl.Int64,
    "household_ref": pl.Utf8,
    "person_ref": pl.Utf8,
    "column": pl.Utf8,
    "id_type": pl.Utf8,
    "value": pl.Utf8,
    "owner_person_id": pl.Int64,
    "owner_registry_id": pl.Utf8,
    "owner_household_registry_id": pl.Utf8,
    "reason": pl.Utf8,
}


def _empty_held() -> pl.DataFrame:
    return pl.DataFrame(schema=HELD_SCHEMA)


@dataclass
class Validated:
    households: pl.DataFrame  # typed rows of accepted households
    persons: pl.DataFrame  # typed rows of their members
    errors: pl.DataFrame
    rejected_households: pl.DataFrame  # raw rows, with _errors
    rejected_persons: pl.DataFrame
    # Identifiers of accepted persons held by someone else: not loaded, sent to review (HELD_SCHEMA).
    held: pl.DataFrame = field(default_factory=_empty_held)


@dataclass(frozen=True)
class AreaLimit:
    """Households may be loaded only in these areas (an account limited to some areas imports).

    ``codes``: the lowest-level area codes that may be loaded; ``label``: the account's areas, as
    the reason for a rejected row names them.
    """

    codes: frozenset[str]
    label: str


def _empty_errors() -> pl.DataFrame:
    return pl.DataFrame(schema=ERROR_SCHEMA)


class _Errors:
    """Collects rules as (mask, column, reason); evaluates every mask in one parallel pass."""

    def __init__(self, table: str, df: pl.DataFrame):
        self.table = table
        self.df = df
        self.rules: list[tuple[pl.Expr, str, pl.Expr, pl.Expr]] = []

    def add(self, mask: pl.Expr, column: str, reason: str | pl.Expr, value: pl.Expr | None = None) -> None:
        if value is None:
            value = pl.col(column).cast(pl.Utf8) if column in self.df.columns else pl.lit(None, pl.Utf8)
        reason_e = pl.lit(reason) if isinstance(reason, str) else reason
        self.rules.append((mask, column, reason_e, value))

    def frame(self) -> pl.DataFrame:
        if not self.rules:
            return _empty_errors()
        masks = self.df.select(
            m.fill_null(False).alias(f"_m{i}") for i, (m, _, _, _) in enumerate(self.rules)
        )
        hits = masks.sum().row(0)
        parts = []
        ref = pl.col("person_ref") if "person_ref" in self.df.columns else pl.lit(None, pl.Utf8)
        for i, (_, column, reason, value) in enumerate(self.rules):
            if not hits[i]:
                continue
            parts.append(
                self.df.filter(masks[f"_m{i}"]).select(
                    pl.lit(self.table).alias("table"),
                    pl.col("_row").alias("row"),
                    pl.col("household_ref").cast(pl.Utf8),
                    ref.cast(pl.Utf8).alias("person_ref"),
                    pl.lit(column).alias("column"),
                    value.cast(pl.Utf8).alias("value"),
                    reason.cast(pl.Utf8).alias("reason"),
                )
            )
        return pl.concat(parts) if parts else _empty_errors()


def _bool(col: str) -> pl.Expr:
    low = pl.col(col).str.to_lowercase()
    return pl.when(low.is_in(TRUE)).then(True).when(low.is_in(FALSE)).then(False).otherwise(None)


def _bad_bool(col: str) -> pl.Expr:
    return pl.col(col).is_not_null() & ~pl.col(col).str.to_lowercase().is_in(TRUE + FALSE)


def _date(col: str) -> pl.Expr:
    return pl.col(col).str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def _phone(col: str, profile: CountryProfile) -> pl.Expr:
    """Normalise a phone number to E.164 using the country's prefix (a leading 0 becomes the country prefix)."""
    p = pl.col(col).str.replace_all(r"[\s\-\.\(\)]", "")
    prefix = profile.phone_prefix
    return (
        pl.when(p.str.starts_with("00"))
        .then(pl.lit("+") + p.str.slice(2))
        .when(p.str.starts_with("+"))
        .then(p)
        .when(p.str.starts_with("0"))
        .then(pl.lit(prefix) + p.str.slice(1))
        .otherwise(pl.lit(prefix) + p)
    )


def _in(col: str, values: tuple[str, ...] | list[str]) -> pl.Expr:
    return pl.col(col).is_null() | pl.col(col).is_in(list(values))


def _ensure(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Text columns (categoricals back to text), with the missing ones added empty."""
    cats = [c for c, t in df.schema.items() if t == pl.Categorical]
    if cats:
        df = df.with_columns(pl.col(c).cast(pl.Utf8) for c in cats)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        df = df.with_columns(pl.lit(None, pl.Utf8).alias(c) for c in missing)
    return df


def check_headers(households: pl.DataFrame, persons: pl.DataFrame, profile: CountryProfile) -> None:
    q_names = [q.name for q in profile.questionnaire.questions]
    problems = []
    allowed_h = set(HOUSEHOLD_CORE) | set(q_names) | {"_row"}
    for c in households.columns:
        if c not in allowed_h:
            problems.append(
                f"households table: unknown column '{c}' (not a core column nor a variable of "
                f"questionnaire {profile.questionnaire.version})"
            )
    for c in ("household_ref", "area_code", "milieu"):
        if c not in households.columns:
            problems.append(f"households table: required column '{c}' is missing")
    allowed_p = set(PERSON_COLUMNS) | {"_row"}
    for c in persons.columns:
        if c not in allowed_p:
            problems.append(f"persons table: unknown column '{c}'")
    for c in ("person_ref", "household_ref", "relationship", "sex", "birth_date"):
        if c not in persons.columns:
            problems.append(f"persons table: required column '{c}' is missing")
    if problems:
        raise HeaderError("; ".join(problems))


def _ref_checks(e: _Errors, col: str, label: str) -> None:
    e.add(pl.col(col).is_null(), col, f"{label} is required")
    e.add(pl.col(col).str.len_chars() > REF_MAX, col, f"{label} is longer than {REF_MAX} characters")
    dup = pl.col(col).is_not_null() & (pl.len().over(col) > 1)
    rows = pl.col("_row").cast(pl.Utf8).implode().over(col).list.join(", ")
    e.add(dup, col, pl.lit(f"{label} appears more than once in the file (rows ") + rows + pl.lit(")"))


def validate_households(
    raw: pl.DataFrame, profile: CountryProfile, today: dt.date, area_limit: AreaLimit | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Row-level checks of the households table. Returns (typed frame, errors).

    ``area_limit``: a known area outside it rejects the household.
    """
    qn = profile.questionnaire
    df = _ensure(raw, HOUSEHOLD_CORE + [q.name for q in qn.questions])
    areas = pl.DataFrame(
        {
            "area_code": [a.code for a in profile.areas if a.level == profile.lowest_level],
            "_area_milieu": [a.milieu for a in profile.areas if a.level == profile.lowest_level],
        },
        schema={"area_code": pl.Utf8, "_area_milieu": pl.Utf8},
    )
    df = df.with_columns(
        pl.col("milieu").str.to_uppercase(),
        pl.col("country").str.to_uppercase(),
        _date("registered_on").alias("_registered_on"),
        _phone("phone", profile).alias("_phone"),
    ).join(areas.with_columns(pl.lit(True).alias("_area_ok")), on="area_code", how="left")
    # A commune's milieu is the default; a household may differ (an urban centre in a rural commune).
    df = df.with_columns(pl.coalesce("milieu", "_area_milieu").alias("milieu"))
    e = _Errors("households", df)
    e.add(
        pl.col("country").is_not_null() & (pl.col("country") != profile.code),
        "country",
        f"this registry runs country {profile.code}",
    )
    e.add(pl.col("area_code").is_null(), "area_code", "area_code is required")
    e.add(
        pl.col("area_code").is_not_null() & pl.col("_area_ok").is_null(),
        "area_code",
        pl.lit("unknown ") + pl.lit(profile.lowest_level) + pl.lit(f" code for {profile.code}"),
    )
    e.add(
        pl.col("milieu").is_null() & pl.col("_area_milieu").is_null() & pl.col("_area_ok").is_not_null(),
        "milieu",
        "milieu is required (U for urban, R for rural): the commune's milieu is not known",
    )
    if area_limit is not None:
        e.add(
            pl.col("_area_ok").is_not_null() & ~pl.col("area_code").is_in(sorted(area_limit.codes)),
            "area_code",
            f"is outside the areas of the account importing the file ({area_limit.label})",
        )
    e.add(~_in("milieu", enums.MILIEU), "milieu", "milieu must be U (urban) or R (rural)")
    e.add(pl.col("address").str.len_chars() > 255, "address", "address is longer than 255 characters")
    e.add(
        pl.col("phone").is_not_null() & ~pl.col("_phone").str.contains(profile.phone_pattern),
        "phone",
        f"not a valid phone number for {profile.code} (expected like {profile.phone_prefix}…)",
    )
    e.add(
        pl.col("registered_on").is_not_null() & pl.col("_registered_on").is_null(),
        "registered_on",
        "not a date in the form YYYY-MM-DD",
    )
    e.add(pl.col("_registered_on") > pl.lit(today), "registered_on", "is in the future")

    socio_cols: list[pl.Expr] = []
    for q in qn.questions:
        c = q.name
        v = pl.col(c)
        applicable = pl.lit(True) if not q.milieu else (pl.col("milieu") == q.milieu)
        if q.milieu:
            other = "rural" if q.milieu == "R" else "urban"
            e.add(
                pl.col("milieu").is_in(list(enums.MILIEU)) & ~applicable & v.is_not_null(),
                c,
                f"is only asked in {other} households",
            )
        if q.required:
            e.add(applicable & v.is_null(), c, "is required")
        if q.type in ("int", "decimal"):
            num = v.cast(pl.Float64, strict=False)
            e.add(v.is_not_null() & num.is_null(), c, "is not a number")
            if q.type == "int":
                e.add(num.is_not_null() & (num != num.floor()), c, "must be a whole number")
            if q.min is not None:
                e.add(num < q.min, c, f"is below the minimum {q.min:g}")
            if q.max is not None:
                e.add(num > q.max, c, f"is above the maximum {q.max:g}")
            typed = num.cast(pl.Int64, strict=False) if q.type == "int" else num
        elif q.type == "bool":
            e.add(_bad_bool(c), c, "must be yes/no (1/0, true/false, oui/non)")
            typed = _bool(c)
        elif q.type == "enum":
            up = v.str.to_uppercase()
            e.add(v.is_not_null() & ~up.is_in(list(q.choices)), c, f"must be one of {', '.join(q.choices)}")
            typed = up
        else:
            typed = v
        socio_cols.append(pl.when(applicable).then(typed).otherwise(None).alias(c))
    errors = e.frame()
    out = df.select(
        "_row",
        "household_ref",
        "area_code",
        "milieu",
        pl.col("address").fill_null(""),
        pl.when(pl.col("phone").is_null()).then(pl.lit("")).otherwise(pl.col("_phone")).alias("phone"),
        pl.col("_registered_on").fill_null(pl.lit(today)).alias("registered_on"),
        "declarant_ref",
        pl.struct(socio_cols).struct.json_encode().alias("socio")
        if socio_cols
        else pl.lit("{}").alias("socio"),
    )
    return out, errors


def normalise_ids(df: pl.DataFrame, profile: CountryProfile) -> pl.DataFrame:
    """Upper-case identifier types; values without spaces or dashes (upper-cased where the type says)."""
    upper_types = [k for k, t in profile.id_types.items() if t.normalise_upper]
    for tcol, vcol in ID_PAIRS:
        norm = f"_{vcol}"
        df = df.with_columns(
            pl.col(tcol).str.to_uppercase().alias(tcol),
            pl.col(vcol).str.replace_all(r"[\s\-]", "").alias(norm),
        )
        df = df.with_columns(
            pl.when(pl.col(tcol).is_in(upper_types))
            .then(pl.col(norm).str.to_uppercase())
            .otherwise(pl.col(norm))
            .alias(norm)
        )
    return df


def _id_checks(e: _Errors, df: pl.DataFrame, profile: CountryProfile) -> pl.DataFrame:
    """Identifier format and check digits; returns df with normalised _id / _id2 values."""
    df = normalise_ids(df, profile)
    e.df = df
    for tcol, vcol in ID_PAIRS:
        norm = f"_{vcol}"
        e.add(
            pl.col(tcol).is_not_null() & pl.col(vcol).is_null(),
            vcol,
            f"{vcol} is required when {tcol} is given",
        )
        e.add(
            pl.col(tcol).is_null() & pl.col(vcol).is_not_null(),
            tcol,
            f"{tcol} is required when {vcol} is given",
        )
        known = list(profile.id_types)
        e.add(
            ~_in(tcol, known),
            tcol,
            f"unknown identifier type for {profile.code} (expected {', '.join(known)})",
        )
        for code, it in profile.id_types.items():
            is_t = pl.col(tcol) == code
            fmt_ok = pl.col(norm).str.contains(f"^(?:{it.pattern})$")
            e.add(
                is_t & pl.col(norm).is_not_null() & ~fmt_ok,
                vcol,
                f"not a valid {code} (expected format {it.pattern})",
            )
            if it.check != "none":
                sub = df.filter(
                    is_t & pl.col(norm).is_not_null() & fmt_ok & pl.col(norm).str.contains(r"^\d+$")
                )
                bad_rows: list[int] = []
                if sub.height:
                    sub = sub.with_columns(pl.col(norm).str.len_chars().alias("_len"))
                    for (length,), grp in sub.group_by(["_len"]):
                        mat = checkdigits.digit_matrix(grp[norm].to_list(), int(length))  # type: ignore[arg-type]
                        ok = checkdigits.valid_matrix(it.check, mat)
                        bad_rows.extend(grp["_row"].to_numpy()[~ok].tolist())
                if bad_rows:
                    e.add(pl.col("_row").is_in(bad_rows) & is_t, vcol, f"{code} check digit is wrong")
            if it.min_age is not None:
                e.add(
                    is_t & (pl.col("_age") < it.min_age),
                    vcol,
                    f"a {code} is only issued from age {it.min_age}",
                )
    return df


def validate_persons(
    raw: pl.DataFrame, profile: CountryProfile, today: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Row-level checks of the persons table. Returns (typed frame, errors)."""
    df = _ensure(raw, PERSON_COLUMNS)
    upper = ["relationship", "sex", "vital_status", "disability_type", "disability_severity", "school_sector",
             "school_level", "education_level", "occupation", "health_coverage"]  # fmt: skip
    df = df.with_columns(pl.col(c).str.to_uppercase() for c in upper)
    full = _date("birth_date")
    year = pl.col("birth_date").str.extract(r"^(\d{4})$", 1).cast(pl.Int32, strict=False)
    df = df.with_columns(
        pl.when(full.is_not_null()).then(full).otherwise(pl.date(year, 7, 1)).alias("_birth"),
        pl.when(full.is_not_null())
        .then(pl.lit("D"))
        .when(year.is_not_null())
        .then(pl.lit("Y"))
        .alias("_precision"),
        _date("death_date").alias("_death"),
        _phone("phone", profile).alias("_phone"),
    ).with_columns(((pl.lit(today) - pl.col("_birth")).dt.total_days() / 365.2425).floor().alias("_age"))
    e = _Errors("persons", df)
    e.add(pl.col("relationship").is_null(), "relationship", "relationship to the head is required")
    e.add(
        ~_in("relationship", enums.RELATIONSHIP),
        "relationship",
        f"must be one of {', '.join(enums.RELATIONSHIP)}",
    )
    for c in (*NAME_LAT, *NAME_AR):
        e.add(pl.col(c).str.len_chars() > 100, c, "is longer than 100 characters")
    for c in NAME_AR:
        e.add(
            pl.col(c).is_not_null() & ~pl.col(c).str.contains(ARABIC), c, "must be written in Arabic script"
        )
    for c in NAME_LAT:
        e.add(pl.col(c).str.contains(ARABIC), c, "must be written in Latin script")
    has_lat = pl.col("given_name_lat").is_not_null() & pl.col("family_name_lat").is_not_null()
    has_ar = pl.col("given_name_ar").is_not_null() & pl.col("family_name_ar").is_not_null()
    e.add(
        ~has_lat & ~has_ar,
        "given_name_lat",
        "a given name and a family name are required, in Latin or Arabic script",
    )
    e.add(pl.col("sex").is_null(), "sex", "sex is required (M or F)")
    e.add(~_in("sex", enums.SEX), "sex", "sex must be M or F")
    e.add(
        pl.col("birth_date").is_null(),
        "birth_date",
        "birth_date is required (YYYY-MM-DD, or YYYY if only the year is known)",
    )
    e.add(
        pl.col("birth_date").is_not_null() & pl.col("_birth").is_null(),
        "birth_date",
        "not a date in the form YYYY-MM-DD or YYYY",
    )
    e.add(pl.col("_birth") > pl.lit(today), "birth_date", "is in the future")
    e.add(pl.col("_birth") < pl.date(1900, 1, 1), "birth_date", "is before 1900")
    e.add(_bad_bool("birth_date_approx"), "birth_date_approx", "must be yes/no")
    df = _id_checks(e, df, profile)
    e.add(~_in("vital_status", enums.VITAL_STATUS), "vital_status", "must be ALIVE or DECEASED")
    deceased = (pl.col("vital_status") == "DECEASED").fill_null(False)
    e.add(deceased & pl.col("death_date").is_null(), "death_date", "is required for a deceased person")
    e.add(
        ~deceased & pl.col("death_date").is_not_null(),
        "death_date",
        "is only allowed when vital_status is DECEASED",
    )
    e.add(
        pl.col("death_date").is_not_null() & pl.col("_death").is_null(),
        "death_date",
        "not a date in the form YYYY-MM-DD",
    )
    e.add(pl.col("_death") < pl.col("_birth"), "death_date", "is before the birth date")
    e.add(pl.col("_death") > pl.lit(today), "death_date", "is in the future")
    e.add(
        ~_in("disability_type", enums.DISABILITY_TYPE),
        "disability_type",
        f"must be one of {', '.join(enums.DISABILITY_TYPE)}",
    )
    e.add(
        ~_in("disability_severity", enums.DISABILITY_SEVERITY),
        "disability_severity",
        f"must be one of {', '.join(enums.DISABILITY_SEVERITY)}",
    )
    disabled = pl.col("disability_type").is_not_null() & (pl.col("disability_type") != "NONE")
    e.add(
        disabled & (pl.col("disability_severity").is_null() | (pl.col("disability_severity") == "NONE")),
        "disability_severity",
        "is required (MILD to COMPLETE) when a disability type is given",
    )
    e.add(_bad_bool("in_school"), "in_school", "must be yes/no")
    in_school = _bool("in_school").fill_null(False)
    e.add(~_in("school_sector", enums.SCHOOL_SECTOR), "school_sector", "must be PUBLIC or PRIVATE")
    e.add(
        ~_in("school_level", enums.SCHOOL_LEVEL),
        "school_level",
        f"must be one of {', '.join(enums.SCHOOL_LEVEL)}",
    )
    e.add(in_school & pl.col("school_sector").is_null(), "school_sector", "is required when in_school is yes")
    e.add(in_school & pl.col("school_level").is_null(), "school_level", "is required when in_school is yes")
    e.add(
        ~in_school & pl.col("school_sector").is_not_null(),
        "school_sector",
        "must be empty when the person is not in school",
    )
    e.add(
        ~in_school & pl.col("school_level").is_not_null(),
        "school_level",
        "must be empty when the person is not in school",
    )
    e.add(
        ~_in("education_level", enums.EDUCATION_LEVEL),
        "education_level",
        f"must be one of {', '.join(enums.EDUCATION_LEVEL)}",
    )
    e.add(_bad_bool("literate"), "literate", "must be yes/no")
    e.add(_bad_bool("father_deceased"), "father_deceased", "must be yes/no")
    for enum in ("occupation", "health_coverage"):
        codes = profile.enums.get(enum, ())
        e.add(
            ~_in(enum, codes), enum, f"unknown {enum} code for {profile.code} (expected {', '.join(codes)})"
        )
    e.add(
        pl.col("phone").is_not_null() & ~pl.col("_phone").str.contains(profile.phone_pattern),
        "phone",
        f"not a valid phone number for {profile.code} (expected like {profile.phone_prefix}…)",
    )
    errors = e.frame()
    typed = df.select(
        "_row",
        "person_ref",
        "household_ref",
        "relationship",
        *[pl.col(c).fill_null("") for c in (*NAME_LAT, *NAME_AR)],
        "sex",
        pl.col("_birth").alias("birth_date"),
        pl.col("_precision").alias("birth_date_precision"),
        _bool("birth_date_approx").fill_null(False).alias("birth_date_approx"),
        "id_type",
        pl.col("_id_value").alias("id_value"),
        "id2_type",
        pl.col("_id2_value").alias("id2_value"),
        pl.col("vital_status").fill_null("ALIVE"),
        pl.col("_death").alias("death_date"),
        pl.col("disability_type").fill_null("NONE"),
        pl.col("disability_severity").fill_null("NONE"),
        _bool("in_school").alias("in_school"),
        *[pl.col(c).fill_null("") for c in ("school_sector", "school_level", "education_level")],
        _bool("literate").alias("literate"),
        _bool("father_deceased").alias("father_deceased"),
        pl.col("occupation").fill_null(""),
        pl.col("health_coverage").fill_null(""),
        pl.when(pl.col("phone").is_null()).then(pl.lit("")).otherwise(pl.col("_phone")).alias("phone"),
        pl.col("_age").alias("age"),
    )
    return typed, errors


def _cross_checks(hh: pl.DataFrame, pp: pl.DataFrame, today: dt.date) -> pl.DataFrame:
    """Rules across the rows of a household: heads, ages against the head, the declarant."""
    parts: list[pl.DataFrame] = []
    e = _Errors("persons", pp)
    heads = pp.filter(pl.col("relationship") == "HEAD")
    head_count = heads.group_by("household_ref").agg(
        pl.len().alias("_heads"), pl.col("_row").cast(pl.Utf8).str.join(", ").alias("_head_rows")
    )
    multi = head_count.filter(pl.col("_heads") > 1)
    e.add(
        (pl.col("relationship") == "HEAD") & pl.col("household_ref").is_in(multi["household_ref"].implode()),
        "relationship",
        "the household has more than one HEAD",
    )
    # Ages relative to the head (one head only).
    head_birth = heads.group_by("household_ref").agg(
        pl.col("birth_date").first().alias("_head_birth"), pl.len().alias("_n")
    )
    head_birth = head_birth.filter(pl.col("_n") == 1).drop("_n")
    pj = pp.join(head_birth, on="household_ref", how="left").with_columns(
        ((pl.col("birth_date") - pl.col("_head_birth")).dt.total_days() / 365.2425).alias("_younger")
    )
    e2 = _Errors("persons", pj)
    rel = pl.col("relationship")
    e2.add(
        (rel == "HEAD") & (pl.col("age") < 15),
        "birth_date",
        "the head of household must be at least 15 years old",
    )
    e2.add((rel == "SPOUSE") & (pl.col("age") < 15), "birth_date", "a spouse must be at least 15 years old")
    e2.add(
        rel.is_in(["CHILD", "STEPCHILD"]) & (pl.col("_younger") < 12),
        "birth_date",
        "a child must be at least 12 years younger than the head",
    )
    e2.add(
        (rel == "GRANDCHILD") & (pl.col("_younger") < 24),
        "birth_date",
        "a grandchild must be at least 24 years younger than the head",
    )
    e2.add(
        (rel == "PARENT") & (pl.col("_younger") > -12),
        "birth_date",
        "a parent must be at least 12 years older than the head",
    )
    parts += [e.frame(), e2.frame()]
    # Household-level: no members, no head, declarant.
    members = pp.group_by("household_ref").agg(pl.len().alias("_members"))
    hj = hh.join(members, on="household_ref", how="left").join(head_count, on="household_ref", how="left")
    decl = pp.select(
        pl.col("household_ref"),
        pl.col("person_ref").alias("declarant_ref"),
        pl.col("age").alias("_decl_age"),
        pl.lit(True).alias("_decl_member"),
    )
    hj = hj.join(decl, on=["household_ref", "declarant_ref"], how="left")
    eh = _Errors("households", hj)
    eh.add(pl.col("_members").is_null(), "household_ref", "the household has no member in the persons table")
    eh.add(
        pl.col("_members").is_not_null() & pl.col("_heads").is_null(),
        "household_ref",
        "the household has no member with relationship HEAD",
    )
    eh.add(
        pl.col("declarant_ref").is_not_null() & pl.col("_decl_member").is_null(),
        "declarant_ref",
        "the declarant must be a member of this household",
    )
    eh.add(pl.col("_decl_age") < 18, "declarant_ref", "the declarant must be an adult (18 or older)")
    parts.append(eh.frame())
    return pl.concat(parts)


def _id_errors(rows: pl.DataFrame, tail: pl.Expr) -> pl.DataFrame:
    """Error rows for identifiers: "<type> <value>" followed by ``tail``."""
    return rows.select(
        pl.lit("persons").alias("table"),
        pl.col("_row").alias("row"),
        "household_ref",
        "person_ref",
        "column",
        "value",
        (pl.col("id_type") + pl.lit(" ") + pl.col("value") + tail).alias("reason"),
    )


def _id_rows(pp: pl.DataFrame) -> pl.DataFrame:
    """One row per identifier given: _row, household_ref, person_ref, id_type, value, column."""
    return pl.concat(
        [
            pp.select(
                "_row",
                "household_ref",
                "person_ref",
                pl.col(t).alias("id_type"),
                pl.col(v).alias("value"),
                pl.lit(v).alias("column"),
            )
            for t, v in ID_PAIRS
        ]
    ).filter(pl.col("id_type").is_not_null() & pl.col("value").is_not_null())


def _identifier_checks(pp: pl.DataFrame, existing: Existing) -> pl.DataFrame:
    """Identifiers given twice in the file, and person refs already in the registry.

    An identifier already held by someone in the registry is not an error: see
    :func:`held_identifiers`.
    """
    ids = _id_rows(pp)
    parts = []
    dup = ids.filter(pl.len().over("id_type", "value") > 1).with_columns(
        pl.col("_row").cast(pl.Utf8).implode().over("id_type", "value").list.join(", ").alias("_rows")
    )
    if dup.height:
        parts.append(
            _id_errors(
                dup,
                pl.lit(" is given to more than one person in the file (rows ")
                + pl.col("_rows")
                + pl.lit(")"),
            )
        )
    if existing.person_refs is not None and pp.height:
        known = existing.person_refs(pp["person_ref"].drop_nulls())
        if known.height:
            hit = pp.join(known.rename({"household_ref": "_known_hh"}), on="person_ref", how="inner")
            parts.append(
                hit.select(
                    pl.lit("persons").alias("table"),
                    pl.col("_row").alias("row"),
                    "household_ref",
                    "person_ref",
                    pl.lit("person_ref").alias("column"),
                    pl.col("person_ref").alias("value"),
                    (
                        pl.lit("person_ref is already in the registry, in household ") + pl.col("_known_hh")
                    ).alias("reason"),
                )
            )
    return pl.concat(parts) if parts else _empty_errors()


def global_checks(
    households: pl.DataFrame, persons: pl.DataFrame, profile: CountryProfile, existing: Existing
) -> pl.DataFrame:
    """Rules that look across the whole file or into the registry.

    References required, not too long and not repeated; persons whose household is not in
    the file; identifiers given twice in the file. Only a few narrow columns are touched, so
    this runs once over the whole file, and every other rule then runs chunk by chunk.
    Identifiers already held in the registry are found by :func:`held_identifiers`.
    """
    hh = _ensure(
        households.select([c for c in ("_row", "household_ref") if c in households.columns]),
        ["household_ref"],
    )
    eh = _Errors("households", hh)
    _ref_checks(eh, "household_ref", "household_ref")
    cols = ["_row", "person_ref", "household_ref", "id_type", "id_value", "id2_type", "id2_value"]
    pp = _ensure(persons.select([c for c in cols if c in persons.columns]), cols)
    ep = _Errors("persons", pp)
    _ref_checks(ep, "person_ref", "person_ref")
    ep.add(pl.col("household_ref").is_null(), "household_ref", "household_ref is required")
    ep.add(
        pl.col("household_ref").is_not_null()
        & ~pl.col("household_ref").is_in(hh["household_ref"].drop_nulls().unique().implode()),
        "household_ref",
        "no household with this household_ref in the households table",
    )
    return pl.concat([eh.frame(), ep.frame(), _identifier_checks(_id_frame(pp, profile), existing)])


def _id_frame(persons: pl.DataFrame, profile: CountryProfile) -> pl.DataFrame:
    cols = ["_row", "person_ref", "household_ref", "id_type", "id_value", "id2_type", "id2_value"]
    pp = _ensure(persons.select([c for c in cols if c in persons.columns]), cols)
    return (
        normalise_ids(pp, profile)
        .drop("id_value", "id2_value")
        .rename({"_id_value": "id_value", "_id2_value": "id2_value"})
    )


def held_identifiers(persons: pl.DataFrame, profile: CountryProfile, existing: Existing) -> pl.DataFrame:
    """Identifiers of the file already held by a person of the registry (:data:`HELD_SCHEMA`).

    Such a row is not rejected: the person loads without that identifier, which stays with
    its holder, and the two records go to identity review with the reason. One lookup over
    the whole file, like :func:`global_checks`.
    """
    if existing.identifiers is None or persons.height == 0:
        return _empty_held()
    ids = _id_rows(_id_frame(persons, profile))
    if ids.height == 0:
        return _empty_held()
    owners = existing.identifiers(ids.select("id_type", "value").unique())
    if owners.height == 0:
        return _empty_held()
    where = (
        pl.when(pl.col("owner_household_registry_id").is_null())
        .then(pl.lit(", who is not an active member of any household"))
        .otherwise(pl.lit(" in household ") + pl.col("owner_household_registry_id"))
    )
    reason = (
        pl.col("id_type")
        + pl.lit(" ")
        + pl.col("value")
        + pl.lit(" is already held by person ")
        + pl.col("owner_registry_id")
        + where
    )
    return (
        ids.join(owners, on=["id_type", "value"], how="inner")
        .with_columns(reason.alias("reason"))
        .select(list(HELD_SCHEMA))
        .cast(HELD_SCHEMA)  # type: ignore[arg-type]
        .sort("_row", "column")
    )


def validate(
    households: pl.DataFrame,
    persons: pl.DataFrame,
    profile: CountryProfile,
    *,
    today: dt.date | None = None,
    existing: Existing | None = None,
) -> Validated:
    """Validate both tables. A household is accepted only if it and all its members are valid."""
    check_headers(households, persons, profile)
    existing = existing or Existing()
    found = global_checks(households, persons, profile, existing)
    held = held_identifiers(persons, profile, existing)
    return validate_chunk(households, persons, profile, today=today, found=found, held=held)


def validate_chunk(
    households: pl.DataFrame,
    persons: pl.DataFrame,
    profile: CountryProfile,
    *,
    found: pl.DataFrame,
    today: dt.date | None = None,
    held: pl.DataFrame | None = None,
    area_limit: AreaLimit | None = None,
) -> Validated:
    """Validate whole households (all their members are in ``persons``).

    ``found`` holds the errors of :func:`global_checks` for these rows (or more), ``held``
    the identifiers of :func:`held_identifiers` (or more): accepted persons are returned
    without them, and ``Validated.held`` lists those of accepted persons. ``area_limit``:
    households in an area outside it are rejected.
    """
    today = today or dt.date.today()
    hh, herr = validate_households(households, profile, today, area_limit)
    pp, perr = validate_persons(persons, profile, today)
    xerr = _cross_checks(hh, pp, today)
    mine = found.filter(
        ((pl.col("table") == "households") & pl.col("row").is_in(hh["_row"].implode()))
        | ((pl.col("table") == "persons") & pl.col("row").is_in(pp["_row"].implode()))
    )
    errors = pl.concat([mine, herr, perr, xerr]).unique(maintain_order=True)
    bad_refs = errors.select("household_ref").drop_nulls().unique()
    bad_list = bad_refs["household_ref"].implode()
    ok_h = hh.filter(pl.col("household_ref").is_not_null() & ~pl.col("household_ref").is_in(bad_list))
    ok_p = pp.filter(pl.col("household_ref").is_in(ok_h["household_ref"].implode()))
    kept = _empty_held()
    if held is not None and held.height and ok_p.height:
        kept = held.join(ok_p.select("_row", "person_ref"), on=["_row", "person_ref"], how="semi")
        for tcol, vcol in ID_PAIRS:
            rows = kept.filter(pl.col("column") == vcol)["_row"].implode()
            ok_p = ok_p.with_columns(
                pl.when(pl.col("_row").is_in(rows)).then(None).otherwise(pl.col(c)).alias(c)
                for c in (tcol, vcol)
            )
    # Rows rejected only because of another row of their household say so.
    own_h = errors.filter(pl.col("table") == "households").select("row").unique()
    own_p = errors.filter(pl.col("table") == "persons").select("row").unique()
    first_bad = (
        errors.sort("table", "row")
        .group_by("household_ref", maintain_order=True)
        .agg(pl.first("table").alias("_t"), pl.first("row").alias("_r"))
    )
    because = (
        pl.lit("rejected with its household: see ")
        + pl.col("_t")
        + pl.lit(" row ")
        + pl.col("_r").cast(pl.Utf8)
    )
    hh_collateral = (
        hh.filter(pl.col("household_ref").is_in(bad_list) & ~pl.col("_row").is_in(own_h["row"].implode()))
        .join(first_bad, on="household_ref", how="left")
        .select(
            pl.lit("households").alias("table"),
            pl.col("_row").alias("row"),
            "household_ref",
            pl.lit(None, pl.Utf8).alias("person_ref"),
            pl.lit("").alias("column"),
            pl.lit(None, pl.Utf8).alias("value"),
            because.alias("reason"),
        )
    )
    pp_collateral = (
        pp.filter(pl.col("household_ref").is_in(bad_list) & ~pl.col("_row").is_in(own_p["row"].implode()))
        .join(first_bad, on="household_ref", how="left")
        .select(
            pl.lit("persons").alias("table"),
            pl.col("_row").alias("row"),
            "household_ref",
            "person_ref",
            pl.lit("").alias("column"),
            pl.lit(None, pl.Utf8).alias("value"),
            because.alias("reason"),
        )
    )
    errors = pl.concat([errors, hh_collateral, pp_collateral]).sort("table", "row")
    summary = errors.group_by("table", "row").agg(
        (
            pl.when(pl.col("column") != "").then(pl.col("column") + pl.lit(": ")).otherwise(pl.lit(""))
            + pl.col("reason")
        )
        .str.join("; ")
        .alias("_errors")
    )
    rej_h = households.join(
        summary.filter(pl.col("table") == "households").drop("table").rename({"row": "_row"}),
        on="_row",
        how="inner",
    )
    rej_p = persons.join(
        summary.filter(pl.col("table") == "persons").drop("table").rename({"row": "_row"}),
        on="_row",
        how="inner",
    )
    return Validated(
        households=ok_h,
        persons=ok_p,
        errors=errors,
        rejected_households=rej_h,
        rejected_persons=rej_p,
        held=kept,
    )
