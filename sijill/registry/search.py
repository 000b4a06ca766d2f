"""Find households by registry number, identifier, phone or a member's name (either script).

:func:`find_households` reads the search-key table (:mod:`sijill.registry.searchkeys`)
with exact lookups on its ``(kind, key, area_path)`` index only, never a scan or a
``LIKE '%x%'``:

* a number: the household registry number (or its beginning, as an index range), a
  member's registry number, the household's file reference, an identifier of any type
  (spaces, hyphens, dots ignored) and a phone number (as the country writes it: ``06…``,
  ``+212 6…``, ``00212…``);
* a name: the query is cut into its possible given-name / family-name parts (in either
  order; ``Fatima Zahra El Idrissi`` has several), each part turned into its skeleton keys
  (:mod:`sijill.identity.names`: Mohamed = Mohammed = Muhammad = محمد, El Idrissi =
  Idrissi = Lidrissi = الإدريسي); the pairs are looked up as full-name keys, and only if
  none matches, each part alone as a family then a given name.

The candidates (at most :data:`CANDIDATES` keys per lookup, already limited to the
account's areas on the same index) are ranked by string similarity (rapidfuzz) between
the query and the member's names, in the query's script, and each household comes back
once, with the member who matched and why. The final read of the households goes
through the caller's queryset (:func:`sijill.accounts.selectors.scope_households`), so
the area rule is applied twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.conf import settings
from django.db.models import Q, QuerySet
from rapidfuzz import fuzz

from sijill.core import ids
from sijill.countries import get_profile
from sijill.identity import names
from sijill.registry import searchkeys
from sijill.registry.models import ExternalIdentifier, Household, Membership, Person, SearchKey

#: At most this many keys are read per lookup (a name shared by many persons: refine it).
CANDIDATES = 400
#: At most this many households are returned.
MAX_RESULTS = 100
MAX_TOKENS = 6

REGISTRY_ID, PERSON_ID, EXTERNAL_REF, IDENTIFIER, PHONE, HOUSEHOLD_PHONE, NAME = (
    "registry_id",
    "person_registry_id",
    "external_ref",
    "identifier",
    "phone",
    "household_phone",
    "name",
)


@dataclass
class Hit:
    """One household found, the member through whom (None: the household itself) and why."""

    household: Household
    person: Person | None
    reason: str  # one of the constants above
    detail: str = ""  # the identifier's type, the full-name or part-name match
    score: float = 100.0
    _rank: tuple[Any, ...] = field(default=(), repr=False)


@dataclass
class SearchResult:
    hits: list[Hit]
    truncated: bool  # more candidates than were read: the query should be more precise


def _area_q(area_paths: list[str] | None) -> Q:
    if area_paths is None:
        return Q()
    q = Q(pk__in=[])
    for p in area_paths:
        q |= Q(area_path=p) | Q(area_path__startswith=p + "/")
    return q


def _keys(kind: str, keys: list[str], area_paths: list[str] | None) -> list[tuple[int, int | None, str]]:
    if not keys:
        return []
    rows = (
        SearchKey.objects.filter(kind=kind, key__in=sorted(set(keys)))
        .filter(_area_q(area_paths))
        .values_list("household_id", "person_id", "key")[:CANDIDATES]
    )
    return list(rows)


def find_households(
    qs: QuerySet[Household], text: str, *, area_paths: list[str] | None = None
) -> SearchResult:
    """Households of ``qs`` matching ``text`` (see the module docstring), best first.

    ``area_paths``: the account's areas (:func:`sijill.accounts.selectors.area_paths_of`),
    ``None`` for the whole country; ``qs`` must already be limited to them."""
    text = (text or "").strip()[:100]
    if not text:
        return SearchResult([], False)
    if re.search(r"\d", text):
        return _by_number(qs, text, area_paths)
    return _by_name(qs, text, area_paths)


# --------------------------------------------------------------------------- numbers


def normalise_phone(text: str) -> str | None:
    """The digits of a phone number in the country's international form, or None."""
    return get_profile(settings.SIJILL_COUNTRY).normalise_phone(text)


