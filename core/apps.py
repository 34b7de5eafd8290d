from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The lowest floor: errors, the API's error shape and paging, client addresses, throttles,
    safe publishing of tasks, bulk SQL, metrics and the error pages. It imports no other app."""

    name = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from core.metrics import task_signals_connect

        # Every process loads the apps, web and Celery workers alike: each counts the tasks it runs.
        task_signals_connect()
