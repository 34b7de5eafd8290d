from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The lowest floor: errors, the API's error shape and paging, client addresses, throttles,
    safe publishing of tasks, bulk SQL and the error pages. It imports no other app."""

    name = "core"
    verbose_name = "Core"
