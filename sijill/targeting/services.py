"""Writes of the targeting room: score households and record programme decisions.

- :func:`score` is the batch (``sijill score``): read the registry as Arrow, one
  vectorised OpenFisca run, then one transaction that writes only what changed.
- :func:`rescore_household` recomputes one household inside the caller's transaction,
  so a change to a household updates its score and programmes in the same request.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sijill.core import arrowdb
from sijill.core.bulk import query_frame
from sijill.core.history import open_changeset
from sijill.core.timing import Laps
from sijill.programmes.models import Decision, Programme
from sijill.targeting import compute, decisions, population, simulation
from sijill.targeting.models import Assessment, ScoringRun
from sijill.targeting.openfisca.system import Rules, load_rules
from sijill.targeting.pmt_fit import rules_for

Progress = Callable[[str], None]


def sync_programmes(rules: Rules) -> None:
    for prog in rules.programmes:
        Programme.objects.update_or_create(
            country=rules.country,
            code=prog.code,
            defaults={
                "name_fr": prog.name.get("fr", prog.code),
                "name_ar": prog.name.get("ar", ""),
                "name_en": prog.name.get("en", ""),
                "agency": prog.agency or "",
                "legal_basis": prog.legal_basis or "",
                "amount_kind": prog.amount_kind or "",
            },
        )


def _selected(
    sql: str, params: list[Any], household_ids: Sequence[int] | None, column: str
) -> tuple[str, list[Any]]:
    """The query restricted to a selection of households (all when ``household_ids`` is None)."""
    if household_ids is None:
        return sql, params
    from sijill.core.bulk import in_list_sql, json_list_param

    return f"{sql} AND {in_list_sql(column)}", [*params, json_list_param(household_ids)]


def _state_queries(
    country: str, as_of: dt.date, household_ids: Sequence[int] | None
) -> dict[str, tuple[str, list[Any]]]:
    """What is in force now: current assessments, current decisions, and candidates for exit."""
    assessments = """
        SELECT a.household_id, a.score, a.model_version, a.parameters_version, a.household_version
        FROM targeting_assessment a JOIN registry_household h ON h.id = a.household_id
        WHERE a.is_current = %s AND h.country = %s
    """
    # Nulls travel as -1 (amounts and scores are never negative): ADBC's SQLite driver types a
    # column from its first rows and fails on a later value of another type.
    decisions = """
        SELECT d.household_id, d.programme, d.eligible,
               COALESCE(CAST(d.amount AS DOUBLE PRECISION), -1.0) AS amount, COALESCE(d.score, -1.0) AS score
        FROM programmes_decision d JOIN registry_household h ON h.id = d.household_id
        WHERE d.is_current = %s AND h.country = %s
    """
    # Deleted, or registered by as_of (households registered after as_of are not exits).
    exits = f"""
        SELECT DISTINCT d.household_id FROM programmes_decision d
        JOIN registry_household h ON h.id = d.household_id
        WHERE d.is_current = %s AND d.eligible = %s AND h.country = %s
          AND (h.is_deleted = %s OR h.registered_on <= {arrowdb.date_param()})
    """
    return {
        "assessments": _selected(assessments, [True, country], household_ids, "a.household_id"),
        "decisions": _selected(decisions, [True, country], household_ids, "d.household_id"),
        "exits": _selected(
            exits, [True, True, country, True, as_of.isoformat()], household_ids, "d.household_id"
        ),
    }


class _State:
    """The assessments and decisions in force, read beside the population (bulk) or at once (one household)."""

    def __init__(self, country: str, as_of: dt.date, household_ids: Sequence[int] | None, bulk: bool) -> None:
        queries = _state_queries(country, as_of, household_ids)
        self.pending = arrowdb.start_reads(queries) if bulk else None
        self.queries = queries

    def _get(self, name: str) -> pl.DataFrame:
        if self.pending is not None:
            return self.pending.get(name)
        sql, params = self.queries[name]
        return query_frame(sql, params)

    def assessments(self) -> pl.DataFrame:
        return self._get("assessments")

    def decisions(self) -> pl.DataFrame:
        df = self._get("decisions")
        if df.height == 0 or df.width == 0:
            return pl.DataFrame(schema={"household_id": pl.Int64, "programme": pl.Utf8, "eligible": pl.Boolean,
                                        "amount": pl.Float64, "score": pl.Float64})  # fmt: skip
        return df.with_columns(
            pl.col("household_id").cast(pl.Int64),
            pl.col("eligible").cast(pl.Int64).cast(pl.Boolean),
            *[
                pl.when(pl.col(c).cast(pl.Float64) < 0)
                .then(None)
                .otherwise(pl.col(c).cast(pl.Float64))
                .alias(c)
                for c in ("amount", "score")
            ],
        )

    def exited(self, pop: population.Population) -> pl.DataFrame:
        """Households with an eligible decision in force that are no longer in the population."""
        ids = self._get("exits")
        if ids.height == 0 or ids.width == 0:
            return pl.DataFrame(schema={"household_id": pl.Int64})
        return ids.select(pl.col("household_id").cast(pl.Int64)).filter(
            ~pl.col("household_id").is_in(pop.households["household_id"].implode())
        )


def new_assessments(
    results: pl.DataFrame, pop: population.Population, current: pl.DataFrame, rules: Rules
) -> pl.DataFrame:
    """Households whose score, inputs version, model or rules differ from their current assessment."""
    base = pop.households.select("household_id", "version", "milieu", "region").join(
        results.select("household_id", pl.col("pmt_score").cast(pl.Float64).alias("score")), on="household_id"
    )
    cur = current.select(
        pl.col("household_id").cast(pl.Int64),
        pl.col("score").cast(pl.Float64).alias("old_score"),
        pl.col("model_version").cast(pl.Utf8).alias("old_model"),
        pl.col("parameters_version").cast(pl.Utf8).alias("old_params"),
        pl.col("household_version").cast(pl.Int64).alias("old_version"),
    )
    j = base.join(cur, on="household_id", how="left")
    changed = (
        pl.col("old_score").is_null()
        | (pl.col("old_score") != pl.col("score"))
        | (pl.col("old_model") != rules.pmt_model.version)
        | (pl.col("old_params") != rules.parameters_version)
        | (pl.col("old_version") != pl.col("version"))
    )
    return j.filter(changed).select(
        "household_id", pl.col("version").alias("household_version"), "score", "milieu", "region"
    )


def score(
    country: str,
    as_of: dt.date,
    *,
    household_ids: Sequence[int] | None = None,
    actor_name: str = "system",
    reason: str = "",
    pmt_model: str | None = None,
    progress: Progress | None = None,
) -> tuple[ScoringRun, pl.DataFrame]:
    """Score the country's households (or a selection) at ``as_of``; return the run and the results."""
    say = progress or (lambda _msg: None)
    rules = rules_for(country, pmt_model)
    sync_programmes(rules)
    cs = open_changeset(actor_name=actor_name, channel="SYSTEM", reason=reason or f"scoring as of {as_of}")
    run = ScoringRun.objects.create(
        kind=ScoringRun.KIND_BATCH, country=country, as_of=as_of, model_version=rules.pmt_model.version,
        parameters_version=rules.parameters_version, changeset=cs, started_at=cs.at,
    )  # fmt: skip
    lap = Laps()
    timings = lap.timings

    try:
        say("read")
        state = _State(country, as_of, household_ids, bulk=True)  # read beside the population
        pop = population.load(country, as_of, household_ids, bulk=True)
        lap("read")
        say("compute")
        prepared = compute.prepare(rules, pop)
        results = compute.score_population(rules, pop, as_of, prepared=prepared)
        lap("compute")
        if household_ids is None:  # what-ifs on this population start from here (targeting.simulation)
            folder = population.save_snapshot(pop)
            keep = ["household_id", "pmt_score", *compute.programme_variables(rules)]
            results.select(keep).write_ipc(folder / f"results-{rules.parameters_version}.arrow")
            compute.save_prepared(prepared, folder / f"prepared-{rules.parameters_version}.npz")
            simulation.describe_households(pop).write_ipc(folder / "describe.arrow")
            lap("snapshot")
        say("write")
        features_path = _write_features(run, rules, results)
        current_a = state.assessments()
        current_d = state.decisions()
        fresh = new_assessments(results, pop, current_a, rules)
        exited = state.exited(pop)
        changes = decisions.changed_decisions(
            decisions.results_long(rules, results), current_d, decisions.thresholds(rules, as_of), exited
        )
        lap("compare")
        _write_batch(run, rules, fresh, changes, features_path, results.height)
        lap("write")
        ScoringRun.objects.filter(pk=run.pk).update(timings=timings)
    except Exception as exc:
        ScoringRun.objects.filter(pk=run.pk).update(
            status="failed", finished_at=timezone.now(), error=str(exc)
        )
        raise
    run.refresh_from_db()
    return run, results.join(
        pop.households.select("household_id", "registry_id", "external_ref"), on="household_id"
    )


