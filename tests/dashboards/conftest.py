"""A small registry whose figures are known by hand, and helpers to read the pages' tables and CSVs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tests import staff

# Score, truth (log consumption per person), milieu, sex of the head, ASD amount (None: not eligible),
# AMO Tadamon eligible. Casablanca is in region MA-06, Rabat in MA-04.
KNOWN = {
    "CAS-1": ("MA-CAS", 9.1, 9.0, "U", "M", "1000.50", True),
    "CAS-2": ("MA-CAS", 9.3, 9.5, "R", "F", "500.00", True),
    "CAS-3": ("MA-CAS", 10.6, 9.6, "U", "M", None, False),
    "RAB-1": ("MA-RAB", 12.0, 12.5, "U", "F", None, False),
}


@pytest.fixture
def known(db, tmp_path: Path, settings) -> dict[str, Any]:
    """Four households of two persons (three in Casablanca, one in Rabat), scored, with decisions,
    and a synthetic truth file for them."""
    from sijill.core.models import ChangeSet
    from sijill.programmes.models import Decision
    from sijill.registry.models import Household, Membership, Person
    from sijill.targeting.models import Assessment, ScoringRun

    staff.geography()
    now = timezone.now()
    cs = ChangeSet.objects.create(at=now, actor_name="test", channel="SYSTEM", reason="test")
    run = ScoringRun.objects.create(
        country="MA", as_of=dt.date(2026, 1, 1), model_version="test", parameters_version="test",
        changeset=cs, started_at=now, status="done",
    )  # fmt: skip
    out: dict[str, Any] = {}
    for ref, (province, score, _truth, milieu, head_sex, asd, tadamon) in KNOWN.items():
        hh = staff.household(province)
        head = Membership.objects.get(household=hh, relationship="HEAD").person
        Person.objects.filter(pk=head.pk).update(sex=head_sex)
        Household.objects.filter(pk=hh.pk).update(external_ref=ref, milieu=milieu, head=head)
        a = Assessment.objects.create(
            household=hh, run=run, household_version=1, as_of=run.as_of, score=score, milieu=milieu,
            region=province, model_version="test", parameters_version="test", computed_at=now,
        )  # fmt: skip
        for programme, eligible, amount in (
            ("ASD", asd is not None, Decimal(asd) if asd else None),
            ("AMO_TADAMON", tadamon, None),
        ):
            Decision.objects.create(
                household=hh, programme=programme, eligible=eligible, amount=amount, score=score,
                assessment=a, run=run, effective_from=run.as_of, reason_code="FIRST", decided_at=now,
            )  # fmt: skip
        out[ref] = hh
    truth = tmp_path / "truth.csv"
    truth.write_text(
        "household_ref,log_consumption_pc\n" + "".join(f"{r},{v[2]}\n" for r, v in KNOWN.items()),
        encoding="utf-8",
    )
    settings.SIJILL_TRUTH_FILE = str(truth)
    return out


def table_cells(html: str, table_id: str) -> list[list[str]]:
    """The text of every cell of <table id=…>, header row first."""
    m = re.search(rf'<table id="{table_id}"[^>]*>(.*?)</table>', html, re.S)
    assert m, f"no table {table_id}"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S)
    return [
        [
            unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in rows
    ]


def csv_rows(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def as_number(cell: str) -> float | str:
    """A French-formatted cell (1 234,50 MAD, 12,5 %) as the number the CSV writes."""
    s = re.sub(r"[\s\u00a0\u202f]|MAD", "", cell)
    percent = s.endswith("%")
    s = s.rstrip("%").replace(",", ".")
    try:
        value = float(s)
    except ValueError:
        return cell
    return round(value / 100, 4) if percent else value


def same_numbers(table: list[list[str]], rows: list[list[str]]) -> None:
    """The CSV (raw numbers) says what the table (formatted numbers) says, header included."""
    assert rows[0] == table[0]
    assert len(rows) == len(table)
    for t_row, c_row in zip(table[1:], rows[1:], strict=True):
        for t, c in zip(t_row, c_row, strict=True):
            want = as_number(t)
            if isinstance(want, float):
                assert float(c) == pytest.approx(want, abs=0.051), (t_row, c_row)
            else:
                assert c == t, (t_row, c_row)


@pytest.fixture
def geo(db):
    staff.geography()
