"""Who may see and do what with an order, for every persona (docs/rules.md §6: 401 / 403 / 404)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.conftest import api_as
from tests.factories import make_order

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def order(world):
    """alice bought from Carol's Gadgets; its window is open at NOW."""
    with time_machine.travel(NOW, tick=False):
        return make_order(buyer=world.alice, store=world.carols, number="A-1", shipped_at=NOW - timedelta(days=7))


@pytest.fixture(autouse=True)
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def persona(world, name):
    return None if name == "anonymous" else getattr(world, name)


@pytest.mark.parametrize(
    ("who", "expected"),
    [("alice", 200), ("bob", 404), ("carol", 200), ("dave", 404), ("erin", 200), ("anonymous", 401)],
)
def test_order_detail_is_visible_to_its_parties_and_the_team_only(world, order, who, expected):
    response = api_as(persona(world, who)).get("/api/orders/A-1/")
    assert response.status_code == expected
    if expected == 404:
        assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_missing_and_foreign_orders_answer_alike(world, order):
    foreign = api_as(world.bob).get("/api/orders/A-1/")
    missing = api_as(world.bob).get("/api/orders/NO-SUCH/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


@pytest.mark.parametrize(
    ("who", "expected_numbers"),
    [("alice", {"A-1"}), ("bob", {"B-1"}), ("carol", {"A-1"}), ("dave", {"B-1"}), ("erin", {"A-1", "B-1"})],
)
def test_order_list_shows_each_role_its_own(world, order, who, expected_numbers):
    make_order(buyer=world.bob, store=world.daves, number="B-1", shipped_at=NOW - timedelta(days=1))
    response = api_as(persona(world, who)).get("/api/orders/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"count", "next", "previous", "results"}
    assert {o["number"] for o in body["results"]} == expected_numbers


def test_a_list_row_has_the_orders_fields_but_its_details_in_the_same_order(world, order):
    row = api_as(world.alice).get("/api/orders/").json()["results"][0]
    detail = api_as(world.alice).get("/api/orders/A-1/").json()
    assert list(row) == [
        "number", "status", "buyer", "seller", "store", "carrier", "carrier_detail", "total", "currency",
        "placed_at", "ship_by", "shipped_at", "delivered_at", "dispute", "dispute_window",
    ]  # fmt: skip
    assert list(row) == [name for name in detail if name in row]
    assert {"items", "extension_requests", "return_policy", "tracking_number"} <= set(detail) - set(row)


def test_order_list_requires_sign_in(world, order):
    response = api_as(None).get("/api/orders/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_order_list_filters_by_window_and_status(world, order):
    make_order(buyer=world.alice, store=world.daves, number="A-2", shipped_at=NOW - timedelta(days=2))
    make_order(buyer=world.alice, store=world.daves, number="A-3", shipped_at=NOW - timedelta(days=40))
    client = api_as(world.alice)

    def numbers(query):
        return {o["number"] for o in client.get(f"/api/orders/?{query}").json()["results"]}

    assert numbers("window=open") == {"A-1"}
    assert numbers("window=not_yet_open") == {"A-2"}
    assert numbers("window=closed") == {"A-3"}
    assert numbers("status=shipped") == {"A-1", "A-2", "A-3"}
    assert numbers("status=delivered") == set()
    bad = client.get("/api/orders/?window=soon")
    assert bad.status_code == 400 and "window" in bad.json()["fields"]


@pytest.mark.parametrize(
    ("who", "expected"),
    [("alice", 201), ("bob", 404), ("carol", 403), ("dave", 404), ("erin", 403), ("anonymous", 401)],
)
def test_only_the_buyer_asks_for_an_extension(world, order, who, expected):
    response = api_as(persona(world, who)).post(
        "/api/orders/A-1/extension/", {"days": 5, "note": "Away"}, format="json"
    )
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [("alice", 403), ("bob", 404), ("carol", 200), ("dave", 404), ("erin", 403), ("anonymous", 401)],
)
def test_only_the_stores_owner_grants_an_extension(world, order, who, expected):
    response = api_as(persona(world, who)).post("/api/orders/A-1/extension/grant/", {"days": 5}, format="json")
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [("alice", 200), ("bob", 200), ("carol", 200), ("dave", 200), ("erin", 200), ("anonymous", 401)],
)
def test_any_signed_in_user_reads_a_stores_return_policy(world, who, expected):
    response = api_as(persona(world, who)).get("/api/sellers/carols-gadgets/return-policy/")
    assert response.status_code == expected


def test_return_policy_of_an_unknown_store_is_404(world):
    assert api_as(world.alice).get("/api/sellers/nope/return-policy/").status_code == 404


@pytest.mark.parametrize(
    ("who", "expected"),
    [("alice", 403), ("bob", 403), ("carol", 200), ("dave", 403), ("erin", 403), ("anonymous", 401)],
)
def test_only_the_owner_replaces_the_return_policy(world, who, expected):
    policy = api_as(world.carol).get("/api/sellers/carols-gadgets/return-policy/").json()
    policy["return_days"] = 21
    response = api_as(persona(world, who)).put("/api/sellers/carols-gadgets/return-policy/", policy, format="json")
    assert response.status_code == expected
    saved = api_as(world.carol).get("/api/sellers/carols-gadgets/return-policy/").json()
    assert saved["return_days"] == (21 if expected == 200 else 15)


@pytest.mark.parametrize(
    ("who", "expected"),
    [("alice", 200), ("bob", 404), ("carol", 200), ("dave", 404), ("erin", 200)],
)
def test_order_page_is_visible_to_its_parties_and_the_team_only(client, world, order, who, expected):
    client.force_login(persona(world, who))
    assert client.get("/orders/A-1/").status_code == expected


def test_order_page_sends_anonymous_visitors_to_sign_in(client, world, order):
    response = client.get("/orders/A-1/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_seller_pages_are_404_for_a_user_without_a_store(client, world):
    client.force_login(world.alice)
    assert client.get("/seller/policy/").status_code == 404
    assert client.get("/seller/orders/").status_code == 404


def test_order_lists_show_exactly_each_personas_orders_newest_first_across_pages(world):
    """The list's filter is built per persona (a buyer, a seller who buys nothing, a seller who
    also buys); whichever it is, the set is the same: orders bought plus orders sold, newest first,
    every one reached once by following `next`."""
    parties = {}
    for i, (buyer, store) in enumerate(
        [(world.alice, world.carols), (world.bob, world.carols), (world.carol, world.daves), (world.alice, world.daves)]
    ):
        make_order(buyer=buyer, store=store, number=f"L-{i}", placed_at=NOW - timedelta(days=10 - i))
        parties[f"L-{i}"] = {buyer.username, store.owner.username, "erin"}
    newest_first = ["L-3", "L-2", "L-1", "L-0"]

    def listed(user) -> list[tuple[str, str]]:
        client, rows, url = api_as(user), [], "/api/orders/?page_size=2"
        while url:
            body = client.get(url).json()
            rows += [(row["number"], row["carrier"]) for row in body["results"]]
            url = body["next"]
        return rows

    for user in (world.alice, world.bob, world.carol, world.dave, world.erin):
        expected = [(number, "dhl") for number in newest_first if user.username in parties[number]]
        assert listed(user) == expected, user.username
