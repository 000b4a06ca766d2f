"""Django settings for sijill. Everything comes from the environment.

``SIJILL_DATABASE_URL``
    Database URL. Default: an embedded SQLite file ``./var/sijill.sqlite3`` in WAL mode.
    ``postgresql://user@host:port/name`` works the same way.
``SIJILL_COUNTRY``
    ISO code of the country profile the registry runs (default ``MA``).
``SIJILL_SECRET_KEY``, ``SIJILL_DEBUG``, ``SIJILL_ALLOWED_HOSTS``
    The usual Django settings.
``SIJILL_VAR_DIR``
    Where the embedded database, rejects files and uploads go (default ``./var``).
``SIJILL_RESCORE_ON_CHANGE``
    ``1`` (default): every change to a household recomputes its score and programme
    decisions in the same transaction. ``0`` leaves that to ``sijill score``.
``SIJILL_SECURE_COOKIES``
    ``1``: session and CSRF cookies only travel over HTTPS. Default: on unless
    ``SIJILL_DEBUG=1``; ``sijill serve`` and ``sijill demo`` turn it off when they listen on
    a loopback address over plain HTTP and the variable is unset.
``SIJILL_SESSION_IDLE_MINUTES``
    A staff session ends after this many minutes without a request (default 30), and
    when the browser closes.
``SIJILL_LOGIN_MAX_FAILURES``, ``SIJILL_LOGIN_WINDOW_MINUTES``, ``SIJILL_LOGIN_LOCK_MINUTES``
    Failed-login throttling per username and client address: this many failures within
    the window lock that pair out for the lock time (defaults 5, 15, 15).
``SIJILL_SMS_BACKEND``, ``SIJILL_SMS_OUTBOX``
    Citizen portal: the class that sends text messages (default
    ``sijill.portal.sms.FileSender``, which appends to ``SIJILL_SMS_OUTBOX``, by default
    ``var/sms/outbox.jsonl``; ``sijill.portal.sms.ConsoleSender`` logs them). See docs/portal.md.
``SIJILL_PORTAL_CODE_MINUTES``, ``SIJILL_PORTAL_MAX_ATTEMPTS``, ``SIJILL_PORTAL_IDLE_MINUTES``
    A one-time code lives 10 minutes and allows 5 wrong entries; a citizen session ends
    after 10 idle minutes (and at most 60 minutes after the code, ``SIJILL_PORTAL_MAX_MINUTES``).
``SIJILL_PORTAL_REQUESTS_PER_ID``, ``SIJILL_PORTAL_REQUESTS_PER_IP``, ``SIJILL_PORTAL_REQUEST_WINDOW_MINUTES``
    Code requests allowed per identifier (3) and per client address (10) within the window (60).
``SIJILL_TRUTH_FILE``
    The synthetic truth (``truth.csv`` of ``sijill synth``) the dashboard measures targeting
    quality against; default the newest ``var/demo/<country>-*/truth.csv``. See docs/web.md.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("SIJILL_VAR_DIR", Path.cwd() / "var")).resolve()


def _secret_key() -> str:
    key = os.environ.get("SIJILL_SECRET_KEY")
    if key:
        return key
    # Persist a random key under var/ so sessions survive restarts of the demo.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    f = VAR_DIR / "secret_key"
    if not f.exists():
        f.write_text(secrets.token_urlsafe(50))
        f.chmod(0o600)
    return f.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("SIJILL_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("SIJILL_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
SIJILL_COUNTRY = os.environ.get("SIJILL_COUNTRY", "MA").upper()
SIJILL_RESCORE_ON_CHANGE = os.environ.get("SIJILL_RESCORE_ON_CHANGE", "1") == "1"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "sijill.core",
    "sijill.registry",
    "sijill.identity",
    "sijill.targeting",
    "sijill.programmes",
    "sijill.accounts",
    # Citizen portal (issue 5): one-time codes, declarations, complaints.
    "sijill.portal",
    "sijill.grievances",
    # Household imports from the web (issue 5, staff screens): docs/web.md.
    "sijill.imports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # An htmx request whose session has ended loads the login page in full.
    "sijill.accounts.middleware.HtmxLoginRedirectMiddleware",
    # Deny by default: every view needs a login unless marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "sijill.urls"
WSGI_APPLICATION = "sijill.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sijill.accounts.context_processors.staff",
            ],
        },
    },
]


def default_database_url() -> str:
    return f"sqlite:///{VAR_DIR / 'sijill.sqlite3'}"


def database_config(url: str) -> dict[str, Any]:
    cfg: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    if cfg["ENGINE"] == "django.db.backends.sqlite3":
        Path(cfg["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        cfg["OPTIONS"] = {
            # WAL, a busy timeout and IMMEDIATE transactions avoid "database is locked"
            # between the web server and batch jobs.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                "PRAGMA busy_timeout=30000; PRAGMA cache_size=-65536;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
        cfg["CONN_MAX_AGE"] = 0
        # A file, not ":memory:", so that bulk jobs' own connections see the test database.
        db = Path(cfg["NAME"])
        cfg["TEST"] = {"NAME": str(db.with_name(f"test_{db.name}"))}
    return cfg


DATABASE_URL = os.environ.get("SIJILL_DATABASE_URL") or default_database_url()
DATABASES = {"default": database_config(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Idle timeout: every request pushes the expiry back; the cookie also dies with the browser.
SESSION_COOKIE_AGE = int(os.environ.get("SIJILL_SESSION_IDLE_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = os.environ.get("SIJILL_SECURE_COOKIES", "0" if DEBUG else "1") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SIJILL_LOGIN_MAX_FAILURES = int(os.environ.get("SIJILL_LOGIN_MAX_FAILURES", "5"))
SIJILL_LOGIN_WINDOW_MINUTES = int(os.environ.get("SIJILL_LOGIN_WINDOW_MINUTES", "15"))
SIJILL_LOGIN_LOCK_MINUTES = int(os.environ.get("SIJILL_LOGIN_LOCK_MINUTES", "15"))

# --- Citizen portal (docs/portal.md) ---
SIJILL_SMS_BACKEND = os.environ.get("SIJILL_SMS_BACKEND", "sijill.portal.sms.FileSender")
SIJILL_SMS_OUTBOX = Path(os.environ.get("SIJILL_SMS_OUTBOX", VAR_DIR / "sms" / "outbox.jsonl"))
SIJILL_PORTAL_CODE_MINUTES = int(os.environ.get("SIJILL_PORTAL_CODE_MINUTES", "10"))
SIJILL_PORTAL_MAX_ATTEMPTS = int(os.environ.get("SIJILL_PORTAL_MAX_ATTEMPTS", "5"))
SIJILL_PORTAL_IDLE_MINUTES = int(os.environ.get("SIJILL_PORTAL_IDLE_MINUTES", "10"))
SIJILL_PORTAL_MAX_MINUTES = int(os.environ.get("SIJILL_PORTAL_MAX_MINUTES", "60"))
SIJILL_PORTAL_REQUESTS_PER_ID = int(os.environ.get("SIJILL_PORTAL_REQUESTS_PER_ID", "3"))
SIJILL_PORTAL_REQUESTS_PER_IP = int(os.environ.get("SIJILL_PORTAL_REQUESTS_PER_IP", "10"))
SIJILL_PORTAL_REQUEST_WINDOW_MINUTES = int(os.environ.get("SIJILL_PORTAL_REQUEST_WINDOW_MINUTES", "60"))

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("ar", _("Arabic")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Numbers and dates follow CLDR for the country's locales (fr_MA, ar_MA, fr_ML): see sijill/formats/.
FORMAT_MODULE_PATH = ["sijill.formats"]
TIME_ZONE = os.environ.get("SIJILL_TIME_ZONE", "Africa/Casablanca")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SIJILL_LOG_LEVEL", "WARNING")},
}

# --- Dashboards (docs/web.md): the synthetic truth (truth.csv of `sijill synth`) that targeting
# quality is measured against. Empty: the newest var/demo/<country>-*/truth.csv, if any.
SIJILL_TRUTH_FILE = os.environ.get("SIJILL_TRUTH_FILE", "")
