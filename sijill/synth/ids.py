"""Unique identifier and phone-number streams.

Each stream maps a running serial number (0, 1, 2, ...) to a value through a seeded
affine bijection ``x -> (a*x + b) mod M`` of the stream's value space, so values look
random, never repeat within a file and need no memory.

A duplicate record does not get a new number: one person keeps one CNIE or NINA for life.
:meth:`IdStream.mistype` writes the original number with one typing error instead (a digit
replaced, or two neighbouring digits swapped), as an agent copying it from the card would.
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
        self.used = 0  # serials consumed

    def take(self, n: int, order: IArray, birth_year: IArray | None = None) -> pl.Series:
        """``n`` new values; ``order`` is a permutation of range(n) shuffling serials."""
        if self.used + n > self.capacity:
            raise SynthConfigError(
                f"identifier space of {self.spec.type} exhausted ({self.capacity} values); "
                "enlarge its generator in synth.yaml"
            )
        serial = self.used + order
        self.used += n
        return self.format(self.perm(serial), birth_year)

    @property
    def can_mistype(self) -> bool:
        """Whether a mistyped number still passes validation (a check digit would refuse it)."""
        return self.spec.check == "none"

    def mistype(self, rng: np.random.Generator, values: pl.Series) -> pl.Series:
        """Each value with one typing error in its digits: a digit replaced by another (70%)
        or two neighbouring, different digits swapped (30%). The format still holds (prefix
        letters, a leading non-zero digit, a key letter and the ``/year`` part are kept), so
        the value passes the profile's pattern. It may, rarely, be another person's number:
        intake then sends it to review, as it would in the field.
        """
        s = self.spec
        k = values.len()
        if not k:
            return values
        length = values.str.len_chars().to_numpy().astype(np.int64)
        if s.kind == "prefixed":
            lo, hi = length - s.digits, length
        elif s.kind == "digits":
            lo = np.full(k, 1 if s.first_nonzero else 0, dtype=np.int64)
            hi = np.full(k, s.digits - (1 if s.check != "none" else 0), dtype=np.int64)
        elif s.kind == "number_year":
            slash = values.str.find("/").fill_null(-1).to_numpy().astype(np.int64)
            hi = np.where(slash >= 0, slash, length)
            lo = np.where(hi > 1, 1, 0)  # keep the act number's first digit (no leading zero)
        else:  # pragma: no cover - config validates the kinds
            raise AssertionError(s.kind)
        span = np.maximum(hi - lo, 1)
        pos = lo + np.floor(rng.random(k) * span).astype(np.int64)
        step = rng.integers(1, 10, k)  # a different digit
        step9 = rng.integers(1, 9, k)  # a different non-zero digit, for an act number's only digit
        df = pl.DataFrame(
            {"s": values, "p": pos, "step": step, "step9": step9, "swap": rng.random(k) < 0.3, "hi": hi}
        )
        c, p = pl.col("s"), pl.col("p")
        here, nxt = c.str.slice(p, 1), c.str.slice(p + 1, 1)
        can_swap = pl.col("swap") & (p + 1 < pl.col("hi")) & (here != nxt)
        d = here.cast(pl.Int64)
        digit = (
            pl.when(pl.col("hi") == 1)
            .then((d - 1 + pl.col("step9")) % 9 + 1)
            .otherwise((d + pl.col("step")) % 10)
            .cast(pl.Utf8)
        )
        expr = (
            pl.when(can_swap)
            .then(pl.concat_str([c.str.slice(0, p), nxt, here, c.str.slice(p + 2)]))
            .otherwise(pl.concat_str([c.str.slice(0, p), digit, c.str.slice(p + 1)]))
        )
        return df.select(expr.alias("s")).to_series()

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
