"""Settings shared by every environment.

Everything that differs between machines comes from environment variables, read with
django-environ, which raises ImproperlyConfigured when a value is malformed.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from core.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_flag(name: str, *, default: bool) -> bool:
    """A boolean from the environment; anything but a clear yes or no stops the start-up."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


DEBUG = env_flag("DEBUG", default=False)
# Whether `manage.py seed_demo` may load the demo people (known passwords) into this database:
# on only in the local settings; seed_demo refuses production settings whatever this says.
DEMO_DATA = env_flag("DEMO_DATA", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    # API tokens stored hashed, with an expiry (replaces rest_framework.authtoken).
    "knox",
    # Two-step sign-in: TOTP from an authenticator app, and one-time backup codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "sellers",
    "orders",
    "notifications",
    "messaging",
    "disputes",
]

MIDDLEWARE = [
    # Every request's time, view and status for /metrics (core/metrics.py), then its id (core/request_id.py).
    "core.metrics.RequestMetricsMiddleware",
    "core.request_id.RequestIdMiddleware",
    # The probes answer here, before the host check: a load balancer probes the process by its address.
    "core.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # The viewer's language, once the viewer is known (after LocaleMiddleware's guess from the request).
    "accounts.middleware.ViewerLanguageMiddleware",
    "accounts.two_step.TwoStepRequiredMiddleware",
    "accounts.middleware.ViewerTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
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
                "django.template.context_processors.tz",
                "accounts.context_processors.viewer",
                "messaging.context_processors.unread",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# With no DATABASE_URL: a local SQLite file, so `make run` needs no server.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages (README "Languages"). A page speaks the signed-in person's choice, else the language their
# browser asked for when they last signed in, else this request's Accept-Language, else English; the API
# lets the request's Accept-Language win; notices and emails speak their recipient's (accounts/middleware.py,
# notifications/render.py). The catalogs are locale/<language>/LC_MESSAGES/django.po, compiled by `make`.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("zh-hans", _("Simplified Chinese")),
    ("es", _("Spanish")),
    ("ru", _("Russian")),
    ("pt-br", _("Portuguese (Brazil)")),
    ("fr", _("French")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates and times as each language writes them, always with the zone they are shown in (config/formats/).
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
# Who translates a message between a buyer and a seller who read different languages (messaging/translation.py).
# The default sends no text anywhere and says that no translation is available.
MESSAGE_TRANSLATOR = env.str("MESSAGE_TRANSLATOR", default="messaging.translation.NoTranslation")
# Stored and compared in UTC; shown in the viewer's own zone (accounts.middleware).
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Photos are private: no URL route serves MEDIA_URL; they go out only through a view that checks
# the requester (messaging). The value exists because Django's tooling expects one.
MEDIA_URL = "/private-media-not-served/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Uploads: a message carries up to 6 photos of 10 MB each.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# The whole request: six full-size photos and the form around them.
MAX_REQUEST_UPLOAD_BYTES = 61_000_000

# Django 6.1 configures mail through MAILERS; EMAIL_URL (e.g. smtp+tls://user:pass@host:587) fills it.
_email = env.email_url("EMAIL_URL", default="consolemail://")
_smtp_options = {
    "host": _email.get("EMAIL_HOST"),
    "port": _email.get("EMAIL_PORT"),
    "username": _email.get("EMAIL_HOST_USER"),
    "password": _email.get("EMAIL_HOST_PASSWORD"),
    "use_tls": _email.get("EMAIL_USE_TLS"),
    "use_ssl": _email.get("EMAIL_USE_SSL"),
    "timeout": 10,
}
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": (
            {k: v for k, v in _smtp_options.items() if v not in (None, "")}
            if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
            else {}
        ),
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Dispute desk <no-reply@dispute-desk.local>")
# Where the site is reached: every link in an email or the API, and any link built outside a
# request (sweeps, tasks), starts with it (notifications/render.py).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")) or " " in SITE_URL:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"SITE_URL must be an http:// or https:// address, not {SITE_URL!r}.")

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dd",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# How many proxies of ours stand in front of the app, each appending to X-Forwarded-For. 0 (the
# default) believes no header: the client is REMOTE_ADDR. Sign-in throttles, DRF throttles and the
# audit log all use this one address (core/client.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its authenticate_header makes an anonymous request a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttles.AnonRateThrottle",
        "core.throttles.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/minute"),
        "user": env.str("THROTTLE_USER", default="2000/minute"),
        "auth": env.str("THROTTLE_AUTH", default="20/minute"),
        # Writes that cost: per user, on the API and the pages alike (core/throttles.py).
        "messages": env.str("THROTTLE_MESSAGES", default="30/hour"),
        "evidence": env.str("THROTTLE_EVIDENCE", default="30/hour"),
        "dispute_open": env.str("THROTTLE_DISPUTE_OPEN", default="10/hour"),
        "extension": env.str("THROTTLE_EXTENSION", default="10/hour"),
    },
    "COERCE_DECIMAL_TO_STRING": True,
    # The throttles' client address, as core.client.client_address reads it: no header is
    # believed unless our own proxies wrote it (None would believe any X-Forwarded-For).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Dispute desk API",
    "DESCRIPTION": "Marketplace dispute resolution: orders, messages, disputes.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PayerEnum": "sellers.models.Payer",
        "PartyEnum": "disputes.models.Party",
        "ProposalPartyEnum": ["buyer", "seller"],
        "DisputeStateEnum": "disputes.states.State",
        "RequestStateEnum": "disputes.models.RequestState",
        "RequestKindEnum": "disputes.models.RequestKind",
        "RequestReasonEnum": "disputes.requests.REASONS",
        "DisputeReasonEnum": "disputes.models.Reason",
        "RequestOutcomeEnum": "disputes.models.RequestOutcome",
        "DisputeOutcomeEnum": "disputes.models.Outcome",
        "ProposalKindEnum": "disputes.models.Proposal.Kind",
        "OrderStatusEnum": "orders.models.OrderStatus",
        "CaseStatusEnum": "disputes.models.Case.Status",
        "CaseRulingStatusEnum": "disputes.models.CaseRuling.Status",
        "RulingOutcomeEnum": "disputes.models.RULING_OUTCOMES",
    },
}

