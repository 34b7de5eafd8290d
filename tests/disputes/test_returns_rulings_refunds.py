"""Returns, rulings, appeals and refunds."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction

from disputes.models import Dispute, DisputeEvent, Refund
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, dispute_in
from tests.factories import team_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def inside_the_window():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


def post(user, dispute, action, body=None, **headers):
    return api_as(user).post(f"/api/disputes/{dispute.pk}/{action}/", body or {}, format="json", **headers)


def test_a_return_journey_ends_in_a_refund_once_the_seller_confirms(world):
    dispute = dispute_in(world, "awaiting_return")
    detail = api_as(world.alice).get(f"/api/disputes/{dispute.pk}/").json()
    assert detail["return_address"]["city"] == ""  # the snapshot's address (empty in the factory policy)
    assert "does not submit the return's tracking" in detail["default_outcome"]
    shipped = post(world.alice, dispute, "return-shipment", {"carrier": "ups", "tracking_number": "1ZRET"})
    assert shipped.json()["state"] == "return_in_transit"
    assert shipped.json()["return_shipment"]["tracking_number"] == "1ZRET"
    assert not Refund.objects.exists()
    done = post(world.carol, dispute, "return-received", {"condition": "ok"})
    assert done.json()["state"] == "resolved"
    assert done.json()["resolution"]["outcome"] == "full_refund"
    assert Refund.objects.get(dispute=dispute).amount == Decimal("80.00")


@pytest.mark.parametrize("condition", ["damaged", "empty", "different"])
def test_a_returned_item_that_is_not_right_escalates(world, condition):
    dispute = dispute_in(world, "return_in_transit")
    response = post(world.carol, dispute, "return-received", {"condition": condition})
    assert response.json()["state"] == "escalated"
    assert not Refund.objects.exists()


def test_a_ruling_refunds_and_records_the_note_both_parties_see(world):
    dispute = dispute_in(world, "under_review")
    response = post(world.erin, dispute, "ruling", {"outcome": "partial_refund", "refund_amount": "20.00",
                                                     "note": "Photos show minor wear."})  # fmt: skip
    assert response.status_code == 200
    assert Refund.objects.get(dispute=dispute).amount == Decimal("20.00")
    for party in (world.alice, world.carol):
        seen = api_as(party).get(f"/api/disputes/{dispute.pk}/").json()
        assert seen["ruling"]["note"] == "Photos show minor wear.", party.username
        assert seen["resolution"]["cause"] == "ruling"
        assert "assignee" not in seen
    assert api_as(world.erin).get(f"/api/disputes/{dispute.pk}/").json()["assignee"] == "erin"


def test_return_and_refund_ruling_sends_the_item_back_first(world):
    dispute = dispute_in(world, "escalated", received=True)
    response = post(world.erin, dispute, "ruling", {"outcome": "return_and_refund", "note": "Send it back."})
    assert response.json()["state"] == "awaiting_return"
    assert not Refund.objects.exists()  # no money until the seller has the item back
    post(world.alice, dispute, "return-shipment", {"carrier": "dhl", "tracking_number": "R1"})
    assert not Refund.objects.exists()
    done = post(world.carol, dispute, "return-received", {"condition": "ok"})
    assert done.json()["resolution"]["cause"] == "ruling"
    assert Refund.objects.get().amount == Decimal("80.00")


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "partial_refund", "refund_amount": "80.00", "note": "x"},
        {"outcome": "partial_refund", "refund_amount": "0", "note": "x"},
        {"outcome": "partial_refund", "note": "x"},
        {"outcome": "everything", "note": "x"},
        {"outcome": "no_refund"},
    ],
)
def test_refused_rulings_say_why_and_change_nothing(world, body):
    dispute = dispute_in(world, "under_review")
    response = post(world.erin, dispute, "ruling", body)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert Dispute.objects.get(pk=dispute.pk).state == "under_review"


def test_ruling_a_dispute_assigned_to_someone_else_records_the_handover(world):
    frank = team_member("frank")
    dispute = dispute_in(world, "under_review")  # claimed by erin
    post(frank, dispute, "ruling", {"outcome": "no_refund", "note": "Delivered per tracking."})
    event = DisputeEvent.objects.filter(dispute=dispute).order_by("-id").first()
    assert event.actor == frank and event.payload["handover_from"] == "erin"


def test_each_party_may_appeal_once_within_seven_days_and_someone_else_reviews(world, inside_the_window):
    frank = team_member("frank")
    dispute = dispute_in(world, "under_review")
    post(world.erin, dispute, "ruling", {"outcome": "partial_refund", "refund_amount": "20.00", "note": "Half."})
    inside_the_window.shift(timedelta(days=6, hours=23))
    appeal = post(world.alice, dispute, "appeal", {"note": "The photos show more damage."})
    assert appeal.json()["state"] == "escalated"
    # erin ruled first, so she may not take the appeal; frank may.
    assert post(world.erin, dispute, "claim").status_code == 409
    assert post(world.erin, dispute, "ruling", {"outcome": "full_refund", "note": "x"}).status_code == 409
    final = post(frank, dispute, "ruling", {"outcome": "full_refund", "note": "On appeal: full refund."})
    assert final.json()["resolution"]["refund_amount"] == "80.00"
    assert final.json()["resolution"]["refunded"] == "80.00"
    # 20.00 first, then only the difference: never more than paid.
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [Decimal("20.00"), Decimal("60.00")]
    again = post(world.alice, dispute, "appeal", {"note": "again"})
    assert again.status_code == 409 and "already appealed" in again.json()["detail"]


def test_an_appeal_after_seven_days_is_refused(world, inside_the_window):
    dispute = dispute_in(world, "under_review")
    post(world.erin, dispute, "ruling", {"outcome": "no_refund", "note": "No."})
    inside_the_window.shift(timedelta(days=7))
    response = post(world.carol, dispute, "appeal", {"note": "late"})
    assert response.status_code == 409 and "7 days" in response.json()["detail"]


def test_an_appeal_ruling_cannot_take_back_money_already_refunded(world):
    frank = team_member("frank")
    dispute = dispute_in(world, "under_review")
    post(world.erin, dispute, "ruling", {"outcome": "partial_refund", "refund_amount": "50.00", "note": "Half."})
    post(world.carol, dispute, "appeal", {"note": "It was delivered!"})
    response = post(frank, dispute, "ruling", {"outcome": "partial_refund", "refund_amount": "20.00", "note": "Less."})
    assert response.status_code == 400
    assert "$50.00 already refunded" in response.json()["detail"]
    # "No refund" on appeal means nothing more: what was refunded stays, and the outcome says so.
    kept = post(frank, dispute, "ruling", {"outcome": "no_refund", "note": "Seller is right."})
    assert kept.status_code == 200, kept.json()
    assert kept.json()["resolution"]["outcome"] == "partial_refund"
    assert kept.json()["resolution"]["refund_amount"] == "50.00"
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("50.00")]


def test_the_database_allows_exactly_one_refund_per_resolution(world):
    dispute = dispute_in(world, "resolved")
    refund = Refund.objects.get(dispute=dispute)
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.create(
            dispute=dispute, order=refund.order, resolution_number=refund.resolution_number, amount=Decimal("1.00"),
            currency="USD", gateway="local", gateway_reference="dup", cause="agreement",
        )  # fmt: skip


def test_events_are_append_only(world):
    dispute = dispute_in(world, "awaiting_buyer")
    event = DisputeEvent.objects.filter(dispute=dispute).first()
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        DisputeEvent.objects.filter(dispute=dispute).update(action="forged")
    with pytest.raises(TypeError):
        DisputeEvent.objects.filter(dispute=dispute).delete()


def test_a_deadline_that_has_passed_is_enforced_when_a_party_acts(world, inside_the_window):
    dispute = dispute_in(world, "awaiting_seller")
    inside_the_window.shift(timedelta(days=5, minutes=1))
    # carol answers too late: her silence already executed the buyer's request.
    response = post(world.carol, dispute, "proposals", {"refund_amount": "10.00"})
    assert response.status_code == 409
    dispute.refresh_from_db()
    assert dispute.state == "resolved" and dispute.cause == "seller_timeout"
    event = DisputeEvent.objects.filter(dispute=dispute).order_by("-id").first()
    assert event.actor is None and event.actor_party == "system" and event.action == "seller_timeout"
    assert Refund.objects.get(dispute=dispute).amount == Decimal("80.00")


def test_buyer_silence_after_a_plain_rejection_closes_with_no_refund(world, inside_the_window):
    dispute = dispute_in(world, "awaiting_seller")
    post(world.carol, dispute, "reject", {"note": "Delivered."})
    inside_the_window.shift(timedelta(days=5, minutes=1))
    detail = post(world.alice, dispute, "escalate", {"note": "late"})
    assert detail.status_code == 409
    dispute.refresh_from_db()
    assert (dispute.state, dispute.outcome, dispute.cause) == ("resolved", "no_refund", "buyer_timeout")
    assert not Refund.objects.exists()
