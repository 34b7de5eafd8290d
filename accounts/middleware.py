import zoneinfo

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation.trans_real import parse_accept_lang_header

PROBES = ("/healthz", "/readyz", "/metrics")


class ViewerTimezoneMiddleware:
    """Show every time in the signed-in viewer's own zone (stored values stay UTC)."""

    PROBES = PROBES

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


def header_language(request) -> str:
    """The first of the site's languages the request's Accept-Language asks for ("es-ES,es;q=0.9" → "es",
    "zh-CN" → "zh-hans"); "" when it names none of them, or there is no header."""
    # Django's own parser (what LocaleMiddleware reads the header with): ordered by q, bounded in length.
    for code, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return ""


def known_language(user) -> str:
    """What we know of a person's language: their choice, else their browser's at their last sign-in (each
    only while the site speaks it); "" when neither, and for someone not signed in."""
    if user is None or not user.is_authenticated:
        return ""
    for code in (getattr(user, "language", ""), getattr(user, "signin_language", "")):
        if supported := _supported(code):
            return supported
    return ""


def page_language(request, user) -> str:
    """A page's language: what we know of the person, else what the request asks for (Accept-Language, or
    Django's language cookie), else English."""
    return known_language(user) or translation.get_language_from_request(request) or settings.LANGUAGE_CODE


def api_language(request, user) -> str:
    """The API's language: the request's Accept-Language wins (a client says what it reads), then what we
    know of the person, then English."""
    return header_language(request) or known_language(user) or settings.LANGUAGE_CODE


def activate_api_language(request, user) -> None:
    """For DRF's token authentication, once it knows whose token it is: speak `api_language` from there on."""
    translation.activate(api_language(request, user))
    getattr(request, "_request", request).LANGUAGE_CODE = translation.get_language()  # DRF's Request wraps Django's


def _supported(code: str) -> str:
    """`code` if the site still speaks it, else "" (a language taken out of LANGUAGES after people chose it)."""
    try:
        return translation.get_supported_language_variant(code) if code else ""
    except LookupError:
        return ""


class ViewerLanguageMiddleware:
    """Speak the viewer's language, once the viewer is known (after authentication).

    Pages: the signed-in person's choice, else the language their browser asked for when they last signed
    in, else what this request asks for (as LocaleMiddleware read it), else English: `page_language`. The
    API: `api_language`. The language active here is the one kept pages and API reads are
    keyed by (core/read_cache.py), so a kept read is never served in another language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in PROBES:  # no session read for the probes and the scraper
            return self.get_response(request)
        user = getattr(request, "user", None)
        # On the API a session's person is known here; a token's only once DRF has authenticated it, in
        # the view (`activate_api_language` is for that moment).
        api = request.path.startswith("/api/")
        translation.activate(api_language(request, user) if api else page_language(request, user))
        request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
