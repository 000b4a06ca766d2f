"""The registry as two columnar frames, ready for the rules: households and their members.

Both the batch (``sijill score``, a million households through :mod:`sijill.core.arrowdb`)
and the single-household recomputation (one household on Django's connection) run the
same SQL and the same Polars typing, so they cannot disagree.

``households``: ``household_id``, ``registry_id``, ``external_ref``, ``version``, ``country``,
``area_code``, ``region`` (top-level area), ``milieu`` and one typed column per question of
the country's questionnaire (null when unanswered).

``persons``: ``person_id``, ``household_id``, ``relationship``, ``sex``, ``birth_date``, the
person attributes the rules read, and ``membership_start``. Only members at ``as_of``: the
membership has started and not ended, the person is alive and nobody is deleted. Sorted by
household and person id.

Household answers are the current ones; ``as_of`` sets the date of memberships, deaths and
ages (the rules compute ages at the period).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sijill.core import arrowdb
from sijill.core.bulk import query_frame
from sijill.countries.base import CountryProfile, get_profile

PERSON_TEXT = (
    "relationship", "sex", "education_level", "occupation", "health_coverage", "school_sector",
    "school_level", "disability_type", "disability_severity",
)  # fmt: skip
PERSON_BOOL = ("in_school", "literate", "father_deceased")


@dataclass
class Population:
    country: str
    as_of: dt.date
    households: pl.DataFrame
    persons: pl.DataFrame

    @property
    def size(self) -> int:
        return self.households.height


def _household_sql(where: str) -> str:
    d = arrowdb.date_param()
    return f"""
        SELECT h.id AS household_id, h.registry_id, COALESCE(h.external_ref, '') AS external_ref,
               h.version, h.country, h.area_path, h.milieu, CAST(h.socio AS TEXT) AS socio
        FROM registry_household h
        WHERE h.is_deleted = %s AND h.country = %s AND h.registered_on <= {d} {where}
        ORDER BY h.id
    """


def _person_sql(where: str) -> str:
    # COALESCE keeps every column one type from the first row on (ADBC infers types per batch).
    bools = ", ".join(f"COALESCE(CAST(p.{c} AS INTEGER), -1) AS {c}" for c in PERSON_BOOL)
    texts = ", ".join(f"COALESCE(p.{c}, '') AS {c}" for c in PERSON_TEXT if c != "relationship")
    d = arrowdb.date_param()
    return f"""
        SELECT p.id AS person_id, m.household_id, m.relationship, CAST(p.birth_date AS TEXT) AS birth_date,
               CAST(m.start_date AS TEXT) AS membership_start, {texts}, {bools}
        FROM registry_membership m
        JOIN registry_person p ON p.id = m.person_id
        JOIN registry_household h ON h.id = m.household_id
        WHERE m.is_deleted = %s AND p.is_deleted = %s AND h.is_deleted = %s AND h.country = %s
          AND h.registered_on <= {d}
          AND m.start_date <= {d} AND (m.end_date IS NULL OR m.end_date > {d})
          AND (p.death_date IS NULL OR p.death_date > {d})
          AND (p.vital_status = 'ALIVE' OR p.death_date IS NOT NULL) {where}
    """


def _selection(household_ids: Sequence[int] | None, column: str) -> tuple[str, list[object]]:
    if household_ids is None:
        return "", []
    from sijill.core.bulk import in_list_sql, json_list_param

    return f"AND {in_list_sql(column)}", [json_list_param(int(i) for i in household_ids)]


def load(
    country: str, as_of: dt.date, household_ids: Sequence[int] | None = None, *, bulk: bool | None = None
) -> Population:
    """Read the population at ``as_of``. ``bulk`` (default: when no selection) reads through ADBC."""
    profile = get_profile(country)
    hw, hp = _selection(household_ids, "h.id")
    pw, pp = _selection(household_ids, "m.household_id")
    day = as_of.isoformat()
    h_params = [False, country, day, *hp]
    p_params = [False, False, False, country, day, day, day, day, *pp]
    if bulk is None:
        bulk = household_ids is None
    if bulk:
        # Members in two halves by membership id, households beside them: three readers at once
        # (SQLite: three processes), and the households are typed while the members still load.
        sql_p, sql_h = _person_sql(pw), _household_sql(hw)
        pending = arrowdb.start_reads(
            {
                "h": (sql_h, h_params),
                "p1": (sql_p + " AND m.id % 2 = 0", p_params),
                "p2": (sql_p + " AND m.id % 2 = 1", p_params),
            }
        )
        households = typed_households(pending.get("h"), profile)
        p = pl.concat([pending.get("p1"), pending.get("p2")], how="vertical_relaxed")
    else:
        households = typed_households(query_frame(_household_sql(hw), h_params), profile)
        p = query_frame(_person_sql(pw), p_params)
    persons = typed_persons(p)
    # A household with nobody in it at as_of (all left or died) has nothing to score.
    households = households.filter(pl.col("household_id").is_in(persons["household_id"].unique().implode()))
    return Population(country, as_of, households, persons)


def typed_households(raw: pl.DataFrame, profile: CountryProfile) -> pl.DataFrame:
    """Decode the questionnaire answers (JSON text) into one typed column per question."""
    q = profile.questionnaire
    dtypes = {"int": pl.Int64, "decimal": pl.Float64, "bool": pl.Boolean, "enum": pl.Utf8, "text": pl.Utf8}
    struct = pl.Struct({x.name: dtypes[x.type] for x in q.questions})
    if raw.height == 0:
        raw = pl.DataFrame(
            schema={"household_id": pl.Int64, "registry_id": pl.Utf8, "external_ref": pl.Utf8, "version": pl.Int64,
                    "country": pl.Utf8, "area_path": pl.Utf8, "milieu": pl.Utf8, "socio": pl.Utf8}
        )  # fmt: skip
    return (
        raw.with_columns(
            pl.col("household_id").cast(pl.Int64),
            pl.col("version").cast(pl.Int64),
            pl.col("area_path").str.split("/").list.first().alias("region"),
            pl.col("area_path").str.split("/").list.last().alias("area_code"),
            pl.col("socio").str.json_decode(struct).alias("_socio"),
        )
        .drop("socio", "area_path")
        .unnest("_socio")
    )


def typed_persons(raw: pl.DataFrame) -> pl.DataFrame:
    if raw.height == 0:
        return pl.DataFrame(
            schema={"person_id": pl.Int64, "household_id": pl.Int64, "relationship": pl.Utf8,
                    "birth_date": pl.Date, "membership_start": pl.Date, "sex": pl.Utf8}
            | {c: pl.Utf8 for c in PERSON_TEXT if c not in ("relationship", "sex")}
            | {c: pl.Boolean for c in PERSON_BOOL}
        )  # fmt: skip
    return raw.with_columns(
        pl.col("person_id").cast(pl.Int64),
        pl.col("household_id").cast(pl.Int64),
        pl.col("birth_date").str.slice(0, 10).str.to_date("%Y-%m-%d"),
        pl.col("membership_start").str.slice(0, 10).str.to_date("%Y-%m-%d"),
        *[
            pl.when(pl.col(c).cast(pl.Int64) < 0).then(None).otherwise(pl.col(c).cast(pl.Int64) == 1).alias(c)
            for c in PERSON_BOOL
        ],
    ).sort("household_id", "person_id")


def from_import(
    households: pl.DataFrame, persons: pl.DataFrame, profile: CountryProfile, as_of: dt.date
) -> Population:
    """A population from validated import-format frames (a survey file), without the database.

    ``households`` and ``persons`` are the typed frames of
    :func:`sijill.registry.intake.validate.validate`. Household ids are row numbers.
    """
    hh = households.with_row_index("household_id").with_columns(pl.col("household_id").cast(pl.Int64))
    paths = {a.code: "/".join(x.code for x in reversed(profile.ancestors(a.code))) for a in profile.areas}
    raw_h = hh.select(
        "household_id",
        pl.lit("").alias("registry_id"),
        pl.col("household_ref").alias("external_ref"),
        pl.lit(0, pl.Int64).alias("version"),
        pl.lit(profile.code).alias("country"),
        pl.col("area_code").replace_strict(paths, default=pl.col("area_code")).alias("area_path"),
        "milieu",
        "socio",
    )
    ids = hh.select("household_ref", "household_id", "registered_on")
    p = persons.join(ids, on="household_ref", how="inner")
    raw_p = p.with_row_index("person_id").select(
        pl.col("person_id").cast(pl.Int64),
        "household_id",
        "relationship",
        pl.col("birth_date").cast(pl.Utf8),
        pl.col("registered_on").cast(pl.Utf8).alias("membership_start"),
        *[pl.col(c).fill_null("") for c in PERSON_TEXT if c != "relationship"],
        *[pl.col(c).cast(pl.Int64).fill_null(-1) for c in PERSON_BOOL],
    )
    if "vital_status" in p.columns:
        raw_p = raw_p.filter(p["vital_status"] == "ALIVE")
    people = typed_persons(raw_p).filter(pl.col("birth_date") <= as_of)
    return Population(profile.code, as_of, typed_households(raw_h, profile), people)


# --------------------------------------------------------------------------- snapshots


def registry_stamp() -> str:
    """Moves on with every change to the registry: its last change set that is not a system job
    (id and time, so that a database recreated from scratch never matches an old snapshot)."""
    from sijill.core.models import ChangeSet

    last = ChangeSet.objects.exclude(channel="SYSTEM").order_by("-id").values_list("id", "at").first()
    if last is None:
        return "0"
    return f"{last[0]}-{int(last[1].timestamp() * 1_000_000)}"


def snapshot_dir(country: str, as_of: dt.date) -> Path:
    from django.conf import settings

    return settings.VAR_DIR / "populations" / country.lower() / f"{as_of.isoformat()}-{registry_stamp()}"


def save_snapshot(pop: Population) -> Path:
    """Keep the population on disk (Arrow IPC) until the registry changes; older ones are removed."""
    import shutil

    folder = snapshot_dir(pop.country, pop.as_of)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    pop.households.write_ipc(tmp / "households.arrow")
    pop.persons.write_ipc(tmp / "persons.arrow")
    for old in folder.parent.iterdir():  # one snapshot per country: the latest
        if old != tmp:
            shutil.rmtree(old, ignore_errors=True)
    tmp.rename(folder)
    return folder


def load_current(country: str, as_of: dt.date) -> Population:
    """The whole population at ``as_of``: from its snapshot if the registry has not changed since."""
    folder = snapshot_dir(country, as_of)
    if (folder / "persons.arrow").exists():
        return Population(
            country, as_of, pl.read_ipc(folder / "households.arrow"), pl.read_ipc(folder / "persons.arrow")
        )
    pop = load(country, as_of)
    save_snapshot(pop)
    return pop
