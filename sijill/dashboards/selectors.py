"""The dashboards' figures, over a Household queryset already limited to the account's areas
(:func:`sijill.accounts.selectors.scope_households`).

Every count and sum is one grouped SQL query (``GROUP BY`` in the database, on SQLite and
PostgreSQL alike); Python only relabels the groups. Targeting quality joins the current
scores and decisions to the synthetic truth in Polars and reuses
:func:`sijill.targeting.simulation.targeting_quality`.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Floor, StrIndex, Substr

from sijill.core.bulk import query_frame
from sijill.programmes.models import Decision
from sijill.registry.models import Household, Membership
from sijill.targeting.models import Assessment

Breakdown = Literal["region", "milieu", "head_sex"]
BREAKDOWNS: tuple[Breakdown, ...] = ("region", "milieu", "head_sex")


def region_of(field: str = "area_path") -> Case:
    """The top-level area code (region) of an area path, in SQL: ``MA-06/MA-CAS/…`` → ``MA-06``."""
    slash = StrIndex(field, Value("/"))
    return Case(
        When(**{f"{field}__contains": "/"}, then=Substr(field, 1, slash - 1)),
        default=F(field),
    )


def registered_by_region_milieu(households: QuerySet[Household]) -> list[dict[str, Any]]:
    """Live households and their current members (alive, active membership), by region and milieu."""
    hh = (
        households.filter(is_deleted=False)
        .annotate(region=region_of())
        .values("region", "milieu")
        .annotate(n=Count("id"))
        .order_by()
    )
    persons = (
        Membership.objects.filter(
            is_deleted=False,
            end_date__isnull=True,
            person__is_deleted=False,
            person__vital_status="ALIVE",
            household__in=households.filter(is_deleted=False).values("id"),
        )
        .annotate(region=region_of("household__area_path"))
        .values("region", "household__milieu")
        .annotate(n=Count("id"))
        .order_by()
    )
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in hh:
        out[(r["region"], r["milieu"])] = {
            "region": r["region"],
            "milieu": r["milieu"],
            "households": r["n"],
            "persons": 0,
        }
    for r in persons:
        key = (r["region"], r["household__milieu"])
        out.setdefault(key, {"region": key[0], "milieu": key[1], "households": 0, "persons": 0})[
            "persons"
        ] = r["n"]
    return sorted(out.values(), key=lambda r: (r["region"], r["milieu"]))


@dataclass(frozen=True)
class Histogram:
    edges: list[float]  # len(counts) + 1
    counts: list[int]
    width: float
    households: int

    @property
    def decimals(self) -> int:
        """Decimals that write every edge exactly (width 0.25 → 2)."""
        text = f"{self.width:.6f}".rstrip("0").rstrip(".")
        return len(text.split(".")[1]) if "." in text else 0


def _nice_width(span: float, bins: int) -> float:
    raw = span / bins if span > 0 else 0.1
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return float(m * power)
    return float(10 * power)


def score_histogram(households: QuerySet[Household], bins: int = 60) -> Histogram:
    """The current scores of ``households`` in bins of a round width (about ``bins`` of them)."""
    scores = Assessment.objects.filter(
        is_current=True, household__in=households.filter(is_deleted=False).values("id")
    )
    agg = scores.aggregate(lo=Min("score"), hi=Max("score"), n=Count("id"))
    if not agg["n"]:
        return Histogram([], [], 0.0, 0)
    width = _nice_width(float(agg["hi"]) - float(agg["lo"]), bins)
    first = math.floor(float(agg["lo"]) / width + 1e-9)
    rows = (
        scores.annotate(
            b=Cast(Floor(F("score") / Value(width, output_field=FloatField()) + 1e-9), IntegerField())
        )
        .values("b")
        .annotate(n=Count("id"))
        .order_by("b")
    )
    by_bin = {int(r["b"]): int(r["n"]) for r in rows}
    last = max(by_bin)
    counts = [by_bin.get(b, 0) for b in range(first, last + 1)]
    edges = [round(b * width, 6) for b in range(first, last + 2)]
    return Histogram(edges, counts, width, int(agg["n"]))


def head_sex() -> Subquery:
    return Subquery(Household.objects.filter(pk=OuterRef("household_id")).values("head__sex")[:1])


def programme_figures(households: QuerySet[Household], by: Breakdown | None) -> list[dict[str, Any]]:
    """Current beneficiaries (eligible households) and their monthly amount per programme, and
    by region, milieu or sex of the household head when ``by`` is given."""
    qs = Decision.objects.filter(
        is_current=True, eligible=True, household__in=households.filter(is_deleted=False).values("id")
    )
    group = ["programme"]
    if by == "region":
        qs = qs.annotate(group=region_of("household__area_path"))
    elif by == "milieu":
        qs = qs.annotate(group=F("household__milieu"))
    elif by == "head_sex":
        qs = qs.annotate(group=F("household__head__sex"))
    if by is not None:
        group.append("group")
    rows = qs.values(*group).annotate(beneficiaries=Count("id"), monthly=Sum("amount")).order_by(*group)
    return [
        {
            "programme": r["programme"],
            "group": r.get("group") or "",
            "beneficiaries": int(r["beneficiaries"]),
            "monthly": float(r["monthly"] or 0),
        }
        for r in rows
    ]


# --- Targeting quality ---------------------------------------------------------------------


def truth_file(country: str) -> Path | None:
    """The synthetic truth to measure against: ``SIJILL_TRUTH_FILE``, else the newest demo's."""
    configured = getattr(settings, "SIJILL_TRUTH_FILE", "")
    if configured:
        path = Path(configured)
        return path if path.is_file() else None
    found = sorted(
        (settings.VAR_DIR / "demo").glob(f"{country.lower()}-*/truth.csv"), key=lambda p: p.stat().st_mtime
    )
    return found[-1] if found else None


