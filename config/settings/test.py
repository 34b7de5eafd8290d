"""The test suite: PostgreSQL and Redis, as in production (locks and constraints are real)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://root@127.0.0.1:5432/dispute_desk")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")

from .base import *  # noqa: F403
from .base import BASE_DIR, REST_FRAMEWORK

SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tasks run in-process, after commit, so tests see their effects without a worker.
# (The real-worker test starts a worker process with CELERY_EAGER=false.)
CELERY_TASK_ALWAYS_EAGER = env_flag("CELERY_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        **dict.fromkeys(["anon", "user", "auth", "messages", "evidence", "dispute_open", "extension"], "10000/minute"),
    },
}
# Tests that are about two-step sign-in turn it on themselves (tests/security).
TWO_STEP_REQUIRED_FOR_TEAM = False
# Serve static files from the app folders, as in development: no collectstatic before tests.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Readiness answers every poll afresh: tests break a service and ask again at once.
READYZ_CACHE_SECONDS = 0
