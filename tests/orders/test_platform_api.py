"""The platform pushes orders, shipments and deliveries in (docs/rules.md §6, Platform integration)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from orders.models import Order, OrderEvent
from tests.conftest import api_as

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def order_body(**overrides):
    body = {
        "number": "MP-1001",
        "buyer": "alice",
        "seller": "carols-gadgets",
        "carrier": "dhl",
        "placed_at": "2026-03-01T10:00:00Z",
        "ship_by": "2026-03-04T10:00:00Z",
        "total": "59.80",
        "currency": "USD",
        "items": [{"title": "Wireless earbuds", "quantity": 2, "unit_price": "29.90"}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def platform(world):
    return api_as(world.platform)


@pytest.fixture
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.usefixtures("at_now")
class TestCreateOrder:
    def test_platform_creates_an_order_with_items_and_window(self, world, platform):
        response = platform.post("/api/orders/", order_body(), format="json")
        assert response.status_code == 201, response.json()
        data = response.json()
        assert data["number"] == "MP-1001"
        assert data["total"] == "59.80" and data["currency"] == "USD"
        assert [{k: v for k, v in item.items() if k != "id"} for item in data["items"]] == [
            {"title": "Wireless earbuds", "quantity": 2, "unit_price": "29.90"}
        ]
        assert all(isinstance(item["id"], int) for item in data["items"])  # claims name items by id
        assert data["carrier"] == "dhl" and data["carrier_detail"]["dispute_window_days"] == 23
        assert data["buyer"] == "alice" and data["seller"] == "carols-gadgets"
        assert data["dispute"] is None
        # Never shipped, so the window runs from ship_by.
        assert data["dispute_window"]["state"] == "open"
        assert data["dispute_window"]["opens_at"].startswith("2026-03-10T10:00:00")
        assert data["return_policy"]["accepts_returns"] is True
        assert Order.objects.get(number="MP-1001").buyer == world.alice

    def test_seller_may_be_given_as_the_owners_username(self, world, platform):
        response = platform.post("/api/orders/", order_body(seller="carol"), format="json")
        assert response.status_code == 201
        assert response.json()["store"]["slug"] == "carols-gadgets"

    def test_repeating_the_same_order_returns_it_with_200_and_creates_nothing(self, world, platform):
        first = platform.post("/api/orders/", order_body(), format="json")
        again = platform.post("/api/orders/", order_body(), format="json")
        assert again.status_code == 200
        assert again.json() == first.json()
        assert Order.objects.filter(number="MP-1001").count() == 1
        assert OrderEvent.objects.filter(order__number="MP-1001", action="created").count() == 1

    def test_repeat_with_the_same_instant_in_another_zone_is_the_same_order(self, world, platform):
        platform.post("/api/orders/", order_body(), format="json")
        again = platform.post("/api/orders/", order_body(placed_at="2026-03-01T11:00:00+01:00"), format="json")
        assert again.status_code == 200

    def test_same_number_with_another_body_is_refused_with_order_exists(self, world, platform):
        platform.post("/api/orders/", order_body(), format="json")
        response = platform.post("/api/orders/", order_body(total="99.00"), format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "order_exists"
        assert Order.objects.get(number="MP-1001").total == Decimal("59.80")

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"carrier": "pigeon"}, "carrier"),
            ({"buyer": "nobody"}, "buyer"),
            ({"seller": "no-such-store"}, "seller"),
            ({"total": "-1.00"}, "total"),
            ({"total": "12.345"}, "total"),
            ({"currency": "usd"}, "currency"),
            ({"items": []}, "items"),
            ({"items": [{"title": "x", "quantity": 0, "unit_price": "1.00"}]}, "items.0.quantity"),
            ({"ship_by": "2026-02-01T00:00:00Z"}, "ship_by"),
            ({"placed_at": "yesterday"}, "placed_at"),
            ({"number": "bad number!"}, "number"),
        ],
    )
    def test_invalid_fields_are_400_with_the_field_named(self, world, platform, overrides, field):
        response = platform.post("/api/orders/", order_body(**overrides), format="json")
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "invalid"
        assert field in body["fields"], body
        assert not Order.objects.exists()

    def test_missing_fields_are_each_reported(self, world, platform):
        response = platform.post("/api/orders/", {}, format="json")
        assert response.status_code == 400
        assert {"number", "buyer", "seller", "carrier", "placed_at", "ship_by", "total", "currency", "items"} <= set(
            response.json()["fields"]
        )

    def test_malformed_json_is_a_400_in_the_error_shape(self, world, platform):
        response = platform.generic("POST", "/api/orders/", "{not json", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "parse_error"

    def test_buyers_and_sellers_may_not_create_orders(self, world):
        for user in (world.alice, world.carol, world.erin):
            response = api_as(user).post("/api/orders/", order_body(), format="json")
            assert response.status_code == 403
            assert response.json()["code"] == "permission_denied"
        assert api_as(None).post("/api/orders/", order_body(), format="json").status_code == 401


@pytest.mark.usefixtures("at_now")
class TestShipmentAndDelivery:
    @pytest.fixture
    def order(self, world, platform):
        platform.post("/api/orders/", order_body(), format="json")
        return Order.objects.get(number="MP-1001")

    def test_shipment_is_recorded_and_moves_the_window(self, order, platform):
        response = platform.post(
            "/api/orders/MP-1001/shipment/",
            {"carrier": "ups", "tracking_number": "1Z999", "shipped_at": "2026-03-05T08:00:00Z"},
            format="json",
        )
        assert response.status_code == 200, response.json()
        data = response.json()
        assert data["status"] == "shipped"
        assert data["tracking_number"] == "1Z999"
        assert data["shipment_carrier"] == "ups"
        # The window follows the shipping option chosen for the order (DHL, 23 days), from shipment.
        # It had already opened from ship_by (4 March + 6 days): a late shipment never moves an open
        # window's opening later; it only makes it close later.
        assert data["dispute_window"]["state"] == "open"
        assert data["dispute_window"]["opens_at"].startswith("2026-03-10T10:00:00")
        assert data["dispute_window"]["closes_at"].startswith("2026-03-28T08:00:00")
        order.refresh_from_db()
        assert order.window_opens_at == datetime(2026, 3, 10, 10, tzinfo=UTC)

    def test_a_shipment_before_the_window_opens_moves_the_whole_window(self, order, platform):
        with time_machine.travel(datetime(2026, 3, 6, 12, tzinfo=UTC), tick=False):
            response = platform.post(
                "/api/orders/MP-1001/shipment/",
                {"carrier": "ups", "tracking_number": "1Z999", "shipped_at": "2026-03-05T08:00:00Z"},
                format="json",
            )
        window = response.json()["dispute_window"]
        assert window["state"] == "not_yet_open"
        assert window["opens_at"].startswith("2026-03-11T08:00:00")
        assert window["closes_at"].startswith("2026-03-28T08:00:00")

    def test_the_same_shipment_again_is_harmless(self, order, platform):
        body = {"carrier": "ups", "tracking_number": "1Z999", "shipped_at": "2026-03-05T08:00:00Z"}
        platform.post("/api/orders/MP-1001/shipment/", body, format="json")
        assert platform.post("/api/orders/MP-1001/shipment/", body, format="json").status_code == 200
        assert OrderEvent.objects.filter(order=order, action="shipped").count() == 1

    def test_a_different_second_shipment_is_refused(self, order, platform):
        platform.post(
            "/api/orders/MP-1001/shipment/",
            {"carrier": "ups", "tracking_number": "1Z999", "shipped_at": "2026-03-05T08:00:00Z"},
            format="json",
        )
        response = platform.post(
            "/api/orders/MP-1001/shipment/",
            {"carrier": "ups", "tracking_number": "OTHER", "shipped_at": "2026-03-05T08:00:00Z"},
            format="json",
        )
        assert response.status_code == 409
        assert response.json()["code"] == "already_shipped"

    def test_shipment_in_the_future_or_before_placing_is_400(self, order, platform):
        for when in ("2026-03-12T00:00:00Z", "2026-02-01T00:00:00Z"):
            response = platform.post(
                "/api/orders/MP-1001/shipment/",
                {"carrier": "ups", "tracking_number": "1Z", "shipped_at": when},
                format="json",
            )
            assert response.status_code == 400
            assert response.json()["code"] == "invalid"

    def test_shipment_with_an_unknown_carrier_is_400(self, order, platform):
        response = platform.post(
            "/api/orders/MP-1001/shipment/",
            {"carrier": "pigeon", "tracking_number": "1Z", "shipped_at": "2026-03-05T08:00:00Z"},
            format="json",
        )
        assert response.status_code == 400
        assert "carrier" in response.json()["fields"]

    def test_delivery_is_recorded_after_shipment(self, order, platform):
        platform.post(
            "/api/orders/MP-1001/shipment/",
            {"carrier": "dhl", "tracking_number": "JD1", "shipped_at": "2026-03-05T08:00:00Z"},
            format="json",
        )
        response = platform.post(
            "/api/orders/MP-1001/delivery/", {"delivered_at": "2026-03-08T15:00:00Z"}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["status"] == "delivered"
        assert response.json()["delivered_at"].startswith("2026-03-08T15:00:00")
        again = platform.post("/api/orders/MP-1001/delivery/", {"delivered_at": "2026-03-08T15:00:00Z"}, format="json")
        assert again.status_code == 200

    def test_delivery_before_shipment_is_refused(self, order, platform):
        response = platform.post(
            "/api/orders/MP-1001/delivery/", {"delivered_at": "2026-03-08T15:00:00Z"}, format="json"
        )
        assert response.status_code == 409
        assert response.json()["code"] == "not_shipped"

    def test_events_for_an_unknown_order_are_404(self, world, platform):
        response = platform.post("/api/orders/NOPE/delivery/", {"delivered_at": "2026-03-08T15:00:00Z"}, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    def test_only_the_platform_records_shipments(self, order, world):
        body = {"carrier": "ups", "tracking_number": "1Z", "shipped_at": "2026-03-05T08:00:00Z"}
        assert api_as(world.alice).post("/api/orders/MP-1001/shipment/", body, format="json").status_code == 403
        assert api_as(world.carol).post("/api/orders/MP-1001/shipment/", body, format="json").status_code == 403
        assert api_as(None).post("/api/orders/MP-1001/shipment/", body, format="json").status_code == 401


def test_token_auth_round_trip(world):
    client = api_as(None)
    response = client.post("/api/auth/token/", {"username": "platform", "password": "demo"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with time_machine.travel(NOW, tick=False):
        assert client.post("/api/orders/", order_body(), format="json").status_code == 201


def test_token_with_a_wrong_password_is_400_in_the_error_shape(world):
    response = api_as(None).post("/api/auth/token/", {"username": "platform", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_carriers_list_the_eight_seeded_carriers(world):
    response = api_as(world.alice).get("/api/carriers/")
    assert response.status_code == 200
    carriers = {c["code"]: c["dispute_window_days"] for c in response.json()["results"]}
    assert carriers == {
        "dhl": 23,
        "tnt": 23,
        "ups": 23,
        "fedex": 23,
        "japan_post_ems": 27,
        "sf_express": 27,
        "china_post": 39,
        "hongkong_post": 39,
    }


def test_times_given_with_an_offset_are_stored_as_the_same_instant(world, platform):
    with time_machine.travel(NOW, tick=False):
        platform.post("/api/orders/", order_body(placed_at="2026-03-01T02:00:00-08:00"), format="json")
    assert Order.objects.get(number="MP-1001").placed_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
