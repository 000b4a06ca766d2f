"""The policy simulator page: the country's editable rules parameters, the analyst's changes
(validated field by field), and :func:`sijill.targeting.simulation.simulate`'s answer as tables
and charts, changed law side by side with current law.

The parameters are the leaves of the country's OpenFisca parameter tree (``sijill/countries/
<cc>/rules/parameters/``) that hold a number or a yes/no in force at the simulated date; the
PMT model's coefficients (``pmt.*``) and text parameters are not offered here (``sijill
simulate --set`` takes any). A field left at the value in force, or left out (empty), is not a
change: ``/simulator/?run=1&asd.threshold=10.2`` changes one parameter.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.formats import number_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sijill.dashboards import charts
from sijill.dashboards.figures import Figure, programme_name, region_names
from sijill.dashboards.tables import Column, Table, fmt

INTEGER_UNITS = ("year", "month", "month-of-year", "/1")


class SimulatorError(Exception):
    """The simulation could not run; the message is shown on the page."""


@dataclass(frozen=True)
class EditableParameter:
    path: str  # asd.threshold
    description: str  # the rules' own (English) description
    value: float | int | bool
    unit: str  # the rules' unit code: currency-MAD, rsu-index, year, month, /1…
    references: tuple[str, ...]
    since: str  # date the value in force started

    @property
    def kind(self) -> str:
        if isinstance(self.value, bool):
            return "bool"
        if self.unit in INTEGER_UNITS and float(self.value).is_integer():
            return "int"
        return "decimal"

    @property
    def group(self) -> str:
        return self.path.split(".", 1)[0]

    @property
    def unit_label(self) -> str:
        return unit_label(self.unit)

    @property
    def value_text(self) -> str:
        return value_text(self.value)

    @property
    def slug(self) -> str:
        return self.path.replace(".", "-")


def value_text(value: float | int | bool) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return number_format(value, use_l10n=True, force_grouping=True)


def unit_label(unit: str) -> str:
    if unit.startswith("currency-"):
        return unit.split("-", 1)[1]
    return {
        "rsu-index": _("index points"),
        "rsu-score": _("index points"),
        "year": _("years"),
        "month": _("months"),
        "month-of-year": _("month of the year (1–12)"),
        "/1": _("number"),
    }.get(unit, unit)


def editable_parameters(country: str, as_of: dt.date) -> list[EditableParameter]:
    """Every numeric or yes/no parameter in force at ``as_of`` except the PMT model's, thresholds first."""
    from openfisca_core.parameters import Parameter, ParameterNode

    from sijill.targeting.openfisca.system import load_rules

    day = as_of.isoformat()
    out: list[EditableParameter] = []

    def walk(node: Any, prefix: str) -> None:
        for key, child in node.children.items():
            path = f"{prefix}.{key}" if prefix else key
            if path == "pmt":
                continue
            if isinstance(child, ParameterNode):
                walk(child, path)
            elif isinstance(child, Parameter):
                value = child(day)
                if value is None or isinstance(value, str):
                    continue
                in_force = next((v for v in child.values_list if v.instant_str <= day), None)
                refs = (in_force.metadata or {}).get("reference") if in_force is not None else None
                refs = refs or child.metadata.get("reference") or []
                out.append(
                    EditableParameter(
                        path=path,
                        description=str(child.description or ""),
                        value=bool(value) if isinstance(value, bool) else _number(value),
                        unit=str(child.metadata.get("unit") or ""),
                        references=tuple([refs] if isinstance(refs, str) else refs),
                        since=in_force.instant_str if in_force is not None else "",
                    )
                )

    walk(load_rules(country).tbs.parameters, "")
    return sorted(out, key=lambda p: (p.group, not p.path.endswith("threshold"), p.path))


def _number(value: Any) -> float | int:
    f = float(value)
    return int(f) if f.is_integer() else f