def _write_features(run: ScoringRun, rules: Rules, results: pl.DataFrame) -> str:
    folder = settings.VAR_DIR / "scoring"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"run-{run.pk}-features.parquet"
    cols = ["household_id", "pmt_score", *[f for f in compute.feature_names(rules) if f in results.columns]]
    results.select(cols).write_parquet(path)
    return str(path)


def _write_batch(
    run: ScoringRun,
    rules: Rules,
    fresh: pl.DataFrame,
    changes: pl.DataFrame,
    features_path: str,
    households: int,
) -> None:
    now = timezone.now()
    true, false = True, False
    d, ts = arrowdb.date_param(), arrowdb.timestamp_param()
    steps: list[arrowdb.Step] = [
        arrowdb.Ingest(
            "tmp_new_assessment",
            fresh.select(
                pl.col("household_id").cast(pl.Int64),
                pl.col("household_version").cast(pl.Int64),
                pl.col("score").cast(pl.Float64),
                pl.col("milieu").cast(pl.Utf8),
                pl.col("region").cast(pl.Utf8),
            ),
            temporary=True,
        ),
        arrowdb.Sql(
            "UPDATE targeting_assessment SET is_current = %s WHERE is_current = %s"
            " AND household_id IN (SELECT household_id FROM tmp_new_assessment)",
            [false, true],
        ),
        arrowdb.Sql(
            f"""INSERT INTO targeting_assessment (household_id, run_id, household_version, as_of, score, milieu,
                   region, model_version, parameters_version, inputs, computed_at, is_current)
               SELECT household_id, %s, household_version, {d}, score, milieu, region, %s, %s, NULL, {ts}, %s
               FROM tmp_new_assessment""",
            [
                run.pk,
                run.as_of.isoformat(),
                rules.pmt_model.version,
                rules.parameters_version,
                now.isoformat(),
                true,
            ],
        ),
        arrowdb.Ingest(
            "tmp_decision",
            # In household order, so that the decision indexes grow at their end.
            changes.sort("household_id", "programme").select(
                pl.col("household_id").cast(pl.Int64),
                pl.col("programme").cast(pl.Utf8),
                pl.col("eligible").cast(pl.Boolean),
                pl.col("amount").cast(pl.Float64),
                pl.col("score").cast(pl.Float64),
                pl.col("reason_code").cast(pl.Utf8),
                pl.col("reason").cast(pl.Utf8),
            ),
            temporary=True,
        ),
        arrowdb.Sql(
            """UPDATE programmes_decision SET is_current = %s WHERE is_current = %s AND EXISTS (
                   SELECT 1 FROM tmp_decision t
                   WHERE t.household_id = programmes_decision.household_id
                     AND t.programme = programmes_decision.programme)""",
            [false, true],
        ),
        arrowdb.Sql(
            f"""INSERT INTO programmes_decision (household_id, programme, eligible, amount, score, assessment_id,
                   run_id, effective_from, reason_code, reason, decided_at, is_current)
               SELECT t.household_id, t.programme, t.eligible, t.amount, t.score, a.id, %s, {d}, t.reason_code,
                   t.reason, {ts}, %s
               FROM tmp_decision t
               LEFT JOIN targeting_assessment a ON a.household_id = t.household_id AND a.is_current = %s""",
            [run.pk, run.as_of.isoformat(), now.isoformat(), true, true],
        ),
        arrowdb.Sql(
            f"""UPDATE targeting_scoringrun SET status = 'done', finished_at = {ts}, households = %s,
                   new_assessments = %s, changed_decisions = %s, features_path = %s WHERE id = %s""",
            [now.isoformat(), households, fresh.height, changes.height, features_path, run.pk],
        ),
    ]
    arrowdb.write(steps)