def _by_number(qs: QuerySet[Household], text: str, area_paths: list[str] | None) -> SearchResult:
    compact = searchkeys.identifier_key(text)
    found: dict[int, Hit] = {}

    def add(hh_id: int, person_id: int | None, reason: str, detail: str = "", rank: int = 0) -> None:
        if hh_id not in found or found[hh_id]._rank > (rank,):
            found[hh_id] = Hit(None, None, reason, detail, 100.0, (rank,))  # type: ignore[arg-type]
            found[hh_id].person = person_id  # type: ignore[assignment]  # resolved below

    live = qs.filter(is_deleted=False)
    if compact.isalnum():
        for pk in live.filter(registry_id=compact, registry_id__isnull=False).values_list("pk", flat=True)[
            :1
        ]:
            add(pk, None, REGISTRY_ID)
        if 3 <= len(compact) < ids.HOUSEHOLD_ID_WIDTH:
            # The beginning of a registry number: an index range, not LIKE (SQLite's LIKE ignores the index).
            rows = live.filter(registry_id__isnull=False, registry_id__gte=compact)
            upper = _next_prefix(compact)
            if upper:
                rows = rows.filter(registry_id__lt=upper)
            rows = rows.filter(registry_id__startswith=compact).order_by("registry_id")
            for pk in rows.values_list("pk", flat=True)[:MAX_RESULTS]:
                add(pk, None, REGISTRY_ID, rank=3)
        person = _resolve_person(compact)
        if person is not None:
            for hh_id in Membership.live.filter(person_id=person, end_date__isnull=True).values_list(
                "household_id", flat=True
            )[:1]:
                add(hh_id, person, PERSON_ID, rank=1)
    for pk in live.filter(external_ref=text).values_list("pk", flat=True)[:1]:
        add(pk, None, EXTERNAL_REF)
    for hh_id, person_id, _ in _keys(SearchKey.IDENTIFIER, [compact], area_paths):
        add(hh_id, person_id, IDENTIFIER, rank=1)
    phone = normalise_phone(text)
    if phone:
        for hh_id, person_id, _ in _keys(SearchKey.PHONE, [phone], area_paths):
            add(hh_id, person_id, PHONE if person_id else HOUSEHOLD_PHONE, rank=2)
    hits = _resolve(qs, found)
    ident = {h.person.pk: h for h in hits if h.reason == IDENTIFIER and h.person is not None}
    if ident:
        for i in ExternalIdentifier.live.filter(person_id__in=list(ident)).only(
            "person_id", "id_type", "value"
        ):
            if searchkeys.identifier_key(i.value) == compact:
                ident[i.person_id].detail = i.id_type
    return SearchResult(hits, False)


def _next_prefix(prefix: str) -> str:
    """The smallest string after every string that starts with ``prefix``, for an index range:
    ``12349`` → ``1235`` (digits carry, so it holds in any collation); ``""`` when there is none."""
    p = prefix.rstrip("9") if prefix.isdigit() else prefix
    if not p:
        return ""
    return p[:-1] + chr(ord(p[-1]) + 1)


def _resolve_person(registry_id: str) -> int | None:
    """The live person a person registry number stands for (a merged record leads to its survivor)."""
    from sijill.registry.selectors import resolve_person

    try:
        p = resolve_person(registry_id)
    except Person.DoesNotExist:
        return None
    return None if p.is_deleted else p.pk


def _resolve(qs: QuerySet[Household], found: dict[int, Hit]) -> list[Hit]:
    """Read the households (through ``qs``: the area rule again) and the matched persons."""
    if not found:
        return []
    # Only the best MAX_RESULTS are read (the candidates are already limited to the account's areas).
    found = dict(sorted(found.items(), key=lambda kv: (kv[1]._rank, kv[0]))[:MAX_RESULTS])
    households = qs.filter(is_deleted=False, pk__in=list(found)).select_related("area").in_bulk()
    person_ids = [h.person for h in found.values() if h.person is not None]
    persons = Person.objects.in_bulk(person_ids) if person_ids else {}
    out = []
    for pk, hit in sorted(found.items(), key=lambda kv: (kv[1]._rank, kv[0])):
        if pk not in households:
            continue
        hit.household = households[pk]
        hit.person = persons.get(hit.person) if hit.person is not None else None  # type: ignore[call-overload]
        out.append(hit)
    return out[:MAX_RESULTS]


# --------------------------------------------------------------------------- names


def _tokens(text: str) -> list[str]:
    if searchkeys.has_arabic(text):
        norm = names.normalise_arabic(text)
        # "عبد الرحمن" is one token once folded; keep the typed words otherwise.
        return norm.split()[:MAX_TOKENS]
    return names.normalise_latin(text).split()[:MAX_TOKENS]


def _span_keys(tokens: list[str]) -> dict[tuple[int, int], list[str]]:
    """Skeleton keys of every contiguous run of tokens (computed in one vectorised call)."""
    spans = [(i, j) for i in range(len(tokens)) for j in range(i + 1, len(tokens) + 1)]
    texts = pl.Series([" ".join(tokens[i:j]) for i, j in spans], dtype=pl.Utf8)
    country = str(settings.SIJILL_COUNTRY).upper()
    arabic = any(searchkeys.has_arabic(t) for t in tokens)
    keys = (
        searchkeys.arabic_name_keys(texts, country) if arabic else searchkeys.latin_name_keys(texts)
    ).to_list()
    return {span: list(k or []) for span, k in zip(spans, keys, strict=True)}


