"""The demo data lets a newcomer walk every journey, and what it shows agrees with itself."""

import pytest
from django.utils import timezone

from accounts.models import User
from disputes.cases import case_remove, case_suggestions
from disputes.demo import CASE_REASON, seed_disputes
from disputes.models import CONDITION_REASONS, Case, Dispute, Reason
from disputes.states import State
from messaging.demo import seed_messages
from messaging.models import Message
from orders.demo import JOURNEY_ORDERS, seed_orders
from orders.models import ExtensionRequest, Order
from sellers.models import ReturnPolicy, policy_contradictions

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(reference_data, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    seed_orders()
    seed_messages()
    seed_disputes()


def each_buyer_has_an_open_order_without_a_dispute_and_a_not_yet_open_one_at_each_store():
    now = timezone.now()
    for buyer in ("alice", "bob"):
        for store in ("carols-gadgets", "daves-outlet"):
            orders = Order.objects.filter(buyer__username=buyer, store__slug=store)
            states = {o.dispute_window(now).state.value for o in orders.filter(disputes__isnull=True)}
            assert {"open", "not_yet_open"} <= states, (buyer, store)


def there_is_a_dispute_in_every_state():
    assert set(Dispute.objects.values_list("state", flat=True)) == set(State.values)


def every_dispute_agrees_with_its_order():
    for dispute in Dispute.objects.select_related("order"):
        order = dispute.order
        assert order.shipped_at is not None, f"{order.number}: a dispute on an order that never shipped"
        if dispute.item_received:
            assert order.delivered_at is not None, f"{order.number}: the item arrived, but not per the order"
        if dispute.reason == Reason.NOT_RECEIVED:
            assert not dispute.item_received
        if dispute.item_received and dispute.reason in CONDITION_REASONS:
            assert dispute.evidence.filter(photos__isnull=False).exists(), f"{order.number}: no photo"


def a_message_about_a_cracked_item_is_on_a_delivered_order():
    for message in Message.objects.select_related("thread__order").filter(body__icontains="crack"):
        assert message.thread.order.delivered_at is not None


def the_demo_policies_are_consistent():
    for policy in ReturnPolicy.objects.all():
        assert policy_contradictions({name: getattr(policy, name) for name in ReturnPolicy.TERMS}) == {}


def the_sellers_have_extension_requests_to_answer():
    pending = ExtensionRequest.objects.filter(status=ExtensionRequest.Status.PENDING)
    assert set(pending.values_list("order__store__slug", flat=True)) == {"carols-gadgets", "daves-outlet"}
    assert all(request.note for request in pending)


def a_case_links_the_lost_container_and_its_suggestion_finds_the_fourth_order():
    case = Case.objects.get()
    assert case.status == Case.Status.OPEN and case.public_reason == CASE_REASON
    members = case.disputes.select_related("order__buyer", "order__shipment_carrier")
    assert sorted(d.order.number for d in members) == ["DD-4101", "DD-4102", "DD-4103"]
    assert all(d.state in (State.ESCALATED, State.UNDER_REVIEW) for d in members)
    assert {d.order.buyer.username for d in members} == {"alice", "bob"}
    assert {d.order.shipment_carrier.code for d in members} == {"sf_express"}
    tracking = [d.order.tracking_number for d in members]
    assert any(tracking.count(number) == 2 for number in tracking), "two members share a tracking number"
    suggested = {s.dispute.order.number: s.why for s in case_suggestions(case=case)}
    assert "carrier_week" in suggested["DD-4104"]
    fourth = Dispute.objects.get(order__number="DD-4104")
    assert fourth.case_id is None and fourth.state == State.ESCALATED
    # alice's member is with erin; the paused dispute stays paused beside the case.
    assert Dispute.objects.get(order__number="DD-4101").assignee.username == "erin"
    assert Dispute.objects.get(order__number="DD-4003").paused_until is not None


def test_the_demo_lets_a_newcomer_walk_every_journey_and_agrees_with_itself(demo):
    each_buyer_has_an_open_order_without_a_dispute_and_a_not_yet_open_one_at_each_store()
    there_is_a_dispute_in_every_state()
    every_dispute_agrees_with_its_order()
    a_message_about_a_cracked_item_is_on_a_delivered_order()
    the_demo_policies_are_consistent()
    the_sellers_have_extension_requests_to_answer()
    a_case_links_the_lost_container_and_its_suggestion_finds_the_fourth_order()
    # Seeding again changes nothing.
    counts = (Order.objects.count(), Dispute.objects.count(), Message.objects.count(), Case.objects.count())
    seed_orders()
    seed_messages()
    seed_disputes()
    assert (Order.objects.count(), Dispute.objects.count(), Message.objects.count(), Case.objects.count()) == counts
    assert Case.objects.get().disputes.count() == 3
    # What the team did since stays done: a member taken out is not linked again.
    case = Case.objects.get()
    case_remove(staff=User.objects.get(username="erin"), case=case, dispute_id=case.disputes.order_by("pk").last().pk)
    seed_disputes()
    assert case.disputes.count() == 2 and Case.objects.count() == 1


def test_the_readme_names_every_journey_order():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for number, *_rest in JOURNEY_ORDERS:
        assert number in readme, number
