"""Name normalisation and matching keys for deduplication across Arabic and Latin spellings.

One person can be registered as ``محمد بن أحمد الإدريسي`` in one source, ``Mohammed Idrissi``
in another and ``Mhamed El Idrissi`` in a third.  This module turns names into comparable
forms, in three layers of increasing aggressiveness:

``*_ar_norm`` (:func:`normalise_arabic`)
    Orthographic folding of Arabic script only, no loss of a real letter distinction that
    a clerk would make on purpose: tashkeel and tatweel removed; alef variants (أ إ آ ٱ),
    hamza carriers (ؤ → و, ئ → ي, lone ء dropped), alef maksura (ى → ي), ta marbuta (ة → ه)
    and Persian-keyboard letters (ک ی) folded; punctuation → space; spaces collapsed;
    ``عبد ال…`` / ``عبدال…`` always written as one token.  Particles (بن، بنت، ولد، ابن،
    ابنة) are kept by default; ``particles=False`` drops them when they stand alone.

``*_lat_norm`` (:func:`normalise_latin`)
    Safe Latin clean-up: compatibility decomposition (NFKD), lowercase, accents stripped
    (é → e, ï → i), a few non-decomposing letters (œ ß ø æ ł đ ı) spelled out, every other
    character (hyphen, apostrophe, dot, non-Latin script) → space, spaces collapsed.  The
    result is ``[a-z0-9 ]`` only, so the function is idempotent.

``*_key`` (:func:`latin_key`, the *skeleton*)
    The aggressive, lossy key built on the normalised Latin.  It folds the Maghreb
    (French-influenced) and English transliteration variants of the same Arabic name:

    * abbreviations expanded: ``med/mhd/mohd`` → mohamed, ``my`` → moulay;
    * articles dropped: standalone ``el al l ul ed et es ez er en ech ej ad ud ar as ash at
      az``, glued ``el`` when at least 4 letters follow (Elidrissi), glued ``l`` before a
      consonant (Lhoussine, Lkbira), glued assimilated articles ``ett- ess- ezz- err- enn-
      edd- echch-`` (Ettazi, Essoussi, Ezzahra) — so El Idrissi = Idrissi = Al-Idrissi;
    * ``abd`` compounds: ``abd el / abdel / abdul / abd al / abdal / abde / abdou`` → ``abd``
      (Abderrahmane = Abdel Rahman = Abdul Rahman), the article having been removed first;
    * a final ``h`` after a vowel dropped (Fatimah = Fatima); ``di`` + vowel at the start of
      a word → ``j`` (Diarra = Jara, Mali);
    * spaces removed (Fatima Zahra = Fatima-Zahra = Fatimazahra; Ben Ali = Benali);
    * ``ou`` before a vowel → ``w`` (Ouazzani = Wazzani); ``x`` → ``ks``, then
      ``sch/sh/ch/tch`` → ``x`` (one symbol for ش), ``kh`` → ``k``, ``gh`` → ``g``, ``dj`` → ``j``,
      ``ph`` → ``f``, ``th`` → ``t``, ``dh`` → ``d``, ``q``/``ck`` → ``k``, ``c`` → ``s`` before
      e/i/y else ``k`` (Youcef = Youssef); ``ç`` is read as ``s`` already in ``*_lat_norm``;
    * doubled letters collapsed (Mohammed = Mohamed; Abderrahmane = Abderahmane), but not
      across a vowel (Mimouna ≠ Mouna);
    * all vowels dropped; ``y``/``w`` are consonants only at the start, glides elsewhere
      (Nadia = Nadya, Kaoutar = Kawthar); a name starting with a vowel keeps one ``a``
      marker (Omar = Oumar = Umar, but Ali ≠ Leila).  Mohamed = Muhammad = Mhamed → ``mhmd``.

    Measured on the hand-written variant lists of ``sijill/countries/ma/synth`` (1,691
    variant spellings): 94 % get the same skeleton as the main spelling (Metaphone alone:
    83 %); the 685 main spellings give 608 distinct skeletons (vowel-only differences
    merge: Said/Saad, Safia/Sofia), about the same as Metaphone (598).

    We chose *not* to fold ``kh`` with ``x``/``h`` or ``g`` with ``k``/``q`` (Chergaoui vs
    Cherkaoui) nor to strip a leading ``l``/``la`` (Lhassan, Laalaoui): each of these merges
    too many different names.  The skeleton is meant for blocking and as one comparison level
    in the linkage model, next to a string similarity on ``*_lat_norm``, never as proof of
    identity by itself.

:func:`latin_phonetic` is jellyfish's Metaphone on the same folded (article/abd-stripped,
space-free) form: a second, independent phonetic key.

:func:`romanized_keys` transliterates Arabic names with ``arabic_name_romanizer`` (offline,
dictionary first, country hint ``MA`` / ``ML``) and then applies :func:`latin_key`, so an
Arabic-only record gets a key comparable with a Latin-only one (محمد → Mohamed → ``mhmd``).
The romaniser is pure Python (~0.2–5 ms a name), so it runs only on the *unique* values of
the column and results are cached in-process per country.

Vectorisation: every transformation is a chain of Polars ``str`` expressions (regex
``replace_all``, ``replace_many``, ``normalize``) — no per-row Python.  The scalar functions
run the same expressions on a one-element Series, so scalar and vectorised forms can never
disagree.  Metaphone and the romaniser are Python; they are applied to unique values only.
:func:`name_keys` also computes the keys on unique values and maps them back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

__all__ = [
    "ARABIC_PARTICLES",
    "LATIN_PARTICLES",
    "latin_key",
    "latin_key_expr",
    "latin_key_series",
    "latin_phonetic",
    "latin_phonetic_series",
    "name_keys",
    "normalise_arabic",
    "normalise_arabic_expr",
    "normalise_arabic_series",
    "normalise_latin",
    "normalise_latin_expr",
    "normalise_latin_series",
    "romanize",
    "romanized_keys",
]

IntoExpr = pl.Expr | str

# --------------------------------------------------------------------------- Arabic

#: Arabic particles of filiation, separable tokens ("son/daughter of").
ARABIC_PARTICLES: tuple[str, ...] = ("بن", "بنت", "ولد", "ابن", "ابنه")
#: Latin spellings of the same particles (plus Amazigh/Tuareg ``ait``, ``ag``, ``ou``).
LATIN_PARTICLES: tuple[str, ...] = ("ben", "bent", "bint", "ould", "ibn", "bin", "ait", "ag", "ou")

# Tashkeel U+064B–U+0652, U+0653–U+065F (maddah, combining hamza…), superscript alef U+0670,
# Quranic marks U+0610–U+061A and U+06D6–U+06ED, tatweel U+0640.
_AR_MARKS = r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]"
_AR_FOLD_FROM = ["أ", "إ", "آ", "ٱ", "ٲ", "ٳ", "ؤ", "ئ", "ى", "ی", "ې", "ة", "ۀ", "ک", "ڪ", "ء"]
_AR_FOLD_TO = ["ا", "ا", "ا", "ا", "ا", "ا", "و", "ي", "ي", "ي", "ي", "ه", "ه", "ك", "ك", ""]
_AR_PARTICLE_RE = " (?:" + "|".join(ARABIC_PARTICLES) + ") "


def _expr(col: IntoExpr) -> pl.Expr:
    return pl.col(col) if isinstance(col, str) else col


def _squeeze(e: pl.Expr) -> pl.Expr:
    return e.str.replace_all(r"\s+", " ").str.strip_chars(" ")


def _pad(e: pl.Expr) -> pl.Expr:
    """ " x " (keeps the expression's output name, unlike ``concat_str`` with a literal first)."""
    return e.str.replace(r"(?s)^(.*)$", " ${1} ")


def _drop_tokens(e: pl.Expr, pattern: str) -> pl.Expr:
    """Drop whole space-delimited tokens matching ``pattern`` (a `` (?:…) `` regex).

    Rust regex has no look-around, so pad with spaces and run twice (adjacent tokens share
    their separating space, the second pass catches the one the first one skipped)."""
    e = _pad(e)
    e = e.str.replace_all(pattern, " ").str.replace_all(pattern, " ")
    return _squeeze(e)


def normalise_arabic_expr(col: IntoExpr, *, particles: bool = True) -> pl.Expr:
    """Polars expression: normalised Arabic (see module docstring). Nulls stay null."""
    e = _expr(col).cast(pl.String).str.normalize("NFKC")
    e = e.str.replace_all(_AR_MARKS, "")
    e = e.str.replace_many(_AR_FOLD_FROM, _AR_FOLD_TO)
    # Anything that is not a letter or a digit (punctuation, ، ؛ ؟, ZWNJ…) separates tokens.
    e = _squeeze(e.str.replace_all(r"[^\p{L}\p{N}]+", " "))
    # "عبد الرحمن" / "عبدالرحمن" / "عبد رب" → one token.
    e = e.str.replace_all(r"(^|\s)عبد\s+", "${1}عبد")
    if not particles:
        e = _drop_tokens(e, _AR_PARTICLE_RE)
    return e


def normalise_arabic_series(series: pl.Series, *, particles: bool = True) -> pl.Series:
    """Vectorised :func:`normalise_arabic` on a Series (keeps name and nulls)."""
    return (
        series.to_frame("s")
        .select(normalise_arabic_expr("s", particles=particles))
        .to_series(0)
        .alias(series.name)
    )


def normalise_arabic(s: str, *, particles: bool = True) -> str:
    """Normalised Arabic name (same code path as the vectorised form)."""
    return str(normalise_arabic_series(pl.Series([s], dtype=pl.String), particles=particles)[0])


# --------------------------------------------------------------------------- Latin

_LAT_SPECIAL_FROM = ["œ", "æ", "ß", "ø", "ł", "đ", "ð", "þ", "ı", "ŀ", "ħ"]
_LAT_SPECIAL_TO = ["oe", "ae", "ss", "o", "l", "d", "d", "th", "i", "l", "h"]


def normalise_latin_expr(col: IntoExpr) -> pl.Expr:
    """Polars expression: lowercase ASCII ``[a-z0-9 ]`` form of a Latin name. Nulls stay null."""
    e = _expr(col).cast(pl.String).str.replace_many(["ç", "Ç"], ["s", "s"])  # Faiçal = Faissal
    e = e.str.normalize("NFKD").str.to_lowercase()
    e = e.str.replace_all(r"\p{M}+", "")
    e = e.str.replace_many(_LAT_SPECIAL_FROM, _LAT_SPECIAL_TO)
    return _squeeze(e.str.replace_all(r"[^a-z0-9]+", " "))


def normalise_latin_series(series: pl.Series) -> pl.Series:
    """Vectorised :func:`normalise_latin` on a Series."""
    return series.to_frame("s").select(normalise_latin_expr("s")).to_series(0).alias(series.name)


def normalise_latin(s: str) -> str:
    """Normalised Latin name (same code path as the vectorised form)."""
    return str(normalise_latin_series(pl.Series([s], dtype=pl.String))[0])


_LAT_ARTICLES = (
    "el",
    "al",
    "l",
    "ul",
    "ed",
    "et",
    "es",
    "ez",
    "er",
    "en",
    "ech",
    "ej",
    "ad",
    "ud",
    "ar",
    "as",
    "ash",
    "at",
    "az",
)
_LAT_ARTICLE_RE = " (?:" + "|".join(_LAT_ARTICLES) + ") "
_LAT_PARTICLE_RE = " (?:" + "|".join(LATIN_PARTICLES) + ") "
_COLLAPSE_RE = "(?:" + "|".join(f"({c}){c}+" for c in "abcdefghijklmnopqrstuvwxyz") + ")"
_COLLAPSE_TO = "".join(f"${{{i}}}" for i in range(1, 27))


def _folded_expr(col: IntoExpr, *, particles: bool = True) -> pl.Expr:
    """Normalised Latin with articles and ``abd`` linkers removed, spaces removed."""
    e = normalise_latin_expr(col)
    if not particles:
        e = _drop_tokens(e, _LAT_PARTICLE_RE)
    e = _drop_tokens(e, _LAT_ARTICLE_RE)
    e = _pad(e)
    e = e.str.replace_all(r" (?:med|mhd|mohd|mohd) ", " mohamed ").str.replace_all(" my ", " moulay ")
    e = e.str.replace_all(r" di([aou])", " j${1}")  # Diarra = Jara (Mali)
    e = e.str.replace(r"([aeiou])h $", "${1} ")  # Fatimah = Fatima (end of the name only)
    e = e.str.replace_all(r" el([a-z]{4,})", " ${1}")
    e = e.str.replace_all(r" l([bcdfghjkmnpqrstvwxz][a-z]{2,})", " ${1}")  # Lhassan, Lkbira
    e = e.str.replace_all(r" e(tt|dd|ss|zz|rr|nn|chch|shsh)([a-z]{2,})", " ${1}${2}")
    e = e.str.replace_all(r" abd ?(?:[aeiou]{1,2}l{1,2}|[aeiou]{1,2})?", " abd")
    return e.str.replace_all(" ", "")


def latin_key_expr(col: IntoExpr, *, particles: bool = True) -> pl.Expr:
    """Polars expression: consonant skeleton key of a Latin name ("" for an empty name)."""
    e = _folded_expr(col, particles=particles)
    e = e.str.replace_all(r"^(?:ou|w)([aeiy])", "w${1}")
    e = e.str.replace_all(r"ou([aeiy])", "w${1}")
    e = e.str.replace_all("x", "ks")
    e = e.str.replace_all(r"t?sc?h|t?ch", "x")
    e = e.str.replace_many(
        ["kh", "gh", "dj", "ph", "th", "dh", "ck", "q"], ["k", "g", "j", "f", "t", "d", "k", "k"]
    )
    e = e.str.replace_all(r"c([eiy])", "s${1}").str.replace_all("c", "k")
    e = e.str.replace_all(_COLLAPSE_RE, _COLLAPSE_TO)  # doubled letters (not across a vowel)
    # Initial y/w are consonants, medial ones glides (Nadia = Nadya, Kaoutar = Kawthar);
    # a name starting with a vowel keeps one "a" marker.
    e = e.str.replace_all(r"^y", "Y").str.replace_all(r"^w", "W").str.replace_all(r"^[aeiou]+", "A")
    return e.str.replace_all(r"[aeiouyw]", "").str.to_lowercase()


def latin_key_series(series: pl.Series, *, particles: bool = True) -> pl.Series:
    """Vectorised :func:`latin_key` on a Series."""
    return (
        series.to_frame("s").select(latin_key_expr("s", particles=particles)).to_series(0).alias(series.name)
    )


def latin_key(s: str, *, particles: bool = True) -> str:
    """Skeleton key of one Latin name, e.g. ``Mohammed`` → ``mhmd``, ``El Idrissi`` → ``drs``."""
    return str(latin_key_series(pl.Series([s], dtype=pl.String), particles=particles)[0])


def _map_unique(series: pl.Series, fn: Callable[[str], Any], dtype: pl.DataType) -> pl.Series:
    """Apply a Python function to the unique non-null values only, then map back."""
    uniq = series.drop_nulls().unique().to_list()
    out = [fn(u) for u in uniq]
    return series.replace_strict(uniq, out, default=None, return_dtype=dtype).alias(series.name)


def latin_phonetic_series(series: pl.Series, *, particles: bool = True) -> pl.Series:
    """Metaphone of the folded Latin form (computed once per unique value)."""
    import jellyfish

    def on_unique(u: pl.Series) -> pl.Series:
        folded = u.to_frame("s").select(_folded_expr("s", particles=particles)).to_series(0)
        return _map_unique(folded, jellyfish.metaphone, pl.String())

    return _unique_apply(series.cast(pl.String), on_unique).alias(series.name)


def latin_phonetic(s: str, *, particles: bool = True) -> str:
    """Metaphone key of one Latin name, e.g. ``Muhammad`` → ``MHMT``."""
    return str(latin_phonetic_series(pl.Series([s], dtype=pl.String), particles=particles)[0])


# --------------------------------------------------------------------------- romanisation

_TRANSLITERATOR: Any = None
_ROMAN_CACHE: dict[tuple[str, str], str] = {}


def _country(country: str | None) -> str | None:
    c = (country or "").strip().upper()
    return c or None


_ROMAN_ARTICLES = frozenset(
    ("el", "al", "ul", "l", "ed", "et", "es", "ez", "er", "en", "ech", "ad", "ar", "as", "at")
)


def _latin_words(latin: str) -> int:
    return sum(1 for w in latin.replace("-", " ").lower().split() if w not in _ROMAN_ARTICLES)


def _romanize_token(token: str, country: str | None) -> str:
    """Romanise one Arabic name token (``عبد``/``ابو`` compounds count as one token).

    The romaniser's full-string dictionary sometimes maps one token to a whole person's name
    (الشرادي → "Ben Hamed Charhadi"), so take the best of the top 5 candidates that is one
    word once articles are ignored, else the best candidate."""
    global _TRANSLITERATOR
    key = (country or "", token)
    hit = _ROMAN_CACHE.get(key)
    if hit is not None:
        return hit
    if _TRANSLITERATOR is None:
        from arabic_name_romanizer import Transliterator

        _TRANSLITERATOR = Transliterator()
    try:
        cands = _TRANSLITERATOR.transliterate(token, top_k=5, country=country)
        texts = [c.text if hasattr(c, "text") else str(c) for c in (cands or [])]
    except Exception:  # the romaniser must never break a batch; "" means "unknown"
        texts = []
    latin = next((t for t in texts if _latin_words(t) <= 1), texts[0] if texts else "")
    _ROMAN_CACHE[key] = latin
    return latin


_AR_JOIN_NEXT = frozenset(("عبد", "ابو", "أبو", "أبي", "ابي"))


def romanize(arabic: str, country: str | None = None) -> str:
    """Likely Latin spelling of an Arabic name, token by token (cached; ``""`` if empty)."""
    c = _country(country)
    tokens: list[str] = []
    pending = ""
    for tok in arabic.split():
        if pending:
            tokens.append(pending + " " + tok)
            pending = ""
        elif tok in _AR_JOIN_NEXT:
            pending = tok
        else:
            tokens.append(tok)
    if pending:
        tokens.append(pending)
    return " ".join(filter(None, (_romanize_token(t, c) for t in tokens)))


def _arabic_for_romanizer(series: pl.Series) -> pl.Series:
    # Light clean-up only (marks, tatweel, spaces): the romaniser's dictionary knows ة/ى/أ.
    e = _squeeze(pl.col("s").cast(pl.String).str.replace_all(_AR_MARKS, ""))
    return series.to_frame("s").select(e).to_series(0)


def romanized_keys(arabic_names: pl.Series, country: str, *, particles: bool = True) -> pl.Series:
    """Skeleton keys (:func:`latin_key`) of the romanised Arabic names.

    Transliterates unique values only (and caches across calls). Null / empty → null."""

    def on_unique(u: pl.Series) -> pl.Series:
        cleaned = _arabic_for_romanizer(u).to_list()
        latin = pl.Series([None if x is None else romanize(x, country) for x in cleaned], dtype=pl.String)
        return latin_key_series(latin, particles=particles).replace("", None)

    return _unique_apply(arabic_names.cast(pl.String), on_unique).alias(arabic_names.name)


# --------------------------------------------------------------------------- frame API

_NAME_COLUMNS = ("given_name_lat", "family_name_lat", "given_name_ar", "family_name_ar")


def _unique_apply(series: pl.Series, fn: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """Run a vectorised Series function on unique values, then broadcast back (1M rows of
    a few thousand distinct names: the string work is done a few thousand times)."""
    uniq = series.unique(maintain_order=False)
    mapped = fn(uniq)
    lut = pl.DataFrame({"k": uniq, "v": mapped})
    return (
        series.to_frame("k")
        .join(lut, on="k", how="left", nulls_equal=True, maintain_order="left")["v"]
        .alias(series.name)
    )


def name_keys(df: pl.DataFrame, country: str, *, particles: bool = True) -> pl.DataFrame:
    """Add normalised forms and matching keys to a frame of person names.

    Input columns (any may be missing or null): ``given_name_lat, family_name_lat,
    given_name_ar, family_name_ar``.  Added columns:

    * ``given_ar_norm, family_ar_norm`` — :func:`normalise_arabic` (particles kept);
    * ``given_lat_norm, family_lat_norm`` — :func:`normalise_latin`;
    * ``given_key, family_key`` — :func:`latin_key` of the Latin name, or of the romanised
      Arabic name (:func:`romanized_keys`) when the Latin one is empty; null when both are;
    * ``full_name_key`` — ``"<given_key> <family_key>"`` (a missing part is empty), null when
      both are null.

    ``particles=False`` drops standalone ben/bent/ould/ibn… (بن، بنت، ولد…) from the keys.
    """
    cols = {
        c: (df[c].cast(pl.String) if c in df.columns else pl.Series(c, [None] * df.height, pl.String))
        for c in _NAME_COLUMNS
    }
    out: dict[str, pl.Series] = {}
    for part in ("given", "family"):
        lat = cols[f"{part}_name_lat"]
        ar = cols[f"{part}_name_ar"]
        out[f"{part}_ar_norm"] = _unique_apply(ar, normalise_arabic_series)
        out[f"{part}_lat_norm"] = _unique_apply(lat, normalise_latin_series)
        lat_key = _unique_apply(lat, lambda s: latin_key_series(s, particles=particles)).replace("", None)
        ar_key = romanized_keys(ar, country, particles=particles)
        out[f"{part}_key"] = lat_key.fill_null(ar_key)
    for name, s in out.items():
        out[name] = s.alias(name)
    res = df.with_columns(list(out.values()))
    full = (
        pl.when(pl.col("given_key").is_null() & pl.col("family_key").is_null())
        .then(None)
        .otherwise(
            pl.concat_str(
                [pl.col("given_key").fill_null(""), pl.col("family_key").fill_null("")], separator=" "
            )
        )
    )
    return res.with_columns(full.alias("full_name_key"))
