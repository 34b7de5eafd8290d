"""Returns and exchanges with the seller, without a dispute (issue #15, docs/rules.md §6, the return
and exchange requests): what the order's policy snapshot allows, the seller's answer and its
silence, the return and its postage, the exchange, and a request that becomes a dispute.

Time is travelled with time_machine; the clocks are run by `sweep_requests` at their deadlines, or
caught up by the next person who acts."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings

from disputes.models import ClaimItem, Dispute, Evidence, Proposal, Refund, ReturnRequest
from disputes.requests import sweep_requests
from orders.models import Carrier, Order, OrderItem, OrderStatus
from orders.services import order_record_delivery
from sellers.models import Payer, ReturnReason, Store
from sellers.services import return_policy_update
from tests.conftest import api_as
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes, upload

pytestmark = pytest.mark.django_db

SHIPPED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # DHL: the dispute window is 7 Mar - 24 Mar, 12:00
WINDOW_CLOSES = SHIPPED + timedelta(days=23)
DELIVERED = SHIPPED + timedelta(days=4)  # 5 Mar
ASK_AT = DELIVERED + timedelta(days=2)  # 7 Mar
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)

# Dave's Outlet as the issue tells it: returns accepted within 30 days of delivery, free returns (so
# the seller pays return shipping, for damaged items too), a change of mind covered.
DAVES_POLICY = {
    "accepts_returns": True,
    "return_days": 30,
    "covered_reasons": list(ReturnReason.values),
    "change_of_mind_shipping_payer": Payer.SELLER,
    "defective_shipping_payer": Payer.SELLER,
    "wrong_item_shipping_payer": Payer.SELLER,
    "free_returns": True,
    "refund_without_return": False,
    "address_name": "Dave's Outlet",
    "address_line1": "5 Canton Road, Tower 2, 9/F",
    "address_city": "Hong Kong",
    "address_country": "HK",
}
# Carol's Gadgets for the postage and refund-without-return cases: the buyer pays return postage
# after a change of mind, the seller for a defect or a wrong item, capped; no free returns.
CAROLS_POLICY = {
    "accepts_returns": True,
    "return_days": 15,
    "covered_reasons": list(ReturnReason.values),
    "change_of_mind_shipping_payer": Payer.BUYER,
    "defective_shipping_payer": Payer.SELLER,
    "wrong_item_shipping_payer": Payer.SELLER,
    "free_returns": False,
    "refund_without_return": False,
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- helpers -------------------------------------------------------------------------------------


def set_policy(store: Store, **terms) -> None:
    """The store's policy as its owner sets it, before the orders that snapshot it are placed."""
    return_policy_update(actor=store.owner, store=store, **terms)


def delivered_order(world, store, number, *, total="100.00", items=None, delivered_at=DELIVERED) -> Order:
    order = make_order(
        buyer=world.alice, store=store, number=number, shipped_at=SHIPPED, total=Decimal(total), items=items
    )
    if delivered_at is not None:  # reported by the platform, as it happens
        with time_machine.travel(delivered_at, tick=False):
            order = order_record_delivery(actor=world.platform, order=order, delivered_at=delivered_at)
    return order


def item_id(order: Order, title: str) -> int:
    return OrderItem.objects.get(order=order, title=title).pk


def post(user, path, body=None, *, at, fmt="json", **headers):
    with time_machine.travel(at, tick=False):
        return api_as(user).post(path, body or {}, format=fmt, **headers)


def get(user, path, *, at=ASK_AT):
    with time_machine.travel(at, tick=False):
        return api_as(user).get(path)


def ask(world, number, *, at=ASK_AT, user=None, fmt="json", **body):
    """The buyer asks; a return for a refund after a change of mind unless told otherwise."""
    body = {"kind": "return_refund", "reason": "changed_mind", **body}
    if fmt == "multipart" and "items" in body:
        body["items"] = json.dumps(body["items"])
    return post(user or world.alice, f"/api/orders/{number}/requests/", body, at=at, fmt=fmt)


def asked(world, number, **kwargs) -> dict:
    response = ask(world, number, **kwargs)
    assert response.status_code == 201, response.json()
    return response.json()


def act(user, request_id, action, *, at, fmt="json", **body):
    return post(user, f"/api/requests/{request_id}/{action}/", body, at=at, fmt=fmt)


