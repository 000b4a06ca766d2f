"""The ``sijill`` command."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

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

DEMO_USERS = [
    # username, password, is_superuser, description
    ("admin", "sijill-admin-2026", True, "Administrator (Django admin)"),
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
            help="auto | incremental (commit every chunk) | bulk (SQLite: one transaction, indexes rebuilt at "
            "the end; auto picks it for a large load into a smaller registry)"
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
    Console().print(t)
    if summary.rejects_dir:
        console.print(f"Rejected rows and reasons: {summary.rejects_dir}")
    console.print(f"{summary.seconds:.1f} s")


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


def _ensure_demo_users() -> list[tuple[str, str, str]]:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    out = []
    for username, password, su, desc in DEMO_USERS:
        u, created = User.objects.get_or_create(username=username)
        if created:
            u.is_staff = True
            u.is_superuser = su
            u.set_password(password)
            u.save()
        out.append((username, password, desc))
    return out


def _serve(host: str, port: int) -> None:
    from waitress import serve as waitress_serve  # type: ignore[import-untyped]

    from sijill.wsgi import application

    console.print(f"[bold green]sijill is running on http://{host}:{port}/[/]  (Ctrl+C to stop)")
    waitress_serve(application, host=host, port=port, threads=8, ident="sijill")


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
) -> None:
    """Serve an existing database."""
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
    users = _ensure_demo_users()
    t = Table(title="Demo logins")
    for col in ("username", "password", "role"):
        t.add_column(col)
    for row in users:
        t.add_row(*row)
    Console().print(t)
    s = registry_stats()
    console.print(f"Registry: {s['households']:,} households, {s['persons']:,} persons.")
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    if not no_serve:
        _serve(host, port)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
