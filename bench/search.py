"""Household search and the household page at 1,000,000 households: ``./dev bench --what search``.

Builds once (and then reuses) a synthetic Moroccan registry of ``--households`` households
(``sijill synth`` + ``sijill import``, which writes the search keys) in a SQLite file under
``var/bench-search/`` and, when ``SIJILL_BENCH_PG_URL`` is set (``./dev bench`` starts a
throwaway cluster), in a PostgreSQL database ``bench_search_<n>`` on that server. A
database built before the search existed gets its keys from ``sijill search rebuild``
(timed).

Then, in a fresh process per database, for households drawn at random (seeded): the
latency of :func:`sijill.registry.search.find_households` (the real selector, behind the
staff page) for a mix of queries — full and partial registry number, national identifier
typed with a space, phone typed the local way, Latin name, Arabic name, misspelt Latin
name, misspelt Arabic name — once for a national account and once for an account
limited to the household's province; whether the household is found (and first); the
search page and the household page through Django's test client (template rendering,
middleware, session). "Before": the selector the page used until then (registry number
prefix or file reference; names, identifiers and phones were not searchable).

Figures go to docs/benchmarks.md, section "Household search (1M households)".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import ROOT, git_rev, run_measured, sijill, write_section

SECTION = "Household search (1M households)"
SAMPLES = 40


def _env(url: str, var: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SIJILL_DATABASE_URL": url,
        "SIJILL_VAR_DIR": str(var),
        "SIJILL_RESCORE_ON_CHANGE": "0",
    }


def _data(root: Path, n: int) -> Path:
    data = root / f"synth-ma-{n}"
    if not (data / "persons.parquet").exists():
        print(f"generating {n:,} households ...", flush=True)
        subprocess.run(
            sijill("synth", "--country", "ma", "--households", str(n), "--seed", "1", "--out", str(data),
                   "--format", "parquet"),
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
    return data


def _build(backend: str, url: str, env: dict[str, str], data: Path, fresh: bool) -> list[dict[str, object]]:
    """Import if the database is new; rebuild the keys if it has none. Returns the timed steps."""
    steps: list[dict[str, object]] = []
    subprocess.run(sijill("migrate"), cwd=ROOT, env=env, check=True, capture_output=True)
    if fresh:
        print(f"importing into {backend} ...", flush=True)
        secs, peak, out = run_measured(
            sijill("import", str(data / "households.parquet"), str(data / "persons.parquet"), "--json"), env
        )
        s = json.loads(out)
        steps.append({"backend": backend, "step": "import (search keys included)", "seconds": secs, "peak_mb": peak,
                      "detail": f"{s['loaded']:,} households, {s['persons_loaded']:,} persons; of which search keys "
                                f"{s['phases'].get('search_keys', 0):.0f} s"})  # fmt: skip
    probe = subprocess.run(
        [sys.executable, __file__, "--count-keys"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    if int(probe.stdout.strip() or 0) == 0:
        print(f"rebuilding the search keys on {backend} ...", flush=True)
        secs, peak, out = run_measured(sijill("search", "rebuild"), env)
        steps.append({"backend": backend, "step": "sijill search rebuild", "seconds": secs, "peak_mb": peak,
                      "detail": out.strip().splitlines()[-1] if out.strip() else ""})  # fmt: skip
    return steps


def _pg_url(base: str, n: int) -> tuple[str, bool]:
    import psycopg

    root = base.rsplit("/", 1)[0]
    name = f"bench_search_{n}"
    with psycopg.connect(f"{root}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{root}/{name}"
    if exists:
        with psycopg.connect(url) as conn:
            try:
                has = conn.execute("SELECT 1 FROM registry_household LIMIT 1").fetchone() is not None
            except psycopg.Error:
                has = False
        if not has:
            with psycopg.connect(f"{root}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
        return url, not has
    return url, True


# --------------------------------------------------------------------------- measurement (child)


def _misspell_latin(name: str, rng: random.Random) -> str:
    """Two spelling changes a clerk makes: a doubled or undoubled consonant, ou/u, e/a, an
    article added or dropped, a swapped transliteration (ch/sh, k/q)."""
    edits = [
        lambda s: s.replace("mm", "m") if "mm" in s else s.replace("m", "mm", 1),
        lambda s: s.replace("ss", "s") if "ss" in s else s.replace("s", "ss", 1),
        lambda s: s.replace("ou", "u") if "ou" in s else s.replace("u", "ou", 1),
        lambda s: s.replace("e", "a", 1) if "e" in s else s.replace("a", "e", 1),
        lambda s: s.replace("El ", "") if "El " in s else s.replace(" ", " El ", 1),
        lambda s: s.replace("ch", "sh", 1) if "ch" in s else s.replace("k", "q", 1),
    ]
    out = name
    for e in rng.sample(edits, 2):
        out = e(out)
    return out


def _misspell_arabic(name: str) -> str:
    """Hamza dropped from the alef, final ya written as alef maksura, ta marbuta as ha."""
    return name.replace("أ", "ا").replace("إ", "ا").replace("ي ", "ى ").replace("ة", "ه").rstrip("ي") + (
        "ى" if name.endswith("ي") else ""
    )


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(q * (len(values) - 1))))
    return values[k]


def measure(samples: int, seed: int) -> dict[str, object]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sijill.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.paginator import Paginator
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from sijill.accounts.models import StaffProfile
    from sijill.accounts.selectors import area_paths_of, scope_households
    from sijill.accounts.services import create_staff_user
    from sijill.registry import selectors
    from sijill.registry.models import ExternalIdentifier, Household, Membership, SearchKey
    from sijill.registry.search import find_households

    settings.ALLOWED_HOSTS = ["*"]
    rng = random.Random(seed)
    lo, hi = (
        Household.objects.order_by("id").values_list("id", flat=True).first(),
        Household.objects.order_by("-id").values_list("id", flat=True).first(),
    )
    picked = list(
        Household.live.filter(pk__in=[rng.randint(lo, hi) for _ in range(samples * 2)]).select_related("area")
    )[:samples]
    national = StaffProfile.objects.filter(user__username="bench-national").first()
    user = national.user if national else create_staff_user(
        "bench-national", "bench-password-2026", "SOCIAL_WORKER", (), national=True, check_password=False
    )  # fmt: skip
    queries: dict[str, list[tuple[str, Household]]] = {k: [] for k in (
        "registry number", "registry number, first 6 digits", "member's identifier", "phone",
        "Latin name", "Arabic name", "misspelt Latin name", "misspelt Arabic name")}  # fmt: skip
    for h in picked:
        members = list(Membership.live.filter(household=h, end_date__isnull=True).select_related("person"))
        if not members:
            continue
        m = rng.choice(members).person
        queries["registry number"].append((h.registry_id, h))
        queries["registry number, first 6 digits"].append((h.registry_id[:6], h))
        ident = ExternalIdentifier.live.filter(person__memberships__household=h).first()
        if ident is not None:
            queries["member's identifier"].append((ident.value[:2] + " " + ident.value[2:], h))
        phone = h.phone or next((x.person.phone for x in members if x.person.phone), "")
        if phone.startswith("+212"):
            local = "0" + phone[4:]
            queries["phone"].append((" ".join([local[:2], local[2:4], local[4:6], local[6:8], local[8:]]), h))
        if m.given_name_lat and m.family_name_lat:
            queries["Latin name"].append((f"{m.given_name_lat} {m.family_name_lat}", h))
            queries["misspelt Latin name"].append(
                (_misspell_latin(f"{m.given_name_lat} {m.family_name_lat}", rng), h)
            )
        if m.given_name_ar and m.family_name_ar:
            queries["Arabic name"].append((f"{m.given_name_ar} {m.family_name_ar}", h))
            queries["misspelt Arabic name"].append(
                (_misspell_arabic(f"{m.given_name_ar} {m.family_name_ar}"), h)
            )
    # Warm up (first romanisation loads its dictionary; first query compiles the regexes).
    everyone = Household.objects.all()
    for text in ("Mohamed El Idrissi", "محمد الإدريسي", "0612345678"):
        find_households(everyone, text)
    rows: list[dict[str, object]] = []
    for kind, qs in queries.items():
        for scope in ("national", "province"):
            times, found, first = [], 0, 0
            for text, h in qs:
                if scope == "national":
                    base, paths = everyone, None
                else:
                    paths = ["/".join(h.area_path.split("/")[:2])]
                    base = Household.objects.filter(area_path__startswith=paths[0] + "/")
                t0 = time.perf_counter()
                result = find_households(base, text, area_paths=paths)
                times.append((time.perf_counter() - t0) * 1000)
                got = [x.household.pk for x in result.hits]
                found += h.pk in got
                first += bool(got) and got[0] == h.pk
            if times:
                rows.append({"what": kind, "scope": scope, "n": len(times), "p50": _pct(times, 0.5),
                             "p95": _pct(times, 0.95), "max": max(times), "found": found / len(times),
                             "first": first / len(times)})  # fmt: skip
    # Before: the selector the page used (registry number prefix or file reference), evaluated as
    # the page did (count, then the first page of 25).
    for kind in ("registry number", "registry number, first 6 digits"):
        times = []
        for text, _h in queries[kind]:
            t0 = time.perf_counter()
            page = Paginator(selectors.search_households(everyone, text), 25).get_page(1)
            list(page.object_list)
            times.append((time.perf_counter() - t0) * 1000)
        rows.append({"what": f"{kind} (before: previous selector)", "scope": "national", "n": len(times),
                     "p50": _pct(times, 0.5), "p95": _pct(times, 0.95), "max": max(times)})  # fmt: skip
    client = Client()
    client.force_login(user)
    pages: dict[str, list[float]] = {
        "household page": [],
        "household page: how each amount is made (htmx part)": [],
        "search page (Latin name)": [],
        "search page (Arabic name)": [],
    }
    for h in picked:
        t0 = time.perf_counter()
        r = client.get(reverse("household", args=[h.registry_id]))
        pages["household page"].append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.status_code
        # The parts of each amount: the rules run on this one household (loaded after the page).
        t0 = time.perf_counter()
        r = client.get(reverse("household_entitlements", args=[h.registry_id]), HTTP_HX_REQUEST="true")
        pages["household page: how each amount is made (htmx part)"].append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.status_code
    for kind, key in (
        ("Latin name", "search page (Latin name)"),
        ("Arabic name", "search page (Arabic name)"),
    ):
        for text, _h in queries[kind]:
            t0 = time.perf_counter()
            r = client.get(reverse("households"), {"q": text}, HTTP_HX_REQUEST="true")
            pages[key].append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.status_code
    for what, times in pages.items():
        rows.append({"what": what, "scope": "national", "n": len(times), "p50": _pct(times, 0.5),
                     "p95": _pct(times, 0.95), "max": max(times)})  # fmt: skip
    assert area_paths_of(user) is None and scope_households(everyone, user) is not None
    return {
        "backend": connection.vendor,
        "households": Household.objects.count(),
        "keys": SearchKey.objects.count(),
        "rows": rows,
    }


# --------------------------------------------------------------------------- report


def render(steps: list[dict[str, object]], results: list[dict[str, object]]) -> str:
    import datetime as dt
    import platform

    lines = [
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, commit {git_rev()}; the cores were shared with other work. "
        f"Latency in milliseconds of `find_households` (the selector behind the staff page) on households drawn at "
        f"random, after one warm-up query per script; *found*: the household is among the results, *first*: it "
        f"comes first. *province*: an account limited to the household's province.",
        "",
    ]
    if steps:
        lines += ["| backend | step | seconds | peak memory (MB) | detail |", "|---|---|---:|---:|---|"]
        lines += [f"| {s['backend']} | {s['step']} | {float(s['seconds']):.0f} | {s['peak_mb']:,} | {s['detail']} |"  # type: ignore[arg-type]
                  for s in steps]  # fmt: skip
        lines.append("")
    for res in results:
        lines += [
            f"**{res['backend']}**: {int(res['households']):,} households, {int(res['keys']):,} search keys.",  # type: ignore[call-overload]
            "",
            "| what | scope | queries | p50 ms | p95 ms | max ms | found | first |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in res["rows"]:  # type: ignore[attr-defined]
            found = f"{r['found']:.0%}" if "found" in r else ""
            first = f"{r['first']:.0%}" if "first" in r else ""
            lines.append(f"| {r['what']} | {r['scope']} | {r['n']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | "
                         f"{found} | {first} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines).rstrip()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument(
        "--dir", type=Path, default=ROOT / "var" / "bench-search", help="where the registry is kept"
    )
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--samples", type=int, default=SAMPLES)
    ap.add_argument("--section", default=SECTION)
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--count-keys", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.count_keys:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sijill.settings")
        import django

        django.setup()
        from sijill.registry.models import SearchKey

        print(1 if SearchKey.objects.exists() else 0)
        return
    if a.measure:
        print(json.dumps(measure(a.samples, 7)))
        return
    a.dir.mkdir(parents=True, exist_ok=True)
    data = _data(a.dir, a.households)
    steps: list[dict[str, object]] = []
    results: list[dict[str, object]] = []
    for backend in a.backends.split(","):
        if backend == "sqlite":
            db = a.dir / f"search-{a.households}.sqlite3"
            url, fresh = f"sqlite:///{db}", not db.exists()
        else:
            base = os.environ.get("SIJILL_BENCH_PG_URL")
            if not base:
                print("PostgreSQL: SIJILL_BENCH_PG_URL not set, skipped", flush=True)
                continue
            url, fresh = _pg_url(base, a.households)
        env = _env(url, a.dir / "var")
        steps += _build(backend, url, env, data, fresh)
        print(f"measuring on {backend} ...", flush=True)
        out = subprocess.run(
            [sys.executable, __file__, "--measure", "--samples", str(a.samples)],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )  # fmt: skip
        if out.returncode != 0:
            raise SystemExit(f"measuring on {backend} failed:\n{out.stderr[-3000:]}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    write_section(a.section, render(steps, results))
    print(f"written to {ROOT / 'docs' / 'benchmarks.md'}")


if __name__ == "__main__":
    main()
