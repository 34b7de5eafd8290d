"""The store's return policy applied inside a dispute: a covered return cannot simply be refused,
the seller's return postage is refunded with the item (capped, on a receipt photo), and the
default outcome says what the policy means."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from disputes.models import Dispute, Refund
from sellers.models import ReturnPolicy
from tests.conftest import api_as
from tests.disputes.helpers import SHIPPED
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes, upload

pytestmark = pytest.mark.django_db

DELIVERED = SHIPPED + timedelta(days=4)
NOW = SHIPPED + timedelta(days=8)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def daves_policy(world, **terms):
    """Dave's Outlet: returns within 30 days of delivery, free returns (the seller pays postage)."""
    policy = ReturnPolicy.objects.get(store=world.daves)
    values = {
        "accepts_returns": True,
        "return_days": 30,
        "covered_reasons": ["changed_mind", "damaged", "defective", "wrong_item"],
        "free_returns": True,
        "change_of_mind_shipping_payer": "seller",
        "defective_shipping_payer": "seller",
        "wrong_item_shipping_payer": "seller",
        "refund_without_return": False,
        **terms,
    }
    for name, value in values.items():
        setattr(policy, name, value)
    policy.save()


def order_of(world, number="P-1", total=Decimal("80.00")):
    order = make_order(buyer=world.alice, store=world.daves, number=number, shipped_at=SHIPPED, total=total)
    order.delivered_at = DELIVERED
    order.refresh_returns()
    order.save()
    return order


def open_return(world, number="P-1", reason="damaged"):
    with time_machine.travel(NOW, tick=False):
        response = api_as(world.alice).post(
            f"/api/orders/{number}/dispute/",
            {"reason": reason, "item_received": "true", "refund_type": "full", "return_item": "true",
             "description": "Cracked.", "images": [upload(jpeg_bytes())]},
            format="multipart",
        )  # fmt: skip
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_rejected_return_the_policy_covers_goes_to_the_team(world):
    daves_policy(world)
    order_of(world)
    dispute = open_return(world)
    assert "The store's policy covers a return for this reason" in dispute["default_outcome"]
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        rejected = api_as(world.dave).post(f"/api/disputes/{dispute['id']}/reject/", {"note": "No."}, format="json")
    assert rejected.status_code == 200 and rejected.json()["state"] == "escalated"


def test_a_rejected_return_the_policy_does_not_cover_is_the_buyers_turn(world):
    daves_policy(world, covered_reasons=["changed_mind"])
    order_of(world)
    dispute = open_return(world)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        rejected = api_as(world.dave).post(f"/api/disputes/{dispute['id']}/reject/", {"note": "No."}, format="json")
    assert rejected.json()["state"] == "awaiting_buyer"


def ship_back(world, dispute_id, *, postage, images=True):
    body = {"carrier": "dhl", "tracking_number": "RT-1", "postage": postage}
    if images:
        body["images"] = [upload(jpeg_bytes())]
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        return api_as(world.alice).post(f"/api/disputes/{dispute_id}/return-shipment/", body, format="multipart")


def accepted_return(world):
    dispute = open_return(world)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert api_as(world.dave).post(f"/api/disputes/{dispute['id']}/accept/").json()["state"] == "awaiting_return"
    return dispute["id"]


def receive(world, dispute_id):
    with time_machine.travel(NOW + timedelta(days=5), tick=False):
        return api_as(world.dave).post(
            f"/api/disputes/{dispute_id}/return-received/", {"condition": "ok"}, format="json"
        )


def test_postage_the_seller_pays_is_refunded_with_the_item_up_to_the_cap(world):
    daves_policy(world)
    order_of(world)
    dispute_id = accepted_return(world)
    shipped = ship_back(world, dispute_id, postage="30.00")  # the cap is 20% of 80.00: 16.00
    assert shipped.status_code == 200, shipped.json()
    assert receive(world, dispute_id).json()["state"] == "resolved"
    refund = Refund.objects.get(dispute_id=dispute_id)
    assert (refund.amount, refund.postage) == (Decimal("96.00"), Decimal("16.00"))
    dispute = Dispute.objects.get(pk=dispute_id)
    assert dispute.outcome == "full_refund" and dispute.refunded_amount == Decimal("80.00")


def test_postage_under_the_cap_is_refunded_in_full(world):
    daves_policy(world)
    order_of(world)
    dispute_id = accepted_return(world)
    assert ship_back(world, dispute_id, postage="9.50").status_code == 200
    receive(world, dispute_id)
    assert Refund.objects.get(dispute_id=dispute_id).postage == Decimal("9.50")


def test_postage_the_seller_pays_needs_a_photo_of_the_receipt(world):
    daves_policy(world)
    order_of(world)
    dispute_id = accepted_return(world)
    refused = ship_back(world, dispute_id, postage="9.50", images=False)
    assert refused.status_code == 400 and refused.json()["code"] == "photos_required"
    assert Dispute.objects.get(pk=dispute_id).state == "awaiting_return"


def test_postage_the_buyer_pays_is_not_refunded(world):
    daves_policy(world, free_returns=False, defective_shipping_payer="buyer")
    order_of(world)
    dispute_id = accepted_return(world)
    assert ship_back(world, dispute_id, postage="9.50", images=False).status_code == 200
    receive(world, dispute_id)
    refund = Refund.objects.get(dispute_id=dispute_id)
    assert (refund.amount, refund.postage) == (Decimal("80.00"), Decimal("0"))


def test_postage_in_more_decimals_than_the_currency_has_is_refused(world):
    daves_policy(world)
    order_of(world)
    dispute_id = accepted_return(world)
    refused = ship_back(world, dispute_id, postage="9.505")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_amount"
    assert "postage" in refused.json()["fields"]