def _by_name(qs: QuerySet[Household], text: str, area_paths: list[str] | None) -> SearchResult:
    tokens = _tokens(text)
    if not tokens:
        return SearchResult([], False)
    n = len(tokens)
    spans = _span_keys(tokens)
    full: list[str] = []
    for k in range(1, n):
        first, rest = spans[(0, k)], spans[(k, n)]
        full += [f"{a} {b}" for a in first for b in rest]  # given then family
        full += [f"{b} {a}" for a in first for b in rest]  # family then given
    rows: list[tuple[int, int | None, str, str]] = []
    truncated = False
    if full:
        got = _keys(SearchKey.NAME, full, area_paths)
        truncated |= len(got) >= CANDIDATES
        rows += [(h, p, key, "full") for h, p, key in got]
    near: dict[str, list[str]] = {}
    if not rows and n > 1:
        # A family name misspelt beyond its skeleton (Idrizzi for Idrissi): its key against
        # the registry's family-name keys, one edit apart (keys of 4 letters or more), inside
        # the full name, before any part alone.
        near = {key: _near_family_keys(key) for ks in spans.values() for key in ks}
        full_near: list[str] = []
        for k in range(1, n):
            first, rest = spans[(0, k)], spans[(k, n)]
            full_near += [f"{a} {x}" for a in first for b in rest for x in near.get(b, [])]
            full_near += [f"{b} {x}" for a in first for b in rest for x in near.get(a, [])]
        got = _keys(SearchKey.NAME, full_near, area_paths)
        truncated |= len(got) >= CANDIDATES
        rows += [(h, p, key, "full") for h, p, key in got]
    if not rows:
        # No full name matched (one word, or one part misspelt beyond its skeleton): any part
        # as a family name, and the whole query as a given name ("Fatima Zahra"). Never a
        # part alone as a given name: "Mohamed X" would list every Mohamed.
        parts = sorted({key for ks in spans.values() for key in ks})
        for kind, keys in ((SearchKey.FAMILY, parts), (SearchKey.GIVEN, spans[(0, n)])):
            got = _keys(kind, keys, area_paths)
            truncated |= len(got) >= CANDIDATES
            rows += [(h, p, key, "family" if kind == SearchKey.FAMILY else "given") for h, p, key in got]
    if not rows:
        # Still nothing: the parts one edit away, alone, as family names.
        near = near or {key: _near_family_keys(key) for ks in spans.values() for key in ks}
        got = _keys(SearchKey.FAMILY, sorted({x for xs in near.values() for x in xs}), area_paths)
        truncated |= len(got) >= CANDIDATES
        rows += [(h, p, key, "family") for h, p, key in got]
    return SearchResult(_rank_names(qs, text, rows), truncated)


def _near_family_keys(key: str) -> list[str]:
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    if len(key) < 4:
        return []
    found = process.extract(
        key, searchkeys.family_key_vocabulary(), scorer=Levenshtein.distance, score_cutoff=1, limit=20
    )
    return [k for k, _d, _i in found if k != key]


def _similarities(query_lat: str, query_ar: str, persons: list[tuple[Any, ...]]) -> dict[int, float]:
    """rapidfuzz similarity (0-100) of the query with each person's name, in the query's
    script(s); the names are normalised in one vectorised pass."""
    if not persons:
        return {}
    lat = names.normalise_latin_series(
        pl.Series([f"{p[1]} {p[2]}" for p in persons], dtype=pl.Utf8)
    ).to_list()
    ar = names.normalise_arabic_series(
        pl.Series([f"{p[3]} {p[4]}" for p in persons], dtype=pl.Utf8)
    ).to_list()
    out = {}
    for p, la, a in zip(persons, lat, ar, strict=True):
        best = 0.0
        if query_lat and la:
            best = max(best, fuzz.token_sort_ratio(query_lat, la))
        if query_ar and a:
            best = max(best, fuzz.token_sort_ratio(query_ar, a))
        out[p[0]] = float(best)
    return out


def _rank_names(
    qs: QuerySet[Household], text: str, rows: list[tuple[int, int | None, str, str]]
) -> list[Hit]:
    if not rows:
        return []
    arabic = searchkeys.has_arabic(text)
    query_ar = names.normalise_arabic(text) if arabic else ""
    country = str(settings.SIJILL_COUNTRY).upper()
    query_lat = names.normalise_latin(names.romanize(text, country) if arabic else text)
    persons = {
        r[0]: r
        for r in Person.objects.filter(pk__in=[p for _, p, _, _ in rows if p is not None]).values_list(
            "id", "given_name_lat", "family_name_lat", "given_name_ar", "family_name_ar"
        )
    }
    scores = _similarities(query_lat, query_ar, list(persons.values()))
    found: dict[int, Hit] = {}
    order = {"full": 0, "family": 1, "given": 2}
    for hh_id, person_id, _key, how in rows:
        if person_id is None or person_id not in persons:
            continue
        score = scores[person_id]
        rank = (order[how], -score)
        if hh_id not in found or found[hh_id]._rank > rank:
            found[hh_id] = Hit(None, person_id, NAME, how, score, rank)  # type: ignore[arg-type]
    hits = _resolve(qs, found)
    hits.sort(key=lambda h: h._rank)
    return hits[:MAX_RESULTS]
