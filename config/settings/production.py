"""Production: every secret from the environment, HTTPS everywhere, PostgreSQL and Redis."""

from django.core.exceptions import ImproperlyConfigured

from core.logs import logging_config

from .base import *  # noqa: F403
from .base import DATABASES, MAILERS, REDIS_URL, REST_FRAMEWORK, SECRET_KEY, SITE_URL, env, env_flag

DEBUG = False
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random string of 50 characters or more.")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL in production.")
if not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL must be set in production.")
if not SITE_URL.startswith("https://"):
    # Emails and notifications link here from outside any request (sweeps, tasks).
    raise ImproperlyConfigured("SITE_URL must be the site's https:// address in production.")
if "smtp" not in MAILERS["default"]["BACKEND"]:
    raise ImproperlyConfigured("EMAIL_URL must name an SMTP server in production, e.g. smtp+tls://user:pass@host:587.")

DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", default=True)
# The probes and the scraper talk to the process directly, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# One JSON object a line, for the log collector (LOG_FORMAT=plain for readable lines).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = logging_config(LOG_FORMAT)

# The dispute team signs in with a code as well as a password: not a setting to turn off here.
TWO_STEP_REQUIRED_FOR_TEAM = True
# The schema and docs only for signed-in users unless told otherwise; no browsable API.
API_DOCS_PUBLIC = env_flag("API_DOCS_PUBLIC", default=False)
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}
