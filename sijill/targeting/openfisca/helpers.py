"""Vectorised helpers for country formulas: enum membership, head-of-household values,
ranks of members inside their household, date arithmetic and string-code lookups.

Everything here works on whole arrays (one value per person or per household) so that a
formula costs the same few NumPy passes for one household or for a million. Nothing loops
over persons or households in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sijill.targeting.openfisca.entities import Household

Array = NDArray[Any]


def enum_in(values: Any, codes: Iterable[str]) -> NDArray[np.bool_]:
    """True where an :class:`~openfisca_core.indexed_enums.EnumArray` holds one of ``codes``.

    Codes the enum does not know are ignored (a country may not have every code), so
    ``enum_in(occupation, ["RETIRED", "RENTIER"])`` is safe in every country.
    """
    enum = values.possible_values
    members = enum.__members__
    indices = [members[c].index for c in codes if c in members]
    raw = np.asarray(values.view(np.ndarray))
    if not indices:
        return np.zeros(raw.shape, dtype=bool)
    if len(indices) == 1:
        return raw == indices[0]
    lookup = np.zeros(len(members), dtype=bool)
    lookup[indices] = True
    return lookup[raw]


def enum_index(values: Any, code: str) -> int:
    """Index of ``code`` in the enum of ``values`` (raises KeyError when unknown)."""
    return int(values.possible_values.__members__[code].index)


def enum_at_least(values: Any, order: Iterable[str], minimum: str) -> NDArray[np.bool_]:
    """True where ``values`` is ``minimum`` or comes after it in ``order`` (an ordinal scale).

    ``order`` lists the codes from lowest to highest; codes not in ``order`` (e.g. MISSING)
    are below everything.
    """
    order = list(order)
    if minimum not in order:
        raise ValueError(f"'{minimum}' is not one of {order}")
    return enum_in(values, order[order.index(minimum) :])


def head_index(household: Any, period: Any) -> NDArray[np.int64]:
    """Index (in the persons arrays) of each household's head, -1 when it has none."""
    is_head = household.members("is_household_head", period)
    out = np.full(household.count, -1, dtype=np.int64)
    out[household.members_entity_id[is_head]] = np.flatnonzero(is_head)
    return out


def head_value(household: Any, period: Any, person_values: Any, default: Any = 0) -> Array:
    """The value of the head for each household (``default`` where there is no head).

    ``person_values`` is a persons array (an EnumArray keeps its enum).
    """
    idx = household("household_head_index", period)
    raw = np.asarray(person_values)
    safe = np.where(idx >= 0, idx, 0)
    out = raw[safe]
    if len(out):
        out = np.where(idx >= 0, out, np.asarray(default, dtype=out.dtype))
    if hasattr(person_values, "possible_values"):
        from openfisca_core.indexed_enums import EnumArray

        return EnumArray(out.astype(np.int16), person_values.possible_values)
    return out


def rank_in_household(
    household: Any, mask: NDArray[np.bool_], birth_date: Array, eldest_first: bool = True
) -> NDArray[np.int32]:
    """Rank (1, 2, ...) of each masked person among the masked members of their household.

    Members are ordered by birth date (eldest first unless ``eldest_first`` is False); ties
    keep the order of the persons arrays. Persons outside ``mask`` get 0. One sort of the
    masked persons only.
    """
    rank = np.zeros(len(mask), dtype=np.int32)
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return rank
    ent = household.members_entity_id[idx].astype(np.int64)
    days = np.asarray(birth_date, dtype="datetime64[D]")[idx].astype(np.int64)
    if not eldest_first:
        days = -days
    # Days since 1970 fit in 31 bits with a 2**30 offset (years 1970 +/- 2.9 million).
    key = (ent << 32) | (days + (1 << 30))
    order = np.argsort(key, kind="stable")
    ent_sorted = ent[order]
    n = len(idx)
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    np.not_equal(ent_sorted[1:], ent_sorted[:-1], out=new_group[1:])
    starts = np.flatnonzero(new_group)
    group_start = np.repeat(starts, np.diff(np.append(starts, n)))
    rank[idx[order]] = (np.arange(n) - group_start + 1).astype(np.int32)
    return rank


def year_month_day(dates: Array) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int32]]:
    """Year, month (1-12) and day (1-31) of each date, with int32 arithmetic only.

    Howard Hinnant's ``civil_from_days`` (proleptic Gregorian calendar), about ten times
    faster than NumPy's ``astype("datetime64[Y]")`` / ``[M]`` conversions on millions of dates
    (int32 division is much faster than int64). Valid for years -5,000,000 to 5,000,000.
    """
    z = np.asarray(dates, dtype="datetime64[D]").astype(np.int64).astype(np.int32) + np.int32(719468)
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def month_of(dates: Array) -> Array:
    """The month (``datetime64[M]``) of each date."""
    return np.asarray(dates, dtype="datetime64[D]").astype("datetime64[M]")


def add_months(dates: Array, months: int) -> Array:
    """``dates`` plus ``months`` calendar months, clipped to the end of the target month
    (31 August + 6 months = 28 or 29 February)."""
    d = np.asarray(dates, dtype="datetime64[D]")
    m = d.astype("datetime64[M]")
    day_offset = d - m.astype("datetime64[D]")
    target = m + months
    last_day = (target + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
    return np.minimum(target.astype("datetime64[D]") + day_offset, last_day)


def lookup(codes: Array, mapping: Mapping[str, float], default: float = 0.0) -> NDArray[np.float64]:
    """Map an array of string codes to floats (``default`` for codes not in ``mapping``).

    Sorted search over the mapping's keys: about as fast as a dictionary lookup in C, with
    no Python loop over the array.
    """
    arr = np.asarray(codes)
    out = np.full(arr.shape, default, dtype=np.float64)
    if not mapping or arr.size == 0:
        return out
    keys = np.array(sorted(mapping), dtype=str)
    values = np.array([float(mapping[k]) for k in keys], dtype=np.float64)
    width = max(max(len(k) for k in keys), 1)
    # Longer strings can never match; truncating them to the keys' width could.
    text = arr.astype(f"U{width + 1}")
    pos = np.searchsorted(keys, text)
    pos_clipped = np.minimum(pos, len(keys) - 1)
    found = keys[pos_clipped] == text
    out[found] = values[pos_clipped[found]]
    return out


HEAD = Household.HEAD
SPOUSE = Household.SPOUSE
CHILD = Household.CHILD
OTHER = Household.OTHER
