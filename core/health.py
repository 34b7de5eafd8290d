"""Liveness and readiness. Placeholder."""

from django.http import HttpResponse, JsonResponse


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def readyz(request):
    return JsonResponse({"status": "ok", "checks": {}})
