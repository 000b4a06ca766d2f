"""The ``sijill`` command."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from sijill.registry.intake.progress import ImportProgress

app = typer.Typer(
    help="sijill (سجل): unified social registry and benefits delivery. See README.md.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)

DEMO_PASSWORD = "sijill-demo-2026"
DEMO_USERS = [
    # username, password, role, area ("national" or "province": the province with the most households)
    ("admin", "sijill-admin-2026", "ADMIN", "national"),
    ("demo-enumerator", DEMO_PASSWORD, "ENUMERATOR", "province"),
    ("demo-social-worker", DEMO_PASSWORD, "SOCIAL_WORKER", "province"),
    ("demo-programme-officer", DEMO_PASSWORD, "PROGRAMME_OFFICER", "national"),
    ("demo-dedup-reviewer", DEMO_PASSWORD, "DEDUP_REVIEWER", "national"),
    ("demo-policy-analyst", DEMO_PASSWORD, "POLICY_ANALYST", "national"),
    ("demo-auditor", DEMO_PASSWORD, "AUDITOR", "national"),
]


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sijill.settings")
    import django

    django.setup()


def _migrate(quiet: bool = True) -> None:
    """Apply pending migrations and load the country's geography if missing.

    Read-only when there is nothing to do, so it never waits on a running import.
    """
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0 if quiet else 1)
    from sijill.countries import get_profile
    from sijill.registry.geography import ensure_geography

    ensure_geography(get_profile(settings.SIJILL_COUNTRY))


def _phased(title: str, steps: dict[str, str], job: Any) -> Any:
    """Run ``job(progress)`` under a bar that advances at each phase it names (keys of ``steps``)."""
    with _progress() as bar:
        task = bar.add_task(title, total=len(steps))
        started = [False]

        def phase(name: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] = True
            bar.update(task, description=steps[name])

        result = job(phase)
        bar.advance(task)
    return result


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


@app.command()
def migrate() -> None:
    """Create or upgrade the database and load (or update) the country's geography."""
    _django()
    _migrate(quiet=False)
    from django.conf import settings

    from sijill.countries import get_profile
    from sijill.registry.geography import sync_geography

    sync_geography(get_profile(settings.SIJILL_COUNTRY))
    console.print("[green]Database ready.")


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Output folder")],
    country: Annotated[str, typer.Option(help="Country profile code")] = "ma",
    households: Annotated[int, typer.Option(help="Number of households")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files")] = 1,
    duplicates: Annotated[float, typer.Option(help="Share of persons duplicated with noise (0-1)")] = 0.0,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
) -> None:
    """Write a synthetic population (households, persons, truth files) for import."""
    from sijill.synth import SynthConfigError, generate

    try:
        with _progress() as bar:
            task = bar.add_task("Generating households", total=households)
            summary = generate(
                country, households, seed, out, duplicate_rate=duplicates, fmt=fmt,
                progress=lambda n: bar.advance(task, n),
            )  # fmt: skip
    except (SynthConfigError, ValueError) as exc:
        console.print(f"[red]Cannot generate: {exc}")
        raise typer.Exit(2) from None
    t = Table(title=f"Synthetic {summary.country.upper()} population, seed {summary.seed}")
    t.add_column("")
    t.add_column("rows", justify="right")
    t.add_row("households", f"{summary.household_rows:,}")
    t.add_row("  of which duplicates", f"{summary.duplicate_households:,}")
    t.add_row("persons", f"{summary.persons:,}")
    t.add_row("  of which duplicates", f"{summary.duplicate_persons:,}")
    Console().print(t)
    for name, path in summary.files.items():
        console.print(f"{name}: {path}")
    console.print(f"{summary.elapsed_s:.1f} s")


class _Bar(ImportProgress):
    def __init__(self, bar: Progress):
        self.bar = bar
        self.task = bar.add_task("Importing households", total=None)

    def start(self, total_households: int) -> None:
        self.bar.update(self.task, total=total_households)

    def advance(self, households: int) -> None:
        self.bar.advance(self.task, households)

    def message(self, text: str) -> None:
        self.bar.console.print(text)


