"""Translation catalogs: compile them and check them, with Babel (GNU gettext not needed).

Catalogs live in ``sijill/locale/<lang>/LC_MESSAGES/django.po``; the compiled ``.mo`` files
are committed next to them. ``sijill i18n compile`` rewrites a ``.mo`` only when its
content changes; the test suite checks that every catalog is complete (no empty or fuzzy
translation, placeholders intact) and that each ``.mo`` matches its ``.po``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


@dataclass(frozen=True)
class Compiled:
    po: Path
    messages: int
    changed: bool


def catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return sorted(locale_dir.glob("*/LC_MESSAGES/django.po"))


def read_catalog(po: Path) -> Catalog:
    with po.open("rb") as fh:
        return read_po(fh, locale=po.parent.parent.name, abort_invalid=True)


def mo_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def compile_catalogs(locale_dir: Path = LOCALE_DIR, check: bool = False) -> list[Compiled]:
    """Write each catalog's ``.mo`` (unless ``check``); report which ones were out of date."""
    out = []
    for po in catalogs(locale_dir):
        catalog = read_catalog(po)
        data = mo_bytes(catalog)
        mo = po.with_suffix(".mo")
        changed = not mo.exists() or mo.read_bytes() != data
        if changed and not check:
            mo.write_bytes(data)
        out.append(Compiled(po, sum(1 for m in catalog if m.id), changed))
    return out


def catalog_problems(po: Path) -> list[str]:
    """Untranslated, fuzzy or malformed entries of a catalog, one line each."""
    catalog = read_catalog(po)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        label = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {label!r}")
        if not all(strings):
            problems.append(f"untranslated: {label!r}")
        if isinstance(message.id, tuple) and len(strings) != catalog.num_plurals:
            problems.append(f"{len(strings)} plural forms instead of {catalog.num_plurals}: {label!r}")
        for error in message.check(catalog):
            problems.append(f"{error}: {label!r}")
    return problems


# Directories whose strings are not in the UI catalog (country data carries its own labels).
_SKIP = ("migrations", "countries", "synth", "locale")
_KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
}


def source_messages(root: Path | None = None) -> set[str | tuple[str, str]]:
    """Every translatable string of the code and templates under ``root`` (default: the
    sijill package), found as ``makemessages`` finds them but without GNU gettext: templates
    go through Django's ``templatize``, then Babel's Python extractor reads both."""
    from babel.messages.extract import extract_python
    from django.utils.translation.template import templatize

    root = root or LOCALE_DIR.parent
    found: set[str | tuple[str, str]] = set()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if any(part in _SKIP for part in rel[:-1]) or path.suffix not in (".py", ".html"):
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html":
            # Python's tokenizer would trip on the template's indentation: flatten it.
            text = "\n".join(line.lstrip() for line in templatize(text, origin=str(path)).splitlines())
        for _lineno, _func, messages, _comments in extract_python(
            io.BytesIO(text.encode("utf-8")), _KEYWORDS, [], {"encoding": "utf-8"}
        ):
            if isinstance(messages, tuple):
                strings = [str(m) for m in messages if m is not None]
                found.add(strings[0] if len(strings) == 1 else (strings[0], strings[1]))
            elif messages:
                found.add(str(messages))
    return found


def catalog_messages(po: Path) -> set[str | tuple[str, str]]:
    out: set[str | tuple[str, str]] = set()
    for m in read_catalog(po):
        if m.id:
            out.add(m.id if isinstance(m.id, str) else (m.id[0], m.id[1]))
    return out
