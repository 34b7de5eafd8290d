import logging.config
import os

from celery import Celery, signals

from core import request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("dispute_desk")
# Every Celery setting lives in Django settings under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A task's log lines carry the id of the request (or task) that queued it; a task beat queued gets its own.
signals.before_task_publish.connect(request_id.task_headers_add, dispatch_uid="request_id.task_headers_add")
signals.task_prerun.connect(request_id.task_context_bind, dispatch_uid="request_id.task_context_bind")
signals.task_postrun.connect(request_id.task_context_unbind, dispatch_uid="request_id.task_context_unbind")


@signals.setup_logging.connect
def logging_as_django(loglevel=None, **kwargs) -> None:
    """Workers and beat write the project's log lines (settings.LOGGING, core/logs.py) instead of
    Celery's own format; Celery's own lines at the level the command asks for (--loglevel)."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger("celery").setLevel(loglevel)