@app.command(name="import")
def import_(
    paths: Annotated[
        list[Path], typer.Argument(help="households and persons files (CSV, XLSX, Parquet), or a folder")
    ],
    rejects: Annotated[
        Path | None, typer.Option(help="Folder for rejected rows (default var/rejects/job-N)")
    ] = None,
    country: Annotated[str | None, typer.Option(help="Country profile (default SIJILL_COUNTRY)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object")] = False,
    mode: Annotated[
        str,
        typer.Option(
            help="auto | incremental (commit every chunk) | bulk (one transaction, indexes rebuilt at the end, "
            "readers wait; auto picks it for a large load into a smaller registry)"
        ),
    ] = "auto",
) -> None:
    """Validate and load households and persons (docs/import-format.md). Safe to re-run."""
    _django()
    _migrate()
    from sijill.registry.intake.job import run_import
    from sijill.registry.intake.reader import ImportFileError
    from sijill.registry.intake.validate import HeaderError

    try:
        if as_json:
            summary = run_import(paths, rejects_dir=rejects, country=country, mode=mode)
        else:
            with _progress() as bar:
                summary = run_import(
                    paths, rejects_dir=rejects, country=country, progress=_Bar(bar), mode=mode
                )
    except (ImportFileError, HeaderError, ValueError) as exc:
        console.print(f"[red]Import refused: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(summary.as_dict()))
        return
    t = Table(title=f"Import job {summary.job_id}")
    t.add_column("")
    t.add_column("households", justify="right")
    t.add_column("persons", justify="right")
    t.add_row("read", f"{summary.read:,}", f"{summary.persons_read:,}")
    t.add_row("loaded", f"{summary.loaded:,}", f"{summary.persons_loaded:,}")
    t.add_row("rejected", f"{summary.rejected:,}", f"{summary.persons_rejected:,}")
    t.add_row("already present", f"{summary.already_present:,}", "")
    if summary.held_for_review:
        t.add_row("identifiers held for review", "", f"{summary.held_for_review:,}")
    Console().print(t)
    if summary.rejects_dir:
        console.print(f"Rejected rows and reasons: {summary.rejects_dir}")
    if summary.held_for_review:
        console.print(
            f"{summary.held_for_review:,} identifiers already held by someone else were not loaded; "
            "each person concerned is in the review queue (`sijill dedupe queue --kind ID_CONFLICT`)."
        )
    console.print(f"{summary.seconds:.1f} s")


def _parse_date(value: str | None) -> dt.date:
    if not value:
        from django.utils import timezone

        return timezone.localdate()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        console.print(f"[red]--as-of must be a date like 2026-11-30, got {value!r}")
        raise typer.Exit(2) from None


@app.command()
def score(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date of the rules, ages and memberships (default today)")
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(
            help="Write one CSV row per household: household_ref, registry_id, score, model_version, "
            "programmes, and each programme's monthly amount column"
        ),
    ] = None,
    household: Annotated[
        list[str] | None, typer.Option("--household", help="Only this household (registry id); repeatable")
    ] = None,
    country: Annotated[str | None, typer.Option(help="Country profile (default SIJILL_COUNTRY)")] = None,
    model: Annotated[
        str | None, typer.Option(help="PMT model version (default: the country's active model)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object")] = False,
) -> None:
    """Recompute scores, eligibility and entitlements (all households, or a selection) and record changes."""
    _django()
    _migrate()
    import time

    from django.conf import settings

    from sijill.registry.models import Household
    from sijill.targeting import selectors
    from sijill.targeting.services import score as run_score

    day = _parse_date(as_of)
    cc = (country or settings.SIJILL_COUNTRY).upper()
    ids = None
    if household:
        found = dict(
            Household.objects.filter(registry_id__in=household, country=cc).values_list("registry_id", "id")
        )
        missing = [h for h in household if h not in found]
        if missing:
            console.print(f"[red]Unknown household registry id(s) for {cc}: {', '.join(missing)}")
            raise typer.Exit(2)
        ids = list(found.values())
    t0 = time.perf_counter()
    steps = {
        "read": "Reading the registry",
        "compute": "Computing scores and programmes",
        "write": "Recording changes",
    }
    if as_json:
        run, results = run_score(cc, day, household_ids=ids, pmt_model=model)
    else:
        run, results = _phased(
            "Scoring",
            steps,
            lambda phase: run_score(cc, day, household_ids=ids, pmt_model=model, progress=phase),
        )
    summary = selectors.run_summary(run, results)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    if export:
        selectors.export_frame(cc, results, run).write_csv(export)
        summary["export"] = str(export)
    if as_json:
        print(json.dumps(summary))
        return
    t = Table(title=f"Scoring run {run.pk}: {summary['households']:,} households as of {day}")
    t.add_column("programme")
    t.add_column("eligible households", justify="right")
    t.add_column("monthly amount", justify="right")
    for code, p in summary["programmes"].items():
        t.add_row(code, f"{p['beneficiaries']:,}", f"{p['monthly_amount']:,.2f}")
    Console().print(t)
    console.print(
        f"model {run.model_version}, rules {run.parameters_version}; "
        f"{run.new_assessments:,} new scores, {run.changed_decisions:,} decisions changed; {summary['seconds']:.1f} s"
    )
    if export:
        console.print(f"Exported: {export}")


