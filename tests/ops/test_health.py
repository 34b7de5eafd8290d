"""/healthz answers while the process does, touching nothing else; /readyz names each check and
turns 503 when one fails, with a reason that never names a host, a port or a password. The beat
task writes the heartbeat /readyz watches."""

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.core.cache.backends.base import BaseCache
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings

from core import health, heartbeat
from core.heartbeat import SWEEPS, SWEEPS_FINISHED, beat, last_beat
from core.models import Heartbeat
from tests.clocks.broker import broker

ROOT = Path(__file__).resolve().parent.parent.parent
CHECKS = {"database", "migrations", "redis", "broker", "media", "beat_heartbeat"}
UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# The checks run in threads of their own, on connections of their own: they see committed rows only.
readiness_db = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _migrations_checked_afresh(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)


def ready(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def failing(body: dict) -> dict[str, str]:
    return {name: check["reason"] for name, check in body["checks"].items() if check["status"] != "ok"}


def secrets_of_this_setup() -> list[str]:
    """What a reason must never carry: the database's and Redis' addresses, users and passwords."""
    database = settings.DATABASES["default"]
    redis = urlsplit(settings.REDIS_URL)
    found = [
        settings.REDIS_URL,
        redis.netloc,
        f"{database['HOST']}:{database['PORT']}",
        f"port {database['PORT']}",
        str(database["HOST"]),
        str(database["NAME"]),
    ]
    found += [value for value in (database.get("USER"), database.get("PASSWORD"), redis.password) if value]
    return found


def assert_no_secret(response_text: str, *more: str) -> None:
    for secret in [*secrets_of_this_setup(), *more]:
        assert secret not in response_text, secret


def assert_alive(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


class RefusingCache(BaseCache):
    """A cache that fails the test when anything reads or writes it."""

    def __init__(self, location, params):
        super().__init__(params)

    def __getattribute__(self, name):
        if name in ("get", "set", "add", "delete", "get_many", "set_many", "incr", "touch", "has_key"):
            raise AssertionError(f"/healthz used the cache ({name})")
        return super().__getattribute__(name)


def test_healthz_answers_without_the_database_the_cache_or_the_broker(client):
    # No django_db mark: any database query here fails the test; so does any use of the cache.
    cache = {"default": {"BACKEND": f"{__name__}.RefusingCache"}}
    with override_settings(CACHES=cache), broker(UNREACHABLE):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_healthz_reads_no_session_even_when_the_probe_sends_a_cookie(client):
    client.cookies[settings.SESSION_COOKIE_NAME] = "a" * 32
    assert client.get("/healthz").status_code == 200


@readiness_db
def test_readyz_answers_200_with_every_check_ok_and_no_secret(client):
    beat(SWEEPS)
    status, body = ready(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == CHECKS
    for check in body["checks"].values():
        assert check["status"] == "ok"
        assert "reason" not in check
        assert 0 <= check["ms"] < 2000
    assert_no_secret(client.get("/readyz").content.decode())


@readiness_db
def test_readyz_names_the_database_when_postgresql_is_unreachable(client, monkeypatch):
    beat(SWEEPS)
    # New connections (each check opens its own) are built from these settings: port 1 refuses them.
    database = settings.DATABASES["default"]
    monkeypatch.setitem(database, "PORT", 1)
    monkeypatch.setitem(database, "PASSWORD", "sentinel-password-never-shown")
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert failing(body) == {
        "database": "unreachable",
        "migrations": "database unreachable",
        "beat_heartbeat": "database unreachable",
    }
    assert_no_secret(response.content.decode(), "sentinel-password-never-shown", "127.0.0.1:1", "port 1")
    assert_alive(client)


@readiness_db
def test_readyz_names_redis_and_the_broker_when_redis_is_unreachable(client):
    beat(SWEEPS)
    cache = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": UNREACHABLE,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with override_settings(CACHES=cache), broker(UNREACHABLE):
        response = client.get("/readyz")
        assert_alive(client)
    assert response.status_code == 503
    assert failing(response.json()) == {"redis": "unreachable", "broker": "unreachable"}
    assert_no_secret(response.content.decode(), UNREACHABLE, "127.0.0.1:1")


@readiness_db
def test_readyz_names_the_beat_heartbeat_when_the_last_sweep_is_stale(client):
    with time_machine.travel(NOW, tick=False) as traveller:
        beat(SWEEPS)
        traveller.shift(timedelta(seconds=settings.BEAT_STALE_SECONDS))
        status, _body = ready(client)
        assert status == 200  # exactly the limit is not stale yet
        traveller.shift(timedelta(seconds=60))
        status, body = ready(client)
        assert_alive(client)
    assert status == 503
    assert failing(body) == {"beat_heartbeat": f"last sweep {settings.BEAT_STALE_SECONDS + 60} s ago"}


@readiness_db
def test_readyz_is_not_ready_before_the_first_sweep(client):
    status, body = ready(client)
    assert status == 503
    assert failing(body) == {"beat_heartbeat": "no sweep has run yet"}


@readiness_db
def test_readyz_counts_the_migrations_not_applied(client):
    beat(SWEEPS)
    recorder = MigrationRecorder(connection)
    recorder.record_unapplied("core", "0001_initial")
    try:
        status, body = ready(client)
    finally:
        recorder.record_applied("core", "0001_initial")
    assert status == 503
    assert failing(body) == {"migrations": "1 migration not applied"}
    # Once every migration is applied, a process stops asking (polling stays cheap).
    assert ready(client)[0] == 200
    assert health._migrations_applied


@readiness_db
def test_readyz_reports_a_broker_folder_that_is_missing(client, tmp_path):
    beat(SWEEPS)
    folders = {"data_folder_in": str(tmp_path / "gone"), "data_folder_out": str(tmp_path / "gone")}
    from config.celery_app import app

    previous = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url, app.conf.broker_transport_options = "filesystem://", folders
    try:
        status, body = ready(client)
        (tmp_path / "gone").mkdir()
        status_after, _body = ready(client)
    finally:
        app.conf.broker_url, app.conf.broker_transport_options = previous
    assert (status, failing(body)) == (503, {"broker": "folder missing"})
    assert status_after == 200


def production_redirect_exempt() -> list[str]:
    """SECURE_REDIRECT_EXEMPT as config/settings/production.py writes it (importing that module
    needs production's environment)."""
    tree = ast.parse((ROOT / "config" / "settings" / "production.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "SECURE_REDIRECT_EXEMPT" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("production.py sets no SECURE_REDIRECT_EXEMPT")


@readiness_db
def test_probes_are_not_redirected_to_https_under_production_settings(client):
    beat(SWEEPS)
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_REDIRECT_EXEMPT=production_redirect_exempt()):
        assert client.get("/accounts/login/").status_code == 301  # the redirect is on
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_the_beat_task_records_its_heartbeat_even_when_nothing_was_due(monkeypatch):
    from disputes.tasks import run_sweeps

    ran = []
    monkeypatch.setattr("core.metrics.sweep_ran", lambda seconds, counts: ran.append((seconds, counts)))
    with time_machine.travel(NOW, tick=False):
        counts = run_sweeps()
    assert last_beat(SWEEPS) == NOW
    assert last_beat(SWEEPS_FINISHED) == NOW
    assert not any(counts.values())
    assert len(ran) == 1
    seconds, reported = ran[0]
    assert seconds >= 0
    assert reported == counts


@pytest.mark.django_db
def test_a_sweep_run_that_fails_still_beats_but_does_not_finish(monkeypatch):
    from disputes import tasks

    def broken(now=None):
        raise RuntimeError("a sweep failed")

    monkeypatch.setattr(tasks, "run_all_sweeps", broken)
    with time_machine.travel(NOW, tick=False), pytest.raises(RuntimeError):
        tasks.run_sweeps()
    assert last_beat(SWEEPS) == NOW  # beat and a worker are alive: /readyz stays ready
    assert last_beat(SWEEPS_FINISHED) is None  # the operator's page shows the sweeps do not finish


@pytest.mark.django_db
def test_a_heartbeat_is_one_row_overwritten(django_assert_num_queries):
    with django_assert_num_queries(1):
        heartbeat.beat("x", at=NOW)
    heartbeat.beat("x", at=NOW + timedelta(minutes=1))
    assert Heartbeat.objects.filter(name="x").count() == 1
    assert heartbeat.last_beat("x") == NOW + timedelta(minutes=1)
    assert heartbeat.last_beat("never") is None


def test_the_probes_answer_a_host_the_site_does_not_list(client, settings):
    # A load balancer or an orchestrator probes the process by its own address.
    settings.ALLOWED_HOSTS = ["disputes.example.com"]
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.0.7:8000").status_code in (200, 503)
    assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400  # the site itself still refuses it


@readiness_db
def test_readiness_runs_from_a_thread_that_already_runs_an_event_loop():
    # An ASGI server's thread, or a browser driver's in the same process: asyncio.run() refuses there.
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from core.health import readiness

    beat(SWEEPS)

    async def inside_a_loop():
        return readiness()

    # In a thread of its own: this one may already run a loop (the browser tests' driver does).
    with ThreadPoolExecutor(max_workers=1) as thread:
        outcomes = thread.submit(asyncio.run, inside_a_loop()).result()
    assert {outcome.name for outcome in outcomes} == CHECKS
