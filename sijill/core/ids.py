"""Opaque registry identifiers.

A registry id is random (not sequential, revealing nothing about the person) and ends
with a Verhoeff check digit, like Morocco's IDCS: a mistyped digit or two swapped
neighbouring digits are always detected.

- person ids: 12 digits (11 random + check);
- household ids: 11 digits (10 random + check).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable

import numpy as np

from sijill.core.checkdigits import verhoeff_digits_vec, verhoeff_valid

PERSON_ID_WIDTH = 12
HOUSEHOLD_ID_WIDTH = 11


def _rng() -> np.random.Generator:
    return np.random.default_rng(secrets.randbits(128))


def random_ids(n: int, width: int, rng: np.random.Generator | None = None) -> list[str]:
    """``n`` distinct random ids of ``width`` digits (the last being the check digit)."""
    rng = rng or _rng()
    payload_width = width - 1
    low, high = 10 ** (payload_width - 1), 10**payload_width
    out = np.empty(0, dtype=np.int64)
    while out.size < n:
        cand = rng.integers(low, high, size=(n - out.size) * 2 + 16, dtype=np.int64)
        out = np.unique(np.concatenate([out, cand]))
    out = rng.permutation(out)[:n]
    check = verhoeff_digits_vec(out, payload_width).astype(np.int64)
    full = out * 10 + check
    return [str(x) for x in full.tolist()]


def allocate_ids(
    n: int, width: int, taken: Callable[[Iterable[str]], set[str]], rng: np.random.Generator | None = None
) -> list[str]:
    """``n`` new distinct ids, none of which ``taken`` reports as already in use."""
    rng = rng or _rng()
    ids = random_ids(n, width, rng)
    while True:
        clash = taken(ids)
        if not clash:
            return ids
        keep = [i for i in ids if i not in clash]
        kept = set(keep)
        extra = [i for i in random_ids(len(clash) * 4 + 8, width, rng) if i not in kept]
        ids = keep + extra[: n - len(keep)]


def is_valid_registry_id(value: str, width: int) -> bool:
    return len(value) == width and verhoeff_valid(value)
