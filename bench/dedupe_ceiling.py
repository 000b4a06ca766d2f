"""How much recall the comparisons leave room for: ``python bench/dedupe_ceiling.py TRUTH.csv``.

Run with the environment of a registry that ``sijill dedupe`` has already run over (its
``SIJILL_DATABASE_URL``, ``SIJILL_VAR_DIR`` and ``SIJILL_COUNTRY``). It scores every pair the
blocking rules produce with the saved model (no threshold), then asks what an *oracle*
could do with the same comparison levels: pairs are grouped by their comparison pattern
(the ``gamma_*`` levels), each pattern's true precision is read from the truth file, and
patterns are accepted best first while the accepted pairs keep precision >= the target.
The recall reached is a ceiling for any model built on these comparisons (it is computed
in-sample, so it is optimistic). Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import sys

import polars as pl


def ceiling(pairs: pl.DataFrame, truth_pairs: int, target: float) -> float:
    """Best recall at precision >= ``target`` when whole comparison patterns are accepted."""
    gammas = [c for c in pairs.columns if c.startswith("gamma_")]
    by = (
        pairs.group_by(gammas)
        .agg(n=pl.len(), tp=pl.col("truth").sum())
        .with_columns(pr=pl.col("tp") / pl.col("n"))
        .sort(["pr", "n"], descending=True)
        .with_columns(cn=pl.col("n").cum_sum(), ctp=pl.col("tp").cum_sum())
        .filter(pl.col("ctp") / pl.col("cn") >= target)
    )
    return float(by["ctp"].max() or 0) / truth_pairs


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sijill.settings")
    django.setup()
    from sijill.identity import dedupe, frame, linkage

    country = os.environ["SIJILL_COUNTRY"]
    target = float(sys.argv[2]) if len(sys.argv) > 2 else 0.98
    raw = frame.registry_persons(country)
    persons = frame.canonical(raw, country)
    found = dedupe.current_model(country)
    if found is None:
        raise SystemExit("no saved model: run sijill dedupe first")
    pairs = linkage.predict(persons, found[0], 0.0)
    refs = dict(raw.select("unique_id", "external_ref").rows())
    a = pl.col("unique_id_l").replace_strict(refs, return_dtype=pl.String)
    b = pl.col("unique_id_r").replace_strict(refs, return_dtype=pl.String)
    pairs = pairs.with_columns(x=pl.min_horizontal(a, b), y=pl.max_horizontal(a, b))
    t = pl.read_csv(sys.argv[1])
    ta, tb = pl.col("person_ref_a"), pl.col("person_ref_b")
    t = t.select(x=pl.min_horizontal(ta, tb), y=pl.max_horizontal(ta, tb), truth=pl.lit(True)).unique()
    pairs = pairs.join(t, on=["x", "y"], how="left").with_columns(pl.col("truth").fill_null(False))
    print(
        json.dumps(
            {
                "target_precision": target,
                "blocked_recall": int(pairs["truth"].sum()) / t.height,
                "ceiling_recall": ceiling(pairs, t.height, target),
            }
        )
    )


if __name__ == "__main__":
    main()
