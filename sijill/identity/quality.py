"""Pairwise linkage quality against a truth file (no database needed)."""

from __future__ import annotations

import polars as pl


def pairwise_quality(pairs: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    """Precision, recall and F1 of ``ref_a,ref_b`` pairs against a truth file's pairs
    (``person_ref_a,person_ref_b``), order within a pair ignored."""

    def keyed(df: pl.DataFrame, a: str, b: str) -> pl.DataFrame:
        return df.select(
            pl.min_horizontal(a, b).cast(pl.String).alias("x"),
            pl.max_horizontal(a, b).cast(pl.String).alias("y"),
        ).unique()

    found = keyed(pairs, "ref_a", "ref_b")
    true = keyed(truth, "person_ref_a", "person_ref_b")
    tp = found.join(true, on=["x", "y"], how="inner").height
    precision = tp / found.height if found.height else 1.0
    recall = tp / true.height if true.height else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": float(found.height), "true_pairs": float(true.height), "precision": precision,
            "recall": recall, "f1": f1}  # fmt: skip
