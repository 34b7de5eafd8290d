"""Settings for the processes the chaos tests start (web server, Celery workers): the test settings, with a
real broker, emails written to files the test counts, and a broker that gives back an unacknowledged task
in seconds instead of an hour, so a worker killed in the middle of a task is followed within the test."""

import os

from config.settings.test import *  # noqa: F403
from config.settings.test import CELERY_BROKER_TRANSPORT_OPTIONS

CELERY_TASK_ALWAYS_EAGER = False
MAILERS = {"default": {"BACKEND": "tests.chaos.mail_sink.EmailBackend"}}
if os.environ.get("CHAOS_PAYMENTS"):
    PAYMENT_GATEWAY = "tests.chaos.gateway.RecordingGateway"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    # Production: 3600 s, checked every 10 s x 10 (kombu's defaults).
    "visibility_timeout": int(os.environ.get("CHAOS_VISIBILITY_TIMEOUT", "4")),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
