"""Disputes and requests per item (issue #15): each names the order's items it covers; two claims run
side by side over different items, never two live over one item (the `one_live_claim_per_item`
constraint behind the checks); amounts come from the items picked; reopening is counted per item."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from disputes.models import ClaimItem, Dispute, Refund, ReturnRequest
from orders.models import Order, OrderItem, OrderStatus
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED
from tests.factories import make_order

WINDOW_CLOSES = SHIPPED + timedelta(days=23)
KETTLE_AND_TOASTER = [("Kettle", 1, "30.00"), ("Toaster", 1, "50.00")]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def two_items(world, number="P-1") -> Order:
    """An order of a kettle (30.00) and a toaster (50.00), shipped, at Carol's Gadgets (whose default
    policy takes returns for 15 days from the window's opening when no delivery is recorded)."""
    return make_order(
        buyer=world.alice, store=world.carols, number=number, shipped_at=SHIPPED, total=Decimal("80.00"),
        items=KETTLE_AND_TOASTER,
    )  # fmt: skip


def item(order: Order, title: str) -> int:
    return OrderItem.objects.get(order=order, title=title).pk


def picks(order: Order, *titles_and_quantities) -> list[dict]:
    return [{"item": item(order, title), "quantity": quantity} for title, quantity in titles_and_quantities]


def dispute_body(items=None, **overrides) -> dict:
    body = {"reason": "not_received", "item_received": False, "refund_type": "full", "description": "Not here."}
    if items is not None:
        body["items"] = items
    return {**body, **overrides}


def open_dispute(world, order, items=None, *, at=OPEN_AT, **overrides):
    with time_machine.travel(at, tick=False):
        return api_as(world.alice).post(f"/api/orders/{order.number}/dispute/", dispute_body(items, **overrides),
                                        format="json")  # fmt: skip


def open_request(world, order, items=None, *, at=OPEN_AT, **overrides):
    body = {"kind": "return_refund", "reason": "damaged", **overrides}
    if items is not None:
        body["items"] = items
    with time_machine.travel(at, tick=False):
        return api_as(world.alice).post(f"/api/orders/{order.number}/requests/", body, format="json")


def act(user, path, *, at=OPEN_AT, **body):
    with time_machine.travel(at, tick=False):
        return api_as(user).post(path, body, format="json")


def created(response) -> dict:
    assert response.status_code == 201, response.json()
    return response.json()


def refused(response, code: str) -> dict:
    assert (response.status_code, response.json().get("code")) == (409, code), response.json()
    return response.json()


