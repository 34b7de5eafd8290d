"""Structured logs: one JSON object a line (or a readable line), each with the request id of the
request, or of the task it queued, that wrote it; the audit trail as named events."""

import json
import logging
import logging.config
import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import structlog
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection

from core import request_id
from core.audit import audit
from core.logs import formatter, logging_config
from disputes.models import Dispute, Party
from tests.clocks.broker import broker
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED, dispute_in
from tests.factories import make_order

ROOT = Path(__file__).resolve().parents[2]
FRESH_ID = re.compile(r"[0-9a-f]{32}")


class Lines(logging.Handler):
    """Every line the app writes while attached, formatted as the configured handler writes it."""

    def __init__(self, fmt: str = "json") -> None:
        super().__init__()
        self.setFormatter(formatter(fmt))
        self.written: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.written.append(self.format(record))

    def events(self, event: str | None = None) -> list[dict]:
        parsed = [json.loads(line) for line in self.written]
        return [line for line in parsed if event is None or line["event"] == event]


@pytest.fixture
def lines():
    handler = Lines()
    # The project's loggers stop at "dispute_desk"; Django's and Celery's reach the root.
    loggers = [logging.getLogger("dispute_desk"), logging.getLogger()]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture
def configured(capsys):
    """LOGGING as a format configures it, writing to the captured stderr; the test settings' after."""

    def configure(fmt: str) -> None:
        logging.config.dictConfig(logging_config(fmt))
        capsys.readouterr()

    yield configure
    logging.config.dictConfig(logging_config(settings.LOG_FORMAT))


# --- the format -----------------------------------------------------------------------------------


def test_a_json_line_is_one_object_with_time_level_logger_event_request_id_and_the_audit_fields(configured, capsys):
    configured("json")
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        audit("dispute.transition", dispute=7, action="accept", party=Party.SELLER, amount=Decimal("12.50"))
    [line] = capsys.readouterr().err.splitlines()
    written = json.loads(line)
    assert list(written)[:5] == ["timestamp", "level", "logger", "event", "request_id"]
    assert written["timestamp"].endswith("Z") and written["timestamp"][:4].isdigit()
    assert (written["level"], written["logger"], written["event"]) == (
        "info",
        "dispute_desk.audit",
        "dispute.transition",
    )
    assert written["request_id"] == "req-1"
    assert (written["dispute"], written["action"], written["party"], written["amount"]) == (
        7,
        "accept",
        "seller",
        "12.50",
    )


def test_django_celery_and_the_project_write_the_same_json_even_with_a_traceback(configured, capsys):
    configured("json")
    with structlog.contextvars.bound_contextvars(request_id="req-2"):
        logging.getLogger("dispute_desk.sweeps").warning("dispute not routed", extra={"dispute": 3, "why": "nobody"})
        logging.getLogger("celery.worker").warning("Task %s[%s] raised", "x", "1", extra={"data": {"args": [1]}})
        try:
            1 / 0
        except ZeroDivisionError:
            logging.getLogger("django.request").exception("Internal Server Error: %s", "/boom")
    written = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(w["logger"], w["event"], w["request_id"]) for w in written] == [
        ("dispute_desk.sweeps", "dispute not routed", "req-2"),
        ("celery.worker", "Task x[1] raised", "req-2"),
        ("django.request", "Internal Server Error: /boom", "req-2"),
    ]
    assert (written[0]["dispute"], written[0]["why"]) == (3, "nobody")
    assert "data" not in written[1]  # Celery's copy of the task's arguments: the line says them
    assert written[2]["level"] == "error" and "ZeroDivisionError" in written[2]["exception"]


def test_plain_lines_read_as_time_level_event_logger_and_fields(configured, capsys):
    configured("plain")
    with structlog.contextvars.bound_contextvars(request_id="req-3"):
        audit("order.refused", order="MP-1", action="open_dispute", why="not_the_buyer")
    [line] = capsys.readouterr().err.splitlines()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT[\d:.]+Z \[info\s*\] order\.refused\s+\[dispute_desk\.audit\] "
        r"action=open_dispute order=MP-1 request_id=req-3 why=not_the_buyer",
        line,
    ), line


def test_an_unknown_log_format_stops_the_start_up():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
        logging_config("xml")


# --- request ids ----------------------------------------------------------------------------------


