"""Prometheus metrics. Placeholder."""

from django.http import HttpResponse


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


def sweep_ran(seconds: float, counts: dict[str, int]) -> None:
    """One run of the sweeps took `seconds` and acted on `counts` rows, by sweep."""


def metrics_view(request):
    return HttpResponse(status=404)


def queue_depth() -> int | None:
    """Messages waiting in the Celery broker's default queue, or None when it cannot be read."""
    return None
