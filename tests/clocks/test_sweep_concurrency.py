"""Two sweeps at once, in threads, on PostgreSQL: every due item is acted on exactly once."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection

from disputes.models import DisputeEvent, Refund
from disputes.tasks import run_all_sweeps
from notifications.models import Notification
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


def test_a_seller_answering_as_the_sweep_runs_out_their_clock_moves_money_once(world):
    """The seller's accept (which first runs any clock already out) and the sweep both reach for the
    same disputes: whichever locks a dispute first acts on the clock, the other finds it resolved
    or skips it. Each dispute is refunded exactly once, and the seller is told it is too late."""
    from tests.conftest import api_as
    from tests.disputes.test_races import race

    with time_machine.travel(OPEN_AT, tick=False):
        disputes = [dispute_in(world, "awaiting_seller", number=f"R-{i}") for i in range(6)]
    due_at = disputes[0].respond_by + timedelta(minutes=1)
    with time_machine.travel(due_at, tick=True):
        calls = [lambda: run_all_sweeps()["clocks"]]
        calls += [lambda d=d: api_as(world.carol).post(f"/api/disputes/{d.pk}/accept/").status_code for d in disputes]
        results = race(calls)
    assert results[1:] == [409] * 6  # too late either way: the clock ran out before they answered
    assert 0 <= results[0] <= 6
    for dispute in disputes:
        assert Refund.objects.filter(dispute=dispute).count() == 1
        resolving = DisputeEvent.objects.filter(dispute=dispute, to_state="resolved")
        assert resolving.count() == 1
        assert (
            Notification.objects.filter(
                recipient=world.alice, kind="refunded", dedupe_key__contains=f"dispute:{dispute.pk}:"
            ).count()
            == 1
        )