@functools.lru_cache(maxsize=2)
def _read_truth(path: Path, mtime_ns: int) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema_length=0, columns=["household_ref", "log_consumption_pc"])


def read_truth(path: Path) -> pl.DataFrame:
    return _read_truth(path, path.stat().st_mtime_ns)


def scores_and_decisions(households: QuerySet[Household], programmes: list[str]) -> pl.DataFrame:
    """Per assessed household: ``external_ref``, ``score`` and ``<programme>_eligible`` (current)."""
    qs = households.filter(is_deleted=False).annotate(
        score=Subquery(
            Assessment.objects.filter(household=OuterRef("pk"), is_current=True).values("score")[:1]
        )
    )
    cols = ["external_ref", "score"]
    for code in programmes:
        name = f"{code}_eligible"
        qs = qs.annotate(
            **{
                name: Exists(
                    Decision.objects.filter(
                        household=OuterRef("pk"), is_current=True, eligible=True, programme=code
                    )
                )
            }
        )
        cols.append(name)
    sql, params = qs.filter(score__isnull=False).values(*cols).order_by().query.sql_with_params()
    frame = query_frame(sql, params)
    if frame.width == 0:
        frame = pl.DataFrame(schema={c: pl.Utf8 for c in cols})
    return frame.select(
        pl.col("external_ref").cast(pl.Utf8),
        pl.col("score").cast(pl.Float64),
        *[pl.col(f"{c}_eligible").cast(pl.Int64).cast(pl.Boolean) for c in programmes],
    )


def targeting_quality(households: QuerySet[Household], country: str, as_of: dt.date) -> dict[str, Any] | None:
    """Inclusion and exclusion errors of the current scores at each programme threshold, and
    coverage of the poorest fifth, against the synthetic truth; None without a truth file."""
    from sijill.targeting.decisions import thresholds
    from sijill.targeting.openfisca.system import load_rules
    from sijill.targeting.simulation import targeting_quality as measure

    path = truth_file(country)
    if path is None:
        return None
    rules = load_rules(country)
    codes = [p.code for p in rules.programmes]
    j = scores_and_decisions(households, codes)
    # The dashboard measures the rules in force: "changed" is the same as "current".
    j = j.with_columns(
        pl.col("score").alias("score_new"),
        *[pl.col(f"{c}_eligible").alias(f"{c}_eligible_new") for c in codes],
    )
    result = measure(rules, j, read_truth(path), thresholds(rules, as_of))
    result["households_assessed"] = j.height
    result["truth_file"] = path.name
    return result