def race(calls):
    """Start every call at the same instant, each in its own thread and database connection (as in
    tests/disputes/test_races.py)."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


# --- claims side by side -------------------------------------------------------------------------


@pytest.mark.django_db
def test_two_disputes_over_different_items_of_one_order_both_run_and_settle(world):
    order = two_items(world)
    kettle = created(open_dispute(world, order, picks(order, ("Kettle", 1))))
    toaster = created(open_dispute(world, order, picks(order, ("Toaster", 1))))
    assert (kettle["state"], toaster["state"]) == ("awaiting_seller", "awaiting_seller")
    assert (kettle["request"]["refund_amount"], toaster["request"]["refund_amount"]) == ("30.00", "50.00")

    assert act(world.carol, f"/api/disputes/{kettle['id']}/accept/").status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert Dispute.objects.get(pk=toaster["id"]).state == "awaiting_seller"  # the other one runs on
    accepted = act(world.carol, f"/api/disputes/{toaster['id']}/accept/")
    assert accepted.status_code == 200 and accepted.json()["state"] == "resolved"

    refunds = dict(Refund.objects.values_list("dispute_id", "amount"))
    assert refunds == {kettle["id"]: Decimal("30.00"), toaster["id"]: Decimal("50.00")}
    for dispute in Dispute.objects.all():
        assert (dispute.state, dispute.outcome) == ("resolved", "full_refund")
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


@pytest.mark.django_db
def test_an_item_in_a_live_claim_cannot_be_claimed_again_the_others_can(world):
    order = two_items(world)
    kettle = created(open_dispute(world, order, picks(order, ("Kettle", 1))))
    again = refused(open_dispute(world, order, picks(order, ("Kettle", 1))), "dispute_exists")
    assert "Kettle" in again["detail"] and f"#{kettle['id']}" in again["detail"]
    refused(open_dispute(world, order), "dispute_exists")  # the whole order covers the kettle too
    asked = refused(open_request(world, order, picks(order, ("Kettle", 1))), "request_exists")
    assert "Kettle" in asked["detail"]

    toaster = created(open_request(world, order, picks(order, ("Toaster", 1))))
    assert toaster["amount"] == "50.00"
    held = refused(open_dispute(world, order, picks(order, ("Toaster", 1))), "dispute_exists")
    assert f"#{toaster['id']}" in held["detail"]
    refused(open_request(world, order, picks(order, ("Toaster", 1))), "request_exists")
    live = sorted(ClaimItem.objects.filter(live=True).values_list("order_item__title", "dispute_id", "request_id"))
    assert live == [("Kettle", kettle["id"], None), ("Toaster", None, toaster["id"])]


@pytest.mark.django_db
def test_the_items_must_be_the_orders_and_quantities_it_has(world):
    order = two_items(world)
    other = two_items(world, number="P-2")
    for items in (
        [{"item": item(other, "Kettle"), "quantity": 1}],  # another order's kettle
        [{"item": item(order, "Kettle"), "quantity": 2}],  # one was bought
        [{"item": item(order, "Kettle"), "quantity": 0}],
        [{"item": item(order, "Kettle"), "quantity": 1}, {"item": item(order, "Kettle"), "quantity": 1}],
    ):
        response = open_dispute(world, order, items)
        assert response.status_code == 400, (items, response.json())
        assert open_request(world, order, items).status_code == 400
    assert not Dispute.objects.exists() and not ReturnRequest.objects.exists()


# --- amounts from the items picked ---------------------------------------------------------------

# (currency, total, lines, picked, worth): unit price × quantity plus the share (by line value) of
# what the total adds to or takes from the lines, rounded down in the currency's minor unit.
AMOUNTS = {
    "three of one line, shipping shared": ("USD", "100.00", [("Mug", 3, "20.00"), ("Jug", 1, "30.00")],
                                           [("Mug", 3)], "66.66"),  # 60 + 10 × 60/90 = 66.666...
    "one of three": ("USD", "100.00", [("Mug", 3, "20.00"), ("Jug", 1, "30.00")], [("Mug", 1)], "22.22"),
    "the other line": ("USD", "100.00", [("Mug", 3, "20.00"), ("Jug", 1, "30.00")], [("Jug", 1)], "33.33"),
    "part of both lines": ("USD", "100.00", [("Mug", 3, "20.00"), ("Jug", 1, "30.00")],
                           [("Mug", 2), ("Jug", 1)], "77.77"),  # 70 + 10 × 70/90 = 77.777...
    "every item is the total": ("USD", "100.00", [("Mug", 3, "20.00"), ("Jug", 1, "30.00")],
                                [("Mug", 3), ("Jug", 1)], "100.00"),
    "a discount shared": ("USD", "54.00", [("Shirt", 2, "30.00")], [("Shirt", 1)], "27.00"),
    "yen have no decimals": ("JPY", "1000", [("Tea", 1, "333"), ("Cup", 2, "250")], [("Tea", 1)], "399"),
    "yen, one of two": ("JPY", "1000", [("Tea", 1, "333"), ("Cup", 2, "250")], [("Cup", 1)], "300"),
    "dinars have three": ("KWD", "10.000", [("Lamp", 3, "3.000")], [("Lamp", 1)], "3.333"),
}  # fmt: skip
UNIT = {"USD": Decimal("0.01"), "JPY": Decimal("1"), "KWD": Decimal("0.001")}


@pytest.mark.django_db
@pytest.mark.parametrize("case", AMOUNTS)
def test_a_claim_is_worth_its_items_with_their_share_rounded_down(world, case):
    currency, total, lines, picked, worth = AMOUNTS[case]

    def order(number):
        return make_order(buyer=world.alice, store=world.carols, number=number, shipped_at=SHIPPED,
                          total=Decimal(total), currency=currency, items=lines)  # fmt: skip

    first, second, third = order("A-1"), order("A-2"), order("A-3")
    over = str(Decimal(worth) + UNIT[currency])
    too_much = open_dispute(world, first, picks(first, *picked), refund_type="partial", refund_amount=over)
    assert too_much.status_code == 400 and too_much.json()["code"] == "invalid_amount", too_much.json()
    exact = created(open_dispute(world, first, picks(first, *picked), refund_type="partial", refund_amount=worth))
    assert exact["request"]["refund_amount"] == worth and exact["currency"] == currency

    full = created(open_dispute(world, second, picks(second, *picked), refund_amount="1"))
    assert full["request"]["refund_amount"] == worth  # "full" asks for exactly what the items are worth
    assert Dispute.objects.get(pk=full["id"]).items_worth == Decimal(worth)

    request = created(open_request(world, third, picks(third, *picked)))
    assert request["amount"] == worth


@pytest.mark.django_db
def test_a_dispute_over_some_items_refunds_at_most_their_worth(world):
    order = two_items(world)
    kettle = created(open_dispute(world, order, picks(order, ("Kettle", 1)), refund_type="partial",
                                  refund_amount="10.00"))  # fmt: skip
    path = f"/api/disputes/{kettle['id']}"
    over = act(world.carol, f"{path}/proposals/", refund_amount="30.01", note="?")
    assert over.status_code == 400 and over.json()["code"] == "invalid_amount"
    assert act(world.carol, f"{path}/reject/", note="No.").status_code == 200
    assert act(world.alice, f"{path}/escalate/", note="Please.").status_code == 200
    ruling = act(world.erin, f"{path}/ruling/", outcome="partial_refund", refund_amount="30.01", note="All?")
    assert ruling.status_code == 400 and ruling.json()["code"] == "invalid_amount"
    full = act(world.erin, f"{path}/ruling/", outcome="full_refund", note="The kettle, in full.")
    assert full.status_code == 200, full.json()
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("30.00")]


# --- reopening, per item -------------------------------------------------------------------------


def cancel_dispute(world, dispute_id):
    assert act(world.alice, f"/api/disputes/{dispute_id}/cancel/").status_code == 200


@pytest.mark.django_db
def test_a_cancelled_claim_is_reopened_once_per_item(world):
    order = two_items(world)
    for _round in range(2):
        cancel_dispute(world, created(open_dispute(world, order, picks(order, ("Kettle", 1))))["id"])
    refused(open_dispute(world, order, picks(order, ("Kettle", 1))), "reopen_limit")
    refused(open_request(world, order, picks(order, ("Kettle", 1))), "reopen_limit")
    refused(open_dispute(world, order), "reopen_limit")  # the whole order includes the kettle
    # The toaster's tries are its own.
    toaster = created(open_dispute(world, order, picks(order, ("Toaster", 1))))
    cancel_dispute(world, toaster["id"])
    created(open_dispute(world, order, picks(order, ("Toaster", 1))))


@pytest.mark.django_db
def test_a_withdrawn_request_counts_as_a_try_for_its_item(world):
    order = two_items(world)
    request = created(open_request(world, order, picks(order, ("Kettle", 1))))
    assert act(world.alice, f"/api/requests/{request['id']}/cancel/").json()["outcome"] == "withdrawn"
    cancel_dispute(world, created(open_dispute(world, order, picks(order, ("Kettle", 1))))["id"])
    refused(open_dispute(world, order, picks(order, ("Kettle", 1))), "reopen_limit")
    created(open_request(world, order, picks(order, ("Toaster", 1))))


@pytest.mark.django_db
def test_reopening_an_item_needs_the_window_open(world):
    order = two_items(world)
    cancel_dispute(world, created(open_dispute(world, order, picks(order, ("Kettle", 1))))["id"])
    refused(open_dispute(world, order, picks(order, ("Kettle", 1)), at=WINDOW_CLOSES), "window_closed")
    created(open_dispute(world, order, picks(order, ("Kettle", 1)), at=WINDOW_CLOSES - timedelta(minutes=1)))


# --- the order detail ----------------------------------------------------------------------------


def ids(entries) -> list[int]:
    return sorted(entry if isinstance(entry, int) else entry["id"] for entry in entries)


@pytest.mark.django_db
def test_the_order_detail_lists_its_disputes_and_requests_and_the_latest_live_dispute(world):
    order = two_items(world)

    def detail():
        with time_machine.travel(OPEN_AT, tick=False):
            response = api_as(world.alice).get(f"/api/orders/{order.number}/")
        assert response.status_code == 200
        return response.json()

    assert sorted(i["id"] for i in detail()["items"]) == sorted(i.pk for i in order.items.all())
    kettle = created(open_dispute(world, order, picks(order, ("Kettle", 1))))
    toaster = created(open_request(world, order, picks(order, ("Toaster", 1))))
    body = detail()
    assert body["dispute"] == kettle["id"]
    assert ids(body["disputes"]) == [kettle["id"]] and ids(body["requests"]) == [toaster["id"]]
    cancel_dispute(world, kettle["id"])
    body = detail()
    assert body["dispute"] is None  # the only dispute is over
    assert ids(body["disputes"]) == [kettle["id"]]
    second = created(open_dispute(world, order, picks(order, ("Kettle", 1))))
    assert detail()["dispute"] == second["id"]


# --- the database has the last word --------------------------------------------------------------


@pytest.mark.django_db
def test_the_constraint_alone_refuses_a_second_live_claim_on_an_item(world):
    order = two_items(world)
    kettle = created(open_dispute(world, order, picks(order, ("Kettle", 1))))
    request = ReturnRequest.objects.create(
        order=order, opened_by=world.alice, kind="return_refund", reason="damaged", amount=Decimal("30.00")
    )
    kettle_item = OrderItem.objects.get(pk=item(order, "Kettle"))
    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimItem.objects.create(order_item=kettle_item, quantity=1, request=request, live=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimItem.objects.create(order_item=kettle_item, quantity=1, dispute_id=kettle["id"], live=True)
    ClaimItem.objects.create(order_item=kettle_item, quantity=1, request=request, live=False)  # a closed one is fine
    assert list(ClaimItem.objects.filter(live=True).values_list("dispute_id", flat=True)) == [kettle["id"]]


@pytest.mark.django_db
@pytest.mark.parametrize("second", ["dispute", "request"])
def test_with_the_checks_skipped_the_constraint_still_answers_409(world, monkeypatch, second):
    """The checks before the insert see no live claim (as when two opens race past them): the
    database's constraint refuses the second, and the buyer gets the same 409 as from the check."""
    order = two_items(world)
    created(open_dispute(world, order, picks(order, ("Kettle", 1))))
    monkeypatch.setattr("disputes.services.claim_refusal", lambda *args, **kwargs: None)
    monkeypatch.setattr("disputes.requests.claim_refusal", lambda *args, **kwargs: None)
    opener = open_dispute if second == "dispute" else open_request
    refused(opener(world, order, picks(order, ("Kettle", 1))), f"{second}_exists")
    assert ClaimItem.objects.filter(live=True).count() == 1
    assert Dispute.objects.count() == 1 and not ReturnRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("openers", [("dispute", "dispute"), ("dispute", "request"), ("request", "request")])
