"""/metrics: who may read it, and that its figures follow what happens on the desk."""

from datetime import timedelta
from decimal import Decimal

import pytest
import redis
import time_machine
from celery import shared_task
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from core.metrics import queue_depth, sweep_ran
from disputes.engine import dispute_set_aside
from disputes.sweeps import sweep_clocks
from messaging.photos import PhotoRejected, clean_photo
from notifications.delivery import deliver_pending
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, dispute_in
from tests.messaging.images import jpeg_bytes

pytestmark = pytest.mark.django_db

TOKEN = "a-token-only-the-scraper-knows"


@pytest.fixture(autouse=True)
def scraper_settings(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_CACHE_SECONDS = 0  # every scrape reads the database afresh, unless a test says otherwise


@pytest.fixture
def inside_the_window():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


def get_metrics(*, token: str | None = None, method: str = "get", **extra):
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return getattr(Client(), method)("/metrics", **extra)


def scrape() -> dict[tuple[str, tuple], float]:
    """Every sample /metrics shows, keyed by (name, labels)."""
    response = get_metrics(token=TOKEN)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def post(user, dispute, action, body=None):
    return api_as(user).post(f"/api/disputes/{dispute.pk}/{action}/", body or {}, format="json")


# --- Who may read it -------------------------------------------------------------------------------


def test_an_outsider_without_the_token_gets_an_empty_not_found(settings):
    settings.METRICS_ALLOWED_ADDRESSES = []
    response = get_metrics()
    assert response.status_code == 404
    assert response.content == b""


def test_a_wrong_token_is_refused_alike(settings):
    settings.METRICS_ALLOWED_ADDRESSES = []
    response = get_metrics(token="a-token-somebody-guessed")
    assert response.status_code == 404
    assert response.content == b""


def test_an_empty_token_opens_nothing(settings):
    settings.METRICS_ALLOWED_ADDRESSES = []
    settings.METRICS_TOKEN = ""
    assert get_metrics(token="").status_code == 404
    assert get_metrics(HTTP_AUTHORIZATION="Bearer").status_code == 404


def test_an_outsiders_post_is_not_found_either(settings):
    settings.METRICS_ALLOWED_ADDRESSES = []
    assert get_metrics(method="post").status_code == 404


def test_the_bearer_of_the_token_reads_the_metrics(settings):
    settings.METRICS_ALLOWED_ADDRESSES = []
    response = get_metrics(token=TOKEN)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"# TYPE dispute_desk_disputes gauge" in response.content
    assert b'dispute_desk_scrape_collector_success{collector="disputes"} 1.0' in response.content


def test_an_allowed_address_needs_no_token(settings):
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8"]
    assert get_metrics(REMOTE_ADDR="10.1.2.3").status_code == 200
    assert get_metrics(REMOTE_ADDR="192.0.2.7").status_code == 404


def test_behind_a_proxy_the_client_decides_not_the_proxys_own_address(settings):
    # The proxy on this host connects from 127.0.0.1; a client out there must not pass for it.
    settings.TRUSTED_PROXY_COUNT = 1
    assert get_metrics(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404
    assert get_metrics(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200


@pytest.mark.parametrize(
    "forwarded, proxies",
    [("203.0.113.9:51234", 1), ("unknown", 1), ("", 1), ("127.0.0.1", 2)],
    ids=["ip-and-port", "unknown", "no-header", "chain-shorter-than-the-proxies"],
)
def test_a_forwarded_address_that_cannot_be_read_is_nobodys_not_the_proxys(settings, forwarded, proxies):
    # The proxy (10.0.0.5) is in the allowed network; the client behind it is not known.
    settings.TRUSTED_PROXY_COUNT = proxies
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8"]
    assert get_metrics(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=forwarded).status_code == 404


def test_an_empty_entry_in_the_allowed_addresses_is_skipped_not_an_error(settings):
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8", ""]
    assert get_metrics(REMOTE_ADDR="10.1.2.3").status_code == 200
    assert get_metrics(REMOTE_ADDR="192.0.2.7").status_code == 404


def test_a_metric_that_cannot_be_written_never_fails_the_request(monkeypatch):
    from core import metrics

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(metrics.REQUESTS, "labels", full_disk)
    monkeypatch.setattr(metrics.REQUESTS_IN_PROGRESS, "inc", full_disk)
    assert Client().get("/healthz").status_code == 200


# --- The desk's figures ------------------------------------------------------------------------------


def test_an_escalation_moves_a_dispute_from_the_buyer_to_the_team(world, inside_the_window):
    dispute = dispute_in(world, "awaiting_buyer")
    before = scrape()
    assert post(world.alice, dispute, "escalate", {"note": "No."}).json()["state"] == "escalated"
    after = scrape()
    assert (
        value(after, "dispute_desk_disputes", state="escalated")
        == value(before, "dispute_desk_disputes", state="escalated") + 1
    )
    assert (
        value(after, "dispute_desk_disputes", state="awaiting_buyer")
        == value(before, "dispute_desk_disputes", state="awaiting_buyer") - 1
    )


def test_a_paid_refund_adds_to_the_refunds_in_its_currency(world, inside_the_window):
    dispute = dispute_in(world, "awaiting_seller")
    before = scrape()
    assert post(world.carol, dispute, "accept").json()["state"] == "resolved"
    after = scrape()
    assert (
        value(after, "dispute_desk_refunds_paid", currency="USD")
        == value(before, "dispute_desk_refunds_paid", currency="USD") + 1
    )
    assert value(after, "dispute_desk_refunds_paid_amount", currency="USD") == value(
        before, "dispute_desk_refunds_paid_amount", currency="USD"
    ) + float(Decimal("80.00"))
    assert value(after, "dispute_desk_disputes", state="awaiting_seller") == 0


def test_a_clock_the_sweep_has_not_caught_up_with_is_overdue_until_it_runs(world, inside_the_window):
    dispute = dispute_in(world, "awaiting_seller")
    assert value(scrape(), "dispute_desk_clocks_overdue", deadline="respond_by") == 0
    inside_the_window.move_to(dispute.respond_by + timedelta(minutes=10))
    late = scrape()
    assert value(late, "dispute_desk_clocks_overdue", deadline="respond_by") == 1
    assert value(late, "dispute_desk_clocks_overdue_oldest_seconds", deadline="respond_by") == 600
    sweep_clocks()
    swept = scrape()
    assert value(swept, "dispute_desk_clocks_overdue", deadline="respond_by") == 0
    assert value(swept, "dispute_desk_clocks_overdue_oldest_seconds", deadline="respond_by") == 0
    assert value(swept, "dispute_desk_refunds_paid", currency="USD") == 1  # the seller's silence refunded the buyer


def test_a_ruling_past_its_deadline_is_an_sla_breach_on_the_assignees_open_work(world, inside_the_window):
    dispute = dispute_in(world, "under_review")
    now = scrape()
    assert value(now, "dispute_desk_ruling_sla_breaches") == 0
    assert value(now, "dispute_desk_reviews_open", assignee="erin") == 1
    inside_the_window.move_to(dispute.respond_by + timedelta(seconds=1))
    assert value(scrape(), "dispute_desk_ruling_sla_breaches") == 1
    post(world.erin, dispute, "ruling", {"outcome": "no_refund", "note": "Not shown."})
    ruled = scrape()
    assert value(ruled, "dispute_desk_ruling_sla_breaches") == 0
    assert value(ruled, "dispute_desk_reviews_open", assignee="erin") == 0  # a member with nothing open still shows


def test_a_dispute_set_aside_for_a_person_is_counted(world, inside_the_window):
    dispute = dispute_in(world, "awaiting_seller")
    assert value(scrape(), "dispute_desk_disputes_set_aside") == 0
    dispute_set_aside(dispute.pk, reason="the payment gateway said no")
    assert value(scrape(), "dispute_desk_disputes_set_aside") == 1


def test_notifications_wait_for_delivery_until_the_delivery_sweep_sends_them(world, inside_the_window):
    dispute_in(world, "awaiting_seller")  # tells the seller; the email goes after commit, which a test never reaches
    waiting = scrape()
    assert value(waiting, "dispute_desk_notifications_undelivered") >= 1
    inside_the_window.shift(timedelta(minutes=5))
    assert value(scrape(), "dispute_desk_notifications_undelivered_oldest_seconds") == 300
    deliver_pending()
    delivered = scrape()
    assert value(delivered, "dispute_desk_notifications_undelivered") == 0
    assert value(delivered, "dispute_desk_notifications_undelivered_oldest_seconds") == 0


def test_the_figures_cost_the_same_few_queries_however_many_disputes(
    world, inside_the_window, django_assert_max_num_queries
):
    dispute_in(world, "awaiting_seller", number="D-1")
    with django_assert_max_num_queries(9) as one:
        scrape()
    for number, state in (
        ("D-2", "awaiting_buyer"),
        ("D-3", "under_review"),
        ("D-4", "resolved"),
        ("D-5", "escalated"),
    ):
        dispute_in(world, state, number=number)
    with django_assert_max_num_queries(9) as five:
        scrape()
    assert len(one) == len(five)


def test_the_figures_are_read_once_per_period_whoever_scrapes(world, settings, django_assert_num_queries):
    settings.METRICS_CACHE_SECONDS = 15
    with CaptureQueriesContext(connection) as first:
        scrape()
    assert first.captured_queries
    with django_assert_num_queries(0):
        scrape()


def test_with_the_cache_down_every_scrape_reads_the_figures(world, settings, monkeypatch, inside_the_window):
    class DownCache:
        def get(self, *args, **kwargs):
            raise redis.ConnectionError("the cache is down")

        set = get

    settings.METRICS_CACHE_SECONDS = 15
    monkeypatch.setattr("core.metrics.cache", DownCache())
    dispute_in(world, "awaiting_seller")
    samples = scrape()
    assert value(samples, "dispute_desk_disputes", state="awaiting_seller") == 1
    assert value(samples, "dispute_desk_scrape_collector_success", collector="disputes") == 1


# --- Requests, sweeps, tasks, photos, the queue ----------------------------------------------------------


def test_a_request_is_counted_under_its_view_name_not_its_path(world, inside_the_window):
    dispute = dispute_in(world, "awaiting_seller")
    labels = {"view": "api:dispute", "method": "GET", "status": "200"}
    before = scrape()
    assert api_as(world.alice).get(f"/api/disputes/{dispute.pk}/").status_code == 200
    after = scrape()
    assert (
        value(after, "dispute_desk_http_requests_total", **labels)
        == value(before, "dispute_desk_http_requests_total", **labels) + 1
    )
    assert (
        value(after, "dispute_desk_http_request_duration_seconds_count", **labels)
        == value(before, "dispute_desk_http_request_duration_seconds_count", **labels) + 1
    )
    assert not [key for key in after if str(dispute.pk) in dict(key[1]).get("view", "")]


def test_a_path_no_view_matches_and_an_unknown_method_keep_the_labels_bounded():
    unmatched = {"view": "unmatched", "method": "other", "status": "404"}
    before = value(scrape(), "dispute_desk_http_requests_total", **unmatched)
    Client().generic("BREW", "/no/such/page/12345/")
    assert value(scrape(), "dispute_desk_http_requests_total", **unmatched) == before + 1


def test_a_run_of_the_sweeps_is_timed_and_its_rows_counted():
    before = scrape()
    sweep_ran(1.5, {"clocks": 3, "routing": 0})
    after = scrape()
    assert (
        value(after, "dispute_desk_sweep_rows_total", sweep="clocks")
        == value(before, "dispute_desk_sweep_rows_total", sweep="clocks") + 3
    )
    assert ("dispute_desk_sweep_rows_total", (("sweep", "routing"),)) in after
    assert value(after, "dispute_desk_sweep_duration_seconds_count") == (
        value(before, "dispute_desk_sweep_duration_seconds_count") + 1
    )
    assert value(after, "dispute_desk_sweep_duration_seconds_sum") == pytest.approx(
        value(before, "dispute_desk_sweep_duration_seconds_sum") + 1.5
    )
    assert value(after, "dispute_desk_sweep_last_run_timestamp_seconds") > 0


@shared_task(name="tests.ops.fails")
def fails() -> None:
    raise RuntimeError("the gateway is down")


@shared_task(name="tests.ops.succeeds")
def succeeds() -> int:
    return 1


def test_a_failed_task_is_counted_by_its_name():
    failure = {"task": "tests.ops.fails", "outcome": "failure"}
    before = scrape()
    # Run here by Celery's own tracing, as a worker runs it: the error is kept in the result, not raised
    # (a propagated error skips the failure handling, and its signal, as it does in eager mode).
    assert fails.apply(throw=False).failed()
    succeeds.delay()
    after = scrape()
    assert value(after, "dispute_desk_celery_tasks_total", **failure) == (
        value(before, "dispute_desk_celery_tasks_total", **failure) + 1
    )
    assert value(after, "dispute_desk_celery_tasks_total", task="tests.ops.succeeds", outcome="success") == (
        value(before, "dispute_desk_celery_tasks_total", task="tests.ops.succeeds", outcome="success") + 1
    )
    assert value(after, "dispute_desk_celery_task_duration_seconds_count", task="tests.ops.fails") == (
        value(before, "dispute_desk_celery_task_duration_seconds_count", task="tests.ops.fails") + 1
    )


def test_a_retried_task_is_counted():
    from celery import signals

    retry = {"task": "tests.ops.fails", "outcome": "retry"}
    before = value(scrape(), "dispute_desk_celery_tasks_total", **retry)
    signals.task_retry.send(sender=fails, request=None, reason="the gateway is down", einfo=None)
    assert value(scrape(), "dispute_desk_celery_tasks_total", **retry) == before + 1


def test_photo_ingest_is_timed_by_outcome():
    before = scrape()
    clean_photo(jpeg_bytes())
    with pytest.raises(PhotoRejected):
        clean_photo(b"not a photo at all")
    after = scrape()
    for outcome in ("clean", "refused"):
        assert value(after, "dispute_desk_photo_ingest_duration_seconds_count", outcome=outcome) == (
            value(before, "dispute_desk_photo_ingest_duration_seconds_count", outcome=outcome) + 1
        )


def test_queue_depth_is_the_length_of_the_brokers_default_queue(settings):
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    queue = "metrics-test-queue"  # not the queue a worker reads
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    broker.delete(queue)
    try:
        broker.rpush(queue, "a", "b")
        assert queue_depth() == 2
        assert value(scrape(), "dispute_desk_celery_queue_length", queue=queue) == 2
    finally:
        broker.delete(queue)


def test_queue_depth_is_unknown_when_the_broker_cannot_be_read(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert queue_depth() is None
    samples = scrape()
    assert not [key for key in samples if key[0] == "dispute_desk_celery_queue_length"]  # unknown is not zero
    assert value(samples, "dispute_desk_scrape_collector_success", collector="queue") == 0
    assert value(samples, "dispute_desk_scrape_collector_success", collector="disputes") == 1
    settings.CELERY_BROKER_URL = "filesystem://"
    assert queue_depth() is None


def test_figures_that_cannot_be_read_drop_out_and_the_rest_is_served(monkeypatch):
    def database_down(**kwargs):
        raise ConnectionError("the database is down")

    monkeypatch.setattr("disputes.metrics.desk_figures", database_down)
    samples = scrape()
    assert value(samples, "dispute_desk_scrape_collector_success", collector="disputes") == 0
    assert not [key for key in samples if key[0] == "dispute_desk_disputes"]
    assert ("dispute_desk_http_requests_in_progress", ()) in samples
