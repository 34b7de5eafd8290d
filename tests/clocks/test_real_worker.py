"""End to end: a real Celery worker process, Redis as the broker, PostgreSQL, running a due sweep."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.db import connection

from disputes.models import Dispute
from tests.clocks.broker import broker
from tests.disputes.helpers import OPEN_AT, dispute_in

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1").rsplit("/", 1)[0] + "/3"


@pytest.fixture
def worker():
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": BROKER,
        "CELERY_EAGER": "false",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=info",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "test-worker@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        with broker(BROKER):
            yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_real_worker_runs_a_due_sweep(world, worker):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
    # Make the seller's deadline already past in real time, so the worker (on the real clock) acts.
    Dispute.objects.filter(pk=dispute.pk).update(respond_by=OPEN_AT.replace(year=2000))
    from disputes.tasks import run_sweeps

    run_sweeps.apply_async()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dispute.refresh_from_db()
        if dispute.state == "resolved":
            break
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.5)
    assert dispute.state == "resolved", "the worker did not run the sweep in 60 s"
    assert dispute.cause == "seller_timeout"
    assert dispute.events.filter(action="seller_timeout", actor__isnull=True).count() == 1
