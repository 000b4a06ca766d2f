"""Writing validated households to the registry, one chunk per transaction."""

from __future__ import annotations

import datetime as dt

import polars as pl
from django.db import transaction
from django.utils import timezone

from sijill.core import bulk, ids
from sijill.core.models import ChangeSet
from sijill.countries import CountryProfile
from sijill.registry.intake.validate import ID_PAIRS


def area_frame(country: str) -> pl.DataFrame:
    return bulk.query_frame(
        "SELECT code AS area_code, id AS area_id, path AS area_path FROM registry_adminarea WHERE country = %s",
        [country],
    )


def _taken(table: str):  # type: ignore[no-untyped-def]
    def check(values):  # type: ignore[no-untyped-def]
        return {r[0] for r in bulk.query_frame(
            f"SELECT registry_id FROM {table} WHERE {bulk.in_list_sql('registry_id')}",
            [bulk.json_list_param(values)],
        ).iter_rows()} if values else set()

    return check


def load_chunk(
    households: pl.DataFrame,
    persons: pl.DataFrame,
    profile: CountryProfile,
    areas: pl.DataFrame,
    *,
    actor_name: str,
    channel: str,
    reason: str,
    source: str,
    actor_id: int | None = None,
) -> tuple[int, int, ChangeSet]:
    """Insert one chunk of validated households and their members atomically."""
    with transaction.atomic():
        now = timezone.now()
        cs = ChangeSet.objects.create(
            at=now, actor_id=actor_id, actor_name=actor_name, channel=channel, reason=reason, source=source
        )
        nh, np_ = households.height, persons.height
        hh_pk = bulk.reserve_ids("registry_household", nh)
        pp_pk = bulk.reserve_ids("registry_person", np_)
        hh_rid = ids.allocate_ids(nh, ids.HOUSEHOLD_ID_WIDTH, _taken("registry_household"))
        pp_rid = ids.allocate_ids(np_, ids.PERSON_ID_WIDTH, _taken("registry_person"))
        now_utc = now.astimezone(dt.UTC).replace(tzinfo=None)
        common = [
            pl.lit(cs.pk, pl.Int64).alias("created_changeset_id"),
            pl.lit(now_utc, pl.Datetime("us")).alias("created_at"),
            pl.lit(now_utc, pl.Datetime("us")).alias("updated_at"),
            pl.lit(1, pl.Int64).alias("version"),
            pl.lit(False).alias("is_deleted"),
            pl.lit(None, pl.Datetime("us")).alias("deleted_at"),
        ]
        p = persons.with_columns(
            pl.Series("id", pp_pk, dtype=pl.Int64), pl.Series("registry_id", pp_rid, dtype=pl.Utf8)
        )
        p_keys = p.select("person_ref", "household_ref", "id", "relationship")
        heads = p_keys.filter(pl.col("relationship") == "HEAD").select("household_ref", pl.col("id").alias("head_id"))
        h = (
            households.with_columns(
                pl.Series("id", hh_pk, dtype=pl.Int64), pl.Series("registry_id", hh_rid, dtype=pl.Utf8)
            )
            .join(areas, on="area_code", how="left")
            .join(heads, on="household_ref", how="left")
            .join(
                p_keys.select(pl.col("person_ref").alias("declarant_ref"), "household_ref", pl.col("id").alias("_decl")),
                on=["household_ref", "declarant_ref"],
                how="left",
            )
        )
        if h["area_id"].null_count():
            missing = h.filter(pl.col("area_id").is_null())["area_code"][0]
            raise RuntimeError(f"area {missing} is not loaded in the registry; run `sijill migrate` first")
        bulk.insert(
            "registry_person",
            p.select(
                "id", "registry_id", pl.col("person_ref").alias("external_ref"),
                "given_name_lat", "family_name_lat", "given_name_ar", "family_name_ar", "sex", "birth_date",
                "birth_date_precision", "birth_date_approx", "vital_status", "death_date", "disability_type",
                "disability_severity", "in_school", "school_sector", "school_level", "education_level", "literate",
                "occupation", "health_coverage", "phone", *common,
            ),
        )  # fmt: skip
        bulk.insert(
            "registry_household",
            h.select(
                "id", "registry_id", pl.lit(profile.code).alias("country"), pl.col("household_ref").alias("external_ref"),
                "area_id", "area_path", "milieu", "address", "phone", "head_id",
                pl.coalesce("_decl", "head_id").alias("declarant_id"),
                pl.lit(profile.questionnaire.version).alias("questionnaire_version"), "socio", "registered_on", *common,
            ),
        )  # fmt: skip
        hid = h.select("household_ref", pl.col("id").alias("household_id"), "registered_on")
        m = p.join(hid, on="household_ref").select(
            pl.col("id").alias("person_id"),
            "household_id",
            "relationship",
            pl.min_horizontal("registered_on", pl.col("death_date").fill_null(pl.col("registered_on"))).alias("start_date"),
            pl.col("death_date").alias("end_date"),
            pl.when(pl.col("death_date").is_not_null()).then(pl.lit("deceased")).otherwise(pl.lit("")).alias("end_reason"),
            pl.lit(False).alias("is_deleted"),
            pl.lit(cs.pk, pl.Int64).alias("created_changeset_id"),
        )
        bulk.insert("registry_membership", m)
        idents = pl.concat(
            [
                p.filter(pl.col(t).is_not_null() & pl.col(v).is_not_null()).select(
                    pl.col("id").alias("person_id"), pl.col(t).alias("id_type"), pl.col(v).alias("value")
                )
                for t, v in ID_PAIRS
            ]
        ).with_columns(
            pl.lit(profile.code).alias("country"),
            pl.lit(False).alias("is_deleted"),
            pl.lit(cs.pk, pl.Int64).alias("created_changeset_id"),
        )
        bulk.insert("registry_externalidentifier", idents)
    return nh, np_, cs
