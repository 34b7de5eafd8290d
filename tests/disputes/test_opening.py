"""Opening a dispute: the window, one live dispute per order, the reopen limit, amounts, photos."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction

from disputes.models import ClaimItem, Dispute
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes, upload

pytestmark = pytest.mark.django_db

BODY = {"reason": "not_received", "item_received": False, "refund_type": "full", "description": "Never arrived."}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def order(world):
    return make_order(buyer=world.alice, store=world.carols, number="O-1", shipped_at=SHIPPED, total=Decimal("80.00"))


def open_at(world, moment, body=BODY, fmt="json"):
    with time_machine.travel(moment, tick=False):
        return api_as(world.alice).post("/api/orders/O-1/dispute/", body, format=fmt)


def test_a_minute_before_the_window_opens_is_window_not_open_with_the_date(world, order):
    response = open_at(world, SHIPPED + timedelta(days=6) - timedelta(minutes=1))
    assert response.status_code == 409
    assert response.json()["code"] == "window_not_open"
    assert "7 Mar 2026" in response.json()["detail"]


def test_the_window_opens_on_the_dot(world, order):
    response = open_at(world, SHIPPED + timedelta(days=6))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "awaiting_seller" and body["awaiting"] == "seller"
    assert body["request"]["refund_amount"] == "80.00"
    assert "the buyer's request is granted: $80.00 is refunded" in body["default_outcome"]
    assert [e["action"] for e in body["events"]] == ["open"]


def test_at_the_close_it_is_window_closed_with_the_date(world, order):
    response = open_at(world, SHIPPED + timedelta(days=23))
    assert response.status_code == 409
    assert response.json()["code"] == "window_closed"
    assert "24 Mar 2026" in response.json()["detail"]


def test_one_live_dispute_per_order(world, order):
    assert open_at(world, OPEN_AT).status_code == 201
    again = open_at(world, OPEN_AT)
    assert again.status_code == 409 and again.json()["code"] == "dispute_exists"


def test_the_database_itself_refuses_a_second_live_claim_on_an_item(world, order):
    open_at(world, OPEN_AT)
    first = Dispute.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        second = Dispute.objects.create(
            order=order, opened_by=world.alice, reason="other", item_received=False, description="x",
            refund_type="full", refund_amount=Decimal("1.00"), return_item=False, state="awaiting_buyer",
        )  # fmt: skip
        item = order.items.get()
        ClaimItem.objects.create(order_item=item, quantity=1, dispute=second, live=True)
    assert Dispute.objects.get() == first


def test_a_cancelled_dispute_can_be_reopened_once(world, order):
    for _round in range(2):
        dispute_id = open_at(world, OPEN_AT).json()["id"]
        with time_machine.travel(OPEN_AT, tick=False):
            assert api_as(world.alice).post(f"/api/disputes/{dispute_id}/cancel/").status_code == 200
    third = open_at(world, OPEN_AT)
    assert third.status_code == 409 and third.json()["code"] == "reopen_limit"


def test_reopening_still_needs_the_window_open(world, order):
    dispute_id = open_at(world, OPEN_AT).json()["id"]
    with time_machine.travel(OPEN_AT, tick=False):
        api_as(world.alice).post(f"/api/disputes/{dispute_id}/cancel/")
    assert open_at(world, SHIPPED + timedelta(days=24)).json()["code"] == "window_closed"


@pytest.mark.parametrize("amount", ["0.00", "-1.00", "80.01"])
def test_a_partial_refund_is_more_than_zero_and_at_most_what_was_paid(world, order, amount):
    response = open_at(world, OPEN_AT, {**BODY, "refund_type": "partial", "refund_amount": amount})
    assert response.status_code == 400
    assert not Dispute.objects.exists()


def test_a_partial_refund_needs_an_amount_and_a_full_one_is_the_total(world, order):
    missing = open_at(world, OPEN_AT, {**BODY, "refund_type": "partial"})
    assert missing.status_code == 400 and "refund_amount" in missing.json()["fields"]
    full = open_at(world, OPEN_AT, {**BODY, "refund_type": "full", "refund_amount": "1.00"})
    assert full.json()["request"]["refund_amount"] == "80.00"


def test_photos_are_required_when_the_item_arrived_and_its_condition_is_the_reason(world, order):
    body = {**BODY, "reason": "damaged", "item_received": True, "description": "Cracked."}
    without = open_at(world, OPEN_AT, body)
    assert without.status_code == 400 and without.json()["code"] == "photos_required"
    with_photo = open_at(world, OPEN_AT, {**body, "images": [upload(jpeg_bytes())]}, fmt="multipart")
    assert with_photo.status_code == 201, with_photo.json()
    evidence = with_photo.json()["evidence"]
    assert evidence[0]["party"] == "buyer" and len(evidence[0]["images"]) == 1
    # The evidence photo is private like any other.
    url = evidence[0]["images"][0]["url"]
    assert api_as(world.carol).get(url).status_code == 200
    assert api_as(world.bob).get(url).status_code == 404


def test_only_the_buyer_opens(world, order):
    with time_machine.travel(OPEN_AT, tick=False):
        by_seller = api_as(world.carol).post("/api/orders/O-1/dispute/", BODY, format="json")
        assert by_seller.status_code == 409 and by_seller.json()["code"] == "invalid_state"
        assert api_as(world.bob).post("/api/orders/O-1/dispute/", BODY, format="json").status_code == 404
        assert api_as(world.dave).post("/api/orders/O-1/dispute/", BODY, format="json").status_code == 404
        assert api_as(None).post("/api/orders/O-1/dispute/", BODY, format="json").status_code == 401
    assert not Dispute.objects.exists()


def test_not_received_cannot_come_with_a_received_item(world, order):
    response = open_at(world, OPEN_AT, {**BODY, "item_received": True})
    assert response.status_code == 400


def test_every_return_reason_but_a_change_of_mind_is_a_reason_to_open_a_dispute():
    from disputes.models import Reason
    from sellers.models import ReturnReason

    assert Reason.values == ["not_received", *(r for r in ReturnReason.values if r != "changed_mind")]
    assert dict(Reason.choices)["damaged"] == dict(ReturnReason.choices)["damaged"] == "Arrived damaged"
    assert Reason.NOT_RECEIVED == "not_received" and Reason.NOT_RECEIVED.label == "Item not received"
