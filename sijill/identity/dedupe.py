"""The deduplication job: ``sijill dedupe`` (issue 4).

1. Read every live person with an active household (:func:`sijill.identity.frame.registry_persons`)
   and build the matching columns (:func:`sijill.identity.frame.canonical`).
2. Load the country's current linkage model, or train one unsupervised and save it with a
   version (:func:`current_model`, :func:`train_model`).
3. Score candidate pairs with Splink: the whole registry against itself, or (``scope="new"``)
   only the persons added since the last finished run, against everyone and against each other.
4. Leave out pairs already known (an open candidate, or a decision taken).
5. Write the pairs at or above the review threshold as :class:`~sijill.identity.models.MatchCandidate`
   rows, set-based: at or above the auto-link threshold, status ``AUTO_LINKED`` (the same person);
   between the two, ``PENDING`` for a reviewer. Each carries its probability, match weight,
   the comparison levels and the compared values, and the id of its cluster (connected
   components over all the run's pairs).
6. Optionally export the pairs as ``ref_a,ref_b,probability`` with the import file's person
   references, to check them against a truth file.

The job commits nothing until the last step, in one transaction: a failed or interrupted
run leaves the queue as it was, and the run is marked failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from django.conf import settings
from django.utils import timezone

from sijill.core import arrowdb
from sijill.core.bulk import vendor
from sijill.core.history import open_changeset
from sijill.core.timing import Laps
from sijill.identity import frame as person_frame
from sijill.identity import linkage
from sijill.identity.models import DedupeRun, MatchCandidate

AUTO_LINK_THRESHOLD = 0.99
# The grey zone starts where the model is unsure, not where it is nearly sure: the model's
# probabilities are calibrated (on the synthetic Malian registries, about 70% of the pairs
# scored between 0.7 and 0.9 are one person), so a pair below 0.9 is more often a duplicate
# than not, and a reviewer should see it. Measured in docs/benchmarks.md.
REVIEW_THRESHOLD = 0.70

Progress = Callable[[str], None]

# The compared values shown to a reviewer beside the comparison levels.
DETAIL_VALUES = (
    "given_key",
    "family_key",
    "given_ar_norm",
    "family_ar_norm",
    "birth_year",
    "birth_month",
    "birth_day",
    "sex",
    "commune",
    "phone",
    "id_1",
    "id_2",
    "father_key",
    "mother_key",
)


# --------------------------------------------------------------------------- models


def model_dir(country: str) -> Path:
    return Path(settings.VAR_DIR) / "linkage" / country.lower()


def current_model(country: str) -> tuple[linkage.LinkageModel, str] | None:
    """The newest saved model of the country and its version, or None."""
    folder = model_dir(country)
    files = sorted(folder.glob("*.json")) if folder.exists() else []
    if not files:
        return None
    try:
        return linkage.load_model(files[-1], backend="duckdb"), files[-1].stem
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"the linkage model {files[-1]} cannot be read ({exc}); run `sijill dedupe --retrain` to train a new one"
        ) from exc


TRAINING_SAMPLE = 300_000


def train_model(frame: pl.DataFrame, country: str) -> tuple[linkage.LinkageModel, str]:
    """Train (unsupervised) and save as ``var/linkage/<country>/<version>.json``.

    A registry larger than :data:`TRAINING_SAMPLE` persons is trained on a random sample of
    that many (seeded): the share of matching pairs, ``u`` and ``m`` are the same in a
    random sample, and expectation maximisation's blocks shrink with the square of the
    sample. Term frequencies come from the whole registry when pairs are scored.
    """
    spec = linkage.default_spec()
    sample = frame.sample(TRAINING_SAMPLE, seed=spec.seed) if frame.height > TRAINING_SAMPLE else frame
    model = linkage.train(sample, spec)
    version = f"{country.lower()}-{timezone.now():%Y%m%dT%H%M%S}-n{frame.height}"
    folder = model_dir(country)
    folder.mkdir(parents=True, exist_ok=True)
    linkage.save_model(model, folder / f"{version}.json")
    return model, version


# --------------------------------------------------------------------------- pairs


def score_pairs(
    frame: pl.DataFrame, model: linkage.LinkageModel, threshold: float, new_ids: pl.Series | None = None
) -> pl.DataFrame:
    """Scored pairs at or above ``threshold``: ``id_a < id_b``, ``probability``, ``match_weight``,
    the ``gamma_*`` levels and the compared values (``*_l``/``*_r``, oriented as a/b).

    ``new_ids``: only pairs with at least one of these persons (an intake batch against
    everyone, and within itself).
    """
    if new_ids is None:
        pairs = linkage.predict(frame, model, threshold)
    else:
        is_new = pl.col("unique_id").is_in(new_ids.implode())
        existing, new = frame.filter(~is_new), frame.filter(is_new)
        if new.height == 0:
            return _empty_pairs()
        if existing.height == 0:
            pairs = linkage.predict(new, model, threshold)
        else:
            pairs = linkage.link_new(existing, new, model, threshold)
    if pairs.height == 0:
        return _empty_pairs()
    swap = pl.col("unique_id_l") > pl.col("unique_id_r")
    gammas = [c for c in pairs.columns if c.startswith("gamma_")]
    values = [c for c in DETAIL_VALUES if f"{c}_l" in pairs.columns]
    cols: list[pl.Expr] = [
        pl.when(swap).then(pl.col("unique_id_r")).otherwise(pl.col("unique_id_l")).alias("id_a"),
        pl.when(swap).then(pl.col("unique_id_l")).otherwise(pl.col("unique_id_r")).alias("id_b"),
        pl.col("match_probability").alias("probability"),
        pl.col("match_weight"),
        *[pl.col(g) for g in gammas],
    ]
    for v in values:
        cols.append(pl.when(swap).then(pl.col(f"{v}_r")).otherwise(pl.col(f"{v}_l")).alias(f"{v}_a"))
        cols.append(pl.when(swap).then(pl.col(f"{v}_l")).otherwise(pl.col(f"{v}_r")).alias(f"{v}_b"))
    return (
        pairs.select(cols)
        .unique(["id_a", "id_b"], keep="first")
        .sort(["probability", "id_a", "id_b"], descending=[True, False, False])
    )


def _empty_pairs() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"id_a": pl.Int64, "id_b": pl.Int64, "probability": pl.Float64, "match_weight": pl.Float64}
    )


def clusters(pairs: pl.DataFrame) -> pl.DataFrame:
    """``id`` → ``cluster_id`` (connected components over the pairs)."""
    if pairs.height == 0:
        return pl.DataFrame(schema={"id": pl.Int64, "cluster_id": pl.String})
    edges = pairs.select(
        pl.col("id_a").alias("unique_id_l"),
        pl.col("id_b").alias("unique_id_r"),
        pl.lit(1.0).alias("match_probability"),
    )
    return linkage.cluster(edges, 0.0).rename({"unique_id": "id"})


def details_json(pairs: pl.DataFrame) -> pl.Series:
    """One JSON document per pair: ``{"levels": {comparison: level}, "a": {...}, "b": {...}}``."""
    gammas = [c for c in pairs.columns if c.startswith("gamma_")]
    values = [c for c in DETAIL_VALUES if f"{c}_a" in pairs.columns]
    levels = (
        pl.struct([pl.col(g).alias(g.removeprefix("gamma_")) for g in gammas]) if gammas else pl.lit(None)
    )
    side = (
        {s: pl.struct([pl.col(f"{v}_{s}").alias(v) for v in values]) for s in ("a", "b")} if values else None
    )
    parts = [levels.alias("levels")]
    if side:
        parts += [side["a"].alias("a"), side["b"].alias("b")]
    return pairs.select(pl.struct(parts).struct.json_encode().alias("details"))["details"]


# --------------------------------------------------------------------------- the job


@dataclass
class DedupeResult:
    run: DedupeRun
    pairs: pl.DataFrame  # id_a, id_b, probability, ..., status, cluster_id, ref_a, ref_b
    timings: dict[str, float] = field(default_factory=dict)


def _known_pairs() -> pl.DataFrame:
    frames = arrowdb.read(
        {"known": "SELECT person_a_id AS id_a, person_b_id AS id_b FROM identity_matchcandidate"}
    )
    return frames["known"].with_columns(pl.col("id_a").cast(pl.Int64), pl.col("id_b").cast(pl.Int64))


def _last_finished_run() -> DedupeRun | None:
    return DedupeRun.objects.filter(status=DedupeRun.STATUS_DONE).order_by("-pk").first()


def run(
    country: str,
    *,
    scope: str = DedupeRun.SCOPE_ALL,
    auto_link: float = AUTO_LINK_THRESHOLD,
    review: float = REVIEW_THRESHOLD,
    retrain: bool = False,
    export: Path | None = None,
    actor_name: str = "system",
    progress: Progress | None = None,
) -> DedupeResult:
    """Run deduplication and queue the pairs found (see the module docstring)."""
    if not 0.0 < review <= auto_link <= 1.0:
        raise ValueError(f"thresholds must satisfy 0 < review ({review}) <= auto-link ({auto_link}) <= 1")
    if scope not in (DedupeRun.SCOPE_ALL, DedupeRun.SCOPE_NEW):
        raise ValueError(f"scope must be 'all' or 'new', not {scope!r}")
    say = progress or (lambda _msg: None)
    lap = Laps()
    timings = lap.timings

    previous = _last_finished_run()
    # Opened first: a person registered while this run reads is newer than its change set,
    # so the next "new only" run picks them up.
    cs = open_changeset(actor_name=actor_name, channel="SYSTEM", reason=f"deduplication ({scope}, {country})")
    dedupe_run = DedupeRun.objects.create(
        started_at=cs.at,
        scope=scope,
        auto_link_threshold=auto_link,
        review_threshold=review,
        actor_name=actor_name,
        changeset=cs,
    )
    try:
        say("read")
        raw = person_frame.registry_persons(country)
        lap("read")
        say("keys")
        frame = person_frame.canonical(raw, country) if raw.height else raw
        lap("keys")
        new_ids: pl.Series | None = None
        if scope == DedupeRun.SCOPE_NEW and previous is not None and previous.changeset_id:
            new_ids = frame.filter(pl.col("changeset_id") > previous.changeset_id)["unique_id"]
        say("model")
        found = None if retrain else current_model(country)
        if frame.height < 2:
            model_version, pairs = (found[1] if found else ""), _empty_pairs()
        else:
            model, model_version = found if found else train_model(frame, country)
            lap("model")
            say("pairs")
            pairs = score_pairs(frame, model, review, new_ids)
        lap("pairs")
        say("write")
        known = _known_pairs()
        fresh = pairs.join(known, on=["id_a", "id_b"], how="anti") if known.height else pairs
        cl = clusters(fresh)
        fresh = fresh.join(cl.rename({"id": "id_a"}), on="id_a", how="left").with_columns(
            pl.when(pl.col("probability") >= auto_link)
            .then(pl.lit(MatchCandidate.AUTO_LINKED))
            .otherwise(pl.lit(MatchCandidate.PENDING))
            .alias("status")
        )
        refs = (
            frame.select(
                pl.col("unique_id"),
                pl.when(pl.col("external_ref") != "")
                .then(pl.col("external_ref"))
                .otherwise(pl.col("registry_id"))
                .alias("ref"),
            )
            if frame.height
            else pl.DataFrame(schema={"unique_id": pl.Int64, "ref": pl.String})
        )
        fresh = fresh.join(refs.rename({"unique_id": "id_a", "ref": "ref_a"}), on="id_a", how="left").join(
            refs.rename({"unique_id": "id_b", "ref": "ref_b"}), on="id_b", how="left"
        )
        _write(dedupe_run, fresh, model_version, frame.height if new_ids is None else new_ids.len())
        lap("write")
        if export is not None:
            write_export(fresh, export)
    except BaseException as exc:
        DedupeRun.objects.filter(pk=dedupe_run.pk).update(
            status=DedupeRun.STATUS_FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"
        )
        raise
    dedupe_run.refresh_from_db()
    return DedupeResult(dedupe_run, fresh, timings)


def _write(
    dedupe_run: DedupeRun,
    pairs: pl.DataFrame,
    model_version: str,
    persons: int,
) -> None:
    cs_id = dedupe_run.changeset_id
    now = timezone.now().isoformat()
    ts = arrowdb.timestamp_param()
    json_value = "CAST(t.details AS jsonb)" if vendor() == "postgresql" else "t.details"
    auto = pairs.filter(pl.col("status") == MatchCandidate.AUTO_LINKED).height
    tmp = (
        pairs.select(
            pl.col("id_a").cast(pl.Int64),
            pl.col("id_b").cast(pl.Int64),
            pl.col("probability").cast(pl.Float64),
            pl.col("match_weight").cast(pl.Float64),
            details_json(pairs).alias("details") if pairs.height else pl.lit("{}").alias("details"),
            pl.col("status").cast(pl.String),
            pl.col("cluster_id").cast(pl.String).fill_null(""),
        )
        if pairs.height
        else pl.DataFrame(
            schema={
                "id_a": pl.Int64,
                "id_b": pl.Int64,
                "probability": pl.Float64,
                "match_weight": pl.Float64,
                "details": pl.String,
                "status": pl.String,
                "cluster_id": pl.String,
            }
        )
    )
    decider = f"sijill dedupe (auto-link ≥ {dedupe_run.auto_link_threshold})"
    steps: list[arrowdb.Step] = [
        arrowdb.Ingest("tmp_candidate", tmp, temporary=True),
        arrowdb.Sql(
            f"""INSERT INTO identity_matchcandidate (run_id, person_a_id, person_b_id, kind, probability,
                   match_weight, details, status, cluster_id, decided_by, decided_at, decision_reason,
                   created_at, created_changeset_id)
               SELECT %s, t.id_a, t.id_b, %s, t.probability, t.match_weight, {json_value}, t.status, t.cluster_id,
                   CASE WHEN t.status = %s THEN %s ELSE '' END,
                   CASE WHEN t.status = %s THEN {ts} ELSE NULL END,
                   CASE WHEN t.status = %s THEN %s ELSE '' END,
                   {ts}, %s
               FROM tmp_candidate t ORDER BY t.probability DESC""",
            [
                dedupe_run.pk,
                MatchCandidate.PROBABLE,
                MatchCandidate.AUTO_LINKED,
                decider,
                MatchCandidate.AUTO_LINKED,
                now,
                MatchCandidate.AUTO_LINKED,
                f"match probability at or above {dedupe_run.auto_link_threshold}",
                now,
                cs_id,
            ],
        ),
        arrowdb.Sql(
            f"""UPDATE identity_deduperun SET status = %s, finished_at = {ts}, model_version = %s, persons = %s,
                   pairs = %s, auto_linked = %s, for_review = %s WHERE id = %s""",
            [
                DedupeRun.STATUS_DONE,
                now,
                model_version,
                persons,
                pairs.height,
                auto,
                pairs.height - auto,
                dedupe_run.pk,
            ],
        ),
    ]
    arrowdb.write(steps)


def write_export(pairs: pl.DataFrame, path: Path) -> None:
    """``ref_a,ref_b,probability``: the import file's person references (registry ids for
    persons that came from no file), best first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = (
        pairs.select("ref_a", "ref_b", pl.col("probability").round(6))
        if pairs.height
        else pl.DataFrame(schema={"ref_a": pl.String, "ref_b": pl.String, "probability": pl.Float64})
    )
    out.write_csv(path)
