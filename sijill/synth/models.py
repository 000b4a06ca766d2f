"""Small vectorised statistical building blocks used by the synthetic population engine.

Everything here is country-agnostic: the numbers come from ``countries/<code>/synth.yaml``.

A *linear predictor* spec (``Lin``) is written in YAML as::

    intercept: 0.5            # or {U: 0.5, R: -0.2}
    coef: {lc: 1.2, log_size: {U: 0.3, R: 0.1}}

and evaluated against a mapping of feature name -> NumPy array. ``U``/``R`` values let
urban and rural households have different coefficients (the usual separate PMT models).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FArray = npt.NDArray[np.float64]
BArray = npt.NDArray[np.bool_]
IArray = npt.NDArray[np.int64]


class SynthConfigError(ValueError):
    """synth.yaml (or one of its data files) is malformed."""


def ur(value: Any, what: str = "value") -> tuple[float, float]:
    """A scalar or a ``{U: x, R: y}`` mapping, as an (urban, rural) pair."""
    if isinstance(value, Mapping):
        unknown = set(value) - {"U", "R"}
        if unknown:
            raise SynthConfigError(f"{what}: unexpected keys {sorted(unknown)} (use U and R)")
        return float(value.get("U", 0.0)), float(value.get("R", 0.0))
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SynthConfigError(f"{what}: expected a number or {{U:, R:}}, got {value!r}") from None
    return v, v


def by_milieu(pair: tuple[float, float], rural: BArray) -> FArray | float:
    u, r = pair
    if u == r:
        return u
    return np.where(rural, r, u)


@dataclass(frozen=True)
class Lin:
    """intercept + sum(coef * feature), with optional urban/rural values."""

    intercept: tuple[float, float] = (0.0, 0.0)
    coef: tuple[tuple[str, tuple[float, float]], ...] = ()

    @classmethod
    def parse(cls, spec: Any, what: str) -> Lin:
        if spec is None:
            return cls()
        if not isinstance(spec, Mapping):
            return cls(intercept=ur(spec, what))
        unknown = set(spec) - {"intercept", "coef"}
        if unknown:
            raise SynthConfigError(f"{what}: unexpected keys {sorted(unknown)}")
        coef = tuple((str(k), ur(v, f"{what}.coef.{k}")) for k, v in (spec.get("coef") or {}).items())
        return cls(intercept=ur(spec.get("intercept", 0.0), f"{what}.intercept"), coef=coef)

    @property
    def features(self) -> set[str]:
        return {k for k, _ in self.coef}

    def eval(self, feats: Mapping[str, Any], rural: BArray) -> FArray:
        out = np.zeros(rural.shape[0], dtype=np.float64)
        out += by_milieu(self.intercept, rural)
        for name, pair in self.coef:
            try:
                x = feats[name]
            except KeyError:
                raise SynthConfigError(f"unknown feature '{name}' in synth.yaml") from None
            out += by_milieu(pair, rural) * x
        return out


def sigmoid(x: FArray) -> FArray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def draw_logit(rng: np.random.Generator, eta: FArray) -> BArray:
    return rng.random(eta.shape[0]) < sigmoid(eta)


def draw_categorical(rng: np.random.Generator, probs: npt.ArrayLike, n: int) -> IArray:
    """n draws of indices 0..k-1 with the given (unnormalised) probabilities."""
    p = np.asarray(probs, dtype=np.float64)
    c = np.cumsum(p)
    c /= c[-1]
    return np.minimum(np.searchsorted(c, rng.random(n), side="right"), len(p) - 1).astype(np.int64)


def draw_rows(rng: np.random.Generator, cum: FArray, row: IArray) -> IArray:
    """Per-row categorical draws: ``cum`` is a (rows x k) matrix of cumulative, normalised
    probabilities; ``row`` selects the row of each draw."""
    u = rng.random(size=int(row.shape[0]))
    out = np.empty(row.shape[0], dtype=np.int64)
    last = cum.shape[1] - 1
    for r in range(cum.shape[0]):
        m = row == r
        if m.any():
            out[m] = np.minimum(np.searchsorted(cum[r], u[m], side="right"), last)
    return out


def gumbel_argmax(rng: np.random.Generator, logits: FArray) -> IArray:
    """Multinomial-logit draw per row of an (n x k) utility matrix (-inf = impossible):
    inverse-CDF sampling of the row's softmax, one uniform per row."""
    m = logits.max(axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    w = np.exp(logits - m)
    c = np.cumsum(w, axis=1)
    u = rng.random(size=int(logits.shape[0])) * c[:, -1]
    return np.minimum((c <= u[:, None]).sum(axis=1), logits.shape[1] - 1).astype(np.int64)


def safe_log(w: Any) -> Any:
    with np.errstate(divide="ignore"):
        return np.log(w)


@dataclass(frozen=True)
class Choice:
    """A multinomial-logit choice among codes: utility = log(weight) + Lin."""

    codes: tuple[str, ...]
    weights: tuple[tuple[float, float], ...]  # per code, (urban, rural)
    lins: tuple[Lin, ...]

    @classmethod
    def parse(cls, spec: Mapping[str, Any], what: str) -> Choice:
        if not isinstance(spec, Mapping) or not spec:
            raise SynthConfigError(f"{what}: expected a mapping of code -> {{weight, coef}}")
        codes, weights, lins = [], [], []
        for code, c in spec.items():
            c = c if isinstance(c, Mapping) else {"weight": c}
            unknown = set(c) - {"weight", "coef"}
            if unknown:
                raise SynthConfigError(f"{what}.{code}: unexpected keys {sorted(unknown)}")
            codes.append(str(code))
            weights.append(ur(c.get("weight", 1.0), f"{what}.{code}.weight"))
            lins.append(Lin(coef=Lin.parse({"coef": c.get("coef") or {}}, f"{what}.{code}").coef))
        return cls(tuple(codes), tuple(weights), tuple(lins))

    @property
    def features(self) -> set[str]:
        out: set[str] = set()
        for lin in self.lins:
            out |= lin.features
        return out

    def utilities(self, feats: Mapping[str, Any], rural: BArray) -> FArray:
        n = rural.shape[0]
        u = np.empty((n, len(self.codes)), dtype=np.float64)
        for j, (w, lin) in enumerate(zip(self.weights, self.lins, strict=True)):
            u[:, j] = safe_log(by_milieu(w, rural)) + lin.eval(feats, rural)
        return u

    def draw(self, rng: np.random.Generator, feats: Mapping[str, Any], rural: BArray) -> IArray:
        return gumbel_argmax(rng, self.utilities(feats, rural))


@dataclass(frozen=True)
class AgeTable:
    """Piecewise-constant values by age: rows ``[age_from, age_to, value]`` or
    ``[age_from, age_to, value_U, value_R]`` (inclusive bounds)."""

    lo: npt.NDArray[np.int64]
    hi: npt.NDArray[np.int64]
    u: FArray
    r: FArray
    default: float = 0.0

    @classmethod
    def parse(cls, rows: Any, what: str, default: float = 0.0) -> AgeTable:
        if not isinstance(rows, list) or not rows:
            raise SynthConfigError(f"{what}: expected a list of [age_from, age_to, value(, value_R)]")
        lo, hi, u, r = [], [], [], []
        for row in rows:
            if not isinstance(row, list) or len(row) not in (3, 4):
                raise SynthConfigError(f"{what}: bad row {row!r}")
            lo.append(int(row[0]))
            hi.append(int(row[1]))
            u.append(float(row[2]))
            r.append(float(row[3] if len(row) == 4 else row[2]))
        return cls(np.array(lo), np.array(hi), np.array(u), np.array(r), default)

    def lookup(self, age: npt.NDArray[np.integer[Any]], rural: BArray | None = None) -> FArray:
        out = np.full(age.shape[0], self.default, dtype=np.float64)
        for i in range(len(self.lo)):
            m = (age >= self.lo[i]) & (age <= self.hi[i])
            if rural is None or self.u[i] == self.r[i]:
                out[m] = self.u[i]
            else:
                out[m] = np.where(rural[m], self.r[i], self.u[i])
        return out


@dataclass(frozen=True)
class StepTable:
    """Piecewise-constant function of a year: rows ``[from_year, value]`` sorted ascending."""

    starts: npt.NDArray[np.int64]
    values: FArray

    @classmethod
    def parse(cls, rows: Any, what: str) -> StepTable:
        if not isinstance(rows, list) or not rows:
            raise SynthConfigError(f"{what}: expected a list of [from_year, value]")
        rows = sorted((int(a), float(b)) for a, b in rows)
        return cls(np.array([a for a, _ in rows]), np.array([b for _, b in rows]))

    def lookup(self, year: npt.NDArray[np.integer[Any]]) -> FArray:
        idx = np.searchsorted(self.starts, year, side="right") - 1
        return self.values[np.clip(idx, 0, len(self.values) - 1)]


class Features(Mapping[str, Any]):
    """Feature arrays for model evaluation, with a helpful error on unknown names."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = dict(data or {})

    def __getitem__(self, key: str) -> Any:
        try:
            return self.data[key]
        except KeyError:
            known = ", ".join(sorted(self.data))
            raise SynthConfigError(f"unknown feature '{key}' in synth.yaml; known: {known}") from None

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)
