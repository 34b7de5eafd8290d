"""With the broker unreachable, requests still succeed quickly; the sweep delivers later, once."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from disputes.tasks import run_all_sweeps
from notifications.models import Notification
from tests.clocks.broker import broker
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_down():
    """A real Redis broker URL on a port where nothing listens, and no eager shortcut."""
    with broker("redis://127.0.0.1:1/0"):
        yield


def test_opening_a_dispute_succeeds_within_two_seconds_and_notifications_follow_later(world, broker_down, caplog):
    make_order(buyer=world.alice, store=world.carols, number="B-1", shipped_at=SHIPPED)
    body = {"reason": "not_received", "item_received": False, "refund_type": "full", "description": "Lost."}
    with time_machine.travel(OPEN_AT, tick=True):
        started = time.monotonic()
        response = api_as(world.alice).post("/api/orders/B-1/dispute/", body, format="json")
        elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert elapsed < 2, f"took {elapsed:.2f}s"
    assert "broker unavailable" in caplog.text  # the broker really was tried, and refused
    note = Notification.objects.get(kind="dispute_opened", recipient=world.carol)
    assert note.delivered_at is None and mail.outbox == []

    # The broker is back (or not: the sweep needs none). The sweep delivers what the task missed, once.
    with time_machine.travel(OPEN_AT + timedelta(minutes=2), tick=True):
        run_all_sweeps()
        run_all_sweeps()
    assert [m.to for m in mail.outbox] == [["carol@example.com"]]
    note.refresh_from_db()
    assert note.delivered_at is not None
