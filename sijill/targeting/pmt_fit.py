"""Fitting and comparing proxy means test models.

``fit_survey`` estimates a new model from a household survey that measured consumption:
for each milieu, log annual consumption per person regressed by weighted least squares on
the model's features plus regional fixed effects. The features are computed by the same
OpenFisca variables that score the registry, from survey files in the import format, so
a fitted model scores exactly what it was estimated on. The new version is written as a
model file under ``<var>/pmt-models/<cc>/`` and can be used at once by name
(``sijill score --model``, ``sijill pmt compare``).

A feature that does not vary in a milieu's sample cannot be estimated: it keeps
coefficient 0 and the model file says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from django.conf import settings

from sijill.countries import get_profile
from sijill.targeting import compute, population
from sijill.targeting.openfisca.pmt import load_model, write_model
from sijill.targeting.openfisca.system import Rules, load_rules, rules_dir


class FitError(ValueError):
    """The survey cannot be fitted (missing file or column, too few households)."""


def fitted_dir(country: str) -> Path:
    return settings.VAR_DIR / "pmt-models" / country.lower()


def available_models(country: str) -> list[dict[str, Any]]:
    rules = load_rules(country)
    shipped = sorted((rules_dir(country) / "pmt").glob("*.yaml"))
    fitted = sorted(fitted_dir(country).glob("*.yaml")) if fitted_dir(country).exists() else []
    rows = []
    for path in [*shipped, *fitted]:
        m = load_model(path)
        rows.append({"version": m.version, "path": str(path), "active": m.version == rules.pmt_model.version})
    rows.sort(key=lambda r: not r["active"])
    return rows


def rules_for(country: str, version: str | None = None) -> Rules:
    """The rules with the named model version (shipped or fitted); the active model by default."""
    if version is None:
        return load_rules(country)
    return load_rules(country, resolve_model(country, version))


def resolve_model(country: str, version: str) -> Path:
    for row in available_models(country):
        if row["version"] == version:
            return Path(row["path"])
    known = ", ".join(r["version"] for r in available_models(country))
    raise FitError(f"no PMT model version {version!r} for {country} (known: {known})")


def _consumption(folder: Path) -> pl.DataFrame:
    for name in ("consumption.csv", "truth.csv"):
        path = folder / name
        if path.exists():
            df = pl.read_csv(path, infer_schema_length=0)
            break
    else:
        raise FitError(f"{folder}: no consumption.csv (or truth.csv) with household_ref and consumption")
    if "household_ref" not in df.columns:
        raise FitError(f"{path.name}: column household_ref is missing")
    if "log_consumption_pc" in df.columns:
        y = pl.col("log_consumption_pc").cast(pl.Float64, strict=False)
    elif "consumption_pc" in df.columns:
        y = pl.col("consumption_pc").cast(pl.Float64, strict=False).log()
    else:
        raise FitError(f"{path.name}: needs log_consumption_pc or consumption_pc (annual, per person)")
    w = pl.col("weight").cast(pl.Float64, strict=False) if "weight" in df.columns else pl.lit(1.0)
    out = df.select(pl.col("household_ref").cast(pl.Utf8), y.alias("y"), w.alias("w"))
    bad = out.filter(
        pl.col("y").is_null() | pl.col("y").is_nan() | pl.col("w").is_null() | (pl.col("w") <= 0)
    )
    if bad.height:
        raise FitError(
            f"{path.name}: {bad.height} row(s) with a missing or invalid consumption or weight, "
            f"first household_ref {bad['household_ref'][0]!r}"
        )
    return out


def read_survey(
    country: str, folder: Path, as_of: dt.date, rejects_dir: Path | None = None
) -> tuple[population.Population, pl.DataFrame, int]:
    """The survey as a population, its consumption frame, and the number of households rejected.

    Rejected rows (with their row, column and reason) go to ``rejects_dir`` in the import's
    rejects format, so a fixed survey can be fitted again.
    """
    from sijill.registry.intake import validate
    from sijill.registry.intake.job import write_rejects
    from sijill.registry.intake.reader import ImportFileError, read_tables

    profile = get_profile(country)
    try:
        h, p = read_tables([folder])
    except ImportFileError as exc:
        raise FitError(str(exc)) from None
    res = validate.validate(h.frame, p.frame, profile, today=as_of)
    if rejects_dir is not None and res.errors.height:
        write_rejects(res, rejects_dir, (f"{h.path.stem}.rejected.csv", f"{p.path.stem}.rejected.csv"))
    pop = population.from_import(res.households, res.persons, profile, as_of)
    return pop, _consumption(folder), res.rejected_households.height


def _wls(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    sw = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    pred = X @ beta
    ybar = np.average(y, weights=w)
    ss_res = float(np.sum(w * (y - pred) ** 2))
    ss_tot = float(np.sum(w * (y - ybar) ** 2))
    return beta, 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0


def _errors(y: np.ndarray, score: np.ndarray, w: np.ndarray, limit: float) -> dict[str, float]:
    sel, target = score <= limit, y <= limit
    n_sel, n_target = float(w[sel].sum()), float(w[target].sum())
    return {
        "threshold": limit,
        "selected_share": round(n_sel / float(w.sum()), 4),
        "target_share": round(n_target / float(w.sum()), 4),
        "inclusion_error": round(float(w[sel & ~target].sum()) / n_sel, 4) if n_sel else 0.0,
        "exclusion_error": round(float(w[target & ~sel].sum()) / n_target, 4) if n_target else 0.0,
    }


def fit_survey(
    country: str, folder: Path, *, version: str | None = None, as_of: dt.date | None = None
) -> dict[str, Any]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FitError(f"{folder}: not a folder (expected households, persons and consumption files)")
    as_of = as_of or dt.date.today()
    rules = load_rules(country)
    base = rules.pmt_model
    version = (
        version
        or f"{country}-PMT-FIT-{dt.date.today():%Y%m%d}-{abs(hash(str(folder.resolve()))) % 10**6:06d}"
    )
    rejects_dir = fitted_dir(country) / f"{version}-rejects"
    pop, cons, rejected = read_survey(country, folder, as_of, rejects_dir)
    feats = compute.calculate(rules, pop, as_of, compute.feature_names(rules))
    answered = pop.households.select("household_id", "external_ref", "milieu", "region").join(
        feats, on="household_id"
    )
    data = answered.join(cons, left_on="external_ref", right_on="household_ref", how="inner")
    # Households without consumption, and consumption rows without an accepted household, are
    # not fitted: say which, and why.
    unmatched = pl.concat(
        [
            answered.join(cons, left_on="external_ref", right_on="household_ref", how="anti").select(
                pl.col("external_ref").alias("household_ref"),
                pl.lit("no consumption row for this household").alias("reason"),
            ),
            cons.join(answered, left_on="household_ref", right_on="external_ref", how="anti").select(
                "household_ref",
                pl.lit("consumption row without an accepted household (unknown or rejected)").alias("reason"),
            ),
        ]
    )
    if unmatched.height:
        rejects_dir.mkdir(parents=True, exist_ok=True)
        unmatched.write_csv(rejects_dir / "unmatched.csv")
    if data.height < 30:
        raise FitError(
            f"only {data.height} survey households have both answers and consumption; at least 30 needed"
        )
    regions = sorted(
        set(base.region_constant["U"]) | set(base.region_constant["R"]) | set(data["region"].unique())
    )
    features: dict[str, dict[str, Any]] = {}
    milieu_constant: dict[str, float] = {}
    region_constant: dict[str, dict[str, float]] = {}
    models: dict[str, Any] = {}
    pred = np.zeros(data.height)
    for m in ("U", "R"):
        mask = (data["milieu"] == m).to_numpy()
        d = data.filter(pl.col("milieu") == m)
        names = list(base.features[m])
        if d.height < len(names) + 10:
            raise FitError(
                f"milieu {m}: {d.height} households for {len(names)} features; the survey is too small"
            )
        X = d.select([pl.col(n).cast(pl.Float64) for n in names]).to_numpy()
        varying = X.std(axis=0) > 0
        present = [r for r in regions if (d["region"] == r).any()]
        ref = max(present, key=lambda r: int((d["region"] == r).sum()))
        dummies = [r for r in present if r != ref]
        R = (
            np.column_stack([(d["region"] == r).to_numpy().astype(float) for r in dummies])
            if dummies
            else np.zeros((d.height, 0))
        )
        design = np.column_stack([np.ones(d.height), X[:, varying], R])
        y, w = d["y"].to_numpy(), d["w"].to_numpy()
        beta, r2 = _wls(design, y, w)
        coefs = np.zeros(len(names))
        coefs[varying] = beta[1 : 1 + int(varying.sum())]
        reg = dict(zip(dummies, beta[1 + int(varying.sum()) :], strict=True))
        milieu_constant[m] = round(float(beta[0]), 6)
        region_constant[m] = {r: round(float(reg.get(r, 0.0)), 6) for r in regions}
        features[m] = {}
        for n, c, v in zip(names, coefs, varying, strict=True):
            old = base.features[m][n]
            note = "" if v else "does not vary in the survey sample: not estimated, set to 0"
            features[m][n] = dataclasses.replace(old, coef=round(float(c), 8), note=note or old.note)
        pred[mask] = design @ beta
        models[m] = {
            "households": d.height,
            "r2": round(r2, 4),
            "features": int(varying.sum()),
            "reference_region": ref,
        }
    model = dataclasses.replace(
        base,
        version=version,
        label={
            "fr": f"Modèle estimé sur l'enquête {folder.name}",
            "ar": f"نموذج مقدر من البحث {folder.name}",
            "en": f"Model fitted on survey {folder.name}",
        },
        unofficial=True,
        source=f"sijill pmt fit {folder} on {dt.date.today()}: weighted least squares, {data.height} households",
        milieu_constant=milieu_constant,
        region_constant=region_constant,
        features=features,
    )
    out = fitted_dir(country) / f"{version}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_model(model, out)
    y_all, w_all = data["y"].to_numpy(), data["w"].to_numpy()
    score = np.round(pred, model.decimals)
    from sijill.targeting.decisions import thresholds

    errors = {code: _errors(y_all, score, w_all, limit) for code, limit in thresholds(rules, as_of).items()}
    return {
        "version": version,
        "path": str(out),
        "households": data.height,
        "rejected_households": rejected,
        "unmatched_households": unmatched.height,
        "rejects_dir": str(rejects_dir) if rejects_dir.exists() else None,
        "models": models,
        "errors": errors,
    }


def compare_models(country: str, a: str, b: str, as_of: dt.date) -> dict[str, Any]:
    """Score the registry with models ``a`` and ``b``: score agreement and eligibility changes."""
    rules_a = rules_for(country, a)
    rules_b = rules_for(country, b)
    pop = population.load(country, as_of, bulk=True)
    names = ["pmt_score", *compute.programme_variables(rules_a)]
    ra = compute.calculate(rules_a, pop, as_of, names)
    rb = compute.calculate(rules_b, pop, as_of, names)
    sa, sb = ra["pmt_score"].cast(pl.Float64).to_numpy(), rb["pmt_score"].cast(pl.Float64).to_numpy()
    programmes = {}
    for prog in rules_a.programmes:
        ea = ra[prog.eligible_variable].cast(pl.Boolean).to_numpy()
        eb = rb[prog.eligible_variable].cast(pl.Boolean).to_numpy()
        programmes[prog.code] = {
            "eligible_a": int(ea.sum()),
            "eligible_b": int(eb.sum()),
            "newly_eligible": int((~ea & eb).sum()),
            "no_longer_eligible": int((ea & ~eb).sum()),
        }
    by_milieu = (
        pl.DataFrame({"milieu": pop.households["milieu"], "d": sb - sa})
        .group_by("milieu")
        .agg(pl.len().alias("households"), pl.col("d").mean().round(6).alias("mean_difference"))
        .sort("milieu")
        .to_dicts()
    )
    return {
        "a": a,
        "b": b,
        "as_of": as_of.isoformat(),
        "households": pop.size,
        "score_correlation": round(float(np.corrcoef(sa, sb)[0, 1]), 6) if pop.size > 1 else 1.0,
        "mean_difference": round(float((sb - sa).mean()), 6) if pop.size else 0.0,
        "by_milieu": by_milieu,
        "programmes": programmes,
    }