def done(user, request_id, action, *, at, **body) -> dict:
    response = act(user, request_id, action, at=at, **body)
    assert response.status_code == 200, response.json()
    return response.json()


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def sweep_at(at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        return sweep_requests(now=at)


def state_of(request_id: int) -> ReturnRequest:
    return ReturnRequest.objects.get(pk=request_id)


def live_claims(**owner) -> list[tuple[int, int]]:
    return list(ClaimItem.objects.filter(live=True, **owner).values_list("order_item_id", "quantity"))


def ship_return(world, request_id, *, at, **body) -> dict:
    return done(world.alice, request_id, "return-shipment", at=at, carrier="dhl", tracking_number="RET-1", **body)


# --- the policy matrix ---------------------------------------------------------------------------

MATRIX_DAYS = 15
# (delivered?, when the buyer asks, relative to the order): just inside and just after the period,
# counted from delivery, or from the window's opening for an order never marked delivered; and before
# any of it has begun.
TIMINGS = {
    "a minute after delivery, before the dispute window opens": (True, lambda start: start + MINUTE),
    "delivered, a minute before the period ends": (True, lambda start: start + MATRIX_DAYS * DAY - MINUTE),
    "delivered, a minute after the period ends": (True, lambda start: start + MATRIX_DAYS * DAY + MINUTE),
    "never delivered, a minute before the window opens": (False, lambda start: start - MINUTE),
    "never delivered, a minute before the period ends": (False, lambda start: start + MATRIX_DAYS * DAY - MINUTE),
    "never delivered, a minute after the period ends": (False, lambda start: start + MATRIX_DAYS * DAY + MINUTE),
}
MATRIX_REASONS = [*ReturnReason.values, "not_received"]
KINDS = ["return_refund", "exchange", "refund_only"]
LABELS = {r.value: str(r.label).lower() for r in ReturnReason}


def matrix_policy(*, reason: str, covered: bool, refund_without_return: bool) -> dict:
    """The snapshot an order keeps: every return reason covered, or every one but `reason`."""
    reasons = [r for r in ReturnReason.values if covered or r != reason]
    if covered and reason not in reasons:
        reasons.append(reason)  # "not received" is no return reason: a policy cannot really cover it
    return {
        **store_policy_defaults(),
        "return_days": MATRIX_DAYS,
        "covered_reasons": reasons,
        "refund_without_return": refund_without_return,
    }


def store_policy_defaults() -> dict:
    return {
        "accepts_returns": True,
        "return_days": MATRIX_DAYS,
        "covered_reasons": [],
        "change_of_mind_shipping_payer": "buyer",
        "defective_shipping_payer": "seller",
        "wrong_item_shipping_payer": "seller",
        "free_returns": False,
        "refund_without_return": False,
        "condition_rules": "",
        "notes": "",
        "return_address": {},
        "updated_at": None,
    }


def matrix_orders(world, snapshot: dict) -> dict[str, Order]:
    """One order per timing, all with the same snapshot, in three queries."""
    dhl_carrier = Carrier.objects.get(code="dhl")
    orders = {}
    for index, (timing, (delivered, _when)) in enumerate(TIMINGS.items()):
        order = Order(
            number=f"M-{index}",
            buyer=world.alice,
            store=world.daves,
            carrier=dhl_carrier,
            placed_at=SHIPPED - DAY,
            ship_by=SHIPPED + DAY,
            shipped_at=SHIPPED,
            shipment_carrier=dhl_carrier,
            delivered_at=DELIVERED if delivered else None,
            status=OrderStatus.DELIVERED if delivered else OrderStatus.SHIPPED,
            total=Decimal("40.00"),
            currency="USD",
            return_policy_snapshot=snapshot,
        )
        order.refresh_window(now=SHIPPED)
        orders[timing] = order
    Order.objects.bulk_create(orders.values())
    OrderItem.objects.bulk_create(
        OrderItem(order=order, title="Widget", quantity=1, unit_price=order.total) for order in orders.values()
    )
    return orders


def policy_answer(*, reason, covered, refund_without_return, kind, timing) -> str:
    """What the policy says, in the order the buyer would want to hear it: returns at all, the reason,
    the period, then what kind of remedy is offered."""
    if reason not in ReturnReason.values or not covered:
        return "reason_not_covered"
    if "before the window opens" in timing:
        return "return_period_not_open"
    if "after the period ends" in timing:
        return "return_period_over"
    if kind == "refund_only" and not refund_without_return:
        return "refund_only_not_offered"
    return "full" if kind != "exchange" and reason != "other" else "partial"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("refund_without_return", [True, False], ids=["refund_only_offered", "no_refund_only"])
@pytest.mark.parametrize("covered", [True, False], ids=["covered", "not_covered"])
@pytest.mark.parametrize("reason", MATRIX_REASONS)
def test_the_policy_snapshot_decides_what_a_buyer_can_ask_for(world, reason, covered, refund_without_return, kind):
    snapshot = matrix_policy(reason=reason, covered=covered, refund_without_return=refund_without_return)
    orders = matrix_orders(world, snapshot)
    answers = {}
    for timing, (_delivered, when) in TIMINGS.items():
        order = orders[timing]
        start = order.delivered_at or order.window_opens_at
        at = when(start)
        response = ask(world, order.number, at=at, kind=kind, reason=reason)
        expected = policy_answer(
            reason=reason, covered=covered, refund_without_return=refund_without_return, kind=kind, timing=timing
        )
        body = response.json()
        answers[timing] = (response.status_code, body.get("covered") or body.get("code"))
        if expected in ("full", "partial"):
            if response.status_code != 201:
                continue
            assert body["state"] == "awaiting_seller" and body["awaiting"] == "seller"
            assert (body["kind"], body["reason"]) == (kind, reason)
            assert moment(body["respond_by"]) == at + timedelta(days=settings.SELLER_RESPONSE_DAYS)
            assert body["amount"] == "40.00" and body["currency"] == "USD"
            assert moment(body["policy"]["return_period_ends"]) == start + MATRIX_DAYS * DAY
            continue
        if response.status_code != 409 or body.get("code") != expected:
            continue
        detail = body["detail"]
        if expected == "reason_not_covered":
            listed = [r for r in snapshot["covered_reasons"] if r in LABELS]
            assert all(LABELS[r] in detail for r in listed), detail
            if reason in LABELS:
                assert LABELS[reason] not in detail.split(":", 1)[1], detail
            assert "open a dispute" in detail
        elif expected == "return_period_over":
            end = start + MATRIX_DAYS * DAY
            assert f"{MATRIX_DAYS} days" in detail and f"{end.day} Mar 2026" in detail, detail
        elif expected == "return_period_not_open":
            assert f"{order.window_opens_at.day} Mar 2026" in detail, detail
        else:
            assert "does not offer a refund without returning the item" in detail, detail
    wanted = {
        timing: (
            201 if code in ("full", "partial") else 409,
            code,
        )
        for timing in TIMINGS
        for code in [
            policy_answer(
                reason=reason, covered=covered, refund_without_return=refund_without_return, kind=kind, timing=timing
            )
        ]
    }
    assert answers == wanted
    assert ReturnRequest.objects.count() == sum(status == 201 for status, _code in wanted.values())


@pytest.mark.parametrize("kind", KINDS)
def test_a_store_that_takes_no_returns_says_so_and_points_to_a_dispute(world, kind):
    set_policy(world.daves, accepts_returns=False, free_returns=False)
    delivered_order(world, world.daves, "N-1")
    response = ask(world, "N-1", kind=kind, reason="damaged")
    assert response.status_code == 409 and response.json()["code"] == "returns_not_accepted"
    assert "Dave's Outlet does not accept returns" in response.json()["detail"]
    assert "open a dispute" in response.json()["detail"]
    assert not ReturnRequest.objects.exists()


def test_the_policy_is_the_snapshot_the_order_kept_not_the_stores_current_one(world):
    set_policy(world.daves, **DAVES_POLICY)
    delivered_order(world, world.daves, "S-1")
    set_policy(world.daves, accepts_returns=False, free_returns=False)  # changed after the order was placed
    body = asked(world, "S-1")
    assert body["covered"] == "full" and body["policy"]["return_days"] == 30
    assert body["policy"]["free_returns"] is True and body["policy"]["return_postage_payer"] == "seller"


# --- Dave's Outlet: a change of mind, approved without a dispute ---------------------------------


@pytest.fixture
def daves(world):
    set_policy(world.daves, **DAVES_POLICY)
    # A lamp and two bulbs; the buyer sends the lamp back.
    return delivered_order(
        world, world.daves, "DV-1", total="100.00", items=[("Lamp", 1, "60.00"), ("Bulb", 2, "20.00")]
    )


def ask_for_the_lamp(world, order, **body) -> dict:
    return asked(world, order.number, items=[{"item": item_id(order, "Lamp"), "quantity": 1}], **body)


def test_a_change_of_mind_at_daves_is_approved_by_the_seller_returned_and_refunded_once(world, daves):
    opened = ask_for_the_lamp(world, daves, note="Wrong colour for the room.")
    assert opened["covered"] == "full" and opened["amount"] == "60.00"
    assert [(i["title"], i["quantity"]) for i in opened["items"]] == [("Lamp", 1)]
    assert opened["policy"]["return_postage_payer"] == "seller"
    assert "approved" in opened["default_outcome"]
    rid = opened["id"]

    approved = done(world.dave, rid, "approve", at=ASK_AT + DAY)
    assert approved["state"] == "awaiting_return" and approved["awaiting"] == "buyer"
    assert moment(approved["respond_by"]) == ASK_AT + DAY + timedelta(days=settings.RETURN_SHIP_DAYS)
    assert approved["return_address"]["line1"] == "5 Canton Road, Tower 2, 9/F"

    shipped = ship_return(world, rid, at=ASK_AT + 2 * DAY)
    assert shipped["state"] == "return_in_transit" and shipped["return_shipment"]["tracking_number"] == "RET-1"
    assert moment(shipped["respond_by"]) == ASK_AT + 2 * DAY + timedelta(days=settings.RETURN_CONFIRM_DAYS)

    path = f"/api/requests/{rid}/return-received/"
    first = post(world.dave, path, {"condition": "ok"}, at=ASK_AT + 4 * DAY, HTTP_IDEMPOTENCY_KEY="received-1")
    assert first.status_code == 200, first.json()
    body = first.json()
    assert (body["state"], body["outcome"], body["refunded_amount"]) == ("completed", "refunded", "60.00")
    retry = post(world.dave, path, {"condition": "ok"}, at=ASK_AT + 4 * DAY + MINUTE, HTTP_IDEMPOTENCY_KEY="received-1")
    assert retry.status_code == 200 and retry.json() == body and retry["Idempotent-Replay"] == "true"

    refund = Refund.objects.get(order=daves)
    assert (refund.request_id, refund.dispute_id, refund.amount, refund.postage) == (rid, None, Decimal("60.00"), 0)
    assert not Dispute.objects.exists()
    daves.refresh_from_db()
    assert daves.status == OrderStatus.PARTIALLY_REFUNDED
    # Without the key, a second confirmation is refused, and pays nothing either.
    again = act(world.dave, rid, "return-received", at=ASK_AT + 5 * DAY, condition="ok")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    assert Refund.objects.count() == 1
    assert live_claims() == []


def test_seller_silence_approves_a_fully_covered_request_at_the_deadline(world, daves):
    rid = ask_for_the_lamp(world, daves)["id"]
    deadline = ASK_AT + timedelta(days=settings.SELLER_RESPONSE_DAYS)
    assert sweep_at(deadline - MINUTE) == 0
    assert state_of(rid).state == "awaiting_seller"

    assert sweep_at(deadline) == 1
    request = state_of(rid)
    assert request.state == "awaiting_return" and request.decided_at == deadline
    assert request.respond_by == deadline + timedelta(days=settings.RETURN_SHIP_DAYS)
    silence = request.events.get(action="seller_silence")
    assert (silence.actor_id, silence.actor_party, silence.created_at) == (None, "system", deadline)
    assert not Dispute.objects.exists()

    ship_return(world, rid, at=deadline + DAY)
    received = done(world.dave, rid, "return-received", at=deadline + 3 * DAY, condition="ok")
    assert (received["outcome"], received["refunded_amount"]) == ("refunded", "60.00")
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("60.00")]