def test_two_claims_over_one_item_at_the_same_moment_one_wins(world, openers):
    order = two_items(world, number="RACE-1")
    kettle = picks(order, ("Kettle", 1))
    alice = api_as(world.alice)
    bodies = {
        "dispute": (f"/api/orders/{order.number}/dispute/", dispute_body(kettle)),
        "request": (f"/api/orders/{order.number}/requests/", {"kind": "return_refund", "reason": "damaged",
                                                              "items": kettle}),
    }  # fmt: skip
    with time_machine.travel(OPEN_AT, tick=True):
        responses = race([lambda kind=kind: alice.post(*bodies[kind], format="json") for kind in openers])
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409], [r.json() for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["code"] in ("dispute_exists", "request_exists")
    assert ClaimItem.objects.filter(live=True).count() == 1
    assert Dispute.objects.count() + ReturnRequest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_claims_over_different_items_at_the_same_moment_both_open(world):
    order = two_items(world, number="RACE-2")
    alice = api_as(world.alice)
    path = f"/api/orders/{order.number}/dispute/"
    with time_machine.travel(OPEN_AT, tick=True):
        responses = race(
            [
                lambda: alice.post(path, dispute_body(picks(order, ("Kettle", 1))), format="json"),
                lambda: alice.post(path, dispute_body(picks(order, ("Toaster", 1))), format="json"),
            ]
        )
    assert [r.status_code for r in responses] == [201, 201], [r.json() for r in responses]
    assert ClaimItem.objects.filter(live=True).count() == 2
