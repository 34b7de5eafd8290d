"""Error pages: JSON in the API's one shape under /api/, a friendly page elsewhere, never a trace."""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from core.api import api_not_found, api_server_error, error_body


def bad_request(request, exception=None):
    """A request Django refused before any view (too many files, a body over the size limit, a
    malformed host): the API's error shape under /api/, a page elsewhere."""
    if request.path.startswith("/api/"):
        body = error_body("bad_request", _("The request is too large or malformed: send fewer or smaller parts."))
        return JsonResponse(body, status=400)
    return render(request, "400.html", status=400)


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return api_not_found(request)
    return render(request, "404.html", status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return render(request, "500.html", status=500)