def test_a_later_action_catches_up_the_seller_silence_first(world, daves):
    rid = ask_for_the_lamp(world, daves)["id"]
    deadline = ASK_AT + timedelta(days=settings.SELLER_RESPONSE_DAYS)
    too_soon = act(world.alice, rid, "return-shipment", at=deadline - MINUTE, carrier="dhl", tracking_number="R")
    assert too_soon.status_code == 409 and too_soon.json()["code"] == "invalid_state"

    # No sweep ran; two days after the deadline the buyer ships the return.
    shipped = ship_return(world, rid, at=deadline + 2 * DAY)
    assert shipped["state"] == "return_in_transit"
    events = [(e["action"], e["actor"], moment(e["created_at"])) for e in shipped["events"]]
    assert events == [
        ("open", "alice", ASK_AT),
        ("seller_silence", None, deadline),
        ("return_shipment", "alice", deadline + 2 * DAY),
    ]
    received = done(world.dave, rid, "return-received", at=deadline + 3 * DAY, condition="ok")
    assert (received["state"], received["outcome"], received["refunded_amount"]) == ("completed", "refunded", "60.00")


# --- the seller's answer -------------------------------------------------------------------------


def test_the_seller_cannot_decline_what_the_policy_fully_covers(world, daves):
    rid = ask_for_the_lamp(world, daves, reason="damaged")["id"]
    seen = get(world.dave, f"/api/requests/{rid}/").json()
    assert seen["covered"] == "full" and seen["actions"] == ["approve"]
    refused = act(world.dave, rid, "decline", at=ASK_AT + DAY, reason="I don't want it back.")
    assert refused.status_code == 409 and refused.json()["code"] == "covered_by_policy"
    assert "approve" in refused.json()["detail"]
    assert state_of(rid).state == "awaiting_seller"


