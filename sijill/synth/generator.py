"""Synthetic population generator: households and persons in the bulk-import format.

``generate("ma", households=1_000_000, seed=1, out=Path("var/synth"))`` writes
``households.csv`` and ``persons.csv`` (docs/import-format.md, version 1; or Parquet),
``truth.csv`` (latent consumption), optionally ``duplicates_truth.csv`` and
``duplicates_households_truth.csv``, and ``manifest.json``.

The engine is country-agnostic: every distribution, list and coefficient is read from
``sijill/countries/<code>/synth.yaml`` and its ``synth/`` folder (see
:mod:`sijill.synth.config`). Households are generated in chunks with vectorised NumPy and
Polars; each chunk has its own random stream derived from (seed, chunk number), so the
output is a pure function of (country, households, seed, duplicate_rate, chunk_size) and
the country's parameter files.

Causal structure of one chunk:

1. location (region x milieu cell, then commune), household size, head's sex and age;
2. composition (spouse, children, grandchildren, parents, siblings, other relatives,
   non-relatives) and ages that satisfy the import's consistency rules with margins;
3. latent log consumption per person = milieu intercept + regional effect + demographic
   effects + noise (written to truth.csv only);
4. person attributes driven by age, sex, milieu and consumption: schooling, education,
   literacy, occupation, disability, health coverage, names, identifiers, phones;
5. household questionnaire variables from generic models (choice / logit / count /
   amount / feature) over household features, mostly the latent consumption;
6. optional duplicates with realistic noise, then ordering, references and writing.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from sijill.core import enums as core_enums
from sijill.registry.intake.validate import HOUSEHOLD_CORE
from sijill.registry.intake.validate import PERSON_COLUMNS as PERSON_COLUMNS_ALL
from sijill.synth.config import SynthConfig, load_config
from sijill.synth.ids import IdStream, PhoneStream
from sijill.synth.models import (
    Features,
    SynthConfigError,
    by_milieu,
    draw_categorical,
    draw_logit,
    draw_rows,
    gumbel_argmax,
    sigmoid,
)

GENERATOR_VERSION = "1.1.0"
FORMAT_VERSION = 1

FArray = npt.NDArray[np.float64]
IArray = npt.NDArray[np.int64]
BArray = npt.NDArray[np.bool_]

REL = core_enums.RELATIONSHIP
R_HEAD, R_SPOUSE, R_CHILD, R_STEP, R_GRAND, R_PARENT, R_SIBLING, R_OTHER, R_NONREL = range(9)
EDU = core_enums.EDUCATION_LEVEL
SCHOOL = core_enums.SCHOOL_LEVEL
S_PRESCHOOL, S_PRIMARY, S_LOWER, S_UPPER, S_POST, S_HIGHER = range(6)
# Highest level completed by someone currently attending each school level.
_COMPLETED_WHEN_ATTENDING = np.array([-1, 0, 1, 2, 3, 3])

# The columns of the import format (docs/import-format.md); synthetic persons are all alive,
# so no death_date column is written.
PERSON_COLUMNS = [c for c in PERSON_COLUMNS_ALL if c != "death_date"]
TRUTH_COLUMNS = ["household_ref", "log_consumption_pc", "consumption_pc", "milieu", "region"]

# Noise applied to duplicate person records: name -> relative weight.
NOISE_OPS = {
    "latin_variant": 0.30,
    "typo": 0.20,
    "arabic_variant": 0.15,
    "date_swap": 0.10,
    "year_only": 0.08,
    "id_missing": 0.17,
}
# Number of noise operations on a duplicate record (index = count).
NOISE_COUNT_PERSON = [0.0, 0.5, 0.35, 0.15]
NOISE_COUNT_HOUSEHOLD_MEMBER = [0.25, 0.40, 0.25, 0.10]
# Share of duplicate records (spared by the "id_missing" noise) that carry the original's
# identifiers mistyped; the others carry none (not declared, or only a document with a check
# digit, which cannot be mistyped past validation).
ID_MISTYPED_SHARE = 0.5
# A parent named on the original record is not named on the duplicate (not declared the
# second time), or is spelled another known way, with these probabilities.
PARENT_DROPPED = 0.25
PARENT_RESPELLED = 0.15
HOUSEHOLD_DUP_SHARE = 0.4  # share of duplicated person records that come from whole households
_ALPHABET = np.array(list("abcdefghijklmnopqrstuvwxyz"))


@dataclass
class SynthSummary:
    """What :func:`generate` wrote."""

    country: str
    seed: int
    households: int  # households generated (without duplicates)
    persons: int  # person rows written (with duplicates)
    duplicate_households: int  # extra household rows that duplicate another household
    duplicate_persons: int  # extra person rows that duplicate another person (all kinds)
    household_rows: int  # rows written to the households table
    format: str
    files: dict[str, Path] = field(default_factory=dict)
    elapsed_s: float = 0.0


# ============================================================================ helpers


def _codes(names: tuple[str, ...] | list[str], idx: IArray) -> pl.Series:
    """Map an index array to code strings; -1 -> null."""
    table = pl.Series([*names, None], dtype=pl.Utf8)
    i = np.where(idx < 0, len(names), idx)
    return table.gather(i)


def _masked(values: pl.Series, mask: BArray) -> pl.Series:
    """values where mask, else null."""
    return pl.select(pl.when(pl.Series(mask)).then(values).otherwise(None)).to_series()


def _ints_between(rng: np.random.Generator, lo: Any, hi: Any, n: int) -> IArray:
    """Uniform integers in [lo, hi] (inclusive, arrays allowed; hi < lo gives lo)."""
    lo = np.asarray(lo, dtype=np.int64)
    span = np.maximum(np.asarray(hi, dtype=np.int64) - lo + 1, 1)
    return lo + np.floor(rng.random(n) * span).astype(np.int64)


def _date_str(y: IArray, m: IArray, d: IArray) -> pl.Series:
    return pl.select(
        pl.date(
            pl.lit(pl.Series(y.astype(np.int32))),
            pl.lit(pl.Series(m.astype(np.int8))),
            pl.lit(pl.Series(d.astype(np.int8))),
        ).dt.strftime("%Y-%m-%d")
    ).to_series()


# Month and day of each day of a 365-day year (Feb 29 is never generated).
_DOY = np.arange(365)
_MD = np.array([(d.month, d.day) for d in (dt.date(2001, 1, 1) + dt.timedelta(days=int(i)) for i in _DOY)])


class _Engine:
    def __init__(self, cfg: SynthConfig, seed: int, duplicate_rate: float) -> None:
        self.cfg = cfg
        self.seed = seed
        self.dup_rate = duplicate_rate
        p = cfg.profile
        comp = cfg.composition
        self.ref = cfg.reference_date
        self.ref_doy = (self.ref - dt.date(self.ref.year, 1, 1)).days
        if self.ref.month > 2 and self.ref.year % 4 == 0:
            self.ref_doy -= 1  # position in a 365-day year
        # regions
        self.regions = tuple(dict.fromkeys(cfg.geo.cell_region))
        self.region_idx = {r: i for i, r in enumerate(self.regions)}
        self.cell_region_idx = np.array([self.region_idx[r] for r in cfg.geo.cell_region])
        self.commune_region_idx = np.array([self.region_idx.get(r, -1) for r in cfg.geo.commune_region])
        re_u = np.array([cfg.region_effect.get(r, (0.0, 0.0))[0] for r in self.regions])
        re_r = np.array([cfg.region_effect.get(r, (0.0, 0.0))[1] for r in self.regions])
        self.region_effect = (re_u, re_r)
        # household sizes: rows U, R
        k = max(len(cfg.size_probs["U"]), len(cfg.size_probs["R"]))
        sz = np.zeros((2, k))
        sz[0, : len(cfg.size_probs["U"])] = cfg.size_probs["U"]
        sz[1, : len(cfg.size_probs["R"])] = cfg.size_probs["R"]
        self.size_cum = np.cumsum(sz, axis=1) / sz.sum(axis=1, keepdims=True)
        # head ages
        self.fem_by_size = np.array(comp["female_head_by_size"], dtype=np.float64)
        bands = np.array(comp["head_age_bands"], dtype=np.int64)
        self.band_lo, self.band_hi = bands[:, 0], bands[:, 1]
        w = np.array(comp["head_age_weights"], dtype=np.float64)
        if w.shape[1] != len(bands):
            raise SynthConfigError("composition.head_age_weights: one weight per band expected")
        self.band_cum = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
        # names
        nm = cfg.names
        self.n_male_given = len(nm.given_male)
        self.given_spell = pl.Series(
            list(nm.given_male.spellings) + list(nm.given_female.spellings), dtype=pl.Utf8
        )
        self.given_ar = pl.Series(list(nm.given_male.ar) + list(nm.given_female.ar), dtype=pl.Utf8)
        self.given_off = np.concatenate(
            [nm.given_male.off, nm.given_female.off + len(nm.given_male.spellings)]
        )
        self.given_n = np.concatenate([nm.given_male.n, nm.given_female.n])
        self.family_spell = pl.Series(list(nm.family.spellings), dtype=pl.Utf8)
        self.family_ar = pl.Series(list(nm.family.ar), dtype=pl.Utf8)
        self.family_cum = np.cumsum(nm.family.weight) / nm.family.weight.sum()
        # schooling level by effective age (0..120)
        lvl = np.full(121, -1, dtype=np.int64)
        for lo, hi, code in cfg.schooling["levels_by_age"]:
            lvl[int(lo) : min(int(hi), 120) + 1] = SCHOOL.index(code)
        self.level_by_age = lvl
        # education
        self.edu_min_age = np.array([0] + [int(cfg.education.get("min_age", {}).get(e, 0)) for e in EDU[1:]])
        self.cutpoints = np.array(cfg.education["cutpoints"], dtype=np.float64)
        lit = cfg.literacy
        self.lit_by_level = np.array([float(lit.get("prob_by_level", {}).get(e, 0.5)) for e in EDU])
        # occupations and their groups
        self.occ_codes = cfg.occ_codes
        self.occ_all = p.enums.get("occupation", ())
        self.student_idx = self.occ_all.index(cfg.occ_student) if cfg.occ_student else -1
        self.occ_map = np.array([self.occ_all.index(c) for c in cfg.occ_codes])  # choice idx -> enum idx
        self.groups = {
            g: np.isin(np.arange(len(self.occ_all)), [self.occ_all.index(c) for c in codes])
            for g, codes in cfg.occ_groups.items()
        }
        self.cov_codes = cfg.coverage.codes
        # identifiers and phones
        self.id_streams = [IdStream(s, seed) for s in cfg.ids]
        self.phones = PhoneStream(cfg.phone_formats, seed)
        self.dis_types, dtw = cfg.disability_types
        self.dis_type_p = dtw / dtw.sum() if len(dtw) else dtw
        self.dis_sev, dsw = cfg.disability_severity
        self.dis_sev_p = dsw / dsw.sum() if len(dsw) else dsw
        # running offsets
        self.hh_written = 0
        self.p_written = 0
        self.dup_h = 0
        self.dup_p = 0
        # questionnaire columns, in questionnaire order
        self.questions = p.questionnaire.questions
        self.modelled = {v.name: v for v in cfg.household_vars}
        self.commune_names = pl.Series(list(cfg.geo.commune_names), dtype=pl.Utf8)
        self.communes = pl.Series(list(cfg.geo.communes), dtype=pl.Utf8)
        self.region_codes = pl.Series(list(self.regions), dtype=pl.Utf8)
        self.arabic = nm.given_male.has_arabic or nm.given_female.has_arabic or nm.family.has_arabic

    # ------------------------------------------------------------------ chunk

    def chunk(self, ci: int, n_hh: int) -> dict[str, pl.DataFrame]:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, ci]))
        h = self._households(rng, n_hh)
        per = self._persons(rng, h)
        self._consumption(rng, h, per)
        self._person_attributes(rng, h, per)
        self._names(rng, h, per)
        self._ids_phones(rng, h, per)
        feats = self._household_features(h, per)
        coverage = self._coverage(rng, h, feats)
        per["cov"] = coverage[per["hh"]]
        answers = self._questionnaire(rng, h, feats)
        hdf = self._household_frame(rng, h, per, answers)
        pdf = self._person_frame(h, per)
        if self.dup_rate > 0:
            return self._with_duplicates(rng, h, per, hdf, pdf)
        return self._finalise(rng, hdf, pdf, None, None)

    # ------------------------------------------------------------------ 1. households

    def _households(self, rng: np.random.Generator, n: int) -> dict[str, Any]:
        g = self.cfg.geo
        cell = draw_categorical(rng, g.cell_weight, n)
        pos = np.searchsorted(g.cell_cum, cell + rng.random(n), side="right")
        commune = g.cell_commune[np.minimum(pos, len(g.cell_commune) - 1)]
        rural = g.cell_rural[cell]
        size = draw_rows(rng, self.size_cum, rural.astype(np.int64)) + 1
        fem_p = self.fem_by_size[np.minimum(size, len(self.fem_by_size)) - 1]
        head_f = rng.random(n) < fem_p
        band = draw_rows(rng, self.band_cum, np.minimum(size, self.band_cum.shape[0]) - 1)
        head_age = _ints_between(rng, self.band_lo[band], self.band_hi[band], n)
        return {
            "n": n,
            "commune": commune,
            "region": self.cell_region_idx[cell],
            "rural": rural,
            "size": size,
            "head_f": head_f,
            "head_age": head_age,
        }

    # ------------------------------------------------------------------ 2. composition

    def _persons(self, rng: np.random.Generator, h: dict[str, Any]) -> dict[str, Any]:
        comp = self.cfg.composition
        n = h["n"]
        size, head_f, head_age = h["size"], h["head_f"], h["head_age"]
        slots = size - 1
        # spouse
        sp = comp["spouse_prob"]
        col = np.where(size == 2, 0, 1)
        p_m, p_f = np.array(sp["M"], dtype=float), np.array(sp["F"], dtype=float)
        sp_p = np.where(head_f, p_f[np.minimum(col, len(p_f) - 1)], p_m[np.minimum(col, len(p_m) - 1)])
        has_sp = (slots >= 1) & (head_age >= 18) & (rng.random(n) < sp_p)
        slots = slots - has_sp
        gap = comp["spouse_age_gap"]
        gaps = np.clip(np.rint(rng.normal(gap["mean"], gap["sd"], n)), gap["min"], gap["max"]).astype(
            np.int64
        )
        spouse_age = np.clip(np.where(head_f, head_age + gaps, head_age - gaps), 16, 99)
        # parents of the head
        pp = comp["parents"]
        elig = (slots >= 1) & (head_age >= pp["head_age"][0]) & (head_age <= pp["head_age"][1])
        n_par = (elig & (rng.random(n) < pp["prob"])).astype(np.int64)
        n_par += (n_par == 1) & (slots >= 2) & (rng.random(n) < pp["two_prob"])
        slots = slots - n_par
        # grandchildren
        gc = comp["grandchildren"]
        elig = (slots >= 1) & (head_age >= gc["head_age_min"])
        n_gc = np.where(
            elig & (rng.random(n) < gc["prob"]), np.minimum(slots, 1 + rng.poisson(gc["extra_mean"], n)), 0
        )
        slots = slots - n_gc
        # siblings
        sb = comp["siblings"]
        elig = (slots >= 1) & (head_age <= sb["head_age_max"])
        n_sib = np.where(
            elig & (rng.random(n) < sb["prob"]), np.minimum(slots, 1 + rng.poisson(sb["extra_mean"], n)), 0
        )
        slots = slots - n_sib
        # other relatives / non-relatives
        orl = comp["other_relatives"]
        n_oth = np.where(
            (slots >= 1) & (rng.random(n) < orl["prob"]),
            np.minimum(slots, 1 + rng.poisson(orl["extra_mean"], n)),
            0,
        )
        slots = slots - n_oth
        nr = comp["non_relatives"]
        n_non = ((slots >= 1) & (rng.random(n) < nr["prob"])).astype(np.int64)
        slots = slots - n_non
        # children, capped by the mother's age; the excess become siblings or other relatives
        m_age = np.where(
            head_f,
            head_age,
            np.where(has_sp, spouse_age, head_age - int(comp["male_head_absent_mother_gap"])),
        )
        mc = comp.get("max_children") or {"min_age": 16, "spacing": 2}
        max_ch = np.clip(1 + (m_age - int(mc["min_age"])) // int(mc["spacing"]), 0, None)
        excess = np.maximum(slots - max_ch, 0)
        n_ch = slots - excess
        young = head_age < 40
        n_sib = n_sib + np.where(young, excess, 0)
        n_oth = n_oth + np.where(young, 0, excess)

        hh_all = np.arange(n)
        parts_hh, parts_rel, parts_f, parts_age = [], [], [], []

        def add(hh: IArray, rel: int, female: BArray, age: IArray) -> None:
            parts_hh.append(hh)
            parts_rel.append(np.full(hh.shape[0], rel, dtype=np.int64))
            parts_f.append(female)
            parts_age.append(age.astype(np.int64))

        add(hh_all, R_HEAD, head_f, head_age)
        s_hh = hh_all[has_sp]
        add(s_hh, R_SPOUSE, ~head_f[s_hh], spouse_age[s_hh])
        # children
        c_hh = np.repeat(hh_all, n_ch)
        k = c_hh.shape[0]
        lo_b, hi_b = comp["mother_age_at_birth"]
        m = m_age[c_hh]
        g_at = _ints_between(rng, np.full(k, lo_b), np.minimum(hi_b, m), k)
        c_age = np.clip(m - g_at, 0, head_age[c_hh] - 14)
        add(c_hh, R_CHILD, rng.random(k) < 0.49, c_age)
        # grandchildren: at least 26 years younger than the head
        g_hh = np.repeat(hh_all, n_gc)
        k = g_hh.shape[0]
        add(
            g_hh,
            R_GRAND,
            rng.random(k) < 0.49,
            _ints_between(rng, np.zeros(k), np.minimum(17, head_age[g_hh] - 42), k),
        )
        # parents: at least 14 years older than the head
        p_hh = hh_all[n_par >= 1]
        k = p_hh.shape[0]
        two = n_par[p_hh] == 2
        lo_g, hi_g = pp["gap"]
        mother_age = np.clip(
            head_age[p_hh] + _ints_between(rng, np.full(k, lo_g), np.full(k, hi_g), k), None, 100
        )
        first_f = two | (rng.random(k) < pp["mother_prob"])
        add(p_hh, R_PARENT, first_f, mother_age)
        p2 = p_hh[two]
        f_age = np.clip(
            mother_age[two] + np.clip(np.rint(rng.normal(6, 4, p2.shape[0])), -4, 20).astype(np.int64),
            head_age[p2] + 14,
            102,
        )
        add(p2, R_PARENT, np.zeros(p2.shape[0], dtype=bool), f_age)
        # siblings
        b_hh = np.repeat(hh_all, n_sib)
        k = b_hh.shape[0]
        b_age = np.clip(head_age[b_hh] + np.rint(rng.normal(0, sb["age_sd"], k)).astype(np.int64), 0, 98)
        add(b_hh, R_SIBLING, rng.random(k) < 0.5, b_age)
        # other relatives / non-relatives
        o_hh = np.repeat(hh_all, n_oth)
        k = o_hh.shape[0]
        add(
            o_hh,
            R_OTHER,
            rng.random(k) < 0.55,
            _ints_between(rng, np.full(k, orl["age"][0]), np.full(k, orl["age"][1]), k),
        )
        x_hh = hh_all[n_non >= 1]
        k = x_hh.shape[0]
        add(
            x_hh,
            R_NONREL,
            rng.random(k) < 0.7,
            _ints_between(rng, np.full(k, nr["age"][0]), np.full(k, nr["age"][1]), k),
        )

        hh = np.concatenate(parts_hh)
        rel = np.concatenate(parts_rel)
        fem = np.concatenate(parts_f)
        age = np.concatenate(parts_age)
        order = np.lexsort((-age, rel, hh))
        h["has_sp"] = has_sp
        h["n_gc"] = n_gc
        h["n_par"] = n_par
        hh = hh[order]
        h["head_pos"] = np.searchsorted(hh, hh_all)
        return {"hh": hh, "rel": rel[order], "female": fem[order], "age": age[order], "P": hh.shape[0]}

    # ------------------------------------------------------------------ 3. consumption

    def _consumption(self, rng: np.random.Generator, h: dict[str, Any], per: dict[str, Any]) -> None:
        cfg = self.cfg
        n = h["n"]
        hh, age = per["hh"], per["age"]
        size = h["size"].astype(np.float64)
        h["n_children"] = np.bincount(hh, weights=age < 15, minlength=n)
        h["n_elderly"] = np.bincount(hh, weights=age >= 60, minlength=n)
        rural = h["rural"]
        f = Features(
            {
                "size": size,
                "log_size": np.log(size),
                "child_share": h["n_children"] / size,
                "elderly_share": h["n_elderly"] / size,
                "head_female": h["head_f"].astype(np.float64),
                "head_age": h["head_age"].astype(np.float64),
                "urban": (~rural).astype(np.float64),
                "rural": rural.astype(np.float64),
            }
        )
        reg = h["region"]
        logc = (
            cfg.consumption_lin.eval(f.data, rural)
            + by_milieu(cfg.consumption_intercept, rural)
            + np.where(rural, self.region_effect[1][reg], self.region_effect[0][reg])
            + rng.normal(0.0, 1.0, n) * by_milieu(cfg.noise_sd, rural)
        )
        h["logc"] = logc
        h["lc"] = logc - cfg.centre
        h["feat_base"] = f

    # ------------------------------------------------------------------ 4. persons

    def _person_attributes(self, rng: np.random.Generator, h: dict[str, Any], per: dict[str, Any]) -> None:
        cfg = self.cfg
        P = per["P"]
        hh, age, fem, rel = per["hh"], per["age"], per["female"], per["rel"]
        rural = h["rural"][hh]
        lc = h["lc"][hh]
        # birth dates: exact age at the reference date, never Feb 29
        doy = rng.integers(0, 365, P)
        byear = self.ref.year - age - (doy > self.ref_doy)
        per["byear"], per["bmonth"], per["bday"] = byear, _MD[doy, 0], _MD[doy, 1]
        per["approx"] = rng.random(P) < np.where(byear < 1955, 0.35, np.where(byear < 1975, 0.08, 0.01))
        # approximate dates of older persons are often recorded as 1 January
        jan1 = per["approx"] & (rng.random(P) < 0.6)
        per["bmonth"] = np.where(jan1, 1, per["bmonth"])
        per["bday"] = np.where(jan1, 1, per["bday"])

        # schooling
        sch = cfg.schooling
        p0 = cfg.enrolment.lookup(age, rural)
        eligible = p0 > 0
        pc = np.clip(p0, 1e-6, 1 - 1e-6)
        eta = np.log(pc / (1 - pc)) + float(sch.get("lc_coef", 0.0)) * lc
        fc = sch.get("female_coef", 0.0)
        fcu, fcr = (fc.get("U", 0.0), fc.get("R", 0.0)) if isinstance(fc, dict) else (fc, fc)
        eta = eta + np.where(rural, fcr, fcu) * fem
        in_school = eligible & (rng.random(P) < sigmoid(eta))
        lag = draw_categorical(rng, sch.get("lag_probs", [1.0]), P)
        eff = np.clip(age - lag, 0, 120)
        level = np.where(in_school, self.level_by_age[eff], -1)
        in_school &= level >= 0
        post = in_school & (level == S_HIGHER) & (rng.random(P) < float(sch.get("post_secondary_share", 0.0)))
        level = np.where(post, S_POST, level)
        f = Features(
            {
                "lc": lc,
                "higher": (level >= S_POST).astype(np.float64),
                "female": fem.astype(np.float64),
                "rural": rural.astype(np.float64),
                "urban": (~rural).astype(np.float64),
                "age": age.astype(np.float64),
            }
        )
        private = in_school & draw_logit(rng, cfg.private_lin.eval(f.data, rural))
        per["in_school"], per["school_level"], per["private"] = in_school, level, private

        # education: highest level completed (-1 = not applicable, under 6)
        edu = cfg.education
        z = (
            cfg.edu_cohort.lookup(byear)
            + cfg.edu_female.lookup(byear) * fem
            + float(edu.get("rural", 0.0)) * rural
            + float(edu.get("lc_coef", 0.0)) * lc
            + rng.normal(0.0, float(edu.get("noise_sd", 1.0)), P)
        )
        lvl = (z[:, None] > self.cutpoints[None, :]).sum(axis=1)
        max_by_age = (age[:, None] >= self.edu_min_age[None, :]).sum(axis=1) - 1
        lvl = np.minimum(lvl, max_by_age)
        young = (age >= 6) & (age < 15) & ~in_school
        drop_p = float(sch.get("dropout_primary_completed", 0.5))
        lvl = np.where(young, np.where((age >= 12) & (rng.random(P) < drop_p), 1, 0), lvl)
        lvl = np.where(in_school, _COMPLETED_WHEN_ATTENDING[np.maximum(level, 0)], lvl)
        lvl = np.where(age < 6, -1, lvl)
        per["edu"] = lvl
        lit = cfg.literacy
        lit_p = np.where(in_school, float(lit.get("in_school", 0.97)), self.lit_by_level[np.maximum(lvl, 0)])
        per["literate"] = rng.random(P) < lit_p
        per["lit_known"] = age >= int(lit.get("min_age", 10))

        # occupation
        occ = np.full(P, -1, dtype=np.int64)
        adult = age >= cfg.occ_min_age
        if self.student_idx >= 0:
            occ[adult & in_school] = self.student_idx
        todo = adult & (occ < 0)
        lo, hi = cfg.occ_age
        for sex, fmask in (("M", ~fem), ("F", fem)):
            idx = np.flatnonzero(todo & fmask)
            if not idx.shape[0]:
                continue
            a = age[idx]
            pf = Features(
                {
                    "lc": lc[idx],
                    "edu": np.maximum(lvl[idx], 0).astype(np.float64),
                    "age": a.astype(np.float64),
                    "age60": (a >= 60).astype(np.float64),
                    "head": (rel[idx] == R_HEAD).astype(np.float64),
                    "spouse": (rel[idx] == R_SPOUSE).astype(np.float64),
                    "rural": rural[idx].astype(np.float64),
                    "urban": (~rural[idx]).astype(np.float64),
                }
            )
            u = cfg.occ_choice[sex].utilities(pf.data, rural[idx])
            u[(a[:, None] < lo[None, :]) | (a[:, None] > hi[None, :])] = -np.inf
            bad = ~np.isfinite(u).any(axis=1)
            u[bad, -1] = 0.0  # nobody eligible: fall back to the last code
            occ[idx] = self.occ_map[gumbel_argmax(rng, u)]
        per["occ"] = occ

        # disability
        dis = draw_logit(
            rng,
            cfg.disability_lin.eval(
                {
                    "age": age.astype(np.float64),
                    "female": fem.astype(np.float64),
                    "lc": lc,
                    "rural": rural.astype(np.float64),
                },
                rural,
            ),
        )
        dtype_i = np.full(P, -1, dtype=np.int64)
        sev_i = np.full(P, -1, dtype=np.int64)
        nd = int(dis.sum())
        if nd and len(self.dis_types):
            dtype_i[dis] = draw_categorical(rng, self.dis_type_p, nd)
            sev_i[dis] = draw_categorical(rng, self.dis_sev_p, nd)
        per["dis_type"], per["dis_sev"] = dtype_i, sev_i
        # Paternal orphans: children under 21 of a lone mother who heads the household are often
        # orphans (widowhood); elsewhere rare. Known (not null) for the under-21s only.
        hh, rel = per["hh"], per["rel"]
        head_female = fem[h["head_pos"]][hh]
        lone_mother = head_female & ~h["has_sp"][hh]
        kid = (age < 21) & np.isin(rel, (R_CHILD, R_STEP, R_GRAND))
        per["father_dead"] = kid & (rng.random(P) < np.where(lone_mother, 0.45, 0.01))
        per["father_known"] = age < 21

    # ------------------------------------------------------------------ names

    def _spelling_k(self, rng: np.random.Generator, n_forms: IArray, rate: float) -> IArray:
        k = n_forms.shape[0]
        var = (n_forms > 1) & (rng.random(k) < rate)
        alt = 1 + np.floor(rng.random(k) * np.maximum(n_forms - 1, 1)).astype(np.int64)
        return np.where(var, alt, 0)

    def _names(self, rng: np.random.Generator, h: dict[str, Any], per: dict[str, Any]) -> None:
        nm = self.cfg.names
        P, n = per["P"], h["n"]
        hh, fem, rel = per["hh"], per["female"], per["rel"]
        cohort = np.clip(
            np.searchsorted(nm.cohort_starts, per["byear"], side="right") - 1, 0, len(nm.cohort_starts) - 1
        )
        given = np.empty(P, dtype=np.int64)
        m = ~fem
        given[m] = draw_rows(rng, nm.cum_male, cohort[m])
        given[fem] = draw_rows(rng, nm.cum_female, cohort[fem]) + self.n_male_given
        per["g_e"] = given
        per["g_k"] = self._spelling_k(rng, self.given_n[given], nm.clean_variant_rate)

        def fam_draw(k: int) -> IArray:
            return np.minimum(
                np.searchsorted(self.family_cum, rng.random(k), side="right"), len(self.family_cum) - 1
            )

        f_head, f_spouse, f_absent = fam_draw(n), fam_draw(n), fam_draw(n)
        fresh = fam_draw(P)
        head_male = ~h["head_f"][hh]
        father = np.where(head_male, f_head[hh], np.where(h["has_sp"][hh], f_spouse[hh], f_absent[hh]))
        u = rng.random(P)
        fam = np.select(
            [
                rel == R_HEAD,
                rel == R_SPOUSE,
                (rel == R_CHILD) | (rel == R_STEP),
                rel == R_GRAND,
                rel == R_PARENT,
                rel == R_SIBLING,
                rel == R_OTHER,
            ],
            [
                f_head[hh],
                f_spouse[hh],
                father,
                np.where(head_male & (u < 0.6), f_head[hh], fresh),
                np.where(~fem, f_head[hh], fresh),
                np.where(u < 0.85, f_head[hh], fresh),
                np.where(u < 0.4, f_head[hh], fresh),
            ],
            default=fresh,
        )
        fam_n = nm.family.n[fam]
        k_own = self._spelling_k(rng, fam_n, nm.clean_variant_rate)
        head_k = k_own[h["head_pos"]]
        share = (fam == f_head[hh]) & (rng.random(P) < nm.family_spelling_shared)
        per["f_e"] = fam
        per["f_k"] = np.where(share, head_k[hh], k_own)
        self._parents(rng, h, per)

    def _parents(self, rng: np.random.Generator, h: dict[str, Any], per: dict[str, Any]) -> None:
        """The parents' given names on each record: a child of the head is named after the
        head and the head's (first) spouse, in their spelling; anyone else's parents are drawn
        from the names of the generation born about 28 years earlier. Each parent is named on
        the record with the probability of ``names.parents_named``."""
        nm = self.cfg.names
        P, n = per["P"], h["n"]
        hh, fem, rel, given = per["hh"], per["female"], per["rel"], per["g_e"]
        head_pos = h["head_pos"]
        head_fem = fem[head_pos]
        spouse_pos = np.full(n, -1, dtype=np.int64)
        sp_rows = np.flatnonzero(rel == R_SPOUSE)[::-1]
        spouse_pos[hh[sp_rows]] = sp_rows  # the first spouse of each household wins
        sp_fem = np.where(spouse_pos >= 0, fem[np.maximum(spouse_pos, 0)], False)
        has_sp = spouse_pos >= 0
        male_par = np.where(~head_fem, head_pos, np.where(has_sp & ~sp_fem, spouse_pos, -1))
        female_par = np.where(head_fem, head_pos, np.where(has_sp & sp_fem, spouse_pos, -1))
        cohort = np.clip(
            np.searchsorted(nm.cohort_starts, per["byear"] - 28, side="right") - 1,
            0,
            len(nm.cohort_starts) - 1,
        )
        child = rel == R_CHILD
        named_f, named_m = nm.parents_named
        for key, par, cum, offset, named in (
            ("fa", male_par[hh], nm.cum_male, 0, named_f),
            ("mo", female_par[hh], nm.cum_female, self.n_male_given, named_m),
        ):
            drawn = draw_rows(rng, cum, cohort) + offset
            drawn_k = self._spelling_k(rng, self.given_n[drawn], nm.clean_variant_rate)
            known = child & (par >= 0)
            src = np.maximum(par, 0)
            per[f"{key}_e"] = np.where(known, given[src], drawn)
            per[f"{key}_k"] = np.where(known, per["g_k"][src], drawn_k)
            per[f"{key}_on"] = rng.random(P) < named

    # ------------------------------------------------------------------ identifiers, phones

    def _ids_phones(self, rng: np.random.Generator, h: dict[str, Any], per: dict[str, Any]) -> None:
        P = per["P"]
        age, rural = per["age"], h["rural"][per["hh"]]
        src1 = np.full(P, -1, dtype=np.int64)
        src2 = np.full(P, -1, dtype=np.int64)
        for i, s in enumerate(self.cfg.ids):
            has = rng.random(P) < s.prob.lookup(age, rural)
            m1 = has & (src1 < 0)
            src1[m1] = i
            m2 = has & ~m1 & (src2 < 0)
            src2[m2] = i
        v1 = pl.repeat(None, P, dtype=pl.Utf8, eager=True)
        v2 = pl.repeat(None, P, dtype=pl.Utf8, eager=True)
        for i, stream in enumerate(self.id_streams):
            for src, col in ((src1, 1), (src2, 2)):
                idx = np.flatnonzero(src == i)
                if not idx.shape[0]:
                    continue
                vals = stream.take(idx.shape[0], rng.permutation(idx.shape[0]), per["byear"][idx])
                if col == 1:
                    v1 = v1.scatter(idx, vals)
                else:
                    v2 = v2.scatter(idx, vals)
        per["id1"], per["id2"], per["id1_v"], per["id2_v"] = src1, src2, v1, v2
        # phones
        p0 = self.cfg.phone_prob.lookup(age, rural)
        pc = np.clip(p0, 1e-6, 1 - 1e-6)
        has_phone = (p0 > 0) & (
            rng.random(P) < sigmoid(np.log(pc / (1 - pc)) + self.cfg.phone_lc_coef * h["lc"][per["hh"]])
        )
        idx = np.flatnonzero(has_phone)
        phone = pl.repeat(None, P, dtype=pl.Utf8, eager=True)
        if idx.shape[0]:
            phone = phone.scatter(idx, self.phones.take(rng, idx.shape[0]))
        per["phone"], per["has_phone"] = phone, has_phone

    # ------------------------------------------------------------------ household features

    def _household_features(self, h: dict[str, Any], per: dict[str, Any]) -> Features:
        n = h["n"]
        hh, age = per["hh"], per["age"]
        f: Features = h["feat_base"]
        hp = h["head_pos"]
        ins, priv = per["in_school"], per["private"]

        def count(mask: BArray) -> FArray:
            return np.bincount(hh, weights=mask, minlength=n).astype(np.float64)

        f["lc"] = h["lc"]
        f["logc"] = h["logc"]
        f["size_sq"] = f["size"] ** 2
        f["n_children"] = h["n_children"]
        f["n_elderly"] = h["n_elderly"]
        adults = age >= 15
        f["n_adults"] = count(adults)
        f["n_in_school"] = count(ins)
        f["n_school_private"] = count(ins & priv)
        f["n_school_public"] = count(ins & ~priv)
        a614 = (age >= 6) & (age <= 14)
        f["n_private_6_14"] = count(ins & priv & a614)
        f["n_public_6_14"] = count(ins & ~priv & a614)
        f["head_edu"] = np.maximum(per["edu"][hp], 0).astype(np.float64)
        f["head_literate"] = (per["literate"][hp] & per["lit_known"][hp]).astype(np.float64)
        occ = per["occ"]
        n15 = np.maximum(f["n_adults"], 1)
        for g, member in self.groups.items():
            in_g = (occ >= 0) & member[np.maximum(occ, 0)]
            f[f"head_occ:{g}"] = in_g[hp].astype(np.float64)
            f[f"share_occ:{g}"] = count(in_g & adults) / n15
        f["n_phones"] = count(per["has_phone"])
        f["log1p_phones"] = np.log1p(f["n_phones"])
        f["n_nuclei"] = 1.0 + (h["n_gc"] > 0) + (h["n_par"] == 2)
        f["n_disabled"] = count(per["dis_type"] >= 0)
        return f

    def _coverage(self, rng: np.random.Generator, h: dict[str, Any], feats: Features) -> IArray:
        return self.cfg.coverage.draw(rng, feats, h["rural"])

    # ------------------------------------------------------------------ 5. questionnaire

    def _questionnaire(self, rng: np.random.Generator, h: dict[str, Any], feats: Features) -> dict[str, Any]:
        rural = h["rural"]
        n = h["n"]
        out: dict[str, Any] = {}
        for v in self.cfg.household_vars:
            q = v.question
            applies = np.ones(n, dtype=bool) if not q.milieu else (rural if q.milieu == "R" else ~rural)
            gate = np.ones(n, dtype=bool)
            if v.only_if:
                gate = np.zeros(n, dtype=bool)
                for name in v.only_if:
                    gate |= np.asarray(feats[name]) != 0
            if v.kind == "choice":
                assert v.choice is not None
                idx = v.choice.draw(rng, feats, rural)
                for j, code in enumerate(v.choice.codes):
                    feats[f"{v.name}={code}"] = ((idx == j) & applies).astype(np.float64)
                out[v.name] = ("enum", idx, applies, v.choice.codes)
                continue
            if v.kind == "logit":
                assert v.lin is not None
                val = draw_logit(rng, v.lin.eval(feats, rural)) & gate
                feats[v.name] = (val & applies).astype(np.float64)
                out[v.name] = ("bool", val, applies, None)
                continue
            if v.kind == "feature":
                assert v.feature is not None
                x = np.asarray(feats[v.feature], dtype=np.float64) * gate
            elif v.kind == "count":
                assert v.lin is not None
                lam = np.exp(np.clip(v.lin.eval(feats, rural), -20, 10))
                if v.any is not None:
                    has = draw_logit(rng, v.any.eval(feats, rural))
                    x = np.where(has, max(v.base, 1) + rng.poisson(lam), 0).astype(np.float64)
                else:
                    x = (v.base + rng.poisson(lam)).astype(np.float64)
                x = x * gate
            else:  # amount
                assert v.lin is not None
                has = (
                    draw_logit(rng, v.any.eval(feats, rural)) if v.any is not None else np.ones(n, dtype=bool)
                )
                has &= gate
                val = np.exp(v.lin.eval(feats, rural) + rng.normal(0.0, 1.0, n) * v.sd)
                val = np.round(np.round(val / v.round) * v.round, 6)
                if v.min_positive:
                    val = np.maximum(val, v.min_positive)
                x = np.where(has, val, 0.0)
            lo = q.min if q.min is not None else -np.inf
            hi = q.max if q.max is not None else np.inf
            x = np.clip(x, lo, hi)
            if q.type == "int":
                x = np.rint(x)
            feats[v.name] = np.where(applies, x, 0.0)
            out[v.name] = (q.type, x, applies, None)
        return out

    # ------------------------------------------------------------------ frames

    def _household_frame(
        self, rng: np.random.Generator, h: dict[str, Any], per: dict[str, Any], answers: dict[str, Any]
    ) -> pl.DataFrame:
        n = h["n"]
        rural = h["rural"]
        cols: dict[str, Any] = {
            "_h": np.arange(n, dtype=np.int64),
            "_lc": h["logc"],
            "_region": h["region"],
            "country": pl.repeat(self.cfg.country, n, dtype=pl.Utf8, eager=True),
            "area_code": self.communes.gather(h["commune"]),
            "milieu": pl.Series(np.where(rural, "R", "U")),
            "address": self._addresses(rng, h),
        }
        # household phone: the head's, else (usually) another number
        hp = h["head_pos"]
        head_phone = per["phone"].gather(hp)
        extra = ~per["has_phone"][hp] & (rng.random(n) < self.cfg.household_phone_prob)
        idx = np.flatnonzero(extra)
        if idx.shape[0]:
            head_phone = head_phone.scatter(idx, self.phones.take(rng, idx.shape[0]))
        cols["phone"] = head_phone
        lo, hi = self.cfg.registration_window
        days = _ints_between(rng, np.zeros(n), np.full(n, (hi - lo).days), n)
        cols["registered_on"] = pl.select(
            (pl.lit(lo) + pl.duration(days=pl.lit(pl.Series(days)))).dt.strftime("%Y-%m-%d")
        ).to_series()
        # declarant: the head, or an adult spouse
        sp_pos = hp + 1  # the spouse, when present, sorts right after the head
        has_sp_adult = h["has_sp"] & (per["age"][np.minimum(sp_pos, per["P"] - 1)] >= 18)
        cols["_decl"] = np.where(has_sp_adult & (rng.random(n) < 0.15), 1, 0)
        for q in self.questions:
            if q.name not in answers:
                dtype = {"int": pl.Int64, "decimal": pl.Float64, "bool": pl.Boolean}.get(q.type, pl.Utf8)
                cols[q.name] = pl.repeat(None, n, dtype=dtype, eager=True)
                continue
            kind, val, applies, codes = answers[q.name]
            if kind == "enum":
                s = _codes(codes, np.where(applies, val, -1))
            elif kind == "bool":
                s = _masked(pl.Series(val.astype(bool)), applies)
            elif kind == "int":
                s = _masked(pl.Series(val.astype(np.int64)), applies)
            elif kind == "decimal":
                s = _masked(pl.Series(val.astype(np.float64)), applies)
            else:
                s = _masked(pl.Series(val), applies)
            cols[q.name] = s
        return pl.DataFrame(cols)

    def _addresses(self, rng: np.random.Generator, h: dict[str, Any]) -> pl.Series:
        n = h["n"]
        cfg = self.cfg
        rural = h["rural"]
        addr = cfg.address
        num_lo, num_hi = addr.get("num", [1, 200])
        n2_lo, n2_hi = addr.get("num2", [1, 30])
        frame = pl.DataFrame(
            {
                "num": pl.Series(_ints_between(rng, np.full(n, num_lo), np.full(n, num_hi), n)).cast(pl.Utf8),
                "num2": pl.Series(_ints_between(rng, np.full(n, n2_lo), np.full(n, n2_hi), n)).cast(pl.Utf8),
                "commune": self.commune_names.gather(h["commune"]),
                "region": self.region_codes.gather(h["region"]),
            }
        )
        for name, values in cfg.address_lists.items():
            if values:
                frame = frame.with_columns(
                    pl.Series(name, list(values), dtype=pl.Utf8).gather(
                        np.floor(rng.random(n) * len(values)).astype(np.int64)
                    )
                )
        out = pl.repeat(None, n, dtype=pl.Utf8, eager=True)
        for m, mask in (("U", ~rural), ("R", rural)):
            temps = cfg.address_templates.get(m) or ()
            if not temps:
                continue
            w = np.array([t.weight for t in temps])
            choice = draw_categorical(rng, w, n)
            for j, t in enumerate(temps):
                idx = np.flatnonzero(mask & (choice == j))
                if not idx.shape[0]:
                    continue
                exprs: list[pl.Expr] = []
                for lit, ph in t.parts:
                    if lit:
                        exprs.append(pl.lit(lit))
                    if ph:
                        exprs.append(pl.col(ph))
                vals = frame[idx].select(pl.concat_str(exprs).alias("a")).to_series()
                out = out.scatter(idx, vals)
        return out

    def _person_frame(self, h: dict[str, Any], per: dict[str, Any]) -> pl.DataFrame:
        P = per["P"]
        p = self.cfg.profile
        g_flat = self.given_off[per["g_e"]] + per["g_k"]
        f_flat = self.cfg.names.family.off[per["f_e"]] + per["f_k"]
        id_names = tuple(s.type for s in self.cfg.ids)
        ins = per["in_school"]
        cols: dict[str, Any] = {
            "_h": per["hh"],
            "_row": np.arange(P, dtype=np.int64),
            "_age": per["age"],
            "_rel": per["rel"],
            "_g_e": per["g_e"],
            "_g_k": per["g_k"],
            "_f_e": per["f_e"],
            "_f_k": per["f_k"],
            "_by": per["byear"],
            "_bm": per["bmonth"],
            "_bd": per["bday"],
            "_fa_e": per["fa_e"],
            "_fa_k": per["fa_k"],
            "_mo_e": per["mo_e"],
            "_mo_k": per["mo_k"],
            "relationship": _codes(REL, per["rel"]),
            "given_name_lat": self.given_spell.gather(g_flat),
            "family_name_lat": self.family_spell.gather(f_flat),
            "given_name_ar": self.given_ar.gather(per["g_e"]),
            "family_name_ar": self.family_ar.gather(per["f_e"]),
            **{
                f"{parent}_name_{script}": _masked(col, per[f"{key}_on"])
                for parent, key in (("father", "fa"), ("mother", "mo"))
                for script, col in (
                    ("lat", self.given_spell.gather(self.given_off[per[f"{key}_e"]] + per[f"{key}_k"])),
                    ("ar", self.given_ar.gather(per[f"{key}_e"])),
                )
            },
            "sex": pl.Series(np.where(per["female"], "F", "M")),
            "birth_date": _date_str(per["byear"], per["bmonth"], per["bday"]),
            "birth_date_approx": pl.Series(per["approx"]),
            "id_type": _codes(id_names, per["id1"]),
            "id_value": per["id1_v"],
            "id2_type": _codes(id_names, per["id2"]),
            "id2_value": per["id2_v"],
            "vital_status": pl.repeat("ALIVE", P, dtype=pl.Utf8, eager=True),
            "disability_type": _codes(self.dis_types, per["dis_type"]).fill_null("NONE"),
            "disability_severity": _codes(self.dis_sev, per["dis_sev"]),
            "in_school": _masked(pl.Series(ins), per["age"] >= 3),
            "school_sector": _codes(
                ("PUBLIC", "PRIVATE"), np.where(ins, per["private"].astype(np.int64), -1)
            ),
            "school_level": _codes(SCHOOL, np.where(ins, per["school_level"], -1)),
            "education_level": _codes(EDU, per["edu"]),
            "literate": _masked(pl.Series(per["literate"]), per["lit_known"]),
            "father_deceased": _masked(pl.Series(per["father_dead"]), per["father_known"]),
            "occupation": _codes(p.enums.get("occupation", ()), per["occ"]),
            "health_coverage": _codes(self.cov_codes, per["cov"]),
            "phone": per["phone"],
        }
        return pl.DataFrame(cols)

    # ------------------------------------------------------------------ 6. duplicates

    def _with_duplicates(
        self,
        rng: np.random.Generator,
        h: dict[str, Any],
        per: dict[str, Any],
        hdf: pl.DataFrame,
        pdf: pl.DataFrame,
    ) -> dict[str, pl.DataFrame]:
        n, P = h["n"], per["P"]
        size = h["size"]
        target = int(rng.binomial(P, min(self.dup_rate, 1.0)))
        # whole households first
        order = rng.permutation(n)
        cum = np.cumsum(size[order])
        k_h = int(np.searchsorted(cum, HOUSEHOLD_DUP_SHARE * target, side="right"))
        dup_h = np.sort(order[:k_h])
        hd = self._dup_households(rng, dup_h, n, hdf)
        member = np.isin(per["hh"], dup_h)
        mrows = np.flatnonzero(member)
        # drop one non-head member of some duplicated households (partial duplicates)
        new_h = np.searchsorted(dup_h, per["hh"][mrows]) + n
        drop = np.zeros(mrows.shape[0], dtype=bool)
        cand = (per["rel"][mrows] != R_HEAD) & (size[per["hh"][mrows]] >= 3)
        ci = np.flatnonzero(cand)
        if ci.shape[0]:
            pick_h = rng.random(k_h) < 0.3
            # within each duplicated household, drop its last eligible member
            last = np.full(k_h, -1, dtype=np.int64)
            last[new_h[ci] - n] = ci  # later rows overwrite earlier ones
            chosen = last[(last >= 0) & pick_h]
            drop[chosen] = True
        mrows, new_h = mrows[~drop], new_h[~drop]
        hm = pdf[mrows].with_columns(pl.Series("_h", new_h), pl.lit("household").alias("_kind"))
        hm = self._noise(rng, hm, NOISE_COUNT_HOUSEHOLD_MEMBER)
        # single persons into other households
        k_p = max(target - mrows.shape[0], 0)
        pool = np.flatnonzero(~member)
        k_p = min(k_p, pool.shape[0]) if n > 1 else 0
        prow = np.sort(rng.choice(pool, size=k_p, replace=False)) if k_p else np.zeros(0, dtype=np.int64)
        own = per["hh"][prow]
        dest = (own + 1 + np.floor(rng.random(k_p) * (n - 1)).astype(np.int64)) % max(n, 1)
        rel = np.where(rng.random(k_p) < 0.8, R_OTHER, R_NONREL)
        pm = pdf[prow].with_columns(
            pl.Series("_h", dest),
            pl.Series("_rel", rel),
            _codes(REL, rel).alias("relationship"),
            pl.lit("person").alias("_kind"),
        )
        pm = self._noise(rng, pm, NOISE_COUNT_PERSON)
        dups = pl.concat([hm, pm], how="vertical_relaxed")
        dups = dups.with_columns(pl.col("_row").alias("_src"), (pl.int_range(pl.len()) + P).alias("_row"))
        hdf = hdf.with_columns(pl.lit(None, dtype=pl.Utf8).alias("_hnoise"))
        return self._finalise(
            rng, pl.concat([hdf, hd.select(hdf.columns)], how="vertical_relaxed"), pdf, dups, dup_h
        )

    def _dup_households(
        self, rng: np.random.Generator, dup_h: IArray, n: int, hdf: pl.DataFrame
    ) -> pl.DataFrame:
        k = int(dup_h.shape[0])
        d = hdf[dup_h].with_columns(
            pl.Series("_h", n + np.arange(k, dtype=np.int64)), pl.lit(0, dtype=pl.Int64).alias("_decl")
        )
        if not k:
            return d.with_columns(pl.lit(None, dtype=pl.Utf8).alias("_hnoise"))
        noise_tags: list[pl.Expr] = []
        exprs: list[pl.Expr] = []
        # questionnaire answers re-declared with small differences
        for v in self.cfg.household_vars:
            q = v.question
            u = pl.Series(rng.random(size=k))
            if q.type == "int" and v.kind != "feature":
                step = pl.Series(np.where(rng.random(k) < 0.5, -1, 1))
                ilo = int(q.min) if q.min is not None else -(2**62)
                ihi = int(q.max) if q.max is not None else 2**62
                exprs.append(
                    pl.when(u < 0.15)
                    .then((pl.col(q.name) + step).clip(ilo, ihi))
                    .otherwise(pl.col(q.name))
                    .alias(q.name)
                )
            elif q.type == "decimal":
                f = pl.Series(np.exp(rng.normal(0, 0.15, k)))
                r = v.round or 1.0
                flo = float(q.min) if q.min is not None else -np.inf
                fhi = float(q.max) if q.max is not None else np.inf
                exprs.append(
                    pl.when(u < 0.5)
                    .then(((pl.col(q.name) * f / r).round(0) * r).round(6).clip(flo, fhi))
                    .otherwise(pl.col(q.name))
                    .alias(q.name)
                )
            elif q.type == "bool":
                exprs.append(pl.when(u < 0.03).then(~pl.col(q.name)).otherwise(pl.col(q.name)).alias(q.name))
        if exprs:
            before = d
            d = d.with_columns(exprs)
            changed = pl.any_horizontal(
                [d[c].ne_missing(before[c]) for c in (e.meta.output_name() for e in exprs)]
            )
            noise_tags.append(pl.when(changed).then(pl.lit("answers_changed")))
        keep_phone = pl.Series(rng.random(size=k) < 0.7)
        keep_addr = pl.Series(rng.random(size=k) < 0.7)
        lo, hi = self.cfg.registration_window
        days = _ints_between(rng, np.zeros(k), np.full(k, (hi - lo).days), k)
        d = d.with_columns(
            pl.when(keep_phone).then(pl.col("phone")).otherwise(None).alias("phone"),
            pl.when(keep_addr).then(pl.col("address")).otherwise(None).alias("address"),
            (pl.lit(lo) + pl.duration(days=pl.lit(pl.Series(days))))
            .dt.strftime("%Y-%m-%d")
            .alias("registered_on"),
        )
        noise_tags.append(pl.when(~keep_phone).then(pl.lit("phone_missing")))
        noise_tags.append(pl.when(~keep_addr).then(pl.lit("address_missing")))
        return d.with_columns(pl.concat_str(noise_tags, separator=";", ignore_nulls=True).alias("_hnoise"))

    def _noise(self, rng: np.random.Generator, d: pl.DataFrame, count_p: list[float]) -> pl.DataFrame:
        """Apply realistic noise to duplicate person records (rows of the persons frame)."""
        k = d.height
        if not k:
            return d.with_columns(pl.lit("").alias("_noise"))
        ops = list(NOISE_OPS)
        if not self.arabic:
            ops.remove("arabic_variant")
        w = np.array([NOISE_OPS[o] for o in ops])
        n_ops = draw_categorical(rng, count_p, k)
        keys = rng.random((k, len(ops))) ** (1.0 / w[None, :])
        rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
        sel = {o: rank[:, j] < n_ops for j, o in enumerate(ops)}
        tags: dict[str, pl.Series] = {}
        g_e, g_k = d["_g_e"].to_numpy(), d["_g_k"].to_numpy()
        f_e, f_k = d["_f_e"].to_numpy(), d["_f_k"].to_numpy()
        given = d["given_name_lat"]
        family = d["family_name_lat"]
        # 1. another known Latin spelling of the given or family name
        on_given = rng.random(k) < 0.5
        gn, fn = self.given_n[g_e], self.cfg.names.family.n[f_e]
        s = sel["latin_variant"]
        use_g = s & np.where(on_given, gn > 1, fn <= 1) & (gn > 1)
        use_f = s & ~use_g & (fn > 1)
        new_gk = np.where(
            use_g, (g_k + 1 + np.floor(rng.random(k) * np.maximum(gn - 1, 1)).astype(np.int64)) % gn, g_k
        )
        new_fk = np.where(
            use_f, (f_k + 1 + np.floor(rng.random(k) * np.maximum(fn - 1, 1)).astype(np.int64)) % fn, f_k
        )
        given = self.given_spell.gather(self.given_off[g_e] + new_gk)
        family = self.family_spell.gather(self.cfg.names.family.off[f_e] + new_fk)
        tags["latin_variant"] = pl.Series(use_g | use_f)
        # 2. one typing error in a Latin name (substitution, deletion, insertion, transposition)
        s = sel["typo"]
        on_given = rng.random(k) < 0.5
        target = pl.select(pl.when(pl.Series(on_given)).then(given).otherwise(family)).to_series()
        typo = self._typo(rng, target)
        hit = pl.Series(s) & (typo != target).fill_null(False)
        given = pl.select(pl.when(hit & pl.Series(on_given)).then(typo).otherwise(given)).to_series()
        family = pl.select(pl.when(hit & ~pl.Series(on_given)).then(typo).otherwise(family)).to_series()
        tags["typo"] = hit
        out = {"given_name_lat": given, "family_name_lat": family}
        # 3. Arabic spelling variant
        if "arabic_variant" in sel and self.cfg.arabic_variants:
            s = sel["arabic_variant"]
            g_ar, f_ar = d["given_name_ar"], d["family_name_ar"]
            on_given = rng.random(k) < 0.5
            new_g, new_f = g_ar, f_ar
            rules = self.cfg.arabic_variants
            order = np.argsort(rng.random((k, len(rules))), axis=1)
            done = np.zeros(k, dtype=bool)
            for attempt in range(len(rules)):
                for fld in (0, 1):
                    src = new_g if (fld == 0) else new_f
                    want = s & ~done & ((on_given if fld == 0 else ~on_given) | (attempt > 0))
                    for r_i, (pat, repl) in enumerate(rules):
                        m = want & (order[:, attempt] == r_i)
                        if not m.any():
                            continue
                        cand = src.str.replace(pat, repl)
                        changed = (cand != src).fill_null(False).to_numpy() & m
                        if changed.any():
                            upd = pl.select(pl.when(pl.Series(changed)).then(cand).otherwise(src)).to_series()
                            if fld == 0:
                                new_g = upd
                            else:
                                new_f = upd
                            src = upd
                            done |= changed
            out["given_name_ar"], out["family_name_ar"] = new_g, new_f
            tags["arabic_variant"] = pl.Series(done)
        # 3b. the parents' names: not given again, or spelled another known way
        for parent, key in (("father", "fa"), ("mother", "mo")):
            lat, ar = d[f"{parent}_name_lat"], d[f"{parent}_name_ar"]
            named = (lat.is_not_null() | ar.is_not_null()).to_numpy()
            u = rng.random(k)
            drop = named & (u < PARENT_DROPPED)
            e, kk = d[f"_{key}_e"].to_numpy(), d[f"_{key}_k"].to_numpy()
            pn = self.given_n[e]
            respell = (
                named
                & ~drop
                & (u < PARENT_DROPPED + PARENT_RESPELLED)
                & (pn > 1)
                & lat.is_not_null().to_numpy()
            )
            new_k = np.where(
                respell, (kk + 1 + np.floor(rng.random(k) * np.maximum(pn - 1, 1)).astype(np.int64)) % pn, kk
            )
            new_lat = self.given_spell.gather(self.given_off[e] + new_k)
            out[f"{parent}_name_lat"] = pl.select(
                pl.when(pl.Series(drop)).then(None).when(pl.Series(respell)).then(new_lat).otherwise(lat)
            ).to_series()
            out[f"{parent}_name_ar"] = pl.select(
                pl.when(pl.Series(drop)).then(None).otherwise(ar)
            ).to_series()
            tags[f"{parent}_missing"] = pl.Series(drop)
            tags[f"{parent}_variant"] = pl.Series(respell)
        # 4. birth date: day and month swapped, or year only
        by, bm, bd = d["_by"].to_numpy(), d["_bm"].to_numpy(), d["_bd"].to_numpy()
        swap_ok = (bd <= 12) & (bd != bm)
        swapped_date = by * 10000 + bd * 100 + bm
        ref_num = self.ref.year * 10000 + self.ref.month * 100 + self.ref.day
        swap = sel["date_swap"] & swap_ok & (swapped_date <= ref_num) & ~sel["year_only"]
        yonly = sel["year_only"]
        bdate = _date_str(by, np.where(swap, bd, bm), np.where(swap, bm, bd))
        bdate = pl.select(
            pl.when(pl.Series(yonly)).then(pl.Series(by).cast(pl.Utf8)).otherwise(bdate)
        ).to_series()
        out["birth_date"] = bdate
        out["birth_date_approx"] = pl.select(
            pl.when(pl.Series(yonly)).then(True).otherwise(d["birth_date_approx"])
        ).to_series()
        tags["date_swap"] = pl.Series(swap)
        tags["year_only"] = pl.Series(yonly)
        # 5. identifiers. The second registration never carries the original's number as it
        # is: intake would catch that (docs/identity.md). A person keeps one CNIE or NINA for
        # life, so the duplicate carries none (not declared, or another document), or the same
        # number mistyped by the agent (ID_MISTYPED_SHARE of the records the "id_missing"
        # noise spares). A type with a check digit cannot be mistyped past validation, so it
        # is left out.
        has_id = d["id_value"].is_not_null().to_numpy() | d["id2_value"].is_not_null().to_numpy()
        miss = (sel["id_missing"] | (rng.random(k) >= ID_MISTYPED_SHARE)) & has_id
        kept = np.zeros(k, dtype=bool)
        for tcol, vcol in (("id_type", "id_value"), ("id2_type", "id2_value")):
            types = d[tcol]
            vals = pl.repeat(None, k, dtype=pl.Utf8, eager=True)
            for stream in self.id_streams:
                if not stream.can_mistype:
                    continue
                idx = np.flatnonzero((types == stream.spec.type).fill_null(False).to_numpy() & ~miss)
                if idx.shape[0]:
                    vals = vals.scatter(idx, stream.mistype(rng, d[vcol].gather(idx)))
            out[vcol] = vals
            out[tcol] = pl.select(pl.when(vals.is_null()).then(None).otherwise(types)).to_series()
            kept |= vals.is_not_null().to_numpy()
        tags["id_missing"] = pl.Series(has_id & ~kept)
        tags["id_mistyped"] = pl.Series(kept)
        # phone: often a different (or no) number on the other record
        keep_phone = rng.random(k) < 0.6
        out["phone"] = pl.select(pl.when(pl.Series(keep_phone)).then(d["phone"]).otherwise(None)).to_series()
        tags["phone_missing"] = pl.Series(~keep_phone) & d["phone"].is_not_null()
        noise = pl.select(
            pl.concat_str(
                [pl.when(t).then(pl.lit(name)) for name, t in tags.items()], separator=";", ignore_nulls=True
            )
        ).to_series()
        return d.with_columns([s.alias(c) for c, s in out.items()]).with_columns(noise.alias("_noise"))

    def _typo(self, rng: np.random.Generator, s: pl.Series) -> pl.Series:
        k = s.len()
        length = s.str.len_chars().to_numpy().astype(np.int64)
        kind = rng.integers(0, 4, k)
        pos = 1 + np.floor(rng.random(k) * np.maximum(length - 2, 1)).astype(
            np.int64
        )  # never the first letter
        ch = pl.Series(_ALPHABET[rng.integers(0, 26, k)])
        df = pl.DataFrame({"s": s, "p": pos, "c": ch, "t": kind, "L": length})
        c, p = pl.col("s"), pl.col("p")
        head = c.str.slice(0, p)
        expr = (
            pl.when(pl.col("L") < 3)
            .then(c)
            .when(pl.col("t") == 0)
            .then(pl.concat_str([head, pl.col("c"), c.str.slice(p + 1)]))
            .when(pl.col("t") == 1)
            .then(pl.concat_str([head, c.str.slice(p + 1)]))
            .when(pl.col("t") == 2)
            .then(pl.concat_str([head, pl.col("c"), c.str.slice(p)]))
            .otherwise(pl.concat_str([head, c.str.slice(p + 1, 1), c.str.slice(p, 1), c.str.slice(p + 2)]))
        )
        return df.select(expr.alias("s")).to_series()

    # ------------------------------------------------------------------ 7. order, refs

    def _finalise(
        self,
        rng: np.random.Generator,
        hdf: pl.DataFrame,
        pdf: pl.DataFrame,
        dups: pl.DataFrame | None,
        dup_h: IArray | None,
    ) -> dict[str, pl.DataFrame]:
        n_rows = hdf.height
        if dups is not None:
            pos = rng.permutation(n_rows)  # duplicates land at random places in the chunk
            base = pdf.with_columns(
                pl.lit(-1, dtype=pl.Int64).alias("_src"),
                pl.lit(None, dtype=pl.Utf8).alias("_noise"),
                pl.lit(None, dtype=pl.Utf8).alias("_kind"),
            )
            persons = pl.concat([base, dups.select(base.columns)], how="vertical_relaxed")
        else:
            pos = np.arange(n_rows)
            persons = pdf
        hh_ref = ("HH" + pl.Series(self.hh_written + pos + 1).cast(pl.Utf8).str.zfill(8)).alias(
            "household_ref"
        )
        hdf = hdf.with_columns(pl.Series("_pos", pos), hh_ref)
        ref_by_h = hdf.select("_h", "_pos", "household_ref").sort("_h")
        persons = persons.with_columns(
            ref_by_h["_pos"].gather(persons["_h"]).alias("_pos"),
            ref_by_h["household_ref"].gather(persons["_h"]).alias("household_ref"),
        )
        persons = persons.sort(["_pos", "_rel", "_age", "_row"], descending=[False, False, True, False])
        persons = persons.with_columns(
            ("P" + (pl.int_range(pl.len()) + self.p_written + 1).cast(pl.Utf8).str.zfill(9)).alias(
                "person_ref"
            )
        )
        # declarant
        heads = persons.filter((pl.col("_rel") == R_HEAD) & (pl.col("_age") >= 18)).select(
            "_h", pl.col("person_ref").alias("_head_ref")
        )
        spouses = (
            persons.filter((pl.col("_rel") == R_SPOUSE) & (pl.col("_age") >= 18))
            .group_by("_h")
            .agg(pl.col("person_ref").first().alias("_sp_ref"))
        )
        hdf = (
            hdf.join(heads, on="_h", how="left")
            .join(spouses, on="_h", how="left")
            .with_columns(
                pl.when((pl.col("_decl") == 1) & pl.col("_sp_ref").is_not_null())
                .then(pl.col("_sp_ref"))
                .otherwise(pl.col("_head_ref"))
                .alias("declarant_ref")
            )
            .sort("_pos")
        )
        out: dict[str, pl.DataFrame] = {}
        qcols = [q.name for q in self.questions]
        out["households"] = hdf.select(HOUSEHOLD_CORE + qcols)
        out["persons"] = persons.select(PERSON_COLUMNS)
        out["truth"] = hdf.select(
            "household_ref",
            pl.col("_lc").round(6).alias("log_consumption_pc"),
            pl.col("_lc").exp().round(2).alias("consumption_pc"),
            "milieu",
            self.region_codes.gather(hdf["_region"]).alias("region"),
        )
        if dups is not None:
            refs = persons.select("_row", "person_ref").sort("_row")
            d = persons.filter(pl.col("_src") >= 0)
            out["dup_persons"] = d.select(
                refs["person_ref"].gather(d["_src"]).alias("person_ref_a"),
                pl.col("person_ref").alias("person_ref_b"),
                pl.col("_kind").alias("kind"),
                pl.col("_noise").alias("noise"),
            ).sort("person_ref_a", "person_ref_b")
            n_orig = n_rows - (dup_h.shape[0] if dup_h is not None else 0)
            hd = hdf.filter(pl.col("_h") >= n_orig).sort("_h")
            out["dup_households"] = hd.select(
                ref_by_h["household_ref"].gather(pl.Series(dup_h, dtype=pl.Int64)).alias("household_ref_a"),
                pl.col("household_ref").alias("household_ref_b"),
                pl.col("_hnoise").alias("noise"),
            ).sort("household_ref_a")
            self.dup_h += hd.height
            self.dup_p += d.height
        self.hh_written += n_rows
        self.p_written += persons.height
        return out


# ============================================================================ writing


class _Writer:
    def __init__(self, out: Path, fmt: str) -> None:
        self.out = out
        self.fmt = fmt
        self.handles: dict[str, Any] = {}
        self.paths: dict[str, Path] = {}
        self.schemas: dict[str, Any] = {}

    def write(self, name: str, df: pl.DataFrame, fmt: str) -> None:
        path = self.out / f"{name}.{'parquet' if fmt == 'parquet' else 'csv'}"
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = df.to_arrow(compat_level=pl.CompatLevel.oldest())
            if name not in self.handles:
                fields = []
                for f in table.schema:
                    t = (
                        pa.string()
                        if pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type)
                        else f.type
                    )
                    fields.append(pa.field(f.name, t))
                self.schemas[name] = pa.schema(fields)
                self.handles[name] = pq.ParquetWriter(str(path), self.schemas[name], compression="zstd")
                self.paths[name] = path
            self.handles[name].write_table(table.cast(self.schemas[name]))
        else:
            if name not in self.handles:
                self.handles[name] = open(path, "wb")
                self.paths[name] = path
                df.write_csv(self.handles[name], include_header=True)
            else:
                df.write_csv(self.handles[name], include_header=False)

    def close(self) -> None:
        for h in self.handles.values():
            h.close()
        self.handles.clear()


def generate(
    country: str,
    households: int,
    seed: int,
    out: Path,
    *,
    duplicate_rate: float = 0.0,
    fmt: str = "csv",
    chunk_size: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> SynthSummary:
    """Generate a synthetic population of ``households`` households for ``country``.

    ``progress(n)`` is called after each chunk with the number of (original) households
    written by that chunk, so the calls add up to ``households``.
    """
    t0 = time.perf_counter()
    if households < 0:
        raise ValueError("households must be >= 0")
    if seed < 0:
        raise ValueError("seed must be >= 0")
    if not 0.0 <= duplicate_rate <= 1.0:
        raise ValueError("duplicate_rate must be between 0 and 1")
    if fmt not in ("csv", "parquet"):
        raise ValueError("fmt must be 'csv' or 'parquet'")
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    cfg = load_config(country)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    eng = _Engine(cfg, seed, duplicate_rate)
    w = _Writer(out, fmt)
    if households == 0:  # header-only files, from a throw-away one-household chunk
        for name, frame in _Engine(cfg, seed, duplicate_rate).chunk(0, 1).items():
            target = {"dup_persons": "duplicates_truth", "dup_households": "duplicates_households_truth"}
            kind = fmt if name in ("households", "persons") else "csv"
            w.write(target.get(name, name), frame.clear(), kind)

    def write_chunk(res: dict[str, pl.DataFrame]) -> None:
        w.write("households", res["households"], fmt)
        w.write("persons", res["persons"], fmt)
        w.write("truth", res["truth"], "csv")
        if "dup_persons" in res:
            w.write("duplicates_truth", res["dup_persons"], "csv")
            w.write("duplicates_households_truth", res["dup_households"], "csv")

    # One writer thread overlaps the writing of chunk i with the generation of chunk i+1
    # (Polars and NumPy release the GIL); writes stay strictly in order.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synth-writer")
    pending: tuple[Future[None], int] | None = None
    try:
        done = 0
        ci = 0
        while done < households:
            n = min(chunk_size, households - done)
            res = eng.chunk(ci, n)
            if pending is not None:
                pending[0].result()
                if progress is not None:
                    progress(pending[1])
            pending = (pool.submit(write_chunk, res), n)
            done += n
            ci += 1
        if pending is not None:
            pending[0].result()
            if progress is not None:
                progress(pending[1])
    finally:
        pool.shutdown(wait=True)
        w.close()
    files = dict(w.paths)
    manifest = {
        "country": cfg.country,
        "seed": seed,
        "households": households,
        "household_rows": eng.hh_written,
        "persons": eng.p_written,
        "duplicate_rate": duplicate_rate,
        "duplicate_households": eng.dup_h,
        "duplicate_persons": eng.dup_p,
        "format": fmt,
        "format_version": FORMAT_VERSION,
        "generator": "sijill.synth",
        "generator_version": GENERATOR_VERSION,
        "chunk_size": chunk_size,
        "reference_date": cfg.reference_date.isoformat(),
        "files": {k: p.name for k, p in sorted(files.items())},
    }
    mpath = out / "manifest.json"
    mpath.write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    files["manifest"] = mpath
    return SynthSummary(
        country=cfg.country,
        seed=seed,
        households=households,
        persons=eng.p_written,
        duplicate_households=eng.dup_h,
        duplicate_persons=eng.dup_p,
        household_rows=eng.hh_written,
        format=fmt,
        files=files,
        elapsed_s=time.perf_counter() - t0,
    )