# --- Celery ---------------------------------------------------------------------------------
# With no REDIS_URL: Celery's filesystem broker under var/, so nothing else needs installing.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Above the longest task's hard time limit, so a slow task is not delivered twice.
        "visibility_timeout": 3600,
        "socket_connect_timeout": 1,
        "socket_timeout": 5,
        # A publish tries the broker once: a request never waits on a broker that is down
        # (the sweeps find the work in the database). Workers reconnect through Celery's own loop.
        "max_retries": 0,
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "celery" / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        # kombu's exchange tables: under var/ too (left unset, kombu writes them to ./control/).
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Reliability, as Celery's docs recommend for a Redis broker: acknowledge after the task ran,
# give the message back when a worker dies, take one message at a time, bound every task.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must never hang a web request when the broker is down: fail fast, sweeps catch up.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY = False
# Static beat schedule: every clock is a column, swept each minute (no deadline lives in the broker).
CELERY_BEAT_SCHEDULE = {
    "run-sweeps-every-minute": {"task": "disputes.tasks.run_sweeps", "schedule": 60.0, "options": {"expires": 55}},
    # The money check (manage.py reconcile): once a day; the superusers hear of any mismatch.
    "reconcile-daily": {
        "task": "disputes.reconcile.reconcile_task",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 3600},
    },
}
CELERY_IMPORTS = ["disputes.reconcile"]

# --- Operations (docs/operations.md) --------------------------------------------------------
# /metrics answers these addresses or networks (e.g. 10.0.0.0/8), or a request bearing METRICS_TOKEN
# ("Authorization: Bearer ...").
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_ADDRESSES = env.list("METRICS_ALLOWED_ADDRESSES", default=["127.0.0.1", "::1"])
# The business gauges are counted at most once per this many seconds, whoever scrapes.
METRICS_CACHE_SECONDS = env.int("METRICS_CACHE_SECONDS", default=15)
# /readyz: the sweeps' heartbeat older than this is stale (beat or the worker has stopped).
BEAT_STALE_SECONDS = env.int("BEAT_STALE_SECONDS", default=180)
# /readyz keeps its answer this long per process, and runs its checks one poll at a time.
READYZ_CACHE_SECONDS = env.float("READYZ_CACHE_SECONDS", default=2.0)