@pytest.mark.parametrize(("kind", "reason"), [("exchange", "damaged"), ("return_refund", "other")])
def test_the_seller_may_decline_a_partly_covered_request_saying_why(world, daves, kind, reason):
    opened = ask_for_the_lamp(world, daves, kind=kind, reason=reason)
    assert opened["covered"] == "partial" and "dispute" in opened["default_outcome"]
    rid = opened["id"]
    assert "decline" in get(world.dave, f"/api/requests/{rid}/").json()["actions"]

    without = act(world.dave, rid, "decline", at=ASK_AT + DAY)
    assert without.status_code == 400 and "reason" in without.json()["fields"]
    assert state_of(rid).state == "awaiting_seller"

    declined = done(world.dave, rid, "decline", at=ASK_AT + DAY, reason="Out of stock in every colour.")
    assert (declined["state"], declined["outcome"]) == ("declined", "declined")
    assert declined["decline_reason"] == "Out of stock in every colour."
    assert moment(declined["dispute_by"]) == WINDOW_CLOSES  # the window's end: later than 5 days after
    assert "to_dispute" in get(world.alice, f"/api/requests/{rid}/").json()["actions"]
    assert live_claims() == []
    assert not Dispute.objects.exists() and not Refund.objects.exists()


def test_seller_silence_on_a_partly_covered_request_turns_it_into_a_dispute_over_the_same_items(world, daves):
    rid = ask_for_the_lamp(world, daves, kind="exchange", reason="damaged", variant="The blue one")["id"]
    deadline = ASK_AT + timedelta(days=settings.SELLER_RESPONSE_DAYS)
    assert sweep_at(deadline - MINUTE) == 0
    assert sweep_at(deadline) == 1
    request = state_of(rid)
    assert request.outcome == "disputed" and request.dispute_id is not None and not request.is_live
    dispute = request.dispute
    assert dispute.state == "awaiting_seller" and dispute.opened_at == deadline
    assert dispute.respond_by == deadline + timedelta(days=settings.SELLER_RESPONSE_DAYS)
    lamp = item_id(daves, "Lamp")
    assert live_claims(dispute=dispute) == [(lamp, 1)]
    assert live_claims(request_id=rid) == []
    assert (dispute.reason, dispute.items_worth) == ("damaged", Decimal("60.00"))


# --- a request that becomes a dispute ------------------------------------------------------------


def test_a_declined_request_becomes_a_dispute_carrying_its_history_photos_and_items(world, daves):
    lamp = item_id(daves, "Lamp")
    opened = ask(
        world,
        daves.number,
        fmt="multipart",
        kind="exchange",
        reason="damaged",
        note="The shade arrived cracked.",
        items=[{"item": lamp, "quantity": 1}],
        images=[upload(jpeg_bytes())],
    )
    assert opened.status_code == 201, opened.json()
    rid = opened.json()["id"]
    assert len(opened.json()["evidence"][0]["images"]) == 1
    done(world.dave, rid, "decline", at=ASK_AT + DAY, reason="The photo shows no crack.")

    turned = done(world.alice, rid, "to-dispute", at=ASK_AT + 2 * DAY)
    assert turned["dispute"] is not None and turned["state"] == "declined"
    dispute = Dispute.objects.get(pk=turned["dispute"])
    assert dispute.state == "awaiting_seller" and dispute.reason == "damaged"
    assert f"#{rid}" in dispute.description and "The shade arrived cracked." in dispute.description
    assert "The photo shows no crack." in dispute.description
    assert dispute.why_unresolved == "The photo shows no crack."
    opening = dispute.proposals.get()
    assert (opening.party, opening.kind) == ("buyer", Proposal.Kind.REQUEST) and f"#{rid}" in opening.note
    assert dispute.refund_amount == dispute.items_worth == Decimal("60.00")
    # The photos moved: they are the dispute's evidence now, seen by both parties there.
    assert not Evidence.objects.filter(request_id=rid).exists()
    evidence = get(world.dave, f"/api/disputes/{dispute.pk}/", at=ASK_AT + 2 * DAY).json()["evidence"]
    assert len(evidence) == 1 and evidence[0]["party"] == "buyer" and len(evidence[0]["images"]) == 1
    assert api_as(world.dave).get(evidence[0]["images"][0]["url"]).status_code == 200
    # The items pass to the dispute: live there, not on the request.
    assert live_claims(dispute=dispute) == [(lamp, 1)]
    assert live_claims(request_id=rid) == []
    assert ClaimItem.objects.filter(request_id=rid, live=False).count() == 1

    again = act(world.alice, rid, "to-dispute", at=ASK_AT + 3 * DAY)
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    assert Dispute.objects.count() == 1


