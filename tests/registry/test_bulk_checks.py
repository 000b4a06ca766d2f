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


@pytest.mark.skipif(connection.vendor != "sqlite", reason="read from SQLite's catalogue")
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
