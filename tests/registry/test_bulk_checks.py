"""Checks that bulk mode does itself instead of the database's row-by-row ones."""

from __future__ import annotations

import polars as pl
import pytest
from django.db import connection

from sijill.core.bulk import DjangoSession
from sijill.registry.intake.sqlite_writer import REGISTRY_TABLES, check_references, references
from sijill.registry.models import AdminArea

pytestmark = pytest.mark.django_db

MEMBER = ("registry_membership", "person_id", "registry_person", "id")
AREA = ("registry_household", "area_id", "registry_adminarea", "id")


def test_a_reference_must_name_a_row_of_the_chunk_or_of_the_database():
    area = AdminArea.objects.create(country="ma", code="X1", level="region", name_fr="X", path="X1")
    s = DjangoSession()
    persons = pl.DataFrame({"id": [10, 11]})
    tables = [
        ("registry_person", persons),
        ("registry_household", pl.DataFrame({"id": [1], "area_id": [area.pk]})),
        ("registry_membership", pl.DataFrame({"person_id": [10, 11, None]})),
    ]
    check_references(s, tables, [MEMBER, AREA])  # persons from the chunk, the area from the database
    tables[2] = ("registry_membership", pl.DataFrame({"person_id": [10, 12]}))
    with pytest.raises(
        RuntimeError, match=r"registry_membership\.person_id = 12 refers to no row of registry_person"
    ):
        check_references(s, tables, [MEMBER, AREA])
    tables[1] = ("registry_household", pl.DataFrame({"id": [1], "area_id": [area.pk + 1000]}))
    with pytest.raises(RuntimeError, match="area_id"):
        check_references(s, tables, [AREA])


@pytest.mark.backend("sqlite")  # SQLite's catalogue; PostgreSQL bulk mode drops and re-adds its keys instead
def test_every_declared_foreign_key_of_the_registry_tables_is_checked():
    refs = references(DjangoSession(), REGISTRY_TABLES)
    assert {(c, col) for c, col, _, _ in refs} >= {
        ("registry_person", "created_changeset_id"),
        ("registry_household", "head_id"),
        ("registry_household", "declarant_id"),
        ("registry_household", "area_id"),
        ("registry_membership", "person_id"),
        ("registry_membership", "household_id"),
        ("registry_externalidentifier", "person_id"),
    }


def _registry_indexes() -> list[str]:
    """Names of the registry tables' indexes and constraints, from the database's catalogue."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename LIKE 'registry_%%' "
                "UNION ALL SELECT conname FROM pg_constraint WHERE conrelid::regclass::text LIKE 'registry_%%'"
            )
        else:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'registry_%%'")
        return sorted(r[0] for r in cur.fetchall())


def _fail_on_second_call(real, where):  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError(f"boom in the {where}")
        return real(*args, **kwargs)

    return wrapped


def _bulk_load_fails_and_leaves_nothing(tmp_path, family, where: str) -> None:
    from sijill.registry.intake import job
    from sijill.registry.models import Household, Person
    from tests.conftest import write_tables

    before = _registry_indexes()
    hh, pp = family
    with pytest.raises(RuntimeError, match=f"boom in the {where}"):
        job.run_import(write_tables(tmp_path, hh, pp), mode="bulk", chunk_households=1)
    assert Household.objects.count() == 0 and Person.objects.count() == 0
    assert _registry_indexes() == before


@pytest.mark.django_db(transaction=True)
def test_a_bulk_load_that_fails_in_the_importer_leaves_nothing_behind(tmp_path, family, monkeypatch):
    """On both databases: the second chunk's validation fails after the first was written."""
    from sijill.registry.intake import validate

    monkeypatch.setattr(validate, "validate_chunk", _fail_on_second_call(validate.validate_chunk, "importer"))
    _bulk_load_fails_and_leaves_nothing(tmp_path, family, "importer")


@pytest.mark.django_db(transaction=True)
@pytest.mark.backend("postgresql")  # the writer thread runs in this process only on PostgreSQL
def test_a_postgresql_bulk_load_that_fails_in_its_writer_leaves_nothing_behind(tmp_path, family, monkeypatch):
    from sijill.registry.intake import pg_bulk

    monkeypatch.setattr(pg_bulk, "finalise", _fail_on_second_call(pg_bulk.finalise, "writer"))
    _bulk_load_fails_and_leaves_nothing(tmp_path, family, "writer")