def test_a_declined_request_can_become_a_dispute_until_dispute_by_and_not_after(world, daves):
    lamp, bulb = item_id(daves, "Lamp"), item_id(daves, "Bulb")
    # Asked late, inside Dave's 30 days, declined a day before the dispute window closes: the buyer
    # keeps BUYER_RESPONSE_DAYS from the decline.
    late = WINDOW_CLOSES - 4 * DAY
    first = asked(
        world, daves.number, at=late, kind="exchange", reason="damaged", items=[{"item": lamp, "quantity": 1}]
    )
    second = asked(
        world, daves.number, at=late, kind="exchange", reason="damaged", items=[{"item": bulb, "quantity": 2}]
    )
    decided = WINDOW_CLOSES - DAY
    for rid in (first["id"], second["id"]):
        body = done(world.dave, rid, "decline", at=decided, reason="No stock.")
    dispute_by = decided + timedelta(days=settings.BUYER_RESPONSE_DAYS)
    assert moment(body["dispute_by"]) == dispute_by

    inside = act(world.alice, first["id"], "to-dispute", at=dispute_by - MINUTE)  # the window closed already
    assert inside.status_code == 200, inside.json()
    after = act(world.alice, second["id"], "to-dispute", at=dispute_by + MINUTE)
    assert after.status_code == 409 and after.json()["code"] == "invalid_state"
    assert "ended" in after.json()["detail"]
    assert state_of(second["id"]).dispute_id is None
    assert Dispute.objects.count() == 1


def test_a_declined_request_whose_items_were_claimed_again_is_refused_as_a_dispute_with_409(world, daves):
    lamp = item_id(daves, "Lamp")
    rid = ask_for_the_lamp(world, daves, kind="exchange", reason="damaged")["id"]
    done(world.dave, rid, "decline", at=ASK_AT + DAY, reason="No stock.")
    # The decline freed the lamp: the buyer asks again for it, as a return this time.
    again = asked(world, daves.number, at=ASK_AT + DAY, items=[{"item": lamp, "quantity": 1}])
    turned = act(world.alice, rid, "to-dispute", at=ASK_AT + 2 * DAY)
    assert turned.status_code == 409 and turned.json()["code"] in ("request_exists", "dispute_exists")
    assert "Lamp" in turned.json()["detail"]
    assert not Dispute.objects.exists()
    assert state_of(rid).dispute_id is None and state_of(rid).state == "declined"
    assert live_claims() == [(lamp, 1)] and live_claims(request_id=again["id"]) == [(lamp, 1)]


def test_a_declined_request_whose_items_were_refunded_since_cannot_become_a_dispute(world, daves):
    lamp = item_id(daves, "Lamp")
    rid = ask_for_the_lamp(world, daves, kind="exchange", reason="damaged")["id"]
    done(world.dave, rid, "decline", at=ASK_AT + DAY, reason="No stock.")
    # The lamp is free again: the buyer asks for a return instead, and is refunded for it.
    second = asked(world, daves.number, at=ASK_AT + DAY, items=[{"item": lamp, "quantity": 1}])["id"]
    done(world.dave, second, "approve", at=ASK_AT + DAY)
    ship_return(world, second, at=ASK_AT + 2 * DAY)
    done(world.dave, second, "return-received", at=ASK_AT + 3 * DAY, condition="ok")
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("60.00")]

    turned = act(world.alice, rid, "to-dispute", at=ASK_AT + 4 * DAY)
    assert turned.status_code == 409 and turned.json()["code"] in ("request_exists", "dispute_exists")
    assert not Dispute.objects.exists()
    sweep_at(ASK_AT + 10 * DAY)
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("60.00")]  # the lamp, once


# --- return postage ------------------------------------------------------------------------------


@pytest.fixture
def carols(world):
    set_policy(world.carols, **CAROLS_POLICY)
    return delivered_order(
        world, world.carols, "CG-1", total="100.00", items=[("Speaker", 1, "70.00"), ("Cable", 1, "30.00")]
    )


def approved_return(world, order, title, reason) -> int:
    rid = asked(world, order.number, reason=reason, items=[{"item": item_id(order, title), "quantity": 1}])["id"]
    done(world.carols.owner, rid, "approve", at=ASK_AT + DAY)
    return rid


