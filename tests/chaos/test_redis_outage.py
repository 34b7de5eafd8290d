"""Redis (the cache and the broker) gone for 30 seconds under load, hung, or never there: a gunicorn server
and a Celery worker on a private Redis, people using the API and the pages from threads. No request fails;
what was written during the outage is in the database, and the work it started is done once Redis is back."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from disputes.tasks import run_sweeps
from messaging.models import Message
from notifications.delivery import DELIVERY_GRACE, message_id
from notifications.models import Notification
from tests.chaos.load import Load, Person
from tests.chaos.mail_sink import sent, subjects
from tests.chaos.processes import RedisServer, dead_port, start_web, start_worker, wait_until
from tests.clocks.broker import broker
from tests.factories import make_order

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 30


@pytest.fixture
def orders(world):
    """Orders whose dispute window is open on the real clock (the server's): two for the load, one to open a
    dispute over during the outage."""
    shipped = datetime.now(UTC) - timedelta(days=8)
    for number, buyer, store in (("O-1", world.alice, world.carols), ("O-2", world.bob, world.daves)):
        make_order(buyer=buyer, store=store, number=number, shipped_at=shipped)
    make_order(buyer=world.alice, store=world.carols, number="O-3", shipped_at=shipped)


EVERY_REQUEST = (
    "GET sign-in page",
    "POST sign-in page",
    "POST /api/auth/token/",
    "GET /api/disputes/",
    "GET /api/orders/N/",
    "GET order page",
    "POST /api/orders/N/messages/",
    "POST order page message",
)
PEOPLE = [Person("alice", "O-1"), Person("carol", "O-1"), Person("bob", "O-2"), Person("dave", "O-2")]


def warm(base: str) -> None:
    """A first request of each kind, so the server has loaded what it loads once before the clock starts."""
    auth = sign_in(base, "alice")
    for path in ("/accounts/login/", "/api/disputes/", "/api/orders/O-1/"):
        assert requests.get(base + path, headers=auth, timeout=30).status_code == 200


def sign_in(base: str, username: str) -> dict:
    response = requests.post(f"{base}/api/auth/token/", json={"username": username, "password": "demo"}, timeout=30)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Token {response.json()['token']}"}


def open_dispute_and_write(base: str) -> Notification:
    """Alice opens a dispute over O-3 and writes to the seller: the seller's notification and the email about
    the message are the work the outage must not lose."""
    alice = sign_in(base, "alice")
    body = {"reason": "not_received", "item_received": False, "refund_type": "full", "description": "Lost."}
    opened = requests.post(f"{base}/api/orders/O-3/dispute/", json=body, headers=alice, timeout=30)
    assert opened.status_code == 201, opened.text
    wrote = requests.post(f"{base}/api/orders/O-3/messages/", json={"body": "Where is it?"}, headers=alice, timeout=30)
    assert wrote.status_code == 201, wrote.text
    return Notification.objects.get(kind="dispute_opened", recipient__username="carol")


def waited_share(phase: str, load: Load) -> float:
    """The share of the phase's requests that took a second or more."""
    times = load.seconds(phase)
    return sum(t >= 1 for t in times) / len(times)


def assert_nothing_failed(load: Load, logs) -> None:
    (logs / "load.txt").write_text(load.summary())
    failures = load.failures()
    assert not failures, f"{len(failures)} failed of {len(load.answers)}: {failures[:10]}"


def test_thirty_seconds_without_redis_under_load_fail_no_request_and_lose_no_work(
    orders, private_redis, sink, logs, processes
):
    web, base = start_web(redis_url=private_redis.url(), sink=sink, logs=logs)
    worker = start_worker("worker", redis_url=private_redis.url(), sink=sink, logs=logs)
    processes += [web, worker]
    warm(base)
    load = Load(base, PEOPLE).start()
    try:
        time.sleep(4)
        load.phase = "outage"
        private_redis.stop()
        down_at = time.monotonic()
        time.sleep(3)
        note = open_dispute_and_write(base)
        assert note.delivered_at is None  # its task could not be published
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        private_redis.start()
        load.phase = "after"
        # The web process publishes again once its 30 s pause after the first failed publish is over.
        wait_until(
            lambda: "held tasks published" in web.output(),
            timeout=40,
            what="held tasks published",
            log=web.log,
        )
        time.sleep(2)
    finally:
        load.stop()

    assert_nothing_failed(load, logs)
    outage = load.statuses("outage")
    for what in EVERY_REQUEST:
        assert sum(n for (seen, _status), n in outage.items() if seen == what) >= 3, (what, outage)

    # Nothing written during the outage is lost.
    assert Message.objects.filter(body__in=load.posted).count() == len(load.posted)
    assert any("outage" in body for body in load.posted)

    # The work the outage held back is done: the seller hears of the dispute, once, and of the message.
    wait_until(
        lambda: Notification.objects.filter(pk=note.pk, delivered_at__isnull=False).exists(),
        timeout=60,
        what="the notification written during the outage delivered",
        log=worker.log,
    )
    wait_until(
        lambda: "New message about order O-3" in subjects(sink), timeout=30, what="the message's email", log=worker.log
    )
    note.refresh_from_db()
    assert sent(sink).count(message_id(note)) == 1
    assert subjects(sink).count("New message about order O-3") == 1

    # Throttles count and reads are kept again, in the Redis that came back empty.
    keys = [key.decode() for key in private_redis.client().keys("dd:*")]
    assert any(":throttle_user_" in key for key in keys), keys
    assert any(":read:" in key for key in keys), keys
    # The outage was said once, its end once, and the throttles said they failed open.
    assert web.output().count("cache unavailable; requests go on without it") == 1
    assert web.output().count("cache answers again") == 1
    assert "throttle.fail_open" in web.output()


def test_a_hung_redis_costs_a_request_now_and_then_not_every_request(orders, private_redis, sink, logs, processes):
    """Redis stopped with SIGSTOP: connections open, nothing answered, each call waits its 1 s timeout. The
    breaker skips Redis for 5 s after a failure, so most requests never wait on it."""
    web, base = start_web(redis_url=private_redis.url(), sink=sink, logs=logs)
    processes.append(web)
    warm(base)
    load = Load(base, PEOPLE).start()
    try:
        time.sleep(3)
        load.phase = "outage"
        private_redis.freeze()
        time.sleep(12)
        private_redis.thaw()
        load.phase = "after"
        time.sleep(3)
    finally:
        load.stop()

    assert_nothing_failed(load, logs)
    assert len(load.seconds("outage")) > 50
    # Without the breaker most requests would wait a second or more (a throttle, a kept read, each a call);
    # with it, about one request per thread every 5 s, and the one publish that waits for the broker.
    assert waited_share("outage", load) <= 0.2, load.summary()


def test_a_server_and_a_worker_started_without_redis_answer_and_catch_up_when_it_comes(
    orders, tmp_path, sink, logs, processes
):
    port = dead_port()
    absent = RedisServer(tmp_path, port=port)
    web, base = start_web(redis_url=absent.url(), sink=sink, logs=logs)
    worker = start_worker("worker", redis_url=absent.url(), sink=sink, logs=logs, wait_ready=False)
    processes += [web, worker]
    warm(base)
    load = Load(base, PEOPLE, phase="outage").start()
    try:
        time.sleep(4)
        note = open_dispute_and_write(base)
        time.sleep(2)
    finally:
        load.stop()
    assert_nothing_failed(load, logs)
    assert Message.objects.filter(body__in=load.posted).count() == len(load.posted)

    # Redis comes, for the first time: the worker connects by itself. The server publishes nothing more, so
    # its held tasks stay held; the sweep (which beat sends each minute) delivers the notification once it is
    # a minute old (moved back a minute here rather than waited for).
    absent.start()
    try:
        wait_until(lambda: " ready." in worker.output(), timeout=60, what="the worker connected", log=worker.log)
        Notification.objects.filter(pk=note.pk).update(created_at=note.created_at - DELIVERY_GRACE)
        with broker(absent.url()):
            run_sweeps.apply_async()
        wait_until(
            lambda: Notification.objects.filter(pk=note.pk, delivered_at__isnull=False).exists(),
            timeout=60,
            what="the notification delivered by the sweep",
            log=worker.log,
        )
        assert sent(sink).count(message_id(note)) == 1
    finally:
        absent.stop()
