"""The client's network address, from configuration, never from a header alone.

Behind `TRUSTED_PROXY_COUNT` proxies (each appending the address it saw to X-Forwarded-For), the
client is the entry that many places from the right; with none (the default), REMOTE_ADDR. A client
can write any X-Forwarded-For it likes, so only the part our own proxies appended is believed. DRF's
throttles read the same setting (REST_FRAMEWORK["NUM_PROXIES"]), so every limit keys on one address.
"""

from ipaddress import ip_address

from django.conf import settings


def client_address(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    candidate = hops[-min(proxies, len(hops))]
    try:
        return str(ip_address(candidate))
    except ValueError:
        return remote


def client_address_strict(request) -> str | None:
    """The client's address for an allowlist: None when our proxies' entry in X-Forwarded-For is
    missing or unreadable (a chain shorter than TRUSTED_PROXY_COUNT, "unknown", "ip:port"), instead
    of falling back to the proxy's own address as `client_address` does for rate limits."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return request.META.get("REMOTE_ADDR") or None
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        return None
    try:
        return str(ip_address(hops[-proxies]))
    except ValueError:
        return None