def test_postage_the_seller_pays_needs_a_receipt_and_is_refunded_above_the_price(world, carols):
    rid = approved_return(world, carols, "Speaker", "damaged")
    assert get(world.alice, f"/api/requests/{rid}/").json()["policy"]["return_postage_payer"] == "seller"
    body = {"carrier": "dhl", "tracking_number": "RET-1", "postage": "12.50"}
    without = act(world.alice, rid, "return-shipment", at=ASK_AT + 2 * DAY, **body)
    assert without.status_code == 400 and without.json()["code"] == "photos_required"
    assert state_of(rid).state == "awaiting_return" and state_of(rid).postage is None

    shipped = act(world.alice, rid, "return-shipment", at=ASK_AT + 2 * DAY, fmt="multipart",
                  images=[upload(jpeg_bytes())], **body)  # fmt: skip
    assert shipped.status_code == 200, shipped.json()
    assert shipped.json()["postage"] == "12.50"
    assert "Postage receipt" in [e["note"] for e in shipped.json()["evidence"]]

    received = done(world.carol, rid, "return-received", at=ASK_AT + 3 * DAY, condition="ok")
    assert received["refunded_amount"] == "82.50"
    refund = Refund.objects.get()
    assert (refund.amount, refund.postage) == (Decimal("82.50"), Decimal("12.50"))


def test_postage_is_capped_at_a_share_of_the_order_total_and_paid_even_when_the_seller_is_silent(world, carols):
    rid = approved_return(world, carols, "Cable", "wrong_item")
    shipped_at = ASK_AT + 2 * DAY
    shipped = act(world.alice, rid, "return-shipment", at=shipped_at, fmt="multipart", carrier="dhl",
                  tracking_number="RET-2", postage="35.00", images=[upload(jpeg_bytes())])  # fmt: skip
    assert shipped.status_code == 200, shipped.json()
    cap = Decimal("100.00") * settings.RETURN_POSTAGE_CAP_PERCENT / 100  # of the order's total, not the item's
    assert shipped.json()["policy"]["postage_cap"] == "20.00" == f"{cap:.2f}"

    deadline = shipped_at + timedelta(days=settings.RETURN_CONFIRM_DAYS)
    assert sweep_at(deadline - MINUTE) == 0
    assert sweep_at(deadline) == 1
    request = state_of(rid)
    assert (request.state, request.outcome, request.refunded_amount) == ("completed", "refunded", Decimal("50.00"))
    refund = Refund.objects.get()
    assert (refund.amount, refund.postage) == (Decimal("50.00"), Decimal("20.00"))


def test_refunds_may_pass_the_order_total_by_the_postage_only(world, carols):
    speaker = approved_return(world, carols, "Speaker", "damaged")
    cable = approved_return(world, carols, "Cable", "defective")
    for rid, postage in ((speaker, "15.00"), (cable, "8.00")):
        act(world.alice, rid, "return-shipment", at=ASK_AT + 2 * DAY, fmt="multipart", carrier="dhl",
            tracking_number=f"R-{rid}", postage=postage, images=[upload(jpeg_bytes())])  # fmt: skip
        done(world.carol, rid, "return-received", at=ASK_AT + 3 * DAY, condition="ok")
    amounts = sorted(Refund.objects.values_list("amount", "postage"))
    assert amounts == [(Decimal("38.00"), Decimal("8.00")), (Decimal("85.00"), Decimal("15.00"))]
    carols.refresh_from_db()
    assert carols.status == OrderStatus.REFUNDED
    paid = sum(a for a, _p in amounts)
    assert paid == carols.total + Decimal("23.00")  # the items in full, and the postage above them
    # Nothing is left to ask for: a dispute over the order is refused.
    dispute = post(world.alice, f"/api/orders/{carols.number}/dispute/", at=ASK_AT + 4 * DAY, body={
        "reason": "other", "item_received": True, "refund_type": "full", "description": "More?"})  # fmt: skip
    assert dispute.status_code == 409


def test_postage_the_buyer_pays_is_not_refunded_and_needs_no_receipt(world, carols):
    rid = approved_return(world, carols, "Speaker", "changed_mind")
    assert get(world.alice, f"/api/requests/{rid}/").json()["policy"]["return_postage_payer"] == "buyer"
    shipped = ship_return(world, rid, at=ASK_AT + 2 * DAY, postage="9.00")
    assert shipped["postage"] == "9.00"
    received = done(world.carol, rid, "return-received", at=ASK_AT + 3 * DAY, condition="ok")
    assert received["refunded_amount"] == "70.00"
    refund = Refund.objects.get()
    assert (refund.amount, refund.postage) == (Decimal("70.00"), Decimal("0"))


# --- exchanges -----------------------------------------------------------------------------------


