"""Two sweeps at once, in threads, on PostgreSQL: every due item is acted on exactly once."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection

from disputes.models import DisputeEvent, Refund
from disputes.tasks import run_all_sweeps
from messaging.models import Notification
from tests.disputes.helpers import OPEN_AT, dispute_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_sweeps_running_at_once_act_on_each_due_dispute_once(world):
    with time_machine.travel(OPEN_AT, tick=False):
        disputes = [dispute_in(world, "awaiting_seller", number=f"S-{i}") for i in range(12)]
    due_at = disputes[0].respond_by + timedelta(minutes=1)
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        try:
            barrier.wait()
            results.append(run_all_sweeps(now=due_at))
        finally:
            connection.close()

    with time_machine.travel(due_at, tick=True):
        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert sum(r["clocks"] for r in results) == 12
    assert DisputeEvent.objects.filter(action="seller_timeout").count() == 12
    assert Refund.objects.count() == 12
    refunded = Notification.objects.filter(kind="refunded")
    assert refunded.count() == 12 and refunded.values("dedupe_key").distinct().count() == 12
