"""Every action, for every party, from every state: allowed ones move the dispute to the right state
and leave one event; refused ones answer 409 invalid_state and change nothing (docs/rules.md §3)."""

from datetime import datetime
from decimal import Decimal

import pytest
import time_machine

from disputes.models import Dispute, DisputeEvent, Refund
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, dispute_in

pytestmark = pytest.mark.django_db

STATES = [
    "awaiting_seller",
    "awaiting_buyer",
    "escalated",
    "under_review",
    "awaiting_return",
    "return_in_transit",
    "resolved",
    "cancelled",
]

# (endpoint, body) for each action.
ACTIONS = {
    "propose": ("proposals", {"refund_amount": "40.00", "note": "How about this"}),
    "accept": ("accept", {}),
    "reject": ("reject", {"note": "Tracking shows it was delivered."}),
    "escalate": ("escalate", {"note": "We cannot agree."}),
    "cancel": ("cancel", {}),
    "return_shipment": ("return-shipment", {"carrier": "dhl", "tracking_number": "RET999"}),
    "return_received": ("return-received", {"condition": "ok"}),
    "appeal": ("appeal", {"note": "Please look again."}),
}

# What each party may do from each state, and where it leads. Everything else is refused.
ALLOWED = {
    ("awaiting_seller", "carol", "accept"): "resolved",
    ("awaiting_seller", "carol", "reject"): "awaiting_buyer",
    ("awaiting_seller", "carol", "propose"): "awaiting_buyer",
    ("awaiting_seller", "alice", "cancel"): "cancelled",
    ("awaiting_buyer", "alice", "accept"): "resolved",
    ("awaiting_buyer", "alice", "propose"): "awaiting_seller",
    ("awaiting_buyer", "alice", "escalate"): "escalated",
    ("awaiting_buyer", "alice", "cancel"): "cancelled",
    ("escalated", "alice", "cancel"): "cancelled",
    ("under_review", "alice", "cancel"): "cancelled",
    ("awaiting_return", "alice", "return_shipment"): "return_in_transit",
    ("awaiting_return", "alice", "cancel"): "cancelled",
    ("return_in_transit", "carol", "return_received"): "resolved",
    ("return_in_transit", "carol", "escalate"): "escalated",
}

CASES = [(state, who, action) for state in STATES for who in ("alice", "carol") for action in ACTIONS]


@pytest.fixture(autouse=True)
def inside_the_window():
    with time_machine.travel(OPEN_AT, tick=False):
        yield


@pytest.mark.parametrize(("state", "who", "action"), CASES, ids=[f"{s}-{w}-{a}" for s, w, a in CASES])
def test_each_action_for_each_party_from_each_state(world, state, who, action):
    dispute = dispute_in(world, state)
    assert dispute.state == state
    events_before = DisputeEvent.objects.filter(dispute=dispute).count()
    endpoint, body = ACTIONS[action]

    response = api_as(getattr(world, who)).post(f"/api/disputes/{dispute.pk}/{endpoint}/", body, format="json")

    dispute.refresh_from_db()
    expected = ALLOWED.get((state, who, action))
    if expected:
        assert response.status_code == 200, response.json()
        assert response.json()["state"] == expected == dispute.state
        events = DisputeEvent.objects.filter(dispute=dispute).order_by("-id")
        assert events.count() == events_before + 1
        assert (events[0].action, events[0].from_state, events[0].to_state) == (action, state, expected)
    else:
        assert response.status_code == 409, response.json()
        assert response.json()["code"] == "invalid_state"
        assert len(response.json()["detail"]) > 20  # a sentence saying what is allowed now
        assert dispute.state == state
        assert DisputeEvent.objects.filter(dispute=dispute).count() == events_before


TEAM_CASES = [(state, action) for state in STATES for action in ("claim", "ruling")]
TEAM_ALLOWED = {
    ("escalated", "claim"): "under_review",
    ("escalated", "ruling"): "resolved",
    ("under_review", "ruling"): "resolved",
}


