"""Policy simulation: what if a threshold, an amount or a rule changed?

A what-if is an OpenFisca reform of the country's rules: parameter changes
(``{"asd.threshold": 9.9}``) applied from the simulated date on, optionally on top of a
reform class that adds or replaces variables. Both the current law and the changed law
run on the same population, vectorised, and the answer compares them: beneficiaries and
monthly and yearly cost per programme, by region, milieu, sex of the head and household
type, gainers and losers, and, where the synthetic truth (latent consumption) is given,
inclusion and exclusion errors and coverage of the poorest quintile.

Scores do not depend on programme parameters, so the changed law reuses the current
law's scores unless the reform touches the PMT (``pmt.`` parameters or a new model).

The web app calls :func:`simulate`; ``sijill simulate`` prints the same dictionary.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from openfisca_core.periods import instant as make_instant
from openfisca_core.reforms import Reform

from sijill.targeting import compute, population
from sijill.targeting.openfisca.system import Rules, load_rules


class SimulationError(ValueError):
    """A what-if that cannot run (unknown parameter, bad value)."""


def parse_value(text: str) -> float | bool:
    t = text.strip().lower()
    if t in ("true", "yes", "oui"):
        return True
    if t in ("false", "no", "non"):
        return False
    try:
        return float(text)
    except ValueError:
        raise SimulationError(f"value {text!r} is not a number") from None


def _leaf(params: Any, path: str) -> Any:
    node = params
    for part in path.split("."):
        children = getattr(node, "children", None)
        if children is None or part not in children:
            raise SimulationError(
                f"unknown parameter {path!r}"
                + (
                    f"; under {'.'.join(path.split('.')[:-1]) or 'the root'} there is: {', '.join(sorted(children))}"
                    if children
                    else ""
                )
            )
        node = children[part]
    if not hasattr(node, "update") or hasattr(node, "children"):
        raise SimulationError(f"{path!r} is not a single value (a scale or a group); name one of its values")
    return node


def parameter_reform(
    rules: Rules, changes: Mapping[str, float | bool], start: dt.date
) -> type[Reform] | None:
    """A reform class setting each named parameter to its value from ``start`` on."""
    if not changes:
        return None
    params = rules.tbs.parameters
    for path in changes:
        _leaf(params, path)  # fail early with a clear message

    class ParameterChanges(Reform):  # type: ignore[misc]
        name = "sijill parameter changes: " + ", ".join(f"{k}={v}" for k, v in changes.items())

        def apply(self) -> None:
            def modify(root: Any) -> Any:
                for path, value in changes.items():
                    _leaf(root, path).update(start=make_instant(start.isoformat()), value=value)
                return root

            self.modify_parameters(modifier_function=modify)

    return ParameterChanges


def load_reform(spec: str) -> type[Reform]:
    """The Reform class named ``module.path:ClassName`` (an analyst's new rule)."""
    import importlib

    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise SimulationError(f"--reform expects MODULE:CLASS, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SimulationError(f"cannot import {module_name!r}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Reform)):
        raise SimulationError(f"{spec!r} is not an OpenFisca Reform class")
    return cls


@dataclass
class Scenario:
    """What to change: parameter values, and/or a reform class adding or replacing rules."""

    changes: dict[str, float | bool] = field(default_factory=dict)
    reform: type[Reform] | None = None

    @property
    def touches_score(self) -> bool:
        return self.reform is not None or any(k.startswith("pmt.") for k in self.changes)


class PopulationCache:
    """A population held in memory, ready for repeated what-ifs (the web app keeps one).

    The population comes from its on-disk snapshot when the registry has not changed since
    it was taken (``population.load_current``); the current law's results likewise, per
    rules version. The OpenFisca arrays are prepared once.
    """

    def __init__(self, country: str, as_of: dt.date, truth: pl.DataFrame | None = None):
        self.country, self.as_of = country, as_of
        self.pop = population.load_current(country, as_of)
        self.truth = truth
        self._prepared: compute.Prepared | None = None
        self._baseline: dict[str, pl.DataFrame] = {}
        self._describe: pl.DataFrame | None = None

    def prepared(self, rules: Rules) -> compute.Prepared:
        if self._prepared is None:
            # The inputs are the same under a reform of the same rules: key by the base rules.
            base_version = rules.parameters_version.split("+")[0]
            path = population.snapshot_dir(self.country, self.as_of) / f"prepared-{base_version}.npz"
            if path.exists():
                self._prepared = compute.load_prepared(rules, path)
            else:
                self._prepared = compute.prepare(rules, self.pop)
                if path.parent.exists():
                    compute.save_prepared(self._prepared, path)
        return self._prepared

    def describe(self, rules: Rules) -> pl.DataFrame:
        """Per household: description and the current law's results (wide), computed once."""
        if self._describe is None:
            path = population.snapshot_dir(self.country, self.as_of) / "describe.arrow"
            if path.exists():
                described = pl.read_ipc(path)
            else:
                described = describe_households(self.pop)
                if path.parent.exists():
                    described.write_ipc(path)
            self._describe = described.join(
                _programme_frame(rules, self.baseline(rules), ""), on="household_id"
            )
        return self._describe

    def baseline(self, rules: Rules) -> pl.DataFrame:
        key = rules.parameters_version
        if key not in self._baseline:
            path = population.snapshot_dir(self.country, self.as_of) / f"results-{key}.arrow"
            if path.exists():
                self._baseline[key] = pl.read_ipc(path)
            else:
                self._baseline[key] = _run(rules, self, None)
                if path.parent.exists():
                    self._baseline[key].write_ipc(path)
        return self._baseline[key]


