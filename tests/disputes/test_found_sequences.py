"""Sequences the workflow state machine (test_workflow_machine.py) found breaking a promise of
disputes/invariants.py, each kept as a plain example: the shortest steps Hypothesis printed, replayed
through the same services, so the hole stays closed once it is fixed."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import RuleViolation
from disputes import invariants
from disputes.tasks import run_all_sweeps
from orders.models import OrderStatus
from orders.services import order_record_shipment
from tests.disputes.helpers import SHIPPED
from tests.factories import carrier, make_order

pytestmark = pytest.mark.django_db


def test_found_a_shipment_recorded_after_the_order_was_cancelled_unshipped(world):
    """Found: an order never shipped is cancelled and refunded in full when its window closes; the platform
    then recorded a late shipment on it, leaving a cancelled order that had shipped (ledger_matches_order_status).
    The machine's steps: place an unshipped order, time_passes(hours=121, beat=True) until the window had
    closed, platform_reports(event='shipment', hours_ago=0)."""
    order = make_order(buyer=world.alice, store=world.carols, number="F-1", placed_at=SHIPPED)
    with time_machine.travel(order.window_closes_at + timedelta(hours=1), tick=False):
        run_all_sweeps(now=timezone.now())
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED

        with pytest.raises(RuleViolation):
            order_record_shipment(
                actor=world.platform,
                order=order,
                carrier=carrier("dhl"),
                tracking_number="LATE",
                shipped_at=timezone.now(),
            )

        order.refresh_from_db()
        assert order.shipped_at is None
        assert invariants.check_all(now=timezone.now(), after_sweep=True) == []
