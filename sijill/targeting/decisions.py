"""From computed results to programme decisions, set-based.

Given each household's new score and programme results, and the decisions currently in
force, :func:`changed_decisions` returns only the decisions that change, each with its
reason: the first assessment, a score that crossed the programme's threshold, another
eligibility condition, or a new amount. Used by the batch run and by the
single-household recomputation alike.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from sijill.targeting.openfisca.system import Rules

DECISION_COLUMNS = ["household_id", "programme", "eligible", "amount", "score", "reason_code", "reason"]


def thresholds(rules: Rules, as_of: dt.date) -> dict[str, float]:
    """Each programme's score threshold in force at ``as_of`` (programmes that have one)."""
    out: dict[str, float] = {}
    params = rules.tbs.get_parameters_at_instant(as_of.isoformat())
    for prog in rules.programmes:
        path = getattr(prog, "threshold_parameter", None)
        if not path:
            continue
        node: Any = params
        for part in path.split("."):
            node = node[part]
        out[prog.code] = float(node)
    return out


def results_long(rules: Rules, results: pl.DataFrame) -> pl.DataFrame:
    """One row per (household, programme): eligibility and monthly amount (null when not eligible)."""
    parts = []
    for prog in rules.programmes:
        eligible = pl.col(prog.eligible_variable).cast(pl.Boolean)
        amount = (
            pl.when(eligible).then(pl.col(prog.amount_variable).cast(pl.Float64).round(2)).otherwise(None)
            if prog.amount_variable
            else pl.lit(None, pl.Float64)
        )
        parts.append(
            results.select(
                "household_id",
                pl.lit(prog.code).alias("programme"),
                eligible.alias("eligible"),
                amount.alias("amount"),
                pl.col("pmt_score").cast(pl.Float64).alias("score"),
            )
        )
    if not parts:
        return pl.DataFrame(schema={"household_id": pl.Int64, "programme": pl.Utf8, "eligible": pl.Boolean,
                                    "amount": pl.Float64, "score": pl.Float64})  # fmt: skip
    return pl.concat(parts)


def changed_decisions(
    new: pl.DataFrame, current: pl.DataFrame, limits: dict[str, float], exited: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The decisions to write.

    ``new``: household_id, programme, eligible, amount, score (from :func:`results_long`).
    ``current``: the same columns for the decisions in force (may be empty).
    ``exited``: household ids no longer in the population whose current decisions are eligible.
    """
    cur = current.select(
        pl.col("household_id").cast(pl.Int64),
        pl.col("programme").cast(pl.Utf8),
        pl.col("eligible").cast(pl.Int64).cast(pl.Boolean).alias("old_eligible"),
        pl.col("amount").cast(pl.Float64).round(2).alias("old_amount"),
        pl.col("score").cast(pl.Float64).alias("old_score"),
    )
    limit = pl.col("programme").replace_strict(limits, default=None, return_dtype=pl.Float64)
    j = new.join(cur, on=["household_id", "programme"], how="left").with_columns(limit.alias("_limit"))
    first = pl.col("old_eligible").is_null()
    flipped = pl.col("old_eligible") != pl.col("eligible")
    crossed = (
        pl.col("_limit").is_not_null()
        & pl.col("old_score").is_not_null()
        & ((pl.col("old_score") <= pl.col("_limit")) != (pl.col("score") <= pl.col("_limit")))
    )
    amount_changed = ~pl.col("old_amount").eq_missing(pl.col("amount"))
    score_txt = pl.col("score").round(7).cast(pl.Utf8)
    side = pl.when(pl.col("score") <= pl.col("_limit")).then(pl.lit("at or below")).otherwise(pl.lit("above"))
    reason_code = (
        pl.when(first)
        .then(pl.lit("FIRST"))
        .when(flipped & crossed)
        .then(pl.lit("SCORE_CROSSED"))
        .when(flipped)
        .then(pl.lit("CONDITIONS"))
        .otherwise(pl.lit("AMOUNT"))
    )
    reason = (
        pl.when(first)
        .then(pl.format("first decision; score {}", score_txt))
        .when(flipped & crossed)
        .then(
            pl.format(
                "score moved from {} to {}, {} the {} threshold {}",
                pl.col("old_score").round(7).cast(pl.Utf8),
                score_txt,
                side,
                pl.col("programme"),
                pl.col("_limit").cast(pl.Utf8),
            )
        )
        .when(flipped)
        .then(
            pl.when(pl.col("eligible"))
            .then(pl.lit("eligibility conditions now met"))
            .otherwise(pl.lit("eligibility conditions no longer met"))
        )
        .otherwise(
            pl.format(
                "monthly amount changed from {} to {}",
                pl.col("old_amount").cast(pl.Utf8).fill_null("none"),
                pl.col("amount").cast(pl.Utf8).fill_null("none"),
            )
        )
    )
    out = j.filter(first | flipped | amount_changed).select(
        "household_id", "programme", "eligible", "amount", "score",
        reason_code.alias("reason_code"), reason.alias("reason"),
    )  # fmt: skip
    if exited is not None and exited.height:
        gone = cur.filter(
            pl.col("old_eligible") & pl.col("household_id").is_in(exited["household_id"].implode())
        ).select(
            "household_id",
            "programme",
            pl.lit(False).alias("eligible"),
            pl.lit(None, pl.Float64).alias("amount"),
            pl.lit(None, pl.Float64).alias("score"),
            pl.lit("EXITED").alias("reason_code"),
            pl.lit("the household is no longer in the registry (deleted or no members left)").alias("reason"),
        )
        out = pl.concat([out, gone])
    return out
