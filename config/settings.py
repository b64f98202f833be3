"""The only settings module. Everything comes from the environment (12-factor); see .env.example.

With nothing set, Verbatim runs on a laptop: SQLite file, tasks in-process, mail on the console.
"""
from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Secrets may come from files (Docker/Kubernetes secrets): FOO_FILE=/run/secrets/foo.
for _name in ("SECRET_KEY", "DATABASE_URL", "EMAIL_URL", "REDIS_URL"):
    _path = os.environ.get(f"{_name}_FILE")
    if _path and _name not in os.environ:
        os.environ[_name] = Path(_path).read_text().strip()

DEV_SECRET_KEY = "django-insecure-verbatim-development-only"
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default=DEV_SECRET_KEY)
# Production (DEBUG off and not explicitly a dev/test run) refuses the default secret.
# pytest (>= 8.2) sets PYTEST_VERSION; a test run is never production.
VERBATIM_ENV = env(
    "VERBATIM_ENV",
    default="test" if os.environ.get("PYTEST_VERSION") else ("development" if DEBUG else "production"),
)
if VERBATIM_ENV == "production" and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production (or set VERBATIM_ENV=development).")

SITE_URL = env("SITE_URL", default="http://localhost:8000").rstrip("/")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "corsheaders",
    "anymail",
    "axes",
    "accounts",
    "surveys",
    "responses",
    "integrations",
    "integrations.delighted",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "accounts.middleware.ScopeResetMiddleware",
    "accounts.middleware.RejectNulMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "accounts.middleware.AccountMiddleware",
]
# The respondent's JSON submit (POST /r/<token>, application/json) runs on this stack instead
# (config/wsgi.py, responses/handler.py): no session, user, messages, axes, account or CORS.
RESPONDENT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accounts.middleware.ScopeResetMiddleware",
    "accounts.middleware.RejectNulMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "responses.handler.ContentLengthMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.context_processors.account_nav",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'verbatim.sqlite3'}")}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = env(
        "DB_APPLICATION_NAME", default="verbatim"
    )
    # Server-side prepared statements for the few hot statements that ask for them (accounts/sql.py
    # fetchone_prepared: the respondent's door and write, the send step). Django's own queries bind
    # client-side and are never prepared; the threshold only keeps psycopg from preparing anything else.
    # Off (DB_PREPARED_STATEMENTS=false) behind a pooler in transaction mode older than PgBouncer 1.21.
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 1_000_000_000
        # Their plans do not depend on the values (ids, a token hash): plan once per connection, not once
        # per execution (PostgreSQL's default re-plans a prepared statement while a custom plan looks cheaper).
        DATABASES["default"]["OPTIONS"]["options"] = "-c plan_cache_mode=force_generic_plan"
else:
    # SQLite: wait for the writer instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ],
)
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Brute-force protection on log-in (django-axes): lock a username+IP pair after 5 failures for 15 min.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("fi", "Suomi"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or VERBATIM_ENV != "production"
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Cache: Redis when configured (shared rate-limit counters), local memory otherwise.
REDIS_URL = env("REDIS_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery: Redis broker; with no broker, tasks run in-process so a laptop needs nothing.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = False  # at-most-once for email in the crash window (D1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}  # apps add their periodic tasks in their AppConfig.ready()

# Email: EMAIL_URL (smtp://host:port, django-environ's form), an anymail ESP, or the console.
EMAIL_URL = env("EMAIL_URL", default="")
ANYMAIL_ESP = env("ANYMAIL_ESP", default="")  # e.g. "postmark", "mailgun", "amazon_ses"
if ANYMAIL_ESP:
    EMAIL_BACKEND = f"anymail.backends.{ANYMAIL_ESP}.EmailBackend"
elif EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
ANYMAIL = {
    key[len("ANYMAIL_"):]: value
    for key, value in os.environ.items()
    if key.startswith("ANYMAIL_") and key != "ANYMAIL_ESP"
}
if "WEBHOOK_SECRET" in ANYMAIL:
    ANYMAIL["WEBHOOK_SECRET"] = ANYMAIL["WEBHOOK_SECRET"].split(",")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Verbatim <surveys@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
}
# Requests per API key (REST and /v1/) per window, "<count>/<seconds>"; Retry-After on 429.
API_RATE_LIMIT = env("API_RATE_LIMIT", default="600/60")
SPECTACULAR_SETTINGS = {
    "TITLE": "Verbatim API",
    "DESCRIPTION": "Verbatim's REST API. The Delighted-compatible API lives under /v1/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {"CaseStatusEnum": "responses.models.Case.Status",
                            "ContactChannelEnum": "responses.models.Case.ContactChannel"},
}