def test_a_request_gets_a_fresh_id_in_its_response(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert FRESH_ID.fullmatch(first["X-Request-ID"]) and FRESH_ID.fullmatch(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_behind_a_trusted_proxy_its_request_id_is_kept(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for sent in ("4f1c2a9e-7b7d-4c55-9a51-0d7b2f5c1e3a", "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "lb-1:trace.42_x"):
        assert client.get("/healthz", headers={"X-Request-ID": sent})["X-Request-ID"] == sent


def test_with_no_trusted_proxy_a_clients_request_id_is_ignored(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    answered = client.get("/healthz", headers={"X-Request-ID": "chosen-by-the-client"})["X-Request-ID"]
    assert FRESH_ID.fullmatch(answered)


@pytest.mark.parametrize(
    "hostile",
    ["a" * 129, "abc\ndef", "abc\r\nX-Admin: 1", 'abc"def', "abc'def", "abc def", "<script>", "-abc", "é1", ""],
)
def test_a_request_id_that_is_too_long_or_carries_unsafe_characters_is_replaced(client, settings, hostile):
    settings.TRUSTED_PROXY_COUNT = 1
    answered = client.get("/healthz", headers={"X-Request-ID": hostile})["X-Request-ID"]
    assert FRESH_ID.fullmatch(answered) and answered != hostile


def test_the_id_is_on_the_requests_lines_and_unbound_after_it(client, lines, db):
    response = client.get("/api/orders/?page=2")  # nobody signed in: refused, and audited
    assert response.status_code == 401
    [refused] = lines.events("api.refused")
    [answered] = lines.events("http.request")  # the request's own line, last
    assert refused["request_id"] == answered["request_id"] == response["X-Request-ID"]
    assert (refused["status"], refused["path"], refused["user"]) == (401, "/api/orders/", "anonymous")
    assert (answered["method"], answered["path"], answered["status"]) == ("GET", "/api/orders/", 401)
    assert isinstance(answered["duration_ms"], int) and "user_id" not in answered
    assert structlog.contextvars.get_contextvars() == {}


def test_a_signed_in_pages_lines_carry_the_users_id(client, world, lines):
    client.force_login(world.alice)
    assert client.get("/orders/").status_code == 200
    [answered] = lines.events("http.request")
    assert answered["user_id"] == world.alice.pk and answered["path"] == "/orders/"


# --- the audit trail ------------------------------------------------------------------------------


def test_a_dispute_transition_through_the_api_is_one_audit_event_with_the_request_id_and_user(world, lines):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        lines.written.clear()
        response = api_as(world.carol).post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json")
    assert response.status_code == 200
    [moved] = lines.events("dispute.transition")
    [answered] = lines.events("http.request")
    assert moved["request_id"] == answered["request_id"] == response["X-Request-ID"]
    assert moved["user_id"] == answered["user_id"] == world.carol.pk
    assert {key: moved[key] for key in ("dispute", "action", "party", "actor", "from_state", "to_state")} == {
        "dispute": dispute.pk,
        "action": "accept",
        "party": "seller",
        "actor": "carol",
        "from_state": "awaiting_seller",
        "to_state": "resolved",
    }


def test_a_refused_action_is_audited_twice_under_one_request_id(world, lines):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        response = api_as(world.alice).post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json")
    assert response.status_code == 409
    [refused] = lines.events("dispute.refused")
    [answered] = lines.events("api.refused")
    assert refused["request_id"] == answered["request_id"] == response["X-Request-ID"]
    assert (refused["dispute"], refused["action"], refused["party"]) == (dispute.pk, "accept", "buyer")
    assert (answered["code"], answered["status"], answered["user"]) == ("invalid_state", 409, "alice")


# --- into the tasks a request queues ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_task_queued_on_commit_logs_under_the_request_id_and_the_request_keeps_it_after(world, lines):
    """Tasks run eagerly here, as the request's transaction commits: inside the request."""
    order = make_order(buyer=world.alice, store=world.carols, number="L-1", shipped_at=SHIPPED)
    response = api_as(world.alice).post(f"/api/orders/{order.number}/messages/", {"body": "Hello?"}, format="json")
    assert response.status_code == 201 and len(mail.outbox) == 1
    [emailed] = lines.events("message emailed")
    [posted] = lines.events("message.posted")  # written after the task ran, back in the request
    assert emailed["request_id"] == posted["request_id"] == response["X-Request-ID"]
    assert emailed["task"] == "messaging.tasks.email_new_message" and emailed["recipient"] == "carol"
    assert "task" not in posted and posted["user_id"] == world.alice.pk


def test_a_task_carries_the_ids_of_whoever_queued_it_unless_it_brings_its_own():
    queued_by_task: dict = {}
    with structlog.contextvars.bound_contextvars(request_id="req-9", task="a", task_id="t-1", user_id=5):
        request_id.task_headers_add(headers=queued_by_task)
    assert queued_by_task == {"log_context": {"request_id": "req-9", "user_id": 5}}
    # Published later on behalf of an earlier request (a task held while the broker was down).
    held = {"log_context": {"request_id": "req-earlier"}}
    with structlog.contextvars.bound_contextvars(request_id="req-now"):
        request_id.task_headers_add(headers=held)
    assert held == {"log_context": {"request_id": "req-earlier"}}
    queued_by_beat: dict = {}
    request_id.task_headers_add(headers=queued_by_beat)
    assert queued_by_beat == {}


# --- a real worker ----------------------------------------------------------------------------------

# The test's own Redis database: a worker of another test run on a shared one would take our tasks.
BROKER = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1")


@pytest.fixture
def worker(tmp_path):
    """A Celery worker process writing JSON lines to a file (a pipe nobody reads would fill and stop it)."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": BROKER,
        "CELERY_EAGER": "false",
        "LOG_FORMAT": "json",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    output = (tmp_path / "worker.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=info",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "logs-test-worker@%h"],
        cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    process.output = tmp_path / "worker.log"
    try:
        with broker(BROKER):
            yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        output.close()


def worker_lines(worker, until, seconds: float = 60) -> list[dict]:
    """The worker's JSON lines (its start-up banner is printed, not logged), once `until` holds for them."""
    deadline = time.monotonic() + seconds
    while True:
        text = worker.output.read_text()
        written = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        if until(written):
            return written
        assert worker.poll() is None, text
        assert time.monotonic() < deadline, f"not in the worker's lines after {seconds} s:\n{text}"
        time.sleep(0.3)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_logs_a_requests_task_under_the_request_id(world, worker):
    order = make_order(buyer=world.alice, store=world.carols, number="L-2", shipped_at=SHIPPED)
    response = api_as(world.alice).post(f"/api/orders/{order.number}/messages/", {"body": "Hello?"}, format="json")
    assert response.status_code == 201
    sent = response["X-Request-ID"]

    def succeeded(written):
        return any(w["logger"] == "celery.app.trace" and "succeeded" in w["event"] for w in written)

    task_lines = [w for w in worker_lines(worker, succeeded) if w.get("task") == "messaging.tasks.email_new_message"]
    [emailed] = [w for w in task_lines if w["event"] == "message emailed"]
    assert emailed["recipient"] == "carol" and emailed["user_id"] == world.alice.pk
    assert {w["request_id"] for w in task_lines} == {sent}  # its own line and Celery's "succeeded"


@pytest.mark.django_db(transaction=True)
def test_a_sweep_beat_queued_logs_under_one_fresh_id_and_the_tasks_it_queues_keep_it(world, worker):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
    # The seller's deadline already past in real time, so the worker (on the real clock) acts.
    Dispute.objects.filter(pk=dispute.pk).update(respond_by=OPEN_AT.replace(year=2000))
    from disputes.tasks import run_sweeps

    assert structlog.contextvars.get_contextvars() == {}  # as in beat: no request queues it
    run_sweeps.apply_async()

    def delivered(written):
        return any(
            w.get("task") == "messaging.tasks.deliver_notifications" and "succeeded" in w["event"] for w in written
        )

    written = worker_lines(worker, delivered)
    sweep = [w for w in written if w.get("task") == "disputes.tasks.run_sweeps"]
    ids = {w["request_id"] for w in sweep}
    assert len(ids) == 1 and FRESH_ID.fullmatch(ids.pop())
    [timed_out] = [w for w in sweep if w["event"] == "dispute.transition"]
    assert (timed_out["dispute"], timed_out["action"], timed_out["actor"]) == (dispute.pk, "seller_timeout", "system")
    # The notices the sweep wrote went out in tasks it queued: under the sweep's id.
    queued = [w for w in written if w.get("task") == "messaging.tasks.deliver_notifications"]
    assert queued and {w["request_id"] for w in queued} == {sweep[0]["request_id"]}
