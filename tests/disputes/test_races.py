"""Races on PostgreSQL with real threads and real transactions: one transition wins, once."""

import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from disputes.models import Dispute, DisputeEvent, Refund
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, dispute_in

pytestmark = pytest.mark.django_db(transaction=True)


def race(calls):
    """Start every call at the same instant, each in its own thread and DB connection."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture(autouse=True)
def inside_the_window():
    with time_machine.travel(OPEN_AT, tick=True):
        yield


def test_ten_simultaneous_accepts_make_one_transition_one_event_one_refund(world):
    dispute = dispute_in(world, "awaiting_buyer")  # carol offered 30.00
    events_before = DisputeEvent.objects.filter(dispute=dispute).count()
    alice = api_as(world.alice)
    responses = race([lambda: alice.post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json")] * 10)
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 9, codes
    assert DisputeEvent.objects.filter(dispute=dispute).count() == events_before + 1
    assert list(Refund.objects.filter(dispute=dispute).values_list("amount", flat=True)) == [Decimal("30.00")]


def test_buyer_escalating_while_the_seller_accepts_makes_exactly_one_transition(world):
    dispute = dispute_in(world, "awaiting_buyer")
    # The buyer escalates while the seller, too late, tries to accept the original request.
    alice, carol = api_as(world.alice), api_as(world.carol)
    responses = race(
        [
            lambda: alice.post(f"/api/disputes/{dispute.pk}/escalate/", {"note": "no"}, format="json"),
            lambda: carol.post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json"),
        ]
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    dispute.refresh_from_db()
    assert dispute.state in ("escalated", "under_review")  # routed to erin right after commit
    assert DisputeEvent.objects.filter(dispute=dispute, action__in=["escalate", "accept"]).count() == 1
    assert not Refund.objects.filter(dispute=dispute).exists()


def test_seller_accepting_while_the_buyer_cancels_leaves_one_outcome(world):
    dispute = dispute_in(world, "awaiting_seller")
    alice, carol = api_as(world.alice), api_as(world.carol)
    responses = race(
        [
            lambda: alice.post(f"/api/disputes/{dispute.pk}/cancel/", {}, format="json"),
            lambda: carol.post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json"),
        ]
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    dispute.refresh_from_db()
    refunds = Refund.objects.filter(dispute=dispute).count()
    # Either may win, but the outcome is the winner's: the one that was told 200.
    cancel, accept = responses
    expected = ("cancelled", 0) if cancel.status_code == 200 else ("resolved", 1)
    assert (dispute.state, refunds) == expected
    winner = cancel if cancel.status_code == 200 else accept
    assert winner.json()["state"] == dispute.state


def test_two_buyers_tabs_opening_at_once_make_one_dispute(world):
    from tests.disputes.helpers import SHIPPED
    from tests.factories import make_order

    make_order(buyer=world.alice, store=world.carols, number="R-1", shipped_at=SHIPPED)
    alice = api_as(world.alice)
    body = {"reason": "not_received", "item_received": False, "refund_type": "full", "description": "x"}
    responses = race([lambda: alice.post("/api/orders/R-1/dispute/", body, format="json")] * 5)
    assert sorted(r.status_code for r in responses) == [201] + [409] * 4
    assert Dispute.objects.filter(order__number="R-1").count() == 1


def test_concurrent_retries_with_one_idempotency_key_move_money_once(world):
    dispute = dispute_in(world, "awaiting_buyer")
    alice = api_as(world.alice)
    responses = race(
        [lambda: alice.post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json", HTTP_IDEMPOTENCY_KEY="same")] * 4
    )
    assert [r.status_code for r in responses] == [200] * 4
    assert Refund.objects.filter(dispute=dispute).count() == 1
