"""Probabilistic record linkage core (issue 4, "probabilistic matching").

An engine-agnostic wrapper around `Splink <https://moj-analytical-services.github.io/splink/>`_
(v5) running on DuckDB by default.  Everything here works on a *person frame*
(a :class:`polars.DataFrame`) with canonical columns:

``unique_id`` (str or int), ``given_key``, ``family_key`` (Latin skeleton keys),
``given_ar_norm``, ``family_ar_norm`` (Arabic-script normalised names, may be null),
``birth_year``, ``birth_month``, ``birth_day`` (ints; month/day null for year-only
dates), ``sex``, ``commune``, ``phone`` and optionally ``household_id`` /
``co_members_key`` (carried through, not compared by default).

Public API
----------
* :class:`LinkageSpec` – declarative comparisons + blocking rules
  (:func:`default_spec` for the registry, :func:`febrl_spec` for the FEBRL benchmarks).
* :func:`train` – unsupervised training (prior from deterministic rules, ``u`` by random
  sampling, ``m`` by EM on a couple of blocking rules) → :class:`LinkageModel`.
* :func:`save_model` / :func:`load_model` – JSON (``{"version": 1, "settings": <splink
  settings>, ...}``).
* :func:`predict` – scored pairs as polars (``unique_id_l``, ``unique_id_r``,
  ``match_probability``, ``match_weight`` and the ``gamma_*`` comparison levels used to
  explain a match).
* :func:`cluster` – connected components over pairs at a threshold → ``unique_id`` →
  ``cluster_id``.
* :func:`link_new` – score an intake batch against the registry (and, by default,
  against itself: ``link_and_dedupe``; ``link_only`` compares only across).

Backends
--------
``backend="duckdb"`` (default) uses an in-process :class:`splink.DuckDBAPI`; a DuckDB
connection may be passed as ``connection``.

``backend="spark"`` selects :class:`splink.SparkAPI`.  The caller passes a SparkSession as
``connection``; it must be created with Splink's similarity UDF jar so that Jaro-Winkler
is available, e.g.::

    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    spark = (SparkSession.builder
             .config("spark.jars", similarity_jar_location())
             .getOrCreate())
    model = train(person_frame, spec, backend="spark", connection=spark)

Person frames are still given as polars; they are converted to Arrow/pandas and
registered with the backend (for Spark at scale, register Spark DataFrames directly and
call the Splink :class:`~splink.Linker` with the settings from ``model.settings``; the
comparison SQL is written in portable SQL (``base_dialect_str="duckdb"``) and translated
by Splink/sqlglot).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import polars as pl
import splink
import splink.blocking_rule_library as brl
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on

MODEL_FORMAT_VERSION = 1

Backend = Literal["duckdb", "spark"]
LinkType = Literal["link_only", "link_and_dedupe", "dedupe_only"]
StringMethod = Literal["jaro_winkler", "levenshtein", "exact"]

__all__ = [
    "MODEL_FORMAT_VERSION",
    "ArrayComparison",
    "DateSpec",
    "LinkageModel",
    "LinkageSpec",
    "NameComparison",
    "StringComparison",
    "cluster",
    "default_spec",
    "febrl_spec",
    "link_new",
    "load_model",
    "pairwise_scores",
    "predict",
    "save_model",
    "train",
]


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class StringComparison:
    """One column compared as a string.

    ``jaro_winkler``: null / exact / JW ≥ each threshold / else.
    ``levenshtein``: null / exact / distance ≤ each threshold (ints) / else.
    ``exact``: null / exact / else.
    """

    column: str
    method: StringMethod = "jaro_winkler"
    thresholds: tuple[float, ...] = (0.92, 0.8)
    term_frequency: bool = True


@dataclass(frozen=True)
class NameComparison:
    """One name part compared across two scripts as a single comparison.

    Comparing the Latin key and the Arabic form separately would count the same evidence
    twice (they are one name), so their agreement is combined. Levels: null (no script
    present on both sides) / equal in every script present on both sides / equal in one
    Levels: null (neither script present on both sides) / equal Latin keys (with a
    term-frequency adjustment when ``term_frequency``) / equal Arabic forms / Jaro-Winkler ≥
    ``thresholds[0]`` in either script / ≥ ``thresholds[1]`` / else. The Latin key of an
    Arabic-only record is its romanisation (:func:`sijill.identity.names.name_keys`).
    """

    latin: str
    arabic: str
    output_column_name: str
    thresholds: tuple[float, ...] = (0.92, 0.8)
    term_frequency: bool = True
    # The Latin column the Jaro-Winkler levels read (default: ``latin``, the key). The
    # spelled-out name is kinder to short names, whose consonant keys differ by a whole
    # letter: Awa / Aoua are "a" / "av", two keys that Jaro-Winkler finds nothing alike.
    latin_similar: str | None = None


@dataclass(frozen=True)
class ArrayComparison:
    """Overlap of two list columns (e.g. the given-name keys of the other household members).

    Levels: null / at least ``sizes[0]`` common elements / ... / else.

    ``unless_same``: a pair sharing this column's value says nothing (null level). Two
    members of one household share all their co-members by construction: twins, declared
    as two persons, would otherwise look like one person entered twice. It must not be a
    column the blocking rules read (the household rule reads ``household_id``): Splink
    leaves untrained a comparison whose columns its training block reads, so the frame
    carries the household a second time as ``co_household``.
    """

    column: str
    sizes: tuple[int, ...] = (2, 1)
    unless_same: str | None = None


@dataclass(frozen=True)
class IdentifierComparison:
    """A person's identity numbers, one column per type (a CNIE, an IDCS...), compared together.

    Levels: null (no type held on both sides) / the same number of some type, or numbers
    at most ``max_edits`` characters apart (a digit mistyped, two digits swapped) / else:
    every type held on both sides carries a different number, which points to two persons,
    since one person holds one number of each type for life.
    """

    columns: tuple[str, ...]
    output_column_name: str = "identifier"
    max_edits: int = 2


@dataclass(frozen=True)
class ParentsComparison:
    """The parents' given names, compared together, father with father, mother with mother.

    A parent is *alike* on two records when the name keys are equal or the spelled-out
    names (``*_similar``) have a Jaro-Winkler similarity of at least ``threshold`` (Awa and
    Aoua). Levels: null (neither parent named on both sides) / both keys the same (``both``,
    with a term-frequency adjustment: Mohamed and Fatima say less than rarer names) / both
    alike / one alike, the other not named on both sides / one alike, the other different
    / else: every parent named on both sides differs.
    """

    father: str = "father_key"
    mother: str = "mother_key"
    both: str = "parents_key"
    father_similar: str = "father_norm"
    mother_similar: str = "mother_norm"
    threshold: float = 0.88
    output_column_name: str = "parents"


@dataclass(frozen=True)
class DateSpec:
    """Date of birth split into integer parts (month/day may be null).

    Levels: null year / exact date / day-month swapped / two of three parts equal
    (one-part typo) / same year, one side known only to the year / same year only /
    year ±1 / else.

    ``fixed_m``: one m probability per non-null level (in that order), kept fixed during
    training. Expectation maximisation cannot learn the date's m values from registry data:
    relatives share names, commune and phone, so every block that does not use the date is
    full of same-named parents and children, whom EM takes for matches with a "wrong" date.
    The default values are the error profile of field registrations (docs/identity.md).
    ``None`` lets EM estimate them (right for data without that family structure, FEBRL).
    """

    year: str = "birth_year"
    month: str = "birth_month"
    day: str = "birth_day"
    output_column_name: str = "birth_date"
    fixed_m: tuple[float, ...] | None = None
    # A text column holding the full date (null when only the year is known). When set, the
    # exact level compares it with a term-frequency adjustment: two records born on a date
    # many people share (1 January, given for an approximate date) weigh less than two born
    # on a rare one.
    key: str | None = None


@dataclass(frozen=True)
class LinkageSpec:
    """What to compare and how to generate candidate pairs.

    Blocking rules are tuples of column names (equality on all of them, ``block_on``).
    """

    strings: tuple[StringComparison, ...]
    date: DateSpec | None = DateSpec()
    names: tuple[NameComparison, ...] = ()
    arrays: tuple[ArrayComparison, ...] = ()
    identifiers: IdentifierComparison | None = None
    parents: ParentsComparison | None = None
    blocking_rules: tuple[tuple[str, ...], ...] = ()
    # Records sharing this column's value (members of one household) form a candidate pair
    # only when their dates of birth are equal (or both are the same year, known only to the
    # year): a household declares its members as distinct
    # people, and relatives often share a name (a son named after his grandfather).
    group_column: str | None = None
    # ... and only when this column (the given name's first letter) is the same: twins share a
    # date of birth, a family name, the parents and the commune, and are told apart only by
    # their given names, which a household declares as two. A column of its own, not one a
    # comparison reads: Splink does not train a comparison whose columns a training block
    # reads, and every training block carries this rule.
    group_initial: str | None = None
    # EM runs once per rule; together they must leave every comparison un-blocked once.
    training_rules: tuple[tuple[str, ...], ...] = ()
    # Silver labels: pairs these SQL conditions (over ``l.`` and ``r.``) select are taken as
    # one person, and the m probabilities of ``anchor_comparisons`` are counted on them
    # instead of being trained by EM or fixed: how often one person's two records disagree
    # on the date of birth or on the parents is then learnt from the registry itself. Used
    # only when the rules find at least ``anchor_min_pairs`` pairs: on 50, the share of the
    # commonest level is known to about ±0.06 (one standard error), and the m floor keeps
    # the rare levels possible.
    anchor_rules: tuple[str, ...] = ()
    anchor_comparisons: tuple[str, ...] = ()
    anchor_min_pairs: int = 50
    # High-precision rules used to estimate the prior probability of a match.
    deterministic_rules: tuple[tuple[str, ...], ...] = ()
    deterministic_recall: float = 0.7
    u_max_pairs: float = 5e6
    # u is estimated in this many chunks of the sample (Splink's num_chunks); fewer chunks
    # mean fewer queries, which matters on Spark where each query is a job.
    u_chunks: int = 10
    # No level is ever impossible for a true match: after training, every m probability is
    # at least this (taken from the comparison's most likely level), so one typo never
    # vetoes a pair that everything else says is the same person.
    m_floor: float = 0.0
    seed: int = 42
    retain_columns: tuple[str, ...] = ()
    unique_id_column: str = "unique_id"

    @property
    def compared_columns(self) -> list[str]:
        cols = [s.column for s in self.strings]
        if self.date is not None and self.date.key:
            cols.append(self.date.key)
        for n in self.names:
            cols += [n.latin, n.arabic]
            if n.latin_similar:
                cols.append(n.latin_similar)
        cols += [a.column for a in self.arrays]
        cols += [a.unless_same for a in self.arrays if a.unless_same]
        if self.identifiers is not None:
            cols += list(self.identifiers.columns)
        if self.parents is not None:
            p = self.parents
            cols += [p.father, p.mother, p.both, p.father_similar, p.mother_similar]
        if self.group_column:
            cols.append(self.group_column)
        if self.group_initial:
            cols.append(self.group_initial)
        if self.date is not None:
            cols += [self.date.year, self.date.month, self.date.day]
        return cols

    @property
    def term_frequency_columns(self) -> list[str]:
        date_key = [self.date.key] if self.date is not None and self.date.key else []
        parents = [self.parents.both] if self.parents is not None else []
        return (
            [n.latin for n in self.names if n.term_frequency]
            + [s.column for s in self.strings if s.term_frequency]
            + date_key
            + parents
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkageSpec:
        d = dict(data)
        d["strings"] = tuple(
            StringComparison(**{**s, "thresholds": tuple(s["thresholds"])}) for s in d["strings"]
        )
        if d.get("date"):
            fm = d["date"].get("fixed_m")
            d["date"] = DateSpec(**{**d["date"], "fixed_m": tuple(fm) if fm is not None else None})
        else:
            d["date"] = None
        d["names"] = tuple(
            NameComparison(**{**n, "thresholds": tuple(n["thresholds"])}) for n in d.get("names", ())
        )
        d["arrays"] = tuple(ArrayComparison(**{**a, "sizes": tuple(a["sizes"])}) for a in d.get("arrays", ()))
        ident = d.get("identifiers")
        d["identifiers"] = (
            IdentifierComparison(**{**ident, "columns": tuple(ident["columns"])}) if ident else None
        )
        d["parents"] = ParentsComparison(**d["parents"]) if d.get("parents") else None
        for key in ("blocking_rules", "training_rules", "deterministic_rules"):
            d[key] = tuple(tuple(r) for r in d.get(key, ()))
        d["retain_columns"] = tuple(d.get("retain_columns", ()))
        d["anchor_rules"] = tuple(d.get("anchor_rules", ()))
        d["anchor_comparisons"] = tuple(d.get("anchor_comparisons", ()))
        return cls(**d)


# m probabilities of the date-of-birth levels for registry data, fixed rather than trained
# (see DateSpec): exact / day-month swapped / one part wrong / one side year-only / same
# year / year ±1 / else. They describe how often one person's two registrations disagree
# on the date: approximate dates are common, a wholly different date is rare.
REGISTRY_DATE_M = (0.80, 0.03, 0.05, 0.05, 0.03, 0.03, 0.01)


def default_spec() -> LinkageSpec:
    """The registry spec over the canonical person frame (:mod:`sijill.identity.frame`).

    - Names: given and family name, each one comparison over both scripts (equal keys, then
      Jaro-Winkler on the spelled-out Latin name or on the Arabic).
    - Sex, commune (with term frequencies: a big city says less than a village), phone.
    - Co-members: how many given names the two persons' households share, so that a whole
      household registered twice is recognised member by member (nothing said within one
      household).
    - Identity numbers (``id_1``, ``id_2``: the country's ``dedupe.id_types``): the same
      number, one mistyped, or different numbers of one type (two persons).
    - The parents' given names: both the same (with term frequencies), both spelled alike,
      one alike and the other not named on both records, one alike and the other
      different, or different.
    - Date of birth, with a term-frequency adjustment on the exact date (1 January is
      given for many approximate dates).
    - The m probabilities of the date and the parents are counted on anchor pairs (first
      identity numbers at most two characters apart, the same given and family names), not
      trained by EM; with fewer than 50 anchors, the date keeps :data:`REGISTRY_DATE_M`.
    - Members of one household pair up only when their dates of birth are equal and their
      given names start alike (twins are two persons).
    - Training (:func:`sijill.identity.dedupe.train_model`) uses a random sample of at most
      300,000 persons: enough for EM, and the blocks stay small.
    - EM runs on two blocks that leave every comparison trained once: same date of birth
      (trains names, sex, place, phone, co-members, identity numbers, parents) and same
      given and family keys and birth year. With the names alone, the second block is full
      of namesakes born decades apart, and EM took them for matches whose identity numbers
      and parents differ (measured on the Mali registry: m of "different numbers" 0.50,
      against 0.005 with the year).
    """
    return LinkageSpec(
        names=(
            NameComparison("given_key", "given_ar_norm", "given_name", latin_similar="given_lat_norm"),
            NameComparison("family_key", "family_ar_norm", "family_name", latin_similar="family_lat_norm"),
        ),
        strings=(
            StringComparison("sex", "exact"),
            StringComparison("commune", "exact", term_frequency=True),
            StringComparison("phone", "exact"),
        ),
        arrays=(ArrayComparison("co_members", (2, 1), unless_same="co_household"),),
        identifiers=IdentifierComparison(("id_1", "id_2")),
        parents=ParentsComparison(),
        date=DateSpec(fixed_m=REGISTRY_DATE_M, key="birth_date_key"),
        group_column="household_id",
        group_initial="given_initial",
        # Each rule misses some duplicates; together they keep recall (measured in
        # docs/benchmarks.md). The last two (a name and a date apart) triple the scoring
        # time at 1M persons (13.7 s to 43 s) and bring Mali's blocked recall from 0.973
        # to 0.993.
        blocking_rules=(
            ("given_key", "family_key", "birth_year"),
            ("family_key", "birth_year", "birth_month"),  # a given name spelled apart
            ("given_key", "birth_year", "birth_month", "birth_day"),  # a family name spelled apart
            ("given_key", "family_key", "commune"),  # a wrong year, same place
            ("given_ar_norm", "family_ar_norm", "birth_year"),  # Latin spelled apart, Arabic alike
            ("birth_year", "birth_month", "birth_day", "commune"),  # both names spelled apart
            ("phone",),
            ("id_1_odd", "birth_year"),  # an identity number mistyped once, names apart
            ("id_1_even", "birth_year"),
            ("family_key", "parents_key", "birth_year"),  # a given name apart, the date year-only
            ("given_key", "parents_key", "birth_year"),  # a family name apart, the date year-only
            ("family_key", "birth_year", "given_initial", "sex"),  # a given name apart, a date apart
            ("given_key", "birth_year", "family_initial", "sex"),  # a family name apart, a date apart
        ),
        training_rules=(
            ("birth_year", "birth_month", "birth_day"),
            ("given_key", "family_key", "birth_year"),
        ),
        deterministic_rules=(
            ("given_key", "family_key", "birth_year", "birth_month", "birth_day"),
            ("phone", "given_key"),
        ),
        deterministic_recall=0.7,
        anchor_rules=tuple(
            f"l.id_1_{half} = r.id_1_{half} AND levenshtein(l.id_1, r.id_1) <= 2"
            " AND l.given_key = r.given_key AND l.family_key = r.family_key"
            for half in ("odd", "even")
        ),
        anchor_comparisons=("birth_date", "parents"),
        m_floor=0.005,
    )


def febrl_spec() -> LinkageSpec:
    """Spec for the FEBRL benchmark frames as mapped by the tests.

    Expected columns: ``unique_id``, ``given_key``, ``family_key``, ``birth_year``,
    ``birth_month``, ``birth_day``, ``soc_sec_id``, ``street_number``, ``address_1``,
    ``address_2``, ``suburb``, ``postcode``, ``state``.
    """
    return LinkageSpec(
        strings=(
            StringComparison("given_key", "jaro_winkler", (0.92, 0.8)),
            StringComparison("family_key", "jaro_winkler", (0.92, 0.8)),
            StringComparison("soc_sec_id", "levenshtein", (1, 2)),
            StringComparison("street_number", "levenshtein", (1,)),
            StringComparison("address_1", "jaro_winkler", (0.9, 0.7)),
            StringComparison("suburb", "jaro_winkler", (0.9,)),
            StringComparison("postcode", "levenshtein", (1,)),
            StringComparison("state", "exact"),
        ),
        date=DateSpec(),
        blocking_rules=(
            ("family_key", "birth_year"),
            ("given_key", "family_key"),
            ("given_key", "birth_year"),
            ("soc_sec_id",),
            ("postcode", "family_key"),
            ("postcode", "given_key"),
            ("birth_year", "birth_month", "birth_day"),
            ("address_1", "suburb"),
        ),
        training_rules=(("birth_year", "birth_month", "birth_day"), ("family_key",)),
        deterministic_rules=(("soc_sec_id",), ("given_key", "family_key", "birth_year")),
        deterministic_recall=0.8,
    )


def _string_comparison(s: StringComparison) -> Any:
    comp: Any
    if s.method == "jaro_winkler":
        comp = cl.JaroWinklerAtThresholds(s.column, list(s.thresholds))
    elif s.method == "levenshtein":
        comp = cl.LevenshteinAtThresholds(s.column, [int(t) for t in s.thresholds])
    elif s.method == "exact":
        comp = cl.ExactMatch(s.column)
    else:  # pragma: no cover - guarded by Literal
        raise ValueError(f"unknown string method {s.method!r}")
    if s.term_frequency:
        comp = comp.configure(term_frequency_adjustments=True)
    return comp


def _name_comparison(n: NameComparison) -> Any:
    lat, ar = n.latin, n.arabic
    # The Latin key comes first and alone, so that Splink sees it as the exact-match level
    # its term-frequency adjustment needs (a rare name weighs more than a common one).
    exact_lat = cll.ExactMatchLevel(lat, term_frequency_adjustments=n.term_frequency)
    levels: list[Any] = [
        cll.And(cll.NullLevel(lat), cll.NullLevel(ar)).configure(is_null_level=True),
        exact_lat,
        cll.ExactMatchLevel(ar),
    ]
    similar = n.latin_similar or lat
    for t in n.thresholds:
        levels.append(
            cll.Or(cll.JaroWinklerLevel(similar, t), cll.JaroWinklerLevel(ar, t)).configure(
                label_for_charts=f"Jaro-Winkler ≥ {t} in a script"
            )
        )
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(
        output_column_name=n.output_column_name,
        comparison_description=f"{n.output_column_name}: {lat} (Latin) and {ar} (Arabic) together",
        comparison_levels=levels,
    )


def _array_comparison(a: ArrayComparison) -> Any:
    if not a.unless_same:
        return cl.ArrayIntersectAtSizes(a.column, list(a.sizes))
    g = a.unless_same
    levels: list[Any] = [
        cll.Or(
            cll.NullLevel(a.column), cll.CustomLevel(f"{g}_l = {g}_r", f"the same {g}", "duckdb")
        ).configure(is_null_level=True, label_for_charts=f"null, or the same {g}"),
        *[cll.ArrayIntersectLevel(a.column, n) for n in a.sizes],
        cll.ElseLevel(),
    ]
    return cl.CustomComparison(
        output_column_name=a.column,
        comparison_description=f"{a.column}: common elements (nothing said within one {g})",
        comparison_levels=levels,
    )


def _identifier_comparison(c: IdentifierComparison) -> Any:
    # The same number and a mistyped one are one level: after intake's exact checks, two
    # records of the registry share a number only when an agent accepted the conflict, too
    # rarely for EM to learn a level of its own.
    cols = c.columns
    null: Any = cll.And(*[cll.NullLevel(col) for col in cols]) if len(cols) > 1 else cll.NullLevel(cols[0])
    close: Any = (
        cll.Or(*[cll.LevenshteinLevel(col, c.max_edits) for col in cols])
        if len(cols) > 1
        else cll.LevenshteinLevel(cols[0], c.max_edits)
    )
    return cl.CustomComparison(
        output_column_name=c.output_column_name,
        comparison_description="identity numbers, each type against the same type",
        comparison_levels=[
            null.configure(is_null_level=True, label_for_charts="no type held on both sides"),
            close.configure(label_for_charts=f"the same number, or at most {c.max_edits} characters apart"),
            cll.ElseLevel(),
        ],
    )


def _parents_comparison(c: ParentsComparison) -> Any:
    def alike(key: str, spelled: str) -> Any:
        return cll.Or(cll.ExactMatchLevel(key), cll.JaroWinklerLevel(spelled, c.threshold))

    father, mother = alike(c.father, c.father_similar), alike(c.mother, c.mother_similar)
    return cl.CustomComparison(
        output_column_name=c.output_column_name,
        comparison_description="the parents' given names: father with father, mother with mother",
        comparison_levels=[
            cll.And(cll.NullLevel(c.father), cll.NullLevel(c.mother)).configure(
                is_null_level=True, label_for_charts="neither parent named on both sides"
            ),
            cll.ExactMatchLevel(c.both, term_frequency_adjustments=True).configure(
                label_for_charts="both parents the same"
            ),
            cll.And(father, mother).configure(label_for_charts="both parents alike"),
            cll.Or(
                cll.And(father, cll.NullLevel(c.mother)),
                cll.And(mother, cll.NullLevel(c.father)),
            ).configure(label_for_charts="one parent alike, the other not named on both sides"),
            cll.Or(father, mother).configure(label_for_charts="one parent alike, the other different"),
            cll.ElseLevel(),
        ],
    )


def _date_comparison(d: DateSpec) -> Any:
    y, m, dd = d.year, d.month, d.day

    def both(col: str) -> str:
        return f"{col}_l IS NOT NULL AND {col}_r IS NOT NULL"

    exact = f"{y}_l = {y}_r AND {m}_l = {m}_r AND {dd}_l = {dd}_r"
    swapped = f"{y}_l = {y}_r AND {m}_l = {dd}_r AND {dd}_l = {m}_r AND {m}_l <> {dd}_l"
    two_of_three = (
        f"({y}_l = {y}_r AND {m}_l = {m}_r AND {both(dd)}) "
        f"OR ({y}_l = {y}_r AND {dd}_l = {dd}_r AND {both(m)}) "
        f"OR ({m}_l = {m}_r AND {dd}_l = {dd}_r)"
    )
    year_only = f"{y}_l = {y}_r AND ({m}_l IS NULL OR {m}_r IS NULL)"
    exact_level = (
        cll.ExactMatchLevel(d.key, term_frequency_adjustments=True)
        if d.key
        else cll.CustomLevel(exact, "exact date", "duckdb")
    )
    levels: list[Any] = [
        exact_level,
        cll.CustomLevel(swapped, "day/month swapped", "duckdb"),
        cll.CustomLevel(two_of_three, "two of year/month/day equal", "duckdb"),
        cll.CustomLevel(year_only, "same year, one date known only to the year", "duckdb"),
        cll.CustomLevel(f"{y}_l = {y}_r", "same year only", "duckdb"),
        cll.CustomLevel(f"abs({y}_l - {y}_r) <= 1", "year ±1", "duckdb"),
        cll.ElseLevel(),
    ]
    if d.fixed_m is not None:
        if len(d.fixed_m) != len(levels):
            raise ValueError(f"DateSpec.fixed_m needs {len(levels)} values, got {len(d.fixed_m)}")
        levels = [
            lvl.configure(m_probability=mp, fix_m_probability=True)
            for lvl, mp in zip(levels, d.fixed_m, strict=True)
        ]
    null = cll.CustomLevel(f"{y}_l IS NULL OR {y}_r IS NULL", "null", "duckdb").configure(is_null_level=True)
    return cl.CustomComparison(
        output_column_name=d.output_column_name,
        comparison_description="date of birth from (year, month, day) parts",
        comparison_levels=[null, *levels],
    )


def _other_group(g: str) -> str:
    """SQL: the two records are not known to belong to one group (household)."""
    return f"(l.{g} IS NULL OR r.{g} IS NULL OR l.{g} <> r.{g})"


def _blocking_rule(spec: LinkageSpec, columns: tuple[str, ...]) -> Any:
    rule = block_on(*columns)
    g = spec.group_column
    if not g:
        return rule
    other_group = _other_group(g)
    if spec.date is not None:
        y, m, d = spec.date.year, spec.date.month, spec.date.day
        same_date = f"(l.{y} = r.{y} AND l.{m} = r.{m} AND l.{d} = r.{d})"
        same_year_only = f"(l.{y} = r.{y} AND l.{m} IS NULL AND r.{m} IS NULL)"
        within = f"({same_date} OR {same_year_only})"
        if spec.group_initial:
            # Twins: the same date, but a household declares them under two names.
            k = spec.group_initial
            within = f"({within} AND l.{k} = r.{k})"
        other_group = f"({other_group} OR {within})"
    return brl.And(rule, brl.CustomRule(other_group, "duckdb"))


def _settings(spec: LinkageSpec, link_type: LinkType) -> SettingsCreator:
    comparisons: list[Any] = [_name_comparison(n) for n in spec.names]
    comparisons += [_string_comparison(s) for s in spec.strings]
    comparisons += [_array_comparison(a) for a in spec.arrays]
    if spec.identifiers is not None:
        comparisons.append(_identifier_comparison(spec.identifiers))
    if spec.parents is not None:
        comparisons.append(_parents_comparison(spec.parents))
    if spec.date is not None:
        comparisons.append(_date_comparison(spec.date))
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name=spec.unique_id_column,
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[_blocking_rule(spec, r) for r in spec.blocking_rules],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=list(spec.retain_columns),
        max_iterations=25,
    )


# --------------------------------------------------------------------------- backend


def _db_api(backend: Backend, connection: Any = None) -> Any:
    """Select the Splink database API.  Only the selection is engine specific."""
    if backend == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI(connection) if connection is not None else DuckDBAPI()
    if backend == "spark":
        from splink import SparkAPI

        if connection is None:
            raise ValueError(
                "backend='spark' needs connection=<SparkSession> configured with "
                "spark.jars = splink.backends.spark.similarity_jar_location()"
            )
        return SparkAPI(spark_session=connection)
    raise ValueError(f"unknown backend {backend!r}")


def db_api_connection(db_api: Any) -> Any:
    """The SparkSession behind a Splink SparkAPI (None for DuckDB)."""
    return getattr(db_api, "spark", None)


def _to_backend_table(df: pl.DataFrame, backend: Backend, connection: Any = None) -> Any:
    if backend == "duckdb":
        return df.to_arrow()
    if connection is not None:
        # Through Arrow, so that column types survive: from pandas, a list column that is
        # empty everywhere becomes Spark's VOID, which array functions refuse.
        return connection.createDataFrame(df.to_arrow())
    return df.to_pandas()


def _select(df: pl.DataFrame, spec: LinkageSpec) -> pl.DataFrame:
    blocking = [
        c for rule in (*spec.blocking_rules, *spec.training_rules, *spec.deterministic_rules) for c in rule
    ]
    cols = [spec.unique_id_column, *spec.compared_columns, *blocking, *spec.retain_columns]
    seen: list[str] = []
    for c in cols:
        if c not in seen:
            seen.append(c)
    missing = [c for c in seen if c not in df.columns]
    if missing:
        raise ValueError(f"person frame is missing columns: {missing}")
    return df.select(seen)


# --------------------------------------------------------------------------- model


@dataclass
class LinkageModel:
    """A trained model: Splink settings (with m/u) plus the spec that produced them."""

    settings: dict[str, Any]
    spec: LinkageSpec
    backend: Backend = "duckdb"
    version: int = MODEL_FORMAT_VERSION
    splink_version: str = field(default=splink.__version__)
    # How many anchor pairs the m of the anchor comparisons were counted on (0: not used).
    anchor_pairs: int = 0

    def settings_for(self, link_type: LinkType) -> dict[str, Any]:
        s = json.loads(json.dumps(self.settings))
        s["link_type"] = link_type
        s.pop("linker_uid", None)
        return s


def _clamp_vanishing_m() -> None:
    """Let EM drive a level's m to zero without failing.

    On a small registry, EM can find a level only among non-matches (one parent alike, the
    other different) and set its m to exactly 0.0; Splink 4 then refuses the value and the
    run fails. The value is clamped to Splink's smallest (1e-300); the m floor applied
    after training (:attr:`LinkageSpec.m_floor`) lifts it again.
    """
    from splink.internals import comparison_level as cl_mod

    prop: Any = cl_mod.ComparisonLevel.__dict__["m_probability"]
    if getattr(prop.fset, "_sijill_clamped", False):
        return
    original = prop.fset

    def setter(self: Any, value: Any) -> None:
        if isinstance(value, (int, float)) and value < cl_mod.M_U_CLAMP_MIN:
            value = cl_mod.M_U_CLAMP_MIN
        original(self, value)

    setter._sijill_clamped = True  # type: ignore[attr-defined]
    setattr(cl_mod.ComparisonLevel, "m_probability", prop.setter(setter))  # noqa: B010


_clamp_vanishing_m()


def _quiet() -> None:
    logging.getLogger("splink").setLevel(logging.WARNING)


def train(
    df: pl.DataFrame,
    spec: LinkageSpec | None = None,
    *,
    backend: Backend = "duckdb",
    connection: Any = None,
    link_type: LinkType = "dedupe_only",
    other: pl.DataFrame | None = None,
) -> LinkageModel:
    """Train unsupervised.

    1. ``probability_two_random_records_match`` from ``spec.deterministic_rules`` with
       assumed recall ``spec.deterministic_recall``;
    2. ``u`` by random sampling (``spec.u_max_pairs``, seeded);
    3. ``m`` by EM once per ``spec.training_rules`` rule.

    ``other`` (with ``link_type="link_only"``) trains a two-dataset link model.
    """
    spec = spec or default_spec()
    if other is not None and link_type == "dedupe_only":
        link_type = "link_only"
    _quiet()
    db_api = _db_api(backend, connection)
    frames = [df] if other is None else [df, other]
    sdfs = [
        db_api.register(
            _to_backend_table(_select(f, spec), backend, connection), table_name=f"sijill_input_{i}"
        )
        for i, f in enumerate(frames)
    ]
    linker = Linker(sdfs if len(sdfs) > 1 else sdfs[0], _settings(spec, link_type), log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [_blocking_rule(spec, r) for r in spec.deterministic_rules], recall=spec.deterministic_recall
    )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=spec.u_max_pairs, seed=spec.seed, num_chunks=spec.u_chunks
    )
    for rule in spec.training_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            _blocking_rule(spec, rule), estimate_without_term_frequencies=True
        )
    settings = linker.misc.save_model_to_json()
    anchors = 0
    if spec.anchor_rules and spec.anchor_comparisons:
        anchors = _m_from_anchors(settings, spec, sdfs, db_api, link_type)
    if spec.m_floor > 0:
        _apply_m_floor(settings, spec.m_floor)
    return LinkageModel(settings=settings, spec=spec, backend=backend, anchor_pairs=anchors)


def _anchor_rule(spec: LinkageSpec, sql: str) -> Any:
    rule: Any = brl.CustomRule(sql, "duckdb")
    if spec.group_column:
        rule = brl.And(rule, brl.CustomRule(_other_group(spec.group_column), "duckdb"))
    return rule


def _m_from_anchors(
    settings: dict[str, Any], spec: LinkageSpec, sdfs: list[Any], db_api: Any, link_type: LinkType
) -> int:
    """Count the m probabilities of ``spec.anchor_comparisons`` on the anchor pairs and write
    them into ``settings`` (fixed), in place. Returns the number of anchor pairs (0 when too
    few to use: the trained or fixed values stay)."""
    free = replace(spec, date=replace(spec.date, fixed_m=None)) if spec.date is not None else spec
    creator = _settings(free, link_type)
    creator.blocking_rules_to_generate_predictions = [_anchor_rule(spec, r) for r in spec.anchor_rules]
    anchor_linker = Linker(sdfs if len(sdfs) > 1 else sdfs[0], creator, log_level=None)
    pairs = anchor_linker.inference.deterministic_link()
    count = int(pairs.as_pyarrow_table().num_rows)
    if count < spec.anchor_min_pairs:
        return 0
    anchor_linker.training.estimate_m_from_pairwise_labels(pairs)
    counted = {c["output_column_name"]: c for c in anchor_linker.misc.save_model_to_json()["comparisons"]}
    for comparison in settings["comparisons"]:
        name = comparison["output_column_name"]
        if name not in spec.anchor_comparisons or name not in counted:
            continue
        seen = [
            lvl.get("m_probability") or 0.0
            for lvl in counted[name]["comparison_levels"]
            if not lvl.get("is_null_level")
        ]
        if sum(seen) <= 0:  # null on every anchor pair (no parents named): nothing counted
            continue
        for level, source in zip(
            comparison["comparison_levels"], counted[name]["comparison_levels"], strict=True
        ):
            if level.get("is_null_level"):
                continue
            level["m_probability"] = source.get("m_probability", 0.0) or 0.0
            level["fix_m_probability"] = True
    return count


def _apply_m_floor(settings: dict[str, Any], floor: float) -> None:
    for comparison in settings["comparisons"]:
        levels = [
            lvl
            for lvl in comparison["comparison_levels"]
            if not lvl.get("is_null_level") and lvl.get("m_probability") is not None
        ]
        if not levels:
            continue
        short = [lvl for lvl in levels if lvl["m_probability"] < floor]
        if not short:
            continue
        # The short levels are raised to the floor, and what that adds is taken from the most
        # likely level; when that level cannot give it all (m counted on a few anchor pairs),
        # from every level above the floor in proportion to what it holds above it. The m
        # still sum to one.
        deficit = sum(floor - lvl["m_probability"] for lvl in short)
        for lvl in short:
            lvl["m_probability"] = floor
        top = max(levels, key=lambda lvl: lvl["m_probability"])
        if top["m_probability"] - deficit >= floor:
            top["m_probability"] -= deficit
            continue
        rest = [lvl for lvl in levels if lvl["m_probability"] > floor]
        room = sum(lvl["m_probability"] - floor for lvl in rest)
        if room <= 0:
            continue
        for lvl in rest:
            lvl["m_probability"] -= deficit * (lvl["m_probability"] - floor) / room


def save_model(model: LinkageModel, path: str | Path) -> None:
    """Write ``{"version", "splink_version", "backend", "anchor_pairs", "spec", "settings"}`` as JSON."""
    doc = {
        "version": model.version,
        "splink_version": model.splink_version,
        "backend": model.backend,
        "anchor_pairs": model.anchor_pairs,
        "spec": model.spec.to_dict(),
        "settings": model.settings,
    }
    Path(path).write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")


def load_model(path: str | Path, backend: Backend | None = None) -> LinkageModel:
    """Read a saved model. ``backend`` runs it on another engine than the one that trained
    it (a model trained on Spark scores an intake batch on DuckDB, and back)."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    version = doc.get("version")
    if version != MODEL_FORMAT_VERSION:
        raise ValueError(f"unsupported linkage model version {version!r} (want {MODEL_FORMAT_VERSION})")
    spec = LinkageSpec.from_dict(doc["spec"])
    saved_backend = doc.get("backend", "duckdb")
    settings = doc["settings"]
    if backend is not None and backend != saved_backend:
        settings = _translate_settings(settings, spec, backend)
    return LinkageModel(
        settings=settings,
        spec=spec,
        backend=backend or saved_backend,
        version=version,
        splink_version=doc.get("splink_version", ""),
        anchor_pairs=int(doc.get("anchor_pairs", 0)),
    )


_PARAMETERS = ("m_probability", "u_probability", "fix_m_probability", "fix_u_probability")


def _translate_settings(saved: dict[str, Any], spec: LinkageSpec, backend: Backend) -> dict[str, Any]:
    """The saved model's parameters on SQL written for another engine.

    Saved settings carry SQL in the training engine's dialect (Spark quotes with backticks,
    which DuckDB cannot read), so the comparisons are rebuilt from the spec for ``backend``
    and the trained probabilities copied over, level by level.
    """
    fresh = _settings(spec, saved.get("link_type", "dedupe_only")).create_settings_dict(backend)
    if len(fresh["comparisons"]) != len(saved["comparisons"]):
        raise ValueError("the saved model does not match its spec (different comparisons)")
    for new_c, old_c in zip(fresh["comparisons"], saved["comparisons"], strict=True):
        if len(new_c["comparison_levels"]) != len(old_c["comparison_levels"]):
            raise ValueError(f"the saved model does not match its spec ({old_c.get('output_column_name')})")
        for new_l, old_l in zip(new_c["comparison_levels"], old_c["comparison_levels"], strict=True):
            for key in _PARAMETERS:
                if key in old_l:
                    new_l[key] = old_l[key]
    fresh["probability_two_random_records_match"] = saved["probability_two_random_records_match"]
    fresh.pop("linker_uid", None)
    return fresh


# --------------------------------------------------------------------------- inference


def _pairs_frame(sdf: Any) -> pl.DataFrame:
    out = pl.from_arrow(sdf.as_pyarrow_table())
    assert isinstance(out, pl.DataFrame)
    front = [
        c for c in ("source_dataset_l", "unique_id_l", "source_dataset_r", "unique_id_r") if c in out.columns
    ]
    front += ["match_probability", "match_weight"]
    return out.select(front + [c for c in out.columns if c not in front]).sort(
        "match_probability", descending=True
    )


def predict(
    df: pl.DataFrame,
    model: LinkageModel,
    threshold: float = 0.9,
    *,
    connection: Any = None,
) -> pl.DataFrame:
    """Dedupe ``df``: scored pairs with ``match_probability >= threshold``.

    Columns: ``unique_id_l``, ``unique_id_r``, ``match_probability``, ``match_weight``,
    ``gamma_<comparison>`` (level index, -1 = null) and the compared values (``*_l``/``*_r``).
    """
    _quiet()
    db_api = _db_api(model.backend, connection)
    sdf = db_api.register(_to_backend_table(_select(df, model.spec), model.backend, connection))
    linker = Linker(sdf, model.settings_for("dedupe_only"), log_level=None)
    return _pairs_frame(linker.inference.predict(threshold_match_probability=threshold))


def _register_pair(
    db_api: Any, model: LinkageModel, first: pl.DataFrame, second: pl.DataFrame, names: tuple[str, str]
) -> tuple[Any, Any]:
    """Register two frames for a link. Tables get internal names (Splink 5.0 writes invalid SQL for a
    table named ``left``); the given names are what the output's ``source_dataset`` columns say."""
    return tuple(  # type: ignore[return-value]
        db_api.register(
            _to_backend_table(_select(df, model.spec), model.backend, db_api_connection(db_api)),
            table_name=f"sijill_{name}",
            dataset_display_name=name,
        )
        for df, name in ((first, names[0]), (second, names[1]))
    )


def link_new(
    existing_df: pl.DataFrame,
    new_df: pl.DataFrame,
    model: LinkageModel,
    threshold: float = 0.9,
    *,
    link_type: Literal["link_only", "link_and_dedupe"] = "link_and_dedupe",
    connection: Any = None,
) -> pl.DataFrame:
    """Match an intake batch against the registry.

    ``link_and_dedupe`` (default) also returns duplicates inside the batch (pairs within
    ``existing_df`` are never generated); ``link_only`` returns only existing↔new pairs.
    Output has ``source_dataset_l/_r`` (``"existing"``/``"new"``) besides the
    :func:`predict` columns.
    """
    _quiet()
    db_api = _db_api(model.backend, connection)
    existing, new = _register_pair(db_api, model, existing_df, new_df, ("existing", "new"))
    linker = Linker([existing, new], model.settings_for(link_type), log_level=None)
    # predict_between/within need registered term-frequency tables (over existing ∪ new)
    for column in model.spec.term_frequency_columns:
        linker.table_management.compute_tf_table(column)
    between = _pairs_frame(
        linker.inference.predict_between(existing, new, threshold_match_probability=threshold)
    )
    if link_type == "link_only":
        return between
    # Within-batch duplicates: a dedupe linker on the batch alone (Splink 5.0's
    # predict_within(link_type="dedupe_only") on a link linker emits invalid SQL).
    # Term frequencies are then derived from the batch itself.
    batch_api = _db_api(model.backend, None if model.backend == "duckdb" else connection)
    batch = batch_api.register(
        _to_backend_table(_select(new_df, model.spec), model.backend, connection), table_name="sijill_batch"
    )
    batch_linker = Linker(batch, model.settings_for("dedupe_only"), log_level=None)
    within = _pairs_frame(batch_linker.inference.predict(threshold_match_probability=threshold)).with_columns(
        source_dataset_l=pl.lit("new"), source_dataset_r=pl.lit("new")
    )
    return pl.concat([between, within], how="diagonal_relaxed").sort("match_probability", descending=True)


def pairwise_scores(
    left: pl.DataFrame,
    right: pl.DataFrame,
    model: LinkageModel,
    threshold: float = 0.9,
    *,
    connection: Any = None,
) -> pl.DataFrame:
    """Two-dataset ``link_only`` prediction (e.g. FEBRL4): pairs across ``left``/``right``."""
    _quiet()
    db_api = _db_api(model.backend, connection)
    a, b = _register_pair(db_api, model, left, right, ("left", "right"))
    linker = Linker([a, b], model.settings_for("link_only"), log_level=None)
    return _pairs_frame(linker.inference.predict(threshold_match_probability=threshold))


# --------------------------------------------------------------------------- clustering


def cluster(
    pairs: pl.DataFrame,
    threshold: float = 0.9,
    *,
    ids: Sequence[Any] | pl.Series | None = None,
) -> pl.DataFrame:
    """Connected components over pairs with ``match_probability >= threshold``.

    Returns ``unique_id`` → ``cluster_id`` (the smallest member id, as a string).  Pass
    ``ids`` to include singletons.  When the pairs carry ``source_dataset_l/_r`` (link
    jobs), nodes are ``(source_dataset, unique_id)`` and a ``source_dataset`` column is
    returned.  In-memory union-find: fine for intake batches and benchmarks; at
    registry scale use Splink's SQL connected components
    (``linker.clustering.cluster_pairwise_predictions_at_threshold``).
    """
    with_source = "source_dataset_l" in pairs.columns
    edges = pairs.filter(pl.col("match_probability") >= threshold)
    parent: dict[Any, Any] = {}

    def find(x: Any) -> Any:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def add(x: Any) -> None:
        parent.setdefault(x, x)

    if with_source:
        rows = edges.select("source_dataset_l", "unique_id_l", "source_dataset_r", "unique_id_r").iter_rows()
        edge_list = [((sl, il), (sr, ir)) for sl, il, sr, ir in rows]
    else:
        edge_list = list(edges.select("unique_id_l", "unique_id_r").iter_rows())
    if ids is not None:
        for i in ids:
            add(i)
    for a, b in edge_list:
        add(a)
        add(b)
        ra, rb = find(a), find(b)
        if ra != rb:
            if str(rb) < str(ra):
                ra, rb = rb, ra
            parent[rb] = ra
    nodes = list(parent)
    # cluster id = smallest member (by string) so it is deterministic
    members: dict[Any, str] = {}
    for n in nodes:
        r = find(n)
        key = str(n[1] if with_source else n)
        if r not in members or key < members[r]:
            members[r] = key
    if with_source:
        return pl.DataFrame(
            {
                "source_dataset": [str(n[0]) for n in nodes],
                "unique_id": [n[1] for n in nodes],
                "cluster_id": [members[find(n)] for n in nodes],
            }
        )
    return pl.DataFrame({"unique_id": nodes, "cluster_id": [members[find(n)] for n in nodes]})
