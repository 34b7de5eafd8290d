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