# --------------------------------------------------------------------------- one household


def rescore_household(household: Any, *, actor_name: str = "system", reason: str = "") -> Assessment | None:
    """Recompute one household now, in the caller's transaction. Returns its current assessment."""
    country = household.country
    rules = load_rules(country)
    today = timezone.localdate()
    with transaction.atomic():
        pop = population.load(country, today, [household.pk], bulk=False)
        state = _State(country, today, [household.pk], bulk=False)
        current_d = state.decisions()
        if pop.size == 0:  # deleted, or nobody left in it: its programmes end
            changes = decisions.changed_decisions(
                _empty_long(), current_d, {}, pl.DataFrame({"household_id": [household.pk]})
            )
            if changes.height:
                run = _household_run(rules, today, actor_name, reason)
                _save_decisions(run, changes, None, today)
            return None
        results = compute.score_population(rules, pop, today)
        current_a = state.assessments()
        fresh = new_assessments(results, pop, current_a, rules)
        changes = decisions.changed_decisions(
            decisions.results_long(rules, results), current_d, decisions.thresholds(rules, today)
        )
        if fresh.height == 0 and changes.height == 0:
            return Assessment.objects.filter(household_id=household.pk, is_current=True).first()
        run = _household_run(rules, today, actor_name, reason)
        assessment = Assessment.objects.filter(household_id=household.pk, is_current=True).first()
        if fresh.height:
            row = fresh.row(0, named=True)
            features = {
                k: _plain(v)
                for k, v in results.select(
                    [f for f in compute.feature_names(rules, row["milieu"]) if f in results.columns]
                )
                .row(0, named=True)
                .items()
            }
            Assessment.objects.filter(household_id=household.pk, is_current=True).update(is_current=False)
            assessment = Assessment.objects.create(
                household_id=household.pk, run=run, household_version=row["household_version"], as_of=today,
                score=row["score"], milieu=row["milieu"], region=row["region"],
                model_version=rules.pmt_model.version, parameters_version=rules.parameters_version,
                inputs=features, computed_at=run.started_at, is_current=True,
            )  # fmt: skip
        _save_decisions(run, changes, assessment, today)
        ScoringRun.objects.filter(pk=run.pk).update(
            status="done", finished_at=timezone.now(), households=1, new_assessments=fresh.height,
            changed_decisions=changes.height,
        )  # fmt: skip
        return assessment


