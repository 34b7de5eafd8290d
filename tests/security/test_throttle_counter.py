"""The rate throttles' counter (core/throttles.py): one Redis round trip a request, a window that the
first request opens, and never a counter left without a lifetime (that would hold a user back for good)."""

import pytest
from django.core.cache import caches

from core.throttles import _count

pytestmark = pytest.mark.django_db


def redis_key(key: str):
    backend = caches["default"]
    full = backend.make_and_validate_key(key)
    return backend._cache.get_client(full, write=True), full


def test_the_counter_counts_in_redis_in_a_window_the_first_request_opens():
    client, full = redis_key("throttle_test:n")
    assert _count("throttle_test:n", 60)[0] == 1
    count, left = _count("throttle_test:n", 60)
    assert count == 2 and 0 < left <= 60
    assert 0 < client.ttl(full) <= 60  # the window ends on its own


def test_a_counter_found_without_a_lifetime_gets_one():
    client, full = redis_key("throttle_test:lost")
    client.set(full, 5)  # as if it had expired between the SET and the INCR, which made it again
    count, left = _count("throttle_test:lost", 60)
    assert count == 6 and left == 60
    assert 0 < client.ttl(full) <= 60
