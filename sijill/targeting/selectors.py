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


# --------------------------------------------------------------------------- entitlements


@dataclass
class PartLine:
    label: str
    amount: float


@dataclass
class MemberLine:
    person_id: int
    name: str
    values: list[tuple[str, str, float]]  # (label, format, value)


@dataclass
class Entitlement:
    """A programme's amount for one household, taken apart by the rules that make it."""

    code: str
    name: str
    currency: str
    amount_kind: str
    eligible: bool
    total: float | None
    parts: list[PartLine]
    members: list[MemberLine]
    member_labels: list[tuple[str, str]]  # (label, format) of the member columns
    one_offs: list[PartLine]
    decided_amount: float | None  # the amount of the current decision, if any

    @property
    def parts_total(self) -> float:
        return sum(p.amount for p in self.parts)

    @property
    def differs_from_decision(self) -> bool:
        """The household changed since its decision: the next assessment will change the amount."""
        if self.decided_amount is None or self.total is None:
            return False
        return abs(self.decided_amount - self.total) > 0.005


def entitlements(household: Any, lang: str = "fr", as_of: Any = None) -> list[Entitlement]:
    """Each programme's eligibility and amount for ``household`` on ``as_of`` (today), with the
    parts of the amount and what each member brings, computed by the country's rules.

    The rules run on this one household (a simulation of a few persons: tens of
    milliseconds). Decisions store the total only; this is how a social worker or the
    household sees where the total comes from.
    """
    import datetime as dt

    import numpy as np
    from django.utils import timezone

    from sijill.targeting import population
    from sijill.targeting.openfisca.system import load_rules

    day: dt.date = as_of or timezone.localdate()
    rules = load_rules(household.country)
    pop = population.load(household.country, day, [household.pk], bulk=False)
    if pop.size == 0:
        return []
    period = compute.period_of(day)
    sim = compute.build(rules, pop, period)

    def household_value(name: str) -> float:
        return float(np.asarray(sim.calculate(name, period))[0])

    person_ids = pop.persons["person_id"].to_list()
    names = _member_names(person_ids)
    decided = {
        d.programme: (float(d.amount) if d.amount is not None else None)
        for d in Decision.objects.filter(household_id=household.pk, is_current=True, eligible=True)
    }
    out = []
    for prog in rules.programmes:
        eligible = bool(household_value(prog.eligible_variable))
        total = household_value(prog.amount_variable) if prog.amount_variable else None
        parts = [PartLine(p.label(lang), household_value(p.variable)) for p in prog.breakdown]
        member_cols = [(p.label(lang), p.format) for p in prog.member_breakdown]
        columns = [np.asarray(sim.calculate(p.variable, period)) for p in prog.member_breakdown]
        members = []
        for i, pid in enumerate(person_ids):
            values = [
                (label, fmt, float(col[i])) for (label, fmt), col in zip(member_cols, columns, strict=True)
            ]
            if any(v for _label, _fmt, v in values):
                members.append(MemberLine(pid, names.get(pid, ""), values))
        one_offs = [PartLine(p.label(lang), household_value(p.variable)) for p in prog.one_off_names]
        out.append(
            Entitlement(
                code=prog.code,
                name=prog.name.get(lang) or prog.name.get("fr") or prog.code,
                currency=prog.currency,
                amount_kind=prog.amount_kind,
                eligible=eligible,
                total=total,
                parts=[p for p in parts if p.amount],
                members=members,
                member_labels=member_cols,
                one_offs=[p for p in one_offs if p.amount],
                decided_amount=decided.get(prog.code),
            )
        )
    return out


def _member_names(person_ids: list[int]) -> dict[int, str]:
    from sijill.registry.models import Person

    return {
        p.pk: " ".join(x for x in (p.given_name_lat, p.family_name_lat) if x)
        or " ".join(x for x in (p.given_name_ar, p.family_name_ar) if x)
        for p in Person.objects.filter(pk__in=person_ids).only(
            "given_name_lat", "family_name_lat", "given_name_ar", "family_name_ar"
        )
    }