@pytest.mark.parametrize(("state", "action"), TEAM_CASES, ids=[f"{s}-{a}" for s, a in TEAM_CASES])
def test_team_actions_from_each_state(world, state, action):
    dispute = dispute_in(world, state)
    body = (
        {"outcome": "partial_refund", "refund_amount": "25.00", "note": "Half the value."} if action == "ruling" else {}
    )
    response = api_as(world.erin).post(f"/api/disputes/{dispute.pk}/{action}/", body, format="json")
    expected = TEAM_ALLOWED.get((state, action))
    dispute.refresh_from_db()
    if expected:
        assert response.status_code == 200, response.json()
        assert dispute.state == expected
    else:
        assert response.status_code == 409 and response.json()["code"] == "invalid_state"
        assert dispute.state == state


@pytest.mark.parametrize("action", ["ruling", "claim"])
def test_parties_may_not_take_team_actions(world, action):
    dispute = dispute_in(world, "escalated")
    for user in (world.alice, world.carol):
        body = {"outcome": "full_refund", "note": "I rule for myself"}
        response = api_as(user).post(f"/api/disputes/{dispute.pk}/{action}/", body, format="json")
        assert response.status_code == 409 and response.json()["code"] == "invalid_state"  # docs/rules.md §6
    dispute.refresh_from_db()
    assert dispute.state == "escalated"


def test_buyer_cannot_accept_a_plain_rejection(world):
    dispute = dispute_in(world, "awaiting_seller")
    api_as(world.carol).post(f"/api/disputes/{dispute.pk}/reject/", {"note": "Delivered."}, format="json")
    response = api_as(world.alice).post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json")
    assert response.status_code == 409
    assert "no offer to accept" in response.json()["detail"]


def test_a_rejection_needs_a_reason(world):
    dispute = dispute_in(world, "awaiting_seller")
    response = api_as(world.carol).post(f"/api/disputes/{dispute.pk}/reject/", {"note": ""}, format="json")
    assert response.status_code == 400
    assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_seller"


def test_counter_offers_are_bounded_by_what_was_paid(world):
    dispute = dispute_in(world, "awaiting_seller")
    for amount in ("0.00", "-5.00", "80.01"):
        response = api_as(world.carol).post(
            f"/api/disputes/{dispute.pk}/proposals/", {"refund_amount": amount}, format="json"
        )
        assert response.status_code == 400, amount
    assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_seller"


def test_agreement_on_a_counter_offer_refunds_that_amount_once(world):
    dispute = dispute_in(world, "awaiting_buyer")  # carol offered 30.00
    response = api_as(world.alice).post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json")
    resolution = response.json()["resolution"]
    assert datetime.fromisoformat(resolution.pop("resolved_at")) == OPEN_AT  # an instant with its offset
    assert resolution == {
        "outcome": "partial_refund",
        "refund_amount": "30.00",
        "currency": "USD",
        "cause": "agreement",
        "refunded": "30.00",
    }
    assert Refund.objects.get(dispute=dispute).amount == Decimal("30.00")
    order = api_as(world.alice).get("/api/orders/D-1/").json()
    assert order["status"] == "partially_refunded"
    # `dispute` names the latest live dispute; once resolved it is listed in `disputes` only.
    assert order["dispute"] is None and order["disputes"][0]["id"] == dispute.pk


def test_each_side_gets_five_days_and_every_answer_moves_the_clock(world):
    dispute = dispute_in(world, "awaiting_seller")
    assert dispute.respond_by == dispute.opened_at + __import__("datetime").timedelta(days=5)
    with time_machine.travel(OPEN_AT + __import__("datetime").timedelta(days=2), tick=False):
        response = api_as(world.carol).post(
            f"/api/disputes/{dispute.pk}/proposals/", {"refund_amount": "20.00"}, format="json"
        )
    assert response.json()["awaiting"] == "buyer"
    assert response.json()["respond_by"].startswith("2026-03-16T12:00:00")
    assert "the seller's offer is accepted: $20.00 refunded" in response.json()["default_outcome"]