CORS_URLS_REGEX = r"^/w/.*$"  # only the web-widget endpoints are cross-origin
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False

# Sending (surveys/services/sending.py). Each message's "sending" mark is committed before the mail
# server sees it (D1). On by default: that commit waits for the WAL flush, so even a PostgreSQL or OS
# crash cannot send a message twice. Off: ~2 ms faster per message on a slow disk, at the price of
# possibly re-sending the messages of the last ~0.6 s after such a crash (never after a worker crash).
SEND_SYNCHRONOUS_COMMIT = env.bool("SEND_SYNCHRONOUS_COMMIT", default=True)
# Sender lanes per send task: the batch is split over this many threads, each with its own database
# and mail connection, so their durable "sending" commits share WAL flushes (group commit) instead of
# queueing one flush each. 1: the batch goes out sequentially, as before. 3 is the fastest with the
# worker's 2 pool processes on 2 cores (docs/performance.md, "Dispatch with the real worker").
SEND_LANES = env.int("SEND_LANES", default=3)
# Complaint-rate auto-pause (EM-8; surveys/services/complaints.py) and who hears about it.
OPERATOR_EMAIL = env.str("OPERATOR_EMAIL", default="")
COMPLAINT_RATE_THRESHOLD = env.float("COMPLAINT_RATE_THRESHOLD", default=0.003)
COMPLAINT_MIN_SENDS = env.int("COMPLAINT_MIN_SENDS", default=1000)
COMPLAINT_WINDOW_DAYS = env.int("COMPLAINT_WINDOW_DAYS", default=30)

# Outbound HTTP (Slack, Zapier, webhooks): refuse loopback/private targets unless this is on (tests).
OUTBOUND_ALLOW_LOOPBACK = env.bool("OUTBOUND_ALLOW_LOOPBACK", default=False)
# Webhook retries (D6): seconds to wait after attempt 1, 2, ... (Standard Webhooks example, ~3 days).
WEBHOOK_RETRY_SCHEDULE = [int(s) for s in env.list(
    "WEBHOOK_RETRY_SCHEDULE", default=["5", "300", "1800", "7200", "18000", "36000", "50400", "72000", "86400"])]
WEBHOOK_DISABLE_AFTER_SECONDS = env.int("WEBHOOK_DISABLE_AFTER_SECONDS", default=5 * 24 * 3600)
WEBHOOK_DISABLE_MIN_FAILURES = env.int("WEBHOOK_DISABLE_MIN_FAILURES", default=5)
# A web process publishes fan-out messages from a thread that waits this long to gather an account's events
# into one broker message (accounts/events.py); fan-out latency grows by at most this much.
# Tests: none, so a test's events reach its real worker before the test ends (and its database is flushed).
EVENT_PUBLISH_WINDOW_MS = env.int("EVENT_PUBLISH_WINDOW_MS", default=0 if VERBATIM_ENV == "test" else 100)
EVENT_SWEEP_AFTER_SECONDS = env.int("EVENT_SWEEP_AFTER_SECONDS", default=30)  # pending events the sweeper republishes

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
CSRF_FAILURE_VIEW = "responses.public_views.csrf_failure"  # friendly 403 that keeps the chosen score
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
    "loggers": {"verbatim": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO"),
                             "propagate": False}},
}
