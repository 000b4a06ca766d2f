"""The search-key table behind the staff household search (:class:`SearchKey`).

Each live household gets, for each active member:

* ``G`` / ``F``: the skeleton keys (:func:`sijill.identity.names.latin_key`) of the given and
  family names, from the Latin spelling *and* from the romanised Arabic one
  (:func:`sijill.identity.names.romanize`), so that Mohamed, Mohammed, Muhammad and محمد
  all give ``mhmd``; a Latin name glued to its article's ``l`` (Lidrissi) also gets the
  key without it (Idrissi);
* ``N``: every ``"<given key> <family key>"`` pair, so that a two-part name is one exact,
  selective lookup even when the given name is the commonest of the country;
* ``I``: each identifier's value (any type), upper case, without spaces or separators;
* ``P``: the phone's digits (stored phones are E.164);

and the household its own ``P`` key for its phone. Registry numbers need no key: the
household and person tables have unique indexes on them.

Keys are computed set-based: Polars expressions on the *unique* names only (a country
has a few thousand distinct names for millions of persons), the romaniser once per
unique Arabic name. :func:`rebuild` (``sijill search rebuild``) and :func:`index_new`
(called by the import) read and write with Arrow in batches of households;
:func:`refresh` recomputes a few households inside the write transaction that changed
them (the ``household_changed`` receiver in :mod:`sijill.registry.receivers`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import polars as pl
from django.conf import settings
from django.db import connection, transaction

from sijill.core import arrowdb
from sijill.core.bulk import DjangoSession, in_list_sql, json_list_param
from sijill.identity import names

TABLE = "registry_searchkey"
COLUMNS = ["household_id", "person_id", "kind", "key", "area_path"]
# Kept in step with SearchKey.Meta.indexes (a bulk rebuild drops and recreates them).
INDEXES = {
    "search_key_lookup": '("kind", "key", "area_path")',
    "search_key_household": '("household_id")',
}
BATCH_HOUSEHOLDS = 100_000
SMALL_LOAD = 5_000  # households: below this an import writes its keys on Django's connection
KEY_MAX = 100

_SCHEMA = {
    "household_id": pl.Int64,
    "person_id": pl.Int64,
    "kind": pl.Utf8,
    "key": pl.Utf8,
    "area_path": pl.Utf8,
}


# --------------------------------------------------------------------------- keys of names


def _l_article_stripped(e: pl.Expr) -> pl.Expr:
    """``Lidrissi`` → ``idrissi`` (the article's ``l`` glued before a vowel), else null."""
    norm = names.normalise_latin_expr(e)
    return pl.when(norm.str.contains(r"^l[aeiou]")).then(norm.str.slice(1)).otherwise(None)


def latin_name_keys(series: pl.Series) -> pl.Series:
    """Search keys of Latin names: a list of distinct non-empty skeletons per value."""

    def on_unique(u: pl.Series) -> pl.Series:
        f = u.to_frame("s").select(
            names.latin_key_expr("s").alias("k1"),
            names.latin_key_expr(_l_article_stripped(pl.col("s"))).alias("k2"),
        )
        return f.select(
            pl.concat_list("k1", "k2").list.eval(pl.element().filter(pl.element() != "")).list.unique()
        ).to_series(0)

    return _unique_apply(series, on_unique, "lat")


def arabic_name_keys(series: pl.Series, country: str) -> pl.Series:
    """Search keys of Arabic names: skeletons of the romanised name, as typed and after the
    orthographic folding (so a missing hamza or ى for ي romanises the same)."""

    def on_unique(u: pl.Series) -> pl.Series:
        raw = u.to_list()
        folded = names.normalise_arabic_series(u).to_list()
        romans = [
            [names.romanize(x, country) if x else "", names.romanize(y, country) if y else ""]
            for x, y in zip(raw, folded, strict=True)
        ]
        flat = pl.Series([r for pair in romans for r in pair], dtype=pl.Utf8)
        keys = latin_name_keys(flat).to_list()
        out = [sorted(set((keys[2 * i] or []) + (keys[2 * i + 1] or []))) for i in range(len(raw))]
        return pl.Series(out, dtype=pl.List(pl.Utf8))

    return _unique_apply(series, on_unique, f"ar-{country}")


# Keys of the names already seen in this process, per kind ("lat", "ar-MA", ...). A write
# refreshes one household: its names are almost always known, and computing them again costs
# the Polars and romaniser set-up (about 40 ms of the 50–90 ms of a refresh, measured).
_KEY_CACHE: dict[str, dict[str, list[str]]] = {}
_KEY_CACHE_MAX = 500_000


def _unique_apply(
    series: pl.Series, fn: Callable[[pl.Series], pl.Series], cache: str | None = None
) -> pl.Series:
    s = series.cast(pl.Utf8).fill_null("")
    uniq = s.unique()
    if cache is None:
        lut = pl.DataFrame({"k": uniq, "v": fn(uniq)})
    else:
        known = _KEY_CACHE.setdefault(cache, {})
        values = uniq.to_list()
        found = {v: known[v] for v in values if v in known}
        missing = [v for v in values if v not in found]
        if missing:
            computed = fn(pl.Series(missing, dtype=pl.Utf8)).to_list()
            fresh = dict(zip(missing, computed, strict=True))
            found.update(fresh)
            if len(known) + len(fresh) > _KEY_CACHE_MAX:
                known.clear()
            known.update(fresh)
        lut = pl.DataFrame(
            {"k": values, "v": [found[v] for v in values]}, schema={"k": pl.Utf8, "v": pl.List(pl.Utf8)}
        )
    return s.to_frame("k").join(lut, on="k", how="left", maintain_order="left")["v"]


def query_name_keys(text: str, country: str) -> list[str]:
    """The search keys of a name as typed in the search box (either script)."""
    s = pl.Series([text], dtype=pl.Utf8)
    keys = arabic_name_keys(s, country) if has_arabic(text) else latin_name_keys(s)
    first = keys.to_list()[0]
    return list(first or [])


_ARABIC = re.compile(r"[\u0600-\u06FF]")


def has_arabic(text: str) -> bool:
    return bool(_ARABIC.search(text))


# --------------------------------------------------------------------------- keys of records


def identifier_key(value: str) -> str:
    """An identifier as the search compares it: upper case, no spaces, hyphens, dots or slashes."""
    return re.sub(r"[\s\-./]", "", value or "").upper()


def _identifier_key_expr(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Utf8).str.replace_all(r"[\s\-./]", "").str.to_uppercase()


def _phone_key_expr(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Utf8).str.replace_all(r"\D", "")


def key_frame(
    persons: pl.DataFrame, identifiers: pl.DataFrame, households: pl.DataFrame, country: str
) -> pl.DataFrame:
    """The search keys of a set of records (columns of :data:`COLUMNS`).

    ``persons``: person_id, household_id, area_path, the four name columns, phone (active
    members only); ``identifiers``: person_id, household_id, area_path, value;
    ``households``: household_id, area_path, phone.
    """
    parts: list[pl.DataFrame] = []
    if persons.height:
        # One vectorised call per script for given and family names together (each call costs
        # its regex set-up: this matters for the one-household refresh of every write).
        n_rows = persons.height
        lat = latin_name_keys(pl.concat([persons["given_name_lat"], persons["family_name_lat"]]))
        ar = arabic_name_keys(pl.concat([persons["given_name_ar"], persons["family_name_ar"]]), country)
        p = persons.with_columns(
            pl.concat_list(lat.slice(0, n_rows), ar.slice(0, n_rows)).list.unique().alias("g"),
            pl.concat_list(lat.slice(n_rows), ar.slice(n_rows)).list.unique().alias("f"),
        )
        base = ["household_id", "person_id", "area_path"]
        g = p.select(*base, pl.col("g").alias("key")).explode("key").drop_nulls("key")
        f = p.select(*base, pl.col("f").alias("key")).explode("key").drop_nulls("key")
        n = (
            g.join(f.select("person_id", pl.col("key").alias("fkey")), on="person_id")
            .with_columns(pl.concat_str("key", "fkey", separator=" ").alias("key"))
            .drop("fkey")
        )
        parts += [
            g.with_columns(pl.lit("G").alias("kind")),
            f.with_columns(pl.lit("F").alias("kind")),
            n.with_columns(pl.lit("N").alias("kind")),
            p.select(*base, _phone_key_expr("phone").alias("key"), pl.lit("P").alias("kind")),
        ]
    if identifiers.height:
        parts.append(
            identifiers.select(
                "household_id",
                "person_id",
                "area_path",
                _identifier_key_expr("value").alias("key"),
                pl.lit("I").alias("kind"),
            )
        )
    if households.height:
        parts.append(
            households.select(
                "household_id",
                pl.lit(None, pl.Int64).alias("person_id"),
                "area_path",
                _phone_key_expr("phone").alias("key"),
                pl.lit("P").alias("kind"),
            )
        )
    if not parts:
        return pl.DataFrame(schema=_SCHEMA)
    out = pl.concat([x.select(COLUMNS).cast(_SCHEMA) for x in parts], how="vertical")  # type: ignore[arg-type]
    return (
        out.filter(pl.col("key").is_not_null() & (pl.col("key").str.len_chars() > 0))
        .with_columns(pl.col("key").str.slice(0, KEY_MAX))
        .unique(maintain_order=True)
    )


def _queries(where: str) -> dict[str, str]:
    """Reads of the records whose keys are built, for households matching ``where`` (on h)."""
    live = "NOT h.is_deleted AND NOT m.is_deleted AND m.end_date IS NULL AND NOT p.is_deleted"
    members = (
        "FROM registry_membership m JOIN registry_person p ON p.id = m.person_id "
        f"JOIN registry_household h ON h.id = m.household_id WHERE {live} AND {where}"
    )
    return {
        "persons": "SELECT p.id AS person_id, h.id AS household_id, h.area_path, p.given_name_lat, "
        f"p.family_name_lat, p.given_name_ar, p.family_name_ar, p.phone {members}",
        "identifiers": "SELECT p.id AS person_id, h.id AS household_id, h.area_path, i.value "
        f"FROM registry_externalidentifier i JOIN registry_membership m ON m.person_id = i.person_id "
        "JOIN registry_person p ON p.id = m.person_id JOIN registry_household h ON h.id = m.household_id "
        f"WHERE NOT i.is_deleted AND {live} AND {where}",
        "households": "SELECT h.id AS household_id, h.area_path, h.phone FROM registry_household h "
        f"WHERE NOT h.is_deleted AND h.phone <> '' AND {where}",
    }


def _country() -> str:
    return str(settings.SIJILL_COUNTRY).upper()


# --------------------------------------------------------------------------- writers


def refresh(household_ids: Iterable[int]) -> int:
    """Recompute the keys of these households, on Django's connection (inside the caller's
    transaction: the keys change with the records). Returns the number of keys written."""
    ids = sorted(set(household_ids))
    if not ids:
        return 0
    s = DjangoSession()
    param = json_list_param(ids)
    s.execute(f"DELETE FROM {TABLE} WHERE {in_list_sql('household_id')}", [param])
    frames = {name: s.query(sql, [param]) for name, sql in _queries(in_list_sql("h.id")).items()}
    keys = key_frame(_typed(frames["persons"]), frames["identifiers"], frames["households"], _country())
    _remember_family_keys(keys)
    return s.insert(TABLE, keys)


def _typed(persons: pl.DataFrame) -> pl.DataFrame:
    cols = ["given_name_lat", "family_name_lat", "given_name_ar", "family_name_ar", "phone"]
    return persons.with_columns([pl.col(c).cast(pl.Utf8) for c in cols if c in persons.columns])


def _household_range() -> tuple[int, int]:
    df = arrowdb.read({"r": "SELECT MIN(id) AS lo, MAX(id) AS hi FROM registry_household"})["r"]
    lo, hi = df.row(0)
    return (int(lo), int(hi)) if lo is not None else (0, -1)


def _index_range(lo: int, hi: int, progress: Callable[[int], None] | None, batch: int) -> int:
    written = 0
    start = lo
    while start <= hi:
        end = min(start + batch - 1, hi)
        where = f"h.id BETWEEN {int(start)} AND {int(end)}"
        frames = arrowdb.read(_queries(where))
        keys = key_frame(_typed(frames["persons"]), frames["identifiers"], frames["households"], _country())
        arrowdb.write([arrowdb.Ingest(TABLE, keys)])
        written += keys.height
        if progress is not None:
            progress(end - start + 1)
        start = end + 1
    return written


def rebuild(
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    batch: int = BATCH_HOUSEHOLDS,
) -> int:
    """Empty the table and compute every household's keys again (``sijill search rebuild``).

    The indexes are dropped during the load and built once at the end (one sorted pass
    instead of millions of random inserts). Searches during a rebuild find nothing; an
    interrupted rebuild is finished by running it again. Returns the number of keys."""
    lo, hi = _household_range()
    if total is not None:
        total(max(hi - lo + 1, 0))
    drop = [arrowdb.Sql(f'DROP INDEX IF EXISTS "{name}"') for name in INDEXES]
    arrowdb.write([arrowdb.Sql(f"DELETE FROM {TABLE}"), *drop])
    try:
        written = _index_range(lo, hi, progress, batch) if hi >= lo else 0
    finally:
        _create_indexes()
    return written


def _create_indexes() -> None:
    arrowdb.write(
        [arrowdb.Sql(f'CREATE INDEX IF NOT EXISTS "{n}" ON "{TABLE}" {cols}') for n, cols in INDEXES.items()]
    )
    if connection.vendor == "postgresql":
        arrowdb.write([arrowdb.Sql(f'ANALYZE "{TABLE}"')])


def index_new(after_household_id: int, progress: Callable[[int], None] | None = None) -> int:
    """Add the keys of the households created after ``after_household_id`` (an import).

    A load into an empty table drops the indexes and builds them at the end, like
    :func:`rebuild`; otherwise the keys are appended to the indexed table."""
    hi = max_household_id()
    if hi <= after_household_id:
        return 0
    if hi - after_household_id <= SMALL_LOAD:  # not worth the Arrow round trips
        with transaction.atomic():
            return refresh(range(after_household_id + 1, hi + 1))
    empty = (
        arrowdb.read({"n": f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM {TABLE} LIMIT 1) t"})["n"]["n"][0] == 0
    )
    if not empty:
        return _index_range(after_household_id + 1, hi, progress, BATCH_HOUSEHOLDS)
    arrowdb.write([arrowdb.Sql(f'DROP INDEX IF EXISTS "{name}"') for name in INDEXES])
    try:
        return _index_range(after_household_id + 1, hi, progress, BATCH_HOUSEHOLDS)
    finally:
        _create_indexes()


def max_household_id() -> int:
    df = DjangoSession().query("SELECT MAX(id) AS m FROM registry_household")
    m = df["m"][0]
    return int(m) if m is not None else 0


#: The family-name keys of the registry, read at most this often (seconds) per process: a
#: name registered since is still found exactly, only not yet as a near spelling.
VOCABULARY_SECONDS = 600
_vocabulary: dict[str, tuple[float, set[str]]] = {}


def family_key_vocabulary() -> set[str]:
    """The distinct family-name keys, by index seeks from one key to the next (a recursive
    query: as many seeks as distinct keys, not a scan of the table)."""
    import time

    now = time.monotonic()
    cached = _vocabulary.get(connection.alias)
    if cached and now - cached[0] < VOCABULARY_SECONDS:
        return cached[1]
    table = TABLE
    sql = f"""
        WITH RECURSIVE v(key) AS (
            SELECT MIN(key) FROM {table} WHERE kind = %s
            UNION ALL
            SELECT (SELECT MIN(key) FROM {table} WHERE kind = %s AND key > v.key) FROM v WHERE v.key IS NOT NULL
        )
        SELECT key FROM v WHERE key IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, ["F", "F"])
        keys = {r[0] for r in cursor.fetchall()}
    _vocabulary[connection.alias] = (now, keys)
    return keys


def _remember_family_keys(keys: pl.DataFrame) -> None:
    """Keys just written join the cached vocabulary at once (a superset is harmless: a key no
    longer in the table finds nothing)."""
    cached = _vocabulary.get(connection.alias)
    if cached is not None:
        cached[1].update(keys.filter(pl.col("kind") == "F")["key"].to_list())