def _empty_long() -> pl.DataFrame:
    return pl.DataFrame(schema={"household_id": pl.Int64, "programme": pl.Utf8, "eligible": pl.Boolean,
                                "amount": pl.Float64, "score": pl.Float64})  # fmt: skip


def _plain(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 9)
    return json.loads(json.dumps(v, default=str))


def _household_run(rules: Rules, today: dt.date, actor_name: str, reason: str) -> ScoringRun:
    cs = open_changeset(actor_name=actor_name, channel="SYSTEM", reason=reason or "household changed")
    return ScoringRun.objects.create(
        kind=ScoringRun.KIND_HOUSEHOLD, country=rules.country, as_of=today,
        model_version=rules.pmt_model.version, parameters_version=rules.parameters_version, changeset=cs,
        started_at=cs.at,
    )  # fmt: skip


def _save_decisions(
    run: ScoringRun, changes: pl.DataFrame, assessment: Assessment | None, today: dt.date
) -> None:
    for row in changes.iter_rows(named=True):  # one household: a handful of programmes
        Decision.objects.filter(
            household_id=row["household_id"], programme=row["programme"], is_current=True
        ).update(is_current=False)
        Decision.objects.create(
            household_id=row["household_id"], programme=row["programme"], eligible=row["eligible"],
            amount=None if row["amount"] is None else f"{row['amount']:.2f}", score=row["score"],
            assessment=assessment, run=run, effective_from=today, reason_code=row["reason_code"],
            reason=row["reason"], decided_at=run.started_at, is_current=True,
        )  # fmt: skip