# --- Product rules (every number is a setting) ----------------------------------------------
DISPUTE_WINDOW_OPENS_AFTER_DAYS = env.int("DISPUTE_WINDOW_OPENS_AFTER_DAYS", default=6)
EXTENSION_MAX_DAYS = env.int("EXTENSION_MAX_DAYS", default=30)

# Logs: JSON lines (LOG_FORMAT=json, production's default) or readable lines; every line of a request,
# and of the tasks it queued, carries its request id (core/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = logging_config(LOG_FORMAT)

# --- Photos -------------------------------------------------------------------------------------
PHOTO_MAX_BYTES = env.int("PHOTO_MAX_BYTES", default=10_000_000)
PHOTO_MAX_PIXELS = env.int("PHOTO_MAX_PIXELS", default=40_000_000)
PHOTOS_PER_MESSAGE = 6
MESSAGE_MAX_LENGTH = 5000
MESSAGE_EMAIL_INTERVAL_MINUTES = 10
# Django refuses a request with more file parts than this before any view runs.
DATA_UPLOAD_MAX_NUMBER_FILES = 12

# Failed password checks at any door (page, admin, API token), counted over a sliding window per
# account and address, per address, per account (accounts/throttle.py). Past a limit each further
# failure doubles the wait, from the base up to the cap. Past the account's limit only addresses
# that never signed in to it wait.
SIGNIN_FAILURES_PER_ACCOUNT_ADDRESS = env.int("SIGNIN_FAILURES_PER_ACCOUNT_ADDRESS", default=5)
SIGNIN_FAILURES_PER_ACCOUNT = env.int("SIGNIN_FAILURES_PER_ACCOUNT", default=10)
SIGNIN_FAILURES_PER_ADDRESS = env.int("SIGNIN_FAILURES_PER_ADDRESS", default=50)
SIGNIN_FAILURE_WINDOW_MINUTES = env.int("SIGNIN_FAILURE_WINDOW_MINUTES", default=15)
SIGNIN_DELAY_BASE_SECONDS = env.int("SIGNIN_DELAY_BASE_SECONDS", default=30)
SIGNIN_DELAY_MAX_SECONDS = env.int("SIGNIN_DELAY_MAX_SECONDS", default=900)
SIGNIN_KNOWN_ADDRESS_DAYS = env.int("SIGNIN_KNOWN_ADDRESS_DAYS", default=90)

# API tokens (POST /api/auth/token/) expire after this many days; a password change, a
# deactivation or POST /api/auth/logout/ revokes them.
API_TOKEN_DAYS = env.int("API_TOKEN_DAYS", default=30)
REST_KNOX = {"TOKEN_TTL": timedelta(days=API_TOKEN_DAYS), "AUTH_HEADER_PREFIX": "Token", "AUTO_REFRESH": False}

# Kept reads (core/read_cache.py). RELEASE names the code deployed (a commit, a version): a read kept by
# one release is never served by another. READ_CACHE_PREPARE=false when a pooler in transaction mode
# cannot keep prepared statements (the version queries then run unprepared, planned every time).
READ_CACHE_RELEASE = env.str("RELEASE", default="")
READ_CACHE_PREPARE = env_flag("READ_CACHE_PREPARE", default=True)

# Two-step sign-in (TOTP). The dispute team must use it to reach admin and the API; anyone may
# turn it on for themselves. Off only for local demos (config/settings/local.py).
TWO_STEP_REQUIRED_FOR_TEAM = env_flag("TWO_STEP_REQUIRED_FOR_TEAM", default=True)
OTP_TOTP_ISSUER = "Dispute desk"
OTP_STATIC_THROTTLE_FACTOR = 1

