"""Shared fixtures. The suite runs against the database named by SIJILL_DATABASE_URL
(SQLite by default, PostgreSQL in the second pass of ``./dev test``)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _backend() -> str:
    return "postgresql" if os.environ.get("SIJILL_DATABASE_URL", "").startswith("postgres") else "sqlite"


def _java_available() -> bool:
    """Whether PySpark can start a JVM: it runs ``$JAVA_HOME/bin/java``, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        return os.access(os.path.join(home, "bin", "java"), os.X_OK)
    return shutil.which("java") is not None


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests marked ``backend(name)`` exercise one database's own code path (its catalogue, its
    bulk writer). ``./dev test`` runs the suite once per database, and CI requires both passes,
    so each such test runs exactly once there: in the other pass it is deselected, not skipped.

    Tests marked ``requires_java`` (Spark in local mode) are deselected when there is no Java
    runtime; in CI (``CI=true``), where ``.ci/run`` installs one, its absence is an error.
    """
    here = _backend()
    java = _java_available()
    if (
        not java
        and os.environ.get("CI") == "true"
        and any(i.get_closest_marker("requires_java") for i in items)
    ):
        raise pytest.UsageError(
            "CI=true but no Java runtime: the Spark tests (requires_java) need one. "
            "Install default-jre-headless (see .ci/run) or set JAVA_HOME."
        )
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("backend")
        other_db = marker is not None and marker.args[0] != here
        no_java = not java and item.get_closest_marker("requires_java") is not None
        (drop if other_db or no_java else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def valid_answer(q: Any) -> Any:
    if q.type == "enum":
        return q.choices[0]
    if q.type == "bool":
        return "0"
    if q.type in ("int", "decimal"):
        return str(int(q.min if q.min is not None else 0) + (1 if q.name in ("rooms",) else 0))
    return "x"


def household_row(profile: Any, ref: str, milieu: str = "U", **over: Any) -> dict[str, Any]:
    commune = next(
        a for a in profile.areas if a.level == profile.lowest_level and (a.milieu in (milieu, None))
    )
    row: dict[str, Any] = {
        "household_ref": ref,
        "area_code": commune.code,
        "milieu": milieu,
        "registered_on": "2025-01-15",
    }
    for q in profile.questionnaire.questions:
        if q.milieu and q.milieu != milieu:
            continue
        row[q.name] = valid_answer(q)
    for q in profile.questionnaire.questions:
        if q.type in ("int", "decimal") and q.min is not None and q.min >= 1:
            row[q.name] = str(int(q.min))
    row.update(over)
    return row


def person_row(ref: str, household_ref: str, relationship: str = "HEAD", **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "person_ref": ref,
        "household_ref": household_ref,
        "relationship": relationship,
        "given_name_lat": "Mohamed",
        "family_name_lat": "El Alaoui",
        "given_name_ar": "محمد",
        "family_name_ar": "العلوي",
        "sex": "M",
        "birth_date": "1980-05-17",
    }
    row.update(over)
    return row


def write_tables(
    directory: Path, households: list[dict[str, Any]], persons: list[dict[str, Any]], fmt: str = "csv"
) -> list[Path]:
    import polars as pl

    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, rows in (("households", households), ("persons", persons)):
        cols = list(dict.fromkeys(k for r in rows for k in r))
        df = pl.DataFrame(
            {c: [None if r.get(c) is None else str(r.get(c)) for r in rows] for c in cols},
            schema={c: pl.Utf8 for c in cols},
        )
        path = directory / f"{name}.{fmt}"
        if fmt == "csv":
            df.write_csv(path)
        elif fmt == "parquet":
            df.write_parquet(path)
        else:
            df.write_excel(path)
        out.append(path)
    return out


@pytest.fixture
def ma() -> Any:
    from sijill.countries import get_profile

    return get_profile("ma")


@pytest.fixture
def family(ma: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two valid urban households: a couple with two children, and a widow living alone."""
    hh = [household_row(ma, "H1"), household_row(ma, "H2")]
    pp = [
        person_row("P1", "H1", "HEAD", id_type="CNIE", id_value="BK123456"),
        person_row(
            "P2",
            "H1",
            "SPOUSE",
            given_name_lat="Fatima Zahra",
            given_name_ar="فاطمة الزهراء",
            sex="F",
            birth_date="1984-02-01",
        ),
        person_row(
            "P3",
            "H1",
            "CHILD",
            given_name_lat="Youssef",
            given_name_ar="يوسف",
            birth_date="2012-09-30",
            in_school="1",
            school_sector="PUBLIC",
            school_level="LOWER_SECONDARY",
        ),
        person_row(
            "P4", "H1", "CHILD", given_name_lat="Salma", given_name_ar="سلمى", sex="F", birth_date="2019"
        ),
        person_row(
            "P5",
            "H2",
            "HEAD",
            given_name_lat="Khadija",
            given_name_ar="خديجة",
            family_name_lat="Benali",
            family_name_ar="بنعلي",
            sex="F",
            birth_date="1950-01-01",
        ),
    ]
    return hh, pp


@pytest.fixture
def scratch_db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of the same kind as the test database, for subprocesses."""
    url = os.environ.get("SIJILL_DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        base = url.rsplit("/", 1)[0]
        name = f"scratch_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        yield f"{base}/{name}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