def test_an_exchange_runs_to_the_end_without_a_refund(world, daves):
    rid = ask_for_the_lamp(world, daves, kind="exchange", reason="defective", variant="Same lamp, working")["id"]
    approved = done(world.dave, rid, "approve", at=ASK_AT + DAY)
    assert approved["state"] == "approved" and approved["awaiting"] == "seller"
    assert approved["return_address"] is None
    assert moment(approved["respond_by"]) == ASK_AT + DAY + timedelta(days=settings.REPLACEMENT_SHIP_DAYS)
    assert approved["actions"] == ["replacement_shipment"]  # what the caller, dave, may do now

    no_tracking = act(world.dave, rid, "replacement-shipment", at=ASK_AT + 2 * DAY, carrier="dhl")
    assert no_tracking.status_code == 400
    shipped = done(world.dave, rid, "replacement-shipment", at=ASK_AT + 2 * DAY, carrier="dhl", tracking_number="NEW-1")
    assert shipped["state"] == "replacement_in_transit" and shipped["awaiting"] == "buyer"
    assert shipped["replacement_shipment"]["tracking_number"] == "NEW-1"
    wait = settings.REPLACEMENT_DELIVERY_DAYS + settings.BUYER_RESPONSE_DAYS
    assert moment(shipped["respond_by"]) == ASK_AT + 2 * DAY + timedelta(days=wait)

    confirmed = done(world.alice, rid, "confirm", at=ASK_AT + 6 * DAY)
    assert (confirmed["state"], confirmed["outcome"], confirmed["refunded_amount"]) == (
        "completed",
        "exchanged",
        "0.00",
    )
    assert not Refund.objects.exists() and not Dispute.objects.exists()
    assert live_claims() == []
    # The lamp was exchanged: it cannot be claimed again; the bulbs still can.
    lamp, bulb = item_id(daves, "Lamp"), item_id(daves, "Bulb")
    again = ask(world, daves.number, at=ASK_AT + 7 * DAY, items=[{"item": lamp, "quantity": 1}], reason="defective")
    assert again.status_code == 409 and again.json()["code"] == "request_exists"
    assert "Lamp" in again.json()["detail"]
    bulbs = ask(world, daves.number, at=ASK_AT + 7 * DAY, items=[{"item": bulb, "quantity": 2}], reason="defective")
    assert bulbs.status_code == 201 and bulbs.json()["amount"] == "40.00"


def test_an_exchange_the_buyer_never_confirms_completes_by_itself(world, daves):
    rid = ask_for_the_lamp(world, daves, kind="exchange", reason="defective")["id"]
    done(world.dave, rid, "approve", at=ASK_AT + DAY)
    shipped_at = ASK_AT + 2 * DAY
    done(world.dave, rid, "replacement-shipment", at=shipped_at, carrier="dhl", tracking_number="NEW-2")
    deadline = shipped_at + timedelta(days=settings.REPLACEMENT_DELIVERY_DAYS + settings.BUYER_RESPONSE_DAYS)
    assert sweep_at(deadline - MINUTE) == 0
    assert state_of(rid).state == "replacement_in_transit"
    assert sweep_at(deadline) == 1
    request = state_of(rid)
    assert (request.state, request.outcome, request.closed_at) == ("completed", "exchanged", deadline)
    assert not Refund.objects.exists() and not Dispute.objects.exists()


def test_a_replacement_never_shipped_becomes_a_dispute(world, daves):
    rid = ask_for_the_lamp(world, daves, kind="exchange", reason="defective")["id"]
    approved_at = ASK_AT + DAY
    done(world.dave, rid, "approve", at=approved_at)
    deadline = approved_at + timedelta(days=settings.REPLACEMENT_SHIP_DAYS)
    assert sweep_at(deadline - MINUTE) == 0
    assert sweep_at(deadline) == 1
    request = state_of(rid)
    assert request.outcome == "disputed" and request.dispute is not None
    assert request.dispute.state == "awaiting_seller"
    assert live_claims(dispute=request.dispute) == [(item_id(daves, "Lamp"), 1)]
    assert not Refund.objects.exists()


def test_one_sweep_acts_on_the_clock_of_a_dispute_a_late_request_sweep_opened(world, daves):
    from disputes import invariants
    from disputes.tasks import run_all_sweeps

    rid = ask_for_the_lamp(world, daves, kind="exchange", reason="defective")["id"]
    approved_at = ASK_AT + DAY
    done(world.dave, rid, "approve", at=approved_at)
    # The sweeps did not run for a while (an outage): both the replacement's deadline and the seller's
    # deadline on the dispute it opens have passed when they run again.
    late = approved_at + timedelta(days=settings.REPLACEMENT_SHIP_DAYS + settings.SELLER_RESPONSE_DAYS, hours=1)
    with time_machine.travel(late, tick=False):
        run_all_sweeps(now=late)
    request = state_of(rid)
    assert request.outcome == "disputed"
    assert request.dispute.state != "awaiting_seller"  # the seller's silence was acted on too
    assert invariants.clocks_run(now=late) == []


# --- a return that lapses, a return that comes back wrong -----------------------------------------


def test_an_approved_return_never_shipped_lapses_and_frees_the_items(world, daves):
    rid = ask_for_the_lamp(world, daves)["id"]
    approved_at = ASK_AT + DAY
    done(world.dave, rid, "approve", at=approved_at)
    deadline = approved_at + timedelta(days=settings.RETURN_SHIP_DAYS)
    assert sweep_at(deadline - MINUTE) == 0
    assert sweep_at(deadline) == 1
    request = state_of(rid)
    assert (request.state, request.outcome, request.refunded_amount) == ("cancelled", "lapsed", Decimal("0"))
    assert request.respond_by is None
    assert not Refund.objects.exists() and not Dispute.objects.exists()
    assert live_claims() == []
    late = act(world.alice, rid, "return-shipment", at=deadline + MINUTE, carrier="dhl", tracking_number="LATE")
    assert late.status_code == 409
    # The lamp is free again (inside Dave's 30 days).
    assert ask(world, daves.number, at=deadline + DAY, items=[{"item": item_id(daves, "Lamp"), "quantity": 1}],
               reason="damaged").status_code == 201  # fmt: skip


