"""A buyer and a seller at work in a real browser."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django.utils.formats import date_format
from playwright.sync_api import expect

from sellers.models import ReturnPolicy
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def day_month(moment, zone: str) -> str:
    with timezone.override(ZoneInfo(zone)):
        return date_format(timezone.localtime(moment), "j M")


@pytest.fixture
def orders(world):
    now = timezone.now().replace(microsecond=0)
    return {
        "waiting": make_order(buyer=world.alice, store=world.carols, number="W-1", shipped_at=now - timedelta(days=2)),
        "open": make_order(buyer=world.alice, store=world.carols, number="O-1", shipped_at=now - timedelta(days=10)),
        "closed": make_order(
            buyer=world.alice,
            store=world.daves,
            number="C-1",
            carrier_code="china_post",
            shipped_at=now - timedelta(days=50),
        ),
        "bobs": make_order(buyer=world.bob, store=world.carols, number="BOB-1", shipped_at=now - timedelta(days=10)),
    }


def test_alice_sees_her_orders_with_window_badges_and_reads_the_store_policy(page, live_server, sign_in, orders):
    sign_in(page, "alice")
    expect(page.get_by_role("heading", name="My orders")).to_be_visible()
    zone = "America/Los_Angeles"  # alice's own zone

    waiting = page.locator("[data-order='W-1']")
    expect(waiting).to_contain_text(f"dispute opens {day_month(orders['waiting'].window_opens_at, zone)}")
    expect(page.locator("[data-order='O-1']")).to_contain_text(
        f"open until {day_month(orders['open'].window_closes_at, zone)}"
    )
    expect(page.locator("[data-order='C-1']")).to_contain_text(
        f"closed {day_month(orders['closed'].window_closes_at, zone)}"
    )
    expect(page.locator("[data-order='O-1']")).to_contain_text("$40.00")
    expect(page.locator("[data-order='BOB-1']")).to_have_count(0)

    page.get_by_role("link", name="Order O-1").click()
    expect(page.get_by_role("heading", name="Order O-1")).to_be_visible()
    expect(page.get_by_role("heading", name="Return policy of Carol's Gadgets")).to_be_visible()
    expect(page.get_by_text("As it stood when this order was placed.")).to_be_visible()
    expect(page.get_by_text("Returns accepted")).to_be_visible()
    expect(page.get_by_text("Times are shown in Los Angeles time.")).to_be_visible()

    # She asks for more time; the seller sees the request waiting.
    page.get_by_text("Ask the seller for more time").click()
    page.get_by_label("Extra days").fill("5")
    page.get_by_label("Why you need more time").fill("I am travelling until next month.")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("status")).to_contain_text("Your request was sent to the seller.")
    expect(page.get_by_text("The buyer asked for 5 more days.")).to_be_visible()


@pytest.mark.refusals_expected  # refused on purpose first: a 4xx is part of the journey
def test_alice_cannot_open_bobs_order(page, live_server, sign_in, orders):
    sign_in(page, "alice")
    response = page.goto(f"{live_server.url}/orders/BOB-1/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="We could not find that page")).to_be_visible()


@pytest.mark.refusals_expected  # refused on purpose first: a 4xx is part of the journey
def test_carol_edits_her_return_policy_and_fixes_a_mistake(page, live_server, sign_in, world, orders):
    sign_in(page, "carol")
    expect(page.get_by_role("heading", name="Carol's Gadgets: orders")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Return policy").click()
    expect(page.get_by_role("heading", name="Carol's Gadgets: return policy")).to_be_visible()

    page.get_by_label("Days to return after delivery").fill("400")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_text("At most 365 days.")).to_be_visible()
    expect(page.get_by_text("A store that accepts returns needs a return address.")).to_be_visible()

    page.get_by_label("Days to return after delivery").fill("30")
    page.get_by_label("Free returns offered").check()
    # Free returns means the seller pays every return: the editor refuses anything else.
    page.get_by_label("Return shipping for a change of mind is paid by").select_option("seller")
    page.get_by_label("Return address: line 1").fill("88 Huaqiang North Road")
    page.get_by_label("Return address: city").fill("Shenzhen")
    page.get_by_label("Return address: country").fill("cn")
    page.get_by_label("Notes").fill("Returns answered within a day.")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("status")).to_contain_text("Your return policy was saved.")

    policy = ReturnPolicy.objects.get(store=world.carols)
    assert policy.return_days == 30 and policy.free_returns and policy.address_country == "CN"
    # The order alice already placed keeps the old policy.
    page.goto(f"{live_server.url}/orders/O-1/")
    expect(page.get_by_text("Returns answered within a day.")).to_have_count(0)


def test_pages_fit_a_phone_screen(page, live_server, sign_in, orders):
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, "alice")
    page.goto(f"{live_server.url}/orders/O-1/")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the phone"
