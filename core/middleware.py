"""Refuse an oversized request body before Django reads any of it."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from core.api import error_body


class RequestSizeLimitMiddleware:
    """A message carries at most 6 photos of 10 MB; anything declaring more is refused with 413."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_UPLOAD_BYTES:
            detail = _("This upload is too large: at most %(n)s photos of %(mb)s MB each.") % {
                "n": settings.PHOTOS_PER_MESSAGE,
                "mb": settings.PHOTO_MAX_BYTES // 1_000_000,
            }
            if request.path.startswith("/api/"):
                return JsonResponse(error_body("request_too_large", detail), status=413)
            return render(request, "413.html", {"detail": detail}, status=413)
        return self.get_response(request)
