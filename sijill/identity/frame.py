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
  the person's household, so a household registered twice is recognised member by member.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sijill.core import arrowdb
from sijill.identity.names import name_keys

NAME_COLUMNS = ("given_name_lat", "family_name_lat", "given_name_ar", "family_name_ar")
# Columns carried through to the pairs, to name the records in exports and on screen.
CARRIED = ("registry_id", "external_ref", "changeset_id")


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


def canonical(raw: pl.DataFrame, country: str) -> pl.DataFrame:
    """Matching columns for a raw person frame.

    ``raw`` has ``unique_id``, ``household_id``, the four name columns, ``sex``,
    ``birth_date`` (text: ``YYYY-MM-DD`` or ``YYYY``), optionally ``birth_date_precision``,
    ``commune``, ``phone``, and any of :data:`CARRIED`.
    """
    df = raw.with_columns(
        [_blank_to_null(c) for c in (*NAME_COLUMNS, "sex", "commune", "phone") if c in raw.columns]
    )
    df = name_keys(df, country).with_columns(_date_parts(df))
    df = df.with_columns(co_members(df).alias("co_members"))
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
        *[c for c in CARRIED if c in df.columns],
    ]
    return df.select(keep)


# --------------------------------------------------------------------------- sources


def _person_sql() -> str:
    text = ", ".join(f"COALESCE(p.{c}, '') AS {c}" for c in (*NAME_COLUMNS, "phone"))
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
    pending = arrowdb.start_reads(
        {"a": (sql + " AND p.id % 2 = 0", params), "b": (sql + " AND p.id % 2 = 1", params)}
    )
    raw = pl.concat([pending.get("a"), pending.get("b")], how="vertical_relaxed")
    if raw.height == 0:
        return raw
    return raw.with_columns(
        pl.col("unique_id").cast(pl.Int64),
        pl.col("household_id").cast(pl.Int64),
        pl.col("changeset_id").cast(pl.Int64),
    ).sort("unique_id")


def from_import_files(persons: Path, households: Path) -> pl.DataFrame:
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
    return p.join(h, on="household_ref", how="left").select(
        pl.col("person_ref").alias("unique_id"),
        pl.col("person_ref").alias("external_ref"),
        pl.col("household_ref").alias("household_id"),
        *[c for c in NAME_COLUMNS if c in p.columns],
        "sex",
        "birth_date",
        "commune",
        pl.col("phone") if "phone" in p.columns else pl.lit(None, pl.String).alias("phone"),
    )
