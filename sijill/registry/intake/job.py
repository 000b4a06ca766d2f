"""The import job: read → drop what is already present → validate → reject → load in chunks."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import connection
from django.utils import timezone

from sijill.core import bulk
from sijill.countries import CountryProfile, get_profile
from sijill.registry.geography import sync_geography
from sijill.registry.intake import load, lookups, pg_bulk, reader, validate
from sijill.registry.intake.progress import ImportProgress
from sijill.registry.models import ImportJob

CHUNK_HOUSEHOLDS = int(os.environ.get("SIJILL_IMPORT_CHUNK", "20000"))
# Auto mode loads in bulk (one transaction, indexes rebuilt at the end) when the file has at least
# this many new households and at least as many as the registry already holds.
BULK_MIN = int(os.environ.get("SIJILL_IMPORT_BULK_MIN", "50000"))
# Only for tests that interrupt an import: a pause after each committed chunk.
_CHUNK_DELAY = float(os.environ.get("SIJILL_IMPORT_CHUNK_DELAY", "0"))


@dataclass
class ImportSummary:
    job_id: int
    read: int
    loaded: int
    rejected: int
    already_present: int
    persons_read: int
    persons_loaded: int
    persons_rejected: int
    rejects_dir: str | None
    errors: int
    seconds: float
    files: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds spent reading, validating, loading
    mode: str = "incremental"
    # Identifiers already held by another registry person: loaded without them, sent to identity review.
    held_for_review: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _existing_refs(refs: pl.Series) -> set[str]:
    out: set[str] = set()
    values = refs.drop_nulls().unique().to_list()
    for i in range(0, len(values), 200_000):
        part = values[i : i + 200_000]
        df = bulk.query_frame(
            f"SELECT external_ref FROM registry_household WHERE {bulk.in_list_sql('external_ref')}",
            [bulk.json_list_param(part)],
        )
        if df.height:
            out.update(df["external_ref"].to_list())
    return out


def _household_count() -> int:
    return int(bulk.query_frame("SELECT COUNT(*) AS n FROM registry_household")["n"][0])


def _registry_empty() -> bool:
    return (
        bulk.query_frame("SELECT COUNT(*) AS n FROM (SELECT 1 FROM registry_person LIMIT 1) t")["n"][0] == 0
    )


def _write_with_process(
    chunks: Iterable[load.Chunk],
    committed: Callable[[int, int], None],
    written: Callable[[int], None],
    bulk: bool,
    sizes: tuple[int, int] = (0, 0),
) -> dict[str, float]:
    """SQLite: hand chunks to the writer process, keeping at most two in flight.

    ``sizes``: at most how many persons and households a bulk load writes. Returns the
    seconds the writer spent finishing (rebuilding indexes, committing).
    Incremental mode commits each chunk (``committed`` is called per chunk). Bulk mode
    writes everything in one transaction and calls ``committed`` once at the end.
    """
    from sijill.registry.intake import sqlite_writer

    tmp_root = settings.VAR_DIR / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    if bulk and not connection.in_atomic_block:
        # A bulk load switches the file to a rollback journal if no other connection has it open: this
        # process's own connection is closed meanwhile (Django reopens it for the job's final update).
        connection.close()
    writer = sqlite_writer.spawn(str(connection.settings_dict["NAME"]))
    pending: deque[tuple[Path, tuple[int, int]]] = deque()
    assert writer.stdin is not None and writer.stdout is not None
    totals = [0, 0]

    def answer() -> dict[str, object]:
        line = writer.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"the SQLite writer process stopped unexpectedly (exit code {writer.wait()})")
        reply: dict[str, object] = json.loads(line)
        if not reply["ok"]:
            raise RuntimeError(f"writing failed and was rolled back: {reply['error']}")
        return reply

    def collect() -> None:
        directory, sizes = pending.popleft()
        answer()
        shutil.rmtree(directory, ignore_errors=True)
        totals[0] += sizes[0]
        totals[1] += sizes[1]
        written(sizes[0])
        if not bulk:
            committed(*sizes)

    with tempfile.TemporaryDirectory(dir=tmp_root) as tmp:
        try:
            writer.stdin.write(f"MODE bulk {sizes[0]} {sizes[1]}\n" if bulk else "MODE incremental\n")
            for i, chunk in enumerate(chunks):
                directory = Path(tmp) / f"chunk-{i:06d}"
                sqlite_writer.save_chunk(chunk, directory)
                writer.stdin.write(f"{directory}\n")
                writer.stdin.flush()
                pending.append((directory, chunk.sizes))
                while len(pending) >= 2:
                    collect()
            while pending:
                collect()
            writer.stdin.write("END\n")
            writer.stdin.flush()
            end = answer()
            if bulk:
                committed(totals[0], totals[1])
            return {k: float(v) for k, v in end.items() if k.endswith("_seconds")}  # type: ignore[arg-type]
        finally:
            writer.stdin.close()
            writer.wait(timeout=600)


def _area_limit(areas: pl.DataFrame, paths: list[str] | None) -> validate.AreaLimit | None:
    """The area codes at or below one of ``paths`` (the rule of ``accounts.selectors.area_q``)."""
    if paths is None:
        return None
    inside = pl.lit(False)
    for p in paths:
        inside = inside | (pl.col("area_path") == p) | pl.col("area_path").str.starts_with(p + "/")
    codes = frozenset(areas.filter(inside)["area_code"].to_list())
    return validate.AreaLimit(codes, ", ".join(p.rsplit("/", 1)[-1] for p in paths) or "none")


def write_rejects(result: validate.Validated, directory: Path, names: tuple[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    h_name, p_name = names
    for frame, name in ((result.rejected_households, h_name), (result.rejected_persons, p_name)):
        cols = [c for c in frame.columns if c not in ("_row", "_errors")]
        frame.select(*cols, "_row", "_errors").sort("_row").write_csv(directory / name)
    result.errors.rename({"table": "file"}).with_columns(
        pl.col("file").replace(
            {"households": h_name.split(".rejected")[0], "persons": p_name.split(".rejected")[0]}
        )
    ).write_csv(directory / "errors.csv")


def write_held(held: pl.DataFrame, directory: Path, persons_file: str) -> Path:
    """``held_for_review.csv``: the identifiers not loaded because someone else holds them."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "held_for_review.csv"
    held.sort("_row", "column").select(
        pl.lit(persons_file).alias("file"),
        pl.col("_row").alias("row"),
        "household_ref",
        "person_ref",
        "column",
        "id_type",
        "value",
        "owner_registry_id",
        "owner_household_registry_id",
        "reason",
    ).write_csv(path)
    return path


