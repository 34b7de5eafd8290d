"""Every request clock reminds the party it waits for a day before it runs out, once."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from disputes.requests import request_open, sweep_requests
from notifications.models import Notification
from notifications.texts import words
from tests.disputes.test_policy_in_disputes import DELIVERED, daves_policy, order_of

pytestmark = pytest.mark.django_db


def test_the_seller_is_reminded_a_day_before_a_request_is_decided_for_them(world):
    daves_policy(world)
    order = order_of(world, number="RM-1", total=Decimal("50.00"))
    opened = DELIVERED + timedelta(days=1)
    with time_machine.travel(opened, tick=False):
        request = request_open(buyer=world.alice, order=order, kind="return_refund", reason="changed_mind")
    reminders = Notification.objects.filter(recipient=world.dave, dedupe_key__contains=":day_left:")
    with time_machine.travel(opened + timedelta(days=3, hours=23), tick=False):
        sweep_requests()
    assert not reminders.exists()  # more than a day left
    with time_machine.travel(opened + timedelta(days=4, hours=1), tick=False):
        sweep_requests()
        sweep_requests()
    assert reminders.count() == 1
    title, _happened, action, after = words(reminders.get().kind, reminders.get().params)
    assert "by" in action
    assert f"request #{request.pk}" in title and "approved" in after
