"""Exact conflicts found at intake, as review candidates written with the chunk that loads them.

Django-free (Polars only): the loader imports it in the SQLite writer process too.

An identifier of an incoming person that is already held by a registry person is not
loaded (see ``validate.held_identifiers``); instead the pair (incoming person, holder)
becomes an ``ID_CONFLICT`` :class:`~sijill.identity.models.MatchCandidate`, inserted in
the same transaction as the chunk's persons, households and memberships. A chunk's
candidates are one more table of the chunk: ``COPY`` on PostgreSQL, ADBC or
``executemany`` on SQLite, in incremental and bulk mode alike, so a killed import never
leaves a person loaded without its identifier and without the review case.
"""

from __future__ import annotations

import polars as pl

CANDIDATE_TABLE = "identity_matchcandidate"

# The chunk's conflicts with local person keys: ``person_id`` is the incoming person's key in
# the chunk, ``other_person_id`` the holder's primary key.
CONFLICT_SCHEMA = {"person_id": pl.Int64, "other_person_id": pl.Int64, "details": pl.Utf8}


def conflicts(held: pl.DataFrame | None, persons: pl.DataFrame, source: str = "") -> pl.DataFrame:
    """One row per (incoming person, holder) pair, with the details a reviewer reads.

    ``held``: rows of ``validate.HELD_SCHEMA``; ``persons``: ``person_ref`` and the local ``id``;
    ``source``: where the rows came from (the import job and its files). Two identifiers of
    one person held by the same holder make one candidate naming both.
    """
    if held is None or held.height == 0:
        return pl.DataFrame(schema=CONFLICT_SCHEMA)
    j = held.join(persons.select("person_ref", pl.col("id").alias("person_id")), on="person_ref")
    grouped = (
        j.sort("_row", "column")
        .group_by("person_id", "owner_person_id", maintain_order=True)
        .agg(
            pl.col("reason").str.join("; "),
            pl.col("id_type").first(),
            pl.col("value").first(),
            pl.col("owner_registry_id").first(),
            pl.col("owner_household_registry_id").first(),
            pl.col("person_ref").first(),
            pl.col("household_ref").first(),
            pl.col("_row").first().alias("row"),
            pl.struct("id_type", "value", "column").alias("identifiers"),
        )
        .with_columns(pl.lit(source).alias("source"))
    )
    details = pl.struct(
        "reason",
        "id_type",
        "value",
        "owner_registry_id",
        "owner_household_registry_id",
        "person_ref",
        "household_ref",
        "row",
        "identifiers",
        "source",
    ).struct.json_encode()
    return grouped.select(
        "person_id", pl.col("owner_person_id").alias("other_person_id"), details.alias("details")
    ).cast(CONFLICT_SCHEMA)  # type: ignore[arg-type]


def candidate_rows(conflicts: pl.DataFrame, changeset_id: int, at: str) -> pl.DataFrame:
    """Rows of ``identity_matchcandidate`` for conflicts whose ``person_id`` is a real key now.

    ``at``: the change set's time (naive UTC text, as the loader writes it).
    """
    lo = pl.min_horizontal("person_id", "other_person_id")
    hi = pl.max_horizontal("person_id", "other_person_id")
    return conflicts.select(
        pl.lit(None, pl.Int64).alias("run_id"),
        lo.alias("person_a_id"),
        hi.alias("person_b_id"),
        pl.lit("ID_CONFLICT").alias("kind"),
        pl.lit(None, pl.Float64).alias("probability"),
        pl.lit(None, pl.Float64).alias("match_weight"),
        "details",
        pl.lit("PENDING").alias("status"),
        pl.lit("").alias("cluster_id"),
        pl.lit("").alias("decided_by"),
        pl.lit(None, pl.Utf8).alias("decided_at"),
        pl.lit("").alias("decision_reason"),
        pl.lit(at).alias("created_at"),
        pl.lit(changeset_id, pl.Int64).alias("created_changeset_id"),
    )