# The OpenAPI schema and docs: open to anyone, or only to signed-in users (production).
API_DOCS_PUBLIC = env_flag("API_DOCS_PUBLIC", default=True)

# Photo decoding holds at most this many megapixels in flight per process: a burst of uploads
# waits its turn instead of taking all the memory (messaging/photos.py).
PHOTO_DECODE_MEGAPIXELS_IN_FLIGHT = env.int("PHOTO_DECODE_MEGAPIXELS_IN_FLIGHT", default=60)

# Content-Security-Policy on every HTML page (Django's own middleware): our scripts and styles
# only, inline script only with the response's nonce, no framing.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Dispute rules (docs/rules.md §2) ---------------------------------------------------------------
SELLER_RESPONSE_DAYS = env.int("SELLER_RESPONSE_DAYS", default=5)
BUYER_RESPONSE_DAYS = env.int("BUYER_RESPONSE_DAYS", default=5)
AUTO_ESCALATE_AFTER_DAYS = env.int("AUTO_ESCALATE_AFTER_DAYS", default=15)
RULING_SLA_DAYS = env.int("RULING_SLA_DAYS", default=7)
RETURN_SHIP_DAYS = env.int("RETURN_SHIP_DAYS", default=10)
RETURN_CONFIRM_DAYS = env.int("RETURN_CONFIRM_DAYS", default=15)
APPEAL_DAYS = env.int("APPEAL_DAYS", default=7)
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="disputes.payments.LocalLedgerGateway")
EVIDENCE_REQUEST_DAYS = env.int("EVIDENCE_REQUEST_DAYS", default=3)
# The longest the dispute team may pause a dispute's clocks at once; the most days one side may ask the other for.
PAUSE_MAX_DAYS = env.int("PAUSE_MAX_DAYS", default=14)
MORE_TIME_MAX_DAYS = env.int("MORE_TIME_MAX_DAYS", default=7)
# The longest return period a store's policy may offer.
RETURN_DAYS_MAX = env.int("RETURN_DAYS_MAX", default=365)
# The buyer hears this many days before an order's dispute window closes.
WINDOW_CLOSING_NOTICE_DAYS = env.int("WINDOW_CLOSING_NOTICE_DAYS", default=3)
# Return and exchange requests made to the seller directly (no dispute), under the order's policy.
# An approved exchange: the seller ships the replacement within this many days, else it becomes a dispute.
REPLACEMENT_SHIP_DAYS = env.int("REPLACEMENT_SHIP_DAYS", default=5)
# A replacement on its way: the buyer confirms it, or opens a dispute, within this many days of its
# shipment plus BUYER_RESPONSE_DAYS (no carrier reports a replacement's delivery to us); else it completes.
REPLACEMENT_DELIVERY_DAYS = env.int("REPLACEMENT_DELIVERY_DAYS", default=10)
# Return postage the seller pays under its policy is refunded with the item, up to this share of the
# order's total (percent). It is the one refund allowed above what the buyer paid.
RETURN_POSTAGE_CAP_PERCENT = env.int("RETURN_POSTAGE_CAP_PERCENT", default=20)
# A ruling refunding more than its currency's threshold here needs a second team member's approval; a
# linked case's ruling compares its total currency by currency. RULING_APPROVAL_THRESHOLDS overrides or
# adds currencies ("EUR=450.00,JPY=75000"); any currency not named (US dollars among them) uses
# RULING_APPROVAL_THRESHOLD.
RULING_APPROVAL_THRESHOLD = Decimal(env.str("RULING_APPROVAL_THRESHOLD", default="500.00"))
RULING_APPROVAL_THRESHOLDS = {
    code.strip().upper(): Decimal(amount.strip())
    for code, amount in {
        "EUR": "500.00", "GBP": "400.00", "JPY": "75000", "CNY": "3500.00", "HKD": "4000.00",
        "BRL": "2500.00", "RUB": "45000.00",
        **env.dict("RULING_APPROVAL_THRESHOLDS", default={}),
    }.items()
}  # fmt: skip