@app.command()
def simulate(
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="NAME=VALUE: a rules parameter and its new value, e.g. asd.threshold=9.9; repeatable",
        ),
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date simulated (default today)")] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="CSV of household_ref and log_consumption_pc (the synthetic truth) to measure targeting errors"
        ),
    ] = None,
    reform: Annotated[
        str | None,
        typer.Option(
            help="MODULE:CLASS, an OpenFisca Reform that adds or replaces rules (applied after --set)"
        ),
    ] = None,
    country: Annotated[str | None, typer.Option(help="Country profile (default SIJILL_COUNTRY)")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole result as one JSON object")
    ] = False,
) -> None:
    """What if a threshold, an amount or an age limit changed? Current against changed rules, on the registry."""
    _django()
    _migrate()
    import polars as pl
    from django.conf import settings

    from sijill.targeting.simulation import Scenario, SimulationError, load_reform, parse_value
    from sijill.targeting.simulation import simulate as run_simulation

    changes: dict[str, float | bool] = {}
    try:
        for item in set_ or []:
            if "=" not in item:
                raise SimulationError(f"--set expects NAME=VALUE, got {item!r}")
            name, value = item.split("=", 1)
            changes[name.strip()] = parse_value(value)
        truth_df = pl.read_csv(truth, infer_schema_length=0) if truth else None
        day = _parse_date(as_of)
        cc = (country or settings.SIJILL_COUNTRY).upper()
        scenario = Scenario(changes, load_reform(reform) if reform else None)
        if as_json:
            result = run_simulation(cc, day, scenario, truth=truth_df)
        else:
            with console.status("Simulating current and changed rules…"):
                result = run_simulation(cc, day, scenario, truth=truth_df)
    except (SimulationError, FileNotFoundError) as exc:
        console.print(f"[red]Simulation refused: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(result))
        return
    t = Table(title=f"{result['households']:,} households, {result['as_of']}: current rules → changed rules")
    for col in ("programme", "beneficiaries", "changed", "monthly cost", "changed", "gainers", "losers"):
        t.add_column(col, justify="right" if col != "programme" else "left")
    for code, cur in result["current"].items():
        new = result["changed"][code]
        gl = result["gainers_losers"][code]
        t.add_row(code, f"{cur['beneficiaries']:,}", f"{new['beneficiaries']:,}", f"{cur['monthly_cost']:,.0f}",
                  f"{new['monthly_cost']:,.0f}", f"{gl['gainers']:,}", f"{gl['losers']:,}")  # fmt: skip
    Console().print(t)
    if "targeting" in result and result["targeting"].get("thresholds"):
        q = Table(
            title="Targeting quality against the synthetic truth (poor: true consumption under current law's line)"
        )
        for col in ("threshold", "rules", "selected", "inclusion error", "exclusion error"):
            q.add_column(col)
        for name, th in result["targeting"]["thresholds"].items():
            for label in ("current", "changed"):
                v = th[label]
                line = th["threshold"] if label == "current" else th.get("threshold_new", th["threshold"])
                q.add_row(f"{name} {line}", label, f"{v['selected']:,}",
                          f"{v['inclusion_error']:.1%}", f"{v['exclusion_error']:.1%}")  # fmt: skip
        Console().print(q)
    console.print(f"{result['seconds']['total']:.1f} s")


pmt_app = typer.Typer(help="Proxy means test models: fit a new version from a survey, compare two versions.")
app.add_typer(pmt_app, name="pmt")


@pmt_app.command("fit")
def pmt_fit(
    survey: Annotated[
        Path,
        typer.Argument(
            help="Survey folder: households and persons files (import format) and consumption.csv or "
            "truth.csv (household_ref, log_consumption_pc or consumption_pc, optional weight)"
        ),
    ],
    version: Annotated[str | None, typer.Option(help="Name of the new model version")] = None,
    country: Annotated[str | None, typer.Option(help="Country profile (default SIJILL_COUNTRY)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object")] = False,
) -> None:
    """Estimate a new PMT model (urban and rural, regional effects) by weighted least squares."""
    _django()
    from django.conf import settings

    from sijill.targeting.pmt_fit import FitError, fit_survey

    cc = (country or settings.SIJILL_COUNTRY).upper()
    try:
        if as_json:
            report = fit_survey(cc, survey, version=version)
        else:
            with console.status("Reading the survey and fitting…"):
                report = fit_survey(cc, survey, version=version)
    except FitError as exc:
        console.print(f"[red]Fit refused: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report))
        return
    t = Table(title=f"New PMT model {report['version']} ({report['households']:,} survey households)")
    for col in ("milieu", "households", "R²", "features"):
        t.add_column(col)
    for m, r in report["models"].items():
        t.add_row(m, f"{r['households']:,}", f"{r['r2']:.3f}", str(r["features"]))
    Console().print(t)
    for name, e in report["errors"].items():
        console.print(f"{name} threshold {e['threshold']}: inclusion {e['inclusion_error']:.1%}, "
                      f"exclusion {e['exclusion_error']:.1%}")  # fmt: skip
    console.print(f"Written: {report['path']}")


@pmt_app.command("compare")
def pmt_compare(
    a: Annotated[str, typer.Argument(help="First model version")],
    b: Annotated[str, typer.Argument(help="Second model version")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date (default today)")] = None,
    country: Annotated[str | None, typer.Option(help="Country profile (default SIJILL_COUNTRY)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as one JSON object")] = False,
) -> None:
    """Score the registry with two model versions and compare scores and eligibility."""
    _django()
    _migrate()
    from django.conf import settings

    from sijill.targeting.pmt_fit import FitError, compare_models

    cc = (country or settings.SIJILL_COUNTRY).upper()
    try:
        report = compare_models(cc, a, b, _parse_date(as_of))
    except FitError as exc:
        console.print(f"[red]Comparison refused: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report))
        return
    t = Table(title=f"{a} → {b} on {report['households']:,} households")
    for col in ("programme", f"eligible ({a})", f"eligible ({b})", "gain", "lose"):
        t.add_column(col)
    for code, p in report["programmes"].items():
        t.add_row(code, f"{p['eligible_a']:,}", f"{p['eligible_b']:,}", f"{p['newly_eligible']:,}",
                  f"{p['no_longer_eligible']:,}")  # fmt: skip
    Console().print(t)
    console.print(
        f"score correlation {report['score_correlation']:.4f}, mean difference {report['mean_difference']:+.4f}"
    )


@pmt_app.command("list")
def pmt_list(
    country: Annotated[str | None, typer.Option(help="Country profile (default SIJILL_COUNTRY)")] = None,
) -> None:
    """The PMT model versions available (shipped and fitted), the active one first."""
    _django()
    from django.conf import settings

    from sijill.targeting.pmt_fit import available_models

    for row in available_models((country or settings.SIJILL_COUNTRY).upper()):
        flag = "active" if row["active"] else ""
        print(f"{row['version']}\t{flag}\t{row['path']}")


dedupe_app = typer.Typer(
    help="Find persons registered twice: score candidate pairs, queue them for review, export them.",
    invoke_without_command=True,
)
app.add_typer(dedupe_app, name="dedupe")


@dedupe_app.callback()
def dedupe(
    ctx: typer.Context,
    new_only: Annotated[
        bool,
        typer.Option("--new-only", help="Only persons added since the last finished run, against everyone"),
    ] = False,
    export: Annotated[
        Path | None,
        typer.Option(
            help="Write this run's new pairs as CSV: ref_a,ref_b,probability (the import file's person "
            "references; registry ids for persons that came from no file)"
        ),
    ] = None,
    auto_link: Annotated[
        float, typer.Option(help="Pairs at or above this probability are linked as the same person")
    ] = 0.99,
    review: Annotated[
        float, typer.Option(help="Pairs at or above this probability (and below auto-link) go to review")
    ] = 0.70,
    retrain: Annotated[
        bool,
        typer.Option("--retrain", help="Train a new linkage model (unsupervised) instead of the current one"),
    ] = False,
    country: Annotated[str | None, typer.Option(help="Country profile (default SIJILL_COUNTRY)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object")] = False,
) -> None:
    """Deduplicate the registry (or the new intake) with the probabilistic matcher.

    Pairs at or above --auto-link are recorded as the same person (AUTO_LINKED); pairs
    between --review and --auto-link wait in the review queue (PENDING). Pairs already
    queued or decided are not queued again. Nothing is merged here: merges are decided
    in review (see docs/identity.md).
    """
    if ctx.invoked_subcommand is not None:
        return
    _django()
    _migrate()
    import time

    from django.conf import settings

    from sijill.identity import dedupe as job

    cc = (country or settings.SIJILL_COUNTRY).upper()
    t0 = time.perf_counter()
    steps = {
        "read": "Reading the registry",
        "keys": "Normalising names",
        "model": "Loading or training the model",
        "pairs": "Scoring candidate pairs",
        "write": "Queueing pairs",
    }
    kwargs: dict[str, Any] = dict(
        scope="new" if new_only else "all", auto_link=auto_link, review=review, retrain=retrain, export=export,
        actor_name="sijill dedupe",
    )  # fmt: skip
    try:
        if as_json:
            result = job.run(cc, **kwargs)
        else:
            result = _phased("Deduplicating", steps, lambda phase: job.run(cc, progress=phase, **kwargs))
    except ValueError as exc:
        console.print(f"[red]{exc}", soft_wrap=True)
        raise typer.Exit(2) from exc
    r = result.run
    summary = {
        "run": r.pk,
        "scope": r.scope,
        "persons": r.persons,
        "model_version": r.model_version,
        "pairs": r.pairs,
        "auto_linked": r.auto_linked,
        "for_review": r.for_review,
        "auto_link_threshold": r.auto_link_threshold,
        "review_threshold": r.review_threshold,
        "clusters": int(result.pairs["cluster_id"].n_unique()) if result.pairs.height else 0,
        "seconds": round(time.perf_counter() - t0, 2),
        "timings": result.timings,
    }
    if export:
        summary["export"] = str(export)
    if as_json:
        print(json.dumps(summary))
        return
    console.print(
        f"Dedupe run {r.pk} ({r.scope}): {r.persons:,} persons compared with model {r.model_version}; "
        f"{r.pairs:,} new pairs in {summary['clusters']:,} clusters: {r.auto_linked:,} linked "
        f"(p ≥ {auto_link}), {r.for_review:,} for review; {summary['seconds']:.1f} s"
    )
    if export:
        console.print(f"Exported: {export}")


def _person_line(side: Any) -> str:
    p = side.person
    names = " ".join(x for x in (p.given_name_lat, p.family_name_lat) if x)
    ar = " ".join(x for x in (p.given_name_ar, p.family_name_ar) if x)
    hh = side.household.registry_id if side.household is not None else "no active household"
    return f"{p.registry_id} {names} {ar} ({p.sex}, {p.birth_date}) in {hh}"


@dedupe_app.command("queue")
def dedupe_queue(
    kind: Annotated[str | None, typer.Option(help="PROBABLE, ID_CONFLICT or ACTIVE_ELSEWHERE")] = None,
    linked: Annotated[
        bool,
        typer.Option(
            "--linked", help="Pairs linked automatically and not yet merged, instead of pending ones"
        ),
    ] = False,
    limit: Annotated[int, typer.Option(help="Show at most this many")] = 20,
) -> None:
    """List the review queue: exact conflicts first, then the most probable pairs."""
    _django()
    _migrate()
    from sijill.identity.models import MatchCandidate
    from sijill.identity.selectors import review_queue

    status = MatchCandidate.AUTO_LINKED if linked else MatchCandidate.PENDING
    qs = review_queue(kind=kind, status=status)
    t = Table(title=f"{qs.count():,} candidates ({status})")
    for col in ("id", "kind", "probability", "record a", "record b", "reason"):
        t.add_column(col)
    for c in qs[:limit]:
        a, b = c.person_a, c.person_b
        t.add_row(
            str(c.pk), c.kind, "" if c.probability is None else f"{c.probability:.4f}",
            f"{a.registry_id} {a.given_name_lat} {a.family_name_lat}", f"{b.registry_id} {b.given_name_lat} {b.family_name_lat}",
            c.reason,
        )  # fmt: skip
    Console().print(t)


@dedupe_app.command("show")
def dedupe_show(
    candidate: Annotated[int, typer.Argument(help="Candidate id (from `sijill dedupe queue`)")],
) -> None:
    """Both records of a candidate side by side, with what differs."""
    _django()
    _migrate()
    from sijill.identity.models import MatchCandidate
    from sijill.identity.selectors import candidate_view

    try:
        v = candidate_view(candidate)
    except MatchCandidate.DoesNotExist as exc:
        console.print(f"[red]No candidate {candidate}")
        raise typer.Exit(2) from exc
    c = v.candidate
    console.print(
        f"Candidate {c.pk}: {c.get_kind_display()}, {c.get_status_display()}; {c.reason}", soft_wrap=True
    )
    t = Table()
    t.add_column("field")
    t.add_column(f"a: {v.a.person.registry_id}")
    t.add_column(f"b: {v.b.person.registry_id}")
    t.add_column("")
    for name, (va, vb, same) in v.fields.items():
        t.add_row(name, str(va or ""), str(vb or ""), "" if same else "differs")
    for label, side in (("a", v.a), ("b", v.b)):
        ids = ", ".join(f"{i.id_type} {i.value}" for i in side.identifiers) or "none"
        members = ", ".join(
            f"{m.person.given_name_lat or m.person.given_name_ar} ({m.relationship})" for m in side.members
        )
        t.add_row(f"{label}: identifiers", *((ids, "") if label == "a" else ("", ids)), "")
        hh = side.household.registry_id if side.household is not None else "none"
        t.add_row(
            f"{label}: household",
            *((f"{hh}: {members}", "") if label == "a" else ("", f"{hh}: {members}")),
            "",
        )
    Console().print(t)
    if v.same_household:
        console.print("Both records are in the same household.")


@dedupe_app.command("decide")
def dedupe_decide(
    candidate: Annotated[int, typer.Argument(help="Candidate id")],
    match: Annotated[
        bool, typer.Option("--match/--not-match", help="The same person (merge) or two different persons")
    ],
    reason: Annotated[str, typer.Option(help="Why (required; kept in history)")],
    reviewer: Annotated[str, typer.Option(help="Your name, as recorded in history")],
    keep_household: Annotated[
        str | None,
        typer.Option(
            help="When both records are active in different households: the one to keep (registry id)"
        ),
    ] = None,
) -> None:
    """Decide a candidate: --match merges the two records (the older one keeps its registry id)."""
    _django()
    _migrate()
    from sijill.identity import services
    from sijill.identity.models import MatchCandidate
    from sijill.registry.models import Household

    keep = None
    if keep_household:
        keep = Household.objects.filter(registry_id=keep_household, registry_id__isnull=False).first()
        if keep is None:
            console.print(f"[red]Unknown household {keep_household}")
            raise typer.Exit(2)
    try:
        merge = services.decide(
            candidate, MatchCandidate.MATCH if match else MatchCandidate.NOT_MATCH,
            reason=reason, actor_name=reviewer, keep_household=keep,
        )  # fmt: skip
    except (services.IdentityError, MatchCandidate.DoesNotExist) as exc:
        console.print(f"[red]{exc}", soft_wrap=True)
        raise typer.Exit(2) from exc
    if merge is None:
        console.print(f"Candidate {candidate}: not the same person; recorded.")
    else:
        console.print(
            f"Merged {merge.merged.registry_id} into {merge.survivor.registry_id} (merge {merge.pk}; "
            f"undo with `sijill dedupe unmerge {merge.pk}`)."
        )


@dedupe_app.command("unmerge")
def dedupe_unmerge(
    merge: Annotated[int, typer.Argument(help="Merge id (printed by `sijill dedupe decide`)")],
    reason: Annotated[str, typer.Option(help="Why (required; kept in history)")],
    reviewer: Annotated[str, typer.Option(help="Your name, as recorded in history")],
) -> None:
    """Undo a merge: both records, their memberships and identifiers as they were before it."""
    _django()
    _migrate()
    from sijill.identity import services
    from sijill.identity.models import Merge

    try:
        services.unmerge(merge, actor_name=reviewer, reason=reason)
    except (services.IdentityError, Merge.DoesNotExist) as exc:
        console.print(f"[red]{exc}", soft_wrap=True)
        raise typer.Exit(2) from exc
    console.print(f"Merge {merge} undone; its candidate is back in the queue.")


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False) -> None:
    """Counts of households, persons and active memberships (read-only)."""
    _django()
    from django.db import connection

    from sijill.registry.selectors import registry_stats

    if "registry_household" not in connection.introspection.table_names():
        console.print("[red]This database has no registry yet: run `sijill migrate` (or `sijill demo`).")
        raise typer.Exit(2)

    s = registry_stats()
    if as_json:
        print(json.dumps(s))
    else:
        for k, v in s.items():
            print(f"{k}: {v:,}")


def _demo_province() -> str:
    """The second-level area (province, cercle) with the most households, else the first one."""
    from django.db.models import Count

    from sijill.registry.models import AdminArea, Household

    counts: dict[str, int] = {}
    for row in Household.live.values("area_path").annotate(n=Count("id")).order_by():
        parts = row["area_path"].split("/")
        if len(parts) >= 2:
            counts[parts[1]] = counts.get(parts[1], 0) + row["n"]
    if counts:
        return max(sorted(counts), key=lambda c: counts[c])
    from django.conf import settings

    from sijill.countries import get_profile

    level = get_profile(settings.SIJILL_COUNTRY).area_levels[1].code
    first = AdminArea.objects.filter(country=settings.SIJILL_COUNTRY, level=level).order_by("code").first()
    if first is None:
        raise RuntimeError("no geography loaded: run `sijill migrate`")
    return first.code


def _ensure_demo_users() -> list[tuple[str, str, str, str]]:
    """Create the demo accounts that are missing, and give a role to any that has none.

    Returns (username, password, role, areas) rows for the table printed by ``sijill demo``.
    """
    from django.contrib.auth import get_user_model
    from django.utils import translation

    from sijill.accounts.models import StaffProfile
    from sijill.accounts.permissions import Role
    from sijill.accounts.services import create_staff_user, set_staff_role

    User = get_user_model()
    province = _demo_province()
    out = []
    for username, password, role, where in DEMO_USERS:
        areas = [province] if where == "province" else []
        user = User.objects.filter(username=username).first()
        if user is None:
            user = create_staff_user(
                username, password, role, areas, national=not areas, check_password=False
            )
        elif not StaffProfile.objects.filter(user=user).exists():
            set_staff_role(user, role, areas, national=not areas)
        profile = StaffProfile.objects.get(user=user)
        where_label = (
            "national"
            if profile.is_national
            else ", ".join(f"{a.name_fr} ({a.code})" for a in profile.areas.order_by("path"))
        )
        with translation.override("en"):
            out.append((username, password, str(Role(profile.role).label), where_label))
    return out


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _cookie_policy(host: str) -> None:
    """Before Django starts: plain HTTP on a loopback address (a local demo) cannot carry Secure
    cookies, so they are off there unless SIJILL_SECURE_COOKIES says otherwise."""
    if "SIJILL_SECURE_COOKIES" not in os.environ and host in LOOPBACK:
        os.environ["SIJILL_SECURE_COOKIES"] = "0"


def _serve(host: str, port: int) -> None:
    from django.conf import settings
    from waitress import serve as waitress_serve  # type: ignore[import-untyped]

    from sijill.wsgi import application

    console.print(f"[bold green]sijill is running on http://{host}:{port}/[/]  (Ctrl+C to stop)")
    if settings.SESSION_COOKIE_SECURE:
        console.print("Session cookies are Secure: serve the site through HTTPS (a reverse proxy).")
    waitress_serve(application, host=host, port=port, threads=8, ident="sijill")


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
) -> None:
    """Serve an existing database."""
    _cookie_policy(host)
    _django()
    _migrate()
    _serve(host, port)


@app.command()
def demo(
    households: Annotated[int, typer.Option(help="Synthetic households to load on first run")] = 5_000,
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Synthetic population seed")] = 2024,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Prepare everything but do not start the server")
    ] = False,
) -> None:
    """Create the database if needed, load a synthetic population, and serve the app."""
    _cookie_policy(host)
    _django()
    _migrate()
    from django.conf import settings

    from sijill.registry.intake.job import run_import
    from sijill.registry.selectors import registry_stats
    from sijill.synth import generate

    if registry_stats()["households"] == 0 and households > 0:
        out = settings.VAR_DIR / "demo" / f"{settings.SIJILL_COUNTRY.lower()}-{households}-{seed}"
        with _progress() as bar:
            task = bar.add_task("Generating synthetic households", total=households)
            generate(settings.SIJILL_COUNTRY.lower(), households, seed, out,
                     progress=lambda n: bar.advance(task, n))  # fmt: skip
            summary = run_import([out / "households.csv", out / "persons.csv"], progress=_Bar(bar))
        console.print(f"Loaded {summary.loaded:,} households, {summary.persons_loaded:,} persons.")
    from sijill.targeting.models import Assessment

    if registry_stats()["households"] and not Assessment.objects.exists():
        from django.utils import timezone

        from sijill.targeting.services import score as run_score

        with console.status("Scoring households and deciding programmes…"):
            run, _ = run_score(settings.SIJILL_COUNTRY, timezone.localdate(), reason="demo")
        console.print(f"Scored {run.households:,} households ({run.model_version}).")
    users = _ensure_demo_users()
    t = Table(title="Demo logins")
    for col in ("username", "password", "role", "areas"):
        t.add_column(col, no_wrap=col in ("username", "password"))
    for row in users:
        t.add_row(*row)
    Console().print(t)
    s = registry_stats()
    console.print(f"Registry: {s['households']:,} households, {s['persons']:,} persons.")
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    if not no_serve:
        _serve(host, port)


