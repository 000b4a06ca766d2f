"""The dashboards' figures: each is a :class:`Figure`, a table of numbers and the charts drawn
from that same table (so the chart, the table and the CSV show the same numbers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from sijill.core.templatetags.sijill import code_label, milieu_label
from sijill.dashboards import charts, selectors
from sijill.dashboards.tables import Column, Table, fmt
from sijill.registry.models import AdminArea, Household


@dataclass
class Figure:
    table: Table
    # Called with rtl: the charts (id, svg). Kept lazy so that a CSV download draws nothing.
    painter: Callable[[Figure, bool], list[SafeString]] | None = None
    charts: list[SafeString] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def draw(self, rtl: bool) -> None:
        self.charts = self.painter(self, rtl) if self.painter else []


def _lang() -> str:
    return (get_language() or settings.LANGUAGE_CODE).split("-")[0]


def region_names(codes: list[str]) -> dict[str, str]:
    lang = _lang()
    out = {}
    for a in AdminArea.objects.filter(code__in=codes):
        out[a.code] = (a.name_ar if lang == "ar" and a.name_ar else "") or a.name_fr
    return out


def programme_name(country: str, code: str) -> str:
    from sijill.targeting.openfisca.system import load_rules

    try:
        names = load_rules(country).programme(code).name
    except KeyError:
        return code
    return str(names.get(_lang()) or names.get("fr") or code)


def group_label(by: str, value: str) -> str:
    if by == "region":
        return region_names([value]).get(value, value or "—")
    if by == "milieu":
        return milieu_label(value) or "—"
    return code_label(value, "sex") or _("Unknown")


def breakdown_choices() -> list[tuple[str, str]]:
    return [
        ("region", _("Region")),
        ("milieu", _("Urban or rural")),
        ("head_sex", _("Sex of the household head")),
    ]


def _ints(v: float) -> str:
    return fmt(v, "int")


def _money(v: float) -> str:
    return fmt(v, "money")


def _pct(v: float) -> str:
    return fmt(v, "percent")


# --- (a) registered households and persons ------------------------------------------------------


def registered(households: QuerySet[Household]) -> Figure:
    rows = selectors.registered_by_region_milieu(households)
    names = region_names(sorted({r["region"] for r in rows}))
    by_region: dict[str, dict[str, Any]] = {}
    for r in rows:
        row = by_region.setdefault(
            r["region"],
            {
                "region": names.get(r["region"], r["region"]),
                "urban": 0,
                "rural": 0,
                "households": 0,
                "persons": 0,
            },
        )
        row["urban" if r["milieu"] == "U" else "rural"] += r["households"]
        row["households"] += r["households"]
        row["persons"] += r["persons"]
    table = Table(
        "registered",
        gettext_lazy("Households and persons registered, by region and milieu"),
        [
            Column("region", gettext_lazy("Region"), "text"),
            Column("urban", gettext_lazy("Urban households"), "int"),
            Column("rural", gettext_lazy("Rural households"), "int"),
            Column("households", gettext_lazy("Households"), "int"),
            Column("persons", gettext_lazy("Persons"), "int"),
        ],
        sorted(by_region.values(), key=lambda r: -r["households"]),
    )

    def paint(fig: Figure, rtl: bool) -> list[SafeString]:
        t = fig.table
        return [
            charts.bar_chart(
                chart_id="chart-registered",
                title=str(t.title),
                desc=_(
                    "Households registered in each region, urban and rural. The same numbers are in the table below."
                ),
                categories=t.column("region"),
                series=[
                    charts.Series(_("Urban"), t.column("urban")),
                    charts.Series(_("Rural"), t.column("rural")),
                ],
                value_text=_ints,
                rtl=rtl,
            )
        ]

    return Figure(table, paint)


def registered_totals(table: Table) -> dict[str, int]:
    return {"households": sum(table.column("households")), "persons": sum(table.column("persons"))}


# --- score distribution ----------------------------------------------------------------------------


def scores(households: QuerySet[Household], country: str, as_of: dt.date) -> Figure:
    from sijill.targeting.decisions import thresholds
    from sijill.targeting.openfisca.system import load_rules

    h = selectors.score_histogram(households)
    rows = [{"low": h.edges[i], "high": h.edges[i + 1], "households": c} for i, c in enumerate(h.counts)]
    table = Table(
        "scores",
        gettext_lazy("Distribution of the current scores"),
        [
            Column("low", gettext_lazy("Score from"), "number", h.decimals),
            Column("high", gettext_lazy("to (excluded)"), "number", h.decimals),
            Column("households", gettext_lazy("Households"), "int"),
        ],
        rows,
    )
    rules = load_rules(country)
    markers: dict[float, list[str]] = {}
    for code, limit in thresholds(rules, as_of).items():
        markers.setdefault(limit, []).append(programme_name(country, code))
    # On the chart, the value; under it, the value and the programmes that use it.
    marker_list = [charts.Marker(v, fmt(v, "number")) for v in sorted(markers)]
    marker_notes = [
        _("Threshold %(value)s: %(programmes)s") % {"value": fmt(v, "number"), "programmes": ", ".join(n)}
        for v, n in sorted(markers.items())
    ]

    def paint(fig: Figure, rtl: bool) -> list[SafeString]:
        if not h.counts:
            return []
        return [
            charts.histogram(
                chart_id="chart-scores",
                title=str(fig.table.title),
                desc=_(
                    "Number of households by score, in bins of %(width)s; dashed lines are the programme "
                    "thresholds. The same numbers are in the table below."
                )
                % {"width": fmt(h.width, "number")},
                edges=h.edges,
                counts=h.counts,
                edge_text=lambda v: fmt(v, "number", h.decimals),
                count_text=_ints,
                markers=marker_list,
                rtl=rtl,
            )
        ]

    return Figure(table, paint, extra={"assessed": h.households, "markers": marker_notes})


# --- (b) programmes --------------------------------------------------------------------------------


def programme_totals(households: QuerySet[Household], country: str) -> Figure:
    rows = [
        {
            "programme": programme_name(country, r["programme"]),
            "beneficiaries": r["beneficiaries"],
            "monthly": r["monthly"],
            "yearly": r["monthly"] * 12,
        }
        for r in selectors.programme_figures(households, None)
    ]
    table = Table(
        "programmes",
        gettext_lazy("Programmes: current beneficiaries and amounts"),
        [
            Column("programme", gettext_lazy("Programme"), "text"),
            Column("beneficiaries", gettext_lazy("Beneficiary households"), "int"),
            Column("monthly", gettext_lazy("Monthly amount"), "money"),
            Column("yearly", gettext_lazy("Yearly amount"), "money"),
        ],
        rows,
    )
    return Figure(table)


def programme_breakdown(households: QuerySet[Household], country: str, by: str) -> Figure:
    raw = selectors.programme_figures(households, by)  # type: ignore[arg-type]
    groups = sorted({r["group"] for r in raw})
    labels = {g: group_label(by, g) for g in groups}
    programmes = sorted({r["programme"] for r in raw})
    pnames = {p: programme_name(country, p) for p in programmes}
    rows = [
        {
            "group": labels[r["group"]],
            "programme": pnames[r["programme"]],
            "beneficiaries": r["beneficiaries"],
            "monthly": r["monthly"],
        }
        for r in raw
    ]
    choice = dict(breakdown_choices())[by]
    table = Table(
        "breakdown",
        _("Beneficiaries and monthly amount per programme, by %(breakdown)s") % {"breakdown": choice.lower()},
        [
            Column("group", choice, "text"),
            Column("programme", gettext_lazy("Programme"), "text"),
            Column("beneficiaries", gettext_lazy("Beneficiary households"), "int"),
            Column("monthly", gettext_lazy("Monthly amount"), "money"),
        ],
        rows,
    )

    def paint(fig: Figure, rtl: bool) -> list[SafeString]:
        cats = [labels[g] for g in groups]
        index = {(r["group"], r["programme"]): r for r in raw}
        n_series = [
            charts.Series(pnames[p], [index.get((g, p), {}).get("beneficiaries", 0) for g in groups])
            for p in programmes
        ]
        paid = [p for p in programmes if any(index.get((g, p), {}).get("monthly", 0) for g in groups)]
        m_series = [
            charts.Series(pnames[p], [index.get((g, p), {}).get("monthly", 0) for g in groups]) for p in paid
        ]
        out = [
            charts.bar_chart(
                chart_id="chart-beneficiaries",
                title=_("Beneficiary households per programme, by %(breakdown)s")
                % {"breakdown": choice.lower()},
                desc=_("One bar per programme in each group. The same numbers are in the table below."),
                categories=cats,
                series=n_series,
                value_text=_ints,
                rtl=rtl,
            )
        ]
        if m_series:
            out.append(
                charts.bar_chart(
                    chart_id="chart-amounts",
                    title=_("Monthly amount per programme, by %(breakdown)s") % {"breakdown": choice.lower()},
                    desc=_(
                        "One bar per programme with an amount in each group. The same numbers are in the table below."
                    ),
                    categories=cats,
                    series=m_series,
                    value_text=_money,
                    rtl=rtl,
                )
            )
        return out if groups else []

    return Figure(table, paint)


# --- (c) targeting quality -------------------------------------------------------------------------


def targeting(households: QuerySet[Household], country: str, as_of: dt.date) -> Figure | None:
    """None when no synthetic truth is available (the page explains why)."""
    q = selectors.targeting_quality(households, country, as_of)
    if q is None:
        return None
    coverage = q.get("poorest_quintile_coverage", {})
    rows = []
    for code, th in (q.get("thresholds") or {}).items():
        cur = th["current"]
        rows.append(
            {
                "programme": programme_name(country, code),
                "threshold": th["threshold"],
                "selected": cur["selected"],
                "target": cur["target"],
                "inclusion": cur["inclusion_error"],
                "exclusion": cur["exclusion_error"],
                "coverage": coverage.get(code, {}).get("current"),
            }
        )
    table = Table(
        "targeting",
        gettext_lazy("Targeting quality of the current scores"),
        [
            Column("programme", gettext_lazy("Programme"), "text"),
            Column("threshold", gettext_lazy("Threshold"), "number"),
            Column("selected", gettext_lazy("Selected households"), "int"),
            Column("target", gettext_lazy("Households poor in truth"), "int"),
            Column("inclusion", gettext_lazy("Inclusion error"), "percent"),
            Column("exclusion", gettext_lazy("Exclusion error"), "percent"),
            Column("coverage", gettext_lazy("Coverage of the poorest fifth"), "percent"),
        ],
        rows,
    )

    def paint(fig: Figure, rtl: bool) -> list[SafeString]:
        t = fig.table
        if not t.rows:
            return []
        return [
            charts.bar_chart(
                chart_id="chart-targeting",
                title=str(t.title),
                desc=_(
                    "Inclusion error (share of selected households that are not poor in truth) and exclusion "
                    "error (share of poor households not selected), per programme. The same numbers are in the "
                    "table below."
                ),
                categories=t.column("programme"),
                series=[
                    charts.Series(_("Inclusion error"), t.column("inclusion")),
                    charts.Series(_("Exclusion error"), t.column("exclusion")),
                ],
                value_text=_pct,
                rtl=rtl,
            )
        ]

    return Figure(
        table,
        paint,
        extra={
            "with_truth": q.get("households_with_truth", 0),
            "assessed": q.get("households_assessed", 0),
            "truth_file": q.get("truth_file", ""),
        },
    )