def _run(rules: Rules, cache: PopulationCache, scores: np.ndarray | None) -> pl.DataFrame:
    period = compute.period_of(cache.as_of)
    sim = compute.build(rules, cache.prepared(rules), period)
    if scores is not None:
        sim.set_input("pmt_score", period, scores)
    return compute.calculate(
        rules, cache.pop, cache.as_of, ["pmt_score", *compute.programme_variables(rules)], sim=sim
    )


def describe_households(pop: population.Population) -> pl.DataFrame:
    """Per household: region, milieu, sex of the head, household type (for breakdowns)."""
    p = pop.persons
    heads = p.filter(pl.col("relationship") == "HEAD").select("household_id", pl.col("sex").alias("head_sex"))
    age = ((pl.lit(pop.as_of) - pl.col("birth_date")).dt.total_days() / 365.25).floor()
    kinds = (
        p.with_columns(age.alias("_age"))
        .group_by("household_id")
        .agg(
            pl.len().alias("_size"),
            (pl.col("_age") < 21).sum().alias("_children"),
            (pl.col("_age") >= 60).sum().alias("_elderly"),
        )
    )
    kind = (
        pl.when(pl.col("_size") == 1)
        .then(pl.lit("single person"))
        .when(pl.col("_children") > 0)
        .then(pl.lit("with children under 21"))
        .when(pl.col("_elderly") > 0)
        .then(pl.lit("elderly, no children"))
        .otherwise(pl.lit("adults only"))
    )
    return (
        pop.households.select("household_id", "external_ref", "region", "milieu")
        .join(heads, on="household_id", how="left")
        .join(kinds.with_columns(kind.alias("household_type")), on="household_id", how="left")
        .select("household_id", "external_ref", "region", "milieu", "head_sex", "household_type")
    )


def _programme_frame(rules: Rules, res: pl.DataFrame, suffix: str) -> pl.DataFrame:
    cols = [pl.col("household_id"), pl.col("pmt_score").cast(pl.Float64).alias(f"score{suffix}")]
    for prog in rules.programmes:
        e = pl.col(prog.eligible_variable).cast(pl.Boolean)
        cols.append(e.alias(f"{prog.code}_eligible{suffix}"))
        amount = (
            pl.col(prog.amount_variable).cast(pl.Float64).round(2) if prog.amount_variable else pl.lit(0.0)
        )
        cols.append(pl.when(e).then(amount).otherwise(0.0).alias(f"{prog.code}_amount{suffix}"))
        for one_off in prog.one_off_variables:
            cols.append(pl.col(one_off).cast(pl.Float64).round(2).alias(f"{prog.code}:{one_off}{suffix}"))
    return res.select(cols)


def _totals(rules: Rules, frame: pl.DataFrame, suffix: str) -> dict[str, Any]:
    out = {}
    for prog in rules.programmes:
        e = frame[f"{prog.code}_eligible{suffix}"]
        monthly = float(frame[f"{prog.code}_amount{suffix}"].sum())
        out[prog.code] = {
            "beneficiaries": int(e.sum()),
            "persons": None,
            "monthly_cost": round(monthly, 2),
            "yearly_cost": round(monthly * 12, 2),
            "amount_kind": prog.amount_kind,
        }
    return out