def _field(p: EditableParameter) -> forms.Field:
    label = p.path
    if p.kind == "bool":
        return forms.TypedChoiceField(
            label=label,
            choices=[("true", gettext_lazy("Yes")), ("false", gettext_lazy("No"))],
            coerce=lambda v: v == "true",
            initial="true" if p.value else "false",
            required=False,
            empty_value=None,
        )
    if p.kind == "int":
        top = 12 if p.unit == "month-of-year" else 150
        return forms.IntegerField(
            label=label,
            localize=True,
            min_value=1 if p.unit == "month-of-year" else 0,
            max_value=top,
            initial=p.value,
            required=False,
        )
    return forms.DecimalField(
        label=label,
        localize=True,
        min_value=Decimal(0),
        max_value=Decimal(10_000_000),
        initial=p.value,
        required=False,
    )


def form_for(params: list[EditableParameter], data: Mapping[str, Any] | None) -> forms.Form:
    """A form with one field per parameter, filled with the values in force."""
    form = forms.Form(data=data)
    for p in params:
        form.fields[p.path] = _field(p)
    return form


def grouped_fields(country: str, form: forms.Form, params: list[EditableParameter]) -> list[dict[str, Any]]:
    """The fields by top-level parameter group (a programme's, or common to all), each tied to
    its description and error."""
    from sijill.targeting.openfisca.system import load_rules

    codes = {p.code.lower(): p.code for p in load_rules(country).programmes}
    groups: dict[str, dict[str, Any]] = {}
    for p in params:
        title = programme_name(country, codes[p.group]) if p.group in codes else _("Common to all programmes")
        g = groups.setdefault(p.group, {"code": p.group, "title": title, "rows": []})
        described = [f"desc-{p.slug}"]
        if form.is_bound and form.errors.get(p.path):
            described.insert(0, f"err-{p.slug}")
        form.fields[p.path].widget.attrs.update(
            {"aria-describedby": " ".join(described), "class": "param-input"}
        )
        g["rows"].append({"param": p, "field": form[p.path]})
    return list(groups.values())


def changes_of(params: list[EditableParameter], cleaned: Mapping[str, Any]) -> dict[str, float | bool]:
    """The parameters whose submitted value differs from the value in force."""
    out: dict[str, float | bool] = {}
    for p in params:
        new = cleaned.get(p.path)
        if new is None:
            continue
        if p.kind == "bool":
            if bool(new) != p.value:
                out[p.path] = bool(new)
        elif float(new) != float(p.value):
            out[p.path] = int(new) if p.kind == "int" else float(new)
    return out


# --- Running -----------------------------------------------------------------------------------

_lock = threading.Lock()
_cache: dict[tuple[str, str, str, str], Any] = {}


def _population(country: str, as_of: dt.date) -> Any:
    """One :class:`PopulationCache` per process, renewed when the registry changes."""
    from sijill.dashboards.selectors import read_truth, truth_file
    from sijill.targeting.population import registry_stamp
    from sijill.targeting.simulation import PopulationCache

    path = truth_file(country)
    key = (country, as_of.isoformat(), registry_stamp(), str(path or ""))
    if key not in _cache:
        _cache.clear()
        _cache[key] = PopulationCache(country, as_of, read_truth(path) if path else None)
    return _cache[key]


def run(
    country: str, as_of: dt.date, params: list[EditableParameter], cleaned: Mapping[str, Any]
) -> SimulationResult:
    from sijill.targeting.simulation import Scenario, SimulationError, simulate

    changes = changes_of(params, cleaned)
    try:
        with _lock:  # one simulation at a time per process: it is CPU-bound and shares the cache
            result = simulate(
                country, as_of, Scenario(changes), cache=_population(country, as_of), compare_stored=False
            )
    except SimulationError as exc:
        raise SimulatorError(str(exc)) from None
    if not result["households"]:
        raise SimulatorError(_("The registry has no household to simulate on."))
    by_path = {p.path: p for p in params}
    return SimulationResult(country, result, [(by_path[k], v) for k, v in changes.items()])


