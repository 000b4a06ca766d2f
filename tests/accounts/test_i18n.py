"""French (default), Arabic (right to left) and English: catalogs, pages, numbers, dates, money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from sijill.core.i18n import (
    catalog_messages,
    catalog_problems,
    catalogs,
    compile_catalogs,
    read_catalog,
    source_messages,
)
from sijill.core.l10n import format_money
from tests import staff

LANGS = ["ar", "en", "fr"]


def _po(lang):
    return next(p for p in catalogs() if p.parent.parent.name == lang)


def test_there_is_one_catalog_per_language():
    assert [p.parent.parent.name for p in catalogs()] == LANGS


@pytest.mark.parametrize("lang", LANGS)
def test_catalog_is_complete_without_fuzzy_entries(lang):
    po = _po(lang)
    assert catalog_problems(po) == []


@pytest.mark.parametrize("lang", LANGS)
def test_catalog_holds_exactly_the_strings_of_the_code_and_templates(lang):
    po = _po(lang)
    in_code = source_messages()
    in_catalog = catalog_messages(po)
    assert sorted(map(str, in_code - in_catalog)) == [], "not in the catalog: run makemessages (docs/web.md)"
    assert sorted(map(str, in_catalog - in_code)) == [], "no longer in the code"


def test_compiled_catalogs_match_their_sources():
    stale = [str(r.po) for r in compile_catalogs(check=True) if r.changed]
    assert stale == [], "run `sijill i18n compile`"


def test_arabic_has_six_plural_forms_and_french_translations_are_not_english():
    ar = read_catalog(_po("ar"))
    assert ar.num_plurals == 6
    fr = read_catalog(_po("fr"))
    same = [m.id for m in fr if m.id and isinstance(m.id, str) and m.string == m.id]
    # Only words that French writes the same way.
    assert set(same) <= {"Administration", "Commune", "Programme", "Pages", "national", "Rural", "API"}


def test_arabic_plurals_pick_the_right_form():
    with translation.override("ar"):
        t = Template(
            "{% load i18n %}{% blocktranslate count counter=n with shown=n %}{{ shown }} household"
            "{% plural %}{{ shown }} households{% endblocktranslate %}"
        )
        got = [t.render(Context({"n": n})) for n in (0, 1, 2, 3, 11, 100)]
    assert got == ["لا توجد أي أسرة", "أسرة واحدة", "أسرتان", "3 أسر", "11 أسرة", "100 أسرة"]


@pytest.mark.django_db
def test_login_page_in_arabic_is_right_to_left_and_translated(client):
    client.post(reverse("set_language"), {"language": "ar", "next": "/"})
    page = client.get(reverse("login"))
    assert '<html lang="ar" dir="rtl">' in page.text
    assert (
        "تسجيل الدخول" in page.text
        and "اسم المستخدم" in page.text
        and "الانتقال إلى المحتوى الرئيسي" in page.text
    )
    assert "Log in" not in page.text and "Username" not in page.text


@pytest.mark.django_db
def test_french_is_the_default_and_english_is_left_to_right(client):
    page = client.get(reverse("login"))
    assert '<html lang="fr" dir="ltr">' in page.text and "Se connecter" in page.text
    page = client.get(reverse("login"), headers={"accept-language": "en"})
    assert '<html lang="en" dir="ltr">' in page.text and "Log in" in page.text


@pytest.mark.django_db
def test_staff_pages_are_translated_in_arabic(geo, client):
    client.force_login(staff.staff("agent", "ENUMERATOR", ("MA-CAS",)))
    client.post(reverse("set_language"), {"language": "ar", "next": "/"})
    home = client.get(reverse("home"))
    assert 'dir="rtl"' in home.text
    for arabic in (
        "لوحة القيادة",
        "الأسر",
        "حسابي",
        "تسجيل الخروج",
        "باحث ميداني أو عون مركز",
        "الدار البيضاء",
    ):
        assert arabic in home.text
    assert "Dashboard" not in home.text and "Households" not in home.text


def _render(src: str, lang: str, **context) -> str:
    with translation.override(lang):
        return Template("{% load humanize sijill %}" + src).render(Context(context))


def test_numbers_follow_cldr_for_the_locale():
    n = 1234567
    assert _render("{{ n|intcomma }}", "fr", n=n) == "1\u202f234\u202f567"
    assert _render("{{ n|intcomma }}", "ar", n=n) == "1.234.567"  # Western digits: Morocco's usage
    assert _render("{{ n|intcomma }}", "en", n=n) == "1,234,567"


def test_dates_use_the_locale_and_moroccan_month_names_in_arabic():
    d = dt.date(2025, 8, 15)
    assert _render('{{ d|date:"DATE_FORMAT" }}', "fr", d=d) == "15 août 2025"
    assert _render('{{ d|date:"DATE_FORMAT" }}', "ar", d=d) == "15 غشت 2025"
    assert _render('{{ d|date:"DATE_FORMAT" }}', "en", d=d) == "15 August 2025"


def test_money_uses_the_profile_currency_in_the_active_locale():
    amount = Decimal("1234.50")
    assert _render("{{ a|money }}", "fr", a=amount) == "1\u202f234,50\xa0MAD"
    assert _render("{{ a|money }}", "ar", a=amount) == "\u200f1.234,50\xa0د.م.\u200f"
    assert _render("{{ a|money }}", "en", a=amount) == "MAD\xa01,234.50"
    assert _render("{{ a|money }}", "fr", a=None) == ""


@override_settings(SIJILL_COUNTRY="ML")
def test_money_in_mali_is_in_cfa_francs_without_decimals():
    assert format_money(Decimal("1234"), language="fr") == "1\u202f234\xa0F\u202fCFA"
    assert _render("{{ a|money }}", "fr", a=Decimal("25000")) == "25\u202f000\xa0F\u202fCFA"
