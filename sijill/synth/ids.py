"""Unique identifier and phone-number streams.

Each stream maps a running serial number (0, 1, 2, ...) to a value through a seeded
affine bijection ``x -> (a*x + b) mod M`` of the stream's value space, so values look
random, never repeat within a file and need no memory. Originals consume serials from the
bottom of the space; the replacement identifiers given to duplicate records consume them
from the top, so the two can never collide.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import polars as pl

from sijill.core import checkdigits
from sijill.synth.config import IdSpec, PhoneFormat
from sijill.synth.models import SynthConfigError

IArray = npt.NDArray[np.int64]
_LETTERS = pl.Series(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


MAX_SPACE = 2_000_000_000  # keeps a*x below 2**63


class Bijection:
    """A seeded affine permutation of range(modulus), modulus <= MAX_SPACE."""

    def __init__(self, modulus: int, seed: int, salt: str) -> None:
        if modulus < 2:
            raise SynthConfigError(f"identifier space too small ({modulus})")
        if modulus > MAX_SPACE:
            raise SynthConfigError("identifier space too large for the int64 bijection")
        rng = np.random.default_rng(np.random.SeedSequence([seed, *salt.encode("utf-8")]))
        a = int(rng.integers(modulus // 3, 2 * modulus // 3 + 2))
        while math.gcd(a, modulus) != 1:
            a += 1
        self.a = a % modulus or 1
        self.b = int(rng.integers(0, modulus))
        self.m = modulus

    def __call__(self, x: IArray) -> IArray:
        x = x.astype(np.int64) % self.m
        return (x * self.a + self.b) % self.m


def _luhn_digits_vec(payload: IArray, width: int) -> IArray:
    total = np.zeros(payload.shape[0], dtype=np.int64)
    x = payload.copy()
    for i in range(width):  # rightmost payload digit is doubled (check digit goes to its right)
        d = x % 10
        x //= 10
        if i % 2 == 0:
            d = d * 2
            d = np.where(d > 9, d - 9, d)
        total += d
    return (10 - total % 10) % 10


class IdStream:
    """Values of one identifier type."""

    def __init__(self, spec: IdSpec, seed: int) -> None:
        self.spec = spec
        # Large value spaces are sampled injectively: v -> v * stride + jitter(v).
        self.space = min(spec.capacity, MAX_SPACE)
        self.stride = spec.capacity // self.space
        self.capacity = self.space
        self.perm = Bijection(self.space, seed, f"id:{spec.type}")
        self.used_low = 0  # serials consumed by original records
        self.used_high = 0  # serials consumed by replacements (from the top)

    def _check_room(self, n_low: int, n_high: int) -> None:
        if self.used_low + n_low + self.used_high + n_high > self.capacity:
            raise SynthConfigError(
                f"identifier space of {self.spec.type} exhausted ({self.capacity} values); "
                "enlarge its generator in synth.yaml"
            )

    def take(self, n: int, order: IArray, birth_year: IArray | None = None) -> pl.Series:
        """``n`` new values; ``order`` is a permutation of range(n) shuffling serials."""
        self._check_room(n, 0)
        serial = self.used_low + order
        self.used_low += n
        return self.format(self.perm(serial), birth_year)

    def take_replacements(self, n: int, birth_year: IArray | None = None) -> pl.Series:
        self._check_room(0, n)
        serial = self.capacity - 1 - (self.used_high + np.arange(n, dtype=np.int64))
        self.used_high += n
        return self.format(self.perm(serial), birth_year)

    def _spread(self, v: IArray) -> IArray:
        if self.stride <= 1:
            return v
        return v * self.stride + (v * 2654435761) % self.stride

    def format(self, v: IArray, birth_year: IArray | None) -> pl.Series:
        s = self.spec
        v = self._spread(v)
        if s.kind == "digits":
            payload_w = s.digits - (1 if s.check != "none" else 0)
            if s.first_nonzero:
                v = v + 10 ** (payload_w - 1)
            out = pl.Series(v).cast(pl.Utf8).str.zfill(payload_w)
            if s.check == "verhoeff":
                cd = checkdigits.verhoeff_digits_vec(v, payload_w).astype(np.int64)
                out = out + pl.Series(cd).cast(pl.Utf8)
            elif s.check == "luhn":
                out = out + pl.Series(_luhn_digits_vec(v, payload_w)).cast(pl.Utf8)
            if s.suffix_letter:
                out = out + _LETTERS.gather((v * 7 + v // 26) % 26)
            return out
        if s.kind == "prefixed":
            scale = 10**s.digits
            prefixes = pl.Series(list(s.prefixes))
            return prefixes.gather(v // scale) + pl.Series(v % scale).cast(pl.Utf8).str.zfill(s.digits)
        if s.kind == "number_year":
            num = pl.Series(v + 1).cast(pl.Utf8)
            if birth_year is None:
                return num
            return num + "/" + pl.Series(birth_year).cast(pl.Utf8)
        raise AssertionError(s.kind)


class PhoneStream:
    """Unique phone numbers over several formats (e.g. +2126 / +2127 + 8 digits)."""

    def __init__(self, formats: tuple[PhoneFormat, ...], seed: int) -> None:
        self.formats = formats
        w = np.array([f.weight for f in formats], dtype=np.float64)
        self.cum = np.cumsum(w) / w.sum()
        self.perms = [Bijection(10**f.digits, seed, f"phone:{f.prefix}") for f in formats]
        self.used = [0] * len(formats)

    def take(self, rng: np.random.Generator, n: int) -> pl.Series:
        fmt = np.minimum(np.searchsorted(self.cum, rng.random(n), side="right"), len(self.formats) - 1)
        parts = pl.repeat(None, n, dtype=pl.Utf8, eager=True)
        for i, f in enumerate(self.formats):
            idx = np.flatnonzero(fmt == i)
            k = idx.shape[0]
            if not k:
                continue
            if self.used[i] + k > 10**f.digits:
                raise SynthConfigError(f"phone numbers of format {f.prefix} exhausted")
            serial = self.used[i] + rng.permutation(k)
            self.used[i] += k
            vals = f.prefix + pl.Series(self.perms[i](serial)).cast(pl.Utf8).str.zfill(f.digits)
            parts = parts.scatter(idx, vals)
        return parts