def run_import(
    paths: list[Path],
    *,
    country: str | None = None,
    rejects_dir: Path | None = None,
    actor_name: str = "import",
    actor_id: int | None = None,
    channel: str = "BULK_IMPORT",
    progress: ImportProgress | None = None,
    chunk_households: int = CHUNK_HOUSEHOLDS,
    today: dt.date | None = None,
    mode: str = "auto",
    allowed_areas: list[str] | None = None,
) -> ImportSummary:
    """Import households and persons files. ``mode``: auto, bulk or incremental.

    ``allowed_areas``: area paths (``MA-06/MA-CAS``) of an account limited to some areas; a
    household whose area lies outside all of them is rejected with that reason. ``None``: the
    whole country.
    """
    if mode not in ("auto", "bulk", "incremental"):
        raise ValueError(f"unknown import mode '{mode}' (auto, bulk or incremental)")
    progress = progress or ImportProgress()
    started = timezone.now()
    profile = get_profile(country or settings.SIJILL_COUNTRY)
    sync_geography(profile)
    progress.phase("read")
    t0 = time.perf_counter()
    hh_table, pp_table = reader.read_tables(paths)
    read_seconds = time.perf_counter() - t0
    job = ImportJob.objects.create(
        started_at=started,
        files=[str(hh_table.path), str(pp_table.path)],
        country=profile.code,
        actor_name=actor_name,
    )
    progress.job(job.pk)
    try:
        summary = _run(
            job,
            hh_table,
            pp_table,
            profile,
            rejects_dir,
            actor_name,
            actor_id,
            channel,
            progress,
            chunk_households,
            today,
            mode,
            allowed_areas,
        )
        summary.phases = {"read": round(read_seconds, 3), **summary.phases}
    except Exception as exc:
        job.status, job.error, job.finished_at = "failed", str(exc), timezone.now()
        job.save()
        raise
    return summary


