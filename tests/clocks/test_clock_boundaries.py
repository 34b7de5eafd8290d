"""Each clock at its boundary: a minute before, nothing; a minute after, the right transition, a
system event and a notification (docs/rules.md §2)."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from disputes.models import Dispute, DisputeEvent, Refund
from disputes.services import dispute_act_by
from disputes.tasks import run_all_sweeps
from notifications.models import Notification
from notifications.render import render
from orders.models import Order
from tests.disputes.helpers import OPEN_AT, SHIPPED, dispute_in, open_dispute
from tests.factories import make_order

pytestmark = pytest.mark.django_db
MINUTE = timedelta(minutes=1)


@pytest.fixture
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


def at(traveller, moment):
    traveller.move_to(moment)
    return run_all_sweeps()


def last_event(dispute):
    return DisputeEvent.objects.filter(dispute=dispute).order_by("-id").first()


def test_seller_silence_executes_the_buyers_request(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    at(clock, dispute.respond_by - MINUTE)
    assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_seller"
    at(clock, dispute.respond_by + MINUTE)
    dispute.refresh_from_db()
    assert (dispute.state, dispute.cause, dispute.outcome) == ("resolved", "seller_timeout", "full_refund")
    event = last_event(dispute)
    assert event.actor is None and event.actor_party == "system" and event.action == "seller_timeout"
    assert Refund.objects.get(dispute=dispute).amount == Decimal("80.00")
    assert Notification.objects.filter(recipient=world.alice, kind="refunded").exists()


def test_buyer_silence_executes_the_sellers_last_offer(world, clock):
    dispute = dispute_in(world, "awaiting_buyer")  # 30.00 offered
    at(clock, dispute.respond_by - MINUTE)
    assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_buyer"
    at(clock, dispute.respond_by + MINUTE)
    dispute.refresh_from_db()
    assert (dispute.state, dispute.cause, dispute.resolved_refund_amount) == (
        "resolved",
        "buyer_timeout",
        Decimal("30.00"),
    )
    assert Notification.objects.filter(recipient=world.carol, kind="resolved").exists()


def test_buyer_silence_after_a_rejection_closes_with_no_refund(world, clock):
    dispute = open_dispute(world)
    dispute = dispute_act_by(user=world.carol, dispute=dispute, action="reject", note="Delivered.")
    at(clock, dispute.respond_by + MINUTE)
    dispute.refresh_from_db()
    assert (dispute.state, dispute.outcome) == ("resolved", "no_refund")
    assert not Refund.objects.exists()


def test_an_unsettled_dispute_escalates_fifteen_days_after_opening(world, clock):
    dispute = open_dispute(world)
    # Keep negotiating so no single answer clock runs out before day 15.
    for day in (4, 8, 12):
        clock.move_to(OPEN_AT + timedelta(days=day))
        who = world.carol if day in (4, 12) else world.alice
        dispute = dispute_act_by(user=who, dispute=dispute, action="propose", refund_amount=Decimal("40.00") + day)
    escalate_at = OPEN_AT + timedelta(days=15)
    at(clock, escalate_at - MINUTE)
    assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_buyer"
    at(clock, escalate_at + MINUTE)
    dispute.refresh_from_db()
    assert dispute.state in ("escalated", "under_review")
    assert DisputeEvent.objects.filter(dispute=dispute, action="auto_escalate", actor__isnull=True).count() == 1
    assert Notification.objects.filter(recipient=world.alice, kind="escalated").exists()


def test_a_return_not_shipped_in_ten_days_closes_for_the_seller(world, clock):
    dispute = dispute_in(world, "awaiting_return")
    assert dispute.respond_by == OPEN_AT + timedelta(days=10)
    at(clock, dispute.respond_by - MINUTE)
    assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_return"
    at(clock, dispute.respond_by + MINUTE)
    dispute.refresh_from_db()
    assert (dispute.state, dispute.cause, dispute.outcome) == ("resolved", "return_not_shipped", "no_refund")


def test_a_return_not_confirmed_in_fifteen_days_refunds_the_buyer(world, clock):
    dispute = dispute_in(world, "return_in_transit")
    assert dispute.respond_by == OPEN_AT + timedelta(days=15)
    at(clock, dispute.respond_by - MINUTE)
    assert Dispute.objects.get(pk=dispute.pk).state == "return_in_transit"
    at(clock, dispute.respond_by + MINUTE)
    dispute.refresh_from_db()
    assert (dispute.state, dispute.cause) == ("resolved", "return_not_confirmed")
    assert Refund.objects.get(dispute=dispute).amount == Decimal("80.00")


def test_every_clock_reminds_a_day_before(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    at(clock, dispute.respond_by - timedelta(days=1) - MINUTE)
    assert not Notification.objects.filter(kind="day_left").exists()
    at(clock, dispute.respond_by - timedelta(days=1) + MINUTE)
    assert Notification.objects.filter(kind="day_left", recipient=world.carol).count() == 1
    at(clock, dispute.respond_by - timedelta(hours=2))
    assert Notification.objects.filter(kind="day_left").count() == 1  # once


def test_reminders_reach_every_deadline_in_the_window_however_many(world, clock):
    from disputes.sweeps import sweep_reminders

    disputes = []
    for i in range(5):  # opened an hour apart: five seller deadlines within the same day
        clock.move_to(OPEN_AT + timedelta(hours=i))
        disputes.append(open_dispute(world, number=f"R-{i}"))
    ruled = [dispute_in(world, "under_review", number=f"U-{i}") for i in range(3)]
    clock.move_to(disputes[0].respond_by - timedelta(hours=1))
    for dispute in ruled:  # three rulings overdue as well
        Dispute.objects.filter(pk=dispute.pk).update(respond_by=OPEN_AT)
    assert sweep_reminders(limit=2) == 5 + 3  # batches of two: every one is still read
    assert Notification.objects.filter(kind="day_left", recipient=world.carol).count() == 5
    assert Notification.objects.filter(kind="sla_breached").count() == 3
    assert sweep_reminders(limit=2) == 0  # and once


def test_both_parties_hear_a_day_before_a_dispute_escalates_by_itself(world, clock):
    dispute = open_dispute(world)
    for day in (4, 8, 12):  # still negotiating on day 14; no answer clock is a day from running out
        clock.move_to(OPEN_AT + timedelta(days=day))
        who = world.carol if day in (4, 12) else world.alice
        dispute = dispute_act_by(user=who, dispute=dispute, action="propose", refund_amount=Decimal("40.00") + day)
    day_before = OPEN_AT + timedelta(days=14)
    at(clock, day_before - MINUTE)
    assert not Notification.objects.filter(kind="day_left").exists()
    at(clock, day_before + MINUTE)
    notes = Notification.objects.filter(kind="day_left")
    assert sorted(notes.values_list("recipient__username", flat=True)) == ["alice", "carol"]
    shown = render(notes.get(recipient=world.alice))
    assert "goes to the dispute team within a day" in shown.title
    # In her own words and zone: both sides' amounts and the moment it escalates, Los Angeles time.
    assert "You ask for $48.00; the seller offered $52.00." in shown.happened
    assert "Tue 24 Mar 2026 at 05:00 (Los Angeles time)" in shown.action
    at(clock, day_before + timedelta(hours=6))
    assert notes.count() == 2  # once each


def test_a_party_asked_for_evidence_hears_a_day_before_the_request_expires(world, clock):
    from disputes.review import evidence_request_create

    dispute = dispute_in(world, "under_review")
    request = evidence_request_create(staff=world.erin, dispute=dispute, party="seller", note="The tracking page.")
    reminders = Notification.objects.filter(kind="day_left", dedupe_key__startswith="evidence_request:")
    at(clock, request.due_at - timedelta(days=1) - MINUTE)
    assert not reminders.exists()
    at(clock, request.due_at - timedelta(days=1) + MINUTE)
    assert list(reminders.values_list("recipient__username", "url")) == [("carol", f"/disputes/{dispute.pk}/")]
    at(clock, request.due_at - timedelta(hours=2))
    assert reminders.count() == 1


def test_an_overdue_ruling_is_flagged_to_its_assignee(world, clock):
    dispute = dispute_in(world, "under_review")
    at(clock, dispute.respond_by - timedelta(hours=12))
    assert Notification.objects.filter(kind="day_left", recipient=world.erin).count() == 1
    at(clock, dispute.respond_by + MINUTE)
    assert Notification.objects.filter(kind="sla_breached", recipient=world.erin).count() == 1
    at(clock, dispute.respond_by + timedelta(hours=3))
    assert Notification.objects.filter(kind="sla_breached").count() == 1


def test_an_order_completes_when_its_window_closes_with_no_live_dispute(world, clock):
    order = make_order(buyer=world.alice, store=world.carols, number="C-1", shipped_at=SHIPPED)
    at(clock, order.window_closes_at - MINUTE)
    assert Order.objects.get(pk=order.pk).status == "shipped"
    at(clock, order.window_closes_at + MINUTE)
    assert Order.objects.get(pk=order.pk).status == "completed"


def test_an_order_with_a_live_dispute_does_not_complete(world, clock):
    dispute = dispute_in(world, "escalated")
    at(clock, dispute.order.window_closes_at + MINUTE)
    assert Order.objects.get(pk=dispute.order_id).status == "shipped"


def test_window_notices_go_to_every_order_in_one_run_however_many(world, clock):
    from disputes.order_clocks import sweep_window_notices

    clock.move_to(SHIPPED)
    orders = [make_order(buyer=world.alice, store=world.carols, number=f"W-{i}", shipped_at=SHIPPED) for i in range(5)]
    clock.move_to(orders[0].window_opens_at + MINUTE)
    assert sweep_window_notices(limit=2) == 5
    assert sweep_window_notices(limit=2) == 0


def test_the_buyer_hears_when_the_window_opens_and_three_days_before_it_closes(world, clock):
    clock.move_to(SHIPPED)
    order = make_order(buyer=world.alice, store=world.carols, number="N-1", shipped_at=SHIPPED)
    at(clock, order.window_opens_at - MINUTE)
    assert not Notification.objects.filter(kind="window_opens").exists()
    at(clock, order.window_opens_at + MINUTE)
    assert Notification.objects.filter(kind="window_opens", recipient=world.alice).count() == 1
    at(clock, order.window_closes_at - timedelta(days=3) - MINUTE)
    assert not Notification.objects.filter(kind="window_closing").exists()
    at(clock, order.window_closes_at - timedelta(days=3) + MINUTE)
    assert Notification.objects.filter(kind="window_closing", recipient=world.alice).count() == 1
    at(clock, order.window_closes_at - timedelta(days=1))
    assert Notification.objects.filter(kind__in=["window_opens", "window_closing"]).count() == 2


def test_a_late_window_notice_is_not_sent_for_an_order_already_disputed(world, clock):
    dispute = open_dispute(world)  # the window opened two days ago; the notice sweep has not run
    at(clock, OPEN_AT + MINUTE)
    assert not Notification.objects.filter(kind="window_opens").exists()
    assert Order.objects.get(pk=dispute.order_id).notified_window_open


def test_running_every_sweep_twice_acts_once(world, clock):
    due = [dispute_in(world, "awaiting_seller", number=f"T-{i}") for i in range(3)]
    clock.move_to(due[0].respond_by + MINUTE)
    first = run_all_sweeps()
    second = run_all_sweeps()
    assert first["clocks"] == 3 and second["clocks"] == 0
    assert DisputeEvent.objects.filter(action="seller_timeout").count() == 3
    assert Refund.objects.count() == 3


def test_run_deadlines_command_runs_every_sweep(world, clock, capsys):
    from django.core.management import call_command

    dispute = dispute_in(world, "awaiting_seller")
    clock.move_to(dispute.respond_by + MINUTE)
    call_command("run_deadlines")
    assert "clocks: 1" in capsys.readouterr().out
    assert Dispute.objects.get(pk=dispute.pk).state == "resolved"
