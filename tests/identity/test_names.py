"""Name normalisation and matching keys (sijill.identity.names). Pure, no database."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sijill.identity.names import (
    latin_key,
    latin_key_expr,
    latin_key_series,
    latin_phonetic,
    name_keys,
    normalise_arabic,
    normalise_arabic_expr,
    normalise_arabic_series,
    normalise_latin,
    normalise_latin_expr,
    normalise_latin_series,
    romanized_keys,
)

# ---------------------------------------------------------------- Latin variant groups


@pytest.mark.parametrize(
    "group",
    [
        ["Mohamed", "Mohammed", "Muhammad", "Mhamed", "MOHAMMAD", "Mohamad"],
        ["Abderrahmane", "Abdel Rahman", "Abderrahman", "Abdul Rahman", "Abd al-Rahman", "Abdelrahman"],
        ["Youssef", "Yousef", "Youcef", "Yusuf"],
        ["Fatima Zahra", "Fatima-Zahra", "Fatimazahra", "Fatima Ezzahra", "fatima  zahra"],
        ["El Idrissi", "Idrissi", "Al-Idrissi", "Elidrissi", "el idrissi"],
        ["Abdellah", "Abdallah", "Abdullah", "Abdelah"],
        ["Omar", "Oumar", "Umar"],
        ["Ouazzani", "Wazzani", "El Ouazzani"],
        ["Khadija", "Khadidja", "Khadijah"],
        ["Nadia", "Nadya", "Nadiya"],
        ["Benali", "Ben Ali", "Bennali", "Ben-Ali"],
        ["Tazi", "Ettazi", "El Tazi"],
        ["Houssine", "Lhoussine", "El Houssine"],
        ["Diarra", "Jara"],
        ["Faiçal", "Faissal", "Faisal"],
        ["Fatima", "Fatimah"],
        ["Salaheddine", "Salah ad-Din", "Salah Eddine"],
        ["Mohamed Amine", "Med Amine", "Mohammed-Amine"],
        ["Moulay Ali", "My Ali"],
    ],
)
def test_latin_variant_groups_share_skeleton_key(group: list[str]) -> None:
    keys = {latin_key(n) for n in group}
    assert len(keys) == 1, dict(zip(group, [latin_key(n) for n in group], strict=True))
    assert keys != {""}


@pytest.mark.parametrize(
    "group",
    [
        ["Mohamed", "Mohammed", "Muhammad", "Mhamed"],
        ["Youssef", "Yousef", "Youcef", "Yusuf"],
        ["Abderrahmane", "Abdel Rahman", "Abderrahman", "Abdul Rahman"],
        ["Fatima Zahra", "Fatima-Zahra", "Fatimazahra"],
        ["El Idrissi", "Idrissi", "Al-Idrissi"],
    ],
)
def test_latin_variant_groups_share_phonetic_key(group: list[str]) -> None:
    assert len({latin_phonetic(n) for n in group}) == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Ali", "Leila"),
        ("Mohamed", "Ahmed"),
        ("Youssef", "Younes"),
        ("Fatima", "Fatna"),
        ("Karim", "Kamal"),
        ("Mimouna", "Mouna"),
    ],
)
def test_different_names_keep_different_keys(a: str, b: str) -> None:
    # (Hassan / Hussein share the skeleton "hsn" by design: compare *_lat_norm for vowels.)
    assert latin_key(a) != latin_key(b)


def test_skeleton_examples() -> None:
    assert latin_key("Mohammed") == "mhmd"
    assert latin_key("El Idrissi") == "adrs"
    assert latin_key("Youcef") == "ysf"
    assert latin_key("") == ""


def test_exprs_keep_column_names_and_work_side_by_side() -> None:
    df = pl.DataFrame({"a": ["Mohammed", None], "b": ["El Idrissi", "Yusuf"], "c": ["أحمد", "مُحَمَّد"]})
    out = df.select(
        latin_key_expr("a"),
        latin_key_expr(pl.col("b")),
        normalise_latin_expr("b").alias("bn"),
        normalise_arabic_expr("c"),
    )
    assert out.columns == ["a", "b", "bn", "c"]
    assert out.rows() == [("mhmd", "adrs", "el idrissi", "احمد"), (None, "ysf", "yusuf", "محمد")]


def test_normalise_latin() -> None:
    assert normalise_latin("  Aïcha   EL-Fassi ") == "aicha el fassi"
    assert normalise_latin("Hélène d'Œuvre") == "helene d oeuvre"
    assert normalise_latin("Traoré") == "traore"
    assert normalise_latin("محمد") == ""
    assert normalise_latin("Ben_Ali.") == "ben ali"


def test_latin_particles_option() -> None:
    assert latin_key("Mohamed ben Ahmed", particles=False) == latin_key("Mohamed Ahmed")
    assert latin_key("Mohamed ben Ahmed") != latin_key("Mohamed Ahmed")
    assert latin_key("Sidi Ould Ahmed", particles=False) == latin_key("Sidi Ahmed")


# ---------------------------------------------------------------- Arabic normalisation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("مُحَمَّد", "محمد"),  # tashkeel
        ("مـحـمـد", "محمد"),  # tatweel
        ("القُرْآنٰ", "القران"),  # superscript alef + madda
        ("أحمد", "احمد"),
        ("إبراهيم", "ابراهيم"),
        ("آمنة", "امنه"),
        ("ٱلحسن", "الحسن"),
        ("مؤمن", "مومن"),  # hamza on waw
        ("عائشة", "عايشه"),  # hamza on ya + ta marbuta
        ("سماء", "سما"),  # lone hamza dropped
        ("مصطفى", "مصطفي"),  # alef maksura
        ("فاطمة", "فاطمه"),  # ta marbuta
        ("  محمد   أمين  ", "محمد امين"),  # spaces
        ("محمد-أمين،", "محمد امين"),  # punctuation
        ("عبد الرحمن", "عبدالرحمن"),
        ("عبدالرحمن", "عبدالرحمن"),
        ("عبد   الله", "عبدالله"),
        ("محمد عبد الرحمن", "محمد عبدالرحمن"),
        ("یوسف", "يوسف"),  # Persian ya
        ("", ""),
    ],
)
def test_normalise_arabic(raw: str, expected: str) -> None:
    assert normalise_arabic(raw) == expected


def test_abd_al_compounds_same_key() -> None:
    assert normalise_arabic("عبد الرحمن") == normalise_arabic("عبدالرحمن")
    assert normalise_arabic("عَبْدُ الرَّحْمٰن") == normalise_arabic("عبدالرحمن")


@pytest.mark.parametrize(
    ("raw", "kept", "dropped"),
    [
        ("محمد بن أحمد", "محمد بن احمد", "محمد احمد"),
        ("فاطمة بنت علي", "فاطمه بنت علي", "فاطمه علي"),
        ("سيدي ولد أحمد", "سيدي ولد احمد", "سيدي احمد"),
        ("علي ابن سينا", "علي ابن سينا", "علي سينا"),
        ("إبن خلدون", "ابن خلدون", "خلدون"),
        ("محمد بن بن علي", "محمد بن بن علي", "محمد علي"),  # adjacent particles
        ("بنعلي", "بنعلي", "بنعلي"),  # a glued "ben" is part of the family name
    ],
)
def test_arabic_particles(raw: str, kept: str, dropped: str) -> None:
    assert normalise_arabic(raw) == kept
    assert normalise_arabic(raw, particles=False) == dropped


def test_arabic_series_keeps_nulls_and_name() -> None:
    s = pl.Series("given_name_ar", ["أحمد", None, "فاطمة"])
    out = normalise_arabic_series(s)
    assert out.name == "given_name_ar"
    assert out.to_list() == ["احمد", None, "فاطمه"]
    assert normalise_latin_series(pl.Series("x", ["Aïcha", None])).to_list() == ["aicha", None]
    assert latin_key_series(pl.Series("x", ["Mohammed", None])).to_list() == ["mhmd", None]


# ---------------------------------------------------------------- Arabic ↔ Latin


@pytest.mark.parametrize(
    ("arabic", "latin"),
    [
        ("محمد", "Mohamed"),
        ("يوسف", "Youssef"),
        ("عبد الرحمن", "Abderrahmane"),
        ("عبدالرحمن", "Abderrahmane"),
        ("فاطمة الزهراء", "Fatima Zahra"),
        ("الإدريسي", "El Idrissi"),
        ("خديجة", "Khadija"),
        ("مُحَمَّد", "Muhammad"),
    ],
)
def test_arabic_only_and_latin_only_get_same_key(arabic: str, latin: str) -> None:
    assert romanized_keys(pl.Series([arabic]), "MA").to_list() == [latin_key(latin)]


def test_romanized_keys_nulls_and_repetition() -> None:
    s = pl.Series("family_name_ar", ["محمد", None, "", "محمد", "  "])
    out = romanized_keys(s, "ma")
    assert out.name == "family_name_ar"
    assert out.to_list() == ["mhmd", None, None, "mhmd", None]


def test_name_keys_frame() -> None:
    df = pl.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "given_name_lat": ["Mohammed", None, "Youcef", None],
            "family_name_lat": ["Al-Idrissi", None, "", None],
            "given_name_ar": [None, "مُحَمَّد", "يوسف", None],
            "family_name_ar": [None, "الإدريسي", "العلوي", None],
        },
        schema_overrides={"given_name_ar": pl.String},
    )
    out = name_keys(df, "MA")
    assert out["id"].to_list() == [1, 2, 3, 4]
    assert out["given_ar_norm"].to_list() == [None, "محمد", "يوسف", None]
    assert out["family_ar_norm"].to_list() == [None, "الادريسي", "العلوي", None]
    assert out["given_lat_norm"].to_list() == ["mohammed", None, "youcef", None]
    assert out["family_lat_norm"].to_list() == ["al idrissi", None, "", None]
    assert out["given_key"].to_list() == ["mhmd", "mhmd", "ysf", None]
    # Latin family name empty → falls back to the romanised Arabic.
    assert out["family_key"].to_list() == ["adrs", "adrs", latin_key("El Alaoui"), None]
    assert out["full_name_key"].to_list()[:2] == ["mhmd adrs", "mhmd adrs"]
    assert out["full_name_key"][3] is None


def test_name_keys_missing_columns() -> None:
    out = name_keys(pl.DataFrame({"given_name_lat": ["Fatima-Zahra"]}), "ML")
    assert out["given_key"].to_list() == [latin_key("Fatima Zahra")]
    assert out["family_key"].to_list() == [None]
    assert out["full_name_key"].to_list() == [latin_key("Fatima Zahra") + " "]


# ---------------------------------------------------------------- properties

_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=40,
)
_arabic_ish = st.text(
    alphabet=st.sampled_from(list("ابتثجحخدذرزسشصضطظعغفقكلمنهويءأإآٱؤئىةـ ًٌٍَُِّْٰ-، ")), max_size=30
)
_latin_ish = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzéèïçœ'- ABCDEFKLMOU")), max_size=30
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(_names, _arabic_ish))
def test_normalise_arabic_idempotent_and_total(s: str) -> None:
    once = normalise_arabic(s)
    assert normalise_arabic(once) == once
    dropped = normalise_arabic(s, particles=False)
    assert normalise_arabic(dropped, particles=False) == dropped


@settings(max_examples=150, deadline=None)
@given(st.one_of(_names, _latin_ish))
def test_normalise_latin_idempotent_and_total(s: str) -> None:
    once = normalise_latin(s)
    assert normalise_latin(once) == once
    assert set(once) <= set("abcdefghijklmnopqrstuvwxyz0123456789 ")


@settings(max_examples=150, deadline=None)
@given(st.one_of(_names, _latin_ish, _arabic_ish))
def test_keys_never_raise(s: str) -> None:
    assert isinstance(latin_key(s), str)
    assert isinstance(latin_key(s, particles=False), str)
    assert isinstance(latin_phonetic(s), str)
    # the key only depends on the normalised form
    assert latin_key(normalise_latin(s)) == latin_key(s)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), _arabic_ish, _names), max_size=5))
def test_romanized_keys_never_raise(values: list[str | None]) -> None:
    out = romanized_keys(pl.Series(values, dtype=pl.String), "MA")
    assert out.len() == len(values)
