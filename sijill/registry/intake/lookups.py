"""What the registry already holds, looked up in bulk for validation (see validate.Existing)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from sijill.core import bulk
from sijill.countries import CountryProfile


def identifier_owners(profile: CountryProfile) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """A lookup: (id_type, value) pairs -> those already held, with the holder (its primary key and
    registry id) and the registry id of the holder's active household (empty when none)."""

    def lookup(pairs: pl.DataFrame) -> pl.DataFrame:
        parts = []
        for (id_type,), grp in pairs.group_by(["id_type"]):
            values = grp["value"].to_list()
            for i in range(0, len(values), 200_000):
                df = bulk.query_frame(
                    "SELECT i.id_type, i.value, p.id AS owner_person_id, p.registry_id AS owner_registry_id, "
                    "h.registry_id AS owner_household_registry_id "
                    "FROM registry_externalidentifier i JOIN registry_person p ON p.id = i.person_id "
                    "LEFT JOIN registry_membership m "
                    "ON m.person_id = p.id AND m.end_date IS NULL AND m.is_deleted = %s "
                    "LEFT JOIN registry_household h ON h.id = m.household_id "
                    f"WHERE i.country = %s AND i.id_type = %s AND i.is_deleted = %s AND {bulk.in_list_sql('i.value')}",
                    [False, profile.code, id_type, False, bulk.json_list_param(values[i : i + 200_000])],
                )
                if df.height:
                    parts.append(df)
        schema = {
            "id_type": pl.Utf8,
            "value": pl.Utf8,
            "owner_person_id": pl.Int64,
            "owner_registry_id": pl.Utf8,
            "owner_household_registry_id": pl.Utf8,
        }
        return pl.concat(parts).cast(schema) if parts else pl.DataFrame(schema=schema)  # type: ignore[arg-type]

    return lookup


def known_person_refs(refs: pl.Series) -> pl.DataFrame:
    """Person refs already in the registry, with the registry id of their current household."""
    values = refs.unique().to_list()
    parts = []
    for i in range(0, len(values), 200_000):
        df = bulk.query_frame(
            "SELECT p.external_ref AS person_ref, h.registry_id AS household_ref FROM registry_person p "
            "LEFT JOIN registry_membership m ON m.person_id = p.id AND m.end_date IS NULL AND m.is_deleted = %s "
            "LEFT JOIN registry_household h ON h.id = m.household_id "
            f"WHERE {bulk.in_list_sql('p.external_ref')}",
            [False, bulk.json_list_param(values[i : i + 200_000])],
        )
        if df.height:
            parts.append(df.with_columns(pl.col("household_ref").fill_null("(none)")))
    schema = {"person_ref": pl.Utf8, "household_ref": pl.Utf8}
    return pl.concat(parts).cast(schema) if parts else pl.DataFrame(schema=schema)  # type: ignore[arg-type]
