"""Run a country's rules (OpenFisca) over a :class:`~sijill.targeting.population.Population`.

One vectorised simulation for the whole population: persons and households are declared
with integer ids, members are joined to households with integer roles, every input the
rules know is set from the frames' columns, and the requested variables are computed for
one month. Nothing loops over households or persons in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from openfisca_core.indexed_enums import EnumArray
from openfisca_core.simulations import Simulation

from sijill.targeting.openfisca.entities import ROLE_OF_RELATIONSHIP
from sijill.targeting.openfisca.system import Rules
from sijill.targeting.population import Population

# Registry column -> rules input, where the names differ.
RENAMES = {"father_deceased": "paternal_orphan", "membership_start": "birth_grant_claim_date"}


def period_of(as_of: dt.date) -> str:
    return f"{as_of.year:04d}-{as_of.month:02d}"


def _numpy(series: pl.Series, variable: Any) -> Any:
    """A frame column as the input array of an OpenFisca variable (nulls take the variable's default)."""
    vt = variable.value_type
    default = variable.default_value
    if variable.possible_values is not None:  # Enum
        enum = variable.possible_values
        names = list(enum.__members__)
        mapping = {name: i for i, name in enumerate(names)}
        fallback = mapping.get("MISSING", mapping.get(getattr(default, "name", ""), 0))
        codes = (
            series.cast(pl.Utf8).replace_strict(mapping, default=fallback, return_dtype=pl.Int16).to_numpy()
        )
        return EnumArray(codes.astype(np.int16), enum)
    if vt is bool:
        return series.cast(pl.Boolean).fill_null(bool(default)).to_numpy()
    if vt is int:
        return series.cast(pl.Int64).fill_null(int(default)).to_numpy().astype(variable.dtype)
    if vt is float:
        return series.cast(pl.Float64).fill_null(float(default)).to_numpy().astype(variable.dtype)
    if vt is dt.date:
        fill = np.datetime64(default, "D") if default is not None else np.datetime64("1970-01-01")
        arr = series.cast(pl.Date).to_numpy()
        return np.where(np.isnat(arr), fill, arr).astype("datetime64[D]")
    return series.cast(pl.Utf8).fill_null(str(default or "")).to_numpy().astype(object)


@dataclass
class Prepared:
    """A population turned into OpenFisca arrays once, for any number of simulations.

    Building a simulation from it takes a fraction of a second even for millions of
    persons: ids, the person → household map, roles and every input are ready.
    """

    households: int
    persons: int
    household_index: np.ndarray  # per person: row of its household
    role_index: np.ndarray  # per person: index in Household.flattened_roles
    inputs: dict[str, tuple[str, Any]] = field(default_factory=dict)  # variable -> (period kind, array)


def prepare(rules: Rules, pop: Population) -> Prepared:
    tbs = rules.tbs
    H = pop.households.height
    hh_index = (
        pop.persons.select(
            pl.col("household_id").replace_strict(
                pop.households["household_id"], pl.int_range(H, eager=True), return_dtype=pl.Int64
            )
        )
        .to_series()
        .to_numpy()
    )
    role_keys = [r.key for r in tbs.entities_by_singular()["household"].flattened_roles]
    role_index = {rel: role_keys.index(role) for rel, role in ROLE_OF_RELATIONSHIP.items()}
    roles = (
        pop.persons["relationship"]
        .replace_strict(role_index, default=role_keys.index("other"), return_dtype=pl.Int64)
        .to_numpy()
    )
    prepared = Prepared(H, pop.persons.height, hh_index, roles)
    for frame, entity in ((pop.persons, "person"), (pop.households, "household")):
        for column in frame.columns:
            name = RENAMES.get(column, column)
            variable = tbs.variables.get(name)
            if variable is None or variable.entity.key != entity or not variable.is_input_variable():
                continue
            kind = "eternity" if variable.definition_period == "eternity" else "period"
            prepared.inputs[name] = (kind, _numpy(frame[column], variable))
    return prepared


def save_prepared(prepared: Prepared, path: Path) -> None:
    arrays: dict[str, Any] = {
        "__household_index": prepared.household_index,
        "__role_index": prepared.role_index,
        "__sizes": np.array([prepared.households, prepared.persons]),
    }
    for name, (kind, values) in prepared.inputs.items():
        a = np.asarray(values)
        arrays[f"{kind}:{name}"] = a.astype(str) if a.dtype == object else a
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.rename(path)


def load_prepared(rules: Rules, path: Path) -> Prepared:
    with np.load(path, allow_pickle=False) as z:
        h, p = (int(x) for x in z["__sizes"])
        prepared = Prepared(h, p, z["__household_index"], z["__role_index"])
        for key in z.files:
            if key.startswith("__"):
                continue
            kind, name = key.split(":", 1)
            variable = rules.tbs.variables.get(name)
            if variable is None:
                continue
            a = z[key]
            if variable.possible_values is not None:
                a = EnumArray(a, variable.possible_values)
            elif a.dtype.kind == "U":
                a = a.astype(object)
            prepared.inputs[name] = (kind, a)
    return prepared


def build(rules: Rules, pop: Population | Prepared, period: str) -> Simulation:
    """A simulation of the population under ``rules`` for the month ``period``."""
    prepared = pop if isinstance(pop, Prepared) else prepare(rules, pop)
    tbs = rules.tbs
    populations = tbs.instantiate_entities()
    person, household = populations["person"], populations["household"]
    person.ids, person.count = np.arange(prepared.persons), prepared.persons
    household.ids, household.count = np.arange(prepared.households), prepared.households
    household.members_entity_id = prepared.household_index
    # Role objects by fancy indexing (OpenFisca's setter builds a Python list of millions).
    flat = np.empty(len(household.entity.flattened_roles), dtype=object)
    flat[:] = household.entity.flattened_roles
    household._members_role = flat[prepared.role_index]
    sim = Simulation(tbs, populations)
    for name, (kind, values) in prepared.inputs.items():
        sim.set_input(name, "ETERNITY" if kind == "eternity" else period, values)
    return sim


def calculate(
    rules: Rules,
    pop: Population,
    as_of: dt.date,
    variables: Iterable[str],
    sim: Simulation | None = None,
) -> pl.DataFrame:
    """Household-level results: ``household_id`` and one column per variable (enums as codes)."""
    period = period_of(as_of)
    sim = sim or build(rules, pop, period)
    cols: dict[str, Any] = {"household_id": pop.households["household_id"]}
    for name in variables:
        variable = rules.tbs.variables[name]
        values = sim.calculate(name, period)
        if isinstance(values, EnumArray):
            values = values.decode_to_str()
        if variable.entity.key == "person":
            values = (
                sim.household.sum(values)
                if variable.value_type in (int, float)
                else sim.household.any(values)
            )
        cols[name] = values
    return pl.DataFrame(cols)


def feature_names(rules: Rules, milieu: str | None = None) -> list[str]:
    """The PMT features of the model in force (both milieux unless one is given), in model order."""
    model = rules.pmt_model
    names: list[str] = []
    for m in ("U", "R") if milieu is None else (milieu,):
        for name in model.features[m]:
            if name not in names:
                names.append(name)
    return names


def programme_variables(rules: Rules) -> list[str]:
    out: list[str] = []
    for prog in rules.programmes:
        for v in (prog.eligible_variable, prog.amount_variable, *prog.one_off_variables):
            if v and v not in out:
                out.append(v)
    return out


def score_population(
    rules: Rules,
    pop: Population,
    as_of: dt.date,
    extra: Sequence[str] = (),
    with_features: bool = True,
    prepared: Prepared | None = None,
) -> pl.DataFrame:
    """Score, programme results and (optionally) PMT features for every household of ``pop``."""
    names = ["pmt_score", *programme_variables(rules), *extra]
    if with_features:
        names += [f for f in feature_names(rules) if f not in names]
    sim = build(rules, prepared, period_of(as_of)) if prepared is not None else None
    return calculate(rules, pop, as_of, names, sim=sim)