# Columns both result tables share.
PROGRAMME = Column("programme", gettext_lazy("Programme"), "text")
BENEFICIARIES = Column("beneficiaries", gettext_lazy("Beneficiaries, current law"), "int")
BENEFICIARIES_NEW = Column("beneficiaries_new", gettext_lazy("Beneficiaries, changed law"), "int")
MONTHLY = Column("monthly", gettext_lazy("Monthly cost, current law"), "money")
MONTHLY_NEW = Column("monthly_new", gettext_lazy("Monthly cost, changed law"), "money")
GAINERS = Column("gainers", gettext_lazy("Gainers"), "int")
LOSERS = Column("losers", gettext_lazy("Losers"), "int")


@dataclass
class SimulationResult:
    country: str
    raw: dict[str, Any]
    changes: list[tuple[EditableParameter, float | bool]]
    charts: list[SafeString] = field(default_factory=list)

    @property
    def households(self) -> int:
        return int(self.raw["households"])

    @property
    def seconds(self) -> float:
        return float(self.raw["seconds"]["total"])

    @property
    def changes_shown(self) -> list[tuple[EditableParameter, str]]:
        return [(p, value_text(v)) for p, v in self.changes]

    @property
    def programmes_figure(self) -> Figure:
        return Figure(self.programmes_table())

    @property
    def regions_figure(self) -> Figure:
        return Figure(self.regions_table())

    @property
    def targeting_figure(self) -> Figure | None:
        table = self.targeting_table()
        return Figure(table) if table is not None else None

    def figure(self, name: str) -> Figure | None:
        if name == "programmes":
            return Figure(self.programmes_table())
        if name == "regions":
            return Figure(self.regions_table())
        if name == "targeting":
            return self.targeting_figure
        return None

    def targeting_table(self) -> Table | None:
        """Errors of each law against the synthetic truth (None without a truth file). The poor
        in truth stay those under the current law's threshold; each law selects at its own."""
        q = self.raw.get("targeting") or {}
        if not q.get("thresholds"):
            return None
        rows = []
        for code, th in q["thresholds"].items():
            for law, key, line in (
                (_("Current law"), "current", th["threshold"]),
                (_("Changed law"), "changed", th.get("threshold_new", th["threshold"])),
            ):
                v = th[key]
                rows.append(
                    {
                        "programme": programme_name(self.country, code),
                        "law": law,
                        "threshold": line,
                        "selected": v["selected"],
                        "target": v["target"],
                        "inclusion": v["inclusion_error"],
                        "exclusion": v["exclusion_error"],
                    }
                )
        return Table(
            "targeting",
            gettext_lazy("Targeting quality against the synthetic truth, current and changed law"),
            [
                PROGRAMME,
                Column("law", gettext_lazy("Law"), "text"),
                Column("threshold", gettext_lazy("Threshold"), "number", 4),
                Column("selected", gettext_lazy("Households selected"), "int"),
                Column("target", gettext_lazy("Households poor in truth"), "int"),
                Column("inclusion", gettext_lazy("Inclusion error"), "percent"),
                Column("exclusion", gettext_lazy("Exclusion error"), "percent"),
            ],
            rows,
        )

    def programmes_table(self) -> Table:
        rows = []
        for code, cur in self.raw["current"].items():
            new = self.raw["changed"][code]
            gl = self.raw["gainers_losers"][code]
            rows.append(
                {
                    "programme": programme_name(self.country, code),
                    "beneficiaries": cur["beneficiaries"],
                    "beneficiaries_new": new["beneficiaries"],
                    "beneficiaries_diff": new["beneficiaries"] - cur["beneficiaries"],
                    "monthly": cur["monthly_cost"],
                    "monthly_new": new["monthly_cost"],
                    "monthly_diff": gl["monthly_cost_change"],
                    "yearly_new": new["yearly_cost"],
                    "gainers": gl["gainers"],
                    "losers": gl["losers"],
                    "newly": gl["newly_eligible"],
                    "no_longer": gl["no_longer_eligible"],
                }
            )
        return Table(
            "programmes",
            gettext_lazy("Per programme: current law and changed law"),
            [
                PROGRAMME,
                BENEFICIARIES,
                BENEFICIARIES_NEW,
                Column("beneficiaries_diff", gettext_lazy("Difference"), "int"),
                MONTHLY,
                MONTHLY_NEW,
                Column("monthly_diff", gettext_lazy("Monthly difference"), "money"),
                Column("yearly_new", gettext_lazy("Yearly cost, changed law"), "money"),
                GAINERS,
                LOSERS,
                Column("newly", gettext_lazy("Newly eligible"), "int"),
                Column("no_longer", gettext_lazy("No longer eligible"), "int"),
            ],
            rows,
        )

    def regions_table(self) -> Table:
        by_region = self.raw["by"]["region"]
        names = region_names([r["region"] for r in by_region])
        rows = []
        for code in self.raw["current"]:
            pname = programme_name(self.country, code)
            for r in by_region:
                rows.append(
                    {
                        "region": names.get(r["region"], r["region"]),
                        "programme": pname,
                        "households": r["households"],
                        "beneficiaries": r[f"{code}_beneficiaries"],
                        "beneficiaries_new": r[f"{code}_beneficiaries_new"],
                        "monthly": r[f"{code}_monthly_cost"],
                        "monthly_new": r[f"{code}_monthly_cost_new"],
                        "gainers": r[f"{code}_gainers"],
                        "losers": r[f"{code}_losers"],
                    }
                )
        return Table(
            "regions",
            gettext_lazy("By region: current law and changed law"),
            [
                Column("region", gettext_lazy("Region"), "text"),
                PROGRAMME,
                Column("households", gettext_lazy("Households"), "int"),
                BENEFICIARIES,
                BENEFICIARIES_NEW,
                MONTHLY,
                MONTHLY_NEW,
                GAINERS,
                LOSERS,
            ],
            rows,
        )

    def draw(self, rtl: bool) -> None:
        current, changed = _("Current law"), _("Changed law")
        progs = self.programmes_table()
        self.charts = [
            charts.bar_chart(
                chart_id="chart-sim-programmes",
                title=_("Beneficiary households per programme, current and changed law"),
                desc=_(
                    "Two bars per programme: current law, then changed law. The same numbers are in the table below."
                ),
                categories=progs.column("programme"),
                series=[
                    charts.Series(current, progs.column("beneficiaries")),
                    charts.Series(changed, progs.column("beneficiaries_new")),
                ],
                value_text=lambda v: fmt(v, "int"),
                rtl=rtl,
            )
        ]
        by_region = self.raw["by"]["region"]
        names = region_names([r["region"] for r in by_region])
        cats = [names.get(r["region"], r["region"]) for r in by_region]
        for code, cur in self.raw["current"].items():
            if cur == self.raw["changed"][code]:
                continue
            pname = programme_name(self.country, code)
            self.charts.append(
                charts.bar_chart(
                    chart_id=f"chart-sim-{code.lower()}",
                    title=_("%(programme)s: beneficiary households by region, current and changed law")
                    % {"programme": pname},
                    desc=_(
                        "Two bars per region: current law, then changed law. The same numbers are in the table below."
                    ),
                    categories=cats,
                    series=[
                        charts.Series(current, [r[f"{code}_beneficiaries"] for r in by_region]),
                        charts.Series(changed, [r[f"{code}_beneficiaries_new"] for r in by_region]),
                    ],
                    value_text=lambda v: fmt(v, "int"),
                    rtl=rtl,
                )
            )