def _run(
    job: ImportJob,
    hh_table: reader.Table,
    pp_table: reader.Table,
    profile: CountryProfile,
    rejects_dir: Path | None,
    actor_name: str,
    actor_id: int | None,
    channel: str,
    progress: ImportProgress,
    chunk_households: int,
    today: dt.date | None,
    mode: str,
    allowed_areas: list[str] | None = None,
) -> ImportSummary:
    hh, pp = hh_table.frame, pp_table.frame
    validate.check_headers(hh, pp, profile)
    read, persons_read = hh.height, pp.height
    progress.start(read)
    progress.phase("check")
    empty = _registry_empty()
    present = _existing_refs(hh["household_ref"]) if not empty else set()
    if present:
        present_list = pl.Series(list(present), dtype=pl.Utf8).implode()
        hh = hh.filter(~pl.col("household_ref").is_in(present_list) | pl.col("household_ref").is_null())
        pp = pp.filter(~pl.col("household_ref").is_in(present_list) | pl.col("household_ref").is_null())
        already = read - hh.height
        progress.message(f"{already:,} households already in the registry: skipped")
        progress.advance(already)
    else:
        already = 0
    existing = validate.Existing()
    if not empty:
        existing = validate.Existing(
            identifiers=lookups.identifier_owners(profile), person_refs=lookups.known_person_refs
        )
    t_validate = time.perf_counter()
    found = validate.global_checks(hh, pp, profile, existing)
    held = validate.held_identifiers(pp, profile, existing)
    t_validate = time.perf_counter() - t_validate
    # Chunks of whole households: rows sharing a household_ref go to the chunk of its first row.
    hh = (
        hh.with_row_index("_i")
        .with_columns(
            (pl.col("_i").first().over("household_ref") // chunk_households).cast(pl.Int64).alias("_chunk")
        )
        .drop("_i")
    )
    chunk_of = hh.select("household_ref", "_chunk").unique("household_ref")
    pp = pp.with_columns(
        pp.select("household_ref").join(chunk_of, on="household_ref", how="left", maintain_order="left")[
            "_chunk"
        ]
    )
    n_chunks = int(hh.select(pl.col("_chunk").max()).item() or 0) + 1 if hh.height else 0
    bulk_mode = mode == "bulk" or (
        mode == "auto" and hh.height >= BULK_MIN and hh.height >= _household_count()
    )
    rejected_parts: list[validate.Validated] = []
    held_parts: list[pl.DataFrame] = []
    areas = load.area_frame(profile.code)
    limit = _area_limit(areas, allowed_areas)
    orphans = pp.filter(pl.col("_chunk").is_null())
    if orphans.height:
        rejected_parts.append(
            validate.validate_chunk(hh.clear(), orphans.drop("_chunk"), profile, today=today, found=found)
        )
    source = f"import job {job.pk}: {hh_table.path.name}, {pp_table.path.name}"
    counts = {"households": 0, "persons": 0, "rejected": 0}
    t_chunks = time.perf_counter()

    def committed(nh: int, np_: int) -> None:
        counts["households"] += nh
        counts["persons"] += np_
        job.loaded, job.persons_loaded = counts["households"], counts["persons"]
        job.save(update_fields=["loaded", "persons_loaded"])
        if _CHUNK_DELAY and not bulk_mode:
            time.sleep(_CHUNK_DELAY)

    def written(nh: int) -> None:
        progress.advance(nh)
        if _CHUNK_DELAY and bulk_mode:
            time.sleep(_CHUNK_DELAY)

    def chunks() -> Iterator[load.Chunk]:
        for i in range(n_chunks):
            hc = hh.filter(pl.col("_chunk") == i).drop("_chunk")
            pc = pp.filter(pl.col("_chunk") == i).drop("_chunk")
            result = validate.validate_chunk(
                hc, pc, profile, today=today, found=found, held=held, area_limit=limit
            )
            if result.errors.height:
                rejected_parts.append(result)
                counts["rejected"] += result.rejected_households.height
                progress.advance(result.rejected_households.height)
            if result.households.height:
                if result.held.height:
                    held_parts.append(result.held)
                yield load.build_chunk(
                    result.households, result.persons, profile, areas,
                    actor_name=actor_name, actor_id=actor_id, channel=channel, reason="bulk import", source=source,
                    held=result.held,
                )  # fmt: skip

    finish: dict[str, float] = {}
    from sijill.registry import searchkeys

    last_household = searchkeys.max_household_id()
    progress.phase("load")
    if connection.vendor == "sqlite":
        finish = _write_with_process(chunks(), committed, written, bulk_mode, (pp.height, hh.height))
    elif bulk_mode:
        nh, np_, finish = pg_bulk.write(chunks(), pp.height, hh.height, written)
        committed(nh, np_)
    else:
        for chunk in chunks():
            load.write_chunk(chunk)
            committed(*chunk.sizes)
            written(chunk.sizes[0])
    t_chunks = time.perf_counter() - t_chunks
    t_keys = time.perf_counter()
    if counts["households"]:
        progress.message("Indexing the new households for search ...")
        searchkeys.index_new(last_household)
    t_keys = time.perf_counter() - t_keys
    loaded, persons_loaded, rejected = counts["households"], counts["persons"], counts["rejected"]
    persons_rejected = sum(r.rejected_persons.height for r in rejected_parts)
    out_dir: Path | None = None
    progress.phase("rejects")
    if rejected_parts:
        out_dir = rejects_dir or (settings.VAR_DIR / "rejects" / f"job-{job.pk}")
        merged = validate.Validated(
            households=hh.clear(),
            persons=pp.clear(),
            errors=pl.concat([r.errors for r in rejected_parts]).sort("table", "row"),
            rejected_households=pl.concat(
                [r.rejected_households for r in rejected_parts], how="diagonal_relaxed"
            ),
            rejected_persons=pl.concat([r.rejected_persons for r in rejected_parts], how="diagonal_relaxed"),
        )
        write_rejects(
            merged, out_dir, (f"{hh_table.path.stem}.rejected.csv", f"{pp_table.path.stem}.rejected.csv")
        )
        progress.message(f"{rejected:,} households rejected; see {out_dir}")
    held_for_review = sum(h.height for h in held_parts)
    if held_for_review:
        out_dir = out_dir or rejects_dir or (settings.VAR_DIR / "rejects" / f"job-{job.pk}")
        path = write_held(pl.concat(held_parts), out_dir, pp_table.path.name)
        progress.message(
            f"{held_for_review:,} identifiers already held by another person: loaded without them and "
            f"sent to identity review; see {path}"
        )
    finished = timezone.now()
    job.read, job.rejected, job.already_present = read, rejected, already
    job.held_for_review = held_for_review
    job.loaded, job.persons_loaded = loaded, persons_loaded
    job.status, job.finished_at = "done", finished
    job.rejects_dir = str(out_dir or "")
    job.save()
    if loaded + rejected + already != read:
        raise RuntimeError(f"import accounting is off: {loaded} + {rejected} + {already} != {read} rows read")
    return ImportSummary(
        job_id=job.pk,
        read=read,
        loaded=loaded,
        rejected=rejected,
        already_present=already,
        persons_read=persons_read,
        persons_loaded=persons_loaded,
        persons_rejected=persons_rejected,
        rejects_dir=str(out_dir) if out_dir else None,
        errors=sum(r.errors.height for r in rejected_parts),
        seconds=(finished - job.started_at).total_seconds(),
        files=[str(hh_table.path), str(pp_table.path)],
        phases={
            "global_checks": round(t_validate, 3),
            "validate_and_load": round(t_chunks, 3),
            "search_keys": round(t_keys, 3),
            # Parts of validate_and_load: a bulk load's index rebuild (and on PostgreSQL, foreign keys) and commit.
            **{k.removesuffix("_seconds"): round(v, 3) for k, v in finish.items()},
        },
        mode="bulk" if bulk_mode else "incremental",
        held_for_review=held_for_review,
    )
