"""The person frame that record linkage compares (:mod:`sijill.identity.linkage`).

One row per person, built set-based with Polars from the registry (:func:`registry_persons`)
or from an import file (:func:`from_import_files`), then :func:`canonical` adds the
matching columns:

- ``given_key``, ``family_key``, ``given_ar_norm``, ``family_ar_norm`` and the other name
  keys of :func:`sijill.identity.names.name_keys`;
- ``birth_year``, ``birth_month``, ``birth_day``: month and day are null for a date known
  only to the year (precision ``Y``, or an import value like ``1975``); ``birth_date_key``,
  the full date as text (null when only the year is known), for term frequencies;
- ``sex``, ``commune`` (the household's area), ``phone`` (the person's own; empty → null);
- ``household_id`` and ``co_members``: the sorted given-name keys of the other members of
  the person's household, so a household registered twice is recognised member by member;
- ``father_key``, ``mother_key`` (and ``parents_key``, both): the parents' given names keyed
  as the person's own given name; ``father_norm``, ``mother_norm``: the same spelled out;
- ``id_1``, ``id_2``: the person's numbers of the country's ``dedupe.id_types`` (profile.yaml),
  in that order (null when the person holds none of that type), and ``id_1_odd``,
  ``id_1_even``: the first one's characters at odd and at even positions, for blocking.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sijill.core import arrowdb
from sijill.countries import get_profile
from sijill.identity.names import name_keys

NAME_COLUMNS = ("given_name_lat", "family_name_lat", "given_name_ar", "family_name_ar")
PARENT_COLUMNS = ("father_name_lat", "father_name_ar", "mother_name_lat", "mother_name_ar")
# Columns carried through to the pairs, to name the records in exports and on screen.
CARRIED = ("registry_id", "external_ref", "changeset_id")
# One column per identifier type compared (profile.yaml ``dedupe.id_types``, at most two).
ID_COLUMNS = ("id_1", "id_2")


def id_types(country: str) -> tuple[str, ...]:
    """The identifier types behind :data:`ID_COLUMNS`, in order."""
    types = get_profile(country).dedupe_id_types
    if len(types) > len(ID_COLUMNS):
        raise ValueError(f"{country}: dedupe.id_types lists more than {len(ID_COLUMNS)} types")
    return types


def _pivot_ids(ids: pl.DataFrame, types: tuple[str, ...]) -> pl.DataFrame:
    """``unique_id, id_type, value`` rows → one row per person with ``id_1``, ``id_2``.

    A person holding two numbers of one type (left by a merge) keeps the smallest.
    """
    out = ids.select("unique_id").unique()
    for col, t in zip(ID_COLUMNS, types, strict=False):
        one = ids.filter(pl.col("id_type") == t).group_by("unique_id").agg(pl.col("value").min().alias(col))
        out = out.join(one, on="unique_id", how="left")
    return out


def _date_parts(frame: pl.DataFrame) -> list[pl.Expr]:
    bd = pl.col("birth_date").cast(pl.String).str.strip_chars()
    year_only = bd.str.len_chars() < 7
    if "birth_date_precision" in frame.columns:
        year_only = year_only | (pl.col("birth_date_precision") == "Y")
    return [
        pl.when(~year_only & (bd.str.len_chars() >= 10)).then(bd.str.slice(0, 10)).alias("birth_date_key"),
        bd.str.slice(0, 4).cast(pl.Int32, strict=False).alias("birth_year"),
        pl.when(~year_only).then(bd.str.slice(5, 2).cast(pl.Int32, strict=False)).alias("birth_month"),
        pl.when(~year_only).then(bd.str.slice(8, 2).cast(pl.Int32, strict=False)).alias("birth_day"),
    ]


def _blank_to_null(col: str) -> pl.Expr:
    s = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s).alias(col)


def co_members(frame: pl.DataFrame) -> pl.Series:
    """For each row: the sorted, distinct given-name keys of the others in its household."""
    ids = frame.select("unique_id", "household_id", "given_key")
    others = (
        ids.join(ids, on="household_id", suffix="_other")
        .filter((pl.col("unique_id") != pl.col("unique_id_other")) & pl.col("given_key_other").is_not_null())
        .group_by("unique_id")
        .agg(pl.col("given_key_other").unique().sort().alias("co_members"))
    )
    return ids.select("unique_id").join(others, on="unique_id", how="left", maintain_order="left")[
        "co_members"
    ]


def parent_keys(df: pl.DataFrame, country: str) -> pl.DataFrame:
    """``father_key``, ``mother_key``: the Latin key of each parent's given name (or of its
    romanisation when only the Arabic is given), as for the person's own given name;
    ``father_norm``, ``mother_norm``: the name spelled out, normalised (Latin, else Arabic);
    and ``parents_key``, both keys together (null unless both are known)."""
    out: dict[str, pl.Series] = {}
    for parent in ("father", "mother"):
        names = df.select(
            pl.col(f"{parent}_name_{script}").alias(f"given_name_{script}")
            for script in ("lat", "ar")
            if f"{parent}_name_{script}" in df.columns
        )
        if names.width:
            keyed = name_keys(names, country)
            out[f"{parent}_key"] = keyed["given_key"].alias(f"{parent}_key")
            # the spelled-out name, for Jaro-Winkler: the Latin one, else the Arabic one
            lat = keyed["given_lat_norm"].replace("", None)
            ar = keyed["given_ar_norm"].replace("", None)
            out[f"{parent}_norm"] = lat.fill_null(ar).alias(f"{parent}_norm")
        else:
            for col in (f"{parent}_key", f"{parent}_norm"):
                out[col] = pl.repeat(None, df.height, dtype=pl.String, eager=True).alias(col)
    res = df.with_columns(*out.values())
    return res.with_columns(
        pl.when(pl.col("father_key").is_not_null() & pl.col("mother_key").is_not_null())
        .then(pl.concat_str(["father_key", "mother_key"], separator=" "))
        .alias("parents_key")
    )


def canonical(raw: pl.DataFrame, country: str) -> pl.DataFrame:
    """Matching columns for a raw person frame.

    ``raw`` has ``unique_id``, ``household_id``, the four name columns, ``sex``,
    ``birth_date`` (text: ``YYYY-MM-DD`` or ``YYYY``), optionally ``birth_date_precision``,
    ``commune``, ``phone``, :data:`ID_COLUMNS` and any of :data:`CARRIED`.
    """
    df = raw.with_columns(
        [
            _blank_to_null(c)
            for c in (*NAME_COLUMNS, *PARENT_COLUMNS, "sex", "commune", "phone")
            if c in raw.columns
        ]
    )
    df = parent_keys(name_keys(df, country).with_columns(_date_parts(df)), country)
    # The household again, under the name the co-members comparison reads (see
    # sijill.identity.linkage.ArrayComparison.unless_same).
    df = df.with_columns(
        co_members(df).alias("co_members"),
        pl.col("household_id").alias("co_household"),
        # The given name's first letter, which twins in one household do not share
        # (sijill.identity.linkage.LinkageSpec.group_initial), and both names' first
        # letters for the blocking rules that find a name spelled apart and a date apart.
        pl.col("given_key").str.slice(0, 1).alias("given_initial"),
        pl.col("family_key").str.slice(0, 1).alias("family_initial"),
    )
    df = df.with_columns(
        (_blank_to_null(c) if c in df.columns else pl.lit(None, pl.String).alias(c)) for c in ID_COLUMNS
    )
    # Blocking keys that survive one mistyped character: the first identifier's characters at
    # odd and at even positions (a replaced character leaves one of the two intact).
    chars = pl.col(ID_COLUMNS[0]).str.split("")
    df = df.with_columns(
        chars.list.gather_every(2).list.join("").alias("id_1_odd"),
        chars.list.gather_every(2, 1).list.join("").alias("id_1_even"),
    )
    keep = [
        "unique_id",
        "given_key",
        "family_key",
        "given_ar_norm",
        "family_ar_norm",
        "given_lat_norm",
        "family_lat_norm",
        "birth_date_key",
        "birth_year",
        "birth_month",
        "birth_day",
        "sex",
        "commune",
        "phone",
        "household_id",
        "co_members",
        "co_household",
        "given_initial",
        "family_initial",
        "father_key",
        "mother_key",
        "parents_key",
        "father_norm",
        "mother_norm",
        *ID_COLUMNS,
        "id_1_odd",
        "id_1_even",
        *[c for c in CARRIED if c in df.columns],
    ]
    return df.select(keep)


# --------------------------------------------------------------------------- sources


def _person_sql() -> str:
    text = ", ".join(f"COALESCE(p.{c}, '') AS {c}" for c in (*NAME_COLUMNS, *PARENT_COLUMNS, "phone"))
    return f"""
        SELECT p.id AS unique_id, p.created_changeset_id AS changeset_id, p.registry_id, COALESCE(p.external_ref, '') AS external_ref, {text},
               p.sex, CAST(p.birth_date AS TEXT) AS birth_date, p.birth_date_precision,
               m.household_id, h.area_path AS commune
        FROM registry_person p
        JOIN registry_membership m ON m.person_id = p.id AND m.end_date IS NULL AND m.is_deleted = %s
        JOIN registry_household h ON h.id = m.household_id
        WHERE p.is_deleted = %s AND h.is_deleted = %s AND h.country = %s
    """


def registry_persons(country: str) -> pl.DataFrame:
    """Every live person of the country with an active membership, as a raw frame.

    Read set-based through :mod:`sijill.core.arrowdb` (two readers at once, split by id).
    Persons without an active household (left, or merged into another record) are not
    matched: they are not on any list a programme pays.
    """
    sql = _person_sql()
    params = [False, False, False, country]
    types = id_types(country)
    queries: dict[str, tuple[str, list[object]]] = {
        "a": (sql + " AND p.id % 2 = 0", params),
        "b": (sql + " AND p.id % 2 = 1", params),
    }
    if types:
        marks = ", ".join(["%s"] * len(types))
        queries["ids"] = (
            "SELECT person_id AS unique_id, id_type, value FROM registry_externalidentifier "
            f"WHERE is_deleted = %s AND country = %s AND id_type IN ({marks})",
            [False, country, *types],
        )
    pending = arrowdb.start_reads(queries)
    raw = pl.concat([pending.get("a"), pending.get("b")], how="vertical_relaxed")
    ids = pending.get("ids") if types else None
    if raw.height == 0:
        return raw
    raw = raw.with_columns(
        pl.col("unique_id").cast(pl.Int64),
        pl.col("household_id").cast(pl.Int64),
        pl.col("changeset_id").cast(pl.Int64),
    ).sort("unique_id")
    if ids is not None and ids.height:
        ids = ids.with_columns(pl.col("unique_id").cast(pl.Int64), pl.col("value").cast(pl.String))
        raw = raw.join(_pivot_ids(ids, types), on="unique_id", how="left", maintain_order="left")
    return raw


def from_import_files(persons: Path, households: Path, country: str) -> pl.DataFrame:
    """A raw frame from an import's persons and households files (CSV or Parquet).

    ``unique_id`` is the file's ``person_ref``; the commune is the household's ``area_code``.
    Used to check linkage quality against the synthetic generator's truth files.
    """

    def read(path: Path) -> pl.DataFrame:
        if path.suffix == ".parquet":
            return pl.read_parquet(path).cast(pl.String)
        return pl.read_csv(path, infer_schema_length=0)

    p = read(persons)
    h = read(households).select("household_ref", pl.col("area_code").alias("commune"))
    types = id_types(country)
    pairs = [(t, v) for t, v in (("id_type", "id_value"), ("id2_type", "id2_value")) if t in p.columns]
    ids = pl.concat(
        [p.select(pl.col("person_ref").alias("unique_id"), pl.col(t).alias("id_type"), pl.col(v).alias("value"))
         for t, v in pairs] or [pl.DataFrame(schema={"unique_id": pl.String, "id_type": pl.String, "value": pl.String})]
    ).drop_nulls()  # fmt: skip
    p = p.join(_pivot_ids(ids, types), left_on="person_ref", right_on="unique_id", how="left")
    return p.join(h, on="household_ref", how="left").select(
        pl.col("person_ref").alias("unique_id"),
        pl.col("person_ref").alias("external_ref"),
        pl.col("household_ref").alias("household_id"),
        *[c for c in (*NAME_COLUMNS, *PARENT_COLUMNS) if c in p.columns],
        "sex",
        "birth_date",
        "commune",
        pl.col("phone") if "phone" in p.columns else pl.lit(None, pl.String).alias("phone"),
        *[pl.col(c) if c in p.columns else pl.lit(None, pl.String).alias(c) for c in ID_COLUMNS],
    )
