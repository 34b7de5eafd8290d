"""The cache fails open (core/cache.py, core/throttles.py), in process: quick enough to run with every test,
against a Redis that refuses (a dead port) or a private one the test stops and starts."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import caches
from django.test import Client, RequestFactory, override_settings
from rest_framework.throttling import SimpleRateThrottle

from core import cache as core_cache
from core.cache import RedisCache
from core.throttles import WriteThrottle
from messaging.models import Message
from tests.chaos.processes import dead_port
from tests.factories import make_order

OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}


def cache_at(url: str) -> dict:
    return {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": url, "KEY_PREFIX": "dd", "OPTIONS": OPTIONS}}


@pytest.fixture
def gone():
    """The cache pointed at a port where nothing listens, for the test."""
    with override_settings(CACHES=cache_at(f"redis://127.0.0.1:{dead_port()}/0")):
        yield caches["default"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(core_cache, "monotonic", clock)
    return clock


def test_a_cache_whose_redis_is_gone_answers_as_a_miss_and_keeps_nothing(gone):
    assert gone.get("k") is None and gone.get("k", "default") == "default"
    assert gone.set("k", 1) is None
    assert gone.add("k", 1) is False
    assert gone.get_many(["k", "l"]) == {}
    assert gone.set_many({"k": 1, "l": 2}) == ["k", "l"]
    assert gone.get_or_set("k", lambda: "built") == "built"
    assert gone.has_key("k") is False and gone.delete("k") is False and gone.touch("k") is False
    gone.delete_many(["k"])
    assert gone.clear() is False
    with pytest.raises(ValueError):
        gone.incr("k")


def test_after_a_failure_redis_is_left_alone_for_a_few_seconds_then_one_caller_tries_again(
    private_redis, clock, monkeypatch
):
    backend = RedisCache(private_redis.url(), {"OPTIONS": OPTIONS})
    backend.set("k", "kept")
    private_redis.stop()
    tries = []
    real_call = backend._cache.get

    def counted(*args, **kwargs):
        tries.append(clock.now)
        return real_call(*args, **kwargs)

    monkeypatch.setattr(backend._cache, "get", counted)
    assert backend.get("k") is None  # refused: the breaker opens
    for _ in range(100):
        assert backend.get("k") is None
    clock.now += core_cache.PAUSE_AFTER_FAILURE - 0.1
    assert backend.get("k") is None
    assert len(tries) == 1  # 102 reads, one connection attempt

    private_redis.start()  # back, empty, on the same port
    clock.now += 0.2
    backend.set("k", "again")  # the first call after the pause tries, and closes the breaker
    assert backend.get("k") == "again"
    assert core_cache.outage_seconds() is None


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(private_redis, clock, caplog):
    backend = RedisCache(private_redis.url(), {"OPTIONS": OPTIONS})
    private_redis.stop()
    with caplog.at_level(logging.WARNING, logger="dispute_desk.cache"):
        for _ in range(3):
            for _ in range(50):
                backend.get("k")
            clock.now += core_cache.PAUSE_AFTER_FAILURE + 1  # each pause's one try fails again
        assert core_cache.outage_seconds() == pytest.approx(3 * (core_cache.PAUSE_AFTER_FAILURE + 1))
        private_redis.start()
        backend.get("k")
    said = [record.getMessage() for record in caplog.records]
    assert said == ["cache unavailable; requests go on without it", "cache answers again"]
    assert caplog.records[1].calls_skipped == 147


@pytest.mark.django_db
def test_a_write_limit_lets_requests_through_uncounted_while_redis_is_out_and_counts_again_after(
    world, private_redis, clock, caplog, monkeypatch
):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "messages", "2/hour")
    request = RequestFactory().post("/orders/O-1/messages/")
    request.user = world.alice

    def allowed() -> bool:
        return WriteThrottle("messages").allow_request(request, None)

    with override_settings(CACHES=cache_at(private_redis.url())), caplog.at_level(logging.INFO):
        assert [allowed(), allowed(), allowed()] == [True, True, False]  # counted: the third waits
        private_redis.stop()
        assert all(allowed() for _ in range(20))  # nothing counts; nobody is held back by the outage
        private_redis.start()  # back, empty: a new window
        clock.now += core_cache.PAUSE_AFTER_FAILURE + 1
        assert [allowed(), allowed(), allowed()] == [True, True, False]
    fail_open = [r for r in caplog.records if r.getMessage() == "throttle.fail_open"]
    assert len(fail_open) == 1  # said once for the outage, not per request
    assert fail_open[0].audit["scope"] == "messages" and "ConnectionError" in fail_open[0].audit["why"]


@pytest.mark.django_db(transaction=True)
def test_the_api_and_the_pages_answer_with_redis_gone(world, gone):
    """What answered 500 when the cache was Redis and Redis was down: the token, every throttled API view,
    the kept reads, the pages and their forms."""
    make_order(buyer=world.alice, store=world.carols, number="O-1", shipped_at=datetime.now(UTC) - timedelta(days=8))
    api = Client()
    token = api.post("/api/auth/token/", {"username": "alice", "password": "demo"}, content_type="application/json")
    assert token.status_code == 200
    auth = {"HTTP_AUTHORIZATION": f"Token {token.json()['token']}"}
    for path in ("/api/disputes/", "/api/orders/", "/api/orders/O-1/", "/api/orders/O-1/messages/"):
        assert api.get(path, **auth).status_code == 200, path
    wrote = api.post("/api/orders/O-1/messages/", {"body": "api"}, content_type="application/json", **auth)
    assert wrote.status_code == 201

    pages = Client(enforce_csrf_checks=True)
    assert pages.get("/accounts/login/").status_code == 200
    csrf = pages.cookies["csrftoken"].value
    signed_in = pages.post("/accounts/login/", {"username": "alice", "password": "demo", "csrfmiddlewaretoken": csrf})
    assert signed_in.status_code == 302
    assert pages.get("/orders/O-1/").status_code == 200
    csrf = pages.cookies["csrftoken"].value
    posted = pages.post("/orders/O-1/messages/", {"body": "page", "csrfmiddlewaretoken": csrf})
    assert posted.status_code == 302
    assert pages.get(posted["Location"]).status_code == 200
    assert set(Message.objects.values_list("body", flat=True)) == {"api", "page"}
