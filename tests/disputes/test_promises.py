"""One example per promise of the workflow (docs/disputes.md, "The promises"), through the API a
buyer, a seller and the team use. The model-based test (test_workflow_machine.py) explores the
orders of events nobody scripted; these are the sequences people reported, kept as sentences."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group

from accounts.models import DISPUTE_TEAM_GROUP
from disputes.models import Dispute, DisputeEvent, PendingRuling, Refund
from disputes.review import ruling_approve, ruling_submit
from disputes.routing import pick_reviewer
from disputes.services import dispute_act_by
from disputes.sweeps import sweep_clocks, sweep_routing
from disputes.tasks import run_all_sweeps
from notifications.models import Notification
from orders.models import Carrier, Order
from orders.services import carrier_set_window_days, order_record_shipment
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED, dispute_in, open_dispute
from tests.factories import UserFactory, make_order, team_member

pytestmark = pytest.mark.django_db
FORTY = Decimal("40.00")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


def post(user, dispute, action, body=None):
    return api_as(user).post(f"/api/disputes/{dispute.pk}/{action}/", body or {}, format="json")


def detail(user, dispute) -> dict:
    return api_as(user).get(f"/api/disputes/{dispute.pk}/").json()


def refunded(order_number: str) -> list[Decimal]:
    return sorted(Refund.objects.filter(order__number=order_number).values_list("amount", flat=True))


def open_api(buyer, order, **body):
    body = {"reason": "not_received", "item_received": False, "refund_type": "full", "description": "Nothing came.",
            **body}  # fmt: skip
    return api_as(buyer).post(f"/api/orders/{order.number}/dispute/", body, format="json")


# --- the two sequences in the issue ----------------------------------------------------------------


def test_why_1_a_buyer_cannot_cancel_an_appealed_ruling_and_reopen_for_more(world, clock):
    frank = team_member("frank")
    dispute = open_dispute(world, number="W-1", total=FORTY)
    post(world.carol, dispute, "reject", {"note": "It was delivered."})
    post(world.alice, dispute, "escalate", {"note": "It was not."})
    ruled = post(
        world.erin, dispute, "ruling", {"outcome": "partial_refund", "refund_amount": "30.00", "note": "Most."}
    )
    assert ruled.json()["resolution"]["refund_amount"] == "30.00"
    assert post(world.carol, dispute, "appeal", {"note": "Tracking says delivered."}).status_code == 200
    cancel = post(world.alice, dispute, "cancel")
    assert cancel.status_code == 409 and "appeal" in cancel.json()["detail"]
    reopen = open_api(world.alice, dispute.order)
    assert reopen.status_code == 409 and reopen.json()["code"] == "dispute_exists"
    # The appeal goes to someone else, who rules the buyer's total: only the difference is paid.
    assert pick_reviewer(Dispute.objects.get(pk=dispute.pk)) == frank
    final = post(frank, dispute, "ruling", {"outcome": "full_refund", "note": "Carrier lost it."})
    assert final.status_code == 200, final.json()
    assert refunded("W-1") == [Decimal("10.00"), Decimal("30.00")]
    assert final.json()["resolution"] == final.json()["resolution"] | {
        "outcome": "full_refund",
        "refund_amount": "40.00",
    }
    assert final.json()["money"] == {"paid": "40.00", "refunded": "40.00", "left": "0.00", "currency": "USD"}
    # Days later nothing is stuck and nothing is paid twice.
    clock.shift(timedelta(days=8))
    run_all_sweeps()
    assert refunded("W-1") == [Decimal("10.00"), Decimal("30.00")]


def test_why_2_not_received_never_asks_for_a_return_at_any_step(world):
    order = make_order(buyer=world.alice, store=world.carols, number="W-2", shipped_at=SHIPPED, total=FORTY)
    refused = open_api(world.alice, order, return_item=True)
    assert refused.status_code == 400 and "nothing to send back" in refused.json()["detail"]
    assert not Dispute.objects.exists()
    dispute = Dispute.objects.get(pk=open_api(world.alice, order).json()["id"])
    counter = post(world.carol, dispute, "proposals", {"refund_amount": "20.00", "return_item": True, "note": "Send"})
    assert counter.status_code == 400 and "nothing to send back" in counter.json()["detail"]
    post(world.carol, dispute, "proposals", {"refund_amount": "20.00", "note": "Half?"})
    modified = post(world.alice, dispute, "proposals", {"refund_amount": "40.00", "return_item": True})
    assert modified.status_code == 400
    post(world.alice, dispute, "escalate", {"note": "No."})
    ruling = post(world.erin, dispute, "ruling", {"outcome": "return_and_refund", "note": "Send it back."})
    assert ruling.status_code == 400 and "nothing to send back" in ruling.json()["detail"]
    done = post(world.erin, dispute, "ruling", {"outcome": "full_refund", "note": "Never arrived."})
    assert done.json()["state"] == "resolved" and refunded("W-2") == [FORTY]


def test_a_seller_accepting_not_received_refunds_at_once_even_if_an_old_request_asked_for_a_return(world):
    dispute = open_dispute(world, number="W-3", total=FORTY)
    dispute.proposals.update(return_item=True)  # a request stored before the rule existed
    accepted = post(world.carol, dispute, "accept")
    assert accepted.json()["state"] == "resolved" and refunded("W-3") == [FORTY]


# --- money --------------------------------------------------------------------------------------


def test_after_a_refund_a_request_or_offer_asks_at_most_for_what_is_left_and_full_means_the_rest(world):
    first = open_dispute(world, number="M-1", total=FORTY)
    dispute_act_by(user=world.alice, dispute=first, action="cancel")
    # A refund recorded on the order before this rule (a cancelled dispute that had paid 30.00).
    Refund.objects.create(dispute=first, order=first.order, resolution_number=1, amount=Decimal("30.00"),
                          currency="USD", gateway="local", gateway_reference="legacy", cause="agreement")  # fmt: skip
    Dispute.objects.filter(pk=first.pk).update(refunded_amount=Decimal("30.00"))
    too_much = open_api(world.alice, first.order, refund_type="partial", refund_amount="20.00")
    assert too_much.status_code == 400 and "10.00 left to refund" in too_much.json()["detail"]
    opened = open_api(world.alice, first.order, refund_type="full")
    assert opened.status_code == 201, opened.json()
    assert opened.json()["refund_amount"] == "10.00"
    second = Dispute.objects.get(pk=opened.json()["id"])
    assert detail(world.alice, second)["money"] == {"paid": "40.00", "refunded": "30.00", "left": "10.00",
                                                    "currency": "USD"}  # fmt: skip
    counter = post(world.carol, second, "proposals", {"refund_amount": "15.00", "note": "More?"})
    assert counter.status_code == 400
    accepted = post(world.carol, second, "accept")
    assert accepted.json()["resolution"]["outcome"] == "full_refund"
    assert refunded("M-1") == [Decimal("10.00"), Decimal("30.00")]
    # That dispute was resolved, which closes the order to new disputes (docs/rules.md: 409 dispute_exists,
    # checked before the reopen limit).
    again = open_api(world.alice, first.order)
    assert again.status_code == 409 and again.json()["code"] == "dispute_exists"


def test_a_ruling_names_the_buyers_total_and_pays_only_the_difference(world):
    frank = team_member("frank")
    dispute = dispute_in(world, "under_review", number="M-2")  # 80.00 paid
    post(world.erin, dispute, "ruling", {"outcome": "partial_refund", "refund_amount": "20.00", "note": "Some."})
    post(world.alice, dispute, "appeal", {"note": "Not enough."})
    below = post(frank, dispute, "ruling", {"outcome": "partial_refund", "refund_amount": "10.00", "note": "Less"})
    assert below.status_code == 400 and "$20.00 already refunded" in below.json()["detail"]
    done = post(frank, dispute, "ruling", {"outcome": "partial_refund", "refund_amount": "50.00", "note": "Half."})
    assert refunded("M-2") == [Decimal("20.00"), Decimal("30.00")]
    assert done.json()["resolution"]["refund_amount"] == "50.00"
    assert done.json()["resolution"]["outcome"] == "partial_refund"


# --- liveness and set-aside ---------------------------------------------------------------------


class GatewayDown:
    name = "down"

    def refund(self, **_ignored):
        raise ConnectionError("payment provider unreachable")


def test_a_clock_that_fails_sets_the_dispute_aside_for_a_person_and_it_is_retried_hourly(world, clock, settings):
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    dispute = open_dispute(world, number="L-1")
    settings.PAYMENT_GATEWAY = "tests.disputes.test_promises.GatewayDown"
    clock.shift(timedelta(days=6))
    sweep_clocks()
    stuck = Dispute.objects.get(pk=dispute.pk)
    assert stuck.state == "awaiting_seller" and stuck.set_aside_at is not None
    assert "payment provider unreachable" in stuck.set_aside_reason
    told = set(Notification.objects.filter(kind="needs_person").values_list("recipient__username", flat=True))
    assert told == {"erin", superuser.username}
    # Parties get a clear answer instead of the refund error; the page and API say who has it.
    refusal = post(world.carol, dispute, "reject", {"note": "no"})
    assert refusal.status_code == 409 and refusal.json()["code"] == "needs_person"
    assert detail(world.alice, dispute)["needs_person"]["reason"] is None  # the reason is for the team
    assert "waiting for the dispute team" in detail(world.alice, dispute)["default_outcome"]
    # Not every minute: the next sweeps leave it alone until the hour has passed.
    clock.shift(timedelta(minutes=5))
    sweep_clocks()
    assert Dispute.objects.get(pk=dispute.pk).retry_at > stuck.set_aside_at + timedelta(minutes=59)
    # The provider is back: the hourly retry resolves it and clears the flag.
    settings.PAYMENT_GATEWAY = "disputes.payments.LocalLedgerGateway"
    clock.shift(timedelta(hours=1))
    sweep_clocks()
    resolved = Dispute.objects.get(pk=dispute.pk)
    assert resolved.state == "resolved" and resolved.set_aside_at is None and refunded(dispute.order.number)


def test_the_team_can_take_over_a_set_aside_dispute_and_rule_on_it(world, clock, settings):
    dispute = open_dispute(world, number="L-2")
    settings.PAYMENT_GATEWAY = "tests.disputes.test_promises.GatewayDown"
    clock.shift(timedelta(days=6))
    sweep_clocks()
    taken = post(world.erin, dispute, "take-over")
    assert taken.status_code == 200, taken.json()
    assert taken.json()["state"] == "escalated" and taken.json()["needs_person"] is None
    sweep_routing()
    settings.PAYMENT_GATEWAY = "disputes.payments.LocalLedgerGateway"
    assert post(world.erin, dispute, "ruling", {"outcome": "full_refund", "note": "Ok."}).status_code == 200
    assert refunded("L-2") == [Decimal("80.00")]


def test_an_escalated_dispute_nobody_may_take_alerts_the_team_and_superusers(world):
    Group.objects.get(name=DISPUTE_TEAM_GROUP).user_set.remove(world.erin)
    carol_in_team = world.carol
    carol_in_team.is_staff = True
    carol_in_team.save()
    carol_in_team.groups.add(Group.objects.get(name=DISPUTE_TEAM_GROUP))  # the seller is the only member
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    dispute = dispute_in(world, "escalated", number="T-1")
    sweep_routing()
    waiting = Dispute.objects.get(pk=dispute.pk)
    assert waiting.assignee is None and waiting.set_aside_at is not None
    told = set(Notification.objects.filter(kind="needs_person").values_list("recipient__username", flat=True))
    assert told == {"carol", superuser.username}
    refusal = post(world.carol, dispute, "claim")
    assert refusal.status_code == 409  # a party to the order never reviews it
    # A member who may take it joins: the next hourly retry routes it.
    frank = team_member("frank")
    with time_machine.travel(OPEN_AT + timedelta(hours=1, minutes=1), tick=False):
        sweep_routing()
    routed = Dispute.objects.get(pk=dispute.pk)
    assert routed.assignee == frank and routed.set_aside_at is None


# --- finality -----------------------------------------------------------------------------------


def test_a_buyer_cannot_cancel_once_the_team_has_ruled_even_while_the_item_goes_back(world):
    dispute = dispute_in(world, "escalated", number="F-1", received=True)
    post(world.erin, dispute, "ruling", {"outcome": "return_and_refund", "note": "Send it back."})
    refusal = post(world.alice, dispute, "cancel")
    assert refusal.status_code == 409 and "ruled" in refusal.json()["detail"]


def test_a_buyer_may_still_cancel_an_agreed_return_before_shipping_it(world):
    dispute = dispute_in(world, "awaiting_return", number="F-2")
    assert post(world.alice, dispute, "cancel").json()["state"] == "cancelled"


# --- appeals ------------------------------------------------------------------------------------


def test_the_order_does_not_complete_while_an_appeal_is_possible(world, clock):
    order = make_order(buyer=world.alice, store=world.carols, number="A-1", shipped_at=SHIPPED, total=FORTY)
    dispute = open_dispute_on(world, order)
    post(world.carol, dispute, "reject", {"note": "No."})
    post(world.alice, dispute, "escalate", {"note": "Please."})
    clock.move_to(order.window_closes_at - timedelta(days=1))
    post(world.erin, dispute, "ruling", {"outcome": "no_refund", "note": "Delivered."})
    clock.shift(timedelta(days=3))  # the window has closed; the 7 appeal days have not
    run_all_sweeps()
    assert Order.objects.get(pk=order.pk).status == "shipped"
    clock.shift(timedelta(days=5))
    run_all_sweeps()
    assert Order.objects.get(pk=order.pk).status == "completed"


def open_dispute_on(world, order):
    return Dispute.objects.get(pk=open_api(world.alice, order).json()["id"])


def test_a_pending_ruling_is_withdrawn_when_the_buyer_cancels_and_its_proposer_is_told(world, settings):
    settings.RULING_APPROVAL_THRESHOLD = Decimal("50.00")
    dispute = dispute_in(world, "under_review", number="A-2")
    kind, pending = ruling_submit(staff=world.erin, dispute=dispute, outcome="full_refund", note="All of it.")
    assert kind == "pending"
    post(world.alice, dispute, "cancel")
    assert PendingRuling.objects.get(pk=pending.pk).status == "withdrawn"
    assert Notification.objects.filter(recipient=world.erin, kind="ruling_withdrawn").exists()


def test_the_member_whose_ruling_is_appealed_cannot_approve_the_new_one(world, settings):
    settings.RULING_APPROVAL_THRESHOLD = Decimal("50.00")
    frank, grace = team_member("frank"), team_member("grace")
    dispute = dispute_in(world, "under_review", number="A-3")
    post(world.erin, dispute, "ruling", {"outcome": "partial_refund", "refund_amount": "20.00", "note": "Some."})
    post(world.alice, dispute, "appeal", {"note": "More."})
    _kind, pending = ruling_submit(staff=frank, dispute=Dispute.objects.get(pk=dispute.pk), outcome="full_refund",
                                   note="All.")  # fmt: skip
    with pytest.raises(Exception, match="did not make the ruling under appeal"):
        ruling_approve(staff=world.erin, pending=pending)
    ruling_approve(staff=grace, pending=pending)
    assert refunded("A-3") == [Decimal("20.00"), Decimal("60.00")]
    event = DisputeEvent.objects.filter(dispute=dispute, action="ruling").last()
    assert event.actor == frank


# --- sense --------------------------------------------------------------------------------------


def test_the_buyer_may_escalate_while_the_seller_considers_a_modified_request(world):
    dispute = dispute_in(world, "awaiting_seller", number="S-1")
    early = post(world.alice, dispute, "escalate", {"note": "Now!"})
    assert early.status_code == 409 and "answer your request first" in early.json()["detail"]
    post(world.carol, dispute, "reject", {"note": "No."})
    post(world.alice, dispute, "proposals", {"refund_amount": "60.00", "note": "Meet me?"})
    assert post(world.alice, dispute, "escalate", {"note": "Silence."}).json()["state"] == "escalated"


def test_a_counter_offer_stands_after_the_seller_rejects_a_modified_request(world, clock):
    dispute = dispute_in(world, "awaiting_seller", number="S-2")
    post(world.carol, dispute, "proposals", {"refund_amount": "20.00", "note": "Twenty."})
    post(world.alice, dispute, "proposals", {"refund_amount": "60.00", "note": "Sixty?"})
    post(world.carol, dispute, "reject", {"note": "Twenty stands."})
    assert "$20.00" in detail(world.alice, dispute)["default_outcome"]
    clock.shift(timedelta(days=6))
    sweep_clocks()
    assert refunded("S-2") == [Decimal("20.00")]


# --- the team -----------------------------------------------------------------------------------


def test_a_release_back_to_the_queue_does_not_restart_the_ruling_deadline(world, clock):
    frank = team_member("frank")
    dispute = dispute_in(world, "under_review", number="T-2")
    deadline = Dispute.objects.get(pk=dispute.pk).respond_by
    clock.shift(timedelta(days=2))
    assert post(world.erin, dispute, "release").json()["state"] == "escalated"
    assert post(frank, dispute, "claim").json()["assignee"] == "frank"
    assert Dispute.objects.get(pk=dispute.pk).respond_by == deadline


def test_a_superuser_outside_the_team_is_not_a_team_member(world):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    dispute = dispute_in(world, "escalated", number="T-3")
    assert api_as(root).get(f"/api/disputes/{dispute.pk}/").status_code == 404
    sweep_routing()
    assert Dispute.objects.get(pk=dispute.pk).assignee == world.erin


# --- windows ------------------------------------------------------------------------------------


def test_lengthening_a_carrier_reaches_open_windows_and_shortening_only_new_orders(world):
    dhl = Carrier.objects.get(code="dhl")
    open_order = make_order(buyer=world.alice, store=world.carols, number="C-1", shipped_at=SHIPPED)
    closed_order = make_order(buyer=world.alice, store=world.carols, number="C-2",
                              shipped_at=SHIPPED - timedelta(days=30))  # fmt: skip
    before_open, before_closed = open_order.window_closes_at, closed_order.window_closes_at
    carrier_set_window_days(actor=world.erin, carrier=dhl, days=30)
    assert Order.objects.get(pk=open_order.pk).window_closes_at == before_open + timedelta(days=7)
    assert Order.objects.get(pk=closed_order.pk).window_closes_at == before_closed
    carrier_set_window_days(actor=world.erin, carrier=dhl, days=20)
    assert Order.objects.get(pk=open_order.pk).window_closes_at == before_open + timedelta(days=7)
    new_order = make_order(buyer=world.alice, store=world.carols, number="C-3", shipped_at=SHIPPED)
    assert new_order.window_closes_at == SHIPPED + timedelta(days=20)


def test_a_late_shipment_never_moves_an_open_windows_opening_later(world, clock):
    placed, ship_by = datetime(2026, 2, 20, tzinfo=UTC), datetime(2026, 2, 25, tzinfo=UTC)
    order = make_order(buyer=world.alice, store=world.carols, number="C-4", placed_at=placed, ship_by=ship_by)
    opened = order.window_opens_at
    assert opened <= OPEN_AT
    order = order_record_shipment(actor=world.platform, order=order, carrier=order.carrier, tracking_number="T",
                                  shipped_at=OPEN_AT - timedelta(hours=1))  # fmt: skip
    assert order.window_opens_at == opened and order.dispute_window(OPEN_AT).is_open
    assert order.window_closes_at == OPEN_AT - timedelta(hours=1) + timedelta(days=23)


# --- completion ---------------------------------------------------------------------------------


def test_a_partly_refunded_order_completes_when_its_window_closes(world, clock):
    dispute = dispute_in(world, "awaiting_buyer", number="P-1")  # the seller offered 30.00
    post(world.alice, dispute, "accept")
    order = Order.objects.get(pk=dispute.order_id)
    assert order.status == "partially_refunded"
    clock.move_to(order.window_closes_at + timedelta(minutes=1))
    run_all_sweeps()
    assert Order.objects.get(pk=order.pk).status == "completed"


def test_an_order_never_shipped_is_cancelled_and_refunded_in_full_and_both_parties_are_told(world, clock):
    order = make_order(buyer=world.alice, store=world.carols, number="U-1", total=FORTY)
    clock.move_to(order.window_closes_at + timedelta(minutes=1))
    run_all_sweeps()
    run_all_sweeps()  # a second run pays nothing more
    order.refresh_from_db()
    assert order.status == "cancelled"
    refund = Refund.objects.get(order=order)
    assert refund.dispute is None and refund.amount == FORTY and refund.cause == "not_shipped"
    told = set(Notification.objects.filter(kind="order_cancelled").values_list("recipient__username", flat=True))
    assert told == {"alice", "carol"}


def test_found_a_shipment_recorded_after_an_unshipped_order_was_cancelled_and_refunded_is_refused(world, clock):
    """Found by the workflow machine: the order ended cancelled *and* shipped, its buyer refunded in full."""
    order = make_order(buyer=world.alice, store=world.carols, number="U-2", total=FORTY)
    clock.move_to(order.window_closes_at + timedelta(minutes=1))
    run_all_sweeps()
    response = api_as(world.platform).post(
        f"/api/orders/{order.number}/shipment/",
        {"carrier": "dhl", "tracking_number": "LATE1", "shipped_at": (order.window_closes_at).isoformat()},
        format="json",
    )
    assert response.status_code == 409 and response.json()["code"] == "order_cancelled"
    order.refresh_from_db()
    assert order.status == "cancelled" and order.shipped_at is None
