"""The edges a careless or hostile client finds: bodies that are not objects, an empty item list,
amounts written with an exponent, an order never shipped, an order without items, part of a line
settled, a clock with nothing left to do, and a return reported damaged whose postage the ruling pays."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from disputes.models import Dispute, Refund, ReturnRequest
from disputes.requests import request_open, sweep_requests
from disputes.services import dispute_act_by
from orders.models import OrderItem
from tests.conftest import api_as
from tests.disputes.helpers import SHIPPED
from tests.disputes.test_policy_in_disputes import DELIVERED, daves_policy, order_of
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes, upload

pytestmark = pytest.mark.django_db

AT = DELIVERED + timedelta(days=2)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def post(user, path, body, *, fmt="json", at=AT, **extra):
    with time_machine.travel(at, tick=False):
        return api_as(user).post(path, body, format=fmt, **extra)


@pytest.mark.parametrize("body", ["null", "3", '"kind reason"', "[]"])
def test_a_body_that_is_not_an_object_is_a_400_not_a_500(world, body):
    daves_policy(world)
    order_of(world)
    with time_machine.travel(AT, tick=False):
        response = api_as(world.alice).generic(
            "POST", "/api/orders/P-1/requests/", body, content_type="application/json"
        )
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_the_seller_asking_is_told_only_the_buyer_can_before_the_body_is_read(world):
    daves_policy(world)
    order_of(world)
    response = post(world.dave, "/api/orders/P-1/requests/", {"items": "junk"})
    assert response.status_code == 409 and response.json()["code"] == "invalid_state"


@pytest.mark.parametrize("items", [[], "[]"])
def test_an_explicitly_empty_item_list_is_refused_not_taken_for_the_whole_order(world, items):
    daves_policy(world)
    order_of(world)
    body = {"kind": "return_refund", "reason": "changed_mind", "items": items}
    response = post(
        world.alice, "/api/orders/P-1/requests/", body, fmt="multipart" if isinstance(items, str) else "json"
    )
    assert response.status_code == 400 and "items" in response.json()["fields"]
    assert not ReturnRequest.objects.exists()


def test_an_amount_written_with_an_exponent_is_refused(world):
    order = make_order(buyer=world.alice, store=world.carols, number="E-1", shipped_at=SHIPPED, total=Decimal("80"))
    body = {"reason": "not_received", "item_received": False, "refund_type": "partial", "refund_amount": "1e1",
            "description": "Lost."}  # fmt: skip
    response = post(world.alice, "/api/orders/E-1/dispute/", body, at=order.window_opens_at + timedelta(hours=1))
    assert response.status_code == 400 and "refund_amount" in response.json()["fields"]
    assert not Dispute.objects.exists()


def test_an_order_never_shipped_has_nothing_to_return(world):
    daves_policy(world)
    order = make_order(buyer=world.alice, store=world.daves, number="U-1", total=Decimal("100.00"))
    response = post(world.alice, "/api/orders/U-1/requests/", {"kind": "return_refund", "reason": "changed_mind"},
                    at=order.window_opens_at + timedelta(days=1))  # fmt: skip
    assert response.status_code == 409 and response.json()["code"] == "return_period_not_open"
    assert "not received" in response.json()["detail"]


def test_an_order_without_items_holds_one_claim_at_a_time(world):
    daves_policy(world)
    order = order_of(world, number="NI-1")
    OrderItem.objects.filter(order=order).delete()
    with time_machine.travel(AT, tick=False):
        request_open(buyer=world.alice, order=order, kind="return_refund", reason="changed_mind")
    again = post(world.alice, "/api/orders/NI-1/requests/", {"kind": "return_refund", "reason": "changed_mind"})
    assert again.status_code == 409 and again.json()["code"] == "request_exists"
    body = {"reason": "damaged", "item_received": "true", "refund_type": "full", "description": "Broken.",
            "images": [upload(jpeg_bytes())]}  # fmt: skip
    dispute = post(world.alice, "/api/orders/NI-1/dispute/", body, fmt="multipart")
    assert dispute.status_code == 409 and dispute.json()["code"] == "dispute_exists"


def test_the_rest_of_a_line_can_still_be_claimed_after_part_of_it_was_refunded(world):
    daves_policy(world)
    order = make_order(buyer=world.alice, store=world.daves, number="Q-1", shipped_at=SHIPPED,
                       total=Decimal("60.00"), items=[("Bulb", 3, Decimal("20.00"))])  # fmt: skip
    order.delivered_at = DELIVERED
    order.refresh_returns()
    order.save()
    bulb = order.items.get().pk
    with time_machine.travel(AT, tick=False):
        first = request_open(buyer=world.alice, order=order, kind="return_refund", reason="changed_mind",
                             items=[{"item": bulb, "quantity": 2}])  # fmt: skip
    for action, body in (("approve", {}), ("return-shipment", {"carrier": "dhl", "tracking_number": "T"}),
                         ("return-received", {"condition": "ok"})):  # fmt: skip
        who = world.dave if action != "return-shipment" else world.alice
        assert post(who, f"/api/requests/{first.pk}/{action}/", body).status_code == 200
    assert Refund.objects.get(request=first).amount == Decimal("40.00")
    too_many = post(world.alice, "/api/orders/Q-1/requests/", {"kind": "return_refund", "reason": "changed_mind",
                                                              "items": [{"item": bulb, "quantity": 2}]})  # fmt: skip
    assert too_many.status_code == 409 and "Only 1" in too_many.json()["detail"]
    last = post(world.alice, "/api/orders/Q-1/requests/", {"kind": "return_refund", "reason": "changed_mind",
                                                          "items": [{"item": bulb, "quantity": 1}]})  # fmt: skip
    assert last.status_code == 201 and last.json()["amount"] == "20.00"


def test_a_clock_with_nothing_left_to_refund_closes_the_request_instead_of_sticking(world):
    daves_policy(world)
    order = order_of(world, number="S-1")
    with time_machine.travel(AT, tick=False):
        request = request_open(buyer=world.alice, order=order, kind="exchange", reason="damaged")
    # The whole order is refunded meanwhile (the platform's own refund, say, as a cancellation).
    Refund.objects.create(order=order, resolution_number=0, amount=order.total, currency="USD", gateway="local",
                          gateway_reference="x", cause="not_shipped")  # fmt: skip
    due = request.respond_by + timedelta(minutes=1)
    with time_machine.travel(due, tick=False):
        sweep_requests(now=due)
    request.refresh_from_db()
    assert (request.state, request.outcome) == ("completed", "settled")
    assert not request.claim_items.filter(live=True).exists()


def test_a_return_reported_damaged_keeps_its_postage_and_a_ruling_for_the_buyer_pays_it(world):
    daves_policy(world)
    order_of(world, number="D-9", total=Decimal("80.00"))
    opened = post(world.alice, "/api/orders/D-9/requests/", {"kind": "return_refund", "reason": "changed_mind"})
    request_id = opened.json()["id"]
    assert post(world.dave, f"/api/requests/{request_id}/approve/", {}).status_code == 200
    shipped = post(world.alice, f"/api/requests/{request_id}/return-shipment/",
                   {"carrier": "dhl", "tracking_number": "T", "postage": "12.50", "images": [upload(jpeg_bytes())]},
                   fmt="multipart")  # fmt: skip
    assert shipped.status_code == 200, shipped.json()
    reported = post(world.dave, f"/api/requests/{request_id}/return-received/", {"condition": "damaged"})
    dispute = Dispute.objects.get(pk=reported.json()["dispute"])
    assert dispute.state in ("escalated", "under_review") and dispute.return_postage == Decimal("12.50")
    dispute_act_by(user=world.erin, dispute=dispute, action="claim") if dispute.state == "escalated" else None
    with time_machine.travel(AT + timedelta(days=1), tick=False):
        dispute_act_by(
            user=world.erin, dispute=dispute, action="ruling", outcome="full_refund", note="Fine on arrival."
        )
    refund = Refund.objects.get(dispute=dispute)
    assert (refund.amount, refund.postage) == (Decimal("92.50"), Decimal("12.50"))
    assert json.dumps(reported.json()["events"][-1]["payload"])  # the timeline stays readable


def test_confirming_a_returned_item_on_the_page_asks_first_and_refunds_only_when_confirmed(world, client):
    daves_policy(world)
    order_of(world, number="C-1", total=Decimal("40.00"))
    request_id = post(
        world.alice, "/api/orders/C-1/requests/", {"kind": "return_refund", "reason": "changed_mind"}
    ).json()["id"]
    assert post(world.dave, f"/api/requests/{request_id}/approve/", {}).status_code == 200
    assert post(world.alice, f"/api/requests/{request_id}/return-shipment/",
                {"carrier": "dhl", "tracking_number": "T"}).status_code == 200  # fmt: skip
    client.force_login(world.dave)
    path = f"/disputes/requests/{request_id}/return-received/"
    with time_machine.travel(AT, tick=False):
        asked = client.post(path, {"return_received-condition": "ok"})
        assert asked.status_code == 200 and "the buyer is refunded $40.00 at once" in asked.content.decode()
        assert not Refund.objects.exists()
        done = client.post(path, {"return_received-condition": "ok", "confirmed": "1"})
    assert done.status_code == 302 and Refund.objects.get().amount == Decimal("40.00")
