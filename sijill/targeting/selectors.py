"""Reads of the targeting room: run summaries, exports, a household's score explained."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from sijill.programmes.models import Decision
from sijill.targeting import compute
from sijill.targeting.models import Assessment, ScoringRun
from sijill.targeting.openfisca.system import Rules
from sijill.targeting.pmt_fit import rules_for


def run_summary(run: ScoringRun, results: pl.DataFrame) -> dict[str, Any]:
    rules = rules_for(run.country, run.model_version)
    programmes: dict[str, Any] = {}
    for prog in rules.programmes:
        eligible = results[prog.eligible_variable].cast(pl.Boolean)
        amount = (
            float(results.filter(eligible)[prog.amount_variable].cast(pl.Float64).sum())
            if prog.amount_variable
            else 0.0
        )
        programmes[prog.code] = {
            "beneficiaries": int(eligible.sum()),
            "monthly_amount": round(amount, 2),
            "amount_kind": prog.amount_kind,
        }
    scores = results["pmt_score"].cast(pl.Float64)
    return {
        "run": run.pk,
        "country": run.country,
        "as_of": run.as_of.isoformat(),
        "model_version": run.model_version,
        "parameters_version": run.parameters_version,
        "households": results.height,
        "new_assessments": run.new_assessments,
        "changed_decisions": run.changed_decisions,
        "timings": run.timings,
        "score": {
            "mean": round(float(scores.mean() or 0), 7),  # type: ignore[arg-type]
            "min": round(float(scores.min() or 0), 7),  # type: ignore[arg-type]
            "max": round(float(scores.max() or 0), 7),  # type: ignore[arg-type]
        },
        "programmes": programmes,
    }


def export_frame(country: str, results: pl.DataFrame, run: ScoringRun) -> pl.DataFrame:
    """One row per household: household_ref, registry_id, score, model_version, programmes, amounts."""
    rules = rules_for(country, run.model_version)
    eligible_codes = [
        pl.when(pl.col(p.eligible_variable).cast(pl.Boolean)).then(pl.lit(p.code)).otherwise(None)
        for p in rules.programmes
    ]
    amounts = [
        pl.when(pl.col(p.eligible_variable).cast(pl.Boolean))
        .then(pl.col(p.amount_variable).cast(pl.Float64).round(2))
        .otherwise(0.0)
        .alias(p.export_column)
        for p in rules.programmes
        if p.export_column and p.amount_variable
    ]
    return results.sort("household_id").select(
        pl.col("external_ref").alias("household_ref"),
        "registry_id",
        pl.col("pmt_score").cast(pl.Float64).round(7).alias("score"),
        pl.lit(run.model_version).alias("model_version"),
        pl.concat_list(eligible_codes).list.drop_nulls().list.join(";").alias("programmes")
        if eligible_codes
        else pl.lit("").alias("programmes"),
        *amounts,
    )


def current_assessment(household_id: int) -> Assessment | None:
    return Assessment.objects.filter(household_id=household_id, is_current=True).first()


def current_decisions(household_id: int) -> list[Decision]:
    return list(Decision.objects.filter(household_id=household_id, is_current=True).order_by("programme"))


def decision_history(household_id: int) -> list[Decision]:
    return list(Decision.objects.filter(household_id=household_id).order_by("decided_at", "id"))


@dataclass
class Contribution:
    name: str
    label: str
    value: float
    coefficient: float
    contribution: float


@dataclass
class Explanation:
    score: float
    model_version: str
    model_label: str
    unofficial: bool
    milieu: str
    milieu_constant: float
    region: str
    region_constant: float
    items: list[Contribution]

    @property
    def total(self) -> float:
        return self.milieu_constant + self.region_constant + sum(i.contribution for i in self.items)


def _features(assessment: Assessment, rules: Rules) -> dict[str, float]:
    if assessment.inputs:
        return {k: float(v) for k, v in assessment.inputs.items()}
    run = assessment.run
    if run.features_path:
        try:
            row = (
                pl.scan_parquet(run.features_path)
                .filter(pl.col("household_id") == assessment.household_id)
                .collect()
            )
        except (FileNotFoundError, OSError):
            row = pl.DataFrame()
        if row.height:
            return {
                k: float(v)
                for k, v in row.row(0, named=True).items()
                if k not in ("household_id", "pmt_score")
            }
    # Recompute from the registry (same household version: same inputs).
    from sijill.targeting import population

    pop = population.load(
        assessment.household.country, assessment.as_of, [assessment.household_id], bulk=False
    )
    res = compute.calculate(rules, pop, assessment.as_of, compute.feature_names(rules, assessment.milieu))
    return {k: float(v) for k, v in res.row(0, named=True).items() if k != "household_id"}


def explain(assessment: Assessment, lang: str = "fr") -> Explanation:
    """Each variable's share of the score, in the citizen's language, largest first."""
    rules = rules_for(assessment.household.country, assessment.model_version)
    model = rules.pmt_model
    values = _features(assessment, rules)
    items = []
    for name, feat in model.features[assessment.milieu].items():
        value = values.get(name, 0.0)
        coef = float(feat.coef)
        items.append(
            Contribution(
                name, feat.label.get(lang) or feat.label.get("fr") or name, value, coef, value * coef
            )
        )
    items.sort(key=lambda c: -abs(c.contribution))
    return Explanation(
        score=assessment.score,
        model_version=model.version,
        model_label=(model.label.get(lang) or model.label.get("fr", ""))
        if isinstance(model.label, dict)
        else str(model.label),
        unofficial=bool(model.unofficial),
        milieu=assessment.milieu,
        milieu_constant=float(model.milieu_constant[assessment.milieu]),
        region=assessment.region,
        region_constant=float(model.region_constant[assessment.milieu].get(assessment.region, 0.0)),
        items=items,
    )
