"""Read the households and persons tables from CSV, XLSX or Parquet, as text.

Everything is read as strings so that validation, not the reader, decides what a bad
value is, and can say which row and column it was in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

FORMAT_VERSION = "1"
SUFFIXES = (".csv", ".xlsx", ".parquet")
# Columns whose values are mostly distinct; every other column is read as a categorical.
FREE_TEXT = frozenset(
    {
        "household_ref", "person_ref", "declarant_ref", "given_name_lat", "family_name_lat", "given_name_ar",
        "family_name_ar", "father_name_lat", "father_name_ar", "mother_name_lat", "mother_name_ar", "birth_date", "death_date", "registered_on", "id_value", "id2_value", "phone", "address",
    }
)  # fmt: skip


class ImportFileError(ValueError):
    """A whole file cannot be imported (missing, unreadable, wrong columns)."""


@dataclass
class Table:
    name: str  # "households" | "persons"
    path: Path
    frame: pl.DataFrame  # all Utf8, plus "_row" (spreadsheet row number)


def _read(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pl.read_csv(
                path,
                infer_schema=False,
                encoding="utf8",
                truncate_ragged_lines=False,
            )
        elif suffix == ".parquet":
            df = pl.read_parquet(path)
            df = df.with_columns(pl.all().cast(pl.Utf8))
        elif suffix == ".xlsx":
            df = pl.read_excel(path, infer_schema_length=0)
            df = df.with_columns(pl.all().cast(pl.Utf8))
        else:
            raise ImportFileError(
                f"{path.name}: unsupported file type '{suffix}' (use .csv, .xlsx or .parquet)"
            )
    except ImportFileError:
        raise
    except Exception as exc:  # polars raises many error types; report them the same way
        raise ImportFileError(f"{path.name}: cannot be read: {exc}") from exc
    df = df.rename({c: c.strip() for c in df.columns})
    # A rejects file carries the row number and errors of an earlier run: ignore them.
    df = df.drop([c for c in ("_row", "_errors") if c in df.columns])
    # Empty strings and whitespace-only values mean "no value".
    df = df.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in df.columns)
    # Code columns repeat a handful of values: as categoricals they take 4 bytes a value instead of 16+,
    # which halves the memory a large import needs. Validation casts them back, chunk by chunk.
    codes = [c for c in df.columns if c not in FREE_TEXT]
    df = df.with_columns(pl.col(c).cast(pl.Categorical) for c in codes)
    return df.with_row_index("_row", offset=2).with_columns(pl.col("_row").cast(pl.Int64))


def classify(path: Path) -> str:
    name = path.name.lower()
    if "household" in name or "menage" in name:
        return "households"
    if "person" in name or "individu" in name or "member" in name:
        return "persons"
    raise ImportFileError(
        f"{path.name}: cannot tell whether this is the households or the persons table; "
        "its name must contain 'household' or 'person' (see docs/import-format.md)"
    )


def expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if not p.exists():
            raise ImportFileError(f"{p}: no such file or folder")
        if p.is_dir():
            found = sorted(
                f
                for f in p.iterdir()
                if f.suffix.lower() in SUFFIXES and f.stem.lower() in {"households", "persons"}
            )
            if not found:
                raise ImportFileError(f"{p}: no households.* or persons.* file in this folder")
            out.extend(found)
        else:
            out.append(p)
    return out


def read_tables(paths: list[Path]) -> tuple[Table, Table]:
    files = expand(paths)
    by_kind: dict[str, Path] = {}
    for f in files:
        kind = classify(f)
        if kind in by_kind:
            raise ImportFileError(f"two {kind} tables given: {by_kind[kind].name} and {f.name}")
        by_kind[kind] = f
    for kind in ("households", "persons"):
        if kind not in by_kind:
            raise ImportFileError(f"no {kind} table given (see docs/import-format.md)")
    tables = [Table(kind, by_kind[kind], _read(by_kind[kind])) for kind in ("households", "persons")]
    for t in tables:
        if "format_version" in t.frame.columns:
            bad = t.frame.filter(
                pl.col("format_version").is_not_null() & (pl.col("format_version") != FORMAT_VERSION)
            )
            if bad.height:
                row = bad["_row"][0]
                raise ImportFileError(
                    f"{t.path.name} row {row}: format_version '{bad['format_version'][0]}' is not supported "
                    f"(this sijill reads version {FORMAT_VERSION})"
                )
            t.frame = t.frame.drop("format_version")
    return tables[0], tables[1]