def _breakdown(rules: Rules, j: pl.DataFrame, by: str) -> list[dict[str, Any]]:
    aggs = [pl.len().alias("households")]
    for prog in rules.programmes:
        c = prog.code
        # A gainer gets more (a benefit) or pays less (a contribution); a loser the reverse.
        sign = -1.0 if prog.amount_kind == "contribution" else 1.0
        diff = (pl.col(f"{c}_amount_new") - pl.col(f"{c}_amount")) * sign
        aggs += [
            pl.col(f"{c}_eligible").sum().alias(f"{c}_beneficiaries"),
            pl.col(f"{c}_eligible_new").sum().alias(f"{c}_beneficiaries_new"),
            pl.col(f"{c}_amount").sum().round(2).alias(f"{c}_monthly_cost"),
            pl.col(f"{c}_amount_new").sum().round(2).alias(f"{c}_monthly_cost_new"),
            (diff > 0.005).sum().alias(f"{c}_gainers"),
            (diff < -0.005).sum().alias(f"{c}_losers"),
        ]
    return j.group_by(pl.col(by).fill_null("unknown")).agg(aggs).sort(by).to_dicts()


def targeting_quality(
    rules: Rules,
    j: pl.DataFrame,
    truth: pl.DataFrame,
    thresholds: Mapping[str, float] | None = None,
    new_thresholds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Inclusion and exclusion errors against latent consumption, per threshold.

    The target group at a threshold is the households whose true log consumption per person
    is at or below the threshold of current law (the PMT predicts that quantity): a poverty
    line that a reform does not move. Selected households are those whose score is at or
    below the threshold of the law measured: ``thresholds`` for current law, and
    ``new_thresholds`` (default: the same) for the changed law, with the changed scores.
    Inclusion error: share of the selected not in the target group. Exclusion error: share
    of the target group not selected.
    """
    t = truth.select(
        pl.col("household_ref").cast(pl.Utf8).alias("external_ref"),
        pl.col("log_consumption_pc").cast(pl.Float64),
    )
    d = j.join(t, on="external_ref", how="inner")
    if d.height == 0:
        return {"households_with_truth": 0}
    q20 = float(d["log_consumption_pc"].quantile(0.2) or 0)
    out: dict[str, Any] = {"households_with_truth": d.height, "thresholds": {}}
    limits = dict(thresholds or {})
    contribution_programmes = {p.code for p in rules.programmes if p.amount_kind == "contribution"}
    for name, limit in limits.items():
        if name in contribution_programmes:
            continue  # eligible above the threshold: not a targeting of the poor
        new_limit = float((new_thresholds or {}).get(name, limit))
        out["thresholds"].setdefault(name, {"threshold": limit})["threshold_new"] = new_limit
        for label, col, line in (("current", "score", limit), ("changed", "score_new", new_limit)):
            sel = d[col] <= line
            target = d["log_consumption_pc"] <= limit
            n_sel, n_target = int(sel.sum()), int(target.sum())
            inc = float((sel & ~target).sum() / n_sel) if n_sel else 0.0
            exc = float((target & ~sel).sum() / n_target) if n_target else 0.0
            out["thresholds"].setdefault(name, {"threshold": limit})[label] = {
                "selected": n_sel, "target": n_target,
                "inclusion_error": round(inc, 4), "exclusion_error": round(exc, 4),
            }  # fmt: skip
    poorest = d["log_consumption_pc"] <= q20
    cov: dict[str, Any] = {}
    for prog in rules.programmes:
        if prog.code in contribution_programmes:
            continue
        for label, col in (("current", f"{prog.code}_eligible"), ("changed", f"{prog.code}_eligible_new")):
            cov.setdefault(prog.code, {})[label] = round(
                float((d[col] & poorest).sum() / max(int(poorest.sum()), 1)), 4
            )
    out["poorest_quintile_coverage"] = cov
    return out


def _thresholds(rules: Rules, as_of: dt.date) -> dict[str, float]:
    from sijill.targeting.decisions import thresholds

    return thresholds(rules, as_of)


def simulate(
    country: str,
    as_of: dt.date,
    scenario: Scenario,
    *,
    cache: PopulationCache | None = None,
    truth: pl.DataFrame | None = None,
    compare_stored: bool | None = None,
) -> dict[str, Any]:
    """Current law against changed law on the registry at ``as_of``.

    ``compare_stored`` (default: when nothing changes) checks the current law against the
    decisions in force.
    """
    t0 = time.perf_counter()
    rules = load_rules(country)
    cache = cache or PopulationCache(country, as_of, truth)
    truth = truth if truth is not None else cache.truth
    t_loaded = time.perf_counter()
    base = cache.baseline(rules)
    # From the first day of the simulated month: rules are evaluated for the month.
    reform_cls = parameter_reform(rules, scenario.changes, as_of.replace(day=1))
    changed_rules = rules.with_reform(reform_cls) if reform_cls else rules
    if scenario.reform is not None:
        changed_rules = changed_rules.with_reform(scenario.reform)
    if changed_rules is rules:
        new = base
    else:
        scores = None if scenario.touches_score else base["pmt_score"].to_numpy()
        new = _run(changed_rules, cache, scores)
    t_computed = time.perf_counter()
    j = cache.describe(rules).join(_programme_frame(changed_rules, new, "_new"), on="household_id")
    result: dict[str, Any] = {
        "country": country,
        "as_of": as_of.isoformat(),
        "changes": {k: v for k, v in scenario.changes.items()},
        "reform": getattr(scenario.reform, "name", None)
        or (scenario.reform.__name__ if scenario.reform else None),
        "households": j.height,
        "current": _totals(rules, j, ""),
        "changed": _totals(changed_rules, j, "_new"),
    }
    gl = {}
    for prog in rules.programmes:
        c = prog.code
        diff = j[f"{c}_amount_new"] - j[f"{c}_amount"]
        gained = (~j[f"{c}_eligible"]) & j[f"{c}_eligible_new"]
        lost = j[f"{c}_eligible"] & (~j[f"{c}_eligible_new"])
        gl[c] = {
            "gainers": int((diff > 0.005).sum())
            if prog.amount_kind != "contribution"
            else int((diff < -0.005).sum()),
            "losers": int((diff < -0.005).sum())
            if prog.amount_kind != "contribution"
            else int((diff > 0.005).sum()),
            "newly_eligible": int(gained.sum()),
            "no_longer_eligible": int(lost.sum()),
            "monthly_cost_change": round(float(diff.sum()), 2),
        }
    result["gainers_losers"] = gl
    result["by"] = {by: _breakdown(rules, j, by) for by in ("region", "milieu", "head_sex", "household_type")}
    limits = _thresholds(rules, as_of)
    if truth is not None:
        new_limits = _thresholds(changed_rules, as_of) if changed_rules is not rules else limits
        result["targeting"] = targeting_quality(rules, j, truth, limits, new_limits)
    if compare_stored or (compare_stored is None and not scenario.changes and scenario.reform is None):
        result["stored"] = _compare_stored(rules, j, as_of)
    result["seconds"] = {
        "load": round(t_loaded - t0, 3),
        "compute": round(t_computed - t_loaded, 3),
        "total": round(time.perf_counter() - t0, 3),
    }
    return result


def _compare_stored(rules: Rules, j: pl.DataFrame, as_of: dt.date) -> dict[str, Any]:
    """Does the current law, recomputed, give exactly the decisions in force?

    Meaningful when the last batch run was at the simulated date (the decisions in force
    were computed for it); the answer says which date they were computed at.
    """
    from sijill.core import arrowdb
    from sijill.targeting.models import ScoringRun

    last = (
        ScoringRun.objects.filter(country=rules.country, kind=ScoringRun.KIND_BATCH, status="done")
        .order_by("-finished_at")
        .first()
    )
    stored = arrowdb.read({
        "d": ("""SELECT d.household_id, d.programme, d.eligible,
                        COALESCE(CAST(d.amount AS DOUBLE PRECISION), 0.0) AS amount
                 FROM programmes_decision d JOIN registry_household h ON h.id = d.household_id
                 WHERE d.is_current = %s AND h.country = %s""", [True, rules.country])
    })["d"]  # fmt: skip
    out: dict[str, Any] = {"last_batch_as_of": last.as_of.isoformat() if last else None}
    if stored.height == 0 or stored.width == 0:
        return {**out, "households_compared": 0, "mismatches": 0, "note": "no decisions stored yet"}
    mismatches, compared = 0, 0
    for prog in rules.programmes:
        s = stored.filter(pl.col("programme") == prog.code).select(
            pl.col("household_id").cast(pl.Int64),
            pl.col("eligible").cast(pl.Int64).cast(pl.Boolean).alias("s_e"),
            pl.col("amount").cast(pl.Float64).fill_null(0.0).round(2).alias("s_a"),
        )
        m = s.join(
            j.select("household_id", f"{prog.code}_eligible", f"{prog.code}_amount"), on="household_id"
        )
        compared = max(compared, m.height)
        bad = m["s_e"] != m[f"{prog.code}_eligible"]
        if prog.amount_variable:
            bad = bad | ((m["s_a"] - m[f"{prog.code}_amount"]).abs() > 0.005)
        mismatches += int(bad.sum())
    return {**out, "households_compared": compared, "mismatches": mismatches}
