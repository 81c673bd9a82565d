"""Django settings, driven by the environment.

USM_DATA_DIR     where the SQLite database and uploads live (default: ~/.local/share/usm)
USM_DATABASE_URL postgresql://user@host:port/name for a real install (default: SQLite in the data dir)
USM_SECRET_KEY   signing key; a per-data-dir key is generated when unset
USM_DEBUG        "1" for development error pages
USM_ALLOWED_HOSTS comma-separated host names (default: localhost names)
"""

import os
import secrets
from pathlib import Path

import dj_database_url


def _data_dir() -> Path:
    configured = os.environ.get("USM_DATA_DIR")
    if configured:
        path = Path(configured).expanduser()
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
        path = base / "usm"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(data_dir: Path) -> str:
    configured = os.environ.get("USM_SECRET_KEY")
    if configured:
        return configured
    # A key kept beside the data survives restarts without anyone having to invent one.
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


DATA_DIR = _data_dir()
BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = _secret_key(DATA_DIR)
DEBUG = os.environ.get("USM_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("USM_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(
    ","
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "usm.organisation",
    "usm.agreements",
    "usm.mir",
    "usm.calls",
    "usm.control",
    "usm.api",
    "usm.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "usm.urls"
WSGI_APPLICATION = "usm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict:
    url = os.environ.get("USM_DATABASE_URL")
    if url:
        database = dj_database_url.parse(url, conn_max_age=60)
        if database["ENGINE"] == "django.db.backends.postgresql":
            # The engine's own statements (usm.calls.rows) are prepared on the server, once per
            # connection. A pooler that cannot keep prepared statements (PgBouncer before 1.21
            # in transaction mode) needs them off: `?prepare_threshold=off` in the URL.
            options = database.setdefault("OPTIONS", {})
            threshold = options.get("prepare_threshold", 5)
            options["prepare_threshold"] = None if threshold in ("off", "none", "") else threshold
            # The dashboard's statements over a month of a large register cost enough for
            # PostgreSQL to compile them to machine code first, which takes longer than it saves
            # on ranges of tens of thousands of rows. Server options given in the URL win.
            options.setdefault("options", "-c jit=off")
        return database
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "usm.sqlite3",
        # WAL lets readers go on while a writer commits; IMMEDIATE takes the write lock up front so
        # two writers queue instead of failing with "database is locked" halfway through. Each
        # step's commit appends a score of pages to the WAL; copying them back every 1,000
        # pages (SQLite's default) rewrote the same index pages every few workflows, every
        # 10,000 (a WAL of up to 40 MB) copies each once per many: ~8% less time per step. The
        # WAL file is cut back to 64 MB when it restarts after a bulk write grew it. A 32 MB
        # page cache per connection (2 MB by default) keeps the indexes a step reads.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA wal_autocheckpoint=10000; PRAGMA journal_size_limit=67108864; "
                "PRAGMA cache_size=-32768;"
            ),
        },
        # Tests run on a real file too, so that concurrent connections behave as in production.
        "TEST": {"NAME": str(DATA_DIR / "test-usm.sqlite3")},
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work is stored in the database and claimed by `usm worker` processes, on SQLite and
# PostgreSQL alike; no broker to run.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

MEDIA_ROOT = DATA_DIR / "media"
# Attachments are served through the application (never straight from MEDIA_ROOT), so that the
# scoping rule decides who may read them.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Static files are served from the app directories by WhiteNoise, so a fresh install needs no
# collectstatic step; a packaged deployment may still collect them into STATIC_ROOT.
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

# Escalations from the SLA sweep go out by mail. Without a mail server configured they are
# written to the worker's output, so that nothing is lost silently on a fresh install.
if os.environ.get("USM_SMTP_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["USM_SMTP_HOST"]
    EMAIL_PORT = int(os.environ.get("USM_SMTP_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("USM_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("USM_SMTP_PASSWORD", "")
    EMAIL_USE_TLS = os.environ.get("USM_SMTP_TLS", "") == "1"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("USM_MAIL_FROM", "usm@localhost")
