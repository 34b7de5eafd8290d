"""Protection extensions: the buyer asks, the seller grants, a window only grows."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from orders.models import ExtensionRequest, OrderEvent
from tests.conftest import api_as
from tests.factories import make_order

pytestmark = pytest.mark.django_db

SHIPPED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def order(world):
    return make_order(buyer=world.alice, store=world.carols, number="E-1", shipped_at=SHIPPED)  # DHL: 23 days


def test_granted_days_keep_the_window_open_past_its_first_close(world, order):
    with time_machine.travel(SHIPPED + timedelta(days=20), tick=False):
        response = api_as(world.carol).post("/api/orders/E-1/extension/grant/", {"days": 10}, format="json")
        assert response.status_code == 200
        assert response.json()["extension_days"] == 10
        assert response.json()["dispute_window"]["closes_at"].startswith("2026-04-03T12:00:00")
    with time_machine.travel(SHIPPED + timedelta(days=30), tick=False):
        assert api_as(world.alice).get("/api/orders/E-1/").json()["dispute_window"]["state"] == "open"
    with time_machine.travel(SHIPPED + timedelta(days=33), tick=False):
        assert api_as(world.alice).get("/api/orders/?window=closed").json()["count"] == 1


def test_grants_add_up(world, order):
    with time_machine.travel(SHIPPED + timedelta(days=10), tick=False):
        api_as(world.carol).post("/api/orders/E-1/extension/grant/", {"days": 3}, format="json")
        response = api_as(world.carol).post("/api/orders/E-1/extension/grant/", {"days": 4}, format="json")
    assert response.json()["extension_days"] == 7
    assert OrderEvent.objects.filter(order=order, action="extension_granted").count() == 2


@pytest.mark.parametrize("days", [0, -3, 31, "many"])
def test_days_out_of_range_are_400(world, order, days):
    with time_machine.travel(SHIPPED + timedelta(days=10), tick=False):
        response = api_as(world.carol).post("/api/orders/E-1/extension/grant/", {"days": days}, format="json")
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.extension_days == 0


def test_a_closed_window_cannot_be_extended(world, order):
    with time_machine.travel(SHIPPED + timedelta(days=23), tick=False):
        grant = api_as(world.carol).post("/api/orders/E-1/extension/grant/", {"days": 5}, format="json")
        ask = api_as(world.alice).post("/api/orders/E-1/extension/", {"days": 5}, format="json")
    assert grant.status_code == ask.status_code == 409
    assert grant.json()["code"] == ask.json()["code"] == "window_closed"
    assert "closed on" in grant.json()["detail"]


def test_buyer_request_is_answered_by_the_grant(world, order):
    with time_machine.travel(SHIPPED + timedelta(days=10), tick=False):
        asked = api_as(world.alice).post("/api/orders/E-1/extension/", {"days": 7, "note": "On holiday"}, format="json")
        assert asked.status_code == 201
        assert asked.json()["extension_requests"][0]["status"] == "pending"
        again = api_as(world.alice).post("/api/orders/E-1/extension/", {"days": 7}, format="json")
        assert again.status_code == 409 and again.json()["code"] == "extension_pending"
        api_as(world.carol).post("/api/orders/E-1/extension/grant/", {"days": 7}, format="json")
    request = ExtensionRequest.objects.get(order=order)
    assert request.status == "granted" and request.granted_days == 7


def test_seller_grants_from_the_page_and_sees_a_form_error_for_bad_days(client, world, order):
    client.force_login(world.carol)
    with time_machine.travel(SHIPPED + timedelta(days=10), tick=False):
        bad = client.post("/orders/E-1/extension/grant/", {"days": "0"})
        assert bad.status_code == 400
        assert "greater than or equal to 1" in bad.content.decode()
        good = client.post("/orders/E-1/extension/grant/", {"days": "5"})
        assert good.status_code == 302 and good["Location"] == "/orders/E-1/"
        assert "The buyer&#x27;s protection was extended." in client.get(good["Location"]).content.decode()
    order.refresh_from_db()
    assert order.extension_days == 5


def test_buyer_asks_from_the_page_and_a_closed_window_says_why(client, world, order):
    client.force_login(world.alice)
    with time_machine.travel(SHIPPED + timedelta(days=30), tick=False):
        response = client.post("/orders/E-1/extension/", {"days": "5", "note": ""})
    assert response.status_code == 400
    assert "closed on" in response.content.decode()
    assert not ExtensionRequest.objects.exists()


def test_buyer_asks_from_the_page_and_comes_back_to_the_order(client, world, order):
    client.force_login(world.alice)
    with time_machine.travel(SHIPPED + timedelta(days=10), tick=False):
        response = client.post("/orders/E-1/extension/", {"days": "5", "note": "Away"})
        assert response.status_code == 302 and response["Location"] == "/orders/E-1/"
        assert "Your request was sent to the seller." in client.get(response["Location"]).content.decode()
    assert ExtensionRequest.objects.get(order=order).note == "Away"


def _ask(world, days=7, note="On holiday until the 20th"):
    with time_machine.travel(SHIPPED + timedelta(days=10), tick=False):
        response = api_as(world.alice).post("/api/orders/E-1/extension/", {"days": days, "note": note}, format="json")
    assert response.status_code == 201


def test_seller_declines_a_request_with_a_reason_and_the_buyer_may_ask_again(world, order):
    _ask(world)
    with time_machine.travel(SHIPPED + timedelta(days=11), tick=False):
        response = api_as(world.carol).post(
            "/api/orders/E-1/extension/decline/", {"reason": "The item was delivered a week ago."}, format="json"
        )
        assert response.status_code == 200
        answered = response.json()["extension_requests"][0]
        assert answered["status"] == "declined" and answered["decline_reason"] == "The item was delivered a week ago."
        assert response.json()["extension_days"] == 0  # a decline never touches the window
        again = api_as(world.alice).post("/api/orders/E-1/extension/", {"days": 3}, format="json")
        assert again.status_code == 201
    assert OrderEvent.objects.filter(order=order, action="extension_declined").count() == 1


def test_a_decline_needs_a_reason_and_a_waiting_request(world, order):
    with time_machine.travel(SHIPPED + timedelta(days=10), tick=False):
        nothing = api_as(world.carol).post("/api/orders/E-1/extension/decline/", {"reason": "No."}, format="json")
        assert nothing.status_code == 409 and nothing.json()["code"] == "extension_not_pending"
        _ask(world)
        for body in ({}, {"reason": ""}):
            bad = api_as(world.carol).post("/api/orders/E-1/extension/decline/", body, format="json")
            assert bad.status_code == 400
            assert bad.json()["code"] == "invalid" and "reason" in bad.json()["fields"]
        blank = api_as(world.carol).post("/api/orders/E-1/extension/decline/", {"reason": "   "}, format="json")
        assert blank.status_code == 400
    assert ExtensionRequest.objects.get(order=order).status == "pending"


@pytest.mark.parametrize(("who", "status"), [("alice", 403), ("bob", 404), ("dave", 404), (None, 401)])
def test_only_the_store_owner_declines(world, order, who, status):
    _ask(world)
    user = getattr(world, who) if who else None
    response = api_as(user).post("/api/orders/E-1/extension/decline/", {"reason": "No."}, format="json")
    assert response.status_code == status
    assert set(response.json()) >= {"code", "detail"}
    assert ExtensionRequest.objects.get(order=order).status == "pending"


def test_seller_grants_other_days_than_asked_up_to_the_limit(world, order, settings):
    _ask(world, days=10)
    with time_machine.travel(SHIPPED + timedelta(days=10), tick=False):
        too_many = api_as(world.carol).post(
            "/api/orders/E-1/extension/grant/", {"days": settings.EXTENSION_MAX_DAYS + 1}, format="json"
        )
        assert too_many.status_code == 400
        granted = api_as(world.carol).post("/api/orders/E-1/extension/grant/", {"days": 4}, format="json")
    assert granted.json()["extension_days"] == 4
    request = ExtensionRequest.objects.get(order=order)
    assert request.status == "granted" and request.days == 10 and request.granted_days == 4


def test_the_seller_reads_the_buyers_reason_and_declines_on_the_page(client, world, order):
    _ask(world, note="I am travelling until the 20th.")
    client.force_login(world.carol)
    with time_machine.travel(SHIPPED + timedelta(days=11), tick=False):
        listing = client.get("/seller/orders/").content.decode()
        assert "I am travelling until the 20th." in listing and 'value="7"' in listing
        page = client.get("/orders/E-1/").content.decode()
        assert "Their reason:" in page and "I am travelling until the 20th." in page
        empty = client.post("/orders/E-1/extension/decline/", {"reason": ""})
        assert empty.status_code == 400
        assert "Say why you decline; the buyer will read it." in empty.content.decode()
        done = client.post("/orders/E-1/extension/decline/", {"reason": "Delivered a week ago."})
        assert done.status_code == 302 and done["Location"] == "/orders/E-1/"
        client.force_login(world.alice)
        buyer_page = client.get("/orders/E-1/").content.decode()
    assert "The seller declined the request for 7 more days" in buyer_page
    assert "Delivered a week ago." in buyer_page
    assert "Ask the seller for more time" in buyer_page  # and may ask again


def test_the_seller_grants_a_custom_number_of_days_from_the_store_orders_list(client, world, order):
    _ask(world, days=7)
    client.force_login(world.carol)
    with time_machine.travel(SHIPPED + timedelta(days=11), tick=False):
        response = client.post("/orders/E-1/extension/grant/", {"days": "12"})
        assert response.status_code == 302
        client.force_login(world.alice)
        assert "The seller granted 12 more days" in client.get("/orders/E-1/").content.decode()
    order.refresh_from_db()
    assert order.extension_days == 12