users_app = typer.Typer(help="Staff accounts: create one with a role and areas, list them.")
app.add_typer(users_app, name="users")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[
        str,
        typer.Option(
            help="ENUMERATOR, SOCIAL_WORKER, PROGRAMME_OFFICER, DEDUP_REVIEWER, POLICY_ANALYST, AUDITOR or ADMIN"
        ),
    ],
    area: Annotated[
        list[str] | None,
        typer.Option(
            help="Code of an area the account works in (repeat for several); it sees the areas below too"
        ),
    ] = None,
    national: Annotated[bool, typer.Option("--national", help="The whole country (no --area)")] = False,
    email: Annotated[str, typer.Option(help="E-mail address")] = "",
    password: Annotated[
        str | None,
        typer.Option(
            envvar="SIJILL_NEW_PASSWORD",
            help="Password (default: asked twice, hidden; or from SIJILL_NEW_PASSWORD)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a staff account with one role and its areas (ADMIN alone may open /admin/)."""
    _django()
    _migrate()
    from sijill.accounts.services import StaffAccountError, create_staff_user, parse_role

    try:
        parse_role(role)
    except StaffAccountError as exc:
        console.print(f"[red]Cannot create the account: {exc}")
        raise typer.Exit(2) from None
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    from django.utils import translation

    try:
        with translation.override("en"):  # the command speaks English, as the password validators do here
            user = create_staff_user(
                username, password, role, area or [], national=True if national else None, email=email
            )
    except StaffAccountError as exc:
        console.print(f"[red]Cannot create the account: {exc}")
        raise typer.Exit(2) from None
    from sijill.accounts.selectors import staff_accounts

    row = next(r for r in staff_accounts() if r["username"] == user.get_username())
    console.print(f"[green]Created {row['username']}: {row['role']}, areas {', '.join(row['areas'])}.")


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False) -> None:
    """Every account with its role, areas and last login (read-only)."""
    _django()
    _migrate()
    from sijill.accounts.selectors import staff_accounts

    rows = staff_accounts()
    if as_json:
        print(json.dumps(rows))
        return
    t = Table(title="Staff accounts")
    for col in ("username", "role", "areas", "active", "admin site", "last login"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["username"], r["role"] or "-", ", ".join(r["areas"]) or "-", "yes" if r["active"] else "no",
                  "yes" if r["admin_site"] else "no", r["last_login"] or "-")  # fmt: skip
    Console().print(t)


i18n_app = typer.Typer(help="Translations: compile the catalogs in sijill/locale.")
app.add_typer(i18n_app, name="i18n")


@i18n_app.command("compile")
def i18n_compile(
    check: Annotated[
        bool, typer.Option("--check", help="Only report catalogs whose .mo is out of date (exit 1 if any)")
    ] = False,
) -> None:
    """Compile sijill/locale/*/LC_MESSAGES/django.po into .mo files (Babel; no gettext needed)."""
    from sijill.core.i18n import compile_catalogs

    results = compile_catalogs(check=check)
    stale = [r for r in results if r.changed]
    for r in results:
        state = ("out of date" if check else "compiled") if r.changed else "up to date"
        shown = r.po.relative_to(Path.cwd()) if r.po.is_relative_to(Path.cwd()) else r.po
        console.print(f"{shown}: {r.messages} messages, {state}")
    if check and stale:
        raise typer.Exit(1)


# --- Citizen portal (issue 5, docs/portal.md) ------------------------------------------------

portal_app = typer.Typer(help="Citizen portal: the text messages of the file sender (demos, tests).")
app.add_typer(portal_app, name="portal")


@portal_app.command("outbox")
def portal_outbox(
    last: Annotated[int, typer.Option("--last", "-n", help="How many messages, newest last")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON lines")] = False,
) -> None:
    """Print the last text messages of the file sender (SIJILL_SMS_OUTBOX, var/sms/outbox.jsonl)."""
    _django()
    from django.conf import settings

    from sijill.portal.sms import read_outbox

    messages = read_outbox(last)
    if as_json:
        for m in messages:
            print(json.dumps(m, ensure_ascii=False))
        return
    if not messages:
        console.print(f"no message in {settings.SIJILL_SMS_OUTBOX}")
        return
    for m in messages:
        Console().print(f"{m['at']}  {m['to']}  {m['text']}", markup=False, highlight=False)


# --- Household search (issue 5, docs/web.md "Search") ----------------------------------------

search_app = typer.Typer(help="Staff household search: rebuild its keys, or search from the command line.")
app.add_typer(search_app, name="search")


@search_app.command("rebuild")
def search_rebuild() -> None:
    """Compute the search keys of every household again (after an upgrade, or to repair them).

    The import and the write services keep the keys current; this is for a database that
    existed before the search, or one changed outside sijill. Searches find nothing while it runs."""
    _django()
    _migrate()
    import time

    from sijill.registry import searchkeys

    t0 = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task("Indexing households for search", total=None)
        n = searchkeys.rebuild(
            progress=lambda k: bar.advance(task, k), total=lambda t: bar.update(task, total=t)
        )
    console.print(f"{n:,} search keys written in {time.perf_counter() - t0:.1f} s")


@search_app.command("find")
def search_find(
    text: Annotated[str, typer.Argument(help="A registry number, identifier, phone or name (either script)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON lines")] = False,
) -> None:
    """Search households as the web page does (whole country), best match first."""
    _django()
    from sijill.registry.models import Household
    from sijill.registry.search import find_households

    result = find_households(Household.objects.all(), text)
    for h in result.hits:
        p = h.person
        row = {
            "household": h.household.registry_id,
            "reason": h.reason,
            "detail": h.detail,
            "score": round(h.score, 1),
            "person": p.registry_id if p else None,
            "name": f"{p.given_name_lat} {p.family_name_lat} / {p.given_name_ar} {p.family_name_ar}"
            if p
            else "",
        }
        if as_json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            Console().print("  ".join(str(v) for v in row.values() if v not in (None, "")), markup=False)
    if result.truncated:
        console.print("more candidates than were read: add a given name or another part of the name")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
