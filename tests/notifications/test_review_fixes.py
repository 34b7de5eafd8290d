"""The UI review's notice fixes: the team's notices lead to the review screen; a cancellation is
told to the seller; a call to action goes once the dispute moved on; extension requests and answers
are told; a ruling is one notice per party and never calls an appealable ruling closed."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from disputes.notices import alert_needs_person, tell_ruling_withdrawn
from disputes.services import dispute_act_by
from notifications.models import Notification
from notifications.render import render
from notifications.services import notify
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED, dispute_in, open_dispute
from tests.factories import make_order

pytestmark = pytest.mark.django_db

DONE = "(Done: the dispute has moved on.)"


def note_for(user, kind, **filters) -> Notification:
    return Notification.objects.filter(recipient=user, kind=kind, **filters).latest("pk")


# 1. The team's notices -------------------------------------------------------------------------


def test_a_team_members_notices_link_to_the_review_screen(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "under_review")
    review = reverse("admin:disputes_reviewqueueitem_review", args=[dispute.pk])
    # As the overdue sweep writes it (with the parties' page or the admin change form stored).
    params = {"dispute": dispute.pk, "order": "D-1", "role": "team", "state": "under_review",
              "deadline": OPEN_AT.isoformat()}  # fmt: skip
    notify(recipient=world.erin, kind=Notification.Kind.SLA_BREACHED, key="sla", params=params,
           url=f"/disputes/{dispute.pk}/")  # fmt: skip
    shown = render(note_for(world.erin, "sla_breached"))
    assert shown.path == review and shown.url.endswith(review)

    dispute.set_aside_at = OPEN_AT
    alert_needs_person(dispute, reason="The refund gateway timed out.")
    assert note_for(world.erin, "needs_person").url == review

    class Proposed:
        pk, proposed_by = 1, world.erin

    tell_ruling_withdrawn(dispute, Proposed, action="cancel")
    assert render(note_for(world.erin, "ruling_withdrawn")).path == review

    # A party's notice keeps the parties' page.
    assert render(note_for(world.alice, "your_turn")).path == f"/disputes/{dispute.pk}/"


# 2. A cancelled dispute ------------------------------------------------------------------------


def test_the_seller_is_told_the_buyer_cancelled_and_what_it_means(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_in(world, "cancelled")
        shown = render(note_for(world.carol, "dispute_cancelled"))
    assert shown.title == "Order D-1: the buyer cancelled the dispute"
    assert "Nothing is refunded." in shown.happened
    assert "may still open one more dispute on this order until buyer protection ends" in shown.happened
    assert "ends, Tue 24 Mar 2026 at 12:00 (UTC)." in shown.happened  # carol's zone: UTC
    assert not Notification.objects.filter(recipient=world.alice, kind="dispute_cancelled").exists()


def test_no_more_tries_after_the_second_cancellation(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_in(world, "cancelled")
        from disputes.services import dispute_open
        from orders.models import Order

        again = dispute_open(buyer=world.alice, order=Order.objects.get(number="D-1"), reason="not_received",
                             item_received=False, refund_type="full", refund_amount=None, return_item=False,
                             description="Still nothing.")  # fmt: skip
        dispute_act_by(user=world.alice, dispute=again, action="cancel")
        shown = render(note_for(world.carol, "dispute_cancelled"))
    assert "cannot open another dispute on this order" in shown.happened


# 3. A call to action that no longer applies ----------------------------------------------------


def test_a_call_to_action_goes_once_the_dispute_moved_on(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = open_dispute(world)
        assert render(note_for(world.carol, "dispute_opened")).action.startswith("Accept the request")
        dispute = dispute_act_by(user=world.carol, dispute=dispute, action="propose",
                                 refund_amount=Decimal("30.00"))  # fmt: skip
        opened = render(note_for(world.carol, "dispute_opened"))
        assert "asks for a refund of $80.00" in opened.happened  # what happened stays
        assert opened.action == DONE and opened.otherwise == ""
        turn = render(note_for(world.alice, "your_turn"))
        assert turn.action.startswith("Accept the seller's offer")  # alice's turn still stands


def test_a_later_step_back_to_the_same_state_retires_the_earlier_notice(world):
    with time_machine.travel(OPEN_AT, tick=False) as clock:
        dispute = dispute_in(world, "awaiting_buyer")
        first = note_for(world.alice, "your_turn")
        clock.shift(60)
        dispute = dispute_act_by(user=world.alice, dispute=dispute, action="propose", refund_amount=Decimal("60.00"))
        clock.shift(60)
        dispute_act_by(user=world.carol, dispute=dispute, action="reject", note="Signed for.")
        latest = note_for(world.alice, "your_turn")
        assert render(Notification.objects.get(pk=first.pk)).action == DONE
        assert render(latest).action.startswith("Accept the seller's offer")


def test_old_rows_without_the_step_are_judged_by_the_state(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        deadline = (OPEN_AT + timedelta(days=3)).isoformat()
        params = {"dispute": dispute.pk, "order": "D-1", "role": "seller", "state": "awaiting_buyer",
                  "request": "80.00", "currency": "USD", "deadline": deadline}  # fmt: skip
        notify(recipient=world.carol, kind=Notification.Kind.DAY_LEFT, key="old-day-left", params=params)
        assert render(note_for(world.carol, "day_left")).action == DONE


def test_a_page_of_notices_looks_its_disputes_up_once(client, world):
    def queries_for_page() -> int:
        client.force_login(world.carol)
        with CaptureQueriesContext(connection) as page:
            assert client.get("/notifications/").status_code == 200
        with CaptureQueriesContext(connection) as api:
            assert api_as(world.carol).get("/api/notifications/").status_code == 200
        return len(page) + len(api)

    with time_machine.travel(OPEN_AT, tick=False):
        for i in range(2):
            dispute_in(world, "awaiting_buyer", number=f"Q-{i}")
        few = queries_for_page()
        for i in range(2, 8):
            dispute_in(world, "awaiting_buyer", number=f"Q-{i}")
        many = queries_for_page()
        page = client.get("/notifications/").content.decode()
    assert many == few
    assert DONE in page


# 4. Extensions ---------------------------------------------------------------------------------


def test_extension_request_grant_and_decline_are_told_to_the_other_side(world):
    make_order(buyer=world.alice, store=world.carols, number="E-1", shipped_at=SHIPPED)
    with time_machine.travel(SHIPPED + timedelta(days=10), tick=False):
        asked = api_as(world.alice).post("/api/orders/E-1/extension/", {"days": 5, "note": "Away on holiday."},
                                         format="json")  # fmt: skip
        assert asked.status_code in (200, 201), asked.content
        told = render(note_for(world.carol, "extension"))
        assert told.title == "Order E-1: the buyer asks for 5 more days of protection"
        assert "“Away on holiday.”" in told.happened
        assert "Grant the days" in told.action

        client_view = api_as(world.carol)
        assert client_view.post("/api/orders/E-1/extension/grant/", {"days": 4}, format="json").status_code == 200
        granted = render(note_for(world.alice, "extension"))
        assert granted.title == "Order E-1: the seller extended buyer protection by 4 days"
        # 23 days + 4 from 1 Mar 12:00 UTC, in alice's zone (Los Angeles, PDT).
        assert "now ends Sat 28 Mar 2026 at 05:00 (Los Angeles time)" in granted.happened

        api_as(world.alice).post("/api/orders/E-1/extension/", {"days": 3, "note": ""}, format="json")
        declined = client_view.post("/api/orders/E-1/extension/decline/", {"reason": "Final sale."}, format="json")
        assert declined.status_code == 200, declined.content
        shown = render(note_for(world.alice, "extension", params__event="extension_declined"))
    assert shown.title == "Order E-1: the seller declined your request for more days"
    assert "“Final sale.”" in shown.happened


def test_the_order_page_forms_tell_the_other_side_too(client, world):
    make_order(buyer=world.alice, store=world.carols, number="E-2", shipped_at=SHIPPED)
    with time_machine.travel(SHIPPED + timedelta(days=10), tick=False):
        client.force_login(world.alice)
        client.post("/orders/E-2/extension/", {"days": 5, "note": "Please."})
        assert note_for(world.carol, "extension").params["event"] == "extension_requested"


# 5. One notice per party for a ruling ----------------------------------------------------------


def test_a_ruling_is_one_notice_per_party_and_an_appealable_ruling_is_not_closed(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "under_review")
        before = {u: Notification.objects.filter(recipient=u).count() for u in (world.alice, world.carol)}
        dispute_act_by(user=world.erin, dispute=dispute, action="ruling", outcome="partial_refund",
                       refund_amount=Decimal("50.00"), note="Half the parts were missing.")  # fmt: skip
        for user in (world.alice, world.carol):
            new = Notification.objects.filter(recipient=user).count() - before[user]
            assert new == 1 and note_for(user, "ruled")
        for_alice = render(note_for(world.alice, "ruled"))
    assert "A refund of $50.00 was issued to you." in for_alice.happened
    assert "appeal once" in for_alice.action
    for text in (for_alice.title, for_alice.happened, for_alice.action, for_alice.otherwise):
        assert "closed" not in text


def test_a_ruling_that_returns_the_item_tells_the_buyer_to_ship_it_and_that_she_may_appeal(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "under_review", received=True)
        dispute_act_by(user=world.erin, dispute=dispute, action="ruling", outcome="return_and_refund",
                       refund_amount=Decimal("80.00"))  # fmt: skip
        shown = render(note_for(world.alice, "ruled"))
        assert not Notification.objects.filter(recipient=world.alice, kind="your_turn", params__event="ruling")
    assert "Ship the item to the seller's return address" in shown.action and "appeal once" in shown.action


def test_an_old_resolved_row_for_a_ruling_does_not_say_closed(world):
    params = {"order": "D-1", "dispute": 1, "event": "ruling", "role": "buyer", "state": "resolved",
              "currency": "USD", "outcome": "partial_refund", "amount": "50.00", "cause": "ruling"}  # fmt: skip
    notify(recipient=world.alice, kind=Notification.Kind.RESOLVED, key="old-resolved", params=params)
    shown = render(note_for(world.alice, "resolved"))
    assert "closed" not in shown.title and "closed" not in shown.happened
