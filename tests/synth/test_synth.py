"""Synthetic population generator (sijill.synth): determinism, validity of every row
against docs/import-format.md, census-like aggregates, consumption/asset correlation,
duplicates and the Mali profile. Plain pytest, no database."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from rapidfuzz.distance import OSA

from sijill.core import enums
from sijill.countries import get_profile
from sijill.synth import SynthSummary, generate

ARABIC = re.compile(r"[\u0600-\u06FF]")
TODAY = dt.date.today()


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


def _read(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    h = pl.read_csv(folder / "households.csv", infer_schema=False)
    p = pl.read_csv(folder / "persons.csv", infer_schema=False)
    return h, p


@pytest.fixture(scope="module")
def ma20k(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    out = tmp_path_factory.mktemp("ma20k")
    return out, generate("ma", 20_000, 11, out, chunk_size=7_000)


@pytest.fixture(scope="module")
def ma_dups(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    out = tmp_path_factory.mktemp("madup")
    return out, generate("ma", 6_000, 5, out, duplicate_rate=0.05, chunk_size=2_500)


@pytest.fixture(scope="module")
def ml5k(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    out = tmp_path_factory.mktemp("ml5k")
    return out, generate("ml", 5_000, 3, out, duplicate_rate=0.03)


# ----------------------------------------------------------------------------- validity


def _birth_bounds(s: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest possible birth date of each value (YYYY-MM-DD or YYYY)."""
    full = s.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    year = s.str.extract(r"^(\d{4})$", 1).cast(pl.Int32, strict=False)
    lo = pl.select(pl.coalesce(full, pl.date(year, 1, 1))).to_series()
    hi = pl.select(pl.coalesce(full, pl.date(year, 12, 31))).to_series()
    assert lo.null_count() == 0, "unparseable birth dates"
    return lo.to_numpy().astype("datetime64[D]"), hi.to_numpy().astype("datetime64[D]")


