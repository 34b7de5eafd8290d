"""A seller's tools in a real browser: extension requests answered either way, and the seller's menu."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders import services
from orders.models import ExtensionRequest
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def asked(world):
    """Alice's open order at Carol's store, with her request for 10 more days and her reason."""
    order = make_order(
        buyer=world.alice, store=world.carols, number="EXT-1", shipped_at=timezone.now() - timedelta(days=10)
    )
    services.extension_request(buyer=world.alice, order=order, days=10, note="I am away until the 20th.")
    return order


def test_carol_reads_the_reason_and_declines_and_alice_reads_why(browser, live_server, sign_in, world, asked):
    carol = browser.new_page()
    sign_in(carol, "carol")
    request = carol.locator("[data-extension-order='EXT-1']")
    expect(request).to_contain_text("Alice asks for 10 more days")
    expect(request).to_contain_text("I am away until the 20th.")
    request.get_by_text("Decline", exact=True).click()
    request.get_by_label("Why you decline").fill("The order was delivered a week ago; the window already covers it.")
    request.get_by_role("button", name="Decline request").click()
    expect(carol.get_by_role("status")).to_contain_text("You declined the buyer's request.")
    assert ExtensionRequest.objects.get(order=asked).status == "declined"

    alice = browser.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/orders/EXT-1/")
    expect(alice.get_by_text("The seller declined the request for 10 more days")).to_be_visible()
    expect(alice.get_by_text("The order was delivered a week ago; the window already covers it.")).to_be_visible()
    expect(alice.get_by_text("Ask the seller for more time")).to_be_visible()  # she may ask again


@pytest.mark.refusals_expected  # refused on purpose first: a 4xx is part of the journey
def test_carol_grants_a_number_of_days_she_chooses(browser, live_server, sign_in, world, asked):
    closes_before = asked.window_closes_at
    carol = browser.new_page()
    sign_in(carol, "carol")
    request = carol.locator("[data-extension-order='EXT-1']")
    days = request.get_by_label("Days to add")
    expect(days).to_have_value("10")  # what alice asked for, to change at will
    days.fill("4")
    request.get_by_role("button", name="Grant").click()
    expect(carol.get_by_role("status")).to_contain_text("The buyer's protection was extended.")
    expect(carol.get_by_text("Extended by")).to_be_visible()
    expect(carol.get_by_text("4 days", exact=True)).to_be_visible()
    asked.refresh_from_db()
    assert asked.extension_days == 4 and asked.window_closes_at == closes_before + timedelta(days=4)

    # On the order page too: any number up to the limit; past it, the field says so.
    carol.get_by_label("Days to add").fill("31")
    carol.get_by_role("button", name="Grant extension").click()
    expect(carol.get_by_text("Ensure this value is less than or equal to 30.")).to_be_visible()


def test_the_sellers_menu_fits_one_line_on_a_desktop_and_opens_from_a_button_on_a_phone(
    browser, live_server, sign_in, world, asked
):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    carol = context.new_page()
    sign_in(carol, "carol")
    nav = carol.get_by_role("navigation", name="Main")
    links = nav.get_by_role("link")
    # The counts (unread, new) may follow a link's name: a waiting extension request notifies her.
    expect(links).to_have_text(
        [
            re.compile(rf"^{name}( \d+)?$")
            for name in ("Store orders", "Inbox", "Disputes", "Return policy", "Notifications", "Settings")
        ]
    )
    tops = {round(box["y"]) for box in (link.bounding_box() for link in links.all())}
    assert len(tops) == 1, f"the menu wraps onto {len(tops)} lines"
    expect(nav.get_by_text("Menu")).to_be_hidden()
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    carol = phone.new_page()
    sign_in(carol, "carol")
    nav = carol.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Inbox")).to_be_hidden()
    nav.get_by_text("Menu").click()
    nav.get_by_role("link", name="Inbox").click()
    expect(carol.get_by_role("heading", name="Inbox")).to_be_visible()
    phone.close()
