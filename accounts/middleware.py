import zoneinfo

from django.utils import timezone


class ViewerTimezoneMiddleware:
    """Show every time in the signed-in viewer's own zone (stored values stay UTC)."""

    PROBES = ("/healthz", "/readyz", "/metrics")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in self.PROBES:  # no session read for the probes and the scraper
            timezone.deactivate()
            return self.get_response(request)
        user = getattr(request, "user", None)
        zone = getattr(user, "time_zone", None) if user is not None and user.is_authenticated else None
        # The API always speaks UTC, whichever way the caller signed in.
        if zone and not request.path.startswith("/api/"):
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)