def _years_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whole calendar years from date a to date b."""
    ay = a.astype("datetime64[Y]").astype(int)
    by = b.astype("datetime64[Y]").astype(int)
    am = a.astype("datetime64[M]").astype(int) % 12
    bm = b.astype("datetime64[M]").astype(int) % 12
    ad = (a - a.astype("datetime64[M]").astype("datetime64[D]")).astype(int)
    bd = (b - b.astype("datetime64[M]").astype("datetime64[D]")).astype(int)
    return by - ay - ((bm < am) | ((bm == am) & (bd < ad)))


def check_import_rules(folder: Path, country: str, questionnaire_sample: int = 1500) -> None:
    """Every documented rule of docs/import-format.md, checked independently of the importer."""
    profile = get_profile(country)
    h, p = _read(folder)
    qn = profile.questionnaire
    core_h = [
        "household_ref",
        "country",
        "area_code",
        "milieu",
        "address",
        "phone",
        "registered_on",
        "declarant_ref",
    ]
    assert set(h.columns) <= set(core_h) | {q.name for q in qn.questions}
    # households
    assert h["household_ref"].n_unique() == h.height
    assert h["household_ref"].str.len_chars().max() <= 64
    assert (h["country"] == profile.code).all()
    lowest = {a.code: a for a in profile.areas if a.level == profile.lowest_level}
    assert h["area_code"].is_in(list(lowest)).all(), "unknown area codes"
    assert h["milieu"].is_in(["U", "R"]).all()
    area_milieu = h["area_code"].replace_strict({c: a.milieu for c, a in lowest.items()}, default=None)
    known = area_milieu.is_not_null()
    assert (h["milieu"].filter(known) == area_milieu.filter(known)).all(), "milieu disagrees with the commune"
    phones = h["phone"].drop_nulls()
    assert phones.str.contains(profile.phone_pattern).all()
    assert (h["address"].drop_nulls().str.len_chars() <= 255).all()
    reg = h["registered_on"].str.strptime(pl.Date, "%Y-%m-%d")
    assert reg.null_count() == 0 and reg.max() <= TODAY
    # questionnaire values, through the profile's own validator
    sample = h.head(questionnaire_sample) if questionnaire_sample else h
    for row in sample.iter_rows(named=True):
        answers = {q.name: row.get(q.name) for q in qn.questions}
        _, errors = qn.validate(answers, row["milieu"])
        assert not errors, (row["household_ref"], errors)
    # persons
    assert p["person_ref"].n_unique() == p.height
    assert p["household_ref"].is_in(h["household_ref"].implode()).all()
    assert h["household_ref"].is_in(p["household_ref"].implode()).all(), "household without members"
    assert p["relationship"].is_in(list(enums.RELATIONSHIP)).all()
    heads = p.filter(pl.col("relationship") == "HEAD")
    assert heads.height == h.height and heads["household_ref"].n_unique() == h.height, (
        "exactly one HEAD per household"
    )
    for c in ("given_name_lat", "family_name_lat", "given_name_ar", "family_name_ar"):
        assert (p[c].drop_nulls().str.len_chars() <= 100).all()
    for c in ("given_name_ar", "family_name_ar"):
        assert p[c].drop_nulls().map_elements(lambda v: bool(ARABIC.search(v)), return_dtype=pl.Boolean).all()
    for c in ("given_name_lat", "family_name_lat"):
        assert p[c].null_count() == 0
        assert not p[c].map_elements(lambda v: bool(ARABIC.search(v)), return_dtype=pl.Boolean).any()
    assert p["sex"].is_in(["M", "F"]).all()
    lo, hi = _birth_bounds(p["birth_date"])
    assert (hi <= np.datetime64(TODAY)).all() and (lo >= np.datetime64("1900-01-01")).all()
    assert p["vital_status"].is_in(["ALIVE"]).all()
    # identifiers: both or neither, valid, unique across the file, min age
    ages_hi = _years_between(hi, np.full(hi.shape, np.datetime64(TODAY)))
    seen: list[pl.DataFrame] = []
    for tcol, vcol in (("id_type", "id_value"), ("id2_type", "id2_value")):
        assert (p[tcol].is_null() == p[vcol].is_null()).all()
        for code, it in profile.id_types.items():
            mask = (p[tcol] == code).fill_null(False).to_numpy()
            for v in p[vcol].filter(pl.Series(mask)).to_list():
                assert it.validate(v) is None, (code, v, it.validate(v))
            if it.min_age is not None:
                assert (ages_hi[mask] >= it.min_age).all()
        assert p[tcol].drop_nulls().is_in(list(profile.id_types)).all()
        seen.append(p.select(pl.col(tcol).alias("t"), pl.col(vcol).alias("v")).drop_nulls())
    ids = pl.concat(seen)
    assert ids.n_unique() == ids.height, "an identifier appears twice in the file"
    # disability, schooling, codes
    dis = p["disability_type"]
    assert dis.is_in(list(enums.DISABILITY_TYPE)).all()
    sev = p["disability_severity"]
    disabled = (dis != "NONE").to_numpy()
    assert sev.filter(pl.Series(disabled)).is_in(["MILD", "MODERATE", "SEVERE", "COMPLETE"]).all()
    assert sev.filter(pl.Series(~disabled)).null_count() == int((~disabled).sum())
    ins = (p["in_school"] == "true").fill_null(False)
    assert p["in_school"].drop_nulls().is_in(["true", "false"]).all()
    assert p["school_sector"].filter(ins).is_in(["PUBLIC", "PRIVATE"]).all()
    assert p["school_level"].filter(ins).is_in(list(enums.SCHOOL_LEVEL)).all()
    assert p["school_sector"].filter(~ins).null_count() == int((~ins).sum())
    assert p["school_level"].filter(~ins).null_count() == int((~ins).sum())
    assert p["education_level"].drop_nulls().is_in(list(enums.EDUCATION_LEVEL)).all()
    assert p["literate"].drop_nulls().is_in(["true", "false"]).all()
    assert p["occupation"].drop_nulls().is_in(list(profile.enums["occupation"])).all()
    assert p["health_coverage"].drop_nulls().is_in(list(profile.enums["health_coverage"])).all()
    assert p["phone"].drop_nulls().str.contains(profile.phone_pattern).all()
    # ages against the head, with the worst case of year-only dates
    hp = heads.select("household_ref", pl.col("birth_date").alias("head_birth"))
    j = p.join(hp, on="household_ref", how="left")
    assert j["head_birth"].null_count() == 0
    plo, phi = _birth_bounds(j["birth_date"])
    hlo, hhi = _birth_bounds(j["head_birth"])
    today = np.full(plo.shape, np.datetime64(TODAY))
    rel = j["relationship"].to_numpy()
    assert (_years_between(phi[rel == "HEAD"], today[rel == "HEAD"]) >= 15).all()
    assert (_years_between(phi[rel == "SPOUSE"], today[rel == "SPOUSE"]) >= 15).all()
    child = np.isin(rel, ["CHILD", "STEPCHILD"])
    assert (_years_between(hhi[child], plo[child]) >= 12).all(), (
        "a child less than 12 years younger than the head"
    )
    grand = rel == "GRANDCHILD"
    assert (_years_between(hhi[grand], plo[grand]) >= 24).all()
    parent = rel == "PARENT"
    assert (_years_between(phi[parent], hlo[parent]) >= 12).all()
    # declarant: an adult member of the household
    decl = (
        h.select("household_ref", "declarant_ref")
        .drop_nulls()
        .join(
            p.select("household_ref", pl.col("person_ref").alias("declarant_ref"), "birth_date"),
            on=["household_ref", "declarant_ref"],
            how="left",
        )
    )
    assert decl["birth_date"].null_count() == 0, "declarant is not a member"
    _, dhi = _birth_bounds(decl["birth_date"])
    assert (_years_between(dhi, np.full(dhi.shape, np.datetime64(TODAY))) >= 18).all()


def _intake_validate(folder: Path, country: str) -> None:
    """The real intake validator (pure Polars, no database), when available."""
    try:
        from sijill.registry.intake.reader import read_tables
        from sijill.registry.intake.validate import validate
    except Exception:  # pragma: no cover - the importer lives in another package
        return
    ht, pt = read_tables([folder])
    res = validate(ht.frame, pt.frame, get_profile(country))
    assert res.errors.height == 0, res.errors.head(10)


def test_every_row_is_importable(ma20k: tuple[Path, SynthSummary]) -> None:
    out, summary = ma20k
    check_import_rules(out, "ma")
    _intake_validate(out, "ma")
    assert summary.households == 20_000 and summary.household_rows == 20_000


def test_duplicates_are_importable(ma_dups: tuple[Path, SynthSummary]) -> None:
    out, _ = ma_dups
    check_import_rules(out, "ma", questionnaire_sample=0)
    _intake_validate(out, "ma")


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate("ma", 1_500, 42, a, duplicate_rate=0.05, chunk_size=600)
    generate("ma", 1_500, 42, b, duplicate_rate=0.05, chunk_size=600)
    generate("ma", 1_500, 43, c, duplicate_rate=0.05, chunk_size=600)
    da, db, dc = _digest(a), _digest(b), _digest(c)
    assert da == db
    for name in ("households.csv", "persons.csv", "truth.csv", "duplicates_truth.csv"):
        assert da[name] != dc[name]


def test_parquet_matches_csv_and_is_deterministic(tmp_path: Path) -> None:
    generate("ma", 1_200, 9, tmp_path / "csv", chunk_size=500)
    generate("ma", 1_200, 9, tmp_path / "pq1", fmt="parquet", chunk_size=500)
    generate("ma", 1_200, 9, tmp_path / "pq2", fmt="parquet", chunk_size=500)
    assert _digest(tmp_path / "pq1") == _digest(tmp_path / "pq2")
    for table in ("households", "persons"):
        c = pl.read_csv(tmp_path / "csv" / f"{table}.csv", infer_schema=False)
        q = pl.read_parquet(tmp_path / "pq1" / f"{table}.parquet").with_columns(pl.all().cast(pl.Utf8))
        assert c.columns == q.columns
        assert c.height == q.height
        assert c["household_ref"].equals(q["household_ref"])
    _intake_validate(tmp_path / "pq1", "ma")


def test_manifest_refs_and_progress(tmp_path: Path) -> None:
    calls: list[int] = []
    s = generate("ma", 2_345, 1, tmp_path, chunk_size=1_000, progress=calls.append)
    assert calls == [1_000, 1_000, 345]
    m = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert m["country"] == "MA" and m["seed"] == 1 and m["households"] == 2_345
    assert m["format_version"] == 1 and m["generator_version"] and m["persons"] == s.persons
    h, p = _read(tmp_path)
    assert h["household_ref"][0] == "HH00000001" and h["household_ref"][-1] == "HH00002345"
    assert p["person_ref"][0] == "P000000001" and p["person_ref"].str.contains(r"^P\d{9}$").all()
    t = pl.read_csv(tmp_path / "truth.csv")
    assert t.columns == ["household_ref", "log_consumption_pc", "consumption_pc", "milieu", "region"]
    assert t["household_ref"].to_list() == h["household_ref"].to_list()
    assert "log_consumption_pc" not in h.columns


# ----------------------------------------------------------------------------- aggregates


def test_census_aggregates(ma20k: tuple[Path, SynthSummary]) -> None:
    out, _ = ma20k
    h, p = _read(out)
    size = p.group_by("household_ref").len()
    assert abs(size["len"].mean() - 3.9) <= 0.15
    pm = p.join(h.select("household_ref", "milieu"), on="household_ref")
    assert abs((pm["milieu"] == "R").mean() - 0.37) <= 0.03
    year = p["birth_date"].str.slice(0, 4).cast(pl.Int32)
    age = 2025 - year
    assert 0.10 <= (age >= 60).mean() <= 0.16
    assert 0.22 <= (age < 15).mean() <= 0.31
    heads = p.filter(pl.col("relationship") == "HEAD")
    assert 0.12 <= (heads["sex"] == "F").mean() <= 0.26
    # regional spread: Casablanca-Settat is the largest region
    t = pl.read_csv(out / "truth.csv")
    top = t["region"].value_counts(sort=True)["region"][0]
    assert top == "MA-06"
    # disability and schooling
    assert 0.03 <= (p["disability_type"] != "NONE").mean() <= 0.07
    kids = p.filter((age >= 7) & (age <= 13))
    assert (kids["in_school"] == "true").mean() > 0.85


def test_consumption_and_assets(ma20k: tuple[Path, SynthSummary]) -> None:
    out, _ = ma20k
    h, _ = _read(out)
    t = pl.read_csv(out / "truth.csv")
    lc = t["log_consumption_pc"]
    assert 9.5 <= lc.mean() <= 9.9 and 0.45 <= lc.std() <= 0.75
    assert 0.40 <= (lc < 9.743001).mean() <= 0.60
    assert 0.20 <= (lc < 9.3264284).mean() <= 0.32
    assert ((t["consumption_pc"] - lc.exp()).abs() / t["consumption_pc"]).max() < 1e-5
    j = h.join(t, on="household_ref")
    cc = (j["cars"].cast(pl.Int32) + j["computers"].cast(pl.Int32)).to_numpy()
    assert np.corrcoef(j["log_consumption_pc"].to_numpy(), cc)[0, 1] > 0.2
    spend = j["spend_phone_internet"].cast(pl.Float64).to_numpy()
    assert np.corrcoef(j["log_consumption_pc"].to_numpy(), np.log1p(spend))[0, 1] > 0.2
    urban = j.filter(pl.col("milieu") == "U")["log_consumption_pc"].mean()
    rural = j.filter(pl.col("milieu") == "R")["log_consumption_pc"].mean()
    assert urban > rural + 0.2
    # rural-only variables are empty in urban households and filled in rural ones
    assert j.filter(pl.col("milieu") == "U")["cows"].null_count() == j.filter(pl.col("milieu") == "U").height
    assert j.filter(pl.col("milieu") == "R")["cows"].null_count() == 0


def test_names_both_scripts_with_variants(ma20k: tuple[Path, SynthSummary]) -> None:
    out, _ = ma20k
    _, p = _read(out)
    for c in ("given_name_lat", "family_name_lat", "given_name_ar", "family_name_ar"):
        assert p[c].null_count() == 0
    mohamed = p.filter(pl.col("given_name_ar") == "محمد")["given_name_lat"].unique().to_list()
    assert "Mohamed" in mohamed and len(mohamed) >= 3  # Mohamed, Mohammed, Mhamed...
    assert p["given_name_ar"].n_unique() > 200 and p["family_name_ar"].n_unique() > 250


def test_parents_given_names(ma20k: tuple[Path, SynthSummary]) -> None:
    """A child of the head is named after the head and the spouse; the shares of records
    naming each parent follow synth.yaml (father 0.85, mother 0.8)."""
    out, _ = ma20k
    _h, p = _read(out)
    assert 0.82 < p["father_name_lat"].is_not_null().mean() < 0.88  # type: ignore[operator]
    assert 0.77 < p["mother_name_lat"].is_not_null().mean() < 0.83  # type: ignore[operator]
    # the Arabic form is the same name, named or not together
    assert (p["father_name_lat"].is_null() == p["father_name_ar"].is_null()).all()
    heads = p.filter(pl.col("relationship") == "HEAD", pl.col("sex") == "M").select(
        "household_ref", pl.col("given_name_lat").alias("head"), pl.col("given_name_ar").alias("head_ar")
    )
    kids = p.filter(pl.col("relationship") == "CHILD", pl.col("father_name_lat").is_not_null()).join(
        heads, on="household_ref"
    )
    assert kids.height > 1000
    assert (kids["father_name_lat"] == kids["head"]).all() and (
        kids["father_name_ar"] == kids["head_ar"]
    ).all()
    # anyone else's parents are drawn: not all the same name
    assert p.filter(pl.col("relationship") == "HEAD")["father_name_ar"].n_unique() > 100


# ----------------------------------------------------------------------------- duplicates


def test_duplicates_truth(ma_dups: tuple[Path, SynthSummary]) -> None:
    out, summary = ma_dups
    h, p = _read(out)
    pairs = pl.read_csv(out / "duplicates_truth.csv", infer_schema=False)
    hpairs = pl.read_csv(out / "duplicates_households_truth.csv", infer_schema=False)
    assert pairs.columns[:2] == ["person_ref_a", "person_ref_b"]
    assert hpairs.columns[:2] == ["household_ref_a", "household_ref_b"]
    assert summary.duplicate_persons == pairs.height and summary.duplicate_households == hpairs.height
    n_orig = p.height - pairs.height
    assert 0.03 <= pairs.height / n_orig <= 0.07
    refs = set(p["person_ref"].to_list())
    assert pairs["person_ref_a"].is_in(list(refs)).all() and pairs["person_ref_b"].is_in(list(refs)).all()
    assert hpairs["household_ref_a"].is_in(h["household_ref"].implode()).all()
    assert hpairs["household_ref_b"].is_in(h["household_ref"].implode()).all()
    assert (pairs["person_ref_a"] != pairs["person_ref_b"]).all()
    assert set(pairs["kind"].unique().to_list()) == {"household", "person"}
    a = pairs.join(p, left_on="person_ref_a", right_on="person_ref").select(
        "person_ref_a",
        "person_ref_b",
        "household_ref",
        "given_name_lat",
        "family_name_lat",
        "given_name_ar",
        "family_name_ar",
        "birth_date",
        "sex",
        "id_type",
        "id_value",
        "id2_type",
        "id2_value",
    )
    b = pairs.join(p, left_on="person_ref_b", right_on="person_ref").select(
        "person_ref_a",
        "person_ref_b",
        "household_ref",
        "given_name_lat",
        "family_name_lat",
        "given_name_ar",
        "family_name_ar",
        "birth_date",
        "sex",
        "id_type",
        "id_value",
        "id2_type",
        "id2_value",
    )
    m = a.join(b, on=["person_ref_a", "person_ref_b"], suffix="_b")
    assert m.height == pairs.height
    assert (m["sex"] == m["sex_b"]).all()
    assert (m["household_ref"] != m["household_ref_b"]).all(), "a duplicate lands in another household"
    lat_diff = (m["given_name_lat"] != m["given_name_lat_b"]) | (
        m["family_name_lat"] != m["family_name_lat_b"]
    )
    ar_diff = (m["given_name_ar"] != m["given_name_ar_b"]) | (m["family_name_ar"] != m["family_name_ar_b"])
    assert lat_diff.mean() > 0.2 and ar_diff.sum() > 10
    assert (m["birth_date_b"].str.len_chars() == 4).sum() > 5, "some duplicates carry only the birth year"
    swapped = m.filter(
        (pl.col("birth_date").str.len_chars() == 10)
        & (pl.col("birth_date_b").str.len_chars() == 10)
        & (pl.col("birth_date") != pl.col("birth_date_b"))
    )
    assert swapped.height > 5
    assert (swapped["birth_date"].str.slice(5, 2) == swapped["birth_date_b"].str.slice(8, 2)).all()
    # A duplicate never carries the original's number as it is (intake would catch it). When
    # it carries one, it is the original's number of that type with one typing error: a digit
    # replaced or two neighbouring digits swapped. Types with a check digit are never mistyped.
    for c in ("id_value", "id2_value"):
        same = m.filter(pl.col(c).is_not_null() & (pl.col(c) == pl.col(f"{c}_b")))
        assert same.height == 0
    orig = {
        (r["person_ref_a"], t): v
        for r in m.iter_rows(named=True)
        for t, v in ((r["id_type"], r["id_value"]), (r["id2_type"], r["id2_value"]))
        if t is not None
    }
    mistyped = 0
    for r in m.iter_rows(named=True):
        for t, v in ((r["id_type_b"], r["id_value_b"]), (r["id2_type_b"], r["id2_value_b"])):
            if t is None:
                continue
            assert t != "IDCS", "a number with a check digit cannot be mistyped past validation"
            assert OSA.distance(orig[(r["person_ref_a"], t)], v) == 1, (t, orig[(r["person_ref_a"], t)], v)
            mistyped += 1
    assert 0.15 < mistyped / m.height < 0.5
    noise = pairs["noise"].fill_null("")
    for tag in (
        "latin_variant",
        "typo",
        "arabic_variant",
        "date_swap",
        "year_only",
        "id_missing",
        "id_mistyped",
        "father_missing",
        "mother_variant",
    ):
        assert noise.str.contains(tag).any(), tag


# ----------------------------------------------------------------------------- Mali


def test_mali(ml5k: tuple[Path, SynthSummary]) -> None:
    out, summary = ml5k
    check_import_rules(out, "ml", questionnaire_sample=800)
    _intake_validate(out, "ml")
    h, p = _read(out)
    assert h["area_code"].str.starts_with("ML-").all()
    assert p["given_name_ar"].null_count() == p.height and p["family_name_ar"].null_count() == p.height
    fams = set(p["family_name_lat"].unique().to_list())
    assert {"Traoré", "Coulibaly", "Diarra"} <= fams
    assert p["id_type"].drop_nulls().is_in(["NINA", "CNIBS", "BIRTH_CERT"]).all()
    assert summary.duplicate_persons > 0


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate("ma", 10, 1, tmp_path, fmt="xlsx")
    with pytest.raises(ValueError):
        generate("ma", 10, 1, tmp_path, duplicate_rate=1.5)
    with pytest.raises(ValueError):
        generate("zz", 10, 1, tmp_path)
