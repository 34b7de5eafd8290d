"""Error pages: JSON in the API's one shape under /api/ (and for API clients of a photo URL), a
friendly page in the site's layout elsewhere; never a trace or a framework's own page."""

import logging

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.template import loader

from core.api import api_bad_request, api_not_found, api_permission_denied, api_server_error

log = logging.getLogger("dispute_desk")

# Outside /api/, these paths also serve API clients (photo URLs the API hands out).
_API_TOO = ("/photos/",)


def wants_json(request: HttpRequest) -> bool:
    """An API path, or a path API clients share with browsers whose Accept prefers JSON (a
    browser's navigation asks for text/html first; curl's */* gets JSON, the API's default)."""
    path = request.path
    if path.startswith("/api/"):
        return True
    if path.startswith(_API_TOO):
        return request.get_preferred_type(["application/json", "text/html"]) != "text/html"
    return False


def error_page(request: HttpRequest, template: str, *, status: int, context: dict | None = None) -> HttpResponse:
    """The page in the site's layout. Rendered with the request (the header shows who is signed
    in); if that fails (an error page must not fail: say the database is down, or the request
    was refused before sign-in ran), rendered again without it."""
    try:
        return HttpResponse(loader.render_to_string(template, context, request=request), status=status)
    except Exception:
        log.exception("error page failed with the request; rendered without it", extra={"template": template})
        return HttpResponse(loader.render_to_string(template, context), status=status)


def bad_request(request, exception=None):
    """A request Django refused before any view (too many files, a body over the size limit, a
    malformed host): the API's error shape under /api/, a page elsewhere."""
    if wants_json(request):
        return api_bad_request(request)
    return error_page(request, "400.html", status=400)


def permission_denied(request, exception=None):
    if wants_json(request):
        return api_permission_denied(request)
    # A view that refuses with a sentence of its own (marked for translation) has it shown.
    reason = str(exception) if exception is not None and exception.args else ""
    return error_page(request, "403.html", status=403, context={"reason": reason})


def not_found(request, exception=None):
    if wants_json(request):
        return api_not_found(request)
    return error_page(request, "404.html", status=404)


def server_error(request):
    if wants_json(request):
        return api_server_error(request)
    # Without the request: the page must not depend on what may have failed (the database
    # behind the header's counts, a context processor). If even that fails, plain words.
    try:
        return HttpResponse(loader.render_to_string("500.html"), status=500)
    except Exception:
        log.exception("the 500 page failed to render")
        return HttpResponse(_PLAIN_500, status=500)


_PLAIN_500 = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Something went wrong · Dispute desk</title>'
    "</head><body><h1>Something went wrong on our side</h1><p>It has been logged. Please try again in a moment.</p>"
    '<p><a href="/">Back to Dispute desk</a></p></body></html>'
)


def api_error_as_page(request: HttpRequest, response) -> HttpResponse:
    """An API view's error response (already in the JSON shape), turned into a page for a
    browser: 401 sends it to sign in, 404/403/400/429/500 show the site's own page."""
    status = response.status_code
    if status == 401:
        return redirect_to_login(request.get_full_path())
    if status >= 500:
        template = "500.html"
    else:
        template = {400: "400.html", 403: "403.html", 429: "429.html"}.get(status, "404.html")
    detail = getattr(response, "data", None) or {}
    context = {"message": detail.get("detail", "") if isinstance(detail, dict) else ""}
    return error_page(request, template, status=status, context=context)
