"""Error pages: JSON in the API's one shape under /api/, a friendly page elsewhere, never a trace."""

from django.shortcuts import render

from config.api import api_not_found, api_server_error


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return api_not_found(request)
    return render(request, "404.html", status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return render(request, "500.html", status=500)