def test_a_return_the_seller_finds_damaged_becomes_a_dispute_with_the_team(world, daves):
    rid = ask_for_the_lamp(world, daves)["id"]
    done(world.dave, rid, "approve", at=ASK_AT + DAY)
    ship_return(world, rid, at=ASK_AT + 2 * DAY)
    reported = done(world.dave, rid, "return-received", at=ASK_AT + 4 * DAY, condition="damaged")
    assert reported["outcome"] == "disputed" and reported["dispute"] is not None
    assert reported["return_shipment"]["condition"] == "damaged"
    dispute = Dispute.objects.get(pk=reported["dispute"])
    assert dispute.state in ("escalated", "under_review") and dispute.escalated_at is not None
    assert dispute.return_item is False  # the item is back with the seller already
    assert not Refund.objects.exists()
    assert live_claims(dispute=dispute) == [(item_id(daves, "Lamp"), 1)]


# --- who may do what -----------------------------------------------------------------------------


def test_strangers_see_no_request_the_seller_cannot_open_one_the_buyer_cannot_approve(world, daves):
    rid = ask_for_the_lamp(world, daves)["id"]
    for stranger in (world.bob, world.carol):
        assert get(stranger, f"/api/requests/{rid}/").status_code == 404
        assert act(stranger, rid, "approve", at=ASK_AT + DAY).status_code == 404
        assert get(stranger, "/api/requests/").json()["count"] == 0
    assert get(world.erin, f"/api/requests/{rid}/").status_code == 200  # the team sees every request
    assert get(world.dave, "/api/requests/").json()["count"] == 1

    by_seller = ask(world, daves.number, user=world.dave, reason="damaged")
    assert by_seller.status_code == 409 and by_seller.json()["code"] == "invalid_state"
    by_buyer = act(world.alice, rid, "approve", at=ASK_AT + DAY)
    assert by_buyer.status_code == 409 and by_buyer.json()["code"] == "invalid_state"
    assert "cancel" in by_buyer.json()["detail"].lower()
    assert ReturnRequest.objects.count() == 1 and state_of(rid).state == "awaiting_seller"


# --- refund without return -----------------------------------------------------------------------


def test_a_refund_without_return_where_offered_is_paid_when_the_seller_approves(world, carols):
    set_policy(world.carols, refund_without_return=True)
    order = delivered_order(world, world.carols, "CG-2", items=[("Speaker", 1, "70.00"), ("Cable", 1, "30.00")])
    rid = asked(world, order.number, kind="refund_only", reason="missing_parts",
                items=[{"item": item_id(order, "Cable"), "quantity": 1}])["id"]  # fmt: skip
    path = f"/api/requests/{rid}/approve/"
    approved = post(world.carol, path, at=ASK_AT + DAY, HTTP_IDEMPOTENCY_KEY="approve-1")
    assert approved.status_code == 200, approved.json()
    body = approved.json()
    assert (body["state"], body["outcome"], body["refunded_amount"]) == ("completed", "refunded", "30.00")
    assert post(world.carol, path, at=ASK_AT + DAY, HTTP_IDEMPOTENCY_KEY="approve-1").json() == body
    refund = Refund.objects.get()
    assert (refund.order_id, refund.request_id, refund.amount, refund.postage) == (order.pk, rid, Decimal("30.00"), 0)


def test_seller_silence_on_a_refund_without_return_pays_it(world, carols):
    set_policy(world.carols, refund_without_return=True)
    order = delivered_order(world, world.carols, "CG-3", total="45.00")
    rid = asked(world, order.number, kind="refund_only", reason="damaged")["id"]
    deadline = ASK_AT + timedelta(days=settings.SELLER_RESPONSE_DAYS)
    assert sweep_at(deadline) == 1
    request = state_of(rid)
    assert (request.state, request.outcome, request.refunded_amount) == ("completed", "refunded", Decimal("45.00"))
    assert Refund.objects.get().amount == Decimal("45.00")
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


# --- the order completes only when nothing can be asked any more ---------------------------------


def test_an_order_completes_only_after_its_return_period_too(world):
    from disputes.order_clocks import sweep_completions

    set_policy(world.daves, **DAVES_POLICY)
    delivered = WINDOW_CLOSES - 4 * DAY  # Dave's 30 days run to 19 Apr, long after the window's close
    order = delivered_order(world, world.daves, "LATE-1", delivered_at=delivered)
    with time_machine.travel(WINDOW_CLOSES + DAY, tick=False):
        sweep_completions(now=WINDOW_CLOSES + DAY)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED  # the buyer may still ask for a return
    period_ends = delivered + 30 * DAY
    with time_machine.travel(period_ends + MINUTE, tick=False):
        sweep_completions(now=period_ends + MINUTE)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


def test_a_delivery_reported_after_completion_does_not_reopen_the_return_period(world):
    """Found by the state machine: an order never marked delivered completes once its window and the return
    period counted from the window's opening are over; a carrier's late delivery event then records the
    delivery but gives the buyer no new period (the seller has been paid)."""
    from disputes.invariants import completion_waits_for_returns
    from disputes.order_clocks import sweep_completions

    set_policy(world.carols, **CAROLS_POLICY)
    order = delivered_order(world, world.carols, "LATE-2", delivered_at=None)
    closes = order.returns_close_at
    assert closes == order.window_opens_at + 15 * DAY
    settled = max(closes, WINDOW_CLOSES) + MINUTE
    with time_machine.travel(settled, tick=False):
        sweep_completions(now=settled)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    late = settled + 5 * DAY
    with time_machine.travel(late, tick=False):
        order_record_delivery(actor=world.platform, order=order, delivered_at=late)
    order.refresh_from_db()
    assert (order.status, order.delivered_at, order.returns_close_at) == (OrderStatus.COMPLETED, late, closes)
    assert completion_waits_for_returns(now=late) == []
    response = ask(world, order.number, at=late + DAY)
    assert response.status_code == 409, response.json()
